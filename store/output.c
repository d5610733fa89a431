/*
 * output.c - the outputs trees of open runs: reading them and changing
 * them (entries in outentry.c, other names of a file in links.c,
 * sealing in seal.c).
 *
 * Entries live in the namespace column family under
 * KEY_NS_OUTPUT pipeline NUL run NUL step NUL path (FORMAT.md).  Each file
 * entry holds a reference on its content, taken and released in the same batch
 * as the entry, so gc never takes what an open run still shows.
 */
#include "store_i.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int store_output_get(struct store *s, const char *pipeline, const char *run,
		     const char *step, const char *path,
		     struct store_output *out)
{
	struct out_key o;
	int rc = out_args_check(pipeline, run, step, path, true);

	if (rc)
		return rc;
	out_key_init(&o, pipeline, run, step, path);
	rc = out_entry_read(s, NULL, &o, out);
	if (!rc && out->link)
		rc = out_links_count(s, &o, out->link, &out->nlink);
	return rc;
}

struct each_out {
	size_t skip;
	int (*fn)(void *arg, const struct store_output *o);
	void *arg;
};

static int each_child(void *arg, const void *key, size_t klen, const void *val,
		      size_t vlen)
{
	struct each_out *c = arg;
	char name[STORE_NAME_MAX + 1];
	struct store_output o;
	size_t n = klen - c->skip;

	/* Deeper descendants share the prefix: children only. */
	if (n > STORE_NAME_MAX || memchr((const char *)key + c->skip, '/', n))
		return 0;
	memcpy(name, (const char *)key + c->skip, n);
	name[n] = '\0';
	if (output_entry_decode(val, vlen, name, &o))
		return -EIO;
	return c->fn(c->arg, &o);
}

int store_output_each(struct store *s, const char *pipeline, const char *run,
		      const char *step, const char *path,
		      int (*fn)(void *arg, const struct store_output *o),
		      void *arg)
{
	return store_output_each_after(s, pipeline, run, step, path, NULL, fn,
				       arg);
}

int store_output_each_after(struct store *s, const char *pipeline,
			    const char *run, const char *step, const char *path,
			    const char *after,
			    int (*fn)(void *arg, const struct store_output *o),
			    void *arg)
{
	struct each_out c = {.fn = fn, .arg = arg};
	uint8_t from[OUT_KEY_MAX + STORE_NAME_MAX + 2];
	size_t alen = after ? strlen(after) : 0, flen;
	struct out_key o;
	int rc = out_args_check(pipeline, run, step, path, true);

	if (rc)
		return rc;
	if (alen > STORE_NAME_MAX || (after && strchr(after, '/')))
		return -EINVAL;
	out_key_init(&o, pipeline, run, step, path);
	if (o.len > o.base)
		o.k[o.len++] = '/';
	c.skip = o.len;
	/* The key just past after's own: its descendants, then the
	 * names that sort after it (the scan keeps children only). */
	memcpy(from, o.k, o.len);
	memcpy(from + o.len, after ? after : "", alen);
	flen = o.len + alen;
	if (alen)
		from[flen++] = '\0';
	return db_scan_from(s->db, CF_NAMESPACE, o.k, o.len, from, flen,
			    each_child, &c);
}

static int kind_clash(const struct store_output *old, enum store_kind kind)
{
	if (old->e.kind == STORE_KIND_DIR && kind != STORE_KIND_DIR)
		return -EISDIR;
	if (old->e.kind != STORE_KIND_DIR && kind == STORE_KIND_DIR)
		return -EEXIST;
	return 0;
}

