#!/usr/bin/env bash
# Crash consistency: the mount daemon is killed with SIGKILL at random
# moments while several writers work through the mount and the command
# line; after each kill the store is remounted and every promise checked.
#
#   tests/crash/crash.sh path/to/artifactfs [KILLS]     (default 8 kills)
#
# Writers (tests/crash/writer.py), at once, each keeping a ledger of what
# returned 0: w1 (root) copies files into runs (cp; dd conv=fsync; python
# os.fsync), seals them (echo seal > control) and moves an alias
# (artifactfs alias set); w2 does the same as an unprivileged user with the
# writer role (setpriv), minus the alias; w3 (root) also runs `artifactfs
# run exec` steps that read a sealed version and write outputs.  Each round
# the daemon is killed after a random delay, the writers see their commands
# fail, the dead mount is unmounted (fusermount3 -u, -z as a last resort)
# and remounted, and tests/crash/check.py checks the ledgers: sealed
# versions read back with their digests (the mount and `artifactfs cat`),
# fsync'd files of open runs are complete, no run is half sealed, aliases
# are where they were set; then `artifactfs fsck` (unreferenced chunks
# allowed) and `artifactfs audit verify`, also against the newest
# checkpoint the daemons signed.  The writers then start new runs
# and the next kill comes.  One line per kill, a summary, exit 1 on any
# problem.
#
# Environment: CRASH_DELAY_MS=MIN-MAX (default 200-2500), the kill's delay
# after the writers start; CRASH_FULL_EVERY=N (default 1): read every
# version and fsync'd file back in full every N kills (and at the last),
# else the new ones and a sample (CRASH_SAMPLE, default 0.1).  CRASH_KEEP=DIR
# keeps the ledgers and logs there.
source "$(dirname "$0")/../mount/lib.sh" "$@"

KILLS=${2:-8}
[[ $KILLS =~ ^[0-9]+$ && $KILLS -gt 0 ]] || fail "KILLS must be a positive integer"
DELAY=${CRASH_DELAY_MS:-200-2500}
DMIN=${DELAY%-*}
DMAX=${DELAY#*-}
[[ $DMIN =~ ^[0-9]+$ && $DMAX =~ ^[0-9]+$ && $DMIN -le $DMAX ]] ||
	fail "CRASH_DELAY_MS must be MIN-MAX in ms"
FULL_EVERY=${CRASH_FULL_EVERY:-1}
SAMPLE=${CRASH_SAMPLE:-0.1}
HERE=$(cd "$(dirname "$0")" && pwd)
NW=3
WPIDS=()

ensure_user
# The daemon signs a checkpoint of the journal every 100 records, so that
# kills land between checkpoints and records.
DCONF=$T/daemon.conf
echo 'audit: { checkpoint_records = 100; checkpoint_seconds = 1; };' >"$DCONF"
afs init >/dev/null
afs role grant writer "$TUSER" --scope / >/dev/null
for i in $(seq $NW); do
	mkdir -p "$T/w$i"
	: >"$T/w$i/ledger.jsonl"
done
chown -R "$TUID:$TGID" "$T/w2"
CLEANUP+=("stop_writers")
# CRASH_KEEP=DIR keeps the ledgers, the writers' and the daemons' logs.
CLEANUP+=('[ -z "${CRASH_KEEP:-}" ] || cp -r "$T"/w? "$T"/*.log "$T"/*.out "$CRASH_KEEP"/')

# start_writers EPOCH: the three writers, in the background; their pids
# (the writer processes themselves) in WPIDS.
start_writers() {
	local e=$1 i args
	rm -f "$T/stop"
	WPIDS=()
	for i in $(seq $NW); do
		args=("$HERE/writer.py" --mount "$M" --afs "$AFS"
			--conf "$T/empty.conf" --store "$S" --id "$i" --epoch "$e"
			--ledger "$T/w$i/ledger.jsonl" --work "$T/w$i"
			--stop "$T/stop" --seed "$RANDOM$RANDOM-$e-$i")
		case $i in
		1) "$PY" "${args[@]}" --alias 2>"$T/w$i/stderr" & ;;
		2) (cd / && exec setpriv --reuid="$TUID" --regid="$TGID" \
			--clear-groups env HOME=/ PATH=/usr/local/bin:/usr/bin:/bin \
			LC_ALL=C "$PY" "${args[@]}") 2>"$T/w$i/stderr" & ;;
		3) "$PY" "${args[@]}" --exec 2>"$T/w$i/stderr" & ;;
		esac
		WPIDS+=($!)
	done
}

# stop_writers: waits for the writers (they end when the mount dies), 30 s
# at most; then asks them to stop, then kills them (by pid).  Returns 1
# when one had to be stopped or exited non-zero.
stop_writers() {
	local p rc=0
	for p in "${WPIDS[@]}"; do
		if ! wait_gone "$p" 300; then
			echo "   writer $p still running 30 s after the kill" >&2
			: >"$T/stop"
			wait_gone "$p" 100 || kill -KILL "$p" 2>/dev/null
			rc=1
		fi
		wait "$p" 2>/dev/null || rc=1
	done
	WPIDS=()
	return $rc
}

now() {
	date +%s.%N
}

# unmount_dead: the dead mount goes (fusermount3 -u, retried; -z last).
unmount_dead() {
	local i
	for ((i = 0; i < 20; i++)); do
		is_mounted "$M" || return 0
		fusermount3 -u "$M" 2>/dev/null && return 0
		sleep 0.1
	done
	fusermount3 -u -z "$M" || fail "cannot unmount the dead mount $M"
	! is_mounted "$M" || fail "$M still mounted after a lazy unmount"
}

