#!/usr/bin/env bash
# Names through the mount: the store's one validator decides for mkdir of
# pipelines, runs and steps and for the top level of outputs/ (each
# becomes an artifact at seal); deeper file names follow the file rules.
# Refs: artifacts/NAME/v01 is not v1, as on the command line.
source "$(dirname "$0")/lib.sh" "$@"

afs init >/dev/null
start_daemon
P=$M/pipelines

check "mkdir of a pipeline, run or step with a bad name: EINVAL"
mkdir -p "$P/ok/runs/r1/steps/s/outputs" || fail "mkdir -p of a good run"
for bad in 'a@b' '@' v1 v01 latest; do
	expect_errno EINVAL "os.mkdir(M + '/pipelines/$bad')"
	expect_errno EINVAL "os.mkdir(M + '/pipelines/ok/runs/$bad')"
	expect_errno EINVAL "os.mkdir(M + '/pipelines/ok/runs/r1/steps/$bad')"
done
expect_errno EINVAL "os.mkdir(M + '/pipelines/ok/runs/a\nb')"
expect_errno ENAMETOOLONG "os.mkdir(M + '/pipelines/' + 'x' * 256)"

O=$P/ok/runs/r1/steps/s/outputs
check "outputs/<name> becomes an artifact: the artifact rules apply"
for bad in 'a@b' '@' v2 latest; do
	expect_errno EINVAL "open(M + '/pipelines/ok/runs/r1/steps/s/outputs/$bad', 'w')"
	expect_errno EINVAL "os.mkdir(M + '/pipelines/ok/runs/r1/steps/s/outputs/$bad')"
	expect_errno EINVAL "os.symlink('x', M + '/pipelines/ok/runs/r1/steps/s/outputs/$bad')"
done
echo hi >"$O/model" || fail "write outputs/model"
expect_errno EINVAL "os.rename(M + '/pipelines/ok/runs/r1/steps/s/outputs/model', M + '/pipelines/ok/runs/r1/steps/s/outputs/x@y')"
mkdir "$O/tree" || fail "mkdir outputs/tree"
echo deep >"$O/tree/a@b" || defect "a file named a@b inside a tree was refused"
echo v >"$O/tree/v1" || defect "a file named v1 inside a tree was refused"

check "the CLI refuses the same names while mounted (through the daemon)"
echo hi >"$T/f"
expect_err "holds '@'" afs put 'a@b' "$T/f"
expect_err "version refs" afs run open ok/v3

check "seal through the mount publishes the good names"
echo seal >"$P/ok/runs/r1/control" || fail "seal"
[ "$(cat "$M/artifacts/model/v1/model")" = hi ] || defect "model@v1 after seal"
[ "$(cat "$M/artifacts/tree/v1/a@b")" = deep ] || defect "tree@v1/a@b"
[ -d "$M/artifacts/tree/v1/v1" ] && defect "tree/v1/v1 became a directory"

check "refs: v1 resolves, v01 and v0 do not (as the CLI)"
[ -f "$M/artifacts/model/v1/model" ] || defect "artifacts/model/v1 missing"
expect_errno ENOENT "os.stat(M + '/artifacts/model/v01')"
expect_errno ENOENT "os.stat(M + '/artifacts/model/v0')"
expect_err "'v01' names no version" afs cat model@v01
[ "$(afs cat model@v1)" = hi ] || defect "afs cat model@v1 while mounted"

check "an alias that starts with v is an alias, not a version"
afs alias set model vprod v1 >/dev/null || fail "alias set vprod"
[ "$(readlink "$M/artifacts/model/vprod")" = v1 ] ||
	defect "artifacts/model/vprod: $(readlink "$M/artifacts/model/vprod")"
[ "$(cat "$M/artifacts/model/vprod/model")" = hi ] || defect "cat through vprod"

stop_daemon
finish
