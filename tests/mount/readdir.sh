#!/usr/bin/env bash
# Listings of big directories: memory that does not grow per open
# handle, and listings that stay right while the directory changes.
#
#   - a directory of N entries in an open run, then the same sealed:
#     ls -f | wc -l shows N + 2 (with . and ..), alone and 8 at once (as root and two non-root users);
#   - HANDLES directory streams held open on it at once (os.scandir,
#     each past its first entry, so each has had its opendir and first
#     readdir): the daemon's resident set (VmRSS) grows less than
#     GROWTH_KIB, whatever N (a copy of the listing per handle would
#     cost HANDLES times the listing);
#   - entries created and removed while a listing is read (committed
#     files, and files still open after their create): no name twice,
#     no error, every entry there all along is listed;
#   - telldir then seekdir back to a returned offset: the listing goes on
#     from the same entry;
#   - 1,500 runs of a pipeline listed while runs are added, and 1,500
#     artifacts: each once, none missing.
#
# After each step the daemon's peak (VmHWM) and current (VmRSS) resident
# sets are printed on a line "readdir: STEP n=N hwm_kib=K rss_kib=K
# secs=S" (S: the step's elapsed seconds).
# READDIR_N (default 20,000), READDIR_HANDLES (32) and
# READDIR_GROWTH_KIB (4096) override them;
# READDIR_N=100000 gives the figures the README quotes.
source "$(dirname "$0")/lib.sh" "$@"

N=${READDIR_N:-20000}
HANDLES=${READDIR_HANDLES:-32}
GROWTH_KIB=${READDIR_GROWTH_KIB:-4096}
# AddressSanitizer keeps freed blocks in a quarantine, which would count
# every reply's buffers as growth: off for this daemon.
export ASAN_OPTIONS=$ASAN_OPTIONS:quarantine_size_mb=0

LAST=$(date +%s%N)
mem() { # STEP: prints the daemon's VmHWM and VmRSS, the step's seconds
	local now ms
	now=$(date +%s%N)
	ms=$(((now - LAST) / 1000000))
	LAST=$now
	echo "readdir: $1 n=$N hwm_kib=$(daemon_kib VmHWM)" \
		"rss_kib=$(daemon_kib VmRSS) secs=$((ms / 1000)).$((ms % 1000 / 100))"
}

ensure_user
make_user afs-mount-test2
U2=$(id -u afs-mount-test2)
afs init >/dev/null
# The two users read what root writes: readers of the whole store.
afs role grant admin root >/dev/null
afs role grant reader "$TUSER" >/dev/null
afs role grant reader afs-mount-test2 >/dev/null
start_daemon
mem start
O=$M/pipelines/p/runs/r1/steps/s/outputs/big
mkdir -p "$O" || fail "mkdir -p $O"

check "a directory of $N entries in an open run"
"$PY" - "$O" "$N" <<'EOF' || fail "writing $N entries"
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    with open(os.path.join(root, "entry-%07d" % i), "w") as f:
        f.write("%d\n" % i)
EOF
mem create

# Listings run as root and as two non-root users at once.
as() { # WHO CMD...: root, the test user or the second one
	local who=$1
	shift
	case $who in
	root) "$@" ;;
	u1) as_user "$@" ;;
	u2) (cd / && setpriv --reuid="$U2" --regid="$TGID" --clear-groups \
		env HOME=/ PATH=/usr/local/bin:/usr/bin:/bin LC_ALL=C "$@") ;;
	esac
}

# list_all DIR WHEN: one ls -f, then 8 at once (by root and two non-root
# users), each must count N + 2.
list_all() {
	local d=$1 when=$2 got i pids=() who=(root u1 u2 u1 root u2 u1 u2)
	got=$(ls -f "$d" | wc -l)
	[ "$got" -eq $((N + 2)) ] || defect "$when: ls -f | wc -l = $got, want $((N + 2))"
	mem "ls-$when"
	for i in 1 2 3 4 5 6 7 8; do
		as "${who[i - 1]}" ls -f "$d" 2>"$T/ls.err.$i" | wc -l >"$T/ls.$i" &
		pids+=($!)
	done
	wait "${pids[@]}" || true # the counts below tell
	for i in 1 2 3 4 5 6 7 8; do
		got=$(cat "$T/ls.$i")
		[ "$got" -eq $((N + 2)) ] ||
			defect "$when: ls -f number $i of 8 (${who[i - 1]}) counted $got, want $((N + 2)): $(head -c 200 "$T/ls.err.$i")"
	done
	mem "ls8-$when"
}

