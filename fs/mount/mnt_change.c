/*
 * mnt_change.c - FUSE operations that open files or change the tree:
 * pipelines, runs and steps by mkdir; files in open runs' outputs by
 * create, write, rename, unlink; sealing by writing "seal" to a run's
 * control file.  Anything sealed answers EROFS (EPERM for metadata).
 *
 * Roles decide (mnt_acl.c): a writer on a path opens pipelines, runs and
 * steps there and changes the runs it owns; a promoter also seals or
 * fails others' runs; an admin changes anything.  Refusals are journaled
 * by the operation that was refused.
 */
#include "acl.h"
#include "mnt_i.h"

#include <errno.h>
#include <jansson.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum fh_kind { FH_READ = 1, FH_TEXT, FH_WRITE, FH_CONTROL, FH_TRACE };

struct fh {
	enum fh_kind kind;
	pthread_mutex_t lock;
	struct mnt_node *n;
	struct store_reader *r; /* FH_READ */
	char *text;		/* FH_TEXT */
	size_t len;
	struct mnt_file *wf; /* FH_WRITE */
	/* For the journal's record at release (under lock). */
	uint64_t nreads, nwrites, rbytes, wbytes;
	/* Who opened it: what it writes, and its close, are theirs. */
	struct store_caller caller;
	/* The totals a close record already carried (it rode with the
	 * commit of the last flush); release adds none unless they moved. */
	bool closed;
	uint64_t c_reads, c_writes, c_bytes;
};

/* Journals an operation on node n (and name below it, or NULL) that was
 * refused; anything else is journaled by the change itself. */
static void journal_denied(fuse_req_t req, struct mnt *m, const char *op,
			   const struct mnt_node *n, const char *name, int rc)
{
	struct store_caller c;
	char path[4352];

	if (rc != -EACCES && rc != -EPERM && rc != -EROFS)
		return;
	snprintf(path, sizeof(path), "%s%s%s",
		 n && strcmp(n->path, "/") ? n->path : "",
		 name || !n ? "/" : "", name ? name : "");
	mnt_caller(req, m, &c);
	acl_journal_denial(m->s, &c, op, path, rc);
}

/* The record of an open: who opened what (the digest of sealed content),
 * for reading or writing. */
static void journal_open(struct mnt *m, const struct store_caller *c,
			 const struct mnt_node *n, int flags, int rc)
{
	char digest[STORE_DIGEST_STR_LEN] = "";

	if (rc == -EACCES || rc == -EPERM || rc == -EROFS) {
		acl_journal_denial(m->s, c,
				   (flags & O_ACCMODE) == O_RDONLY
				       ? "open.read"
				       : "open.write",
				   n->path, rc);
		return;
	}
	if (n->kind == MK_SEALED || n->kind == MK_OUT)
		store_digest_format(n->e.digest, digest);
	store_audit_record(m->s, c,
			   (flags & O_ACCMODE) == O_RDONLY ? "open.read"
							   : "open.write",
			   n->path, digest, 0, rc);
}

