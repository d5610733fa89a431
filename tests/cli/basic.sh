#!/usr/bin/env bash
# The main job, end to end: init, put a file and a tree, put again
# (deduplicated), read everything back byte for byte with cat and get,
# ls in every form (human and JSON), aliases, fsck, gc and --help.
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

check "init creates the store, and again is a no-op"
out=$(afs init)
[ "$out" = "initialized store at $S" ] || fail "init said: $out"
out=$(afs init)
[ "$out" = "store at $S already initialized" ] || fail "init said: $out"

check "init refuses a non-empty directory that is not a store"
mkdir "$T/foreign"
echo data >"$T/foreign/file"
expect_fail 1 "$AFS" --config "$T/empty.conf" --store "$T/foreign" init
[ -f "$T/foreign/file" ] || fail "foreign file was touched"

check "test data: a random 3 MiB file and a tree with dirs, links, modes"
head -c $((3 * 1024 * 1024 + 123)) /dev/urandom >"$T/big.bin"
D=$T/tree
mkdir -p "$D/sub/deeper" "$D/empty"
echo "hello artifactfs" >"$D/a.txt"
head -c 300000 /dev/urandom >"$D/sub/deeper/b.bin"
printf '#!/bin/sh\necho run\n' >"$D/run.sh"
chmod 755 "$D/run.sh"
echo secret >"$D/sub/private.txt"
chmod 600 "$D/sub/private.txt"
: >"$D/sub/empty.txt"
ln -s a.txt "$D/link"
ln -s ../a.txt "$D/sub/up"
chmod 750 "$D/sub/deeper"

