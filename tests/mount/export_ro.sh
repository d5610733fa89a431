#!/usr/bin/env bash
# A closure export mounted read-only (`mount --ro`): by an auditor (a
# non-root user with no binding) on a copy of its own made read-only
# (chmod -R a-w), and by root from a read-only bind mount for another
# user through allow_other.  The sha256sum of every file is the digest
# the command line reports; every write, mkdir, setfacl, setxattr, seal
# and alias move is EROFS; nothing is written into the export (no
# socket, lock, reserve, log); --readers GROUP keeps others out.
source "$(dirname "$0")/lib.sh" "$@"
ensure_user

afs init >/dev/null
mkrandom "$T/m1.bin" $((600 * 1024))
mkrandom "$T/m2.bin" $((300 * 1024))
afs put model "$T/m1.bin" >/dev/null
afs put model "$T/m2.bin" >/dev/null
mkdir -p "$T/tree/sub"
mkrandom "$T/tree/a.txt" 1000
mkrandom "$T/tree/sub/b.bin" $((2 << 20))
afs put ds "$T/tree" >/dev/null
afs run open p/r1 s >/dev/null
afs run input p/r1/s model@v1 >/dev/null
afs run input p/r1/s ds@v1 >/dev/null
mkrandom "$T/d1.bin" 5000
afs put --run p/r1/s data "$T/d1.bin" >/dev/null
afs run seal p/r1 >/dev/null
printf 'never-exported-secret-value' | afs secret set token - >/dev/null
afs export "$T/x" --closure data@latest >"$T/exp.out"
pub=$(sed -n 's/.*public key \(.*\))$/\1/p' "$T/exp.out")

# The auditor's copy: theirs, read-only.
A=$T/ax
AM=$T/am
cp -a "$T/x" "$A"
chown -R "$TUID:$TGID" "$A"
chmod -R a-w "$A"
mkdir "$AM"
chown "$TUID:$TGID" "$AM"
cp "$pub" "$T/store.sign.pub"
chmod 644 "$T/store.sign.pub"
touch "$T/stamp"
sleep 1

# mount_ro STORE MNT [ARGS...]: as the auditor (AS=user) or root, in the
# background; sets RPID and waits until MNT is a mount point.
RPID=""
mount_ro() {
	local st=$1 mnt=$2 i
	shift 2
	if [ "${AS:-}" = user ] && as_user test -w /dev/fuse; then
		as_user "$AFS" --config "$T/empty.conf" mount --ro --store "$st" \
			"$mnt" -f "$@" >"$T/ro.log" 2>&1 &
	elif [ "${AS:-}" = user ]; then
		# The user cannot open /dev/fuse here: root makes the mount
		# and hands the descriptor over; the daemon is the user's.
		echo "   (mounted by root through /dev/fd; the daemon runs as $TUSER)"
		"$PY" "$TESTS_DIR/fdmount.py" "$mnt" "$TUID" "$TGID" \
			env HOME=/ LC_ALL=C ASAN_OPTIONS="$ASAN_OPTIONS" \
			"$AFS" --config "$T/empty.conf" mount --ro --store "$st" \
			FD -f "$@" >"$T/ro.log" 2>&1 &
	else
		"$AFS" --config "$T/empty.conf" mount --ro --store "$st" "$mnt" \
			-f "$@" >"$T/ro.log" 2>&1 &
	fi
	RPID=$!
	CLEANUP+=("end_daemon '$mnt' $RPID")
	for ((i = 0; i < 300; i++)); do
		is_mounted "$mnt" && return 0
		kill -0 "$RPID" 2>/dev/null || fail "mount --ro exited: $(cat "$T/ro.log")"
		sleep 0.1
	done
	fail "$mnt not mounted: $(cat "$T/ro.log")"
}

unmount_ro() {
	local mnt=$1
	fusermount3 -u "$mnt" || fail "cannot unmount $mnt"
	wait_gone "$RPID" 300 || fail "daemon $RPID still running"
	wait "$RPID" || fail "mount --ro exited $?: $(cat "$T/ro.log")"
	if grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/ro.log"; then
		cat "$T/ro.log" >&2
		fail "sanitizer report in the read-only daemon's log"
	fi
}

