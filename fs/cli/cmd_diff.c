/*
 * cmd_diff.c - `artifactfs diff`, `rollback` and `env show`: comparing
 * runs (their steps' environments, params and versions) or versions
 * (file by file), moving an alias back, and showing what rebuilds the
 * environment that produced a version.
 *
 *     artifactfs diff P/R1 P/R2 [--step S] [--json]
 *     artifactfs diff ARTIFACT@A ARTIFACT@B [--json]
 *     artifactfs rollback ARTIFACT ALIAS vK
 *     artifactfs env show ARTIFACT@REF [--requirements] [--json]
 *
 * diff exits 0 when the two are equal, 1 when they differ, 2 on an error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envdiff_i.h"

#define RUN_NAME_LEN (2 * (STORE_NAME_MAX + 1))

/* diff's exit status for an error (a usage error is 2 already). */
static int diff_error(struct fs_ctx *ctx, int rc)
{
	if (rc < 0)
		ctx->exit_code = 2;
	return rc;
}

/* ------------------------------------------------------------ runs */

struct names {
	char **v;
	size_t n;
};

static int name_add(void *arg, const char *name)
{
	struct names *l = arg;
	char **v;

	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i], name))
			return 0;
	v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	l->v = v;
	l->v[l->n] = strdup(name);
	return l->v[l->n++] ? 0 : -ENOMEM;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void names_free(struct names *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

/* One compared step: its differences (an only-one-side step is one
 * ED_STEPS item). */
struct step_diff {
	const char *step;
	struct envdiff d;
};

static int diff_step(struct fs_ctx *ctx, const char *p[2], const char *r[2],
		     struct step_diff *out)
{
	bool has[2];
	int rc = 0;

	for (int i = 0; i < 2; i++) {
		rc = store_step_get(ctx->store, p[i], r[i], out->step);
		if (rc && rc != -ENOENT)
			return rc;
		has[i] = rc == 0;
	}
	if (!has[0] || !has[1]) {
		if (ctx->step) {
			store_log(STORE_LOG_ERR, "no step %s in run %s/%s",
				  out->step, p[has[0]], r[has[0]]);
			return -ENOENT;
		}
		return envdiff_text(&out->d, ED_STEPS, has[0] ? out->step : "",
				    has[1] ? out->step : "");
	}
	struct envdiff_side a = {p[0], r[0], out->step},
			    b = {p[1], r[1], out->step};

	return envdiff_steps(ctx->store, &a, &b, &out->d);
}

static json_t *items_json(const struct envdiff *d)
{
	json_t *o = json_object();

	for (size_t i = 0; o && i < d->n; i++) {
		const struct envdiff_item *it = &d->v[i];
		const char *sec = envdiff_sections[it->section];
		json_t *arr = json_object_get(o, sec);

		if (!arr) {
			arr = json_array();
			json_object_set_new(o, sec, arr);
		}
		json_array_append_new(
		    arr,
		    json_pack("{s:s, s:o, s:o}", "name", it->name, "old",
			      it->old ? json_string(it->old) : json_null(),
			      "new",
			      it->new ? json_string(it->new) : json_null()));
	}
	return o;
}

static int print_runs(struct fs_ctx *ctx, const char *a, const char *b,
		      const struct step_diff *sd, size_t n, size_t total)
{
	FILE *f = fs_stdout();
	char line[1024];

	if (ctx->json) {
		json_t *steps = json_object();

		for (size_t i = 0; i < n; i++)
			json_object_set_new(steps, sd[i].step,
					    items_json(&sd[i].d));
		return fs_json_print(json_pack("{s:s, s:s, s:b, s:o}", "a", a,
					       "b", b, "equal", total == 0,
					       "steps", steps));
	}
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < sd[i].d.n; k++) {
			envdiff_item_text(&sd[i].d.v[k], line, sizeof(line));
			if (n > 1 && sd[i].d.v[k].section != ED_STEPS)
				fprintf(f, "%s: ", sd[i].step);
			fprintf(f, "%s\n", line);
		}
	}
	if (total == 0)
		fprintf(f, "%s and %s: no differences\n", a, b);
	else
		fprintf(f, "%s -> %s: %zu difference%s\n", a, b, total,
			total == 1 ? "" : "s");
	return 0;
}

