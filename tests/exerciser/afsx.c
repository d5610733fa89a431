/*
 * afsx - a random-operation exerciser for files in an open run, in the
 * spirit of fsx: every operation is made twice, once in TESTDIR (a
 * directory under a run's steps/S/outputs/ on the mount) and once in
 * SHADOWDIR (a directory on a local file system), and the two must agree
 * after every step: return values and errnos, then the size and bytes of
 * the file the operation touched; every -c steps all files.
 *
 *   afsx [-s SEED] [-n OPS] [-p PROCS] [-f FILES] [-m MAXSIZE] [-k LOG]
 *        [-c EVERY] [-H] [-G] [-1] [-C CONTROL] [-A ARTDIR] [-q] TESTDIR
 * SHADOWDIR
 *
 * Workers: -p N forks N processes that share the two directories but
 * never each other's files (worker i works on files named wI-fJ), each
 * with seed SEED + i; OPS is the total over all workers.  A worker stops
 * at its first mismatch, prints it with its seed, its step and its last
 * -k operations, and exits 1.
 *
 * At the end every worker closes its files; then, with -C, the parent
 * writes "seal" to the run's control file and, with -A (the artifact's
 * directory under /artifacts), compares the newest version (latest) with
 * SHADOWDIR: the same names, sizes and bytes.
 *
 * Operations: open (O_RDONLY/O_WRONLY/O_RDWR with O_CREAT, O_EXCL,
 * O_TRUNC, O_APPEND at random), close, write (after lseek), pwrite, read
 * (after lseek), pread, ftruncate, truncate, fsync, rename, unlink, link
 * (a hard link) and mmap reads (PROT_READ, MAP_SHARED or MAP_PRIVATE, of an
 * open handle or of a file opened for it).  -H leaves out link (-L, which once
 * turned it on, is still accepted).
 *
 * -G: a handle whose file lost its last name (unlinked, or renamed over)
 * is only closed, never written, truncated, synced or mapped.
 * -1: one handle per file at a time (opening a file closes its other
 * handles first).  Both narrow a run down when bisecting a mismatch;
 * the scripts pass neither (such handles once lost their data, and
 * handles once read stale bytes, bugs afsx-orphan and afsx-stale).
 *
 * Exit status: 0 when everything agreed, 1 on a mismatch, 2 on a usage or
 * setup error.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_PROCS 64
#define MAX_FILES 64
#define NSLOTS	  8
#define LOG_LINE  200
#define MAX_WRITE 65536

enum side { TEST, SHADOW };

enum op {
	OP_OPEN,
	OP_CLOSE,
	OP_WRITE,
	OP_PWRITE,
	OP_READ,
	OP_PREAD,
	OP_FTRUNCATE,
	OP_TRUNCATE,
	OP_FSYNC,
	OP_RENAME,
	OP_UNLINK,
	OP_LINK,
	OP_MMAP,
	OP_NR
};

static const char *const op_names[OP_NR] = {
    "open",	"close", "write",  "pwrite", "read", "pread", "ftruncate",
    "truncate", "fsync", "rename", "unlink", "link", "mmap",
};

/* How often each operation is drawn, out of their sum. */
static unsigned op_weight[OP_NR] = {
    [OP_OPEN] = 10, [OP_CLOSE] = 8,  [OP_WRITE] = 14,	 [OP_PWRITE] = 14,
    [OP_READ] = 8,  [OP_PREAD] = 8,  [OP_FTRUNCATE] = 5, [OP_TRUNCATE] = 4,
    [OP_FSYNC] = 3, [OP_RENAME] = 4, [OP_UNLINK] = 3,	 [OP_LINK] = 3,
    [OP_MMAP] = 6,
};

struct opts {
	uint64_t seed;
	long ops;
	int procs;
	int files;
	long maxsize;
	int logsize;
	int every;
	bool links;
	bool no_orphans;
	bool one_handle;
	bool quiet;
	const char *control;
	const char *artdir;
	const char *dir[2];
};

/* Shared with the parent (MAP_SHARED): what each worker did. */
struct stats {
	long ops;
	long count[OP_NR];
	long checks;
	int mismatch;
};

/* An open handle: the same open(2) made on both sides. */
struct slot {
	bool used;
	int fd[2];
	int flags;
	int name; /* the name it was opened by, -1 once gone */
};

struct worker {
	const struct opts *o;
	int id;
	uint64_t seed;
	uint64_t rng;
	long step;
	int dfd[2];
	struct slot slot[NSLOTS];
	char (*log)[LOG_LINE];
	long nlog;
	struct stats *st;
	unsigned char *buf[2];
	unsigned char *wbuf;
};

static sigjmp_buf bus_jmp;
static volatile sig_atomic_t bus_armed;

