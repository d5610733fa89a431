/*
 * tests/acl/test_rotate.c - acl_secret_rotate_key and the key's mode on
 * real stores: every version of every secret opens as before under the
 * new key and no longer under the old one; one journal record; a
 * rotation cut short (before or after its commit) is finished or undone
 * by the next; a key file others may read is refused with a message.
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

/* <store>.keys/<id><suffix>, malloc'd. */
static char *key_file(struct fx *f, const char *suffix)
{
	char *p;

	assert_true(asprintf(&p, "%s.keys/%s%s", f->store_dir, store_id(f->s),
			     suffix) > 0);
	return p;
}

static void slurp(const char *path, uint8_t out[32])
{
	FILE *fp = fopen(path, "rb");

	assert_non_null(fp);
	assert_int_equal(fread(out, 1, 32, fp), 32);
	fclose(fp);
}

static void spill(const char *path, const uint8_t key[32])
{
	FILE *fp;

	unlink(path);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(key, 1, 32, fp), 32);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, 0600), 0);
}

static void assert_value(struct store *s, const char *name, uint32_t version,
			 const char *want)
{
	uint8_t *val = NULL;
	size_t len = 0;
	uint32_t got = 0;

	assert_int_equal(acl_secret_read(s, name, version, &val, &len, &got),
			 0);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(val, want, len);
	if (version)
		assert_int_equal(got, version);
	free(val);
}

/* 10 secrets of 3 versions each: "s<i>" = "value-<i>-v<k>". */
static void fill(struct store *s)
{
	char name[16], val[32];
	uint32_t v;

	for (int i = 0; i < 10; i++)
		for (int k = 1; k <= 3; k++) {
			snprintf(name, sizeof(name), "s%d", i);
			snprintf(val, sizeof(val), "value-%d-v%d", i, k);
			assert_int_equal(acl_secret_write(s, test_caller(),
							  name, val,
							  strlen(val), &v),
					 0);
			assert_int_equal(v, (uint32_t)k);
		}
}

static void assert_all(struct store *s)
{
	char name[16], val[32];

	for (int i = 0; i < 10; i++)
		for (int k = 1; k <= 3; k++) {
			snprintf(name, sizeof(name), "s%d", i);
			snprintf(val, sizeof(val), "value-%d-v%d", i, k);
			assert_value(s, name, (uint32_t)k, val);
		}
	assert_value(s, "s0", 0, "value-0-v3");
}

static void test_acl_secret_versions_addressable(void **state)
{
	struct fx *f = *state;
	uint8_t *val = NULL;
	size_t len;

	fill(f->s);
	assert_all(f->s);
	assert_int_equal(acl_secret_read(f->s, "s0", 4, &val, &len, NULL),
			 -ENOENT);
	fx_reopen(f);
	assert_all(f->s);
	assert_int_equal(store_secret_delete(f->s, test_caller(), "s1"), 0);
	assert_int_equal(acl_secret_read(f->s, "s1", 1, &val, &len, NULL),
			 -ENOENT);
	assert_int_equal(acl_secret_read(f->s, "s1", 0, &val, &len, NULL),
			 -ENOENT);
}

static void test_acl_secret_rotate_key_keeps_values(void **state)
{
	struct fx *f = *state;
	char *kf = key_file(f, ".secret.key");
	uint8_t before[32], after[32], *val = NULL;
	uint64_t n = 0;
	size_t len;

	fill(f->s);
	slurp(kf, before);
	assert_int_equal(acl_secret_rotate_key(f->s, test_caller(), &n), 0);
	assert_int_equal(n, 30);
	slurp(kf, after);
	assert_memory_not_equal(before, after, 32);
	assert_int_equal(access(kf, F_OK), 0);
	assert_all(f->s);
	fx_reopen(f);
	assert_all(f->s);
	/* The old key opens nothing any more. */
	spill(kf, before);
	log_capture_start();
	assert_int_equal(acl_secret_read(f->s, "s0", 0, &val, &len, NULL),
			 -EIO);
	log_capture_stop();
	spill(kf, after);
	assert_all(f->s);
	free(kf);
}

static int count_op(void *arg, const struct store_audit_entry *r)
{
	int *n = arg;

	if (!strcmp(r->op, "secret.rotate-key") && !strcmp(r->path, "/secrets"))
		(*n)++;
	return 0;
}

static void test_acl_secret_rotate_key_journaled(void **state)
{
	struct fx *f = *state;
	int n = 0;

	assert_int_equal(acl_journal_create(f->s), 0);
	assert_int_equal(acl_journal_open(f->s), 0);
	fill(f->s);
	assert_int_equal(acl_secret_rotate_key(f->s, test_caller(), NULL), 0);
	assert_int_equal(store_audit_each(f->s, 0, count_op, &n), 0);
	assert_int_equal(n, 1);
}

/* The commit happened, the rename did not: the values are under .next. */
static void test_acl_secret_rotate_key_cut_after_commit(void **state)
{
	struct fx *f = *state;
	char *kf = key_file(f, ".secret.key"),
	     *nf = key_file(f, ".secret.key.next");
	uint8_t k0[32], k1[32];

	fill(f->s);
	slurp(kf, k0);
	assert_int_equal(acl_secret_rotate_key(f->s, test_caller(), NULL), 0);
	slurp(kf, k1);
	spill(nf, k1);
	spill(kf, k0);
	assert_all(f->s); /* read through .next */
	assert_int_equal(acl_secret_rotate_key(f->s, test_caller(), NULL), 0);
	assert_int_equal(access(nf, F_OK), -1);
	assert_all(f->s);
	free(kf);
	free(nf);
}

/* Cut before the commit: .next is a stale key, removed by the next. */
static void test_acl_secret_rotate_key_cut_before_commit(void **state)
{
	struct fx *f = *state;
	char *nf = key_file(f, ".secret.key.next");
	uint8_t junk[32];

	fill(f->s);
	memset(junk, 0x5a, sizeof(junk));
	spill(nf, junk);
	assert_all(f->s);
	assert_int_equal(acl_secret_rotate_key(f->s, test_caller(), NULL), 0);
	assert_int_equal(access(nf, F_OK), -1);
	assert_all(f->s);
	free(nf);
}

static void test_acl_secret_key_mode_refused(void **state)
{
	struct fx *f = *state;
	char *kf = key_file(f, ".secret.key");
	uint8_t *val = NULL;
	size_t len;

	fill(f->s);
	assert_int_equal(chmod(kf, 0640), 0);
	log_capture_start();
	assert_int_equal(acl_secret_read(f->s, "s0", 0, &val, &len, NULL),
			 -EPERM);
	assert_null(val);
	assert_true(log_captured("mode 0640"));
	assert_true(log_captured("chmod 600"));
	assert_int_equal(acl_secret_rotate_key(f->s, test_caller(), NULL),
			 -EPERM);
	log_capture_stop();
	assert_int_equal(chmod(kf, 0600), 0);
	assert_all(f->s);
	free(kf);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, fx_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_acl_secret_versions_addressable),
	    T(test_acl_secret_rotate_key_keeps_values),
	    T(test_acl_secret_rotate_key_journaled),
	    T(test_acl_secret_rotate_key_cut_after_commit),
	    T(test_acl_secret_rotate_key_cut_before_commit),
	    T(test_acl_secret_key_mode_refused),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
