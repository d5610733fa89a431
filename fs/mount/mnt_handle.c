/*
 * mnt_handle.c - FUSE operations on open files: open, read, write, flush,
 * fsync and release, for the store's content, the generated texts
 * (run.json, trace.jsonl, control, audit days, secrets) and the files
 * being written in open runs' outputs.  Anything sealed answers EROFS.
 *
 * Roles decide (mnt_acl.c): reading asks for the reader role; writing,
 * mnt_writable.  Opens and closes are journaled, refusals too.
 */
#include "acl.h"
#include "mnt_i.h"

#include <errno.h>
#include <jansson.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The record of an open: who opened what (the digest of sealed content),
 * for reading or writing.  Returns whether the record was written. */
static int journal_open(struct mnt *m, const struct store_caller *c,
			const struct mnt_node *n, int flags, int rc)
{
	char digest[STORE_DIGEST_STR_LEN] = "";

	if (rc == -EACCES || rc == -EPERM || rc == -EROFS) {
		acl_journal_denial(m->s, c,
				   (flags & O_ACCMODE) == O_RDONLY
				       ? "open.read"
				       : "open.write",
				   n->path, rc);
		return 0;
	}
	if (n->kind == MK_SEALED || n->kind == MK_OUT || n->kind == MK_ENV_FILE)
		store_digest_format(n->e.digest, digest);
	return store_audit_record(
	    m->s, c,
	    (flags & O_ACCMODE) == O_RDONLY ? "open.read" : "open.write",
	    n->path, digest, 0, rc);
}