static void on_sigbus(int sig)
{
	(void)sig;
	if (bus_armed)
		siglongjmp(bus_jmp, 1);
	_exit(3);
}

static uint64_t rnd(struct worker *w)
{
	/* splitmix64: one 64-bit state, good enough and reproducible */
	uint64_t z = (w->rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static long rnd_below(struct worker *w, long n)
{
	return n <= 0 ? 0 : (long)(rnd(w) % (uint64_t)n);
}

static void name_of(const struct worker *w, int j, char *out, size_t len)
{
	snprintf(out, len, "w%d-f%d", w->id, j);
}

static void logf_op(struct worker *w, const char *fmt, ...)
{
	char *line = w->log[w->nlog % w->o->logsize];
	int n = snprintf(line, LOG_LINE, "#%ld ", w->step);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line + n, LOG_LINE - n, fmt, ap);
	va_end(ap);
	w->nlog++;
}

/* Appends " -> RESULT" to the newest log line. */
static void log_result(struct worker *w, long r0, int e0, long r1, int e1)
{
	char *line = w->log[(w->nlog - 1) % w->o->logsize];
	size_t n = strlen(line);

	snprintf(line + n, LOG_LINE - n, " -> %ld%s%s / %ld%s%s", r0,
		 r0 < 0 ? " " : "", r0 < 0 ? strerror(e0) : "", r1,
		 r1 < 0 ? " " : "", r1 < 0 ? strerror(e1) : "");
}

static void dump_log(const struct worker *w)
{
	long first = w->nlog > w->o->logsize ? w->nlog - w->o->logsize : 0;

	fprintf(stderr,
		"afsx: worker %d: last %ld operations (test / shadow):\n",
		w->id, w->nlog - first);
	for (long i = first; i < w->nlog; i++)
		fprintf(stderr, "  %s\n", w->log[i % w->o->logsize]);
}

static void mismatch(struct worker *w, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr,
		"afsx: MISMATCH worker %d (seed %" PRIu64 ") step %ld: ", w->id,
		w->seed, w->step);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	dump_log(w);
	fprintf(
	    stderr,
	    "afsx: reproduce alone: afsx -s %" PRIu64
	    " -p 1 -n %ld -f %d -m %ld%s%s%s TESTDIR SHADOWDIR (worker files "
	    "w0-*)\n",
	    w->seed, w->step, w->o->files, w->o->maxsize,
	    w->o->links ? "" : " -H", w->o->no_orphans ? " -G" : "",
	    w->o->one_handle ? " -1" : "");
	w->st->mismatch = 1;
	w->st->ops = w->step;
	exit(1);
}

/* Both sides must give the same result, and the same errno on failure. */
static void same_result(struct worker *w, const char *what, long r0, int e0,
			long r1, int e1)
{
	if (r0 != r1 || (r0 < 0 && e0 != e1))
		mismatch(w, "%s: test %ld (%s), shadow %ld (%s)", what, r0,
			 r0 < 0 ? strerror(e0) : "ok", r1,
			 r1 < 0 ? strerror(e1) : "ok");
}

static void compare_bytes(struct worker *w, const char *what,
			  const unsigned char *a, const unsigned char *b,
			  size_t n, long base)
{
	if (memcmp(a, b, n) == 0)
		return;
	for (size_t i = 0; i < n; i++) {
		if (a[i] != b[i])
			mismatch(w,
				 "%s: bytes differ at offset %ld: test 0x%02x, "
				 "shadow 0x%02x (%zu bytes compared)",
				 what, base + (long)i, a[i], b[i], n);
	}
}

/* Reads all of fd from offset 0 into buf (cap bytes at most). */
static long read_all(int fd, unsigned char *buf, long cap)
{
	long got = 0;

	while (got < cap) {
		ssize_t n = pread(fd, buf + got, cap - got, got);
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += n;
	}
	return got;
}

static void agree(struct worker *w, const char *what, long r0, int e0, long r1,
		  int e1)
{
	log_result(w, r0, e0, r1, e1);
	same_result(w, what, r0, e0, r1, e1);
}

/* Compares the sizes, and the bytes when both sides are readable. */
static void check_fds(struct worker *w, const char *what, int fd0, int fd1,
		      bool readable)
{
	struct stat s0, s1;
	long cap = w->o->maxsize + MAX_WRITE;
	long n0, n1;
	int e0;

	w->st->checks++;
	if (fstat(fd0, &s0) < 0 || fstat(fd1, &s1) < 0)
		mismatch(w, "%s: fstat: %s", what, strerror(errno));
	if (s0.st_size != s1.st_size)
		mismatch(w, "%s: size: test %lld, shadow %lld", what,
			 (long long)s0.st_size, (long long)s1.st_size);
	if (!readable)
		return;
	n0 = read_all(fd0, w->buf[TEST], cap);
	e0 = errno;
	n1 = read_all(fd1, w->buf[SHADOW], cap);
	if (n0 != n1)
		mismatch(w, "%s: read back %ld bytes (%s), shadow %ld", what,
			 n0, n0 < 0 ? strerror(e0) : "ok", n1);
	if (n0 != s0.st_size)
		mismatch(w, "%s: size %lld but %ld bytes read back", what,
			 (long long)s0.st_size, n0);
	compare_bytes(w, what, w->buf[TEST], w->buf[SHADOW], n0, 0);
}

