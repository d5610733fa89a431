#!/usr/bin/env bash
# Kernel caching of sealed versions on a shared mount (-o allow_other):
# a warm reread of a sealed file is served from the page cache and makes
# (almost) no request to the daemon, yet whatever changes what a node
# shows is seen at once by another user, and a user without a role is
# refused a file another user has cached.
#
#   - a reread of a cached sealed file (dd bs=64k, 512 reads) costs the
#     daemon a handful of read(2)s of /dev/fuse (/proc/PID/io syscr), not
#     one GETATTR per read;
#   - a user with no role gets EACCES on stat and open of that file, and
#     of the version directory, while another user has them cached; a
#     role held through a supplementary group is not remembered for the
#     user's processes without it;
#   - a seal made by one user shows its new version (and latest) at once
#     to another who listed the artifact before;
#   - an alias moved by a command shows its new target at once;
#   - a binding revoked: the user's stat and open of a file they had read
#     are EACCES at once; granted again, they work again;
#   - gc deleting a version: a stat of the version (its name was cached as
#     a directory's) and of a file in it are ENOENT at once, and the
#     artifact's listing no longer shows it.
source "$(dirname "$0")/lib.sh" "$@"
command -v setpriv >/dev/null || skip "no setpriv"
command -v useradd >/dev/null || skip "no useradd"

make_user afs-t-warm-reader
make_user afs-t-warm-none
RUID=$(id -u afs-t-warm-reader)
NUID=$(id -u afs-t-warm-none)
GID=$(getent group nogroup | cut -d: -f3)
GID=${GID:-65534}

# as UID CMD...: CMD as that user, no supplementary groups.
as() {
	local uid=$1
	shift
	(cd / && setpriv --reuid="$uid" --regid="$GID" --clear-groups \
		env HOME=/ PATH=/usr/local/bin:/usr/bin:/bin LC_ALL=C "$@")
}

# errno_as UID WANT PYCODE: PYCODE (M set) run as UID must raise WANT
# ("A|B" for either), or print "no error" when WANT is "ok".
errno_as() {
	local uid=$1 want=$2 code=$3 got
	got=$(as "$uid" "$PY" - "$M" <<EOF 2>&1
import errno, os, sys
M = sys.argv[1]
try:
$(printf '%s\n' "$code" | sed 's/^/    /')
    print("ok")
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))
EOF
) || true
	case "|$want|" in
	*"|$got|"*) echo "   ok: uid $uid: $got from: $code" ;;
	*) defect "uid $uid: '$code' gave $got, want $want" ;;
	esac
}

# syscr: read(2) calls the daemon made so far (each FUSE request is one).
syscr() {
	awk '/^syscr:/ { print $2 }' "/proc/$DPID/io"
}

afs init >/dev/null || fail "init"
mkrandom "$T/big.bin" $((32 << 20))
mkdir -p "$T/tree/sub"
echo one >"$T/tree/sub/a.txt"
afs put big "$T/big.bin" >/dev/null || fail "put big"
for i in 1 2 3; do
	echo "junk $i" >"$T/junk.txt"
	afs put junk "$T/junk.txt" >/dev/null || fail "put junk $i"
done
afs role grant reader afs-t-warm-reader >/dev/null || fail "role grant"
start_daemon
F=$M/artifacts/big/v1/big.bin

check "a warm reread of a sealed file makes no request per read"
[ "$(as "$RUID" sha256sum "$F" | cut -d' ' -f1)" = "$(sha "$T/big.bin")" ] ||
	fail "the sealed file reads wrong"
before=$(syscr)
as "$RUID" dd if="$F" of=/dev/null bs=64k status=none || fail "reread"
after=$(syscr)
echo "   daemon read(2)s for 512 reads of 64 KiB: $((after - before))"
[ $((after - before)) -lt 40 ] ||
	defect "a warm reread of 512 reads made $((after - before)) daemon reads"

check "a user without a role: EACCES on what another user has cached"
errno_as "$NUID" EACCES "os.stat(M + '/artifacts/big/v1/big.bin')"
errno_as "$NUID" EACCES "open(M + '/artifacts/big/v1/big.bin', 'rb')"
errno_as "$NUID" EACCES "os.stat(M + '/artifacts/big/v1')"
errno_as "$NUID" EACCES "os.listdir(M + '/artifacts/big/v1')"
errno_as "$RUID" ok "os.stat(M + '/artifacts/big/v1/big.bin')"
errno_as "$NUID" EACCES "os.stat(M + '/artifacts/big/v1/big.bin')"

check "a role held through a group: not remembered for the user alone"
groupadd -f afs-t-warm-group
WG=$(getent group afs-t-warm-group | cut -d: -f3)
afs role grant reader @afs-t-warm-group --scope /artifacts/big >/dev/null ||
	fail "role grant @group"