static int diff_runs(struct fs_ctx *ctx, const char *sa, const char *sb)
{
	char pa[STORE_NAME_MAX + 1], ra[STORE_NAME_MAX + 1],
	    pb[STORE_NAME_MAX + 1], rb[STORE_NAME_MAX + 1];
	const char *p[2] = {pa, pb}, *r[2] = {ra, rb};
	struct names steps = {0};
	struct step_diff *sd = NULL;
	size_t total = 0;
	int rc = fs_split_run(ctx, sa, pa, ra);

	if (!rc)
		rc = fs_split_run(ctx, sb, pb, rb);
	for (int i = 0; !rc && i < 2; i++) {
		struct store_run run;

		rc = fs_authorize_at(ctx, ACL_READ, "diff",
				     "/pipelines/%s/runs/%s", p[i], r[i]);
		if (!rc)
			rc = store_run_get(ctx->store, p[i], r[i], &run);
		if (rc == -ENOENT)
			store_log(STORE_LOG_ERR, "no run %s/%s", p[i], r[i]);
	}
	if (!rc && ctx->step)
		rc = name_add(&steps, ctx->step);
	for (int i = 0; !rc && !ctx->step && i < 2; i++)
		rc = store_step_each(ctx->store, p[i], r[i], name_add, &steps);
	if (!rc && steps.n)
		qsort(steps.v, steps.n, sizeof(*steps.v), name_cmp);
	sd = calloc(steps.n ? steps.n : 1, sizeof(*sd));
	if (!rc && !sd)
		rc = -ENOMEM;
	for (size_t i = 0; !rc && i < steps.n; i++) {
		sd[i].step = steps.v[i];
		rc = diff_step(ctx, p, r, &sd[i]);
		total += sd[i].d.n;
	}
	if (!rc)
		rc = print_runs(ctx, sa, sb, sd, steps.n, total);
	for (size_t i = 0; sd && i < steps.n; i++)
		envdiff_release(&sd[i].d);
	free(sd);
	names_free(&steps);
	if (!rc && total)
		ctx->forwarded = 1;
	return diff_error(ctx, rc);
}

/* -------------------------------------------------------- versions */

enum change { CH_ADDED = 'A', CH_REMOVED = 'D', CH_MODIFIED = 'M' };

struct vdiff {
	struct fs_ctx *ctx;
	json_t *files; /* with --json */
	size_t counts[3];
};

static json_t *entry_json(const struct store_dirent *e)
{
	char mode[8];

	if (!e)
		return json_null();
	snprintf(mode, sizeof(mode), "%04o", e->mode);
	return json_pack("{s:I, s:s, s:o}", "size", (json_int_t)e->size, "mode",
			 mode, "digest", fs_json_digest(e->digest));
}

static void report(struct vdiff *v, enum change ch, const char *path,
		   const struct store_dirent *a, const struct store_dirent *b)
{
	v->counts[ch == CH_ADDED ? 0 : ch == CH_REMOVED ? 1 : 2]++;
	if (v->files) {
		const char *what = ch == CH_ADDED     ? "added"
				   : ch == CH_REMOVED ? "removed"
						      : "changed";

		json_array_append_new(
		    v->files, json_pack("{s:s, s:s, s:o, s:o}", "path", path,
					"change", what, "old", entry_json(a),
					"new", entry_json(b)));
		return;
	}
	if (ch == CH_MODIFIED && a->mode != b->mode &&
	    !memcmp(a->digest, b->digest, STORE_DIGEST_LEN))
		fprintf(fs_stdout(), "M  %s  mode %04o -> %04o\n", path,
			a->mode, b->mode);
	else if (ch == CH_MODIFIED)
		fprintf(fs_stdout(), "M  %s  %llu -> %llu B%s\n", path,
			(unsigned long long)a->size,
			(unsigned long long)b->size,
			a->mode != b->mode ? "  (mode changed)" : "");
	else
		fprintf(fs_stdout(), "%c  %s  %llu B\n", ch, path,
			(unsigned long long)(a ? a : b)->size);
}