# held DIR WHEN: HANDLES streams open on DIR at once; VmRSS growth.
held() {
	local out
	out=$("$PY" - "$1" "$HANDLES" "$DPID" <<'EOF'
import os, sys
d, h, pid = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def rss():
    with open("/proc/%s/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
# One stream first: what any listing costs once (caches, threads).
it = os.scandir(d); next(it); it.close()
before = rss()
its = []
for _ in range(h):
    it = os.scandir(d)
    next(it)
    its.append(it)
after = rss()
for it in its:
    it.close()
print(after - before)
EOF
) || fail "$2: holding $HANDLES streams failed"
	echo "readdir: held-$2 n=$N handles=$HANDLES rss_growth_kib=$out"
	[ "$out" -le "$GROWTH_KIB" ] ||
		defect "$2: $HANDLES open streams grew the daemon by $out KiB, over $GROWTH_KIB KiB"
}

check "listings of the open directory"
list_all "$O" open
check "$HANDLES streams held open on the open directory"
held "$O" open

check "entries added and removed while a listing is read"
C=$M/pipelines/p/runs/r1/steps/s/outputs/churn
mkdir "$C" || fail "mkdir $C"
"$PY" - "$C" <<'EOF' || defect "listing while entries come and go"
import os, sys
d = sys.argv[1]
for i in range(3000):
    open(os.path.join(d, "c-%05d" % i), "w").close()
def churn(step, held):
    # Before and after the cursor: new committed files, files still open
    # after their create, removed ones.
    for k in range(3):
        open(os.path.join(d, "a-%03d-%d" % (step, k)), "w").close()
        open(os.path.join(d, "z-%03d-%d" % (step, k)), "w").close()
    held.append(open(os.path.join(d, "m-%03d" % step), "w"))
    for name in ("c-%05d" % (step * 7 % 3000), "c-%05d" % (2999 - step)):
        try:
            os.unlink(os.path.join(d, name))
        except FileNotFoundError:
            pass
seen, held, removed = [], [], set()
with os.scandir(d) as it:
    for i, e in enumerate(it):
        seen.append(e.name)
        if i % 50 == 0:
            step = i // 50
            removed |= {"c-%05d" % (step * 7 % 3000), "c-%05d" % (2999 - step)}
            churn(step, held)
for f in held:
    f.close()
dups = sorted({x for x in seen if seen.count(x) > 1}) if len(seen) != len(set(seen)) else []
missing = [n for n in ("c-%05d" % i for i in range(3000))
           if n not in removed and n not in set(seen)]
print("   listed %d names while %d were removed and others added" % (len(seen), len(removed)))
if dups:
    print("DUPLICATES: %s" % dups[:10]); sys.exit(1)
if missing:
    print("MISSING: %s" % missing[:10]); sys.exit(1)
EOF

check "telldir, then seekdir back to a returned offset"
seekcheck() {
	"$PY" - "$1" <<'EOF' || defect "seekdir in $1"
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
class dirent(ctypes.Structure):
    _fields_ = [("d_ino", ctypes.c_uint64), ("d_off", ctypes.c_int64),
                ("d_reclen", ctypes.c_ushort), ("d_type", ctypes.c_ubyte),
                ("d_name", ctypes.c_char * 256)]
libc.opendir.restype = ctypes.c_void_p
libc.readdir.restype = ctypes.POINTER(dirent)
libc.readdir.argtypes = [ctypes.c_void_p]
libc.telldir.restype = ctypes.c_long
libc.telldir.argtypes = [ctypes.c_void_p]
libc.seekdir.argtypes = [ctypes.c_void_p, ctypes.c_long]
libc.closedir.argtypes = [ctypes.c_void_p]
dp = libc.opendir(sys.argv[1].encode())
assert dp, "opendir"
def rd():
    p = libc.readdir(dp)
    return p.contents.d_name.decode() if p else None
names, marks = [], {}
for i in range(4000):
    if i in (1, 2, 3, 77, 1500, 2999):
        marks[i] = libc.telldir(dp)
    n = rd()
    if n is None:
        break
    names.append(n)
for i in sorted(marks, reverse=True):
    if i >= len(names):
        continue
    libc.seekdir(dp, marks[i])
    got = [rd() for _ in range(3)]
    want = (names[i:i + 3] + [None] * 3)[:3]
    if got != want:
        print("seekdir to the offset before entry %d: %s, want %s" % (i, got, want))
        sys.exit(1)
libc.closedir(dp)
print("   ok: seekdir back to %d offsets" % len(marks))
EOF
}
seekcheck "$O"
seekcheck "$C"

check "the same directory sealed"
echo seal >"$M/pipelines/p/runs/r1/control" || fail "seal failed"
mem seal
V=$M/artifacts/big/v1
list_all "$V" sealed
held "$V" sealed
seekcheck "$V"
[ "$(cat "$V/entry-$(printf %07d $((N - 1)))")" = $((N - 1)) ] ||
	defect "sealed: the last entry reads wrong"

check "runs and artifacts listed a reply at a time"
R=$M/pipelines/q/runs
"$PY" - "$R" <<'EOF' || defect "runs listed while runs are added"
import os, sys
r = sys.argv[1]
os.makedirs(r + "/r-0000/steps/s/outputs", exist_ok=True)
for i in range(1, 1500):
    os.mkdir(r + "/r-%04d" % i)
seen, added = [], 0
with os.scandir(r) as it:
    for i, e in enumerate(it):
        seen.append(e.name)
        if i % 300 == 0:
            os.mkdir(r + "/a-%04d" % i)
            os.mkdir(r + "/z-%04d" % i)
            added += 2
want = {"r-%04d" % i for i in range(1500)}
if len(seen) != len(set(seen)):
    print("DUPLICATES"); sys.exit(1)
if want - set(seen):
    print("MISSING: %s" % sorted(want - set(seen))[:5]); sys.exit(1)
print("   listed %d runs while %d were added" % (len(seen), added))
out = r + "/r-0000/steps/s/outputs"
for i in range(1500):
    open(out + "/art-%04d" % i, "w").close()
EOF
echo seal >"$R/r-0000/control" || fail "seal of q/r-0000 failed"
got=$(ls -f "$M/artifacts" | grep -c '^art-' || true)
[ "$got" -eq 1500 ] || defect "ls -f artifacts shows $got of the 1500 art-*"
got=$(ls "$M/artifacts" | sort -u | wc -l)
[ "$got" -eq 1502 ] || defect "ls artifacts shows $got names, want 1502 (big, churn)"
mem end

stop_daemon
finish
