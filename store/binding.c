/*
 * binding.c - role bindings: which principal holds which role on which
 * scope.  Kept here as checked data; acl/rbac.c gives them meaning.  Key
 * layout in FORMAT.md (namespace cf, KEY_NS_BINDING).
 */
#include "store_i.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "u:" + at most 10 digits (a 32-bit id) + NUL */
#define PRINCIPAL_MAX 13
/* KEY_NS_BINDING + scope + NUL + principal */
#define BKEY_MAX (1 + STORE_SCOPE_MAX + 1 + PRINCIPAL_MAX)

/* Generations are unique in the process, across stores opened and
 * closed, so a cache keyed by one never mistakes a store for another. */
static uint64_t gen_counter;

static void bump_gen(struct store *s)
{
	__atomic_store_n(&s->binding_gen,
			 __atomic_add_fetch(&gen_counter, 1, __ATOMIC_RELAXED),
			 __ATOMIC_RELEASE);
}

static const char *const roles[] = {"reader", "writer", "promoter", "auditor",
				    "admin"};

int store_binding_scope_check(const char *scope)
{
	size_t len = strnlen(scope, STORE_SCOPE_MAX + 1);
	const char *p, *end;

	if (len > STORE_SCOPE_MAX)
		return -ENAMETOOLONG;
	if (scope[0] != '/')
		return -EINVAL;
	if (len == 1)
		return 0;
	/* Each component between slashes: an empty one is "//" or a
	 * trailing '/'. */
	for (p = scope + 1; p <= scope + len; p = end + 1) {
		int rc;

		end = memchr(p, '/', (size_t)(scope + len - p));
		if (!end)
			end = scope + len;
		rc = store_name_check(p, (size_t)(end - p));
		if (rc)
			return rc;
	}
	return 0;
}

static bool principal_ok(const char *principal)
{
	size_t n;
	unsigned long long v;

	if ((principal[0] != 'u' && principal[0] != 'g') || principal[1] != ':')
		return false;
	n = strspn(principal + 2, "0123456789");
	if (n == 0 || n > 10 || principal[2 + n] != '\0')
		return false;
	if (n > 1 && principal[2] == '0')
		return false; /* one spelling per id */
	v = strtoull(principal + 2, NULL, 10);
	return v <= UINT32_MAX;
}

static bool role_ok(const char *role)
{
	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (strcmp(role, roles[i]) == 0)
			return true;
	return false;
}

/* A bad input as logged: its first 64 bytes, control characters as '?'
 * (a name must not forge log lines). */
static const char *shown(const char *in, char out[65])
{
	size_t i;

	for (i = 0; i < 64 && in[i]; i++)
		out[i] =
		    (unsigned char)in[i] < 0x20 || in[i] == 0x7f ? '?' : in[i];
	out[i] = '\0';
	return out;
}

/* Checks scope and principal, builds the key into k (BKEY_MAX). */
static int binding_key(const char *scope, const char *principal, uint8_t *k,
		       size_t *klen)
{
	int rc = store_binding_scope_check(scope);
	char show[65];
	size_t sl, pl;

	if (rc) {
		store_log(STORE_LOG_ERR,
			  "role binding: bad scope \"%.64s\" "
			  "(an absolute path like "
			  "/pipelines/train)",
			  shown(scope, show));
		return rc;
	}
	if (!principal_ok(principal)) {
		store_log(STORE_LOG_ERR,
			  "role binding: bad principal \"%.64s\" (u:<uid> "
			  "or g:<gid>)",
			  shown(principal, show));
		return -EINVAL;
	}
	sl = strlen(scope);
	pl = strlen(principal);
	*klen = key_add_bytes(k, key_tag(k, KEY_NS_BINDING), scope, sl);
	*klen = key_add_bytes(k, key_add_nul(k, *klen), principal, pl);
	return 0;
}

