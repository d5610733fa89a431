#!/usr/bin/env bash
# Secrets: set (from a file or standard input), get, rm, ls (text and
# JSON); values encrypted at rest (not in the store's files, not in the
# journal) under a key beside the journal key; every read journaled; a
# damaged value or the wrong key is an error, never other bytes; and,
# through the mount daemon as an unprivileged user, that only a role on a
# secret reads it and only an admin changes it.
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh" "$@"
# shellcheck source=tests/cli/lib_daemon.sh
source "$(dirname "$0")/lib_daemon.sh"

VALUE="s3cr3t-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '%s' "$VALUE" >"$T/value"
head -c 2000 /dev/urandom >"$T/binary"

# journal OP: 'audit query --op OP --json' as a JSON list on stdout.
journal() {
	afs audit query --op "$1" --json
}

afs init >/dev/null
KEYDIR=$S.keys
ID=$(basename "$(ls "$KEYDIR"/*.journal.key)" .journal.key)

check "set from a file and from standard input; get returns the bytes"
out=$(afs secret set db-password "$T/value")
[ "$out" = "secret db-password set (${#VALUE} bytes, v1)" ] || fail "set said: $out"
afs secret set blob - <"$T/binary" >/dev/null
afs secret set token </dev/null >/dev/null # no FILE: standard input, empty
[ "$(afs secret get db-password)" = "$VALUE" ] || fail "get returned other bytes"
afs secret get blob >"$T/blob.out"
cmp -s "$T/binary" "$T/blob.out" || fail "a binary value did not round-trip"
[ "$(afs secret get token | wc -c)" -eq 0 ] || fail "the empty value is not empty"

check "the secrets key: beside the journal key, 0600, made by the first set"
[ -f "$KEYDIR/$ID.secret.key" ] || fail "no $KEYDIR/$ID.secret.key"
[ "$(stat -c %a "$KEYDIR/$ID.secret.key")" = 600 ] || fail "key mode"
[ "$(stat -c %s "$KEYDIR/$ID.secret.key")" = 32 ] || fail "key size"

check "values are encrypted at rest and never journaled"
if grep -rqaF -- "$VALUE" "$S"; then
	fail "the plaintext is in the store's files"
fi
afs audit query --json >"$T/journal.json"
grep -qF -- "$VALUE" "$T/journal.json" && fail "the value is in the journal"
[ "$(journal secret.set | json_eval "[r['path'] for r in j]")" = \
	"['/secrets/db-password', '/secrets/blob', '/secrets/token']" ] ||
	fail "secret.set records: $(journal secret.set)"

check "every read is journaled, with its bytes and outcome"
n=$(journal secret.read | json_eval 'len(j)')
afs secret get db-password >/dev/null
journal secret.read >"$T/reads.json"
[ "$(json_eval 'len(j)' <"$T/reads.json")" -eq $((n + 1)) ] ||
	fail "the read was not journaled"
json_eval "(j[-1]['path'], j[-1]['bytes'], j[-1]['result'])" <"$T/reads.json" |
	grep -qx "('/secrets/db-password', ${#VALUE}, 0)" ||
	fail "read record: $(json_eval 'j[-1]' <"$T/reads.json")"
expect_fail 1 afs secret get missing
expect_err_has "no secret 'missing'"
journal secret.read | json_eval "(j[-1]['path'], j[-1]['result'])" |
	grep -qx "('/secrets/missing', 2)" || fail "the failed read is not journaled"

check "ls lists names (text and JSON)"
[ "$(afs secret ls | tr '\n' ' ')" = "blob db-password token " ] ||
	fail "ls: $(afs secret ls)"
afs secret ls --json | json_ok
afs secret ls --json | json_eval "[s['name'] for s in j] == ['blob', 'db-password', 'token'] and j[1]['path'] == '/secrets/db-password'" |
	grep -qx True || fail "ls --json: $(afs secret ls --json)"
afs secret ls | grep -qF -- "$VALUE" && fail "ls shows a value"

