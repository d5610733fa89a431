/*
 * fs/cli/main.c - `artifactfs`: the subcommand table and the
 * one place that turns a command's result into a message and an exit
 * status.
 *
 *     artifactfs [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS]
 *
 * Global options may come before the command or among its arguments.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acl.h"
#include "daemon.h"
#include "runapi_i.h"
#include "cli_i.h"

enum cmd_flags {
	CMD_STORE = 1 << 0,   /* runs on the open store */
	CMD_RAW = 1 << 1,     /* parses its own options (mount) */
	CMD_SUBOPTS = 1 << 2, /* options after its first operand are its own */
};

struct cmd {
	const char *name;
	int (*run)(struct fs_ctx *ctx, int argc, char **argv);
	unsigned flags;
	unsigned opts; /* enum fs_opt_flags it accepts */
	int min_args, max_args;
	const char *usage; /* after "artifactfs NAME " */
	const char *help;  /* description and command options */
};

static int cmd_help(struct fs_ctx *ctx, int argc, char **argv);
static int cmd_mount(struct fs_ctx *ctx, int argc, char **argv);

static const struct cmd cmds[] = {
    {"init", fs_cmd_init, 0, FS_OPT_NO_JOURNAL | FS_OPT_RADOS, 0, 0,
     "[--no-journal] [--rados POOL --ceph-conf FILE [--ceph-id NAME]]",
     "Creates the store (idempotent), with an audit journal whose key is\n"
     "kept outside the store (see 'artifactfs audit --help').\n"
     "  --no-journal   a store that keeps no audit journal, ever (for\n"
     "                 scratch data and benchmarks); only when creating\n"
     "  --rados POOL   keep the chunks' bytes in the existing RADOS pool\n"
     "                 POOL (metadata stays in the store's directory);\n"
     "                 only when creating; every later open uses it\n"
     "  --ceph-conf FILE  the cluster's ceph.conf (with --rados)\n"
     "  --ceph-id NAME    the cephx client id (default client.admin)\n"},
    {"put", fs_cmd_put, CMD_STORE, FS_OPT_JSON | FS_OPT_RUN | FS_OPT_NAME, 2,
     -1, "ARTIFACT PATH...",
     "Stores PATHs as the next version of ARTIFACT.  A single directory\n"
     "becomes the version's root; files and several paths are put under\n"
     "their base names.  PATH \"-\" reads standard input.\n"
     "  --run P/R/S    record the producing pipeline/run/step\n"
     "  --name NAME    file name for \"-\" (default: stdin)\n"
     "  --json         print the new version as JSON\n"},
    {"cat", fs_cmd_cat, CMD_STORE, 0, 1, 1, "ARTIFACT[@REF][/PATH]",
     "Writes a file of a version to standard output (a version holding a\n"
     "single file needs no PATH).  REF is vN, latest or an alias.\n"},
    {"get", fs_cmd_get, CMD_STORE, FS_OPT_FORCE, 2, 2,
     "ARTIFACT[@REF][/PATH] DEST",
     "Copies a file or a whole tree of a version out to DEST, verified.\n"
     "  -f, --force    overwrite an existing DEST\n"},
    {"ls", fs_cmd_ls, CMD_STORE, FS_OPT_JSON | FS_OPT_RECURSIVE, 0, 1,
     "[ARTIFACT[@REF][/PATH]]",
     "Lists artifacts, the versions of ARTIFACT, or the files of a\n"
     "version.\n"
     "  -R, --recursive  list subdirectories too\n"
     "  --json           print JSON\n"},
    {"alias", fs_cmd_alias, CMD_STORE, FS_OPT_JSON, 2, 4,
     "set ARTIFACT ALIAS vN | rm ARTIFACT ALIAS | ls ARTIFACT",
     "Moves, removes or lists the aliases of ARTIFACT.\n"
     "  --json         print JSON (ls)\n"},
    {"stats", fs_cmd_stats, CMD_STORE, FS_OPT_JSON, 0, 0, "",
     "Shows what the store holds and how much deduplication and\n"
     "compression save.\n"
     "  --json         print JSON\n"},
    {"fsck", fs_cmd_fsck, CMD_STORE, FS_OPT_JSON, 0, 0, "",
     "Re-reads and verifies every chunk, file, directory and version.\n"
     "Exits 1 when it finds problems.\n"
     "  --json         print JSON\n"},
    {"gc", fs_cmd_gc, CMD_STORE, FS_OPT_JSON | FS_OPT_DRY_RUN, 0, 0, "",
     "Removes chunks and files that no version references.\n"
     "  -n, --dry-run  only count them\n"
     "  --json         print JSON\n"},
    {"export", fs_cmd_export, CMD_STORE | CMD_SUBOPTS, FS_OPT_TAR, 1, -1,
     "[--tar] DEST [--closure ARTIFACT@REF]... [--scope PATH]... "
     "[--since T]",
     "Writes a point-in-time copy of the store to the new directory DEST\n"
     "(or, with --tar or a DEST ending in .tar, one tar file)\n"
     "for auditors: everything, or the versions named, those a scope\n"
     "covers and those made since T, each with its upstream closure;\n"
     "never secrets.  DEST/MANIFEST lists them and the journal's range,\n"
     "signed with the store's key.\n"},
    {"verify-export", fs_cmd_verify_export, CMD_RAW, 0, 0, -1,
     "DEST|FILE.tar --pubkey KEY",
     "Checks an export: the MANIFEST's signature, every file re-hashed,\n"
     "every chunk, the journal's chain.  Needs no store and no role.\n"},
    {"run", fs_cmd_run, CMD_STORE, FS_OPT_JSON, 1, -1,
     "exec --pipeline P --step S [OPTIONS] -- CMD [ARGS...] |\n"
     "       open P/R [STEP...] | seal P/R | fail P/R | ls [P] | step P/R S |\n"
     "       input P/R/S ARTIFACT@REF | note P/R KEY VALUE |\n"
     "       bind P/R/S SID | unbind SID",
     "Opens a run of pipeline P (with its steps), seals it (each step's\n"
     "outputs/<name> becomes the next version of artifact <name>), marks\n"
     "it failed (publishing nothing), or lists runs.  exec runs CMD as\n"
     "a step, capturing what it reads as inputs, sealing on success and\n"
     "failing the run otherwise ('artifactfs run exec --help').  step adds a "
     "step,\n"
     "input records a version a step read, note sets a note (run.json).\n"
     "bind (mounted only) makes the daemon record every version that\n"
     "process session SID reads through the mount as an input of the\n"
     "step; unbind ends that.\n"
     "  --json         print JSON (ls)\n"},
    {"lineage", fs_cmd_lineage, CMD_STORE,
     FS_OPT_JSON | FS_OPT_LINEAGE | FS_OPT_RUN, 1, 1,
     "ARTIFACT@REF [--upstream|--downstream] [--depth N] [--json|--dot]\n"
     "       | export --openlineage [--run P/R]",
     "Shows where a version came from and where it went: the step that\n"
     "produced it, the versions that step read, their producers, ...\n"
     "(upstream), and the steps that read it and what they produced\n"
     "(downstream).  Both ways unless one is chosen.  'export\n"
     "--openlineage' prints OpenLineage 2-0-2 run events (JSON Lines).\n"
     "  --upstream     only what the version came from\n"
     "  --downstream   only what came of it\n"
     "  --depth N      at most N step hops away (default: no limit)\n"
     "  --json         print {\"nodes\": [...], \"edges\": [...]}\n"
     "  --dot          print a Graphviz digraph, e.g.\n"
     "    artifactfs lineage model@latest --dot | dot -Tsvg > lineage.svg\n"},
    {"trace", fs_cmd_trace, CMD_SUBOPTS, 0, 1, -1,
     "add --kind KIND --name NAME [OPTIONS] | show P/R [--step S] [--json]",
     "Records and shows the spans of a step's trace (agent turns, LLM and\n"
     "tool calls).  add appends a span to a step of an open run (the\n"
     "step of 'run exec' by default) and prints its id; show prints each\n"
     "step's spans as a tree.  'artifactfs trace add --help' and\n"
     "'artifactfs trace show --help' list their options.\n"},
    /* audit opens the store itself: verify --export needs none. */
    {"audit", fs_cmd_audit, CMD_SUBOPTS, FS_OPT_JSON, 1, -1,
     "verify [--anchor FILE | --export OUT] [--pubkey KEY] |\n"
     "       query [--user U] [--op OP] [--path P] [--since T]\n"
     "       [--until T] [--denied] [--json] | checkpoint OUT |\n"
     "       export [--since T] [--until T] OUT",
     "The audit journal: every change (versions, aliases, runs, files\n"
     "written in runs, seals, gc) is a record written with it, chained by\n"
     "SHA-256 and signed with HMAC-SHA256 under a key kept outside the\n"
     "store.  verify walks the chain and names the first record that was\n"
     "changed, removed, reordered or inserted (exit 1); query lists\n"
     "records (T: 2026-11-26, 2026-11-26T20:30:00Z or epoch seconds).\n"
     "checkpoint signs the journal's head (Ed25519, a key pair made on\n"
     "first use beside the journal key) into OUT, to keep outside the\n"
     "store; verify --anchor OUT then proves the journal still extends\n"
     "it (a tail cut off fails).  While the store is mounted, the daemon\n"
     "writes such checkpoints by itself (audit.checkpoint_records,\n"
     "_seconds, _dir in the configuration; see the README).  export\n"
     "writes records as JSON Lines to OUT and a signed digest to OUT.sig;\n"
     "verify --export OUT --pubkey KEY checks them with only the public\n"
     "key, no store needed.\n"},
    {"role", fs_cmd_role, CMD_STORE, FS_OPT_JSON | FS_OPT_SCOPE, 1, 3,
     "grant ROLE USER|@GROUP [--scope PATH] |\n"
     "       revoke ROLE USER|@GROUP [--scope PATH] | ls [--scope PATH] "
     "[--json]",
     "Gives a role to a user or a group on a scope (a path of the mount,\n"
     "and everything below it), takes it back, or lists the bindings.\n"
     "ROLE is reader, writer, promoter, auditor or admin; USER a user name\n"
     "or uid, @GROUP a group name or gid.  grant and revoke need the admin\n"
     "role on the scope; ls shows every binding to an admin or auditor on\n"
     "/, and their own bindings to everyone else.\n"
     "  --scope PATH   the scope (default /); for ls, only the bindings\n"
     "                 that apply to PATH\n"
     "  --json         print JSON (ls)\n"},
    {"secret", fs_cmd_secret, CMD_STORE, FS_OPT_JSON, 1, 3,
     "set NAME [FILE|-] | get NAME[@vN] | rm NAME | ls [--json] | "
     "rotate-key",
     "Keeps secrets, encrypted at rest (AES-256-GCM under a key kept\n"
     "outside the store), named as in the mount: /secrets/NAME.  set reads\n"
     "the value (at most 64 KiB) from FILE or standard input, makes it the\n"
     "next version and needs the admin role on /secrets/NAME, as rm does;\n"
     "get prints the current value (NAME@vN: version N) to a holder of\n"
     "admin there or of any role on /secrets/NAME, and every read is\n"
     "journaled; ls lists the secrets the caller may read; rotate-key\n"
     "(admin on /secrets) seals every value again under a new key.\n"
     "  --json         print JSON (ls)\n"},
    {"diff", fs_cmd_diff, CMD_STORE, FS_OPT_JSON | FS_OPT_STEP, 2, 2,
     "P/R1 P/R2 [--step S] [--json] | ARTIFACT@A ARTIFACT@B [--json]",
     "Compares two runs step by step: code, params, packages (added,\n"
     "removed, changed old -> new), image, system, and the versions read\n"
     "and produced, by digest; or two versions of an artifact file by file\n"
     "(added, removed, changed, sizes, modes) with their producing runs.\n"
     "Exit status 0 when equal, 1 when different, 2 on an error.\n"
     "  --step S       only step S of each run\n"
     "  --json         print JSON\n"},
    {"rollback", fs_cmd_rollback, CMD_STORE, 0, 3, 3, "ARTIFACT ALIAS vK",
     "Moves ALIAS of ARTIFACT back to the older version vK (a promoter's\n"
     "right), journaled as alias.rollback; 'env show ARTIFACT@vK\n"
     "--requirements' then says how to rebuild what produced it.\n"},
    {"env", fs_cmd_env, CMD_STORE, FS_OPT_JSON | FS_OPT_REQUIREMENTS, 2, 2,
     "show ARTIFACT@REF [--requirements] [--json]",
     "Shows the environment of the step that produced a version: code,\n"
     "image, system and packages.\n"
     "  --requirements print what rebuilds it: a pip requirements file,\n"
     "                 with the dpkg packages as comments\n"
     "  --json         print the snapshot's files as JSON\n"},
    {"mount", cmd_mount, CMD_RAW, 0, 0, -1,
     "[--store DIR] [--ro [--readers GROUP]] MOUNTPOINT [-f] [-o OPTIONS]",
     "Mounts the store as a file system (see README: The mount); with\n"
     "--ro an export (a directory or a .tar file), read-only.\n"},
    {"help", cmd_help, 0, 0, 0, 1, "[COMMAND]",
     "Shows help for artifactfs or one command.\n"},
};

