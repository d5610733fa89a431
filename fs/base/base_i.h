/*
 * fs/base/base_i.h - what the files of fs/base share (never included
 * outside this folder): the log's state of a request, kept by request.c
 * with the rest of a request's per-thread state and used by the log sink
 * (output.c).
 *
 * Threads: everything here is per thread; a pointer returned is valid
 * while its thread lives.
 */
#ifndef ARTIFACTFS_FS_BASE_I_H
#define ARTIFACTFS_FS_BASE_I_H

#include <stdbool.h>

/* The state of the log sink for one command (output.c). */
struct fs_log_state {
	unsigned long errors;
	const char *prefix;
	char last_err[1024]; /* the previous error line, to drop repeats */
	bool muted;	     /* a failure was reported: only -v shows more */
};

/* ------------------------------------------------------------ request.c */

/** This thread's log state for a request (zeroed by fs_request_streams);
 * used only while fs_in_request().  Borrowed: lives with the thread. */
struct fs_log_state *fs_request_log(void);

/** Whether the request on this thread asked for verbose logging (false
 * after fs_request_streams). */
bool fs_request_verbose(void);

/** Sets what fs_request_verbose returns, for this thread. */
void fs_request_set_verbose(bool verbose);

#endif
