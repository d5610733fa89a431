/*
 * envsnap.c - text buffers of snapshots, the bundle that carries one to
 * the daemon, and loading a stored one.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "envsnap_i.h"

const char *const envsnap_names[ENVSNAP_N] = {
    "code.txt", "packages.txt", "image.txt", "system.txt", "environ.txt",
};

void envsnap_add(struct envsnap_buf *b, const void *p, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *np;

		while (cap < b->len + n + 1)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void envsnap_printf(struct envsnap_buf *b, const char *fmt, ...)
{
	char small[1024], *big = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		envsnap_add(b, small, (size_t)n);
		return;
	}
	va_start(ap, fmt);
	n = vasprintf(&big, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = true;
		return;
	}
	envsnap_add(b, big, (size_t)n);
	free(big);
}

/* Length of the valid UTF-8 sequence at p (n bytes left), or 0. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t want = p[0] < 0x80			     ? 1
		      : (p[0] & 0xe0) == 0xc0 && p[0] > 0xc1 ? 2
		      : (p[0] & 0xf0) == 0xe0		     ? 3
		      : (p[0] & 0xf8) == 0xf0 && p[0] < 0xf5 ? 4
							     : 0;

	if (!want || want > n)
		return 0;
	for (size_t i = 1; i < want; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return want;
}

void envsnap_clean(struct envsnap_buf *b)
{
	unsigned char *p = (unsigned char *)b->p;

	for (size_t i = 0; p && i < b->len;) {
		size_t n = utf8_len(p + i, b->len - i);

		if (n == 0 || p[i] == 0 ||
		    (p[i] < 0x20 && p[i] != '\n' && p[i] != '\t')) {
			p[i++] = '?';
			continue;
		}
		i += n;
	}
	if (b->len > ENVSNAP_FILE_MAX) {
		size_t cut = ENVSNAP_FILE_MAX - 16;

		while (cut && b->p[cut - 1] != '\n')
			cut--;
		b->len = cut;
		b->p[cut] = '\0';
		envsnap_printf(b, "[cut]\n");
	}
}

void fs_envsnap_release(struct envsnap *e)
{
	for (int i = 0; i < ENVSNAP_N; i++)
		free(e->f[i].p);
	memset(e, 0, sizeof(*e));
}

int fs_envsnap_encode(const struct envsnap *e, char **out)
{
	struct envsnap_buf b = {0};

	for (int i = 0; i < ENVSNAP_N; i++) {
		envsnap_printf(&b, "%s %zu\n", envsnap_names[i], e->f[i].len);
		if (e->f[i].len)
			envsnap_add(&b, e->f[i].p, e->f[i].len);
	}
	if (b.oom) {
		free(b.p);
		return -ENOMEM;
	}
	*out = b.p;
	return 0;
}

int fs_envsnap_decode(const char *bundle, size_t blen,
		      const char *data[ENVSNAP_N], size_t len[ENVSNAP_N])
{
	const char *p = bundle, *end = bundle + blen;
	bool seen[ENVSNAP_N] = {false};

	for (int i = 0; i < ENVSNAP_N; i++) {
		data[i] = "";
		len[i] = 0;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *sp = memchr(p, ' ', nl ? (size_t)(nl - p) : 0);
		char *stop;
		unsigned long n;
		int k;

		if (!nl || !sp)
			return -EINVAL;
		for (k = 0; k < ENVSNAP_N; k++)
			if ((size_t)(sp - p) == strlen(envsnap_names[k]) &&
			    !memcmp(p, envsnap_names[k], (size_t)(sp - p)))
				break;
		/* A digit first: strtoul would skip blanks, past nl too. */
		if (k == ENVSNAP_N || seen[k] || sp + 1 == nl || sp[1] < '0' ||
		    sp[1] > '9')
			return -EINVAL;
		n = strtoul(sp + 1, &stop, 10);
		if (stop != nl || n > ENVSNAP_FILE_MAX ||
		    n > (size_t)(end - nl - 1))
			return -EINVAL;
		seen[k] = true;
		data[k] = nl + 1;
		len[k] = n;
		p = nl + 1 + n;
	}
	return 0;
}

