#!/usr/bin/env bash
# rollback: a promoter moves an alias back to an older version; the move
# is journaled; a writer without the promoter role is refused.
source "$(dirname "$0")/../mount/lib.sh" "$@"
source "$(dirname "$0")/lib_env.sh"

afs init >/dev/null
for i in 1 2 3; do
	echo "v$i" >"$T/f$i"
	afs put model "$T/f$i" >/dev/null
done
afs alias set model production 3 >/dev/null

check "rollback moves the alias back and says how to rebuild"
afs rollback model production v1 >"$T/out" || fail "rollback failed"
grep -q "production v3 -> v1" "$T/out" || fail "rollback said: $(cat "$T/out")"
afs alias ls model --json | json_eval "j" | grep -q "'production': 1\|'production', 'version': 1" ||
	afs alias ls model | grep -Eq "production +v?1" ||
	fail "the alias did not move: $(afs alias ls model)"

check "the rollback is journaled"
afs audit query --op alias.rollback --json >"$T/j" || fail "audit query failed"
grep -q "/artifacts/model/production" "$T/j" || fail "no alias.rollback record: $(cat "$T/j")"

check "forward is not a rollback; no such alias; not a version"
expect_err "is not older" afs rollback model production v2
expect_err "has no alias" afs rollback model staging v1
expect_err "not a version" afs rollback model production latest

check "only a promoter may roll back"
ensure_user
afs role grant writer "$TUSER" >/dev/null
start_daemon
expect_err "promoter" as_user "$AFS" --config "$T/empty.conf" --store "$S" \
	rollback model production v1
afs role grant promoter "$TUSER" >/dev/null
afs alias set model production 3 >/dev/null
as_user "$AFS" --config "$T/empty.conf" --store "$S" \
	rollback model production v2 >/dev/null || fail "a promoter was refused"
afs audit query --op alias.rollback --json | grep -q "$TUSER" ||
	fail "the promoter's rollback is not journaled as theirs"
finish
