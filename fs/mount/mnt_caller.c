/*
 * mnt_caller.c - who asks: the caller of a FUSE request, as every
 * decision (mnt_acl.c) and every change (mnt_change.c) names it.
 */
#include "acl.h"
#include "mnt_i.h"

void mnt_caller(fuse_req_t req, struct mnt *m, struct store_caller *out)
{
	const struct fuse_ctx *c = fuse_req_ctx(req);
	gid_t groups[STORE_CALLER_GROUPS_MAX];
	int n = acl_needs_groups(m->s);

	if (n > 0)
		n = fuse_req_getgroups(req, STORE_CALLER_GROUPS_MAX, groups);
	if (n > STORE_CALLER_GROUPS_MAX)
		n = STORE_CALLER_GROUPS_MAX;
	acl_caller_make(c->uid, c->gid, c->pid, groups, n > 0 ? (size_t)n : 0,
			out);
}
