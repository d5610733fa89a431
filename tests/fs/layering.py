#!/usr/bin/env python3
"""Checks the layering of fs/ from the symbols of its part libraries.

    layering.py PART=LIB ... (lowest first)

Fails (exit 1) when a file of a part uses a symbol that a higher part
defines (an upward call), or when two files of one part call each other
or form a larger cycle (tests/store/layering.py finds them).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "store"))
import layering  # noqa: E402


def main(argv):
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
        cs = layering.cycles(defs, uses)
        for c in cs:
            print(f"cycle in {name}: {' '.join(c)}")
            bad += 1
        if not cs:
            print(f"{name}: no cycles among {len(defs)} files")
    order = " <- ".join(n for n, _ in parts)
    print(("ok: " if not bad else "FAILED: ") + order)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
