#!/usr/bin/env python3
"""tests/crash/writer.py - one writer of the crash test (tests/crash/crash.sh).

Works through the mount until the daemon dies under it: opens runs
(mkdir), copies files into their outputs (cp, closed but not synced; dd
conv=fsync; python os.fsync), seals most of them (echo seal > control),
moves an alias (artifactfs alias set) and runs `artifactfs run exec` steps
that read a sealed version and write outputs.

Every promise the product made is appended to the ledger (a JSON line per
event, outside the store) only after the command that made it returned 0:

  {"ev": "fsync",  "run", "path", "sha", "size", "seed"}   fsync returned 0
  {"ev": "sealed", "run"}                                  seal returned 0
  {"ev": "alias",  "artifact", "alias", "version"}         alias set returned 0

and what was attempted, before the command, so that the checker can tell a
whole seal from a half one:

  {"ev": "open", "run"}                  the run's step directory exists
  {"ev": "write", "run", "path", "sha", "size", "seed", "how"}  about to write
  {"ev": "closed", "run", "path"}        the copy returned 0 (not synced)
  {"ev": "seal-begin", "run", "files": {artifact: {relpath: sha}},
   "input": [artifact, version, relpath] or null}
  {"ev": "versions", "run", "versions": {artifact: version}}  from run.json
  {"ev": "alias-begin", "artifact", "alias", "version"}
  {"ev": "error", "t", "what", "detail"}  a command failed

A file's bytes are a header naming it and random bytes from a seed, so the
checker can rebuild what was written without keeping a copy.

Exits 0 once the mount answers ENOTCONN (or a stop file appears).
"""
import argparse
import errno
import hashlib
import json
import os
import random
import subprocess
import sys
import time


def content(seed, size):
    """The bytes of a file: a header naming the seed, then seeded noise."""
    head = ("%s\n" % seed).encode()
    body = random.Random(seed).randbytes(max(0, size - len(head)))
    return (head + body)[:size] if size >= len(head) else head[:size]


class Gone(Exception):
    """The mount is dead: the daemon was killed."""


