/*
 * tests/store/test_gc.c - dedup across versions, stats, fsck, refcounts and
 * garbage collection (store/maint.c).
 */
#include "helpers.h"
#include "store_i.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DATA_LEN  (2 * MiB)
#define NOTES_LEN (256 * KiB)
#define BIG_LEN	  (4 * MiB)

/* Two versions of "a": v2 changes 4 KiB in the middle of data.bin and
 * appends 10 KiB; notes.txt is the same. */
struct two {
	char *src;		  /* source dir, rewritten for v2 */
	uint8_t *d1, *d2, *notes; /* data.bin in v1 and v2, notes.txt */
	size_t d2_len;
	struct store_version v1, v2;
	struct store_stats st0, st1, st2;
};

static void put_dir(struct store *s, const char *src, const char *artifact,
		    struct store_version *out)
{
	struct store_put *p;

	assert_int_equal(
	    store_put_begin(s, test_caller(), artifact, NULL, NULL, &p), 0);
	assert_int_equal(store_put_path(p, src, ""), 0);
	assert_int_equal(store_put_commit(p, NULL, out), 0);
}

static void write_in(const char *dir, const char *name, const void *buf,
		     size_t len)
{
	char *p = path_join(dir, name);

	assert_int_equal(write_file(p, buf, len), 0);
	free(p);
}

static void two_make(struct fx *f, struct two *t)
{
	struct prng r;

	memset(t, 0, sizeof(*t));
	t->src = path_join(f->dir, "src");
	assert_int_equal(mkdir(t->src, 0755), 0);
	t->d1 = rand_buf(31, DATA_LEN);
	t->notes = text_buf(NOTES_LEN);
	t->d2_len = DATA_LEN + 10 * KiB;
	t->d2 = malloc(t->d2_len);
	assert_non_null(t->d2);
	memcpy(t->d2, t->d1, DATA_LEN);
	prng_init(&r, 32);
	prng_fill(&r, t->d2 + DATA_LEN / 2, 4 * KiB);
	prng_fill(&r, t->d2 + DATA_LEN, 10 * KiB);

	assert_int_equal(store_stats_get(f->s, &t->st0), 0);
	write_in(t->src, "data.bin", t->d1, DATA_LEN);
	write_in(t->src, "notes.txt", t->notes, NOTES_LEN);
	put_dir(f->s, t->src, "a", &t->v1);
	assert_int_equal(store_stats_get(f->s, &t->st1), 0);
	write_in(t->src, "data.bin", t->d2, t->d2_len);
	put_dir(f->s, t->src, "a", &t->v2);
	assert_int_equal(store_stats_get(f->s, &t->st2), 0);
	assert_int_equal(t->v1.number, 1);
	assert_int_equal(t->v2.number, 2);
}

static void two_check(struct fx *f, struct two *t)
{
	assert_version_file(f->s, &t->v1, "data.bin", t->d1, DATA_LEN);
	assert_version_file(f->s, &t->v1, "notes.txt", t->notes, NOTES_LEN);
	assert_version_file(f->s, &t->v2, "data.bin", t->d2, t->d2_len);
	assert_version_file(f->s, &t->v2, "notes.txt", t->notes, NOTES_LEN);
}

static void two_free(struct two *t)
{
	free(t->src);
	free(t->d1);
	free(t->d2);
	free(t->notes);
}

static void assert_gc_counts_nothing(struct store *s)
{
	struct store_gc_result g;

	memset(&g, 0xff, sizeof(g));
	assert_int_equal(store_gc(s, test_caller(), true, &g), 0);
	assert_int_equal(g.chunks, 0);
	assert_int_equal(g.bytes, 0);
	assert_int_equal(g.files, 0);
}

