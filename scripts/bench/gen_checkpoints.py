#!/usr/bin/env python3
"""Deterministic benchmark data for scripts/bench/ingest.sh (stdlib only).

Subcommands
  ckpt     a series of safetensors-like checkpoints (ckpt_0.safetensors ...)
  dataset  a dataset of small text/CSV/JSONL files (ds_v1/) and a second
           version with a few percent of the files changed (ds_v2/)
  big      one large safetensors-like file, written streaming
  verify   check what ckpt/dataset wrote (sizes, headers, sharing, zstd)

Checkpoint layout (as safetensors): 8-byte little-endian header length N,
N bytes of JSON {"__metadata__": {...}, "<tensor>": {"dtype": "BF16",
"shape": [...], "data_offsets": [begin, end]}, ...}, then the tensor data;
data_offsets are relative to the first byte after the header.  The header
is not padded, so when the metadata ("step", "loss") changes length, all
tensor data shifts by a few bytes, as it does in real checkpoint series.

Tensor data is bf16-like: the upper 16 bits of float32 samples of N(0, 0.02).
Rather than sampling floats one by one (too slow in pure Python), each
value's sign and exponent are drawn from their exact distribution (a
256-entry quantile table computed from the normal CDF, applied with
bytes.translate) and its 7 mantissa bits are uniform.  zstd -3 compresses
this 1.28x, the same as truly truncated normal floats (the std comes out
~0.022 as the far tails are cut at 1/256 probability).  Random bytes come from SHAKE-128 keyed by
(seed, tensor, version, piece), so every file is reproducible.

Between checkpoint i-1 and i, about 10% of the tensors (count and bytes)
get new values; the others are byte-identical (copied from the previous
file), so consecutive checkpoints share ~90% of their tensor bytes.
"""

import argparse
import hashlib
import json
import math
import multiprocessing
import os
import random
import shutil
import struct
import subprocess
import sys
import time

PIECE = 4 << 20          # generation unit (bytes), even
STD = 0.02


# --------------------------------------------------------------------------
# bf16-like bytes

def _tables():
    """Tables mapping a uniform byte to a (sign, exponent) symbol of a bf16
    N(0, STD) value, drawn with its exact probability (256 quantiles).

    HI[u] is the high byte (sign and the upper 7 exponent bits), E0[u] the
    last exponent bit placed as the top bit of the low byte."""
    def p_abs_below(x):
        return math.erf(x / (STD * math.sqrt(2.0)))
    probs = {}
    for e in range(1, 255):                       # biased 8-bit exponent
        p = (p_abs_below(2.0 ** (e + 1 - 127)) -
             p_abs_below(2.0 ** (e - 127))) / 2.0  # per sign
        if p > 1e-12:
            probs[e] = p
            probs[e | 0x100] = p                  # negative
    slots = {k: int(p * 256) for k, p in probs.items()}
    rest = 256 - sum(slots.values())
    by_remainder = sorted(probs, key=lambda k: -(probs[k] * 256 - slots[k]))
    for k in by_remainder[:rest]:
        slots[k] += 1
    hi, e0 = bytearray(), bytearray()
    for k in sorted(slots):
        sign, e = k >> 8, k & 0xFF
        hi += bytes([(sign << 7) | (e >> 1)]) * slots[k]
        e0 += bytes([(e & 1) << 7]) * slots[k]
    assert len(hi) == 256
    return bytes(hi), bytes(e0)


HI_TABLE, E0_TABLE = _tables()
_MASK7F = {}


def bf16_piece(job):
    """job = (key, nbytes): nbytes of bf16-like data determined by key."""
    key, n = job
    m = n // 2
    raw = hashlib.shake_128(key.encode()).digest(n)
    a, b = raw[1::2], raw[0::2]       # a picks sign+exponent, b the mantissa
    mask = _MASK7F.get(m)
    if mask is None:
        mask = _MASK7F[m] = int.from_bytes(b"\x7f" * m, "little")
    lo = (int.from_bytes(b, "little") & mask) | \
        int.from_bytes(a.translate(E0_TABLE), "little")
    out = bytearray(n)
    out[1::2] = a.translate(HI_TABLE)  # little endian: high byte second
    out[0::2] = lo.to_bytes(m, "little")
    return bytes(out)


