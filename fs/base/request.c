/*
 * fs/base/request.c - the state of a command the mount daemon runs for a
 * client: its streams, its standard input, its connection and the log's
 * state of its request, all per thread.
 *
 * A command the mount daemon runs for a client writes to the client's
 * streams: per thread, so the daemon's own threads keep theirs.  Outside
 * a request every function here gives the process's own: stdout, stderr,
 * STDIN_FILENO, no connection.
 */
#include <string.h>
#include <unistd.h>

#include "base.h"
#include "base_i.h"

static __thread FILE *t_out, *t_err;
static __thread bool t_verbose;
static __thread struct fs_log_state t_log;

FILE *fs_stdout(void)
{
	return t_out ? t_out : stdout;
}

FILE *fs_stderr(void)
{
	return t_err ? t_err : stderr;
}

static __thread int t_in = -1;
static __thread struct fs_ctl_conn *t_conn;
static __thread bool t_tty;

void fs_request_client(struct fs_ctl_conn *conn, bool tty)
{
	t_conn = conn;
	t_tty = tty;
}

struct fs_ctl_conn *fs_request_conn(bool *tty)
{
	*tty = t_tty;
	return t_conn;
}

bool fs_in_request(void)
{
	return t_err != NULL;
}

int fs_stdin(void)
{
	return fs_in_request() ? t_in : STDIN_FILENO;
}

void fs_request_stdin(int fd)
{
	t_in = fd;
}

void fs_request_streams(FILE *out, FILE *err)
{
	t_out = out;
	t_err = err;
	t_verbose = false;
	memset(&t_log, 0, sizeof(t_log));
}

struct fs_log_state *fs_request_log(void)
{
	return &t_log;
}

bool fs_request_verbose(void)
{
	return t_verbose;
}

void fs_request_set_verbose(bool verbose)
{
	t_verbose = verbose;
}
