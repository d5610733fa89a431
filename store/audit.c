/*
 * audit.c - the audit journal: records chained by SHA-256, authenticated
 * by HMAC-SHA256, staged in the same batch as the change they describe.
 * The layout is in FORMAT.md ("Audit journal"); the API and what a
 * verification can and cannot prove are in store_i.h.
 *
 * The HMAC key belongs to the caller: it is used here and never stored,
 * logged or copied.  Verification reports what it finds in its verdict
 * rather than the log: finding a tampered journal is its result, not a
 * failure of the store.
 */
#include "store_i.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEAD_LEN (8 + AUDIT_HASH_LEN) /* be64 seq + hash of that record */

/* The head: the last record's seq (0: empty journal) and hash. */
struct head {
	uint64_t seq;
	uint8_t hash[AUDIT_HASH_LEN];
};

/* HMAC-SHA256 of data under key. */
static int mac(const uint8_t *key, size_t klen, const void *data, size_t len,
	       uint8_t out[AUDIT_HASH_LEN])
{
	size_t n = 0;

	if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, klen, data, len,
		       out, AUDIT_HASH_LEN, &n) ||
	    n != AUDIT_HASH_LEN) {
		store_log(STORE_LOG_ERR, "HMAC-SHA256 failed (OpenSSL)");
		return -EIO;
	}
	return 0;
}

/* ------------------------------------------------------------- codec */

/* A str field of a fixed array: never reads past cap, cuts what does not
 * fit so that the decoder (same cap) always accepts it. */
static void buf_field(struct buf *b, const char *s, size_t cap)
{
	size_t n = strnlen(s, cap - 1);

	buf_varint(b, n);
	buf_bytes(b, s, n);
}

/* Encodes r (seq and prev set) and appends its hmac, also left in r. */
static int rec_encode(const uint8_t *key, size_t klen, struct audit_rec *r,
		      struct buf *b)
{
	uint8_t seq[8];
	int rc;

	be64_put(seq, r->seq);
	buf_u8(b, RECORD_FORMAT);
	buf_bytes(b, seq, sizeof(seq));
	buf_varint(b, (uint64_t)r->time);
	buf_varint(b, r->uid);
	buf_varint(b, r->pid);
	buf_field(b, r->user, sizeof(r->user));
	buf_field(b, r->op, sizeof(r->op));
	buf_field(b, r->path, sizeof(r->path));
	buf_field(b, r->digest, sizeof(r->digest));
	buf_varint(b, r->bytes);
	buf_varint(b, r->result);
	buf_bytes(b, r->prev, AUDIT_HASH_LEN);
	if (b->oom)
		return -ENOMEM;
	rc = mac(key, klen, b->p, b->len, r->hmac);
	if (rc)
		return rc;
	buf_bytes(b, r->hmac, AUDIT_HASH_LEN);
	return b->oom ? -ENOMEM : 0;
}

static void cur_copy(struct cursor *c, uint8_t *out, size_t n)
{
	const uint8_t *p = cur_bytes(c, n);

	if (p)
		memcpy(out, p, n);
	else
		memset(out, 0, n);
}

int audit_rec_decode(const void *val, size_t len, struct audit_rec *r)
{
	struct cursor c = {val, (const uint8_t *)val + len, false};
	uint64_t uid, pid, result;
	uint8_t seq[8];

	if (cur_u8(&c) != RECORD_FORMAT)
		return -EIO;
	cur_copy(&c, seq, sizeof(seq));
	r->seq = be64_get(seq);
	r->time = (int64_t)cur_varint(&c);
	uid = cur_varint(&c);
	pid = cur_varint(&c);
	cur_str(&c, r->user, sizeof(r->user));
	cur_str(&c, r->op, sizeof(r->op));
	cur_str(&c, r->path, sizeof(r->path));
	cur_str(&c, r->digest, sizeof(r->digest));
	r->bytes = cur_varint(&c);
	result = cur_varint(&c);
	cur_copy(&c, r->prev, AUDIT_HASH_LEN);
	cur_copy(&c, r->hmac, AUDIT_HASH_LEN);
	if (c.bad || c.p != c.end || uid > UINT32_MAX || pid > UINT32_MAX ||
	    result > UINT32_MAX)
		return -EIO;
	r->uid = (uint32_t)uid;
	r->pid = (uint32_t)pid;
	r->result = (uint32_t)result;
	return 0;
}

