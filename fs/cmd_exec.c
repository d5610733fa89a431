/*
 * cmd_exec.c - `artifactfs run exec`: runs a command as one step of a run
 * and records its lineage.
 *
 *     artifactfs run exec --pipeline P --step S [--run R] [--param K=V]...
 *         [--input NAME=ARTIFACT@REF]... [--mount MNT] [--no-seal]
 *         -- CMD [ARGS...]
 *
 * How: the mount daemon sees every read through the mount together with
 * the reader's pid, so it can tell which process session read which
 * version.  This command (a client of the daemon, never the daemon
 * itself) opens or joins the run, forks CMD into a session of its own,
 * binds that session to the step (`run bind P/R/S SID`) before CMD
 * starts, waits for it, unbinds, notes the exit status and seals the run
 * (CMD exited 0) or fails it (publishing nothing).  Everything it asks of
 * the store goes through the daemon as ordinary `artifactfs run ...`
 * command lines (fs_ctl_forward), with their output kept out of the way:
 * a command's error line is shown only when it fails.
 *
 * CMD's own stdin, stdout and stderr are ours; our summary line goes to
 * stderr (not with --quiet), so that CMD's stdout stays its own.  The exit
 * status is CMD's (128 + N when killed by signal N, 127 when it could not
 * be found, 126 when it could not be run).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctl_i.h"
#include "fs_i.h"

/* The most of a forwarded command's output we keep or replay. */
#define CAPTURE_MAX (16u << 20)
/* Operands of one forwarded command line, at most. */
#define CALL_ARGS_MAX 16

static const char exec_help[] =
    "usage: " FS_PROG " run exec --pipeline P --step S [OPTIONS] -- CMD "
    "[ARGS...]\n\n"
    "Runs CMD as step S of a run of pipeline P, with the store mounted.\n"
    "Every version that CMD (or anything it starts) reads through the\n"
    "mount is recorded as an input of the step; what it writes under\n"
    "$ARTIFACTFS_OUTPUTS/<name>/ becomes the next version of artifact\n"
    "<name> when the run is sealed.  Exit status 0 seals the run, anything\n"
    "else fails it (nothing is published); the exit status is CMD's.\n"
    "  --pipeline P       the pipeline (created if new)\n"
    "  --step S           the step CMD is\n"
    "  --run R            join open run R (or open it); default: a new\n"
    "                     run rYYYYmmddTHHMMSS-XXXX\n"
    "  --param K=V        note param.K=V on the run (repeatable)\n"
    "  --input NAME=A@REF declare version A@REF an input; CMD finds it at\n"
    "                     $ARTIFACTFS_INPUT_<NAME> (repeatable)\n"
    "  --mount MNT        the mount point (default: found in mountinfo)\n"
    "  --no-seal          leave the run open when CMD succeeds (more\n"
    "                     steps to come; seal it with 'run seal P/R')\n"
    "CMD's environment also has ARTIFACTFS_RUN=P/R, ARTIFACTFS_STEP=S,\n"
    "ARTIFACTFS_OUTPUTS, ARTIFACTFS_MOUNT and ARTIFACTFS_STORE.\n"
    "\n"
    "Global options: --store DIR, --config FILE, -q/--quiet (no summary\n"
    "line), -v/--verbose.\n";

struct exec {
	struct fs_ctx *ctx;
	const char *pipeline, *step, *run_arg, *mount_arg;
	char **params, **inputs; /* "K=V", "[NAME=]A@REF", borrowed */
	size_t nparams, ninputs;
	bool no_seal;
	char **cmd; /* CMD and its arguments, NULL-terminated, borrowed */
	char run[STORE_NAME_MAX + 1];
	char pr[2 * (STORE_NAME_MAX + 1)];  /* "P/R" */
	char prs[3 * (STORE_NAME_MAX + 1)]; /* "P/R/S" */
	char mnt[PATH_MAX];
	bool opened; /* we opened the run (rather than joined it) */
};

/* ---------------------------------------------------- talking to the daemon */

