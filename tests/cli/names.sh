#!/usr/bin/env bash
# Names: one validator for artifact, alias, pipeline, run and step names.
# Every bad name is refused with one line saying what is wrong with it;
# refs of the form v<digits> with a leading zero name no version.
source "$(dirname "$0")/lib.sh" "$@"

afs init >/dev/null
echo hi >"$T/f"
LONG=$(head -c 256 /dev/zero | tr '\0' x)

# bad NAME WHY: NAME refused as an artifact, a run, a step and an alias.
bad() {
	local name=$1 why=$2
	check "refused: '$name' ($why)"
	expect_fail 1 afs put "$name" "$T/f"
	expect_err_has "invalid artifact name"
	expect_err_has "$why"
	expect_fail 1 afs run open "p/$name"
	expect_err_has "invalid run name"
	expect_err_has "$why"
	expect_fail 1 afs run open p/ok "$name"
	expect_err_has "invalid step name"
	expect_err_has "$why"
	expect_fail 1 afs alias set model "$name" v1
	expect_err_has "invalid alias name"
	expect_err_has "$why"
}

afs put model "$T/f" >/dev/null
bad 'a@b' "holds '@'"
bad '@' "holds '@'"
bad 'v1' 'vN'
bad 'v01' 'vN'
bad 'latest' "'latest'"
bad "$LONG" 'longer than 255 bytes'
bad "$(printf 'a\nb')" 'newline'
bad "$(printf 'a\tb')" 'control character'
bad "$(printf 'a\033b')" 'control character'

check "'.', '..' and '/' cannot be names"
expect_fail 1 afs put . "$T/f"
expect_err_has "'.' and '..'"
expect_fail 1 afs put .. "$T/f"
expect_err_has "'.' and '..'"
expect_fail 2 afs run open p/ok/x
expect_fail 1 afs put '' "$T/f"
expect_err_has "empty"

check "a refused name leaves nothing behind"
[ "$(afs ls | awk 'NR > 1 {print $1}')" = model ] ||
	fail "artifacts after the refusals: $(afs ls)"

check "names that look alike but are fine"
for n in vfoo v1a version latest2 a.b .hidden 'sp ace' 'é'; do
	afs put "$n" "$T/f" >/dev/null || fail "put '$n' refused"
	[ "$(afs cat "$n@v1")" = hi ] || fail "cat '$n@v1'"
done
afs run open "p/r.1" "st-1" >/dev/null || fail "run open p/r.1 st-1"
afs alias set model prod v1 >/dev/null || fail "alias prod"

check "refs: v1 resolves, v01 and v0 name no version (as in the mount)"
[ "$(afs cat model@v1)" = hi ] || fail "cat model@v1"
expect_fail 1 afs cat model@v01
expect_err_has "'v01' names no version"
expect_fail 1 afs cat model@v0
expect_err_has "'v0' names no version"
expect_fail 1 afs get model@v01 "$T/out"
[ ! -e "$T/out" ] || fail "get model@v01 wrote $T/out"
[ "$(afs cat model@prod)" = hi ] || fail "cat model@prod"
echo PASS
