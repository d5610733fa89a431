#!/usr/bin/env bash
# A put that fails halfway publishes nothing; the chunks it had already
# stored are garbage that fsck notes (without failing) and gc removes,
# leaving every published version intact and fsck clean.
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

afs init >/dev/null
head -c $((1024 * 1024)) /dev/urandom >"$T/keep.bin"
afs put keep "$T/keep.bin" >/dev/null

check "a put of a tree holding a FIFO fails after storing earlier files"
mkdir "$T/partial"
head -c $((2 * 1024 * 1024)) /dev/urandom >"$T/partial/aa.bin"
mkfifo "$T/partial/zz.fifo"
expect_fail 1 afs put partial "$T/partial"
expect_err_has "zz.fifo"
expect_fail 1 afs ls partial

check "fsck is clean and notes the garbage"
afs fsck | tee "$T/fsck.out"
grep -q ': clean$' "$T/fsck.out" || fail "fsck not clean"
garbage=$(afs fsck --json | json_eval "j['unreferenced']")
echo "   unreferenced chunks: $garbage"

check "gc --dry-run counts, gc removes, a second gc finds nothing"
afs gc --dry-run | tee "$T/dry.out"
grep -q '^would remove' "$T/dry.out" || fail "dry run output"
would=$(afs gc --dry-run --json | json_eval "j['chunks']")
[ "$would" = "$garbage" ] || fail "dry run counts $would, fsck $garbage"
afs gc --dry-run --json | json_eval "j['dry_run']" | grep -qx True ||
	fail "dry_run flag"
afs gc | tee "$T/gc.out"
grep -q "^removed $would chunks" "$T/gc.out" || fail "gc output"
afs gc --dry-run | grep -q '^would remove 0 chunks (0 B) and 0 files$' ||
	fail "garbage left after gc"

check "after gc: fsck clean with nothing unreferenced, versions intact"
afs fsck --json | json_eval "(j['clean'], j['unreferenced'])" |
	grep -qx '(True, 0)' || fail "fsck after gc"
afs cat keep | cmp - "$T/keep.bin"

check "the same file put again after gc is stored again and reads back"
rm "$T/partial/zz.fifo"
afs put partial "$T/partial" >/dev/null
afs cat partial@v1/aa.bin | cmp - "$T/partial/aa.bin"
afs fsck | grep -q ': clean$' || fail "fsck after re-put"

echo "PASS"
