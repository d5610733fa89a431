/*
 * cmd_export.c - `export` (a point-in-time copy for auditors, with a
 * signed MANIFEST) and `verify-export` (checks one with nothing but the
 * copy and the public key).
 *
 * DEST/MANIFEST lists what the export holds, one line each:
 *     artifactfs export 1
 *     store <id>
 *     journal <first> <last> <hash of the last record, hex>
 *     journal-omitted <count> <SHA-256 of the stubs, hex>   (trimmed only)
 *     version <artifact> <number> <digest>
 * and DEST/MANIFEST.sig is its Ed25519 signature (hex) under the store's
 * signing key (acl_sign_key).
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acl.h"
#include "cli_i.h"
#include "trace_i.h"

#define MANIFEST_MAX (64 << 20)

struct mf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void mf_add(struct mf *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void mf_add(struct mf *m, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || m->oom)
		return;
	if (m->len + (size_t)n + 1 > m->cap) {
		size_t cap = (m->len + (size_t)n + 1) * 2;
		char *p = realloc(m->p, cap);

		if (!p) {
			m->oom = true;
			return;
		}
		m->p = p;
		m->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(m->p + m->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	m->len += (size_t)n;
}

struct mf_store {
	struct store *s;
	struct mf *m;
};

static int mf_version(void *arg, const struct store_version *v)
{
	char hex[STORE_DIGEST_STR_LEN];

	store_digest_format(v->digest, hex);
	mf_add(arg, "version %s %u %s\n", v->artifact, v->number, hex);
	return 0;
}

static int mf_artifact(void *arg, const char *name)
{
	struct mf_store *x = arg;

	return store_version_each(x->s, name, mf_version, x->m);
}

/* A "journal-lane NODE SEQ HASH" line for a node's lane head. */
static int mf_lane(void *arg, const char *node, uint64_t seq,
		   const uint8_t hash[STORE_DIGEST_LEN])
{
	char hex[2 * STORE_DIGEST_LEN + 1];

	store_hex_encode(hash, STORE_DIGEST_LEN, hex);
	mf_add(arg, "journal-lane %s %llu %s\n", node, (unsigned long long)seq,
	       hex);
	return 0;
}

/* The manifest of the (read-only) copy d. */
static int manifest_make(struct store *d, struct mf *m)
{
	struct mf_store x = {d, m};
	uint8_t h[STORE_DIGEST_LEN];
	char hex[2 * STORE_DIGEST_LEN + 1];
	uint64_t seq = 0, n = 0;
	int rc = store_audit_head(d, &seq, h);

	if (rc == -ENOENT) {
		rc = 0;
		memset(h, 0, sizeof(h));
	}
	for (int i = 0; i < STORE_DIGEST_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	mf_add(m, "artifactfs export 1\nstore %s\n", store_id(d));
	mf_add(m, "journal 1 %llu %s\n", (unsigned long long)seq, hex);
	if (!rc)
		rc = store_audit_lane_heads(d, mf_lane, m);
	if (!rc)
		rc = store_export_omitted(d, &n, h);
	for (int i = 0; i < STORE_DIGEST_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	if (!rc && n)
		mf_add(m, "journal-omitted %llu %s\n", (unsigned long long)n,
		       hex);
	if (!rc)
		rc = store_artifact_each(d, mf_artifact, &x);
	return rc ? rc : m->oom ? -ENOMEM : 0;
}

static int write_file(const char *dir, const char *name, const void *p,
		      size_t len)
{
	char path[4096];
	int fd, rc = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, p, len) != (ssize_t)len || fsync(fd))
		rc = -errno ? -errno : -EIO;
	if (fd >= 0 && close(fd) && !rc)
		rc = -errno;
	if (rc)
		store_log(STORE_LOG_ERR, "cannot write %s: %s", path,
			  strerror(-rc));
	return rc;
}

/* Signs the manifest with the store's key into DEST/MANIFEST.sig. */
static int manifest_sign(struct fs_ctx *ctx, const char *dest,
			 const struct mf *m, char pub[ACL_PATH_MAX])
{
	char priv[ACL_PATH_MAX], hex[2 * STORE_SIG_LEN + 2];
	uint8_t sig[STORE_SIG_LEN];
	int rc = acl_sign_key(ctx->store, true, priv, pub);

	if (rc >= 0)
		rc = store_sign(priv, m->p, m->len, sig);
	if (rc < 0)
		return rc;
	for (int i = 0; i < STORE_SIG_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", sig[i]);
	hex[2 * STORE_SIG_LEN] = '\n';
	rc = write_file(dest, "MANIFEST", m->p, m->len);
	return rc ? rc
		  : write_file(dest, "MANIFEST.sig", hex,
			       2 * STORE_SIG_LEN + 1);
}

/* Options after DEST: --closure, --scope (repeated), --since. */
static int export_args(struct fs_ctx *ctx, int argc, char **argv,
		       struct store_export_sel *sel, const char **list)
{
	size_t n = 0;

	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];

		if (i + 1 >= argc ||
		    (strcmp(o, "--closure") && strcmp(o, "--scope") &&
		     strcmp(o, "--since")))
			return fs_usage_error(ctx, "unknown argument '%s'", o);
		i++;
		if (!strcmp(o, "--since")) {
			if (fs_time_parse(argv[i], &sel->since))
				return fs_usage_error(
				    ctx, "bad --since '%s' (UTC ISO 8601)",
				    argv[i]);
		} else if (!strcmp(o, "--closure")) {
			list[n++] = argv[i];
			sel->nclosure++;
		}
	}
	sel->closure = list;
	sel->scope = list + n;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--scope"))
			list[n + sel->nscope++] = argv[i + 1];
	}
	return 0;
}

