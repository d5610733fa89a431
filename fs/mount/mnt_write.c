/*
 * mnt_write.c - files being written in open runs.
 *
 * A new or truncated file streams through a store writer while writes
 * arrive in order, so a checkpoint is chunked and stored as it is written
 * and never staged on disk.  A write out of order, a read of what is
 * streaming, or a write into existing content moves the file to a spool
 * file (an O_TMPFILE next to the store) holding its whole content.  flush,
 * fsync and release commit: the content is finished as a stored file and
 * the run's output entry points at it, in one batch (synced for fsync).
 *
 * Every handle of a file in an open run, readers too, shares its one
 * object, which holds the truth while any handle is open: a reader sees
 * each write at once, whichever handle made it.  Content neither
 * streaming nor spooled is the committed file, read through a store
 * reader.  A file unlinked or renamed over while open keeps its content
 * here for its handles; commits then store nothing, and the last close
 * drops it.
 */
#include "mnt_i.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define COPY_BLOCK (1 << 20)

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Copies stored content into the spool fd. */
static int copy_stored(struct mnt *m, const uint8_t *digest, int fd)
{
	struct store_reader *r;
	char *buf = malloc(COPY_BLOCK);
	uint64_t off = 0;
	ssize_t n;
	int rc = buf ? store_reader_open(m->s, digest, &r) : -ENOMEM;

	if (rc) {
		free(buf);
		return rc;
	}
	while ((n = store_reader_pread(r, buf, COPY_BLOCK, off)) > 0) {
		if (pwrite(fd, buf, (size_t)n, (off_t)off) != n) {
			n = -errno;
			break;
		}
		off += (uint64_t)n;
	}
	store_reader_close(r);
	free(buf);
	return n < 0 ? (int)n : 0;
}

/* Moves f to a spool file holding its current content. */
static int to_spool(struct mnt_file *f)
{
	struct store_file sf;
	int rc = 0;
	int fd = open(f->m->spool_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd < 0) {
		rc = -errno;
		store_log(STORE_LOG_ERR, "cannot make a spool file in %s: %s",
			  f->m->spool_dir, strerror(errno));
		return rc;
	}
	if (f->w) {
		/* What streamed so far is stored: finish and read it back. */
		rc = store_writer_finish(f->w, &sf);
		f->w = NULL;
		if (!rc)
			rc = copy_stored(f->m, sf.digest, fd);
	} else if (f->size) {
		uint8_t d[STORE_DIGEST_LEN];

		pthread_mutex_lock(&f->m->lock); /* refreshes move n->e */
		memcpy(d, f->n->e.digest, sizeof(d));
		pthread_mutex_unlock(&f->m->lock);
		rc = copy_stored(f->m, d, fd);
	}
	if (rc) {
		close(fd);
		return rc;
	}
	f->spool = fd;
	store_reader_close(f->r); /* the spool holds the content now */
	f->r = NULL;
	return 0;
}

struct mnt_file *mnt_file_find(struct mnt *m, const struct mnt_node *n)
{
	struct mnt_file *f;
	size_t dl;

	pthread_mutex_lock(&m->wlock);
	pthread_mutex_lock(&m->lock); /* facts and paths move */
	/* The names of a file of many names share its one object (link
	 * ids are unique but for copies of a step: same step, or a name
	 * that went, which was of the same step). */
	for (f = m->writing; f; f = f->next) {
		dl = strlen(f->stepdir);
		if (f->n == n || (n->link && f->n->link == n->link &&
				  ((!strncmp(n->path, f->stepdir, dl) &&
				    n->path[dl] == '/') ||
				   !strncmp(n->path, "//gone/", 7))))
			break;
	}
	if (f)
		f->refs++;
	pthread_mutex_unlock(&m->lock);
	pthread_mutex_unlock(&m->wlock);
	return f;
}