int store_output_set(struct store *s, const struct store_caller *c,
		     const char *pipeline, const char *run, const char *step,
		     const char *path, enum store_kind kind, uint32_t mode,
		     const struct store_file *f, enum store_output_flags flags,
		     const struct store_audit_note *also)
{
	struct store_output old,
	    e = {.e.kind = kind, .e.mode = mode & 07777, .mtime = now_ns()};

	e.atime = e.mtime;
	struct commit t;
	struct out_key o;
	bool had;
	int rc = out_args_check(pipeline, run, step, path, false);

	if (rc)
		return rc;
	if ((kind == STORE_KIND_DIR) != (f == NULL))
		return -EINVAL;
	if (f) {
		memcpy(e.e.digest, f->digest, STORE_DIGEST_LEN);
		e.e.size = f->size;
	}
	out_key_init(&o, pipeline, run, step, path);
	rc = commit_begin_out(s, c, pipeline, &t);
	if (rc)
		return rc;
	t.also = also;
	if (f && f->unflushed) {
		rc = db_flush_chunks(s->db);
		chunk_set_clear(s->pending);
	}
	if (!rc)
		rc = out_step_writable(s, t.b, pipeline, run, step);
	if (!rc)
		rc = out_parent_check(s, t.b, &o);
	if (!rc) {
		rc = out_entry_read(s, t.b, &o, &old);
		had = rc == 0;
		rc = rc == -ENOENT ? 0 : rc;
		if (!rc && had)
			rc = kind_clash(&old, kind);
	}
	/* New content of a file of many names is every name's. */
	if (!rc && had && kind == STORE_KIND_FILE && old.e.kind == kind)
		e.link = old.link;
	if (!rc)
		rc = out_entry_swap(s, t.b, &o, had ? &old : NULL, &e);
	if (!rc)
		rc = out_links_update(s, t.b, &o, &e);
	commit_note(&t,
		    kind == STORE_KIND_DIR	 ? "output.mkdir"
		    : kind == STORE_KIND_SYMLINK ? "output.symlink"
						 : "output.write",
		    f ? f->digest : NULL,
		    "/pipelines/%s/runs/%s/steps/%s/outputs/%s", pipeline, run,
		    step, path);
	if (flags & STORE_OUTPUT_SYNC)
		return commit_end(&t, rc);
	return commit_end_nosync(&t, rc);
}

/* Changes the mode (mode NULL: kept) or the times (STORE_TIME_KEEP:
 * kept) of an entry, journaled as op. */
static int set_attr(struct store *s, const struct store_caller *c,
		    const char *pipeline, const char *run, const char *step,
		    const char *path, const uint32_t *mode, int64_t atime,
		    int64_t mtime, const char *op)
{
	struct store_output e;
	struct commit t;
	struct out_key o;
	int rc = out_args_check(pipeline, run, step, path, false);

	if (rc)
		return rc;
	out_key_init(&o, pipeline, run, step, path);
	rc = commit_begin_out(s, c, pipeline, &t);
	if (rc)
		return rc;
	rc = out_step_writable(s, t.b, pipeline, run, step);
	if (!rc)
		rc = out_entry_read(s, t.b, &o, &e);
	if (!rc) {
		e.e.mode = mode ? *mode & 07777 : e.e.mode;
		e.mtime = mtime != STORE_TIME_KEEP ? mtime : e.mtime;
		e.atime = atime != STORE_TIME_KEEP ? atime : e.atime;
		rc = out_entry_put(t.b, &o, &e);
	}
	if (!rc)
		rc = out_links_update(s, t.b, &o, &e);
	commit_note(&t, op, NULL, "/pipelines/%s/runs/%s/steps/%s/outputs/%s",
		    pipeline, run, step, path);
	/* Times, like a close without fsync: ordered, atomic, not waited
	 * for. */
	return mode ? commit_end(&t, rc) : commit_end_nosync(&t, rc);
}

int store_output_chmod(struct store *s, const struct store_caller *c,
		       const char *pipeline, const char *run, const char *step,
		       const char *path, uint32_t mode)
{
	return set_attr(s, c, pipeline, run, step, path, &mode, STORE_TIME_KEEP,
			STORE_TIME_KEEP, "output.chmod");
}

