/*
 * seedgen.c - writes the fuzz targets' seed corpora from a real store:
 * the throwaway store (throwaway.h) with a few more versions, an alias,
 * a note, a trace line, a role binding, a lineage edge and a secret;
 * every record of its column families becomes a seed in the format of
 * the target that decodes it, and its signing key's public half becomes
 * fuzz_key.h, so that the checkpoint and export seeds verify.
 *
 *     fuzz_seedgen CORPUS_DIR KEY_HEADER
 *
 * Seeds are named by their content's SHA-256 prefix (stable across runs
 * for the same bytes).  Names and refs (corpus/names) are written by hand.
 */
#include "acl.h"
#include "store_i.h"
#include "throwaway.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *root;
static struct store *s;

static void check(int rc, const char *what)
{
	if (rc < 0) {
		fprintf(stderr, "seedgen: %s: %s\n", what, strerror(-rc));
		exit(1);
	}
}

/* Writes tag + bytes as a seed of target. */
static void seed(const char *target, int tag, const void *p, size_t n)
{
	uint8_t d[STORE_DIGEST_LEN];
	char hex[2 * STORE_DIGEST_LEN + 1], *path;
	FILE *f;

	if (asprintf(&path, "%s/%s", root, target) < 0)
		exit(1);
	mkdir(path, 0755);
	free(path);
	store_digest_buf(n ? p : "", n, d);
	store_hex_encode(d, 8, hex);
	if (asprintf(&path, "%s/%s/%s%s", root, target, tag >= 0 ? "t" : "",
		     hex) < 0)
		exit(1);
	f = fopen(path, "wb");
	if (!f || (tag >= 0 && fputc(tag, f) == EOF) ||
	    (n && fwrite(p, 1, n, f) != n) || fclose(f)) {
		fprintf(stderr, "seedgen: cannot write %s\n", path);
		exit(1);
	}
	free(path);
}

/* More of everything a store holds. */
static void populate(void)
{
	const struct store_caller *c = fuzz_caller();
	struct store_version_meta m = {.run = "p/r/s"};
	struct store_version v;
	static const char line[] = "{\"op\":\"open\",\"path\":\"/x\"}";
	struct store_put *p;
	uint64_t seq;

	check(store_put_begin(s, c, "a", NULL, NULL, &p), "put");
	check(store_put_path(p, "/etc/hostname", "etc/hostname"), "put path");
	check(store_put_dir(p, "empty", 0755), "put dir");
	check(store_put_commit(p, &m, &v), "commit");
	check(store_alias_set(s, c, "a", "prod", 1), "alias");
	check(store_run_note_set(s, c, "p", "r", "lr", "0.01"), "note");
	check(store_trace_append(s, c, "p", "r", "s", line, sizeof(line) - 1,
				 &seq),
	      "trace");
	check(store_binding_set(s, c, "/pipelines/p", "u:1000", "writer"),
	      "binding");
	check(store_step_input_add(s, c, "p", "r", "s", "a", 1), "input");
	check(store_run_create(s, c, "p", "done", 0), "run");
	check(store_run_end(s, c, "p", "done", STORE_RUN_SEALED, NULL, 0),
	      "run end");
}

struct dump {
	enum db_cf cf;
	uint8_t combined[4096];
	size_t clen, centries;
};

/* The fuzz_store place of a key (fuzz_store.c, places[]). */
static const struct {
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
    {CF_MANIFESTS, "F", 1},
    {CF_MANIFESTS, "D", 1},
    {CF_META, "stats", 5},
    {CF_REFCOUNTS, "C", 1},
};
#define NPLACES (sizeof(places) / sizeof(places[0]))

/* One fuzz_store entry for key/val, appended to out; 0 if none fits. */
static size_t entry(enum db_cf cf, const uint8_t *key, size_t klen,
		    const uint8_t *val, size_t vlen, uint8_t *out, size_t cap)
{
	size_t best = NPLACES, n = 0;

	for (size_t i = 0; i < NPLACES; i++)
		if (places[i].cf == cf && klen >= places[i].len &&
		    !memcmp(key, places[i].prefix, places[i].len) &&
		    (best == NPLACES || places[i].len > places[best].len))
			best = i;
	if (best == NPLACES || klen - places[best].len > 255 || vlen > 0xffff ||
	    klen + vlen + 6 > cap)
		return 0;
	out[n++] = (uint8_t)best;
	out[n++] = (uint8_t)(klen - places[best].len);
	memcpy(out + n, key + places[best].len, klen - places[best].len);
	n += klen - places[best].len;
	if (vlen < 0xff) {
		out[n++] = (uint8_t)vlen;
	} else {
		out[n++] = 0xff;
		out[n++] = (uint8_t)(vlen >> 8);
		out[n++] = (uint8_t)vlen;
	}
	memcpy(out + n, val, vlen);
	return n + vlen;
}

