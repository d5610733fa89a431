/*
 * cmd_openlineage.c - `artifactfs openlineage [--run P/R]`: runs, steps
 * and trace spans as OpenLineage 2-0-2 RunEvents, one JSON object a line.
 *
 * The mapping, for each run (all of them, or --run P/R):
 *
 *   pipeline run P/R   job "P", runId U("P/R")
 *   step S of P/R      job "P.S", runId U("P/R/S"), parent: the pipeline
 *                      run; inputs: the artifacts it read; outputs (in
 *                      its end event): the artifacts it produced
 *   span of S's trace  job "P.S.<kind>.<name>", runId the span's id when
 *                      that is a UUID, else U("P/R/S#<id or line>");
 *                      parent: its parent span's run, else the step's
 *
 * Each part of a job name has '%' and '.' written as %25 and %2E, so the
 * name is unambiguous: pipeline "dot.p" step "s" is "dot%2Ep.s", pipeline
 * "dot" step "p.s" is "dot.p%2Es".
 *
 * U(name) is fs_uuid_name(namespace, name): deterministic, so the events
 * of one run share a runId, and exporting twice gives the same ids.
 * Every run gets a START and, once it has ended, one COMPLETE or FAIL (a
 * FAIL with the errorMessage facet); an open run only its START.  Times:
 * a pipeline run's from its record (created, ended); a step's from the
 * journal (its step.create record, and the note of its exit status; the
 * run's times where the journal has none); a span's from its line.  A
 * child's START is never before its parent's, nor its end after its
 * parent's end.  All events are printed ordered by eventTime (ties:
 * parents first, START before the end).
 *
 * Namespaces are "artifactfs://<store id>" for jobs and datasets alike.
 * A dataset is an artifact, named by its name, its version "vN" in the
 * version facet and its number and digest in artifactfs_version; a
 * span's payload is "P/R/S/trace/<file>" with its digest as version.
 * Every facet carries _producer and a _schemaURL at a fixed, versioned
 * place (the OpenLineage facet versions used; ours under the release's
 * tag); ours are artifactfs_run, artifactfs_span, artifactfs_version and
 * artifactfs_environment.
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
	"https://openlineage.io/spec/facets/1-2-0/ParentRunFacet.json"         \
	"#/$defs/ParentRunFacet"
#define VERSION_SCHEMA                                                         \
	"https://openlineage.io/spec/facets/1-0-1/"                            \
	"DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet"
#define JOB_TYPE_SCHEMA                                                        \
	"https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json"        \
	"#/$defs/JobTypeJobFacet"
#define ERROR_SCHEMA                                                           \
	"https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json"   \
	"#/$defs/ErrorMessageRunFacet"
/* Ours, at the release's tag: a fixed place, never a moving branch. */
#define FACETS_URL                                                             \
	"https://github.com/artifactfs/artifactfs/blob/" ARTIFACTFS_VERSION    \
	"/docs/facets/"
#define RUN_FACET_SCHEMA                                                       \
	FACETS_URL "ArtifactfsRunFacet.json#/$defs/ArtifactfsRunFacet"
#define SPAN_FACET_SCHEMA                                                      \
	FACETS_URL "ArtifactfsSpanFacet.json#/$defs/ArtifactfsSpanFacet"
#define VERSION_FACET_SCHEMA                                                   \
	FACETS_URL "ArtifactfsVersionFacet.json#/$defs/ArtifactfsVersionFacet"
#define ENV_FACET_SCHEMA                                                       \
	FACETS_URL "ArtifactfsEnvironmentFacet.json"                           \
		   "#/$defs/ArtifactfsEnvironmentFacet"

#define NS_LEN	 (sizeof("artifactfs://") + 64)
#define PATH_LEN (3 * (STORE_NAME_MAX + 1))
/* A job name: up to four parts, each escaped (3 bytes a byte at most). */
#define JOB_LEN (3 * (2 * (STORE_NAME_MAX + 1) + 2 * 1024) + 8)
/* "#" and a span id (at most 128 bytes are used) or "line-<seq>" */
#define SPAN_KEY_LEN 160

