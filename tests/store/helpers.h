/*
 * tests/store/helpers.h - fixtures shared by the store/ unit tests.
 *
 * Every case runs on a fresh store in its own mkdtemp directory, created by
 * fx_setup and removed (with everything under it) by fx_teardown.  Random
 * data comes from a fixed-seed PRNG, so a failure reproduces.  Nothing here
 * mocks the store: it is real RocksDB, zstd and OpenSSL underneath.
 *
 * Include order (cmocka 1.1.5 on Debian 12): <stdarg.h> <stddef.h>
 * <setjmp.h> <stdint.h>, then <cmocka.h>; this header does so.
 */
#ifndef ARTIFACTFS_TESTS_STORE_HELPERS_H
#define ARTIFACTFS_TESTS_STORE_HELPERS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <sys/types.h>

#include "store.h"

#define KiB (1024u)
#define MiB (1024u * 1024u)

/* Small chunk sizes so multi-chunk files stay small and tests fast. */
#define T_CHUNK_MIN (4u * KiB)
#define T_CHUNK_AVG (16u * KiB)
#define T_CHUNK_MAX (64u * KiB)

/* One case's world: a temporary directory holding an open store. */
struct fx {
	char *dir;	 /* mkdtemp'd root, owned */
	char *store_dir; /* dir + "/store", owned */
	struct store *s; /* open store, or NULL */
	struct store_options opt;
};

/* Callers (struct store_caller): every change names who makes it. */
#define TEST_CALLER_UID	 0
#define TEST_CALLER_PID	 4242
#define TEST_CALLER_USER "test"

/** The callers' default: uid and gid 0, pid TEST_CALLER_PID, user
 * "test", no supplementary groups.  Static and read-only, so any thread
 * may pass it; never NULL. */
const struct store_caller *test_caller(void);

/** Fills c as a caller for uid: gid uid, pid 10000 + uid, user
 * "user<uid>", no supplementary groups.  Returns c. */
struct store_caller *test_caller_of(struct store_caller *c, uid_t uid);

/** Fills o with the defaults, then the small test chunk sizes. */
void fx_small_options(struct store_options *o);

/** cmocka setup: a fresh store (small chunks) opened in a new temp dir.
 * *state becomes a struct fx *. */
int fx_setup(void **state);

/** cmocka setup: only the temp dir (no store); f->store_dir is named but
 * not created. */
int fx_setup_dir(void **state);

/** cmocka teardown for both: closes the store, removes the temp dir. */
int fx_teardown(void **state);

/** Closes and reopens f->s with f->opt (asserts success). */
void fx_reopen(struct fx *f);

/** Makes a temp directory (mkdtemp under $TMPDIR or /tmp); malloc'd. */
char *tmpdir_new(void);

/** Removes path and everything under it (nftw, depth first).  0 or -errno;
 * a missing path is 0. */
int rm_tree(const char *path);

/** malloc'd "a/b" (asserts on ENOMEM). */
char *path_join(const char *a, const char *b);

/* Fixed-seed PRNG (splitmix64): same seed, same stream. */
struct prng {
	uint64_t s;
};
void prng_init(struct prng *r, uint64_t seed);
uint64_t prng_next(struct prng *r);
/** Uniform in [0, n) (n > 0). */
uint64_t prng_below(struct prng *r, uint64_t n);
void prng_fill(struct prng *r, void *buf, size_t len);

/** malloc'd len random bytes from seed (never NULL; len 0 gives a 1-byte
 * allocation). */
uint8_t *rand_buf(uint64_t seed, size_t len);

/** malloc'd len bytes of repeated English-like text (compresses well). */
uint8_t *text_buf(size_t len);

/** Writes buf to path (created or truncated, mode 0644).  0 or -errno. */
int write_file(const char *path, const void *buf, size_t len);

/** Reads a whole stored file by digest; malloc'd into *out.  Returns 0 or
 * the failing store call's result. */
int read_content(struct store *s, const uint8_t digest[STORE_DIGEST_LEN],
		 uint8_t **out, size_t *len);

/** Asserts that the stored file digest holds exactly buf[0..len). */
void assert_content(struct store *s, const uint8_t digest[STORE_DIGEST_LEN],
		    const void *buf, size_t len);

/** Asserts that path (a file) in version v holds exactly buf[0..len). */
void assert_version_file(struct store *s, const struct store_version *v,
			 const char *path, const void *buf, size_t len);

/** Stores buf through a writer (in pieces of piece bytes, 0 = at once).
 * Returns the writer's result. */
int store_buf(struct store *s, const void *buf, size_t len, size_t piece,
	      struct store_file *out);

/** Makes the next version of artifact holding buf at dest (mode 0644),
 * with meta m (may be NULL).  Returns the first failing call's result. */
int put_buf(struct store *s, const char *artifact, const char *dest,
	    const void *buf, size_t len, const struct store_version_meta *m,
	    struct store_version *out);

/** Starts a put of artifact holding buf at dest; *out is the open put. */
int put_buf_begin(struct store *s, const char *artifact, const char *dest,
		  const void *buf, size_t len, struct store_put **out);

/** Asserts two stats records are equal, field by field. */
void assert_stats_equal(const struct store_stats *a,
			const struct store_stats *b);

/** Runs store_fsck and asserts it is clean (0, no problems). */
void assert_fsck_clean(struct store *s, struct store_check *out);

/* Log capture: while on, every store_log line is kept (and still printed
 * to stderr when AFS_TEST_VERBOSE is set). */
void log_capture_start(void);
void log_capture_stop(void);
/** True when a captured line since the start contains needle. */
bool log_captured(const char *needle);

#endif
