/*
 * tests/store/test_audit.c - the audit journal (store/audit.c): records
 * chain and verify, and every kind of tampering done to the closed
 * store's database (a changed byte, a removed, swapped or forged record,
 * the wrong key) is named by audit_verify at the first bad record.
 *
 * rocksdb_write_writebatch_wi is wrapped at link time (CMakeLists.txt) so
 * that a commit can fail like a full disk: the journal must then be as it
 * was, and the next record must take the seq the failed one would have.
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

static atomic_int fail_batch, batch_failures;

void __wrap_rocksdb_write_writebatch_wi(rocksdb_t *db,
					const rocksdb_writeoptions_t *o,
					rocksdb_writebatch_wi_t *wb,
					char **errptr)
{
	if (atomic_load(&fail_batch)) {
		atomic_fetch_add(&batch_failures, 1);
		*errptr =
		    strdup("IO error: No space left on device (injected)");
		return;
	}
	__real_rocksdb_write_writebatch_wi(db, o, wb, errptr);
}

static const uint8_t key[] = "k3y-0f-th3-aud1t0r-n0t-1n-st0re!";
static const uint8_t wrong[] = "n0t-th3-k3y-0f-th3-aud1t0r-at-a1";
#define KLEN (sizeof(key) - 1)

static int setup(void **state)
{
	atomic_store(&fail_batch, 0);
	atomic_store(&batch_failures, 0);
	return fx_setup(state);
}

static int teardown(void **state)
{
	atomic_store(&fail_batch, 0);
	return fx_teardown(state);
}

/* Record i, the same every time (so two stores build the same chain). */
static void rec_fill(struct audit_rec *r, unsigned i)
{
	uint8_t d[STORE_DIGEST_LEN];

	memset(r, 0, sizeof(*r));
	r->time = 1700000000000000000LL + i;
	r->uid = 1000 + i;
	r->pid = 40000 + i;
	snprintf(r->user, sizeof(r->user), "user%u", i);
	snprintf(r->op, sizeof(r->op), i % 3 ? "write" : "open");
	snprintf(r->path, sizeof(r->path), "/artifacts/model/v%u/w.bin", i);
	if (i % 2) {
		memset(d, (int)i, sizeof(d));
		store_digest_format(d, r->digest);
	}
	r->bytes = 4096ull * i;
	r->result = i % 4 == 0 ? EACCES : 0;
}

/* One record under k as its own commit, the way store_audit_record
 * writes one under the enabled key (the journal of these cases is off,
 * so the commit adds no record of its own). */
static int append_rec(struct store *s, const uint8_t *k, size_t klen,
		      struct audit_rec *r)
{
	struct commit t;
	int rc = commit_begin(s, test_caller(), &t);

	if (rc)
		return rc;
	rc = audit_stage(s, t.b, k, klen, r);
	return commit_end_nosync(&t, rc);
}

static void append_n(struct store *s, unsigned first, unsigned n)
{
	struct audit_rec r;

	for (unsigned i = first; i < first + n; i++) {
		rec_fill(&r, i);
		assert_int_equal(append_rec(s, key, KLEN, &r), 0);
		assert_int_equal(r.seq, i);
	}
}

static void assert_intact(struct store *s, uint64_t n)
{
	struct audit_verdict v;

	assert_int_equal(audit_verify(s, key, KLEN, 0, &v), 0);
	assert_int_equal(v.checked, n);
	assert_int_equal(v.bad_seq, 0);
	assert_string_equal(v.why, "");
}

/* Asserts audit_verify under k names record seq with a reason holding
 * needle. */
static void assert_bad(struct store *s, const uint8_t *k, uint64_t seq,
		       const char *needle)
{
	struct audit_verdict v;

	assert_int_equal(audit_verify(s, k, KLEN, 0, &v), -EBADMSG);
	if (v.bad_seq != seq || !strstr(v.why, needle))
		fail_msg("expected record %llu (%s), got %llu: %s",
			 (unsigned long long)seq, needle,
			 (unsigned long long)v.bad_seq, v.why);
}

