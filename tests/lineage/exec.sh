#!/usr/bin/env bash
# run exec: a command run as a step, with what its process session reads
# through the mount captured as the step's inputs (and nothing that other
# processes read), its outputs sealed into versions when it exits 0, and
# its run failed (nothing published) otherwise.
source "$(dirname "$0")/../mount/lib.sh" "$@"

# `run exec` once cmd_run.c dispatches to it; the top-level `exec` until then.
if "$AFS" run exec --help 2>/dev/null | grep -q -- --pipeline; then
	EXEC=(run exec)
else
	EXEC=(exec)
fi
aexec() {
	afs "${EXEC[@]}" "$@"
}
# aexec_bg ARGS...: aexec in the background, $! being artifactfs itself.
aexec_bg() {
	(exec "$AFS" --config "$T/empty.conf" --store "$S" "${EXEC[@]}" "$@") &
}

# run_json P R: MNT/pipelines/P/runs/R/run.json
run_json() {
	cat "$M/pipelines/$1/runs/$2/run.json"
}

# json_check PYEXPR...: reads JSON on stdin as `j`; each expression must
# be true.
json_check() {
	"$PY" -c '
import json, sys
j = json.load(sys.stdin)
for e in sys.argv[1:]:
    if not eval(e):
        sys.exit("false: %s\nin: %s" % (e, json.dumps(j)[:600]))
' "$@"
}

afs init >/dev/null
for n in a b c; do
	echo "content of $n" >"$T/$n.txt"
	afs put "$n" "$T/$n.txt" >/dev/null
done

check "run exec needs the store mounted"
expect_err "run exec needs the store mounted" aexec --pipeline p --step s -- true
rc=0
aexec --pipeline p --step s -- true 2>/dev/null || rc=$?
[ "$rc" -eq 1 ] || defect "run exec without a mount exited $rc, want 1"
expect_err "needs the store mounted" afs run bind p/r/s 1
expect_err "--pipeline and --step" aexec --step s -- true
expect_err "missing -- CMD" aexec --pipeline p --step s

start_daemon

