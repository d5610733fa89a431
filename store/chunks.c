/*
 * chunks.c - the chunk backend kept in the store's own RocksDB (the
 * default), and where a store records which backend it uses.
 *
 * The RocksDB backend is the column family CF_CHUNKS of struct db: a put
 * is a plain put (the same id always carries the same bytes, so
 * overwriting is as good as skipping), big chunks without the WAL until
 * db_flush_chunks.  A RADOS store records its pool, ceph.conf and client
 * id under CF_META "chunks" at init; every later open reads it.
 */
#include "store_i.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct db_chunks {
	struct chunk_backend b;
	struct db *db;
};

static struct db *db_of(struct chunk_backend *b)
{
	return ((struct db_chunks *)b)->db;
}

static int dbc_put(struct chunk_backend *b, const uint8_t id[STORE_DIGEST_LEN],
		   const void *val, size_t len, bool small)
{
	if (small)
		return db_chunk_put_wal(db_of(b), id, val, len);
	return db_chunk_put(db_of(b), id, val, len);
}

static int dbc_get(struct chunk_backend *b, const uint8_t id[STORE_DIGEST_LEN],
		   size_t cap, chunk_read_fn fn, void *arg)
{
	(void)cap;
	return db_chunk_read(db_of(b), id, fn, arg);
}

static int dbc_remove(struct chunk_backend *b,
		      const uint8_t id[STORE_DIGEST_LEN])
{
	return db_delete(db_of(b), CF_CHUNKS, id, STORE_DIGEST_LEN);
}

struct sizes_only {
	db_scan_fn fn;
	void *arg;
};

static int size_only(void *arg, const void *key, size_t klen, const void *val,
		     size_t vlen)
{
	struct sizes_only *o = arg;

	(void)val;
	return o->fn(o->arg, key, klen, NULL, vlen);
}

static int dbc_each(struct chunk_backend *b, bool values, db_scan_fn fn,
		    void *arg)
{
	struct sizes_only o = {fn, arg};

	if (values)
		return db_scan(db_of(b), CF_CHUNKS, NULL, 0, fn, arg);
	return db_scan(db_of(b), CF_CHUNKS, NULL, 0, size_only, &o);
}

static void dbc_close(struct chunk_backend *b)
{
	free(b);
}

static const struct chunk_ops db_ops = {
    .name = "rocksdb",
    .local = true,
    .put = dbc_put,
    .get = dbc_get,
    .remove = dbc_remove,
    .each = dbc_each,
    .close = dbc_close,
};

int chunks_db_open(struct db *db, struct chunk_backend **out)
{
	struct db_chunks *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->b.ops = &db_ops;
	c->db = db;
	*out = &c->b;
	return 0;
}

/* ------------------------------------------------------- the place
 *
 * CF_META "chunks" = "rados\n" pool "\n" conf "\n" id "\n".
 */

#define PLACE_KEY "chunks"

/* Copies the next line of *p (up to '\n') into out; false if none. */
static bool next_line(const char **p, const char *end, char *out, size_t cap)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t n;

	if (!nl)
		return false;
	n = (size_t)(nl - *p);
	if (n >= cap)
		return false;
	memcpy(out, *p, n);
	out[n] = '\0';
	*p = nl + 1;
	return true;
}

int chunks_place_get(struct db *db, struct chunk_place *p)
{
	char kind[16];
	const char *c, *end;
	void *v;
	size_t len;
	int rc = db_get(db, CF_META, PLACE_KEY, strlen(PLACE_KEY), &v, &len);

	memset(p, 0, sizeof(*p));
	if (rc == -ENOENT)
		return 0;
	if (rc)
		return rc;
	c = v;
	end = c + len;
	if (!next_line(&c, end, kind, sizeof(kind)) || strcmp(kind, "rados") ||
	    !next_line(&c, end, p->pool, sizeof(p->pool)) ||
	    !next_line(&c, end, p->conf, sizeof(p->conf)) ||
	    !next_line(&c, end, p->id, sizeof(p->id)) || !p->pool[0]) {
		store_log(STORE_LOG_ERR,
			  "the store's record of where its chunks live is "
			  "malformed");
		rc = -EIO;
	}
	free(v);
	return rc ? rc : 1;
}

void chunks_place_put(struct db_batch *b, const struct chunk_place *p)
{
	char v[sizeof(*p) + 16];
	int n = snprintf(v, sizeof(v), "rados\n%s\n%s\n%s\n", p->pool, p->conf,
			 p->id);

	db_batch_put(b, CF_META, PLACE_KEY, strlen(PLACE_KEY), v, (size_t)n);
}

int chunks_place_drop(struct db *db)
{
	return db_delete(db, CF_META, PLACE_KEY, strlen(PLACE_KEY));
}

