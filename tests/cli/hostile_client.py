"""tests/cli/hostile_client.py - raw clients of the daemon's command socket
for hostile.sh (python3 socket module only).  Usage:
  hostile_client.py SOCK nonstring        non-string argv item, framed
  hostile_client.py SOCK oldline          the old unframed JSON line
  hostile_client.py SOCK fds N            N requests with 2 fds each
  hostile_client.py SOCK silent PATH      asks the harness to open PATH,
                                          never answers; prints seconds
  hostile_client.py SOCK flood N          N connections, 1 MiB each, no end
  hostile_client.py SOCK groups UID GID   (root) connect as UID with group
                                          4242, send as UID without it
Each prints what it saw; exit 0 when the daemon behaved."""
import json
import os
import socket
import struct
import sys
import time

SOCK = sys.argv[1]


def frame(t, payload):
    return t + struct.pack(">I", len(payload)) + payload


def req(argv):
    return frame(b"q", json.dumps({"argv": argv}).encode())


def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect(SOCK)
    return s


def read_frames(s, answer=None):
    """Frames until EOF: list of (type, payload)."""
    buf, out = b"", []
    while True:
        try:
            d = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            d = b""
        if not d:
            return out
        buf += d
        while len(buf) >= 5:
            n = struct.unpack(">I", buf[1:5])[0]
            if len(buf) < 5 + n:
                break
            out.append((buf[:1], buf[5:5 + n]))
            buf = buf[5 + n:]


def refused(frames, what):
    errs = [p for t, p in frames if t == b"!"]
    exits = [struct.unpack(">i", p)[0] for t, p in frames if t == b"x"]
    if not errs or exits != [2]:
        sys.exit("%s: want an error frame and exit 2, got %r" %
                 (what, frames))
    print("%s -> %s" % (what, errs[0].decode()))


def nonstring():
    for body in (b'{"argv":["artifactfs",1],"cwd":"/tmp"}',
                 b'{"argv":["artifactfs",1]}'):
        s = connect()
        s.sendall(frame(b"q", body))
        refused(read_frames(s), "non-string argv item")


def oldline():
    s = connect()
    s.sendall(b'{"argv":["artifactfs",1],"cwd":"/tmp"}\n')
    refused(read_frames(s), "unframed line")


def fds(n):
    r, w = os.pipe()
    for i in range(n):
        s = connect()
        msg = req(["artifactfs", "ls"])
        if i % 2:  # two in one message
            socket.send_fds(s, [msg], [r, w])
        else:  # one on the header, one on the payload
            socket.send_fds(s, [msg[:5]], [r])
            socket.send_fds(s, [msg[5:]], [w])
        f = read_frames(s)
        s.close()
        if i < 2:
            refused(f, "descriptors in request %d" % i)
    print("sent %d requests with 2 descriptors each" % n)


def silent(path):
    s = connect()
    s.sendall(req(["h", "open", path]))
    t0 = time.time()
    frames = []
    buf = b""
    while True:  # read the 'f' frame, then say nothing
        d = s.recv(65536)
        if not d:
            break
        buf += d
    took = time.time() - t0
    print("%.1f" % took)
    if b"f" != buf[:1]:
        sys.exit("no file operation asked: %r" % buf[:80])


def flood(n):
    socks, busy, other = [], 0, 0
    blob = b"{" + b"A" * ((1 << 20) - 1)
    claim = b"q" + struct.pack(">I", 1 << 20) + b"B" * ((1 << 20) - 1)
    for i in range(n):
        try:
            s = connect()
        except OSError:
            other += 1
            continue
        s.setblocking(False)
        data = blob if i % 10 == 0 else claim
        try:
            s.send(data)
        except OSError:
            pass
        socks.append(s)
    time.sleep(1.0)
    for s in socks:
        try:
            d = s.recv(4096)
        except OSError:
            d = b""
        if d[:1] == b"!" and b"busy" in d:
            busy += 1
    print("connections %d busy %d" % (len(socks), busy))
    with open(os.environ["FLOOD_MARK"], "w") as f:
        f.write("sent\n")
    time.sleep(float(os.environ.get("FLOOD_HOLD", "1")))
    for s in socks:
        s.close()
    if busy < n // 2:  # beyond the per-user cap: most of them
        sys.exit("only %d of %d refused as busy" % (busy, n))


def rawcmd(marker):
    """argv the command line never sends: run exec would run CMD in the
    daemon (as root), init and mount would act on the daemon's store."""
    for argv in (["artifactfs", "run", "exec", "--pipeline", "p", "--step",
                  "s", "--", "/bin/sh", "-c", "touch " + marker],
                 ["artifactfs", "init"],
                 ["artifactfs", "mount", "/tmp"]):
        s = connect()
        s.sendall(req(argv))
        frames = read_frames(s)
        exits = [struct.unpack(">i", p)[0] for t, p in frames if t == b"x"]
        err = b"".join(p for t, p in frames if t in (b"e", b"!"))
        if exits == [0] or b"not a command the mount daemon" not in err:
            sys.exit("%s: not refused: %r" % (argv[1], frames))
        print("%s -> %s" % (argv[1], err.decode().strip()))


def denials(n):
    """n refused commands as fast as one connection after another goes."""
    for _ in range(n):
        s = connect()
        s.sendall(req(["artifactfs", "cat", "small"]))
        read_frames(s)
        s.close()
    print("sent %d refused requests" % n)


def groups(uid, gid):
    a, b = socket.socketpair()
    pid = os.fork()
    if pid == 0:  # the connecting process, in group 4242, then gone
        os.setgroups([4242])
        os.setgid(gid)
        os.setuid(uid)
        s = connect()
        socket.send_fds(a, [b"s"], [s.fileno()])
        os._exit(0)
    _, fds_, _, _ = socket.recv_fds(b, 1, 1)
    os.waitpid(pid, 0)
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
    s = socket.socket(fileno=fds_[0])
    s.settimeout(20)
    s.sendall(req(["h", "whoami"]))
    out = b"".join(p for t, p in read_frames(s) if t == b"o").decode()
    print("whoami: " + out.strip())
    if out.split()[2:] != ["4242"]:
        sys.exit("groups are not the connecting process's: " + out)


cmd = sys.argv[2]
if cmd == "nonstring":
    nonstring()
elif cmd == "oldline":
    oldline()
elif cmd == "fds":
    fds(int(sys.argv[3]))
elif cmd == "silent":
    silent(sys.argv[3])
elif cmd == "flood":
    flood(int(sys.argv[3]))
elif cmd == "rawcmd":
    rawcmd(sys.argv[3])
elif cmd == "denials":
    denials(int(sys.argv[3]))
elif cmd == "groups":
    groups(int(sys.argv[3]), int(sys.argv[4]))
else:
    sys.exit("unknown " + cmd)