int fs_envsnap_load(struct store *s, const char *p, const char *r,
		    const char *step, struct envsnap *e)
{
	uint8_t dg[STORE_DIGEST_LEN];
	int rc = store_env_get(s, p, r, step, dg);

	memset(e, 0, sizeof(*e));
	if (rc)
		return rc;
	for (int i = 0; i < ENVSNAP_N && !rc; i++) {
		char *text;
		size_t len;

		rc = store_env_read(s, dg, envsnap_names[i], &text, &len);
		if (rc == -ENOENT) {
			rc = 0;
			continue;
		}
		if (!rc) {
			e->f[i].p = text;
			e->f[i].len = e->f[i].cap = len;
		}
	}
	if (rc)
		fs_envsnap_release(e);
	return rc;
}

/* ------------------------------------------------ the OpenLineage facet */

/* "key: value" lines as an object (repeated keys: the last). */
static json_t *fields_json(const char *text)
{
	json_t *o = json_object();
	char *copy = strdup(text ? text : ""), *save = NULL;

	for (char *l = copy ? strtok_r(copy, "\n", &save) : NULL; o && l;
	     l = strtok_r(NULL, "\n", &save)) {
		char *colon = strstr(l, ": ");

		if (!colon)
			continue;
		*colon = '\0';
		json_object_set_new(o, l, json_string(colon + 2));
	}
	free(copy);
	return o;
}

/* Python distributions as {name: version}; dpkg packages counted. */
static json_t *packages_json(const char *text, json_int_t *dpkg)
{
	json_t *o = json_object();
	char *copy = strdup(text ? text : ""), *save = NULL;

	*dpkg = 0;
	for (char *l = copy ? strtok_r(copy, "\n", &save) : NULL; o && l;
	     l = strtok_r(NULL, "\n", &save)) {
		char *sp = strrchr(l, ' ');

		if (!strncmp(l, "dpkg ", 5))
			(*dpkg)++;
		else if (!strncmp(l, "python ", 7) && sp && sp > l + 7) {
			*sp = '\0';
			json_object_set_new(o, l + 7, json_string(sp + 1));
		}
	}
	free(copy);
	return o;
}

static int note_of(void *arg, const char *key, const char *value)
{
	json_t *o = arg;
	const char *want = json_string_value(json_object_get(o, "_step"));

	if (!strncmp(key, "cache_key.", 10) && !strcmp(key + 10, want))
		json_object_set_new(o, "cacheKey", json_string(value));
	if (!strncmp(key, "cached.", 7) && !strcmp(key + 7, want))
		json_object_set_new(o, "cachedFrom", json_string(value));
	return 0;
}

int fs_envsnap_facet(struct store *s, const char *p, const char *r,
		     const char *step, json_t **out)
{
	uint8_t dg[STORE_DIGEST_LEN];
	char text[STORE_DIGEST_STR_LEN];
	struct envsnap e;
	json_int_t dpkg;
	json_t *o;
	int rc = store_env_get(s, p, r, step, dg);

	*out = NULL;
	if (!rc)
		rc = fs_envsnap_load(s, p, r, step, &e);
	if (rc)
		return rc;
	store_digest_format(dg, text);
	o = json_pack("{s:s, s:o, s:o, s:o, s:o}", "digest", text, "code",
		      fields_json(e.f[ENVSNAP_CODE].p), "image",
		      fields_json(e.f[ENVSNAP_IMAGE].p), "system",
		      fields_json(e.f[ENVSNAP_SYSTEM].p), "python",
		      packages_json(e.f[ENVSNAP_PACKAGES].p, &dpkg));
	fs_envsnap_release(&e);
	if (o)
		json_object_set_new(o, "dpkgPackages", json_integer(dpkg));
	if (o && !json_object_set_new(o, "_step", json_string(step)))
		rc = store_run_note_each(s, p, r, note_of, o);
	if (o)
		json_object_del(o, "_step");
	if (!o || rc) {
		json_decref(o);
		return o ? rc : -ENOMEM;
	}
	*out = o;
	return 0;
}