static size_t rkey(uint8_t k[9], uint64_t seq)
{
	k[0] = 'r';
	for (int i = 8; i >= 1; i--) {
		k[i] = (uint8_t)seq;
		seq >>= 8;
	}
	return 9;
}

/* Closes the store and opens its database raw, as an intruder would. */
static struct db *tamper_open(struct fx *f)
{
	char *p = path_join(f->store_dir, "db");
	struct db *db = NULL;

	store_close(f->s);
	f->s = NULL;
	assert_int_equal(db_open(p, false, false, &db), 0);
	free(p);
	return db;
}

static void tamper_close(struct fx *f, struct db *db)
{
	db_close(db);
	assert_int_equal(store_open(f->store_dir, &f->opt, &f->s), 0);
}

static void get_rec(struct db *db, uint64_t seq, uint8_t **val, size_t *len)
{
	uint8_t k[9];

	assert_int_equal(
	    db_get(db, CF_AUDIT, k, rkey(k, seq), (void **)val, len), 0);
}

static void put_rec(struct db *db, uint64_t seq, const void *val, size_t len)
{
	uint8_t k[9];

	assert_int_equal(db_put(db, CF_AUDIT, k, rkey(k, seq), val, len), 0);
}

/* ------------------------------------------------------------- cases */

static void test_audit_append_chains_ten(void **state)
{
	struct fx *f = *state;
	struct audit_verdict v;

	assert_intact(f->s, 0);
	append_n(f->s, 1, 10);
	assert_intact(f->s, 10);
	fx_reopen(f);
	assert_intact(f->s, 10);
	assert_int_equal(audit_verify(f->s, key, KLEN, 5, &v), 0);
	assert_int_equal(v.checked, 6);
	assert_int_equal(audit_verify(f->s, key, KLEN, 12, &v), 0);
	assert_int_equal(v.checked, 0);
}

struct collect {
	unsigned n;
	struct audit_rec r[12];
};

static int collect_fn(void *arg, const struct audit_rec *r)
{
	struct collect *c = arg;

	if (c->n == 12)
		return -ENOSPC;
	c->r[c->n++] = *r;
	return 0;
}

static void test_audit_each_round_trip(void **state)
{
	struct fx *f = *state;
	struct collect *c = calloc(1, sizeof(*c));
	struct audit_rec want, got;

	assert_non_null(c);
	append_n(f->s, 1, 10);
	assert_int_equal(audit_each(f->s, 4, collect_fn, c), 0);
	assert_int_equal(c->n, 7);
	for (unsigned i = 0; i < c->n; i++) {
		rec_fill(&want, i + 4);
		got = c->r[i];
		assert_int_equal(got.seq, i + 4);
		assert_int_equal(got.time, want.time);
		assert_int_equal(got.uid, want.uid);
		assert_int_equal(got.pid, want.pid);
		assert_string_equal(got.user, want.user);
		assert_string_equal(got.op, want.op);
		assert_string_equal(got.path, want.path);
		assert_string_equal(got.digest, want.digest);
		assert_int_equal(got.bytes, want.bytes);
		assert_int_equal(got.result, want.result);
		if (i)
			assert_memory_not_equal(got.prev, c->r[i - 1].prev, 32);
	}
	free(c);
}

static void test_audit_append_cuts_long_fields(void **state)
{
	struct fx *f = *state;
	struct collect *c = calloc(1, sizeof(*c));
	struct audit_rec r;

	assert_non_null(c);
	rec_fill(&r, 1);
	memset(r.user, 'u', sizeof(r.user)); /* no NUL at all */
	memset(r.path, 'p', sizeof(r.path));
	assert_int_equal(append_rec(f->s, key, KLEN, &r), 0);
	assert_intact(f->s, 1);
	assert_int_equal(audit_each(f->s, 0, collect_fn, c), 0);
	assert_int_equal(c->n, 1);
	assert_int_equal(strlen(c->r[0].user), sizeof(r.user) - 1);
	assert_int_equal(strlen(c->r[0].path), sizeof(r.path) - 1);
	free(c);
}

