/*
 * mnt_dir.c - directory listings (opendir, readdir, releasedir), read a
 * reply at a time: an open directory holds no copy of its listing, so
 * memory does not grow with the handles open on a big directory.
 *
 * Each readdir reply is filled from the store from where the one before
 * stopped, by name.  Sealed trees and open runs' outputs list in name
 * order and go on after a name at the cost of the entries returned
 * (store_tree_each_after, store_output_each_after).  The handle keeps
 * the names of its last reply only (less than REPLY_MAX bytes): the
 * offset of an entry (its cookie) is its position in the listing, and
 * the kernel asks again from an entry of the last reply (a getdents
 * buffer that took only part of it) or from its end, which are found by
 * name.  Any other offset (seekdir back) is found by counting from the
 * start.  Runs and artifacts list in name order the same way.  The
 * other namespace directories (pipelines, steps, versions, ...), small,
 * are listed whole for each reply, never kept, and go on after the name
 * they stopped at, found again (by position if it went away).
 *
 * Entries added or removed while a listing is read: in the name-ordered
 * directories, the names of each reply sort after those before, so no
 * name comes twice; a name added behind the cursor is not shown, nor is
 * one removed ahead of it.  Files created and not yet committed (fresh,
 * mnt_files.c) are merged into the outputs' order.
 */
#include "mnt_i.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* What an open directory keeps: its last reply's names. */
struct dirh {
	pthread_mutex_t lock; /* readdirs of one handle, one at a time */
	off_t off;	      /* the offset the last reply went on from */
	size_t count;	      /* names in it */
	/* The name at off ("" at the start), then each name of the last
	 * reply (at off + 1, ...), each NUL-ended; malloc'd. */
	char *names;
};

/* One reply being filled. */
struct fill {
	fuse_req_t req;
	const char *path; /* the directory's, for the inode numbers */
	char *buf;	  /* the reply: size bytes, used of them */
	size_t size, used;
	off_t next;  /* the offset the next entry gets */
	size_t skip; /* entries to pass over first (seekdir back) */
	char *names; /* what becomes dirh.names: len bytes used */
	size_t len, count;
};

#define FILL_FULL 1 /* a listing callback's "stop": the reply is full */

/* The most a reply holds, whatever the kernel asks (up to 1 MiB): what a
 * handle keeps of its last reply, and the entries a getdents too small
 * for a reply makes the daemon list again, stay small. */
#define REPLY_MAX (32u << 10)

static void names_set_before(struct fill *f, const char *name)
{
	size_t n = strlen(name) + 1;

	memcpy(f->names, name, n);
	f->len = n;
	f->count = 0;
}

/* Adds one entry to the reply, or passes over it (f->skip). */
static int emit(void *arg, const char *name, unsigned dtype)
{
	struct fill *f = arg;
	struct stat st = {.st_ino = mnt_ino_of(f->path, name),
			  .st_mode = (mode_t)dtype << 12};
	size_t n = strlen(name) + 1, len;

	if (f->skip) {
		f->skip--;
		names_set_before(f, name);
		f->next++;
		return 0;
	}
	len = fuse_add_direntry(f->req, f->buf + f->used, f->size - f->used,
				name, &st, f->next);
	if (len > f->size - f->used)
		return FILL_FULL;
	/* An entry takes more room in the reply than its name: the names
	 * of a reply fit in f->names (size + a name, see fill_init). */
	f->used += len;
	f->next++;
	memcpy(f->names + f->len, name, n);
	f->len += n;
	f->count++;
	return 0;
}

static int fill_init(struct fill *f, fuse_req_t req, size_t size)
{
	memset(f, 0, sizeof(*f));
	if (size > REPLY_MAX)
		size = REPLY_MAX;
	f->req = req;
	f->size = size;
	f->buf = malloc(size);
	f->names = malloc(size + STORE_NAME_MAX + 1);
	if (!f->buf || !f->names) {
		free(f->buf);
		free(f->names);
		return -ENOMEM;
	}
	f->names[0] = '\0';
	f->len = 1;
	return 0;
}

/* ------------------------------------------- name-ordered directories */

static int sealed_entry(void *arg, const struct store_dirent *e)
{
	return emit(arg, e->name, mnt_dtype_of(e->kind));
}

