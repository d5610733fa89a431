#!/usr/bin/env bash
# tests/cli/hostile.sh - the daemon's command socket against a hostile
# local user with no role: malformed requests, descriptor floods, a FIFO
# where a file is expected, borrowed groups, a memory flood and a client
# that leaves mid-stream.  After each attack the daemon is alive and
# root's and another user's commands answer within seconds.
# $1 artifactfs, $2 ctl_harness (a store-less server of the same socket).
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh" "$@"
# shellcheck source=lib_daemon.sh
source "$(dirname "$0")/lib_daemon.sh"

HARNESS=$(realpath "${2:?usage: $0 artifactfs ctl_harness}")
PY=/usr/bin/python3
CLIENT=$(realpath "$(dirname "$0")/hostile_client.py")
daemon_possible && [ -x "$PY" ] || exit 77

# Short limits, so that the attacks end in seconds.
export ARTIFACTFS_CTL_STALL_MS=2000 ARTIFACTFS_CTL_HEADER_MS=2000
export ARTIFACTFS_CTL_PER_UID=8 ARTIFACTFS_CTL_QUEUE=32
U2=afs-ctl-test2
HPID=""
H=$T/h

ensure_user
make_user "$U2"
U2ID=$(id -u "$U2")
cp "$CLIENT" "$T/client.py"
chmod 0755 "$T"
afs init >/dev/null
echo small >"$T/small"
afs put small "$T/small" >/dev/null
start_daemon
SOCK=$S/daemon.sock

harness_cleanup() {
	[ -n "$HPID" ] || return 0
	kill -TERM "$HPID" 2>/dev/null
	wait_gone "$HPID" 50 || kill -KILL "$HPID" 2>/dev/null
	wait "$HPID" 2>/dev/null
	HPID=""
}
CLEANUP+=("harness_cleanup")

hostile() {
	as_user "$PY" "$T/client.py" "$@"
}

fd_count() {
	find "/proc/$DPID/fd" -mindepth 1 -maxdepth 1 | wc -l
}

# The daemon is up; root's ls and another user's command answer.
alive() {
	kill -0 "$DPID" 2>/dev/null || fail "the daemon died ($1)"
	timeout 10 "$AFS" --config "$T/empty.conf" --store "$S" ls \
		>/dev/null || fail "root's ls did not answer after $1"
	local rc=0
	(cd / && timeout 10 setpriv --reuid="$U2ID" --regid="$U2ID" \
		--clear-groups "$AFS" --config "$T/empty.conf" --store "$S" \
		ls >/dev/null 2>&1) || rc=$?
	[ "$rc" -ne 124 ] || fail "another user's ls hung after $1"
	echo "   daemon alive after $1"
}

check "(a) a non-string argv item, and the old unframed line: refused, exit 2"
hostile "$SOCK" nonstring
hostile "$SOCK" oldline
alive "malformed requests"

check "(b) 2,000 requests with 2 descriptors each: no descriptor leaks"
before=$(fd_count)
hostile "$SOCK" fds 2000
sleep 0.5
after=$(fd_count)
echo "   daemon descriptors: $before before, $after after"
[ "$after" -le $((before + 4)) ] || fail "the daemon leaked descriptors"
alive "descriptor flood"

check "(d) groups come from the socket (SO_PEERGROUPS), never /proc"
if command -v strace >/dev/null; then
	strace -f -qq -p "$DPID" -e trace=open,openat,getsockopt \
		-o "$T/strace.log" &
	SPID=$!
	sleep 1
	afs_user ls >/dev/null 2>&1 || true
	timeout 10 "$AFS" --config "$T/empty.conf" --store "$S" ls >/dev/null
	kill -INT "$SPID"
	wait "$SPID" 2>/dev/null || true
	grep -q SO_PEERCRED "$T/strace.log" || fail "strace saw no request"
	! grep -E '/proc/[0-9]+/status' "$T/strace.log" ||
		fail "the daemon read a caller's /proc/PID/status"
	echo "   no /proc/PID/status read while serving"
fi
mkdir -p "$H"
chmod 0755 "$H"
"$HARNESS" serve "$H" >"$T/harness.log" 2>&1 &
HPID=$!
for ((i = 0; i < 100; i++)); do
	[ -S "$H/daemon.sock" ] && break
	sleep 0.1
done
[ -S "$H/daemon.sock" ] || fail "the harness did not start"
"$PY" "$T/client.py" "$H/daemon.sock" groups "$TUID" "$TGID"
out=$(as_user "$HARNESS" run "$H" whoami)
[ "$out" = "$TUID $TGID" ] || fail "whoami without groups: $out"

check "(c) a FIFO where a file is expected: the client opens, the daemon refuses it"
mkdir -p "$T/u"
chown "$TUSER" "$T/u"
as_user mkfifo "$T/u/fifo"
start=$(date +%s)
expect_fail 1 as_user timeout 10 "$HARNESS" run "$H" open "$T/u/fifo"
expect_err_has "Invalid argument"
[ $(($(date +%s) - start)) -le 3 ] || fail "opening the FIFO took long"
# Files are opened with the caller's rights: the daemon (root) could.
expect_fail 1 as_user "$HARNESS" run "$H" open /etc/shadow
expect_err_has "Permission denied"
out=$(as_user "$HARNESS" run "$H" open /etc/hostname)
[ "$out" = "read $(stat -c %s /etc/hostname)" ] || fail "open: $out"
echo "   a raw client that never answers the file operation"
hostile "$H/daemon.sock" silent "$T/u/fifo" >"$T/silent.out" &
SILENT=$!
sleep 0.3
out=$(as_user timeout 5 "$HARNESS" run "$H" echo hi) ||
	fail "another request waited for the silent client"
