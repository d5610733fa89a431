# shellcheck shell=bash
# tests/cli/lib.sh - shared by the command-line tests (sourced, not run).
#
# Usage in a test:  source "$(dirname "$0")/lib.sh" "$@"
# $1 is the artifactfs binary.  Every test works in its own mktemp -d
# directory ($T, removed on exit), with HOME pointing inside it so that
# the default store never touches the real home, and with an empty
# configuration so /etc/artifactfs/artifactfs.conf cannot interfere.

set -euo pipefail

AFS=${1:?usage: $0 path/to/artifactfs}
AFS=$(realpath "$AFS")
T=$(mktemp -d "${TMPDIR:-/tmp}/afs-cli.XXXXXX")
CLEANUP=()

cleanup() {
	local rc=$? i
	for ((i = ${#CLEANUP[@]} - 1; i >= 0; i--)); do
		eval "${CLEANUP[i]}" || true
	done
	rm -rf "$T"
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		echo "FAILED: $(basename "$0") (exit $rc)" >&2
	fi
	exit "$rc"
}
trap cleanup EXIT

export HOME=$T/home
mkdir -p "$HOME"
unset ARTIFACTFS_STORE
: >"$T/empty.conf"
S=$T/store

# artifactfs on the test store $S.
afs() {
	"$AFS" --config "$T/empty.conf" --store "$S" "$@"
}

check() {
	echo "== $*"
}

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# expect_fail CODE CMD... - CMD must exit with CODE and print exactly one
# line on stderr; that line is left in $ERR, stdout in $OUT.
expect_fail() {
	local want=$1 rc n
	shift
	set +e
	"$@" >"$T/.out" 2>"$T/.err"
	rc=$?
	set -e
	# shellcheck disable=SC2034 # for the caller
	OUT=$(cat "$T/.out")
	ERR=$(cat "$T/.err")
	n=$(wc -l <"$T/.err")
	[ "$rc" -eq "$want" ] ||
		fail "'$*' exited $rc, want $want; stderr: $ERR"
	[ "$n" -eq 1 ] ||
		fail "'$*' printed $n lines on stderr, want 1:"$'\n'"$ERR"
	echo "   -> $ERR"
}

# expect_err_has TEXT - the last expect_fail's stderr contains TEXT.
expect_err_has() {
	case $ERR in
	*"$1"*) ;;
	*) fail "stderr '$ERR' does not mention '$1'" ;;
	esac
}

# Reads JSON on stdin; fails unless it parses.
json_ok() {
	python3 -c 'import json, sys; json.load(sys.stdin)' ||
		fail "output is not valid JSON"
}

# json_eval EXPR - prints EXPR evaluated with j = the JSON on stdin.
json_eval() {
	python3 -c "import json, sys; j = json.load(sys.stdin); print($1)"
}

sha() {
	sha256sum "$1" | cut -d' ' -f1
}

# stat_field NAME - one field of 'artifactfs stats --json'.
stat_field() {
	afs stats --json | json_eval "j['$1']"
}
