/*
 * cmd_openlineage.c - `artifactfs openlineage [--run P/R]`: runs, steps
 * and trace spans as OpenLineage 2-0-2 RunEvents, one JSON object a line.
 *
 * The mapping, for each run (all of them, or --run P/R):
 *
 *   pipeline run P/R   job "P", runId U("P/R")
 *   step S of P/R      job "P.S", runId U("P/R/S"), parent: the pipeline
 *                      run; inputs: the versions it read; outputs (in
 *                      the COMPLETE event): the versions it produced
 *   span of S's trace  job "P.S.<kind>.<name>", runId the span's id when
 *                      that is a UUID, else U("P/R/S#<id or line>");
 *                      parent: its parent span's run, else the step's
 *
 * U(name) is fs_uuid_name(namespace, name): deterministic, so a START and
 * the COMPLETE (or FAIL) of one run share a runId, and exporting twice
 * gives the same ids.  Runs and steps get a START at the run's creation
 * and, once the run has ended, COMPLETE (sealed) or FAIL (failed) at its
 * end; an open run only a START.  A span is one COMPLETE at its end.
 * Events of a run come parents first: pipeline START, then each step's
 * START, its spans (parents before children) and its end, then the
 * pipeline's end.
 *
 * Namespaces are "artifactfs://<store id>" for jobs and datasets alike;
 * a dataset is "ARTIFACT@vN" with its digest as the dataset version, or
 * "P/R/S/trace/<file>" for a span's payload.  Every facet carries
 * _producer and _schemaURL; ours are named artifactfs_run and
 * artifactfs_span.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envsnap_i.h"
#include "trace_i.h"

#define PRODUCER                                                               \
	"https://github.com/artifactfs/artifactfs/tree/" ARTIFACTFS_VERSION
#define RUN_EVENT_SCHEMA                                                       \
	"https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
#define PARENT_SCHEMA                                                          \
	"https://openlineage.io/spec/facets/1-0-0/ParentRunFacet.json"         \
	"#/$defs/ParentRunFacet"
#define VERSION_SCHEMA                                                         \
	"https://openlineage.io/spec/facets/1-0-0/"                            \
	"DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet"
#define JOB_TYPE_SCHEMA                                                        \
	"https://openlineage.io/spec/facets/2-0-2/JobTypeJobFacet.json"        \
	"#/$defs/JobTypeJobFacet"
#define FACETS_URL                                                             \
	"https://github.com/artifactfs/artifactfs/blob/main/docs/facets/"
#define RUN_FACET_SCHEMA                                                       \
	FACETS_URL "ArtifactfsRunFacet.json#/$defs/ArtifactfsRunFacet"
#define SPAN_FACET_SCHEMA                                                      \
	FACETS_URL "ArtifactfsSpanFacet.json#/$defs/ArtifactfsSpanFacet"
#define ENV_FACET_SCHEMA                                                       \
	FACETS_URL "ArtifactfsEnvironmentFacet.json"                           \
		   "#/$defs/ArtifactfsEnvironmentFacet"

#define NS_LEN	 (sizeof("artifactfs://") + 64)
#define PATH_LEN (3 * (STORE_NAME_MAX + 1))
#define NAME_LEN (PATH_LEN + 2 * 1024 + 16)
/* "#" and a span id (at most 128 bytes are used) or "line-<seq>" */
#define SPAN_KEY_LEN 160

static const char *const status_names[] = {"", "open", "sealed", "failed"};

/* What one export knows. */
struct ol {
	struct store *s;
	char ns[NS_LEN];
	const struct store_run *run; /* the run being exported */
	char run_id[FS_UUID_STR_LEN];
	json_t *notes; /* the artifactfs_run facet of the run */
};

/* A facet: {_producer, _schemaURL} and the fields of more (stolen). */
static json_t *facet(const char *schema, json_t *more)
{
	json_t *f = json_pack("{s:s, s:s}", "_producer", PRODUCER, "_schemaURL",
			      schema);

	if (f && more && json_object_update(f, more)) {
		json_decref(f);
		f = NULL;
	}
	json_decref(more);
	return f;
}

