/*
 * run_check.c - who may change a run (see fs_run_check in runapi_i.h).
 *
 * Its own file because both the run operations (runapi.c) and the step
 * cache and snapshots (run_env.c) ask it, and the run operations call
 * the cache when a run is sealed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "acl.h"
#include "cli_i.h"
#include "runapi_i.h"

int fs_run_check(struct fs_ctx *ctx, const char *p, const char *r,
		 const char *op)
{
	bool end = !strcmp(op, "seal") || !strcmp(op, "fail");
	char where[2 * STORE_NAME_MAX + 20];
	struct store_run run;
	int rc =
	    fs_authorize_at(ctx, ACL_WRITE, op, "/pipelines/%s/runs/%s", p, r);

	if (!rc)
		rc = store_run_get(ctx->store, p, r, &run);
	if (rc == -ENOENT)
		store_log(STORE_LOG_ERR, "no run %s/%s", p, r);
	if (rc)
		return rc;
	/* The same rule as the mount's (acl_decide_run). */
	snprintf(where, sizeof(where), "/pipelines/%s/runs/%s", p, r);
	rc = acl_decide_run(ctx->store, &ctx->caller, run.owner, end, where);
	if (rc == -EACCES) {
		acl_journal_denial(ctx->store, &ctx->caller, op, where, rc);
		store_log(STORE_LOG_ERR,
			  "run %s/%s belongs to uid %u: only its owner, %s "
			  "may %s it",
			  p, r, (unsigned)run.owner,
			  end ? "a promoter or an admin" : "or an admin",
			  end ? op : "change");
	}
	return rc;
}
