/*
 * mnt_resolve.c - what each node of the mount is: resolution of a name
 * under a directory, listings and run.json, all read from the store.
 * What the kernel is told of a node (attributes, timeouts) is
 * mnt_attr.c's.
 */
#include "mnt_i.h"

#include "acl.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct fixed {
	const char *name;
	enum mnt_kind kind;
};

static const struct fixed root_kids[] = {{"pipelines", MK_PIPELINES},
					 {"artifacts", MK_ARTIFACTS},
					 {"audit", MK_AUDIT},
					 {"secrets", MK_SECRETS}};
static const struct fixed pipeline_kids[] = {{"runs", MK_RUNS}};
static const struct fixed run_kids[] = {{"run.json", MK_RUN_JSON},
					{"control", MK_CONTROL},
					{"env", MK_RUN_ENV},
					{"steps", MK_STEPS}};
static const struct fixed step_kids[] = {{"inputs", MK_INPUTS},
					 {"outputs", MK_OUT},
					 {"env", MK_STEP_ENV},
					 {"trace.jsonl", MK_TRACE}};

#define NFIXED(a) (sizeof(a) / sizeof((a)[0]))

static bool is_dir_kind(enum mnt_kind k)
{
	return k != MK_RUN_JSON && k != MK_CONTROL && k != MK_TRACE &&
	       k != MK_ALIAS && k != MK_AUDIT_DAY && k != MK_SECRET &&
	       k != MK_ENV_FILE;
}

static int fixed_child(const struct fixed *f, size_t n, const char *name,
		       struct mnt_node *out)
{
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(f[i].name, name)) {
			out->kind = f[i].kind;
			out->e.kind = is_dir_kind(f[i].kind) ? STORE_KIND_DIR
							     : STORE_KIND_FILE;
			out->e.mode = 0755;
			return 0;
		}
	}
	return -ENOENT;
}

/* Facts of a run shared by every node inside it. */
static int run_facts(struct mnt *m, const struct mnt_node *n,
		     struct mnt_node *out)
{
	struct store_run r;
	int rc = store_run_get(m->s, n->c[C_PIPELINE], n->c[C_RUN], &r);

	if (rc)
		return rc;
	out->uid = r.owner;
	out->mtime = r.created;
	out->sealed = r.status != STORE_RUN_OPEN;
	out->elsewhere = !store_run_here(m->s, &r);
	return 0;
}