#ifndef ARTIFACTFS_HAVE_RADOS
int chunks_rados_open(const struct chunk_place *p, const char *ns,
		      struct chunk_backend **out)
{
	(void)ns, (void)out;
	store_log(STORE_LOG_ERR,
		  "RADOS pool %s: this artifactfs was built without librados "
		  "(no RADOS support)",
		  p->pool);
	return -ENOTSUP;
}

/* Without librados no store's metadata is in RADOS: cluster_open never
 * gets here (rmeta_open fails first) and db.c never dispatches. */
int rados_place_connect(const struct chunk_place *p, void **cluster, void **io)
{
	(void)cluster, (void)io;
	return chunks_rados_open(p, NULL, NULL);
}

int rados_store_claim(const struct chunk_place *p, const char *id,
		      char have[33])
{
	(void)id, (void)have;
	return chunks_rados_open(p, NULL, NULL);
}

int rmeta_open(const struct chunk_place *p, const char *store_id,
	       struct rmeta **out)
{
	(void)store_id, (void)out;
	return chunks_rados_open(p, NULL, NULL);
}

void rmeta_close(struct rmeta *m)
{
	(void)m;
}
int rmeta_create(struct rmeta *m)
{
	(void)m;
	return -ENOTSUP;
}
void rmeta_barrier(struct rmeta *m)
{
	(void)m;
}

int rmeta_watch(struct rmeta *m, void (*fn)(void *arg, unsigned what),
		void *arg)
{
	(void)m, (void)fn, (void)arg;
	return -ENOTSUP;
}

int rmeta_get(struct rmeta *m, enum db_cf cf, const void *key, size_t klen,
	      void **val, size_t *len)
{
	(void)m, (void)cf, (void)key, (void)klen, (void)val, (void)len;
	return -ENOTSUP;
}

int rmeta_put(struct rmeta *m, enum db_cf cf, const void *key, size_t klen,
	      const void *val, size_t len, bool del)
{
	(void)m, (void)cf, (void)key, (void)klen, (void)val, (void)len;
	(void)del;
	return -ENOTSUP;
}

int rmeta_put_time(struct rmeta *m, enum db_cf cf, const void *key, size_t klen,
		   int64_t *ns)
{
	(void)m, (void)cf, (void)key, (void)klen, (void)ns;
	return -ENOTSUP;
}

int rmeta_scan_from(struct rmeta *m, enum db_cf cf, const void *prefix,
		    size_t plen, const void *from, size_t flen, db_scan_fn fn,
		    void *arg)
{
	(void)m, (void)cf, (void)prefix, (void)plen, (void)from, (void)flen;
	(void)fn, (void)arg;
	return -ENOTSUP;
}

struct rbatch *rmeta_batch_new(struct rmeta *m, int *err)
{
	(void)m;
	*err = -ENOTSUP;
	return NULL;
}

struct rbatch *rmeta_batch_new_lane(struct rmeta *m, int *err)
{
	(void)m;
	*err = -ENOTSUP;
	return NULL;
}

void rmeta_batch_free(struct rbatch *b)
{
	(void)b;
}

void rmeta_batch_put(struct rbatch *b, enum db_cf cf, const void *key,
		     size_t klen, const void *val, size_t len)
{
	(void)b, (void)cf, (void)key, (void)klen, (void)val, (void)len;
}

void rmeta_batch_delete(struct rbatch *b, enum db_cf cf, const void *key,
			size_t klen)
{
	(void)b, (void)cf, (void)key, (void)klen;
}

int rmeta_batch_get(struct rbatch *b, enum db_cf cf, const void *key,
		    size_t klen, void **val, size_t *len)
{
	(void)b, (void)cf, (void)key, (void)klen, (void)val, (void)len;
	return -ENOTSUP;
}

void rmeta_batch_prefetch(struct rbatch *b, const struct db_key *keys, size_t n)
{
	(void)b, (void)keys, (void)n;
}

int rmeta_settle(struct rmeta *m)
{
	(void)m;
	return -ENOTSUP;
}

int rmeta_batch_commit(struct rbatch *b)
{
	(void)b;
	return -ENOTSUP;
}
int rmeta_shard(struct rmeta *m, const char *pipeline, bool create,
		struct rmeta **out)
{
	(void)m, (void)pipeline, (void)create, (void)out;
	return -ENOTSUP;
}
const char *rmeta_shard_name(const struct rmeta *m)
{
	(void)m;
	return NULL;
}
const uint8_t *rmeta_shard_lane(const struct rmeta *m)
{
	(void)m;
	return NULL;
}
int rmeta_lane_pipeline(struct rmeta *m, const uint8_t *lane, char *out)
{
	(void)m, (void)lane, (void)out;
	return -ENOENT;
}
int rmeta_shards_each(struct rmeta *m, int (*fn)(void *arg, struct rmeta *s),
		      void *arg)
{
	(void)m, (void)fn, (void)arg;
	return 0;
}
#endif
