/*
 * ctl.c - the command socket of a mounted store: the server.
 *
 * The mount daemon holds the store (RocksDB admits one process), so while
 * it runs every `artifactfs` command is carried out by the daemon: the
 * client (ctl_client.c) sends its argv, the daemon runs the handler and
 * streams back its output.  The socket is reachable by every local user,
 * so everything a client sends is hostile until ctl_wire.c has validated
 * it, and the daemon acts on the local file system only through the
 * client (the 'f' exchange below), never with its own rights.
 *
 * Wire format (version 1; client and daemon are the same binary).  Every
 * message is a frame: a type byte, a 4-byte big-endian payload length and
 * the payload.
 *   client -> daemon
 *     'q' request, first frame: JSON {"argv": [strings], "tty": bool}, at
 *         most 1 MiB; its first byte may carry one descriptor (SCM_RIGHTS),
 *         the client's standard input.
 *     'c' a typed call instead of 'q', first frame: JSON {"call": NAME,
 *         "args": {...}}, at most 64 KiB, no descriptor; NAME is one of
 *         the run operations ("run.status", "run.open", "run.step",
 *         "run.input", "run.note", "run.bind", "run.unbind", "run.end")
 *         and args holds exactly its typed members (ctl_wire_i.h).
 *     'r' reply to an 'f': JSON {"rc": n, "st": {...}, "data": "hex"};
 *         the reply to a successful open carries the opened descriptor.
 *   daemon -> client
 *     'o', 'e' bytes for stdout, stderr
 *     'f' a file operation: JSON {"op", "path", "path2", "flags", "mode",
 *         "follow", "dir", "len"}, answered by exactly one 'r'
 *     'p' progress: JSON {"label", "done", "total"}; label "" ends it
 *     'a' the result of a call, after its 'e' lines: JSON {"rc": -errno}
 *         and, when rc is 0, {"status", "owner"} (run.status) or
 *         {"artifact", "version"} (run.input)
 *     '!' why the request was refused (text, one line)
 *     'x' the exit status (4 bytes, big-endian), always last
 * Any other descriptor, in any message, is closed and ends the request.
 *
 * Threads: one accept thread hands connections to a bounded queue read by
 * a fixed pool of workers (one request each at a time); a monitor thread
 * notices clients that hung up while their handler runs and cancels the
 * request.  ctl->lock guards the queue, the connection list and each
 * connection's running/in; conn->send_lock keeps frames whole; conn->op_lock
 * keeps one file operation in flight per connection.
 */
#include "acl.h"
#include "ctl_io_i.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct limits {
	long workers, queue, per_uid, header_ms, stall_ms;
};

struct fs_ctl {
	int fd;
	int revoke_fd; /* a directory: read(2) on it fails with EISDIR */
	char *path;
	fs_ctl_handler fn;
	void *arg;
	struct limits lim;
	pthread_t acceptor, monitor;
	pthread_t *workers;
	long nworkers;
	pthread_mutex_t lock;
	pthread_cond_t wake, mon_wake;
	struct fs_ctl_conn *head, *tail; /* waiting for a worker */
	struct fs_ctl_conn *all;	 /* queued and being served */
	long nqueued;
	bool stopping;
};

static long env_limit(const char *name, long def)
{
	const char *v = getenv(name);
	char *end;
	long n;

	if (!v || !*v)
		return def;
	n = strtol(v, &end, 10);
	return *end || n <= 0 || n > 100000000 ? def : n;
}

/* The caller as the kernel saw it connect: uid, gid, pid, groups. */
static int peer_caller(int fd, struct store_caller *caller)
{
	gid_t small[64], *groups = small;
	socklen_t len = sizeof(small);
	struct ucred cr;
	socklen_t crlen = sizeof(cr);
	int rc = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) < 0)
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0) {
		if (errno != ERANGE)
			return -errno;
		groups = malloc(len);
		if (!groups)
			return -ENOMEM;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
			rc = -errno;
	}
	if (!rc)
		acl_caller_make(cr.uid, cr.gid, cr.pid, groups,
				len / sizeof(gid_t), caller);
	if (groups != small)
		free(groups);
	return rc;
}