/* Reads the head (through b when not NULL).  An absent head is an empty
 * journal; -EBADMSG (not logged) when malformed, -EIO, -ENOMEM. */
static int head_read_at(struct store *s, struct db_batch *b, const void *hk,
			size_t hkl, struct head *h)
{
	void *v;
	size_t len;
	int rc;

	memset(h, 0, sizeof(*h));
	if (b)
		rc = db_batch_get(b, CF_AUDIT, hk, hkl, &v, &len);
	else
		rc = db_get(s->db, CF_AUDIT, hk, hkl, &v, &len);
	if (rc == -ENOENT)
		return 0;
	if (rc)
		return rc;
	if (len == HEAD_LEN) {
		h->seq = be64_get(v);
		memcpy(h->hash, (uint8_t *)v + 8, AUDIT_HASH_LEN);
	}
	free(v);
	/* A head we wrote names record 1 or later. */
	return h->seq ? 0 : -EBADMSG;
}

static int head_read(struct store *s, struct db_batch *b, struct head *h)
{
	return head_read_at(s, b, KEY_AUDIT_HEAD, KEY_AUDIT_HEAD_LEN, h);
}

/* ------------------------------------------------------------- writing */

/* Stages r after the head at hk (hkl bytes): its key is the record key
 * prefix rk (rkl bytes) + be64 seq. */
static int stage_at(struct store *s, struct db_batch *b, const uint8_t *key,
		    size_t klen, struct audit_rec *r, const uint8_t *hk,
		    size_t hkl, const uint8_t *rk, size_t rkl)
{
	struct buf v = {0};
	struct head h;
	uint8_t k[KEY_AUDIT_LANE_LEN], hv[HEAD_LEN];
	int rc;

	if (!klen || rkl + 8 > sizeof(k))
		return -EINVAL;
	rc = head_read_at(s, b, hk, hkl, &h);
	if (rc == -EBADMSG) {
		store_log(STORE_LOG_ERR, "audit journal: the head is "
					 "malformed, nothing can be recorded");
		rc = -EIO;
	}
	if (rc)
		return rc;
	r->seq = h.seq + 1;
	memcpy(r->prev, h.hash, AUDIT_HASH_LEN);
	if (s->audit_filter) /* before the hash: the chain covers it */
		s->audit_filter(s->audit_filter_arg, r->path, sizeof(r->path));
	rc = rec_encode(key, klen, r, &v);
	if (!rc)
		rc = store_digest_buf(v.p, v.len, h.hash);
	if (!rc) {
		memcpy(k, rk, rkl);
		be64_put(k + rkl, r->seq);
		db_batch_put(b, CF_AUDIT, k, rkl + 8, v.p, v.len);
		be64_put(hv, r->seq);
		memcpy(hv + 8, h.hash, AUDIT_HASH_LEN);
		db_batch_put(b, CF_AUDIT, hk, hkl, hv, HEAD_LEN);
	}
	free(v.p);
	return rc;
}

int audit_stage(struct store *s, struct db_batch *b, const uint8_t *key,
		size_t klen, struct audit_rec *r)
{
	const uint8_t *lane = db_batch_lane(b);
	uint8_t rk = KEY_AUDIT_REC;

	/* A change in a pipeline's shard (RADOS) joins the shard's lane,
	 * committed with it under the shard's lock. */
	if (lane)
		return audit_stage_lane(s, b, key, klen, lane, r);
	return stage_at(s, b, key, klen, r, (const uint8_t *)KEY_AUDIT_HEAD,
			KEY_AUDIT_HEAD_LEN, &rk, 1);
}

int audit_stage_lane(struct store *s, struct db_batch *b, const uint8_t *key,
		     size_t klen, const uint8_t *node, struct audit_rec *r)
{
	uint8_t hk[KEY_AUDIT_LANE_HEAD_LEN], rk[KEY_AUDIT_LANE_HEAD_LEN];

	hk[0] = KEY_AUDIT_LANE_HEAD;
	rk[0] = KEY_AUDIT_LANE;
	memcpy(hk + 1, node, AUDIT_NODE_LEN);
	memcpy(rk + 1, node, AUDIT_NODE_LEN);
	return stage_at(s, b, key, klen, r, hk, sizeof(hk), rk, sizeof(rk));
}

