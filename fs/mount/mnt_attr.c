/*
 * mnt_attr.c - what the kernel is told of a node: its attributes (mode
 * as the roles give it, mnt_acl.c), how long it may cache them and the
 * name, and the entry a lookup, create or mkdir replies with.
 * Attributes depend on the node only, never on who asks.
 */
#include "mnt_i.h"

#include <string.h>

void mnt_reply_entry(fuse_req_t req, struct mnt *m, struct mnt_node *n)
{
	struct fuse_entry_param e = {0};
	struct mnt_node snap;
	/* Read before the mode is: a binding changed meanwhile makes the
	 * mode remembered for it never used. */
	uint64_t gen = store_binding_gen(m->s);
	int rc = mnt_node_snap(m, n, &snap);

	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	e.ino = n->ino;
	e.attr_timeout = mnt_timeout(m, &snap);
	e.entry_timeout = mnt_entry_timeout(m, &snap);
	mnt_attr_of(m, n, &snap, &e.attr);
	if (snap.kind == MK_SEALED)
		mnt_node_warm_mode(m, n, e.attr.st_mode & 07777, gen);
	mnt_node_parse_release(&snap);
	fuse_reply_entry(req, &e);
}

int mnt_lookup_child(struct mnt *m, const struct mnt_node *parent,
		     const char *name, struct mnt_node **out)
{
	struct mnt_node facts;
	int rc = mnt_resolve(m, parent, name, &facts);

	return rc ? rc : mnt_node_ref(m, parent, name, &facts, out);
}

/* Resolves the facts of the node at self's path into fresh. */
static int resolve_self(struct mnt *m, const struct mnt_node *self,
			struct mnt_node *fresh)
{
	struct mnt_node parent = {0};
	int rc = mnt_node_parse(self->path, true, &parent);

	if (!rc)
		rc = mnt_resolve(m, &parent, strrchr(self->path, '/') + 1,
				 fresh);
	mnt_node_parse_release(&parent);
	return rc;
}

int mnt_refresh(struct mnt *m, struct mnt_node *n, struct mnt_node *snap)
{
	struct mnt_node self = {0}, fresh;
	bool gone;
	int rc = 0;

	if (n->kind == MK_ROOT || n->kind == MK_SEALED)
		return 0; /* the root's facts are fixed; sealed is immutable */
	if (!snap)
		rc = mnt_node_snap(m, n, &self);
	if (rc)
		return rc;
	/* Unlinked while open ("//gone/"): its last facts stand. */
	gone = !strncmp((snap ? snap : &self)->path, "//", 2);
	if (!gone)
		rc = resolve_self(m, snap ? snap : &self, &fresh);
	mnt_node_parse_release(&self);
	if (rc || gone)
		return rc;
	pthread_mutex_lock(&m->lock);
	n->e = fresh.e;
	n->uid = fresh.uid;
	n->mtime = fresh.mtime;
	n->atime = fresh.atime;
	n->link = fresh.link;
	n->nlink = fresh.nlink;
	n->sealed = fresh.sealed;
	n->elsewhere = fresh.elsewhere;
	n->version = fresh.version;
	pthread_mutex_unlock(&m->lock);
	if (snap) {
		snap->e = fresh.e;
		snap->uid = fresh.uid;
		snap->mtime = fresh.mtime;
		snap->sealed = fresh.sealed;
		snap->elsewhere = fresh.elsewhere;
		snap->version = fresh.version;
	}
	return 0;
}

/* ns since the epoch (before it too) as a timespec. */
static struct timespec ns_time(int64_t ns)
{
	struct timespec ts = {.tv_sec = ns / 1000000000,
			      .tv_nsec = ns % 1000000000};

	if (ts.tv_nsec < 0) {
		ts.tv_sec--;
		ts.tv_nsec += 1000000000;
	}
	return ts;
}

/* Fills st for n with the permission bits perms; wsize: the size while
 * a handle has uncommitted data, or -1. */
