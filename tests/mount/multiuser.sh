#!/usr/bin/env bash
# One daemon, many users: on a store mounted by root with -o allow_other,
# each role (reader, writer, promoter, auditor, a non-root admin, and a
# user with no role) runs, as a real user and at the same time as the
# others, the commands of the README through the daemon's socket, while
# another user's `artifactfs cat big@v1` is stalled in a full pipe, and
# root lists the store again and again.  Each command must do what the
# role permits (exit status, key line of output, files it writes owned by
# the caller) or be refused ("Permission denied", journaled).  Nothing may
# wait on the stalled request: no command times out, and every `ls` of
# root's answers within 2 s.  Afterwards: every file under the store
# directory (and its key directory) is still root's, the mount is
# writable, fsck and audit verify are clean, and the journal names each
# user as the actor of their own changes.
#
# Every check is counted; a failed one is reported and the test goes on
# to the end (exit 1 then).  Every command runs under `timeout`.
# AFS_MULTIUSER_BIG_MB (default 256) sizes the streamed version.
source "$(dirname "$0")/lib.sh" "$@"
command -v setpriv >/dev/null || skip "no setpriv"
command -v useradd >/dev/null || skip "no useradd"
command -v timeout >/dev/null || skip "no timeout (coreutils)"

BIG_MB=${AFS_MULTIUSER_BIG_MB:-256}
STALL_S=${AFS_STALL_S:-150} # how long the streaming user's pipe stays full at most (ended as soon as the roles finish)
CMD_T=30   # each command's timeout (a loaded machine runs fsck slowly)
PHASE_S=90 # the concurrent phase ends this long after it starts (about 4 s on an idle machine)
PROBE_MAX_MS=2000

ROLES="reader writer promoter auditor admin none"
declare -A UID_OF HOME_OF
GID=$(getent group nogroup | cut -d: -f3)
GID=${GID:-65534}
mkdir -m 0755 "$T/u" "$T/res"
for r in $ROLES stream; do
	make_user "afs-t-$r"
	UID_OF[$r]=$(id -u "afs-t-$r")
	HOME_OF[$r]=$T/u/$r
	mkdir -m 0700 "$T/u/$r"
	# A configuration only its user may read: the command opens it as
	# the caller, wherever the command runs.
	: >"$T/u/$r/afs.conf"
	chmod 0600 "$T/u/$r/afs.conf"
	chown -R "${UID_OF[$r]}:$GID" "$T/u/$r"
done

# ------------------------------------------------------------- results
# Background jobs cannot add to the test's arrays: every check appends a
# line to a file of $T/res ("ok ..." or "FAIL ..."), counted at the end.
RES=$T/res/main

ok() {
	echo "ok $*" >>"$RES"
	echo "   ok: $*"
}

bad() {
	echo "FAIL $*" >>"$RES"
	echo "FAILED CHECK: $*" >&2
}

# owned_by ROLE FILE LABEL: FILE exists and belongs to ROLE's user.
owned_by() {
	local owner
	if ! owner=$(stat -c %u "$2" 2>/dev/null); then
		bad "$3: $2 does not exist"
	elif [ "$owner" != "${UID_OF[$1]}" ]; then
		bad "$3: $2 belongs to uid $owner, not afs-t-$1 (${UID_OF[$1]})"
	else
		ok "$3: $(basename "$2") belongs to afs-t-$1"
	fi
}

# as_role ROLE CMD...: CMD as afs-t-ROLE in its own directory (also its
# HOME), no supplementary groups, under `timeout`.  The timeout is
# $CMD_T, cut short by the phase's deadline $DEADLINE when one is set.
as_role() {
	local r=$1 left=$CMD_T
	shift
	if [ -n "${DEADLINE:-}" ]; then
		left=$((DEADLINE - EPOCHSECONDS))
		[ "$left" -le "$CMD_T" ] || left=$CMD_T
		if [ "$left" -lt 1 ]; then
			echo "not run: the phase's deadline had passed" >&2
			return 125
		fi
	fi
	(cd "${HOME_OF[$r]}" &&
		timeout -k 2 "$left" setpriv --reuid="${UID_OF[$r]}" \
			--regid="$GID" --clear-groups \
			env HOME="${HOME_OF[$r]}" PATH=/usr/local/bin:/usr/bin:/bin \
			LC_ALL=C "$@")
}

