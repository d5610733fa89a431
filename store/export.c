/*
 * export.c - a point-in-time copy of the store for auditors, and the
 * checks that need nothing but the copy.
 *
 * The copy is a RocksDB checkpoint (consistent at one instant; hard
 * links where DEST shares the disk) with the store's marker: a store
 * that opens read-only.  With selectors, the versions outside them and
 * outside their upstream closure are deleted from the copy, and what
 * nothing references then goes (gc); the copy's journal stays whole, so
 * its chain still checks.  Secrets never stay in a copy: their records
 * are deleted and compacted away.  Once finished, the copy's marker says
 * it is an export (store_export_mark): every later open is read-only,
 * with no lock, no reserve and nothing written.
 */
#include "store_i.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int drop_secret(void *arg, const void *key, size_t klen, const void *val,
		       size_t vlen)
{
	(void)val, (void)vlen;
	db_batch_delete(arg, CF_SECRETS, key, klen);
	return 0;
}

/* Deletes every secret of the copy d and compacts them off the disk. */
static int drop_secrets(struct store *d)
{
	struct db_batch *b = db_batch_new(d->db);
	int rc;

	if (!b)
		return -ENOMEM;
	rc = db_scan(d->db, CF_SECRETS, NULL, 0, drop_secret, b);
	if (!rc)
		rc = db_batch_commit(b);
	db_batch_free(b);
	if (!rc)
		rc = db_compact(d->db, CF_SECRETS, false);
	return rc;
}

/* The marker of a store; with export, of an export (store_is_export). */
static int write_marker(const char *dest, bool export)
{
	static const char text[] =
	    "artifactfs store\nformat 1\n" STORE_EXPORT_MARK "\n";
	size_t len = sizeof(text) - 1 -
		     (export ? 0 : sizeof(STORE_EXPORT_MARK "\n") - 1);
	char p[4096];
	int fd, rc = 0;

	snprintf(p, sizeof(p), "%s/ARTIFACTFS", dest);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd))
		rc = errno ? -errno : -EIO;
	if (fd >= 0 && close(fd) < 0 && !rc)
		rc = -errno;
	if (rc)
		store_log(STORE_LOG_ERR, "cannot write %s: %s", p,
			  strerror(-rc));
	return rc;
}

int store_export_mark(const char *dest)
{
	return write_marker(dest, true);
}

int store_export_copy(struct store *s, const char *dest)
{
	char db[4096];
	int rc;

	if (mkdir(dest, 0755) < 0 && errno != EEXIST) {
		rc = -errno;
		store_log(STORE_LOG_ERR, "cannot create %s: %s", dest,
			  strerror(errno));
		return rc;
	}
	snprintf(db, sizeof(db), "%s/db", dest);
	rc = db_checkpoint(s->db, db);
	return rc ? rc : write_marker(dest, false);
}

int store_export_trim(struct store *d, const struct store_export_sel *keep,
		      bool trim)
{
	struct store_gc_result res;
	int rc = drop_secrets(d);

	if (!rc && trim)
		rc = retain_select(d, keep);
	if (!rc)
		rc = store_gc(d, &(struct store_caller){.user = "export"},
			      false, &res);
	for (int cf = 0; !rc && cf < CF_COUNT; cf++)
		db_compact(d->db, cf, cf == CF_CHUNKS);
	return rc;
}

/* ---------------------------------------------------- the journal chain */

struct chain {
	struct store *s;
	uint64_t checked;
	char *why;
	size_t cap;
};

static int chain_one(void *arg, const struct audit_rec *r)
{
	struct chain *c = arg;
	uint8_t h[STORE_DIGEST_LEN];

	if (r->seq != c->checked + 1) {
		snprintf(c->why, c->cap, "journal record %llu missing",
			 (unsigned long long)c->checked + 1);
		return -EBADMSG;
	}
	if (r->seq > 1) {
		if (store_audit_record_hash(c->s, r->seq - 1, h) ||
		    memcmp(h, r->prev, AUDIT_HASH_LEN)) {
			snprintf(c->why, c->cap,
				 "journal record %llu: does not chain to the "
				 "record before it (changed)",
				 (unsigned long long)r->seq - 1);
			return -EBADMSG;
		}
	}
	c->checked = r->seq;
	return 0;
}

int store_audit_chain_check(struct store *s, uint64_t *checked, char *why,
			    size_t cap)
{
	struct chain c = {s, 0, why, cap};
	int rc = audit_each(s, 1, chain_one, &c);

	*checked = c.checked;
	if (rc && rc != -EBADMSG)
		snprintf(why, cap, "journal unreadable: %s", strerror(-rc));
	return rc;
}
