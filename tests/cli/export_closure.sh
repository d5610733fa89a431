#!/usr/bin/env bash
# A closure export holds only what the named version depends on: of two
# independent pipelines whose steps ran with `run exec` (traces,
# environment snapshots, cache entries) and an open run holding outputs,
# an export --closure of a version of one keeps that version's runs,
# steps, environments, traces and upstream, and nothing of the other
# pipeline nor of the open run: their records are gone, their content
# (the open run's 4 MiB of outputs) is reclaimed, fsck is clean, and the
# export verifies, lists, shows lineage and mounts read-only.  Needs root
# and /dev/fuse (tests/mount/lib.sh skips without).
# shellcheck source=tests/mount/lib.sh
source "$(dirname "$0")/../mount/lib.sh" "$@"
unset ARTIFACTFS_RUN ARTIFACTFS_STEP

afs init >/dev/null
mkrandom "$T/raw.bin" $((200 * 1024))
mkrandom "$T/oraw.bin" $((200 * 1024))
mkrandom "$T/open.bin" $((4 << 20))
afs put raw "$T/raw.bin" >/dev/null
afs put oraw "$T/oraw.bin" >/dev/null

# The step: reads its inputs, writes OUT/w.bin (FILE's bytes, or 100000
# random ones), with SIDE set SIDE/side.bin too, and a trace span.
cat >"$T/step.sh" <<'X'
set -e
for v in $(env | sed -n 's/^ARTIFACTFS_INPUT_[^=]*=//p'); do
	cat "$v"/* >/dev/null
done
mkdir -p "$ARTIFACTFS_OUTPUTS/$1"
if [ -n "${2:-}" ]; then
	cp "$2" "$ARTIFACTFS_OUTPUTS/$1/w.bin"
else
	head -c 100000 /dev/urandom >"$ARTIFACTFS_OUTPUTS/$1/w.bin"
fi
if [ -n "${SIDE:-}" ]; then
	mkdir -p "$ARTIFACTFS_OUTPUTS/$SIDE"
	head -c 1000 /dev/urandom >"$ARTIFACTFS_OUTPUTS/$SIDE/side.bin"
fi
"$AFS" --config "$T/empty.conf" --store "$S" trace add --kind tool_call \
	--name "span-$1" >/dev/null
X
export AFS T S SIDE
# json_eval EXPR: EXPR evaluated with j = the JSON on stdin, printed.
json_eval() {
	"$PY" -c "import json, sys; j = json.load(sys.stdin); print($1)"
}
# step PIPELINE STEP RUN OUT [OPTION...]: a run exec step writing artifact
# OUT, with run exec's OPTIONs (--input, --no-seal); FROM=FILE: OUT's
# content is FILE.
step() {
	local p=$1 s=$2 r=$3 out=$4
	shift 4
	afs run exec --pipeline "$p" --step "$s" --run "$r" "$@" \
		--param lr=0.1 -- sh "$T/step.sh" "$out" "${FROM:-}" 2>"$T/step.err" ||
		fail "run exec $p/$r: $(cat "$T/step.err")"
}

# shellcheck disable=SC2119 # no mount options
start_daemon
# train/t1 also makes side@v1, which the closure does not need.
SIDE=side step train fit t1 model --input raw=raw@v1
step train eval t2 report --input model=model@v1
step other fit o1 omodel --input raw=oraw@v1
# A run of train that made nothing the closure needs, and a step of the
# other pipeline reading the kept model (a reader outside the closure).
step train fit t3 model --input raw=raw@v1
step other use o3 ouse --input model=model@v1
# An open run holding 4 MiB of outputs (never sealed: no version).
FROM=$T/open.bin step other fit o2 big --no-seal
stop_daemon
afs run ls other | grep -q '^other  *o2  *open' || fail "other/o2 is not open"
afs ls side | grep -q '^v1 ' || fail "train/t1 made no side@v1"

afs fsck >/dev/null || fail "the store is not clean before the export"
afs export "$T/x" --closure report@v1 >"$T/exp.out"
pub=$(sed -n 's/.*public key \(.*\))$/\1/p' "$T/exp.out")
ex() { "$AFS" --config "$T/empty.conf" --store "$T/x" "$@"; }

check "the closure's versions only"
ex ls --json | json_eval "sorted(a['artifact'] for a in j)" >"$T/arts"
cat "$T/arts"
grep -qx "\['model', 'raw', 'report'\]" "$T/arts" ||
	fail "artifacts of the export: $(cat "$T/arts")"
ex ls model | grep -q '^v1 ' || fail "model@v1 missing"
ex ls model | grep -q '^v2 ' && fail "model@v2 (train/t3) exported"
[ "$(ex stats --json | json_eval "j['artifacts'], j['versions']")" = "3 3" ] ||
	fail "the export counts $(ex stats --json | json_eval "j['artifacts'], j['versions']") artifacts and versions"
ex alias ls model >"$T/aliases" || true
grep -q 'v2' "$T/aliases" && fail "an alias of model names v2, not exported: $(cat "$T/aliases")"

check "the closure's runs, steps, traces and environments stay"
ex run ls >"$T/runs"
cat "$T/runs"
for r in t1 t2; do
	grep -q "^train  *$r  *sealed" "$T/runs" || fail "run train/$r missing"
done
ex trace show train/t1 | grep -q 'span-model' || fail "trace of train/t1 missing"
ex trace show train/t2 | grep -q 'span-report' || fail "trace of train/t2 missing"
ex env show report@v1 >"$T/env.out" || fail "env show report@v1 on the export"
grep -q 'step.sh' "$T/env.out" || fail "report@v1's environment: $(head -c 300 "$T/env.out")"
ex env show model@v1 >/dev/null || fail "env show model@v1 on the export"
ex lineage report@v1 --upstream >"$T/lin"
cat "$T/lin"
for w in train/t2 train/t1 model@v1 raw@v1; do
	grep -q "$w" "$T/lin" || fail "lineage of report@v1 lacks $w"
done
# Every edge of a kept run leads to something exported (side@v1 is not).
for r in t1 t2; do
	ex lineage export --openlineage --run "train/$r" >"$T/ol.$r" ||
		fail "lineage export --openlineage --run train/$r on the export"
done
grep -q 'side' "$T/ol.t1" && fail "train/t1's output side@v1 (not exported) in lineage"

check "nothing of the other pipeline, of train/t3, nor of the open run"
grep -q '^other ' "$T/runs" && fail "runs of the other pipeline exported"
grep -q ' t3 ' "$T/runs" && fail "run train/t3 (outside the closure) exported"
[ "$(ex run ls other | wc -l)" -eq 1 ] || fail "runs of the other pipeline listed"
expect_err "no run other/o1" ex trace show other/o1
expect_err "no run train/t3" ex trace show train/t3
ex lineage model@v1 --downstream >"$T/down"
grep -q 'other' "$T/down" && fail "a reader outside the closure in lineage: $(cat "$T/down")"
ex audit query >"$T/q"
grep -q '/pipelines/other' "$T/q" && fail "a record of the other pipeline kept"

check "the open run's content is reclaimed: fsck clean, fewer bytes"
ex fsck | tee "$T/fsck" | grep -q clean || fail "fsck of the export: $(cat "$T/fsck")"
live=$(afs stats --json | json_eval "j['chunk_bytes']")
have=$(ex stats --json | json_eval "j['chunk_bytes']")
echo "   chunk bytes: store $live, export $have; du: store $(du -sk "$S" | cut -f1) KiB, export $(du -sk "$T/x" | cut -f1) KiB"
[ "$have" -lt $((1 << 20)) ] || fail "the export holds $have chunk bytes (the open run's outputs?)"
"$PY" - "$T/x/db" "$T/open.bin" <<'PY' || fail "the open run's bytes are in the export"
import os, sys
needle = open(sys.argv[2], 'rb').read()[1000000:1000064]
for f in os.listdir(sys.argv[1]):
    if needle in open(os.path.join(sys.argv[1], f), 'rb').read():
        sys.exit(1)
PY

check "verify-export, audit verify, and mount --ro still work"
"$AFS" verify-export "$T/x" --pubkey "$pub" | grep -q verified ||
	fail "verify-export of the trimmed export"
ex audit verify | grep -q 'journal chained' || fail "audit verify of the export"
RM=$T/rm
mkdir "$RM"
"$AFS" --config "$T/empty.conf" mount --ro --store "$T/x" "$RM" -f \
	-o allow_other >"$T/ro.log" 2>&1 &
RPID=$!
CLEANUP+=("end_daemon '$RM' '$RPID'")
for ((i = 0; i < 300; i++)); do
	mountpoint -q "$RM" && break
	sleep 0.1
done
mountpoint -q "$RM" || fail "the export did not mount: $(cat "$T/ro.log")"
ls "$RM/pipelines" >"$T/pl"
[ "$(cat "$T/pl")" = train ] || fail "pipelines of the mounted export: $(cat "$T/pl")"
[ "$(cd "$RM/artifacts" && echo *)" = "model raw report" ] ||
	fail "artifacts of the mounted export: $(cd "$RM/artifacts" && echo *)"
[ -f "$RM/pipelines/train/runs/t1/steps/fit/env/environ.txt" ] ||
	fail "train/t1's environment not in the mounted export"
cmp "$RM/artifacts/raw/v1/raw.bin" "$T/raw.bin" 2>/dev/null ||
	cmp "$RM/artifacts/raw/v1" "$T/raw.bin" || fail "raw@v1 reads back wrong"
fusermount3 -u "$RM"
wait "$RPID" || fail "the read-only mount exited non-zero: $(tail -n5 "$T/ro.log")"
finish
