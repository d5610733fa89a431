/*
 * fs/cli/cmd_read.c - reading versions back: `cat` and `get`, and the spec
 * resolution ("ARTIFACT@REF[/path]") that ls shares.
 *
 * Content only ever comes from store_reader_pread, which re-hashes every
 * chunk: a corrupt chunk fails the read with -EIO, so neither command
 * can hand out wrong bytes.  get writes each file to a temporary name
 * and renames it into place, and a new tree to a temporary directory, so
 * a failed get leaves nothing half-written under DEST.
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_i.h"

#define COPY_BUF      (1u << 20)
#define MAX_LINK_HOPS 16

/* Joins base (a path in the version, "" for the root) and rel, resolving
 * "." and "..".  Returns 0, -EINVAL (it leaves the root), -ENOMEM. */
static int path_join(const char *base, const char *rel, char **out)
{
	size_t cap = strlen(base) + strlen(rel) + 2, len = 0;
	char *buf = malloc(cap), *src, *cur, *tok, *save = NULL;

	src = malloc(cap);
	if (!buf || !src) {
		free(buf);
		free(src);
		return -ENOMEM;
	}
	snprintf(src, cap, "%s/%s", base, rel);
	buf[0] = '\0';
	for (cur = src; (tok = strtok_r(cur, "/", &save)); cur = NULL) {
		if (!strcmp(tok, "."))
			continue;
		if (!strcmp(tok, "..")) {
			char *slash;

			if (len == 0)
				goto out_escape;
			slash = strrchr(buf, '/');
			len = slash ? (size_t)(slash - buf) : 0;
			buf[len] = '\0';
			continue;
		}
		len += (size_t)snprintf(buf + len, cap - len, "%s%s",
					len ? "/" : "", tok);
	}
	free(src);
	*out = buf;
	return 0;
out_escape:
	free(src);
	free(buf);
	return -EINVAL;
}

struct list_acc {
	struct store_dirent *e;
	size_t n, cap;
};

