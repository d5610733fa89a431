/*
 * mnt_acl.c - roles on every operation of the mount, and the POSIX ACL
 * view of them.
 *
 * A node's mode is the one its kind and state allow (mnt_base_mode),
 * with the permission bits the bindings give (mnt_acl_mode).
 *
 * Every request is decided here for its caller (uid, gid and, when some
 * binding names a group, the supplementary groups of the calling
 * process) with acl_decide; the kernel checks nothing itself (no
 * default_permissions), so each refusal reaches the journal.
 *
 * The ACL view (getfacl) is built from the bindings that apply at a
 * node's path (acl_view_get); the mode's bits are the same view's user::
 * and mask:: entries, capped by what the node can be (a sealed file is
 * never writable).  setfacl by an admin turns each added or changed named
 * entry into a binding on the node's path (r-x: reader, rwx: writer) and
 * each removed entry into the revocation of the nearest binding.  What
 * tools write when they copy a mode (a minimal ACL, or the named entries
 * the view already shows) is a chmod for anyone, on outputs always; an
 * ACL that would change bindings is EOPNOTSUPP for a non-admin, as on a
 * file system without ACLs, and no attempt at governance.
 *
 * The wire format of system.posix_acl_access is mnt_xacl.c's.
 */
#include "acl.h"
#include "mnt_i.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int decide(fuse_req_t req, struct mnt *m, enum acl_action act,
		  const char *path)
{
	struct store_caller c;

	mnt_caller(req, m, &c);
	return acl_decide(m->s, &c, act, path);
}

int mnt_allowed(fuse_req_t req, struct mnt *m, enum acl_action act,
		const char *path)
{
	int rc;

	/* A node unlinked while open ("//gone/<ino>", mnt_node.c) is
	 * reached only through a handle its opener was allowed. */
	if (!strncmp(path, "//gone/", 7))
		return 0;
	rc = decide(req, m, act, path);

	/* A path the bindings cannot name (too long, odd names) is no
	 * one's: refused like any other. */
	return rc == -EINVAL ? -EACCES : rc;
}

int mnt_check(fuse_req_t req, struct mnt *m, enum acl_action act,
	      const char *path, const char *op)
{
	int rc = mnt_allowed(req, m, act, path);

	if (rc == -EACCES) {
		struct store_caller c;

		mnt_caller(req, m, &c); /* the record is the caller's */
		acl_journal_denial(m->s, &c, op, path, rc);
	}
	return rc;
}

int mnt_check_child(fuse_req_t req, struct mnt *m, enum acl_action act,
		    const struct mnt_node *parent, const char *name,
		    const char *op)
{
	char path[STORE_SCOPE_MAX + 1];
	int n, rc = store_name_check(name, strlen(name));

	if (rc == -ENAMETOOLONG)
		return rc;
	/* A name no binding can hold is decided at its directory (the
	 * lookup then finds nothing there). */
	if (rc)
		return mnt_check(req, m, act, parent->path, op);
	n = snprintf(path, sizeof(path), "%s/%s",
		     strcmp(parent->path, "/") ? parent->path : "", name);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	return mnt_check(req, m, act, path, op);
}

uint32_t mnt_base_mode(const struct mnt_node *n)
{
	/* Read-only: sealed, or an open run of another node. */
	bool ro = n->sealed || n->elsewhere;

	switch (n->kind) {
	case MK_ROOT:
	case MK_ARTIFACTS:
	case MK_ARTIFACT:
		return 0755;
	case MK_AUDIT:
	case MK_SECRETS:
		return 0500;
	case MK_SECRET:
	case MK_AUDIT_DAY:
		return 0400;
	case MK_ENV_FILE:
		return 0444;
	case MK_PIPELINES:
	case MK_PIPELINE:
	case MK_RUNS:
		/* Anyone may open a pipeline or a run here. */
		return 01777;
	case MK_RUN:
	case MK_STEPS:
	case MK_STEP:
		return ro ? 0555 : 0755;
	case MK_RUN_JSON:
		return 0444;
	case MK_TRACE: /* the owner appends JSON lines while the run is open */
		return ro ? 0444 : 0644;
	case MK_CONTROL:
		return ro ? 0444 : 0644;
	case MK_INPUTS:
		return ro ? 0555 : 0755; /* ln -s declares an input */
	case MK_RUN_ENV:
	case MK_STEP_ENV:
		return 0555;
	case MK_ALIAS:
	case MK_INPUT:
		return 0777;
	case MK_OUT:
		if (n->tail[0] == '\0')
			return ro ? 0555 : 0755;
		return ro ? n->e.mode & 07555 : n->e.mode;
	case MK_SEALED:
		return n->e.mode & 0555;
	}
	return 0;
}

enum acl_view_rule mnt_view_rule(const struct mnt_node *n)
{
	switch (n->kind) {
	case MK_RUN:
	case MK_RUN_JSON:
	case MK_RUN_ENV:
	case MK_STEPS:
	case MK_STEP:
	case MK_INPUTS:
	case MK_STEP_ENV:
	case MK_TRACE:
	case MK_OUT:
	case MK_INPUT:
	case MK_ENV_FILE:
		return ACL_VIEW_RUN; /* mnt_writable decides: the run's rule */
	case MK_CONTROL:
		return ACL_VIEW_RUN_END;
	default:
		return ACL_VIEW_PLAIN;
	}
}

