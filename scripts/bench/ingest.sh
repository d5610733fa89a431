#!/usr/bin/env bash
# Ingest benchmark: artifactfs against restic, borg and casync.
#
#   scripts/bench/ingest.sh          checkpoint series + dataset pair, all tools
#   scripts/bench/ingest.sh --big    one large file, artifactfs only
#   scripts/bench/ingest.sh --json   the series, then a JSON summary line
#
# See scripts/bench/README.md for the environment variables and the output.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
GEN="$HERE/gen_checkpoints.py"

MODE=series
JSON=0
case "${1:-}" in
  "") ;;
  --big) MODE=big ;;
  --json) JSON=1 ;;
  -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: $0 [--big|--json]" >&2; exit 2 ;;
esac

CKPT_MB=${CKPT_MB:-256}           # size of one checkpoint
CKPTS=${CKPTS:-8}                 # number of checkpoints
DS_FILES=${DS_FILES:-20000}       # files in the dataset
BIG_MB=${BIG_MB:-10240}           # --big: size of the single file
SEED=${SEED:-1}
TOOLS=${TOOLS:-"artifactfs restic borg casync cp"}
KEEP=${KEEP:-0}
JOBS=${JOBS:-$(nproc)}
NCPU=$(nproc)
if [[ ${SKIP_ARTIFACTFS:-0} == 1 ]]; then
  TOOLS=$(echo " $TOOLS " | sed 's/ artifactfs / /; s/^ *//; s/ *$//')
fi
[[ $MODE == big ]] && TOOLS=artifactfs
ALL_TOOLS=$TOOLS               # for the report, including tools that fail

log()  { printf '[bench] %s\n' "$*"; }
warn() { printf '[bench] WARNING: %s\n' "$*" >&2; }
die()  { printf '[bench] ERROR: %s\n' "$*" >&2; exit 2; }
has_tool() { [[ " $TOOLS " == *" $1 "* ]]; }

# ----------------------------------------------------------------- peers
as_root() {
  if [[ $(id -u) == 0 ]]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root (or sudo) to run: $*"; fi
}

install_packages() {
  local pkgs=(python3 time zstd) missing=() p
  has_tool restic && pkgs+=(restic)
  has_tool borg && pkgs+=(borgbackup)
  has_tool casync && pkgs+=(casync)
  for p in "${pkgs[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  [[ ${#missing[@]} == 0 ]] && return 0
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! compgen -G '/var/lib/apt/lists/*_Packages' >/dev/null; then
    as_root apt-get update -qq
  fi
  if ! as_root apt-get install -y -qq "${missing[@]}" >/dev/null; then
    as_root apt-get update -qq
    as_root apt-get install -y -qq "${missing[@]}" >/dev/null ||
      die "apt-get install ${missing[*]} failed"
  fi
}

# ------------------------------------------------------------ artifactfs
AFS=""
build_artifactfs() {
  if [[ -n ${ARTIFACTFS_BIN:-} ]]; then
    [[ -x $ARTIFACTFS_BIN ]] || die "ARTIFACTFS_BIN=$ARTIFACTFS_BIN is not executable"
    AFS=$ARTIFACTFS_BIN
    return 0
  fi
  local bdir=${BUILD_DIR:-$ROOT/build-release} blog=$WORK/logs/build.log
  log "building artifactfs (Release) in $bdir"
  if [[ ! -f $bdir/CMakeCache.txt ]]; then
    if ! cmake -S "$ROOT" -B "$bdir" -DCMAKE_BUILD_TYPE=Release >"$blog" 2>&1; then
      tail -n 30 "$blog" | sed 's/^/    /' >&2
      return 1
    fi
  fi
  if ! cmake --build "$bdir" -j"$NCPU" >>"$blog" 2>&1; then
    tail -n 30 "$blog" | sed 's/^/    /' >&2
    return 1
  fi
  AFS=$bdir/fs/artifactfs
  [[ -x $AFS ]] || AFS=$(find "$bdir" -type f -name artifactfs -perm -u+x -print -quit)
  [[ -n $AFS && -x $AFS ]] || { warn "no artifactfs binary in $bdir"; return 1; }
}