/* Compares name j on both sides: existence, size, bytes. */
static void check_name(struct worker *w, int j)
{
	char name[64];
	int fd[2], e[2];

	name_of(w, j, name, sizeof(name));
	for (int s = TEST; s <= SHADOW; s++) {
		fd[s] = openat(w->dfd[s], name, O_RDONLY);
		e[s] = errno;
	}
	if ((fd[TEST] < 0) != (fd[SHADOW] < 0) ||
	    (fd[TEST] < 0 && e[TEST] != e[SHADOW]))
		mismatch(w, "check %s: open: test %s, shadow %s", name,
			 fd[TEST] < 0 ? strerror(e[TEST]) : "ok",
			 fd[SHADOW] < 0 ? strerror(e[SHADOW]) : "ok");
	if (fd[TEST] < 0)
		return;
	check_fds(w, name, fd[TEST], fd[SHADOW], true);
	for (int s = TEST; s <= SHADOW; s++) {
		if (close(fd[s]) < 0 && s == TEST)
			mismatch(w, "check %s: close: %s", name,
				 strerror(errno));
	}
}

static void check_slot(struct worker *w, struct slot *sl)
{
	bool readable = (sl->flags & O_ACCMODE) != O_WRONLY;

	check_fds(w, "open handle", sl->fd[TEST], sl->fd[SHADOW], readable);
	if (!readable && sl->name >= 0)
		check_name(w, sl->name);
}

static void check_all(struct worker *w)
{
	for (int j = 0; j < w->o->files; j++)
		check_name(w, j);
}

static struct slot *pick_slot(struct worker *w, bool used)
{
	int start = rnd_below(w, NSLOTS);

	for (int i = 0; i < NSLOTS; i++) {
		struct slot *sl = &w->slot[(start + i) % NSLOTS];
		if (sl->used == used)
			return sl;
	}
	return NULL;
}

/* "fd3(w0-f2)": a handle and the name it is known by, for the log. */
static const char *slot_str(const struct worker *w, const struct slot *sl)
{
	static char out[64];

	if (sl->name >= 0)
		snprintf(out, sizeof(out), "fd%ld(w%d-f%d)",
			 (long)(sl - w->slot), w->id, sl->name);
	else
		snprintf(out, sizeof(out), "fd%ld(gone)", (long)(sl - w->slot));
	return out;
}

static void flags_str(int flags, char *out, size_t len)
{
	static const char *const acc[] = {"RDONLY", "WRONLY", "RDWR"};

	snprintf(out, len, "%s%s%s%s%s", acc[flags & O_ACCMODE],
		 flags & O_CREAT ? "|CREAT" : "", flags & O_EXCL ? "|EXCL" : "",
		 flags & O_TRUNC ? "|TRUNC" : "",
		 flags & O_APPEND ? "|APPEND" : "");
}

static int random_flags(struct worker *w)
{
	static const int acc[] = {O_RDWR, O_RDWR, O_RDWR, O_WRONLY, O_RDONLY};
	int flags = acc[rnd_below(w, 5)];

	if (rnd_below(w, 3) > 0)
		flags |= O_CREAT;
	if ((flags & O_CREAT) && rnd_below(w, 8) == 0)
		flags |= O_EXCL;
	if ((flags & O_ACCMODE) != O_RDONLY && rnd_below(w, 8) == 0)
		flags |= O_TRUNC;
	if ((flags & O_ACCMODE) != O_RDONLY && rnd_below(w, 10) == 0)
		flags |= O_APPEND;
	return flags;
}

static void close_slot(struct worker *w, struct slot *sl);

