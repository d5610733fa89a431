/*
 * fs/cli/runapi_i.h - the run operations (runapi.c), never included outside
 * fs/.
 *
 * Purpose: the one implementation of each thing that can be done to a
 * run: look it up, open it, add a step, declare an input, note a key,
 * bind a process session to a step, end it.  `artifactfs run ...`
 * (cmd_run.c) parses its operands, calls these and prints; the daemon's
 * typed calls (run_call.c) decode a 'c' frame and call these; `run exec`
 * reaches them through either.
 *
 * Invariants: each function acts on ctx->store as ctx->caller: it asks
 * authz.c first (a refusal is one line and one journal record) and every
 * change is journaled with ctx->caller as its actor (the store does it in
 * the same commit).  Nothing is printed on stdout; a failure is logged
 * with store_log, one line, except where a function says otherwise.
 *
 * Errors: 0 or -errno: -EACCES (a role refuses), -ENOENT (no such run,
 * step or version), -EROFS (the run is not open), -EPERM (someone else's
 * session), -EINVAL (a malformed spec), -EIO.
 *
 * Threads: any thread; the store serializes its commits.  Strings are
 * borrowed for the call.
 */
#ifndef ARTIFACTFS_FS_RUNAPI_I_H
#define ARTIFACTFS_FS_RUNAPI_I_H

#include <stdbool.h>
#include <sys/types.h>

#include "cli_i.h"

/**
 * May the caller change run p/r with op ("seal" and "fail" end it; any
 * other op is a change such as "run.step")?  A writer on the run changes
 * its own runs, a promoter also ends others', an admin does anything.
 * 0, or -EACCES (reported and journaled), -ENOENT (no such run:
 * reported), -EIO.
 */
int fs_run_check(struct fs_ctx *ctx, const char *p, const char *r,
		 const char *op);

/**
 * Run p/r into *out, for a caller who may list pipeline p.  -ENOENT when
 * there is no such run (not reported: the caller decides), -EACCES
 * (reported, journaled as "run.ls"), -EIO.
 */
int fs_run_status(struct fs_ctx *ctx, const char *p, const char *r,
		  struct store_run *out);

/** Opens run p/r, owned by the caller, with nsteps steps (pipeline p is
 * created if new).  -EEXIST when the run exists, -EACCES, -EINVAL. */
int fs_run_open(struct fs_ctx *ctx, const char *p, const char *r, size_t nsteps,
		const char *const *steps);

/** Adds step to open run p/r (0 if it is there).  -EROFS when the run is
 * not open; see fs_run_check. */
int fs_run_step(struct fs_ctx *ctx, const char *p, const char *r,
		const char *step);

/**
 * Records version spec ("ARTIFACT[@REF]", REF latest by default; a path
 * after it is ignored) as an input of step s of open run p/r, for a
 * caller who may read that version; *out gets the version REF named.
 * -EROFS (run not open), -ENOENT (no such version), -EACCES, -EINVAL.
 */
int fs_run_input(struct fs_ctx *ctx, const char *p, const char *r,
		 const char *s, const char *spec, struct store_version *out);

/** Sets note key (a name) to value (at most 4096 bytes) on run p/r. */
int fs_run_note(struct fs_ctx *ctx, const char *p, const char *r,
		const char *key, const char *value);

/**
 * Binds process session sid to step s of run p/r: the reads of its
 * processes through this process's mount become inputs of the step
 * (mnt_session.c; meaningful in the mount daemon only).  Unless the
 * caller is root, sid must be the caller's own (-EPERM).  -ENOENT (no
 * such step), see fs_run_check.
 */
int fs_run_bind(struct fs_ctx *ctx, const char *p, const char *r, const char *s,
		pid_t sid);

/** Ends the binding of session sid; 0 also when there was none. */
int fs_run_unbind(struct fs_ctx *ctx, pid_t sid);

/** Seals run p/r (its outputs become versions) or, with seal false,
 * fails it (nothing published), and ends its bindings.  -EROFS when it
 * is not open; see fs_run_check. */
int fs_run_end(struct fs_ctx *ctx, const char *p, const char *r, bool seal);

/**
 * Stores bundle (an environment snapshot as run exec sends it,
 * envsnap_i.h) as the environment of step s of open run p/r, every
 * stored secret's value removed first (acl_redact); its digest
 * ("sha256:...") into digest (size bytes).  -EINVAL (a malformed
 * bundle), -EIO (a secret could not be opened: nothing kept), see
 * fs_run_check and store_env_set (run_env.c).
 */
int fs_run_env(struct fs_ctx *ctx, const char *p, const char *r, const char *s,
	       const char *bundle, char *digest, size_t size);

/**
 * Computes the cache key of step s of open run p/r (from its stored
 * environment, declared inputs, params and secret names) and notes it
 * as cache_key.<s>.  When use is set and a sealed run readable by the
 * caller produced outputs under that key, they become this step's
 * (store_output_copy), noted as cached.<s>, and *hit is set.  text
 * (size bytes) gets the one line to show: the hit, or what changed
 * against the latest sealed run of the same step.  -ENOENT (no
 * environment recorded for the step: reported).
 */
int fs_run_cache(struct fs_ctx *ctx, const char *p, const char *r,
		 const char *s, bool use, bool *hit, char *text, size_t size);

/** Records the noted cache key of each step of sealed run p/r as leading
 * to that step (run_env.c; a failure is logged as a warning). */
int fs_run_cache_record(struct fs_ctx *ctx, const char *p, const char *r);

/** fs_run_end, then, when the run sealed, fs_run_cache_record: how the
 * command line and the typed call end a run (run_env.c). */
int fs_run_end_cached(struct fs_ctx *ctx, const char *p, const char *r,
		      bool seal);

/**
 * Hands the value of secret spec ("NAME" or "NAME@vN") to step s of open
 * run p/r: the caller must be allowed to change the run (fs_run_check)
 * and to read the secret (ACL_SECRET on /secrets/NAME).  The read is
 * journaled ("secret.read", path /secrets/NAME, its byte count; the
 * value is not shown without its record), so is its use ("secret.use",
 * path "/pipelines/P/runs/R/steps/S (NAME vN)"), and the run notes
 * "secret.NAME" = "vN", the version given (the name, never the value:
 * the step cache keys on these notes; the last step to use a secret sets
 * its version).  *val (malloc'd, *len bytes and a NUL; the caller wipes
 * and frees it), *version its version.  -EACCES, -ENOENT (no such
 * secret or version), -EINVAL (the value holds a NUL byte: it cannot be
 * an environment variable), acl_secret_read's errors; each reported.
 */
int fs_run_secret(struct fs_ctx *ctx, const char *p, const char *r,
		  const char *s, const char *spec, uint8_t **val, size_t *len,
		  uint32_t *version);

struct ctl_call;
struct ctl_result;

/**
 * Carries out one typed call (ctl_wire_i.h; decoded and validated) with
 * the function above that it names, and fills *out with its rc and
 * result (run_call.c).  A failure that nothing has reported yet gets one
 * line, "run: SUBJECT: <strerror>", as the command line would print.
 * The daemon serves 'c' frames with it; `run exec` calls it directly when
 * it holds the store itself.  Returns out->rc.
 */
int fs_run_call(struct fs_ctx *ctx, const struct ctl_call *call,
		struct ctl_result *out);

#endif
