/*
 * export.c - a point-in-time copy of the store for auditors, and the
 * checks that need nothing but the copy.
 *
 * The copy is a RocksDB checkpoint (consistent at one instant; hard
 * links where DEST shares the disk) with the store's marker: a store
 * that opens read-only.  A store whose chunks are in RADOS has its
 * referenced chunks copied in, so the copy needs no cluster.  With selectors,
 * the versions outside them and outside their upstream closure are deleted from
 * the copy, so are the runs that made none of what stays, with their steps,
 * outputs, environments, traces and cache entries (closure.c), and what nothing
 * references then goes (gc); the copy's journal stays whole, so
 * its chain still checks.  Secrets never stay in a copy: their records
 * are deleted and compacted away.  Once finished, the copy's marker says
 * it is an export (store_export_mark): every later open is read-only,
 * with no lock, no reserve and nothing written.
 */
#include "store_i.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int drop_secret(void *arg, const void *key, size_t klen, const void *val,
		       size_t vlen)
{
	(void)val, (void)vlen;
	db_batch_delete(arg, CF_SECRETS, key, klen);
	return 0;
}

/* Deletes every secret of the copy d and compacts them off the disk. */
static int drop_secrets(struct store *d)
{
	struct db_batch *b = db_batch_new(d->db);
	int rc;

	if (!b)
		return -ENOMEM;
	rc = db_scan(d->db, CF_SECRETS, NULL, 0, drop_secret, b);
	if (!rc)
		rc = db_batch_commit(b);
	db_batch_free(b);
	if (!rc)
		rc = db_compact(d->db, CF_SECRETS, false);
	return rc;
}

/* The marker of a store; with export, of an export (store_is_export). */
static int write_marker(const char *dest, bool export)
{
	static const char text[] =
	    "artifactfs store\nformat 1\n" STORE_EXPORT_MARK "\n";
	size_t len = sizeof(text) - 1 -
		     (export ? 0 : sizeof(STORE_EXPORT_MARK "\n") - 1);
	char p[4096];
	int fd, rc = 0;

	snprintf(p, sizeof(p), "%s/ARTIFACTFS", dest);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd))
		rc = errno ? -errno : -EIO;
	if (fd >= 0 && close(fd) < 0 && !rc)
		rc = -errno;
	if (rc)
		store_log(STORE_LOG_ERR, "cannot write %s: %s", p,
			  strerror(-rc));
	return rc;
}

int store_export_mark(const char *dest)
{
	return write_marker(dest, true);
}

/* ------------------------------------------- chunks kept elsewhere
 *
 * A copy is self-contained: when the store keeps its chunks in RADOS,
 * every referenced chunk is copied into the copy's own database and the
 * copy forgets the pool (its gc must never touch the store's objects).
 */

struct chunk_copy {
	struct store *s;
	struct db *to;
	const uint8_t *id;
	int rc;
};

static int copy_value(void *arg, const void *val, size_t len)
{
	struct chunk_copy *c = arg;
	uint64_t plain;
	int rc = cas_verify(c->id, val, len, &plain);

	if (rc == -EIO) {
		char hex[STORE_DIGEST_STR_LEN];

		store_digest_format(c->id, hex);
		store_log(STORE_LOG_ERR, "export: chunk %s is corrupt", hex);
	}
	return rc ? rc : db_chunk_put(c->to, c->id, val, len);
}

static int copy_chunk(void *arg, const void *key, size_t klen, const void *val,
		      size_t vlen)
{
	struct chunk_copy *c = arg;
	struct cursor cur = {val, (const uint8_t *)val + vlen, false};
	uint64_t stored;
	int rc;

	if (klen != KEY_DIGEST_LEN)
		return 0;
	cur_u8(&cur);
	cur_varint(&cur); /* refs */
	cur_varint(&cur); /* plain */
	stored = cur_varint(&cur);
	if (cur.bad)
		return -EIO;
	c->id = (const uint8_t *)key + 1;
	rc = c->s->chunks->ops->get(c->s->chunks, c->id, stored, copy_value, c);
	if (rc == -ENOENT) {
		char hex[STORE_DIGEST_STR_LEN];

		store_digest_format(c->id, hex);
		store_log(STORE_LOG_ERR, "export: chunk %s is missing", hex);
		rc = -EIO;
	}
	return rc;
}

