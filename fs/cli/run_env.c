/*
 * run_env.c - the run operations of environments and the step cache
 * (runapi_i.h): storing a step's snapshot, computing its cache key,
 * replaying a hit, and recording the keys of a sealed run.
 *
 * The cache key of a step is SHA-256 over, in order: a version tag, the
 * pipeline, the step, the digest of code.txt, the digest of the
 * environment that decides results (packages.txt, image.txt and
 * system.txt; environ.txt is recorded but not keyed: a terminal's
 * variables would defeat the cache, and values that matter are params),
 * each declared input's artifact and content digest, each param, and the
 * name of each secret the run uses (notes secret.NAME).  It is noted on
 * the run as cache_key.<step> before the command runs; when the run
 * seals, each noted key is recorded as leading to its step.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "envdiff_i.h"
#include "runapi_i.h"

#define CACHE_KEY_TAG "artifactfs-cache-1"

/* Redacts every stored secret out of one file of the bundle. */
static int redact(struct fs_ctx *ctx, const char *in, size_t len, char **out,
		  size_t *olen)
{
	int rc = acl_redact(ctx->store, in, len, out, olen, NULL);

	if (rc)
		store_log(STORE_LOG_ERR,
			  "environment: secrets could not be removed (%s); "
			  "the snapshot is not kept",
			  strerror(-rc));
	return rc;
}

int fs_run_env(struct fs_ctx *ctx, const char *p, const char *r,
	       const char *step, const char *bundle, char *digest, size_t size)
{
	struct store_env_file files[ENVSNAP_N];
	const char *data[ENVSNAP_N];
	char *clean[ENVSNAP_N] = {NULL};
	uint8_t dg[STORE_DIGEST_LEN];
	size_t len[ENVSNAP_N];
	int rc = fs_run_check(ctx, p, r, "env.set");

	if (!rc && fs_envsnap_decode(bundle, strlen(bundle), data, len)) {
		store_log(STORE_LOG_ERR, "environment: a malformed snapshot");
		rc = -EINVAL;
	}
	for (int i = 0; !rc && i < ENVSNAP_N; i++) {
		rc = redact(ctx, data[i], len[i], &clean[i], &len[i]);
		files[i] =
		    (struct store_env_file){envsnap_names[i], clean[i], len[i]};
	}
	if (!rc)
		rc = store_env_set(ctx->store, &ctx->caller, p, r, step, files,
				   ENVSNAP_N, dg);
	for (int i = 0; i < ENVSNAP_N; i++) {
		if (clean[i])
			explicit_bzero(clean[i], strlen(clean[i]));
		free(clean[i]);
	}
	if (!rc) {
		char text[STORE_DIGEST_STR_LEN];

		store_digest_format(dg, text);
		snprintf(digest, size, "%s", text);
	}
	return rc;
}

/* ------------------------------------------------------------ the key */

struct keyer {
	struct store *s;
	struct envsnap_buf b; /* what the key digests */
	int err;
};

static void key_part(struct keyer *k, const char *tag, const char *a,
		     const void *b, size_t blen)
{
	envsnap_add(&k->b, tag, strlen(tag) + 1);
	envsnap_add(&k->b, a, strlen(a) + 1);
	envsnap_add(&k->b, b, blen);
}

static void key_digest_of(struct keyer *k, const char *tag, const char *text)
{
	uint8_t dg[STORE_DIGEST_LEN];

	if (store_digest_buf(text ? text : "", text ? strlen(text) : 0, dg))
		k->err = -EIO;
	key_part(k, tag, "", dg, sizeof(dg));
}

static int key_input(void *arg, const char *artifact, uint32_t number)
{
	struct keyer *k = arg;
	struct store_version v;
	int rc = store_version_get(k->s, artifact, number, &v);

	if (!rc)
		key_part(k, "input", artifact, v.digest, sizeof(v.digest));
	return rc;
}

static int key_note(void *arg, const char *key, const char *value)
{
	struct keyer *k = arg;

	if (!strncmp(key, "param.", 6))
		key_part(k, "param", key + 6, value, strlen(value) + 1);
	else if (!strncmp(key, "secret.", 7))
		key_part(k, "secret", key + 7, "", 1);
	return 0;
}

/* The cache key of step p/r/step, from its snapshot e and the store. */
static int cache_key(struct store *s, const char *p, const char *r,
		     const char *step, const struct envsnap *e,
		     uint8_t out[STORE_DIGEST_LEN])
{
	struct keyer k = {.s = s};
	struct envsnap_buf env = {0};
	int rc;

	key_part(&k, CACHE_KEY_TAG, p, step, strlen(step) + 1);
	key_digest_of(&k, "code", e->f[ENVSNAP_CODE].p);
	for (int i = ENVSNAP_PACKAGES; i <= ENVSNAP_SYSTEM; i++) {
		envsnap_printf(&env, "%s\n", envsnap_names[i]);
		if (e->f[i].len)
			envsnap_add(&env, e->f[i].p, e->f[i].len);
	}
	key_digest_of(&k, "env", env.p);
	free(env.p);
	rc = store_step_input_each(s, p, r, step, key_input, &k);
	if (!rc)
		rc = store_run_note_each(s, p, r, key_note, &k);
	if (!rc)
		rc = k.err ? k.err : k.b.oom ? -ENOMEM : 0;
	if (!rc)
		rc = store_digest_buf(k.b.p, k.b.len, out);
	free(k.b.p);
	return rc;
}

