#!/usr/bin/env bash
# Writing through the mount, as root and as an unprivileged user: runs
# opened with mkdir -p, outputs written with cp -r, rsync -a, tar -x,
# python (seeks, random writes), truncate, an editor's write-and-rename,
# unlink and rename; every byte checked before and after sealing through
# the control file; everything sealed refuses writes with EROFS; a user
# cannot write in another user's run.
source "$(dirname "$0")/lib.sh" "$@"
ensure_user
command -v rsync >/dev/null || skip "no rsync"

# The helpers, where the test user can read them whatever the checkout.
mkdir "$T/bin"
cp "$TESTS_DIR/write_ops.sh" "$TESTS_DIR/write_ops.py" \
	"$TESTS_DIR/manifest.py" "$T/bin/"
chmod -R a+rX "$T/bin"
manifest() {
	"$PY" "$T/bin/manifest.py" "$1"
}

# The source tree: nested directories, a few MiB of random bytes, an
# executable, an empty file, an empty directory, a symlink, a space.
SRC=$T/src
mkdir -p "$SRC/a/b/c" "$SRC/emptydir"
mkrandom "$SRC/big1.bin" $((3 << 20))
mkrandom "$SRC/a/b/big2.bin" $((3 << 19))
mkrandom "$SRC/a/b/c/small.bin" 5000
echo "hello" >"$SRC/small.txt"
: >"$SRC/a/empty"
printf '#!/bin/sh\necho run\n' >"$SRC/a/run.sh"
chmod 0755 "$SRC/a/run.sh"
echo "spaced" >"$SRC/a/with space.txt"
ln -s ../small.txt "$SRC/a/link"
tar -C "$SRC" -cf "$T/src.tar" .
chmod -R a+rX "$SRC" "$T/src.tar"

check "what to expect: the same writes in a local directory"
mkdir "$T/expect"
bash "$T/bin/write_ops.sh" "$T/expect" "$SRC" "$T/src.tar" "$PY" >/dev/null
manifest "$T/expect" >"$T/expect.manifest"
OUTPUTS="cp misc py rsync single.txt tar"
[ "$(ls "$T/expect" | tr '\n' ' ')" = "$OUTPUTS " ] ||
	fail "unexpected local outputs: $(ls "$T/expect")"

afs init >/dev/null
start_daemon
P=$M/pipelines/train/runs
A=$M/artifacts
# Roles: root made the store (admin on /); the user writes runs and reads
# versions (granted through the ACL view, as an admin would).
setfacl -m "u:$TUSER:rwx" "$M/pipelines" || fail "setfacl writer"
setfacl -m "u:$TUSER:r-x" "$A" || fail "setfacl reader"

# run_suite WHO RUN N: opens RUN as WHO (root or user), writes, checks the
# open outputs, seals and checks version vN of every output.
run_suite() {
	local who=$1 run=$2 n=$3 out=$P/$2/steps/fit/outputs name
	local -a as=()
	[ "$who" = user ] && as=(as_user)

	check "$who: mkdir -p of pipeline, run, step and outputs"
	"${as[@]}" mkdir -p "$out"
	[ -d "$out" ] || fail "mkdir -p $out"
	"$PY" -c 'import json,sys; j=json.load(open(sys.argv[1]));
assert j["owner_uid"] == int(sys.argv[2]) and j["status"] == "open", j' \
		"$P/$run/run.json" "$("${as[@]}" id -u)" ||
		defect "$who: run.json owner/status"
	[ "$(stat -c %u "$P/$run")" = "$("${as[@]}" id -u)" ] ||
		defect "$who: the run directory is owned by $(stat -c %u "$P/$run")"

	check "$who: writes in outputs/"
	"${as[@]}" bash "$T/bin/write_ops.sh" "$out" "$SRC" "$T/src.tar" "$PY" ||
		fail "$who: writing outputs failed"
	ls -lR "$out" >"$T/$run.ls" || defect "$who: ls -lR of outputs"

	check "$who: every file reads back the same before sealing"
	manifest "$out" >"$T/$run.manifest"
	diff "$T/expect.manifest" "$T/$run.manifest" ||
		defect "$who: open outputs differ from the local copy"
	(cd "$out" && find . -type f -print0 | sort -z | xargs -0 sha256sum) \
		>"$T/$run.sha"
	(cd "$T/expect" && sha256sum -c --quiet "$T/$run.sha") ||
		defect "$who: sha256sum of the outputs against the local copy"

	check "$who: seal through the control file"
	"${as[@]}" sh -c "echo seal > '$P/$run/control'" ||
		fail "$who: seal failed"
	[ "$(cat "$P/$run/control")" = sealed ] ||
		defect "$who: control reads '$(cat "$P/$run/control")'"
	"$PY" -c 'import json,sys; j=json.load(open(sys.argv[1]));
assert j["status"] == "sealed" and j["ended"], j' "$P/$run/run.json" ||
		defect "$who: run.json after seal"

	check "$who: each output is v$n of its artifact, byte for byte"
	for name in $OUTPUTS; do
		[ "$(readlink "$A/$name/latest")" = "v$n" ] ||
			defect "$who: $name latest -> $(readlink "$A/$name/latest")"
		if [ "$name" = single.txt ]; then
			cmp "$A/$name/v$n/single.txt" "$T/expect/single.txt" ||
				defect "$who: single-file version"
			[ "$(ls "$A/$name/v$n")" = single.txt ] ||
				defect "$who: the single-file version holds $(ls "$A/$name/v$n")"
			continue
		fi
		manifest "$A/$name/v$n" >"$T/$run.$name.v"
		manifest "$T/expect/$name" | diff - "$T/$run.$name.v" ||
			defect "$who: $name@v$n differs from what was written"
	done
	(cd "$A/misc/v$n" && sha256sum -c --quiet "$T/expect.misc.sha") ||
		defect "$who: sha256sum -c in misc@v$n"
	x=$(getfattr --absolute-names --only-values -n user.artifactfs.run \
		"$A/cp/v$n/big1.bin" 2>&1)
	case $x in
	train/$run*) ;;
	*) defect "$who: user.artifactfs.run of cp@v$n is '$x'" ;;
	esac
	# Modes follow the roles: owner and mask (the user's reader
	# binding), nothing for others.
	[ "$(stat -c %a "$A/cp/v$n/a/run.sh")" = 550 ] ||
		defect "$who: run.sh mode $(stat -c %a "$A/cp/v$n/a/run.sh") in the version"
	[ "$(stat -c %a "$A/rsync/v$n/big1.bin")" = 440 ] ||
		defect "$who: big1.bin mode $(stat -c %a "$A/rsync/v$n/big1.bin")"

	check "$who: the sealed run shows read-only (after the 1 s attribute timeout)"
	sleep 1.1
	for name in "" /steps /steps/fit /steps/fit/outputs /steps/fit/outputs/misc; do
		[ "$(stat -c '%u %a' "$P/$run$name")" = \
			"$("${as[@]}" id -u) 550" ] ||
			defect "$who: $run$name is $(stat -c '%u %a' "$P/$run$name") once sealed"
	done
}
(cd "$T/expect/misc" && find . -type f -print0 | sort -z |
	xargs -0 sha256sum) >"$T/expect.misc.sha"

