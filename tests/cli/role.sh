#!/usr/bin/env bash
# Roles: init makes its caller admin; role grant, revoke and ls (text,
# JSON, --scope); usage errors; bindings seeded from the configuration
# file by init (idempotent, journaled) and refused with file and line when
# wrong; and, through the mount daemon as an unprivileged user, that only
# an admin changes bindings and that others see only their own.
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh" "$@"
# shellcheck source=tests/cli/lib_daemon.sh
source "$(dirname "$0")/lib_daemon.sh"

ME=$(id -un)
MYUID=$(id -u)
# A user and a group every Debian system has, other than the caller.
OTHER=nobody
OGROUP=nogroup
[ "$(id -u "$OTHER")" != "$MYUID" ] || fail "the test runs as $OTHER"

# indent: stdin, shifted right for the log.
indent() {
	sed 's/^/   /'
}

# role_of SCOPE PRINCIPAL: the role of that binding in 'role ls --json'
# (stdin), or "-".
role_of() {
	json_eval "next((b['role'] for b in j if b['scope'] == '$1' and b['principal'] == '$2'), '-')"
}

# journal_count OP: how many records of OP the journal holds.
journal_count() {
	afs audit query --op "$1" --json | json_eval 'len(j)'
}

check "init makes the user who runs it admin on /"
afs init >/dev/null
out=$(afs role ls)
indent <<<"$out"
[ "$(echo "$out" | head -n1 | tr -s ' ')" = "SCOPE PRINCIPAL ROLE" ] ||
	fail "no header: $out"
echo "$out" | grep -Eq "^/ +$ME +admin$" || fail "$ME is not admin on /"
[ "$(echo "$out" | wc -l)" -eq 2 ] || fail "more than one binding after init"
afs role ls --json | json_ok
[ "$(afs role ls --json | role_of / "u:$MYUID")" = admin ] ||
	fail "role ls --json does not show u:$MYUID admin on /"
afs role ls --json | json_eval "j[0]['name']" | grep -qx "$ME" ||
	fail "the JSON name is not $ME"
[ "$(journal_count role.grant)" -eq 1 ] || fail "the admin grant is not journaled"
afs audit verify >/dev/null || fail "journal not intact after init"

check "init again adds nothing"
out=$(afs init)
[ "$out" = "store at $S already initialized" ] || fail "init said: $out"
[ "$(afs role ls --json | json_eval 'len(j)')" -eq 1 ] ||
	fail "a second init added bindings"

check "grant to a user by name, by uid, and to a group; ls shows names"
out=$(afs role grant reader "$OTHER" --scope /artifacts)
[ "$out" = "$OTHER: reader on /artifacts" ] || fail "grant said: $out"
afs role grant writer "@$OGROUP" --scope /pipelines/train >/dev/null
afs role grant reader 4000001 >/dev/null # no such user: the number is kept
afs role ls >"$T/ls.txt"
indent <"$T/ls.txt"
grep -Eq "^/artifacts +$OTHER +reader$" "$T/ls.txt" || fail "no $OTHER reader"
grep -Eq "^/pipelines/train +@$OGROUP +writer$" "$T/ls.txt" ||
	fail "no @$OGROUP writer"
grep -Eq "^/ +4000001 +reader$" "$T/ls.txt" || fail "no uid 4000001 reader"
afs role ls --json >"$T/ls.json"
json_ok <"$T/ls.json"
OUID=$(id -u "$OTHER")
OGID=$(getent group "$OGROUP" | cut -d: -f3)
[ "$(role_of /pipelines/train "g:$OGID" <"$T/ls.json")" = writer ] ||
	fail "the group binding is not g:$OGID in JSON"
python3 - "$T/ls.json" "$OGROUP" <<'EOF' || fail "role ls --json fields"
import json, sys
rows = json.load(open(sys.argv[1]))
assert all(set(r) == {"scope", "principal", "name", "role"} for r in rows), rows
names = {r["principal"]: r["name"] for r in rows}
assert names["u:4000001"] == "4000001", names
assert any(n == "@" + sys.argv[2] for n in names.values()), names
EOF

