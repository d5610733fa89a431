/*
 * fs/cli/cmd_ls.c - `artifactfs ls`: artifacts, the versions of one
 * artifact, or the files of one version.
 *
 *     ls                          artifact, versions, latest, size, time
 *     ls ARTIFACT                 each version, with its aliases
 *     ls ARTIFACT@REF[/PATH] [-R] mode, size, name (dirs end in '/')
 *
 * With --json each form prints one array of objects.  Everything is read
 * into memory before it is printed, so no store iteration is nested in
 * another one.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_i.h"

/* ------------------------------------------------------------ artifacts */

struct names {
	char **v;
	size_t n, cap;
};

static int names_add(void *arg, const char *name)
{
	struct names *a = arg;

	if (a->n == a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 16;
		char **p = realloc(a->v, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		a->v = p;
		a->cap = cap;
	}
	a->v[a->n] = strdup(name);
	if (!a->v[a->n])
		return -ENOMEM;
	a->n++;
	return 0;
}

static void names_release(struct names *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
}

struct newest {
	uint64_t count;
	struct store_version latest;
};

static int count_version(void *arg, const struct store_version *v)
{
	struct newest *nw = arg;

	nw->count++;
	nw->latest = *v; /* oldest first: the last one is the newest */
	return 0;
}

static int artifact_json(json_t *arr, const struct newest *nw)
{
	json_t *o = fs_json_version(&nw->latest);

	if (!o ||
	    json_object_set_new(o, "versions",
				json_integer((json_int_t)nw->count)) ||
	    json_object_set_new(o, "latest", json_integer(nw->latest.number))) {
		json_decref(o);
		return -ENOMEM;
	}
	json_object_del(o, "version");
	return json_array_append_new(arr, o) ? -ENOMEM : 0;
}

static void artifact_line(const struct newest *nw, int width, bool *header)
{
	char size[FS_SIZE_STR_LEN], when[FS_TIME_STR_LEN], ref[16];

	if (*header)
		fprintf(fs_stdout(), "%-*s  %8s  %-6s  %10s  %s\n", width,
			"ARTIFACT", "VERSIONS", "LATEST", "SIZE", "CREATED");
	*header = false;
	fs_size_human(nw->latest.size, size);
	fs_time_iso(nw->latest.created, when);
	snprintf(ref, sizeof(ref), "v%u", nw->latest.number);
	fs_put_padded(fs_stdout(), nw->latest.artifact, width);
	fprintf(fs_stdout(), "  %8llu  %-6s  %10s  %s\n",
		(unsigned long long)nw->count, ref, size, when);
}

static int ls_artifacts(struct fs_ctx *ctx)
{
	struct names a = {NULL, 0, 0};
	json_t *arr = ctx->json ? json_array() : NULL;
	bool header = true;
	int width = 8, rc;
	size_t i;

	if (ctx->json && !arr)
		return -ENOMEM;
	rc = store_artifact_each(ctx->store, names_add, &a);
	for (i = 0; rc == 0 && i < a.n; i++) {
		int w = fs_text_width(a.v[i]);

		if (w > width)
			width = w > 40 ? 40 : w;
	}
	for (i = 0; rc == 0 && i < a.n; i++) {
		struct newest nw = {0};
		char where[STORE_NAME_MAX + 12];

		/* Only the artifacts the caller may list. */
		snprintf(where, sizeof(where), "/artifacts/%s", a.v[i]);
		if (fs_allowed(ctx, ACL_LIST, where))
			continue;
		rc = store_version_each(ctx->store, a.v[i], count_version, &nw);
		if (rc == 0 && nw.count == 0)
			continue;
		if (rc == 0 && arr)
			rc = artifact_json(arr, &nw);
		else if (rc == 0)
			artifact_line(&nw, width, &header);
	}
	names_release(&a);
	if (rc == 0 && arr)
		return fs_json_print(arr);
	json_decref(arr);
	return rc;
}

/* ------------------------------------------------------------- versions */

struct alias {
	char name[STORE_NAME_MAX + 1];
	uint32_t number;
};

struct aliases {
	struct alias *v;
	size_t n, cap;
};

static int alias_add(void *arg, const char *name, uint32_t number)
{
	struct aliases *a = arg;

	if (a->n == a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 8;
		struct alias *p = realloc(a->v, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		a->v = p;
		a->cap = cap;
	}
	snprintf(a->v[a->n].name, sizeof(a->v[a->n].name), "%s", name);
	a->v[a->n++].number = number;
	return 0;
}

struct ls_versions {
	struct fs_ctx *ctx;
	struct aliases aliases;
	json_t *arr;
	bool header;
};

static int version_json(struct ls_versions *lv, const struct store_version *v)
{
	json_t *o = fs_json_version(v), *names = json_array();
	size_t i;

	if (!o || !names)
		goto out_nomem;
	for (i = 0; i < lv->aliases.n; i++)
		if (lv->aliases.v[i].number == v->number &&
		    json_array_append_new(names,
					  fs_json_str(lv->aliases.v[i].name)))
			goto out_nomem;
	if (json_object_set_new(o, "aliases", names)) {
		names = NULL;
		goto out_nomem;
	}
	return json_array_append_new(lv->arr, o) ? -ENOMEM : 0;
out_nomem:
	json_decref(names);
	json_decref(o);
	return -ENOMEM;
}

static int version_line(void *arg, const struct store_version *v)
{
	struct ls_versions *lv = arg;
	char digest[FS_DIGEST_SHORT_LEN], size[FS_SIZE_STR_LEN];
	char when[FS_TIME_STR_LEN], ref[16];
	const char *sep = "";
	size_t i;

	if (lv->arr)
		return version_json(lv, v);
	if (lv->header)
		fprintf(fs_stdout(),
			"%-7s  %-19s  %10s  %6s  %-20s  %-12s  %s\n", "VERSION",
			"DIGEST", "SIZE", "FILES", "CREATED", "RUN", "ALIASES");
	lv->header = false;
	fs_digest_short(v->digest, digest);
	fs_size_human(v->size, size);
	fs_time_iso(v->created, when);
	snprintf(ref, sizeof(ref), "v%u", v->number);
	fprintf(fs_stdout(), "%-7s  %-19s  %10s  %6llu  %-20s  %-12s  ", ref,
		digest, size, (unsigned long long)v->files, when,
		v->run[0] ? v->run : "-");
	for (i = 0; i < lv->aliases.n; i++) {
		if (lv->aliases.v[i].number != v->number)
			continue;
		fprintf(fs_stdout(), "%s%s", sep, lv->aliases.v[i].name);
		sep = ",";
	}
	fprintf(fs_stdout(), "%s\n", sep[0] ? "" : "-");
	return 0;
}

static int ls_versions(struct fs_ctx *ctx, const char *artifact)
{
	struct ls_versions lv = {ctx, {NULL, 0, 0}, NULL, true};
	unsigned long before = fs_log_errors();
	int rc;

	ctx->subject = artifact;
	rc = fs_name_check("artifact", artifact);
	if (rc == 0)
		rc = fs_authorize_at(ctx, ACL_LIST, "ls", "/artifacts/%s",
				     artifact);
	if (rc < 0)
		return rc;
	if (ctx->json) {
		lv.arr = json_array();
		if (!lv.arr)
			return -ENOMEM;
	}
	rc = store_alias_each(ctx->store, artifact, alias_add, &lv.aliases);
	if (rc == 0)
		rc =
		    store_version_each(ctx->store, artifact, version_line, &lv);
	if (rc == -ENOENT && fs_log_errors() == before)
		store_log(STORE_LOG_ERR, "ls: no such artifact '%s'", artifact);
	free(lv.aliases.v);
	if (rc == 0 && lv.arr)
		return fs_json_print(lv.arr);
	json_decref(lv.arr);
	return rc;
}

/* ---------------------------------------------------------------- files */

static int entry_json(struct fs_ctx *ctx, json_t *arr,
		      const struct store_dirent *e, const char *path,
		      const char *target)
{
	static const char *const kinds[] = {"?", "file", "dir", "symlink"};
	char mode[8];
	json_t *o;

	(void)ctx;
	snprintf(mode, sizeof(mode), "%04o", e->mode & 07777);
	o = json_pack("{s:o, s:s, s:s, s:I, s:o, s:o?}", "path",
		      fs_json_str(path), "type",
		      kinds[e->kind <= 3 ? e->kind : 0], "mode", mode, "size",
		      (json_int_t)e->size, "digest", fs_json_digest(e->digest),
		      "target", target ? fs_json_str(target) : NULL);
	if (!o)
		return -ENOMEM;
	return json_array_append_new(arr, o) ? -ENOMEM : 0;
}

static int entry_show(struct fs_ctx *ctx, json_t *arr,
		      const struct store_dirent *e, const char *path)
{
	char mode[FS_MODE_STR_LEN], target[PATH_MAX] = "";
	int rc;

	if (e->kind == STORE_KIND_SYMLINK) {
		rc = store_symlink_read(ctx->store, e->digest, target,
					sizeof(target));
		if (rc < 0)
			return rc;
	}
	if (arr)
		return entry_json(ctx, arr, e, path,
				  e->kind == STORE_KIND_SYMLINK ? target
								: NULL);
	fs_mode_string(e->kind, e->mode, mode);
	if (e->kind == STORE_KIND_DIR)
		fprintf(fs_stdout(), "%s  %12s  %s/\n", mode, "-", path);
	else if (e->kind == STORE_KIND_SYMLINK)
		fprintf(fs_stdout(), "%s  %12llu  %s -> %s\n", mode,
			(unsigned long long)e->size, path, target);
	else
		fprintf(fs_stdout(), "%s  %12llu  %s\n", mode,
			(unsigned long long)e->size, path);
	return 0;
}

/* Shows the entries of directory dir, named prefix/name (recursing with
 * -R). */
static int ls_dir(struct fs_ctx *ctx, json_t *arr,
		  const uint8_t dir[STORE_DIGEST_LEN], const char *prefix,
		  int depth)
{
	struct store_dirent *ents;
	char *path;
	size_t i, n;
	int rc;

	rc = fs_dir_list(ctx->store, dir, &ents, &n);
	for (i = 0; rc == 0 && i < n; i++) {
		if (asprintf(&path, "%s%s%s", prefix, prefix[0] ? "/" : "",
			     ents[i].name) < 0) {
			rc = -ENOMEM;
			break;
		}
		rc = entry_show(ctx, arr, &ents[i], path);
		if (rc == 0 && ctx->recursive &&
		    ents[i].kind == STORE_KIND_DIR && depth < 1024)
			rc = ls_dir(ctx, arr, ents[i].digest, path, depth + 1);
		free(path);
	}
	free(ents);
	return rc;
}

static int ls_files(struct fs_ctx *ctx, const char *spec)
{
	json_t *arr = ctx->json ? json_array() : NULL;
	struct fs_target t;
	int rc;

	if (ctx->json && !arr)
		return -ENOMEM;
	rc = fs_target_resolve(ctx, spec, &t);
	if (rc == 0 && t.e.kind == STORE_KIND_DIR)
		rc = ls_dir(ctx, arr, t.e.digest, "", 0);
	else if (rc == 0)
		rc = entry_show(ctx, arr, &t.e, t.path);
	fs_target_release(&t);
	if (rc == 0 && arr)
		return fs_json_print(arr);
	json_decref(arr);
	return rc;
}

int fs_cmd_ls(struct fs_ctx *ctx, int argc, char **argv)
{
	if (argc == 0) {
		if (ctx->recursive)
			return fs_usage_error(ctx, "-R needs ARTIFACT@REF");
		return ls_artifacts(ctx);
	}
	if (!strpbrk(argv[0], "@/")) {
		if (ctx->recursive)
			return fs_usage_error(ctx, "-R needs ARTIFACT@REF");
		return ls_versions(ctx, argv[0]);
	}
	return ls_files(ctx, argv[0]);
}