#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static const char global_help[] =
    "Global options (before or after COMMAND):\n"
    "  --store DIR    the store (default: $ARTIFACTFS_STORE, the config\n"
    "                 file's store, ~/" FS_DEFAULT_STORE ")\n"
    "  --config FILE  configuration (default: " FS_SYSTEM_CONFIG ")\n"
    "  -q, --quiet    no progress line\n"
    "  -v, --verbose  log more\n"
    "  -h, --help     show help\n";

static void print_usage(FILE *f)
{
	size_t i;

	fprintf(f,
		"usage: %s [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGS]\n\n"
		"Commands:\n",
		FS_PROG);
	for (i = 0; i < NCMDS; i++)
		fprintf(f, "  %-7s %s\n", cmds[i].name, cmds[i].usage);
	fprintf(f, "\n%s\nRun '%s COMMAND --help' for a command's options.\n",
		global_help, FS_PROG);
}

static void print_cmd_help(const struct cmd *c)
{
	fprintf(fs_stdout(), "usage: %s %s [OPTIONS] %s\n\n%s\n%s", FS_PROG,
		c->name, c->usage, c->help, global_help);
}

static const struct cmd *find_cmd(const char *name)
{
	size_t i;

	for (i = 0; i < NCMDS; i++)
		if (!strcmp(cmds[i].name, name))
			return &cmds[i];
	return NULL;
}

