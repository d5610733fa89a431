/*
 * fs/base/config.c - the configuration file (libconfig) and where the store is.
 *
 * The file is optional: --config FILE must exist, FS_SYSTEM_CONFIG is
 * read only when present.  Every setting is checked for its type, and an
 * unknown setting is an error, so a typo never silently falls back to a
 * default.  Each error is one line naming the file and the line.
 *
 *     store = "/srv/artifactfs";
 *     chunk: { min = 65536; avg = 262144; max = 1048576; };
 *     zstd_level = 3;
 *     threads = 0;
 *     min_saving_pct = 5;
 *     roles = ( { role = "reader"; user = "analyst"; scope = "/artifacts"; },
 *               { role = "writer"; group = "ml-team"; } );
 *
 * `roles` seeds role bindings that `init` applies (fs_config_roles); each
 * entry is checked whenever the file is loaded, users and groups
 * included, so a binding that could not be made is an error at once.
 *
 *     audit: { checkpoint_records = 1000; checkpoint_seconds = 300;
 *              checkpoint_dir = "/var/lib/artifactfs-checkpoints"; };
 *
 *     retention = ( { scope = "/artifacts/model"; keep_last = 5;
 *                     keep_younger = "30d"; },
 *                   { artifact = "dataset"; keep_last = 2; } );
 *
 * `retention` rules go to ctx->retain, for gc (store_gc_retain); a
 * duration is a number with s, m, h, d or w.
 *
 *     gc_grace = "1h";
 *
 * A store in RADOS: gc keeps what was put less than this long ago
 * (store_options.gc_grace_s).
 *
 * No libconfig type leaves this file.
 */
#include <errno.h>
#include <libconfig.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base.h"

/* The largest configuration file read (a caller's --config). */
#define CONFIG_MAX (1 << 20)

/* One integer setting and where its value goes. */
struct int_setting {
	const char *path; /* "chunk.min" */
	long long min, max;
	uint32_t *u32;
	unsigned *uns;
	int *i;
};

static int config_fail(struct fs_ctx *ctx, const char *file, int line,
		       const char *fmt, const char *what)
{
	char msg[512];

	snprintf(msg, sizeof(msg), fmt, what);
	store_log(STORE_LOG_ERR, "%s:%d: %s", file, line, msg);
	ctx->exit_code = FS_EXIT_USAGE;
	return -EINVAL;
}

static int read_error(struct fs_ctx *ctx, const config_t *cfg, const char *path)
{
	if (config_error_type(cfg) == CONFIG_ERR_FILE_IO) {
		int err = errno ? errno : EIO;

		store_log(STORE_LOG_ERR, "cannot read config %s: %s", path,
			  strerror(err));
		ctx->exit_code = FS_EXIT_USAGE;
		return -EINVAL;
	}
	return config_fail(
	    ctx, config_error_file(cfg) ? config_error_file(cfg) : path,
	    config_error_line(cfg), "%s", config_error_text(cfg));
}

/* Refuses an @include directive in text that a caller gave: libconfig
 * would open the named file itself, with this process's rights (the
 * mount daemon's, for a client), not the caller's, and would block on a
 * FIFO or read /dev/zero without end.  libconfig takes the directive at
 * the start of a line, after blanks; this looks there, in any case. */
static int refuse_include(struct fs_ctx *ctx, const char *text,
			  const char *path)
{
	const char *p = text;
	int line = 1;

	while (*p) {
		p += strspn(p, " \t\r\f\v");
		if (!strncasecmp(p, "@include", 8))
			return config_fail(ctx, path, line, "%s",
					   "@include is not allowed in a "
					   "configuration file given with "
					   "--config");
		p = strchr(p, '\n');
		if (!p)
			break;
		p++;
		line++;
	}
	return 0;
}

/* Parses the file at path into cfg: a file the caller named (--config)
 * is read with the caller's rights (fs_file_read_all) and may include
 * nothing, the system file by this process.  Returns 0 or what
 * read_error says. */
