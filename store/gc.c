/*
 * gc.c - removes the chunks and manifests that nothing references.
 *
 * gc closes the gate (no writer runs) and holds the commit lock while it
 * works: it lists the garbage first, then deletes it in batches, each
 * batch committed with its journal record ("gc.remove": how many objects
 * and bytes), so the journal tells what went even when gc stops halfway.
 * Then it compacts the chunks so the space goes back to the disk.  Chunks
 * kept outside the database (RADOS) are removed one by one after the
 * batch that records them commits.
 *
 * A store in RADOS is shared by nodes that gc cannot hold off: there
 * each key is checked again under the cluster's commit lock, and what
 * was put within the grace (gc_grace_s) stays (gc_batch_cluster).
 *
 * On a full disk gc gives back the store's reserve (space.c) before it
 * writes anything, and makes it again at the end when there is room.
 */
#include "store_i.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Objects deleted per batch (and per journal record). */
#define GC_BATCH 1024

struct gc_key {
	uint8_t k[KEY_DIGEST_LEN];
	uint8_t len;
	uint8_t cf;
	uint32_t stored;
};

struct gc {
	struct store *s;
	struct store_gc_result *out;
	struct gc_key *keys;
	size_t n, cap;
	store_progress_fn progress; /* may be NULL */
	void *parg;
	uint64_t done, total; /* stored bytes scanned, of about total */
	/* A RADOS store's shards as the scan began (their references are
	 * read again under their locks before anything goes). */
	struct db **shards;
	size_t nshards, capshards;
};