static int copy_chunks(struct store *s, const char *db)
{
	struct chunk_copy c = {.s = s};
	uint8_t tag = KEY_REF_CHUNK;
	int rc = db_open(db, false, false, &c.to);

	if (rc)
		return rc;
	rc = db_scan(s->db, CF_REFCOUNTS, &tag, 1, copy_chunk, &c);
	if (!rc)
		rc = db_flush_chunks(c.to);
	if (!rc)
		rc = chunks_place_drop(c.to);
	db_close(c.to);
	return rc;
}

int store_export_copy(struct store *s, const char *dest)
{
	char db[4096];
	int rc;

	if (mkdir(dest, 0755) < 0 && errno != EEXIST) {
		rc = -errno;
		store_log(STORE_LOG_ERR, "cannot create %s: %s", dest,
			  strerror(errno));
		return rc;
	}
	snprintf(db, sizeof(db), "%s/db", dest);
	rc = db_checkpoint(s->db, db);
	if (!rc && !s->chunks->ops->local)
		rc = copy_chunks(s, db);
	return rc ? rc : write_marker(dest, false);
}

/* ------------------------------------------- the journal of a closure
 *
 * A trimmed export keeps the records about what it holds: a path under
 * an exported version (/artifacts/A/vN...), an exported artifact itself
 * or its aliases (/artifacts/A, /artifacts/A/ALIAS), and the runs that
 * made an exported version (/pipelines/P/runs/R...).  Every other record
 * becomes a stub, KEY_AUDIT_OMIT + be64 seq -> prev (32) || hash (32):
 * what the chain needs, nothing of what the record said.  The stubs'
 * digest (store_export_omitted) goes into the signed MANIFEST, so a
 * stub cannot be changed to hide a changed record either.  The records
 * of the nodes' lanes (a store shared by nodes: the opens, closes and
 * denials) are trimmed the same way, into KEY_AUDIT_LANE_OMIT stubs, and
 * their heads stay.
 */

#define KEY_AUDIT_OMIT 'o'
/* The same for a record of a node's lane: 'P' + node id + be64 seq. */
#define KEY_AUDIT_LANE_OMIT 'P'

struct kept {
	char (*art)[STORE_NAME_MAX + 1];
	uint32_t *num;
	char (*run)[3 * (STORE_NAME_MAX + 1)];
	size_t n, cap;
};

static int kept_version(void *arg, const struct store_version *v)
{
	struct kept *k = arg;

	if (k->n == k->cap) {
		size_t cap = k->cap ? 2 * k->cap : 64;
		void *a = realloc(k->art, cap * sizeof(*k->art));
		void *n = a ? realloc(k->num, cap * sizeof(*k->num)) : NULL;
		void *r = n ? realloc(k->run, cap * sizeof(*k->run)) : NULL;

		if (a)
			k->art = a;
		if (n)
			k->num = n;
		if (r)
			k->run = r;
		if (!r)
			return -ENOMEM;
		k->cap = cap;
	}
	snprintf(k->art[k->n], sizeof(k->art[0]), "%s", v->artifact);
	k->num[k->n] = v->number;
	snprintf(k->run[k->n], sizeof(k->run[0]), "%s", v->run);
	k->n++;
	return 0;
}

static int kept_artifact(void *arg, const char *name)
{
	struct arg2 {
		struct store *d;
		struct kept *k;
	} *x = arg;

	return store_version_each(x->d, name, kept_version, x->k);
}

/* Whether path starts with the components of pre (or equals it). */
static bool under(const char *path, const char *pre)
{
	size_t n = strlen(pre);

	return !strncmp(path, pre, n) && (path[n] == '\0' || path[n] == '/');
}

