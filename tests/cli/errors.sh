#!/usr/bin/env bash
# Every failure is one clear line on stderr and a non-zero exit: 1 for a
# runtime failure, 2 for a usage error.
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

check "a command on a missing store says so"
expect_fail 1 afs ls
expect_err_has "no store at $S"

afs init >/dev/null
echo "model bytes" >"$T/m.bin"
afs put model "$T/m.bin" >/dev/null

check "unknown ref, artifact, alias and path"
expect_fail 1 afs cat model@v9
expect_err_has "model@v9"
expect_fail 1 afs cat model@staging
expect_fail 1 afs cat nosuch@v1
expect_fail 1 afs cat nosuch
expect_fail 1 afs ls nosuch
expect_fail 1 afs ls model@v9
expect_fail 1 afs get model@v9 "$T/out"
[ ! -e "$T/out" ] || fail "get of an unknown ref created DEST"
expect_fail 1 afs cat model@v1/no/such/file
expect_fail 1 afs cat model@v1/../../etc/passwd
expect_fail 1 afs alias set model prod v7
expect_fail 1 afs alias rm model prod
expect_fail 1 afs alias ls nosuch

check "bad artifact names are refused with one line"
expect_fail 1 afs put 'a/b' "$T/m.bin"
expect_err_has "a/b"
long=$(printf 'x%.0s' $(seq 300))
expect_fail 1 afs put "$long" "$T/m.bin"
expect_err_has "255"
expect_fail 1 afs put .. "$T/m.bin"
expect_fail 1 afs put "$(printf 'bad\tname')" "$T/m.bin"
expect_fail 1 afs cat "$long@v1"
expect_fail 1 afs alias set model latest v1
expect_fail 1 afs alias set model v3 v1
expect_fail 2 afs put model "$T/m.bin" --run not-a-run

check "a missing or special source fails the put, nothing is published"
expect_fail 1 afs put model "$T/does-not-exist"
expect_err_has "does-not-exist"
mkfifo "$T/fifo"
expect_fail 1 afs put model "$T/fifo"
[ "$(afs ls model | grep -c '^v')" = 1 ] || fail "a failed put made a version"
expect_fail 2 afs put model "$T/m.bin" "$T/m.bin"
expect_err_has "named"

check "a failed write to standard output is one line, exit 1"
for cmd in "ls" "ls model" "cat model" "stats --json"; do
	set +e
	# shellcheck disable=SC2086
	afs $cmd >/dev/full 2>"$T/full.err"
	rc=$?
	set -e
	[ "$rc" -eq 1 ] || fail "'$cmd >/dev/full' exited $rc"
	[ "$(wc -l <"$T/full.err")" -eq 1 ] ||
		fail "'$cmd >/dev/full' said: $(cat "$T/full.err")"
	echo "   -> $(cat "$T/full.err")"
done

check "usage errors exit 2 with one line"
expect_fail 2 afs put model
expect_fail 2 afs frobnicate
expect_fail 2 "$AFS"
expect_fail 2 afs ls --bogus
expect_fail 2 afs ls --dry-run
expect_fail 2 afs cat
expect_fail 2 afs cat a b
expect_fail 2 afs get model@v1
expect_fail 2 afs alias frob model
expect_fail 2 afs alias set model prod
expect_fail 2 afs alias set model prod vx
expect_fail 2 afs stats extra
expect_fail 2 "$AFS" --json ls
expect_fail 2 "$AFS" --store
expect_fail 2 afs help nosuchcommand

echo "PASS"
