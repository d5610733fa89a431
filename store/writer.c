/*
 * writer.c - streaming file ingest on a small worker pool.
 *
 * The writer's own thread runs the chunker and the whole-file SHA-256;
 * each cut chunk becomes a job that a pool thread hashes, looks up,
 * compresses when a sample says it pays, and stores.  At most
 * MAX_INFLIGHT_PER_THREAD chunks per pool thread are in flight per writer,
 * so memory stays at a few chunk sizes whatever the file size.
 *
 * The whole-file SHA-256 must see the chunks in order: whichever pool
 * thread finds the next chunk in file order stored takes the file hash
 * forward over every chunk that is ready (one at a time, under a flag), so
 * the writer's thread only reads, chunks and copies.  Chunk buffers are
 * recycled through a free list: a fresh 1 MiB malloc is an mmap and a page
 * fault per 4 KiB.
 *
 * Compression sampling: after two chunks in a row that zstd could not
 * shrink enough, the next SKIP_AFTER_MISS chunks are stored raw without
 * trying; then one is sampled again.
 */
#include "store_i.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INFLIGHT_PER_THREAD 3
#define SKIP_AFTER_MISS		32

struct wjob {
	struct pool_job job; /* first: the pool hands back this pointer */
	struct store_writer *w;
	uint8_t *data; /* recycled once stored and hashed */
	uint32_t len;
	bool try_zstd, stored_done;
	uint8_t id[STORE_DIGEST_LEN];
	uint32_t stored;
	bool is_new, unflushed;
};

struct store_writer {
	struct store *s;
	struct chunker ch;
	EVP_MD_CTX *md;
	uint8_t *cur;
	uint32_t cur_len;
	uint64_t size;
	struct wjob **jobs;
	size_t njobs, cap;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned inflight, max_inflight;
	size_t hash_next; /* next chunk the file hash must see */
	bool hashing;
	int err;
	unsigned zstd_skip, zstd_miss;
};

/* Takes the file hash over every stored chunk that is next in order.
 * Called and returns with w->lock held. */
static void hash_forward(struct store_writer *w)
{
	while (!w->hashing && w->hash_next < w->njobs &&
	       w->jobs[w->hash_next]->stored_done) {
		struct wjob *j = w->jobs[w->hash_next];
		bool ok;

		w->hashing = true;
		pthread_mutex_unlock(&w->lock);
		ok = EVP_DigestUpdate(w->md, j->data, j->len);
		pool_buf_give(w->s->pool, j->data);
		pthread_mutex_lock(&w->lock);
		j->data = NULL;
		if (!ok && !w->err)
			w->err = -EIO;
		w->hash_next++;
		w->hashing = false;
		w->inflight--;
		pthread_cond_broadcast(&w->cond);
	}
}

static void job_run(struct pool_job *pj)
{
	struct wjob *j = (struct wjob *)pj;
	struct store_writer *w = j->w;
	struct store *s = w->s;
	int rc = store_digest_buf(j->data, j->len, j->id);

	if (!rc && !cas_known(s, j->id, &j->stored, &j->unflushed)) {
		rc = cas_put(s, j->id, j->data, j->len, j->try_zstd, &j->stored,
			     &j->unflushed);
		j->is_new = (rc == 0);
	}

	pthread_mutex_lock(&w->lock);
	if (rc && !w->err)
		w->err = rc;
	if (j->is_new && j->try_zstd) {
		bool raw = j->stored == j->len + 1;

		w->zstd_miss = raw ? w->zstd_miss + 1 : 0;
		if (w->zstd_miss >= 2) {
			w->zstd_skip = SKIP_AFTER_MISS;
			w->zstd_miss = 0;
		}
	}
	j->stored_done = true;
	hash_forward(w);
	pthread_mutex_unlock(&w->lock);
}

/* ------------------------------------------------------------- writer */

int store_writer_new(struct store *s, struct store_writer **out)
{
	struct store_writer *w;

	if (s->read_only)
		return -EROFS;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->s = s;
	w->md = EVP_MD_CTX_new();
	w->cur = pool_buf_take(s->pool, s->opt.chunk_max);
	if (!w->md || !w->cur ||
	    !EVP_DigestInit_ex(w->md, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(w->md);
		free(w->cur);
		free(w);
		return -ENOMEM;
	}
	chunker_init(&w->ch, s->opt.chunk_min, s->opt.chunk_avg,
		     s->opt.chunk_max);
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	w->max_inflight = MAX_INFLIGHT_PER_THREAD * s->opt.threads;
	gate_share(&s->gc_gate);
	*out = w;
	return 0;
}

/* Hands the current chunk to the pool, or with inline_run hashes and
 * stores it in this thread (a small file's only chunk: two thread
 * switches would cost more than the work).  The tail_len bytes at tail
 * (read past the cut, inside the current buffer) start the next buffer:
 * they are moved before the pool may recycle the old one. */
static int submit(struct store_writer *w, bool inline_run, const uint8_t *tail,
		  size_t tail_len)
{
	struct wjob *j = calloc(1, sizeof(*j));
	uint8_t *next = pool_buf_take(w->s->pool, w->s->opt.chunk_max);
	int rc = 0;

	if (!j || !next) {
		rc = -ENOMEM;
		goto out_free;
	}
	j->job.run = job_run;
	j->w = w;
	j->data = w->cur;
	j->len = w->cur_len;

	pthread_mutex_lock(&w->lock);
	while (w->inflight >= w->max_inflight)
		pthread_cond_wait(&w->cond, &w->lock);
	if (w->njobs == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 64;
		struct wjob **p = realloc(w->jobs, cap * sizeof(*p));

		if (!p) {
			pthread_mutex_unlock(&w->lock);
			rc = -ENOMEM;
			goto out_free;
		}
		w->jobs = p;
		w->cap = cap;
	}
	w->jobs[w->njobs++] = j;
	j->try_zstd = w->zstd_skip == 0;
	if (w->zstd_skip)
		w->zstd_skip--;
	w->inflight++;
	pthread_mutex_unlock(&w->lock);
	w->cur = next;
	w->cur_len = 0;
	if (tail_len)
		memcpy(next, tail, tail_len);
	if (inline_run)
		job_run(&j->job);
	else
		pool_push(w->s->pool, &j->job);
	return 0;
out_free:
	free(j);
	if (next)
		pool_buf_give(w->s->pool, next);
	return rc;
}

/* The first error a pool thread met, or 0. */
static int writer_err(struct store_writer *w)
{
	int rc;

	pthread_mutex_lock(&w->lock);
	rc = w->err;
	pthread_mutex_unlock(&w->lock);
	return rc;
}

int store_writer_write(struct store_writer *w, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		size_t room = w->s->opt.chunk_max - w->cur_len;
		size_t n = len < room ? len : room;
		bool cut;
		int rc;

		n = chunker_feed(&w->ch, p, n, &cut);
		memcpy(w->cur + w->cur_len, p, n);
		w->cur_len += (uint32_t)n;
		w->size += n;
		p += n;
		len -= n;
		if (cut) {
			rc = submit(w, false, NULL, 0);
			if (rc)
				return rc;
		}
	}
	return writer_err(w);
}