check "grant again is a no-op; another role replaces the binding"
out=$(afs role grant reader "$OTHER" --scope /artifacts)
[ "$out" = "$OTHER already holds reader on /artifacts" ] || fail "said: $out"
n=$(journal_count role.grant)
afs role grant reader "$OTHER" --scope /artifacts >/dev/null
[ "$(journal_count role.grant)" -eq "$n" ] || fail "a no-op grant was journaled"
out=$(afs role grant promoter "$OTHER" --scope /artifacts)
[ "$out" = "$OTHER: promoter on /artifacts (was reader)" ] || fail "said: $out"
[ "$(afs role ls --json | role_of /artifacts "u:$OUID")" = promoter ] ||
	fail "the binding was not replaced"

check "ls --scope shows the bindings that apply to a path"
afs role ls --scope /artifacts/model/v1 >"$T/scoped.txt"
grep -Eq "^/artifacts +$OTHER +promoter$" "$T/scoped.txt" || fail "no /artifacts"
grep -Eq "^/ +$ME +admin$" "$T/scoped.txt" || fail "no / (applies everywhere)"
grep -q "/pipelines/train" "$T/scoped.txt" && fail "/pipelines/train shown"
afs role grant reader "$OTHER" --scope /artifacts-old >/dev/null
afs role ls --scope /artifacts --json |
	json_eval "sorted(b['scope'] for b in j)" | grep -qx "\['/', '/', '/artifacts'\]" ||
	fail "--scope /artifacts is not component-wise"

check "revoke: the role held goes; another role or none is an error"
expect_fail 1 afs role revoke reader "$OTHER" --scope /artifacts
expect_err_has "holds promoter on /artifacts, not reader"
[ "$(afs role ls --json | role_of /artifacts "u:$OUID")" = promoter ] ||
	fail "a refused revoke removed the binding"
expect_fail 1 afs role revoke reader "$OTHER" --scope /nowhere
expect_err_has "holds no role on /nowhere"
out=$(afs role revoke promoter "$OTHER" --scope /artifacts)
[ "$out" = "$OTHER: promoter on /artifacts revoked" ] || fail "said: $out"
[ "$(afs role ls --json | role_of /artifacts "u:$OUID")" = - ] ||
	fail "the binding is still there"
[ "$(journal_count role.revoke)" -eq 1 ] || fail "the revoke is not journaled"
afs audit query --op role.revoke --json |
	json_eval "j[0]['path']" | grep -qx "/artifacts u:$OUID promoter" ||
	fail "the revoke record does not name the binding"

check "the last admin on / is not revoked or demoted"
expect_fail 1 afs role revoke admin "$ME"
expect_err_has "only admin on /"
expect_fail 1 afs role grant reader "$ME"
expect_err_has "only admin on /"
afs role ls | grep -Eq "^/ +$ME +admin$" || fail "$ME lost admin"

check "usage errors exit 2 with one line"
expect_fail 2 afs role grant boss "$OTHER"
expect_err_has "unknown role 'boss'"
expect_fail 2 afs role grant reader no-such-user-afs-test
expect_err_has "no such user 'no-such-user-afs-test'"
expect_fail 2 afs role grant reader @no-such-group-afs-test
expect_err_has "no such group 'no-such-group-afs-test'"
expect_fail 2 afs role grant reader "$OTHER" --scope artifacts
expect_err_has "bad scope 'artifacts'"
expect_fail 2 afs role revoke reader "$OTHER" --scope /a//b
expect_fail 2 afs role grant reader "$OTHER" --scope /a/
expect_fail 2 afs role ls --scope /a/..
expect_fail 2 afs role grant reader
expect_fail 2 afs role promote reader "$OTHER"
expect_fail 2 afs role grant reader "$OTHER" --json
expect_fail 2 afs ls --scope /
expect_err_has "does not apply"
afs audit verify >/dev/null || fail "journal not intact"

check "config seeding: init applies the roles of the configuration"
cat >"$T/roles.conf" <<EOF
# seeded roles
roles = (
  { role = "reader"; user = "$OTHER"; scope = "/artifacts"; },
  { role = "writer"; group = "$OGROUP"; scope = "/pipelines/train"; },
  { role = "auditor"; user = "4000002"; }
);
EOF
S2=$T/seeded
out=$("$AFS" --config "$T/roles.conf" --store "$S2" init)
indent <<<"$out"
echo "$out" | head -n1 | grep -qx "initialized store at $S2" || fail "init said: $out"
[ "$(echo "$out" | grep -c "(from $T/roles.conf)")" -eq 3 ] ||
	fail "init did not report 3 seeded bindings"
