/*
 * run.c - pipelines, runs and steps, and ending a run (which publishes its
 * outputs as versions in the same WriteBatch as the status change).
 */
#include "store_i.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int names_quiet(const char *a, const char *b, const char *c)
{
	const char *v[3] = {a, b, c};

	for (int i = 0; i < 3; i++) {
		int rc = v[i] ? store_name_check(v[i], strlen(v[i])) : 0;

		if (rc)
			return rc;
	}
	return 0;
}

static int names_ok(const char *pipeline, const char *run, const char *step)
{
	const char *what[3] = {"pipeline", "run", "step"};
	const char *v[3] = {pipeline, run, step};

	for (int i = 0; i < 3; i++) {
		int rc;

		if (!v[i])
			continue;
		rc = store_name_check(v[i], strlen(v[i]));
		if (rc) {
			store_log(STORE_LOG_ERR, "invalid %s name '%.64s'%s",
				  what[i], v[i],
				  rc == -ENAMETOOLONG ? ": over 255 bytes"
						      : "");
			return rc;
		}
	}
	return 0;
}

/* Names of new pipelines, runs and steps: the entity rules, logged. */
static int names_new(const char *pipeline, const char *run, const char *step)
{
	const char *what[3] = {"pipeline", "run", "step"};
	const char *v[3] = {pipeline, run, step};

	for (int i = 0; i < 3; i++) {
		int rc =
		    v[i] ? store_name_require(STORE_NAME_ENTITY, what[i], v[i])
			 : 0;

		if (rc)
			return rc;
	}
	return 0;
}

static void run_encode(struct buf *x, const struct store_run *r)
{
	buf_u8(x, RECORD_FORMAT);
	buf_u8(x, (uint8_t)r->status);
	buf_varint(x, r->owner);
	buf_varint(x, (uint64_t)r->created);
	buf_varint(x, (uint64_t)r->ended);
	/* A trailing field, absent from single-node stores' records. */
	if (r->node[0])
		buf_str(x, r->node);
}

bool store_run_here(const struct store *s, const struct store_run *r)
{
	return r->status != STORE_RUN_OPEN || !r->node[0] ||
	       !strcmp(r->node, s->node);
}

/* -EROFS, logged, when run r is open on another node. */
static int run_here(const struct store *s, const struct store_run *r)
{
	if (store_run_here(s, r))
		return 0;
	store_log(STORE_LOG_ERR,
		  "run %s/%s is open on another node (%s): it is read-only "
		  "here until that node seals it",
		  r->pipeline, r->run, r->node);
	return -EROFS;
}

int run_decode(const void *val, size_t len, struct store_run *r)
{
	struct cursor c = {val, (const uint8_t *)val + len, false};

	if (cur_u8(&c) != RECORD_FORMAT)
		return -EIO;
	r->status = cur_u8(&c);
	r->owner = (uint32_t)cur_varint(&c);
	r->created = (int64_t)cur_varint(&c);
	r->ended = (int64_t)cur_varint(&c);
	r->node[0] = '\0';
	if (c.p < c.end)
		cur_str(&c, r->node, sizeof(r->node));
	if (r->status < STORE_RUN_OPEN || r->status > STORE_RUN_FAILED)
		c.bad = true;
	return c.bad ? -EIO : 0;
}

/* Stages a record under k in a new batch unless it exists. */
static int create_once(struct store *s, struct db_batch *b, const uint8_t *k,
		       size_t kl, const void *val, size_t len, bool *made)
{
	void *old;
	size_t olen;
	int rc = db_batch_get(b, CF_NAMESPACE, k, kl, &old, &olen);

	*made = false;
	(void)s;
	if (rc == 0) {
		free(old);
		return 0;
	}
	if (rc != -ENOENT)
		return rc;
	db_batch_put(b, CF_NAMESPACE, k, kl, val, len);
	*made = true;
	return 0;
}

