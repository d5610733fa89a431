#!/usr/bin/env bash
# A five-minute tour of artifactfs on the default store
# (~/.local/share/artifactfs, or $ARTIFACTFS_STORE if set): builds a
# Release binary, then stores a small dataset and two versions of a fake
# 8 MiB model checkpoint, and shows how little the second version costs.
# Running it again just adds versions.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build-release
AFS=$BUILD/fs/artifactfs

"$ROOT/scripts/deps.sh"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j "$(nproc)" >/dev/null
echo "built $AFS"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/afs-demo.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# Shows a command as you would type it, then runs it.
run() {
	echo
	echo "\$ artifactfs $*"
	"$AFS" "$@"
}

run init

# A small tabular dataset: a few CSV files in a directory.
mkdir -p "$WORK/dataset/splits"
python3 - "$WORK/dataset" <<'PY'
import random, sys
d = sys.argv[1]
rng = random.Random(7)
with open(f"{d}/labels.csv", "w") as f:
    f.write("id,label\n")
    for i, name in enumerate(["cat", "dog", "bird", "fish"]):
        f.write(f"{i},{name}\n")
for split, n in (("train", 4000), ("test", 1000)):
    with open(f"{d}/splits/{split}.csv", "w") as f:
        f.write("id,x1,x2,x3,label\n")
        for i in range(n):
            xs = ",".join(f"{rng.gauss(0, 1):.5f}" for _ in range(3))
            f.write(f"{i},{xs},{rng.randrange(4)}\n")
PY

# A fake 8 MiB checkpoint, then a fine-tuned one with 10% of its bytes
# (one contiguous block, like one retrained layer) changed.
python3 - "$WORK" <<'PY'
import random, sys
w = sys.argv[1]
size = 8 << 20
base = bytearray(random.Random(42).randbytes(size))
open(f"{w}/model-v1.ckpt", "wb").write(base)
start, n = size // 2, size // 10
base[start:start + n] = random.Random(43).randbytes(n)
open(f"{w}/model-v2.ckpt", "wb").write(base)
PY
mkdir -p "$WORK/m1" "$WORK/m2"
mv "$WORK/model-v1.ckpt" "$WORK/m1/model.ckpt"
mv "$WORK/model-v2.ckpt" "$WORK/m2/model.ckpt"

run put dataset "$WORK/dataset"
run put model "$WORK/m1/model.ckpt"
run put model "$WORK/m2/model.ckpt"
run alias set model production "$("$AFS" ls model --json |
	python3 -c 'import json,sys; print("v%d" % json.load(sys.stdin)[-2]["version"])')"
run ls
run ls model
run ls -R dataset@latest
run cat dataset@latest/labels.csv
run stats
run fsck

echo
echo "The store is in ${ARTIFACTFS_STORE:-$HOME/.local/share/artifactfs}."
echo "Try: $AFS get model@production /tmp/model.ckpt"
