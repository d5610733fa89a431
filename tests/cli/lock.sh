#!/usr/bin/env bash
# One process holds the store: a second one is refused with a message that
# names the holder's pid, and succeeds once the holder is gone.
#
# The holder is a real `artifactfs put` reading its content from standard
# input, fed through a named pipe that this script keeps open.
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

afs init >/dev/null
mkfifo "$T/pipe"

check "a put streaming from a pipe holds the store"
"$AFS" --config "$T/empty.conf" --store "$S" put held - --name held.txt \
	<"$T/pipe" >"$T/held.out" 2>"$T/held.err" &
holder=$!
CLEANUP+=("kill $holder 2>/dev/null; wait $holder 2>/dev/null")
exec 3>"$T/pipe"
echo "first line" >&3

# Wait (up to 20 s) until the holder has the store.  Probing with another
# artifactfs command would race with it for the lock, so read the pid the
# holder writes into the lock file (store/FORMAT.md) instead.
for _ in $(seq 200); do
	[ "$(cat "$S/lock" 2>/dev/null)" = "$holder" ] && break
	kill -0 "$holder" 2>/dev/null ||
		fail "holder exited early: $(cat "$T/held.err")"
	sleep 0.1
done
[ "$(cat "$S/lock" 2>/dev/null)" = "$holder" ] ||
	fail "holder did not take the store within 20 s"

check "a second process gets one line naming pid $holder"
expect_fail 1 afs ls
expect_err_has "$holder"
expect_fail 1 afs put other "$T/pipe.none"
expect_fail 1 afs fsck

check "once the holder ends, its version is there and the store is free"
echo "second line" >&3
exec 3>&-
wait "$holder" || fail "holder put failed: $(cat "$T/held.err")"
CLEANUP=()
cat "$T/held.out"
grep -q '^held@v1 sha256:' "$T/held.out" || fail "holder output"
[ "$(afs cat held)" = "$(printf 'first line\nsecond line')" ] ||
	fail "held content"
afs fsck | grep -q ': clean$' || fail "fsck after the holder"

check "a mount daemon that does not answer yet is waited for, not refused"
# What a restarted daemon looks like while it checks its journal: the
# lock held with " serving" after its pid, no socket answering.  Here
# flock(1) holds it for 2 s; the command waits, says so, then opens the
# store itself once the lock is free.
echo "$$ serving" >"$S/lock"
flock "$S/lock" sleep 2 &
fake=$!
CLEANUP+=("kill $fake 2>/dev/null; wait $fake 2>/dev/null")
sleep 0.3
t0=$(date +%s%N)
out=$(afs ls 2>"$T/wait.err") || fail "ls while a daemon starts: $(cat "$T/wait.err")"
ms=$((($(date +%s%N) - t0) / 1000000))
wait "$fake"
CLEANUP=()
grep -q 'does not answer yet' "$T/wait.err" ||
	fail "no word of the wait: $(cat "$T/wait.err")"
((ms >= 1000)) || fail "ls returned after $ms ms: it did not wait"
case $out in *held*) ;; *) fail "ls after the wait: $out" ;; esac

echo "PASS"