static struct mnt *M(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static struct mnt_fh *FH(struct fuse_file_info *fi)
{
	return (struct mnt_fh *)(uintptr_t)fi->fh;
}

/* May the caller change things in n (an open run's node)?  A writer
 * there changes its own runs; ending someone else's run (the control
 * file) needs a promoter, anything else of theirs an admin. */
int mnt_writable(struct mnt *m, struct mnt_node *n, struct mnt_node *snap,
		 fuse_req_t req)
{
	struct store_caller c;
	struct mnt_node own = {0}, *f = snap ? snap : &own;
	int rc = snap ? 0 : mnt_node_snap(m, n, &own);

	if (!rc)
		rc = mnt_refresh(m, n, f);
	if (rc) {
		/* nothing to decide */
	} else if (f->kind == MK_ARTIFACT || f->kind == MK_ALIAS ||
		   mnt_node_frozen(f)) {
		rc = -EROFS;
	} else if (strncmp(f->path, "//gone/", 7)) {
		mnt_caller(req, m, &c);
		rc = acl_decide_run(m->s, &c, f->uid, f->kind == MK_CONTROL,
				    f->path);
		/* A path the bindings cannot name is no one's (mnt_allowed). */
		if (rc == -EINVAL)
			rc = -EACCES;
	} /* else reached through a handle its opener was allowed */
	mnt_node_parse_release(&own);
	return rc;
}

static pthread_mutex_t fh_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mnt_fh *fh_live;

struct mnt_fh *mnt_fh_new(enum mnt_fh_kind kind, struct mnt_node *n)
{
	struct mnt_fh *h = calloc(1, sizeof(*h));

	if (h) {
		h->kind = kind;
		h->n = n;
		pthread_mutex_init(&h->lock, NULL);
		pthread_mutex_lock(&fh_lock);
		h->next = fh_live;
		if (fh_live)
			fh_live->prev = h;
		fh_live = h;
		pthread_mutex_unlock(&fh_lock);
	}
	return h;
}

void mnt_fh_free_all(void)
{
	size_t n = 0;

	while (fh_live) {
		mnt_fh_free(fh_live);
		n++;
	}
	if (n)
		store_log(STORE_LOG_DEBUG,
			  "%zu handle%s never released before the unmount", n,
			  n > 1 ? "s" : "");
}

void mnt_fh_free(struct mnt_fh *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&fh_lock);
	if (h->prev)
		h->prev->next = h->next;
	else
		fh_live = h->next;
	if (h->next)
		h->next->prev = h->prev;
	pthread_mutex_unlock(&fh_lock);
	store_reader_close(h->r);
	mnt_file_close(h->wf);
	if (h->text && h->n->kind == MK_SECRET)
		explicit_bzero(h->text, h->len); /* no value left in the heap */
	free(h->text);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

static int control_text(struct mnt *m, const struct mnt_node *n, char **out,
			size_t *len)
{
	static const char *const status[] = {"", "open", "sealed", "failed"};
	struct store_run r;
	int rc = store_run_get(m->s, n->c[C_PIPELINE], n->c[C_RUN], &r);

	if (rc)
		return rc;
	if (asprintf(out, "%s\n", status[r.status]) < 0)
		return -ENOMEM;
	*len = strlen(*out);
	return 0;
}

struct text {
	char *p;
	size_t len, cap;
};

static int text_line(void *arg, uint64_t seq, const char *line, size_t len)
{
	struct text *t = arg;

	(void)seq;
	if (t->len + len + 2 > t->cap) {
		size_t cap = (t->cap ? 2 * t->cap : 4096) + len;
		char *p = realloc(t->p, cap);

		if (!p)
			return -ENOMEM;
		t->p = p;
		t->cap = cap;
	}
	memcpy(t->p + t->len, line, len);
	t->len += len;
	t->p[t->len++] = '\n';
	t->p[t->len] = '\0';
	return 0;
}

/* A step's trace as the text of trace.jsonl. */
static int trace_text(struct mnt *m, const struct mnt_node *n, char **out,
		      size_t *len)
{
	struct text t = {0};
	int rc = store_trace_each(m->s, n->c[C_PIPELINE], n->c[C_RUN],
				  n->c[C_STEP], text_line, &t);

	if (rc) {
		free(t.p);
		return rc;
	}
	*out = t.p ? t.p : strdup("");
	*len = t.len;
	return *out ? 0 : -ENOMEM;
}

/* Appends the whole lines of buf to n's trace, each checked to be one
 * JSON object; a malformed line is refused (EINVAL) and nothing of it is
 * stored.  A line must arrive whole in one write. */
static int trace_write(struct mnt *m, const struct store_caller *c,
		       struct mnt_node *n, const char *buf, size_t size)
{
	const char *p = buf, *end = buf + size;

	if (size == 0 || buf[size - 1] != '\n')
		return -EINVAL;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		json_error_t jerr;
		json_t *j = json_loadb(p, (size_t)(nl - p), 0, &jerr);
		bool ok = json_is_object(j);
		char *clean = NULL;
		size_t len = 0;
		int rc;

		json_decref(j);
		if (!ok) {
			store_log(STORE_LOG_WARNING,
				  "%s: not a JSON object line: %s", n->path,
				  jerr.text);
			return -EINVAL;
		}
		/* A secret's value never reaches the store. */
		rc = acl_redact(m->s, p, (size_t)(nl - p), &clean, &len, NULL);
		if (!rc)
			rc = store_trace_append(m->s, c, n->c[C_PIPELINE],
						n->c[C_RUN], n->c[C_STEP],
						clean, len, NULL);
		free(clean);
		if (rc)
			return rc;
		p = nl + 1;
	}
	return 0;
}

/* The journal of one day (open checked the auditor role). */
static int audit_day(struct mnt *m, const struct mnt_node *n, char **out,
		     size_t *len)
{
	char day[11];

	snprintf(day, sizeof(day), "%.10s", strrchr(n->path, '/') + 1);
	return mnt_audit_text(m, day, out, len);
}

