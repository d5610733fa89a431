#!/usr/bin/env bash
# The audit journal from the command line: a new store keeps one; every
# change is a record; verify names the first record that was changed,
# removed or reordered; a store whose key is gone is not opened.
source "$(dirname "$0")/lib.sh" "$@"
TAMPER=$(dirname "$AFS")/../tests/store/tamper_audit
[ -x "$TAMPER" ] || { echo "SKIP: no tamper_audit tool"; exit 77; }

afs init >/dev/null
check "the journal key lives outside the store, 0600"
key=$(ls "$S.keys"/*.journal.key) || fail "no key next to the store"
[ "$(stat -c %a "$key")" = 600 ] || fail "key mode $(stat -c %a "$key")"
[ -z "$(find "$S" -name '*.key')" ] || fail "a key inside the store"

check "each change is a record; verify is clean"
# Record 1 is init making its caller admin (role.grant).
head -c 100000 /dev/urandom >"$T/a.bin"
afs put model "$T/a.bin" >/dev/null
afs put model "$T/a.bin" >/dev/null
afs alias set model prod v1 >/dev/null
afs run open p/r s >/dev/null
afs run note p/r param.lr 0.1 >/dev/null
afs run seal p/r >/dev/null
afs audit query --json | json_eval '[r["op"] for r in j]' >"$T/ops"
grep -q "\['role.grant', 'version.create', 'version.create', 'alias.set', 'run.create', 'step.create', 'run.note', 'run.seal'\]" "$T/ops" ||
	fail "unexpected records: $(cat "$T/ops")"
afs audit query --op alias.set | grep -q "/artifacts/model/prod" ||
	fail "query --op does not find the alias move"
afs audit verify | grep -q "8 records verified" || fail "verify not clean"

for how in flip delete swap; do
	check "a record ${how}ped is named by verify"
	cp -a "$S" "$T/copy"
	"$TAMPER" "$T/copy" "$how" 3 || fail "tamper_audit $how failed"
	expect_fail 1 env ARTIFACTFS_KEY_DIR="$S.keys" "$AFS" \
		--config "$T/empty.conf" --store "$T/copy" audit verify
	expect_err_has "record 3"
	rm -rf "$T/copy"
done

check "a forged record inserted after record 3 is named by verify"
cp -a "$S" "$T/copy"
"$TAMPER" "$T/copy" insert 3 || fail "tamper_audit insert failed"
expect_fail 1 env ARTIFACTFS_KEY_DIR="$S.keys" "$AFS" \
	--config "$T/empty.conf" --store "$T/copy" audit verify
expect_err_has "record 4"
rm -rf "$T/copy"

check "without its key the store is refused, not opened unjournaled"
mv "$key" "$key.away"
expect_fail 1 afs ls
expect_err_has "journal key"
mv "$key.away" "$key"
afs ls >/dev/null || fail "the store does not open with its key back"

check "init --no-journal: a store without key, mark or journal"
nj() {
	"$AFS" --config "$T/empty.conf" --store "$T/nj" "$@"
}
nj init --no-journal | grep -qx "initialized store at $T/nj (no audit journal)" ||
	fail "init --no-journal did not say so"
[ ! -e "$T/nj.keys" ] || fail "a key directory for a store without journal"
nj put model "$T/a.bin" >/dev/null
nj cat model@v1 | cmp -s - "$T/a.bin" || fail "the store without journal reads wrong"
[ ! -e "$T/nj.keys" ] || fail "a key directory after a put"
expect_fail 1 nj audit verify
expect_err_has "keeps no audit journal"
expect_fail 1 nj audit checkpoint "$T/nj.json"
expect_err_has "keeps no audit journal"
[ ! -e "$T/nj.json" ] || fail "a checkpoint of no journal"

check "init --no-journal on an existing store changes nothing"
expect_fail 0 afs init --no-journal
expect_err_has "only applies to a new store"
afs audit verify >/dev/null || fail "the journal is gone"
expect_fail 2 afs ls --no-journal
echo "PASS: audit"
