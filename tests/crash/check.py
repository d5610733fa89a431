#!/usr/bin/env python3
"""tests/crash/check.py - after a kill and a remount, checks the writers'
ledgers (tests/crash/writer.py) against the store, through the mount and
the command line (run as root, the store's admin).

Promises checked:
  - a run whose seal returned 0 is sealed, and each of its versions holds
    exactly the files the writer put there, with their SHA-256, read
    through the mount and with `artifactfs cat`;
  - a file whose fsync returned 0, in a run still open, is complete;
  - no half-sealed run: every version's run is sealed; a sealed run has a
    version for every artifact it wrote (run.json agrees with the
    versions), each whole; an open or failed run has no version;
  - an alias whose `alias set` returned 0 points where it was last set
    (or where a later set that was in flight at the kill put it);
  - a run exec step that sealed lists the version it read as an input.
  - a file closed but never synced, in an open run, may be gone, but if it
    is there its bytes are a prefix of what was written.

With --plant OUT it writes false promises instead (crash.sh checks that
they are caught: the checker is not blind).  Runs seen before (the state file) are read back in full only with --full
or when sampled (--sample); new ones always.  Prints one JSON object:
{"versions": N, "fsync": N, "cat": N, "problems": [...]}.
"""
import argparse
import hashlib
import json
import os
import random
import subprocess
import sys

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from writer import content  # noqa: E402


