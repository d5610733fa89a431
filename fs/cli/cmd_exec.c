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
 * itself) opens or joins the run, forks CMD into a session of its own
 * (exec_child.c), binds that session to the step before CMD starts,
 * waits for it, unbinds, notes the exit status and seals the run (CMD
 * exited 0) or fails it (publishing nothing).
 *
 * Every run operation goes through a backend (struct backend): typed
 * calls to the mount daemon (fs_ctl_call: the normal case), or the run
 * operations themselves on ctx->store (fs_run_call) when this process
 * holds the store.  Either way they act as the caller and are journaled
 * as the caller; an operation's error line is shown only when it fails.
 *
 * CMD's own stdin, stdout and stderr are ours; our summary line goes to
 * stderr (not with --quiet), so that CMD's stdout stays its own.  The exit
 * status is CMD's (128 + N when killed by signal N, 127 when it could not
 * be found, 126 when it could not be run).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "ctl_wire_i.h"
#include "envsnap_i.h"
#include "exec_i.h"
#include "cli_i.h"
#include "runapi_i.h"

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
    "  --secret NAME[@vN][=VAR]\n"
    "                     put secret NAME (its current version, or vN) in\n"
    "                     CMD's environment as VAR (default: NAME); needs\n"
    "                     a role that reads /secrets/NAME; the run notes\n"
    "                     secret.NAME=vN, never the value (repeatable)\n"
    "  --mount MNT        the mount point (default: found in mountinfo)\n"
    "  --no-seal          leave the run open when CMD succeeds (more\n"
    "                     steps to come; seal it with 'run seal P/R')\n"
    "  --no-cache         run CMD even when an earlier run of the step had\n"
    "                     the same code, inputs, environment and params\n"
    "The step's environment (code, packages, image, system, environment\n"
    "variables without credentials) is recorded under its env/.  When an\n"
    "earlier sealed run of the step had the same cache key, CMD does not\n"
    "run: its outputs become this step's, and one line says so; otherwise\n"
    "one line names what changed against the latest run of the step.\n"
    "CMD's environment also has ARTIFACTFS_RUN=P/R, ARTIFACTFS_STEP=S,\n"
    "ARTIFACTFS_OUTPUTS, ARTIFACTFS_MOUNT and ARTIFACTFS_STORE.\n"
    "\n"
    "Global options: --store DIR, --config FILE, -q/--quiet (no summary\n"
    "line), -v/--verbose.\n";

struct exec;

/* How run exec reaches the run operations.  call carries out c: 0 with
 * the operation's rc in *out (its error lines shown when it failed and
 * show is set), or -errno (logged) when the backend itself failed. */
struct backend {
	int (*call)(struct exec *x, const struct ctl_call *c, bool show,
		    struct ctl_result *out);
};

struct exec {
	struct fs_ctx *ctx;
	const struct backend *be;
	const char *pipeline, *step, *run_arg, *mount_arg;
	char **params, **inputs; /* "K=V", "[NAME=]A@REF", borrowed */
	char **secrets;		 /* "NAME[@vN][=VAR]", borrowed */
	size_t nparams, ninputs, nsecrets;
	bool no_seal, no_cache;
	bool cached; /* the step's outputs came from the cache */
	struct envsnap snap;
	char **cmd; /* CMD and its arguments, NULL-terminated, borrowed */
	char run[STORE_NAME_MAX + 1];
	char pr[2 * (STORE_NAME_MAX + 1)]; /* "P/R" */
	char mnt[PATH_MAX];
	bool opened; /* we opened the run (rather than joined it) */
};

/* ------------------------------------------------------------ backends */

/* The mount daemon, through typed calls on its socket. */
static int daemon_call(struct exec *x, const struct ctl_call *c, bool show,
		       struct ctl_result *out)
{
	struct fs_progress_relay pr;
	int rc;

	fs_progress_relay_init(&pr);
	rc = fs_ctl_call(x->ctx->store_dir, c, show, &pr.draw, out);