/* The path of the run of a version's "pipeline/run/step" into p. */
static bool run_path(const char *run, char *p, size_t size)
{
	const char *a = strchr(run, '/'), *b = a ? strchr(a + 1, '/') : NULL;

	if (!a)
		return false;
	snprintf(p, size, "/pipelines/%.*s/runs/%.*s", (int)(a - run), run,
		 (int)(b ? b - a - 1 : (ptrdiff_t)strlen(a + 1)), a + 1);
	return true;
}

/* Whether record path is about something k holds. */
static bool about(const struct kept *k, const char *path)
{
	char p[STORE_SCOPE_MAX + 1];

	for (size_t i = 0; i < k->n; i++) {
		const char *rest;
		char *end;

		snprintf(p, sizeof(p), "/artifacts/%s", k->art[i]);
		if (!under(path, p))
			goto run;
		rest = path + strlen(p);
		if (!*rest)
			return true;
		/* vN: this version only; any other name: an alias. */
		if (rest[1] != 'v' || rest[2] < '0' || rest[2] > '9')
			return true;
		if (strtoul(rest + 2, &end, 10) == k->num[i] &&
		    (*end == '\0' || *end == '/'))
			return true;
	run:
		if (run_path(k->run[i], p, sizeof(p)) && under(path, p))
			return true;
	}
	return false;
}

struct omit {
	struct store *d;
	const struct kept *k;
	struct db_batch *b;
	uint64_t n;
};

static int omit_one(void *arg, const void *key, size_t klen, const void *val,
		    size_t vlen)
{
	struct omit *o = arg;
	const uint8_t *k = key;
	struct audit_rec r;
	uint8_t stub[KEY_AUDIT_LANE_LEN], v[2 * STORE_DIGEST_LEN];
	int rc;

	if (!(klen == KEY_AUDIT_REC_LEN && k[0] == KEY_AUDIT_REC) &&
	    !(klen == KEY_AUDIT_LANE_LEN && k[0] == KEY_AUDIT_LANE))
		return 0;
	rc = audit_rec_decode(val, vlen, &r);
	if (rc)
		return rc;
	if (about(o->k, r.path))
		return 0;
	memcpy(v, r.prev, STORE_DIGEST_LEN);
	rc = store_digest_buf(val, vlen, v + STORE_DIGEST_LEN);
	if (rc)
		return rc;
	memcpy(stub, key, klen);
	stub[0] = k[0] == KEY_AUDIT_REC ? KEY_AUDIT_OMIT : KEY_AUDIT_LANE_OMIT;
	db_batch_delete(o->b, CF_AUDIT, key, klen);
	db_batch_put(o->b, CF_AUDIT, stub, klen, v, sizeof(v));
	o->n++;
	return 0;
}

/* Turns the records of d not about what it holds into stubs, those of
 * the main chain and of the nodes' lanes. */
static int journal_trim(struct store *d)
{
	struct kept k = {0};
	struct {
		struct store *d;
		struct kept *k;
	} x = {d, &k};
	struct omit o = {.d = d, .k = &k};
	uint8_t tag = KEY_AUDIT_REC;
	int rc = store_artifact_each(d, kept_artifact, &x);

	o.b = rc ? NULL : db_batch_new(d->db);
	if (!rc && !o.b)
		rc = -ENOMEM;
	if (!rc)
		rc = db_scan(d->db, CF_AUDIT, &tag, 1, omit_one, &o);
	tag = KEY_AUDIT_LANE;
	if (!rc)
		rc = db_scan(d->db, CF_AUDIT, &tag, 1, omit_one, &o);
	if (!rc)
		rc = db_batch_commit(o.b);
	db_batch_free(o.b);
	free(k.art);
	free(k.num);
	free(k.run);
	return rc;
}

struct omitted {
	EVP_MD_CTX *md;
	uint64_t n;
};

