#!/usr/bin/env bash
# A store in RADOS (chunks and metadata), on a throw-away one-host cluster
# (scripts/ceph_up.sh: one mon, one memstore osd, loopback only):
# init refuses a missing pool; the metadata is in the pool (keys in the
# object meta); puts dedup against the pool (one object per
# distinct chunk); cat and a mount read give back the bytes; fsck is
# clean; a damaged object makes cat fail naming the chunk (a mount read:
# EIO); gc keeps what was put within its grace, then removes the objects
# nothing references; a second directory joins the store; a commit lock
# left by a killed process of this host is broken, another host's is
# waited for until its lease ends; an export copies the
# chunks it holds and reads with the cluster stopped, while the store's
# commands then fail within their deadline, naming the conf and the pool;
# a commit too big for one write op is whole or nothing when its process
# is killed part way (the next commit completes it).
#
# Skipped (77) without the ceph binaries, except under CI=true where that
# is a failure (scripts/deps.sh installs them).
source "$(dirname "$0")/../mount/lib.sh" "$@"

# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
cluster_up afs afsmany afsold

check "init refuses a pool that does not exist, and writes no store"
expect_err "RADOS pool nosuch does not exist" \
	afs init --rados nosuch --ceph-conf "$CONF"
[ ! -e "$S/ARTIFACTFS" ] || defect "a store was made on a missing pool"

check "init --rados makes the store; init again is idempotent"
afs init --rados "$POOL" --ceph-conf "$CONF" >/dev/null ||
	fail "init --rados failed"
afs init --rados "$POOL" --ceph-conf "$CONF" | grep -q 'already' ||
	defect "second init"

# Chunk objects: named by their SHA-256, in the store's namespace (the
# metadata is the object "meta" in "<id>.meta", and the pool's record of
# its store is "artifactfs.store").
chunk_objects() { R --all ls | awk 'NF == 2 && $1 !~ /\.meta$/'; }
objects() { chunk_objects | wc -l; }

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
chunk_objects | awk '{print $NF}' | grep -qvE '^[0-9a-f]{64}$' &&
	defect "an object not named by a SHA-256: $(chunk_objects | head -3)"
R --all ls | grep -q 'artifactfs.store' || defect "no record of the pool's store"
R --all ls | grep -qE '\.meta[[:space:]]+meta$' || defect "no metadata object"
mns=$(R --all ls | awk '$1 ~ /\.meta$/ {print $1; exit}')
nkeys=$(R -N "$mns" listomapkeys meta | wc -l)
echo "   metadata: $nkeys keys in the pool's object meta"
[ "$nkeys" -ge 20 ] || defect "only $nkeys metadata keys in the pool"
R -N "$mns" listomapkeys meta | grep -q "^03" ||
	defect "no namespace key (column family 3) in the pool"

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
line=$(chunk_objects | head -1)
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
[ "$(objects)" -eq "$n4" ] ||
	defect "gc removed chunks put within the grace (an hour by default)"
# The grace from the configuration file: a second.
printf 'gc_grace = "1s";\n' >"$T/grace.conf"
sleep 1.2
"$AFS" --config "$T/grace.conf" --store "$S" gc >"$T/gc.out" || defect "gc (gc_grace = 1s) failed"
cat "$T/gc.out"
n5=$(objects)
[ "$n5" -eq "$n3" ] || defect "after gc $n5 objects, want $n3"
afs fsck >/dev/null 2>&1 || defect "fsck after gc"
got=$(afs cat data@v3 | sha256sum | cut -d' ' -f1)
[ "$got" = "$want_b" ] || defect "data@v3 differs after gc"

check "a second directory on the pool joins the store: it reads data@v3, its gc keeps what is referenced"
S2=$T/store2
"$AFS" --config "$T/empty.conf" --store "$S2" init --rados "$POOL" \
	--ceph-conf "$CONF" >/dev/null 2>"$T/join.err" || fail "init of a second node"
grep -q "joins it" "$T/join.err" || defect "init did not say it joined: $(cat "$T/join.err")"
got=$("$AFS" --config "$T/empty.conf" --store "$S2" cat data@v3 | sha256sum | cut -d' ' -f1)
[ "$got" = "$want_b" ] || defect "the second node's data@v3 differs"
ARTIFACTFS_GC_GRACE=0 "$AFS" --config "$T/empty.conf" --store "$S2" gc >/dev/null ||
	defect "gc of the second node"