static int run_entry(void *arg, const struct store_run *r)
{
	return emit(arg, r->run, DT_DIR);
}

static int name_entry(void *arg, const char *name)
{
	return emit(arg, name, DT_DIR);
}

/* The fresh files of an outputs directory whose names sort after
 * after, sorted: merged into the store's listing. */
struct fresh {
	const char *after;
	char **v;
	size_t n, cap, i;
	struct fill *f;
};

static int fresh_add(void *arg, const char *name, unsigned dtype)
{
	struct fresh *r = arg;

	(void)dtype;
	if (r->after && strcmp(name, r->after) <= 0)
		return 0;
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 8;
		char **v = realloc(r->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n] = strdup(name);
	return r->v[r->n] ? (r->n++, 0) : -ENOMEM;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The fresh names before name (all with NULL) into the reply; one equal
 * to name is the same file, committed meanwhile: passed over. */
static int fresh_upto(struct fresh *r, const char *name)
{
	int c, rc;

	while (r->i < r->n) {
		c = name ? strcmp(r->v[r->i], name) : -1;
		if (c > 0)
			break;
		if (c < 0 && (rc = emit(r->f, r->v[r->i], DT_REG)))
			return rc;
		r->i++;
	}
	return 0;
}

static int out_entry(void *arg, const struct store_output *o)
{
	struct fresh *r = arg;
	int rc = fresh_upto(r, o->e.name);

	return rc ? rc : emit(r->f, o->e.name, mnt_dtype_of(o->e.kind));
}

static int list_out(struct mnt *m, const struct mnt_node *n, const char *after,
		    struct fill *f)
{
	struct fresh r = {.after = after, .f = f};
	int rc = mnt_file_fresh_each(m, n->path, fresh_add, &r);

	if (!rc) {
		if (r.n)
			qsort(r.v, r.n, sizeof(*r.v), str_cmp);
		rc = store_output_each_after(m->s, n->c[C_PIPELINE],
					     n->c[C_RUN], n->c[C_STEP], n->tail,
					     after, out_entry, &r);
	}
	if (!rc)
		rc = fresh_upto(&r, NULL);
	for (size_t i = 0; i < r.n; i++)
		free(r.v[i]);
	free(r.v);
	return rc;
}

/* ------------------------------------------- other directories (small) */

struct whole {
	char **names;
	unsigned char *types;
	size_t n, cap;
};

static int whole_add(void *arg, const char *name, unsigned dtype)
{
	struct whole *w = arg;

	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 32;
		char **v = realloc(w->names, cap * sizeof(*v));
		unsigned char *t;

		if (!v)
			return -ENOMEM;
		w->names = v;
		t = realloc(w->types, cap);
		if (!t)
			return -ENOMEM;
		w->types = t;
		w->cap = cap;
	}
	w->names[w->n] = strdup(name);
	if (!w->names[w->n])
		return -ENOMEM;
	w->types[w->n++] = (unsigned char)dtype;
	return 0;
}

/* The listing as mnt_list gives it, from just after the name after (or,
 * if it went away, from the position at the offset pos). */
static int list_whole(struct mnt *m, const struct mnt_node *n,
		      const char *after, off_t pos, struct fill *f)
{
	struct whole w = {0};
	size_t i = 0;
	int rc = mnt_list(m, n, whole_add, &w);

	if (!rc && after) {
		while (i < w.n && strcmp(w.names[i], after))
			i++;
		/* Offsets 1 and 2 are . and .. */
		i = i < w.n ? i + 1 : pos > 2 ? (size_t)pos - 2 : 0;
	}
	for (; !rc && i < w.n; i++)
		rc = emit(f, w.names[i], w.types[i]);
	for (i = 0; i < w.n; i++)
		free(w.names[i]);
	free(w.names);
	free(w.types);
	return rc;
}

