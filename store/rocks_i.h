/*
 * rocks_i.h - RocksDB, loaded at run time (private to store/).
 *
 * librocksdb and the C++ runtime it pulls in cost every process about
 * 5 ms to load, and a command served by a mounted daemon never opens a
 * database: linked into the binary, each such command paid it anyway.
 * Instead db.c calls RocksDB through the table below, which
 * rockslib_load() fills with dlopen/dlsym before the first database
 * opens; the macros at the end make the calls read as plain RocksDB
 * calls.  A test may replace an entry (after rockslib_load) to make a
 * call fail.
 *
 * rockslib_load is thread-safe and idempotent: 0 when the table is full,
 * or -ENOTSUP with a logged message; nothing in the table may be called
 * before it returned 0.
 */
#ifndef ARTIFACTFS_ROCKS_I_H
#define ARTIFACTFS_ROCKS_I_H

#include <rocksdb/c.h>

/* Every RocksDB function the store calls. */
#define ROCKS_FNS(X)                                                               \
	X(rocksdb_block_based_options_create)                                      \
	X(rocksdb_block_based_options_destroy)                                     \
	X(rocksdb_block_based_options_set_block_cache)                             \
	X(rocksdb_block_based_options_set_cache_index_and_filter_blocks)           \
	X(rocksdb_block_based_options_set_pin_l0_filter_and_index_blocks_in_cache) \
	X(rocksdb_cache_create_lru)                                                \
	X(rocksdb_cache_destroy)                                                   \
	X(rocksdb_checkpoint_create)                                               \
	X(rocksdb_checkpoint_object_create)                                        \
	X(rocksdb_checkpoint_object_destroy)                                       \
	X(rocksdb_close)                                                           \
	X(rocksdb_column_family_handle_destroy)                                    \
	X(rocksdb_compact_range_cf)                                                \
	X(rocksdb_create_iterator_cf)                                              \
	X(rocksdb_delete_cf)                                                       \
	X(rocksdb_flush_cf)                                                        \
	X(rocksdb_flushoptions_create)                                             \
	X(rocksdb_flushoptions_destroy)                                            \
	X(rocksdb_flushoptions_set_wait)                                           \
	X(rocksdb_free)                                                            \
	X(rocksdb_get_cf)                                                          \
	X(rocksdb_get_options_from_string)                                         \
	X(rocksdb_get_pinned_cf)                                                   \
	X(rocksdb_iter_destroy)                                                    \
	X(rocksdb_iter_get_error)                                                  \
	X(rocksdb_iter_key)                                                        \
	X(rocksdb_iter_next)                                                       \
	X(rocksdb_iter_seek)                                                       \
	X(rocksdb_iter_seek_to_first)                                              \
	X(rocksdb_iter_valid)                                                      \
	X(rocksdb_iter_value)                                                      \
	X(rocksdb_open_column_families)                                            \
	X(rocksdb_open_for_read_only_column_families)                              \
	X(rocksdb_options_create)                                                  \
	X(rocksdb_options_destroy)                                                 \
	X(rocksdb_options_increase_parallelism)                                    \
	X(rocksdb_options_set_advise_random_on_open)                               \
	X(rocksdb_options_set_blob_compression_type)                               \
	X(rocksdb_options_set_blob_file_size)                                      \
	X(rocksdb_options_set_block_based_table_factory)                           \
	X(rocksdb_options_set_compression)                                         \
	X(rocksdb_options_set_create_if_missing)                                   \
	X(rocksdb_options_set_create_missing_column_families)                      \
	X(rocksdb_options_set_db_write_buffer_size)                                \
	X(rocksdb_options_set_enable_blob_files)                                   \
	X(rocksdb_options_set_enable_blob_gc)                                      \
	X(rocksdb_options_set_info_log_level)                                      \
	X(rocksdb_options_set_keep_log_file_num)                                   \
	X(rocksdb_options_set_manifest_preallocation_size)                         \
	X(rocksdb_options_set_max_background_jobs)                                 \
	X(rocksdb_options_set_max_file_opening_threads)                            \
	X(rocksdb_options_set_max_open_files)                                      \
	X(rocksdb_options_set_max_write_buffer_number)                             \
	X(rocksdb_options_set_min_blob_size)                                       \
	X(rocksdb_options_set_write_buffer_size)                                   \
	X(rocksdb_pinnableslice_destroy)                                           \
	X(rocksdb_pinnableslice_value)                                             \
	X(rocksdb_property_int_cf)                                                 \
	X(rocksdb_property_value_cf)                                               \
	X(rocksdb_put_cf)                                                          \
	X(rocksdb_readoptions_create)                                              \
	X(rocksdb_readoptions_destroy)                                             \
	X(rocksdb_readoptions_set_verify_checksums)                                \
	X(rocksdb_set_options_cf)                                                  \
	X(rocksdb_write_writebatch_wi)                                             \
	X(rocksdb_writebatch_wi_create)                                            \
	X(rocksdb_writebatch_wi_data)                                              \
	X(rocksdb_writebatch_wi_delete_cf)                                         \
	X(rocksdb_writebatch_wi_destroy)                                           \
	X(rocksdb_writebatch_wi_get_from_batch_and_db_cf)                          \
	X(rocksdb_writebatch_wi_put_cf)                                            \
	X(rocksdb_writeoptions_create)                                             \
	X(rocksdb_writeoptions_disable_WAL)                                        \
	X(rocksdb_writeoptions_destroy)                                            \
	X(rocksdb_writeoptions_set_sync)