check "set replaces, rm removes; both journaled"
printf 'v2' | afs secret set db-password - >/dev/null
[ "$(afs secret get db-password)" = v2 ] || fail "set did not replace"
out=$(afs secret rm token)
[ "$out" = "secret token removed" ] || fail "rm said: $out"
expect_fail 1 afs secret get token
expect_fail 1 afs secret rm token
expect_err_has "no secret 'token'"
[ "$(journal secret.rm | json_eval "[r['path'] for r in j]")" = \
	"['/secrets/token']" ] || fail "secret.rm records: $(journal secret.rm)"

check "bad input: names, sizes, arguments"
expect_fail 1 afs secret set a/b "$T/value"
expect_err_has "invalid secret name"
expect_fail 1 afs secret set .. "$T/value"
head -c 65536 /dev/zero >"$T/max"
afs secret set max "$T/max" >/dev/null || fail "a 64 KiB value was refused"
head -c 65537 /dev/zero >"$T/over"
expect_fail 1 afs secret set over "$T/over"
expect_err_has "over 65536 bytes"
expect_fail 1 afs secret set x "$T/no-such-file"
expect_err_has "no-such-file"
expect_fail 2 afs secret get
expect_fail 2 afs secret get a b
expect_fail 2 afs secret show db-password
expect_fail 2 afs secret get db-password --json
expect_fail 1 afs secret get over # nothing was stored
afs audit verify >/dev/null || fail "journal not intact"

check "a changed key or a damaged value is an error, never other bytes"
cp "$KEYDIR/$ID.secret.key" "$T/key.saved"
head -c 32 /dev/urandom >"$KEYDIR/$ID.secret.key"
expect_fail 1 afs secret get db-password
expect_err_has "fails authentication"
[ -z "$OUT" ] || fail "bytes printed with the wrong key"
cp "$T/key.saved" "$KEYDIR/$ID.secret.key"
[ "$(afs secret get db-password)" = v2 ] || fail "the right key no longer reads"
rm "$KEYDIR/$ID.secret.key"
expect_fail 1 afs secret get db-password
expect_err_has "secrets key"
expect_err_has "missing"
cp "$T/key.saved" "$KEYDIR/$ID.secret.key"

check "versions: every set is the next one; NAME@vN reads an earlier one"
printf 'first-value' | afs secret set rot - | grep -qx "secret rot set (11 bytes, v1)" ||
	fail "first set"
printf 'second-value' | afs secret set rot - | grep -qx "secret rot set (12 bytes, v2)" ||
	fail "second set"
[ "$(afs secret get rot)" = second-value ] || fail "current version"
[ "$(afs secret get rot@v1)" = first-value ] || fail "rot@v1"
[ "$(afs secret get rot@v2)" = second-value ] || fail "rot@v2"
expect_fail 1 afs secret get rot@v3
expect_err_has "no secret 'rot' v3"
expect_fail 1 afs secret set x@v2 "$T/value"
expect_err_has "ends like a version"

check "rotate-key: every version of every secret kept, the old key opens nothing"
cp "$KEYDIR/$ID.secret.key" "$T/key.old"
out=$(afs secret rotate-key) || fail "rotate-key failed"
echo "$out" | grep -q "^secrets key rotated: [0-9]* values sealed again" ||
	fail "rotate-key said: $out"
cmp -s "$T/key.old" "$KEYDIR/$ID.secret.key" && fail "the key did not change"
[ "$(stat -c %a "$KEYDIR/$ID.secret.key")" = 600 ] || fail "new key mode"
[ "$(afs secret get rot@v1)" = first-value ] || fail "rot@v1 after rotation"
[ "$(afs secret get db-password)" = v2 ] || fail "db-password after rotation"
[ "$(journal secret.rotate-key | json_eval "[r['path'] for r in j]")" = \
	"['/secrets']" ] || fail "rotate-key records: $(journal secret.rotate-key)"
cp "$KEYDIR/$ID.secret.key" "$T/key.new"
cp "$T/key.old" "$KEYDIR/$ID.secret.key"
expect_fail 1 afs secret get rot
expect_err_has "fails authentication"
cp "$T/key.new" "$KEYDIR/$ID.secret.key"

