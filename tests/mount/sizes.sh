#!/usr/bin/env bash
# The files the mount makes up show their real sizes in `ls -l` and stat
# (run.json, control, the audit day files, secrets), as root and as a
# user who may read them; artifacts/NAME has its newest version's time
# as its mtime (not the mount's).
source "$(dirname "$0")/lib.sh" "$@"
ensure_user

afs init >/dev/null
printf 's3cr3t-value' >"$T/value"
afs secret set token "$T/value" >/dev/null || fail "secret set"
mkdir -p "$T/src"
echo one >"$T/src/a.txt"
afs put model "$T/src" >/dev/null || fail "put v1"
sleep 1.1
start_daemon
P=$M/pipelines/train/runs
A=$M/artifacts
setfacl -m "u:$TUSER:rwx" "$M/pipelines" || fail "setfacl writer"
as_user mkdir -p "$P/r1/steps/fit/outputs" || fail "mkdir -p run"

# size_ok WHO FILE: stat's size equals the bytes a read gives.
size_ok() {
	local who=$1 f=$2 st n
	local -a as=()
	[ "$who" = user ] && as=(as_user)
	st=$("${as[@]}" stat -c %s "$f") || { defect "$who: stat $f"; return; }
	n=$("${as[@]}" cat "$f" | wc -c) || { defect "$who: read $f"; return; }
	if [ "$st" = "$n" ] && [ "$n" -gt 0 ]; then
		echo "   ok: $who: ${f#"$M"/} $st bytes"
	else
		defect "$who: ${f#"$M"/}: stat says $st bytes, a read gives $n"
	fi
}

check "run.json and control: stat's size is what a read gives"
size_ok root "$P/r1/run.json"
size_ok user "$P/r1/run.json"
size_ok root "$P/r1/control"
ls -l "$P/r1/run.json" | grep -qv ' 0 ' || defect "ls -l shows run.json as empty"
as_user sh -c "echo x > '$P/r1/steps/fit/outputs/f.txt'"
as_user sh -c "echo seal > '$P/r1/control'" || fail "seal"
size_ok root "$P/r1/run.json"
size_ok root "$P/r1/control"

check "the audit day files and secrets"
DAY=$(date -u +%F)
size_ok root "$M/audit/$DAY.jsonl"
size_ok root "$M/secrets/token"
[ "$(stat -c %s "$M/secrets/token")" = 12 ] ||
	defect "secrets/token: size $(stat -c %s "$M/secrets/token")"

check "artifacts/NAME: mtime = its newest version's time"
want=$(afs ls --json model | "$PY" -c 'import json,sys,datetime
v = json.load(sys.stdin)[-1]["created"]
print(int(datetime.datetime.fromisoformat(v.replace("Z", "+00:00")).timestamp()))')
[ "$(stat -c %Y "$A/model")" = "$want" ] ||
	defect "artifacts/model mtime $(stat -c %Y "$A/model"), want $want (its newest version)"
[ "$(stat -c %Y "$A/model")" != "$(stat -c %Y "$A")" ] ||
	defect "artifacts/model shows the mount's time"
[ "$(stat -c %Y "$A/f.txt")" -ge "$(stat -c %Y "$A/model")" ] ||
	defect "artifacts/f.txt (sealed later) is older than model"

stop_daemon
finish
