#!/usr/bin/env python3
"""Checks `artifactfs openlineage` output against the OpenLineage 2-0-2
RunEvent minimum (docs: /work/shared/ANCHORS.md) and what artifactfs
promises about it, then asserts what the test asks for.

    ol_check.py EVENTS.jsonl [--count N] [--runs JOB=TYPES]...
                [--parent CHILD=PARENT]... [--input JOB=DATASET]...
                [--output JOB=DATASET]...

Every event, whatever is asked:
  - eventType is START, RUNNING, COMPLETE, ABORT, FAIL or OTHER;
  - eventTime is ISO 8601 with a 'Z' and parses;
  - producer is an absolute URI; schemaURL is the 2-0-2 RunEvent's;
  - run.runId is a UUID (canonical form), job.namespace and job.name are
    non-empty strings, inputs and outputs are lists of {namespace, name,
    facets};
  - every facet (run, job, dataset) is an object with _producer and
    _schemaURL (absolute URIs), and no facet name starts with '_';
  - a parent facet names a run and job that the output also has;
  - a runId always has the same job, starts with its START (the spec asks
    for one START and one terminal event per run), and no event of it
    comes after its COMPLETE/FAIL/ABORT; a FAIL carries errorMessage;
  - events are ordered by eventTime;
  - a dataset of an artifact has its version "vN" in the version facet
    and its digest in artifactfs_version; a trace payload's version is its
    sha256 digest;
  - every _schemaURL is at a fixed, versioned place (no branch);
  - with python3-jsonschema: every event validates against the RunEvent
    of the OpenLineage 2-0-2 schema (spec/OpenLineage.json, from the
    OpenLineage repository) and every facet against the schema its
    _schemaURL names (spec/facets/ for OpenLineage's, facets/ for ours).

Assertions (JOB is a job name, e.g. "ml.fit"):
  --count N          exactly N events
  --runs JOB=TYPES   some run of JOB has exactly these event types, in
                     order (comma-separated, e.g. ml.fit=START,COMPLETE),
                     all under one runId
  --parent C=P       every run of job C has a parent facet naming a run
                     of job P (with P's job name)
  --input J=D        some event of job J has input dataset D
  --output J=D       some event of job J has output dataset D
Exit status 0 when all holds; otherwise each problem is printed.
"""
import argparse
import json
import os
import re
import sys
import uuid
from datetime import datetime
from urllib.parse import urlparse

TYPES = {"START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"}
END_TYPES = {"COMPLETE", "FAIL", "ABORT"}
RUN_EVENT = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
HERE = os.path.dirname(os.path.abspath(__file__))

problems = []


def bad(where, what):
    problems.append(f"{where}: {what}")


def is_uri(s):
    u = urlparse(s) if isinstance(s, str) else None
    return bool(u and u.scheme and (u.netloc or u.path))


def check_facets(where, facets):
    if not isinstance(facets, dict):
        bad(where, "facets is not an object")
        return
    for name, f in facets.items():
        w = f"{where}.{name}"
        if name.startswith("_"):
            bad(w, "a facet name starts with '_'")
        if not isinstance(f, dict):
            bad(w, "facet is not an object")
            continue
        for key in ("_producer", "_schemaURL"):
            if not is_uri(f.get(key)):
                bad(w, f"{key} is missing or not a URI: {f.get(key)!r}")
        if is_uri(f.get("_schemaURL")) and not VERSIONED.match(f["_schemaURL"]):
            bad(w, f"_schemaURL {f['_schemaURL']!r} is not versioned")


def check_uuid(where, s):
    try:
        if str(uuid.UUID(s)) != s:
            bad(where, f"runId {s!r} is not in canonical form")
    except (ValueError, TypeError, AttributeError):
        bad(where, f"runId {s!r} is not a UUID")


VERSIONED = re.compile(
    r"^https://openlineage\.io/spec/(facets/)?\d+-\d+-\d+/[A-Za-z]+\.json#"
    r"|^https://github\.com/artifactfs/artifactfs/blob/\d+\.\d+\.\d+/"
    r"docs/facets/[A-Za-z]+\.json#")


