/*
 * denial.c - refusals in the journal, rate-limited per user.
 *
 * Every refusal is journaled, but a user who hammers the daemon with
 * forbidden requests must not be able to fill the journal (and the disk)
 * at the daemon's pace.  Each uid has a token bucket: DENIAL_BURST
 * records at once, then DENIAL_RATE a second.  A refusal beyond that is
 * counted, not dropped: the next refusal that is journaled is preceded by
 * one "denied.suppressed" record whose bytes field holds how many were
 * counted since.
 */
#include "acl_i.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define DENIAL_RATE  20.0 /* records a second, per uid */
#define DENIAL_BURST 100.0
#define DENIAL_SLOTS 128

struct bucket {
	uid_t uid;
	bool used;
	double tokens;
	struct timespec last;
	uint64_t suppressed;
};

static struct bucket buckets[DENIAL_SLOTS];
static pthread_mutex_t buckets_lock = PTHREAD_MUTEX_INITIALIZER;

static double seconds(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) +
	       (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* The bucket of uid, taking over the least recently used one. */
static struct bucket *bucket_of(uid_t uid, const struct timespec *now)
{
	struct bucket *oldest = &buckets[0];

	for (size_t i = 0; i < DENIAL_SLOTS; i++) {
		struct bucket *b = &buckets[i];

		if (b->used && b->uid == uid)
			return b;
		if (!b->used || seconds(&b->last, &oldest->last) > 0)
			oldest = b;
		if (!b->used)
			break;
	}
	*oldest = (struct bucket){
	    .uid = uid, .used = true, .tokens = DENIAL_BURST, .last = *now};
	return oldest;
}

/* Takes a token for uid: true when the refusal may be journaled;
 * *flush gets the count suppressed before it (then reset). */
static bool take(uid_t uid, uint64_t *flush)
{
	struct timespec now;
	struct bucket *b;
	bool ok;

	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&buckets_lock);
	b = bucket_of(uid, &now);
	b->tokens += seconds(&b->last, &now) * DENIAL_RATE;
	if (b->tokens > DENIAL_BURST)
		b->tokens = DENIAL_BURST;
	b->last = now;
	ok = b->tokens >= 1.0;
	*flush = 0;
	if (ok) {
		b->tokens -= 1.0;
		*flush = b->suppressed;
		b->suppressed = 0;
	} else {
		b->suppressed++;
	}
	pthread_mutex_unlock(&buckets_lock);
	return ok;
}

int acl_journal_denial(struct store *s, const struct store_caller *c,
		       const char *op, const char *path, int err)
{
	uint64_t suppressed;
	int rc;

	if (!take(c->uid, &suppressed))
		return 0;
	if (suppressed) {
		rc = store_audit_record(s, c, "denied.suppressed", path, NULL,
					suppressed, err);
		if (rc)
			return rc;
	}
	return store_audit_record(s, c, op, path, NULL, 0, err);
}
