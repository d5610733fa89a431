#!/usr/bin/env bash
# Reaching a store that is not mounted, and the moment right after mount:
# - another user's store: one line saying to go through its mount;
# - a store on read-only media: listed, read and verified, every change
#   refused with EROFS, nothing written there;
# - `mount` (detached) returns once its daemon serves: a command typed
#   right after it goes to the daemon, never finds the store half taken;
#   a daemon that cannot start makes `mount` fail with its reason.
# Needs root (a read-only tmpfs, another user, FUSE); skipped without.
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh" "$@"
# shellcheck source=tests/cli/lib_daemon.sh
source "$(dirname "$0")/lib_daemon.sh"

daemon_possible || exit 77
ensure_user
RO=$T/ro
mkdir -p "$RO"
ro_cleanup() {
	mountpoint -q "$RO" && umount "$RO"
	return 0
}
CLEANUP+=("ro_cleanup")

afs init >/dev/null
printf 'one\n' >"$T/one.txt"
afs put data "$T/one.txt" >/dev/null
chmod 0755 "$T"

check "another user's store, not mounted: one line, no lock file touched"
expect_fail 1 afs_user ls
expect_err_has "belongs to uid 0 and is not mounted"
expect_err_has "artifactfs mount"

check "a store on read-only media: read, listed, verified; changes EROFS"
mount -t tmpfs -o size=64m tmpfs "$RO"
cp -a "$S" "$RO/store"
cp -a "$S.keys" "$RO/store.keys"
mount -o remount,ro "$RO"
ro() { "$AFS" --config "$T/empty.conf" --store "$RO/store" "$@"; }
ro ls | grep -q '^data ' || fail "ls of the read-only store"
[ "$(ro cat data)" = one ] || fail "cat of the read-only store"
ro fsck | grep -q clean || fail "fsck of the read-only store"
ro audit verify | grep -q 'journal intact' ||
	fail "audit verify of the read-only store"
before=$(find "$RO" -type f -exec sha256sum {} + | sort)
expect_fail 1 ro put more "$T/one.txt"
expect_err_has "read-only media"
expect_fail 1 ro alias set data prod v1
expect_err_has "read-only media"
after=$(find "$RO" -type f -exec sha256sum {} + | sort)
[ "$before" = "$after" ] || fail "a file changed on the read-only store"
umount "$RO"

check "mount returns once the daemon serves: the next command reaches it"
mkdir -p "$M"
for i in 1 2 3 4 5; do
	"$AFS" --config "$T/empty.conf" --store "$S" mount "$M" \
		-o allow_other || fail "mount $i"
	out=$(afs ls 2>&1) || fail "ls right after mount $i: $out"
	case $out in *"in use"*) fail "ls right after mount $i: $out" ;; esac
	out=$(afs_user ls 2>&1) || fail "a user's ls after mount $i: $out"
	fusermount3 -u "$M" || fail "unmount $i"
	# The daemon lets go of the store once unmounted.
	for ((w = 0; w < 100; w++)); do
		[ "$(cat "$S/lock" 2>/dev/null)" = "" ] && break
		"$AFS" --config "$T/empty.conf" --store "$S" ls \
			>/dev/null 2>&1 && break
		sleep 0.1
	done
done

check "a daemon that cannot start makes mount fail, saying why"
mv "$S/db" "$S/db.away"
set +e
"$AFS" --config "$T/empty.conf" --store "$S" mount "$M" >"$T/m.out" \
	2>"$T/m.err"
rc=$?
set -e
mv "$S/db.away" "$S/db"
mountpoint -q "$M" && fusermount3 -u "$M"
[ "$rc" -ne 0 ] || fail "mount of a broken store exited 0"
grep -q 'cannot open the store' "$T/m.err" ||
	fail "mount said: $(cat "$T/m.err")"
echo "   -> $(head -1 "$T/m.err")"
echo "PASS: access"
