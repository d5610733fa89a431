/*
 * chunker.c - FastCDC content-defined chunking with a gear hash.
 *
 * The hash h = (h << 1) + gear[byte] depends only on the last 64 bytes, so a
 * boundary depends only on nearby content: an insertion moves the boundaries
 * around it and no others.  Normalized chunking (a stricter mask before the
 * average size, a looser one after) narrows the size distribution.  The
 * first `min` bytes of a chunk are not hashed at all (FastCDC's skip), which
 * is also what makes it fast.  The state is a function of the bytes since
 * the chunk start only, so feeding in any piece sizes gives the same cuts.
 */
#include "store_i.h"

#include <pthread.h>

static uint64_t gear[256];
static pthread_once_t gear_once = PTHREAD_ONCE_INIT;

/* splitmix64: a fixed table, the same in every build (boundaries are part
 * of what dedups against old stores). */
static void gear_fill(void)
{
	uint64_t x = 0x61727469666163ULL; /* "artifac" */

	for (int i = 0; i < 256; i++) {
		uint64_t z = (x += 0x9E3779B97F4A7C15ULL);

		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
		z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
		gear[i] = z ^ (z >> 31);
	}
}

static uint64_t top_mask(unsigned bits)
{
	if (bits == 0)
		return 0;
	if (bits >= 64)
		return ~0ULL;
	return ((1ULL << bits) - 1) << (64 - bits);
}

void chunker_init(struct chunker *c, uint32_t min, uint32_t avg, uint32_t max)
{
	unsigned bits = 0;

	pthread_once(&gear_once, gear_fill);
	while ((1U << (bits + 1)) <= avg)
		bits++;
	c->min = min;
	c->avg = avg;
	c->max = max;
	c->mask_s = top_mask(bits + 2);
	c->mask_l = top_mask(bits > 2 ? bits - 2 : 1);
	c->hash = 0;
	c->pos = 0;
}

static size_t cut_here(struct chunker *c, size_t consumed, bool *cut)
{
	c->hash = 0;
	c->pos = 0;
	*cut = true;
	return consumed;
}

/* Scans buf[0..n) for a position where the hash has no bits under mask;
 * returns its index + 1, or 0 if none.  Four bytes a step: each of their
 * four hashes is computed from the hash before them (shifts distribute
 * over the additions, modulo 2^64), so the chain of dependent shifts and
 * adds, which bounds the speed, is a quarter as long; the cuts are the
 * same as byte by byte. */
static size_t scan(uint64_t *hp, const uint8_t *buf, size_t n, uint64_t mask)
{
	uint64_t h = *hp;
	size_t i = 0;

	for (; i + 4 <= n; i += 4) {
		uint64_t g0 = gear[buf[i]], g1 = gear[buf[i + 1]];
		uint64_t g2 = gear[buf[i + 2]], g3 = gear[buf[i + 3]];
		uint64_t t1 = (g0 << 1) + g1, t2 = (t1 << 1) + g2;
		uint64_t hs[4] = {(h << 1) + g0, (h << 2) + t1, (h << 3) + t2,
				  (h << 4) + (t2 << 1) + g3};

		for (size_t k = 0; k < 4; k++) {
			if (!(hs[k] & mask)) {
				*hp = hs[k];
				return i + k + 1;
			}
		}
		h = hs[3];
	}
	for (; i < n; i++) {
		h = (h << 1) + gear[buf[i]];
		if (!(h & mask)) {
			*hp = h;
			return i + 1;
		}
	}
	*hp = h;
	return 0;
}

size_t chunker_feed(struct chunker *c, const uint8_t *buf, size_t len,
		    bool *cut)
{
	size_t i = 0, n, hit;

	*cut = false;
	if (c->pos < c->min) {
		i = c->min - c->pos;
		if (i > len)
			i = len;
		c->pos += (uint32_t)i;
	}
	/* Before the average size: the stricter mask. */
	if (c->pos < c->avg && i < len) {
		n = len - i < c->avg - c->pos ? len - i : c->avg - c->pos;
		hit = scan(&c->hash, buf + i, n, c->mask_s);
		if (hit)
			return cut_here(c, i + hit, cut);
		i += n;
		c->pos += (uint32_t)n;
	}
	if (c->pos >= c->max)
		return cut_here(c, i, cut);
	if (c->pos >= c->avg && i < len) {
		n = len - i < c->max - c->pos ? len - i : c->max - c->pos;
		hit = scan(&c->hash, buf + i, n, c->mask_l);
		if (hit)
			return cut_here(c, i + hit, cut);
		i += n;
		c->pos += (uint32_t)n;
		if (c->pos >= c->max)
			return cut_here(c, i, cut);
	}
	return i;
}
