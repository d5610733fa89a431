#!/usr/bin/env bash
# Retention rules in the config: keep_last and keep_younger per artifact
# or scope; what an alias, an open run or the lineage of a kept version
# points at stays.  gc --dry-run lists what would go and why, gc deletes
# with one version.delete record each, then removes the content nothing
# references; fsck and audit verify are clean after.
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

cat >"$T/ret.conf" <<'CONF'
retention = ( { artifact = "model"; keep_last = 2; },
              { scope = "/artifacts/data"; keep_last = 1; },
              { scope = "/artifacts/fresh"; keep_younger = "1h"; },
              { scope = "/pipelines/p"; keep_last = 1; } );
CONF
ret() {
	"$AFS" --config "$T/ret.conf" --store "$S" "$@"
}

check "bad rules are refused with one line naming the file and line"
printf 'retention = ( { scope = "/artifacts/m"; keep_younger = "3x"; } );\n' \
	>"$T/bad.conf"
expect_fail 2 "$AFS" --config "$T/bad.conf" --store "$S" gc --dry-run
expect_err_has "bad.conf:1"
printf 'retention = ( { scope = "/artifacts/m"; } );\n' >"$T/bad.conf"
expect_fail 2 "$AFS" --config "$T/bad.conf" --store "$S" gc --dry-run
expect_err_has "keeps something"

afs init >/dev/null
for i in 1 2 3 4 5; do
	head -c $((300 * 1024)) /dev/urandom >"$T/m$i.bin"
	afs put model "$T/m$i.bin" >/dev/null
	head -c $((200 * 1024)) /dev/urandom >"$T/d$i.bin"
	afs put data "$T/d$i.bin" >/dev/null
	afs put fresh "$T/d$i.bin" >/dev/null
	afs put other "$T/d$i.bin" >/dev/null
done
afs alias set model production v1 >/dev/null

check "lineage: data@v6 was made from model@v2; an open run read data@v2"
afs run open p/r1 s >/dev/null
afs run input p/r1/s model@v2 >/dev/null
head -c 1000 /dev/urandom >"$T/d6.bin"
afs put --run p/r1/s data "$T/d6.bin" >/dev/null
afs run seal p/r1 >/dev/null
afs run open q/r2 s >/dev/null
afs run input q/r2/s data@v2 >/dev/null
afs alias set data keep v6 >/dev/null

check "gc --dry-run lists what would go and why, and changes nothing"
ret gc --dry-run | tee "$T/dry.out"
want_gone="data@v1 data@v3 data@v4 data@v5 model@v3"
for v in $want_gone; do
	grep -q "^would delete $v (.*): not among the newest" "$T/dry.out" ||
		fail "dry run does not delete $v"
done
grep -q '^keep model@v1 (.*): alias production$' "$T/dry.out" ||
	fail "alias pin not shown"
grep -q '^keep model@v2 (.*): upstream of data@v6$' "$T/dry.out" ||
	fail "lineage pin not shown"
grep -q '^keep data@v2 (.*): read by the open run q/r2$' "$T/dry.out" ||
	fail "open run pin not shown"
grep -q 'fresh@\|other@' "$T/dry.out" && fail "fresh or other listed"
[ "$(grep -c '^would delete' "$T/dry.out")" = 5 ] || fail "5 to delete"
afs ls data | grep -q '^v1 ' || fail "the dry run deleted data@v1"
ret gc --dry-run --json | json_eval "len([v for v in j['versions'] if v['removed']])" |
	grep -qx 5 || fail "JSON lists 5 versions to delete"

check "gc deletes them, one version.delete record each, and frees content"
chunks_before=$(stat_field chunks)
ret gc | tee "$T/gc.out"
[ "$(grep -c '^deleted ' "$T/gc.out")" = 5 ] || fail "5 deleted"
grep -q '^removed [1-9][0-9]* chunks' "$T/gc.out" || fail "no chunk removed"
chunks_after=$(stat_field chunks)
echo "   chunks referenced: $chunks_before -> $chunks_after"
[ "$chunks_after" -lt "$chunks_before" ] || fail "no chunk freed"
n=$(afs audit query --op version.delete --json | json_eval 'len(j)')
[ "$n" = 5 ] || fail "$n version.delete records, want 5"
afs audit query --op version.delete | grep -q '/artifacts/model/v3' ||
	fail "no tombstone for model@v3"

check "what stays reads back; what went is gone"
for v in 1 2 4 5; do
	afs cat "model@v$v" | cmp - "$T/m$v.bin" || fail "model@v$v"
done
afs cat data@v2 | cmp - "$T/d2.bin" || fail "data@v2"
afs cat data@v6 | cmp - "$T/d6.bin" || fail "data@v6"
for v in 1 2 3 4 5; do
	afs cat "fresh@v$v" | cmp - "$T/d$v.bin" || fail "fresh@v$v"
	afs cat "other@v$v" | cmp - "$T/d$v.bin" || fail "other@v$v"
done
expect_fail 1 afs cat model@v3
expect_fail 1 afs cat data@v1

check "fsck and audit verify are clean; a second gc deletes nothing"
afs fsck --json | json_eval "(j['clean'], j['unreferenced'])" |
	grep -qx '(True, 0)' || fail "fsck after gc"
afs audit verify >/dev/null || fail "audit verify"
n=$(ret gc | grep -c '^deleted' || true)
[ "$n" = 0 ] || fail "a second gc deleted $n more"

check "the open run sealed: data@v2 is no longer pinned"
afs run seal q/r2 >/dev/null
ret gc | grep -q '^deleted data@v2 ' || fail "data@v2 not deleted"
afs fsck | grep -q ': clean$' || fail "fsck"
echo "PASS"
