/*
 * retain.c - retention: which versions gc may delete, and deleting them.
 *
 * Rules (struct store_retain_rule) cover versions by scope: every
 * artifact ("/", "/artifacts"), one artifact ("/artifacts/NAME") or the
 * versions a pipeline's runs produced ("/pipelines/NAME").  A version no
 * rule covers is kept.  A covered version goes when no rule covering it
 * keeps it (the newest keep_last of its artifact in the rule's scope, or
 * younger than keep_younger) and nothing pins it:
 *   - an alias points at it ("latest" included: an artifact never empties);
 *   - an open run read it;
 *   - a cache entry refers to it (retain_pin_cached);
 *   - it is upstream (lineage) of a version that stays, at any depth.
 * Deleting a version is one commit with its tombstone record
 * ("version.delete", the version's path and digest): the version record,
 * its times and the producing step's outputs entries for it go, and its
 * tree loses a reference; content nothing else references is then gc's.
 */
#include "store_i.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum rv_state { RV_FREE = 0, RV_GOES, RV_KEPT };

struct rv {
	struct store_version v;
	enum rv_state state;
	bool pinned; /* kept although a rule lets it go */
	char why[STORE_RETAIN_SCOPE_MAX + 160];
};

struct plan {
	struct store *s;
	const struct store_retain *r;
	struct rv *v;
	size_t n, cap, first; /* first: the current artifact's first */
	size_t *work;	      /* kept versions whose upstream is to walk */
	size_t nwork;
	int err;
};

/*
 * The hook for "a cache entry refers to this version": the step cache
 * keeps the outputs it links, so gc must not delete them.
 */
static bool retain_pin_cached(struct store *s, const struct store_version *v)
{
	return store_cache_refers(s, v->artifact, v->number);
}

/* Whether rule covers version v. */
static bool rule_covers(const struct store_retain_rule *r,
			const struct store_version *v)
{
	const char *sc = r->scope;
	size_t n;

	if (!strcmp(sc, "/") || !strcmp(sc, "/artifacts"))
		return true;
	if (!strncmp(sc, "/artifacts/", 11))
		return !strcmp(sc + 11, v->artifact);
	if (strncmp(sc, "/pipelines/", 11))
		return false;
	n = strlen(sc + 11);
	return !strncmp(v->run, sc + 11, n) && v->run[n] == '/';
}

static void age_str(int64_t ns, char *out, size_t cap)
{
	int64_t s = ns / 1000000000;

	if (s % 86400 == 0)
		snprintf(out, cap, "%lldd", (long long)(s / 86400));
	else if (s % 3600 == 0)
		snprintf(out, cap, "%lldh", (long long)(s / 3600));
	else
		snprintf(out, cap, "%llds", (long long)s);
}

/* Applies rule to the current artifact's versions, newest first. */
static void rule_apply(struct plan *p, const struct store_retain_rule *r)
{
	uint32_t seen = 0;
	char age[32], last[48];

	age_str(r->keep_younger, age, sizeof(age));
	snprintf(last, sizeof(last), "not among the newest %u%s", r->keep_last,
		 r->keep_younger ? ", " : "");
	for (size_t i = p->n; i-- > p->first;) {
		struct rv *e = &p->v[i];

		if (!rule_covers(r, &e->v))
			continue;
		seen++;
		if ((r->keep_last && seen <= r->keep_last) ||
		    (r->keep_younger &&
		     p->r->now - e->v.created < r->keep_younger)) {
			e->state = RV_KEPT;
		} else if (e->state == RV_FREE) {
			e->state = RV_GOES;
			snprintf(e->why, sizeof(e->why), "%s%s%s (rule %s)",
				 r->keep_last ? last : "",
				 r->keep_younger ? "older than " : "",
				 r->keep_younger ? age : "", r->scope);
		}
	}
}

static int add_version(void *arg, const struct store_version *v)
{
	struct plan *p = arg;

	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 256;
		struct rv *nv = realloc(p->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		p->v = nv;
		p->cap = cap;
	}
	memset(&p->v[p->n], 0, sizeof(p->v[p->n]));
	p->v[p->n++].v = *v;
	return 0;
}

