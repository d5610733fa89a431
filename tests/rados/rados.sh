#!/usr/bin/env bash
# A store whose chunks live in RADOS, on a throw-away one-host cluster
# (scripts/ceph_up.sh: one mon, one memstore osd, loopback only):
# init refuses a missing pool; puts dedup against the pool (one object
# per distinct chunk); cat and a mount read give back the bytes; fsck is
# clean; a damaged object makes cat fail naming the chunk (a mount read:
# EIO); gc removes the objects nothing references; an export copies the
# chunks it holds and reads with the cluster stopped, while the store's
# commands then fail within their deadline, naming the conf and the pool.
#
# Skipped (77) without the ceph binaries, except under CI=true where that
# is a failure (scripts/deps.sh installs them).
source "$(dirname "$0")/../mount/lib.sh" "$@"

missing=""
for b in ceph-mon ceph-osd rados ceph ceph-authtool monmaptool; do
	command -v "$b" >/dev/null || missing="$missing $b"
done
if [ -n "$missing" ]; then
	[ "${CI:-}" = true ] && fail "ceph binaries missing under CI:$missing"
	skip "no ceph binaries:$missing (scripts/deps.sh installs them)"
fi

CL=$T/ceph
POOL=afs
CLEANUP+=("'$SRC_ROOT/scripts/ceph_down.sh' '$CL' >/dev/null")
check "a one-host cluster comes up"
"$SRC_ROOT/scripts/ceph_up.sh" "$CL" "$POOL" || fail "ceph_up.sh failed"
CONF=$CL/ceph.conf
R() { timeout 30 rados -c "$CONF" -p "$POOL" "$@"; }

check "init refuses a pool that does not exist, and writes no store"
expect_err "RADOS pool nosuch does not exist" \
	afs init --rados nosuch --ceph-conf "$CONF"
[ ! -e "$S/ARTIFACTFS" ] || defect "a store was made on a missing pool"

check "init --rados makes the store; init again is idempotent"
afs init --rados "$POOL" --ceph-conf "$CONF" >/dev/null ||
	fail "init --rados failed"
afs init --rados "$POOL" --ceph-conf "$CONF" | grep -q 'already' ||
	defect "second init"

objects() { R --all ls | wc -l; }

check "puts: the same file twice stores its chunks once; a changed copy adds few"
$PY - "$T/a.bin" "$T/b.bin" <<'EOF'
import os, sys
a = bytearray(os.urandom(6 << 20))
open(sys.argv[1], "wb").write(a)
a[3 << 20:(3 << 20) + 4096] = os.urandom(4096)  # one region changed
open(sys.argv[2], "wb").write(a)
EOF
afs put data "$T/a.bin" >/dev/null || fail "put 1"
n1=$(objects)
afs put data "$T/a.bin" >/dev/null || fail "put 2"
n2=$(objects)
mkdir "$T/b" && cp "$T/b.bin" "$T/b/a.bin"
afs put data "$T/b/a.bin" >/dev/null || fail "put 3"
n3=$(objects)
put=$((n1 * 3))
echo "   objects: $n1 after one put, $n2 after the same again, $n3 after" \
	"the changed copy (chunks put: about $put)"
[ "$n1" -ge 6 ] || defect "only $n1 objects for a 6 MiB file"
[ "$n2" -eq "$n1" ] || defect "the same file again added objects ($n1 -> $n2)"
[ "$n3" -gt "$n2" ] && [ "$n3" -lt $((n1 * 2)) ] ||
	defect "the changed copy: $n2 -> $n3 objects (want a few more)"
R --all ls | awk '{print $NF}' | grep -qvE '^[0-9a-f]{64}$' &&
	defect "an object not named by a SHA-256: $(R --all ls | head -3)"

check "cat gives back every version byte for byte"
want_a=$(sha256sum <"$T/a.bin" | cut -d' ' -f1)
want_b=$(sha256sum <"$T/b.bin" | cut -d' ' -f1)
for v in 1 2; do
	got=$(afs cat "data@v$v" | sha256sum | cut -d' ' -f1)
	[ "$got" = "$want_a" ] || defect "cat data@v$v differs"
done
got=$(afs cat data@v3 | sha256sum | cut -d' ' -f1)
[ "$got" = "$want_b" ] || defect "cat data@v3 differs"

check "a mount reads the versions from the pool"
start_daemon
got=$(sha256sum <"$M/artifacts/data/v1/a.bin" | cut -d' ' -f1)
[ "$got" = "$want_a" ] || defect "the mount's v1 differs"
got=$(sha256sum <"$M/artifacts/data/v3/a.bin" | cut -d' ' -f1)
[ "$got" = "$want_b" ] || defect "the mount's v3 differs"
stop_daemon