static void op_open(struct worker *w)
{
	struct slot *sl = pick_slot(w, false);
	int j = rnd_below(w, w->o->files), flags = random_flags(w), e[2];
	char name[64], fl[64];

	if (!sl)
		return;
	/* -1: the file's other handles are closed first */
	for (int i = 0; w->o->one_handle && i < NSLOTS; i++)
		if (w->slot[i].used && w->slot[i].name == j)
			close_slot(w, &w->slot[i]);
	name_of(w, j, name, sizeof(name));
	flags_str(flags, fl, sizeof(fl));
	logf_op(w, "open %s %s", name, fl);
	for (int s = TEST; s <= SHADOW; s++) {
		sl->fd[s] = openat(w->dfd[s], name, flags, 0644);
		e[s] = errno;
	}
	log_result(w, sl->fd[TEST] < 0 ? -1 : 0, e[TEST],
		   sl->fd[SHADOW] < 0 ? -1 : 0, e[SHADOW]);
	if (sl->fd[TEST] >= 0) {
		char *line = w->log[(w->nlog - 1) % w->o->logsize];
		size_t n = strlen(line);
		snprintf(line + n, LOG_LINE - n, " as fd%ld",
			 (long)(sl - w->slot));
	}
	if ((sl->fd[TEST] < 0) != (sl->fd[SHADOW] < 0) ||
	    (sl->fd[TEST] < 0 && e[TEST] != e[SHADOW]))
		mismatch(w, "open %s %s: test %s, shadow %s", name, fl,
			 sl->fd[TEST] < 0 ? strerror(e[TEST]) : "ok",
			 sl->fd[SHADOW] < 0 ? strerror(e[SHADOW]) : "ok");
	if (sl->fd[TEST] < 0)
		return;
	sl->used = true;
	sl->flags = flags;
	sl->name = j;
	check_slot(w, sl);
}

static void close_slot(struct worker *w, struct slot *sl)
{
	int r[2], e[2];

	logf_op(w, "close %s", slot_str(w, sl));
	for (int s = TEST; s <= SHADOW; s++) {
		r[s] = close(sl->fd[s]);
		e[s] = errno;
	}
	sl->used = false;
	agree(w, "close", r[TEST], e[TEST], r[SHADOW], e[SHADOW]);
	if (sl->name >= 0)
		check_name(w, sl->name);
}

static void fill(struct worker *w, long len)
{
	/* bytes tagged with the step, so a misplaced block is recognisable */
	for (long i = 0; i < len; i += 8) {
		uint64_t v = rnd(w) ^ (uint64_t)w->step;
		memcpy(w->wbuf + i, &v, len - i < 8 ? (size_t)(len - i) : 8);
	}
}

static long random_len(struct worker *w)
{
	switch (rnd_below(w, 4)) {
	case 0:
		return 1 + rnd_below(w, 16);
	case 1:
		return 1 + rnd_below(w, 4096);
	default:
		return 1 + rnd_below(w, MAX_WRITE);
	}
}

/* off and len such that off + len <= maxsize (the file may be extended). */
static void random_range(struct worker *w, long *off, long *len)
{
	*len = random_len(w);
	if (*len > w->o->maxsize)
		*len = w->o->maxsize;
	*off = rnd_below(w, w->o->maxsize - *len + 1);
}

static void op_write(struct worker *w, struct slot *sl, bool positioned)
{
	long off, len;
	ssize_t r[2];
	int e[2];
	struct stat st;

	random_range(w, &off, &len);
	/* appends grow the file: keep them under the cap */
	if ((sl->flags & O_APPEND) && fstat(sl->fd[SHADOW], &st) == 0 &&
	    st.st_size + len > w->o->maxsize)
		len =
		    st.st_size < w->o->maxsize ? w->o->maxsize - st.st_size : 1;
	fill(w, len);
	logf_op(w, "%s %s off=%ld len=%ld", positioned ? "pwrite" : "write",
		slot_str(w, sl), off, len);
	for (int s = TEST; s <= SHADOW; s++) {
		errno = 0;
		if (positioned) {
			r[s] = pwrite(sl->fd[s], w->wbuf, len, off);
		} else {
			r[s] = lseek(sl->fd[s], off, SEEK_SET);
			if (r[s] >= 0)
				r[s] = write(sl->fd[s], w->wbuf, len);
		}
		e[s] = errno;
	}
	agree(w, positioned ? "pwrite" : "write", r[TEST], e[TEST], r[SHADOW],
	      e[SHADOW]);
	check_slot(w, sl);
}

static void op_read(struct worker *w, struct slot *sl, bool positioned)
{
	long off, len;
	ssize_t r[2];
	int e[2];

	random_range(w, &off, &len);
	logf_op(w, "%s %s off=%ld len=%ld", positioned ? "pread" : "read",
		slot_str(w, sl), off, len);
	for (int s = TEST; s <= SHADOW; s++) {
		errno = 0;
		if (positioned) {
			r[s] = pread(sl->fd[s], w->buf[s], len, off);
		} else {
			r[s] = lseek(sl->fd[s], off, SEEK_SET);
			if (r[s] >= 0)
				r[s] = read(sl->fd[s], w->buf[s], len);
		}
		e[s] = errno;
	}
	agree(w, positioned ? "pread" : "read", r[TEST], e[TEST], r[SHADOW],
	      e[SHADOW]);
	if (r[TEST] > 0)
		compare_bytes(w, "read", w->buf[TEST], w->buf[SHADOW], r[TEST],
			      off);
}

