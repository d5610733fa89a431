/*
 * maint.c - fsck: re-verify everything, recount every reference (gc.c
 * removes what no version references).
 *
 * fsck recomputes the reference counts from the versions down, in memory,
 * and compares them with the refcounts column family and the counters;
 * then it re-reads and re-hashes every stored chunk.
 */
#include "store_i.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------ a small counter map */

struct count {
	uint8_t key[KEY_DIGEST_LEN];
	bool used, seen;
	uint64_t n;
};

struct counts {
	struct count *t;
	size_t cap, n;
	bool oom;
};

static size_t count_slot(const struct counts *c, const uint8_t *key)
{
	uint64_t h;
	size_t i;

	memcpy(&h, key + 1, sizeof(h));
	for (i = (h ^ key[0]) & (c->cap - 1);
	     c->t[i].used && memcmp(c->t[i].key, key, KEY_DIGEST_LEN);
	     i = (i + 1) & (c->cap - 1))
		;
	return i;
}

static struct count *count_get(struct counts *c, const uint8_t *key, bool add)
{
	struct count *e;

	if (add && (c->n + 1) * 2 > c->cap) {
		struct counts big = {.cap = c->cap ? 2 * c->cap : 4096};

		big.t = calloc(big.cap, sizeof(*big.t));
		if (!big.t) {
			c->oom = true;
			return NULL;
		}
		for (size_t i = 0; i < c->cap; i++) {
			if (c->t[i].used)
				big.t[count_slot(&big, c->t[i].key)] = c->t[i];
		}
		big.n = c->n;
		free(c->t);
		*c = big;
	}
	if (!c->cap)
		return NULL;
	e = &c->t[count_slot(c, key)];
	if (!e->used) {
		if (!add)
			return NULL;
		e->used = true;
		memcpy(e->key, key, KEY_DIGEST_LEN);
		c->n++;
	}
	return e;
}

/* ------------------------------------------------------------- fsck */

struct fsck {
	struct store *s;
	struct counts want; /* expected refcounts */
	struct store_stats st;
	struct store_check *out;
	store_progress_fn progress;
	void *arg;
};

static void problem(struct fsck *f, const char *what, const uint8_t *digest,
		    const char *why)
{
	char hex[STORE_DIGEST_STR_LEN];

	store_digest_format(digest, hex);
	store_log(STORE_LOG_ERR, "fsck: %s %s: %s", what, hex, why);
	f->out->problems++;
}

static int expect(struct fsck *f, enum store_kind kind, const uint8_t *dg);

static int expect_file(struct fsck *f, const uint8_t *dg)
{
	uint8_t key[KEY_DIGEST_LEN];
	struct manifest m;
	int rc = manifest_load(f->s, NULL, dg, &m);

	if (rc) {
		problem(f, "file", dg,
			rc == -ENOENT ? "manifest missing"
				      : "manifest unreadable");
		return rc == -ENOMEM ? rc : 0;
	}
	f->st.files++;
	for (size_t i = 0; i < m.n; i++) {
		struct count *c;

		key_digest(key, KEY_REF_CHUNK, m.chunks[i].id);
		c = count_get(&f->want, key, true);
		if (!c)
			break;
		if (c->n++ == 0) {
			f->st.chunks++;
			f->st.chunk_bytes += m.chunks[i].plain;
			f->st.stored_bytes += m.chunks[i].stored;
		}
	}
	manifest_release(&m);
	return f->want.oom ? -ENOMEM : 0;
}

static int expect(struct fsck *f, enum store_kind kind, const uint8_t *dg)
{
	uint8_t key[KEY_DIGEST_LEN];
	struct count *c;
	struct dirlist d;
	int rc;

	key_digest(key, key_ref_tag(kind), dg);
	c = count_get(&f->want, key, true);
	if (!c)
		return -ENOMEM;
	if (c->n++)
		return 0;
	if (kind != STORE_KIND_DIR)
		return expect_file(f, dg);
	rc = dir_load(f->s, NULL, dg, &d);
	if (rc) {
		problem(f, "directory", dg,
			rc == -ENOENT ? "listing missing" : "listing corrupt");
		return rc == -ENOMEM ? rc : 0;
	}
	for (size_t i = 0; i < d.n && !rc; i++)
		rc = expect(f, d.e[i].kind, d.e[i].digest);
	dir_release(&d);
	return rc;
}

static int fsck_version(void *arg, const struct store_version *v)
{
	struct fsck *f = arg;

	f->st.versions++;
	f->st.logical_bytes += v->size;
	return expect(f, STORE_KIND_DIR, v->digest);
}