def piece_jobs(path, file_off, seed, tensor, version, nbytes):
    """Jobs writing tensor data (seed, tensor, version) at file_off of path."""
    jobs = []
    off = 0
    idx = 0
    while off < nbytes:
        n = min(PIECE, nbytes - off)
        jobs.append((path, file_off + off,
                     "%s:%s:%d:%d" % (seed, tensor, version, idx), n))
        off += n
        idx += 1
    return jobs


_FD = [None, -1]        # this process's output file: path, fd


def write_piece(job):
    """job = (path, file_offset, key, nbytes): generate and pwrite a piece."""
    path, off, key, n = job
    if _FD[0] != path:
        close_fd()
        _FD[:] = [path, os.open(path, os.O_WRONLY)]
    fd = _FD[1]
    buf = bf16_piece((key, n))
    done = 0
    while done < n:
        done += os.pwrite(fd, buf[done:], off + done)
    return n


def close_fd():
    if _FD[0] is not None:
        os.close(_FD[1])
        _FD[:] = [None, -1]


class Generator:
    """Runs write_piece jobs on a process pool; the workers write straight
    into the (pre-sized) output file, so nothing big crosses processes and
    memory stays at a few pieces per worker."""

    def __init__(self, jobs):
        self.jobs = max(1, jobs)
        self.pool = multiprocessing.Pool(self.jobs) if self.jobs > 1 else None

    def run(self, joblist):
        if self.pool:
            for _ in self.pool.imap_unordered(write_piece, joblist):
                pass
        else:
            for j in joblist:
                write_piece(j)
            close_fd()

    def close(self):
        if self.pool:
            self.pool.close()
            self.pool.join()


# --------------------------------------------------------------------------
# model layout

