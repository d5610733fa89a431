/*
 * fs/fs_i.h - helpers shared by the files of fs/ (never included outside
 * this folder).
 *
 * progress.c draws the progress line; output.c formats sizes, times,
 * modes and JSON; cmd_read.c resolves "ARTIFACT@REF[/path]" specs and
 * lists directories for the other commands.
 */
#ifndef ARTIFACTFS_FS_I_H
#define ARTIFACTFS_FS_I_H

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "daemon.h"
#include "fs.h"

/* ----------------------------------------------------------- progress.c */

/*
 * One progress line on stderr ("put  12.0 MiB / 80.0 MiB  15%  95.2 MB/s
 * ETA 0:01"), redrawn at most ten times a second, only when stderr is a
 * terminal and --quiet was not given.  All functions are thread-safe; at
 * most one progress line is shown at a time.
 */
struct fs_progress {
	const char *label; /* borrowed, e.g. "put" */
	bool enabled;
	/* In a request of the daemon: the client draws the line from
	 * progress messages (fs_ctl_progress) sent by the request's own
	 * thread, without the lock of the process's terminal line. */
	struct fs_ctl_conn *conn;
	uint64_t done, total;  /* total 0: unknown */
	struct timespec start; /* CLOCK_MONOTONIC */
	struct timespec last;  /* last redraw */
};

/** Starts a progress line (not drawn until the first update). */
void fs_progress_init(struct fs_progress *p, const char *label, uint64_t total,
		      bool quiet);

/** Sets the bytes done so far; a non-zero total replaces an unknown one
 * (and grows a total that done has passed). */
void fs_progress_set(struct fs_progress *p, uint64_t done, uint64_t total);

/** Adds n bytes done. */
void fs_progress_add(struct fs_progress *p, uint64_t n);

/** store_progress_fn adapter: arg is a struct fs_progress. */
void fs_progress_cb(void *arg, uint64_t done, uint64_t total);

/** Erases the line and stops drawing. */
void fs_progress_end(struct fs_progress *p);

/** Erases whatever progress line is shown (the next update redraws it);
 * called before printing a log line. */
void fs_progress_hide(void);

/* ------------------------------------------------------------- output.c */

#define FS_SIZE_STR_LEN 32
#define FS_TIME_STR_LEN 32
#define FS_MODE_STR_LEN 11
/* "sha256:" and 12 hex digits */
#define FS_DIGEST_SHORT_LEN 20

/** "512 B", "1.5 KiB", "3.20 GiB". */
void fs_size_human(uint64_t n, char out[FS_SIZE_STR_LEN]);

/** ISO 8601 UTC, "2024-05-01T12:00:00Z", from ns since the epoch. */
void fs_time_iso(int64_t ns, char out[FS_TIME_STR_LEN]);

/** "drwxr-xr-x" style mode of a store entry. */
void fs_mode_string(enum store_kind kind, uint32_t mode,
		    char out[FS_MODE_STR_LEN]);

/** "sha256:" and the first 12 hex digits. */
void fs_digest_short(const uint8_t digest[STORE_DIGEST_LEN],
		     char out[FS_DIGEST_SHORT_LEN]);

/** A JSON string of s; bytes that are not valid UTF-8 become '?'.
 * NULL only on ENOMEM.  New reference. */
json_t *fs_json_str(const char *s);

/** A JSON "sha256:<hex>" string.  New reference, NULL on ENOMEM. */
json_t *fs_json_digest(const uint8_t digest[STORE_DIGEST_LEN]);

/** The JSON object of a version: artifact, version, ref, digest, size,
 * files, created, run.  New reference, NULL on ENOMEM. */
json_t *fs_json_version(const struct store_version *v);

/**
 * Prints j (indented) and a newline on stdout and drops the reference
 * (j may be NULL: then -ENOMEM).  Returns 0, -ENOMEM or -EIO.
 */
int fs_json_print(json_t *j);

/**
 * Checks a name with store_name_check and makes sure one line says what
 * is wrong with it ("invalid <what> name ...") when it is refused.
 * Returns 0, -EINVAL or -ENAMETOOLONG.
 */
