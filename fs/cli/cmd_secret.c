/*
 * fs/cli/cmd_secret.c - `secret set|get|rm|ls`: values kept encrypted by
 * acl/ (acl_secret_*), shown in the mount as /secrets/<name>.
 *
 *     artifactfs secret set NAME [FILE|-]    admin on /secrets/NAME
 *     artifactfs secret get NAME[@vN]        a role that reads it
 *     artifactfs secret rm NAME              admin on /secrets/NAME
 *     artifactfs secret ls [--json]          the names the caller may read
 *     artifactfs secret rotate-key           admin on /secrets
 *
 * Every set makes the next version of the secret; get reads the current
 * one, or version N with NAME@vN (so a name may not end in "@v<digits>").
 *
 * A value never goes to a log line, an error message or the journal: set
 * and rm are journaled by the store with the secret's path, and every get
 * that was allowed writes a "secret.read" record (with the outcome) before
 * a byte is printed, so a read that cannot be journaled prints nothing.
 * Buffers that held a value are wiped before they are freed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "acl.h"
#include "cli_i.h"

/* "/secrets/" + a name + NUL */
#define SECRET_PATH_MAX (9 + STORE_NAME_MAX + 1)

static void secret_path(const char *name, char out[SECRET_PATH_MAX])
{
	snprintf(out, SECRET_PATH_MAX, "/secrets/%s", name);
}

static void wipe_free(uint8_t *buf, size_t len)
{
	if (buf)
		explicit_bzero(buf, len);
	free(buf);
}

/* Reads at most ACL_SECRET_MAX bytes from fd into buf (ACL_SECRET_MAX + 1
 * bytes); *len gets the count.  -EFBIG when there is more. */
