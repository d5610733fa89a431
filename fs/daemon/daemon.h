/*
 * fs/daemon/daemon.h - the command socket of a mounted store: its server,
 * its client and the typed calls.
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
 * Layering: the bottom of fs/ (fs/daemon <- fs/base <- fs/mount <- fs/cli):
 *   calls store/ and jansson only; what runs a request is the handler the
 *   mount passes in, what draws progress the fs_ctl_draw the client gets.
 *
 * Threads: requests run concurrently on a bounded pool of worker threads.
 * A struct fs_ctl_conn belongs to one request: the fs_ctl_* calls on it
 * may be made from any thread while the handler runs (file operations are
 * serialized per connection), never after the handler returned.
 */
#ifndef ARTIFACTFS_FS_CTL_I_H
#define ARTIFACTFS_FS_CTL_I_H

#include "store.h"

#include <jansson.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>

/* The program's name, at the start of its messages. */
#define FS_PROG "artifactfs"

/*
 * How a client shows the progress lines the daemon sends: show() with
 * the label of the line (a new label replaces the line; "" erases it),
 * the bytes done and the total (0: unknown); hide() erases the line for
 * a moment, before other output to the terminal.  The command line
 * draws them (fs_progress_relay in fs/base); NULL: none shown.
 */
struct fs_ctl_draw {
	void (*show)(void *arg, const char *label, uint64_t done,
		     uint64_t total);
	void (*hide)(void *arg);
	void *arg;
};

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
	 * at accept time; user name by acl_caller_make (cached; uid in decimal
	 * if none). */
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
 * and stderr, answers its file operations as this process and shows its
 * progress lines through draw (may be NULL); *status is the command's exit
 * status (2 when the daemon refused the request, with one line on stderr saying
 * why).  -ENOENT when no daemon listens; another -errno (logged) when the
 * connection broke.
 */
int fs_ctl_forward(const char *store_dir, int argc, char **argv,
		   const struct fs_ctl_draw *draw, int *status);

/**
 * Client: carries out one typed call (below) through the daemon
 * of store_dir, as this process (the daemon takes the caller from the
 * socket).  *out gets the call's result: out->rc is the operation's 0 or
 * -errno.  The daemon's error lines for the call are written to stderr
 * when the call failed and show_errors is set (draw, may be NULL, hides
 * the progress line first), else dropped.  Returns 0
 * (a result came), -ENOENT when no daemon listens, -EINVAL when call
 * cannot be encoded, another -errno (logged) when the connection broke
 * or the daemon refused the call.
 */
int fs_ctl_call(const char *store_dir, const struct ctl_call *call,
		bool show_errors, const struct fs_ctl_draw *draw,
		struct ctl_result *out);

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

/** The mtime of symlink path itself, in the client (utimensat with
 * AT_SYMLINK_NOFOLLOW; its atime is left).  0 or -errno. */
int fs_ctl_lutimes(struct fs_ctl_conn *c, const char *path,
		   const struct timespec *mtime);

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

/* ------------------------------------------------------- typed calls
 * A client that is not a command line (run exec) asks the daemon for one
 * run operation by name: 'c' {"call": NAME, "args": {...}}, answered by
 * 'e' frames (error lines), one 'a' frame {"rc": -errno, ...} and 'x'.
 */

#define CTL_CALL_MAX	   (1 << 20)   /* payload of a call or result frame */
#define CTL_SECRET_MAX	   65536       /* run.secret: a value, bytes */
#define CTL_CALL_STEPS_MAX 64	       /* steps of run.open */
#define CTL_NOTE_MAX	   4096	       /* a note's value, bytes */
#define CTL_ENV_MAX	   (640 << 10) /* run.env's value (a bundle), bytes */
#define CTL_TEXT_MAX	   1024	       /* a result's text, with its NUL */

