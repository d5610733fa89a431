#!/usr/bin/env bash
# gc on a full disk: a store on a 64 MiB tmpfs, filled through the mount
# until writes fail with ENOSPC (and the rest of the disk by another
# file).  Mounted and full, 'gc --dry-run' works through the daemon;
# unmounted, no command aborts (ls, fsck, gc), gc journals what it
# removes and frees space, and fsck and audit verify are clean after.
source "$(dirname "$0")/lib.sh" "$@"

mkdir -p "$T/small"
mount -t tmpfs -o size=64m tmpfs "$T/small" || skip "cannot mount tmpfs"
CLEANUP+=("fusermount3 -u '$M' 2>/dev/null; sleep 0.5; umount -l '$T/small'")
S=$T/small/store

# no_abort CMD...: CMD must not die of a signal (an assertion's abort).
no_abort() {
	local rc=0
	"$@" >"$T/.out" 2>"$T/.err" || rc=$?
	if [ "$rc" -ge 128 ]; then
		defect "'$*' died (exit $rc): $(tail -n2 "$T/.err")"
	fi
	sed 's/^/   | /' "$T/.out" | tail -n 3
	return 0
}

afs init >/dev/null
check "a new store keeps a reserve file"
[ -f "$S/reserve" ] || defect "no reserve file in a new store"
start_daemon
O=$M/pipelines/p/runs/r/steps/s/outputs
mkdir -p "$O/model"
mkrandom "$T/ok.bin" $((4 << 20))
cp "$T/ok.bin" "$O/model/ok.bin" || fail "writing 4 MiB failed"
echo seal >"$M/pipelines/p/runs/r/control" || fail "seal failed"

check "files written into an open run and removed leave garbage"
G=$M/pipelines/p/runs/g/steps/s/outputs/tmp
mkdir -p "$G"
for i in 1 2 3; do
	mkrandom "$T/g.bin" $((3 << 20))
	cp "$T/g.bin" "$G/g$i.bin" || fail "writing g$i.bin failed"
done
rm "$G"/g*.bin || fail "removing the files of an open run failed"

check "writes through the mount until the disk is full"
full=0
for i in $(seq 1 40); do
	mkdir -p "$M/pipelines/p/runs/f$i/steps/s/outputs/junk"
	mkrandom "$T/f.bin" $((3 << 20))
	if ! cp "$T/f.bin" "$M/pipelines/p/runs/f$i/steps/s/outputs/junk/" \
		2>"$T/cp.err"; then
		grep -q 'No space left' "$T/cp.err" ||
			defect "a write failed without ENOSPC: $(cat "$T/cp.err")"
		full=1
		break
	fi
	echo seal >"$M/pipelines/p/runs/f$i/control" 2>/dev/null || {
		full=1
		break
	}
done
[ "$full" = 1 ] || defect "the disk never filled"
# Whatever room is left goes to another file on the same disk.
head -c $((64 << 20)) /dev/zero >"$T/small/filler" 2>/dev/null || true
df -k "$T/small" | tail -n1

check "mounted and full: the daemon is up, gc --dry-run works"
[ "$(sha "$M/artifacts/model/v1/ok.bin")" = "$(sha "$T/ok.bin")" ] ||
	defect "the sealed version changed"
afs gc --dry-run >"$T/dry.out" 2>&1 || defect "gc --dry-run failed: $(cat "$T/dry.out")"
grep -q '^would remove' "$T/dry.out" || defect "gc --dry-run said: $(cat "$T/dry.out")"
stop_daemon

check "unmounted and full: ls, fsck, gc --dry-run do not abort"
no_abort afs ls
no_abort afs fsck
no_abort afs gc --dry-run
before=$(df -k --output=avail "$T/small" | tail -n1)

check "gc runs, journals its deletions and frees space"
no_abort afs gc
grep -q '^removed' "$T/.out" || defect "gc said: $(cat "$T/.out" "$T/.err")"
after=$(df -k --output=avail "$T/small" | tail -n1)
echo "   free before gc: ${before} KiB, after: ${after} KiB"
[ "$after" -gt "$before" ] || defect "gc freed nothing"
n=$(afs audit query --op gc.remove --json | "$PY" -c \
	'import json,sys; print(len(json.load(sys.stdin)))' || echo 0)
[ "$n" -ge 1 ] || defect "no gc.remove record in the journal"

check "fsck and audit verify are clean, the sealed version intact"
afs fsck >"$T/fsck.out" 2>&1 || defect "fsck: $(cat "$T/fsck.out")"
afs audit verify >"$T/av.out" 2>&1 || defect "audit verify: $(cat "$T/av.out")"
[ "$(afs cat model@v1/ok.bin | sha256sum | cut -d' ' -f1)" = \
	"$(sha "$T/ok.bin")" ] || defect "model@v1 changed"

check "with the filler gone the reserve comes back and writes work"
rm -f "$T/small/filler"
afs gc >/dev/null 2>&1 || defect "gc after freeing the disk"
[ -f "$S/reserve" ] || defect "the reserve was not made again"
mkrandom "$T/again.bin" $((1 << 20))
afs put again "$T/again.bin" >/dev/null || defect "put after gc"
finish
