/*
 * links.c - files of several names (hard links) in the outputs trees of
 * open runs.
 *
 * Each name is an entry of its own (FORMAT.md), holding its own
 * reference on the content, so sealing, gc and fsck see ordinary
 * entries.  What makes them one file is a link id they share (random,
 * unique in the store): a commit of new content, a chmod or a utimens
 * through one name is staged for every entry of the step with that id,
 * in the same batch.  Removing a name leaves the others as they are.
 */
#include "store_i.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

struct group {
	struct store *s;
	struct db_batch *b;
	const struct out_key *self; /* the name already staged, or NULL */
	const struct store_output *e;
	uint64_t link;
	uint32_t n;
	int err;
};

/* One entry of the step: another name of the file gets e's facts. */
static int group_one(void *arg, const void *key, size_t klen, const void *val,
		     size_t vlen)
{
	struct group *g = arg;
	struct store_output old, e;
	struct out_key k;

	if (output_entry_decode(val, vlen, "", &old))
		return -EIO;
	if (old.link != g->link)
		return 0;
	g->n++;
	if (!g->e || (klen == g->self->len && !memcmp(key, g->self->k, klen)))
		return 0;
	if (klen > sizeof(k.k))
		return -EIO;
	memcpy(k.k, key, klen);
	k.len = klen;
	k.base = g->self->base;
	e = *g->e;
	return out_entry_swap(g->s, g->b, &k, &old, &e);
}

static int group_scan(struct group *g, const struct out_key *o)
{
	return db_scan(g->s->db, CF_NAMESPACE, o->k, o->base, group_one, g);
}

int out_links_update(struct store *s, struct db_batch *b,
		     const struct out_key *o, const struct store_output *e)
{
	struct group g = {.s = s, .b = b, .self = o, .e = e, .link = e->link};

	if (!e->link)
		return 0;
	return group_scan(&g, o);
}

int out_links_count(struct store *s, const struct out_key *o, uint64_t link,
		    uint32_t *out)
{
	struct group g = {.s = s, .self = o, .link = link};
	int rc = group_scan(&g, o);

	*out = g.n ? g.n : 1;
	return rc;
}

/* A new link id: random, never 0. */
static int new_link_id(uint64_t *out)
{
	do {
		if (getrandom(out, sizeof(*out), 0) != sizeof(*out))
			return -EIO;
	} while (!*out);
	return 0;
}

int store_output_link(struct store *s, const struct store_caller *c,
		      const char *pipeline, const char *run, const char *step,
		      const char *from, const char *to)
{
	struct store_output src, dst;
	struct out_key f, t;
	struct commit tx;
	int rc = out_args_check(pipeline, run, step, from, false);

	if (!rc)
		rc = out_args_check(pipeline, run, step, to, false);
	if (rc)
		return rc;
	out_key_init(&f, pipeline, run, step, from);
	out_key_init(&t, pipeline, run, step, to);
	rc = commit_begin(s, c, &tx);
	if (rc)
		return rc;
	rc = out_step_writable(s, tx.b, pipeline, run, step);
	if (!rc)
		rc = out_entry_read(s, tx.b, &f, &src);
	if (!rc && src.e.kind == STORE_KIND_DIR)
		rc = -EPERM;
	if (!rc)
		rc = out_parent_check(s, tx.b, &t);
	if (!rc) {
		rc = out_entry_read(s, tx.b, &t, &dst);
		rc = rc == 0 ? -EEXIST : rc == -ENOENT ? 0 : rc;
	}
	if (!rc && !src.link) {
		rc = new_link_id(&src.link);
		if (!rc)
			rc = out_entry_put(tx.b, &f, &src);
	}
	if (!rc)
		rc = out_entry_swap(s, tx.b, &t, NULL, &src);
	commit_note(&tx, "output.link", NULL,
		    "/pipelines/%s/runs/%s/steps/%s/outputs/%s -> %s", pipeline,
		    run, step, to, from);
	return commit_end(&tx, rc);
}

struct each_link {
	size_t skip;
	int (*fn)(void *arg, const char *path, uint64_t link);
	void *arg;
};

static int each_link_one(void *arg, const void *key, size_t klen,
			 const void *val, size_t vlen)
{
	struct each_link *x = arg;
	char path[OUT_PATH_MAX + 1];
	struct store_output o;
	size_t n = klen - x->skip;

	if (n > OUT_PATH_MAX || output_entry_decode(val, vlen, "", &o))
		return -EIO;
	if (!o.link)
		return 0;
	memcpy(path, (const char *)key + x->skip, n);
	path[n] = '\0';
	return x->fn(x->arg, path, o.link);
}

int store_output_links_each(
    struct store *s, const char *pipeline, const char *run, const char *step,
    int (*fn)(void *arg, const char *path, uint64_t link), void *arg)
{
	struct each_link x = {.fn = fn, .arg = arg};
	struct out_key o;
	int rc = out_args_check(pipeline, run, step, "", true);

	if (rc)
		return rc;
	out_key_init(&o, pipeline, run, step, "");
	x.skip = o.base;
	return db_scan(s->db, CF_NAMESPACE, o.k, o.base, each_link_one, &x);
}
