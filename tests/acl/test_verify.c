/*
 * tests/acl/test_verify.c - tamper evidence without an anchor in hand
 * (acl/verify.c: acl_journal_verify_default).
 *
 * Each case makes a real store with a real journal (its key in the key
 * directory, records written by the commits of real changes), signs
 * checkpoints where the mount daemon puts them, then closes the store
 * and damages its database directly, the way someone without the key
 * could (RocksDB through the store's own db layer).  The default
 * verification must name every kind of damage with -EBADMSG: a changed,
 * removed, reordered, forged or malformed record, a tail cut off with
 * the head rewritten (only a checkpoint shows it), the whole journal
 * deleted, a stray key, a head naming a record past the end.
 */
#include "helpers.h"
#include "acl.h"
#include "store_i.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RECORDS 8 /* changes made by journal_make */

/* A journaled store with RECORDS records. */
static void journal_make(struct fx *f)
{
	struct store_version v;
	uint64_t seq = 0;
	uint8_t h[STORE_DIGEST_LEN];
	uint8_t data[64];

	assert_int_equal(acl_journal_create(f->s), 0);
	assert_int_equal(acl_journal_open(f->s), 0);
	for (int i = 0; i < RECORDS - 2; i++) {
		memset(data, 'a' + i, sizeof(data));
		assert_int_equal(put_buf(f->s, "model", "w.bin", data,
					 sizeof(data), NULL, &v),
				 0);
	}
	assert_int_equal(
	    store_alias_set(f->s, test_caller(), "model", "prod", 2), 0);
	assert_int_equal(
	    store_alias_set(f->s, test_caller(), "model", "prod", 3), 0);
	assert_int_equal(store_audit_head(f->s, &seq, h), 0);
	assert_int_equal(seq, RECORDS);
}

/* The daemon's checkpoint directory for f's store. */
static void cp_dir(struct fx *f, char dir[ACL_PATH_MAX])
{
	assert_int_equal(acl_key_file(f->s, ".checkpoints", false, dir), 0);
}

/* Signs the head into DIR/<seq>.checkpoint and, with latest, into
 * DIR/latest.checkpoint, as the mount daemon does. */
static void checkpoint_write(struct fx *f, bool latest)
{
	char dir[ACL_PATH_MAX], path[ACL_PATH_MAX + 32], *text = NULL;
	uint8_t h[STORE_DIGEST_LEN];
	uint64_t seq = 0;
	size_t len = 0;

	cp_dir(f, dir);
	assert_true(mkdir(dir, 0755) == 0 || errno == EEXIST);
	assert_int_equal(store_audit_head(f->s, &seq, h), 0);
	assert_int_equal(acl_checkpoint_sign(f->s, seq, h, NULL, &text, &len),
			 0);
	snprintf(path, sizeof(path), "%s/%llu.checkpoint", dir,
		 (unsigned long long)seq);
	assert_int_equal(write_file(path, text, len), 0);
	snprintf(path, sizeof(path), "%s/latest.checkpoint", dir);
	if (latest)
		assert_int_equal(write_file(path, text, len), 0);
	free(text);
}

/* Closes the store and opens its database for damage. */
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

/* Closes the damaged database, reopens the store with its journal. */
static void tamper_close(struct fx *f, struct db *db)
{
	db_close(db);
	assert_int_equal(store_open(f->store_dir, &f->opt, &f->s), 0);
	assert_int_equal(acl_journal_open(f->s), 0);
}

static size_t rkey(uint8_t k[KEY_AUDIT_REC_LEN], uint64_t seq)
{
	return key_audit_rec(k, seq);
}

static void get_rec(struct db *db, uint64_t seq, uint8_t **val, size_t *len)
{
	uint8_t k[KEY_AUDIT_REC_LEN];

	assert_int_equal(
	    db_get(db, CF_AUDIT, k, rkey(k, seq), (void **)val, len), 0);
}