static int read_config(struct fs_ctx *ctx, config_t *cfg, const char *path)
{
	size_t len;
	char *text;
	int rc;

	errno = 0;
	if (!ctx->config_arg || path != ctx->config_arg)
		return config_read_file(cfg, path) ? 0
						   : read_error(ctx, cfg, path);
	rc = fs_file_read_all(ctx, path, CONFIG_MAX, &text, &len);
	if (rc) {
		if (rc != -EINVAL)
			store_log(STORE_LOG_ERR, "cannot read config %s: %s",
				  path, strerror(-rc));
		ctx->exit_code = FS_EXIT_USAGE;
		return -EINVAL;
	}
	rc = refuse_include(ctx, text, path);
	if (!rc)
		rc = config_read_string(cfg, text) ? 0
						   : read_error(ctx, cfg, path);
	free(text);
	return rc;
}

/* The names of a group's settings ("chunk", "audit"); NULL ends it. */
struct group {
	const char *name;
	const char *const *keys;
};

static const char *const chunk_keys[] = {"min", "avg", "max", NULL};
static const char *const audit_keys[] = {
    "checkpoint_records", "checkpoint_seconds", "checkpoint_dir", NULL};
static const struct group groups[] = {{"chunk", chunk_keys},
				      {"audit", audit_keys}};

static bool known(const char *const *keys, const char *name)
{
	for (; *keys; keys++)
		if (!strcmp(*keys, name))
			return true;
	return false;
}

/* Every setting of group g must be one of its keys. */
static int check_group(struct fs_ctx *ctx, const config_t *cfg,
		       const char *path, const struct group *g)
{
	config_setting_t *grp = config_lookup(cfg, g->name);
	char what[128];
	int i, n;

	if (!grp)
		return 0;
	if (!config_setting_is_group(grp))
		return config_fail(ctx, path, config_setting_source_line(grp),
				   "'%s' must be a group { name = value; ... }",
				   g->name);
	for (i = 0, n = config_setting_length(grp); i < n; i++) {
		config_setting_t *s = config_setting_get_elem(grp, i);

		if (known(g->keys, config_setting_name(s)))
			continue;
		snprintf(what, sizeof(what), "%s.%s", g->name,
			 config_setting_name(s));
		return config_fail(ctx, path, config_setting_source_line(s),
				   "unknown setting '%s'", what);
	}
	return 0;
}

/* Refuses settings this version does not know (typos, mostly). */
static int check_known(struct fs_ctx *ctx, const config_t *cfg,
		       const char *path)
{
	static const char *const top[] = {
	    "store", "chunk", "zstd_level", "threads",	"min_saving_pct",
	    "audit", "roles", "retention",  "gc_grace", NULL};
	config_setting_t *root = config_root_setting(cfg);
	int i, n, rc = 0;
	size_t k;

	for (i = 0, n = config_setting_length(root); i < n; i++) {
		config_setting_t *s = config_setting_get_elem(root, i);

		if (!known(top, config_setting_name(s)))
			return config_fail(
			    ctx, path, config_setting_source_line(s),
			    "unknown setting '%s'", config_setting_name(s));
	}
	for (k = 0; !rc && k < sizeof(groups) / sizeof(groups[0]); k++)
		rc = check_group(ctx, cfg, path, &groups[k]);
	return rc;
}

static int read_int(struct fs_ctx *ctx, const config_t *cfg, const char *path,
		    const struct int_setting *is)
{
	config_setting_t *s = config_lookup(cfg, is->path);
	long long v;

	if (!s)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64)
		return config_fail(ctx, path, config_setting_source_line(s),
				   "'%s' must be an integer", is->path);
	v = config_setting_get_int64(s);
	if (v < is->min || v > is->max)
		return config_fail(ctx, path, config_setting_source_line(s),
				   "'%s' is out of range", is->path);
	if (is->u32)
		*is->u32 = (uint32_t)v;
	else if (is->uns)
		*is->uns = (unsigned)v;
	else
		*is->i = (int)v;
	return 0;
}

/* An absolute directory path (the mount daemon works from "/"); *out
 * (replaced) gets a copy. */
static int read_dir(struct fs_ctx *ctx, const config_t *cfg, const char *path,
		    const char *name, char **out)
{
	config_setting_t *s = config_lookup(cfg, name);

	if (!s)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_STRING ||
	    config_setting_get_string(s)[0] != '/')
		return config_fail(ctx, path, config_setting_source_line(s),
				   "'%s' must be an absolute path", name);
	free(*out);
	*out = strdup(config_setting_get_string(s));
	return *out ? 0 : -ENOMEM;
}

static int64_t duration_ns(const char *t);

