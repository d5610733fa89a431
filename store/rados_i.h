/*
 * rados_i.h - librados, loaded at run time (private to store/).
 *
 * librados pulls in Ceph's common library and its dependencies (about
 * twenty shared objects); linked into the binary, every command paid for
 * loading them, RocksDB stores included.  Instead rados.c and radosmeta.c
 * call librados through the table below, which radoslib_load() fills
 * with dlopen/dlsym the first time a store in RADOS connects.  The
 * macros at the end make the calls read as plain librados calls.
 *
 * radoslib_load is thread-safe and idempotent: 0 when the table is full,
 * or -ENOTSUP with a logged message (librados.so.2 missing, or missing a
 * symbol); nothing in the table may be called before it returned 0.
 */
#ifndef ARTIFACTFS_RADOS_I_H
#define ARTIFACTFS_RADOS_I_H

#include <rados/librados.h>

/* Every librados function the store calls. */
#define RADOS_FNS(X)                                                           \
	X(rados_aio_create_completion2)                                        \
	X(rados_aio_is_complete)                                               \
	X(rados_aio_notify)                                                    \
	X(rados_aio_release)                                                   \
	X(rados_aio_write_op_operate)                                          \
	X(rados_aio_wait_for_complete)                                         \
	X(rados_conf_get)                                                      \
	X(rados_conf_read_file)                                                \
	X(rados_conf_set)                                                      \
	X(rados_connect)                                                       \
	X(rados_create2)                                                       \
	X(rados_create_read_op)                                                \
	X(rados_create_write_op)                                               \
	X(rados_get_instance_id)                                               \
	X(rados_getxattr)                                                      \
	X(rados_getxattrs_end)                                                 \
	X(rados_getxattrs_next)                                                \
	X(rados_ioctx_create)                                                  \
	X(rados_ioctx_destroy)                                                 \
	X(rados_ioctx_set_namespace)                                           \
	X(rados_list_lockers)                                                  \
	X(rados_nobjects_list_close)                                           \
	X(rados_nobjects_list_next)                                            \
	X(rados_nobjects_list_open)                                            \
	X(rados_notify_ack)                                                    \
	X(rados_omap_get_end)                                                  \
	X(rados_omap_get_next)                                                 \
	X(rados_omap_get_next2)                                                \
	X(rados_read)                                                          \
	X(rados_read_op_getxattrs)                                             \
	X(rados_read_op_omap_get_vals2)                                        \
	X(rados_read_op_omap_get_vals_by_keys)                                 \
	X(rados_read_op_operate)                                               \
	X(rados_release_read_op)                                               \
	X(rados_release_write_op)                                              \
	X(rados_set_pool_full_try)                                             \
	X(rados_shutdown)                                                      \
	X(rados_stat)                                                          \
	X(rados_unwatch2)                                                      \
	X(rados_watch3)                                                        \
	X(rados_watch_flush)                                                   \
	X(rados_write_op_assert_exists)                                        \
	X(rados_write_op_cmpxattr)                                             \
	X(rados_write_op_create)                                               \
	X(rados_write_op_exec)                                                 \
	X(rados_write_op_omap_rm_keys2)                                        \
	X(rados_write_op_omap_rm_range2)                                       \
	X(rados_write_op_omap_set2)                                            \
	X(rados_write_op_operate)                                              \
	X(rados_write_op_remove)                                               \
	X(rados_write_op_setxattr)                                             \
	X(rados_write_op_write_full)

struct radoslib {
#define RADOS_FIELD(f) __typeof__(f) *f;
	RADOS_FNS(RADOS_FIELD)
#undef RADOS_FIELD
};

/** The loaded functions; valid once radoslib_load returned 0. */
extern struct radoslib radoslib;

/** Loads librados once; 0, or -ENOTSUP (logged). */
int radoslib_load(void);

