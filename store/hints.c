/*
 * hints.c - the file manifests this process recorded last, kept as hints
 * for the commit that references them (a store in RADOS).
 *
 * A commit that gives new content its first reference reads the file's
 * count, its manifest and then each chunk's count: one cluster round trip
 * after another, all under the commit lock.  The writer that recorded the
 * manifest a moment before knows the chunk ids already; kept here, they
 * let the commit ask for all of those keys in one request.  A hint only
 * says what to read ahead: the commit still reads the manifest and the
 * counts from the cluster (in that one request), so a stale or wrong
 * hint costs a wasted key, never a wrong reference.
 */
#include "store_i.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct hint {
	uint8_t digest[STORE_DIGEST_LEN];
	void *val; /* the encoded manifest; NULL: a free slot */
	size_t len;
};

struct mf_hints {
	pthread_mutex_t lock;
	unsigned next; /* the slot the next hint replaces */
	struct hint e[HINTS_MAX];
};

int hints_new(struct mf_hints **out)
{
	struct mf_hints *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	pthread_mutex_init(&h->lock, NULL);
	*out = h;
	return 0;
}

void hints_free(struct mf_hints *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < HINTS_MAX; i++)
		free(h->e[i].val);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

void hints_add(struct mf_hints *h, const uint8_t digest[STORE_DIGEST_LEN],
	       const void *val, size_t len)
{
	void *copy;

	if (!h || len > HINT_BYTES_MAX)
		return;
	copy = malloc(len ? len : 1);
	if (!copy)
		return; /* a hint is optional */
	memcpy(copy, val, len);
	pthread_mutex_lock(&h->lock);
	free(h->e[h->next].val);
	memcpy(h->e[h->next].digest, digest, STORE_DIGEST_LEN);
	h->e[h->next].val = copy;
	h->e[h->next].len = len;
	h->next = (h->next + 1) % HINTS_MAX;
	pthread_mutex_unlock(&h->lock);
}

int hints_get(struct mf_hints *h, const uint8_t digest[STORE_DIGEST_LEN],
	      struct manifest *out)
{
	void *val = NULL;
	size_t len = 0;
	int rc;

	if (!h)
		return -ENOENT;
	pthread_mutex_lock(&h->lock);
	for (size_t i = 0; i < HINTS_MAX && !val; i++) {
		const struct hint *e = &h->e[i];

		if (!e->val || memcmp(e->digest, digest, STORE_DIGEST_LEN))
			continue;
		val = malloc(e->len ? e->len : 1);
		if (val) {
			memcpy(val, e->val, e->len);
			len = e->len;
		}
	}
	pthread_mutex_unlock(&h->lock);
	if (!val)
		return -ENOENT;
	rc = manifest_decode(val, len, out);
	free(val);
	return rc;
}