# run_afs ROLE ARGS...: artifactfs ARGS as ROLE, standard input from $IN
# (default /dev/null); sets RC, and O and E to the files holding its
# standard output and error.
NCMD=0
run_afs() {
	local r=$1
	shift
	NCMD=$((NCMD + 1))
	O=$T/res/$r.$NCMD.out
	E=$T/res/$r.$NCMD.err
	RC=0
	as_role "$r" "$AFS" --config "${HOME_OF[$r]}/afs.conf" --store "$S" \
		"$@" <"${IN:-/dev/null}" >"$O" 2>"$E" || RC=$?
}

# why: the reason for the last run_afs's failure, in a few words.
why() {
	case $RC in
	124 | 137) echo "timed out after ${CMD_T} s (or the phase's deadline)" ;;
	125) head -n1 "$E" ;;
	*) echo "exit $RC: $(head -c 300 "$E" | tr '\n' ' ')" ;;
	esac
}

# want ROLE LABEL REGEX ARGS...: artifactfs ARGS as ROLE must exit 0 and,
# unless REGEX is empty, print a line matching REGEX (extended) on stdout.
want() {
	local r=$1 label="afs-t-$1: $2" re=$3
	shift 3
	run_afs "$r" "$@"
	if [ "$RC" -ne 0 ]; then
		bad "$label: $(why)"
	elif [ -n "$re" ] && ! grep -Eq -- "$re" "$O"; then
		bad "$label: no line matching /$re/ in: $(head -c 300 "$O" | tr '\n' ' ')"
	else
		ok "$label"
	fi
}

# refused ROLE LABEL ERE ARGS...: artifactfs ARGS as ROLE must fail, in
# time (not by the timeout), with a line matching ERE on stderr and no
# sign of a broken store.  DENIED is the refusal of a role.
DENIED='Permission denied \(needs the'
refused() {
	local r=$1 label="afs-t-$1: $2 (refused)" re=$3
	shift 3
	run_afs "$r" "$@"
	if [ "$RC" -eq 0 ]; then
		bad "$label: succeeded, want /$re/"
	elif [ "$RC" -ge 124 ]; then
		bad "$label: $(why)"
	elif grep -Eq 'IO error|corrupt|commit failed' "$E"; then
		bad "$label: failed for another reason: $(why)"
	elif ! grep -Eq -- "$re" "$E"; then
		bad "$label: $(why), without /$re/"
	else
		ok "$label: $(head -n1 "$E")"
	fi
}

# same FILE WANT LABEL: FILE holds the bytes of WANT.
same() {
	if cmp -s "$1" "$2"; then
		ok "$3"
	else
		bad "$3: $1 differs from $2"
	fi
}

# now_ms: wall clock in milliseconds.
now_ms() {
	local t=${EPOCHREALTIME/./}
	echo $((t / 1000))
}

# ------------------------------------------------------------- the store
check "a store with a ${BIG_MB} MiB version, small versions, runs, roles"
afs init >/dev/null
head -c "${BIG_MB}M" /dev/urandom >"$T/big"
BIG_SHA=$(sha "$T/big")
afs put big "$T/big" >/dev/null || fail "put big"
rm -f "$T/big"
mkdir "$T/v1" "$T/v2"
printf 'small one\n' >"$T/v1/small.txt"
printf 'small two\n' >"$T/v2/small.txt"
mkdir -p "$T/tree/sub"
printf 'a\n' >"$T/tree/a.txt"
printf 'b\n' >"$T/tree/sub/b.txt"
chmod -R a+rX "$T/v1" "$T/v2" "$T/tree"
afs put small "$T/v1/small.txt" >/dev/null || fail "put small v1"
afs put small "$T/v2/small.txt" >/dev/null || fail "put small v2"
afs put tree "$T/tree" >/dev/null || fail "put tree"
afs alias set small stable v1 >/dev/null || fail "alias set"
afs run open seed/r0 s >/dev/null || fail "run open seed/r0"
afs trace add --run seed/r0 --step s --kind other --name seed-span \
	>/dev/null || fail "trace add"
