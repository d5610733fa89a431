/*
 * cmd_audit.c - `artifactfs audit verify|query`: the audit journal.
 *
 * verify walks the whole HMAC chain with the journal key and names the
 * first record that was changed, removed, reordered or inserted; query
 * lists records by user, op, path prefix, time and outcome.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs_i.h"

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

static int print_entry(void *arg, const struct store_audit_entry *e)
{
	struct query *q = arg;
	char when[FS_TIME_STR_LEN];

	if ((q->user && strcmp(q->user, e->user)) ||
	    (q->op && strcmp(q->op, e->op)) ||
	    (q->path && strncmp(q->path, e->path, strlen(q->path))) ||
	    (q->since && e->time < q->since) ||
	    (q->until && e->time > q->until) || (q->denied && !e->result))
		return 0;
	q->n++;
	fs_time_iso(e->time, when);
	if (q->arr)
		return json_array_append_new(
			   q->arr,
			   json_pack("{s:I, s:s, s:I, s:s, s:I, s:s, s:s, "
				     "s:s, s:I, s:i}",
				     "seq", (json_int_t)e->seq, "time", when,
				     "uid", (json_int_t)e->uid, "user", e->user,
				     "pid", (json_int_t)e->pid, "op", e->op,
				     "path", e->path, "digest", e->digest,
				     "bytes", (json_int_t)e->bytes, "result",
				     e->result))
			   ? -ENOMEM
			   : 0;
	fprintf(fs_stdout(), "%6llu  %s  %-10s %-16s %s%s%s\n",
		(unsigned long long)e->seq, when, e->user, e->op, e->path,
		e->result ? "  DENIED/FAILED: " : "",
		e->result ? strerror(e->result) : "");
	return 0;
}

static int query_opts(struct fs_ctx *ctx, int argc, char **argv,
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

static int audit_query(struct fs_ctx *ctx, int argc, char **argv)
{
	struct query q = {0};
	int rc = query_opts(ctx, argc, argv, &q);

	if (rc)
		return rc;
	if (q.json || ctx->json)
		q.arr = json_array();
	rc = store_audit_each(ctx->store, 0, print_entry, &q);
	if (!rc && q.arr)
		return fs_json_print(q.arr);
	json_decref(q.arr);
	return rc;
}

static int audit_verify(struct fs_ctx *ctx)
{
	uint64_t checked = 0, bad = 0;
	char why[128] = "";
	int rc = store_audit_verify(ctx->store, &checked, &bad, why);

	if (rc == -ENOKEY) {
		store_log(STORE_LOG_ERR, "this store keeps no audit journal");
		return rc;
	}
	if (rc == -EBADMSG) {
		store_log(STORE_LOG_ERR, "journal broken at %s", why);
		return rc;
	}
	if (!rc)
		fprintf(fs_stdout(), "journal intact: %llu records verified\n",
			(unsigned long long)checked);
	return rc;
}

int fs_cmd_audit(struct fs_ctx *ctx, int argc, char **argv)
{
	if (!strcmp(argv[0], "verify"))
		return argc == 1 ? audit_verify(ctx)
				 : fs_usage_error(ctx, "audit verify takes "
						       "no arguments");
	if (!strcmp(argv[0], "query"))
		return audit_query(ctx, argc, argv);
	return fs_usage_error(ctx,
			      "unknown audit command '%s' (verify, "
			      "query)",
			      argv[0]);
}
