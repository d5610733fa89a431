/*
 * env.c - environment snapshots of steps, and the step cache's entries.
 *
 * A snapshot is a small directory of text files (packages.txt, code.txt,
 * ...) stored as content like a version's tree: each file through the
 * chunker, the listing as a directory object.  The step's record
 * KEY_NS_ENV pipeline NUL run NUL step holds the listing's digest and one
 * reference on it, so identical environments share every object and gc
 * keeps what a step shows.
 *
 * A cache entry KEY_NS_CACHE + key digest names the step that last
 * produced outputs under that key (pipeline NUL run NUL step).  It holds
 * no reference: the versions it leads to are the source step's outputs,
 * kept by their own records (store_cache_refers tells gc about them).
 */
#include "store_i.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int file_cmp(const void *a, const void *b)
{
	return strcmp(((const struct store_dirent *)a)->name,
		      ((const struct store_dirent *)b)->name);
}

/* Stores each file's bytes; fills d (sorted) with their entries. */
static int env_files(struct store *s, const struct store_env_file *files,
		     size_t n, struct dirlist *d)
{
	int rc = 0;

	d->n = n;
	d->e = calloc(n ? n : 1, sizeof(*d->e));
	if (!d->e)
		return -ENOMEM;
	for (size_t i = 0; i < n && !rc; i++) {
		struct store_writer *w;
		struct store_file f;

		rc = store_name_check(files[i].name, strlen(files[i].name));
		if (!rc)
			rc = store_writer_new(s, &w);
		if (rc)
			break;
		rc = store_writer_write(w, files[i].data, files[i].len);
		if (rc) {
			store_writer_abort(w);
			break;
		}
		rc = store_writer_finish(w, &f);
		snprintf(d->e[i].name, sizeof(d->e[i].name), "%s",
			 files[i].name);
		d->e[i].kind = STORE_KIND_FILE;
		d->e[i].mode = 0444;
		d->e[i].size = f.size;
		memcpy(d->e[i].digest, f.digest, STORE_DIGEST_LEN);
	}
	if (!rc && n > 1)
		qsort(d->e, n, sizeof(*d->e), file_cmp);
	for (size_t i = 1; !rc && i < n; i++)
		if (!strcmp(d->e[i - 1].name, d->e[i].name))
			rc = -EINVAL;
	return rc;
}

/* Points the step's record at digest dg, moving the reference from the
 * snapshot it had (if any). */
static int env_point(struct store *s, struct db_batch *b, const uint8_t *k,
		     size_t kl, const uint8_t dg[STORE_DIGEST_LEN])
{
	uint8_t val[1 + STORE_DIGEST_LEN];
	struct store_stats st;
	void *old = NULL;
	size_t olen = 0;
	int rc = stats_load(b, &st);

	if (!rc)
		rc = ref_entry(s, b, &st, STORE_KIND_DIR, dg);
	if (!rc && db_batch_get(b, CF_NAMESPACE, k, kl, &old, &olen) == 0) {
		if (olen == sizeof(val) && ((uint8_t *)old)[0] == RECORD_FORMAT)
			rc = unref_entry(s, b, &st, STORE_KIND_DIR,
					 (uint8_t *)old + 1);
		else
			rc = -EIO;
		free(old);
	}
	if (rc)
		return rc;
	stats_save(b, &st);
	val[0] = RECORD_FORMAT;
	memcpy(val + 1, dg, STORE_DIGEST_LEN);
	db_batch_put(b, CF_NAMESPACE, k, kl, val, sizeof(val));
	return 0;
}

int store_env_set(struct store *s, const struct store_caller *c,
		  const char *pipeline, const char *run, const char *step,
		  const struct store_env_file *files, size_t n,
		  uint8_t out[STORE_DIGEST_LEN])
{
	struct dirlist d = {0};
	uint8_t k[KEY_MAX], dg[STORE_DIGEST_LEN];
	struct store_run r;
	struct commit t;
	int rc = store_step_names_check(pipeline, run, step);

	if (!rc)
		rc = store_step_get(s, pipeline, run, step);
	if (rc)
		return rc;
	/* Gate, then commit lock: the order a seal takes (output.c). */
	gate_share(&s->gc_gate);
	rc = env_files(s, files, n, &d);
	if (!rc)
		rc = db_flush_chunks(s->db);
	if (!rc)
		rc = commit_begin(s, c, &t);
	if (rc) {
		free(d.e);
		gate_unshare(&s->gc_gate);
		return rc;
	}
	rc = run_read(s, t.b, pipeline, run, &r);
	if (!rc && r.status != STORE_RUN_OPEN)
		rc = -EROFS;
	if (!rc)
		rc = dir_stage(t.b, &d, dg);
	if (!rc)
		rc = env_point(s, t.b, k,
			       key_names(k, KEY_NS_ENV, pipeline, run, step),
			       dg);
	commit_note(&t, "env.set", rc ? NULL : dg,
		    "/pipelines/%s/runs/%s/steps/%s/env", pipeline, run, step);
	rc = commit_end(&t, rc);
	chunk_set_clear(s->pending);
	free(d.e);
	gate_unshare(&s->gc_gate);
	if (!rc && out)
		memcpy(out, dg, STORE_DIGEST_LEN);
	return rc;
}

