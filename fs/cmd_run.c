/*
 * cmd_run.c - `artifactfs run`: open, seal, fail and list runs, the
 * command-line twin of mkdir and the control file in the mount.
 *
 * A run belongs to whoever opened it: only that user (or root) may seal
 * or fail it.  Through the mount daemon the caller is the client (the
 * daemon's request thread runs with the client's fsuid).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <unistd.h>

#include "acl.h"
#include "fs_i.h"

static const char *const status_names[] = {"", "open", "sealed", "failed"};

/* Who runs this command: the client, for the daemon (its fsuid). */
static uid_t caller_uid(void)
{
	return (uid_t)setfsuid((uid_t)-1);
}

/* Splits "PIPELINE/RUN" into two names (buffers of STORE_NAME_MAX+1). */
static int split_run(struct fs_ctx *ctx, const char *spec, char *p, char *r)
{
	const char *slash = strchr(spec, '/');
	size_t plen = slash ? (size_t)(slash - spec) : 0;

	if (!slash || store_name_check(spec, plen) ||
	    store_name_check(slash + 1, strlen(slash + 1)))
		return fs_usage_error(ctx, "'%s' is not PIPELINE/RUN", spec);
	memcpy(p, spec, plen);
	p[plen] = '\0';
	strcpy(r, slash + 1);
	ctx->subject = spec;
	return 0;
}

static int run_open(struct fs_ctx *ctx, const char *p, const char *r,
		    int nsteps, char **steps)
{
	int rc = store_run_create(ctx->store, p, r, caller_uid());

	for (int i = 0; !rc && i < nsteps; i++)
		rc = store_step_create(ctx->store, p, r, steps[i]);
	if (!rc)
		fprintf(fs_stdout(), "%s/%s open\n", p, r);
	return rc;
}

static int run_end(struct fs_ctx *ctx, const char *p, const char *r, bool seal)
{
	struct store_run run;
	uid_t me = caller_uid();
	int rc = store_run_get(ctx->store, p, r, &run);

	if (rc == -ENOENT)
		store_log(STORE_LOG_ERR, "no run %s/%s", p, r);
	if (rc)
		return rc;
	if (me != 0 && me != run.owner) {
		store_log(STORE_LOG_ERR,
			  "run %s/%s belongs to uid %u: only its owner or "
			  "root may end it",
			  p, r, run.owner);
		return -EACCES;
	}
	rc = seal ? store_run_seal(ctx->store, p, r)
		  : store_run_end(ctx->store, p, r, STORE_RUN_FAILED, NULL, 0);
	if (!rc)
		fprintf(fs_stdout(), "%s/%s %s\n", p, r,
			seal ? "sealed" : "failed");
	return rc;
}

struct run_list {
	struct fs_ctx *ctx;
	json_t *arr;
};

static int list_one(void *arg, const struct store_run *r)
{
	struct run_list *l = arg;
	char created[FS_TIME_STR_LEN], ended[FS_TIME_STR_LEN] = "-";
	struct acl_principal who;
	int rc = acl_principal_get(r->owner, (gid_t)-1, &who);

	if (rc)
		return rc;
	fs_time_iso(r->created, created);
	if (r->ended)
		fs_time_iso(r->ended, ended);
	if (l->arr)
		return json_array_append_new(
			   l->arr,
			   json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:s}",
				     "pipeline", r->pipeline, "run", r->run,
				     "status", status_names[r->status], "owner",
				     who.user, "owner_uid",
				     (json_int_t)r->owner, "created", created,
				     "ended", ended))
			   ? -ENOMEM
			   : 0;
	fprintf(fs_stdout(), "%-20s %-20s %-7s %-10s  %s  %s\n", r->pipeline,
		r->run, status_names[r->status], who.user, created, ended);
	return 0;
}

static int list_pipeline(void *arg, const char *name)
{
	struct run_list *l = arg;

	return store_run_each(l->ctx->store, name, list_one, l);
}

static int run_ls(struct fs_ctx *ctx, const char *pipeline)
{
	struct run_list l = {ctx, ctx->json ? json_array() : NULL};
	int rc;

	if (!l.arr)
		fprintf(fs_stdout(), "%-20s %-20s %-7s %-10s  %-20s  %s\n",
			"PIPELINE", "RUN", "STATUS", "OWNER", "CREATED",
			"ENDED");
	rc = pipeline ? store_run_each(ctx->store, pipeline, list_one, &l)
		      : store_pipeline_each(ctx->store, list_pipeline, &l);
	if (l.arr && !rc)
		return fs_json_print(l.arr); /* takes the reference */
	json_decref(l.arr);
	return rc;
}

int fs_cmd_run(struct fs_ctx *ctx, int argc, char **argv)
{
	char p[STORE_NAME_MAX + 1], r[STORE_NAME_MAX + 1];
	const char *op = argv[0];
	int rc;

	if (!strcmp(op, "ls"))
		return argc > 2 ? fs_usage_error(ctx, "too many arguments")
				: run_ls(ctx, argc == 2 ? argv[1] : NULL);
	if (ctx->json)
		return fs_usage_error(ctx, "--json applies to 'run ls'");
	if (argc < 2)
		return fs_usage_error(ctx, "missing PIPELINE/RUN");
	rc = split_run(ctx, argv[1], p, r);
	if (rc)
		return rc;
	if (!strcmp(op, "open"))
		return run_open(ctx, p, r, argc - 2, argv + 2);
	if (argc != 2)
		return fs_usage_error(ctx, "too many arguments");
	if (!strcmp(op, "seal") || !strcmp(op, "fail"))
		return run_end(ctx, p, r, op[0] == 's');
	return fs_usage_error(ctx, "unknown run command '%s'", op);
}
