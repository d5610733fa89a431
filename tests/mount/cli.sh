#!/usr/bin/env bash
# The command line while the store is mounted: the daemon holds the store,
# and every command goes through it (the socket in the store directory),
# with the caller's identity and working directory.
source "$(dirname "$0")/lib.sh" "$@"

afs init >/dev/null
mkrandom "$T/a.bin" $((3 << 20))
start_daemon
[ -S "$S/daemon.sock" ] || fail "no command socket in the store"

check "put, ls, cat, stats while mounted"
out=$(afs put model "$T/a.bin") || fail "put through the daemon failed"
echo "   $out"
[[ $out == model@v1\ sha256:* ]] || defect "put printed '$out'"
[ -f "$M/artifacts/model/v1/a.bin" ] || defect "the new version is not in the mount"
[ "$(sha "$M/artifacts/model/v1/a.bin")" = "$(sha "$T/a.bin")" ] ||
	defect "the mount reads other bytes than were put"
afs ls model | grep -q '^v1 ' || defect "ls does not list v1"
afs ls --json | python3 -c 'import json,sys; json.load(sys.stdin)' ||
	defect "ls --json is not JSON"
[ "$(afs cat model@v1 | sha256sum | cut -d' ' -f1)" = "$(sha "$T/a.bin")" ] ||
	defect "cat through the daemon returned other bytes"
afs stats | grep -q '^versions *1' || defect "stats does not count 1 version"

check "a relative path is the caller's, and errors come back as one line"
(cd "$T" && afs put rel a.bin >/dev/null) || defect "put of a relative path failed"
expect_err "no such version" afs cat model@v9
rc=0
afs cat model@v9 >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 1 ] || defect "cat of an unknown version exited $rc, want 1"

check "an alias set through the daemon shows at once in the mount"
afs put model "$T/a.bin" >/dev/null
afs alias set model production v1 >/dev/null || defect "alias set failed"
[ "$(readlink "$M/artifacts/model/production")" = v1 ] ||
	defect "production is not -> v1"
[ "$(readlink "$M/artifacts/model/latest")" = v2 ] || defect "latest is not -> v2"
afs alias set model production v2 >/dev/null
[ "$(readlink "$M/artifacts/model/production")" = v2 ] ||
	defect "production did not move to v2 in the mount"

check "run open, writes through the mount, run seal; fsck"
afs run open train/r1 fit >/dev/null || defect "run open failed"
cp "$T/a.bin" "$M/pipelines/train/runs/r1/steps/fit/outputs/weights.bin"
afs run seal train/r1 | grep -q sealed || defect "run seal failed"
[ "$(sha "$M/artifacts/weights.bin/v1/weights.bin")" = "$(sha "$T/a.bin")" ] ||
	defect "the sealed output is not a version"
expect_err "Read-only file system" \
	cp "$T/a.bin" "$M/pipelines/train/runs/r1/steps/fit/outputs/again.bin"
afs fsck >"$T/fsck.out" 2>&1 || {
	cat "$T/fsck.out"
	defect "fsck through the daemon found problems"
}
grep -q clean "$T/fsck.out" || defect "fsck did not say clean"
afs run ls --json | python3 -c '
import json, sys
runs = json.load(sys.stdin)
assert [r["status"] for r in runs] == ["sealed"], runs' ||
	defect "run ls --json does not show the sealed run"

check "the daemon acts as the caller: a user cannot put what it cannot read"
ensure_user
# A writer on /artifacts: what stops the put below is the file's mode.
setfacl -m "u:$TUSER:rwx" "$M/artifacts" || fail "setfacl"
chmod 600 "$T/a.bin"
chmod 755 "$T"
as_user "$AFS" --config "$T/empty.conf" --store "$S" put stolen "$T/a.bin" \
	>"$T/user.out" 2>&1 && defect "the user put a file it cannot read"
grep -q "Permission denied" "$T/user.out" ||
	defect "no 'Permission denied': $(cat "$T/user.out")"
as_user "$AFS" --config "$T/empty.conf" --store "$S" run seal train/r1 \
	>"$T/user.out" 2>&1 && defect "the user ended root's run"
echo "   ok: $(head -n1 "$T/user.out")"
mkdir -m 777 "$T/out"
as_user "$AFS" --config "$T/empty.conf" --store "$S" get model@v1 "$T/out/x" ||
	defect "get by the user failed"
[ "$(stat -c %u "$T/out/x/a.bin" 2>/dev/null || stat -c %u "$T/out/x")" = "$TUID" ] ||
	defect "get did not write the files as the user"

check "a second mount is refused while mounted"
mkdir -p "$T/mnt2"
expect_err "in use by pid $DPID" afs mount "$T/mnt2"
stop_daemon
[ ! -e "$S/daemon.sock" ] || defect "the socket is still there after unmount"

check "a relative --store mounts detached (the daemon leaves for /)"
(cd "$(dirname "$S")" &&
	"$AFS" --config "$T/empty.conf" --store "./$(basename "$S")" mount \
		"$T/mnt2" -o allow_other) >"$T/rel.out" 2>&1 ||
	defect "mount with a relative --store failed: $(cat "$T/rel.out")"
RPID=$(head -c 31 "$S/lock" 2>/dev/null | tr -dc 0-9)
CLEANUP+=("fusermount3 -u '$T/mnt2' 2>/dev/null; [ -n '$RPID' ] && wait_gone '$RPID' 100")
[ -f "$T/mnt2/artifacts/model/v2/a.bin" ] ||
	defect "the detached daemon does not show model/v2"
afs ls model | grep -q '^v2 ' || defect "ls through the detached daemon failed"
grep -q "^$S " /proc/mounts ||
	defect "the mount's source is not the store's absolute path: $(grep "$T/mnt2" /proc/mounts)"
fusermount3 -u "$T/mnt2" || defect "cannot unmount $T/mnt2"
[ -n "$RPID" ] && { wait_gone "$RPID" 100 || defect "daemon $RPID still running"; }
[ ! -e "$S/daemon.sock" ] || defect "the socket is still there after unmount"
afs ls model | grep -q '^v2 ' || defect "unmounted, the CLI does not see v2"
finish
