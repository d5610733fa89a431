#!/usr/bin/env bash
# Messages that say what is wrong in one line: a relative symlink leaving
# a version (as an absolute one), --config naming a directory; get --force
# never replaces a device node or a FIFO; tables align by display width
# on names that are not ASCII.
source "$(dirname "$0")/lib.sh" "$@"

afs init >/dev/null
mkdir -p "$T/v/sub"
echo inside >"$T/v/sub/file"
ln -s ../../../etc/passwd "$T/v/sub/up"
ln -s /etc/passwd "$T/v/sub/abs"
ln -s file "$T/v/sub/ok"
afs put tree "$T/v" >/dev/null

check "symlinks leaving the version: the same message, relative or absolute"
expect_fail 1 afs cat tree@v1/sub/abs
expect_err_has "outside the version"
expect_fail 1 afs cat tree@v1/sub/up
expect_err_has "is a symbolic link to '../../../etc/passwd' outside the version"
[ "$(afs cat tree@v1/sub/ok)" = inside ] || fail "a link inside the version"

check "--config naming a directory"
expect_fail 2 "$AFS" --config "$T" --store "$S" ls
expect_err_has "not a regular file"

check "get --force replaces no FIFO and no device node"
mkfifo "$T/fifo"
expect_fail 1 afs get tree@v1/sub/file "$T/fifo" --force
expect_err_has "not a regular file or a directory"
[ -p "$T/fifo" ] || fail "the FIFO was replaced"
if [ "$(id -u)" -eq 0 ]; then
	mknod "$T/full" c 1 7 # a private node of /dev/full's device
	expect_fail 1 afs get tree@v1/sub/file "$T/full" --force
	expect_err_has "not a regular file or a directory"
	[ -c "$T/full" ] || fail "the device node was replaced"
fi
echo old >"$T/plain"
afs get tree@v1/sub/file "$T/plain" --force || fail "get --force over a file"
[ "$(cat "$T/plain")" = inside ] || fail "get --force content"

check "tables align by display width"
if locale -a 2>/dev/null | grep -qi '^c\.utf-\?8$'; then
	for n in model é-café 模型 x; do
		afs put "$n" "$T/v/sub/file" >/dev/null
	done
	LC_ALL=C.UTF-8 afs ls >"$T/ls.out"
	LC_ALL=C.UTF-8 "${PYTHON:-python3}" - "$T/ls.out" <<'PY' || fail "ls columns"
import sys, unicodedata
def width(s):
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)
cols = set()
for line in open(sys.argv[1], encoding="utf-8"):
    name_end = line.index("  ")
    # the column where VERSIONS ends: display width up to its last digit
    head = line.rstrip("\n")
    first = head[:name_end]
    rest = head[name_end:]
    cols.add(width(first) + len(rest) - len(rest.lstrip(" ")) + len(rest.split()[0]))
    print(repr(head))
sys.exit(0 if len(cols) == 1 else 1)
PY
fi
echo PASS
