/*
 * mnt_ops.c - the FUSE low-level operations: lookups, attributes,
 * listings, reads, xattrs and statfs.  Changes (mkdir, create, write,
 * rename, ...) are in mnt_change.c.
 *
 * Sealed content is immutable, so its entries and attributes get long
 * timeouts and its pages stay in the kernel's cache (keep_cache).
 * Attributes are a function of the node, never of the caller.
 */
#include "acl.h"
#include "mnt_i.h"

#include <dirent.h>
#include <limits.h>
#include <unistd.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>

static struct mnt *M(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct mnt *m = M(req);
	struct mnt_node *pn, p, *n;
	struct mnt_warm_who w;
	int rc;

	/* A sealed node this caller reached before, under the same
	 * bindings: its facts cannot have changed, nor the decision. */
	mnt_warm_who(req, m, &w);
	if (mnt_lookup_warm(req, m, parent, name, &w))
		return;
	rc = mnt_node_take(m, parent, &pn, &p);
	if (!rc)
		rc = mnt_check_child(req, m, ACL_TRAVERSE, &p, name, "lookup");
	if (!rc)
		rc = mnt_lookup_child(m, &p, name, &n);
	if (!rc)
		mnt_warm_allowed(req, m, n, &w);
	mnt_node_parse_release(&p);
	if (rc == -ENOENT && pn && pn->kind == MK_SEALED && !m->shared) {
		/* Absent from immutable content: cache the answer too. */
		struct fuse_entry_param e = {0};

		e.entry_timeout = m->sealed_timeout;
		fuse_reply_entry(req, &e);
		return;
	}
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	mnt_reply_entry(req, m, n);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	mnt_node_forget(M(req), ino, nlookup);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++)
		mnt_node_forget(M(req), forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct mnt *m = M(req);
	struct mnt_node *n, s;
	struct mnt_warm_who w;
	struct stat st;
	int rc;

	(void)fi;
	mnt_warm_who(req, m, &w);
	if (mnt_getattr_warm(req, m, ino, &w))
		return;
	rc = mnt_node_take(m, ino, &n, &s);
	if (!rc)
		mnt_pages_wait(m, n);
	if (!rc)
		rc = mnt_check(req, m, ACL_TRAVERSE, s.path, "getattr");
	if (!rc)
		rc = mnt_refresh(m, n, &s);
	if (!rc) {
		mnt_attr_of(m, n, &s, &st);
		mnt_warm_allowed(req, m, n, &w);
		if (s.kind == MK_SEALED)
			mnt_node_warm_mode(m, n, st.st_mode & 07777, w.gen);
	}
	mnt_node_parse_release(&s);
	if (rc) {
		fuse_reply_err(req, -rc);
		return;
	}
	fuse_reply_attr(req, &st, mnt_timeout(m, n));
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct mnt *m = M(req);
	struct mnt_node *n, s;
	char buf[4096];
	int rc = mnt_node_take(m, ino, &n, &s);

	if (!rc)
		rc = mnt_check(req, m, ACL_READ, s.path, "readlink");
	if (!rc)
		rc = mnt_refresh(m, n, &s);
	if (!rc && s.kind == MK_ALIAS)
		snprintf(buf, sizeof(buf), "v%u", s.version);
	else if (!rc && s.kind == MK_INPUT)
		rc = mnt_input_target(strrchr(s.path, '/') + 1, buf,
				      sizeof(buf));
	else if (!rc && s.e.kind == STORE_KIND_SYMLINK)
		rc = store_symlink_read(m->s, s.e.digest, buf, sizeof(buf));
	else if (!rc)
		rc = -EINVAL;
	mnt_node_parse_release(&s);
	if (rc)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_readlink(req, buf);
}

/* ------------------------------------------------------- statfs, xattr */

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct mnt *m = M(req);
	struct store_stats st;
	struct statvfs sv;

	(void)ino;
	if (statvfs(store_dir(m->s), &sv) < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	if (store_stats_get(m->s, &st) == 0) {
		/* Inodes are not a limit here: show plenty free. */
		sv.f_ffree = sv.f_favail = UINT32_MAX;
		sv.f_files = st.files + st.versions + sv.f_ffree;
	}
	sv.f_namemax = STORE_NAME_MAX;
	fuse_reply_statfs(req, &sv);
}