check "a key file open to others is refused, with what to do"
chmod 0640 "$KEYDIR/$ID.secret.key"
expect_fail 1 afs secret get rot
expect_err_has "mode 0640"
expect_err_has "chmod 600"
[ -z "$OUT" ] || fail "bytes printed with a key open to others"
expect_fail 1 afs secret rotate-key
chmod 0600 "$KEYDIR/$ID.secret.key"
[ "$(afs secret get rot)" = second-value ] || fail "the key back at 0600"
afs secret rm rot >/dev/null

# ---------------------------------------------------- as another user
if ! daemon_possible; then
	echo "   (mounted part skipped: needs root, /dev/fuse, setpriv, useradd)"
	echo "PASS"
	exit 0
fi

check "through the daemon: an admin of /secrets sets (the key is the daemon's)"
ensure_user
rm "$KEYDIR/$ID.secret.key" # made again, by the daemon, for the user
for s in blob db-password max; do afs secret rm "$s" >/dev/null; done
start_daemon
chmod 0644 "$T/value"
afs role grant admin "$TUSER" --scope /secrets/app >/dev/null
out=$(afs_user secret set app "$T/value") || fail "the admin of /secrets/app cannot set it"
[ "$out" = "secret app set (${#VALUE} bytes, v1)" ] || fail "set said: $out"
[ "$(stat -c '%u %a' "$KEYDIR/$ID.secret.key")" = "0 600" ] ||
	fail "the secrets key is not the daemon's"
[ "$(afs_user secret get app)" = "$VALUE" ] || fail "the user's admin cannot read"
afs role revoke admin "$TUSER" --scope /secrets/app >/dev/null

check "a user with no role reads nothing, lists nothing, changes nothing"
afs secret set db "$T/value" >/dev/null
expect_fail 1 afs_user secret get db
expect_err_has "secret.read /secrets/db: Permission denied"
[ -z "$OUT" ] || fail "a refused get printed bytes"
[ -z "$(afs_user secret ls)" ] || fail "the user lists secrets"
[ "$(afs_user secret ls --json | json_eval 'len(j)')" -eq 0 ] ||
	fail "the user lists secrets in JSON"
expect_fail 1 afs_user secret set db "$T/value"
expect_err_has "Permission denied"
expect_fail 1 afs_user secret rm db
expect_err_has "Permission denied"
[ "$(afs secret get db)" = "$VALUE" ] || fail "a refused change took effect"
afs audit query --op secret.read --denied --json >"$T/denied.json"
python3 - "$T/denied.json" "$TUID" <<'EOF' || fail "the refused read is not journaled"
import errno, json, sys
recs = json.load(open(sys.argv[1]))
assert any(r["uid"] == int(sys.argv[2]) and r["path"] == "/secrets/db"
           and r["result"] == errno.EACCES for r in recs), recs
EOF

check "a role on /secrets/db reads that secret only; the read is journaled"
afs role grant reader "$TUSER" --scope /secrets/db >/dev/null
[ "$(afs_user secret get db)" = "$VALUE" ] || fail "the reader cannot read db"
[ "$(afs_user secret ls)" = db ] || fail "ls as the reader: $(afs_user secret ls)"
expect_fail 1 afs_user secret get app
expect_err_has "Permission denied"
expect_fail 1 afs_user secret set db "$T/value"
journal secret.read | json_eval "[r['path'] for r in j if r['uid'] == $TUID and r['result'] == 0]" |
	grep -qF "'/secrets/db'" || fail "the user's read is not journaled"

check "a reader on / does not read secrets"
afs role grant reader "$TUSER" --scope / >/dev/null
expect_fail 1 afs_user secret get app
[ "$(afs_user secret ls)" = db ] || fail "a reader on / lists other secrets"

check "standard input reaches the daemon (passed over its socket)"
printf 'from-stdin' | afs secret set piped - >/dev/null ||
	fail "secret set - through the daemon"
[ "$(afs secret get piped)" = from-stdin ] || fail "the piped value differs"
printf 'put-from-stdin' | afs put piped-file - --name p.txt >/dev/null ||
	fail "put - through the daemon"
[ "$(afs cat piped-file@latest/p.txt)" = put-from-stdin ] ||
	fail "the piped file differs"
stop_daemon
afs audit verify >/dev/null || fail "journal not intact"
echo "PASS"
