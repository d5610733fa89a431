#!/usr/bin/env bash
# Where the store is (--store, $ARTIFACTFS_STORE, the config file, the
# default under $HOME) and how the configuration file is read and refused.
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh" "$@"

E=$T/empty.conf
echo "some bytes" >"$T/f.bin"

check "the default store is \$HOME/.local/share/artifactfs"
out=$("$AFS" --config "$E" init)
[ "$out" = "initialized store at $HOME/.local/share/artifactfs" ] ||
	fail "init said: $out"
[ -f "$HOME/.local/share/artifactfs/ARTIFACTFS" ] || fail "no default store"
"$AFS" --config "$E" put home "$T/f.bin" >/dev/null
"$AFS" --config "$E" ls | grep -q '^home ' || fail "default store unused"

check "ARTIFACTFS_STORE overrides the default"
export ARTIFACTFS_STORE=$T/envstore
"$AFS" --config "$E" init | grep -qx "initialized store at $T/envstore" ||
	fail "init ignored ARTIFACTFS_STORE"
"$AFS" --config "$E" put env "$T/f.bin" >/dev/null
"$AFS" --config "$E" ls | grep -q '^env ' || fail "env store unused"
"$AFS" --config "$E" ls | grep -q '^home ' && fail "env store holds home"

check "--store overrides ARTIFACTFS_STORE, before or after the command"
"$AFS" --config "$E" --store "$T/optstore" init >/dev/null
"$AFS" --config "$E" put --store "$T/optstore" opt "$T/f.bin" >/dev/null
"$AFS" ls --config "$E" --store "$T/optstore" | grep -q '^opt ' ||
	fail "--store after the command ignored"
"$AFS" --config "$E" ls | grep -q '^opt ' && fail "--store leaked"

check "the config file's store is used when neither is given"
cat >"$T/good.conf" <<CONF
# artifactfs test configuration
store = "$T/cfgstore";
chunk: { min = 65536; avg = 262144; max = 1048576; };
zstd_level = 3;
threads = 0;
min_saving_pct = 5;
CONF
unset ARTIFACTFS_STORE
"$AFS" --config "$T/good.conf" init | grep -qx "initialized store at $T/cfgstore" ||
	fail "config store unused"
ARTIFACTFS_STORE=$T/envstore "$AFS" --config "$T/good.conf" ls |
	grep -q '^env ' || fail "ARTIFACTFS_STORE must beat the config file"

check "chunk settings from the config file are applied"
head -c $((2 * 1024 * 1024)) /dev/urandom >"$T/rand.bin"
cat >"$T/small.conf" <<CONF
store = "$T/smallstore";
chunk: { min = 4096; avg = 16384; max = 65536; };
zstd_level = 0;
CONF
"$AFS" --config "$T/small.conf" init >/dev/null
d_small=$("$AFS" --config "$T/small.conf" put r "$T/rand.bin" | cut -d' ' -f2)
d_dflt=$("$AFS" --config "$T/good.conf" put r "$T/rand.bin" | cut -d' ' -f2)
[ "$d_small" = "$d_dflt" ] || fail "digest depends on chunking"
n_small=$("$AFS" --config "$T/small.conf" stats --json | json_eval "j['chunks']")
n_dflt=$("$AFS" --config "$T/good.conf" stats --json | json_eval "j['chunks']")
echo "   chunks: $n_small with avg 16 KiB, $n_dflt with avg 256 KiB"
[ "$n_small" -gt "$n_dflt" ] || fail "small chunk settings not applied"

# refused NAME CONTENT WANT: a file NAME holding CONTENT (printf) is
# refused, exit 2, with WANT in the message; a WANT that is empty or
# starts with ':' follows the file's path (":3": its line 3).
refused() {
	local f=$T/$1 want=$3
	# shellcheck disable=SC2059
	printf "$2" >"$f"
	expect_fail 2 "$AFS" --config "$f" ls
	case $want in "" | :*) want=$f$want ;; esac
	expect_err_has "$want"
}

check "the audit group: automatic checkpoints of the mount daemon"
cat >"$T/audit.conf" <<CONF
audit: { checkpoint_records = 0; checkpoint_seconds = 60;
         checkpoint_dir = "$T/cps"; };
CONF
"$AFS" --config "$T/audit.conf" ls >/dev/null || fail "the audit group refused"
refused atypo.conf 'audit: { checkpoint_record = 5; };\n' "audit.checkpoint_record'"
refused arel.conf 'audit: { checkpoint_dir = "cps"; };\n' "must be an absolute path"
refused aneg.conf 'audit: { checkpoint_seconds = -1; };\n' ":1"
refused agrp.conf 'audit = 5;\n' "'audit' must be a group"

check "a syntax error names the file and the line, exit 2"
refused bad.conf 'zstd_level = 3;\nstore = ;\n' ":2"

check "unknown settings, wrong types, bad values: exit 2 naming the file"
refused typo.conf 'zstd_level = 3;\n\nzstd_levle = 4;\n' ":3"
refused typo2.conf 'chunk: { min = 4096; mid = 5; };\n' "chunk.mid"
refused type.conf 'threads = "four";\n' ":1"
refused val.conf 'chunk: { min = 65536; avg = 100000; max = 1048576; };\n' ""
refused grace.conf 'zstd_level = 3;\ngc_grace = "2x";\n' ":2: 'gc_grace' must be a duration"
refused grace.conf 'gc_grace = "30d";\n' "up to a week"
printf 'min_saving_pct = -1;\n' >"$T/neg.conf"
expect_fail 2 "$AFS" --config "$T/neg.conf" ls
expect_fail 2 "$AFS" --config "$T/missing.conf" ls
expect_err_has "$T/missing.conf"

check "a --config file may not @include another (read with the daemon's rights)"
printf 'threads = 1;\n' >"$T/inc-target.conf"
printf 'zstd_level = 3;\n  @include "%s"\n' "$T/inc-target.conf" >"$T/inc.conf"
expect_fail 2 "$AFS" --config "$T/inc.conf" ls
expect_err_has "$T/inc.conf:2: @include is not allowed"

check "without HOME the default comes from the password database"
home=$(getent passwd "$(id -u)" | cut -d: -f6)
if [ -n "$home" ] && [ ! -e "$home/.local/share/artifactfs" ]; then
	expect_fail 1 env -u HOME "$AFS" --config "$E" ls
	expect_err_has "$home/.local/share/artifactfs"
else
	echo "   (skipped: $home/.local/share/artifactfs exists)"
fi

echo "PASS"
