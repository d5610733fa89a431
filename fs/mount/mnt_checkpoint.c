/*
 * mnt_checkpoint.c - the mount daemon's automatic checkpoints of the audit
 * journal: every N records or T seconds, a signed checkpoint that can be
 * kept outside the store.
 *
 * A thread wakes once a second and reads the journal's head.  When the
 * head moved N records or more since the last checkpoint, or T seconds
 * passed since it and the head moved at all, the thread signs the head
 * as `audit checkpoint` does (fs_checkpoint_sign) and writes
 *     DIR/<seq>.checkpoint    never replaced once written
 *     DIR/latest.checkpoint   replaced by each new one
 * each whole or not at all (fs_write_file), so that `audit verify
 * --anchor DIR/latest.checkpoint` always reads a complete file.  DIR is
 * audit.checkpoint_dir, by default <store id>.checkpoints in the key
 * directory, beside the journal key: outside the store directory.
 *
 * What is signed is verified first.  When it starts, the thread walks the
 * whole chain and checks that the journal still extends
 * DIR/latest.checkpoint when there is one.  If not, the journal was cut
 * off or rewritten since; the thread logs it and writes nothing during
 * this mount, so that no newer checkpoint takes the place of the one that
 * shows it.  The records after that walk are the daemon's own (while the
 * store is mounted every command runs in the daemon), and each checkpoint
 * checks that the head names its record by its hash.
 *
 * A failure is logged (syslog once detached) and retried: 5 s later, then
 * doubling up to 5 minutes; the daemon goes on serving.  At unmount the
 * thread writes a last checkpoint when the head moved since the one
 * before.  Commands run while the store is not mounted write none (only
 * `audit checkpoint` does); the next mount's thread covers their records.
 */
#include "acl.h"
#include "base.h"
#include "mnt_i.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RETRY_FIRST 5	/* seconds after a failure */
#define RETRY_MAX   300 /* the longest wait between two tries */
/* DIR plus "/<seq>.checkpoint" */
#define CP_PATH_MAX (ACL_PATH_MAX + 48)

struct mnt_checkpoints {
	struct store *s; /* borrowed */
	uint32_t records, seconds;
	char dir[ACL_PATH_MAX];
	pthread_t thread;
	pthread_mutex_t lock; /* stop */
	pthread_cond_t wake;  /* on CLOCK_MONOTONIC */
	bool stop;
	/* The thread's own. */
	uint64_t last_seq; /* the record of the last checkpoint, 0: none */
	int64_t last_time; /* when it was written (or the thread started) */
	int64_t retry_at;  /* after a failure, no try before this */
	unsigned backoff;  /* seconds; 0 after a success */
};

static int64_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* DIR/<name>.checkpoint; the names fit (CP_PATH_MAX). */
static void cp_path(const struct mnt_checkpoints *c, const char *name,
		    char out[CP_PATH_MAX])
{
	snprintf(out, CP_PATH_MAX, "%s/%s.checkpoint", c->dir, name);
}

/* Walks the chain and checks that it extends DIR/latest.checkpoint, if
 * any (its record becomes last_seq).  Anything but 0: write nothing
 * during this mount. */
static int start_check(struct mnt_checkpoints *c)
{
	struct acl_journal_verdict jv;
	char when[64];
	int rc;

	if (c->records && c->seconds)
		snprintf(when, sizeof(when), "%u records or %u s", c->records,
			 c->seconds);
	else if (c->records)
		snprintf(when, sizeof(when), "%u records", c->records);
	else
		snprintf(when, sizeof(when), "%u s", c->seconds);
	/* The chain, and the newest checkpoint in DIR if there is one (the
	 * first is to come otherwise). */
	rc = acl_journal_verify_default(c->s, c->dir, &jv);
	c->last_seq = jv.anchor_seq;
	if (rc)
		store_log(STORE_LOG_ERR,
			  "automatic audit checkpoints are off for this "
			  "mount: the journal does not verify%s%s",
			  jv.anchor[0] ? " against " : "", jv.anchor);
	else
		store_log(STORE_LOG_INFO,
			  "audit journal verified (%llu records); a signed "
			  "checkpoint every %s goes to %s",
			  (unsigned long long)jv.checked, when, c->dir);
	return rc;
}