# --------------------------------------------------------- work directory
PARENT=${BENCH_DIR:-/var/tmp}
mkdir -p "$PARENT"
WORK=$(mktemp -d "$PARENT/artifactfs-bench.XXXXXX")
cleanup() {
  local rc=$?
  if [[ $KEEP == 1 ]]; then
    log "kept work dir $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$WORK/logs" "$WORK/repos" "$WORK/home"
RESULTS=$WORK/results.txt      # tool phase step elapsed user sys maxrss_kib
INFO=$WORK/info.txt            # tool key value
: >"$RESULTS"
: >"$INFO"

# sectors written on the block device holding $WORK ("" if unknown)
DEVSTAT=""
majmin=$(findmnt -n -o MAJ:MIN -T "$WORK" 2>/dev/null | tr -d ' ' || true)
if [[ -n $majmin && -r /sys/dev/block/$majmin/stat ]]; then
  DEVSTAT=/sys/dev/block/$majmin/stat
fi
disk_written() {               # bytes written so far, or "nan"
  if [[ -n $DEVSTAT ]]; then awk '{ printf "%.0f\n", $7 * 512 }' "$DEVSTAT"; else echo nan; fi
}

# run_step TOOL PHASE STEP CMD...: time one ingest step with /usr/bin/time
run_step() {
  local tool=$1 phase=$2 step=$3 rc=0 e u s m
  shift 3
  local tf=$WORK/logs/time.out
  echo "### $phase $step: $*" >>"$WORK/logs/$tool.log"
  /usr/bin/time -o "$tf" -f '%e %U %S %M' "$@" >>"$WORK/logs/$tool.log" 2>&1 || rc=$?
  if [[ $rc != 0 ]]; then
    warn "$tool: step '$step' failed (exit $rc): $*"
    tail -n 15 "$WORK/logs/$tool.log" | sed 's/^/    /' >&2
    return 1
  fi
  read -r e u s m < <(tail -n 1 "$tf")
  echo "$tool $phase $step $e $u $s $m" >>"$RESULTS"
  printf '  %-10s %-24s %7.2fs  %6.1f MiB\n' "$tool" "$step" "$e" "$(echo "$m" | awk '{ print $1 / 1024 }')"
}

warm_cache() {                 # keep the sources in the page cache
  local f
  for f in "$@"; do
    if [[ -d $f ]]; then find "$f" -type f -exec cat {} + >/dev/null
    else cat "$f" >/dev/null; fi
  done
}

file_bytes() { find "$@" -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%.0f\n", s }'; }
zstd_ratio() {                 # zstd_ratio FILE-or-DIR [skip_mib count_mib]
  local n z
  if [[ -d $1 ]]; then
    n=$(file_bytes "$1")
    z=$(find "$1" -type f -exec cat {} + | zstd -3 -q -c | wc -c)
  else
    n=$(dd if="$1" bs=1M skip="$2" count="$3" status=none | wc -c)
    z=$(dd if="$1" bs=1M skip="$2" count="$3" status=none | zstd -3 -q -c | wc -c)
  fi
  awk -v n="$n" -v z="$z" 'BEGIN { printf "%.3f", n / z }'
}

check_space() {                # check_space NEEDED_MIB
  local avail
  avail=$(df -Pm "$WORK" | awk 'NR == 2 { print $4 }')
  if (( avail < $1 )); then
    die "not enough space in $PARENT: need ~$1 MiB, have $avail MiB (set BENCH_DIR)"
  fi
}

# -------------------------------------------------------------- the tools
# Each ingest_<tool> fills $RESULTS; a non-zero return marks the tool failed.
CKPT_FILES=()
ingest_artifactfs() {
  local S=$WORK/repos/artifactfs i
  run_step artifactfs init init "$AFS" --store "$S" init || return 1
  for ((i = 0; i < CKPTS; i++)); do
    run_step artifactfs ckpt "put ckpt_$i" "$AFS" --store "$S" put ckpt "ckpt_$i.safetensors" || return 1
  done
  run_step artifactfs ckpt sync sync || return 1
  run_step artifactfs ds "put ds_v1" "$AFS" --store "$S" put dataset ds_v1/ || return 1
  run_step artifactfs ds "put ds_v2" "$AFS" --store "$S" put dataset ds_v2/ || return 1
  run_step artifactfs ds sync sync || return 1
  local want=$((CKPTS + 2)) got
  got=$(grep -cE '^(ckpt|dataset)@v[0-9]+ sha256:[0-9a-f]{64}$' "$WORK/logs/artifactfs.log" || true)
  [[ $got == "$want" ]] || warn "artifactfs: expected $want 'ARTIFACT@vN sha256:<hex>' lines, saw $got"
}

RESTIC_NOSCAN=()
ingest_restic() {
  local R=$WORK/repos/restic i initargs=() help
  export RESTIC_PASSWORD=bench RESTIC_CACHE_DIR=$WORK/home/restic-cache
  help=$(restic init --help 2>&1 || true)
  [[ $help == *--repository-version* ]] && initargs=(--repository-version 2)
  help=$(restic backup --help 2>&1 || true)
  [[ $help == *--no-scan* ]] && RESTIC_NOSCAN=(--no-scan)
  run_step restic init init restic init --repo "$R" "${initargs[@]}" || return 1
  echo "restic repo_version $(restic -r "$R" cat config 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin).get("version", "?"))' || echo '?')" >>"$INFO"
  for ((i = 0; i < CKPTS; i++)); do
    run_step restic ckpt "backup ckpt_$i" restic -r "$R" backup "${RESTIC_NOSCAN[@]}" -q \
      --host bench "ckpt_$i.safetensors" || return 1
  done
  run_step restic ckpt sync sync || return 1
  run_step restic ds "backup ds_v1" restic -r "$R" backup "${RESTIC_NOSCAN[@]}" -q --host bench ds_v1/ || return 1
  run_step restic ds "backup ds_v2" restic -r "$R" backup "${RESTIC_NOSCAN[@]}" -q --host bench ds_v2/ || return 1
  run_step restic ds sync sync || return 1
}

ingest_borg() {
  local R=$WORK/repos/borg i
  export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes BORG_RELOCATED_REPO_ACCESS_IS_OK=yes
  export BORG_BASE_DIR=$WORK/home/borg
  run_step borg init init borg init --encryption none "$R" || return 1
  for ((i = 0; i < CKPTS; i++)); do
    run_step borg ckpt "create ckpt_$i" borg create "$R::ckpt_$i" "ckpt_$i.safetensors" || return 1
  done
  run_step borg ckpt sync sync || return 1
  run_step borg ds "create ds_v1" borg create "$R::ds_v1" ds_v1 || return 1
  run_step borg ds "create ds_v2" borg create "$R::ds_v2" ds_v2 || return 1
  run_step borg ds sync sync || return 1
}

ingest_big() {
  local S=$WORK/repos/artifactfs
  run_step artifactfs init init "$AFS" --store "$S" init || return 1
  run_step artifactfs big "put big" "$AFS" --store "$S" put big big.safetensors || return 1
  run_step artifactfs big sync sync || return 1
}

ingest_casync() {
  local R=$WORK/repos/casync i
  mkdir -p "$R"
  for ((i = 0; i < CKPTS; i++)); do
    run_step casync ckpt "make ckpt_$i" casync make --store="$R/store" "$R/ckpt_$i.caibx" \
      "ckpt_$i.safetensors" || return 1
  done
  run_step casync ckpt sync sync || return 1
  run_step casync ds "make ds_v1" casync make --store="$R/store" "$R/ds_v1.caidx" ds_v1/ || return 1
  run_step casync ds "make ds_v2" casync make --store="$R/store" "$R/ds_v2.caidx" ds_v2/ || return 1
  run_step casync ds sync sync || return 1
}

# The floor: a plain copy of the same files to the same disk, then sync.
ingest_cp() {
  local R=$WORK/repos/cp i
  mkdir -p "$R"
  for ((i = 0; i < CKPTS; i++)); do
    run_step cp ckpt "cp ckpt_$i" cp "ckpt_$i.safetensors" "$R/" || return 1
  done
  run_step cp ckpt sync sync || return 1
  run_step cp ds "cp ds_v1" cp -r ds_v1 "$R/" || return 1
  run_step cp ds "cp ds_v2" cp -r ds_v2 "$R/" || return 1
  run_step cp ds sync sync || return 1
}

tool_version() {
  case $1 in
    cp) echo "cp + sync ($(cp --version | head -n 1))" ;;
    artifactfs) "$AFS" --version 2>/dev/null | head -n 1 || echo "artifactfs (version n/a)" ;;
    restic) restic version | head -n 1 ;;
    borg) borg --version ;;
    casync) casync --version | head -n 1 ;;
  esac
}