	if (rc == -ENOENT)
		store_log(STORE_LOG_ERR,
			  "no mount daemon answers on %s/daemon.sock (is the "
			  "store mounted?)",
			  x->ctx->store_dir);
	return rc;
}

/* The store this process holds: the run operations themselves (their
 * error lines are this process's own log lines, always shown). */
static int direct_call(struct exec *x, const struct ctl_call *c, bool show,
		       struct ctl_result *out)
{
	(void)show;
	fs_run_call(x->ctx, c, out);
	return 0;
}

static const struct backend daemon_backend = {daemon_call};
static const struct backend direct_backend = {direct_call};

enum op_flags {
	OP_QUIET = 1 << 0, /* drop its error line even when it fails */
};

/*
 * Carries out c on run x->pr (its pipeline and run filled in here).
 * Returns 0, 1 when the operation failed (reported unless OP_QUIET; its
 * errno in res->rc), or a negative errno when the backend failed.
 */
static int op(struct exec *x, struct ctl_call *c, unsigned flags,
	      struct ctl_result *res)
{
	struct ctl_result none;
	int rc;

	if (!res)
		res = &none;
	if (c->op != CTL_CALL_RUN_UNBIND) {
		c->pipeline = x->pipeline;
		c->run = x->run;
	}
	rc = x->be->call(x, c, !(flags & OP_QUIET), res);
	if (rc)
		return rc;
	return res->rc ? 1 : 0;
}

