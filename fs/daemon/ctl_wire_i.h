/*
 * fs/daemon/ctl_wire_i.h - the codec of the command socket (ctl_wire.c): frame
 * headers, the request, file operations and their replies, progress.
 *
 * Pure functions over byte buffers: no sockets, no descriptors, no global
 * state, so the cmocka test and the fuzzer call them directly.  Every
 * decoder checks types, counts and sizes and refuses anything else; the
 * format itself is described at the top of ctl.c.  JSON goes through
 * jansson only.
 *
 * The typed calls ('c' frames) are encoded in ctl_wire_call.c, on the
 * same helpers (ctl_json_load, ctl_json_dump).
 *
 * Errors: -EINVAL malformed (a message for the client in *why, a static
 * string), -E2BIG too many argv items, -EMSGSIZE over a size cap,
 * -EILSEQ not UTF-8, -EPROTO unknown frame type, -ENOMEM.
 * Threads: no shared state; any thread.
 */
#ifndef ARTIFACTFS_FS_CTL_WIRE_I_H
#define ARTIFACTFS_FS_CTL_WIRE_I_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <jansson.h>
#include <sys/types.h>

#include "daemon.h"
#include "store.h"

#define CTL_FRAME_HDR 5		/* type byte + 4-byte big-endian length */
#define CTL_REQ_MAX   (1 << 20) /* payload of a request frame */
#define CTL_ARGV_MAX  4096
#define CTL_REPLY_MAX (64 << 10) /* payload of a file-operation reply */
#define CTL_PATH_MAX  4096	 /* a path in a file operation */

/** Lowercase hex of the n bytes in into out (2n + 1 bytes, NUL-ended).
 * The codec keeps its own: its fuzz target links no store code. */
void ctl_hex_encode(const uint8_t *in, size_t n, char *out);
/** Decodes 2n lowercase hex digits into n bytes; -EINVAL on any other
 * character (out then partly written). */
int ctl_hex_decode(const char *hex, size_t n, uint8_t *out);

/** Frame types (the first byte of every frame). */
enum ctl_frame {
	CTL_F_REQUEST = 'q',  /* client: the request (JSON) */
	CTL_F_REPLY = 'r',    /* client: a file-operation reply (JSON) */
	CTL_F_STDOUT = 'o',   /* daemon: bytes for stdout */
	CTL_F_STDERR = 'e',   /* daemon: bytes for stderr */
	CTL_F_EXIT = 'x',     /* daemon: 4-byte big-endian exit status */
	CTL_F_FILEOP = 'f',   /* daemon: a file operation (JSON) */
	CTL_F_PROGRESS = 'p', /* daemon: a progress update (JSON) */
	CTL_F_ERROR = '!',    /* daemon: why the request was refused */
	CTL_F_CALL = 'c',     /* client: a typed call (JSON), instead of 'q' */
	CTL_F_RESULT = 'a',   /* daemon: the result of a call (JSON) */
};

/** Writes a frame header of type and len into h. */
void ctl_frame_encode(uint8_t h[CTL_FRAME_HDR], enum ctl_frame type,
		      uint32_t len);

/** Reads a frame header: 0, or -EPROTO for an unknown type. */
int ctl_frame_decode(const uint8_t h[CTL_FRAME_HDR], enum ctl_frame *type,
		     uint32_t *len);

/** A decoded request; argv and its strings are owned by the struct. */
struct ctl_request {
	int argc;
	char **argv; /* argc strings and a NULL */
	bool tty;
};

/** Encodes {"argv": [...], "tty": b}.  *out (malloc'd, not terminated)
 * belongs to the caller.  0, -EINVAL (not UTF-8, too many, too big) or
 * -ENOMEM. */
int ctl_request_encode(int argc, char *const *argv, bool tty, char **out,
		       size_t *out_len);

/**
 * Decodes and validates a request payload: an object with "argv" (1 to
 * CTL_ARGV_MAX strings, UTF-8, no NUL) and an optional boolean "tty"; no
 * other member; at most CTL_REQ_MAX bytes.  On success fills *out
 * (release with ctl_request_release); on failure *why says what is wrong.
 */
