/*
 * mnt_session.c - process sessions bound to steps, for lineage capture.
 *
 * `artifactfs run exec` starts its command in a new session and asks the
 * daemon to bind that session to a step.  Every sealed version a process
 * of a bound session opens through the mount is then recorded once as an
 * input of the step.  Processes of other sessions are not attributed.
 * The table lives in the daemon's memory: a binding ends with `run
 * unbind`, with the run's end, or with the daemon.
 */
#include "base.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct seen {
	char artifact[STORE_NAME_MAX + 1];
	uint32_t number;
};

struct binding {
	pid_t sid;
	char pipeline[STORE_NAME_MAX + 1], run[STORE_NAME_MAX + 1];
	char step[STORE_NAME_MAX + 1];
	struct seen *seen; /* inputs already recorded */
	size_t nseen, cap;
	struct binding *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct binding *bindings;

static struct binding **find(pid_t sid)
{
	struct binding **pp = &bindings;

	while (*pp && (*pp)->sid != sid)
		pp = &(*pp)->next;
	return pp;
}

int fs_session_bind(pid_t sid, const char *pipeline, const char *run,
		    const char *step)
{
	struct binding *b = calloc(1, sizeof(*b)), **pp;

	if (!b)
		return -ENOMEM;
	b->sid = sid;
	snprintf(b->pipeline, sizeof(b->pipeline), "%s", pipeline);
	snprintf(b->run, sizeof(b->run), "%s", run);
	snprintf(b->step, sizeof(b->step), "%s", step);
	pthread_mutex_lock(&lock);
	pp = find(sid);
	if (*pp) { /* rebinding moves the session */
		struct binding *old = *pp;

		*pp = old->next;
		free(old->seen);
		free(old);
	}
	b->next = bindings;
	bindings = b;
	pthread_mutex_unlock(&lock);
	return 0;
}

int fs_session_unbind(pid_t sid)
{
	struct binding **pp, *b;

	pthread_mutex_lock(&lock);
	pp = find(sid);
	b = *pp;
	if (b)
		*pp = b->next;
	pthread_mutex_unlock(&lock);
	if (!b)
		return -ENOENT;
	free(b->seen);
	free(b);
	return 0;
}

void fs_session_unbind_run(const char *pipeline, const char *run)
{
	struct binding **pp = &bindings, *b;

	pthread_mutex_lock(&lock);
	while ((b = *pp)) {
		if (!strcmp(b->pipeline, pipeline) && !strcmp(b->run, run)) {
			*pp = b->next;
			free(b->seen);
			free(b);
		} else {
			pp = &b->next;
		}
	}
	pthread_mutex_unlock(&lock);
}

/* Whether b has recorded artifact@number yet; marks it if not. */
static bool first_time(struct binding *b, const char *artifact, uint32_t number)
{
	for (size_t i = 0; i < b->nseen; i++) {
		if (b->seen[i].number == number &&
		    !strcmp(b->seen[i].artifact, artifact))
			return false;
	}
	if (b->nseen == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 8;
		struct seen *p = realloc(b->seen, cap * sizeof(*p));

		if (!p)
			return true; /* recording twice is harmless */
		b->seen = p;
		b->cap = cap;
	}
	snprintf(b->seen[b->nseen].artifact, sizeof(b->seen->artifact), "%s",
		 artifact);
	b->seen[b->nseen++].number = number;
	return true;
}

int fs_session_read(struct store *s, const struct store_caller *c,
		    const char *artifact, uint32_t number)
{
	char p[STORE_NAME_MAX + 1], r[STORE_NAME_MAX + 1];
	char st[STORE_NAME_MAX + 1];
	pid_t sid = getsid(c->pid);
	struct binding *b;
	bool record = false;
	int rc;

	if (sid <= 0)
		return 0;
	pthread_mutex_lock(&lock);
	b = *find(sid);
	if (b && first_time(b, artifact, number)) {
		record = true;
		strcpy(p, b->pipeline);
		strcpy(r, b->run);
		strcpy(st, b->step);
	}
	pthread_mutex_unlock(&lock);
	if (!record)
		return 0;
	rc = store_step_input_add(s, c, p, r, st, artifact, number);
	if (rc)
		store_log(STORE_LOG_WARNING,
			  "lineage: cannot record %s@v%u as input of %s/%s/%s: "
			  "%s",
			  artifact, number, p, r, st, strerror(-rc));
	return rc;
}
