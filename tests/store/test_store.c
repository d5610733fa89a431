/*
 * tests/store/test_store.c - creating, opening and locking a store; names;
 * options.
 */
#include "helpers.h"
#include "store_i.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_store_init_idempotent(void **state)
{
	struct fx *f = *state;
	struct store *s;
	char id[33];

	assert_int_equal(store_init(f->store_dir, &f->opt), 0);
	assert_true(store_exists(f->store_dir));
	assert_int_equal(store_open(f->store_dir, &f->opt, &s), 0);
	assert_int_equal(strlen(store_id(s)), 32);
	snprintf(id, sizeof(id), "%s", store_id(s));
	assert_int_equal(put_buf(s, "a", "x", "hello", 5, NULL, NULL), 0);
	store_close(s);

	/* A second init leaves the store (and its content) as it is. */
	assert_int_equal(store_init(f->store_dir, &f->opt), 0);
	assert_int_equal(store_init(f->store_dir, NULL), 0);
	assert_int_equal(store_open(f->store_dir, &f->opt, &s), 0);
	assert_string_equal(store_id(s), id);
	assert_int_equal(
	    store_version_get(s, "a", 1, &(struct store_version){0}), 0);
	store_close(s);
}

static void test_store_init_creates_missing_dir(void **state)
{
	struct fx *f = *state;
	struct store *s;

	assert_false(store_exists(f->store_dir));
	assert_int_equal(store_init(f->store_dir, NULL), 0);
	assert_true(store_exists(f->store_dir));
	assert_int_equal(store_open(f->store_dir, NULL, &s), 0);
	assert_string_not_equal(store_dir(s), "");
	store_close(s);
}

static void test_store_init_foreign_dir_eexist(void **state)
{
	struct fx *f = *state;
	char *file = path_join(f->dir, "notes.txt");

	assert_int_equal(write_file(file, "hello\n", 6), 0);
	assert_int_equal(store_init(f->dir, NULL), -EEXIST);
	assert_false(store_exists(f->dir));
	/* Nothing of ours was left behind. */
	assert_int_equal(access(file, F_OK), 0);
	free(file);
}

static void test_store_open_missing_enoent(void **state)
{
	struct fx *f = *state;
	struct store *s = NULL;

	assert_int_equal(store_open(f->store_dir, NULL, &s), -ENOENT);
	assert_null(s);
}

static void test_store_open_empty_einval(void **state)
{
	struct fx *f = *state;
	struct store *s = NULL;

	assert_int_equal(store_open(f->dir, NULL, &s), -EINVAL);
	assert_null(s);
	assert_false(store_exists(f->dir));
}

static void test_store_open_foreign_einval(void **state)
{
	struct fx *f = *state;
	char *file = path_join(f->dir, "data.csv");
	struct store *s = NULL;

	assert_int_equal(write_file(file, "a,b\n1,2\n", 8), 0);
	assert_int_equal(store_open(f->dir, NULL, &s), -EINVAL);
	assert_null(s);
	free(file);
}

static void test_store_open_twice_ebusy(void **state)
{
	struct fx *f = *state;
	struct store *s2 = NULL;
	char pid[32];

	/* f->s holds the store; a second open (a new fd) must be refused. */
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	log_capture_start();
	assert_int_equal(store_open(f->store_dir, &f->opt, &s2), -EBUSY);
	assert_null(s2);
	assert_true(log_captured(pid));
	log_capture_stop();

	/* The refused open did not disturb the first. */
	assert_int_equal(put_buf(f->s, "a", "x", "abc", 3, NULL, NULL), 0);
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(store_open(f->store_dir, &f->opt, &f->s), 0);
	assert_int_equal(
	    store_version_get(f->s, "a", 1, &(struct store_version){0}), 0);
}

static void test_store_lock_holder_pid(void **state)
{
	struct fx *f = *state;

	assert_int_equal(store_lock_holder(f->store_dir), getpid());
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(store_lock_holder(f->store_dir), 0);
	assert_int_equal(store_open(f->store_dir, &f->opt, &f->s), 0);
	assert_int_equal(store_lock_holder(f->store_dir), getpid());
}

/* Rewrites meta/format behind the store's back (the store is closed). */
static void set_db_format(const char *store_dir, uint32_t v)
{
	char *dbdir = path_join(store_dir, "db");
	uint8_t be[4] = {v >> 24, v >> 16, v >> 8, v};
	struct db *db;

	assert_int_equal(db_open(dbdir, false, false, &db), 0);
	assert_int_equal(db_put(db, CF_META, "format", 6, be, 4), 0);
	db_close(db);
	free(dbdir);
}

