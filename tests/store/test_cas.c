/*
 * tests/store/test_cas.c - content in and out: writers, readers, digests,
 * dedup, corruption detection, chunking independence, trees.
 */
#include "helpers.h"
#include "store_i.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const size_t sizes[] = {
    0, 1, 4095, 64 * KiB - 1, 1 * MiB + 7, 9 * MiB,
};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

static void assert_digest_of(const uint8_t d[STORE_DIGEST_LEN], const void *buf,
			     size_t len)
{
	uint8_t want[STORE_DIGEST_LEN];

	assert_int_equal(store_digest_buf(buf, len, want), 0);
	assert_memory_equal(d, want, STORE_DIGEST_LEN);
}

static void roundtrip(struct store *s, const uint8_t *buf, size_t len,
		      size_t piece, struct store_file *out)
{
	struct store_file f;

	memset(&f, 0xee, sizeof(f));
	assert_int_equal(store_buf(s, buf, len, piece, &f), 0);
	assert_int_equal(f.size, len);
	assert_digest_of(f.digest, buf, len);
	assert_content(s, f.digest, buf, len);
	if (out)
		*out = f;
}

static void test_store_digest_buf_known_vectors(void **state)
{
	uint8_t d[STORE_DIGEST_LEN], back[STORE_DIGEST_LEN];
	char str[STORE_DIGEST_STR_LEN];

	(void)state;
	assert_int_equal(store_digest_buf("abc", 3, d), 0);
	store_digest_format(d, str);
	assert_string_equal(str, "sha256:ba7816bf8f01cfea414140de5dae2223"
				 "b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(store_digest_buf("", 0, d), 0);
	store_digest_format(d, str);
	assert_string_equal(str, "sha256:e3b0c44298fc1c149afbf4c8996fb924"
				 "27ae41e4649b934ca495991b7852b855");

	assert_int_equal(store_digest_parse(str, back), 0);
	assert_memory_equal(back, d, STORE_DIGEST_LEN);
	memset(back, 0, sizeof(back));
	assert_int_equal(store_digest_parse(str + 7, back), 0);
	assert_memory_equal(back, d, STORE_DIGEST_LEN);

	assert_int_equal(store_digest_parse("", back), -EINVAL);
	assert_int_equal(store_digest_parse("sha256:", back), -EINVAL);
	assert_int_equal(store_digest_parse("sha256:e3b0", back), -EINVAL);
	str[20] = 'g';
	assert_int_equal(store_digest_parse(str, back), -EINVAL);
	assert_int_equal(store_digest_parse("md5:e3b0c44298fc1c149afbf4c8996fb9"
					    "2427ae41e4649b934ca495991b7852b8"
					    "55",
					    back),
			 -EINVAL);
}

static void test_store_writer_finish_roundtrip_random(void **state)
{
	struct fx *f = *state;

	for (size_t i = 0; i < NSIZES; i++) {
		uint8_t *buf = rand_buf(100 + i, sizes[i]);
		struct store_file sf;

		print_message("random %zu bytes\n", sizes[i]);
		roundtrip(f->s, buf, sizes[i], i % 2 ? 7919 : 0, &sf);
		if (sizes[i]) {
			/* Random bytes: all new, and stored raw. */
			assert_true(sf.new_chunks > 0);
			assert_true(sf.new_bytes >= sizes[i]);
		}
		free(buf);
	}
}

static void test_store_writer_finish_roundtrip_text(void **state)
{
	struct fx *f = *state;

	for (size_t i = 0; i < NSIZES; i++) {
		uint8_t *buf = text_buf(sizes[i]);
		struct store_file sf;

		print_message("text %zu bytes\n", sizes[i]);
		roundtrip(f->s, buf, sizes[i], i % 2 ? 0 : 65536 + 3, &sf);
		/* Text chunks are stored with zstd, so they take less. */
		if (sizes[i] >= 64 * KiB - 1)
			assert_true(sf.new_bytes < sizes[i] / 2);
		free(buf);
	}
}

static void test_store_writer_finish_raw_when_level_0(void **state)
{
	struct fx *f = *state;
	const size_t len = 1 * MiB;
	uint8_t *buf = text_buf(len);
	struct store_file sf;

	store_close(f->s);
	f->opt.zstd_level = 0;
	assert_int_equal(store_open(f->store_dir, &f->opt, &f->s), 0);
	roundtrip(f->s, buf, len, 0, &sf);
	assert_true(sf.new_bytes >= len);
	free(buf);
}

static void test_store_reader_pread_random_ranges(void **state)
{
	struct fx *f = *state;
	const size_t len = 1 * MiB + 7;
	uint8_t *buf = rand_buf(7, len);
	uint8_t *got = malloc(4 * T_CHUNK_MAX);
	struct store_reader *r;
	struct store_file sf;
	struct prng rng;

	assert_non_null(got);
	assert_int_equal(store_buf(f->s, buf, len, 0, &sf), 0);
	assert_int_equal(store_reader_open(f->s, sf.digest, &r), 0);
	assert_int_equal(store_reader_size(r), len);
	prng_init(&rng, 99);
	for (int i = 0; i < 400; i++) {
		uint64_t off = prng_below(&rng, len + 100);
		size_t n = prng_below(&rng, 4 * T_CHUNK_MAX);
		size_t want = off >= len ? 0 : (len - off < n ? len - off : n);
		ssize_t got_n = store_reader_pread(r, got, n, off);

		assert_int_equal(got_n, want);
		if (want)
			assert_memory_equal(got, buf + off, want);
	}
	/* Exactly at the end, and zero-length reads. */
	assert_int_equal(store_reader_pread(r, got, 10, len), 0);
	assert_int_equal(store_reader_pread(r, got, 0, 5), 0);
	assert_int_equal(store_reader_pread(r, got, 10, len - 3), 3);
	assert_memory_equal(got, buf + len - 3, 3);
	/* Sequential, in pieces not aligned with anything. */
	for (uint64_t off = 0; off < len; off += 3001) {
		size_t want = len - off < 3001 ? len - off : 3001;

		assert_int_equal(store_reader_pread(r, got, 3001, off), want);
		assert_memory_equal(got, buf + off, want);
	}
	store_reader_close(r);
	store_reader_close(NULL);
	free(got);
	free(buf);
}

/* Copies what a view points at into out; returns the bytes. */
static size_t view_gather(const struct iovec *iov, int n, uint8_t *out)
{
	size_t done = 0;

	for (int i = 0; i < n; i++) {
		assert_true(iov[i].iov_len > 0);
		memcpy(out + done, iov[i].iov_base, iov[i].iov_len);
		done += iov[i].iov_len;
	}
	return done;
}

static void test_store_reader_view_matches_pread(void **state)
{
	struct fx *f = *state;
	const size_t len = 1 * MiB + 7;
	uint8_t *buf = rand_buf(8, len);
	uint8_t *got = malloc(4 * T_CHUNK_MAX);
	struct iovec iov[STORE_READER_VIEW_MAX];
	struct store_view v[2] = {{0}, {0}};
	struct store_read_counters c0, c1;
	struct store_reader *r, *r2;
	struct store_file sf;
	struct prng rng;
	int n;

	assert_non_null(got);
	assert_int_equal(store_buf(f->s, buf, len, 0, &sf), 0);
	assert_int_equal(store_reader_open(f->s, sf.digest, &r), 0);
	prng_init(&rng, 77);
	for (int i = 0; i < 400; i++) {
		uint64_t off = prng_below(&rng, len + 100);
		size_t want_n = prng_below(&rng, 4 * T_CHUNK_MAX);
		size_t want =
		    off >= len ? 0 : (len - off < want_n ? len - off : want_n);
		ssize_t got_n;

		/* Each view outlives the next read of r. */
		store_view_release(&v[i % 2]);
		got_n = store_reader_view(r, want_n, off, iov,
					  STORE_READER_VIEW_MAX, &n, &v[i % 2]);
		assert_int_equal(got_n, want);
		assert_int_equal(view_gather(iov, n, got), want);
		if (want)
			assert_memory_equal(got, buf + off, want);
	}
	store_view_release(&v[0]);
	store_view_release(&v[1]);
	/* More chunks than iov entries: -E2BIG, and pread still works. */
	assert_int_equal(
	    store_reader_view(r, 4 * T_CHUNK_MAX, 0, iov, 1, &n, &v[0]),
	    -E2BIG);
	assert_int_equal(store_reader_pread(r, got, 100, 0), 100);
	assert_memory_equal(got, buf, 100);
	/* A second reader of the same content decodes nothing again while
	 * the chunks are cached. */
	store_read_counters(f->s, &c0);
	assert_int_equal(store_reader_open(f->s, sf.digest, &r2), 0);
	assert_int_equal(store_reader_view(r2, 100, len - 100, iov,
					   STORE_READER_VIEW_MAX, &n, &v[0]),
			 100);
	store_read_counters(f->s, &c1);
	assert_int_equal(c1.chunk_loads, c0.chunk_loads);
	/* A view outlives its reader. */
	store_reader_close(r2);
	store_reader_close(r);
	assert_memory_equal(iov[0].iov_base, buf + len - 100, 100);
	store_view_release(&v[0]);
	free(got);
	free(buf);
}

/* Past the cache's budget (64 MiB), chunks decode into the buffers of
 * chunks it dropped, and what a reader gets is still each chunk's bytes:
 * once the cache is full, most loads use a buffer used before. */
static void test_store_reader_reuses_dropped_buffers(void **state)
{
	struct fx *f = *state;
	const size_t len = 80 * MiB + 11;
	uint8_t *buf = rand_buf(21, len);
	uint8_t *got = malloc(MiB);
	struct store_read_counters c0 = {0}, c1;
	struct store_reader *r;
	struct store_file sf;

	assert_non_null(got);
	assert_int_equal(store_buf(f->s, buf, len, 0, &sf), 0);
	for (int pass = 0; pass < 3; pass++) {
		if (pass == 2)
			store_read_counters(f->s, &c0);
		assert_int_equal(store_reader_open(f->s, sf.digest, &r), 0);
		for (uint64_t off = 0; off < len; off += MiB) {
			size_t want = len - off < MiB ? len - off : MiB;

			assert_int_equal(store_reader_pread(r, got, MiB, off),
					 want);
			assert_memory_equal(got, buf + off, want);
		}
		store_reader_close(r);
	}
	store_read_counters(f->s, &c1);
	/* Every pass loads every chunk (the first 64 MiB are gone when the
	 * next starts). */
	assert_true(c1.chunk_load_bytes - c0.chunk_load_bytes >= len);
	print_message(
	    "last pass: %llu loads, %llu into used buffers\n",
	    (unsigned long long)(c1.chunk_loads - c0.chunk_loads),
	    (unsigned long long)(c1.chunk_bufs_reused - c0.chunk_bufs_reused));
	assert_true(c1.chunk_bufs_reused - c0.chunk_bufs_reused >
		    (c1.chunk_loads - c0.chunk_loads) * 3 / 4);
	free(got);
	free(buf);
}

/* The cache's buffer pool: a buffer holds what was asked with at most a
 * fifth more, returned buffers serve the next asks of their class or
 * one up to three classes smaller, and past the region the pool keeps
 * at most 16 MiB of malloc'd buffers. */
static void test_bufpool_classes_reuse_and_bound(void **state)
{
	struct bufpool *p;
	uint8_t *b[40], *c;
	uint32_t cap, cap2;
	bool reused;
	int n = 0;

	(void)state;
	assert_int_equal(bufpool_new(2 * MiB, &p), 0);
	b[0] = bufpool_get(p, 100, &cap, &reused); /* small: its own size */
	assert_non_null(b[0]);
	assert_int_equal(cap, 100);
	assert_false(reused);
	bufpool_put(p, b[0], cap);
	for (size_t want = 16 * KiB; want <= 4 * MiB; want = want * 3 / 2 + 1) {
		c = bufpool_get(p, want, &cap, &reused);
		assert_non_null(c);
		assert_true(cap >= want && cap <= want + want / 5 + 4096);
		memset(c, 0xa5, cap);
		bufpool_put(p, c, cap);
		c = bufpool_get(p, want, &cap2, &reused);
		assert_true(reused);
		assert_int_equal(cap2, cap);
		bufpool_put(p, c, cap2);
	}
	c = bufpool_get(p, 300 * KiB, &cap, &reused);
	bufpool_put(p, c, cap);
	assert_ptr_equal(bufpool_get(p, 200 * KiB, &cap2, &reused), c);
	assert_true(reused);
	assert_int_equal(cap2, cap);
	bufpool_put(p, c, cap2);
	bufpool_free(p);

	/* A 2 MiB region holds two 1 MiB buffers (none under ASan); the
	 * rest are malloc'd, and 16 of those are kept when all come back. */
	assert_int_equal(bufpool_new(2 * MiB, &p), 0);
	assert_true(bufpool_region_bytes(p) == 2 * MiB ||
		    bufpool_region_bytes(p) == 0);
	for (int i = 0; i < 40; i++) {
		b[i] = bufpool_get(p, MiB, &cap, &reused);
		assert_non_null(b[i]);
		assert_int_equal(cap, MiB);
		memset(b[i], i, MiB);
	}
	for (int i = 0; i < 40; i++) {
		assert_int_equal(b[i][0], i);
		assert_int_equal(b[i][MiB - 1], i);
		bufpool_put(p, b[i], MiB);
	}
	for (int i = 0; i < 40; i++) {
		b[i] = bufpool_get(p, MiB, &cap, &reused);
		n += reused;
	}
	assert_int_equal(n, 16 + bufpool_region_bytes(p) / MiB);
	for (int i = 0; i < 40; i++)
		bufpool_put(p, b[i], MiB);
	bufpool_free(p);
}

static void test_store_reader_open_unknown_enoent(void **state)
{
	struct fx *f = *state;
	uint8_t d[STORE_DIGEST_LEN];
	struct store_reader *r = NULL;

	assert_int_equal(store_digest_buf("never stored", 12, d), 0);
	assert_int_equal(store_reader_open(f->s, d, &r), -ENOENT);
	assert_null(r);
}

static void test_store_writer_finish_same_bytes_same_digest(void **state)
{
	struct fx *f = *state;
	const size_t len = 1 * MiB + 7;
	uint8_t *buf = rand_buf(8, len);
	struct store_file a, b, c;

	assert_int_equal(store_buf(f->s, buf, len, 0, &a), 0);
	assert_true(a.new_chunks > 0);
	/* Fed differently, the same bytes: same digest, nothing new. */
	assert_int_equal(store_buf(f->s, buf, len, 1000, &b), 0);
	assert_memory_equal(a.digest, b.digest, STORE_DIGEST_LEN);
	assert_int_equal(b.size, len);
	assert_int_equal(b.new_chunks, 0);
	assert_int_equal(b.new_bytes, 0);

	/* Still nothing new once committed and the store reopened. */
	assert_int_equal(put_buf(f->s, "a", "x", buf, len, NULL, NULL), 0);
	fx_reopen(f);
	assert_int_equal(store_buf(f->s, buf, len, 4096, &c), 0);
	assert_memory_equal(a.digest, c.digest, STORE_DIGEST_LEN);
	assert_int_equal(c.new_chunks, 0);
	assert_int_equal(c.new_bytes, 0);

	/* One byte different: another digest. */
	buf[len / 2] ^= 1;
	assert_int_equal(store_buf(f->s, buf, len, 0, &c), 0);
	assert_memory_not_equal(a.digest, c.digest, STORE_DIGEST_LEN);
	assert_true(c.new_chunks >= 1);
	assert_content(f->s, c.digest, buf, len);
	free(buf);
}

static void test_store_writer_abort_records_nothing(void **state)
{
	struct fx *f = *state;
	const size_t len = 300 * KiB;
	uint8_t *buf = rand_buf(9, len);
	struct store_writer *w;
	struct store_reader *r = NULL;
	uint8_t d[STORE_DIGEST_LEN];

	assert_int_equal(store_writer_new(f->s, &w), 0);
	assert_int_equal(store_writer_write(w, buf, len), 0);
	store_writer_abort(w);
	store_writer_abort(NULL);
	assert_int_equal(store_digest_buf(buf, len, d), 0);
	assert_int_equal(store_reader_open(f->s, d, &r), -ENOENT);
	free(buf);
}

/* Filling the writer's buffers in place (as put reads a file) cuts the
 * same chunks as store_writer_write: the second copy of the bytes, put
 * through store_writer_room/wrote in uneven pieces, finds every chunk
 * stored already. */
static void test_store_writer_room_cuts_as_write(void **state)
{
	struct fx *f = *state;
	size_t len = 9 * MiB + 12345, done = 0, step = 0;
	uint8_t *buf = rand_buf(77, len);
	struct store_file a, b;
	struct store_writer *w;

	roundtrip(f->s, buf, len, 1 * MiB, &a);
	assert_true(a.new_chunks > 4);
	assert_int_equal(store_writer_new(f->s, &w), 0);
	while (done < len) {
		size_t room, n;
		uint8_t *dst = store_writer_room(w, &room);

		assert_true(room >= 1 && room <= f->opt.chunk_max);
		/* All of it, or a part of 1 byte up to it. */
		n = step++ % 3 ? room : 1 + (step * 7919) % room;
		if (n > len - done)
			n = len - done;
		memcpy(dst, buf + done, n);
		assert_int_equal(store_writer_wrote(w, n), 0);
		done += n;
	}
	assert_int_equal(store_writer_finish(w, &b), 0);
	assert_int_equal(b.size, len);
	assert_memory_equal(a.digest, b.digest, STORE_DIGEST_LEN);
	assert_int_equal(b.new_chunks, 0);
	assert_content(f->s, b.digest, buf, len);
	free(buf);
}

/* Flips the last byte of chunk id's stored value, the store being closed. */
static void corrupt_chunk(const char *store_dir,
			  const uint8_t id[STORE_DIGEST_LEN])
{
	char *dbdir = path_join(store_dir, "db");
	struct db *db;
	void *val;
	size_t len;

	assert_int_equal(db_open(dbdir, false, false, &db), 0);
	assert_int_equal(
	    db_get(db, CF_CHUNKS, id, STORE_DIGEST_LEN, &val, &len), 0);
	assert_true(len > 1);
	((uint8_t *)val)[len - 1] ^= 0x01;
	assert_int_equal(db_chunk_put(db, id, val, len), 0);
	assert_int_equal(db_flush_chunks(db), 0);
	db_close(db);
	free(val);
	free(dbdir);
}

static void test_store_reader_pread_flipped_byte_eio(void **state)
{
	struct fx *f = *state;
	const size_t len = 300 * KiB;
	uint8_t *buf = rand_buf(10, len);
	uint8_t *got = malloc(len);
	char *src = path_join(f->dir, "weights.bin");
	struct store_put *p;
	struct store_version v;
	struct store_dirent e;
	struct store_reader *r;
	struct store_check chk;
	struct manifest m;
	uint8_t first[STORE_DIGEST_LEN];
	uint64_t last_off;
	uint32_t last_len;

	assert_non_null(got);
	assert_int_equal(write_file(src, buf, len), 0);
	assert_int_equal(
	    store_put_begin(f->s, test_caller(), "a", NULL, NULL, &p), 0);
	assert_int_equal(store_put_path(p, src, "weights.bin"), 0);
	assert_int_equal(store_put_commit(p, NULL, &v), 0);
	assert_int_equal(store_tree_lookup(f->s, v.digest, "weights.bin", &e),
			 0);
	assert_digest_of(e.digest, buf, len);

	assert_int_equal(manifest_load(f->s, NULL, e.digest, &m), 0);
	assert_int_equal(m.size, len);
	assert_true(m.n >= 2);
	memcpy(first, m.chunks[0].id, STORE_DIGEST_LEN);
	last_off = m.chunks[m.n - 1].offset;
	last_len = m.chunks[m.n - 1].plain;
	manifest_release(&m);
	assert_fsck_clean(f->s, NULL);

	store_close(f->s);
	f->s = NULL;
	corrupt_chunk(f->store_dir, first);
	log_capture_start();
	assert_int_equal(store_open(f->store_dir, &f->opt, &f->s), 0);

	assert_int_equal(store_reader_open(f->s, e.digest, &r), 0);
	assert_int_equal(store_reader_pread(r, got, len, 0), -EIO);
	assert_int_equal(store_reader_pread(r, got, 1, 0), -EIO);
	/* The damage stays in its chunk: the last one still reads. */
	assert_int_equal(store_reader_pread(r, got, last_len, last_off),
			 last_len);
	assert_memory_equal(got, buf + last_off, last_len);
	store_reader_close(r);

	memset(&chk, 0, sizeof(chk));
	assert_int_equal(store_fsck(f->s, NULL, NULL, &chk), -EUCLEAN);
	assert_true(chk.problems >= 1);
	assert_true(chk.chunks >= 1);
	log_capture_stop();
	free(src);
	free(got);
	free(buf);
}

/* Builds a small tree under root: files, a subdirectory, a symlink, an
 * empty file, modes. */
static void make_tree(const char *root, uint8_t **big, size_t *big_len)
{
	char *p;
	uint8_t *text = text_buf(1 * MiB);

	*big_len = 3 * MiB + 11;
	*big = rand_buf(11, *big_len);
	assert_int_equal(mkdir(root, 0755), 0);
	p = path_join(root, "big.bin");
	assert_int_equal(write_file(p, *big, *big_len), 0);
	free(p);
	p = path_join(root, "notes.txt");
	assert_int_equal(write_file(p, text, 1 * MiB), 0);
	free(p);
	p = path_join(root, "empty");
	assert_int_equal(write_file(p, "", 0), 0);
	free(p);
	p = path_join(root, "run.sh");
	assert_int_equal(write_file(p, "#!/bin/sh\necho hi\n", 18), 0);
	assert_int_equal(chmod(p, 0750), 0);
	free(p);
	p = path_join(root, "sub");
	assert_int_equal(mkdir(p, 0700), 0);
	free(p);
	p = path_join(root, "sub/copy.bin");
	assert_int_equal(write_file(p, *big, *big_len), 0);
	free(p);
	p = path_join(root, "link");
	assert_int_equal(symlink("sub/copy.bin", p), 0);
	free(p);
	free(text);
}

static int put_tree(const char *store_dir, const struct store_options *o,
		    const char *src, struct store_version *v,
		    struct store_stats *st)
{
	struct store *s;
	struct store_put *p;

	assert_int_equal(store_init(store_dir, o), 0);
	assert_int_equal(store_open(store_dir, o, &s), 0);
	assert_int_equal(
	    store_put_begin(s, test_caller(), "tree", NULL, NULL, &p), 0);
	assert_int_equal(store_put_path(p, src, ""), 0);
	assert_int_equal(store_put_commit(p, NULL, v), 0);
	assert_int_equal(store_stats_get(s, st), 0);
	assert_fsck_clean(s, NULL);
	store_close(s);
	return 0;
}

static void test_store_put_commit_digest_independent_of_chunking(void **state)
{
	struct fx *f = *state;
	char *src = path_join(f->dir, "src");
	char *dir2 = path_join(f->dir, "store2");
	char *dir3 = path_join(f->dir, "store3");
	struct store_options o2, o3;
	struct store_version v1, v2, v3;
	struct store_stats st1, st2, st3;
	struct store_file a, b;
	struct store_dirent e1, e2;
	struct store *s;
	uint8_t *big;
	size_t big_len;

	make_tree(src, &big, &big_len);
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(put_tree(f->store_dir, &f->opt, src, &v1, &st1), 0);

	fx_small_options(&o2);
	o2.chunk_min = 8 * KiB;
	o2.chunk_avg = 32 * KiB;
	o2.chunk_max = 128 * KiB;
	o2.zstd_level = 0;
	assert_int_equal(put_tree(dir2, &o2, src, &v2, &st2), 0);

	store_options_init(&o3);
	o3.zstd_level = 1;
	assert_int_equal(put_tree(dir3, &o3, src, &v3, &st3), 0);

	assert_memory_equal(v1.digest, v2.digest, STORE_DIGEST_LEN);
	assert_memory_equal(v1.digest, v3.digest, STORE_DIGEST_LEN);
	assert_int_equal(v1.size, v2.size);
	assert_int_equal(v1.files, v2.files);
	/* The chunkings really differed. */
	assert_true(st1.chunks > st2.chunks);
	assert_true(st2.chunks > st3.chunks);

	/* File digests, through a writer, agree as well. */
	assert_int_equal(store_open(f->store_dir, &f->opt, &f->s), 0);
	assert_int_equal(store_open(dir2, &o2, &s), 0);
	assert_int_equal(store_buf(f->s, big, big_len, 0, &a), 0);
	assert_int_equal(store_buf(s, big, big_len, 12345, &b), 0);
	assert_memory_equal(a.digest, b.digest, STORE_DIGEST_LEN);
	assert_int_equal(store_tree_lookup(f->s, v1.digest, "big.bin", &e1), 0);
	assert_int_equal(store_tree_lookup(s, v2.digest, "sub/copy.bin", &e2),
			 0);
	assert_memory_equal(e1.digest, a.digest, STORE_DIGEST_LEN);
	assert_memory_equal(e2.digest, a.digest, STORE_DIGEST_LEN);
	store_close(s);

	free(big);
	free(dir3);
	free(dir2);
	free(src);
}

struct names {
	int n;
	char name[8][STORE_NAME_MAX + 1];
	enum store_kind kind[8];
};

static int collect_entry(void *arg, const struct store_dirent *e)
{
	struct names *nm = arg;

	if (nm->n == 8)
		return -E2BIG;
	snprintf(nm->name[nm->n], sizeof(nm->name[0]), "%s", e->name);
	nm->kind[nm->n++] = e->kind;
	return 0;
}

static void test_store_put_path_tree_roundtrip(void **state)
{
	struct fx *f = *state;
	char *src = path_join(f->dir, "src");
	struct store_put *p;
	struct store_version v;
	struct store_dirent e, root;
	struct names nm = {0};
	char target[64];
	uint8_t *big, *text = text_buf(1 * MiB);
	size_t big_len;

	make_tree(src, &big, &big_len);
	assert_int_equal(
	    store_put_begin(f->s, test_caller(), "tree", NULL, NULL, &p), 0);
	assert_int_equal(store_put_path(p, src, ""), 0);
	assert_int_equal(store_put_bytes(p), 2 * big_len + 1 * MiB + 18);
	assert_int_equal(store_put_commit(p, NULL, &v), 0);
	assert_int_equal(v.number, 1);
	assert_string_equal(v.artifact, "tree");
	/* Five regular files; whether the symlink counts among "files" is
	 * not pinned down by store.h.  Sizes are those of regular files. */
	assert_in_range(v.files, 5, 6);
	assert_int_equal(v.size, 2 * big_len + 1 * MiB + 18);

	assert_version_file(f->s, &v, "big.bin", big, big_len);
	assert_version_file(f->s, &v, "sub/copy.bin", big, big_len);
	assert_version_file(f->s, &v, "notes.txt", text, 1 * MiB);
	assert_version_file(f->s, &v, "empty", "", 0);
	assert_version_file(f->s, &v, "run.sh", "#!/bin/sh\necho hi\n", 18);

	assert_int_equal(store_tree_lookup(f->s, v.digest, "run.sh", &e), 0);
	assert_int_equal(e.mode & 07777, 0750);
	assert_int_equal(store_tree_lookup(f->s, v.digest, "sub", &e), 0);
	assert_int_equal(e.kind, STORE_KIND_DIR);
	assert_int_equal(e.mode & 07777, 0700);
	assert_int_equal(store_tree_lookup(f->s, v.digest, "link", &e), 0);
	assert_int_equal(e.kind, STORE_KIND_SYMLINK);
	assert_int_equal(e.size, strlen("sub/copy.bin"));
	assert_int_equal(
	    store_symlink_read(f->s, e.digest, target, sizeof(target)), 0);
	assert_string_equal(target, "sub/copy.bin");
	assert_int_equal(store_symlink_read(f->s, e.digest, target, 4),
			 -ERANGE);

	assert_int_equal(store_tree_lookup(f->s, v.digest, "", &root), 0);
	assert_int_equal(root.kind, STORE_KIND_DIR);
	assert_memory_equal(root.digest, v.digest, STORE_DIGEST_LEN);
	assert_int_equal(store_tree_each(f->s, v.digest, collect_entry, &nm),
			 0);
	assert_int_equal(nm.n, 6);
	assert_string_equal(nm.name[0], "big.bin");
	assert_string_equal(nm.name[1], "empty");
	assert_string_equal(nm.name[2], "link");
	assert_string_equal(nm.name[3], "notes.txt");
	assert_string_equal(nm.name[4], "run.sh");
	assert_string_equal(nm.name[5], "sub");
	assert_int_equal(nm.kind[5], STORE_KIND_DIR);

	assert_int_equal(store_tree_lookup(f->s, v.digest, "nope", &e),
			 -ENOENT);
	assert_int_equal(store_tree_lookup(f->s, v.digest, "sub/nope", &e),
			 -ENOENT);
	assert_int_equal(store_tree_lookup(f->s, v.digest, "big.bin/x", &e),
			 -ENOTDIR);
	assert_fsck_clean(f->s, NULL);
	free(text);
	free(big);
	free(src);
}

struct progress {
	uint64_t calls, last;
	bool backwards;
};

static void on_progress(void *arg, uint64_t done, uint64_t total)
{
	struct progress *pr = arg;

	(void)total;
	if (done < pr->last)
		pr->backwards = true;
	pr->last = done;
	pr->calls++;
}

static void test_store_put_path_progress_reports_bytes(void **state)
{
	struct fx *f = *state;
	const size_t len = 3 * MiB + 5;
	uint8_t *buf = rand_buf(12, len);
	char *src = path_join(f->dir, "p.bin");
	struct progress pr = {0};
	struct store_put *p;
	struct store_version v;

	assert_int_equal(write_file(src, buf, len), 0);
	assert_int_equal(
	    store_put_begin(f->s, test_caller(), "p", on_progress, &pr, &p), 0);
	assert_int_equal(store_put_path(p, src, "p.bin"), 0);
	assert_int_equal(store_put_bytes(p), len);
	assert_int_equal(store_put_commit(p, NULL, &v), 0);
	assert_true(pr.calls >= 1);
	assert_false(pr.backwards);
	assert_int_equal(pr.last, len);
	assert_version_file(f->s, &v, "p.bin", buf, len);
	free(src);
	free(buf);
}

static void test_store_put_path_special_file_einval(void **state)
{
	struct fx *f = *state;
	struct store_put *p;

	assert_int_equal(
	    store_put_begin(f->s, test_caller(), "dev", NULL, NULL, &p), 0);
	assert_int_equal(store_put_path(p, "/dev/null", "null"), -EINVAL);
	store_put_abort(p);
	assert_int_equal(
	    store_put_begin(f->s, test_caller(), "dev", NULL, NULL, &p), 0);
	assert_int_equal(store_put_path(p, "/no/such/file", "x"), -ENOENT);
	store_put_abort(p);
	assert_int_equal(
	    store_version_get(f->s, "dev", 1, &(struct store_version){0}),
	    -ENOENT);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_store_digest_buf_known_vectors),
	    T(test_store_writer_finish_roundtrip_random),
	    T(test_store_writer_finish_roundtrip_text),
	    T(test_store_writer_finish_raw_when_level_0),
	    T(test_store_reader_pread_random_ranges),
	    T(test_store_reader_view_matches_pread),
	    T(test_store_reader_reuses_dropped_buffers),
	    T(test_bufpool_classes_reuse_and_bound),
	    T(test_store_reader_open_unknown_enoent),
	    T(test_store_writer_finish_same_bytes_same_digest),
	    T(test_store_writer_abort_records_nothing),
	    T(test_store_writer_room_cuts_as_write),
	    T(test_store_reader_pread_flipped_byte_eio),
	    T(test_store_put_commit_digest_independent_of_chunking),
	    T(test_store_put_path_tree_roundtrip),
	    T(test_store_put_path_progress_reports_bytes),
	    T(test_store_put_path_special_file_einval),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