static int omitted_one(void *arg, const void *key, size_t klen, const void *val,
		       size_t vlen)
{
	struct omitted *o = arg;
	const uint8_t *k = key;

	if (vlen != 2 * STORE_DIGEST_LEN ||
	    klen != (k[0] == KEY_AUDIT_OMIT ? KEY_AUDIT_REC_LEN
					    : KEY_AUDIT_LANE_LEN))
		return -EBADMSG;
	/* The main chain's: be64 seq; a lane's: node id and be64 seq. */
	EVP_DigestUpdate(o->md, k + 1, klen - 1);
	EVP_DigestUpdate(o->md, val, vlen);
	o->n++;
	return 0;
}

int store_export_omitted(struct store *d, uint64_t *count,
			 uint8_t digest[STORE_DIGEST_LEN])
{
	struct omitted o = {EVP_MD_CTX_new(), 0};
	uint8_t tag = KEY_AUDIT_OMIT;
	int rc = o.md ? 0 : -ENOMEM;

	if (!rc && !EVP_DigestInit_ex(o.md, EVP_sha256(), NULL))
		rc = -EIO;
	if (!rc)
		rc = db_scan(d->db, CF_AUDIT, &tag, 1, omitted_one, &o);
	tag = KEY_AUDIT_LANE_OMIT;
	if (!rc)
		rc = db_scan(d->db, CF_AUDIT, &tag, 1, omitted_one, &o);
	if (!rc && !EVP_DigestFinal_ex(o.md, digest, NULL))
		rc = -EIO;
	EVP_MD_CTX_free(o.md);
	*count = o.n;
	return rc;
}

int store_export_trim(struct store *d, const struct store_export_sel *keep,
		      bool trim, store_progress_fn progress, void *parg)
{
	struct store_gc_result res;
	int rc = drop_secrets(d);

	if (!rc && trim)
		rc = retain_select(d, keep);
	if (!rc && trim)
		rc = export_runs_trim(d);
	if (!rc && trim)
		rc = journal_trim(d);
	if (!rc)
		rc = store_gc_retain(
		    d, &(struct store_caller){.user = "export"}, NULL, false,
		    NULL, NULL, progress, parg, &res);
	for (int cf = 0; !rc && cf < CF_COUNT; cf++)
		db_compact(d->db, cf, cf == CF_CHUNKS);
	return rc;
}

/* ---------------------------------------------------- the journal chain */

/* A chain of the journal: the main one (node NULL) or a node's lane. */
struct chain {
	const uint8_t *node; /* AUDIT_NODE_LEN bytes, or NULL */
	char name[2 * AUDIT_NODE_LEN + 16];
};

/* The key of record seq of c, or of its stub (stub); its length. */
static size_t chain_key(const struct chain *c, uint64_t seq, bool stub,
			uint8_t k[KEY_AUDIT_LANE_LEN])
{
	if (!c->node) {
		key_audit_rec(k, seq);
		if (stub)
			k[0] = KEY_AUDIT_OMIT;
		return KEY_AUDIT_REC_LEN;
	}
	k[0] = stub ? KEY_AUDIT_LANE_OMIT : KEY_AUDIT_LANE;
	memcpy(k + 1, c->node, AUDIT_NODE_LEN);
	be64_put(k + 1 + AUDIT_NODE_LEN, seq);
	return KEY_AUDIT_LANE_LEN;
}

/* The prev and the hash of record seq of c, or of its stub.  -ENOENT. */
static int link_of(struct store *s, const struct chain *c, uint64_t seq,
		   uint8_t prev[32], uint8_t hash[32])
{
	uint8_t k[KEY_AUDIT_LANE_LEN];
	struct audit_rec r;
	size_t klen = chain_key(c, seq, false, k);
	void *v;
	size_t len;
	int rc;

	rc = db_get(s->db, CF_AUDIT, k, klen, &v, &len);
	if (!rc) {
		rc = audit_rec_decode(v, len, &r);
		if (!rc && r.seq != seq)
			rc = -EBADMSG;
		if (!rc)
			rc = store_digest_buf(v, len, hash);
		memcpy(prev, r.prev, STORE_DIGEST_LEN);
		free(v);
		return rc == -EIO ? -EBADMSG : rc;
	}
	if (rc != -ENOENT)
		return rc;
	klen = chain_key(c, seq, true, k);
	rc = db_get(s->db, CF_AUDIT, k, klen, &v, &len);
	if (rc)
		return rc;
	if (len == 2 * STORE_DIGEST_LEN) {
		memcpy(prev, v, STORE_DIGEST_LEN);
		memcpy(hash, (uint8_t *)v + STORE_DIGEST_LEN, STORE_DIGEST_LEN);
	}
	free(v);
	return len == 2 * STORE_DIGEST_LEN ? 0 : -EBADMSG;
}

