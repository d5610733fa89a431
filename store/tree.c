/*
 * tree.c - record encodings (FORMAT.md): file manifests and directory
 * listings (the byte codec they use is codec.c's).
 */
#include "store_i.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------- manifests */

int manifest_encode(const struct manifest *m, void **out, size_t *len)
{
	struct buf b = {0};

	buf_u8(&b, RECORD_FORMAT);
	buf_varint(&b, m->size);
	buf_varint(&b, m->n);
	for (size_t i = 0; i < m->n; i++) {
		buf_bytes(&b, m->chunks[i].id, STORE_DIGEST_LEN);
		buf_varint(&b, m->chunks[i].plain);
		buf_varint(&b, m->chunks[i].stored);
	}
	if (b.oom) {
		free(b.p);
		return -ENOMEM;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}

int manifest_decode(const void *buf, size_t len, struct manifest *out)
{
	struct cursor c = {buf, (const uint8_t *)buf + len, false};
	uint64_t n, off = 0;

	memset(out, 0, sizeof(*out));
	if (cur_u8(&c) != RECORD_FORMAT)
		return -EIO;
	out->size = cur_varint(&c);
	n = cur_varint(&c);
	/* Each entry takes at least 34 bytes: a cap from the input itself. */
	if (c.bad || n > len / 34)
		return -EIO;
	out->chunks = calloc(n ? n : 1, sizeof(*out->chunks));
	if (!out->chunks)
		return -ENOMEM;
	out->n = n;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *id = cur_bytes(&c, STORE_DIGEST_LEN);

		if (!id)
			break;
		memcpy(out->chunks[i].id, id, STORE_DIGEST_LEN);
		out->chunks[i].plain = (uint32_t)cur_varint(&c);
		out->chunks[i].stored = (uint32_t)cur_varint(&c);
		out->chunks[i].offset = off;
		off += out->chunks[i].plain;
	}
	if (c.bad || c.p != c.end || off != out->size) {
		manifest_release(out);
		return -EIO;
	}
	return 0;
}

void manifest_release(struct manifest *m)
{
	free(m->chunks);
	m->chunks = NULL;
	m->n = 0;
}

static int object_load(struct store *s, struct db_batch *b, enum key_tag tag,
		       const uint8_t digest[STORE_DIGEST_LEN], void **val,
		       size_t *len)
{
	uint8_t key[KEY_DIGEST_LEN];

	key_digest(key, tag, digest);
	if (b)
		return db_batch_get(b, CF_MANIFESTS, key, sizeof(key), val,
				    len);
	return db_get(s->db, CF_MANIFESTS, key, sizeof(key), val, len);
}

static void log_corrupt(const char *what,
			const uint8_t digest[STORE_DIGEST_LEN])
{
	char hex[STORE_DIGEST_STR_LEN];

	store_digest_format(digest, hex);
	store_log(STORE_LOG_ERR, "corrupt %s record %s", what, hex);
}

int manifest_load(struct store *s, struct db_batch *b,
		  const uint8_t digest[STORE_DIGEST_LEN], struct manifest *out)
{
	void *val;
	size_t len;
	int rc = object_load(s, b, KEY_MF_FILE, digest, &val, &len);

	if (rc)
		return rc;
	rc = manifest_decode(val, len, out);
	free(val);
	if (rc == -EIO)
		log_corrupt("manifest", digest);
	return rc;
}

/* ------------------------------------------------------ directories */