static int walk(struct vdiff *v, const uint8_t *da, const uint8_t *db,
		const char *prefix);

/* One name of the merged listings: a (or b) NULL when absent. */
static int compare_entry(struct vdiff *v, const char *prefix,
			 const struct store_dirent *a,
			 const struct store_dirent *b)
{
	char path[4096];
	const struct store_dirent *e = a ? a : b;
	bool adir = a && a->kind == STORE_KIND_DIR,
	     bdir = b && b->kind == STORE_KIND_DIR;
	int rc = 0;

	snprintf(path, sizeof(path), "%s%s%s", prefix, prefix[0] ? "/" : "",
		 e->name);
	if (adir || bdir) {
		rc = walk(v, adir ? a->digest : NULL, bdir ? b->digest : NULL,
			  path);
		if (!rc && a && !adir)
			report(v, CH_REMOVED, path, a, NULL);
		if (!rc && b && !bdir)
			report(v, CH_ADDED, path, NULL, b);
	} else if (!a || !b) {
		report(v, a ? CH_REMOVED : CH_ADDED, path, a, b);
	} else if (memcmp(a->digest, b->digest, STORE_DIGEST_LEN) ||
		   a->mode != b->mode || a->kind != b->kind) {
		report(v, CH_MODIFIED, path, a, b);
	}
	return rc;
}

static int walk(struct vdiff *v, const uint8_t *da, const uint8_t *db,
		const char *prefix)
{
	struct store_dirent *a = NULL, *b = NULL;
	size_t na = 0, nb = 0, i = 0, j = 0;
	int rc = da ? fs_dir_list(v->ctx->store, da, &a, &na) : 0;

	if (!rc && db)
		rc = fs_dir_list(v->ctx->store, db, &b, &nb);
	while (!rc && (i < na || j < nb)) {
		int c = i == na	  ? 1
			: j == nb ? -1
				  : strcmp(a[i].name, b[j].name);

		rc = compare_entry(v, prefix, c <= 0 ? &a[i] : NULL,
				   c >= 0 ? &b[j] : NULL);
		i += c <= 0;
		j += c >= 0;
	}
	free(a);
	free(b);
	return rc;
}

static int diff_versions(struct fs_ctx *ctx, const char *sa, const char *sb)
{
	struct fs_target t[2] = {0};
	struct vdiff v = {.ctx = ctx};
	size_t total;
	int rc = 0;

	for (int i = 0; !rc && i < 2; i++) {
		rc = fs_target_resolve(ctx, i ? sb : sa, &t[i]);
		if (!rc)
			rc = fs_authorize_at(ctx, ACL_READ, "diff",
					     "/artifacts/%s/v%u", t[i].artifact,
					     t[i].v.number);
	}
	if (!rc && ctx->json)
		v.files = json_array();
	if (!rc && !ctx->json)
		fprintf(fs_stdout(), "%s@v%u (%s) -> %s@v%u (%s)\n",
			t[0].artifact, t[0].v.number,
			t[0].v.run[0] ? t[0].v.run : "no run", t[1].artifact,
			t[1].v.number, t[1].v.run[0] ? t[1].v.run : "no run");
	if (!rc)
		rc = walk(&v, t[0].v.digest, t[1].v.digest, "");
	total = v.counts[0] + v.counts[1] + v.counts[2];
	if (!rc && ctx->json)
		rc = fs_json_print(json_pack(
		    "{s:{s:s, s:i, s:s}, s:{s:s, s:i, s:s}, s:b, s:O}", "a",
		    "artifact", t[0].artifact, "version", t[0].v.number, "run",
		    t[0].v.run, "b", "artifact", t[1].artifact, "version",
		    t[1].v.number, "run", t[1].v.run, "equal", total == 0,
		    "files", v.files));
	else if (!rc)
		fprintf(fs_stdout(),
			"%zu file%s changed: %zu added, %zu removed, %zu "
			"modified\n",
			total, total == 1 ? "" : "s", v.counts[0], v.counts[1],
			v.counts[2]);
	json_decref(v.files);
	fs_target_release(&t[0]);
	fs_target_release(&t[1]);
	if (!rc && total)
		ctx->forwarded = 1;
	return diff_error(ctx, rc);
}