static void test_store_stats_get_v2_costs_less(void **state)
{
	struct fx *f = *state;
	struct store_check chk;
	struct two t;
	uint64_t c1, c2, b1, b2;

	two_make(f, &t);
	assert_int_equal(t.st0.versions, 0);
	assert_int_equal(t.st0.chunks, 0);

	assert_int_equal(t.st1.artifacts, 1);
	assert_int_equal(t.st1.versions, 1);
	assert_int_equal(t.st1.files, 2);
	assert_int_equal(t.st1.logical_bytes, DATA_LEN + NOTES_LEN);
	assert_int_equal(t.st1.chunk_bytes, DATA_LEN + NOTES_LEN);
	/* The notes compress; the random data does not. */
	assert_true(t.st1.stored_bytes < t.st1.chunk_bytes);
	assert_true(t.st1.stored_bytes > DATA_LEN);

	assert_int_equal(t.st2.artifacts, 1);
	assert_int_equal(t.st2.versions, 2);
	assert_int_equal(t.st2.files, 3);
	assert_int_equal(t.st2.logical_bytes,
			 2 * (DATA_LEN + NOTES_LEN) + 10 * KiB);

	c1 = t.st1.chunks - t.st0.chunks;
	c2 = t.st2.chunks - t.st1.chunks;
	b1 = t.st1.stored_bytes - t.st0.stored_bytes;
	b2 = t.st2.stored_bytes - t.st1.stored_bytes;
	print_message("v1: +%llu chunks +%llu bytes; v2: +%llu chunks "
		      "+%llu bytes\n",
		      (unsigned long long)c1, (unsigned long long)b1,
		      (unsigned long long)c2, (unsigned long long)b2);
	assert_true(c1 > 20);
	assert_true(c2 > 0);
	assert_true(c2 * 4 < c1);
	assert_true(b2 * 4 < b1);

	assert_fsck_clean(f->s, &chk);
	assert_int_equal(chk.chunks, t.st2.chunks);
	assert_int_equal(chk.bytes, t.st2.chunk_bytes);
	assert_int_equal(chk.unreferenced, 0);
	two_check(f, &t);

	/* The counters are stored, not kept in memory. */
	fx_reopen(f);
	assert_int_equal(store_stats_get(f->s, &t.st1), 0);
	assert_stats_equal(&t.st1, &t.st2);
	two_free(&t);
}

static void test_store_gc_removes_aborted_put(void **state)
{
	struct fx *f = *state;
	uint8_t *big = rand_buf(33, BIG_LEN);
	char *bigp = path_join(f->dir, "big.bin");
	char *datap = path_join(f->dir, "data.bin");
	struct store_gc_result dry, real;
	struct store_stats st;
	struct store_check chk;
	struct store_put *p;
	struct store_version v3;
	struct two t;

	two_make(f, &t);
	assert_int_equal(write_file(bigp, big, BIG_LEN), 0);
	assert_int_equal(write_file(datap, t.d1, DATA_LEN), 0);
	assert_int_equal(
	    store_put_begin(f->s, test_caller(), "a", NULL, NULL, &p), 0);
	/* Shares all its chunks with v1: gc must keep those. */
	assert_int_equal(store_put_path(p, datap, "data.bin"), 0);
	assert_int_equal(store_put_path(p, bigp, "big.bin"), 0);
	assert_int_equal(store_put_bytes(p), DATA_LEN + BIG_LEN);
	store_put_abort(p);

	assert_int_equal(store_stats_get(f->s, &st), 0);
	assert_stats_equal(&st, &t.st2);
	assert_int_equal(store_version_get(f->s, "a", 3, &v3), -ENOENT);
	assert_fsck_clean(f->s, &chk);
	assert_true(chk.unreferenced > 0);

	memset(&dry, 0, sizeof(dry));
	assert_int_equal(store_gc(f->s, test_caller(), true, &dry), 0);
	print_message("gc dry run: %llu chunks, %llu bytes, %llu files\n",
		      (unsigned long long)dry.chunks,
		      (unsigned long long)dry.bytes,
		      (unsigned long long)dry.files);
	assert_true(dry.chunks >= BIG_LEN / T_CHUNK_MAX);
	assert_true(dry.bytes >= BIG_LEN);
	assert_int_equal(dry.files, 1);
	/* A dry run removes nothing. */
	memset(&real, 0, sizeof(real));
	assert_int_equal(store_gc(f->s, test_caller(), true, &real), 0);
	assert_int_equal(real.chunks, dry.chunks);

	memset(&real, 0, sizeof(real));
	assert_int_equal(store_gc(f->s, test_caller(), false, &real), 0);
	assert_int_equal(real.chunks, dry.chunks);
	assert_int_equal(real.bytes, dry.bytes);
	assert_int_equal(real.files, dry.files);

	assert_gc_counts_nothing(f->s);
	assert_fsck_clean(f->s, &chk);
	assert_int_equal(chk.unreferenced, 0);
	assert_int_equal(store_stats_get(f->s, &st), 0);
	assert_stats_equal(&st, &t.st2);
	two_check(f, &t);

	/* The collected content can be stored again and reads back (gc also
	 * forgot it in memory). */
	assert_int_equal(put_buf(f->s, "a", "big.bin", big, BIG_LEN, NULL, &v3),
			 0);
	assert_int_equal(v3.number, 3);
	assert_version_file(f->s, &v3, "big.bin", big, BIG_LEN);
	assert_fsck_clean(f->s, NULL);

	fx_reopen(f);
	assert_gc_counts_nothing(f->s);
	assert_fsck_clean(f->s, NULL);
	two_check(f, &t);
	assert_version_file(f->s, &v3, "big.bin", big, BIG_LEN);
	two_free(&t);
	free(datap);
	free(bigp);
	free(big);
}

