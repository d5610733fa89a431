/*
 * tests/store/wrap.h - the RocksDB calls a test may intercept with
 * -Wl,--wrap=NAME (to fail the Nth call with an injected error): the
 * __real_ symbols the linker provides and the __wrap_ ones a test
 * defines.  A test defines only the wraps its CMake target asks for.
 */
#ifndef ARTIFACTFS_TEST_WRAP_H
#define ARTIFACTFS_TEST_WRAP_H

#include <rocksdb/c.h>

void __real_rocksdb_write_writebatch_wi(rocksdb_t *db,
					const rocksdb_writeoptions_t *o,
					rocksdb_writebatch_wi_t *wb,
					char **errptr);
void __wrap_rocksdb_write_writebatch_wi(rocksdb_t *db,
					const rocksdb_writeoptions_t *o,
					rocksdb_writebatch_wi_t *wb,
					char **errptr);
void __real_rocksdb_put_cf(rocksdb_t *db, const rocksdb_writeoptions_t *o,
			   rocksdb_column_family_handle_t *cf, const char *key,
			   size_t klen, const char *val, size_t vlen,
			   char **errptr);
void __wrap_rocksdb_put_cf(rocksdb_t *db, const rocksdb_writeoptions_t *o,
			   rocksdb_column_family_handle_t *cf, const char *key,
			   size_t klen, const char *val, size_t vlen,
			   char **errptr);
void __real_rocksdb_flush_cf(rocksdb_t *db, const rocksdb_flushoptions_t *o,
			     rocksdb_column_family_handle_t *cf, char **errptr);
void __wrap_rocksdb_flush_cf(rocksdb_t *db, const rocksdb_flushoptions_t *o,
			     rocksdb_column_family_handle_t *cf, char **errptr);

#endif