for i in 1 2; do
	(cd / && setpriv --reuid="$NUID" --regid="$GID" --groups="$WG" \
		stat "$F" >/dev/null) || defect "stat with the group refused ($i)"
done
errno_as "$NUID" EACCES "os.stat(M + '/artifacts/big/v1/big.bin')"
errno_as "$NUID" EACCES "open(M + '/artifacts/big/v1/big.bin', 'rb')"
afs role revoke reader @afs-t-warm-group --scope /artifacts/big >/dev/null ||
	fail "role revoke @group"

check "a seal by root shows at once to the reader who listed before"
as "$RUID" ls "$M/artifacts" >/dev/null
errno_as "$RUID" ENOENT "os.stat(M + '/artifacts/model')"
R=$M/pipelines/p/runs/r1
mkdir -p "$R/steps/s/outputs/model"
echo v1 >"$R/steps/s/outputs/model/w.txt"
as "$RUID" ls "$M/artifacts" >/dev/null
echo seal >"$R/control"
as "$RUID" ls "$M/artifacts" | grep -qx model ||
	defect "the sealed run's artifact is not listed to the reader"
[ "$(as "$RUID" cat "$M/artifacts/model/latest/w.txt" 2>&1)" = v1 ] ||
	defect "model/latest/w.txt does not read v1"
R2=$M/pipelines/p/runs/r2
mkdir -p "$R2/steps/s/outputs/model"
echo v2 >"$R2/steps/s/outputs/model/w.txt"
echo seal >"$R2/control"
[ "$(as "$RUID" cat "$M/artifacts/model/latest/w.txt" 2>&1)" = v2 ] ||
	defect "after a second seal, model/latest/w.txt does not read v2"

check "an alias moved by a command shows at once"
afs alias set model prod v1 >/dev/null || fail "alias set v1"
[ "$(as "$RUID" cat "$M/artifacts/model/prod/w.txt" 2>&1)" = v1 ] ||
	defect "prod/w.txt does not read v1"
afs alias set model prod v2 >/dev/null || fail "alias set v2"
[ "$(as "$RUID" readlink "$M/artifacts/model/prod")" = v2 ] ||
	defect "prod does not point to v2 after the move"
[ "$(as "$RUID" cat "$M/artifacts/model/prod/w.txt" 2>&1)" = v2 ] ||
	defect "prod/w.txt does not read v2 after the move"

check "a binding revoked: stat and open are refused at once"
as "$RUID" stat "$F" >/dev/null || defect "the reader cannot stat before"
as "$RUID" dd if="$F" of=/dev/null bs=1M count=1 status=none
afs role revoke reader afs-t-warm-reader >/dev/null || fail "role revoke"
errno_as "$RUID" EACCES "os.stat(M + '/artifacts/big/v1/big.bin')"
errno_as "$RUID" EACCES "open(M + '/artifacts/big/v1/big.bin', 'rb')"
errno_as "$RUID" EACCES "os.stat(M + '/artifacts/big/v1')"
afs role grant reader afs-t-warm-reader >/dev/null || fail "role grant again"
errno_as "$RUID" ok "open(M + '/artifacts/big/v1/big.bin', 'rb').read(1)"

check "gc deleting a version: gone at once for another user"
as "$RUID" cat "$M/artifacts/junk/v1/junk.txt" >/dev/null ||
	defect "junk/v1 unreadable before gc"
as "$RUID" ls "$M/artifacts/junk/v1" >/dev/null
as "$RUID" stat "$M/artifacts/junk/v1" >/dev/null
printf 'retention = ( { artifact = "junk"; keep_last = 1; } );\n' \
	>"$T/keep1.conf"
"$AFS" --config "$T/keep1.conf" --store "$S" gc >"$T/gc.out" 2>&1 ||
	fail "gc: $(cat "$T/gc.out")"
errno_as "$RUID" ENOENT "os.stat(M + '/artifacts/junk/v1')"
errno_as "$RUID" ENOENT "os.stat(M + '/artifacts/junk/v1/junk.txt')"
errno_as "$RUID" ENOENT "os.stat(M + '/artifacts/junk/v2')"
as "$RUID" ls "$M/artifacts/junk" >"$T/junk.ls"
grep -qx v1 "$T/junk.ls" && defect "junk/v1 still listed after gc"
grep -qx v3 "$T/junk.ls" || defect "junk/v3 not listed after gc"
[ "$(as "$RUID" cat "$M/artifacts/junk/v3/junk.txt")" = "junk 3" ] ||
	defect "junk/v3 does not read after gc"

stop_daemon
finish
