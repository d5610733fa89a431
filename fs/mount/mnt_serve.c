/*
 * mnt_serve.c - the FUSE daemon: the session, the command socket beside
 * it and the serving loop (fs_mount_run).
 *
 * Order matters: the mount is made and the process daemonized (which
 * forks) before the store is opened, since RocksDB does not survive a
 * fork; the checks that can fail early (no store, store in use, bad
 * mountpoint) run before, so the user sees them.
 */
#include "acl.h"
#include "base.h"
#include "daemon.h"
#include "mnt_i.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* Where the daemon's own lines go (daemon_sink's arg). */
static int to_stderr; /* in the foreground */
static int starting;  /* detached, not serving yet: syslog, and errors
			 on the terminal of the waiting `mount` too */

/* The daemon's log: a command run for a client logs to that client;
 * everything else goes to syslog, or to stderr in the foreground. */
static void daemon_sink(void *arg, enum store_log_level level, const char *msg)
{
	if (fs_in_request()) {
		fs_log_sink(NULL, level, msg);
		return;
	}
	if (level > STORE_LOG_INFO)
		return;
	if (arg != &to_stderr)
		syslog((int)level, "%s", msg);
	if (arg == &to_stderr)
		fprintf(stderr, "%s: %s\n", FS_PROG, msg);
	else if (arg == &starting) /* counted: the failure is explained */
		fs_log_sink(NULL, level, msg);
}

/* A mount made by a privileged parent, its /dev/fuse descriptor passed
 * as "/dev/fd/N" (libfuse serves it as it is): how a user who may not
 * open /dev/fuse (no fusermount3 in a container) still runs the daemon. */
static bool fd_mount(const char *point)
{
	return !strncmp(point, "/dev/fd/", 8);
}

static int preflight(struct fs_ctx *ctx, const struct fs_mount_opts *o,
		     const char *point)
{
	struct stat st;
	pid_t holder;

	if (!store_exists(ctx->store_dir)) {
		store_log(STORE_LOG_ERR,
			  "no store at %s (run 'artifactfs init' first)",
			  ctx->store_dir);
		return -ENOENT;
	}
	if (o->ro_store && !store_is_export(ctx->store_dir)) {
		store_log(STORE_LOG_ERR,
			  "--ro mounts an export (made by 'artifactfs "
			  "export'); %s is a live store: mount it with -o ro",
			  ctx->store_dir);
		return -EINVAL;
	}
	holder = store_lock_holder(ctx->store_dir);
	if (holder > 0) {
		store_log(STORE_LOG_ERR,
			  "store %s is in use by pid %d (already mounted?)",
			  ctx->store_dir, (int)holder);
		return -EBUSY;
	}
	if (fd_mount(point))
		return 0; /* mounted already, by whoever passed the fd */
	if (stat(point, &st) < 0 || !S_ISDIR(st.st_mode)) {
		store_log(STORE_LOG_ERR, "mountpoint %s is not a directory",
			  point);
		return -ENOTDIR;
	}
	return 0;
}

/*
 * Detaches like fuse_daemonize (fork, setsid, chdir /), except that the
 * parent returns only once the daemon serves: the store open and the
 * command socket listening, so that a command typed right after `mount`
 * goes to the daemon, never finds the store half taken.  The parent exits
 * 0 when the daemon said so through *ready_fd (ready()), 1 when it failed
 * first; until then the daemon's errors still reach the terminal.
 */
static int detach(int *ready_fd)
{
	int p[2];
	pid_t pid;
	char c;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (pid > 0) {
		close(p[1]);
		do
			n = read(p[0], &c, 1);
		while (n < 0 && errno == EINTR);
		_exit(n == 1 && c == 0 ? 0 : 1);
	}
	close(p[0]);
	setsid();
	if (chdir("/") < 0)
		store_log(STORE_LOG_WARNING, "cannot chdir to /: %s",
			  strerror(errno));
	*ready_fd = p[1];
	return 0;
}

/* Tells the waiting parent that the daemon serves, and lets go of the
 * terminal. */
static void ready(int *ready_fd)
{
	int null;

	if (*ready_fd < 0)
		return;
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		close(null);
	}
	if (write(*ready_fd, "", 1) != 1)
		store_log(STORE_LOG_WARNING, "the mount command went away");
	close(*ready_fd);
	*ready_fd = -1;
}

/* Runs a client's command line or typed call through the handler of the
 * command line, on the mounted store; then shows what it changed. */
static int serve_request(void *arg, struct fs_ctl_req *req, FILE *out,
			 FILE *err)
{
	struct mnt *m = arg;
	int status = m->serve(m->serve_arg, m->s, req, out, err);

	mnt_aliases_changed(m);	 /* put, alias and run move them */
	mnt_bindings_changed(m); /* role grant and revoke change modes */
	mnt_versions_changed(m); /* gc deletes versions */
	return status;
}

/* Opens the store with its journal and its read rule, in the daemon. */
static int serve_open(struct fs_ctx *ctx, struct mnt *m,
		      const struct fs_mount_opts *o, const char *point)
{
	int rc;

	ctx->opt.serving = true;
	rc = store_open(ctx->store_dir, &ctx->opt, &m->s);
	if (rc) {
		store_log(STORE_LOG_ERR,
			  "mount of %s failed: cannot open the "
			  "store",
			  point);
		return rc;
	}
	rc = acl_keys_check(m->s);
	if (!rc)
		rc = acl_journal_open(m->s);
	if (!rc && o->ro_store && !store_exported(m->s))
		rc = -EINVAL; /* no longer the export preflight saw */
	/* From here no log line carries a secret's value. */
	if (!rc)
		rc = acl_redact_log(m->s);
	if (rc) {
		store_log(STORE_LOG_ERR, "mount of %s refused: %s", point,
			  rc == -EPERM ? "a key file is open to others"
				       : strerror(-rc));
		return rc;
	}
	if (store_exported(m->s) && o->readers)
		rc = acl_export_readers(m->s, o->readers);
	if (rc)
		store_log(STORE_LOG_ERR,
			  "mount of %s refused: --readers %s: %s", point,
			  o->readers, strerror(-rc));
	return rc;
}

