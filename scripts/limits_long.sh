#!/usr/bin/env bash
# Long mode of the limits test (tests/limits/limits.sh --long): 100,000
# files in a run, 100,000 entries in one directory, a 50 GiB sparse file,
# paths at PATH_MAX, put/get of 100,000 files; prints each part's elapsed
# seconds and the daemon's peak RSS.
#
#   sudo scripts/limits_long.sh
#   sudo ARTIFACTFS_BIN=build/fs/artifactfs scripts/limits_long.sh
#
# Without ARTIFACTFS_BIN it builds Release in BUILD_DIR (default
# build-release), as scripts/bench does, and tests a copy of that binary.
# LIMITS_N, LIMITS_SPARSE_GIB, LIMITS_RSS_MAX_KIB (default 4 GiB) and
# LIMITS_RSS_GROWTH_KIB (the peak's growth over the daemon's start,
# default 384 MiB) override the sizes.  The sparse file needs no 50 GiB of disk (holes are
# stored once as zero chunks), but the store, its spool and two copies of
# the 100,000-file tree need a few GiB under TMPDIR: with less than
# LIMITS_MIN_FREE_GIB (default 8) free there, the sparse file and N are
# scaled down, and the script says so.  Exits as the test does.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/afs-limits-long.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# shellcheck source=release_bin.sh
. "$ROOT/scripts/release_bin.sh"
release_bin "$WORK"

free_gib=$(($(df -Pk "${TMPDIR:-/tmp}" | awk 'NR == 2 {print $4}') / 1048576))
min_free=${LIMITS_MIN_FREE_GIB:-8}
echo "limits_long: ${free_gib} GiB free under ${TMPDIR:-/tmp} (want $min_free)"
if ((free_gib < min_free)); then
  export LIMITS_SPARSE_GIB=${LIMITS_SPARSE_GIB:-$((free_gib > 2 ? free_gib : 2))}
  export LIMITS_N=${LIMITS_N:-$((free_gib > 1 ? 25000 : 5000))}
  echo "limits_long: NOT the full long mode: only $free_gib GiB free; scaled down" \
    "to N=$LIMITS_N and a $LIMITS_SPARSE_GIB GiB sparse file" >&2
fi

start=$(date +%s)
rc=0
bash "$ROOT/tests/limits/limits.sh" "$WORK/artifactfs" --long 2>&1 | tee "$WORK/out.txt" || rc=$?
secs=$(($(date +%s) - start))
echo
echo "== limits_long: $secs s in all (exit $rc)"
grep -E '^limits: ' "$WORK/out.txt" || true
grep -E '^DEFECT: ' "$WORK/out.txt" || true
exit "$rc"