check "fsck is clean"
afs fsck >"$T/fsck.out" 2>&1 || defect "fsck: $(cat "$T/fsck.out")"
grep -q ": clean$" "$T/fsck.out" || defect "fsck not clean: $(cat "$T/fsck.out")"

check "a damaged object: cat fails naming the chunk, fsck exits 1"
line=$(R --all ls | head -1)
ns=$(echo "$line" | awk '{print $1}')
oid=$(echo "$line" | awk '{print $NF}')
[ "$ns" != "$oid" ] || defect "objects are not in the store's namespace"
R -N "$ns" get "$oid" "$T/obj" || fail "rados get"
$PY -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[len(b) // 2] ^= 0xff; open(sys.argv[2], "wb").write(b)' \
	"$T/obj" "$T/obj.bad"
R -N "$ns" put "$oid" "$T/obj.bad" || fail "rados put"
failed=0
for v in 1 3; do
	if ! afs cat "data@v$v" >/dev/null 2>"$T/cat.err"; then
		failed=$v
		grep -q "$oid" "$T/cat.err" ||
			defect "cat data@v$v failed without naming $oid: $(cat "$T/cat.err")"
		echo "   -> $(head -1 "$T/cat.err")"
	fi
done
[ "$failed" != 0 ] || fail "no cat failed with object $oid damaged"
start_daemon
expect_err "Input/output error" cat "$M/artifacts/data/v$failed/a.bin"
grep -q "$oid" "$DLOG" || defect "the daemon log does not name $oid"
stop_daemon
rc=0
afs fsck >"$T/fsck.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || defect "fsck with a damaged object exited $rc, want 1"
R -N "$ns" put "$oid" "$T/obj" || fail "rados put (restore)"

check "gc removes the objects of a failed put, and only them"
mkdir "$T/partial"
head -c $((2 << 20)) /dev/urandom >"$T/partial/aa.bin"
mkfifo "$T/partial/zz.fifo"
afs put partial "$T/partial" >/dev/null 2>&1 && defect "a put with a FIFO succeeded"
n4=$(objects)
[ "$n4" -gt "$n3" ] || defect "the failed put stored no object ($n3 -> $n4)"
afs gc >"$T/gc.out" || defect "gc failed"
cat "$T/gc.out"
n5=$(objects)
[ "$n5" -eq "$n3" ] || defect "after gc $n5 objects, want $n3"
afs fsck >/dev/null 2>&1 || defect "fsck after gc"
got=$(afs cat data@v3 | sha256sum | cut -d' ' -f1)
[ "$got" = "$want_b" ] || defect "data@v3 differs after gc"

check "a second store on the same pool neither sees nor removes the first's objects"
S2=$T/store2
"$AFS" --config "$T/empty.conf" --store "$S2" init --rados "$POOL" \
	--ceph-conf "$CONF" >/dev/null || fail "init of a second store"
"$AFS" --config "$T/empty.conf" --store "$S2" gc >/dev/null ||
	defect "gc of the second store"
[ "$(objects)" -eq "$n3" ] || defect "the second store's gc removed objects"

check "an export copies the chunks it holds: a closure export of data@v3"
afs export "$T/exp" --closure data@v3 >/dev/null || fail "export"
[ "$(objects)" -eq "$n3" ] || defect "the export's gc touched the pool"

check "with the cluster down a command fails within its deadline, naming the pool"
KEEP=1 "$SRC_ROOT/scripts/ceph_down.sh" "$CL" >/dev/null
t0=$SECONDS
rc=0
timeout 60 "$AFS" --config "$T/empty.conf" --store "$S" cat data@v1 \
	>/dev/null 2>"$T/down.err" || rc=$?
took=$((SECONDS - t0))
echo "   -> exit $rc after $took s: $(head -1 "$T/down.err")"
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || defect "cat with the cluster down: exit $rc"
[ "$took" -le 30 ] || defect "cat with the cluster down took $took s"
grep -q "RADOS pool $POOL" "$T/down.err" && grep -q "$CONF" "$T/down.err" ||
	defect "the message names neither the pool nor the conf"

check "the export needs no cluster: cat and fsck of it"
got=$(timeout 60 "$AFS" --config "$T/empty.conf" --store "$T/exp" cat data@v3 |
	sha256sum | cut -d' ' -f1)
[ "$got" = "$want_b" ] || defect "the export's data@v3 differs"
timeout 60 "$AFS" --config "$T/empty.conf" --store "$T/exp" fsck |
	grep -q ': clean$' || defect "fsck of the export"
finish
