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
 * rotate-key seals every stored value again under a new key in one
 * commit.  The new key is written first as <id>.secret.key.next and
 * renamed over the old one after the commit, so a rotation cut short
 * leaves either the old key with the old values (the .next file is then
 * stale) or the new values with the .next key; reads try the key, then
 * .next, and the next rotation settles which one holds before it starts.
 *
 * The key belongs to the process that holds the store, not to whoever it
 * serves: the daemon never takes on a client's file identity, so the key
 * directory stays the daemon user's alone; who may read or change which
 * secret is decided before anything here is called (acl_decide).
 */
#include "acl_i.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define ENVELOPE_FORMAT 1
#define ENVELOPE_HEAD	(1 + STORE_AEAD_IV_LEN)
#define ENVELOPE_EXTRA	(ENVELOPE_HEAD + STORE_AEAD_TAG_LEN)
#define KEY_SUFFIX	".secret.key"
#define NEXT_SUFFIX	".secret.key.next"

_Static_assert(KEY_LEN == STORE_AEAD_KEY_LEN, "the secrets key is AES-256");
_Static_assert(ACL_SECRET_MAX + ENVELOPE_EXTRA <= STORE_SECRET_MAX,
	       "a sealed value fits the store's cap");

/* Reads (with create: first makes) the secrets key of s. */
static int secret_key(struct store *s, bool create, uint8_t key[KEY_LEN])
{
	char path[ACL_PATH_MAX];
	int rc;

	rc = key_path(store_dir(s), store_id(s), KEY_SUFFIX, path, sizeof(path),
		      create);
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
	if (rc && rc != -EINVAL && rc != -EPERM)
		store_log(STORE_LOG_ERR, "cannot read the secrets key %s: %s",
			  path, strerror(-rc));
	return rc;
}

/* The key a rotation cut short left (NEXT_SUFFIX): 0, -ENOENT (quietly)
 * or key_read's errors. */
static int next_key(struct store *s, uint8_t key[KEY_LEN], char *path,
		    size_t size)
{
	int rc =
	    key_path(store_dir(s), store_id(s), NEXT_SUFFIX, path, size, false);

	return rc ? rc : key_read(path, key, "secrets key");
}

/* Seals val[0..len) as secret name under key into a malloc'd envelope. */
static int seal(const uint8_t key[KEY_LEN], const char *name, const void *val,
		size_t len, uint8_t **out, size_t *out_len)
{
	size_t total = ENVELOPE_EXTRA + len;
	uint8_t *env = malloc(total);
	int rc;

	if (!env)
		return -ENOMEM;
	env[0] = ENVELOPE_FORMAT;
	if (getrandom(env + 1, STORE_AEAD_IV_LEN, 0) != STORE_AEAD_IV_LEN) {
		store_log(STORE_LOG_ERR, "secret %s: no random nonce", name);
		free(env);
		return -EIO;
	}
	rc = store_aead_encrypt(key, env + 1, name, strlen(name), val, len,
				env + ENVELOPE_HEAD, env + ENVELOPE_HEAD + len);
	if (rc) {
		free(env);
		return rc;
	}
	*out = env;
	*out_len = total;
	return 0;
}

/* Opens envelope env[0..total) of name under key into a malloc'd *val
 * (NUL after *len bytes).  -EBADMSG (quietly) when it does not open,
 * -EIO (logged) when it is no envelope. */
static int unseal(const uint8_t key[KEY_LEN], const char *name,
		  const uint8_t *env, size_t total, uint8_t **val, size_t *len)
{
	uint8_t *out;
	size_t n;
	int rc;

	if (total < ENVELOPE_EXTRA || env[0] != ENVELOPE_FORMAT) {
		store_log(STORE_LOG_ERR,
			  "secret %s: unknown or damaged envelope (%zu bytes, "
			  "format %u)",
			  name, total, total ? env[0] : 0);
		return -EIO;
	}
	n = total - ENVELOPE_EXTRA;
	out = malloc(n + 1);
	if (!out)
		return -ENOMEM;
	rc = store_aead_decrypt(key, env + 1, name, strlen(name),
				env + ENVELOPE_HEAD, n, out,
				env + ENVELOPE_HEAD + n);
	if (rc) {
		explicit_bzero(out, n);
		free(out);
		return rc;
	}
	out[n] = '\0';
	*val = out;
	*len = n;
	return 0;
}

int acl_secret_write(struct store *s, const struct store_caller *c,
		     const char *name, const void *val, size_t len,
		     uint32_t *out_version)
{
	uint8_t key[KEY_LEN], *env = NULL;
	size_t total = 0;
	int rc;

	if (len > ACL_SECRET_MAX) {
		store_log(STORE_LOG_ERR,
			  "secret %s: the value has %zu bytes, at most %d",
			  name, len, ACL_SECRET_MAX);
		return -EFBIG;
	}
	rc = secret_key(s, true, key);
	if (!rc)
		rc = seal(key, name, val, len, &env, &total);
	explicit_bzero(key, sizeof(key));
	if (!rc)
		rc = store_secret_set(s, c, name, env, total, out_version);
	free(env);
	if (!rc)
		redact_changed(s);
	return rc;
}

