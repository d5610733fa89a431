#!/usr/bin/env bash
# Runs every libFuzzer target for a while on its committed seeds and
# prints, per target, the executions, the coverage reached and whether
# it found anything.  New inputs go to a scratch corpus in the build
# tree; a crash leaves its input there (crash-*) and fails the script.
#
#   scripts/fuzz_long.sh [MINUTES] [TARGET...]     (default 10, all)
#
# Needs the fuzzers built: a build with -DARTIFACTFS_FUZZ=ON (clang).
# BUILD names the build directory (default build-debug, as test.sh).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build-debug}
MIN=${1:-10}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(tree record names store acl config xattr envsnap ctl_request)

bin_of() {
	case $1 in
	ctl_request) echo "$BUILD/tests/ctl/fuzz_ctl_request" ;;
	*) echo "$BUILD/tests/fuzz/clang/fuzz_$1" ;;
	esac
}
seeds_of() {
	case $1 in
	ctl_request) echo "$ROOT/tests/ctl/corpus" ;;
	*) echo "$ROOT/tests/fuzz/corpus/$1" ;;
	esac
}

# Leaks inside libraries that are not ours to fix (lsan.supp says which).
export LSAN_OPTIONS=suppressions=$ROOT/tests/fuzz/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}

OUT=$BUILD/fuzz-long
mkdir -p "$OUT"
fail=0
printf '%-12s %12s %8s %8s %8s  %s\n' target execs exec/s cov ft result
for t in "${TARGETS[@]}"; do
	bin=$(bin_of "$t")
	if [ ! -x "$bin" ]; then
		echo "fuzz_long: $bin is not built (ARTIFACTFS_FUZZ=ON?)" >&2
		exit 2
	fi
	mkdir -p "$OUT/$t"
	log=$OUT/$t.log
	(cd "$OUT" && "$bin" -max_total_time=$((MIN * 60)) -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$OUT/$t-" "$OUT/$t" "$(seeds_of "$t")" \
		>"$log" 2>&1)
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	last=$(grep -E '^#[0-9]+' "$log" | tail -1)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	res=ok
	if [ $rc -ne 0 ]; then
		res="FAILED (rc $rc; see $log)"
		fail=1
	fi
	printf '%-12s %12s %8s %8s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" \
		"${cov:-?}" "${ft:-?}" "$res"
done
exit $fail
