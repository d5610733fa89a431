/*
 * fs/fs.h - the `artifactfs` command line: what main.c calls.
 *
 * Purpose
 *   main.c parses the global and per-command options into a struct
 *   fs_ctx, loads the configuration (config.c), opens the store and runs
 *   one subcommand (cmd_*.c).  Everything the commands share privately
 *   (progress bar, output helpers, spec resolution) is in fs_i.h.
 *
 * Invariants
 *   - Every failure prints exactly one line "artifactfs: ..." on stderr:
 *     the store logs the detail where it sees it (through the sink that
 *     fs_log_install sets); when nothing was logged, main prints
 *     "artifactfs: <cmd>: [<subject>: ]<strerror>".
 *   - Exit status: 0 success, 1 runtime failure, 2 usage or configuration
 *     error (ctx->exit_code says so).
 *   - JSON is only ever produced through jansson; no libconfig type leaves
 *     config.c.
 *
 * Layering
 *   Calls store/ (store.h) and the jansson and libconfig libraries.
 *   Nothing below fs/ calls into it.
 *
 * Errors
 *   Functions return 0 or a negative errno.  -EINVAL with
 *   ctx->exit_code == 2 means a usage or configuration error that has
 *   already been reported.
 *
 * Threads
 *   The command line is single-threaded except for the store's worker
 *   threads, which call the log sink and the progress callback; both
 *   are thread-safe.
 */
#ifndef ARTIFACTFS_FS_H
#define ARTIFACTFS_FS_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "store.h"

#define FS_PROG "artifactfs"
/* Read when present and no --config is given. */
#define FS_SYSTEM_CONFIG "/etc/artifactfs/artifactfs.conf"
/* The embedded default store, below $HOME. */
#define FS_DEFAULT_STORE ".local/share/artifactfs"
/* Exit status of a usage or configuration error. */
#define FS_EXIT_USAGE 2

/* Which per-command options a subcommand accepts. */
enum fs_opt_flags {
	FS_OPT_JSON = 1 << 0,
	FS_OPT_RUN = 1 << 1,
	FS_OPT_NAME = 1 << 2,
	FS_OPT_FORCE = 1 << 3,
	FS_OPT_RECURSIVE = 1 << 4,
	FS_OPT_DRY_RUN = 1 << 5,
	FS_OPT_LINEAGE = 1 << 6, /* --upstream, --downstream, --depth, --dot */
	FS_OPT_SCOPE = 1 << 7,	 /* --scope PATH (role) */
	FS_OPT_NO_JOURNAL = 1 << 8, /* init --no-journal */
};

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

	char *store_dir;	  /* resolved by fs_config_load */
	struct store_options opt; /* defaults, then the config file */
	/* The audit group of the config file: the mount daemon's automatic
	 * checkpoints (mnt_checkpoint.c).  checkpoint_dir is owned, NULL for
	 * the default (beside the journal key). */
	uint32_t checkpoint_records; /* every N records; 0: never */
	uint32_t checkpoint_seconds; /* or T seconds; 0: never */
	char *checkpoint_dir;
	struct store *store; /* open while a command that needs it runs */
	/* Who runs the command: this process, or the daemon's client (made
	 * once, from the socket's credentials).  Every decision and change
	 * is this caller's. */
	struct store_caller caller;
	/* For the daemon's client: the connection through which the files it
	 * names are reached (fs_file_*), or NULL for this process's own. */
	struct fs_ctl_conn *conn;
	int exit_code; /* FS_EXIT_USAGE after a usage error */
	int argc;      /* the whole command line, to forward it */
	char **argv;
	int forwarded; /* exit status from the daemon, or -1 */
};

/** Releases what ctx owns (closing the store); ctx can be reused. */
void fs_ctx_release(struct fs_ctx *ctx);

/**
 * Reports a usage error of the current command as one line on stderr
 * (with a hint to --help) and sets ctx->exit_code.  Returns -EINVAL.
 */
