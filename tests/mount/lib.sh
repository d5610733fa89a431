# shellcheck shell=bash
# tests/mount/lib.sh - shared by the mount tests (sourced, not run).
#
# Usage in a test:  source "$(dirname "$0")/lib.sh" "$@"
# $1 is the artifactfs binary.  A test needs root and /dev/fuse, and exits
# 77 (skipped) without them.  Each test works in its own mktemp -d
# directory $T (mode 0755 so that the unprivileged test user can reach the
# mount point under it):
#   $S  the store            $M  the mount point
# The daemon runs in the foreground as a background child of the test
# ($DPID, log in $DLOG); the EXIT trap unmounts $M with fusermount3, then
# waits for that pid (TERM, then KILL, after a grace period: never anything
# but the pid it started), then removes $T without crossing into a mount.
#
# check MSG      says what the next lines check
# fail MSG       stops the test (exit 1) and shows the daemon's log
# defect MSG     records a failed check but goes on; the test fails at the
#                end (finish) listing every defect
# finish         prints PASS, or the defects and exit 1

set -euo pipefail

AFS=${1:?usage: $0 path/to/artifactfs}
AFS=$(realpath "$AFS")
TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC_ROOT=$(cd "$TESTS_DIR/../.." && pwd)
TEST_NAME=$(basename "$0" .sh)

skip() {
	echo "SKIP: $TEST_NAME: $*"
	exit 77
}

[ "$(id -u)" -eq 0 ] || skip "needs root (FUSE mounts, allow_other, setpriv)"
[ -c /dev/fuse ] || skip "no /dev/fuse"
command -v fusermount3 >/dev/null || skip "no fusermount3"
command -v mountpoint >/dev/null || skip "no mountpoint (util-linux)"

# The build uses ASan/UBSan: keep leak detection on (a leak at the
# daemon's exit fails the test), unless the caller chose otherwise.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
export LC_ALL=C
unset ARTIFACTFS_STORE

# The system python, not a per-user shim the test user cannot reach.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)

T=$(mktemp -d "${TMPDIR:-/tmp}/afs-mount.XXXXXX")
chmod 0755 "$T"
S=$T/store
M=$T/mnt
mkdir "$M"
: >"$T/empty.conf"
export HOME=$T/home
mkdir -p "$HOME"

DPID=""
DLOG=""
NDAEMON=0
DEFECTS=()
CLEANUP=()

# shellcheck source=../daemon_proc.sh
. "$TESTS_DIR/../daemon_proc.sh"

