/*
 * put.c - assembling a version from local files and committing it.
 *
 * Entries are collected into a tree of nodes; at commit the directory
 * listings are encoded bottom-up (a Merkle tree: each listing holds its
 * children's digests), and the version, its refcounts, the counters and
 * "latest" go into one WriteBatch after the chunks are flushed.
 */
#include "store_i.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct node {
	struct store_dirent e; /* name, kind, mode, size, digest */
	int64_t mtime;	       /* ns; 0: none known (not recorded) */
	struct node **kids;
	size_t nkids, cap;
};

struct store_put {
	struct store *s;
	struct store_caller caller; /* who commits the version */
	char artifact[STORE_NAME_MAX + 1];
	struct node root;
	uint64_t bytes;	      /* ingested so far, for progress */
	uint64_t size, files; /* of the tree, counted when sealed */
	store_progress_fn progress;
	void *progress_arg;
	char step[STORE_NAME_MAX + 1]; /* producing step when sealed, or "" */
	struct store_source src;       /* how sources are read */
};

static int local_open(void *arg, const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);

	(void)arg;
	return fd < 0 ? -errno : fd;
}

static int local_lstat(void *arg, const char *path, struct stat *st)
{
	(void)arg;
	return lstat(path, st) < 0 ? -errno : 0;
}

static ssize_t local_readlink(void *arg, const char *path, char *buf,
			      size_t len)
{
	ssize_t n = readlink(path, buf, len);

	(void)arg;
	return n < 0 ? -errno : n;
}

static const struct store_source local_source = {
    .open = local_open, .lstat = local_lstat, .readlink = local_readlink};

void store_put_set_source(struct store_put *p, const struct store_source *src)
{
	p->src = *src;
}

static bool cancelled(const struct store_put *p)
{
	return p->src.cancelled && p->src.cancelled(p->src.arg);
}

void put_set_step(struct store_put *p, const char *step)
{
	snprintf(p->step, sizeof(p->step), "%s", step);
}

const char *put_step(const struct store_put *p)
{
	return p->step;
}

static void node_free(struct node *n)
{
	for (size_t i = 0; i < n->nkids; i++) {
		node_free(n->kids[i]);
		free(n->kids[i]);
	}
	free(n->kids);
}

static struct node *node_child(struct node *dir, const char *name, size_t len)
{
	struct node *k;

	for (size_t i = 0; i < dir->nkids; i++) {
		k = dir->kids[i];
		if (strlen(k->e.name) == len && !memcmp(k->e.name, name, len))
			return k;
	}
	if (dir->nkids == dir->cap) {
		size_t cap = dir->cap ? 2 * dir->cap : 8;
		struct node **p = realloc(dir->kids, cap * sizeof(*p));

		if (!p)
			return NULL;
		dir->kids = p;
		dir->cap = cap;
	}
	k = calloc(1, sizeof(*k));
	if (!k)
		return NULL;
	memcpy(k->e.name, name, len);
	k->e.kind = STORE_KIND_DIR;
	k->e.mode = 0755;
	dir->kids[dir->nkids++] = k;
	return k;
}

/* Finds or creates the node at path; intermediate directories appear. */
static int node_at(struct store_put *p, const char *path, struct node **out)
{
	struct node *cur = &p->root;

	while (*path) {
		size_t len = strcspn(path, "/");
		int rc = store_name_check(path, len);

		if (rc) {
			store_log(STORE_LOG_ERR, "invalid name in path '%s'",
				  path);
			return rc;
		}
		if (cur->e.kind != STORE_KIND_DIR) {
			store_log(STORE_LOG_ERR,
				  "'%s' is both a file and a directory",
				  cur->e.name);
			return -EEXIST;
		}
		cur = node_child(cur, path, len);
		if (!cur)
			return -ENOMEM;
		path += len;
		while (*path == '/')
			path++;
	}
	*out = cur;
	return 0;
}

