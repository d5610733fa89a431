/*
 * ctl_io.c - one connection of the command socket, daemon side: frames in
 * and out with the descriptors they carry, and the client's file system
 * (fs_ctl_open & co.) as an 'f' / 'r' exchange on the connection.
 *
 * Every receive has a deadline (poll, then a non-blocking recvmsg), so a
 * client that drips bytes cannot hold a worker past it; every send has
 * the stall limit (SO_SNDTIMEO, set by the server).  Descriptors come in
 * with MSG_CMSG_CLOEXEC; any that may not be there are closed at once.
 */
#include "ctl_io_i.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PROGRESS_MS 50 /* at most 20 progress frames a second */
#define FDS_ROOM    16 /* descriptors one recvmsg can take (and close) */

int64_t ctl_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

void ctl_conn_cancel_locked(struct fs_ctl_conn *c)
{
	atomic_store(&c->cancelled, true);
	shutdown(c->fd, SHUT_RDWR);
	/* The handler may be looping on read(in): make the next read fail
	 * rather than stream on, or end short as if the input were whole. */
	if (c->running && c->in >= 0)
		dup3(c->revoke_fd, c->in, O_CLOEXEC);
}

void ctl_conn_cancel(struct fs_ctl_conn *c)
{
	pthread_mutex_lock(c->lock);
	ctl_conn_cancel_locked(c);
	pthread_mutex_unlock(c->lock);
}

bool ctl_hung_up(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLRDHUP};

	return poll(&p, 1, 0) > 0 &&
	       (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

bool fs_ctl_cancelled(struct fs_ctl_conn *c)
{
	if (atomic_load(&c->cancelled))
		return true;
	if (!ctl_hung_up(c->fd))
		return false;
	ctl_conn_cancel(c);
	return true;
}

static int send_all(int fd, const void *buf, size_t len, int flags)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL | flags);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EPIPE; /* gone, or stalled past SO_SNDTIMEO */
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int ctl_send_frame(struct fs_ctl_conn *c, enum ctl_frame type, const void *buf,
		   size_t len)
{
	uint8_t h[CTL_FRAME_HDR];
	int rc;

	if (len > UINT32_MAX)
		return -EINVAL;
	if (atomic_load(&c->cancelled))
		return -ECANCELED;
	ctl_frame_encode(h, type, (uint32_t)len);
	pthread_mutex_lock(&c->send_lock);
	rc = send_all(c->fd, h, sizeof(h), 0);
	if (!rc && len)
		rc = send_all(c->fd, buf, len, 0);
	pthread_mutex_unlock(&c->send_lock);
	if (rc)
		ctl_conn_cancel(c);
	return rc;
}

void ctl_send_end(struct fs_ctl_conn *c, const char *why, int status)
{
	uint8_t st[4] = {(uint8_t)(status >> 24), (uint8_t)(status >> 16),
			 (uint8_t)(status >> 8), (uint8_t)status};

	if (why)
		ctl_send_frame(c, CTL_F_ERROR, why, strlen(why));
	ctl_send_frame(c, CTL_F_EXIT, st, sizeof(st));
}

void ctl_refuse(int fd, const char *why)
{
	uint8_t buf[CTL_FRAME_HDR + 256 + CTL_FRAME_HDR + 4] = {0};
	size_t n = strnlen(why, 256);

	ctl_frame_encode(buf, CTL_F_ERROR, (uint32_t)n);
	memcpy(buf + CTL_FRAME_HDR, why, n);
	ctl_frame_encode(buf + CTL_FRAME_HDR + n, CTL_F_EXIT, 4);
	buf[2 * CTL_FRAME_HDR + n + 3] = 2;
	send_all(fd, buf, 2 * CTL_FRAME_HDR + n + 4, MSG_DONTWAIT);
	close(fd);
}

/* Takes the descriptors msg carried: at most one into *fd (when fd is not
 * NULL, *fd is -1 and it came alone); closes the rest.  False when any
 * was closed or some were dropped (MSG_CTRUNC). */
static bool take_fds(struct msghdr *msg, int *fd)
{
	bool ok = !(msg->msg_flags & MSG_CTRUNC);
	struct cmsghdr *cm;

	for (cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
		size_t n;
		int *fds = (int *)CMSG_DATA(cm);

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int one;

			memcpy(&one, fds + i, sizeof(int));
			if (fd && *fd < 0 && n == 1 && ok) {
				*fd = one;
				continue;
			}
			close(one);
			ok = false;
		}
	}
	return ok;
}

