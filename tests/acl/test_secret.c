/*
 * tests/acl/test_secret.c - secrets sealed by acl/secret.c on real
 * stores: a value comes back as it went in, the store holds only the
 * envelope (never the plaintext), and a wrong key, a changed byte or a
 * value moved to another name reads as -EIO, never as other bytes.
 *
 * The key directory is the store's default, STORE.keys beside it in the
 * case's temporary directory.
 */
#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "acl.h"

/* format byte, nonce, tag */
#define OVERHEAD (1 + STORE_AEAD_IV_LEN + STORE_AEAD_TAG_LEN)

static const char value[] = "correct horse battery staple";

static int setup(void **state)
{
	unsetenv("ARTIFACTFS_KEY_DIR");
	return fx_setup(state);
}

/* <store>.keys/<id>.secret.key, malloc'd. */
static char *key_file(struct fx *f)
{
	char *p;

	assert_true(asprintf(&p, "%s.keys/%s.secret.key", f->store_dir,
			     store_id(f->s)) > 0);
	return p;
}

static void assert_value(struct store *s, const char *name, const void *want,
			 size_t want_len)
{
	uint8_t *val = NULL;
	size_t len = 0;

	assert_int_equal(acl_secret_read(s, name, 0, &val, &len, NULL), 0);
	assert_int_equal(len, want_len);
	if (want_len)
		assert_memory_equal(val, want, want_len);
	assert_int_equal(val[len], 0);
	free(val);
}

/* The stored envelope of name, malloc'd. */
static uint8_t *stored(struct store *s, const char *name, size_t *len)
{
	void *v = NULL;

	assert_int_equal(store_secret_get(s, name, 0, &v, len, NULL), 0);
	return v;
}

static bool contains(const uint8_t *hay, size_t n, const void *needle, size_t m)
{
	return memmem(hay, n, needle, m) != NULL;
}

static void test_acl_secret_write_read_round_trip(void **state)
{
	struct fx *f = *state;
	uint8_t *big = rand_buf(11, ACL_SECRET_MAX), *env;
	char *kf;
	struct stat st;
	size_t len;

	assert_int_equal(acl_secret_write(f->s, test_caller(), "db", value,
					  sizeof(value) - 1, NULL),
			 0);
	assert_int_equal(
	    acl_secret_write(f->s, test_caller(), "empty", "", 0, NULL), 0);
	assert_int_equal(acl_secret_write(f->s, test_caller(), "big", big,
					  ACL_SECRET_MAX, NULL),
			 0);
	assert_value(f->s, "db", value, sizeof(value) - 1);
	assert_value(f->s, "empty", "", 0);
	assert_value(f->s, "big", big, ACL_SECRET_MAX);

	/* The first write made the key: 32 bytes, the owner's alone. */
	kf = key_file(f);
	assert_int_equal(stat(kf, &st), 0);
	assert_int_equal(st.st_size, 32);
	assert_int_equal(st.st_mode & 0777, 0600);
	free(kf);

	/* The store holds an envelope, not the plaintext. */
	env = stored(f->s, "db", &len);
	assert_int_equal(len, sizeof(value) - 1 + OVERHEAD);
	assert_int_equal(env[0], 1);
	assert_false(contains(env, len, value, 8));
	free(env);

	/* A reopened store reads them with the same key. */
	fx_reopen(f);
	assert_value(f->s, "db", value, sizeof(value) - 1);
	assert_value(f->s, "big", big, ACL_SECRET_MAX);
	free(big);
}

static void test_acl_secret_write_fresh_nonce(void **state)
{
	struct fx *f = *state;
	uint8_t *a, *b;
	size_t la, lb;

	assert_int_equal(
	    acl_secret_write(f->s, test_caller(), "x", value, 5, NULL), 0);
	a = stored(f->s, "x", &la);
	assert_int_equal(
	    acl_secret_write(f->s, test_caller(), "x", value, 5, NULL), 0);
	b = stored(f->s, "x", &lb);
	assert_int_equal(la, lb);
	/* Same value, same key: another nonce, so other bytes. */
	assert_memory_not_equal(a + 1, b + 1, STORE_AEAD_IV_LEN);
	assert_memory_not_equal(a, b, la);
	free(a);
	free(b);
	assert_value(f->s, "x", value, 5);
}

