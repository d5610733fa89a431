#!/usr/bin/env bash
# scripts/exerciser_long.sh [ARTIFACTFS [AFSX]] - the long mode of the
# random-operation exerciser (tests/exerciser/afsx.sh): 1,000,000
# operations in total by default, 4 users (one run each) x 2 processes,
# files of up to 64 KiB, every step checked against a shadow copy, each run
# sealed and compared.  Prints the figures: ops, processes, seconds,
# mismatches.  Needs root and /dev/fuse.
#   AFSX_OPS, AFSX_USERS, AFSX_PROCS, AFSX_SEED, AFSX_ARGS as for afsx.sh
#   (AFSX_ARGS default "-m 65536 -c 1000"; -H leaves hard links out, -G and -1
#   narrow a mismatch down: see afsx.c).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
AFS=${1:-$ROOT/build/fs/artifactfs}
AFSX=${2:-$ROOT/build/tests/exerciser/afsx}
export AFSX_OPS=${AFSX_OPS:-1000000}
export AFSX_USERS=${AFSX_USERS:-4}
export AFSX_PROCS=${AFSX_PROCS:-2}
export AFSX_ARGS=${AFSX_ARGS:--m 65536 -c 1000}
exec bash "$ROOT/tests/exerciser/afsx.sh" "$AFS" "$AFSX"
