/*
 * cmd_verify_export.c - `verify-export DEST --pubkey KEY`: checks an
 * export with nothing but it and the public key (no live store, no
 * role).  The MANIFEST's signature; every version it lists, with the
 * SHA-256 of every file re-computed from the chunks; every chunk and
 * reference (fsck); the journal's chain and its head against the
 * MANIFEST.  The first problem is one line; the exit status 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_i.h"

static char *slurp(const char *dir, const char *name, size_t *len)
{
	char path[4096];
	struct stat st;
	char *p = NULL;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size < (64 << 20))
		p = malloc((size_t)st.st_size + 1);
	if (p && read(fd, p, (size_t)st.st_size) != st.st_size) {
		free(p);
		p = NULL;
	}
	if (p) {
		p[st.st_size] = '\0';
		*len = (size_t)st.st_size;
	}
	if (fd >= 0)
		close(fd);
	return p;
}

static int bad(const char *fmt, const char *a, const char *b)
{
	store_log(STORE_LOG_ERR, fmt, a, b);
	return -EBADMSG;
}

/* The signature of MANIFEST under key. */
static int check_sig(const char *dest, const char *key, const char *mf,
		     size_t len)
{
	uint8_t sig[STORE_SIG_LEN];
	size_t n;
	char *hex = slurp(dest, "MANIFEST.sig", &n);
	int rc = -EINVAL;

	if (hex && n >= 2 * STORE_SIG_LEN) {
		hex[2 * STORE_SIG_LEN] = '\0';
		rc = store_hex_decode(hex, sig, STORE_SIG_LEN);
	}

	free(hex);
	if (rc)
		return bad("%s/MANIFEST.sig: missing or malformed%s", dest, "");
	if (store_sign_verify(key, mf, len, sig))
		return bad("%s/MANIFEST: its signature does not verify with %s "
			   "(changed, or signed by another key)",
			   dest, key);
	return 0;
}

struct walk {
	struct store *d;
	struct fs_progress *prog;
	const char *ver;
	char path[4096];
	uint64_t files;
	int rc;
};

static int hash_file(struct walk *w, const struct store_dirent *e)
{
	struct store_reader *r;
	uint8_t buf[1 << 16], md[32];
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	uint64_t off = 0;
	ssize_t n = 0;
	int rc = c ? store_reader_open(w->d, e->digest, &r) : -ENOMEM;

	if (!rc) {
		EVP_DigestInit_ex(c, EVP_sha256(), NULL);
		while ((n = store_reader_pread(r, buf, sizeof(buf), off)) > 0) {
			EVP_DigestUpdate(c, buf, (size_t)n);
			off += (uint64_t)n;
			fs_progress_add(w->prog, (uint64_t)n);
		}
		EVP_DigestFinal_ex(c, md, NULL);
		store_reader_close(r);
	}
	EVP_MD_CTX_free(c);
	w->files++;
	if (rc || n < 0)
		return bad("%s/%s: unreadable (a chunk fails its hash)", w->ver,
			   w->path);
	if (memcmp(md, e->digest, sizeof(md)))
		return bad("%s/%s: content does not match its digest", w->ver,
			   w->path);
	return 0;
}

static int walk_entry(void *arg, const struct store_dirent *e)
{
	struct walk *w = arg;
	size_t n = strlen(w->path);
	int rc = 0;

	snprintf(w->path + n, sizeof(w->path) - n, "%s%s", n ? "/" : "",
		 e->name);
	if (e->kind == STORE_KIND_FILE)
		rc = hash_file(w, e);
	else if (e->kind == STORE_KIND_DIR)
		rc = store_tree_each(w->d, e->digest, walk_entry, w);
	w->path[n] = '\0';
	return rc;
}

/* The bytes of the versions mf lists, for the progress line. */
static uint64_t listed_bytes(struct store *d, const char *mf)
{
	char a[STORE_NAME_MAX + 1];
	struct store_version v;
	uint64_t total = 0;
	unsigned num;

	for (const char *l = mf; l; l = strchr(l + 1, '\n'))
		if (sscanf(l, "\nversion %255s %u ", a, &num) == 2 &&
		    !store_version_get(d, a, num, &v))
			total += v.size;
	return total;
}

