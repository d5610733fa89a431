#!/usr/bin/env bash
# examples/run.sh end to end: raw CSV -> ingest -> train -> toy agent, each
# a `run exec` step; the lineage of the agent's answer reaches back to the
# raw CSV, and the agent's spans are in its trace.
source "$(dirname "$0")/../mount/lib.sh" "$@"

afs init >/dev/null
start_daemon
export ARTIFACTFS_STORE=$S
"$SRC_ROOT/examples/run.sh" "$AFS" "$M" >"$T/example.out" 2>&1 || {
	cat "$T/example.out"
	fail "examples/run.sh failed"
}
check "the answer's lineage reaches the raw CSV"
afs lineage weather-answer@latest --upstream --json | python3 -c '
import json, sys
g = json.load(sys.stdin)
ids = {n["id"] for n in g["nodes"]}
assert "version:weather-raw@v1" in ids, ids
assert any(i.startswith("step:weather/") and i.endswith("/agent") for i in ids), ids' ||
	defect "weather-answer does not lead back to weather-raw@v1"
check "the agent's spans nest under its turn"
run=$(afs ls weather-answer --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["run"])')
afs trace show "${run%/*}" --json | python3 -c '
import json, sys
steps = json.load(sys.stdin)
spans = steps[0]["spans"]
assert len(spans) == 1 and spans[0]["kind"] == "agent_turn", spans
assert {c["kind"] for c in spans[0]["children"]} == {"retrieval", "tool_call", "llm_call"}, spans' ||
	defect "the agent's trace is not one turn with three children"
stop_daemon
finish