static json_t *job_type(const char *type)
{
	return facet(JOB_TYPE_SCHEMA,
		     json_pack("{s:s, s:s, s:s}", "processingType", "BATCH",
			       "integration", "ARTIFACTFS", "jobType", type));
}

static json_t *parent_facet(const char *ns, const char *run_id, const char *job)
{
	return facet(PARENT_SCHEMA,
		     json_pack("{s:{s:s}, s:{s:s, s:o}}", "run", "runId",
			       run_id, "job", "namespace", ns, "name",
			       fs_json_str(job)));
}

/* A dataset {namespace, name, facets: {version}}. */
static json_t *dataset(const char *ns, const char *name, json_t *version)
{
	return json_pack("{s:s, s:o, s:{s:o}}", "namespace", ns, "name",
			 fs_json_str(name), "facets", "version",
			 facet(VERSION_SCHEMA,
			       json_pack("{s:o}", "datasetVersion", version)));
}

/* One event, all arguments but the strings stolen; printed as a line. */
struct event {
	const char *type;
	int64_t when;
	const char *run_id;
	json_t *run_facets;
	const char *job;
	json_t *job_facets;
	json_t *inputs, *outputs; /* NULL: [] */
};

static int emit(const struct ol *o, struct event *e)
{
	char when[FS_TIME_STR_LEN];
	FILE *f = fs_stdout();
	json_t *ev;
	int rc = 0;

	fs_time_iso_ms(e->when, when);
	ev = json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:o}, s:{s:s, s:o, s:o},"
		       " s:o, s:o}",
		       "eventType", e->type, "eventTime", when, "producer",
		       PRODUCER, "schemaURL", RUN_EVENT_SCHEMA, "run", "runId",
		       e->run_id, "facets", e->run_facets, "job", "namespace",
		       o->ns, "name", fs_json_str(e->job), "facets",
		       e->job_facets, "inputs",
		       e->inputs ? e->inputs : json_array(), "outputs",
		       e->outputs ? e->outputs : json_array());
	if (!ev)
		return -ENOMEM;
	if (json_dumpf(ev, f, JSON_COMPACT) < 0 || fputc('\n', f) == EOF)
		rc = ferror(f) ? -EIO : -ENOMEM;
	json_decref(ev);
	return rc;
}

/* ------------------------------------------------------ versions */

struct versions {
	const struct ol *o;
	json_t *arr;
};

static int add_version(void *arg, const char *artifact, uint32_t number)
{
	struct versions *v = arg;
	struct store_version ver;
	char name[STORE_NAME_MAX + 16];
	int rc = store_version_get(v->o->s, artifact, number, &ver);

	if (rc == -ENOENT)
		store_log(STORE_LOG_ERR, "no version %s@v%u (named by lineage)",
			  artifact, number);
	if (rc)
		return rc;
	snprintf(name, sizeof(name), "%s@v%u", artifact, number);
	return json_array_append_new(
		   v->arr, dataset(v->o->ns, name, fs_json_digest(ver.digest)))
		   ? -ENOMEM
		   : 0;
}

/* The versions a step read (outputs: false) or produced, as datasets. */
static int step_versions(const struct ol *o, const char *step, bool outputs,
			 json_t **out)
{
	struct versions v = {o, json_array()};
	const struct store_run *r = o->run;
	int rc = v.arr ? 0 : -ENOMEM;

	if (!rc && !outputs)
		rc = store_step_input_each(o->s, r->pipeline, r->run, step,
					   add_version, &v);
	else if (!rc)
		rc = store_step_output_each(o->s, r->pipeline, r->run, step,
					    add_version, &v);
	if (rc) {
		json_decref(v.arr);
		return rc;
	}
	*out = v.arr;
	return 0;
}

/* --------------------------------------------------------- spans */

/* A span's runId: its id if that is a UUID (and no earlier span of the
 * step has it), else derived from the id or, for a span without one or
 * a repeated id, from its line. */