static long random_size(struct worker *w)
{
	switch (rnd_below(w, 4)) {
	case 0:
		return 0;
	case 1:
		return rnd_below(w, 4096);
	default:
		return rnd_below(w, w->o->maxsize + 1);
	}
}

static void op_ftruncate(struct worker *w, struct slot *sl)
{
	long size = random_size(w);
	int r[2], e[2];

	logf_op(w, "ftruncate %s %ld", slot_str(w, sl), size);
	for (int s = TEST; s <= SHADOW; s++) {
		r[s] = ftruncate(sl->fd[s], size);
		e[s] = errno;
	}
	agree(w, "ftruncate", r[TEST], e[TEST], r[SHADOW], e[SHADOW]);
	check_slot(w, sl);
}

static void op_fsync(struct worker *w, struct slot *sl)
{
	int r[2], e[2];
	bool data = rnd_below(w, 2);

	logf_op(w, "%s %s", data ? "fdatasync" : "fsync", slot_str(w, sl));
	for (int s = TEST; s <= SHADOW; s++) {
		r[s] = data ? fdatasync(sl->fd[s]) : fsync(sl->fd[s]);
		e[s] = errno;
	}
	agree(w, "fsync", r[TEST], e[TEST], r[SHADOW], e[SHADOW]);
	check_slot(w, sl);
}

static void op_truncate(struct worker *w)
{
	int j = rnd_below(w, w->o->files), r[2], e[2];
	long size = random_size(w);
	char name[64], path[PATH_MAX];

	name_of(w, j, name, sizeof(name));
	logf_op(w, "truncate %s %ld", name, size);
	for (int s = TEST; s <= SHADOW; s++) {
		snprintf(path, sizeof(path), "%s/%s", w->o->dir[s], name);
		r[s] = truncate(path, size);
		e[s] = errno;
	}
	agree(w, "truncate", r[TEST], e[TEST], r[SHADOW], e[SHADOW]);
	check_name(w, j);
}

/* A rename or unlink of name j: handles opened by it no longer name it. */
static void forget_name(struct worker *w, int j)
{
	for (int i = 0; i < NSLOTS; i++)
		if (w->slot[i].used && w->slot[i].name == j)
			w->slot[i].name = -1;
}

static void op_rename(struct worker *w, bool link)
{
	int a = rnd_below(w, w->o->files), b = rnd_below(w, w->o->files);
	int r[2], e[2];
	char na[64], nb[64];

	name_of(w, a, na, sizeof(na));
	name_of(w, b, nb, sizeof(nb));
	logf_op(w, "%s %s %s", link ? "link" : "rename", na, nb);
	for (int s = TEST; s <= SHADOW; s++) {
		r[s] = link ? linkat(w->dfd[s], na, w->dfd[s], nb, 0)
			    : renameat(w->dfd[s], na, w->dfd[s], nb);
		e[s] = errno;
	}
	agree(w, link ? "link" : "rename", r[TEST], e[TEST], r[SHADOW],
	      e[SHADOW]);
	if (r[TEST] == 0 && a != b) {
		forget_name(w, b);
		if (!link) {
			for (int i = 0; i < NSLOTS; i++)
				if (w->slot[i].used && w->slot[i].name == a)
					w->slot[i].name = b;
		}
	}
	check_name(w, a);
	check_name(w, b);
}

static void op_unlink(struct worker *w)
{
	int j = rnd_below(w, w->o->files), r[2], e[2];
	char name[64];

	name_of(w, j, name, sizeof(name));
	logf_op(w, "unlink %s", name);
	for (int s = TEST; s <= SHADOW; s++) {
		r[s] = unlinkat(w->dfd[s], name, 0);
		e[s] = errno;
	}
	agree(w, "unlink", r[TEST], e[TEST], r[SHADOW], e[SHADOW]);
	if (r[TEST] == 0)
		forget_name(w, j);
	check_name(w, j);
}

/* Maps fd[] of both sides (size bytes) and compares the mappings. */
static void mmap_compare(struct worker *w, const int fd[2], long size,
			 bool shared)
{
	void *m[2];
	int e[2];

	for (int s = TEST; s <= SHADOW; s++) {
		m[s] = mmap(NULL, size, PROT_READ,
			    shared ? MAP_SHARED : MAP_PRIVATE, fd[s], 0);
		e[s] = errno;
	}
	same_result(w, "mmap", m[TEST] == MAP_FAILED ? -1 : 0, e[TEST],
		    m[SHADOW] == MAP_FAILED ? -1 : 0, e[SHADOW]);
	if (m[TEST] == MAP_FAILED)
		return;
	if (sigsetjmp(bus_jmp, 1) == 0) {
		bus_armed = 1;
		compare_bytes(w, "mmap", m[TEST], m[SHADOW], size, 0);
		bus_armed = 0;
	} else {
		bus_armed = 0;
		mismatch(w, "mmap: SIGBUS reading %ld mapped bytes", size);
	}
	munmap(m[TEST], size);
	munmap(m[SHADOW], size);
}

