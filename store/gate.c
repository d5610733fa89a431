/*
 * gate.c - ingest shared, gc exclusive (store_i.h: struct gate).
 *
 * A writer or a put holds its share from its start to its finish or
 * abort, across calls and often across threads (a FUSE write starts it,
 * another thread's flush finishes it).  A pthread rwlock may not be
 * released by another thread than the one that took it, and a lock held
 * between calls puts it, to every lock checker, before each lock its
 * thread takes afterwards.  The gate holds its mutex only to count, so
 * nothing stays locked between calls.
 *
 * Readers first, as the default rwlock: a share is granted whenever gc
 * does not hold the gate, even while gc waits, so shares nest (a seal's
 * puts within the seal's own share).
 */
#include "store_i.h"

void gate_init(struct gate *g)
{
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
	g->shared = 0;
	g->exclusive = false;
}

void gate_release(struct gate *g)
{
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->lock);
}

void gate_share(struct gate *g)
{
	pthread_mutex_lock(&g->lock);
	while (g->exclusive)
		pthread_cond_wait(&g->cond, &g->lock);
	g->shared++;
	pthread_mutex_unlock(&g->lock);
}

void gate_unshare(struct gate *g)
{
	pthread_mutex_lock(&g->lock);
	if (--g->shared == 0)
		pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}

void gate_close(struct gate *g)
{
	pthread_mutex_lock(&g->lock);
	while (g->exclusive || g->shared)
		pthread_cond_wait(&g->cond, &g->lock);
	g->exclusive = true;
	pthread_mutex_unlock(&g->lock);
}

void gate_open(struct gate *g)
{
	pthread_mutex_lock(&g->lock);
	g->exclusive = false;
	pthread_cond_broadcast(&g->cond);
	pthread_mutex_unlock(&g->lock);
}
