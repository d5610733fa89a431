#!/usr/bin/env bash
# Roles through the mount, as real users: for each role (and a user with
# no binding) and each operation, the expected success or EACCES/EPERM and
# a journal record of it; the kernel's caches let no user through on the
# strength of another's lookup; getfacl, ls -l and setfacl show and change
# the bindings.
source "$(dirname "$0")/lib.sh" "$@"
command -v setfacl >/dev/null || skip "no setfacl (package acl)"
command -v setpriv >/dev/null || skip "no setpriv"
command -v useradd >/dev/null || skip "no useradd"

ROLES="none reader writer promoter auditor admin"
declare -A UID_OF
# Users afs-t-<role>, made once (kept between runs, like the test user).
for r in $ROLES; do
	make_user "afs-t-$r"
	UID_OF[$r]=$(id -u "afs-t-$r")
done
GID=$(getent group nogroup | cut -d: -f3)
GID=${GID:-65534}

# as_role ROLE CMD...: CMD as afs-t-ROLE, no supplementary groups.
as_role() {
	local r=$1
	shift
	(cd / && setpriv --reuid="${UID_OF[$r]}" --regid="$GID" --clear-groups \
		env HOME=/ PATH=/usr/local/bin:/usr/bin:/bin LC_ALL=C "$@")
}

# The journal's records as JSON (root is the store's admin).
records() {
	afs audit query --json
}
nrec() {
	records | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))'
}

# try ROLE WANT WHAT CMD...: WANT is ok, EACCES or EPERM; the journal must
# then hold a record by afs-t-ROLE after the ones it held before, with
# result 0 (ok) or not.  WANT EOPNOTSUPP: no refusal by afs-t-ROLE
# journaled.  WANT "EPERM-kernel": refused by the kernel before
# the daemon hears of it (nothing to journal).
try() {
	local r=$1 want=$2 what=$3 rc=0 got before
	shift 3
	before=$(nrec)
	as_role "$r" "$@" >"$T/.out" 2>"$T/.err" || rc=$?
	if [ "$rc" -eq 0 ]; then
		got=ok
	elif grep -q "Permission denied" "$T/.err"; then
		got=EACCES
	elif grep -q "Operation not permitted" "$T/.err"; then
		got=EPERM
	elif grep -q "Operation not supported" "$T/.err"; then
		got=EOPNOTSUPP
	else
		got="exit $rc ($(head -c 200 "$T/.err"))"
	fi
	case $want in
	EPERM-kernel) [ "$got" = EPERM ] ||
		defect "$r: $what: $got, want EPERM" ;;
	*) [ "$got" = "$want" ] || defect "$r: $what: $got, want $want" ;;
	esac
	[ "$want" = EPERM-kernel ] && return 0
	if [ "$want" = EOPNOTSUPP ]; then # as without ACLs: nothing journaled
		records | "$PY" -c '
import json, sys
before, user = int(sys.argv[1]), sys.argv[2]
recs = [r for r in json.load(sys.stdin)[before:]
        if r["user"] == user and r["result"] != 0]
sys.exit(1 if recs else 0)' "$before" "afs-t-$r" ||
			defect "$r: $what: a refusal by afs-t-$r was journaled"
		return 0
	fi
	records | "$PY" -c '
import json, sys
before, user, ok = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "ok"
recs = [r for r in json.load(sys.stdin)[before:] if r["user"] == user]
sys.exit(0 if any((r["result"] == 0) == ok for r in recs) else 1)' \
		"$before" "afs-t-$r" "$want" ||
		defect "$r: $what ($want): no journal record by afs-t-$r"
}

afs init >/dev/null
printf 'hello\n' >"$T/a.txt"
afs put model "$T/a.txt" >/dev/null
start_daemon
A=$M/artifacts
P=$M/pipelines/p/runs
DAY=$(date -u +%F)

check "role grant for each role on /"
for r in reader writer promoter auditor admin; do
	afs role grant "$r" "afs-t-$r" >/dev/null || fail "role grant $r"
done
mkdir -p "$P/root-run/steps/s/outputs" || fail "root's run"
for r in $ROLES; do
	mkdir -p "$P/sealme-$r/steps/s/outputs" || fail "run sealme-$r"
done
printf 'x\n' >"$T/in.txt"
chmod 0644 "$T/in.txt"
printf 's3cret-value\n' >"$T/token"
afs secret set token "$T/token" >/dev/null || fail "secret set"

# want ROLE...: EACCES unless ROLE is one of the given ones.
want() {
	local r=$1
	shift
	case " $* " in *" $r "*) echo ok ;; *) echo EACCES ;; esac
}