/* A secret's value (open checked the caller's role on it). */
static int secret_text(const struct mnt_node *n, struct mnt *m, char **out,
		       size_t *len)
{
	uint8_t *val = NULL;
	int rc = acl_secret_read(m->s, strrchr(n->path, '/') + 1, 0, &val, len,
				 NULL);

	if (rc)
		return rc;
	*out = malloc(*len + 1);
	if (*out) {
		memcpy(*out, val, *len);
		(*out)[*len] = '\0';
	}
	explicit_bzero(val, *len);
	free(val);
	return *out ? 0 : -ENOMEM;
}

/* Opens what node is for reading or writing into *out; n is its copy
 * (mnt_node_snap), read for what it is. */
static int open_snap(fuse_req_t req, struct mnt *m, struct mnt_node *node,
		     const struct mnt_node *n, int flags,
		     struct fuse_file_info *fi, struct mnt_fh **out)
{
	bool wr = (flags & O_ACCMODE) != O_RDONLY;
	struct mnt_fh *h = NULL;
	int rc = 0;

	if (n->e.kind == STORE_KIND_DIR)
		return -EISDIR;
	/* Reading asks for the reader role (the auditor's under /audit, a
	 * binding on the secret under /secrets); writing, mnt_writable(). */
	if (!wr && (rc = mnt_allowed(req, m, ACL_READ, n->path)))
		return rc;
	if (wr && n->kind == MK_TRACE) {
		rc = mnt_writable(m, node, NULL, req);
		/* Append-only, even for the owner: no truncation, no
		 * writes anywhere but at the end. */
		if (!rc && (!(flags & O_APPEND) || (flags & O_TRUNC)))
			rc = -EPERM;
		if (rc)
			return rc;
		h = mnt_fh_new(FH_TRACE, node);
		fi->direct_io = 1;
	} else if (wr && (n->kind == MK_OUT || n->kind == MK_CONTROL)) {
		rc = mnt_writable(m, node, NULL, req);
		if (rc)
			return rc;
		h = mnt_fh_new(n->kind == MK_OUT ? FH_WRITE : FH_CONTROL, node);
		if (h && n->kind == MK_OUT)
			rc = mnt_file_open(m, node, flags & O_TRUNC, &h->wf);
		if (h && !rc && (flags & O_TRUNC))
			mnt_link_changed(m, node);
		if (h)
			h->append = flags & O_APPEND;
		fi->direct_io = n->kind == MK_CONTROL;
	} else if (wr) {
		return mnt_node_frozen(n) ? -EROFS : -EACCES;
	} else if (n->kind == MK_OUT && !n->sealed) {
		/* In an open run every handle reads the file's one open-file
		 * object, so it sees each write whichever handle made it;
		 * and the kernel keeps none of its pages from before. */
		h = mnt_fh_new(FH_READ, node);
		rc = h ? mnt_file_open(m, node, false, &h->wf) : 0;
	} else if (n->kind == MK_SEALED || n->kind == MK_OUT ||
		   n->kind == MK_ENV_FILE) {
		if (n->kind == MK_SEALED) {
			struct store_caller c;

			/* Lineage: a bound session read this version. */
			mnt_caller(req, m, &c);
			fs_session_read(m->s, &c, n->c[C_ARTIFACT], n->version);
		}
		h = mnt_fh_new(FH_READ, node);
		if (h)
			rc = store_reader_open(m->s, n->e.digest, &h->r);
		fi->keep_cache = n->kind == MK_SEALED;
	} else {
		h = mnt_fh_new(FH_TEXT, node);
		if (h && n->kind == MK_RUN_JSON)
			rc = mnt_run_json(m, n, &h->text, &h->len);
		else if (h && n->kind == MK_TRACE)
			rc = trace_text(m, n, &h->text, &h->len);
		else if (h && n->kind == MK_AUDIT_DAY)
			rc = audit_day(m, n, &h->text, &h->len);
		else if (h && n->kind == MK_SECRET)
			rc = secret_text(n, m, &h->text, &h->len);
		else if (h && n->kind == MK_CONTROL)
			rc = control_text(m, n, &h->text, &h->len);
		fi->direct_io = 1;
	}
	if (!h)
		return -ENOMEM;
	if (rc) {
		mnt_fh_free(h);
		return rc;
	}
	*out = h;
	return 0;
}

