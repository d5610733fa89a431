/*
 * closure.c - what a trimmed export keeps besides its versions (export.c).
 *
 * Once the versions outside the selection are gone (retain_select), the
 * copy keeps the runs that made a version it still holds: the closure's
 * runs.  Every other run goes with everything about it: its record and
 * notes, its steps, their outputs entries (an open run's included: each
 * releases its content), their environment snapshots (each releases its
 * listing; one a kept step shares stays), traces and lineage edges, and
 * the cache entries naming its steps.  A pipeline with no run left goes
 * too, and so does an artifact with no version left, with its aliases;
 * an alias of a kept artifact naming a version that went goes as well,
 * and a role binding on a scope the copy no longer holds (such a
 * pipeline, run or artifact).
 * What nothing references then is gc's.
 *
 * A kept run's lineage edges naming a version the copy does not hold
 * (what another step of the run read, another output of the step) go
 * too, so that every edge leads to something exported; the run's
 * journal records still tell what it read.
 */
#include "store_i.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "pipeline/run" (names hold no '/'). */
#define RUN_ID_MAX (2 * (STORE_NAME_MAX + 1))

/* Sorted, without repeats. */
struct runs {
	char (*id)[RUN_ID_MAX];
	size_t n, cap;
};

struct trim {
	struct store *s;
	struct runs keep;
	struct db_batch *b;
	struct store_stats st;
	size_t staged;	      /* deletions in b */
	const char *artifact; /* the artifact whose aliases are looked at */
};

/* Batches stay small: committed every TRIM_BATCH deletions. */
#define TRIM_BATCH 4096

static int runs_add(struct runs *r, const char *id)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 64;
		void *p = realloc(r->id, cap * sizeof(*r->id));

		if (!p)
			return -ENOMEM;
		r->id = p;
		r->cap = cap;
	}
	snprintf(r->id[r->n++], RUN_ID_MAX, "%s", id);
	return 0;
}

static int id_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static bool run_kept(const struct runs *r, const char *id)
{
	return r->n && bsearch(id, r->id, r->n, sizeof(*r->id), id_cmp);
}

/* Whether a run of pipeline p is kept. */
static bool pipeline_kept(const struct runs *r, const char *p)
{
	size_t n = strlen(p);

	for (size_t i = 0; i < r->n; i++) {
		if (!strncmp(r->id[i], p, n) && r->id[i][n] == '/')
			return true;
	}
	return false;
}

/* ------------------------------------------------------ the kept runs */

static int kept_version(void *arg, const struct store_version *v)
{
	const char *a = strchr(v->run, '/'), *b = a ? strchr(a + 1, '/') : NULL;
	char id[RUN_ID_MAX];

	if (!a)
		return 0;
	snprintf(id, sizeof(id), "%.*s",
		 (int)(b ? b - v->run : (ptrdiff_t)strlen(v->run)), v->run);
	return runs_add(arg, id);
}

static int kept_artifact(void *arg, const char *name)
{
	struct trim *t = arg;

	return store_version_each(t->s, name, kept_version, &t->keep);
}

static int runs_collect(struct trim *t)
{
	int rc = store_artifact_each(t->s, kept_artifact, t);
	size_t n = 0;

	if (rc || !t->keep.n)
		return rc;
	qsort(t->keep.id, t->keep.n, sizeof(*t->keep.id), id_cmp);
	for (size_t i = 0; i < t->keep.n; i++) {
		if (!n || strcmp(t->keep.id[n - 1], t->keep.id[i]))
			memmove(t->keep.id[n++], t->keep.id[i],
				sizeof(*t->keep.id));
	}
	t->keep.n = n;
	return 0;
}

/* ------------------------------------------------------------ batches */

static int batch_open(struct trim *t)
{
	t->b = db_batch_new(t->s->db);
	t->staged = 0;
	return t->b ? stats_load(t->b, &t->st) : -ENOMEM;
}

static int batch_close(struct trim *t)
{
	int rc;

	stats_save(t->b, &t->st);
	rc = db_batch_commit(t->b);
	db_batch_free(t->b);
	t->b = NULL;
	return rc;
}

