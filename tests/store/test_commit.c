/*
 * tests/store/test_commit.c - the caller value (store/caller.c) and the
 * one commit point (store/commit.c): every change's journal record is
 * the caller passed to it, nothing else; a record that rides along (a
 * handle's close) is in the same batch right after it with the same
 * actor; concurrent callers never see each other's identity; a change
 * that fails leaves no record.
 *
 * rocksdb_write_writebatch_wi is wrapped at link time (CMakeLists.txt)
 * to count the batches a change writes and to make one fail like a full
 * disk.
 */
#include "helpers.h"
#include "wrap.h"

#include <errno.h>
#include <pthread.h>
#include <rocksdb/c.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_int fail_batch, batches;

void __wrap_rocksdb_write_writebatch_wi(rocksdb_t *db,
					const rocksdb_writeoptions_t *o,
					rocksdb_writebatch_wi_t *wb,
					char **errptr)
{
	atomic_fetch_add(&batches, 1);
	if (atomic_load(&fail_batch)) {
		*errptr =
		    strdup("IO error: No space left on device (injected)");
		return;
	}
	__real_rocksdb_write_writebatch_wi(db, o, wb, errptr);
}

static const uint8_t jkey[] = "j0urn4l-k3y-f0r-th3-c0mm1t-t3st!";

/* A store with its journal on. */
static int setup(void **state)
{
	struct fx *f;

	atomic_store(&fail_batch, 0);
	atomic_store(&batches, 0);
	if (fx_setup(state))
		return -1;
	f = *state;
	return store_audit_enable(f->s, jkey, sizeof(jkey) - 1) ? -1 : 0;
}

static int teardown(void **state)
{
	atomic_store(&fail_batch, 0);
	return fx_teardown(state);
}

/* ----------------------------------------------------- reading records */

struct recs {
	size_t n, cap;
	struct store_audit_entry *e;
};

static int recs_add(void *arg, const struct store_audit_entry *e)
{
	struct recs *r = arg;

	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 64;
		struct store_audit_entry *t = realloc(r->e, cap * sizeof(*t));

		if (!t)
			return -ENOMEM;
		r->e = t;
		r->cap = cap;
	}
	r->e[r->n++] = *e;
	return 0;
}

/* The records from seq from on, into a fresh r (recs_free). */
static void recs_read(struct store *s, uint64_t from, struct recs *r)
{
	memset(r, 0, sizeof(*r));
	assert_int_equal(store_audit_each(s, from, recs_add, r), 0);
}

static void recs_free(struct recs *r)
{
	free(r->e);
	memset(r, 0, sizeof(*r));
}

static uint64_t rec_count(struct store *s)
{
	struct recs r;
	uint64_t n;

	recs_read(s, 0, &r);
	n = r.n;
	recs_free(&r);
	return n;
}

/* Asserts the journal verifies and holds exactly n records. */
static void assert_journal_intact(struct store *s, uint64_t n)
{
	uint64_t checked = 0, bad = 0;
	char why[128] = "";

	if (store_audit_verify(s, &checked, &bad, why) != 0)
		fail_msg("journal not intact: %s", why);
	assert_int_equal(checked, n);
	assert_int_equal(bad, 0);
}

static void assert_actor(const struct store_audit_entry *e,
			 const struct store_caller *c)
{
	if (e->uid != (uint32_t)c->uid || e->pid != (uint32_t)c->pid ||
	    strcmp(e->user, c->user) != 0)
		fail_msg("record %llu (%s %s): actor %u/%u/%s, want %u/%u/%s",
			 (unsigned long long)e->seq, e->op, e->path, e->uid,
			 e->pid, e->user, (unsigned)c->uid, (unsigned)c->pid,
			 c->user);
}

/* Asserts that records after seq *last are one or more, all of c's, the
 * first with op; moves *last to the newest.  Returns how many. */
static size_t assert_new_by(struct store *s, uint64_t *last,
			    const struct store_caller *c, const char *op)
{
	struct recs r;
	size_t n;

	recs_read(s, *last + 1, &r);
	if (r.n == 0)
		fail_msg("no record for %s", op);
	assert_string_equal(r.e[0].op, op);
	for (size_t i = 0; i < r.n; i++) {
		assert_int_equal(r.e[i].seq, *last + 1 + i);
		assert_actor(&r.e[i], c);
	}
	*last = r.e[r.n - 1].seq;
	n = r.n;
	recs_free(&r);
	return n;
}

/* ------------------------------------------------------ store_caller_set */