class Check:
    def __init__(self, a):
        self.a = a
        self.problems = []
        self.nver = self.nfsync = self.ncat = 0
        self.runs_dir = os.path.join(a.mount, "pipelines", a.pipeline, "runs")
        try:
            with open(a.state) as f:
                self.seen = set(json.load(f))
        except (OSError, ValueError):
            self.seen = set()
        self.rng = random.Random()

    def problem(self, msg):
        self.problems.append(msg)

    def afs(self, *args, binary=False):
        p = subprocess.run([self.a.afs, "--config", self.a.conf, "--store",
                            self.a.store, "-q"] + list(args),
                           stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=120)
        if p.returncode != 0:
            self.problem("artifactfs %s: exit %d: %s" % (
                " ".join(args), p.returncode,
                p.stderr.decode(errors="replace").strip()[:200]))
            return None
        return p.stdout if binary else json.loads(p.stdout or b"null")

    def sha_of(self, path):
        h = hashlib.sha256()
        try:
            with open(path, "rb") as f:
                for b in iter(lambda: f.read(1 << 20), b""):
                    h.update(b)
        except OSError as e:
            return "unreadable (%s)" % e.strerror
        return h.hexdigest()

    # ----------------------------------------------------------- ledgers

    def load(self):
        self.begin = {}      # run -> seal-begin event (the last)
        self.sealed = set()  # runs whose seal returned 0
        self.fsync = []      # fsync events
        self.closed = []     # write events of files closed, never synced
        self.aliases = {}    # (artifact, alias) -> [(ev, version)]
        self.errors = []
        for path in self.a.ledgers:
            writes = {}
            with open(path) as f:
                for line in f:
                    try:
                        ev = json.loads(line)
                    except ValueError:
                        continue   # a writer ended mid-line: no promise
                    k = ev["ev"]
                    if k == "seal-begin":
                        self.begin[ev["run"]] = ev
                    elif k == "sealed":
                        self.sealed.add(ev["run"])
                    elif k == "fsync":
                        self.fsync.append(ev)
                    elif k == "write":
                        writes[(ev["run"], ev["path"])] = ev
                    elif k == "closed":
                        self.closed.append(writes[(ev["run"], ev["path"])])
                    elif k in ("alias", "alias-begin"):
                        self.aliases.setdefault(
                            (ev["artifact"], ev["alias"]), []).append(
                                (k, ev["version"]))
                    elif k == "error" and \
                            self.a.since <= ev["t"] < self.a.killed - 0.2:
                        self.errors.append(ev)
                        self.problem("a writer's command failed while the "
                                     "daemon was up: %s: %s"
                                     % (ev["what"], ev["detail"]))

    def wanted(self, key):
        """Read this in full now? New ones always, old ones sampled."""
        if self.a.full or key not in self.seen:
            return True
        return self.rng.random() < self.a.sample

    # ------------------------------------------------------------- store

    def scan(self):
        runs = self.afs("run", "ls", self.a.pipeline, "--json") or []
        self.status = {r["run"]: r["status"] for r in runs}
        self.versions = {}   # run -> {artifact: (version, digest)}
        arts = self.afs("ls", "--json") or []
        for art in arts:
            a = art["artifact"]
            for v in self.afs("ls", a, "--json") or []:
                pipe, _, rest = (v.get("run") or "").partition("/")
                run = rest.split("/")[0]
                if pipe != self.a.pipeline:
                    continue
                st = self.status.get(run, "missing")
                if st != "sealed":
                    self.problem("%s@v%d belongs to run %s, which is %s "
                                 "(half sealed)" % (a, v["version"], run, st))
                got = self.versions.setdefault(run, {})
                if a in got:
                    self.problem("run %s made two versions of %s: v%d, v%d"
                                 % (run, a, got[a][0], v["version"]))
                got[a] = (v["version"], v["digest"])

    def check_run_json(self, run):
        """run.json of a sealed run names the versions it made."""
        try:
            with open(os.path.join(self.runs_dir, run, "run.json")) as f:
                j = json.load(f)
        except (OSError, ValueError) as e:
            self.problem("run.json of sealed run %s: %s" % (run, e))
            return None
        outs = {o["artifact"]: (o["version"], o["digest"])
                for s in j["steps"] for o in s["outputs"]}
        if outs != self.versions.get(run, {}):
            self.problem("run %s: run.json outputs %s, versions %s"
                         % (run, outs, self.versions.get(run, {})))
        return j

    def check_version(self, run, art, files, full):
        got = self.versions.get(run, {}).get(art)
        if got is None:
            self.problem("sealed run %s has no version of %s (half sealed)"
                         % (run, art))
            return
        ver = got[0]
        if not full:
            return
        root = os.path.join(self.a.mount, "artifacts", art, "v%d" % ver)
        have = set()
        for d, _, fs in os.walk(root, onerror=lambda e: self.problem(
                "listing %s@v%d: %s" % (art, ver, e))):
            have.update(os.path.relpath(os.path.join(d, f), root) for f in fs)
        if have != set(files):
            self.problem("%s@v%d (run %s) holds %s, want %s" % (
                art, ver, run, sorted(have), sorted(files)))
        self.nver += 1
        for rel, sha in files.items():
            got_sha = self.sha_of(os.path.join(root, rel))
            if got_sha != sha:
                self.problem("%s@v%d/%s (mount): %s, want %s"
                             % (art, ver, rel, got_sha, sha))
            if run not in self.seen or self.rng.random() < self.a.cat_sample:
                self.ncat += 1
                out = self.afs("cat", "%s@v%d/%s" % (art, ver, rel),
                               binary=True)
                if out is not None and hashlib.sha256(out).hexdigest() != sha:
                    self.problem("%s@v%d/%s (artifactfs cat): wrong digest"
                                 % (art, ver, rel))

    def check_seals(self):
        for run, ev in sorted(self.begin.items()):
            st = self.status.get(run, "missing")
            if run in self.sealed and st != "sealed":
                self.problem("seal of %s returned 0, the run is %s"
                             % (run, st))
            if st != "sealed":
                continue
            full = self.wanted(run)
            j = self.check_run_json(run) if full else None
            extra = set(self.versions.get(run, {})) - set(ev["files"])
            if extra:
                self.problem("sealed run %s made versions of %s it never "
                             "wrote" % (run, sorted(extra)))
            for art, files in sorted(ev["files"].items()):
                self.check_version(run, art, files, full)
            if ev.get("input") and j is not None:
                a, v, _ = ev["input"]
                ins = [(i["artifact"], i["version"])
                       for s in j["steps"] for i in s["inputs"]]
                if (a, v) not in ins:
                    self.problem("run exec %s read %s@v%d, inputs are %s"
                                 % (run, a, v, ins))
            self.seen.add(run)
        # Sealed runs the ledgers know nothing about (none expected).
        for run, st in self.status.items():
            if st == "sealed" and run not in self.begin:
                self.problem("run %s is sealed but no writer sealed it" % run)

    def check_fsync(self):
        for ev in self.fsync:
            run, rel = ev["run"], ev["path"]
            st = self.status.get(run, "missing")
            if st == "missing":
                self.problem("fsync'd %s/%s: the run is gone" % (run, rel))
                continue
            if st != "open":
                continue   # sealed: checked as a version; failed: none
            path = os.path.join(self.runs_dir, run, "steps", "s", "outputs",
                                rel)
            key = "fsync:%s/%s" % (run, rel)
            if not os.path.lexists(path):
                self.problem("fsync'd %s/%s is missing" % (run, rel))
            elif self.wanted(key):
                self.nfsync += 1
                got = self.sha_of(path)
                if got != ev["sha"]:
                    self.problem("fsync'd %s/%s: %s (%d bytes), want %s "
                                 "(%d bytes)" % (run, rel, got,
                                                 os.path.getsize(path),
                                                 ev["sha"], ev["size"]))
            self.seen.add(key)

    def check_closed(self):
        for ev in self.closed:
            run, rel = ev["run"], ev["path"]
            key = "closed:%s/%s" % (run, rel)
            if self.status.get(run) != "open" or key in self.seen:
                continue
            self.seen.add(key)
            path = os.path.join(self.runs_dir, run, "steps", "s", "outputs",
                                rel)
            try:
                with open(path, "rb") as f:
                    got = f.read()
            except FileNotFoundError:
                continue
            except OSError as e:
                self.problem("closed %s/%s unreadable: %s" % (run, rel, e))
                continue
            want = content(ev["seed"], ev["size"])
            if got != want[:len(got)]:
                self.problem("closed %s/%s: %d bytes that are not what was "
                             "written" % (run, rel, len(got)))

    def check_aliases(self):
        for (art, name), evs in sorted(self.aliases.items()):
            ok, last = set(), None
            for k, v in evs:
                if k == "alias":
                    last, ok = v, {v}
                else:
                    ok.add(v)
            if last is None:
                ok.add(None)
            cur = None
            for a in self.afs("alias", "ls", art, "--json") or []:
                if a["alias"] == name:
                    cur = a["version"]
            if cur not in ok:
                self.problem("alias %s@%s is v%s, want one of %s (last set "
                             "that returned 0: v%s)" % (art, name, cur,
                                                       sorted(ok, key=str),
                                                       last))
            link = os.path.join(self.a.mount, "artifacts", art, name)
            got = os.readlink(link) if os.path.islink(link) else None
            if got != (None if cur is None else "v%d" % cur):
                self.problem("artifacts/%s/%s -> %s, alias ls says v%s"
                             % (art, name, got, cur))

    def run(self):
        self.load()
        self.scan()
        self.check_seals()
        self.check_fsync()
        self.check_closed()
        self.check_aliases()
        with open(self.a.state + ".new", "w") as f:
            json.dump(sorted(self.seen), f)
        os.replace(self.a.state + ".new", self.a.state)
        print(json.dumps({"versions": self.nver, "fsync": self.nfsync,
                          "cat": self.ncat, "errors": len(self.errors),
                          "problems": self.problems}))