static void op_mmap(struct worker *w)
{
	struct slot *sl = rnd_below(w, 2) ? pick_slot(w, true) : NULL;
	bool shared = rnd_below(w, 2), own = false;
	int fd[2], e[2], j = rnd_below(w, w->o->files);
	struct stat st;
	char name[64];

	if (sl && ((sl->flags & O_ACCMODE) == O_WRONLY ||
		   (sl->name < 0 && w->o->no_orphans)))
		sl = NULL;
	if (sl) {
		fd[TEST] = sl->fd[TEST];
		fd[SHADOW] = sl->fd[SHADOW];
		logf_op(w, "mmap %s %s", shared ? "SHARED" : "PRIVATE",
			slot_str(w, sl));
	} else {
		name_of(w, j, name, sizeof(name));
		logf_op(w, "mmap %s %s", shared ? "SHARED" : "PRIVATE", name);
		for (int s = TEST; s <= SHADOW; s++) {
			fd[s] = openat(w->dfd[s], name, O_RDONLY);
			e[s] = errno;
		}
		agree(w, "mmap: open", fd[TEST] < 0 ? -1 : 0, e[TEST],
		      fd[SHADOW] < 0 ? -1 : 0, e[SHADOW]);
		if (fd[TEST] < 0)
			return;
		own = true;
	}
	check_fds(w, "mmap", fd[TEST], fd[SHADOW], false);
	if (fstat(fd[SHADOW], &st) == 0 && st.st_size > 0)
		mmap_compare(w, fd, st.st_size, shared);
	if (own) {
		close(fd[TEST]);
		close(fd[SHADOW]);
	}
}

static enum op pick_op(struct worker *w)
{
	unsigned total = 0, r;
	int i;

	for (i = 0; i < OP_NR; i++)
		total += op_weight[i];
	r = rnd_below(w, total);
	for (i = 0; i < OP_NR - 1 && r >= op_weight[i]; i++)
		r -= op_weight[i];
	return i;
}

static void one_op(struct worker *w)
{
	enum op op = pick_op(w);
	struct slot *sl = NULL;

	/* operations on a handle need an open one; else open one */
	if (op <= OP_FTRUNCATE || op == OP_FSYNC) {
		sl = op == OP_OPEN ? NULL : pick_slot(w, true);
		if (!sl)
			op = OP_OPEN;
	}
	/* -G: a handle whose file lost its last name is only closed */
	if (sl && sl->name < 0 && w->o->no_orphans)
		op = OP_CLOSE;
	if ((op == OP_READ || op == OP_PREAD) &&
	    (sl->flags & O_ACCMODE) == O_WRONLY)
		op = OP_PWRITE;
	w->st->count[op]++;
	switch (op) {
	case OP_OPEN:
		op_open(w);
		break;
	case OP_CLOSE:
		close_slot(w, sl);
		break;
	case OP_WRITE:
	case OP_PWRITE:
		op_write(w, sl, op == OP_PWRITE);
		break;
	case OP_READ:
	case OP_PREAD:
		op_read(w, sl, op == OP_PREAD);
		break;
	case OP_FTRUNCATE:
		op_ftruncate(w, sl);
		break;
	case OP_TRUNCATE:
		op_truncate(w);
		break;
	case OP_FSYNC:
		op_fsync(w, sl);
		break;
	case OP_RENAME:
	case OP_LINK:
		op_rename(w, op == OP_LINK);
		break;
	case OP_UNLINK:
		op_unlink(w);
		break;
	default:
		op_mmap(w);
		break;
	}
}

static void worker_release(struct worker *w)
{
	for (int s = TEST; s <= SHADOW; s++) {
		if (w->dfd[s] >= 0)
			close(w->dfd[s]);
		free(w->buf[s]);
	}
	free(w->log);
	free(w->wbuf);
}

