/*
 * redact.c - secret values taken out of text before it is stored or
 * logged: run notes, trace lines, environment snapshots, log lines.
 *
 * What is searched: every version of every secret (store_secret_stored_
 * each, opened here), each value of ACL_REDACT_MIN bytes or more, as its
 * raw bytes and as a JSON string would escape it (a value with a quote or
 * a newline inside a JSON trace line).  Longer values are tried first, so
 * a value that holds another is replaced whole.  The marker names the
 * secret, "[secret NAME]", with any '"' or '\\' of the name as '_': a
 * marker put inside a JSON string leaves it valid.
 *
 * The opened values are kept in one set per process, made again when the
 * secrets change (store_secret_gen).  A set is built without any lock
 * held that the log filter takes (opening a value may log), then swapped
 * in under the write lock; redaction reads it under the read lock.
 */
#include "acl_i.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pattern {
	uint8_t *p;
	size_t len;
	char *marker; /* "[secret NAME]" */
	size_t mlen;
};

struct redact_set {
	uint64_t gen; /* store_secret_gen when it was made */
	size_t n, cap;
	struct pattern *pats;
};

static pthread_rwlock_t set_lock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
static struct redact_set *cur; /* set_lock */
static bool log_on;	       /* the log filter is installed */

static void set_free(struct redact_set *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->n; i++) {
		explicit_bzero(rs->pats[i].p, rs->pats[i].len);
		free(rs->pats[i].p);
		free(rs->pats[i].marker);
	}
	free(rs->pats);
	free(rs);
}

/* "[secret NAME]" for name, malloc'd; NULL on ENOMEM. */
static char *marker_of(const char *name)
{
	char *m = NULL;

	if (asprintf(&m, "[secret %s]", name) < 0)
		return NULL;
	for (char *c = m; *c; c++)
		if (*c == '"' || *c == '\\')
			*c = '_';
	return m;
}

/* Adds p[0..len) (copied) for secret name unless it is already there. */
static int add(struct redact_set *rs, const char *name, const uint8_t *p,
	       size_t len)
{
	struct pattern *np;

	for (size_t i = 0; i < rs->n; i++)
		if (rs->pats[i].len == len && !memcmp(rs->pats[i].p, p, len))
			return 0;
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? 2 * rs->cap : 8;

		np = realloc(rs->pats, cap * sizeof(*np));
		if (!np)
			return -ENOMEM;
		rs->pats = np;
		rs->cap = cap;
	}
	np = &rs->pats[rs->n];
	np->p = malloc(len);
	np->marker = marker_of(name);
	if (!np->p || !np->marker) {
		free(np->p);
		free(np->marker);
		return -ENOMEM;
	}
	memcpy(np->p, p, len);
	np->len = len;
	np->mlen = strlen(np->marker);
	rs->n++;
	return 0;
}

/* v[0..len) as the inside of a JSON string (jansson's escapes) into a
 * malloc'd *out; NULL when it needs no escape. */
static int json_escaped(const uint8_t *v, size_t len, uint8_t **out,
			size_t *out_len)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0, i;
	uint8_t *e;

	*out = NULL;
	for (i = 0; i < len && v[i] >= 0x20 && v[i] != '"' && v[i] != '\\'; i++)
		;
	if (i == len)
		return 0;
	e = malloc(6 * len);
	if (!e)
		return -ENOMEM;
	for (i = 0; i < len; i++) {
		const char *sh = v[i] == '"'	? "\\\""
				 : v[i] == '\\' ? "\\\\"
				 : v[i] == '\n' ? "\\n"
				 : v[i] == '\r' ? "\\r"
				 : v[i] == '\t' ? "\\t"
				 : v[i] == '\b' ? "\\b"
				 : v[i] == '\f' ? "\\f"
						: NULL;

		if (sh) {
			memcpy(e + n, sh, 2);
			n += 2;
		} else if (v[i] < 0x20) {
			memcpy(e + n, "\\u00", 4);
			e[n + 4] = (uint8_t)hex[v[i] >> 4];
			e[n + 5] = (uint8_t)hex[v[i] & 15];
			n += 6;
		} else {
			e[n++] = v[i];
		}
	}
	*out = e;
	*out_len = n;
	return 0;
}

struct load {
	struct store *s;
	struct redact_set *rs;
};

static int load_one(void *arg, const char *name, uint32_t version,
		    const void *env, size_t total)
{
	struct load *l = arg;
	uint8_t *val = NULL, *esc = NULL;
	size_t len = 0, elen = 0;
	int rc;

	(void)version;
	rc = acl_secret_open(l->s, name, env, total, &val, &len);
	if (rc)
		return rc;
	if (len >= ACL_REDACT_MIN) {
		rc = add(l->rs, name, val, len);
		if (!rc)
			rc = json_escaped(val, len, &esc, &elen);
		if (!rc && esc)
			rc = add(l->rs, name, esc, elen);
	}
	if (esc)
		explicit_bzero(esc, elen);
	free(esc);
	explicit_bzero(val, len);
	free(val);
	return rc;
}

static int longer_first(const void *a, const void *b)
{
	const struct pattern *x = a, *y = b;

	return x->len < y->len ? 1 : x->len > y->len ? -1 : 0;
}