int store_env_get(struct store *s, const char *pipeline, const char *run,
		  const char *step, uint8_t out[STORE_DIGEST_LEN])
{
	uint8_t k[KEY_MAX];
	void *val;
	size_t len;
	int rc = store_step_names_check(pipeline, run, step);

	if (rc)
		return rc;
	rc = db_get(s->db, CF_NAMESPACE, k,
		    key_names(k, KEY_NS_ENV, pipeline, run, step), &val, &len);
	if (rc)
		return rc;
	if (len != 1 + STORE_DIGEST_LEN || ((uint8_t *)val)[0] != RECORD_FORMAT)
		rc = -EIO;
	else
		memcpy(out, (uint8_t *)val + 1, STORE_DIGEST_LEN);
	free(val);
	if (rc)
		store_log(STORE_LOG_ERR, "corrupt env record of %s/%s/%s",
			  pipeline, run, step);
	return rc;
}

int store_env_read(struct store *s, const uint8_t env[STORE_DIGEST_LEN],
		   const char *name, char **out, size_t *len)
{
	struct store_dirent e;
	struct store_reader *rd;
	ssize_t got;
	int rc = store_tree_lookup(s, env, name, &e);

	if (!rc && e.kind != STORE_KIND_FILE)
		rc = -ENOENT;
	if (!rc && e.size > STORE_ENV_FILE_MAX)
		rc = -EFBIG;
	if (!rc)
		rc = store_reader_open(s, e.digest, &rd);
	if (rc)
		return rc;
	*out = malloc(e.size + 1);
	if (!*out) {
		store_reader_close(rd);
		return -ENOMEM;
	}
	got = e.size ? store_reader_pread(rd, *out, e.size, 0) : 0;
	store_reader_close(rd);
	if (got < 0 || (uint64_t)got != e.size) {
		free(*out);
		*out = NULL;
		return got < 0 ? (int)got : -EIO;
	}
	(*out)[e.size] = '\0';
	*len = e.size;
	return 0;
}

/* ------------------------------------------------------------ the cache */

static size_t cache_key(uint8_t *k, const uint8_t key[STORE_DIGEST_LEN])
{
	return key_add_bytes(k, key_tag(k, KEY_NS_CACHE), key,
			     STORE_DIGEST_LEN);
}

int store_cache_set(struct store *s, const struct store_caller *c,
		    const uint8_t key[STORE_DIGEST_LEN], const char *pipeline,
		    const char *run, const char *step)
{
	uint8_t k[KEY_DIGEST_LEN];
	struct buf x = {0};
	struct commit t;
	int rc = store_step_names_check(pipeline, run, step);

	if (rc)
		return rc;
	buf_u8(&x, RECORD_FORMAT);
	buf_str(&x, pipeline);
	buf_str(&x, run);
	buf_str(&x, step);
	buf_varint(&x, (uint64_t)now_ns());
	if (x.oom)
		return -ENOMEM;
	rc = commit_begin(s, c, &t);
	if (rc) {
		free(x.p);
		return rc;
	}
	db_batch_put(t.b, CF_NAMESPACE, k, cache_key(k, key), x.p, x.len);
	free(x.p);
	commit_note(&t, "cache.set", key, "/pipelines/%s/runs/%s/steps/%s",
		    pipeline, run, step);
	return commit_end(&t, 0);
}

static int cache_decode(const void *val, size_t len, struct store_cache *out)
{
	struct cursor c = {val, (const uint8_t *)val + len, false};

	if (cur_u8(&c) != RECORD_FORMAT)
		return -EIO;
	cur_str(&c, out->pipeline, sizeof(out->pipeline));
	cur_str(&c, out->run, sizeof(out->run));
	cur_str(&c, out->step, sizeof(out->step));
	out->created = (int64_t)cur_varint(&c);
	return c.bad ? -EIO : 0;
}

int store_cache_get(struct store *s, const uint8_t key[STORE_DIGEST_LEN],
		    struct store_cache *out)
{
	uint8_t k[KEY_DIGEST_LEN];
	void *val;
	size_t len;
	int rc = db_get(s->db, CF_NAMESPACE, k, cache_key(k, key), &val, &len);

	if (rc)
		return rc;
	memset(out, 0, sizeof(*out));
	memcpy(out->key, key, STORE_DIGEST_LEN);
	rc = cache_decode(val, len, out);
	free(val);
	if (rc)
		store_log(STORE_LOG_ERR, "corrupt cache entry");
	return rc;
}

struct cache_scan {
	int (*fn)(void *arg, const struct store_cache *e);
	void *arg;
};

static int cache_one(void *arg, const void *key, size_t klen, const void *val,
		     size_t vlen)
{
	struct cache_scan *cs = arg;
	struct store_cache e = {0};

	if (klen != KEY_DIGEST_LEN || cache_decode(val, vlen, &e))
		return -EIO;
	memcpy(e.key, (const uint8_t *)key + 1, STORE_DIGEST_LEN);
	return cs->fn(cs->arg, &e);
}

int store_cache_each(struct store *s,
		     int (*fn)(void *arg, const struct store_cache *e),
		     void *arg)
{
	struct cache_scan cs = {fn, arg};
	uint8_t tag = KEY_NS_CACHE;

	return db_scan(s->db, CF_NAMESPACE, &tag, 1, cache_one, &cs);
}

struct refers {
	struct store *s;
	const char *artifact;
	uint32_t number;
};

static int output_is(void *arg, const char *artifact, uint32_t number)
{
	struct refers *r = arg;

	return !strcmp(artifact, r->artifact) && number == r->number;
}

static int entry_refers(void *arg, const struct store_cache *e)
{
	struct refers *r = arg;

	return store_step_output_each(r->s, e->pipeline, e->run, e->step,
				      output_is, r);
}

bool store_cache_refers(struct store *s, const char *artifact, uint32_t number)
{
	struct refers r = {s, artifact, number};

	return store_cache_each(s, entry_refers, &r) == 1;
}
