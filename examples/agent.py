#!/usr/bin/env python3
"""Step 3: a deterministic toy agent (no network).

It answers a question by retrieving rows from the dataset, calling a
"tool" (a small calculator over the model), and writing its answer.  Each
turn, retrieval and tool call is a span in the step's trace, appended with
`artifactfs trace add` (payloads stored as content, referenced by digest).
"""
import csv
import json
import os
import subprocess
import sys
import tempfile

mnt, afs = sys.argv[1], sys.argv[2]
question = "Which city will get the most rain on a 25 degree day?"


def span(kind, name, parent=None, inputs=(), outputs=(), **attrs):
    cmd = [afs, "trace", "add", "--kind", kind, "--name", name]
    if parent:
        cmd += ["--parent", parent]
    for f in inputs:
        cmd += ["--input-file", f]
    for f in outputs:
        cmd += ["--output-file", f]
    for k, v in attrs.items():
        cmd += ["--attr", f"{k}={v}"]
    return subprocess.run(cmd, check=True, capture_output=True,
                          text=True).stdout.strip()


def payload(obj):
    f = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    json.dump(obj, f)
    f.close()
    return f.name


turn = span("agent_turn", "answer-question", question=question)

# Retrieval: the cities present in the dataset.
rows = list(csv.DictReader(open(os.path.join(
    mnt, "artifacts", "weather-data", "latest", "clean.csv"), newline="")))
cities = sorted({r["city"] for r in rows})
span("retrieval", "dataset-cities", parent=turn,
     outputs=[payload(cities)], rows=len(rows))

# Tool call: predict rain at 25 degrees from the model, city by city.
model = json.load(open(os.path.join(
    mnt, "artifacts", "weather-model", "latest", "model.json")))
pred = {c: round(m["mean_rain"] + m["rain_per_degree"] *
                 (25 - m["mean_temp"]), 3)
        for c, m in model.items() if c in cities}
span("tool_call", "predict-rain", parent=turn,
     inputs=[payload({"temp_c": 25, "cities": cities})],
     outputs=[payload(pred)])

best = max(sorted(pred), key=lambda c: pred[c])
answer = f"{best}: about {pred[best]} mm of rain on a 25 degree day\n"
out_dir = os.path.join(os.environ["ARTIFACTFS_OUTPUTS"], "weather-answer")
os.makedirs(out_dir, exist_ok=True)
open(os.path.join(out_dir, "answer.txt"), "w").write(answer)
span("llm_call", "compose-answer", parent=turn,
     outputs=[os.path.join(out_dir, "answer.txt")])
print("agent:", answer.strip())