int fs_cmd_diff(struct fs_ctx *ctx, int argc, char **argv)
{
	bool va = strchr(argv[0], '@') != NULL, vb = strchr(argv[1], '@');

	(void)argc;
	if (va != vb)
		return fs_usage_error(ctx, "compare two runs (P/R) or two "
					   "versions (ARTIFACT@REF)");
	if (va && ctx->step)
		return fs_usage_error(ctx, "--step applies to runs");
	return va ? diff_versions(ctx, argv[0], argv[1])
		  : diff_runs(ctx, argv[0], argv[1]);
}

/* --------------------------------------------------------- rollback */

int fs_cmd_rollback(struct fs_ctx *ctx, int argc, char **argv)
{
	const char *artifact = argv[0], *alias = argv[1];
	struct store_version v;
	char path[2 * STORE_NAME_MAX + 16], dg[STORE_DIGEST_STR_LEN];
	uint32_t cur;
	int rc;

	(void)argc;
	ctx->subject = artifact;
	rc = fs_name_check("artifact", artifact);
	if (!rc)
		rc = fs_name_check("alias", alias);
	if (!rc)
		rc = fs_authorize_at(ctx, ACL_ALIAS, "alias.rollback",
				     "/artifacts/%s/%s", artifact, alias);
	if (!rc && (argv[2][0] != 'v' || !argv[2][1] ||
		    strspn(argv[2] + 1, "0123456789") != strlen(argv[2] + 1)))
		return fs_usage_error(ctx, "'%s' is not a version vK", argv[2]);
	if (!rc)
		rc = store_ref_resolve(ctx->store, artifact, argv[2], &v);
	if (rc)
		return rc;
	rc = store_alias_get(ctx->store, artifact, alias, &cur);
	if (rc == -ENOENT) {
		store_log(STORE_LOG_ERR, "%s has no alias %s to roll back",
			  artifact, alias);
		return rc;
	}
	if (!rc && v.number >= cur) {
		store_log(STORE_LOG_ERR,
			  "%s: %s is at v%u; v%u is not older (use 'alias "
			  "set' to move it forward)",
			  artifact, alias, cur, v.number);
		return -EINVAL;
	}
	if (!rc)
		rc = store_alias_set(ctx->store, &ctx->caller, artifact, alias,
				     v.number);
	snprintf(path, sizeof(path), "/artifacts/%s/%s", artifact, alias);
	store_digest_format(v.digest, dg);
	if (!rc)
		rc = store_audit_record(ctx->store, &ctx->caller,
					"alias.rollback", path, dg, cur, 0);
	if (!rc)
		fprintf(fs_stdout(),
			"%s: %s v%u -> v%u (rolled back); 'artifactfs env show "
			"%s@v%u --requirements' rebuilds its environment\n",
			artifact, alias, cur, v.number, artifact, v.number);
	return rc;
}

/* --------------------------------------------------------- env show */

