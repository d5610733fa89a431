/*
 * tests/store/test_atomic.c - a failed commit changes nothing.
 *
 * RocksDB calls are wrapped at link time (-Wl,--wrap, see CMakeLists.txt)
 * so that a test can make them fail the way a full disk does:
 *   rocksdb_write_writebatch_wi  every commit (version, alias, run)
 *   rocksdb_put_cf               chunk payloads only (32-byte keys)
 *   rocksdb_flush_cf             the chunk flush before a commit
 * After each injected failure the store must hold exactly the old state:
 * no version, alias or run change, the same counters, a clean fsck, and the
 * next commit must work.
 */
#include "helpers.h"
#include "wrap.h"

#include <errno.h>
#include <rocksdb/c.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_int fail_batch, fail_chunk_put, fail_flush;
static atomic_int batch_failures, chunk_failures, flush_failures;

void __wrap_rocksdb_write_writebatch_wi(rocksdb_t *db,
					const rocksdb_writeoptions_t *o,
					rocksdb_writebatch_wi_t *wb,
					char **errptr)
{
	if (atomic_load(&fail_batch)) {
		atomic_fetch_add(&batch_failures, 1);
		*errptr =
		    strdup("IO error: No space left on device (injected)");
		return;
	}
	__real_rocksdb_write_writebatch_wi(db, o, wb, errptr);
}

void __wrap_rocksdb_put_cf(rocksdb_t *db, const rocksdb_writeoptions_t *o,
			   rocksdb_column_family_handle_t *cf, const char *key,
			   size_t klen, const char *val, size_t vlen,
			   char **errptr)
{
	/* Only chunk keys are exactly a digest long (FORMAT.md). */
	if (atomic_load(&fail_chunk_put) && klen == STORE_DIGEST_LEN) {
		atomic_fetch_add(&chunk_failures, 1);
		*errptr =
		    strdup("IO error: No space left on device (injected)");
		return;
	}
	__real_rocksdb_put_cf(db, o, cf, key, klen, val, vlen, errptr);
}

void __wrap_rocksdb_flush_cf(rocksdb_t *db, const rocksdb_flushoptions_t *o,
			     rocksdb_column_family_handle_t *cf, char **errptr)
{
	if (atomic_load(&fail_flush)) {
		atomic_fetch_add(&flush_failures, 1);
		*errptr = strdup("IO error: While appending to file: "
				 "000042.sst: Input/output error (injected)");
		return;
	}
	__real_rocksdb_flush_cf(db, o, cf, errptr);
}

static int setup(void **state)
{
	atomic_store(&fail_batch, 0);
	atomic_store(&fail_chunk_put, 0);
	atomic_store(&fail_flush, 0);
	atomic_store(&batch_failures, 0);
	atomic_store(&chunk_failures, 0);
	atomic_store(&flush_failures, 0);
	return fx_setup(state);
}

static int teardown(void **state)
{
	/* A failed assert may leave an injection on: close cleanly. */
	atomic_store(&fail_batch, 0);
	atomic_store(&fail_chunk_put, 0);
	atomic_store(&fail_flush, 0);
	return fx_teardown(state);
}

static void assert_disk_error(int rc)
{
	if (rc != -ENOSPC && rc != -EIO)
		fail_msg("expected -ENOSPC or -EIO, got %d", rc);
}

/* The state after v1 of "a" (data d1), checked after a failure. */
struct base {
	uint8_t *d1, *d2;
	size_t len;
	struct store_version v1;
	struct store_stats st;
};

static void base_make(struct fx *f, struct base *b)
{
	b->len = 300 * KiB;
	b->d1 = rand_buf(51, b->len);
	b->d2 = rand_buf(52, b->len);
	assert_int_equal(
	    put_buf(f->s, "a", "f.bin", b->d1, b->len, NULL, &b->v1), 0);
	assert_int_equal(b->v1.number, 1);
	assert_int_equal(store_stats_get(f->s, &b->st), 0);
}

/* Asserts nothing changed since base_make. */
static void base_check(struct fx *f, struct base *b)
{
	struct store_version v;
	struct store_stats st;

	assert_int_equal(store_version_get(f->s, "a", 2, &v), -ENOENT);
	assert_int_equal(store_ref_resolve(f->s, "a", "latest", &v), 0);
	assert_int_equal(v.number, 1);
	assert_memory_equal(v.digest, b->v1.digest, STORE_DIGEST_LEN);
	assert_int_equal(store_stats_get(f->s, &st), 0);
	assert_stats_equal(&st, &b->st);
	assert_version_file(f->s, &b->v1, "f.bin", b->d1, b->len);
	assert_fsck_clean(f->s, NULL);
}