int fs_usage_error(struct fs_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

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
/** The command line's log sink (for the daemon to call in requests). */
void fs_log_sink(void *arg, enum store_log_level level, const char *msg);

/* A command the mount daemon runs for a client: the daemon's store, the
 * client (its credentials from the socket) and the connection through
 * which the command reaches the client's files, terminal and input. */
struct fs_request {
	struct store *store;
	const struct store_caller *caller;
	struct fs_ctl_conn *conn;
	bool tty; /* the client's stderr is a terminal */
};

/**
 * Runs one command line (argv[0] is the program) and returns its exit
 * status.  With req, the command runs for the daemon's client on the
 * daemon's store; without, for this process, opening the store itself
 * (or forwarding the command to the daemon that holds it).
 */
int fs_main(int argc, char **argv, const struct fs_request *req);

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

/* The command socket (ctl.c) is declared in the private ctl_i.h. */

/** How many error lines the sink has printed so far (any thread). */
unsigned long fs_log_errors(void);

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

/* ---------------------------------------------------------- commands
 * Each runs one subcommand on its operands (argv[0..argc), options
 * already parsed into ctx).  Commands other than init and help find
 * ctx->store open.  Returns 0 or a negative errno (see Errors above).
 */

int fs_cmd_init(struct fs_ctx *ctx, int argc, char **argv);
int fs_cmd_put(struct fs_ctx *ctx, int argc, char **argv);
int fs_cmd_cat(struct fs_ctx *ctx, int argc, char **argv);
int fs_cmd_get(struct fs_ctx *ctx, int argc, char **argv);
int fs_cmd_ls(struct fs_ctx *ctx, int argc, char **argv);
int fs_cmd_alias(struct fs_ctx *ctx, int argc, char **argv);
int fs_cmd_stats(struct fs_ctx *ctx, int argc, char **argv);
int fs_cmd_fsck(struct fs_ctx *ctx, int argc, char **argv);
int fs_cmd_gc(struct fs_ctx *ctx, int argc, char **argv);
int fs_cmd_run(struct fs_ctx *ctx, int argc, char **argv);
/** The lineage graph of a version (cmd_lineage.c). */
int fs_cmd_lineage(struct fs_ctx *ctx, int argc, char **argv);
/**
 * `run exec`: runs a command as a step of a run, with the versions it
 * reads through the mount captured as the step's inputs (cmd_exec.c).
 * Parses its own options: argv[0] is "exec", then [OPTIONS] -- CMD
 * [ARGS...]; global options before it are already in ctx.  Needs the
 * store mounted and runs in the client, never in a request of the daemon.
 * The run operations go to the mount daemon as typed calls, or, when
 * ctx->store is already open in this process, straight to the store (the
 * store is never opened here).  Loads the configuration itself.  Reports CMD's
 * exit status (128 + signal if killed, 127 if it could not be started) through
 * ctx->forwarded and returns 0; failures of its own return a negative errno as
 * usual.
 */
int fs_cmd_run_exec(struct fs_ctx *ctx, int argc, char **argv);
/**
 * `trace add|show`: spans of a step's trace (cmd_trace.c).  Parses the
 * options after its subcommand itself (argv[0] is "add" or "show") and
 * opens the store itself, so that a step taken from $ARTIFACTFS_RUN and
 * $ARTIFACTFS_STEP goes to the mount daemon on the command line.
 */
int fs_cmd_trace(struct fs_ctx *ctx, int argc, char **argv);
/** Runs, steps and spans as OpenLineage RunEvents, as JSON Lines
 * (cmd_openlineage.c); ctx->run (--run P/R) limits it to one run. */
int fs_cmd_openlineage(struct fs_ctx *ctx, int argc, char **argv);
int fs_cmd_audit(struct fs_ctx *ctx, int argc, char **argv);
/**
 * `role grant|revoke|ls`: role bindings (cmd_role.c).  grant and revoke
 * need the admin role on the scope (--scope, default "/"); ls shows every
 * binding to an admin or auditor on "/", and to anyone else the bindings
 * that name them.
 */
int fs_cmd_role(struct fs_ctx *ctx, int argc, char **argv);
/**
 * `secret set|get|rm|ls`: secrets, encrypted at rest by acl/
 * (cmd_secret.c).  set and rm need the admin role on /secrets/NAME, get
 * a role that reads it (ACL_SECRET; each read is journaled), ls lists
 * the names the caller may read.
 */
int fs_cmd_secret(struct fs_ctx *ctx, int argc, char **argv);
/** The FUSE daemon; parses its own options (argv[0] is "mount"). */
int fs_cmd_mount(struct fs_ctx *ctx, int argc, char **argv);

#endif
