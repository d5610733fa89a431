/*
 * runapi.c - the run operations: authorization, then the store's change
 * as the caller (see runapi_i.h).
 *
 * A run belongs to whoever opened it: only that user, a promoter (to end
 * it) or an admin may change it.  The caller is always ctx->caller: this
 * process's own on the command line, the socket peer's in the daemon.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "cli_i.h"
#include "runapi_i.h"

int fs_run_status(struct fs_ctx *ctx, const char *p, const char *r,
		  struct store_run *out)
{
	int rc = fs_authorize_at(ctx, ACL_LIST, "run.ls", "/pipelines/%s", p);

	return rc ? rc : store_run_get(ctx->store, p, r, out);
}

int fs_run_open(struct fs_ctx *ctx, const char *p, const char *r, size_t nsteps,
		const char *const *steps)
{
	int rc = fs_name_check("pipeline", p);

	if (!rc)
		rc = fs_name_check("run", r);
	for (size_t i = 0; !rc && i < nsteps; i++) /* before anything exists */
		rc = fs_name_check("step", steps[i]);
	if (!rc)
		rc = fs_authorize_at(ctx, ACL_WRITE, "run.open",
				     "/pipelines/%s/runs/%s", p, r);
	if (!rc)
		rc = store_run_create(ctx->store, &ctx->caller, p, r,
				      ctx->caller.uid);
	for (size_t i = 0; !rc && i < nsteps; i++)
		rc =
		    store_step_create(ctx->store, &ctx->caller, p, r, steps[i]);
	return rc;
}

int fs_run_step(struct fs_ctx *ctx, const char *p, const char *r,
		const char *step)
{
	int rc = fs_run_check(ctx, p, r, "run.step");

	return rc ? rc
		  : store_step_create(ctx->store, &ctx->caller, p, r, step);
}

int fs_run_note(struct fs_ctx *ctx, const char *p, const char *r,
		const char *key, const char *value)
{
	int rc = fs_run_check(ctx, p, r, "run.note");
	char *clean = NULL;
	size_t len;

	/* A param may carry a secret's value: only the marker is kept. */
	if (!rc)
		rc = acl_redact(ctx->store, value, strlen(value), &clean, &len,
				NULL);
	if (!rc)
		rc = store_run_note_set(ctx->store, &ctx->caller, p, r, key,
					clean);
	free(clean);
	return rc;
}

int fs_run_input(struct fs_ctx *ctx, const char *p, const char *r,
		 const char *s, const char *spec, struct store_version *out)
{
	char artifact[STORE_NAME_MAX + 1], vref[STORE_NAME_MAX + 1];
	const char *path;
	int rc = fs_run_check(ctx, p, r, "run.input");

	if (!rc)
		rc = store_spec_parse(spec, artifact, vref, &path);
	if (!rc)
		rc = fs_authorize_at(ctx, ACL_TRAVERSE, "run.input",
				     "/artifacts/%s", artifact);
	if (!rc)
		rc = store_ref_resolve(ctx->store, artifact, vref, out);
	if (!rc)
		rc =
		    fs_authorize_at(ctx, ACL_READ, "run.input",
				    "/artifacts/%s/v%u", artifact, out->number);
	if (!rc)
		rc = store_step_input_add(ctx->store, &ctx->caller, p, r, s,
					  artifact, out->number);
	if (rc == -EROFS)
		store_log(STORE_LOG_ERR, "run %s/%s is not open", p, r);
	return rc;
}

/* The owner of a session leader, from /proc (a pid that is gone: -1). */
static long session_owner(pid_t sid)
{
	char path[64], line[256];
	long uid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)sid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "Uid:", 4))
			uid = strtol(line + 4, NULL, 10);
	}
	if (f)
		fclose(f);
	return uid;
}

int fs_run_bind(struct fs_ctx *ctx, const char *p, const char *r, const char *s,
		pid_t sid)
{
	uid_t me = ctx->caller.uid;
	int rc = fs_run_check(ctx, p, r, "run.bind");

	if (!rc)
		rc = store_step_get(ctx->store, p, r, s);
	if (rc == -ENOENT)
		store_log(STORE_LOG_ERR, "no step %s in run %s/%s", s, p, r);
	if (rc)
		return rc;
	if (me != 0 && session_owner(sid) != (long)me) {
		store_log(STORE_LOG_ERR, "session %ld is not yours", (long)sid);
		return -EPERM;
	}
	return fs_session_bind(sid, p, r, s);
}