int store_put_begin(struct store *s, const struct store_caller *c,
		    const char *artifact, store_progress_fn progress,
		    void *progress_arg, struct store_put **out)
{
	struct store_put *p;
	int rc = store_name_require(STORE_NAME_ENTITY, "artifact", artifact);

	if (rc)
		return rc;
	if (s->read_only)
		return store_ro_refuse(s);
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->s = s;
	p->caller = *c;
	p->src = local_source;
	strcpy(p->artifact, artifact);
	p->root.e.kind = STORE_KIND_DIR;
	p->root.e.mode = 0755;
	p->progress = progress;
	p->progress_arg = progress_arg;
	gate_share(&s->gc_gate);
	*out = p;
	return 0;
}

uint64_t store_put_bytes(const struct store_put *p)
{
	return p->bytes;
}

void put_set_root_mtime(struct store_put *p, int64_t mtime)
{
	p->root.mtime = mtime;
}

int put_add(struct store_put *p, const char *dest, enum store_kind kind,
	    uint32_t mode, const struct store_file *f, int64_t mtime)
{
	struct node *n;
	int rc = node_at(p, dest, &n);

	if (rc)
		return rc;
	if (n == &p->root && kind != STORE_KIND_DIR) {
		store_log(STORE_LOG_ERR, "a file needs a name in the version");
		return -EINVAL;
	}
	if (n->nkids && kind != STORE_KIND_DIR) {
		store_log(STORE_LOG_ERR, "'%s' is both a file and a directory",
			  dest);
		return -EEXIST;
	}
	n->e.kind = kind;
	n->e.mode = mode & 07777;
	n->mtime = mtime;
	if (f) {
		memcpy(n->e.digest, f->digest, STORE_DIGEST_LEN);
		n->e.size = f->size;
	}
	return 0;
}

int store_put_file(struct store_put *p, const char *dest,
		   const struct store_file *f, uint32_t mode)
{
	return put_add(p, dest, STORE_KIND_FILE, mode, f, 0);
}

int store_put_dir(struct store_put *p, const char *dest, uint32_t mode)
{
	return put_add(p, dest, STORE_KIND_DIR, mode, NULL, 0);
}

/* Streams the open fd through a writer, reading straight into its chunk
 * buffers. */
static int ingest_fd(struct store_put *p, int fd, const char *src,
		     struct store_file *f)
{
	struct store_writer *w;
	ssize_t n;
	int rc = store_writer_new(p->s, &w);

	if (rc)
		return rc;
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	for (;;) {
		size_t room;
		uint8_t *dst = store_writer_room(w, &room);

		n = read(fd, dst, room);
		if (n <= 0)
			break;
		rc = cancelled(p) ? -ECANCELED
				  : store_writer_wrote(w, (size_t)n);
		if (rc)
			break;
		p->bytes += (uint64_t)n;
		if (p->progress)
			p->progress(p->progress_arg, p->bytes, 0);
	}
	if (n < 0) {
		rc = -errno;
		store_log(STORE_LOG_ERR, "cannot read %s: %s", src,
			  strerror(errno));
	}
	if (rc) {
		store_writer_abort(w);
		return rc;
	}
	return store_writer_finish(w, f);
}

/* Opens src for put_any, refusing what is no longer of the kind lstat
 * saw (a file swapped for a FIFO meanwhile). */
