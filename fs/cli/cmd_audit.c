/*
 * cmd_audit.c - `artifactfs audit verify|query|checkpoint|export`: the
 * audit journal.
 *
 * verify walks the whole HMAC chain with the journal key and names the
 * first record that was changed, removed, reordered or inserted; query
 * lists records by user, op, path prefix, time and outcome.  checkpoint
 * and export write documents signed by acl/ (signed.c: what they prove
 * and how) to files of the caller's, and verify --anchor and --export
 * check them; verify --export with a --pubkey needs no store, which is
 * why this command opens the store itself.  Every file named here is
 * read and written with the caller's rights (fs_file_*).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "acl.h"
#include "cli_i.h"

/* Largest export verified or written (read whole to hash it). */
#define EXPORT_MAX (1ULL << 30)

/* ------------------------------------------------------------- helpers */

/* Writes p[0..len) to the caller's file path, replacing it.  -errno,
 * -EIO; logged. */
static int write_bytes(struct fs_ctx *ctx, const char *path, const void *p,
		       size_t len)
{
	int fd = fs_file_open(ctx, path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	int rc = fd < 0 ? fd : fs_write_all(fd, p, len);

	if (fd >= 0 && close(fd) < 0 && !rc)
		rc = -errno;
	if (rc)
		store_log(STORE_LOG_ERR, "cannot write %s: %s", path,
			  strerror(-rc));
	return rc;
}

/* ------------------------------------------------------------- query */

struct query {
	const char *user, *op, *path;
	int64_t since, until; /* ns; 0 = open */
	bool denied, json;
	json_t *arr;
	unsigned long n;
};

/* "2026-11-26", "2026-11-26T20:30:00Z" or seconds since the epoch. */
static int parse_time(const char *s, int64_t *out)
{
	struct tm tm = {0};
	char *end;
	long long secs = strtoll(s, &end, 10);

	if (*end == '\0') {
		*out = secs * 1000000000LL;
		return 0;
	}
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end)
		end = strptime(s, "%Y-%m-%d", &tm);
	if (!end || (*end && strcmp(end, "Z")))
		return -EINVAL;
	*out = (int64_t)timegm(&tm) * 1000000000LL;
	return 0;
}

static bool query_match(const struct query *q,
			const struct store_audit_entry *e)
{
	return !((q->user && strcmp(q->user, e->user)) ||
		 (q->op && strcmp(q->op, e->op)) ||
		 (q->path && strncmp(q->path, e->path, strlen(q->path))) ||
		 (q->since && e->time < q->since) ||
		 (q->until && e->time > q->until) || (q->denied && !e->result));
}

/* A record as JSON (query --json, export).  New reference, NULL on
 * ENOMEM. */
static json_t *entry_json(const struct store_audit_entry *e)
{
	char when[FS_TIME_STR_LEN];

	fs_time_iso(e->time, when);
	return json_pack("{s:I, s:s, s:I, s:s, s:I, s:s, s:s, s:s, s:I, s:i}",
			 "seq", (json_int_t)e->seq, "time", when, "uid",
			 (json_int_t)e->uid, "user", e->user, "pid",
			 (json_int_t)e->pid, "op", e->op, "path", e->path,
			 "digest", e->digest, "bytes", (json_int_t)e->bytes,
			 "result", e->result);
}

static int print_entry(void *arg, const struct store_audit_entry *e)
{
	struct query *q = arg;
	char when[FS_TIME_STR_LEN];

	if (!query_match(q, e))
		return 0;
	q->n++;
	if (q->arr)
		return json_array_append_new(q->arr, entry_json(e)) ? -ENOMEM
								    : 0;
	fs_time_iso(e->time, when);
	fprintf(fs_stdout(), "%6llu  %s  %-10s %-16s %s%s%s\n",
		(unsigned long long)e->seq, when, e->user, e->op, e->path,
		e->result ? "  DENIED/FAILED: " : "",
		e->result ? strerror(e->result) : "");
	return 0;
}

