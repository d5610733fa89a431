/*
 * tests/acl/test_rbac.c - role bindings (store/binding.c) and the
 * decisions made from them (acl/rbac.c), on real stores.
 */
#include "helpers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"

/* Actions in enum order, one letter each, for compact expectations:
 * List Read Traverse Write Seal-others Alias aUdit secret(K) aDmin. */
static const char letters[] = "LRTWSAUKD";

/* A caller with uid, gid gid and the n supplementary groups (copied). */
static struct store_caller who(uid_t uid, gid_t gid, const gid_t *groups,
			       size_t n)
{
	struct store_caller w;

	store_caller_set(&w, uid, gid, (pid_t)(10000 + uid), groups, n, NULL);
	return w;
}

static struct store_caller who_u(uid_t uid)
{
	return who(uid, (gid_t)(uid + 50000), NULL, 0);
}

/* expect: for each action, its letter (allowed) or '.' (denied). */
static void assert_matrix(struct store *s, const struct store_caller *w,
			  const char *path, const char *expect)
{
	assert_int_equal(strlen(expect), strlen(letters));
	for (int a = ACL_LIST; a <= ACL_ADMIN; a++) {
		int rc = acl_decide(s, w, (enum acl_action)a, path);
		int want = expect[a] == '.' ? -EACCES : 0;

		if (rc != want)
			print_error("%s: action %c: got %d, want %d\n", path,
				    letters[a], rc, want);
		assert_int_equal(rc, want);
	}
}

static const char *const role_names[] = {"reader", "writer", "promoter",
					 "auditor", "admin"};
/* What each role may do where it applies (outside /audit, /secrets). */
static const char *const role_matrix[] = {
    "LRT......", "LRTW.....", "LRTWSA...", "LRT...U..", "LRTWSAUKD",
};
static const int role_bits[] = {5, 7, 7, 5, 7};

static void bind_roles(struct store *s, const char *scope)
{
	char p[16];

	for (int i = 0; i < 5; i++) {
		snprintf(p, sizeof(p), "u:%d", 1001 + i);
		assert_int_equal(store_binding_set(s, test_caller(), scope, p,
						   role_names[i]),
				 0);
	}
}

static void test_acl_decide_roles_on_root(void **state)
{
	struct fx *f = *state;
	struct store_caller none = who_u(1006);

	bind_roles(f->s, "/");
	for (int i = 0; i < 5; i++) {
		struct store_caller w = who_u((uid_t)(1001 + i));

		assert_matrix(f->s, &w, "/", role_matrix[i]);
		assert_matrix(f->s, &w, "/pipelines/train/runs/r1",
			      role_matrix[i]);
		assert_int_equal(acl_role_bits(f->s, &w, "/artifacts"),
				 role_bits[i]);
	}
	assert_matrix(f->s, &none, "/", ".........");
	assert_matrix(f->s, &none, "/pipelines/train", ".........");
	assert_int_equal(acl_role_bits(f->s, &none, "/"), 0);
}

static void test_acl_decide_roles_on_narrow_scope(void **state)
{
	struct fx *f = *state;

	bind_roles(f->s, "/pipelines/train");
	for (int i = 0; i < 5; i++) {
		struct store_caller w = who_u((uid_t)(1001 + i));

		assert_matrix(f->s, &w, "/pipelines/train", role_matrix[i]);
		assert_matrix(f->s, &w, "/pipelines/train/runs/r1/steps",
			      role_matrix[i]);
		/* Elsewhere nothing; above the scope, traversal only. */
		assert_matrix(f->s, &w, "/artifacts/model", ".........");
		assert_matrix(f->s, &w, "/pipelines/eval", ".........");
		assert_matrix(f->s, &w, "/pipelines", "..T......");
		assert_matrix(f->s, &w, "/", "..T......");
		assert_int_equal(acl_role_bits(f->s, &w, "/pipelines/train"),
				 role_bits[i]);
		assert_int_equal(acl_role_bits(f->s, &w, "/pipelines"),
				 ACL_BIT_X);
		assert_int_equal(acl_role_bits(f->s, &w, "/artifacts"), 0);
	}
}