enum call_flags {
	CALL_CAPTURE = 1 << 0, /* keep the command's stdout for the caller */
	CALL_QUIET = 1 << 1,   /* drop its error line even when it fails */
	CALL_JSON = 1 << 2,    /* pass --json */
};

/* Reads what fd (a memfd) holds into a malloc'd string. */
static int slurp(int fd, char **out)
{
	off_t len = lseek(fd, 0, SEEK_END);
	char *buf;
	ssize_t n;

	*out = NULL;
	if (len < 0)
		return -errno;
	if ((uint64_t)len > CAPTURE_MAX)
		return -EFBIG;
	buf = malloc((size_t)len + 1);
	if (!buf)
		return -ENOMEM;
	n = pread(fd, buf, (size_t)len, 0);
	if (n < 0) {
		free(buf);
		return -errno;
	}
	buf[n] = '\0';
	*out = buf;
	return 0;
}

/* Points fd 1 or 2 at to, saving the old one in *saved. */
static int redirect(int fd, int to, int *saved)
{
	fflush(fd == 1 ? stdout : stderr);
	*saved = dup(fd);
	if (*saved < 0 || dup2(to, fd) < 0)
		return -errno;
	return 0;
}

static void restore(int fd, int saved)
{
	if (saved < 0)
		return;
	fflush(fd == 1 ? stdout : stderr);
	dup2(saved, fd);
	close(saved);
}

/* Sends av to the daemon with stdout sent to ofd and stderr to efd. */
static int forward(struct exec *x, int ac, char **av, int ofd, int efd,
		   int *status)
{
	int so = -1, se = -1;
	int rc = redirect(1, ofd, &so);

	if (!rc)
		rc = redirect(2, efd, &se);
	if (!rc)
		rc = fs_ctl_forward(x->ctx->store_dir, ac, av, status);
	restore(2, se);
	restore(1, so);
	return rc;
}

/* Shows the error lines a forwarded command left in efd. */
static void replay(int efd)
{
	char *err = NULL;

	if (slurp(efd, &err) == 0)
		fputs(err, stderr);
	free(err);
}

/*
 * Runs `artifactfs run OP ARGS...` (a NULL-terminated list) through the
 * daemon.  Returns its exit status (its error line replayed on stderr
 * unless CALL_QUIET), or a negative errno (logged) when the daemon cannot
 * be reached.  With CALL_CAPTURE, *out is its stdout (the caller frees).
 */
static int call(struct exec *x, unsigned flags, char **out, ...)
{
	char *av[CALL_ARGS_MAX + 8], *a;
	int ac = 0, status = 1, rc = 0, ofd, efd;
	va_list ap;

	av[ac++] = FS_PROG;
	av[ac++] = "--store";
	av[ac++] = x->ctx->store_dir;
	if (x->ctx->config_arg) {
		av[ac++] = "--config";
		av[ac++] = (char *)x->ctx->config_arg;
	}
	av[ac++] = "-q";
	av[ac++] = "run";
	if (flags & CALL_JSON)
		av[ac++] = "--json";
	av[ac++] = "--"; /* a note's value may start with '-' */
	va_start(ap, out);
	while ((a = va_arg(ap, char *)) && ac < CALL_ARGS_MAX + 7)
		av[ac++] = a;
	va_end(ap);
	av[ac] = NULL;

	ofd = (flags & CALL_CAPTURE) ? memfd_create("afs-out", MFD_CLOEXEC)
	      : x->ctx->verbose	     ? dup(1)
				     : open("/dev/null", O_WRONLY | O_CLOEXEC);
	efd = memfd_create("afs-err", MFD_CLOEXEC);
	if (ofd < 0 || efd < 0) {
		rc = -errno;
		goto out_close;
	}
	rc = forward(x, ac, av, ofd, efd, &status);
	if (rc == -ENOENT)
		store_log(STORE_LOG_ERR,
			  "no mount daemon answers on %s/daemon.sock (is the "
			  "store mounted?)",
			  x->ctx->store_dir);
	if (rc || (status && !(flags & CALL_QUIET)))
		replay(efd);
	if (!rc && (flags & CALL_CAPTURE))
		rc = slurp(ofd, out);
out_close:
	if (ofd >= 0)
		close(ofd);
	if (efd >= 0)
		close(efd);
	return rc ? rc : status;
}

