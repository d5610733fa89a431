/*
 * fuzz_store.c - libFuzzer target for what store/ reads back from its
 * own column families: keys as scans parse them (names after a prefix,
 * NUL-separated parts, be32 and be64 numbers), and the values under
 * them (version, run, alias, output, note, binding, trace, secret,
 * manifest, directory listing, stats, audit record and head), through the
 * public reads and store_fsck, on the throwaway store.
 *
 * Input: up to MAX_PUT entries, each
 *     u8 where (PLACES below: a column family and a key prefix)
 *     u8 n, then n bytes appended to the prefix
 *     u8 m, then m bytes of value (u8 0xff: two bytes big-endian of m)
 * written raw (the old value is put back after the reads).  A manifest
 * or listing is keyed by the SHA-256 of its value, so that the hash
 * check passes and the decoder runs.  Nothing may crash, leak or read
 * out of bounds, and names handed to callers must be names.
 */
#include "acl.h"
#include "store_i.h"
#include "throwaway.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PUT 8

static const struct place {
	enum db_cf cf;
	const char *prefix;
	size_t len;
} places[] = {
    {CF_NAMESPACE, "a", 1},
    {CF_NAMESPACE, "va\0", 3},
    {CF_NAMESPACE, "la\0", 3},
    {CF_NAMESPACE, "p", 1},
    {CF_NAMESPACE, "rp\0", 3},
    {CF_NAMESPACE, "sp\0r\0", 5},
    {CF_NAMESPACE, "op\0r\0s\0", 7},
    {CF_NAMESPACE, "np\0r\0", 5},
    {CF_NAMESPACE, "B", 1},
    {CF_LINEAGE, "ip\0r\0s\0", 7},
    {CF_LINEAGE, "op\0r\0s\0", 7},
    {CF_LINEAGE, "ua\0\0\0\0\1", 7},
    {CF_LINEAGE, "tp\0r\0s\0", 7},
    {CF_LINEAGE, "Tp\0r\0s", 6},
    {CF_SECRETS, "s", 1},
    {CF_AUDIT, "r", 1},
    {CF_AUDIT, "head", 4},
    {CF_MANIFESTS, "F", 1}, /* + SHA-256 of the value */
    {CF_MANIFESTS, "D", 1}, /* + SHA-256 of the value */
    {CF_META, "stats", 5},
    {CF_REFCOUNTS, "C", 1},
};
#define NPLACES (sizeof(places) / sizeof(places[0]))

struct put {
	enum db_cf cf;
	uint8_t key[512];
	size_t klen;
	void *old; /* the value before, NULL: none */
	size_t olen;
};

static struct store *s;
static uint8_t last_file[STORE_DIGEST_LEN], last_dir[STORE_DIGEST_LEN];

static void name_ok(const char *name)
{
	if (strnlen(name, STORE_NAME_MAX + 1) > STORE_NAME_MAX)
		abort();
}

static int on_name(void *arg, const char *name)
{
	(void)arg;
	name_ok(name);
	return 0;
}

static int on_version(void *arg, const struct store_version *v)
{
	(void)arg;
	name_ok(v->artifact);
	name_ok(v->run);
	return 0;
}

static int on_alias(void *arg, const char *alias, uint32_t number)
{
	(void)number;
	return on_name(arg, alias);
}

static int on_run(void *arg, const struct store_run *r)
{
	(void)arg;
	name_ok(r->run);
	return 0;
}

static int on_output(void *arg, const struct store_output *o)
{
	(void)arg;
	name_ok(o->e.name);
	return 0;
}

static int on_note(void *arg, const char *key, const char *value)
{
	(void)value;
	return on_name(arg, key);
}

static int on_binding(void *arg, const char *scope, const char *principal,
		      const char *role)
{
	(void)arg;
	(void)scope;
	(void)principal;
	(void)role;
	return 0;
}

static int on_edge(void *arg, const char *artifact, uint32_t number)
{
	(void)number;
	return on_name(arg, artifact);
}

static int on_reader(void *arg, const char *p, const char *r, const char *st)
{
	(void)arg;
	name_ok(p);
	name_ok(r);
	name_ok(st);
	return 0;
}

static int on_line(void *arg, uint64_t seq, const char *line, size_t len)
{
	(void)arg;
	(void)seq;
	(void)line;
	(void)len;
	return 0;
}

static int on_audit(void *arg, const struct store_audit_entry *e)
{
	(void)arg;
	(void)e;
	return 0;
}

static int on_dirent(void *arg, const struct store_dirent *e)
{
	(void)arg;
	name_ok(e->name);
	return 0;
}

