/*
 * rados.c - the chunk backend in a RADOS pool (librados).
 *
 * One object per chunk, named by the chunk's SHA-256 in hex (64
 * characters), holding what cas.c stores (codec byte, payload), in the
 * pool's namespace named by the store's id: two stores on one pool never
 * see (nor gc) each other's objects.  A put is one write op of an
 * exclusive create and a write_full: -EEXIST means the chunk is there
 * already, a dedup hit, never a read-modify-write.  A get reads the
 * object whole; cas.c re-hashes it as with every backend.
 *
 * Each object carries an xattr "t", when it was last put (ns since the
 * epoch, in decimal): a put that finds the chunk there refreshes it, and
 * gc removes only objects older than its grace, with a remove guarded by
 * the "t" it read (a put from another node in between keeps the chunk).
 *
 * The store's metadata is in radosmeta.c (or, for stores made before it,
 * in the local RocksDB).
 *
 * Every operation has a deadline (rados_mon_op_timeout, rados_osd_op_timeout,
 * client_mount_timeout; 10 s unless the conf sets them): a cluster that is
 * down makes a command fail with a message naming the conf and the pool,
 * never hang.
 */
#include "store_i.h"

#include <errno.h>
#include "rados_i.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Seconds an operation may wait for the cluster, unless the conf says. */
#define RADOS_TIMEOUT "10"

struct rados_chunks {
	struct chunk_backend b;
	rados_t cluster;
	rados_ioctx_t io;
	char pool[128], conf[1024];
};

static struct rados_chunks *rc_of(struct chunk_backend *b)
{
	return (struct rados_chunks *)b;
}

/* Logs what failed against the pool; returns rc. */
static int fail(const struct rados_chunks *r, const char *what, int rc)
{
	return rados_fail(r->pool, r->conf, what, rc);
}

static void oid_of(const uint8_t id[STORE_DIGEST_LEN], char oid[65])
{
	store_hex_encode(id, STORE_DIGEST_LEN, oid);
}

/* The id of a 64-hex object name (lowercase, as oid_of makes them);
 * false for any other name. */
static bool id_of(const char *oid, uint8_t id[STORE_DIGEST_LEN])
{
	return strlen(oid) == 2 * STORE_DIGEST_LEN && !strpbrk(oid, "ABCDEF") &&
	       store_hex_decode(oid, id, STORE_DIGEST_LEN) == 0;
}

/* One write op on oid: a new object with val (create), or "t" of one
 * that must be there (touch).  Both stamp "t" now. */
static int put_op(struct rados_chunks *r, const char *oid, const void *val,
		  size_t len, bool create)
{
	rados_write_op_t op = rados_create_write_op();
	char t[24];
	int rc;

	if (!op)
		return -ENOMEM;
	snprintf(t, sizeof(t), "%lld", (long long)now_ns());
	if (create) {
		rados_write_op_create(op, LIBRADOS_CREATE_EXCLUSIVE, NULL);
		rados_write_op_write_full(op, val, len);
	} else {
		rados_write_op_assert_exists(op);
	}
	rados_write_op_setxattr(op, "t", t, strlen(t));
	/* New content stops at a full pool, and says so at once; stamping
	 * one there (a dedup hit) goes on like metadata. */
	rc = rados_write_op_operate(op, r->io, oid, NULL,
				    create ? LIBRADOS_OPERATION_FULL_TRY
					   : RADOS_META_OP_FLAGS);
	rados_release_write_op(op);
	return rc;
}

static int rdc_put(struct chunk_backend *b, const uint8_t id[STORE_DIGEST_LEN],
		   const void *val, size_t len, bool small)
{
	struct rados_chunks *r = rc_of(b);
	char oid[65];
	int rc;

	(void)small;
	oid_of(id, oid);
	/* There already: the same bytes by their name, a dedup hit.  Its
	 * "t" is refreshed so that a gc of another node keeps it; gone
	 * meanwhile (that gc won), it is put again. */
	for (int i = 0; i < 3; i++) {
		rc = put_op(r, oid, val, len, true);
		if (rc != -EEXIST)
			break;
		rc = put_op(r, oid, NULL, 0, false);
		if (rc != -ENOENT)
			break;
	}
	return rc ? fail(r, "cannot store chunk", rc) : 0;
}

static int rdc_get(struct chunk_backend *b, const uint8_t id[STORE_DIGEST_LEN],
		   size_t cap, chunk_read_fn fn, void *arg)
{
	struct rados_chunks *r = rc_of(b);
	char oid[65];
	char *buf = malloc(cap + 1);
	int n, rc;

	if (!buf)
		return -ENOMEM;
	oid_of(id, oid);
	/* One byte more than expected: a longer object is corrupt, and
	 * reaches the decoder cut (which then fails). */
	n = rados_read(r->io, oid, buf, cap + 1, 0);
	if (n == -ENOENT)
		rc = -ENOENT;
	else if (n < 0)
		rc = fail(r, "cannot read chunk", n);
	else
		rc = fn(arg, buf, (size_t)n);
	free(buf);
	return rc;
}

