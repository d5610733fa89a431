#!/usr/bin/env bash
# Mount benchmark: artifactfs against a plain ext4 directory and bindfs
# (FUSE passthrough) over the same ext4 filesystem, and artifactfs with
# its audit journal against a store made without one (init --no-journal).
#
#   scripts/bench/mount.sh                          full run (1 GiB, 50,000 files)
#   SIZE_MB=128 NFILES=2000 scripts/bench/mount.sh  smoke run
#   scripts/bench/mount.sh --audit                  audit journal on vs off only
#   scripts/bench/mount.sh --json                   the same, and a JSON summary
#                                                   on stdout (the report on stderr)
#
# See scripts/bench/README.md for the environment variables and the output.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=lib_mount.sh
. "$HERE/lib_mount.sh"

AUDIT_ONLY=0
JSON=0
for arg in "$@"; do
  case "$arg" in
    --audit) AUDIT_ONLY=1 ;;
    --json) JSON=1 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: $0 [--audit] [--json]   (settings through the environment)" >&2; exit 2 ;;
  esac
done
# --json: stdout is the summary alone; everything else goes to stderr.
if [[ $JSON == 1 ]]; then
  exec 3>&1 1>&2
fi

SIZE_MB=${SIZE_MB:-1024}       # the big file, MiB
NFILES=${NFILES:-50000}        # files in the listed tree
NSMALL=${NSMALL:-$((NFILES < 10000 ? NFILES : 10000))} # created 4 KiB files
PER_DIR=${PER_DIR:-500}        # files per directory of the tree
READERS=${READERS:-4}          # parallel readers
ROUNDS=${ROUNDS:-$((AUDIT_ONLY ? 4 : 1))} # runs of every target; best figures kept
if [[ $AUDIT_ONLY == 1 ]]; then
  TARGETS=${TARGETS:-"artifactfs audit_off"}
else
  TARGETS=${TARGETS:-"ext4 bindfs artifactfs audit_off"}
fi
KEEP=${KEEP:-0}
BENCH_DIR=${BENCH_DIR:-/var/tmp}

[[ $SIZE_MB =~ ^[0-9]+$ && $SIZE_MB -gt 0 ]] || { echo "SIZE_MB must be a positive integer" >&2; exit 2; }
[[ $NFILES =~ ^[0-9]+$ && $NFILES -gt 0 ]] || { echo "NFILES must be a positive integer" >&2; exit 2; }
[[ $NSMALL =~ ^[0-9]+$ && $NSMALL -gt 0 ]] || { echo "NSMALL must be a positive integer" >&2; exit 2; }
[[ $ROUNDS =~ ^[0-9]+$ && $ROUNDS -gt 0 ]] || { echo "ROUNDS must be a positive integer" >&2; exit 2; }
BYTES=$((SIZE_MB * 1048576))

# ----------------------------------------------------------------- setup

mkdir -p "$BENCH_DIR"
WORK=$(mktemp -d "$BENCH_DIR/afs-mount-bench.XXXXXX")
WORK=$(cd "$WORK" && pwd -P)
LOGS=$WORK/logs
RES=$WORK/results.tsv
E4=$WORK/ext4            # the plain ext4 target; bindfs shows this directory
BMNT=$WORK/mnt-bindfs
AMNT=$WORK/mnt-artifactfs
STORE=$WORK/store
STORE_OFF=$WORK/store-nojournal  # the audit_off target's
SRC=$WORK/src.bin
LIST=$WORK/files.txt
TGT=$WORK/targets.tsv    # name, figure, need, PASS|MISS|FAIL|n/a (for --json)
mkdir -p "$LOGS" "$E4" "$BMNT" "$AMNT" "$WORK/bin"
: >"$RES"
: >"$TGT"

bench_traps

FUSE_OPTS=""
if [[ $IS_ROOT == 1 ]] || grep -qs '^[[:space:]]*user_allow_other' /etc/fuse.conf; then
  FUSE_OPTS=allow_other
fi
if [[ $IS_ROOT != 1 ]]; then
  warn "not root: caches cannot be dropped, so the 'cold' rows are not cold"
fi
# Issue 14's targets are for a shared mount: one other users reach.
AFS_OPTS=${AFS_FUSE_OPTS-$FUSE_OPTS}
SHARED=0
[[ ,$AFS_OPTS, == *,allow_other,* ]] && SHARED=1
[[ $SHARED == 1 ]] || warn "artifactfs is not mounted with allow_other: the shared-mount targets are n/a"