static int stage_pipeline(struct store *s, struct db_batch *b,
			  const char *pipeline)
{
	uint8_t k[KEY_MAX];
	struct buf x = {0};
	bool made;
	int rc;

	buf_u8(&x, RECORD_FORMAT);
	buf_varint(&x, (uint64_t)now_ns());
	rc = x.oom ? -ENOMEM
		   : create_once(
			 s, b, k,
			 key_names(k, KEY_NS_PIPELINE, pipeline, NULL, NULL),
			 x.p, x.len, &made);
	free(x.p);
	return rc;
}

int store_pipeline_create(struct store *s, const struct store_caller *c,
			  const char *pipeline)
{
	struct commit t;
	int rc = names_new(pipeline, NULL, NULL);

	if (!rc)
		rc = commit_begin(s, c, &t);
	if (rc)
		return rc;
	commit_note(&t, "pipeline.create", NULL, "/pipelines/%s", pipeline);
	return commit_end(&t, stage_pipeline(s, t.b, pipeline));
}

static int exists(struct store *s, enum key_tag tag, const char *a,
		  const char *b, const char *c)
{
	uint8_t k[KEY_MAX];
	size_t len;
	void *val;
	int rc = names_quiet(a, b, c);

	if (rc)
		return rc;
	rc = db_get(s->db, CF_NAMESPACE, k, key_names(k, tag, a, b, c), &val,
		    &len);
	if (!rc)
		free(val);
	return rc;
}

int store_pipeline_get(struct store *s, const char *pipeline)
{
	return exists(s, KEY_NS_PIPELINE, pipeline, NULL, NULL);
}

int store_step_get(struct store *s, const char *pipeline, const char *run,
		   const char *step)
{
	return exists(s, KEY_NS_STEP, pipeline, run, step);
}

int store_run_create(struct store *s, const struct store_caller *c,
		     const char *pipeline, const char *run, uint32_t owner)
{
	struct store_run r = {
	    .status = STORE_RUN_OPEN, .owner = owner, .created = now_ns()};
	uint8_t k[KEY_MAX];
	struct buf x = {0};
	struct commit t;
	struct db_batch *b;
	bool made = false;
	int rc = names_new(pipeline, run, NULL);

	snprintf(r.node, sizeof(r.node), "%s", s->node);
	if (!rc)
		rc = commit_begin(s, c, &t);
	if (rc)
		return rc;
	b = t.b;
	rc = stage_pipeline(s, b, pipeline);
	run_encode(&x, &r);
	if (!rc)
		rc = x.oom ? -ENOMEM
			   : create_once(
				 s, b, k,
				 key_names(k, KEY_NS_RUN, pipeline, run, NULL),
				 x.p, x.len, &made);
	free(x.p);
	if (!rc && !made) {
		store_log(STORE_LOG_ERR, "run %s/%s already exists", pipeline,
			  run);
		rc = -EEXIST;
	}
	commit_note(&t, "run.create", NULL, "/pipelines/%s/runs/%s", pipeline,
		    run);
	return commit_end(&t, rc);
}

int run_read(struct store *s, struct db_batch *b, const char *pipeline,
	     const char *run, struct store_run *out)
{
	uint8_t k[KEY_MAX];
	size_t kl = key_names(k, KEY_NS_RUN, pipeline, run, NULL), len;
	void *val;
	int rc = b ? db_batch_get(b, CF_NAMESPACE, k, kl, &val, &len)
		   : db_get(s->db, CF_NAMESPACE, k, kl, &val, &len);

	if (rc)
		return rc;
	memset(out, 0, sizeof(*out));
	snprintf(out->pipeline, sizeof(out->pipeline), "%s", pipeline);
	snprintf(out->run, sizeof(out->run), "%s", run);
	rc = run_decode(val, len, out);
	free(val);
	if (rc)
		store_log(STORE_LOG_ERR, "corrupt run record %s/%s", pipeline,
			  run);
	return rc;
}

