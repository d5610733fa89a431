#!/usr/bin/env bash
# What programs expect of files they hold open, and of sealing: rename,
# unlink or replacement of a file while a writer holds it, fstat and
# tempfile.TemporaryFile, a second reader or writer of a file being
# written, sealing under an open writer, "fail", and the outputs that are
# not plain directories (two steps with one output name, a symlink, an
# empty directory).
source "$(dirname "$0")/lib.sh" "$@"

afs init >/dev/null
start_daemon
R=$M/pipelines/p/runs
O=$R/r/steps/s/outputs
mkdir -p "$O/o"

alive() {
	kill -0 "$DPID" 2>/dev/null || {
		DPID=""
		fail "the daemon died ($1)"
	}
	mountpoint -q "$M" || fail "$M is no longer mounted ($1)"
}

# py NAME CODE: runs python with d = the directory $O/o; prints its
# output; a defect (not a failure) if it raises.
py() {
	local name=$1
	shift
	if "$PY" - "$O/o" >"$T/py.out" 2>&1 <<EOF; then
import os, sys, time, tempfile
d = sys.argv[1]
$*
EOF
		sed 's/^/   /' "$T/py.out"
	else
		sed 's/^/   /' "$T/py.out"
		defect "$name: $(tail -n1 "$T/py.out")"
	fi
	alive "$name"
}

check "rename of a file while it is being written"
py "rename while open" "
f = open(d + '/tmp', 'w'); f.write('part1 '); f.flush()
os.rename(d + '/tmp', d + '/final')
f.write('part2'); f.close()
assert not os.path.exists(d + '/tmp'), 'tmp still there'
got = open(d + '/final').read()
assert got == 'part1 part2', got
print('ok: final holds', repr(got))"

check "unlink of a file while it is being written (the daemon must live)"
py "unlink while open" "
f = open(d + '/gone', 'w'); f.write('x' * 10); f.flush()
os.unlink(d + '/gone'); f.write('y'); f.close()
assert 'gone' not in os.listdir(d), os.listdir(d)
print('ok: gone stays gone')"

check "a file replaced by rename while a writer holds it"
py "replaced while open" "
f = open(d + '/target', 'w'); f.write('old writer'); f.flush()
open(d + '/new', 'w').write('new content')
os.rename(d + '/new', d + '/target')
f.write(' more'); f.close()
got = open(d + '/target').read()
assert got == 'new content', got
print('ok: target holds', repr(got))"

check "fstat of an open, unlinked file; tempfile.TemporaryFile"
py "fstat after unlink" "
fd = os.open(d + '/t', os.O_CREAT | os.O_RDWR, 0o600)
os.write(fd, b'abc'); os.unlink(d + '/t')
st = os.fstat(fd)
assert st.st_size == 3, st
os.close(fd)
print('ok: fstat size', st.st_size)"
py "TemporaryFile" "
with tempfile.TemporaryFile(dir=d) as t:
    t.write(b'abc' * 1000); t.seek(0); got = t.read()
assert got == b'abc' * 1000, len(got)
print('ok: TemporaryFile read back', len(got), 'bytes')"
py "NamedTemporaryFile" "
with tempfile.NamedTemporaryFile(dir=d, suffix='.npy') as t:
    t.write(b'abc'); t.flush()
    got = open(t.name, 'rb').read()
assert got == b'abc', got
assert not [n for n in os.listdir(d) if n.endswith('.npy')], os.listdir(d)
print('ok: NamedTemporaryFile')"

check "another reader sees what a writer wrote before it closes"
py "read while being written" "
w = open(d + '/live.log', 'w'); w.write('hello\n'); w.flush()
st = os.stat(d + '/live.log').st_size
got = open(d + '/live.log').read()
w.close()
assert (st, got) == (6, 'hello\n'), repr((st, got))
print('ok: a reader sees', repr(got))"

