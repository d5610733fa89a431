/*
 * reader.c - random-access reads of stored file content.
 *
 * Chunks come from the store's shared cache (decoded and verified once
 * however many readers want them).  A reader that moves forward chunk by
 * chunk prefetches the next PREFETCH chunks, so a cold sequential read
 * keeps several disk reads in flight.
 */
#include "store_i.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PREFETCH 16

struct store_reader {
	struct store *s;
	struct manifest m;
	size_t last;	    /* chunk index of the previous read */
	size_t fetched;	    /* prefetch issued up to here (exclusive) */
	struct centry *pin; /* the chunk last read, kept pinned */
	size_t pin_idx;
};

int store_reader_open(struct store *s, const uint8_t digest[STORE_DIGEST_LEN],
		      struct store_reader **out)
{
	struct store_reader *r = calloc(1, sizeof(*r));
	int rc;

	if (!r)
		return -ENOMEM;
	r->s = s;
	rc = manifest_load(s, NULL, digest, &r->m);
	if (rc) {
		free(r);
		return rc;
	}
	r->last = (size_t)-1;
	*out = r;
	return 0;
}

uint64_t store_reader_size(const struct store_reader *r)
{
	return r->m.size;
}

/* Index of the chunk holding byte off (off < size). */
static size_t chunk_at(const struct manifest *m, uint64_t off)
{
	size_t lo = 0, hi = m->n;

	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;

		if (m->chunks[mid].offset <= off)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

static void prefetch_after(struct store_reader *r, size_t i)
{
	size_t end = i + 1 + PREFETCH;

	if (end > r->m.n)
		end = r->m.n;
	if (r->fetched < i + 1)
		r->fetched = i + 1;
	for (; r->fetched < end; r->fetched++)
		cache_prefetch(r->s, r->m.chunks[r->fetched].id,
			       r->m.chunks[r->fetched].plain);
}

/* The decoded chunk i, pinned in r->pin. */
static int chunk_get(struct store_reader *r, size_t i)
{
	const struct manifest_chunk *c = &r->m.chunks[i];
	int rc;

	if (r->pin && r->pin_idx == i)
		return 0;
	if (i == r->last + 1 || (i == 0 && r->last == (size_t)-1))
		prefetch_after(r, i);
	if (r->pin)
		cache_unpin(r->s, r->pin);
	r->pin = NULL;
	rc = cache_get(r->s, c->id, c->plain, &r->pin);
	if (rc)
		return rc;
	r->pin_idx = i;
	r->last = i;
	return 0;
}

ssize_t store_reader_pread(struct store_reader *r, void *buf, size_t len,
			   uint64_t off)
{
	uint8_t *dst = buf;
	size_t done = 0;

	if (off >= r->m.size)
		return 0;
	if (len > r->m.size - off)
		len = (size_t)(r->m.size - off);
	for (size_t i = chunk_at(&r->m, off); done < len; i++) {
		const struct manifest_chunk *c = &r->m.chunks[i];
		uint64_t in = off + done - c->offset;
		size_t n = c->plain - in;
		int rc = chunk_get(r, i);

		if (rc)
			return rc;
		if (n > len - done)
			n = len - done;
		memcpy(dst + done, r->pin->buf + in, n);
		done += n;
	}
	return (ssize_t)done;
}

void store_view_release(struct store_view *v)
{
	while (v->n > 0)
		cache_unpin(v->s, v->pins[--v->n]);
}

ssize_t store_reader_view(struct store_reader *r, size_t len, uint64_t off,
			  struct iovec *iov, int max_iov, int *out_n,
			  struct store_view *view)
{
	size_t done = 0, first, last;

	view->s = r->s;
	view->n = 0;
	*out_n = 0;
	if (off >= r->m.size || len == 0)
		return 0;
	if (len > r->m.size - off)
		len = (size_t)(r->m.size - off);
	first = chunk_at(&r->m, off);
	last = chunk_at(&r->m, off + len - 1);
	if (last - first >= (size_t)max_iov ||
	    last - first >= STORE_READER_VIEW_MAX)
		return -E2BIG;
	for (size_t i = first; i <= last; i++) {
		const struct manifest_chunk *c = &r->m.chunks[i];
		uint64_t in = off + done - c->offset;
		size_t n = c->plain - in;
		int rc = chunk_get(r, i);

		if (rc) {
			store_view_release(view);
			return rc;
		}
		if (n > len - done)
			n = len - done;
		cache_repin(r->s, r->pin);
		view->pins[view->n++] = r->pin;
		iov[*out_n].iov_base = r->pin->buf + in;
		iov[*out_n].iov_len = n;
		++*out_n;
		done += n;
	}
	return (ssize_t)done;
}

void store_reader_close(struct store_reader *r)
{
	if (!r)
		return;
	if (r->pin)
		cache_unpin(r->s, r->pin);
	manifest_release(&r->m);
	free(r);
}

int store_symlink_read(struct store *s, const uint8_t digest[STORE_DIGEST_LEN],
		       char *buf, size_t size)
{
	struct store_reader *r;
	ssize_t n;
	int rc = store_reader_open(s, digest, &r);

	if (rc)
		return rc;
	if (store_reader_size(r) >= size) {
		store_reader_close(r);
		return -ERANGE;
	}
	n = store_reader_pread(r, buf, size - 1, 0);
	store_reader_close(r);
	if (n < 0)
		return (int)n;
	buf[n] = '\0';
	return 0;
}
