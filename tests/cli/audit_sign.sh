#!/usr/bin/env bash
# Signed checkpoints and exports of the audit journal: a checkpoint kept
# outside the store shows a tail cut off (which the chain alone cannot);
# an export is checked offline with only the public key, and a changed
# byte or a foreign key fails.
source "$(dirname "$0")/lib.sh" "$@"
TAMPER=$(dirname "$AFS")/../tests/store/tamper_audit
[ -x "$TAMPER" ] || { echo "SKIP: no tamper_audit tool"; exit 77; }

# records - the number of records in the journal of $S.
records() {
	afs audit query --json | json_eval 'len(j)'
}

# init journals one record (its caller becomes admin): the put and the
# alias below are records 2 and 3.
afs init >/dev/null
head -c 50000 /dev/urandom >"$T/a.bin"
afs put model "$T/a.bin" >/dev/null
afs alias set model prod v1 >/dev/null

check "checkpoint signs the head with a key pair made beside the journal key"
afs audit checkpoint "$T/cp1.json" >"$T/out"
grep -q "checkpoint of record 3 written" "$T/out" || fail "$(cat "$T/out")"
[ -z "$(find "$T" -maxdepth 1 -name 'cp1.json.tmp.*')" ] ||
	fail "a temporary file left beside the checkpoint"