static void test_audit_stage_two_in_one_batch(void **state)
{
	struct fx *f = *state;
	struct audit_rec r1, r2;
	struct commit t;
	uint8_t zero[32] = {0}, h[32], *v;
	size_t len;

	append_n(f->s, 1, 1);
	assert_int_equal(commit_begin(f->s, test_caller(), &t), 0);
	rec_fill(&r1, 2);
	rec_fill(&r2, 3);
	assert_int_equal(audit_stage(f->s, t.b, key, KLEN, &r1), 0);
	assert_int_equal(audit_stage(f->s, t.b, key, KLEN, &r2), 0);
	assert_int_equal(commit_end(&t, 0), 0);
	assert_int_equal(r1.seq, 2);
	assert_int_equal(r2.seq, 3);
	assert_memory_not_equal(r1.prev, zero, 32);

	/* r2.prev is the hash of r1's stored value; the head names r2. */
	get_rec(f->s->db, 2, &v, &len);
	assert_int_equal(store_digest_buf(v, len, h), 0);
	assert_memory_equal(r2.prev, h, 32);
	free(v);
	get_rec(f->s->db, 3, &v, &len);
	assert_int_equal(store_digest_buf(v, len, h), 0);
	free(v);
	assert_int_equal(
	    db_get(f->s->db, CF_AUDIT, "head", 4, (void **)&v, &len), 0);
	assert_int_equal(len, 40);
	assert_int_equal(v[7], 3);
	assert_memory_equal(v + 8, h, 32);
	free(v);
	assert_intact(f->s, 3);

	/* A staged record whose batch is dropped leaves nothing. */
	assert_int_equal(commit_begin(f->s, test_caller(), &t), 0);
	assert_int_equal(audit_stage(f->s, t.b, key, KLEN, &r1), 0);
	assert_int_equal(commit_end(&t, -EACCES), -EACCES);
	append_n(f->s, 4, 1);
	assert_intact(f->s, 4);
}

static void test_audit_verify_changed_byte(void **state)
{
	struct fx *f = *state;
	struct db *db;
	uint8_t *v, *p;
	size_t len;

	append_n(f->s, 1, 10);
	db = tamper_open(f);
	get_rec(db, 4, &v, &len);
	p = memmem(v, len, "user4", 5);
	assert_non_null(p);
	p[1] ^= 0x20; /* "uSer4" */
	put_rec(db, 4, v, len);
	free(v);
	tamper_close(f, db);
	assert_bad(f->s, key, 4, "record 4: hmac mismatch (changed)");
}

static void test_audit_verify_removed(void **state)
{
	struct fx *f = *state;
	struct db *db;
	uint8_t k[9];

	append_n(f->s, 1, 10);
	db = tamper_open(f);
	assert_int_equal(db_delete(db, CF_AUDIT, k, rkey(k, 6)), 0);
	tamper_close(f, db);
	assert_bad(f->s, key, 6, "record 6 missing (removed)");
}

static void test_audit_verify_removed_tail(void **state)
{
	struct fx *f = *state;
	struct db *db;
	uint8_t k[9];

	append_n(f->s, 1, 10);
	db = tamper_open(f);
	assert_int_equal(db_delete(db, CF_AUDIT, k, rkey(k, 10)), 0);
	tamper_close(f, db);
	assert_bad(f->s, key, 10, "record 10 missing (removed)");
}

