/*
 * tests/store/test_faults.c - I/O faults at every write site of a put and
 * a seal.
 *
 * Calls are wrapped at link time (-Wl,--wrap, see CMakeLists.txt):
 *   rocksdb_put_cf               a chunk put (32-byte keys only)
 *   rocksdb_flush_cf             the chunk flush before a commit
 *   rocksdb_write_writebatch_wi  the commit
 *   read                         store_put_path reading its source
 *   pread, write, pwrite         counted only: a put or a seal makes none
 *                                (so there is no short write to inject)
 * A normal put (store_put_path of a directory holding a 2.5 MiB file and
 * a small one, then store_put_commit) and a normal seal (the same put
 * published by store_run_end) are counted first.  Then for each site and
 * each fault (EIO, ENOSPC, and a short read for read) and for N = 1 ..
 * that count, a fresh store with a journal and a first version (a copy
 * of one made once per sweep, so that the trials sync less) runs the
 * same operation with the Nth call of the site failing, and must:
 * return -EIO or -ENOSPC as injected (a short read is no failure: the
 * version holds exactly the source), keep version 1 readable with its
 * digest, hold no reference to a missing chunk (fsck clean but for
 * unreferenced chunks), keep a journal that verifies, serve reads after
 * a reopen, and take the same operation once the fault is gone.
 */
#include "helpers.h"
#include "wrap.h"
#include "store_i.h"

#include <errno.h>
#include <rocksdb/c.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum site { SITE_CHUNK_PUT, SITE_FLUSH, SITE_COMMIT, SITE_READ, SITE_COUNT };
enum fault { FAULT_EIO, FAULT_ENOSPC, FAULT_SHORT };

static const char *const site_name[SITE_COUNT] = {"chunk put", "flush",
						  "commit", "source read"};

static atomic_bool armed;		  /* count (and maybe fail) */
static atomic_uint calls[SITE_COUNT];	  /* since armed */
static atomic_uint writes;		  /* write/pwrite/pread while armed */
static atomic_int fail_site = SITE_COUNT; /* none */
static atomic_uint fail_at;		  /* the Nth call fails */
static atomic_int fail_kind;
static atomic_uint injected;

/* Counts a call of site; true when it is the one to fail. */
static bool hit(enum site site)
{
	unsigned n;

	if (!atomic_load(&armed))
		return false;
	n = atomic_fetch_add(&calls[site], 1) + 1;
	if (atomic_load(&fail_site) != (int)site || n != atomic_load(&fail_at))
		return false;
	atomic_fetch_add(&injected, 1);
	return true;
}

static char *rocks_error(void)
{
	return strdup(atomic_load(&fail_kind) == FAULT_ENOSPC
			  ? "IO error: No space left on device (injected)"
			  : "IO error: While appending to file: 000042.sst: "
			    "Input/output error (injected)");
}

ssize_t __real_read(int fd, void *buf, size_t len);
ssize_t __wrap_read(int fd, void *buf, size_t len);
ssize_t __real_pread(int fd, void *buf, size_t len, off_t off);
ssize_t __wrap_pread(int fd, void *buf, size_t len, off_t off);
ssize_t __real_write(int fd, const void *buf, size_t len);
ssize_t __wrap_write(int fd, const void *buf, size_t len);
ssize_t __real_pwrite(int fd, const void *buf, size_t len, off_t off);
ssize_t __wrap_pwrite(int fd, const void *buf, size_t len, off_t off);

void __wrap_rocksdb_write_writebatch_wi(rocksdb_t *db,
					const rocksdb_writeoptions_t *o,
					rocksdb_writebatch_wi_t *wb,
					char **errptr)
{
	if (hit(SITE_COMMIT)) {
		*errptr = rocks_error();
		return;
	}
	__real_rocksdb_write_writebatch_wi(db, o, wb, errptr);
}

void __wrap_rocksdb_put_cf(rocksdb_t *db, const rocksdb_writeoptions_t *o,
			   rocksdb_column_family_handle_t *cf, const char *key,
			   size_t klen, const char *val, size_t vlen,
			   char **errptr)
{
	/* Only chunk keys are exactly a digest long (FORMAT.md). */
	if (klen == STORE_DIGEST_LEN && hit(SITE_CHUNK_PUT)) {
		*errptr = rocks_error();
		return;
	}
	__real_rocksdb_put_cf(db, o, cf, key, klen, val, vlen, errptr);
}