struct rockslib {
#define ROCKS_FIELD(f) __typeof__(f) *f;
	ROCKS_FNS(ROCKS_FIELD)
#undef ROCKS_FIELD
};

/** The loaded functions; valid once rockslib_load returned 0. */
extern struct rockslib rockslib;

/** Loads RocksDB once; 0, or -ENOTSUP (logged). */
int rockslib_load(void);

/* Calls go through the table (a macro does not expand inside itself). */
#ifndef ROCKSLIB_LOADER
#define rocksdb_block_based_options_create                                     \
	(rockslib.rocksdb_block_based_options_create)
#define rocksdb_block_based_options_destroy                                    \
	(rockslib.rocksdb_block_based_options_destroy)
#define rocksdb_block_based_options_set_block_cache                            \
	(rockslib.rocksdb_block_based_options_set_block_cache)
#define rocksdb_block_based_options_set_cache_index_and_filter_blocks          \
	(rockslib.rocksdb_block_based_options_set_cache_index_and_filter_blocks)
#define rocksdb_block_based_options_set_pin_l0_filter_and_index_blocks_in_cache \
	(rockslib                                                               \
	     .rocksdb_block_based_options_set_pin_l0_filter_and_index_blocks_in_cache)
#define rocksdb_cache_create_lru  (rockslib.rocksdb_cache_create_lru)
#define rocksdb_cache_destroy	  (rockslib.rocksdb_cache_destroy)
#define rocksdb_checkpoint_create (rockslib.rocksdb_checkpoint_create)
#define rocksdb_checkpoint_object_create                                       \
	(rockslib.rocksdb_checkpoint_object_create)
#define rocksdb_checkpoint_object_destroy                                      \
	(rockslib.rocksdb_checkpoint_object_destroy)
#define rocksdb_close (rockslib.rocksdb_close)
#define rocksdb_column_family_handle_destroy                                   \
	(rockslib.rocksdb_column_family_handle_destroy)
#define rocksdb_compact_range_cf      (rockslib.rocksdb_compact_range_cf)
#define rocksdb_create_iterator_cf    (rockslib.rocksdb_create_iterator_cf)
#define rocksdb_delete_cf	      (rockslib.rocksdb_delete_cf)
#define rocksdb_flush_cf	      (rockslib.rocksdb_flush_cf)
#define rocksdb_flushoptions_create   (rockslib.rocksdb_flushoptions_create)
#define rocksdb_flushoptions_destroy  (rockslib.rocksdb_flushoptions_destroy)
#define rocksdb_flushoptions_set_wait (rockslib.rocksdb_flushoptions_set_wait)
#define rocksdb_free		      (rockslib.rocksdb_free)
#define rocksdb_get_cf		      (rockslib.rocksdb_get_cf)
#define rocksdb_get_options_from_string                                        \
	(rockslib.rocksdb_get_options_from_string)
#define rocksdb_get_pinned_cf	     (rockslib.rocksdb_get_pinned_cf)
#define rocksdb_iter_destroy	     (rockslib.rocksdb_iter_destroy)
#define rocksdb_iter_get_error	     (rockslib.rocksdb_iter_get_error)
#define rocksdb_iter_key	     (rockslib.rocksdb_iter_key)
#define rocksdb_iter_next	     (rockslib.rocksdb_iter_next)
#define rocksdb_iter_seek	     (rockslib.rocksdb_iter_seek)
#define rocksdb_iter_seek_to_first   (rockslib.rocksdb_iter_seek_to_first)
#define rocksdb_iter_valid	     (rockslib.rocksdb_iter_valid)
#define rocksdb_iter_value	     (rockslib.rocksdb_iter_value)
#define rocksdb_open_column_families (rockslib.rocksdb_open_column_families)
#define rocksdb_open_for_read_only_column_families                             \
	(rockslib.rocksdb_open_for_read_only_column_families)
