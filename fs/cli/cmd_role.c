/*
 * fs/cli/cmd_role.c - `role grant|revoke|ls`: who holds which role where.
 *
 *     artifactfs role grant ROLE USER|@GROUP [--scope PATH]
 *     artifactfs role revoke ROLE USER|@GROUP [--scope PATH]
 *     artifactfs role ls [--scope PATH] [--json]
 *
 * The bindings live in the store (store_binding_*), each change with its
 * journal record; what they allow is acl/'s (acl_decide).  Changing them
 * takes the admin role on the scope, asked through fs_authorize so that a
 * refusal is a line and a journal record.  Listing is open to everyone,
 * but shows all bindings only to an admin or auditor on "/": anyone else
 * sees the bindings that name them (their uid, their groups).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "cli_i.h"

/* Checks ROLE and USER|@GROUP of grant and revoke (usage errors). */
static int parse_binding(struct fs_ctx *ctx, const char *role, const char *who,
			 char principal[ACL_PRINCIPAL_MAX])
{
	bool group = who[0] == '@';
	int rc;

	if (!acl_role_valid(role))
		return fs_usage_error(ctx,
				      "unknown role '%.64s' (reader, writer, "
				      "promoter, auditor or admin)",
				      role);
	rc = acl_principal_parse(who, principal);
	if (rc == -ENOENT)
		return fs_usage_error(ctx, "no such %s '%.64s'",
				      group ? "group" : "user", who + group);
	if (rc == -EINVAL)
		return fs_usage_error(ctx,
				      "'%.64s' is not a user (a name or uid) "
				      "or a group (@name or @gid)",
				      who);
	return rc;
}

/* --scope, checked; "/" when absent. */
static int parse_scope(struct fs_ctx *ctx, const char **out)
{
	*out = ctx->scope ? ctx->scope : "/";
	if (store_binding_scope_check(*out))
		return fs_usage_error(ctx,
				      "bad scope '%.200s' (an absolute path of "
				      "the mount like /pipelines/train: no "
				      "'//', '.', '..' or trailing '/')",
				      *out);
	return 0;
}

/* How many admin bindings "/" has. */
static int count_root_admin(void *arg, const char *scope, const char *principal,
			    const char *role)
{
	(void)principal;
	if (!strcmp(scope, "/") && !strcmp(role, "admin"))
		++*(int *)arg;
	return 0;
}

/* Refuses (-EPERM, reported) to take admin on "/" from its last holder:
 * no one could grant anything any more.  held is what who holds on
 * scope. */
static int keep_last_admin(struct fs_ctx *ctx, const char *op, const char *held,
			   const char *who, const char *scope)
{
	int admins = 0, rc;

	if (strcmp(held, "admin") || strcmp(scope, "/"))
		return 0;
	rc = store_binding_each(ctx->store, count_root_admin, &admins);
	if (rc || admins > 1)
		return rc;
	store_log(STORE_LOG_ERR,
		  "role %s: %s is the only admin on /; grant admin on / to "
		  "someone else first",
		  op, who);
	return -EPERM;
}

static int role_grant(struct fs_ctx *ctx, const char *role, const char *who,
		      const char *principal, const char *scope)
{
	char held[STORE_ROLE_MAX] = "";
	int rc = fs_authorize(ctx, ACL_ADMIN, scope, "role.grant");

	if (rc)
		return rc;
	rc = store_binding_get(ctx->store, scope, principal, held);
	if (rc == 0 && !strcmp(held, role)) {
		fprintf(fs_stdout(), "%s already holds %s on %s\n", who, role,
			scope);
		return 0;
	}
	if (rc && rc != -ENOENT)
		return rc;
	rc = keep_last_admin(ctx, "grant", held, who, scope);
	if (rc)
		return rc;
	rc =
	    store_binding_set(ctx->store, &ctx->caller, scope, principal, role);
	if (rc)
		return rc;
	if (held[0])
		fprintf(fs_stdout(), "%s: %s on %s (was %s)\n", who, role,
			scope, held);
	else
		fprintf(fs_stdout(), "%s: %s on %s\n", who, role, scope);
	return 0;
}

static int role_revoke(struct fs_ctx *ctx, const char *role, const char *who,
		       const char *principal, const char *scope)
{
	char held[STORE_ROLE_MAX];
	int rc = fs_authorize(ctx, ACL_ADMIN, scope, "role.revoke");

	if (rc)
		return rc;
	rc = store_binding_get(ctx->store, scope, principal, held);
	if (rc == -ENOENT) {
		store_log(STORE_LOG_ERR,
			  "role revoke: %s holds no role on %s ('%s role ls' "
			  "shows the bindings)",
			  who, scope, FS_PROG);
		return rc;
	}
	if (rc)
		return rc;
	if (strcmp(held, role)) {
		store_log(STORE_LOG_ERR,
			  "role revoke: %s holds %s on %s, not %s; nothing "
			  "revoked",
			  who, held, scope, role);
		return -EINVAL;
	}
	rc = keep_last_admin(ctx, "revoke", held, who, scope);
	if (rc)
		return rc;
	rc = store_binding_delete(ctx->store, &ctx->caller, scope, principal);
	if (rc == 0)
		fprintf(fs_stdout(), "%s: %s on %s revoked\n", who, role,
			scope);
	return rc;
}

/* ------------------------------------------------------------------ ls */

