#!/usr/bin/env bash
# Handles of files of several names (hard links) while their names
# change, as an unprivileged user (links_open.py): a handle opened by a
# name that is then unlinked or renamed over still follows the file's
# other names (a truncate, write or fsync through either side shows
# through the other, in pread and mmap reads), against a shadow on the
# local disk after every step; fixed scenarios, then random ones on fixed
# seeds.  Sealing then gives the shadow's names and bytes.
source "$(dirname "$0")/lib.sh" "$@"
ensure_user

afs init >/dev/null
start_daemon
P=$M/pipelines/lk/runs
setfacl -m "u:$TUSER:rwx" "$M/pipelines" || fail "setfacl writer"
setfacl -m "u:$TUSER:r-x" "$M/artifacts" || fail "setfacl reader"
OUT=$P/r1/steps/s/outputs/f
as_user mkdir -p "$OUT" || fail "mkdir -p"
install -d -m 0700 -o "$TUSER" "$T/shadow"

check "handles of linked files against a shadow, step by step"
as_user "$PY" "$TESTS_DIR/links_open.py" "$OUT" "$T/shadow" 20 >"$T/py.out" 2>&1 ||
	defect "$(grep -A12 MISMATCH "$T/py.out" | head -c 4000; tail -n 1 "$T/py.out")"
tail -n 1 "$T/py.out"

check "seal: the version holds the shadow's names and bytes"
as_user sh -c "echo seal > '$P/r1/control'" || fail "seal"
diff -r "$T/shadow" "$M/artifacts/f/v1" >"$T/diff.out" 2>&1 ||
	defect "version and shadow differ: $(head -c 1000 "$T/diff.out")"

stop_daemon
check "fsck: clean"
afs fsck >/dev/null 2>"$T/fsck.err" || defect "fsck: $(head -3 "$T/fsck.err")"
finish
