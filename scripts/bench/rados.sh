#!/usr/bin/env bash
# Put and cat of one big file into a store whose chunks live in RADOS (a
# one-host memstore cluster from scripts/ceph_up.sh) vs the default
# RocksDB store, on this machine.
#
#   scripts/bench/rados.sh [ARTIFACTFS] [MIB]
#
# ARTIFACTFS defaults to build-release/fs/artifactfs (a Release build:
# cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release);
# MIB defaults to 256.  Random bytes (zstd is tried and skipped).  Each
# store is new; every figure is one run.  Environment: ARTIFACTFS_THREADS
# sets the store's threads (config `threads`; 0 = one per CPU).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
AFS=$(realpath "${1:-$ROOT/build-release/fs/artifactfs}")
MIB=${2:-256}
T=$(mktemp -d "${TMPDIR:-/tmp}/afs-bench-rados.XXXXXX")
CL=$T/ceph
trap '"$ROOT/scripts/ceph_down.sh" "$CL" >/dev/null 2>&1; rm -rf "$T"' EXIT

echo "threads = ${ARTIFACTFS_THREADS:-0};" >"$T/afs.conf"
export HOME=$T/home ARTIFACTFS_KEY_DIR=$T/keys
mkdir -p "$HOME"
MEM_BYTES=$(((MIB * 3 + 512) << 20)) "$ROOT/scripts/ceph_up.sh" "$CL" bench >/dev/null
head -c $((MIB << 20)) /dev/urandom >"$T/big.bin"

afs() { "$AFS" --config "$T/afs.conf" -q --store "$1" "${@:2}"; }
rate() { python3 -c "print(f'{$1 / $2:.0f}')"; }
timed() {
	local t0 t1
	t0=$(date +%s.%N)
	"$@" >/dev/null
	t1=$(date +%s.%N)
	python3 -c "print(f'{$t1 - $t0:.2f}')"
}

printf '%-8s %10s %10s %10s %10s\n' backend "put s" "put MB/s" "cat s" "cat MB/s"
for b in rocksdb rados; do
	S=$T/store-$b
	if [ $b = rados ]; then
		afs "$S" init --rados bench --ceph-conf "$CL/ceph.conf" >/dev/null
	else
		afs "$S" init >/dev/null
	fi
	sync
	tp=$(timed afs "$S" put big "$T/big.bin")
	sync
	echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
	tc=$(timed afs "$S" cat big)
	mb=$(python3 -c "print($MIB * 1.048576)")
	printf '%-8s %10s %10s %10s %10s\n' $b "$tp" "$(rate "$mb" "$tp")" \
		"$tc" "$(rate "$mb" "$tc")"
done