# check_digests STORE MNT [RUNAS]: every file of every version the
# MANIFEST lists: sha256sum through the mount (as RUNAS: user or root)
# equals the digest 'artifactfs ls --json' reports on the export.
check_digests() {
	local st=$1 mnt=$2 who=${3:-root} n=0 a v p d got
	while read -r _ a v _; do
		while IFS=$'\t' read -r p d; do
			if [ "$who" = user ]; then
				got=$(as_user sha256sum "$mnt/artifacts/$a/v$v/$p" | cut -d' ' -f1)
			else
				got=$(sha256sum "$mnt/artifacts/$a/v$v/$p" | cut -d' ' -f1)
			fi
			[ "sha256:$got" = "$d" ] || defect "$a/v$v/$p: sha256 $got, digest $d"
			n=$((n + 1))
		done < <(files_of "$st" "$a@v$v")
	done < <(grep '^version ' "$st/MANIFEST")
	[ "$n" -ge 4 ] || defect "only $n files checked"
	echo "   $n files: sha256sum equals the digest"
}

# files_of STORE A@vN: "path<TAB>digest" of every file, from the CLI.
files_of() {
	as_user "$AFS" --config "$T/empty.conf" --store "$1" ls "$2" --json |
		"$PY" -c '
import json, subprocess, sys
afs, conf, st, ver = sys.argv[1:5]
def walk(prefix, items):
    for e in items:
        p = prefix + e["path"]
        if e["type"] == "file":
            print(p + "\t" + e["digest"])
        elif e["type"] == "dir":
            out = subprocess.run([afs, "--config", conf, "--store", st, "ls",
                                  ver + "/" + p, "--json"], check=True,
                                 capture_output=True).stdout
            walk(p + "/", json.loads(out))
walk("", json.load(sys.stdin))' "$AFS" "$T/empty.conf" "$1" "$2"
}

check "an auditor mounts a read-only copy of the export, no binding, no key"
AS=user mount_ro "$A" "$AM"
as_user ls "$AM/artifacts" | grep -qx data || defect "data not listed"
as_user ls "$AM/artifacts/model" | grep -qx v1 || defect "model/v1 not listed"
as_user ls "$AM/artifacts/model" | grep -qx v2 && defect "model/v2 exported"
as_user ls "$AM/artifacts" | grep -qx ds || defect "ds (upstream) not listed"
# shellcheck disable=SC2016 # expanded by the user's shell
as_user sh -c 'cat "$1"/audit/*.jsonl' - "$AM" | grep -q version.create ||
	defect "/audit unreadable"
check_digests "$A" "$AM" user

check "every change is EROFS"
M=$AM
for code in \
	'open(M + "/artifacts/model/v1/new", "w")' \
	'os.mkdir(M + "/pipelines/p/runs/r9")' \
	'os.mkdir(M + "/pipelines/q")' \
	'os.setxattr(M + "/artifacts/model", "user.x", b"1")' \
	'os.unlink(M + "/artifacts/model/latest")' \
	'os.symlink("v1", M + "/artifacts/model/production")' \
	'open(M + "/pipelines/p/runs/r1/control", "w").write("seal")'; do
	as_user "$PY" - "$AM" <<EOF >"$T/e.out" 2>&1 || true
import errno, os, sys
M = sys.argv[1]
try:
    $code
    print("no error")
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))
EOF
	case $(cat "$T/e.out") in
	EROFS) echo "   ok: EROFS from $code" ;;
	*) defect "'$code' gave $(cat "$T/e.out"), want EROFS" ;;
	esac
done
if as_user setfacl -m u:root:rx "$AM/artifacts/model" 2>"$T/sf.err"; then
	defect "setfacl succeeded"
else
	grep -q 'Read-only file system' "$T/sf.err" || defect "setfacl: $(cat "$T/sf.err")"
	echo "   ok: setfacl: $(cat "$T/sf.err")"
fi
for c in "run seal p/r1" "alias set model production v1" "put model $T/m2.bin"; do
	# shellcheck disable=SC2086 # words on purpose
	if as_user "$AFS" --config "$T/empty.conf" --store "$A" $c 2>"$T/c.err"; then
		defect "'$c' on the export succeeded"
	else
		grep -q 'read-only' "$T/c.err" || defect "'$c': $(cat "$T/c.err")"
		echo "   ok: $c: $(cat "$T/c.err")"
	fi
done

check "read commands on the mounted export, as the auditor"
as_user "$AFS" --config "$T/empty.conf" --store "$A" lineage data@v1 |
	grep -q model@v1 || defect "lineage on the mounted export"