static const char *const status_names[] = {"", "open", "sealed", "failed"};

/* One event, kept until all are sorted by time. */
struct item {
	int64_t when;
	size_t seq; /* order made: parents first */
	json_t *ev;
};

/* What one export knows. */
struct ol {
	struct store *s;
	char ns[NS_LEN];
	const struct store_run *run; /* the run being exported */
	char run_id[FS_UUID_STR_LEN];
	json_t *notes; /* the artifactfs_run facet of the run */
	json_t *times; /* journal: step path or exit note path -> ns */
	struct item *items;
	size_t n, cap;
};

/* ------------------------------------------------------ job names */

/* Appends part (at most max bytes of it) to out[*n], with '%', '.' and
 * control bytes as %XX, after a '.' when out is not empty. */
static void job_part(char *out, size_t *n, const char *part, size_t max)
{
	static const char hex[] = "0123456789ABCDEF";

	if (*n)
		out[(*n)++] = '.';
	for (size_t i = 0; part[i] && i < max && *n + 4 < JOB_LEN; i++) {
		unsigned char c = (unsigned char)part[i];

		if (c == '%' || c == '.' || c < 0x20 || c == 0x7f) {
			out[(*n)++] = '%';
			out[(*n)++] = hex[c >> 4];
			out[(*n)++] = hex[c & 15];
		} else {
			out[(*n)++] = (char)c;
		}
	}
	out[*n] = '\0';
}

/* The job of pipeline p, of its step (may be NULL), of a span's kind and
 * name (may be NULL). */
static void job_name(char out[JOB_LEN], const char *p, const char *step,
		     const char *kind, const char *name)
{
	size_t n = 0;

	out[0] = '\0';
	job_part(out, &n, p, STORE_NAME_MAX);
	if (step)
		job_part(out, &n, step, STORE_NAME_MAX);
	if (kind)
		job_part(out, &n, kind, 1024);
	if (name)
		job_part(out, &n, name, 1024);
}

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

/* The errorMessage facet of a FAIL. */
static json_t *error_facet(const char *message)
{
	return facet(ERROR_SCHEMA,
		     json_pack("{s:o, s:s}", "message", fs_json_str(message),
			       "programmingLanguage", "unknown"));
}

/* A dataset {namespace, name, facets} with a version facet (stolen). */
static json_t *dataset(const char *ns, const char *name, json_t *version,
		       json_t *more)
{
	json_t *d =
	    json_pack("{s:s, s:o, s:{s:o}}", "namespace", ns, "name",
		      fs_json_str(name), "facets", "version",
		      facet(VERSION_SCHEMA,
			    json_pack("{s:o}", "datasetVersion", version)));

	if (d && more &&
	    json_object_set_new(json_object_get(d, "facets"),
				"artifactfs_version", more)) {
		json_decref(d);
		return NULL;
	}
	if (!d)
		json_decref(more);
	return d;
}

/* One event, all arguments but the strings stolen; kept for the sort. */
struct event {
	const char *type;
	int64_t when;
	const char *run_id;
	json_t *run_facets;
	const char *job;
	json_t *job_facets;
	json_t *inputs, *outputs; /* NULL: [] */
};

static int emit(struct ol *o, struct event *e)
{
	char when[FS_TIME_STR_LEN];
	json_t *ev;

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
	if (o->n == o->cap) {
		size_t cap = o->cap ? 2 * o->cap : 64;
		struct item *ni = realloc(o->items, cap * sizeof(*ni));

		if (!ni) {
			json_decref(ev);
			return -ENOMEM;
		}
		o->items = ni;
		o->cap = cap;
	}
	/* Sorted by the millisecond shown, so equal times keep their order. */
	o->items[o->n] = (struct item){e->when / 1000000, o->n, ev};
	o->n++;
	return 0;
}

