/*
 * envdiff.c - what differs between two steps: code, params, packages,
 * image, system (from their environment snapshots), and the versions
 * they read and produced.  `artifactfs diff` prints it; a cache miss
 * names its first differences with it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envdiff_i.h"

const char *const envdiff_sections[ED_N] = {
    "steps",  "code",	"param",   "packages", "image",
    "system", "inputs", "outputs", "secret",
};

static int item_add(struct envdiff *d, enum envdiff_section sec,
		    const char *name, const char *old, const char *new)
{
	struct envdiff_item *it;

	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 16;
		void *p = realloc(d->v, cap * sizeof(*d->v));

		if (!p)
			return -ENOMEM;
		d->v = p;
		d->cap = cap;
	}
	it = &d->v[d->n];
	it->section = sec;
	it->name = strdup(name);
	it->old = old ? strdup(old) : NULL;
	it->new = new ? strdup(new) : NULL;
	if (!it->name || (old && !it->old) || (new && !it->new)) {
		free(it->name);
		free(it->old);
		free(it->new);
		return -ENOMEM;
	}
	d->n++;
	return 0;
}

void envdiff_release(struct envdiff *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].name);
		free(d->v[i].old);
		free(d->v[i].new);
	}
	free(d->v);
	memset(d, 0, sizeof(*d));
}

/* ------------------------------------------------------ key/value lists */

struct kv {
	char *key, *val;
};

struct kvs {
	struct kv *v;
	size_t n;
	char *text; /* owns the strings */
};

static int kv_cmp(const void *a, const void *b)
{
	return strcmp(((const struct kv *)a)->key, ((const struct kv *)b)->key);
}

