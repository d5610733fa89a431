/*
 * fs/cli/cmd_admin.c - looking after the store: `init` (with the roles it
 * seeds), `alias`, `stats`, `fsck` and `gc`.
 *
 * Each prints one short human summary on stdout, or with --json one
 * object (or array) built with jansson.  fsck's problems are logged by
 * the store one per line as it finds them; this file only sums up.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "acl.h"
#include "cli_i.h"

/* ----------------------------------------------------------------- init */

/* mkdir -p of the directories above dir (the default store's parents,
 * ~/.local/share, may not exist on a fresh account). */
static int make_parents(const char *dir)
{
	char *p = strdup(dir), *slash;
	int rc = 0;

	if (!p)
		return -ENOMEM;
	for (slash = strchr(p + 1, '/'); slash;
	     slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		if (mkdir(p, 0777) < 0 && errno != EEXIST) {
			rc = -errno;
			store_log(STORE_LOG_ERR, "init: cannot create %s: %s",
				  p, strerror(errno));
			break;
		}
		*slash = '/';
	}
	free(p);
	return rc;
}

/* Applies one binding of the configuration's `roles`: made when
 * missing, kept when the principal already holds a role there. */
static int seed_one(void *arg, const struct fs_role_seed *r)
{
	struct fs_ctx *ctx = arg;
	struct store *s = ctx->store;
	char held[STORE_ROLE_MAX], name[ACL_NAME_MAX + 1];
	int rc = store_binding_get(s, r->scope, r->principal, held);

	if (acl_principal_name(r->principal, name))
		snprintf(name, sizeof(name), "%s", r->principal);
	if (rc == 0 && strcmp(held, r->role))
		store_log(STORE_LOG_WARNING,
			  "%s:%d: %s holds %s on %s, kept (the config says "
			  "%s: 'artifactfs role grant' changes it)",
			  r->file, r->line, name, held, r->scope, r->role);
	if (rc != -ENOENT)
		return rc;
	rc =
	    store_binding_set(s, &ctx->caller, r->scope, r->principal, r->role);
	if (!rc)
		fprintf(fs_stdout(), "%s: %s on %s (from %s)\n", name, r->role,
			r->scope, r->file);
	return rc;
}

/* Notes that the store has a binding, and stops at the first. */
static int any_binding(void *arg, const char *scope, const char *principal,
		       const char *role)
{
	(void)scope, (void)principal, (void)role;
	*(bool *)arg = true;
	return 1;
}

/* With the store open and journaled: the caller of init becomes admin on
 * "/" of a new store, and of one that has no bindings at all (made before
 * roles existed). */
static int init_admin(struct store *s, const struct store_caller *c, bool fresh)
{
	char principal[ACL_PRINCIPAL_MAX], name[ACL_NAME_MAX + 1];
	bool some = false;
	int rc = fresh ? 0 : store_binding_each(s, any_binding, &some);

	if (rc < 0 || some)
		return rc < 0 ? rc : 0;
	snprintf(principal, sizeof(principal), "u:%u", (unsigned)c->uid);
	rc = store_binding_set(s, c, "/", principal, "admin");
	if (rc)
		return rc;
	if (acl_principal_name(principal, name))
		snprintf(name, sizeof(name), "%s", principal);
	store_log(STORE_LOG_INFO, "%s: admin on /", name);
	return 0;
}

static void init_said(struct fs_ctx *ctx, bool fresh)
{
	if (fresh)
		fprintf(fs_stdout(), "initialized store at %s%s\n",
			ctx->store_dir,
			ctx->no_journal ? " (no audit journal)" : "");
	else
		fprintf(fs_stdout(), "store at %s already initialized\n",
			ctx->store_dir);
}

/* Opens the store in this process (with its journal: a new store gets
 * its key first), makes the caller admin if no one is, and seeds the
 * configuration's roles. */
static int init_open(struct fs_ctx *ctx, bool fresh)
{
	struct store *s;
	int rc = store_open(ctx->store_dir, &ctx->opt, &s);

	if (rc)
		return rc;
	/* A new store keeps an audit journal from its first change, unless
	 * it is made without one: then it has no key and no mark, so it
	 * opens with the journal off (acl_journal_open). */
	if (fresh && !ctx->no_journal)
		rc = acl_journal_create(s);
	if (!rc)
		rc = acl_journal_open(s);
	if (!rc)
		rc = init_admin(s, &ctx->caller, fresh);
	if (!rc) {
		init_said(ctx, fresh);
		ctx->store = s;
		rc = fs_config_roles(ctx, seed_one, ctx);
		ctx->store = NULL;
	}
	store_close(s);
	return rc;
}

