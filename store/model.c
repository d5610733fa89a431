/*
 * model.c - the versioned model: artifacts, versions, aliases, pipelines,
 * runs and steps (namespace column family), reference counting and the
 * store counters.  Key layout in FORMAT.md.
 */
#include "store_i.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_name(const char *what, const char *name)
{
	int rc = store_name_check(name, strlen(name));

	if (rc)
		store_log(STORE_LOG_ERR, "invalid %s name '%.64s'%s", what,
			  name, rc == -ENAMETOOLONG ? ": over 255 bytes" : "");
	return rc;
}

/* --------------------------------------------------------- versions */

int version_decode(const char *artifact, uint32_t number, const void *val,
		   size_t len, struct store_version *v)
{
	struct cursor c = {val, (const uint8_t *)val + len, false};
	const uint8_t *dg;

	memset(v, 0, sizeof(*v));
	snprintf(v->artifact, sizeof(v->artifact), "%s", artifact);
	v->number = number;
	if (cur_u8(&c) != RECORD_FORMAT)
		return -EIO;
	dg = cur_bytes(&c, STORE_DIGEST_LEN);
	if (dg)
		memcpy(v->digest, dg, STORE_DIGEST_LEN);
	v->created = (int64_t)cur_varint(&c);
	v->size = cur_varint(&c);
	v->files = cur_varint(&c);
	cur_str(&c, v->run, sizeof(v->run));
	return c.bad ? -EIO : 0;
}

size_t version_key(uint8_t *k, const char *artifact, uint32_t number)
{
	size_t n = key_names(k, KEY_NS_VERSION, artifact, "", NULL);

	return key_add_be32(k, n, number);
}

int version_stage(struct store *s, struct db_batch *b, struct store_stats *st,
		  struct store_version *v)
{
	uint8_t k[KEY_MAX], latest[4];
	struct buf x = {0};
	struct cursor c;
	uint32_t last = 0;
	int64_t created = v->created;
	void *val;
	size_t len, kl = key_names(k, KEY_NS_ARTIFACT, v->artifact, NULL, NULL);
	int rc = db_batch_get(b, CF_NAMESPACE, k, kl, &val, &len);

	(void)s;
	if (rc && rc != -ENOENT)
		return rc;
	if (!rc) {
		c = (struct cursor){val, (uint8_t *)val + len, false};
		cur_u8(&c);
		last = cur_be32(&c);
		created = (int64_t)cur_varint(&c);
		free(val);
		if (c.bad)
			return -EIO;
	} else {
		st->artifacts++;
	}
	v->number = last + 1;
	buf_u8(&x, RECORD_FORMAT);
	buf_be32(&x, v->number);
	buf_varint(&x, (uint64_t)created);
	db_batch_put(b, CF_NAMESPACE, k, kl, x.p, x.len);
	x.len = 0;
	buf_u8(&x, RECORD_FORMAT);
	buf_bytes(&x, v->digest, STORE_DIGEST_LEN);
	buf_varint(&x, (uint64_t)v->created);
	buf_varint(&x, v->size);
	buf_varint(&x, v->files);
	buf_str(&x, v->run);
	kl = version_key(k, v->artifact, v->number);
	db_batch_put(b, CF_NAMESPACE, k, kl, x.p, x.len);
	rc = x.oom ? -ENOMEM : 0;
	free(x.p);
	kl = key_names(k, KEY_NS_ALIAS, v->artifact, "latest", NULL);
	be32_put(latest, v->number);
	db_batch_put(b, CF_NAMESPACE, k, kl, latest, 4);
	st->versions++;
	st->logical_bytes += v->size;
	return rc;
}

int store_version_get(struct store *s, const char *artifact, uint32_t number,
		      struct store_version *out)
{
	uint8_t k[KEY_MAX];
	void *val;
	size_t len, kl;
	int rc = store_name_check(artifact, strlen(artifact));

	if (rc)
		return rc;
	kl = version_key(k, artifact, number);
	rc = db_get(s->db, CF_NAMESPACE, k, kl, &val, &len);
	if (rc)
		return rc;
	rc = version_decode(artifact, number, val, len, out);
	free(val);
	if (rc)
		store_log(STORE_LOG_ERR, "corrupt version record %s@v%u",
			  artifact, number);
	return rc;
}

struct each_ctx {
	const char *name;
	size_t skip; /* key prefix length to drop */
	int (*name_fn)(void *arg, const char *name);
	int (*ver_fn)(void *arg, const struct store_version *v);
	int (*alias_fn)(void *arg, const char *alias, uint32_t number);
	void *arg;
};