static void test_store_caller_set_fields(void **state)
{
	struct store_caller c;
	gid_t g[] = {20, 27, 1002};

	(void)state;
	memset(&c, 0xa5, sizeof(c));
	store_caller_set(&c, 1001, 1002, 4321, g, 3, "alice");
	assert_int_equal(c.uid, 1001);
	assert_int_equal(c.gid, 1002);
	assert_int_equal(c.pid, 4321);
	assert_int_equal(c.ngroups, 3);
	assert_memory_equal(c.groups, g, sizeof(g));
	assert_string_equal(c.user, "alice");

	/* The groups are copied, not borrowed. */
	g[0] = 9999;
	assert_int_equal(c.groups[0], 20);

	/* No groups: NULL with 0. */
	store_caller_set(&c, 7, 8, 9, NULL, 0, "bob");
	assert_int_equal(c.ngroups, 0);
	assert_string_equal(c.user, "bob");
}

static void test_store_caller_set_truncates_groups(void **state)
{
	size_t n = STORE_CALLER_GROUPS_MAX + 10;
	gid_t *g = calloc(n, sizeof(*g));
	struct store_caller *c = calloc(1, sizeof(*c));

	(void)state;
	assert_non_null(g);
	assert_non_null(c);
	for (size_t i = 0; i < n; i++)
		g[i] = (gid_t)(5000 + i);
	store_caller_set(c, 1, 1, 1, g, n, "many");
	assert_int_equal(c->ngroups, STORE_CALLER_GROUPS_MAX);
	assert_memory_equal(c->groups, g, STORE_CALLER_GROUPS_MAX * sizeof(*g));
	assert_string_equal(c->user, "many");

	/* Exactly the maximum is kept whole. */
	store_caller_set(c, 1, 1, 1, g, STORE_CALLER_GROUPS_MAX, "max");
	assert_int_equal(c->ngroups, STORE_CALLER_GROUPS_MAX);
	assert_int_equal(c->groups[STORE_CALLER_GROUPS_MAX - 1],
			 5000 + STORE_CALLER_GROUPS_MAX - 1);
	free(c);
	free(g);
}

static void test_store_caller_set_empty_name_is_uid(void **state)
{
	struct store_caller c;

	(void)state;
	store_caller_set(&c, 4000001, 1, 2, NULL, 0, "");
	assert_string_equal(c.user, "4000001");
	store_caller_set(&c, 4294967294u, 1, 2, NULL, 0, NULL);
	assert_string_equal(c.user, "4294967294");
	store_caller_set(&c, 0, 0, 2, NULL, 0, NULL);
	assert_string_equal(c.user, "0");
}

static void test_store_caller_set_long_name_cut(void **state)
{
	char name[3 * STORE_CALLER_NAME_MAX];
	struct store_caller c;

	(void)state;
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	store_caller_set(&c, 1, 1, 1, NULL, 0, name);
	assert_int_equal(strlen(c.user), STORE_CALLER_NAME_MAX - 1);
	assert_memory_equal(c.user, name, STORE_CALLER_NAME_MAX - 1);
}

/* --------------------------------------------------------- actor = caller */