# Root's runs that the promoter ends and the writer may not.
for r in r-promote r-fail r-writer; do
	afs run open "seed/$r" s >/dev/null || fail "run open seed/$r"
done
for r in reader writer promoter auditor admin stream; do
	role=$r
	[ "$r" = stream ] && role=reader
	afs role grant "$role" "afs-t-$r" >/dev/null || fail "role grant $r"
done
printf 'seed\n' >"$T/seed-token"
afs secret set seed-token "$T/seed-token" >/dev/null || fail "secret set"
# The signing key pair, and its public half for the auditor.
afs audit checkpoint "$T/cp0.json" >/dev/null || fail "audit checkpoint"
PUB=$(find "$S.keys" -maxdepth 1 -name '*.sign.pub' | head -n1)
[ -n "$PUB" ] || fail "no .sign.pub in $S.keys"
install -m 0600 -o "${UID_OF[auditor]}" -g "$GID" "$PUB" \
	"${HOME_OF[auditor]}/store.sign.pub"
# A file only root may read, and a directory only root may write in.
printf 'root only\n' >"$T/root-only"
chmod 0600 "$T/root-only"
mkdir -m 0755 "$T/rootdir"
# Files the users put and keep as secrets, theirs and 0600.
for r in writer promoter admin auditor reader none; do
	printf 'from %s\n' "$r" >"${HOME_OF[$r]}/mine.txt"
	chmod 0600 "${HOME_OF[$r]}/mine.txt"
	chown "${UID_OF[$r]}:$GID" "${HOME_OF[$r]}/mine.txt"
done
printf 'tok-%s\n' "$RANDOM$RANDOM" >"${HOME_OF[admin]}/token"
chmod 0600 "${HOME_OF[admin]}/token"
chown "${UID_OF[admin]}:$GID" "${HOME_OF[admin]}/token"

start_daemon
[ -S "$S/daemon.sock" ] || fail "no daemon.sock in $S"
afs ls >/dev/null || fail "root's ls through the daemon before the test"

# ------------------------------------------------------- what each role does

# Every role with a binding reads and lists.
reads() {
	local r=$1 d=${HOME_OF[$1]}
	want "$r" "ls" '^small[[:space:]]' ls
	want "$r" "ls small" '^v2[[:space:]]' ls small
	want "$r" "ls -R tree@v1" 'sub/b\.txt' ls -R tree@v1
	want "$r" "ls --json" '"small"' ls --json
	run_afs "$r" cat small@v1
	if [ "$RC" -ne 0 ]; then
		bad "afs-t-$r: cat small@v1: $(why)"
	else
		same "$O" "$T/v1/small.txt" "afs-t-$r: cat small@v1"
	fi
	want "$r" "cat small@stable" 'small one' cat small@stable
	want "$r" "get small@v2 (into its own directory)" '' \
		get small@v2 "$d/small.got"
	owned_by "$r" "$d/small.got" "afs-t-$r: get small@v2"
	same "$d/small.got" "$T/v2/small.txt" "afs-t-$r: get small@v2: content"
	want "$r" "get tree@v1 (a tree)" '' get tree@v1 "$d/tree.got"
	owned_by "$r" "$d/tree.got" "afs-t-$r: get tree@v1"
	owned_by "$r" "$d/tree.got/sub/b.txt" "afs-t-$r: get tree@v1"
	same "$d/tree.got/sub/b.txt" "$T/tree/sub/b.txt" \
		"afs-t-$r: get tree@v1: content"
	refused "$r" "get into root's directory" "Permission denied" \
		get small@v1 "$T/rootdir/$r.got"
	[ ! -e "$T/rootdir/$r.got" ] ||
		bad "afs-t-$r: get wrote $T/rootdir/$r.got, a directory it may not write in"
	want "$r" "alias ls" 'stable' alias ls small
	want "$r" "run ls" 'r0' run ls seed
	want "$r" "lineage" 'small@v1' lineage small@v1
	want "$r" "trace show" 'seed-span' trace show seed/r0
	want "$r" "stats" '^artifacts' stats
	want "$r" "role ls" "afs-t-$r" role ls
}

