#!/usr/bin/env bash
# A store whose pool reached its quota (a one-host cluster with a mgr:
# quotas need its usage figures), used as a client whose key reaches only
# that pool:
# - a put of new content fails at once (not after a deadline), exit 1,
#   saying the pool is at its quota, and stores nothing;
# - so does a write through the mount, with EDQUOT (root's, and a
#   non-root writer's in a run of its own);
# - what needs no new content goes on: a put of content already stored, an
#   alias move, a run opened, cat, a mount read, fsck, audit verify;
# - gc (a retention rule lets a version go) frees room on the full pool,
#   and once the quota no longer binds, a put of new content works again;
# - a node whose own disk is full (its store directory on a full tmpfs)
#   still writes: its data and metadata are in the pool, the directory
#   keeps nothing that changes (a daemon there still says it serves);
# - a full cluster (the osd past its full ratio) stops new content with
#   ENOSPC at once, and stored content and gc go on.
#
# Skipped (77) without the ceph binaries (ceph-mgr included), except
# under CI=true where that is a failure (scripts/deps.sh installs them).
source "$(dirname "$0")/../mount/lib.sh" "$@"

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
ensure_user
export MGR=1
cluster_up afsfull
C() { timeout 30 ceph -c "$CONF" "$@"; }
export ARTIFACTFS_KEY_DIR=$T/keys ARTIFACTFS_GC_GRACE=1
cat >"$T/keep1.conf" <<'EOF'
retention = ( { artifact = "big"; keep_last = 1; } );
EOF
afs() { "$AFS" --config "$T/keep1.conf" --store "$S" "$@"; }
full() { C health detail 2>/dev/null | grep -q "pool '$POOL' is full"; }

check "a store with two 3 MiB versions (as client.afs, whose key reaches only the pool), then a 4 MiB quota on its pool"
C auth get-or-create client.afs mon 'allow r' osd "allow rwx pool=$POOL" \
	>>"$CL/keyring" || fail "ceph auth"
afs init --rados "$POOL" --ceph-conf "$CONF" --ceph-id afs >/dev/null ||
	fail "init --rados"
head -c $((3 << 20)) /dev/urandom >"$T/big1"
head -c $((3 << 20)) /dev/urandom >"$T/big2"
head -c $((1 << 20)) /dev/urandom >"$T/new"
printf 'small and stored\n' >"$T/small.txt"
afs put big "$T/big1" >/dev/null || fail "put big v1"
afs put big "$T/big2" >/dev/null || fail "put big v2"
afs put small "$T/small.txt" >/dev/null || fail "put small"
afs run open p/r s >/dev/null || fail "run open p/r"
afs role grant writer "$TUSER" --scope /pipelines/u >/dev/null ||
	fail "role grant writer"
C osd pool set-quota "$POOL" max_bytes $((4 << 20)) >/dev/null ||
	fail "set-quota"
# The mgr reports the pool's usage every few seconds; the mon then flags
# the pool full.
for ((i = 0; i < 120; i++)); do
	full && break
	sleep 1
done
full || fail "the pool is not flagged full $i s after its quota"
echo "   the pool was flagged full after about $i s"

check "a put of new content fails at once, saying the pool is at its quota"
t0=$(date +%s%N)
rc=0
afs put new "$T/new" >/dev/null 2>"$T/put.err" || rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
echo "   -> exit $rc after $ms ms: $(head -1 "$T/put.err")"
[ "$rc" = 1 ] || defect "a put of new content on the full pool: exit $rc"
[ "$ms" -lt 5000 ] || defect "the put took $ms ms (a deadline waited out?)"
grep -q "at its quota" "$T/put.err" ||
	defect "no word of the quota: $(cat "$T/put.err")"
afs ls new >/dev/null 2>&1 && defect "new was published on a full pool"

check "what needs no new content goes on: a put of stored content, an alias move, cat, fsck"
afs put small2 "$T/small.txt" >/dev/null 2>"$T/dup.err" ||
	defect "a put of content already stored: $(cat "$T/dup.err")"
afs alias set big stable v2 >/dev/null 2>"$T/alias.err" ||
	defect "alias set: $(cat "$T/alias.err")"
afs cat big@v1 | cmp -s - "$T/big1" || defect "cat big@v1 differs"
afs fsck 2>&1 | grep -q ': clean$' || defect "fsck on the full pool"

check "through the mount: a write of new content gets EDQUOT, a read works"
start_daemon
O=$M/pipelines/p/runs/r/steps/s/outputs
rc=0
cp "$T/new" "$O/new" 2>"$T/cp.err" || rc=$?
echo "   -> cp exit $rc: $(head -1 "$T/cp.err")"
[ "$rc" -ne 0 ] && grep -q "Disk quota exceeded" "$T/cp.err" ||
	defect "a write of new content through the mount: exit $rc, $(cat "$T/cp.err")"
printf 'small and stored\n' >"$O/stored" ||
	defect "a write of stored content through the mount failed"
cmp -s "$M/artifacts/big/v2/big2" "$T/big2" || defect "a mount read of big@v2"
# A non-root writer, in a run of its own opened on the full pool.
UO=$M/pipelines/u/runs/r/steps/s/outputs
as_user mkdir -p "$UO" 2>"$T/u.err" ||
	defect "$TUSER cannot open a run on the full pool: $(cat "$T/u.err")"
