/*
 * callerfs.c - the files a caller names, reached with the caller's rights.
 *
 * The daemon serves every user of a shared mount and runs as root; if it
 * opened `put PATH` or `get DEST` itself, any user could read or replace
 * any file on the machine, /proc/self would be the daemon's, a FIFO
 * would block it, and what it created would belong to root.  So for a
 * client of the daemon each call below is carried out by the client
 * process (ctl.c), which passes back a descriptor when there is one; the
 * daemon only reads and writes descriptors its client opened.  For the
 * command line without a mount they are plain system calls.
 */
#include "daemon.h"
#include "base.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

static int sys(int rc)
{
	return rc < 0 ? -errno : rc;
}

int fs_file_open(struct fs_ctx *ctx, const char *path, int flags, mode_t mode)
{
	/* The client opens with O_NONBLOCK itself (then clears it), so
	 * that a FIFO never blocks either side. */
	if (ctx->conn)
		return fs_ctl_open(ctx->conn, path, flags & ~O_NONBLOCK, mode);
	return sys(open(path, flags | O_CLOEXEC, mode));
}

int fs_file_stat(struct fs_ctx *ctx, const char *path, bool follow,
		 struct stat *st)
{
	if (ctx->conn)
		return fs_ctl_stat(ctx->conn, path, follow, st);
	return sys(follow ? stat(path, st) : lstat(path, st));
}

int fs_file_mkdir(struct fs_ctx *ctx, const char *path, mode_t mode)
{
	if (ctx->conn)
		return fs_ctl_mkdir(ctx->conn, path, mode);
	return sys(mkdir(path, mode));
}

int fs_file_symlink(struct fs_ctx *ctx, const char *target, const char *path)
{
	if (ctx->conn)
		return fs_ctl_symlink(ctx->conn, target, path);
	return sys(symlink(target, path));
}

int fs_file_lutimes(struct fs_ctx *ctx, const char *path,
		    const struct timespec *mtime)
{
	struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, *mtime};

	if (ctx->conn)
		return fs_ctl_lutimes(ctx->conn, path, mtime);
	return sys(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW));
}

ssize_t fs_file_readlink(struct fs_ctx *ctx, const char *path, char *buf,
			 size_t len)
{
	ssize_t n;

	if (ctx->conn)
		return fs_ctl_readlink(ctx->conn, path, buf, len);
	n = readlink(path, buf, len);
	return n < 0 ? -errno : n;
}

int fs_file_rename(struct fs_ctx *ctx, const char *from, const char *to)
{
	if (ctx->conn)
		return fs_ctl_rename(ctx->conn, from, to);
	return sys(rename(from, to));
}

int fs_file_unlink(struct fs_ctx *ctx, const char *path, bool dir)
{
	if (ctx->conn)
		return fs_ctl_unlink(ctx->conn, path, dir);
	return sys(dir ? rmdir(path) : unlink(path));
}

int fs_file_link(struct fs_ctx *ctx, const char *from, const char *to)
{
	if (ctx->conn)
		return fs_ctl_link(ctx->conn, from, to);
	return sys(link(from, to));
}

int fs_file_realpath(struct fs_ctx *ctx, const char *path, char **out)
{
	char proc[64], buf[PATH_MAX];
	int fd = fs_file_open(ctx, path, O_PATH, 0);
	ssize_t n;

	if (fd < 0)
		return fd;
	/* The kernel knows where the caller's descriptor points. */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	*out = strdup(buf);
	return *out ? 0 : -ENOMEM;
}

int fs_file_read_all(struct fs_ctx *ctx, const char *path, size_t max,
		     char **out, size_t *len)
{
	struct stat st;
	size_t got = 0;
	char *buf = NULL;
	int fd = fs_file_open(ctx, path, O_RDONLY | O_NONBLOCK, 0);
	int rc = 0;

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		store_log(STORE_LOG_ERR, "%s: not a regular file", path);
		rc = -EINVAL;
		goto out_close;
	}
	for (;;) {
		char *grown;
		ssize_t n;

		if (got == max) {
			rc = -EFBIG;
			break;
		}
		grown = realloc(buf, got + 65536 + 1);
		if (!grown) {
			rc = -ENOMEM;
			break;
		}
		buf = grown;
		n = read(fd, buf + got, got + 65536 > max ? max - got : 65536);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : 0;
			break;
		}
		got += (size_t)n;
	}
	if (!rc && !buf)
		buf = malloc(1);
	if (!rc && !buf)
		rc = -ENOMEM;
out_close:
	close(fd);
	if (rc) {
		free(buf);
		return rc;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return 0;
}

int fs_file_write_whole(struct fs_ctx *ctx, const char *path, const void *buf,
			size_t len)
{
	char *tmp = NULL;
	uint32_t r = 0;
	int fd, rc;

	/* Requests run side by side in one daemon: a random name. */
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return -EIO;
	if (asprintf(&tmp, "%s.afs-%08x", path, (unsigned)r) < 0)
		return -ENOMEM;
	fd = fs_file_open(ctx, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW,
			  0644);
	rc = fd < 0 ? fd : fs_write_all(fd, buf, len);
	if (fd >= 0 && !rc && fsync(fd) < 0)
		rc = -errno;
	if (fd >= 0 && close(fd) < 0 && !rc)
		rc = -errno;
	if (!rc)
		rc = fs_file_rename(ctx, tmp, path);
	if (rc && fd >= 0)
		fs_file_unlink(ctx, tmp, false);
	if (rc)
		store_log(STORE_LOG_ERR, "cannot write %s: %s", path,
			  strerror(-rc));
	free(tmp);
	return rc;
}

bool fs_cancelled(const struct fs_ctx *ctx)
{
	return ctx->conn && fs_ctl_cancelled(ctx->conn);
}

static int src_open(void *arg, const char *path, int flags)
{
	return fs_file_open(arg, path, flags, 0);
}

static int src_lstat(void *arg, const char *path, struct stat *st)
{
	return fs_file_stat(arg, path, false, st);
}

static ssize_t src_readlink(void *arg, const char *path, char *buf, size_t len)
{
	return fs_file_readlink(arg, path, buf, len);
}

static bool src_cancelled(void *arg)
{
	return fs_cancelled(arg);
}

void fs_file_source(struct fs_ctx *ctx, struct store_source *out)
{
	*out = (struct store_source){.open = src_open,
				     .lstat = src_lstat,
				     .readlink = src_readlink,
				     .cancelled = src_cancelled,
				     .arg = ctx};
}

/* Files the mount daemon reads for itself (its checkpoints). */
static struct fs_ctx own_files;

int fs_file_read_logged(struct fs_ctx *ctx, const char *path, uint64_t cap,
			char **buf, size_t *len)
{
	int rc = fs_file_read_all(ctx ? ctx : &own_files, path, (size_t)cap,
				  buf, len);

	if (rc == -EFBIG)
		store_log(STORE_LOG_ERR, "%s: too large", path);
	else if (rc && rc != -EINVAL)
		store_log(STORE_LOG_ERR, "cannot read %s: %s", path,
			  strerror(-rc));
	return rc;
}