/* Calls go through the table (a macro does not expand inside itself). */
#ifndef RADOSLIB_LOADER
#define rados_aio_create_completion2 (radoslib.rados_aio_create_completion2)
#define rados_aio_is_complete	     (radoslib.rados_aio_is_complete)
#define rados_aio_notify	     (radoslib.rados_aio_notify)
#define rados_aio_write_op_operate   (radoslib.rados_aio_write_op_operate)
#define rados_aio_release	     (radoslib.rados_aio_release)
#define rados_aio_wait_for_complete  (radoslib.rados_aio_wait_for_complete)
#define rados_conf_get		     (radoslib.rados_conf_get)
#define rados_conf_read_file	     (radoslib.rados_conf_read_file)
#define rados_conf_set		     (radoslib.rados_conf_set)
#define rados_connect		     (radoslib.rados_connect)
#define rados_create2		     (radoslib.rados_create2)
#define rados_create_read_op	     (radoslib.rados_create_read_op)
#define rados_create_write_op	     (radoslib.rados_create_write_op)
#define rados_get_instance_id	     (radoslib.rados_get_instance_id)
#define rados_getxattr		     (radoslib.rados_getxattr)
#define rados_getxattrs_end	     (radoslib.rados_getxattrs_end)
#define rados_getxattrs_next	     (radoslib.rados_getxattrs_next)
#define rados_ioctx_create	     (radoslib.rados_ioctx_create)
#define rados_ioctx_destroy	     (radoslib.rados_ioctx_destroy)
#define rados_ioctx_set_namespace    (radoslib.rados_ioctx_set_namespace)
#define rados_list_lockers	     (radoslib.rados_list_lockers)
#define rados_nobjects_list_close    (radoslib.rados_nobjects_list_close)
#define rados_nobjects_list_next     (radoslib.rados_nobjects_list_next)
#define rados_nobjects_list_open     (radoslib.rados_nobjects_list_open)
#define rados_notify_ack	     (radoslib.rados_notify_ack)
#define rados_omap_get_end	     (radoslib.rados_omap_get_end)
#define rados_omap_get_next	     (radoslib.rados_omap_get_next)
#define rados_omap_get_next2	     (radoslib.rados_omap_get_next2)
#define rados_read		     (radoslib.rados_read)
#define rados_read_op_getxattrs	     (radoslib.rados_read_op_getxattrs)
#define rados_read_op_omap_get_vals2 (radoslib.rados_read_op_omap_get_vals2)
#define rados_read_op_omap_get_vals_by_keys                                    \
	(radoslib.rados_read_op_omap_get_vals_by_keys)
#define rados_read_op_operate	      (radoslib.rados_read_op_operate)
#define rados_release_read_op	      (radoslib.rados_release_read_op)
#define rados_release_write_op	      (radoslib.rados_release_write_op)
#define rados_set_pool_full_try	      (radoslib.rados_set_pool_full_try)
#define rados_shutdown		      (radoslib.rados_shutdown)
#define rados_stat		      (radoslib.rados_stat)
#define rados_unwatch2		      (radoslib.rados_unwatch2)
#define rados_watch3		      (radoslib.rados_watch3)
#define rados_watch_flush	      (radoslib.rados_watch_flush)
#define rados_write_op_assert_exists  (radoslib.rados_write_op_assert_exists)
#define rados_write_op_cmpxattr	      (radoslib.rados_write_op_cmpxattr)
#define rados_write_op_exec	      (radoslib.rados_write_op_exec)
#define rados_write_op_create	      (radoslib.rados_write_op_create)
#define rados_write_op_omap_rm_keys2  (radoslib.rados_write_op_omap_rm_keys2)
#define rados_write_op_omap_rm_range2 (radoslib.rados_write_op_omap_rm_range2)
#define rados_write_op_omap_set2      (radoslib.rados_write_op_omap_set2)
#define rados_write_op_operate	      (radoslib.rados_write_op_operate)
#define rados_write_op_remove	      (radoslib.rados_write_op_remove)
#define rados_write_op_setxattr	      (radoslib.rados_write_op_setxattr)
#define rados_write_op_write_full     (radoslib.rados_write_op_write_full)
#endif

/* The commit lock's calls (radosops.c): as librados's rados_lock_exclusive
 * (flags LIBRADOS_LOCK_FLAG_*; 0, -EBUSY held by another, -EEXIST held
 * by this cookie already), rados_unlock (with c: started, its result in
 * c) and rados_break_lock (client as rados_list_lockers names it), but
 * each a write op with LIBRADOS_OPERATION_FULL_FORCE, so that they work
 * on a pool at its quota or a full cluster, where librados's own wait. */
int rlock_lock(rados_ioctx_t io, const char *oid, const char *name,
	       const char *cookie, const char *desc, unsigned lease_s,
	       unsigned flags);
int rlock_unlock(rados_ioctx_t io, const char *oid, const char *name,
		 const char *cookie, rados_completion_t c);
int rlock_break(rados_ioctx_t io, const char *oid, const char *name,
		const char *client, const char *cookie);

/* As rados_remove, with LIBRADOS_OPERATION_FULL_FORCE: removing frees
 * room, so it must work on a full pool. */
int robj_remove(rados_ioctx_t io, const char *oid);

/* What to add to an error's message: what a timeout or a full pool
 * means and what helps ("" for other errors). */
const char *rados_hint(int rc);

/* Logs what failed against pool (conf), with rados_hint; returns rc. */
int rados_fail(const char *pool, const char *conf, const char *what, int rc);

/* The flags of every write op but a chunk's put: metadata (the commit,
 * the lanes, the parts of a big commit) and removals go on when the pool
 * reached its quota or the cluster is full, as CephFS's metadata does;
 * only content stops (LIBRADOS_OPERATION_FULL_TRY: -EDQUOT or -ENOSPC at
 * once, where librados would wait). */
#define RADOS_META_OP_FLAGS LIBRADOS_OPERATION_FULL_FORCE

#endif