static struct mnt *M(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static struct fh *FH(struct fuse_file_info *fi)
{
	return (struct fh *)(uintptr_t)fi->fh;
}

/* May the caller change things in n (an open run's node)?  A writer
 * there changes its own runs; ending someone else's run (the control
 * file) needs a promoter, anything else of theirs an admin. */
static int writable(struct mnt *m, struct mnt_node *n, fuse_req_t req)
{
	struct store_caller c;
	int rc = mnt_refresh(m, n);

	if (rc)
		return rc;
	if (n->kind == MK_SEALED || n->kind == MK_ARTIFACT ||
	    n->kind == MK_ALIAS || n->sealed)
		return -EROFS;
	if (!strncmp(n->path, "//gone/", 7))
		return 0; /* reached through a handle its opener was allowed */
	mnt_caller(req, m, &c);
	rc = acl_decide_run(m->s, &c, n->uid, n->kind == MK_CONTROL, n->path);
	/* A path the bindings cannot name is no one's (mnt_allowed). */
	return rc == -EINVAL ? -EACCES : rc;
}

static int out_path(const struct mnt_node *dir, const char *name, char *buf,
		    size_t size)
{
	int n = snprintf(buf, size, "%s%s%s", dir->tail, *dir->tail ? "/" : "",
			 name);

	if (strlen(name) > STORE_NAME_MAX)
		return -ENAMETOOLONG;
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static struct fh *fh_new(enum fh_kind kind, struct mnt_node *n)
{
	struct fh *h = calloc(1, sizeof(*h));

	if (h) {
		h->kind = kind;
		h->n = n;
		pthread_mutex_init(&h->lock, NULL);
	}
	return h;
}

static void fh_free(struct fh *h)
{
	if (!h)
		return;
	store_reader_close(h->r);
	mnt_file_close(h->wf);
	if (h->text && h->n->kind == MK_SECRET)
		explicit_bzero(h->text, h->len); /* no value left in the heap */
	free(h->text);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

static int control_text(struct mnt *m, struct mnt_node *n, char **out,
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
static int trace_text(struct mnt *m, struct mnt_node *n, char **out,
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
		int rc;

		json_decref(j);
		if (!ok) {
			store_log(STORE_LOG_WARNING,
				  "%s: not a JSON object line: %s", n->path,
				  jerr.text);
			return -EINVAL;
		}
		rc =
		    store_trace_append(m->s, c, n->c[C_PIPELINE], n->c[C_RUN],
				       n->c[C_STEP], p, (size_t)(nl - p), NULL);
		if (rc)
			return rc;
		p = nl + 1;
	}
	return 0;
}

/* The journal of one day (open checked the auditor role). */
static int audit_day(struct mnt *m, struct mnt_node *n, char **out, size_t *len)
{
	char day[11];

	snprintf(day, sizeof(day), "%.10s", strrchr(n->path, '/') + 1);
	return mnt_audit_text(m, day, out, len);
}

/* A secret's value (open checked the caller's role on it). */
static int secret_text(struct mnt_node *n, struct mnt *m, char **out,
		       size_t *len)
{
	uint8_t *val = NULL;
	int rc = acl_secret_read(m->s, strrchr(n->path, '/') + 1, &val, len);

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

/* Opens what n is for reading or writing into *out. */
static int open_node(fuse_req_t req, struct mnt *m, struct mnt_node *n,
		     int flags, struct fuse_file_info *fi, struct fh **out)
{
	bool wr = (flags & O_ACCMODE) != O_RDONLY;
	struct fh *h = NULL;
	int rc = 0;

	if (n->e.kind == STORE_KIND_DIR)
		return -EISDIR;
	/* Reading asks for the reader role (the auditor's under /audit, a
	 * binding on the secret under /secrets); writing, writable(). */
	if (!wr && (rc = mnt_allowed(req, m, ACL_READ, n->path)))
		return rc;
	if (wr && n->kind == MK_TRACE) {
		rc = writable(m, n, req);
		/* Append-only, even for the owner: no truncation, no
		 * writes anywhere but at the end. */
		if (!rc && (!(flags & O_APPEND) || (flags & O_TRUNC)))
			rc = -EPERM;
		if (rc)
			return rc;
		h = fh_new(FH_TRACE, n);
		fi->direct_io = 1;
	} else if (wr && (n->kind == MK_OUT || n->kind == MK_CONTROL)) {
		rc = writable(m, n, req);
		if (rc)
			return rc;
		h = fh_new(n->kind == MK_OUT ? FH_WRITE : FH_CONTROL, n);
		if (h && n->kind == MK_OUT)
			rc = mnt_file_open(m, n, flags & O_TRUNC, &h->wf);
		fi->direct_io = n->kind == MK_CONTROL;
	} else if (wr) {
		return n->kind == MK_SEALED || n->sealed ? -EROFS : -EACCES;
	} else if (n->kind == MK_OUT && (h = fh_new(FH_WRITE, n)) &&
		   (h->wf = mnt_file_find(m, n))) {
		/* Being written: read what the writers wrote so far. */
	} else if (n->kind == MK_SEALED || n->kind == MK_OUT) {
		if (n->kind == MK_SEALED) {
			struct store_caller c;

			/* Lineage: a bound session read this version. */
			mnt_caller(req, m, &c);
			fs_session_read(m->s, &c, n->c[C_ARTIFACT], n->version);
		}
		if (!h)
			h = fh_new(FH_READ, n);
		if (h) {
			h->kind = FH_READ;
			rc = store_reader_open(m->s, n->e.digest, &h->r);
		}
		fi->keep_cache = n->kind == MK_SEALED;
	} else {
		h = fh_new(FH_TEXT, n);
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
		fh_free(h);
		return rc;
	}
	*out = h;
	return 0;
}

void mnt_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct mnt *m = M(req);
	struct mnt_node *n = mnt_node_get(m, ino);
	struct store_caller c;
	struct fh *h;
	int rc = n ? mnt_refresh(m, n) : -ESTALE;

	mnt_caller(req, m, &c);
	if (!rc)
		rc = open_node(req, m, n, fi->flags, fi, &h);
	if (n && rc != -ESTALE && rc != -ENOENT)
		journal_open(m, &c, n, fi->flags, rc);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	h->caller = c;
	fi->fh = (uintptr_t)h;
	fuse_reply_open(req, fi);
}

void mnt_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		 struct fuse_file_info *fi)
{
	struct fh *h = FH(fi);
	char *buf = malloc(size ? size : 1);
	ssize_t n = 0;

	(void)ino;
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pthread_mutex_lock(&h->lock);
	if (h->kind == FH_READ)
		n = store_reader_pread(h->r, buf, size, (uint64_t)off);
	else if (h->kind == FH_WRITE)
		n = mnt_file_read(h->wf, buf, size, off);
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
	if (!strcmp(cmd, "seal"))
		rc = store_run_seal(m->s, c, n->c[C_PIPELINE], n->c[C_RUN]);
	else if (!strcmp(cmd, "fail"))
		rc = store_run_end(m->s, c, n->c[C_PIPELINE], n->c[C_RUN],
				   STORE_RUN_FAILED, NULL, 0);
	else {
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

void mnt_op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
		  off_t off, struct fuse_file_info *fi)
{
	struct fh *h = FH(fi);
	ssize_t rc;

	(void)ino;
	/* What it changes is the opener's (h->caller). */
	if (h->kind == FH_CONTROL) {
		rc = control_write(M(req), &h->caller, h->n, buf, size);
		rc = rc ? rc : (ssize_t)size;
	} else if (h->kind == FH_TRACE) {
		rc = trace_write(M(req), &h->caller, h->n, buf, size);
		rc = rc ? rc : (ssize_t)size;
	} else if (h->kind == FH_WRITE) {
		rc = mnt_file_write(h->wf, buf, size, off);
	} else {
		rc = -EBADF;
	}
	if (rc > 0) {
		pthread_mutex_lock(&h->lock);
		h->nwrites++;
		h->wbytes += (uint64_t)rc;
		pthread_mutex_unlock(&h->lock);
	}
	if (rc < 0)
		fuse_reply_err(req, (int)-rc);
	else
		fuse_reply_write(req, (size_t)rc);
}

/* Commits what h wrote, as its opener; also (may be NULL) rides with the
 * commit, *rode (may be NULL) says whether it did. */
static int commit(struct fh *h, bool sync, const struct store_audit_note *also,
		  bool *rode)
{
	if (rode)
		*rode = false;
	return h->kind == FH_WRITE
		   ? mnt_file_commit(h->wf, &h->caller, sync, also, rode)
		   : 0;
}

/* The handle's close record: op (64 bytes) and bytes. */
static uint64_t close_op(struct fh *h, char *op)
{
	snprintf(op, 64, "close reads=%llu writes=%llu",
		 (unsigned long long)h->nreads, (unsigned long long)h->nwrites);
	return h->rbytes + h->wbytes;
}

/* Whether the close record already written holds h's totals. */
static bool close_journaled(const struct fh *h)
{
	return h->closed && h->c_reads == h->nreads &&
	       h->c_writes == h->nwrites && h->c_bytes == h->rbytes + h->wbytes;
}

void mnt_op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fh *h = FH(fi);
	struct store_audit_note note;
	bool rode;
	char op[64];
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
	note = (struct store_audit_note){op, h->n->path, h->c_bytes};
	rc = commit(h, false, &note, &rode);
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
	struct fh *h = FH(fi);
	struct mnt *m = M(req);
	char op[64];
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
		struct store_audit_note note = {op, h->n->path, bytes};
		bool rode;

		rc = commit(h, false, &note, &rode);
		if (!rode)
			store_audit_record(m->s, &h->caller, op, h->n->path,
					   NULL, bytes, -rc);
	}
	if (rc)
		store_log(STORE_LOG_ERR, "%s: not committed at close: %s",
			  h->n->path, strerror(-rc));
	fh_free(h);
	fuse_reply_err(req, 0);
}

/* ------------------------------------------------------ tree changes */

/* A new file that the store learns of at its first commit (close or
 * fsync): until then it lives in the open-file object only. */
static int create_fresh(struct mnt *m, struct mnt_node *p, const char *name,
			mode_t mode, struct mnt_node **out, struct fh **out_h)
{
	struct mnt_node tmpl = {.kind = MK_OUT, .uid = p->uid};
	struct timespec ts;
	struct fh *h;
	int rc;

	clock_gettime(CLOCK_REALTIME, &ts);
	tmpl.mtime = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	tmpl.e.kind = STORE_KIND_FILE;
	tmpl.e.mode = mode & 07777;
	rc = store_digest_buf("", 0, tmpl.e.digest);
	if (!rc)
		rc = mnt_node_ref(m, p, name, &tmpl, out);
	if (rc)
		return rc;
	h = fh_new(FH_WRITE, *out);
	rc = h ? mnt_file_create(m, *out, &h->wf) : -ENOMEM;
	if (rc) {
		fh_free(h);
		mnt_node_forget(m, (*out)->ino, 1);
		return rc;
	}
	*out_h = h;
	return 0;
}

void mnt_op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		   mode_t mode, struct fuse_file_info *fi)
{
	struct mnt *m = M(req);
	struct mnt_node *p = mnt_node_get(m, parent), *n = NULL, probe;
	struct fuse_entry_param e = {0};
	struct fh *h = NULL;
	char path[4096];
	int rc = p ? writable(m, p, req) : -ESTALE;
	struct store_caller c;

	mnt_caller(req, m, &c);
	if (!rc && p->kind != MK_OUT)
		rc = p->kind == MK_SEALED ? -EROFS : -EPERM;
	if (!rc)
		rc = out_path(p, name, path, sizeof(path));
	if (!rc && mnt_resolve(m, p, name, &probe) == 0) {
		/* It exists after all (a race with another create). */
		rc = (fi->flags & O_EXCL) ? -EEXIST
					  : mnt_lookup_child(m, p, name, &n);
		if (!rc)
			rc = open_node(req, m, n, fi->flags | O_TRUNC, fi, &h);
		if (rc && n)
			mnt_node_forget(m, n->ino, 1);
	} else if (!rc) {
		rc = create_fresh(m, p, name, mode, &n, &h);
	}
	if (rc) {
		journal_denied(req, m, "create", p, name, rc);
		fuse_reply_err(req, -rc);
		return;
	}
	h->caller = c;
	fi->fh = (uintptr_t)h;
	e.ino = n->ino;
	e.attr_timeout = mnt_timeout(m, n);
	e.entry_timeout = mnt_entry_timeout(m, n);
	mnt_attr(m, n, &e.attr);
	fuse_reply_create(req, &e, fi);
}

