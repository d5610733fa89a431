/*
 * lineage.c - edges between step runs and the versions they read and
 * produced, and notes on runs.  Key layout in FORMAT.md (lineage cf).
 */
#include "store_i.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NOTE_MAX 4096
static int names(const char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int rc = store_name_check(v[i], strlen(v[i]));

		if (rc)
			return rc;
	}
	return 0;
}

int store_step_input_add(struct store *s, const struct store_caller *c,
			 const char *pipeline, const char *run,
			 const char *step, const char *artifact,
			 uint32_t number)
{
	const char *v[] = {pipeline, run, step, artifact};
	struct store_version ver;
	struct store_run r;
	struct commit t;
	uint8_t k[KEY_LN_MAX];
	size_t n;
	int rc = names(v, 4);

	if (!rc)
		rc = store_step_get(s, pipeline, run, step);
	if (!rc)
		rc = store_version_get(s, artifact, number, &ver);
	if (rc)
		return rc;
	rc = commit_begin(s, c, &t);
	if (rc)
		return rc;
	rc = run_read(s, t.b, pipeline, run, &r);
	if (!rc && r.status != STORE_RUN_OPEN)
		rc = -EROFS;
	if (!rc) {
		n = key_edge(k, KEY_LN_INPUT, pipeline, run, step, artifact,
			     number);
		db_batch_put(t.b, CF_LINEAGE, k, n, "", 0);
		/* The reverse edge: who read this version. */
		n = key_reader(k, artifact, number, pipeline, run, step);
		db_batch_put(t.b, CF_LINEAGE, k, n, "", 0);
	}
	commit_note(&t, "lineage.input", ver.digest,
		    "/pipelines/%s/runs/%s/steps/%s/inputs/%s@v%u", pipeline,
		    run, step, artifact, number);
	return commit_end_nosync(&t, rc);
}

struct edge_scan {
	size_t skip;
	int (*ver_fn)(void *arg, const char *artifact, uint32_t number);
	int (*step_fn)(void *arg, const char *p, const char *r, const char *s);
	void *arg;
};

/* key tail: artifact NUL be32 */
static int scan_version(void *arg, const void *key, size_t klen,
			const void *val, size_t vlen)
{
	struct edge_scan *e = arg;
	const uint8_t *t = (const uint8_t *)key + e->skip;
	size_t n = klen - e->skip;
	char name[STORE_NAME_MAX + 1];

	(void)val;
	(void)vlen;
	if (n < 5 || n - 4 > STORE_NAME_MAX)
		return -EIO;
	memcpy(name, t, n - 4);
	name[n - 4] = '\0';
	t += n - 4;
	return e->ver_fn(e->arg, name, be32_get(t));
}

static int each_version(struct store *s, enum key_tag tag, const char *pipeline,
			const char *run, const char *step,
			int (*fn)(void *arg, const char *artifact,
				  uint32_t number),
			void *arg)
{
	const char *v[] = {pipeline, run, step};
	struct edge_scan e = {.ver_fn = fn, .arg = arg};
	uint8_t k[KEY_LN_MAX];
	int rc = names(v, 3);

	if (rc)
		return rc;
	e.skip = key_edge(k, tag, pipeline, run, step, NULL, 0);
	return db_scan(s->db, CF_LINEAGE, k, e.skip, scan_version, &e);
}

int store_step_input_each(
    struct store *s, const char *pipeline, const char *run, const char *step,
    int (*fn)(void *arg, const char *artifact, uint32_t number), void *arg)
{
	return each_version(s, KEY_LN_INPUT, pipeline, run, step, fn, arg);
}

int store_step_output_each(
    struct store *s, const char *pipeline, const char *run, const char *step,
    int (*fn)(void *arg, const char *artifact, uint32_t number), void *arg)
{
	return each_version(s, KEY_LN_OUTPUT, pipeline, run, step, fn, arg);
}

/* key tail: pipeline NUL run NUL step */
static int scan_step(void *arg, const void *key, size_t klen, const void *val,
		     size_t vlen)
{
	struct edge_scan *e = arg;
	char buf[3 * (STORE_NAME_MAX + 1)];
	size_t n = klen - e->skip;
	const char *p, *r, *st;

	(void)val;
	(void)vlen;
	if (n >= sizeof(buf))
		return -EIO;
	memcpy(buf, (const char *)key + e->skip, n);
	buf[n] = '\0';
	p = buf;
	r = p + strlen(p) + 1;
	if (r > buf + n)
		return -EIO;
	st = r + strlen(r) + 1;
	if (st > buf + n)
		return -EIO;
	return e->step_fn(e->arg, p, r, st);
}

int store_version_reader_each(struct store *s, const char *artifact,
			      uint32_t number,
			      int (*fn)(void *arg, const char *pipeline,
					const char *run, const char *step),
			      void *arg)
{
	struct edge_scan e = {.step_fn = fn, .arg = arg};
	uint8_t k[KEY_LN_MAX];
	int rc = store_name_check(artifact, strlen(artifact));

	if (rc)
		return rc;
	e.skip = key_reader(k, artifact, number, NULL, NULL, NULL);
	return db_scan(s->db, CF_LINEAGE, k, e.skip, scan_step, &e);
}

/* ---------------------------------------------------------------- notes */

int store_run_note_set(struct store *s, const struct store_caller *c,
		       const char *pipeline, const char *run, const char *key,
		       const char *value)
{
	const char *v[] = {pipeline, run, key};
	struct store_run r;
	struct commit t;
	uint8_t k[KEY_LN_MAX];
	int rc = names(v, 3);

	if (!rc && strlen(value) > NOTE_MAX)
		rc = -EFBIG;
	if (!rc)
		rc = store_run_get(s, pipeline, run, &r);
	if (rc)
		return rc;
	rc = commit_begin(s, c, &t);
	if (rc)
		return rc;
	db_batch_put(t.b, CF_NAMESPACE, k,
		     key_names(k, KEY_NS_NOTE, pipeline, run, key), value,
		     strlen(value));
	commit_note(&t, "run.note", NULL, "/pipelines/%s/runs/%s (%s)",
		    pipeline, run, key);
	return commit_end(&t, 0);
}

struct note_scan {
	size_t skip;
	int (*fn)(void *arg, const char *key, const char *value);
	void *arg;
};

static int scan_note(void *arg, const void *key, size_t klen, const void *val,
		     size_t vlen)
{
	struct note_scan *c = arg;
	char name[STORE_NAME_MAX + 1], *value;
	size_t n = klen - c->skip;
	int rc;

	if (n > STORE_NAME_MAX || vlen > NOTE_MAX)
		return -EIO;
	memcpy(name, (const char *)key + c->skip, n);
	name[n] = '\0';
	value = malloc(vlen + 1);
	if (!value)
		return -ENOMEM;
	memcpy(value, val, vlen);
	value[vlen] = '\0';
	rc = c->fn(c->arg, name, value);
	free(value);
	return rc;
}

int store_run_note_each(struct store *s, const char *pipeline, const char *run,
			int (*fn)(void *arg, const char *key,
				  const char *value),
			void *arg)
{
	const char *v[] = {pipeline, run};
	struct note_scan c = {.fn = fn, .arg = arg};
	uint8_t k[KEY_LN_MAX];
	int rc = names(v, 2);

	if (rc)
		return rc;
	c.skip = key_names(k, KEY_NS_NOTE, pipeline, run, "");
	return db_scan(s->db, CF_NAMESPACE, k, c.skip, scan_note, &c);
}