/* Each "version" line: the version's digest, every file re-hashed. */
static int check_versions(struct store *d, char *mf, struct fs_progress *prog,
			  uint64_t *nv, uint64_t *nf)
{
	struct walk w = {.d = d, .prog = prog};
	char *save = NULL, ver[600];
	int rc = 0;

	for (char *l = strtok_r(mf, "\n", &save); l && !rc;
	     l = strtok_r(NULL, "\n", &save)) {
		char a[STORE_NAME_MAX + 1], hex[80];
		uint8_t dg[STORE_DIGEST_LEN];
		struct store_version v;
		unsigned num;

		if (sscanf(l, "version %255s %u %79s", a, &num, hex) != 3)
			continue;
		snprintf(ver, sizeof(ver), "%s@v%u", a, num);
		w.ver = ver;
		if (store_digest_parse(hex, dg) ||
		    store_version_get(d, a, num, &v))
			return bad("%s: listed in MANIFEST, missing from the "
				   "export%s",
				   ver, "");
		if (memcmp(dg, v.digest, sizeof(dg)))
			return bad("%s: its digest differs from the MANIFEST%s",
				   ver, "");
		(*nv)++;
		rc = store_tree_each(d, v.digest, walk_entry, &w);
	}
	*nf = w.files;
	return rc;
}

/* The stubs of the records a trimmed export left out, as the MANIFEST
 * counts and digests them (none when it has no such line). */
static int check_omitted(struct store *d, const char *mf)
{
	const char *l = strstr(mf, "\njournal-omitted ");
	unsigned long long want = 0;
	char hex[80] = "", have[2 * STORE_DIGEST_LEN + 1];
	uint8_t dg[STORE_DIGEST_LEN];
	uint64_t n = 0;

	if (l && sscanf(l, "\njournal-omitted %llu %79s", &want, hex) != 2)
		return bad("MANIFEST: a malformed journal-omitted line%s%s", "",
			   "");
	if (store_export_omitted(d, &n, dg))
		return bad("journal: a malformed stub of a record left out "
			   "(changed)%s%s",
			   "", "");
	for (int i = 0; i < STORE_DIGEST_LEN; i++)
		snprintf(have + 2 * i, 3, "%02x", dg[i]);
	if (n != want || (n && strcmp(have, hex)))
		return bad("journal: the records left out differ from the "
			   "MANIFEST's (a stub changed, added or removed)%s%s",
			   "", "");
	return 0;
}

/* Each node's lane head as the MANIFEST has it, and no other lane. */
struct lanes_seen {
	const char *mf;
	unsigned n;
};

static int lane_listed(void *arg, const char *node, uint64_t seq,
		       const uint8_t hash[STORE_DIGEST_LEN])
{
	struct lanes_seen *l = arg;
	char line[200], hex[2 * STORE_DIGEST_LEN + 1];

	store_hex_encode(hash, STORE_DIGEST_LEN, hex);
	snprintf(line, sizeof(line), "\njournal-lane %s %llu %s\n", node,
		 (unsigned long long)seq, hex);
	l->n++;
	return strstr(l->mf, line) ? 0 : -EBADMSG;
}

static int check_lanes(struct store *d, const char *mf)
{
	struct lanes_seen l = {mf, 0};
	unsigned listed = 0;
	const char *p = mf;

	while ((p = strstr(p, "\njournal-lane ")))
		listed++, p++;
	if (store_audit_lane_heads(d, lane_listed, &l) || l.n != listed)
		return bad("journal: a node's lane differs from the MANIFEST's "
			   "(records removed, added or changed)%s%s",
			   "", "");
	return 0;
}

/* The journal: its chain, and its head as the MANIFEST has it. */
static int check_journal(struct store *d, const char *mf, uint64_t *n)
{
	unsigned long long first, last;
	char hex[80], why[256] = "", have[2 * STORE_DIGEST_LEN + 1];
	uint8_t h[STORE_DIGEST_LEN] = {0};
	uint64_t seq = 0;
	const char *l = strstr(mf, "\njournal ");
	int rc;

	if (!l ||
	    sscanf(l, "\njournal %llu %llu %79s", &first, &last, hex) != 3)
		return bad("MANIFEST: no journal line%s%s", "", "");
	rc = store_audit_chain_check(d, n, why, sizeof(why));
	if (rc)
		return bad("%s%s", why, "");
	if (store_audit_head(d, &seq, h) && last)
		return bad("journal: no head%s%s", "", "");
	for (int i = 0; i < STORE_DIGEST_LEN; i++)
		snprintf(have + 2 * i, 3, "%02x", h[i]);
	if (seq != last || *n != last || strcmp(have, hex))
		return bad("journal: its head differs from the MANIFEST's "
			   "(records removed, added or changed)%s%s",
			   "", "");
	rc = check_lanes(d, mf);
	return rc ? rc : check_omitted(d, mf);
}

