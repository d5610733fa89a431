#!/usr/bin/env bash
# Hard links in the outputs of an open run, as an unprivileged user:
# link(2) (ln) inside one step's outputs works, both names show one inode
# number and a link count of 2, a write, chmod or touch through one name
# shows through the other (before and after closing), and sealing makes
# both names files of the version with one digest.  A link across steps
# is EXDEV, of a directory EPERM, into a sealed version EROFS; removing
# one name leaves the other.
source "$(dirname "$0")/lib.sh" "$@"
ensure_user

afs init >/dev/null
start_daemon
P=$M/pipelines/train/runs
A=$M/artifacts
setfacl -m "u:$TUSER:rwx" "$M/pipelines" || fail "setfacl writer"
setfacl -m "u:$TUSER:r-x" "$A" || fail "setfacl reader"
OUT=$P/r1/steps/fit/outputs
as_user mkdir -p "$OUT/m/sub" "$P/r1/steps/other/outputs" || fail "mkdir -p"

check "ln in one step: one inode, two names"
as_user sh -c "echo one > '$OUT/m/a.txt'"
as_user ln "$OUT/m/a.txt" "$OUT/m/sub/b.txt" || defect "ln failed"
ia=$(stat -c %i "$OUT/m/a.txt") ib=$(stat -c %i "$OUT/m/sub/b.txt")
[ "$ia" = "$ib" ] || defect "inode numbers differ: $ia $ib"
[ "$(stat -c %h "$OUT/m/a.txt")" = 2 ] && [ "$(stat -c %h "$OUT/m/sub/b.txt")" = 2 ] ||
	defect "link counts $(stat -c %h "$OUT/m/a.txt") $(stat -c %h "$OUT/m/sub/b.txt")"
[ "$(cat "$OUT/m/sub/b.txt")" = one ] || defect "b.txt reads $(cat "$OUT/m/sub/b.txt")"

check "a write through one name shows through the other, open and closed"
as_user "$PY" - "$OUT/m/a.txt" "$OUT/m/sub/b.txt" <<'PYEOF' || defect "open handles disagree"
import sys
a, b = sys.argv[1:]
with open(a, "r+") as f:
    f.write("two"); f.flush()
    got = open(b).read()
    assert got == "two\n", got
PYEOF
[ "$(cat "$OUT/m/sub/b.txt")" = two ] || defect "after close b.txt reads $(cat "$OUT/m/sub/b.txt")"
as_user sh -c "echo three > '$OUT/m/sub/b.txt'"
[ "$(cat "$OUT/m/a.txt")" = three ] || defect "a.txt reads $(cat "$OUT/m/a.txt")"
as_user chmod 0600 "$OUT/m/a.txt"
as_user touch -d 2020-01-01 "$OUT/m/sub/b.txt"
[ "$(stat -c %Y "$OUT/m/a.txt")" = "$(stat -c %Y "$OUT/m/sub/b.txt")" ] ||
	defect "touch through b did not reach a"

check "refused: across steps EXDEV, a directory EPERM, an existing name EEXIST"
R1="M + '/pipelines/train/runs/r1/steps'"
expect_errno EXDEV "os.link($R1 + '/fit/outputs/m/a.txt', $R1 + '/other/outputs/a.txt')"
expect_errno EPERM "os.link($R1 + '/fit/outputs/m/sub', $R1 + '/fit/outputs/m/sub2')"
expect_errno EEXIST "os.link($R1 + '/fit/outputs/m/a.txt', $R1 + '/fit/outputs/m/sub/b.txt')"
expect_errno ENOENT "os.link($R1 + '/fit/outputs/m/none', $R1 + '/fit/outputs/m/x')"

check "a third name, then one removed: the others stay"
as_user ln "$OUT/m/a.txt" "$OUT/m/c.txt" || defect "ln c.txt"
[ "$(stat -c %h "$OUT/m/a.txt")" = 3 ] || defect "3 names: count $(stat -c %h "$OUT/m/a.txt")"
as_user rm "$OUT/m/c.txt" || defect "rm c.txt"
[ "$(stat -c %h "$OUT/m/a.txt")" = 2 ] || defect "after rm: count $(stat -c %h "$OUT/m/a.txt")"

check "a file created and linked before its first close"
as_user "$PY" - "$OUT/m/fresh" "$OUT/m/fresh2" <<'PYEOF' || defect "fresh link"
import os, sys
a, b = sys.argv[1:]
with open(a, "w") as f:
    f.write("fresh")
    f.flush()
    os.link(a, b)
    f.write(" more")
assert open(b).read() == "fresh more"
PYEOF

check "seal: both names are files of the version, one digest"
as_user sh -c "echo seal > '$P/r1/control'" || fail "seal"
V=$A/m/v1
[ "$(cat "$V/a.txt")" = three ] && [ "$(cat "$V/sub/b.txt")" = three ] ||
	defect "version holds '$(cat "$V/a.txt")' and '$(cat "$V/sub/b.txt")'"
da=$(getfattr --absolute-names --only-values -n user.artifactfs.digest "$V/a.txt")
db=$(getfattr --absolute-names --only-values -n user.artifactfs.digest "$V/sub/b.txt")
[ -n "$da" ] && [ "$da" = "$db" ] || defect "digests differ: $da $db"
[ "$(cat "$V/fresh2")" = "fresh more" ] || defect "fresh2@v1: $(cat "$V/fresh2")"
expect_errno EROFS "os.link(M + '/artifacts/m/v1/a.txt', M + '/artifacts/m/v1/z')"
expect_errno "EROFS|EPERM" "os.link($R1 + '/fit/outputs/m/a.txt', $R1 + '/fit/outputs/m/z')"

stop_daemon
check "fsck: clean"
afs fsck >/dev/null 2>"$T/fsck.err" || defect "fsck: $(head -3 "$T/fsck.err")"
finish