"$AFS" --config "$T/roles.conf" --store "$S2" role ls --json >"$T/s2.json"
[ "$(role_of / "u:$MYUID" <"$T/s2.json")" = admin ] || fail "no admin"
[ "$(role_of /artifacts "u:$OUID" <"$T/s2.json")" = reader ] || fail "no reader"
[ "$(role_of /pipelines/train "g:$OGID" <"$T/s2.json")" = writer ] ||
	fail "no group writer"
[ "$(role_of / u:4000002 <"$T/s2.json")" = auditor ] || fail "no auditor on /"
n=$("$AFS" --config "$T/roles.conf" --store "$S2" audit query --op role.grant --json |
	json_eval 'len(j)')
[ "$n" -eq 4 ] || fail "$n role.grant records, want 4 (admin and 3 seeded)"

check "config seeding is idempotent and adds only what is missing"
out=$("$AFS" --config "$T/roles.conf" --store "$S2" init)
[ "$out" = "store at $S2 already initialized" ] || fail "init said: $out"
# One more entry at the end of the list.
python3 - "$T/roles.conf" "$OTHER" <<'EOF'
import sys
path, user = sys.argv[1], sys.argv[2]
text = open(path).read().replace(
    '"4000002"; }',
    '"4000002"; },\n  { role = "promoter"; user = "%s"; scope = "/artifacts/model"; }'
    % user)
