/*
 * fs/cli/trace_i.h - the spans of step traces, as `trace show` and
 * `openlineage` read them (private to fs/: trace.c).
 *
 * A step's trace (store.h, "traces") is a list of JSON lines.  `trace add`
 * writes one span per line:
 *
 *     {"id": UUID, "parent": ID or null, "kind": KIND, "name": NAME,
 *      "start": ISO 8601, "end": ISO 8601,
 *      "inputs": [{"file", "digest", "size"}], "outputs": [...],
 *      "attrs": {K: V}}
 *
 * Lines may also come from elsewhere (appended through the mount), so
 * reading is lenient: a line that is not a JSON object is skipped with a
 * warning, and a field that is missing or of the wrong type reads as
 * absent.  A parent id names the first span of the step with that id;
 * one that names none, or that would close a cycle, makes the span a
 * root.
 *
 * Ownership: struct fs_trace owns its spans and their JSON objects; the
 * strings of a span are borrowed from its object and live as long as the
 * trace.  Nothing here keeps global state: any thread may use it.
 */
#ifndef ARTIFACTFS_TRACE_I_H
#define ARTIFACTFS_TRACE_I_H

#include "cli_i.h"

/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" and the NUL */
#define FS_UUID_STR_LEN 37
/* A time that is absent or does not parse. */
#define FS_TIME_NONE INT64_MIN
/* No span: the end of a list, or the parent of a root. */
#define FS_SPAN_NONE SIZE_MAX
/* The most spans one step's trace may hold in memory (-EFBIG past it). */
#define FS_TRACE_SPANS_MAX 1000000

/* The span kinds `trace add` accepts, NULL-terminated. */
extern const char *const fs_span_kinds[];

struct fs_span {
	json_t *obj;	    /* the line, one reference owned */
	uint64_t seq;	    /* its line number in the trace, from 1 */
	const char *id;	    /* "id", or NULL */
	bool dup;	    /* an earlier span has the same id */
	const char *parent; /* "parent", or NULL */
	const char *kind;   /* "kind", or "" */
	const char *name;   /* "name", or "" */
	int64_t start, end; /* ns since the epoch, or FS_TIME_NONE */
	size_t up;	    /* index of the parent span, or FS_SPAN_NONE */
	size_t child;	    /* first child, or FS_SPAN_NONE */
	size_t next;	    /* next sibling, or FS_SPAN_NONE */
};

/* Children (and roots) are linked in order of start time, then line. */
struct fs_trace {
	struct fs_span *spans;
	size_t n;
	size_t first; /* the first root, or FS_SPAN_NONE when n is 0 */
};

/**
 * Reads and links the spans of a step's trace into out (zeroed first).
 * Returns 0, -ENOENT (no such step: quietly), -EFBIG (more than
 * FS_TRACE_SPANS_MAX lines, logged), -EIO, -ENOMEM.  On failure out
 * holds nothing.
 */
int fs_trace_load(struct store *s, const char *pipeline, const char *run,
		  const char *step, struct fs_trace *out);

/** Frees what t owns; accepts a zeroed trace. */
void fs_trace_release(struct fs_trace *t);

/**
 * The span after i in a depth-first walk (parents before children,
 * siblings in order); *depth (0 for a root) is updated.  Start with
 * t->first and depth 0.  FS_SPAN_NONE at the end.
 */
size_t fs_trace_next(const struct fs_trace *t, size_t i, unsigned *depth);

/** The index of the first span with this id, or FS_SPAN_NONE. */
size_t fs_trace_find(const struct fs_trace *t, const char *id);

/** The current time in ns since the epoch (CLOCK_REALTIME). */
int64_t fs_time_now(void);

/** ISO 8601 UTC with milliseconds, "2024-05-01T12:00:00.123Z". */
void fs_time_iso_ms(int64_t ns, char out[FS_TIME_STR_LEN]);

/**
 * Parses "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+00:00)" (UTC only) into ns
 * since the epoch.  Returns 0 or -EINVAL.
 */
int fs_time_parse(const char *s, int64_t *out);

/** A random (version 4) UUID from /dev/urandom.  Returns 0 or -EIO. */
int fs_uuid_random(char out[FS_UUID_STR_LEN]);

/**
 * A UUID derived from a namespace and a name: the first 16 bytes of
 * SHA-256(ns NUL name) with the version and variant bits set
 * (version 8, the name-based SHA-256 layout of RFC 9562), so the same
 * names always give the same UUID.  Returns 0 or -EIO.
 */
int fs_uuid_name(const char *ns, const char *name, char out[FS_UUID_STR_LEN]);

/** Whether s is a UUID in the 8-4-4-4-12 hex form (either case). */
bool fs_uuid_valid(const char *s);

#endif