int ctl_request_decode(const void *buf, size_t len, struct ctl_request *out,
		       const char **why);

/** Frees what ctl_request_decode filled; accepts a zeroed struct. */
void ctl_request_release(struct ctl_request *r);

/** File operations the daemon may ask of a client. */
enum ctl_op {
	CTL_OP_OPEN,
	CTL_OP_STAT,
	CTL_OP_MKDIR,
	CTL_OP_SYMLINK,
	CTL_OP_READLINK,
	CTL_OP_RENAME,
	CTL_OP_UNLINK,
	CTL_OP_LINK,
	CTL_OP_LUTIMES, /* a symlink's mtime (atime left alone) */
};

/** One file operation; strings owned by whoever filled the struct. */
struct ctl_fileop {
	enum ctl_op op;
	char *path;  /* every op; the new name for symlink, rename, link */
	char *path2; /* symlink: the target; rename, link: the old name */
	int flags;   /* open */
	mode_t mode; /* open, mkdir */
	bool follow; /* stat */
	bool dir;    /* unlink: rmdir */
	size_t len;  /* readlink: buffer size, 1 to CTL_PATH_MAX */
	struct timespec mtime; /* lutimes */
};

/** True when flags are ones fs_ctl_open admits. */
bool ctl_open_flags_ok(int flags);

/** Encodes op; *out (malloc'd) belongs to the caller.  0, -EINVAL (a
 * path not UTF-8, bad flags) or -ENOMEM. */
int ctl_fileop_encode(const struct ctl_fileop *op, char **out, size_t *len);

/** Decodes and validates a file operation (known op, admitted flags,
 * paths 1 to CTL_PATH_MAX bytes).  Free with ctl_fileop_release. */
int ctl_fileop_decode(const void *buf, size_t len, struct ctl_fileop *out);

/** Frees the strings of a decoded op; accepts a zeroed struct. */
void ctl_fileop_release(struct ctl_fileop *op);

/** The client's answer to a file operation. */
struct ctl_reply {
	int64_t rc;		 /* 0 or a length, or -errno */
	bool has_st;		 /* stat: st is filled */
	struct stat st;		 /* mode, ino, dev, nlink, uid, gid, rdev, size,
				    blocks, blksize and the three times */
	char data[CTL_PATH_MAX]; /* readlink: rc bytes */
};

/** Encodes r for op; *out (malloc'd) belongs to the caller. */
int ctl_reply_encode(enum ctl_op op, const struct ctl_reply *r, char **out,
		     size_t *len);

/**
 * Decodes and validates a reply to op (asked with buffer size want for
 * readlink): rc an integer, 0 or a negative errno (a length up to want
 * for readlink, with that many bytes of data); st present exactly when
 * op is stat and rc is 0.  -EINVAL when anything is off.
 */
int ctl_reply_decode(const void *buf, size_t len, enum ctl_op op, size_t want,
		     struct ctl_reply *out);

/** Encodes a progress update (label NULL: the end of the line). */
int ctl_progress_encode(const char *label, uint64_t done, uint64_t total,
			char **out, size_t *len);

/** Decodes a progress update: label (at most 63 bytes, copied into
 * label[64]; "" for the end), done and total. */
int ctl_progress_decode(const void *buf, size_t len, char label[64],
			uint64_t *done, uint64_t *total);

/**
 * Parses a payload of at most max bytes into a JSON object (*root, a new
 * reference).  -EMSGSIZE, -EINVAL (NUL byte, not JSON, not an object),
 * -EILSEQ (not UTF-8), with the reason in *why.
 */
int ctl_json_load(const void *buf, size_t len, size_t max, json_t **root,
		  const char **why);

/** Dumps root (the reference is taken, NULL: -ENOMEM) into a malloc'd
 * *out of *out_len bytes; -EINVAL over max bytes. */
int ctl_json_dump(json_t *root, size_t max, char **out, size_t *out_len);

#endif