static int rdc_remove(struct chunk_backend *b,
		      const uint8_t id[STORE_DIGEST_LEN])
{
	struct rados_chunks *r = rc_of(b);
	char oid[65];
	int rc;

	oid_of(id, oid);
	rc = robj_remove(r->io, oid);
	if (rc == -ENOENT)
		return 0;
	return rc ? fail(r, "cannot remove chunk", rc) : 0;
}

static int rdc_touch(struct chunk_backend *b,
		     const uint8_t id[STORE_DIGEST_LEN])
{
	struct rados_chunks *r = rc_of(b);
	char oid[65];
	int rc;

	oid_of(id, oid);
	rc = put_op(r, oid, NULL, 0, false);
	return rc == -ENOENT ? rc : rc ? fail(r, "cannot stamp chunk", rc) : 0;
}

static int rdc_remove_before(struct chunk_backend *b,
			     const uint8_t id[STORE_DIGEST_LEN], int64_t cutoff)
{
	struct rados_chunks *r = rc_of(b);
	rados_write_op_t op;
	char oid[65], t[24];
	int n, rc;

	oid_of(id, oid);
	n = rados_getxattr(r->io, oid, "t", t, sizeof(t) - 1);
	if (n == -ENOENT)
		return 0;
	if (n == -ENODATA) { /* put before "t" was kept: its mtime */
		time_t mt = 0;
		uint64_t size;

		rc = rados_stat(r->io, oid, &size, &mt);
		if (rc == -ENOENT)
			return 0;
		if (rc)
			return fail(r, "cannot stat chunk", rc);
		if ((int64_t)mt * 1000000000 > cutoff)
			return 1;
		return rdc_remove(b, id);
	}
	if (n < 0)
		return fail(r, "cannot read a chunk's time", n);
	t[n] = '\0';
	if (strtoll(t, NULL, 10) > cutoff)
		return 1;
	op = rados_create_write_op();
	if (!op)
		return -ENOMEM;
	rados_write_op_cmpxattr(op, "t", LIBRADOS_CMPXATTR_OP_EQ, t, (size_t)n);
	rados_write_op_remove(op);
	rc = rados_write_op_operate(op, r->io, oid, NULL, RADOS_META_OP_FLAGS);
	rados_release_write_op(op);
	if (rc == -ECANCELED)
		return 1; /* put again since: kept */
	if (rc == -ENOENT)
		return 0;
	return rc ? fail(r, "cannot remove chunk", rc) : 0;
}

/* Reads object oid whole (its size from a stat) and passes it to fn. */
static int each_one(struct rados_chunks *r, const char *oid, bool values,
		    db_scan_fn fn, void *arg)
{
	uint8_t id[STORE_DIGEST_LEN];
	const void *key = id;
	size_t klen = sizeof(id);
	uint64_t size = 0;
	char *buf = NULL;
	int n = 0, rc;

	if (!id_of(oid, id))
		key = oid, klen = strlen(oid);
	rc = rados_stat(r->io, oid, &size, NULL);
	if (rc == -ENOENT)
		return 0; /* gone since the listing */
	if (rc)
		return fail(r, "cannot stat an object", rc);
	if (values) {
		buf = malloc(size ? size : 1);
		if (!buf)
			return -ENOMEM;
		n = size ? rados_read(r->io, oid, buf, size, 0) : 0;
		if (n < 0) {
			free(buf);
			return n == -ENOENT ? 0
					    : fail(r, "cannot read chunk", n);
		}
		size = (uint64_t)n;
	}
	rc = fn(arg, key, klen, buf, size);
	free(buf);
	return rc;
}

static int rdc_each(struct chunk_backend *b, bool values, db_scan_fn fn,
		    void *arg)
{
	struct rados_chunks *r = rc_of(b);
	rados_list_ctx_t ls;
	const char *oid;
	int rc = rados_nobjects_list_open(r->io, &ls);

	if (rc)
		return fail(r, "cannot list objects", rc);
	for (;;) {
		rc = rados_nobjects_list_next(ls, &oid, NULL, NULL);
		if (rc == -ENOENT) { /* the end of the list */
			rc = 0;
			break;
		}
		if (rc) {
			rc = fail(r, "cannot list objects", rc);
			break;
		}
		rc = each_one(r, oid, values, fn, arg);
		if (rc)
			break;
	}
	rados_nobjects_list_close(ls);
	return rc;
}

static void rdc_close(struct chunk_backend *b)
{
	struct rados_chunks *r = rc_of(b);

	if (r->io)
		rados_ioctx_destroy(r->io);
	if (r->cluster)
		rados_shutdown(r->cluster);
	free(r);
}

static const struct chunk_ops rados_ops = {
    .name = "rados",
    .local = false,
    .put = rdc_put,
    .get = rdc_get,
    .remove = rdc_remove,
    .touch = rdc_touch,
    .remove_before = rdc_remove_before,
    .each = rdc_each,
    .close = rdc_close,
};

/* Sets option key to the default deadline unless the conf set it. */
static void deadline(rados_t c, const char *key)
{
	char v[32] = "";

	if (rados_conf_get(c, key, v, sizeof(v)) || !strcmp(v, "0") ||
	    !strcmp(v, "300"))
		rados_conf_set(c, key, RADOS_TIMEOUT);
}