check "(1) the step's inputs are what its session read (a@v1, b@v1), not c"
cat >"$T/step1.sh" <<'EOF'
set -e
mkdir "$ARTIFACTFS_OUTPUTS/out"
cat "$ARTIFACTFS_MOUNT"/artifacts/a/v1/* "$ARTIFACTFS_MOUNT"/artifacts/b/latest/* \
	>"$ARTIFACTFS_OUTPUTS/out/x"
env | grep '^ARTIFACTFS_' | sort >"$1/env.txt"
touch "$1/started"
i=0
while [ ! -e "$1/go" ] && [ $i -lt 300 ]; do
	sleep 0.1
	i=$((i + 1))
done
EOF
aexec_bg --pipeline p --step s --run r1 --param lr=-0.5 -- \
	sh "$T/step1.sh" "$T" >"$T/exec.out" 2>"$T/exec.err"
EPID=$!
for ((i = 0; i < 300; i++)); do
	[ -e "$T/started" ] && break
	kill -0 "$EPID" 2>/dev/null || break
	sleep 0.1
done
[ -e "$T/started" ] || fail "the step never started: $(cat "$T/exec.err")"
# Read by a process outside the step's session, while the step runs.
cat "$M"/artifacts/c/v1/* >/dev/null
touch "$T/go"
rc=0
wait "$EPID" || rc=$?
[ "$rc" -eq 0 ] || defect "run exec exited $rc: $(cat "$T/exec.err")"
grep -qx "p/r1: step s exited 0; sealed" "$T/exec.err" ||
	defect "no summary line: $(cat "$T/exec.err")"
[ ! -s "$T/exec.out" ] || defect "run exec printed on stdout: $(cat "$T/exec.out")"
IN=$M/pipelines/p/runs/r1/steps/s/inputs
ls -l "$IN/" | sed 's/^/   /'
got=$(ls "$IN" | tr '\n' ' ')
[ "$got" = "a@v1 b@v1 " ] || defect "inputs/ holds '$got', want 'a@v1 b@v1 '"
for v in a b; do
	[ -L "$IN/$v@v1" ] || defect "inputs/$v@v1 is not a symlink"
	[ "$(readlink -f "$IN/$v@v1")" = "$(readlink -f "$M/artifacts/$v/v1")" ] ||
		defect "inputs/$v@v1 does not lead to artifacts/$v/v1"
done
[ "$(cat "$M/artifacts/out/v1/x")" = "$(cat "$T/a.txt" "$T/b.txt")" ] ||
	defect "out@v1/x is not a followed by b"
afs lineage out@v1 --upstream --json >"$T/up.json" ||
	defect "lineage out@v1 --upstream --json failed"
json_check <"$T/up.json" \
	'sorted(n["id"] for n in j["nodes"]) == ["step:p/r1/s", "version:a@v1", "version:b@v1", "version:out@v1"]' \
	'sorted((e["from"], e["to"], e["kind"]) for e in j["edges"]) == [("step:p/r1/s", "version:out@v1", "output"), ("version:a@v1", "step:p/r1/s", "input"), ("version:b@v1", "step:p/r1/s", "input")]' \
	'[n for n in j["nodes"] if n["id"] == "version:out@v1"][0]["digest"].startswith("sha256:")' \
	'[n for n in j["nodes"] if n["type"] == "step"][0]["status"] == "sealed"' ||
	defect "lineage out@v1 --upstream --json is not out <- p/r1/s <- a, b"
afs lineage c@v1 --downstream --json | json_check \
	'[n["id"] for n in j["nodes"]] == ["version:c@v1"]' ||
	defect "c@v1, read outside the step's session, has readers"
run_json p r1 | json_check 'j["status"] == "sealed"' \
	'j["notes"]["exit_status"] == "0"' 'j["notes"]["exit_status.s"] == "0"' \
	'j["notes"]["param.lr"] == "-0.5"' ||
	defect "run.json of p/r1 lacks status or notes"
grep -qx "ARTIFACTFS_RUN=p/r1" "$T/env.txt" &&
	grep -qx "ARTIFACTFS_STEP=s" "$T/env.txt" &&
	grep -qx "ARTIFACTFS_OUTPUTS=$M/pipelines/p/runs/r1/steps/s/outputs" "$T/env.txt" ||
	defect "the step's environment: $(cat "$T/env.txt")"

check "a version read before the step (page cache) is still captured"
cat "$M"/artifacts/c/v1/* >/dev/null
aexec --pipeline p --step s --run r2 -q -- \
	sh -c 'cat "$ARTIFACTFS_MOUNT"/artifacts/c/v1/c.txt >/dev/null' ||
	defect "run exec of a plain read failed"
[ "$(ls "$M/pipelines/p/runs/r2/steps/s/inputs")" = "c@v1" ] ||
	defect "r2 inputs: '$(ls "$M/pipelines/p/runs/r2/steps/s/inputs")'"

check "--input declares a version and names it in the environment"
afs put c "$T/c.txt" >/dev/null # c@v2 is latest now
aexec --pipeline p --step s --run r3 -q --input data=c@v1 -- \
	sh -c 'echo "$ARTIFACTFS_INPUT_DATA" >"$0/input.txt"' "$T" ||
	defect "run exec --input failed"
[ "$(cat "$T/input.txt")" = "$M/artifacts/c/v1" ] ||
	defect "ARTIFACTFS_INPUT_DATA is '$(cat "$T/input.txt")'"
[ "$(ls "$M/pipelines/p/runs/r3/steps/s/inputs")" = "c@v1" ] ||
	defect "the declared input is not in inputs/"
expect_err "is not [NAME=]ARTIFACT@REF" aexec --pipeline p --step s \
	--input 'x=a@v1/path' -- true
expect_err "is not K=V" aexec --pipeline p --step s --param novalue -- true

check "joining an open run: --no-seal, then a last step seals it"
afs run open p/j >/dev/null || defect "run open p/j failed"
aexec --pipeline p --step one --run j --no-seal -- true 2>"$T/j.err" ||
	defect "step one of p/j failed"
grep -q "run left open" "$T/j.err" || defect "no 'left open': $(cat "$T/j.err")"
run_json p j | json_check 'j["status"] == "open"' ||
	defect "p/j is not open after --no-seal"
aexec --pipeline p --step two --run j -q -- true || defect "step two of p/j failed"
run_json p j | json_check 'j["status"] == "sealed"' \
	'sorted(s["name"] for s in j["steps"]) == ["one", "two"]' ||
	defect "p/j is not sealed with steps one and two"
expect_err "no more steps can join it" aexec --pipeline p --step s --run r1 -- true

check "(2) a command that exits 3: exit 3, run failed, nothing published"
cat >"$T/step2.sh" <<'EOF'
mkdir "$ARTIFACTFS_OUTPUTS/failed_out"
cat "$ARTIFACTFS_MOUNT"/artifacts/a/v1/* >"$ARTIFACTFS_OUTPUTS/failed_out/y"
exit 3
EOF
nbefore=$(afs ls --json | "$PY" -c 'import json,sys; print(sum(a["versions"] for a in json.load(sys.stdin)))')
rc=0
aexec --pipeline p --step s --run f1 -- sh "$T/step2.sh" 2>"$T/f1.err" || rc=$?
[ "$rc" -eq 3 ] || defect "run exec of 'exit 3' exited $rc"
grep -qx "p/f1: step s exited 3; failed (nothing published)" "$T/f1.err" ||
	defect "no failure summary: $(cat "$T/f1.err")"
run_json p f1 | json_check 'j["status"] == "failed"' \
	'j["notes"]["exit_status"] == "3"' ||
	defect "run.json of p/f1 is not failed with exit_status 3"
[ ! -e "$M/artifacts/failed_out" ] || defect "the failed run published failed_out"
afs ls | grep -q failed_out && defect "ls lists failed_out"
nafter=$(afs ls --json | "$PY" -c 'import json,sys; print(sum(a["versions"] for a in json.load(sys.stdin)))')
[ "$nbefore" = "$nafter" ] || defect "versions went from $nbefore to $nafter"

check "a command that is not there: exit 127, one line, run failed"
rc=0
aexec --pipeline p --step s --run f2 -- /nonexistent/cmd 2>"$T/f2.err" || rc=$?
[ "$rc" -eq 127 ] || defect "a missing command exited $rc, want 127"
grep -q "artifactfs: .*/nonexistent/cmd: No such file or directory" "$T/f2.err" ||
	defect "no line naming the missing command: $(cat "$T/f2.err")"