static void base_free(struct base *b)
{
	free(b->d1);
	free(b->d2);
}

static void test_store_put_commit_batch_failure_atomic(void **state)
{
	struct fx *f = *state;
	struct store_put *p;
	struct store_version v;
	struct base b;

	base_make(f, &b);
	assert_int_equal(put_buf_begin(f->s, "a", "f.bin", b.d2, b.len, &p), 0);
	atomic_store(&fail_batch, 1);
	assert_disk_error(store_put_commit(p, NULL, &v));
	atomic_store(&fail_batch, 0);
	assert_true(atomic_load(&batch_failures) >= 1);

	base_check(f, &b);
	/* On disk too, not only in this process's view. */
	fx_reopen(f);
	base_check(f, &b);

	assert_int_equal(put_buf(f->s, "a", "f.bin", b.d2, b.len, NULL, &v), 0);
	assert_int_equal(v.number, 2);
	assert_version_file(f->s, &v, "f.bin", b.d2, b.len);
	assert_fsck_clean(f->s, NULL);
	base_free(&b);
}

static void test_store_put_commit_new_artifact_failure_atomic(void **state)
{
	struct fx *f = *state;
	struct store_version v;
	struct store_stats st0, st;
	struct base b;

	base_make(f, &b);
	st0 = b.st;
	atomic_store(&fail_batch, 1);
	assert_disk_error(put_buf(f->s, "fresh", "x", b.d2, b.len, NULL, &v));
	atomic_store(&fail_batch, 0);
	assert_int_equal(store_ref_resolve(f->s, "fresh", "latest", &v),
			 -ENOENT);
	assert_int_equal(store_version_get(f->s, "fresh", 1, &v), -ENOENT);
	assert_int_equal(store_stats_get(f->s, &st), 0);
	assert_stats_equal(&st, &st0);
	base_check(f, &b);
	assert_int_equal(put_buf(f->s, "fresh", "x", b.d2, b.len, NULL, &v), 0);
	assert_int_equal(v.number, 1);
	base_free(&b);
}

static void test_store_alias_set_batch_failure_atomic(void **state)
{
	struct fx *f = *state;
	struct store_version v, v2;
	struct base b;

	base_make(f, &b);
	assert_int_equal(store_alias_set(f->s, test_caller(), "a", "prod", 1),
			 0);
	assert_int_equal(put_buf(f->s, "a", "f.bin", b.d2, b.len, NULL, &v2),
			 0);
	assert_int_equal(store_stats_get(f->s, &b.st), 0);

	atomic_store(&fail_batch, 1);
	assert_disk_error(store_alias_set(f->s, test_caller(), "a", "prod", 2));
	assert_disk_error(
	    store_alias_set(f->s, test_caller(), "a", "staging", 1));
	assert_disk_error(store_alias_delete(f->s, test_caller(), "a", "prod"));
	atomic_store(&fail_batch, 0);

	fx_reopen(f);
	assert_int_equal(store_ref_resolve(f->s, "a", "prod", &v), 0);
	assert_int_equal(v.number, 1);
	assert_int_equal(store_ref_resolve(f->s, "a", "staging", &v), -ENOENT);
	assert_int_equal(store_ref_resolve(f->s, "a", "latest", &v), 0);
	assert_int_equal(v.number, 2);
	assert_fsck_clean(f->s, NULL);

	assert_int_equal(store_alias_set(f->s, test_caller(), "a", "prod", 2),
			 0);
	assert_int_equal(store_ref_resolve(f->s, "a", "prod", &v), 0);
	assert_int_equal(v.number, 2);
	base_free(&b);
}

