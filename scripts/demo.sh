#!/usr/bin/env bash
# A five-minute tour of artifactfs on the default store
# (~/.local/share/artifactfs, or $ARTIFACTFS_STORE if set): builds a
# Release binary, stores a small dataset and two versions of a fake 8 MiB
# model checkpoint and shows how little the second version costs; then
# mounts the store, runs a two-step pipeline with nothing but files and
# directories, seals it, and reads the new versions back.
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
MNT=$WORK/mnt
DAEMON=
cleanup() {
	if mountpoint -q "$MNT" 2>/dev/null; then
		fusermount3 -u "$MNT" || true
	fi
	if [ -n "$DAEMON" ]; then
		wait "$DAEMON" 2>/dev/null || true
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

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

# ---------------------------------------------------------------- the mount
# Shows a shell command, then runs it.
sh_run() {
	echo
	echo "\$ $*"
	bash -c "$*"
}

mkdir -p "$MNT"
echo
echo "\$ artifactfs mount $MNT -f &"
"$AFS" mount "$MNT" -f &
DAEMON=$!
for _ in $(seq 50); do
	mountpoint -q "$MNT" && break
	sleep 0.1
done
mountpoint -q "$MNT" || { echo "the mount did not come up" >&2; exit 1; }

RUN=r$(date +%Y%m%d%H%M%S)
P=$MNT/pipelines/demo/runs/$RUN
export P MNT
# Step 1 (prepare) reads the dataset version through the mount and writes
# features; step 2 (train) reads them and writes a tiny model.
sh_run "mkdir -p \$P/steps/prepare/outputs/features \$P/steps/train/outputs/tiny-model"
sh_run "python3 - <<'PY'
import csv, os
src = os.environ['MNT'] + '/artifacts/dataset/latest/splits/train.csv'
dst = os.environ['P'] + '/steps/prepare/outputs/features/train.csv'
with open(src) as f, open(dst, 'w') as out:
    w = csv.writer(out)
    for row in csv.DictReader(f):
        x = [float(row[k]) for k in ('x1', 'x2', 'x3')]
        w.writerow([row['id'], sum(x), row['label']])
PY"
sh_run "python3 - <<'PY'
import csv, json, os
src = os.environ['P'] + '/steps/prepare/outputs/features/train.csv'
sums = {}
for _, s, label in csv.reader(open(src)):
    t = sums.setdefault(label, [0.0, 0])
    t[0] += float(s); t[1] += 1
model = {k: v[0] / v[1] for k, v in sorted(sums.items())}
json.dump(model, open(os.environ['P'] + '/steps/train/outputs/tiny-model/model.json', 'w'), indent=1)
PY"
sh_run "cat \$P/run.json"
sh_run "echo seal > \$P/control"
sh_run "cd \$MNT && find pipelines/demo/runs/$RUN"
sh_run "ls -l \$MNT/artifacts/tiny-model"
sh_run "cat \$MNT/artifacts/tiny-model/latest/model.json"
sh_run "getfattr -d \$MNT/artifacts/tiny-model/latest/model.json 2>/dev/null || true"
sh_run "echo tamper >> \$MNT/artifacts/tiny-model/latest/model.json || true"
# While mounted, the command line goes through the daemon.
run ls features
run cat tiny-model@latest/model.json

# Lineage captured from what each step reads: raw CSV -> ingest -> train
# -> a toy agent whose spans go to its trace; then the answer's lineage.
echo
echo "# examples/run.sh: three steps with 'artifactfs run exec'"
"$ROOT/examples/run.sh" "$AFS" "$MNT"
run lineage weather-answer@latest --upstream --dot
run stats
# Every change and every file handle above is in the audit journal.
run audit query --op run.seal
run audit verify

# Roles: whoever made the store is its admin; a binding gives a user or a
# group a role on a path, enforced on every operation and shown as a POSIX
# ACL (ls -l agrees).
if id nobody >/dev/null 2>&1; then
	run role grant reader nobody --scope /artifacts/tiny-model
	run role ls
	sh_run "getfacl -p \$MNT/artifacts/tiny-model 2>/dev/null; ls -ld \$MNT/artifacts/tiny-model"
	run role revoke reader nobody --scope /artifacts/tiny-model
fi

echo
echo "\$ fusermount3 -u $MNT"
fusermount3 -u "$MNT"
wait "$DAEMON" || true
DAEMON=
echo
echo "The store is in ${ARTIFACTFS_STORE:-$HOME/.local/share/artifactfs}."
echo "Mount it yourself with: $AFS mount /some/dir"