def check_datasets(where, arr):
    if not isinstance(arr, list):
        bad(where, "not a list")
        return
    for i, d in enumerate(arr):
        w = f"{where}[{i}]"
        for key in ("namespace", "name"):
            if not isinstance(d.get(key), str) or not d.get(key):
                bad(w, f"{key} missing")
        check_facets(f"{w}.facets", d.get("facets", {}))
        facets = d.get("facets", {})
        v = str(facets.get("version", {}).get("datasetVersion", ""))
        if "/trace/" in d.get("name", ""):
            if not v.startswith("sha256:"):
                bad(w, "a payload's version is not its sha256 digest")
            continue
        av = facets.get("artifactfs_version", {})
        if "@" in d.get("name", ""):
            bad(w, f"dataset name {d['name']!r} carries a version")
        if not re.fullmatch(r"v[1-9][0-9]*", v) or v != f"v{av.get('version')}":
            bad(w, f"version facet {v!r} is not vN of artifactfs_version")
        if not str(av.get("digest", "")).startswith("sha256:"):
            bad(w, "artifactfs_version without a digest")


def check_event(n, e):
    w = f"event {n}"
    if e.get("eventType") not in TYPES:
        bad(w, f"eventType {e.get('eventType')!r}")
    t = e.get("eventTime")
    if not isinstance(t, str) or not t.endswith("Z"):
        bad(w, f"eventTime {t!r} does not end in Z")
    else:
        try:
            datetime.fromisoformat(t.replace("Z", "+00:00"))
        except ValueError:
            bad(w, f"eventTime {t!r} does not parse")
    if not is_uri(e.get("producer")):
        bad(w, f"producer {e.get('producer')!r} is not a URI")
    if e.get("schemaURL") != RUN_EVENT:
        bad(w, f"schemaURL {e.get('schemaURL')!r}")
    run, job = e.get("run", {}), e.get("job", {})
    check_uuid(w, run.get("runId"))
    for key in ("namespace", "name"):
        if not isinstance(job.get(key), str) or not job.get(key):
            bad(w, f"job.{key} missing")
    check_facets(f"{w} run.facets", run.get("facets", {}))
    check_facets(f"{w} job.facets", job.get("facets", {}))
    check_datasets(f"{w} inputs", e.get("inputs", []))
    check_datasets(f"{w} outputs", e.get("outputs", []))
    p = run.get("facets", {}).get("parent")
    if p is not None:
        check_uuid(f"{w} parent", p.get("run", {}).get("runId"))
        if not p.get("job", {}).get("namespace") or not p.get("job", {}).get(
            "name"
        ):
            bad(w, "parent facet without job namespace and name")


def schema_store():
    """Every schema the events may name, by $id."""
    store = {}
    for d in (os.path.join(HERE, "spec"), os.path.join(HERE, "spec", "facets"),
              os.path.join(HERE, "facets")):
        for name in sorted(os.listdir(d)):
            if name.endswith(".json"):
                with open(os.path.join(d, name)) as f:
                    doc = json.load(f)
                store[doc["$id"]] = doc
    return store


def validator(jsonschema, store, ref):
    """A Draft 2020-12 validator of {"$ref": ref}, refs resolved in store
    (referencing with jsonschema >= 4.18, RefResolver before)."""
    sub = {"$schema": "https://json-schema.org/draft/2020-12/schema",
           "$ref": ref}
    try:
        from referencing import Registry, Resource
    except ImportError:
        resolver = jsonschema.RefResolver.from_schema(sub, store=store)
        return jsonschema.Draft202012Validator(sub, resolver=resolver)
    reg = Registry().with_resources(
        (uri, Resource.from_contents(doc)) for uri, doc in store.items())
    return jsonschema.Draft202012Validator(sub, registry=reg)


def all_facets(e):
    run, job = e.get("run", {}), e.get("job", {})
    for where, facets in (("run", run.get("facets", {})),
                          ("job", job.get("facets", {}))):
        for name, f in facets.items():
            yield f"{where}.{name}", f
    for key in ("inputs", "outputs"):
        for i, d in enumerate(e.get(key, [])):
            for name, f in d.get("facets", {}).items():
                yield f"{key}[{i}].{name}", f


def check_schemas(events):
    try:
        import jsonschema
    except ImportError:
        print("(python3-jsonschema missing: events and facets not "
              "validated against their schemas)")
        return 0
    store = schema_store()
    cache = {}

    def check(where, ref, obj):
        if ref.split("#")[0] not in store:
            bad(where, f"no schema {ref} to check against")
            return
        if ref not in cache:
            cache[ref] = validator(jsonschema, store, ref)
        for err in cache[ref].iter_errors(obj):
            bad(where, f"{err.message} (at {list(err.absolute_path)})")

    n_facets = 0
    for n, e in enumerate(events, 1):
        check(f"event {n}", RUN_EVENT, e)
        for where, f in all_facets(e):
            if isinstance(f, dict) and isinstance(f.get("_schemaURL"), str):
                check(f"event {n} {where}", f["_schemaURL"], f)
                n_facets += 1
    return n_facets


