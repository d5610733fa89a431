#!/usr/bin/env bash
# Commits per second of a store in RADOS with 1, 2 and 4 nodes sealing at
# once, on a one-host cluster (scripts/ceph_up.sh), against one node of a
# RocksDB store on this machine's disk.
#
#   scripts/bench/rados_commits.sh [ARTIFACTFS] [PUTS]
#
# ARTIFACTFS defaults to build-release/fs/artifactfs (MODES="put write
# wapart read" by default picks the kinds of operation); PUTS (per node,
# default 100) small puts into one artifact, so every node contends for
# the same version numbers.  Each node is a store directory joined to
# the pool's store, with its daemon mounted (commands go through it); the
# nodes run on this one host, so they share its 2 cores and the cluster.
# Commits are counted by the store: the commit counts "gen" of the
# metadata object and of the pipelines' shards (every put is a version seal and its journal records,
# in one or more commits), and puts/s is what a user sees.
#
# SPLIT=1 adds rows "split": the same nodes, each with a store of its
# own in a pool of its own (nothing shared, so nothing contends but the
# cluster and the cores): the most that sharding one store's metadata
# could give on this cluster.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
AFS=$(realpath "${1:-$ROOT/build-release/fs/artifactfs}")
PUTS=${2:-100}
T=$(mktemp -d "${TMPDIR:-/tmp}/afs-bench-commits.XXXXXX")
chmod 755 "$T"
CL=$T/ceph
PIDS=()
MNTS=()
cleanup() {
	for m in "${MNTS[@]}"; do fusermount3 -u "$m" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	"$ROOT/scripts/ceph_down.sh" "$CL" >/dev/null 2>&1 || true
	rm -rf --one-file-system "$T"
}
trap cleanup EXIT

: >"$T/afs.conf"
export HOME=$T/home ARTIFACTFS_KEY_DIR=$T/keys
mkdir -p "$HOME"
"$ROOT/scripts/ceph_up.sh" "$CL" bench split1 split2 split3 split4 >/dev/null
CONF=$CL/ceph.conf
afs() { "$AFS" --config "$T/afs.conf" -q --store "$1" "${@:2}"; }

# mount_node DIR: its daemon, waiting for its socket.
mount_node() {
	local s=$1 m=$1.mnt i
	mkdir -p "$m"
	"$AFS" --config "$T/afs.conf" mount --store "$s" "$m" -f -o allow_other \
		>"$s.log" 2>&1 &
	PIDS+=($!)
	MNTS+=("$m")
	for ((i = 0; i < 300; i++)); do
		[ -S "$s/daemon.sock" ] && mountpoint -q "$m" && return 0
		sleep 0.1
	done
	echo "rados_commits: $s did not mount" >&2
	exit 1
}

unmount_all() {
	for m in "${MNTS[@]}"; do fusermount3 -u "$m"; done
	for p in "${PIDS[@]}"; do wait "$p" || true; done
	MNTS=() PIDS=()
}

# gen [POOL]: the commit count of the store in POOL (default bench): its
# metadata object's and its pipelines' shards', summed.
gen() {
	local ns pool=${1:-bench} o g=0 c
	ns=$(rados -c "$CONF" -p "$pool" --all ls 2>/dev/null | awk '$1 ~ /\.meta$/ {print $1; exit}')
	[ -n "$ns" ] || { echo 0; return; }
	for o in $(rados -c "$CONF" -p "$pool" -N "$ns" ls 2>/dev/null | grep -E '^(meta|shard\.)'); do
		c=$(rados -c "$CONF" -p "$pool" -N "$ns" getxattr "$o" gen 2>/dev/null | sed 's/^0*//;s/^$/0/')
		g=$((g + ${c:-0}))
	done
	echo "$g"
}

# gens KIND N: the commit counts of what the run's nodes commit to, summed.
gens() {
	local i g=0
	case $1 in
	rados) gen ;;
	split)
		for ((i = 1; i <= $2; i++)); do g=$((g + $(gen "split$i"))); done
		echo "$g"
		;;
	*) echo 0 ;;
	esac
}

# pipe_of MODE DIR: the pipeline DIR's node writes its run in.
pipe_of() { [ "$1" = wapart ] && echo "p-$(basename "$2")" || echo p; }