check "put a file prints name@v1 sha256:<hex>"
out=$(afs put blob "$T/big.bin")
echo "   $out"
[[ $out =~ ^blob@v1\ sha256:[0-9a-f]{64}$ ]] || fail "put said: $out"
blob_digest=${out#* }

check "put a directory tree"
out=$(afs put tree "$D")
echo "   $out"
[[ $out =~ ^tree@v1\ sha256:[0-9a-f]{64}$ ]] || fail "put said: $out"
tree_digest=${out#* }

check "the same content again: v2, same digest, no new chunks"
chunks=$(stat_field chunks)
stored=$(stat_field stored_bytes)
out=$(afs put blob "$T/big.bin")
[ "$out" = "blob@v2 $blob_digest" ] || fail "second put said: $out"
out=$(afs put tree "$D/")
[ "$out" = "tree@v2 $tree_digest" ] || fail "second tree put said: $out"
[ "$(stat_field chunks)" = "$chunks" ] || fail "chunk count changed"
[ "$(stat_field stored_bytes)" = "$stored" ] || fail "stored bytes changed"
[ "$(stat_field versions)" = 4 ] || fail "want 4 versions"

check "put --json, put from standard input, put several paths"
afs put --json blob "$T/big.bin" | json_ok
afs put --json blob "$T/big.bin" |
	json_eval "j['ref'] == 'v4' and j['digest'] == '$blob_digest'" |
	grep -qx True || fail "put --json fields"
echo "from stdin" | afs put notes - --name notes.txt >/dev/null
[ "$(afs cat notes)" = "from stdin" ] || fail "stdin put round trip"
out=$(afs put pair "$D/a.txt" "$D/run.sh")
[[ $out =~ ^pair@v1 ]] || fail "multi-path put said: $out"
afs ls pair@v1 | grep -q ' a.txt$' || fail "pair lacks a.txt"
afs ls pair@v1 | grep -q '^-rwxr-xr-x .* run.sh$' || fail "pair run.sh mode"

check "cat round trip (explicit path, single-file root, latest, v2)"
afs cat blob@v1/big.bin | cmp - "$T/big.bin"
afs cat blob@v1 | cmp - "$T/big.bin"
afs cat blob | cmp - "$T/big.bin"
afs cat blob@latest | cmp - "$T/big.bin"
afs cat tree@v1/sub/deeper/b.bin | cmp - "$D/sub/deeper/b.bin"
afs cat tree@v2/a.txt | cmp - "$D/a.txt"
afs cat tree@v1/sub/empty.txt | cmp - "$D/sub/empty.txt"

check "cat follows a symlink inside the version"
afs cat tree@v1/sub/up | cmp - "$D/a.txt"

check "cat of a directory is one clear error"
expect_fail 1 afs cat tree@v1/sub
expect_err_has "directory"
expect_fail 1 afs cat tree@v1

check "get a single file, verified"
afs get blob@v1 "$T/out.bin"
cmp "$T/out.bin" "$T/big.bin"
afs get tree@v1/run.sh "$T/run.sh"
[ "$(stat -c %a "$T/run.sh")" = 755 ] || fail "run.sh mode not kept"
mkdir "$T/into"
afs get tree@v1/a.txt "$T/into"
cmp "$T/into/a.txt" "$D/a.txt"

check "get refuses to overwrite, unless --force"
expect_fail 1 afs get blob@v1 "$T/out.bin"
expect_err_has "exists"
echo junk >"$T/out.bin"
afs get --force blob@v1 "$T/out.bin"
cmp "$T/out.bin" "$T/big.bin"

check "get a whole tree: every byte, mode and link comes back"
afs get tree@v1 "$T/copy"
listing() {
	(cd "$1" && find . -mindepth 1 \( -type d -printf '%P %y %m\n' \) \
		-o -printf '%P %y %m %s %l\n' | sort)
}
diff <(listing "$D") <(listing "$T/copy") || fail "tree listing differs"
(cd "$D" && find . -type f -print0 | sort -z | xargs -0 sha256sum) \
	>"$T/sums"
(cd "$T/copy" && sha256sum --quiet -c "$T/sums") || fail "content differs"
expect_fail 1 afs get tree@v1 "$T/copy"
afs get --force tree@v1 "$T/copy"
diff <(listing "$D") <(listing "$T/copy") || fail "forced tree differs"
afs get tree@v1/sub "$T/subcopy"
diff <(listing "$D/sub") <(listing "$T/subcopy") || fail "subtree differs"
leftover=$(find "$T" -maxdepth 1 -name '*.afs-*')
[ -z "$leftover" ] || fail "temporary files left behind: $leftover"

check "ls: artifacts, versions, files (human and JSON)"
afs ls
afs ls | grep -q '^blob ' || fail "ls lacks blob"
afs ls | grep -q '^tree ' || fail "ls lacks tree"
afs ls --json | json_ok
afs ls --json | json_eval "sorted(a['artifact'] for a in j)" |
	grep -q "'blob', 'notes', 'pair', 'tree'" || fail "ls --json names"
afs ls blob
[ "$(afs ls blob | grep -c '^v[0-9]')" = 4 ] || fail "ls blob: want 4 versions"
afs ls blob --json | json_ok
afs ls blob --json | json_eval "[v['version'] for v in j]" |
	grep -qx '\[1, 2, 3, 4\]' || fail "ls blob --json versions"
afs ls tree@v1
afs ls tree@v1 | grep -q deeper && fail "ls recursed without -R"
afs ls tree@v1 | grep -q '^d.* sub/$' || fail "ls lacks sub/"
afs ls tree@v1 | grep -q '^l.* link -> a.txt$' || fail "ls lacks link"
afs ls -R tree@v1 | grep -q ' sub/deeper/b.bin$' || fail "ls -R lacks b.bin"
afs ls -R tree@v1/sub | grep -q ' deeper/b.bin$' || fail "ls -R sub"
afs ls -R --json tree@v1 | json_ok
afs ls -R --json tree@v1 | json_eval \
	"{e['path']: (e['type'], e['mode']) for e in j}['sub/deeper']" |
	grep -qx "('dir', '0750')" || fail "ls -R --json dir entry"
afs ls --json tree@v1/link | json_eval "j[0]['target']" |
	grep -qx a.txt || fail "ls --json symlink target"

check "aliases: set, resolve via cat, list, remove"
afs put blob "$T/out.bin" >/dev/null # v5
echo changed >"$T/changed.bin"
afs put blob "$T/changed.bin" >/dev/null # v6
afs alias set blob production v1
afs cat blob@production | cmp - "$T/big.bin"
afs alias set blob production 6
afs cat blob@production | cmp - "$T/changed.bin"
afs alias ls blob | grep -q '^production *v6$' || fail "alias ls"
afs alias ls blob --json | json_ok
afs alias ls blob --json |
	json_eval "{a['alias']: a['version'] for a in j}['latest']" |
	grep -qx 6 || fail "alias ls --json latest"
afs ls blob | grep -q '^v6 .*latest,production$\|^v6 .*production,latest$' ||
	fail "ls blob lacks the aliases of v6"
afs alias rm blob production
expect_fail 1 afs cat blob@production

check "fsck is clean; gc finds nothing to remove"
afs fsck | grep -q ': clean$' || fail "fsck not clean"
afs fsck --json | json_eval "j['clean']" | grep -qx True || fail "fsck json"
afs gc --dry-run | grep -q '^would remove 0 chunks' || fail "gc dry run"
afs gc --json | json_ok

check "stats shows the sizes and the dedup ratio"
afs stats
afs stats | grep -Eq '^ratio +[0-9]+\.[0-9]{2}x' || fail "stats ratio"
afs stats --json | json_ok

check "--help and --version"
"$AFS" --version | grep -q '^artifactfs ' || fail "--version"
"$AFS" --help | grep -q '^usage:' || fail "--help"
"$AFS" help | grep -q '^usage:' || fail "help"
for c in init put cat get ls alias stats fsck gc help; do
	"$AFS" "$c" --help | grep -q "^usage: artifactfs $c" ||
		fail "$c --help"
	"$AFS" help "$c" >/dev/null || fail "help $c"
done

echo "PASS"