static int count_seed(void *arg, const struct fs_role_seed *r)
{
	(void)r;
	++*(int *)arg;
	return 0;
}

int fs_cmd_init(struct fs_ctx *ctx, int argc, char **argv)
{
	unsigned long before = fs_log_errors();
	bool existed = store_exists(ctx->store_dir);
	pid_t holder;
	int rc, seeds = 0;

	(void)argc, (void)argv;
	ctx->subject = ctx->store_dir;
	if ((ctx->ceph_conf || ctx->ceph_id) && !ctx->rados_pool)
		return fs_usage_error(ctx, "--ceph-conf and --ceph-id go with "
					   "--rados POOL");
	if (ctx->rados_pool && !ctx->ceph_conf)
		return fs_usage_error(ctx, "--rados needs --ceph-conf FILE");
	ctx->opt.rados_pool = ctx->rados_pool;
	ctx->opt.ceph_conf = ctx->ceph_conf;
	ctx->opt.ceph_id = ctx->ceph_id;
	rc = make_parents(ctx->store_dir);
	if (rc == 0)
		rc = store_init(ctx->store_dir, &ctx->opt);
	if (rc == -EEXIST && fs_log_errors() == before)
		store_log(STORE_LOG_ERR,
			  "init: %s is not empty and holds no "
			  "store",
			  ctx->store_dir);
	if (rc < 0)
		return rc;
	if (existed && ctx->no_journal)
		store_log(STORE_LOG_WARNING,
			  "init: --no-journal only applies to a new store; %s "
			  "keeps what it has",
			  ctx->store_dir);
	holder = store_lock_holder(ctx->store_dir);
	if (holder == 0)
		return init_open(ctx, !existed);
	if (holder < 0)
		return holder;
	init_said(ctx, !existed);
	rc = fs_config_roles(ctx, count_seed, &seeds);
	if (rc == 0 && seeds > 0) {
		/* The roles could only be seeded through the daemon, as its
		 * client: that is 'role grant', which asks for admin. */
		store_log(STORE_LOG_ERR,
			  "init: the store is in use by pid %d, so the roles "
			  "of the configuration were not applied (run init "
			  "again once it is unmounted, or use 'artifactfs "
			  "role grant')",
			  (int)holder);
		rc = -EBUSY;
	}
	return rc < 0 ? rc : 0;
}

/* ---------------------------------------------------------------- alias */

/* "v3" or "3". */
static int parse_version(struct fs_ctx *ctx, const char *s, uint32_t *out)
{
	const char *digits = s[0] == 'v' ? s + 1 : s;
	unsigned long long n = 0;
	char *end = NULL;

	errno = 0;
	if (digits[0] >= '0' && digits[0] <= '9')
		n = strtoull(digits, &end, 10);
	if (n == 0 || errno || *end || n > UINT32_MAX)
		return fs_usage_error(ctx, "'%s' is not a version (vN)", s);
	*out = (uint32_t)n;
	return 0;
}

struct alias_ls {
	json_t *arr;
	size_t n;
};

static int alias_show(void *arg, const char *alias, uint32_t number)
{
	struct alias_ls *al = arg;
	char ref[16];
	json_t *o;

	al->n++;
	snprintf(ref, sizeof(ref), "v%u", number);
	if (!al->arr) {
		fprintf(fs_stdout(), "%-20s %s\n", alias, ref);
		return 0;
	}
	o = json_pack("{s:o, s:I, s:s}", "alias", fs_json_str(alias), "version",
		      (json_int_t)number, "ref", ref);
	if (!o)
		return -ENOMEM;
	return json_array_append_new(al->arr, o) ? -ENOMEM : 0;
}

static int alias_list(struct fs_ctx *ctx, const char *artifact)
{
	unsigned long before = fs_log_errors();
	struct alias_ls al = {NULL, 0};
	int rc;

	if (ctx->json) {
		al.arr = json_array();
		if (!al.arr)
			return -ENOMEM;
	}
	rc = store_alias_each(ctx->store, artifact, alias_show, &al);
	if (rc == 0 && al.n == 0) /* every artifact has "latest" */
		rc = -ENOENT;
	if (rc == -ENOENT && fs_log_errors() == before)
		store_log(STORE_LOG_ERR, "alias: no such artifact '%s'",
			  artifact);
	if (rc == 0 && al.arr)
		return fs_json_print(al.arr);
	json_decref(al.arr);
	return rc;
}