static int cmd_help(struct fs_ctx *ctx, int argc, char **argv)
{
	const struct cmd *c;

	if (argc == 0) {
		print_usage(fs_stdout());
		return 0;
	}
	c = find_cmd(argv[0]);
	if (!c)
		return fs_usage_error(ctx, "unknown command '%s'", argv[0]);
	print_cmd_help(c);
	return 0;
}

/* Carries out a typed call for the client: the run operation itself
 * (runapi.c), as the client, its error lines on the client's stderr. */
static int serve_call(struct store *s, struct fs_ctl_req *req)
{
	struct fs_ctx ctx = {.cmd = "run",
			     .store = s,
			     .caller = req->caller,
			     .conn = req->conn,
			     .forwarded = -1};

	return fs_run_call(&ctx, req->call, req->result) ? 1 : 0;
}

/* Runs a client's command line (or typed call) on the mounted store, as
 * that client: requests run side by side, each on its own worker of
 * fs/daemon; the mount refreshes what they changed. */
static int serve_request(void *arg, struct store *s, struct fs_ctl_req *req,
			 FILE *out, FILE *err)
{
	const struct fs_ctx *daemon = arg; /* the mount's own */
	struct fs_request r = {.store = s,
			       .caller = &req->caller,
			       .conn = req->conn,
			       .tty = req->tty,
			       .checkpoint_dir = daemon->checkpoint_dir};
	int status;

	fs_request_streams(out, err);
	fs_request_stdin(req->in);
	fs_request_client(req->conn, req->tty);
	status =
	    req->call ? serve_call(s, req) : fs_main(req->argc, req->argv, &r);
	fs_request_client(NULL, false);
	fs_request_stdin(-1);
	fs_request_streams(NULL, NULL);
	return status;
}