[ "$(objects)" -eq "$n3" ] || defect "the second node's gc removed referenced objects"

check "--ceph-id: a store used as client.afs, whose key reaches only the pool"
timeout 30 ceph -c "$CONF" auth get-or-create client.afs mon 'allow r' \
	osd "allow rwx pool=$POOL" >>"$CL/keyring" || fail "ceph auth"
S3=$T/store3
"$AFS" --config "$T/empty.conf" --store "$S3" init --rados "$POOL" \
	--ceph-conf "$CONF" --ceph-id afs >/dev/null || fail "init --ceph-id afs"
head -c 50000 /dev/urandom >"$T/c.bin" # one chunk
"$AFS" --config "$T/empty.conf" --store "$S3" put c "$T/c.bin" >/dev/null ||
	defect "put as client.afs"
"$AFS" --config "$T/empty.conf" --store "$S3" cat c | cmp -s - "$T/c.bin" ||
	defect "cat as client.afs"
n3=$((n3 + 1))
[ "$(objects)" -eq "$n3" ] || defect "client.afs's put: $(objects) objects, want $n3"

check "an export copies the chunks it holds: a closure export of data@v3"
afs export "$T/exp" --closure data@v3 >/dev/null || fail "export"
[ "$(objects)" -eq "$n3" ] || defect "the export's gc touched the pool"

