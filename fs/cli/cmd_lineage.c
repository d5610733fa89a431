/*
 * cmd_lineage.c - `artifactfs lineage ARTIFACT@REF`: the graph of versions
 * and the step runs that read and produced them.
 *
 * Two kinds of node: versions ("version:model@v3") and steps
 * ("step:train/r7/fit").  Edges follow the data: version -> step when the
 * step read the version (kind "input"), step -> version when the step
 * produced it (kind "output").  Walking upstream from a version goes to its
 * producer (the "pipeline/run/step" of struct store_version.run; a version
 * put outside a run, or with only "pipeline/run", has none we know of),
 * then to that step's inputs, and so on; downstream goes to the steps that
 * read the version, then to what they produced.  Each walk is breadth
 * first, so --depth N (step hops) keeps exactly the nodes at most N hops
 * away; each node is expanded once per direction, which also ends cycles.
 *
 * The graph is kept whole in memory (at most NODES_MAX nodes) and then
 * printed as an indented tree, JSON or Graphviz dot.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_i.h"

/* A cap on what one lineage query keeps in memory. */
#define NODES_MAX     100000
#define STEP_NAME_LEN (3 * (STORE_NAME_MAX + 1))

enum dir_flags {
	DIR_UP = 1 << 0,
	DIR_DOWN = 1 << 1,
};

enum node_kind {
	NODE_VERSION,
	NODE_STEP,
};

struct node {
	enum node_kind kind;
	char *id;   /* "version:A@vN" or "step:P/R/S", owned */
	char *name; /* points into id, after the "kind:" */
	/* a version */
	char *artifact; /* owned */
	uint32_t number;
	uint8_t digest[STORE_DIGEST_LEN];
	char *producer; /* store_version.run ("" if none), owned */
	/* a step: its run's status, 0 if the run is unknown */
	enum store_run_status status;
	size_t *adj; /* indices of incident edges, owned */
	size_t nadj, adj_cap;
	unsigned queued;  /* enum dir_flags: walked from in that direction */
	unsigned printed; /* enum dir_flags: expanded in the tree */
};

struct edge {
	size_t from, to;
	bool input;    /* version -> step; else step -> version */
	unsigned dirs; /* enum dir_flags of the walks that found it */
};

struct graph {
	struct store *s;
	struct fs_ctx *ctx; /* whose roles say what the graph may show */
	size_t hidden;	    /* versions and steps left out for them */
	struct node *nodes;
	size_t n, cap;
	struct edge *edges;
	size_t ne, ecap;
	json_t *ids;	/* node id -> its index */
	unsigned depth; /* step hops; UINT_MAX: unlimited */
	size_t *queue;	/* the current walk's queue: node indices */
	unsigned *hops; /* and their distances in step hops */
	size_t head, tail;
};

static void graph_release(struct graph *g)
{
	for (size_t i = 0; i < g->n; i++) {
		free(g->nodes[i].id);
		free(g->nodes[i].artifact);
		free(g->nodes[i].producer);
		free(g->nodes[i].adj);
	}
	free(g->nodes);
	free(g->edges);
	free(g->queue);
	free(g->hops);
	json_decref(g->ids);
}