int mnt_open_node(fuse_req_t req, struct mnt *m, struct mnt_node *n, int flags,
		  struct fuse_file_info *fi, struct mnt_fh **out)
{
	struct mnt_node snap;
	int rc = mnt_node_snap(m, n, &snap);

	if (rc)
		return rc;
	rc = open_snap(req, m, n, &snap, flags, fi, out);
	mnt_node_parse_release(&snap);
	return rc;
}

void mnt_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct mnt *m = M(req);
	struct mnt_node *n, s;
	struct store_caller c;
	struct mnt_fh *h;
	int rc = mnt_node_take(m, ino, &n, &s);

	if (!rc)
		rc = mnt_refresh(m, n, &s);
	mnt_caller(req, m, &c);
	if (!rc)
		rc = open_snap(req, m, n, &s, fi->flags, fi, &h);
	/* Nor is a record tried after the cluster timed out: it would wait
	 * out a deadline of its own. */
	if (s.path && rc != -ESTALE && rc != -ENOENT && rc != -ETIMEDOUT) {
		int jr = journal_open(m, &c, &s, fi->flags, rc);

		/* The cluster of a store in RADOS did not answer in time:
		 * no open goes unrecorded (its pages may be in the kernel,
		 * readable with no request of ours), and the open fails now,
		 * not after a second deadline at its first read. */
		if (!rc && jr == -ETIMEDOUT) {
			mnt_fh_free(h);
			rc = jr;
		}
	}
	mnt_node_parse_release(&s);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	h->caller = c;
	fi->fh = (uintptr_t)h;
	/* The opener was interrupted: no release will come for it. */
	if (fuse_reply_open(req, fi) == -ENOENT)
		mnt_fh_free(h);
}

/* Replies straight from the store's decoded chunks: one copy less than
 * through a buffer of ours, and no buffer to allocate.  The chunks stay
 * pinned in a view of our own until the reply is sent, and h is not
 * touched after its lock is dropped: once a read is answered, the
 * kernel may release h at any moment.  -E2BIG (nothing replied) when
 * the range spans too many chunks. */
static ssize_t read_view(fuse_req_t req, struct mnt_fh *h, size_t size,
			 off_t off)
{
	struct iovec iov[STORE_READER_VIEW_MAX];
	struct store_view v;
	int niov = 0;
	ssize_t n;

	pthread_mutex_lock(&h->lock);
	n = store_reader_view(h->r, size, (uint64_t)off, iov,
			      STORE_READER_VIEW_MAX, &niov, &v);
	if (n > 0) {
		h->nreads++;
		h->rbytes += (uint64_t)n;
	}
	pthread_mutex_unlock(&h->lock);
	if (n == -E2BIG)
		return n;
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else if (niov == 0)
		fuse_reply_buf(req, NULL, 0);
	else
		fuse_reply_iov(req, iov, niov);
	if (n >= 0)
		store_view_release(&v);
	return n;
}

