#!/usr/bin/env bash
# tests/mount/write_ops.sh OUT SRC TAR PYTHON - the writes write.sh makes
# in a run's outputs/ (OUT), and once more in a local directory to know
# what to expect.  Deterministic: the same on both.  Each output name
# below becomes an artifact at seal.
set -euo pipefail
O=$1 SRC=$2 TAR=$3 PY=$4
HERE=$(cd "$(dirname "$0")" && pwd)

echo "   cp -r"
mkdir -p "$O/cp"
cp -r "$SRC/." "$O/cp/"

echo "   rsync -a"
rsync -a "$SRC/" "$O/rsync/"

echo "   tar -x"
mkdir "$O/tar"
tar -C "$O/tar" -xf "$TAR"

echo "   python3: open('w'), seeks and random writes, r+, append, sparse"
mkdir "$O/py"
"$PY" "$HERE/write_ops.py" "$O/py"

echo "   editor-like save: write a temp file, mv it over the target"
mkdir -p "$O/misc/sub"
printf 'original: 1\n' >"$O/misc/cfg.yaml"
printf 'edited: 2\n' >"$O/misc/.cfg.yaml.swp"
mv -f "$O/misc/.cfg.yaml.swp" "$O/misc/cfg.yaml"

echo "   truncate: shrink, grow, to zero then append"
cp "$SRC/big1.bin" "$O/misc/trunc.bin"
truncate -s 100000 "$O/misc/trunc.bin"
truncate -s 250000 "$O/misc/trunc.bin"
cp "$SRC/small.txt" "$O/misc/zero.txt"
truncate -s 0 "$O/misc/zero.txt"
echo refilled >>"$O/misc/zero.txt"

echo "   unlink, rmdir, rename of files and directories"
echo doomed >"$O/misc/doomed.txt"
rm "$O/misc/doomed.txt"
mkdir -p "$O/misc/gone/deeper"
echo x >"$O/misc/gone/deeper/f"
rm -r "$O/misc/gone"
echo moved >"$O/misc/before.txt"
mv "$O/misc/before.txt" "$O/misc/sub/after.txt"
mkdir -p "$O/misc/dirA/inner"
echo deep >"$O/misc/dirA/inner/f"
mv "$O/misc/dirA" "$O/misc/dirB"
echo one >"$O/misc/replace-me"
echo two >"$O/misc/replacement"
mv "$O/misc/replacement" "$O/misc/replace-me"

echo "   append with >>"
echo line1 >"$O/misc/log.txt"
echo line2 >>"$O/misc/log.txt"

echo "   a single file as an output"
echo "just one file" >"$O/single.txt"