/* ------------------------------------------------------------ verifying */

struct walk {
	const uint8_t *key;
	size_t klen;
	uint64_t from;		      /* 0: all; else records below skipped */
	uint64_t expect;	      /* the next seq */
	uint64_t last;		      /* the last good seq (0: none) */
	uint8_t prev[AUDIT_HASH_LEN]; /* hash of record last */
	bool anchoring;		      /* checking record from - 1 */
	uint64_t head_seq;	      /* the head read before the walk */
	bool head_found;	      /* record head_seq was checked */
	uint8_t head_hash[AUDIT_HASH_LEN];
	uint64_t lane_keys; /* records of nodes' lanes met (checked apart) */
	struct audit_verdict *out;
	struct audit_rec r;
};

__attribute__((format(printf, 3, 4))) static int
bad(struct audit_verdict *out, uint64_t seq, const char *fmt, ...)
{
	va_list ap;

	out->bad_seq = seq;
	va_start(ap, fmt);
	vsnprintf(out->why, sizeof(out->why), fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

/* Writes key, cut to 16 bytes, into out with anything unprintable as
 * \xNN (out holds at least 4 * 16 + 4 bytes). */
static void key_show(const uint8_t *key, size_t klen, char *out)
{
	size_t n = klen < 16 ? klen : 16;
	char *p = out;

	for (size_t i = 0; i < n; i++) {
		if (key[i] >= 0x20 && key[i] < 0x7f && key[i] != '"' &&
		    key[i] != '\\')
			*p++ = (char)key[i];
		else
			p += sprintf(p, "\\x%02x", key[i]);
	}
	strcpy(p, n < klen ? "..." : "");
}

/* Sorts a key of the audit cf found by the walk: 1 for the head (not
 * part of the chain), 0 for a record key, else a stray key (named). */
static int walk_key(struct walk *w, const uint8_t *key, size_t klen)
{
	char shown[4 * 16 + 4];

	if (klen == KEY_AUDIT_HEAD_LEN &&
	    !memcmp(key, KEY_AUDIT_HEAD, KEY_AUDIT_HEAD_LEN))
		return 1;
	if (klen == KEY_AUDIT_REC_LEN && key[0] == KEY_AUDIT_REC)
		return 0;
	/* A node's lane (verify_lanes): its head, its records. */
	if (klen == KEY_AUDIT_LANE_HEAD_LEN && key[0] == KEY_AUDIT_LANE_HEAD)
		return 1;
	if (klen == KEY_AUDIT_LANE_LEN && key[0] == KEY_AUDIT_LANE) {
		w->lane_keys++;
		return 1;
	}
	key_show(key, klen, shown);
	return bad(w->out, w->expect,
		   "stray key \"%s\" in the journal (inserted)", shown);
}

/* What rec_link found wrong with a record. */
enum rec_fault { REC_OK, REC_MALFORMED, REC_SEQ, REC_HMAC, REC_PREV };

/* What a verdict says of a record with fault f (REC_SEQ, a record under
 * another's key, reads as a changed record). */
static const char *rec_fault_why(enum rec_fault f)
{
	switch (f) {
	case REC_HMAC:
		return "hmac mismatch (changed)";
	case REC_PREV:
		return "previous hash mismatch (a record before it changed "
		       "or moved)";
	default:
		return "malformed (changed)";
	}
}

/* Decodes val, record seq of a chain, into *r and checks it: its seq, its
 * HMAC under key and, when prev is not NULL, its link to the record
 * before (prev, that record's hash).  *fault says what was wrong; when
 * nothing was, next (which may be prev) takes the record's hash.  rc is
 * for failures of the checks themselves. */
static int rec_link(const uint8_t *key, size_t klen, uint64_t seq,
		    const void *val, size_t vlen, struct audit_rec *r,
		    const uint8_t *prev, uint8_t next[AUDIT_HASH_LEN],
		    enum rec_fault *fault)
{
	uint8_t h[AUDIT_HASH_LEN];
	int rc;

	*fault = REC_MALFORMED;
	if (audit_rec_decode(val, vlen, r))
		return 0;
	*fault = REC_SEQ;
	if (r->seq != seq)
		return 0;
	rc = mac(key, klen, val, vlen - AUDIT_HASH_LEN, h);
	if (rc)
		return rc;
	*fault = REC_HMAC;
	if (CRYPTO_memcmp(h, r->hmac, AUDIT_HASH_LEN) != 0)
		return 0;
	*fault = REC_PREV;
	if (prev && memcmp(r->prev, prev, AUDIT_HASH_LEN) != 0)
		return 0;
	*fault = REC_OK;
	return store_digest_buf(val, vlen, next);
}

/* Checks one record against the chain so far (a db_scan callback over
 * the whole audit cf: a key that is neither a record nor the head is
 * stray). */
static int walk_rec(void *arg, const void *key, size_t klen, const void *val,
		    size_t vlen)
{
	struct walk *w = arg;
	enum rec_fault f;
	uint64_t seq;
	int rc = walk_key(w, key, klen);

	if (rc)
		return rc > 0 ? 0 : rc;
	seq = key_audit_seq(key);
	if (!w->anchoring && seq < w->from)
		return 0;
	if (seq > w->expect)
		return bad(w->out, w->expect,
			   "record %" PRIu64 " missing (removed)", w->expect);
	if (seq < w->expect)
		return bad(w->out, w->expect,
			   "record %" PRIu64 ": preceded by a record %" PRIu64
			   " (inserted)",
			   w->expect, seq);
	rc = rec_link(w->key, w->klen, seq, val, vlen, &w->r,
		      w->anchoring ? NULL : w->prev, w->prev, &f);
	if (rc)
		return rc;
	if (f == REC_SEQ)
		return bad(w->out, seq,
			   "record %" PRIu64 ": out of order (holds record "
			   "%" PRIu64 ")",
			   seq, w->r.seq);
	if (f != REC_OK)
		return bad(w->out, seq, "record %" PRIu64 ": %s", seq,
			   rec_fault_why(f));
	if (seq == w->head_seq) {
		memcpy(w->head_hash, w->prev, AUDIT_HASH_LEN);
		w->head_found = true;
	}
	w->last = seq;
	w->expect = seq + 1;
	if (!w->anchoring)
		w->out->checked++;
	return 0;
}

/* Checks record seq on its own (its chain link unchecked) through
 * walk_rec: the anchor before from, or the record the head names. */
static int walk_one(struct store *s, struct walk *w, uint64_t seq)
{
	uint8_t k[KEY_AUDIT_REC_LEN];
	void *v;
	size_t len;
	int rc = db_get(s->db, CF_AUDIT, k, key_audit_rec(k, seq), &v, &len);

	if (rc == -ENOENT)
		return bad(w->out, seq, "record %" PRIu64 " missing (removed)",
			   seq);
	if (rc)
		return rc;
	w->anchoring = true;
	w->expect = seq;
	rc = walk_rec(w, k, KEY_AUDIT_REC_LEN, v, len);
	w->anchoring = false;
	free(v);
	return rc;
}

/* After the walk: the head (h0, read before it) must name a record of
 * the journal by its hash, and no record may lie beyond the head.
 * Records committed during the walk may follow h0; each came with a head
 * that names it, so a second read of the head settles them. */
static int walk_end(struct store *s, struct walk *w, const struct head *h0)
{
	uint64_t last = w->last;
	struct head h;
	int rc;

	if (h0->seq > last)
		return bad(w->out, last + 1,
			   "record %" PRIu64 " missing (removed): the head "
			   "names record %" PRIu64 ", the journal ends at "
			   "record %" PRIu64,
			   last + 1, h0->seq, last);
	if (h0->seq && !w->head_found) {
		rc = walk_one(s, w, h0->seq); /* a record before from */
		if (rc)
			return rc;
	}
	if (h0->seq && memcmp(w->head_hash, h0->hash, AUDIT_HASH_LEN) != 0)
		return bad(w->out, h0->seq,
			   "record %" PRIu64 ": hash differs from the head's "
			   "(changed)",
			   h0->seq);
	if (last == h0->seq)
		return 0;
	rc = head_read(s, NULL, &h);
	if (rc == -EBADMSG)
		return bad(w->out, 0, "head: malformed (changed)");
	if (rc)
		return rc;
	if (h.seq < last)
		return bad(w->out, h.seq + 1,
			   "record %" PRIu64 ": beyond the head (inserted)",
			   h.seq + 1);
	return 0;
}

/* ------------------------------------------------- the nodes' lanes
 * In a store shared by nodes (RADOS), the records that are not a change
 * (opens, closes, denials) go into a lane of the node that made them:
 * KEY_AUDIT_LANE + node + be64 seq, headed by KEY_AUDIT_LANE_HEAD +
 * node, a chain of its own checked like the main one. */

struct lane {
	const uint8_t *key; /* the journal's key */
	size_t klen;
	char node[STORE_NAME_MAX + 16]; /* "node HEX" or "pipeline P" */
	uint64_t expect;
	uint8_t prev[AUDIT_HASH_LEN];
	uint64_t records; /* of every lane so far */
	struct audit_verdict *out;
	struct audit_rec r;
	struct store *s;
};

static int lane_rec(void *arg, const void *key, size_t klen, const void *val,
		    size_t vlen)
{
	struct lane *l = arg;
	enum rec_fault f;
	uint64_t seq;
	int rc;

	if (klen != KEY_AUDIT_LANE_LEN)
		return bad(l->out, 0,
			   "%s: a stray key in its lane "
			   "(inserted)",
			   l->node);
	seq = be64_get((const uint8_t *)key + 1 + AUDIT_NODE_LEN);
	if (seq != l->expect)
		return bad(l->out, 0, "%s: record %" PRIu64 " %s", l->node,
			   l->expect,
			   seq > l->expect ? "missing (removed)"
					   : "out of order (inserted)");
	rc = rec_link(l->key, l->klen, seq, val, vlen, &l->r, l->prev, l->prev,
		      &f);
	if (rc)
		return rc;
	if (f != REC_OK)
		return bad(l->out, 0, "%s: record %" PRIu64 ": %s", l->node,
			   seq, rec_fault_why(f));
	l->expect++;
	l->records++;
	l->out->checked++;
	return 0;
}

/* One lane, from its head (a scan callback over the heads). */
static int lane_check(void *arg, const void *key, size_t klen, const void *val,
		      size_t vlen)
{
	struct lane *l = arg;
	const uint8_t *node = (const uint8_t *)key + 1;
	char pipe[STORE_NAME_MAX + 1];
	uint8_t prefix[KEY_AUDIT_LANE_HEAD_LEN];
	struct head h;
	uint64_t last;
	int rc;

	if (klen != KEY_AUDIT_LANE_HEAD_LEN || vlen != HEAD_LEN)
		return bad(l->out, 0,
			   "a node's lane head is malformed "
			   "(changed)");
	if (db_lane_pipeline(l->s->db, node, pipe) == 0) {
		snprintf(l->node, sizeof(l->node), "pipeline %s", pipe);
	} else {
		memcpy(l->node, "node ", 5);
		store_hex_encode(node, AUDIT_NODE_LEN, l->node + 5);
	}
	l->expect = 1;
	memset(l->prev, 0, sizeof(l->prev));
	prefix[0] = KEY_AUDIT_LANE;
	memcpy(prefix + 1, node, AUDIT_NODE_LEN);
	rc = db_scan(l->s->db, CF_AUDIT, prefix, sizeof(prefix), lane_rec, l);
	if (rc)
		return rc;
	last = l->expect - 1;
	if (be64_get(val) > last)
		return bad(l->out, 0,
			   "%s: record %" PRIu64 " missing (removed): "
			   "its head names record %" PRIu64,
			   l->node, last + 1, be64_get(val));
	if (be64_get(val) == last &&
	    memcmp((const uint8_t *)val + 8, l->prev, AUDIT_HASH_LEN) != 0)
		return bad(l->out, 0,
			   "%s: record %" PRIu64 ": hash differs from its "
			   "head's (changed)",
			   l->node, last);
	if (be64_get(val) == last)
		return 0;
	/* Records made during the walk: a second read of the head names
	 * them, or they were inserted. */
	rc = head_read_at(l->s, NULL, key, klen, &h);
	if (rc)
		return rc == -EBADMSG ? bad(l->out, 0,
					    "%s: head "
					    "malformed (changed)",
					    l->node)
				      : rc;
	return h.seq < last ? bad(l->out, 0,
				  "%s: record %" PRIu64 ": beyond its "
				  "head (inserted)",
				  l->node, h.seq + 1)
			    : 0;
}

/* Every lane; and no lane record without its lane's head. */
static int verify_lanes(struct store *s, const uint8_t *key, size_t klen,
			uint64_t lane_keys, struct audit_verdict *out)
{
	struct lane *l = calloc(1, sizeof(*l));
	uint8_t tag = KEY_AUDIT_LANE_HEAD;
	int rc;

	if (!l)
		return -ENOMEM;
	l->key = key;
	l->klen = klen;
	l->out = out;
	l->s = s;
	rc = db_scan(s->db, CF_AUDIT, &tag, 1, lane_check, l);
	if (!rc && l->records < lane_keys)
		rc = bad(out, 0,
			 "%" PRIu64 " record(s) of a node's lane "
			 "without its head (inserted)",
			 lane_keys - l->records);
	free(l);
	return rc;
}

int audit_verify(struct store *s, const uint8_t *key, size_t klen,
		 uint64_t from, struct audit_verdict *out)
{
	struct walk *w;
	struct head h;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!klen)
		return -EINVAL;
	rc = head_read(s, NULL, &h);
	if (rc == -EBADMSG)
		return bad(out, 0, "head: malformed (changed)");
	if (rc)
		return rc;
	if (from > 1 && from - 1 > h.seq)
		return 0; /* nothing recorded from there on */
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->key = key;
	w->klen = klen;
	w->expect = 1;
	w->head_seq = h.seq;
	w->out = out;
	if (from > 1) {
		w->from = from;
		rc = walk_one(s, w, from - 1);
	}
	/* The whole cf, not only the records: a stray key is named. */
	if (!rc)
		rc = db_scan(s->db, CF_AUDIT, NULL, 0, walk_rec, w);
	if (!rc)
		rc = walk_end(s, w, &h);
	if (!rc)
		rc = verify_lanes(s, key, klen, w->lane_keys, out);
	free(w);
	return rc;
}

/* ------------------------------------------------------------- reading */

struct each {
	uint64_t from;
	int (*fn)(void *arg, const struct audit_rec *r);
	void *arg;
	struct audit_rec r;
};

static int each_rec(void *arg, const void *key, size_t klen, const void *val,
		    size_t vlen)
{
	struct each *e = arg;
	uint64_t seq;

	if (klen == KEY_AUDIT_LANE_LEN &&
	    *(const uint8_t *)key == KEY_AUDIT_LANE) {
		if (audit_rec_decode(val, vlen, &e->r)) {
			store_log(STORE_LOG_ERR, "audit journal: a record of "
						 "a node's lane is malformed");
			return -EIO;
		}
		return e->fn(e->arg, &e->r);
	}
	if (klen != KEY_AUDIT_REC_LEN) {
		store_log(STORE_LOG_ERR, "audit journal: a stray key");
		return -EIO;
	}
	seq = key_audit_seq(key);
	if (seq < e->from)
		return 0;
	if (audit_rec_decode(val, vlen, &e->r)) {
		store_log(STORE_LOG_ERR,
			  "audit journal: record %" PRIu64 " is malformed",
			  seq);
		return -EIO;
	}
	return e->fn(e->arg, &e->r);
}

int audit_each(struct store *s, uint64_t from,
	       int (*fn)(void *arg, const struct audit_rec *r), void *arg)
{
	struct each *e = calloc(1, sizeof(*e));
	uint8_t tag = KEY_AUDIT_REC;
	int rc;

	if (!e)
		return -ENOMEM;
	e->from = from;
	e->fn = fn;
	e->arg = arg;
	rc = db_scan(s->db, CF_AUDIT, &tag, 1, each_rec, e);
	/* Then the nodes' lanes (a store shared by nodes), whole: their
	 * seqs are their own. */
	tag = KEY_AUDIT_LANE;
	if (!rc && from <= 1)
		rc = db_scan(s->db, CF_AUDIT, &tag, 1, each_rec, e);
	free(e);
	return rc;
}

void store_audit_set_filter(struct store *s, store_log_filter_fn fn, void *arg)
{
	s->audit_filter = fn;
	s->audit_filter_arg = arg;
}