/* ---------------------------------------------------- hit and miss */

struct latest {
	struct store *s;
	const char *run, *step; /* this run, its step */
	struct store_run best;
	bool found;
};

static int latest_run(void *arg, const struct store_run *r)
{
	struct latest *l = arg;
	uint8_t dg[STORE_DIGEST_LEN];

	if (!strcmp(r->run, l->run) || r->status != STORE_RUN_SEALED ||
	    store_env_get(l->s, r->pipeline, r->run, l->step, dg))
		return 0;
	if (!l->found || r->created > l->best.created) {
		l->best = *r;
		l->found = true;
	}
	return 0;
}

/* Drops the inputs b has that a does not declare (read by a command,
 * not declared: they are not part of the key). */
static void keep_declared(struct envdiff *d)
{
	size_t k = 0;

	for (size_t i = 0; i < d->n; i++) {
		struct envdiff_item *it = &d->v[i];

		if (it->section == ED_INPUTS && !it->new) {
			free(it->name);
			free(it->old);
			continue;
		}
		d->v[k++] = *it;
	}
	d->n = k;
}

/* The line of a miss: what changed against the latest sealed run of the
 * same step of p that has a snapshot. */
static int miss_line(struct fs_ctx *ctx, const char *p, const char *r,
		     const char *step, char *text, size_t size)
{
	const unsigned keyed = 1u << ED_CODE | 1u << ED_PARAMS |
			       1u << ED_PACKAGES | 1u << ED_IMAGE |
			       1u << ED_SYSTEM | 1u << ED_INPUTS |
			       1u << ED_SECRETS;
	struct latest l = {.s = ctx->store, .run = r, .step = step};
	struct envdiff d = {0};
	char what[768];
	int rc = store_run_each(ctx->store, p, latest_run, &l);

	if (rc)
		return rc;
	if (!l.found) {
		snprintf(text, size,
			 "step %s: cache miss: no earlier run of "
			 "this step",
			 step);
		return 0;
	}
	struct envdiff_side a = {p, l.best.run, step}, b = {p, r, step};

	rc = envdiff_steps(ctx->store, &a, &b, &d);
	if (!rc) {
		keep_declared(&d);
		envdiff_summary(&d, keyed, 4, what, sizeof(what));
		snprintf(text, size, "step %s: cache miss against %s/%s: %s",
			 step, p, l.best.run,
			 what[0] ? what
				 : "secrets used, or its key was not "
				   "recorded");
	}
	envdiff_release(&d);
	return rc;
}

/* Replays a hit: the source step's outputs become this step's. */
static int replay(struct fs_ctx *ctx, const char *p, const char *r,
		  const char *step, const struct store_cache *e)
{
	char key[STORE_NAME_MAX + 1], src[3 * (STORE_NAME_MAX + 1)];
	int rc = store_output_copy(ctx->store, &ctx->caller, p, r, step,
				   e->pipeline, e->run, e->step);

	snprintf(key, sizeof(key), "cached.%s", step);
	snprintf(src, sizeof(src), "%s/%s/%s", e->pipeline, e->run, e->step);
	if (!rc)
		rc = store_run_note_set(ctx->store, &ctx->caller, p, r, key,
					src);
	return rc;
}

struct undeclared {
	struct store *s;
	const char *p, *r, *step; /* this step */
	char first[STORE_NAME_MAX + 16];
	size_t n;
};

static int is_same(void *arg, const char *artifact, uint32_t number)
{
	const struct store_version *v = arg;

	return !strcmp(artifact, v->artifact) && number == v->number;
}

/* Counts a version the source step read that this step does not
 * declare: it is not in the key, so the outputs may depend on it. */
static int check_read(void *arg, const char *artifact, uint32_t number)
{
	struct undeclared *u = arg;
	struct store_version v = {.number = number};

	snprintf(v.artifact, sizeof(v.artifact), "%s", artifact);
	if (store_step_input_each(u->s, u->p, u->r, u->step, is_same, &v) == 1)
		return 0;
	if (!u->n++)
		snprintf(u->first, sizeof(u->first), "%s@v%u", artifact,
			 number);
	return 0;
}

/* Whether entry e can serve a hit for the caller: its run sealed, not
 * this one, and readable. */
static int count_edge(void *arg, const char *artifact, uint32_t number)
{
	(void)artifact;
	(void)number;
	++*(size_t *)arg;
	return 0;
}

static int count_entry(void *arg, const struct store_output *o)
{
	(void)o;
	++*(size_t *)arg;
	return 0;
}

