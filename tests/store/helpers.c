/*
 * tests/store/helpers.c - temp stores, fixed-seed random data, files.
 */
#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------ temp dirs */

char *tmpdir_new(void)
{
	const char *base = getenv("TMPDIR");
	char *t;

	if (!base || !*base)
		base = "/tmp";
	if (asprintf(&t, "%s/afs-ut-XXXXXX", base) < 0)
		fail_msg("asprintf: out of memory");
	if (!mkdtemp(t)) {
		int e = errno;

		free(t);
		fail_msg("mkdtemp under %s: %s", base, strerror(e));
	}
	return t;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP || flag == FTW_D)
		return rmdir(path) ? -errno : 0;
	return unlink(path) ? -errno : 0;
}

int rm_tree(const char *path)
{
	struct stat st;

	if (lstat(path, &st) && errno == ENOENT)
		return 0;
	return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *path_join(const char *a, const char *b)
{
	char *p;

	if (asprintf(&p, "%s/%s", a, b) < 0)
		fail_msg("asprintf: out of memory");
	return p;
}

/* --------------------------------------------------------------- callers */

static struct store_caller default_caller;
static pthread_once_t default_caller_once = PTHREAD_ONCE_INIT;

static void default_caller_init(void)
{
	store_caller_set(&default_caller, TEST_CALLER_UID, 0, TEST_CALLER_PID,
			 NULL, 0, TEST_CALLER_USER);
}

const struct store_caller *test_caller(void)
{
	pthread_once(&default_caller_once, default_caller_init);
	return &default_caller;
}

struct store_caller *test_caller_of(struct store_caller *c, uid_t uid)
{
	char name[STORE_CALLER_NAME_MAX];

	snprintf(name, sizeof(name), "user%u", (unsigned)uid);
	store_caller_set(c, uid, (gid_t)uid, (pid_t)(10000 + uid), NULL, 0,
			 name);
	return c;
}

/* -------------------------------------------------------------- fixtures */

void fx_small_options(struct store_options *o)
{
	store_options_init(o);
	o->chunk_min = T_CHUNK_MIN;
	o->chunk_avg = T_CHUNK_AVG;
	o->chunk_max = T_CHUNK_MAX;
	o->threads = 2;
}

int fx_setup_dir(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->dir = tmpdir_new();
	f->store_dir = path_join(f->dir, "store");
	fx_small_options(&f->opt);
	*state = f;
	return 0;
}

int fx_setup(void **state)
{
	struct fx *f;
	int rc;

	if (fx_setup_dir(state))
		return -1;
	f = *state;
	rc = store_init(f->store_dir, &f->opt);
	if (rc) {
		print_error("store_init(%s): %d\n", f->store_dir, rc);
		return -1;
	}
	rc = store_open(f->store_dir, &f->opt, &f->s);
	if (rc) {
		print_error("store_open(%s): %d\n", f->store_dir, rc);
		return -1;
	}
	return 0;
}

int fx_teardown(void **state)
{
	struct fx *f = *state;
	int rc = 0;

	if (!f)
		return 0;
	store_close(f->s);
	if (getenv("AFS_TEST_KEEP"))
		fprintf(stderr, "kept %s\n", f->dir);
	else if (rm_tree(f->dir))
		rc = -1;
	free(f->store_dir);
	free(f->dir);
	free(f);
	*state = NULL;
	return rc;
}

void fx_reopen(struct fx *f)
{
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(store_open(f->store_dir, &f->opt, &f->s), 0);
	assert_non_null(f->s);
}

/* ------------------------------------------------------------------ data */

void prng_init(struct prng *r, uint64_t seed)
{
	r->s = seed;
}

uint64_t prng_next(struct prng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint64_t prng_below(struct prng *r, uint64_t n)
{
	return prng_next(r) % n;
}

void prng_fill(struct prng *r, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len >= 8) {
		uint64_t v = prng_next(r);

		memcpy(p, &v, 8);
		p += 8;
		len -= 8;
	}
	if (len) {
		uint64_t v = prng_next(r);

		memcpy(p, &v, len);
	}
}

uint8_t *rand_buf(uint64_t seed, size_t len)
{
	uint8_t *b = malloc(len ? len : 1);
	struct prng r;

	if (!b)
		fail_msg("malloc(%zu) failed", len);
	prng_init(&r, seed);
	prng_fill(&r, b, len);
	return b;
}

uint8_t *text_buf(size_t len)
{
	static const char *const words[] = {
	    "the ",   "model ", "weights ", "of ",	"epoch ",
	    "loss ",  "0.125 ", "train ",   "step ",	"batch ",
	    "data\n", "and ",	"a ",	    "version ", "artifact ",
	};
	const size_t nw = sizeof(words) / sizeof(words[0]);
	uint8_t *b = malloc(len ? len : 1);
	struct prng r;
	size_t off = 0;

	if (!b)
		fail_msg("malloc(%zu) failed", len);
	prng_init(&r, 42);
	while (off < len) {
		const char *w = words[prng_below(&r, nw)];
		size_t n = strlen(w);

		if (n > len - off)
			n = len - off;
		memcpy(b + off, w, n);
		off += n;
	}
	return b;
}

int write_file(const char *path, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int rc = 0;

	if (fd < 0)
		return -errno;
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		p += n;
		len -= (size_t)n;
	}
	if (close(fd) && !rc)
		rc = -errno;
	return rc;
}

