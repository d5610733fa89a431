/*
 * rbac.c - what a role allows, decided from the store's role bindings.
 * The rules are in acl.h; this file only applies them.
 */
#include "acl.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define BIT(a)	 (1u << (a))
#define READER	 (BIT(ACL_LIST) | BIT(ACL_READ) | BIT(ACL_TRAVERSE))
#define WRITER	 (READER | BIT(ACL_WRITE))
#define PROMOTER (WRITER | BIT(ACL_ALIAS) | BIT(ACL_SEAL_OTHERS))
#define AUDITOR	 (READER | BIT(ACL_AUDIT))
#define ADMIN	 (BIT(ACL_ADMIN + 1) - 1)

static const struct {
	const char *name;
	unsigned mask;
} roles[] = {
    {"reader", READER},	  {"writer", WRITER}, {"promoter", PROMOTER},
    {"auditor", AUDITOR}, {"admin", ADMIN},
};

/* What the caller's bindings give on one path. */
struct gather {
	const struct acl_who *who;
	const char *path;
	size_t plen;
	unsigned mask;	/* actions of the bindings that apply */
	bool above;	/* path lies above one of the caller's scopes */
	bool secret_ok; /* ACL_SECRET allowed */
};

/* Whether prefix is a component-wise prefix of (or equal to) p. */
static bool covers(const char *prefix, size_t len, const char *p, size_t plen)
{
	if (len == 1 && prefix[0] == '/')
		return true; /* "/" is above every absolute path */
	return len <= plen && memcmp(prefix, p, len) == 0 &&
	       (len == plen || p[len] == '/');
}

static bool under(const char *path, size_t plen, const char *top)
{
	size_t len = strlen(top);

	return covers(top, len, path, plen);
}

/* Whether principal ("u:<uid>", "g:<gid>") names who or one of its
 * groups.  The store checked the form; anything else never matches. */
static bool is_who(const struct acl_who *who, const char *principal)
{
	char *end;
	unsigned long id;

	if ((principal[0] != 'u' && principal[0] != 'g') ||
	    principal[1] != ':' || principal[2] < '0' || principal[2] > '9')
		return false;
	id = strtoul(principal + 2, &end, 10);
	if (*end || id > UINT32_MAX)
		return false;
	if (principal[0] == 'u')
		return (uid_t)id == who->uid;
	if ((gid_t)id == who->gid)
		return true;
	for (size_t i = 0; i < who->ngroups; i++)
		if (who->groups[i] == (gid_t)id)
			return true;
	return false;
}

static unsigned role_mask(const char *role)
{
	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (strcmp(role, roles[i].name) == 0)
			return roles[i].mask;
	return 0; /* an unknown role gives nothing */
}

static int gather_one(void *arg, const char *scope, const char *principal,
		      const char *role)
{
	struct gather *g = arg;
	size_t slen = strlen(scope);
	unsigned mask = role_mask(role);

	if (!mask || !is_who(g->who, principal))
		return 0;
	if (covers(scope, slen, g->path, g->plen)) {
		g->mask |= mask;
		/* A role on one secret (a scope below /secrets) reads it. */
		if (mask == ADMIN || strncmp(scope, "/secrets/", 9) == 0)
			g->secret_ok = true;
	}
	if (covers(g->path, g->plen, scope, slen))
		g->above = true;
	return 0;
}

static int gather(struct store *s, const struct acl_who *who, const char *path,
		  struct gather *out)
{
	int rc = store_binding_scope_check(path);

	if (rc)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->who = who;
	out->path = path;
	out->plen = strlen(path);
	return store_binding_each(s, gather_one, out);
}

/* The action really asked: reads of the guarded trees need more. */
static enum acl_action guarded(enum acl_action act, const struct gather *g)
{
	if ((act == ACL_LIST || act == ACL_READ) &&
	    under(g->path, g->plen, "/audit"))
		return ACL_AUDIT;
	if (act == ACL_READ && under(g->path, g->plen, "/secrets"))
		return ACL_SECRET;
	return act;
}

static bool allowed(const struct gather *g, enum acl_action act)
{
	act = guarded(act, g);
	if (act == ACL_SECRET)
		return g->secret_ok;
	if (act == ACL_TRAVERSE && g->above)
		return true;
	return (g->mask & BIT(act)) != 0;
}

int acl_decide(struct store *s, const struct acl_who *who, enum acl_action act,
	       const char *path)
{
	struct gather g;
	int rc;

	if ((unsigned)act > ACL_ADMIN)
		return -EINVAL;
	rc = gather(s, who, path, &g);
	if (rc)
		return rc;
	return allowed(&g, act) ? 0 : -EACCES;
}

int acl_role_bits(struct store *s, const struct acl_who *who, const char *path)
{
	struct gather g;
	int rc = gather(s, who, path, &g);

	if (rc)
		return rc;
	return (allowed(&g, ACL_LIST) ? ACL_BIT_R : 0) |
	       (allowed(&g, ACL_WRITE) ? ACL_BIT_W : 0) |
	       (allowed(&g, ACL_TRAVERSE) ? ACL_BIT_X : 0);
}