static void test_store_gc_removes_uncommitted_writer(void **state)
{
	struct fx *f = *state;
	const size_t len = 1 * MiB + 3;
	uint8_t *buf = rand_buf(34, len);
	struct store_gc_result g;
	struct store_reader *r = NULL;
	struct store_file sf, again;
	struct store_version v;
	struct two t;

	two_make(f, &t);
	assert_int_equal(store_buf(f->s, buf, len, 0, &sf), 0);
	assert_true(sf.new_chunks > 0);
	/* Readable while it waits for a commit... */
	assert_content(f->s, sf.digest, buf, len);

	memset(&g, 0, sizeof(g));
	assert_int_equal(store_gc(f->s, test_caller(), true, &g), 0);
	assert_int_equal(g.chunks, sf.new_chunks);
	assert_int_equal(g.bytes, sf.new_bytes);
	assert_int_equal(g.files, 1);
	memset(&g, 0, sizeof(g));
	assert_int_equal(store_gc(f->s, test_caller(), false, &g), 0);
	assert_int_equal(g.chunks, sf.new_chunks);
	assert_int_equal(g.files, 1);

	/* ...and gone after gc. */
	assert_int_equal(store_reader_open(f->s, sf.digest, &r), -ENOENT);
	assert_null(r);
	assert_gc_counts_nothing(f->s);
	assert_fsck_clean(f->s, NULL);
	two_check(f, &t);

	/* Written again, its chunks count as new and it commits fine. */
	assert_int_equal(store_buf(f->s, buf, len, 0, &again), 0);
	assert_int_equal(again.new_chunks, sf.new_chunks);
	assert_memory_equal(again.digest, sf.digest, STORE_DIGEST_LEN);
	assert_int_equal(put_buf(f->s, "b", "f.bin", buf, len, NULL, &v), 0);
	assert_version_file(f->s, &v, "f.bin", buf, len);
	assert_fsck_clean(f->s, NULL);
	assert_gc_counts_nothing(f->s);
	free(buf);
	two_free(&t);
}

