#!/usr/bin/env bash
# The long mode of the two-node cluster test (tests/rados/two_nodes.sh):
# more puts at once, a longer ingest under gc, more kills of a daemon.
#
#   scripts/cluster_long.sh [ARTIFACTFS]
#
# ARTIFACTFS defaults to build-release/fs/artifactfs.  Environment:
# NODE_PUTS (default 60), INGEST_FILES (100), KILLS (10), STALL (1: stop
# the osd for 35 s under both mounts).  Needs root,
# /dev/fuse and the ceph packages (scripts/deps.sh).  Prints the test's
# figures and PASS or the failed checks.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
AFS=${1:-$ROOT/build-release/fs/artifactfs}
export NODE_PUTS=${NODE_PUTS:-60} INGEST_FILES=${INGEST_FILES:-100} KILLS=${KILLS:-10} STALL=${STALL:-1}
t0=$SECONDS
rc=0
bash "$ROOT/tests/rados/two_nodes.sh" "$AFS" || rc=$?
echo "cluster_long: NODE_PUTS=$NODE_PUTS INGEST_FILES=$INGEST_FILES KILLS=$KILLS: exit $rc after $((SECONDS - t0)) s"
exit "$rc"
