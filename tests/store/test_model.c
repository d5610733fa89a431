/*
 * tests/store/test_model.c - artifacts, versions, refs, aliases, specs,
 * pipelines, runs and steps (store/model.c, store/put.c).
 */
#include "helpers.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Makes the next version of artifact holding the text tag. */
static uint32_t put_tag(struct store *s, const char *artifact, const char *tag)
{
	struct store_version v;

	memset(&v, 0, sizeof(v));
	assert_int_equal(
	    put_buf(s, artifact, "tag.txt", tag, strlen(tag), NULL, &v), 0);
	assert_string_equal(v.artifact, artifact);
	return v.number;
}

static void assert_ref(struct store *s, const char *artifact, const char *ref,
		       uint32_t number)
{
	struct store_version v;

	memset(&v, 0, sizeof(v));
	assert_int_equal(store_ref_resolve(s, artifact, ref, &v), 0);
	assert_string_equal(v.artifact, artifact);
	assert_int_equal(v.number, number);
}

static void test_store_put_commit_numbers_per_artifact(void **state)
{
	struct fx *f = *state;
	struct store_version v;
	struct store_stats st;

	assert_int_equal(put_tag(f->s, "a", "a1"), 1);
	assert_int_equal(put_tag(f->s, "a", "a2"), 2);
	assert_int_equal(put_tag(f->s, "b", "b1"), 1);
	assert_int_equal(put_tag(f->s, "a", "a3"), 3);
	assert_int_equal(put_tag(f->s, "b", "b2"), 2);
	/* Unchanged content still makes a new version. */
	assert_int_equal(put_tag(f->s, "b", "b2"), 3);

	assert_int_equal(store_version_get(f->s, "a", 3, &v), 0);
	assert_int_equal(v.number, 3);
	assert_int_equal(v.files, 1);
	assert_int_equal(v.size, 2);
	assert_true(v.created > 0);
	assert_string_equal(v.run, "");
	assert_version_file(f->s, &v, "tag.txt", "a3", 2);
	assert_int_equal(store_version_get(f->s, "b", 2, &v), 0);
	assert_version_file(f->s, &v, "tag.txt", "b2", 2);
	assert_int_equal(store_version_get(f->s, "a", 4, &v), -ENOENT);
	assert_int_equal(store_version_get(f->s, "a", 0, &v), -ENOENT);
	assert_int_equal(store_version_get(f->s, "zz", 1, &v), -ENOENT);

	assert_int_equal(store_stats_get(f->s, &st), 0);
	assert_int_equal(st.artifacts, 2);
	assert_int_equal(st.versions, 6);
	assert_int_equal(st.logical_bytes, 12);

	/* Numbers survive a reopen. */
	fx_reopen(f);
	assert_int_equal(put_tag(f->s, "a", "a4"), 4);
	assert_fsck_clean(f->s, NULL);
}

static void test_store_put_commit_meta_recorded(void **state)
{
	struct fx *f = *state;
	struct store_version_meta m = {.run = "train/r1/fit",
				       .created = 1700000000123456789LL};
	struct store_version v, got;

	assert_int_equal(put_buf(f->s, "m", "w", "xyz", 3, &m, &v), 0);
	assert_string_equal(v.run, "train/r1/fit");
	assert_int_equal(v.created, m.created);
	assert_int_equal(store_version_get(f->s, "m", 1, &got), 0);
	assert_string_equal(got.run, "train/r1/fit");
	assert_int_equal(got.created, m.created);
	assert_memory_equal(got.digest, v.digest, STORE_DIGEST_LEN);
}

/* A dest given twice is refused or replaced, but the version's counts
 * always describe the tree it holds. */