static int add_shard(void *arg, const char *pipeline, struct db *sd)
{
	struct gc *g = arg;

	(void)pipeline;
	if (g->nshards == g->capshards) {
		size_t cap = g->capshards ? 2 * g->capshards : 8;
		struct db **n = realloc(g->shards, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		g->shards = n, g->capshards = cap;
	}
	g->shards[g->nshards++] = sd;
	return 0;
}

static bool has_ref(struct gc *g, enum key_tag tag, const void *digest)
{
	uint8_t key[KEY_DIGEST_LEN];
	void *v;
	size_t len;
	int rc;

	key_digest(key, tag, digest);
	rc = db_get(g->s->db, CF_REFCOUNTS, key, sizeof(key), &v, &len);
	for (size_t i = 0; rc == -ENOENT && i < g->nshards; i++)
		rc = db_get(g->shards[i], CF_REFCOUNTS, key, sizeof(key), &v,
			    &len);
	if (!rc)
		free(v);
	return rc != -ENOENT; /* an error keeps it */
}

static int gc_add(struct gc *g, enum db_cf cf, const void *key, size_t klen,
		  size_t stored)
{
	struct gc_key *e;

	if (g->n == g->cap) {
		size_t cap = g->cap ? 2 * g->cap : 1024;

		e = realloc(g->keys, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		g->keys = e;
		g->cap = cap;
	}
	e = &g->keys[g->n++];
	memcpy(e->k, key, klen);
	e->len = (uint8_t)klen;
	e->cf = (uint8_t)cf;
	e->stored = (uint32_t)stored;
	return 0;
}

static int gc_chunk(void *arg, const void *key, size_t klen, const void *val,
		    size_t vlen)
{
	struct gc *g = arg;

	(void)val;
	g->done += vlen;
	if (g->progress)
		g->progress(g->parg, g->done,
			    g->total > g->done ? g->total : g->done);
	if (klen != STORE_DIGEST_LEN || has_ref(g, KEY_REF_CHUNK, key))
		return 0;
	g->out->chunks++;
	g->out->bytes += vlen;
	return gc_add(g, CF_CHUNKS, key, klen, vlen);
}

static int gc_object(void *arg, const void *key, size_t klen, const void *val,
		     size_t vlen)
{
	struct gc *g = arg;
	const uint8_t *k = key;

	(void)val;
	/* A manifest's refcount key is its own key in the other family. */
	_Static_assert(KEY_MF_FILE == KEY_REF_FILE && KEY_MF_DIR == KEY_REF_DIR,
		       "manifest and refcount tags differ");
	if (klen != KEY_DIGEST_LEN || has_ref(g, (enum key_tag)k[0], k + 1))
		return 0;
	if (k[0] == KEY_MF_FILE)
		g->out->files++;
	return gc_add(g, CF_MANIFESTS, key, klen, vlen);
}

/* Commits t's deletions with the journal record of what went. */
static int gc_commit(struct commit *t, uint64_t chunks, uint64_t objects,
		     uint64_t bytes)
{
	int rc;

	commit_note(t, "gc.remove", NULL, "chunks=%llu objects=%llu bytes=%llu",
		    (unsigned long long)chunks, (unsigned long long)objects,
		    (unsigned long long)bytes);
	rc = commit_stage_note(t);
	return rc ? rc : db_batch_commit(t->b);
}

/* Deletes keys [from, to) with their journal record, in one commit. */
static int gc_batch(struct gc *g, const struct store_caller *c, size_t from,
		    size_t to)
{
	struct commit t = {.s = g->s, .caller = c};
	bool local = g->s->chunks->ops->local;
	uint64_t chunks = 0, bytes = 0;
	int rc;

	t.b = db_batch_new(g->s->db);
	if (!t.b)
		return -ENOMEM;
	for (size_t i = from; i < to; i++) {
		const struct gc_key *e = &g->keys[i];

		if (e->cf != CF_CHUNKS || local)
			db_batch_delete(t.b, e->cf, e->k, e->len);
		chunks += e->cf == CF_CHUNKS;
		bytes += e->stored;
	}
	rc = gc_commit(&t, chunks, to - from, bytes);
	db_batch_free(t.b);
	/* Chunks kept elsewhere go once the record is in: a stop halfway
	 * leaves garbage that the next gc finds again, never a hole. */
	for (size_t i = from; !rc && !local && i < to; i++) {
		if (g->keys[i].cf == CF_CHUNKS)
			rc = g->s->chunks->ops->remove(g->s->chunks,
						       g->keys[i].k);
	}
	return rc;
}

/* How long a chunk or manifest of a store in RADOS stays after it was
 * put, referenced or not: another node may be ingesting it, its commit
 * not yet made (store_options.gc_grace_s, or ARTIFACTFS_GC_GRACE). */
static int64_t grace_ns(const struct store *s)
{
	const char *e = getenv("ARTIFACTFS_GC_GRACE");
	char *end;
	long long v = e ? strtoll(e, &end, 10) : -1;

	if (!e || end == e || *end || v < 0)
		v = s->opt.gc_grace_s;
	return (int64_t)v * 1000000000;
}

/* The batches of every shard (their locks held): what the outputs of
 * open runs reference cannot change while gc looks. */
struct shard_holds {
	struct db_batch **b;
	size_t n, cap;
};

static int hold_shard(void *arg, const char *pipeline, struct db *sd)
{
	struct shard_holds *h = arg;
	int rc;

	(void)pipeline;
	if (h->n == h->cap) {
		size_t cap = h->cap ? 2 * h->cap : 8;
		struct db_batch **n = realloc(h->b, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		h->b = n, h->cap = cap;
	}
	rc = db_batch_open(sd, &h->b[h->n]);
	if (!rc)
		h->n++;
	return rc;
}

static void holds_free(struct shard_holds *h)
{
	for (size_t i = 0; i < h->n; i++)
		db_batch_free(h->b[i]);
	free(h->b);
}

/* Whether refcount key is held in b or a shard of h: 1, 0, or -errno. */
static int held_under(struct db_batch *b, const struct shard_holds *h,
		      const uint8_t *key)
{
	void *v;
	size_t len;
	int rc = db_batch_get(b, CF_REFCOUNTS, key, KEY_DIGEST_LEN, &v, &len);

	for (size_t i = 0; rc == -ENOENT && i < h->n; i++)
		rc = db_batch_get(h->b[i], CF_REFCOUNTS, key, KEY_DIGEST_LEN,
				  &v, &len);
	if (!rc)
		free(v);
	return rc == -ENOENT ? 0 : rc ? rc : 1;
}

/* Whether garbage e of a store in RADOS is garbage still: unreferenced
 * now, under the cluster's commit lock (b) and every shard's (h), and
 * older than the grace.  1 yes, 0 kept, or -errno (a failed read never
 * counts as garbage). */
static int still_garbage(struct gc *g, struct db_batch *b,
			 const struct shard_holds *h, const struct gc_key *e,
			 int64_t cutoff)
{
	uint8_t key[KEY_DIGEST_LEN];
	int64_t t;
	int rc;

	if (e->cf == CF_CHUNKS)
		key_digest(key, KEY_REF_CHUNK, e->k);
	else
		key_digest(key, (enum key_tag)e->k[0], e->k + 1);
	rc = held_under(b, h, key);
	if (rc)
		return rc > 0 ? 0 : rc;
	if (e->cf == CF_CHUNKS)
		return 1;
	rc = rmeta_put_time(db_rados(g->s->db), e->cf, e->k, e->len, &t);
	if (rc == -ENOENT)
		return 1;
	return rc ? rc : t <= cutoff;
}

/* gc_batch for a store whose metadata is in RADOS, shared by nodes that
 * may be ingesting while it runs: under the cluster's commit lock, each
 * key is checked again (still_garbage), young chunks are kept
 * (remove_before), and the chunk objects go before the record of what
 * went (there is no batch holding both). */
static int gc_batch_cluster(struct gc *g, const struct store_caller *c,
			    size_t from, size_t to)
{
	struct commit t = {.s = g->s, .caller = c};
	struct chunk_backend *cb = g->s->chunks;
	int64_t cutoff = now_ns() - grace_ns(g->s);
	uint64_t chunks = 0, objects = 0, bytes = 0;
	struct shard_holds h = {0};
	int rc = db_batch_open(g->s->db, &t.b);

	if (rc)
		return rc;
	/* The store's lock first, then the shards' (fsck's order too). */
	rc = db_shards_each(g->s->db, hold_shard, &h);
	for (size_t i = from; !rc && i < to; i++) {
		const struct gc_key *e = &g->keys[i];
		int r = still_garbage(g, t.b, &h, e, cutoff);

		if (r == 1 && e->cf == CF_CHUNKS)
			r = cb->ops->remove_before
				? cb->ops->remove_before(cb, e->k, cutoff) == 0
				: 1;
		else if (r == 1)
			db_batch_delete(t.b, e->cf, e->k, e->len);
		if (r < 0) {
			rc = r;
			break;
		}
		if (!r) { /* kept: not counted as removed */
			if (e->cf == CF_CHUNKS) {
				g->out->chunks--;
				g->out->bytes -= e->stored;
			} else if (e->k[0] == KEY_MF_FILE) {
				g->out->files--;
			}
			continue;
		}
		objects++;
		chunks += e->cf == CF_CHUNKS;
		bytes += e->stored;
	}
	if (!rc && objects)
		rc = gc_commit(&t, chunks, objects, bytes);
	holds_free(&h);
	db_batch_free(t.b);
	return rc;
}

static int gc_remove(struct gc *g, const struct store_caller *c)
{
	bool cluster = db_rados(g->s->db) != NULL;
	int rc = 0;

	for (size_t i = 0; i < g->n && !rc; i += GC_BATCH) {
		size_t to = i + GC_BATCH < g->n ? i + GC_BATCH : g->n;

		rc = cluster ? gc_batch_cluster(g, c, i, to)
			     : gc_batch(g, c, i, to);
	}
	if (rc || !g->out->chunks || !g->s->chunks->ops->local)
		return rc;
	rc = db_flush_chunks(g->s->db);
	/* Blob files with nothing live go first; rewriting the live values
	 * of the others needs room for them (not there on a full disk: a
	 * later gc returns that space). */
	if (!rc && space_room(g->s->dir, 0))
		db_compact(g->s->db, CF_CHUNKS, false);
	if (!rc && space_room(g->s->dir, db_blob_bytes(g->s->db, CF_CHUNKS)))
		db_compact(g->s->db, CF_CHUNKS, true);
	return rc;
}

int store_gc(struct store *s, const struct store_caller *c, bool dry_run,
	     struct store_gc_result *out)
{
	return store_gc_retain(s, c, NULL, dry_run, NULL, NULL, NULL, NULL,
			       out);
}

int store_gc_retain(struct store *s, const struct store_caller *c,
		    const struct store_retain *r, bool dry_run,
		    store_gc_item_fn fn, void *arg, store_progress_fn progress,
		    void *parg, struct store_gc_result *out)
{
	struct gc g = {.s = s, .out = out, .progress = progress, .parg = parg};
	struct store_stats st;
	int rc;

	memset(out, 0, sizeof(*out));
	if (s->read_only)
		return -EROFS;
	if (!dry_run && space_low(s->dir))
		space_reserve_release(s->dir, "for gc");
	/* Versions first (their own commits), then what they held. */
	rc = retain_apply(s, c, r, dry_run, fn, arg, out);
	if (rc)
		return rc;
	gate_close(&s->gc_gate);
	pthread_mutex_lock(&s->commit_lock);
	/* Make unflushed chunks on-disk state before the scan, when there
	 * is room: the scan sees them in memory anyway, and deleting one
	 * there is as good as on disk. */
	if (space_room(s->dir, db_memtable_bytes(s->db)))
		db_flush_chunks(s->db);
	/* The chunks' stored bytes (garbage not counted): the scan's total,
	 * for the progress line only. */
	if (progress && !store_stats_get(s, &st))
		g.total = st.stored_bytes;
	if (!rc)
		rc = db_shards_each(s->db, add_shard, &g);
	if (!rc)
		rc = db_scan(s->db, CF_MANIFESTS, NULL, 0, gc_object, &g);
	if (!rc)
		rc = s->chunks->ops->each(s->chunks, false, gc_chunk, &g);
	if (!rc && !dry_run)
		rc = gc_remove(&g, c);
	chunk_set_clear(s->pending);
	pthread_mutex_unlock(&s->commit_lock);
	gate_open(&s->gc_gate);
	free(g.keys);
	free(g.shards);
	if (!rc && !dry_run)
		rc = store_audit_record(s, c, "gc", "", NULL, out->bytes, 0);
	if (!dry_run && !space_reserve_held(s->dir))
		space_reserve_make_wait(s->dir);
	return rc;
}