/* ------------------------------------------------------- the mount point */

/* Undoes mountinfo's octal escapes (\040 for a space) in place. */
static void unescape(char *s)
{
	char *d = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] &&
		    s[3]) {
			*d++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 |
				      (s[3] - '0'));
			s += 3;
		} else {
			*d++ = *s;
		}
	}
	*d = '\0';
}

/* Whether source (a mount's fsname: the store directory it was mounted
 * with) names the store at want (resolved). */
static bool same_store(const char *source, const char *given, const char *want)
{
	char real[PATH_MAX];

	if (!strcmp(source, given) || !strcmp(source, want))
		return true;
	return realpath(source, real) && !strcmp(real, want);
}

/* Parses one mountinfo line: its mount point and source, if its type is
 * fuse.artifactfs. */
static bool afs_mount_line(char *line, char **point, char **source)
{
	char *save = NULL, *tok, *sep = strstr(line, " - ");
	int i = 0;

	if (!sep)
		return false;
	*sep = '\0';
	for (tok = strtok_r(line, " ", &save); tok && i < 4; i++)
		tok = strtok_r(NULL, " ", &save);
	*point = tok;
	tok = strtok_r(sep + 3, " ", &save);
	if (!*point || !tok || strcmp(tok, "fuse.artifactfs"))
		return false;
	*source = strtok_r(NULL, " ", &save);
	if (!*source)
		return false;
	unescape(*point);
	unescape(*source);
	return true;
}

/* Finds where the store is mounted (or checks --mount) into x->mnt. */
static int find_mount(struct exec *x)
{
	const char *given = x->ctx->store_dir;
	char want[PATH_MAX], asked[PATH_MAX] = "", line[8192];
	char *point, *source;
	FILE *f = fopen("/proc/self/mountinfo", "r");
	int rc = -ENOTCONN;

	if (!realpath(given, want))
		snprintf(want, sizeof(want), "%s", given);
	if (x->mount_arg && !realpath(x->mount_arg, asked)) {
		store_log(STORE_LOG_ERR, "--mount %s: %s", x->mount_arg,
			  strerror(errno));
		rc = -errno;
		goto out;
	}
	while (f && rc && fgets(line, sizeof(line), f)) {
		if (!afs_mount_line(line, &point, &source))
			continue;
		if (asked[0] ? !strcmp(point, asked)
			     : same_store(source, given, want)) {
			snprintf(x->mnt, sizeof(x->mnt), "%s", point);
			rc = 0;
		}
	}
	if (rc && asked[0])
		store_log(STORE_LOG_ERR, "%s is not an artifactfs mount",
			  x->mount_arg);
	else if (rc)
		store_log(STORE_LOG_ERR,
			  "run exec needs the store mounted: "
			  "%s mount MNT",
			  FS_PROG);
out:
	if (f)
		fclose(f);
	return rc;
}

/* ------------------------------------------------------------ the run */

/* A fresh run id: "r" + UTC time + 4 random hex digits. */
static void make_run_id(char *out, size_t size)
{
	time_t now = time(NULL);
	uint16_t rnd = 0;
	struct tm tm;
	char stamp[32];

	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		rnd = (uint16_t)(getpid() ^ now);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
	snprintf(out, size, "r%s-%04x", stamp, (unsigned)rnd);
}

/* The status ("open", "sealed", "failed") of run x->run, from `run ls P
 * --json`, into *status (NULL when there is no such run). */
static int run_status(struct exec *x, char *status, size_t size)
{
	char *out = NULL;
	json_t *runs, *r;
	size_t i;
	int rc = call(x, CALL_CAPTURE | CALL_QUIET | CALL_JSON, &out, "ls",
		      x->pipeline, NULL);

	status[0] = '\0';
	if (rc) /* no such pipeline, say: then no such run either */
		goto out;
	runs = json_loads(out, 0, NULL);
	json_array_foreach(runs, i, r)
	{
		const char *name = json_string_value(json_object_get(r, "run"));
		const char *st =
		    json_string_value(json_object_get(r, "status"));

		if (name && st && !strcmp(name, x->run))
			snprintf(status, size, "%s", st);
	}
	json_decref(runs);
out:
	free(out);
	return rc < 0 ? rc : 0;
}