open(path, "w").write(text)
EOF
out=$("$AFS" --config "$T/roles.conf" --store "$S2" init)
indent <<<"$out"
[ "$(echo "$out" | grep -c "(from ")" -eq 1 ] || fail "init did not add just one"
echo "$out" | grep -q "$OTHER: promoter on /artifacts/model" || fail "said: $out"
n=$("$AFS" --config "$T/roles.conf" --store "$S2" audit query --op role.grant --json |
	json_eval 'len(j)')
[ "$n" -eq 5 ] || fail "$n role.grant records, want 5"

check "a binding changed since is kept, with a warning naming the line"
"$AFS" --config "$T/roles.conf" --store "$S2" role grant writer "$OTHER" \
	--scope /artifacts >/dev/null
"$AFS" --config "$T/roles.conf" --store "$S2" init >/dev/null 2>"$T/warn"
grep -q "$T/roles.conf:3: $OTHER holds writer on /artifacts, kept" "$T/warn" ||
	fail "no warning: $(cat "$T/warn")"
[ "$("$AFS" --config "$T/roles.conf" --store "$S2" role ls --json |
	role_of /artifacts "u:$OUID")" = writer ] || fail "init overwrote the binding"

check "init makes no admin of its caller in a store that has one"
S3=$T/other
afs --store "$S3" init >/dev/null
afs --store "$S3" role grant admin 4000003 >/dev/null
afs --store "$S3" role revoke admin "$ME" >/dev/null
afs --store "$S3" init >/dev/null
# Not an admin any more, the caller sees only its own bindings: none.
[ "$(afs --store "$S3" role ls --json | json_eval 'len(j)')" -eq 0 ] ||
	fail "init gave its caller a binding in a store that has an admin"
expect_fail 1 afs --store "$S3" role grant admin "$ME"
expect_err_has "Permission denied"

check "config errors name the file and the line, exit 2"
bad() { # bad LINE TEXT FILE-CONTENT
	printf '%s' "$3" >"$T/bad.conf"
	expect_fail 2 afs --config "$T/bad.conf" role ls
	expect_err_has "$T/bad.conf:$1"
	expect_err_has "$2"
}
bad 3 "user 'no-such-user-afs-test' does not exist" \
	$'roles = (\n  { role = "reader"; user = "nobody"; },\n  { role = "reader"; user = "no-such-user-afs-test"; }\n);\n'
bad 2 "group 'no-such-group-afs-test' does not exist" \
	$'roles = (\n  { role = "reader"; group = "no-such-group-afs-test"; }\n);\n'
bad 2 "unknown role 'boss'" \
	$'roles = (\n  { role = "boss"; user = "nobody"; }\n);\n'
bad 3 "unknown setting 'colour'" \
	$'roles = (\n  { role = "reader"; user = "nobody";\n    colour = "red"; }\n);\n'
bad 2 "bad scope 'artifacts/'" \
	$'roles = (\n  { role = "reader"; user = "nobody"; scope = "artifacts/"; }\n);\n'
bad 2 "either a 'user' or a 'group'" \
	$'roles = (\n  { role = "reader"; user = "nobody"; group = "nogroup"; }\n);\n'
bad 2 "either a 'user' or a 'group'" \
	$'roles = (\n  { role = "reader"; }\n);\n'
bad 2 "without 'role'" $'roles = (\n  { user = "nobody"; }\n);\n'
bad 1 "'roles' must be a list" $'roles = { role = "reader"; };\n'
bad 2 "'user' must be a non-empty string" \
	$'roles = (\n  { role = "reader"; user = 65534; }\n);\n'
# Any command checks it, init included, and init then changes nothing.
printf 'roles = (\n  { role = "reader"; user = "no-such-user-afs-test"; }\n);\n' \
	>"$T/bad.conf"
expect_fail 2 "$AFS" --config "$T/bad.conf" --store "$T/never" init
[ ! -e "$T/never" ] || fail "init made a store from a bad configuration"

# ---------------------------------------------------- as another user
if ! daemon_possible; then
	echo "   (mounted part skipped: needs root, /dev/fuse, setpriv, useradd)"
	echo "PASS"
	exit 0
fi

check "through the daemon, a user without admin cannot grant (refused, journaled)"
ensure_user
start_daemon
expect_fail 1 afs_user role grant admin "$TUSER"
expect_err_has "role.grant /: Permission denied"
expect_err_has "admin"
expect_fail 1 afs_user role revoke admin "$ME"
expect_err_has "Permission denied"
afs role ls | grep -Eq "^/ +$ME +admin$" || fail "the refused revoke took effect"
afs audit query --op role.grant --denied --json >"$T/denied.json"
python3 - "$T/denied.json" "$TUID" <<'EOF' || fail "the refusal is not journaled as the user"
import errno, json, sys
recs = json.load(open(sys.argv[1]))
assert any(r["uid"] == int(sys.argv[2]) and r["path"] == "/"
           and r["result"] == errno.EACCES for r in recs), recs
EOF

check "a user sees only the bindings that name them"
afs role grant reader "$TUSER" --scope /artifacts >/dev/null
afs role grant writer "$TUSER" --scope /pipelines/train >/dev/null
afs_user role ls >"$T/user.txt" || fail "role ls as the user failed"
indent <"$T/user.txt"
[ "$(wc -l <"$T/user.txt")" -eq 3 ] || fail "the user sees other bindings"
grep -Eq "^/artifacts +$TUSER +reader$" "$T/user.txt" || fail "no own reader"
grep -q "admin" "$T/user.txt" && fail "the user sees the admin binding"
afs_user role ls --json --scope /artifacts/x |
	json_eval "[(b['scope'], b['role']) for b in j]" |
	grep -qx "\[('/artifacts', 'reader')\]" || fail "user's --scope listing"

check "an admin of a scope grants there, and nowhere else"
afs role grant admin "$TUSER" --scope /pipelines >/dev/null
afs_user role grant reader "$OTHER" --scope /pipelines/eval >/dev/null ||
	fail "an admin on /pipelines cannot grant below it"
[ "$(afs role ls --json | role_of /pipelines/eval "u:$OUID")" = reader ] ||
	fail "the user's grant is missing"
afs audit query --op role.grant --json |
	json_eval "j[-1]['uid']" | grep -qx "$TUID" ||
	fail "the grant is not journaled as the user"
expect_fail 1 afs_user role grant reader "$OTHER" --scope /artifacts
expect_err_has "Permission denied"

check "an auditor on / sees every binding"
afs role grant auditor "$TUSER" --scope / >/dev/null
[ "$(afs_user role ls --json | json_eval 'len(j)')" -eq \
	"$(afs role ls --json | json_eval 'len(j)')" ] ||
	fail "an auditor does not see every binding"
stop_daemon
afs audit verify >/dev/null || fail "journal not intact"
echo "PASS"