static void attr_fill(const struct mnt *m, const struct mnt_node *n,
		      uint32_t perms, int64_t wsize, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	/* The names of a file of many names show one inode number (each
	 * is a node of its own to the kernel). */
	st->st_ino = n->link ? n->link : n->ino;
	st->st_uid = n->uid;
	st->st_gid = 0;
	st->st_mode = perms;
	switch (n->e.kind) {
	case STORE_KIND_DIR:
		st->st_mode |= S_IFDIR;
		st->st_nlink = 2;
		st->st_size = 4096;
		break;
	case STORE_KIND_SYMLINK:
		st->st_mode |= S_IFLNK;
		st->st_nlink = n->nlink ? n->nlink : 1;
		st->st_size = (off_t)n->e.size;
		break;
	default:
		st->st_mode |= S_IFREG;
		st->st_nlink = n->nlink ? n->nlink : 1;
		st->st_size = wsize >= 0 ? wsize : (off_t)n->e.size;
		break;
	}
	st->st_blocks = (st->st_size + 511) / 512;
	st->st_blksize = 1 << 20;
	/* Namespace directories carry no time of their own: the mount's. */
	st->st_mtim = ns_time(n->mtime ? n->mtime : m->started);
	st->st_atim = n->atime ? ns_time(n->atime) : st->st_mtim;
	st->st_ctim = st->st_mtim;
}

void mnt_attr_of(struct mnt *m, const struct mnt_node *node,
		 const struct mnt_node *n, struct stat *st)
{
	int64_t wsize = n->kind == MK_OUT ? mnt_write_size(m, node) : -1;

	attr_fill(m, n, mnt_acl_mode(m, n, mnt_base_mode(n)), wsize, st);
}

int mnt_attr(struct mnt *m, const struct mnt_node *n, struct stat *st)
{
	struct mnt_node snap;
	int rc = mnt_node_snap(m, n, &snap);

	if (rc)
		return rc;
	mnt_attr_of(m, n, &snap, st);
	mnt_node_parse_release(&snap);
	return 0;
}

/* How long n's facts hold, whoever asks. */
static double facts_timeout(const struct mnt *m, const struct mnt_node *n)
{
	if (n->kind == MK_SEALED)
		return m->sealed_timeout;
	return m->open_timeout;
}

double mnt_entry_timeout(const struct mnt *m, const struct mnt_node *n)
{
	/* Shared: a directory's name may stay cached, since nothing is done
	 * to a directory without a request (its attributes are not cached),
	 * and whoever may reach a path below it may pass through it (the
	 * traverse rule, acl.h).  Every other name is looked up, and so
	 * decided, each time it is used. */
	if (m->shared && n->e.kind != STORE_KIND_DIR)
		return 0;
	return facts_timeout(m, n);
}

double mnt_timeout(const struct mnt *m, const struct mnt_node *n)
{
	/* Shared: a sealed file shows the same attributes to everyone and
	 * they do not change while its version lives, so the kernel keeps
	 * them (and a read of its cached pages needs no GETATTR).  Its name
	 * is not cached (mnt_entry_timeout), so every path to it is still
	 * looked up, and decided for its caller, each time it is used.  A
	 * directory's name is cached: its attributes are not, so that a
	 * stat of it reaches the decision.  What changes what a sealed file
	 * shows tells the kernel: a binding (its mode, mnt_invalidate), gc
	 * (its version goes, mnt_versions_changed). */
	if (m->shared)
		return n->kind == MK_SEALED && n->e.kind != STORE_KIND_DIR
			   ? m->sealed_timeout
			   : 0;
	return facts_timeout(m, n);
}

void mnt_warm_who(fuse_req_t req, struct mnt *m, struct mnt_warm_who *out)
{
	const struct fuse_ctx *c = fuse_req_ctx(req);

	out->uid = (uint32_t)c->uid;
	out->gid = (uint32_t)c->gid;
	out->gen = store_binding_gen(m->s);
}

/* Fills st for n (a copy, mnt_node_warm_*) with its remembered mode. */
static void warm_attr(struct mnt *m, const struct mnt_node *n, struct stat *st)
{
	attr_fill(m, n, n->warm_mode, -1, st);
}

bool mnt_lookup_warm(fuse_req_t req, struct mnt *m, fuse_ino_t parent,
		     const char *name, const struct mnt_warm_who *w)
{
	struct fuse_entry_param e = {0};
	struct mnt_node n;

	if (!mnt_node_warm_child(m, parent, name, w, &n))
		return false;
	e.ino = n.ino;
	e.attr_timeout = mnt_timeout(m, &n);
	e.entry_timeout = mnt_entry_timeout(m, &n);
	warm_attr(m, &n, &e.attr);
	fuse_reply_entry(req, &e);
	return true;
}

bool mnt_getattr_warm(fuse_req_t req, struct mnt *m, fuse_ino_t ino,
		      const struct mnt_warm_who *w)
{
	struct mnt_node n;
	struct stat st;

	if (!mnt_node_warm_self(m, ino, w, &n))
		return false;
	warm_attr(m, &n, &st);
	fuse_reply_attr(req, &st, mnt_timeout(m, &n));
	return true;
}