static int read_capped(int fd, uint8_t *buf, size_t *len)
{
	size_t n = 0;

	while (n <= ACL_SECRET_MAX) {
		ssize_t r = read(fd, buf + n, ACL_SECRET_MAX + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*len = n;
	return n > ACL_SECRET_MAX ? -EFBIG : 0;
}

/* The value of `secret set`: FILE, or standard input for "-" or none. */
static int read_value(struct fs_ctx *ctx, const char *name, const char *src,
		      uint8_t **out, size_t *len)
{
	bool from_stdin = !src || !strcmp(src, "-");
	uint8_t *buf;
	int fd, rc;

	/* Through the daemon, standard input is the one the caller passed
	 * over the socket. */
	fd = from_stdin ? fs_stdin() : fs_file_open(ctx, src, O_RDONLY, 0);
	if (fd < 0 && from_stdin) {
		store_log(STORE_LOG_ERR, "secret set: no standard input");
		return -EBADF;
	}
	if (fd < 0) {
		store_log(STORE_LOG_ERR, "secret set: %s: %s", src,
			  strerror(-fd));
		return fd;
	}
	buf = malloc(ACL_SECRET_MAX + 1);
	rc = buf ? read_capped(fd, buf, len) : -ENOMEM;
	if (!from_stdin)
		close(fd);
	if (rc == -EFBIG)
		store_log(STORE_LOG_ERR,
			  "secret set: %s: the value of secret %s is over %d "
			  "bytes",
			  from_stdin ? "standard input" : src, name,
			  ACL_SECRET_MAX);
	else if (rc && rc != -ENOMEM)
		store_log(STORE_LOG_ERR, "secret set: %s: %s",
			  from_stdin ? "standard input" : src, strerror(-rc));
	if (rc) {
		wipe_free(buf, ACL_SECRET_MAX + 1);
		return rc;
	}
	*out = buf;
	return 0;
}

uint32_t fs_secret_version(const char *name, size_t *base_len)
{
	const char *at = strrchr(name, '@');
	unsigned long long v = 0;
	const char *p;

	if (!at || at[1] != 'v' || !at[2] || at[2] == '0')
		return 0;
	for (p = at + 2; *p >= '0' && *p <= '9' && v <= UINT32_MAX; p++)
		v = v * 10 + (unsigned)(*p - '0');
	if (*p || v > UINT32_MAX || at == name)
		return 0;
	*base_len = (size_t)(at - name);
	return (uint32_t)v;
}

static int secret_set(struct fs_ctx *ctx, const char *name, const char *src)
{
	char path[SECRET_PATH_MAX];
	uint8_t *val = NULL;
	uint32_t version = 0;
	size_t len = 0;
	int rc;

	secret_path(name, path);
	if (fs_secret_version(name, &len)) {
		store_log(STORE_LOG_ERR,
			  "secret set: '%s' ends like a version (NAME@vN)",
			  name);
		return -EINVAL;
	}
	rc = fs_authorize(ctx, ACL_ADMIN, path, "secret.set");
	if (!rc)
		rc = read_value(ctx, name, src, &val, &len);
	if (!rc)
		rc = acl_secret_write(ctx->store, &ctx->caller, name, val, len,
				      &version);
	if (val)
		wipe_free(val, ACL_SECRET_MAX + 1);
	if (!rc)
		fprintf(fs_stdout(), "secret %s set (%zu bytes, v%u)\n", name,
			len, version);
	return rc;
}

static int secret_get(struct fs_ctx *ctx, const char *spec)
{
	char path[SECRET_PATH_MAX], name[STORE_NAME_MAX + 1];
	uint8_t *val = NULL;
	size_t len = strlen(spec);
	uint32_t version = fs_secret_version(spec, &len);
	int rc, jrc;

	snprintf(name, sizeof(name), "%.*s", (int)len, spec);
	secret_path(name, path);
	rc = fs_authorize(ctx, ACL_SECRET, path, "secret.read");
	if (rc)
		return rc;
	len = 0;
	rc = acl_secret_read(ctx->store, name, version, &val, &len, NULL);
	/* Every allowed read is journaled, whatever came of it; without its
	 * record the value is not shown. */
	jrc = store_audit_record(ctx->store, &ctx->caller, "secret.read", path,
				 NULL, rc ? 0 : len, rc);
	if (rc == -ENOENT && version)
		store_log(STORE_LOG_ERR, "secret get: no secret '%s' v%u", name,
			  version);
	else if (rc == -ENOENT)
		store_log(STORE_LOG_ERR, "secret get: no secret '%s'", name);
	if (!rc && jrc) {
		store_log(STORE_LOG_ERR,
			  "secret get: %s: the read cannot be journaled; the "
			  "value is not shown",
			  name);
		rc = jrc;
	}
	if (!rc && len &&
	    fwrite(val, 1, len, fs_stdout()) != len) /* fflush'd by main */
		rc = -EIO;
	wipe_free(val, len);
	return rc;
}

static int secret_rm(struct fs_ctx *ctx, const char *name)
{
	char path[SECRET_PATH_MAX];
	int rc;

	secret_path(name, path);
	rc = fs_authorize(ctx, ACL_ADMIN, path, "secret.rm");
	if (!rc)
		rc = store_secret_delete(ctx->store, &ctx->caller, name);
	if (rc == -ENOENT)
		store_log(STORE_LOG_ERR, "secret rm: no secret '%s'", name);
	if (!rc)
		fprintf(fs_stdout(), "secret %s removed\n", name);
	return rc;
}

struct secret_ls {
	struct fs_ctx *ctx;
	json_t *arr; /* --json, else NULL */
};

static int list_one(void *arg, const char *name)
{
	struct secret_ls *ls = arg;
	char path[SECRET_PATH_MAX];
	json_t *o;

	secret_path(name, path);
	if (fs_allowed(ls->ctx, ACL_SECRET, path))
		return 0; /* not the caller's to read: not shown */
	if (!ls->arr) {
		fprintf(fs_stdout(), "%s\n", name);
		return 0;
	}
	o = json_pack("{s:o, s:o}", "name", fs_json_str(name), "path",
		      fs_json_str(path));
	return !o || json_array_append_new(ls->arr, o) ? -ENOMEM : 0;
}

static int secret_ls(struct fs_ctx *ctx)
{
	struct secret_ls ls = {ctx, NULL};
	int rc;

	if (ctx->json) {
		ls.arr = json_array();
		if (!ls.arr)
			return -ENOMEM;
	}
	rc = acl_secret_each(ctx->store, list_one, &ls);
	if (rc == 0 && ls.arr)
		return fs_json_print(ls.arr);
	json_decref(ls.arr);
	return rc;
}

/* Seals every secret again under a new key (admin on /secrets). */
static int secret_rotate_key(struct fs_ctx *ctx)
{
	struct timespec t0, t1;
	uint64_t n = 0;
	int rc = fs_authorize(ctx, ACL_ADMIN, "/secrets", "secret.rotate-key");

	if (rc)
		return rc;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = acl_secret_rotate_key(ctx->store, &ctx->caller, &n);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (!rc)
		fprintf(fs_stdout(),
			"secrets key rotated: %llu values sealed again in "
			"%.0f ms\n",
			(unsigned long long)n,
			(double)(t1.tv_sec - t0.tv_sec) * 1e3 +
			    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	return rc;
}

int fs_cmd_secret(struct fs_ctx *ctx, int argc, char **argv)
{
	const char *op = argv[0];
	int min, max, rc;

	min = max = 2;
	if (!strcmp(op, "set"))
		max = 3;
	else if (!strcmp(op, "ls") || !strcmp(op, "rotate-key"))
		min = max = 1;
	else if (strcmp(op, "get") && strcmp(op, "rm"))
		return fs_usage_error(
		    ctx, "unknown action '%s' (set, get, rm, ls, rotate-key)",
		    op);
	if (argc < min || argc > max)
		return fs_usage_error(ctx,
				      "wrong number of arguments for 'secret "
				      "%s'",
				      op);
	if (ctx->json && strcmp(op, "ls"))
		return fs_usage_error(ctx, "--json applies to 'secret ls'");
	if (!strcmp(op, "rotate-key"))
		return secret_rotate_key(ctx);
	if (argc == 1)
		return secret_ls(ctx);
	ctx->subject = argv[1];
	rc = store_name_require(STORE_NAME_FILE, "secret", argv[1]);
	if (!rc && !strcmp(op, "get"))
		return secret_get(ctx, argv[1]);
	if (rc)
		return rc;
	if (!strcmp(op, "set"))
		return secret_set(ctx, argv[1], argc == 3 ? argv[2] : NULL);
	return secret_rm(ctx, argv[1]);
}