static int add_artifact(void *arg, const char *name)
{
	struct plan *p = arg;
	int rc;

	p->first = p->n;
	rc = store_version_each(p->s, name, add_version, p);
	if (rc)
		return rc;
	for (size_t i = 0; i < p->r->n; i++)
		rule_apply(p, &p->r->rules[i]);
	/* Covered by no rule, or kept by one: stays. */
	for (size_t i = p->first; i < p->n; i++) {
		if (p->v[i].state == RV_FREE)
			p->v[i].state = RV_KEPT;
	}
	return 0;
}

static struct rv *find(struct plan *p, const char *artifact, uint32_t number)
{
	size_t lo = 0, hi = p->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(p->v[mid].v.artifact, artifact);

		if (!c && p->v[mid].v.number == number)
			return &p->v[mid];
		if (c < 0 || (!c && p->v[mid].v.number < number))
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Keeps e (a version a rule lets go) for why; its upstream is walked. */
static void pin(struct plan *p, struct rv *e, const char *why)
{
	if (e->state != RV_GOES)
		return;
	e->state = RV_KEPT;
	e->pinned = true;
	snprintf(e->why, sizeof(e->why), "%s", why);
	p->work[p->nwork++] = (size_t)(e - p->v);
}

struct pin_ctx {
	struct plan *p;
	struct rv *e;
};

static int pin_alias(void *arg, const char *alias, uint32_t number)
{
	struct pin_ctx *x = arg;
	struct rv *e = find(x->p, x->e->v.artifact, number);
	char why[STORE_NAME_MAX + 16];

	snprintf(why, sizeof(why), "alias %s", alias);
	if (e)
		pin(x->p, e, why);
	return 0;
}

static int pin_reader(void *arg, const char *pipeline, const char *run,
		      const char *step)
{
	struct pin_ctx *x = arg;
	struct store_run r;
	char why[2 * STORE_NAME_MAX + 32];

	(void)step;
	if (store_run_get(x->p->s, pipeline, run, &r) ||
	    r.status != STORE_RUN_OPEN)
		return 0;
	snprintf(why, sizeof(why), "read by the open run %s/%s", pipeline, run);
	pin(x->p, x->e, why);
	return 0;
}

static int pin_input(void *arg, const char *artifact, uint32_t number)
{
	struct pin_ctx *x = arg;
	struct rv *e = find(x->p, artifact, number);
	char why[STORE_NAME_MAX + 32];

	snprintf(why, sizeof(why), "upstream of %s@v%u", x->e->v.artifact,
		 x->e->v.number);
	if (e)
		pin(x->p, e, why);
	return 0;
}

/* Walks upstream from the kept version e: its producing step's inputs. */
static int walk_up(struct plan *p, struct rv *e)
{
	char buf[sizeof(e->v.run)], *run, *step;
	struct pin_ctx x = {p, e};

	snprintf(buf, sizeof(buf), "%s", e->v.run);
	run = strchr(buf, '/');
	step = run ? strchr(run + 1, '/') : NULL;
	if (!step)
		return 0;
	*run++ = '\0';
	*step++ = '\0';
	return store_step_input_each(p->s, buf, run, step, pin_input, &x);
}

static int pins(struct plan *p)
{
	int rc = 0;

	p->work = malloc((p->n + 1) * sizeof(*p->work));
	if (!p->work)
		return -ENOMEM;
	for (size_t i = 0; i < p->n && !rc; i++) {
		struct pin_ctx x = {p, &p->v[i]};

		if (i == 0 ||
		    strcmp(p->v[i].v.artifact, p->v[i - 1].v.artifact))
			rc = store_alias_each(p->s, p->v[i].v.artifact,
					      pin_alias, &x);
		if (!rc && p->v[i].state == RV_GOES)
			rc = store_version_reader_each(p->s, p->v[i].v.artifact,
						       p->v[i].v.number,
						       pin_reader, &x);
		if (!rc && p->v[i].state == RV_GOES &&
		    retain_pin_cached(p->s, &p->v[i].v))
			pin(p, &p->v[i], "a cache entry refers to it");
	}
	for (size_t i = 0; i < p->n; i++) {
		if (p->v[i].state == RV_KEPT && !p->v[i].pinned)
			p->work[p->nwork++] = i;
	}
	while (!rc && p->nwork)
		rc = walk_up(p, &p->v[p->work[--p->nwork]]);
	return rc;
}

/* ------------------------------------------------------------ deleting */

struct drop {
	struct store *s;
	struct db_batch *b;
	struct store_stats *st;
	const char *artifact; /* outputs: the entry named so, and below */
	size_t base;	      /* key length up to the path */
	int err;
};

static int drop_key(void *arg, const void *key, size_t klen, const void *val,
		    size_t vlen)
{
	struct drop *d = arg;

	(void)val, (void)vlen;
	db_batch_delete(d->b, CF_NAMESPACE, key, klen);
	return 0;
}

/* An outputs entry of the producing step: only outputs/<artifact>[/..]. */
static int drop_output(void *arg, const void *key, size_t klen, const void *val,
		       size_t vlen)
{
	struct drop *d = arg;
	const char *path = (const char *)key + d->base;
	size_t n = strlen(d->artifact), plen = klen - d->base;
	struct store_output o;

	if (plen < n || memcmp(path, d->artifact, n) ||
	    (plen > n && path[n] != '/'))
		return 0;
	if (output_entry_decode(val, vlen, "", &o))
		return -EIO;
	if (o.e.kind != STORE_KIND_DIR) {
		int rc = unref_entry(d->s, d->b, d->st, o.e.kind, o.e.digest);

		if (rc)
			return rc;
	}
	db_batch_delete(d->b, CF_NAMESPACE, key, klen);
	return 0;
}

/* The outputs tree of the step that made v (v->run "P/R/S"): 0 and
 * the names split in buf, or -ENOENT (a version of no step). */
static int made_by(const struct store_version *v, char *buf, size_t cap,
		   char **run, char **step)
{
	snprintf(buf, cap, "%s", v->run);
	*run = strchr(buf, '/');
	*step = *run ? strchr(*run + 1, '/') : NULL;
	if (!*step)
		return -ENOENT;
	*(*run)++ = '\0';
	*(*step)++ = '\0';
	return 0;
}

/* Stages the release of outputs/<artifact> of the step that made v. */
static int drop_outputs_stage(struct store *s, struct db_batch *b,
			      struct store_stats *st,
			      const struct store_version *v)
{
	uint8_t k[KEY_LN_MAX];
	struct drop d = {s, b, st, v->artifact, 0, 0};
	char buf[sizeof(v->run)], *run, *step;

	if (made_by(v, buf, sizeof(buf), &run, &step))
		return 0;
	d.base = key_add_nul(k, key_names(k, KEY_NS_OUTPUT, buf, run, step));
	return db_scan(s->db, CF_NAMESPACE, k, d.base, drop_output, &d);
}

/* Stages the deletion of version v into b (with outputs: the outputs
 * entries it was made of too). */
static int drop_stage(struct store *s, struct db_batch *b,
		      const struct store_version *v, bool outputs)
{
	uint8_t k[KEY_LN_MAX];
	struct store_stats st;
	struct drop d = {s, b, &st, v->artifact, 0, 0};
	size_t kl;
	int rc = stats_load(b, &st);

	if (rc)
		return rc;
	kl = version_key(k, v->artifact, v->number);
	db_batch_delete(b, CF_NAMESPACE, k, kl);
	kl = key_add_be32(
	    k,
	    key_add_nul(k, key_names(k, KEY_NS_MTIME, v->artifact, NULL, NULL)),
	    v->number);
	rc = db_scan(s->db, CF_NAMESPACE, k, kl, drop_key, &d);
	if (!rc)
		rc = unref_entry(s, b, &st, STORE_KIND_DIR, v->digest);
	if (!rc && outputs)
		rc = drop_outputs_stage(s, b, &st, v);
	st.versions--;
	st.logical_bytes -= v->size;
	stats_save(b, &st);
	return rc;
}

/* The outputs entries v was made of, as a commit in their pipeline's
 * shard (a RADOS store, where they live apart from the version). */
static int drop_outputs(struct store *s, const struct store_caller *c,
			const struct store_version *v)
{
	char buf[sizeof(v->run)], *run, *step;
	struct store_stats st;
	struct commit t;
	int rc;

	if (made_by(v, buf, sizeof(buf), &run, &step))
		return 0;
	rc = commit_begin_out(s, c, buf, &t);
	if (rc)
		return rc == -ENOENT ? 0 : rc;
	rc = stats_load(t.b, &st);
	if (!rc)
		rc = drop_outputs_stage(s, t.b, &st, v);
	if (!rc)
		stats_save(t.b, &st);
	commit_note(&t, "output.delete", NULL,
		    "/pipelines/%s/runs/%s/steps/%s/outputs/%s", buf, run, step,
		    v->artifact);
	return commit_end(&t, rc);
}

/* Deletes version v.  In a RADOS store its outputs entries go first, in
 * their shard's commit: a stop in between leaves the version, which the
 * next rule that lets it go deletes (finding no entries). */
static int drop_version(struct store *s, const struct store_caller *c,
			const struct store_version *v)
{
	bool apart = db_rados(s->db) != NULL;
	struct commit t;
	int rc = apart ? drop_outputs(s, c, v) : 0;

	if (!rc)
		rc = commit_begin(s, c, &t);
	if (rc)
		return rc;
	rc = drop_stage(s, t.b, v, !apart);
	commit_note(&t, "version.delete", v->digest, "/artifacts/%s/v%u",
		    v->artifact, v->number);
	return commit_end(&t, rc);
}

int retain_apply(struct store *s, const struct store_caller *c,
		 const struct store_retain *r, bool dry_run,
		 store_gc_item_fn fn, void *arg, struct store_gc_result *out)
{
	struct plan p = {.s = s, .r = r};
	int rc = 0;

	if (!r || !r->n)
		return 0;
	rc = store_artifact_each(s, add_artifact, &p);
	if (!rc)
		rc = pins(&p);
	for (size_t i = 0; i < p.n && !rc; i++) {
		struct rv *e = &p.v[i];
		struct store_gc_item it = {e->v.artifact, e->v.number,
					   e->state == RV_GOES, e->why,
					   e->v.size};

		if (e->state != RV_GOES && !e->pinned)
			continue;
		if (e->state == RV_GOES && !dry_run)
			rc = drop_version(s, c, &e->v);
		if (!rc && e->state == RV_GOES)
			out->versions++;
		if (!rc && fn)
			rc = fn(arg, &it);
	}
	free(p.work);
	free(p.v);
	return rc;
}

/* ---------------------------------------------------- export selection */

/* Keeps e as selected, for its closure to be walked. */
static void select_one(struct plan *p, struct rv *e)
{
	pin(p, e, "selected");
}

static bool selected_by_scope(const struct store_export_sel *sel,
			      const struct store_version *v)
{
	struct store_retain_rule r = {0};

	for (size_t i = 0; i < sel->nscope; i++) {
		snprintf(r.scope, sizeof(r.scope), "%s", sel->scope[i]);
		if (rule_covers(&r, v))
			return true;
	}
	return sel->since && v->created >= sel->since;
}

static int select_closure(struct plan *p, const struct store_export_sel *sel)
{
	for (size_t i = 0; i < sel->nclosure; i++) {
		char a[STORE_NAME_MAX + 1], ref[STORE_NAME_MAX + 1];
		const char *path;
		struct store_version v;
		struct rv *e;
		int rc = store_spec_parse(sel->closure[i], a, ref, &path);

		if (!rc)
			rc = store_ref_resolve(p->s, a, ref, &v);
		if (rc)
			return rc;
		e = find(p, v.artifact, v.number);
		if (e)
			select_one(p, e);
	}
	return 0;
}

int retain_select(struct store *s, const struct store_export_sel *sel)
{
	static const struct store_retain none = {0};
	struct store_caller c = {.user = "export"};
	struct plan p = {.s = s, .r = &none};
	int rc = store_artifact_each(s, add_artifact, &p);

	p.work = rc ? NULL : malloc((p.n + 1) * sizeof(*p.work));
	if (!rc && !p.work)
		rc = -ENOMEM;
	for (size_t i = 0; i < p.n && !rc; i++)
		p.v[i].state = RV_GOES;
	for (size_t i = 0; i < p.n && !rc; i++) {
		if (selected_by_scope(sel, &p.v[i].v))
			select_one(&p, &p.v[i]);
	}
	if (!rc)
		rc = select_closure(&p, sel);
	while (!rc && p.nwork)
		rc = walk_up(&p, &p.v[p.work[--p.nwork]]);
	for (size_t i = 0; i < p.n && !rc; i++) {
		if (p.v[i].state == RV_GOES)
			rc = drop_version(s, &c, &p.v[i].v);
	}
	free(p.work);
	free(p.v);
	return rc;
}
