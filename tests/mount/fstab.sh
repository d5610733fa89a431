#!/usr/bin/env bash
# Mounting the way /etc/fstab and systemd do: `mount -t fuse.artifactfs
# STORE MNT -o allow_other` and an fstab line (through mount --fstab FILE,
# so /etc/fstab is never touched).  The mount helper scripts/mount.artifactfs
# is made visible as /sbin/mount.fuse.artifactfs by an overlay on /usr/sbin
# in a private mount namespace, which vanishes with the test.  If the
# artifactfs binary itself accepts `artifactfs STORE MNT -o OPTS` (what
# mount.fuse3 runs for fuse.artifactfs when there is no helper), that path
# is checked too, with artifactfs on the default PATH by an overlay on
# /usr/local/sbin.
if [ -z "${AFS_FSTAB_IN_NS:-}" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "SKIP: fstab: needs root"
		exit 77
	fi
	command -v unshare >/dev/null || {
		echo "SKIP: fstab: no unshare"
		exit 77
	}
	AFS_FSTAB_IN_NS=1 exec unshare -m --propagation private \
		bash "$0" "$@"
fi
source "$(dirname "$0")/lib.sh" "$@"
[ -x /sbin/mount.fuse3 ] || [ -x /sbin/mount.fuse ] || skip "no mount.fuse3"

afs init >/dev/null
echo "hello" >"$T/f.txt"
afs put ds "$T/f.txt" >/dev/null

# ASan output of a detached daemon would go to /dev/null: keep it.
export ASAN_OPTIONS="$ASAN_OPTIONS:log_path=$T/asan"
export ARTIFACTFS_BIN=$AFS

mkdir "$T/sbin" "$T/ovl-work"
cp "$SRC_ROOT/scripts/mount.artifactfs" "$T/sbin/mount.fuse.artifactfs"
chmod 0755 "$T/sbin/mount.fuse.artifactfs"
mount -t overlay overlay -o "lowerdir=$T/sbin:/usr/sbin" /usr/sbin 2>"$T/ovl.err" ||
	skip "cannot overlay /usr/sbin here: $(cat "$T/ovl.err")"
[ -x /sbin/mount.fuse.artifactfs ] || skip "the overlay does not show in /sbin"

# wait_daemon: waits until the detached daemon holds the store; its pid
# (from the store's lock file) goes to DPID for the cleanup.
wait_daemon() {
	local i pid
	for ((i = 0; i < 300; i++)); do
		pid=$(awk '{ print $1; exit }' "$S/lock" 2>/dev/null || true)
		if [ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null |
			grep -qF -- "$S $M"; then
			DPID=$pid
			return 0
		fi
		sleep 0.1
	done
	fail "no daemon holds the store 30 s after mount returned"
}

# unmount_daemon CMD...: unmounts with CMD; the daemon must exit.
unmount_daemon() {
	"$@" || fail "'$*' failed"
	! is_mounted "$M" || fail "$M still mounted after '$*'"
	wait_gone "$DPID" 300 || fail "daemon $DPID still running after '$*'"
	DPID=""
	if compgen -G "$T/asan.*" >/dev/null; then
		head -n 60 "$T"/asan.* >&2
		fail "sanitizer report from the daemon"
	fi
}

# is_ours: the mount at $M is artifactfs on $S, with allow_other.
check_mount() {
	local want_opt=$1 line
	line=$(findmnt -rn -o FSTYPE,SOURCE,OPTIONS --mountpoint "$M") ||
		fail "$M is not mounted"
	echo "   findmnt: $line"
	case $line in
	"fuse.artifactfs $S "*) ;;
	*) defect "findmnt shows '$line'" ;;
	esac
	case ",${line##* }," in
	*",$want_opt,"*) ;;
	*) defect "mount options lack $want_opt: $line" ;;
	esac
	[ "$(cat "$M/artifacts/ds/v1/f.txt")" = hello ] || defect "reading a version"
}

check "mount -t fuse.artifactfs STORE MNT -o allow_other (the helper)"
mount -t fuse.artifactfs "$S" "$M" -o allow_other ||
	fail "mount -t fuse.artifactfs failed"
wait_daemon
check_mount allow_other
ensure_user
setfacl -m "u:$TUSER:r-x" "$M/artifacts" || fail "setfacl"
[ "$(as_user cat "$M/artifacts/ds/v1/f.txt")" = hello ] ||
	defect "another user cannot read the mount (allow_other)"
mkdir -p "$M/pipelines/p/runs/r/steps/s/outputs"
echo out >"$M/pipelines/p/runs/r/steps/s/outputs/o.txt"
echo seal >"$M/pipelines/p/runs/r/control"
[ "$(cat "$M/artifacts/o.txt/v1/o.txt")" = out ] || defect "write and seal"

check "a second mount of the same store fails and says who holds it"
mkdir "$T/mnt2"
rc=0
mount -t fuse.artifactfs "$S" "$T/mnt2" -o allow_other 2>"$T/m2.err" || rc=$?
echo "   exit $rc: $(cat "$T/m2.err")"
[ "$rc" -ne 0 ] || defect "a second mount succeeded"
grep -q "pid $DPID" "$T/m2.err" || defect "the message does not name pid $DPID"
! is_mounted "$T/mnt2" || fusermount3 -u "$T/mnt2"

check "umount ends the daemon"
unmount_daemon umount "$M"

check "an fstab line: STORE MNT fuse.artifactfs ro,allow_other,noauto,nofail,_netdev 0 0"
printf '%s %s fuse.artifactfs ro,allow_other,noauto,nofail,_netdev 0 0\n' \
	"$S" "$M" >"$T/fstab"
cat "$T/fstab"
mount --fstab "$T/fstab" "$M" || fail "mount --fstab failed"
wait_daemon
check_mount ro
expect_err "Read-only file system" mkdir "$M/pipelines/q"
[ "$(cat "$M/artifacts/o.txt/v1/o.txt")" = out ] || defect "reading the ro mount"
unmount_daemon fusermount3 -u "$M"

check "mount -f (fake) runs nothing"
mount -f -t fuse.artifactfs "$S" "$M" -o allow_other || defect "mount -f failed"
! is_mounted "$M" || defect "mount -f mounted"

check "the helper refuses bad arguments"
expect_err "usage" /sbin/mount.fuse.artifactfs "$S"
expect_err "unexpected argument" /sbin/mount.fuse.artifactfs "$S" "$M" extra

check "without the helper: mount.fuse3 runs 'artifactfs STORE MNT -o OPTS'"
"$AFS" --config "$T/empty.conf" "$T/nostore" "$T/nomnt" -o allow_other \
	>"$T/direct.out" 2>&1 || true
if grep -q "unknown command" "$T/direct.out"; then
	echo "   skipped: this artifactfs does not take that form yet:" \
		"$(head -n1 "$T/direct.out")"
else
	umount /usr/sbin
	[ ! -e /sbin/mount.fuse.artifactfs ] || fail "the helper is still visible"
	mkdir "$T/lsbin"
	ln -s "$AFS" "$T/lsbin/artifactfs"
	mount -t overlay overlay -o "lowerdir=$T/lsbin:/usr/local/sbin" \
		/usr/local/sbin || fail "cannot overlay /usr/local/sbin"
	mount -t fuse.artifactfs "$S" "$M" -o allow_other ||
		fail "mount -t fuse.artifactfs through mount.fuse3 failed"
	wait_daemon
	check_mount allow_other
	unmount_daemon umount "$M"
fi

finish