static int grow(void **arr, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 16;
	void *p;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	p = realloc(*arr, n * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = n;
	return 0;
}

/* Finds the node of id or appends a zeroed one; *idx is its index and
 * *added says whether it is new (then the caller fills it in). */
static int node_get(struct graph *g, const char *id, size_t *idx, bool *added)
{
	json_t *known = json_object_get(g->ids, id);
	struct node *n;

	*added = false;
	if (known) {
		*idx = (size_t)json_integer_value(known);
		return 0;
	}
	if (g->n >= NODES_MAX) {
		store_log(STORE_LOG_ERR,
			  "lineage: more than %d nodes; use --depth to "
			  "limit the walk",
			  NODES_MAX);
		return -EFBIG;
	}
	if (grow((void **)&g->nodes, &g->cap, g->n + 1, sizeof(*g->nodes)))
		return -ENOMEM;
	n = &g->nodes[g->n];
	memset(n, 0, sizeof(*n));
	n->id = strdup(id);
	if (!n->id ||
	    json_object_set_new(g->ids, id, json_integer((json_int_t)g->n)))
		goto out_nomem;
	n->name = strchr(n->id, ':') + 1;
	*idx = g->n++;
	*added = true;
	return 0;
out_nomem:
	free(n->id);
	return -ENOMEM;
}

/* The node of artifact@v<number>, read from the store when new. */
static int node_version(struct graph *g, const char *artifact, uint32_t number,
			size_t *idx)
{
	char id[STORE_NAME_MAX + 32];
	struct store_version v;
	struct node *n;
	bool added;
	int rc;

	snprintf(id, sizeof(id), "version:%s@v%u", artifact, number);
	rc = node_get(g, id, idx, &added);
	if (rc || !added)
		return rc;
	n = &g->nodes[*idx];
	n->kind = NODE_VERSION;
	n->number = number;
	rc = store_version_get(g->s, artifact, number, &v);
	if (rc)
		return rc;
	memcpy(n->digest, v.digest, STORE_DIGEST_LEN);
	n->artifact = strdup(artifact);
	n->producer = strdup(v.run);
	return n->artifact && n->producer ? 0 : -ENOMEM;
}

/* Splits "P/R/S" into its three names; false for anything else (such as
 * the "P/R" of a version put with --run P/R). */
static bool step_split(const char *name, char *p, char *r, char *s)
{
	char *out[3] = {p, r, s};
	const char *at = name;

	for (int i = 0; i < 3; i++) {
		const char *end = i < 2 ? strchr(at, '/') : at + strlen(at);
		size_t len = end ? (size_t)(end - at) : 0;

		if (!end || store_name_check(at, len))
			return false;
		memcpy(out[i], at, len);
		out[i][len] = '\0';
		at = end + 1;
	}
	return true;
}

/* The node of step pipeline/run/step, with its run's status when new. */
static int node_step(struct graph *g, const char *p, const char *r,
		     const char *s, size_t *idx)
{
	char id[STEP_NAME_LEN + 8];
	struct store_run run;
	bool added;
	int rc;

	snprintf(id, sizeof(id), "step:%s/%s/%s", p, r, s);
	rc = node_get(g, id, idx, &added);
	if (rc || !added)
		return rc;
	g->nodes[*idx].kind = NODE_STEP;
	rc = store_run_get(g->s, p, r, &run);
	if (rc == -ENOENT)
		return 0;
	if (!rc)
		g->nodes[*idx].status = run.status;
	return rc;
}

static int adj_add(struct node *n, size_t e)
{
	if (grow((void **)&n->adj, &n->adj_cap, n->nadj + 1, sizeof(*n->adj)))
		return -ENOMEM;
	n->adj[n->nadj++] = e;
	return 0;
}

/* Adds the edge from -> to (once), found by a walk in direction dir. */
static int edge_add(struct graph *g, size_t from, size_t to, bool input,
		    unsigned dir)
{
	struct node *f = &g->nodes[from];
	struct edge *e;
	int rc;

	for (size_t i = 0; i < f->nadj; i++) {
		e = &g->edges[f->adj[i]];
		if (e->from == from && e->to == to) {
			e->dirs |= dir;
			return 0;
		}
	}
	if (grow((void **)&g->edges, &g->ecap, g->ne + 1, sizeof(*g->edges)))
		return -ENOMEM;
	g->edges[g->ne] = (struct edge){from, to, input, dir};
	rc = adj_add(&g->nodes[from], g->ne);
	if (!rc)
		rc = adj_add(&g->nodes[to], g->ne);
	if (!rc)
		g->ne++;
	return rc;
}

/* What one expansion needs in the store's callbacks. */
struct expand {
	struct graph *g;
	size_t from;   /* the node being expanded */
	unsigned hops; /* the distance of what it reaches */
	unsigned dir;
};

/* Links the expanded node to node idx and queues idx if it is new to
 * this walk. */
static int reach(struct expand *x, size_t idx)
{
	struct graph *g = x->g;
	bool data_in = x->dir == DIR_UP; /* idx feeds the expanded node */
	bool input = g->nodes[idx].kind == NODE_VERSION ? data_in : !data_in;
	int rc = data_in ? edge_add(g, idx, x->from, input, x->dir)
			 : edge_add(g, x->from, idx, input, x->dir);

	if (rc || (g->nodes[idx].queued & x->dir))
		return rc;
	g->nodes[idx].queued |= x->dir;
	g->queue[g->tail] = idx;
	g->hops[g->tail++] = x->hops;
	return 0;
}

/* Whether the caller may read what a node shows (path of the mount);
 * what they may not is left out of the graph, and counted. */
static bool shown(struct graph *g, const char *path)
{
	if (fs_allowed(g->ctx, ACL_READ, path) == 0)
		return true;
	g->hidden++;
	return false;
}

static int reach_version(void *arg, const char *artifact, uint32_t number)
{
	char path[STORE_NAME_MAX + 32];
	struct expand *x = arg;
	size_t idx;
	int rc;

	snprintf(path, sizeof(path), "/artifacts/%s/v%u", artifact, number);
	if (!shown(x->g, path))
		return 0;
	rc = node_version(x->g, artifact, number, &idx);
	return rc ? rc : reach(x, idx);
}

static int reach_step(void *arg, const char *p, const char *r, const char *s)
{
	char path[3 * STORE_NAME_MAX + 32];
	struct expand *x = arg;
	size_t idx;
	int rc;

	snprintf(path, sizeof(path), "/pipelines/%s/runs/%s/steps/%s", p, r, s);
	if (!shown(x->g, path))
		return 0;
	rc = node_step(x->g, p, r, s, &idx);
	return rc ? rc : reach(x, idx);
}

/* Expands one node of the walk: a version to its producer (up) or its
 * readers (down), a step to its inputs (up) or outputs (down). */
static int expand(struct graph *g, size_t idx, unsigned hops, unsigned dir)
{
	struct expand x = {g, idx, hops, dir};
	char p[STORE_NAME_MAX + 1], r[STORE_NAME_MAX + 1],
	    s[STORE_NAME_MAX + 1];
	struct node *n = &g->nodes[idx];

	if (n->kind == NODE_VERSION) {
		if (hops >= g->depth)
			return 0;
		x.hops = hops + 1;
		if (dir == DIR_DOWN)
			return store_version_reader_each(
			    g->s, n->artifact, n->number, reach_step, &x);
		if (!step_split(n->producer, p, r, s))
			return 0;
		return reach_step(&x, p, r, s);
	}
	if (!step_split(n->name, p, r, s))
		return -EIO; /* we made the name */
	return dir == DIR_UP
		   ? store_step_input_each(g->s, p, r, s, reach_version, &x)
		   : store_step_output_each(g->s, p, r, s, reach_version, &x);
}

/* Walks from root in one direction, breadth first. */
static int walk(struct graph *g, size_t root, unsigned dir)
{
	int rc = 0;

	/* Each node enters the queue at most once per walk. */
	free(g->queue);
	free(g->hops);
	g->queue = malloc(NODES_MAX * sizeof(*g->queue));
	g->hops = malloc(NODES_MAX * sizeof(*g->hops));
	if (!g->queue || !g->hops)
		return -ENOMEM;
	g->head = g->tail = 0;
	g->nodes[root].queued |= dir;
	g->queue[g->tail] = root;
	g->hops[g->tail++] = 0;
	while (!rc && g->head < g->tail) {
		size_t i = g->head++;

		rc = expand(g, g->queue[i], g->hops[i], dir);
	}
	return rc;
}

/* ---------------------------------------------------------- printing */

static const char *status_note(enum store_run_status st)
{
	switch (st) {
	case STORE_RUN_OPEN:
		return " (open)";
	case STORE_RUN_FAILED:
		return " (failed)";
	case STORE_RUN_SEALED:
		return "";
	}
	return " (unknown run)";
}

/* The next neighbour of node idx in direction dir after adjacency
 * position *pos, or SIZE_MAX. */
static size_t next_child(const struct graph *g, size_t idx, unsigned dir,
			 size_t *pos)
{
	const struct node *n = &g->nodes[idx];

	while (*pos < n->nadj) {
		const struct edge *e = &g->edges[n->adj[(*pos)++]];

		if (!(e->dirs & dir))
			continue;
		if (dir == DIR_UP && e->to == idx)
			return e->from;
		if (dir == DIR_DOWN && e->from == idx)
			return e->to;
	}
	return SIZE_MAX;
}

static void print_line(struct graph *g, size_t idx, unsigned dir, size_t level,
		       bool repeated)
{
	const struct node *n = &g->nodes[idx];

	fprintf(fs_stdout(), "%*s%s %s%s%s\n", (int)(2 * level), "",
		dir == DIR_UP ? "<-" : "->", n->name,
		n->kind == NODE_STEP ? status_note(n->status) : "",
		repeated ? " (see above)" : "");
}

/* Prints the tree below root in one direction, depth first, without
 * recursion (a long chain must not exhaust the stack).  A node expanded
 * once shows as "(see above)" the next time. */
static int print_tree(struct graph *g, size_t root, unsigned dir)
{
	struct frame {
		size_t node, pos;
	} *stack = malloc((g->n + 1) * sizeof(*stack));
	size_t depth = 0, child, any = 0;

	if (!stack)
		return -ENOMEM;
	stack[0] = (struct frame){root, 0};
	g->nodes[root].printed |= dir;
	while (true) {
		struct frame *f = &stack[depth];
		size_t pos;

		child = next_child(g, f->node, dir, &f->pos);
		if (child == SIZE_MAX) {
			if (depth-- == 0)
				break;
			continue;
		}
		any++;
		pos = 0;
		if (g->nodes[child].printed & dir) {
			print_line(g, child, dir, depth + 1,
				   next_child(g, child, dir, &pos) != SIZE_MAX);
			continue;
		}
		print_line(g, child, dir, depth + 1, false);
		g->nodes[child].printed |= dir;
		stack[++depth] = (struct frame){child, 0};
	}
	free(stack);
	if (!any)
		fprintf(fs_stdout(), "  %s\n",
			dir == DIR_UP ? "<- (no recorded producer)"
				      : "-> (read by no recorded step)");
	return 0;
}

static int print_human(struct graph *g, size_t root, unsigned dirs)
{
	char d[FS_DIGEST_SHORT_LEN];
	int rc = 0;

	fs_digest_short(g->nodes[root].digest, d);
	fprintf(fs_stdout(), "%s  %s\n", g->nodes[root].name, d);
	if (dirs & DIR_UP)
		rc = print_tree(g, root, DIR_UP);
	if (!rc && (dirs & DIR_DOWN))
		rc = print_tree(g, root, DIR_DOWN);
	return rc;
}

static json_t *node_json(const struct node *n)
{
	static const char *const status[] = {"unknown", "open", "sealed",
					     "failed"};
	char p[STORE_NAME_MAX + 1], r[STORE_NAME_MAX + 1],
	    s[STORE_NAME_MAX + 1];

	if (n->kind == NODE_VERSION)
		return json_pack(
		    "{s:o, s:s, s:o, s:i, s:o, s:o}", "id", fs_json_str(n->id),
		    "type", "version", "artifact", fs_json_str(n->artifact),
		    "version", (json_int_t)n->number, "digest",
		    fs_json_digest(n->digest), "run", fs_json_str(n->producer));
	if (!step_split(n->name, p, r, s))
		return NULL;
	return json_pack("{s:o, s:s, s:o, s:o, s:o, s:s}", "id",
			 fs_json_str(n->id), "type", "step", "pipeline",
			 fs_json_str(p), "run", fs_json_str(r), "step",
			 fs_json_str(s), "status", status[n->status]);
}

static int print_json(struct graph *g, size_t root)
{
	json_t *nodes = json_array(), *edges = json_array();
	json_t *o =
	    json_pack("{s:o, s:o, s:o}", "root", fs_json_str(g->nodes[root].id),
		      "nodes", nodes, "edges", edges);
	int rc = o ? 0 : -ENOMEM;

	for (size_t i = 0; !rc && i < g->n; i++)
		if (json_array_append_new(nodes, node_json(&g->nodes[i])))
			rc = -ENOMEM;
	for (size_t i = 0; !rc && i < g->ne; i++) {
		const struct edge *e = &g->edges[i];

		if (json_array_append_new(
			edges,
			json_pack("{s:o, s:o, s:s}", "from",
				  fs_json_str(g->nodes[e->from].id), "to",
				  fs_json_str(g->nodes[e->to].id), "kind",
				  e->input ? "input" : "output")))
			rc = -ENOMEM;
	}
	if (rc) {
		json_decref(o);
		return rc;
	}
	return fs_json_print(o);
}

/* A dot ID: a double-quoted string, with " and \ escaped (names may hold
 * them; they never hold control characters), and a second line when
 * line2 is not NULL. */
static void dot_quoted(FILE *f, const char *s, const char *line2)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	if (line2)
		fprintf(f, "\\n%s", line2);
	fputc('"', f);
}

