#!/usr/bin/env bash
# scripts/posix_suite.sh DIR_OF_PJDFSTEST [ARTIFACTFS]
#
# Runs the POSIX conformance suite pjdfstest (a checkout built by hand:
# DIR/pjdfstest and DIR/tests; not part of CI, never committed here)
# inside an open run of a fresh store mounted with -o allow_other, as
# root (the store's admin), and prints how many test files passed and how
# many subtests failed, with each failing file.  ARTIFACTFS defaults to
# build/fs/artifactfs.  PJD_ONLY="chmod/00.t link" runs only those (with
# prove -v; its output goes to standard output).  Needs root, /dev/fuse
# and prove (perl).
set -euo pipefail

PJD=$(realpath "${1:?usage: $0 DIR_OF_PJDFSTEST [ARTIFACTFS]}")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
AFS=$(realpath "${2:-$ROOT/build/fs/artifactfs}")
[ -x "$PJD/pjdfstest" ] || { echo "no $PJD/pjdfstest: build it first" >&2; exit 2; }
[ -d "$PJD/tests" ] || { echo "no $PJD/tests" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "pjdfstest needs root" >&2; exit 2; }
command -v prove >/dev/null || { echo "no prove (perl)" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/afs-posix.XXXXXX")
chmod 0755 "$WORK"
MNT=$WORK/mnt
mkdir "$MNT"
: >"$WORK/empty.conf"
DAEMON=
cleanup() {
	cd /
	if mountpoint -q "$MNT" 2>/dev/null; then
		fusermount3 -u "$MNT" || fusermount3 -u -z "$MNT" || true
	fi
	[ -z "$DAEMON" ] || wait "$DAEMON" 2>/dev/null || true
	rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT

afs() {
	"$AFS" --config "$WORK/empty.conf" --store "$WORK/store" "$@"
}
afs init >/dev/null
"$AFS" --config "$WORK/empty.conf" mount --store "$WORK/store" "$MNT" -f \
	-o allow_other >"$WORK/daemon.log" 2>&1 &
DAEMON=$!
for ((i = 0; i < 300; i++)); do
	mountpoint -q "$MNT" && break
	sleep 0.1
done
mountpoint -q "$MNT" || { echo "mount failed: $(tail -5 "$WORK/daemon.log")" >&2; exit 1; }
RUN=$MNT/pipelines/posix/runs/r1/steps/s/outputs
mkdir -p "$RUN/suite"

# pjdfstest works in the current directory; its files come and go there.
cd "$RUN/suite"
set +e
if [ -n "${PJD_ONLY:-}" ]; then
	only=()
	for t in $PJD_ONLY; do
		only+=("$PJD/tests/$t")
	done
	prove -v -r "${only[@]}" 2>&1 | tee "$WORK/prove.out"
else
	prove -r "$PJD/tests" >"$WORK/prove.out" 2>&1
fi
set -e
cd /

"${PYTHON:-python3}" - "$WORK/prove.out" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
files = {}
for m in re.finditer(r"^(\S+\.t) \.+ (.*)$", text, re.M):
    files[m.group(1)] = m.group(2)
failed = {}
for m in re.finditer(r"^(\S+\.t)\s+\(Wstat: \d+ Tests: (\d+) Failed: (\d+)\)", text, re.M):
    failed[m.group(1)] = (int(m.group(2)), int(m.group(3)))
tm = re.search(r"Files=(\d+), Tests=(\d+)", text)
nfiles, ntests = (int(tm.group(1)), int(tm.group(2))) if tm else (len(files), 0)
nfail_files = len([f for f, r in files.items() if not r.startswith("ok")])
nsub = sum(f for _, f in failed.values())
print("pjdfstest in an open run: %d of %d files passed, %d of %d subtests failed"
      % (nfiles - nfail_files, nfiles, nsub, ntests))
for f, (t, n) in sorted(failed.items()):
    print("  %-40s %4d of %4d failed" % (f.split("/tests/")[-1], n, t))
for f, r in sorted(files.items()):
    if not r.startswith("ok") and f not in failed:
        print("  %-40s %s" % (f.split("/tests/")[-1], r))
PY
