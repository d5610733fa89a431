#!/usr/bin/env bash
# Sealing with a file open for writing, as an unprivileged user: while a
# writer holds written bytes that are neither closed nor fsync'd,
# `echo seal > control` fails with EBUSY ("Device or resource busy"),
# the daemon's log names the file in one line, `artifactfs run seal`
# through the daemon is refused with that line, and the run stays open;
# once the writer closes, the seal publishes the whole file.  A writer
# that fsync'd does not hold a seal back: what it fsync'd is published.
source "$(dirname "$0")/lib.sh" "$@"
ensure_user

afs init >/dev/null
start_daemon
P=$M/pipelines/train/runs
A=$M/artifacts
setfacl -m "u:$TUSER:rwx" "$M/pipelines" || fail "setfacl writer"
setfacl -m "u:$TUSER:r-x" "$A" || fail "setfacl reader"
OUT=$P/r1/steps/fit/outputs
as_user mkdir -p "$OUT/model" || fail "mkdir -p $OUT/model"
mkfifo -m 0666 "$T/go" "$T/ready"

# writer FILE SYNC: writes "first half" to FILE (fsync'd when SYNC is 1),
# says ready, waits for go, writes "second half", closes.
writer() {
	as_user "$PY" - "$1" "$2" "$T/ready" "$T/go" <<'PYEOF'
import os, sys
path, sync, ready, go = sys.argv[1], sys.argv[2] == "1", sys.argv[3], sys.argv[4]
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, b"first half\n")
if sync:
    os.fsync(fd)
open(ready, "w").close()
open(go).read()
try:
    os.write(fd, b"second half\n")
    os.close(fd)
    print("closed")
except OSError as e:
    print("error", e.errno)
PYEOF
}

check "a writer with unsynced bytes: seal fails with EBUSY, names the file"
# (bash: the echo of dash reports any write error as "I/O error")
writer "$OUT/model/w.bin" 0 >"$T/w1.out" &
WPID=$!
CLEANUP+=("kill $WPID 2>/dev/null; wait $WPID 2>/dev/null")
cat "$T/ready" >/dev/null
expect_err "Device or resource busy" as_user bash -c "echo seal > '$P/r1/control'"
[ "$(cat "$P/r1/control")" = open ] || defect "run is $(cat "$P/r1/control") after the refused seal"
[ ! -e "$A/model" ] || defect "model was published: $(ls "$A/model")"
grep "cannot seal train/r1" "$DLOG" >"$T/busy.line" || true
[ "$(grep -c . "$T/busy.line")" = 1 ] && grep -q "steps/fit/outputs/model/w.bin" "$T/busy.line" ||
	defect "the daemon's log does not name the open file in one line: $(cat "$T/busy.line")"
echo "   log: $(cat "$T/busy.line")"
# The same seal asked through the daemon's socket is refused the same way.
as_user "$AFS" --config "$T/empty.conf" --store "$S" run seal train/r1 \
	>"$T/cli.out" 2>&1 && defect "run seal through the daemon succeeded"
echo "   run seal: $(head -n2 "$T/cli.out" | tr '\n' ' ')"
grep -q "w.bin" "$T/cli.out" && grep -q "open for writing" "$T/cli.out" ||
	defect "run seal did not say the run is busy and why: $(cat "$T/cli.out")"
[ "$(cat "$P/r1/control")" = open ] || defect "run is $(cat "$P/r1/control") after the refused run seal"
echo go >"$T/go"
wait "$WPID" || true
[ "$(cat "$T/w1.out")" = closed ] || defect "the writer: $(cat "$T/w1.out")"

check "the writer closed: the seal publishes the whole file"
as_user sh -c "echo seal > '$P/r1/control'" || defect "seal after the close failed"
[ "$(cat "$A/model/v1/w.bin" 2>&1)" = "first half
second half" ] || defect "model@v1/w.bin holds: $(cat "$A/model/v1/w.bin" 2>&1)"

check "a writer that fsync'd does not hold the seal back"
OUT2=$P/r2/steps/fit/outputs
as_user mkdir -p "$OUT2/model" || fail "mkdir -p $OUT2/model"
as_user sh -c "echo done > '$OUT2/model/other.txt'"
writer "$OUT2/model/s.bin" 1 >"$T/w2.out" &
WPID=$!
CLEANUP+=("kill $WPID 2>/dev/null; wait $WPID 2>/dev/null")
cat "$T/ready" >/dev/null
as_user sh -c "echo seal > '$P/r2/control'" || defect "seal with an fsync'd writer failed"
[ "$(cat "$A/model/v2/s.bin" 2>&1)" = "first half" ] ||
	defect "model@v2/s.bin holds: $(cat "$A/model/v2/s.bin" 2>&1)"
echo go >"$T/go"
wait "$WPID" || true
echo "   the writer after the seal: $(cat "$T/w2.out")"
[ "$(cat "$A/model/v2/s.bin" 2>&1)" = "first half" ] ||
	defect "model@v2/s.bin changed after the seal"

stop_daemon
finish