static int verify_dir(struct fs_ctx *ctx, const char *dest, const char *name,
		      const char *key);

int fs_export_journal_verify(struct store *d, const char *key)
{
	const char *dest = store_dir(d);
	char why[256] = "", *mf = NULL;
	uint64_t n = 0;
	size_t len;
	int rc;

	if (!key) {
		rc = store_audit_chain_check(d, &n, why, sizeof(why));
		if (rc)
			return bad("%s%s", why, "");
		fprintf(fs_stdout(),
			"journal chained: %llu records (give --pubkey KEY to "
			"check its head against the signed MANIFEST)\n",
			(unsigned long long)n);
		return 0;
	}
	mf = slurp(dest, "MANIFEST", &len);
	rc = mf ? check_sig(dest, key, mf, len)
		: bad("%s/MANIFEST: missing%s", dest, "");
	if (!rc)
		rc = check_journal(d, mf, &n);
	free(mf);
	if (!rc)
		fprintf(fs_stdout(),
			"journal intact: %llu records chained, its head as the "
			"MANIFEST signed with %s has it\n",
			(unsigned long long)n, key);
	return rc;
}

int fs_cmd_verify_export(struct fs_ctx *ctx, int argc, char **argv)
{
	const char *dest = argc == 4 ? argv[1] : NULL, *key = NULL;
	char *dir = NULL;
	int rc;

	if (argc == 4 && !strcmp(argv[2], "--pubkey"))
		key = argv[3];
	if (!dest || !key)
		return fs_usage_error(
		    ctx, "usage: verify-export DEST|FILE.tar --pubkey KEY");
	if (!fs_tar_is(dest))
		return verify_dir(ctx, dest, dest, key);
	/* Unpacked into a private directory, checked, removed. */
	rc = fs_tar_unpack_tmp(dest, &dir);
	if (rc)
		return -EBADMSG; /* logged */
	rc = verify_dir(ctx, dir, dest, key);
	fs_tree_remove(dir);
	free(dir);
	return rc;
}

/* verify-export of the export directory dest (name: what the user gave). */
/* Every listed version re-hashed, then every chunk and reference, each
 * with a progress line. */
static int check_content(struct fs_ctx *ctx, struct store *d, const char *mf,
			 const char *name, uint64_t *nv, uint64_t *nf)
{
	struct store_check chk;
	struct fs_progress prog;
	char *copy = strdup(mf);
	int rc;

	if (!copy)
		return -ENOMEM;
	fs_progress_init(&prog, "verify", listed_bytes(d, mf), ctx->quiet);
	rc = check_versions(d, copy, &prog, nv, nf);
	fs_progress_end(&prog);
	free(copy);
	if (rc)
		return rc;
	fs_progress_init(&prog, "verify chunks", 0, ctx->quiet);
	if (store_fsck(d, fs_progress_cb, &prog, &chk))
		rc = bad("%s: its chunks or references fail fsck (above)%s",
			 name, "");
	fs_progress_end(&prog);
	return rc;
}

static int verify_dir(struct fs_ctx *ctx, const char *dest, const char *name,
		      const char *key)
{
	struct store_options ro;
	struct store *d = NULL;
	uint64_t nv = 0, nf = 0, nj = 0;
	size_t len;
	char *mf = NULL;
	int rc;

	mf = slurp(dest, "MANIFEST", &len);
	rc = mf ? check_sig(dest, key, mf, len)
		: bad("%s/MANIFEST: missing%s", dest, "");
	store_options_init(&ro);
	ro.read_only = true;
	if (!rc && store_open(dest, &ro, &d))
		rc = bad("%s: not an artifactfs export%s", dest, "");
	if (!rc)
		rc = check_content(ctx, d, mf, name, &nv, &nf);
	if (!rc)
		rc = check_journal(d, mf, &nj);
	store_close(d);
	free(mf);
	if (!rc)
		fprintf(fs_stdout(),
			"export %s verified: MANIFEST signed, %llu versions, "
			"%llu files re-hashed, %llu journal records chained\n",
			name, (unsigned long long)nv, (unsigned long long)nf,
			(unsigned long long)nj);
	return rc;
}