int fs_cmd_alias(struct fs_ctx *ctx, int argc, char **argv)
{
	const char *op = argv[0], *artifact = argv[1];
	uint32_t number = 0;
	int want, rc;

	want = !strcmp(op, "set")  ? 4
	       : !strcmp(op, "rm") ? 3
	       : !strcmp(op, "ls") ? 2
				   : 0;
	if (!want)
		return fs_usage_error(ctx, "unknown action '%s' (set, rm, ls)",
				      op);
	if (argc != want)
		return fs_usage_error(ctx,
				      "wrong number of arguments for "
				      "'alias %s'",
				      op);
	if (ctx->json && want != 2)
		return fs_usage_error(ctx, "--json applies to 'alias ls'");
	ctx->subject = artifact;
	rc = fs_name_check("artifact", artifact);
	if (rc == 0 && want > 2)
		rc = fs_name_check("alias", argv[2]);
	if (rc == 0)
		rc = want == 2 ? fs_authorize_at(ctx, ACL_LIST, "alias.ls",
						 "/artifacts/%s", artifact)
			       : fs_authorize_at(ctx, ACL_ALIAS, "alias",
						 "/artifacts/%s/%s", artifact,
						 argv[2]);
	if (rc < 0)
		return rc;
	if (want == 2)
		return alias_list(ctx, artifact);
	if (want == 3) {
		rc = store_alias_delete(ctx->store, &ctx->caller, artifact,
					argv[2]);
		if (rc == 0)
			fprintf(fs_stdout(), "%s: alias %s removed\n", artifact,
				argv[2]);
		return rc;
	}
	if (parse_version(ctx, argv[3], &number) < 0)
		return -EINVAL;
	rc = store_alias_set(ctx->store, &ctx->caller, artifact, argv[2],
			     number);
	if (rc == 0)
		fprintf(fs_stdout(), "%s: %s -> v%u\n", artifact, argv[2],
			number);
	return rc;
}

/* ---------------------------------------------------------------- stats */

static double ratio(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : 0.0;
}

/* The read path's work in this process (the daemon's while mounted):
 * comparing it before and after a read tells how often each chunk was
 * decoded and verified. */
static json_t *reads_json(struct store *s)
{
	struct store_read_counters rc;

	store_read_counters(s, &rc);
	return json_pack("{s:I, s:I}", "chunks_decoded",
			 (json_int_t)rc.chunk_loads, "bytes_decoded",
			 (json_int_t)rc.chunk_load_bytes);
}

static int stats_json(struct store *s, const struct store_stats *st)
{
	json_t *o = json_pack(
	    "{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "artifacts",
	    (json_int_t)st->artifacts, "versions", (json_int_t)st->versions,
	    "files", (json_int_t)st->files, "logical_bytes",
	    (json_int_t)st->logical_bytes, "chunks", (json_int_t)st->chunks,
	    "chunk_bytes", (json_int_t)st->chunk_bytes, "stored_bytes",
	    (json_int_t)st->stored_bytes);

	if (o && json_object_set_new(
		     o, "ratio",
		     st->stored_bytes
			 ? json_real(ratio(st->logical_bytes, st->stored_bytes))
			 : json_null())) {
		json_decref(o);
		o = NULL;
	}
	if (o && json_object_set_new(o, "reads", reads_json(s))) {
		json_decref(o);
		o = NULL;
	}
	return fs_json_print(o);
}

static void stats_line(const char *label, uint64_t bytes)
{
	char h[FS_SIZE_STR_LEN];

	fs_size_human(bytes, h);
	fprintf(fs_stdout(), "%-10s %s (%llu bytes)\n", label, h,
		(unsigned long long)bytes);
}

int fs_cmd_stats(struct fs_ctx *ctx, int argc, char **argv)
{
	struct store_stats st;
	int rc;

	(void)argc, (void)argv;
	rc = fs_authorize(ctx, ACL_LIST, "/", "stats");
	if (!rc)
		rc = store_stats_get(ctx->store, &st);
	if (rc < 0)
		return rc;
	if (ctx->json)
		return stats_json(ctx->store, &st);
	fprintf(fs_stdout(), "%-10s %llu\n%-10s %llu\n%-10s %llu distinct\n",
		"artifacts", (unsigned long long)st.artifacts, "versions",
		(unsigned long long)st.versions, "files",
		(unsigned long long)st.files);
	stats_line("logical", st.logical_bytes);
	fprintf(fs_stdout(), "%-10s %llu\n", "chunks",
		(unsigned long long)st.chunks);
	stats_line("chunk data", st.chunk_bytes);
	stats_line("stored", st.stored_bytes);
	if (st.stored_bytes)
		fprintf(fs_stdout(),
			"%-10s %.2fx (dedup %.2fx, compression %.2fx)\n",
			"ratio", ratio(st.logical_bytes, st.stored_bytes),
			ratio(st.logical_bytes, st.chunk_bytes),
			ratio(st.chunk_bytes, st.stored_bytes));
	else
		fprintf(fs_stdout(), "%-10s -\n", "ratio");
	return 0;
}