static void put_rec(struct db *db, uint64_t seq, const void *val, size_t len)
{
	uint8_t k[KEY_AUDIT_REC_LEN];

	assert_int_equal(db_put(db, CF_AUDIT, k, rkey(k, seq), val, len), 0);
}

static void del_rec(struct db *db, uint64_t seq)
{
	uint8_t k[KEY_AUDIT_REC_LEN];

	assert_int_equal(db_delete(db, CF_AUDIT, k, rkey(k, seq)), 0);
}

/* Points the head at record seq with the hash of record at (seq itself,
 * or the last one for a head past the end). */
static void head_set(struct db *db, uint64_t seq, uint64_t at)
{
	uint8_t head[8 + STORE_DIGEST_LEN], *v;
	size_t len;

	get_rec(db, at, &v, &len);
	be64_put(head, seq);
	assert_int_equal(store_digest_buf(v, len, head + 8), 0);
	free(v);
	assert_int_equal(db_put(db, CF_AUDIT, KEY_AUDIT_HEAD,
				KEY_AUDIT_HEAD_LEN, head, sizeof(head)),
			 0);
}

/* Asserts the default verification refuses with -EBADMSG and a summary
 * holding needle. */
static void assert_caught(struct fx *f, const char *needle)
{
	struct acl_journal_verdict v;
	int rc = acl_journal_verify_default(f->s, NULL, &v);

	if (rc != -EBADMSG || !strstr(v.summary, needle))
		fail_msg("expected -EBADMSG and \"%s\", got %d: %s", needle, rc,
			 v.summary);
}

static void test_verify_default_intact_anchored(void **state)
{
	struct fx *f = *state;
	struct acl_journal_verdict v;

	journal_make(f);
	checkpoint_write(f, true);
	assert_int_equal(acl_journal_verify_default(f->s, NULL, &v), 0);
	assert_int_equal(v.checked, RECORDS);
	assert_int_equal(v.anchor_seq, RECORDS);
	assert_non_null(strstr(v.anchor, "/latest.checkpoint"));
	assert_non_null(strstr(v.summary, "journal intact: 8 records "
					  "verified, extending checkpoint"));
}

static void test_verify_default_no_checkpoint_dir(void **state)
{
	struct fx *f = *state;
	struct acl_journal_verdict v;

	journal_make(f);
	assert_int_equal(acl_journal_verify_default(f->s, NULL, &v), 0);
	assert_int_equal(v.checked, RECORDS);
	assert_int_equal(v.anchor_seq, 0);
	assert_string_equal(v.anchor, "");
	assert_non_null(strstr(v.summary, "journal intact: 8 records "
					  "verified; no checkpoint found"));
}

static void test_verify_default_changed(void **state)
{
	struct fx *f = *state;
	struct db *db;
	uint8_t *v, *p;
	size_t len;

	journal_make(f);
	checkpoint_write(f, true);
	db = tamper_open(f);
	get_rec(db, 3, &v, &len);
	p = memmem(v, len, TEST_CALLER_USER, 4);
	assert_non_null(p);
	p[1] ^= 0x20; /* "tEst" */
	put_rec(db, 3, v, len);
	free(v);
	tamper_close(f, db);
	assert_caught(f, "record 3: hmac mismatch (changed)");
}

static void test_verify_default_removed_middle(void **state)
{
	struct fx *f = *state;
	struct db *db;

	journal_make(f);
	checkpoint_write(f, true);
	db = tamper_open(f);
	del_rec(db, 4);
	tamper_close(f, db);
	assert_caught(f, "record 4 missing (removed)");
}

static void test_verify_default_reordered(void **state)
{
	struct fx *f = *state;
	uint8_t *v3, *v4;
	size_t l3, l4;
	struct db *db;

	journal_make(f);
	checkpoint_write(f, true);
	db = tamper_open(f);
	get_rec(db, 3, &v3, &l3);
	get_rec(db, 4, &v4, &l4);
	put_rec(db, 3, v4, l4);
	put_rec(db, 4, v3, l3);
	free(v3);
	free(v4);
	tamper_close(f, db);
	assert_caught(f, "record 3: out of order (holds record 4)");
}