/* Stages the deletion of key from cf; commits a full batch. */
static int trim_delete(struct trim *t, enum db_cf cf, const void *key,
		       size_t klen)
{
	int rc;

	db_batch_delete(t->b, cf, key, klen);
	if (++t->staged < TRIM_BATCH)
		return 0;
	rc = batch_close(t);
	return rc ? rc : batch_open(t);
}

/* ---------------------------------------------------------- the keys */

/* The run of key: names from off on, "pipeline NUL run [NUL ...]", as
 * "pipeline/run" into id.  -EIO when the key holds no such names. */
static int key_run(const uint8_t *k, size_t klen, size_t off, char *id)
{
	const uint8_t *p = k + off, *end = k + klen;
	const uint8_t *z1 = off < klen ? memchr(p, 0, (size_t)(end - p)) : NULL;
	const uint8_t *r = z1 ? z1 + 1 : NULL;
	const uint8_t *z2 = r ? memchr(r, 0, (size_t)(end - r)) : NULL;
	size_t pn = z1 ? (size_t)(z1 - p) : 0;
	size_t rn = r ? (size_t)((z2 ? z2 : end) - r) : 0;

	if (!pn || !rn || pn > STORE_NAME_MAX || rn > STORE_NAME_MAX)
		return -EIO;
	snprintf(id, RUN_ID_MAX, "%.*s/%.*s", (int)pn, (const char *)p, (int)rn,
		 (const char *)r);
	return 0;
}

/* Where the names start in a key of cf: after the tag, or in a reader
 * edge (KEY_LN_USER) after the version; 0 when malformed. */
static size_t run_offset(enum db_cf cf, const uint8_t *k, size_t klen)
{
	const uint8_t *z;

	if (cf != CF_LINEAGE || k[0] != KEY_LN_USER)
		return 1;
	z = memchr(k + 1, 0, klen - 1);
	return z && (size_t)(z - k) + 5 < klen ? (size_t)(z - k) + 5 : 0;
}

/* What an outputs entry or an environment record holds goes with it. */
static int release(struct trim *t, const uint8_t *k, const void *val,
		   size_t vlen)
{
	struct store_output o;

	if (k[0] == KEY_NS_ENV) {
		if (vlen != 1 + STORE_DIGEST_LEN ||
		    ((const uint8_t *)val)[0] != RECORD_FORMAT)
			return -EIO;
		return unref_entry(t->s, t->b, &t->st, STORE_KIND_DIR,
				   (const uint8_t *)val + 1);
	}
	if (output_entry_decode(val, vlen, "", &o))
		return -EIO;
	if (o.e.kind == STORE_KIND_DIR)
		return 0;
	return unref_entry(t->s, t->b, &t->st, o.e.kind, o.e.digest);
}

struct scan {
	struct trim *t;
	enum db_cf cf;
};

/* The version a lineage edge names: the tail "artifact be32" of an
 * input or output edge, the head of a reader edge.  Whether the copy
 * holds it. */
static int edge_held(struct trim *t, const uint8_t *k, size_t klen, size_t off)
{
	char a[STORE_NAME_MAX + 1];
	const uint8_t *z = k + 1;
	struct store_version v;
	size_t n;
	int rc;

	for (int i = 0; k[0] != KEY_LN_USER && i < 3 && z; i++) {
		z = memchr(z, 0, klen - (size_t)(z - k));
		z = z ? z + 1 : NULL;
	}
	if (!z)
		return -EIO;
	n = k[0] == KEY_LN_USER ? off - 6 : klen - (size_t)(z - k) - 4;
	if (n == 0 || n > STORE_NAME_MAX || (size_t)(z - k) + n + 4 > klen)
		return -EIO;
	snprintf(a, sizeof(a), "%.*s", (int)n, (const char *)z);
	rc = store_version_get(t->s, a, be32_get(z + n + (k[0] == KEY_LN_USER)),
			       &v);
	return rc == -ENOENT ? 0 : rc ? rc : 1;
}