static int print_dot(struct graph *g, size_t root)
{
	FILE *f = fs_stdout();

	fprintf(f, "digraph lineage {\n\trankdir=LR;\n"
		   "\tnode [fontname=\"Helvetica\"];\n");
	for (size_t i = 0; i < g->n; i++) {
		const struct node *n = &g->nodes[i];
		char d[FS_DIGEST_SHORT_LEN];

		const char *line2 = NULL;

		if (n->kind == NODE_VERSION) {
			fs_digest_short(n->digest, d);
			line2 = d;
		} else if (n->status != STORE_RUN_SEALED) {
			line2 = status_note(n->status) + 1; /* "(failed)" */
		}
		fputc('\t', f);
		dot_quoted(f, n->id, NULL);
		fprintf(f, " [shape=%s%s, label=",
			n->kind == NODE_VERSION ? "box" : "ellipse",
			i == root ? ", style=bold" : "");
		dot_quoted(f, n->name, line2);
		fprintf(f, "];\n");
	}
	for (size_t i = 0; i < g->ne; i++) {
		fputc('\t', f);
		dot_quoted(f, g->nodes[g->edges[i].from].id, NULL);
		fprintf(f, " -> ");
		dot_quoted(f, g->nodes[g->edges[i].to].id, NULL);
		fprintf(f, ";\n");
	}
	fprintf(f, "}\n");
	return 0;
}

