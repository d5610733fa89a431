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

	e.ino = n->ino;
	e.attr_timeout = mnt_timeout(m, n);
	e.entry_timeout = mnt_entry_timeout(m, n);
	mnt_attr(m, n, &e.attr);
	fuse_reply_entry(req, &e);
}

int mnt_lookup_child(struct mnt *m, struct mnt_node *parent, const char *name,
		     struct mnt_node **out)
{
	struct mnt_node facts;
	int rc = mnt_resolve(m, parent, name, &facts);

	if (rc)
		return rc;
	return mnt_node_ref(m, parent, name, &facts, out);
}

int mnt_refresh(struct mnt *m, struct mnt_node *n)
{
	struct mnt_node parent = {0}, fresh;
	const char *name = strrchr(n->path, '/') + 1;
	int rc;

	if (n->kind == MK_ROOT)
		return 0;
	if (!strncmp(n->path, "//", 2))
		return 0; /* unlinked while open: its last facts stand */
	if (n->kind == MK_SEALED)
		return 0; /* immutable */
	rc = mnt_node_parse(n->path, true, &parent);
	if (rc)
		return rc;
	rc = mnt_resolve(m, &parent, name, &fresh);
	mnt_node_parse_release(&parent);
	if (rc)
		return rc;
	pthread_mutex_lock(&m->lock);
	n->e = fresh.e;
	n->uid = fresh.uid;
	n->mtime = fresh.mtime;
	n->sealed = fresh.sealed;
	n->version = fresh.version;
	pthread_mutex_unlock(&m->lock);
	return 0;
}

void mnt_attr(const struct mnt *m, const struct mnt_node *n, struct stat *st)
{
	int64_t wsize =
	    n->kind == MK_OUT ? mnt_write_size((struct mnt *)m, n) : -1;

	memset(st, 0, sizeof(*st));
	st->st_ino = n->ino;
	st->st_uid = n->uid;
	st->st_gid = 0;
	st->st_mode = mnt_acl_mode((struct mnt *)m, n, mnt_base_mode(n));
	switch (n->e.kind) {
	case STORE_KIND_DIR:
		st->st_mode |= S_IFDIR;
		st->st_nlink = 2;
		st->st_size = 4096;
		break;
	case STORE_KIND_SYMLINK:
		st->st_mode |= S_IFLNK;
		st->st_nlink = 1;
		st->st_size = (off_t)n->e.size;
		break;
	default:
		st->st_mode |= S_IFREG;
		st->st_nlink = 1;
		st->st_size = wsize >= 0 ? wsize : (off_t)n->e.size;
		break;
	}
	st->st_blocks = (st->st_size + 511) / 512;
	st->st_blksize = 1 << 20;
	/* Namespace directories carry no time of their own: the mount's. */
	st->st_mtim.tv_sec = (n->mtime ? n->mtime : m->started) / 1000000000;
	st->st_mtim.tv_nsec = (n->mtime ? n->mtime : m->started) % 1000000000;
	st->st_atim = st->st_mtim;
	st->st_ctim = st->st_mtim;
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
	if (m->shared)
		return 0; /* every stat reaches the daemon's decision */
	return facts_timeout(m, n);
}