/* Every read of the store that decodes what the entries may hold. */
static void read_all(void)
{
	struct store_version v;
	struct store_run r;
	struct store_output o;
	struct store_stats st;
	struct store_dirent e;
	struct store_check chk;
	struct store_reader *rd;
	uint8_t h[STORE_DIGEST_LEN], buf[64];
	uint64_t n, bad;
	char why[128];
	uint32_t num;

	store_artifact_each(s, on_name, NULL);
	store_version_each(s, "a", on_version, NULL);
	store_version_get(s, "a", 1, &v);
	store_ref_resolve(s, "a", "latest", &v);
	store_alias_get(s, "a", "latest", &num);
	store_alias_each(s, "a", on_alias, NULL);
	store_pipeline_each(s, on_name, NULL);
	store_run_each(s, "p", on_run, NULL);
	store_run_get(s, "p", "r", &r);
	store_step_each(s, "p", "r", on_name, NULL);
	store_output_each(s, "p", "r", "s", "", on_output, NULL);
	store_output_get(s, "p", "r", "s", "x", &o);
	store_run_note_each(s, "p", "r", on_note, NULL);
	store_binding_each(s, on_binding, NULL);
	store_step_input_each(s, "p", "r", "s", on_edge, NULL);
	store_step_output_each(s, "p", "r", "s", on_edge, NULL);
	store_version_reader_each(s, "a", 1, on_reader, NULL);
	store_trace_each(s, "p", "r", "s", on_line, NULL);
	store_trace_size(s, "p", "r", "s", &n);
	store_secret_each(s, on_name, NULL);
	store_audit_each(s, 0, on_audit, NULL);
	store_audit_verify(s, &n, &bad, why);
	store_audit_head(s, &n, h);
	store_audit_record_hash(s, 1, h);
	store_stats_get(s, &st);
	store_tree_each(s, last_dir, on_dirent, NULL);
	store_tree_lookup(s, last_dir, "f", &e);
	if (store_reader_open(s, last_file, &rd) == 0) {
		store_reader_pread(rd, buf, sizeof(buf), 0);
		store_symlink_read(s, last_file, (char *)buf, sizeof(buf));
		store_reader_close(rd);
	}
	store_fsck(s, NULL, NULL, &chk);
}

/* Parses one entry at *p; 0 when there is none left. */
static int next_entry(const uint8_t **p, const uint8_t *end, struct put *w,
		      const uint8_t **val, size_t *vlen)
{
	const struct place *pl;
	size_t n;

	if (end - *p < 3)
		return 0;
	pl = &places[*(*p)++ % NPLACES];
	n = *(*p)++;
	if ((size_t)(end - *p) < n)
		return 0;
	w->cf = pl->cf;
	memcpy(w->key, pl->prefix, pl->len);
	memcpy(w->key + pl->len, *p, n);
	w->klen = pl->len + n;
	*p += n;
	if (*p == end)
		return 0;
	*vlen = *(*p)++;
	if (*vlen == 0xff && end - *p >= 2) {
		*vlen = (size_t)(*p)[0] << 8 | (*p)[1];
		*p += 2;
	}
	if ((size_t)(end - *p) < *vlen)
		*vlen = (size_t)(end - *p);
	*val = *p;
	*p += *vlen;
	if (pl->cf == CF_MANIFESTS) {
		uint8_t *dg = pl->prefix[0] == 'F' ? last_file : last_dir;

		store_digest_buf(*vlen ? *val : (const uint8_t *)"", *vlen, dg);
		memcpy(w->key + 1, dg, STORE_DIGEST_LEN);
		w->klen = 1 + STORE_DIGEST_LEN;
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct put puts[MAX_PUT];
	const uint8_t *p = data, *end = data + size, *val;
	size_t nput = 0, vlen;

	s = fuzz_store();
	memset(last_file, 0, sizeof(last_file));
	memset(last_dir, 0, sizeof(last_dir));
	while (nput < MAX_PUT &&
	       next_entry(&p, end, &puts[nput], &val, &vlen)) {
		struct put *w = &puts[nput++];

		if (db_get(s->db, w->cf, w->key, w->klen, &w->old, &w->olen))
			w->old = NULL;
		if (db_put(s->db, w->cf, w->key, w->klen, val, vlen))
			abort();
	}
	read_all();
	/* Put back in reverse order: a key written twice gets its first
	 * old value. */
	while (nput--) {
		struct put *w = &puts[nput];

		if (w->old)
			db_put(s->db, w->cf, w->key, w->klen, w->old, w->olen);
		else
			db_delete(s->db, w->cf, w->key, w->klen);
		free(w->old);
	}
	return 0;
}
