/*
 * mnt_link.c - hard links in the outputs of open runs.
 *
 * A file of several names is one entry per name in the store, sharing a
 * link id (store.h, store_output_link): a write, chmod or utimens
 * through one name reaches every name, and each name is a file of the
 * sealed version.  To the kernel each name is a node of its own; stat
 * shows them one inode number (the link id) and the count of names, and
 * their handles share one open-file object (mnt_file_find), so what one
 * name's handle wrote the other name reads at once.
 *
 * Only within one step's outputs: a link across steps, runs or into a
 * version is EXDEV, of a directory EPERM, into anything sealed EROFS.
 */
#include "acl.h"
#include "mnt_i.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct mnt *M(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* Whether the two nodes are in one step's outputs of one run. */
static bool same_step(const struct mnt_node *a, const struct mnt_node *b)
{
	for (int i = C_PIPELINE; i <= C_STEP; i += 2)
		if (!a->c[i] || !b->c[i] || strcmp(a->c[i], b->c[i]))
			return false;
	return true;
}

/* What link(n, p/name) may do, before the store decides the rest. */
static int link_check(const struct mnt_node *n, const struct mnt_node *p,
		      const char *name, char *to, size_t size)
{
	int len;

	if (mnt_node_frozen(p))
		return -EROFS;
	if (n->kind != MK_OUT || p->kind != MK_OUT || !same_step(n, p) ||
	    !strncmp(n->path, "//gone/", 7))
		return n->kind == MK_SEALED && p->kind != MK_OUT ? -EROFS
								 : -EXDEV;
	if (n->e.kind == STORE_KIND_DIR)
		return -EPERM;
	if (n->sealed)
		return -EROFS;
	if (strlen(name) > STORE_NAME_MAX)
		return -ENAMETOOLONG;
	len = snprintf(to, size, "%s%s%s", p->tail, *p->tail ? "/" : "", name);
	return len < 0 || (size_t)len >= size ? -ENAMETOOLONG : 0;
}

/* link(node, parent/name); n and p are the request's copies of them. */
static int do_link(fuse_req_t req, struct mnt *m, struct mnt_node *node,
		   struct mnt_node *n, struct mnt_node *parent,
		   struct mnt_node *p, const char *name, struct mnt_node **out)
{
	struct store_caller c;
	char to[4096];
	int rc = mnt_writable(m, parent, p, req);

	if (rc && rc != -EROFS)
		return rc;
	rc = link_check(n, p, name, to, sizeof(to));
	mnt_caller(req, m, &c);
	/* The store links entries: what a handle holds goes in first. */
	if (!rc)
		rc = mnt_file_commit_node(m, &c, node);
	if (!rc)
		rc = store_output_link(m->s, &c, n->c[C_PIPELINE], n->c[C_RUN],
				       n->c[C_STEP], n->tail, to);
	if (!rc)
		rc = mnt_refresh(m, node, NULL);
	if (!rc)
		rc = mnt_lookup_child(m, p, name, out);
	if (rc == -EACCES || rc == -EPERM || rc == -EROFS || rc == -EXDEV) {
		char path[4352];

		snprintf(path, sizeof(path), "%s/%s", p->path, name);
		acl_journal_denial(m->s, &c, "link", path, rc);
	}
	return rc;
}

void mnt_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		 const char *newname)
{
	struct mnt *m = M(req);
	struct mnt_node *node, *parent, n = {0}, p = {0}, *out = NULL;
	int rc = mnt_node_take(m, ino, &node, &n);

	if (!rc)
		rc = mnt_node_take(m, newparent, &parent, &p);
	if (!rc)
		rc = do_link(req, m, node, &n, parent, &p, newname, &out);
	mnt_node_parse_release(&n);
	mnt_node_parse_release(&p);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		mnt_reply_entry(req, m, out);
}

bool mnt_link_same_file(struct mnt *m, const struct mnt_node *p,
			const char *name, const struct mnt_node *np,
			const char *newname)
{
	struct mnt_node a, b;

	if (p->kind != MK_OUT || np->kind != MK_OUT ||
	    mnt_resolve(m, p, name, &a) || mnt_resolve(m, np, newname, &b))
		return false;
	return a.link && a.link == b.link;
}
