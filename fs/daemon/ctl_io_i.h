/*
 * fs/daemon/ctl_io_i.h - one connection of the command socket, as the server
 * sees it (ctl_io.c): frames sent and received with their descriptors,
 * cancellation, and the file operations and progress of daemon.h.
 *
 * Used by ctl.c (the server loop); never by the client.
 * Errors: 0 or -errno; a received frame: -ETIMEDOUT (deadline passed),
 * -ECONNRESET (client gone), -ECANCELED (request cancelled), -EPROTO
 * (wrong frame type), -EMSGSIZE (over the cap), -EBADMSG (descriptors
 * where none may be, several in one message, or a truncated control
 * message: all of them closed), -ENOMEM.
 * Threads: the fields under "lock" are guarded by *lock (the server's);
 * send_lock keeps frames whole; op_lock keeps one file operation in
 * flight.
 */
#ifndef ARTIFACTFS_FS_CTL_IO_I_H
#define ARTIFACTFS_FS_CTL_IO_I_H

#include "daemon.h"
#include "ctl_wire_i.h"

#include <pthread.h>
#include <stdatomic.h>

#define CTL_SOCK_NAME "daemon.sock"

struct fs_ctl_conn {
	struct fs_ctl *ctl; /* the server (ctl.c's business) */
	int fd;
	pthread_mutex_t *lock; /* the server's lock */
	int revoke_fd;	       /* borrowed: reads on it fail (EISDIR) */
	long stall_ms;	       /* one send, or one file-operation reply */
	int64_t deadline;      /* ctl_now_ms() by which the request is in */
	struct store_caller caller;
	bool tty;
	/* under lock */
	bool running; /* the handler runs */
	int in;	      /* its standard input while running, else -1 */
	struct fs_ctl_conn *qnext, *prev, *next;
	atomic_bool cancelled;
	pthread_mutex_t send_lock, op_lock;
	int64_t last_progress; /* ms; under send_lock */
};

/** CLOCK_MONOTONIC in milliseconds. */
int64_t ctl_now_ms(void);

/** Cancels c (its sends and receives fail at once; its standard input
 * is replaced by revoke_fd).  ctl_conn_cancel_locked: *c->lock held. */
void ctl_conn_cancel(struct fs_ctl_conn *c);
void ctl_conn_cancel_locked(struct fs_ctl_conn *c);

/** True when the peer of fd hung up (non-blocking). */
bool ctl_hung_up(int fd);

/** Sends one frame whole; a failed or stalled send cancels c.
 * 0, -ECANCELED or -EPIPE. */
int ctl_send_frame(struct fs_ctl_conn *c, enum ctl_frame type, const void *buf,
		   size_t len);

/** Sends '!' with why (when not NULL) and 'x' with status. */
void ctl_send_end(struct fs_ctl_conn *c, const char *why, int status);

/** Sends '!' why and 'x' 2 on a connection nobody serves, without
 * waiting, and closes fd. */
void ctl_refuse(int fd, const char *why);

/**
 * Receives one frame of a type in want (a string of frame type bytes),
 * payload at most max bytes, by deadline (ctl_now_ms); *got (when not
 * NULL) says which.  fd NULL: no descriptor may come; else *fd (-1 on
 * entry) gets the one descriptor the frame's first byte carried, owned
 * by the caller even on error.  *out (len bytes and a NUL, malloc'd)
 * belongs to the caller.
 */
int ctl_recv_frame(struct fs_ctl_conn *c, const char *want, uint32_t max,
		   int64_t deadline, int *fd, enum ctl_frame *got, char **out,
		   uint32_t *len);

#endif
