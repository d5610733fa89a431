/*
 * radoslib.c - loads librados at run time (see rados_i.h).
 */
#define RADOSLIB_LOADER
#include "rados_i.h"
#include "store_i.h"

#include <errno.h>
#include <pthread.h>

struct radoslib radoslib;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int loaded = -ENOTSUP;

static void load(void)
{
	static const char *const names[] = {"librados.so.2"};
	static const struct dlib_sym syms[] = {
#define RADOS_SYM(f) {#f, (void **)&radoslib.f},
	    RADOS_FNS(RADOS_SYM)
#undef RADOS_SYM
	};

	loaded = dlib_load(names, 1, "librados for a store in RADOS",
			   "librados2", syms, sizeof(syms) / sizeof(syms[0]));
}

int radoslib_load(void)
{
	pthread_once(&once, load);
	return loaded;
}