/* A line that `run OP` would have printed, shown with --verbose. */
static void say(struct exec *x, const char *what)
{
	if (x->ctx->verbose)
		fprintf(fs_stdout(), "%s %s\n", x->pr, what);
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

/* Opens the run with the step, or adds the step to it when it is open.
 * Returns 0, 1 (an operation failed, reported) or a negative errno. */
static int open_or_join(struct exec *x)
{
	struct ctl_call c = {.op = CTL_CALL_RUN_STATUS};
	struct ctl_result res;
	int rc;

	if (!x->run_arg) {
		make_run_id(x->run, sizeof(x->run));
	} else {
		snprintf(x->run, sizeof(x->run), "%s", x->run_arg);
		/* Any failure (no such pipeline, say) is no such run: then
		 * opening it says what is wrong. */
		rc = op(x, &c, OP_QUIET, &res);
		if (rc < 0)
			return rc;
		snprintf(x->pr, sizeof(x->pr), "%s/%s", x->pipeline, x->run);
		if (!rc && res.status != STORE_RUN_OPEN) {
			store_log(STORE_LOG_ERR,
				  "run %s is %s: no more steps can join it",
				  x->pr,
				  res.status == STORE_RUN_SEALED ? "sealed"
								 : "failed");
			return -EROFS;
		}
		if (!rc) {
			c = (struct ctl_call){.op = CTL_CALL_RUN_STEP,
					      .step = x->step};
			return op(x, &c, 0, NULL);
		}
	}
	snprintf(x->pr, sizeof(x->pr), "%s/%s", x->pipeline, x->run);
	c = (struct ctl_call){
	    .op = CTL_CALL_RUN_OPEN, .steps = {x->step}, .nsteps = 1};
	rc = op(x, &c, 0, NULL);
	x->opened = rc == 0;
	if (x->opened)
		say(x, "open");
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
	char var[STORE_NAME_MAX + 32], path[PATH_MAX + 2 * STORE_NAME_MAX + 16];
	const char *eq = strchr(arg, '=');
	struct ctl_call c = {.op = CTL_CALL_RUN_INPUT,
			     .step = x->step,
			     .spec = eq ? eq + 1 : arg};
	struct ctl_result res;
	int rc = op(x, &c, 0, &res);

	if (rc)
		return rc;
	if (x->ctx->verbose)
		fprintf(fs_stdout(), "%s/%s: input %s@v%u\n", x->pr, x->step,
			res.artifact, res.version);
	if (eq)
		input_var(arg, (size_t)(eq - arg), var, sizeof(var));
	else
		input_var(res.artifact, strlen(res.artifact), var, sizeof(var));
	snprintf(path, sizeof(path), "%s/artifacts/%s/v%u", x->mnt,
		 res.artifact, res.version);
	return setenv(var, path, 1) ? -errno : 0;
}

/* Notes key=value on the run. */
static int note(struct exec *x, const char *key, const char *value)
{
	struct ctl_call c = {
	    .op = CTL_CALL_RUN_NOTE, .key = key, .value = value};

	return op(x, &c, 0, NULL);
}

/* Puts the value of secret spec "NAME[@vN][=VAR]" in CMD's environment;
 * the daemon checks the caller's role, journals the read and notes the
 * version on the run. */
static int inject_secret(struct exec *x, const char *arg)
{
	char spec[STORE_NAME_MAX + 16], var[STORE_NAME_MAX + 16];
	const char *eq = strchr(arg, '=');
	size_t n = eq ? (size_t)(eq - arg) : strlen(arg);
	struct ctl_call c = {.op = CTL_CALL_RUN_SECRET, .step = x->step};
	struct ctl_result res;
	int rc;

	snprintf(spec, sizeof(spec), "%.*s", (int)n, arg);
	snprintf(var, sizeof(var), "%s", eq ? eq + 1 : spec);
	if (!eq) { /* VAR defaults to NAME, without @vN */
		size_t base = strlen(var);

		fs_secret_version(var, &base);
		var[base] = '\0';
	}
	c.key = spec;
	rc = op(x, &c, 0, &res);
	if (!rc && setenv(var, (const char *)res.secret, 1))
		rc = -errno;
	if (!rc && x->ctx->verbose)
		fprintf(fs_stdout(), "%s/%s: secret %s v%u as $%s\n", x->pr,
			x->step, spec, res.version, var);
	ctl_result_release(&res);
	return rc;
}

/* Notes the parameters, declares the inputs and hands over the secrets. */
static int record_setup(struct exec *x)
{
	char key[STORE_NAME_MAX + 1];
	int rc = 0;

	for (size_t i = 0; !rc && i < x->nparams; i++) {
		const char *eq = strchr(x->params[i], '=');

		snprintf(key, sizeof(key), "param.%.*s",
			 (int)(eq - x->params[i]), x->params[i]);
		rc = note(x, key, eq + 1);
	}
	for (size_t i = 0; !rc && i < x->ninputs; i++)
		rc = declare_input(x, x->inputs[i]);
	for (size_t i = 0; !rc && i < x->nsecrets; i++)
		rc = inject_secret(x, x->secrets[i]);
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

/* ------------------------------------------- environment and cache */

/* Sends the captured environment, then asks the cache.  A failure here
 * is reported and CMD runs anyway: the run loses its snapshot (and its
 * cache), never its command.  Returns true on a hit. */
static bool env_and_cache(struct exec *x)
{
	struct ctl_call c = {.op = CTL_CALL_RUN_ENV, .step = x->step};
	struct ctl_result res;
	char *bundle = NULL;
	int rc = fs_envsnap_encode(&x->snap, &bundle);

	c.value = bundle;
	if (!rc)
		rc = op(x, &c, 0, &res);
	free(bundle);
	if (rc) {
		store_log(STORE_LOG_WARNING,
			  "%s/%s: environment not recorded; the cache is not "
			  "used",
			  x->pr, x->step);
		return false;
	}
	if (x->ctx->verbose)
		fprintf(fs_stdout(), "%s/%s: env %s\n", x->pr, x->step,
			res.text);
	c = (struct ctl_call){
	    .op = CTL_CALL_RUN_CACHE, .step = x->step, .seal = !x->no_cache};
	if (op(x, &c, 0, &res))
		return false;
	if (!x->ctx->quiet && !x->no_cache)
		fprintf(fs_stderr(), "%s: %s\n", x->pr, res.text);
	x->cached = res.hit;
	return res.hit;
}

/* ----------------------------------------------------- running CMD */

/*
 * Forks CMD, binds its session to the step, lets it run and waits.
 * Returns CMD's exit status; a bind that fails is returned as a negative
 * errno or 1, with *ran false.
 */
static int run_child(struct exec *x, bool *ran)
{
	struct fs_exec_child child;
	struct ctl_call c = {.op = CTL_CALL_RUN_BIND, .step = x->step};
	int rc = fs_exec_spawn(x->cmd, &child);

	*ran = false;
	if (rc)
		return rc;
	/* After setsid() the child's pid is its session id. */
	c.sid = (int32_t)child.pid;
	rc = op(x, &c, 0, NULL);
	if (rc) {
		fs_exec_cancel(&child);
		return rc;
	}
	*ran = true;
	rc = fs_exec_go(&child, x->cmd[0]);
	c = (struct ctl_call){.op = CTL_CALL_RUN_UNBIND,
			      .sid = (int32_t)child.pid};
	op(x, &c, OP_QUIET, NULL);
	return rc;
}

/* Seals or fails the run; 0, 1 or -errno. */
static int end_run(struct exec *x, bool seal, unsigned flags)
{
	struct ctl_call c = {.op = CTL_CALL_RUN_END, .seal = seal};
	int rc = op(x, &c, flags, NULL);

	if (!rc)
		say(x, seal ? "sealed" : "failed");
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
	note(x, "exit_status", num);
	note(x, key, num);
	if (status == 0 && x->no_seal) {
		rc = 0;
		how = "run left open (--no-seal)";
	} else if (status == 0) {
		rc = end_run(x, true, 0);
		how = rc ? "sealing it failed" : "sealed";
	} else {
		rc = end_run(x, false, 0);
		how = rc ? "failed, but marking the run failed did not work"
			 : "failed (nothing published)";
	}
	if (!x->ctx->quiet && x->cached)
		fprintf(fs_stderr(), "%s: step %s cached; %s\n", x->pr, x->step,
			how);
	else if (!x->ctx->quiet)
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
	OPT_SECRET,
	OPT_MOUNT,
	OPT_NO_SEAL,
	OPT_NO_CACHE,
	OPT_STORE,
	OPT_CONFIG,
};

static const struct option exec_opts[] = {
    {"pipeline", required_argument, NULL, OPT_PIPELINE},
    {"step", required_argument, NULL, OPT_STEP},
    {"run", required_argument, NULL, OPT_RUN},
    {"param", required_argument, NULL, OPT_PARAM},
    {"input", required_argument, NULL, OPT_INPUT},
    {"secret", required_argument, NULL, OPT_SECRET},
    {"mount", required_argument, NULL, OPT_MOUNT},
    {"no-seal", no_argument, NULL, OPT_NO_SEAL},
    {"no-cache", no_argument, NULL, OPT_NO_CACHE},
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
	case OPT_SECRET:
		x->secrets[x->nsecrets++] = optarg;
		break;
	case OPT_MOUNT:
		x->mount_arg = optarg;
		break;
	case OPT_NO_SEAL:
		x->no_seal = true;
		break;
	case OPT_NO_CACHE:
		x->no_cache = true;
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

/* "NAME[@vN][=VAR]": a secret's name (and version), a variable name. */
static int check_secret(struct exec *x, const char *arg)
{
	const char *eq = strchr(arg, '=');
	size_t n = eq ? (size_t)(eq - arg) : strlen(arg);

	fs_secret_version(arg, &n); /* n shrinks to NAME's length */
	if (n > STORE_NAME_MAX || store_name_check(arg, n) ||
	    (eq && (!eq[1] || strlen(eq + 1) > STORE_NAME_MAX)))
		return fs_usage_error(
		    x->ctx, "--secret '%s' is not NAME[@vN][=VAR]", arg);
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
	for (size_t i = 0; !rc && i < x->nsecrets; i++)
		rc = check_secret(x, x->secrets[i]);
	return rc;
}

/* CPU time of this process and its reaped children, in ms. */
static double cpu_ms(void)
{
	struct rusage self, kids;
	double ms = 0;

	if (getrusage(RUSAGE_SELF, &self) || getrusage(RUSAGE_CHILDREN, &kids))
		return 0;
	ms += (double)(self.ru_utime.tv_sec + self.ru_stime.tv_sec +
		       kids.ru_utime.tv_sec + kids.ru_stime.tv_sec) *
	      1e3;
	ms += (double)(self.ru_utime.tv_usec + self.ru_stime.tv_usec +
		       kids.ru_utime.tv_usec + kids.ru_stime.tv_usec) /
	      1e3;
	return ms;
}

/* What CMD is about to run in, before anything of the run is set in
 * our environment. */
static int capture(struct exec *x)
{
	struct timespec a, b;
	double cpu = cpu_ms();
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &a);
	rc = fs_envsnap_capture(x->cmd, NULL, &x->snap);
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (!rc && x->ctx->verbose)
		fprintf(fs_stderr(),
			"environment captured in %.1f ms (%.1f ms of CPU)\n",
			(double)(b.tv_sec - a.tv_sec) * 1e3 +
			    (double)(b.tv_nsec - a.tv_nsec) / 1e6,
			cpu_ms() - cpu);
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
	/* Lineage is captured by the mount, whoever holds the store. */
	rc = fs_exec_find_mount(x->ctx->store_dir, x->mount_arg, x->mnt,
				sizeof(x->mnt));
	if (rc)
		return rc;
	x->be = x->ctx->store ? &direct_backend : &daemon_backend;
	rc = capture(x);
	if (!rc)
		rc = open_or_join(x);
	if (rc)
		return rc;
	if (x->ctx->verbose)
		fprintf(fs_stderr(), "%s: step %s: running %s\n", x->pr,
			x->step, x->cmd[0]);
	rc = set_env(x);
	if (!rc)
		rc = record_setup(x);
	if (!rc && env_and_cache(x))
		return finish(x, 0);
	if (!rc)
		rc = run_child(x, &ran);
	if (!rc || (rc > 0 && ran))
		return finish(x, rc);
	if (x->opened) /* nothing ran: leave no open run behind */
		end_run(x, false, OP_QUIET);
	return rc;
}

int fs_cmd_run_exec(struct fs_ctx *ctx, int argc, char **argv)
{
	struct exec x = {.ctx = ctx};
	int rc;

	if (ctx->cmd && !strcmp(ctx->cmd, "run"))
		ctx->cmd =
		    "run exec"; /* for "see 'artifactfs run exec --help'" */
	if (fs_in_request())
		return fs_usage_error(ctx, "run exec runs a command on the "
					   "client's side, not in the daemon");
	x.params = calloc((size_t)argc + 1, sizeof(char *));
	x.inputs = calloc((size_t)argc + 1, sizeof(char *));
	x.secrets = calloc((size_t)argc + 1, sizeof(char *));
	rc =
	    x.params && x.inputs && x.secrets ? parse(&x, argc, argv) : -ENOMEM;
	if (rc == 1) { /* --help */
		free(x.params);
		free(x.inputs);
		free(x.secrets);
		return 0;
	}
	if (!rc)
		rc = check(&x);
	if (!rc && !ctx->store_dir)
		rc = fs_config_load(ctx);
	if (!rc)
		rc = exec_run(&x);
	fs_envsnap_release(&x.snap);
	free(x.params);
	free(x.inputs);
	free(x.secrets);
	if (rc > 0) {
		ctx->forwarded = rc; /* CMD's or a failed command's status */
		return 0;
	}
	if (rc == 0)
		ctx->forwarded = 0;
	return rc < 0 ? rc : 0;
}
