#!/usr/bin/env bash
# Installs the Debian 12 packages artifactfs needs to build, test and run.
# Only what is missing is installed; apt-get update runs only then.
set -euo pipefail

PKGS=(build-essential cmake pkg-config libfuse3-dev fuse3 librocksdb-dev
	libzstd-dev libssl-dev libconfig-dev libcmocka-dev libjansson-dev
	clang-format clang python3 python3-jsonschema attr acl rsync strace git
	ceph-mon ceph-osd ceph-mgr ceph-common librados-dev uuid-runtime bc)

missing=()
for p in "${PKGS[@]}"; do
	if ! dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed'; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#PKGS[@]} packages present"
	exit 0
fi

SUDO=
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	--no-install-recommends "${missing[@]}"