static void test_audit_verify_swapped(void **state)
{
	struct fx *f = *state;
	struct db *db;
	uint8_t *v3, *v4;
	size_t l3, l4;

	append_n(f->s, 1, 10);
	db = tamper_open(f);
	get_rec(db, 3, &v3, &l3);
	get_rec(db, 4, &v4, &l4);
	put_rec(db, 3, v4, l4);
	put_rec(db, 4, v3, l3);
	free(v3);
	free(v4);
	tamper_close(f, db);
	assert_bad(f->s, key, 3, "record 3: out of order");
}

/* A forged record 11 chained on the real 10 (head moved too), made with
 * the code but not the key. */
static void test_audit_verify_forged_tail(void **state)
{
	struct fx *f = *state;
	struct audit_rec r;

	append_n(f->s, 1, 10);
	rec_fill(&r, 11);
	assert_int_equal(append_rec(f->s, wrong, KLEN, &r), 0);
	assert_int_equal(r.seq, 11);
	assert_bad(f->s, key, 11, "record 11: hmac mismatch");
}

/* Record 5 replaced by one that chains exactly (built by a second store
 * on the same records 1..4) but under another key. */
static void test_audit_verify_forged_middle(void **state)
{
	struct fx *f = *state;
	char *other = path_join(f->dir, "other"), *odb;
	struct store *s2;
	struct audit_rec r;
	struct db *db;
	uint8_t *forged, *real;
	size_t flen, rlen;

	append_n(f->s, 1, 10);
	assert_int_equal(store_init(other, &f->opt), 0);
	assert_int_equal(store_open(other, &f->opt, &s2), 0);
	append_n(s2, 1, 4);
	rec_fill(&r, 5);
	assert_int_equal(append_rec(s2, wrong, KLEN, &r), 0);
	store_close(s2);
	odb = path_join(other, "db");
	assert_int_equal(db_open(odb, false, false, &db), 0);
	get_rec(db, 5, &forged, &flen);
	db_close(db);

	db = tamper_open(f);
	get_rec(db, 5, &real, &rlen);
	assert_int_equal(flen, rlen);
	/* Same bytes and chain link; only the hmac differs. */
	assert_memory_equal(forged, real, rlen - 32);
	assert_memory_not_equal(forged + rlen - 32, real + rlen - 32, 32);
	put_rec(db, 5, forged, flen);
	tamper_close(f, db);
	assert_bad(f->s, key, 5, "record 5: hmac mismatch (changed)");
	free(forged);
	free(real);
	free(odb);
	free(other);
}

static void test_audit_verify_wrong_key(void **state)
{
	struct fx *f = *state;
	struct audit_verdict v;

	append_n(f->s, 1, 10);
	assert_bad(f->s, wrong, 1, "record 1: hmac mismatch");
	assert_int_equal(audit_verify(f->s, key, 0, 0, &v), -EINVAL);
	assert_intact(f->s, 10);
}

static void test_audit_append_fails_closed(void **state)
{
	struct fx *f = *state;
	struct audit_rec r;
	uint8_t *h0, *h1, k[9];
	void *v;
	size_t l0, l1, len;
	int rc;

	append_n(f->s, 1, 3);
	assert_int_equal(
	    db_get(f->s->db, CF_AUDIT, "head", 4, (void **)&h0, &l0), 0);
	rec_fill(&r, 4);
	log_capture_start();
	atomic_store(&fail_batch, 1);
	rc = append_rec(f->s, key, KLEN, &r);
	atomic_store(&fail_batch, 0);
	assert_true(log_captured("commit failed"));
	log_capture_stop();
	assert_int_equal(rc, -ENOSPC);
	assert_int_equal(atomic_load(&batch_failures), 1);

	/* Neither the record nor the head moved. */
	assert_int_equal(db_get(f->s->db, CF_AUDIT, k, rkey(k, 4), &v, &len),
			 -ENOENT);
	assert_int_equal(
	    db_get(f->s->db, CF_AUDIT, "head", 4, (void **)&h1, &l1), 0);
	assert_int_equal(l0, l1);
	assert_memory_equal(h0, h1, l0);
	free(h0);
	free(h1);
	assert_intact(f->s, 3);

	append_n(f->s, 4, 1);
	assert_intact(f->s, 4);
}

