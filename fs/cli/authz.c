/*
 * authz.c - every command asks here before it acts: the caller's roles
 * (acl_decide) on the path of the mount the command touches.  A refusal
 * is one line on stderr and one journal record.
 */
#include "acl.h"
#include "cli_i.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The role a refused action needed, for the message. */
static const char *needed(enum acl_action act, const char *path)
{
	switch (act) {
	case ACL_LIST:
	case ACL_READ:
	case ACL_TRAVERSE:
		return strncmp(path, "/audit", 6) == 0 ? "auditor" : "reader";
	case ACL_WRITE:
		return "writer";
	case ACL_SEAL_OTHERS:
	case ACL_ALIAS:
		return "promoter";
	case ACL_AUDIT:
		return "auditor";
	case ACL_SECRET:
		return "admin role, or any role on the secret itself";
	case ACL_ADMIN:
		break;
	}
	return "admin";
}

int fs_allowed(struct fs_ctx *ctx, enum acl_action act, const char *path)
{
	return acl_decide(ctx->store, &ctx->caller, act, path);
}

int fs_authorize(struct fs_ctx *ctx, enum acl_action act, const char *path,
		 const char *op)
{
	int rc = fs_allowed(ctx, act, path);

	if (rc == -EROFS)
		store_log(STORE_LOG_ERR,
			  "%s %s: the store is %s: nothing can "
			  "change",
			  op, path,
			  store_exported(ctx->store) ? "an export, read-only"
						     : "on read-only media");
	if (rc != -EACCES)
		return rc;
	acl_journal_denial(ctx->store, &ctx->caller, op, path, rc);
	store_log(STORE_LOG_ERR,
		  "%s %s: Permission denied (needs the %s%s there; "
		  "'artifactfs role ls' shows yours)",
		  op, path, needed(act, path),
		  act == ACL_SECRET ? "" : " role");
	return rc;
}

int fs_authorize_at(struct fs_ctx *ctx, enum acl_action act, const char *op,
		    const char *fmt, ...)
{
	char path[STORE_SCOPE_MAX + 1];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	return fs_authorize(ctx, act, path, op);
}
