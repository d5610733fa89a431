/*
 * fs/base/base.h - what the command line (fs/cli) and the mount (fs/mount)
 * both use: one invocation's context (struct fs_ctx), the configuration
 * that fills it (config.c), the per-request streams (request.c), the
 * human forms of values (format.c), the log sink and JSON forms
 * (output.c), the progress line (progress.c), the files a caller names
 * (callerfs.c) and the check of a signed checkpoint (checkpoint.c).
 *
 * Invariants
 *   - Every failure prints exactly one line "artifactfs: ..." on stderr:
 *     the store logs the detail where it sees it (through the sink that
 *     fs_log_install sets); when nothing was logged, the command line
 *     prints "artifactfs: <cmd>: [<subject>: ]<strerror>".
 *   - Exit status: 0 success, 1 runtime failure, 2 usage or configuration
 *     error (ctx->exit_code says so).
 *   - JSON is only ever produced through jansson; no libconfig type leaves
 *     config.c.
 *
 * Layering
 *   fs/daemon <- fs/base <- fs/mount <- fs/cli.  Calls fs/daemon (the
 *   client's files and terminal in a request: daemon.h), acl/, store/,
 *   jansson and libconfig; never fs/mount or fs/cli (it is linked without
 *   them).
 *
 * Errors
 *   Functions return 0 or a negative errno.  -EINVAL with
 *   ctx->exit_code == 2 means a usage or configuration error that has
 *   already been reported.
 *
 * Threads
 *   The log sink, the streams and the progress line are thread-safe; the
 *   streams are per thread (the daemon runs requests side by side).
 */
#ifndef ARTIFACTFS_FS_BASE_H
#define ARTIFACTFS_FS_BASE_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "acl.h"
#include "daemon.h"
#include "store.h"

/* Read when present and no --config is given. */
#define FS_SYSTEM_CONFIG "/etc/artifactfs/artifactfs.conf"
/* The embedded default store, below $HOME. */
#define FS_DEFAULT_STORE ".local/share/artifactfs"
/* Exit status of a usage or configuration error. */
#define FS_EXIT_USAGE 2

/* Everything one invocation knows.  Strings from the command line are
 * borrowed from argv; store_dir is owned (freed by fs_ctx_release). */
struct fs_ctl_conn;

struct fs_ctx {
	const char *cmd;	/* subcommand name, for error lines */
	const char *subject;	/* what the command works on, or NULL */
	const char *store_arg;	/* --store */
	const char *config_arg; /* --config */
	const char *run;	/* put --run PIPELINE/RUN/STEP */
	const char *name;	/* put --name: file name for "-" (stdin) */
	bool verbose, quiet, json, force, recursive, dry_run;
	bool upstream, downstream, dot, openlineage; /* lineage */
	const char *depth; /* lineage --depth N, unparsed */
	const char *scope; /* role --scope PATH */
	bool no_journal;   /* init --no-journal */
	/* init --rados POOL --ceph-conf FILE --ceph-id NAME (or NULL) */
	const char *rados_pool, *ceph_conf, *ceph_id;
	bool tar;	   /* export --tar: one tar file */
	const char *step;  /* diff --step S */
	bool requirements; /* env show --requirements */

	char *store_dir;	  /* resolved by fs_config_load */
	struct store_options opt; /* defaults, then the config file */
	/* The audit group of the config file: the mount daemon's automatic
	 * checkpoints (mnt_checkpoint.c).  checkpoint_dir is owned, NULL for
	 * the default (beside the journal key). */
	uint32_t checkpoint_records; /* every N records; 0: never */
	uint32_t checkpoint_seconds; /* or T seconds; 0: never */
	char *checkpoint_dir;
	/* The retention rules of the config file (owned), for gc. */
	struct store_retain_rule *retain;
	size_t nretain;
	struct store *store; /* open while a command that needs it runs */
	/* Who runs the command: this process, or the daemon's client (made
	 * once, from the socket's credentials).  Every decision and change
	 * is this caller's. */
	struct store_caller caller;
	/* For the daemon's client: the connection through which the files it
	 * names are reached (fs_file_*), or NULL for this process's own. */
	struct fs_ctl_conn *conn;
	/* For the daemon's client: the daemon's checkpoint directory
	 * (borrowed), which a client's --config may not replace. */
	const char *daemon_checkpoint_dir;
	int exit_code; /* FS_EXIT_USAGE after a usage error */
	int argc;      /* the whole command line, to forward it */
	char **argv;
	int forwarded; /* exit status from the daemon, or -1 */
};

/** Gives ctx the store: already there (the daemon's, for a client),
 * forwarded to the mount daemon that holds it (returns 1: the daemon ran
 * the command, its status is in ctx->forwarded), or opened here with its
 * journal.  Returns 0, 1 or a negative errno (reported). */
int fs_open_store(struct fs_ctx *ctx);

/** Releases what ctx owns (closing the store); ctx can be reused. */
void fs_ctx_release(struct fs_ctx *ctx);

/**
 * Reports a usage error of the current command as one line on stderr
 * (with a hint to --help) and sets ctx->exit_code.  Returns -EINVAL.
 */