check "two writers of one file (two appenders)"
py "two appenders" "
a = open(d + '/app.log', 'a'); b = open(d + '/app.log', 'a')
a.write('A1\n'); a.flush(); b.write('B1\n'); b.flush()
a.write('A2\n'); a.flush(); a.close(); b.close()
got = open(d + '/app.log').read()
assert got == 'A1\nB1\nA2\n', repr(got)
print('ok:', repr(got))"

check "r+ patch and reopen with O_TRUNC"
py "r+ and O_TRUNC" "
open(d + '/rp', 'w').write('0123456789')
with open(d + '/rp', 'r+') as f:
    f.seek(3); f.write('abc')
assert open(d + '/rp').read() == '012abc6789'
open(d + '/tr', 'w').write('long content here')
open(d + '/tr', 'w').write('short')
assert open(d + '/tr').read() == 'short'
print('ok')"

check "every handle of a file sees the latest write, whichever made it"
py "handles share a file" "
import mmap
p = d + '/shared'
for warm in (False, True):
    open(p, 'w').write('aaaaaaaaaa')
    r = os.open(p, os.O_RDONLY); w = os.open(p, os.O_RDWR)
    if warm:  # the kernel holds the old pages before the write
        assert os.pread(r, 100, 0) == b'a' * 10
        assert os.pread(w, 100, 0) == b'a' * 10
    os.pwrite(w, b'BBBB', 2)
    want = b'aaBBBBaaaa'
    assert os.pread(r, 100, 0) == want, ('reader', warm, os.pread(r, 100, 0))
    assert os.pread(w, 100, 0) == want, ('writer', warm, os.pread(w, 100, 0))
    late = os.open(p, os.O_RDONLY)
    assert os.pread(late, 100, 0) == want, ('late', warm)
    with mmap.mmap(r, 0, prot=mmap.PROT_READ) as mm:
        assert mm[:] == want, ('mmap', warm, mm[:])
    os.ftruncate(w, 3)
    assert os.pread(r, 100, 0) == b'aaB', ('truncated', warm)
    os.pwrite(w, b'CC', 3)
    os.close(w)
    assert os.pread(r, 100, 0) == b'aaBCC', ('after close', warm)
    assert os.fstat(r).st_size == 5, os.fstat(r)
    os.close(r); os.close(late)
    assert open(p, 'rb').read() == b'aaBCC'
print('ok: readers, writers, late openers and maps agree')"

check "a file unlinked or renamed over while open keeps working for its handles"
mkdir -p "$R/h/steps/s/outputs/held"
rc=0
"$PY" - "$R/h/steps/s/outputs/held" <<'EOF' || rc=$?
import os, sys
d = sys.argv[1]
for how in ('unlink', 'rename', 'unlink-synced', 'rename-synced'):
    p = d + '/' + how
    fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o644)
    os.pwrite(fd, b'x' * 10000, 0)
    if how.endswith('synced'):
        os.fsync(fd)  # its content is in the store before the unlink
    if how.startswith('unlink'):
        os.unlink(p)
    else:
        open(p + '.new', 'w').write('replacement')
        os.rename(p + '.new', p)
    assert os.fstat(fd).st_size == 10000, (how, os.fstat(fd))
    assert os.pread(fd, 20000, 0) == b'x' * 10000, how
    os.ftruncate(fd, 5)
    os.pwrite(fd, b'tail', 8)
    os.fsync(fd)
    want = b'xxxxx\0\0\0tail'
    assert os.fstat(fd).st_size == len(want), (how, os.fstat(fd))
    assert os.pread(fd, 100, 0) == want, (how, os.pread(fd, 100, 0))
    r = os.open('/proc/self/fd/%d' % fd, os.O_RDONLY)
    assert os.pread(r, 100, 0) == want, (how, 'second handle')
    os.close(fd)
    assert os.pread(r, 100, 0) == want, (how, 'after the writer closed')
    os.close(r)