static void test_store_open_newer_format_einval(void **state)
{
	struct fx *f = *state;
	struct store *s = NULL;

	store_close(f->s);
	f->s = NULL;
	set_db_format(f->store_dir, STORE_FORMAT_VERSION + 1);
	log_capture_start();
	assert_int_equal(store_open(f->store_dir, &f->opt, &s), -EINVAL);
	assert_null(s);
	log_capture_stop();
	/* The refusal released the lock. */
	assert_int_equal(store_lock_holder(f->store_dir), 0);

	/* Put back, it opens again: nothing else was touched. */
	set_db_format(f->store_dir, STORE_FORMAT_VERSION);
	assert_int_equal(store_open(f->store_dir, &f->opt, &f->s), 0);
}

static void test_store_init_newer_format_einval(void **state)
{
	struct fx *f = *state;

	store_close(f->s);
	f->s = NULL;
	set_db_format(f->store_dir, STORE_FORMAT_VERSION + 1);
	assert_int_equal(store_init(f->store_dir, &f->opt), -EINVAL);
}

static void test_store_name_check_rules(void **state)
{
	char name[STORE_NAME_MAX + 2];

	(void)state;
	assert_int_equal(store_name_check("a", 1), 0);
	assert_int_equal(store_name_check("model.bin", 9), 0);
	assert_int_equal(store_name_check("...", 3), 0);
	assert_int_equal(store_name_check("a b-c_d+e", 9), 0);
	assert_int_equal(store_name_check("\xc3\xa9t\xc3\xa9", 5), 0);

	assert_int_equal(store_name_check("", 0), -EINVAL);
	assert_int_equal(store_name_check(".", 1), -EINVAL);
	assert_int_equal(store_name_check("..", 2), -EINVAL);
	assert_int_equal(store_name_check("a/b", 3), -EINVAL);
	assert_int_equal(store_name_check("/", 1), -EINVAL);
	assert_int_equal(store_name_check("a\0b", 3), -EINVAL);
	assert_int_equal(store_name_check("a\nb", 3), -EINVAL);
	assert_int_equal(store_name_check("\x01", 1), -EINVAL);
	assert_int_equal(store_name_check("tab\t", 4), -EINVAL);
	assert_int_equal(store_name_check("del\x7f", 4), -EINVAL);

	memset(name, 'n', sizeof(name));
	name[STORE_NAME_MAX + 1] = '\0';
	assert_int_equal(store_name_check(name, STORE_NAME_MAX + 1),
			 -ENAMETOOLONG);
	name[STORE_NAME_MAX] = '\0';
	assert_int_equal(store_name_check(name, STORE_NAME_MAX), 0);
}

static void test_store_options_check_ranges(void **state)
{
	struct store_options o;

	(void)state;
	store_options_init(&o);
	assert_int_equal(o.chunk_min, 64 * KiB);
	assert_int_equal(o.chunk_avg, 256 * KiB);
	assert_int_equal(o.chunk_max, 1 * MiB);
	assert_int_equal(o.zstd_level, 3);
	assert_int_equal(o.min_saving_pct, 5);
	assert_int_equal(store_options_check(&o), 0);

	fx_small_options(&o);
	assert_int_equal(store_options_check(&o), 0);

	store_options_init(&o);
	o.chunk_min = 2 * KiB; /* under 4 KiB */
	assert_int_equal(store_options_check(&o), -EINVAL);

	store_options_init(&o);
	o.chunk_max = 32 * MiB; /* over 16 MiB */
	assert_int_equal(store_options_check(&o), -EINVAL);

	store_options_init(&o);
	o.chunk_avg = 200 * KiB; /* not a power of two */
	assert_int_equal(store_options_check(&o), -EINVAL);

	store_options_init(&o);
	o.chunk_min = 512 * KiB; /* min > avg */
	assert_int_equal(store_options_check(&o), -EINVAL);

	store_options_init(&o);
	o.chunk_avg = 2 * MiB; /* avg > max */
	assert_int_equal(store_options_check(&o), -EINVAL);

	store_options_init(&o);
	o.zstd_level = 20;
	assert_int_equal(store_options_check(&o), -EINVAL);
	o.zstd_level = 0;
	assert_int_equal(store_options_check(&o), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_store_init_idempotent,
					    fx_setup_dir, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_store_init_creates_missing_dir,
					    fx_setup_dir, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_store_init_foreign_dir_eexist,
					    fx_setup_dir, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_store_open_missing_enoent,
					    fx_setup_dir, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_store_open_empty_einval,
					    fx_setup_dir, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_store_open_foreign_einval,
					    fx_setup_dir, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_store_open_twice_ebusy,
					    fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_store_lock_holder_pid,
					    fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_store_open_newer_format_einval,
					    fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_store_init_newer_format_einval,
					    fx_setup, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_store_name_check_rules,
					    fx_setup_dir, fx_teardown),
	    cmocka_unit_test_setup_teardown(test_store_options_check_ranges,
					    fx_setup_dir, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
