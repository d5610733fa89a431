# shellcheck shell=bash
# scripts/release_bin.sh - sourced by the long-mode scripts: release_bin
# WORK copies an artifactfs binary into WORK (mode 0755, reachable by
# test users): $ARTIFACTFS_BIN when set, else a Release build in
# $BUILD_DIR (default build-release/ of the checkout), made if needed.
# Exits 2 on a bad ARTIFACTFS_BIN, 1 when the build fails.
release_bin() {
  local work=$1 root bdir
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  if [[ -n ${ARTIFACTFS_BIN:-} ]]; then
    [[ -x $ARTIFACTFS_BIN ]] || { echo "ARTIFACTFS_BIN=$ARTIFACTFS_BIN is not executable" >&2; exit 2; }
    cp "$ARTIFACTFS_BIN" "$work/artifactfs"
  else
    bdir=${BUILD_DIR:-$root/build-release}
    echo "building artifactfs (Release) in $bdir" >&2
    if [[ ! -f $bdir/CMakeCache.txt ]]; then
      cmake -S "$root" -B "$bdir" -DCMAKE_BUILD_TYPE=Release >"$work/build.log" 2>&1 ||
        { tail -n 20 "$work/build.log" >&2; echo "cmake configure failed" >&2; exit 1; }
    fi
    cmake --build "$bdir" -j"$(nproc)" >>"$work/build.log" 2>&1 ||
      { grep -E 'error|Error' "$work/build.log" | head -n 20 >&2; echo "build failed" >&2; exit 1; }
    cp "$bdir/fs/artifactfs" "$work/artifactfs"
  fi
  chmod 0755 "$work"
}
