/*
 * reader.c - random-access reads of stored file content.
 *
 * A reader holds the file's manifest and the last chunk it decoded, so a
 * sequential reader decodes (and verifies) each chunk once.  A read that
 * covers a whole chunk decodes straight into the caller's buffer.
 */
#include "store_i.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct store_reader {
	struct store *s;
	struct manifest m;
	uint8_t *buf;	  /* decoded chunk cache_idx, max-chunk sized */
	size_t cache_idx; /* m.n when empty */
};

int store_reader_open(struct store *s, const uint8_t digest[STORE_DIGEST_LEN],
		      struct store_reader **out)
{
	struct store_reader *r = calloc(1, sizeof(*r));
	uint32_t max = 0;
	int rc;

	if (!r)
		return -ENOMEM;
	r->s = s;
	rc = manifest_load(s, NULL, digest, &r->m);
	if (rc) {
		free(r);
		return rc;
	}
	for (size_t i = 0; i < r->m.n; i++) {
		if (r->m.chunks[i].plain > max)
			max = r->m.chunks[i].plain;
	}
	r->buf = malloc(max ? max : 1);
	if (!r->buf) {
		store_reader_close(r);
		return -ENOMEM;
	}
	r->cache_idx = r->m.n;
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
		int rc;

		if (n > len - done)
			n = len - done;
		if (i != r->cache_idx && in == 0 && n == c->plain) {
			rc = cas_get(r->s, c->id, dst + done, c->plain);
			if (rc)
				return rc;
		} else {
			if (i != r->cache_idx) {
				r->cache_idx = r->m.n;
				rc = cas_get(r->s, c->id, r->buf, c->plain);
				if (rc)
					return rc;
				r->cache_idx = i;
			}
			memcpy(dst + done, r->buf + in, n);
		}
		done += n;
	}
	return (ssize_t)done;
}

void store_reader_close(struct store_reader *r)
{
	if (!r)
		return;
	manifest_release(&r->m);
	free(r->buf);
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