int dir_encode(const struct dirlist *d, void **out, size_t *len)
{
	struct buf b = {0};

	buf_u8(&b, RECORD_FORMAT);
	buf_varint(&b, d->n);
	for (size_t i = 0; i < d->n; i++) {
		const struct store_dirent *e = &d->e[i];

		buf_str(&b, e->name);
		buf_u8(&b, (uint8_t)e->kind);
		buf_varint(&b, e->mode);
		buf_varint(&b, e->size);
		buf_bytes(&b, e->digest, STORE_DIGEST_LEN);
	}
	if (b.oom) {
		free(b.p);
		return -ENOMEM;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}

int dir_stage(struct db_batch *b, const struct dirlist *d,
	      uint8_t out[STORE_DIGEST_LEN])
{
	uint8_t key[KEY_DIGEST_LEN];
	void *val, *old;
	size_t len, olen;
	int rc = dir_encode(d, &val, &len);

	if (rc)
		return rc;
	rc = store_digest_buf(val, len, out);
	key_digest(key, KEY_MF_DIR, out);
	if (!rc &&
	    db_batch_get(b, CF_MANIFESTS, key, sizeof(key), &old, &olen) == 0)
		free(old);
	else if (!rc)
		db_batch_put(b, CF_MANIFESTS, key, sizeof(key), val, len);
	free(val);
	return rc;
}

int dir_decode_each(const void *buf, size_t len, dir_entry_fn fn, void *arg)
{
	struct cursor c = {buf, (const uint8_t *)buf + len, false};
	struct store_dirent e;
	char prev[STORE_NAME_MAX + 1] = "";
	uint64_t n;
	int rc = 0;

	if (cur_u8(&c) != RECORD_FORMAT)
		return -EIO;
	n = cur_varint(&c);
	if (c.bad || n > len / 36)
		return -EIO;
	for (size_t i = 0; i < n && !c.bad && !rc; i++) {
		const uint8_t *dg;

		memset(&e, 0, sizeof(e));
		cur_str(&c, e.name, sizeof(e.name));
		e.kind = cur_u8(&c);
		e.mode = (uint32_t)cur_varint(&c);
		e.size = cur_varint(&c);
		dg = cur_bytes(&c, STORE_DIGEST_LEN);
		if (dg)
			memcpy(e.digest, dg, STORE_DIGEST_LEN);
		if (e.kind < STORE_KIND_FILE || e.kind > STORE_KIND_SYMLINK)
			c.bad = true;
		/* Names as a put makes them, sorted and distinct: readers
		 * bisect, and a name like ".." or "a/b" must not reach a
		 * directory read. */
		if (!c.bad && (store_name_check(e.name, strlen(e.name)) ||
			       (i && strcmp(prev, e.name) >= 0)))
			c.bad = true;
		if (!c.bad) {
			memcpy(prev, e.name, sizeof(prev));
			rc = fn(arg, (size_t)n, i, &e);
		}
	}
	if (rc)
		return rc;
	if (c.bad || c.p != c.end)
		return -EIO;
	return 0;
}

static int list_put(void *arg, size_t n, size_t i, const struct store_dirent *e)
{
	struct dirlist *d = arg;

	if (i == 0) {
		d->e = calloc(n, sizeof(*d->e));
		if (!d->e)
			return -ENOMEM;
		d->n = n;
	}
	d->e[i] = *e;
	return 0;
}

int dir_decode(const void *buf, size_t len, struct dirlist *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	rc = dir_decode_each(buf, len, list_put, out);
	if (!rc && !out->e) /* empty: still an array, as callers expect */
		rc = (out->e = calloc(1, sizeof(*out->e))) ? 0 : -ENOMEM;
	if (rc)
		dir_release(out);
	return rc;
}

void dir_release(struct dirlist *d)
{
	free(d->e);
	d->e = NULL;
	d->n = 0;
}

int dir_load_each(struct store *s, struct db_batch *b,
		  const uint8_t digest[STORE_DIGEST_LEN], dir_entry_fn fn,
		  void *arg)
{
	void *val;
	size_t len;
	uint8_t check[STORE_DIGEST_LEN];
	int rc = object_load(s, b, KEY_MF_DIR, digest, &val, &len);

	if (rc)
		return rc;
	/* A listing is its own digest: verify it like a chunk. */
	rc = store_digest_buf(val, len, check);
	if (!rc && memcmp(check, digest, STORE_DIGEST_LEN) != 0)
		rc = -EIO;
	if (!rc)
		rc = dir_decode_each(val, len, fn, arg);
	free(val);
	if (rc == -EIO)
		log_corrupt("directory", digest);
	return rc;
}

int dir_load(struct store *s, struct db_batch *b,
	     const uint8_t digest[STORE_DIGEST_LEN], struct dirlist *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	rc = dir_load_each(s, b, digest, list_put, out);
	if (!rc && !out->e)
		rc = (out->e = calloc(1, sizeof(*out->e))) ? 0 : -ENOMEM;
	if (rc)
		dir_release(out);
	return rc;
}