/* ----------------------------------------------------------- fsck, gc */

int fs_cmd_fsck(struct fs_ctx *ctx, int argc, char **argv)
{
	struct store_check chk = {0};
	char h[FS_SIZE_STR_LEN];
	struct fs_progress prog;
	int rc;

	(void)argc, (void)argv;
	fs_progress_init(&prog, "fsck", 0, ctx->quiet);
	rc = fs_authorize(ctx, ACL_AUDIT, "/", "fsck");
	if (!rc)
		rc = store_fsck(ctx->store, fs_progress_cb, &prog, &chk);
	fs_progress_end(&prog);
	if (rc < 0 && rc != -EUCLEAN)
		return rc;
	if (ctx->json) {
		int prc = fs_json_print(json_pack(
		    "{s:b, s:I, s:I, s:I, s:I}", "clean", rc == 0, "chunks",
		    (json_int_t)chk.chunks, "bytes", (json_int_t)chk.bytes,
		    "problems", (json_int_t)chk.problems, "unreferenced",
		    (json_int_t)chk.unreferenced));
		return rc < 0 ? rc : prc;
	}
	fs_size_human(chk.bytes, h);
	if (rc == 0)
		fprintf(fs_stdout(), "checked %llu chunks (%s): clean\n",
			(unsigned long long)chk.chunks, h);
	else
		fprintf(fs_stdout(),
			"checked %llu chunks (%s): %llu problem%s\n",
			(unsigned long long)chk.chunks, h,
			(unsigned long long)chk.problems,
			chk.problems == 1 ? "" : "s");
	if (chk.unreferenced)
		fprintf(fs_stdout(),
			"note: %llu unreferenced chunks (reclaim them with "
			"'%s gc')\n",
			(unsigned long long)chk.unreferenced, FS_PROG);
	return rc;
}

struct gc_out {
	struct fs_ctx *ctx;
	json_t *list; /* with --json */
};

/* One version retention deletes or keeps: a line, or a JSON entry. */
static int gc_item(void *arg, const struct store_gc_item *it)
{
	struct fs_ctx *ctx = ((struct gc_out *)arg)->ctx;
	json_t *list = ((struct gc_out *)arg)->list;
	char h[FS_SIZE_STR_LEN];

	if (list)
		return json_array_append_new(
			   list, json_pack("{s:s, s:I, s:b, s:s}", "artifact",
					   it->artifact, "version",
					   (json_int_t)it->number, "removed",
					   it->removed, "why", it->why))
			   ? -ENOMEM
			   : 0;
	fs_size_human(it->size, h);
	fprintf(fs_stdout(), "%s %s@v%u (%s): %s\n",
		!it->removed   ? "keep"
		: ctx->dry_run ? "would delete"
			       : "deleted",
		it->artifact, it->number, h, it->why);
	return 0;
}

int fs_cmd_gc(struct fs_ctx *ctx, int argc, char **argv)
{
	struct store_gc_result res = {0};
	struct store_retain r = {ctx->retain, ctx->nretain, 0};
	json_t *list = ctx->json ? json_array() : NULL;
	struct gc_out arg = {ctx, list};
	struct fs_progress prog;
	char h[FS_SIZE_STR_LEN];
	struct timespec now;
	int rc;

	(void)argc, (void)argv;
	clock_gettime(CLOCK_REALTIME, &now);
	r.now = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	rc = fs_authorize(ctx, ACL_ADMIN, "/", "gc");
	fs_progress_init(&prog, "gc", 0, ctx->quiet);
	if (!rc)
		rc =
		    store_gc_retain(ctx->store, &ctx->caller, &r, ctx->dry_run,
				    gc_item, &arg, fs_progress_cb, &prog, &res);
	fs_progress_end(&prog);
	if (rc < 0) {
		json_decref(list);
		return rc;
	}
	if (ctx->json)
		return fs_json_print(
		    json_pack("{s:b, s:I, s:I, s:I, s:I, s:o}", "dry_run",
			      ctx->dry_run, "chunks", (json_int_t)res.chunks,
			      "bytes", (json_int_t)res.bytes, "files",
			      (json_int_t)res.files, "versions_removed",
			      (json_int_t)res.versions, "versions", list));
	fs_size_human(res.bytes, h);
	fprintf(fs_stdout(), "%s %llu chunks (%s) and %llu file%s\n",
		ctx->dry_run ? "would remove" : "removed",
		(unsigned long long)res.chunks, h,
		(unsigned long long)res.files, res.files == 1 ? "" : "s");
	return 0;
}