/* The bits a node can have whatever the roles: its kind's owner bits. */
static int cap_of(uint32_t mode)
{
	return (int)(mode >> 6) & 7;
}

uint32_t mnt_acl_mode(struct mnt *m, const struct mnt_node *n, uint32_t mode)
{
	struct acl_view v;
	int cap = cap_of(mode);

	if (n->e.kind == STORE_KIND_SYMLINK)
		return mode; /* links have no permissions of their own */
	if (acl_view_get(m->s, n->path, n->uid, 0, mnt_view_rule(n), false, &v))
		return mode & 07000 & ~(uint32_t)S_ISVTX;
	return (mode & 07000 & ~(uint32_t)S_ISVTX) |
	       (uint32_t)((v.user_bits & cap) << 6) |
	       (uint32_t)((v.mask & cap) << 3);
}

int mnt_acl_get(struct mnt *m, const struct mnt_node *n, char *buf, size_t size)
{
	uint32_t ver = htole32(MNT_XACL_VERSION);
	int cap = cap_of(mnt_base_mode(n)), rc;
	struct acl_view v;
	size_t len, nu = 0;
	char *p;

	if (n->e.kind == STORE_KIND_SYMLINK)
		return -ENODATA;
	rc = acl_view_get(m->s, n->path, n->uid, 0, mnt_view_rule(n), true, &v);
	if (rc)
		return rc == -EINVAL ? -ENODATA : rc;
	if (!v.n) {
		acl_view_release(&v);
		return -ENODATA; /* the mode says it all */
	}
	len = MNT_XACL_HDR + MNT_XACL_ENTRY * (v.n + 4);
	if (size == 0 || size < len) {
		acl_view_release(&v);
		return size == 0 ? (int)len : -ERANGE;
	}
	memcpy(buf, &ver, 4);
	p = buf + MNT_XACL_HDR;
	mnt_xacl_put(p, MNT_XACL_USER_OBJ, (unsigned)(v.user_bits & cap),
		     MNT_XACL_NO_ID);
	p += MNT_XACL_ENTRY;
	for (size_t i = 0; i < v.n && v.named[i].tag == 'u'; i++, nu++) {
		mnt_xacl_put(p, MNT_XACL_USER,
			     (unsigned)(v.named[i].bits & cap), v.named[i].id);
		p += MNT_XACL_ENTRY;
	}
	mnt_xacl_put(p, MNT_XACL_GROUP_OBJ, (unsigned)(v.group_bits & cap),
		     MNT_XACL_NO_ID);
	p += MNT_XACL_ENTRY;
	for (size_t i = nu; i < v.n; i++) {
		mnt_xacl_put(p, MNT_XACL_GROUP,
			     (unsigned)(v.named[i].bits & cap), v.named[i].id);
		p += MNT_XACL_ENTRY;
	}
	mnt_xacl_put(p, MNT_XACL_MASK, (unsigned)(v.mask & cap),
		     MNT_XACL_NO_ID);
	p += MNT_XACL_ENTRY;
	mnt_xacl_put(p, MNT_XACL_OTHER, 0, MNT_XACL_NO_ID);
	acl_view_release(&v);
	return (int)len;
}

static void principal_of(char tag, uint32_t id, char out[16])
{
	snprintf(out, 16, "%c:%u", tag, (unsigned)id);
}

/* Applies one added or changed entry: its role on path, or none. */
static int grant(struct mnt *m, const struct store_caller *c, const char *path,
		 const struct mnt_xacl_named *e)
{
	const char *role = acl_bits_role(e->bits);
	char who[16];
	int rc;

	principal_of(e->tag, e->id, who);
	if (role)
		return store_binding_set(m->s, c, path, who, role);
	rc = store_binding_delete(m->s, c, path, who);
	return rc == -ENOENT ? 0 : rc;
}

/* Revokes the nearest binding of a removed entry. */
static int revoke(struct mnt *m, const struct store_caller *c, const char *path,
		  const struct acl_entry *e)
{
	char scope[STORE_SCOPE_MAX + 1], who[16];
	int rc = acl_binding_nearest(m->s, e->tag, e->id, path, scope,
				     sizeof(scope));

	principal_of(e->tag, e->id, who);
	if (rc == -ENOENT)
		return 0; /* gone meanwhile */
	return rc ? rc : store_binding_delete(m->s, c, scope, who);
}