void __wrap_rocksdb_flush_cf(rocksdb_t *db, const rocksdb_flushoptions_t *o,
			     rocksdb_column_family_handle_t *cf, char **errptr)
{
	if (hit(SITE_FLUSH)) {
		*errptr = rocks_error();
		return;
	}
	__real_rocksdb_flush_cf(db, o, cf, errptr);
}

ssize_t __wrap_read(int fd, void *buf, size_t len)
{
	if (!hit(SITE_READ))
		return __real_read(fd, buf, len);
	switch (atomic_load(&fail_kind)) {
	case FAULT_SHORT:
		return __real_read(fd, buf, len > 3 ? len / 3 : len);
	case FAULT_ENOSPC:
		errno = ENOSPC;
		return -1;
	default:
		errno = EIO;
		return -1;
	}
}

ssize_t __wrap_pread(int fd, void *buf, size_t len, off_t off)
{
	if (atomic_load(&armed))
		atomic_fetch_add(&writes, 1);
	return __real_pread(fd, buf, len, off);
}

ssize_t __wrap_write(int fd, const void *buf, size_t len)
{
	if (atomic_load(&armed))
		atomic_fetch_add(&writes, 1);
	return __real_write(fd, buf, len);
}

ssize_t __wrap_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	if (atomic_load(&armed))
		atomic_fetch_add(&writes, 1);
	return __real_pwrite(fd, buf, len, off);
}

static void arm(enum site site, enum fault kind, unsigned n)
{
	for (int i = 0; i < SITE_COUNT; i++)
		atomic_store(&calls[i], 0);
	atomic_store(&writes, 0);
	atomic_store(&injected, 0);
	atomic_store(&fail_site, (int)site);
	atomic_store(&fail_kind, (int)kind);
	atomic_store(&fail_at, n);
	atomic_store(&armed, true);
}

static void disarm(void)
{
	atomic_store(&armed, false);
	atomic_store(&fail_site, SITE_COUNT);
}

/* ------------------------------------------------------------ the world */

static const uint8_t jkey[] = "k3y-0f-th3-aud1t0r-n0t-1n-st0re!";

#define BIG_LEN	  (5u * MiB / 2 + 777) /* three source reads, and EOF */
#define SMALL_LEN 1000u		       /* one small chunk (on the WAL) */

/* One trial's store: a journal, version 1 of "a", a source directory. */
struct world {
	char *dir, *store_dir, *src;
	struct store_options opt;
	struct store *s;
	uint8_t *v1_data, *big, *small;
	struct store_version v1;
	uint64_t records; /* journal records before the operation */
};

static void world_open(struct world *w)
{
	assert_int_equal(store_open(w->store_dir, &w->opt, &w->s), 0);
	assert_int_equal(store_audit_enable(w->s, jkey, sizeof(jkey) - 1), 0);
}

/* The world of the running trial, freed by teardown after a failed
 * assert. */
static struct world *live;

/* A closed copy of the world each trial starts from (made once per
 * sweep: a trial copies it rather than syncing a new store to disk). */
static char *tmpl_dir;

static void world_build(struct world *w, bool seal)
{
	char *p;
	char why[128];

	memset(w, 0, sizeof(*w));
	live = w;
	w->dir = tmpdir_new();
	w->store_dir = path_join(w->dir, "store");
	w->src = path_join(w->dir, "src");
	/* Default chunk sizes (64 KiB..1 MiB): a few chunks, a few calls. */
	store_options_init(&w->opt);
	w->opt.threads = 2;
	assert_int_equal(store_init(w->store_dir, &w->opt), 0);
	world_open(w);
	assert_int_equal(store_audit_mark(w->s), 0);
	w->v1_data = rand_buf(71, 300 * KiB);
	assert_int_equal(
	    put_buf(w->s, "a", "v1.bin", w->v1_data, 300 * KiB, NULL, &w->v1),
	    0);
	if (seal) {
		assert_int_equal(
		    store_run_create(w->s, test_caller(), "train", "r1", 0), 0);
		assert_int_equal(store_step_create(w->s, test_caller(), "train",
						   "r1", "fit"),
				 0);
	}
	assert_int_equal(
	    store_audit_verify(w->s, &w->records, (uint64_t[]){0}, why), 0);
	assert_int_equal(mkdir(w->src, 0755), 0);
	w->big = rand_buf(72, BIG_LEN);
	w->small = rand_buf(73, SMALL_LEN);
	p = path_join(w->src, "big.bin");
	assert_int_equal(write_file(p, w->big, BIG_LEN), 0);
	free(p);
	p = path_join(w->src, "small.txt");
	assert_int_equal(write_file(p, w->small, SMALL_LEN), 0);
	free(p);
}

