/*
 * refs.c - reference counts and the store counters.
 *
 * A count is kept for every referenced directory, file and chunk
 * (FORMAT.md).  Raising a count from 0 references the object's children;
 * dropping it to 0 releases them and deletes the count, which leaves the
 * object to gc.  The counters (meta "stats") follow every such edge.
 */
#include "store_i.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int stats_decode(const void *val, size_t len, struct store_stats *st)
{
	struct cursor c = {val, (const uint8_t *)val + len, false};

	memset(st, 0, sizeof(*st));
	if (cur_u8(&c) != RECORD_FORMAT)
		return -EIO;
	st->artifacts = cur_varint(&c);
	st->versions = cur_varint(&c);
	st->logical_bytes = cur_varint(&c);
	st->files = cur_varint(&c);
	st->chunks = cur_varint(&c);
	st->chunk_bytes = cur_varint(&c);
	st->stored_bytes = cur_varint(&c);
	return c.bad ? -EIO : 0;
}

int stats_load(struct db_batch *b, struct store_stats *st)
{
	void *v;
	size_t len;
	int rc = db_batch_get(b, CF_META, "stats", 5, &v, &len);

	if (rc == -ENOENT) {
		memset(st, 0, sizeof(*st));
		return 0;
	}
	if (rc)
		return rc;
	rc = stats_decode(v, len, st);
	free(v);
	if (rc)
		store_log(STORE_LOG_ERR, "corrupt store counters record");
	return rc;
}

void stats_save(struct db_batch *b, const struct store_stats *st)
{
	struct buf x = {0};

	buf_u8(&x, RECORD_FORMAT);
	buf_varint(&x, st->artifacts);
	buf_varint(&x, st->versions);
	buf_varint(&x, st->logical_bytes);
	buf_varint(&x, st->files);
	buf_varint(&x, st->chunks);
	buf_varint(&x, st->chunk_bytes);
	buf_varint(&x, st->stored_bytes);
	if (!x.oom)
		db_batch_put(b, CF_META, "stats", 5, x.p, x.len);
	free(x.p);
}

int store_stats_get(struct store *s, struct store_stats *out)
{
	void *v;
	size_t len;
	int rc = db_get(s->db, CF_META, "stats", 5, &v, &len);

	if (rc)
		return rc == -ENOENT ? -EIO : rc;
	rc = stats_decode(v, len, out);
	free(v);
	return rc;
}

/* Moves the count under key by delta (+1 or -1).  *edge tells whether it
 * crossed zero (0 -> 1 or 1 -> 0).  Chunk counts carry their sizes: given
 * on the way up, read back from the count on the way down. */
static int ref_move(struct db_batch *b, const uint8_t *key, size_t klen,
		    int delta, uint32_t *plain, uint32_t *stored, bool *edge)
{
	struct buf x = {0};
	uint64_t refs = 0;
	void *v;
	size_t len;
	int rc = db_batch_get(b, CF_REFCOUNTS, key, klen, &v, &len);

	if (rc && rc != -ENOENT)
		return rc;
	if (!rc) {
		struct cursor c = {v, (uint8_t *)v + len, false};

		cur_u8(&c);
		refs = cur_varint(&c);
		if (key[0] == KEY_REF_CHUNK) {
			*plain = (uint32_t)cur_varint(&c);
			*stored = (uint32_t)cur_varint(&c);
		}
		free(v);
		if (c.bad)
			return -EIO;
	}
	if (delta < 0 && refs == 0) {
		store_log(STORE_LOG_ERR, "refcount would go below zero");
		return -EIO;
	}
	refs += delta;
	*edge = delta > 0 ? refs == 1 : refs == 0;
	if (refs == 0) {
		db_batch_delete(b, CF_REFCOUNTS, key, klen);
		return 0;
	}
	buf_u8(&x, RECORD_FORMAT);
	buf_varint(&x, refs);
	if (key[0] == KEY_REF_CHUNK) {
		buf_varint(&x, *plain);
		buf_varint(&x, *stored);
	}
	if (x.oom)
		return -ENOMEM;
	db_batch_put(b, CF_REFCOUNTS, key, klen, x.p, x.len);
	free(x.p);
	return 0;
}

/* The chunk counts of m, read ahead in one request (RADOS). */
static void prefetch_chunks(struct store *s, struct db_batch *b,
			    const struct manifest *m)
{
	/* Only a remote store gains from it (a local read is as cheap). */
	uint8_t *keys =
	    db_rados(s->db) && m->n > 1 ? malloc(m->n * KEY_DIGEST_LEN) : NULL;

	if (!keys)
		return;
	for (size_t i = 0; i < m->n; i++)
		key_digest(keys + i * KEY_DIGEST_LEN, KEY_REF_CHUNK,
			   m->chunks[i].id);
	db_batch_prefetch(b, CF_REFCOUNTS, keys, KEY_DIGEST_LEN, m->n);
	free(keys);
}

/* The counts of a directory's entries, read ahead. */
static void prefetch_entries(struct store *s, struct db_batch *b,
			     const struct dirlist *d)
{
	uint8_t *keys =
	    db_rados(s->db) && d->n > 1 ? malloc(d->n * KEY_DIGEST_LEN) : NULL;

	if (!keys)
		return;
	for (size_t i = 0; i < d->n; i++)
		key_digest(keys + i * KEY_DIGEST_LEN, key_ref_tag(d->e[i].kind),
			   d->e[i].digest);
	db_batch_prefetch(b, CF_REFCOUNTS, keys, KEY_DIGEST_LEN, d->n);
	free(keys);
}