static int mkdir_in(fuse_req_t req, struct mnt *m, struct mnt_node *p,
		    const char *name, mode_t mode)
{
	struct store_caller c;
	char path[4096];
	int rc;

	mnt_caller(req, m, &c);
	switch (p->kind) {
	case MK_PIPELINES:
		rc = store_name_check(name, strlen(name));
		if (!rc)
			rc = mnt_check_child(req, m, ACL_WRITE, p, name,
					     "mkdir");
		return rc ? rc : store_pipeline_create(m->s, &c, name);
	case MK_RUNS:
		rc = store_name_check(name, strlen(name));
		if (!rc)
			rc = mnt_check_child(req, m, ACL_WRITE, p, name,
					     "mkdir");
		return rc ? rc
			  : store_run_create(m->s, &c, p->c[C_PIPELINE], name,
					     c.uid);
	case MK_STEPS:
		rc = writable(m, p, req);
		return rc ? rc
			  : store_step_create(m->s, &c, p->c[C_PIPELINE],
					      p->c[C_RUN], name);
	case MK_OUT:
		rc = writable(m, p, req);
		if (!rc)
			rc = out_path(p, name, path, sizeof(path));
		return rc ? rc
			  : store_output_set(m->s, &c, p->c[C_PIPELINE],
					     p->c[C_RUN], p->c[C_STEP], path,
					     STORE_KIND_DIR, mode & 07777, NULL,
					     0, NULL);
	case MK_SEALED:
	case MK_ARTIFACT:
		return -EROFS;
	default:
		store_log(STORE_LOG_WARNING,
			  "mkdir %s/%s refused: pipelines are made in "
			  "/pipelines, runs in /pipelines/P/runs, steps in "
			  "/pipelines/P/runs/R/steps, output directories "
			  "under a step's outputs; artifacts come from "
			  "sealing runs",
			  strcmp(p->path, "/") ? p->path : "", name);
		return -EPERM;
	}
}