# A writer's (and promoter's, admin's) own changes.
writes() {
	local r=$1 d=${HOME_OF[$1]} p=mu-$1 st
	want "$r" "put FILE" "^$r-file@v1 sha256:" put "$r-file" "$d/mine.txt"
	want "$r" "put /proc/self/status" "^$r-status@v1 " \
		put "$r-status" /proc/self/status
	run_afs "$r" cat "$r-status@v1"
	st=$(awk '/^Uid:/ { print $2 }' "$O" 2>/dev/null)
	if [ "$RC" -ne 0 ]; then
		bad "afs-t-$r: cat $r-status@v1: $(why)"
	elif [ "$st" != "${UID_OF[$r]}" ]; then
		bad "afs-t-$r: put /proc/self/status stored a status of uid '$st', not the caller's ${UID_OF[$r]} (the daemon's?)"
	else
		ok "afs-t-$r: put /proc/self/status stored the caller's own status"
	fi
	IN=$d/mine.txt want "$r" "put - (standard input)" "^$r-stdin@v1 " \
		put "$r-stdin" - --name in.txt
	refused "$r" "put of a file only root may read" "Permission denied" \
		put "$r-rootonly" "$T/root-only"
	want "$r" "run open" "^$p/w1 open" run open "$p/w1" s1 s2
	want "$r" "run step" '' run step "$p/w1" s3
	want "$r" "run note" '' run note "$p/w1" owner "$r"
	want "$r" "run input" 'small@v1' run input "$p/w1/s1" small@v1
	want "$r" "trace add" '^[0-9a-f-]{36}$' trace add --run "$p/w1" \
		--step s1 --kind tool_call --name "$r-span" \
		--input-file "$d/mine.txt"
	want "$r" "trace show (own run)" "$r-span" trace show "$p/w1"
	want "$r" "run seal" "^$p/w1 sealed" run seal "$p/w1"
	want "$r" "run open (to fail)" "^$p/w2 open" run open "$p/w2" s
	want "$r" "run fail" "^$p/w2 failed" run fail "$p/w2"
	want "$r" "run ls (own runs)" 'w1.*sealed' run ls "$p"
}

# reader: reads, and is refused every change.
job_reader() {
	reads reader
	refused reader "put" "$DENIED" put r-file "${HOME_OF[reader]}/mine.txt"
	refused reader "alias set" "$DENIED" alias set small r-alias v1
	refused reader "run open" "$DENIED" run open mu/reader s
	refused reader "gc --dry-run" "$DENIED" gc --dry-run
	refused reader "fsck" "$DENIED" fsck
	refused reader "audit query" "$DENIED" audit query
	refused reader "secret get" "$DENIED" secret get seed-token
}

job_writer() {
	reads writer
	writes writer
	refused writer "seal root's run" "$DENIED|may seal it" run seal seed/r-writer
	refused writer "alias set" "$DENIED" alias set small w-alias v1
	refused writer "audit query" "$DENIED" audit query
	refused writer "secret set" "$DENIED" secret set w-secret \
		"${HOME_OF[writer]}/mine.txt"
	refused writer "gc --dry-run" "$DENIED" gc --dry-run
}

job_promoter() {
	reads promoter
	writes promoter
	want promoter "alias set" '' alias set small prod-p v1
	want promoter "alias set (to remove)" '' alias set small gone-p v2
	want promoter "alias ls" 'prod-p' alias ls small
	want promoter "cat small@prod-p" 'small one' cat small@prod-p
	want promoter "alias rm" '' alias rm small gone-p
	want promoter "seal root's run" '^seed/r-promote sealed' run seal seed/r-promote
	want promoter "fail root's run" '^seed/r-fail failed' run fail seed/r-fail
	refused promoter "gc --dry-run" "$DENIED" gc --dry-run
	refused promoter "audit export" "$DENIED" audit export \
		"${HOME_OF[promoter]}/x.jsonl"
	refused promoter "secret get" "$DENIED" secret get seed-token
}

