#!/usr/bin/env bash
# What a consumer of `artifactfs openlineage` (Marquez, say) relies on,
# beyond the schema: one START and one end event per run, the end of a
# failed run saying why (errorMessage), a step dated by its own journal
# records rather than its run's, job names that cannot collide, events
# ordered by eventTime, datasets named by artifact with the version in
# the version facet, versioned _schemaURLs; and everything validating
# against the OpenLineage 2-0-2 schema (spec/, from the OpenLineage
# repository) and each facet against its own (ol_check.py, with
# python3-jsonschema).
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/../cli/lib.sh" "$@"
CHECK=$(dirname "$0")/ol_check.py
unset ARTIFACTFS_RUN ARTIFACTFS_STEP

afs init >/dev/null
printf 'a,b\n1,2\n' >"$T/data.csv"
afs put data "$T/data.csv" >/dev/null
printf "a,b\n3,4\n" >"$T/data.csv"
afs put data "$T/data.csv" >/dev/null

check "datasets: the artifact, vN in the version facet, the digest beside"
afs run open ds/r1 a >/dev/null
afs run input ds/r1/a data@v1 >/dev/null
afs run step ds/r1 b >/dev/null
afs run input ds/r1/b data@v2 >/dev/null
afs run seal ds/r1 >/dev/null
afs lineage export --openlineage --run ds/r1 >"$T/ds.jsonl"
python3 "$CHECK" "$T/ds.jsonl" --input ds.a=data --input ds.b=data ||
	fail "ol_check --run ds/r1"
python3 - "$T/ds.jsonl" <<'EOF' || fail "datasets"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
seen = {}
for e in ev:
    for d in e["inputs"]:
        f = d["facets"]
        seen[f["version"]["datasetVersion"]] = (d["name"], f["artifactfs_version"])
assert set(seen) == {"v1", "v2"}, seen
assert {n for n, _ in seen.values()} == {"data"}, seen
assert seen["v1"][1]["digest"] != seen["v2"][1]["digest"], seen
EOF

check "a FAIL says why: the step's exit status when it was noted"
afs run open ml/r5 fit >/dev/null
afs run note ml/r5 exit_status.fit 3
afs run fail ml/r5 >/dev/null
afs lineage export --openlineage --run ml/r5 >"$T/r5.jsonl"
python3 "$CHECK" "$T/r5.jsonl" --count 4 --runs ml.fit=START,FAIL ||
	fail "ol_check --run ml/r5"
python3 - "$T/r5.jsonl" <<'EOF' || fail "errorMessage"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
fail = {e["job"]["name"]: e["run"]["facets"]["errorMessage"]["message"]
        for e in ev if e["eventType"] == "FAIL"}
assert fail == {"ml.fit": "step fit of run ml/r5 exited 3",
                "ml": "run ml/r5 failed"}, fail
EOF

check "a step's times are its own, from the journal"
afs run open tm/r1 first >/dev/null
sleep 1.2
afs run step tm/r1 later >/dev/null
sleep 1.2
afs run note tm/r1 exit_status.later 0
sleep 1.2
afs run seal tm/r1 >/dev/null
afs lineage export --openlineage --run tm/r1 >"$T/tm.jsonl"
python3 "$CHECK" "$T/tm.jsonl" --count 6 || fail "ol_check --run tm/r1"
python3 - "$T/tm.jsonl" <<'EOF' || fail "step times"
import json, sys
from datetime import datetime
ev = [json.loads(l) for l in open(sys.argv[1])]
t = {(e["job"]["name"], e["eventType"]):
     datetime.fromisoformat(e["eventTime"].replace("Z", "+00:00"))
     for e in ev}
run0, run1 = t[("tm", "START")], t[("tm", "COMPLETE")]
s0, s1 = t[("tm.later", "START")], t[("tm.later", "COMPLETE")]
assert (s0 - run0).total_seconds() >= 1.0, (run0, s0)
assert (run1 - s1).total_seconds() >= 1.0, (s1, run1)
assert (s1 - s0).total_seconds() >= 1.0, (s0, s1)
assert 0 <= (t[("tm.first", "START")] - run0).total_seconds() < 0.5
assert t[("tm.first", "COMPLETE")] == run1
EOF

check "job names cannot collide: pipeline dot.p step s, pipeline dot step p.s"
afs run open dot.p/r1 s >/dev/null
afs run open dot/r1 p.s >/dev/null
afs lineage export --openlineage >"$T/dots.jsonl"
python3 "$CHECK" "$T/dots.jsonl" --runs dot%2Ep.s=START \
	--runs dot.p%2Es=START --parent dot%2Ep.s=dot%2Ep \
	--parent dot.p%2Es=dot || fail "escaped job names"

echo "ok"
