/*
 * pool.c - worker threads running queued jobs, and a free list of chunk
 * buffers (a fresh 1 MiB malloc is an mmap and a page fault per 4 KiB).
 */
#include "store_i.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct pool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct pool_job *head, *tail;
	bool stop;
	unsigned n;
	pthread_t *threads;
	uint8_t **free_bufs;
	size_t nfree, max_free;
};

static void *pool_main(void *arg)
{
	struct pool *p = arg;

	for (;;) {
		struct pool_job *j;

		pthread_mutex_lock(&p->lock);
		while (!p->head && !p->stop)
			pthread_cond_wait(&p->cond, &p->lock);
		j = p->head;
		if (j) {
			p->head = j->next;
			if (!p->head)
				p->tail = NULL;
		}
		pthread_mutex_unlock(&p->lock);
		if (!j)
			return NULL;
		j->run(j);
	}
}

int pool_new(unsigned threads, struct pool **out)
{
	struct pool *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->threads = calloc(threads, sizeof(*p->threads));
	p->max_free = 8 * (size_t)threads + 8;
	p->free_bufs = calloc(p->max_free, sizeof(*p->free_bufs));
	if (!p->threads || !p->free_bufs) {
		free(p->threads);
		free(p->free_bufs);
		free(p);
		return -ENOMEM;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	for (; p->n < threads; p->n++) {
		if (pthread_create(&p->threads[p->n], NULL, pool_main, p))
			break;
	}
	if (p->n == 0) {
		pool_free(p);
		return -EAGAIN;
	}
	*out = p;
	return 0;
}

void pool_free(struct pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->n; i++)
		pthread_join(p->threads[i], NULL);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	while (p->nfree)
		free(p->free_bufs[--p->nfree]);
	free(p->free_bufs);
	free(p->threads);
	free(p);
}

void pool_push(struct pool *p, struct pool_job *j)
{
	pthread_mutex_lock(&p->lock);
	j->next = NULL;
	if (p->tail)
		p->tail->next = j;
	else
		p->head = j;
	p->tail = j;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

uint8_t *pool_buf_take(struct pool *p, size_t size)
{
	uint8_t *b = NULL;

	pthread_mutex_lock(&p->lock);
	if (p->nfree)
		b = p->free_bufs[--p->nfree];
	pthread_mutex_unlock(&p->lock);
	return b ? b : malloc(size);
}

void pool_buf_give(struct pool *p, uint8_t *b)
{
	pthread_mutex_lock(&p->lock);
	if (p->nfree < p->max_free) {
		p->free_bufs[p->nfree++] = b;
		b = NULL;
	}
	pthread_mutex_unlock(&p->lock);
	free(b);
}

void lru_remove(struct lru_list *l, struct lru_link *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else if (l->head == e)
		l->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else if (l->tail == e)
		l->tail = e->prev;
	e->prev = e->next = NULL;
}

void lru_push(struct lru_list *l, struct lru_link *e)
{
	e->prev = NULL;
	e->next = l->head;
	if (l->head)
		l->head->prev = e;
	l->head = e;
	if (!l->tail)
		l->tail = e;
}

/* -------------------------------------------------------------- dtab */

int dtab_init(struct dtab *t, size_t cap)
{
	t->cap = cap;
	t->tab = calloc(cap, sizeof(*t->tab));
	return t->tab ? 0 : -ENOMEM;
}

struct dtab_link **dtab_slot(struct dtab *t, const uint8_t *key)
{
	struct dtab_link **pp;
	uint64_t h;

	memcpy(&h, key, sizeof(h)); /* a digest: its bytes are the hash */
	pp = &t->tab[h & (t->cap - 1)];
	while (*pp && memcmp((*pp)->key, key, STORE_DIGEST_LEN))
		pp = &(*pp)->next;
	return pp;
}

void dtab_release(struct dtab *t, void (*fn)(struct dtab_link *l, void *arg),
		  void *arg)
{
	for (size_t i = 0; t->tab && i < t->cap; i++) {
		for (struct dtab_link *l = t->tab[i], *nx; l; l = nx) {
			nx = l->next;
			fn(l, arg);
		}
	}
	free(t->tab);
	t->tab = NULL;
}