int store_run_get(struct store *s, const char *pipeline, const char *run,
		  struct store_run *out)
{
	int rc = names_ok(pipeline, run, NULL);

	return rc ? rc : run_read(s, NULL, pipeline, run, out);
}

int store_step_create(struct store *s, const struct store_caller *c,
		      const char *pipeline, const char *run, const char *step)
{
	uint8_t k[KEY_MAX];
	struct store_run r;
	struct buf x = {0};
	struct commit t;
	struct db_batch *b;
	bool made;
	int rc = names_new(pipeline, run, step);

	if (!rc)
		rc = commit_begin(s, c, &t);
	if (rc)
		return rc;
	b = t.b;
	rc = run_read(s, b, pipeline, run, &r);
	if (!rc && r.status != STORE_RUN_OPEN) {
		store_log(STORE_LOG_ERR, "run %s/%s is sealed", pipeline, run);
		rc = -EROFS;
	}
	if (!rc)
		rc = run_here(s, &r);
	buf_u8(&x, RECORD_FORMAT);
	buf_varint(&x, (uint64_t)now_ns());
	if (!rc)
		rc = x.oom ? -ENOMEM
			   : create_once(
				 s, b, k,
				 key_names(k, KEY_NS_STEP, pipeline, run, step),
				 x.p, x.len, &made);
	free(x.p);
	commit_note(&t, "step.create", NULL, "/pipelines/%s/runs/%s/steps/%s",
		    pipeline, run, step);
	return commit_end(&t, rc);
}

int run_end_locked(struct commit *t, const char *pipeline, const char *run,
		   enum store_run_status status, struct store_put **puts,
		   size_t n)
{
	struct store *s = t->s;
	struct db_batch *b = t->b;
	char who[2 * (STORE_NAME_MAX + 1)];
	struct store_version_meta m = {.run = who};
	struct store_stats st;
	struct store_run r;
	uint8_t k[KEY_LN_MAX]; /* an output edge, then the run */
	struct buf x = {0};
	int rc;

	snprintf(who, sizeof(who), "%s/%s", pipeline, run);
	rc = db_flush_chunks(s->db);
	if (!rc)
		rc = run_read(s, b, pipeline, run, &r);
	if (!rc && r.status != STORE_RUN_OPEN) {
		store_log(STORE_LOG_ERR, "run %s already ended", who);
		rc = -EROFS;
	}
	/* Another node's open run may be failed from here (that node may
	 * be gone for good), never sealed. */
	if (!rc && status == STORE_RUN_SEALED)
		rc = run_here(s, &r);
	if (!rc)
		rc = stats_load(b, &st);
	for (size_t i = 0; i < n && !rc; i++) {
		struct store_version v;

		rc = put_stage(puts[i], b, &st, &m, &v);
		if (!rc) {
			commit_note(t, "version.create", v.digest,
				    "/artifacts/%s/v%u", v.artifact, v.number);
			rc = commit_stage_note(t);
		}
		if (!rc && put_step(puts[i])[0]) /* the step's output edge */
			db_batch_put(b, CF_LINEAGE, k,
				     key_edge(k, KEY_LN_OUTPUT, pipeline, run,
					      put_step(puts[i]), v.artifact,
					      v.number),
				     "", 0);
	}
	r.status = status;
	r.ended = now_ns();
	run_encode(&x, &r);
	if (!rc && x.oom)
		rc = -ENOMEM;
	if (!rc) {
		stats_save(b, &st);
		db_batch_put(b, CF_NAMESPACE, k,
			     key_names(k, KEY_NS_RUN, pipeline, run, NULL), x.p,
			     x.len);
	}
	free(x.p);
	chunk_set_clear(s->pending);
	commit_note(t, status == STORE_RUN_SEALED ? "run.seal" : "run.fail",
		    NULL, "/pipelines/%s/runs/%s", pipeline, run);
	rc = commit_end(t, rc);
	for (size_t i = 0; i < n; i++)
		store_put_abort(puts[i]);
	return rc;
}