static int serve(struct fs_ctx *ctx, struct mnt *m,
		 const struct fs_mount_opts *o, const char *point)
{
	struct fuse_loop_config *cfg;
	struct mnt_checkpoints *cps = NULL;
	struct mnt_trim *trim = NULL;
	struct fs_ctl *ctl = NULL;
	char *spool = NULL;
	int ready_fd = -1, rc;

	if (!o->foreground) {
		openlog(FS_PROG, LOG_PID, LOG_DAEMON);
		rc = detach(&ready_fd);
		if (rc)
			return rc;
	}
	store_log_set_sink(daemon_sink,
			   o->foreground ? (void *)&to_stderr : &starting);
	rc = serve_open(ctx, m, o, point);
	if (rc)
		return rc;
	m->binding_gen = store_binding_gen(m->s);
	mnt_files_serving(m);
	m->point = point;
	/* A read-only store gets nothing written into it: no socket (its
	 * commands open it themselves, read-only), spool or checkpoint. */
	if (!store_read_only(m->s)) {
		rc = fs_ctl_start(ctx->store_dir, serve_request, m, &ctl);
		if (rc) {
			mnt_files_serving(NULL);
			return rc;
		}
		if (asprintf(&spool, "%s/spool", ctx->store_dir) < 0)
			return -ENOMEM;
		mkdir(spool, 0700);
		m->spool_dir = spool;
		/* Without them the mount still serves: the failure is
		 * logged. */
		mnt_checkpoints_start(m->s, ctx, &cps);
	}
	mnt_trim_start(m, &trim);
	/* Other nodes' changes of a store in RADOS reach the kernel. */
	if (trim)
		store_on_remote_change(m->s, mnt_trim_kick, trim);
	store_log(STORE_LOG_INFO, "mounted %s on %s", ctx->store_dir, point);
	if (ready_fd >= 0) {
		ready(&ready_fd);
		store_log_set_sink(daemon_sink, NULL); /* syslog from now on */
	}
	cfg = fuse_loop_cfg_create();
	fuse_loop_cfg_set_max_threads(cfg, 16);
	rc = fuse_session_loop_mt(m->se, cfg);
	fuse_loop_cfg_destroy(cfg);
	store_on_remote_change(m->s, NULL, NULL);
	mnt_trim_stop(trim);
	fs_ctl_stop(ctl);
	mnt_files_serving(NULL);
	mnt_fh_free_all();
	store_log(STORE_LOG_INFO, "unmounting %s", point);
	/* Nothing writes any more: the last checkpoint sees the last record. */
	mnt_checkpoints_stop(cps);
	acl_redact_log(NULL);
	return rc < 0 ? rc : 0;
}

/* The arguments of fuse_session_new: the program, each -o, -d. */
static int fuse_argv(const struct fs_mount_opts *o, struct fuse_args *args)
{
	if (fuse_opt_add_arg(args, FS_PROG))
		return -ENOMEM;
	for (size_t i = 0; i < o->nfuse_opts; i++)
		if (fuse_opt_add_arg(args, "-o") ||
		    fuse_opt_add_arg(args, o->fuse_opts[i]))
			return -ENOMEM;
	return 0;
}

int fs_mount_run(struct fs_ctx *ctx, const struct fs_mount_opts *o,
		 fs_mount_handler fn, void *arg)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct mnt m = {.sealed_timeout = 3600,
			.open_timeout = 1,
			.serve = fn,
			.serve_arg = arg};
	char point[PATH_MAX], fsname[PATH_MAX + 16];
	int rc = fuse_argv(o, &args);

	if (!rc && fd_mount(o->point))
		snprintf(point, sizeof(point), "%s", o->point);
	else if (!rc && !realpath(o->point, point)) {
		rc = -errno;
		store_log(STORE_LOG_ERR, "mountpoint %s: %s", o->point,
			  strerror(errno));
	}
	if (rc)
		goto out_args;
	rc = preflight(ctx, o, point);
	snprintf(fsname, sizeof(fsname), "fsname=%s,subtype=artifactfs",
		 ctx->store_dir);
	if (!rc &&
	    (fuse_opt_add_arg(&args, "-o") || fuse_opt_add_arg(&args, fsname) ||
	     (o->debug && fuse_opt_add_arg(&args, "-d"))))
		rc = -ENOMEM;
	if (!rc)
		rc = mnt_nodes_init(&m);
	if (rc)
		goto out_args;
	pthread_mutex_init(&m.wlock, NULL);
	m.ro = o->ro;
	m.shared = o->shared;
	m.started = (int64_t)time(NULL) * 1000000000;
	m.se = fuse_session_new(&args, &mnt_ops, sizeof(mnt_ops), &m);
	if (!m.se || fuse_set_signal_handlers(m.se) ||
	    fuse_session_mount(m.se, point)) {
		store_log(STORE_LOG_ERR, "cannot mount on %s", point);
		rc = -EIO;
		goto out_session;
	}
	rc = serve(ctx, &m, o, point);
	fuse_session_unmount(m.se);
out_session:
	if (m.se) {
		fuse_remove_signal_handlers(m.se);
		fuse_session_destroy(m.se);
	}
	store_close(m.s);
	free(m.spool_dir);
	mnt_nodes_release(&m);
out_args:
	fuse_opt_free_args(&args);
	return rc > 0 ? 0 : rc;
}
