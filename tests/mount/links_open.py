#!/usr/bin/env python3
"""links_open.py TESTDIR SHADOWDIR - handles of files of several names
(hard links) while their names change, checked against a shadow on a
local file system.

Each scenario is a list of steps made twice, once in TESTDIR (an outputs
directory of an open run on the mount) and once in SHADOWDIR; after every
step the two sides must agree: the step's result (or errno), then every
open handle's size and bytes (pread and an mmap read), then every name's
bytes through its path.  Prints the first disagreement of each scenario
with the steps so far, and exits 1 if there was one.  Scenario names are
prefixes of the files they use, so each works on files of its own.

Steps (h: a handle name, a/b: file names; an op ending in "+" is not
followed by the check of handles and names, so that the next step finds
what the kernel cached before it):
  open h a FLAGS      os.open (FLAGS: r, w, rw, plus c creat, t trunc,
                      a append)
  close h             write h OFF DATA   (OFF -1: os.write at the end)
  ftrunc h SIZE       fsync h            trunc a SIZE (truncate(2))
  put a OFF DATA      open a, pwrite, close
  link a b            unlink a           rename a b
"""
import errno
import mmap
import os
import random
import sys

FLAGS = {"r": os.O_RDONLY, "w": os.O_WRONLY, "rw": os.O_RDWR}


def oflags(spec):
    base = spec.rstrip("cta")
    f = FLAGS[base]
    f |= os.O_CREAT if "c" in spec[len(base):] else 0
    f |= os.O_TRUNC if "t" in spec[len(base):] else 0
    f |= os.O_APPEND if "a" in spec[len(base):] else 0
    return f


class Side:
    def __init__(self, root):
        self.root = root
        self.fd = {}

    def path(self, name):
        return os.path.join(self.root, name)

    def step(self, st):
        op, args = st[0].rstrip("+"), st[1:]
        if op == "open":
            self.fd[args[0]] = os.open(self.path(args[1]), oflags(args[2]),
                                       0o644)
            return "ok"
        if op == "close":
            os.close(self.fd.pop(args[0]))
            return "ok"
        if op == "write":
            fd, off, data = self.fd[args[0]], args[1], args[2].encode()
            if off < 0:
                return os.write(fd, data)
            return os.pwrite(fd, data, off)
        if op == "ftrunc":
            os.ftruncate(self.fd[args[0]], args[1])
            return "ok"
        if op == "fsync":
            os.fsync(self.fd[args[0]])
            return "ok"
        if op == "trunc":
            os.truncate(self.path(args[0]), args[1])
            return "ok"
        if op == "put":
            fd = os.open(self.path(args[0]), os.O_WRONLY | os.O_CREAT, 0o644)
            try:
                return os.pwrite(fd, args[2].encode(), args[1])
            finally:
                os.close(fd)
        if op == "link":
            os.link(self.path(args[0]), self.path(args[1]))
            return "ok"
        if op == "unlink":
            os.unlink(self.path(args[0]))
            return "ok"
        if op == "rename":
            os.rename(self.path(args[0]), self.path(args[1]))
            return "ok"
        raise ValueError(op)

    def run(self, st):
        try:
            return self.step(st)
        except OSError as e:
            return errno.errorcode.get(e.errno, str(e.errno))
        except KeyError:
            return "no such handle"  # its open failed

    def handle_view(self, h):
        """Size, bytes (pread) and mmap bytes of handle h."""
        fd = self.fd[h]
        try:
            size = os.fstat(fd).st_size
            data = os.pread(fd, 1 << 20, 0) if can_read(fd) else b""
        except OSError as e:
            return ("error", errno.errorcode.get(e.errno))
        mapped = b""
        if size and can_read(fd):
            try:
                with mmap.mmap(fd, size, mmap.MAP_SHARED,
                               mmap.PROT_READ) as mm:
                    mapped = mm[:]
            except (OSError, ValueError) as e:
                mapped = "mmap: %s" % e
        return (size, data, mapped)

    def names(self, prefix):
        out = {}
        for n in sorted(os.listdir(self.root)):
            if not n.startswith(prefix):
                continue
            with open(self.path(n), "rb") as f:
                out[n] = f.read()
        return out

    def close_all(self):
        for fd in self.fd.values():
            os.close(fd)
        self.fd.clear()


def can_read(fd):
    import fcntl
    return fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE != os.O_WRONLY


def short(v):
    s = repr(v)
    return s if len(s) < 120 else s[:120] + "..."


def differ(a, b):
    """Where two views (size, bytes, mapped) or two contents differ."""
    if isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b):
        for what, x, y in zip(("size", "pread", "mmap"), a, b):
            if x != y:
                return "%s: mount, shadow: %s" % (what, differ(x, y))
    if isinstance(a, bytes) and isinstance(b, bytes):
        i = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]),
                 min(len(a), len(b)))
        return "%d bytes vs %d, first difference at %d: %s vs %s" % (
            len(a), len(b), i, short(a[i:i + 16]), short(b[i:i + 16]))
    return "%s vs %s" % (short(a), short(b))


