#!/usr/bin/env bash
# A damaged chunk on disk: reading the file through the mount fails with
# "Input/output error" (never wrong bytes), the daemon names the chunk in
# its log and stays up, and fsck exits non-zero.
source "$(dirname "$0")/lib.sh" "$@"
CORRUPT=$(dirname "$AFS")/../tests/store/corrupt_chunk
[ -x "$CORRUPT" ] || skip "no corrupt_chunk tool next to the build"

afs init >/dev/null
mkrandom "$T/a.bin" $((2 << 20))
afs put model "$T/a.bin" >/dev/null
"$CORRUPT" "$S" || fail "could not damage the store"

start_daemon
check "reading the damaged file: Input/output error"
expect_err "Input/output error" cat "$M/artifacts/model/v1/a.bin"
grep -q "does not match its hash\|corrupt" "$DLOG" ||
	defect "the daemon log does not name the bad chunk"
check "the daemon is still up and the tree still lists"
ls "$M/artifacts/model/v1" >/dev/null || defect "listing failed after EIO"
check "fsck through the daemon reports it and exits 1"
rc=0
afs fsck >"$T/fsck.out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || defect "fsck exited $rc, want 1: $(cat "$T/fsck.out")"
stop_daemon
finish