/* One recvmsg by deadline: the byte count, 0 to try again, or -errno. */
static ssize_t recv_some(struct fs_ctl_conn *c, void *buf, size_t len,
			 int64_t deadline, int *fd)
{
	union {
		char b[CMSG_SPACE(FDS_ROOM * sizeof(int))];
		struct cmsghdr align;
	} cb;
	struct iovec iov = {buf, len};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cb.b,
			     .msg_controllen = sizeof(cb.b)};
	struct pollfd p = {.fd = c->fd, .events = POLLIN};
	int64_t left = deadline - ctl_now_ms();
	ssize_t n;

	if (atomic_load(&c->cancelled))
		return -ECANCELED;
	if (left <= 0)
		return -ETIMEDOUT;
	n = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
	if (n <= 0)
		return n == 0 ? -ETIMEDOUT : errno == EINTR ? 0 : -errno;
	n = recvmsg(c->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -errno;
	if (!take_fds(&msg, fd))
		return -EBADMSG;
	return n == 0 ? -ECONNRESET : n;
}

static int recv_exact(struct fs_ctl_conn *c, void *buf, size_t len,
		      int64_t deadline, int *fd)
{
	size_t got = 0;

	while (got < len) {
		/* a descriptor may come only with the first byte */
		ssize_t n = recv_some(c, (char *)buf + got, len - got, deadline,
				      got ? NULL : fd);

		if (n < 0)
			return (int)n;
		got += (size_t)n;
	}
	return 0;
}

int ctl_recv_frame(struct fs_ctl_conn *c, const char *want, uint32_t max,
		   int64_t deadline, int *fd, enum ctl_frame *got, char **out,
		   uint32_t *len)
{
	uint8_t h[CTL_FRAME_HDR];
	enum ctl_frame type;
	char *buf;
	int rc = recv_exact(c, h, sizeof(h), deadline, fd);

	if (rc)
		return rc;
	if (ctl_frame_decode(h, &type, len) || !strchr(want, (char)type))
		return -EPROTO;
	if (got)
		*got = type;
	if (*len > max)
		return -EMSGSIZE;
	buf = malloc((size_t)*len + 1);
	if (!buf)
		return -ENOMEM;
	rc = recv_exact(c, buf, *len, deadline, NULL);
	if (rc) {
		free(buf);
		return rc;
	}
	buf[*len] = '\0';
	*out = buf;
	return 0;
}

/* Asks the client to carry out op and receives its reply (and, for open,
 * the descriptor into *fd).  Whatever goes wrong on the way cancels the
 * request: the exchange cannot be resynchronized. */
static int fileop(struct fs_ctl_conn *c, const struct ctl_fileop *op,
		  struct ctl_reply *rep, int *fd)
{
	char *msg = NULL, *buf = NULL;
	size_t len;
	uint32_t rlen;
	int rc, got = -1;

	if (fs_ctl_cancelled(c))
		return -ECANCELED;
	rc = ctl_fileop_encode(op, &msg, &len);
	if (rc)
		return rc;
	pthread_mutex_lock(&c->op_lock);
	rc = ctl_send_frame(c, CTL_F_FILEOP, msg, len);
	if (!rc)
		rc = ctl_recv_frame(c, (char[]){CTL_F_REPLY, 0}, CTL_REPLY_MAX,
				    ctl_now_ms() + c->stall_ms,
				    fd ? &got : NULL, NULL, &buf, &rlen);
	if (!rc && ctl_reply_decode(buf, rlen, op->op, op->len, rep))
		rc = -EPROTO;
	if (!rc && fd && (rep->rc == 0) != (got >= 0))
		rc = -EPROTO;
	pthread_mutex_unlock(&c->op_lock);
	free(msg);
	free(buf);
	if (rc && got >= 0)
		close(got);
	if (rc) {
		ctl_conn_cancel(c);
		return rc == -EPIPE ? -EPIPE : -ECANCELED;
	}
	if (fd)
		*fd = got;
	return 0;
}

/* The received descriptor is of a kind the caller may use for flags. */
static bool open_kind_ok(int fd, int flags)
{
	struct stat st;
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fstat(fd, &st) < 0)
		return false;
	if (flags & O_PATH)
		return true;
	if ((fl & O_PATH) || (fl & O_ACCMODE) != (flags & O_ACCMODE))
		return false;
	if (flags & O_DIRECTORY)
		return S_ISDIR(st.st_mode);
	if ((flags & O_ACCMODE) == O_RDONLY)
		return S_ISREG(st.st_mode) || S_ISDIR(st.st_mode);
	return S_ISREG(st.st_mode) || S_ISCHR(st.st_mode) ||
	       S_ISFIFO(st.st_mode);
}

