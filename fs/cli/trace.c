/*
 * trace.c - reading a step's trace as a forest of spans, and the UUIDs
 * and millisecond times that spans and OpenLineage events are made of.
 *
 * Linking is linear apart from two sorts: ids are looked up in a sorted
 * index, a cycle of parent ids is cut where the walk that finds it closes
 * it (a three-colour walk, so each span is visited once), and children
 * are linked in (start, line) order.  Walking the forest is iterative
 * (fs_trace_next), so a deep chain of spans cannot exhaust the stack.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trace_i.h"

const char *const fs_span_kinds[] = {"agent_turn", "llm_call", "tool_call",
				     "retrieval",  "other",    NULL};

/* ------------------------------------------------------------- times */

int64_t fs_time_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void fs_time_iso_ms(int64_t ns, char out[FS_TIME_STR_LEN])
{
	int64_t sec = ns / 1000000000, ms = (ns % 1000000000) / 1000000;
	time_t t;
	struct tm tm;
	char base[FS_TIME_STR_LEN];

	if (ms < 0) { /* before 1970: floor, not truncate */
		sec--;
		ms += 1000;
	}
	t = (time_t)sec;
	if (!gmtime_r(&t, &tm) ||
	    !strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm)) {
		snprintf(out, FS_TIME_STR_LEN, "?");
		return;
	}
	snprintf(out, FS_TIME_STR_LEN, "%.24s.%03dZ", base, (int)ms);
}

int fs_time_parse(const char *s, int64_t *out)
{
	struct tm tm = {0};
	int n = -1, digits = 0;
	int64_t frac = 0;
	const char *p;
	time_t t;

	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
		   &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 ||
	    n != 19)
		return -EINVAL;
	p = s + n;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, digits++)
			if (digits < 9)
				frac = frac * 10 + (*p - '0');
		if (!digits)
			return -EINVAL;
		for (int i = digits; i < 9; i++)
			frac *= 10;
	}
	if (strcmp(p, "Z") && strcmp(p, "+00:00"))
		return -EINVAL;
	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 60 || tm.tm_year < 1970)
		return -EINVAL;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	*out = (int64_t)t * 1000000000 + frac;
	return 0;
}

/* ------------------------------------------------------------- UUIDs */

static void uuid_format(uint8_t b[16], unsigned version,
			char out[FS_UUID_STR_LEN])
{
	char *o = out;

	b[6] = (uint8_t)((b[6] & 0x0f) | (version << 4));
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*o++ = '-';
		o += sprintf(o, "%02x", b[i]);
	}
}

int fs_uuid_random(char out[FS_UUID_STR_LEN])
{
	uint8_t b[16];
	size_t got = 0;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		store_log(STORE_LOG_ERR, "/dev/urandom: %s", strerror(errno));
		return -EIO;
	}
	while (got < sizeof(b)) {
		ssize_t r = read(fd, b + got, sizeof(b) - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			store_log(STORE_LOG_ERR, "/dev/urandom: %s",
				  r < 0 ? strerror(errno) : "end of file");
			close(fd);
			return -EIO;
		}
		got += (size_t)r;
	}
	close(fd);
	uuid_format(b, 4, out);
	return 0;
}

int fs_uuid_name(const char *ns, const char *name, char out[FS_UUID_STR_LEN])
{
	size_t nl = strlen(ns), ml = strlen(name);
	uint8_t d[STORE_DIGEST_LEN];
	char *buf = malloc(nl + 1 + ml);
	int rc;

	if (!buf)
		return -ENOMEM;
	memcpy(buf, ns, nl + 1); /* with its NUL: "a" "bc" != "ab" "c" */
	memcpy(buf + nl + 1, name, ml);
	rc = store_digest_buf(buf, nl + 1 + ml, d);
	free(buf);
	if (!rc)
		uuid_format(d, 8, out);
	return rc;
}

