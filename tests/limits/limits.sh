#!/usr/bin/env bash
# tests/limits/limits.sh BIN [--long] - the limits of issue 13: many files
# in a run, many entries in one directory, a huge sparse file, paths at
# PATH_MAX and names at NAME_MAX.  Each must work or fail with one clear
# error (ENAMETOOLONG), and the daemon's memory must stay bounded.
#
# Parts (through a real mount, -o allow_other, unless said otherwise):
#   files    an open run receives N files spread over directories of 100,
#            is sealed; the version is listed and spot-read
#   bigdir   one directory with N entries: ls | wc -l and stat, in the
#            open run and after the seal
#   sparse   a file of SPARSE_GIB GiB made by truncate plus a few 1 MiB
#            writes at far offsets, sealed, read back at those offsets
#            (and a hole) by checksum; `stats` must show that the zeros
#            were stored once
#   paths    the deepest absolute path the kernel accepts (4095 bytes)
#            works, one byte more fails with ENAMETOOLONG; a name of 255
#            bytes works, 256 fails with ENAMETOOLONG; deeper than
#            PATH_MAX through directory descriptors works or fails with
#            ENAMETOOLONG, nothing else
#   cli      `artifactfs put` of a tree of N files and `get` of it back,
#            compared with diff -r (through the mounted daemon)
#
#   short:  N = 5,000,   SPARSE_GIB = 2    (the ctest, under ~90 s)
#   --long: N = 100,000, SPARSE_GIB = 50   (scripts/limits_long.sh)
# LIMITS_N, LIMITS_SPARSE_GIB and LIMITS_RSS_MAX_KIB override them.
#
# After each part the daemon's peak RSS (VmHWM of the pid the test
# started) and the part's elapsed seconds are printed on a line
#   limits: PART n=N secs=S daemon_hwm_kib=K
# (with the store's disk usage), and the peak must stay under
# LIMITS_RSS_MAX_KIB (1 GiB short, 4 GiB long).  Its growth over the
# daemon's start must stay under LIMITS_RSS_GROWTH_KIB whatever N: the
# daemon's caches are bounded (one RocksDB block cache and memtable
# budget, at most MNT_NODES_MAX names before the kernel is asked to
# forget some, freed heap given back): 384 MiB, or 768 MiB for a binary
# built with AddressSanitizer (its allocator keeps freed blocks in a
# quarantine).  A failed promise is a DEFECT line; the test fails at the
# end.
source "$(dirname "$0")/../mount/lib.sh" "$@"

LONG=0
[ "${2:-}" = --long ] && LONG=1
if [ "$LONG" = 1 ]; then
	N=${LIMITS_N:-100000}
	SPARSE_GIB=${LIMITS_SPARSE_GIB:-50}
	RSS_MAX_KIB=${LIMITS_RSS_MAX_KIB:-4194304}
else
	N=${LIMITS_N:-5000}
	SPARSE_GIB=${LIMITS_SPARSE_GIB:-2}
	RSS_MAX_KIB=${LIMITS_RSS_MAX_KIB:-1048576}
fi
MIB=1048576
GIB=1073741824
if grep -qa __asan_init "$AFS"; then
	GROWTH_MAX_KIB=${LIMITS_RSS_GROWTH_KIB:-786432}
else
	GROWTH_MAX_KIB=${LIMITS_RSS_GROWTH_KIB:-393216}
fi

# hwm: the daemon's peak resident set (VmHWM) in KiB.
hwm() {
	daemon_kib VmHWM
}

PART=""
PART_START=0
begin() {
	PART=$1
	PART_START=$(date +%s%N)
	check "part $PART: $2"
}

# done_part: prints the figures of the part and checks the memory bound.
done_part() {
	local k ms
	k=$(hwm)
	ms=$((($(date +%s%N) - PART_START) / 1000000))
	printf 'limits: %s n=%s secs=%d.%d daemon_hwm_kib=%s store_du_kib=%s\n' \
		"$PART" "$N" $((ms / 1000)) $((ms % 1000 / 100)) "$k" \
		"$(du -sk "$S" | cut -f1)"
	[ "$k" -le "$RSS_MAX_KIB" ] ||
		defect "$PART: daemon peak RSS $k KiB over the bound $RSS_MAX_KIB KiB"
	[ $((k - START_KIB)) -le "$GROWTH_MAX_KIB" ] ||
		defect "$PART: daemon peak RSS grew $((k - START_KIB)) KiB since its start, over the bound $GROWTH_MAX_KIB KiB"
}

