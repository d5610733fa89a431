/*
 * ctx.c - one invocation's context: the usage error that ends it, the
 * store it runs on (opened here, or the mount daemon's that runs it), and
 * what it owns.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "acl.h"
#include "base.h"

int fs_usage_error(struct fs_ctx *ctx, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ctx->cmd)
		store_log(STORE_LOG_ERR, "%s: %s (see '%s %s --help')",
			  ctx->cmd, msg, FS_PROG, ctx->cmd);
	else
		store_log(STORE_LOG_ERR, "%s (see '%s --help')", msg, FS_PROG);
	ctx->exit_code = FS_EXIT_USAGE;
	return -EINVAL;
}

void fs_ctx_release(struct fs_ctx *ctx)
{
	store_close(ctx->store);
	ctx->store = NULL;
	free(ctx->store_dir);
	ctx->store_dir = NULL;
	free(ctx->checkpoint_dir);
	ctx->checkpoint_dir = NULL;
	free(ctx->retain);
	ctx->retain = NULL;
	ctx->nretain = 0;
}

/* How long a command waits for the holder of the store's lock. */
#define HOLDER_WAIT_S 30

int fs_open_store(struct fs_ctx *ctx)
{
	struct fs_progress_relay pr;
	pid_t holder;
	int rc;

	if (ctx->store)
		return 0; /* the daemon's, for a client's command */
	if (!store_exists(ctx->store_dir)) {
		store_log(STORE_LOG_ERR,
			  "no store at %s (create one with '%s init')",
			  ctx->store_dir, FS_PROG);
		return -ENOENT;
	}
	/* Mounted: the daemon holds the store and runs the command.  A
	 * daemon holds the store's lock a while before its socket answers
	 * (it checks the journal first): wait for it, HOLDER_WAIT_S at
	 * most.  Another command holding the store is not waited for (nor
	 * is a lock whose pid is not written yet, for more than a moment). */
	holder = store_lock_holder(ctx->store_dir);
	fs_progress_relay_init(&pr);
	for (int tenths = 0; holder > 0 || (holder == -EBUSY && tenths < 3);
	     tenths++) {
		rc = holder > 0
			 ? fs_ctl_forward(ctx->store_dir, ctx->argc, ctx->argv,
					  &pr.draw, &ctx->forwarded)
			 : -ENOENT;
		if (rc == 0)
			return 1;
		if (rc != -ENOENT || tenths == 10 * HOLDER_WAIT_S ||
		    (holder > 0 && !store_lock_serving(ctx->store_dir)))
			break;
		if (tenths == 10)
			store_log(STORE_LOG_WARNING,
				  "the mount daemon of %s (pid %d) does not "
				  "answer yet (it checks its journal first): "
				  "waiting up to %d s",
				  ctx->store_dir, (int)holder, HOLDER_WAIT_S);
		usleep(100 * 1000);
		holder = store_lock_holder(ctx->store_dir);
	}
	rc = store_open(ctx->store_dir, &ctx->opt, &ctx->store);
	if (!rc)
		rc = acl_journal_open(ctx->store);
	return rc;
}
