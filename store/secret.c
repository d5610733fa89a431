/*
 * secret.c - the secrets column family: named values the store keeps as
 * opaque bytes.  acl/ seals a value before it comes here and opens it
 * after it leaves, so everything this file sees, writes and journals is
 * ciphertext; it never interprets a value.  Key layout in FORMAT.md
 * (secrets cf).
 */
#include "store_i.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* KEY_SECRET + name; the name checked (store_name_check) and logged when bad.
 */
static int secret_key(const char *name, uint8_t k[1 + STORE_NAME_MAX],
		      size_t *klen)
{
	size_t len = strnlen(name, STORE_NAME_MAX + 1);
	int rc = store_name_check(name, len);

	if (rc) {
		char shown[65];
		size_t i;

		/* A control character must not forge a log line. */
		for (i = 0; i < 64 && name[i]; i++)
			shown[i] =
			    (unsigned char)name[i] < 0x20 || name[i] == 0x7f
				? '?'
				: name[i];
		shown[i] = '\0';
		store_log(STORE_LOG_ERR, "invalid secret name '%s'%s", shown,
			  rc == -ENAMETOOLONG ? ": over 255 bytes" : "");
		return rc;
	}
	*klen = key_add_bytes(k, key_tag(k, KEY_SECRET), name, len);
	return 0;
}

int store_secret_set(struct store *s, const struct store_caller *c,
		     const char *name, const void *val, size_t len)
{
	uint8_t k[1 + STORE_NAME_MAX], *v;
	struct commit t;
	size_t kl;
	int rc = secret_key(name, k, &kl);

	if (rc)
		return rc;
	if (len > STORE_SECRET_MAX) {
		store_log(STORE_LOG_ERR,
			  "secret %s: %zu bytes stored, at most %d", name, len,
			  STORE_SECRET_MAX);
		return -EFBIG;
	}
	v = malloc(1 + len);
	if (!v)
		return -ENOMEM;
	v[0] = RECORD_FORMAT;
	if (len)
		memcpy(v + 1, val, len);
	rc = commit_begin(s, c, &t);
	if (!rc) {
		db_batch_put(t.b, CF_SECRETS, k, kl, v, 1 + len);
		/* The record names the secret, never its value. */
		commit_note(&t, "secret.set", NULL, "/secrets/%s", name);
		rc = commit_end(&t, 0);
	}
	free(v);
	return rc;
}

int store_secret_get(struct store *s, const char *name, void **val, size_t *len)
{
	uint8_t k[1 + STORE_NAME_MAX];
	size_t kl, vl;
	void *v;
	int rc = secret_key(name, k, &kl);

	if (rc)
		return rc;
	rc = db_get(s->db, CF_SECRETS, k, kl, &v, &vl);
	if (rc)
		return rc;
	if (vl < 1 || ((uint8_t *)v)[0] != RECORD_FORMAT ||
	    vl - 1 > STORE_SECRET_MAX) {
		store_log(STORE_LOG_ERR, "secret %s: malformed record", name);
		free(v);
		return -EIO;
	}
	/* Drop the format byte in place: the caller frees what it gets. */
	memmove(v, (uint8_t *)v + 1, vl - 1);
	*val = v;
	*len = vl - 1;
	return 0;
}

int store_secret_delete(struct store *s, const struct store_caller *c,
			const char *name)
{
	uint8_t k[1 + STORE_NAME_MAX];
	struct commit t;
	size_t kl, vl;
	void *v;
	int rc = secret_key(name, k, &kl);

	if (rc)
		return rc;
	rc = commit_begin(s, c, &t);
	if (rc)
		return rc;
	rc = db_batch_get(t.b, CF_SECRETS, k, kl, &v, &vl);
	if (!rc) {
		free(v);
		db_batch_delete(t.b, CF_SECRETS, k, kl);
		commit_note(&t, "secret.rm", NULL, "/secrets/%s", name);
	}
	return commit_end(&t, rc);
}

struct secret_scan {
	int (*fn)(void *arg, const char *name);
	void *arg;
};

static int scan_secret(void *arg, const void *key, size_t klen, const void *val,
		       size_t vlen)
{
	struct secret_scan *c = arg;
	char name[STORE_NAME_MAX + 1];

	(void)val;
	if (klen < 2 || klen > 1 + STORE_NAME_MAX || vlen < 1) {
		store_log(STORE_LOG_ERR,
			  "secrets: malformed record (%zu-byte key)", klen);
		return -EIO;
	}
	memcpy(name, (const char *)key + 1, klen - 1);
	name[klen - 1] = '\0';
	return c->fn(c->arg, name);
}

int store_secret_each(struct store *s, int (*fn)(void *arg, const char *name),
		      void *arg)
{
	struct secret_scan c = {fn, arg};
	uint8_t tag = KEY_SECRET;

	return db_scan(s->db, CF_SECRETS, &tag, 1, scan_secret, &c);
}