static void world_make(struct world *w, bool seal)
{
	char cmd[8192], *dir;
	static struct world t; /* live may point at it if an assert fails */

	if (!tmpl_dir) {
		world_build(&t, seal);
		store_close(t.s);
		t.s = NULL;
		tmpl_dir = t.dir;
		free(t.store_dir);
		free(t.src);
		free(t.v1_data);
		free(t.big);
		free(t.small);
		live = NULL;
	}
	memset(w, 0, sizeof(*w));
	live = w;
	dir = tmpdir_new();
	snprintf(cmd, sizeof(cmd), "cp -a '%s/.' '%s/'", tmpl_dir, dir);
	assert_int_equal(system(cmd), 0);
	w->dir = dir;
	w->store_dir = path_join(dir, "store");
	w->src = path_join(dir, "src");
	store_options_init(&w->opt);
	w->opt.threads = 2;
	world_open(w);
	w->v1_data = rand_buf(71, 300 * KiB);
	w->big = rand_buf(72, BIG_LEN);
	w->small = rand_buf(73, SMALL_LEN);
	assert_int_equal(store_version_get(w->s, "a", 1, &w->v1), 0);
	assert_int_equal(store_audit_verify(w->s, &w->records, (uint64_t[]){0},
					    (char[128]){0}),
			 0);
}

static void world_free(struct world *w)
{
	live = NULL;
	store_close(w->s);
	rm_tree(w->dir);
	free(w->dir);
	free(w->store_dir);
	free(w->src);
	free(w->v1_data);
	free(w->big);
	free(w->small);
}

/* The operation: a put of the source directory as version 2 of "a",
 * committed on its own or published by sealing run train/r1. */
static int operate(struct world *w, bool seal)
{
	struct store_put *p;
	struct store_version v;
	int rc = store_put_begin(w->s, test_caller(), "a", NULL, NULL, &p);

	if (rc)
		return rc;
	rc = store_put_path(p, w->src, "data");
	if (rc) {
		store_put_abort(p);
		return rc;
	}
	if (seal)
		return store_run_end(w->s, test_caller(), "train", "r1",
				     STORE_RUN_SEALED, &p, 1);
	return store_put_commit(p, NULL, &v);
}

/* The journal verifies and holds n records. */
static void assert_journal(struct world *w, uint64_t n)
{
	uint64_t checked = 0, bad = 0;
	char why[128] = "";
	int rc = store_audit_verify(w->s, &checked, &bad, why);

	if (rc || checked != n)
		fail_msg("journal: %d, %llu records (expected %llu): %s", rc,
			 (unsigned long long)checked, (unsigned long long)n,
			 why);
}

/* Nothing committed by the failed operation, nothing lost before it. */
static void assert_unchanged(struct world *w, bool seal)
{
	struct store_version v;
	struct store_run r;

	assert_int_equal(store_version_get(w->s, "a", 2, &v), -ENOENT);
	assert_int_equal(store_ref_resolve(w->s, "a", "latest", &v), 0);
	assert_int_equal(v.number, 1);
	assert_memory_equal(v.digest, w->v1.digest, STORE_DIGEST_LEN);
	assert_version_file(w->s, &w->v1, "v1.bin", w->v1_data, 300 * KiB);
	if (seal) {
		assert_int_equal(store_run_get(w->s, "train", "r1", &r), 0);
		assert_int_equal(r.status, STORE_RUN_OPEN);
	}
	assert_fsck_clean(w->s, NULL);
	assert_journal(w, w->records);
}

/* Version 2 holds the source exactly (and, sealed, came from the run). */
static void assert_published(struct world *w, bool seal)
{
	struct store_version v;
	struct store_run r;

	assert_int_equal(store_ref_resolve(w->s, "a", "latest", &v), 0);
	assert_int_equal(v.number, 2);
	assert_version_file(w->s, &v, "data/big.bin", w->big, BIG_LEN);
	assert_version_file(w->s, &v, "data/small.txt", w->small, SMALL_LEN);
	assert_version_file(w->s, &w->v1, "v1.bin", w->v1_data, 300 * KiB);
	if (seal) {
		assert_int_equal(store_run_get(w->s, "train", "r1", &r), 0);
		assert_int_equal(r.status, STORE_RUN_SEALED);
		assert_true(strncmp(v.run, "train/r1", 8) == 0);
	}
	assert_fsck_clean(w->s, NULL);
	/* version.create, and the run's end for a seal */
	assert_journal(w, w->records + (seal ? 2 : 1));
}