int store_output_utimens(struct store *s, const struct store_caller *c,
			 const char *pipeline, const char *run,
			 const char *step, const char *path, int64_t atime,
			 int64_t mtime)
{
	return set_attr(s, c, pipeline, run, step, path, NULL, atime, mtime,
			"output.utimens");
}

static int has_any(void *arg, const void *key, size_t klen, const void *val,
		   size_t vlen)
{
	(void)arg;
	(void)key;
	(void)klen;
	(void)val;
	(void)vlen;
	return 1;
}

/* Whether directory o has any entry below it. */
static bool dir_has_children(struct store *s, const struct out_key *o)
{
	struct out_key p = *o;

	p.k[p.len++] = '/';
	return db_scan(s->db, CF_NAMESPACE, p.k, p.len, has_any, NULL) == 1;
}

int store_output_delete(struct store *s, const struct store_caller *c,
			const char *pipeline, const char *run, const char *step,
			const char *path)
{
	struct store_output old;
	struct commit t;
	struct out_key o;
	int rc = out_args_check(pipeline, run, step, path, false);

	if (rc)
		return rc;
	out_key_init(&o, pipeline, run, step, path);
	rc = commit_begin_out(s, c, pipeline, &t);
	if (rc)
		return rc;
	rc = out_step_writable(s, t.b, pipeline, run, step);
	if (!rc)
		rc = out_entry_read(s, t.b, &o, &old);
	if (!rc && old.e.kind == STORE_KIND_DIR && dir_has_children(s, &o))
		rc = -ENOTEMPTY;
	if (!rc)
		rc = out_entry_swap(s, t.b, &o, &old, NULL);
	commit_note(&t, "output.delete", NULL,
		    "/pipelines/%s/runs/%s/steps/%s/outputs/%s", pipeline, run,
		    step, path);
	return commit_end(&t, rc);
}

struct move {
	struct db_batch *b;
	size_t from_len; /* key length of the source path */
	const struct out_key *to;
	int err;
};

/* Moves one descendant of the source directory under the target. */
static int move_one(void *arg, const void *key, size_t klen, const void *val,
		    size_t vlen)
{
	struct move *m = arg;
	struct out_key n = *m->to;
	size_t tail = klen - m->from_len;

	if (n.len + tail > sizeof(n.k))
		return -ENAMETOOLONG;
	memcpy(n.k + n.len, (const char *)key + m->from_len, tail);
	n.len += tail;
	db_batch_put(m->b, CF_NAMESPACE, n.k, n.len, val, vlen);
	db_batch_delete(m->b, CF_NAMESPACE, key, klen);
	return 0;
}

static int rename_check(struct store *s, struct db_batch *b,
			const struct out_key *f, const struct out_key *t,
			const struct store_output *src,
			struct store_output *dst, bool *had)
{
	int rc = out_parent_check(s, b, t);

	if (rc)
		return rc;
	/* No directory into itself. */
	if (src->e.kind == STORE_KIND_DIR && t->len > f->len &&
	    !memcmp(t->k, f->k, f->len) && t->k[f->len] == '/')
		return -EINVAL;
	rc = out_entry_read(s, b, t, dst);
	*had = rc == 0;
	if (rc == -ENOENT)
		return 0;
	if (rc)
		return rc;
	if (dst->e.kind == STORE_KIND_DIR) {
		if (src->e.kind != STORE_KIND_DIR)
			return -EISDIR;
		return dir_has_children(s, t) ? -ENOTEMPTY : 0;
	}
	return src->e.kind == STORE_KIND_DIR ? -ENOTDIR : 0;
}