int acl_secret_size(struct store *s, const char *name, uint64_t *out)
{
	size_t total;
	void *stored;
	int rc = store_secret_get(s, name, 0, &stored, &total, NULL);

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

int acl_secret_open(struct store *s, const char *name, const void *env,
		    size_t total, uint8_t **val, size_t *len)
{
	char path[ACL_PATH_MAX];
	uint8_t key[KEY_LEN];
	int rc = secret_key(s, false, key);

	if (!rc)
		rc = unseal(key, name, env, total, val, len);
	if (rc == -EBADMSG && !next_key(s, key, path, sizeof(path)))
		rc = unseal(key, name, env, total, val, len);
	explicit_bzero(key, sizeof(key));
	if (rc == -EBADMSG) {
		store_log(STORE_LOG_ERR,
			  "secret %s: the stored value fails authentication "
			  "(another secrets key, or damaged or moved bytes); "
			  "not returned",
			  name);
		rc = -EIO;
	}
	return rc;
}

int acl_secret_read(struct store *s, const char *name, uint32_t version,
		    uint8_t **val, size_t *len, uint32_t *out_version)
{
	void *stored;
	size_t total;
	int rc;

	rc = store_secret_get(s, name, version, &stored, &total, out_version);
	if (rc)
		return rc;
	rc = acl_secret_open(s, name, stored, total, val, len);
	free(stored);
	return rc;
}

int acl_secret_each(struct store *s, int (*fn)(void *arg, const char *name),
		    void *arg)
{
	return store_secret_each(s, fn, arg);
}

/* ---------------------------------------------------------- rotate-key */

struct rekey {
	struct store *s;
	uint8_t old[KEY_LEN], next[KEY_LEN];
};

/* Opens one stored value with the old key and seals it with the next. */
static int rekey_one(void *arg, const char *name, uint32_t version,
		     const void *in, size_t inlen, void **out, size_t *outlen)
{
	struct rekey *r = arg;
	uint8_t *val = NULL, *env = NULL;
	size_t len = 0;
	int rc = unseal(r->old, name, in, inlen, &val, &len);

	if (rc == -EBADMSG) {
		store_log(STORE_LOG_ERR,
			  "secret %s v%u: does not open with the secrets key; "
			  "nothing was rotated",
			  name, version);
		rc = -EIO;
	}
	if (!rc)
		rc = seal(r->next, name, val, len, &env, outlen);
	if (val)
		explicit_bzero(val, len);
	free(val);
	*out = env;
	return rc;
}

/* The first stored value, copied. */
struct first {
	char *name;
	uint8_t *env;
	size_t len;
};

static int first_value(void *arg, const char *name, uint32_t version,
		       const void *env, size_t total)
{
	struct first *f = arg;

	(void)version;
	f->name = strdup(name);
	f->env = malloc(total ? total : 1);
	if (!f->name || !f->env)
		return -ENOMEM;
	memcpy(f->env, env, total);
	f->len = total;
	return 1;
}

/* A .next key left by a rotation cut short: renamed over the key when
 * the stored values open with it (the commit happened), else removed. */
static int settle(struct store *s, const char *path, const char *next)
{
	uint8_t key[KEY_LEN], *val = NULL;
	struct first f = {NULL, NULL, 0};
	size_t vlen = 0;
	int rc = key_read(next, key, "secrets key");

	if (rc == -ENOENT)
		return 0;
	if (rc)
		return rc;
	rc = store_secret_stored_each(s, first_value, &f);
	if (rc == 1 && !unseal(key, f.name, f.env, f.len, &val, &vlen)) {
		explicit_bzero(val, vlen);
		free(val);
		rc = rename(next, path) < 0 ? -errno : 0;
		store_log(STORE_LOG_INFO,
			  "finished an earlier key rotation: %s replaces %s",
			  next, path);
	} else if (rc >= 0) {
		rc = unlink(next) < 0 ? -errno : 0;
	}
	explicit_bzero(key, sizeof(key));
	free(f.name);
	free(f.env);
	return rc;
}

/* fsync of the directory of path, so a rename there lasts. */
static void sync_dir(const char *path)
{
	char dir[ACL_PATH_MAX];
	char *slash;
	int fd;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		return;
	*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

int acl_secret_rotate_key(struct store *s, const struct store_caller *c,
			  uint64_t *out_count)
{
	char path[ACL_PATH_MAX], next[ACL_PATH_MAX];
	struct rekey r = {.s = s};
	int rc;

	rc = key_path(store_dir(s), store_id(s), KEY_SUFFIX, path, sizeof(path),
		      true);
	if (!rc)
		rc = key_path(store_dir(s), store_id(s), NEXT_SUFFIX, next,
			      sizeof(next), false);
	if (!rc)
		rc = settle(s, path, next);
	if (!rc)
		rc = secret_key(s, true, r.old);
	if (!rc)
		rc = key_create(next, "secrets key");
	if (!rc)
		rc = key_read(next, r.next, "secrets key");
	if (rc) {
		if (access(next, F_OK) == 0)
			unlink(next); /* nothing was sealed under it */
	} else if ((rc =
			store_secret_rewrite(s, c, rekey_one, &r, out_count))) {
		/* Kept: if the commit did reach the disk, the values open
		 * with it; the next rotation settles which (settle). */
	} else if (rename(next, path) < 0) {
		rc = -errno;
		store_log(STORE_LOG_ERR,
			  "the secrets were sealed under %s but it could not "
			  "replace %s (%s): they still open with it",
			  next, path, strerror(errno));
	} else {
		sync_dir(path);
	}
	explicit_bzero(&r, sizeof(r));
	return rc;
}