/* gc_grace: a duration (as retention's) of at most a week, in seconds. */
static int read_grace(struct fs_ctx *ctx, const config_t *cfg, const char *path,
		      uint32_t *out)
{
	config_setting_t *s = config_lookup(cfg, "gc_grace");
	int64_t ns;

	if (!s)
		return 0;
	ns = config_setting_type(s) == CONFIG_TYPE_STRING
		 ? duration_ns(config_setting_get_string(s))
		 : -1;
	if (ns < 0 || ns > 604800LL * 1000000000)
		return config_fail(ctx, path, config_setting_source_line(s),
				   "'%s' must be a duration up to a week, as "
				   "\"1h\"",
				   "gc_grace");
	*out = (uint32_t)(ns / 1000000000);
	return 0;
}

static int read_settings(struct fs_ctx *ctx, const config_t *cfg,
			 const char *path, char **store_out)
{
	struct store_options *o = &ctx->opt;
	const struct int_setting ints[] = {
	    {"chunk.min", 0, UINT32_MAX, &o->chunk_min, NULL, NULL},
	    {"chunk.avg", 0, UINT32_MAX, &o->chunk_avg, NULL, NULL},
	    {"chunk.max", 0, UINT32_MAX, &o->chunk_max, NULL, NULL},
	    {"zstd_level", 0, 22, NULL, NULL, &o->zstd_level},
	    {"threads", 0, 4096, NULL, &o->threads, NULL},
	    {"min_saving_pct", 0, 100, NULL, &o->min_saving_pct, NULL},
	    {"audit.checkpoint_records", 0, UINT32_MAX,
	     &ctx->checkpoint_records, NULL, NULL},
	    {"audit.checkpoint_seconds", 0, UINT32_MAX,
	     &ctx->checkpoint_seconds, NULL, NULL},
	};
	config_setting_t *s;
	size_t k;
	int rc;

	for (k = 0; k < sizeof(ints) / sizeof(ints[0]); k++) {
		rc = read_int(ctx, cfg, path, &ints[k]);
		if (rc < 0)
			return rc;
	}
	rc = read_dir(ctx, cfg, path, "audit.checkpoint_dir",
		      &ctx->checkpoint_dir);
	if (rc < 0)
		return rc;
	rc = read_grace(ctx, cfg, path, &o->gc_grace_s);
	if (rc < 0)
		return rc;
	s = config_lookup(cfg, "store");
	if (!s)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_STRING ||
	    !config_setting_get_string(s)[0])
		return config_fail(ctx, path, config_setting_source_line(s),
				   "'%s' must be a non-empty string", "store");
	*store_out = strdup(config_setting_get_string(s));
	return *store_out ? 0 : -ENOMEM;
}

/* ---------------------------------------------------------------- roles */

/* A string member of a roles entry: NULL when absent, or an error. */
static int role_str(struct fs_ctx *ctx, const char *path,
		    config_setting_t *entry, const char *name, const char **out)
{
	config_setting_t *m = config_setting_get_member(entry, name);

	*out = NULL;
	if (!m)
		return 0;
	if (config_setting_type(m) != CONFIG_TYPE_STRING ||
	    !config_setting_get_string(m)[0])
		return config_fail(ctx, path, config_setting_source_line(m),
				   "roles: '%s' must be a non-empty string",
				   name);
	*out = config_setting_get_string(m);
	return 0;
}

/* Refuses members of a roles entry other than role, user, group, scope. */
static int role_members(struct fs_ctx *ctx, const char *path,
			config_setting_t *entry)
{
	static const char *const known[] = {"role", "user", "group", "scope"};
	int i, n = config_setting_length(entry);
	size_t k;

	for (i = 0; i < n; i++) {
		config_setting_t *m = config_setting_get_elem(entry, i);

		for (k = 0; k < sizeof(known) / sizeof(known[0]); k++)
			if (!strcmp(config_setting_name(m), known[k]))
				break;
		if (k == sizeof(known) / sizeof(known[0]))
			return config_fail(ctx, path,
					   config_setting_source_line(m),
					   "roles: unknown setting '%s' (role, "
					   "user, group, scope)",
					   config_setting_name(m));
	}
	return 0;
}

/* Checks one entry of `roles` into *out (strings borrowed from cfg). */
static int role_entry(struct fs_ctx *ctx, const char *path, config_setting_t *e,
		      struct fs_role_seed *out)
{
	const char *user, *group;
	char who[ACL_NAME_MAX + 2], msg[ACL_NAME_MAX + 64];
	int line = config_setting_source_line(e), rc;

