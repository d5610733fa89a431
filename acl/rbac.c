/*
 * rbac.c - what a role allows, decided from the store's role bindings.
 * The rules are in acl.h; this file only applies them.
 *
 * The bindings are read once into a snapshot (scopes, parsed principals,
 * role masks) and read again only when the store says they changed
 * (store_binding_gen), so a decision costs a walk over a few rules in
 * memory, not a RocksDB scan.
 */
#include "acl.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
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

/* One binding, parsed. */
struct rule {
	char *scope;
	size_t slen;
	char tag; /* 'u' or 'g' */
	uint32_t id;
	unsigned mask;
	bool secret; /* gives ACL_SECRET where it applies */
};

struct snap {
	const struct store *s;
	uint64_t gen;
	unsigned refs; /* under cache_lock */
	bool groups;   /* some rule names a group */
	size_t n, cap;
	struct rule *r;
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct snap *cache;

/* Who reads an export (acl_export_readers): everyone, or one group. */
static struct {
	const struct store *s; /* NULL: everyone, on any export */
	bool group;
	uint32_t gid;
} readers;

static void snap_free(struct snap *sn)
{
	for (size_t i = 0; sn && i < sn->n; i++)
		free(sn->r[i].scope);
	if (sn)
		free(sn->r);
	free(sn);
}

static unsigned role_mask(const char *role)
{
	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (strcmp(role, roles[i].name) == 0)
			return roles[i].mask;
	return 0; /* an unknown role gives nothing */
}

bool acl_role_valid(const char *role)
{
	return role_mask(role) != 0;
}

/* "u:<id>" or "g:<id>" (the store checked the form). */
static bool parse_principal(const char *p, char *tag, uint32_t *id)
{
	char *end;
	unsigned long v;

	if ((p[0] != 'u' && p[0] != 'g') || p[1] != ':' || p[2] < '0' ||
	    p[2] > '9')
		return false;
	v = strtoul(p + 2, &end, 10);
	if (*end || v > UINT32_MAX)
		return false;
	*tag = p[0];
	*id = (uint32_t)v;
	return true;
}

static int load_one(void *arg, const char *scope, const char *principal,
		    const char *role)
{
	struct snap *sn = arg;
	struct rule r = {0};

	r.mask = role_mask(role);
	if (!r.mask || !parse_principal(principal, &r.tag, &r.id))
		return 0;
	if (sn->n == sn->cap) {
		size_t cap = sn->cap ? 2 * sn->cap : 16;
		struct rule *nr = realloc(sn->r, cap * sizeof(*nr));

		if (!nr)
			return -ENOMEM;
		sn->r = nr;
		sn->cap = cap;
	}
	r.scope = strdup(scope);
	if (!r.scope)
		return -ENOMEM;
	r.slen = strlen(scope);
	/* A role on one secret (a scope below /secrets) reads it. */
	r.secret = r.mask == ADMIN || strncmp(scope, "/secrets/", 9) == 0;
	sn->groups |= r.tag == 'g';
	sn->r[sn->n++] = r;
	return 0;
}

/* An export's read rule (acl.h): the auditor role on "/" for everyone
 * ('*'), or for the readers' group. */
static int load_export_rule(struct snap *sn, struct store *s)
{
	char principal[ACL_PRINCIPAL_MAX] = "*:0";

	pthread_mutex_lock(&cache_lock);
	if (readers.s == s && readers.group)
		snprintf(principal, sizeof(principal), "g:%u", readers.gid);
	pthread_mutex_unlock(&cache_lock);
	if (principal[0] == 'g')
		return load_one(sn, "/", principal, "auditor");
	if (load_one(sn, "/", "u:0", "auditor"))
		return -ENOMEM;
	sn->r[sn->n - 1].tag = '*';
	return 0;
}

static void snap_put(struct snap *sn)
{
	bool last;

	if (!sn)
		return;
	pthread_mutex_lock(&cache_lock);
	last = --sn->refs == 0;
	pthread_mutex_unlock(&cache_lock);
	if (last)
		snap_free(sn);
}

/* The current snapshot of s's bindings, with a reference. */
static int snap_get(struct store *s, struct snap **out)
{
	uint64_t gen = store_binding_gen(s);
	struct snap *sn;
	int rc;

	pthread_mutex_lock(&cache_lock);
	if (cache && cache->s == s && cache->gen == gen) {
		cache->refs++;
		*out = cache;
		pthread_mutex_unlock(&cache_lock);
		return 0;
	}
	pthread_mutex_unlock(&cache_lock);
	sn = calloc(1, sizeof(*sn));
	if (!sn)
		return -ENOMEM;
	sn->s = s;
	sn->gen = gen;
	sn->refs = 2; /* the cache's and the caller's */
	rc = store_binding_each(s, load_one, sn);
	if (!rc && store_exported(s))
		rc = load_export_rule(sn, s);
	if (rc) {
		snap_free(sn);
		return rc < 0 ? rc : -EIO;
	}
	pthread_mutex_lock(&cache_lock);
	if (cache && --cache->refs == 0)
		snap_free(cache);
	cache = sn;
	pthread_mutex_unlock(&cache_lock);
	*out = sn;
	return 0;
}

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
	return covers(top, strlen(top), path, plen);
}

