/*
 * fs/cli/cli.h - the `artifactfs` command line: what the program's main()
 * (fs/main.c) calls.
 *
 * Purpose
 *   fs_main parses the global and per-command options into a struct
 *   fs_ctx (base.h), loads the configuration, opens the store (or
 *   forwards the command line to the mount daemon that holds it) and runs
 *   one subcommand (cmd_*.c).  What the commands share is in cli_i.h.
 *
 * Layering
 *   The top of fs/: calls fs/mount (the `mount` command, the session
 *   table of `run bind`), fs/base, fs/daemon, acl/ and store/.  Nothing
 *   calls it but main() and, through the handler it passes to
 *   fs_mount_run, the mount daemon's socket.
 *
 * Errors and threads: see base.h.
 */
#ifndef ARTIFACTFS_FS_CLI_H
#define ARTIFACTFS_FS_CLI_H

#include <stdbool.h>

#include "store.h"

struct fs_ctl_conn;

/* A command the mount daemon runs for a client: the daemon's store, the
 * client (its credentials from the socket) and the connection through
 * which the command reaches the client's files, terminal and input. */
struct fs_request {
	struct store *store;
	const struct store_caller *caller;
	struct fs_ctl_conn *conn;
	bool tty; /* the client's stderr is a terminal */
	/* Where the daemon writes its checkpoints (its configuration's, not
	 * the client's: the daemon reads them with its own rights), or NULL
	 * for the default. */
	const char *checkpoint_dir;
};

/**
 * Runs one command line (argv[0] is the program) and returns its exit
 * status.  With req, the command runs for the daemon's client on the
 * daemon's store; without, for this process, opening the store itself
 * (or forwarding the command to the daemon that holds it).
 */
int fs_main(int argc, char **argv, const struct fs_request *req);

/**
 * Raises the soft limit of open files to the hard one (at most 2^20), once,
 * at the start of the process: a mount daemon holds a descriptor per open
 * file of every user, and the store keeps up to half the limit open
 * (store/db.c).  Debian's soft limit is 1024 under a hard one of 524288.
 * fs_nofile_restore, in a child before it runs a user's program, puts the
 * soft limit back to what the process started with.
 */
void fs_nofile_raise(void);
void fs_nofile_restore(void);

#endif
