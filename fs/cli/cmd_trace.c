/*
 * cmd_trace.c - `artifactfs trace add` and `artifactfs trace show`: spans
 * of agent and tool work recorded in a step's trace (trace_i.h has the
 * span format).
 *
 * `trace add` appends one span to the trace of a step of an open run.
 * The step comes from --run P/R --step S or, inside `artifactfs run exec`,
 * from $ARTIFACTFS_RUN and $ARTIFACTFS_STEP.  Only the run's owner (or
 * root) may add to it, as for every other write in a run.
 *
 * The command opens the store itself (main.c's table gives it no
 * CMD_STORE): when the store is mounted the command goes to the daemon,
 * whose environment is not the caller's, so the step taken from the
 * environment is put on the forwarded command line first.  In the daemon
 * the environment is never read.
 *
 * Payloads: each --input-file/--output-file is stored in the CAS (chunked
 * and deduplicated like any file; at most FILE_MAX bytes, -EFBIG beyond)
 * and the span records its digest and size.
 * Known limitation: nothing references these files yet, so they are
 * garbage for `artifactfs gc` (as a file from an interrupted put is);
 * the digest in the span stays valid, the bytes do not survive a gc.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <unistd.h>

#include "acl.h"
#include "runapi_i.h"
#include "trace_i.h"

/* The largest payload file a span may carry. */
#define FILE_MAX ((uint64_t)64 << 20)
/* Caps on what a span's strings may be. */
#define SPAN_NAME_MAX 1024
#define SPAN_ID_MAX   128
#define READ_BUF      (1 << 20)

static const char add_help[] =
    "usage: artifactfs trace add --kind KIND --name NAME [OPTIONS]\n\n"
    "Appends a span to the trace of a step of an open run and prints its\n"
    "id.  KIND is agent_turn, llm_call, tool_call, retrieval or other.\n"
    "  --run P/R --step S   the step (default, inside 'artifactfs run\n"
    "                       exec': $ARTIFACTFS_RUN and $ARTIFACTFS_STEP)\n"
    "  --parent ID          the span this one is part of\n"
    "  --id ID              the span's id (default: a new UUID)\n"
    "  --start T, --end T   ISO 8601 UTC times (default: now)\n"
    "  --input-file F       a file the span read (stored, up to 64 MiB;\n"
    "  --output-file F      and wrote); both may be repeated\n"
    "  --attr K=V           an attribute (may be repeated)\n";

static const char show_help[] =
    "usage: artifactfs trace show P/R [--step S] [--json]\n\n"
    "Prints the spans of each step of run P/R (or of step S) as a tree:\n"
    "children under their parent, with kind, name and duration.\n"
    "  --json   print [{\"step\": S, \"spans\": [...]}], each span with its\n"
    "           \"children\"\n";

struct add_args {
	const char *kind, *name, *parent, *id, *start, *end;
	const char *run, *step;
	char p[STORE_NAME_MAX + 1], r[STORE_NAME_MAX + 1];
	bool from_env;
	json_t *attrs;		/* owned */
	const char **in, **out; /* borrowed from argv, owned arrays */
	size_t nin, nout;
	int64_t t0, t1;
};

/* An id as --id and --parent take it: a short ASCII token, no spaces. */
static bool id_ok(const char *id)
{
	size_t n = strlen(id);

	for (size_t i = 0; i < n; i++)
		if ((unsigned char)id[i] <= ' ' || (unsigned char)id[i] >= 0x7f)
			return false;
	return n > 0 && n <= SPAN_ID_MAX;
}

static int add_attr(struct fs_ctx *ctx, json_t *attrs, const char *kv)
{
	const char *eq = strchr(kv, '=');
	char *key;
	int rc = 0;

	if (!eq || eq == kv)
		return fs_usage_error(ctx, "--attr '%s' is not KEY=VALUE", kv);
	key = strndup(kv, (size_t)(eq - kv));
	if (!key)
		return -ENOMEM;
	if (json_object_get(attrs, key))
		rc = fs_usage_error(ctx, "--attr %s given twice", key);
	else if (json_object_set_new(attrs, key, fs_json_str(eq + 1)))
		rc = fs_usage_error(ctx, "--attr key '%s' is not UTF-8", key);
	free(key);
	return rc;
}

static int push(const char ***arr, size_t *n, const char *s)
{
	const char **p = realloc(*arr, (*n + 1) * sizeof(*p));

	if (!p)
		return -ENOMEM;
	p[(*n)++] = s;
	*arr = p;
	return 0;
}