static int count_binding(void *arg, const char *scope, const char *principal,
			 const char *role)
{
	(void)scope, (void)principal, (void)role;
	++*(int *)arg;
	return 0;
}

static int count_records(void *arg, const struct store_audit_entry *e)
{
	(void)e;
	++*(int *)arg;
	return 0;
}

/* A change and its record are one batch: when the batch fails, neither
 * is there; when it goes through, both are. */
static void test_audit_change_and_record_together(void **state)
{
	struct fx *f = *state;
	int bindings = 0, records = 0, rc;

	assert_int_equal(store_audit_enable(f->s, key, KLEN), 0);
	log_capture_start();
	atomic_store(&fail_batch, 1);
	rc = store_binding_set(f->s, test_caller(), "/artifacts/model",
			       "u:1001", "reader");
	atomic_store(&fail_batch, 0);
	log_capture_stop();
	assert_int_equal(rc, -ENOSPC);
	assert_int_equal(atomic_load(&batch_failures), 1);
	assert_int_equal(store_binding_each(f->s, count_binding, &bindings), 0);
	assert_int_equal(bindings, 0);
	assert_int_equal(store_audit_each(f->s, 0, count_records, &records), 0);
	assert_int_equal(records, 0);

	assert_int_equal(store_binding_set(f->s, test_caller(),
					   "/artifacts/model", "u:1001",
					   "reader"),
			 0);
	assert_int_equal(store_binding_each(f->s, count_binding, &bindings), 0);
	assert_int_equal(bindings, 1);
	assert_int_equal(store_audit_each(f->s, 0, count_records, &records), 0);
	assert_int_equal(records, 1);
	assert_intact(f->s, 1);
}

/* The check without the key (an export's) compares the last record with
 * the head: a record changed where only its HMAC would show (its last
 * byte) is found, as changed records before it are by the next prev. */
static void test_audit_chain_check_last_record_against_head(void **state)
{
	struct fx *f = *state;
	uint8_t k[KEY_AUDIT_REC_LEN], h[STORE_DIGEST_LEN];
	uint64_t n = 0, head = 0;
	char why[256] = "";
	void *v;
	size_t len;

	append_n(f->s, 1, 5);
	assert_int_equal(store_audit_chain_check(f->s, &n, why, sizeof(why)),
			 0);
	assert_int_equal(n, 5);
	assert_int_equal(store_audit_head(f->s, &head, h), 0);
	assert_int_equal(head, 5);
	key_audit_rec(k, head);
	assert_int_equal(db_get(f->s->db, CF_AUDIT, k, sizeof(k), &v, &len), 0);
	((uint8_t *)v)[len - 1] ^= 1;
	assert_int_equal(db_put(f->s->db, CF_AUDIT, k, sizeof(k), v, len), 0);
	free(v);
	assert_int_equal(store_audit_chain_check(f->s, &n, why, sizeof(why)),
			 -EBADMSG);
	assert_non_null(strstr(why, "record 5 differs from its head"));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_audit_append_chains_ten),
	    T(test_audit_each_round_trip),
	    T(test_audit_append_cuts_long_fields),
	    T(test_audit_stage_two_in_one_batch),
	    T(test_audit_verify_changed_byte),
	    T(test_audit_verify_removed),
	    T(test_audit_verify_removed_tail),
	    T(test_audit_verify_swapped),
	    T(test_audit_verify_forged_tail),
	    T(test_audit_verify_forged_middle),
	    T(test_audit_verify_wrong_key),
	    T(test_audit_append_fails_closed),
	    T(test_audit_change_and_record_together),
	    T(test_audit_chain_check_last_record_against_head),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