run_json p f2 | json_check 'j["status"] == "failed"' ||
	defect "p/f2 is not failed"

check "SIGTERM to run exec reaches the command: exit 143, run failed"
rm -f "$T/running"
aexec_bg --pipeline p --step s --run f3 -q -- \
	sh -c 'touch "$0/running"; exec sleep 60' "$T" 2>"$T/f3.err"
EPID=$!
for ((i = 0; i < 300; i++)); do
	[ -e "$T/running" ] && break
	sleep 0.1
done
sleep 0.2
kill -TERM "$EPID"
rc=0
wait "$EPID" || rc=$?
[ "$rc" -eq 143 ] || defect "run exec killed by TERM exited $rc, want 143"
run_json p f3 | json_check 'j["status"] == "failed"' \
	'j["notes"]["exit_status"] == "143"' || defect "p/f3 is not failed, 143"

check "a generated run id"
aexec --pipeline g --step s -q -- true || defect "run exec without --run failed"
afs run ls g --json | json_check 'len(j) == 1' \
	'__import__("re").fullmatch(r"r\d{8}T\d{6}-[0-9a-f]{4}", j[0]["run"])' \
	'j[0]["status"] == "sealed"' || defect "no sealed run rYYYYmmddTHHMMSS-XXXX"

check "an unprivileged user runs a step of their own"
ensure_user
setfacl -m "u:$TUSER:rwx" "$M/pipelines" || fail "setfacl writer"
setfacl -m "u:$TUSER:r-x" "$M/artifacts" || fail "setfacl reader"
rc=0
as_user "$AFS" --config "$T/empty.conf" --store "$S" "${EXEC[@]}" \
	--pipeline u --step s --run r1 -- \
	sh -c 'cat "$ARTIFACTFS_MOUNT"/artifacts/a/v1/* >/dev/null' \
	2>"$T/u.err" || rc=$?
[ "$rc" -eq 0 ] || defect "run exec as $TUSER exited $rc: $(cat "$T/u.err")"
[ "$(ls "$M/pipelines/u/runs/r1/steps/s/inputs" 2>/dev/null)" = "a@v1" ] ||
	defect "the user's step did not capture a@v1"

check "the step runs with the open-files limit it was started with"
# artifactfs raises its own soft limit to the hard one; the step gets the
# soft limit back.
if [ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -gt 300 ]; then
	(
		ulimit -Sn 300
		aexec --pipeline lim --step s -q -- \
			sh -c 'ulimit -Sn >"$0"' "$T/nofile.txt"
	) || defect "run exec with ulimit -Sn 300 failed"
	[ "$(cat "$T/nofile.txt" 2>/dev/null)" = 300 ] ||
		defect "the step's soft limit: $(cat "$T/nofile.txt" 2>/dev/null), want 300"
fi

stop_daemon
finish