int64_t mnt_write_size(struct mnt *m, const struct mnt_node *n)
{
	struct mnt_file *f = mnt_file_find(m, n);
	int64_t size = -1;

	if (!f)
		return -1;
	/* While it is open its size is the open object's, which another
	 * name's handles may have moved. */
	pthread_mutex_lock(&f->lock);
	size = (int64_t)f->size;
	pthread_mutex_unlock(&f->lock);
	mnt_file_close(f);
	return size;
}

/* All handles of one file share one object, so that readers see what
 * writers wrote and two writers do not each keep a copy. */
int mnt_file_open(struct mnt *m, struct mnt_node *n, bool trunc,
		  struct mnt_file **out)
{
	struct mnt_file *f = mnt_file_find(m, n);
	uint64_t size;
	int rc = 0;

	if (f) {
		rc = trunc ? mnt_file_truncate(f, 0) : 0;
		if (rc)
			mnt_file_close(f);
		else
			*out = f;
		return rc;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->m = m;
	f->n = n;
	/* Handles of another name of the file may share it once the
	 * kernel has forgotten this one. */
	mnt_node_pin(m, n);
	f->spool = -1;
	f->refs = 1;
	pthread_mutex_init(&f->lock, NULL);
	pthread_mutex_lock(&m->lock);
	size = n->e.size;
	if (n->c[C_STEP])
		snprintf(f->stepdir, sizeof(f->stepdir),
			 "/pipelines/%s/runs/%s/steps/%s/outputs",
			 n->c[C_PIPELINE], n->c[C_RUN], n->c[C_STEP]);
	pthread_mutex_unlock(&m->lock);
	/* A writer starts at the first write at 0 into an empty file. */
	f->size = trunc ? 0 : size;
	f->dirty = trunc && size != 0;
	pthread_mutex_lock(&m->wlock);
	f->next = m->writing;
	m->writing = f;
	pthread_mutex_unlock(&m->wlock);
	*out = f;
	return 0;
}

ssize_t mnt_file_write(struct mnt_file *f, const char *buf, size_t len,
		       off_t off, off_t *at)
{
	ssize_t rc;

	pthread_mutex_lock(&f->lock);
	if (f->err) {
		rc = f->err;
		goto out_done;
	}
	if (off < 0)
		off = (off_t)f->size;
	if (at)
		*at = off;
	if (!f->w && f->spool < 0 && f->size == 0 && off == 0) {
		rc = store_writer_new(f->m->s, &f->w);
		f->woff = 0;
		if (rc)
			goto out_done;
	}
	if (f->w && (uint64_t)off == f->woff) {
		rc = store_writer_write(f->w, buf, len);
		if (!rc) {
			f->woff += len;
			rc = (ssize_t)len;
		}
		goto out_done;
	}
	rc = f->spool < 0 ? to_spool(f) : 0;
	if (!rc) {
		rc = pwrite(f->spool, buf, len, off);
		if (rc < 0)
			rc = -errno;
	}
out_done:
	if (rc > 0) {
		f->dirty = true;
		if ((uint64_t)off + len > f->size)
			f->size = (uint64_t)off + len;
	}
	pthread_mutex_unlock(&f->lock);
	return rc;
}

/* Reads committed content (neither streaming nor spooled), through a
 * reader of the digest the node has now: a commit moves it. */
static ssize_t read_stored(struct mnt_file *f, char *buf, size_t len, off_t off)
{
	uint8_t d[STORE_DIGEST_LEN];
	ssize_t rc;

	if ((uint64_t)off >= f->size)
		return 0;
	if (len > f->size - (uint64_t)off)
		len = (size_t)(f->size - (uint64_t)off);
	pthread_mutex_lock(&f->m->lock);
	memcpy(d, f->n->e.digest, sizeof(d));
	pthread_mutex_unlock(&f->m->lock);
	if (f->r && memcmp(d, f->rd, sizeof(d))) {
		store_reader_close(f->r);
		f->r = NULL;
	}
	if (!f->r) {
		rc = store_reader_open(f->m->s, d, &f->r);
		if (rc)
			return rc;
		memcpy(f->rd, d, sizeof(d));
	}
	return store_reader_pread(f->r, buf, len, (uint64_t)off);
}

ssize_t mnt_file_read(struct mnt_file *f, char *buf, size_t len, off_t off)
{
	ssize_t rc = 0;

	pthread_mutex_lock(&f->lock);
	if (f->err) { /* what it held is lost */
		rc = f->err;
		goto out_unlock;
	}
	if (f->spool < 0 && !f->w) {
		rc = read_stored(f, buf, len, off);
		goto out_unlock;
	}
	if (f->spool < 0 && f->woff)
		rc = to_spool(f); /* what streamed is readable once stored */
	if (!rc && f->spool >= 0) {
		rc = pread(f->spool, buf, len, off);
		if (rc < 0)
			rc = -errno;
	}
out_unlock:
	pthread_mutex_unlock(&f->lock);
	return rc;
}

int mnt_file_truncate(struct mnt_file *f, uint64_t size)
{
	int rc = 0;

	pthread_mutex_lock(&f->lock);
	if (size == f->size)
		goto out_unlock;
	if (size == 0 && f->spool < 0) {
		store_writer_abort(f->w); /* the next write starts one */
		f->w = NULL;
		f->woff = 0;
	} else {
		rc = f->spool < 0 ? to_spool(f) : 0;
		if (!rc && ftruncate(f->spool, (off_t)size) < 0)
			rc = -errno;
	}
	if (!rc) {
		f->size = size;
		f->dirty = true;
	}
out_unlock:
	pthread_mutex_unlock(&f->lock);
	return rc;
}

/* Streams the spool file into a new stored file. */
static int ingest_spool(struct mnt_file *f, struct store_file *out)
{
	struct store_writer *w;
	char *buf = malloc(COPY_BLOCK);
	uint64_t off = 0;
	ssize_t n = 0;
	int rc = buf ? store_writer_new(f->m->s, &w) : -ENOMEM;

	if (rc) {
		free(buf);
		return rc;
	}
	while (off < f->size &&
	       (n = pread(f->spool, buf, COPY_BLOCK, (off_t)off)) > 0) {
		rc = store_writer_write(w, buf, (size_t)n);
		if (rc)
			break;
		off += (uint64_t)n;
	}
	free(buf);
	if (n < 0)
		rc = -errno;
	if (rc) {
		store_writer_abort(w);
		return rc;
	}
	return store_writer_finish(w, out);
}

/* Finishes f's content as a stored file into *out. */
static int finish(struct mnt_file *f, struct store_file *out)
{
	int rc;

	if (f->spool >= 0)
		return ingest_spool(f, out);
	if (!f->w) { /* emptied, and nothing written since */
		rc = store_writer_new(f->m->s, &f->w);
		if (rc)
			return rc;
	}
	rc = store_writer_finish(f->w, out);
	f->w = NULL; /* later writes go to a spool */
	if (rc)	     /* the streamed bytes are gone with the writer */
		f->err = rc;
	return rc;
}

/* The path of a name of the file with link id link in the outputs
 * directory stepdir ("/pipelines/p/runs/r/steps/s/outputs") into out,
 * after the name it was opened by went.  -ENOENT when none is left. */
struct other {
	uint64_t link;
	char *out;
	size_t size;
	bool found;
};

static int other_one(void *arg, const char *path, uint64_t link)
{
	struct other *o = arg;

	if (link != o->link)
		return 0;
	snprintf(o->out, o->size, "%s", path);
	o->found = true;
	return 1;
}

static int link_other_name(struct mnt *m, const char *stepdir, uint64_t link,
			   char *out, size_t size)
{
	struct other o = {link, NULL, 0, false};
	struct mnt_node d;
	char rel[4096];
	int rc = mnt_node_parse(stepdir, false, &d);

	if (rc)
		return rc;
	o.out = rel;
	o.size = sizeof(rel);
	rc = d.c[C_STEP]
		 ? store_output_links_each(m->s, d.c[C_PIPELINE], d.c[C_RUN],
					   d.c[C_STEP], other_one, &o)
		 : -ENOENT;
	mnt_node_parse_release(&d);
	if (rc < 0)
		return rc;
	if (!o.found)
		return -ENOENT;
	rc = snprintf(out, size, "%s/%s", stepdir, rel);
	return rc < 0 || (size_t)rc >= size ? -ENAMETOOLONG : 0;
}

/* The name it was opened by went: a file of many names is committed
 * through one of the others, if one is left. */
static int other_name(struct mnt_file *f, uint64_t link, struct mnt_node *out)
{
	char path[8192];
	int rc;

	mnt_node_parse_release(out);
	memset(out, 0, sizeof(*out));
	rc = link_other_name(f->m, f->stepdir, link, path, sizeof(path));
	if (!rc)
		rc = mnt_node_parse(path, false, out);
	return rc == -ENOENT ? 0 : rc; /* none: stored nowhere */
}

int mnt_file_commit(struct mnt_file *f, const struct store_caller *c, bool sync,
		    const struct store_audit_note *also, bool *rode)
{
	struct mnt_node path = {0};
	struct store_file sf;
	uint64_t link;
	uint32_t mode;
	int rc;

	pthread_mutex_lock(&f->lock);
	rc = f->err;
	if (rc || !f->dirty)
		goto out_unlock;
	pthread_mutex_lock(&f->m->lock); /* renames move n->path */
	rc = mnt_node_parse(f->n->path, false, &path);
	mode = f->n->e.mode; /* chmod sets it */
	link = f->n->link;
	pthread_mutex_unlock(&f->m->lock);
	if (!rc && !path.c[C_STEP] && link)
		rc = other_name(f, link, &path);
	/* Unlinked or renamed over while open: the content stays here for
	 * the handles until the last close, and nothing is stored. */
	if (rc || !path.c[C_STEP])
		goto out_release;
	rc = finish(f, &sf);
	if (!rc)
		rc = store_output_set(f->m->s, c, path.c[C_PIPELINE],
				      path.c[C_RUN], path.c[C_STEP], path.tail,
				      STORE_KIND_FILE, mode, &sf,
				      sync ? STORE_OUTPUT_SYNC : 0, also);
	if (rc)
		goto out_release;
	if (also && rode)
		*rode = true;
	pthread_mutex_lock(&f->m->wlock);
	f->fresh = false;
	pthread_mutex_unlock(&f->m->wlock);
	pthread_mutex_lock(&f->m->lock);
	f->n->e.size = sf.size;
	memcpy(f->n->e.digest, sf.digest, STORE_DIGEST_LEN);
	f->n->mtime = now_ns();
	f->n->atime = 0; /* the mtime, as the entry now holds */
	pthread_mutex_unlock(&f->m->lock);
	f->dirty = false;
out_release:
	mnt_node_parse_release(&path);
out_unlock:
	pthread_mutex_unlock(&f->lock);
	return rc;
}

void mnt_file_close(struct mnt_file *f)
{
	struct mnt_file **pp;

	if (!f)
		return;
	pthread_mutex_lock(&f->m->wlock);
	if (--f->refs) {
		pthread_mutex_unlock(&f->m->wlock);
		return;
	}
	for (pp = &f->m->writing; *pp && *pp != f; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = f->next;
	pthread_mutex_unlock(&f->m->wlock);
	mnt_node_unpin(f->m, f->n);
	store_writer_abort(f->w);
	store_reader_close(f->r);
	if (f->spool >= 0)
		close(f->spool);
	pthread_mutex_destroy(&f->lock);
	free(f);
}