static int dump_one(void *arg, const void *key, size_t klen, const void *val,
		    size_t vlen)
{
	struct dump *d = arg;
	const uint8_t *k = key;
	uint8_t one[4096];
	size_t n = entry(d->cf, k, klen, val, vlen, one, sizeof(one));

	if (n) {
		seed("store", -1, one, n);
		if (d->centries < 8 && d->clen + n <= sizeof(d->combined)) {
			memcpy(d->combined + d->clen, one, n);
			d->clen += n;
			d->centries++;
		}
	}
	if (d->cf == CF_MANIFESTS)
		seed("tree", -1, val, vlen);
	else if (d->cf == CF_NAMESPACE && strchr("vro", k[0]))
		seed("record", k[0], val, vlen);
	else if (d->cf == CF_AUDIT && k[0] == 'r')
		seed("record", 'a', val, vlen);
	else if (d->cf == CF_META && klen == 5 && !memcmp(k, "stats", 5))
		seed("record", 's', val, vlen);
	else if (d->cf == CF_SECRETS)
		seed("acl", 's', val, vlen);
	return 0;
}

static void dump_cfs(void)
{
	static const enum db_cf cfs[] = {CF_NAMESPACE, CF_LINEAGE,   CF_SECRETS,
					 CF_AUDIT,     CF_MANIFESTS, CF_META};

	for (size_t i = 0; i < sizeof(cfs) / sizeof(cfs[0]); i++) {
		struct dump d = {.cf = cfs[i]};

		check(db_scan(s->db, cfs[i], "", 0, dump_one, &d), "scan");
		if (d.centries > 1)
			seed("store", -1, d.combined, d.clen);
	}
}

/* The signed documents, and the public key that checks them. */
static void signed_seeds(const char *header)
{
	char priv[ACL_PATH_MAX], pub[ACL_PATH_MAX], line[256], *doc, *sig;
	static const char records[] = "{\"seq\":1}\n{\"seq\":2}\n";
	struct acl_export_range r = {.records = 2, .first = 1, .last = 2};
	uint8_t hash[STORE_DIGEST_LEN];
	size_t len, slen;
	uint64_t seq;
	FILE *in, *out;

	check(store_audit_head(s, &seq, hash), "head");
	check(acl_checkpoint_sign(s, seq, hash, pub, &doc, &len), "checkpoint");
	seed("acl", 'c', doc, len);
	free(doc);
	check(acl_export_sign(s, records, sizeof(records) - 1, &r, pub, &sig,
			      &slen),
	      "export");
	doc = malloc(slen + sizeof(records));
	memcpy(doc, sig, slen);
	doc[slen] = '\0';
	memcpy(doc + slen + 1, records, sizeof(records) - 1);
	seed("acl", 'e', doc, slen + sizeof(records));
	free(doc);
	free(sig);
	check(acl_sign_key(s, false, priv, pub), "sign key");
	in = fopen(pub, "r");
	out = fopen(header, "w");
	if (!in || !out)
		check(-errno, header);
	fputs("/* fuzz_key.h - the public key that checks the signed seeds "
	      "of\n * corpus/acl (written by seedgen.c; its private half is "
	      "gone). */\n#define FUZZ_SIGN_PUB \\\n",
	      out);
	while (fgets(line, sizeof(line), in)) {
		line[strcspn(line, "\n")] = '\0';
		fprintf(out, "\t\"%s\\n\"%s\n", line,
			feof(in) || strstr(line, "END") ? "" : " \\");
	}
	fclose(in);
	if (fclose(out))
		check(-errno, header);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: fuzz_seedgen CORPUS_DIR KEY_HEADER\n");
		return 2;
	}
	root = argv[1];
	mkdir(root, 0755);
	s = fuzz_store();
	populate();
	dump_cfs();
	signed_seeds(argv[2]);
	fuzz_store_done();
	return 0;
}
