/*
 * mnt_trim.c - the daemon's memory stays bounded however many names are
 * walked.  A thread wakes once a second; when the node table holds more
 * than MNT_NODES_MAX nodes (one per name the kernel looked up and has not
 * forgotten: it forgets only under memory pressure), it asks the kernel
 * to forget names (fuse_lowlevel_notify_inval_entry) until half that is
 * left.  The kernel answers with FORGETs, which free the nodes; a name
 * still in use (an open file, a working directory) stays, and a name
 * used again is looked up again.  Every 10 s the thread also gives the
 * heap freed since back to the system (malloc_trim).
 *
 * For a store shared by nodes (RADOS), the thread also invalidates the
 * kernel's caches when another node changed the namespace, woken by the
 * store's hook (mnt_trim_kick), never in a request.
 *
 * The kernel locks the directory and may call back into the daemon while
 * it invalidates: this runs on its own thread, never in a request, and
 * holds no lock meanwhile.
 */
#include "mnt_i.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TRIM_EVERY_S 10 /* malloc_trim */

struct mnt_trim {
	struct mnt *m; /* borrowed */
	pthread_t thread;
	pthread_mutex_t lock; /* stop */
	pthread_cond_t wake;
	bool stop;
	bool remote; /* another node changed the store: invalidate */
};

/* Asks the kernel to forget names until about MNT_NODES_MAX / 2 nodes
 * are left; returns how many it was asked to forget. */
static size_t forget_some(struct mnt *m)
{
	size_t want = mnt_nodes_count(m), n;
	struct mnt_spare *v;

	if (want <= MNT_NODES_MAX || !m->se)
		return 0;
	want -= MNT_NODES_MAX / 2;
	v = calloc(want, sizeof(*v));
	if (!v)
		return 0;
	n = mnt_nodes_spare(m, v, want);
	for (size_t i = 0; i < n; i++) {
		fuse_lowlevel_notify_inval_entry(m->se, v[i].parent, v[i].name,
						 strlen(v[i].name));
		free(v[i].name);
	}
	free(v);
	return n;
}

static bool wait_stop(struct mnt_trim *t, int seconds)
{
	struct timespec until;
	bool stop;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += seconds;
	pthread_mutex_lock(&t->lock);
	while (!t->stop && !t->remote &&
	       pthread_cond_timedwait(&t->wake, &t->lock, &until) != ETIMEDOUT)
		;
	stop = t->stop;
	pthread_mutex_unlock(&t->lock);
	return stop;
}

/* Whether another node changed the store since the last call. */
static bool take_remote(struct mnt_trim *t)
{
	bool r;

	pthread_mutex_lock(&t->lock);
	r = t->remote;
	t->remote = false;
	pthread_mutex_unlock(&t->lock);
	return r;
}

void mnt_trim_kick(void *arg)
{
	struct mnt_trim *t = arg;

	pthread_mutex_lock(&t->lock);
	t->remote = true;
	pthread_cond_signal(&t->wake);
	pthread_mutex_unlock(&t->lock);
}

static void *run(void *arg)
{
	struct mnt_trim *t = arg;
	unsigned tick = 0;

	while (!wait_stop(t, 1)) {
		if (take_remote(t)) {
			mnt_bindings_changed(t->m);
			mnt_invalidate(t->m, 0);
		}
		forget_some(t->m);
		if (++tick % TRIM_EVERY_S == 0)
			malloc_trim(0);
	}
	return NULL;
}

int mnt_trim_start(struct mnt *m, struct mnt_trim **out)
{
	struct mnt_trim *t = calloc(1, sizeof(*t));
	int rc;

	*out = NULL;
	if (!t)
		return -ENOMEM;
	t->m = m;
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->wake, NULL);
	rc = -pthread_create(&t->thread, NULL, run, t);
	if (rc) {
		store_log(STORE_LOG_ERR, "cannot start the trim thread: %s",
			  strerror(-rc));
		pthread_mutex_destroy(&t->lock);
		pthread_cond_destroy(&t->wake);
		free(t);
		return rc;
	}
	*out = t;
	return 0;
}

void mnt_trim_stop(struct mnt_trim *t)
{
	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	t->stop = true;
	pthread_cond_signal(&t->wake);
	pthread_mutex_unlock(&t->lock);
	pthread_join(t->thread, NULL);
	pthread_mutex_destroy(&t->lock);
	pthread_cond_destroy(&t->wake);
	free(t);
}