def plant(ledgers, out):
    """Writes a ledger of false promises the checker must catch: a sealed
    file with a wrong digest, an fsync'd file with a wrong digest, a seal
    of a run that never was.  Prints how many were planted."""
    evs = []
    for path in ledgers:
        with open(path) as f:
            for line in f:
                try:
                    evs.append(json.loads(line))
                except ValueError:
                    pass
    sealed = {e["run"] for e in evs if e["ev"] == "sealed"}
    bad = "0" * 64
    fake = []
    for e in reversed(evs):
        if e["ev"] == "seal-begin" and e["run"] in sealed and \
                not e.get("input"):
            art = sorted(e["files"])[0]
            rel = sorted(e["files"][art])[0]
            e["files"][art][rel] = bad
            fake.append(e)
            break
    # A run whose seal began may be sealed in the store though its writer
    # was killed before the ledger said so: then the checker rightly reads
    # it as a version, not as an open run.  Plant in a run never sealing.
    sealing = {e["run"] for e in evs if e["ev"] == "seal-begin"}
    for e in reversed(evs):
        if e["ev"] == "fsync" and e["run"] not in sealing:
            fake.append(dict(e, sha=bad))
            break
    fake.append({"ev": "seal-begin", "run": "w9-never", "files": {},
                 "input": None})
    fake.append({"ev": "sealed", "run": "w9-never"})
    with open(out, "w") as f:
        for e in fake:
            f.write(json.dumps(e) + "\n")
    print(len(fake) - 1)


def main():
    p = argparse.ArgumentParser()
    for k in ("mount", "afs", "conf", "store", "state"):
        p.add_argument("--" + k, required=True)
    p.add_argument("--pipeline", default="crash")
    p.add_argument("--since", type=float, default=0,
                   help="the writers' start (epoch seconds)")
    p.add_argument("--killed", type=float, default=0,
                   help="when the daemon was killed (epoch seconds)")
    p.add_argument("--full", action="store_true")
    p.add_argument("--sample", type=float, default=1.0)
    p.add_argument("--cat-sample", type=float, default=0.1)
    p.add_argument("--plant", metavar="OUT",
                   help="write a ledger of false promises to OUT; no check")
    p.add_argument("ledgers", nargs="+")
    a = p.parse_args()
    if a.plant:
        plant(a.ledgers, a.plant)
    else:
        Check(a).run()


if __name__ == "__main__":
    main()
