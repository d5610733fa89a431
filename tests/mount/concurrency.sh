#!/usr/bin/env bash
# Several processes at once: parallel readers of one large sealed file,
# two runs written and sealed in parallel (both into the same artifact
# too), and listings of artifacts/ while a run seals.
source "$(dirname "$0")/lib.sh" "$@"

afs init >/dev/null
start_daemon
P=$M/pipelines/train/runs
A=$M/artifacts

check "a 64 MiB file written through the mount and sealed"
mkrandom "$T/big.bin" $((64 << 20))
WANT=$(sha "$T/big.bin")
mkdir -p "$P/big/steps/s/outputs"
cp "$T/big.bin" "$P/big/steps/s/outputs/big.bin"
echo seal >"$P/big/control"

check "4 parallel readers of the sealed file get the right digest"
pids=()
for i in 1 2 3 4; do
	(cat "$A/big.bin/v1/big.bin" | sha256sum | cut -d' ' -f1 >"$T/read.$i") &
	pids+=($!)
done
for p in "${pids[@]}"; do
	wait "$p" || defect "reader $p failed"
done
for i in 1 2 3 4; do
	[ "$(cat "$T/read.$i")" = "$WANT" ] ||
		defect "reader $i got $(cat "$T/read.$i"), want $WANT"
done
# And readers at different offsets at once, each checking its slice.
"$PY" - "$A/big.bin/v1/big.bin" "$T/big.bin" <<'EOF' || defect "offset readers"
import hashlib, sys, threading
mnt, local = sys.argv[1:]
size = 64 << 20
bad = []
def part(k):
    with open(mnt, "rb") as f, open(local, "rb") as g:
        for off in range(k * (1 << 20), size, 7 << 20):
            f.seek(off); g.seek(off)
            if f.read(300000) != g.read(300000):
                bad.append(off)
ts = [threading.Thread(target=part, args=(k,)) for k in range(6)]
[t.start() for t in ts]
[t.join() for t in ts]
if bad:
    print("   wrong bytes at offsets", bad[:5])
    sys.exit(1)
EOF

check "two runs written in parallel by two processes, sealed at once"
for r in a b; do
	mkdir -p "$T/src.$r/tree/sub"
	mkrandom "$T/src.$r/tree/w.bin" $((6 << 20))
	for j in $(seq 20); do
		echo "$r $j" >"$T/src.$r/tree/sub/f$j.txt"
	done
	mkrandom "$T/src.$r/shared.bin" $((1 << 20))
done
writer() {
	local r=$1 o=$P/par-$1/steps/s/outputs
	mkdir -p "$o"
	cp -r "$T/src.$r/tree" "$o/tree-$r"
	"$PY" -c '
import sys, shutil
shutil.copyfile(sys.argv[1], sys.argv[2])' "$T/src.$r/shared.bin" "$o/shared.bin"
	echo seal >"$P/par-$r/control"
}
writer a >"$T/writer.a" 2>&1 &
wa=$!
writer b >"$T/writer.b" 2>&1 &
wb=$!
wait "$wa" || defect "writer a failed: $(cat "$T/writer.a")"
wait "$wb" || defect "writer b failed: $(cat "$T/writer.b")"
for r in a b; do
	diff -r "$T/src.$r/tree" "$A/tree-$r/v1" || defect "tree-$r@v1 differs"
done
# Both sealed shared.bin: v1 and v2, one from each run, whole.
[ "$(ls "$A/shared.bin" | sort | tr '\n' ' ')" = "latest v1 v2 " ] ||
	defect "shared.bin lists $(ls "$A/shared.bin" | tr '\n' ' ')"
for v in v1 v2; do
	run=$(getfattr --absolute-names --only-values -n user.artifactfs.run \
		"$A/shared.bin/$v/shared.bin")
	r=${run#train/par-}
	r=${r%%/*}
	echo "   shared.bin@$v from run $run"
	[ -f "$T/src.$r/shared.bin" ] || {
		defect "shared.bin@$v names run '$run'"
		continue
	}
	cmp "$T/src.$r/shared.bin" "$A/shared.bin/$v/shared.bin" ||
		defect "shared.bin@$v is not run $r's file"
done

check "ls -R of artifacts in a loop while a run seals: no errors"
mkdir -p "$T/src.c/deep/er/est"
for j in $(seq 60); do
	echo "c $j" >"$T/src.c/deep/f$j"
	echo "c $j" >"$T/src.c/deep/er/est/g$j"
done
mkrandom "$T/src.c/deep/er/w.bin" $((4 << 20))
for c in c1 c2 c3; do
	mkdir -p "$P/$c/steps/s/outputs"
	cp -r "$T/src.c/deep" "$P/$c/steps/s/outputs/deep"
done
: >"$T/ls.err"
(
	n=0
	while [ ! -e "$T/ls.stop" ]; do
		ls -R "$A" >/dev/null 2>>"$T/ls.err" || echo "ls -R failed" >>"$T/ls.err"
		ls -lR "$P" >/dev/null 2>>"$T/ls.err" || echo "ls -lR failed" >>"$T/ls.err"
		n=$((n + 1))
	done
	echo "$n" >"$T/ls.count"
) &
LSPID=$!
CLEANUP+=("touch '$T/ls.stop'; wait $LSPID 2>/dev/null")
sleep 0.3
for c in c1 c2 c3; do
	echo seal >"$P/$c/control"
	sleep 0.2
done
touch "$T/ls.stop"
wait "$LSPID"
echo "   $(cat "$T/ls.count") listing rounds during 3 seals"
[ ! -s "$T/ls.err" ] || defect "listings failed during the seals: $(head -n 5 "$T/ls.err")"
for v in v1 v2 v3; do
	diff -r "$T/src.c/deep" "$A/deep/$v" || defect "deep@$v is not complete"
done
[ "$(readlink "$A/deep/latest")" = v3 ] || defect "deep latest -> $(readlink "$A/deep/latest")"

stop_daemon
finish
