/*
 * fs/mount/mount.h - the FUSE filesystem of a store: the session, its
 * operations (mnt_*.c) and the command socket it serves beside them; and
 * the table of process sessions bound to steps (lineage capture).
 *
 * Invariants
 *   - The store is opened after the mount is made and the process
 *     detached (RocksDB does not survive a fork); the checks that can
 *     fail early run before, so the user sees them.
 *   - What a client's command does is the command line's business: the
 *     daemon runs it through the handler its caller passes, never by
 *     name.
 *
 * Layering
 *   fs/daemon <- fs/base <- fs/mount <- fs/cli.  Calls fs/base, fs/daemon,
 *   acl/, store/ and libfuse; never fs/cli (linked without it).  No FUSE
 *   type leaves this folder.
 *
 * Errors
 *   0 or a negative errno, logged where it is found.
 *
 * Threads
 *   The FUSE session runs multithreaded and the socket serves requests
 *   side by side: the handler and the session table are called from many
 *   threads (the table has its own lock).
 */
#ifndef ARTIFACTFS_FS_MOUNT_H
#define ARTIFACTFS_FS_MOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "base.h"
#include "daemon.h"
#include "store.h"

/* What `artifactfs mount` was asked for (strings borrowed from argv). */
struct fs_mount_opts {
	const char *point;   /* the mountpoint as given */
	bool foreground;     /* -f: stay attached, log to stderr */
	bool debug;	     /* -d: and libfuse's debug output */
	bool ro;	     /* -o ro */
	bool ro_store;	     /* --ro: an export, opened read-only */
	const char *readers; /* --readers GROUP: who reads the export */
	bool shared;	     /* -o allow_other or allow_root */
	char **fuse_opts;    /* each -o's value, in order; malloc'd array */
	size_t nfuse_opts;
};

/**
 * Runs a client's command (req) on the mounted store s with out and err
 * as its streams; returns its exit status.  Called on the socket's
 * worker threads, side by side.
 */
typedef int (*fs_mount_handler)(void *arg, struct store *s,
				struct fs_ctl_req *req, FILE *out, FILE *err);

/**
 * Mounts the store of ctx (configuration loaded: ctx->store_dir, ->opt,
 * ->checkpoint_*) on o->point and serves it until it is unmounted: FUSE
 * requests, the command socket (each request through fn with arg) and the
 * automatic checkpoints.  Detaches first unless o->foreground.
 * With o->ro_store the store must be an export (store_is_export): it is
 * opened read-only and mounted read-only (every change EROFS), with its
 * read rule (acl_export_readers, o->readers), and nothing is written in
 * it: no command socket (commands open an export themselves), no spool,
 * no checkpoints, no journal records.  Returns 0, or -errno (logged):
 * -ENOENT (no store), -EBUSY (in use), -EINVAL (--ro of a store that is
 * not an export), -ENOTDIR (mountpoint), -EIO (cannot mount).
 */
int fs_mount_run(struct fs_ctx *ctx, const struct fs_mount_opts *o,
		 fs_mount_handler fn, void *arg);

/**
 * Whether run pipeline/run of the store this daemon mounts has a file
 * open for writing that was neither closed nor fsync'd: -EBUSY (the
 * names logged), 0 when none or when this process mounts nothing.  A
 * seal asked through the command socket checks it, as a seal written to
 * the run's control file does.
 */
int fs_mount_run_busy(const char *pipeline, const char *run);

/* ---------------------------------------------------------- mnt_session.c
 * Process sessions bound to steps (lineage capture), in the daemon.
 */

/** Binds process session sid to a step (replacing an earlier binding). */
int fs_session_bind(pid_t sid, const char *pipeline, const char *run,
		    const char *step);
/** Ends the binding of sid.  -ENOENT if there is none. */
int fs_session_unbind(pid_t sid);
/** Ends every binding to a run (when it is sealed or failed). */
void fs_session_unbind_run(const char *pipeline, const char *run);
/** Records artifact@v<number> as an input of the step pid's session is
 * bound to (once per binding); nothing if it is bound to none. */
int fs_session_read(struct store *s, const struct store_caller *c,
		    const char *artifact, uint32_t number);

#endif
