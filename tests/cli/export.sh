#!/usr/bin/env bash
# export and verify-export: a closure export holds the named version and
# its upstream, never a secret; its MANIFEST is signed; verify-export
# (no store, no role) passes, and names a flipped byte in the MANIFEST,
# in a chunk, in a journal record.
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

afs init >/dev/null
head -c $((400 * 1024)) /dev/urandom >"$T/m1.bin"
head -c $((400 * 1024)) /dev/urandom >"$T/m2.bin"
afs put model "$T/m1.bin" >/dev/null
afs put model "$T/m2.bin" >/dev/null
afs run open p/r1 s >/dev/null
afs run input p/r1/s model@v1 >/dev/null
head -c 5000 /dev/urandom >"$T/d1.bin"
afs put --run p/r1/s data "$T/d1.bin" >/dev/null
afs run seal p/r1 >/dev/null
printf 'hunter2-secret-value-XYZ' | afs secret set token - >/dev/null

# verify_fails DIR TEXT: verify-export of DIR exits 1 naming TEXT.
verify_fails() {
	local rc=0
	"$AFS" verify-export "$1" --pubkey "$pub" >"$T/.out" 2>"$T/.err" || rc=$?
	[ "$rc" = 1 ] || fail "verify-export $1 exited $rc: $(cat "$T/.err")"
	grep -q "$2" "$T/.err" || fail "verify-export did not name $2: $(cat "$T/.err")"
	echo "   -> $(tail -n1 "$T/.err")"
}

check "export --closure data@latest"
afs export "$T/x" --closure data@latest | tee "$T/exp.out"
pub=$(sed -n 's/.*public key \(.*\))$/\1/p' "$T/exp.out")
[ -f "$pub" ] || fail "no public key named: $(cat "$T/exp.out")"
grep -q '^version data 1 ' "$T/x/MANIFEST" || fail "data@v1 not in MANIFEST"
grep -q '^version model 1 ' "$T/x/MANIFEST" || fail "model@v1 (upstream) missing"
grep -q '^version model 2 ' "$T/x/MANIFEST" && fail "model@v2 exported"
grep -q '^journal 1 [1-9]' "$T/x/MANIFEST" || fail "no journal range"
grep -rqa 'hunter2-secret-value-XYZ' "$T/x" && fail "a secret's value in the export"

check "verify-export passes with the public key alone"
"$AFS" verify-export "$T/x" --pubkey "$pub" | tee "$T/ver.out"
grep -q 'verified' "$T/ver.out" || fail "verify-export output"

check "read commands open the export read-only: no key, nothing written"
touch "$T/stamp"
sleep 1
ex() { "$AFS" --config "$T/empty.conf" --store "$T/x" "$@"; }
ex ls | grep -q '^model ' || fail "ls on the export"
ex ls data | grep -q '^v1 ' || fail "ls data on the export"
ex lineage data@v1 | grep -q 'model@v1' || fail "lineage on the export"
ex fsck | grep -q clean || fail "fsck on the export"
ex audit verify | grep -q 'journal chained' || fail "audit verify on the export"
ex audit verify --pubkey "$pub" | tee "$T/av.out"
grep -q 'journal intact' "$T/av.out" || fail "audit verify --pubkey on the export"
[ "$(ex cat model@v1 | sha256sum | cut -d' ' -f1)" = "$(sha "$T/m1.bin")" ] ||
	fail "cat model@v1 on the export"
expect_fail 1 ex put model "$T/m2.bin"
expect_err_has "export"
expect_fail 1 ex alias set model production v1
[ -e "$T/x/lock" ] && fail "a lock file left in the export"
[ -e "$T/x/reserve" ] && fail "a reserve file left in the export"
[ -z "$(find "$T/x" -newer "$T/stamp")" ] ||
	fail "written into the export: $(find "$T/x" -newer "$T/stamp")"

check "a closure export's journal holds the records about what it holds"
ex audit query >"$T/q.out"
grep -q 'version.create *\/artifacts\/data\/v1' "$T/q.out" || fail "data@v1's record left out"
grep -q 'version.create *\/artifacts\/model\/v1' "$T/q.out" || fail "model@v1's record left out"
grep -q 'run.seal *\/pipelines\/p\/runs\/r1' "$T/q.out" || fail "the producing run's records left out"
grep -q '/artifacts/model/v2' "$T/q.out" && fail "model@v2's record exported"
grep -q 'secret' "$T/q.out" && fail "a secret's record exported"
grep -q '^journal-omitted [1-9]' "$T/x/MANIFEST" || fail "no journal-omitted line"
sed 's/^/   | /' "$T/q.out"