/* Fills the reply from just after the name after ("": the start). */
static int list_from(struct mnt *m, const struct mnt_node *n, const char *after,
		     off_t pos, struct fill *f)
{
	int rc = 0;

	if (!after[0])
		rc = emit(f, ".", DT_DIR);
	if (!rc && (!after[0] || !strcmp(after, ".")))
		rc = emit(f, "..", DT_DIR);
	if (!after[0] || !strcmp(after, ".") || !strcmp(after, ".."))
		after = NULL;
	if (rc)
		return rc;
	switch (n->kind) {
	case MK_SEALED:
		return store_tree_each_after(m->s, n->e.digest, after,
					     sealed_entry, f);
	case MK_OUT:
		return list_out(m, n, after, f);
	case MK_RUNS: /* runs and artifacts pile up: a pipeline's CI */
		return store_run_each_after(m->s, n->c[C_PIPELINE], after,
					    run_entry, f);
	case MK_ARTIFACTS:
		return store_artifact_each_after(m->s, after, name_entry, f);
	default:
		return list_whole(m, n, after, pos, f);
	}
}

/* ---------------------------------------------------------- operations */

static void dirh_free(struct dirh *h)
{
	if (!h)
		return;
	pthread_mutex_destroy(&h->lock);
	free(h->names);
	free(h);
}

void mnt_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct mnt *m = fuse_req_userdata(req);
	struct mnt_node *n, s;
	struct dirh *h = calloc(1, sizeof(*h));
	int rc = mnt_node_take(m, ino, &n, &s);

	if (!rc && h)
		h->names = strdup("");
	if (!rc && (!h || !h->names))
		rc = -ENOMEM;
	/* /audit asks for the auditor role (acl.h: guarded trees). */
	if (!rc)
		rc = mnt_check(req, m, ACL_LIST, s.path, "opendir");
	if (!rc) { /* a listing is a read: journaled like an open */
		struct store_caller c;

		mnt_caller(req, m, &c);
		rc =
		    store_audit_record(m->s, &c, "opendir", s.path, NULL, 0, 0);
	}
	mnt_node_parse_release(&s);
	if (rc) {
		if (h)
			free(h->names);
		free(h);
		fuse_reply_err(req, -rc);
		return;
	}
	pthread_mutex_init(&h->lock, NULL);
	fi->fh = (uintptr_t)h;
	if (s.sealed && s.kind == MK_SEALED) {
		fi->cache_readdir = 1;
		fi->keep_cache = 1;
	}
	if (fuse_reply_open(req, fi) == -ENOENT)
		dirh_free(h); /* interrupted: no release will come */
}

/* Where a reply asked for at off goes on from: just after *after (a name
 * of h, or "" for the start) or, for an offset h does not know, after
 * counting off entries from the start (*skip). */
static void resume_at(const struct dirh *h, off_t off, const char **after,
		      size_t *skip)
{
	const char *p = h->names;

	*after = "";
	*skip = 0;
	if (off == 0)
		return;
	if (off < h->off || (size_t)(off - h->off) > h->count) {
		*skip = (size_t)off;
		return;
	}
	for (off_t i = h->off; i < off; i++)
		p += strlen(p) + 1;
	*after = p;
}

void mnt_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct mnt *m = fuse_req_userdata(req);
	struct dirh *h = (struct dirh *)(uintptr_t)fi->fh;
	struct mnt_node *n, s;
	const char *after;
	struct fill f;
	int rc = fill_init(&f, req, size);

	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	pthread_mutex_lock(&h->lock);
	rc = mnt_node_take(m, ino, &n, &s);
	if (!rc) {
		f.path = s.path;
		resume_at(h, off, &after, &f.skip);
		names_set_before(&f, after);
		f.next = off + 1 - (off_t)f.skip;
		rc = list_from(m, &s, f.skip ? "" : after, off, &f);
	}
	mnt_node_parse_release(&s);
	if (rc == FILL_FULL || rc == -ENOENT) /* -ENOENT: the dir went */
		rc = 0;
	if ((!rc || f.used) && !f.skip) { /* (skip left: past the end) */
		char *kept = realloc(f.names, f.len); /* to what it holds */

		free(h->names);
		h->names = kept ? kept : f.names;
		h->off = off;
		h->count = f.count;
		f.names = NULL;
	}
	pthread_mutex_unlock(&h->lock);
	if (rc && !f.used)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_buf(req, f.buf, f.used);
	free(f.buf);
	free(f.names);
}

void mnt_op_releasedir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	(void)ino;
	dirh_free((struct dirh *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}