/* Trims the copy at dest to sel, then writes and signs its manifest. */
static int export_finish(struct fs_ctx *ctx, const char *dest,
			 const struct store_export_sel *sel, struct mf *m,
			 char pub[ACL_PATH_MAX])
{
	struct store_options ro = ctx->opt;
	struct fs_progress prog;
	struct store *d;
	char path[4096];
	int rc = store_open(dest, &ctx->opt, &d);

	if (!rc) {
		fs_progress_init(&prog, "export", 0, ctx->quiet);
		rc = store_export_trim(
		    d, sel, sel->nclosure || sel->nscope || sel->since,
		    fs_progress_cb, &prog);
		fs_progress_end(&prog);
		store_close(d);
	}
	/* The copy keeps no lock and no reserve: it is read-only. */
	snprintf(path, sizeof(path), "%s/reserve", dest);
	unlink(path);
	snprintf(path, sizeof(path), "%s/lock", dest);
	unlink(path);
	ro.read_only = true;
	if (!rc)
		rc = store_export_mark(dest);
	if (!rc)
		rc = store_open(dest, &ro, &d);
	if (rc)
		return rc;
	rc = manifest_make(d, m);
	store_close(d);
	return rc ? rc : manifest_sign(ctx, dest, m, pub);
}

/* The export as one tar file: made in a directory beside it (so the
 * checkpoint's hard links work), written out, then removed. */
static int export_tar(struct fs_ctx *ctx, const char *file,
		      const struct store_export_sel *sel, struct mf *m,
		      char pub[ACL_PATH_MAX])
{
	struct fs_progress prog;
	char *dir = NULL;
	int rc = 0;

	if (asprintf(&dir, "%s.XXXXXX", file) < 0)
		return -ENOMEM;
	if (!mkdtemp(dir)) {
		rc = -errno;
		store_log(STORE_LOG_ERR, "cannot make %s: %s", dir,
			  strerror(errno));
		free(dir);
		return rc;
	}
	rc = store_export_copy(ctx->store, dir);
	if (!rc)
		rc = export_finish(ctx, dir, sel, m, pub);
	if (!rc) {
		fs_progress_init(&prog, "export", 0, ctx->quiet);
		rc = fs_tar_write(dir, file, &prog);
		fs_progress_end(&prog);
	}
	fs_tree_remove(dir);
	free(dir);
	return rc;
}

int fs_cmd_export(struct fs_ctx *ctx, int argc, char **argv)
{
	struct store_export_sel sel = {0};
	const char **list = calloc((size_t)argc + 1, sizeof(*list));
	char pub[ACL_PATH_MAX];
	struct mf m = {0};
	size_t nv = 0;
	bool tar = ctx->tar || fs_tar_is(argv[0]);
	int rc = list ? 0 : -ENOMEM;

	if (!rc)
		rc = export_args(ctx, argc, argv, &sel, list);
	if (!rc)
		rc = fs_authorize(ctx, ACL_AUDIT, "/", "export");
	if (!rc && access(argv[0], F_OK) == 0) {
		store_log(STORE_LOG_ERR, "%s exists: an export makes a new %s",
			  argv[0], tar ? "file" : "directory");
		rc = -EEXIST;
	}
	if (!rc && tar)
		rc = export_tar(ctx, argv[0], &sel, &m, pub);
	else if (!rc)
		rc = store_export_copy(ctx->store, argv[0]);
	if (!rc && !tar)
		rc = export_finish(ctx, argv[0], &sel, &m, pub);
	for (size_t i = 0; !rc && i < m.len; i++)
		nv += !strncmp(m.p + i, "\nversion ", 9);
	if (!rc)
		fprintf(fs_stdout(),
			"exported %zu versions to %s; MANIFEST signed (verify "
			"with the public key %s)\n",
			nv, argv[0], pub);
	free(m.p);
	free(list);
	return rc;
}
