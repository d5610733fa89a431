/*
 * outentry.c - the entries of the outputs trees of open runs: their keys,
 * their encoding (FORMAT.md, KEY_NS_OUTPUT) and the staging of one entry
 * with its content reference, shared by output.c (the changes) and
 * links.c (files of several names).
 *
 * Each file entry holds a reference on its content, taken and released
 * in the same batch as the entry, so gc never takes what an open run
 * still shows.
 */
#include "store_i.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Checks every component of path ("" allowed when root_ok). */
static int path_check(const char *path, bool root_ok)
{
	size_t total = strlen(path);

	if (total == 0)
		return root_ok ? 0 : -EINVAL;
	if (total > OUT_PATH_MAX)
		return -ENAMETOOLONG;
	while (*path) {
		size_t len = strcspn(path, "/");
		int rc = store_name_check(path, len);

		if (rc)
			return rc;
		path += len;
		if (*path == '/' && *++path == '\0')
			return -EINVAL;
	}
	return 0;
}

void out_key_init(struct out_key *o, const char *pipeline, const char *run,
		  const char *step, const char *path)
{
	o->base = key_add_nul(
	    o->k, key_names(o->k, KEY_NS_OUTPUT, pipeline, run, step));
	o->len = o->base + strlen(path);
	memcpy(o->k + o->base, path, o->len - o->base);
}

static void entry_encode(struct buf *x, const struct store_output *o)
{
	buf_u8(x, RECORD_FORMAT);
	buf_u8(x, (uint8_t)o->e.kind);
	buf_varint(x, o->e.mode);
	buf_varint(x, o->e.size);
	buf_bytes(x, o->e.digest, STORE_DIGEST_LEN);
	buf_varint(x, (uint64_t)o->mtime);
	if (o->atime != o->mtime || o->link)
		buf_varint(x, (uint64_t)o->atime);
	if (o->link)
		buf_varint(x, o->link);
}

int output_entry_decode(const void *val, size_t len, const char *path,
			struct store_output *o)
{
	struct cursor c = {val, (const uint8_t *)val + len, false};
	const char *slash = strrchr(path, '/');
	const uint8_t *dg;

	memset(o, 0, sizeof(*o));
	snprintf(o->e.name, sizeof(o->e.name), "%s", slash ? slash + 1 : path);
	if (cur_u8(&c) != RECORD_FORMAT)
		return -EIO;
	o->e.kind = cur_u8(&c);
	o->e.mode = (uint32_t)cur_varint(&c);
	o->e.size = cur_varint(&c);
	dg = cur_bytes(&c, STORE_DIGEST_LEN);
	if (dg)
		memcpy(o->e.digest, dg, STORE_DIGEST_LEN);
	o->mtime = (int64_t)cur_varint(&c);
	/* The atime is there only when set apart from the mtime. */
	o->atime = c.p < c.end ? (int64_t)cur_varint(&c) : o->mtime;
	o->link = c.p < c.end ? cur_varint(&c) : 0; /* a file of many names */
	o->nlink = 1;
	if (o->e.kind < STORE_KIND_FILE || o->e.kind > STORE_KIND_SYMLINK)
		c.bad = true;
	return c.bad ? -EIO : 0;
}

/* Reads the entry under key (through b when given). */
int out_entry_read(struct store *s, struct db_batch *b, const struct out_key *o,
		   struct store_output *out)
{
	char path[OUT_PATH_MAX + 1];
	void *val;
	size_t len;
	int rc;

	if (o->len == o->base) {
		memset(out, 0, sizeof(*out));
		out->e.kind = STORE_KIND_DIR;
		out->e.mode = 0755;
		return 0;
	}
	rc = b ? db_batch_get(b, CF_NAMESPACE, o->k, o->len, &val, &len)
	       : db_get(s->db, CF_NAMESPACE, o->k, o->len, &val, &len);
	if (rc)
		return rc;
	memcpy(path, o->k + o->base, o->len - o->base);
	path[o->len - o->base] = '\0';
	rc = output_entry_decode(val, len, path, out);
	free(val);
	if (rc)
		store_log(STORE_LOG_ERR, "corrupt output entry %s", path);
	return rc;
}

/* The run must be open and the step present; for writes. */
int out_step_writable(struct store *s, struct db_batch *b, const char *pipeline,
		      const char *run, const char *step)
{
	uint8_t k[KEY_MAX];
	struct store_run r;
	void *val;
	size_t len;
	int rc = run_read(s, b, pipeline, run, &r);

	if (rc)
		return rc;
	if (r.status != STORE_RUN_OPEN || !store_run_here(s, &r))
		return -EROFS;
	rc = db_batch_get(b, CF_NAMESPACE, k,
			  key_names(k, KEY_NS_STEP, pipeline, run, step), &val,
			  &len);
	if (!rc)
		free(val);
	return rc;
}

int out_args_check(const char *pipeline, const char *run, const char *step,
		   const char *path, bool root_ok)
{
	int rc = store_step_names_check(pipeline, run, step);

	return rc ? rc : path_check(path, root_ok);
}

/* The parent of o's path must be a directory. */
int out_parent_check(struct store *s, struct db_batch *b,
		     const struct out_key *o)
{
	struct out_key parent = *o;
	struct store_output pe;
	int rc;

	while (parent.len > parent.base && parent.k[parent.len - 1] != '/')
		parent.len--;
	if (parent.len > parent.base)
		parent.len--; /* drop the '/' */
	rc = out_entry_read(s, b, &parent, &pe);
	if (rc)
		return rc;
	return pe.e.kind == STORE_KIND_DIR ? 0 : -ENOTDIR;
}

int out_entry_put(struct db_batch *b, const struct out_key *o,
		  const struct store_output *e)
{
	struct buf x = {0};

	entry_encode(&x, e);
	if (x.oom)
		return -ENOMEM;
	db_batch_put(b, CF_NAMESPACE, o->k, o->len, x.p, x.len);
	free(x.p);
	return 0;
}

/* Replaces what o holds (old, may be absent) by e (NULL: delete), moving
 * content references and counters. */
int out_entry_swap(struct store *s, struct db_batch *b, const struct out_key *o,
		   const struct store_output *old, const struct store_output *e)
{
	struct store_stats st;
	int rc = stats_load(b, &st);

	if (!rc && e && e->e.kind != STORE_KIND_DIR)
		rc = ref_entry(s, b, &st, e->e.kind, e->e.digest);
	if (!rc && old && old->e.kind != STORE_KIND_DIR)
		rc = unref_entry(s, b, &st, old->e.kind, old->e.digest);
	if (rc)
		return rc;
	stats_save(b, &st);
	if (e)
		return out_entry_put(b, o, e);
	db_batch_delete(b, CF_NAMESPACE, o->k, o->len);
	return 0;
}