/* A file's count, and when this process just recorded its manifest (a
 * hint), the manifest and its chunks' counts: read ahead in one request
 * (RADOS), where one after another would cost a round trip each under
 * the commit lock. */
static void prefetch_file(struct store *s, struct db_batch *b,
			  enum store_kind kind,
			  const uint8_t digest[STORE_DIGEST_LEN])
{
	struct manifest m = {0};
	struct db_key *k;
	uint8_t *keys;
	size_t n;

	if (!db_rados(s->db) || hints_get(s->hints, digest, &m))
		return;
	n = 2 + m.n;
	k = malloc(n * sizeof(*k));
	keys = malloc(n * KEY_DIGEST_LEN);
	if (k && keys) {
		key_digest(keys, key_ref_tag(kind), digest);
		k[0] = (struct db_key){CF_REFCOUNTS, keys, KEY_DIGEST_LEN};
		key_digest(keys + KEY_DIGEST_LEN, KEY_MF_FILE, digest);
		k[1] = (struct db_key){CF_MANIFESTS, keys + KEY_DIGEST_LEN,
				       KEY_DIGEST_LEN};
		for (size_t i = 0; i < m.n; i++) {
			uint8_t *at = keys + (2 + i) * KEY_DIGEST_LEN;

			key_digest(at, KEY_REF_CHUNK, m.chunks[i].id);
			k[2 + i] =
			    (struct db_key){CF_REFCOUNTS, at, KEY_DIGEST_LEN};
		}
		db_batch_prefetch_keys(b, k, n);
	}
	free(k);
	free(keys);
	manifest_release(&m);
}

static int move_file(struct store *s, struct db_batch *b,
		     struct store_stats *st, int delta,
		     const uint8_t digest[STORE_DIGEST_LEN])
{
	struct manifest m;
	uint8_t key[KEY_DIGEST_LEN];
	int rc;

	/* A batch of a pipeline's shard (RADOS) would read the manifest
	 * from the store's object, a round trip under the shard's lock: one
	 * this process just put is known (its digest names its content). */
	if (!db_batch_lane(b) || hints_get(s->hints, digest, &m))
		rc = manifest_load(s, b, digest, &m);
	else
		rc = 0;

	if (rc == -ENOENT) {
		char hex[STORE_DIGEST_STR_LEN];

		store_digest_format(digest, hex);
		store_log(STORE_LOG_ERR, "file content %s is not stored", hex);
		return -EIO;
	}
	if (rc)
		return rc;
	st->files += delta;
	prefetch_chunks(s, b, &m);
	for (size_t i = 0; i < m.n && !rc; i++) {
		uint32_t plain = m.chunks[i].plain, stored = m.chunks[i].stored;
		bool edge;

		key_digest(key, KEY_REF_CHUNK, m.chunks[i].id);
		rc = ref_move(b, key, sizeof(key), delta, &plain, &stored,
			      &edge);
		if (!rc && edge) {
			st->chunks += delta;
			st->chunk_bytes += delta * (int64_t)plain;
			st->stored_bytes += delta * (int64_t)stored;
		}
	}
	manifest_release(&m);
	return rc;
}

static int move_entry(struct store *s, struct db_batch *b,
		      struct store_stats *st, int delta, enum store_kind kind,
		      const uint8_t digest[STORE_DIGEST_LEN])
{
	uint8_t key[KEY_DIGEST_LEN];
	uint32_t unused = 0;
	struct dirlist d;
	bool edge;
	int rc;

	if (kind != STORE_KIND_DIR)
		prefetch_file(s, b, kind, digest);
	key_digest(key, key_ref_tag(kind), digest);
	rc = ref_move(b, key, sizeof(key), delta, &unused, &unused, &edge);
	if (rc || !edge)
		return rc;
	if (kind != STORE_KIND_DIR)
		return move_file(s, b, st, delta, digest);
	rc = dir_load(s, b, digest, &d);
	if (!rc)
		prefetch_entries(s, b, &d);
	for (size_t i = 0; i < d.n && !rc; i++)
		rc = move_entry(s, b, st, delta, d.e[i].kind, d.e[i].digest);
	if (d.e)
		dir_release(&d);
	return rc;
}

int ref_entry(struct store *s, struct db_batch *b, struct store_stats *st,
	      enum store_kind kind, const uint8_t digest[STORE_DIGEST_LEN])
{
	return move_entry(s, b, st, 1, kind, digest);
}

int unref_entry(struct store *s, struct db_batch *b, struct store_stats *st,
		enum store_kind kind, const uint8_t digest[STORE_DIGEST_LEN])
{
	return move_entry(s, b, st, -1, kind, digest);
}

static int held_in(void *arg, const char *pipeline, struct db *sd)
{
	const uint8_t *key = arg;
	void *v;
	size_t len;
	int rc = db_get(sd, CF_REFCOUNTS, key, KEY_DIGEST_LEN, &v, &len);

	(void)pipeline;
	if (!rc)
		free(v);
	return rc == -ENOENT ? 0 : rc ? rc : 1;
}

int ref_held(struct store *s, const uint8_t *key)
{
	void *v;
	size_t len;
	int rc = db_get(s->db, CF_REFCOUNTS, key, KEY_DIGEST_LEN, &v, &len);

	if (!rc)
		free(v);
	if (rc != -ENOENT)
		return rc ? rc : 1;
	/* The outputs of open runs in a RADOS store count in their
	 * pipeline's shard. */
	return db_shards_each(s->db, held_in, (void *)key);
}
