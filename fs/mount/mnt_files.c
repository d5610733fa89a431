/*
 * mnt_files.c - the files open in open runs as a set (mnt_write.c has
 * one file): files created and not committed yet, the commit of what a
 * handle wrote before its times change, and the files that keep a run
 * from sealing.
 */
#include "mnt_i.h"

#include <dirent.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mnt_file_commit_node(struct mnt *m, const struct store_caller *c,
			 const struct mnt_node *n)
{
	struct mnt_file *f = mnt_file_find(m, n);
	int rc;

	if (!f)
		return 0;
	rc = mnt_file_commit(f, c, false, NULL, NULL);
	mnt_file_close(f);
	return rc;
}

/* ------------------------------------------------------- fresh files
 * A file made by create exists only here until its first commit (a close
 * or an fsync): creating it costs no commit of its own.  Lookups,
 * listings, unlink and rename see it through these.
 */

int mnt_file_create(struct mnt *m, struct mnt_node *n, struct mnt_file **out)
{
	int rc = mnt_file_open(m, n, true, out);

	if (!rc) {
		pthread_mutex_lock(&(*out)->lock);
		(*out)->dirty = true;
		pthread_mutex_unlock(&(*out)->lock);
		pthread_mutex_lock(&m->wlock);
		(*out)->fresh = true;
		pthread_mutex_unlock(&m->wlock);
	}
	return rc;
}

/* The fresh file at path, with one more handle, or NULL. */
static struct mnt_file *fresh_find(struct mnt *m, const char *path)
{
	struct mnt_file *f;

	pthread_mutex_lock(&m->wlock);
	pthread_mutex_lock(&m->lock); /* node paths move on rename */
	for (f = m->writing; f && !(f->fresh && !strcmp(f->n->path, path));
	     f = f->next)
		;
	if (f)
		f->refs++;
	pthread_mutex_unlock(&m->lock);
	pthread_mutex_unlock(&m->wlock);
	return f;
}

bool mnt_file_fresh(struct mnt *m, const char *path, struct mnt_node *out)
{
	struct mnt_file *f = fresh_find(m, path);

	if (!f)
		return false;
	if (out) {
		pthread_mutex_lock(&m->lock);
		out->kind = MK_OUT;
		out->e = f->n->e;
		out->mtime = f->n->mtime;
		pthread_mutex_unlock(&m->lock);
	}
	mnt_file_close(f);
	return true;
}

int mnt_file_commit_fresh(struct mnt *m, const struct store_caller *c,
			  const char *path)
{
	struct mnt_file *f = fresh_find(m, path);
	int rc;

	if (!f)
		return 0;
	rc = mnt_file_commit(f, c, false, NULL, NULL);
	mnt_file_close(f);
	return rc;
}

int mnt_file_fresh_each(struct mnt *m, const char *dir, mnt_dir_fn fn,
			void *arg)
{
	size_t dl = strlen(dir), n = 0, cap = 0;
	char **names = NULL;
	int rc = 0;

	pthread_mutex_lock(&m->wlock);
	pthread_mutex_lock(&m->lock);
	for (struct mnt_file *f = m->writing; f; f = f->next) {
		const char *p = f->n->path;

		if (!f->fresh || strncmp(p, dir, dl) || p[dl] != '/' ||
		    strchr(p + dl + 1, '/'))
			continue;
		if (n == cap) {
			char **v = realloc(names, (cap = cap ? 2 * cap : 8) *
						      sizeof(*v));

			if (!v)
				break;
			names = v;
		}
		names[n] = strdup(p + dl + 1);
		if (names[n])
			n++;
	}
	pthread_mutex_unlock(&m->lock);
	pthread_mutex_unlock(&m->wlock);
	for (size_t i = 0; i < n; i++) {
		if (!rc)
			rc = fn(arg, names[i], DT_REG);
		free(names[i]);
	}
	free(names);
	return rc;
}

/* ------------------------------------------------------ sealing a run */

#define BUSY_NAMES 8

struct busy {
	struct mnt_file **f;
	size_t n, cap;
};

/* Takes a handle on every file open below dir/ (a path), for
 * mnt_run_busy to look at outside the table's locks. */
static int busy_collect(struct mnt *m, const char *dir, struct busy *b)
{
	size_t dl = strlen(dir);
	int rc = 0;

	pthread_mutex_lock(&m->wlock);
	pthread_mutex_lock(&m->lock); /* node paths move on rename */
	for (struct mnt_file *f = m->writing; f && !rc; f = f->next) {
		if (strncmp(f->n->path, dir, dl) || f->n->path[dl] != '/')
			continue;
		if (b->n == b->cap) {
			size_t cap = b->cap ? 2 * b->cap : 8;
			void *p = realloc(b->f, cap * sizeof(*b->f));

			if (!p) {
				rc = -ENOMEM;
				break;
			}
			b->f = p;
			b->cap = cap;
		}
		f->refs++;
		b->f[b->n++] = f;
	}
	pthread_mutex_unlock(&m->lock);
	pthread_mutex_unlock(&m->wlock);
	return rc;
}

/* Appends f's path below dir to the message *msg (len used of it), the
 * first BUSY_NAMES of them; *count counts them all. */
static void busy_name(struct mnt *m, struct mnt_file *f, size_t dl, char *msg,
		      size_t size, size_t *count)
{
	size_t used = strlen(msg);

	if ((*count)++ >= BUSY_NAMES)
		return;
	pthread_mutex_lock(&m->lock);
	snprintf(msg + used, size - used, "%s%s", *count > 1 ? ", " : "",
		 f->n->path + dl + 1);
	pthread_mutex_unlock(&m->lock);
}

int mnt_run_busy(struct mnt *m, const char *pipeline, const char *run)
{
	struct busy b = {0};
	char dir[2 * STORE_NAME_MAX + 32], msg[2048] = "";
	size_t count = 0, dl;
	int rc;

	dl = (size_t)snprintf(dir, sizeof(dir), "/pipelines/%s/runs/%s",
			      pipeline, run);
	rc = busy_collect(m, dir, &b);
	for (size_t i = 0; i < b.n; i++) {
		bool dirty;

		pthread_mutex_lock(&b.f[i]->lock);
		dirty = b.f[i]->dirty && !b.f[i]->err;
		pthread_mutex_unlock(&b.f[i]->lock);
		if (dirty)
			busy_name(m, b.f[i], dl, msg, sizeof(msg), &count);
		mnt_file_close(b.f[i]);
	}
	free(b.f);
	if (rc || !count)
		return rc;
	store_log(STORE_LOG_ERR,
		  "cannot seal %s/%s: %zu file%s open for writing, not closed "
		  "or fsync'd: %s%s",
		  pipeline, run, count, count > 1 ? "s" : "", msg,
		  count > BUSY_NAMES ? ", ..." : "");
	return -EBUSY;
}

static struct mnt *_Atomic serving;

void mnt_files_serving(struct mnt *m)
{
	atomic_store(&serving, m);
}

int fs_mount_run_busy(const char *pipeline, const char *run)
{
	struct mnt *m = atomic_load(&serving);

	return m ? mnt_run_busy(m, pipeline, run) : 0;
}