int store_binding_set(struct store *s, const struct store_caller *c,
		      const char *scope, const char *principal,
		      const char *role)
{
	uint8_t k[BKEY_MAX];
	struct commit t;
	char show[65];
	size_t kl;
	int rc = binding_key(scope, principal, k, &kl);

	if (rc)
		return rc;
	if (!role_ok(role)) {
		store_log(STORE_LOG_ERR,
			  "role binding: unknown role \"%.64s\" (reader, "
			  "writer, promoter, auditor or admin)",
			  shown(role, show));
		return -EINVAL;
	}
	rc = commit_begin(s, c, &t);
	if (rc)
		return rc;
	db_batch_put(t.b, CF_NAMESPACE, k, kl, role, strlen(role));
	commit_note(&t, "role.grant", NULL, "%s %s %s", scope, principal, role);
	rc = commit_end(&t, 0);
	if (!rc)
		bump_gen(s);
	return rc;
}

int store_binding_delete(struct store *s, const struct store_caller *c,
			 const char *scope, const char *principal)
{
	uint8_t k[BKEY_MAX];
	struct commit t;
	char role[16] = "";
	void *val;
	size_t kl, len;
	int rc = binding_key(scope, principal, k, &kl);

	if (rc)
		return rc;
	rc = commit_begin(s, c, &t);
	if (rc)
		return rc;
	rc = db_batch_get(t.b, CF_NAMESPACE, k, kl, &val, &len);
	if (!rc) {
		/* The record names the role taken away. */
		snprintf(role, sizeof(role), "%.*s",
			 (int)(len < sizeof(role) ? len : sizeof(role) - 1),
			 (const char *)val);
		free(val);
		db_batch_delete(t.b, CF_NAMESPACE, k, kl);
		commit_note(&t, "role.revoke", NULL, "%s %s %s", scope,
			    principal, role);
	}
	rc = commit_end(&t, rc);
	if (!rc)
		bump_gen(s);
	return rc;
}

int store_binding_get(struct store *s, const char *scope, const char *principal,
		      char role[STORE_ROLE_MAX])
{
	uint8_t k[BKEY_MAX];
	size_t kl, len;
	void *val;
	int rc = binding_key(scope, principal, k, &kl);

	if (rc)
		return rc;
	rc = db_get(s->db, CF_NAMESPACE, k, kl, &val, &len);
	if (rc)
		return rc;
	if (len >= STORE_ROLE_MAX) {
		free(val);
		store_log(STORE_LOG_ERR, "role binding: malformed record");
		return -EIO;
	}
	memcpy(role, val, len);
	role[len] = '\0';
	free(val);
	return 0;
}

struct binding_scan {
	int (*fn)(void *arg, const char *scope, const char *principal,
		  const char *role);
	void *arg;
};

/* key: KEY_NS_BINDING scope NUL principal; value: the role's name */
static int scan_binding(void *arg, const void *key, size_t klen,
			const void *val, size_t vlen)
{
	struct binding_scan *c = arg;
	char buf[BKEY_MAX + 1], role[16];
	const char *scope = buf, *principal;
	size_t sl;

	if (klen < 2 || klen > BKEY_MAX || vlen >= sizeof(role))
		goto bad;
	memcpy(buf, (const char *)key + 1, klen - 1);
	buf[klen - 1] = '\0';
	sl = strlen(scope);
	if (sl + 1 >= klen - 1)
		goto bad;
	principal = scope + sl + 1;
	memcpy(role, val, vlen);
	role[vlen] = '\0';
	return c->fn(c->arg, scope, principal, role);
bad:
	store_log(STORE_LOG_ERR,
		  "role binding: malformed record (%zu-byte "
		  "key)",
		  klen);
	return -EIO;
}

int store_binding_each(struct store *s,
		       int (*fn)(void *arg, const char *scope,
				 const char *principal, const char *role),
		       void *arg)
{
	struct binding_scan c = {fn, arg};
	uint8_t tag = KEY_NS_BINDING;

	return db_scan(s->db, CF_NAMESPACE, &tag, 1, scan_binding, &c);
}

uint64_t store_binding_gen(struct store *s)
{
	uint64_t g = __atomic_load_n(&s->binding_gen, __ATOMIC_ACQUIRE);

	if (!g) {
		uint64_t fresh =
		    __atomic_add_fetch(&gen_counter, 1, __ATOMIC_RELAXED);

		if (__atomic_compare_exchange_n(&s->binding_gen, &g, fresh,
						false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			g = fresh;
	}
	return g;
}