# record METRIC TARGET VALUE
record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$RES"; }

# The Python side: data generation and the per-file loops, timed inside.
PY='
import os, sys, time
cmd = sys.argv[1]
if cmd == "rand":                     # rand FILE MIB
    path, mib = sys.argv[2], int(sys.argv[3])
    with open(path, "wb") as f:
        for i in range(0, mib, 8):
            f.write(os.urandom(min(8, mib - i) << 20))
elif cmd == "tree":                   # tree DIR N PER_DIR LIST
    top, n, per, lst = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    names = []
    for i in range(n):
        d = "d%04d" % (i // per)
        if i % per == 0:
            os.makedirs(os.path.join(top, d), exist_ok=True)
        rel = "%s/f%06d.dat" % (d, i)
        with open(os.path.join(top, rel), "wb") as f:
            f.write((b"%d " % i) * (20 + (i * 7919) % 200))
        names.append(rel)
    with open(lst, "w") as f:
        f.write("\n".join(names) + "\n")
elif cmd == "create":                 # create DIR N: prints seconds
    top, n = sys.argv[2], int(sys.argv[3])
    buf = os.urandom(4096)
    t0 = time.perf_counter()
    for i in range(n):
        with open("%s/s%06d" % (top, i), "wb") as f:
            f.write(buf)
    print("%.6f" % (time.perf_counter() - t0))
elif cmd == "stat":                   # stat PREFIX LIST: prints seconds
    prefix, lst = sys.argv[2], sys.argv[3]
    paths = [prefix + "/" + l for l in open(lst).read().split()]
    st = os.stat
    t0 = time.perf_counter()
    for p in paths:
        st(p)
    print("%.6f" % (time.perf_counter() - t0))
'
py() { python3 -c "$PY" "$@"; }

install_bindfs() {
  dpkg -s bindfs >/dev/null 2>&1 && command -v bindfs >/dev/null && return 0
  log "installing bindfs"
  export DEBIAN_FRONTEND=noninteractive
  if ! compgen -G '/var/lib/apt/lists/*_Packages' >/dev/null; then
    as_root apt-get update -qq
  fi
  if ! as_root apt-get install -y -qq bindfs >/dev/null; then
    as_root apt-get update -qq
    as_root apt-get install -y -qq bindfs >/dev/null || return 1
  fi
}

AFS=""
build_artifactfs() {
  local bin
  if [[ -n ${ARTIFACTFS_BIN:-} ]]; then
    [[ -x $ARTIFACTFS_BIN ]] || fail "ARTIFACTFS_BIN=$ARTIFACTFS_BIN is not executable" || return 1
    bin=$ARTIFACTFS_BIN
  else
    local bdir=${BUILD_DIR:-$ROOT/build-release}
    log "building artifactfs (Release) in $bdir"
    if [[ ! -f $bdir/CMakeCache.txt ]]; then
      cmake -S "$ROOT" -B "$bdir" -DCMAKE_BUILD_TYPE=Release >"$LOGS/build.log" 2>&1 ||
        { tail -n 20 "$LOGS/build.log" >&2; fail "cmake configure failed"; return 1; }
    fi
    cmake --build "$bdir" -j"$(nproc)" >>"$LOGS/build.log" 2>&1 ||
      { grep -E 'error|Error' "$LOGS/build.log" | head -n 20 >&2
        fail "build failed (set ARTIFACTFS_BIN to use a binary built elsewhere)"; return 1; }
    bin=$bdir/fs/artifactfs
  fi
  # A private copy: a rebuild during the run does not change what we measure.
  cp "$bin" "$WORK/bin/artifactfs"
  AFS=$WORK/bin/artifactfs
}

# ------------------------------------------------------------ the phases

# Each target runs the same steps on its own paths:
#   WDIR      where the big file and the small files are written
#   RFILE     the big file as read back (sealed, for artifactfs)
#   TREE      the NFILES tree
# and the hook remount (before cold steps).  The audit_off target (and
# every target with --audit) stops after the warm sequential read: it is
# only compared with artifactfs on that read and on the create test.

prime_src() { cat "$SRC" >/dev/null; sync; }

# is_afs TARGET: an artifactfs mount (journaled or not).
is_afs() { [[ $1 == artifactfs || $1 == audit_off ]]; }

# measure TARGET: the common sequence; the caller has set the variables.
measure() {
  local t=$1 best=0 i secs

  # 1. sequential write of the big file, to disk.
  prime_src
  timed dd if="$SRC" of="$WFILE" bs=1M conv=fsync status=none
  record write_mbs "$t" "$(calc "$BYTES / $T / 1e6")"
  log "$t: wrote $SIZE_MB MiB in ${T}s"
  if is_afs "$t"; then
    timed sh -c "echo seal >'$AMNT/pipelines/bench/runs/w1/control'"
    record seal_s "$t" "$T"
    log "$t: sealed in ${T}s"
  fi

  # 5. create+write of NSMALL files of 4 KiB.  For artifactfs also the
  # daemon's CPU time per file, which other work on the machine moves
  # less than the wall time (closes are sent after close(2) returns:
  # a moment for them before the second reading).
  mkdir -p "$SDIR"
  local cpu0=0
  is_afs "$t" && cpu0=$(daemon_cpu "$WORK/artifactfs.pid")
  secs=$(py create "$SDIR" "$NSMALL")
  record create_fps "$t" "$(calc "$NSMALL / $secs")"
  if is_afs "$t"; then
    sleep 0.5
    record create_cpu_us "$t" "$(calc "($(daemon_cpu "$WORK/artifactfs.pid") - $cpu0) / $NSMALL * 1e6")"
  fi
  log "$t: created $NSMALL files in ${secs}s"
  if is_afs "$t"; then
    timed sh -c "echo seal >'$AMNT/pipelines/bench/runs/w2/control'"
    record seal_small_s "$t" "$T"
  fi

  # 2. cold sequential read.
  [[ $(stat -c %s "$RFILE") == "$BYTES" ]] ||
    { fail "$t: $RFILE has $(stat -c %s "$RFILE") bytes, not $BYTES"; return 1; }
  remount
  drop_caches
  read_file "$RFILE"
  record cold_mbs "$t" "$(calc "$BYTES / $T / 1e6")"
  log "$t: cold read in ${T}s$([[ $t == ext4 ]] || echo " (read_ahead_kb $(bdi_ra "$MNT"))")"

  # 3. warm sequential read: the second and the third, the best.  For
  # artifactfs also the requests the daemon saw per read of the file.
  local reads0=0
  is_afs "$t" && reads0=$(daemon_reads "$WORK/artifactfs.pid")
  for i in 1 2; do
    read_file "$RFILE"
    best=$(awk -v a="$best" -v b="$(calc "$BYTES / $T / 1e6")" 'BEGIN { print (b > a ? b : a) }')
  done
  record warm_mbs "$t" "$best"
  if is_afs "$t"; then
    record warm_read_req "$t" "$(calc "($(daemon_reads "$WORK/artifactfs.pid") - $reads0) / 2")"
    # The same bytes from ext4's page cache (SRC) and from the mount, in
    # turn, four times each: the ratio of the two bests does not depend on
    # how busy the machine was when ext4's own phase ran.
    # Which goes first changes every time (the second of two reads in a
    # row fares differently).
    local be=0 ba=0 f
    for i in 1 2 3 4; do
      for f in $( ((i % 2)) && echo "$SRC $RFILE" || echo "$RFILE $SRC"); do
        read_file "$f"
        if [[ $f == "$SRC" ]]; then
          be=$(awk -v a="$be" -v b="$(calc "$BYTES / $T / 1e6")" 'BEGIN { print (b > a ? b : a) }')
        else
          ba=$(awk -v a="$ba" -v b="$(calc "$BYTES / $T / 1e6")" 'BEGIN { print (b > a ? b : a) }')
        fi
      done
    done
    record warm_pair_ext4_mbs "$t" "$be"
    record warm_pair_mbs "$t" "$ba"
    log "$t: warm read side by side with ext4's page cache: $(printf '%.0f' "$ba") against $(printf '%.0f' "$be") MB/s"
  fi
  log "$t: warm read at $(printf '%.0f' "$best") MB/s"
  if is_afs "$t"; then
    cmp "$SRC" "$RFILE" || { fail "$t: $RFILE differs from the source"; return 1; }
  fi
  [[ $AUDIT_ONLY == 0 && $t != audit_off ]] || return 0

  # 4. parallel readers, warm.
  par_read "$READERS" "$RFILE"
  record par_mbs "$t" "$(calc "$READERS * $BYTES / $T / 1e6")"
  log "$t: warm reads done"

  # 6. ls -lR and find over the tree, cold(-ish) then warm.
  remount; drop_caches
  timed sh -c "ls -lR '$TREE' >/dev/null"
  record lsR_cold_s "$t" "$T"
  timed sh -c "ls -lR '$TREE' >/dev/null"
  record lsR_warm_s "$t" "$T"
  remount; drop_caches
  timed sh -c "find '$TREE' >'$WORK/find.$t'"
  record find_cold_s "$t" "$T"
  timed sh -c "find '$TREE' >/dev/null"
  record find_warm_s "$t" "$T"
  local nfound
  nfound=$(grep -c '\.dat$' "$WORK/find.$t" || true)
  [[ $nfound == "$NFILES" ]] ||
    { fail "$t: find saw $nfound files, not $NFILES"; return 1; }
  log "$t: listings done"

  # 7. stat of every file, cold(-ish) then warm.  For artifactfs also
  # the daemon's CPU time per request and the requests per stat, warm.
  remount; drop_caches
  secs=$(py stat "$TREE" "$LIST")
  record stat_cold_ps "$t" "$(calc "$NFILES / $secs")"
  local ns0=0
  if is_afs "$t"; then
    ns0=$(daemon_cpu_ns "$WORK/artifactfs.pid")
    reads0=$(daemon_reads "$WORK/artifactfs.pid")
  fi
  secs=$(py stat "$TREE" "$LIST")
  record stat_warm_ps "$t" "$(calc "$NFILES / $secs")"
  if is_afs "$t"; then
    local ns1 reqs
    ns1=$(daemon_cpu_ns "$WORK/artifactfs.pid")
    reqs=$(($(daemon_reads "$WORK/artifactfs.pid") - reads0))
    ((reqs > 0)) || reqs=1
    record stat_warm_cpu_us "$t" "$(calc "($ns1 - $ns0) / 1000 / $reqs")"
    record stat_warm_req "$t" "$(calc "$reqs / $NFILES")"
  fi
  log "$t: stats done"
}

bench_ext4() {
  WFILE=$E4/big.ext4 RFILE=$E4/big.ext4 SDIR=$E4/small.ext4 TREE=$E4/tree MNT=$E4
  remount() { :; }
  measure ext4
}

bench_bindfs() {
  bind_mount "$E4" "$BMNT"
  log "bindfs: read_ahead_kb $(bdi_ra "$BMNT")"
  WFILE=$BMNT/big.bindfs RFILE=$BMNT/big.bindfs SDIR=$BMNT/small.bindfs MNT=$BMNT
  TREE=$BMNT/tree
  remount() { bind_umount "$BMNT"; bind_mount "$E4" "$BMNT"; }
  measure bindfs
  bind_umount "$BMNT"
}

# afs_target TARGET STORE: the artifactfs steps on STORE (made before).
afs_target() {
  local t=$1 store=$2 run=$AMNT/pipelines/bench/runs
  afs_mount "$store" "$AMNT"
  mkdir -p "$run/w1/steps/s/outputs/big" "$run/w2/steps/s/outputs"
  WFILE=$run/w1/steps/s/outputs/big/file
  RFILE=$AMNT/artifacts/big/v1/file
  SDIR=$run/w2/steps/s/outputs/small
  TREE=$AMNT/artifacts/many/v1 MNT=$AMNT
  AFS_STORE=$store
  remount() { afs_umount "$AMNT"; afs_mount "$AFS_STORE" "$AMNT"; }
  measure "$t"
  afs_umount "$AMNT"
}

# The default store: an audit journal, checkpoints by the daemon with the
# default settings (every 1000 records or 300 s), as users get it.
bench_artifactfs() {
  "$AFS" --store "$STORE" -q init >"$LOGS/artifactfs-cli.log" 2>&1
  if [[ $AUDIT_ONLY == 0 ]]; then
    timed "$AFS" --store "$STORE" -q put many "$E4/tree" >>"$LOGS/artifactfs-cli.log" 2>&1
    record put_tree_s artifactfs "$T"
    log "artifactfs: put $NFILES files with the CLI in ${T}s"
  fi
  afs_target artifactfs "$STORE"
  log "artifactfs: $(find "$STORE.keys" -name '[0-9]*.checkpoint' | wc -l) automatic checkpoints of the journal"
}

# The same mount on a store made without an audit journal, holding the
# same data (a larger database makes every lookup and commit dearer: the
# two must differ in the journal alone).
bench_audit_off() {
  "$AFS" --store "$STORE_OFF" -q init --no-journal >>"$LOGS/artifactfs-cli.log" 2>&1
  if [[ $AUDIT_ONLY == 0 ]]; then
    "$AFS" --store "$STORE_OFF" -q put many "$E4/tree" >>"$LOGS/artifactfs-cli.log" 2>&1
  fi
  afs_target audit_off "$STORE_OFF"
}

# ------------------------------------------------------------------ main

FAILED=()
if [[ " $TARGETS " == *" bindfs "* ]]; then
  install_bindfs || { warn "bindfs could not be installed"; TARGETS=${TARGETS//bindfs/}; FAILED+=(bindfs); }
fi
if [[ " $TARGETS " == *" artifactfs "* || " $TARGETS " == *" audit_off "* ]]; then
  build_artifactfs || { TARGETS=$(echo " $TARGETS " | sed 's/ artifactfs / /; s/ audit_off / /'); FAILED+=(artifactfs); }
fi

need_kb=$(( (5 * SIZE_MB + 512) * 1024 ))
avail_kb=$(df -Pk "$WORK" | awk 'NR == 2 { print $4 }')
if (( avail_kb < need_kb )); then
  echo "[mount-bench] ERROR: $WORK has $((avail_kb / 1024)) MiB free, needs about $((need_kb / 1024)) MiB" >&2
  exit 2
fi
log "work directory $WORK ($(df -PT "$WORK" | awk 'NR == 2 { print $2 }'), $(nproc) cores)"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
if [[ $AUDIT_ONLY == 0 ]]; then
  log "generating a $SIZE_MB MiB random file and a tree of $NFILES files"
  py rand "$SRC" "$SIZE_MB"
  py tree "$E4/tree" "$NFILES" "$PER_DIR" "$LIST"
else
  log "generating a $SIZE_MB MiB random file"
  py rand "$SRC" "$SIZE_MB"
fi

# Rounds run the targets in turn again, on new stores: the report keeps
# each figure's best, which evens out the luck of the page cache and of
# other work on the machine.
for ((round = 1; round <= ROUNDS; round++)); do
  if ((round > 1)); then
    STORE=$WORK/store.$round STORE_OFF=$WORK/store-nojournal.$round
  fi
  # Rounds after the first run the targets in the other order (the
  # second of two mounts run back to back fares measurably differently),
  # so that no target always comes first.
  order=$TARGETS
  if ((round % 2 == 0)); then
    order=$(echo "$TARGETS" | tr ' ' '\n' | tac | tr '\n' ' ')
  fi
  for t in $order; do
    [[ " ${FAILED[*]-} " != *" $t "* ]] || continue
    log "---- $t$( ((ROUNDS == 1)) || echo ", round $round of $ROUNDS")"
    set +e
    ( set -e; "bench_$t" )
    rc=$?
    set -e
    if [[ $rc != 0 ]]; then
      warn "$t failed (exit $rc)"
      FAILED+=("$t")
      # Leave no mount behind before the next target.
      stop_daemon "$AMNT" "$WORK/artifactfs.pid" 2>/dev/null || true
      stop_daemon "$BMNT" "$WORK/bindfs.pid" 2>/dev/null || true
    fi
    # Free the page cache and the disk space the target used.
    rm -rf "$E4/big.$t" "$E4/small.$t"
  done
  if [[ $KEEP != 1 && $round -lt $ROUNDS ]]; then
    rm -rf "$STORE" "$STORE.keys" "$STORE_OFF"
  fi
done

# ---------------------------------------------------------------- report

echo
if [[ $AUDIT_ONLY == 1 ]]; then
  echo "artifactfs audit journal on vs off: $SIZE_MB MiB file, $NSMALL created files of 4 KiB;"
else
  echo "artifactfs mount benchmark: $SIZE_MB MiB file, $NSMALL created files of 4 KiB, tree of $NFILES files;"
fi
((ROUNDS == 1)) || echo "each figure the best of $ROUNDS rounds (every target in turn, the order reversed every other round, on new stores);"
echo "$(nproc) cores, $(df -PT "$WORK" | awk 'NR == 2 { print $2 }') under $BENCH_DIR, kernel $(uname -r)$([[ $IS_ROOT == 1 ]] || echo ', NOT ROOT: cold rows are warm')"
echo "load average at start: $LOAD0; at end: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews the figures)"
: >"$WORK/table.txt"
if [[ $AUDIT_ONLY == 0 ]]; then
  echo "MB = 1e6 bytes. x bindfs / x ext4: artifactfs speed over the other's (>1 = artifactfs faster)."
  echo
  awk -F'\t' -v failed=" ${FAILED[*]-} " '
    { k = $1 SUBSEP $2  # the best of the rounds: least seconds, else most
    if (!(k in v) || ($1 ~ /_(s|us|req)$/ ? $3 + 0 < v[k] + 0 : $3 + 0 > v[k] + 0)) v[k] = $3 }
    function row(key, label, kind,   e, b, a, xb, xe) {
      e = ((key, "ext4") in v) ? v[key, "ext4"] : ""
      b = ((key, "bindfs") in v) ? v[key, "bindfs"] : ""
      a = ((key, "artifactfs") in v) ? v[key, "artifactfs"] : ""
      xb = ratio(a, b, kind); xe = ratio(a, e, kind)
      printf "%-30s %12s %12s %12s %9s %9s\n", label, fmt(e), fmt(b), fmt(a), xb, xe
    }
    function fmt(x) {
      if (x == "") return "-"
      if (x >= 100) return sprintf("%.0f", x)
      if (x >= 10) return sprintf("%.1f", x)
      return sprintf("%.3f", x)
    }
    # rate: a / o; time: o / a (both: artifactfs speed over the other)
    function ratio(a, o, kind) {
      if (a == "" || o == "" || a + 0 == 0 || o + 0 == 0) return "-"
      return sprintf("%.2fx", kind == "time" ? o / a : a / o)
    }
    END {
      printf "%-30s %12s %12s %12s %9s %9s\n", "", "ext4", "bindfs", "artifactfs", "x bindfs", "x ext4"
      row("write_mbs", "seq write 1M+fsync MB/s", "rate")
      row("cold_mbs", "cold seq read MB/s", "rate")
      row("warm_mbs", "warm seq read MB/s (best of 2)", "rate")
      row("par_mbs", "warm par read MB/s (aggr.)", "rate")
      row("create_fps", "create+write 4 KiB files/s", "rate")
      row("lsR_cold_s", "ls -lR cold s", "time")
      row("lsR_warm_s", "ls -lR warm s", "time")
      row("find_cold_s", "find cold s", "time")
      row("find_warm_s", "find warm s", "time")
      row("stat_cold_ps", "stat cold stats/s", "rate")
      row("stat_warm_ps", "stat warm stats/s", "rate")
      print ""
      if (("seal_s", "artifactfs") in v)
        printf "artifactfs seal after the big write: %.3f s; seal of the small files run: %.3f s\n", v["seal_s", "artifactfs"], v["seal_small_s", "artifactfs"]
      if (("put_tree_s", "artifactfs") in v)
        printf "artifactfs CLI put of the tree (setup, before mounting): %.2f s\n", v["put_tree_s", "artifactfs"]
    }' "$RES" | tee -a "$WORK/table.txt"
fi

# Audit journal on (artifactfs) against off (audit_off): same mount, same
# steps; the figures are the ones of the table above.
echo
echo "Audit journal: artifactfs (journal on, automatic checkpoints) vs a store made with init --no-journal."
echo
awk -F'\t' '
  { k = $1 SUBSEP $2  # the best of the rounds: least seconds, else most
    if (!(k in v) || ($1 ~ /_(s|us|req)$/ ? $3 + 0 < v[k] + 0 : $3 + 0 > v[k] + 0)) v[k] = $3 }
  function fmt(x) {
    if (x == "") return "-"
    if (x >= 100) return sprintf("%.0f", x)
    if (x >= 10) return sprintf("%.1f", x)
    return sprintf("%.3f", x)
  }
  function row(key, label,   a, o) {
    a = ((key, "artifactfs") in v) ? v[key, "artifactfs"] : ""
    o = ((key, "audit_off") in v) ? v[key, "audit_off"] : ""
    printf "%-30s %12s %12s %9s\n", label, fmt(a), fmt(o),
      (a == "" || o == "" || o + 0 == 0) ? "-" : sprintf("%.3f", a / o)
  }
  END {
    printf "%-30s %12s %12s %9s\n", "", "audit on", "audit off", "on/off"
    row("warm_mbs", "warm seq read MB/s (best of 2)")
    row("create_fps", "create+write 4 KiB files/s")
    row("create_cpu_us", "daemon CPU us per created file")
  }' "$RES" | tee -a "$WORK/table.txt"

echo
echo "Targets:"
awk -F'\t' -v full="$((1 - AUDIT_ONLY))" -v tgt="$TGT" '
  { k = $1 SUBSEP $2  # the best of the rounds: least seconds, else most
    if (!(k in v) || ($1 ~ /_(s|us|req)$/ ? $3 + 0 < v[k] + 0 : $3 + 0 > v[k] + 0)) v[k] = $3 }
  function get(k, t) { return ((k, t) in v) ? v[k, t] + 0 : -1 }
  # check(label, afs value, other value, factor, kind); the ratio (as
  # in the table) and its need also go to tgt for --json.
  function check(label, a, o, f, kind,   ok, need) {
    if (a < 0 || o < 0) {
      printf "  %-58s n/a\n", label
      printf "%s\t\t%s\tn/a\n", label, f >>tgt
      return
    }
    ok = (kind == "time") ? (a <= o / f) : (a >= o * f)
    printf "  %-58s %s\n", label, ok ? "PASS" : "MISS"
    printf "%s\t%.4f\t>= %s\t%s\n", label, (kind == "time") ? o / a : a / o, f, ok ? "PASS" : "MISS" >>tgt
  }
  END {
    if (full) {
      check("warm seq read >= 0.4x ext4", get("warm_mbs", "artifactfs"), get("warm_mbs", "ext4"), 0.4)
      check("warm seq read >= bindfs", get("warm_mbs", "artifactfs"), get("warm_mbs", "bindfs"), 1)
      check("warm parallel read >= 0.4x ext4", get("par_mbs", "artifactfs"), get("par_mbs", "ext4"), 0.4)
      check("warm parallel read >= bindfs", get("par_mbs", "artifactfs"), get("par_mbs", "bindfs"), 1)
      check("cold seq read >= 0.6x ext4", get("cold_mbs", "artifactfs"), get("cold_mbs", "ext4"), 0.6)
      check("cold seq read >= 0.8x bindfs", get("cold_mbs", "artifactfs"), get("cold_mbs", "bindfs"), 0.8)
      check("seq write >= 0.8x bindfs", get("write_mbs", "artifactfs"), get("write_mbs", "bindfs"), 0.8)
      check("create >= bindfs", get("create_fps", "artifactfs"), get("create_fps", "bindfs"), 1)
      check("ls -lR cold >= bindfs", get("lsR_cold_s", "artifactfs"), get("lsR_cold_s", "bindfs"), 1, "time")
      check("ls -lR warm >= bindfs", get("lsR_warm_s", "artifactfs"), get("lsR_warm_s", "bindfs"), 1, "time")
      check("find cold >= bindfs", get("find_cold_s", "artifactfs"), get("find_cold_s", "bindfs"), 1, "time")
      check("find warm >= bindfs", get("find_warm_s", "artifactfs"), get("find_warm_s", "bindfs"), 1, "time")
      check("stat cold >= bindfs", get("stat_cold_ps", "artifactfs"), get("stat_cold_ps", "bindfs"), 1)
      check("stat warm >= bindfs", get("stat_warm_ps", "artifactfs"), get("stat_warm_ps", "bindfs"), 1)
    }
    check("warm seq read, audit on >= 0.95x off", get("warm_mbs", "artifactfs"), get("warm_mbs", "audit_off"), 0.95)
    check("create, audit on >= 0.95x off", get("create_fps", "artifactfs"), get("create_fps", "audit_off"), 0.95)
  }' "$RES" | tee -a "$WORK/table.txt"

# Issue 14: what a shared mount (allow_other) must reach, each with its
# figure and PASS or FAIL.
if [[ $AUDIT_ONLY == 0 ]]; then
  echo
  echo "Issue 14 targets (artifactfs mounted $([[ $SHARED == 1 ]] && echo "shared, -o $AFS_OPTS" || echo "NOT shared: no allow_other")):"
  printf '  %-52s %10s %10s %s\n' "" figure need result
  awk -F'\t' -v shared="$SHARED" -v tgt="$TGT" '
    { k = $1 SUBSEP $2  # the best of the rounds: least seconds, else most
      if (!(k in v) || ($1 ~ /_(s|us|req)$/ ? $3 + 0 < v[k] + 0 : $3 + 0 > v[k] + 0)) v[k] = $3 }
    function get(k, t) { return ((k, t) in v) ? v[k, t] + 0 : -1 }
    # row(label, figure, need text, ok: 1 pass, 0 fail, -1 no target)
    function row(label, fig, need, ok, fmt,   res) {
      res = fig < 0 ? "n/a" : ok < 0 ? "-" : ok ? "PASS" : "FAIL"
      if (fig >= 0 && !shared && ok >= 0) res = "n/a"
      printf "  %-52s %10s %10s %s\n", label, fig < 0 ? "-" : sprintf(fmt, fig), need, res
      printf "%s\t%s\t%s\t%s\n", label, fig < 0 ? "" : sprintf("%.4f", fig), need, res >>tgt
    }
    # ratio(a, o): a / o, or -1 when either is missing
    function ratio(a, o) { return (a <= 0 || o <= 0) ? -1 : a / o }
    END {
      w = ratio(get("warm_pair_mbs", "artifactfs"), get("warm_pair_ext4_mbs", "artifactfs"))
      row("warm seq read, x ext4 page cache (side by side)", w, ">= 0.8x", w >= 0.8, "%.2fx")
      w = ratio(get("warm_mbs", "artifactfs"), get("warm_mbs", "ext4"))
      row("  the same from the table (phases apart)", w, "", -1, "%.2fx")
      r = get("warm_read_req", "artifactfs")
      row("  daemon requests per warm read of the file", r, "", -1, "%.0f")
      c = get("stat_warm_cpu_us", "artifactfs")
      row("warm stat: daemon CPU per request, us", c, "<= 15", c >= 0 && c <= 15, "%.2f")
      r = get("stat_warm_req", "artifactfs")
      row("  daemon requests per warm stat", r, "", -1, "%.2f")
      r = get("stat_warm_ps", "artifactfs")
      row("  warm stats/s", r, "", -1, "%.0f")
      c = ratio(get("cold_mbs", "artifactfs"), get("cold_mbs", "bindfs"))
      row("cold seq read, x bindfs", c, ">= 1.0x", c >= 1.0, "%.2fx")
      c = ratio(get("cold_mbs", "artifactfs"), get("cold_mbs", "ext4"))
      row("cold seq read, x ext4 cold", c, ">= 0.6x", c >= 0.6, "%.2fx")
    }' "$RES" | tee -a "$WORK/table.txt"
fi

if [[ $JSON == 1 ]]; then
  python3 - "$RES" "$TGT" "$SIZE_MB" "$NFILES" "$SHARED" "$AFS_OPTS" "${FAILED[*]-}" >&3 <<'PYEOF'
import json, sys
res, tgt, size_mb, nfiles, shared, opts, failed = sys.argv[1:8]
best = {}
for line in open(res):
    metric, target, value = line.rstrip("\n").split("\t")
    value = float(value)
    low = metric.endswith(("_s", "_us", "_req"))  # less is better
    old = best.setdefault(metric, {}).get(target)
    if old is None or (value < old if low else value > old):
        best[metric][target] = value
targets = []
for line in open(tgt):
    name, figure, need, result = line.rstrip("\n").split("\t")
    targets.append({"target": name.strip(),
                    "figure": float(figure) if figure else None,
                    "need": need or None, "result": result})
print(json.dumps({"bench": "mount", "size_mb": int(size_mb),
                  "nfiles": int(nfiles), "shared": shared == "1",
                  "artifactfs_fuse_opts": opts, "metrics": best,
                  "targets": targets, "failed": failed.split()},
                 indent=2, sort_keys=True))
PYEOF
fi

if [[ ${#FAILED[@]} -gt 0 ]]; then
  echo
  echo "FAILED: ${FAILED[*]} (see the log lines above; KEEP=1 keeps $WORK/logs)"
  exit 1
fi
exit 0