/* A key of a run (namespace or lineage): goes unless the run is kept;
 * an edge also goes when the version it names is not held. */
static int run_key(void *arg, const void *key, size_t klen, const void *val,
		   size_t vlen)
{
	struct scan *x = arg;
	const uint8_t *k = key;
	size_t off = run_offset(x->cf, k, klen);
	char id[RUN_ID_MAX];
	int rc;

	if (!off)
		return -EIO;
	rc = key_run(k, klen, off, id);
	if (rc)
		return rc;
	if (run_kept(&x->t->keep, id)) {
		if (x->cf != CF_LINEAGE || !strchr("iou", k[0]))
			return 0;
		rc = edge_held(x->t, k, klen, off);
		if (rc)
			return rc < 0 ? rc : 0;
	}
	if (x->cf == CF_NAMESPACE &&
	    (k[0] == KEY_NS_OUTPUT || k[0] == KEY_NS_ENV))
		rc = release(x->t, k, val, vlen);
	return rc ? rc : trim_delete(x->t, x->cf, key, klen);
}

/* A pipeline record: goes with its last run. */
static int pipeline_key(void *arg, const void *key, size_t klen,
			const void *val, size_t vlen)
{
	struct trim *t = arg;
	char p[STORE_NAME_MAX + 1];

	(void)val, (void)vlen;
	if (klen < 2 || klen - 1 > STORE_NAME_MAX)
		return -EIO;
	snprintf(p, sizeof(p), "%.*s", (int)(klen - 1), (const char *)key + 1);
	return pipeline_kept(&t->keep, p)
		   ? 0
		   : trim_delete(t, CF_NAMESPACE, key, klen);
}

/* A cache entry: goes unless the step it names is of a kept run. */
static int cache_key(void *arg, const void *key, size_t klen, const void *val,
		     size_t vlen)
{
	struct trim *t = arg;
	struct cursor c = {val, (const uint8_t *)val + vlen, false};
	char p[STORE_NAME_MAX + 1], r[STORE_NAME_MAX + 1], id[RUN_ID_MAX];

	if (cur_u8(&c) != RECORD_FORMAT)
		return -EIO;
	cur_str(&c, p, sizeof(p));
	cur_str(&c, r, sizeof(r));
	if (c.bad)
		return -EIO;
	snprintf(id, sizeof(id), "%s/%s", p, r);
	return run_kept(&t->keep, id) ? 0
				      : trim_delete(t, CF_NAMESPACE, key, klen);
}

/* ---------------------------------------------- artifacts and aliases */

static int any_version(void *arg, const struct store_version *v)
{
	(void)v;
	*(bool *)arg = true;
	return 1;
}

/* An alias of t->artifact: goes when its version went. */
static int alias_key(void *arg, const void *key, size_t klen, const void *val,
		     size_t vlen)
{
	struct trim *t = arg;
	struct store_version v;
	int rc;

	if (vlen != 4)
		return -EIO;
	rc = store_version_get(t->s, t->artifact, be32_get(val), &v);
	if (rc != -ENOENT)
		return rc;
	return trim_delete(t, CF_NAMESPACE, key, klen);
}

/* An artifact with no version left goes, with its aliases. */
static int artifact_one(void *arg, const char *name)
{
	struct trim *t = arg;
	uint8_t k[KEY_MAX];
	size_t kl;
	bool any = false;
	int rc = store_version_each(t->s, name, any_version, &any);

	if (rc < 0)
		return rc;
	t->artifact = name;
	kl = key_add_nul(k, key_names(k, KEY_NS_ALIAS, name, NULL, NULL));
	rc = db_scan(t->s->db, CF_NAMESPACE, k, kl, alias_key, t);
	if (rc || any)
		return rc;
	t->st.artifacts--;
	kl = key_names(k, KEY_NS_ARTIFACT, name, NULL, NULL);
	return trim_delete(t, CF_NAMESPACE, k, kl);
}

/* ------------------------------------------------------------ bindings */

/* The name at p (up to a '/' or the end) into out; where it ends, or
 * NULL when there is none. */
