/*
 * tests/store/test_times.c - the mtimes kept beside versions
 * (store/times.c): put keeps the source's, sealing keeps the outputs',
 * utimens sets them in open runs, and no time enters a digest.
 */
#include "helpers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>

#define T1    1577934245123456789LL /* 2020-01-02 03:04:05.123456789 */
#define T2    946684800000000000LL  /* 2000-01-01 */
#define T_OLD (-315619200LL * 1000000000LL + 250000000LL) /* 1960 */

static void set_mtime(const char *path, int64_t ns)
{
	struct timespec ts[2] = {{ns / 1000000000, ns % 1000000000},
				 {ns / 1000000000, ns % 1000000000}};

	if (ts[1].tv_nsec < 0) {
		ts[0].tv_sec = --ts[1].tv_sec;
		ts[0].tv_nsec = ts[1].tv_nsec += 1000000000;
	}
	assert_int_equal(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW), 0);
}

/* A source tree: d/, d/a.txt, d/sub/, d/sub/b.bin; times t_file for the
 * files, T2 for the directories. */
static char *make_tree(struct fx *f, const char *name, int64_t t_file)
{
	char *d = path_join(f->dir, name), *p;

	assert_int_equal(mkdir(d, 0755), 0);
	p = path_join(d, "a.txt");
	assert_int_equal(write_file(p, "alpha", 5), 0);
	set_mtime(p, t_file);
	free(p);
	p = path_join(d, "sub");
	assert_int_equal(mkdir(p, 0750), 0);
	free(p);
	p = path_join(d, "sub/b.bin");
	assert_int_equal(write_file(p, "beta", 4), 0);
	set_mtime(p, t_file);
	free(p);
	p = path_join(d, "sub");
	set_mtime(p, T2);
	free(p);
	set_mtime(d, T2);
	return d;
}

static void put_tree(struct fx *f, const char *src, struct store_version *v)
{
	struct store_put *p;

	assert_int_equal(
	    store_put_begin(f->s, test_caller(), "model", NULL, NULL, &p), 0);
	assert_int_equal(store_put_path(p, src, ""), 0);
	assert_int_equal(store_put_commit(p, NULL, v), 0);
}

static int64_t mtime_of(struct fx *f, uint32_t number, const char *path)
{
	int64_t t = 0;

	assert_int_equal(store_version_mtime(f->s, "model", number, path, &t),
			 0);
	return t;
}

static void test_store_put_path_keeps_mtimes(void **state)
{
	struct fx *f = *state;
	struct store_version v;
	char *src = make_tree(f, "src", T1);
	int64_t t;

	put_tree(f, src, &v);
	assert_int_equal(mtime_of(f, v.number, "a.txt"), T1);
	assert_int_equal(mtime_of(f, v.number, "sub/b.bin"), T1);
	assert_int_equal(mtime_of(f, v.number, "sub"), T2);
	assert_int_equal(mtime_of(f, v.number, ""), T2);
	assert_int_equal(
	    store_version_mtime(f->s, "model", v.number, "nope", &t), -ENOENT);
	assert_int_equal(store_version_mtime(f->s, "model", 9, "a.txt", &t),
			 -ENOENT);
	free(src);
}

static void test_store_put_digest_ignores_mtimes(void **state)
{
	struct fx *f = *state;
	struct store_version v1, v2;
	char *a = make_tree(f, "a", T1), *b = make_tree(f, "b", T_OLD);

	put_tree(f, a, &v1);
	put_tree(f, b, &v2);
	assert_memory_equal(v1.digest, v2.digest, STORE_DIGEST_LEN);
	assert_int_equal(mtime_of(f, v1.number, "a.txt"), T1);
	assert_int_equal(mtime_of(f, v2.number, "a.txt"), T_OLD);
	assert_fsck_clean(f->s, NULL);
	free(a);
	free(b);
}

static void write_out(struct fx *f, const char *path, const char *text)
{
	struct store_file sf;

	assert_int_equal(store_buf(f->s, text, strlen(text), 0, &sf), 0);
	assert_int_equal(store_output_set(f->s, test_caller(), "p", "r", "s",
					  path, STORE_KIND_FILE, 0640, &sf, 0,
					  NULL),
			 0);
}

static void test_store_output_utimens_sealed_kept(void **state)
{
	struct fx *f = *state;
	struct store_output o;
	struct store_version v;
	const struct store_caller *c = test_caller();

	assert_int_equal(store_run_create(f->s, c, "p", "r", 0), 0);
	assert_int_equal(store_step_create(f->s, c, "p", "r", "s"), 0);
	assert_int_equal(store_output_set(f->s, c, "p", "r", "s", "model",
					  STORE_KIND_DIR, 0755, NULL, 0, NULL),
			 0);
	write_out(f, "model/w.bin", "weights");
	write_out(f, "model/keep.txt", "keep");
	assert_int_equal(
	    store_output_utimens(f->s, c, "p", "r", "s", "model/w.bin", T2, T1),
	    0);
	assert_int_equal(store_output_utimens(f->s, c, "p", "r", "s", "model",
					      STORE_TIME_KEEP, T_OLD),
			 0);
	assert_int_equal(
	    store_output_get(f->s, "p", "r", "s", "model/w.bin", &o), 0);
	assert_int_equal(o.mtime, T1);
	assert_int_equal(o.atime, T2);
	/* A rename keeps the times. */
	assert_int_equal(store_output_rename(f->s, c, "p", "r", "s",
					     "model/w.bin", "model/x.bin"),
			 0);
	assert_int_equal(
	    store_output_get(f->s, "p", "r", "s", "model/x.bin", &o), 0);
	assert_int_equal(o.mtime, T1);
	assert_int_equal(store_output_get(f->s, "p", "r", "s", "model", &o), 0);
	assert_int_equal(o.mtime, T_OLD);

	assert_int_equal(store_run_seal(f->s, c, "p", "r"), 0);
	assert_int_equal(store_version_get(f->s, "model", 1, &v), 0);
	assert_int_equal(mtime_of(f, 1, "x.bin"), T1);
	assert_int_equal(mtime_of(f, 1, ""), T_OLD);
	assert_true(mtime_of(f, 1, "keep.txt") > T1);
	/* Sealed: no more times. */
	assert_int_equal(
	    store_output_utimens(f->s, c, "p", "r", "s", "model/x.bin", T2, T2),
	    -EROFS);
}

static void test_store_output_utimens_missing(void **state)
{
	struct fx *f = *state;
	const struct store_caller *c = test_caller();

	assert_int_equal(store_run_create(f->s, c, "p", "r", 0), 0);
	assert_int_equal(store_step_create(f->s, c, "p", "r", "s"), 0);
	assert_int_equal(
	    store_output_utimens(f->s, c, "p", "r", "s", "none", T1, T1),
	    -ENOENT);
	assert_int_equal(
	    store_output_utimens(f->s, c, "p", "r", "s", "", T1, T1), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_store_put_path_keeps_mtimes,
					    fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(
		test_store_put_digest_ignores_mtimes, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(
		test_store_output_utimens_sealed_kept, fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_store_output_utimens_missing,
					    fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
