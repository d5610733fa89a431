/*
 * mnt_change.c - FUSE operations that change the tree: pipelines, runs
 * and steps by mkdir; files in open runs' outputs by create, rename,
 * unlink, setattr; inputs by symlink.  Writing to files, and sealing by
 * writing "seal" to a run's control file, are mnt_handle.c's.  Anything
 * sealed answers EROFS (EPERM for metadata).
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

/* Journals an operation on the node at dir (a copy's path; NULL if
 * none), and name below it (or NULL), that was refused; anything else is
 * journaled by the change itself. */
static void journal_denied(fuse_req_t req, struct mnt *m, const char *op,
			   const char *dir, const char *name, int rc)
{
	struct store_caller c;
	char path[4352];

	if (rc != -EACCES && rc != -EPERM && rc != -EROFS)
		return;
	snprintf(path, sizeof(path), "%s%s%s",
		 dir && strcmp(dir, "/") ? dir : "", name || !dir ? "/" : "",
		 name ? name : "");
	mnt_caller(req, m, &c);
	acl_journal_denial(m->s, &c, op, path, rc);
}

static struct mnt *M(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static struct mnt_fh *FH(struct fuse_file_info *fi)
{
	return (struct mnt_fh *)(uintptr_t)fi->fh;
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

/* out_path for a name being made: outputs/<name> becomes artifact <name>
 * at seal, so it obeys the artifact name rules from the start. */
static int out_new(const struct mnt_node *dir, const char *name, char *buf,
		   size_t size)
{
	int rc = *dir->tail
		     ? 0
		     : store_name_require(STORE_NAME_ENTITY, "output", name);

	return rc ? rc : out_path(dir, name, buf, size);
}

/* A new file that the store learns of at its first commit (close or
 * fsync): until then it lives in the open-file object only. */
static int create_fresh(struct mnt *m, const struct mnt_node *p,
			const char *name, mode_t mode, struct mnt_node **out,
			struct mnt_fh **out_h)
{
	struct mnt_node tmpl = {.kind = MK_OUT, .uid = p->uid};
	struct timespec ts;
	struct mnt_fh *h;
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
	h = mnt_fh_new(FH_WRITE, *out);
	rc = h ? mnt_file_create(m, *out, &h->wf) : -ENOMEM;
	if (rc) {
		mnt_fh_free(h);
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
	struct mnt_node *pn, p, *n = NULL, probe, s = {0};
	struct fuse_entry_param e = {0};
	struct mnt_fh *h = NULL;
	char path[4096];
	int rc = mnt_node_take(m, parent, &pn, &p);
	struct store_caller c;

	if (!rc)
		rc = mnt_writable(m, pn, &p, req);
	mnt_caller(req, m, &c);
	if (!rc && p.kind != MK_OUT)
		rc = p.kind == MK_SEALED ? -EROFS : -EPERM;
	if (!rc)
		rc = out_new(&p, name, path, sizeof(path));
	if (!rc && mnt_resolve(m, &p, name, &probe) == 0) {
		/* It exists after all (a race with another create). */
		rc = (fi->flags & O_EXCL) ? -EEXIST
					  : mnt_lookup_child(m, &p, name, &n);
		if (!rc)
			rc = mnt_open_node(req, m, n, fi->flags | O_TRUNC, fi,
					   &h);
		if (rc && n)
			mnt_node_forget(m, n->ino, 1);
	} else if (!rc) {
		rc = create_fresh(m, &p, name, mode, &n, &h);
	}
	if (rc)
		journal_denied(req, m, "create", p.path, name, rc);
	mnt_node_parse_release(&p);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	h->caller = c;
	h->append = fi->flags & O_APPEND;
	fi->fh = (uintptr_t)h;
	e.ino = n->ino;
	if (!mnt_node_snap(m, n, &s)) {
		e.attr_timeout = mnt_timeout(m, &s);
		e.entry_timeout = mnt_entry_timeout(m, &s);
		mnt_attr_of(m, n, &s, &e.attr);
	} /* else ENOMEM: the file is open; nothing cached */
	mnt_node_parse_release(&s);
	/* The creator was interrupted: no release will come for it (what
	 * it made stays, as after a close). */
	if (fuse_reply_create(req, &e, fi) == -ENOENT)
		mnt_fh_free(h);
}

/* mkdir of name in pn (p: its copy). */
static int mkdir_in(fuse_req_t req, struct mnt *m, struct mnt_node *pn,
		    struct mnt_node *p, const char *name, mode_t mode)
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
		rc = mnt_writable(m, pn, p, req);
		return rc ? rc
			  : store_step_create(m->s, &c, p->c[C_PIPELINE],
					      p->c[C_RUN], name);
	case MK_OUT:
		rc = mnt_writable(m, pn, p, req);
		if (!rc)
			rc = out_new(p, name, path, sizeof(path));
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
	struct mnt_node *pn, p, *n;
	struct mnt_node probe;
	int rc = mnt_node_take(m, parent, &pn, &p);

	if (!rc && strlen(name) > STORE_NAME_MAX)
		rc = -ENAMETOOLONG;
	if (!rc && mnt_resolve(m, &p, name, &probe) == 0)
		rc = -EEXIST;
	if (!rc)
		rc = mkdir_in(req, m, pn, &p, name, mode);
	if (!rc)
		rc = mnt_lookup_child(m, &p, name, &n);
	if (rc)
		journal_denied(req, m, "mkdir", p.path, name, rc);
	mnt_node_parse_release(&p);
	if (rc) {
		fuse_reply_err(req, -rc);
	} else {
		mnt_reply_entry(req, m, n);
	}
}

static void remove_entry(fuse_req_t req, fuse_ino_t parent, const char *name,
			 bool dir)
{
	struct mnt *m = M(req);
	struct mnt_node *pn, p, probe;
	char path[4096], *full = NULL;
	int rc = mnt_node_take(m, parent, &pn, &p);
	struct store_caller c;

	if (!rc)
		rc = mnt_resolve(m, &p, name, &probe);
	if (!rc && dir != (probe.e.kind == STORE_KIND_DIR))
		rc = dir ? -ENOTDIR : -EISDIR;
	if (!rc && (p.kind != MK_OUT || probe.kind != MK_OUT))
		rc = p.kind == MK_SEALED ? -EROFS : -EPERM;
	if (!rc)
		rc = mnt_writable(m, pn, &p, req);
	if (!rc)
		rc = out_path(&p, name, path, sizeof(path));
	if (!rc && asprintf(&full, "%s/%s", p.path, name) < 0)
		rc = -ENOMEM;
	mnt_caller(req, m, &c);
	if (!rc)
		rc = store_output_delete(m->s, &c, p.c[C_PIPELINE], p.c[C_RUN],
					 p.c[C_STEP], path);
	if (rc == -ENOENT && full && mnt_file_fresh(m, full, NULL))
		rc = 0; /* never committed: forgetting it is enough */
	if (!rc)
		mnt_node_gone(m, full);
	free(full);
	journal_denied(req, m, dir ? "rmdir" : "unlink", p.path, name, rc);
	mnt_node_parse_release(&p);
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
	struct mnt_node *pn, p, *npn, np = {0}, probe;
	char from[4096], to[4096], *f = NULL, *t = NULL;
	int rc = mnt_node_take(m, parent, &pn, &p);
	struct store_caller c;

	if (!rc)
		rc = mnt_node_take(m, newparent, &npn, &np);
	if (!rc && (flags & RENAME_EXCHANGE))
		rc = -EINVAL;
	if (!rc && (mnt_node_frozen(&p) || mnt_node_frozen(&np)))
		rc = -EROFS;
	if (!rc && !same_step(&p, &np))
		rc = p.kind == MK_OUT && np.kind == MK_OUT ? -EXDEV : -EPERM;
	if (!rc)
		rc = mnt_writable(m, pn, &p, req);
	if (!rc && (flags & RENAME_NOREPLACE) &&
	    mnt_resolve(m, &np, newname, &probe) == 0)
		rc = -EEXIST;
	if (!rc)
		rc = out_path(&p, name, from, sizeof(from));
	if (!rc)
		rc = out_new(&np, newname, to, sizeof(to));
	if (!rc && asprintf(&f, "%s/%s", p.path, name) < 0)
		rc = -ENOMEM;
	mnt_caller(req, m, &c);
	if (!rc) /* a created file gets its entry before it moves */
		rc = mnt_file_commit_fresh(m, &c, f);
	/* Two names of one file: rename(2) does nothing. */
	if (!rc && mnt_link_same_file(m, &p, name, &np, newname))
		goto out_reply;
	if (!rc)
		rc = store_output_rename(m->s, &c, p.c[C_PIPELINE], p.c[C_RUN],
					 p.c[C_STEP], from, to);
	if (!rc && asprintf(&t, "%s/%s", np.path, newname) > 0)
		mnt_node_moved(m, f, t);
out_reply:
	free(f);
	free(t);
	journal_denied(req, m, "rename", p.path, name, rc);
	mnt_node_parse_release(&p);
	mnt_node_parse_release(&np);
	fuse_reply_err(req, -rc);
}

/* `ln -s .../artifacts/A/REF inputs/ANY` declares that the step reads
 * A@REF: the input is recorded and shows as inputs/A@vN. */
static int declare_input(fuse_req_t req, struct mnt *m,
			 const struct mnt_node *p, const char *link,
			 struct mnt_node **out)
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

/* mknod of a regular file: an empty file, committed at once.  p is a
 * copy. */
static int mknod_file(fuse_req_t req, struct mnt *m, const struct mnt_node *p,
		      const char *name, mode_t mode)
{
	struct store_caller c;
	struct store_writer *w;
	struct store_file f;
	struct mnt_node probe;
	char path[4096];
	int rc = out_new(p, name, path, sizeof(path));

	if (!rc && mnt_resolve(m, p, name, &probe) == 0)
		rc = -EEXIST;
	if (!rc)
		rc = store_writer_new(m->s, &w);
	if (!rc)
		rc = store_writer_finish(w, &f);
	mnt_caller(req, m, &c);
	if (!rc)
		rc = store_output_set(m->s, &c, p->c[C_PIPELINE], p->c[C_RUN],
				      p->c[C_STEP], path, STORE_KIND_FILE,
				      mode & 07777, &f, 0, NULL);
	return rc;
}

void mnt_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		  mode_t mode, dev_t rdev)
{
	struct mnt *m = M(req);
	struct mnt_node *pn, p, *n = NULL;
	int rc = mnt_node_take(m, parent, &pn, &p);

	(void)rdev;
	if (!rc)
		rc = mnt_writable(m, pn, &p, req);
	/* Only files, directories and symlinks can be versioned. */
	if (!rc && (!S_ISREG(mode) || p.kind != MK_OUT))
		rc = -EPERM;
	if (!rc)
		rc = mknod_file(req, m, &p, name, mode);
	if (!rc)
		rc = mnt_lookup_child(m, &p, name, &n);
	if (rc)
		journal_denied(req, m, "mknod", p.path, name, rc);
	mnt_node_parse_release(&p);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		mnt_reply_entry(req, m, n);
}

/* The link input n shows as A@vN, not under the name given: the kernel
 * keeps no entry for that name. */
static void reply_input(fuse_req_t req, struct mnt *m, struct mnt_node *n)
{
	struct fuse_entry_param e = {0};
	int rc;

	e.ino = n->ino;
	rc = mnt_attr(m, n, &e.attr);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_entry(req, &e);
}

/* A symlink name to link in outputs directory p (a copy) into *out. */
static int symlink_out(fuse_req_t req, struct mnt *m, const struct mnt_node *p,
		       const char *link, const char *name,
		       struct mnt_node **out)
{
	struct store_caller c;
	struct store_writer *w;
	struct store_file f;
	char path[4096];
	int rc = p->kind == MK_OUT ? 0 : -EPERM;

	if (!rc)
		rc = out_new(p, name, path, sizeof(path));
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
		mnt_caller(req, m, &c);
		rc = store_output_set(m->s, &c, p->c[C_PIPELINE], p->c[C_RUN],
				      p->c[C_STEP], path, STORE_KIND_SYMLINK,
				      0777, &f, 0, NULL);
	}
	return rc ? rc : mnt_lookup_child(m, p, name, out);
}

