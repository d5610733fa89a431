#!/usr/bin/env bash
# Times in open runs and sealed versions, as an unprivileged user:
# touch -d, cp -p, tar -x and rsync -a set atime and mtime of files in an
# open run; a second rsync -a transfers nothing; after seal, stat in the
# version shows each mtime, `get` restores them, `put` keeps the source's;
# the times are not part of the version digest (the same tree with other
# times has the same digest).
source "$(dirname "$0")/lib.sh" "$@"
ensure_user
command -v rsync >/dev/null || skip "no rsync"

# mtimes MNT_OR_DIR: "path mode mtime" of everything below, sorted
# (directories too, symlinks by their own time).
mtimes() {
	(cd "$1" && find . -mindepth 1 -printf '%P %y %m %T@\n' | sort)
}
# Modes in the mount follow roles, not the source: compare names, kinds
# and mtimes only there.
mtimes_nomode() {
	mtimes "$1" | awk '{print $1, $2, $4}'
}

SRC=$T/src
mkdir -p "$SRC/d/e"
echo one >"$SRC/one.txt"
head -c 300000 /dev/urandom >"$SRC/d/big.bin"
echo deep >"$SRC/d/e/deep.txt"
printf '#!/bin/sh\n' >"$SRC/d/run.sh"
chmod 0750 "$SRC/d/run.sh"
ln -s ../one.txt "$SRC/d/link"
touch -h -d '2020-01-02 03:04:05.123456789' "$SRC/d/link"
touch -d '2019-05-06 07:08:09.5' "$SRC/one.txt"
touch -d '2018-01-01 00:00:01' "$SRC/d/big.bin"
touch -d '2017-02-03 04:05:06' "$SRC/d/e/deep.txt" "$SRC/d/run.sh"
touch -d '2016-01-01 00:00:00' "$SRC/d/e"
touch -d '2015-01-01 00:00:00' "$SRC/d"
touch -d '2014-01-01 00:00:00' "$SRC"
chmod -R a+rX "$SRC"
tar --format=posix -C "$SRC" -cf "$T/src.tar" .
chmod a+r "$T/src.tar"

afs init >/dev/null
start_daemon
P=$M/pipelines/train/runs
A=$M/artifacts
setfacl -m "u:$TUSER:rwx" "$M/pipelines" || fail "setfacl writer"
setfacl -m "u:$TUSER:rwx" "$A" || fail "setfacl writer on artifacts"
OUT=$P/t1/steps/fit/outputs
as_user mkdir -p "$OUT" || fail "mkdir -p $OUT"

check "touch -d sets the mtime; touch -a -d the atime alone"
as_user sh -c "echo x > '$OUT/t.txt'" || fail "write t.txt"
as_user touch -d '2020-01-01 00:00:00' "$OUT/t.txt" || defect "touch -d failed"
[ "$(stat -c %Y "$OUT/t.txt")" = "$(date -d '2020-01-01 00:00:00' +%s)" ] ||
	defect "touch -d: mtime is $(stat -c %y "$OUT/t.txt")"
as_user touch -a -d '2021-06-01 12:00:00' "$OUT/t.txt" || defect "touch -a failed"
[ "$(stat -c %X "$OUT/t.txt")" = "$(date -d '2021-06-01 12:00:00' +%s)" ] ||
	defect "touch -a: atime is $(stat -c %x "$OUT/t.txt")"
[ "$(stat -c %Y "$OUT/t.txt")" = "$(date -d '2020-01-01 00:00:00' +%s)" ] ||
	defect "touch -a moved the mtime: $(stat -c %y "$OUT/t.txt")"
before=$(stat -c %Y "$OUT/t.txt")
as_user sh -c "echo more >> '$OUT/t.txt'"
[ "$(stat -c %Y "$OUT/t.txt")" -gt "$before" ] ||
	defect "a write did not move the mtime"
as_user touch -d '1960-01-01 00:00:00.25' "$OUT/old.txt" || defect "touch -d 1960"
touch -d '1960-01-01 00:00:00.25' "$T/old.ref"
[ "$(stat -c %.2Y "$OUT/old.txt")" = "$(stat -c %.2Y "$T/old.ref")" ] ||
	defect "touch -d 1960: mtime $(stat -c %.2Y "$OUT/old.txt")"

check "cp --preserve=timestamps keeps the mtime (set while the copy is open)"
as_user cp --preserve=timestamps "$SRC/one.txt" "$OUT/one.txt" 2>"$T/cp.err" ||
	defect "cp --preserve=timestamps: $(cat "$T/cp.err")"
[ "$(stat -c %.9Y "$OUT/one.txt")" = "$(stat -c %.9Y "$SRC/one.txt")" ] ||
	defect "cp -p: mtime $(stat -c %y "$OUT/one.txt") want $(stat -c %y "$SRC/one.txt")"
