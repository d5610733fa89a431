/*
 * fs/ctl_i.h - the command socket of a mounted store (never included
 * outside fs/).
 *
 * Purpose: while the mount daemon holds the store, every `artifactfs`
 * command is carried out by the daemon.  The client (fs_ctl_forward)
 * sends its argv over STORE/daemon.sock; the daemon (fs_ctl_start) runs
 * the handler with a struct fs_ctl_req and streams back stdout, stderr,
 * progress and the exit status.  A program (run exec) asks for one run
 * operation by name instead (fs_ctl_call) and gets a typed result.  The wire
 * format is written down at the top of ctl.c; its codec is ctl_wire.c
 * (ctl_wire_i.h).
 *
 * Invariants:
 *   - The caller is the peer of the socket as the kernel reports it at
 *     accept time (SO_PEERCRED, SO_PEERGROUPS); nothing comes from /proc.
 *   - The daemon never changes its own identity or working directory and
 *     never opens a path that a client names: the handler asks the client
 *     to do it (fs_ctl_open & co.), so the call runs with the caller's own
 *     rights, cwd and /proc/self.
 *   - Every descriptor received from a client is checked for its kind and
 *     closed on every path.
 *   - A request is decoded and validated in one place (ctl_wire.c) before
 *     the handler sees it.
 *
 * Errors: 0 (or an fd / a length) or -errno.  -ECANCELED or -EPIPE when
 * the client has gone or stalled past the limit.
 *
 * Threads: requests run concurrently on a bounded pool of worker threads.
 * A struct fs_ctl_conn belongs to one request: the fs_ctl_* calls on it
 * may be made from any thread while the handler runs (file operations are
 * serialized per connection), never after the handler returned.
 */
#ifndef ARTIFACTFS_FS_CTL_I_H
#define ARTIFACTFS_FS_CTL_I_H

#include "store.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>

/* The server: one per mounted store. */
struct fs_ctl;
/* One client's connection; borrowed by its request (lives until the
 * handler returns). */
struct fs_ctl_conn;

struct ctl_call;
struct ctl_result;

/** A command from a client of the daemon, as the handler sees it. */
struct fs_ctl_req {
	/* From SO_PEERCRED (uid, gid, pid) and SO_PEERGROUPS (groups) read
	 * at accept time; user name by getpwuid_r (uid in decimal if none). */
	struct store_caller caller;
	int argc;
	char **argv; /* validated UTF-8 strings, owned by the server */
	/* A typed call ('c' frame; then argc is 0 and argv NULL), decoded
	 * and validated, owned by the server; the handler fills result
	 * (never NULL then), which the server sends back.  NULL for argv. */
	const struct ctl_call *call;
	struct ctl_result *result;
	/* The client's stdin if it passed one and it is a pipe, a socket, a
	 * regular file or a character device opened for reading; else -1.
	 * Owned by the server (closed after the handler).  Once the client
	 * has gone it is replaced by a descriptor whose reads fail (EISDIR),
	 * so a loop reading it ends with an error, not a short stream. */
	int in;
	bool tty; /* the client's stderr is a terminal: it wants progress */
	struct fs_ctl_conn *conn;
};

/** Runs req with out/err as its streams; returns the exit status. */
typedef int (*fs_ctl_handler)(void *arg, struct fs_ctl_req *req, FILE *out,
			      FILE *err);

/**
 * Serves commands on STORE_DIR/daemon.sock (mode 0666: who may do what is
 * decided per command from req->caller).  Limits are read once here from
 * the environment (milliseconds or counts): ARTIFACTFS_CTL_WORKERS (16),
 * ARTIFACTFS_CTL_QUEUE (64 connections waiting for a worker),
 * ARTIFACTFS_CTL_PER_UID (8 connections per uid; root exempt),
 * ARTIFACTFS_CTL_HEADER_MS (10000: time to receive the request),
 * ARTIFACTFS_CTL_STALL_MS (120000: one send to or reply from a client).
 * Returns 0 and the server in *out (free with fs_ctl_stop), or -errno
 * (logged).
 */
int fs_ctl_start(const char *store_dir, fs_ctl_handler fn, void *arg,
		 struct fs_ctl **out);