/* A record forged at 4 (its seq and prev right, a field changed, its
 * hmac computed under a key that is not the journal's), the real records
 * from 4 on moved one place on. */
static void test_verify_default_forged_inserted(void **state)
{
	static const uint8_t guess[32] = "not-the-journal-key-but-a-guess";
	struct fx *f = *state;
	uint8_t *v, *p;
	size_t len, n = 0;
	struct db *db;

	journal_make(f);
	checkpoint_write(f, true);
	db = tamper_open(f);
	for (uint64_t seq = RECORDS; seq >= 4; seq--) {
		get_rec(db, seq, &v, &len);
		put_rec(db, seq + 1, v, len);
		free(v);
	}
	head_set(db, RECORDS + 1, RECORDS + 1);
	get_rec(db, 4, &v, &len);
	p = memmem(v, len, TEST_CALLER_USER, 4);
	assert_non_null(p);
	memcpy(p, "root", 4);
	assert_non_null(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, guess,
				  sizeof(guess), v, len - 32, v + len - 32, 32,
				  &n));
	put_rec(db, 4, v, len);
	free(v);
	tamper_close(f, db);
	assert_caught(f, "record 4: hmac mismatch");
}

static void test_verify_default_malformed(void **state)
{
	struct fx *f = *state;
	struct db *db;

	journal_make(f);
	checkpoint_write(f, true);
	db = tamper_open(f);
	put_rec(db, 5, "\x01garbage", 8);
	tamper_close(f, db);
	assert_caught(f, "record 5: malformed");
}

/* Records 6..last cut off, the head rewritten to name record 5 by its
 * hash: the chain is whole, so with no checkpoint nothing shows (the
 * summary says only the chain was checked). */
static void cut_tail(struct fx *f, uint64_t last)
{
	struct db *db = tamper_open(f);

	for (uint64_t seq = 6; seq <= last; seq++)
		del_rec(db, seq);
	head_set(db, 5, 5);
	tamper_close(f, db);
}

static void test_verify_default_cut_tail_unanchored(void **state)
{
	struct fx *f = *state;
	struct acl_journal_verdict v;

	journal_make(f);
	cut_tail(f, RECORDS);
	assert_int_equal(acl_journal_verify_default(f->s, NULL, &v), 0);
	assert_int_equal(v.checked, 5);
	assert_non_null(strstr(v.summary, "no checkpoint found"));
}

static void test_verify_default_cut_tail_anchored(void **state)
{
	struct fx *f = *state;

	journal_make(f);
	checkpoint_write(f, true);
	cut_tail(f, RECORDS);
	assert_caught(f, "journal cut off: ");
	assert_caught(f, "latest.checkpoint names record 8, the journal "
			 "ends at record 5");
}

/* latest.checkpoint lost: the highest <seq>.checkpoint is the anchor. */
static void test_verify_default_cut_tail_numbered_only(void **state)
{
	struct fx *f = *state;
	char dir[ACL_PATH_MAX], path[ACL_PATH_MAX + 32];
	struct acl_journal_verdict v;
	struct store_version sv;

	journal_make(f);
	checkpoint_write(f, false); /* 8.checkpoint */
	assert_int_equal(put_buf(f->s, "model", "w.bin", "z", 1, NULL, &sv), 0);
	checkpoint_write(f, false); /* 9.checkpoint */
	cp_dir(f, dir);
	snprintf(path, sizeof(path), "%s/9.checkpoint", dir);
	assert_int_equal(acl_journal_verify_default(f->s, NULL, &v), 0);
	assert_string_equal(v.anchor, path);
	assert_int_equal(v.anchor_seq, 9);
	cut_tail(f, RECORDS + 1);
	assert_caught(f, "9.checkpoint names record 9, the journal ends at "
			 "record 5");
}

static void delete_journal(struct fx *f)
{
	struct db *db = tamper_open(f);

	for (uint64_t seq = 1; seq <= RECORDS; seq++)
		del_rec(db, seq);
	assert_int_equal(
	    db_delete(db, CF_AUDIT, KEY_AUDIT_HEAD, KEY_AUDIT_HEAD_LEN), 0);
	tamper_close(f, db);
}

