#!/usr/bin/env bash
# Daemon cat benchmark: READERS concurrent `artifactfs cat big@v1 >
# /dev/null` through the mount daemon's socket, against READERS concurrent
# `cat MNT/artifacts/big/v1/FILE > /dev/null` through the FUSE mount, on
# one shared mount (-o allow_other) of a SIZE_MB MiB version.
#
#   scripts/bench/daemon_cat.sh                       256 MiB, 8 readers
#   SIZE_MB=64 READERS=4 scripts/bench/daemon_cat.sh  smoke run
#   ARTIFACTFS_BIN=/path/to/artifactfs scripts/bench/daemon_cat.sh
#
# See scripts/bench/README.md for what is measured and how.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=lib_mount.sh
. "$HERE/lib_mount.sh"
log() { printf '[daemon-cat] %s\n' "$*"; }

case "${1:-}" in
  "") ;;
  -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: $0   (settings through the environment)" >&2; exit 2 ;;
esac

SIZE_MB=${SIZE_MB:-256}      # the version, MiB
READERS=${READERS:-8}        # concurrent readers of each kind
ROUNDS=${ROUNDS:-3}          # rounds of each kind, alternating; best kept
TIMEOUT_S=${TIMEOUT_S:-300}  # a round that takes longer fails
KEEP=${KEEP:-0}
BENCH_DIR=${BENCH_DIR:-/var/tmp}

[[ $SIZE_MB =~ ^[0-9]+$ && $SIZE_MB -gt 0 ]] || { echo "SIZE_MB must be a positive integer" >&2; exit 2; }
[[ $READERS =~ ^[0-9]+$ && $READERS -gt 0 ]] || { echo "READERS must be a positive integer" >&2; exit 2; }
[[ $ROUNDS =~ ^[0-9]+$ && $ROUNDS -gt 0 ]] || { echo "ROUNDS must be a positive integer" >&2; exit 2; }
[[ $IS_ROOT == 1 ]] || { echo "run it as root: a shared mount (-o allow_other) and dropping the page cache need root" >&2; exit 2; }
BYTES=$((SIZE_MB * 1048576))

mkdir -p "$BENCH_DIR"
WORK=$(mktemp -d "$BENCH_DIR/afs-daemon-cat.XXXXXX")
WORK=$(cd "$WORK" && pwd -P)
LOGS=$WORK/logs
STORE=$WORK/store
AMNT=$WORK/mnt
mkdir -p "$LOGS" "$AMNT" "$WORK/bin"
# shellcheck disable=SC2034 # read by afs_mount (lib_mount.sh)
FUSE_OPTS=allow_other

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_daemon "$AMNT" "$WORK/artifactfs.pid" 2>/dev/null || true
  if [[ $KEEP == 1 ]]; then
    log "kept $WORK"
  elif mountpoint -q "$AMNT" 2>/dev/null; then
    warn "the mount is still active; not removing $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The binary: ARTIFACTFS_BIN, or a Release build in BUILD_DIR (as
# mount.sh does), copied so that a rebuild does not change what we measure.
if [[ -n ${ARTIFACTFS_BIN:-} ]]; then
  [[ -x $ARTIFACTFS_BIN ]] || { echo "ARTIFACTFS_BIN=$ARTIFACTFS_BIN is not executable" >&2; exit 2; }
  cp "$ARTIFACTFS_BIN" "$WORK/bin/artifactfs"
else
  BDIR=${BUILD_DIR:-$ROOT/build-release}
  log "building artifactfs (Release) in $BDIR"
  if [[ ! -f $BDIR/CMakeCache.txt ]]; then
    cmake -S "$ROOT" -B "$BDIR" -DCMAKE_BUILD_TYPE=Release >"$LOGS/build.log" 2>&1 ||
      { tail -n 20 "$LOGS/build.log" >&2; echo "cmake configure failed" >&2; exit 1; }
  fi
  cmake --build "$BDIR" -j"$(nproc)" >>"$LOGS/build.log" 2>&1 ||
    { grep -E 'error|Error' "$LOGS/build.log" | head -n 20 >&2; echo "build failed" >&2; exit 1; }
  cp "$BDIR/fs/artifactfs" "$WORK/bin/artifactfs"
fi
AFS=$WORK/bin/artifactfs
: >"$WORK/empty.conf"
afs() { "$AFS" --config "$WORK/empty.conf" --store "$STORE" "$@"; }