pub=$(ls "$S.keys"/*.sign.pub) || fail "no public key next to the store"
priv=$(ls "$S.keys"/*.sign.key) || fail "no private key next to the store"
grep -q "public key: $pub" "$T/out" || fail "public key path not printed"
[ "$(stat -c %a "$priv")" = 600 ] || fail "private key mode $(stat -c %a "$priv")"
[ -z "$(find "$S" -name '*.sign.*')" ] || fail "a signing key inside the store"
json_eval '(j["seq"], j["head"][:7], len(j["signature"]))' <"$T/cp1.json" |
	grep -q "(3, 'sha256:', 128)" || fail "checkpoint: $(cat "$T/cp1.json")"
if command -v openssl >/dev/null; then
	openssl pkey -pubin -in "$pub" -noout ||
		fail "openssl does not read the public key"
fi

check "verify --anchor: the journal extends the checkpoint"
afs audit verify --anchor "$T/cp1.json" | grep -q "extending checkpoint" ||
	fail "verify --anchor failed right after the checkpoint"

check "more changes: the journal still extends it"
afs put model "$T/a.bin" >/dev/null
afs alias set model prod v2 >/dev/null
afs audit checkpoint "$T/cp2.json" >/dev/null
afs put other "$T/a.bin" >/dev/null
n=$(records)
[ "$n" = 6 ] || fail "$n records, want 6"
afs audit verify --anchor "$T/cp1.json" | grep -q "6 records verified" ||
	fail "verify --anchor after more changes"
afs audit verify --anchor "$T/cp2.json" --pubkey "$pub" >/dev/null ||
	fail "verify --anchor --pubkey"

check "a tail cut off with the head rewritten: the chain passes, the anchor does not"
cp -a "$S" "$T/copy"
"$TAMPER" "$T/copy" truncate 4 || fail "tamper_audit truncate failed"
copy() {
	env ARTIFACTFS_KEY_DIR="$S.keys" "$AFS" --config "$T/empty.conf" \
		--store "$T/copy" "$@"
}
copy audit verify | grep -q "4 records verified" ||
	fail "the cut journal does not verify as a chain"
expect_fail 1 copy audit verify --anchor "$T/cp2.json"
expect_err_has "journal cut off"
expect_err_has "record 5"
copy audit verify --anchor "$T/cp1.json" >/dev/null ||
	fail "the cut journal no longer extends the earlier checkpoint"
rm -rf "$T/copy"

check "a checkpoint changed after signing is refused"
json_eval 'json.dumps(dict(j, seq=1))' <"$T/cp2.json" >"$T/forged.json"
expect_fail 1 afs audit verify --anchor "$T/forged.json"
expect_err_has "signature does not match"
echo '{"seq": 1}' >"$T/junk.json"
expect_fail 1 afs audit verify --anchor "$T/junk.json"
expect_err_has "not an artifactfs checkpoint"

check "export: JSON Lines with the fields of query --json, and OUT.sig"
mkdir "$T/exp"
afs audit export "$T/exp/audit.jsonl" >"$T/out"
grep -q "exported 6 records" "$T/out" || fail "$(cat "$T/out")"
[ "$(wc -l <"$T/exp/audit.jsonl")" = 6 ] || fail "not 6 lines"
afs audit query --json >"$T/query.json"
python3 - "$T/exp/audit.jsonl" "$T/query.json" <<'EOF' || fail "export differs from query --json"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert lines == json.load(open(sys.argv[2])), "records differ"
assert all(l.startswith('{"seq":') for l in open(sys.argv[1])), "not compact"
EOF
json_eval '(j["records"], j["first_seq"], j["last_seq"])' \
	<"$T/exp/audit.jsonl.sig" | grep -q "(6, 1, 6)" ||
	fail "signature file: $(cat "$T/exp/audit.jsonl.sig")"
afs audit export --since 2000-01-01 --until 2001-01-01 "$T/exp/none.jsonl" |
	grep -q "exported 0 records" || fail "--since/--until not applied"

check "verify --export offline: no store, only the public key"
cp "$pub" "$T/exp/store.pub"
offline() {
	(cd / && env -u ARTIFACTFS_KEY_DIR HOME="$T/nohome" "$AFS" \
		--config "$T/empty.conf" --store "$T/nostore" "$@")
}
offline audit verify --export "$T/exp/audit.jsonl" --pubkey "$T/exp/store.pub" |
	grep -q "export verified: 6 records" || fail "offline verification failed"
[ ! -e "$T/nostore" ] || fail "verifying an export created a store"
offline audit verify --export "$T/exp/none.jsonl" --pubkey "$T/exp/store.pub" |
	grep -q "export verified: 0 records" || fail "empty export"
afs audit verify --export "$T/exp/audit.jsonl" >/dev/null ||
	fail "verify --export with the store's own key"

check "one byte of the export changed: refused"
cp "$T/exp/audit.jsonl" "$T/exp/orig.jsonl"
python3 - "$T/exp/audit.jsonl" <<'EOF'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[len(b) // 2] ^= 0x01
open(sys.argv[1], "wb").write(b)
EOF
expect_fail 1 offline audit verify --export "$T/exp/audit.jsonl" \
	--pubkey "$T/exp/store.pub"
expect_err_has "was changed after signing"
cp "$T/exp/orig.jsonl" "$T/exp/audit.jsonl"

check "another store's key: refused"
S2=$T/store2
"$AFS" --config "$T/empty.conf" --store "$S2" init >/dev/null
"$AFS" --config "$T/empty.conf" --store "$S2" put x "$T/a.bin" >/dev/null
"$AFS" --config "$T/empty.conf" --store "$S2" audit checkpoint "$T/other.json" \
	>/dev/null
pub2=$(ls "$S2.keys"/*.sign.pub)
[ "$(sha "$pub2")" != "$(sha "$pub")" ] || fail "two stores share a key"
expect_fail 1 offline audit verify --export "$T/exp/audit.jsonl" \
	--pubkey "$pub2"
expect_err_has "signature does not match"
expect_fail 1 afs audit verify --anchor "$T/cp1.json" --pubkey "$pub2"
expect_err_has "signature does not match"
expect_fail 1 afs audit verify --anchor "$T/other.json"
expect_err_has "not of this one"

check "usage errors"
expect_fail 2 afs audit verify --pubkey "$pub"
expect_fail 2 afs audit verify --anchor a --export b
expect_fail 2 afs audit checkpoint
expect_fail 2 afs audit export
echo "PASS: audit_sign"
