# shellcheck shell=bash
# tests/rados/lib.sh - shared by the RADOS tests (sourced after
# ../mount/lib.sh).
#
# cluster_up POOL [POOL2...]: skips (77) without the ceph binaries, except under
# CI=true where that is a failure (scripts/deps.sh installs them); else
# starts a throw-away one-host cluster in $T/ceph with the pools (stopped by
# the EXIT trap) and sets CL, CONF and POOL; MGR=1 adds a mgr (and needs
# ceph-mgr).  R ARGS...: the rados tool on that pool.

cluster_up() {
	local missing="" b mgr=""
	[ "${MGR:-0}" = 1 ] && mgr=ceph-mgr
	for b in ceph-mon ceph-osd rados ceph ceph-authtool monmaptool $mgr; do
		command -v "$b" >/dev/null || missing="$missing $b"
	done
	if [ -n "$missing" ]; then
		[ "${CI:-}" = true ] && fail "ceph binaries missing under CI:$missing"
		skip "no ceph binaries:$missing (scripts/deps.sh installs them)"
	fi
	POOL=$1
	CL=$T/ceph
	CLEANUP+=("'$SRC_ROOT/scripts/ceph_down.sh' '$CL' >/dev/null")
	check "a one-host cluster comes up"
	"$SRC_ROOT/scripts/ceph_up.sh" "$CL" "$@" || fail "ceph_up.sh failed"
	CONF=$CL/ceph.conf
}

R() { timeout 30 rados -c "$CONF" -p "$POOL" "$@"; }
