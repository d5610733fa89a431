#!/usr/bin/env bash
# The tree the mount shows: listings, attributes of version files (size,
# mtime = the source's as put kept it, blocks, read-only modes), d_type,
# latest and alias symlinks, extended attributes, statfs, and inode numbers
# that survive a remount.  Content is put with the command line before
# mounting.
source "$(dirname "$0")/lib.sh" "$@"

afs init >/dev/null

# A version with nested directories, an executable, a symlink and an
# empty directory; a second version; a single-file version from a run.
D=$T/src/ds
mkdir -p "$D/sub/deep" "$D/empty"
echo "label,value" >"$D/a.csv"
mkrandom "$D/sub/b.bin" 300000
touch -d '2021-03-04 05:06:07' "$D/sub/b.bin"
echo deep >"$D/sub/deep/c.txt"
printf '#!/bin/sh\necho hi\n' >"$D/run.sh"
chmod 0755 "$D/run.sh"
ln -s a.csv "$D/link"
touch -d '2020-01-01 00:00:00' "$D"
B_EPOCH=$(stat -c %Y "$D/sub/b.bin")
D_EPOCH=$(stat -c %Y "$D")
afs put dataset "$D" >/dev/null
echo "second" >"$D/a.csv"
afs put dataset "$D" >/dev/null
echo "first" >"$D/a.csv" # what v1 held was "label,value"
afs alias set dataset production v1 >/dev/null
mkrandom "$T/src/model.bin" 70000
afs put model "$T/src/model.bin" --run train/r0/fit >/dev/null

start_daemon
A=$M/artifacts

check "ls -l of the tree"
ls -l "$M" "$A" "$A/dataset"
[ "$(ls "$M" | tr '\n' ' ')" = "artifacts audit pipelines secrets " ] ||
	defect "root lists '$(ls "$M" | tr '\n' ' ')'"
[ "$(ls "$A" | tr '\n' ' ')" = "dataset model " ] ||
	defect "artifacts lists '$(ls "$A" | tr '\n' ' ')'"
[ "$(ls "$A/dataset" | sort | tr '\n' ' ')" = "latest production v1 v2 " ] ||
	defect "dataset lists '$(ls "$A/dataset" | tr '\n' ' ')'"
ls -l "$A/dataset" | grep -q ' latest -> v2$' || defect "ls -l: latest -> v2"
ls -l "$A/dataset" | grep -q ' production -> v1$' ||
	defect "ls -l: production -> v1"
ls -lR "$A/dataset/v1" >/dev/null || defect "ls -lR of a version failed"

check "stat of a version file: size, mtime = the source's, blocks, mode"
F=$A/dataset/v1/sub/b.bin
stat "$F"
[ "$(stat -c %s "$F")" = 300000 ] || defect "size $(stat -c %s "$F"), want 300000"
[ "$(stat -c %Y "$F")" = "$B_EPOCH" ] ||
	defect "mtime $(stat -c %Y "$F"), want the source's $B_EPOCH"
[ "$(stat -c %B "$F")" = 512 ] || defect "st_blocks unit $(stat -c %B "$F")"
[ "$(stat -c %b "$F")" -ge $(((300000 + 511) / 512)) ] ||
	defect "st_blocks $(stat -c %b "$F") < size/512"
# Read-only, and only the owner (root, the store's admin) is bound: the
# group and other bits are empty until roles are granted (tests/mount/acl).
[ "$(stat -c %a "$F")" = 400 ] || defect "mode $(stat -c %a "$F"), want 400"
[ "$(stat -c %a "$A/dataset/v1/run.sh")" = 500 ] ||
	defect "executable mode $(stat -c %a "$A/dataset/v1/run.sh"), want 500"
[ "$(stat -c %a "$A/dataset/v1/sub")" = 500 ] ||
	defect "directory mode $(stat -c %a "$A/dataset/v1/sub"), want 500"
[ "$(stat -c %Y "$A/dataset/v1")" = "$D_EPOCH" ] ||
	defect "version directory mtime $(stat -c %Y "$A/dataset/v1"), want the source's $D_EPOCH"
[ "$(stat -c %s "$A/dataset/v1/a.csv")" = 12 ] ||
	defect "a.csv size $(stat -c %s "$A/dataset/v1/a.csv"), want 12"
[ "$(cat "$A/dataset/v1/a.csv")" = "label,value" ] || defect "v1/a.csv content"
[ "$(cat "$A/dataset/v2/a.csv")" = "second" ] || defect "v2/a.csv content"
[ "$(sha "$F")" = "$(sha "$D/sub/b.bin")" ] || defect "v1/sub/b.bin content"

check "find over a version: the same tree, d_type by find -type d/f/l"
for ty in d f l; do
	want=$(cd "$D" && find . -mindepth 1 -type $ty | sort | tr '\n' ' ')
	got=$(cd "$A/dataset/v2" && find . -mindepth 1 -type $ty | sort |
		tr '\n' ' ')
	echo "   -type $ty: $got"
	[ "$got" = "$want" ] || defect "find -type $ty: '$got', want '$want'"
done
# d_type from readdir itself (find uses it without stat when it can).
"$PY" - "$A/dataset/v2" <<'EOF' || defect "readdir d_type (see above)"
import os, stat, sys
bad = 0
for e in os.scandir(sys.argv[1]):
    dt = 'd' if e.is_dir(follow_symlinks=False) else \
         'l' if e.is_symlink() else 'f'
    st = os.lstat(e.path)
    want = 'd' if stat.S_ISDIR(st.st_mode) else \
           'l' if stat.S_ISLNK(st.st_mode) else 'f'
    if dt != want or e.inode() != st.st_ino:
        print("   readdir says %s ino %d, lstat %s ino %d: %s"
              % (dt, e.inode(), want, st.st_ino, e.name))
        bad = 1