/* ---------------------------------------------------------- the command */

static int parse_depth(struct fs_ctx *ctx, unsigned *out)
{
	char *end;
	unsigned long n;

	*out = UINT_MAX;
	if (!ctx->depth)
		return 0;
	errno = 0;
	n = strtoul(ctx->depth, &end, 10);
	if (ctx->depth[0] < '0' || ctx->depth[0] > '9' || *end || errno ||
	    n >= UINT_MAX)
		return fs_usage_error(ctx,
				      "--depth takes a number of steps, "
				      "not '%s'",
				      ctx->depth);
	*out = (unsigned)n;
	return 0;
}

int fs_cmd_lineage(struct fs_ctx *ctx, int argc, char **argv)
{
	struct graph g = {.s = ctx->store, .ctx = ctx, .ids = json_object()};
	unsigned dirs =
	    (ctx->upstream ? DIR_UP : 0) | (ctx->downstream ? DIR_DOWN : 0);
	struct fs_target t = {0};
	size_t root;
	int rc;

	(void)argc;
	if (!strcmp(argv[0], "export")) {
		json_decref(g.ids);
		if (!ctx->openlineage)
			return fs_usage_error(ctx,
					      "export needs --openlineage");
		return fs_cmd_openlineage(ctx, 0, NULL);
	}
	if (ctx->openlineage || (ctx->run && !ctx->openlineage)) {
		json_decref(g.ids);
		return fs_usage_error(ctx, "--openlineage and --run go with "
					   "'lineage export'");
	}
	if (ctx->json && ctx->dot) {
		rc = fs_usage_error(ctx, "--json and --dot exclude each other");
		goto out;
	}
	rc = parse_depth(ctx, &g.depth);
	if (!rc)
		rc = g.ids ? fs_target_resolve(ctx, argv[0], &t) : -ENOMEM;
	if (rc)
		goto out;
	if (t.path[0]) {
		rc = fs_usage_error(ctx,
				    "'%s': lineage is about versions, "
				    "not paths inside them",
				    argv[0]);
		goto out;
	}
	rc = node_version(&g, t.v.artifact, t.v.number, &root);
	if (!dirs)
		dirs = DIR_UP | DIR_DOWN;
	if (!rc && (dirs & DIR_UP))
		rc = walk(&g, root, DIR_UP);
	if (!rc && (dirs & DIR_DOWN))
		rc = walk(&g, root, DIR_DOWN);
	if (!rc)
		rc = ctx->json	? print_json(&g, root)
		     : ctx->dot ? print_dot(&g, root)
				: print_human(&g, root, dirs);
	if (!rc && g.hidden)
		store_log(STORE_LOG_WARNING,
			  "lineage: %zu version(s) or step(s) left out: your "
			  "roles do not let you read them",
			  g.hidden);
out:
	fs_target_release(&t);
	graph_release(&g);
	return rc;
}