def compare(test, shadow, what, prefix):
    """The first difference between the two sides' views (of the names
    that start with prefix), or None."""
    for h in sorted(shadow.fd):
        a, b = test.handle_view(h), shadow.handle_view(h)
        if a != b:
            return "%s: handle %s: %s" % (what, h, differ(a, b))
    a, b = test.names(prefix), shadow.names(prefix)
    if a != b:
        for n in sorted(set(a) | set(b)):
            if a.get(n) != b.get(n):
                return "%s: name %s: mount, shadow: %s" % (
                    what, n, differ(a.get(n), b.get(n)))
    return None


def play(name, steps, test, shadow):
    done = []
    for st in steps:
        st = rename_args(st, name)
        done.append(st)
        ra, rb = test.run(st), shadow.run(st)
        bad = None
        if ra != rb:
            bad = "%s: mount %s, shadow %s" % (st, ra, rb)
        elif not st[0].endswith("+"):
            bad = compare(test, shadow, "after %s" % short(st), name + "-")
        if bad:
            print("MISMATCH in %s: %s" % (name, bad))
            for d in done[-12:]:
                print("   step", short(d))
            test.close_all()
            shadow.close_all()
            return False
    test.close_all()
    shadow.close_all()
    bad = compare(test, shadow, "after the last close", name + "-")
    if bad:
        print("MISMATCH in %s: %s" % (name, bad))
        return False
    return True


def rename_args(st, name):
    """File and handle names get the scenario's prefix."""
    op = st[0].rstrip("+")
    files = {"open": [2], "trunc": [1], "put": [1], "link": [1, 2],
             "unlink": [1], "rename": [1, 2]}.get(op, [])
    return tuple(name + "-" + x if i in files else x
                 for i, x in enumerate(st))