/* Distinct chunk ids over the manifests of files a and b. */
static uint64_t distinct_chunks(struct store *s, const uint8_t *a,
				const uint8_t *b)
{
	struct manifest m[2];
	uint64_t n = 0;

	assert_int_equal(manifest_load(s, NULL, a, &m[0]), 0);
	assert_int_equal(manifest_load(s, NULL, b, &m[1]), 0);
	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; i < m[k].n; i++) {
			bool seen = false;

			for (int kk = 0; kk <= k && !seen; kk++) {
				size_t end = kk == k ? i : m[kk].n;

				for (size_t j = 0; j < end && !seen; j++)
					seen = !memcmp(m[kk].chunks[j].id,
						       m[k].chunks[i].id,
						       STORE_DIGEST_LEN);
			}
			n += !seen;
		}
	}
	manifest_release(&m[0]);
	manifest_release(&m[1]);
	return n;
}

static void test_store_put_file_same_file_twice_refcounts(void **state)
{
	struct fx *f = *state;
	const size_t len = 500 * KiB;
	uint8_t *buf = rand_buf(35, len);
	uint8_t *zero = calloc(1, 1 * MiB);
	struct store_file sf, zf;
	struct store_put *p;
	struct store_version v1, v2;
	struct store_stats st;
	struct store_check chk;
	struct store_gc_result g;

	assert_non_null(zero);
	assert_int_equal(store_buf(f->s, buf, len, 0, &sf), 0);
	/* Nearly every chunk of this file is the same run of zeros. */
	assert_int_equal(store_buf(f->s, zero, 1 * MiB, 0, &zf), 0);

	assert_int_equal(
	    store_put_begin(f->s, test_caller(), "a", NULL, NULL, &p), 0);
	assert_int_equal(store_put_file(p, "x.bin", &sf, 0644), 0);
	assert_int_equal(store_put_file(p, "dir/x.bin", &sf, 0600), 0);
	assert_int_equal(store_put_file(p, "dir/deeper/x.bin", &sf, 0644), 0);
	assert_int_equal(store_put_file(p, "zeros", &zf, 0644), 0);
	assert_int_equal(store_put_file(p, "dir/zeros", &zf, 0644), 0);
	assert_int_equal(store_put_commit(p, NULL, &v1), 0);
	assert_int_equal(v1.files, 5);
	assert_int_equal(v1.size, 3 * len + 2 * MiB);

	assert_int_equal(store_stats_get(f->s, &st), 0);
	assert_int_equal(st.files, 2);
	assert_int_equal(st.chunks,
			 distinct_chunks(f->s, sf.digest, zf.digest));
	assert_true(st.chunks < sf.new_chunks + 4);
	assert_fsck_clean(f->s, &chk);
	assert_int_equal(chk.unreferenced, 0);

	/* The same content again as v2, under two names. */
	assert_int_equal(
	    store_put_begin(f->s, test_caller(), "a", NULL, NULL, &p), 0);
	assert_int_equal(store_put_file(p, "x.bin", &sf, 0644), 0);
	assert_int_equal(store_put_file(p, "copy.bin", &sf, 0644), 0);
	assert_int_equal(store_put_commit(p, NULL, &v2), 0);
	assert_int_equal(store_stats_get(f->s, &st), 0);
	assert_int_equal(st.files, 2);
	assert_int_equal(st.versions, 2);
	assert_fsck_clean(f->s, NULL);
	memset(&g, 0xff, sizeof(g));
	assert_int_equal(store_gc(f->s, test_caller(), false, &g), 0);
	assert_int_equal(g.chunks, 0);
	assert_int_equal(g.files, 0);

	assert_version_file(f->s, &v1, "dir/deeper/x.bin", buf, len);
	assert_version_file(f->s, &v1, "dir/zeros", zero, 1 * MiB);
	assert_version_file(f->s, &v2, "copy.bin", buf, len);
	fx_reopen(f);
	assert_fsck_clean(f->s, NULL);
	free(zero);
	free(buf);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_store_stats_get_v2_costs_less),
	    T(test_store_gc_removes_aborted_put),
	    T(test_store_gc_removes_uncommitted_writer),
	    T(test_store_put_file_same_file_twice_refcounts),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
