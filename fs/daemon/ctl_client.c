/*
 * ctl_client.c - the command socket, client side: a command line
 * (fs_ctl_forward) or a typed call (fs_ctl_call).
 *
 * The client sends its argv with its standard input, then reads frames:
 * output goes to its own stdout and stderr, progress to its terminal, and
 * each file operation the daemon asks for is carried out here, as this
 * process, after ctl_wire.c has checked that it is one of the admitted
 * operations with admitted flags.  A typed call is answered with error
 * lines, a result and the exit status only: anything else ends it.  The
 * wire format is described in ctl.c.
 */
#include "ctl_io_i.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define ERROR_MAX     4096	 /* an error frame's text */
#define CALL_ERRS_MAX (64 << 10) /* a call's error lines kept */

static void hide(const struct fs_ctl_draw *d)
{
	if (d)
		d->hide(d->arg);
}

static int read_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? -ECONNRESET : -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Sends one frame whole, with fd (when >= 0) on its first byte. */
static int send_frame(int sock, enum ctl_frame type, const void *buf,
		      size_t len, int fd)
{
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cb = {{0}};
	uint8_t h[CTL_FRAME_HDR];
	struct iovec iov[2] = {{h, sizeof(h)}, {(void *)buf, len}};
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
	size_t left = sizeof(h) + len;

	ctl_frame_encode(h, type, (uint32_t)len);
	if (fd >= 0) {
		struct cmsghdr *cm;

		msg.msg_control = cb.b;
		msg.msg_controllen = sizeof(cb.b);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	while (left) {
		ssize_t n = sendmsg(sock, &msg, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		left -= (size_t)n;
		msg.msg_control = NULL; /* the descriptor went with byte 0 */
		msg.msg_controllen = 0;
		while (msg.msg_iovlen && (size_t)n >= msg.msg_iov->iov_len) {
			n -= (ssize_t)msg.msg_iov->iov_len;
			msg.msg_iov++;
			msg.msg_iovlen--;
		}
		if (msg.msg_iovlen) {
			msg.msg_iov->iov_base =
			    (char *)msg.msg_iov->iov_base + n;
			msg.msg_iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

/* Opens as asked, without blocking on a FIFO; returns the fd or -errno. */
static int op_open(const struct ctl_fileop *op)
{
	int fd = open(op->path, op->flags | O_NONBLOCK | O_CLOEXEC | O_NOCTTY,
		      op->mode);
	int fl;

	if (fd < 0)
		return -errno;
	fl = fcntl(fd, F_GETFL);
	if (!(op->flags & O_PATH) && fl >= 0)
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	return fd;
}

/* Carries out op as this process; *fd gets open's descriptor. */
static void do_op(const struct ctl_fileop *op, struct ctl_reply *r, int *fd)
{
	ssize_t n;
	int rc;

	*fd = -1;
	switch (op->op) {
	case CTL_OP_OPEN:
		rc = op_open(op);
		*fd = rc;
		rc = rc < 0 ? rc : 0;
		break;
	case CTL_OP_STAT:
		rc = (op->follow ? stat(op->path, &r->st)
				 : lstat(op->path, &r->st))
			 ? -errno
			 : 0;
		break;
	case CTL_OP_MKDIR:
		rc = mkdir(op->path, op->mode) ? -errno : 0;
		break;
	case CTL_OP_SYMLINK:
		rc = symlink(op->path2, op->path) ? -errno : 0;
		break;
	case CTL_OP_READLINK:
		n = readlink(op->path, r->data, op->len);
		r->rc = n < 0 ? -errno : n;
		return;
	case CTL_OP_RENAME:
		rc = rename(op->path2, op->path) ? -errno : 0;
		break;
	case CTL_OP_UNLINK:
		rc =
		    (op->dir ? rmdir(op->path) : unlink(op->path)) ? -errno : 0;
		break;
	case CTL_OP_LINK:
		rc = link(op->path2, op->path) ? -errno : 0;
		break;
	case CTL_OP_LUTIMES:
		rc = utimensat(AT_FDCWD, op->path,
			       (struct timespec[2]){{.tv_nsec = UTIME_OMIT},
						    op->mtime},
			       AT_SYMLINK_NOFOLLOW)
			 ? -errno
			 : 0;
		break;
	default:
		rc = -EINVAL;
	}
	r->rc = rc;
}

/* Answers one 'f' frame; refuses what ctl_wire.c does not admit. */
static int answer(int sock, const char *buf, uint32_t len)
{
	struct ctl_fileop op;
	struct ctl_reply r = {0};
	char *msg;
	size_t n;
	int fd = -1, rc = ctl_fileop_decode(buf, len, &op);

	if (rc)
		r.rc = -EINVAL;
	else
		do_op(&op, &r, &fd);
	rc = ctl_reply_encode(rc ? CTL_OP_MKDIR : op.op, &r, &msg, &n);
	if (!rc) {
		rc = send_frame(sock, CTL_F_REPLY, msg, n, fd);
		free(msg);
	}
	if (fd >= 0)
		close(fd);
	ctl_fileop_release(&op);
	return rc;
}

static void progress(const struct fs_ctl_draw *d, const char *buf, uint32_t len)
{
	char label[64];
	uint64_t done, total;

	if (d && !ctl_progress_decode(buf, len, label, &done, &total))
		d->show(d->arg, label, done, total);
}

/* Prints an error frame as one line, control characters as '?'. */
static void print_error(const struct fs_ctl_draw *d, const char *buf,
			uint32_t len)
{
	hide(d);
	fprintf(stderr, "%s: daemon: ", FS_PROG);
	for (uint32_t i = 0; i < len; i++)
		fputc((unsigned char)buf[i] < 0x20 ? '?' : buf[i], stderr);
	fputc('\n', stderr);
}

/* Copies a stream frame's payload to f in pieces. */
static int relay_bytes(int sock, uint32_t len, FILE *f,
		       const struct fs_ctl_draw *d)
{
	char buf[65536];

	if (f == stderr)
		hide(d);
	while (len) {
		size_t n = len < sizeof(buf) ? len : sizeof(buf);
		int rc = read_all(sock, buf, n);

		if (rc)
			return rc;
		fwrite(buf, 1, n, f);
		len -= (uint32_t)n;
	}
	if (f == stderr)
		fflush(stderr);
	return 0;
}

/* One frame that is not output: exit, error, progress, file operation.
 * Returns 1 after the exit frame. */
static int control(int sock, enum ctl_frame type, uint32_t len, int *status,
		   const struct fs_ctl_draw *d)
{
	char *buf;
	int rc;

	if (type == CTL_F_EXIT	  ? len != 4
	    : type == CTL_F_ERROR ? len > ERROR_MAX
	    : type == CTL_F_FILEOP || type == CTL_F_PROGRESS
		? len > CTL_REPLY_MAX
		: true)
		return -EPROTO;
	buf = malloc((size_t)len + 1);
	if (!buf)
		return -ENOMEM;
	rc = read_all(sock, buf, len);
	if (!rc && type == CTL_F_EXIT) {
		const uint8_t *b = (const uint8_t *)buf;

		*status = (int)((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
				(uint32_t)b[2] << 8 | b[3]);
		rc = 1;
	} else if (!rc && type == CTL_F_ERROR) {
		print_error(d, buf, len);
	} else if (!rc && type == CTL_F_PROGRESS) {
		progress(d, buf, len);
	} else if (!rc) {
		rc = answer(sock, buf, len);
	}
	free(buf);
	return rc;
}

static int relay(int sock, const struct fs_ctl_draw *d, int *status)
{
	int rc;

	for (;;) {
		uint8_t h[CTL_FRAME_HDR];
		enum ctl_frame type;
		uint32_t len;

		rc = read_all(sock, h, sizeof(h));
		if (!rc)
			rc = ctl_frame_decode(h, &type, &len);
		if (rc)
			break;
		if (type == CTL_F_STDOUT || type == CTL_F_STDERR)
			rc = relay_bytes(sock, len,
					 type == CTL_F_STDOUT ? stdout : stderr,
					 d);
		else
			rc = control(sock, type, len, status, d);
		if (rc)
			break;
	}
	if (d)
		d->show(d->arg, "", 0, 0); /* erase the last line */
	return rc == 1 ? 0 : rc;
}

/* Connects to the daemon of store_dir: the socket, -ENOENT when no
 * daemon listens, or another -errno. */
static int connect_daemon(const char *store_dir)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int sock, rc;

	if ((size_t)snprintf(a.sun_path, sizeof(a.sun_path), "%s/%s", store_dir,
			     CTL_SOCK_NAME) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return -errno;
	if (connect(sock, (struct sockaddr *)&a, sizeof(a)) < 0) {
		rc = -errno;
		close(sock);
		return rc == -ECONNREFUSED ? -ENOENT : rc;
	}
	return sock;
}

int fs_ctl_forward(const char *store_dir, int argc, char **argv,
		   const struct fs_ctl_draw *draw, int *status)
{
	char *req;
	size_t len;
	int rc, in = fcntl(STDIN_FILENO, F_GETFD) >= 0 ? STDIN_FILENO : -1;
	int sock = connect_daemon(store_dir);

	if (sock < 0)
		return sock;
	rc = ctl_request_encode(argc, argv, isatty(STDERR_FILENO), &req, &len);
	if (rc) {
		store_log(STORE_LOG_ERR, "the arguments are not UTF-8 or "
					 "too many to pass to the daemon");
		close(sock);
		*status = 2;
		return 0;
	}
	rc = send_frame(sock, CTL_F_REQUEST, req, len, in);
	free(req);
	/* A daemon that refused at once has closed: its reason still waits
	 * to be read. */
	rc = relay(sock, draw, status);
	close(sock);
	if (rc)
		store_log(STORE_LOG_ERR, "lost the mount daemon of %s: %s",
			  store_dir, strerror(-rc));
	return rc;
}

/* What a call's answer has brought so far. */
struct answer {
	enum ctl_call_op op;
	struct ctl_result *out;
	bool got;   /* the result frame came */
	char *errs; /* its error lines, at most CALL_ERRS_MAX bytes */
	size_t nerrs;
	const struct fs_ctl_draw *draw;
};

/* One frame of a call's answer (payload len, at most max for its type);
 * 1 after the exit frame. */
static int call_frame(int sock, enum ctl_frame type, uint32_t len,
		      struct answer *a)
{
	size_t max = type == CTL_F_RESULT  ? CTL_CALL_MAX
		     : type == CTL_F_EXIT  ? 4
		     : type == CTL_F_ERROR ? ERROR_MAX
					   : CTL_REPLY_MAX;
	char *buf;
	int rc;

	if (len > max || type == CTL_F_FILEOP || type == CTL_F_CALL ||
	    type == CTL_F_REQUEST || type == CTL_F_REPLY ||
	    (type == CTL_F_RESULT && a->got))
		return -EPROTO; /* nothing a call is answered with */
	buf = malloc((size_t)len + 1);
	if (!buf)
		return -ENOMEM;
	rc = read_all(sock, buf, len);
	if (!rc && type == CTL_F_STDERR && a->nerrs + len <= CALL_ERRS_MAX) {
		memcpy(a->errs + a->nerrs, buf, len);
		a->nerrs += len;
	} else if (!rc && type == CTL_F_RESULT) {
		rc = ctl_result_decode(buf, len, a->op, a->out) ? -EPROTO : 0;
		a->got = !rc;
	} else if (!rc && type == CTL_F_ERROR) {
		print_error(a->draw, buf, len);
	} else if (!rc && type == CTL_F_EXIT) {
		rc = len == 4 ? 1 : -EPROTO;
	}
	if (type == CTL_F_RESULT)
		explicit_bzero(buf, len); /* run.secret: a value in hex */
	free(buf); /* stdout and progress: a call has none to show */
	return rc;
}

int fs_ctl_call(const char *store_dir, const struct ctl_call *call,
		bool show_errors, const struct fs_ctl_draw *draw,
		struct ctl_result *out)
{
	struct answer a = {.op = call->op, .out = out, .draw = draw};
	uint8_t h[CTL_FRAME_HDR];
	enum ctl_frame type;
	uint32_t len;
	char *req;
	size_t n;
	int sock, rc = ctl_call_encode(call, &req, &n);

	memset(out, 0, sizeof(*out));
	if (rc)
		return rc;
	sock = connect_daemon(store_dir);
	a.errs = malloc(CALL_ERRS_MAX);
	rc = sock < 0 ? sock : a.errs ? 0 : -ENOMEM;
	if (!rc)
		rc = send_frame(sock, CTL_F_CALL, req, n, -1);
	free(req);
	while (!rc) {
		rc = read_all(sock, h, sizeof(h));
		if (!rc)
			rc = ctl_frame_decode(h, &type, &len);
		if (!rc)
			rc = call_frame(sock, type, len, &a);
	}
	if (sock >= 0)
		close(sock);
	if (rc == 1 && !a.got)
		rc = -EPROTO; /* refused: the '!' line says why */
	else if (rc == 1)
		rc = 0;
	if (rc && rc != -ENOENT && rc != -ENOMEM)
		store_log(STORE_LOG_ERR, "lost the mount daemon of %s: %s",
			  store_dir, strerror(-rc));
	if (!rc && out->rc && show_errors && a.nerrs) {
		hide(draw);
		fwrite(a.errs, 1, a.nerrs, stderr);
		fflush(stderr);
	}
	free(a.errs);
	return rc;
}
