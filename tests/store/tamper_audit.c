/*
 * tamper_audit - test tool: damages a closed store's audit journal the way
 * an attacker without the key could.
 *
 *     tamper_audit STORE_DIR flip|delete|swap|insert|truncate SEQ
 *
 * flip changes one byte of record SEQ, delete removes it, swap exchanges
 * records SEQ and SEQ+1, insert moves the records after SEQ one place on
 * and puts a forged record (record SEQ with one byte changed) at SEQ+1,
 * truncate cuts off every record after SEQ and rewrites the head to name
 * record SEQ by its hash (what the chain alone cannot detect), omit
 * replaces record SEQ by the stub a trimmed export keeps for a record it
 * left out (the chain still checks: only the export's MANIFEST tells).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_i.h"

static void rec_key(uint8_t k[9], uint64_t seq)
{
	k[0] = 'r';
	for (int i = 0; i < 8; i++)
		k[1 + i] = (uint8_t)(seq >> (56 - 8 * i));
}

/* Removes the records after seq and points the head at record seq. */
static int truncate_after(struct db *db, uint64_t seq, const void *v,
			  size_t len)
{
	uint8_t k[9], head[8 + STORE_DIGEST_LEN];
	void *next;
	size_t nlen;
	int rc;

	for (uint64_t n = seq + 1;; n++) {
		rec_key(k, n);
		rc = db_get(db, CF_AUDIT, k, 9, &next, &nlen);
		if (rc == -ENOENT)
			break;
		free(next);
		if (!rc)
			rc = db_delete(db, CF_AUDIT, k, 9);
		if (rc)
			return rc;
	}
	for (int i = 0; i < 8; i++)
		head[i] = (uint8_t)(seq >> (56 - 8 * i));
	rc = store_digest_buf(v, len, head + 8);
	return rc ? rc : db_put(db, CF_AUDIT, "head", 4, head, sizeof(head));
}

/* Moves the records after seq one place on; a forgery at seq + 1. */
static int insert_after(struct db *db, uint64_t seq, uint8_t *v, size_t len)
{
	uint64_t last = seq;
	uint8_t k[9], k2[9];
	void *val;
	size_t vlen;
	int rc;

	for (;; last++) {
		rec_key(k, last + 1);
		rc = db_get(db, CF_AUDIT, k, 9, &val, &vlen);
		if (rc == -ENOENT)
			break;
		if (rc)
			return rc;
		free(val);
	}
	for (uint64_t n = last; n > seq; n--) {
		rec_key(k, n);
		rec_key(k2, n + 1);
		rc = db_get(db, CF_AUDIT, k, 9, &val, &vlen);
		if (!rc)
			rc = db_put(db, CF_AUDIT, k2, 9, val, vlen);
		free(val);
		if (rc)
			return rc;
	}
	v[len - 1] ^= 0x01;
	rec_key(k, seq + 1);
	return db_put(db, CF_AUDIT, k, 9, v, len);
}

/* Record seq (v) becomes a stub: 'o' + seq -> prev || hash. */
static int omit(struct db *db, const uint8_t k[9], const uint8_t *v, size_t len)
{
	uint8_t stub[9], link[2 * STORE_DIGEST_LEN];
	int rc;

	if (len < 2 * STORE_DIGEST_LEN)
		return -EINVAL;
	memcpy(link, v + len - 2 * STORE_DIGEST_LEN, STORE_DIGEST_LEN);
	rc = store_digest_buf(v, len, link + STORE_DIGEST_LEN);
	memcpy(stub, k, 9);
	stub[0] = 'o';
	if (!rc)
		rc = db_put(db, CF_AUDIT, stub, 9, link, sizeof(link));
	return rc ? rc : db_delete(db, CF_AUDIT, k, 9);
}

int main(int argc, char **argv)
{
	uint8_t k1[9], k2[9];
	void *v1 = NULL, *v2 = NULL;
	size_t l1, l2;
	struct db *db;
	char path[4096];
	uint64_t seq;
	int rc;

	if (argc != 4) {
		fprintf(stderr,
			"usage: %s STORE_DIR flip|delete|swap|insert|truncate"
			"|omit SEQ\n",
			argv[0]);
		return 2;
	}
	seq = strtoull(argv[3], NULL, 10);
	snprintf(path, sizeof(path), "%s/db", argv[1]);
	if (db_open(path, false, false, &db))
		return 1;
	rec_key(k1, seq);
	rec_key(k2, seq + 1);
	rc = db_get(db, CF_AUDIT, k1, 9, &v1, &l1);
	if (!rc && !strcmp(argv[2], "flip")) {
		((uint8_t *)v1)[l1 / 2] ^= 0x01;
		rc = db_put(db, CF_AUDIT, k1, 9, v1, l1);
	} else if (!rc && !strcmp(argv[2], "delete")) {
		rc = db_delete(db, CF_AUDIT, k1, 9);
	} else if (!rc && !strcmp(argv[2], "insert")) {
		rc = insert_after(db, seq, v1, l1);
	} else if (!rc && !strcmp(argv[2], "omit")) {
		rc = omit(db, k1, v1, l1);
	} else if (!rc && !strcmp(argv[2], "truncate")) {
		rc = truncate_after(db, seq, v1, l1);
	} else if (!rc && !strcmp(argv[2], "swap")) {
		rc = db_get(db, CF_AUDIT, k2, 9, &v2, &l2);
		if (!rc)
			rc = db_put(db, CF_AUDIT, k1, 9, v2, l2);
		if (!rc)
			rc = db_put(db, CF_AUDIT, k2, 9, v1, l1);
	}
	free(v1);
	free(v2);
	db_close(db);
	if (rc)
		fprintf(stderr, "%s: cannot %s record %s\n", argv[0], argv[2],
			argv[3]);
	return rc ? 1 : 0;
}
