/*
 * options.c - the options of the command line, global and per command,
 * parsed into a struct fs_ctx; and the lock every getopt loop holds.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>

#include "cli_i.h"

enum long_only {
	OPT_STORE = 256,
	OPT_CONFIG,
	OPT_JSON,
	OPT_RUN,
	OPT_NAME,
	OPT_VERSION,
	OPT_UPSTREAM,
	OPT_DOWNSTREAM,
	OPT_DEPTH,
	OPT_DOT,
	OPT_OPENLINEAGE,
	OPT_SCOPE,
	OPT_NO_JOURNAL,
	OPT_STEP,
	OPT_REQUIREMENTS,
	OPT_TAR,
	OPT_RADOS,
	OPT_CEPH_CONF,
	OPT_CEPH_ID,
};

static const struct option long_opts[] = {
    {"store", required_argument, NULL, OPT_STORE},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"quiet", no_argument, NULL, 'q'},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {"json", no_argument, NULL, OPT_JSON},
    {"run", required_argument, NULL, OPT_RUN},
    {"name", required_argument, NULL, OPT_NAME},
    {"force", no_argument, NULL, 'f'},
    {"recursive", no_argument, NULL, 'R'},
    {"dry-run", no_argument, NULL, 'n'},
    {"upstream", no_argument, NULL, OPT_UPSTREAM},
    {"downstream", no_argument, NULL, OPT_DOWNSTREAM},
    {"depth", required_argument, NULL, OPT_DEPTH},
    {"dot", no_argument, NULL, OPT_DOT},
    {"openlineage", no_argument, NULL, OPT_OPENLINEAGE},
    {"scope", required_argument, NULL, OPT_SCOPE},
    {"no-journal", no_argument, NULL, OPT_NO_JOURNAL},
    {"step", required_argument, NULL, OPT_STEP},
    {"requirements", no_argument, NULL, OPT_REQUIREMENTS},
    {"tar", no_argument, NULL, OPT_TAR},
    {"rados", required_argument, NULL, OPT_RADOS},
    {"ceph-conf", required_argument, NULL, OPT_CEPH_CONF},
    {"ceph-id", required_argument, NULL, OPT_CEPH_ID},
    {NULL, 0, NULL, 0},
};

/* Applies one option; returns 0, FS_OPTS_HELP or FS_OPTS_DONE (--version
 * shown),
 * or -EINVAL for a usage error. */