static int fsck_artifact(void *arg, const char *name)
{
	struct fsck *f = arg;

	f->st.artifacts++;
	return store_version_each(f->s, name, fsck_version, f);
}

static int fsck_output(void *arg, const void *key, size_t klen, const void *val,
		       size_t vlen)
{
	struct fsck *f = arg;
	struct store_output o;

	(void)key;
	(void)klen;
	if (output_entry_decode(val, vlen, "", &o)) {
		store_log(STORE_LOG_ERR, "fsck: corrupt run output entry");
		f->out->problems++;
		return 0;
	}
	if (o.e.kind == STORE_KIND_DIR)
		return 0;
	return expect(f, o.e.kind, o.e.digest);
}

/* A step's environment snapshot references its listing. */
static int fsck_env(void *arg, const void *key, size_t klen, const void *val,
		    size_t vlen)
{
	struct fsck *f = arg;
	const uint8_t *v = val;

	(void)key;
	(void)klen;
	if (vlen != 1 + STORE_DIGEST_LEN || v[0] != RECORD_FORMAT) {
		store_log(STORE_LOG_ERR, "fsck: corrupt environment record");
		f->out->problems++;
		return 0;
	}
	return expect(f, STORE_KIND_DIR, v + 1);
}

/* Each stored refcount must match what the versions imply. */
static int fsck_refcount(void *arg, const void *key, size_t klen,
			 const void *val, size_t vlen)
{
	struct fsck *f = arg;
	struct cursor c = {val, (const uint8_t *)val + vlen, false};
	struct count *want;
	uint64_t refs;

	if (klen != KEY_DIGEST_LEN) {
		store_log(STORE_LOG_ERR, "fsck: malformed refcount key");
		f->out->problems++;
		return 0;
	}
	cur_u8(&c);
	refs = cur_varint(&c);
	want = count_get(&f->want, key, false);
	if (want)
		want->seen = true;
	if (c.bad)
		problem(f, "refcount of", (const uint8_t *)key + 1, "corrupt");
	else if ((want ? want->n : 0) != refs)
		problem(f, "refcount of", (const uint8_t *)key + 1,
			"count differs from the references found");
	return 0;
}

static int fsck_chunk(void *arg, const void *key, size_t klen, const void *val,
		      size_t vlen)
{
	struct fsck *f = arg;
	uint8_t ck[KEY_DIGEST_LEN];
	struct count *want;
	uint64_t plain = 0;
	int rc;

	if (klen != STORE_DIGEST_LEN) {
		store_log(STORE_LOG_ERR, "fsck: malformed chunk key");
		f->out->problems++;
		return 0;
	}
	key_digest(ck, KEY_REF_CHUNK, key);
	want = count_get(&f->want, ck, false);
	rc = cas_verify(key, val, vlen, &plain);
	if (rc == -ENOMEM)
		return rc;
	if (rc)
		problem(f, "chunk", key, "corrupt (fails its hash)");
	if (want)
		want->seen = true;
	else
		f->out->unreferenced++;
	f->out->chunks++;
	f->out->bytes += plain;
	if (f->progress)
		f->progress(f->arg, f->out->bytes, f->st.chunk_bytes);
	return 0;
}

/* The counters of db (the store's, or a shard's) against what the
 * scans counted.  A shard that never counted anything has none. */
static void fsck_counters(struct fsck *f, struct db *db, bool shard)
{
	static const struct store_stats zero;
	struct store_stats have;
	void *v;
	size_t len;
	int rc = db_get(db, CF_META, "stats", 5, &v, &len);

	if (!rc) {
		rc = stats_decode(v, len, &have);
		free(v);
	} else if (rc == -ENOENT && shard) {
		have = zero;
		rc = 0;
	}
	if (rc) {
		store_log(STORE_LOG_ERR, "fsck: store counters unreadable");
		f->out->problems++;
	} else if (memcmp(&have, &f->st, sizeof(have)) != 0) {
		store_log(STORE_LOG_ERR,
			  "fsck: store counters differ from the contents");
		f->out->problems++;
	}
}

/* The refcounts and counters of db against what f's scans expect. */
static int fsck_counts(struct fsck *f, struct db *db, bool shard)
{
	int rc = db_scan(db, CF_REFCOUNTS, NULL, 0, fsck_refcount, f);

	if (rc)
		return rc;
	for (size_t i = 0; i < f->want.cap; i++) {
		struct count *c = &f->want.t[i];

		if (c->used && !c->seen)
			problem(f, "refcount of", c->key + 1, "missing");
	}
	fsck_counters(f, db, shard);
	return 0;
}