static void test_store_run_end_batch_failure_atomic(void **state)
{
	struct fx *f = *state;
	struct store_put *p;
	struct store_version v;
	struct store_run r;
	struct base b;

	base_make(f, &b);
	assert_int_equal(
	    store_run_create(f->s, test_caller(), "train", "r1", 1000), 0);
	assert_int_equal(
	    store_step_create(f->s, test_caller(), "train", "r1", "fit"), 0);
	assert_int_equal(put_buf_begin(f->s, "a", "f.bin", b.d2, b.len, &p), 0);

	atomic_store(&fail_batch, 1);
	assert_disk_error(store_run_end(f->s, test_caller(), "train", "r1",
					STORE_RUN_SEALED, &p, 1));
	assert_disk_error(
	    store_run_create(f->s, test_caller(), "train", "r2", 1000));
	assert_disk_error(
	    store_step_create(f->s, test_caller(), "train", "r1", "eval"));
	atomic_store(&fail_batch, 0);

	fx_reopen(f);
	assert_int_equal(store_run_get(f->s, "train", "r1", &r), 0);
	assert_int_equal(r.status, STORE_RUN_OPEN);
	assert_int_equal(r.ended, 0);
	assert_int_equal(store_run_get(f->s, "train", "r2", &r), -ENOENT);
	base_check(f, &b);

	/* The run can still be sealed, and then publishes. */
	assert_int_equal(put_buf_begin(f->s, "a", "f.bin", b.d2, b.len, &p), 0);
	assert_int_equal(store_run_end(f->s, test_caller(), "train", "r1",
				       STORE_RUN_SEALED, &p, 1),
			 0);
	assert_int_equal(store_run_get(f->s, "train", "r1", &r), 0);
	assert_int_equal(r.status, STORE_RUN_SEALED);
	assert_int_equal(store_ref_resolve(f->s, "a", "latest", &v), 0);
	assert_int_equal(v.number, 2);
	assert_true(strncmp(v.run, "train/r1", 8) == 0);
	assert_version_file(f->s, &v, "f.bin", b.d2, b.len);
	assert_fsck_clean(f->s, NULL);
	base_free(&b);
}

static void test_store_writer_finish_chunk_enospc(void **state)
{
	struct fx *f = *state;
	const size_t big_len = 2 * MiB;
	uint8_t *big = rand_buf(53, big_len);
	char *src = path_join(f->dir, "big.bin");
	struct store_writer *w;
	struct store_file sf;
	struct store_put *p;
	struct store_version v;
	struct store_reader *r = NULL;
	uint8_t d[STORE_DIGEST_LEN];
	int rc;
	struct base b;

	base_make(f, &b);
	assert_int_equal(write_file(src, big, big_len), 0);

	atomic_store(&fail_chunk_put, 1);
	/* Through a put: the version is not created. */
	assert_int_equal(
	    store_put_begin(f->s, test_caller(), "a", NULL, NULL, &p), 0);
	assert_int_equal(store_put_path(p, src, "big.bin"), -ENOSPC);
	store_put_abort(p);
	/* Through a writer: write may see it, finish must. */
	assert_int_equal(store_writer_new(f->s, &w), 0);
	rc = store_writer_write(w, big, big_len);
	if (rc) {
		assert_int_equal(rc, -ENOSPC);
		store_writer_abort(w);
	} else {
		assert_int_equal(store_writer_finish(w, &sf), -ENOSPC);
	}
	atomic_store(&fail_chunk_put, 0);
	assert_true(atomic_load(&chunk_failures) >= 1);

	/* No manifest was recorded for the failed content. */
	assert_int_equal(store_digest_buf(big, big_len, d), 0);
	assert_int_equal(store_reader_open(f->s, d, &r), -ENOENT);
	base_check(f, &b);
	fx_reopen(f);
	base_check(f, &b);

	/* With space again, the same content goes in and reads back. */
	assert_int_equal(put_buf(f->s, "a", "big.bin", big, big_len, NULL, &v),
			 0);
	assert_int_equal(v.number, 2);
	assert_version_file(f->s, &v, "big.bin", big, big_len);
	assert_fsck_clean(f->s, NULL);
	free(src);
	free(big);
	base_free(&b);
}

static void test_store_put_commit_flush_failure_atomic(void **state)
{
	struct fx *f = *state;
	struct store_put *p;
	struct store_version v;
	struct base b;

	base_make(f, &b);
	assert_int_equal(put_buf_begin(f->s, "a", "f.bin", b.d2, b.len, &p), 0);
	atomic_store(&fail_flush, 1);
	assert_disk_error(store_put_commit(p, NULL, &v));
	atomic_store(&fail_flush, 0);
	assert_true(atomic_load(&flush_failures) >= 1);
	base_check(f, &b);
	fx_reopen(f);
	base_check(f, &b);
	assert_int_equal(put_buf(f->s, "a", "f.bin", b.d2, b.len, NULL, &v), 0);
	assert_int_equal(v.number, 2);
	assert_version_file(f->s, &v, "f.bin", b.d2, b.len);
	base_free(&b);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_store_put_commit_batch_failure_atomic),
	    T(test_store_put_commit_new_artifact_failure_atomic),
	    T(test_store_alias_set_batch_failure_atomic),
	    T(test_store_run_end_batch_failure_atomic),
	    T(test_store_writer_finish_chunk_enospc),
	    T(test_store_put_commit_flush_failure_atomic),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
