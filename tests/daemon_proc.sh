# shellcheck shell=bash
# tests/daemon_proc.sh - ending a mount daemon a test started, and the
# test users (sourced by tests/mount/lib.sh and tests/cli/lib_daemon.sh,
# not run).
#
# make_user NAME       makes the system user NAME once (no home; kept
#                      between runs; parallel tests take turns)
# is_mounted MNT       true while MNT is a mount point of this namespace
# wait_gone PID N      waits up to N tenths of a second for PID to end
# end_daemon MNT PID   unmounts MNT (lazily if it is busy), waits 30 s
#                      for PID, then TERM and KILL; ends no other process

is_mounted() {
	grep -q " $1 " /proc/self/mountinfo
}

wait_gone() {
	local i
	for ((i = 0; i < $2; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	! kill -0 "$1" 2>/dev/null
}

end_daemon() {
	if is_mounted "$1"; then
		fusermount3 -u "$1" 2>/dev/null || fusermount3 -uz "$1"
	fi
	[ -n "$2" ] || return 0
	if ! wait_gone "$2" 300; then
		echo "cleanup: daemon $2 still running; TERM" >&2
		kill -TERM "$2" 2>/dev/null
		wait_gone "$2" 50 || kill -KILL "$2" 2>/dev/null
	fi
	wait "$2" 2>/dev/null
}

make_user() {
	(
		flock 9
		id -u "$1" >/dev/null 2>&1 ||
			useradd -M -N -r -d / -s /usr/sbin/nologin "$1"
	) 9>/tmp/afs-mount-test-user.lock
}