rc=0
as_user sh -c "head -c 1048576 /dev/urandom >'$UO/new'" 2>"$T/u.err" || rc=$?
echo "   -> $TUSER's write of new content: exit $rc: $(head -1 "$T/u.err")"
[ "$rc" -ne 0 ] && grep -q "Disk quota exceeded" "$T/u.err" ||
	defect "$TUSER's write of new content: exit $rc, $(cat "$T/u.err")"
as_user sh -c "printf 'small and stored\n' >'$UO/stored'" 2>"$T/u.err" ||
	defect "$TUSER's write of stored content: $(cat "$T/u.err")"
stop_daemon

check "gc frees room on the full pool, and puts of new content work again"
afs gc >"$T/gc.out" 2>&1 || defect "gc on the full pool: $(cat "$T/gc.out")"
echo "   $(grep -m1 removed "$T/gc.out")"
grep -q "removed [1-9][0-9]* chunks" "$T/gc.out" ||
	defect "gc removed no chunk: $(cat "$T/gc.out")"
afs ls big | grep -q '^v1 ' && defect "gc kept big@v1 against its rule"
ok=""
for ((i = 0; i < 120; i++)); do
	afs put new "$T/new" >/dev/null 2>&1 && ok=1 && break
	sleep 1
done
[ -n "$ok" ] || defect "no put of new content worked within 120 s of gc"
echo "   a put of new content worked again $i s after gc"
afs cat new@v1 | cmp -s - "$T/new" || defect "new@v1 reads back wrong"
afs fsck 2>&1 | grep -q ': clean$' || defect "fsck after gc"
afs audit verify >/dev/null 2>"$T/verify.err" ||
	defect "audit verify: $(cat "$T/verify.err")"

check "a node whose own disk is full still puts, writes through its mount and seals"
mkdir "$T/tiny"
mount -t tmpfs -o size=16m tmpfs "$T/tiny" || fail "cannot mount a tmpfs"
CLEANUP+=("umount '$T/tiny'")
SF=$T/tiny/node
fn() { "$AFS" --config "$T/empty.conf" --store "$SF" "$@"; }
fn init --rados "$POOL" --ceph-conf "$CONF" --ceph-id afs >/dev/null 2>&1 ||
	fail "init on the tmpfs"
head -c $((32 << 20)) /dev/zero >"$T/tiny/filler" 2>/dev/null || true
echo "   $(df -h "$T/tiny" | awk 'NR == 2 {print $4 " free of " $2}')"
head -c $((1 << 20)) /dev/urandom >"$T/new2"
fn put new2 "$T/new2" >/dev/null 2>"$T/n2.err" ||
	defect "a put on the node with a full disk: $(cat "$T/n2.err")"
fn cat new2@v1 | cmp -s - "$T/new2" || defect "new2@v1 reads back wrong"
fn run open p/full s >/dev/null 2>"$T/n2.err" ||
	defect "run open on the node with a full disk: $(cat "$T/n2.err")"
S=$SF start_daemon
cp "$T/new2" "$M/pipelines/p/runs/full/steps/s/outputs/f" 2>"$T/n2.err" ||
	defect "a write through the mount of the node with a full disk: $(cat "$T/n2.err")"
fn run seal p/full >/dev/null 2>"$T/n2.err" ||
	defect "seal (through the daemon) on the node with a full disk: $(cat "$T/n2.err")"
S=$SF stop_daemon

check "a full cluster (its osd past the full ratio): ENOSPC at once, stored content and gc go on"
C osd pool set-quota "$POOL" max_bytes 0 >/dev/null || fail "lift the quota"
for ((i = 0; i < 120; i++)); do
	full || break
	sleep 1
done
! full || fail "the pool is still flagged full $i s after its quota went"
# Two more versions of big: the older (a retention rule lets it go) is
# what gc frees then.
head -c $((1 << 20)) /dev/urandom >"$T/big4"
afs put big "$T/big1" >/dev/null || fail "put big v3"
afs put big "$T/big4" >/dev/null || fail "put big v4"
C osd set-nearfull-ratio 0.0001 >/dev/null &&
	C osd set-backfillfull-ratio 0.0002 >/dev/null &&
	C osd set-full-ratio 0.0003 >/dev/null || fail "set the full ratios"
cfull() { C health detail 2>/dev/null | grep -q "pool '$POOL' is full (no space)"; }
for ((i = 0; i < 120; i++)); do
	cfull && break
	sleep 1
done
cfull || fail "the osd is not flagged full $i s after its ratio"
rc=0
head -c $((1 << 20)) /dev/urandom >"$T/new3"
afs put new3 "$T/new3" >/dev/null 2>"$T/c.err" || rc=$?
echo "   -> exit $rc: $(head -1 "$T/c.err")"
[ "$rc" = 1 ] && grep -q "the cluster is full" "$T/c.err" ||
	defect "a put of new content on a full cluster: exit $rc, $(cat "$T/c.err")"
afs put small3 "$T/small.txt" >/dev/null 2>"$T/c.err" ||
	defect "a put of stored content on a full cluster: $(cat "$T/c.err")"
afs gc >"$T/gc.out" 2>&1 || defect "gc on a full cluster: $(cat "$T/gc.out")"
grep -q "removed [1-9][0-9]* chunks" "$T/gc.out" ||
	defect "gc on a full cluster removed no chunk: $(cat "$T/gc.out")"
finish
