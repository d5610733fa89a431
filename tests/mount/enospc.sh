#!/usr/bin/env bash
# A full disk under a mounted store: the file being written fails with
# "No space left on device" and is not half-committed, everything
# committed before is intact, the daemon stays up, and fsck is clean.
source "$(dirname "$0")/lib.sh" "$@"

# The store lives on a small tmpfs of its own.
mkdir -p "$T/small"
mount -t tmpfs -o size=48m tmpfs "$T/small" || skip "cannot mount tmpfs"
CLEANUP+=("fusermount3 -u '$M' 2>/dev/null; sleep 0.5; umount -l '$T/small'")
S=$T/small/store

afs init >/dev/null
start_daemon
O=$M/pipelines/p/runs/r/steps/s/outputs
mkdir -p "$O/model"
mkrandom "$T/ok.bin" $((8 << 20))
cp "$T/ok.bin" "$O/model/ok.bin" || fail "writing 8 MiB failed"
echo seal >"$M/pipelines/p/runs/r/control" || fail "seal failed"
mkdir -p "$M/pipelines/p/runs/r2/steps/s/outputs/big"
cp "$T/ok.bin" "$M/pipelines/p/runs/r2/steps/s/outputs/big/before.bin" ||
	fail "writing before the disk fills failed"

check "a 100 MiB file on a 48 MiB disk: No space left on device"
mkrandom "$T/big.bin" $((100 << 20))
expect_err "No space left on device" \
	cp "$T/big.bin" "$M/pipelines/p/runs/r2/steps/s/outputs/big/big.bin"

check "the failed file is not half-committed"
size=$(stat -c %s "$M/pipelines/p/runs/r2/steps/s/outputs/big/big.bin" \
	2>/dev/null || echo absent)
[ "$size" = absent ] || [ "$size" = 0 ] ||
	defect "big.bin shows $size bytes after the failed write"

check "what was committed before is intact, and the daemon is up"
[ "$(sha "$M/artifacts/model/v1/ok.bin")" = "$(sha "$T/ok.bin")" ] ||
	defect "the sealed version changed"
[ "$(sha "$M/pipelines/p/runs/r2/steps/s/outputs/big/before.bin")" = \
	"$(sha "$T/ok.bin")" ] || defect "the earlier output changed"
stop_daemon

check "fsck is clean after remounting nothing"
afs fsck >"$T/fsck.out" 2>&1 || {
	cat "$T/fsck.out"
	defect "fsck found problems after the full disk"
}
finish