/* Signs head seq/hash into DIR/<seq>.checkpoint and latest.checkpoint. */
static int write_one(struct mnt_checkpoints *c, uint64_t seq,
		     const uint8_t hash[STORE_DIGEST_LEN])
{
	char name[24], path[CP_PATH_MAX], *text = NULL;
	uint64_t had = 0;
	size_t len = 0;
	int rc = 0;

	if (mkdir(c->dir, 0755) < 0 && errno != EEXIST) {
		rc = -errno;
		store_log(STORE_LOG_ERR, "cannot create %s: %s", c->dir,
			  strerror(errno));
		return rc;
	}
	snprintf(name, sizeof(name), "%llu", (unsigned long long)seq);
	cp_path(c, name, path);
	rc = acl_checkpoint_sign(c->s, seq, hash, NULL, &text, &len);
	if (!rc)
		rc = fs_write_file(path, text, len, FS_WRITE_KEEP);
	if (rc == -EEXIST) {
		/* Written at an earlier mount (and latest.checkpoint lost
		 * since): kept, when it is this very head. */
		rc = fs_checkpoint_check(NULL, c->s, path, NULL, NULL, &had);
		if (!rc && had != seq)
			rc = -EEXIST;
		if (rc)
			store_log(STORE_LOG_ERR,
				  "%s exists and is not a checkpoint of the "
				  "journal's head: not replaced",
				  path);
	}
	cp_path(c, "latest", path);
	if (!rc)
		rc = fs_write_file(path, text, len, 0);
	free(text);
	return rc;
}

/* One look at the head; last: at unmount, any move is due. */
static void tick(struct mnt_checkpoints *c, bool last)
{
	uint8_t hash[STORE_DIGEST_LEN];
	uint64_t seq = 0;
	int64_t now = now_s();
	bool due, headless;
	int rc;

	if (!last && now < c->retry_at)
		return;
	rc = store_audit_head(c->s, &seq, hash);
	headless = rc != 0; /* no record to name (a cluster that stalls) */
	if (!rc && seq == c->last_seq)
		return; /* not moved */
	due = last || seq < c->last_seq ||
	      (c->records && seq - c->last_seq >= c->records) ||
	      (c->seconds && now - c->last_time >= (int64_t)c->seconds);
	if (!rc && !due)
		return;
	if (!rc)
		rc = write_one(c, seq, hash);
	if (!rc) {
		c->last_seq = seq;
		c->last_time = now;
		c->backoff = 0;
		c->retry_at = 0;
		if (last)
			store_log(STORE_LOG_INFO,
				  "checkpoint of audit record %llu written to "
				  "%s",
				  (unsigned long long)seq, c->dir);
		return;
	}
	c->backoff = c->backoff ? c->backoff * 2 : RETRY_FIRST;
	if (c->backoff > RETRY_MAX)
		c->backoff = RETRY_MAX;
	c->retry_at = now + c->backoff;
	if (headless)
		store_log(STORE_LOG_ERR,
			  "automatic checkpoint failed: cannot read the "
			  "journal's head (%s)%s",
			  strerror(-rc), last ? "" : "; will retry");
	else
		store_log(STORE_LOG_ERR,
			  "automatic checkpoint of audit record %llu failed "
			  "(%s)%s",
			  (unsigned long long)seq, strerror(-rc),
			  last ? "" : "; will retry");
}

static void *run(void *arg)
{
	struct mnt_checkpoints *c = arg;
	struct timespec until;

	c->last_time = now_s();
	if (start_check(c))
		return NULL;
	pthread_mutex_lock(&c->lock);
	while (!c->stop) {
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec++;
		pthread_cond_timedwait(&c->wake, &c->lock, &until);
		if (c->stop)
			break;
		pthread_mutex_unlock(&c->lock);
		tick(c, false);
		pthread_mutex_lock(&c->lock);
	}
	pthread_mutex_unlock(&c->lock);
	tick(c, true);
	return NULL;
}

/* Where the checkpoints go: the configured directory or the default. */
static int set_dir(struct mnt_checkpoints *c, const struct fs_ctx *ctx)
{
	if (!ctx->checkpoint_dir)
		return acl_key_file(c->s, ".checkpoints", false, c->dir);
	if (snprintf(c->dir, sizeof(c->dir), "%s", ctx->checkpoint_dir) <
	    (int)sizeof(c->dir))
		return 0;
	store_log(STORE_LOG_ERR, "audit.checkpoint_dir is too long");
	return -ENAMETOOLONG;
}

int mnt_checkpoints_start(struct store *s, const struct fs_ctx *ctx,
			  struct mnt_checkpoints **out)
{
	struct mnt_checkpoints *c;
	pthread_condattr_t attr;
	int rc;

	*out = NULL;
	if (!store_audit_enabled(s) ||
	    (!ctx->checkpoint_records && !ctx->checkpoint_seconds))
		return 0;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->s = s;
	c->records = ctx->checkpoint_records;
	c->seconds = ctx->checkpoint_seconds;
	rc = set_dir(c, ctx);
	if (rc)
		goto out_free;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&c->wake, &attr);
	pthread_condattr_destroy(&attr);
	pthread_mutex_init(&c->lock, NULL);
	rc = -pthread_create(&c->thread, NULL, run, c);
	if (!rc) {
		*out = c;
		return 0;
	}
	store_log(STORE_LOG_ERR, "cannot start the checkpoint thread: %s",
		  strerror(-rc));
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->wake);
out_free:
	free(c);
	return rc;
}

void mnt_checkpoints_stop(struct mnt_checkpoints *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	c->stop = true;
	pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thread, NULL);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->wake);
	free(c);
}