/* The calls of each site in a normal operation (none fails). */
static void count_calls(bool seal, unsigned out[SITE_COUNT])
{
	struct world w;

	world_make(&w, seal);
	arm(SITE_COUNT, FAULT_EIO, 0);
	assert_int_equal(operate(&w, seal), 0);
	disarm();
	for (int i = 0; i < SITE_COUNT; i++)
		out[i] = atomic_load(&calls[i]);
	/* No write(2) of our own on the way: no short write to inject. */
	assert_int_equal(atomic_load(&writes), 0);
	assert_published(&w, seal);
	world_free(&w);
}

static void trial(bool seal, enum site site, enum fault kind, unsigned n)
{
	int want = kind == FAULT_ENOSPC ? -ENOSPC : -EIO;
	struct world w;
	int rc;

	world_make(&w, seal);
	arm(site, kind, n);
	rc = operate(&w, seal);
	disarm();
	if (atomic_load(&injected) != 1)
		fail_msg("%s %s call %u: not reached", seal ? "seal" : "put",
			 site_name[site], n);
	if (kind == FAULT_SHORT) {
		/* A short read is no error: the loop reads on. */
		assert_int_equal(rc, 0);
		assert_published(&w, seal);
		world_free(&w);
		return;
	}
	if (rc != want)
		fail_msg("%s, %s call %u failing with %s: returned %d (%s)",
			 seal ? "seal" : "put", site_name[site], n,
			 strerror(-want), rc, strerror(rc < 0 ? -rc : 0));
	assert_unchanged(&w, seal);
	/* On disk too, and the store still serves reads after a reopen. */
	store_close(w.s);
	world_open(&w);
	assert_unchanged(&w, seal);
	/* Once the fault is gone the same operation goes through. */
	assert_int_equal(operate(&w, seal), 0);
	assert_published(&w, seal);
	world_free(&w);
}

/* Every N of site, with each fault of kinds[0..nk). */
static void sweep(bool seal, enum site site, const enum fault *kinds, size_t nk)
{
	unsigned count[SITE_COUNT];

	count_calls(seal, count);
	assert_true(count[site] >= 1);
	print_message("%s: %u %s call(s)\n", seal ? "seal" : "put", count[site],
		      site_name[site]);
	for (size_t k = 0; k < nk; k++)
		for (unsigned n = 1; n <= count[site]; n++)
			trial(seal, site, kinds[k], n);
}

static const enum fault disk[] = {FAULT_EIO, FAULT_ENOSPC};
static const enum fault reads[] = {FAULT_EIO, FAULT_ENOSPC, FAULT_SHORT};

static void test_store_put_fault_chunk_put(void **state)
{
	(void)state;
	sweep(false, SITE_CHUNK_PUT, disk, 2);
}

static void test_store_put_fault_flush(void **state)
{
	(void)state;
	sweep(false, SITE_FLUSH, disk, 2);
}

static void test_store_put_fault_commit(void **state)
{
	(void)state;
	sweep(false, SITE_COMMIT, disk, 2);
}

static void test_store_put_fault_source_read(void **state)
{
	(void)state;
	sweep(false, SITE_READ, reads, 3);
}

static void test_store_seal_fault_chunk_put(void **state)
{
	(void)state;
	sweep(true, SITE_CHUNK_PUT, disk, 2);
}

static void test_store_seal_fault_flush(void **state)
{
	(void)state;
	sweep(true, SITE_FLUSH, disk, 2);
}

static void test_store_seal_fault_commit(void **state)
{
	(void)state;
	sweep(true, SITE_COMMIT, disk, 2);
}

static void test_store_seal_fault_source_read(void **state)
{
	(void)state;
	sweep(true, SITE_READ, reads, 3);
}

static int teardown(void **state)
{
	(void)state;
	disarm();
	if (live)
		world_free(live);
	rm_tree(tmpl_dir);
	free(tmpl_dir);
	tmpl_dir = NULL;
	return 0;
}

int main(void)
{
#define T(fn) cmocka_unit_test_teardown(fn, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_store_put_fault_chunk_put),
	    T(test_store_put_fault_flush),
	    T(test_store_put_fault_commit),
	    T(test_store_put_fault_source_read),
	    T(test_store_seal_fault_chunk_put),
	    T(test_store_seal_fault_flush),
	    T(test_store_seal_fault_commit),
	    T(test_store_seal_fault_source_read),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
