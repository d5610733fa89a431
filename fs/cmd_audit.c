/*
 * cmd_audit.c - `artifactfs audit verify|query|checkpoint|export`: the
 * audit journal.
 *
 * verify walks the whole HMAC chain with the journal key and names the
 * first record that was changed, removed, reordered or inserted; query
 * lists records by user, op, path prefix, time and outcome.
 *
 * A chain cannot show that its tail was cut off (with the head rewritten
 * to name the new last record), and its HMAC proves nothing to whoever
 * lacks the key.  So checkpoint signs the head (Ed25519, a key pair kept
 * beside the journal key, made on first use) into a file kept outside
 * the store, and verify --anchor proves the journal still extends it
 * (the mount daemon writes such files by itself too, mnt_checkpoint.c,
 * through fs_checkpoint_sign and fs_checkpoint_check);
 * export writes records as JSON Lines with a signed digest (OUT.sig), and
 * verify --export checks it with nothing but the public key: that mode
 * needs no store, which is why this command opens the store itself.
 *
 * Signed strings (one line, no newline; hex is lowercase):
 *   checkpoint  "artifactfs-checkpoint v1 <store id> <seq> <hex hash>"
 *   export      "artifactfs-export v1 <hex SHA-256 of OUT>"
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
#include "fs_i.h"

/* Largest export verified or written (read whole to hash it). */
#define EXPORT_MAX (1ULL << 30)
/* Largest checkpoint or OUT.sig file read. */
#define SMALL_JSON_MAX (64 << 10)
#define SIG_HEX_LEN    (2 * STORE_SIG_LEN)
#define MSG_MAX	       256

/* ------------------------------------------------------------- helpers */