static void test_acl_decide_groups_apply_to_members(void **state)
{
	struct fx *f = *state;
	gid_t sup[] = {20, 700, 27};
	struct store_caller member = who(2001, 2001, sup, 3);
	struct store_caller primary = who(2002, 700, NULL, 0);
	struct store_caller other = who(2003, 2003, (gid_t[]){20, 27}, 2);

	assert_int_equal(store_binding_set(f->s, test_caller(),
					   "/artifacts/model", "g:700",
					   "writer"),
			 0);
	assert_int_equal(
	    acl_decide(f->s, &member, ACL_WRITE, "/artifacts/model/v1"), 0);
	assert_int_equal(
	    acl_decide(f->s, &primary, ACL_WRITE, "/artifacts/model/v1"), 0);
	assert_int_equal(
	    acl_decide(f->s, &other, ACL_WRITE, "/artifacts/model/v1"),
	    -EACCES);
	assert_int_equal(acl_decide(f->s, &other, ACL_READ, "/artifacts/model"),
			 -EACCES);
	/* A user binding with the same number is not the group. */
	assert_int_equal(
	    store_binding_set(f->s, test_caller(), "/", "u:700", "admin"), 0);
	assert_int_equal(
	    acl_decide(f->s, &member, ACL_ADMIN, "/artifacts/model"), -EACCES);
	/* Roles from the user and its groups add up. */
	assert_int_equal(
	    store_binding_set(f->s, test_caller(), "/", "u:2001", "auditor"),
	    0);
	assert_matrix(f->s, &member, "/artifacts/model", "LRTW..U..");
	assert_matrix(f->s, &member, "/pipelines", "LRT...U..");
}

static void test_acl_decide_prefix_is_component_wise(void **state)
{
	struct fx *f = *state;
	struct store_caller w = who_u(1000);

	assert_int_equal(store_binding_set(f->s, test_caller(),
					   "/pipelines/train", "u:1000",
					   "writer"),
			 0);
	assert_int_equal(
	    acl_decide(f->s, &w, ACL_WRITE, "/pipelines/train/runs/r1"), 0);
	assert_int_equal(acl_decide(f->s, &w, ACL_WRITE, "/pipelines/train"),
			 0);
	assert_int_equal(acl_decide(f->s, &w, ACL_WRITE, "/pipelines/training"),
			 -EACCES);
	assert_int_equal(
	    acl_decide(f->s, &w, ACL_READ, "/pipelines/training/runs"),
	    -EACCES);
	assert_int_equal(acl_decide(f->s, &w, ACL_TRAVERSE, "/pipelines/tr"),
			 -EACCES);
	assert_int_equal(acl_decide(f->s, &w, ACL_TRAVERSE, "/pipe"), -EACCES);
	/* Paths are taken in the form scopes have. */
	assert_int_equal(acl_decide(f->s, &w, ACL_READ, "pipelines/train"),
			 -EINVAL);
	assert_int_equal(
	    acl_decide(f->s, &w, ACL_READ, "/pipelines/train/../eval"),
	    -EINVAL);
	assert_int_equal(acl_decide(f->s, &w, ACL_READ, "/pipelines/train/"),
			 -EINVAL);
}

static void test_acl_decide_traverse_above_not_list(void **state)
{
	struct fx *f = *state;
	struct store_caller w = who_u(1000);

	assert_int_equal(store_binding_set(f->s, test_caller(),
					   "/artifacts/model/v3", "u:1000",
					   "reader"),
			 0);
	for (const char *const *p =
		 (const char *const[]){"/", "/artifacts", "/artifacts/model",
				       NULL};
	     *p; p++) {
		assert_int_equal(acl_decide(f->s, &w, ACL_TRAVERSE, *p), 0);
		assert_int_equal(acl_decide(f->s, &w, ACL_LIST, *p), -EACCES);
		assert_int_equal(acl_decide(f->s, &w, ACL_READ, *p), -EACCES);
	}
	assert_int_equal(acl_decide(f->s, &w, ACL_LIST, "/artifacts/model/v3"),
			 0);
	assert_int_equal(
	    acl_decide(f->s, &w, ACL_TRAVERSE, "/artifacts/model/v2"), -EACCES);
}

static void test_acl_decide_audit_tree_needs_auditor(void **state)
{
	struct fx *f = *state;
	struct store_caller reader = who_u(1001), auditor = who_u(1004);

	bind_roles(f->s, "/");
	assert_matrix(f->s, &auditor, "/audit", "LRT...U..");
	assert_matrix(f->s, &auditor, "/audit/records", "LRT...U..");
	/* A reader on "/" may look the name up, not read the journal. */
	assert_matrix(f->s, &reader, "/audit", "..T......");
	assert_int_equal(acl_role_bits(f->s, &reader, "/audit"), ACL_BIT_X);
	assert_int_equal(acl_role_bits(f->s, &auditor, "/audit"), 5);
}

