/*
 * tests/acl/test_redact.c - acl_redact (acl/redact.c) on real stores:
 * every version of every secret is replaced by a marker naming it, raw
 * and as a JSON string escapes it, the longest value first, however often
 * it appears; short values and
 * text without a value pass unchanged; the set follows changes of the
 * secrets; the log filter (acl_redact_log) cleans log lines; a value
 * that cannot be opened fails the call instead of letting text through.
 */
#include "helpers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "acl.h"

static int setup(void **state)
{
	unsetenv("ARTIFACTFS_KEY_DIR");
	return fx_setup(state);
}

static void put(struct store *s, const char *name, const char *val)
{
	assert_int_equal(
	    acl_secret_write(s, test_caller(), name, val, strlen(val), NULL),
	    0);
}

/* acl_redact of text, compared with want. */
static void assert_redacted(struct store *s, const char *text, const char *want)
{
	char *out = NULL;
	size_t len = 0;

	assert_int_equal(acl_redact(s, text, strlen(text), &out, &len, NULL),
			 0);
	assert_string_equal(out, want);
	assert_int_equal(len, strlen(want));
	free(out);
}

static void test_acl_redact_replaces_every_value(void **state)
{
	struct fx *f = *state;
	const char in[] = "TOKEN=s3cr3t-v4lue\nOTHER=x s3cr3t-v4lue y\n"
			  "DB=hunter22\nSHORT=abc\n";
	char *out;
	size_t len;
	unsigned hits;

	put(f->s, "tok", "s3cr3t-v4lue");
	put(f->s, "db", "hunter22");
	put(f->s, "tiny", "abc");
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

static void test_acl_redact_no_secrets_copies(void **state)
{
	struct fx *f = *state;

	assert_redacted(f->s, "", "");
	assert_redacted(f->s, "nothing to hide", "nothing to hide");
}

static void test_acl_redact_replaces_every_version(void **state)
{
	struct fx *f = *state;

	put(f->s, "db", "hunter2-old");
	put(f->s, "db", "hunter2-new");
	put(f->s, "api", "tok_ABCDEF");
	assert_redacted(f->s, "pw=hunter2-new old=hunter2-old",
			"pw=[secret db] old=[secret db]");
	assert_redacted(f->s, "tok_ABCDEFtok_ABCDEF|x",
			"[secret api][secret api]|x");
	/* Text around and near a value stays. */
	assert_redacted(f->s, "hunter2-ne", "hunter2-ne");
}

static void test_acl_redact_longest_first(void **state)
{
	struct fx *f = *state;

	put(f->s, "short", "abcd");
	put(f->s, "long", "xxabcdyy");
	assert_redacted(f->s, "1 xxabcdyy 2 abcd",
			"1 [secret long] 2 [secret short]");
}

static void test_acl_redact_short_values_left(void **state)
{
	struct fx *f = *state;

	put(f->s, "pin", "123");
	put(f->s, "empty", "");
	assert_redacted(f->s, "pin 123 ok", "pin 123 ok");
}

static void test_acl_redact_json_escaped(void **state)
{
	struct fx *f = *state;

	put(f->s, "q\"uo\\ted", "pa\"ss\nwd");
	assert_redacted(f->s, "{\"env\":\"X=pa\\\"ss\\nwd\"}",
			"{\"env\":\"X=[secret q_uo_ted]\"}");
}

static void test_acl_redact_follows_changes(void **state)
{
	struct fx *f = *state;

	assert_redacted(f->s, "later-value", "later-value");
	put(f->s, "late", "later-value");
	assert_redacted(f->s, "later-value", "[secret late]");
	assert_int_equal(store_secret_delete(f->s, test_caller(), "late"), 0);
	assert_redacted(f->s, "later-value", "later-value");
}

static void test_acl_redact_binary_and_nul(void **state)
{
	struct fx *f = *state;
	const char val[] = {'a', 0, 'b', 'c', 'd'};
	const char in[] = {'<', 'a', 0, 'b', 'c', 'd', '>'};
	char *out = NULL;
	size_t len = 0;

	assert_int_equal(acl_secret_write(f->s, test_caller(), "bin", val,
					  sizeof(val), NULL),
			 0);
	assert_int_equal(acl_redact(f->s, in, sizeof(in), &out, &len, NULL), 0);
	assert_string_equal(out, "<[secret bin]>");
	free(out);
}

static void test_acl_redact_log_filter(void **state)
{
	struct fx *f = *state;

	put(f->s, "db", "s3cr3t-in-a-log");
	assert_int_equal(acl_redact_log(f->s), 0);
	log_capture_start();
	store_log(STORE_LOG_ERR, "failed with s3cr3t-in-a-log inside");
	assert_true(log_captured("failed with [secret db] inside"));
	assert_false(log_captured("s3cr3t"));
	/* A value set after the filter went in is filtered too. */
	put(f->s, "db2", "another-0ne");
	store_log(STORE_LOG_ERR, "and another-0ne");
	assert_false(log_captured("another-0ne"));
	log_capture_stop();
	assert_int_equal(acl_redact_log(NULL), 0);
	log_capture_start();
	store_log(STORE_LOG_ERR, "now another-0ne");
	assert_true(log_captured("now another-0ne"));
	log_capture_stop();
}

static int find_path(void *arg, const struct store_audit_entry *e)
{
	char *want = arg;

	if (!strcmp(e->op, "mkdir") && !strcmp(e->path, want))
		want[0] = '\0'; /* found */
	return 0;
}

static void test_acl_redact_log_journal_paths(void **state)
{
	struct fx *f = *state;
	char want[] = "/x/[secret db]/y";

	assert_int_equal(acl_journal_create(f->s), 0);
	assert_int_equal(acl_journal_open(f->s), 0);
	put(f->s, "db", "typed-in-a-path");
	assert_int_equal(acl_redact_log(f->s), 0);
	assert_int_equal(store_audit_record(f->s, test_caller(), "mkdir",
					    "/x/typed-in-a-path/y", NULL, 0,
					    EPERM),
			 0);
	assert_int_equal(store_audit_each(f->s, 0, find_path, want), 0);
	assert_string_equal(want, "");
	assert_int_equal(acl_redact_log(NULL), 0);
}

static void test_acl_redact_unopenable_fails_closed(void **state)
{
	struct fx *f = *state;
	char *kf = NULL, *out = NULL;
	size_t len = 0;

	put(f->s, "db", "cannot-be-read");
	assert_true(asprintf(&kf, "%s.keys/%s.secret.key", f->store_dir,
			     store_id(f->s)) > 0);
	assert_int_equal(unlink(kf), 0);
	log_capture_start();
	assert_int_equal(
	    acl_redact(f->s, "x cannot-be-read", 16, &out, &len, NULL),
	    -ENOKEY);
	assert_null(out);
	log_capture_stop();
	free(kf);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, fx_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_acl_redact_replaces_every_value),
	    T(test_acl_redact_no_secrets_same_text),
	    T(test_acl_redact_no_secrets_copies),
	    T(test_acl_redact_replaces_every_version),
	    T(test_acl_redact_longest_first),
	    T(test_acl_redact_short_values_left),
	    T(test_acl_redact_json_escaped),
	    T(test_acl_redact_follows_changes),
	    T(test_acl_redact_binary_and_nul),
	    T(test_acl_redact_log_filter),
	    T(test_acl_redact_log_journal_paths),
	    T(test_acl_redact_unopenable_fails_closed),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
