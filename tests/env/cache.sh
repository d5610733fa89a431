#!/usr/bin/env bash
# The step cache: the same code, inputs, environment and params give a
# hit (the command does not run, its outputs become new versions sharing
# all content); a changed package, param or input version misses and the
# one line names it; --no-cache runs anyway.  A cached step is in
# lineage and in the OpenLineage export.
source "$(dirname "$0")/../mount/lib.sh" "$@"
source "$(dirname "$0")/lib_env.sh"

afs init >/dev/null
echo one >"$T/d1"
echo two >"$T/d2"
afs put data "$T/d1" >/dev/null
afs put data "$T/d2" >/dev/null
write_step
SITE=$T/site
fake_dist "$SITE" pydantic 2.5.3
export PYTHONPATH=$SITE
start_daemon

check "a first run misses and runs"
step p r1 --param lr=0.1 --input data@v1
[ "$(runs_done)" -eq 1 ] || fail "the first run did not run its command"
grep -q "cache miss: no earlier run" "$T/err" || fail "no miss line: $(cat "$T/err")"
grep -q "^python pydantic 2.5.3$" \
	"$M/pipelines/p/runs/r1/steps/train/env/packages.txt" ||
	fail "packages.txt lacks the package on PYTHONPATH"

check "the same everything: a hit, the command does not run"
step p r2 --param lr=0.1 --input data@v1
[ "$(runs_done)" -eq 1 ] || fail "a hit ran the command"
grep -q "cache hit: outputs of p/r1 step train reused" "$T/err" ||
	fail "no hit line: $(cat "$T/err")"
[ "$(grep -c . "$T/err")" -eq 2 ] || fail "a hit printed more than its two lines: $(cat "$T/err")"
afs ls model | grep -q "p/r2/train" || fail "the hit made no new version of model"
d1=$(getfattr --only-values -n user.artifactfs.digest "$M/artifacts/model/v1")
d2=$(getfattr --only-values -n user.artifactfs.digest "$M/artifacts/model/v2")
[ "$d1" = "$d2" ] || fail "the cached version's content differs ($d1 vs $d2)"
grep -q '"cached.train": "p/r1/train"' "$M/pipelines/p/runs/r2/run.json" ||
	fail "run.json does not mark the step cached"

check "a changed package misses and says so"
fake_dist "$SITE" pydantic 2.6.0
step p r3 --param lr=0.1 --input data@v1
[ "$(runs_done)" -eq 2 ] || fail "a package change did not run the command"
grep -q "cache miss against p/r2: packages: pydantic 2.5.3 -> 2.6.0" "$T/err" ||
	fail "the miss does not name the package: $(cat "$T/err")"

check "a changed param misses and says so"
step p r4 --param lr=0.2 --input data@v1
grep -q "param lr: 0.1 -> 0.2" "$T/err" || fail "the miss does not name the param: $(cat "$T/err")"
[ "$(runs_done)" -eq 3 ] || fail "a param change did not run the command"

check "a changed input version misses and says so"
step p r5 --param lr=0.2 --input data@v2
grep -q "inputs data: v1 sha256:[0-9a-f]* -> v2 sha256:" "$T/err" ||
	fail "the miss does not name the input: $(cat "$T/err")"
[ "$(runs_done)" -eq 4 ] || fail "an input change did not run the command"

check "the same again hits r5; --no-cache runs anyway"
step p r6 --param lr=0.2 --input data@v2
grep -q "cache hit: outputs of p/r5" "$T/err" || fail "no hit on r5: $(cat "$T/err")"
step p r7 --param lr=0.2 --input data@v2 --no-cache
[ "$(runs_done)" -eq 5 ] || fail "--no-cache did not run the command"
grep -q "cache" "$T/err" && fail "--no-cache printed a cache line: $(cat "$T/err")"

check "a cached step is in lineage and in the OpenLineage export"
afs lineage model@v2 >"$T/lin" 2>&1 || fail "lineage failed: $(cat "$T/lin")"
grep -q "p/r2" "$T/lin" || fail "lineage of the cached version lacks its run: $(cat "$T/lin")"
afs lineage export --openlineage --run p/r2 >"$T/ol.json" ||
	fail "openlineage export failed"
"$PY" "$(dirname "$0")/../openlineage/ol_check.py" "$T/ol.json" ||
	fail "the export does not validate"
grep -q '"artifactfs_environment"' "$T/ol.json" ||
	fail "the export lacks the environment facet"
grep -q '"cachedFrom": *"p/r1/train"' "$T/ol.json" ||
	fail "the export does not say where the cached step came from"

check "a run that read an undeclared input does not stand in for another"
cat >"$T/reads.sh" <<'X'
cat "$ARTIFACTFS_MOUNT"/artifacts/data/latest/* >/dev/null
echo read >"$ARTIFACTFS_OUTPUTS/summary"
echo ran >>"$1/ran"
X
afs run exec --pipeline q --step s --run q1 -- sh "$T/reads.sh" "$T" 2>"$T/err"
n=$(runs_done)
afs run exec --pipeline q --step s --run q2 -- sh "$T/reads.sh" "$T" 2>"$T/err"
[ "$(runs_done)" -eq $((n + 1)) ] || fail "a step that read an undeclared input was cached"
grep -q "cache miss: q/q1 read data@v2 without declaring it" "$T/err" ||
	fail "the miss does not name the undeclared input: $(cat "$T/err")"

check "a stored secret's value in the environment is not kept"
printf 'Zq9-envcache-distinctive-4711' | afs secret set tok - >/dev/null
PLAIN_LOOKING=Zq9-envcache-distinctive-4711 step p r8 --param lr=0.3 \
	--input data@v2 --no-cache
grep -q "^PLAIN_LOOKING=\[secret tok\]$" \
	"$M/pipelines/p/runs/r8/steps/train/env/environ.txt" ||
	fail "environ.txt does not show the marker: $(grep PLAIN "$M/pipelines/p/runs/r8/steps/train/env/environ.txt")"
check "the names of the secrets a run uses are in the key"
step z z1 --secret tok=TOKVAR
step z z2 --secret tok=TOKVAR
grep -q "cache hit: outputs of z/z1" "$T/err" || fail "same secret: no hit: $(cat "$T/err")"
step z z3
grep -q "cache miss against z/z2: secret -tok" "$T/err" ||
	fail "the miss does not name the secret: $(cat "$T/err")"
API_TOKEN=abc123 step p r9 --param lr=0.3 --input data@v2 --no-cache
grep -q "^API_TOKEN=\[removed\]$" \
	"$M/pipelines/p/runs/r9/steps/train/env/environ.txt" ||
	fail "a credential's value was kept"
stop_daemon
if grep -rqa "Zq9-envcache-distinctive-4711" "$S"; then
	fail "the secret's value is in the store directory"
fi
start_daemon

check "identical environments cost nothing; fsck is clean"
afs fsck >/dev/null || fail "fsck found problems"
stop_daemon
afs fsck >/dev/null || fail "fsck found problems"
finish