int fs_name_check(const char *what, const char *name);

/** Writes all of buf to fd, retrying on EINTR.  Returns 0 or -errno. */
int fs_write_all(int fd, const void *buf, size_t len);

enum fs_write_flags {
	FS_WRITE_KEEP = 1 << 0, /* never replace an existing file */
};

/**
 * Writes buf to path whole or not at all: a temporary file beside it
 * (mode 0644), fsync, then a rename over path, or with FS_WRITE_KEEP a
 * link, so that an existing path stays as it is (-EEXIST, not logged).
 * Returns 0 or -errno, logged.
 */
int fs_write_file(const char *path, const void *buf, size_t len,
		  unsigned flags);

/* ------------------------------------------------------------ callerfs.c
 * The files a caller names (put PATH, get DEST, audit export OUT, ...):
 * opened, made and read with the caller's own rights.  For the daemon's
 * client (ctx->conn) the client process carries each call out itself and
 * passes descriptors back, so the daemon never opens a path a client
 * names; otherwise they are this process's own system calls.  Paths
 * relative to the caller's working directory.  All return 0 (or an fd, a
 * length) or -errno, not logged.
 */

struct stat;

int fs_file_open(struct fs_ctx *ctx, const char *path, int flags, mode_t mode);
int fs_file_stat(struct fs_ctx *ctx, const char *path, bool follow,
		 struct stat *st);
int fs_file_mkdir(struct fs_ctx *ctx, const char *path, mode_t mode);
int fs_file_symlink(struct fs_ctx *ctx, const char *target, const char *path);
ssize_t fs_file_readlink(struct fs_ctx *ctx, const char *path, char *buf,
			 size_t len);
int fs_file_rename(struct fs_ctx *ctx, const char *from, const char *to);
/** unlink(2), or rmdir(2) when dir. */
int fs_file_unlink(struct fs_ctx *ctx, const char *path, bool dir);
int fs_file_link(struct fs_ctx *ctx, const char *from, const char *to);

/** The absolute, symlink-free path of path (as realpath(3)) into a
 * malloc'd *out.  -errno, -ENOMEM. */
int fs_file_realpath(struct fs_ctx *ctx, const char *path, char **out);

/** Reads all of the caller's file path (at most max bytes: -EFBIG
 * beyond) into a malloc'd, NUL-terminated *out of *len bytes.  Only a
 * regular file (-EINVAL, logged, for a FIFO or a device). */
int fs_file_read_all(struct fs_ctx *ctx, const char *path, size_t max,
		     char **out, size_t *len);

/** Writes buf to the caller's path whole or not at all: a temporary
 * file beside it, fsync, then a rename over path.  -errno, logged. */
int fs_file_write_whole(struct fs_ctx *ctx, const char *path, const void *buf,
			size_t len);

/** A store_source (store.h) reading the caller's files, for put. */
void fs_file_source(struct fs_ctx *ctx, struct store_source *out);

/** Whether the daemon's client has gone (its request is cancelled);
 * always false for the command line. */
bool fs_cancelled(const struct fs_ctx *ctx);

/* ----------------------------------------------------------- cmd_read.c */

/* A resolved "ARTIFACT@REF[/path]". */
struct fs_target {
	char artifact[STORE_NAME_MAX + 1];
	char ref[STORE_NAME_MAX + 1];
	char *path;		/* normalized, "" for the root; owned */
	struct store_version v; /* the version REF names */
	struct store_dirent e;	/* the entry at path (root: a dir) */
};

/**
 * Parses spec, resolves the version and looks the path up.  On failure
 * ctx->subject is set to spec for the error line.
 * Returns 0, -EINVAL, -ENAMETOOLONG, -ENOENT, -ENOTDIR, -EIO, -ENOMEM.
 */
int fs_target_resolve(struct fs_ctx *ctx, const char *spec,
		      struct fs_target *out);

/** Frees what a resolved target owns; accepts a zeroed target. */
void fs_target_release(struct fs_target *t);