PROBLEMS=0
NVER=0
NFSYNC=0
NCAT=0
# report N MS: checks after kill N (the daemon remounted), one line.
report() {
	local n=$1 ms=$2 full="" rc line nprob=0 p anchor
	local -a probs=()
	if ((n % FULL_EVERY == 0 || n == KILLS)); then
		full=--full
	fi
	"$PY" "$HERE/check.py" --mount "$M" --afs "$AFS" --conf "$T/empty.conf" \
		--store "$S" --state "$T/state.json" --since "$T_START" \
		--killed "$T_KILL" --sample "$SAMPLE" $full \
		"$T"/w*/ledger.jsonl >"$T/check.out" 2>"$T/check.err" ||
		probs+=("the checker failed: $(tail -n 3 "$T/check.err")")
	if [ -s "$T/check.out" ]; then
		eval "$("$PY" -c '
import json, shlex, sys
j = json.load(open(sys.argv[1]))
print("nv=%d nf=%d nc=%d" % (j["versions"], j["fsync"], j["cat"]))
for p in j["problems"]:
    print("probs+=(%s)" % shlex.quote(p))
' "$T/check.out")"
	else
		nv=0 nf=0 nc=0
	fi
	rc=0
	afs fsck >"$T/fsck.out" 2>"$T/fsck.err" || rc=$?
	if [ "$rc" -ne 0 ] ||
		grep -Eq 'missing|corrupt|fails its hash|unreadable' "$T/fsck.err"; then
		probs+=("fsck exited $rc: $(grep -v unreferenced "$T/fsck.err" | head -n 5 | tr '\n' ' ')")
	fi
	rc=0
	afs audit verify >"$T/verify.out" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ] || ! grep -q 'journal intact' "$T/verify.out"; then
		probs+=("audit verify exited $rc: $(head -n 3 "$T/verify.out" | tr '\n' ' ')")
	fi
	# And against the newest checkpoint the daemons wrote: a record they
	# signed must not be lost with the daemon.
	anchor=$(find "$S.keys" -path '*.checkpoints/latest.checkpoint' | head -n 1)
	if [ -n "$anchor" ]; then
		rc=0
		afs audit verify --anchor "$anchor" >"$T/verify.out" 2>&1 || rc=$?
		[ "$rc" -eq 0 ] ||
			probs+=("audit verify --anchor latest.checkpoint exited $rc: $(head -n 3 "$T/verify.out" | tr '\n' ' ')")
	fi
	if grep -q 'checkpoints are off' "$DLOG"; then
		probs+=("the daemon refuses its checkpoints: $(grep 'checkpoints are off' "$DLOG" | head -n 1)")
	fi
	NVER=$((NVER + nv))
	NFSYNC=$((NFSYNC + nf))
	NCAT=$((NCAT + nc))
	[ -z "$WFAIL" ] || probs+=("$WFAIL")
	nprob=${#probs[@]}
	PROBLEMS=$((PROBLEMS + nprob))
	line="kill $n at $ms ms: checked $nv versions, $nf fsync'd files"
	[ -z "$full" ] && line="$line (new and sampled)"
	if [ "$nprob" -eq 0 ]; then
		echo "$line: ok"
	else
		echo "$line: $nprob problems"
		for p in "${probs[@]}"; do
			echo "   - $p"
		done
	fi
}

start_daemon
T0=$(date +%s%N)
for n in $(seq "$KILLS"); do
	T_START=$(now)
	start_writers "$n"
	ms=$((DMIN + (RANDOM * 32768 + RANDOM) % (DMAX - DMIN + 1)))
	sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
	T_KILL=$(now)
	kill -KILL "$DPID"
	wait "$DPID" 2>/dev/null || true
	DPID=""
	WFAIL=""
	stop_writers || WFAIL="a writer did not end by itself or failed: $(tail -q -n 2 "$T"/w?/stderr | tr '\n' ' ')"
	unmount_dead
	start_daemon
	report "$n" "$ms"
done
# The checker is not blind: false promises planted in a ledger are caught.
# (From a copy of the rounds' state: what was already read through
# `artifactfs cat` is not read that way again.)
cp "$T/state.json" "$T/plant.state"
want=$("$PY" "$HERE/check.py" --mount "$M" --afs "$AFS" --conf "$T/empty.conf" \
	--store "$S" --state "$T/plant.state" --plant "$T/planted.jsonl" \
	"$T"/w*/ledger.jsonl)
"$PY" "$HERE/check.py" --mount "$M" --afs "$AFS" --conf "$T/empty.conf" \
	--store "$S" --state "$T/plant.state" --full \
	"$T"/w*/ledger.jsonl "$T/planted.jsonl" >"$T/plant.out"
# Each planted promise must be named: the run that never was, and each
# wrong digest.
got=$("$PY" -c '
import json, sys
p = json.load(open(sys.argv[1]))["problems"]
print(sum("w9-never" in x for x in p) + sum("0" * 64 in x for x in p))
' "$T/plant.out")
if [ "$got" -lt "$want" ]; then
	echo "the checker found $got of $want planted problems: $(cat "$T/plant.out")"
	PROBLEMS=$((PROBLEMS + 1))
else
	echo "planted: $want false promises, $got problems found"
fi
stop_daemon
secs=$((($(date +%s%N) - T0) / 1000000000))
echo "crash: $KILLS kills in $secs s; checked $NVER versions and $NFSYNC" \
	"fsync'd files ($NCAT files through artifactfs cat); $PROBLEMS problems"
[ "$PROBLEMS" -eq 0 ] || fail "$PROBLEMS problems after $KILLS kills"
echo "PASS: $TEST_NAME"