static const char *const xattr_names[] = {
    "user.artifactfs.digest",
    "user.artifactfs.run",
    "user.artifactfs.version",
    "user.artifactfs.lineage",
};
#define NXATTRS		  4
#define ACL_XATTR	  "system.posix_acl_access"
#define ACL_DEFAULT_XATTR "system.posix_acl_default"
#define XATTR_MAX	  65536

/* The direct inputs of the step that produced version v, as JSON. */
static int lineage_value(struct mnt *m, const struct store_version *v,
			 char *buf, size_t size)
{
	char run[sizeof(v->run)], *p = run, *r, *st;
	struct mnt_version_list l = {m, json_array()};
	char *text;
	int rc, n;

	snprintf(run, sizeof(run), "%s", v->run);
	r = strchr(p, '/');
	st = r ? strchr(r + 1, '/') : NULL;
	if (!st) {
		json_decref(l.arr);
		return -ENODATA; /* not made by a step */
	}
	*r++ = '\0';
	*st++ = '\0';
	rc = store_step_input_each(m->s, p, r, st, mnt_version_json, &l);
	text = rc ? NULL : json_dumps(l.arr, JSON_COMPACT);
	json_decref(l.arr);
	if (rc)
		return rc;
	if (!text)
		return -ENOMEM;
	n = snprintf(buf, size, "%s", text);
	free(text);
	return (size_t)n >= size ? -E2BIG : n;
}

/* The value of xattr idx for n into buf (size bytes); its length. */
static int xattr_value(struct mnt *m, const struct mnt_node *n, int idx,
		       char *buf, size_t size)
{
	struct store_version v;
	int rc;

	if (idx == 0) {
		if (n->e.kind == STORE_KIND_SYMLINK || n->kind == MK_ALIAS ||
		    (n->kind != MK_SEALED && n->kind != MK_OUT) ||
		    (n->kind == MK_OUT && n->e.kind == STORE_KIND_DIR))
			return -ENODATA;
		store_digest_format(n->e.digest, buf);
		return (int)strlen(buf);
	}
	if (n->kind == MK_OUT && idx == 1)
		return snprintf(buf, size, "%s/%s", n->c[C_PIPELINE],
				n->c[C_RUN]);
	if (n->kind != MK_SEALED)
		return -ENODATA;
	if (idx == 2)
		return snprintf(buf, size, "%s@v%u", n->c[C_ARTIFACT],
				n->version);
	rc = store_version_get(m->s, n->c[C_ARTIFACT], n->version, &v);
	if (rc)
		return rc;
	if (!v.run[0])
		return -ENODATA;
	if (idx == 3)
		return lineage_value(m, &v, buf, size);
	return snprintf(buf, size, "%s", v.run);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			size_t size)
{
	struct mnt *m = M(req);
	struct mnt_node *n, s;
	char *buf = malloc(XATTR_MAX);
	int idx = -1, len = mnt_node_take(m, ino, &n, &s);

	if (!len && !buf)
		len = -ENOMEM;
	for (int i = 0; i < NXATTRS; i++) {
		if (!strcmp(name, xattr_names[i]))
			idx = i;
	}
	if (!len)
		len = mnt_check(req, m, ACL_TRAVERSE, s.path, "getxattr");
	if (!len && !strcmp(name, ACL_XATTR))
		len = mnt_acl_get(m, &s, buf,
				  size < XATTR_MAX ? size : XATTR_MAX);
	else if (!len)
		len = idx < 0 ? -ENODATA
			      : xattr_value(m, &s, idx, buf, XATTR_MAX);
	mnt_node_parse_release(&s);
	if (len < 0)
		fuse_reply_err(req, -len);
	else if (size == 0)
		fuse_reply_xattr(req, (size_t)len);
	else if ((size_t)len > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, buf, (size_t)len);
	free(buf);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct mnt *m = M(req);
	struct mnt_node *n, s;
	char list[128], *val = malloc(XATTR_MAX);
	size_t used = 0;
	int rc = mnt_node_take(m, ino, &n, &s);

	if (!rc && !val)
		rc = -ENOMEM;
	if (!rc)
		rc = mnt_check(req, m, ACL_TRAVERSE, s.path, "listxattr");
	if (rc) {
		mnt_node_parse_release(&s);
		fuse_reply_err(req, -rc);
		free(val);
		return;
	}
	for (int i = 0; i < NXATTRS; i++) {
		if (xattr_value(m, &s, i, val, XATTR_MAX) < 0)
			continue;
		memcpy(list + used, xattr_names[i], strlen(xattr_names[i]) + 1);
		used += strlen(xattr_names[i]) + 1;
	}
	mnt_node_parse_release(&s);
	free(val);
	if (size == 0)
		fuse_reply_xattr(req, used);
	else if (used > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, list, used);
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			const char *value, size_t size, int flags)
{
	struct mnt_node *n, s;
	uint32_t mode = 0;
	int rc = mnt_node_take(M(req), ino, &n, &s);

	(void)flags;
	if (!rc && !strcmp(name, ACL_XATTR)) {
		/* setfacl: role bindings on n's path (value NULL:
		 * removexattr); what cp -p and the like write: a chmod. */
		rc = mnt_acl_set(req, M(req), &s, value, size, &mode);
		if (rc == 1)
			rc = mnt_chmod(req, M(req), n, mode);
	} else if (!rc && !strcmp(name, ACL_DEFAULT_XATTR)) {
		/* No directory has a default ACL: removing none (cp -a of a
		 * directory does) finds nothing, an empty one is none. */
		rc = !value ? -ENODATA : size == MNT_XACL_HDR ? 0 : -EOPNOTSUPP;
	} else if (!rc) {
		rc = s.sealed ? -EPERM : -ENOTSUP;
	}
	mnt_node_parse_release(&s);
	fuse_reply_err(req, -rc);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	op_setxattr(req, ino, name, NULL, 0, 0);
}

