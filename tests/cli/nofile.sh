#!/usr/bin/env bash
# A store that has seen many commands, opened by a process with a small
# limit of open files: every command that stored a chunk of 4 KiB or more
# left a blob file and table files behind, and the store keeps at most
# half the limit open (store/db.c), so it still opens, checks and reads.
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

N=70
LIM=100
afs init >/dev/null
mkdir "$T/in"
for ((i = 1; i <= N; i++)); do
	head -c 8192 /dev/urandom >"$T/in/f$i"
	afs put "a$i" "$T/in/f$i" >/dev/null || fail "put a$i"
done

check "the store holds more files than the limit"
files=$(find "$S/db" -type f | wc -l)
[ "$files" -gt $((LIM + 10)) ] ||
	fail "only $files files in the store's database: the test shows nothing"

check "with ulimit -n $LIM: fsck, cat, ls and put"
(
	ulimit -n $LIM
	afs fsck >"$T/fsck.out" 2>&1 || fail "fsck: $(tail -n 1 "$T/fsck.out")"
	grep -q "clean" "$T/fsck.out" || fail "fsck: $(cat "$T/fsck.out")"
	for ((i = 1; i <= N; i++)); do
		afs cat "a$i" 2>"$T/cat.err" | cmp -s - "$T/in/f$i" ||
			fail "cat a$i: $(cat "$T/cat.err")"
	done
	[ "$(afs ls | grep -c '^a[0-9]')" -eq $N ] || fail "ls lists fewer than $N"
	head -c 8192 /dev/urandom >"$T/in/last"
	afs put last "$T/in/last" >/dev/null || fail "put under the limit"
	afs cat last | cmp -s - "$T/in/last" || fail "cat last"
)
echo "PASS"
