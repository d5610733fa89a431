/*
 * cmd_mount.c - `artifactfs mount`: its options; the mount itself is
 * fs/mount's (fs_mount_run), serving clients through the handler given.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_i.h"
#include "mount.h"

static int add_fuse_opt(struct fs_mount_opts *o, char *opt)
{
	char **v = realloc(o->fuse_opts, (o->nfuse_opts + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	v[o->nfuse_opts++] = opt;
	o->fuse_opts = v;
	return 0;
}

static char ro_opt[] = "ro";

static int parse(struct fs_ctx *ctx, int argc, char **argv,
		 struct fs_mount_opts *o)
{
	static const struct option longopts[] = {
	    {"store", required_argument, NULL, 's'},
	    {"config", required_argument, NULL, 'c'},
	    {"ro", no_argument, NULL, 'r'},
	    {"readers", required_argument, NULL, 'R'},
	    {"foreground", no_argument, NULL, 'f'},
	    {"debug", no_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},
	    {0, 0, 0, 0}};
	int c;

	optind = 0; /* 0: a full reset of GNU getopt */
	while ((c = getopt_long(argc, argv, "fdo:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			ctx->store_arg = optarg;
			break;
		case 'c':
			ctx->config_arg = optarg;
			break;
		case 'r':
			o->ro_store = o->ro = true;
			break;
		case 'R':
			o->readers = optarg;
			break;
		case 'f':
			o->foreground = true;
			break;
		case 'd':
			o->debug = o->foreground = true;
			break;
		case 'o':
			if (add_fuse_opt(o, optarg))
				return -ENOMEM;
			if (!strcmp(optarg, "ro") || strstr(optarg, ",ro") ||
			    !strncmp(optarg, "ro,", 3))
				o->ro = true;
			if (strstr(optarg, "allow_other") ||
			    strstr(optarg, "allow_root"))
				o->shared = true;
			break;
		case 'h':
			printf(
			    "usage: %s mount [--store DIR] MOUNTPOINT [-f] "
			    "[-o OPTIONS]\n"
			    "       %s mount --ro --store EXPORT [--readers "
			    "GROUP] MOUNTPOINT [-f] [-o OPTIONS]\n\n"
			    "Mounts the store at MOUNTPOINT.  Detaches and "
			    "logs to syslog unless -f.\n"
			    "  --ro              an export, read-only: "
			    "nothing is written into it\n"
			    "  --readers GROUP   only GROUP reads the export "
			    "(default: everyone\n"
			    "                    who reaches the mount)\n"
			    "  -f, --foreground  stay in the foreground, "
			    "log to stderr\n"
			    "  -d, --debug       -f and FUSE debug output\n"
			    "  -o OPTIONS        FUSE mount options "
			    "(allow_other, ro, ...)\n"
			    "Unmount with fusermount3 -u MOUNTPOINT.\n",
			    FS_PROG, FS_PROG);
			return 1;
		default:
			return fs_usage_error(ctx, "unknown option");
		}
	}
	if (optind != argc - 1)
		return fs_usage_error(ctx, "give exactly one MOUNTPOINT");
	if (o->readers && !o->ro_store)
		return fs_usage_error(ctx, "--readers goes with --ro");
	o->point = argv[optind];
	/* The kernel refuses every change itself (EROFS). */
	return o->ro_store ? add_fuse_opt(o, ro_opt) : 0;
}

int fs_cmd_mount(struct fs_ctx *ctx, int argc, char **argv, fs_mount_handler fn,
		 void *arg)
{
	struct fs_mount_opts o = {0};
	char *unpacked = NULL;
	int rc = parse(ctx, argc, argv, &o);

	if (!rc)
		rc = fs_config_load(ctx);
	/* An export as one file: unpacked into a private directory that
	 * the daemon removes at unmount. */
	if (!rc && o.ro_store && fs_tar_is(ctx->store_dir)) {
		rc = fs_tar_unpack_tmp(ctx->store_dir, &unpacked);
		if (!rc) {
			free(ctx->store_dir);
			ctx->store_dir = strdup(unpacked);
			rc = ctx->store_dir ? 0 : -ENOMEM;
		}
	}
	if (!rc)
		rc = fs_mount_run(ctx, &o, fn, arg);
	fs_tree_remove(unpacked);
	free(unpacked);
	free(o.fuse_opts);
	return rc > 0 ? 0 : rc;
}