/* Records 1..head of c: no gap, each prev the hash of the one before, the
 * last one's hash the head's, nothing beyond.  Adds to *checked. */
static int chain_check(struct store *s, const struct chain *c, uint64_t head,
		       const uint8_t head_hash[STORE_DIGEST_LEN],
		       uint64_t *checked, char *why, size_t cap)
{
	uint8_t last[STORE_DIGEST_LEN] = {0}, prev[STORE_DIGEST_LEN],
		hash[STORE_DIGEST_LEN];
	uint64_t seq;
	int rc = 0;

	for (seq = 1; !rc && seq <= head; seq++) {
		rc = link_of(s, c, seq, prev, hash);
		if (rc == -ENOENT || rc == -EBADMSG || rc == -EIO) {
			snprintf(why, cap, "%sjournal record %llu %s", c->name,
				 (unsigned long long)seq,
				 rc == -ENOENT ? "missing"
					       : "unreadable or malformed "
						 "(changed)");
			return -EBADMSG;
		}
		if (!rc && memcmp(prev, last, STORE_DIGEST_LEN)) {
			snprintf(why, cap,
				 "%sjournal record %llu: does not chain to the "
				 "record before it (changed)",
				 c->name, (unsigned long long)seq - 1);
			return -EBADMSG;
		}
		memcpy(last, hash, STORE_DIGEST_LEN);
		if (!rc)
			(*checked)++;
	}
	if (!rc && head && memcmp(last, head_hash, STORE_DIGEST_LEN)) {
		snprintf(why, cap,
			 "%sjournal record %llu differs from its head "
			 "(changed)",
			 c->name, (unsigned long long)head);
		return -EBADMSG;
	}
	if (!rc && link_of(s, c, head + 1, prev, hash) != -ENOENT) {
		snprintf(why, cap,
			 "%sjournal record %llu beyond its head (added, or the "
			 "head cut back)",
			 c->name, (unsigned long long)head + 1);
		return -EBADMSG;
	}
	if (rc)
		snprintf(why, cap, "%sjournal unreadable: %s", c->name,
			 strerror(-rc));
	return rc;
}

struct lanes_arg {
	struct store *s;
	char *why;
	size_t cap;
};

static int lane_chain(void *arg, const char *node, uint64_t seq,
		      const uint8_t hash[STORE_DIGEST_LEN])
{
	struct lanes_arg *a = arg;
	uint8_t id[AUDIT_NODE_LEN];
	struct chain c = {id, ""};
	uint64_t n = 0;

	if (store_hex_decode(node, id, AUDIT_NODE_LEN))
		return -EBADMSG;
	snprintf(c.name, sizeof(c.name), "node %s: ", node);
	return chain_check(a->s, &c, seq, hash, &n, a->why, a->cap);
}

int store_audit_chain_check(struct store *s, uint64_t *checked, char *why,
			    size_t cap)
{
	struct chain main_chain = {NULL, ""};
	struct lanes_arg a = {s, why, cap};
	uint8_t hash[STORE_DIGEST_LEN];
	uint64_t head = 0;
	int rc = store_audit_head(s, &head, hash);

	*checked = 0;
	if (rc) {
		snprintf(why, cap,
			 "journal unreadable from its head on "
			 "(changed): %s",
			 strerror(-rc));
		return rc;
	}
	rc = chain_check(s, &main_chain, head, hash, checked, why, cap);
	if (!rc)
		rc = store_audit_lane_heads(s, lane_chain, &a);
	if (rc == -EIO && !*why)
		snprintf(why, cap, "a node's lane head is malformed (changed)");
	return rc;
}
