# shellcheck shell=bash
# tests/cli/lib_daemon.sh - for command-line tests that act as another
# user (sourced after lib.sh, not run).
#
# The store is root's, so another user's command reaches it only through
# the mount daemon, which runs the command with the caller's identity (it
# learns it from the socket).  These helpers mount $S on $T/mnt with the
# daemon in the foreground as a child of the test ($DPID, log in $DLOG)
# and run commands as an unprivileged test user (the one tests/mount uses).
# The EXIT trap of lib.sh calls daemon_cleanup: it unmounts with
# fusermount3 and waits for $DPID (TERM, then KILL, after a grace period),
# and ends no process but the one it started.
#
# daemon_possible   true when this test may mount and switch users
# start_daemon      mounts $S (the store must exist and not be held)
# stop_daemon       unmounts and checks the daemon exited 0, log clean
# ensure_user       makes the test user ($TUSER, $TUID, $TGID) once
# as_user CMD...    CMD as the test user, no supplementary groups
# afs_user ARGS...  artifactfs on $S as the test user

M=$T/mnt
DPID=""
DLOG=$T/daemon.log
TUSER=afs-mount-test
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

daemon_possible() {
	[ "$(id -u)" -eq 0 ] && [ -c /dev/fuse ] &&
		command -v fusermount3 >/dev/null &&
		command -v setpriv >/dev/null &&
		command -v useradd >/dev/null
}

# shellcheck source=../daemon_proc.sh
. "$(dirname "${BASH_SOURCE[0]}")/../daemon_proc.sh"

daemon_cleanup() {
	end_daemon "$M" "$DPID"
	DPID=""
}
CLEANUP+=("daemon_cleanup")

start_daemon() {
	local i
	[ -z "$DPID" ] || fail "start_daemon: daemon $DPID already running"
	mkdir -p "$M"
	# The test user must reach the socket in the store directory.
	chmod 0755 "$T"
	"$AFS" --config "$T/empty.conf" mount --store "$S" "$M" -f \
		-o allow_other >"$DLOG" 2>&1 &
	DPID=$!
	for ((i = 0; i < 300; i++)); do
		if is_mounted "$M" && [ -S "$S/daemon.sock" ]; then
			return 0
		fi
		if ! kill -0 "$DPID" 2>/dev/null; then
			wait "$DPID" || true
			DPID=""
			cat "$DLOG" >&2
			fail "the daemon exited before mounting $M"
		fi
		sleep 0.1
	done
	fail "$M not mounted after 30 s"
}

stop_daemon() {
	local i rc=0
	[ -n "$DPID" ] || fail "stop_daemon: no daemon"
	for ((i = 0; i < 50; i++)); do
		fusermount3 -u "$M" 2>/dev/null && break
		sleep 0.2
	done
	is_mounted "$M" && fail "cannot unmount $M"
	wait_gone "$DPID" 300 || fail "daemon $DPID still running after unmount"
	wait "$DPID" || rc=$?
	DPID=""
	if grep -Eq 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:' \
		"$DLOG"; then
		grep -E -A30 'Sanitizer|runtime error:' "$DLOG" | head -60 >&2
		fail "sanitizer report in the daemon log"
	fi
	[ "$rc" -eq 0 ] || fail "the daemon exited $rc after unmount"
}

ensure_user() {
	make_user "$TUSER"
	TUID=$(id -u "$TUSER")
	TGID=$(id -g "$TUSER")
}

as_user() {
	(cd / && setpriv --reuid="$TUID" --regid="$TGID" --clear-groups \
		env HOME=/ PATH=/usr/local/bin:/usr/bin:/bin LC_ALL=C \
		ASAN_OPTIONS="$ASAN_OPTIONS" "$@")
}

afs_user() {
	as_user "$AFS" --config "$T/empty.conf" --store "$S" "$@"
}
