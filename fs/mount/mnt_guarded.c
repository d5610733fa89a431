/*
 * mnt_guarded.c - the guarded trees of the mount (acl.h): /secrets, one
 * file per secret, and /audit, the journal as one JSON Lines file per
 * day (UTC).  Their nodes belong to the daemon's user; who may list and
 * read them is the roles' decision (mnt_acl.c), not theirs.
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

/* -------------------------------------------------------------- secrets */

struct secret_find {
	const char *want;
	bool found;
	mnt_dir_fn fn; /* listing */
	void *arg;
};

static int secret_one(void *arg, const char *name)
{
	struct secret_find *f = arg;

	if (f->fn)
		return f->fn(f->arg, name, DT_REG);
	f->found |= !strcmp(name, f->want);
	return f->found;
}

/* A secret's node: its value is read at open (to whom the roles let);
 * its size is known without opening it. */
int mnt_resolve_secret(struct mnt *m, const char *name, struct mnt_node *out)
{
	struct secret_find f = {.want = name};
	int rc = acl_secret_each(m->s, secret_one, &f);

	if (rc < 0)
		return rc;
	if (!f.found)
		return -ENOENT;
	out->kind = MK_SECRET;
	out->e.kind = STORE_KIND_FILE;
	out->uid = m->root->uid; /* the daemon's user */
	return acl_secret_size(m->s, name, &out->e.size);
}

int mnt_list_secrets(struct mnt *m, mnt_dir_fn fn, void *arg)
{
	struct secret_find f = {.fn = fn, .arg = arg};

	return acl_secret_each(m->s, secret_one, &f);
}

/* ---------------------------------------------------------------- audit */

struct days {
	char (*v)[11];
	size_t n, cap;
	const char *want; /* a day to find, or NULL to list all */
	bool found;
};

static void day_of(int64_t ns, char out[11])
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

static int add_day(void *arg, const struct store_audit_entry *e)
{
	struct days *d = arg;
	char day[11];

	day_of(e->time, day);
	if (d->want) {
		d->found |= !strcmp(day, d->want);
		return 0;
	}
	if (d->n && !strcmp(d->v[d->n - 1], day))
		return 0; /* records come in time order */
	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 16;
		void *p = realloc(d->v, cap * sizeof(*d->v));

		if (!p)
			return -ENOMEM;
		d->v = p;
		d->cap = cap;
	}
	memcpy(d->v[d->n++], day, 11);
	return 0;
}

/* The size of day's file: the length of the text an open gives now (a
 * day still being written grows). */
static int day_size(struct mnt *m, const char *day, struct mnt_node *out)
{
	char *text = NULL;
	size_t len = 0;
	int rc = mnt_audit_text(m, day, &text, &len);

	free(text);
	out->e.size = len;
	return rc;
}

int mnt_resolve_audit_day(struct mnt *m, const char *name, struct mnt_node *out)
{
	char day[11];
	struct days d = {.want = day};
	int rc;

	if (strlen(name) != 16 || strcmp(name + 10, ".jsonl"))
		return -ENOENT;
	memcpy(day, name, 10);
	day[10] = '\0';
	rc = store_audit_each(m->s, 0, add_day, &d);
	if (rc)
		return rc;
	if (!d.found)
		return -ENOENT;
	out->kind = MK_AUDIT_DAY;
	out->e.kind = STORE_KIND_FILE;
	out->uid = m->root->uid; /* the daemon's user */
	return day_size(m, day, out);
}

struct day_text {
	const char *day;
	char *p;
	size_t len, cap;
};

static int day_line(void *arg, const struct store_audit_entry *e)
{
	struct day_text *t = arg;
	char day[11], when[40];
	time_t secs = (time_t)(e->time / 1000000000);
	struct tm tm;
	json_t *o;
	char *line;
	size_t n;

	day_of(e->time, day);
	if (strcmp(day, t->day))
		return 0;
	gmtime_r(&secs, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	o = json_pack("{s:I, s:s, s:I, s:s, s:I, s:s, s:s, s:s, s:I, s:i}",
		      "seq", (json_int_t)e->seq, "time", when, "uid",
		      (json_int_t)e->uid, "user", e->user, "pid",
		      (json_int_t)e->pid, "op", e->op, "path", e->path,
		      "digest", e->digest, "bytes", (json_int_t)e->bytes,
		      "result", e->result);
	line = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!line)
		return -ENOMEM;
	n = strlen(line);
	if (t->len + n + 2 > t->cap) {
		size_t cap = (t->cap ? 2 * t->cap : 4096) + n;
		char *p = realloc(t->p, cap);

		if (!p) {
			free(line);
			return -ENOMEM;
		}
		t->p = p;
		t->cap = cap;
	}
	memcpy(t->p + t->len, line, n);
	t->len += n;
	t->p[t->len++] = '\n';
	free(line);
	return 0;
}

int mnt_audit_text(struct mnt *m, const char *day, char **out, size_t *len)
{
	struct day_text t = {.day = day};
	int rc = store_audit_each(m->s, 0, day_line, &t);

	if (rc) {
		free(t.p);
		return rc;
	}
	*out = t.p ? t.p : strdup("");
	*len = t.len;
	return *out ? 0 : -ENOMEM;
}

int mnt_list_audit(struct mnt *m, mnt_dir_fn fn, void *arg)
{
	struct days d = {0};
	char name[32];
	int rc = store_audit_each(m->s, 0, add_day, &d);

	for (size_t i = 0; !rc && i < d.n; i++) {
		snprintf(name, sizeof(name), "%s.jsonl", d.v[i]);
		rc = fn(arg, name, DT_REG);
	}
	free(d.v);
	return rc;
}