static int apply_opt(struct fs_ctx *ctx, const unsigned *opts, int opt,
		     const char *name)
{
	unsigned need = 0;

	switch (opt) {
	case OPT_STORE:
		ctx->store_arg = optarg;
		return 0;
	case OPT_CONFIG:
		ctx->config_arg = optarg;
		return 0;
	case 'q':
		ctx->quiet = true;
		return 0;
	case 'v':
		ctx->verbose = true;
		return 0;
	case 'h':
		return FS_OPTS_HELP;
	case OPT_VERSION:
		fprintf(fs_stdout(), "%s %s (store format %d)\n", FS_PROG,
			ARTIFACTFS_VERSION, STORE_FORMAT_VERSION);
		return FS_OPTS_DONE;
	case OPT_JSON:
		need = FS_OPT_JSON, ctx->json = true;
		break;
	case OPT_RUN:
		need = FS_OPT_RUN, ctx->run = optarg;
		break;
	case OPT_NAME:
		need = FS_OPT_NAME, ctx->name = optarg;
		break;
	case 'f':
		need = FS_OPT_FORCE, ctx->force = true;
		break;
	case 'R':
		need = FS_OPT_RECURSIVE, ctx->recursive = true;
		break;
	case 'n':
		need = FS_OPT_DRY_RUN, ctx->dry_run = true;
		break;
	case OPT_UPSTREAM:
		need = FS_OPT_LINEAGE, ctx->upstream = true;
		break;
	case OPT_DOWNSTREAM:
		need = FS_OPT_LINEAGE, ctx->downstream = true;
		break;
	case OPT_DEPTH:
		need = FS_OPT_LINEAGE, ctx->depth = optarg;
		break;
	case OPT_DOT:
		need = FS_OPT_LINEAGE, ctx->dot = true;
		break;
	case OPT_OPENLINEAGE:
		need = FS_OPT_LINEAGE, ctx->openlineage = true;
		break;
	case OPT_SCOPE:
		need = FS_OPT_SCOPE, ctx->scope = optarg;
		break;
	case OPT_NO_JOURNAL:
		need = FS_OPT_NO_JOURNAL, ctx->no_journal = true;
		break;
	case OPT_STEP:
		need = FS_OPT_STEP, ctx->step = optarg;
		break;
	case OPT_REQUIREMENTS:
		need = FS_OPT_REQUIREMENTS, ctx->requirements = true;
		break;
	case OPT_TAR:
		need = FS_OPT_TAR, ctx->tar = true;
		break;
	case OPT_RADOS:
		need = FS_OPT_RADOS, ctx->rados_pool = optarg;
		break;
	case OPT_CEPH_CONF:
		need = FS_OPT_RADOS, ctx->ceph_conf = optarg;
		break;
	case OPT_CEPH_ID:
		need = FS_OPT_RADOS, ctx->ceph_id = optarg;
		break;
	default: /* getopt has printed why */
		ctx->exit_code = FS_EXIT_USAGE;
		return -EINVAL;
	}
	if (!opts || !(*opts & need))
		return fs_usage_error(
		    ctx, "option '%s' does not apply %s", name,
		    opts ? "to this command" : "before the command");
	return 0;
}

/* getopt keeps its state in globals (optind, optarg); the daemon runs
 * requests side by side, so every option parse holds this lock.  It is
 * never held across anything that can wait on a client: what a parse
 * prints (a usage line, --help) fits the empty socket buffer of a
 * request that has just begun. */
static pthread_mutex_t getopt_lock = PTHREAD_MUTEX_INITIALIZER;

void fs_getopt_lock(void)
{
	pthread_mutex_lock(&getopt_lock);
}

void fs_getopt_unlock(void)
{
	pthread_mutex_unlock(&getopt_lock);
}

/* Parses options in argv.  stop_at_operand: global options only (up to
 * the command name).  Returns 0, FS_OPTS_HELP, FS_OPTS_DONE or -EINVAL. */
static int parse_opts_locked(struct fs_ctx *ctx, const unsigned *opts, int argc,
			     char **argv, bool stop_at_operand)
{
	const char *shorts = stop_at_operand ? "+:qvh" : ":qvhfRn";
	char name[64];
	int opt, idx, rc;

	optind = 0; /* full re-initialisation (GNU) */
	opterr = 0;
	for (;;) {
		idx = -1;
		opt = getopt_long(argc, argv, shorts, long_opts, &idx);
		if (opt == -1)
			return 0;
		if (idx >= 0)
			snprintf(name, sizeof(name), "--%s",
				 long_opts[idx].name);
		else if (opt != '?' && opt != ':')
			snprintf(name, sizeof(name), "-%c", opt);
		else if (optopt > 0 && optopt < 256)
			snprintf(name, sizeof(name), "-%c", optopt);
		else
			snprintf(name, sizeof(name), "%s", argv[optind - 1]);
		if (opt == ':')
			return fs_usage_error(ctx,
					      "option '%s' needs an "
					      "argument",
					      name);
		if (opt == '?')
			return fs_usage_error(ctx, "unknown option '%s'", name);
		rc = apply_opt(ctx, opts, opt, name);
		if (rc)
			return rc;
	}
}

int fs_parse_opts(struct fs_ctx *ctx, const unsigned *opts, int argc,
		  char **argv, bool stop_at_operand, int *ind)
{
	int rc;

	fs_getopt_lock();
	rc = parse_opts_locked(ctx, opts, argc, argv, stop_at_operand);
	*ind = optind;
	fs_getopt_unlock();
	return rc;
}