cleanup() {
	local rc=$? i
	set +e
	for ((i = ${#CLEANUP[@]} - 1; i >= 0; i--)); do
		eval "${CLEANUP[i]}"
	done
	end_daemon "$M" "$DPID"
	rm -rf --one-file-system "$T"
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		echo "FAILED: $TEST_NAME (exit $rc)" >&2
	fi
	exit "$rc"
}
trap cleanup EXIT

check() {
	echo "== $*"
}

show_log() {
	if [ -n "$DLOG" ] && [ -s "$DLOG" ]; then
		echo "--- daemon log ($DLOG), last 40 lines:" >&2
		tail -n 40 "$DLOG" >&2
	fi
}

fail() {
	echo "FAIL: $TEST_NAME: $*" >&2
	show_log
	exit 1
}

defect() {
	echo "DEFECT: $*" >&2
	DEFECTS+=("$*")
}

finish() {
	local d
	if [ ${#DEFECTS[@]} -gt 0 ]; then
		echo "FAIL: $TEST_NAME: ${#DEFECTS[@]} failed check(s):" >&2
		for d in "${DEFECTS[@]}"; do
			echo "  - $d" >&2
		done
		exit 1
	fi
	echo "PASS: $TEST_NAME"
}

# artifactfs on the test store (the command line, not the mount).
afs() {
	"$AFS" --config "$T/empty.conf" --store "$S" "$@"
}

# start_daemon [-o OPTS]...: mounts $S on $M in the foreground, as a
# background child, and waits (30 s at most) until $M is a mount point.
# The daemon reads the configuration file $DCONF (default: an empty one).
start_daemon() {
	local i j
	[ -z "$DPID" ] || fail "start_daemon: daemon $DPID already running"
	NDAEMON=$((NDAEMON + 1))
	DLOG=$T/daemon.$NDAEMON.log
	"$AFS" --config "${DCONF:-$T/empty.conf}" mount --store "$S" "$M" -f \
		-o allow_other "$@" >"$DLOG" 2>&1 &
	DPID=$!
	# The daemon mounts, then opens its command socket in the store (if
	# it can): until then a command would find the store in use.
	for ((i = 0; i < 300; i++)); do
		if mountpoint -q "$M"; then
			for ((j = 0; j < 50; j++)); do
				[ -S "$S/daemon.sock" ] && break
				sleep 0.1
			done
			return 0
		fi
		if ! kill -0 "$DPID" 2>/dev/null; then
			wait "$DPID" || true
			DPID=""
			fail "the daemon exited before mounting $M"
		fi
		sleep 0.1
	done
	fail "$M not mounted after 30 s"
}

# Fails on sanitizer reports in the daemon's log.
check_daemon_log() {
	if grep -Eq 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:' \
		"$DLOG"; then
		grep -E -A30 'Sanitizer|runtime error:' "$DLOG" | head -60 >&2
		fail "sanitizer report in the daemon log $DLOG"
	fi
}

# stop_daemon: unmounts $M (fusermount3 -u; retried while busy) and waits
# for the daemon, which must exit 0 with a clean log.
stop_daemon() {
	local i rc=0
	[ -n "$DPID" ] || fail "stop_daemon: no daemon"
	for ((i = 0; i < 50; i++)); do
		fusermount3 -u "$M" 2>"$T/umount.err" && break
		sleep 0.2
	done
	is_mounted "$M" && fail "cannot unmount $M: $(cat "$T/umount.err")"
	wait_gone "$DPID" 300 || fail "daemon $DPID still running 30 s after unmount"
	wait "$DPID" || rc=$?
	DPID=""
	check_daemon_log
	[ "$rc" -eq 0 ] || fail "the daemon exited $rc after unmount"
}

# kill_daemon: kill -9 of the daemon, then a lazy unmount of the dead
# mount (a crash, as the kernel sees it).
kill_daemon() {
	[ -n "$DPID" ] || fail "kill_daemon: no daemon"
	kill -KILL "$DPID"
	wait "$DPID" 2>/dev/null || true
	DPID=""
	fusermount3 -u -z "$M" || fail "lazy unmount of the dead mount failed"
	! is_mounted "$M" || fail "$M still mounted after the lazy unmount"
}

# expect_err TEXT CMD...: CMD must fail and say TEXT on stderr.
expect_err() {
	local want=$1 rc=0
	shift
	"$@" >"$T/.out" 2>"$T/.err" || rc=$?
	if [ "$rc" -eq 0 ]; then
		defect "'$*' succeeded; want an error with '$want'"
		return 0
	fi
	if ! grep -qF -- "$want" "$T/.err"; then
		defect "'$*' failed (exit $rc) without '$want': $(head -c 300 "$T/.err")"
		return 0
	fi
	echo "   ok: $(head -n1 "$T/.err")"
}

# expect_errno NAME PYEXPR: python statements (os imported, M set) must
# raise OSError with errno NAME (or one of "A|B").
expect_errno() {
	local want=$1 code=$2 got
	got=$("$PY" - "$M" <<EOF 2>&1
import errno, os, sys
M = sys.argv[1]
try:
$(printf '%s\n' "$code" | sed 's/^/    /')
    print("no error")
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))
EOF
) || true
	case "|$want|" in
	*"|$got|"*) echo "   ok: $got from: $code" ;;
	*) defect "'$code' gave $got, want $want" ;;
	esac
}

# daemon_kib FIELD: the daemon's VmHWM, VmRSS... (KiB) from its status.
daemon_kib() {
	awk -v f="$1:" '$1 == f {print $2}' "/proc/$DPID/status"
}

# sha FILE: its SHA-256 in hex.
sha() {
	sha256sum "$1" | cut -d' ' -f1
}

# mkrandom FILE BYTES
mkrandom() {
	head -c "$2" /dev/urandom >"$1"
}

# --------------------------------------------------- the unprivileged user

TUSER=afs-mount-test

# ensure_user: makes the test user once (useradd -M; kept between runs).
ensure_user() {
	command -v setpriv >/dev/null || skip "no setpriv"
	command -v useradd >/dev/null || skip "no useradd"
	make_user "$TUSER"
	TUID=$(id -u "$TUSER")
	TGID=$(id -g "$TUSER")
}

# as_user CMD...: runs CMD as the test user, no supplementary groups.
# (From /: the test's working directory may be closed to that user.)
as_user() {
	(cd / && setpriv --reuid="$TUID" --regid="$TGID" --clear-groups \
		env HOME=/ PATH=/usr/local/bin:/usr/bin:/bin LC_ALL=C "$@")
}
