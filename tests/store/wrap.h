/*
 * tests/store/wrap.h - the RocksDB calls a test may intercept (to fail
 * the Nth call with an injected error): a test defines __wrap_NAME for
 * the calls it wants, and calls the real one through __real_NAME.  The
 * store calls RocksDB through a table loaded at run time (rocks_i.h);
 * before main, the table's entry of each call the test wraps becomes its
 * wrapper, and __real_NAME keeps the loaded function.
 */
#ifndef ARTIFACTFS_TEST_WRAP_H
#define ARTIFACTFS_TEST_WRAP_H

#include <stdio.h>
#include <stdlib.h>

#include "rocks_i.h"

/* The calls a test may wrap (weak: a test defines only those it needs). */
#define WRAP_FNS(X)                                                            \
	X(rocksdb_write_writebatch_wi)                                         \
	X(rocksdb_put_cf)                                                      \
	X(rocksdb_flush_cf)

void __wrap_rocksdb_write_writebatch_wi(rocksdb_t *db,
					const rocksdb_writeoptions_t *o,
					rocksdb_writebatch_wi_t *wb,
					char **errptr) __attribute__((weak));
void __wrap_rocksdb_put_cf(rocksdb_t *db, const rocksdb_writeoptions_t *o,
			   rocksdb_column_family_handle_t *cf, const char *key,
			   size_t klen, const char *val, size_t vlen,
			   char **errptr) __attribute__((weak));
void __wrap_rocksdb_flush_cf(rocksdb_t *db, const rocksdb_flushoptions_t *o,
			     rocksdb_column_family_handle_t *cf, char **errptr)
    __attribute__((weak));

/* Each NAME below expands to the table's entry (rocks_i.h). */
#define WRAP_REAL(f) static __typeof__(f) __real_##f;
WRAP_FNS(WRAP_REAL)
#undef WRAP_REAL

__attribute__((constructor)) static void wrap_install(void)
{
	if (rockslib_load()) {
		fprintf(stderr, "wrap.h: cannot load RocksDB\n");
		exit(1);
	}
#define WRAP_SET(f)                                                            \
	__real_##f = f;                                                        \
	if (__wrap_##f)                                                        \
		f = __wrap_##f;
	WRAP_FNS(WRAP_SET)
#undef WRAP_SET
}

#endif
