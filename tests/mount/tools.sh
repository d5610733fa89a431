#!/usr/bin/env bash
# Tools in an open run, as its owner (a writer, not root), and the table
# "What works in an open run" of the README: each row of the table is run
# here, and the table must list exactly the rows this test runs, with the
# result it sees.  mknod: a regular file is an empty file; FIFOs, sockets
# and devices are EPERM.
source "$(dirname "$0")/lib.sh" "$@"
ensure_user
for t in rsync tar git sed; do
	command -v "$t" >/dev/null || skip "no $t"
done

afs init >/dev/null
start_daemon
# Right after the mount the command socket may not answer yet (the store
# then reads as in use): wait for it.
for ((i = 0; i < 100; i++)); do
	afs role ls >/dev/null 2>&1 && break
	sleep 0.1
done
afs role grant writer "$TUSER" --scope /pipelines >/dev/null ||
	fail "role grant writer"
R=$M/pipelines/p/runs/r1
O=$R/steps/s/outputs
as_user mkdir -p "$O" "$R/steps/t/outputs" || fail "mkdir of the run"

SRC=$T/src
mkdir -p "$SRC/d/e"
echo one >"$SRC/d/one.txt"
printf '#!/bin/sh\n' >"$SRC/d/e/run.sh"
chmod 0755 "$SRC/d/e/run.sh"
ln -s one.txt "$SRC/d/link"
tar -C "$SRC" -cf "$T/src.tar" d
chown -R "$TUID:$TGID" "$SRC"
chmod -R a+rX "$SRC" "$T/src.tar"

declare -A GOT
# row NAME CMD...: runs CMD as the run's owner; the row's result is "ok"
# (exit 0, nothing on stderr) or the first line of what it said.
row() {
	local name=$1 rc=0
	shift
	as_user "$@" >"$T/.out" 2>"$T/.err" || rc=$?
	if [ "$rc" -eq 0 ] && [ ! -s "$T/.err" ]; then
		GOT[$name]=ok
	else
		GOT[$name]="exit $rc: $(head -n1 "$T/.err")"
	fi
	echo "   $name: ${GOT[$name]}"
}

check "tools in an open run"
row "cp -a" cp -a "$SRC/d" "$O/cp-a"
row "cp -p" cp -p "$SRC/d/one.txt" "$O/cp-p.txt"
row "sed -i" sed -i 's/one/ONE/' "$O/cp-p.txt"
row "mv between steps" mv "$O/cp-p.txt" "$R/steps/t/outputs/moved.txt"
row "tar -x" tar -C "$O" -xf "$T/src.tar"
row "rsync -a" rsync -a "$SRC/d/" "$O/rsync/"
row "git init, add, commit" sh -c "cd '$O' && mkdir repo && cd repo &&
	git init -q && git config user.email t@example.org &&
	git config user.name t && echo x > f && git add f &&
	git commit -qm first"
row "python open/write" "$PY" -c "
with open('$O/py.bin', 'wb') as f:
    f.write(b'x' * 100000)
    f.seek(10)
    f.write(b'y')"
row "ln -s" ln -s cp-a/one.txt "$O/symlink"
row "mknod (regular file)" "$PY" -c "
import os, stat
os.mknod('$O/node', 0o644 | stat.S_IFREG)
assert os.path.getsize('$O/node') == 0"
row "mkfifo (EPERM)" "$PY" -c "
import errno, os
try:
    os.mkfifo('$O/fifo')
except OSError as e:
    assert e.errno == errno.EPERM, e
else:
    raise SystemExit('mkfifo succeeded')"
row "socket (EPERM)" "$PY" -c "
import errno, socket
s = socket.socket(socket.AF_UNIX)
try:
    s.bind('$O/sock')
except OSError as e:
    assert e.errno == errno.EPERM, e
else:
    raise SystemExit('bind succeeded')"

check "what the tools made reads back"
[ "$(cat "$O/cp-a/one.txt")" = one ] || defect "cp -a content"
[ "$(cat "$R/steps/t/outputs/moved.txt")" = ONE ] || defect "sed -i + mv content"
[ -x "$O/d/e/run.sh" ] || defect "tar -x lost the x bit"
[ "$(readlink "$O/rsync/link")" = one.txt ] || defect "rsync -a symlink"
[ "$(cat "$O/symlink")" = one ] || defect "ln -s target"
as_user git -C "$O/repo" log --oneline >/dev/null 2>&1 ||
	defect "git log in the run"

check "the README's table lists these rows"
for k in "${!GOT[@]}"; do
	printf '%s\t%s\n' "$k" "${GOT[$k]}"
done >"$T/got"
"$PY" - "$SRC_ROOT/README.md" "$T/got" <<'PY' || defect "README table"
import sys
text = open(sys.argv[1]).read()
start = text.index("### What works in an open run")
rows = {}
for line in text[start:].splitlines()[1:]:
    if line.startswith("#"):
        break
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) >= 2 and cells[0] not in ("tool", "---") and \
            not cells[0].startswith("-"):
        rows[cells[0].strip("`")] = cells[1]
got = dict(l.rstrip("\n").split("\t", 1) for l in open(sys.argv[2]))
bad = False
for name, res in got.items():
    want = rows.get(name)
    if want is None:
        print("README lacks a row for", name); bad = True
for name in rows:
    if name not in got:
        print("README row %r is not tested" % name); bad = True
sys.exit(1 if bad else 0)
PY
for k in "${!GOT[@]}"; do
	[ "${GOT[$k]}" = ok ] || defect "$k: ${GOT[$k]}"
done

check "seal: everything the tools made becomes versions"
as_user sh -c "echo seal > '$R/control'" || fail "seal"
[ "$(cat "$M/artifacts/cp-a/v1/one.txt")" = one ] || defect "cp-a@v1"
[ -f "$M/artifacts/node/v1/node" ] || defect "node@v1 (mknod)"

stop_daemon
finish