static void test_store_put_file_same_dest_counts_once(void **state)
{
	struct fx *f = *state;
	struct store_file a, b;
	struct store_put *p;
	struct store_version v;
	struct store_stats st;
	int rc;

	assert_int_equal(store_buf(f->s, "hello", 5, 0, &a), 0);
	assert_int_equal(store_buf(f->s, "hi", 2, 0, &b), 0);
	assert_int_equal(
	    store_put_begin(f->s, test_caller(), "x", NULL, NULL, &p), 0);
	assert_int_equal(store_put_file(p, "f", &a, 0644), 0);
	rc = store_put_file(p, "f", &b, 0644);
	assert_true(rc == 0 || rc == -EEXIST);
	assert_int_equal(store_put_commit(p, NULL, &v), 0);
	assert_int_equal(v.files, 1);
	if (rc == 0) {
		assert_version_file(f->s, &v, "f", "hi", 2);
		assert_int_equal(v.size, 2);
	} else {
		assert_version_file(f->s, &v, "f", "hello", 5);
		assert_int_equal(v.size, 5);
	}
	assert_int_equal(store_stats_get(f->s, &st), 0);
	assert_int_equal(st.logical_bytes, v.size);
	assert_fsck_clean(f->s, NULL);
}

static void test_store_put_begin_bad_name(void **state)
{
	struct fx *f = *state;
	struct store_put *p = NULL;
	char longname[STORE_NAME_MAX + 2];

	memset(longname, 'x', sizeof(longname));
	longname[STORE_NAME_MAX + 1] = '\0';
	assert_int_equal(
	    store_put_begin(f->s, test_caller(), "a/b", NULL, NULL, &p),
	    -EINVAL);
	assert_int_equal(
	    store_put_begin(f->s, test_caller(), "..", NULL, NULL, &p),
	    -EINVAL);
	assert_int_equal(
	    store_put_begin(f->s, test_caller(), longname, NULL, NULL, &p),
	    -ENAMETOOLONG);
	assert_null(p);
}

static void test_store_name_valid_rules(void **state)
{
	static const struct {
		const char *name;
		int file, entity;
	} cases[] = {
	    {"model", 0, 0},
	    {"a@b", 0, -EINVAL},
	    {"@", 0, -EINVAL},
	    {"v1", 0, -EINVAL},
	    {"v01", 0, -EINVAL},
	    {"latest", 0, -EINVAL},
	    {"vfoo", 0, 0},
	    {"v", 0, 0},
	    {"latest2", 0, 0},
	    {".", -EINVAL, -EINVAL},
	    {"..", -EINVAL, -EINVAL},
	    {"a/b", -EINVAL, -EINVAL},
	    {"a\nb", -EINVAL, -EINVAL},
	    {"a\x7f", -EINVAL, -EINVAL},
	    {"", -EINVAL, -EINVAL},
	};
	char longname[STORE_NAME_MAX + 2];
	const char *why;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i].name);

		why = NULL;
		assert_int_equal(
		    store_name_valid(STORE_NAME_FILE, cases[i].name, len, &why),
		    cases[i].file);
		assert_int_equal(store_name_valid(STORE_NAME_ENTITY,
						  cases[i].name, len, &why),
				 cases[i].entity);
		if (cases[i].entity)
			assert_non_null(why);
	}
	assert_int_equal(store_name_valid(STORE_NAME_FILE, "a\0b", 3, &why),
			 -EINVAL);
	memset(longname, 'x', sizeof(longname));
	longname[STORE_NAME_MAX + 1] = '\0';
	assert_int_equal(store_name_valid(STORE_NAME_ENTITY, longname,
					  strlen(longname), &why),
			 -ENAMETOOLONG);
}

static void test_store_ref_number_forms(void **state)
{
	uint32_t n = 0;

	(void)state;
	assert_int_equal(store_ref_number("v1", &n), 1);
	assert_int_equal(n, 1);
	assert_int_equal(store_ref_number("v4294967295", &n), 1);
	assert_int_equal(n, UINT32_MAX);
	assert_int_equal(store_ref_number("v01", &n), -EINVAL);
	assert_int_equal(store_ref_number("v0", &n), -EINVAL);
	assert_int_equal(store_ref_number("v4294967296", &n), -EINVAL);
	assert_int_equal(store_ref_number("latest", &n), 0);
	assert_int_equal(store_ref_number("vprod", &n), 0);
	assert_int_equal(store_ref_number("v", &n), 0);
}

static void test_store_ref_resolve_leading_zero(void **state)
{
	struct fx *f = *state;
	struct store_version v;

	assert_int_equal(put_tag(f->s, "a", "a1"), 1);
	assert_int_equal(store_ref_resolve(f->s, "a", "v1", &v), 0);
	assert_int_equal(store_ref_resolve(f->s, "a", "v01", &v), -EINVAL);
}

