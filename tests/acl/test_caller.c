/*
 * tests/acl/test_caller.c - the caller value of a request
 * (acl/caller.c): the name from the password database (root, uid 0,
 * exists everywhere), the uid in decimal for a uid it does not know, the
 * groups copied.
 */
#include "helpers.h"

#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"

/* A uid no password database here knows (skips the case otherwise). */
#define UNKNOWN_UID 4000001u

static void test_acl_caller_make_root_named(void **state)
{
	struct store_caller c;

	(void)state;
	acl_caller_make(0, 0, 4242, NULL, 0, &c);
	assert_int_equal(c.uid, 0);
	assert_int_equal(c.gid, 0);
	assert_int_equal(c.pid, 4242);
	assert_int_equal(c.ngroups, 0);
	assert_string_equal(c.user, "root");
	/* A second time (from the cache) the same. */
	acl_caller_make(0, 5, 7, NULL, 0, &c);
	assert_string_equal(c.user, "root");
	assert_int_equal(c.gid, 5);
	assert_int_equal(c.pid, 7);
}

static void test_acl_caller_make_unknown_uid_decimal(void **state)
{
	struct store_caller c;

	(void)state;
	if (getpwuid(UNKNOWN_UID))
		skip();
	acl_caller_make(UNKNOWN_UID, 1, 2, NULL, 0, &c);
	assert_int_equal(c.uid, UNKNOWN_UID);
	assert_string_equal(c.user, "4000001");
	acl_caller_make(UNKNOWN_UID, 1, 2, NULL, 0, &c);
	assert_string_equal(c.user, "4000001");
}

static void test_acl_caller_make_groups_copied(void **state)
{
	size_t n = STORE_CALLER_GROUPS_MAX + 3;
	gid_t sup[] = {20, 700, 27}, *many = calloc(n, sizeof(*many));
	struct store_caller c;

	(void)state;
	assert_non_null(many);
	acl_caller_make(0, 0, 1, sup, 3, &c);
	assert_int_equal(c.ngroups, 3);
	assert_memory_equal(c.groups, sup, sizeof(sup));
	sup[1] = 1; /* the caller keeps its own copy */
	assert_int_equal(c.groups[1], 700);

	for (size_t i = 0; i < n; i++)
		many[i] = (gid_t)(100 + i);
	acl_caller_make(0, 0, 1, many, n, &c);
	assert_int_equal(c.ngroups, STORE_CALLER_GROUPS_MAX);
	assert_memory_equal(c.groups, many,
			    STORE_CALLER_GROUPS_MAX * sizeof(*many));
	free(many);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_acl_caller_make_root_named),
	    cmocka_unit_test(test_acl_caller_make_unknown_uid_decimal),
	    cmocka_unit_test(test_acl_caller_make_groups_copied),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
