#!/usr/bin/env bash
# Builds artifactfs in Debug with -Werror and AddressSanitizer/UBSan
# (leak detection on), runs every test, then checks the C formatting.
# Exits non-zero on any failure.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build-debug
cd "$ROOT"

"$ROOT/scripts/deps.sh"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

echo "== configure ($BUILD)"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Debug \
	-DARTIFACTFS_WERROR=ON -DARTIFACTFS_SANITIZE=ON -DARTIFACTFS_FUZZ=ON
echo "== build"
cmake --build "$BUILD" -j "$(nproc)"
echo "== test"
ctest --test-dir "$BUILD" --output-on-failure -j "$(nproc)"

echo "== clang-format"
if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	mapfile -t files < <(git -C "$ROOT" ls-files -- 'store/*.[ch]' \
		'acl/*.[ch]' 'fs/*.[ch]' 'tests/*.[ch]')
else
	mapfile -t files < <(find store acl fs tests -name '*.[ch]' \
		2>/dev/null | sort)
fi
if [ ${#files[@]} -gt 0 ]; then
	clang-format --dry-run --Werror "${files[@]}"
fi
echo "== all tests passed, ${#files[@]} files formatted"