# run_tool TOOL INGEST-FUNCTION SOURCES...: fresh repository, warm
# sources, ingest, measure
run_tool() {
  local tool=$1 fn=$2 d0 d1 stored
  shift 2
  rm -rf "${WORK:?}/repos/$tool"
  sync
  warm_cache "$@"
  log "$tool: $(tool_version "$tool")"
  d0=$(disk_written)
  if "$fn"; then
    d1=$(disk_written)
    stored=$(du -sb "$WORK/repos/$tool" | cut -f1)
    echo "$tool status ok" >>"$INFO"
    echo "$tool stored $stored" >>"$INFO"
    if [[ $d0 != nan ]]; then echo "$tool diskw $((d1 - d0))" >>"$INFO"; fi
  else
    echo "$tool status failed" >>"$INFO"
    FAILED+=("$tool")
  fi
  # repositories are kept until the end (KEEP=1 keeps them for inspection)
}

# ---------------------------------------------------------------- report
report() {
  python3 - "$RESULTS" "$INFO" "$MODE" "$NCPU" "$JSON" "$@" <<'PY'
import json, sys
results, info, mode, ncpu, want_json, tools = sys.argv[1:7]
tools = tools.split()
logical = {"ckpt": 0, "ds": 0, "big": 0}
for a in sys.argv[7:]:          # phase=bytes
    k, v = a.split("=")
    logical[k] = int(v)
steps = {}
for line in open(results):
    f = line.split()
    if len(f) < 7:
        continue
    tool, phase = f[0], f[1]
    e, u, s, m = float(f[-4]), float(f[-3]), float(f[-2]), int(f[-1])
    steps.setdefault(tool, []).append((phase, e, u, s, m))
inf = {}
for line in open(info):
    t, k, v = line.rstrip("\n").split(" ", 2)
    inf.setdefault(t, {})[k] = v

MB = 1e6
rows = {}
for t in tools:
    st = inf.get(t, {}).get("status", "skipped")
    r = {"status": st}
    ss = [x for x in steps.get(t, []) if x[0] != "init"]
    if st == "ok":
        for ph in ("ckpt", "ds", "big"):
            r[ph] = sum(x[1] for x in ss if x[0] == ph)
        r["total"] = sum(x[1] for x in ss)
        r["bytes"] = sum(logical[p] for p in logical if r.get(p, 0) > 0)
        r["mbps"] = r["bytes"] / MB / max(r["total"], 1e-9)
        for ph in ("ckpt", "ds"):
            r[ph + "_mbps"] = logical[ph] / MB / r[ph] if r[ph] > 0 else 0
        r["rss"] = max(x[4] for x in ss) / 1024.0
        r["cpu"] = 100.0 * sum(x[2] + x[3] for x in ss) / max(r["total"], 1e-9)
        r["stored"] = int(inf[t]["stored"])
        dw = inf[t].get("diskw")
        r["wa"] = int(dw) / r["stored"] if dw and r["stored"] else None
    rows[t] = r

afs = rows.get("artifactfs", {})
have_afs = afs.get("status") == "ok"

def fmt(v, f):
    return (f % v) if v is not None else "n/a"

if mode == "big":
    r = afs
    if not have_afs:
        print("artifactfs did not run")
        sys.exit(0)
    print()
    print("big file: %.0f MB logical, %.2fs (put + sync), %.1f MB/s, "
          "stored %.1f MiB, peak RSS %.1f MiB, CPU %.0f%% (of %s00%%)" % (
              logical["big"] / MB, r["total"], logical["big"] / MB / r["total"],
              r["stored"] / 1048576.0, r["rss"], r["cpu"], ncpu))
    print("disk bytes written per stored byte: %s" % fmt(r["wa"], "%.2f"))
    print()
    print("target: peak RSS under 256 MiB: %s (%.1f MiB)" % (
        "PASS" if r["rss"] < 256 else "MISS", r["rss"]))
    sys.exit(0)

print()
print("logical bytes: checkpoints %.1f MB, datasets %.1f MB (MB = 1e6); "
      "CPU%% is user+sys over wall, %s cores = %s00%%" % (
          logical["ckpt"] / MB, logical["ds"] / MB, ncpu, ncpu))
hdr = ("tool", "ckpt s", "data s", "total s", "MB/s", "ckpt MB/s",
       "data MB/s", "stored MiB", "RSS MiB", "CPU%", "diskW/st",
       "afs thr x", "afs stored x")
w = (10, 8, 8, 8, 8, 9, 9, 10, 8, 6, 8, 9, 12)
line = lambda cells: "  ".join(str(c).rjust(n) if i else str(c).ljust(n)
                               for i, (c, n) in enumerate(zip(cells, w)))
print(line(hdr))
print(line(["-" * n for n in w]))
for t in tools:
    r = rows[t]
    if r["status"] != "ok":
        print(line([t, r["status"].upper()] + [""] * (len(w) - 2)))
        continue
    thr = afs["mbps"] / r["mbps"] if have_afs else None
    sto = afs["stored"] / float(r["stored"]) if have_afs else None
    print(line([t, "%.2f" % r["ckpt"], "%.2f" % r["ds"], "%.2f" % r["total"],
                "%.1f" % r["mbps"], "%.1f" % r["ckpt_mbps"],
                "%.1f" % r["ds_mbps"], "%.1f" % (r["stored"] / 1048576.0),
                "%.1f" % r["rss"], "%.0f" % r["cpu"], fmt(r["wa"], "%.2f"),
                fmt(thr, "%.2f"), fmt(sto, "%.3f")]))
print()
if have_afs:
    print("artifactfs disk bytes written per stored byte: %s" %
          fmt(afs["wa"], "%.2f"))
print("targets (checkpoint series, ckpt MB/s):")
out = []
def target(name, ok, value, detail):
    print("  %-46s %s  %s" % (name, "n/a " if ok is None else
                               ("PASS" if ok else "FAIL"), detail))
    out.append({"target": name, "value": value,
                "pass": ok})
def ok_row(t):
    return rows.get(t, {}).get("status") == "ok"
peers = [t for t in ("restic", "borg") if ok_row(t)]
if have_afs and peers:
    best = max(peers, key=lambda t: rows[t]["ckpt_mbps"])
    x = afs["ckpt_mbps"] / rows[best]["ckpt_mbps"]
    target("ingest >= 2.5x the faster of restic and borg", x >= 2.5, round(x, 3),
           "(%.2fx %s: %.1f vs %.1f MB/s)" % (x, best, afs["ckpt_mbps"],
                                              rows[best]["ckpt_mbps"]))
else:
    target("ingest >= 2.5x the faster of restic and borg", None, None,
           "(artifactfs, restic or borg did not run)")
if have_afs and ok_row("cp"):
    x = afs["ckpt_mbps"] / rows["cp"]["ckpt_mbps"]
    target("ingest >= 0.8x cp+sync", x >= 0.8, round(x, 3),
           "(%.2fx: %.1f vs %.1f MB/s)" % (x, afs["ckpt_mbps"], rows["cp"]["ckpt_mbps"]))
else:
    target("ingest >= 0.8x cp+sync", None, None, "(artifactfs or cp did not run)")
p = rows.get("borg", {})
if have_afs and p.get("status") == "ok":
    target("stored bytes <= borg", afs["stored"] <= p["stored"],
           afs["stored"] / float(p["stored"]),
           "(%.1f vs %.1f MiB)" % (afs["stored"] / 1048576.0, p["stored"] / 1048576.0))
else:
    target("stored bytes <= borg", None, None, "(artifactfs or borg did not run)")
if have_afs:
    print("  artifactfs CPU over the series: %.0f%% of %s00%%" % (afs["cpu"], ncpu))
if want_json == "1":
    figs = {}
    for t in tools:
        r = rows[t]
        figs[t] = {k: (round(v, 3) if isinstance(v, float) else v)
                   for k, v in r.items() if v is not None}
    print(json.dumps({"bench": "ingest", "logical": logical, "tools": figs,
                      "targets": out}))
PY
}

