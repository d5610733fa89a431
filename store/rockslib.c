/*
 * rockslib.c - loads RocksDB at run time (see rocks_i.h).
 */
#define ROCKSLIB_LOADER
#include "rocks_i.h"
#include "store_i.h"

#include <errno.h>
#include <pthread.h>

struct rockslib rockslib;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int loaded = -ENOTSUP;

static void load(void)
{
	/* The runtime package's name first, then the development link. */
	static const char *const names[] = {"librocksdb.so.7.8",
					    "librocksdb.so"};
	static const struct dlib_sym syms[] = {
#define ROCKS_SYM(f) {#f, (void **)&rockslib.f},
	    ROCKS_FNS(ROCKS_SYM)
#undef ROCKS_SYM
	};

	loaded =
	    dlib_load(names, sizeof(names) / sizeof(names[0]), "RocksDB",
		      "librocksdb7.8", syms, sizeof(syms) / sizeof(syms[0]));
}

int rockslib_load(void)
{
	pthread_once(&once, load);
	return loaded;
}