int fs_run_unbind(struct fs_ctx *ctx, pid_t sid)
{
	int rc;

	(void)ctx; /* a binding names no run to check: sid's own */
	rc = fs_session_unbind(sid);
	return rc == -ENOENT ? 0 : rc;
}

int fs_run_end(struct fs_ctx *ctx, const char *p, const char *r, bool seal)
{
	int rc = fs_run_check(ctx, p, r, seal ? "seal" : "fail");

	if (rc)
		return rc;
	/* A writer through the mount that has not closed or fsync'd keeps
	 * the run open: half a file is never published. */
	if (seal)
		rc = fs_mount_run_busy(p, r);
	if (!rc)
		rc = seal ? store_run_seal(ctx->store, &ctx->caller, p, r)
			  : store_run_end(ctx->store, &ctx->caller, p, r,
					  STORE_RUN_FAILED, NULL, 0);
	if (!rc)
		fs_session_unbind_run(p, r);
	return rc;
}

/* Notes secret.NAME = "vN" on run p/r. */
static int note_secret(struct fs_ctx *ctx, const char *p, const char *r,
		       const char *name, uint32_t version)
{
	char key[STORE_NAME_MAX + 16], v[16];

	if (snprintf(key, sizeof(key), "secret.%s", name) > STORE_NAME_MAX) {
		store_log(STORE_LOG_ERR,
			  "secret %s: the name is too long to be noted on a "
			  "run (at most %d bytes)",
			  name, STORE_NAME_MAX - 7);
		return -ENAMETOOLONG;
	}
	snprintf(v, sizeof(v), "v%u", version);
	return store_run_note_set(ctx->store, &ctx->caller, p, r, key, v);
}

/* Journals that step s of p/r was handed version v of secret name:
 * "secret.use", path "/pipelines/P/runs/R/steps/S (NAME vN)". */
static int journal_use(struct fs_ctx *ctx, const char *p, const char *r,
		       const char *s, const char *name, uint32_t v)
{
	char path[4 * (STORE_NAME_MAX + 1) + 64];

	snprintf(path, sizeof(path), "/pipelines/%s/runs/%s/steps/%s (%s v%u)",
		 p, r, s, name, v);
	return store_audit_record(ctx->store, &ctx->caller, "secret.use", path,
				  NULL, 0, 0);
}

static void wipe(uint8_t **val, size_t len)
{
	explicit_bzero(*val, len);
	free(*val);
	*val = NULL;
}

int fs_run_secret(struct fs_ctx *ctx, const char *p, const char *r,
		  const char *s, const char *spec, uint8_t **val, size_t *len,
		  uint32_t *version)
{
	char name[STORE_NAME_MAX + 1], path[STORE_NAME_MAX + 16];
	size_t n = strlen(spec);
	uint32_t want = fs_secret_version(spec, &n);
	int rc = fs_run_check(ctx, p, r, "run.secret"), jrc;

	snprintf(name, sizeof(name), "%.*s", (int)n, spec);
	snprintf(path, sizeof(path), "/secrets/%s", name);
	if (!rc)
		rc = fs_authorize(ctx, ACL_SECRET, path, "secret.read");
	if (rc)
		return rc;
	*val = NULL;
	rc = acl_secret_read(ctx->store, name, want, val, len, version);
	if (rc == -ENOENT)
		store_log(STORE_LOG_ERR, "no secret '%s'", spec);
	if (!rc && memchr(*val, '\0', *len)) {
		store_log(STORE_LOG_ERR,
			  "secret %s holds a NUL byte: it cannot be an "
			  "environment variable",
			  spec);
		wipe(val, *len);
		rc = -EINVAL;
	}
	/* As `secret get`: every allowed read is journaled, and without its
	 * record the value is not handed out. */
	jrc = store_audit_record(ctx->store, &ctx->caller, "secret.read", path,
				 NULL, rc ? 0 : *len, rc);
	if (!rc && !jrc)
		jrc = note_secret(ctx, p, r, name, *version);
	if (!rc && !jrc)
		jrc = journal_use(ctx, p, r, s, name, *version);
	if (!rc && jrc) {
		wipe(val, *len);
		rc = jrc;
	}
	return rc;
}