static int open_kind(struct store_put *p, const char *src, int flags,
		     mode_t kind)
{
	struct stat st;
	int fd = p->src.open(p->src.arg, src, flags | O_NOFOLLOW | O_NONBLOCK);

	if (fd < 0) {
		store_log(STORE_LOG_ERR, "cannot open %s: %s", src,
			  strerror(-fd));
		return fd;
	}
	if (fstat(fd, &st) < 0 || (st.st_mode & S_IFMT) != kind) {
		close(fd);
		store_log(STORE_LOG_ERR, "%s changed while it was stored", src);
		return -EAGAIN;
	}
	/* Regular files and directories never block: reads may. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

static int64_t st_mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

static int put_regular(struct store_put *p, const char *src, const char *dest,
		       const struct stat *st)
{
	struct store_file f;
	int fd = open_kind(p, src, O_RDONLY, S_IFREG);
	int rc;

	if (fd < 0)
		return fd;
	rc = ingest_fd(p, fd, src, &f);
	close(fd);
	if (!rc)
		rc = put_add(p, dest, STORE_KIND_FILE, st->st_mode, &f,
			     st_mtime_ns(st));
	return rc;
}

static int put_symlink(struct store_put *p, const char *src, const char *dest,
		       const struct stat *st)
{
	char target[4096];
	struct store_writer *w;
	struct store_file f;
	ssize_t n = p->src.readlink(p->src.arg, src, target, sizeof(target));
	int rc;

	if (n < 0 || n == (ssize_t)sizeof(target)) {
		rc = n < 0 ? (int)n : -ENAMETOOLONG;
		store_log(STORE_LOG_ERR, "cannot read link %s: %s", src,
			  strerror(-rc));
		return rc;
	}
	rc = store_writer_new(p->s, &w);
	if (rc)
		return rc;
	rc = store_writer_write(w, target, (size_t)n);
	if (rc) {
		store_writer_abort(w);
		return rc;
	}
	rc = store_writer_finish(w, &f);
	if (!rc)
		rc = put_add(p, dest, STORE_KIND_SYMLINK, 0777, &f,
			     st_mtime_ns(st));
	return rc;
}

static int put_dir(struct store_put *p, const char *src, const char *dest,
		   const struct stat *st);

static int put_any(struct store_put *p, const char *src, const char *dest)
{
	struct stat st;
	int rc = p->src.lstat(p->src.arg, src, &st);

	if (rc) {
		store_log(STORE_LOG_ERR, "cannot read %s: %s", src,
			  strerror(-rc));
		return rc;
	}
	if (cancelled(p))
		return -ECANCELED;
	if (S_ISREG(st.st_mode))
		return put_regular(p, src, dest, &st);
	if (S_ISLNK(st.st_mode))
		return put_symlink(p, src, dest, &st);
	if (S_ISDIR(st.st_mode))
		return put_dir(p, src, dest, &st);
	store_log(STORE_LOG_ERR, "%s is a special file (not stored)", src);
	return -EINVAL;
}

/* Adds the entry nm of directory src (dest in the version). */
static int put_child(struct store_put *p, const char *src, const char *dest,
		     const char *nm)
{
	char *s2 = NULL, *d2 = NULL;
	int rc;

	if (asprintf(&s2, "%s/%s", src, nm) < 0 ||
	    asprintf(&d2, "%s%s%s", dest, *dest ? "/" : "", nm) < 0)
		rc = -ENOMEM;
	else
		rc = put_any(p, s2, d2);
	free(s2);
	free(d2);
	return rc;
}

static int put_dir(struct store_put *p, const char *src, const char *dest,
		   const struct stat *st)
{
	struct dirent *d;
	DIR *dir;
	int fd, rc;

	rc = put_add(p, dest, STORE_KIND_DIR, st->st_mode, NULL,
		     st_mtime_ns(st));
	if (rc)
		return rc;
	fd = open_kind(p, src, O_RDONLY | O_DIRECTORY, S_IFDIR);
	if (fd < 0)
		return fd;
	dir = fdopendir(fd);
	if (!dir) {
		rc = -errno;
		close(fd);
		return rc;
	}
	errno = 0;
	while (!rc && (d = readdir(dir))) {
		if (strcmp(d->d_name, ".") && strcmp(d->d_name, ".."))
			rc = put_child(p, src, dest, d->d_name);
		errno = 0;
	}
	if (!rc && errno) {
		rc = -errno;
		store_log(STORE_LOG_ERR, "cannot list %s: %s", src,
			  strerror(errno));
	}
	closedir(dir);
	return rc;
}

int store_put_path(struct store_put *p, const char *src, const char *dest)
{
	while (*dest == '/')
		dest++;
	return put_any(p, src, dest);
}

void store_put_abort(struct store_put *p)
{
	if (!p)
		return;
	node_free(&p->root);
	gate_unshare(&p->s->gc_gate);
	free(p);
}

/* ---------------------------------------------------------- staging */

static int kid_cmp(const void *a, const void *b)
{
	const struct node *x = *(struct node *const *)a;
	const struct node *y = *(struct node *const *)b;

	return strcmp(x->e.name, y->e.name);
}

/* Encodes n's listing (children first), fills its digest and stages the
 * listing object unless it is already stored. */
static int seal_dir(struct store_put *p, struct db_batch *b, struct node *n)
{
	struct dirlist d = {.n = n->nkids};
	int rc = 0;

	if (n->nkids > 1)
		qsort(n->kids, n->nkids, sizeof(*n->kids), kid_cmp);
	d.e = calloc(n->nkids ? n->nkids : 1, sizeof(*d.e));
	if (!d.e)
		return -ENOMEM;
	for (size_t i = 0; i < n->nkids && !rc; i++) {
		if (n->kids[i]->e.kind == STORE_KIND_DIR)
			rc = seal_dir(p, b, n->kids[i]);
		if (n->kids[i]->e.kind == STORE_KIND_FILE) {
			p->files++;
			p->size += n->kids[i]->e.size;
		}
		d.e[i] = n->kids[i]->e;
	}
	if (!rc)
		rc = dir_stage(b, &d, n->e.digest);
	free(d.e);
	if (!rc)
		n->e.size = n->nkids;
	return rc;
}

/* Stages the mtime of n (at path in the version) and of everything
 * below it beside version v: times stay out of the digests. */
static int stage_times(struct db_batch *b, const struct store_version *v,
		       const struct node *n, const char *path)
{
	int rc = 0;

	if (n->mtime)
		rc = times_stage(b, v->artifact, v->number, path, n->mtime);
	for (size_t i = 0; i < n->nkids && !rc; i++) {
		char *sub;

		if (asprintf(&sub, "%s%s%s", path, *path ? "/" : "",
			     n->kids[i]->e.name) < 0)
			return -ENOMEM;
		rc = stage_times(b, v, n->kids[i], sub);
		free(sub);
	}
	return rc;
}

int put_stage(struct store_put *p, struct db_batch *b, struct store_stats *st,
	      const struct store_version_meta *m, struct store_version *out)
{
	struct store_version v = {0};
	int rc;

	p->size = p->files = 0;
	rc = seal_dir(p, b, &p->root);

	if (rc)
		return rc;
	strcpy(v.artifact, p->artifact);
	memcpy(v.digest, p->root.e.digest, STORE_DIGEST_LEN);
	v.created = m && m->created ? m->created : now_ns();
	v.size = p->size;
	v.files = p->files;
	if (m && m->run)
		snprintf(v.run, sizeof(v.run), "%s%s%s", m->run,
			 p->step[0] ? "/" : "", p->step);
	rc = ref_entry(p->s, b, st, STORE_KIND_DIR, v.digest);
	if (!rc)
		rc = version_stage(p->s, b, st, &v);
	if (!rc)
		rc = stage_times(b, &v, &p->root, "");
	if (!rc && out)
		*out = v;
	return rc;
}

int store_put_commit(struct store_put *p, const struct store_version_meta *m,
		     struct store_version *out)
{
	struct store *s = p->s;
	struct store_stats st;
	struct store_version v;
	struct commit t;
	int rc = commit_begin(s, &p->caller, &t);

	if (rc)
		goto out_abort;
	rc = db_flush_chunks(s->db);
	if (!rc)
		rc = stats_load(t.b, &st);
	if (!rc)
		rc = put_stage(p, t.b, &st, m, &v);
	if (!rc) {
		stats_save(t.b, &st);
		commit_note(&t, "version.create", v.digest, "/artifacts/%s/v%u",
			    p->artifact, v.number);
	}
	/* Committed chunks now have refcounts; after a failure, forget
	 * what was pending so nothing is trusted that a failed flush lost. */
	chunk_set_clear(s->pending);
	rc = commit_end(&t, rc);
	if (!rc && out)
		*out = v;
out_abort:
	store_put_abort(p);
	return rc;
}