# seal RUN: writes seal to the run's control file.
seal() {
	echo seal >"$P/$1/control" || fail "seal of $1 failed"
	[ "$(cat "$P/$1/control")" = sealed ] ||
		defect "$1: control reads '$(cat "$P/$1/control")' after seal"
}

afs init >/dev/null
start_daemon
P=$M/pipelines/lim/runs
A=$M/artifacts
echo "limits: mode=$([ "$LONG" = 1 ] && echo long || echo short) n=$N sparse_gib=$SPARSE_GIB rss_max_kib=$RSS_MAX_KIB"
START_KIB=$(hwm)
echo "limits: start daemon_hwm_kib=$START_KIB rss_growth_max_kib=$GROWTH_MAX_KIB"

# ------------------------------------------------------------ files
begin files "an open run receives $N files in directories of 100"
O=$P/r1/steps/s/outputs/files
mkdir -p "$O" || fail "mkdir -p $O"
"$PY" - "$O" "$N" <<'EOF' || fail "writing $N files into the open run"
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, "d%04d" % (i // 100))
    if i % 100 == 0:
        os.mkdir(d)
    with open(os.path.join(d, "f%06d" % i), "w") as f:
        f.write("file %d\n" % i)
EOF
seal r1
afs ls files | grep -q '^v1 ' || defect "files: ls does not list v1"
got=$(find "$A/files/v1" -type f | wc -l)
[ "$got" -eq "$N" ] || defect "files: v1 holds $got files, want $N"
for i in 0 1 $((N / 2)) $((N - 1)); do
	f=$A/files/v1/d$(printf %04d $((i / 100)))/f$(printf %06d "$i")
	[ "$(cat "$f" 2>&1)" = "file $i" ] ||
		defect "files: $f reads '$(head -c 80 "$f" 2>&1)'"
done
done_part

# ----------------------------------------------------------- bigdir
begin bigdir "one directory with $N entries"
O=$P/r2/steps/s/outputs/bigdir
mkdir -p "$O" || fail "mkdir -p $O"
"$PY" - "$O" "$N" <<'EOF' || fail "writing $N entries into one directory"
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    with open(os.path.join(root, "entry-%07d" % i), "w") as f:
        f.write("%d\n" % i)
EOF
bigdir_check() {
	local d=$1 when=$2 got i
	got=$(ls "$d" | wc -l)
	[ "$got" -eq "$N" ] || defect "bigdir ($when): ls | wc -l = $got, want $N"
	got=$(ls -f "$d" | grep -c '^entry-' || true)
	[ "$got" -eq "$N" ] || defect "bigdir ($when): ls -f shows $got entries, want $N"
	for i in 0 $((N / 3)) $((N - 1)); do
		stat -c '%s %F' "$d/entry-$(printf %07d "$i")" >/dev/null ||
			defect "bigdir ($when): stat of entry $i failed"
	done
	[ "$(cat "$d/entry-$(printf %07d $((N - 1)))")" = $((N - 1)) ] ||
		defect "bigdir ($when): the last entry reads wrong"
}
bigdir_check "$O" "open run"
seal r2
bigdir_check "$A/bigdir/v1" "sealed"
done_part

# ----------------------------------------------------------- sparse
begin sparse "a sparse file of $SPARSE_GIB GiB"
SIZE=$((SPARSE_GIB * GIB))
O=$P/r3/steps/s/outputs/sparse
mkdir -p "$O" || fail "mkdir -p $O"
# 1 MiB of random bytes at the start, a third, the middle and the end.
OFFS="0 $((SIZE / 3 / MIB * MIB)) $((SIZE / 2 / MIB * MIB + 4096)) $((SIZE - MIB))"
HOLE=$((SIZE / 4 / MIB * MIB))
"$PY" - "$O/big.bin" "$SIZE" "$T/sparse.sums" $OFFS <<'EOF' ||
import hashlib, os, sys
path, size, sums = sys.argv[1], int(sys.argv[2]), sys.argv[3]
fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
os.ftruncate(fd, size)
with open(sums, "w") as out:
    for off in map(int, sys.argv[4:]):
        data = os.urandom(1 << 20)
        if os.pwrite(fd, data, off) != len(data):
            sys.exit("short write at %d" % off)
        out.write("%d %s\n" % (off, hashlib.sha256(data).hexdigest()))
os.close(fd)
EOF
	fail "writing the sparse file"
seal r3
F=$A/sparse/v1/big.bin
[ "$(stat -c %s "$F")" = "$SIZE" ] ||
	defect "sparse: size $(stat -c %s "$F"), want $SIZE"
ZSUM=$(head -c $MIB /dev/zero | sha256sum | cut -d' ' -f1)
sparse_read() { # OFFSET: sha256 of 1 MiB at OFFSET
	"$PY" -c 'import hashlib,os,sys
fd = os.open(sys.argv[1], os.O_RDONLY); off = int(sys.argv[2]); b = b""
while len(b) < 1 << 20:
    c = os.pread(fd, (1 << 20) - len(b), off + len(b))
    if not c: break
    b += c
print(hashlib.sha256(b).hexdigest())' "$F" "$1"
}
while read -r off want; do
	got=$(sparse_read "$off") || got="read failed"
	[ "$got" = "$want" ] || defect "sparse: 1 MiB at $off reads $got, want $want"
done <"$T/sparse.sums"
got=$(sparse_read "$HOLE") || got="read failed"
[ "$got" = "$ZSUM" ] || defect "sparse: the hole at $HOLE does not read as zeros"
stored=$(afs stats --json | "$PY" -c 'import json,sys
print(json.load(sys.stdin)["stored_bytes"])')
echo "limits: sparse logical=$SIZE stored_bytes=$stored"
# 4 MiB of random data, the zero chunks once, plus the small parts.
[ "$stored" -lt $((64 * MIB)) ] ||
	defect "sparse: stats says $stored bytes stored for $SPARSE_GIB GiB of mostly zeros"
done_part

# ------------------------------------------------------------ paths
begin paths "names at NAME_MAX, paths at PATH_MAX"
O=$P/r4/steps/s/outputs/paths
mkdir -p "$O" || fail "mkdir -p $O"
N255=$(printf 'n%.0s' $(seq 255))
echo 255 >"$O/$N255" || defect "paths: a name of 255 bytes cannot be created"
expect_errno ENAMETOOLONG "open(M + '/pipelines/lim/runs/r4/steps/s/outputs/paths/' + 'n' * 256, 'w')"
expect_errno ENAMETOOLONG "os.mkdir(M + '/pipelines/lim/runs/r4/steps/s/outputs/paths/' + 'd' * 256)"
expect_errno ENAMETOOLONG "os.stat(M + '/pipelines/lim/runs/r4/steps/s/outputs/paths/' + 'x' * 256)"
# The deepest absolute path: directories of 200 bytes, then a file whose
# name brings the path to 4095 bytes (PATH_MAX with its NUL); one more
# byte must fail with ENAMETOOLONG, nothing else.
"$PY" - "$O" "$T/paths.out" <<'EOF' || defect "paths: the deepest path could not be made"
import errno, os, sys
o, out = sys.argv[1], sys.argv[2]
d = o + "/deep"
os.mkdir(d)
while len(d) + 1 + 200 + 1 + 50 <= 4095:
    d = d + "/" + "d" * 200
    os.mkdir(d)
name = "f" * (4095 - len(d) - 1)
assert 1 <= len(name) <= 255, len(name)
with open(d + "/" + name, "w") as f:
    f.write("deepest\n")
deepest = d + "/" + name
assert len(deepest) == 4095
try:
    open(deepest + "x", "w")
    print("beyond PATH_MAX: no error")
    sys.exit(1)
except OSError as e:
    if e.errno != errno.ENAMETOOLONG:
        print("beyond PATH_MAX: %s" % errno.errorcode.get(e.errno, e.errno))
        sys.exit(1)
    print("   ok: ENAMETOOLONG for a path of 4096 bytes")
with open(out, "w") as f:
    f.write(os.path.relpath(deepest, o) + "\n")
EOF
REL=$(cat "$T/paths.out" 2>/dev/null || true)
# Deeper than PATH_MAX inside the version, through directory descriptors:
# the store must take it or refuse with ENAMETOOLONG, never anything else.
"$PY" - "$O" "$T/paths.fd" <<'EOF' || defect "paths: beyond PATH_MAX through dir fds: $(cat "$T/paths.fd" 2>/dev/null)"
import errno, os, sys
o, out = sys.argv[1], sys.argv[2]
os.mkdir(o + "/fd")
fd = os.open(o + "/fd", os.O_RDONLY | os.O_DIRECTORY)
depth, res = 0, "created"
try:
    while depth < 30:  # 30 * 201 bytes: 6,030, well past 4096
        os.mkdir("e" * 200, dir_fd=fd)
        nfd = os.open("e" * 200, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = nfd
        depth += 1
    with open(os.open("leaf", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "w") as f:
        f.write("leaf\n")
except OSError as e:
    res = errno.errorcode.get(e.errno, str(e.errno))
with open(out, "w") as f:
    f.write("%d %s\n" % (depth, res))
print("   deep through dir fds: %d levels (%d bytes), %s" % (depth, 3 + depth * 201, res))
sys.exit(0 if res in ("created", "ENAMETOOLONG") else 1)
EOF
seal r4
V=$A/paths/v1
[ "$(cat "$V/$N255" 2>&1)" = 255 ] || defect "paths: the 255-byte name reads wrong after seal"
if [ -n "$REL" ]; then
	[ "$(cat "$V/$REL" 2>&1)" = deepest ] ||
		defect "paths: the deepest path reads wrong after seal"
fi
read -r FDDEPTH FDRES <"$T/paths.fd" || true
echo "limits: paths beyond PATH_MAX via dir fds: depth=$FDDEPTH result=$FDRES"
"$PY" - "$V/fd" "${FDDEPTH:-0}" "${FDRES:-}" <<'EOF' || defect "paths: the deep chain does not read back after seal"
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
for i in range(int(sys.argv[2])):
    nfd = os.open("e" * 200, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
    os.close(fd)
    fd = nfd
if sys.argv[3] == "created":
    with open(os.open("leaf", os.O_RDONLY, dir_fd=fd)) as f:
        assert f.read() == "leaf\n"
EOF
afs fsck >"$T/fsck.out" 2>&1 || defect "paths: fsck after the deep paths: $(tail -n 3 "$T/fsck.out")"
done_part

# -------------------------------------------------------------- cli
begin cli "put of a tree of $N files and get of it back"
SRC=$T/clisrc
"$PY" - "$SRC" "$N" <<'EOF' || fail "making the tree"
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, "d%04d" % (i // 100))
    if i % 100 == 0:
        os.makedirs(d)
    with open(os.path.join(d, "f%06d" % i), "w") as f:
        f.write("cli %d\n" % i)
EOF
afs -q put clitree "$SRC" >/dev/null 2>"$T/put.err" ||
	defect "cli: put of $N files failed: $(head -c 300 "$T/put.err")"
afs -q get clitree@v1 "$T/cliout" 2>"$T/get.err" ||
	defect "cli: get of $N files failed: $(head -c 300 "$T/get.err")"
diff -r "$SRC" "$T/cliout" >"$T/diff.out" 2>&1 ||
	defect "cli: the tree read back differs: $(head -n 3 "$T/diff.out")"
rm -rf "$SRC" "$T/cliout"
done_part

stop_daemon
echo "limits: done daemon_peak_rss_kib_bound=$RSS_MAX_KIB growth_bound=$GROWTH_MAX_KIB"
finish
