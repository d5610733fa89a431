/*
 * exec_child.c - CMD of `run exec`, forked into a session of its own and
 * held there until its session is bound to the step (so that not one of
 * its reads escapes the capture), then let go and waited for.
 *
 * A pipe holds the child before exec: one byte lets it go, EOF ends it
 * (126, nothing run).  A second pipe (close-on-exec) brings back the
 * errno of a failed exec.  CMD runs out of the terminal's reach: the
 * signals the terminal sends us are passed on to its process group.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec_i.h"
#include "cli_i.h"

static volatile sig_atomic_t child_pid;
static const int fwd_signals[FS_EXEC_NSIGNALS] = {SIGINT, SIGTERM, SIGHUP,
						  SIGQUIT};

/* A signal for us is one for CMD's whole process group. */
static void pass_signal(int sig)
{
	pid_t pid = child_pid;

	if (pid > 0 && kill(-pid, sig) < 0)
		kill(pid, sig);
}

/* In the child: a new session, wait for the parent's go, exec CMD.  An
 * exec failure is sent back through err_fd as an errno. */
__attribute__((noreturn)) static void child(char **cmd, int go_fd, int err_fd,
					    const struct sigaction *old,
					    const sigset_t *mask)
{
	int e;
	char c;

	for (size_t i = 0; i < FS_EXEC_NSIGNALS; i++)
		sigaction(fwd_signals[i], &old[i], NULL);
	sigprocmask(SIG_SETMASK, mask, NULL);
	setsid();
	if (read(go_fd, &c, 1) != 1)
		_exit(126); /* the parent could not bind: run nothing */
	fs_nofile_restore();
	execvp(cmd[0], cmd);
	e = errno;
	if (write(err_fd, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(e == ENOENT ? 127 : 126);
}

/* Waits for pid; its exit status, 128 + N for signal N. */
static int reap(pid_t pid)
{
	int ws;

	while (waitpid(pid, &ws, 0) < 0)
		if (errno != EINTR)
			return 1;
	if (WIFSIGNALED(ws))
		return 128 + WTERMSIG(ws);
	return WEXITSTATUS(ws);
}

static void restore_signals(struct fs_exec_child *c)
{
	child_pid = 0;
	for (size_t i = 0; i < FS_EXEC_NSIGNALS; i++)
		sigaction(fwd_signals[i], &c->old[i], NULL);
}

int fs_exec_spawn(char **cmd, struct fs_exec_child *out)
{
	struct sigaction sa = {.sa_handler = pass_signal};
	sigset_t block, mask;
	int go[2], err[2], rc;

	if (pipe2(go, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(err, O_CLOEXEC) < 0) {
		rc = -errno;
		goto out_go;
	}
	sigemptyset(&block);
	for (size_t i = 0; i < FS_EXEC_NSIGNALS; i++) {
		sigaddset(&block, fwd_signals[i]);
		sigaction(fwd_signals[i], &sa, &out->old[i]);
	}
	fflush(stdout);
	fflush(stderr);
	sigprocmask(SIG_BLOCK, &block, &mask);
	out->pid = fork();
	if (out->pid == 0) {
		close(go[1]);
		close(err[0]);
		child(cmd, go[0], err[1], out->old, &mask);
	}
	child_pid = out->pid;
	sigprocmask(SIG_SETMASK, &mask, NULL);
	close(go[0]);
	close(err[1]);
	if (out->pid < 0) {
		rc = -errno;
		restore_signals(out);
		close(go[1]);
		close(err[0]);
		return rc;
	}
	out->go_fd = go[1];
	out->err_fd = err[0];
	return 0;
out_go:
	close(go[0]);
	close(go[1]);
	return rc;
}

int fs_exec_go(struct fs_exec_child *c, const char *cmd0)
{
	struct sigaction ign = {.sa_handler = SIG_IGN}, old_pipe;
	ssize_t n;
	int e = 0, status;

	/* A signal passed on may have ended the child already: then the
	 * write fails with EPIPE, which must not kill us. */
	sigaction(SIGPIPE, &ign, &old_pipe);
	if (write(c->go_fd, "g", 1) != 1)
		kill(c->pid, SIGKILL);
	sigaction(SIGPIPE, &old_pipe, NULL);
	close(c->go_fd);
	do
		n = read(c->err_fd, &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	status = reap(c->pid);
	close(c->err_fd);
	if (n == (ssize_t)sizeof(e)) {
		store_log(STORE_LOG_ERR, "%s: %s", cmd0, strerror(e));
		status = e == ENOENT ? 127 : 126;
	}
	restore_signals(c);
	return status;
}

void fs_exec_cancel(struct fs_exec_child *c)
{
	close(c->go_fd); /* the child sees EOF and exits */
	reap(c->pid);
	close(c->err_fd);
	restore_signals(c);
}