static int by_time(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	if (x->when != y->when)
		return x->when < y->when ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Prints the events kept, ordered by eventTime, and drops them. */
static int flush(struct ol *o)
{
	FILE *f = fs_stdout();
	int rc = 0;

	if (o->n)
		qsort(o->items, o->n, sizeof(*o->items), by_time);
	for (size_t i = 0; i < o->n; i++) {
		if (!rc && (json_dumpf(o->items[i].ev, f, JSON_COMPACT) < 0 ||
			    fputc('\n', f) == EOF))
			rc = ferror(f) ? -EIO : -ENOMEM;
		json_decref(o->items[i].ev);
	}
	free(o->items);
	o->items = NULL;
	o->n = o->cap = 0;
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
	char vn[16];
	int rc = store_version_get(v->o->s, artifact, number, &ver);

	if (rc == -ENOENT)
		store_log(STORE_LOG_ERR, "no version %s@v%u (named by lineage)",
			  artifact, number);
	if (rc)
		return rc;
	snprintf(vn, sizeof(vn), "v%u", number);
	return json_array_append_new(
		   v->arr,
		   dataset(v->o->ns, artifact, json_string(vn),
			   facet(VERSION_FACET_SCHEMA,
				 json_pack("{s:I, s:o}", "version",
					   (json_int_t)number, "digest",
					   fs_json_digest(ver.digest)))))
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
		     const struct fs_span *sp, char out[JOB_LEN])
{
	job_name(out, o->run->pipeline, step, sp->kind[0] ? sp->kind : "other",
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
			arr, dataset(o->ns, name, json_copy(digest), NULL))) {
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

/* When a run starts and ends: [start, end] (end INT64_MAX: open). */
struct span_time {
	int64_t start, end;
};

/* t's own times kept inside its parent's: start not before the parent's,
 * end not after the parent's end nor before its own start. */
static struct span_time nest(int64_t start, int64_t end,
			     const struct span_time *up)
{
	struct span_time t = {start, end};

	if (t.start < up->start)
		t.start = up->start;
	if (t.end > up->end)
		t.end = up->end;
	if (t.end < t.start)
		t.end = t.start;
	return t;
}

/* A span: START and COMPLETE, within its parent (times[sp->up], or the
 * step's) ; its own times go to times[i]. */
static int emit_span(struct ol *o, const char *step, const char *step_id,
		     const struct fs_trace *t, size_t i,
		     const struct span_time *step_time, struct span_time *times)
{
	const struct fs_span *sp = &t->spans[i];
	const struct span_time *up = step_time;
	char id[FS_UUID_STR_LEN], up_id[FS_UUID_STR_LEN];
	char job[JOB_LEN], up_job[JOB_LEN];
	struct event e = {.type = "START", .run_id = id, .job = job};
	int64_t start = sp->start != FS_TIME_NONE ? sp->start : sp->end;
	int rc = span_run_id(o, step, sp, id);

	if (!rc && sp->up != FS_SPAN_NONE) {
		rc = span_run_id(o, step, &t->spans[sp->up], up_id);
		span_job(o, step, &t->spans[sp->up], up_job);
		up = &times[sp->up];
	} else {
		memcpy(up_id, step_id, FS_UUID_STR_LEN);
		job_name(up_job, o->run->pipeline, step, NULL, NULL);
	}
	if (rc)
		return rc;
	span_job(o, step, sp, job);
	if (start == FS_TIME_NONE)
		start = up->start;
	times[i] = nest(start, sp->end != FS_TIME_NONE ? sp->end : start, up);
	for (int k = 0; !rc && k < 2; k++) {
		e.type = k ? "COMPLETE" : "START";
		e.when = k ? times[i].end : times[i].start;
		e.run_facets = json_pack("{s:o, s:o}", "parent",
					 parent_facet(o->ns, up_id, up_job),
					 "artifactfs_span", span_facet(sp));
		e.job_facets =
		    json_pack("{s:o}", "jobType", job_type(span_type(sp)));
		e.inputs =
		    span_datasets(o, step, json_object_get(sp->obj, "inputs"));
		e.outputs =
		    k ? span_datasets(o, step,
				      json_object_get(sp->obj, "outputs"))
		      : NULL;
		rc = emit(o, &e);
	}
	return rc;
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

/* A note of the run being exported, or NULL. */
static const char *note_of(const struct ol *o, const char *key)
{
	return json_string_value(
	    json_object_get(json_object_get(o->notes, "notes"), key));
}

/* Adds errorMessage to the facets of a FAIL of the run (step NULL) or
 * of one of its steps: the step's exit status when it was noted. */
static int add_error(const struct ol *o, const char *step, json_t *facets)
{
	char key[STORE_NAME_MAX + 16], msg[PATH_LEN + 64];
	const char *status;

	snprintf(key, sizeof(key), "exit_status.%s", step ? step : "");
	status = note_of(o, step ? key : "exit_status");
	if (step && status)
		snprintf(msg, sizeof(msg), "step %s of run %s/%s exited %s",
			 step, o->run->pipeline, o->run->run, status);
	else if (status)
		snprintf(msg, sizeof(msg), "run %s/%s failed (exit status %s)",
			 o->run->pipeline, o->run->run, status);
	else
		snprintf(msg, sizeof(msg), "run %s/%s failed", o->run->pipeline,
			 o->run->run);
	return facets && !json_object_set_new(facets, "errorMessage",
					      error_facet(msg))
		   ? 0
		   : -ENOMEM;
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
static int step_event(struct ol *o, const char *step, const char *id,
		      const char *job, const struct span_time *when, bool end)
{
	const struct store_run *r = o->run;
	char pjob[JOB_LEN];
	struct event e = {.type = end ? end_type(r) : "START",
			  .when = end ? when->end : when->start,
			  .run_id = id,
			  .job = job};
	int rc = step_versions(o, step, false, &e.inputs);

	if (!rc && end)
		rc = step_versions(o, step, true, &e.outputs);
	if (rc) {
		json_decref(e.inputs);
		return rc;
	}
	job_name(pjob, r->pipeline, NULL, NULL, NULL);
	e.run_facets = run_facets(o, step, o->run_id, pjob);
	rc = env_facet(o, step, e.run_facets);
	if (!rc && end && r->status == STORE_RUN_FAILED)
		rc = add_error(o, step, e.run_facets);
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

/* The time of journal entry key (o->times), or dflt. */
static int64_t journal_time(const struct ol *o, const char *key, int64_t dflt)
{
	json_t *v = json_object_get(o->times, key);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

/* A step's times: its step.create record and the note of its exit
 * status, within the run's. */
static struct span_time step_time(const struct ol *o, const char *step)
{
	const struct store_run *r = o->run;
	struct span_time run = {
	    r->created, r->status == STORE_RUN_OPEN ? INT64_MAX : r->ended};
	char key[PATH_LEN + 64];
	int64_t start, end;

	snprintf(key, sizeof(key), "/pipelines/%s/runs/%s/steps/%s",
		 r->pipeline, r->run, step);
	start = journal_time(o, key, r->created);
	snprintf(key, sizeof(key), "/pipelines/%s/runs/%s (exit_status.%s)",
		 r->pipeline, r->run, step);
	end = journal_time(o, key, run.end);
	return nest(start, end, &run);
}

/* START, the spans, then COMPLETE or FAIL (once the run ended). */
static int export_step(struct ol *o, const char *step)
{
	const struct store_run *r = o->run;
	char id[FS_UUID_STR_LEN], job[JOB_LEN], path[PATH_LEN];
	struct span_time when = step_time(o, step), *times = NULL;
	struct fs_trace t;
	unsigned depth = 0;
	int rc;

	snprintf(path, sizeof(path), "%s/%s/%s", r->pipeline, r->run, step);
	job_name(job, r->pipeline, step, NULL, NULL);
	rc = fs_uuid_name(o->ns, path, id);
	if (!rc)
		rc = fs_trace_load(o->s, r->pipeline, r->run, step, &t);
	if (rc)
		return rc;
	times = calloc(t.n ? t.n : 1, sizeof(*times));
	rc = times ? step_event(o, step, id, job, &when, false) : -ENOMEM;
	for (size_t i = t.first; !rc && i != FS_SPAN_NONE;
	     i = fs_trace_next(&t, i, &depth))
		rc = emit_span(o, step, id, &t, i, &when, times);
	free(times);
	fs_trace_release(&t);
	if (!rc && r->status != STORE_RUN_OPEN)
		rc = step_event(o, step, id, job, &when, true);
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

static int pipeline_event(struct ol *o, bool end)
{
	const struct store_run *r = o->run;
	char job[JOB_LEN];
	struct event e = {.type = end ? end_type(r) : "START",
			  .when = end ? r->ended : r->created,
			  .run_id = o->run_id,
			  .job = job};

	job_name(job, r->pipeline, NULL, NULL, NULL);
	e.run_facets = run_facets(o, NULL, NULL, NULL);
	if (end && r->status == STORE_RUN_FAILED &&
	    add_error(o, NULL, e.run_facets)) {
		json_decref(e.run_facets);
		return -ENOMEM;
	}
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

/* Keeps the times of the journal records that date steps: step.create
 * (path: the step) and the note of a step's exit status. */
static int keep_time(void *arg, const struct store_audit_entry *e)
{
	struct ol *o = arg;

	if (e->result ||
	    (strcmp(e->op, "step.create") &&
	     (strcmp(e->op, "run.note") || !strstr(e->path, " (exit_status."))))
		return 0;
	return json_object_set_new(o->times, e->path, json_integer(e->time))
		   ? -ENOMEM
		   : 0;
}

/* The journal's step times; a store without a journal (or one that does
 * not read) dates steps by their runs. */
static int load_times(struct ol *o)
{
	int rc;

	o->times = json_object();
	if (!o->times)
		return -ENOMEM;
	rc = store_audit_each(o->s, 0, keep_time, o);
	if (rc == -ENOMEM)
		return rc;
	if (rc) { /* dated by the runs, as without a journal */
		json_object_clear(o->times);
		store_log(STORE_LOG_WARNING,
			  "openlineage: the journal cannot be read (%s): steps "
			  "are dated by their runs",
			  strerror(-rc));
	}
	return 0;
}

/* The export of one run (p/r, spec names it) or of all. */
static int export(struct fs_ctx *ctx, struct ol *o, const char *p,
		  const char *r)
{
	struct store_run run;
	int rc = load_times(o);

	if (!rc && !p)
		rc = store_pipeline_each(ctx->store, export_pipeline, o);
	else if (!rc) {
		rc = store_run_get(ctx->store, p, r, &run);
		if (rc == -ENOENT)
			store_log(STORE_LOG_ERR, "no run %s", ctx->run);
		if (!rc)
			rc = export_run(o, &run);
	}
	if (!rc)
		rc = flush(o);
	else
		flush(o); /* frees; a failed export prints nothing */
	json_decref(o->times);
	return rc;
}

int fs_cmd_openlineage(struct fs_ctx *ctx, int argc, char **argv)
{
	struct ol o = {.s = ctx->store};
	char p[STORE_NAME_MAX + 1];
	const char *slash;
	int rc;

	(void)argc;
	(void)argv;
	snprintf(o.ns, sizeof(o.ns), "artifactfs://%s", store_id(ctx->store));
	if (!ctx->run) {
		rc =
		    fs_authorize(ctx, ACL_LIST, "/pipelines", "lineage.export");
		return rc ? rc : export(ctx, &o, NULL, NULL);
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
	return rc ? rc : export(ctx, &o, p, slash + 1);
}
