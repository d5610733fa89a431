/*
 * fs/cli/get_times.c - the mtimes that `get` gives back.
 *
 * A version keeps each entry's mtime beside its content (store/FORMAT.md,
 * "Times"); get gives them to what it makes, through the descriptor it
 * made (a file before its rename into place, a directory once full),
 * or to a symlink by its name.
 * Versions that kept no time leave get's own.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_i.h"

int fs_get_keep_mtime(struct fs_ctx *ctx, const struct fs_target *t,
		      const char *path, int fd, const char *dest)
{
	struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, {0}};
	char *full = NULL;
	int64_t mt;
	int rc;

	if (asprintf(&full, "%s%s%s", t->path, *t->path && *path ? "/" : "",
		     path) < 0)
		return -ENOMEM;
	rc = store_version_mtime(ctx->store, t->artifact, t->v.number, full,
				 &mt);
	free(full);
	if (rc == -ENOENT)
		return 0;
	if (rc)
		return rc;
	ts[1].tv_sec = mt / 1000000000;
	ts[1].tv_nsec = mt % 1000000000;
	if (ts[1].tv_nsec < 0) {
		ts[1].tv_sec--;
		ts[1].tv_nsec += 1000000000;
	}
	rc = fd >= 0 ? (futimens(fd, ts) < 0 ? -errno : 0)
		     : fs_file_lutimes(ctx, dest, &ts[1]);
	if (rc)
		store_log(STORE_LOG_ERR, "get: cannot set the time of %s: %s",
			  dest, strerror(-rc));
	return rc;
}