log "a ${SIZE_MB} MiB version of random bytes (does not compress or dedup)"
head -c "$BYTES" /dev/urandom >"$WORK/big.bin"
WANT=$(sha256sum "$WORK/big.bin" | cut -d' ' -f1)
afs init >/dev/null
afs put big "$WORK/big.bin" >/dev/null
rm -f "$WORK/big.bin"

afs_mount "$STORE" "$AMNT"
for ((i = 0; i < 300; i++)); do
  [[ -S $STORE/daemon.sock ]] && break
  sleep 0.1
done
[[ -S $STORE/daemon.sock ]] || { echo "no daemon.sock in $STORE" >&2; exit 1; }
FILE=$AMNT/artifacts/big/v1/big.bin
[[ -f $FILE ]] || { echo "no $FILE in the mount" >&2; exit 1; }

# Both readers are checked once for the right bytes (not timed).
got=$(afs cat big@v1 | sha256sum | cut -d' ' -f1)
[[ $got == "$WANT" ]] || { echo "artifactfs cat big@v1: wrong bytes" >&2; exit 1; }
got=$(sha256sum "$FILE" | cut -d' ' -f1)
[[ $got == "$WANT" ]] || { echo "$FILE: wrong bytes" >&2; exit 1; }

# par KIND: READERS concurrent reads of the whole version; sets T to the
# time until the last one ended.  Each reader's byte count is checked.
par() {
  local kind=$1 i pids=() rc=0 t0 t1
  t0=$EPOCHREALTIME
  for ((i = 0; i < READERS; i++)); do
    if [[ $kind == daemon ]]; then
      timeout "$TIMEOUT_S" "$AFS" --config "$WORK/empty.conf" --store "$STORE" \
        cat big@v1 2>"$LOGS/r$i.err" | wc -c >"$WORK/r$i.n" &
    else
      timeout "$TIMEOUT_S" cat "$FILE" 2>"$LOGS/r$i.err" | wc -c >"$WORK/r$i.n" &
    fi
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || rc=1; done
  t1=$EPOCHREALTIME
  T=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')
  for ((i = 0; i < READERS; i++)); do
    if [[ $(<"$WORK/r$i.n") != "$BYTES" ]]; then
      echo "$kind reader $i read $(<"$WORK/r$i.n") bytes, not $BYTES: $(head -c 200 "$LOGS/r$i.err")" >&2
      rc=1
    fi
  done
  return $rc
}

# Each round drops the page cache first (sync; echo 3 > drop_caches) and
# remounts nothing: both kinds start cold in every round, so the mount
# gains nothing from pages the other kind read.  Rounds alternate which
# kind goes first; each kind's best round is kept.
declare -A BEST=([daemon]=0 [mount]=0)
run_kind() {
  local kind=$1 mbs
  drop_caches
  par "$kind" || { echo "the $kind round failed" >&2; exit 1; }
  mbs=$(calc "$READERS * $BYTES / $T / 1e6")
  log "$(printf 'round %d: %-6s %d x %d MiB in %.2f s = %.1f MB/s' \
    "$r" "$kind:" "$READERS" "$SIZE_MB" "$T" "$mbs")"
  if awk -v a="$mbs" -v b="${BEST[$kind]}" 'BEGIN { exit !(a > b) }'; then
    BEST[$kind]=$mbs
  fi
}
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
for ((r = 1; r <= ROUNDS; r++)); do
  if ((r % 2)); then run_kind daemon; run_kind mount
  else run_kind mount; run_kind daemon; fi
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

afs_umount "$AMNT"
echo
printf '%d concurrent readers of a %d MiB version, cold cache, best of %d rounds (MB = 1e6 bytes)\n' \
  "$READERS" "$SIZE_MB" "$ROUNDS"
printf '%-44s %10s\n' "path" "aggr MB/s"
printf '%-44s %10.1f\n' "artifactfs cat big@v1 (through the daemon)" "${BEST[daemon]}"
printf '%-44s %10.1f\n' "cat MNT/artifacts/big/v1/FILE (the mount)" "${BEST[mount]}"
printf '%-44s %10.2f\n' "daemon / mount" "$(calc "${BEST[daemon]} / ${BEST[mount]}")"
printf 'load average: %s at the start, %s at the end; %s CPUs\n' "$LOAD0" "$LOAD1" "$(nproc)"
