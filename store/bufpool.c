/*
 * bufpool.c - chunk-sized buffers for the decoded-chunk cache.
 *
 * A fresh malloc of a chunk costs a page fault per 4 KiB when the chunk
 * is decoded into it; on a virtual machine a fault costs several
 * microseconds, and the first 64 MiB a new daemon reads took about 16k of
 * them, a fifth of its CPU.  The pool carves its buffers from one region
 * mapped with transparent huge pages (a fault per 2 MiB), and keeps
 * returned buffers on free lists by size class for the next chunks.
 *
 * Classes grow by a quarter power of two from 4 KiB to 4 MiB, rounded to
 * pages (past 16 KiB, a buffer wastes at most 19% of itself).  A smaller
 * or bigger request is a plain malloc of its size.  The region is carved by a
 * bump pointer and never given back; once it is used up, buffers are malloc'd
 * and up to KEEP_BYTES of them are kept on the lists when returned.  Under
 * AddressSanitizer the region is not used, so that every buffer stays a
 * malloc it checks.
 */
#include "store_i.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define MIN_CLASS  4096u
#define NCLASS	   41 /* MIN_CLASS .. 1024 x MIN_CLASS (4 MiB) */
#define HUGE_PAGE  (2u << 20)
#define KEEP_BYTES (16u << 20)

#if defined(__SANITIZE_ADDRESS__)
#define POOL_REGION 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define POOL_REGION 0
#endif
#endif
#ifndef POOL_REGION
#define POOL_REGION 1
#endif

/* A buffer on a free list holds the next one in its first bytes. */
struct slot {
	struct slot *next;
};

struct bufpool {
	uint8_t *map; /* the mapping, and the region in it */
	size_t map_len;
	uint8_t *base, *bump, *end;
	uint32_t size[NCLASS];
	struct slot *free[NCLASS];
	size_t kept; /* malloc'd bytes on the lists */
};

int bufpool_new(size_t bytes, struct bufpool **out)
{
	struct bufpool *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	/* 2^(k/4) as 4096ths, times 2^(k/4 whole), rounded up to 4 KiB. */
	static const uint32_t q[4] = {4096, 4871, 5793, 6889};
	for (int k = 0; k < NCLASS; k++) {
		uint64_t sz =
		    ((uint64_t)MIN_CLASS << (k / 4)) * q[k % 4] / 4096;

		p->size[k] = (uint32_t)((sz + 4095) & ~(uint64_t)4095);
	}
	bytes = (bytes + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);
	if (POOL_REGION && bytes) {
		p->map_len = bytes + HUGE_PAGE;
		p->map =
		    mmap(NULL, p->map_len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p->map == MAP_FAILED) {
			/* Every buffer a malloc: slower, nothing lost. */
			p->map = NULL;
		} else {
			uintptr_t a = ((uintptr_t)p->map + HUGE_PAGE - 1) &
				      ~(uintptr_t)(HUGE_PAGE - 1);

			p->base = p->bump = (uint8_t *)a;
			p->end = p->base + bytes;
#ifdef MADV_HUGEPAGE
			/* Advice: a kernel without huge pages says EINVAL. */
			(void)madvise(p->base, bytes, MADV_HUGEPAGE);
#endif
		}
	}
	*out = p;
	return 0;
}

static bool in_region(const struct bufpool *p, const uint8_t *b)
{
	return p->base && b >= p->base && b < p->end;
}

size_t bufpool_region_bytes(const struct bufpool *p)
{
	return p->base ? (size_t)(p->end - p->base) : 0;
}

void bufpool_free(struct bufpool *p)
{
	if (!p)
		return;
	for (int k = 0; k < NCLASS; k++)
		for (struct slot *s = p->free[k], *n; s; s = n) {
			n = s->next;
			if (!in_region(p, (uint8_t *)s))
				free(s);
		}
	if (p->map)
		munmap(p->map, p->map_len);
	free(p);
}

/* The class of a buffer of n bytes, or -1 outside the classes. */
static int class_of(const struct bufpool *p, size_t n)
{
	if (n < MIN_CLASS || n > p->size[NCLASS - 1])
		return -1;
	for (int k = 0; k < NCLASS; k++)
		if (p->size[k] >= n)
			return k;
	return -1;
}

uint8_t *bufpool_get(struct bufpool *p, size_t n, uint32_t *cap, bool *reused)
{
	int k = class_of(p, n);
	uint8_t *b;

	*reused = false;
	if (k < 0) {
		*cap = n ? (uint32_t)n : 1;
		return malloc(*cap);
	}
	/* A free buffer of this class or up to three above (<= 1.7x). */
	for (int j = k; j < NCLASS && j <= k + 3; j++) {
		struct slot *s = p->free[j];

		if (!s)
			continue;
		p->free[j] = s->next;
		if (!in_region(p, (uint8_t *)s))
			p->kept -= p->size[j];
		*cap = p->size[j];
		*reused = true;
		return (uint8_t *)s;
	}
	*cap = p->size[k];
	if (p->base && (size_t)(p->end - p->bump) >= *cap) {
		b = p->bump;
		p->bump += *cap;
		return b;
	}
	return malloc(*cap);
}

void bufpool_put(struct bufpool *p, uint8_t *b, uint32_t cap)
{
	int k = class_of(p, cap);
	struct slot *s = (struct slot *)b;

	if (!b)
		return;
	if (k < 0 || p->size[k] != cap ||
	    (!in_region(p, b) && p->kept + cap > KEEP_BYTES)) {
		if (!in_region(p, b))
			free(b);
		return; /* (a region buffer always has its class's size) */
	}
	if (!in_region(p, b))
		p->kept += cap;
	s->next = p->free[k];
	p->free[k] = s;
}