/* Makes the set current for s when the secrets changed since it was
 * made.  0, or what opening a value returns (logged). */
static int refresh(struct store *s)
{
	uint64_t gen = store_secret_gen(s);
	struct redact_set *rs, *old;
	struct load l = {s, NULL};
	bool fresh;
	int rc;

	pthread_rwlock_rdlock(&set_lock);
	fresh = cur && cur->gen == gen;
	pthread_rwlock_unlock(&set_lock);
	if (fresh)
		return 0;
	pthread_mutex_lock(&load_lock);
	rs = calloc(1, sizeof(*rs));
	rc = rs ? 0 : -ENOMEM;
	l.rs = rs;
	if (!rc)
		rc = store_secret_stored_each(s, load_one, &l);
	if (rc) {
		set_free(rs);
		pthread_mutex_unlock(&load_lock);
		return rc;
	}
	rs->gen = gen;
	if (rs->n)
		qsort(rs->pats, rs->n, sizeof(*rs->pats), longer_first);
	pthread_rwlock_wrlock(&set_lock);
	old = cur;
	cur = rs;
	pthread_rwlock_unlock(&set_lock);
	set_free(old);
	pthread_mutex_unlock(&load_lock);
	return 0;
}

/* The pattern that starts at in[i..len), or NULL. */
static const struct pattern *match(const struct redact_set *rs,
				   const uint8_t *in, size_t len, size_t i)
{
	for (size_t k = 0; k < rs->n; k++) {
		const struct pattern *p = &rs->pats[k];

		if (p->len <= len - i && in[i] == p->p[0] &&
		    !memcmp(in + i, p->p, p->len))
			return p;
	}
	return NULL;
}

/* Appends p[0..n) to the growing *o (*cap bytes, *used of them). */
static int put(char **o, size_t *cap, size_t *used, const void *p, size_t n)
{
	if (*used + n + 1 > *cap) {
		size_t ncap = 2 * (*used + n + 1);
		char *no = realloc(*o, ncap);

		if (!no)
			return -ENOMEM;
		*o = no;
		*cap = ncap;
	}
	memcpy(*o + *used, p, n);
	*used += n;
	return 0;
}

/* in[0..len) with the set's values replaced into a malloc'd *out (NUL
 * after *out_len bytes); *hits counts them.  -ENOMEM. */
static int apply(const struct redact_set *rs, const uint8_t *in, size_t len,
		 char **out, size_t *out_len, unsigned *hits)
{
	size_t cap = len + 1, n = 0, i = 0, run = 0;
	char *o = malloc(cap);
	int rc = o ? 0 : -ENOMEM;

	*hits = 0;
	while (!rc && i < len) {
		const struct pattern *p = rs ? match(rs, in, len, i) : NULL;

		if (!p) {
			i++;
			continue;
		}
		rc = put(&o, &cap, &n, in + run, i - run);
		if (!rc)
			rc = put(&o, &cap, &n, p->marker, p->mlen);
		i += p->len;
		run = i;
		(*hits)++;
	}
	if (!rc)
		rc = put(&o, &cap, &n, in + run, len - run);
	if (rc) {
		free(o);
		return rc;
	}
	o[n] = '\0';
	*out = o;
	*out_len = n;
	return 0;
}

int acl_redact(struct store *s, const char *in, size_t len, char **out,
	       size_t *out_len, unsigned *hits)
{
	unsigned n = 0;
	int rc = refresh(s);

	if (rc)
		return rc;
	pthread_rwlock_rdlock(&set_lock);
	rc = apply(cur, (const uint8_t *)in, len, out, out_len, &n);
	pthread_rwlock_unlock(&set_lock);
	if (!rc && hits)
		*hits = n;
	return rc;
}

/* The log and journal filter: the set as it is (never made here: making
 * it logs and reads the store). */
static void filter_log(void *arg, char *msg, size_t size)
{
	unsigned hits = 0;
	size_t n = 0;
	char *o;

	(void)arg;
	pthread_rwlock_rdlock(&set_lock);
	if (cur && cur->n &&
	    !apply(cur, (const uint8_t *)msg, strlen(msg), &o, &n, &hits)) {
		if (n >= size)
			n = size - 1;
		memcpy(msg, o, n);
		msg[n] = '\0';
		free(o);
	}
	pthread_rwlock_unlock(&set_lock);
}

int acl_redact_log(struct store *s)
{
	struct redact_set *old;
	int rc = 0;

	if (s) {
		rc = refresh(s);
		if (!rc) {
			store_log_set_filter(filter_log, NULL);
			store_audit_set_filter(s, filter_log, NULL);
			__atomic_store_n(&log_on, true, __ATOMIC_RELEASE);
		}
		return rc;
	}
	store_log_set_filter(NULL, NULL);
	__atomic_store_n(&log_on, false, __ATOMIC_RELEASE);
	pthread_rwlock_wrlock(&set_lock);
	old = cur;
	cur = NULL;
	pthread_rwlock_unlock(&set_lock);
	set_free(old);
	return 0;
}

void redact_changed(struct store *s)
{
	if (__atomic_load_n(&log_on, __ATOMIC_ACQUIRE))
		refresh(s); /* a failure is logged; the old set stays */
}