static void hex_encode(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly 2 * n hex digits into out[0..n).  -EINVAL otherwise. */
static int hex_decode(const char *s, uint8_t *out, size_t n)
{
	if (!s || strlen(s) != 2 * n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		int hi = hex_nibble(s[2 * i]), lo = hex_nibble(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* Files the mount daemon reads for itself (its checkpoints). */
static struct fs_ctx own_files;

/* Reads the regular file path whole into *buf (malloc'd, NUL-terminated,
 * the caller frees) and *len, with the rights of ctx's caller (NULL: this
 * process's own file).  -EFBIG over cap bytes, -EINVAL (not a regular
 * file), -errno, -ENOMEM; logged. */
static int read_file(struct fs_ctx *ctx, const char *path, uint64_t cap,
		     char **buf, size_t *len)
{
	int rc = fs_file_read_all(ctx ? ctx : &own_files, path, (size_t)cap,
				  buf, len);

	if (rc == -EFBIG)
		store_log(STORE_LOG_ERR, "%s: too large", path);
	else if (rc && rc != -EINVAL)
		store_log(STORE_LOG_ERR, "cannot read %s: %s", path,
			  strerror(-rc));
	return rc;
}

/* Reads a JSON object (a checkpoint or an export's signature file).
 * *out: a new reference.  -EINVAL (logged) when it is none. */
static int read_json(struct fs_ctx *ctx, const char *path, json_t **out)
{
	json_error_t err;
	char *buf;
	size_t len;
	int rc = read_file(ctx, path, SMALL_JSON_MAX, &buf, &len);

	if (rc)
		return rc;
	*out = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
	free(buf);
	if (json_is_object(*out))
		return 0;
	json_decref(*out);
	*out = NULL;
	store_log(STORE_LOG_ERR, "%s: not a JSON object", path);
	return -EINVAL;
}

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

/* Writes j (indented) to the caller's file path, replacing it; drops the
 * reference.  -ENOMEM (j NULL), -errno, -EIO; logged. */
static int write_json(struct fs_ctx *ctx, const char *path, json_t *j)
{
	char *text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
	char *line = NULL;
	int rc;

	json_decref(j);
	if (!text || asprintf(&line, "%s\n", text) < 0) {
		free(text);
		return -ENOMEM;
	}
	rc = write_bytes(ctx, path, line, strlen(line));
	free(text);
	free(line);
	return rc;
}

int fs_journal_check(struct store *s, uint64_t *checked)
{
	uint64_t bad = 0;
	char why[128] = "";
	int rc = store_audit_verify(s, checked, &bad, why);

	if (rc == -ENOKEY)
		store_log(STORE_LOG_ERR, "this store keeps no audit journal");
	else if (rc == -EBADMSG)
		store_log(STORE_LOG_ERR, "journal broken at %s", why);
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

struct checkpoint {
	const char *store; /* borrowed from the parsed file */
	uint64_t seq;
	uint8_t hash[STORE_DIGEST_LEN];
	uint8_t sig[STORE_SIG_LEN];
};

static void checkpoint_msg(const char *id, uint64_t seq,
			   const uint8_t hash[STORE_DIGEST_LEN],
			   char msg[MSG_MAX])
{
	char d[STORE_DIGEST_STR_LEN];

	store_digest_format(hash, d);
	snprintf(msg, MSG_MAX, "artifactfs-checkpoint v1 %s %llu %s", id,
		 (unsigned long long)seq, d + strlen("sha256:"));
}

/* Record seq of the journal must still have hash (the head read before
 * a verification names the verified record); an empty journal has
 * nothing to sign. */
static int head_check(struct store *s, uint64_t seq,
		      const uint8_t hash[STORE_DIGEST_LEN])
{
	uint8_t h[STORE_DIGEST_LEN];
	int rc;

	if (!seq) {
		store_log(STORE_LOG_ERR, "the journal is empty: nothing to "
					 "checkpoint");
		return -ENODATA;
	}
	rc = store_audit_record_hash(s, seq, h);
	if (!rc && memcmp(h, hash, sizeof(h)) != 0)
		rc = -ENOENT;
	if (rc == -ENOENT) {
		store_log(STORE_LOG_ERR,
			  "journal broken at the head: record %llu differs",
			  (unsigned long long)seq);
		rc = -EBADMSG;
	}
	return rc;
}

int fs_checkpoint_sign(struct store *s, uint64_t seq,
		       const uint8_t hash[STORE_DIGEST_LEN], char *pub,
		       char **out, size_t *len)
{
	char priv[ACL_PATH_MAX], pubpath[ACL_PATH_MAX], msg[MSG_MAX];
	char d[STORE_DIGEST_STR_LEN], when[FS_TIME_STR_LEN];
	char hex[SIG_HEX_LEN + 1], *text;
	uint8_t sig[STORE_SIG_LEN];
	struct timespec now;
	json_t *j;
	int n, rc = head_check(s, seq, hash);

	*out = NULL;
	if (!rc)
		rc = acl_sign_key(s, true, priv, pub ? pub : pubpath);
	if (rc < 0)
		return rc;
	checkpoint_msg(store_id(s), seq, hash, msg);
	rc = store_sign(priv, msg, strlen(msg), sig);
	if (rc)
		return rc;
	clock_gettime(CLOCK_REALTIME, &now);
	fs_time_iso((int64_t)now.tv_sec * 1000000000LL + now.tv_nsec, when);
	store_digest_format(hash, d);
	hex_encode(sig, STORE_SIG_LEN, hex);
	j = json_pack("{s:s, s:I, s:s, s:s, s:s}", "store", store_id(s), "seq",
		      (json_int_t)seq, "head", d, "time", when, "signature",
		      hex);
	text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
	json_decref(j);
	n = text ? asprintf(out, "%s\n", text) : -1;
	free(text);
	if (n < 0) {
		*out = NULL; /* asprintf leaves it undefined */
		return -ENOMEM;
	}
	*len = (size_t)n;
	return 0;
}

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
		rc = fs_journal_check(ctx->store, &checked);
	if (!rc)
		rc =
		    fs_checkpoint_sign(ctx->store, seq, hash, pub, &text, &len);
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

/* Parses a checkpoint file; *root (a new reference) holds its strings.
 * -EINVAL (logged) when it is not one. */
static int checkpoint_read(struct fs_ctx *ctx, const char *path, json_t **root,
			   struct checkpoint *c)
{
	const char *head = NULL, *sig = NULL;
	json_int_t seq = 0;
	int rc = read_json(ctx, path, root);

	if (rc)
		return rc;
	if (json_unpack(*root, "{s:s, s:I, s:s, s:s}", "store", &c->store,
			"seq", &seq, "head", &head, "signature", &sig) ||
	    seq <= 0 || store_digest_parse(head, c->hash) ||
	    hex_decode(sig, c->sig, STORE_SIG_LEN)) {
		store_log(STORE_LOG_ERR, "%s is not an artifactfs checkpoint",
			  path);
		json_decref(*root);
		*root = NULL;
		return -EINVAL;
	}
	c->seq = (uint64_t)seq;
	return 0;
}

/* The journal must still hold the checkpoint's record with its hash: a
 * journal cut off before it, or rewritten, does not. */
static int anchor_check(struct store *s, const char *file,
			const struct checkpoint *c)
{
	uint8_t h[STORE_DIGEST_LEN];
	uint64_t last = 0;
	int rc = store_audit_record_hash(s, c->seq, h);

	if (rc == -ENOENT) {
		rc = store_audit_head(s, &last, h);
		if (!rc)
			store_log(STORE_LOG_ERR,
				  "journal cut off: %s names record %llu, the "
				  "journal ends at record %llu",
				  file, (unsigned long long)c->seq,
				  (unsigned long long)last);
		return rc ? rc : -EBADMSG;
	}
	if (!rc && memcmp(h, c->hash, sizeof(h)) != 0) {
		store_log(STORE_LOG_ERR,
			  "journal rewritten: record %llu differs from %s",
			  (unsigned long long)c->seq, file);
		rc = -EBADMSG;
	}
	return rc;
}

/* Checks sig over msg with the public key in the caller's file pubkey. */
static int verify_with_file(struct fs_ctx *ctx, const char *pubkey,
			    const char *msg, const uint8_t sig[STORE_SIG_LEN])
{
	size_t len;
	char *pem;
	int rc = read_file(ctx, pubkey, SMALL_JSON_MAX, &pem, &len);

	if (rc)
		return rc;
	rc = store_sign_verify_pem(pem, len, pubkey, msg, strlen(msg), sig);
	free(pem);
	return rc;
}

/* The checkpoint c read from file names store s and is signed by
 * pubkey (NULL: s's own key pair). */
static int signature_check(struct fs_ctx *ctx, struct store *s,
			   const char *file, const struct checkpoint *c,
			   const char *pubkey)
{
	char priv[ACL_PATH_MAX], pub[ACL_PATH_MAX], msg[MSG_MAX];
	int rc = 0;

	if (strcmp(c->store, store_id(s)) != 0) {
		store_log(
		    STORE_LOG_ERR,
		    "%s is a checkpoint of store %s, not of this one (%s)",
		    file, c->store, store_id(s));
		return -EINVAL;
	}
	checkpoint_msg(c->store, c->seq, c->hash, msg);
	if (pubkey) {
		rc = verify_with_file(ctx, pubkey, msg, c->sig);
	} else {
		rc = acl_sign_key(s, false, priv, pub);
		pubkey = pub;
		if (!rc)
			rc =
			    store_sign_verify(pubkey, msg, strlen(msg), c->sig);
	}
	if (rc == -EBADMSG)
		store_log(STORE_LOG_ERR, "%s: signature does not match %s",
			  file, pubkey);
	return rc;
}

int fs_checkpoint_check(struct fs_ctx *ctx, struct store *s, const char *path,
			const char *pubkey, uint64_t *checked, uint64_t *seq)
{
	struct checkpoint c;
	json_t *root;
	int rc = checkpoint_read(ctx, path, &root, &c);

	if (rc)
		return rc;
	rc = signature_check(ctx, s, path, &c, pubkey);
	if (!rc && checked)
		rc = fs_journal_check(s, checked);
	if (!rc)
		rc = anchor_check(s, path, &c);
	if (!rc && seq)
		*seq = c.seq;
	json_decref(root);
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

/* Writes x to out and its signature file out.sig. */
static int export_write(struct fs_ctx *ctx, const char *out,
			const struct export *x, const char *priv)
{
	char msg[MSG_MAX], path[PATH_MAX], hex[2 * STORE_DIGEST_LEN + 1];
	char sighex[SIG_HEX_LEN + 1];
	uint8_t d[STORE_DIGEST_LEN], sig[STORE_SIG_LEN];
	int rc = sig_path(out, path);

	if (!rc)
		rc = store_digest_buf(x->p ? x->p : "", x->len, d);
	if (rc)
		return rc;
	hex_encode(d, sizeof(d), hex);
	snprintf(msg, sizeof(msg), "artifactfs-export v1 %s", hex);
	rc = store_sign(priv, msg, strlen(msg), sig);
	if (!rc)
		rc = write_bytes(ctx, out, x->p ? x->p : "", x->len);
	if (rc)
		return rc;
	hex_encode(sig, sizeof(sig), sighex);
	return write_json(
	    ctx, path,
	    json_pack("{s:s, s:I, s:I, s:I, s:s, s:s}", "store",
		      store_id(ctx->store), "records", (json_int_t)x->n,
		      "first_seq", (json_int_t)x->first, "last_seq",
		      (json_int_t)x->last, "sha256", hex, "signature", sighex));
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
	char priv[ACL_PATH_MAX], pub[ACL_PATH_MAX];
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
		rc = fs_journal_check(ctx->store, &checked);
	if (!rc)
		rc = acl_sign_key(ctx->store, true, priv, pub);
	if (rc >= 0)
		rc = store_audit_each(ctx->store, 0, export_entry, &x);
	if (rc == 1)
		rc = 0; /* stopped at the verified head */
	if (rc == -EFBIG)
		store_log(STORE_LOG_ERR, "the export would pass 1 GiB: narrow "
					 "it with --since and --until");
	if (!rc)
		rc = export_write(ctx, argv[argc - 1], &x, priv);
	if (!rc)
		fprintf(fs_stdout(),
			"exported %llu records to %s, signed in %s.sig\n"
			"public key: %s\n",
			(unsigned long long)x.n, argv[argc - 1], argv[argc - 1],
			pub);
	free(x.p);
	return rc;
}

/* Reads out.sig and checks its signature over its sha256 with pubkey. */
static int export_sig_check(struct fs_ctx *ctx, const char *out,
			    const char *pubkey, bool own_key, json_t **root,
			    json_int_t *records, const char **sha)
{
	char path[PATH_MAX], msg[MSG_MAX];
	const char *sighex = NULL;
	uint8_t sig[STORE_SIG_LEN];
	int rc = sig_path(out, path);

	if (!rc)
		rc = read_json(ctx, path, root);
	if (rc)
		return rc;
	if (json_unpack(*root, "{s:I, s:s, s:s}", "records", records, "sha256",
			sha, "signature", &sighex) ||
	    strlen(*sha) != 2 * STORE_DIGEST_LEN ||
	    hex_decode(sighex, sig, STORE_SIG_LEN)) {
		store_log(STORE_LOG_ERR,
			  "%s is not an artifactfs export "
			  "signature",
			  path);
		return -EINVAL;
	}
	snprintf(msg, sizeof(msg), "artifactfs-export v1 %s", *sha);
	rc = own_key ? store_sign_verify(pubkey, msg, strlen(msg), sig)
		     : verify_with_file(ctx, pubkey, msg, sig);
	if (rc == -EBADMSG)
		store_log(STORE_LOG_ERR, "%s: signature does not match %s",
			  path, pubkey);
	return rc;
}

/* audit verify --export OUT --pubkey KEY: needs no store. */
static int verify_export(struct fs_ctx *ctx, const char *out,
			 const char *pubkey, bool own_key)
{
	char hex[2 * STORE_DIGEST_LEN + 1];
	uint8_t d[STORE_DIGEST_LEN];
	json_int_t records = 0;
	unsigned long long lines = 0;
	const char *sha = NULL;
	json_t *root = NULL;
	char *buf = NULL;
	size_t len = 0;
	int rc =
	    export_sig_check(ctx, out, pubkey, own_key, &root, &records, &sha);

	if (!rc)
		rc = read_file(ctx, out, EXPORT_MAX, &buf, &len);
	if (!rc)
		rc = store_digest_buf(buf, len, d);
	if (!rc)
		hex_encode(d, sizeof(d), hex);
	if (!rc && strcmp(hex, sha) != 0) {
		store_log(STORE_LOG_ERR, "%s was changed after signing", out);
		rc = -EBADMSG;
	}
	for (size_t i = 0; !rc && i < len; i++)
		lines += buf[i] == '\n';
	if (!rc && (records < 0 || (unsigned long long)records != lines)) {
		store_log(STORE_LOG_ERR,
			  "%s.sig counts %lld records, %s holds "
			  "%llu",
			  out, (long long)records, out, lines);
		rc = -EBADMSG;
	}
	if (!rc)
		fprintf(fs_stdout(), "export verified: %llu records\n", lines);
	free(buf);
	json_decref(root);
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
	if (c != -1 || optind != argc || (v->anchor && v->export) ||
	    (v->pubkey && !v->anchor && !v->export))
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
	char priv[ACL_PATH_MAX], pub[ACL_PATH_MAX];
	struct verify v = {0};
	uint64_t checked = 0;
	int rc = verify_opts(ctx, argc, argv, &v);

	if (!rc && v.export && v.pubkey)
		return verify_export(ctx, v.export, v.pubkey, false);
	if (!rc)
		rc = audit_open(ctx, "audit.verify");
	if (rc)
		return rc < 0 ? rc : 0;
	if (v.anchor)
		return verify_anchor(ctx, v.anchor, v.pubkey);
	if (v.export) {
		rc = acl_sign_key(ctx->store, false, priv, pub);
		return rc ? rc : verify_export(ctx, v.export, pub, true);
	}
	rc = fs_journal_check(ctx->store, &checked);
	if (!rc)
		fprintf(fs_stdout(), "journal intact: %llu records verified\n",
			(unsigned long long)checked);
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