static int join(char *buf, size_t size, const char *a, const char *b)
{
	int n = snprintf(buf, size, "%s%s%s", a, *a ? "/" : "", b);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int resolve_output(struct mnt *m, const struct mnt_node *parent,
			  const char *name, struct mnt_node *out)
{
	char path[4096];
	struct store_output o;
	int rc = join(path, sizeof(path), parent->tail, name);

	if (!rc)
		rc = run_facts(m, parent, out);
	if (!rc)
		rc = store_output_get(m->s, parent->c[C_PIPELINE],
				      parent->c[C_RUN], parent->c[C_STEP], path,
				      &o);
	if (rc == -ENOENT) {
		char full[4352];

		snprintf(full, sizeof(full), "%s/%s", parent->path, name);
		if (mnt_file_fresh(m, full, out))
			return 0; /* created, not committed yet */
	}
	if (rc)
		return rc;
	out->kind = MK_OUT;
	out->e = o.e;
	out->mtime = o.mtime;
	out->atime = o.atime;
	out->link = o.link;
	out->nlink = o.nlink;
	return 0;
}

int mnt_input_target(const char *name, char *buf, size_t size)
{
	const char *at = strrchr(name, '@');
	int n;

	if (!at || at == name || at[1] != 'v')
		return -EINVAL;
	/* From .../steps/<s>/inputs up to the root: seven levels. */
	n = snprintf(buf, size, "../../../../../../../artifacts/%.*s/%s",
		     (int)(at - name), name, at + 1);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

struct input_find {
	const char *name;
	bool found;
};

static int input_match(void *arg, const char *artifact, uint32_t number)
{
	struct input_find *f = arg;
	char name[STORE_NAME_MAX + 16];

	snprintf(name, sizeof(name), "%s@v%u", artifact, number);
	f->found |= !strcmp(name, f->name);
	return 0;
}

static int resolve_input(struct mnt *m, const struct mnt_node *p,
			 const char *name, struct mnt_node *out)
{
	struct input_find f = {name, false};
	char target[4096];
	int rc = mnt_input_target(name, target, sizeof(target));

	if (rc)
		return -ENOENT;
	rc = store_step_input_each(m->s, p->c[C_PIPELINE], p->c[C_RUN],
				   p->c[C_STEP], input_match, &f);
	if (rc)
		return rc;
	if (!f.found)
		return -ENOENT;
	out->kind = MK_INPUT;
	out->e.kind = STORE_KIND_SYMLINK;
	out->e.mode = 0777;
	out->e.size = strlen(target);
	return 0;
}

/* The mtime kept for path in a version, when one was kept (out->mtime
 * stays the version's time otherwise). */
static void sealed_mtime(struct mnt *m, const char *artifact, uint32_t number,
			 const char *path, struct mnt_node *out)
{
	int64_t t;

	if (store_version_mtime(m->s, artifact, number, path, &t) == 0)
		out->mtime = t;
}

static int resolve_artifact_child(struct mnt *m, const struct mnt_node *p,
				  const char *name, struct mnt_node *out)
{
	struct store_version v;
	uint32_t num;
	int rc = store_ref_number(name, &num);

	if (rc < 0)
		return -ENOENT; /* v0, v01: as the command line refuses them */
	if (rc == 1) {
		rc = store_version_get(m->s, p->c[C_ARTIFACT], num, &v);
		if (rc)
			return rc;
		out->kind = MK_SEALED;
		out->version = v.number;
		out->e.kind = STORE_KIND_DIR;
		out->e.mode = 0555;
		out->e.size = v.files;
		memcpy(out->e.digest, v.digest, STORE_DIGEST_LEN);
		out->mtime = v.created;
		out->sealed = true;
		sealed_mtime(m, p->c[C_ARTIFACT], v.number, "", out);
		return 0;
	}
	rc = store_alias_get(m->s, p->c[C_ARTIFACT], name, &num);
	if (!rc)
		rc = store_version_get(m->s, p->c[C_ARTIFACT], num, &v);
	if (rc)
		return rc;
	out->kind = MK_ALIAS;
	out->mtime = v.created; /* changes when the alias moves */
	out->version = num;
	out->e.kind = STORE_KIND_SYMLINK;
	out->e.mode = 0777;
	out->e.size = (uint64_t)snprintf(NULL, 0, "v%u", num);
	return 0;
}

static int resolve_sealed(struct mnt *m, const struct mnt_node *p,
			  const char *name, struct mnt_node *out)
{
	struct store_version v;
	char path[4096];
	int rc;

	if (p->e.kind != STORE_KIND_DIR)
		return -ENOTDIR;
	rc = store_tree_lookup(m->s, p->e.digest, name, &out->e);
	if (rc)
		return rc;
	out->kind = MK_SEALED;
	out->version = p->version;
	out->sealed = true;
	out->e.mode &= 0555;
	rc = join(path, sizeof(path), p->tail, name);
	if (!rc)
		rc = store_version_get(m->s, p->c[C_ARTIFACT], p->version, &v);
	if (rc)
		return rc;
	out->mtime = v.created;
	sealed_mtime(m, p->c[C_ARTIFACT], p->version, path, out);
	return 0;
}

/* A file of a step's environment snapshot: immutable content. */
static int resolve_env(struct mnt *m, const struct mnt_node *p,
		       const char *name, struct mnt_node *out)
{
	uint8_t dg[STORE_DIGEST_LEN];
	int rc = store_env_get(m->s, p->c[C_PIPELINE], p->c[C_RUN],
			       p->c[C_STEP], dg);

	if (!rc)
		rc = store_tree_lookup(m->s, dg, name, &out->e);
	if (!rc && out->e.kind != STORE_KIND_FILE)
		rc = -ENOENT;
	if (rc)
		return rc;
	out->kind = MK_ENV_FILE;
	out->e.mode = 0444;
	out->sealed = true;
	return 0;
}

/* The size of run.json or control (run's node p): the length of the
 * text an open gives. */
static int run_text_size(struct mnt *m, const struct mnt_node *p,
			 struct mnt_node *out)
{
	struct store_run r;
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (out->kind == MK_CONTROL) {
		rc = store_run_get(m->s, p->c[C_PIPELINE], p->c[C_RUN], &r);
		/* "open\n", "sealed\n", "failed\n" */
		out->e.size = r.status == STORE_RUN_OPEN ? 5 : 7;
		return rc;
	}
	if (out->kind != MK_RUN_JSON)
		return 0;
	rc = mnt_run_json(m, p, &text, &len);
	free(text);
	out->e.size = len;
	return rc;
}

/* An artifact's directory changes when a version is added: its mtime is
 * its newest version's. */
static int newest_version_time(struct mnt *m, const char *artifact,
			       struct mnt_node *out)
{
	struct store_version v;
	uint32_t num;
	int rc = store_alias_get(m->s, artifact, "latest", &num);

	if (!rc)
		rc = store_version_get(m->s, artifact, num, &v);
	if (!rc)
		out->mtime = v.created;
	return rc == -ENOENT ? 0 : rc;
}

int mnt_resolve(struct mnt *m, const struct mnt_node *p, const char *name,
		struct mnt_node *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if (strlen(name) > STORE_NAME_MAX)
		return -ENAMETOOLONG;
	out->mtime = p->mtime;
	out->uid = p->uid;
	out->sealed = p->sealed;
	/* p may be a bare parse (mnt_refresh): take the run's owner and
	 * state from the store, not from p. */
	if (p->kind == MK_RUN || p->kind == MK_STEPS || p->kind == MK_STEP) {
		rc = run_facts(m, p, out);
		if (rc)
			return rc;
	}
	switch (p->kind) {
	case MK_ROOT:
		return fixed_child(root_kids, NFIXED(root_kids), name, out);
	case MK_PIPELINES:
		rc = store_pipeline_get(m->s, name);
		out->kind = MK_PIPELINE;
		break;
	case MK_PIPELINE:
		return fixed_child(pipeline_kids, 1, name, out);
	case MK_RUNS: {
		struct store_run r;

		rc = store_run_get(m->s, p->c[C_PIPELINE], name, &r);
		out->kind = MK_RUN;
		out->uid = r.owner;
		out->mtime = r.created;
		out->sealed = r.status != STORE_RUN_OPEN;
		out->elsewhere = !rc && !store_run_here(m->s, &r);
		break;
	}
	case MK_RUN:
		rc = fixed_child(run_kids, NFIXED(run_kids), name, out);
		if (!rc && out->kind == MK_CONTROL)
			out->e.mode = 0644;
		return rc ? rc : run_text_size(m, p, out);
	case MK_STEPS:
		rc = store_step_get(m->s, p->c[C_PIPELINE], p->c[C_RUN], name);
		out->kind = MK_STEP;
		break;
	case MK_STEP:
		rc = fixed_child(step_kids, NFIXED(step_kids), name, out);
		if (!rc && out->kind == MK_TRACE)
			rc = store_trace_size(m->s, p->c[C_PIPELINE],
					      p->c[C_RUN], p->c[C_STEP],
					      &out->e.size);
		if (!rc && out->kind == MK_TRACE)
			out->e.mode = 0644;
		return rc;
	case MK_OUT:
		return resolve_output(m, p, name, out);
	case MK_INPUTS:
		return resolve_input(m, p, name, out);
	case MK_AUDIT:
		return mnt_resolve_audit_day(m, name, out);
	case MK_SECRETS:
		return mnt_resolve_secret(m, name, out);
	case MK_ARTIFACTS:
		rc = store_artifact_get(m->s, name);
		out->kind = MK_ARTIFACT;
		out->uid = m->root->uid; /* the daemon's user */
		if (!rc)
			rc = newest_version_time(m, name, out);
		break;
	case MK_ARTIFACT:
		return resolve_artifact_child(m, p, name, out);
	case MK_SEALED:
		return resolve_sealed(m, p, name, out);
	case MK_STEP_ENV:
		return resolve_env(m, p, name, out);
	default:
		return -ENOTDIR;
	}
	if (rc)
		return rc;
	out->e.kind = STORE_KIND_DIR;
	out->e.mode = 0755;
	return 0;
}

/* ------------------------------------------------------------ listings */

struct lister {
	mnt_dir_fn fn;
	void *arg;
};

static int list_name(void *arg, const char *name)
{
	struct lister *l = arg;

	return l->fn(l->arg, name, DT_DIR);
}

static int list_run(void *arg, const struct store_run *r)
{
	return list_name(arg, r->run);
}

static int list_version(void *arg, const struct store_version *v)
{
	struct lister *l = arg;
	char name[16];

	snprintf(name, sizeof(name), "v%u", v->number);
	return l->fn(l->arg, name, DT_DIR);
}

static int list_alias(void *arg, const char *alias, uint32_t number)
{
	struct lister *l = arg;

	(void)number;
	return l->fn(l->arg, alias, DT_LNK);
}

unsigned mnt_dtype_of(enum store_kind k)
{
	return k == STORE_KIND_DIR	 ? DT_DIR
	       : k == STORE_KIND_SYMLINK ? DT_LNK
					 : DT_REG;
}

static int list_entry(void *arg, const struct store_dirent *e)
{
	struct lister *l = arg;

	return l->fn(l->arg, e->name, mnt_dtype_of(e->kind));
}

static int list_output(void *arg, const struct store_output *o)
{
	return list_entry(arg, &o->e);
}

static int list_input(void *arg, const char *artifact, uint32_t number)
{
	struct lister *l = arg;
	char name[STORE_NAME_MAX + 16];

	snprintf(name, sizeof(name), "%s@v%u", artifact, number);
	return l->fn(l->arg, name, DT_LNK);
}

static int list_fixed(const struct fixed *f, size_t n, struct lister *l)
{
	int rc = 0;

	for (size_t i = 0; i < n && !rc; i++)
		rc = l->fn(l->arg, f[i].name,
			   is_dir_kind(f[i].kind) ? DT_DIR : DT_REG);
	return rc;
}

int mnt_list(struct mnt *m, const struct mnt_node *n, mnt_dir_fn fn, void *arg)
{
	struct lister l = {fn, arg};
	int rc;

	switch (n->kind) {
	case MK_ROOT:
		return list_fixed(root_kids, NFIXED(root_kids), &l);
	case MK_PIPELINES:
		return store_pipeline_each(m->s, list_name, &l);
	case MK_PIPELINE:
		return list_fixed(pipeline_kids, 1, &l);
	case MK_RUNS:
		return store_run_each(m->s, n->c[C_PIPELINE], list_run, &l);
	case MK_RUN:
		return list_fixed(run_kids, NFIXED(run_kids), &l);
	case MK_STEPS:
		return store_step_each(m->s, n->c[C_PIPELINE], n->c[C_RUN],
				       list_name, &l);
	case MK_STEP:
		return list_fixed(step_kids, NFIXED(step_kids), &l);
	case MK_OUT:
		rc = store_output_each(m->s, n->c[C_PIPELINE], n->c[C_RUN],
				       n->c[C_STEP], n->tail, list_output, &l);
		return rc ? rc : mnt_file_fresh_each(m, n->path, fn, arg);
	case MK_ARTIFACTS:
		return store_artifact_each(m->s, list_name, &l);
	case MK_ARTIFACT:
		rc = store_version_each(m->s, n->c[C_ARTIFACT], list_version,
					&l);
		return rc ? rc
			  : store_alias_each(m->s, n->c[C_ARTIFACT], list_alias,
					     &l);
	case MK_SEALED:
		return store_tree_each(m->s, n->e.digest, list_entry, &l);
	case MK_AUDIT:
		return mnt_list_audit(m, fn, arg);
	case MK_SECRETS:
		return mnt_list_secrets(m, fn, arg);
	case MK_INPUTS:
		return store_step_input_each(m->s, n->c[C_PIPELINE],
					     n->c[C_RUN], n->c[C_STEP],
					     list_input, &l);
	case MK_RUN_ENV:
		return 0;
	case MK_STEP_ENV: {
		uint8_t dg[STORE_DIGEST_LEN];

		rc = store_env_get(m->s, n->c[C_PIPELINE], n->c[C_RUN],
				   n->c[C_STEP], dg);
		if (rc)
			return rc == -ENOENT ? 0 : rc;
		return store_tree_each(m->s, dg, list_entry, &l);
	}
	default:
		return -ENOTDIR;
	}
}

/* ------------------------------------------------------------ run.json */

static json_t *iso_time(int64_t ns)
{
	char buf[64];
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;

	if (ns == 0)
		return json_null();
	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

struct json_ctx {
	struct mnt *m;
	json_t *arr;
	const char *pipeline, *run;
	char env[STORE_DIGEST_STR_LEN]; /* the first step's env digest */
};

int mnt_version_json(void *arg, const char *artifact, uint32_t number)
{
	struct mnt_version_list *l = arg;
	struct store_version v;
	char digest[STORE_DIGEST_STR_LEN] = "";

	if (store_version_get(l->m->s, artifact, number, &v) == 0)
		store_digest_format(v.digest, digest);
	return json_array_append_new(
		   l->arr,
		   json_pack("{s:s, s:i, s:s}", "artifact", artifact, "version",
			     (json_int_t)number, "digest", digest))
		   ? -ENOMEM
		   : 0;
}

/* The digest of a step's environment, or null; the first one found is
 * also the run's. */
static json_t *env_json(struct json_ctx *j, const char *step)
{
	uint8_t dg[STORE_DIGEST_LEN];
	char text[STORE_DIGEST_STR_LEN];

	if (store_env_get(j->m->s, j->pipeline, j->run, step, dg))
		return json_null();
	store_digest_format(dg, text);
	if (!j->env[0])
		snprintf(j->env, sizeof(j->env), "%s", text);
	return json_string(text);
}

/* A step with its environment and the versions it read and produced. */
static int add_step(void *arg, const char *name)
{
	struct json_ctx *j = arg;
	json_t *in = json_array(), *outv = json_array();
	struct mnt_version_list ci = {j->m, in}, co = {j->m, outv};
	int rc = store_step_input_each(j->m->s, j->pipeline, j->run, name,
				       mnt_version_json, &ci);

	if (!rc)
		rc = store_step_output_each(j->m->s, j->pipeline, j->run, name,
					    mnt_version_json, &co);
	if (rc) {
		json_decref(in);
		json_decref(outv);
		return rc;
	}
	return json_array_append_new(j->arr,
				     json_pack("{s:s, s:o, s:o, s:o}", "name",
					       name, "env", env_json(j, name),
					       "inputs", in, "outputs", outv))
		   ? -ENOMEM
		   : 0;
}

static int add_note(void *arg, const char *key, const char *value)
{
	return json_object_set_new(arg, key, json_string(value)) ? -ENOMEM : 0;
}

int mnt_run_json(struct mnt *m, const struct mnt_node *n, char **out,
		 size_t *len)
{
	static const char *const status[] = {"", "open", "sealed", "failed"};
	struct acl_principal who;
	struct store_run r;
	json_t *o, *steps;
	int rc = store_run_get(m->s, n->c[C_PIPELINE], n->c[C_RUN], &r);

	if (!rc)
		rc = acl_principal_get(r.owner, (gid_t)-1, &who);
	if (rc)
		return rc;
	steps = json_array();
	o = json_pack("{s:s, s:s, s:s, s:s, s:i, s:o, s:o, s:o}", "pipeline",
		      r.pipeline, "run", r.run, "status", status[r.status],
		      "owner", who.user, "owner_uid", (json_int_t)r.owner,
		      "created", iso_time(r.created), "ended",
		      iso_time(r.ended), "steps", steps);
	if (!o)
		return -ENOMEM;
	struct json_ctx j = {m, steps, r.pipeline, r.run, ""};

	rc = store_step_each(m->s, r.pipeline, r.run, add_step, &j);
	if (!rc)
		json_object_set_new(
		    o, "env", j.env[0] ? json_string(j.env) : json_null());
	if (!rc) {
		json_t *notes = json_object();

		json_object_set_new(o, "notes", notes);
		rc = store_run_note_each(m->s, r.pipeline, r.run, add_note,
					 notes);
	}
	*out = rc ? NULL : json_dumps(o, JSON_INDENT(2));
	if (*out) {
		char *nl = realloc(*out, strlen(*out) + 2);

		if (nl)
			strcat(nl, "\n");
		*out = nl ? nl : *out;
	}
	json_decref(o);
	if (rc)
		return rc;
	if (!*out)
		return -ENOMEM;
	*len = strlen(*out);
	return 0;
}
