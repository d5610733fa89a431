#!/usr/bin/env bash
# A full disk: a put that does not fit fails with one clear line, commits
# nothing, and leaves the store consistent (fsck clean) with every earlier
# version readable.  Needs root to mount a small tmpfs (skipped otherwise).
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: needs root to mount a tmpfs"
	exit 77
fi
mkdir "$T/mnt"
if ! mount -t tmpfs -o size=40m tmpfs "$T/mnt" 2>"$T/mount.err"; then
	echo "SKIP: cannot mount a tmpfs: $(cat "$T/mount.err")"
	exit 77
fi
CLEANUP+=("umount '$T/mnt'")
S=$T/mnt/store # used by afs()
export S
check "a store on a 40 MiB tmpfs with one small version"
afs init >/dev/null
head -c $((1024 * 1024)) /dev/urandom >"$T/small.bin"
afs put small "$T/small.bin" >/dev/null
want=$(sha "$T/small.bin")

check "putting 100 MiB fails with one line about the full disk"
head -c $((100 * 1024 * 1024)) /dev/urandom >"$T/big.bin"
expect_fail 1 afs put big "$T/big.bin"
expect_err_has "space"
df -h "$T/mnt" | tail -1

check "nothing was committed, fsck is clean, v1 reads back intact"
expect_fail 1 afs ls big
afs ls | grep -q '^big ' && fail "big was published"
afs fsck | tee "$T/fsck.out"
grep -q ': clean$' "$T/fsck.out" || fail "fsck after ENOSPC"
[ "$(afs cat small@v1 | sha256sum | cut -d' ' -f1)" = "$want" ] ||
	fail "small@v1 changed"

check "gc reclaims the partial upload; the store works again"
afs gc
afs fsck | grep -q ': clean$' || fail "fsck after gc"
head -c $((2 * 1024 * 1024)) /dev/urandom >"$T/again.bin"
afs put small "$T/again.bin" | grep -q '^small@v2 ' || fail "put after gc"
afs cat small@v2 | cmp - "$T/again.bin"
[ "$(afs cat small@v1 | sha256sum | cut -d' ' -f1)" = "$want" ] ||
	fail "small@v1 changed after gc"

echo "PASS"