/** Stops accepting, cancels running requests, waits for their handlers
 * and removes the socket; accepts NULL. */
void fs_ctl_stop(struct fs_ctl *ctl);

/**
 * Client: runs argv through the daemon of store_dir, relays its stdout
 * and stderr, answers its file operations as this process and draws its
 * progress lines; *status is the command's exit status (2 when the daemon
 * refused the request, with one line on stderr saying why).  -ENOENT when
 * no daemon listens; another -errno (logged) when the connection broke.
 */
int fs_ctl_forward(const char *store_dir, int argc, char **argv, int *status);

/**
 * Client: carries out one typed call (ctl_wire_i.h) through the daemon
 * of store_dir, as this process (the daemon takes the caller from the
 * socket).  *out gets the call's result: out->rc is the operation's 0 or
 * -errno.  The daemon's error lines for the call are written to stderr
 * when the call failed and show_errors is set, else dropped.  Returns 0
 * (a result came), -ENOENT when no daemon listens, -EINVAL when call
 * cannot be encoded, another -errno (logged) when the connection broke
 * or the daemon refused the call.
 */
int fs_ctl_call(const char *store_dir, const struct ctl_call *call,
		bool show_errors, struct ctl_result *out);

/*
 * The client's file system, for the request's handler.  Each call is
 * carried out by the client process, with the caller's rights, cwd and
 * /proc/self; relative paths are the client's.
 */

/**
 * Opens path in the client and receives the descriptor.  flags:
 * O_RDONLY, O_WRONLY or O_RDWR plus any of O_CREAT O_EXCL O_TRUNC
 * O_APPEND O_NOFOLLOW O_DIRECTORY O_PATH (anything else -EINVAL); mode
 * is masked with 07777.  The descriptor is checked with fstat: with
 * O_PATH anything; with O_DIRECTORY a directory; for reading a regular
 * file or a directory; for writing a regular file, a character device or
 * a pipe; anything else is closed and -EINVAL returned.  The client
 * opens with O_NONBLOCK (then clears it), so a FIFO never blocks.
 * Returns a new descriptor (O_CLOEXEC) owned by the caller, or -errno.
 */
int fs_ctl_open(struct fs_ctl_conn *c, const char *path, int flags,
		mode_t mode);

/** stat(2) (follow) or lstat(2) in the client.  0 or -errno. */
int fs_ctl_stat(struct fs_ctl_conn *c, const char *path, bool follow,
		struct stat *st);

/** mkdir(2) in the client.  0 or -errno. */
int fs_ctl_mkdir(struct fs_ctl_conn *c, const char *path, mode_t mode);

/** symlink(2) in the client: path -> target.  0 or -errno. */
int fs_ctl_symlink(struct fs_ctl_conn *c, const char *target, const char *path);

/** readlink(2) in the client: at most len bytes into buf, no NUL added.
 * Returns the length or -errno. */
ssize_t fs_ctl_readlink(struct fs_ctl_conn *c, const char *path, char *buf,
			size_t len);

/** rename(2) in the client.  0 or -errno. */
int fs_ctl_rename(struct fs_ctl_conn *c, const char *from, const char *to);

/** unlink(2), or rmdir(2) when dir, in the client.  0 or -errno. */
int fs_ctl_unlink(struct fs_ctl_conn *c, const char *path, bool dir);

/** link(2) in the client (write a temporary, then link without
 * replacing).  0 or -errno. */
int fs_ctl_link(struct fs_ctl_conn *c, const char *from, const char *to);

/**
 * Progress of the request's command, drawn by the client on its terminal
 * (sent only when req->tty, at most about 20 updates a second); label
 * NULL ends the line.  0, or -ECANCELED / -EPIPE.
 */
int fs_ctl_progress(struct fs_ctl_conn *c, const char *label, uint64_t done,
		    uint64_t total);

/**
 * True once the client has hung up (non-blocking poll for POLLRDHUP,
 * POLLHUP, POLLERR) or a limit or fs_ctl_stop cancelled the request; long
 * loops (reading stdin, streaming a file) check it and stop with
 * -ECANCELED.
 */
bool fs_ctl_cancelled(struct fs_ctl_conn *c);

#endif