[ "$out" = hi ] || fail "echo: $out"
wait "$SILENT" || fail "the silent client saw no file operation"
took=$(cat "$T/silent.out")
echo "   the daemon gave up on it after ${took} s"
awk -v t="$took" 'BEGIN { exit !(t >= 1.5 && t <= 6) }' ||
	fail "the stall limit did not end the request ($took s)"
# The commands open the caller's files through the client: a FIFO
# where a file is expected is refused, never waited on.
as_user mkfifo "$T/u/x.sig"
: >"$T/u/x"
: >"$T/u/k"
chown "$TUSER" "$T/u/x" "$T/u/k"
rc=0
as_user timeout 20 "$AFS" --config "$T/empty.conf" --store "$S" \
	audit verify --export "$T/u/x" --pubkey "$T/u/k" \
	>/dev/null 2>&1 || rc=$?
[ "$rc" -ne 124 ] || fail "audit verify on a FIFO hung"
alive "audit verify with a FIFO"
rc=0
as_user timeout 20 "$AFS" --config "$T/u/fifo" --store "$S" ls \
	>/dev/null 2>&1 || rc=$?
[ "$rc" -ne 124 ] || fail "a FIFO as --config hung"
alive "FIFO"

check "(g) run exec, init and mount sent raw are refused, never run as root"
hostile "$SOCK" rawcmd "$T/rawcmd.ran"
[ ! -e "$T/rawcmd.ran" ] || fail "the daemon ran a client's run exec CMD"
alive "raw commands"

check "(h) a flood of refusals: journaled up to the rate, the rest counted"
t0=$(date +%s.%N)
hostile "$SOCK" denials 1500
t1=$(date +%s.%N)
sleep 1.1
hostile "$SOCK" denials 1
q=$(afs audit query --user "$TUSER" --denied --json)
read -r rec supp cnt < <(printf '%s' "$q" | "$PY" -c '
import json, sys
rs = [r for r in json.load(sys.stdin) if r["path"] == "/artifacts/small"]
s = [r for r in rs if r["op"] == "denied.suppressed"]
print(len(rs) - len(s), len(s), sum(r["bytes"] for r in s))')
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a + 1.1 }')
echo "   1501 refusals in ${secs} s: $rec records, $supp count record(s) of $cnt"
awk -v r="$rec" -v s="$secs" 'BEGIN { exit !(r <= 100 + 20 * s + 5) }' ||
	fail "$rec refusal records in $secs s: not rate-limited"
[ "$supp" -ge 1 ] || fail "no denied.suppressed record"
[ $((rec + cnt)) -eq 1501 ] ||
	fail "refusals lost: $rec journaled + $cnt counted != 1501"
alive "refusal flood"

check "(e) 200 connections sending 1 MiB without an end: bounded memory, busy"
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$DPID/status"; }
rss0=$(rss)
rm -f "$T/u/flood.mark"
FLOOD_MARK=$T/u/flood.mark FLOOD_HOLD=1.5 hostile "$SOCK" flood 200 &
FPID=$!
for ((i = 0; i < 100; i++)); do
	[ -e "$T/u/flood.mark" ] && break
	sleep 0.1
done
rss1=$(rss)
wait "$FPID" || fail "the flood was not refused as busy"
echo "   daemon RSS ${rss0} KiB before, ${rss1} KiB under the flood"
[ "$rss1" -le $((rss0 + 200 * 1024)) ] || fail "the daemon's RSS grew too much"
sleep 2.5 # the admitted ones time out (header limit 2 s)
alive "memory flood"

check "(f) a put from /dev/zero whose client is killed stops"
cpu() { awk '{ print $14 + $15 }' "/proc/$DPID/stat"; }
cs=$(cpu)
"$AFS" --config "$T/empty.conf" --store "$S" put zero - </dev/zero \
	>/dev/null 2>&1 &
PUTPID=$!
sleep 1.5
ck=$(cpu)
kill -KILL "$PUTPID"
echo "   daemon CPU ticks $cs -> $ck while the put ran"
[ $((ck - cs)) -ge 20 ] || fail "the put did not run in the daemon"
wait "$PUTPID" 2>/dev/null || true
sleep 1.5
c0=$(cpu)
sleep 2
c1=$(cpu)
echo "   daemon CPU ticks $c0 -> $c1 over 2 s after the client left"
[ $((c1 - c0)) -le 50 ] || fail "the daemon kept reading /dev/zero"
alive "killed put"
afs_out=$("$AFS" --config "$T/empty.conf" --store "$S" ls)
case $afs_out in
*zero*) fail "a cut-off put was stored: $afs_out" ;;
esac

harness_cleanup
stop_daemon
echo "hostile: all passed"
