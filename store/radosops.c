/*
 * radosops.c - the write ops that must work on a full pool: the cls_lock
 * calls (lock, unlock, break) and removals, all with
 * LIBRADOS_OPERATION_FULL_FORCE (see rados_i.h).
 *
 * librados's rados_lock_exclusive, rados_unlock and rados_break_lock take
 * no operation flags: on a pool at its quota (or a full cluster) they
 * wait like any write, so a store whose pool filled up could take no
 * commit lock, not even for gc to free room.  The same calls made as a
 * step of a write op (rados_write_op_exec of the "lock" class) take the
 * op's flags.  Their input is the class's own encoding of its request
 * (Ceph's versioned encoding: u8 version, u8 compat, le32 length, then
 * the fields; strings as le32 length and bytes; a duration as le32
 * seconds and le32 nanoseconds; an entity name as u8 type and le64 id).
 */
#include "rados_i.h"
#include "store_i.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOCK_EXCLUSIVE	   1	/* ClsLockType */
#define ENTITY_TYPE_CLIENT 0x08 /* CEPH_ENTITY_TYPE_CLIENT */
#define REQ_MAX		   1024

struct req {
	uint8_t b[REQ_MAX];
	size_t n;
	bool bad; /* a field did not fit */
};

static void put_bytes(struct req *q, const void *p, size_t len)
{
	if (q->bad || len > REQ_MAX - q->n) {
		q->bad = true;
		return;
	}
	memcpy(q->b + q->n, p, len);
	q->n += len;
}

static void put_le(struct req *q, uint64_t v, int bytes)
{
	uint8_t b[8];

	for (int i = 0; i < bytes; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	put_bytes(q, b, (size_t)bytes);
}

static void put_str(struct req *q, const char *s)
{
	size_t len = strlen(s);

	put_le(q, len, 4);
	put_bytes(q, s, len);
}

/* The envelope (version 1, compat 1, length): begun before the fields,
 * its length set after them. */
static void begin(struct req *q)
{
	q->n = 0;
	q->bad = false;
	put_le(q, 1, 1);
	put_le(q, 1, 1);
	put_le(q, 0, 4);
}

static void finish(struct req *q)
{
	uint32_t len = (uint32_t)(q->n - 6);

	for (int i = 0; i < 4; i++)
		q->b[2 + i] = (uint8_t)(len >> (8 * i));
}

/* Runs method of the lock class with q on oid, FULL_FORCE; with c, starts
 * it and returns (the completion says how it went). */
static int call(rados_ioctx_t io, const char *oid, const char *method,
		struct req *q, rados_completion_t c)
{
	rados_write_op_t op;
	int rc;

	if (q->bad)
		return -ENAMETOOLONG;
	finish(q);
	op = rados_create_write_op();
	if (!op)
		return -ENOMEM;
	rados_write_op_exec(op, "lock", method, (const char *)q->b, q->n, NULL);
	rc = c ? rados_aio_write_op_operate(op, io, c, oid, NULL,
					    LIBRADOS_OPERATION_FULL_FORCE)
	       : rados_write_op_operate(op, io, oid, NULL,
					LIBRADOS_OPERATION_FULL_FORCE);
	rados_release_write_op(op);
	return rc;
}

int rlock_lock(rados_ioctx_t io, const char *oid, const char *name,
	       const char *cookie, const char *desc, unsigned lease_s,
	       unsigned flags)
{
	struct req q;

	begin(&q);
	put_str(&q, name);
	put_le(&q, LOCK_EXCLUSIVE, 1);
	put_str(&q, cookie);
	put_str(&q, ""); /* tag */
	put_str(&q, desc);
	put_le(&q, lease_s, 4);
	put_le(&q, 0, 4);
	put_le(&q, flags, 1);
	return call(io, oid, "lock", &q, NULL);
}

int rlock_unlock(rados_ioctx_t io, const char *oid, const char *name,
		 const char *cookie, rados_completion_t c)
{
	struct req q;

	begin(&q);
	put_str(&q, name);
	put_str(&q, cookie);
	return call(io, oid, "unlock", &q, c);
}

int rlock_break(rados_ioctx_t io, const char *oid, const char *name,
		const char *client, const char *cookie)
{
	struct req q;
	char *end;
	long long num;

	/* The locker as rados_list_lockers names it: "client.<id>". */
	if (strncmp(client, "client.", 7))
		return -EINVAL;
	num = strtoll(client + 7, &end, 10);
	if (*end || end == client + 7 || num < 0)
		return -EINVAL;
	begin(&q);
	put_str(&q, name);
	put_le(&q, ENTITY_TYPE_CLIENT, 1);
	put_le(&q, (uint64_t)num, 8);
	put_str(&q, cookie);
	return call(io, oid, "break_lock", &q, NULL);
}

int robj_remove(rados_ioctx_t io, const char *oid)
{
	rados_write_op_t op = rados_create_write_op();
	int rc;

	if (!op)
		return -ENOMEM;
	rados_write_op_remove(op);
	rc = rados_write_op_operate(op, io, oid, NULL,
				    LIBRADOS_OPERATION_FULL_FORCE);
	rados_release_write_op(op);
	return rc;
}

const char *rados_hint(int rc)
{
	switch (rc) {
	case -ETIMEDOUT:
		return " (is the cluster up?)";
	case -EDQUOT:
		return " (the pool is at its quota: nothing new was stored; "
		       "'artifactfs gc' frees what nothing references, and "
		       "'ceph osd pool set-quota' raises it)";
	case -ENOSPC:
		return " (the cluster is full: nothing new was stored; "
		       "'artifactfs gc' frees what nothing references)";
	default:
		return "";
	}
}

int rados_fail(const char *pool, const char *conf, const char *what, int rc)
{
	store_log(STORE_LOG_ERR, "RADOS pool %s (conf %s): %s: %s%s", pool,
		  conf, what, strerror(-rc), rados_hint(rc));
	return rc;
}