names = sorted(os.listdir(d))
assert names == ['rename', 'rename-synced'], names
for n in names:
    assert open(d + '/' + n).read() == 'replacement', n
print('   ok: ftruncate, write, fsync, fstat and read on held files')
EOF
[ "$rc" -eq 0 ] || defect "a handle of an unlinked or replaced file misbehaved"
alive "held files"
echo seal >"$R/h/control"
got=$(cd "$M/artifacts/held/v1" 2>/dev/null && ls | tr '\n' ' ')
[ "$got" = "rename rename-synced " ] ||
	defect "held@v1 holds '$got', want only the replaced files"
[ "$(cat "$M/artifacts/held/v1/rename")" = replacement ] ||
	defect "held@v1/rename is not the replacement"

check "seal while a writer holds uncommitted data: EBUSY, nothing published"
mkdir -p "$R/w/steps/s/outputs"
W=$R/w/steps/s/outputs
rc=0
"$PY" - "$W" "$R/w/control" "$M/artifacts" <<'EOF' || rc=$?
import errno, os, sys
out, control, arts = sys.argv[1:]
f = open(out + '/ckpt.bin', 'w')
f.write('committed'); f.flush(); os.fsync(f.fileno())
f.write(' and then more'); f.flush()
fd = os.open(control, os.O_WRONLY)
try:
    os.write(fd, b'seal')
    print('   the seal under an unsynced writer succeeded')
    sys.exit(1)
except OSError as e:
    print('   ok: seal:', e)
    if e.errno != errno.EBUSY:
        sys.exit(1)
finally:
    os.close(fd)
if os.path.exists(arts + '/ckpt.bin'):
    print('   ckpt.bin was published')
    sys.exit(1)
f.close()
open(control, 'w').write('seal')
EOF
[ "$rc" -eq 0 ] || defect "a seal under an unsynced writer was not refused with EBUSY"
alive "seal under a writer"
[ "$(cat "$M/artifacts/ckpt.bin/v1/ckpt.bin")" = "committed and then more" ] ||
	defect "ckpt.bin@v1 is '$(cat "$M/artifacts/ckpt.bin/v1/ckpt.bin")', want the whole file"

check "outputs that are a symlink, an empty directory, and one name in two steps"
S2=$R/two/steps
mkdir -p "$S2/a/outputs" "$S2/b/outputs/emptydir"
echo A >"$S2/a/outputs/model"
echo B >"$S2/b/outputs/model"
ln -s model "$S2/a/outputs/pointer"
echo seal >"$R/two/control"
[ "$(readlink "$M/artifacts/pointer/v1/pointer")" = model ] ||
	defect "a symlink output: $(ls -l "$M/artifacts/pointer/v1" 2>&1)"
[ -d "$M/artifacts/emptydir/v1" ] && [ -z "$(ls "$M/artifacts/emptydir/v1")" ] ||
	defect "an empty directory output"
got=""
for v in v1 v2; do
	got="$got$(cat "$M/artifacts/model/$v/model" 2>/dev/null || echo "-")"
done
echo "   model@v1,v2: $got"
# store.h: each outputs/<name> of each step becomes the next version of
# <name>, steps in name order.
[ "$got" = AB ] || defect "two steps' outputs 'model' gave '$got' (v1 v2), want 'AB': one was lost"

check "a failed run publishes nothing and is read-only"
mkdir -p "$R/f/steps/s/outputs"
echo x >"$R/f/steps/s/outputs/failed-out"
echo fail >"$R/f/control"
[ "$(cat "$R/f/control")" = failed ] || defect "control of a failed run"
[ ! -e "$M/artifacts/failed-out" ] || defect "a failed run published its output"
expect_err "Read-only file system" touch "$R/f/steps/s/outputs/y"
expect_err "Read-only file system" sh -c "echo seal > '$R/f/control'"

stop_daemon
finish