	if (!config_setting_is_group(e))
		return config_fail(ctx, path, line, "%s",
				   "roles: each entry is a group { role = "
				   "\"reader\"; user = \"name\"; scope = "
				   "\"/path\"; }");
	rc = role_members(ctx, path, e);
	if (!rc)
		rc = role_str(ctx, path, e, "role", &out->role);
	if (!rc)
		rc = role_str(ctx, path, e, "user", &user);
	if (!rc)
		rc = role_str(ctx, path, e, "group", &group);
	if (!rc)
		rc = role_str(ctx, path, e, "scope", &out->scope);
	if (rc)
		return rc;
	if (!out->role)
		return config_fail(ctx, path, line, "%s",
				   "roles: an entry without 'role'");
	if (!acl_role_valid(out->role))
		return config_fail(ctx, path, line,
				   "roles: unknown role '%s' (reader, writer, "
				   "promoter, auditor or admin)",
				   out->role);
	if (!user == !group)
		return config_fail(ctx, path, line, "%s",
				   "roles: an entry names either a 'user' or a "
				   "'group'");
	if (!out->scope)
		out->scope = "/";
	if (store_binding_scope_check(out->scope))
		return config_fail(ctx, path, line,
				   "roles: bad scope '%.200s' (an absolute "
				   "path like /pipelines/train, no trailing "
				   "'/')",
				   out->scope);
	snprintf(who, sizeof(who), "%s%.*s", group ? "@" : "", ACL_NAME_MAX,
		 group ? group : user);
	rc = (group ? group : user)[0] == '@'
		 ? -EINVAL
		 : acl_principal_parse(who, out->principal);
	if (rc == -ENOMEM)
		return rc;
	if (rc) {
		snprintf(msg, sizeof(msg), "roles: %s %s",
			 group ? "group" : "user",
			 rc == -ENOENT ? "'%s' does not exist"
				       : "'%s' is not valid");
		return config_fail(ctx, path, line, msg, group ? group : user);
	}
	out->line = line;
	out->file = path;
	return 0;
}

/* Checks `roles` and calls fn (may be NULL: only check) for each entry. */
static int read_roles(struct fs_ctx *ctx, const config_t *cfg, const char *path,
		      int (*fn)(void *arg, const struct fs_role_seed *r),
		      void *arg)
{
	config_setting_t *list = config_lookup(cfg, "roles");
	int i, n, rc;

	if (!list)
		return 0;
	if (!config_setting_is_list(list))
		return config_fail(
		    ctx, path, config_setting_source_line(list), "%s",
		    "'roles' must be a list ( { role = ...; user "
		    "= ...; }, ... )");
	for (i = 0, n = config_setting_length(list); i < n; i++) {
		struct fs_role_seed r = {0};

		rc =
		    role_entry(ctx, path, config_setting_get_elem(list, i), &r);
		if (!rc && fn)
			rc = fn(arg, &r);
		if (rc)
			return rc;
	}
	return 0;
}

/* ------------------------------------------------------------ retention */