void mnt_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		  mode_t mode)
{
	struct mnt *m = M(req);
	struct mnt_node *p = mnt_node_get(m, parent), *n;
	struct mnt_node probe;
	int rc = p ? 0 : -ESTALE;

	if (!rc && strlen(name) > STORE_NAME_MAX)
		rc = -ENAMETOOLONG;
	if (!rc && mnt_resolve(m, p, name, &probe) == 0)
		rc = -EEXIST;
	if (!rc)
		rc = mkdir_in(req, m, p, name, mode);
	if (!rc)
		rc = mnt_lookup_child(m, p, name, &n);
	if (rc) {
		journal_denied(req, m, "mkdir", p, name, rc);
		fuse_reply_err(req, -rc);
	} else {
		mnt_reply_entry(req, m, n);
	}
}

static void remove_entry(fuse_req_t req, fuse_ino_t parent, const char *name,
			 bool dir)
{
	struct mnt *m = M(req);
	struct mnt_node *p = mnt_node_get(m, parent);
	struct mnt_node probe;
	char path[4096], *full = NULL;
	int rc = p ? mnt_resolve(m, p, name, &probe) : -ESTALE;
	struct store_caller c;

	if (!rc && dir != (probe.e.kind == STORE_KIND_DIR))
		rc = dir ? -ENOTDIR : -EISDIR;
	if (!rc && (p->kind != MK_OUT || probe.kind != MK_OUT))
		rc = p->kind == MK_SEALED ? -EROFS : -EPERM;
	if (!rc)
		rc = writable(m, p, req);
	if (!rc)
		rc = out_path(p, name, path, sizeof(path));
	if (!rc && asprintf(&full, "%s/%s", p->path, name) < 0)
		rc = -ENOMEM;
	mnt_caller(req, m, &c);
	if (!rc)
		rc = store_output_delete(m->s, &c, p->c[C_PIPELINE],
					 p->c[C_RUN], p->c[C_STEP], path);
	if (rc == -ENOENT && mnt_file_fresh(m, full, NULL))
		rc = 0; /* never committed: forgetting it is enough */
	if (!rc)
		mnt_node_gone(m, full);
	free(full);
	journal_denied(req, m, dir ? "rmdir" : "unlink", p, name, rc);
	fuse_reply_err(req, -rc);
}

