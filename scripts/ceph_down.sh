#!/usr/bin/env bash
# Stops the cluster scripts/ceph_up.sh started in DIR: kills the pids in
# DIR/pids (those only; osd first, mon last), waits up to 10 s, then
# SIGKILLs what is left, and deletes DIR (KEEP=1: keeps it, so that its
# conf still names the stopped cluster; a later call deletes it).
#
#   [KEEP=1] scripts/ceph_down.sh DIR
set -uo pipefail

DIR=${1:?usage: ceph_down.sh DIR}
[ -f "$DIR/pids" ] || {
	echo "ceph_down: no $DIR/pids: nothing to stop"
	[ -f "$DIR/ceph.conf" ] && rm -rf "$DIR"
	exit 0
}
PIDS=$(tac "$DIR/pids")
for p in $PIDS; do kill -TERM "$p" 2>/dev/null; done
for _ in $(seq 1 50); do
	alive=0
	for p in $PIDS; do kill -0 "$p" 2>/dev/null && alive=1; done
	[ $alive = 0 ] && break
	sleep 0.2
done
for p in $PIDS; do
	kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
done
# Only a directory ceph_up.sh made (its conf and pid file) is deleted.
[ "${KEEP:-0}" != 1 ] && [ -f "$DIR/ceph.conf" ] && rm -rf "$DIR"
echo "ceph_down: stopped $(echo $PIDS)"