/* Bytes read into a chunk buffer per read: a cut inside them moves the
 * rest (half of this on average) into the next buffer. */
#define ROOM_STEP (64u << 10)

uint8_t *store_writer_room(struct store_writer *w, size_t *len)
{
	const struct store_options *o = &w->s->opt;
	size_t room = ROOM_STEP;

	/* No cut can fall within a chunk's first chunk_min bytes. */
	if (w->cur_len < o->chunk_min)
		room += o->chunk_min - w->cur_len;
	if (room > o->chunk_max - w->cur_len)
		room = o->chunk_max - w->cur_len;
	*len = room;
	return w->cur + w->cur_len;
}

int store_writer_wrote(struct store_writer *w, size_t n)
{
	uint8_t *p = w->cur + w->cur_len;

	while (n) {
		bool cut;
		size_t k = chunker_feed(&w->ch, p, n, &cut);
		int rc;

		w->cur_len += (uint32_t)k;
		w->size += k;
		p += k;
		n -= k;
		if (cut) {
			rc = submit(w, false, p, n);
			if (rc)
				return rc;
			p = w->cur;
		}
	}
	return writer_err(w);
}

static int wait_all(struct store_writer *w)
{
	int rc;

	pthread_mutex_lock(&w->lock);
	while (w->inflight)
		pthread_cond_wait(&w->cond, &w->lock);
	rc = w->err;
	pthread_mutex_unlock(&w->lock);
	return rc;
}

static void writer_free(struct store_writer *w)
{
	for (size_t i = 0; i < w->njobs; i++)
		free(w->jobs[i]);
	free(w->jobs);
	if (w->cur)
		pool_buf_give(w->s->pool, w->cur);
	EVP_MD_CTX_free(w->md);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	gate_unshare(&w->s->gc_gate);
	free(w);
}

void store_writer_abort(struct store_writer *w)
{
	if (!w)
		return;
	wait_all(w);
	writer_free(w);
}

/* Builds the manifest from the finished jobs and records it, unless a
 * referenced manifest of the same content already exists. */
static int record_manifest(struct store_writer *w, struct store_file *out)
{
	struct manifest m = {.size = w->size, .n = w->njobs};
	uint8_t key[KEY_DIGEST_LEN];
	void *val;
	size_t len;
	int rc;

	key_digest(key, KEY_REF_FILE, out->digest);
	if (db_get(w->s->db, CF_REFCOUNTS, key, sizeof(key), &val, &len) == 0) {
		free(val);
		return 0;
	}
	m.chunks = calloc(m.n ? m.n : 1, sizeof(*m.chunks));
	if (!m.chunks)
		return -ENOMEM;
	for (size_t i = 0; i < m.n; i++) {
		memcpy(m.chunks[i].id, w->jobs[i]->id, STORE_DIGEST_LEN);
		m.chunks[i].plain = w->jobs[i]->len;
		m.chunks[i].stored = w->jobs[i]->stored;
		if (w->jobs[i]->is_new) {
			out->new_chunks++;
			out->new_bytes += w->jobs[i]->stored;
		}
		out->unflushed |= w->jobs[i]->unflushed;
	}
	rc = manifest_encode(&m, &val, &len);
	free(m.chunks);
	if (rc)
		return rc;
	rc = db_put(w->s->db, CF_MANIFESTS, key,
		    key_digest(key, KEY_MF_FILE, out->digest), val, len);
	if (!rc && db_rados(w->s->db))
		hints_add(w->s->hints, out->digest, val, len);
	free(val);
	return rc;
}

int store_writer_finish(struct store_writer *w, struct store_file *out)
{
	unsigned int n = 0;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (w->cur_len)
		rc = submit(w, w->njobs == 0, NULL, 0);
	if (!rc)
		rc = wait_all(w);
	else
		wait_all(w);
	if (!rc && (!EVP_DigestFinal_ex(w->md, out->digest, &n) ||
		    n != STORE_DIGEST_LEN))
		rc = -EIO;
	out->size = w->size;
	if (!rc)
		rc = record_manifest(w, out);
	writer_free(w);
	return rc;
}
