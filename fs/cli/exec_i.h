/*
 * fs/cli/exec_i.h - the parts of `run exec` (cmd_exec.c) that are not about
 * the run: finding the mount point (exec_mount.c) and running CMD in a
 * session of its own (exec_child.c).  Never included outside fs/.
 *
 * Errors: 0 or -errno, each failure logged once where it is found.
 * Threads: the command line's main thread only (exec_child.c installs
 * signal handlers and keeps the child's pid in a static for them).
 */
#ifndef ARTIFACTFS_FS_EXEC_I_H
#define ARTIFACTFS_FS_EXEC_I_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

/* ----------------------------------------------------------- exec_mount.c */

/**
 * Finds in /proc/self/mountinfo where the store at store_dir is mounted
 * (a fuse.artifactfs mount whose source names it), or checks that
 * mount_arg (when not NULL) is an artifactfs mount; the mount point goes
 * to out (size bytes).  -ENOTCONN when there is none ("run exec needs
 * the store mounted", logged), -errno for a mount_arg that cannot be
 * resolved (logged).
 */
int fs_exec_find_mount(const char *store_dir, const char *mount_arg, char *out,
		       size_t size);

/* ----------------------------------------------------------- exec_child.c */

#define FS_EXEC_NSIGNALS 4

/**
 * CMD, forked and waiting: in a session of its own (its pid is its
 * session id), not yet exec'd.  While it exists, SIGINT, SIGTERM, SIGHUP
 * and SIGQUIT sent to us are passed on to its process group.
 */
struct fs_exec_child {
	pid_t pid;
	int go_fd;  /* a byte here lets it exec CMD; EOF ends it */
	int err_fd; /* the errno of a failed exec comes back here */
	struct sigaction old[FS_EXEC_NSIGNALS];
};

/** Forks cmd (NULL-terminated, borrowed until fs_exec_go or
 * fs_exec_cancel) into *out, held before exec.  0 or -errno. */
int fs_exec_spawn(char **cmd, struct fs_exec_child *out);

/**
 * Lets the child exec CMD and waits for it: returns its exit status (128
 * + N when killed by signal N), or 127 (not found) or 126 (could not be
 * run) with one line naming cmd0.  Restores the signal handlers.
 */
int fs_exec_go(struct fs_exec_child *c, const char *cmd0);

/** Ends a child that must not run (it exits 126 at EOF), reaps it and
 * restores the signal handlers. */
void fs_exec_cancel(struct fs_exec_child *c);

#endif