job_auditor() {
	local d=${HOME_OF[auditor]}
	reads auditor
	want auditor "audit query --json" '"op"' audit query --json
	want auditor "audit query --user root --op version.create" \
		'version.create' audit query --user root --op version.create
	want auditor "audit query --denied" '' audit query --denied
	want auditor "audit verify" '^journal intact' audit verify
	want auditor "audit checkpoint OUT" '' audit checkpoint "$d/cp.json"
	owned_by auditor "$d/cp.json" "afs-t-auditor: audit checkpoint"
	want auditor "audit verify --anchor" '^journal intact' \
		audit verify --anchor "$d/cp.json"
	want auditor "audit export OUT" '' audit export "$d/out.jsonl"
	owned_by auditor "$d/out.jsonl" "afs-t-auditor: audit export"
	owned_by auditor "$d/out.jsonl.sig" "afs-t-auditor: audit export .sig"
	if grep -qs '"version.create"' "$d/out.jsonl"; then
		ok "afs-t-auditor: audit export wrote the journal's records"
	else
		bad "afs-t-auditor: audit export: $d/out.jsonl holds no version.create record"
	fi
	want auditor "audit verify --export --pubkey" '' \
		audit verify --export "$d/out.jsonl" --pubkey "$d/store.sign.pub"
	want auditor "fsck" 'clean' fsck
	refused auditor "put" "$DENIED" put a-file "$d/mine.txt"
	refused auditor "run open" "$DENIED" run open mu/auditor s
	refused auditor "gc --dry-run" "$DENIED" gc --dry-run
	refused auditor "secret get" "$DENIED" secret get seed-token
}

job_admin() {
	local d=${HOME_OF[admin]}
	reads admin
	writes admin
	want admin "secret set FILE" '^secret mu-token set' \
		secret set mu-token "$d/token"
	run_afs admin secret get mu-token
	if [ "$RC" -ne 0 ]; then
		bad "afs-t-admin: secret get: $(why)"
	else
		same "$O" "$d/token" "afs-t-admin: secret get: the value set"
	fi
	IN=$d/mine.txt want admin "secret set - (standard input)" \
		'^secret mu-stdin set' secret set mu-stdin -
	want admin "secret ls" '^mu-token$' secret ls
	want admin "secret rm" '' secret rm mu-stdin
	want admin "gc --dry-run" 'would remove|nothing' gc --dry-run
	want admin "fsck" 'clean' fsck
	want admin "role grant" 'afs-t-none: reader on /artifacts/probe' \
		role grant reader afs-t-none --scope /artifacts/probe
	want admin "role ls (all bindings)" 'afs-t-none' role ls
	want admin "role revoke" '' role revoke reader afs-t-none \
		--scope /artifacts/probe
	want admin "audit query" '"op"' audit query --json
	want admin "alias set" '' alias set small admin-a v2
}

# none: no binding, no access.
job_none() {
	local d=${HOME_OF[none]}
	refused none "ls small" "$DENIED" ls small
	refused none "cat" "$DENIED" cat small@v1
	refused none "get" "$DENIED" get small@v1 "$d/x.got"
	[ ! -e "$d/x.got" ] || bad "afs-t-none: a refused get left $d/x.got"
	refused none "put" "$DENIED" put n-file "$d/mine.txt"
	refused none "run open" "$DENIED" run open mu/none s
	refused none "alias set" "$DENIED" alias set small n-alias v1
	refused none "lineage" "$DENIED" lineage small@v1
	refused none "audit query" "$DENIED" audit query
	refused none "secret get" "$DENIED" secret get seed-token
	refused none "stats" "$DENIED" stats
	refused none "run ls" "$DENIED" run ls seed
	[ ! -s "$O" ] || bad "afs-t-none: a refused run ls printed '$(head -c 200 "$O")'"
}

# ------------------------------------------ the concurrent phase, stalled
check "afs-t-stream: artifactfs cat big@v1 | sleep $STALL_S (a stalled pipe)"
CAT_PID=""
SLEEP_PID=""
end_stall() {
	[ -z "$SLEEP_PID" ] || kill "$SLEEP_PID" 2>/dev/null
	[ -z "$CAT_PID" ] || wait_gone "$CAT_PID" 50 ||
		kill -KILL "$CAT_PID" 2>/dev/null
}
CLEANUP+=("end_stall")
(
	echo "$BASHPID" >"$T/cat.pid"
	cd "${HOME_OF[stream]}" &&
		exec setpriv --reuid="${UID_OF[stream]}" --regid="$GID" \
			--clear-groups env HOME="${HOME_OF[stream]}" LC_ALL=C \
			"$AFS" \
			--config "${HOME_OF[stream]}/afs.conf" --store "$S" cat big@v1
) 2>"$T/cat.err" | (
	exec setpriv --reuid="${UID_OF[stream]}" --regid="$GID" \
		--clear-groups sleep "$STALL_S"
) &
SLEEP_PID=$!
for ((i = 0; i < 50; i++)); do
	[ -s "$T/cat.pid" ] && break
	sleep 0.1