/* Opens the run with the step, or adds the step to it when it is open.
 * Returns 0, a failed command's exit status or a negative errno. */
static int open_or_join(struct exec *x)
{
	char status[32];
	int rc;

	if (!x->run_arg) {
		make_run_id(x->run, sizeof(x->run));
	} else {
		snprintf(x->run, sizeof(x->run), "%s", x->run_arg);
		rc = run_status(x, status, sizeof(status));
		if (rc)
			return rc;
		if (status[0] && strcmp(status, "open")) {
			store_log(STORE_LOG_ERR,
				  "run %s/%s is %s: no more steps can join it",
				  x->pipeline, x->run, status);
			return -EROFS;
		}
		if (status[0]) {
			snprintf(x->pr, sizeof(x->pr), "%s/%s", x->pipeline,
				 x->run);
			return call(x, 0, NULL, "step", x->pr, x->step, NULL);
		}
	}
	snprintf(x->pr, sizeof(x->pr), "%s/%s", x->pipeline, x->run);
	rc = call(x, 0, NULL, "open", x->pr, x->step, NULL);
	x->opened = rc == 0;
	return rc;
}

/* An environment variable name for a declared input: ARTIFACTFS_INPUT_ and
 * NAME in capitals, anything but letters and digits as '_'. */
static void input_var(const char *name, size_t len, char *out, size_t size)
{
	size_t n = (size_t)snprintf(out, size, "ARTIFACTFS_INPUT_");

	for (size_t i = 0; i < len && n + 1 < size; i++) {
		unsigned char c = (unsigned char)name[i];

		out[n++] = (c >= 'a' && c <= 'z')   ? (char)(c - 'a' + 'A')
			   : (c >= 'A' && c <= 'Z') ? (char)c
			   : (c >= '0' && c <= '9') ? (char)c
						    : '_';
	}
	out[n] = '\0';
}

/* Records one declared input and puts its path in CMD's environment. */
static int declare_input(struct exec *x, const char *arg)
{
	char artifact[STORE_NAME_MAX + 1], ref[STORE_NAME_MAX + 1];
	char var[STORE_NAME_MAX + 32], path[PATH_MAX + 2 * STORE_NAME_MAX + 16];
	const char *eq = strchr(arg, '='), *spec = eq ? eq + 1 : arg, *rest;
	char *out = NULL, *at;
	int rc;

	store_spec_parse(spec, artifact, ref, &rest); /* checked before */
	rc = call(x, CALL_CAPTURE, &out, "input", x->prs, spec, NULL);
	if (rc)
		goto out;
	/* It prints "P/R/S: input A@vN": the version REF named just now. */
	at = strrchr(out, '@');
	if (at && at[1] == 'v')
		snprintf(ref, sizeof(ref), "v%lu", strtoul(at + 2, NULL, 10));
	if (eq)
		input_var(arg, (size_t)(eq - arg), var, sizeof(var));
	else
		input_var(artifact, strlen(artifact), var, sizeof(var));
	snprintf(path, sizeof(path), "%s/artifacts/%s/%s", x->mnt, artifact,
		 ref);
	rc = setenv(var, path, 1) ? -errno : 0;
out:
	free(out);
	return rc;
}

/* Notes the parameters and declares the inputs. */
static int record_setup(struct exec *x)
{
	char key[STORE_NAME_MAX + 1];
	int rc = 0;

	for (size_t i = 0; !rc && i < x->nparams; i++) {
		const char *eq = strchr(x->params[i], '=');

		snprintf(key, sizeof(key), "param.%.*s",
			 (int)(eq - x->params[i]), x->params[i]);
		rc = call(x, 0, NULL, "note", x->pr, key, eq + 1, NULL);
	}
	for (size_t i = 0; !rc && i < x->ninputs; i++)
		rc = declare_input(x, x->inputs[i]);
	return rc;
}