static void test_acl_decide_secret_needs_admin_or_own_binding(void **state)
{
	struct fx *f = *state;
	struct store_caller root_reader = who_u(1001), admin = who_u(1005);
	struct store_caller db = who_u(3000), all = who_u(3001);

	bind_roles(f->s, "/");
	assert_int_equal(store_binding_set(f->s, test_caller(), "/secrets/db",
					   "u:3000", "reader"),
			 0);
	assert_int_equal(store_binding_set(f->s, test_caller(), "/secrets",
					   "u:3001", "writer"),
			 0);
	assert_int_equal(acl_decide(f->s, &db, ACL_SECRET, "/secrets/db"), 0);
	assert_int_equal(acl_decide(f->s, &db, ACL_READ, "/secrets/db"), 0);
	assert_int_equal(acl_decide(f->s, &db, ACL_SECRET, "/secrets/token"),
			 -EACCES);
	assert_int_equal(acl_decide(f->s, &db, ACL_TRAVERSE, "/secrets"), 0);
	assert_int_equal(acl_decide(f->s, &admin, ACL_SECRET, "/secrets/db"),
			 0);
	assert_int_equal(
	    acl_decide(f->s, &root_reader, ACL_SECRET, "/secrets/db"), -EACCES);
	assert_int_equal(
	    acl_decide(f->s, &root_reader, ACL_READ, "/secrets/db"), -EACCES);
	/* A role on /secrets as a whole is no role on one secret. */
	assert_int_equal(acl_decide(f->s, &all, ACL_SECRET, "/secrets/db"),
			 -EACCES);
	assert_int_equal(acl_decide(f->s, &all, ACL_LIST, "/secrets"), 0);
}

/* ------------------------------------------------------------ bindings */

struct seen {
	int n;
	char text[8][96];
};

static int collect(void *arg, const char *scope, const char *principal,
		   const char *role)
{
	struct seen *c = arg;

	assert_true(c->n < 8);
	snprintf(c->text[c->n++], sizeof(c->text[0]), "%s %s %s", scope,
		 principal, role);
	return 0;
}

static void test_store_binding_set_replace_delete_each(void **state)
{
	struct fx *f = *state;
	struct seen c = {0};

	assert_int_equal(store_binding_set(f->s, test_caller(),
					   "/pipelines/train", "u:1000",
					   "writer"),
			 0);
	assert_int_equal(
	    store_binding_set(f->s, test_caller(), "/", "g:0", "admin"), 0);
	assert_int_equal(store_binding_set(f->s, test_caller(),
					   "/pipelines/train", "g:42",
					   "reader"),
			 0);
	/* A second set replaces the role. */
	assert_int_equal(store_binding_set(f->s, test_caller(),
					   "/pipelines/train", "u:1000",
					   "promoter"),
			 0);
	fx_reopen(f);
	assert_int_equal(store_binding_each(f->s, collect, &c), 0);
	assert_int_equal(c.n, 3);
	assert_string_equal(c.text[0], "/ g:0 admin");
	assert_string_equal(c.text[1], "/pipelines/train g:42 reader");
	assert_string_equal(c.text[2], "/pipelines/train u:1000 promoter");

	assert_int_equal(store_binding_delete(f->s, test_caller(),
					      "/pipelines/train", "u:1000"),
			 0);
	assert_int_equal(store_binding_delete(f->s, test_caller(),
					      "/pipelines/train", "u:1000"),
			 -ENOENT);
	assert_int_equal(
	    store_binding_delete(f->s, test_caller(), "/pipelines", "g:42"),
	    -ENOENT);
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_binding_each(f->s, collect, &c), 0);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.text[0], "/ g:0 admin");
	assert_string_equal(c.text[1], "/pipelines/train g:42 reader");
}