void mnt_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_entry(req, parent, name, false);
}

void mnt_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_entry(req, parent, name, true);
}

static bool same_step(const struct mnt_node *a, const struct mnt_node *b)
{
	return a->kind == MK_OUT && b->kind == MK_OUT &&
	       !strcmp(a->c[C_PIPELINE], b->c[C_PIPELINE]) &&
	       !strcmp(a->c[C_RUN], b->c[C_RUN]) &&
	       !strcmp(a->c[C_STEP], b->c[C_STEP]);
}

void mnt_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		   fuse_ino_t newparent, const char *newname,
		   unsigned int flags)
{
	struct mnt *m = M(req);
	struct mnt_node *p = mnt_node_get(m, parent);
	struct mnt_node *np = mnt_node_get(m, newparent), probe;
	char from[4096], to[4096], *f = NULL, *t = NULL;
	int rc = p && np ? 0 : -ESTALE;
	struct store_caller c;

	if (!rc && (flags & RENAME_EXCHANGE))
		rc = -EINVAL;
	if (!rc && (p->sealed || np->sealed || p->kind == MK_SEALED ||
		    np->kind == MK_SEALED))
		rc = -EROFS;
	if (!rc && !same_step(p, np))
		rc = p->kind == MK_OUT && np->kind == MK_OUT ? -EXDEV : -EPERM;
	if (!rc)
		rc = writable(m, p, req);
	if (!rc && (flags & RENAME_NOREPLACE) &&
	    mnt_resolve(m, np, newname, &probe) == 0)
		rc = -EEXIST;
	if (!rc)
		rc = out_path(p, name, from, sizeof(from));
	if (!rc)
		rc = out_path(np, newname, to, sizeof(to));
	if (!rc && asprintf(&f, "%s/%s", p->path, name) < 0)
		rc = -ENOMEM;
	mnt_caller(req, m, &c);
	if (!rc) /* a created file gets its entry before it moves */
		rc = mnt_file_commit_fresh(m, &c, f);
	if (!rc)
		rc = store_output_rename(m->s, &c, p->c[C_PIPELINE],
					 p->c[C_RUN], p->c[C_STEP], from, to);
	if (!rc && asprintf(&t, "%s/%s", np->path, newname) > 0)
		mnt_node_moved(m, f, t);
	free(f);
	free(t);
	journal_denied(req, m, "rename", p, name, rc);
	fuse_reply_err(req, -rc);
}