def model_layout(size_bytes, layers=None):
    """List of (name, shape) whose bf16 data totals about size_bytes."""
    params = size_bytes // 2
    if layers is None:
        layers = 24 if size_bytes >= (64 << 20) else 12
    # ~80% of the parameters in the layers, the rest in embed + lm_head
    d = int(math.sqrt(0.8 * params / (12.0 * layers)))
    d = max(64, (d + 32) // 64 * 64)
    f = max(64, int(round(8.0 / 3.0 * d / 64.0)) * 64)
    per_layer = 4 * d * d + 3 * d * f + 2 * d
    while d > 64 and layers * per_layer + d >= params:
        d -= 64
        f = max(64, int(round(8.0 / 3.0 * d / 64.0)) * 64)
        per_layer = 4 * d * d + 3 * d * f + 2 * d
    vocab = max(1, (params - layers * per_layer - d) // (2 * d))
    out = [("model.embed_tokens.weight", [vocab, d])]
    for i in range(layers):
        p = "model.layers.%d." % i
        out += [
            (p + "input_layernorm.weight", [d]),
            (p + "self_attn.q_proj.weight", [d, d]),
            (p + "self_attn.k_proj.weight", [d, d]),
            (p + "self_attn.v_proj.weight", [d, d]),
            (p + "self_attn.o_proj.weight", [d, d]),
            (p + "post_attention_layernorm.weight", [d]),
            (p + "mlp.gate_proj.weight", [f, d]),
            (p + "mlp.up_proj.weight", [f, d]),
            (p + "mlp.down_proj.weight", [d, f]),
        ]
    out += [("model.norm.weight", [d]), ("lm_head.weight", [vocab, d])]
    return out


def nbytes_of(shape):
    n = 2
    for s in shape:
        n *= s
    return n


def build_header(layout, metadata):
    hdr = {"__metadata__": metadata}
    off = 0
    for name, shape in layout:
        n = nbytes_of(shape)
        hdr[name] = {"dtype": "BF16", "shape": shape,
                     "data_offsets": [off, off + n]}
        off += n
    blob = json.dumps(hdr, separators=(",", ":")).encode()
    return struct.pack("<Q", len(blob)) + blob, off


def copy_range(src, src_off, dst, dst_off, n):
    """Copy n bytes from src (fd) at src_off to dst (fd) at dst_off."""
    done = 0
    if hasattr(os, "copy_file_range"):
        try:
            while done < n:
                r = os.copy_file_range(src, dst, n - done, src_off + done,
                                       dst_off + done)
                if r <= 0:
                    break
                done += r
        except OSError:
            pass
    while done < n:
        buf = os.pread(src, min(PIECE, n - done), src_off + done)
        if not buf:
            raise IOError("short read while copying")
        done += os.pwrite(dst, buf, dst_off + done)


def step_of(i):
    # 1000, 2500, 6250, ... : the decimal length of "step" grows, and the
    # "loss" string changes length too, so the header size varies by a few
    # bytes from one checkpoint to the next.
    return int(1000 * 2.5 ** i)


def cmd_ckpt(a):
    os.makedirs(a.out, exist_ok=True)
    size = a.size_mb << 20
    layout = model_layout(size)
    names = [n for n, _ in layout]
    sizes = [nbytes_of(s) for _, s in layout]
    total = sum(sizes)
    version = [0] * len(layout)
    gen = Generator(a.jobs)
    manifest = {"seed": a.seed, "files": []}
    prev_path = prev_hdr_len = None
    t0 = time.time()
    for i in range(a.count):
        changed = []
        if i > 0:
            changed = pick_changed(random.Random("%s:pick:%d" % (a.seed, i)),
                                   sizes, a.change_frac)
            for t in changed:
                version[t] = i
        meta = {"format": "pt", "framework": "bench",
                "step": str(step_of(i)),
                "loss": ("%.*g" % (4 + i % 4, 2.5 / (1.0 + i) ** 0.37)),
                "run": "artifactfs-bench-%s" % a.seed}
        header, data_len = build_header(layout, meta)
        assert data_len == total
        path = os.path.join(a.out, "ckpt_%d.safetensors" % i)
        tmp = path + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        src = os.open(prev_path, os.O_RDONLY) if prev_path else None
        try:
            os.ftruncate(fd, len(header) + total)
            os.pwrite(fd, header, 0)
            # unchanged tensors are copied from the previous checkpoint,
            # new ones generated by the pool
            off = 0
            jobs = []
            for t, n in enumerate(sizes):
                if src is not None and version[t] != i:
                    copy_range(src, prev_hdr_len + off, fd, len(header) + off, n)
                else:
                    jobs += piece_jobs(tmp, len(header) + off, a.seed,
                                       names[t], version[t], n)
                off += n
            gen.run(jobs)
        finally:
            os.close(fd)
            if src is not None:
                os.close(src)
        os.replace(tmp, path)
        changed_bytes = sum(sizes[t] for t in changed)
        manifest["files"].append({
            "path": os.path.basename(path), "size": len(header) + total,
            "header_len": len(header), "changed_tensors": len(changed),
            "changed_bytes": changed_bytes})
        print("  %s: %d bytes, header %d B, %d tensors, %d changed (%.1f%% of "
              "tensor bytes)" % (os.path.basename(path), len(header) + total,
                                 len(header), len(layout), len(changed),
                                 100.0 * changed_bytes / total), flush=True)
        prev_path, prev_hdr_len = path, len(header)
    gen.close()
    with open(os.path.join(a.out, "ckpt_manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print("  generated %d checkpoints in %.1fs" % (a.count, time.time() - t0))


def pick_changed(rng, sizes, frac):
    """About frac of the tensors, holding about frac of the bytes."""
    total = float(sum(sizes))
    k = max(1, int(round(frac * len(sizes))))
    best = None
    for _ in range(2000):
        cand = rng.sample(range(len(sizes)), k)
        f = sum(sizes[t] for t in cand) / total
        err = abs(f - frac)
        if best is None or err < best[0]:
            best = (err, cand)
        if err < 0.15 * frac:
            break
    return sorted(best[1])


def cmd_big(a):
    size = a.size_mb << 20
    layout = model_layout(size)
    meta = {"format": "pt", "framework": "bench", "step": "1",
            "run": "artifactfs-bench-big-%s" % a.seed}
    header, total = build_header(layout, meta)
    gen = Generator(a.jobs)
    t0 = time.time()
    tmp = a.out + ".tmp"
    with open(tmp, "wb") as f:
        f.truncate(len(header) + total)
        f.write(header)
    jobs = []
    off = len(header)
    for name, shape in layout:
        jobs += piece_jobs(tmp, off, a.seed, name, 0, nbytes_of(shape))
        off += nbytes_of(shape)
    gen.run(jobs)
    gen.close()
    os.replace(tmp, a.out)
    dt = time.time() - t0
    print("  %s: %d bytes, %d tensors, generated in %.1fs (%.0f MB/s)" % (
        a.out, len(header) + total, len(layout), dt,
        (len(header) + total) / 1e6 / max(dt, 1e-9)))


# --------------------------------------------------------------------------
# dataset

SYL = ["ka", "to", "ri", "mu", "sen", "da", "lo", "pre", "vin", "ax", "or",
       "tel", "qu", "is", "ban", "ne", "cor", "gi", "fa", "lum", "ost", "ze"]


def vocab(rng, n, lo=2, hi=4):
    out = set()
    while len(out) < n:
        out.add("".join(rng.choice(SYL) for _ in range(rng.randint(lo, hi))))
    return sorted(out)


class DatasetGen:
    def __init__(self, seed):
        rng = random.Random("%s:vocab" % seed)
        self.words = vocab(rng, 800)
        self.sensors = ["sensor-" + w for w in vocab(rng, 200, 1, 3)]
        self.regions = ["eu-west", "eu-central", "us-east", "us-west",
                        "ap-south", "ap-northeast", "sa-east", "af-south",
                        "me-central", "ca-central", "eu-north", "us-gov"]
        self.status = ["ok", "ok", "ok", "ok", "warn", "error", "retry"]
        self.events = ["click", "view", "purchase", "login", "logout",
                       "search", "share", "add_to_cart"]
        self.seed = seed

    def note(self, rng):
        return " ".join(rng.choices(self.words, k=rng.randint(2, 7)))

    def csv_row(self, rng, i, ts):
        return "%d,%d,%s,%s,%.3f,%s,%s\n" % (
            i, ts, rng.choice(self.sensors), rng.choice(self.regions),
            rng.gauss(20.0, 5.0), rng.choice(self.status), self.note(rng))

    def jsonl_row(self, rng, i, ts):
        return ('{"id":%d,"ts":%d,"user":"u%05d","event":"%s","region":"%s",'
                '"tags":["%s","%s"]}\n' % (
                    i, ts, rng.randint(0, 5000), rng.choice(self.events),
                    rng.choice(self.regions), rng.choice(self.words),
                    rng.choice(self.words)))

    def text_row(self, rng, i, ts):
        s = self.note(rng) + " " + self.note(rng)
        return s[0].upper() + s[1:] + ".\n"

    def rows(self, kind):
        return {"csv": self.csv_row, "jsonl": self.jsonl_row,
                "txt": self.text_row}[kind]

    def content(self, rng, kind, size, start_id=0):
        parts = []
        n = 0
        if kind == "csv":
            h = "id,timestamp,sensor,region,value,status,note\n"
            parts.append(h)
            n += len(h)
        row = self.rows(kind)
        ts = 1700000000 + rng.randint(0, 10 ** 7)
        i = start_id
        while n < size:
            r = row(rng, i, ts)
            parts.append(r)
            n += len(r)
            i += 1
            ts += rng.randint(1, 90)
        data = "".join(parts).encode()[:size]
        return data[:-1] + b"\n"


def ds_path(idx, ext):
    split = ("train", "train", "train", "train", "train", "train", "train",
             "train", "val", "test")[idx % 10]
    month = "2024-%02d" % (1 + (idx // 10) % 12)
    shard = "shard-%03d" % ((idx // 120) % 24)
    return os.path.join(split, month, shard, "part-%05d.%s" % (idx, ext))


def cmd_dataset(a):
    t0 = time.time()
    g = DatasetGen(a.seed)
    v1 = os.path.join(a.out, "ds_v1")
    v2 = os.path.join(a.out, "ds_v2")
    for d in (v1, v2):
        if os.path.exists(d):
            shutil.rmtree(d)
    rng = random.Random("%s:ds" % a.seed)
    lmin, lmax = math.log(a.min_size), math.log(a.max_size)
    files = []          # (relpath, kind)
    contents = {}
    dup_src = []
    total = 0
    for idx in range(a.files):
        r = rng.random()
        kind = "csv" if r < 0.7 else ("jsonl" if r < 0.9 else "txt")
        rel = ds_path(idx, kind)
        size = int(math.exp(rng.uniform(lmin, lmax)))
        frng = random.Random("%s:f:%d" % (a.seed, idx))
        if dup_src and rng.random() < 0.01:
            # a few exact duplicates under other names
            src = rng.choice(dup_src)
            data = contents[src]
            rel = rel.rsplit(".", 1)[0] + "." + src.rsplit(".", 1)[1]
        else:
            data = g.content(frng, kind, size)
            if len(dup_src) < 500:
                dup_src.append(rel)
        files.append(rel)
        contents[rel] = data
        total += len(data)
        write_file(os.path.join(v1, rel), data)
    # version 2: a.change_pct % of the files changed
    k = int(round(a.files * a.change_pct / 100.0))
    changed = set(rng.sample(range(a.files), k))
    total2 = 0
    for idx, rel in enumerate(files):
        data = contents[rel]
        if idx in changed:
            data = mutate(g, random.Random("%s:m:%d" % (a.seed, idx)), rel,
                          data, a.min_size, a.max_size)
        total2 += len(data)
        write_file(os.path.join(v2, rel), data)
    with open(os.path.join(a.out, "ds_manifest.json"), "w") as f:
        json.dump({"files": a.files, "changed": k, "bytes_v1": total,
                   "bytes_v2": total2}, f)
    print("  ds_v1: %d files, %d bytes; ds_v2: %d files changed, %d bytes; "
          "%.1fs" % (a.files, total, k, total2, time.time() - t0))


def mutate(g, rng, rel, data, min_size, max_size):
    kind = rel.rsplit(".", 1)[1]
    row = g.rows(kind)
    lines = data.decode().splitlines(True)
    mode = rng.random()
    ts = 1710000000 + rng.randint(0, 10 ** 6)
    if mode < 0.6 and len(lines) > 2:          # edit a few lines in place
        for _ in range(rng.randint(1, 4)):
            j = rng.randrange(1 if kind == "csv" else 0, len(lines))
            lines[j] = row(rng, 900000 + j, ts)
        out = "".join(lines).encode()
    elif mode < 0.9:                           # append rows
        extra = "".join(row(rng, 800000 + j, ts + j)
                        for j in range(rng.randint(1, 20)))
        out = ("".join(lines) + extra).encode()
    else:                                      # rewritten
        out = g.content(rng, kind,
                        max(min_size, len(data) + rng.randint(-100, 100)))
    if len(out) > max_size:
        out = out[:max_size - 1] + b"\n"
    if out == data:
        out = data + row(rng, 999999, ts).encode()
    return out


def write_file(path, data):
    try:
        f = open(path, "wb")
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        f = open(path, "wb")
    with f:
        f.write(data)


# --------------------------------------------------------------------------
# verification

def read_header(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        hdr = json.loads(f.read(n))
    return n + 8, hdr


def tensor_hashes(path, hdr_len, hdr):
    out = {}
    with open(path, "rb") as f:
        for name, t in hdr.items():
            if name == "__metadata__":
                continue
            b, e = t["data_offsets"]
            f.seek(hdr_len + b)
            h = hashlib.blake2b(digest_size=16)
            left = e - b
            while left:
                buf = f.read(min(left, PIECE))
                h.update(buf)
                left -= len(buf)
            out[name] = (h.digest(), e - b)
    return out


def zstd_ratio(path, offset, n):
    if not shutil.which("zstd"):
        return None
    with open(path, "rb") as f:
        f.seek(offset)
        sample = f.read(n)
    z = subprocess.run(["zstd", "-3", "-c", "-q"], input=sample,
                       stdout=subprocess.PIPE, check=True).stdout
    return len(sample) / float(len(z))


def bf16_stats(path, offset, count):
    with open(path, "rb") as f:
        f.seek(offset)
        raw = f.read(2 * count)
    f32 = bytearray(4 * count)
    f32[2::4] = raw[0::2]
    f32[3::4] = raw[1::2]
    v = struct.unpack("<%df" % count, f32)
    m = sum(v) / count
    sd = math.sqrt(sum((x - m) ** 2 for x in v) / count)
    return m, sd


def cmd_verify(a):
    ok = True
    ckpts = sorted((p for p in os.listdir(a.dir)
                    if p.startswith("ckpt_") and p.endswith(".safetensors")),
                   key=lambda p: int(p[5:-12]))
    prev = None
    for p in ckpts:
        path = os.path.join(a.dir, p)
        size = os.path.getsize(path)
        hdr_len, hdr = read_header(path)
        tensors = {k: v for k, v in hdr.items() if k != "__metadata__"}
        end = 0
        for name, t in tensors.items():
            b, e = t["data_offsets"]
            if t["dtype"] != "BF16" or e - b != nbytes_of(t["shape"]) \
                    or b != end:
                print("  BAD tensor %s in %s" % (name, p))
                ok = False
            end = e
        if hdr_len + end != size:
            print("  BAD size %s: header %d + data %d != %d" % (
                p, hdr_len, end, size))
            ok = False
        hashes = tensor_hashes(path, hdr_len, hdr)
        line = "  %s: %d bytes (%.1f MiB), header %d B, %d tensors, " \
               "meta %s" % (p, size, size / 1048576.0, hdr_len, len(tensors),
                            json.dumps(hdr["__metadata__"]))
        if prev:
            same = sum(n for k, (h, n) in hashes.items()
                       if prev[2].get(k, (None,))[0] == h)
            tot = sum(n for h, n in hashes.values())
            nsame = sum(1 for k, (h, n) in hashes.items()
                        if prev[2].get(k, (None,))[0] == h)
            line += "\n     vs previous: %d/%d tensors identical, %.1f%% of " \
                    "tensor bytes shared, data shifted by %+d B" % (
                        nsame, len(hashes), 100.0 * same / tot,
                        hdr_len - prev[1])
        print(line)
        prev = (p, hdr_len, hashes)
    if ckpts:
        path = os.path.join(a.dir, ckpts[0])
        hdr_len, _ = read_header(path)
        r = zstd_ratio(path, hdr_len, min(32 << 20, os.path.getsize(path) - hdr_len))
        m, sd = bf16_stats(path, hdr_len + 4096, 200000)
        print("  tensor data: mean %.5f, std %.5f (as bf16); zstd -3 ratio %s"
              % (m, sd, "%.3f" % r if r else "n/a (no zstd)"))
    for v in ("ds_v1", "ds_v2"):
        d = os.path.join(a.dir, v)
        if not os.path.isdir(d):
            continue
        sizes = []
        for root, _, fs in os.walk(d):
            for f in fs:
                sizes.append(os.path.getsize(os.path.join(root, f)))
        print("  %s: %d files, %d bytes, sizes %d..%d" % (
            v, len(sizes), sum(sizes), min(sizes), max(sizes)))
    d1, d2 = os.path.join(a.dir, "ds_v1"), os.path.join(a.dir, "ds_v2")
    if os.path.isdir(d1) and os.path.isdir(d2):
        diff = n = 0
        for root, _, fs in os.walk(d1):
            for f in fs:
                p1 = os.path.join(root, f)
                p2 = os.path.join(d2, os.path.relpath(p1, d1))
                n += 1
                with open(p1, "rb") as x, open(p2, "rb") as y:
                    if x.read() != y.read():
                        diff += 1
        print("  ds_v2 vs ds_v1: %d of %d files differ (%.1f%%)" % (
            diff, n, 100.0 * diff / n))
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("ckpt")
    c.add_argument("--out", required=True)
    c.add_argument("--count", type=int, default=8)
    c.add_argument("--size-mb", type=int, default=256)
    c.add_argument("--change-frac", type=float, default=0.10)
    c.add_argument("--seed", default="1")
    c.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    d = sub.add_parser("dataset")
    d.add_argument("--out", required=True)
    d.add_argument("--files", type=int, default=20000)
    d.add_argument("--min-size", type=int, default=200)
    d.add_argument("--max-size", type=int, default=16384)
    d.add_argument("--change-pct", type=float, default=5.0)
    d.add_argument("--seed", default="1")
    b = sub.add_parser("big")
    b.add_argument("--out", required=True)
    b.add_argument("--size-mb", type=int, default=10240)
    b.add_argument("--seed", default="1")
    b.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    v = sub.add_parser("verify")
    v.add_argument("--dir", required=True)
    a = ap.parse_args()
    return {"ckpt": cmd_ckpt, "dataset": cmd_dataset, "big": cmd_big,
            "verify": cmd_verify}[a.cmd](a) or 0


if __name__ == "__main__":
    sys.exit(main())
