/*
 * ctl_harness.c - a command socket without a store, for tests/cli/hostile.sh:
 * `ctl_harness serve DIR` serves DIR/daemon.sock with a handler that runs a
 * few test commands through the fs_ctl_* API (the file operations the real
 * commands will use), until SIGTERM; `ctl_harness run DIR ARGS...` is the
 * client (fs_ctl_forward) and exits with the command's status.
 *
 * Commands: echo ARGS, whoami (uid gid groups), open PATH (reads it through
 * fs_ctl_open and prints the byte count), stat PATH, stdin (counts the
 * bytes of the passed standard input), sleep MS.
 */
#include "base.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Reads fd to its end, or until the client leaves. */
static long long drain(struct fs_ctl_conn *c, int fd)
{
	char buf[65536];
	long long total = 0;
	ssize_t n;

	while (!fs_ctl_cancelled(c) && (n = read(fd, buf, sizeof(buf))) > 0)
		total += n;
	return fs_ctl_cancelled(c) ? -ECANCELED : total;
}

static int cmd(struct fs_ctl_req *req, FILE *out, FILE *err)
{
	const char *what = req->argc > 1 ? req->argv[1] : "";
	const char *arg = req->argc > 2 ? req->argv[2] : "";
	struct stat st;
	int fd, rc;

	if (!strcmp(what, "echo")) {
		for (int i = 2; i < req->argc; i++)
			fprintf(out, "%s%s", req->argv[i],
				i + 1 < req->argc ? " " : "\n");
		return 0;
	}
	if (!strcmp(what, "whoami")) {
		fprintf(out, "%u %u", (unsigned)req->caller.uid,
			(unsigned)req->caller.gid);
		for (size_t i = 0; i < req->caller.ngroups; i++)
			fprintf(out, " %u", (unsigned)req->caller.groups[i]);
		fprintf(out, "\n");
		return 0;
	}
	if (!strcmp(what, "open")) {
		fd = fs_ctl_open(req->conn, arg, O_RDONLY, 0);
		if (fd < 0) {
			fprintf(err, "open %s: %s\n", arg, strerror(-fd));
			return 1;
		}
		fprintf(out, "read %lld\n", drain(req->conn, fd));
		close(fd);
		return 0;
	}
	if (!strcmp(what, "stat")) {
		rc = fs_ctl_stat(req->conn, arg, true, &st);
		if (rc < 0) {
			fprintf(err, "stat %s: %s\n", arg, strerror(-rc));
			return 1;
		}
		fprintf(out, "size %lld uid %u\n", (long long)st.st_size,
			(unsigned)st.st_uid);
		return 0;
	}
	if (!strcmp(what, "stdin")) {
		fprintf(out, "stdin %lld\n",
			req->in < 0 ? -1LL : drain(req->conn, req->in));
		return 0;
	}
	if (!strcmp(what, "sleep")) {
		for (long ms = atol(arg);
		     ms > 0 && !fs_ctl_cancelled(req->conn); ms -= 50)
			usleep(50 * 1000);
		fprintf(out, "slept\n");
		return 0;
	}
	fprintf(err, "unknown test command '%s'\n", what);
	return 2;
}

static int handler(void *arg, struct fs_ctl_req *req, FILE *out, FILE *err)
{
	(void)arg;
	return cmd(req, out, err);
}

int main(int argc, char **argv)
{
	struct fs_ctl *ctl;
	sigset_t set;
	int sig, status = 1;

	if (argc >= 3 && !strcmp(argv[1], "run")) {
		struct fs_progress_relay pr;

		fs_progress_relay_init(&pr);
		if (fs_ctl_forward(argv[2], argc - 2, argv + 2, &pr.draw,
				   &status))
			return 3;
		return status;
	}
	if (argc != 3 || strcmp(argv[1], "serve")) {
		fprintf(stderr, "usage: ctl_harness serve|run DIR [ARGS...]\n");
		return 2;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (fs_ctl_start(argv[2], handler, NULL, &ctl))
		return 1;
	printf("ready\n");
	fflush(stdout);
	sigwait(&set, &sig);
	fs_ctl_stop(ctl);
	return 0;
}
