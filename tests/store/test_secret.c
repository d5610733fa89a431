/*
 * tests/store/test_secret.c - the secrets column family (store/secret.c)
 * and the AES-256-GCM primitive acl/ seals values with (store/aead.c).
 *
 * The store keeps a secret as opaque bytes: what goes in comes out, a
 * change is journaled by name and never by value, and a bad name or an
 * oversized value is refused before anything is written.
 */
#include "helpers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t jkey[] = "k3y-0f-th3-aud1t0r-n0t-1n-st0re!";

static void assert_secret(struct store *s, const char *name, const void *want,
			  size_t want_len)
{
	void *val = NULL;
	size_t len = 0;

	assert_int_equal(store_secret_get(s, name, 0, &val, &len, NULL), 0);
	assert_int_equal(len, want_len);
	if (want_len)
		assert_memory_equal(val, want, want_len);
	free(val);
}

static void test_store_secret_set_get_round_trip(void **state)
{
	struct fx *f = *state;
	const uint8_t bin[] = {0, 1, 2, 0, 0xff, '\n', 0};
	uint8_t *big = rand_buf(7, STORE_SECRET_MAX);

	assert_int_equal(store_secret_set(f->s, test_caller(), "bin", bin,
					  sizeof(bin), NULL),
			 0);
	assert_int_equal(
	    store_secret_set(f->s, test_caller(), "empty", "", 0, NULL), 0);
	assert_int_equal(store_secret_set(f->s, test_caller(), "big", big,
					  STORE_SECRET_MAX, NULL),
			 0);
	assert_secret(f->s, "bin", bin, sizeof(bin));
	assert_secret(f->s, "empty", "", 0);
	assert_secret(f->s, "big", big, STORE_SECRET_MAX);

	/* A second set replaces the value; both survive a reopen. */
	assert_int_equal(
	    store_secret_set(f->s, test_caller(), "bin", "v2", 2, NULL), 0);
	fx_reopen(f);
	assert_secret(f->s, "bin", "v2", 2);
	assert_secret(f->s, "big", big, STORE_SECRET_MAX);
	free(big);
}

static void test_store_secret_get_missing_enoent(void **state)
{
	struct fx *f = *state;
	void *val = NULL;
	size_t len = 0;

	assert_int_equal(store_secret_get(f->s, "nope", 0, &val, &len, NULL),
			 -ENOENT);
	assert_null(val);
	assert_int_equal(store_secret_delete(f->s, test_caller(), "nope"),
			 -ENOENT);
}

static void test_store_secret_delete_removes(void **state)
{
	struct fx *f = *state;
	void *val = NULL;
	size_t len;

	assert_int_equal(
	    store_secret_set(f->s, test_caller(), "a", "x", 1, NULL), 0);
	assert_int_equal(
	    store_secret_set(f->s, test_caller(), "b", "y", 1, NULL), 0);
	assert_int_equal(store_secret_delete(f->s, test_caller(), "a"), 0);
	assert_int_equal(store_secret_get(f->s, "a", 0, &val, &len, NULL),
			 -ENOENT);
	assert_int_equal(store_secret_delete(f->s, test_caller(), "a"),
			 -ENOENT);
	assert_secret(f->s, "b", "y", 1);
}

struct names {
	char list[256];
	int stop_after; /* 0: never */
	int n;
};

static int add_name(void *arg, const char *name)
{
	struct names *nm = arg;
	size_t used = strlen(nm->list);

	snprintf(nm->list + used, sizeof(nm->list) - used, "%s%s",
		 used ? "," : "", name);
	nm->n++;
	return nm->stop_after && nm->n == nm->stop_after ? 42 : 0;
}