class Writer:
    def __init__(self, a):
        self.a = a
        self.rng = random.Random(a.seed)
        self.led = open(a.ledger, "a", buffering=1)
        self.runs_dir = os.path.join(a.mount, "pipelines", a.pipeline, "runs")
        self.arts = ["w%d-%s" % (a.id, k) for k in ("model", "data", "cfg")]
        self.sealed = []   # (artifact, version, relpath, sha) of own seals
        self.reload()

    def reload(self):
        """Our versions sealed in earlier epochs (inputs for run exec)."""
        begun = {}
        try:
            with open(self.a.ledger) as f:
                lines = f.readlines()
        except OSError:
            return
        for line in lines:
            ev = json.loads(line)
            if ev["ev"] == "seal-begin":
                begun[ev["run"]] = ev["files"]
            elif ev["ev"] == "versions":
                for a, v in ev["versions"].items():
                    for r, sha in begun.get(ev["run"], {}).get(a, {}).items():
                        self.sealed.append((a, v, r, sha))

    def log(self, **ev):
        self.led.write(json.dumps(ev, sort_keys=True) + "\n")

    def alive(self):
        try:
            os.stat(os.path.join(self.a.mount, "pipelines"))
        except OSError as e:
            if e.errno in (errno.ENOTCONN, errno.ECONNABORTED, errno.ENODEV):
                return False
            # Not mounted any more (the path is now the empty directory).
            return os.path.ismount(self.a.mount)
        return os.path.ismount(self.a.mount)

    def failed(self, what, detail):
        """A command failed: the end of this writer if the mount is gone."""
        if not self.alive() or os.path.exists(self.a.stop):
            raise Gone()
        self.log(ev="error", t=time.time(), what=what, detail=str(detail)[:300])

    def sh(self, what, argv, **kw):
        try:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, timeout=60, **kw)
        except subprocess.TimeoutExpired:
            self.failed(what, "timed out")
            return False
        if p.returncode != 0:
            self.failed(what, "exit %d: %s" % (p.returncode,
                                              p.stderr.decode(errors="replace")))
            return False
        return True

    def afs(self, what, *args):
        return self.sh(what, [self.a.afs, "--config", self.a.conf, "--store",
                              self.a.store, "-q"] + list(args))

    # ------------------------------------------------------------ files

    def pick_size(self):
        r = self.rng.random()
        if r < 0.15:
            return self.rng.randint(0, 200)
        if r < 0.92:
            return self.rng.randint(200, 48 << 10)
        return self.rng.randint(200 << 10, 1 << 20)   # several chunks

    def write_file(self, run, out, art, k):
        rel = "%s/%s-%d.bin" % (art, run, k)
        path = os.path.join(out, rel)
        seed = "%s/%s" % (run, rel)
        size = self.pick_size()
        data = content(seed, size)
        sha = hashlib.sha256(data).hexdigest()
        how = self.rng.choice(["cp", "dd", "pyfsync", "cp", "dd", "pyfsync",
                               "pynosync"])
        self.log(ev="write", run=run, path=rel, sha=sha, size=size, seed=seed,
                 how=how)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
        except OSError as e:
            self.failed("mkdir " + rel, e)
            return None
        ok = False
        if how in ("cp", "dd"):
            src = os.path.join(self.a.work, "src.%d" % k)
            with open(src, "wb") as f:
                f.write(data)
            if how == "cp":
                ok = self.sh("cp " + rel, ["cp", src, path])
            else:
                ok = self.sh("dd " + rel, ["dd", "if=" + src, "of=" + path,
                                           "bs=64k", "conv=fsync",
                                           "status=none"])
            os.unlink(src)
        else:
            try:
                with open(path, "wb") as f:
                    for i in range(0, len(data), 128 << 10):
                        f.write(data[i:i + (128 << 10)])
                    f.flush()
                    if how == "pyfsync":
                        os.fsync(f.fileno())
                ok = True
            except OSError as e:
                self.failed("write " + rel, e)
        if not ok:
            return None
        if how in ("dd", "pyfsync"):
            self.log(ev="fsync", run=run, path=rel, sha=sha, size=size,
                     seed=seed)
        else:
            self.log(ev="closed", run=run, path=rel)
        return rel, sha

    # ------------------------------------------------------------- runs

    def open_run(self, run):
        out = os.path.join(self.runs_dir, run, "steps", "s", "outputs")
        try:
            os.makedirs(out, exist_ok=True)
        except OSError as e:
            self.failed("mkdir run " + run, e)
            return None
        self.log(ev="open", run=run)
        return out

    def seal(self, run, files):
        self.log(ev="seal-begin", run=run, files=files, input=None)
        control = os.path.join(self.runs_dir, run, "control")
        if not self.sh("seal " + run, ["sh", "-c", 'echo seal >"$0"', control]):
            return False
        self.log(ev="sealed", run=run)
        return True

    def versions_of(self, run):
        """{artifact: version} from the sealed run's run.json."""
        try:
            with open(os.path.join(self.runs_dir, run, "run.json")) as f:
                j = json.load(f)
        except (OSError, ValueError) as e:
            self.failed("run.json " + run, e)
            return {}
        return {o["artifact"]: o["version"]
                for s in j["steps"] for o in s["outputs"]}

    def file_run(self, run):
        out = self.open_run(run)
        if out is None:
            return
        files = {}
        for k in range(self.rng.randint(1, 4)):
            art = self.rng.choice(self.arts)
            got = self.write_file(run, out, art, k)
            if got is None:
                return
            a, _, r = got[0].partition("/")
            files.setdefault(a, {})[r] = got[1]
        if self.rng.random() < self.a.seal_p and self.seal(run, files):
            vers = self.versions_of(run)
            self.log(ev="versions", run=run, versions=vers)
            for a, fs in files.items():
                if a in vers:
                    for r, sha in fs.items():
                        self.sealed.append((a, vers[a], r, sha))
            if self.a.alias and vers:
                a = self.rng.choice(sorted(vers))
                self.alias(a, vers[a])

    def alias(self, art, ver):
        name = "prod"
        self.log(ev="alias-begin", artifact=art, alias=name, version=ver)
        if self.afs("alias set " + art, "alias", "set", art, name,
                    "v%d" % ver):
            self.log(ev="alias", artifact=art, alias=name, version=ver)

    def exec_run(self, run):
        """run exec: a step reads one of our sealed files, writes a copy
        of it and a new file; sealed by run exec when the step exits 0."""
        a, v, r, sha = self.rng.choice(self.sealed)
        seed = "%s/%s" % (run, "new")
        size = self.pick_size()
        data = content(seed, size)
        src = os.path.join(self.a.work, "exec.src")
        with open(src, "wb") as f:
            f.write(data)
        os.chmod(src, 0o644)
        out = self.arts[1]
        files = {out: {"copy-%s" % r: sha,
                       "new-%s.bin" % run: hashlib.sha256(data).hexdigest()}}
        script = ('set -e; o="$ARTIFACTFS_OUTPUTS/%s"; mkdir -p "$o"; '
                  'cat "$ARTIFACTFS_MOUNT/artifacts/%s/v%d/%s" >"$o/copy-%s"; '
                  'cp "%s" "$o/new-%s.bin"' % (out, a, v, r, r, src, run))
        self.log(ev="seal-begin", run=run, files=files, input=[a, v, r])
        if self.afs("run exec " + run, "run", "exec", "--pipeline",
                    self.a.pipeline, "--step", "s", "--run", run, "--",
                    "sh", "-c", script):
            self.log(ev="sealed", run=run)
        os.unlink(src)

    def loop(self):
        n = 0
        while not os.path.exists(self.a.stop):
            n += 1
            run = "w%d-e%d-n%d" % (self.a.id, self.a.epoch, n)
            if self.a.exec and self.sealed and self.rng.random() < 0.3:
                self.exec_run(run)
            else:
                self.file_run(run)


def main():
    p = argparse.ArgumentParser()
    for k in ("mount", "afs", "conf", "store", "ledger", "work", "stop"):
        p.add_argument("--" + k, required=True)
    p.add_argument("--id", type=int, required=True)
    p.add_argument("--epoch", type=int, required=True)
    p.add_argument("--seed", required=True)
    p.add_argument("--pipeline", default="crash")
    p.add_argument("--seal-p", type=float, default=0.7)
    p.add_argument("--alias", action="store_true")
    p.add_argument("--exec", action="store_true")
    a = p.parse_args()
    w = Writer(a)
    try:
        w.loop()
    except Gone:
        pass
    except OSError as e:
        if w.alive():
            raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