/* Whether the outputs tree of e's step is still there to copy: a step
 * that produced versions must show at least one entry. */
static bool outputs_kept(struct fs_ctx *ctx, const struct store_cache *e)
{
	size_t edges = 0, entries = 0;

	if (store_step_output_each(ctx->store, e->pipeline, e->run, e->step,
				   count_edge, &edges) ||
	    store_output_each(ctx->store, e->pipeline, e->run, e->step, "",
			      count_entry, &entries))
		return false;
	return edges == 0 || entries > 0;
}

static bool usable(struct fs_ctx *ctx, const char *r,
		   const struct store_cache *e)
{
	char where[2 * STORE_NAME_MAX + 20];
	struct store_run run;

	snprintf(where, sizeof(where), "/pipelines/%s/runs/%s", e->pipeline,
		 e->run);
	return strcmp(e->run, r) &&
	       !store_run_get(ctx->store, e->pipeline, e->run, &run) &&
	       run.status == STORE_RUN_SEALED &&
	       !fs_allowed(ctx, ACL_READ, where) && outputs_kept(ctx, e);
}

int fs_run_cache(struct fs_ctx *ctx, const char *p, const char *r,
		 const char *step, bool use, bool *hit, char *text, size_t size)
{
	char key[STORE_NAME_MAX + 1], hex[2 * STORE_DIGEST_LEN + 1];
	uint8_t dg[STORE_DIGEST_LEN];
	struct store_cache e;
	struct envsnap snap;
	int rc = fs_run_check(ctx, p, r, "run.cache");

	*hit = false;
	if (!rc)
		rc = fs_envsnap_load(ctx->store, p, r, step, &snap);
	if (rc == -ENOENT)
		store_log(STORE_LOG_ERR, "step %s of %s/%s has no environment",
			  step, p, r);
	if (rc)
		return rc;
	rc = cache_key(ctx->store, p, r, step, &snap, dg);
	fs_envsnap_release(&snap);
	store_hex_encode(dg, sizeof(dg), hex);
	snprintf(key, sizeof(key), "cache_key.%s", step);
	if (!rc)
		rc = store_run_note_set(ctx->store, &ctx->caller, p, r, key,
					hex);
	if (rc || !use) {
		snprintf(text, size, "step %s: cache not used (--no-cache)",
			 step);
		return rc;
	}
	rc = store_cache_get(ctx->store, dg, &e);
	if (!rc && usable(ctx, r, &e)) {
		struct undeclared u = {ctx->store, p, r, step, "", 0};

		/* The key holds the declared inputs only: an earlier run
		 * that read anything else may not stand in for this one. */
		rc = store_step_input_each(ctx->store, e.pipeline, e.run,
					   e.step, check_read, &u);
		if (!rc && u.n) {
			snprintf(text, size,
				 "step %s: cache miss: %s/%s read %s%s without "
				 "declaring it (declare what a step reads with "
				 "--input to cache it)",
				 step, e.pipeline, e.run, u.first,
				 u.n > 1 ? " and more" : "");
			return 0;
		}
	}
	if (!rc && usable(ctx, r, &e)) {
		rc = replay(ctx, p, r, step, &e);
		*hit = rc == 0;
		snprintf(text, size,
			 "step %s: cache hit: outputs of %s/%s step %s reused, "
			 "command not run",
			 step, e.pipeline, e.run, e.step);
		return rc;
	}
	if (rc && rc != -ENOENT)
		return rc;
	return miss_line(ctx, p, r, step, text, size);
}

/* --------------------------------------------------- recording keys */

struct recorder {
	struct fs_ctx *ctx;
	const char *p, *r;
	int rc;
};

static int record_key(void *arg, const char *key, const char *value)
{
	struct recorder *x = arg;
	uint8_t dg[STORE_DIGEST_LEN];
	const char *step = key + 10;

	if (strncmp(key, "cache_key.", 10) ||
	    store_hex_decode(value, dg, sizeof(dg)) ||
	    store_step_get(x->ctx->store, x->p, x->r, step))
		return 0;
	x->rc = store_cache_set(x->ctx->store, &x->ctx->caller, dg, x->p, x->r,
				step);
	return x->rc ? 1 : 0;
}

int fs_run_cache_record(struct fs_ctx *ctx, const char *p, const char *r)
{
	struct recorder x = {ctx, p, r, 0};
	int rc = store_run_note_each(ctx->store, p, r, record_key, &x);

	if (rc == 1)
		rc = x.rc;
	/* A cache that cannot learn this run does not undo its seal. */
	if (rc)
		store_log(STORE_LOG_WARNING,
			  "run %s/%s: its cache keys were not recorded", p, r);
	return rc;
}

int fs_run_end_cached(struct fs_ctx *ctx, const char *p, const char *r,
		      bool seal)
{
	int rc = fs_run_end(ctx, p, r, seal);

	if (!rc && seal)
		fs_run_cache_record(ctx, p, r);
	return rc;
}
