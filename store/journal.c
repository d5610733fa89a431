/*
 * journal.c - the audit journal wired to every change.
 *
 * Once enabled (store_audit_enable, with a key the store never keeps on
 * disk), every commit of a change stages its journal record in the same
 * WriteBatch (commit.c): the change and its record reach the disk
 * together or not at all, and a record that cannot be staged fails the
 * change (fail closed).  Who acted is the caller the commit began with.
 */
#include "store_i.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int store_audit_enable(struct store *s, const uint8_t *key, size_t klen)
{
	uint8_t *copy;

	if (klen < 16)
		return -EINVAL;
	copy = malloc(klen);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, key, klen);
	pthread_mutex_lock(&s->commit_lock);
	free(s->audit_key);
	s->audit_key = copy;
	s->audit_klen = klen;
	pthread_mutex_unlock(&s->commit_lock);
	return 0;
}

int store_audit_mark(struct store *s)
{
	return db_put(s->db, CF_META, "journal", 7, "1", 1);
}

bool store_audit_required(struct store *s)
{
	void *v;
	size_t len;

	if (db_get(s->db, CF_META, "journal", 7, &v, &len))
		return false;
	free(v);
	return true;
}

bool store_audit_enabled(const struct store *s)
{
	return s->audit_key != NULL;
}

int store_audit_record(struct store *s, const struct store_caller *c,
		       const char *op, const char *path, const char *digest,
		       uint64_t bytes, int result)
{
	return commit_record(s, c, op, path, digest, bytes, result);
}

struct each_entry {
	int (*fn)(void *arg, const struct store_audit_entry *e);
	void *arg;
};

static int each_one(void *arg, const struct audit_rec *r)
{
	struct each_entry *c = arg;
	struct store_audit_entry *e = calloc(1, sizeof(*e));
	int rc;

	if (!e)
		return -ENOMEM;
	e->seq = r->seq;
	e->time = r->time;
	e->uid = r->uid;
	e->pid = r->pid;
	memcpy(e->user, r->user, sizeof(e->user));
	memcpy(e->op, r->op, sizeof(e->op));
	memcpy(e->path, r->path, sizeof(e->path));
	memcpy(e->digest, r->digest, sizeof(e->digest));
	e->bytes = r->bytes;
	e->result = (int)r->result;
	rc = c->fn(c->arg, e);
	free(e);
	return rc;
}

int store_audit_each(struct store *s, uint64_t from,
		     int (*fn)(void *arg, const struct store_audit_entry *e),
		     void *arg)
{
	struct each_entry c = {fn, arg};

	return audit_each(s, from, each_one, &c);
}

int store_audit_verify(struct store *s, uint64_t *checked, uint64_t *bad_seq,
		       char why[128])
{
	struct audit_verdict v;
	int rc;

	if (!s->audit_key)
		return -ENOKEY;
	rc = audit_verify(s, s->audit_key, s->audit_klen, 0, &v);
	/* A store that keeps a journal gets its first record with its first
	 * change (the admin's binding at init): none at all is a deletion,
	 * not an empty journal. */
	if (!rc && !v.checked && store_audit_required(s)) {
		snprintf(v.why, sizeof(v.why),
			 "the journal is missing: this store keeps one and it "
			 "holds no record (deleted)");
		rc = -EBADMSG;
	}
	*checked = v.checked;
	*bad_seq = v.bad_seq;
	snprintf(why, 128, "%s", v.why);
	return rc;
}
