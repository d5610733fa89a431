#!/usr/bin/env bash
# run exec --secret NAME[@vN][=VAR]: the value reaches the command's
# environment only; the run notes secret.NAME=vN; the read is journaled;
# a caller without a role on /secrets/NAME gets nothing and the command
# does not run.  A distinctive value used in runs (in the environment, a
# param, a trace line, an error the daemon logs) is then found nowhere:
# not in the raw files of the store directory, nor in the key directory's
# other files, the step's env/ snapshot, run.json, the trace, the journal
# or the daemon log.  A key file open to others stops the daemon from
# starting.  Needs root and /dev/fuse (tests/mount/lib.sh skips without).
# shellcheck source=tests/mount/lib.sh
source "$(dirname "$0")/../mount/lib.sh" "$@"
unset ARTIFACTFS_RUN ARTIFACTFS_STEP

rnd() { head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
VALUE="Zq9x$(rnd)"
OLD="Wk4y$(rnd)"
DBPW="Pv7m$(rnd)"
printf '%s' "$VALUE" >"$T/value"
printf '%s' "$OLD" >"$T/old"

aexec() {
	afs run exec "$@"
}

afs init >/dev/null
afs secret set api-token "$T/old" >/dev/null
afs secret set api-token "$T/value" >/dev/null
printf '%s' "$DBPW" | afs secret set DB_PASS - >/dev/null
KEYDIR=$S.keys
ID=$(basename "$(ls "$KEYDIR"/*.journal.key)" .journal.key)

check "a key file open to others: the daemon does not start, and says why"
chmod 0644 "$KEYDIR/$ID.secret.key"
rc=0
"$AFS" --config "$T/empty.conf" mount --store "$S" "$M" -f -o allow_other \
	>"$T/refused.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "the daemon started with a key open to others"
is_mounted "$M" && fail "mounted with a key open to others"
grep -q "mode 0644" "$T/refused.log" && grep -q "chmod 600" "$T/refused.log" ||
	defect "no clear message: $(cat "$T/refused.log")"
chmod 0600 "$KEYDIR/$ID.secret.key"

start_daemon

check "the value is in CMD's environment (VAR, default NAME, NAME@vN)"
cat >"$T/step.sh" <<'EOS'
set -e
[ "$TOKEN" = "$(cat "$1/value")" ] || { echo "TOKEN differs" >&2; exit 3; }
[ "$OLD_TOKEN" = "$(cat "$1/old")" ] || { echo "OLD_TOKEN differs" >&2; exit 4; }
[ -n "$DB_PASS" ] || { echo "no DB_PASS" >&2; exit 5; }
# The value in a trace line (JSON, as a tool call might log it).
printf '{"kind":"tool","msg":"called with %s"}\n' "$TOKEN" \
	>>"$ARTIFACTFS_MOUNT/pipelines/p/runs/r1/steps/s/trace.jsonl"
mkdir "$ARTIFACTFS_OUTPUTS/out"
echo ok >"$ARTIFACTFS_OUTPUTS/out/ok.txt"
EOS
# A variable of the caller's environment that holds the value (its name
# says nothing): the snapshot of the environment must not keep it.
MY_SETTING="url=https://x/?k=$VALUE" aexec --pipeline p --step s --run r1 \
	--secret api-token=TOKEN --secret api-token@v1=OLD_TOKEN \
	--secret DB_PASS --param "leak=$VALUE" -- bash "$T/step.sh" "$T" \
	2>"$T/exec.err" || fail "run exec failed: $(cat "$T/exec.err")"

check "run.json notes the names and versions, never the value"
RJ=$M/pipelines/p/runs/r1/run.json
"$PY" - "$RJ" <<'EOP' || defect "run.json: $(cat "$RJ")"
import json, sys
j = json.load(open(sys.argv[1]))
notes = j.get("notes", j)
flat = json.dumps(j)
assert '"secret.api-token": "v1"' in flat or '"secret.api-token":"v1"' in flat, flat
assert "secret.DB_PASS" in flat, flat
assert "[secret api-token]" in flat, flat
EOP

check "the reads are journaled, by path, with their outcome"
afs audit query --op secret.read --json >"$T/reads.json"
"$PY" - "$T/reads.json" <<'EOP' || defect "secret.read records: $(cat "$T/reads.json")"
import json, sys
paths = [(r["path"], r["result"]) for r in json.load(open(sys.argv[1]))]
assert paths.count(("/secrets/api-token", 0)) == 2, paths
assert ("/secrets/DB_PASS", 0) in paths, paths
EOP

afs audit query --op secret.use --json >"$T/uses.json"
"$PY" - "$T/uses.json" <<'EOP' || defect "secret.use records: $(cat "$T/uses.json")"
import json, sys
paths = sorted(r["path"] for r in json.load(open(sys.argv[1])))
assert paths == ["/pipelines/p/runs/r1/steps/s (DB_PASS v1)",
                 "/pipelines/p/runs/r1/steps/s (api-token v1)",
                 "/pipelines/p/runs/r1/steps/s (api-token v2)"], paths
EOP

check "the trace keeps the line, with a marker for the value"
afs trace show p/r1 --json >"$T/trace.json"
grep -qF "called with [secret api-token]" "$T/trace.json" ||
	defect "trace: $(cat "$T/trace.json")"

check "an error the daemon logs names the secret, not its value"
mkdir "$M/$VALUE" 2>/dev/null && defect "mkdir at the root succeeded"
grep -qF "[secret api-token]" "$DLOG" ||
	defect "the daemon log has no marker: $(tail -5 "$DLOG")"

check "a caller without a role on the secret gets nothing; CMD does not run"
ensure_user
afs role grant writer "$TUSER" --scope /pipelines/p >/dev/null
rc=0
as_user "$AFS" --config "$T/empty.conf" --store "$S" run exec --pipeline p \
	--step s2 --secret api-token=TOKEN -- sh -c 'echo RAN' \
	>"$T/user.out" 2>"$T/user.err" || rc=$?
[ "$rc" -ne 0 ] || defect "run exec with a refused secret exited 0"
grep -q "Permission denied" "$T/user.err" || defect "stderr: $(cat "$T/user.err")"
grep -q RAN "$T/user.out" && defect "CMD ran without its secret"
afs audit query --op secret.read --denied --json | "$PY" -c '
import json, sys
assert any(r["path"] == "/secrets/api-token" for r in json.load(sys.stdin))' ||
	defect "the refusal is not journaled"

check "with a role on /secrets/api-token the user's step gets it"
afs role grant reader "$TUSER" --scope /secrets/api-token >/dev/null
as_user "$AFS" --config "$T/empty.conf" --store "$S" run exec --pipeline p \
	--step s3 --secret api-token=TOKEN -- sh -c '[ -n "$TOKEN" ] && echo RAN' \
	>"$T/user.out" 2>"$T/user.err" || defect "stderr: $(cat "$T/user.err")"
grep -q RAN "$T/user.out" || defect "the user's step did not run"
expect_err "not NAME" aexec --pipeline p --step s --secret =X -- true
expect_err "no secret 'nope'" aexec --pipeline p --step s4 --secret nope -- true

check "the value is nowhere: store files, other key files, env/, journal, log"
for v in "$VALUE" "$OLD" "$DBPW"; do
	grep -rlaF -- "$v" "$S" && defect "a value in the store directory"
	find "$KEYDIR" -type f ! -name "$ID.secret.key" -print0 |
		xargs -0 -r grep -laF -- "$v" && defect "a value in the key directory"
	grep -rlaF -- "$v" "$M/pipelines/p/runs/r1" &&
		defect "a value under the run (env/, run.json, trace)"
	afs audit query --json | grep -qF -- "$v" && defect "a value in the journal"
	afs trace show p/r1 --json | grep -qF -- "$v" && defect "a value in the trace"
	grep -qaF -- "$v" "$DLOG" && defect "a value in the daemon log"
done
ls "$M/pipelines/p/runs/r1/steps/s/env/" >/dev/null ||
	defect "the step has no env/ snapshot"
grep -qF "[secret api-token]" "$M/pipelines/p/runs/r1/steps/s/env/environ.txt" ||
	defect "environ.txt: $(cat "$M/pipelines/p/runs/r1/steps/s/env/environ.txt")"

stop_daemon
for v in "$VALUE" "$OLD" "$DBPW"; do
	grep -rlaF -- "$v" "$S" && defect "a value in the store directory (unmounted)"
done
afs audit verify >/dev/null || defect "journal not intact"
[ -n "${KEEP_JOURNAL:-}" ] && afs audit query --json >"$KEEP_JOURNAL"
finish