/* Which rules count: the caller's (who), or one principal's (tag, id). */
struct match {
	const struct store_caller *who;
	char tag;
	uint32_t id;
};

static bool matches(const struct match *mt, const struct rule *r)
{
	const struct store_caller *w = mt->who;

	if (r->tag == '*')
		return true; /* an export's readers: everyone */
	if (!w)
		return r->tag == mt->tag && r->id == mt->id;
	if (r->tag == 'u')
		return r->id == (uint32_t)w->uid;
	if (r->id == (uint32_t)w->gid)
		return true;
	for (size_t i = 0; i < w->ngroups; i++)
		if (w->groups[i] == (gid_t)r->id)
			return true;
	return false;
}

/* What the matching rules give on one path. */
struct gather {
	const char *path;
	size_t plen;
	unsigned mask;	/* actions of the rules that apply */
	bool above;	/* path lies above one of the scopes */
	bool secret_ok; /* ACL_SECRET allowed */
};

static void gather(const struct snap *sn, const struct match *mt,
		   const char *path, size_t plen, struct gather *g)
{
	memset(g, 0, sizeof(*g));
	g->path = path;
	g->plen = plen;
	for (size_t i = 0; i < sn->n; i++) {
		const struct rule *r = &sn->r[i];

		if (!matches(mt, r))
			continue;
		if (covers(r->scope, r->slen, path, plen)) {
			g->mask |= r->mask;
			g->secret_ok |= r->secret;
		}
		if (covers(path, plen, r->scope, r->slen))
			g->above = true;
	}
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

static int bits_of(const struct gather *g)
{
	/* A secret's r is reading its value, not listing. */
	enum acl_action r = g->plen > 9 && !strncmp(g->path, "/secrets/", 9)
				? ACL_READ
				: ACL_LIST;

	return (allowed(g, r) ? ACL_BIT_R : 0) |
	       (allowed(g, ACL_WRITE) ? ACL_BIT_W : 0) |
	       (allowed(g, ACL_TRAVERSE) ? ACL_BIT_X : 0);
}

/* Whether act changes the store (refused on a read-only one). */
static bool changes(enum acl_action act)
{
	return act == ACL_WRITE || act == ACL_SEAL_OTHERS || act == ACL_ALIAS;
}

int acl_decide(struct store *s, const struct store_caller *who,
	       enum acl_action act, const char *path)
{
	struct match mt = {.who = who};
	struct gather g;
	struct snap *sn;
	int rc;

	if ((unsigned)act > ACL_ADMIN || store_binding_scope_check(path))
		return -EINVAL;
	if (changes(act) && store_read_only(s))
		return -EROFS;
	rc = snap_get(s, &sn);
	if (rc)
		return rc;
	gather(sn, &mt, path, strlen(path), &g);
	snap_put(sn);
	return allowed(&g, act) ? 0 : -EACCES;
}

/* The rule for changing a run, on what the rules give one principal:
 * its own runs for a writer, others' for a promoter to end, an admin
 * otherwise.  acl_decide_run and the view's w bits both ask it. */
static bool run_change_ok(const struct gather *g, bool owner,
			  enum acl_view_rule rule)
{
	if (!allowed(g, ACL_WRITE))
		return false;
	return owner || allowed(g, rule == ACL_VIEW_RUN_END ? ACL_SEAL_OTHERS
							    : ACL_ADMIN);
}

int acl_decide_run(struct store *s, const struct store_caller *who, uid_t owner,
		   bool end, const char *path)
{
	struct match mt = {.who = who};
	struct gather g;
	struct snap *sn;
	int rc;

	if (store_binding_scope_check(path))
		return -EINVAL;
	if (store_read_only(s))
		return -EROFS;
	rc = snap_get(s, &sn);
	if (rc)
		return rc;
	gather(sn, &mt, path, strlen(path), &g);
	snap_put(sn);
	return run_change_ok(&g, who->uid == owner,
			     end ? ACL_VIEW_RUN_END : ACL_VIEW_RUN)
		   ? 0
		   : -EACCES;
}

int acl_role_bits(struct store *s, const struct store_caller *who,
		  const char *path)
{
	struct match mt = {.who = who};
	struct gather g;
	struct snap *sn;
	int rc;

	if (store_binding_scope_check(path))
		return -EINVAL;
	rc = snap_get(s, &sn);
	if (rc)
		return rc;
	gather(sn, &mt, path, strlen(path), &g);
	snap_put(sn);
	return bits_of(&g);
}

int acl_needs_groups(struct store *s)
{
	struct snap *sn;
	int rc = snap_get(s, &sn);

	if (rc)
		return rc;
	rc = sn->groups;
	snap_put(sn);
	return rc;
}

/* ------------------------------------------------------------ ACL view */

static int entry_cmp(const void *a, const void *b)
{
	const struct acl_entry *x = a, *y = b;

	if (x->tag != y->tag)
		return x->tag == 'u' ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Whether principal tag:id is already among v's named entries. */
static bool listed(const struct acl_view *v, char tag, uint32_t id)
{
	for (size_t i = 0; i < v->n; i++)
		if (v->named[i].tag == tag && v->named[i].id == id)
			return true;
	return false;
}

/* The bits of principal tag:id at path; inside a run (rule) w only where
 * the run rule lets it change the run (owner: the run's). */
static int principal_bits(const struct snap *sn, char tag, uint32_t id,
			  const char *path, size_t plen,
			  enum acl_view_rule rule, uid_t owner)
{
	struct match mt = {.tag = tag, .id = id};
	struct gather g;
	int bits;

	gather(sn, &mt, path, plen, &g);
	bits = bits_of(&g);
	if (rule != ACL_VIEW_PLAIN &&
	    !run_change_ok(&g, tag == 'u' && id == (uint32_t)owner, rule))
		bits &= ~ACL_BIT_W;
	return bits;
}

int acl_view_get(struct store *s, const char *path, uid_t owner, gid_t group,
		 enum acl_view_rule rule, bool named, struct acl_view *out)
{
	size_t plen = strlen(path);
	struct snap *sn;
	int rc;

	memset(out, 0, sizeof(*out));
	if (store_binding_scope_check(path))
		return -EINVAL;
	rc = snap_get(s, &sn);
	if (rc)
		return rc;
	out->user_bits =
	    principal_bits(sn, 'u', (uint32_t)owner, path, plen, rule, owner);
	out->group_bits =
	    principal_bits(sn, 'g', (uint32_t)group, path, plen, rule, owner);
	out->mask = out->group_bits;
	for (size_t i = 0; i < sn->n; i++) {
		const struct rule *r = &sn->r[i];
		int bits;

		if (r->tag == '*' || !covers(r->scope, r->slen, path, plen))
			continue; /* only bindings that apply here */
		if ((r->tag == 'u' && r->id == (uint32_t)owner) ||
		    (r->tag == 'g' && r->id == (uint32_t)group))
			continue; /* shown as the owner's and group's */
		if (named && listed(out, r->tag, r->id))
			continue;
		bits =
		    principal_bits(sn, r->tag, r->id, path, plen, rule, owner);
		out->mask |= bits;
		if (!named)
			continue;
		if (out->n % 16 == 0) {
			struct acl_entry *ne =
			    realloc(out->named, (out->n + 16) * sizeof(*ne));

			if (!ne) {
				rc = -ENOMEM;
				break;
			}
			out->named = ne;
		}
		out->named[out->n++] = (struct acl_entry){
		    .tag = r->tag, .id = r->id, .bits = bits};
	}
	snap_put(sn);
	if (rc) {
		acl_view_release(out);
		return rc;
	}
	if (out->n)
		qsort(out->named, out->n, sizeof(*out->named), entry_cmp);
	return 0;
}

void acl_view_release(struct acl_view *v)
{
	free(v->named);
	v->named = NULL;
	v->n = 0;
}

const char *acl_bits_role(int bits)
{
	if (bits & ACL_BIT_W)
		return "writer";
	if (bits & ACL_BIT_R)
		return "reader";
	return NULL;
}

int acl_binding_nearest(struct store *s, char tag, uint32_t id,
			const char *path, char *scope, size_t size)
{
	size_t plen = strlen(path), best = 0;
	const struct rule *found = NULL;
	struct snap *sn;
	int rc = snap_get(s, &sn);

	if (rc)
		return rc;
	for (size_t i = 0; i < sn->n; i++) {
		const struct rule *r = &sn->r[i];

		if (r->tag == tag && r->id == id &&
		    covers(r->scope, r->slen, path, plen) &&
		    (!found || r->slen > best)) {
			found = r;
			best = r->slen;
		}
	}
	rc = !found ? -ENOENT : found->slen >= size ? -ENAMETOOLONG : 0;
	if (!rc)
		memcpy(scope, found->scope, found->slen + 1);
	snap_put(sn);
	return rc;
}

int acl_export_readers(struct store *s, const char *group)
{
	char principal[ACL_PRINCIPAL_MAX], spec[ACL_NAME_MAX + 2];
	int rc = 0;

	if (group) {
		snprintf(spec, sizeof(spec), "@%s", group + (group[0] == '@'));
		rc = acl_principal_parse(spec, principal);
		if (rc)
			return rc;
	}
	pthread_mutex_lock(&cache_lock);
	readers.s = s;
	readers.group = group != NULL;
	readers.gid = group ? (uint32_t)strtoul(principal + 2, NULL, 10) : 0;
	if (cache && --cache->refs == 0)
		snap_free(cache); /* the next decision reads the rule again */
	cache = NULL;
	pthread_mutex_unlock(&cache_lock);
	return 0;
}