check "a change of an open run too big for one write op (a directory of 60 files renamed) is one commit of its pipeline's shard, in parts"
# ARTIFACTFS_RADOS_OP_KEYS=5 in the daemon: the rename (60 entries set,
# 60 removed) goes in parts, as a rename of 20,000 files would.
export ARTIFACTFS_RADOS_OP_KEYS=5
start_daemon
unset ARTIFACTFS_RADOS_OP_KEYS
RO=$M/pipelines/pp/runs/r/steps/s/outputs
mkdir -p "$RO/d" || fail "mkdir of a run"
for i in $(seq 60); do echo "f $i" >"$RO/d/f$i" || fail "write f$i"; done
ns=$(R --all ls | awk '$1 ~ /\.meta$/ {print $1; exit}')
shard=shard.$("$PY" -c 'import hashlib; print(hashlib.sha256(b"artifactfs shard\0pp").hexdigest()[:32])')
g0=$(R -N "$ns" getxattr "$shard" gen) || fail "no shard object $shard for pipeline pp"
m0=$(R -N "$ns" getxattr meta gen)
mv "$RO/d" "$RO/e" || defect "rename of a directory of 60 files"
g1=$(R -N "$ns" getxattr "$shard" gen)
m1=$(R -N "$ns" getxattr meta gen)
echo "   the rename: shard count $((10#$g0)) -> $((10#$g1)), store object's $((10#$m0)) -> $((10#$m1))"
[ $((10#$g1 - 10#$g0)) -eq 1 ] || defect "the rename counted $((10#$g1 - 10#$g0)) commits in the shard, want 1"
[ "$m1" = "$m0" ] || defect "the rename counted in the store's object"
n=$(R -N "$ns" ls | grep -c '^intent\.' || true)
[ "$n" = 0 ] || defect "the rename left $n part objects"
R -N "$ns" listomapkeys "$shard" | grep -q '^~i$' && defect "the rename left its intent key"
ok=0
for i in $(seq 60); do [ "$(cat "$RO/e/f$i")" = "f $i" ] && ok=$((ok + 1)); done
[ "$ok" = 60 ] || defect "$ok of 60 files read back after the rename"
[ -e "$RO/d" ] && defect "the old name outlived the rename"
stop_daemon
afs fsck 2>&1 | grep -q ': clean$' || defect "fsck after the rename in parts"

check "a store made before shards keeps its open runs' outputs in its one object, and works"
# Its object lacks the key "sharded" (CF_META), which init now sets: a
# store made with an earlier artifactfs, simulated by removing the key.
SO=$T/store-old
so() { "$AFS" --config "$T/empty.conf" --store "$SO" "$@"; }
RO_() { timeout 30 rados -c "$CONF" -p afsold "$@"; }
so init --rados afsold --ceph-conf "$CONF" >/dev/null || fail "init on afsold"
nso=$(RO_ --all ls | awk '$1 ~ /\.meta$/ {print $1; exit}')
RO_ -N "$nso" listomapkeys meta | grep -qx 0873686172646564 ||
	defect "init did not mark the store sharded"
RO_ -N "$nso" rmomapkey meta 0873686172646564 || fail "rmomapkey sharded"
S_NEW=$S S=$SO
start_daemon
OO=$M/pipelines/op/runs/r/steps/s/outputs
mkdir -p "$OO" || fail "mkdir of a run in the old store"
g0=$(RO_ -N "$nso" getxattr meta gen)
for i in 1 2 3; do echo "old $i" >"$OO/f$i" || defect "write f$i into the old store's run"; done
g1=$(RO_ -N "$nso" getxattr meta gen)
[ "$(cat "$OO/f2")" = "old 2" ] || defect "f2 of the old store's run reads wrong"
stop_daemon
S=$S_NEW
n=$(RO_ -N "$nso" ls | grep -c '^shard\.' || true)
echo "   3 writes: the store object's count $((10#$g0)) -> $((10#$g1)); $n shard objects"
[ "$n" = 0 ] || defect "the old store got $n shard objects"
[ $((10#$g1 - 10#$g0)) -ge 3 ] || defect "3 writes counted $((10#$g1 - 10#$g0)) commits in the store's object"
so run seal op/r >/dev/null || defect "run seal in the old store"
[ "$(so cat f3@v1)" = "old 3" ] || defect "f3@v1 of the old store reads wrong"
so fsck 2>&1 | grep -q ': clean$' || defect "fsck of the old store"

check "a commit lock left by a killed process of this host is broken at once; another host's waits out its lease"
R -N "$mns" lock get meta commit --lock-cookie "$(hostname) 999999 dead" \
	--lock-duration 300 || fail "rados lock get"
printf 'x\n' >"$T/l1.txt"
t0=$SECONDS
timeout 60 "$AFS" --config "$T/empty.conf" --store "$S" put locked "$T/l1.txt" \
	>/dev/null 2>"$T/lock.err" || defect "put with a dead process's lock: $(cat "$T/lock.err")"
[ $((SECONDS - t0)) -le 5 ] || defect "the dead process's lock held a put $((SECONDS - t0)) s"
grep -q "broke the commit lock of process 999999" "$T/lock.err" ||
	defect "no word of the broken lock: $(cat "$T/lock.err")"
R -N "$mns" lock get meta commit --lock-cookie "elsewhere 1 live" \
	--lock-duration 4 || fail "rados lock get"
t0=$(date +%s%N)
timeout 60 "$AFS" --config "$T/empty.conf" --store "$S" put locked "$T/l1.txt" \
	>/dev/null 2>"$T/lock.err" || defect "put after another host's lease: $(cat "$T/lock.err")"
ms=$((($(date +%s%N) - t0) / 1000000))
echo "   a put waited $ms ms for another host's 4 s lease"
[ "$ms" -ge 2500 ] || defect "a put took another host's live lock after $ms ms"

check "a commit too big for one write op counts once and leaves no part behind"
# ARTIFACTFS_RADOS_OP_KEYS=5: the put of 400 files is a commit of many
# parts (store/radosmeta.c), as the seal of a run of 20,000 files is.  A
# store of its own (pool afsmany), whose journal only this directory wrote.
SM=$T/store-many
mp() { "$AFS" --config "$T/empty.conf" --store "$SM" "$@"; }
RM() { timeout 30 rados -c "$CONF" -p afsmany "$@"; }
mp init --rados afsmany --ceph-conf "$CONF" >/dev/null || fail "init on afsmany"
nsm=$(RM --all ls | awk '$1 ~ /\.meta$/ {print $1; exit}')
mkdir "$T/many"
for i in $(seq 400); do echo "file $i" >"$T/many/f$i"; done
want_many=$(mp put many-ref "$T/many" | awk '{print $2}')
[ -n "$want_many" ] || fail "put many-ref"
parts() { RM -N "$nsm" ls | grep -c '^intent\.' || true; }
pending() { RM -N "$nsm" listomapkeys meta | grep -c '^~i$' || true; }
g0=$(RM -N "$nsm" getxattr meta gen)
ARTIFACTFS_RADOS_OP_KEYS=5 mp put many "$T/many" >"$T/many.out" ||
	defect "put in parts: $(cat "$T/many.out")"
g1=$(RM -N "$nsm" getxattr meta gen)
[ "$(awk '{print $2}' "$T/many.out")" = "$want_many" ] ||
	defect "the put in parts made $(cat "$T/many.out"), want $want_many"
[ $((10#$g1 - 10#$g0)) -eq 1 ] || defect "the put in parts counted $((10#$g1 - 10#$g0)) commits"
[ "$(parts)" = 0 ] && [ "$(pending)" = 0 ] ||
	defect "the put in parts left $(parts) part objects, $(pending) pending"

# kill_put NAME WHEN: a put of $T/many in parts (of 2 keys: a long
# commit), killed (SIGKILL) as soon as WHEN holds (polled), or not at all
# if it ends first; its exit status.
kill_put() {
	local p i
	ARTIFACTFS_RADOS_OP_KEYS=2 "$AFS" --config "$T/empty.conf" --store "$SM" \
		put "$1" "$T/many" >/dev/null 2>&1 &
	p=$!
	for ((i = 0; i < 3000; i++)); do
		if [ "$($2)" != 0 ]; then
			kill -9 "$p"
			break
		fi
		kill -0 "$p" 2>/dev/null || break
	done
	wait "$p"
}
# version_is NAME: NAME@v1 is there with the put's digest (0), absent (1).
version_is() {
	local got
	got=$(mp ls "$1" 2>/dev/null | awk '$1 == "v1" {print $2}')
	[ -n "$got" ] || return 1
	[ "${want_many:0:19}" = "$got" ] || defect "$1@v1 is $got, want $want_many"
}

check "a commit of many parts killed once it is made is completed by the next commit, whole"
completed=0
for r in 1 2 3; do
	rc=0
	kill_put "made$r" pending || rc=$?
	printf 'x%s\n' "$r" >"$T/next.txt"
	mp put next "$T/next.txt" >/dev/null 2>"$T/next.err" ||
		defect "the put after the kill: $(cat "$T/next.err")"
	if grep -q "completing commit .* of .* parts, left unfinished" "$T/next.err"; then
		completed=$((completed + 1))
	fi
	[ "$rc" = 0 ] || [ "$rc" = 137 ] || defect "put made$r exited $rc"
	version_is "made$r" || defect "made$r@v1 is missing after the next commit"
	[ "$(pending)" = 0 ] && [ "$(parts)" = 0 ] ||
		defect "after the next commit: $(pending) pending, $(parts) part objects"
done
echo "   $completed of 3 puts killed after their commit were completed by the next"
[ "$completed" -ge 1 ] || defect "no put was killed between its commit and its last part"

check "a commit of many parts killed before it is made leaves nothing, and its parts go; a stale one is dropped"
absent=0
for r in 1 2 3; do
	rc=0
	kill_put "unmade$r" parts || rc=$?
	mp put next "$T/next.txt" >/dev/null 2>&1 || defect "the put after the kill"
	if version_is "unmade$r"; then :; else absent=$((absent + 1)); fi
	[ "$(pending)" = 0 ] || defect "a commit is pending after the next put"
done
echo "   $absent of 3 puts killed while writing their parts left no version"
ARTIFACTFS_RADOS_OP_KEYS=5 mp put many-again "$T/many" >/dev/null ||
	defect "put in parts after the kills"
[ "$(parts)" = 0 ] || defect "$(parts) part objects left after a later commit of many parts"
# A pending commit that names another count (a node of an earlier
# version committed on top of it) cannot be completed: it is dropped,
# loudly, and commits go on.
RM -N "$nsm" setomapval meta '~i' "1 0123456789abcdef 3" || fail "setomapval"
mp put next "$T/next.txt" >/dev/null 2>"$T/stale.err" ||
	defect "a put with a stale pending commit: $(cat "$T/stale.err")"
grep -q "can no longer be completed" "$T/stale.err" ||
	defect "no word of the stale pending commit: $(cat "$T/stale.err")"
[ "$(pending)" = 0 ] || defect "the stale pending commit is still there"
mp fsck >"$T/fsck.out" 2>&1 || defect "fsck after the kills: $(cat "$T/fsck.out")"
mp audit verify >/dev/null 2>"$T/verify.err" ||
	defect "audit verify after the kills: $(cat "$T/verify.err")"

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
