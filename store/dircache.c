/*
 * dircache.c - decoded directory listings shared by readers.
 *
 * A listing is named by its own SHA-256 and never changes, so a decoded
 * copy stays right for as long as it is kept: lookups in a sealed
 * directory of 20,000 entries cost a hash and a binary search instead of
 * a RocksDB read, a hash check and a decode each.  Unused listings sit in
 * an LRU list and are dropped past max_bytes of decoded entries.
 *
 * The readers of trees (store_tree_lookup, store_tree_each) live here
 * too: they see directories only through the cache, and tree.c, which
 * decodes a listing for the cache, never calls back into it.
 */
#include "store_i.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct dc_entry {
	uint8_t digest[STORE_DIGEST_LEN];
	struct dirlist d;
	unsigned refs;
	struct dtab_link hash;
	struct lru_link lru;
};

struct dir_cache {
	pthread_mutex_t lock;
	struct dtab tab;
	size_t bytes, max_bytes;
	struct lru_list lru; /* unused entries */
};

int dcache_new(size_t max_bytes, struct dir_cache **out)
{
	struct dir_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	if (dtab_init(&c->tab, 4096)) {
		free(c);
		return -ENOMEM;
	}
	c->max_bytes = max_bytes;
	pthread_mutex_init(&c->lock, NULL);
	*out = c;
	return 0;
}

static void entry_free(struct dc_entry *e)
{
	dir_release(&e->d);
	free(e);
}

static void link_free(struct dtab_link *l)
{
	entry_free(LRU_ENTRY(l, struct dc_entry, hash));
}

void dcache_free(struct dir_cache *c)
{
	if (!c)
		return;
	dtab_release(&c->tab, link_free);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static size_t cost(const struct dc_entry *e)
{
	return sizeof(*e) + e->d.n * sizeof(*e->d.e);
}

int dcache_get(struct store *s, const uint8_t digest[STORE_DIGEST_LEN],
	       const struct dirlist **out)
{
	struct dir_cache *c = s->dcache;
	struct dtab_link **pp;
	struct dc_entry *e;
	int rc;

	pthread_mutex_lock(&c->lock);
	pp = dtab_slot(&c->tab, digest);
	e = *pp ? LRU_ENTRY(*pp, struct dc_entry, hash) : NULL;
	if (e && e->refs++ == 0)
		lru_remove(&c->lru, &e->lru);
	pthread_mutex_unlock(&c->lock);
	if (e) {
		*out = &e->d;
		return 0;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	rc = dir_load(s, NULL, digest, &e->d);
	if (rc) {
		free(e);
		return rc;
	}
	memcpy(e->digest, digest, STORE_DIGEST_LEN);
	e->hash.key = e->digest;
	e->refs = 1;
	pthread_mutex_lock(&c->lock);
	pp = dtab_slot(&c->tab, digest);
	if (*pp) { /* another reader loaded it meanwhile: use theirs */
		entry_free(e);
		e = LRU_ENTRY(*pp, struct dc_entry, hash);
		if (e->refs++ == 0)
			lru_remove(&c->lru, &e->lru);
	} else {
		*pp = &e->hash;
		c->bytes += cost(e);
	}
	pthread_mutex_unlock(&c->lock);
	*out = &e->d;
	return 0;
}

void dcache_put(struct store *s, const struct dirlist *d)
{
	struct dir_cache *c = s->dcache;
	struct dc_entry *e =
	    (struct dc_entry *)((char *)d - offsetof(struct dc_entry, d));

	pthread_mutex_lock(&c->lock);
	if (--e->refs == 0) {
		lru_push(&c->lru, &e->lru);
	}
	while (c->bytes > c->max_bytes && c->lru.tail) {
		struct dc_entry *old =
		    LRU_ENTRY(c->lru.tail, struct dc_entry, lru);

		lru_remove(&c->lru, &old->lru);
		*dtab_slot(&c->tab, old->digest) = old->hash.next;
		c->bytes -= cost(old);
		entry_free(old);
	}
	pthread_mutex_unlock(&c->lock);
}

/* ------------------------------------------------------- tree readers */

static int dir_find(const struct dirlist *d, const char *name, size_t len)
{
	size_t lo = 0, hi = d->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strncmp(d->e[mid].name, name, len);

		if (c == 0 && d->e[mid].name[len] != '\0')
			c = 1;
		if (c == 0)
			return (int)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

int store_tree_lookup(struct store *s, const uint8_t root[STORE_DIGEST_LEN],
		      const char *path, struct store_dirent *out)
{
	struct store_dirent cur = {.kind = STORE_KIND_DIR, .mode = 0755};
	const struct dirlist *d;
	int i, rc;

	memcpy(cur.digest, root, STORE_DIGEST_LEN);
	while (*path == '/')
		path++;
	while (*path) {
		size_t len = strcspn(path, "/");

		if (cur.kind != STORE_KIND_DIR)
			return -ENOTDIR;
		rc = dcache_get(s, cur.digest, &d);
		if (rc)
			return rc;
		i = len <= STORE_NAME_MAX ? dir_find(d, path, len) : -1;
		if (i >= 0)
			cur = d->e[i];
		dcache_put(s, d);
		if (i < 0)
			return -ENOENT;
		path += len;
		while (*path == '/')
			path++;
	}
	if (cur.name[0] == '\0' && cur.kind == STORE_KIND_DIR) {
		rc = dcache_get(s, cur.digest, &d);
		if (rc)
			return rc;
		cur.size = d->n;
		dcache_put(s, d);
	}
	*out = cur;
	return 0;
}

int store_tree_each(struct store *s, const uint8_t dir[STORE_DIGEST_LEN],
		    int (*fn)(void *arg, const struct store_dirent *e),
		    void *arg)
{
	return store_tree_each_after(s, dir, NULL, fn, arg);
}

/* The index of the first entry of d whose name sorts after name. */
static size_t dir_after(const struct dirlist *d, const char *name)
{
	size_t lo = 0, hi = d->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (strcmp(d->e[mid].name, name) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int store_tree_each_after(struct store *s, const uint8_t dir[STORE_DIGEST_LEN],
			  const char *after,
			  int (*fn)(void *arg, const struct store_dirent *e),
			  void *arg)
{
	const struct dirlist *d;
	int rc = dcache_get(s, dir, &d);

	if (rc)
		return rc;
	for (size_t i = after ? dir_after(d, after) : 0; i < d->n && !rc; i++)
		rc = fn(arg, &d->e[i]);
	dcache_put(s, d);
	return rc;
}
