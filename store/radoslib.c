/*
 * radoslib.c - loads librados at run time (see rados_i.h).
 */
#define RADOSLIB_LOADER
#include "rados_i.h"
#include "store_i.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>

struct radoslib radoslib;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int loaded = -ENOTSUP;

static void load(void)
{
	void *h = dlopen("librados.so.2", RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		store_log(STORE_LOG_ERR,
			  "cannot load librados for a store in RADOS: %s "
			  "(install librados2)",
			  dlerror());
		return;
	}
#define RADOS_SYM(f)                                                           \
	if (!(*(void **)&radoslib.f = dlsym(h, #f))) {                         \
		store_log(STORE_LOG_ERR, "librados lacks %s: %s", #f,          \
			  dlerror());                                          \
		return;                                                        \
	}
	RADOS_FNS(RADOS_SYM)
#undef RADOS_SYM
	loaded = 0;
}

int radoslib_load(void)
{
	pthread_once(&once, load);
	return loaded;
}