/* A pipeline's shard (RADOS): its outputs trees against its refcounts
 * and counters, under its lock; what they reference then joins f's
 * (the chunks are checked once, for all). */
static int fsck_shard(void *arg, const char *pipeline, struct db *sd)
{
	struct fsck *f = arg, g = {.s = f->s, .out = f->out};
	uint8_t k[KEY_MAX];
	struct db_batch *hold;
	size_t kl =
	    key_add_nul(k, key_names(k, KEY_NS_OUTPUT, pipeline, NULL, NULL));
	int rc = db_batch_open(sd, &hold);

	if (rc)
		return rc;
	rc = db_scan(sd, CF_NAMESPACE, k, kl, fsck_output, &g);
	if (!rc)
		rc = fsck_counts(&g, sd, true);
	db_batch_free(hold);
	for (size_t i = 0; !rc && i < g.want.cap; i++) {
		struct count *c = &g.want.t[i], *w;

		if (!c->used || c->key[0] != KEY_REF_CHUNK)
			continue;
		w = count_get(&f->want, c->key, true);
		if (!w)
			rc = -ENOMEM;
		else
			w->n += c->n;
	}
	free(g.want.t);
	return rc;
}

/* Referenced chunks the chunk store did not hold.  In a store shared by
 * nodes, one whose count is gone by now was released (and collected) by
 * a commit after the references were read: no problem. */
static void fsck_missing(struct fsck *f, bool shared)
{
	for (size_t i = 0; i < f->want.cap; i++) {
		struct count *c = &f->want.t[i];

		if (!c->used || c->seen)
			continue;
		if (shared && c->key[0] == KEY_REF_CHUNK &&
		    ref_held(f->s, c->key) == 0)
			continue;
		problem(f, c->key[0] == KEY_REF_CHUNK ? "chunk" : "refcount of",
			c->key + 1, "referenced but missing");
	}
}

static void clear_seen(struct counts *c)
{
	for (size_t i = 0; i < c->cap; i++)
		c->t[i].seen = false;
}

int store_fsck(struct store *s, store_progress_fn progress, void *arg,
	       struct store_check *out)
{
	struct fsck f = {.s = s, .out = out, .progress = progress, .arg = arg};
	bool shared = db_rados(s->db) && !s->read_only;
	struct db_batch *hold = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	gate_close(&s->gc_gate);
	/* In a store shared by nodes (RADOS), the others commit meanwhile:
	 * the references and the counts are read and compared under the
	 * commit lock, held by an empty batch (whose taking also completes
	 * a commit of many parts left half applied), so they are of one
	 * moment; the chunks are read after it is let go. */
	if (shared) {
		pthread_mutex_lock(&s->commit_lock);
		rc = db_batch_open(s->db, &hold);
		if (rc) {
			pthread_mutex_unlock(&s->commit_lock);
			gate_open(&s->gc_gate);
			return rc;
		}
	}
	rc = store_artifact_each(s, fsck_artifact, &f);
	/* Files in runs' outputs trees hold references too. */
	if (!rc)
		rc = db_scan(s->db, CF_NAMESPACE, "o", 1, fsck_output, &f);
	if (!rc)
		rc = db_scan(s->db, CF_NAMESPACE, "e", 1, fsck_env, &f);
	if (!rc)
		rc = fsck_counts(&f, s->db, false);
	/* The open runs' outputs of a RADOS store, pipeline by pipeline. */
	if (!rc)
		rc = db_shards_each(s->db, fsck_shard, &f);
	if (!rc) {
		/* Refcount scan marked keys seen; chunks must be seen in the
		 * chunk store itself, so start over for them. */
		clear_seen(&f.want);
		for (size_t i = 0; i < f.want.cap; i++) {
			if (f.want.t[i].key[0] != KEY_REF_CHUNK)
				f.want.t[i].seen = true;
		}
	}
	if (hold) {
		db_batch_free(hold);
		pthread_mutex_unlock(&s->commit_lock);
	}
	if (!rc)
		rc = s->chunks->ops->each(s->chunks, true, fsck_chunk, &f);
	if (!rc)
		fsck_missing(&f, shared);
	gate_open(&s->gc_gate);
	free(f.want.t);
	if (rc)
		return rc;
	return out->problems ? -EUCLEAN : 0;
}
