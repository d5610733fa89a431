/*
 * trace.c - append-only execution traces of steps.
 *
 * Lines live in the lineage column family under
 * 't' pipeline NUL run NUL step NUL be64 seq; the step's counter
 * 'T' pipeline NUL run NUL step holds be64 next seq and be64 total bytes,
 * and moves in the same batch as the line it numbers.
 */
#include "store_i.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static size_t be64(uint8_t *k, size_t n, uint64_t v)
{
	for (int i = 7; i >= 0; i--)
		k[n++] = (uint8_t)(v >> (8 * i));
	return n;
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static int names(const char *p, const char *r, const char *st)
{
	const char *v[] = {p, r, st};

	for (int i = 0; i < 3; i++) {
		int rc = store_name_check(v[i], strlen(v[i]));

		if (rc)
			return rc;
	}
	return 0;
}

/* Reads the counter (next seq, bytes) through b; zeros if absent. */
static int counter_read(struct db_batch *b, struct store *s, const uint8_t *k,
			size_t kl, uint64_t *next, uint64_t *bytes)
{
	void *v;
	size_t len;
	int rc = b ? db_batch_get(b, CF_LINEAGE, k, kl, &v, &len)
		   : db_get(s->db, CF_LINEAGE, k, kl, &v, &len);

	*next = 1;
	*bytes = 0;
	if (rc == -ENOENT)
		return 0;
	if (rc)
		return rc;
	if (len == 16) {
		*next = get_be64(v);
		*bytes = get_be64((uint8_t *)v + 8);
	}
	free(v);
	return len == 16 ? 0 : -EIO;
}

int store_trace_append(struct store *s, const struct store_caller *c,
		       const char *pipeline, const char *run, const char *step,
		       const char *line, size_t len, uint64_t *seq)
{
	uint8_t k[KEY_MAX + 16], cnt[16];
	uint64_t next, bytes;
	struct store_run r;
	struct commit t;
	size_t kl;
	int rc = names(pipeline, run, step);

	if (!rc && len > STORE_TRACE_LINE_MAX)
		rc = -EFBIG;
	if (!rc && memchr(line, '\n', len))
		rc = -EINVAL;
	if (!rc)
		rc = store_step_get(s, pipeline, run, step);
	if (!rc)
		rc = commit_begin(s, c, &t);
	if (rc)
		return rc;
	rc = run_read(s, t.b, pipeline, run, &r);
	if (!rc && r.status != STORE_RUN_OPEN)
		rc = -EROFS;
	kl = ns_key(k, 'T', pipeline, run, step);
	if (!rc)
		rc = counter_read(t.b, s, k, kl, &next, &bytes);
	if (!rc) {
		be64(cnt, 0, next + 1);
		be64(cnt, 8, bytes + len + 1);
		db_batch_put(t.b, CF_LINEAGE, k, kl, cnt, 16);
		kl = ns_key(k, 't', pipeline, run, step);
		k[kl++] = 0;
		kl = be64(k, kl, next);
		db_batch_put(t.b, CF_LINEAGE, k, kl, line, len);
		if (seq)
			*seq = next;
	}
	commit_note(&t, "trace.append", NULL,
		    "/pipelines/%s/runs/%s/steps/%s/trace.jsonl", pipeline, run,
		    step);
	return commit_end_nosync(&t, rc);
}

struct trace_scan {
	size_t skip;
	int (*fn)(void *arg, uint64_t seq, const char *line, size_t len);
	void *arg;
};

static int scan_line(void *arg, const void *key, size_t klen, const void *val,
		     size_t vlen)
{
	struct trace_scan *t = arg;

	if (klen != t->skip + 8)
		return -EIO;
	return t->fn(t->arg, get_be64((const uint8_t *)key + t->skip), val,
		     vlen);
}

int store_trace_each(
    struct store *s, const char *pipeline, const char *run, const char *step,
    int (*fn)(void *arg, uint64_t seq, const char *line, size_t len), void *arg)
{
	struct trace_scan t = {.fn = fn, .arg = arg};
	uint8_t k[KEY_MAX + 16];
	int rc = names(pipeline, run, step);

	if (rc)
		return rc;
	t.skip = ns_key(k, 't', pipeline, run, step);
	k[t.skip++] = 0;
	return db_scan(s->db, CF_LINEAGE, k, t.skip, scan_line, &t);
}

int store_trace_size(struct store *s, const char *pipeline, const char *run,
		     const char *step, uint64_t *out)
{
	uint8_t k[KEY_MAX + 16];
	uint64_t next;
	int rc = names(pipeline, run, step);

	if (rc)
		return rc;
	return counter_read(NULL, s, k, ns_key(k, 'T', pipeline, run, step),
			    &next, out);
}
