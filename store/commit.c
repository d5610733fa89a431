/*
 * commit.c - the one commit point of the store.
 *
 * Every change goes through here: begin with a caller (who asks), stage
 * the change in the batch, note what it is, and end: the journal record
 * (its actor taken from the caller, never from the thread), any record
 * that rides along (a file handle's close) and the change reach the disk
 * in one WriteBatch, or nothing does.  A record that cannot be staged
 * fails the change (fail closed).
 *
 * The commit lock is held from begin to end, so the journal's head moves
 * under one writer at a time and read-modify-write changes see a stable
 * state.  The state of a commit lives in struct commit, on the caller's
 * stack: nothing is parked in the thread.
 */
#include "store_i.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* commit_begin, the batch in db. */
static int begin_in(struct store *s, const struct store_caller *c,
		    const char *pipeline, struct commit *t)
{
	struct db *d = s->db;
	int rc;

	assert(c != NULL);
	if (s->read_only)
		return store_ro_refuse(s);
	memset(t, 0, offsetof(struct commit, op));
	t->op[0] = t->path[0] = t->digest[0] = '\0';
	t->s = s;
	t->caller = c;
	pthread_mutex_lock(&s->commit_lock);
	rc = pipeline ? db_shard(s->db, pipeline, true, &d) : 0;
	if (!rc)
		rc = db_batch_open(d, &t->b);
	if (rc) {
		t->b = NULL;
		pthread_mutex_unlock(&s->commit_lock);
	}
	return rc;
}

int commit_begin(struct store *s, const struct store_caller *c,
		 struct commit *t)
{
	return begin_in(s, c, NULL, t);
}

int commit_begin_out(struct store *s, const struct store_caller *c,
		     const char *pipeline, struct commit *t)
{
	return begin_in(s, c, pipeline, t);
}

void commit_note(struct commit *t, const char *op, const uint8_t *digest,
		 const char *fmt, ...)
{
	va_list ap;

	snprintf(t->op, sizeof(t->op), "%s", op);
	va_start(ap, fmt);
	vsnprintf(t->path, sizeof(t->path), fmt, ap);
	va_end(ap);
	t->digest[0] = '\0';
	if (digest)
		store_digest_format(digest, t->digest);
}

/* A record of c's, stamped now. */
static struct audit_rec *rec_new(const struct store_caller *c, const char *op,
				 const char *path)
{
	struct audit_rec *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->uid = (uint32_t)c->uid;
	r->pid = (uint32_t)c->pid;
	snprintf(r->user, sizeof(r->user), "%s", c->user);
	snprintf(r->op, sizeof(r->op), "%s", op);
	snprintf(r->path, sizeof(r->path), "%s", path ? path : "");
	r->time = now_ns();
	return r;
}

int commit_stage_note(struct commit *t)
{
	struct audit_rec *r;
	int rc;

	if (!t->s->audit_key)
		goto out_clear;
	r = rec_new(t->caller, t->op[0] ? t->op : "change", t->path);
	if (!r)
		return -ENOMEM;
	snprintf(r->digest, sizeof(r->digest), "%s", t->digest);
	rc = audit_stage(t->s, t->b, t->s->audit_key, t->s->audit_klen, r);
	free(r);
	if (rc) {
		store_log(STORE_LOG_ERR, "audit journal: cannot write the "
					 "record, the change is refused");
		return rc;
	}
out_clear:
	t->op[0] = t->path[0] = t->digest[0] = '\0';
	return 0;
}

/* Stages the record that rides with this commit, if any. */
static int stage_also(struct commit *t)
{
	struct audit_rec *r;
	int rc;

	if (!t->also || !t->s->audit_key)
		return 0;
	r = rec_new(t->caller, t->also->op, t->also->path);
	if (!r)
		return -ENOMEM;
	r->bytes = t->also->bytes;
	rc = audit_stage(t->s, t->b, t->s->audit_key, t->s->audit_klen, r);
	free(r);
	return rc;
}

static int end(struct commit *t, int rc, bool sync)
{
	if (!rc && (t->op[0] || !t->also))
		rc = commit_stage_note(t);
	if (!rc)
		rc = stage_also(t);
	if (!rc)
		rc =
		    sync ? db_batch_commit(t->b) : db_batch_commit_nosync(t->b);
	db_batch_free(t->b);
	t->b = NULL;
	pthread_mutex_unlock(&t->s->commit_lock);
	return rc;
}

int commit_end(struct commit *t, int rc)
{
	return end(t, rc, true);
}

int commit_end_nosync(struct commit *t, int rc)
{
	return end(t, rc, false);
}

/* A record that is no change, in a store shared by nodes: into this
 * node's lane of the journal, without the cluster's commit lock, so that
 * the opens and closes of one node never wait for another's commits. */
static int commit_lane(struct store *s, struct audit_rec *r)
{
	struct db_batch *b;
	int rc;

	pthread_mutex_lock(&s->lane_lock);
	rc = db_batch_open_lane(s->db, &b);
	if (!rc) {
		rc = audit_stage_lane(s, b, s->audit_key, s->audit_klen,
				      s->node_id, r);
		if (!rc)
			rc = db_batch_commit_nosync(b);
		db_batch_free(b);
	}
	pthread_mutex_unlock(&s->lane_lock);
	return rc;
}

int commit_record(struct store *s, const struct store_caller *c, const char *op,
		  const char *path, const char *digest, uint64_t bytes,
		  int result)
{
	struct audit_rec *r;
	struct commit t;
	int rc;

	/* A store on read-only media records nothing, not even reads: its
	 * journal is what it was when it was written there. */
	if (!s->audit_key || s->read_only)
		return 0;
	r = rec_new(c, op, path);
	if (!r)
		return -ENOMEM;
	snprintf(r->digest, sizeof(r->digest), "%s", digest ? digest : "");
	r->bytes = bytes;
	r->result = (uint32_t)(result < 0 ? -result : result);
	if (s->node[0]) {
		rc = commit_lane(s, r);
		free(r);
		return rc;
	}
	rc = commit_begin(s, c, &t);
	if (!rc) {
		rc = audit_stage(s, t.b, s->audit_key, s->audit_klen, r);
		/* Ordered after every earlier commit, like any batch; not
		 * waited for (a record of an open or a close is not worth an
		 * fsync).  No note: this record is the whole commit. */
		if (!rc)
			rc = db_batch_commit_nosync(t.b);
		db_batch_free(t.b);
		pthread_mutex_unlock(&s->commit_lock);
	}
	free(r);
	return rc;
}