check "a whole-store export verifies too"
afs export "$T/all" >/dev/null
grep -q '^version model 2 ' "$T/all/MANIFEST" || fail "model@v2 missing"
"$AFS" verify-export "$T/all" --pubkey "$pub" >/dev/null || fail "whole export"
"$AFS" --config "$T/empty.conf" --store "$T/all" audit query |
	grep -q '/artifacts/model/v2' || fail "a whole export lacks a record"
grep -q '^journal-omitted' "$T/all/MANIFEST" && fail "a whole export left records out"

check "progress lines on a terminal only: export, verify-export, gc"
head -c $((160 << 20)) /dev/urandom >"$T/big.bin"
afs put big "$T/big.bin" >/dev/null
rm "$T/big.bin"
if command -v script >/dev/null; then
	for c in "export $T/p.tar" "verify-export $T/p.tar --pubkey $pub" \
		"gc --dry-run"; do
		script -qec "'$AFS' --config '$T/empty.conf' --store '$S' $c" \
			/dev/null >"$T/tty.out" 2>&1 || fail "$c on a terminal: $(cat "$T/tty.out")"
		grep -q 'MB/s' "$T/tty.out" || fail "$c drew no progress line on a terminal"
		echo "   $c: $(tr '\r' '\n' <"$T/tty.out" | grep -a 'MB/s' | tail -n1 | tr -d '\033' | sed 's/\[K//')"
	done
	rm "$T/p.tar"
fi
afs export "$T/p.tar" >/dev/null 2>"$T/p.err"
"$AFS" verify-export "$T/p.tar" --pubkey "$pub" >/dev/null 2>>"$T/p.err"
afs gc --dry-run >/dev/null 2>>"$T/p.err"
grep -q $'\r' "$T/p.err" && fail "a progress line without a terminal"
rm "$T/p.tar"

check "a flipped byte in the MANIFEST is named"
cp -a "$T/x" "$T/x1"
sed -i 's/^version model 1 sha256:\(.\)/version model 1 sha256:0/' "$T/x1/MANIFEST"
cmp -s "$T/x/MANIFEST" "$T/x1/MANIFEST" && sed -i 's/^store ./store 0/' "$T/x1/MANIFEST"
verify_fails "$T/x1" MANIFEST

check "a flipped byte in an exported chunk is named"
cp -a "$T/x" "$T/x2"
python3 - "$T/x2/db" "$T/m1.bin" <<'PY' || fail "chunk bytes not found"
import os, sys
needle = open(sys.argv[2], 'rb').read()[100000:100064]
for f in os.listdir(sys.argv[1]):
    p = os.path.join(sys.argv[1], f)
    b = bytearray(open(p, 'rb').read())
    i = b.find(needle)
    if i >= 0:
        b[i + 10] ^= 0xff
        open(p, 'wb').write(b)
        sys.exit(0)
sys.exit(1)
PY
verify_fails "$T/x2" "model@v1"

check "a flipped byte in a journal record is named"
cp -a "$T/x" "$T/x3"
python3 - "$T/x3/db" <<'PY' || fail "journal bytes not found"
import os, sys
for f in sorted(os.listdir(sys.argv[1])):
    p = os.path.join(sys.argv[1], f)
    b = bytearray(open(p, 'rb').read())
    i = b.find(b'version.create')
    if i >= 0 and f.endswith('.sst'):
        b[i] ^= 0x01
        open(p, 'wb').write(b)
        sys.exit(0)
sys.exit(1)
PY
verify_fails "$T/x3" "journal"
check "a kept record turned into a stub is named (the MANIFEST signs the stubs)"
TAMPER=$(dirname "$AFS")/../tests/store/tamper_audit
if [ -x "$TAMPER" ]; then
	seq=$(awk '$4 == "version.create" && $5 == "/artifacts/data/v1" {print $1}' "$T/q.out")
	[ -n "$seq" ] || fail "no record of data@v1 in the export"
	cp -a "$T/x" "$T/x4"
	chmod -R u+w "$T/x4"
	sed -i "/^export$/d" "$T/x4/ARTIFACTFS" # writable for the tool
	"$TAMPER" "$T/x4" omit "$seq" || fail "tamper_audit omit failed"
	printf 'export\n' >>"$T/x4/ARTIFACTFS"
	"$AFS" --config "$T/empty.conf" --store "$T/x4" audit verify |
		grep -q 'journal chained' || fail "the chain alone should still check"
	verify_fails "$T/x4" "left out"
fi
echo "PASS"
