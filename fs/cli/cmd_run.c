/*
 * cmd_run.c - `artifactfs run`: open, seal, fail and list runs, the
 * command-line twin of mkdir and the control file in the mount.
 *
 * Each subcommand parses its operands, calls the run operation of
 * runapi.c (authorization and the change, as ctx->caller: through the
 * mount daemon, the client from the socket's credentials) and prints.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acl.h"
#include "cli_i.h"
#include "runapi_i.h"

static const char *const status_names[] = {"", "open", "sealed", "failed"};

int fs_split_run(struct fs_ctx *ctx, const char *spec, char *p, char *r)
{
	const char *slash = strchr(spec, '/');
	size_t plen = slash ? (size_t)(slash - spec) : 0;

	if (!slash || strchr(slash + 1, '/'))
		return fs_usage_error(ctx, "'%s' is not PIPELINE/RUN", spec);
	if (plen > STORE_NAME_MAX) {
		store_log(STORE_LOG_ERR,
			  "invalid pipeline name '%.64s...': it is longer "
			  "than 255 bytes",
			  spec);
		return -ENAMETOOLONG;
	}
	memcpy(p, spec, plen);
	p[plen] = '\0';
	if (store_name_require(STORE_NAME_FILE, "pipeline", p) ||
	    store_name_require(STORE_NAME_FILE, "run", slash + 1))
		return -EINVAL;
	strcpy(r, slash + 1);
	ctx->subject = spec;
	return 0;
}

static int run_open(struct fs_ctx *ctx, const char *p, const char *r,
		    int nsteps, char **steps)
{
	int rc =
	    fs_run_open(ctx, p, r, (size_t)nsteps, (const char *const *)steps);

	if (!rc)
		fprintf(fs_stdout(), "%s/%s open\n", p, r);
	return rc;
}

static int run_end(struct fs_ctx *ctx, const char *p, const char *r, bool seal)
{
	int rc = fs_run_end_cached(ctx, p, r, seal);

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
	char where[STORE_NAME_MAX + 12];

	/* Only the pipelines the caller may list. */
	snprintf(where, sizeof(where), "/pipelines/%s", name);
	if (fs_allowed(l->ctx, ACL_LIST, where))
		return 0;
	return store_run_each(l->ctx->store, name, list_one, l);
}

static int run_ls(struct fs_ctx *ctx, const char *pipeline)
{
	struct run_list l = {ctx, ctx->json ? json_array() : NULL};
	int rc;

	rc = pipeline ? fs_authorize_at(ctx, ACL_LIST, "run.ls",
					"/pipelines/%s", pipeline)
		      : 0;
	/* No table header over a refusal. */
	if (!rc && !l.arr)
		fprintf(fs_stdout(), "%-20s %-20s %-7s %-10s  %-20s  %s\n",
			"PIPELINE", "RUN", "STATUS", "OWNER", "CREATED",
			"ENDED");
	if (!rc)
		rc = pipeline
			 ? store_run_each(ctx->store, pipeline, list_one, &l)
			 : store_pipeline_each(ctx->store, list_pipeline, &l);
	if (l.arr && !rc)
		return fs_json_print(l.arr); /* takes the reference */
	json_decref(l.arr);
	return rc;
}

/* Splits "P/R/S" into three names. */
static int split_step(struct fs_ctx *ctx, const char *spec, char *p, char *r,
		      char *st)
{
	char pr[2 * (STORE_NAME_MAX + 1)];
	const char *slash = strrchr(spec, '/');
	size_t len = slash ? (size_t)(slash - spec) : 0;

	if (!slash || len >= sizeof(pr) ||
	    store_name_check(slash + 1, strlen(slash + 1)))
		return fs_usage_error(ctx, "'%s' is not PIPELINE/RUN/STEP",
				      spec);
	memcpy(pr, spec, len);
	pr[len] = '\0';
	strcpy(st, slash + 1);
	return fs_split_run(ctx, pr, p, r) ? -EINVAL : (ctx->subject = spec, 0);
}

/* run bind P/R/S SID: the daemon attributes SID's reads to the step. */
static int run_bind(struct fs_ctx *ctx, const char *spec, const char *sid_s)
{
	char p[STORE_NAME_MAX + 1], r[STORE_NAME_MAX + 1],
	    st[STORE_NAME_MAX + 1];
	char *end;
	long sid = strtol(sid_s, &end, 10);
	int rc = split_step(ctx, spec, p, r, st);

	if (rc)
		return rc;
	if (*end || sid <= 0 || sid > INT32_MAX)
		return fs_usage_error(ctx, "'%s' is not a session id", sid_s);
	if (!fs_in_request()) {
		store_log(STORE_LOG_ERR, "run bind needs the store mounted "
					 "(artifactfs mount MNT)");
		return -ENOTCONN;
	}
	return fs_run_bind(ctx, p, r, st, (pid_t)sid);
}

static int run_input(struct fs_ctx *ctx, const char *spec, const char *ref)
{
	char p[STORE_NAME_MAX + 1], r[STORE_NAME_MAX + 1],
	    st[STORE_NAME_MAX + 1];
	struct store_version v;
	int rc = split_step(ctx, spec, p, r, st);

	if (!rc)
		rc = fs_run_input(ctx, p, r, st, ref, &v);
	if (!rc)
		fprintf(fs_stdout(), "%s: input %s@v%u\n", spec, v.artifact,
			v.number);
	return rc;
}

/* run step|note|bind|unbind|input: the parts `run exec` is made of. */
static int run_part(struct fs_ctx *ctx, int argc, char **argv)
{
	char p[STORE_NAME_MAX + 1], r[STORE_NAME_MAX + 1];
	const char *op = argv[0];
	int rc;

	if (!strcmp(op, "unbind")) {
		if (argc != 2)
			return fs_usage_error(ctx, "run unbind SID");
		return fs_in_request() ? fs_run_unbind(ctx, atoi(argv[1]))
				       : -ENOTCONN;
	}
	if (argc != (strcmp(op, "note") ? 3 : 4))
		return fs_usage_error(ctx, "wrong number of arguments");
	if (!strcmp(op, "bind"))
		return run_bind(ctx, argv[1], argv[2]);
	if (!strcmp(op, "input"))
		return run_input(ctx, argv[1], argv[2]);
	rc = fs_split_run(ctx, argv[1], p, r);
	if (rc)
		return rc;
	if (!strcmp(op, "step"))
		return fs_run_step(ctx, p, r, argv[2]);
	return fs_run_note(ctx, p, r, argv[2], argv[3]);
}

int fs_cmd_run(struct fs_ctx *ctx, int argc, char **argv)
{
	char p[STORE_NAME_MAX + 1], r[STORE_NAME_MAX + 1];
	const char *op = argv[0];
	int rc;

	if (!strcmp(op, "ls"))
		return argc > 2 ? fs_usage_error(ctx, "too many arguments")
				: run_ls(ctx, argc == 2 ? argv[1] : NULL);
	if (!strcmp(op, "step") || !strcmp(op, "note") || !strcmp(op, "bind") ||
	    !strcmp(op, "unbind") || !strcmp(op, "input"))
		return ctx->json ? fs_usage_error(ctx, "--json applies to "
						       "'run ls'")
				 : run_part(ctx, argc, argv);
	if (ctx->json)
		return fs_usage_error(ctx, "--json applies to 'run ls'");
	if (argc < 2)
		return fs_usage_error(ctx, "missing PIPELINE/RUN");
	rc = fs_split_run(ctx, argv[1], p, r);
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