done
CAT_PID=$(cat "$T/cat.pid")
# Let the daemon fill the pipe and the socket and block on them.
sleep 1
if kill -0 "$CAT_PID" 2>/dev/null; then
	ok "the stream is stalled (client $CAT_PID waits on a full pipe)"
else
	bad "the stalled cat ended at once: $(head -c 300 "$T/cat.err")"
fi

check "every role at once, through the daemon, during the stall"
PHASE_T0=$EPOCHSECONDS
DEADLINE=$((PHASE_T0 + PHASE_S))
declare -A JOB
for r in $ROLES; do
	(
		RES=$T/res/$r
		"job_$r"
	) >"$T/res/$r.log" 2>&1 &
	JOB[$r]=$!
done

check "root's artifactfs ls during the stall, each within ${PROBE_MAX_MS} ms"
nprobe=0
nslow=0
maxms=0
slow=""
running=1
while [ "$running" -eq 1 ] || [ "$nprobe" -lt 5 ]; do
	t0=$(now_ms)
	rc=0
	timeout -k 1 5 "$AFS" --config "$T/empty.conf" --store "$S" ls \
		>"$T/probe.out" 2>"$T/probe.err" || rc=$?
	ms=$(($(now_ms) - t0))
	nprobe=$((nprobe + 1))
	[ "$ms" -le "$maxms" ] || maxms=$ms
	if [ "$rc" -ne 0 ] || [ "$ms" -gt "$PROBE_MAX_MS" ] ||
		! grep -q '^big[[:space:]]' "$T/probe.out"; then
		nslow=$((nslow + 1))
		slow+=" #$nprobe:${ms}ms/exit$rc"
	fi
	running=0
	for r in $ROLES; do
		kill -0 "${JOB[$r]}" 2>/dev/null && running=1
	done
	[ "$EPOCHSECONDS" -lt $((DEADLINE + CMD_T + 5)) ] || break
	sleep 0.3
done
if [ "$nslow" -eq 0 ]; then
	ok "root's ls: $nprobe probes during the phase, slowest ${maxms} ms"
else
	bad "root's ls: $nslow of $nprobe probes took over ${PROBE_MAX_MS} ms or failed (slowest ${maxms} ms):$slow"
fi
for r in $ROLES; do
	wait "${JOB[$r]}" || bad "the job of afs-t-$r exited $?"
done
DEADLINE=""
PHASE_S_TOOK=$((EPOCHSECONDS - PHASE_T0))
for r in $ROLES; do
	sed 's/^/  ['"$r"'] /' "$T/res/$r.log"
done

check "the stream was still stalled when every role had finished (${PHASE_S_TOOK} s)"
if kill -0 "$CAT_PID" 2>/dev/null; then
	ok "the stalled cat still waits: the roles did not wait for it"
else
	bad "the stalled cat ended before the roles finished (they took ${PHASE_S_TOOK} s, the stall lasts ${STALL_S} s)"
fi
kill "$SLEEP_PID" 2>/dev/null || true
wait "$SLEEP_PID" 2>/dev/null || true
if wait_gone "$CAT_PID" 100; then
	ok "the streaming client ends once its reader is gone"
else
	bad "the streaming client still runs 10 s after its reader ended"
	kill -KILL "$CAT_PID" 2>/dev/null
fi
wait "$CAT_PID" 2>/dev/null || true
CAT_PID=""
SLEEP_PID=""

