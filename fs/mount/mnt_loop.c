/*
 * mnt_loop.c - the serving loop: one thread reads the kernel's requests
 * and answers those about sealed nodes itself; the others go to a pool
 * of workers.
 *
 * Why not libfuse's multi-threaded loop: there every request wakes the
 * idle thread that has waited longest, most often on the other core,
 * and the cross-core wake-up costs more than the answer (a warm stat on
 * a shared mount: about 18 us of daemon CPU per request, against about
 * 5 us when the thread that reads the request answers it and reads the
 * next one on the same core).  A lookup, getattr, getxattr or readlink
 * of a sealed node is answered from memory or from one short store
 * read and never waits for a writer, so the reading thread answers it
 * itself.  Everything that may wait (data, writes, commits, journaled
 * opens, anything in an open run) goes to a worker, so a slow request
 * never holds the others up.  Forgets and interrupts are answered at
 * once as well.
 */
#include "mnt_i.h"

#include <errno.h>
#include <linux/fuse.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define LOOP_WORKERS 16

struct job {
	struct fuse_buf buf;
	struct job *next;
};

struct loop {
	struct fuse_session *se;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct job *head, *tail; /* waiting for a worker */
	struct job *spare;	 /* buffers to read into again */
	size_t queued;
	unsigned idle, nworkers;
	bool stop;
	pthread_t workers[LOOP_WORKERS];
};

static struct job *job_take(struct loop *l)
{
	struct job *j;

	pthread_mutex_lock(&l->lock);
	j = l->spare;
	if (j)
		l->spare = j->next;
	pthread_mutex_unlock(&l->lock);
	if (!j)
		j = calloc(1, sizeof(*j)); /* buf.mem: libfuse's, at read */
	return j;
}

static void job_free(struct job *j)
{
	if (j) {
		free(j->buf.mem);
		free(j);
	}
}

static void *worker(void *arg)
{
	struct loop *l = arg;

	pthread_mutex_lock(&l->lock);
	for (;;) {
		struct job *j = l->head;

		if (!j && l->stop)
			break;
		if (!j) {
			l->idle++;
			pthread_cond_wait(&l->cond, &l->lock);
			l->idle--;
			continue;
		}
		l->head = j->next;
		if (!l->head)
			l->tail = NULL;
		l->queued--;
		pthread_mutex_unlock(&l->lock);
		fuse_session_process_buf(l->se, &j->buf);
		pthread_mutex_lock(&l->lock);
		j->next = l->spare;
		l->spare = j;
	}
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

/* A worker, with the signals that end the mount left to the reader. */
static void worker_start_locked(struct loop *l)
{
	sigset_t block, old;

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGQUIT);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	if (!pthread_create(&l->workers[l->nworkers], NULL, worker, l))
		l->nworkers++;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Hands j to a worker; false when no worker could take it. */
static bool dispatch(struct loop *l, struct job *j)
{
	bool ok;

	pthread_mutex_lock(&l->lock);
	if (l->queued >= l->idle && l->nworkers < LOOP_WORKERS)
		worker_start_locked(l);
	ok = l->nworkers > 0;
	if (ok) {
		j->next = NULL;
		if (l->tail)
			l->tail->next = j;
		else
			l->head = j;
		l->tail = j;
		l->queued++;
		pthread_cond_signal(&l->cond);
	}
	pthread_mutex_unlock(&l->lock);
	return ok;
}

/* Whether the reading thread answers the request in b itself. */
static bool quick(struct mnt *m, const struct fuse_buf *b)
{
	const struct fuse_in_header *h = b->mem;

	if ((b->flags & FUSE_BUF_IS_FD) || b->size < sizeof(*h))
		return false;
	switch (h->opcode) {
	case FUSE_INIT:
	case FUSE_FORGET:
	case FUSE_BATCH_FORGET:
	case FUSE_INTERRUPT:
		return true;
	case FUSE_LOOKUP: /* nodeid: the parent */
	case FUSE_GETATTR:
	case FUSE_GETXATTR:
	case FUSE_READLINK:
		return mnt_node_quick(m, h->nodeid);
	default:
		return false;
	}
}

static void loop_end(struct loop *l)
{
	pthread_mutex_lock(&l->lock);
	l->stop = true; /* the workers answer what is queued first */
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
	for (unsigned i = 0; i < l->nworkers; i++)
		pthread_join(l->workers[i], NULL);
	while (l->spare) {
		struct job *j = l->spare;

		l->spare = j->next;
		job_free(j);
	}
	pthread_cond_destroy(&l->cond);
	pthread_mutex_destroy(&l->lock);
}

int mnt_loop(struct mnt *m, struct fuse_session *se)
{
	struct loop l = {.se = se};
	int rc = 0;

	pthread_mutex_init(&l.lock, NULL);
	pthread_cond_init(&l.cond, NULL);
	while (!fuse_session_exited(se)) {
		struct job *j = job_take(&l);

		if (!j) {
			rc = -ENOMEM;
			break;
		}
		rc = fuse_session_receive_buf(se, &j->buf);
		if (rc <= 0 || quick(m, &j->buf) || !dispatch(&l, j)) {
			if (rc > 0)
				fuse_session_process_buf(se, &j->buf);
			pthread_mutex_lock(&l.lock);
			j->next = l.spare;
			l.spare = j;
			pthread_mutex_unlock(&l.lock);
		}
		if (rc == -EINTR)
			rc = 0;
		else if (rc < 0)
			break;
	}
	loop_end(&l);
	return rc < 0 ? rc : 0;
}
