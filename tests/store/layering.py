#!/usr/bin/env python3
"""Fails when two files of a static library call each other (a cycle).

Reads `nm` of the library: each member's defined (T/D/B/R) and undefined
(U) symbols; an edge a -> b when a uses a symbol b defines.  Reports every
cycle (a strongly connected component: two files calling each other, or
more), and exits 1 if there is any.
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


def cycles(defs, uses):
    """Every cycle among the members (strongly connected components of
    the a -> b "uses a symbol b defines" graph), each sorted."""
    owner = {sym: m for m, ds in defs.items() for sym in ds}
    edges = {m: set() for m in defs}
    for m, us in uses.items():
        for sym in us:
            o = owner.get(sym)
            if o and o != m:
                edges[m].add(o)
    out = []
    index, low, stack, on, n = {}, {}, [], set(), [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
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

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def main():
    defs, uses = members(sys.argv[1])
    cs = cycles(defs, uses)
    for c in cs:
        print("cycle among: " + " ".join(c))
    if not cs:
        print(f"no cycles among {len(defs)} files")
    return 1 if cs else 0


if __name__ == "__main__":
    sys.exit(main())
