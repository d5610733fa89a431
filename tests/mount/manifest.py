"""Prints one line per entry under a directory, in name order, for the
mount tests to compare trees: 'd PATH', 'l PATH -> TARGET', or
'f PATH SIZE SHA256 x|-' (x: the owner may execute it).  Write bits are
left out on purpose: sealed content drops them."""
import hashlib
import os
import stat
import sys


def digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main(root):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                print("l %s -> %s" % (rel, os.readlink(path)))
            elif stat.S_ISDIR(st.st_mode):
                print("d %s" % rel)
            else:
                x = "x" if st.st_mode & stat.S_IXUSR else "-"
                print("f %s %d %s %s" % (rel, st.st_size, digest(path), x))


if __name__ == "__main__":
    main(sys.argv[1])