void mnt_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		 struct fuse_file_info *fi)
{
	struct mnt_fh *h = FH(fi);
	char *buf;
	ssize_t n = 0;

	(void)ino;
	if (!h->wf && h->kind == FH_READ) {
		n = read_view(req, h, size, off);
		if (n != -E2BIG)
			return;
		n = 0;
	}
	buf = malloc(size ? size : 1);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pthread_mutex_lock(&h->lock);
	if (h->wf) /* a file of an open run, FH_WRITE or FH_READ */
		n = mnt_file_read(h->wf, buf, size, off);
	else if (h->kind == FH_READ)
		n = store_reader_pread(h->r, buf, size, (uint64_t)off);
	else if (h->text && (size_t)off < h->len)
		memcpy(buf, h->text + off,
		       n = (ssize_t)(h->len - (size_t)off < size
					 ? h->len - (size_t)off
					 : size));
	if (n > 0) {
		h->nreads++;
		h->rbytes += (uint64_t)n;
	}
	pthread_mutex_unlock(&h->lock);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

/* Acts on "seal" or "fail" written to a run's control file. */
static int control_write(struct mnt *m, const struct store_caller *c,
			 struct mnt_node *n, const char *buf, size_t size)
{
	char cmd[16];
	size_t len = size < sizeof(cmd) - 1 ? size : sizeof(cmd) - 1;
	int rc;

	memcpy(cmd, buf, len);
	cmd[len] = '\0';
	cmd[strcspn(cmd, " \t\r\n")] = '\0';
	if (!strcmp(cmd, "seal")) {
		/* A writer that has not closed or fsync'd keeps the run
		 * open: half a file is never published. */
		rc = mnt_run_busy(m, n->c[C_PIPELINE], n->c[C_RUN]);
		if (!rc)
			rc = store_run_seal(m->s, c, n->c[C_PIPELINE],
					    n->c[C_RUN]);
	} else if (!strcmp(cmd, "fail")) {
		rc = store_run_end(m->s, c, n->c[C_PIPELINE], n->c[C_RUN],
				   STORE_RUN_FAILED, NULL, 0);
	} else {
		store_log(STORE_LOG_WARNING,
			  "%s: write 'seal' or 'fail' to the control file",
			  n->path);
		return -EINVAL;
	}
	if (!rc)
		store_log(STORE_LOG_INFO, "run %s/%s %s", n->c[C_PIPELINE],
			  n->c[C_RUN], cmd[0] == 's' ? "sealed" : "failed");
	if (!rc && cmd[0] == 's')
		mnt_aliases_changed(m);
	if (!rc)
		fs_session_unbind_run(n->c[C_PIPELINE], n->c[C_RUN]);
	return rc;
}

/* A write through handle h of a file with other names: the kernel's
 * caches of those names' inodes go.  And an append may have gone past
 * the end this inode knew (another name moved it): its size is stale,
 * told before the reply so that no later request of the writer races
 * with it.  When the kernel's offset (off) was not where the bytes went
 * (at), it copied them into its pages at the wrong place: *pages_out. */
static ssize_t write_out(struct mnt *m, struct mnt_fh *h, fuse_ino_t ino,
			 const char *buf, size_t size, off_t off,
			 bool *pages_out)
{
	off_t at = off;
	ssize_t rc =
	    mnt_file_write(h->wf, buf, size, h->append ? -1 : off, &at);

	if (rc <= 0)
		return rc;
	mnt_link_changed(m, h->n);
	if (h->append && mnt_link_of(m, h->n)) {
		fuse_lowlevel_notify_inval_inode(m->se, ino, -1, 0);
		*pages_out = at != off;
		if (*pages_out)
			mnt_pages_begin(m, h->n);
	}
	return rc;
}

void mnt_op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
		  off_t off, struct fuse_file_info *fi)
{
	struct mnt_fh *h = FH(fi);
	struct mnt *m = M(req);
	struct mnt_node s;
	bool stale = false;
	ssize_t rc;

	/* What it changes is the opener's (h->caller). */
	if (h->kind == FH_CONTROL || h->kind == FH_TRACE) {
		rc = mnt_node_snap(M(req), h->n, &s);
		if (!rc)
			rc = h->kind == FH_CONTROL
				 ? control_write(M(req), &h->caller, &s, buf,
						 size)
				 : trace_write(M(req), &h->caller, &s, buf,
					       size);
		mnt_node_parse_release(&s);
		rc = rc ? rc : (ssize_t)size;
	} else if (h->kind == FH_WRITE) {
		rc = write_out(m, h, ino, buf, size, off, &stale);
	} else {
		rc = -EBADF;
	}
	if (rc > 0) {
		pthread_mutex_lock(&h->lock);
		h->nwrites++;
		h->wbytes += (uint64_t)rc;
		pthread_mutex_unlock(&h->lock);
	}
	if (rc < 0) {
		fuse_reply_err(req, (int)-rc);
		return;
	}
	/* Pages go only after the reply, which unlocks those the write
	 * holds (and after which neither req nor h may be used). */
	fuse_reply_write(req, (size_t)rc);
	if (stale) {
		fuse_lowlevel_notify_inval_inode(m->se, ino, 0, 0);
		mnt_pages_end(m, ino);
	}
}

