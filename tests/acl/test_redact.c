/*
 * tests/acl/test_redact.c - acl_redact (acl/redact.c): every stored
 * secret's value is replaced by a marker naming the secret, wherever and
 * however often it appears; text without one comes back unchanged.
 */
#include "helpers.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"

static int setup(void **state)
{
	unsetenv("ARTIFACTFS_KEY_DIR");
	return fx_setup(state);
}

static void test_acl_redact_replaces_every_value(void **state)
{
	struct fx *f = *state;
	const char in[] = "TOKEN=s3cr3t-v4lue\nOTHER=x s3cr3t-v4lue y\n"
			  "DB=hunter22\nSHORT=abc\n";
	char *out;
	size_t len;
	unsigned hits;

	assert_int_equal(
	    acl_secret_write(f->s, test_caller(), "tok", "s3cr3t-v4lue", 12),
	    0);
	assert_int_equal(
	    acl_secret_write(f->s, test_caller(), "db", "hunter22", 8), 0);
	assert_int_equal(
	    acl_secret_write(f->s, test_caller(), "tiny", "abc", 3), 0);
	assert_int_equal(acl_redact(f->s, in, strlen(in), &out, &len, &hits),
			 0);
	assert_int_equal(hits, 3);
	assert_string_equal(out, "TOKEN=[secret tok]\nOTHER=x [secret tok] y\n"
				 "DB=[secret db]\nSHORT=abc\n");
	assert_int_equal(len, strlen(out));
	free(out);
}

static void test_acl_redact_no_secrets_same_text(void **state)
{
	struct fx *f = *state;
	char *out;
	size_t len;
	unsigned hits = 9;

	assert_int_equal(acl_redact(f->s, "A=1\n", 4, &out, &len, &hits), 0);
	assert_int_equal(hits, 0);
	assert_string_equal(out, "A=1\n");
	free(out);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, fx_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_acl_redact_replaces_every_value),
	    T(test_acl_redact_no_secrets_same_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