static void test_acl_secret_read_missing_enoent(void **state)
{
	struct fx *f = *state;
	uint8_t *val = NULL;
	size_t len = 0;

	/* No key yet, no secret: absent, and the key is not needed. */
	assert_int_equal(acl_secret_read(f->s, "nope", 0, &val, &len, NULL),
			 -ENOENT);
	assert_int_equal(
	    acl_secret_write(f->s, test_caller(), "db", value, 3, NULL), 0);
	assert_int_equal(acl_secret_read(f->s, "nope", 0, &val, &len, NULL),
			 -ENOENT);
	assert_null(val);
}

static void test_acl_secret_read_wrong_key_eio(void **state)
{
	struct fx *f = *state;
	uint8_t *val = NULL, *other = rand_buf(12, 32);
	char *kf = key_file(f);
	size_t len = 0;

	assert_int_equal(
	    acl_secret_write(f->s, test_caller(), "db", value, 10, NULL), 0);
	assert_int_equal(unlink(kf), 0);
	assert_int_equal(write_file(kf, other, 32), 0);
	assert_int_equal(chmod(kf, 0600), 0);
	log_capture_start();
	assert_int_equal(acl_secret_read(f->s, "db", 0, &val, &len, NULL),
			 -EIO);
	assert_null(val);
	assert_true(log_captured("secret db"));
	assert_true(log_captured("fails authentication"));
	assert_false(log_captured(value));
	log_capture_stop();
	free(other);
	free(kf);
}

static void test_acl_secret_read_missing_key_enokey(void **state)
{
	struct fx *f = *state;
	uint8_t *val = NULL;
	char *kf = key_file(f);
	size_t len = 0;

	assert_int_equal(
	    acl_secret_write(f->s, test_caller(), "db", value, 10, NULL), 0);
	assert_int_equal(unlink(kf), 0);
	log_capture_start();
	assert_int_equal(acl_secret_read(f->s, "db", 0, &val, &len, NULL),
			 -ENOKEY);
	assert_true(log_captured("is missing"));
	log_capture_stop();
	free(kf);
}

/* Flips bit 0 of byte i of the stored envelope of name. */
static void flip_stored(struct store *s, const char *name, size_t i)
{
	size_t len;
	uint8_t *env = stored(s, name, &len);

	assert_true(i < len);
	env[i] ^= 0x01;
	assert_int_equal(
	    store_secret_set(s, test_caller(), name, env, len, NULL), 0);
	free(env);
}

static void test_acl_secret_read_flipped_byte_eio(void **state)
{
	struct fx *f = *state;
	const size_t n = sizeof(value) - 1;
	/* In the nonce, the ciphertext (first, middle, last) and the tag. */
	const size_t at[] = {
	    1, 12, 13, 13 + n / 2, 12 + n, 13 + n, n + OVERHEAD - 1};

	assert_int_equal(
	    acl_secret_write(f->s, test_caller(), "db", value, n, NULL), 0);
	for (size_t k = 0; k < sizeof(at) / sizeof(at[0]); k++) {
		uint8_t *val = NULL;
		size_t len = 0;

		flip_stored(f->s, "db", at[k]);
		log_capture_start();
		assert_int_equal(
		    acl_secret_read(f->s, "db", 0, &val, &len, NULL), -EIO);
		assert_null(val);
		assert_true(log_captured("fails authentication"));
		log_capture_stop();
		flip_stored(f->s, "db", at[k]); /* back as it was */
		assert_value(f->s, "db", value, n);
	}

	/* An unknown envelope format is refused the same way. */
	flip_stored(f->s, "db", 0);
	{
		uint8_t *val = NULL;
		size_t len = 0;

		assert_int_equal(
		    acl_secret_read(f->s, "db", 0, &val, &len, NULL), -EIO);
	}
}