/* Raises the mount's read-ahead (128 KiB by default on FUSE) to 4 MiB,
 * found through mountinfo so that no request reaches our own daemon.  The
 * kernel sets it at FUSE_INIT, so this runs just after (raise_ra). */
static void raise_readahead(const char *mnt)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[4096], dev[32], point[PATH_MAX], path[128];
	unsigned maj, min;

	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*d %*d %u:%u %*s %4095s", &maj, &min,
			   point) != 3 ||
		    strcmp(point, mnt))
			continue;
		snprintf(dev, sizeof(dev), "%u:%u", maj, min);
		snprintf(path, sizeof(path), "/sys/class/bdi/%s/read_ahead_kb",
			 dev);
		FILE *ra = fopen(path, "w");

		if (ra) {
			fputs("4096", ra);
			fclose(ra);
		}
	}
	if (f)
		fclose(f);
}

static void *ra_thread(void *arg)
{
	struct mnt *m = arg;

	/* The INIT reply is on its way when op_init returns. */
	usleep(200 * 1000);
	raise_readahead(m->point);
	return NULL;
}

static void raise_ra(struct mnt *m)
{
	pthread_t t;

	if (m->point && pthread_create(&t, NULL, ra_thread, m) == 0)
		pthread_detach(t);
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	conn->max_write = 1 << 20;
	conn->max_readahead = 4 << 20;
	raise_ra(userdata);
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	/* Paths through latest/ would cost a READLINK per component per
	 * lookup.  Aliases move: whatever may move one (a seal, a command
	 * run through the daemon) invalidates them (mnt_aliases_changed). */
	if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
		conn->want |= FUSE_CAP_CACHE_SYMLINKS;
	/* Decisions stay in the daemon: no kernel-side POSIX ACLs. */
	conn->want &= ~FUSE_CAP_POSIX_ACL;
}

const struct fuse_lowlevel_ops mnt_ops = {
    .mknod = mnt_op_mknod,
    .init = op_init,
    .lookup = op_lookup,
    .forget = op_forget,
    .forget_multi = op_forget_multi,
    .getattr = op_getattr,
    .readlink = op_readlink,
    .opendir = mnt_op_opendir,
    .readdir = mnt_op_readdir,
    .releasedir = mnt_op_releasedir,
    .statfs = op_statfs,
    .getxattr = op_getxattr,
    .listxattr = op_listxattr,
    .setxattr = op_setxattr,
    .removexattr = op_removexattr,
    .open = mnt_op_open,
    .read = mnt_op_read,
    .write = mnt_op_write,
    .flush = mnt_op_flush,
    .fsync = mnt_op_fsync,
    .release = mnt_op_release,
    .create = mnt_op_create,
    .mkdir = mnt_op_mkdir,
    .unlink = mnt_op_unlink,
    .rmdir = mnt_op_rmdir,
    .rename = mnt_op_rename,
    .symlink = mnt_op_symlink,
    .link = mnt_op_link,
    .setattr = mnt_op_setattr,
    .access = mnt_op_access,
};