/* `ln -s .../artifacts/A/REF inputs/ANY` declares that the step reads
 * A@REF: the input is recorded and shows as inputs/A@vN. */
static int declare_input(fuse_req_t req, struct mnt *m, struct mnt_node *p,
			 const char *link, struct mnt_node **out)
{
	const char *a = strstr(link, "artifacts/");
	char artifact[STORE_NAME_MAX + 1], ref[STORE_NAME_MAX + 1];
	char name[2 * STORE_NAME_MAX + 24];
	struct store_version v = {0};
	size_t alen, rlen;
	int rc;

	if (!a) {
		store_log(STORE_LOG_WARNING,
			  "%s: an input link points into artifacts/NAME/REF",
			  p->path);
		return -EINVAL;
	}
	a += strlen("artifacts/");
	alen = strcspn(a, "/");
	rlen = a[alen] ? strcspn(a + alen + 1, "/") : 0;
	if (!alen || !rlen || alen > STORE_NAME_MAX || rlen > STORE_NAME_MAX)
		return -EINVAL;
	snprintf(artifact, sizeof(artifact), "%.*s", (int)alen, a);
	snprintf(ref, sizeof(ref), "%.*s", (int)rlen, a + alen + 1);
	rc = store_ref_resolve(m->s, artifact, ref, &v);
	snprintf(name, sizeof(name), "/artifacts/%s/v%u", artifact, v.number);
	if (!rc) /* an input the caller could not read is no input */
		rc = mnt_allowed(req, m, ACL_READ, name);
	if (!rc) {
		struct store_caller c;

		mnt_caller(req, m, &c);
		rc = store_step_input_add(m->s, &c, p->c[C_PIPELINE],
					  p->c[C_RUN], p->c[C_STEP], artifact,
					  v.number);
	}
	snprintf(name, sizeof(name), "%s@v%u", artifact, v.number);
	return rc ? rc : mnt_lookup_child(m, p, name, out);
}

void mnt_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		    const char *name)
{
	struct mnt *m = M(req);
	struct mnt_node *p = mnt_node_get(m, parent), *n;
	struct store_writer *w;
	struct store_file f;
	char path[4096];
	int rc = p ? writable(m, p, req) : -ESTALE;

	if (!rc && p->kind == MK_INPUTS) {
		struct fuse_entry_param e = {0};

		rc = declare_input(req, m, p, link, &n);
		if (rc) {
			fuse_reply_err(req, -rc);
			return;
		}
		/* The link shows as A@vN, not under the name given: let the
		 * kernel keep no entry for that name. */
		e.ino = n->ino;
		mnt_attr(m, n, &e.attr);
		fuse_reply_entry(req, &e);
		return;
	}
	if (!rc && p->kind != MK_OUT)
		rc = -EPERM;
	if (!rc)
		rc = out_path(p, name, path, sizeof(path));
	if (!rc)
		rc = store_writer_new(m->s, &w);
	if (!rc) {
		rc = store_writer_write(w, link, strlen(link));
		if (rc)
			store_writer_abort(w);
		else
			rc = store_writer_finish(w, &f);
	}
	if (!rc) {
		struct store_caller c;

		mnt_caller(req, m, &c);
		rc = store_output_set(m->s, &c, p->c[C_PIPELINE], p->c[C_RUN],
				      p->c[C_STEP], path, STORE_KIND_SYMLINK,
				      0777, &f, 0, NULL);
	}
	if (!rc)
		rc = mnt_lookup_child(m, p, name, &n);
	if (rc)
		journal_denied(req, m, "symlink", p, name, rc);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		mnt_reply_entry(req, m, n);
}