as_user "$AFS" --config "$T/empty.conf" --store "$A" fsck | grep -q clean ||
	defect "fsck on the mounted export"
as_user "$AFS" --config "$T/empty.conf" --store "$A" audit verify \
	--pubkey "$T/store.sign.pub" | grep -q 'journal intact' ||
	defect "audit verify on the mounted export"
as_user "$AFS" verify-export "$A" --pubkey "$T/store.sign.pub" >/dev/null ||
	defect "verify-export of the mounted export"
unmount_ro "$AM"

check "nothing was written into the export"
written=$(find "$A" -newer "$T/stamp")
[ -z "$written" ] || defect "written into the export: $written"
for f in daemon.sock lock reserve spool; do
	[ -e "$A/$f" ] && defect "$f in the export"
done

check "root mounts it from a read-only bind mount; another user reads"
R=$T/rox
mkdir "$R" "$T/rm"
mount --bind "$T/x" "$R" && mount -o remount,bind,ro "$R" ||
	skip "no read-only bind mount"
CLEANUP+=("umount -l '$R'")
touch "$R/probe" 2>/dev/null && fail "the bind mount is writable"
mount_ro "$R" "$T/rm" -o allow_other
check_digests "$R" "$T/rm" user
unmount_ro "$T/rm"

check "--readers GROUP: only that group reads"
mount_ro "$R" "$T/rm" -o allow_other --readers root
if as_user cat "$T/rm/artifacts/data/v1/d1.bin" >/dev/null 2>"$T/r.err"; then
	defect "a user outside --readers read the export"
else
	echo "   ok: $(cat "$T/r.err")"
fi
unmount_ro "$T/rm"
mount_ro "$R" "$T/rm" -o allow_other --readers "$(id -gn "$TUSER")"
as_user cat "$T/rm/artifacts/data/v1/d1.bin" | cmp -s - "$T/d1.bin" ||
	defect "a member of --readers cannot read"
unmount_ro "$T/rm"

check "an export as one tar file: verified, mounted, removed at unmount"
afs export "$T/x.tar" --closure data@latest >/dev/null
[ -f "$T/x.tar" ] || fail "no tar file"
ls -d "$T"/x.tar.* 2>/dev/null && defect "the export's directory left beside the tar"
tar -tf "$T/x.tar" >"$T/tar.list" || defect "tar -t cannot read it"
grep -q '^MANIFEST$' "$T/tar.list" || defect "tar -t does not list MANIFEST"
"$AFS" verify-export "$T/x.tar" --pubkey "$T/store.sign.pub" | tee "$T/vt.out"
grep -q verified "$T/vt.out" || defect "verify-export of the tar file"
mkdir "$T/tmpd" "$T/tm"
TMPDIR=$T/tmpd mount_ro "$T/x.tar" "$T/tm" -o allow_other
[ -n "$(ls "$T/tmpd")" ] || defect "nothing unpacked into TMPDIR"
check_digests "$T/x" "$T/tm" user
unmount_ro "$T/tm"
[ -z "$(ls "$T/tmpd")" ] || defect "the unpacked export stays after unmount: $(ls "$T/tmpd")"

check "a flipped byte in a chunk of the tar file is named"
cp "$T/x.tar" "$T/bad.tar"
"$PY" - "$T/bad.tar" "$T/m1.bin" <<'PY' || fail "chunk bytes not found"
import sys
needle = open(sys.argv[2], 'rb').read()[100000:100064]
b = bytearray(open(sys.argv[1], 'rb').read())
i = b.find(needle)
if i < 0:
    sys.exit(1)
b[i + 10] ^= 0xff
open(sys.argv[1], 'wb').write(b)
PY
if "$AFS" verify-export "$T/bad.tar" --pubkey "$T/store.sign.pub" 2>"$T/vb.err"; then
	defect "verify-export passed a flipped byte"
else
	grep -q 'model@v1' "$T/vb.err" || defect "not named: $(cat "$T/vb.err")"
	echo "   ok: $(tail -n1 "$T/vb.err")"
fi

check "--ro of a live store is refused"
if "$AFS" --config "$T/empty.conf" mount --ro --store "$S" "$T/rm" -f \
	2>"$T/l.err"; then
	defect "--ro mounted a live store"
else
	echo "   ok: $(cat "$T/l.err")"
fi
finish