static int span_run_id(const struct ol *o, const char *step,
		       const struct fs_span *sp, char out[FS_UUID_STR_LEN])
{
	char name[PATH_LEN + SPAN_KEY_LEN];

	if (sp->id && !sp->dup && fs_uuid_valid(sp->id)) {
		for (int i = 0; i < FS_UUID_STR_LEN; i++)
			out[i] = sp->id[i] >= 'A' && sp->id[i] <= 'F'
				     ? (char)(sp->id[i] - 'A' + 'a')
				     : sp->id[i];
		return 0;
	}
	if (sp->id && !sp->dup)
		snprintf(name, sizeof(name), "%s/%s/%s#%.128s",
			 o->run->pipeline, o->run->run, step, sp->id);
	else
		snprintf(name, sizeof(name), "%s/%s/%s#line-%llu",
			 o->run->pipeline, o->run->run, step,
			 (unsigned long long)sp->seq);
	return fs_uuid_name(o->ns, name, out);
}

static void span_job(const struct ol *o, const char *step,
		     const struct fs_span *sp, char out[NAME_LEN])
{
	snprintf(out, NAME_LEN, "%s.%s.%.1024s.%.1024s", o->run->pipeline, step,
		 sp->kind[0] ? sp->kind : "other",
		 sp->name[0] ? sp->name : "unnamed");
}

/* A span's "inputs" or "outputs" as datasets "P/R/S/trace/<file>". */
static json_t *span_datasets(const struct ol *o, const char *step,
			     json_t *files)
{
	json_t *arr = json_array(), *f;
	char name[PATH_LEN + STORE_NAME_MAX + 16];
	size_t i;

	json_array_foreach(files, i, f)
	{
		const char *file =
		    json_string_value(json_object_get(f, "file"));
		json_t *digest = json_object_get(f, "digest");

		if (!arr || !file || !json_is_string(digest))
			continue;
		snprintf(name, sizeof(name), "%s/%s/%s/trace/%.255s",
			 o->run->pipeline, o->run->run, step, file);
		if (json_array_append_new(
			arr, dataset(o->ns, name, json_copy(digest)))) {
			json_decref(arr);
			arr = NULL;
		}
	}
	return arr;
}

/* A span's jobType: its kind in capitals, e.g. "TOOL_CALL". */
static const char *span_type(const struct fs_span *sp)
{
	static const char *const types[] = {"AGENT_TURN", "LLM_CALL",
					    "TOOL_CALL", "RETRIEVAL", "OTHER"};

	for (int i = 0; fs_span_kinds[i]; i++)
		if (!strcmp(sp->kind, fs_span_kinds[i]))
			return types[i];
	return "OTHER";
}

/* The artifactfs_span facet: what the span line says. */
static json_t *span_facet(const struct fs_span *sp)
{
	json_t *more = json_pack("{s:I, s:s, s:s}", "seq", (json_int_t)sp->seq,
				 "kind", sp->kind, "name", sp->name);
	static const char *const keep[] = {"id",  "parent", "start",
					   "end", "attrs",  NULL};

	for (int i = 0; more && keep[i]; i++) {
		json_t *v = json_object_get(sp->obj, keep[i]);

		if (v && json_object_set(more, keep[i], v)) {
			json_decref(more);
			more = NULL;
		}
	}
	return more ? facet(SPAN_FACET_SCHEMA, more) : NULL;
}

static int emit_span(const struct ol *o, const char *step, const char *step_id,
		     const struct fs_trace *t, size_t i)
{
	const struct fs_span *sp = &t->spans[i];
	char id[FS_UUID_STR_LEN], up_id[FS_UUID_STR_LEN];
	char job[NAME_LEN], up_job[NAME_LEN];
	struct event e = {.type = "COMPLETE", .run_id = id, .job = job};
	int rc = span_run_id(o, step, sp, id);

	if (!rc && sp->up != FS_SPAN_NONE) {
		rc = span_run_id(o, step, &t->spans[sp->up], up_id);
		span_job(o, step, &t->spans[sp->up], up_job);
	} else {
		memcpy(up_id, step_id, FS_UUID_STR_LEN);
		snprintf(up_job, sizeof(up_job), "%s.%s", o->run->pipeline,
			 step);
	}
	if (rc)
		return rc;
	span_job(o, step, sp, job);
	e.when = sp->end != FS_TIME_NONE     ? sp->end
		 : sp->start != FS_TIME_NONE ? sp->start
					     : o->run->created;
	e.run_facets = json_pack("{s:o, s:o}", "parent",
				 parent_facet(o->ns, up_id, up_job),
				 "artifactfs_span", span_facet(sp));
	e.job_facets = json_pack("{s:o}", "jobType", job_type(span_type(sp)));
	e.inputs = span_datasets(o, step, json_object_get(sp->obj, "inputs"));
	e.outputs = span_datasets(o, step, json_object_get(sp->obj, "outputs"));
	return emit(o, &e);
}