void mnt_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		    const char *name)
{
	struct mnt *m = M(req);
	struct mnt_node *pn, p, *n;
	int rc = mnt_node_take(m, parent, &pn, &p);

	if (!rc)
		rc = mnt_writable(m, pn, &p, req);
	if (!rc && p.kind == MK_INPUTS) {
		rc = declare_input(req, m, &p, link, &n);
		mnt_node_parse_release(&p);
		if (rc)
			fuse_reply_err(req, -rc);
		else
			reply_input(req, m, n);
		return;
	}
	if (!rc)
		rc = symlink_out(req, m, &p, link, name, &n);
	if (rc)
		journal_denied(req, m, "symlink", p.path, name, rc);
	mnt_node_parse_release(&p);
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

/* setattr of a file unlinked (or renamed over) while open, through a
 * handle: its size is its open-file object's, its mode is kept on the
 * node alone; nothing reaches the store. */
static int set_gone_attrs(struct mnt *m, struct mnt_node *n,
			  const struct mnt_node *s, struct stat *attr,
			  int to_set, struct fuse_file_info *fi)
{
	int rc = 0;

	if (s->kind != MK_OUT || s->e.kind != STORE_KIND_FILE)
		return -EPERM;
	if ((to_set & FUSE_SET_ATTR_SIZE) && !(fi && FH(fi)->wf))
		return -EBADF; /* no name reaches it: only its handles */
	if (to_set & FUSE_SET_ATTR_SIZE)
		rc = mnt_file_truncate(FH(fi)->wf, (uint64_t)attr->st_size);
	if (!rc && (to_set & FUSE_SET_ATTR_MODE)) {
		pthread_mutex_lock(&m->lock);
		n->e.mode = attr->st_mode & 07777;
		pthread_mutex_unlock(&m->lock);
	}
	return rc;
}

/* A chown by the owner to itself: its uid, the group shown (0) or its
 * own primary group. */
static bool chown_to_self(const struct store_caller *c,
			  const struct mnt_node *n, const struct stat *attr,
			  int to_set)
{
	bool uid_ok = !(to_set & FUSE_SET_ATTR_UID) || attr->st_uid == n->uid;
	bool gid_ok = !(to_set & FUSE_SET_ATTR_GID) || attr->st_gid == 0 ||
		      attr->st_gid == c->gid;

	return c->uid == n->uid && uid_ok && gid_ok;
}

#define SET_TIMES                                                              \
	(FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_ATIME_NOW | \
	 FUSE_SET_ATTR_MTIME_NOW)

static int64_t ts_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

/* utimensat, touch, cp -p, tar -x, rsync -a: the times of an entry of
 * the outputs.  What a handle wrote is committed first, so that its
 * close does not move the mtime set here. */
static int set_times(struct mnt *m, const struct store_caller *c,
		     struct mnt_node *n, const struct mnt_node *s,
		     const struct stat *attr, int to_set)
{
	int64_t at = STORE_TIME_KEEP, mt = STORE_TIME_KEEP;
	struct timespec now;
	int rc = mnt_file_commit_node(m, c, n);

	if (rc)
		return rc;
	clock_gettime(CLOCK_REALTIME, &now);
	if (to_set & FUSE_SET_ATTR_ATIME_NOW)
		at = ts_ns(&now);
	else if (to_set & FUSE_SET_ATTR_ATIME)
		at = ts_ns(&attr->st_atim);
	if (to_set & FUSE_SET_ATTR_MTIME_NOW)
		mt = ts_ns(&now);
	else if (to_set & FUSE_SET_ATTR_MTIME)
		mt = ts_ns(&attr->st_mtim);
	return store_output_utimens(m->s, c, s->c[C_PIPELINE], s->c[C_RUN],
				    s->c[C_STEP], s->tail, at, mt);
}

/* setattr of n (s: its copy). */
static int set_attrs(fuse_req_t req, struct mnt *m, struct mnt_node *n,
		     struct mnt_node *s, struct stat *attr, int to_set,
		     struct fuse_file_info *fi)
{
	int rc = mnt_writable(m, n, s, req);
	struct store_caller c;

	mnt_caller(req, m, &c);
	if (rc == -EROFS && !(to_set & FUSE_SET_ATTR_SIZE))
		return -EPERM; /* metadata of sealed things */
	if (rc)
		return rc;
	if (!strncmp(s->path, "//gone/", 7)) {
		rc = set_gone_attrs(m, n, s, attr, to_set, fi);
		/* Handles of its other names that went too are other
		 * inodes to the kernel, with pages of their own. */
		if (!rc)
			mnt_link_changed(m, n);
		return rc;
	}
	if (s->kind != MK_OUT || !*s->tail)
		return -EPERM;
	if (to_set & FUSE_SET_ATTR_SIZE) {
		if (s->e.kind != STORE_KIND_FILE)
			return -EISDIR;
		if (fi && FH(fi)->kind == FH_WRITE)
			rc = mnt_file_truncate(FH(fi)->wf,
					       (uint64_t)attr->st_size);
		else
			rc = truncate_path(m, &c, n, (uint64_t)attr->st_size);
	}
	if (!rc && (to_set & FUSE_SET_ATTR_MODE))
		rc = mnt_file_commit_fresh(m, &c, s->path);
	if (!rc && (to_set & FUSE_SET_ATTR_MODE))
		rc = store_output_chmod(m->s, &c, s->c[C_PIPELINE], s->c[C_RUN],
					s->c[C_STEP], s->tail,
					attr->st_mode & 07777);
	if (!rc && (to_set & SET_TIMES))
		rc = set_times(m, &c, n, s, attr, to_set);
	if (!rc)
		mnt_link_changed(m, n);
	/* Owners of a run's files are the run's: accepted for tools that
	 * copy them (cp -p, rsync -a), not stored; a change of owner takes
	 * an admin, a chown to what is there does not. */
	if (!rc && (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) &&
	    !chown_to_self(&c, s, attr, to_set) &&
	    mnt_allowed(req, m, ACL_ADMIN, s->path))
		rc = -EPERM;
	return rc ? rc : mnt_refresh(m, n, s);
}

int mnt_chmod(fuse_req_t req, struct mnt *m, struct mnt_node *n, uint32_t mode)
{
	struct mnt_node s;
	struct stat st;
	int rc = mnt_node_snap(m, n, &s);

	if (!rc)
		rc = mnt_refresh(m, n, &s);
	if (!rc) {
		mnt_attr_of(m, n, &s, &st);
		if (s.kind == MK_OUT && *s.tail)
			st.st_mode = (s.e.mode & 07000) | (mode & 0777);
		else if ((st.st_mode & 0777) == (mode & 0777))
			rc = 1; /* the mode it shows: nothing to change */
	}
	if (!rc)
		rc = set_attrs(req, m, n, &s, &st, FUSE_SET_ATTR_MODE, NULL);
	mnt_node_parse_release(&s);
	return rc == 1 ? 0 : rc;
}

void mnt_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		    int to_set, struct fuse_file_info *fi)
{
	struct mnt *m = M(req);
	struct mnt_node *n, s;
	struct stat st;
	int rc = mnt_node_take(m, ino, &n, &s);

	if (!rc)
		rc = set_attrs(req, m, n, &s, attr, to_set, fi);
	if (rc)
		journal_denied(req, m, "setattr", s.path, NULL, rc);
	mnt_node_parse_release(&s);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	rc = mnt_attr(m, n, &st);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_attr(req, &st, mnt_timeout(m, n));
}