/* Queues a new connection, or refuses it over a limit. */
static void admit(struct fs_ctl *ctl, int fd)
{
	struct fs_ctl_conn *c = calloc(1, sizeof(*c)), *o;
	const char *why = NULL;
	long mine = 0;

	if (!c || peer_caller(fd, &c->caller)) {
		ctl_refuse(fd, "cannot accept the connection");
		free(c);
		return;
	}
	c->ctl = ctl;
	c->fd = fd;
	c->lock = &ctl->lock;
	c->revoke_fd = ctl->revoke_fd;
	c->stall_ms = ctl->lim.stall_ms;
	c->in = -1;
	c->deadline = ctl_now_ms() + ctl->lim.header_ms;
	pthread_mutex_init(&c->send_lock, NULL);
	pthread_mutex_init(&c->op_lock, NULL);
	pthread_mutex_lock(&ctl->lock);
	for (o = ctl->all; o; o = o->next)
		mine += o->caller.uid == c->caller.uid;
	if (ctl->stopping)
		why = "stopping";
	else if (c->caller.uid != 0 && mine >= ctl->lim.per_uid)
		why = "busy: too many connections of this user";
	else if (ctl->nqueued >= ctl->lim.queue)
		why = "busy: too many connections";
	if (!why) {
		c->next = ctl->all;
		if (ctl->all)
			ctl->all->prev = c;
		ctl->all = c;
		if (ctl->tail)
			ctl->tail->qnext = c;
		else
			ctl->head = c;
		ctl->tail = c;
		ctl->nqueued++;
		pthread_cond_signal(&ctl->wake);
	}
	pthread_mutex_unlock(&ctl->lock);
	if (why) {
		ctl_refuse(fd, why);
		pthread_mutex_destroy(&c->send_lock);
		pthread_mutex_destroy(&c->op_lock);
		free(c);
	}
}

static void *accept_main(void *arg)
{
	struct fs_ctl *ctl = arg;
	bool stopping;

	for (;;) {
		int fd = accept4(ctl->fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd >= 0) {
			admit(ctl, fd);
			continue;
		}
		pthread_mutex_lock(&ctl->lock);
		stopping = ctl->stopping;
		pthread_mutex_unlock(&ctl->lock);
		if (stopping)
			return NULL;
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		/* EMFILE, ENFILE, ENOMEM, ENOBUFS and the like pass: back off
		 * and retry, never give up. */
		usleep(50 * 1000);
	}
}

/* Watches the clients of running requests for a hang-up. */
static void *monitor_main(void *arg)
{
	struct fs_ctl *ctl = arg;

	pthread_mutex_lock(&ctl->lock);
	while (!ctl->stopping) {
		struct timespec until;

		for (struct fs_ctl_conn *c = ctl->all; c; c = c->next)
			if (c->running && !atomic_load(&c->cancelled) &&
			    ctl_hung_up(c->fd))
				ctl_conn_cancel_locked(c);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 200 * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&ctl->mon_wake, &ctl->lock, &until);
	}
	pthread_mutex_unlock(&ctl->lock);
	return NULL;
}

/* Keeps the client's standard input only if it is a kind the handler may
 * read: a pipe, a socket, a regular file or a character device. */
static int check_stdin(int fd)
{
	struct stat st;
	int fl;

	if (fd < 0)
		return -1;
	fl = fcntl(fd, F_GETFL);
	if (fstat(fd, &st) == 0 && fl >= 0 && !(fl & O_PATH) &&
	    (fl & O_ACCMODE) != O_WRONLY &&
	    (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) ||
	     S_ISREG(st.st_mode) || S_ISCHR(st.st_mode)))
		return fd;
	close(fd);
	return -1;
}

struct stream {
	struct fs_ctl_conn *c;
	enum ctl_frame type;
};

/* A cookie write returns what it wrote, 0 on error: glibc takes a
 * negative return for a count (fopencookie(3)), and a client gone
 * mid-stream then had fwrite read far past the caller's buffer. */
static ssize_t stream_write(void *cookie, const char *buf, size_t len)
{
	struct stream *s = cookie;

	return ctl_send_frame(s->c, s->type, buf, len) ? 0 : (ssize_t)len;
}

/* Runs the handler on a decoded request (or call, with its result). */
static int run(struct fs_ctl_conn *c, struct ctl_request *r,
	       const struct ctl_call *call, struct ctl_result *result, int in)
{
	struct fs_ctl *ctl = c->ctl;
	struct fs_ctl_req req = {.caller = c->caller,
				 .argc = r->argc,
				 .argv = r->argv,
				 .call = call,
				 .result = result,
				 .in = in,
				 .tty = r->tty,
				 .conn = c};
	struct stream so = {c, CTL_F_STDOUT}, se = {c, CTL_F_STDERR};
	cookie_io_functions_t io = {.write = stream_write};
	FILE *out = fopencookie(&so, "w", io), *err = fopencookie(&se, "w", io);
	int status = 1;

	c->tty = r->tty;
	pthread_mutex_lock(&ctl->lock);
	c->in = in;
	c->running = true;
	if (ctl->stopping)
		ctl_conn_cancel_locked(c);
	pthread_mutex_unlock(&ctl->lock);
	if (out && err)
		status = ctl->fn(ctl->arg, &req, out, err);
	else
		ctl_send_frame(c, CTL_F_ERROR, "out of memory", 13);
	if (out)
		fclose(out);
	if (err)
		fclose(err);
	pthread_mutex_lock(&ctl->lock);
	c->running = false;
	c->in = -1;
	pthread_mutex_unlock(&ctl->lock);
	if (in >= 0)
		close(in); /* ours, or the revoking copy dup3 put there */
	return status;
}