/* --------------------------------------------------- steps, runs */

/* The run's status at the end of the run, "COMPLETE" or "FAIL". */
static const char *end_type(const struct store_run *r)
{
	return r->status == STORE_RUN_SEALED ? "COMPLETE" : "FAIL";
}

static json_t *run_facets(const struct ol *o, const char *step,
			  const char *parent_id, const char *parent_job)
{
	json_t *f = json_pack("{s:O}", "artifactfs_run", o->notes);

	if (f && step &&
	    json_object_set_new(f, "parent",
				parent_facet(o->ns, parent_id, parent_job))) {
		json_decref(f);
		return NULL;
	}
	return f;
}

/* The step's artifactfs_environment facet, when it has a snapshot. */
static int env_facet(const struct ol *o, const char *step, json_t *facets)
{
	json_t *f;
	int rc =
	    fs_envsnap_facet(o->s, o->run->pipeline, o->run->run, step, &f);

	if (rc == -ENOENT)
		return 0;
	if (rc)
		return rc;
	f = facet(ENV_FACET_SCHEMA, f);
	if (!f || !facets ||
	    json_object_set_new(facets, "artifactfs_environment", f))
		return -ENOMEM;
	return 0;
}

/* One event of a step's run; the end event carries its outputs. */
static int step_event(const struct ol *o, const char *step, const char *id,
		      const char *job, bool end)
{
	const struct store_run *r = o->run;
	struct event e = {.type = end ? end_type(r) : "START",
			  .when = end ? r->ended : r->created,
			  .run_id = id,
			  .job = job};
	int rc = step_versions(o, step, false, &e.inputs);

	if (!rc && end)
		rc = step_versions(o, step, true, &e.outputs);
	if (rc) {
		json_decref(e.inputs);
		return rc;
	}
	e.run_facets = run_facets(o, step, o->run_id, r->pipeline);
	rc = env_facet(o, step, e.run_facets);
	e.job_facets = json_pack("{s:o}", "jobType", job_type("STEP"));
	if (rc) {
		json_decref(e.inputs);
		json_decref(e.outputs);
		json_decref(e.run_facets);
		json_decref(e.job_facets);
		return rc;
	}
	return emit(o, &e);
}

/* START, the spans, then COMPLETE or FAIL (once the run ended). */
static int export_step(const struct ol *o, const char *step)
{
	const struct store_run *r = o->run;
	char id[FS_UUID_STR_LEN], job[PATH_LEN + 2], path[PATH_LEN];
	struct fs_trace t;
	unsigned depth = 0;
	int rc;

	snprintf(path, sizeof(path), "%s/%s/%s", r->pipeline, r->run, step);
	snprintf(job, sizeof(job), "%s.%s", r->pipeline, step);
	rc = fs_uuid_name(o->ns, path, id);
	if (!rc)
		rc = fs_trace_load(o->s, r->pipeline, r->run, step, &t);
	if (rc)
		return rc;
	rc = step_event(o, step, id, job, false);
	for (size_t i = t.first; !rc && i != FS_SPAN_NONE;
	     i = fs_trace_next(&t, i, &depth))
		rc = emit_span(o, step, id, &t, i);
	fs_trace_release(&t);
	if (!rc && r->status != STORE_RUN_OPEN)
		rc = step_event(o, step, id, job, true);
	return rc;
}

static int collect(void *arg, const char *name)
{
	return json_array_append_new(arg, json_string(name)) ? -ENOMEM : 0;
}

