#!/usr/bin/env bash
# gc keeps what a step cache entry refers to: a version that retention
# lets go and nothing else pins stays while a cache entry names it as an
# output (gc --dry-run says so), and the entry still serves a hit after
# gc; the version next to it, which no entry names, goes.
source "$(dirname "$0")/../mount/lib.sh" "$@"
source "$(dirname "$0")/lib_env.sh"

cat >"$T/ret.conf" <<'CONF'
retention = ( { artifact = "model"; keep_last = 1; } );
CONF
ret() {
	"$AFS" --config "$T/ret.conf" --store "$S" "$@"
}

afs init >/dev/null
echo one >"$T/d1"
afs put data "$T/d1" >/dev/null
write_step
start_daemon

check "a step run makes model@v1 and a cache entry for it"
step p r1 --input data@v1
[ "$(runs_done)" -eq 1 ] || fail "the step did not run: $(cat "$T/err")"
afs ls model | grep -q "p/r1/train" || fail "no model@v1 from p/r1"
stop_daemon

echo two >"$T/m2"
echo three >"$T/m3"
afs put model "$T/m2" >/dev/null || fail "put model@v2"
afs put model "$T/m3" >/dev/null || fail "put model@v3"

check "gc --dry-run keeps model@v1 for the cache entry, lets model@v2 go"
ret gc --dry-run >"$T/dry.out" || fail "gc --dry-run: $(cat "$T/dry.out")"
grep -q '^keep model@v1 (.*): a cache entry refers to it$' "$T/dry.out" ||
	fail "model@v1 not kept for its cache entry: $(cat "$T/dry.out")"
grep -q '^would delete model@v2 (.*): not among the newest' "$T/dry.out" ||
	fail "model@v2 would not go: $(cat "$T/dry.out")"

check "gc deletes model@v2 and keeps model@v1"
ret gc >"$T/gc.out" || fail "gc: $(cat "$T/gc.out")"
afs cat model@v1 >/dev/null || fail "model@v1 gone after gc"
if afs cat model@v2 >/dev/null 2>&1; then fail "model@v2 still there after gc"; fi

check "after gc the entry still serves a hit"
start_daemon
step p r2 --input data@v1
[ "$(runs_done)" -eq 1 ] || fail "the step ran again: $(cat "$T/err")"
grep -q "cache hit: outputs of p/r1 step train reused" "$T/err" ||
	fail "no hit after gc: $(cat "$T/err")"
stop_daemon
afs fsck >/dev/null || fail "fsck found problems"
finish
