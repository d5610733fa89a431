#!/usr/bin/env bash
# artifactfs diff: two runs compared step by step (code, params,
# packages added/removed/changed, inputs and outputs by digest) and two
# versions file by file, with exit status 0 equal, 1 different, 2 error;
# env show prints what rebuilds the producing environment.
source "$(dirname "$0")/../mount/lib.sh" "$@"
source "$(dirname "$0")/lib_env.sh"

afs init >/dev/null
echo one >"$T/d1"
afs put data "$T/d1" >/dev/null
write_step
SITE=$T/site
fake_dist "$SITE" pydantic 2.5.3
mkdir -p "$SITE/gone-1.0.dist-info"
printf 'Metadata-Version: 2.1\nName: gone\nVersion: 1.0\n' \
	>"$SITE/gone-1.0.dist-info/METADATA"
export PYTHONPATH=$SITE
start_daemon

step p r1 --param lr=0.1 --input data@v1
fake_dist "$SITE" pydantic 2.6.0
mkdir -p "$SITE/fresh-0.3.dist-info"
printf 'Metadata-Version: 2.1\nName: fresh\nVersion: 0.3\n' \
	>"$SITE/fresh-0.3.dist-info/METADATA"
cat >>"$T/step.sh" <<'X'
echo extra >"$ARTIFACTFS_OUTPUTS/notes"
X
step p r2 --param lr=0.2 --input data@v1 --no-cache

check "diff of two runs: packages, params, code, outputs; exit 1"
rc=0
afs diff p/r1 p/r2 >"$T/d" 2>"$T/e" || rc=$?
[ "$rc" -eq 1 ] || fail "diff of different runs exited $rc: $(cat "$T/e")"
for want in "packages: pydantic 2.5.3 -> 2.6.0" "packages: +fresh 0.3" \
	"packages: -gone 1.0" "param lr: 0.1 -> 0.2" "code file " \
	"outputs +notes: v1 sha256:"; do
	grep -qF "$want" "$T/d" || defect "diff lacks '$want': $(cat "$T/d")"
done

check "diff --json parses and says not equal"
rc=0
afs diff p/r1 p/r2 --step train --json >"$T/dj" || rc=$?
[ "$rc" -eq 1 ] || fail "diff --json exited $rc"
json_eval "j['equal'] is False and any(x['name'] == 'pydantic' and x['old'] == '2.5.3' and x['new'] == '2.6.0' for x in j['steps']['train']['packages'])" <"$T/dj" |
	grep -q True || fail "JSON diff lacks the package change: $(cat "$T/dj")"

check "a run against itself: exit 0"
afs diff p/r1 p/r1 >"$T/d" || fail "diff of a run with itself did not exit 0"
grep -q "no differences" "$T/d" || fail "no 'no differences' line"

check "errors exit 2"
rc=0
afs diff p/r1 p/nope >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "diff with a missing run exited $rc, want 2"
rc=0
afs diff p/r1 model@v1 >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "diff of a run and a version exited $rc, want 2"

check "diff of two versions: file by file, with producing runs"
afs diff model@v1 model@v2 >"$T/vd" ||
	fail "the same content made twice is not equal: $(cat "$T/vd")"
head -1 "$T/vd" | grep -q "model@v1 (p/r1/train) -> model@v2 (p/r2/train)" ||
	fail "no producing runs: $(cat "$T/vd")"
mkdir -p "$T/tree/sub"
echo "model made" >"$T/tree/model"
echo more >"$T/tree/sub/extra"
afs put model "$T/tree" >/dev/null # v3: no run
chmod 0755 "$T/tree/model"
echo changed >"$T/tree/sub/extra"
afs put model "$T/tree" >/dev/null # v4
rc=0
afs diff model@v2 model@v3 >"$T/vd" || rc=$?
[ "$rc" -eq 1 ] || fail "version diff exited $rc"
grep -q "^A  sub/extra  5 B" "$T/vd" || fail "no added file: $(cat "$T/vd")"
grep -q "(no run)" "$T/vd" || fail "no '(no run)': $(cat "$T/vd")"
rc=0
afs diff model@v3 model@v4 --json >"$T/vj" || rc=$?
[ "$rc" -eq 1 ] || fail "version JSON diff exited $rc"
json_eval "sorted((f['path'], f['change'], f['old']['mode'], f['new']['mode']) for f in j['files'])" <"$T/vj" |
	grep -qF "[('model', 'changed', '0644', '0755'), ('sub/extra', 'changed', '0644', '0644')]" ||
	fail "version JSON diff: $(cat "$T/vj")"
afs diff model@v3 model@v4 >"$T/vd" || true
grep -q "^M  model  mode 0644 -> 0755" "$T/vd" || fail "no mode line: $(cat "$T/vd")"

check "env show --requirements: a pip file and the dpkg list"
afs env show model@v1 --requirements >"$T/req" || fail "env show failed"
grep -qx "pydantic==2.5.3" "$T/req" || fail "no pydantic==2.5.3: $(head "$T/req")"
grep -qx "gone==1.0" "$T/req" || fail "no gone==1.0"
if [ -s /var/lib/dpkg/status ]; then
	grep -q "^#   [a-z0-9.+-]*=" "$T/req" || fail "no dpkg packages listed"
fi
afs env show model@v2 >"$T/show" || fail "env show failed"
grep -q "^== code.txt" "$T/show" || fail "env show: $(head "$T/show")"
expect_err "not produced by a step" afs env show model@v3
finish