static int collect_note(void *arg, const char *key, const char *value)
{
	return json_object_set_new(arg, key, fs_json_str(value)) ? -ENOMEM : 0;
}

/* The artifactfs_run facet of o->run: its record and its notes. */
static int notes_facet(struct ol *o)
{
	const struct store_run *r = o->run;
	json_t *notes = json_object();
	int rc = notes ? store_run_note_each(o->s, r->pipeline, r->run,
					     collect_note, notes)
		       : -ENOMEM;

	if (rc) {
		json_decref(notes);
		return rc;
	}
	o->notes = facet(RUN_FACET_SCHEMA,
			 json_pack("{s:o, s:o, s:s, s:I, s:o}", "pipeline",
				   fs_json_str(r->pipeline), "run",
				   fs_json_str(r->run), "status",
				   status_names[r->status], "owner_uid",
				   (json_int_t)r->owner, "notes", notes));
	return o->notes ? 0 : -ENOMEM;
}

static int pipeline_event(const struct ol *o, bool end)
{
	const struct store_run *r = o->run;
	struct event e = {.type = end ? end_type(r) : "START",
			  .when = end ? r->ended : r->created,
			  .run_id = o->run_id,
			  .job = r->pipeline};

	e.run_facets = run_facets(o, NULL, NULL, NULL);
	e.job_facets = json_pack("{s:o}", "jobType", job_type("PIPELINE"));
	return emit(o, &e);
}

static int export_run(void *arg, const struct store_run *r)
{
	struct ol *o = arg;
	json_t *steps = json_array(), *name;
	char path[PATH_LEN];
	size_t i;
	int rc = steps ? 0 : -ENOMEM;

	o->run = r;
	snprintf(path, sizeof(path), "%s/%s", r->pipeline, r->run);
	if (!rc)
		rc = fs_uuid_name(o->ns, path, o->run_id);
	if (!rc)
		rc = store_step_each(o->s, r->pipeline, r->run, collect, steps);
	if (!rc)
		rc = notes_facet(o);
	if (!rc)
		rc = pipeline_event(o, false);
	json_array_foreach(steps, i, name)
	{
		if (rc)
			break;
		rc = export_step(o, json_string_value(name));
	}
	if (!rc && r->status != STORE_RUN_OPEN)
		rc = pipeline_event(o, true);
	json_decref(o->notes);
	o->notes = NULL;
	json_decref(steps);
	return rc;
}

static int export_pipeline(void *arg, const char *name)
{
	struct ol *o = arg;

	return store_run_each(o->s, name, export_run, o);
}

int fs_cmd_openlineage(struct fs_ctx *ctx, int argc, char **argv)
{
	struct ol o = {.s = ctx->store};
	char p[STORE_NAME_MAX + 1];
	struct store_run r;
	const char *slash;
	int rc;

	(void)argc;
	(void)argv;
	snprintf(o.ns, sizeof(o.ns), "artifactfs://%s", store_id(ctx->store));
	if (!ctx->run) {
		rc =
		    fs_authorize(ctx, ACL_LIST, "/pipelines", "lineage.export");
		return rc ? rc
			  : store_pipeline_each(ctx->store, export_pipeline,
						&o);
	}
	slash = strchr(ctx->run, '/');
	if (!slash || store_name_check(ctx->run, (size_t)(slash - ctx->run)) ||
	    store_name_check(slash + 1, strlen(slash + 1)))
		return fs_usage_error(ctx, "'%s' is not PIPELINE/RUN",
				      ctx->run);
	memcpy(p, ctx->run, (size_t)(slash - ctx->run));
	p[slash - ctx->run] = '\0';
	rc = fs_authorize_at(ctx, ACL_READ, "lineage.export",
			     "/pipelines/%s/runs/%s", p, slash + 1);
	if (!rc)
		rc = store_run_get(ctx->store, p, slash + 1, &r);
	if (rc == -ENOENT)
		store_log(STORE_LOG_ERR, "no run %s", ctx->run);
	return rc ? rc : export_run(&o, &r);
}