X = "x" * 3000
# Each scenario starts from a file "a" of 3000 bytes, written and closed.
BASE = [("put", "a", 0, X)]
SCENARIOS = {
    # The handle's name is removed; the other name is truncated, then
    # written past the end (zeros between), by path and through a new
    # handle; the old handle writes and truncates, the name must see it.
    "unlink": BASE + [
        ("open", "h", "a", "rw"), ("link", "a", "b"), ("unlink", "a"),
        ("trunc", "b", 100), ("trunc", "b", 2000), ("put", "b", 2500, "B"),
        ("write", "h", 10, "H"), ("fsync", "h"), ("ftrunc", "h", 50),
        ("open", "g", "b", "rw"), ("write", "g", 60, "G"),
        ("ftrunc", "g", 30), ("close", "g"), ("write", "h", 40, "I"),
        ("close", "h"), ("trunc", "b", 5)],
    # The same with the handle opened after the link.
    "linked-first": BASE + [
        ("link", "a", "b"), ("open", "h", "a", "r"), ("unlink", "a"),
        ("trunc", "b", 100), ("trunc", "b", 2000), ("put", "b", 0, "B"),
        ("open", "g", "b", "rwt"), ("write", "g", 0, "GG"),
        ("close", "g"), ("close", "h")],
    # The handle's name is renamed over by another file.
    "renamed-over": BASE + [
        ("open", "h", "a", "rw"), ("link", "a", "b"),
        ("put", "c", 0, "ccc"), ("rename", "c", "a"),
        ("trunc", "b", 10), ("trunc", "b", 700), ("write", "h", 800, "H"),
        ("fsync", "h"), ("put", "b", 0, "bbb"), ("ftrunc", "h", 5),
        ("close", "h"), ("trunc", "a", 1)],
    # The other name is renamed, then the handle's name removed.
    "other-renamed": BASE + [
        ("open", "h", "a", "rw"), ("link", "a", "b"),
        ("rename", "b", "c"), ("unlink", "a"), ("trunc", "c", 20),
        ("trunc", "c", 1200), ("write", "h", 1300, "H"), ("close", "h")],
    # The handle's name is renamed, then the other removed and re-made.
    "own-renamed": BASE + [
        ("open", "h", "a", "rw"), ("link", "a", "b"), ("rename", "a", "d"),
        ("trunc", "b", 30), ("trunc", "d", 900), ("unlink", "b"),
        ("link", "d", "b"), ("unlink", "d"), ("trunc", "b", 3),
        ("trunc", "b", 333), ("write", "h", 0, "H"), ("close", "h")],
    # A chain: each name linked on and removed in turn under the handle.
    "chain": BASE + [
        ("open", "h", "a", "r"), ("link", "a", "b"), ("unlink", "a"),
        ("link", "b", "c"), ("unlink", "b"), ("trunc", "c", 7),
        ("trunc", "c", 4000), ("put", "c", 3999, "C"), ("close", "h")],
    # The handle's name comes back as a new file while the handle is open.
    "name-reused": BASE + [
        ("open", "h", "a", "rw"), ("link", "a", "b"), ("unlink", "a"),
        ("put", "a", 0, "new"), ("trunc", "b", 10), ("trunc", "b", 100),
        ("trunc", "a", 1), ("write", "h", 0, "H"), ("fsync", "h"),
        ("close", "h")],
    # Two handles by two names; one name goes, the other truncates.
    "two-handles": BASE + [
        ("link", "a", "b"), ("open", "h", "a", "rw"),
        ("open", "g", "b", "rw"), ("unlink", "b"), ("trunc", "a", 10),
        ("ftrunc", "g", 1000), ("write", "h", 1500, "H"),
        ("unlink", "a"), ("ftrunc", "h", 5), ("write", "g", 6, "G"),
        ("close", "h"), ("close", "g")],
    # Both names gone: a truncate through one handle reaches what the
    # kernel cached for the other (another inode to it), before that one
    # writes past the end.
    "both-gone": BASE + [
        ("open", "h", "a", "rw"), ("link", "a", "b"),
        ("open", "g", "b", "rw"), ("rename", "b", "a"), ("unlink", "b"),
        ("unlink", "a"), ("ftrunc", "g", 2500), ("ftrunc+", "h", 1000),
        ("write", "g", 3500, "G"), ("ftrunc+", "g", 10),
        ("write", "h", 20, "H"), ("close", "g"), ("close", "h")],
    # A truncate by path, then a write through a handle of the other name.
    "path-then-handle": BASE + [
        ("open", "h", "a", "rw"), ("link", "a", "b"), ("unlink", "a"),
        ("trunc+", "b", 100), ("write", "h", 3500, "H"),
        ("put+", "b", 0, "B"), ("write", "h", 0, "h"), ("close", "h")],
    # An append through one name after the other name's handle moved the
    # end: the bytes go at the real end, and the kernel keeps none of
    # them at the end it believed.
    "append-moved": BASE + [
        ("link", "a", "b"), ("open", "g", "b", "rwa"),
        ("open", "h", "a", "rw"), ("write+", "h", 9000, "H" * 100),
        ("write", "g", -1, "G" * 9000), ("write+", "h", 30000, "h"),
        ("write", "g", -1, "g" * 5000), ("close", "g"), ("close", "h")],
    # A truncating open and an appending handle through other names.
    "trunc-open": BASE + [
        ("open", "h", "a", "r"), ("link", "a", "b"), ("unlink", "a"),
        ("open", "g", "b", "wta"), ("write", "g", -1, "G1"),
        ("trunc", "b", 100), ("write", "g", -1, "G2"), ("close", "g"),
        ("close", "h")],
}


def random_steps(seed, count):
    """count random steps over 4 names and 3 handles."""
    rng = random.Random(seed)
    names, hs = ["a", "b", "c", "d"], ["h", "g", "k"]
    steps, open_h = list(BASE), set()
    for _ in range(count):
        quiet = "+" if rng.random() < 0.3 else ""
        r = rng.random()
        x, y = rng.choice(names), rng.choice(names)
        h = rng.choice(hs)
        size = rng.choice([0, 1, 100, 3000, 5000])
        if r < 0.12 and h not in open_h:
            steps.append(("open", h, x,
                          rng.choice(["r", "rw", "rwc", "rwa", "wct"])))
            open_h.add(h)
        elif r < 0.18 and h in open_h:
            steps.append(("close", h))
            open_h.discard(h)
        elif r < 0.33 and h in open_h:
            steps.append(("write" + quiet, h, rng.randrange(6000),
                          "w%d" % r * rng.choice([1, 500])))
        elif r < 0.40 and h in open_h:
            steps.append(("ftrunc" + quiet, h, size))
        elif r < 0.44 and h in open_h:
            steps.append(("fsync", h))
        elif r < 0.56:
            steps.append(("trunc" + quiet, x, size))
        elif r < 0.66:
            steps.append(("put" + quiet, x, rng.randrange(6000), "p%d" % r))
        elif r < 0.78:
            steps.append(("link", x, y))
        elif r < 0.88:
            steps.append(("unlink", x))
        else:
            steps.append(("rename", x, y))
    return steps


def main():
    test, shadow = Side(sys.argv[1]), Side(sys.argv[2])
    seeds = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    scen = dict(SCENARIOS)
    for i in range(seeds):
        scen["random%d" % i] = random_steps(1000 + i, 150)
    bad = 0
    for name, steps in scen.items():
        if not play(name, steps, test, shadow):
            bad += 1
    print("%d scenarios, %d mismatched" % (len(scen), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