static void test_verify_default_journal_deleted(void **state)
{
	struct fx *f = *state;

	journal_make(f);
	delete_journal(f);
	assert_caught(f, "the journal is missing");
}

/* The mark deleted with the journal: the checkpoint still shows it. */
static void test_verify_default_journal_and_mark_deleted(void **state)
{
	struct fx *f = *state;
	struct db *db;

	journal_make(f);
	checkpoint_write(f, true);
	delete_journal(f);
	db = tamper_open(f);
	assert_int_equal(db_delete(db, CF_META, "journal", 7), 0);
	tamper_close(f, db);
	assert_false(store_audit_required(f->s));
	assert_caught(f, "names record 8, the journal ends at record 0");
}

static void test_verify_default_stray_key(void **state)
{
	struct fx *f = *state;
	struct db *db;

	journal_make(f);
	checkpoint_write(f, true);
	db = tamper_open(f);
	assert_int_equal(db_put(db, CF_AUDIT, "zz\x01", 3, "x", 1), 0);
	tamper_close(f, db);
	assert_caught(f, "stray key \"zz\\x01\" in the journal");
}

static void test_verify_default_stray_key_before_records(void **state)
{
	struct fx *f = *state;
	struct db *db;

	journal_make(f);
	db = tamper_open(f);
	assert_int_equal(db_put(db, CF_AUDIT, "a", 1, "", 0), 0);
	tamper_close(f, db);
	assert_caught(f, "stray key \"a\" in the journal");
}

static void test_verify_default_head_past_end(void **state)
{
	struct fx *f = *state;
	struct db *db;

	journal_make(f);
	checkpoint_write(f, true);
	db = tamper_open(f);
	head_set(db, RECORDS + 3, RECORDS);
	tamper_close(f, db);
	assert_caught(f, "record 9 missing (removed): the head names record "
			 "11, the journal ends at record 8");
}

/* The regular file path, whole, into *out (malloc'd, NUL-terminated). */
static int slurp(const char *path, uint8_t **out, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	size_t n;

	if (!fp)
		return -errno;
	*out = malloc(64 << 10);
	assert_non_null(*out);
	n = fread(*out, 1, (64 << 10) - 1, fp);
	fclose(fp);
	(*out)[n] = 0;
	*len = n;
	return 0;
}

/* A checkpoint that was edited (its seq moved) no longer verifies. */
static void test_verify_default_checkpoint_forged(void **state)
{
	struct fx *f = *state;
	char dir[ACL_PATH_MAX], path[ACL_PATH_MAX + 32];
	uint8_t *text = NULL;
	size_t len = 0;
	char *p;

	journal_make(f);
	checkpoint_write(f, true);
	cp_dir(f, dir);
	snprintf(path, sizeof(path), "%s/latest.checkpoint", dir);
	assert_int_equal(slurp(path, &text, &len), 0);
	p = strstr((char *)text, "\"seq\": 8");
	assert_non_null(p);
	p[7] = '7';
	assert_int_equal(write_file(path, text, len), 0);
	free(text);
	assert_caught(f, "signature does not match");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_verify_default_intact_anchored),
	    T(test_verify_default_no_checkpoint_dir),
	    T(test_verify_default_changed),
	    T(test_verify_default_removed_middle),
	    T(test_verify_default_reordered),
	    T(test_verify_default_forged_inserted),
	    T(test_verify_default_malformed),
	    T(test_verify_default_cut_tail_unanchored),
	    T(test_verify_default_cut_tail_anchored),
	    T(test_verify_default_cut_tail_numbered_only),
	    T(test_verify_default_journal_deleted),
	    T(test_verify_default_journal_and_mark_deleted),
	    T(test_verify_default_stray_key),
	    T(test_verify_default_stray_key_before_records),
	    T(test_verify_default_head_past_end),
	    T(test_verify_default_checkpoint_forged),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
