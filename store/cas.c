/*
 * cas.c - the chunk store: put (zstd when it pays), verified get, and the
 * in-memory set of chunks stored but not yet referenced.
 */
#include "store_i.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

/* Per-thread zstd contexts, freed when the thread exits. */
static pthread_key_t cctx_key, dctx_key;
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;

static void free_cctx(void *p)
{
	ZSTD_freeCCtx(p);
}

static void free_dctx(void *p)
{
	ZSTD_freeDCtx(p);
}

static void ctx_keys(void)
{
	pthread_key_create(&cctx_key, free_cctx);
	pthread_key_create(&dctx_key, free_dctx);
}

static ZSTD_CCtx *thread_cctx(void)
{
	ZSTD_CCtx *c;

	pthread_once(&ctx_once, ctx_keys);
	c = pthread_getspecific(cctx_key);
	if (!c) {
		c = ZSTD_createCCtx();
		pthread_setspecific(cctx_key, c);
	}
	return c;
}

static ZSTD_DCtx *thread_dctx(void)
{
	ZSTD_DCtx *d;

	pthread_once(&ctx_once, ctx_keys);
	d = pthread_getspecific(dctx_key);
	if (!d) {
		d = ZSTD_createDCtx();
		pthread_setspecific(dctx_key, d);
	}
	return d;
}

int cas_put(struct store *s, const uint8_t id[STORE_DIGEST_LEN],
	    const void *buf, size_t len, bool try_zstd, uint32_t *stored,
	    bool *unflushed)
{
	size_t cap = len + 1, n = 0;
	uint8_t *val;
	int rc;

	if (try_zstd && s->opt.zstd_level > 0)
		cap = ZSTD_compressBound(len) + 1;
	val = malloc(cap);
	if (!val)
		return -ENOMEM;
	if (try_zstd && s->opt.zstd_level > 0) {
		ZSTD_CCtx *cc = thread_cctx();

		if (cc)
			n = ZSTD_compressCCtx(cc, val + 1, cap - 1, buf, len,
					      s->opt.zstd_level);
		if (!cc || ZSTD_isError(n))
			n = 0; /* fall back to raw */
	}
	/* Keep the frame only when it saves min_saving_pct of the bytes. */
	if (n > 0 && n * 100 <= len * (100 - s->opt.min_saving_pct)) {
		val[0] = CODEC_ZSTD;
	} else {
		val[0] = CODEC_RAW;
		memcpy(val + 1, buf, len);
		n = len;
	}
	/* Small chunks (small files, file tails) ride the WAL so that a
	 * commit of a small file needs no flush; big ones are written once.
	 * A remote backend's put is durable when it returns. */
	*unflushed = s->chunks->ops->local && len >= SMALL_CHUNK;
	rc = s->chunks->ops->local ? space_check(s, n + 1) : 0;
	if (!rc)
		rc = s->chunks->ops->put(s->chunks, id, val, n + 1,
					 len < SMALL_CHUNK);
	free(val);
	if (rc == 0) {
		chunk_set_add(s->pending, id, (uint32_t)(n + 1));
		*stored = (uint32_t)(n + 1);
	}
	return rc;
}

static void log_chunk(const uint8_t id[STORE_DIGEST_LEN], const char *why)
{
	char hex[STORE_DIGEST_STR_LEN];

	store_digest_format(id, hex);
	store_log(STORE_LOG_ERR, "chunk %s: %s", hex, why);
}

static int decode_chunk(const uint8_t *val, size_t len, void *buf,
			uint32_t plain_len)
{
	if (len < 1)
		return -EIO;
	if (val[0] == CODEC_RAW) {
		if (len - 1 != plain_len)
			return -EIO;
		memcpy(buf, val + 1, plain_len);
		return 0;
	}
	if (val[0] == CODEC_ZSTD) {
		ZSTD_DCtx *dc = thread_dctx();
		size_t n;

		if (!dc)
			return -ENOMEM;
		n = ZSTD_decompressDCtx(dc, buf, plain_len, val + 1, len - 1);
		if (ZSTD_isError(n) || n != plain_len)
			return -EIO;
		return 0;
	}
	return -EIO;
}

struct get_into {
	void *buf;
	uint32_t plain;
};

static int decode_into(void *arg, const void *val, size_t len)
{
	struct get_into *g = arg;

	return decode_chunk(val, len, g->buf, g->plain);
}

int cas_get(struct store *s, const uint8_t id[STORE_DIGEST_LEN], void *buf,
	    uint32_t plain_len)
{
	struct get_into g = {buf, plain_len};
	uint8_t check[STORE_DIGEST_LEN];
	int rc = s->chunks->ops->get(s->chunks, id, (size_t)plain_len + 1,
				     decode_into, &g);

	if (rc == -ENOENT) {
		log_chunk(id, "missing from the store");
		return -EIO;
	}
	if (rc == -EIO) {
		log_chunk(id, "stored value is corrupt (cannot decode)");
		return rc;
	}
	if (rc)
		return rc;
	rc = store_digest_buf(buf, plain_len, check);
	if (rc)
		return rc;
	if (memcmp(check, id, STORE_DIGEST_LEN) != 0) {
		log_chunk(id, "content does not match its hash (corrupt)");
		return -EIO;
	}
	return 0;
}