int store_output_rename(struct store *s, const struct store_caller *c,
			const char *pipeline, const char *run, const char *step,
			const char *from, const char *to)
{
	struct store_output src, dst;
	struct out_key f, t, fp;
	struct move m;
	struct commit tx;
	bool had = false;
	int rc = out_args_check(pipeline, run, step, from, false);

	if (!rc)
		rc = out_args_check(pipeline, run, step, to, false);
	if (rc)
		return rc;
	if (!strcmp(from, to))
		return 0;
	out_key_init(&f, pipeline, run, step, from);
	out_key_init(&t, pipeline, run, step, to);
	rc = commit_begin_out(s, c, pipeline, &tx);
	if (rc)
		return rc;
	rc = out_step_writable(s, tx.b, pipeline, run, step);
	if (!rc)
		rc = out_entry_read(s, tx.b, &f, &src);
	if (!rc)
		rc = rename_check(s, tx.b, &f, &t, &src, &dst, &had);
	if (!rc && had && src.link && src.link == dst.link)
		return commit_end(&tx, 0); /* two names of one file */
	if (!rc && had)
		rc = out_entry_swap(s, tx.b, &t, &dst, NULL);
	if (!rc && src.e.kind == STORE_KIND_DIR) {
		fp = f;
		fp.k[fp.len++] = '/';
		t.k[t.len++] = '/';
		m = (struct move){.b = tx.b, .from_len = fp.len, .to = &t};
		rc = db_scan(s->db, CF_NAMESPACE, fp.k, fp.len, move_one, &m);
		t.len--;
	}
	if (!rc) {
		/* A rename keeps the times (rsync renames its copies into
		 * place after setting them). */
		rc = out_entry_put(tx.b, &t, &src);
		db_batch_delete(tx.b, CF_NAMESPACE, f.k, f.len);
	}
	commit_note(&tx, "output.rename", NULL,
		    "/pipelines/%s/runs/%s/steps/%s/outputs/%s -> %s", pipeline,
		    run, step, from, to);
	return commit_end(&tx, rc);
}

/* ------------------------------------------------------------- copying */

struct copy {
	struct store *s;
	struct db_batch *b;
	size_t skip; /* the source step's prefix */
	struct out_key to;
	size_t n;
};

static int copy_one(void *arg, const void *key, size_t klen, const void *val,
		    size_t vlen)
{
	struct copy *x = arg;
	char path[OUT_PATH_MAX + 1];
	struct store_output e;
	size_t plen = klen - x->skip;

	if (plen == 0 || plen > OUT_PATH_MAX)
		return -EIO;
	memcpy(path, (const char *)key + x->skip, plen);
	path[plen] = '\0';
	if (output_entry_decode(val, vlen, path, &e))
		return -EIO;
	x->to.len = x->to.base + plen;
	memcpy(x->to.k + x->to.base, path, plen);
	x->n++;
	return out_entry_swap(x->s, x->b, &x->to, NULL, &e);
}

int store_output_copy(struct store *s, const struct store_caller *c,
		      const char *pipeline, const char *run, const char *step,
		      const char *src_p, const char *src_r,
		      const char *src_step)
{
	struct copy x = {.s = s};
	struct out_key from;
	struct commit t;
	int rc = out_args_check(pipeline, run, step, "", true);

	if (!rc)
		rc = out_args_check(src_p, src_r, src_step, "", true);
	if (rc)
		return rc;
	out_key_init(&from, src_p, src_r, src_step, "");
	out_key_init(&x.to, pipeline, run, step, "");
	x.skip = from.base;
	rc = commit_begin_out(s, c, pipeline, &t);
	if (rc)
		return rc;
	x.b = t.b;
	rc = out_step_writable(s, t.b, pipeline, run, step);
	if (!rc &&
	    db_scan(s->db, CF_NAMESPACE, x.to.k, x.to.base, has_any, NULL) == 1)
		rc = -EEXIST;
	if (!rc)
		rc = db_scan(s->db, CF_NAMESPACE, from.k, from.base, copy_one,
			     &x);
	commit_note(&t, "output.copy", NULL,
		    "/pipelines/%s/runs/%s/steps/%s/outputs <- "
		    "/pipelines/%s/runs/%s/steps/%s/outputs",
		    pipeline, run, step, src_p, src_r, src_step);
	return commit_end(&t, rc);
}