static void test_store_binding_set_bad_input_einval(void **state)
{
	struct fx *f = *state;
	static const char *const scopes[] = {
	    "",	      "pipelines", "//",    "/a/", "/a//b",
	    "/a/./b", "/a/../b",   "/a\nb", "/./", NULL};
	static const char *const principals[] = {
	    "",	   "u:", "u:abc", "u:1a",	   "u:01", "u:-1",
	    "x:1", "u1", "1000",  "u:99999999999", "g: 1", NULL};
	static const char *const roles[] = {"",	       "owner",	 "Reader",
					    "reader ", "admins", NULL};
	struct seen c = {0};
	char *longscope;

	log_capture_start();
	for (const char *const *p = scopes; *p; p++) {
		assert_int_equal(
		    store_binding_set(f->s, test_caller(), *p, "u:1", "reader"),
		    -EINVAL);
		assert_int_equal(
		    store_binding_delete(f->s, test_caller(), *p, "u:1"),
		    -EINVAL);
	}
	for (const char *const *p = principals; *p; p++) {
		assert_int_equal(
		    store_binding_set(f->s, test_caller(), "/", *p, "reader"),
		    -EINVAL);
		assert_int_equal(
		    store_binding_delete(f->s, test_caller(), "/", *p),
		    -EINVAL);
	}
	for (const char *const *p = roles; *p; p++)
		assert_int_equal(
		    store_binding_set(f->s, test_caller(), "/", "u:1", *p),
		    -EINVAL);
	assert_true(log_captured("role binding"));
	log_capture_stop();

	/* Over STORE_SCOPE_MAX bytes, or a component over a name's. */
	longscope = malloc(STORE_SCOPE_MAX + 2);
	assert_non_null(longscope);
	for (size_t i = 0; i <= STORE_SCOPE_MAX; i++)
		longscope[i] = i % 100 == 0 ? '/' : 'a';
	longscope[STORE_SCOPE_MAX + 1] = '\0';
	assert_int_equal(
	    store_binding_set(f->s, test_caller(), longscope, "u:1", "reader"),
	    -ENAMETOOLONG);
	memset(longscope + 1, 'a', 300);
	longscope[301] = '\0';
	assert_int_equal(
	    store_binding_set(f->s, test_caller(), longscope, "u:1", "reader"),
	    -ENAMETOOLONG);
	free(longscope);

	/* The largest ids are fine; nothing bad was stored. */
	assert_int_equal(store_binding_set(f->s, test_caller(), "/",
					   "u:4294967295", "reader"),
			 0);
	assert_int_equal(
	    store_binding_set(f->s, test_caller(), "/", "u:0", "reader"), 0);
	assert_int_equal(store_binding_each(f->s, collect, &c), 0);
	assert_int_equal(c.n, 2);
}

struct ops {
	int n;
	char op[8][64];
	char path[8][128];
	int result[8];
};

static int collect_op(void *arg, const struct store_audit_entry *e)
{
	struct ops *o = arg;

	assert_true(o->n < 8);
	snprintf(o->op[o->n], sizeof(o->op[0]), "%s", e->op);
	snprintf(o->path[o->n], sizeof(o->path[0]), "%.127s", e->path);
	o->result[o->n++] = e->result;
	return 0;
}

static void test_store_binding_changes_are_journalled(void **state)
{
	struct fx *f = *state;
	uint8_t key[32];
	struct ops o = {0};
	uint64_t checked, bad;
	char why[128];

	memset(key, 0x5a, sizeof(key));
	assert_int_equal(store_audit_enable(f->s, key, sizeof(key)), 0);
	assert_int_equal(store_binding_set(f->s, test_caller(),
					   "/pipelines/train", "u:1000",
					   "writer"),
			 0);
	assert_int_equal(store_binding_set(f->s, test_caller(),
					   "/pipelines/train", "u:1000",
					   "promoter"),
			 0);
	assert_int_equal(store_binding_delete(f->s, test_caller(),
					      "/pipelines/train", "u:1000"),
			 0);
	/* Refused changes write nothing. */
	assert_int_equal(store_binding_delete(f->s, test_caller(),
					      "/pipelines/train", "u:1000"),
			 -ENOENT);
	assert_int_equal(
	    store_binding_set(f->s, test_caller(), "/", "u:1", "owner"),
	    -EINVAL);

	assert_int_equal(store_audit_each(f->s, 0, collect_op, &o), 0);
	assert_int_equal(o.n, 3);
	assert_string_equal(o.op[0], "role.grant");
	assert_string_equal(o.path[0], "/pipelines/train u:1000 writer");
	assert_string_equal(o.op[1], "role.grant");
	assert_string_equal(o.path[1], "/pipelines/train u:1000 promoter");
	assert_string_equal(o.op[2], "role.revoke");
	assert_string_equal(o.path[2], "/pipelines/train u:1000 promoter");
	for (int i = 0; i < 3; i++)
		assert_int_equal(o.result[i], 0);
	assert_int_equal(store_audit_verify(f->s, &checked, &bad, why), 0);
	assert_int_equal(checked, 3);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
	    T(test_acl_decide_roles_on_root),
	    T(test_acl_decide_roles_on_narrow_scope),
	    T(test_acl_decide_groups_apply_to_members),
	    T(test_acl_decide_prefix_is_component_wise),
	    T(test_acl_decide_traverse_above_not_list),
	    T(test_acl_decide_audit_tree_needs_auditor),
	    T(test_acl_decide_secret_needs_admin_or_own_binding),
	    T(test_store_binding_set_replace_delete_each),
	    T(test_store_binding_set_bad_input_einval),
	    T(test_store_binding_changes_are_journalled),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