/* `mount`: the mount daemon runs clients' commands through fs_main. */
static int cmd_mount(struct fs_ctx *ctx, int argc, char **argv)
{
	return fs_cmd_mount(ctx, argc, argv, serve_request, ctx);
}

/* Runs command c on argv (argv[0] is the command name). */
static int run_cmd(struct fs_ctx *ctx, const struct cmd *c, int argc,
		   char **argv)
{
	int rc, nargs, ind = argc;

	/* run exec runs its command here, in the caller's process (never
	 * in the daemon), and parses its own options. */
	if (fs_in_request() &&
	    (c->run == fs_cmd_init || c->flags & CMD_RAW ||
	     (c->run == fs_cmd_run && argc > 1 && !strcmp(argv[1], "exec")))) {
		/* They run in the caller's own process, never in the
		 * daemon's (a client naming them has bypassed the command
		 * line). */
		store_log(STORE_LOG_ERR,
			  "%s: not a command the mount daemon "
			  "runs for a client",
			  c->name);
		return -EPERM;
	}
	if (c->run == fs_cmd_run && argc > 1 && !strcmp(argv[1], "exec")) {
		fs_log_install(ctx->verbose);
		return fs_cmd_run_exec(ctx, argc - 1, argv + 1);
	}
	if (c->flags & CMD_RAW) {
		fs_log_install(ctx->verbose);
		if (ctx->store)
			return fs_usage_error(ctx, "the store is mounted "
						   "already");
		return c->run(ctx, argc, argv);
	}
	rc = fs_parse_opts(ctx, &c->opts, argc, argv, c->flags & CMD_SUBOPTS,
			   &ind);
	if (rc == FS_OPTS_HELP)
		print_cmd_help(c);
	if (rc)
		return rc > 0 ? 0 : rc;
	nargs = argc - ind;
	if (nargs < c->min_args)
		return fs_usage_error(ctx, "missing arguments: %s %s", c->name,
				      c->usage);
	if (c->max_args >= 0 && nargs > c->max_args)
		return fs_usage_error(ctx, "too many arguments");
	if (c->run == cmd_help)
		return c->run(ctx, nargs, argv + ind);
	fs_log_install(ctx->verbose);
	rc = fs_config_load(ctx);
	if (rc < 0)
		return rc;
	if (c->flags & CMD_STORE) {
		rc = fs_open_store(ctx);
		if (rc)
			return rc < 0 ? rc : 0;
	}
	return c->run(ctx, nargs, argv + ind);
}

