#!/usr/bin/env bash
# Long mode of the crash-consistency test (tests/crash/crash.sh): at least
# 200 SIGKILLs of the mount daemon under three writers, a remount and a
# check of every promise after each.
#
#   sudo scripts/crash_long.sh [KILLS]          (default 200)
#   sudo ARTIFACTFS_BIN=build/fs/artifactfs scripts/crash_long.sh 500
#
# Without ARTIFACTFS_BIN it builds Release in BUILD_DIR (default
# build-release), as scripts/bench does, and tests a copy of that binary.
# Every version and fsync'd file is read back in full every
# CRASH_FULL_EVERY kills (default 25) and at the last; in between the new
# ones and a sample (CRASH_SAMPLE, default 0.05).  Prints the test's line
# per kill, then the figures; exits as the test does (1 on any problem).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KILLS=${1:-200}
[[ $KILLS =~ ^[0-9]+$ && $KILLS -ge 1 ]] || { echo "KILLS must be a positive integer" >&2; exit 2; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/afs-crash-long.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# shellcheck source=release_bin.sh
. "$ROOT/scripts/release_bin.sh"
release_bin "$WORK"

export CRASH_FULL_EVERY=${CRASH_FULL_EVERY:-25}
export CRASH_SAMPLE=${CRASH_SAMPLE:-0.05}
start=$(date +%s)
rc=0
bash "$ROOT/tests/crash/crash.sh" "$WORK/artifactfs" "$KILLS" | tee "$WORK/out.txt" || rc=$?
secs=$(($(date +%s) - start))
echo
echo "== crash_long: $KILLS kills in $secs s (exit $rc)"
grep -E '^crash: ' "$WORK/out.txt" || true
echo "kills with problems: $(grep -cE '^kill [0-9]+ .*problems$' "$WORK/out.txt" || true)"
exit "$rc"
