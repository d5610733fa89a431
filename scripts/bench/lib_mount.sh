# shellcheck shell=bash
# Helpers for scripts/bench/mount.sh: timing, cache dropping, and FUSE
# mounts (artifactfs, bindfs) whose daemons run in the foreground as our
# own background children, so that each one is ended by its pid.
#
# Expects: WORK (work directory), LOGS (log directory), AFS (artifactfs
# binary) and, for the mounts, FUSE_OPTS (extra -o options, may be empty).

export LC_ALL=C # EPOCHREALTIME and printf use '.' as the decimal point

log()  { printf '[mount-bench] %s\n' "$*"; }
warn() { printf '[mount-bench] WARNING: %s\n' "$*" >&2; }
fail() { printf '[mount-bench] ERROR: %s\n' "$*" >&2; return 1; }

IS_ROOT=0
[[ $(id -u) == 0 ]] && IS_ROOT=1

as_root() {
  if [[ $IS_ROOT == 1 ]]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else fail "need root (or sudo) to run: $*"; fi
}

# ---------------------------------------------------------------- timing

# timed CMD...: runs CMD, sets T to its wall time in seconds.
T=0
timed() {
  local t0=$EPOCHREALTIME rc=0
  "$@" || rc=$?
  local t1=$EPOCHREALTIME
  T=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')
  return $rc
}

# calc EXPR: evaluates a floating-point awk expression.
calc() { awk "BEGIN { printf \"%.6f\", $* }"; }

# drop_caches: writes dirty data, then drops page, dentry and inode caches
# (root only; without root it only syncs).
drop_caches() {
  sync
  if [[ $IS_ROOT == 1 ]]; then
    echo 3 >/proc/sys/vm/drop_caches
  fi
}

# daemon_cpu PIDFILE: user + system CPU seconds of that process so far,
# all its threads, those that ended included.
daemon_cpu() {
  local pid
  pid=$(<"$1")
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' \
    "/proc/$pid/stat"
}

# daemon_cpu_ns PIDFILE: CPU time (user + system, ns) of that process,
# all its threads, those that ended included: its process CPU clock
# (clock_gettime of the clock id (~PID << 3) | 2, which Linux lets any
# process read), finer than daemon_cpu's clock ticks, for a few thousand
# requests of microseconds.
daemon_cpu_ns() {
  local pid
  pid=$(<"$1")
  python3 -c 'import sys, time; print(time.clock_gettime_ns((~int(sys.argv[1]) << 3) | 2))' "$pid"
}

# daemon_reads PIDFILE: read(2) calls that process made so far (syscr of
# /proc/PID/io).  Each FUSE request is one read of /dev/fuse; a daemon
# answering from memory makes no other, so the difference over a step
# counts the requests of that step (a step that reads the store counts
# those reads too).
daemon_reads() {
  local pid
  pid=$(<"$1")
  awk '/^syscr:/ { print $2 }' "/proc/$pid/io"
}

# ---------------------------------------------------------------- mounts

# wait_mounted MNT PID: waits until MNT is a mount point, or PID died.
wait_mounted() {
  local mnt=$1 pid=$2 i
  for ((i = 0; i < 300; i++)); do
    mountpoint -q "$mnt" && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

# stop_daemon MNT PIDFILE: unmounts MNT and waits for the daemon whose pid
# is in PIDFILE to exit (TERM after 60 s, KILL after 10 more).
stop_daemon() {
  local mnt=$1 pidfile=$2 pid="" i
  [[ -f $pidfile ]] && pid=$(<"$pidfile")
  if mountpoint -q "$mnt" 2>/dev/null; then
    for ((i = 0; i < 20; i++)); do
      fusermount3 -u "$mnt" 2>/dev/null && break
      sleep 0.25
    done
    mountpoint -q "$mnt" 2>/dev/null && fusermount3 -uz "$mnt" 2>/dev/null
  fi
  if [[ -n $pid ]]; then
    for ((i = 0; i < 600; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      warn "daemon $pid did not exit after unmount; sending TERM"
      kill -TERM "$pid" 2>/dev/null
      for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    fi
    # Reap it if it is our child (no-op otherwise).
    wait "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

# bdi_ra MNT: the read_ahead_kb of MNT's backing device info.
bdi_ra() {
  local dev
  dev=$(mountpoint -d "$1" 2>/dev/null) || { echo "?"; return; }
  cat "/sys/class/bdi/$dev/read_ahead_kb" 2>/dev/null || echo "?"
}

# afs_mount STORE MNT: mounts artifactfs in the foreground, in background.
# AFS_FUSE_OPTS, when set, replaces FUSE_OPTS for artifactfs alone: set
# empty, the mount serves the bench user only and the kernel caches its
# entries and attributes (with allow_other it caches none: every lookup is
# decided for its caller).
afs_mount() {
  local store=$1 mnt=$2 pid opts=${AFS_FUSE_OPTS-$FUSE_OPTS}
  "$AFS" mount --store "$store" "$mnt" -f ${opts:+-o "$opts"} \
    >>"$LOGS/artifactfs-mount.log" 2>&1 &
  pid=$!
  echo "$pid" >"$WORK/artifactfs.pid"
  if ! wait_mounted "$mnt" "$pid"; then
    stop_daemon "$mnt" "$WORK/artifactfs.pid"
    fail "artifactfs mount failed (see $LOGS/artifactfs-mount.log)"
    return 1
  fi
  # The first request waits for the daemon to have opened the store.
  ls "$mnt" >/dev/null
}
afs_umount() { stop_daemon "$1" "$WORK/artifactfs.pid"; }

# bind_mount SRC MNT: bindfs in the foreground, in background.
bind_mount() {
  local src=$1 mnt=$2 pid
  bindfs -f ${FUSE_OPTS:+-o "$FUSE_OPTS"} "$src" "$mnt" \
    >>"$LOGS/bindfs.log" 2>&1 &
  pid=$!
  echo "$pid" >"$WORK/bindfs.pid"
  if ! wait_mounted "$mnt" "$pid"; then
    stop_daemon "$mnt" "$WORK/bindfs.pid"
    fail "bindfs mount failed (see $LOGS/bindfs.log)"
    return 1
  fi
  ls "$mnt" >/dev/null
}
bind_umount() { stop_daemon "$1" "$WORK/bindfs.pid"; }

# ------------------------------------------------------------- workloads

# read_file FILE: sets T to the time of one sequential read, bs=1M.
read_file() { timed dd if="$1" of=/dev/null bs=1M status=none; }

# par_read N FILE: N concurrent sequential readers; sets T to the time
# until the last one finished.
par_read() {
  local n=$1 f=$2 i pids=() rc=0 t0 t1
  t0=$EPOCHREALTIME
  for ((i = 0; i < n; i++)); do
    dd if="$f" of=/dev/null bs=1M status=none &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || rc=1; done
  t1=$EPOCHREALTIME
  T=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')
  return $rc
}

# bench_traps: on exit, stops the artifactfs and bindfs mounts ($AMNT,
# $BMNT) and removes $WORK (kept with KEEP=1, or while a mount stays).
bench_traps() {
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

bench_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_daemon "$AMNT" "$WORK/artifactfs.pid" 2>/dev/null || true
  stop_daemon "$BMNT" "$WORK/bindfs.pid" 2>/dev/null || true
  if [[ $KEEP == 1 ]]; then
    log "kept $WORK"
  elif mountpoint -q "$AMNT" 2>/dev/null || mountpoint -q "$BMNT" 2>/dev/null; then
    warn "a mount is still active; not removing $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