/**
 * Reads the entries of directory dir into a malloc'd array (the caller
 * frees *out; *out is NULL when *n is 0).  Returns 0, -EIO, -ENOMEM.
 */
int fs_dir_list(struct store *s, const uint8_t dir[STORE_DIGEST_LEN],
		struct store_dirent **out, size_t *n);

/* ------------------------------------------------------------- cmd_run.c
 * The run operations themselves are in runapi.c (runapi_i.h). */

/** Splits "PIPELINE/RUN" into p and r (STORE_NAME_MAX + 1 bytes each);
 * a malformed spec is a usage error (-EINVAL, reported). */
int fs_split_run(struct fs_ctx *ctx, const char *spec, char *p, char *r);

/* ------------------------------------------------------------- authz.c */

#include "acl.h"

/** Whether the caller may do act on path (a path of the mount): 0 or
 * -EACCES, silently (for listings that skip what the caller may not
 * see). */
int fs_allowed(struct fs_ctx *ctx, enum acl_action act, const char *path);

/**
 * Refuses a command the caller's roles do not allow: 0 when allowed;
 * else -EACCES with one line saying which role op on path needs, and a
 * journal record of the refusal (op, path, EACCES).
 */
int fs_authorize(struct fs_ctx *ctx, enum acl_action act, const char *path,
		 const char *op);

/** fs_authorize on a path formatted with printf's rules. */
int fs_authorize_at(struct fs_ctx *ctx, enum acl_action act, const char *op,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* ------------------------------------------------------------- config.c */

/* One role binding the configuration file seeds (its `roles` list),
 * checked: a known role, a principal that exists, a well-formed scope.
 * Strings are borrowed for the callback only. */
struct fs_role_seed {
	const char *role;
	const char *scope;		   /* "/" when the entry has none */
	char principal[ACL_PRINCIPAL_MAX]; /* "u:<uid>" or "g:<gid>" */
	const char *file;		   /* where it is written */
	int line;
};

/**
 * Reads the configuration file again (the one fs_config_load read) and
 * calls fn for each entry of its `roles` list, in order; fn returns
 * non-zero to stop (returned).  Returns 0 (also without a file), or what
 * fs_config_load returns for a bad file (-EINVAL, reported, exit_code
 * set).
 */
int fs_config_roles(struct fs_ctx *ctx,
		    int (*fn)(void *arg, const struct fs_role_seed *r),
		    void *arg);

/* ---------------------------------------------------------- cmd_audit.c
 * Signed checkpoints of the audit journal (acl/signed.c) read from a
 * file, for `audit verify --anchor` and the mount daemon's automatic
 * checkpoints (mnt_checkpoint.c).  Each failure is logged where it is
 * found.
 */

/**
 * Checks the checkpoint file at path (the caller's of ctx, or with ctx
 * NULL this process's own) against s: made for s, signed by
 * s's key pair (or pubkey, when not NULL), and the journal still holds
 * its record with the signed hash.  With checked not NULL, the whole
 * chain is walked too (acl_journal_verify; *checked: records verified).
 * *seq (may be NULL) gets the checkpoint's record.  Returns 0, -EBADMSG
 * (a signature that does not match; a journal cut off before the record,
 * rewritten or broken), -EINVAL (not a checkpoint of s), -errno.
 */
int fs_checkpoint_check(struct fs_ctx *ctx, struct store *s, const char *path,
			const char *pubkey, uint64_t *checked, uint64_t *seq);

/* ---------------------------------------------------------------- main.c */

/** Every getopt loop holds this lock (getopt's state is global, and the
 * daemon runs requests side by side). */
void fs_getopt_lock(void);
void fs_getopt_unlock(void);

/** Gives ctx the store: already there (the daemon's, for a client),
 * forwarded to the mount daemon that holds it (returns 1: the daemon ran
 * the command, its status is in ctx->forwarded), or opened here with its
 * journal.  Returns 0, 1 or a negative errno (reported). */
int fs_open_store(struct fs_ctx *ctx);

#endif