int fs_ctl_open(struct fs_ctl_conn *c, const char *path, int flags, mode_t mode)
{
	struct ctl_fileop op = {.op = CTL_OP_OPEN,
				.path = (char *)path,
				.flags = flags,
				.mode = mode & 07777};
	struct ctl_reply rep;
	int fd, rc;

	if (!ctl_open_flags_ok(flags))
		return -EINVAL;
	rc = fileop(c, &op, &rep, &fd);
	if (rc)
		return rc;
	if (rep.rc < 0)
		return (int)rep.rc;
	if (!open_kind_ok(fd, flags)) {
		close(fd);
		return -EINVAL; /* not a regular file (or the kind asked) */
	}
	return fd;
}

/* An operation whose reply is only rc. */
static int simple(struct fs_ctl_conn *c, enum ctl_op o, const char *path,
		  const char *path2, mode_t mode, bool dir)
{
	struct ctl_fileop op = {.op = o,
				.path = (char *)path,
				.path2 = (char *)path2,
				.mode = mode & 07777,
				.dir = dir};
	struct ctl_reply rep;
	int rc = fileop(c, &op, &rep, NULL);

	return rc ? rc : (int)rep.rc;
}

int fs_ctl_stat(struct fs_ctl_conn *c, const char *path, bool follow,
		struct stat *st)
{
	struct ctl_fileop op = {
	    .op = CTL_OP_STAT, .path = (char *)path, .follow = follow};
	struct ctl_reply rep;
	int rc = fileop(c, &op, &rep, NULL);

	if (rc)
		return rc;
	if (rep.rc == 0)
		*st = rep.st;
	return (int)rep.rc;
}

int fs_ctl_mkdir(struct fs_ctl_conn *c, const char *path, mode_t mode)
{
	return simple(c, CTL_OP_MKDIR, path, NULL, mode, false);
}

int fs_ctl_symlink(struct fs_ctl_conn *c, const char *target, const char *path)
{
	return simple(c, CTL_OP_SYMLINK, path, target, 0, false);
}

int fs_ctl_lutimes(struct fs_ctl_conn *c, const char *path,
		   const struct timespec *mtime)
{
	struct ctl_fileop op = {
	    .op = CTL_OP_LUTIMES, .path = (char *)path, .mtime = *mtime};
	struct ctl_reply rep;
	int rc = fileop(c, &op, &rep, NULL);

	return rc ? rc : (int)rep.rc;
}

ssize_t fs_ctl_readlink(struct fs_ctl_conn *c, const char *path, char *buf,
			size_t len)
{
	struct ctl_fileop op = {.op = CTL_OP_READLINK,
				.path = (char *)path,
				.len = len < CTL_PATH_MAX ? len : CTL_PATH_MAX};
	struct ctl_reply rep;
	int rc;

	if (!len)
		return -EINVAL;
	rc = fileop(c, &op, &rep, NULL);
	if (rc)
		return rc;
	if (rep.rc > 0)
		memcpy(buf, rep.data, (size_t)rep.rc);
	return (ssize_t)rep.rc;
}

int fs_ctl_rename(struct fs_ctl_conn *c, const char *from, const char *to)
{
	return simple(c, CTL_OP_RENAME, to, from, 0, false);
}

int fs_ctl_unlink(struct fs_ctl_conn *c, const char *path, bool dir)
{
	return simple(c, CTL_OP_UNLINK, path, NULL, 0, dir);
}

int fs_ctl_link(struct fs_ctl_conn *c, const char *from, const char *to)
{
	return simple(c, CTL_OP_LINK, to, from, 0, false);
}

int fs_ctl_progress(struct fs_ctl_conn *c, const char *label, uint64_t done,
		    uint64_t total)
{
	int64_t now = ctl_now_ms();
	char *msg;
	size_t len;
	int rc;

	if (!c->tty)
		return 0;
	if (atomic_load(&c->cancelled))
		return -ECANCELED;
	pthread_mutex_lock(&c->send_lock);
	rc = label && now - c->last_progress < PROGRESS_MS;
	if (!rc)
		c->last_progress = now;
	pthread_mutex_unlock(&c->send_lock);
	if (rc)
		return 0;
	rc = ctl_progress_encode(label, done, total, &msg, &len);
	if (rc)
		return rc;
	rc = ctl_send_frame(c, CTL_F_PROGRESS, msg, len);
	free(msg);
	return rc;
}
