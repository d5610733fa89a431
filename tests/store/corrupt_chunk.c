/*
 * corrupt_chunk - test tool: flips one byte of the stored payload of every
 * chunk of a closed store (as a failing disk would), so that tests of the
 * command line and the mount can show reads failing with EIO.
 *
 *     corrupt_chunk STORE_DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_i.h"

struct flip {
	struct db *db;
	unsigned long n;
	int rc;
};

static int flip_one(void *arg, const void *key, size_t klen, const void *val,
		    size_t vlen)
{
	struct flip *f = arg;
	unsigned char *copy;

	if (klen != STORE_DIGEST_LEN || vlen < 2)
		return 0;
	copy = malloc(vlen);
	if (!copy)
		return -1;
	memcpy(copy, val, vlen);
	copy[vlen - 1] ^= 0x5a;
	f->rc = db_chunk_put(f->db, key, copy, vlen);
	free(copy);
	f->n++;
	return f->rc;
}

int main(int argc, char **argv)
{
	struct flip f = {0};
	char path[4096];

	if (argc != 2) {
		fprintf(stderr, "usage: %s STORE_DIR\n", argv[0]);
		return 2;
	}
	snprintf(path, sizeof(path), "%s/db", argv[1]);
	if (db_open(path, false, false, &f.db)) {
		fprintf(stderr, "%s: cannot open %s\n", argv[0], path);
		return 1;
	}
	db_scan(f.db, CF_CHUNKS, NULL, 0, flip_one, &f);
	/* Chunk puts skip the WAL, and a close does not flush. */
	if (!f.rc && f.n)
		f.rc = db_flush_chunks(f.db);
	db_close(f.db);
	printf("corrupted %lu chunks\n", f.n);
	return f.rc || f.n == 0;
}