static void test_store_run_seal_refuses_output_no_artifact_may_be(void **state)
{
	struct fx *f = *state;
	struct store_file file;
	struct store_run r;

	assert_int_equal(store_run_create(f->s, test_caller(), "p", "r1", 1000),
			 0);
	assert_int_equal(store_step_create(f->s, test_caller(), "p", "r1", "s"),
			 0);
	assert_int_equal(store_buf(f->s, "x", 1, 0, &file), 0);
	/* Below the mount's checks: the store refuses it at seal. */
	assert_int_equal(store_output_set(f->s, test_caller(), "p", "r1", "s",
					  "a@b", STORE_KIND_FILE, 0644, &file,
					  0, NULL),
			 0);
	assert_int_equal(store_run_seal(f->s, test_caller(), "p", "r1"),
			 -EINVAL);
	assert_int_equal(store_run_get(f->s, "p", "r1", &r), 0);
	assert_int_equal(r.status, STORE_RUN_OPEN);
	assert_int_equal(store_artifact_get(f->s, "a@b"), -ENOENT);
}

static void test_store_ref_resolve_latest_follows_newest(void **state)
{
	struct fx *f = *state;
	struct store_version v;

	assert_int_equal(store_ref_resolve(f->s, "a", "latest", &v), -ENOENT);
	put_tag(f->s, "a", "1");
	assert_ref(f->s, "a", "latest", 1);
	put_tag(f->s, "a", "2");
	assert_ref(f->s, "a", "latest", 2);
	put_tag(f->s, "b", "1");
	assert_ref(f->s, "a", "latest", 2);
	assert_ref(f->s, "b", "latest", 1);
	put_tag(f->s, "a", "3");
	assert_ref(f->s, "a", "latest", 3);
	assert_int_equal(store_ref_resolve(f->s, "a", "latest", &v), 0);
	assert_version_file(f->s, &v, "tag.txt", "3", 1);
}

static void test_store_ref_resolve_version_refs(void **state)
{
	struct fx *f = *state;
	struct store_version v;

	put_tag(f->s, "a", "1");
	put_tag(f->s, "a", "2");
	put_tag(f->s, "a", "3");
	assert_ref(f->s, "a", "v2", 2);
	assert_ref(f->s, "a", "v1", 1);
	assert_ref(f->s, "a", "v3", 3);
	assert_int_equal(store_ref_resolve(f->s, "a", "v2", &v), 0);
	assert_version_file(f->s, &v, "tag.txt", "2", 1);
	assert_int_equal(store_ref_resolve(f->s, "a", "v9", &v), -ENOENT);
	assert_int_equal(store_ref_resolve(f->s, "a", "prod", &v), -ENOENT);
	assert_int_equal(store_ref_resolve(f->s, "nope", "v1", &v), -ENOENT);
	assert_int_equal(store_ref_resolve(f->s, "nope", "latest", &v),
			 -ENOENT);
}

static void test_store_alias_set_not_moved_by_new_version(void **state)
{
	struct fx *f = *state;

	put_tag(f->s, "a", "1");
	assert_int_equal(store_alias_set(f->s, test_caller(), "a", "prod", 1),
			 0);
	assert_ref(f->s, "a", "prod", 1);
	put_tag(f->s, "a", "2");
	assert_ref(f->s, "a", "prod", 1);
	assert_ref(f->s, "a", "latest", 2);

	/* Moving it is explicit, and survives a reopen. */
	assert_int_equal(store_alias_set(f->s, test_caller(), "a", "prod", 2),
			 0);
	assert_int_equal(
	    store_alias_set(f->s, test_caller(), "a", "staging", 1), 0);
	fx_reopen(f);
	assert_ref(f->s, "a", "prod", 2);
	assert_ref(f->s, "a", "staging", 1);
	assert_fsck_clean(f->s, NULL);
}