/** The calls, named "run.status", "run.open", ... on the wire. */
enum ctl_call_op {
	CTL_CALL_RUN_STATUS, /* pipeline run -> status owner */
	CTL_CALL_RUN_OPEN,   /* pipeline run steps[] */
	CTL_CALL_RUN_STEP,   /* pipeline run step */
	CTL_CALL_RUN_INPUT,  /* pipeline run step spec -> artifact version */
	CTL_CALL_RUN_NOTE,   /* pipeline run key value */
	CTL_CALL_RUN_BIND,   /* pipeline run step sid */
	CTL_CALL_RUN_UNBIND, /* sid */
	CTL_CALL_RUN_END,    /* pipeline run seal */
	CTL_CALL_RUN_ENV,    /* pipeline run step value -> text (digest) */
	CTL_CALL_RUN_CACHE,  /* pipeline run step seal (use) -> hit text */
	CTL_CALL_RUN_SECRET, /* pipeline run step key (NAME[@vN]) -> secret
				version */
	CTL_CALL_N,
};

/**
 * One call.  To encode, the caller fills the members op needs with
 * borrowed strings.  A decoded call's strings point into root (owned;
 * ctl_call_release drops it); every name passed store_name_check, spec
 * is "ARTIFACT" or "ARTIFACT@REF" with valid names, value is at most
 * CTL_NOTE_MAX bytes (run.env: CTL_ENV_MAX, an environment bundle), sid
 * is 1 to INT32_MAX; none holds a NUL.  run.cache's seal says whether
 * the cache may be used (false: --no-cache).
 */
struct ctl_call {
	enum ctl_call_op op;
	const char *pipeline, *run, *step;
	const char *steps[CTL_CALL_STEPS_MAX];
	size_t nsteps;
	const char *spec;
	const char *key, *value;
	int32_t sid;
	bool seal;
	json_t *root; /* decoded: owns the strings */
};

/** The wire name of op ("run.open"), NULL for an unknown op. */
const char *ctl_call_name(enum ctl_call_op op);

/** Encodes call (checked as the decoder would); *out (malloc'd) belongs
 * to the caller.  0, -EINVAL (a member missing or invalid), -ENOMEM. */
int ctl_call_encode(const struct ctl_call *call, char **out, size_t *out_len);

/**
 * Decodes and validates a call payload: exactly "call" (a known name)
 * and "args" (an object with exactly the members of that call, each of
 * its type and valid as described above).  On success fills *out
 * (release with ctl_call_release); on failure *why says what is wrong.
 */
int ctl_call_decode(const void *buf, size_t len, struct ctl_call *out,
		    const char **why);

/** Drops what ctl_call_decode kept; accepts a zeroed struct. */
void ctl_call_release(struct ctl_call *call);

/** The result of a call: rc, and what op returns when rc is 0. */
struct ctl_result {
	int rc;				   /* 0 or -errno (-1 to -4095) */
	enum store_run_status status;	   /* run.status */
	uint32_t owner;			   /* run.status: the run's uid */
	char artifact[STORE_NAME_MAX + 1]; /* run.input */
	uint32_t version;		   /* run.input */
	bool hit;			   /* run.cache: outputs came cached */
	char text[CTL_TEXT_MAX];	   /* run.env: the env digest;
					      run.cache: the line to show */
	/* run.secret: the value (and its version in version), malloc'd;
	 * wiped and freed by ctl_result_release. */
	uint8_t *secret;
	size_t secret_len;
};

/** Wipes and frees what a result holds (run.secret's value); accepts a
 * zeroed result. */
void ctl_result_release(struct ctl_result *r);

/** Encodes r as the result of op: {"rc"} and, when rc is 0, "status"
 * and "owner" (run.status), "artifact" and "version" (run.input), "text"
 * (run.env), "hit" and "text" (run.cache) or "value" (the secret's bytes
 * in hex) and "version" (run.secret). */
int ctl_result_encode(enum ctl_call_op op, const struct ctl_result *r,
		      char **out, size_t *out_len);

/** Decodes and validates the result of op: rc in [-4095, 0], the members
 * of op present exactly when rc is 0, nothing else.  0 or -EINVAL. */
int ctl_result_decode(const void *buf, size_t len, enum ctl_call_op op,
		      struct ctl_result *out);

#endif