ROOTRUN=$P/r1
mkdir -p "$ROOTRUN/steps/fit/outputs"

check "user: no writes in root's open run (Permission denied)"
RO=$ROOTRUN/steps/fit/outputs
echo "root's" >"$RO/keep.txt"
mkdir "$RO/keepdir"
expect_err "Permission denied" as_user touch "$RO/new.txt"
expect_err "Permission denied" as_user sh -c "echo x >> '$RO/keep.txt'"
expect_err "Permission denied" as_user sh -c "echo x > '$RO/keep.txt'"
expect_err "Permission denied" as_user truncate -s 0 "$RO/keep.txt"
expect_err "Permission denied" as_user mkdir "$RO/newdir"
expect_err "Permission denied" as_user rm -f "$RO/keep.txt"
expect_err "Permission denied" as_user rmdir "$RO/keepdir"
expect_err "Permission denied" as_user mv "$RO/keep.txt" "$RO/moved.txt"
expect_err "Permission denied" as_user mkdir "$ROOTRUN/steps/other"
expect_err "Permission denied" as_user sh -c "echo seal > '$ROOTRUN/control'"
[ "$(cat "$RO/keep.txt")" = "root's" ] || defect "keep.txt was changed"
[ "$(cat "$ROOTRUN/control")" = open ] || defect "root's run is not open"
rm "$RO/keep.txt"
rmdir "$RO/keepdir"

run_suite root r1 1
run_suite user u1 2

check "after sealing, writes fail with EROFS (Read-only file system)"
RO=$P/r1/steps/fit/outputs
V=$A/misc/v1
expect_err "Read-only file system" touch "$RO/new.txt"
expect_err "Read-only file system" sh -c "echo x > '$RO/new2.txt'"
expect_err "Read-only file system" sh -c "echo x >> '$RO/misc/log.txt'"
expect_err "Read-only file system" truncate -s 0 "$RO/misc/log.txt"
expect_err "Read-only file system" mkdir "$RO/newdir"
expect_err "Read-only file system" rm -f "$RO/misc/log.txt"
expect_err "Read-only file system" mv "$RO/misc/log.txt" "$RO/misc/log2.txt"
expect_err "Read-only file system" sh -c "echo x > '$V/log.txt'"
expect_err "Read-only file system" sh -c "echo x >> '$V/log.txt'"
expect_err "Read-only file system" mkdir "$V/newdir"
expect_err "Read-only file system" rm -f "$V/log.txt"
expect_err "Read-only file system" rm -rf "$V/sub"
expect_err "Read-only file system" touch "$V/new.txt"
expect_err "Read-only file system" mv "$V/log.txt" "$V/log2.txt"
expect_err "Read-only file system" sh -c "echo seal > '$P/r1/control'"
expect_errno "EPERM|EROFS" "os.chmod(M + '/artifacts/misc/v1/log.txt', 0o666)"
expect_errno "EPERM|EROFS" "os.chmod(M + '/artifacts/misc/v1', 0o777)"
expect_errno "EPERM|EROFS" \
	"os.chmod(M + '/pipelines/train/runs/r1/steps/fit/outputs/misc/log.txt', 0o600)"
[ "$(cat "$V/log.txt")" = "line1
line2" ] || defect "misc@v1/log.txt changed"
manifest "$A/misc/v1" >"$T/misc.after"
diff "$T/r1.misc.v" "$T/misc.after" || defect "misc@v1 changed after refused writes"

check "as root, writes in the user's sealed run fail too"
expect_err "Read-only file system" touch "$P/u1/steps/fit/outputs/root.txt"

stop_daemon

check "fsck of the store after all this: clean"
rc=0
afs fsck 2>"$T/fsck.err" || rc=$?
head -n 5 "$T/fsck.err"
[ "$rc" -eq 0 ] || defect "fsck exited $rc ($(grep -c . "$T/fsck.err") lines on stderr)"
finish