/* Commits what h wrote, as its opener; also (may be NULL) rides with the
 * commit, *rode (may be NULL) says whether it did. */
static int commit(struct mnt_fh *h, bool sync,
		  const struct store_audit_note *also, bool *rode)
{
	if (rode)
		*rode = false;
	return h->kind == FH_WRITE
		   ? mnt_file_commit(h->wf, &h->caller, sync, also, rode)
		   : 0;
}

/* The handle's close record: op (64 bytes) and bytes. */
static uint64_t close_op(struct mnt_fh *h, char *op)
{
	snprintf(op, 64, "close reads=%llu writes=%llu",
		 (unsigned long long)h->nreads, (unsigned long long)h->nwrites);
	return h->rbytes + h->wbytes;
}

/* Whether the close record already written holds h's totals. */
static bool close_journaled(const struct mnt_fh *h)
{
	return h->closed && h->c_reads == h->nreads &&
	       h->c_writes == h->nwrites && h->c_bytes == h->rbytes + h->wbytes;
}

void mnt_op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct mnt_fh *h = FH(fi);
	struct store_audit_note note;
	bool rode;
	char op[64], *path;
	int rc;

	(void)ino;
	if (h->kind != FH_WRITE) {
		fuse_reply_err(req, -commit(h, false, NULL, NULL));
		return;
	}
	/* close(2) of a file written: most often the last one, so the
	 * handle's close record rides with this commit (one write to the
	 * store per file, not two); release adds one only if more I/O
	 * came after. */
	pthread_mutex_lock(&h->lock);
	h->c_bytes = close_op(h, op);
	h->c_reads = h->nreads;
	h->c_writes = h->nwrites;
	pthread_mutex_unlock(&h->lock);
	path = mnt_node_path(M(req), h->n);
	note = (struct store_audit_note){op, path ? path : "?", h->c_bytes};
	rc = commit(h, false, &note, &rode);
	free(path);
	h->closed = !rc && rode;
	fuse_reply_err(req, -rc);
}

void mnt_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		  struct fuse_file_info *fi)
{
	(void)ino;
	(void)datasync;
	fuse_reply_err(req, -commit(FH(fi), true, NULL, NULL));
}

void mnt_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct mnt_fh *h = FH(fi);
	struct mnt *m = M(req);
	char op[64], *path = mnt_node_path(m, h->n);
	const char *at = path ? path : "?";
	int rc;

	(void)ino;
	/* One record per handle: how many reads and writes, how many bytes
	 * (read plus written), as the opener; it rides with the commit of
	 * what the handle wrote when there is one. */
	if (close_journaled(h)) {
		/* nothing new: no record either */
		rc = commit(h, false, NULL, NULL);
	} else {
		uint64_t bytes = close_op(h, op);
		struct store_audit_note note = {op, at, bytes};
		bool rode;

		rc = commit(h, false, &note, &rode);
		if (!rode)
			store_audit_record(m->s, &h->caller, op, at, NULL,
					   bytes, -rc);
	}
	if (rc)
		store_log(STORE_LOG_ERR, "%s: not committed at close: %s", at,
			  strerror(-rc));
	free(path);
	mnt_fh_free(h);
	fuse_reply_err(req, 0);
}
