/*
 * codec.c - the byte codec of the store's records (FORMAT.md,
 * "Encodings"): struct buf appends, struct cursor reads.  It calls
 * nothing of the store, so every file may use it.
 */
#include "store_i.h"

#include <stdlib.h>
#include <string.h>

static void buf_grow(struct buf *b, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (b->oom || b->len + n <= b->cap)
		return;
	cap = b->cap ? b->cap : 64;
	while (cap < b->len + n)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		b->oom = true;
		return;
	}
	b->p = p;
	b->cap = cap;
}

void buf_bytes(struct buf *b, const void *p, size_t n)
{
	buf_grow(b, n);
	if (b->oom || n == 0)
		return;
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

void buf_u8(struct buf *b, uint8_t v)
{
	buf_bytes(b, &v, 1);
}

void buf_be32(struct buf *b, uint32_t v)
{
	uint8_t x[4];

	be32_put(x, v);
	buf_bytes(b, x, 4);
}

void buf_varint(struct buf *b, uint64_t v)
{
	uint8_t x[10];
	size_t n = 0;

	do {
		x[n] = v & 0x7f;
		v >>= 7;
		if (v)
			x[n] |= 0x80;
		n++;
	} while (v);
	buf_bytes(b, x, n);
}

void buf_str(struct buf *b, const char *s)
{
	size_t n = strlen(s);

	buf_varint(b, n);
	buf_bytes(b, s, n);
}

const uint8_t *cur_bytes(struct cursor *c, size_t n)
{
	const uint8_t *p = c->p;

	if (c->bad || (size_t)(c->end - c->p) < n) {
		c->bad = true;
		return NULL;
	}
	c->p += n;
	return p;
}

uint8_t cur_u8(struct cursor *c)
{
	const uint8_t *p = cur_bytes(c, 1);

	return p ? *p : 0;
}

uint32_t cur_be32(struct cursor *c)
{
	const uint8_t *p = cur_bytes(c, 4);

	if (!p)
		return 0;
	return be32_get(p);
}

uint64_t cur_varint(struct cursor *c)
{
	uint64_t v = 0;

	for (unsigned shift = 0; shift < 70; shift += 7) {
		const uint8_t *p = cur_bytes(c, 1);

		if (!p)
			return 0;
		v |= (uint64_t)(*p & 0x7f) << shift;
		if (!(*p & 0x80))
			return v;
	}
	c->bad = true;
	return 0;
}

void cur_str(struct cursor *c, char *out, size_t cap)
{
	uint64_t n = cur_varint(c);
	const uint8_t *p;

	if (n >= cap) {
		c->bad = true;
		out[0] = '\0';
		return;
	}
	p = cur_bytes(c, n);
	if (!p) {
		out[0] = '\0';
		return;
	}
	memcpy(out, p, n);
	out[n] = '\0';
}
