/*
 * dircache.c - decoded directory listings shared by readers.
 *
 * A listing is named by its own SHA-256 and never changes, so a decoded
 * copy stays right for as long as it is kept: lookups in a sealed
 * directory of 20,000 entries cost a hash and a binary search instead of
 * a RocksDB read, a hash check and a decode each.  Unused listings sit in
 * an LRU list and are dropped past max_bytes of decoded entries.  An
 * entry is kept compact (struct dc_dirent: its name in the listing's
 * pool of names, not in a store_dirent's 256 bytes): some 70 bytes for a
 * name of 13, so a directory of 100,000 entries costs 7 MiB, not 30.
 *
 * The readers of trees (store_tree_lookup, store_tree_each) live here
 * too: they see directories only through the cache, and tree.c, which
 * decodes a listing for the cache, never calls back into it.
 */
#include "store_i.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A store_dirent without its name, which is at names + name. */
struct dc_dirent {
	uint8_t digest[STORE_DIGEST_LEN];
	uint64_t size;
	uint32_t mode;
	uint32_t name;
	uint8_t kind;
};

struct dc_entry {
	uint8_t digest[STORE_DIGEST_LEN];
	size_t n;
	struct dc_dirent *e;
	char *names;
	size_t names_len, names_cap;
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
	free(e->e);
	free(e->names);
	free(e);
}

/* Keeps entry i of n in e's compact form (dir_load_each). */
static int entry_add(void *arg, size_t n, size_t i,
		     const struct store_dirent *d)
{
	struct dc_entry *e = arg;
	size_t len = strlen(d->name) + 1;
	struct dc_dirent *c;

	if (i == 0) {
		e->e = malloc(n * sizeof(*e->e));
		if (!e->e)
			return -ENOMEM;
	}
	if (e->names_len + len > e->names_cap) {
		size_t cap = 2 * e->names_cap + 4096;
		char *p = cap <= UINT32_MAX ? realloc(e->names, cap) : NULL;

		if (!p)
			return -ENOMEM;
		e->names = p;
		e->names_cap = cap;
	}
	c = &e->e[i];
	memcpy(c->digest, d->digest, STORE_DIGEST_LEN);
	c->size = d->size;
	c->mode = d->mode;
	c->kind = (uint8_t)d->kind;
	c->name = (uint32_t)e->names_len;
	memcpy(e->names + e->names_len, d->name, len);
	e->names_len += len;
	e->n = i + 1;
	return 0;
}

/* Loads listing digest into e, compact, without a store_dirent per
 * entry even for a moment.  -ENOENT, -EIO, -ENOMEM. */
static int entry_load(struct store *s, const uint8_t digest[STORE_DIGEST_LEN],
		      struct dc_entry *e)
{
	int rc = dir_load_each(s, NULL, digest, entry_add, e);
	char *p;

	if (rc)
		return rc;
	p = e->names_len ? realloc(e->names, e->names_len) : NULL;
	if (p)
		e->names = p;
	e->names_cap = e->names_len;
	return 0;
}

/* Entry i of e as a store_dirent, into out. */
static void entry_dirent(const struct dc_entry *e, size_t i,
			 struct store_dirent *out)
{
	const struct dc_dirent *c = &e->e[i];

	snprintf(out->name, sizeof(out->name), "%s", e->names + c->name);
	out->kind = (enum store_kind)c->kind;
	out->mode = c->mode;
	out->size = c->size;
	memcpy(out->digest, c->digest, STORE_DIGEST_LEN);
}

static void link_free(struct dtab_link *l, void *arg)
{
	(void)arg;
	entry_free(LRU_ENTRY(l, struct dc_entry, hash));
}

void dcache_free(struct dir_cache *c)
{
	if (!c)
		return;
	dtab_release(&c->tab, link_free, NULL);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static size_t cost(const struct dc_entry *e)
{
	return sizeof(*e) + e->n * sizeof(*e->e) + e->names_len;
}

int dcache_get(struct store *s, const uint8_t digest[STORE_DIGEST_LEN],
	       const struct dc_entry **out)
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
		*out = e;
		return 0;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	rc = entry_load(s, digest, e);
	if (rc) {
		entry_free(e);
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
	*out = e;
	return 0;
}

void dcache_put(struct store *s, const struct dc_entry *d)
{
	struct dir_cache *c = s->dcache;
	struct dc_entry *e = (struct dc_entry *)d;

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

static int dir_find(const struct dc_entry *d, const char *name, size_t len)
{
	size_t lo = 0, hi = d->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const char *at = d->names + d->e[mid].name;
		int c = strncmp(at, name, len);

		if (c == 0 && at[len] != '\0')
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
	const struct dc_entry *d;
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
			entry_dirent(d, (size_t)i, &cur);
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
static size_t dir_after(const struct dc_entry *d, const char *name)
{
	size_t lo = 0, hi = d->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (strcmp(d->names + d->e[mid].name, name) <= 0)
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
	const struct dc_entry *d;
	struct store_dirent e;
	int rc = dcache_get(s, dir, &d);

	if (rc)
		return rc;
	for (size_t i = after ? dir_after(d, after) : 0; i < d->n && !rc; i++) {
		entry_dirent(d, i, &e);
		rc = fn(arg, &e);
	}
	dcache_put(s, d);
	return rc;
}
