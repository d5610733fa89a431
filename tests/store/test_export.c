/*
 * tests/store/test_export.c - what a trimmed export keeps of the runs
 * (store/closure.c): the runs that made a version it holds, whole; of
 * every other run nothing (record, notes, steps, outputs, environment,
 * trace, edges, cache entries), its content reclaimed, fsck clean; no
 * role binding on what it does not hold.
 */
#include "helpers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct store_env_file shared[] = {
    {"packages.txt", "python numpy==1.26.4\n", 21},
};
static const struct store_env_file own[] = {
    {"packages.txt", "python torch==2.3.0\n", 20},
};

/* Run pipeline/run with step s: reads input@1 (if any), notes, traces,
 * snapshots env, writes artifact out (n random bytes, seed) and, unless
 * open, is sealed (out@1 made) with a cache entry key. */
static void run_make(struct store *st, const char *p, const char *r,
		     const char *input, const struct store_env_file *env,
		     const char *out, size_t n, uint64_t seed, bool open,
		     const uint8_t key[STORE_DIGEST_LEN])
{
	const struct store_caller *c = test_caller();
	uint8_t *buf = rand_buf(seed, n);
	struct store_file file;
	char path[64];

	assert_int_equal(store_run_create(st, c, p, r, 0), 0);
	assert_int_equal(store_step_create(st, c, p, r, "s"), 0);
	if (input)
		assert_int_equal(
		    store_step_input_add(st, c, p, r, "s", input, 1), 0);
	assert_int_equal(store_run_note_set(st, c, p, r, "param.lr", "0.1"), 0);
	assert_int_equal(
	    store_trace_append(st, c, p, r, "s", "{\"k\":1}", 7, NULL), 0);
	assert_int_equal(store_env_set(st, c, p, r, "s", env, 1, NULL), 0);
	assert_int_equal(store_buf(st, buf, n, 0, &file), 0);
	snprintf(path, sizeof(path), "%s/w.bin", out);
	assert_int_equal(store_output_set(st, c, p, r, "s", out, STORE_KIND_DIR,
					  0755, NULL, 0, NULL),
			 0);
	assert_int_equal(store_output_set(st, c, p, r, "s", path,
					  STORE_KIND_FILE, 0644, &file, 0,
					  NULL),
			 0);
	free(buf);
	if (open)
		return;
	assert_int_equal(store_run_seal(st, c, p, r), 0);
	assert_int_equal(store_cache_set(st, c, key, p, r, "s"), 0);
}

/* Role bindings: on what the export holds (the first three), on what it
 * does not. */
static const char *const scopes[] = {
    "/",
    "/pipelines/p/runs/r1",
    "/artifacts/model",
    "/pipelines/q",
    "/pipelines/p/runs/r9",
    "/artifacts/other/v1",
};

static int count_line(void *arg, uint64_t seq, const char *line, size_t len)
{
	(void)seq, (void)line, (void)len;
	++*(int *)arg;
	return 0;
}

static int traced(struct store *s, const char *p, const char *r)
{
	int n = 0;

	store_trace_each(s, p, r, "s", count_line, &n);
	return n;
}

static void test_closure_export_keeps_only_its_runs(void **state)
{
	struct fx *f = *state;
	const uint8_t kp[STORE_DIGEST_LEN] = {1}, kq[STORE_DIGEST_LEN] = {2};
	const char *sel_list[] = {"model@v1"};
	struct store_export_sel sel = {.closure = sel_list, .nclosure = 1};
	uint8_t env[STORE_DIGEST_LEN];
	struct store_version v;
	struct store_stats live, got;
	struct store_check ck;
	struct store_cache e;
	struct store_run run;
	struct store *d;
	char *dest = path_join(f->dir, "x");
	uint8_t *raw = rand_buf(1, 20000);
	char *text, role[STORE_ROLE_MAX];
	size_t len;

	assert_int_equal(put_buf(f->s, "raw", "raw.bin", raw, 20000, NULL, &v),
			 0);
	free(raw);
	run_make(f->s, "p", "r1", "raw", shared, "model", 30000, 2, false, kp);
	run_make(f->s, "q", "r1", "raw", shared, "other", 30000, 3, false, kq);
	run_make(f->s, "q", "r2", "model", own, "big", 1 * MiB, 4, true, NULL);
	/* More deletions than one batch of the trim holds. */
	for (int i = 0; i < 5000; i++)
		assert_int_equal(store_trace_append(f->s, test_caller(), "q",
						    "r2", "s", "{}", 2, NULL),
				 0);
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(store_binding_set(f->s, test_caller(),
						   scopes[i], "u:1000",
						   "reader"),
				 0);
	assert_int_equal(store_stats_get(f->s, &live), 0);

	assert_int_equal(store_export_copy(f->s, dest), 0);
	assert_int_equal(store_open(dest, &f->opt, &d), 0);
	assert_int_equal(store_export_trim(d, &sel, true, NULL, NULL), 0);

	/* The closure's run, whole. */
	assert_int_equal(store_run_get(d, "p", "r1", &run), 0);
	assert_int_equal(store_step_get(d, "p", "r1", "s"), 0);
	assert_int_equal(traced(d, "p", "r1"), 1);
	assert_int_equal(store_env_get(d, "p", "r1", "s", env), 0);
	assert_int_equal(store_env_read(d, env, "packages.txt", &text, &len),
			 0);
	free(text);
	assert_int_equal(store_cache_get(d, kp, &e), 0);
	assert_int_equal(store_version_get(d, "raw", 1, &v), 0);
	assert_int_equal(store_version_get(d, "model", 1, &v), 0);
	assert_true(store_cache_refers(d, "model", 1));

	/* Nothing of the other pipeline, sealed or open. */
	assert_int_equal(store_pipeline_get(d, "q"), -ENOENT);
	assert_int_equal(store_run_get(d, "q", "r1", &run), -ENOENT);
	assert_int_equal(store_run_get(d, "q", "r2", &run), -ENOENT);
	assert_int_equal(store_step_get(d, "q", "r2", "s"), -ENOENT);
	assert_int_equal(traced(d, "q", "r1"), 0);
	assert_int_equal(traced(d, "q", "r2"), 0);
	assert_int_equal(store_env_get(d, "q", "r1", "s", env), -ENOENT);
	assert_int_equal(store_env_get(d, "q", "r2", "s", env), -ENOENT);
	assert_int_equal(store_cache_get(d, kq, &e), -ENOENT);
	assert_int_equal(store_version_get(d, "other", 1, &v), -ENOENT);
	assert_int_equal(store_artifact_get(d, "other"), -ENOENT);

	for (size_t i = 0; i < 6; i++)
		assert_int_equal(
		    store_binding_get(d, scopes[i], "u:1000", role),
		    i < 3 ? 0 : -ENOENT);

	/* The open run's megabyte is reclaimed; the counts still add up. */
	assert_int_equal(store_stats_get(d, &got), 0);
	assert_int_equal(got.artifacts, 2);
	assert_int_equal(got.versions, 2);
	assert_true(got.chunk_bytes < live.chunk_bytes - 1 * MiB);
	assert_true(got.chunk_bytes >= 50000);
	assert_fsck_clean(d, &ck);
	assert_int_equal(ck.unreferenced, 0);
	store_close(d);
	free(dest);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_closure_export_keeps_only_its_runs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
