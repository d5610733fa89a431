#!/usr/bin/env bash
# artifactfs lineage on a diamond built with run exec:
#
#     raw@v1 -> d/a/A -> x@v1 --+
#            -> d/b/B -> y@v1 --+-> d/c/C -> z@v1
#
# upstream and downstream walks, --depth, --json, --dot, the tree, and the
# same answers through the daemon and with the store unmounted.
source "$(dirname "$0")/../mount/lib.sh" "$@"

if "$AFS" run exec --help 2>/dev/null | grep -q -- --pipeline; then
	EXEC=(run exec)
else
	EXEC=(exec)
fi
aexec() {
	afs "${EXEC[@]}" "$@"
}

# ids [LINEAGE ARGS...]: the sorted node ids of `lineage ... --json`.
ids() {
	afs lineage "$@" --json | "$PY" -c '
import json, sys
print(" ".join(sorted(n["id"] for n in json.load(sys.stdin)["nodes"])))'
}

# expect_ids WANT LINEAGE ARGS...
expect_ids() {
	local want=$1 got
	shift
	got=$(ids "$@") || {
		defect "lineage $* --json failed"
		return 0
	}
	[ "$got" = "$want" ] || defect "lineage $*: nodes '$got', want '$want'"
}

afs init >/dev/null
echo "raw data" >"$T/raw.txt"
afs put raw "$T/raw.txt" >/dev/null
start_daemon

check "build the diamond with run exec"
A=$M/artifacts
aexec -q --pipeline d --run a --step A -- sh -c \
	'mkdir "$ARTIFACTFS_OUTPUTS/x" && cat "$0"/raw/v1/raw.txt >"$ARTIFACTFS_OUTPUTS/x/f"' \
	"$A" || fail "step A failed"
aexec -q --pipeline d --run b --step B -- sh -c \
	'mkdir "$ARTIFACTFS_OUTPUTS/y" && cat "$0"/raw/latest/raw.txt >"$ARTIFACTFS_OUTPUTS/y/f"' \
	"$A" || fail "step B failed"
aexec -q --pipeline d --run c --step C -- sh -c \
	'mkdir "$ARTIFACTFS_OUTPUTS/z" && cat "$0"/x/v1/f "$0"/y/v1/f >"$ARTIFACTFS_OUTPUTS/z/f"' \
	"$A" || fail "step C failed"
[ "$(ls "$M/pipelines/d/runs/c/steps/C/inputs" | tr '\n' ' ')" = "x@v1 y@v1 " ] ||
	fail "step C's inputs are not x@v1 y@v1"

ALL="step:d/a/A step:d/b/B step:d/c/C version:raw@v1 version:x@v1 version:y@v1 version:z@v1"

check "(3) downstream of raw@v1 reaches z@v1; upstream of z@v1 reaches raw@v1"
expect_ids "$ALL" raw@v1 --downstream
expect_ids "$ALL" z@v1 --upstream
# Both ways from x: raw -> A -> x, then x -> C -> z (not C's other input).
expect_ids "step:d/a/A step:d/c/C version:raw@v1 version:x@v1 version:z@v1" x@v1
afs lineage raw@v1 --downstream --json | "$PY" -c '
import json, sys
j = json.load(sys.stdin)
e = sorted((x["from"], x["to"], x["kind"]) for x in j["edges"])
want = sorted([
    ("version:raw@v1", "step:d/a/A", "input"),
    ("version:raw@v1", "step:d/b/B", "input"),
    ("step:d/a/A", "version:x@v1", "output"),
    ("step:d/b/B", "version:y@v1", "output"),
    ("version:x@v1", "step:d/c/C", "input"),
    ("version:y@v1", "step:d/c/C", "input"),
    ("step:d/c/C", "version:z@v1", "output"),
])
assert e == want, e
assert j["root"] == "version:raw@v1", j["root"]
' || defect "the edges downstream of raw@v1 are not the diamond"

check "the tree"
afs lineage z@v1 --upstream >"$T/up.txt" || defect "lineage z@v1 --upstream failed"
sed 's/^/   /' "$T/up.txt"
head -n1 "$T/up.txt" | grep -q '^z@v1  sha256:' || defect "the tree does not start with z@v1"
grep -qx '  <- d/c/C' "$T/up.txt" || defect "z@v1's producer is not shown as '  <- d/c/C'"
grep -q '^ *<- raw@v1' "$T/up.txt" || defect "the upstream tree does not reach raw@v1"
afs lineage raw@v1 --downstream >"$T/down.txt" || defect "lineage raw@v1 --downstream failed"
sed 's/^/   /' "$T/down.txt"
grep -q '^ *-> z@v1' "$T/down.txt" || defect "the downstream tree does not reach z@v1"
grep -q '(see above)' "$T/down.txt" || defect "C, reached twice, is not marked '(see above)'"
afs lineage raw@v1 >"$T/both.txt"
grep -qx '  <- (no recorded producer)' "$T/both.txt" ||
	defect "raw@v1 (put by hand) shows a producer"

check "--dot"
afs lineage z@v1 --upstream --dot >"$T/g.dot" || defect "lineage --dot failed"
head -n1 "$T/g.dot" | grep -q '^digraph' || defect "--dot does not start with digraph"
grep -q '"version:raw@v1" -> "step:d/a/A"' "$T/g.dot" || defect "--dot lacks raw -> A"
grep -q '"version:z@v1" \[shape=box' "$T/g.dot" || defect "versions are not boxes"
grep -q '"step:d/c/C" \[shape=ellipse' "$T/g.dot" || defect "steps are not ellipses"
if command -v dot >/dev/null; then
	dot -Tsvg "$T/g.dot" >"$T/g.svg" || defect "dot -Tsvg rejects the graph"
else
	echo "   (no graphviz: dot -Tsvg not tried)"
fi

check "(4) --depth 1 stops after one step hop"
expect_ids "step:d/a/A step:d/b/B version:raw@v1 version:x@v1 version:y@v1" \
	raw@v1 --downstream --depth 1
expect_ids "step:d/c/C version:x@v1 version:y@v1 version:z@v1" \
	z@v1 --upstream --depth 1
expect_ids "version:z@v1" z@v1 --depth 0
expect_ids "$ALL" z@v1 --upstream --depth 2

check "errors"
expect_err "lineage is about versions" afs lineage z@v1/f
expect_err "exclude each other" afs lineage z@v1 --json --dot
expect_err "--depth takes a number" afs lineage z@v1 --depth x
expect_err "does not apply" afs ls --upstream
expect_err "" afs lineage nosuch@v1

check "the same answers with the store unmounted"
afs lineage raw@v1 --json >"$T/mounted.json"
afs lineage raw@v1 >"$T/mounted.txt"
stop_daemon
afs lineage raw@v1 --json >"$T/unmounted.json" || defect "lineage unmounted failed"
afs lineage raw@v1 >"$T/unmounted.txt"
cmp -s "$T/mounted.json" "$T/unmounted.json" || defect "--json differs unmounted"
cmp -s "$T/mounted.txt" "$T/unmounted.txt" || defect "the tree differs unmounted"

finish
