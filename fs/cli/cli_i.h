/*
 * fs/cli/cli_i.h - what the files of fs/cli share (never included outside
 * this folder): the subcommands, option parsing, spec resolution and
 * authorization of commands.
 */
#ifndef ARTIFACTFS_FS_CLI_I_H
#define ARTIFACTFS_FS_CLI_I_H

#include "acl.h"
#include "base.h"
#include "cli.h"
#include "mount.h"

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
	FS_OPT_NO_JOURNAL = 1 << 8,    /* init --no-journal */
	FS_OPT_STEP = 1 << 9,	       /* diff --step S */
	FS_OPT_REQUIREMENTS = 1 << 10, /* env show --requirements */
	FS_OPT_TAR = 1 << 11,	       /* export --tar */
	FS_OPT_RADOS = 1 << 12, /* init --rados, --ceph-conf, --ceph-id */
};

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
int fs_cmd_export(struct fs_ctx *ctx, int argc, char **argv);
int fs_cmd_verify_export(struct fs_ctx *ctx, int argc, char **argv);
/* tarball.c: an export as one plain ustar file (regular files and
 * directories).  All return 0 or -errno, logged. */
struct fs_progress;
/** Writes the tree under dir as the tar file file (through file.part,
 * renamed when complete); counts its bytes into prog (may be NULL). */
int fs_tar_write(const char *dir, const char *file, struct fs_progress *prog);
/** Unpacks the tar file into the existing directory dir, checking every
 * header; only regular files and directories, never outside dir. */
int fs_tar_extract(const char *file, const char *dir);
/** True when path names a tar file: an existing regular file, or a new
 * name ending in ".tar". */
bool fs_tar_is(const char *path);
/** Unpacks file into a new private directory under $TMPDIR (or /tmp);
 * *out (malloc'd) names it: the caller removes it (fs_tree_remove). */
int fs_tar_unpack_tmp(const char *file, char **out);
/** Removes dir and everything under it (without following links). */
void fs_tree_remove(const char *dir);

/** `audit verify [--pubkey KEY]` on the export d (it has no journal key):
 * the chain, and with key the MANIFEST's signature and the head it
 * signs.  0 (one line on stdout) or -EBADMSG (the problem logged). */
int fs_export_journal_verify(struct store *d, const char *key);
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
/** The N of a secret spec "NAME@vN" (N 1 to 4294967295; *base_len gets
 * the length of NAME), else 0 (the spec is a plain name: *base_len is
 * left alone).  (cmd_secret.c) */
uint32_t fs_secret_version(const char *name, size_t *base_len);
/** What differs between two runs or two versions (cmd_diff.c). */
int fs_cmd_diff(struct fs_ctx *ctx, int argc, char **argv);
/** Moves an alias back to an older version (cmd_diff.c). */
int fs_cmd_rollback(struct fs_ctx *ctx, int argc, char **argv);
/** The environment that produced a version (cmd_diff.c). */
int fs_cmd_env(struct fs_ctx *ctx, int argc, char **argv);
/** The FUSE daemon; parses its own options (argv[0] is "mount") and
 * serves each client's command through fn with arg (cmd_mount.c). */
int fs_cmd_mount(struct fs_ctx *ctx, int argc, char **argv, fs_mount_handler fn,
		 void *arg);

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

/* ----------------------------------------------------------- get_times.c */

/**
 * Gives fd (what get made for the entry at path below t's path, "" for
 * t's own entry) the mtime the version kept for it, if it kept one; with
 * fd -1, the symlink dest itself.  dest names it in an error.  Returns 0,
 * or -errno of the store or of futimens/utimensat (logged).
 */
int fs_get_keep_mtime(struct fs_ctx *ctx, const struct fs_target *t,
		      const char *path, int fd, const char *dest);

/* ------------------------------------------------------------- cmd_run.c
 * The run operations themselves are in runapi.c (runapi_i.h). */

/** Splits "PIPELINE/RUN" into p and r (STORE_NAME_MAX + 1 bytes each);
 * a malformed spec is a usage error (-EINVAL, reported). */
int fs_split_run(struct fs_ctx *ctx, const char *spec, char *p, char *r);

/* ------------------------------------------------------------- authz.c */

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

/* ------------------------------------------------------------- options.c */

/* What fs_parse_opts returns besides 0 and -EINVAL. */
#define FS_OPTS_HELP 1 /* --help: the caller shows the help */
#define FS_OPTS_DONE 2 /* --version: shown */

/**
 * Parses the options in argv into ctx: the global ones, and those of the
 * command whose enum fs_opt_flags are *opts (NULL: before the command).
 * stop_at_operand: up to the first operand (the command name) only.
 * *ind gets the index of the first operand.  Holds the getopt lock.
 * Returns 0, FS_OPTS_HELP, FS_OPTS_DONE or -EINVAL (reported).
 */
int fs_parse_opts(struct fs_ctx *ctx, const unsigned *opts, int argc,
		  char **argv, bool stop_at_operand, int *ind);

/** Every getopt loop holds this lock (getopt's state is global, and the
 * daemon runs requests side by side). */
void fs_getopt_lock(void);
void fs_getopt_unlock(void);

#endif