bool fs_uuid_valid(const char *s)
{
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-'
			 : !((s[i] >= '0' && s[i] <= '9') ||
			     (s[i] >= 'a' && s[i] <= 'f') ||
			     (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	}
	return s[36] == '\0';
}

/* ------------------------------------------------------------ loading */

struct loader {
	struct fs_trace *t;
	size_t cap;
	const char *where; /* "P/R/S", for warnings */
};

static const char *str_field(json_t *obj, const char *key, const char *dflt)
{
	const char *v = json_string_value(json_object_get(obj, key));

	return v ? v : dflt;
}

static int64_t time_field(json_t *obj, const char *key)
{
	const char *v = json_string_value(json_object_get(obj, key));
	int64_t ns;

	return v && !fs_time_parse(v, &ns) ? ns : FS_TIME_NONE;
}

static int load_line(void *arg, uint64_t seq, const char *line, size_t len)
{
	struct loader *l = arg;
	struct fs_trace *t = l->t;
	json_t *obj = json_loadb(line, len, 0, NULL);
	struct fs_span *sp;

	if (!json_is_object(obj)) {
		store_log(STORE_LOG_WARNING,
			  "%s: trace line %llu is not a JSON object: skipped",
			  l->where, (unsigned long long)seq);
		json_decref(obj);
		return 0;
	}
	if (t->n == FS_TRACE_SPANS_MAX) {
		json_decref(obj);
		store_log(STORE_LOG_ERR, "%s: trace has more than %d spans",
			  l->where, FS_TRACE_SPANS_MAX);
		return -EFBIG;
	}
	if (t->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		void *p = realloc(t->spans, cap * sizeof(*t->spans));

		if (!p) {
			json_decref(obj);
			return -ENOMEM;
		}
		t->spans = p;
		l->cap = cap;
	}
	sp = &t->spans[t->n++];
	*sp = (struct fs_span){.obj = obj, .seq = seq};
	sp->id = str_field(obj, "id", NULL);
	sp->parent = str_field(obj, "parent", NULL);
	sp->kind = str_field(obj, "kind", "");
	sp->name = str_field(obj, "name", "");
	sp->start = time_field(obj, "start");
	sp->end = time_field(obj, "end");
	return 0;
}

struct id_ref {
	const char *id;
	size_t i;
};

static int id_cmp(const void *a, const void *b)
{
	const struct id_ref *x = a, *y = b;
	int c = strcmp(x->id, y->id);

	return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* The span of the first entry of sorted ids[n] with this id, or
 * FS_SPAN_NONE (entries with one id are sorted by span index). */
static size_t id_lookup(const struct id_ref *ids, size_t n, const char *id)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(ids[mid].id, id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && !strcmp(ids[lo].id, id) ? ids[lo].i : FS_SPAN_NONE;
}

/* Sets each span's up from its parent id (the first span with that id)
 * and marks the later spans of an id as dup. */
static int link_parents(struct fs_trace *t)
{
	struct id_ref *ids = malloc((t->n + 1) * sizeof(*ids));
	size_t n = 0;

	if (!ids)
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++)
		if (t->spans[i].id)
			ids[n++] = (struct id_ref){t->spans[i].id, i};
	qsort(ids, n, sizeof(*ids), id_cmp);
	for (size_t k = 1; k < n; k++)
		if (!strcmp(ids[k].id, ids[k - 1].id))
			t->spans[ids[k].i].dup = true;
	for (size_t i = 0; i < t->n; i++) {
		struct fs_span *sp = &t->spans[i];

		sp->up =
		    sp->parent ? id_lookup(ids, n, sp->parent) : FS_SPAN_NONE;
		if (sp->up == i)
			sp->up = FS_SPAN_NONE;
	}
	free(ids);
	return 0;
}

/*
 * Cuts every cycle of up links: a walk up from each unvisited span marks
 * its path (1) until it reaches a finished span (2) or a root; reaching a
 * span of its own path closes a cycle, and the link that closes it goes.
 */
static int break_cycles(struct fs_trace *t)
{
	unsigned char *state = calloc(t->n + 1, 1);

	if (!state)
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++) {
		size_t j = i;

		while (j != FS_SPAN_NONE && state[j] == 0) {
			size_t k = t->spans[j].up;

			state[j] = 1;
			if (k != FS_SPAN_NONE && state[k] == 1) {
				t->spans[j].up = FS_SPAN_NONE;
				break;
			}
			j = k;
		}
		for (j = i; j != FS_SPAN_NONE && state[j] == 1;
		     j = t->spans[j].up)
			state[j] = 2;
	}
	free(state);
	return 0;
}