for r in $ROLES; do
	check "role $r"
	try "$r" "$(want "$r" reader writer promoter auditor admin)" \
		"ls" ls "$A/model"
	try "$r" "$(want "$r" reader writer promoter auditor admin)" \
		"cat" cat "$A/model/v1/a.txt"
	try "$r" "$(want "$r" writer promoter admin)" \
		"mkdir run" mkdir "$P/r-$r"
	if [ -d "$P/r-$r" ]; then
		as_role "$r" mkdir -p "$P/r-$r/steps/s/outputs"
		try "$r" ok "cp in (own run)" cp "$T/in.txt" \
			"$P/r-$r/steps/s/outputs/in.txt"
	fi
	try "$r" "$(want "$r" admin)" "cp in (root's run)" \
		cp "$T/in.txt" "$P/root-run/steps/s/outputs/in-$r.txt"
	try "$r" "$(want "$r" promoter admin)" "seal root's run" \
		sh -c "echo seal > '$P/sealme-$r/control'"
	try "$r" "$(want "$r" promoter admin)" "alias move" \
		"$AFS" --config "$T/empty.conf" --store "$S" alias set model \
		"prod-$r" v1
	try "$r" "$(want "$r" auditor admin)" "read /audit" \
		cat "$M/audit/$DAY.jsonl"
	try "$r" "$(want "$r" admin)" "read a secret" cat "$M/secrets/token"
	# setfacl: the kernel lets only a node's owner (or root) try; on
	# their own run, a writer or promoter reaches the daemon, which
	# takes named entries (bindings) from an admin only: to anyone else
	# the mount is a file system without ACLs (EOPNOTSUPP, no denial
	# journaled: cp -p and the like are no attempt at governance).
	case $r in
	writer | promoter)
		try "$r" EOPNOTSUPP "setfacl (own run)" \
			setfacl -m u:afs-t-none:r-x "$P/r-$r" ;;
	admin)
		try "$r" ok "setfacl (own run)" \
			setfacl -m u:afs-t-none:r-x "$P/r-$r"
		as_role admin setfacl -x u:afs-t-none "$P/r-$r" ||
			defect "admin: setfacl -x" ;;
	none) # refused on the way, at the lookup of artifacts/
		try "$r" EACCES "setfacl" setfacl -m u:afs-t-none:r-x "$A/model" ;;
	*)
		try "$r" EPERM-kernel "setfacl (not the owner)" \
			setfacl -m u:afs-t-none:r-x "$A/model" ;;
	esac
done

check "a sealed run published the promoter's and admin's seals only"
for r in $ROLES; do
	st=$(cat "$P/sealme-$r/control")
	case $r in
	promoter | admin) [ "$st" = sealed ] || defect "sealme-$r is $st" ;;
	*) [ "$st" = open ] || defect "sealme-$r is $st" ;;
	esac
done

check "an unbound user right after a bound one, same path: still refused"
for i in 1 2 3; do
	as_role reader stat "$A/model/v1/a.txt" >/dev/null ||
		defect "reader: stat"
	as_role reader cat "$A/model/v1/a.txt" >/dev/null ||
		defect "reader: cat"
	as_role none stat "$A/model/v1/a.txt" >/dev/null 2>&1 &&
		defect "none: stat went through after the reader's (round $i)"
	as_role none cat "$A/model/v1/a.txt" >/dev/null 2>&1 &&
		defect "none: cat went through after the reader's (round $i)"
	as_role reader ls "$A/model" >/dev/null || defect "reader: ls"
	as_role none ls "$A/model" >/dev/null 2>&1 &&
		defect "none: ls went through after the reader's (round $i)"
	# A directory's name stays cached: its attributes and ACL may not.
	as_role reader stat "$A/model/v1" >/dev/null || defect "reader: stat dir"
	as_role none stat "$A/model/v1" >/dev/null 2>&1 &&
		defect "none: stat of a directory went through (round $i)"
	as_role reader getfacl -p "$A/model" >/dev/null 2>&1 ||
		defect "reader: getfacl"
	as_role none getfacl -p "$A/model" >/dev/null 2>&1 &&
		defect "none: getfacl went through after the reader's (round $i)"
done

check "a role on one secret reads it, and only it"
afs role grant reader afs-t-none --scope /secrets/token >/dev/null ||
	fail "role grant on a secret"
[ "$(as_role none cat "$M/secrets/token")" = s3cret-value ] ||
	defect "a reader of /secrets/token cannot read it"
[ "$(cat "$M/secrets/token")" = s3cret-value ] || defect "the admin reads another value"
expect_err "Permission denied" as_role reader cat "$M/secrets/token"
afs audit query --path /secrets/token --json | "$PY" -c '
import json, sys
recs = json.load(sys.stdin)
assert any(r["user"] == "afs-t-none" and r["op"] == "open.read" and r["result"] == 0 for r in recs), recs
assert all("s3cret" not in json.dumps(r) for r in recs), "a value in the journal"' ||
	defect "the secret read is not journaled (or its value is)"
afs role revoke reader afs-t-none --scope /secrets/token >/dev/null

check "traverse, not list, above a scope"
afs role grant reader afs-t-none --scope /artifacts/model >/dev/null ||
	fail "role grant --scope"
[ "$(as_role none cat "$A/model/v1/a.txt")" = hello ] ||
	defect "a binding on /artifacts/model does not reach v1/a.txt"