/* Truncates an output file that no handle of ours has open. */
static int truncate_path(struct mnt *m, const struct store_caller *c,
			 struct mnt_node *n, uint64_t size)
{
	struct mnt_file *f;
	int rc = mnt_file_open(m, n, size == 0, &f);

	if (rc)
		return rc;
	rc = mnt_file_truncate(f, size);
	if (!rc)
		rc = mnt_file_commit(f, c, false, NULL, NULL);
	mnt_file_close(f);
	return rc;
}

static int set_attrs(fuse_req_t req, struct mnt *m, struct mnt_node *n,
		     struct stat *attr, int to_set, struct fuse_file_info *fi)
{
	int rc = writable(m, n, req);
	struct store_caller c;

	mnt_caller(req, m, &c);
	if (rc == -EROFS && !(to_set & FUSE_SET_ATTR_SIZE))
		return -EPERM; /* metadata of sealed things */
	if (rc)
		return rc;
	if (n->kind != MK_OUT || !*n->tail)
		return -EPERM;
	if (to_set & FUSE_SET_ATTR_SIZE) {
		if (n->e.kind != STORE_KIND_FILE)
			return -EISDIR;
		if (fi && FH(fi)->kind == FH_WRITE)
			rc = mnt_file_truncate(FH(fi)->wf,
					       (uint64_t)attr->st_size);
		else
			rc = truncate_path(m, &c, n, (uint64_t)attr->st_size);
	}
	if (!rc && (to_set & FUSE_SET_ATTR_MODE))
		rc = mnt_file_commit_fresh(m, &c, n->path);
	if (!rc && (to_set & FUSE_SET_ATTR_MODE))
		rc = store_output_chmod(m->s, &c, n->c[C_PIPELINE], n->c[C_RUN],
					n->c[C_STEP], n->tail,
					attr->st_mode & 07777);
	/* Owners and times of a run's files are the run's: accepted for
	 * tools that copy them (cp -p, rsync -a), not stored. */
	if (!rc && (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) &&
	    mnt_allowed(req, m, ACL_ADMIN, n->path))
		rc = -EPERM;
	return rc ? rc : mnt_refresh(m, n);
}

void mnt_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		    int to_set, struct fuse_file_info *fi)
{
	struct mnt *m = M(req);
	struct mnt_node *n = mnt_node_get(m, ino);
	struct stat st;
	int rc = n ? set_attrs(req, m, n, attr, to_set, fi) : -ESTALE;

	if (rc) {
		journal_denied(req, m, "setattr", n, NULL, rc);
		fuse_reply_err(req, -rc);
		return;
	}
	mnt_attr(m, n, &st);
	fuse_reply_attr(req, &st, mnt_timeout(m, n));
}

void mnt_op_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct mnt *m = M(req);
	struct mnt_node *n = mnt_node_get(m, ino);
	int rc = n ? mnt_refresh(m, n) : -ESTALE;

	/* access(2) and chdir ask the same roles the operations do. */
	if (!rc && (mask & R_OK))
		rc = mnt_check(
		    req, m, n->e.kind == STORE_KIND_DIR ? ACL_LIST : ACL_READ,
		    n->path, "access");
	if (!rc && (mask & W_OK))
		rc = mnt_check(req, m, ACL_WRITE, n->path, "access");
	if (!rc)
		rc = mnt_check(req, m, ACL_TRAVERSE, n->path, "access");
	if (!rc && (mask & W_OK) &&
	    (n->kind == MK_SEALED || n->sealed || n->kind == MK_ARTIFACT ||
	     n->kind == MK_ALIAS || n->kind == MK_RUN_JSON ||
	     n->kind == MK_TRACE))
		rc = -EROFS;
	fuse_reply_err(req, -rc);
}