/* ------------------------------------------------------- store round trips */

int read_content(struct store *s, const uint8_t digest[STORE_DIGEST_LEN],
		 uint8_t **out, size_t *len)
{
	struct store_reader *r;
	uint64_t size;
	uint8_t *b;
	ssize_t n;
	int rc;

	rc = store_reader_open(s, digest, &r);
	if (rc)
		return rc;
	size = store_reader_size(r);
	b = malloc(size ? size : 1);
	if (!b) {
		store_reader_close(r);
		return -ENOMEM;
	}
	n = store_reader_pread(r, b, size, 0);
	store_reader_close(r);
	if (n < 0) {
		free(b);
		return (int)n;
	}
	if ((uint64_t)n != size) {
		free(b);
		return -EIO;
	}
	*out = b;
	*len = size;
	return 0;
}

void assert_content(struct store *s, const uint8_t digest[STORE_DIGEST_LEN],
		    const void *buf, size_t len)
{
	uint8_t *got = NULL;
	size_t n = 0;

	assert_int_equal(read_content(s, digest, &got, &n), 0);
	assert_int_equal(n, len);
	if (len)
		assert_memory_equal(got, buf, len);
	free(got);
}

void assert_version_file(struct store *s, const struct store_version *v,
			 const char *path, const void *buf, size_t len)
{
	struct store_dirent e;

	assert_int_equal(store_tree_lookup(s, v->digest, path, &e), 0);
	assert_int_equal(e.kind, STORE_KIND_FILE);
	assert_int_equal(e.size, len);
	assert_content(s, e.digest, buf, len);
}

int store_buf(struct store *s, const void *buf, size_t len, size_t piece,
	      struct store_file *out)
{
	const uint8_t *p = buf;
	struct store_writer *w;
	int rc;

	rc = store_writer_new(s, &w);
	if (rc)
		return rc;
	if (!piece)
		piece = len ? len : 1;
	while (len) {
		size_t n = len < piece ? len : piece;

		rc = store_writer_write(w, p, n);
		if (rc) {
			store_writer_abort(w);
			return rc;
		}
		p += n;
		len -= n;
	}
	return store_writer_finish(w, out);
}

int put_buf_begin(struct store *s, const char *artifact, const char *dest,
		  const void *buf, size_t len, struct store_put **out)
{
	struct store_file f;
	struct store_put *p;
	int rc;

	rc = store_buf(s, buf, len, 0, &f);
	if (rc)
		return rc;
	rc = store_put_begin(s, test_caller(), artifact, NULL, NULL, &p);
	if (rc)
		return rc;
	rc = store_put_file(p, dest, &f, 0644);
	if (rc) {
		store_put_abort(p);
		return rc;
	}
	*out = p;
	return 0;
}

int put_buf(struct store *s, const char *artifact, const char *dest,
	    const void *buf, size_t len, const struct store_version_meta *m,
	    struct store_version *out)
{
	struct store_put *p;
	int rc;

	rc = put_buf_begin(s, artifact, dest, buf, len, &p);
	if (rc)
		return rc;
	return store_put_commit(p, m, out);
}

void assert_stats_equal(const struct store_stats *a,
			const struct store_stats *b)
{
	assert_int_equal(a->artifacts, b->artifacts);
	assert_int_equal(a->versions, b->versions);
	assert_int_equal(a->logical_bytes, b->logical_bytes);
	assert_int_equal(a->files, b->files);
	assert_int_equal(a->chunks, b->chunks);
	assert_int_equal(a->chunk_bytes, b->chunk_bytes);
	assert_int_equal(a->stored_bytes, b->stored_bytes);
}

void assert_fsck_clean(struct store *s, struct store_check *out)
{
	struct store_check c;

	memset(&c, 0, sizeof(c));
	assert_int_equal(store_fsck(s, NULL, NULL, &c), 0);
	assert_int_equal(c.problems, 0);
	if (out)
		*out = c;
}

/* ---------------------------------------------------------- log capture */

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char *log_text;
static size_t log_len;

static void log_sink(void *arg, enum store_log_level level, const char *msg)
{
	size_t n = strlen(msg);
	char *t;

	(void)arg;
	if (level <= STORE_LOG_WARNING || getenv("AFS_TEST_VERBOSE"))
		fprintf(stderr, "store[%d]: %s\n", (int)level, msg);
	pthread_mutex_lock(&log_mu);
	t = realloc(log_text, log_len + n + 2);
	if (t) {
		memcpy(t + log_len, msg, n);
		t[log_len + n] = '\n';
		t[log_len + n + 1] = '\0';
		log_text = t;
		log_len += n + 1;
	}
	pthread_mutex_unlock(&log_mu);
}

void log_capture_start(void)
{
	pthread_mutex_lock(&log_mu);
	free(log_text);
	log_text = NULL;
	log_len = 0;
	pthread_mutex_unlock(&log_mu);
	store_log_set_sink(log_sink, NULL);
}

void log_capture_stop(void)
{
	store_log_set_sink(NULL, NULL);
	pthread_mutex_lock(&log_mu);
	free(log_text);
	log_text = NULL;
	log_len = 0;
	pthread_mutex_unlock(&log_mu);
}

bool log_captured(const char *needle)
{
	bool found;

	pthread_mutex_lock(&log_mu);
	found = log_text && strstr(log_text, needle);
	pthread_mutex_unlock(&log_mu);
	return found;
}
