/*
 * redact.c - removing stored secrets' values from text before it is kept.
 *
 * Whatever a step leaves behind (its environment snapshot, a trace line,
 * a note) may carry a secret's value that reached it through the
 * environment.  Every secret is opened here, in the process that holds
 * the store, and each occurrence of its value is replaced by a marker
 * naming the secret.  Values are wiped after use and never logged.
 */
#include "acl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct redact {
	struct store *s;
	char *text;
	size_t len;
	unsigned hits;
	int err;
};

/* Replaces every occurrence of val[0..vlen) in r->text by "[secret NAME]". */
static int replace_all(struct redact *r, const char *name, const uint8_t *val,
		       size_t vlen)
{
	char marker[STORE_NAME_MAX + 16];
	size_t mlen =
	    (size_t)snprintf(marker, sizeof(marker), "[secret %s]", name);
	char *hit = memmem(r->text, r->len, val, vlen);

	while (hit) {
		size_t at = (size_t)(hit - r->text),
		       nlen = r->len - vlen + mlen;
		char *n = malloc(nlen + 1);

		if (!n)
			return -ENOMEM;
		memcpy(n, r->text, at);
		memcpy(n + at, marker, mlen);
		memcpy(n + at + mlen, hit + vlen, r->len - at - vlen);
		n[nlen] = '\0';
		explicit_bzero(r->text, r->len);
		free(r->text);
		r->text = n;
		r->len = nlen;
		r->hits++;
		hit =
		    memmem(r->text + at + mlen, r->len - at - mlen, val, vlen);
	}
	return 0;
}

static int redact_one(void *arg, const char *name)
{
	struct redact *r = arg;
	uint8_t *val;
	size_t vlen;
	int rc = acl_secret_read(r->s, name, &val, &vlen);

	if (rc == -ENOENT || rc == -ENOKEY)
		return 0; /* gone meanwhile, or no secret was ever written */
	if (rc) {
		r->err = rc;
		return 1;
	}
	if (vlen >= ACL_REDACT_MIN)
		rc = replace_all(r, name, val, vlen);
	explicit_bzero(val, vlen);
	free(val);
	if (rc) {
		r->err = rc;
		return 1;
	}
	return 0;
}

int acl_redact(struct store *s, const char *in, size_t len, char **out,
	       size_t *out_len, unsigned *hits)
{
	struct redact r = {.s = s, .len = len};
	int rc;

	r.text = malloc(len + 1);
	if (!r.text)
		return -ENOMEM;
	memcpy(r.text, in, len);
	r.text[len] = '\0';
	rc = acl_secret_each(s, redact_one, &r);
	if (rc == 1)
		rc = r.err;
	if (rc) {
		explicit_bzero(r.text, r.len);
		free(r.text);
		return rc;
	}
	*out = r.text;
	*out_len = r.len;
	if (hits)
		*hits = r.hits;
	return 0;
}