# ------------------------------------------------------------------ main
FAILED=()
install_packages
[[ -x /usr/bin/time ]] || die "/usr/bin/time missing (package 'time')"
for t in $TOOLS; do
  case $t in
    artifactfs) ;;
    restic|borg|casync|cp) command -v "$t" >/dev/null || die "$t not found after install" ;;
    *) die "unknown tool '$t' in TOOLS" ;;
  esac
done
log "work dir: $WORK ($(df -P "$WORK" | awk 'NR == 2 { print $1 }'), disk counters: ${DEVSTAT:-n/a})"

if has_tool artifactfs; then
  if ! build_artifactfs; then
    warn "artifactfs build failed; continuing with the other tools"
    echo "artifactfs status failed" >>"$INFO"
    FAILED+=(artifactfs)
    TOOLS=$(echo " $TOOLS " | sed 's/ artifactfs / /')
    [[ $MODE == big ]] && exit 1
  else
    log "artifactfs binary: $AFS"
  fi
fi

if [[ $MODE == big ]]; then
  check_space $((BIG_MB * 2 + 1024))
  DATA=$WORK/data
  mkdir -p "$DATA"
  log "generating a ${BIG_MB} MiB bf16-like file"
  python3 "$GEN" big --out "$DATA/big.safetensors" --size-mb "$BIG_MB" --seed "$SEED" --jobs "$JOBS"
  big=$(file_bytes "$DATA/big.safetensors")
  log "zstd -3 ratio of 32 MiB of it: $(zstd_ratio "$DATA/big.safetensors" 1 32)"
  memavail=$(awk '/^MemAvailable/ { print int($2 / 1024) }' /proc/meminfo)
  if (( memavail < BIG_MB * 12 / 10 )); then
    warn "only $memavail MiB of memory available: the source will not stay in the page cache"
  fi
  cd "$DATA"
  run_tool artifactfs ingest_big big.safetensors
  if [[ ${#FAILED[@]} == 0 ]]; then
    "$AFS" --store "$WORK/repos/artifactfs" stats --json 2>/dev/null | sed 's/^/  stats: /' || true
  fi
  report artifactfs "big=$big"
  if (( ${#FAILED[@]} > 0 )); then exit 1; fi
  exit 0
fi

# series mode
data_mib=$((CKPT_MB * CKPTS + DS_FILES * 8 / 1024 + 64))
if [[ -n ${DATA_DIR:-} ]]; then
  DATA=$(cd "$DATA_DIR" && pwd)
  for ((i = 0; i < CKPTS; i++)); do
    [[ -f $DATA/ckpt_$i.safetensors ]] || die "DATA_DIR lacks ckpt_$i.safetensors"
  done
  [[ -d $DATA/ds_v1 && -d $DATA/ds_v2 ]] || die "DATA_DIR lacks ds_v1/ or ds_v2/"
  log "reusing data in $DATA"
  check_space $((data_mib * 3))
else
  check_space $((data_mib * 4))
  DATA=$WORK/data
  mkdir -p "$DATA"
  log "generating $CKPTS checkpoints of $CKPT_MB MiB"
  python3 "$GEN" ckpt --out "$DATA" --count "$CKPTS" --size-mb "$CKPT_MB" --seed "$SEED" --jobs "$JOBS"
  log "generating a dataset of $DS_FILES files and its second version"
  python3 "$GEN" dataset --out "$DATA" --files "$DS_FILES" --seed "$SEED"
fi
for ((i = 0; i < CKPTS; i++)); do CKPT_FILES+=("ckpt_$i.safetensors"); done
cd "$DATA"
LOG_CKPT=$(file_bytes "${CKPT_FILES[@]}")
LOG_DS=$(file_bytes ds_v1 ds_v2)
log "zstd -3 ratio: checkpoint tensor data $(zstd_ratio ckpt_0.safetensors 1 32)x, dataset $(zstd_ratio ds_v1)x"

for t in $TOOLS; do
  log "---- $t"
  run_tool "$t" "ingest_$t" "${CKPT_FILES[@]}" ds_v1 ds_v2
  if [[ $t == artifactfs && " ${FAILED[*]} " != *" artifactfs "* ]]; then
    "$AFS" --store "$WORK/repos/artifactfs" stats --json 2>/dev/null | sed 's/^/  stats: /' || true
  fi
done

report "$ALL_TOOLS" "ckpt=$LOG_CKPT" "ds=$LOG_DS"
if [[ $KEEP == 1 ]]; then
  log "per-step times: $WORK/results.txt, tool output: $WORK/logs/, repositories: $WORK/repos/"
fi
if (( ${#FAILED[@]} > 0 )); then
  warn "failed: ${FAILED[*]}"
  exit 1
fi