/* Why the first frame was refused, for the client. */
static const char *recv_why(int rc)
{
	switch (rc) {
	case 0:
	case -ECONNRESET:
	case -ECANCELED:
		return NULL;
	case -ETIMEDOUT:
		return "the request did not arrive in time";
	case -EMSGSIZE:
		return "request too large (over 1 MiB)";
	case -EBADMSG:
		return "unexpected descriptors in the request";
	case -ENOMEM:
		return "out of memory";
	default:
		return "malformed request frame";
	}
}

/* Runs a typed call ('c'): the handler fills the result, sent as 'a'
 * after the handler's error lines. */
static int serve_call(struct fs_ctl_conn *c, const char *buf, uint32_t len,
		      const char **why)
{
	struct ctl_call call;
	struct ctl_result res = {.rc = -EIO};
	struct ctl_request none = {0};
	char *msg;
	size_t n;
	int status, rc = len > CTL_CALL_MAX ? -EMSGSIZE : 0;

	if (!rc)
		rc = ctl_call_decode(buf, len, &call, why);
	else
		*why = "call too large (over 64 KiB)";
	if (rc)
		return rc;
	status = run(c, &none, &call, &res, -1);
	if (ctl_result_encode(call.op, &res, &msg, &n) == 0) {
		ctl_send_frame(c, CTL_F_RESULT, msg, n);
		explicit_bzero(msg, n); /* run.secret: a value in hex */
		free(msg);
	}
	ctl_result_release(&res);
	ctl_call_release(&call);
	return status;
}

/* Receives, validates and runs one request or call; always ends with
 * 'x'. */
static void serve(struct fs_ctl_conn *c)
{
	struct ctl_request r = {0};
	enum ctl_frame type = CTL_F_REQUEST;
	const char *why;
	char *buf = NULL;
	uint32_t len;
	int in = -1, status = 2;
	int rc =
	    ctl_recv_frame(c, (char[]){CTL_F_REQUEST, CTL_F_CALL, 0},
			   CTL_REQ_MAX, c->deadline, &in, &type, &buf, &len);

	why = recv_why(rc);
	if (!rc && type == CTL_F_CALL && in >= 0) {
		why = "unexpected descriptors in the request";
		rc = -EBADMSG;
	} else if (!rc && type == CTL_F_CALL) {
		status = serve_call(c, buf, len, &why);
		rc = status < 0 ? status : 0;
		status = status < 0 ? 2 : status;
	} else if (!rc) {
		rc = ctl_request_decode(buf, len, &r, &why);
		if (!rc) {
			status = run(c, &r, NULL, NULL, check_stdin(in));
			in = -1; /* run closed it */
		}
	}
	ctl_send_end(c, why && rc ? why : NULL, status);
	if (in >= 0)
		close(in);
	free(buf);
	ctl_request_release(&r);
}

static void conn_free(struct fs_ctl_conn *c)
{
	struct fs_ctl *ctl = c->ctl;

	pthread_mutex_lock(&ctl->lock);
	if (c->prev)
		c->prev->next = c->next;
	else
		ctl->all = c->next;
	if (c->next)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&ctl->lock);
	close(c->fd);
	pthread_mutex_destroy(&c->send_lock);
	pthread_mutex_destroy(&c->op_lock);
	free(c);
}

static void *worker_main(void *arg)
{
	struct fs_ctl *ctl = arg;

	for (;;) {
		struct fs_ctl_conn *c;
		struct timeval tv;

		pthread_mutex_lock(&ctl->lock);
		while (!ctl->head && !ctl->stopping)
			pthread_cond_wait(&ctl->wake, &ctl->lock);
		c = ctl->head;
		if (!c) {
			pthread_mutex_unlock(&ctl->lock);
			return NULL;
		}
		ctl->head = c->qnext;
		if (!ctl->head)
			ctl->tail = NULL;
		ctl->nqueued--;
		pthread_mutex_unlock(&ctl->lock);
		tv.tv_sec = ctl->lim.stall_ms / 1000;
		tv.tv_usec = ctl->lim.stall_ms % 1000 * 1000;
		setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		serve(c);
		conn_free(c);
	}
}

