/*
 * cache.c - decoded chunks shared by all readers.
 *
 * Concurrent readers of one chunk fetch, decompress and verify it once:
 * the first asks RocksDB while the others wait for it.  Sequential readers
 * prefetch the next chunks on the I/O pool, so several reads are in flight
 * on a cold disk.  Unpinned entries sit in an LRU list and are dropped
 * past max_bytes.
 *
 * Chunks decode into buffers of a bufpool, which hands the buffers of
 * dropped entries to the next loads: a fresh chunk-sized malloc costs a
 * page fault per 4 KiB when the chunk is decoded into it.
 */
#include "store_i.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct chunk_cache {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* a load finished */
	struct dtab tab;
	size_t n;
	size_t bytes, max_bytes;
	struct lru_list lru; /* unpinned and ready */
	struct bufpool *pool;
	uint64_t reused; /* loads into a buffer used before */
};

struct prefetch {
	struct pool_job job;
	struct store *s;
	struct centry *e;
};

int cache_new(size_t max_bytes, struct chunk_cache **out)
{
	struct chunk_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	/* The region: the budget, a quarter more for the classes' rounding
	 * and for pinned entries past the budget. */
	if (bufpool_new(max_bytes + max_bytes / 4, &c->pool)) {
		free(c);
		return -ENOMEM;
	}
	if (dtab_init(&c->tab, 1024)) {
		bufpool_free(c->pool);
		free(c);
		return -ENOMEM;
	}
	c->max_bytes = max_bytes;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	*out = c;
	return 0;
}

static void entry_free(struct chunk_cache *c, struct centry *e)
{
	bufpool_put(c->pool, e->buf, e->cap);
	free(e);
}

static void link_free(struct dtab_link *l, void *c)
{
	entry_free(c, LRU_ENTRY(l, struct centry, hash));
}

void cache_free(struct chunk_cache *c)
{
	if (!c)
		return;
	dtab_release(&c->tab, link_free, c);
	bufpool_free(c->pool);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	free(c);
}

/* The entry of id, or NULL. */
static struct centry *find(struct chunk_cache *c, const uint8_t *id)
{
	struct dtab_link *l = *dtab_slot(&c->tab, id);

	return l ? LRU_ENTRY(l, struct centry, hash) : NULL;
}

static void unlink_entry(struct chunk_cache *c, struct centry *e)
{
	*dtab_slot(&c->tab, e->id) = e->hash.next;
	c->bytes -= e->cap;
	c->n--;
}

/* Drops unpinned entries from the old end while over budget. */
static void evict(struct chunk_cache *c)
{
	while (c->bytes > c->max_bytes && c->lru.tail) {
		struct centry *e = LRU_ENTRY(c->lru.tail, struct centry, lru);

		lru_remove(&c->lru, &e->lru);
		unlink_entry(c, e);
		entry_free(c, e);
	}
}

/* Makes a loading entry for id (lock held); NULL on ENOMEM. */
static struct centry *entry_new(struct chunk_cache *c, const uint8_t *id,
				uint32_t plain)
{
	struct centry *e = calloc(1, sizeof(*e));
	bool reused;

	if (!e)
		return NULL;
	e->buf = bufpool_get(c->pool, plain, &e->cap, &reused);
	c->reused += reused;
	if (!e->buf) {
		free(e);
		return NULL;
	}
	memcpy(e->id, id, STORE_DIGEST_LEN);
	e->plain = plain;
	e->hash.key = e->id;
	*dtab_slot(&c->tab, id) = &e->hash; /* absent: the slot is NULL */
	c->n++;
	c->bytes += e->cap; /* what it holds in memory */
	return e;
}

/* Loads e (pinned, state 0) and wakes its waiters. */
static void load(struct store *s, struct centry *e)
{
	struct chunk_cache *c = s->cache;
	int rc = cas_get(s, e->id, e->buf, e->plain);

	__atomic_add_fetch(&s->chunk_loads, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->chunk_load_bytes, e->plain, __ATOMIC_RELAXED);
	pthread_mutex_lock(&c->lock);
	e->state = rc ? rc : 1;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

int cache_get(struct store *s, const uint8_t id[STORE_DIGEST_LEN],
	      uint32_t plain, struct centry **out)
{
	struct chunk_cache *c = s->cache;
	struct centry *e;
	bool loader = false;
	int rc;

	pthread_mutex_lock(&c->lock);
	e = find(c, id);
	if (e && e->state < 0 && e->pins == 0) {
		/* A failed load is retried, not remembered. */
		unlink_entry(c, e);
		entry_free(c, e);
		e = NULL;
	}
	if (!e) {
		e = entry_new(c, id, plain);
		loader = e != NULL;
	} else if (e->pins == 0 && e->state == 1) {
		lru_remove(&c->lru, &e->lru);
	}
	if (e)
		e->pins++;
	pthread_mutex_unlock(&c->lock);
	if (!e)
		return -ENOMEM;
	if (loader)
		load(s, e);
	pthread_mutex_lock(&c->lock);
	while (e->state == 0)
		pthread_cond_wait(&c->cond, &c->lock);
	rc = e->state < 0 ? e->state : 0;
	pthread_mutex_unlock(&c->lock);
	if (rc) {
		cache_unpin(s, e);
		return rc;
	}
	*out = e;
	return 0;
}

void cache_unpin(struct store *s, struct centry *e)
{
	struct chunk_cache *c = s->cache;

	pthread_mutex_lock(&c->lock);
	if (--e->pins == 0 && e->state == 1) {
		lru_push(&c->lru, &e->lru);
		evict(c);
	}
	pthread_mutex_unlock(&c->lock);
}

void cache_repin(struct store *s, struct centry *e)
{
	pthread_mutex_lock(&s->cache->lock);
	assert(e->pins > 0 && e->state == 1);
	e->pins++;
	pthread_mutex_unlock(&s->cache->lock);
}

void store_read_counters(struct store *s, struct store_read_counters *out)
{
	out->chunk_loads = __atomic_load_n(&s->chunk_loads, __ATOMIC_RELAXED);
	out->chunk_load_bytes =
	    __atomic_load_n(&s->chunk_load_bytes, __ATOMIC_RELAXED);
	pthread_mutex_lock(&s->cache->lock);
	out->chunk_bufs_reused = s->cache->reused;
	pthread_mutex_unlock(&s->cache->lock);
}

static void prefetch_run(struct pool_job *j)
{
	struct prefetch *p = (struct prefetch *)j;

	load(p->s, p->e);
	cache_unpin(p->s, p->e);
	free(p);
}

void cache_prefetch(struct store *s, const uint8_t id[STORE_DIGEST_LEN],
		    uint32_t plain)
{
	struct chunk_cache *c = s->cache;
	struct prefetch *p = calloc(1, sizeof(*p));
	struct centry *e = NULL;

	if (!p)
		return;
	pthread_mutex_lock(&c->lock);
	if (!find(c, id)) {
		e = entry_new(c, id, plain);
		if (e)
			e->pins++;
	}
	pthread_mutex_unlock(&c->lock);
	if (!e) {
		free(p);
		return;
	}
	p->job.run = prefetch_run;
	p->s = s;
	p->e = e;
	pool_push(s->io_pool, &p->job);
}