/* `artifactfs STORE MOUNTPOINT [-o OPTIONS]`, as mount.fuse3 runs it for
 * an fstab line of type fuse.artifactfs: a detached mount. */
static int fstab_mount(struct fs_ctx *ctx, int argc, char **argv)
{
	char **av = calloc((size_t)argc + 3, sizeof(*av));
	int rc;

	if (!av)
		return -ENOMEM;
	av[0] = "mount";
	av[1] = "--store";
	av[2] = argv[0];
	for (int i = 1; i < argc; i++)
		av[i + 2] = argv[i];
	ctx->cmd = "mount";
	rc = run_cmd(ctx, find_cmd("mount"), argc + 2, av);
	free(av);
	return rc;
}

static int dispatch(struct fs_ctx *ctx, int argc, char **argv)
{
	const struct cmd *c;
	int rc, ind = argc;

	rc = fs_parse_opts(ctx, NULL, argc, argv, true, &ind);
	if (rc == FS_OPTS_HELP)
		print_usage(fs_stdout());
	if (rc)
		return rc > 0 ? 0 : rc;
	if (ind >= argc)
		return fs_usage_error(ctx, "missing COMMAND");
	c = find_cmd(argv[ind]);
	if (!c && strchr(argv[ind], '/') && ind + 1 < argc &&
	    argv[ind + 1][0] != '-')
		return fstab_mount(ctx, argc - ind, argv + ind);
	if (!c)
		return fs_usage_error(ctx, "unknown command '%s'", argv[ind]);
	ctx->cmd = c->name;
	return run_cmd(ctx, c, argc - ind, argv + ind);
}

/* The one line for a failure that nothing has explained yet. */
static void report(const struct fs_ctx *ctx, int rc)
{
	const char *cmd = ctx->cmd ? ctx->cmd : "error";

	if (ctx->subject)
		fprintf(fs_stderr(), "%s: %s: %s: %s\n", FS_PROG, cmd,
			ctx->subject, strerror(-rc));
	else
		fprintf(fs_stderr(), "%s: %s: %s\n", FS_PROG, cmd,
			strerror(-rc));
}

/* The caller of a command run in this process: its own credentials. */
static void self_caller(struct store_caller *out)
{
	gid_t groups[STORE_CALLER_GROUPS_MAX];
	int n = getgroups(STORE_CALLER_GROUPS_MAX, groups);

	acl_caller_make(getuid(), getgid(), getpid(), groups,
			n > 0 ? (size_t)n : 0, out);
}

int fs_main(int argc, char **argv, const struct fs_request *req)
{
	struct fs_ctx ctx = {.argc = argc, .argv = argv, .forwarded = -1};
	struct store *s = req ? req->store : NULL;
	unsigned long errors;
	int rc;

	if (req) {
		ctx.store = s;
		ctx.store_arg = store_dir(s);
		ctx.caller = *req->caller;
		ctx.conn = req->conn;
		ctx.daemon_checkpoint_dir = req->checkpoint_dir;
	} else {
		self_caller(&ctx.caller);
	}
	fs_log_install(false);
	errors = fs_log_errors();
	rc = dispatch(&ctx, argc, argv);
	if (rc < 0 && fs_log_errors() != errors)
		fs_log_mute();
	/* Closing may still fail (and log); ctx->subject may point into
	 * ctx->store_dir, so report before fs_ctx_release frees it. */
	if (!s)
		store_close(ctx.store);
	ctx.store = NULL;
	if (fflush(fs_stdout()) == EOF && rc == 0) {
		rc = -errno;
		ctx.subject = "writing standard output";
	}
	if (rc < 0 && fs_log_errors() == errors)
		report(&ctx, rc);
	fs_ctx_release(&ctx);
	if (ctx.forwarded >= 0)
		return ctx.forwarded;
	return rc == 0 ? 0 : ctx.exit_code ? ctx.exit_code : 1;
}
