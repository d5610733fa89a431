/*
 * trace.c - append-only execution traces of steps.
 *
 * Lines live in the lineage column family under
 * KEY_LN_TRACE pipeline NUL run NUL step NUL be64 seq; the step's counter
 * KEY_LN_TRACE_HEAD pipeline NUL run NUL step holds be64 next seq and be64
 * total bytes, and moves in the same batch as the line it numbers.
 */
#include "store_i.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
		*next = be64_get(v);
		*bytes = be64_get((uint8_t *)v + 8);
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
	int rc = store_step_names_check(pipeline, run, step);

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
	kl = key_names(k, KEY_LN_TRACE_HEAD, pipeline, run, step);
	if (!rc)
		rc = counter_read(t.b, s, k, kl, &next, &bytes);
	if (!rc) {
		be64_put(cnt, next + 1);
		be64_put(cnt + 8, bytes + len + 1);
		db_batch_put(t.b, CF_LINEAGE, k, kl, cnt, 16);
		kl = key_names(k, KEY_LN_TRACE, pipeline, run, step);
		kl = key_add_be64(k, key_add_nul(k, kl), next);
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
	return t->fn(t->arg, be64_get((const uint8_t *)key + t->skip), val,
		     vlen);
}

int store_trace_each(
    struct store *s, const char *pipeline, const char *run, const char *step,
    int (*fn)(void *arg, uint64_t seq, const char *line, size_t len), void *arg)
{
	struct trace_scan t = {.fn = fn, .arg = arg};
	uint8_t k[KEY_MAX + 16];
	int rc = store_step_names_check(pipeline, run, step);

	if (rc)
		return rc;
	t.skip = key_names(k, KEY_LN_TRACE, pipeline, run, step);
	t.skip = key_add_nul(k, t.skip);
	return db_scan(s->db, CF_LINEAGE, k, t.skip, scan_line, &t);
}

int store_trace_size(struct store *s, const char *pipeline, const char *run,
		     const char *step, uint64_t *out)
{
	uint8_t k[KEY_MAX + 16];
	uint64_t next;
	int rc = store_step_names_check(pipeline, run, step);

	if (rc)
		return rc;
	return counter_read(
	    NULL, s, k, key_names(k, KEY_LN_TRACE_HEAD, pipeline, run, step),
	    &next, out);
}
