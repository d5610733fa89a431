#!/usr/bin/env bash
# Secrets key rotation benchmark: `artifactfs secret rotate-key` on a
# fresh store of SECRETS secrets (each VERSIONS versions of 48 random
# bytes), ROUNDS times.  Prints what the command reports (the time spent
# sealing every value again and committing) and its wall time, then checks
# that every version still reads back.
#
#   scripts/bench/rotate_key.sh                 100 secrets, 1 version, 3 rounds
#   SECRETS=1000 VERSIONS=3 scripts/bench/rotate_key.sh
#   ARTIFACTFS_BIN=/path/to/artifactfs scripts/bench/rotate_key.sh
#
# Needs no mount and no root.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
AFS=${ARTIFACTFS_BIN:-$ROOT/build/fs/artifactfs}
SECRETS=${SECRETS:-100}
VERSIONS=${VERSIONS:-1}
ROUNDS=${ROUNDS:-3}

case "${1:-}" in
  "") ;;
  -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "usage: $0   (settings through the environment)" >&2; exit 2 ;;
esac
[ -x "$AFS" ] || { echo "no artifactfs at $AFS (ARTIFACTFS_BIN)" >&2; exit 2; }

T=$(mktemp -d "${TMPDIR:-/tmp}/afs-rotate.XXXXXX")
trap 'rm -rf "$T"' EXIT
: >"$T/empty.conf"
afs() { "$AFS" --config "$T/empty.conf" --store "$T/s" "$@"; }

afs init >/dev/null
for ((v = 1; v <= VERSIONS; v++)); do
	for ((i = 1; i <= SECRETS; i++)); do
		head -c 48 /dev/urandom >"$T/v"
		cp "$T/v" "$T/s$i.v$v"
		afs secret set "s$i" "$T/v" >/dev/null
	done
done
echo "[rotate-key] $SECRETS secrets x $VERSIONS versions, $ROUNDS rounds ($AFS)"
for ((r = 1; r <= ROUNDS; r++)); do
	t0=$(date +%s%N)
	out=$(afs secret rotate-key)
	t1=$(date +%s%N)
	echo "[rotate-key] $out; wall $(((t1 - t0) / 1000000)) ms"
done
for ((i = 1; i <= SECRETS; i++)); do
	for ((v = 1; v <= VERSIONS; v++)); do
		afs secret get "s$i@v$v" | cmp -s - "$T/s$i.v$v" ||
			{ echo "[rotate-key] s$i@v$v changed" >&2; exit 1; }
	done
done
echo "[rotate-key] every version reads back"