static int sock_path(const char *store_dir, struct sockaddr_un *a)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if ((size_t)snprintf(a->sun_path, sizeof(a->sun_path), "%s/%s",
			     store_dir, CTL_SOCK_NAME) >= sizeof(a->sun_path))
		return -ENAMETOOLONG;
	return 0;
}

/* Starts the pool, the monitor and the accept thread. */
static int start_threads(struct fs_ctl *ctl)
{
	ctl->workers = calloc((size_t)ctl->lim.workers, sizeof(pthread_t));
	if (!ctl->workers)
		return -ENOMEM;
	for (; ctl->nworkers < ctl->lim.workers; ctl->nworkers++)
		if (pthread_create(&ctl->workers[ctl->nworkers], NULL,
				   worker_main, ctl))
			return -EAGAIN;
	if (pthread_create(&ctl->monitor, NULL, monitor_main, ctl))
		return -EAGAIN;
	if (pthread_create(&ctl->acceptor, NULL, accept_main, ctl)) {
		pthread_mutex_lock(&ctl->lock);
		ctl->stopping = true;
		pthread_cond_broadcast(&ctl->mon_wake);
		pthread_mutex_unlock(&ctl->lock);
		pthread_join(ctl->monitor, NULL);
		return -EAGAIN;
	}
	return 0;
}

/* Ends the workers start_threads started (the others never ran). */
static void join_workers(struct fs_ctl *ctl)
{
	pthread_mutex_lock(&ctl->lock);
	ctl->stopping = true;
	pthread_cond_broadcast(&ctl->wake);
	pthread_mutex_unlock(&ctl->lock);
	for (long i = 0; i < ctl->nworkers; i++)
		pthread_join(ctl->workers[i], NULL);
	free(ctl->workers);
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
	ctl->lim = (struct limits){
	    env_limit("ARTIFACTFS_CTL_WORKERS", 16),
	    env_limit("ARTIFACTFS_CTL_QUEUE", 64),
	    env_limit("ARTIFACTFS_CTL_PER_UID", 8),
	    env_limit("ARTIFACTFS_CTL_HEADER_MS", 10000),
	    env_limit("ARTIFACTFS_CTL_STALL_MS", 120000),
	};
	pthread_mutex_init(&ctl->lock, NULL);
	pthread_cond_init(&ctl->wake, NULL);
	pthread_cond_init(&ctl->mon_wake, NULL);
	ctl->path = strdup(a.sun_path);
	ctl->revoke_fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	unlink(a.sun_path); /* a stale socket of a killed daemon */
	ctl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	errno = ENOMEM;
	if (!ctl->path || ctl->revoke_fd < 0 || ctl->fd < 0 ||
	    bind(ctl->fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    chmod(a.sun_path, 0666) < 0 || listen(ctl->fd, 128) < 0) {
		rc = -errno;
		goto out_close;
	}
	rc = start_threads(ctl);
	if (rc) {
		join_workers(ctl);
		unlink(a.sun_path);
		goto out_close;
	}
	*out = ctl;
	return 0;
out_close:
	store_log(STORE_LOG_ERR, "cannot serve commands on %s: %s", a.sun_path,
		  strerror(-rc));
	if (ctl->fd >= 0)
		close(ctl->fd);
	if (ctl->revoke_fd >= 0)
		close(ctl->revoke_fd);
	pthread_cond_destroy(&ctl->wake);
	pthread_cond_destroy(&ctl->mon_wake);
	pthread_mutex_destroy(&ctl->lock);
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
	pthread_mutex_lock(&ctl->lock);
	ctl->stopping = true;
	for (struct fs_ctl_conn *c = ctl->all; c; c = c->next)
		ctl_conn_cancel_locked(c);
	pthread_cond_broadcast(&ctl->wake);
	pthread_cond_broadcast(&ctl->mon_wake);
	pthread_mutex_unlock(&ctl->lock);
	shutdown(ctl->fd, SHUT_RDWR);
	pthread_join(ctl->acceptor, NULL);
	join_workers(ctl);
	pthread_join(ctl->monitor, NULL);
	close(ctl->fd);
	close(ctl->revoke_fd);
	unlink(ctl->path);
	pthread_cond_destroy(&ctl->wake);
	pthread_cond_destroy(&ctl->mon_wake);
	pthread_mutex_destroy(&ctl->lock);
	free(ctl->path);
	free(ctl);
}
