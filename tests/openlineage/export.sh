#!/usr/bin/env bash
# `artifactfs openlineage`: runs, steps and trace spans built with the
# command line alone (no mount) come out as OpenLineage 2-0-2 RunEvents
# that ol_check.py validates: a sealed run gives START/COMPLETE pairs, a
# failed one START/FAIL, an open one START only; steps nest under their
# pipeline run, spans under their step or parent span (each with a START
# and a COMPLETE); declared inputs appear as datasets named by their
# artifact, with vN and the digest in facets.  (fidelity.sh: what a
# consumer such as Marquez relies on.)
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/../cli/lib.sh" "$@"
CHECK=$(dirname "$0")/ol_check.py
unset ARTIFACTFS_RUN ARTIFACTFS_STEP

afs init >/dev/null
printf 'a,b\n1,2\n' >"$T/data.csv"
printf 'lr: 0.1\n' >"$T/config.yaml"
afs put data "$T/data.csv" >/dev/null
afs put config "$T/config.yaml" >/dev/null

check "a sealed run: inputs, notes, a tree of spans"
afs run open ml/r1 prep fit >/dev/null
afs run input ml/r1/prep config@v1 >/dev/null
afs run input ml/r1/fit data@latest >/dev/null
afs run note ml/r1 lr 0.1
afs run note ml/r1 exit_status 0
turn=$(afs trace add --run ml/r1 --step fit --kind agent_turn --name plan \
	--start 2024-05-01T12:00:00Z --end 2024-05-01T12:00:05Z)
afs trace add --run ml/r1 --step fit --kind llm_call --name chat \
	--parent "$turn" --input-file "$T/config.yaml" >/dev/null
# A span id that is not a UUID: its runId is derived; a child nests.
afs trace add --run ml/r1 --step fit --kind tool_call --name grep \
	--id tool-1 --parent "$turn" >/dev/null
afs trace add --run ml/r1 --step fit --kind retrieval --name read \
	--parent tool-1 >/dev/null
afs trace add --run ml/r1 --step prep --kind other --name clean >/dev/null
afs run seal ml/r1 >/dev/null

check "a failed run and an open run"
afs run open ml/r2 fit >/dev/null
afs trace add --run ml/r2 --step fit --kind tool_call --name crash >/dev/null
afs run fail ml/r2 >/dev/null
afs run open ml/r3 fit >/dev/null

afs lineage export --openlineage >"$T/all.jsonl"
cat "$T/all.jsonl"
# ml/r1: 2 pipeline + 2x2 steps + 5x2 spans; ml/r2: 2 + 2 + 2; ml/r3: 1 + 1
python3 "$CHECK" "$T/all.jsonl" --count 24 \
	--runs ml=START,COMPLETE --runs ml=START,FAIL --runs ml=START \
	--runs ml.fit=START,COMPLETE --runs ml.prep=START,COMPLETE \
	--runs ml.fit=START,FAIL --runs ml.fit=START \
	--runs ml.fit.agent_turn.plan=START,COMPLETE \
	--parent ml.fit=ml --parent ml.prep=ml \
	--parent ml.fit.agent_turn.plan=ml.fit \
	--parent ml.fit.llm_call.chat=ml.fit.agent_turn.plan \
	--parent ml.fit.tool_call.grep=ml.fit.agent_turn.plan \
	--parent ml.fit.retrieval.read=ml.fit.tool_call.grep \
	--parent ml.prep.other.clean=ml.prep \
	--parent ml.fit.tool_call.crash=ml.fit \
	--input ml.fit=data --input ml.prep=config \
	--input ml.fit.llm_call.chat=ml/r1/fit/trace/config.yaml ||
	fail "ol_check"

check "START and COMPLETE of a step share a runId; spans keep UUID ids"
python3 - "$T/all.jsonl" "$turn" <<'EOF' || fail "runIds"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
fit = [e for e in ev if e["job"]["name"] == "ml.fit"
       and e["run"]["facets"]["artifactfs_run"]["run"] == "r1"]
assert [e["eventType"] for e in fit] == ["START", "COMPLETE"], fit
assert fit[0]["run"]["runId"] == fit[1]["run"]["runId"]
plan = [e for e in ev if e["job"]["name"] == "ml.fit.agent_turn.plan"]
assert [e["eventType"] for e in plan] == ["START", "COMPLETE"], plan
assert plan[0]["run"]["runId"] == plan[1]["run"]["runId"] == sys.argv[2]
# Its line says 2024, before its run was made: kept inside its step's
# times, the line's own times in its facet.
assert plan[0]["eventTime"] >= fit[0]["eventTime"], plan[0]["eventTime"]
span = plan[1]["run"]["facets"]["artifactfs_span"]
assert span["start"] == "2024-05-01T12:00:00.000Z", span
notes = fit[1]["run"]["facets"]["artifactfs_run"]["notes"]
assert notes == {"lr": "0.1", "exit_status": "0"}, notes
d = fit[1]["inputs"][0]
assert d["name"] == "data", d
assert d["facets"]["version"]["datasetVersion"] == "v1", d
digest = d["facets"]["artifactfs_version"]["digest"]
assert digest.startswith("sha256:") and len(digest) == 71, digest
ns = {e["job"]["namespace"] for e in ev}
assert len(ns) == 1 and ns.pop().startswith("artifactfs://"), ns
EOF

check "the same store exports the same events twice"
afs lineage export --openlineage | cmp - "$T/all.jsonl" || fail "export not deterministic"

check "--run limits the export; a failed run gives FAIL"
afs lineage export --openlineage --run ml/r2 >"$T/r2.jsonl"
python3 "$CHECK" "$T/r2.jsonl" --count 6 --runs ml=START,FAIL \
	--runs ml.fit=START,FAIL --parent ml.fit.tool_call.crash=ml.fit ||
	fail "ol_check --run ml/r2"
afs lineage export --openlineage --run ml/r3 >"$T/r3.jsonl"
python3 "$CHECK" "$T/r3.jsonl" --count 2 --runs ml=START \
	--runs ml.fit=START || fail "ol_check --run ml/r3"

check "errors"
expect_fail 1 afs lineage export --openlineage --run ml/nope
expect_err_has "no run ml/nope"
expect_fail 2 afs lineage export --openlineage --run nope
expect_fail 2 afs lineage export extra --openlineage

check "an empty store exports nothing"
S=$T/empty afs init >/dev/null
[ -z "$(S=$T/empty afs lineage export --openlineage)" ] || fail "empty store"

echo "ok"