static int apply(struct mnt *m, const struct store_caller *c,
		 const struct mnt_node *n, const struct mnt_xacl_named *want,
		 size_t nwant)
{
	int cap = cap_of(mnt_base_mode(n)), rc;
	struct acl_view v;

	rc = acl_view_get(m->s, n->path, n->uid, 0, mnt_view_rule(n), true, &v);
	for (size_t i = 0; !rc && i < nwant; i++) {
		const struct acl_entry *cur = NULL;

		for (size_t k = 0; k < v.n; k++)
			if (v.named[k].tag == want[i].tag &&
			    v.named[k].id == want[i].id)
				cur = &v.named[k];
		if (!cur || (cur->bits & cap) != want[i].bits)
			rc = grant(m, c, n->path, &want[i]);
	}
	for (size_t k = 0; !rc && k < v.n; k++) {
		bool kept = false;

		for (size_t i = 0; i < nwant; i++)
			kept |= want[i].tag == v.named[k].tag &&
				want[i].id == v.named[k].id;
		if (!kept)
			rc = revoke(m, c, n->path, &v.named[k]);
	}
	acl_view_release(&v);
	return rc;
}

/* Whether the named entries of want are those getfacl shows at n (bits
 * capped by the node's cap now, or by newcap: the owner bits of the mode
 * being set), so that setting them changes no binding.  -errno if the
 * view cannot be read. */
static int same_as_view(struct mnt *m, const struct mnt_node *n,
			const struct mnt_xacl_named *want, size_t nwant,
			int newcap)
{
	int cap = cap_of(mnt_base_mode(n)), rc;
	struct acl_view v;
	bool same;

	rc = acl_view_get(m->s, n->path, n->uid, 0, mnt_view_rule(n), true, &v);
	if (rc)
		return rc == -EINVAL ? 0 : rc;
	same = v.n == nwant;
	for (size_t i = 0; same && i < nwant; i++) {
		bool found = false;

		for (size_t k = 0; k < v.n; k++) {
			const struct acl_entry *e = &v.named[k];

			found |= e->tag == want[i].tag && e->id == want[i].id &&
				 ((e->bits & cap) == want[i].bits ||
				  (e->bits & newcap) == want[i].bits);
		}
		same = found;
	}
	acl_view_release(&v);
	return same;
}

/* Whether an ACL being set is what tools write when they copy a mode
 * (cp -p, sed -i, mv, rsync -A): a minimal ACL without a mask, or the
 * same named entries getfacl shows.  1, 0 or -errno. */
static int tool_acl(struct mnt *m, const struct mnt_node *n,
		    const struct mnt_xacl_base *b,
		    const struct mnt_xacl_named *want, size_t nwant)
{
	if (nwant == 0)
		return !b->has_mask;
	return same_as_view(m, n, want, nwant, b->user);
}

int mnt_acl_set(fuse_req_t req, struct mnt *m, const struct mnt_node *n,
		const char *value, size_t size, uint32_t *chmod_out)
{
	struct mnt_xacl_named *want = NULL;
	struct mnt_xacl_base b;
	size_t nwant = 0;
	int rc = mnt_allowed(req, m, ACL_ADMIN, n->path), tool = 0;
	bool admin = rc == 0, output = n->kind == MK_OUT && *n->tail;
	struct store_caller c;

	mnt_caller(req, m, &c); /* changes and refusal are the caller's */
	if (rc && rc != -EACCES)
		return rc;
	rc = 0;
	if (value) {
		rc = mnt_xacl_base(value, size, &b);
		if (!rc)
			rc = mnt_xacl_parse(value, size, &want, &nwant);
		if (!rc)
			tool = rc = tool_acl(m, n, &b, want, nwant);
	}
	if (rc >= 0 && tool && (output || !admin)) {
		*chmod_out = mnt_xacl_mode(&b);
		rc = 1; /* a chmod, whoever asks */
	} else if (rc >= 0 && !admin && value) {
		/* Named entries are bindings, an admin's: refused as by a
		 * file system without ACLs, and no attempt at governance
		 * (what tools copy was taken above). */
		rc = -EOPNOTSUPP;
	} else if (rc >= 0 && !admin) {
		/* Removing the ACL revokes bindings: refused as for a file
		 * one does not own. */
		acl_journal_denial(m->s, &c, "setfacl", n->path, -EPERM);
		rc = -EPERM;
	} else if (rc >= 0) {
		rc = apply(m, &c, n, want, nwant);
		mnt_bindings_changed(m);
	}
	free(want);
	return rc;
}

void mnt_warm_allowed(fuse_req_t req, struct mnt *m, struct mnt_node *n,
		      const struct mnt_warm_who *w)
{
	struct store_caller alone;
	char *path;
	int rc;

	if (n->kind != MK_SEALED)
		return;
	/* Supplementary groups only add: an allowance without them holds
	 * for every process of the uid and gid. */
	if (acl_needs_groups(m->s) > 0) {
		path = mnt_node_path(m, n);
		if (!path)
			return;
		acl_caller_make(w->uid, w->gid, fuse_req_ctx(req)->pid, NULL, 0,
				&alone);
		rc = acl_decide(m->s, &alone, ACL_TRAVERSE, path);
		free(path);
		if (rc)
			return;
	}
	mnt_node_warm_allow(m, n, w);
}

void mnt_bindings_changed(struct mnt *m)
{
	uint64_t gen = store_binding_gen(m->s);

	if (__atomic_exchange_n(&m->binding_gen, gen, __ATOMIC_ACQ_REL) != gen)
		mnt_invalidate(m, 0);
}
