#!/usr/bin/env bash
# Automatic signed checkpoints of the audit journal, written by the mount
# daemon every N records (audit.checkpoint_records) or T seconds
# (audit.checkpoint_seconds) into audit.checkpoint_dir, or beside the
# journal key by default: `audit verify --anchor` of the latest one passes,
# and fails once the journal's tail is cut off; a last one is written at
# unmount; a failure to write is logged and retried; a journal that no
# longer extends the last checkpoint when mounted stops them.
source "$(dirname "$0")/lib.sh" "$@"
TAMPER=$(dirname "$AFS")/../tests/store/tamper_audit
[ -x "$TAMPER" ] || skip "no tamper_audit tool"

OUT=$M/pipelines/p/runs/r1/steps/s/outputs

# head_seq: the journal's last record.
head_seq() {
	afs audit query --json |
		"$PY" -c 'import json, sys; j = json.load(sys.stdin); print(j[-1]["seq"] if j else 0)'
}
# cp_seq FILE: the record a checkpoint file names.
cp_seq() {
	"$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["seq"])' "$1"
}
# seq_files DIR: its <seq>.checkpoint files, by number.
seq_files() {
	find "$1" -maxdepth 1 -name '[0-9]*.checkpoint' -printf '%f\n' 2>/dev/null |
		sort -n
}
# count DIR: how many of them.
count() {
	seq_files "$1" | wc -l
}
# wait_for SECONDS CMD...: until CMD succeeds; false after SECONDS.
wait_for() {
	local n=$(($1 * 10)) i
	shift
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
more_than() {
	[ "$(count "$1")" -gt "$2" ]
}
# write_files FIRST LAST: one small file each through the mount (a record
# at open, one with its commit, one at close).
write_files() {
	local i
	for ((i = $1; i <= $2; i++)); do
		echo "$i" >"$OUT/f$i"
	done
}

afs init >/dev/null

# ----------------------------------------------------- every N records
CP=$T/checkpoints
DCONF=$T/records.conf
cat >"$DCONF" <<EOF
audit: { checkpoint_records = 5; checkpoint_seconds = 0;
         checkpoint_dir = "$CP"; };
EOF
start_daemon
mkdir -p "$OUT"

check "every 5 records: checkpoints appear as the journal grows"
write_files 1 4
wait_for 10 test -f "$CP/latest.checkpoint" ||
	fail "no $CP/latest.checkpoint 10 s after $(head_seq) records"
n1=$(count "$CP")
sleep 1.5 # the next records in another of the thread's rounds
write_files 5 8
wait_for 10 more_than "$CP" "$n1" ||
	fail "no new checkpoint after more records: $(seq_files "$CP" | tr '\n' ' ')"
sleep 2 # the last records (a close is journaled after close(2) returns)
echo "   $(seq_files "$CP" | tr '\n' ' ')"
prev=0
for f in $(seq_files "$CP"); do
	s=$(cp_seq "$CP/$f")
	[ "$f" = "$s.checkpoint" ] || defect "$f names record $s"
	[ "$s" -ge $((prev + 5)) ] || defect "$f is $((s - prev)) records after the one before"
	prev=$s
	afs audit verify --anchor "$CP/$f" >/dev/null || defect "verify --anchor $f failed"
done
last=$(seq_files "$CP" | tail -n1)
cmp -s "$CP/latest.checkpoint" "$CP/$last" ||
	defect "latest.checkpoint is not $last"
afs audit verify --anchor "$CP/latest.checkpoint" | grep -q "extending checkpoint" ||
	defect "verify --anchor latest.checkpoint failed while mounted"
[ -z "$(find "$CP" -name '*.tmp.*')" ] || defect "temporary files left in $CP"

check "at unmount: a last checkpoint of the head"
echo seal >"$M/pipelines/p/runs/r1/control"
stop_daemon
head=$(head_seq)
[ "$(cp_seq "$CP/latest.checkpoint")" = "$head" ] ||
	defect "latest.checkpoint names record $(cp_seq "$CP/latest.checkpoint"), the head is $head"
[ -f "$CP/$head.checkpoint" ] || defect "no $head.checkpoint"
grep -q "checkpoint of audit record $head written" "$DLOG" ||
	defect "the daemon did not log the last checkpoint"
afs audit verify --anchor "$CP/latest.checkpoint" >/dev/null ||
	defect "verify --anchor latest.checkpoint failed after unmount"

check "the tail cut off: verify --anchor latest.checkpoint fails"
cp -a "$S" "$T/copy"
"$TAMPER" "$T/copy" truncate $((head - 2)) || fail "tamper_audit truncate failed"
copy() {
	env ARTIFACTFS_KEY_DIR="$S.keys" "$AFS" --config "$T/empty.conf" \
		--store "$T/copy" "$@"
}
copy audit verify | grep -q "$((head - 2)) records verified" ||
	defect "the cut journal does not verify as a chain"
expect_err "journal cut off" copy audit verify --anchor "$CP/latest.checkpoint"
rm -rf "$T/copy"

# ----------------------------------------------------- every T seconds
check "every second, by default beside the journal key"
DCONF=$T/seconds.conf
echo 'audit: { checkpoint_records = 0; checkpoint_seconds = 1; };' >"$DCONF"
start_daemon
key=$(find "$S.keys" -maxdepth 1 -name '*.journal.key')
DEF=${key%.journal.key}.checkpoints # <store id>.checkpoints
# The records written while unmounted are covered a second after mounting.
wait_for 10 test -f "$DEF/latest.checkpoint" ||
	fail "no $DEF/latest.checkpoint after 10 s"
[ "$(cp_seq "$DEF/latest.checkpoint")" = "$head" ] ||
	defect "the first checkpoint names record $(cp_seq "$DEF/latest.checkpoint"), not $head"
mkdir -p "$M/pipelines/p/runs/r2/steps/s/outputs"
n=$(count "$DEF")
echo t >"$M/pipelines/p/runs/r2/steps/s/outputs/t"
latest_is_head() {
	[ "$(cp_seq "$DEF/latest.checkpoint")" = "$(head_seq)" ]
}
wait_for 10 more_than "$DEF" "$n" || fail "no checkpoint of the new records"
wait_for 10 latest_is_head ||
	fail "latest.checkpoint does not catch up with the head: $(cp_seq "$DEF/latest.checkpoint") < $(head_seq)"
head=$(head_seq)
cmp -s "$DEF/latest.checkpoint" "$DEF/$head.checkpoint" ||
	defect "latest.checkpoint is not $head.checkpoint"
afs audit verify --anchor "$DEF/latest.checkpoint" >/dev/null ||
	defect "verify --anchor failed"

check "nothing new while the head stays put, nor at unmount"
n=$(count "$DEF")
sleep 2.5
[ "$(count "$DEF")" = "$n" ] || defect "checkpoints written with no new record"
stop_daemon
[ "$(count "$DEF")" = "$n" ] || defect "a checkpoint at unmount with no new record"

# ------------------------------------------------ failures are retried
check "a directory that cannot be made: logged, retried, the mount serves"
touch "$T/blocked"
DCONF=$T/blocked.conf
cat >"$DCONF" <<EOF
audit: { checkpoint_records = 1; checkpoint_dir = "$T/blocked/cps"; };
EOF
start_daemon
echo x >"$M/pipelines/p/runs/r2/steps/s/outputs/x"
wait_for 10 grep -q "will retry" "$DLOG" || fail "no failure logged"
grep -q "cannot create $T/blocked/cps" "$DLOG" || defect "the log does not say why"
[ "$(cat "$M/pipelines/p/runs/r2/steps/s/outputs/x")" = x ] ||
	defect "the mount does not serve after the failure"
rm "$T/blocked"
mkdir "$T/blocked"
wait_for 15 test -f "$T/blocked/cps/latest.checkpoint" ||
	fail "no checkpoint once the directory could be made"
stop_daemon
afs audit verify --anchor "$T/blocked/cps/latest.checkpoint" >/dev/null ||
	defect "verify --anchor of the retried checkpoint failed"

# ------------------------------------- a journal cut off while unmounted
check "a journal that does not extend latest.checkpoint: no checkpoint this mount"
head=$(head_seq)
"$TAMPER" "$S" truncate $((head - 3)) || fail "tamper_audit truncate failed"
before=$(sha "$T/blocked/cps/latest.checkpoint")
n=$(count "$T/blocked/cps")
start_daemon
wait_for 10 grep -q "checkpoints are off for this mount" "$DLOG" ||
	fail "the daemon did not say that the journal does not extend the checkpoint"
grep -q "journal cut off" "$DLOG" || defect "the log does not say why"
echo y >"$M/pipelines/p/runs/r2/steps/s/outputs/y"
sleep 2
stop_daemon
[ "$(sha "$T/blocked/cps/latest.checkpoint")" = "$before" ] ||
	defect "latest.checkpoint was replaced"
[ "$(count "$T/blocked/cps")" = "$n" ] || defect "a checkpoint was written"

# ------------------------------------------------- a store with no journal
check "a store made with --no-journal: no checkpoint thread"
n=$(count "$CP")
S=$T/nojournal
"$AFS" --config "$T/empty.conf" --store "$S" init --no-journal >/dev/null
DCONF=$T/records.conf
start_daemon
mkdir -p "$OUT"
write_files 1 6
sleep 1.5
stop_daemon
grep -q "checkpoint" "$DLOG" && defect "checkpoint lines in the log of a store without journal"
[ ! -e "$S.keys" ] || defect "$S.keys exists"
[ "$(count "$CP")" = "$n" ] || defect "a checkpoint was written"

finish