static const char *component(const char *p, char out[STORE_NAME_MAX + 1])
{
	size_t n = strcspn(p, "/");

	if (!n || n > STORE_NAME_MAX)
		return NULL;
	memcpy(out, p, n);
	out[n] = '\0';
	return p + n;
}

/* Whether the copy holds what scope names: an artifact with a version
 * left, a pipeline with a run left, a kept run; any other scope is. */
static bool scope_held(struct trim *t, const char *scope)
{
	char a[STORE_NAME_MAX + 1], r[STORE_NAME_MAX + 1], id[RUN_ID_MAX];
	const char *rest;

	if (!strncmp(scope, "/artifacts/", 11)) {
		rest = component(scope + 11, a);
		return !rest || store_artifact_get(t->s, a) == 0;
	}
	if (strncmp(scope, "/pipelines/", 11))
		return true;
	rest = component(scope + 11, a);
	if (!rest)
		return true;
	if (!pipeline_kept(&t->keep, a))
		return false;
	if (strncmp(rest, "/runs/", 6) || !component(rest + 6, r))
		return true;
	snprintf(id, sizeof(id), "%s/%s", a, r);
	return run_kept(&t->keep, id);
}

/* A role binding (scope NUL principal) on a scope the copy does not
 * hold goes. */
static int binding_key(void *arg, const void *key, size_t klen, const void *val,
		       size_t vlen)
{
	struct trim *t = arg;
	char scope[STORE_SCOPE_MAX + 1];
	const char *k = (const char *)key + 1;
	const char *z = memchr(k, 0, klen - 1);

	(void)val, (void)vlen;
	if (!z || (size_t)(z - k) > STORE_SCOPE_MAX)
		return -EIO;
	memcpy(scope, k, (size_t)(z - k));
	scope[z - k] = '\0';
	return scope_held(t, scope) ? 0
				    : trim_delete(t, CF_NAMESPACE, key, klen);
}

/* ---------------------------------------------------------------- all */

int export_runs_trim(struct store *d)
{
	static const char ns[] = {KEY_NS_RUN, KEY_NS_STEP, KEY_NS_NOTE,
				  KEY_NS_OUTPUT, KEY_NS_ENV};
	static const char ln[] = {KEY_LN_INPUT, KEY_LN_OUTPUT, KEY_LN_USER,
				  KEY_LN_TRACE, KEY_LN_TRACE_HEAD};
	struct trim t = {.s = d};
	struct scan x = {&t, CF_NAMESPACE};
	uint8_t tag;
	int rc = runs_collect(&t);

	if (!rc)
		rc = batch_open(&t);
	for (size_t i = 0; !rc && i < sizeof(ns); i++) {
		tag = (uint8_t)ns[i];
		rc = db_scan(d->db, CF_NAMESPACE, &tag, 1, run_key, &x);
	}
	x.cf = CF_LINEAGE;
	for (size_t i = 0; !rc && i < sizeof(ln); i++) {
		tag = (uint8_t)ln[i];
		rc = db_scan(d->db, CF_LINEAGE, &tag, 1, run_key, &x);
	}
	tag = KEY_NS_PIPELINE;
	if (!rc)
		rc = db_scan(d->db, CF_NAMESPACE, &tag, 1, pipeline_key, &t);
	tag = KEY_NS_CACHE;
	if (!rc)
		rc = db_scan(d->db, CF_NAMESPACE, &tag, 1, cache_key, &t);
	if (!rc)
		rc = store_artifact_each(d, artifact_one, &t);
	/* Bindings see the artifacts gone: a batch of their own. */
	if (!rc)
		rc = batch_close(&t);
	if (!rc)
		rc = batch_open(&t);
	tag = KEY_NS_BINDING;
	if (!rc)
		rc = db_scan(d->db, CF_NAMESPACE, &tag, 1, binding_key, &t);
	if (!rc)
		rc = batch_close(&t);
	else if (t.b)
		db_batch_free(t.b);
	free(t.keep.id);
	return rc;
}