int fs_usage_error(struct fs_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------------ request.c */

/** The streams a command prints to: stdout and stderr, or, for a command
 * the mount daemon runs for a client, that client's (per thread). */
FILE *fs_stdout(void);
FILE *fs_stderr(void);
/** Whether this thread runs a command for a client of the daemon. */
bool fs_in_request(void);
/** The command's standard input: the client's (passed over the daemon's
 * socket) in a request, else STDIN_FILENO; -1 when the client had none. */
int fs_stdin(void);
/** Sets this thread's standard input for a request (-1: none). */
void fs_request_stdin(int fd);
/** Points this thread's command output at out and err (NULL: back to
 * stdout and stderr). */
void fs_request_streams(FILE *out, FILE *err);
/** Sets this thread's client connection for a request (NULL: none) and
 * whether the client's stderr is a terminal (progress lines). */
void fs_request_client(struct fs_ctl_conn *conn, bool tty);
/** This thread's client connection (NULL outside a request), *tty
 * whether it wants progress lines. */
struct fs_ctl_conn *fs_request_conn(bool *tty);

/* ------------------------------------------------------------- output.c */

/** Installs the store log sink: "artifactfs: <msg>" on stderr for errors
 * and warnings, and for info and debug lines too when verbose. */
void fs_log_install(bool verbose);

/** From now on shows errors and warnings only when verbose: called once
 * a failure has been reported, so that what closing the store then says
 * about the same failure does not add lines. */
void fs_log_mute(void);

/** Puts "<prefix>: " before every following log line (NULL: none); the
 * string is borrowed until the next call. */
void fs_log_prefix(const char *prefix);

/** The command line's log sink (for the daemon to call in requests). */
void fs_log_sink(void *arg, enum store_log_level level, const char *msg);

/** How many error lines the sink has printed so far (any thread). */
unsigned long fs_log_errors(void);

/* ------------------------------------------------------------- format.c */

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

/* ------------------------------------------------------------- output.c */

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
 * Checks an artifact, alias, pipeline, run or step name by the store's
 * rules (store_name_require, STORE_NAME_ENTITY): one line says what is
 * wrong with it ("invalid <what> name '...': it holds '@', ...").
 * Returns 0, -EINVAL or -ENAMETOOLONG.
 */
int fs_name_check(const char *what, const char *name);

/** The columns s takes on a terminal (wcswidth in the LC_CTYPE locale:
 * an accented letter is 1, a CJK character 2); its byte length when s is
 * not text in that locale. */
int fs_text_width(const char *s);

/** Writes s to f, then blanks up to width columns (fs_text_width). */
void fs_put_padded(FILE *f, const char *s, int width);

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

/* The progress lines of a command the mount daemon runs for this
 * process: draw goes to fs_ctl_forward or fs_ctl_call (daemon.h). */
struct fs_progress_relay {
	struct fs_progress p;
	char label[64];
	bool on;
	struct fs_ctl_draw draw;
};

/** Makes r ready (nothing shown until the first message). */
void fs_progress_relay_init(struct fs_progress_relay *r);

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
int fs_file_lutimes(struct fs_ctx *ctx, const char *path,
		    const struct timespec *mtime);
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

/* Largest checkpoint, OUT.sig or public key file read. */
#define FS_SMALL_FILE_MAX (64 << 10)

/** Reads the regular file path whole into *buf (malloc'd, NUL-terminated,
 * the caller frees) and *len, with the rights of ctx's caller (NULL: this
 * process's own file).  -EFBIG over cap bytes, -EINVAL (not a regular
 * file), -errno, -ENOMEM; logged. */
int fs_file_read_logged(struct fs_ctx *ctx, const char *path, uint64_t cap,
			char **buf, size_t *len);

/** Writes buf to the caller's path whole or not at all: a temporary
 * file beside it, fsync, then a rename over path.  -errno, logged. */
int fs_file_write_whole(struct fs_ctx *ctx, const char *path, const void *buf,
			size_t len);

/** A store_source (store.h) reading the caller's files, for put. */
void fs_file_source(struct fs_ctx *ctx, struct store_source *out);

/** Whether the daemon's client has gone (its request is cancelled);
 * always false for the command line. */
bool fs_cancelled(const struct fs_ctx *ctx);

/* ------------------------------------------------------------- config.c */

/* Defaults of the audit group: a checkpoint every 1000 records or every
 * 5 minutes, whichever comes first. */
#define FS_CHECKPOINT_RECORDS 1000
#define FS_CHECKPOINT_SECONDS 300

/**
 * Loads the configuration into ctx->opt and ctx->checkpoint_*
 * (ctx->config_arg, else FS_SYSTEM_CONFIG if it exists, else the
 * defaults) and resolves
 * ctx->store_dir: --store, else $ARTIFACTFS_STORE, else the file's
 * `store` setting, else $HOME/FS_DEFAULT_STORE.
 * Returns 0, -EINVAL (reported, with file and line; exit_code set),
 * -ENOENT (no home directory), -ENOMEM.
 */
int fs_config_load(struct fs_ctx *ctx);

/**
 * Decodes configuration text (NUL-terminated, the contents of a file)
 * into ctx->opt and ctx->checkpoint_* as fs_config_load does with a file,
 * without the defaults first and without store_options_check; name is
 * the file that error lines name.  Like a --config file, the text may
 * not @include another file.  *store_out (the caller's to free)
 * gets the `store` setting, or NULL.  Returns 0, -EINVAL (reported with
 * name and line; exit_code set; *store_out NULL) or -ENOMEM.
 */
int fs_config_parse_text(struct fs_ctx *ctx, const char *text, const char *name,
			 char **store_out);

/* ------------------------------------------------------------- config.c: the
 * roles it seeds */

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

/* ---------------------------------------------------------- checkpoint.c
 * Signed checkpoints of the audit journal (acl/signed.c) read from a
 * file, for `audit verify --anchor` and the mount daemon's automatic
 * checkpoints (mnt_checkpoint.c).  Each failure is logged where it is
 * found.
 */

/**
 * The caller's public key file path (NULL: none given) into *key, read
 * with fs_file_read_logged; release with free(key->pem).
 */
int fs_pubkey_read(struct fs_ctx *ctx, const char *path,
		   struct acl_pubkey *key);

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

#endif