/* "30d" into ns; -1 when malformed. */
static int64_t duration_ns(const char *t)
{
	static const struct {
		char c;
		int64_t s;
	} units[] = {
	    {'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 604800}};
	char *end;
	long long n = strtoll(t, &end, 10);

	if (end == t || n <= 0 || n > 100000 || end[0] == '\0' || end[1])
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (units[i].c == end[0])
			return (int64_t)n * units[i].s * 1000000000;
	}
	return -1;
}

/* The scopes a rule may name: "/", "/artifacts[/NAME]", "/pipelines/NAME". */
static bool retain_scope_ok(const char *sc)
{
	const char *name = NULL;

	if (store_binding_scope_check(sc) ||
	    strlen(sc) > STORE_RETAIN_SCOPE_MAX)
		return false;
	if (!strcmp(sc, "/") || !strcmp(sc, "/artifacts"))
		return true;
	if (!strncmp(sc, "/artifacts/", 11) || !strncmp(sc, "/pipelines/", 11))
		name = sc + 11;
	return name && !strchr(name, '/');
}

/* One entry of `retention` into *r. */
static int retain_entry(struct fs_ctx *ctx, const char *path,
			config_setting_t *e, struct store_retain_rule *r)
{
	static const char *const keys[] = {"scope", "artifact", "keep_last",
					   "keep_younger", NULL};
	int line = config_setting_source_line(e), last = 0;
	const char *scope = NULL, *art = NULL, *young = NULL;

	if (!config_setting_is_group(e))
		return config_fail(
		    ctx, path, line, "%s",
		    "retention: each entry is a group { scope = "
		    "...; keep_last = N; keep_younger = \"30d\"; }");
	for (int i = 0; i < config_setting_length(e); i++) {
		const char *k =
		    config_setting_name(config_setting_get_elem(e, i));

		if (!known(keys, k))
			return config_fail(ctx, path, line,
					   "retention: unknown setting '%s' "
					   "(scope, artifact, keep_last, "
					   "keep_younger)",
					   k);
	}
	config_setting_lookup_string(e, "scope", &scope);
	config_setting_lookup_string(e, "artifact", &art);
	config_setting_lookup_string(e, "keep_younger", &young);
	if (config_setting_lookup(e, "keep_last") &&
	    (!config_setting_lookup_int(e, "keep_last", &last) || last < 0))
		return config_fail(
		    ctx, path, line, "%s",
		    "retention: keep_last must be a number >= 0");
	if (!scope == !art)
		return config_fail(ctx, path, line, "%s",
				   "retention: an entry names either a 'scope' "
				   "or an 'artifact'");
	if (art && store_name_check(art, strlen(art)))
		return config_fail(ctx, path, line,
				   "retention: bad artifact name '%.200s'",
				   art);
	if (scope && !retain_scope_ok(scope))
		return config_fail(ctx, path, line,
				   "retention: bad scope '%.200s' (\"/\", "
				   "/artifacts[/NAME] or /pipelines/NAME)",
				   scope);
	r->keep_younger = young ? duration_ns(young) : 0;
	if (r->keep_younger < 0)
		return config_fail(ctx, path, line,
				   "retention: bad keep_younger '%.100s' (a "
				   "number with s, m, h, d or w: \"30d\")",
				   young);
	if (!last && !young)
		return config_fail(ctx, path, line, "%s",
				   "retention: an entry keeps something: "
				   "keep_last, keep_younger or both");
	r->keep_last = (uint32_t)last;
	snprintf(r->scope, sizeof(r->scope), "%s%s", art ? "/artifacts/" : "",
		 art ? art : scope);
	return 0;
}

/* Checks `retention` into ctx->retain (replacing what was there). */
static int read_retention(struct fs_ctx *ctx, const config_t *cfg,
			  const char *path)
{
	config_setting_t *list = config_lookup(cfg, "retention");
	struct store_retain_rule *r;
	int n, rc = 0;

	if (!list)
		return 0;
	if (!config_setting_is_list(list))
		return config_fail(ctx, path, config_setting_source_line(list),
				   "%s",
				   "'retention' must be a list ( { scope = "
				   "...; keep_last = N; }, ... )");
	n = config_setting_length(list);
	r = calloc((size_t)n + 1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	for (int i = 0; i < n && !rc; i++)
		rc = retain_entry(ctx, path, config_setting_get_elem(list, i),
				  &r[i]);
	if (rc) {
		free(r);
		return rc;
	}
	free(ctx->retain);
	ctx->retain = r;
	ctx->nretain = (size_t)n;
	return 0;
}

/* Checks the parsed cfg (from path) into ctx->opt and ctx->checkpoint_*;
 * *store_out gets its `store`. */
static int decode(struct fs_ctx *ctx, const config_t *cfg, const char *path,
		  char **store_out)
{
	int rc = check_known(ctx, cfg, path);

	if (rc < 0)
		return rc;
	rc = read_settings(ctx, cfg, path, store_out);
	if (!rc)
		rc = read_roles(ctx, cfg, path, NULL, NULL);
	if (!rc)
		rc = read_retention(ctx, cfg, path);
	return rc;
}

/* Reads the file at path into ctx->opt; *store_out gets its `store`. */
static int load_file(struct fs_ctx *ctx, const char *path, char **store_out)
{
	config_t cfg;
	int rc;

	config_init(&cfg);
	rc = read_config(ctx, &cfg, path);
	if (!rc)
		rc = decode(ctx, &cfg, path, store_out);
	config_destroy(&cfg);
	return rc;
}

int fs_config_parse_text(struct fs_ctx *ctx, const char *text, const char *name,
			 char **store_out)
{
	config_t cfg;
	int rc;

	*store_out = NULL;
	config_init(&cfg);
	rc = refuse_include(ctx, text, name);
	if (!rc)
		rc = config_read_string(&cfg, text)
			 ? 0
			 : read_error(ctx, &cfg, name);
	if (!rc)
		rc = decode(ctx, &cfg, name, store_out);
	config_destroy(&cfg);
	if (rc < 0) {
		free(*store_out);
		*store_out = NULL;
	}
	return rc;
}

static char *default_store(void)
{
	const char *home = getenv("HOME");
	struct passwd *pw;
	char *dir;

	if (!home || !home[0]) {
		pw = getpwuid(getuid());
		if (!pw || !pw->pw_dir || !pw->pw_dir[0]) {
			store_log(STORE_LOG_ERR,
				  "no home directory for the default store; "
				  "use --store DIR or ARTIFACTFS_STORE");
			errno = ENOENT;
			return NULL;
		}
		home = pw->pw_dir;
	}
	if (asprintf(&dir, "%s/%s", home, FS_DEFAULT_STORE) < 0) {
		errno = ENOMEM;
		return NULL;
	}
	return dir;
}

static int resolve_store(struct fs_ctx *ctx, char *from_file)
{
	const char *env = getenv("ARTIFACTFS_STORE");
	const char *dir = NULL;

	if (ctx->store_arg && ctx->store_arg[0])
		dir = ctx->store_arg;
	else if (env && env[0])
		dir = env;
	else if (from_file)
		dir = from_file;
	if (dir && dir[0] != '/') {
		/* Absolute from here on: the mount daemon leaves the
		 * working directory for /, and a relative --store would
		 * name another directory there. */
		char cwd[PATH_MAX], *abs = realpath(dir, NULL);

		if (abs) {
			ctx->store_dir = abs;
			return 0;
		}
		/* Not there yet (init makes it). */
		if (!getcwd(cwd, sizeof(cwd)))
			return -errno;
		if (asprintf(&abs, "%s/%s", cwd, dir) < 0)
			return -ENOMEM;
		ctx->store_dir = abs;
		return 0;
	}
	ctx->store_dir = dir ? strdup(dir) : default_store();
	return ctx->store_dir ? 0 : -errno;
}

/* The file to read: --config, else the system file when it exists. */
static const char *config_path(const struct fs_ctx *ctx)
{
	if (ctx->config_arg)
		return ctx->config_arg;
	return access(FS_SYSTEM_CONFIG, F_OK) == 0 ? FS_SYSTEM_CONFIG : NULL;
}

int fs_config_roles(struct fs_ctx *ctx,
		    int (*fn)(void *arg, const struct fs_role_seed *r),
		    void *arg)
{
	const char *path = config_path(ctx);
	config_t cfg;
	int rc;

	if (!path)
		return 0;
	config_init(&cfg);
	rc = read_config(ctx, &cfg, path);
	if (!rc)
		rc = read_roles(ctx, &cfg, path, fn, arg);
	config_destroy(&cfg);
	return rc;
}

int fs_config_load(struct fs_ctx *ctx)
{
	const char *path = config_path(ctx);
	char *from_file = NULL;
	int rc;

	store_options_init(&ctx->opt);
	ctx->checkpoint_records = FS_CHECKPOINT_RECORDS;
	ctx->checkpoint_seconds = FS_CHECKPOINT_SECONDS;
	free(ctx->checkpoint_dir);
	ctx->checkpoint_dir = NULL;
	if (!path && access(FS_SYSTEM_CONFIG, F_OK) == 0)
		path = FS_SYSTEM_CONFIG;
	if (path) {
		rc = load_file(ctx, path, &from_file);
		if (rc < 0)
			goto out_free;
		/* The store says which field is wrong; name the file. */
		fs_log_prefix(path);
		rc = store_options_check(&ctx->opt);
		fs_log_prefix(NULL);
		if (rc < 0) {
			ctx->exit_code = FS_EXIT_USAGE;
			goto out_free;
		}
	}
	free(ctx->store_dir);
	rc = resolve_store(ctx, from_file);
out_free:
	free(from_file);
	return rc;
}
