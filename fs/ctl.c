/*
 * ctl.c - the command socket of a mounted store.
 *
 * The mount daemon holds the store (RocksDB admits one process), so while
 * it runs every `artifactfs` command is carried out by the daemon: the
 * client sends its argv and working directory, the daemon runs the same
 * command code on its open store and streams back stdout, stderr and the
 * exit status.  The daemon learns who is asking from the socket
 * (SO_PEERCRED) and acts on the local file system with that user's
 * identity (per-thread fsuid, fsgid, groups and working directory), so a
 * command can do no more through the daemon than its user could.
 *
 * Wire format: the request is one byte carrying the client's standard
 * input as an SCM_RIGHTS fd (when it has one: `put -` and `secret set -`
 * read it), then one JSON line {"argv": [...], "cwd": "..."}; the reply
 * is frames of a type byte ('o' stdout, 'e' stderr, 'x' exit),
 * a 4-byte big-endian length and the payload (for 'x', a 4-byte status).
 */
#include "acl.h"
#include "ctl_i.h"
#include "fs_i.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <jansson.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#define REQ_MAX	  (1 << 20)
#define SOCK_NAME "daemon.sock"

struct fs_ctl {
	int fd;
	char *path;
	pthread_t thread;
	fs_ctl_handler fn;
	void *arg;
};

struct conn {
	struct fs_ctl *ctl;
	int fd;
	pthread_mutex_t lock; /* frames from out and err interleave whole */
};

static int sock_path(const char *store_dir, struct sockaddr_un *a)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if ((size_t)snprintf(a->sun_path, sizeof(a->sun_path), "%s/%s",
			     store_dir, SOCK_NAME) >= sizeof(a->sun_path))
		return -ENAMETOOLONG;
	return 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
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

