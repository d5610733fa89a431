/*
 * fs/base/output.c - what the command line prints: the log sink on stderr,
 * the JSON forms of names, digests and versions, and whole-file writes.
 *
 * The sink counts the error lines it prints so that main.c can tell
 * whether a failing command has already explained itself (one line per
 * failure, never zero, never two).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wchar.h>

#include "base.h"
#include "base_i.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
/* The log's state belongs to the command that logs.  The command line
 * runs one command, whose worker threads log too: one state for the
 * process.  The daemon runs its clients' commands side by side, each on
 * its own thread: one state per request thread (request.c, reset by
 * fs_request_streams), and no lock shared across requests, so a client
 * that stops reading stalls only its own request. */
static struct fs_log_state process_log;

static struct fs_log_state *log_state(void)
{
	return fs_in_request() ? fs_request_log() : &process_log;
}

void fs_log_sink(void *arg, enum store_log_level level, const char *msg)
{
	bool verbose = arg != NULL || fs_request_verbose(),
	     shared = !fs_in_request();
	struct fs_log_state *ls = log_state();

	if ((level > STORE_LOG_WARNING || ls->muted) && !verbose)
		return;
	fs_progress_hide();
	if (shared)
		pthread_mutex_lock(&log_lock);
	if (level <= STORE_LOG_ERR && !strcmp(msg, ls->last_err)) {
		/* The same failure seen again on the way out (say, a flush
		 * retried by store_close) is not a second failure. */
		goto out_unlock;
	}
	if (level <= STORE_LOG_ERR) {
		snprintf(ls->last_err, sizeof(ls->last_err), "%s", msg);
		ls->errors++;
	}
	if (ls->prefix)
		fprintf(fs_stderr(), "%s: %s: %s\n", FS_PROG, ls->prefix, msg);
	else
		fprintf(fs_stderr(), "%s: %s\n", FS_PROG, msg);
	fflush(fs_stderr());
out_unlock:
	if (shared)
		pthread_mutex_unlock(&log_lock);
}

void fs_log_install(bool verbose)
{
	/* The sink only needs one bit: a non-NULL arg means verbose. */
	static int verbose_tag;

	/* Inside the daemon: the sink stays the daemon's. */
	if (fs_in_request()) {
		fs_request_set_verbose(verbose);
		return;
	}
	store_log_set_sink(fs_log_sink, verbose ? &verbose_tag : NULL);
}

void fs_log_mute(void)
{
	pthread_mutex_lock(&log_lock);
	log_state()->muted = true;
	pthread_mutex_unlock(&log_lock);
}

void fs_log_prefix(const char *prefix)
{
	pthread_mutex_lock(&log_lock);
	log_state()->prefix = prefix;
	pthread_mutex_unlock(&log_lock);
}

unsigned long fs_log_errors(void)
{
	unsigned long n;

	pthread_mutex_lock(&log_lock);
	n = log_state()->errors;
	pthread_mutex_unlock(&log_lock);
	return n;
}

json_t *fs_json_str(const char *s)
{
	json_t *j = json_string(s);
	char *copy;
	size_t i;

	if (j)
		return j;
	/* json_string refuses invalid UTF-8: names on disk may be any
	 * bytes, so show the non-ASCII ones as '?' rather than fail. */
	copy = strdup(s);
	if (!copy)
		return NULL;
	for (i = 0; copy[i]; i++)
		if ((unsigned char)copy[i] >= 0x80)
			copy[i] = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

json_t *fs_json_digest(const uint8_t digest[STORE_DIGEST_LEN])
{
	char hex[STORE_DIGEST_STR_LEN];

	store_digest_format(digest, hex);
	return json_string(hex);
}

json_t *fs_json_version(const struct store_version *v)
{
	char ref[16], when[FS_TIME_STR_LEN];

	snprintf(ref, sizeof(ref), "v%u", v->number);
	fs_time_iso(v->created, when);
	return json_pack("{s:o, s:I, s:s, s:o, s:I, s:I, s:s, s:o?}",
			 "artifact", fs_json_str(v->artifact), "version",
			 (json_int_t)v->number, "ref", ref, "digest",
			 fs_json_digest(v->digest), "size", (json_int_t)v->size,
			 "files", (json_int_t)v->files, "created", when, "run",
			 v->run[0] ? fs_json_str(v->run) : NULL);
}

int fs_json_print(json_t *j)
{
	int rc = 0;

	if (!j)
		return -ENOMEM;
	if (json_dumpf(j, fs_stdout(), JSON_INDENT(2)) < 0 ||
	    fputc('\n', fs_stdout()) == EOF)
		rc = ferror(fs_stdout()) ? -EIO : -ENOMEM;
	json_decref(j);
	return rc;
}

int fs_name_check(const char *what, const char *name)
{
	return store_name_require(STORE_NAME_ENTITY, what, name);
}

int fs_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Flushes the directory that holds path, so that a rename in it lasts. */
static void sync_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];
	int fd;

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (snprintf(dir, sizeof(dir), "%.*s",
			  slash == path ? 1 : (int)(slash - path),
			  path) >= (int)sizeof(dir))
		return;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

int fs_write_file(const char *path, const void *buf, size_t len, unsigned flags)
{
	char tmp[PATH_MAX];
	int fd, rc = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >=
	    (int)sizeof(tmp)) {
		store_log(STORE_LOG_ERR, "cannot write %s: %s", path,
			  strerror(ENAMETOOLONG));
		return -ENAMETOOLONG;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		goto out_log;
	}
	rc = fs_write_all(fd, buf, len);
	if (!rc && (fchmod(fd, 0644) < 0 || fsync(fd) < 0))
		rc = -errno;
	if (close(fd) < 0 && !rc)
		rc = -errno;
	/* A link never replaces what is there; a rename always does. */
	if (!rc && (flags & FS_WRITE_KEEP) && link(tmp, path) < 0)
		rc = -errno;
	else if (!rc && !(flags & FS_WRITE_KEEP) && rename(tmp, path) < 0)
		rc = -errno;
	if (rc || (flags & FS_WRITE_KEEP))
		unlink(tmp);
	if (!rc)
		sync_parent(path);
	if (rc == -EEXIST && (flags & FS_WRITE_KEEP))
		return rc;
out_log:
	if (rc)
		store_log(STORE_LOG_ERR, "cannot write %s: %s", path,
			  strerror(-rc));
	return rc;
}

int fs_text_width(const char *s)
{
	size_t n = mbstowcs(NULL, s, 0);
	wchar_t *w;
	int width;

	if (n == (size_t)-1 || n > 4096)
		return (int)strlen(s); /* not text in this locale: its bytes */
	w = malloc((n + 1) * sizeof(*w));
	if (!w)
		return (int)strlen(s);
	mbstowcs(w, s, n + 1);
	width = wcswidth(w, n);
	free(w);
	return width < 0 ? (int)strlen(s) : width;
}

void fs_put_padded(FILE *f, const char *s, int width)
{
	int pad = width - fs_text_width(s);

	fputs(s, f);
	if (pad > 0)
		fprintf(f, "%*s", pad, "");
}
