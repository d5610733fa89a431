/*
 * log.c - the process-wide log sink of store/ and the layers above, the
 * one message for a refused name, and the wall clock (now_ns).
 */
#include "store_i.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static store_log_fn sink_fn;
static void *sink_arg;
static store_log_filter_fn filter_fn;
static void *filter_arg;
static pthread_mutex_t sink_lock = PTHREAD_MUTEX_INITIALIZER;

void store_log_set_filter(store_log_filter_fn fn, void *arg)
{
	pthread_mutex_lock(&sink_lock);
	filter_fn = fn;
	filter_arg = arg;
	pthread_mutex_unlock(&sink_lock);
}

void store_log_set_sink(store_log_fn fn, void *arg)
{
	pthread_mutex_lock(&sink_lock);
	sink_fn = fn;
	sink_arg = arg;
	pthread_mutex_unlock(&sink_lock);
}

void store_log(enum store_log_level level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	store_log_fn fn;
	store_log_filter_fn filter;
	void *arg, *farg;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	pthread_mutex_lock(&sink_lock);
	fn = sink_fn;
	arg = sink_arg;
	filter = filter_fn;
	farg = filter_arg;
	pthread_mutex_unlock(&sink_lock);

	if (filter)
		filter(farg, msg, sizeof(msg));

	if (fn) {
		fn(arg, level, msg);
		return;
	}
	if (level <= STORE_LOG_WARNING)
		fprintf(stderr, "artifactfs: %s\n", msg);
}

int store_name_require(enum store_name_kind kind, const char *what,
		       const char *name)
{
	const char *why = "";
	size_t len = strlen(name), shown = len > 64 ? 64 : len;
	char safe[65];
	int rc = store_name_valid(kind, name, len, &why);

	if (!rc)
		return 0;
	/* The message stays one line whatever bytes the name holds. */
	for (size_t i = 0; i < shown; i++) {
		unsigned char c = (unsigned char)name[i];

		safe[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	safe[shown] = '\0';
	store_log(STORE_LOG_ERR, "invalid %s name '%s%s': %s", what, safe,
		  len > shown ? "..." : "", why);
	return rc;
}

int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