enum add_opt {
	OPT_KIND = 256,
	OPT_NAME,
	OPT_PARENT,
	OPT_ID,
	OPT_IN,
	OPT_OUT,
	OPT_RUN,
	OPT_STEP,
	OPT_ATTR,
	OPT_START,
	OPT_END,
	OPT_JSON,
};

static const struct option add_opts[] = {
    {"kind", required_argument, NULL, OPT_KIND},
    {"name", required_argument, NULL, OPT_NAME},
    {"parent", required_argument, NULL, OPT_PARENT},
    {"id", required_argument, NULL, OPT_ID},
    {"input-file", required_argument, NULL, OPT_IN},
    {"output-file", required_argument, NULL, OPT_OUT},
    {"run", required_argument, NULL, OPT_RUN},
    {"step", required_argument, NULL, OPT_STEP},
    {"attr", required_argument, NULL, OPT_ATTR},
    {"start", required_argument, NULL, OPT_START},
    {"end", required_argument, NULL, OPT_END},
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* getopt over argv (argv[0] is "add" or "show"), calling fn with each
 * option and its name.  Returns 0, 1 after --help, or -EINVAL
 * (reported). */
static int parse_locked(struct fs_ctx *ctx, int argc, char **argv,
			const char *help,
			int (*fn)(struct fs_ctx *ctx, int opt, const char *name,
				  void *arg),
			void *arg)
{
	int opt, idx, rc;

	optind = 0; /* a full reset of GNU getopt */
	opterr = 0;
	for (;;) {
		idx = -1;
		opt = getopt_long(argc, argv, ":h", add_opts, &idx);
		if (opt == -1)
			return 0;
		if (opt == 'h') {
			fputs(help, fs_stdout());
			return 1;
		}
		if (opt == ':')
			return fs_usage_error(ctx,
					      "option '%s' needs an argument",
					      argv[optind - 1]);
		if (opt == '?')
			return fs_usage_error(ctx, "unknown option '%s'",
					      argv[optind - 1]);
		rc = fn(ctx, opt, idx >= 0 ? add_opts[idx].name : "?", arg);
		if (rc)
			return rc;
	}
}

/* parse_locked under the getopt lock; *ind: the first operand. */
static int parse(struct fs_ctx *ctx, int argc, char **argv, const char *help,
		 int (*fn)(struct fs_ctx *ctx, int opt, const char *name,
			   void *arg),
		 void *arg, int *ind)
{
	int rc;

	fs_getopt_lock();
	rc = parse_locked(ctx, argc, argv, help, fn, arg);
	*ind = optind;
	fs_getopt_unlock();
	return rc;
}

static int add_opt(struct fs_ctx *ctx, int opt, const char *name, void *arg)
{
	struct add_args *a = arg;

	switch (opt) {
	case OPT_KIND:
		a->kind = optarg;
		return 0;
	case OPT_NAME:
		a->name = optarg;
		return 0;
	case OPT_PARENT:
		a->parent = optarg;
		return 0;
	case OPT_ID:
		a->id = optarg;
		return 0;
	case OPT_IN:
		return push(&a->in, &a->nin, optarg);
	case OPT_OUT:
		return push(&a->out, &a->nout, optarg);
	case OPT_RUN:
		a->run = optarg;
		return 0;
	case OPT_STEP:
		a->step = optarg;
		return 0;
	case OPT_ATTR:
		return add_attr(ctx, a->attrs, optarg);
	case OPT_START:
		a->start = optarg;
		return 0;
	case OPT_END:
		a->end = optarg;
		return 0;
	}
	return fs_usage_error(ctx, "--%s does not apply to 'trace add'", name);
}

static bool kind_ok(const char *kind)
{
	for (size_t i = 0; fs_span_kinds[i]; i++)
		if (!strcmp(kind, fs_span_kinds[i]))
			return true;
	return false;
}

/* Which step: the options, else (outside the daemon) the session's. */
static int add_step(struct fs_ctx *ctx, struct add_args *a)
{
	if (!a->run && !a->step && !fs_in_request()) {
		a->run = getenv("ARTIFACTFS_RUN");
		a->step = getenv("ARTIFACTFS_STEP");
		if (a->run && a->step && *a->run && *a->step)
			a->from_env = true;
		else
			a->run = a->step = NULL;
	}
	if (!a->run && !a->step)
		return fs_usage_error(ctx, "which step? give --run P/R --step "
					   "S, or run it inside 'artifactfs "
					   "run exec'");
	if (!a->run || !a->step)
		return fs_usage_error(ctx, "--run and --step go together");
	if (fs_split_run(ctx, a->run, a->p, a->r))
		return -EINVAL;
	if (store_name_check(a->step, strlen(a->step)))
		return fs_usage_error(ctx, "'%s' is not a step name", a->step);
	return 0;
}

/* Checks what the options say, before anything is opened. */
static int add_check(struct fs_ctx *ctx, struct add_args *a)
{
	int64_t now = fs_time_now();

	if (!a->kind || !kind_ok(a->kind))
		return fs_usage_error(ctx, "--kind must be agent_turn, "
					   "llm_call, tool_call, retrieval or "
					   "other");
	if (!a->name || !*a->name || strlen(a->name) > SPAN_NAME_MAX)
		return fs_usage_error(ctx,
				      "--name NAME is needed (at most %d "
				      "bytes)",
				      SPAN_NAME_MAX);
	if ((a->parent && !id_ok(a->parent)) || (a->id && !id_ok(a->id)))
		return fs_usage_error(ctx,
				      "a span id is 1 to %d ASCII "
				      "characters, no spaces",
				      SPAN_ID_MAX);
	if (a->start && fs_time_parse(a->start, &a->t0))
		return fs_usage_error(ctx,
				      "--start '%s' is not an ISO 8601 "
				      "UTC time",
				      a->start);
	if (a->end && fs_time_parse(a->end, &a->t1))
		return fs_usage_error(ctx,
				      "--end '%s' is not an ISO 8601 "
				      "UTC time",
				      a->end);
	if (!a->end)
		a->t1 = a->start && a->t0 > now ? a->t0 : now;
	if (!a->start)
		a->t0 = a->end && a->t1 < now ? a->t1 : now;
	if (a->t1 < a->t0)
		return fs_usage_error(ctx, "--end is before --start");
	return add_step(ctx, a);
}

/*
 * fs_open_store, with extra[n] inserted after the subcommand (argv[0], a
 * suffix of ctx->argv) in the command line a mount daemon would run (it
 * cannot see our environment).  Returns 0 (ctx->store open), 1 (the
 * daemon ran it), or a negative errno.
 */
static int trace_store(struct fs_ctx *ctx, int argc, char **extra, int n)
{
	int at = ctx->argc - argc + 1, rc, old_argc = ctx->argc;
	char **av, **old_argv = ctx->argv;

	if (ctx->store || n == 0)
		return fs_open_store(ctx);
	av = calloc((size_t)(ctx->argc + n + 1), sizeof(*av));
	if (!av)
		return -ENOMEM;
	memcpy(av, ctx->argv, (size_t)at * sizeof(*av));
	for (int i = 0; i < n; i++)
		av[at + i] = extra[i];
	memcpy(av + at + n, ctx->argv + at,
	       (size_t)(ctx->argc - at) * sizeof(*av));
	ctx->argc += n;
	ctx->argv = av;
	rc = fs_open_store(ctx);
	ctx->argc = old_argc;
	ctx->argv = old_argv;
	free(av);
	return rc;
}

/* The run must exist, be open, be the caller's, and have the step. */
static int add_target(struct fs_ctx *ctx, struct add_args *a)
{
	struct store_run run;
	uid_t me = ctx->caller.uid;
	int rc = store_run_get(ctx->store, a->p, a->r, &run);

	if (rc == -ENOENT)
		store_log(STORE_LOG_ERR, "no run %s/%s", a->p, a->r);
	if (rc)
		return rc;
	if (run.status != STORE_RUN_OPEN) {
		store_log(STORE_LOG_ERR, "run %s/%s is not open", a->p, a->r);
		return -EROFS;
	}
	if (me != 0 && me != run.owner) {
		store_log(STORE_LOG_ERR,
			  "run %s/%s belongs to uid %u: only its owner or "
			  "root may add to its trace",
			  a->p, a->r, run.owner);
		return -EACCES;
	}
	rc = store_step_get(ctx->store, a->p, a->r, a->step);
	if (rc == -ENOENT)
		store_log(STORE_LOG_ERR, "no step %s in run %s/%s", a->step,
			  a->p, a->r);
	return rc;
}

/* --id must be new in the step's trace. */
static int add_id_check(struct fs_ctx *ctx, struct add_args *a)
{
	struct fs_trace t;
	int rc;

	if (!a->id)
		return 0;
	rc = fs_trace_load(ctx->store, a->p, a->r, a->step, &t);
	if (rc)
		return rc;
	if (fs_trace_find(&t, a->id) != FS_SPAN_NONE) {
		store_log(STORE_LOG_ERR, "%s/%s/%s: a span %s exists already",
			  a->p, a->r, a->step, a->id);
		rc = -EEXIST;
	}
	fs_trace_release(&t);
	return rc;
}

/* Copies an open file into the CAS, at most FILE_MAX bytes. */
static int store_fd(struct store *s, int fd, struct store_file *out)
{
	struct store_writer *w;
	uint64_t total = 0;
	char *buf = malloc(READ_BUF);
	ssize_t n;
	int rc = buf ? store_writer_new(s, &w) : -ENOMEM;

	if (rc) {
		free(buf);
		return rc;
	}
	while (!rc && (n = read(fd, buf, READ_BUF)) != 0) {
		if (n < 0)
			rc = errno == EINTR ? 0 : -errno;
		else if ((total += (uint64_t)n) > FILE_MAX)
			rc = -EFBIG;
		else
			rc = store_writer_write(w, buf, (size_t)n);
	}
	free(buf);
	if (rc) {
		store_writer_abort(w);
		return rc;
	}
	return store_writer_finish(w, out);
}

/* Stores one payload file; its {"file", "digest", "size"} goes to arr. */
static int add_file(struct fs_ctx *ctx, const char *path, json_t *arr)
{
	struct store_file f;
	struct stat st;
	const char *base = strrchr(path, '/');
	int fd = fs_file_open(ctx, path, O_RDONLY | O_NONBLOCK, 0), rc = 0;

	base = base && base[1] ? base + 1 : path;
	if (fd < 0)
		rc = fd;
	else if (fstat(fd, &st) < 0)
		rc = -errno;
	else if (S_ISDIR(st.st_mode))
		rc = -EISDIR;
	else if (!S_ISREG(st.st_mode))
		rc = -EINVAL; /* a FIFO or a device: never read here */
	else if ((uint64_t)st.st_size > FILE_MAX)
		rc = -EFBIG; /* before reading it */
	if (!rc)
		rc = store_fd(ctx->store, fd, &f);
	if (fd >= 0)
		close(fd);
	if (rc == -EFBIG)
		store_log(STORE_LOG_ERR, "%s: larger than %llu MiB", path,
			  (unsigned long long)(FILE_MAX >> 20));
	else if (rc)
		ctx->subject = path;
	if (rc)
		return rc;
	return json_array_append_new(arr, json_pack("{s:o, s:o, s:I}", "file",
						    fs_json_str(base), "digest",
						    fs_json_digest(f.digest),
						    "size", (json_int_t)f.size))
		   ? -ENOMEM
		   : 0;
}

/* *line (malloc'd) with every secret's value replaced by the marker. */
static int redact_line(struct fs_ctx *ctx, char **line)
{
	char *clean = NULL;
	size_t len;
	int rc =
	    acl_redact(ctx->store, *line, strlen(*line), &clean, &len, NULL);

	if (rc)
		return rc;
	free(*line);
	*line = clean;
	return 0;
}

/* The span as one compact JSON line; *out is malloc'd. */
static int add_line(struct fs_ctx *ctx, struct add_args *a, const char *id,
		    char **out)
{
	char t0[FS_TIME_STR_LEN], t1[FS_TIME_STR_LEN];
	json_t *in = json_array(), *outs = json_array(), *span;
	int rc = in && outs ? 0 : -ENOMEM;

	for (size_t i = 0; !rc && i < a->nin; i++)
		rc = add_file(ctx, a->in[i], in);
	for (size_t i = 0; !rc && i < a->nout; i++)
		rc = add_file(ctx, a->out[i], outs);
	if (rc) {
		json_decref(in);
		json_decref(outs);
		return rc;
	}
	fs_time_iso_ms(a->t0, t0);
	fs_time_iso_ms(a->t1, t1);
	span = json_pack(
	    "{s:s, s:o?, s:s, s:o, s:s, s:s, s:o, s:o, s:O}", "id", id,
	    "parent", a->parent ? fs_json_str(a->parent) : NULL, "kind",
	    a->kind, "name", fs_json_str(a->name), "start", t0, "end", t1,
	    "inputs", in, "outputs", outs, "attrs", a->attrs);
	*out = span ? json_dumps(span, JSON_COMPACT) : NULL;
	json_decref(span);
	return *out ? 0 : -ENOMEM;
}

static int trace_add(struct fs_ctx *ctx, int argc, char **argv)
{
	struct add_args a = {.attrs = json_object()};
	char id[FS_UUID_STR_LEN], *line = NULL;
	char *extra[4];
	int rc = a.attrs ? 0 : -ENOMEM, ind = argc;

	if (!rc)
		rc = parse(ctx, argc, argv, add_help, add_opt, &a, &ind);
	if (!rc && ind < argc)
		rc = fs_usage_error(ctx, "unexpected argument '%s'", argv[ind]);
	if (!rc)
		rc = add_check(ctx, &a);
	extra[0] = "--run", extra[1] = (char *)a.run;
	extra[2] = "--step", extra[3] = (char *)a.step;
	if (!rc)
		rc = trace_store(ctx, argc, extra, a.from_env ? 4 : 0);
	if (!rc)
		rc = add_target(ctx, &a);
	if (!rc)
		rc = fs_run_check(ctx, a.p, a.r, "trace.add");
	if (!rc)
		rc = add_id_check(ctx, &a);
	if (!rc && !a.id)
		rc = fs_uuid_random(id);
	if (!rc)
		rc = add_line(ctx, &a, a.id ? a.id : id, &line);
	if (!rc)
		rc = redact_line(ctx, &line);
	if (!rc) {
		rc = store_trace_append(ctx->store, &ctx->caller, a.p, a.r,
					a.step, line, strlen(line), NULL);
		if (rc == -EROFS) /* ended since add_target looked */
			store_log(STORE_LOG_ERR, "run %s/%s is not open", a.p,
				  a.r);
		if (rc == -EFBIG)
			store_log(STORE_LOG_ERR, "the span is over %d bytes",
				  STORE_TRACE_LINE_MAX);
	}
	if (!rc)
		fprintf(fs_stdout(), "%s\n", a.id ? a.id : id);
	free(line);
	free(a.in);
	free(a.out);
	json_decref(a.attrs);
	return rc < 0 ? rc : 0;
}

struct show_args {
	const char *step;
	bool json;
	char p[STORE_NAME_MAX + 1], r[STORE_NAME_MAX + 1];
	json_t *steps; /* the step names to show */
	json_t *out;   /* --json: the array printed */
};

static int show_opt(struct fs_ctx *ctx, int opt, const char *name, void *arg)
{
	struct show_args *a = arg;

	if (opt == OPT_STEP)
		a->step = optarg;
	else if (opt == OPT_JSON)
		a->json = true;
	else
		return fs_usage_error(
		    ctx, "--%s does not apply to 'trace show'", name);
	return 0;
}

/* Prints s with control characters (a newline in a name written through
 * the mount) as '?', so that one span is one line. */
static void put_clean(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc((unsigned char)*s < ' ' || *s == 0x7f ? '?' : *s, f);
}

static void show_text(const char *step, const struct fs_trace *t)
{
	FILE *f = fs_stdout();
	unsigned depth = 0;

	fprintf(f, "%s", step);
	if (!t->n)
		fprintf(f, " (no spans)");
	fputc('\n', f);
	for (size_t i = t->first; i != FS_SPAN_NONE;
	     i = fs_trace_next(t, i, &depth)) {
		const struct fs_span *sp = &t->spans[i];

		fprintf(f, "%*s", 2 * (int)(depth + 1), "");
		put_clean(f, sp->kind[0] ? sp->kind : "?");
		fputc(' ', f);
		put_clean(f, sp->name[0] ? sp->name : "?");
		if (sp->start != FS_TIME_NONE && sp->end != FS_TIME_NONE)
			fprintf(f, "  %lld ms",
				(long long)((sp->end - sp->start) / 1000000));
		else
			fprintf(f, "  - ms");
		if (sp->id) {
			fputs("  [", f);
			put_clean(f, sp->id);
			fputc(']', f);
		}
		fputc('\n', f);
	}
}

/* Adds "seq" and an empty "children" to a span's object. */
static int json_prepare(struct fs_span *sp)
{
	json_t *seq = json_integer((json_int_t)sp->seq);

	if (json_object_set_new(sp->obj, "seq", seq) ||
	    json_object_set_new(sp->obj, "children", json_array()))
		return -ENOMEM;
	return 0;
}

/* Nests each span's object under its parent's "children" and appends
 * {"step", "spans": roots} to out. */
static int show_json(const char *step, struct fs_trace *t, json_t *out)
{
	json_t *roots = json_array(), *kids;
	int rc = roots ? 0 : -ENOMEM;

	for (size_t i = 0; !rc && i < t->n; i++)
		rc = json_prepare(&t->spans[i]);
	for (size_t i = t->first; !rc && i != FS_SPAN_NONE;
	     i = t->spans[i].next)
		rc = json_array_append(roots, t->spans[i].obj) ? -ENOMEM : 0;
	for (size_t i = 0; !rc && i < t->n; i++) {
		kids = json_object_get(t->spans[i].obj, "children");
		for (size_t c = t->spans[i].child; !rc && c != FS_SPAN_NONE;
		     c = t->spans[c].next)
			if (json_array_append(kids, t->spans[c].obj))
				rc = -ENOMEM;
	}
	if (!rc && json_array_append_new(out, json_pack("{s:o, s:O}", "step",
							fs_json_str(step),
							"spans", roots)))
		rc = -ENOMEM;
	json_decref(roots);
	return rc;
}

static int collect_step(void *arg, const char *name)
{
	return json_array_append_new(arg, json_string(name)) ? -ENOMEM : 0;
}

/* Which steps: --step (checked), else all of the run's. */
static int show_steps(struct fs_ctx *ctx, struct show_args *a)
{
	struct store_run run;
	int rc = store_run_get(ctx->store, a->p, a->r, &run);

	if (rc == -ENOENT)
		store_log(STORE_LOG_ERR, "no run %s/%s", a->p, a->r);
	if (!rc && a->step) {
		rc = store_step_get(ctx->store, a->p, a->r, a->step);
		if (rc == -ENOENT)
			store_log(STORE_LOG_ERR, "no step %s in run %s/%s",
				  a->step, a->p, a->r);
		if (!rc &&
		    json_array_append_new(a->steps, json_string(a->step)))
			rc = -ENOMEM;
	} else if (!rc) {
		rc = store_step_each(ctx->store, a->p, a->r, collect_step,
				     a->steps);
	}
	return rc;
}

static int show_all(struct fs_ctx *ctx, struct show_args *a)
{
	struct fs_trace t;
	size_t i;
	json_t *name;
	int rc = show_steps(ctx, a);

	json_array_foreach(a->steps, i, name)
	{
		const char *step = json_string_value(name);

		if (rc)
			break;
		rc = fs_trace_load(ctx->store, a->p, a->r, step, &t);
		if (rc)
			break;
		if (a->out)
			rc = show_json(step, &t, a->out);
		else
			show_text(step, &t);
		fs_trace_release(&t);
	}
	if (!rc && a->out) {
		rc = fs_json_print(a->out);
		a->out = NULL; /* fs_json_print took it */
	}
	return rc;
}

static int trace_show(struct fs_ctx *ctx, int argc, char **argv)
{
	struct show_args a = {.steps = json_array()};
	int rc = a.steps ? 0 : -ENOMEM, ind = argc;

	if (!rc)
		rc = parse(ctx, argc, argv, show_help, show_opt, &a, &ind);
	if (!rc && ind != argc - 1)
		rc = fs_usage_error(ctx, "usage: trace show P/R [--step S] "
					 "[--json]");
	if (!rc && fs_split_run(ctx, argv[ind], a.p, a.r))
		rc = -EINVAL;
	if (!rc && a.step && store_name_check(a.step, strlen(a.step)))
		rc = fs_usage_error(ctx, "'%s' is not a step name", a.step);
	if (!rc && a.json && !(a.out = json_array()))
		rc = -ENOMEM;
	if (!rc)
		rc = trace_store(ctx, argc, NULL, 0);
	if (!rc)
		rc = fs_authorize_at(ctx, ACL_READ, "trace.show",
				     "/pipelines/%s/runs/%s", a.p, a.r);
	if (!rc)
		rc = show_all(ctx, &a);
	json_decref(a.steps);
	json_decref(a.out);
	return rc < 0 ? rc : 0;
}

int fs_cmd_trace(struct fs_ctx *ctx, int argc, char **argv)
{
	if (!strcmp(argv[0], "add"))
		return trace_add(ctx, argc, argv);
	if (!strcmp(argv[0], "show"))
		return trace_show(ctx, argc, argv);
	return fs_usage_error(ctx, "unknown trace command '%s' (add, show)",
			      argv[0]);
}
