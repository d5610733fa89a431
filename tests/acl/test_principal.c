/*
 * tests/acl/test_principal.c - principals as people write them and as
 * listings show them (acl/principal.c), against this system's password
 * and group databases (root, uid 0 and gid 0, exists everywhere).
 */
#include "helpers.h"

#include <errno.h>
#include <string.h>

#include "acl.h"

static void test_acl_principal_parse_names_and_ids(void **state)
{
	char p[ACL_PRINCIPAL_MAX];

	(void)state;
	assert_int_equal(acl_principal_parse("root", p), 0);
	assert_string_equal(p, "u:0");
	assert_int_equal(acl_principal_parse("@root", p), 0);
	assert_string_equal(p, "g:0");
	/* A number is an id, known or not, in one spelling. */
	assert_int_equal(acl_principal_parse("4000001", p), 0);
	assert_string_equal(p, "u:4000001");
	assert_int_equal(acl_principal_parse("@0042", p), 0);
	assert_string_equal(p, "g:42");
	assert_int_equal(acl_principal_parse("4294967294", p), 0);
	assert_string_equal(p, "u:4294967294");
}

static void test_acl_principal_parse_bad_input(void **state)
{
	char p[ACL_PRINCIPAL_MAX];

	(void)state;
	assert_int_equal(acl_principal_parse("", p), -EINVAL);
	assert_int_equal(acl_principal_parse("@", p), -EINVAL);
	assert_int_equal(acl_principal_parse("4294967295", p), -EINVAL);
	assert_int_equal(acl_principal_parse("99999999999", p), -EINVAL);
	assert_int_equal(acl_principal_parse("no-such-user-afs-test", p),
			 -ENOENT);
	assert_int_equal(acl_principal_parse("@no-such-group-afs-test", p),
			 -ENOENT);
}

static void test_acl_principal_name_for_listings(void **state)
{
	char n[ACL_NAME_MAX + 1];

	(void)state;
	assert_int_equal(acl_principal_name("u:0", n), 0);
	assert_string_equal(n, "root");
	assert_int_equal(acl_principal_name("g:0", n), 0);
	assert_string_equal(n, "@root");
	assert_int_equal(acl_principal_name("u:4000001", n), 0);
	assert_string_equal(n, "4000001");
	assert_int_equal(acl_principal_name("g:4000001", n), 0);
	assert_string_equal(n, "@4000001");
	assert_int_equal(acl_principal_name("x:1", n), -EINVAL);
	assert_int_equal(acl_principal_name("u:", n), -EINVAL);
	assert_int_equal(acl_principal_name("u:12a", n), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_acl_principal_parse_names_and_ids),
	    cmocka_unit_test(test_acl_principal_parse_bad_input),
	    cmocka_unit_test(test_acl_principal_name_for_listings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