# ------------------------------------------------------------- afterwards
check "no file under the store directory or its key directory is anyone's but root's"
find "$S" "$S.keys" ! -uid 0 >"$T/notroot" 2>&1 || true
if [ -s "$T/notroot" ]; then
	bad "files not root's: $(head -n 10 "$T/notroot" | while read -r f; do
		printf '%s (uid %s) ' "${f#"$T"/}" "$(stat -c %u "$f" 2>/dev/null)"
	done)"
else
	ok "every file under the store and the keys is root's"
fi

check "the mount is still writable: a run written and sealed through it by the writer"
RUNDIR=$M/pipelines/mu/runs/after
OUTDIR=$RUNDIR/steps/s/outputs/after
if as_role writer mkdir -p "$OUTDIR" 2>"$T/w.err" &&
	as_role writer cp "${HOME_OF[writer]}/mine.txt" "$OUTDIR/mine.txt" \
		2>"$T/w.err" &&
	as_role writer sh -c "echo seal > '$RUNDIR/control'" 2>"$T/w.err"; then
	ok "afs-t-writer: mkdir, cp and seal through the mount"
else
	bad "afs-t-writer: writing a run through the mount: $(head -c 300 "$T/w.err")"
fi
if as_role writer cat "$M/artifacts/after/v1/mine.txt" >"$T/after.got" 2>"$T/w.err" &&
	cmp -s "$T/after.got" "${HOME_OF[writer]}/mine.txt"; then
	ok "the sealed run's output reads back as after@v1"
else
	bad "after@v1 does not read back through the mount: $(head -c 300 "$T/w.err")"
fi
rc=0
timeout 20 "$AFS" --config "$T/empty.conf" --store "$S" put root-after \
	"$T/v1/small.txt" >"$T/ra.out" 2>&1 || rc=$?
if [ "$rc" -eq 0 ]; then
	ok "root's put through the daemon after the phase"
else
	bad "root's put through the daemon after the phase: exit $rc: $(head -c 300 "$T/ra.out")"
fi

check "fsck and audit verify are clean"
rc=0
timeout 60 "$AFS" --config "$T/empty.conf" --store "$S" fsck \
	>"$T/fsck.out" 2>&1 || rc=$?
if [ "$rc" -eq 0 ] && grep -q 'clean' "$T/fsck.out"; then
	ok "fsck: $(tail -n1 "$T/fsck.out")"
else
	bad "fsck: exit $rc: $(head -c 400 "$T/fsck.out" | tr '\n' ' ')"
fi
rc=0
timeout 60 "$AFS" --config "$T/empty.conf" --store "$S" audit verify \
	>"$T/verify.out" 2>&1 || rc=$?
if [ "$rc" -eq 0 ] && grep -q '^journal intact' "$T/verify.out"; then
	ok "audit verify: $(head -n1 "$T/verify.out")"
else
	bad "audit verify: exit $rc: $(head -c 400 "$T/verify.out" | tr '\n' ' ')"
fi

check "the journal names each user as the actor of their own records"
# actor ROLE OP PATH [denied]: `audit query --user afs-t-ROLE --json`
# holds a record OP on PATH (a prefix) with result 0 (non-zero if
# "denied"); for a change, the whole journal holds none by anyone else.
timeout 20 "$AFS" --config "$T/empty.conf" --store "$S" audit query --json \
	>"$T/q.all" 2>"$T/q.all.err" ||
	bad "audit query --json: $(head -c 200 "$T/q.all.err")"