#define rocksdb_options_create	(rockslib.rocksdb_options_create)
#define rocksdb_options_destroy (rockslib.rocksdb_options_destroy)
#define rocksdb_options_increase_parallelism                                   \
	(rockslib.rocksdb_options_increase_parallelism)
#define rocksdb_options_set_advise_random_on_open                              \
	(rockslib.rocksdb_options_set_advise_random_on_open)
#define rocksdb_options_set_blob_compression_type                              \
	(rockslib.rocksdb_options_set_blob_compression_type)
#define rocksdb_options_set_blob_file_size                                     \
	(rockslib.rocksdb_options_set_blob_file_size)
#define rocksdb_options_set_block_based_table_factory                          \
	(rockslib.rocksdb_options_set_block_based_table_factory)
#define rocksdb_options_set_compression                                        \
	(rockslib.rocksdb_options_set_compression)
#define rocksdb_options_set_create_if_missing                                  \
	(rockslib.rocksdb_options_set_create_if_missing)
#define rocksdb_options_set_create_missing_column_families                     \
	(rockslib.rocksdb_options_set_create_missing_column_families)
#define rocksdb_options_set_db_write_buffer_size                               \
	(rockslib.rocksdb_options_set_db_write_buffer_size)
#define rocksdb_options_set_enable_blob_files                                  \
	(rockslib.rocksdb_options_set_enable_blob_files)
#define rocksdb_options_set_enable_blob_gc                                     \
	(rockslib.rocksdb_options_set_enable_blob_gc)
#define rocksdb_options_set_info_log_level                                     \
	(rockslib.rocksdb_options_set_info_log_level)
#define rocksdb_options_set_keep_log_file_num                                  \
	(rockslib.rocksdb_options_set_keep_log_file_num)
#define rocksdb_options_set_manifest_preallocation_size                        \
	(rockslib.rocksdb_options_set_manifest_preallocation_size)
#define rocksdb_options_set_max_background_jobs                                \
	(rockslib.rocksdb_options_set_max_background_jobs)
#define rocksdb_options_set_max_file_opening_threads                           \
	(rockslib.rocksdb_options_set_max_file_opening_threads)
#define rocksdb_options_set_max_open_files                                     \
	(rockslib.rocksdb_options_set_max_open_files)
#define rocksdb_options_set_max_write_buffer_number                            \
	(rockslib.rocksdb_options_set_max_write_buffer_number)
#define rocksdb_options_set_min_blob_size                                      \
	(rockslib.rocksdb_options_set_min_blob_size)
#define rocksdb_options_set_write_buffer_size                                  \
	(rockslib.rocksdb_options_set_write_buffer_size)
#define rocksdb_pinnableslice_destroy (rockslib.rocksdb_pinnableslice_destroy)
#define rocksdb_pinnableslice_value   (rockslib.rocksdb_pinnableslice_value)
#define rocksdb_property_int_cf	      (rockslib.rocksdb_property_int_cf)
#define rocksdb_property_value_cf     (rockslib.rocksdb_property_value_cf)
#define rocksdb_put_cf		      (rockslib.rocksdb_put_cf)
#define rocksdb_readoptions_create    (rockslib.rocksdb_readoptions_create)
#define rocksdb_readoptions_destroy   (rockslib.rocksdb_readoptions_destroy)
#define rocksdb_readoptions_set_verify_checksums                               \
	(rockslib.rocksdb_readoptions_set_verify_checksums)
#define rocksdb_set_options_cf	     (rockslib.rocksdb_set_options_cf)
#define rocksdb_write_writebatch_wi  (rockslib.rocksdb_write_writebatch_wi)
#define rocksdb_writebatch_wi_create (rockslib.rocksdb_writebatch_wi_create)
#define rocksdb_writebatch_wi_data   (rockslib.rocksdb_writebatch_wi_data)
#define rocksdb_writebatch_wi_delete_cf                                        \
	(rockslib.rocksdb_writebatch_wi_delete_cf)
#define rocksdb_writebatch_wi_destroy (rockslib.rocksdb_writebatch_wi_destroy)
#define rocksdb_writebatch_wi_get_from_batch_and_db_cf                         \
	(rockslib.rocksdb_writebatch_wi_get_from_batch_and_db_cf)
#define rocksdb_writebatch_wi_put_cf (rockslib.rocksdb_writebatch_wi_put_cf)
#define rocksdb_writeoptions_disable_WAL                                       \
	(rockslib.rocksdb_writeoptions_disable_WAL)
#define rocksdb_writeoptions_create   (rockslib.rocksdb_writeoptions_create)
#define rocksdb_writeoptions_destroy  (rockslib.rocksdb_writeoptions_destroy)
#define rocksdb_writeoptions_set_sync (rockslib.rocksdb_writeoptions_set_sync)
#endif

#endif