static void test_store_alias_set_reserved_einval(void **state)
{
	struct fx *f = *state;

	put_tag(f->s, "a", "1");
	put_tag(f->s, "a", "2");
	assert_int_equal(store_alias_set(f->s, test_caller(), "a", "latest", 1),
			 -EINVAL);
	assert_int_equal(store_alias_set(f->s, test_caller(), "a", "v3", 1),
			 -EINVAL);
	assert_int_equal(store_alias_set(f->s, test_caller(), "a", "v1", 2),
			 -EINVAL);
	assert_int_equal(store_alias_set(f->s, test_caller(), "a", "v10", 1),
			 -EINVAL);
	assert_int_equal(store_alias_set(f->s, test_caller(), "a", "a/b", 1),
			 -EINVAL);
	assert_int_equal(store_alias_set(f->s, test_caller(), "a", "", 1),
			 -EINVAL);
	/* latest did not move. */
	assert_ref(f->s, "a", "latest", 2);
	/* Names that only look like versions are fine. */
	assert_int_equal(store_alias_set(f->s, test_caller(), "a", "v1-rc", 1),
			 0);
	assert_ref(f->s, "a", "v1-rc", 1);
}

static void test_store_alias_set_missing_version_enoent(void **state)
{
	struct fx *f = *state;
	struct store_version v;

	put_tag(f->s, "a", "1");
	assert_int_equal(store_alias_set(f->s, test_caller(), "a", "prod", 2),
			 -ENOENT);
	assert_int_equal(store_alias_set(f->s, test_caller(), "a", "prod", 0),
			 -ENOENT);
	assert_int_equal(store_alias_set(f->s, test_caller(), "b", "prod", 1),
			 -ENOENT);
	assert_int_equal(store_ref_resolve(f->s, "a", "prod", &v), -ENOENT);
}

static void test_store_alias_delete_removes(void **state)
{
	struct fx *f = *state;
	struct store_version v;

	put_tag(f->s, "a", "1");
	assert_int_equal(store_alias_set(f->s, test_caller(), "a", "prod", 1),
			 0);
	assert_int_equal(store_alias_delete(f->s, test_caller(), "a", "prod"),
			 0);
	assert_int_equal(store_ref_resolve(f->s, "a", "prod", &v), -ENOENT);
	assert_int_equal(store_alias_delete(f->s, test_caller(), "a", "prod"),
			 -ENOENT);
	assert_int_equal(store_alias_delete(f->s, test_caller(), "a", "latest"),
			 -EINVAL);
	assert_int_equal(store_alias_delete(f->s, test_caller(), "b", "prod"),
			 -ENOENT);
	assert_ref(f->s, "a", "latest", 1);
	/* A deleted alias can be set again. */
	assert_int_equal(store_alias_set(f->s, test_caller(), "a", "prod", 1),
			 0);
	assert_ref(f->s, "a", "prod", 1);
}

struct alias_list {
	int n;
	char name[8][STORE_NAME_MAX + 1];
	uint32_t number[8];
};

static int collect_alias(void *arg, const char *alias, uint32_t number)
{
	struct alias_list *l = arg;

	if (l->n == 8)
		return -E2BIG;
	snprintf(l->name[l->n], sizeof(l->name[0]), "%s", alias);
	l->number[l->n++] = number;
	return 0;
}

static void test_store_alias_each_lists_by_name(void **state)
{
	struct fx *f = *state;
	struct alias_list l = {0};

	put_tag(f->s, "a", "1");
	put_tag(f->s, "a", "2");
	put_tag(f->s, "ab", "1");
	assert_int_equal(
	    store_alias_set(f->s, test_caller(), "a", "staging", 2), 0);
	assert_int_equal(store_alias_set(f->s, test_caller(), "a", "prod", 1),
			 0);
	assert_int_equal(store_alias_set(f->s, test_caller(), "ab", "other", 1),
			 0);
	assert_int_equal(store_alias_each(f->s, "a", collect_alias, &l), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.name[0], "latest");
	assert_int_equal(l.number[0], 2);
	assert_string_equal(l.name[1], "prod");
	assert_int_equal(l.number[1], 1);
	assert_string_equal(l.name[2], "staging");
	assert_int_equal(l.number[2], 2);
}

