/*
 * secret.c - the secrets column family: named values the store keeps as
 * opaque bytes, each change a new version.  acl/ seals a value before it
 * comes here and opens it after it leaves, so everything this file sees,
 * writes and journals is ciphertext; it never interprets a value.  Key
 * layout in FORMAT.md (secrets cf): the current version under KEY_SECRET
 * + name, each earlier one under KEY_SECRET_OLD + name + NUL + be32.
 */
#include "store_i.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The record format of a secret's value: 1 (no version: version 1), 2
 * (be32 version, then the sealed bytes). */
#define SECRET_FORMAT	 2
#define SECRET_FORMAT_V1 1
#define SECRET_HEAD	 5
#define SECRET_KEY_MAX	 (1 + STORE_NAME_MAX + 1 + 4)

/* Generations are unique in the process (as store_binding_gen's). */
static uint64_t gen_counter;

static void bump_gen(struct store *s)
{
	__atomic_store_n(&s->secret_gen,
			 __atomic_add_fetch(&gen_counter, 1, __ATOMIC_RELAXED),
			 __ATOMIC_RELEASE);
}

uint64_t store_secret_gen(struct store *s)
{
	uint64_t g = __atomic_load_n(&s->secret_gen, __ATOMIC_ACQUIRE);

	if (!g) {
		uint64_t fresh =
		    __atomic_add_fetch(&gen_counter, 1, __ATOMIC_RELAXED);

		if (__atomic_compare_exchange_n(&s->secret_gen, &g, fresh,
						false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			g = fresh;
	}
	return g;
}

/* Checks name (logged when bad) and builds KEY_SECRET + name. */
static int secret_key(const char *name, uint8_t k[SECRET_KEY_MAX], size_t *klen)
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

/* KEY_SECRET_OLD + name + NUL + be32 version, from the current key k. */
static size_t old_key(const uint8_t *k, size_t klen, uint32_t version,
		      uint8_t out[SECRET_KEY_MAX])
{
	size_t n = key_tag(out, KEY_SECRET_OLD);

	n = key_add_bytes(out, n, k + 1, klen - 1);
	n = key_add_nul(out, n);
	return key_add_be32(out, n, version);
}

/* The version and the sealed bytes of a stored record; -EIO (logged)
 * when it is malformed. */
static int parse(const char *name, const uint8_t *v, size_t vl,
		 uint32_t *version, size_t *off)
{
	if (vl >= 1 && v[0] == SECRET_FORMAT_V1 && vl - 1 <= STORE_SECRET_MAX) {
		*version = 1;
		*off = 1;
		return 0;
	}
	if (vl >= SECRET_HEAD && v[0] == SECRET_FORMAT &&
	    vl - SECRET_HEAD <= STORE_SECRET_MAX) {
		*version = (uint32_t)v[1] << 24 | (uint32_t)v[2] << 16 |
			   (uint32_t)v[3] << 8 | v[4];
		*off = SECRET_HEAD;
		if (*version)
			return 0;
	}
	store_log(STORE_LOG_ERR, "secret %s: malformed record", name);
	return -EIO;
}

/* A record of format 2: version, then len bytes of val; malloc'd. */
static uint8_t *record(uint32_t version, const void *val, size_t len)
{
	uint8_t *v = malloc(SECRET_HEAD + len);

	if (!v)
		return NULL;
	v[0] = SECRET_FORMAT;
	v[1] = (uint8_t)(version >> 24);
	v[2] = (uint8_t)(version >> 16);
	v[3] = (uint8_t)(version >> 8);
	v[4] = (uint8_t)version;
	if (len)
		memcpy(v + SECRET_HEAD, val, len);
	return v;
}

/* In commit t: moves the current record of key k (if any) to its
 * version's old key; *next gets the version after it (1 when none). */
static int retire_current(struct commit *t, const char *name, const uint8_t *k,
			  size_t kl, uint32_t *next)
{
	uint8_t ok[SECRET_KEY_MAX], *old;
	size_t vl, off, okl;
	uint32_t cur;
	void *v;
	int rc = db_batch_get(t->b, CF_SECRETS, k, kl, &v, &vl);

	*next = 1;
	if (rc == -ENOENT)
		return 0;
	if (rc)
		return rc;
	rc = parse(name, v, vl, &cur, &off);
	if (!rc && cur == UINT32_MAX)
		rc = -EOVERFLOW;
	if (!rc) {
		old = record(cur, (uint8_t *)v + off, vl - off);
		rc = old ? 0 : -ENOMEM;
	}
	if (!rc) {
		okl = old_key(k, kl, cur, ok);
		db_batch_put(t->b, CF_SECRETS, ok, okl, old,
			     SECRET_HEAD + vl - off);
		free(old);
		*next = cur + 1;
	}
	free(v);
	return rc;
}

int store_secret_set(struct store *s, const struct store_caller *c,
		     const char *name, const void *val, size_t len,
		     uint32_t *out_version)
{
	uint8_t k[SECRET_KEY_MAX], *v;
	struct commit t;
	uint32_t next;
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
	rc = commit_begin(s, c, &t);
	if (rc)
		return rc;
	rc = retire_current(&t, name, k, kl, &next);
	v = rc ? NULL : record(next, val, len);
	if (!rc && !v)
		rc = -ENOMEM;
	if (!rc) {
		db_batch_put(t.b, CF_SECRETS, k, kl, v, SECRET_HEAD + len);
		/* The record names the secret, never its value. */
		commit_note(&t, "secret.set", NULL, "/secrets/%s", name);
	}
	free(v);
	rc = commit_end(&t, rc);
	if (!rc) {
		bump_gen(s);
		if (out_version)
			*out_version = next;
	}
	return rc;
}

/* Takes the sealed bytes of record v (vl bytes) in place into *val. */
static int take(const char *name, void *v, size_t vl, void **val, size_t *len,
		uint32_t *version)
{
	size_t off;
	uint32_t ver;
	int rc = parse(name, v, vl, &ver, &off);

	if (rc) {
		free(v);
		return rc;
	}
	/* Drop the head in place: the caller frees what it gets. */
	memmove(v, (uint8_t *)v + off, vl - off);
	*val = v;
	*len = vl - off;
	if (version)
		*version = ver;
	return 0;
}

int store_secret_get(struct store *s, const char *name, uint32_t version,
		     void **val, size_t *len, uint32_t *out_version)
{
	uint8_t k[SECRET_KEY_MAX], ok[SECRET_KEY_MAX];
	size_t kl, vl;
	uint32_t cur;
	void *v;
	int rc = secret_key(name, k, &kl);

	if (rc)
		return rc;
	rc = db_get(s->db, CF_SECRETS, k, kl, &v, &vl);
	if (rc)
		return rc;
	rc = take(name, v, vl, val, len, &cur);
	if (rc || !version || version == cur) {
		if (!rc && out_version)
			*out_version = cur;
		return rc;
	}
	free(*val);
	*val = NULL;
	if (version > cur)
		return -ENOENT;
	rc =
	    db_get(s->db, CF_SECRETS, ok, old_key(k, kl, version, ok), &v, &vl);
	if (!rc)
		rc = take(name, v, vl, val, len, &cur);
	if (!rc && cur != version) {
		store_log(STORE_LOG_ERR, "secret %s: version %u holds %u", name,
			  version, cur);
		free(*val);
		*val = NULL;
		rc = -EIO;
	}
	if (!rc && out_version)
		*out_version = version;
	return rc;
}

struct old_scan {
	struct db_batch *b;
	size_t n;
};

static int delete_old(void *arg, const void *key, size_t klen, const void *val,
		      size_t vlen)
{
	struct old_scan *o = arg;

	(void)val;
	(void)vlen;
	db_batch_delete(o->b, CF_SECRETS, key, klen);
	o->n++;
	return 0;
}

int store_secret_delete(struct store *s, const struct store_caller *c,
			const char *name)
{
	uint8_t k[SECRET_KEY_MAX], ok[SECRET_KEY_MAX];
	struct old_scan o = {NULL, 0};
	struct commit t;
	size_t kl, vl, okl;
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
		/* Every earlier version goes with it: the prefix ends with
		 * the NUL after the name. */
		okl = old_key(k, kl, 0, ok) - 4;
		o.b = t.b;
		rc = db_scan(s->db, CF_SECRETS, ok, okl, delete_old, &o);
		commit_note(&t, "secret.rm", NULL, "/secrets/%s", name);
	}
	rc = commit_end(&t, rc);
	if (!rc)
		bump_gen(s);
	return rc;
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

/* One stored record seen by store_secret_stored_each and rewrite. */
struct stored_scan {
	store_secret_stored_fn fn;
	void *arg;
	struct commit *t; /* rewrite: the commit the new records go to */
	store_secret_rewrite_fn rw;
	uint64_t n;
};

/* The name in key (either tag) into name; -EIO when malformed. */
static int key_name(const uint8_t *key, size_t klen,
		    char name[STORE_NAME_MAX + 1])
{
	size_t n = klen - 1;

	if (klen >= 2 && key[0] == KEY_SECRET_OLD) {
		n = klen >= 6 ? klen - 6 : 0;
		if (klen < 7 || key[1 + n] != '\0')
			n = 0;
	}
	if (klen < 2 || n == 0 || n > STORE_NAME_MAX ||
	    memchr(key + 1, '\0', n)) {
		store_log(STORE_LOG_ERR,
			  "secrets: malformed record (%zu-byte key)", klen);
		return -EIO;
	}
	memcpy(name, key + 1, n);
	name[n] = '\0';
	return 0;
}

static int scan_stored(void *arg, const void *key, size_t klen, const void *val,
		       size_t vlen)
{
	struct stored_scan *c = arg;
	char name[STORE_NAME_MAX + 1];
	void *out = NULL;
	uint8_t *rec;
	uint32_t ver;
	size_t off, olen = 0;
	int rc = key_name(key, klen, name);

	if (!rc)
		rc = parse(name, val, vlen, &ver, &off);
	if (rc)
		return rc;
	c->n++;
	if (!c->rw)
		return c->fn(c->arg, name, ver, (const uint8_t *)val + off,
			     vlen - off);
	rc = c->rw(c->arg, name, ver, (const uint8_t *)val + off, vlen - off,
		   &out, &olen);
	if (!rc && olen > STORE_SECRET_MAX)
		rc = -EFBIG;
	rec = rc ? NULL : record(ver, out, olen);
	if (!rc && !rec)
		rc = -ENOMEM;
	if (!rc)
		db_batch_put(c->t->b, CF_SECRETS, key, klen, rec,
			     SECRET_HEAD + olen);
	free(rec);
	free(out);
	return rc;
}

int store_secret_stored_each(struct store *s, store_secret_stored_fn fn,
			     void *arg)
{
	struct stored_scan c = {.fn = fn, .arg = arg};

	return db_scan(s->db, CF_SECRETS, NULL, 0, scan_stored, &c);
}

int store_secret_rewrite(struct store *s, const struct store_caller *c,
			 store_secret_rewrite_fn fn, void *arg,
			 uint64_t *out_count)
{
	struct stored_scan sc = {.rw = fn, .arg = arg};
	struct commit t;
	int rc = commit_begin(s, c, &t);

	if (rc)
		return rc;
	sc.t = &t;
	/* The commit lock keeps every other change out while the scan
	 * reads what is committed and the batch collects the new records. */
	rc = db_scan(s->db, CF_SECRETS, NULL, 0, scan_stored, &sc);
	if (!rc)
		commit_note(&t, "secret.rotate-key", NULL, "/secrets");
	rc = commit_end(&t, rc);
	if (!rc) {
		bump_gen(s);
		if (out_count)
			*out_count = sc.n;
	}
	return rc;
}