static int each_name(void *arg, const void *key, size_t klen, const void *val,
		     size_t vlen)
{
	struct each_ctx *c = arg;
	char name[STORE_NAME_MAX + 1];
	size_t n = klen - c->skip;

	(void)val;
	(void)vlen;
	if (n > STORE_NAME_MAX)
		return -EIO;
	memcpy(name, (const char *)key + c->skip, n);
	name[n] = '\0';
	return c->name_fn(c->arg, name);
}

int store_artifact_each(struct store *s, int (*fn)(void *arg, const char *name),
			void *arg)
{
	return store_artifact_each_after(s, NULL, fn, arg);
}

int store_artifact_each_after(struct store *s, const char *after,
			      int (*fn)(void *arg, const char *name), void *arg)
{
	struct each_ctx c = {.skip = 1, .name_fn = fn, .arg = arg};
	uint8_t from[KEY_MAX];
	size_t flen = 1;

	if (after && strlen(after) > STORE_NAME_MAX)
		return -EINVAL;
	from[0] = 'a';
	if (after) { /* just past after's key */
		flen = key_names(from, KEY_NS_ARTIFACT, after, NULL, NULL);
		from[flen++] = '\0';
	}
	return db_scan_from(s->db, CF_NAMESPACE, "a", 1, from, flen, each_name,
			    &c);
}

int store_artifact_get(struct store *s, const char *artifact)
{
	uint8_t k[KEY_MAX];
	size_t kl, len;
	void *val;
	int rc = store_name_check(artifact, strlen(artifact));

	if (rc)
		return rc;
	kl = key_names(k, KEY_NS_ARTIFACT, artifact, NULL, NULL);
	rc = db_get(s->db, CF_NAMESPACE, k, kl, &val, &len);
	if (!rc)
		free(val);
	return rc;
}

static bool artifact_exists(struct store *s, const char *artifact)
{
	uint8_t k[KEY_MAX];
	size_t kl = key_names(k, KEY_NS_ARTIFACT, artifact, NULL, NULL), len;
	void *val;

	if (db_get(s->db, CF_NAMESPACE, k, kl, &val, &len))
		return false;
	free(val);
	return true;
}

static int each_version(void *arg, const void *key, size_t klen,
			const void *val, size_t vlen)
{
	struct each_ctx *c = arg;
	struct store_version v;
	uint32_t num;

	if (klen != c->skip + 4)
		return -EIO;
	num = be32_get((const uint8_t *)key + c->skip);
	if (version_decode(c->name, num, val, vlen, &v))
		return -EIO;
	return c->ver_fn(c->arg, &v);
}

int store_version_each(struct store *s, const char *artifact,
		       int (*fn)(void *arg, const struct store_version *v),
		       void *arg)
{
	uint8_t k[KEY_MAX];
	struct each_ctx c = {.name = artifact, .ver_fn = fn, .arg = arg};
	int rc = check_name("artifact", artifact);

	if (rc)
		return rc;
	if (!artifact_exists(s, artifact))
		return -ENOENT;
	c.skip = key_names(k, KEY_NS_VERSION, artifact, "", NULL);
	return db_scan(s->db, CF_NAMESPACE, k, c.skip, each_version, &c);
}

/* --------------------------------------------------------- refs, aliases */

static int alias_get(struct store *s, const char *artifact, const char *alias,
		     uint32_t *number)
{
	uint8_t k[KEY_MAX];
	size_t kl = key_names(k, KEY_NS_ALIAS, artifact, alias, NULL), len;
	const uint8_t *v;
	void *val;
	int rc = db_get(s->db, CF_NAMESPACE, k, kl, &val, &len);

	if (rc)
		return rc;
	v = val;
	rc = len == 4 ? 0 : -EIO;
	*number = rc ? 0 : be32_get(v);
	free(val);
	return rc;
}

int store_alias_get(struct store *s, const char *artifact, const char *alias,
		    uint32_t *number)
{
	int rc = store_name_check(artifact, strlen(artifact));

	if (!rc)
		rc = store_name_check(alias, strlen(alias));
	return rc ? rc : alias_get(s, artifact, alias, number);
}

int store_ref_resolve(struct store *s, const char *artifact, const char *ref,
		      struct store_version *out)
{
	uint32_t number;
	int rc = check_name("artifact", artifact);

	if (!rc)
		rc = check_name("ref", ref);
	if (rc)
		return rc;
	if (!artifact_exists(s, artifact)) {
		store_log(STORE_LOG_ERR, "no artifact named '%s'", artifact);
		return -ENOENT;
	}
	rc = store_ref_number(ref, &number);
	if (rc < 0) {
		store_log(STORE_LOG_ERR,
			  "%s@%s: '%s' names no version (versions are v1, v2, "
			  "... without leading zeros)",
			  artifact, ref, ref);
		return rc;
	}
	if (rc == 0) {
		rc = alias_get(s, artifact, ref, &number);
		if (rc == -ENOENT)
			store_log(STORE_LOG_ERR,
				  "%s@%s: no such version or alias", artifact,
				  ref);
		if (rc)
			return rc;
	}
	rc = store_version_get(s, artifact, number, out);
	if (rc == -ENOENT)
		store_log(STORE_LOG_ERR, "%s@%s: no such version", artifact,
			  ref);
	return rc;
}

