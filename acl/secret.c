/*
 * secret.c - secrets encrypted at rest: AES-256-GCM under a key kept
 * outside the store, beside the journal key, as <store id>.secret.key
 * (32 random bytes, 0600; made by the first acl_secret_write).
 *
 * A value is sealed here before the store sees it (store_secret_set) and
 * opened here after it leaves (store_secret_get); the stored bytes are
 * the envelope of FORMAT.md (secrets cf): a format byte, a random 12-byte
 * nonce, the ciphertext and the 16-byte tag.  The secret's name is the
 * associated data, so a value moved to another name fails to open.
 *
 * The key belongs to the process that holds the store, not to whoever it
 * serves: the daemon never takes on a client's file identity, so the key
 * directory stays the daemon user's alone; who may read or change which
 * secret is decided before anything here is called (acl_decide).
 */
#include "acl_i.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define ENVELOPE_FORMAT 1
#define ENVELOPE_HEAD	(1 + STORE_AEAD_IV_LEN)
#define ENVELOPE_EXTRA	(ENVELOPE_HEAD + STORE_AEAD_TAG_LEN)

_Static_assert(KEY_LEN == STORE_AEAD_KEY_LEN, "the secrets key is AES-256");
_Static_assert(ACL_SECRET_MAX + ENVELOPE_EXTRA <= STORE_SECRET_MAX,
	       "a sealed value fits the store's cap");

/* Reads (with create: first makes) the secrets key of s. */
static int secret_key(struct store *s, bool create, uint8_t key[KEY_LEN])
{
	char path[ACL_PATH_MAX];
	int rc;

	rc = key_path(store_dir(s), store_id(s), ".secret.key", path,
		      sizeof(path), create);
	if (!rc && create && access(path, F_OK) < 0) {
		rc = key_create(path, "secrets key");
		if (!rc)
			store_log(STORE_LOG_INFO, "created the secrets key %s",
				  path);
	}
	if (rc) /* logged */
		return rc;
	rc = key_read(path, key, "secrets key");
	if (rc == -ENOENT) {
		store_log(STORE_LOG_ERR,
			  "the secrets key %s is missing: the secrets of this "
			  "store cannot be opened without it",
			  path);
		return -ENOKEY;
	}
	if (rc && rc != -EINVAL)
		store_log(STORE_LOG_ERR, "cannot read the secrets key %s: %s",
			  path, strerror(-rc));
	return rc;
}

int acl_secret_write(struct store *s, const struct store_caller *c,
		     const char *name, const void *val, size_t len)
{
	uint8_t key[KEY_LEN], *env;
	size_t total = ENVELOPE_EXTRA + len;
	int rc;

	if (len > ACL_SECRET_MAX) {
		store_log(STORE_LOG_ERR,
			  "secret %s: the value has %zu bytes, at most %d",
			  name, len, ACL_SECRET_MAX);
		return -EFBIG;
	}
	env = malloc(total);
	if (!env)
		return -ENOMEM;
	env[0] = ENVELOPE_FORMAT;
	if (getrandom(env + 1, STORE_AEAD_IV_LEN, 0) != STORE_AEAD_IV_LEN) {
		rc = -EIO;
		store_log(STORE_LOG_ERR, "secret %s: no random nonce", name);
		goto out_free;
	}
	rc = secret_key(s, true, key);
	if (rc)
		goto out_free;
	rc = store_aead_encrypt(key, env + 1, name, strlen(name), val, len,
				env + ENVELOPE_HEAD, env + ENVELOPE_HEAD + len);
	explicit_bzero(key, sizeof(key));
	if (!rc)
		rc = store_secret_set(s, c, name, env, total);
out_free:
	free(env);
	return rc;
}

int acl_secret_size(struct store *s, const char *name, uint64_t *out)
{
	size_t total;
	void *stored;
	int rc = store_secret_get(s, name, &stored, &total);

	if (rc)
		return rc;
	if (total < ENVELOPE_EXTRA ||
	    ((uint8_t *)stored)[0] != ENVELOPE_FORMAT) {
		store_log(STORE_LOG_ERR, "secret %s: damaged envelope", name);
		rc = -EIO;
	} else {
		*out = total - ENVELOPE_EXTRA;
	}
	free(stored);
	return rc;
}

int acl_secret_read(struct store *s, const char *name, uint8_t **val,
		    size_t *len)
{
	uint8_t key[KEY_LEN], *env, *out;
	size_t total, n;
	void *stored;
	int rc;

	rc = store_secret_get(s, name, &stored, &total);
	if (rc)
		return rc;
	env = stored;
	if (total < ENVELOPE_EXTRA || env[0] != ENVELOPE_FORMAT) {
		store_log(STORE_LOG_ERR,
			  "secret %s: unknown or damaged envelope (%zu bytes, "
			  "format %u)",
			  name, total, total ? env[0] : 0);
		rc = -EIO;
		goto out_free;
	}
	n = total - ENVELOPE_EXTRA;
	out = malloc(n + 1);
	if (!out) {
		rc = -ENOMEM;
		goto out_free;
	}
	rc = secret_key(s, false, key);
	if (!rc)
		rc = store_aead_decrypt(key, env + 1, name, strlen(name),
					env + ENVELOPE_HEAD, n, out,
					env + ENVELOPE_HEAD + n);
	explicit_bzero(key, sizeof(key));
	if (rc == -EBADMSG) {
		store_log(STORE_LOG_ERR,
			  "secret %s: the stored value fails authentication "
			  "(another secrets key, or damaged or moved bytes); "
			  "not returned",
			  name);
		rc = -EIO;
	}
	if (rc) {
		free(out);
		goto out_free;
	}
	out[n] = '\0';
	*val = out;
	*len = n;
out_free:
	free(stored);
	return rc;
}

int acl_secret_each(struct store *s, int (*fn)(void *arg, const char *name),
		    void *arg)
{
	return store_secret_each(s, fn, arg);
}