static int run_worker(const struct opts *o, int id, long ops, struct stats *st)
{
	struct worker w = {.o = o, .id = id, .seed = o->seed + id, .st = st};
	long cap = o->maxsize + MAX_WRITE;
	int rc = 0;

	w.rng = w.seed;
	w.dfd[TEST] = w.dfd[SHADOW] = -1;
	w.log = calloc(o->logsize, LOG_LINE);
	w.buf[TEST] = malloc(cap);
	w.buf[SHADOW] = malloc(cap);
	w.wbuf = malloc(MAX_WRITE);
	if (!w.log || !w.buf[TEST] || !w.buf[SHADOW] || !w.wbuf) {
		fprintf(stderr, "afsx: out of memory\n");
		rc = 2;
		goto out_release;
	}
	for (int s = TEST; s <= SHADOW; s++) {
		w.dfd[s] = open(o->dir[s], O_RDONLY | O_DIRECTORY);
		if (w.dfd[s] < 0) {
			fprintf(stderr, "afsx: %s: %s\n", o->dir[s],
				strerror(errno));
			rc = 2;
			goto out_release;
		}
	}
	for (w.step = 1; w.step <= ops; w.step++) {
		one_op(&w);
		if (o->every > 0 && w.step % o->every == 0)
			check_all(&w);
	}
	for (int i = 0; i < NSLOTS; i++)
		if (w.slot[i].used)
			close_slot(&w, &w.slot[i]);
	check_all(&w);
	st->ops = ops;
out_release:
	worker_release(&w);
	return rc;
}

/* 0 when files a and b hold the same bytes; else 1, and says why. */
static int same_file(const char *a, const char *b, long cap,
		     unsigned char *buf[2])
{
	const char *path[2] = {a, b};
	long n[2];

	for (int s = TEST; s <= SHADOW; s++) {
		int fd = open(path[s], O_RDONLY);
		n[s] = fd < 0 ? -1 : read_all(fd, buf[s], cap);
		if (n[s] < 0) {
			fprintf(stderr, "afsx: MISMATCH sealed: %s: %s\n",
				path[s], strerror(errno));
			if (fd >= 0)
				close(fd);
			return 1;
		}
		close(fd);
	}
	if (n[TEST] != n[SHADOW] || memcmp(buf[TEST], buf[SHADOW], n[TEST])) {
		fprintf(stderr,
			"afsx: MISMATCH sealed: %s (%ld bytes) differs from "
			"%s (%ld bytes)\n",
			a, n[TEST], b, n[SHADOW]);
		return 1;
	}
	return 0;
}

/* Counts the entries of dir "from" (but . and ..) missing in dir "to";
 * with buf, also compares the bytes of those present. */