expect_err "Permission denied" as_role none ls "$A"
expect_err "Permission denied" as_role none ls "$M/pipelines"
afs role revoke reader afs-t-none --scope /artifacts/model >/dev/null ||
	fail "role revoke"
expect_err "Permission denied" as_role none cat "$A/model/v1/a.txt"

check "getfacl lists the bindings that apply; ls -l agrees"
getfacl -p "$A/model" >"$T/acl" 2>/dev/null || fail "getfacl"
for r in reader auditor; do
	grep -qx "user:afs-t-$r:r-x" "$T/acl" || defect "no user:afs-t-$r:r-x"
done
for r in writer promoter admin; do
	grep -qx "user:afs-t-$r:rwx" "$T/acl" || defect "no user:afs-t-$r:rwx"
done
grep -q "afs-t-none" "$T/acl" && defect "an unbound user is listed"
grep -qx "other::---" "$T/acl" || defect "other is not ---"
mask=$(sed -n 's/^mask::\(...\)$/\1/p' "$T/acl")
mode=$(stat -c %A "$A/model")
[ "${mode:4:3}" = "$mask" ] || defect "ls -l group bits ${mode:4:3}, mask $mask"
[ "${mode:7:3}" = "---" ] || defect "ls -l other bits ${mode:7:3}"
ls -ld "$A/model" | grep -q '^d.........+' || defect "ls -l shows no ACL mark"

check "setfacl -m by an admin grants reader (r-x) or writer (rwx); -x revokes"
setfacl -m u:afs-t-none:r-x "$A/model" || fail "setfacl -m"
afs role ls --json | "$PY" -c '
import json, sys
b = [x for x in json.load(sys.stdin) if x["name"] == "afs-t-none"]
assert b and b[0]["role"] == "reader" and b[0]["scope"] == "/artifacts/model", b' ||
	defect "setfacl -m u:afs-t-none:r-x made no reader binding on /artifacts/model"
[ "$(as_role none cat "$A/model/v1/a.txt")" = hello ] ||
	defect "the user setfacl granted cannot read"
getfacl -p "$A/model/v1/a.txt" | grep -q "^user:afs-t-none:r--" ||
	defect "getfacl below the scope does not show the binding"
setfacl -x u:afs-t-none "$A/model" || fail "setfacl -x"
expect_err "Permission denied" as_role none cat "$A/model/v1/a.txt"
afs audit query --op role.grant | grep -q "/artifacts/model u:${UID_OF[none]} reader" ||
	defect "the setfacl grant is not journaled"

check "a binding on a group"
groupadd -f afs-t-group
gid=$(getent group afs-t-group | cut -d: -f3)
afs role grant reader @afs-t-group --scope /artifacts/model >/dev/null ||
	fail "role grant @group"
(cd / && setpriv --reuid="${UID_OF[none]}" --regid="$GID" --groups="$gid" \
	cat "$A/model/v1/a.txt") >/dev/null || defect "a member of the group cannot read"
as_role none cat "$A/model/v1/a.txt" >/dev/null 2>&1 &&
	defect "without the group the user still reads"
afs role revoke reader @afs-t-group --scope /artifacts/model >/dev/null

check "the daemon refuses commands too, and journals them"
before=$(nrec)
expect_err "Permission denied" as_role reader "$AFS" --config "$T/empty.conf" \
	--store "$S" gc
expect_err "Permission denied" as_role writer "$AFS" --config "$T/empty.conf" \
	--store "$S" audit query
expect_err "Permission denied" as_role none "$AFS" --config "$T/empty.conf" \
	--store "$S" cat model@v1
records | "$PY" -c '
import json, sys
recs = json.load(sys.stdin)[int(sys.argv[1]):]
ops = {(r["user"], r["op"]) for r in recs if r["result"]}
want = {("afs-t-reader", "gc"), ("afs-t-writer", "audit.query"), ("afs-t-none", "cat")}
assert want <= ops, ops' "$before" || defect "refused commands are not all journaled"

check "lineage shows only what the caller may read"
afs run open p/lin s >/dev/null || fail "run open"
afs run input p/lin/s model@v1 >/dev/null || fail "run input"
printf 'derived\n' >"$P/lin/steps/s/outputs/derived" || fail "write output"
afs run seal p/lin >/dev/null || fail "seal"
afs lineage derived@v1 --upstream | grep -q "model@v1" ||
	defect "the admin's lineage of derived@v1 does not show model@v1"
afs role grant reader afs-t-none --scope /artifacts/derived >/dev/null
as_role none "$AFS" --config "$T/empty.conf" --store "$S" lineage \
	derived@v1 --upstream >"$T/lin.out" 2>"$T/lin.err" ||
	defect "lineage by a reader of derived: $(cat "$T/lin.err")"
grep -q "model@v1" "$T/lin.out" && defect "lineage shows model@v1 to a user who may not read it"
grep -q "left out" "$T/lin.err" || defect "lineage does not say it left something out"
afs role revoke reader afs-t-none --scope /artifacts/derived >/dev/null

check "the journal still verifies"
afs audit verify >/dev/null || defect "audit verify after the matrix"

stop_daemon
finish
