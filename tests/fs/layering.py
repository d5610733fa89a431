#!/usr/bin/env python3
"""Checks the layering of fs/ from the symbols of its part libraries.

    layering.py [--known-cycles PART,...] PART=LIB ... (lowest first)

Fails (exit 1) when a file of a part uses a symbol that a higher part
defines (an upward call), or when two files of one part call each other
or form a larger cycle (as tests/store/layering.py).  Parts named in
--known-cycles still have their cycles printed, marked "known", without
failing: the cycles that remain to be broken, listed where the test is
registered so that they cannot grow unseen.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "store"))
import layering  # noqa: E402


def cycles(defs, uses):
    owner = {sym: m for m, ds in defs.items() for sym in ds}
    edges = {m: {} for m in defs}
    for m, us in uses.items():
        for sym in us:
            o = owner.get(sym)
            if o and o != m:
                edges[m].setdefault(o, []).append(sym)
    out = []
    index, low, stack, on, n = {}, {}, [], set(), [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            c = []
            while True:
                w = stack.pop()
                on.discard(w)
                c.append(w)
                if w == v:
                    break
            if len(c) > 1:
                out.append(sorted(c))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def main(argv):
    known = set()
    if len(argv) > 1 and argv[0] == "--known-cycles":
        known = set(argv[1].split(","))
        argv = argv[2:]
    parts = [a.split("=", 1) for a in argv]
    info = [(name, *layering.members(lib)) for name, lib in parts]
    bad = 0
    for i, (name, defs, uses) in enumerate(info):
        for higher, hdefs, _ in info[i + 1:]:
            up = {s for ds in hdefs.values() for s in ds}
            for m in sorted(uses):
                hit = sorted(uses[m] & up)
                if hit:
                    bad += 1
                    print(f"upward: {name}/{m} -> {higher} "
                          f"({', '.join(hit)})")
        cs = cycles(defs, uses)
        for c in cs:
            tag = "known cycle" if name in known else "cycle"
            print(f"{tag} in {name}: {' '.join(c)}")
            bad += name not in known
        if not cs:
            print(f"{name}: no cycles among {len(defs)} files")
    order = " <- ".join(n for n, _ in parts)
    print(("ok: " if not bad else "FAILED: ") + order)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
