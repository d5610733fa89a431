#!/usr/bin/env bash
# trace.jsonl in a step is append-only: whole JSON object lines appended
# with O_APPEND are kept; a malformed line is EINVAL and not stored;
# truncation, overwrite and unlink are EPERM even for the owner; after the
# run ends, EROFS.
source "$(dirname "$0")/../mount/lib.sh" "$@"

afs init >/dev/null
start_daemon
afs run open p/r s >/dev/null || fail "run open failed"
TR=$M/pipelines/p/runs/r/steps/s/trace.jsonl

check "appending whole JSON lines works"
echo '{"kind":"tool_call","name":"a"}' >>"$TR" || defect "append failed"
printf '%s\n%s\n' '{"n":2}' '{"n":3}' >>"$TR" || defect "two-line append failed"
[ "$(wc -l <"$TR")" -eq 3 ] || defect "want 3 lines, have: $(cat "$TR")"

check "a malformed line is refused and not stored"
expect_err "Invalid argument" bash -c "echo 'not json' >>'$TR'"
expect_err "Invalid argument" bash -c "echo '[1,2]' >>'$TR'"
[ "$(wc -l <"$TR")" -eq 3 ] || defect "a malformed line was stored"

check "truncate, overwrite and unlink: Operation not permitted"
expect_err "Operation not permitted" truncate -s 0 "$TR"
expect_err "Operation not permitted" sh -c "echo '{}' >'$TR'"
expect_err "Operation not permitted" rm -f "$TR"
expect_err "Operation not permitted" mv "$TR" "$TR.old"
[ "$(head -n1 "$TR")" = '{"kind":"tool_call","name":"a"}' ] ||
	defect "the first line changed"

check "trace show sees the lines; after the run ends: Read-only file system"
afs trace show p/r --json | python3 -c '
import json, sys
steps = json.load(sys.stdin)
assert len(steps[0]["spans"]) == 3, steps' || defect "trace show does not list 3 spans"
afs run seal p/r >/dev/null || defect "seal failed"
expect_err "Read-only file system" sh -c "echo '{}' >>'$TR'"
stop_daemon
finish
