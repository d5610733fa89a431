/*
 * rockslib.c - loads RocksDB at run time (see rocks_i.h).
 */
#define ROCKSLIB_LOADER
#include "rocks_i.h"
#include "store_i.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>

struct rockslib rockslib;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int loaded = -ENOTSUP;

static void load(void)
{
	/* The runtime package's name first, then the development link. */
	const char *names[] = {"librocksdb.so.7.8", "librocksdb.so"};
	void *h = NULL;

	for (size_t i = 0; !h && i < sizeof(names) / sizeof(names[0]); i++)
		h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		store_log(STORE_LOG_ERR,
			  "cannot load RocksDB: %s (install librocksdb7.8)",
			  dlerror());
		return;
	}
#define ROCKS_SYM(f)                                                           \
	if (!(*(void **)&rockslib.f = dlsym(h, #f))) {                         \
		store_log(STORE_LOG_ERR, "librocksdb lacks %s: %s", #f,        \
			  dlerror());                                          \
		return;                                                        \
	}
	ROCKS_FNS(ROCKS_SYM)
#undef ROCKS_SYM
	loaded = 0;
}

int rockslib_load(void)
{
	pthread_once(&once, load);
	return loaded;
}
