/*
 * fs/cli/cmd_put.c - `artifactfs put ARTIFACT PATH...`: one new version.
 *
 * A single directory becomes the version's root; a file, or several
 * paths, go in under their base names; "-" streams standard input into a
 * file named by --name.  Names are decided (and clashes refused) before
 * anything is stored, and the sources are walked once first so that the
 * progress line knows its total.  Nothing is published unless every
 * source was stored: store_put_commit is the only commit point.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_i.h"

#define STDIN_BUF (1u << 20)

struct put_src {
	const char *arg; /* as given */
	char *path;	 /* what to read (owned) */
	char *dest;	 /* path in the version, "" for the root (owned) */
	bool is_stdin;
};

/* Sum of the sizes of the regular files under path (best effort: what
 * cannot be read now is reported by the put itself). */
static uint64_t walk_size(struct fs_ctx *ctx, const char *path, int depth)
{
	struct dirent *d;
	struct stat st;
	uint64_t sum = 0;
	char *child;
	DIR *dir;
	int fd;

	if (fs_file_stat(ctx, path, false, &st) < 0)
		return 0;
	if (S_ISREG(st.st_mode))
		return (uint64_t)st.st_size;
	if (!S_ISDIR(st.st_mode) || depth > 256)
		return 0;
	fd = fs_file_open(ctx, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
	dir = fd >= 0 ? fdopendir(fd) : NULL;
	if (!dir) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while ((d = readdir(dir))) {
		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		if (asprintf(&child, "%s/%s", path, d->d_name) < 0)
			break;
		sum += walk_size(ctx, child, depth + 1);
		free(child);
	}
	closedir(dir);
	return sum;
}

/* The name a source gets in the version: its base name, or for "." and
 * the like, the base name of where it really is. */
static int base_name(struct fs_ctx *ctx, const char *path, char **out)
{
	size_t len = strlen(path);
	const char *slash, *base;
	char *real;
	int rc;

	while (len > 1 && path[len - 1] == '/')
		len--;
	slash = memrchr(path, '/', len);
	base = slash ? slash + 1 : path;
	len -= (size_t)(base - path);
	if (len && !(len == 1 && base[0] == '.') &&
	    !(len == 2 && !strncmp(base, "..", 2))) {
		*out = strndup(base, len);
		return *out ? 0 : -ENOMEM;
	}
	rc = fs_file_realpath(ctx, path, &real);
	if (rc)
		return rc;
	rc = strcmp(real, "/") ? base_name(ctx, real, out) : -EINVAL;
	free(real);
	if (rc == -EINVAL)
		store_log(STORE_LOG_ERR,
			  "put: cannot name '%s' in a version; "
			  "put a directory alone to store its contents",
			  path);
	return rc;
}

static void srcs_free(struct put_src *srcs, int n)
{
	int i;

	for (i = 0; srcs && i < n; i++) {
		free(srcs[i].path);
		free(srcs[i].dest);
	}
	free(srcs);
}

static int src_init(struct fs_ctx *ctx, struct put_src *src, bool alone)
{
	struct stat st;
	int rc;

	if (!strcmp(src->arg, "-")) {
		src->is_stdin = true;
		src->dest = strdup(ctx->name ? ctx->name : "stdin");
		return src->dest ? 0 : -ENOMEM;
	}
	rc = fs_file_stat(ctx, src->arg, false, &st);
	if (rc) {
		store_log(STORE_LOG_ERR, "put: %s: %s", src->arg,
			  strerror(-rc));
		return rc;
	}
	/* A directory given alone (even through a symlink) is the root. */
	if (alone && fs_file_stat(ctx, src->arg, true, &st) == 0 &&
	    S_ISDIR(st.st_mode)) {
		rc = fs_file_realpath(ctx, src->arg, &src->path);
		if (rc)
			return rc;
		src->dest = strdup("");
		return src->dest ? 0 : -ENOMEM;
	}
	src->path = strdup(src->arg);
	if (!src->path)
		return -ENOMEM;
	return base_name(ctx, src->arg, &src->dest);
}

/* Decides every source's name in the version, refusing clashes. */
static int srcs_init(struct fs_ctx *ctx, int argc, char **argv,
		     struct put_src **out)
{
	struct put_src *srcs = calloc((size_t)argc, sizeof(*srcs));
	int i, j, rc = 0, nstdin = 0;

	if (!srcs)
		return -ENOMEM;
	for (i = 0; i < argc && rc == 0; i++) {
		srcs[i].arg = argv[i];
		rc = src_init(ctx, &srcs[i], argc == 1);
		nstdin += srcs[i].is_stdin;
		for (j = 0; j < i && rc == 0; j++)
			if (!strcmp(srcs[i].dest, srcs[j].dest))
				rc = fs_usage_error(ctx,
						    "'%s' and '%s' would "
						    "both be named '%s'",
						    srcs[j].arg, srcs[i].arg,
						    srcs[i].dest);
	}
	if (rc == 0 && nstdin > 1)
		rc = fs_usage_error(ctx, "'-' (standard input) given twice");
	if (rc == 0 && ctx->name && !nstdin)
		rc = fs_usage_error(ctx, "--name applies only to '-'");
	if (rc < 0) {
		srcs_free(srcs, argc);
		return rc;
	}
	*out = srcs;
	return 0;
}

/* Streams standard input into the store as one file at dest. */
static int put_stdin(struct fs_ctx *ctx, struct store_put *p, const char *dest,
		     struct fs_progress *prog)
{
	struct store_writer *w;
	struct store_file f;
	char *buf = malloc(STDIN_BUF);
	ssize_t n;
	int rc;

	if (!buf)
		return -ENOMEM;
	rc = store_writer_new(ctx->store, &w);
	if (rc < 0)
		goto out_free_buf;
	for (;;) {
		n = read(fs_stdin(), buf, STDIN_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (fs_cancelled(ctx)) { /* the client has gone */
			rc = -ECANCELED;
			goto out_abort;
		}
		rc = store_writer_write(w, buf, (size_t)n);
		if (rc < 0)
			goto out_abort;
		fs_progress_add(prog, (uint64_t)n);
	}
	if (n < 0) {
		rc = -errno;
		store_log(STORE_LOG_ERR, "put: standard input: %s",
			  strerror(-rc));
		goto out_abort;
	}
	rc = store_writer_finish(w, &f);
	if (rc == 0)
		rc = store_put_file(p, dest, &f, 0644);
	goto out_free_buf;
out_abort:
	store_writer_abort(w);
out_free_buf:
	free(buf);
	return rc;
}

static int print_version(struct fs_ctx *ctx, const struct store_version *v)
{
	char hex[STORE_DIGEST_STR_LEN];

	if (ctx->json)
		return fs_json_print(fs_json_version(v));
	store_digest_format(v->digest, hex);
	fprintf(fs_stdout(), "%s@v%u %s\n", v->artifact, v->number, hex);
	return 0;
}

/* --run must be PIPELINE/RUN/STEP, three valid names. */
static int check_run(struct fs_ctx *ctx)
{
	const char *p = ctx->run;
	char part[STORE_NAME_MAX + 1];
	int i;

	for (i = 0; i < 3; i++) {
		size_t len = strcspn(p, "/");

		if (len > STORE_NAME_MAX || (i < 2) != (p[len] == '/'))
			break;
		memcpy(part, p, len);
		part[len] = '\0';
		if (store_name_check(part, len) < 0)
			break;
		p += len + (p[len] == '/');
	}
	if (i < 3)
		return fs_usage_error(ctx,
				      "--run wants PIPELINE/RUN/STEP, "
				      "got '%s'",
				      ctx->run);
	return 0;
}

static int put_all(struct fs_ctx *ctx, struct store_put *p,
		   struct put_src *srcs, int n, struct fs_progress *prog)
{
	int i, rc = 0;

	for (i = 0; i < n && rc == 0; i++) {
		ctx->subject = srcs[i].arg;
		if (srcs[i].is_stdin)
			rc = put_stdin(ctx, p, srcs[i].dest, prog);
		else
			rc = store_put_path(p, srcs[i].path, srcs[i].dest);
	}
	if (rc == 0)
		ctx->subject = NULL;
	return rc;
}

int fs_cmd_put(struct fs_ctx *ctx, int argc, char **argv)
{
	struct store_version_meta meta = {ctx->run, 0};
	const char *artifact = argv[0];
	struct store_source source;
	struct fs_progress prog;
	struct store_version v;
	struct put_src *srcs;
	struct store_put *p;
	uint64_t total = 0;
	int i, rc;

	ctx->subject = artifact;
	if (ctx->run && check_run(ctx) < 0)
		return -EINVAL;
	rc = fs_name_check("artifact", artifact);
	if (rc == 0)
		rc = fs_authorize_at(ctx, ACL_WRITE, "put", "/artifacts/%s",
				     artifact);
	if (rc < 0)
		return rc;
	rc = srcs_init(ctx, argc - 1, argv + 1, &srcs);
	if (rc < 0)
		return rc;
	for (i = 0; i < argc - 1; i++)
		if (!srcs[i].is_stdin)
			total += walk_size(ctx, srcs[i].path, 0);
	fs_progress_init(&prog, "put", total, ctx->quiet);
	rc = store_put_begin(ctx->store, &ctx->caller, artifact, fs_progress_cb,
			     &prog, &p);
	if (rc < 0)
		goto out_free_srcs;
	fs_file_source(ctx, &source);
	store_put_set_source(p, &source);
	rc = put_all(ctx, p, srcs, argc - 1, &prog);
	if (rc < 0) {
		store_put_abort(p);
		goto out_end;
	}
	ctx->subject = artifact;
	rc = store_put_commit(p, &meta, &v);
out_end:
	fs_progress_end(&prog);
	if (rc == 0)
		rc = print_version(ctx, &v);
out_free_srcs:
	srcs_free(srcs, argc - 1);
	return rc;
}