static int query_opts_locked(struct fs_ctx *ctx, int argc, char **argv,
			     struct query *q)
{
	static const struct option opts[] = {
	    {"user", required_argument, NULL, 'u'},
	    {"op", required_argument, NULL, 'o'},
	    {"path", required_argument, NULL, 'p'},
	    {"since", required_argument, NULL, 's'},
	    {"until", required_argument, NULL, 'U'},
	    {"denied", no_argument, NULL, 'd'},
	    {"json", no_argument, NULL, 'j'},
	    {0, 0, 0, 0}};
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'u')
			q->user = optarg;
		else if (c == 'o')
			q->op = optarg;
		else if (c == 'p')
			q->path = optarg;
		else if (c == 'd')
			q->denied = true;
		else if (c == 'j')
			q->json = true;
		else if ((c == 's' || c == 'U') &&
			 !parse_time(optarg, c == 's' ? &q->since : &q->until))
			continue;
		else
			return fs_usage_error(ctx, "audit query [--user U] "
						   "[--op OP] [--path P] "
						   "[--since T] [--until T] "
						   "[--denied] [--json]");
	}
	return optind == argc ? 0 : fs_usage_error(ctx, "too many arguments");
}

/* query_opts_locked under the getopt lock (requests run side by side). */
static int query_opts(struct fs_ctx *ctx, int argc, char **argv,
		      struct query *q)
{
	int rc;

	fs_getopt_lock();
	rc = query_opts_locked(ctx, argc, argv, q);
	fs_getopt_unlock();
	return rc;
}

/* Opens the store (or forwards to the daemon: 1) for an auditor or an
 * admin: the journal is theirs to read. */
static int audit_open(struct fs_ctx *ctx, const char *op)
{
	int rc = fs_open_store(ctx);

	return rc ? rc : fs_authorize(ctx, ACL_AUDIT, "/audit", op);
}

static int audit_query(struct fs_ctx *ctx, int argc, char **argv)
{
	struct query q = {0};
	int rc = query_opts(ctx, argc, argv, &q);

	if (!rc)
		rc = audit_open(ctx, "audit.query");
	if (rc)
		return rc < 0 ? rc : 0;
	if (q.json || ctx->json)
		q.arr = json_array();
	rc = store_audit_each(ctx->store, 0, print_entry, &q);
	if (!rc && q.arr)
		return fs_json_print(q.arr);
	json_decref(q.arr);
	return rc;
}

/* -------------------------------------------------------- checkpoints */

/* audit checkpoint OUT: signs the verified head into OUT. */
static int audit_checkpoint(struct fs_ctx *ctx, const char *out)
{
	char pub[ACL_PATH_MAX], *text = NULL;
	uint8_t hash[STORE_DIGEST_LEN];
	uint64_t seq = 0, checked;
	size_t len = 0;
	int rc = audit_open(ctx, "audit.checkpoint");

	if (rc)
		return rc < 0 ? rc : 0;
	/* The head first: the verification after it covers its record. */
	rc = store_audit_head(ctx->store, &seq, hash);
	if (!rc)
		rc = acl_journal_verify(ctx->store, &checked);
	if (!rc)
		rc = acl_checkpoint_sign(ctx->store, seq, hash, pub, &text,
					 &len);
	if (!rc)
		rc = fs_file_write_whole(ctx, out, text, len);
	if (!rc)
		fprintf(fs_stdout(),
			"checkpoint of record %llu written to %s\n"
			"public key: %s\n",
			(unsigned long long)seq, out, pub);
	free(text);
	return rc;
}

/* audit verify --anchor FILE [--pubkey KEY] */
static int verify_anchor(struct fs_ctx *ctx, const char *file,
			 const char *pubkey)
{
	uint64_t checked = 0, seq = 0;
	int rc =
	    fs_checkpoint_check(ctx, ctx->store, file, pubkey, &checked, &seq);

	if (!rc)
		fprintf(fs_stdout(),
			"journal intact: %llu records verified, extending "
			"checkpoint %s (record %llu)\n",
			(unsigned long long)checked, file,
			(unsigned long long)seq);
	return rc;
}

/* ------------------------------------------------------------- exports */

struct export
{
	struct query q; /* --since, --until */
	uint64_t max_seq;
	char *p; /* JSON Lines */
	size_t len, cap;
	uint64_t n, first, last;
};

static int export_add(struct export *x, const char *line)
{
	size_t n = strlen(line), cap;
	char *p;

	if (x->len + n + 1 > EXPORT_MAX)
		return -EFBIG;
	if (x->len + n + 1 > x->cap) {
		cap = x->cap ? x->cap * 2 : 64 << 10;
		while (cap < x->len + n + 1)
			cap *= 2;
		p = realloc(x->p, cap);
		if (!p)
			return -ENOMEM;
		x->p = p;
		x->cap = cap;
	}
	memcpy(x->p + x->len, line, n);
	x->p[x->len + n] = '\n';
	x->len += n + 1;
	return 0;
}