sys.exit(bad)
EOF
[ "$(readlink "$A/dataset/v1/link")" = a.csv ] ||
	defect "symlink inside a version reads '$(readlink "$A/dataset/v1/link")'"

check "latest and an alias: readlink, and reading through them"
[ "$(readlink "$A/dataset/latest")" = v2 ] ||
	defect "readlink latest = '$(readlink "$A/dataset/latest")'"
[ "$(readlink "$A/dataset/production")" = v1 ] ||
	defect "readlink production = '$(readlink "$A/dataset/production")'"
[ "$(cat "$A/dataset/production/a.csv")" = "label,value" ] ||
	defect "production/a.csv"
[ "$(cat "$A/dataset/latest/a.csv")" = "second" ] || defect "latest/a.csv"
[ "$(readlink "$A/model/latest")" = v1 ] || defect "model latest"

check "extended attributes: digest, version, run"
getfattr --absolute-names -d "$F" "$A/model/v1/model.bin"
x=$(getfattr --absolute-names --only-values -n user.artifactfs.digest "$F")
[ "$x" = "sha256:$(sha "$D/sub/b.bin")" ] || defect "digest xattr '$x'"
x=$(getfattr --absolute-names --only-values -n user.artifactfs.version "$F")
[ "$x" = "dataset@v1" ] || defect "version xattr '$x'"
x=$(getfattr --absolute-names --only-values -n user.artifactfs.run "$A/model/v1/model.bin")
[ "$x" = "train/r0/fit" ] || defect "run xattr '$x', want train/r0/fit"
getfattr --absolute-names -d "$A/model/v1/model.bin" |
	grep -q '^user.artifactfs.run="train/r0/fit"$' ||
	defect "getfattr -d lacks user.artifactfs.run"
getfattr --absolute-names -d "$A/dataset/v1/sub/deep/c.txt" |
	grep -q '^user.artifactfs.digest="sha256:' ||
	defect "getfattr -d lacks user.artifactfs.digest"
expect_err "Operation not permitted" \
	setfattr -n user.x -v 1 "$A/dataset/v1/a.csv"

check "statfs: df and stat -f"
df "$M"
df "$M" | tail -n1 | grep -q " $M\$" || defect "df does not show $M"
stat -f "$M"
[ "$(stat -f -c %l "$M")" = 255 ] || defect "namelen $(stat -f -c %l "$M")"
[ "$(stat -f -c %b "$M")" -gt 0 ] || defect "statfs shows no blocks"
files=$(stat -f -c %c "$M")
ffree=$(stat -f -c %d "$M")
[ "$ffree" -le "$files" ] ||
	defect "statfs: free inodes $ffree > total $files (df -i shows a negative IUsed)"

check "pipelines: a run made with mkdir, listed with ls -l"
mkdir -p "$M/pipelines/train/runs/r1/steps/fit/outputs/model"
ls -l "$M/pipelines" "$M/pipelines/train/runs/r1" \
	"$M/pipelines/train/runs/r1/steps/fit"
[ "$(ls "$M/pipelines/train/runs/r1" | tr '\n' ' ')" = \
	"control env run.json steps " ] ||
	defect "run lists '$(ls "$M/pipelines/train/runs/r1" | tr '\n' ' ')'"
[ "$(ls "$M/pipelines/train/runs/r1/steps/fit" | tr '\n' ' ')" = \
	"env inputs outputs trace.jsonl " ] || defect "step listing"
"$PY" -c 'import json,sys; j=json.load(open(sys.argv[1]));
assert j["status"] == "open" and j["owner_uid"] == 0 and j["owner"] == "root", j' \
	"$M/pipelines/train/runs/r1/run.json" || defect "run.json"

check "the command line while mounted (through the daemon) shows at once"
afs alias set dataset production v2 >/dev/null ||
	defect "alias set while mounted failed"
[ "$(readlink "$A/dataset/production")" = v2 ] ||
	defect "after alias set: production -> $(readlink "$A/dataset/production")"
[ "$(cat "$A/dataset/production/a.csv")" = second ] ||
	defect "reading through the moved alias"
afs put dataset "$D" >/dev/null || defect "put while mounted failed"
[ "$(readlink "$A/dataset/latest")" = v3 ] ||
	defect "after put: latest -> $(readlink "$A/dataset/latest")"
[ "$(cat "$A/dataset/v3/a.csv")" = first ] || defect "v3 put while mounted"
afs alias set dataset production v1 >/dev/null

check "inode numbers: readdir agrees with stat, and survive a remount"
PATHS=("$M/artifacts" "$A/dataset" "$A/dataset/v1" "$F" "$A/dataset/latest"
	"$A/dataset/production" "$A/dataset/v2/sub/deep/c.txt"
	"$M/pipelines/train/runs/r1/steps/fit/outputs/model")
stat -c '%i %n' "${PATHS[@]}" >"$T/ino.before"
cat "$T/ino.before"
[ "$(ls -i "$A/dataset/v1" | awk '$2=="a.csv"{print $1}')" = \
	"$(stat -c %i "$A/dataset/v1/a.csv")" ] ||
	defect "ls -i (readdir) and stat disagree on v1/a.csv"
[ "$(sort -u -k1,1 "$T/ino.before" | wc -l)" = "${#PATHS[@]}" ] ||
	defect "two paths share an inode number"
stop_daemon
start_daemon
stat -c '%i %n' "${PATHS[@]}" >"$T/ino.after"
diff "$T/ino.before" "$T/ino.after" || defect "inode numbers changed on remount"

stop_daemon
finish
