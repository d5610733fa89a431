/*
 * fs/base/progress.c - the progress line of put, get and fsck.
 *
 * Drawn on stderr with "\r" and an erase-to-end-of-line, at most ten
 * times a second, only on a terminal.  One lock guards every progress
 * and the "a line is on screen" flag, so the log sink (fs_progress_hide)
 * and the store's worker threads may call in at any time.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "base.h"

#define REDRAW_NS 100000000LL /* 0.1 s */
#define ERASE	  "\r\033[K"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static bool shown; /* a progress line is on screen */

static int64_t elapsed_ns(const struct timespec *from,
			  const struct timespec *to)
{
	return (int64_t)(to->tv_sec - from->tv_sec) * 1000000000LL +
	       (to->tv_nsec - from->tv_nsec);
}

static void format_eta(double secs, char *out, size_t len)
{
	unsigned long s = (unsigned long)(secs + 0.5);

	if (s >= 3600)
		snprintf(out, len, "ETA %lu:%02lu:%02lu", s / 3600, s / 60 % 60,
			 s % 60);
	else
		snprintf(out, len, "ETA %lu:%02lu", s / 60, s % 60);
}

/* Called with lock held. */
static void draw(struct fs_progress *p, const struct timespec *now)
{
	char done[FS_SIZE_STR_LEN], total[FS_SIZE_STR_LEN], eta[32];
	double secs = (double)elapsed_ns(&p->start, now) / 1e9;
	double rate = secs > 0 ? (double)p->done / secs : 0;

	fs_size_human(p->done, done);
	if (p->total == 0) {
		fprintf(stderr, ERASE "%s  %s  %.1f MB/s", p->label, done,
			rate / 1e6);
	} else {
		fs_size_human(p->total, total);
		if (rate > 0 && p->done < p->total)
			format_eta((double)(p->total - p->done) / rate, eta,
				   sizeof(eta));
		else
			snprintf(eta, sizeof(eta), "ETA -:--");
		fprintf(stderr, ERASE "%s  %s / %s  %3.0f%%  %.1f MB/s  %s",
			p->label, done, total,
			100.0 * (double)p->done / (double)p->total, rate / 1e6,
			eta);
	}
	fflush(stderr);
	shown = true;
	p->last = *now;
}

void fs_progress_init(struct fs_progress *p, const char *label, uint64_t total,
		      bool quiet)
{
	bool tty = false;

	memset(p, 0, sizeof(*p));
	p->label = label;
	p->total = total;
	p->conn = fs_in_request() ? fs_request_conn(&tty) : NULL;
	if (p->conn)
		p->enabled = !quiet && tty;
	else
		p->enabled =
		    !quiet && !fs_in_request() && isatty(STDERR_FILENO);
	clock_gettime(CLOCK_MONOTONIC, &p->start);
}

/* A request's line: sent to its client, at most ten times a second. */
static void update_client(struct fs_progress *p)
{
	struct timespec now;

	if (!p->enabled)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (elapsed_ns(p->last.tv_sec ? &p->last : &p->start, &now) < REDRAW_NS)
		return;
	p->last = now;
	if (fs_ctl_progress(p->conn, p->label, p->done, p->total) < 0)
		p->enabled = false; /* the client has gone */
}

/* Called with lock held. */
static void update(struct fs_progress *p)
{
	struct timespec now;

	if (!p->enabled)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	/* The first draw waits too, so quick commands never flash a line. */
	if (elapsed_ns(shown ? &p->last : &p->start, &now) < REDRAW_NS)
		return;
	draw(p, &now);
}

void fs_progress_set(struct fs_progress *p, uint64_t done, uint64_t total)
{
	if (!p->conn)
		pthread_mutex_lock(&lock);
	p->done = done;
	if (total > p->total && (p->total == 0 || done > p->total))
		p->total = total;
	if (p->total && p->done > p->total)
		p->total = p->done;
	if (p->conn) {
		update_client(p);
		return;
	}
	update(p);
	pthread_mutex_unlock(&lock);
}

void fs_progress_add(struct fs_progress *p, uint64_t n)
{
	if (!p->conn)
		pthread_mutex_lock(&lock);
	p->done += n;
	if (p->total && p->done > p->total)
		p->total = p->done;
	if (p->conn) {
		update_client(p);
		return;
	}
	update(p);
	pthread_mutex_unlock(&lock);
}

void fs_progress_cb(void *arg, uint64_t done, uint64_t total)
{
	fs_progress_set(arg, done, total);
}

void fs_progress_end(struct fs_progress *p)
{
	if (p->conn) {
		if (p->enabled && p->last.tv_sec)
			fs_ctl_progress(p->conn, NULL, 0, 0);
		p->enabled = false;
		return;
	}
	pthread_mutex_lock(&lock);
	if (p->enabled && shown) {
		fputs(ERASE, stderr);
		fflush(stderr);
		shown = false;
	}
	p->enabled = false;
	pthread_mutex_unlock(&lock);
}

void fs_progress_hide(void)
{
	if (fs_in_request())
		return; /* the client erases its own line */
	pthread_mutex_lock(&lock);
	if (shown) {
		fputs(ERASE, stderr);
		fflush(stderr);
		shown = false;
	}
	pthread_mutex_unlock(&lock);
}

/* The daemon's progress messages, as fs_ctl_draw calls them. */
static void relay_show(void *arg, const char *label, uint64_t done,
		       uint64_t total)
{
	struct fs_progress_relay *r = arg;

	if (r->on && (!label[0] || strcmp(label, r->label))) {
		fs_progress_end(&r->p);
		r->on = false;
	}
	if (!label[0])
		return;
	if (!r->on) {
		snprintf(r->label, sizeof(r->label), "%s", label);
		fs_progress_init(&r->p, r->label, total, false);
		r->on = true;
	}
	fs_progress_set(&r->p, done, total);
}

static void relay_hide(void *arg)
{
	(void)arg;
	fs_progress_hide();
}

void fs_progress_relay_init(struct fs_progress_relay *r)
{
	r->on = false;
	r->label[0] = 0;
	r->draw.show = relay_show;
	r->draw.hide = relay_hide;
	r->draw.arg = r;
}