[ "$(cat "$OUT/one.txt")" = one ] || defect "cp -p: content"

check "tar -x keeps the mtimes"
as_user mkdir "$OUT/tar"
as_user tar -C "$OUT/tar" -xf "$T/src.tar" 2>"$T/tar.err" || defect "tar -x: $(cat "$T/tar.err")"
mtimes_nomode "$SRC" >"$T/src.times"
mtimes_nomode "$OUT/tar" >"$T/tar.times"
diff "$T/src.times" "$T/tar.times" || defect "tar -x: times differ"

check "rsync -a keeps the mtimes; a second rsync -a transfers nothing"
as_user rsync -a "$SRC/" "$OUT/model/" 2>"$T/rsync.err" ||
	defect "rsync -a: $(cat "$T/rsync.err")"
mtimes_nomode "$OUT/model" >"$T/rsync.times"
diff "$T/src.times" "$T/rsync.times" || defect "rsync -a: times differ"
as_user rsync -a --itemize-changes --stats "$SRC/" "$OUT/model/" \
	>"$T/rsync2.out" 2>&1 || defect "second rsync -a failed"
# Modes in the mount are the roles' (the 'p' column may differ): no
# content, size or time may.
grep -E '^[<>ch.*][fdLDS]' "$T/rsync2.out" |
	grep -Ev '^\.[fdL]\.\.\.p\.\.\.\.\. ' >"$T/rsync2.items" || true
[ ! -s "$T/rsync2.items" ] ||
	defect "second rsync -a changed: $(head -5 "$T/rsync2.items")"
grep -q 'Number of regular files transferred: 0' "$T/rsync2.out" ||
	defect "second rsync -a transferred: $(grep 'files transferred' "$T/rsync2.out")"

check "seal: the versions keep each mtime (stat in the mount)"
as_user sh -c "echo seal > '$P/t1/control'" || fail "seal failed"
mtimes_nomode "$A/model/v1" >"$T/v1.times"
diff "$T/src.times" "$T/v1.times" || defect "model@v1: times differ from the source"
[ "$(stat -c %.9Y "$A/one.txt/v1/one.txt")" = "$(stat -c %.9Y "$SRC/one.txt")" ] ||
	defect "one.txt@v1: mtime $(stat -c %y "$A/one.txt/v1/one.txt")"
[ "$(stat -c %Y "$A/model/v1")" = "$(stat -c %Y "$SRC")" ] ||
	defect "model@v1 (the root): mtime $(stat -c %y "$A/model/v1")"

check "get restores modes and mtimes (as the user, through the daemon)"
mkdir -m 0777 "$T/got"
as_user "$AFS" --config "$T/empty.conf" --store "$S" get model@v1 "$T/got/m" ||
	defect "get failed"
# Symlinks included: get gives a symlink its own time by name.
mtimes "$SRC" >"$T/src.full"
mtimes "$T/got/m" >"$T/got.full"
grep -q ' l ' "$T/src.full" || defect "the source holds no symlink"
diff "$T/src.full" "$T/got.full" || defect "get: modes or mtimes differ"

check "put keeps the source's mtimes; the digest ignores times"
as_user "$AFS" --config "$T/empty.conf" --store "$S" put model "$SRC" \
	>/dev/null || defect "put failed"
mtimes_nomode "$A/model/v2" >"$T/v2.times"
diff "$T/src.times" "$T/v2.times" || defect "model@v2 (put): times differ"
cp -a "$SRC" "$T/src2"
touch -d '2001-01-01' "$T/src2/one.txt" "$T/src2/d/big.bin"
chmod -R a+rX "$T/src2"
as_user "$AFS" --config "$T/empty.conf" --store "$S" put model "$T/src2" \
	>/dev/null || defect "put of src2 failed"
d1=$(getfattr --absolute-names --only-values -n user.artifactfs.digest "$A/model/v1")
d2=$(getfattr --absolute-names --only-values -n user.artifactfs.digest "$A/model/v2")
d3=$(getfattr --absolute-names --only-values -n user.artifactfs.digest "$A/model/v3")
[ -n "$d1" ] && [ "$d1" = "$d2" ] && [ "$d2" = "$d3" ] ||
	defect "digests differ with times: v1 $d1 v2 $d2 v3 $d3"
[ "$(stat -c %Y "$A/model/v3/one.txt")" = "$(date -d 2001-01-01 +%s)" ] ||
	defect "model@v3/one.txt: mtime $(stat -c %y "$A/model/v3/one.txt")"

check "times of sealed versions cannot change"
expect_errno "EPERM|EROFS" "os.utime(M + '/artifacts/model/v1/one.txt', (0, 0))"

stop_daemon
check "fsck after all this: clean"
afs fsck >/dev/null 2>"$T/fsck.err" || defect "fsck: $(head -3 "$T/fsck.err")"
finish
