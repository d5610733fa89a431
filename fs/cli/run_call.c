/*
 * run_call.c - a typed call ('c' frame, or `run exec` holding the store)
 * carried out with the run operations of runapi.c.
 *
 * The call was decoded and validated by ctl_wire_call.c (names, sizes,
 * types), so here it is only dispatched; authorization and the journal
 * are the run operations' own, as ctx->caller.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctl_wire_i.h"
#include "cli_i.h"
#include "runapi_i.h"

/* The run operation that call names. */
static int dispatch(struct fs_ctx *ctx, const struct ctl_call *c,
		    struct ctl_result *out)
{
	struct store_version v;
	struct store_run run;
	int rc;

	switch (c->op) {
	case CTL_CALL_RUN_STATUS:
		rc = fs_run_status(ctx, c->pipeline, c->run, &run);
		out->status = run.status;
		out->owner = run.owner;
		return rc;
	case CTL_CALL_RUN_OPEN:
		return fs_run_open(ctx, c->pipeline, c->run, c->nsteps,
				   c->steps);
	case CTL_CALL_RUN_STEP:
		return fs_run_step(ctx, c->pipeline, c->run, c->step);
	case CTL_CALL_RUN_INPUT:
		rc = fs_run_input(ctx, c->pipeline, c->run, c->step, c->spec,
				  &v);
		if (!rc) {
			snprintf(out->artifact, sizeof(out->artifact), "%s",
				 v.artifact);
			out->version = v.number;
		}
		return rc;
	case CTL_CALL_RUN_NOTE:
		return fs_run_note(ctx, c->pipeline, c->run, c->key, c->value);
	case CTL_CALL_RUN_BIND:
		return fs_run_bind(ctx, c->pipeline, c->run, c->step,
				   (pid_t)c->sid);
	case CTL_CALL_RUN_UNBIND:
		return fs_run_unbind(ctx, (pid_t)c->sid);
	case CTL_CALL_RUN_END:
		return fs_run_end_cached(ctx, c->pipeline, c->run, c->seal);
	case CTL_CALL_RUN_ENV:
		return fs_run_env(ctx, c->pipeline, c->run, c->step, c->value,
				  out->text, sizeof(out->text));
	case CTL_CALL_RUN_CACHE:
		return fs_run_cache(ctx, c->pipeline, c->run, c->step, c->seal,
				    &out->hit, out->text, sizeof(out->text));
	case CTL_CALL_RUN_SECRET:
		return fs_run_secret(ctx, c->pipeline, c->run, c->step, c->key,
				     &out->secret, &out->secret_len,
				     &out->version);
	default:
		return -EINVAL;
	}
}

int fs_run_call(struct fs_ctx *ctx, const struct ctl_call *call,
		struct ctl_result *out)
{
	unsigned long errors = fs_log_errors();
	char subject[3 * (STORE_NAME_MAX + 1)] = "";
	int rc;

	memset(out, 0, sizeof(*out));
	rc = dispatch(ctx, call, out);
	if (rc > 0 || rc < -4095)
		rc = -EIO; /* not an errno: never on the wire */
	out->rc = rc;
	if (!rc || (rc == -ENOENT && call->op == CTL_CALL_RUN_STATUS) ||
	    fs_log_errors() != errors)
		return rc;
	if (call->op == CTL_CALL_RUN_INPUT || call->op == CTL_CALL_RUN_BIND ||
	    call->op == CTL_CALL_RUN_ENV || call->op == CTL_CALL_RUN_CACHE)
		snprintf(subject, sizeof(subject), "%s/%s/%s: ", call->pipeline,
			 call->run, call->step);
	else if (call->pipeline)
		snprintf(subject, sizeof(subject), "%s/%s: ", call->pipeline,
			 call->run);
	store_log(STORE_LOG_ERR, "run: %s%s", subject, strerror(-rc));
	return rc;
}
