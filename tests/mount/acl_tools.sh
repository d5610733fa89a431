#!/usr/bin/env bash
# The ACL xattr takes what tools write.  As a run's owner (a writer, not
# root): cp -a, cp -p, cp --preserve=mode, sed -i and mv between steps set
# a minimal ACL (or the one getfacl shows) after copying: each is a chmod,
# exits 0 and prints nothing, and no denial is journaled.  An ACL with
# other named entries is EOPNOTSUPP from the owner, not journaled; from
# an admin it still becomes bindings.  chown to oneself is accepted.
source "$(dirname "$0")/lib.sh" "$@"
ensure_user
command -v setfacl >/dev/null || skip "no setfacl (package acl)"

afs init >/dev/null
start_daemon
# Right after the mount the command socket may not answer yet (the store
# then reads as in use): wait for it.
for ((i = 0; i < 100; i++)); do
	afs role ls >/dev/null 2>&1 && break
	sleep 0.1
done
afs role grant writer "$TUSER" --scope /pipelines >/dev/null ||
	fail "role grant writer"
R=$M/pipelines/p/runs/r1
as_user mkdir -p "$R/steps/a/outputs" "$R/steps/b/outputs" ||
	fail "mkdir of the run as $TUSER"
OA=$R/steps/a/outputs
OB=$R/steps/b/outputs

SRC=$T/src
mkdir -p "$SRC/tree/sub"
printf '#!/bin/sh\necho hi\n' >"$SRC/tree/run.sh"
chmod 0750 "$SRC/tree/run.sh"
echo data >"$SRC/tree/sub/data.txt"
chmod 0640 "$SRC/tree/sub/data.txt"
echo "a line" >"$SRC/one.txt"
chmod 0600 "$SRC/one.txt"
chown -R "$TUID:$TGID" "$SRC"
chmod 0755 "$SRC" "$SRC/tree" "$SRC/tree/sub"

records() {
	afs audit query --json
}
nrec() {
	records | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))'
}
# quiet WHAT CMD...: CMD as the user exits 0 with nothing on stderr.
quiet() {
	local what=$1 rc=0
	shift
	as_user "$@" 2>"$T/.err" || rc=$?
	if [ "$rc" -ne 0 ] || [ -s "$T/.err" ]; then
		defect "$what: exit $rc: $(head -c 300 "$T/.err")"
	else
		echo "   ok: $what"
	fi
}
# mode_is FILE OCTAL: the stored mode, as the sealed version will keep it
# (the owner's bits as ls shows them: the roles cap the rest).
owner_bits() {
	stat -c %A "$1" | cut -c2-4
}

BEFORE=$(nrec)
check "cp -a, cp -p and cp --preserve=mode of a tree and files"
quiet "cp -a tree" cp -a "$SRC/tree" "$OA/tree"
quiet "cp -p file" cp -p "$SRC/one.txt" "$OA/one.txt"
quiet "cp --preserve=mode" cp --preserve=mode "$SRC/one.txt" "$OA/two.txt"
[ "$(owner_bits "$OA/tree/run.sh")" = rwx ] ||
	defect "cp -a kept no x bit: $(stat -c %A "$OA/tree/run.sh")"
[ "$(owner_bits "$OA/one.txt")" = rw- ] ||
	defect "cp -p: $(stat -c %A "$OA/one.txt")"
cmp -s "$SRC/tree/sub/data.txt" "$OA/tree/sub/data.txt" ||
	defect "cp -a: content differs"

check "sed -i in place"
quiet "sed -i" sed -i 's/line/LINE/' "$OA/one.txt"
[ "$(cat "$OA/one.txt")" = "a LINE" ] || defect "sed -i: $(cat "$OA/one.txt")"
[ "$(owner_bits "$OA/one.txt")" = rw- ] ||
	defect "sed -i changed the mode: $(stat -c %A "$OA/one.txt")"

check "mv between steps (a copy that keeps the mode and the ACL getfacl shows)"
quiet "mv file a -> b" mv "$OA/two.txt" "$OB/two.txt"
quiet "mv tree a -> b" mv "$OA/tree" "$OB/tree"
[ -e "$OA/two.txt" ] && defect "mv left $OA/two.txt"
[ "$(owner_bits "$OB/tree/run.sh")" = rwx ] ||
	defect "mv lost the x bit: $(stat -c %A "$OB/tree/run.sh")"
quiet "cp -a within the run" cp -a "$OB/tree" "$OA/tree2"

check "a minimal ACL is a chmod"
quiet "setfacl -m u::r-x (minimal)" setfacl -m u::r-x "$OA/one.txt"
[ "$(owner_bits "$OA/one.txt")" = r-x ] ||
	defect "setfacl -m u::r-x: $(stat -c %A "$OA/one.txt")"
quiet "chmod back" chmod 0644 "$OA/one.txt"

check "chown to oneself is accepted"
quiet "chown user:group" chown "$TUID:$TGID" "$OA/one.txt"
quiet "chown user" chown "$TUID" "$OA/one.txt"
expect_err "Operation not permitted" as_user chown 0 "$OA/one.txt"

check "none of that was journaled as a refusal"
records | "$PY" -c '
import json, sys
before, user = int(sys.argv[1]), sys.argv[2]
bad = [r for r in json.load(sys.stdin)[before:]
       if r["user"] == user and r["result"] != 0 and r["op"] != "setattr"]
for r in bad:
    print("refusal journaled:", r["op"], r["path"], r["result"])
sys.exit(1 if bad else 0)' "$BEFORE" "$TUSER" ||
	defect "tools' ACL writes were journaled as refusals"

check "other named entries from the owner: EOPNOTSUPP, not journaled"
BEFORE=$(nrec)
expect_err "Operation not supported" as_user setfacl -m "u:nobody:r-x" "$OA/one.txt"
expect_err "Operation not supported" as_user setfacl -m "u:nobody:rwx" "$R"
records | "$PY" -c '
import json, sys
before, user = int(sys.argv[1]), sys.argv[2]
bad = [r for r in json.load(sys.stdin)[before:] if r["user"] == user]
sys.exit(1 if bad else 0)' "$BEFORE" "$TUSER" ||
	defect "an owner's setfacl was journaled"
afs role ls | grep -q nobody && defect "an owner's setfacl made a binding"

check "setfacl by an admin still maps to roles"
setfacl -m u:nobody:r-x "$R" || fail "admin setfacl -m"
afs role ls --scope /pipelines/p/runs/r1 | grep -q "nobody *reader" ||
	defect "admin setfacl made no reader binding: $(afs role ls)"
setfacl -x u:nobody "$R" || fail "admin setfacl -x"
afs role ls | grep -q nobody && defect "admin setfacl -x left the binding"

check "root (admin) copying with cp -a into a run changes no binding"
NB=$(afs role ls | wc -l)
mkdir -p "$R/steps/c/outputs" 2>/dev/null || true
cp -a "$SRC/tree" "$OA/root-tree" 2>"$T/.err" ||
	defect "root cp -a: $(cat "$T/.err")"
[ "$(afs role ls | wc -l)" = "$NB" ] ||
	defect "root's cp -a changed the bindings: $(afs role ls)"

check "seal keeps the modes"
as_user sh -c "echo seal > '$R/control'" || fail "seal"
[ "$(owner_bits "$M/artifacts/tree/v1/run.sh")" = r-x ] ||
	defect "sealed run.sh: $(stat -c %A "$M/artifacts/tree/v1/run.sh")"

stop_daemon
finish