int store_run_end(struct store *s, const struct store_caller *c,
		  const char *pipeline, const char *run,
		  enum store_run_status status, struct store_put **puts,
		  size_t n)
{
	struct commit t;
	int rc = names_ok(pipeline, run, NULL);

	if (!rc &&
	    (status == STORE_RUN_OPEN || (status == STORE_RUN_FAILED && n))) {
		store_log(STORE_LOG_ERR, "a failed run publishes nothing");
		rc = -EINVAL;
	}
	if (!rc)
		rc = commit_begin(s, c, &t);
	if (!rc)
		return run_end_locked(&t, pipeline, run, status, puts, n);
	for (size_t i = 0; i < n; i++)
		store_put_abort(puts[i]);
	return rc;
}

/* --------------------------------------------------------- listings */

struct name_scan {
	size_t skip;
	const char *pipeline;
	int (*name_fn)(void *arg, const char *name);
	int (*run_fn)(void *arg, const struct store_run *r);
	void *arg;
};

static int scan_name(void *arg, const void *key, size_t klen, const void *val,
		     size_t vlen)
{
	struct name_scan *c = arg;
	char name[STORE_NAME_MAX + 1];
	size_t n = klen - c->skip;
	struct store_run r = {0};

	if (n > STORE_NAME_MAX)
		return -EIO;
	memcpy(name, (const char *)key + c->skip, n);
	name[n] = '\0';
	if (c->name_fn) {
		/* Deeper keys (a run's steps under its pipeline) share the
		 * prefix: keep direct children only. */
		if (memchr(name, 0, n) || strlen(name) != n)
			return 0;
		return c->name_fn(c->arg, name);
	}
	if (strlen(name) != n)
		return 0;
	snprintf(r.pipeline, sizeof(r.pipeline), "%s", c->pipeline);
	snprintf(r.run, sizeof(r.run), "%s", name);
	if (run_decode(val, vlen, &r))
		return -EIO;
	return c->run_fn(c->arg, &r);
}

int store_pipeline_each(struct store *s, int (*fn)(void *arg, const char *name),
			void *arg)
{
	struct name_scan c = {.skip = 1, .name_fn = fn, .arg = arg};

	return db_scan(s->db, CF_NAMESPACE, "p", 1, scan_name, &c);
}

int store_run_each(struct store *s, const char *pipeline,
		   int (*fn)(void *arg, const struct store_run *r), void *arg)
{
	return store_run_each_after(s, pipeline, NULL, fn, arg);
}

int store_run_each_after(struct store *s, const char *pipeline,
			 const char *after,
			 int (*fn)(void *arg, const struct store_run *r),
			 void *arg)
{
	uint8_t k[KEY_MAX], from[KEY_MAX];
	struct name_scan c = {.pipeline = pipeline, .run_fn = fn, .arg = arg};
	size_t flen;
	int rc = names_ok(pipeline, NULL, NULL);

	if (!rc && after && strlen(after) > STORE_NAME_MAX)
		rc = -EINVAL;
	if (rc)
		return rc;
	c.skip = key_names(k, KEY_NS_RUN, pipeline, "", NULL);
	flen = key_names(from, KEY_NS_RUN, pipeline, after ? after : "", NULL);
	if (after) /* just past after's key (its deeper keys are skipped) */
		from[flen++] = '\0';
	return db_scan_from(s->db, CF_NAMESPACE, k, c.skip, from, flen,
			    scan_name, &c);
}

int store_step_each(struct store *s, const char *pipeline, const char *run,
		    int (*fn)(void *arg, const char *name), void *arg)
{
	uint8_t k[KEY_MAX];
	struct name_scan c = {.name_fn = fn, .arg = arg};
	int rc = names_ok(pipeline, run, NULL);

	if (rc)
		return rc;
	c.skip = key_names(k, KEY_NS_STEP, pipeline, run, "");
	return db_scan(s->db, CF_NAMESPACE, k, c.skip, scan_name, &c);
}