declare -A QUERIED
actor() {
	local r=$1 rc=0
	if [ -z "${QUERIED[$r]:-}" ]; then
		timeout 20 "$AFS" --config "$T/empty.conf" --store "$S" audit query \
			--user "afs-t-$r" --json >"$T/q.$r" 2>"$T/q.$r.err" || rc=$?
		QUERIED[$r]=$rc
	fi
	if [ "${QUERIED[$r]}" -ne 0 ]; then
		bad "audit query --user afs-t-$r: exit ${QUERIED[$r]}: $(head -c 200 "$T/q.$r.err")"
		return 0
	fi
	if "$PY" - "$T/q.$r" "$T/q.all" "afs-t-$r" "$2" "$3" "${4:-}" \
		>"$T/actor.out" 2>&1 <<'EOF'; then
import json, sys
mine, every, user, op, path, denied = sys.argv[1:7]
def hits(f):
    try:
        recs = json.load(open(f))
    except ValueError:
        return []
    return [r for r in recs if r["op"] == op and r["path"].startswith(path)
            and (r["result"] != 0) == (denied == "denied")]
if not hits(mine):
    sys.exit(1)
others = sorted({r["user"] for r in hits(every)} - {user})
if others and denied != "denied":
    print("also by " + ", ".join(others))
    sys.exit(1)
EOF
		ok "journal: $2 $3 ${4:+($4) }by afs-t-$r"
	else
		bad "journal: no ${4:+refused }$2 record on $3 by afs-t-$r$(sed "s/^/: /" "$T/actor.out")"
	fi
}
for r in writer promoter admin; do
	actor "$r" version.create "/artifacts/$r-file/v1"
	actor "$r" version.create "/artifacts/$r-status/v1"
	actor "$r" version.create "/artifacts/$r-stdin/v1"
	actor "$r" run.create "/pipelines/mu-$r/runs/w1"
	actor "$r" step.create "/pipelines/mu-$r/runs/w1"
	actor "$r" run.note "/pipelines/mu-$r/runs/w1"
	actor "$r" lineage.input "/pipelines/mu-$r/runs/w1"
	actor "$r" trace.append "/pipelines/mu-$r/runs/w1"
	actor "$r" run.seal "/pipelines/mu-$r/runs/w1"
	actor "$r" run.fail "/pipelines/mu-$r/runs/w2"
done
actor writer version.create /artifacts/after/v1
actor promoter alias.set /artifacts/small/prod-p
actor promoter alias.delete /artifacts/small/gone-p
actor promoter run.seal /pipelines/seed/runs/r-promote
actor promoter run.fail /pipelines/seed/runs/r-fail
actor admin alias.set /artifacts/small/admin-a
actor admin secret.set /secrets/mu-token
actor admin secret.read /secrets/mu-token
actor admin role.grant /artifacts/probe
actor reader put /artifacts/r-file denied
actor reader gc / denied
actor writer alias /artifacts/small denied
actor writer audit.query /audit denied
actor auditor put /artifacts/a-file denied
actor promoter gc / denied
actor none cat /artifacts/small denied
actor none put /artifacts/n-file denied

check "a progress line comes back through the daemon (on a terminal)"
if command -v script >/dev/null; then
	rc=0
	as_role reader script -qec "'$AFS' --config '${HOME_OF[reader]}/afs.conf' --store '$S' get big@v1 '${HOME_OF[reader]}/big.got'" \
		/dev/null >"$T/progress.out" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ]; then
		bad "afs-t-reader: get big@v1 on a terminal: exit $rc: $(tr '\r' '\n' <"$T/progress.out" | head -c 300)"
	elif ! grep -q 'MB/s' "$T/progress.out"; then
		bad "afs-t-reader: get big@v1 on a terminal drew no progress line through the daemon"
	else
		ok "afs-t-reader: get big@v1 on a terminal draws a progress line"
	fi
	if [ "$(sha "${HOME_OF[reader]}/big.got" 2>/dev/null)" = "$BIG_SHA" ]; then
		ok "afs-t-reader: get big@v1: the ${BIG_MB} MiB read back"
	else
		bad "afs-t-reader: get big@v1: not the bytes put"
	fi
	rm -f "${HOME_OF[reader]}/big.got"
fi

# ------------------------------------------------------------- the end
npass=$(cat "$T"/res/main "$T"/res/reader "$T"/res/writer "$T"/res/promoter \
	"$T"/res/auditor "$T"/res/admin "$T"/res/none 2>/dev/null | grep -c '^ok ' || true)
# (Each was reported as it failed: listed once more by finish.)
while IFS= read -r line; do
	DEFECTS+=("${line#FAIL }")
done < <(cat "$T"/res/main "$T"/res/reader "$T"/res/writer "$T"/res/promoter \
	"$T"/res/auditor "$T"/res/admin "$T"/res/none 2>/dev/null | grep '^FAIL ')
echo "multiuser: $npass checks passed, ${#DEFECTS[@]} failed" \
	"(concurrent phase: ${PHASE_S_TOOK} s)"

check "the daemon unmounts cleanly"
stop_daemon
finish