/* pip requirements from packages.txt, the dpkg packages as comments. */
static void print_requirements(FILE *f, const char *packages)
{
	char *copy = strdup(packages ? packages : ""), *save = NULL;

	for (int pass = 0; copy && pass < 3; pass++) {
		char *dup = strdup(copy);

		if (pass == 2)
			fprintf(f, "# dpkg packages (apt-get install "
				   "NAME=VERSION):\n");
		for (char *l = dup ? strtok_r(dup, "\n", &save) : NULL; l;
		     l = strtok_r(NULL, "\n", &save)) {
			char *sp = strrchr(l, ' ');

			if (!sp)
				continue;
			*sp = '\0';
			if (pass == 0 && !strncmp(l, "interpreter ", 12))
				fprintf(f, "# %s %s\n", l + 12, sp + 1);
			else if (pass == 1 && !strncmp(l, "python ", 7))
				fprintf(f, "%s==%s\n", l + 7, sp + 1);
			else if (pass == 2 && !strncmp(l, "dpkg ", 5))
				fprintf(f, "#   %s=%s\n", l + 5, sp + 1);
		}
		free(dup);
	}
	free(copy);
}

static int env_print(struct fs_ctx *ctx, const struct fs_target *t,
		     const char *p, const char *r, const char *step)
{
	FILE *f = fs_stdout();
	uint8_t dg[STORE_DIGEST_LEN];
	char dgs[STORE_DIGEST_STR_LEN];
	struct envsnap e;
	int rc = store_env_get(ctx->store, p, r, step, dg);

	if (!rc)
		rc = fs_envsnap_load(ctx->store, p, r, step, &e);
	if (rc == -ENOENT)
		store_log(STORE_LOG_ERR,
			  "%s@v%u: its step %s/%s/%s has no environment "
			  "(not made by run exec)",
			  t->artifact, t->v.number, p, r, step);
	if (rc)
		return rc;
	store_digest_format(dg, dgs);
	if (ctx->json) {
		json_t *o = json_pack("{s:s, s:i, s:s, s:s}", "artifact",
				      t->artifact, "version", t->v.number,
				      "run", t->v.run, "env", dgs);

		for (int i = 0; o && i < ENVSNAP_N; i++)
			json_object_set_new(
			    o, envsnap_names[i],
			    fs_json_str(e.f[i].p ? e.f[i].p : ""));
		rc = fs_json_print(o);
	} else {
		fprintf(f, "# %s@v%u, produced by %s, environment %s\n",
			t->artifact, t->v.number, t->v.run, dgs);
		if (ctx->requirements) {
			print_requirements(f, e.f[ENVSNAP_PACKAGES].p);
		} else {
			for (int i = 0; i < ENVSNAP_N; i++)
				if (i != ENVSNAP_ENVIRON)
					fprintf(f, "== %s\n%s",
						envsnap_names[i],
						e.f[i].p ? e.f[i].p : "");
		}
	}
	fs_envsnap_release(&e);
	return rc;
}

int fs_cmd_env(struct fs_ctx *ctx, int argc, char **argv)
{
	char p[STORE_NAME_MAX + 1], r[STORE_NAME_MAX + 1],
	    step[STORE_NAME_MAX + 1];
	struct fs_target t = {0};
	int rc;

	(void)argc;
	if (strcmp(argv[0], "show"))
		return fs_usage_error(ctx, "unknown action '%s' (show)",
				      argv[0]);
	rc = fs_target_resolve(ctx, argv[1], &t);
	if (!rc)
		rc = fs_authorize_at(ctx, ACL_READ, "env.show",
				     "/artifacts/%s/v%u", t.artifact,
				     t.v.number);
	if (!rc &&
	    sscanf(t.v.run, "%255[^/]/%255[^/]/%255s", p, r, step) != 3) {
		store_log(STORE_LOG_ERR,
			  "%s@v%u was not produced by a step of a run: no "
			  "environment",
			  t.artifact, t.v.number);
		rc = -ENOENT;
	}
	if (!rc)
		rc = fs_authorize_at(ctx, ACL_READ, "env.show",
				     "/pipelines/%s/runs/%s", p, r);
	if (!rc)
		rc = env_print(ctx, &t, p, r, step);
	fs_target_release(&t);
	return rc;
}
