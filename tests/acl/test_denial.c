/*
 * tests/acl/test_denial.c - refusals in the journal, rate-limited per
 * user (acl/denial.c): a burst is journaled whole, what comes beyond it
 * is counted and the count journaled before the user's next journaled
 * refusal, another user is not held back by the first.
 */
#include "helpers.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "acl.h"

static const uint8_t jkey[] = "d3n14l-k3y-f0r-th3-r4t3-t3st-0k!";

static int setup(void **state)
{
	struct fx *f;

	if (fx_setup(state))
		return -1;
	f = *state;
	return store_audit_enable(f->s, jkey, sizeof(jkey) - 1) ? -1 : 0;
}

struct tally {
	uid_t uid;
	uint64_t denied, suppressed_records, suppressed_count;
};

static int count(void *arg, const struct store_audit_entry *e)
{
	struct tally *t = arg;

	if (e->uid != t->uid)
		return 0;
	if (!strcmp(e->op, "denied.suppressed")) {
		t->suppressed_records++;
		t->suppressed_count += e->bytes;
		assert_int_equal(e->result, EACCES);
	} else if (!strcmp(e->op, "cat")) {
		t->denied++;
		assert_int_equal(e->result, EACCES);
	}
	return 0;
}

static struct tally tally_of(struct store *s, uid_t uid)
{
	struct tally t = {.uid = uid};

	assert_int_equal(store_audit_each(s, 0, count, &t), 0);
	return t;
}

/* 1,000 refusals at once: the burst (100) is journaled, the rest
 * counted; a second later the next refusal brings the count with it. */
static void test_acl_journal_denial_burst_then_counted(void **state)
{
	struct fx *f = *state;
	struct store_caller c;
	struct tally t;
	uint64_t checked = 0, bad = 0;
	char why[128];
	int n = 1000;

	test_caller_of(&c, 5001);
	for (int i = 0; i < n; i++)
		assert_int_equal(acl_journal_denial(f->s, &c, "cat",
						    "/artifacts/x", -EACCES),
				 0);
	t = tally_of(f->s, 5001);
	/* The burst, plus what the bucket refilled meanwhile. */
	assert_true(t.denied >= 100 && t.denied < 150);
	assert_int_equal(t.suppressed_records, 0);
	sleep(1);
	assert_int_equal(
	    acl_journal_denial(f->s, &c, "cat", "/artifacts/x", -EACCES), 0);
	t = tally_of(f->s, 5001);
	assert_int_equal(t.suppressed_records, 1);
	/* Counted, not dropped: every refusal is in the journal or in the
	 * count. */
	assert_int_equal(t.denied + t.suppressed_count, (uint64_t)n + 1);
	assert_int_equal(store_audit_verify(f->s, &checked, &bad, why), 0);
}

/* One user's flood does not hold back another's refusals. */
static void test_acl_journal_denial_per_user(void **state)
{
	struct fx *f = *state;
	struct store_caller a, b;

	test_caller_of(&a, 5002);
	test_caller_of(&b, 5003);
	for (int i = 0; i < 500; i++)
		acl_journal_denial(f->s, &a, "cat", "/artifacts/x", -EACCES);
	for (int i = 0; i < 10; i++)
		acl_journal_denial(f->s, &b, "cat", "/artifacts/y", -EACCES);
	assert_int_equal(tally_of(f->s, 5003).denied, 10);
	assert_true(tally_of(f->s, 5002).denied < 150);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		test_acl_journal_denial_burst_then_counted, setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_acl_journal_denial_per_user,
					    setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