static void test_store_spec_parse_forms(void **state)
{
	char artifact[STORE_NAME_MAX + 1], ref[STORE_NAME_MAX + 1];
	char spec[2 * STORE_NAME_MAX + 8];
	const char *path = NULL;
	const char *s;

	(void)state;
	s = "a";
	assert_int_equal(store_spec_parse(s, artifact, ref, &path), 0);
	assert_string_equal(artifact, "a");
	assert_string_equal(ref, "latest");
	assert_string_equal(path, "");

	s = "a@v2";
	assert_int_equal(store_spec_parse(s, artifact, ref, &path), 0);
	assert_string_equal(artifact, "a");
	assert_string_equal(ref, "v2");
	assert_string_equal(path, "");

	s = "a@prod/x/y.bin";
	assert_int_equal(store_spec_parse(s, artifact, ref, &path), 0);
	assert_string_equal(artifact, "a");
	assert_string_equal(ref, "prod");
	assert_ptr_equal(path, s + strlen("a@prod/"));
	assert_string_equal(path, "x/y.bin");

	s = "model-7@latest/weights.bin";
	assert_int_equal(store_spec_parse(s, artifact, ref, &path), 0);
	assert_string_equal(artifact, "model-7");
	assert_string_equal(ref, "latest");
	assert_string_equal(path, "weights.bin");

	assert_int_equal(store_spec_parse("a@", artifact, ref, &path), -EINVAL);
	assert_int_equal(store_spec_parse("@v1", artifact, ref, &path),
			 -EINVAL);
	assert_int_equal(store_spec_parse("", artifact, ref, &path), -EINVAL);
	assert_int_equal(store_spec_parse("a@/x", artifact, ref, &path),
			 -EINVAL);
	assert_int_equal(store_spec_parse("..@v1", artifact, ref, &path),
			 -EINVAL);

	/* An artifact name one byte too long. */
	memset(spec, 'x', STORE_NAME_MAX + 1);
	strcpy(spec + STORE_NAME_MAX + 1, "@v1");
	assert_int_equal(store_spec_parse(spec, artifact, ref, &path),
			 -ENAMETOOLONG);
	/* Exactly the limit is fine. */
	memset(spec, 'x', STORE_NAME_MAX);
	strcpy(spec + STORE_NAME_MAX, "@v1");
	assert_int_equal(store_spec_parse(spec, artifact, ref, &path), 0);
	assert_int_equal(strlen(artifact), STORE_NAME_MAX);
	/* A ref one byte too long. */
	strcpy(spec, "a@");
	memset(spec + 2, 'r', STORE_NAME_MAX + 1);
	spec[2 + STORE_NAME_MAX + 1] = '\0';
	assert_int_equal(store_spec_parse(spec, artifact, ref, &path),
			 -ENAMETOOLONG);
}

struct num_list {
	int n;
	uint32_t number[8];
	int stop_after; /* return 7 after this many, 0 = never */
};

static int collect_version(void *arg, const struct store_version *v)
{
	struct num_list *l = arg;

	if (l->n == 8)
		return -E2BIG;
	l->number[l->n++] = v->number;
	if (l->stop_after && l->n == l->stop_after)
		return 7;
	return 0;
}