def check_runs(events):
    """Per runId: one job, START first, nothing after the end."""
    runs = {}
    for n, e in enumerate(events, 1):
        rid = e.get("run", {}).get("runId")
        job = e.get("job", {}).get("name")
        r = runs.setdefault(rid, {"job": job, "types": [], "first": n})
        if r["job"] != job:
            bad(f"event {n}", f"runId {rid} has jobs {r['job']} and {job}")
        if r["types"] and r["types"][-1] in END_TYPES:
            bad(f"event {n}", f"runId {rid} has an event after its end")
        if e.get("eventType") == "START" and r["types"]:
            bad(f"event {n}", f"runId {rid}: START is not first")
        if not r["types"] and e.get("eventType") != "START":
            bad(f"event {n}", f"runId {rid} has no START before it")
        if e.get("eventType") == "FAIL" and "errorMessage" not in \
                e.get("run", {}).get("facets", {}):
            bad(f"event {n}", "a FAIL without the errorMessage facet")
        r["types"].append(e.get("eventType"))
    times = [e.get("eventTime", "") for e in events]
    for n in range(1, len(times)):
        if times[n] < times[n - 1]:
            bad(f"event {n + 1}", f"eventTime {times[n]} comes after "
                f"{times[n - 1]}: not ordered by time")
    for n, e in enumerate(events, 1):
        p = e.get("run", {}).get("facets", {}).get("parent")
        if p is None:
            continue
        pr = runs.get(p.get("run", {}).get("runId"))
        if pr is None:
            bad(f"event {n}", "parent run is not in the output")
        elif pr["job"] != p.get("job", {}).get("name"):
            bad(f"event {n}", f"parent job {p['job'].get('name')} is "
                f"not its run's ({pr['job']})")
        elif pr["first"] > n:
            bad(f"event {n}", "comes before its parent run's first event")
    return runs


def assertions(args, events, runs):
    by_job = {}
    for rid, r in runs.items():
        by_job.setdefault(r["job"], []).append((rid, r))
    if args.count is not None and len(events) != args.count:
        bad("count", f"{len(events)} events, want {args.count}")
    for spec in args.runs:
        job, types = spec.split("=", 1)
        want = types.split(",")
        got = [r["types"] for _, r in by_job.get(job, [])]
        if want not in got:
            bad(f"--runs {spec}", f"runs of {job} have {got}")
    for spec in args.parent:
        child, parent = spec.split("=", 1)
        parent_ids = {rid for rid, _ in by_job.get(parent, [])}
        kids = [e for e in events if e["job"]["name"] == child]
        if not kids:
            bad(f"--parent {spec}", f"no events of {child}")
        for e in kids:
            p = e["run"]["facets"].get("parent", {})
            if p.get("run", {}).get("runId") not in parent_ids:
                bad(f"--parent {spec}", f"{child} runId "
                    f"{e['run']['runId']} is not under a run of {parent}")
    for opt, key in (("input", "inputs"), ("output", "outputs")):
        for spec in getattr(args, opt):
            job, ds = spec.split("=", 1)
            if not any(e["job"]["name"] == job and
                       any(d["name"] == ds for d in e[key])
                       for e in events):
                bad(f"--{opt} {spec}", f"no event of {job} has {key} {ds}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("events")
    ap.add_argument("--count", type=int)
    ap.add_argument("--runs", action="append", default=[])
    ap.add_argument("--parent", action="append", default=[])
    ap.add_argument("--input", action="append", default=[])
    ap.add_argument("--output", action="append", default=[])
    args = ap.parse_args()
    events = []
    with open(args.events) as f:
        for n, line in enumerate(f, 1):
            try:
                e = json.loads(line)
            except json.JSONDecodeError as err:
                bad(f"line {n}", f"not JSON: {err}")
                continue
            if not isinstance(e, dict):
                bad(f"line {n}", "not an object")
                continue
            events.append(e)
            check_event(n, e)
    runs = check_runs(events)
    n_facets = check_schemas(events)
    if not problems:
        assertions(args, events, runs)
    for p in problems:
        print("PROBLEM:", p, file=sys.stderr)
    print(f"{len(events)} events, {len(runs)} runs, {n_facets} facets "
          f"checked against their schemas: "
          f"{'ok' if not problems else f'{len(problems)} problems'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
