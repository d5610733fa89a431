/*
 * tests/store/test_env.c - environment snapshots of steps and the step
 * cache's entries (store/env.c), and copying a step's outputs tree.
 *
 * A snapshot is content: the same files give the same digest and share
 * every object, each step's record holds a reference that fsck counts,
 * and a cache entry leads to the versions its step produced.
 */
#include "helpers.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const struct store_env_file files[] = {
    {"packages.txt", "python numpy==1.26.4\n", 21},
    {"system.txt", "os: Debian 12\n", 14},
    {"code.txt", "git: none\n", 10},
};

static void open_run(struct store *s, const char *run, const char *step)
{
	assert_int_equal(store_run_create(s, test_caller(), "p", run, 0), 0);
	assert_int_equal(store_step_create(s, test_caller(), "p", run, step),
			 0);
}

static void test_store_env_set_same_files_same_digest(void **state)
{
	struct fx *f = *state;
	uint8_t a[STORE_DIGEST_LEN], b[STORE_DIGEST_LEN], got[STORE_DIGEST_LEN];
	struct store_stats s1, s2;
	struct store_check ck;
	char *text;
	size_t len;

	open_run(f->s, "r1", "train");
	open_run(f->s, "r2", "train");
	assert_int_equal(
	    store_env_set(f->s, test_caller(), "p", "r1", "train", files, 3, a),
	    0);
	assert_int_equal(store_stats_get(f->s, &s1), 0);
	assert_int_equal(
	    store_env_set(f->s, test_caller(), "p", "r2", "train", files, 3, b),
	    0);
	assert_int_equal(store_stats_get(f->s, &s2), 0);
	assert_memory_equal(a, b, STORE_DIGEST_LEN);
	/* The second costs nothing: no new file, no new chunk. */
	assert_int_equal(s1.files, s2.files);
	assert_int_equal(s1.chunks, s2.chunks);
	assert_int_equal(store_env_get(f->s, "p", "r2", "train", got), 0);
	assert_memory_equal(a, got, STORE_DIGEST_LEN);
	assert_int_equal(store_env_read(f->s, got, "system.txt", &text, &len),
			 0);
	assert_int_equal(len, 14);
	assert_string_equal(text, "os: Debian 12\n");
	free(text);
	assert_int_equal(store_env_read(f->s, got, "nope.txt", &text, &len),
			 -ENOENT);
	assert_fsck_clean(f->s, &ck);
	fx_reopen(f);
	assert_fsck_clean(f->s, &ck);
}

static void test_store_env_set_replace_moves_reference(void **state)
{
	struct fx *f = *state;
	uint8_t a[STORE_DIGEST_LEN], b[STORE_DIGEST_LEN];
	struct store_check ck;

	open_run(f->s, "r1", "s");
	assert_int_equal(
	    store_env_set(f->s, test_caller(), "p", "r1", "s", files, 3, a), 0);
	assert_int_equal(
	    store_env_set(f->s, test_caller(), "p", "r1", "s", files, 2, b), 0);
	assert_memory_not_equal(a, b, STORE_DIGEST_LEN);
	assert_fsck_clean(f->s, &ck);
}

static void test_store_env_set_refused(void **state)
{
	struct fx *f = *state;
	const struct store_env_file twice[] = {{"a", "x", 1}, {"a", "y", 1}};
	const struct store_env_file bad[] = {{"a/b", "x", 1}};
	uint8_t d[STORE_DIGEST_LEN];

	assert_int_equal(
	    store_env_set(f->s, test_caller(), "p", "r1", "s", files, 3, d),
	    -ENOENT);
	open_run(f->s, "r1", "s");
	assert_int_equal(
	    store_env_set(f->s, test_caller(), "p", "r1", "s", twice, 2, d),
	    -EINVAL);
	assert_int_equal(
	    store_env_set(f->s, test_caller(), "p", "r1", "s", bad, 1, d),
	    -EINVAL);
	assert_int_equal(store_run_end(f->s, test_caller(), "p", "r1",
				       STORE_RUN_SEALED, NULL, 0),
			 0);
	assert_int_equal(
	    store_env_set(f->s, test_caller(), "p", "r1", "s", files, 3, d),
	    -EROFS);
	assert_int_equal(store_env_get(f->s, "p", "r1", "s", d), -ENOENT);
}

static void test_store_cache_refers_outputs_of_its_step(void **state)
{
	struct fx *f = *state;
	uint8_t key[STORE_DIGEST_LEN] = {1, 2, 3};
	struct store_version v1, v2;
	struct store_check ck;
	struct store_file file;
	struct store_cache e;

	open_run(f->s, "r1", "s");
	assert_int_equal(store_buf(f->s, "weights", 7, 0, &file), 0);
	assert_int_equal(store_output_set(f->s, test_caller(), "p", "r1", "s",
					  "model", STORE_KIND_DIR, 0755, NULL,
					  0, NULL),
			 0);
	assert_int_equal(store_output_set(f->s, test_caller(), "p", "r1", "s",
					  "model/w.bin", STORE_KIND_FILE, 0644,
					  &file, 0, NULL),
			 0);
	assert_int_equal(store_run_seal(f->s, test_caller(), "p", "r1"), 0);
	assert_int_equal(store_cache_get(f->s, key, &e), -ENOENT);
	assert_false(store_cache_refers(f->s, "model", 1));
	assert_int_equal(
	    store_cache_set(f->s, test_caller(), key, "p", "r1", "s"), 0);
	assert_int_equal(store_cache_get(f->s, key, &e), 0);
	assert_string_equal(e.run, "r1");
	assert_string_equal(e.step, "s");
	assert_true(store_cache_refers(f->s, "model", 1));
	assert_false(store_cache_refers(f->s, "model", 2));

	/* A hit's outputs: the same tree, so the same version digest. */
	open_run(f->s, "r2", "s");
	assert_int_equal(store_output_copy(f->s, test_caller(), "p", "r2", "s",
					   "p", "r1", "s"),
			 0);
	assert_int_equal(store_output_copy(f->s, test_caller(), "p", "r2", "s",
					   "p", "r1", "s"),
			 -EEXIST);
	assert_int_equal(store_run_seal(f->s, test_caller(), "p", "r2"), 0);
	assert_int_equal(store_version_get(f->s, "model", 1, &v1), 0);
	assert_int_equal(store_version_get(f->s, "model", 2, &v2), 0);
	assert_memory_equal(v1.digest, v2.digest, STORE_DIGEST_LEN);
	assert_fsck_clean(f->s, &ck);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_store_env_set_same_files_same_digest),
	    T(test_store_env_set_replace_moves_reference),
	    T(test_store_env_set_refused),
	    T(test_store_cache_refers_outputs_of_its_step),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
