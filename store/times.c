/*
 * times.c - the mtimes of the entries of sealed versions.
 *
 * A version's digest is the digest of its content (names, kinds, modes,
 * sizes, bytes): the same tree gives the same digest whatever its times,
 * so deduplication and the step cache see through a touch.  The times
 * live beside the version instead, one key per path that has one:
 * KEY_NS_MTIME artifact NUL be32 number path (FORMAT.md, "Times"),
 * written in the batch that makes the version and never changed.
 */
#include "store_i.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define TIMES_PATH_MAX 4095

/* The key of path in artifact's version number into k (KEY_MAX +
 * TIMES_PATH_MAX bytes); its length, or 0 when path is too long. */
static size_t times_key(uint8_t *k, const char *artifact, uint32_t number,
			const char *path)
{
	size_t n = key_names(k, KEY_NS_MTIME, artifact, NULL, NULL);
	size_t plen = strlen(path);

	if (plen > TIMES_PATH_MAX)
		return 0;
	n = key_add_be32(k, key_add_nul(k, n), number);
	return key_add_bytes(k, n, path, plen);
}

int times_stage(struct db_batch *b, const char *artifact, uint32_t number,
		const char *path, int64_t mtime)
{
	uint8_t k[KEY_MAX + TIMES_PATH_MAX];
	size_t kl = times_key(k, artifact, number, path);
	struct buf x = {0};
	int rc;

	if (!kl)
		return -ENAMETOOLONG;
	buf_u8(&x, RECORD_FORMAT);
	buf_varint(&x, (uint64_t)mtime);
	rc = x.oom ? -ENOMEM : 0;
	if (!rc)
		db_batch_put(b, CF_NAMESPACE, k, kl, x.p, x.len);
	free(x.p);
	return rc;
}

int store_version_mtime(struct store *s, const char *artifact, uint32_t number,
			const char *path, int64_t *out)
{
	uint8_t k[KEY_MAX + TIMES_PATH_MAX];
	size_t kl, len;
	struct cursor c;
	void *val;
	int rc = store_name_check(artifact, strlen(artifact));

	if (rc)
		return rc;
	kl = times_key(k, artifact, number, path);
	if (!kl)
		return -ENAMETOOLONG;
	rc = db_get(s->db, CF_NAMESPACE, k, kl, &val, &len);
	if (rc)
		return rc;
	c = (struct cursor){val, (const uint8_t *)val + len, false};
	if (cur_u8(&c) != RECORD_FORMAT)
		c.bad = true;
	*out = (int64_t)cur_varint(&c);
	free(val);
	if (c.bad) {
		store_log(STORE_LOG_ERR, "corrupt mtime of %s@v%u/%s", artifact,
			  number, path);
		return -EIO;
	}
	return 0;
}