static void test_store_version_each_oldest_first(void **state)
{
	struct fx *f = *state;
	struct num_list l = {0};

	for (int i = 0; i < 5; i++)
		put_tag(f->s, "a", i % 2 ? "odd" : "even");
	put_tag(f->s, "b", "x");
	assert_int_equal(store_version_each(f->s, "a", collect_version, &l), 0);
	assert_int_equal(l.n, 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(l.number[i], i + 1);

	memset(&l, 0, sizeof(l));
	l.stop_after = 2;
	assert_int_equal(store_version_each(f->s, "a", collect_version, &l), 7);
	assert_int_equal(l.n, 2);

	memset(&l, 0, sizeof(l));
	assert_int_equal(store_version_each(f->s, "nope", collect_version, &l),
			 -ENOENT);
	assert_int_equal(l.n, 0);
}

struct name_list {
	int n;
	char name[8][STORE_NAME_MAX + 1];
};

static int collect_name(void *arg, const char *name)
{
	struct name_list *l = arg;

	if (l->n == 8)
		return -E2BIG;
	snprintf(l->name[l->n++], sizeof(l->name[0]), "%s", name);
	return 0;
}

static void test_store_artifact_each_in_order(void **state)
{
	struct fx *f = *state;
	struct name_list l = {0};

	put_tag(f->s, "mid", "1");
	put_tag(f->s, "zeta", "1");
	put_tag(f->s, "alpha", "1");
	put_tag(f->s, "mid", "2");
	assert_int_equal(store_artifact_each(f->s, collect_name, &l), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.name[0], "alpha");
	assert_string_equal(l.name[1], "mid");
	assert_string_equal(l.name[2], "zeta");
}

static void test_store_run_create_duplicate_eexist(void **state)
{
	struct fx *f = *state;
	struct store_run r;

	assert_int_equal(store_run_get(f->s, "train", "r1", &r), -ENOENT);
	assert_int_equal(
	    store_run_create(f->s, test_caller(), "train", "r1", 1000), 0);
	assert_int_equal(
	    store_run_create(f->s, test_caller(), "train", "r1", 1000),
	    -EEXIST);
	assert_int_equal(
	    store_run_create(f->s, test_caller(), "train", "r1", 2000),
	    -EEXIST);
	/* The same run name in another pipeline is another run. */
	assert_int_equal(
	    store_run_create(f->s, test_caller(), "eval", "r1", 1000), 0);

	assert_int_equal(store_run_get(f->s, "train", "r1", &r), 0);
	assert_string_equal(r.pipeline, "train");
	assert_string_equal(r.run, "r1");
	assert_int_equal(r.status, STORE_RUN_OPEN);
	assert_int_equal(r.owner, 1000);
	assert_true(r.created > 0);
	assert_int_equal(r.ended, 0);

	assert_int_equal(
	    store_run_create(f->s, test_caller(), "train", "a/b", 1000),
	    -EINVAL);
	assert_int_equal(store_run_create(f->s, test_caller(), "", "r2", 1000),
			 -EINVAL);
}

static void test_store_step_create_rules(void **state)
{
	struct fx *f = *state;
	struct name_list l = {0};

	assert_int_equal(
	    store_step_create(f->s, test_caller(), "train", "r1", "fit"),
	    -ENOENT);
	assert_int_equal(
	    store_run_create(f->s, test_caller(), "train", "r1", 1000), 0);
	assert_int_equal(
	    store_step_create(f->s, test_caller(), "train", "r1", "prep"), 0);
	assert_int_equal(
	    store_step_create(f->s, test_caller(), "train", "r1", "fit"), 0);
	assert_int_equal(
	    store_step_create(f->s, test_caller(), "train", "r1", "fit"), 0);
	assert_int_equal(
	    store_step_create(f->s, test_caller(), "train", "r1", "a/b"),
	    -EINVAL);
	assert_int_equal(store_step_each(f->s, "train", "r1", collect_name, &l),
			 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.name[0], "fit");
	assert_string_equal(l.name[1], "prep");

	assert_int_equal(store_run_end(f->s, test_caller(), "train", "r1",
				       STORE_RUN_SEALED, NULL, 0),
			 0);
	assert_int_equal(
	    store_step_create(f->s, test_caller(), "train", "r1", "late"),
	    -EROFS);
}

static void test_store_run_end_sealed_publishes(void **state)
{
	struct fx *f = *state;
	const size_t len = 200 * KiB;
	uint8_t *buf = rand_buf(21, len);
	struct store_put *puts[2];
	struct store_version v;
	struct store_run r;
	struct store_stats st;

	put_tag(f->s, "model", "old");
	assert_int_equal(
	    store_run_create(f->s, test_caller(), "train", "r1", 1000), 0);
	assert_int_equal(
	    store_step_create(f->s, test_caller(), "train", "r1", "fit"), 0);
	assert_int_equal(
	    put_buf_begin(f->s, "model", "w.bin", buf, len, &puts[0]), 0);
	assert_int_equal(
	    put_buf_begin(f->s, "metrics", "m.json", "{}", 2, &puts[1]), 0);
	assert_int_equal(store_run_end(f->s, test_caller(), "train", "r1",
				       STORE_RUN_SEALED, puts, 2),
			 0);

	assert_int_equal(store_run_get(f->s, "train", "r1", &r), 0);
	assert_int_equal(r.status, STORE_RUN_SEALED);
	assert_true(r.ended >= r.created);
	assert_true(r.ended > 0);

	assert_int_equal(store_ref_resolve(f->s, "model", "latest", &v), 0);
	assert_int_equal(v.number, 2);
	assert_true(strncmp(v.run, "train/r1", 8) == 0);
	assert_version_file(f->s, &v, "w.bin", buf, len);
	assert_int_equal(store_ref_resolve(f->s, "metrics", "latest", &v), 0);
	assert_int_equal(v.number, 1);
	assert_true(strncmp(v.run, "train/r1", 8) == 0);
	assert_int_equal(store_stats_get(f->s, &st), 0);
	assert_int_equal(st.versions, 3);

	/* Ending again is refused, and frees the put it was given. */
	assert_int_equal(
	    put_buf_begin(f->s, "model", "w.bin", "x", 1, &puts[0]), 0);
	assert_int_equal(store_run_end(f->s, test_caller(), "train", "r1",
				       STORE_RUN_SEALED, puts, 1),
			 -EROFS);
	assert_int_equal(store_run_end(f->s, test_caller(), "train", "r1",
				       STORE_RUN_FAILED, NULL, 0),
			 -EROFS);
	assert_int_equal(store_version_get(f->s, "model", 3, &v), -ENOENT);
	assert_int_equal(store_run_get(f->s, "train", "r1", &r), 0);
	assert_int_equal(r.status, STORE_RUN_SEALED);
	assert_int_equal(store_run_end(f->s, test_caller(), "train", "nope",
				       STORE_RUN_SEALED, NULL, 0),
			 -ENOENT);
	assert_fsck_clean(f->s, NULL);
	free(buf);
}

static void test_store_run_end_failed_publishes_nothing(void **state)
{
	struct fx *f = *state;
	struct store_put *p;
	struct store_run r;
	struct store_stats before, after;
	struct store_version v;

	assert_int_equal(
	    store_run_create(f->s, test_caller(), "train", "r1", 1000), 0);
	assert_int_equal(
	    store_run_create(f->s, test_caller(), "train", "r2", 1000), 0);
	assert_int_equal(store_stats_get(f->s, &before), 0);
	assert_int_equal(store_run_end(f->s, test_caller(), "train", "r1",
				       STORE_RUN_FAILED, NULL, 0),
			 0);
	assert_int_equal(store_run_get(f->s, "train", "r1", &r), 0);
	assert_int_equal(r.status, STORE_RUN_FAILED);
	assert_true(r.ended > 0);

	/* A failed run with outputs is refused and publishes none. */
	assert_int_equal(put_buf_begin(f->s, "model", "w.bin", "x", 1, &p), 0);
	assert_true(store_run_end(f->s, test_caller(), "train", "r2",
				  STORE_RUN_FAILED, &p, 1) < 0);
	assert_int_equal(store_ref_resolve(f->s, "model", "latest", &v),
			 -ENOENT);
	assert_int_equal(store_stats_get(f->s, &after), 0);
	assert_stats_equal(&before, &after);
	assert_int_equal(
	    store_step_create(f->s, test_caller(), "train", "r1", "s"), -EROFS);
}

static void test_store_pipeline_each_lists(void **state)
{
	struct fx *f = *state;
	struct name_list l = {0};

	assert_int_equal(store_pipeline_create(f->s, test_caller(), "train"),
			 0);
	assert_int_equal(store_pipeline_create(f->s, test_caller(), "train"),
			 0);
	assert_int_equal(store_run_create(f->s, test_caller(), "eval", "r1", 7),
			 0);
	assert_int_equal(store_pipeline_create(f->s, test_caller(), "bad/name"),
			 -EINVAL);
	assert_int_equal(store_pipeline_each(f->s, collect_name, &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.name[0], "eval");
	assert_string_equal(l.name[1], "train");
}

struct run_list {
	int n;
	char run[8][STORE_NAME_MAX + 1];
	enum store_run_status status[8];
};

static int collect_run(void *arg, const struct store_run *r)
{
	struct run_list *l = arg;

	if (l->n == 8)
		return -E2BIG;
	snprintf(l->run[l->n], sizeof(l->run[0]), "%s", r->run);
	l->status[l->n++] = r->status;
	return 0;
}

static void test_store_run_each_lists(void **state)
{
	struct fx *f = *state;
	struct run_list l = {0};

	assert_int_equal(
	    store_run_create(f->s, test_caller(), "train", "r2", 1), 0);
	assert_int_equal(
	    store_run_create(f->s, test_caller(), "train", "r1", 1), 0);
	assert_int_equal(
	    store_run_create(f->s, test_caller(), "train2", "r0", 1), 0);
	assert_int_equal(store_run_end(f->s, test_caller(), "train", "r1",
				       STORE_RUN_SEALED, NULL, 0),
			 0);
	assert_int_equal(store_run_each(f->s, "train", collect_run, &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.run[0], "r1");
	assert_int_equal(l.status[0], STORE_RUN_SEALED);
	assert_string_equal(l.run[1], "r2");
	assert_int_equal(l.status[1], STORE_RUN_OPEN);
}

#define NTHREADS	4
#define PUTS_PER_THREAD 5

struct worker {
	pthread_t t;
	struct store *s;
	int id, rc;
	uint32_t numbers[PUTS_PER_THREAD];
};

static void *put_worker(void *arg)
{
	struct worker *w = arg;
	uint8_t *buf = rand_buf(1000 + w->id, 64 * KiB);

	for (int i = 0; i < PUTS_PER_THREAD && !w->rc; i++) {
		struct store_version v;

		buf[0] = (uint8_t)i;
		w->rc = put_buf(w->s, "shared", "data.bin", buf, 64 * KiB, NULL,
				&v);
		w->numbers[i] = v.number;
		if (!w->rc && i == 2)
			w->rc = store_alias_set(w->s, test_caller(), "shared",
						"last-third", v.number);
	}
	free(buf);
	return NULL;
}

static void test_store_put_commit_concurrent_threads(void **state)
{
	struct fx *f = *state;
	struct worker w[NTHREADS];
	bool seen[NTHREADS * PUTS_PER_THREAD + 1] = {false};
	struct store_stats st;

	for (int i = 0; i < NTHREADS; i++) {
		w[i] = (struct worker){.s = f->s, .id = i};
		assert_int_equal(
		    pthread_create(&w[i].t, NULL, put_worker, &w[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_join(w[i].t, NULL), 0);
	/* Every commit got its own number, 1..N with no gap. */
	for (int i = 0; i < NTHREADS; i++) {
		assert_int_equal(w[i].rc, 0);
		for (int j = 0; j < PUTS_PER_THREAD; j++) {
			uint32_t n = w[i].numbers[j];

			assert_in_range(n, 1, NTHREADS * PUTS_PER_THREAD);
			assert_false(seen[n]);
			seen[n] = true;
			if (j)
				assert_true(n > w[i].numbers[j - 1]);
		}
	}
	assert_ref(f->s, "shared", "latest", NTHREADS * PUTS_PER_THREAD);
	assert_int_equal(store_stats_get(f->s, &st), 0);
	assert_int_equal(st.versions, NTHREADS * PUTS_PER_THREAD);
	assert_int_equal(st.artifacts, 1);
	assert_fsck_clean(f->s, NULL);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_store_put_commit_numbers_per_artifact),
	    T(test_store_put_commit_meta_recorded),
	    T(test_store_put_file_same_dest_counts_once),
	    T(test_store_put_begin_bad_name),
	    T(test_store_ref_resolve_latest_follows_newest),
	    T(test_store_ref_resolve_version_refs),
	    T(test_store_alias_set_not_moved_by_new_version),
	    T(test_store_alias_set_reserved_einval),
	    T(test_store_alias_set_missing_version_enoent),
	    T(test_store_alias_delete_removes),
	    T(test_store_alias_each_lists_by_name),
	    T(test_store_spec_parse_forms),
	    T(test_store_version_each_oldest_first),
	    T(test_store_artifact_each_in_order),
	    T(test_store_run_create_duplicate_eexist),
	    T(test_store_step_create_rules),
	    T(test_store_run_end_sealed_publishes),
	    T(test_store_name_valid_rules),
	    T(test_store_ref_number_forms),
	    T(test_store_ref_resolve_leading_zero),
	    T(test_store_run_seal_refuses_output_no_artifact_may_be),
	    T(test_store_run_end_failed_publishes_nothing),
	    T(test_store_pipeline_each_lists),
	    T(test_store_run_each_lists),
	    T(test_store_put_commit_concurrent_threads),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
