#!/usr/bin/env bash
# A daemon killed with SIGKILL loses nothing it promised: sealed versions
# and fsync'd files are there after a remount, with the right bytes, and
# fsck finds the store clean (at most unreferenced chunks).
source "$(dirname "$0")/lib.sh" "$@"

afs init >/dev/null
start_daemon
P=$M/pipelines/train/runs
A=$M/artifacts

check "a sealed run: two outputs become versions"
OB=$P/sealed/steps/fit/outputs
mkdir -p "$OB/model/shards"
mkrandom "$T/w.bin" $((2 << 20))
mkrandom "$T/s1.bin" 300000
echo '{"lr": 0.1}' >"$T/cfg.json"
cp "$T/w.bin" "$OB/model/weights.bin"
cp "$T/s1.bin" "$OB/model/shards/s1.bin"
cp "$T/cfg.json" "$OB/config.json"
echo seal >"$P/sealed/control"
sha256sum "$A/model/v1/weights.bin" "$A/model/v1/shards/s1.bin" \
	"$A/config.json/v1/config.json" | sed "s|$A/||" >"$T/sealed.sha"
cat "$T/sealed.sha"

check "an open run: a file written and fsync'd, still open when the daemon dies"
OA=$P/open/steps/fit/outputs
mkdir -p "$OA/ckpt"
mkrandom "$T/synced.bin" $((3 << 20))
mkrandom "$T/later.bin" 100000
"$PY" - "$OA/ckpt/synced.bin" "$T/synced.bin" "$T/later.bin" "$T/fsynced" \
	<<'EOF' &
import os, sys, time
dst, synced, later, flag = sys.argv[1:]
f = open(dst, "wb")
f.write(open(synced, "rb").read())
f.flush()
os.fsync(f.fileno())
open(flag, "w").close()
f.write(open(later, "rb").read())   # not synced: may or may not survive
f.flush()
time.sleep(120)                      # still open when the daemon dies
EOF
HOLDER=$!
CLEANUP+=("kill $HOLDER 2>/dev/null; wait $HOLDER 2>/dev/null")
for _ in $(seq 300); do
	[ -e "$T/fsynced" ] && break
	kill -0 "$HOLDER" 2>/dev/null || fail "the fsync writer died"
	sleep 0.1
done
[ -e "$T/fsynced" ] || fail "the fsync writer did not finish in 30 s"
cp "$T/cfg.json" "$OA/closed.json" # closed, never fsync'd

check "a large write in flight when the daemon dies"
mkrandom "$T/inflight.bin" $((24 << 20))
"$PY" - "$OA/inflight.bin" "$T/inflight.bin" "$T/inflight.started" <<'EOF' &
import sys
dst, src, flag = sys.argv[1:]
data = open(src, "rb").read()
with open(dst, "wb") as f:
    for i in range(0, len(data), 1 << 20):
        f.write(data[i:i + (1 << 20)])
        f.flush()
        if i == 4 << 20:
            open(flag, "w").close()
EOF
WRITER=$!
CLEANUP+=("kill $WRITER 2>/dev/null; wait $WRITER 2>/dev/null")
for _ in $(seq 300); do
	[ -e "$T/inflight.started" ] && break
	kill -0 "$WRITER" 2>/dev/null || break
	sleep 0.05
done

check "kill -9 of the daemon, lazy unmount, remount"
kill_daemon
kill "$HOLDER" 2>/dev/null || true
wait "$HOLDER" 2>/dev/null || true
wait "$WRITER" 2>/dev/null || true
start_daemon

check "sealed versions are intact"
(cd "$A" && sha256sum -c "$T/sealed.sha") || defect "sealed content after the crash"
[ "$(readlink "$A/model/latest")" = v1 ] || defect "model latest"
grep -q '"status": "sealed"' "$P/sealed/run.json" || defect "sealed run status"

check "the fsync'd file is there; the run is still open"
got=$(sha "$OA/ckpt/synced.bin" 2>/dev/null || echo missing)
cat "$T/synced.bin" "$T/later.bin" >"$T/synced+later.bin"
if [ "$got" = "$(sha "$T/synced.bin")" ]; then
	echo "   ok: the fsync'd content exactly"
elif [ "$got" = "$(sha "$T/synced+later.bin")" ]; then
	echo "   ok: the fsync'd content and the later write"
else
	defect "synced.bin after the crash: $got ($(stat -c %s "$OA/ckpt/synced.bin" 2>&1))"
fi
cmp "$OA/closed.json" "$T/cfg.json" || defect "a closed file was lost"
[ "$(cat "$P/open/control")" = open ] || defect "the open run is not open"
if [ -e "$OA/inflight.bin" ]; then
	echo "   the in-flight file: $(stat -c %s "$OA/inflight.bin") bytes"
	cmp -n "$(stat -c %s "$OA/inflight.bin")" "$OA/inflight.bin" \
		"$T/inflight.bin" || defect "the in-flight file holds wrong bytes"
fi

check "the open run can go on and be sealed after the crash"
rm -f "$OA/inflight.bin"
echo "after" >"$OA/after.txt"
echo seal >"$P/open/control"
cmp "$A/ckpt/v1/synced.bin" "$OA/ckpt/synced.bin" || defect "ckpt@v1"
[ "$(cat "$A/after.txt/v1/after.txt")" = after ] || defect "after.txt@v1"

stop_daemon

check "fsck after the crash: clean"
rc=0
afs fsck 2>"$T/fsck.err" || rc=$?
cat "$T/fsck.err"
if grep -Eq 'missing|corrupt|fails its hash|unreadable' "$T/fsck.err"; then
	defect "fsck finds missing or corrupt data after the crash"
fi
[ "$rc" -eq 0 ] || defect "fsck exited $rc after the crash"
afs ls
finish
