#!/usr/bin/env bash
# The ACL view agrees with enforcement for every role: for each role (and
# a user with none) and each kind of file, in a run the user owns and in
# another user's run, access(2) says what open(2) then does (R_OK and
# O_RDONLY, W_OK and O_WRONLY), and getfacl's effective bits for the user
# (ls -l's for the owner) say the same about writing.
source "$(dirname "$0")/lib.sh" "$@"
command -v getfacl >/dev/null || skip "no getfacl (package acl)"
command -v setpriv >/dev/null || skip "no setpriv"
command -v useradd >/dev/null || skip "no useradd"

ROLES="none reader writer promoter auditor admin"
declare -A UID_OF
for r in $ROLES; do
	make_user "afs-t-$r"
	UID_OF[$r]=$(id -u "afs-t-$r")
done
GID=$(getent group nogroup | cut -d: -f3)
GID=${GID:-65534}
as_role() {
	local r=$1
	shift
	(cd / && setpriv --reuid="${UID_OF[$r]}" --regid="$GID" --clear-groups \
		env HOME=/ PATH=/usr/local/bin:/usr/bin:/bin LC_ALL=C "$@")
}

afs init >/dev/null
printf 'hello\n' >"$T/a.txt"
afs put model "$T/a.txt" >/dev/null
start_daemon
# Right after the mount the command socket may not answer yet (the store
# then reads as in use): wait for it.
for ((i = 0; i < 100; i++)); do
	afs role ls >/dev/null 2>&1 && break
	sleep 0.1
done
for r in reader writer promoter auditor admin; do
	afs role grant "$r" "afs-t-$r" >/dev/null || fail "role grant $r"
done
P=$M/pipelines/p/runs
# A run for each role that may open one, with one file of each kind.
OWNERS="writer promoter admin"
for r in $OWNERS; do
	as_role "$r" mkdir -p "$P/r-$r/steps/s/outputs/d" || fail "run of $r"
	as_role "$r" sh -c "echo x > '$P/r-$r/steps/s/outputs/f'" ||
		fail "file in the run of $r"
done

cat >"$T/probe.py" <<'PY'
import os, sys
out = []
for path in sys.argv[1:]:
    isdir = os.path.isdir(path)
    for what, mode in (("r", os.R_OK), ("w", os.W_OK)):
        said = os.access(path, mode)
        if isdir and what == "w":
            try:  # creating in it: what W on a directory promises
                name = os.path.join(path, ".probe-%d" % os.getuid())
                os.close(os.open(name, os.O_WRONLY | os.O_CREAT, 0o644))
                os.unlink(name)
                did = True
            except OSError:
                did = False
        elif isdir:
            try:
                os.listdir(path)
                did = True
            except OSError:
                did = False
        else:
            flags = os.O_RDONLY if what == "r" else os.O_WRONLY
            if what == "w" and path.endswith("trace.jsonl"):
                flags |= os.O_APPEND
            try:
                os.close(os.open(path, flags))
                did = True
            except OSError:
                did = False
        print(path, what, int(said), int(did))
PY
chmod 0644 "$T/probe.py"

# effective USER_UID PATH: the rwx getfacl gives that uid (user:: when it
# owns the node), the mask applied; "---" when no entry names it.
effective() {
	getfacl -n -p "$2" 2>/dev/null | "$PY" -c '
import sys
uid, owner = sys.argv[1], sys.argv[2]
ent, mask, user_obj = None, None, "---"
for line in sys.stdin:
    line = line.split("#")[0].strip()
    if line.startswith("user::"): user_obj = line[6:9]
    elif line.startswith("user:" + uid + ":"): ent = line.split(":")[2][:3]
    elif line.startswith("mask::"): mask = line[6:9]
if uid == owner:
    print(user_obj)
elif ent is None:
    print("---")
else:
    m = mask or "rwx"
    print("".join(c if m[i] != "-" else "-" for i, c in enumerate(ent)))
' "$1" "$(stat -c %u "$2")"
}

NCHECK=0
for r in $ROLES; do
	for o in $OWNERS; do
		run=$P/r-$o
		rel="owner"
		[ "$r" = "$o" ] || rel="not owner"
		paths=("$run/steps/s/outputs/f" "$run/steps/s/outputs/d"
			"$run/steps/s/outputs" "$run/control"
			"$run/steps/s/trace.jsonl" "$run/run.json")
		as_role "$r" "$PY" "$T/probe.py" "${paths[@]}" \
			>"$T/probe.out" 2>&1 || true
		while read -r path what said did; do
			NCHECK=$((NCHECK + 1))
			[ "$said" = "$did" ] ||
				defect "$r ($rel of r-$o): ${path#"$M"} $what: access says $said, open did $did"
		done <"$T/probe.out"
		# getfacl and ls -l on writing, for each file the role reaches.
		for path in "${paths[@]}"; do
			eff=$(effective "${UID_OF[$r]}" "$path")
			grep -q "^$path w 1 1\$" "$T/probe.out" && w=1 || w=0
			[ "${eff:1:1}" = w ] && shown=1 || shown=0
			[ "$shown" = "$w" ] ||
				defect "$r ($rel of r-$o): ${path#"$M"}: getfacl says ${eff}, writing works: $w"
		done
	done
done
echo "   $NCHECK access/open pairs checked"

check "a sealed version: nobody may write, everybody with a role reads"
for r in $ROLES; do
	as_role "$r" "$PY" "$T/probe.py" "$M/artifacts/model/v1/a.txt" \
		>"$T/probe.out" 2>&1 || true
	while read -r path what said did; do
		[ "$said" = "$did" ] ||
			defect "$r: ${path#"$M"} $what: access says $said, open did $did"
	done <"$T/probe.out"
done

stop_daemon
finish
