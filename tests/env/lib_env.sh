# shellcheck shell=bash
# tests/env/lib_env.sh - shared by the environment tests (sourced after
# tests/mount/lib.sh).

# A throwaway site-packages directory with one distribution, NAME at
# VERSION, for PYTHONPATH: what importlib.metadata then reports.
fake_dist() {
	local dir=$1 name=$2 version=$3
	rm -rf "$dir"
	mkdir -p "$dir/$name-$version.dist-info"
	printf 'Metadata-Version: 2.1\nName: %s\nVersion: %s\n' \
		"$name" "$version" >"$dir/$name-$version.dist-info/METADATA"
}

# step P R [ARGS...]: run exec of step "train" of pipeline P as run R,
# stderr to $T/err, the step counting its runs in $T/ran.
step() {
	local p=$1 r=$2
	shift 2
	afs run exec --pipeline "$p" --step train --run "$r" "$@" -- \
		sh "$T/step.sh" "$T" 2>"$T/err"
}

write_step() {
	cat >"$T/step.sh" <<'X'
set -e
[ -z "${ARTIFACTFS_INPUT_DATA:-}" ] || cat "$ARTIFACTFS_INPUT_DATA"/* >/dev/null
echo "model made" >"$ARTIFACTFS_OUTPUTS/model"
echo ran >>"$1/ran"
X
}

# json_eval EXPR: EXPR evaluated with j = the JSON on stdin, printed.
json_eval() {
	"$PY" -c "import json, sys; j = json.load(sys.stdin); print($1)"
}

runs_done() {
	[ -e "$T/ran" ] && wc -l <"$T/ran" || echo 0
}
