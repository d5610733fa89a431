/*
 * journal.c - the audit journal wired to every change.
 *
 * Once enabled (store_audit_enable, with a key the store never keeps on
 * disk), every commit of a change stages its journal record in the same
 * WriteBatch (journal_stage, called by the commit paths): the change and
 * its record reach the disk together or not at all, and a record that
 * cannot be staged fails the change (fail closed).  Who acted is the
 * calling thread's actor; what was done is the note the changing
 * function leaves (journal_note) just before it commits.
 */
#include "store_i.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static __thread struct store_audit_actor t_actor;
static __thread bool t_actor_set;
static __thread char t_op[AUDIT_OP_MAX], t_path[AUDIT_PATH_MAX];
static __thread char t_digest[STORE_DIGEST_STR_LEN];
/* A second record for the same batch (a handle's close with the commit
 * of what it wrote): saves a commit per file written. */
static __thread char t_xop[AUDIT_OP_MAX], t_xpath[AUDIT_PATH_MAX];
static __thread uint64_t t_xbytes;

void store_audit_defer(const char *op, const char *path, uint64_t bytes)
{
	snprintf(t_xop, sizeof(t_xop), "%s", op);
	snprintf(t_xpath, sizeof(t_xpath), "%s", path);
	t_xbytes = bytes;
}

bool store_audit_deferred(void)
{
	return t_xop[0] != '\0';
}

void store_audit_actor_set(const struct store_audit_actor *a)
{
	t_actor_set = a != NULL;
	if (a)
		t_actor = *a;
}

void journal_note(const char *op, const uint8_t *digest, const char *fmt, ...)
{
	va_list ap;

	snprintf(t_op, sizeof(t_op), "%s", op);
	va_start(ap, fmt);
	vsnprintf(t_path, sizeof(t_path), fmt, ap);
	va_end(ap);
	t_digest[0] = '\0';
	if (digest)
		store_digest_format(digest, t_digest);
}

void journal_clear(void)
{
	t_op[0] = t_path[0] = t_digest[0] = '\0';
}

static void fill_actor(struct audit_rec *r);

/* Stages the deferred record, if any, after the change's. */
static int stage_deferred(struct store *s, struct db_batch *b)
{
	struct audit_rec *r;
	int rc;

	if (!t_xop[0])
		return 0;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	fill_actor(r);
	snprintf(r->op, sizeof(r->op), "%s", t_xop);
	snprintf(r->path, sizeof(r->path), "%s", t_xpath);
	r->bytes = t_xbytes;
	rc = audit_stage(s, b, s->audit_key, s->audit_klen, r);
	free(r);
	if (!rc)
		t_xop[0] = '\0';
	return rc;
}

static void fill_actor(struct audit_rec *r)
{
	if (t_actor_set) {
		r->uid = t_actor.uid;
		r->pid = t_actor.pid;
		snprintf(r->user, sizeof(r->user), "%s", t_actor.user);
	} else {
		r->uid = (uint32_t)getuid();
		r->pid = (uint32_t)getpid();
		snprintf(r->user, sizeof(r->user), "%u", r->uid);
	}
	r->time = now_ns();
}

int journal_stage(struct store *s, struct db_batch *b)
{
	struct audit_rec *r;
	int rc;

	if (!s->audit_key)
		return 0;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	fill_actor(r);
	snprintf(r->op, sizeof(r->op), "%s", t_op[0] ? t_op : "change");
	snprintf(r->path, sizeof(r->path), "%s", t_path);
	snprintf(r->digest, sizeof(r->digest), "%s", t_digest);
	t_op[0] = t_path[0] = t_digest[0] = '\0';
	rc = audit_stage(s, b, s->audit_key, s->audit_klen, r);
	free(r);
	if (!rc)
		rc = stage_deferred(s, b);
	if (rc)
		store_log(STORE_LOG_ERR, "audit journal: cannot write the "
					 "record, the change is refused");
	return rc;
}

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

int store_audit_record(struct store *s, const char *op, const char *path,
		       const char *digest, uint64_t bytes, int result)
{
	struct audit_rec *r;
	int rc;

	if (!s->audit_key)
		return 0;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	fill_actor(r);
	snprintf(r->op, sizeof(r->op), "%s", op);
	snprintf(r->path, sizeof(r->path), "%s", path ? path : "");
	snprintf(r->digest, sizeof(r->digest), "%s", digest ? digest : "");
	r->bytes = bytes;
	r->result = (uint32_t)(result < 0 ? -result : result);
	rc = audit_append(s, s->audit_key, s->audit_klen, r);
	free(r);
	return rc;
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
	*checked = v.checked;
	*bad_seq = v.bad_seq;
	snprintf(why, 128, "%s", v.why);
	return rc;
}
