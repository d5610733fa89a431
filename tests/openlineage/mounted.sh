#!/usr/bin/env bash
# trace and openlineage while the store is mounted: the commands go to the
# daemon, so a step taken from $ARTIFACTFS_RUN/$ARTIFACTFS_STEP (a `run
# exec` session) must travel on the forwarded command line; payloads are
# read as the caller, in the caller's directory; only the run's owner may
# add spans; outputs sealed through the mount are exported.  Needs root
# and /dev/fuse (tests/mount/lib.sh skips without them).
# shellcheck source=tests/mount/lib.sh
source "$(dirname "$0")/../mount/lib.sh" "$@"
CHECK=$(dirname "$0")/ol_check.py
unset ARTIFACTFS_RUN ARTIFACTFS_STEP

afs init >/dev/null
# shellcheck disable=SC2119 # no mount options
start_daemon
afs run open ml/m1 fit >/dev/null || fail "run open"

check "the step comes from the environment through the daemon"
printf 'a prompt\n' >"$T/prompt.txt"
id=$(cd "$T" && ARTIFACTFS_RUN=ml/m1 ARTIFACTFS_STEP=fit \
	afs trace add --kind llm_call --name chat --input-file prompt.txt) ||
	fail "trace add from the environment"
afs trace show ml/m1 | grep -q "llm_call chat .*\[$id\]" ||
	defect "the span is not in the trace"
afs trace show ml/m1 --json | "$PY" -c '
import json, sys
s = json.load(sys.stdin)[0]["spans"][0]
assert s["inputs"][0]["file"] == "prompt.txt", s' ||
	defect "payload not read in the caller's directory"
grep -q "\"id\":\"$id\"" "$M/pipelines/ml/runs/m1/steps/fit/trace.jsonl" ||
	defect "trace.jsonl in the mount does not show the span"

check "without --run and outside a session: one line, exit 2"
rc=0
afs trace add --kind other --name x 2>"$T/err" || rc=$?
if [ "$rc" -ne 2 ] || [ "$(wc -l <"$T/err")" -ne 1 ]; then
	defect "exit $rc, stderr: $(cat "$T/err")"
fi

check "another user may not add to the run"
ensure_user
setfacl -m "u:$TUSER:rwx" "$M/pipelines" || fail "setfacl"
chmod 0644 "$T/prompt.txt"
rc=0
as_user "$AFS" --config "$T/empty.conf" --store "$S" trace add \
	--run ml/m1 --step fit --kind other --name intruder 2>"$T/err" || rc=$?
if [ "$rc" -ne 1 ] || ! grep -q "only its owner" "$T/err"; then
	defect "a foreign user's trace add: exit $rc, $(cat "$T/err")"
fi

check "outputs sealed through the mount are exported"
mkdir -p "$M/pipelines/ml/runs/m1/steps/fit/outputs/model"
echo weights >"$M/pipelines/ml/runs/m1/steps/fit/outputs/model/w.bin"
afs run seal ml/m1 >/dev/null || fail "run seal"
afs lineage export --openlineage >"$T/ev.jsonl" || fail "openlineage through the daemon"
"$PY" "$CHECK" "$T/ev.jsonl" --count 6 --runs ml=START,COMPLETE \
	--runs ml.fit=START,COMPLETE --output ml.fit=model \
	--parent ml.fit.llm_call.chat=ml.fit ||
	defect "the export through the daemon"

stop_daemon
finish