static void test_commit_actor_is_caller(void **state)
{
	struct fx *f = *state;
	struct store_caller c[8];
	const struct store_audit_note also = {
	    .op = "file.close",
	    .path = "/pipelines/train/runs/r1/steps/fit/outputs/w.bin",
	    .bytes = 1234};
	uint8_t *buf = rand_buf(7, 1234);
	struct store_put *p;
	struct store_file file;
	struct recs r;
	uint64_t last = 0;
	int before;

	for (int i = 0; i < 8; i++)
		test_caller_of(&c[i], (uid_t)(1001 + i));

	/* A version: the actor is the caller the put began with, even when
	 * the caller's value changes before the commit (borrowed for the
	 * call only). */
	{
		struct store_caller tmp = c[0];

		assert_int_equal(store_buf(f->s, buf, 1234, 0, &file), 0);
		assert_int_equal(
		    store_put_begin(f->s, &tmp, "model", NULL, NULL, &p), 0);
		assert_int_equal(store_put_file(p, "w.bin", &file, 0644), 0);
		test_caller_of(&tmp, 666);
		assert_int_equal(store_put_commit(p, NULL, NULL), 0);
	}
	assert_new_by(f->s, &last, &c[0], "version.create");

	assert_int_equal(store_alias_set(f->s, &c[1], "model", "prod", 1), 0);
	assert_int_equal(assert_new_by(f->s, &last, &c[1], "alias.set"), 1);

	assert_int_equal(store_run_create(f->s, &c[2], "train", "r1", 1003), 0);
	assert_int_equal(assert_new_by(f->s, &last, &c[2], "run.create"), 1);

	assert_int_equal(store_binding_set(f->s, &c[3], "/artifacts/model",
					   "u:1001", "reader"),
			 0);
	assert_int_equal(assert_new_by(f->s, &last, &c[3], "role.grant"), 1);

	assert_int_equal(store_secret_set(f->s, &c[4], "db", "s3cr3t", 6, NULL),
			 0);
	assert_int_equal(assert_new_by(f->s, &last, &c[4], "secret.set"), 1);

	assert_int_equal(store_step_create(f->s, &c[5], "train", "r1", "fit"),
			 0);
	assert_int_equal(assert_new_by(f->s, &last, &c[5], "step.create"), 1);

	/* An output with a record riding along: one batch, the change's
	 * record then the rider, both of the caller. */
	before = atomic_load(&batches);
	assert_int_equal(store_output_set(f->s, &c[6], "train", "r1", "fit",
					  "w.bin", STORE_KIND_FILE, 0644, &file,
					  0, &also),
			 0);
	assert_int_equal(atomic_load(&batches) - before, 1);
	recs_read(f->s, last + 1, &r);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.e[0].op, "output.write");
	assert_actor(&r.e[0], &c[6]);
	assert_int_equal(r.e[1].seq, r.e[0].seq + 1);
	assert_string_equal(r.e[1].op, "file.close");
	assert_string_equal(r.e[1].path, also.path);
	assert_int_equal(r.e[1].bytes, 1234);
	assert_int_equal(r.e[1].result, 0);
	assert_actor(&r.e[1], &c[6]);
	last = r.e[1].seq;
	recs_free(&r);

	/* A record that is not a change, and a run note. */
	assert_int_equal(store_audit_record(f->s, &c[7], "file.open",
					    "/artifacts/model/v1/w.bin", NULL,
					    0, -EACCES),
			 0);
	recs_read(f->s, last + 1, &r);
	assert_int_equal(r.n, 1);
	assert_actor(&r.e[0], &c[7]);
	assert_int_equal(r.e[0].result, EACCES);
	last = r.e[0].seq;
	recs_free(&r);
	assert_int_equal(
	    store_run_note_set(f->s, &c[0], "train", "r1", "lr", "0.1"), 0);
	assert_int_equal(assert_new_by(f->s, &last, &c[0], "run.note"), 1);

	assert_journal_intact(f->s, last);
	free(buf);
}

/* ------------------------------------------------------------ concurrency */

#define CONC_THREADS 8
#define CONC_CHANGES 200

struct worker {
	struct store *s;
	unsigned id;
	struct store_caller c;
	pthread_barrier_t *go;
	int rc;
	unsigned records; /* journal records this thread made */
};

static void *work(void *arg)
{
	struct worker *w = arg;
	char run[32], key[32], val[32], path[64];

	snprintf(run, sizeof(run), "thr%ux", w->id);
	pthread_barrier_wait(w->go);
	w->rc = store_run_create(w->s, &w->c, "conc", run, w->c.uid);
	w->records += w->rc == 0;
	for (unsigned k = 0; k < CONC_CHANGES && !w->rc; k++) {
		snprintf(key, sizeof(key), "k%u", k % 17);
		snprintf(val, sizeof(val), "%u", k);
		w->rc = store_run_note_set(w->s, &w->c, "conc", run, key, val);
		w->records += w->rc == 0;
		if (w->rc || k % 4)
			continue;
		snprintf(path, sizeof(path), "/thr%ux/rec%u", w->id, k);
		w->rc =
		    store_audit_record(w->s, &w->c, "probe", path, NULL, k, 0);
		w->records += w->rc == 0;
	}
	return NULL;
}

/* The thread a record's path names ("thr<id>x"), or -1. */
static int thread_of(const char *path)
{
	const char *p = strstr(path, "thr");
	char *end;
	unsigned long id;

	if (!p)
		return -1;
	id = strtoul(p + 3, &end, 10);
	if (end == p + 3 || *end != 'x' || id >= CONC_THREADS)
		return -1;
	return (int)id;
}