bool cas_known(struct store *s, const uint8_t id[STORE_DIGEST_LEN],
	       uint32_t *stored, bool *unflushed)
{
	uint8_t key[KEY_DIGEST_LEN];
	void *val;
	size_t len;
	struct cursor c;

	*unflushed = true;
	if (chunk_set_get(s->pending, id, stored))
		return true;
	*unflushed = false;
	if (db_get(s->db, CF_REFCOUNTS, key, key_digest(key, KEY_REF_CHUNK, id),
		   &val, &len))
		return false;
	c = (struct cursor){val, (uint8_t *)val + len, false};
	cur_u8(&c);
	cur_varint(&c); /* refs */
	cur_varint(&c); /* plain */
	*stored = (uint32_t)cur_varint(&c);
	free(val);
	if (c.bad)
		return false;
	/* A backend shared with other nodes: stamp the chunk as put now, so
	 * that a gc elsewhere keeps it until this ingest commits (it may
	 * lose its last reference meanwhile); gone already, it is put. */
	if (s->chunks->ops->touch && s->chunks->ops->touch(s->chunks, id) != 0)
		return false;
	return true;
}

/* ------------------------------------------------------------ chunk_set */

/* Open addressing on the id's first 8 bytes (already uniform: SHA-256). */
struct chunk_slot {
	uint8_t id[STORE_DIGEST_LEN];
	uint32_t stored;
	bool used;
};

struct chunk_set {
	pthread_mutex_t lock;
	struct chunk_slot *slots;
	size_t cap, n;
};

struct chunk_set *chunk_set_new(void)
{
	struct chunk_set *cs = calloc(1, sizeof(*cs));

	if (cs)
		pthread_mutex_init(&cs->lock, NULL);
	return cs;
}

void chunk_set_free(struct chunk_set *cs)
{
	if (!cs)
		return;
	pthread_mutex_destroy(&cs->lock);
	free(cs->slots);
	free(cs);
}

static size_t slot_of(const struct chunk_set *cs, const uint8_t *id)
{
	uint64_t h;

	memcpy(&h, id, sizeof(h));
	return h & (cs->cap - 1);
}

static struct chunk_slot *find_slot(struct chunk_set *cs, const uint8_t *id)
{
	size_t i = slot_of(cs, id);

	while (cs->slots[i].used &&
	       memcmp(cs->slots[i].id, id, STORE_DIGEST_LEN) != 0)
		i = (i + 1) & (cs->cap - 1);
	return &cs->slots[i];
}

static bool grow(struct chunk_set *cs)
{
	struct chunk_set old = *cs;
	size_t cap = cs->cap ? cs->cap * 2 : 1024;

	cs->slots = calloc(cap, sizeof(*cs->slots));
	if (!cs->slots) {
		cs->slots = old.slots;
		return false;
	}
	cs->cap = cap;
	for (size_t i = 0; i < old.cap; i++) {
		if (old.slots[i].used)
			*find_slot(cs, old.slots[i].id) = old.slots[i];
	}
	free(old.slots);
	return true;
}

void chunk_set_add(struct chunk_set *cs, const uint8_t id[STORE_DIGEST_LEN],
		   uint32_t stored)
{
	struct chunk_slot *sl;

	pthread_mutex_lock(&cs->lock);
	/* Losing an entry only costs a re-store of the same bytes. */
	if ((cs->n + 1) * 2 > cs->cap && !grow(cs))
		goto out_unlock;
	sl = find_slot(cs, id);
	if (!sl->used) {
		sl->used = true;
		memcpy(sl->id, id, STORE_DIGEST_LEN);
		cs->n++;
	}
	sl->stored = stored;
out_unlock:
	pthread_mutex_unlock(&cs->lock);
}

bool chunk_set_get(struct chunk_set *cs, const uint8_t id[STORE_DIGEST_LEN],
		   uint32_t *stored)
{
	bool found = false;

	pthread_mutex_lock(&cs->lock);
	if (cs->cap) {
		struct chunk_slot *sl = find_slot(cs, id);

		found = sl->used;
		if (found)
			*stored = sl->stored;
	}
	pthread_mutex_unlock(&cs->lock);
	return found;
}

void chunk_set_clear(struct chunk_set *cs)
{
	pthread_mutex_lock(&cs->lock);
	free(cs->slots);
	cs->slots = NULL;
	cs->cap = cs->n = 0;
	pthread_mutex_unlock(&cs->lock);
}

int cas_verify(const uint8_t id[STORE_DIGEST_LEN], const void *val, size_t len,
	       uint64_t *plain)
{
	const uint8_t *v = val;
	uint8_t check[STORE_DIGEST_LEN];
	unsigned long long n;
	uint8_t *buf;
	int rc;

	if (len < 1)
		return -EIO;
	if (v[0] == CODEC_RAW) {
		*plain = len - 1;
		rc = store_digest_buf(v + 1, len - 1, check);
		return rc ? rc
			  : (memcmp(check, id, STORE_DIGEST_LEN) ? -EIO : 0);
	}
	if (v[0] != CODEC_ZSTD)
		return -EIO;
	n = ZSTD_getFrameContentSize(v + 1, len - 1);
	/* The frame header is input from disk: cap what it may ask for. */
	if (n == ZSTD_CONTENTSIZE_ERROR || n == ZSTD_CONTENTSIZE_UNKNOWN ||
	    n > (16u << 20))
		return -EIO;
	buf = malloc(n ? n : 1);
	if (!buf)
		return -ENOMEM;
	rc = decode_chunk(v, len, buf, (uint32_t)n);
	if (!rc)
		rc = store_digest_buf(buf, n, check);
	if (!rc && memcmp(check, id, STORE_DIGEST_LEN))
		rc = -EIO;
	free(buf);
	*plain = n;
	return rc;
}
