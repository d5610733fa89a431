"""Writes files in DIR the way Python programs do: text mode open('w'),
binary writes with seeks back and forth, 'r+b' patches, 'a' appends,
a sparse file, os.pwrite with fsync.  Deterministic (seeded), so running
it on the mount and on a local directory must give the same bytes."""
import os
import random
import sys

d = sys.argv[1]
rnd = random.Random(20240501)


def rbytes(n):
    return bytes(rnd.getrandbits(8) for _ in range(n)) if n < 4096 else \
        rnd.getrandbits(8 * n).to_bytes(n, "little")


with open(os.path.join(d, "text.csv"), "w") as f:
    f.write("step,loss\n")
    for i in range(20000):
        f.write("%d,%.6f\n" % (i, 1.0 / (i + 1)))

with open(os.path.join(d, "seek.bin"), "wb") as f:
    f.write(rbytes(1 << 20))
    for _ in range(40):
        f.seek(rnd.randrange(0, 3 << 20))
        f.write(rbytes(rnd.randrange(1, 65536)))

with open(os.path.join(d, "seek.bin"), "r+b") as f:
    f.seek(1000)
    f.write(b"patched in place")
    f.seek(0, os.SEEK_END)
    f.write(b"and a tail")

with open(os.path.join(d, "text.csv"), "a") as f:
    f.write("done\n")

with open(os.path.join(d, "sparse.bin"), "wb") as f:
    f.seek(2 << 20)
    f.write(b"the end")

fd = os.open(os.path.join(d, "pwrite.bin"), os.O_CREAT | os.O_WRONLY, 0o644)
for i in range(30):
    os.pwrite(fd, rbytes(4096), rnd.randrange(0, 1 << 20))
os.fsync(fd)
os.pwrite(fd, b"after fsync", 0)
os.close(fd)