static int send_frame(struct conn *c, char type, const void *buf, size_t len)
{
	uint8_t h[5] = {(uint8_t)type, len >> 24, len >> 16, len >> 8, len};
	int rc;

	pthread_mutex_lock(&c->lock);
	rc = write_all(c->fd, h, 5);
	if (!rc && len)
		rc = write_all(c->fd, buf, len);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

struct stream {
	struct conn *c;
	char type;
};

static ssize_t stream_write(void *cookie, const char *buf, size_t len)
{
	struct stream *s = cookie;

	return send_frame(s->c, s->type, buf, len) ? -1 : (ssize_t)len;
}

static FILE *stream_open(struct stream *s)
{
	cookie_io_functions_t io = {.write = stream_write};

	return fopencookie(s, "w", io);
}

/* Receives the leading byte of a request and the fd it may carry. */
static int recv_stdin(int fd, int *in)
{
	char byte, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {&byte, 1};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cm;
	ssize_t n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);

	*in = -1;
	if (n != 1)
		return n < 0 ? -errno : -EPROTO;
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
		if (cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(in, CMSG_DATA(cm), sizeof(int));
	return 0;
}

/* Sends the leading byte of a request with our standard input, if any. */
static int send_stdin(int fd)
{
	char byte = 'i', cbuf[CMSG_SPACE(sizeof(int))] = {0};
	struct iovec iov = {&byte, 1};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	int in = STDIN_FILENO;

	if (fcntl(in, F_GETFD) >= 0) {
		struct cmsghdr *cm;

		msg.msg_control = cbuf;
		msg.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &in, sizeof(int));
	}
	while (sendmsg(fd, &msg, MSG_NOSIGNAL) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

/* Reads the request line and parses it into argv (owned by *root). */
static int read_request(int fd, json_t **root)
{
	char *buf = malloc(REQ_MAX);
	size_t len = 0;
	json_error_t jerr;

	if (!buf)
		return -ENOMEM;
	while (len < REQ_MAX - 1) {
		ssize_t n = read(fd, buf + len, 1);

		if (n <= 0 || buf[len] == '\n')
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*root = json_loads(buf, 0, &jerr);
	free(buf);
	return *root ? 0 : -EINVAL;
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;
	struct stream so = {c, 'o'}, se = {c, 'e'};
	struct fs_ctl_req req = {.in = -1};
	const char *cwd;
	struct ucred cr;
	socklen_t crlen = sizeof(cr);
	json_t *root = NULL, *av;
	uint8_t st[4];
	FILE *out = NULL, *err = NULL;
	int status = 1, rc;

	rc = getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) ? -errno
								     : 0;
	if (!rc)
		rc = recv_stdin(c->fd, &req.in);
	if (!rc)
		rc = read_request(c->fd, &root);
	av = root ? json_object_get(root, "argv") : NULL;
	cwd = root ? json_string_value(json_object_get(root, "cwd")) : NULL;
	if (!rc && (!json_is_array(av) || !cwd || json_array_size(av) > 4096))
		rc = -EINVAL;
	out = stream_open(&so);
	err = stream_open(&se);
	if (!rc && (!out || !err))
		rc = -ENOMEM;
	if (!rc) {
		req.argc = (int)json_array_size(av);
		req.argv = calloc((size_t)req.argc + 1, sizeof(char *));
		for (int i = 0; req.argv && i < req.argc; i++)
			req.argv[i] = (char *)json_string_value(
			    json_array_get(av, (size_t)i));
		acl_caller_make(cr.uid, cr.gid, cr.pid, NULL, 0, &req.caller);
		status = req.argv ? c->ctl->fn(c->ctl->arg, &req, out, err) : 1;
		free(req.argv);
	} else if (err) {
		fprintf(err, "%s: daemon: cannot serve the request: %s\n",
			FS_PROG, strerror(-rc));
	}
	if (out)
		fclose(out);
	if (err)
		fclose(err);
	st[0] = status >> 24;
	st[1] = status >> 16;
	st[2] = status >> 8;
	st[3] = status;
	send_frame(c, 'x', st, 4);
	json_decref(root);
	if (req.in >= 0)
		close(req.in);
	close(c->fd);
	pthread_mutex_destroy(&c->lock);
	free(c);
	return NULL;
}

static void *accept_main(void *arg)
{
	struct fs_ctl *ctl = arg;

	for (;;) {
		int fd = accept4(ctl->fd, NULL, NULL, SOCK_CLOEXEC);
		struct conn *c;
		pthread_t t;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return NULL; /* the socket was shut down */
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->ctl = ctl;
		c->fd = fd;
		pthread_mutex_init(&c->lock, NULL);
		if (pthread_create(&t, NULL, conn_main, c)) {
			close(fd);
			free(c);
			continue;
		}
		pthread_detach(t);
	}
}

int fs_ctl_start(const char *store_dir, fs_ctl_handler fn, void *arg,
		 struct fs_ctl **out)
{
	struct fs_ctl *ctl = calloc(1, sizeof(*ctl));
	struct sockaddr_un a;
	int rc = ctl ? sock_path(store_dir, &a) : -ENOMEM;

	if (rc)
		goto out_free;
	ctl->fn = fn;
	ctl->arg = arg;
	ctl->path = strdup(a.sun_path);
	unlink(a.sun_path); /* a stale socket of a killed daemon */
	ctl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (!ctl->path || ctl->fd < 0 ||
	    bind(ctl->fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    chmod(a.sun_path, 0666) < 0 || listen(ctl->fd, 64) < 0 ||
	    pthread_create(&ctl->thread, NULL, accept_main, ctl)) {
		rc = errno ? -errno : -ENOMEM;
		store_log(STORE_LOG_ERR, "cannot serve commands on %s: %s",
			  a.sun_path, strerror(-rc));
		if (ctl->fd >= 0)
			close(ctl->fd);
		goto out_free;
	}
	*out = ctl;
	return 0;
out_free:
	if (ctl)
		free(ctl->path);
	free(ctl);
	return rc;
}

void fs_ctl_stop(struct fs_ctl *ctl)
{
	if (!ctl)
		return;
	shutdown(ctl->fd, SHUT_RDWR);
	pthread_join(ctl->thread, NULL);
	close(ctl->fd);
	unlink(ctl->path);
	free(ctl->path);
	free(ctl);
}

/* ------------------------------------------------------------ client */

static int send_request(int fd, int argc, char **argv)
{
	char cwd[4096];
	json_t *req, *av = json_array();
	char *line;
	int rc;

	if (!getcwd(cwd, sizeof(cwd)))
		return -errno;
	for (int i = 0; i < argc; i++)
		json_array_append_new(av, json_string(argv[i]));
	req = json_pack("{s:o, s:s}", "argv", av, "cwd", cwd);
	line = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (!line)
		return -ENOMEM;
	rc = write_all(fd, line, strlen(line));
	if (!rc)
		rc = write_all(fd, "\n", 1);
	free(line);
	return rc;
}

/* Copies frames to stdout and stderr until the exit frame. */
static int relay(int fd, int *status)
{
	char buf[65536];

	for (;;) {
		uint8_t h[5];
		uint32_t len;
		int rc = read_all(fd, h, 5);

		if (rc)
			return rc;
		len = (uint32_t)h[1] << 24 | (uint32_t)h[2] << 16 |
		      (uint32_t)h[3] << 8 | h[4];
		while (len) {
			size_t n = len < sizeof(buf) ? len : sizeof(buf);

			rc = read_all(fd, buf, n);
			if (rc)
				return rc;
			if (h[0] == 'x' && n == 4) {
				*status =
				    (int)((uint32_t)(uint8_t)buf[0] << 24 |
					  (uint32_t)(uint8_t)buf[1] << 16 |
					  (uint32_t)(uint8_t)buf[2] << 8 |
					  (uint8_t)buf[3]);
				return 0;
			}
			fwrite(buf, 1, n, h[0] == 'o' ? stdout : stderr);
			len -= (uint32_t)n;
		}
		if (h[0] == 'e')
			fflush(stderr);
	}
}

int fs_ctl_forward(const char *store_dir, int argc, char **argv, int *status)
{
	struct sockaddr_un a;
	int fd, rc = sock_path(store_dir, &a);

	if (rc)
		return rc;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		rc = -errno;
		close(fd);
		return rc == -ECONNREFUSED ? -ENOENT : rc;
	}
	rc = send_stdin(fd);
	if (!rc)
		rc = send_request(fd, argc, argv);
	if (!rc)
		rc = relay(fd, status);
	close(fd);
	if (rc)
		store_log(STORE_LOG_ERR, "lost the mount daemon of %s: %s",
			  store_dir, strerror(-rc));
	return rc;
}

/* Interim: the client-side file operations arrive with the new socket. */
int fs_ctl_open(struct fs_ctl_conn *c, const char *path, int flags, mode_t mode)
{
	(void)c, (void)path, (void)flags, (void)mode;
	return -ENOSYS;
}
int fs_ctl_stat(struct fs_ctl_conn *c, const char *path, bool follow,
		struct stat *st)
{
	(void)c, (void)path, (void)follow, (void)st;
	return -ENOSYS;
}
int fs_ctl_mkdir(struct fs_ctl_conn *c, const char *path, mode_t mode)
{
	(void)c, (void)path, (void)mode;
	return -ENOSYS;
}
int fs_ctl_symlink(struct fs_ctl_conn *c, const char *target, const char *path)
{
	(void)c, (void)path, (void)target;
	return -ENOSYS;
}
ssize_t fs_ctl_readlink(struct fs_ctl_conn *c, const char *path, char *buf,
			size_t len)
{
	(void)c, (void)path, (void)buf, (void)len;
	return -ENOSYS;
}
int fs_ctl_rename(struct fs_ctl_conn *c, const char *from, const char *to)
{
	(void)c, (void)from, (void)to;
	return -ENOSYS;
}
int fs_ctl_unlink(struct fs_ctl_conn *c, const char *path, bool dir)
{
	(void)c, (void)path, (void)dir;
	return -ENOSYS;
}
int fs_ctl_link(struct fs_ctl_conn *c, const char *from, const char *to)
{
	(void)c, (void)from, (void)to;
	return -ENOSYS;
}
int fs_ctl_progress(struct fs_ctl_conn *c, const char *label, uint64_t done,
		    uint64_t total)
{
	(void)c, (void)label, (void)done, (void)total;
	return 0;
}
bool fs_ctl_cancelled(struct fs_ctl_conn *c)
{
	(void)c;
	return false;
}