static int export_entry(void *arg, const struct store_audit_entry *e)
{
	struct export *x = arg;
	char *line;
	json_t *j;
	int rc;

	if (e->seq > x->max_seq)
		return 1; /* written after the verification */
	if (!query_match(&x->q, e))
		return 0;
	j = entry_json(e);
	line = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!line)
		return -ENOMEM;
	rc = export_add(x, line);
	free(line);
	if (!rc) {
		x->first = x->n++ ? x->first : e->seq;
		x->last = e->seq;
	}
	return rc;
}

static int sig_path(const char *out, char path[PATH_MAX])
{
	if (snprintf(path, PATH_MAX, "%s.sig", out) < PATH_MAX)
		return 0;
	store_log(STORE_LOG_ERR, "%s: name too long", out);
	return -ENAMETOOLONG;
}

/* Writes x to out and its signature document to out.sig. */
static int export_write(struct fs_ctx *ctx, const char *out,
			const struct export *x, char pub[ACL_PATH_MAX])
{
	struct acl_export_range r = {x->n, x->first, x->last};
	char path[PATH_MAX], *sig = NULL;
	size_t len = 0;
	int rc = sig_path(out, path);

	if (!rc)
		rc = acl_export_sign(ctx->store, x->p, x->len, &r, pub, &sig,
				     &len);
	if (!rc)
		rc = write_bytes(ctx, out, x->p ? x->p : "", x->len);
	if (!rc)
		rc = write_bytes(ctx, path, sig, len);
	free(sig);
	return rc;
}

static int export_opts_locked(struct fs_ctx *ctx, int argc, char **argv,
			      struct query *q)
{
	static const struct option opts[] = {
	    {"since", required_argument, NULL, 's'},
	    {"until", required_argument, NULL, 'U'},
	    {0, 0, 0, 0}};
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1)
		if ((c != 's' && c != 'U') ||
		    parse_time(optarg, c == 's' ? &q->since : &q->until))
			return fs_usage_error(ctx, "audit export [--since T] "
						   "[--until T] OUT");
	return optind == argc - 1 ? 0
				  : fs_usage_error(ctx, "audit export needs "
							"one OUT file");
}

/* export_opts_locked under the getopt lock (requests run side by side). */
static int export_opts(struct fs_ctx *ctx, int argc, char **argv,
		       struct query *q)
{
	int rc;

	fs_getopt_lock();
	rc = export_opts_locked(ctx, argc, argv, q);
	fs_getopt_unlock();
	return rc;
}

/* audit export [--since T] [--until T] OUT */
static int audit_export(struct fs_ctx *ctx, int argc, char **argv)
{
	char pub[ACL_PATH_MAX];
	uint8_t head[STORE_DIGEST_LEN];
	struct export x = {0};
	uint64_t checked;
	int rc = export_opts(ctx, argc, argv, &x.q);

	if (!rc)
		rc = audit_open(ctx, "audit.export");
	if (rc)
		return rc < 0 ? rc : 0;
	rc = store_audit_head(ctx->store, &x.max_seq, head);
	if (!rc)
		rc = acl_journal_verify(ctx->store, &checked);
	if (!rc)
		rc = store_audit_each(ctx->store, 0, export_entry, &x);
	if (rc == 1)
		rc = 0; /* stopped at the verified head */
	if (rc == -EFBIG)
		store_log(STORE_LOG_ERR, "the export would pass 1 GiB: narrow "
					 "it with --since and --until");
	if (!rc)
		rc = export_write(ctx, argv[argc - 1], &x, pub);
	if (!rc)
		fprintf(fs_stdout(),
			"exported %llu records to %s, signed in %s.sig\n"
			"public key: %s\n",
			(unsigned long long)x.n, argv[argc - 1], argv[argc - 1],
			pub);
	free(x.p);
	return rc;
}

/* audit verify --export OUT [--pubkey KEY]: with a key, needs no store
 * (s NULL); without, the store's own key pair. */
