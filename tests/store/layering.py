#!/usr/bin/env python3
"""Fails when two files of a static library call each other (a cycle).

Reads `nm` of the library: each member's defined (T/D/B/R) and undefined
(U) symbols; an edge a -> b when a uses a symbol b defines.  Reports every
pair that calls both ways and every larger cycle (strongly connected
component), and exits 1 if there is any.
"""
import subprocess
import sys


def members(lib):
    out = subprocess.run(["nm", lib], check=True, capture_output=True,
                         text=True).stdout
    defs, uses, cur = {}, {}, None
    for line in out.splitlines():
        if line.endswith(":") and not line.startswith(" "):
            cur = line[:-1].replace(".c.o", ".c").replace(".o", ".c")
            defs[cur], uses[cur] = set(), set()
            continue
        f = line.split()
        if cur is None or len(f) < 2:
            continue
        if f[0] == "U":
            uses[cur].add(f[1])
        elif len(f) == 3 and f[1] in "TDBRCVW":
            defs[cur].add(f[2])
    return defs, uses


def main():
    defs, uses = members(sys.argv[1])
    owner = {sym: m for m, ds in defs.items() for sym in ds}
    edges = {m: {} for m in defs}
    for m, us in uses.items():
        for sym in us:
            o = owner.get(sym)
            if o and o != m:
                edges[m].setdefault(o, []).append(sym)
    bad = 0
    for a in sorted(edges):
        for b in sorted(edges[a]):
            if a < b and a in edges.get(b, {}):
                bad += 1
                print(f"cycle: {a} -> {b} ({', '.join(sorted(edges[a][b]))})"
                      f"; {b} -> {a} ({', '.join(sorted(edges[b][a]))})")
    # Tarjan for larger cycles.
    index, low, stack, on, sccs, n = {}, {}, [], set(), [], [0]

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
                sccs.append(sorted(c))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    for c in sccs:
        if len(c) > 2:
            bad += 1
            print("cycle among: " + " ".join(c))
    if not bad:
        print(f"no cycles among {len(edges)} files")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
