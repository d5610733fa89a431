#!/usr/bin/env bash
# The example pipeline: raw CSV -> ingest -> train -> agent, each step run
# with `artifactfs run exec` on a mounted store, so that lineage is
# captured from what each step actually reads.  Then the lineage of the
# agent's answer, back to the raw CSV.
#
#     examples/run.sh ARTIFACTFS MOUNTPOINT
#
# The store must be mounted at MOUNTPOINT.
set -euo pipefail
AFS=$1
MNT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/afs-example.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

show() {
	echo
	echo "\$ $*"
	"$@"
}

# Raw data: a small weather table with a few incomplete rows.
python3 - "$WORK/raw.csv" <<'PY'
import random, sys
rng = random.Random(11)
cities = {"oslo": 6, "lima": 19, "cairo": 26, "hanoi": 24}
with open(sys.argv[1], "w") as f:
    f.write("city,temp_c,rain_mm\n")
    for i in range(400):
        c = rng.choice(sorted(cities))
        t = cities[c] + rng.gauss(0, 4)
        rain = max(0.0, (3 if c in ("hanoi", "oslo") else 0.5) * (t - cities[c] + 6) + rng.gauss(0, 2))
        miss = rng.random() < 0.03
        f.write(f" {c},{'' if miss else round(t, 2)},{round(rain, 2)}\n")
PY
show "$AFS" put weather-raw "$WORK/raw.csv"
show "$AFS" run exec --pipeline weather --step ingest -- python3 "$HERE/ingest.py" "$MNT"
show "$AFS" run exec --pipeline weather --step train -- python3 "$HERE/train.py" "$MNT"
show "$AFS" run exec --pipeline weather --step agent -- python3 "$HERE/agent.py" "$MNT" "$AFS"
show cat "$MNT/artifacts/weather-answer/latest/answer.txt"
show "$AFS" lineage weather-answer@latest --upstream
run=$("$AFS" ls weather-answer --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["run"])')
show "$AFS" trace show "${run%/*}"