static int compare_dirs(const char *from, const char *to, long cap,
			unsigned char *buf[2], int *files)
{
	char a[PATH_MAX], b[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(from);
	int bad = 0;

	if (!d) {
		fprintf(stderr, "afsx: %s: %s\n", from, strerror(errno));
		return 1;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(a, sizeof(a), "%s/%s", from, de->d_name);
		snprintf(b, sizeof(b), "%s/%s", to, de->d_name);
		if (buf) {
			(*files)++;
			bad += same_file(a, b, cap, buf);
		} else if (access(b, F_OK) != 0) {
			fprintf(stderr,
				"afsx: MISMATCH sealed: %s is not in %s\n", a,
				to);
			bad++;
		}
	}
	closedir(d);
	return bad;
}

/* Compares SHADOWDIR with the newest version under the artifact's dir. */
static int compare_version(const struct opts *o)
{
	char latest[64], vdir[PATH_MAX], path[PATH_MAX];
	long cap = o->maxsize + MAX_WRITE;
	unsigned char *buf[2] = {malloc(cap), malloc(cap)};
	int bad, files = 0;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/latest", o->artdir);
	n = readlink(path, latest, sizeof(latest) - 1);
	if (n < 0 || !buf[TEST] || !buf[SHADOW]) {
		fprintf(stderr, "afsx: sealed: %s: %s\n", path,
			strerror(errno));
		return 1;
	}
	latest[n] = '\0';
	snprintf(vdir, sizeof(vdir), "%s/%s", o->artdir, latest);
	bad = compare_dirs(vdir, o->dir[SHADOW], cap, NULL, NULL);
	bad += compare_dirs(o->dir[SHADOW], vdir, cap, buf, &files);
	printf("afsx: sealed version %s: %d files compared with the shadow, "
	       "%d mismatches\n",
	       vdir, files, bad);
	free(buf[TEST]);
	free(buf[SHADOW]);
	return bad ? 1 : 0;
}

static int seal(const struct opts *o)
{
	int fd = open(o->control, O_WRONLY);

	if (fd < 0 || write(fd, "seal\n", 5) != 5) {
		fprintf(stderr, "afsx: seal through %s: %s\n", o->control,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	if (close(fd) < 0) {
		fprintf(stderr, "afsx: seal: close %s: %s\n", o->control,
			strerror(errno));
		return 1;
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: afsx [-s SEED] [-n OPS] [-p PROCS] [-f FILES] "
			"[-m MAXSIZE] [-k LOG]\n"
			"            [-c EVERY] [-H] [-G] [-1] [-C CONTROL] "
			"[-A ARTDIR] [-q] "
			"TESTDIR SHADOWDIR\n");
	exit(2);
}

static long num(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 0);
	if (errno || *end || v < min || v > max) {
		fprintf(stderr, "afsx: bad number '%s' (%ld..%ld)\n", s, min,
			max);
		exit(2);
	}
	return v;
}

static void parse(int argc, char **argv, struct opts *o)
{
	int c;

	*o = (struct opts){.ops = 10000,
			   .procs = 1,
			   .files = 6,
			   .maxsize = 262144,
			   .logsize = 40,
			   .every = 100,
			   .links = true};
	o->seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 16);
	while ((c = getopt(argc, argv, "s:n:p:f:m:k:c:LHG1C:A:q")) != -1) {
		switch (c) {
		case 's':
			o->seed = strtoull(optarg, NULL, 0);
			break;
		case 'n':
			o->ops = num(optarg, 1, LONG_MAX);
			break;
		case 'p':
			o->procs = num(optarg, 1, MAX_PROCS);
			break;
		case 'f':
			o->files = num(optarg, 1, MAX_FILES);
			break;
		case 'm':
			o->maxsize = num(optarg, 1, 64L << 20);
			break;
		case 'k':
			o->logsize = num(optarg, 1, 100000);
			break;
		case 'c':
			o->every = num(optarg, 0, LONG_MAX);
			break;
		case 'L': /* links are on by default */
			break;
		case 'H':
			o->links = false;
			break;
		case 'G':
			o->no_orphans = true;
			break;
		case '1':
			o->one_handle = true;
			break;
		case 'C':
			o->control = optarg;
			break;
		case 'A':
			o->artdir = optarg;
			break;
		case 'q':
			o->quiet = true;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2)
		usage();
	o->dir[TEST] = argv[optind];
	o->dir[SHADOW] = argv[optind + 1];
	if (!o->links)
		op_weight[OP_LINK] = 0;
}

static void summary(const struct opts *o, const struct stats *st, double secs)
{
	long ops = 0, checks = 0, count[OP_NR] = {0};
	int bad = 0;

	for (int i = 0; i < o->procs; i++) {
		ops += st[i].ops;
		checks += st[i].checks;
		bad += st[i].mismatch;
		for (int k = 0; k < OP_NR; k++)
			count[k] += st[i].count[k];
	}
	printf("afsx: seed %" PRIu64 ": %ld ops, %d processes, %.1f s, "
	       "%ld checks, %d mismatches\n",
	       o->seed, ops, o->procs, secs, checks, bad);
	printf("afsx: op mix:");
	for (int k = 0; k < OP_NR; k++)
		printf(" %s %ld", op_names[k], count[k]);
	printf("\n");
	if (o->no_orphans)
		printf("afsx: -G: handles whose file was unlinked or renamed "
		       "over were only closed\n");
	if (o->one_handle)
		printf("afsx: -1: one handle per file at a time\n");
	if (!o->links)
		printf("afsx: -H: no hard links\n");
}

int main(int argc, char **argv)
{
	struct opts o;
	struct stats *st;
	struct timespec t0, t1;
	pid_t pid[MAX_PROCS];
	int rc = 0;

	parse(argc, argv, &o);
	signal(SIGBUS, on_sigbus);
	for (int s = TEST; s <= SHADOW; s++)
		if (mkdir(o.dir[s], 0755) < 0 && errno != EEXIST) {
			fprintf(stderr, "afsx: mkdir %s: %s\n", o.dir[s],
				strerror(errno));
			return 2;
		}
	st = mmap(NULL, sizeof(*st) * o.procs, PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (st == MAP_FAILED)
		return 2;
	if (!o.quiet)
		printf("afsx: seed %" PRIu64 ", %ld ops, %d processes "
		       "(worker i: seed %" PRIu64 " + i), %d files each, max "
		       "size %ld\n",
		       o.seed, o.ops, o.procs, o.seed, o.files, o.maxsize);
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < o.procs; i++) {
		long ops = o.ops / o.procs + (i < o.ops % o.procs);
		pid[i] = fork();
		if (pid[i] < 0) {
			perror("afsx: fork");
			return 2;
		}
		if (pid[i] == 0)
			exit(run_worker(&o, i, ops, &st[i]));
	}
	for (int i = 0; i < o.procs; i++) {
		int status;
		if (waitpid(pid[i], &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0) {
			st[i].mismatch = st[i].mismatch ? 1 : 0;
			rc = 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	summary(&o, st,
		(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	if (rc == 0 && o.control)
		rc = seal(&o);
	if (rc == 0 && o.artdir)
		rc = compare_version(&o);
	return rc;
}