struct row {
	char scope[STORE_SCOPE_MAX + 1];
	char principal[ACL_PRINCIPAL_MAX];
	char name[ACL_NAME_MAX + 1];
	char role[STORE_ROLE_MAX];
};

struct role_ls {
	const char *path; /* --scope: bindings that apply there */
	bool all;	  /* every binding, or only the caller's */
	const struct store_caller *who;
	struct row *rows;
	size_t n, cap;
};

/* Whether scope is path or a component-wise prefix of it. */
static bool applies(const char *scope, const char *path)
{
	size_t len = strlen(scope);

	if (!strcmp(scope, "/"))
		return true;
	return !strncmp(scope, path, len) &&
	       (path[len] == '\0' || path[len] == '/');
}

/* Whether principal names the caller: its uid, its gid or a group. */
static bool names_caller(const struct store_caller *w, const char *principal)
{
	char want[ACL_PRINCIPAL_MAX];

	snprintf(want, sizeof(want), "u:%u", (unsigned)w->uid);
	if (!strcmp(principal, want))
		return true;
	snprintf(want, sizeof(want), "g:%u", (unsigned)w->gid);
	if (!strcmp(principal, want))
		return true;
	for (size_t i = 0; i < w->ngroups; i++) {
		snprintf(want, sizeof(want), "g:%u", (unsigned)w->groups[i]);
		if (!strcmp(principal, want))
			return true;
	}
	return false;
}

static int collect(void *arg, const char *scope, const char *principal,
		   const char *role)
{
	struct role_ls *ls = arg;
	struct row *r;

	if (ls->path && !applies(scope, ls->path))
		return 0;
	if (!ls->all && !names_caller(ls->who, principal))
		return 0;
	if (ls->n == ls->cap) {
		size_t cap = ls->cap ? 2 * ls->cap : 16;
		struct row *nr = realloc(ls->rows, cap * sizeof(*nr));

		if (!nr)
			return -ENOMEM;
		ls->rows = nr;
		ls->cap = cap;
	}
	r = &ls->rows[ls->n];
	snprintf(r->scope, sizeof(r->scope), "%s", scope);
	snprintf(r->principal, sizeof(r->principal), "%s", principal);
	snprintf(r->role, sizeof(r->role), "%s", role);
	if (acl_principal_name(principal, r->name))
		snprintf(r->name, sizeof(r->name), "%s", principal);
	ls->n++;
	return 0;
}

static int print_json(const struct role_ls *ls)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < ls->n; i++) {
		const struct row *r = &ls->rows[i];
		json_t *o =
		    json_pack("{s:o, s:s, s:o, s:s}", "scope",
			      fs_json_str(r->scope), "principal", r->principal,
			      "name", fs_json_str(r->name), "role", r->role);

		if (!o || json_array_append_new(arr, o)) {
			json_decref(arr);
			return -ENOMEM;
		}
	}
	return fs_json_print(arr);
}

static void print_table(const struct role_ls *ls)
{
	int ws = (int)strlen("SCOPE"), wp = (int)strlen("PRINCIPAL");

	for (size_t i = 0; i < ls->n; i++) {
		int a = fs_text_width(ls->rows[i].scope);
		int b = fs_text_width(ls->rows[i].name);

		ws = a > ws ? a : ws;
		wp = b > wp ? b : wp;
	}
	fprintf(fs_stdout(), "%-*s  %-*s  %s\n", ws, "SCOPE", wp, "PRINCIPAL",
		"ROLE");
	for (size_t i = 0; i < ls->n; i++) {
		fs_put_padded(fs_stdout(), ls->rows[i].scope, ws);
		fputs("  ", fs_stdout());
		fs_put_padded(fs_stdout(), ls->rows[i].name, wp);
		fprintf(fs_stdout(), "  %s\n", ls->rows[i].role);
	}
}

static int role_list(struct fs_ctx *ctx)
{
	struct role_ls ls = {0};
	int rc;

	if (ctx->scope && parse_scope(ctx, &ls.path))
		return -EINVAL;
	ls.who = &ctx->caller;
	ls.all = fs_allowed(ctx, ACL_ADMIN, "/") == 0 ||
		 fs_allowed(ctx, ACL_AUDIT, "/") == 0;
	rc = store_binding_each(ctx->store, collect, &ls);
	if (rc == 0 && ctx->json)
		rc = print_json(&ls);
	else if (rc == 0)
		print_table(&ls);
	free(ls.rows);
	return rc;
}

int fs_cmd_role(struct fs_ctx *ctx, int argc, char **argv)
{
	const char *op = argv[0], *scope;
	char principal[ACL_PRINCIPAL_MAX];
	bool change = !strcmp(op, "grant") || !strcmp(op, "revoke");
	int rc;

	if (!change && strcmp(op, "ls"))
		return fs_usage_error(
		    ctx, "unknown action '%s' (grant, revoke, ls)", op);
	if (argc != (change ? 3 : 1))
		return fs_usage_error(ctx,
				      "wrong number of arguments for 'role "
				      "%s'",
				      op);
	if (!change)
		return role_list(ctx);
	if (ctx->json)
		return fs_usage_error(ctx, "--json applies to 'role ls'");
	rc = parse_scope(ctx, &scope);
	if (!rc)
		rc = parse_binding(ctx, argv[1], argv[2], principal);
	if (rc)
		return rc;
	if (!strcmp(op, "grant"))
		return role_grant(ctx, argv[1], argv[2], principal, scope);
	return role_revoke(ctx, argv[1], argv[2], principal, scope);
}