static void test_acl_secret_read_moved_value_eio(void **state)
{
	struct fx *f = *state;
	uint8_t *env, *val = NULL;
	size_t len, vlen = 0;

	/* The name is the associated data: a value copied under another
	 * name (as someone with the store's files could) does not open. */
	assert_int_equal(
	    acl_secret_write(f->s, test_caller(), "prod", value, 10, NULL), 0);
	env = stored(f->s, "prod", &len);
	assert_int_equal(
	    store_secret_set(f->s, test_caller(), "dev", env, len, NULL), 0);
	free(env);
	assert_int_equal(acl_secret_read(f->s, "dev", 0, &val, &vlen, NULL),
			 -EIO);
	assert_value(f->s, "prod", value, 10);
}

static void test_acl_secret_write_over_cap_efbig(void **state)
{
	struct fx *f = *state;
	uint8_t *big = rand_buf(13, ACL_SECRET_MAX + 1), *val = NULL;
	size_t len;

	assert_int_equal(acl_secret_write(f->s, test_caller(), "big", big,
					  ACL_SECRET_MAX + 1, NULL),
			 -EFBIG);
	assert_int_equal(acl_secret_read(f->s, "big", 0, &val, &len, NULL),
			 -ENOENT);
	assert_int_equal(
	    acl_secret_write(f->s, test_caller(), "a/b", big, 1, NULL),
	    -EINVAL);
	free(big);
}

struct scan {
	int records, secret_ops;
	bool leaked;
	char names[128];
};

static int scan_rec(void *arg, const struct store_audit_entry *e)
{
	struct scan *sc = arg;

	sc->records++;
	if (!strncmp(e->op, "secret.", 7) && !strcmp(e->path, "/secrets/db"))
		sc->secret_ops++;
	if (strstr(e->path, value) || strstr(e->user, value))
		sc->leaked = true;
	return 0;
}

static int add_name(void *arg, const char *name)
{
	struct scan *sc = arg;
	size_t used = strlen(sc->names);

	snprintf(sc->names + used, sizeof(sc->names) - used, "%s%s",
		 used ? "," : "", name);
	return 0;
}

static void test_acl_secret_journaled_by_name(void **state)
{
	struct fx *f = *state;
	struct scan sc = {0};
	uint64_t checked, bad;
	char why[128];

	assert_int_equal(acl_journal_create(f->s), 0);
	assert_int_equal(acl_journal_open(f->s), 0);
	assert_true(store_audit_enabled(f->s));
	assert_int_equal(acl_secret_write(f->s, test_caller(), "db", value,
					  sizeof(value) - 1, NULL),
			 0);
	assert_int_equal(
	    acl_secret_write(f->s, test_caller(), "api", value, 3, NULL), 0);
	assert_int_equal(store_secret_delete(f->s, test_caller(), "db"), 0);
	assert_int_equal(store_audit_each(f->s, 0, scan_rec, &sc), 0);
	assert_int_equal(sc.records, 3);
	assert_int_equal(sc.secret_ops, 2); /* set and rm of db */
	assert_false(sc.leaked);
	assert_int_equal(store_audit_verify(f->s, &checked, &bad, why), 0);

	assert_int_equal(acl_secret_each(f->s, add_name, &sc), 0);
	assert_string_equal(sc.names, "api");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, fx_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_acl_secret_write_read_round_trip),
	    T(test_acl_secret_write_fresh_nonce),
	    T(test_acl_secret_read_missing_enoent),
	    T(test_acl_secret_read_wrong_key_eio),
	    T(test_acl_secret_read_missing_key_enokey),
	    T(test_acl_secret_read_flipped_byte_eio),
	    T(test_acl_secret_read_moved_value_eio),
	    T(test_acl_secret_write_over_cap_efbig),
	    T(test_acl_secret_journaled_by_name),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