static void test_store_secret_each_in_byte_order(void **state)
{
	struct fx *f = *state;
	struct names nm = {"", 0, 0};
	const char *names[] = {"zeta", "Alpha", "db-password", "a.b", "a"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_int_equal(store_secret_set(f->s, test_caller(), names[i],
						  "v", 1, NULL),
				 0);
	assert_int_equal(store_secret_each(f->s, add_name, &nm), 0);
	assert_string_equal(nm.list, "Alpha,a,a.b,db-password,zeta");

	/* A non-zero return stops the walk and comes back. */
	memset(&nm, 0, sizeof(nm));
	nm.stop_after = 2;
	assert_int_equal(store_secret_each(f->s, add_name, &nm), 42);
	assert_string_equal(nm.list, "Alpha,a");
}

static void test_store_secret_set_bad_input(void **state)
{
	struct fx *f = *state;
	char longname[STORE_NAME_MAX + 2];
	const char *bad[] = {"", ".", "..", "a/b", "tab\there", "nl\n"};
	struct names nm = {"", 0, 0};
	uint8_t *big = rand_buf(8, STORE_SECRET_MAX + 1);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(
		    store_secret_set(f->s, test_caller(), bad[i], "v", 1, NULL),
		    -EINVAL);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(
	    store_secret_set(f->s, test_caller(), longname, "v", 1, NULL),
	    -ENAMETOOLONG);
	log_capture_start();
	assert_int_equal(store_secret_set(f->s, test_caller(), "big", big,
					  STORE_SECRET_MAX + 1, NULL),
			 -EFBIG);
	free(big);
	assert_true(log_captured("secret big"));
	log_capture_stop();

	/* Nothing was written. */
	assert_int_equal(store_secret_each(f->s, add_name, &nm), 0);
	assert_int_equal(nm.n, 0);
}

struct recs {
	int n;
	char op[8][64];
	char path[8][128];
	char digest[8][STORE_DIGEST_STR_LEN];
	bool leaked; /* a record holds the value */
};

static const char value[] = "correct horse battery staple";

static int collect(void *arg, const struct store_audit_entry *e)
{
	struct recs *r = arg;

	if (strstr(e->path, value) || strstr(e->op, value) ||
	    strstr(e->user, value))
		r->leaked = true;
	if (r->n < 8) {
		snprintf(r->op[r->n], sizeof(r->op[0]), "%.63s", e->op);
		snprintf(r->path[r->n], sizeof(r->path[0]), "%.127s", e->path);
		snprintf(r->digest[r->n], sizeof(r->digest[0]), "%s",
			 e->digest);
	}
	r->n++;
	return 0;
}

static void test_store_secret_changes_are_journaled(void **state)
{
	struct fx *f = *state;
	struct recs r = {0};
	uint64_t checked, bad;
	char why[128];

	assert_int_equal(store_audit_enable(f->s, jkey, sizeof(jkey) - 1), 0);
	assert_int_equal(store_secret_set(f->s, test_caller(), "db", value,
					  strlen(value), NULL),
			 0);
	assert_int_equal(store_secret_delete(f->s, test_caller(), "db"), 0);
	/* A refused change journals nothing. */
	assert_int_equal(store_secret_delete(f->s, test_caller(), "db"),
			 -ENOENT);
	assert_int_equal(
	    store_secret_set(f->s, test_caller(), "a/b", value, 3, NULL),
	    -EINVAL);

	assert_int_equal(store_audit_each(f->s, 0, collect, &r), 0);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.op[0], "secret.set");
	assert_string_equal(r.path[0], "/secrets/db");
	assert_string_equal(r.digest[0], "");
	assert_string_equal(r.op[1], "secret.rm");
	assert_string_equal(r.path[1], "/secrets/db");
	assert_false(r.leaked);
	assert_int_equal(store_audit_verify(f->s, &checked, &bad, why), 0);
	assert_int_equal(checked, 2);
}

/* ------------------------------------------------------------ aead.c */

static const uint8_t akey[STORE_AEAD_KEY_LEN] =
    "0123456789abcdef0123456789abcde";
static const uint8_t aiv[STORE_AEAD_IV_LEN] = "nonce-12byt";

static void test_store_aead_round_trip(void **state)
{
	uint8_t *pt = rand_buf(9, 5000), ct[5000], back[5000];
	uint8_t tag[STORE_AEAD_TAG_LEN];
	size_t sizes[] = {0, 1, 15, 16, 17, 5000};

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];

		assert_int_equal(
		    store_aead_encrypt(akey, aiv, "name", 4, pt, n, ct, tag),
		    0);
		if (n >= 16)
			assert_memory_not_equal(ct, pt, n);
		assert_int_equal(
		    store_aead_decrypt(akey, aiv, "name", 4, ct, n, back, tag),
		    0);
		if (n)
			assert_memory_equal(back, pt, n);
	}
	free(pt);
}

static void test_store_aead_tamper_ebadmsg(void **state)
{
	uint8_t pt[64], ct[64], back[64], tag[STORE_AEAD_TAG_LEN], t2[16];
	uint8_t key2[STORE_AEAD_KEY_LEN], iv2[STORE_AEAD_IV_LEN];

	(void)state;
	memset(pt, 'p', sizeof(pt));
	assert_int_equal(
	    store_aead_encrypt(akey, aiv, "db", 2, pt, sizeof(pt), ct, tag), 0);
	/* Each flipped ciphertext byte fails, and nothing is handed out. */
	for (size_t i = 0; i < sizeof(ct); i += 7) {
		ct[i] ^= 0x01;
		memset(back, 'z', sizeof(back));
		assert_int_equal(store_aead_decrypt(akey, aiv, "db", 2, ct,
						    sizeof(ct), back, tag),
				 -EBADMSG);
		for (size_t j = 0; j < sizeof(back); j++)
			assert_int_equal(back[j], 0);
		ct[i] ^= 0x01;
	}
	memcpy(t2, tag, sizeof(t2));
	t2[15] ^= 0x80;
	assert_int_equal(
	    store_aead_decrypt(akey, aiv, "db", 2, ct, sizeof(ct), back, t2),
	    -EBADMSG);
	memcpy(key2, akey, sizeof(key2));
	key2[0] ^= 1;
	assert_int_equal(
	    store_aead_decrypt(key2, aiv, "db", 2, ct, sizeof(ct), back, tag),
	    -EBADMSG);
	memcpy(iv2, aiv, sizeof(iv2));
	iv2[11] ^= 1;
	assert_int_equal(
	    store_aead_decrypt(akey, iv2, "db", 2, ct, sizeof(ct), back, tag),
	    -EBADMSG);
	/* Other associated data: a value moved to another name. */
	assert_int_equal(
	    store_aead_decrypt(akey, aiv, "dc", 2, ct, sizeof(ct), back, tag),
	    -EBADMSG);
	assert_int_equal(
	    store_aead_decrypt(akey, aiv, "db", 2, ct, sizeof(ct), back, tag),
	    0);
	assert_memory_equal(back, pt, sizeof(pt));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_store_secret_set_get_round_trip),
	    T(test_store_secret_get_missing_enoent),
	    T(test_store_secret_delete_removes),
	    T(test_store_secret_each_in_byte_order),
	    T(test_store_secret_set_bad_input),
	    T(test_store_secret_changes_are_journaled),
	    cmocka_unit_test(test_store_aead_round_trip),
	    cmocka_unit_test(test_store_aead_tamper_ebadmsg),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
