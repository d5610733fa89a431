/*
 * keys.c - the one encoder of RocksDB keys (FORMAT.md, "Column families").
 *
 * Every key of store/ is built here from an enum key_tag and its parts:
 * names joined by NUL, a digest, big-endian numbers (so numbers sort as
 * keys).  The functions only write bytes: the caller sizes the buffer
 * (KEY_MAX and friends in store_i.h) and checks the names first.
 */
#include "store_i.h"

#include <string.h>

size_t key_tag(uint8_t *k, enum key_tag t)
{
	k[0] = (uint8_t)t;
	return 1;
}

size_t key_add_bytes(uint8_t *k, size_t n, const void *p, size_t len)
{
	memcpy(k + n, p, len);
	return n + len;
}

size_t key_add_name(uint8_t *k, size_t n, const char *name)
{
	return key_add_bytes(k, n, name, strnlen(name, STORE_NAME_MAX));
}

size_t key_add_nul(uint8_t *k, size_t n)
{
	k[n] = 0;
	return n + 1;
}

size_t key_add_be32(uint8_t *k, size_t n, uint32_t v)
{
	be32_put(k + n, v);
	return n + 4;
}

size_t key_add_be64(uint8_t *k, size_t n, uint64_t v)
{
	be64_put(k + n, v);
	return n + 8;
}

size_t key_names(uint8_t *k, enum key_tag t, const char *a, const char *b,
		 const char *c)
{
	const char *parts[3] = {a, b, c};
	size_t n = key_tag(k, t);

	for (int i = 0; i < 3 && parts[i]; i++) {
		if (i)
			n = key_add_nul(k, n);
		n = key_add_name(k, n, parts[i]);
	}
	return n;
}

size_t key_digest(uint8_t *k, enum key_tag t,
		  const uint8_t digest[STORE_DIGEST_LEN])
{
	return key_add_bytes(k, key_tag(k, t), digest, STORE_DIGEST_LEN);
}

enum key_tag key_ref_tag(enum store_kind kind)
{
	return kind == STORE_KIND_DIR ? KEY_REF_DIR : KEY_REF_FILE;
}

size_t key_edge(uint8_t *k, enum key_tag t, const char *pipeline,
		const char *run, const char *step, const char *artifact,
		uint32_t number)
{
	size_t n = key_names(k, t, pipeline, run, step);

	n = key_add_nul(k, n);
	if (!artifact)
		return n;
	return key_add_be32(k, key_add_name(k, n, artifact), number);
}

size_t key_reader(uint8_t *k, const char *artifact, uint32_t number,
		  const char *pipeline, const char *run, const char *step)
{
	size_t n = key_names(k, KEY_LN_USER, artifact, "", NULL);

	n = key_add_be32(k, n, number);
	if (!pipeline)
		return n;
	n = key_add_nul(k, key_add_name(k, n, pipeline));
	n = key_add_nul(k, key_add_name(k, n, run));
	return key_add_name(k, n, step);
}

size_t key_audit_rec(uint8_t *k, uint64_t seq)
{
	return key_add_be64(k, key_tag(k, KEY_AUDIT_REC), seq);
}

uint64_t key_audit_seq(const uint8_t *k)
{
	return be64_get(k + 1);
}

void be32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

void be64_put(uint8_t *p, uint64_t v)
{
	be32_put(p, (uint32_t)(v >> 32));
	be32_put(p + 4, (uint32_t)v);
}

uint32_t be32_get(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

uint64_t be64_get(const uint8_t *p)
{
	return (uint64_t)be32_get(p) << 32 | be32_get(p + 4);
}