/* CMD's environment, besides ours and the declared inputs. */
static int set_env(struct exec *x)
{
	char path[PATH_MAX + 3 * STORE_NAME_MAX + 64];
	char store[PATH_MAX];

	snprintf(path, sizeof(path), "%s/pipelines/%s/runs/%s/steps/%s/outputs",
		 x->mnt, x->pipeline, x->run, x->step);
	if (!realpath(x->ctx->store_dir, store))
		snprintf(store, sizeof(store), "%s", x->ctx->store_dir);
	if (setenv("ARTIFACTFS_RUN", x->pr, 1) ||
	    setenv("ARTIFACTFS_STEP", x->step, 1) ||
	    setenv("ARTIFACTFS_OUTPUTS", path, 1) ||
	    setenv("ARTIFACTFS_MOUNT", x->mnt, 1) ||
	    setenv("ARTIFACTFS_STORE", store, 1))
		return -errno;
	return 0;
}

/* ----------------------------------------------------- running CMD */

static volatile sig_atomic_t child_pid;
static const int fwd_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
#define NSIGNALS (sizeof(fwd_signals) / sizeof(fwd_signals[0]))

/* CMD runs in a session of its own, out of the terminal's reach: a ^C
 * reaches us, and we pass it on to CMD's whole process group. */
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

	for (size_t i = 0; i < NSIGNALS; i++)
		sigaction(fwd_signals[i], &old[i], NULL);
	sigprocmask(SIG_SETMASK, mask, NULL);
	setsid();
	if (read(go_fd, &c, 1) != 1)
		_exit(126); /* the parent could not bind: run nothing */
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

/* Releases the bound child and waits for it; its exit status, or 127/126
 * when CMD could not be started (reported). */