# run N KIND MODE: N nodes at once, each PUTS times: "put" a small file
# into one artifact (a seal each, through the daemon's socket), or
# "write" a small file through its mount into an open run of its own (a
# commit at each close), all runs in one pipeline ("write") or each in a
# pipeline of its own ("wapart": each pipeline's open runs commit in an
# object of their own), or "read" a small sealed file through its mount
# (the journal's open and close records are commits too); prints the
# figures.
run() {
	local n=$1 kind=$2 mode=$3 t0 t1 g0 g1 i k=0
	local dirs=()
	for ((i = 1; i <= n; i++)); do dirs+=("$T/$kind-$mode-$n-$i"); done
	for d in "${dirs[@]}"; do
		k=$((k + 1))
		if [ "$kind" = rados ]; then
			afs "$d" init --rados bench --ceph-conf "$CONF" >/dev/null 2>&1
		elif [ "$kind" = split ]; then
			afs "$d" init --rados "split$k" --ceph-conf "$CONF" >/dev/null 2>&1
		else
			afs "$d" init >/dev/null
		fi
		mount_node "$d"
		mkdir -p "$d.files"
		for ((i = 1; i <= PUTS; i++)); do echo "$d $i" >"$d.files/f$i"; done
		if [ "$mode" = read ]; then
			afs "$d" put "r-$(basename "$d")" "$d.files" >/dev/null
		fi
	done
	g0=$(gens "$kind" "$n")
	local workers=()
	t0=$(date +%s.%N)
	for d in "${dirs[@]}"; do
		if [ "$mode" = put ]; then
			(for ((i = 1; i <= PUTS; i++)); do
				afs "$d" put "c$n" "$d.files/f$i" >/dev/null
			done) &
		elif [ "$mode" = read ]; then
			python3 -c '
import os, sys
d = sys.argv[1]
n = 0
for name in sorted(os.listdir(d)):
    with open(os.path.join(d, name)) as f:
        n += len(f.read()) > 0
open(sys.argv[2], "w").write("%d\n" % n)
' "$d.mnt/artifacts/r-$(basename "$d")/v1" "$d.read" &
		else
			local out
			out=$d.mnt/pipelines/$(pipe_of "$mode" "$d")/runs/$(basename "$d")/steps/s/outputs
			mkdir -p "$out"
			python3 -c '
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    with open(os.path.join(d, "f%d" % i), "w") as f:
        f.write("%d\n" % i)
' "$out" "$PUTS" &
		fi
		workers+=($!)
	done
	for w in "${workers[@]}"; do wait "$w" || echo "a node's puts failed" >&2; done
	t1=$(date +%s.%N)
	g1=$(gens "$kind" "$n")
	local got
	if [ "$mode" = put ] && [ "$kind" = split ]; then
		got=0
		for d in "${dirs[@]}"; do got=$((got + $(afs "$d" ls "c$n" | grep -c '^v[0-9]'))); done
	elif [ "$mode" = put ]; then
		got=$(afs "${dirs[0]}" ls "c$n" | grep -c '^v[0-9]')
	elif [ "$mode" = read ]; then
		got=0
		for d in "${dirs[@]}"; do got=$((got + $(cat "$d.read" 2>/dev/null || echo 0))); done
	else
		# Every node's files, read through the first node's mount (its
		# own, when each node has a store of its own).
		got=0
		local via=${dirs[0]}
		for d in "${dirs[@]}"; do
			[ "$kind" = split ] && via=$d
			got=$((got + $(cat "$via.mnt/pipelines/$(pipe_of "$mode" "$d")/runs/$(basename "$d")/steps/s/outputs"/* | wc -l)))
		done
	fi
	python3 - "$kind" "$mode" "$n" "$PUTS" "$t0" "$t1" "$g0" "$g1" "$got" <<'EOF'
import sys
kind, mode, n, puts, t0, t1, g0, g1, got = sys.argv[1:]
n, puts, got = int(n), int(puts), int(got)
s = float(t1) - float(t0)
commits = int(g1) - int(g0)
c = f"{commits / s:10.1f}" if kind != "rocksdb" else f"{'-':>10}"
what = {"put": "versions", "write": "files", "wapart": "files",
        "read": "files read"}[mode]
print(f"{kind:8} {mode:5} {n:5d} {n * puts:6d} {s:8.2f} {n * puts / s:8.1f} {c}"
      f"   {got} {what}{'' if got == n * puts else '  LOST SOME'}")
EOF
	unmount_all
}

printf '%-8s %5s %5s %6s %8s %8s %10s\n' backend what nodes ops "s" "ops/s" "commits/s"
for mode in ${MODES:-put write wapart read}; do
	[ -n "${NODES:-}" ] || run 1 rocksdb "$mode"
	for n in ${NODES:-1 2 4}; do run "$n" rados "$mode"; done
	if [ "${SPLIT:-0}" = 1 ]; then
		for n in 2 4; do run "$n" split "$mode"; done
	fi
done