static int list_add(void *arg, const struct store_dirent *e)
{
	struct list_acc *a = arg;

	if (a->n == a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 16;
		struct store_dirent *p = realloc(a->e, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		a->e = p;
		a->cap = cap;
	}
	a->e[a->n++] = *e;
	return 0;
}

int fs_dir_list(struct store *s, const uint8_t dir[STORE_DIGEST_LEN],
		struct store_dirent **out, size_t *n)
{
	struct list_acc a = {NULL, 0, 0};
	int rc = store_tree_each(s, dir, list_add, &a);

	if (rc < 0) {
		free(a.e);
		return rc;
	}
	*out = a.e;
	*n = a.n;
	return 0;
}

static void root_entry(struct fs_target *t)
{
	memset(&t->e, 0, sizeof(t->e));
	t->e.kind = STORE_KIND_DIR;
	t->e.mode = 0755;
	memcpy(t->e.digest, t->v.digest, STORE_DIGEST_LEN);
}

int fs_target_resolve(struct fs_ctx *ctx, const char *spec,
		      struct fs_target *out)
{
	unsigned long before = fs_log_errors();
	const char *path;
	int rc;

	memset(out, 0, sizeof(*out));
	ctx->subject = spec;
	rc = store_spec_parse(spec, out->artifact, out->ref, &path);
	if (rc < 0) {
		if (fs_log_errors() == before)
			store_log(STORE_LOG_ERR,
				  "%s: invalid '%.64s%s', want "
				  "ARTIFACT[@REF][/PATH]",
				  ctx->cmd, spec,
				  strlen(spec) > 64 ? "..." : "");
		return rc;
	}
	rc = path_join("", path, &out->path);
	if (rc == -EINVAL)
		store_log(STORE_LOG_ERR, "%s: %s: path leaves the version",
			  ctx->cmd, spec);
	if (rc < 0)
		return rc;
	/* Nothing about an artifact the caller may not reach, not even
	 * whether the version exists. */
	rc = fs_authorize_at(ctx, ACL_TRAVERSE, ctx->cmd, "/artifacts/%s",
			     out->artifact);
	if (rc < 0)
		return rc;
	rc = store_ref_resolve(ctx->store, out->artifact, out->ref, &out->v);
	if (rc == 0)
		rc = fs_authorize_at(ctx, ACL_READ, ctx->cmd,
				     "/artifacts/%s/v%u", out->artifact,
				     out->v.number);
	if (rc < 0)
		return rc;
	if (!out->path[0])
		root_entry(out);
	else
		rc = store_tree_lookup(ctx->store, out->v.digest, out->path,
				       &out->e);
	if (rc == 0) {
		char digest[STORE_DIGEST_STR_LEN], where[STORE_SCOPE_MAX + 1];

		/* A read through a command is journaled like an open. */
		store_digest_format(out->e.digest, digest);
		snprintf(where, sizeof(where), "/artifacts/%s/v%u%s%s",
			 out->artifact, out->v.number, out->path[0] ? "/" : "",
			 out->path);
		rc = store_audit_record(ctx->store, &ctx->caller, ctx->cmd,
					where, digest, 0, 0);
	}
	return rc;
}

void fs_target_release(struct fs_target *t)
{
	free(t->path);
	t->path = NULL;
}

/* A version whose root holds exactly one entry, a file, stands for that
 * file when no path is given. */
static int single_file(struct fs_ctx *ctx, struct fs_target *t)
{
	struct store_dirent *e;
	size_t n;
	int rc;

	if (t->path[0] || t->e.kind != STORE_KIND_DIR)
		return 0;
	rc = fs_dir_list(ctx->store, t->e.digest, &e, &n);
	if (rc < 0)
		return rc;
	if (n == 1 && e[0].kind == STORE_KIND_FILE)
		t->e = e[0];
	free(e);
	return 0;
}

/* A link that leaves the version (absolute, or up past its root). */
static int link_outside(struct fs_ctx *ctx, const char *target)
{
	store_log(STORE_LOG_ERR,
		  "%s: %s is a symbolic link to '%s' outside the version",
		  ctx->cmd, ctx->subject, target);
	return -ELOOP;
}

/* Follows symlinks that stay inside the version. */
static int follow_links(struct fs_ctx *ctx, struct fs_target *t)
{
	char target[PATH_MAX], *dir, *slash, *next;
	int hops, rc;

	for (hops = 0; t->e.kind == STORE_KIND_SYMLINK; hops++) {
		rc = store_symlink_read(ctx->store, t->e.digest, target,
					sizeof(target));
		if (rc < 0)
			return rc;
		if (hops == MAX_LINK_HOPS || target[0] == '/')
			return link_outside(ctx, target);
		dir = t->path;
		slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
		rc = path_join(slash ? dir : "", target, &next);
		if (rc == -EINVAL)
			return link_outside(ctx, target);
		if (rc < 0)
			return rc;
		free(t->path);
		t->path = next;
		if (!next[0]) {
			root_entry(t);
			break;
		}
		rc = store_tree_lookup(ctx->store, t->v.digest, next, &t->e);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Copies file content digest to fd (named to_name in a write error),
 * verified chunk by chunk. */
static int copy_out(struct store *s, const uint8_t digest[STORE_DIGEST_LEN],
		    int fd, const char *to_name, struct fs_progress *prog)
{
	struct store_reader *r;
	uint64_t off = 0, size;
	char *buf = malloc(COPY_BUF);
	ssize_t n;
	int rc;

	if (!buf)
		return -ENOMEM;
	rc = store_reader_open(s, digest, &r);
	if (rc < 0)
		goto out_free_buf;
	size = store_reader_size(r);
	while (off < size) {
		n = store_reader_pread(r, buf, COPY_BUF, off);
		if (n <= 0) {
			rc = n < 0 ? (int)n : -EIO;
			break;
		}
		if (fd >= 0)
			rc = fs_write_all(fd, buf, (size_t)n);
		else /* the client's stdout, through the daemon */
			rc = fwrite(buf, 1, (size_t)n, fs_stdout()) == (size_t)n
				 ? 0
				 : -EPIPE;
		if (rc < 0) {
			store_log(STORE_LOG_ERR, "writing %s: %s", to_name,
				  strerror(-rc));
			break;
		}
		off += (uint64_t)n;
		if (prog)
			fs_progress_add(prog, (uint64_t)n);
	}
	store_reader_close(r);
out_free_buf:
	free(buf);
	return rc;
}

int fs_cmd_cat(struct fs_ctx *ctx, int argc, char **argv)
{
	struct fs_target t;
	int rc;

	(void)argc;
	rc = fs_target_resolve(ctx, argv[0], &t);
	if (rc == 0)
		rc = single_file(ctx, &t);
	if (rc == 0)
		rc = follow_links(ctx, &t);
	if (rc == 0 && t.e.kind == STORE_KIND_DIR) {
		store_log(STORE_LOG_ERR,
			  "cat: %s is a directory (use '%s ls' "
			  "or '%s get')",
			  argv[0], FS_PROG, FS_PROG);
		rc = -EISDIR;
	}
	if (rc == 0)
		rc = copy_out(ctx->store, t.e.digest,
			      fs_in_request() ? -1 : STDOUT_FILENO,
			      "standard output", NULL);
	fs_target_release(&t);
	return rc;
}

/* ------------------------------------------------------------------ get
 *
 * Everything get makes is made by the caller (fs_file_*): through the
 * daemon its client creates the files, as itself, in its own working
 * directory, with its own umask.
 */

struct get {
	struct fs_ctx *ctx;
	struct fs_progress prog;
	/* The version's root: it has no mode of its own, so it gets what
	 * mkdir gives under the caller's umask (no chmod). */
	const struct store_dirent *root;
	const struct fs_target *t;
	const char *top; /* where t's own entry is being made */
};

/* Gives what get made at dest its mtime from the version. */
static int keep_mtime(struct get *g, const char *dest, int fd)
{
	size_t n = strlen(g->top);
	const char *below = strncmp(dest, g->top, n) ? "" : dest + n;

	return fs_get_keep_mtime(g->ctx, g->t, below + (*below == '/'), fd,
				 dest);
}

static int refuse_existing(struct get *g, const char *dest)
{
	struct stat st;

	if (fs_file_stat(g->ctx, dest, false, &st) < 0)
		return 0;
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode) &&
	    !S_ISLNK(st.st_mode)) {
		/* A device, FIFO or socket is never replaced, --force or
		 * not: get /dev/full would leave a regular file there. */
		store_log(STORE_LOG_ERR,
			  "get: %s exists and is not a regular file or a "
			  "directory: not replaced",
			  dest);
		return -EEXIST;
	}
	if (g->ctx->force)
		return 0;
	store_log(STORE_LOG_ERR, "get: %s exists (use --force to overwrite)",
		  dest);
	return -EEXIST;
}

static int sys_fail(int rc, const char *what, const char *path)
{
	store_log(STORE_LOG_ERR, "get: %s %s: %s", what, path, strerror(-rc));
	return rc;
}

/* A fresh name beside dest ("dest.afs-XXXXXX") into *out. */
static int tmp_name(const char *dest, char **out)
{
	static const char abc[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char r[6];
	char sfx[7];

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return -EIO;
	for (int i = 0; i < 6; i++)
		sfx[i] = abc[r[i] % (sizeof(abc) - 1)];
	sfx[6] = '\0';
	return asprintf(out, "%s.afs-%s", dest, sfx) < 0 ? -ENOMEM : 0;
}

/* Writes a file to a temporary name beside dest, then renames it. */
static int get_file(struct get *g, const struct store_dirent *e,
		    const char *dest)
{
	char *tmp = NULL;
	int fd = -EEXIST, rc;

	rc = refuse_existing(g, dest);
	if (rc < 0)
		return rc;
	for (int tries = 0; fd == -EEXIST && tries < 16; tries++) {
		free(tmp);
		rc = tmp_name(dest, &tmp);
		if (rc)
			return rc;
		fd = fs_file_open(g->ctx, tmp,
				  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW,
				  0600);
	}
	if (fd < 0) {
		rc = sys_fail(fd, "cannot create", dest);
		goto out_free_tmp;
	}
	rc = copy_out(g->ctx->store, e->digest, fd, dest, &g->prog);
	if (rc == 0 && fchmod(fd, e->mode & 07777) < 0)
		rc = sys_fail(-errno, "cannot chmod", dest);
	if (rc == 0)
		rc = keep_mtime(g, dest, fd);
	if (close(fd) < 0 && rc == 0)
		rc = sys_fail(-errno, "cannot write", dest);
	if (rc == 0) {
		rc = fs_file_rename(g->ctx, tmp, dest);
		if (rc)
			sys_fail(rc, "cannot rename to", dest);
	}
	if (rc < 0)
		fs_file_unlink(g->ctx, tmp, false);
out_free_tmp:
	free(tmp);
	return rc;
}

static int get_symlink(struct get *g, const struct store_dirent *e,
		       const char *dest)
{
	char target[PATH_MAX];
	int rc;

	rc = refuse_existing(g, dest);
	if (rc < 0)
		return rc;
	rc = store_symlink_read(g->ctx->store, e->digest, target,
				sizeof(target));
	if (rc < 0)
		return rc;
	if (g->ctx->force)
		fs_file_unlink(g->ctx, dest, false);
	rc = fs_file_symlink(g->ctx, target, dest);
	if (rc)
		return sys_fail(rc, "cannot create symlink", dest);
	return keep_mtime(g, dest, -1);
}

static int get_entry(struct get *g, const struct store_dirent *e,
		     const char *dest);

/* Fills the existing directory dest with the entries of e. */
static int get_dir_contents(struct get *g, const struct store_dirent *e,
			    const char *dest)
{
	struct store_dirent *ents = NULL;
	char child[PATH_MAX];
	size_t i, n;
	int rc;

	rc = fs_dir_list(g->ctx->store, e->digest, &ents, &n);
	for (i = 0; rc == 0 && i < n; i++) {
		if ((size_t)snprintf(child, sizeof(child), "%s/%s", dest,
				     ents[i].name) >= sizeof(child)) {
			store_log(STORE_LOG_ERR, "get: path too long: %s/%s",
				  dest, ents[i].name);
			rc = -ENAMETOOLONG;
			break;
		}
		if (fs_cancelled(g->ctx))
			rc = -ECANCELED;
		else
			rc = get_entry(g, &ents[i], child);
	}
	free(ents);
	return rc;
}

/* Gives the directory dest the mode of e (the root keeps mkdir's) and
 * its mtime, once it is full. */
static int dir_mode(struct get *g, const struct store_dirent *e,
		    const char *dest)
{
	int fd, rc = 0;

	fd = fs_file_open(g->ctx, dest, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
	if (fd < 0)
		return sys_fail(fd, "cannot chmod", dest);
	if (e != g->root && fchmod(fd, e->mode & 07777) < 0)
		rc = sys_fail(-errno, "cannot chmod", dest);
	if (rc == 0)
		rc = keep_mtime(g, dest, fd);
	close(fd);
	return rc;
}

static int get_entry(struct get *g, const struct store_dirent *e,
		     const char *dest)
{
	struct stat st;
	int rc;

	switch (e->kind) {
	case STORE_KIND_FILE:
		return get_file(g, e, dest);
	case STORE_KIND_SYMLINK:
		return get_symlink(g, e, dest);
	case STORE_KIND_DIR:
		break;
	default:
		store_log(STORE_LOG_ERR, "get: %s: unknown entry kind %d", dest,
			  (int)e->kind);
		return -EIO;
	}
	/* Writable while filling; its own mode is set once it is full. */
	rc = fs_file_mkdir(g->ctx, dest, e == g->root ? 0777 : 0700);
	if (rc == -EEXIST && g->ctx->force &&
	    fs_file_stat(g->ctx, dest, true, &st) == 0 && S_ISDIR(st.st_mode))
		rc = 0;
	if (rc)
		return sys_fail(rc, "cannot create directory", dest);
	rc = get_dir_contents(g, e, dest);
	return rc ? rc : dir_mode(g, e, dest);
}

/* Removes what a failed get left at path (best effort). */
static void rm_tree(struct fs_ctx *ctx, const char *path, int depth)
{
	struct dirent *d;
	char *child;
	DIR *dir;
	int fd;

	if (fs_file_unlink(ctx, path, false) != -EISDIR || depth > 256)
		return;
	fd = fs_file_open(ctx, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
	dir = fd >= 0 ? fdopendir(fd) : NULL;
	if (!dir && fd >= 0)
		close(fd);
	while (dir && (d = readdir(dir))) {
		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		if (asprintf(&child, "%s/%s", path, d->d_name) < 0)
			break;
		rm_tree(ctx, child, depth + 1);
		free(child);
	}
	if (dir)
		closedir(dir);
	fs_file_unlink(ctx, path, true);
}

/* A whole new tree: built beside dest under a temporary name. */
static int get_new_tree(struct get *g, const struct store_dirent *root,
			const char *dest)
{
	char *tmp = NULL;
	int rc = -EEXIST;

	for (int tries = 0; rc == -EEXIST && tries < 16; tries++) {
		free(tmp);
		tmp = NULL;
		rc = tmp_name(dest, &tmp);
		if (!rc)
			rc = fs_file_mkdir(g->ctx, tmp,
					   root == g->root ? 0777 : 0700);
	}
	if (rc) {
		rc = sys_fail(rc, "cannot create", dest);
		goto out_free_tmp;
	}
	g->top = tmp;
	rc = get_dir_contents(g, root, tmp);
	if (rc == 0)
		rc = dir_mode(g, root, tmp);
	if (rc == 0) {
		rc = fs_file_rename(g->ctx, tmp, dest);
		if (rc)
			sys_fail(rc, "cannot rename to", dest);
	}
	if (rc < 0)
		rm_tree(g->ctx, tmp, 0);
out_free_tmp:
	free(tmp);
	return rc;
}

static uint64_t tree_bytes(struct store *s, const struct store_dirent *e)
{
	struct store_dirent *ents = NULL;
	uint64_t sum = 0;
	size_t i, n;

	if (e->kind == STORE_KIND_FILE)
		return e->size;
	if (e->kind != STORE_KIND_DIR || fs_dir_list(s, e->digest, &ents, &n))
		return 0;
	for (i = 0; i < n; i++)
		sum += tree_bytes(s, &ents[i]);
	free(ents);
	return sum;
}

static int get_target(struct get *g, struct fs_target *t, const char *dest)
{
	char *into = NULL;
	struct stat st;
	int rc;

	/* A file into an existing directory keeps its name, like cp. */
	if (t->e.kind != STORE_KIND_DIR &&
	    fs_file_stat(g->ctx, dest, true, &st) == 0 && S_ISDIR(st.st_mode) &&
	    t->e.name[0]) {
		if (asprintf(&into, "%s/%s", dest, t->e.name) < 0)
			return -ENOMEM;
		dest = into;
	}
	g->top = dest;
	if (t->e.kind == STORE_KIND_DIR) {
		rc = refuse_existing(g, dest);
		if (rc == 0 && fs_file_stat(g->ctx, dest, false, &st) == 0)
			rc = get_entry(g, &t->e, dest); /* --force: merge */
		else if (rc == 0)
			rc = get_new_tree(g, &t->e, dest);
	} else {
		rc = get_entry(g, &t->e, dest);
	}
	free(into);
	return rc;
}

int fs_cmd_get(struct fs_ctx *ctx, int argc, char **argv)
{
	struct fs_target t;
	struct get g = {ctx, {0}, NULL, &t, ""};
	uint64_t total;
	int rc;

	(void)argc;
	rc = fs_target_resolve(ctx, argv[0], &t);
	if (rc == 0)
		rc = single_file(ctx, &t);
	if (rc < 0)
		goto out_release;
	if (!t.path[0] && t.e.kind == STORE_KIND_DIR)
		g.root = &t.e; /* no mode of its own: as mkdir would */
	total = t.path[0] || t.e.kind != STORE_KIND_DIR
		    ? tree_bytes(ctx->store, &t.e)
		    : t.v.size;
	fs_progress_init(&g.prog, "get", total, ctx->quiet);
	ctx->subject = argv[1];
	rc = get_target(&g, &t, argv[1]);
	fs_progress_end(&g.prog);
out_release:
	fs_target_release(&t);
	return rc;
}