static int release(struct exec *x, pid_t pid, int go_fd, int err_fd)
{
	struct sigaction ign = {.sa_handler = SIG_IGN}, old_pipe;
	ssize_t n;
	int e = 0, status;

	/* A signal passed on may have ended the child already: then the
	 * write fails with EPIPE, which must not kill us. */
	sigaction(SIGPIPE, &ign, &old_pipe);
	if (write(go_fd, "g", 1) != 1)
		kill(pid, SIGKILL);
	sigaction(SIGPIPE, &old_pipe, NULL);
	close(go_fd);
	do
		n = read(err_fd, &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	status = reap(pid);
	if (n == (ssize_t)sizeof(e)) {
		store_log(STORE_LOG_ERR, "%s: %s", x->cmd[0], strerror(e));
		status = e == ENOENT ? 127 : 126;
	}
	return status;
}

/*
 * Forks CMD, binds its session to the step, lets it run and waits.
 * Returns CMD's exit status; a bind that fails is returned as a negative
 * errno or the bind command's status, with *ran false.
 */
static int run_child(struct exec *x, bool *ran)
{
	struct sigaction sa = {.sa_handler = pass_signal}, old[NSIGNALS];
	sigset_t block, mask;
	int go[2], err[2], rc;
	char sid[24];
	pid_t pid;

	*ran = false;
	if (pipe2(go, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(err, O_CLOEXEC) < 0) {
		rc = -errno;
		goto out_go;
	}
	sigemptyset(&block);
	for (size_t i = 0; i < NSIGNALS; i++) {
		sigaddset(&block, fwd_signals[i]);
		sigaction(fwd_signals[i], &sa, &old[i]);
	}
	fflush(stdout);
	fflush(stderr);
	sigprocmask(SIG_BLOCK, &block, &mask);
	pid = fork();
	if (pid == 0) {
		close(go[1]);
		close(err[0]);
		child(x->cmd, go[0], err[1], old, &mask);
	}
	child_pid = pid;
	sigprocmask(SIG_SETMASK, &mask, NULL);
	close(go[0]);
	close(err[1]);
	if (pid < 0) {
		rc = -errno;
		goto out_signals;
	}
	/* After setsid() the child's pid is its session id. */
	snprintf(sid, sizeof(sid), "%d", (int)pid);
	rc = call(x, 0, NULL, "bind", x->prs, sid, NULL);
	if (rc) {
		close(go[1]); /* the child sees EOF and exits */
		reap(pid);
	} else {
		*ran = true;
		rc = release(x, pid, go[1], err[0]);
		call(x, CALL_QUIET, NULL, "unbind", sid, NULL);
	}
	close(err[0]);
out_signals:
	child_pid = 0;
	for (size_t i = 0; i < NSIGNALS; i++)
		sigaction(fwd_signals[i], &old[i], NULL);
	return rc;
out_go:
	close(go[0]);
	close(go[1]);
	return rc;
}

/* Notes CMD's exit status, then seals or fails the run.  Returns the
 * exit status of the whole command. */
static int finish(struct exec *x, int status)
{
	char num[16], key[STORE_NAME_MAX + 1];
	const char *how;
	int rc;

	snprintf(num, sizeof(num), "%d", status);
	snprintf(key, sizeof(key), "exit_status.%s", x->step);
	call(x, 0, NULL, "note", x->pr, "exit_status", num, NULL);
	call(x, 0, NULL, "note", x->pr, key, num, NULL);
	if (status == 0 && x->no_seal) {
		rc = 0;
		how = "run left open (--no-seal)";
	} else if (status == 0) {
		rc = call(x, 0, NULL, "seal", x->pr, NULL);
		how = rc ? "sealing it failed" : "sealed";
	} else {
		rc = call(x, 0, NULL, "fail", x->pr, NULL);
		how = rc ? "failed, but marking the run failed did not work"
			 : "failed (nothing published)";
	}
	if (!x->ctx->quiet)
		fprintf(fs_stderr(), "%s: step %s exited %d; %s\n", x->pr,
			x->step, status, how);
	if (status)
		return status;
	return rc < 0 ? 1 : rc;
}

/* ------------------------------------------------------------ options */

enum exec_opt {
	OPT_PIPELINE = 256,
	OPT_STEP,
	OPT_RUN,
	OPT_PARAM,
	OPT_INPUT,
	OPT_MOUNT,
	OPT_NO_SEAL,
	OPT_STORE,
	OPT_CONFIG,
};

static const struct option exec_opts[] = {
    {"pipeline", required_argument, NULL, OPT_PIPELINE},
    {"step", required_argument, NULL, OPT_STEP},
    {"run", required_argument, NULL, OPT_RUN},
    {"param", required_argument, NULL, OPT_PARAM},
    {"input", required_argument, NULL, OPT_INPUT},
    {"mount", required_argument, NULL, OPT_MOUNT},
    {"no-seal", no_argument, NULL, OPT_NO_SEAL},
    {"store", required_argument, NULL, OPT_STORE},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"quiet", no_argument, NULL, 'q'},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Applies one option; 1 when --help was shown. */
static int apply(struct exec *x, int opt)
{
	switch (opt) {
	case OPT_PIPELINE:
		x->pipeline = optarg;
		break;
	case OPT_STEP:
		x->step = optarg;
		break;
	case OPT_RUN:
		x->run_arg = optarg;
		break;
	case OPT_PARAM:
		x->params[x->nparams++] = optarg;
		break;
	case OPT_INPUT:
		x->inputs[x->ninputs++] = optarg;
		break;
	case OPT_MOUNT:
		x->mount_arg = optarg;
		break;
	case OPT_NO_SEAL:
		x->no_seal = true;
		break;
	case OPT_STORE:
		x->ctx->store_arg = optarg;
		break;
	case OPT_CONFIG:
		x->ctx->config_arg = optarg;
		break;
	case 'q':
		x->ctx->quiet = true;
		break;
	case 'v':
		x->ctx->verbose = true;
		fs_log_install(true);
		break;
	case 'h':
		fputs(exec_help, fs_stdout());
		return 1;
	case ':':
		return fs_usage_error(x->ctx, "option '%s' needs an argument",
				      x->cmd[0]);
	default:
		return fs_usage_error(x->ctx, "unknown option '%s'", x->cmd[0]);
	}
	return 0;
}

static int parse(struct exec *x, int argc, char **argv)
{
	int opt, rc;

	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:qvh", exec_opts, NULL)) !=
	       -1) {
		x->cmd = &argv[optind - 1]; /* for the error line */
		rc = apply(x, opt);
		if (rc)
			return rc;
	}
	x->cmd = optind < argc ? &argv[optind] : NULL;
	return 0;
}

/* Checks the options before anything is done. */
static int check(struct exec *x)
{
	char a[STORE_NAME_MAX + 1], r[STORE_NAME_MAX + 1], key[300];
	const char *path, *eq;
	int rc = 0;

	if (!x->pipeline || !x->step)
		return fs_usage_error(x->ctx,
				      "--pipeline and --step are needed");
	if (!x->cmd)
		return fs_usage_error(x->ctx, "missing -- CMD [ARGS...]");
	rc = fs_name_check("pipeline", x->pipeline);
	if (!rc)
		rc = fs_name_check("step", x->step);
	if (!rc && x->run_arg)
		rc = fs_name_check("run", x->run_arg);
	for (size_t i = 0; !rc && i < x->nparams; i++) {
		eq = strchr(x->params[i], '=');
		snprintf(key, sizeof(key), "param.%.*s",
			 eq ? (int)(eq - x->params[i]) : 0, x->params[i]);
		if (!eq || eq == x->params[i] ||
		    store_name_check(key, strlen(key)))
			rc = fs_usage_error(x->ctx, "--param '%s' is not K=V",
					    x->params[i]);
	}
	for (size_t i = 0; !rc && i < x->ninputs; i++) {
		eq = strchr(x->inputs[i], '=');
		if (eq == x->inputs[i] ||
		    store_spec_parse(eq ? eq + 1 : x->inputs[i], a, r, &path) ||
		    path[0])
			rc = fs_usage_error(x->ctx,
					    "--input '%s' is not "
					    "[NAME=]ARTIFACT@REF",
					    x->inputs[i]);
	}
	return rc;
}

/* Everything after the options: returns 0, a negative errno, or a
 * positive exit status (already reported). */
static int exec_run(struct exec *x)
{
	bool ran = false;
	int rc;

	if (!store_exists(x->ctx->store_dir)) {
		store_log(STORE_LOG_ERR, "no store at %s", x->ctx->store_dir);
		return -ENOENT;
	}
	rc = find_mount(x);
	if (!rc)
		rc = open_or_join(x);
	if (rc)
		return rc;
	snprintf(x->prs, sizeof(x->prs), "%s/%s", x->pr, x->step);
	if (x->ctx->verbose)
		fprintf(fs_stderr(), "%s: step %s: running %s\n", x->pr,
			x->step, x->cmd[0]);
	rc = set_env(x);
	if (!rc)
		rc = record_setup(x);
	if (!rc)
		rc = run_child(x, &ran);
	if (!rc || (rc > 0 && ran))
		return finish(x, rc);
	if (x->opened) /* nothing ran: leave no open run behind */
		call(x, CALL_QUIET, NULL, "fail", x->pr, NULL);
	return rc;
}

int fs_cmd_run_exec(struct fs_ctx *ctx, int argc, char **argv)
{
	struct exec x = {.ctx = ctx};
	int rc;

	if (ctx->cmd && !strcmp(ctx->cmd, "run"))
		ctx->cmd =
		    "run exec"; /* for "see 'artifactfs run exec --help'" */
	if (ctx->store || fs_in_request())
		return fs_usage_error(ctx, "run exec runs a command on the "
					   "client's side, not in the daemon");
	x.params = calloc((size_t)argc + 1, sizeof(char *));
	x.inputs = calloc((size_t)argc + 1, sizeof(char *));
	rc = x.params && x.inputs ? parse(&x, argc, argv) : -ENOMEM;
	if (rc == 1) { /* --help */
		free(x.params);
		free(x.inputs);
		return 0;
	}
	if (!rc)
		rc = check(&x);
	if (!rc && !ctx->store_dir)
		rc = fs_config_load(ctx);
	if (!rc)
		rc = exec_run(&x);
	free(x.params);
	free(x.inputs);
	if (rc > 0) {
		ctx->forwarded = rc; /* CMD's or a failed command's status */
		return 0;
	}
	if (rc == 0)
		ctx->forwarded = 0;
	return rc < 0 ? rc : 0;
}
