#!/usr/bin/env bash
# tests/exerciser/afsx.sh ARTIFACTFS AFSX - the random-operation
# exerciser on a fresh store: mounts it (allow_other), and for each of
# several test users (granted the writer role) opens a run as that user
# and runs afsx in it, as that user, with several worker processes; the
# users run at the same time.  Each afsx checks every step against a
# shadow directory on the local disk, seals its run through the control
# file and compares the sealed version with the shadow.
#
# Short by default (20,000 operations over 2 users x 2 processes).  The
# environment sets the size (scripts/exerciser_long.sh uses it):
#   AFSX_OPS     operations in total            (20000)
#   AFSX_USERS   users, one run each            (2)
#   AFSX_PROCS   afsx processes per user        (2)
#   AFSX_SEED    base seed; user u gets SEED + 1000 * u  (from the clock)
#   AFSX_ARGS    afsx options (-m 65536), e.g. "-H -m 1048576" (-H: no hard links)
# Prints, last: ops, processes, seconds, mismatches.
# shellcheck source=../mount/lib.sh
source "$(dirname "$0")/../mount/lib.sh" "$@"
AFSX=$(realpath "${2:?usage: $0 path/to/artifactfs path/to/afsx}")
OPS=${AFSX_OPS:-20000}
NUSERS=${AFSX_USERS:-2}
PROCS=${AFSX_PROCS:-2}
SEED=${AFSX_SEED:-$(date +%s)}
read -r -a EXTRA <<<"${AFSX_ARGS:--m 65536}"
command -v setpriv >/dev/null || skip "no setpriv"
command -v useradd >/dev/null || skip "no useradd"

# The binary, where the test users can run it whatever the checkout.
mkdir "$T/bin"
cp "$AFSX" "$T/bin/afsx"
chmod 0755 "$T/bin" "$T/bin/afsx"

afs init >/dev/null
for ((u = 1; u <= NUSERS; u++)); do
	make_user "afs-x-$u"
	afs role grant writer "afs-x-$u" >/dev/null || fail "role grant afs-x-$u"
	install -d -m 0700 -o "afs-x-$u" "$T/shadow-$u"
done
start_daemon

# as_x U CMD...: CMD as afs-x-U, no supplementary groups, from /.
as_x() {
	local u=$1
	shift
	(cd / && setpriv --reuid="afs-x-$u" --regid="$(id -g "afs-x-$u")" \
		--clear-groups env HOME=/ PATH=/usr/bin:/bin LC_ALL=C "$@")
}

check "afsx: $OPS operations, $NUSERS users x $PROCS processes, seed $SEED"
PIDS=()
START=$EPOCHSECONDS
for ((u = 1; u <= NUSERS; u++)); do
	RUN=$M/pipelines/afsx/runs/r$u
	as_x "$u" mkdir -p "$RUN/steps/s/outputs" ||
		fail "afs-x-$u: mkdir of its run"
	n=$((OPS / NUSERS + (u <= OPS % NUSERS ? 1 : 0)))
	as_x "$u" "$T/bin/afsx" -s $((SEED + 1000 * u)) -n "$n" -p "$PROCS" \
		"${EXTRA[@]}" -C "$RUN/control" -A "$M/artifacts/afsx-$u" \
		"$RUN/steps/s/outputs/afsx-$u" "$T/shadow-$u/afsx-$u" \
		>"$T/afsx-$u.out" 2>"$T/afsx-$u.err" &
	PIDS+=($!)
done
for ((u = 1; u <= NUSERS; u++)); do
	rc=0
	wait "${PIDS[u - 1]}" || rc=$?
	sed "s/^/   afs-x-$u: /" "$T/afsx-$u.out"
	if [ "$rc" -ne 0 ]; then
		head -c 20000 "$T/afsx-$u.err" >&2
		defect "afs-x-$u: afsx exited $rc (seed $((SEED + 1000 * u)))"
	fi
done
SECS=$((EPOCHSECONDS - START))

check "the runs are sealed and belong to their users"
for ((u = 1; u <= NUSERS; u++)); do
	"$PY" -c 'import json,sys; j=json.load(open(sys.argv[1]));
assert j["status"] == "sealed" and j["owner_uid"] == int(sys.argv[2]), j' \
		"$M/pipelines/afsx/runs/r$u/run.json" "$(id -u "afs-x-$u")" ||
		defect "run r$u: not sealed by afs-x-$u"
done

stop_daemon
check "fsck of the store after the exercise"
afs fsck >"$T/fsck.out" 2>&1 || defect "fsck: $(head -c 500 "$T/fsck.out")"

TOTAL=$(cat "$T"/afsx-*.out | awk '/ checks, / {s += $4} END {print s + 0}')
BAD=$(cat "$T"/afsx-*.err | grep -c MISMATCH || true)
echo "afsx figures: ops $TOTAL, processes $((NUSERS * PROCS)) ($NUSERS users), seconds $SECS, mismatches $BAD, seed $SEED"
finish
