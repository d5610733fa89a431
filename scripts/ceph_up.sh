#!/usr/bin/env bash
# Starts a throw-away one-host Ceph cluster for tests and benchmarks:
# one mon and one osd (memstore: in memory), bound to 127.0.0.1 only,
# no systemd, everything under DIR.
#
#   scripts/ceph_up.sh DIR [POOL...]
#
# DIR must not exist.  Leaves DIR/ceph.conf, DIR/keyring (client.admin)
# and DIR/pids (one pid a line, the daemons this script started); each
# POOL is created (size 1, 8 PGs).  Stop with scripts/ceph_down.sh DIR,
# which kills those pids only.  Environment: MEM_BYTES (memstore's cap,
# default 2 GiB), MON_PORT (default: a free port), MGR=1 (also a mgr: pool
# quotas and usage need one; it is up a few seconds after this returns).
set -euo pipefail

DIR=${1:?usage: ceph_up.sh DIR [POOL...]}
shift
MEM_BYTES=${MEM_BYTES:-$((2 * 1024 * 1024 * 1024))}
for b in ceph-mon ceph-osd ceph ceph-authtool monmaptool uuidgen rados; do
	command -v "$b" >/dev/null || {
		echo "ceph_up: $b not found (scripts/deps.sh installs it)" >&2
		exit 3
	}
done
[ -e "$DIR" ] && {
	echo "ceph_up: $DIR exists" >&2
	exit 1
}
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
MON_PORT=${MON_PORT:-$(free_port)}
t0=$SECONDS
mkdir -p "$DIR"/{mon,osd,run,log}
DIR=$(cd "$DIR" && pwd)
: >"$DIR/pids"
FSID=$(uuidgen)
CONF=$DIR/ceph.conf
cat >"$CONF" <<EOF
[global]
fsid = $FSID
mon_host = v2:127.0.0.1:$MON_PORT
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_ipv4 = true
ms_bind_ipv6 = false
ms_bind_msgr1 = false
ms_bind_port_min = 6800
ms_bind_port_max = 7300
auth_cluster_required = cephx
auth_service_required = cephx
auth_client_required = cephx
run_dir = $DIR/run
admin_socket = $DIR/run/\$name.asok
log_file = $DIR/log/\$name.log
crash_dir = $DIR/crash
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
mon_allow_pool_size_one = true
mon_allow_pool_delete = true
mon_warn_on_pool_no_redundancy = false
osd_crush_chooseleaf_type = 0
mon_data_avail_warn = 2
mon_data_avail_crit = 1
[client]
keyring = $DIR/keyring
[mon]
keyring = \$mon_data/keyring
mon_data = $DIR/mon/\$cluster-\$id
auth_allow_insecure_global_id_reclaim = false
[osd]
osd_data = $DIR/osd/\$cluster-\$id
keyring = \$osd_data/keyring
osd_objectstore = memstore
memstore_device_bytes = $MEM_BYTES
osd_memory_target = 1073741824
osd_op_num_shards = 2
osd_op_num_threads_per_shard = 1
EOF

ceph-authtool --create-keyring "$DIR/mon.keyring" --gen-key -n mon. \
	--cap mon 'allow *' >/dev/null
ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n client.admin \
	--cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' \
	--cap mds 'allow *' >/dev/null
ceph-authtool "$DIR/mon.keyring" --import-keyring "$DIR/keyring" >/dev/null
monmaptool --create --addv a "[v2:127.0.0.1:$MON_PORT]" --fsid "$FSID" \
	"$DIR/monmap" >/dev/null
ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" \
	--keyring "$DIR/mon.keyring"
ceph-mon -c "$CONF" -i a -f >>"$DIR/log/daemons.out" 2>&1 &
echo $! >>"$DIR/pids"

C="timeout 30 ceph -c $CONF --connect-timeout 20"
for i in $(seq 1 150); do
	$C mon stat >/dev/null 2>&1 && break
	[ "$i" = 150 ] && {
		echo "ceph_up: the mon did not come up (see $DIR/log)" >&2
		exit 1
	}
	sleep 0.2
done

OSD_UUID=$(uuidgen)
ID=$($C osd new "$OSD_UUID")
mkdir -p "$DIR/osd/ceph-$ID"
ceph-authtool --create-keyring "$DIR/osd/ceph-$ID/keyring" --gen-key \
	-n "osd.$ID" >/dev/null
$C auth add "osd.$ID" osd 'allow *' mon 'allow profile osd' \
	mgr 'allow profile osd' -i "$DIR/osd/ceph-$ID/keyring" >/dev/null 2>&1
ceph-osd -c "$CONF" -i "$ID" --mkfs --osd-uuid "$OSD_UUID" \
	>"$DIR/log/mkfs.out" 2>&1
ceph-osd -c "$CONF" -i "$ID" -f >>"$DIR/log/daemons.out" 2>&1 &
echo $! >>"$DIR/pids"

if [ "${MGR:-0}" = 1 ]; then
	command -v ceph-mgr >/dev/null || {
		echo "ceph_up: ceph-mgr not found (scripts/deps.sh installs it)" >&2
		exit 3
	}
	mkdir -p "$DIR/mgr/ceph-x"
	$C auth get-or-create mgr.x mon 'allow profile mgr' osd 'allow *' \
		>"$DIR/mgr/ceph-x/keyring"
	ceph-mgr -c "$CONF" -i x -f --mgr-data "$DIR/mgr/ceph-x" \
		>>"$DIR/log/daemons.out" 2>&1 &
	echo $! >>"$DIR/pids"
fi

for pool in "$@"; do
	$C osd pool create "$pool" 8 8 replicated >/dev/null 2>&1
	$C osd pool set "$pool" size 1 --yes-i-really-mean-it >/dev/null 2>&1
	$C osd pool application enable "$pool" rados >/dev/null 2>&1
done
# Ready when an object can be written (the osd is up and the PGs active).
probe=${1:-}
if [ -z "$probe" ]; then
	probe=ceph_up_probe
	$C osd pool create "$probe" 8 8 replicated >/dev/null 2>&1
	$C osd pool set "$probe" size 1 --yes-i-really-mean-it >/dev/null 2>&1
fi
for i in $(seq 1 100); do
	timeout 5 rados -c "$CONF" -p "$probe" put __probe "$CONF" \
		2>/dev/null && break
	[ "$i" = 100 ] && {
		echo "ceph_up: the osd did not come up (see $DIR/log)" >&2
		exit 1
	}
	sleep 0.3
done
timeout 10 rados -c "$CONF" -p "$probe" rm __probe
echo "ceph_up: cluster up in $((SECONDS - t0)) s: conf $CONF, pids" \
	"$(tr '\n' ' ' <"$DIR/pids")"