static int connect_to(struct rados_chunks *r, const struct chunk_place *p);

/* Logs what failed against place p; returns rc. */
static int pfail(const struct chunk_place *p, const char *what, int rc)
{
	return rados_fail(p->pool, p->conf, what, rc);
}

int rados_place_connect(const struct chunk_place *p, void **cluster, void **io)
{
	struct rados_chunks r = {0};
	int rc;

	snprintf(r.pool, sizeof(r.pool), "%s", p->pool);
	snprintf(r.conf, sizeof(r.conf), "%s", p->conf);
	rc = connect_to(&r, p);
	if (rc) {
		if (r.io)
			rados_ioctx_destroy(r.io);
		if (r.cluster)
			rados_shutdown(r.cluster);
		return rc;
	}
	*cluster = r.cluster;
	*io = r.io;
	return 0;
}

#define CLAIM_OID "artifactfs.store"

int rados_store_claim(const struct chunk_place *p, const char *id,
		      char have[33])
{
	rados_t cl;
	rados_ioctx_t io;
	rados_write_op_t op;
	int rc = rados_place_connect(p, &cl, &io), n;

	if (rc)
		return rc;
	op = rados_create_write_op();
	if (!op) {
		rc = -ENOMEM;
		goto out;
	}
	rados_write_op_create(op, LIBRADOS_CREATE_EXCLUSIVE, NULL);
	rados_write_op_write_full(op, id, strlen(id));
	rc = rados_write_op_operate(op, io, CLAIM_OID, NULL,
				    LIBRADOS_OPERATION_FULL_TRY);
	rados_release_write_op(op);
	if (!rc)
		goto out;
	if (rc != -EEXIST) {
		rc = pfail(p, "cannot record the store in the pool", rc);
		goto out;
	}
	n = rados_read(io, CLAIM_OID, have, 32, 0);
	if (n != 32) {
		rc = pfail(p, "the pool's store record is unreadable",
			   n < 0 ? n : -EIO);
		goto out;
	}
	have[32] = '\0';
	rc = 0;
	for (int i = 0; i < 32; i++)
		if (!((have[i] >= '0' && have[i] <= '9') ||
		      (have[i] >= 'a' && have[i] <= 'f')))
			rc = -EIO;
	rc = rc ? pfail(p, "the pool's store record is malformed", rc) : 1;
out:
	rados_ioctx_destroy(io);
	rados_shutdown(cl);
	return rc;
}

static int connect_to(struct rados_chunks *r, const struct chunk_place *p)
{
	char name[sizeof(p->id) + 8];
	int rc = radoslib_load();

	if (rc)
		return rc;
	/* "client.afs", or "afs" for short. */
	snprintf(name, sizeof(name), "%s%s",
		 strchr(p->id, '.') || !p->id[0] ? "" : "client.",
		 p->id[0] ? p->id : "client.admin");
	rc = rados_create2(&r->cluster, "ceph", name, 0);

	if (rc) {
		r->cluster = NULL;
		return fail(r, "cannot create a cluster handle", rc);
	}
	rc = rados_conf_read_file(r->cluster, p->conf);
	if (rc)
		return fail(r, "cannot read the conf", rc);
	deadline(r->cluster, "rados_mon_op_timeout");
	deadline(r->cluster, "rados_osd_op_timeout");
	deadline(r->cluster, "client_mount_timeout");
	/* A daemon holds two connections (chunks, metadata) and a node may
	 * run several processes as one client name: no admin socket, which
	 * all of them would try to bind at one path. */
	rados_conf_set(r->cluster, "admin_socket", "");
	rc = rados_connect(r->cluster);
	if (rc) {
		/* A failed connect leaves a handle only shutdown may take. */
		return fail(r, "cannot connect to the cluster", rc);
	}
	rc = rados_ioctx_create(r->cluster, p->pool, &r->io);
	if (rc == -ENOENT) {
		r->io = NULL;
		store_log(STORE_LOG_ERR,
			  "RADOS pool %s does not exist in the cluster of %s "
			  "(create it first: ceph osd pool create %s)",
			  p->pool, p->conf, p->pool);
		return rc;
	}
	if (rc) {
		r->io = NULL;
		return fail(r, "cannot open the pool", rc);
	}
	return 0;
}

int chunks_rados_open(const struct chunk_place *p, const char *ns,
		      struct chunk_backend **out)
{
	struct rados_chunks *r = calloc(1, sizeof(*r));
	int rc;

	if (!r)
		return -ENOMEM;
	r->b.ops = &rados_ops;
	snprintf(r->pool, sizeof(r->pool), "%s", p->pool);
	snprintf(r->conf, sizeof(r->conf), "%s", p->conf);
	rc = connect_to(r, p);
	if (!rc && ns)
		rados_ioctx_set_namespace(r->io, ns);
	if (rc || !ns) {
		rdc_close(&r->b);
		return rc;
	}
	*out = &r->b;
	return 0;
}