/* "eco name version": python packages by name, others as "eco:name". */
static void package_line(char *line, struct kv *out)
{
	char *sp1 = strchr(line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;

	if (!sp2) {
		out->key = line;
		out->val = "";
		return;
	}
	*sp2 = '\0';
	out->val = sp2 + 1;
	if (!strncmp(line, "python ", 7)) {
		out->key = sp1 + 1;
	} else {
		*sp1 = ':';
		out->key = line;
	}
}

/* "key: value", "file NAME DIGEST", or a bare line. */
static void field_line(char *line, struct kv *out)
{
	char *colon = strstr(line, ": "), *sp;

	if (colon) {
		*colon = '\0';
		out->key = line;
		out->val = colon + 2;
	} else if (!strncmp(line, "file ", 5) && (sp = strrchr(line, ' ')) &&
		   sp > line + 4) {
		*sp = '\0';
		out->key = line;
		out->val = sp + 1;
	} else {
		out->key = line;
		out->val = "";
	}
}

/* Splits text into sorted key/value pairs by the rule of sec. */
static int kvs_parse(const char *text, enum envdiff_section sec,
		     struct kvs *out)
{
	size_t lines = 0, n = 0;
	char *p;

	memset(out, 0, sizeof(*out));
	out->text = strdup(text ? text : "");
	if (!out->text)
		return -ENOMEM;
	for (p = out->text; *p; p++)
		lines += *p == '\n';
	out->v = calloc(lines + 1, sizeof(*out->v));
	if (!out->v)
		return -ENOMEM;
	for (p = strtok(out->text, "\n"); p; p = strtok(NULL, "\n")) {
		if (!strcmp(p, "none"))
			continue;
		if (sec == ED_PACKAGES)
			package_line(p, &out->v[n]);
		else
			field_line(p, &out->v[n]);
		n++;
	}
	out->n = n;
	qsort(out->v, n, sizeof(*out->v), kv_cmp);
	return 0;
}

static void kvs_release(struct kvs *k)
{
	free(k->v);
	free(k->text);
}

/* Adds to d what differs between two lists of one section. */
static int kvs_compare(struct envdiff *d, enum envdiff_section sec,
		       const struct kvs *a, const struct kvs *b)
{
	size_t i = 0, j = 0;
	int rc = 0;

	while (!rc && (i < a->n || j < b->n)) {
		int c = i == a->n   ? 1
			: j == b->n ? -1
				    : strcmp(a->v[i].key, b->v[j].key);

		if (c < 0) {
			rc = item_add(d, sec, a->v[i].key, a->v[i].val, NULL);
			i++;
		} else if (c > 0) {
			rc = item_add(d, sec, b->v[j].key, NULL, b->v[j].val);
			j++;
		} else {
			if (strcmp(a->v[i].val, b->v[j].val))
				rc = item_add(d, sec, a->v[i].key, a->v[i].val,
					      b->v[j].val);
			i++;
			j++;
		}
	}
	return rc;
}

int envdiff_text(struct envdiff *d, enum envdiff_section sec, const char *a,
		 const char *b)
{
	struct kvs ka, kb;
	int rc = kvs_parse(a, sec, &ka);

	if (!rc)
		rc = kvs_parse(b, sec, &kb);
	else
		kb = (struct kvs){0};
	if (!rc)
		rc = kvs_compare(d, sec, &ka, &kb);
	kvs_release(&ka);
	kvs_release(&kb);
	return rc;
}

/* ------------------------------------------------ params and versions */

struct notes_text {
	const char *prefix;
	struct envsnap_buf *b;
};

static int note_line(void *arg, const char *key, const char *value)
{
	struct notes_text *n = arg;
	size_t len = strlen(n->prefix);

	if (!strncmp(key, n->prefix, len))
		envsnap_printf(n->b, "%s: %s\n", key + len, value);
	return 0;
}

/* The notes of a run under prefix as "name: value" lines. */
static int notes_text(struct store *s, const char *p, const char *r,
		      const char *prefix, struct envsnap_buf *out)
{
	struct notes_text n = {prefix, out};
	int rc = store_run_note_each(s, p, r, note_line, &n);

	return rc ? rc : out->oom ? -ENOMEM : 0;
}

int envdiff_params_text(struct store *s, const char *p, const char *r,
			struct envsnap_buf *out)
{
	return notes_text(s, p, r, "param.", out);
}

struct edges {
	struct store *s;
	struct envsnap_buf *b;
};

static int edge_line(void *arg, const char *artifact, uint32_t number)
{
	struct edges *e = arg;
	struct store_version v;
	char dg[STORE_DIGEST_STR_LEN] = "?";

	if (!store_version_get(e->s, artifact, number, &v))
		store_digest_format(v.digest, dg);
	/* Several versions of one artifact: the newest one counts. */
	envsnap_printf(e->b, "%s: v%u %s\n", artifact, number, dg);
	return 0;
}

int envdiff_edges_text(struct store *s, bool inputs, const char *p,
		       const char *r, const char *step, struct envsnap_buf *out)
{
	struct edges e = {s, out};
	int rc = inputs ? store_step_input_each(s, p, r, step, edge_line, &e)
			: store_step_output_each(s, p, r, step, edge_line, &e);

	return rc ? rc : out->oom ? -ENOMEM : 0;
}

/* ------------------------------------------------------------ steps */

static int step_sides(struct store *s, const struct envdiff_side *x,
		      struct envsnap *e, struct envsnap_buf *params,
		      struct envsnap_buf *in, struct envsnap_buf *out)
{
	int rc = fs_envsnap_load(s, x->pipeline, x->run, x->step, e);

	if (rc == -ENOENT)
		rc = 0; /* no snapshot: compared as empty */
	if (!rc)
		rc = envdiff_params_text(s, x->pipeline, x->run, params);
	if (!rc)
		rc = envdiff_edges_text(s, true, x->pipeline, x->run, x->step,
					in);
	if (!rc)
		rc = envdiff_edges_text(s, false, x->pipeline, x->run, x->step,
					out);
	return rc;
}

int envdiff_steps(struct store *s, const struct envdiff_side *a,
		  const struct envdiff_side *b, struct envdiff *d)
{
	static const enum envdiff_section snap_sec[ENVSNAP_N] = {
	    [ENVSNAP_CODE] = ED_CODE,	[ENVSNAP_PACKAGES] = ED_PACKAGES,
	    [ENVSNAP_IMAGE] = ED_IMAGE, [ENVSNAP_SYSTEM] = ED_SYSTEM,
	    [ENVSNAP_ENVIRON] = ED_N, /* not compared */
	};
	struct envsnap ea = {0}, eb = {0};
	struct envsnap_buf pa = {0}, pb = {0}, ia = {0}, ib = {0}, oa = {0},
			   ob = {0}, sa = {0}, sb = {0};
	int rc = step_sides(s, a, &ea, &pa, &ia, &oa);

	if (!rc)
		rc = step_sides(s, b, &eb, &pb, &ib, &ob);
	if (!rc)
		rc = notes_text(s, a->pipeline, a->run, "secret.", &sa);
	if (!rc)
		rc = notes_text(s, b->pipeline, b->run, "secret.", &sb);
	for (int i = 0; !rc && i < ENVSNAP_N; i++)
		if (snap_sec[i] != ED_N)
			rc = envdiff_text(d, snap_sec[i], ea.f[i].p, eb.f[i].p);
	if (!rc)
		rc = envdiff_text(d, ED_PARAMS, pa.p, pb.p);
	if (!rc)
		rc = envdiff_text(d, ED_SECRETS, sa.p, sb.p);
	if (!rc)
		rc = envdiff_text(d, ED_INPUTS, ia.p, ib.p);
	if (!rc)
		rc = envdiff_text(d, ED_OUTPUTS, oa.p, ob.p);
	fs_envsnap_release(&ea);
	fs_envsnap_release(&eb);
	free(pa.p);
	free(pb.p);
	free(ia.p);
	free(ib.p);
	free(oa.p);
	free(ob.p);
	free(sa.p);
	free(sb.p);
	return rc;
}

/* ------------------------------------------------------------ showing */

void envdiff_item_text(const struct envdiff_item *it, char *buf, size_t size)
{
	const char *sec = envdiff_sections[it->section];
	/* "packages: pydantic 2.5.3 -> 2.6.0", "param lr: 0.1 -> 0.2" */
	const char *sep = it->section == ED_PACKAGES ? ": " : " ";
	const char *mid = it->section == ED_PACKAGES ? " " : ": ";

	if (it->old && it->new)
		snprintf(buf, size, "%s%s%s%s%s -> %s", sec, sep, it->name, mid,
			 it->old, it->new);
	else
		snprintf(buf, size, "%s%s%c%s%s%s", sec, sep,
			 it->new ? '+' : '-', it->name,
			 (it->new ? it->new : it->old)[0] ? mid : "",
			 it->new ? it->new : it->old);
}

void envdiff_summary(const struct envdiff *d, unsigned sections, size_t most,
		     char *buf, size_t size)
{
	size_t shown = 0, len = 0, more = 0;
	char one[512];

	buf[0] = '\0';
	for (size_t i = 0; i < d->n; i++) {
		if (!(sections & 1u << d->v[i].section))
			continue;
		if (shown == most) {
			more++;
			continue;
		}
		envdiff_item_text(&d->v[i], one, sizeof(one));
		len += (size_t)snprintf(buf + len, len < size ? size - len : 0,
					"%s%s", shown ? "; " : "", one);
		shown++;
	}
	if (more && len < size)
		snprintf(buf + len, size - len, "; and %zu more", more);
}