int store_spec_parse(const char *spec, char *artifact, char *ref,
		     const char **path)
{
	size_t alen = strcspn(spec, "@/"), rlen;
	const char *r = spec + alen;
	int rc;

	rc = store_name_check(spec, alen);
	if (rc)
		goto out_bad;
	memcpy(artifact, spec, alen);
	artifact[alen] = '\0';
	strcpy(ref, "latest");
	if (*r == '@') {
		r++;
		rlen = strcspn(r, "/");
		rc = store_name_check(r, rlen);
		if (rc)
			goto out_bad;
		memcpy(ref, r, rlen);
		ref[rlen] = '\0';
		r += rlen;
	}
	while (*r == '/')
		r++;
	*path = r;
	return 0;
out_bad:
	store_log(STORE_LOG_ERR,
		  "'%.80s' is not ARTIFACT[@REF][/PATH] with valid names%s",
		  spec,
		  rc == -ENAMETOOLONG ? " (a name is over 255 bytes)" : "");
	return rc;
}

static int alias_name_check(const char *alias)
{
	return store_name_require(STORE_NAME_ENTITY, "alias", alias);
}

/* Commits a one-key namespace change (set or delete) as t's. */
static int ns_commit(struct commit *t, const uint8_t *k, size_t kl,
		     const void *val, size_t len)
{
	if (val)
		db_batch_put(t->b, CF_NAMESPACE, k, kl, val, len);
	else
		db_batch_delete(t->b, CF_NAMESPACE, k, kl);
	return commit_end(t, 0);
}

int store_alias_set(struct store *s, const struct store_caller *c,
		    const char *artifact, const char *alias, uint32_t number)
{
	struct commit t;
	uint8_t k[KEY_MAX], v[4];
	struct store_version ver;
	int rc = alias_name_check(alias);

	if (!rc)
		rc = check_name("artifact", artifact);
	if (rc)
		return rc;
	rc = store_version_get(s, artifact, number, &ver);
	if (rc == -ENOENT)
		store_log(STORE_LOG_ERR, "%s@v%u: no such version", artifact,
			  number);
	if (rc)
		return rc;
	rc = commit_begin(s, c, &t);
	if (rc)
		return rc;
	commit_note(&t, "alias.set", ver.digest, "/artifacts/%s/%s -> v%u",
		    artifact, alias, number);
	be32_put(v, number);
	return ns_commit(
	    &t, k, key_names(k, KEY_NS_ALIAS, artifact, alias, NULL), v, 4);
}

int store_alias_delete(struct store *s, const struct store_caller *c,
		       const char *artifact, const char *alias)
{
	struct commit t;
	uint8_t k[KEY_MAX];
	uint32_t n;
	int rc = alias_name_check(alias);

	if (!rc)
		rc = check_name("artifact", artifact);
	if (!rc)
		rc = alias_get(s, artifact, alias, &n);
	if (rc == -ENOENT)
		store_log(STORE_LOG_ERR, "%s has no alias '%s'", artifact,
			  alias);
	if (rc)
		return rc;
	rc = commit_begin(s, c, &t);
	if (rc)
		return rc;
	commit_note(&t, "alias.delete", NULL, "/artifacts/%s/%s", artifact,
		    alias);
	return ns_commit(
	    &t, k, key_names(k, KEY_NS_ALIAS, artifact, alias, NULL), NULL, 0);
}

static int each_alias(void *arg, const void *key, size_t klen, const void *val,
		      size_t vlen)
{
	struct each_ctx *c = arg;
	const uint8_t *v = val;
	char name[STORE_NAME_MAX + 1];
	size_t n = klen - c->skip;

	if (vlen != 4 || n > STORE_NAME_MAX)
		return -EIO;
	memcpy(name, (const char *)key + c->skip, n);
	name[n] = '\0';
	return c->alias_fn(c->arg, name, be32_get(v));
}

int store_alias_each(struct store *s, const char *artifact,
		     int (*fn)(void *arg, const char *alias, uint32_t number),
		     void *arg)
{
	uint8_t k[KEY_MAX];
	struct each_ctx c = {.alias_fn = fn, .arg = arg};
	int rc = check_name("artifact", artifact);

	if (rc)
		return rc;
	if (!artifact_exists(s, artifact))
		return -ENOENT;
	c.skip = key_names(k, KEY_NS_ALIAS, artifact, "", NULL);
	return db_scan(s->db, CF_NAMESPACE, k, c.skip, each_alias, &c);
}