static int verify_export(struct fs_ctx *ctx, struct store *s, const char *out,
			 const char *pubkey)
{
	char path[PATH_MAX], *sig = NULL, *buf = NULL;
	size_t sig_len = 0, len = 0;
	struct acl_pubkey key;
	uint64_t records = 0;
	int rc = sig_path(out, path);

	if (!rc)
		rc = fs_file_read_logged(ctx, path, FS_SMALL_FILE_MAX, &sig,
					 &sig_len);
	if (!rc)
		rc = fs_file_read_logged(ctx, out, EXPORT_MAX, &buf, &len);
	if (!rc)
		rc = fs_pubkey_read(ctx, pubkey, &key);
	if (!rc) {
		rc = acl_export_verify(s, sig, sig_len, path, buf, len, out,
				       pubkey ? &key : NULL, &records);
		free((void *)key.pem);
	}
	if (!rc)
		fprintf(fs_stdout(), "export verified: %llu records\n",
			(unsigned long long)records);
	free(sig);
	free(buf);
	return rc;
}

/* -------------------------------------------------------------- verify */

struct verify {
	const char *anchor, *export, *pubkey;
};

static int verify_opts_locked(struct fs_ctx *ctx, int argc, char **argv,
			      struct verify *v)
{
	static const struct option opts[] = {
	    {"anchor", required_argument, NULL, 'a'},
	    {"export", required_argument, NULL, 'e'},
	    {"pubkey", required_argument, NULL, 'k'},
	    {0, 0, 0, 0}};
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'a')
			v->anchor = optarg;
		else if (c == 'e')
			v->export = optarg;
		else if (c == 'k')
			v->pubkey = optarg;
		else
			break;
	}
	if (c != -1 || optind != argc || (v->anchor && v->export))
		return fs_usage_error(ctx, "audit verify [--anchor FILE | "
					   "--export OUT] [--pubkey KEY]");
	return 0;
}

/* verify_opts_locked under the getopt lock (requests run side by side). */
static int verify_opts(struct fs_ctx *ctx, int argc, char **argv,
		       struct verify *v)
{
	int rc;

	fs_getopt_lock();
	rc = verify_opts_locked(ctx, argc, argv, v);
	fs_getopt_unlock();
	return rc;
}

static int audit_verify(struct fs_ctx *ctx, int argc, char **argv)
{
	struct acl_journal_verdict jv;
	struct verify v = {0};
	int rc = verify_opts(ctx, argc, argv, &v);

	if (!rc && v.export && v.pubkey)
		return verify_export(ctx, NULL, v.export, v.pubkey);
	if (!rc)
		rc = audit_open(ctx, "audit.verify");
	if (rc)
		return rc < 0 ? rc : 0;
	/* An export carries no journal key: its signed MANIFEST instead. */
	if (store_exported(ctx->store) && !v.anchor && !v.export)
		return fs_export_journal_verify(ctx->store, v.pubkey);
	if (v.pubkey && !v.anchor && !v.export)
		return fs_usage_error(ctx, "--pubkey alone checks an export; "
					   "here give --anchor or --export");
	if (v.anchor)
		return verify_anchor(ctx, v.anchor, v.pubkey);
	if (v.export)
		return verify_export(ctx, ctx->store, v.export, NULL);
	/* Against the newest checkpoint the daemon signed, too: a cut-off
	 * tail or a deleted journal shows with no flag.  Through the daemon,
	 * its own directory, never one a client's --config names. */
	rc = acl_journal_verify_default(
	    ctx->store,
	    ctx->conn ? ctx->daemon_checkpoint_dir : ctx->checkpoint_dir, &jv);
	if (!rc)
		fprintf(fs_stdout(), "%s\n", jv.summary);
	return rc;
}

int fs_cmd_audit(struct fs_ctx *ctx, int argc, char **argv)
{
	if (!strcmp(argv[0], "verify"))
		return audit_verify(ctx, argc, argv);
	if (!strcmp(argv[0], "query"))
		return audit_query(ctx, argc, argv);
	if (!strcmp(argv[0], "checkpoint"))
		return argc == 2 ? audit_checkpoint(ctx, argv[1])
				 : fs_usage_error(ctx, "audit checkpoint "
						       "needs one OUT file");
	if (!strcmp(argv[0], "export"))
		return audit_export(ctx, argc, argv);
	return fs_usage_error(ctx,
			      "unknown audit command '%s' (verify, query, "
			      "checkpoint, export)",
			      argv[0]);
}