struct time_ref {
	int64_t start;
	uint64_t seq;
	size_t i;
};

static int time_cmp(const void *a, const void *b)
{
	const struct time_ref *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Links children and roots in (start, line) order. */
static int link_children(struct fs_trace *t)
{
	struct time_ref *order = malloc((t->n + 1) * sizeof(*order));
	size_t *last = malloc((t->n + 1) * sizeof(*last));
	size_t last_root = FS_SPAN_NONE;

	if (!order || !last) {
		free(order);
		free(last);
		return -ENOMEM;
	}
	for (size_t i = 0; i < t->n; i++) {
		order[i] =
		    (struct time_ref){t->spans[i].start, t->spans[i].seq, i};
		t->spans[i].child = t->spans[i].next = FS_SPAN_NONE;
		last[i] = FS_SPAN_NONE;
	}
	qsort(order, t->n, sizeof(*order), time_cmp);
	t->first = FS_SPAN_NONE;
	for (size_t k = 0; k < t->n; k++) {
		size_t i = order[k].i, up = t->spans[i].up;
		size_t *prev = up == FS_SPAN_NONE ? &last_root : &last[up];
		size_t *head =
		    up == FS_SPAN_NONE ? &t->first : &t->spans[up].child;

		if (*prev == FS_SPAN_NONE)
			*head = i;
		else
			t->spans[*prev].next = i;
		*prev = i;
	}
	free(order);
	free(last);
	return 0;
}

int fs_trace_load(struct store *s, const char *pipeline, const char *run,
		  const char *step, struct fs_trace *out)
{
	char where[3 * (STORE_NAME_MAX + 1)];
	struct loader l = {.t = out, .where = where};
	int rc;

	*out = (struct fs_trace){.first = FS_SPAN_NONE};
	snprintf(where, sizeof(where), "%s/%s/%s", pipeline, run, step);
	rc = store_step_get(s, pipeline, run, step);
	if (!rc)
		rc = store_trace_each(s, pipeline, run, step, load_line, &l);
	if (!rc)
		rc = link_parents(out);
	if (!rc)
		rc = break_cycles(out);
	if (!rc)
		rc = link_children(out);
	if (rc)
		fs_trace_release(out);
	return rc;
}

void fs_trace_release(struct fs_trace *t)
{
	for (size_t i = 0; i < t->n; i++)
		json_decref(t->spans[i].obj);
	free(t->spans);
	*t = (struct fs_trace){.first = FS_SPAN_NONE};
}

size_t fs_trace_next(const struct fs_trace *t, size_t i, unsigned *depth)
{
	if (t->spans[i].child != FS_SPAN_NONE) {
		(*depth)++;
		return t->spans[i].child;
	}
	while (t->spans[i].next == FS_SPAN_NONE) {
		i = t->spans[i].up;
		if (i == FS_SPAN_NONE)
			return FS_SPAN_NONE;
		(*depth)--;
	}
	return t->spans[i].next;
}

size_t fs_trace_find(const struct fs_trace *t, const char *id)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->spans[i].id && !strcmp(t->spans[i].id, id))
			return i;
	return FS_SPAN_NONE;
}
