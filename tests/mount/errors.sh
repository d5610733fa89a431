#!/usr/bin/env bash
# Errors the mount gives, each with the errno (and so the message) a user
# expects: names over 255 bytes, directories made where none can be, a
# second mount of a store, unknown paths, bad names and control words.
source "$(dirname "$0")/lib.sh" "$@"

afs init >/dev/null
echo "v1" >"$T/f.txt"
afs put ds "$T/f.txt" >/dev/null
start_daemon

RUN=$M/pipelines/p/runs/r
O=$RUN/steps/s/outputs
mkdir -p "$O/d" "$RUN/steps/s2/outputs"
N255=$(printf 'n%.0s' $(seq 255))
N256=${N255}x
N300=$(printf 'x%.0s' $(seq 300))

check "a 255-byte name works; 256 and 300 bytes: File name too long"
touch "$O/$N255" || defect "touch of a 255-byte name failed"
mkdir "$O/d/$N255" || defect "mkdir of a 255-byte name failed"
[ -f "$O/$N255" ] || defect "the 255-byte file is not there"
for n in "$N256" "$N300"; do
	expect_err "File name too long" touch "$O/$n"
	expect_err "File name too long" mkdir "$O/$n"
	expect_err "File name too long" mkdir "$M/pipelines/$n"
	expect_err "File name too long" mkdir "$M/pipelines/p/runs/$n"
	expect_err "File name too long" mkdir "$RUN/steps/$n"
	expect_err "File name too long" stat "$M/artifacts/$n"
	expect_err "File name too long" stat "$M/artifacts/ds/v1/$n"
	expect_err "File name too long" mv "$O/$N255" "$O/$n"
	expect_err "File name too long" ln -s target "$O/$n"
done

check "directories only where the tree has them: Operation not permitted"
expect_err "Operation not permitted" mkdir "$M/newdir"
expect_err "Operation not permitted" mkdir "$M/artifacts/newdir"
expect_err "Operation not permitted" mkdir "$M/pipelines/p/newdir"
expect_err "Operation not permitted" mkdir "$RUN/newdir"
expect_err "Operation not permitted" mkdir "$RUN/steps/s/newdir"
expect_err "Operation not permitted" touch "$M/newfile"
expect_err "Operation not permitted" touch "$M/pipelines/newfile"
expect_err "Operation not permitted" touch "$RUN/newfile"
expect_err "Operation not permitted" ln -s x "$M/pipelines/link"
# A hard link works inside a step's outputs only (tests/mount/links.sh).
expect_err "Invalid cross-device link" ln "$O/$N255" "$RUN/hardlink"
expect_err "Read-only file system" mkdir "$M/artifacts/ds/newdir"
expect_err "Read-only file system" mkdir "$M/artifacts/ds/v1/newdir"
expect_err "Operation not permitted" rmdir "$M/pipelines/p"
expect_err "Operation not permitted" rmdir "$RUN/env"
expect_err "Operation not permitted" rm -f "$RUN/run.json"
expect_err "Operation not permitted" rmdir "$O"
expect_err "Operation not permitted" mv "$RUN/steps/s" "$RUN/steps/s3"
# Special files have no place in an artifact (put refuses them too).
if mkfifo "$O/fifo" 2>"$T/fifo.err"; then
	defect "mkfifo in outputs succeeded"
else
	echo "   ok (refused): $(cat "$T/fifo.err")"
fi

check "bad names, bad control words, wrong kinds"
expect_err "Invalid argument" mkdir "$M/pipelines/p/runs/bad$(printf '\001')name"
expect_err "Invalid argument" touch "$O/bad$(printf '\001')name"
expect_err "Invalid argument" bash -c "echo launch > '$RUN/control'"
[ "$(cat "$RUN/control")" = open ] || defect "a bad control word changed the run"
echo x >"$O/d/f"
expect_err "Directory not empty" rmdir "$O/d"
expect_err "Not a directory" ls "$O/d/f/x"
expect_err "Is a directory" sh -c "cat '$M/artifacts/ds/v1' >/dev/null"
expect_errno EXDEV \
	"os.rename(M + '/pipelines/p/runs/r/steps/s/outputs/d/f', M + '/pipelines/p/runs/r/steps/s2/outputs/f')"
expect_errno "EPERM|EXDEV" \
	"os.rename(M + '/pipelines/p/runs/r/steps/s/outputs/d/f', M + '/pipelines/p/runs/r/f')"
expect_errno EEXIST "os.mkdir(M + '/pipelines/p/runs/r')"
expect_errno EEXIST "os.mkdir(M + '/pipelines/p/runs/r/steps/s/outputs/d')"

check "unknown paths: No such file or directory"
for p in nope artifacts/nope artifacts/ds/v0 artifacts/ds/v01 artifacts/ds/v2 \
	artifacts/ds/v1x artifacts/ds/nosuchalias artifacts/ds/v1/nope \
	pipelines/nope pipelines/p/nope pipelines/p/runs/nope \
	pipelines/p/runs/r/nope pipelines/p/runs/r/steps/nope \
	pipelines/p/runs/r/steps/s/nope pipelines/p/runs/r/steps/s/outputs/nope \
	pipelines/p/runs/r/steps/s/outputs/d/nope; do
	expect_err "No such file or directory" stat "$M/$p"
done
expect_err "No such file or directory" mkdir "$M/pipelines/nope/runs/r"
expect_err "No such file or directory" touch "$M/pipelines/p/runs/nope/x"

check "a second mount of the same store fails, naming the daemon's pid"
mkdir "$T/mnt2"
rc=0
timeout 60 "$AFS" --config "$T/empty.conf" mount --store "$S" "$T/mnt2" -f \
	>"$T/second.out" 2>"$T/second.err" || rc=$?
echo "   exit $rc: $(cat "$T/second.err")"
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || defect "second mount exited $rc"
grep -q "pid $DPID" "$T/second.err" ||
	defect "second mount's message does not name pid $DPID"
! mountpoint -q "$T/mnt2" || {
	fusermount3 -u "$T/mnt2"
	defect "the second mount was made"
}
[ "$(cat "$M/artifacts/ds/v1/f.txt")" = v1 ] ||
	defect "the first mount stopped working after the second attempt"

check "mount errors: no store, no mount point"
expect_err "no store at" "$AFS" --config "$T/empty.conf" mount \
	--store "$T/nostore" "$T/mnt2" -f
expect_err "nodir" "$AFS" --config "$T/empty.conf" mount \
	--store "$S" "$T/nodir" -f
! mountpoint -q "$T/mnt2" || defect "$T/mnt2 got mounted"

stop_daemon
finish