/* What W_OK says: what opening n for writing (or creating in it) would
 * decide, by the same calls: inside a run mnt_writable (the run's rule),
 * elsewhere the writer role; then what n's kind can be (its base mode).
 * s is n's copy. */
static int access_write(fuse_req_t req, struct mnt *m, struct mnt_node *n,
			struct mnt_node *s)
{
	struct store_caller c;
	int rc;

	if (mnt_view_rule(s) == ACL_VIEW_PLAIN) {
		rc = mnt_check(req, m, ACL_WRITE, s->path, "access");
		if (!rc && (s->kind == MK_ARTIFACT || s->kind == MK_ALIAS ||
			    s->kind == MK_SEALED || s->sealed))
			rc = -EROFS;
		if (!rc && !(mnt_base_mode(s) & 0200))
			rc = -EACCES;
		return rc;
	}
	rc = mnt_writable(m, n, s, req);
	if (rc == -EACCES) {
		mnt_caller(req, m, &c);
		acl_journal_denial(m->s, &c, "access", s->path, rc);
	}
	if (!rc && !(mnt_base_mode(s) & 0200))
		rc = -EACCES; /* run.json, env/: nobody writes them */
	return rc;
}

void mnt_op_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct mnt *m = M(req);
	struct mnt_node *n, s;
	int rc = mnt_node_take(m, ino, &n, &s);

	if (!rc)
		rc = mnt_refresh(m, n, &s);
	/* access(2) and chdir ask the same roles the operations do. */
	if (!rc && (mask & R_OK))
		rc = mnt_check(req, m,
			       s.e.kind == STORE_KIND_DIR ? ACL_LIST : ACL_READ,
			       s.path, "access");
	if (!rc)
		rc = mnt_check(req, m, ACL_TRAVERSE, s.path, "access");
	if (!rc && (mask & W_OK))
		rc = access_write(req, m, n, &s);
	mnt_node_parse_release(&s);
	fuse_reply_err(req, -rc);
}