static void test_commit_actor_concurrent(void **state)
{
	struct fx *f = *state;
	struct worker *w = calloc(CONC_THREADS, sizeof(*w));
	pthread_t t[CONC_THREADS];
	pthread_barrier_t go;
	unsigned seen[CONC_THREADS] = {0}, total = 0;
	struct recs r;

	assert_non_null(w);
	assert_int_equal(pthread_barrier_init(&go, NULL, CONC_THREADS), 0);
	for (unsigned i = 0; i < CONC_THREADS; i++) {
		char name[32];

		w[i].s = f->s;
		w[i].id = i;
		w[i].go = &go;
		snprintf(name, sizeof(name), "worker%u", i);
		store_caller_set(&w[i].c, 2000 + i, 3000 + i,
				 (pid_t)(50000 + i), NULL, 0, name);
		assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
	}
	for (unsigned i = 0; i < CONC_THREADS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	pthread_barrier_destroy(&go);
	for (unsigned i = 0; i < CONC_THREADS; i++) {
		assert_int_equal(w[i].rc, 0);
		total += w[i].records;
	}

	recs_read(f->s, 0, &r);
	assert_int_equal(r.n, total);
	for (size_t i = 0; i < r.n; i++) {
		int id = thread_of(r.e[i].path);

		if (id < 0)
			fail_msg("record %llu names no thread: %s %s",
				 (unsigned long long)r.e[i].seq, r.e[i].op,
				 r.e[i].path);
		assert_actor(&r.e[i], &w[id].c);
		seen[id]++;
	}
	for (unsigned i = 0; i < CONC_THREADS; i++)
		assert_int_equal(seen[i], w[i].records);
	recs_free(&r);
	assert_journal_intact(f->s, total);
	free(w);
}

/* --------------------------------------------------------------- failures */

static void test_commit_failure_no_record(void **state)
{
	struct fx *f = *state;
	const struct store_caller *c = test_caller();
	const struct store_audit_note also = {
	    .op = "file.close",
	    .path = "/pipelines/train/runs/r1/steps/fit/outputs/x",
	    .bytes = 1};
	struct store_file file;
	uint64_t n;
	int rc;

	assert_int_equal(put_buf(f->s, "model", "w.bin", "abc", 3, NULL, NULL),
			 0);
	assert_int_equal(store_run_create(f->s, c, "train", "r1", 0), 0);
	assert_int_equal(store_step_create(f->s, c, "train", "r1", "fit"), 0);
	assert_int_equal(store_buf(f->s, "xyz", 3, 0, &file), 0);
	n = rec_count(f->s);
	assert_int_equal(n, 3);

	log_capture_start();
	assert_int_equal(store_alias_set(f->s, c, "model", "prod", 2), -ENOENT);
	assert_int_equal(store_run_create(f->s, c, "train", "r1", 0), -EEXIST);
	assert_int_equal(store_alias_delete(f->s, c, "model", "nope"), -ENOENT);
	assert_int_equal(store_binding_delete(f->s, c, "/", "u:1"), -ENOENT);
	assert_int_equal(store_secret_delete(f->s, c, "nope"), -ENOENT);
	/* A missing step: neither the change's record nor the rider. */
	assert_int_equal(store_output_set(f->s, c, "train", "r1", "nope", "x",
					  STORE_KIND_FILE, 0644, &file, 0,
					  &also),
			 -ENOENT);
	assert_int_equal(rec_count(f->s), n);
	assert_journal_intact(f->s, n);

	/* A batch the disk refuses: nothing of it, the rider included. */
	atomic_store(&fail_batch, 1);
	rc = store_output_set(f->s, c, "train", "r1", "fit", "x",
			      STORE_KIND_FILE, 0644, &file, 0, &also);
	atomic_store(&fail_batch, 0);
	log_capture_stop();
	assert_int_equal(rc, -ENOSPC);
	assert_int_equal(rec_count(f->s), n);
	assert_journal_intact(f->s, n);

	/* The next change takes the seq the failed one would have. */
	assert_int_equal(store_output_set(f->s, c, "train", "r1", "fit", "x",
					  STORE_KIND_FILE, 0644, &file, 0,
					  &also),
			 0);
	assert_int_equal(rec_count(f->s), n + 2);
	assert_journal_intact(f->s, n + 2);
	fx_reopen(f);
	assert_int_equal(store_audit_enable(f->s, jkey, sizeof(jkey) - 1), 0);
	assert_journal_intact(f->s, n + 2);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_store_caller_set_fields),
	    cmocka_unit_test(test_store_caller_set_truncates_groups),
	    cmocka_unit_test(test_store_caller_set_empty_name_is_uid),
	    cmocka_unit_test(test_store_caller_set_long_name_cut),
	    T(test_commit_actor_is_caller),
	    T(test_commit_actor_concurrent),
	    T(test_commit_failure_no_record),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
