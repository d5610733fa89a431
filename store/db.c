/*
 * db.c - the RocksDB backend: column families, chunk and metadata access,
 * indexed write batches.  The only file of store/ that sees RocksDB.
 *
 * Chunk payloads go in without the WAL (content is written to disk once,
 * by the flush); metadata goes through the WAL and every batch commit is
 * synced.  RocksDB error strings are translated to errnos here, once.
 */
#include "rocks_i.h"
#include "store_i.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

static const char *const cf_names[CF_COUNT] = {
    "default",	 "chunks", "manifests", "namespace", "lineage",
    "refcounts", "audit",  "secrets",	"meta",
};

struct db {
	rocksdb_t *db;
	rocksdb_options_t *opt;
	rocksdb_options_t *cf_opt[CF_COUNT];
	rocksdb_column_family_handle_t *cf[CF_COUNT];
	rocksdb_writeoptions_t *wo_sync, *wo_nowal, *wo_plain;
	rocksdb_readoptions_t *ro;
	rocksdb_readoptions_t *ro_chunk; /* no CRC: we re-hash every chunk */
	rocksdb_flushoptions_t *fo;
	/* One block cache for every column family, and one memtable budget
	 * (db_write_buffer_size) for all: the daemon's memory stays bounded
	 * whatever the store holds. */
	rocksdb_cache_t *cache;
	rocksdb_block_based_table_options_t *bbto;
	bool read_only; /* opened for reading only: never flushed */
	char *path;
	struct rmeta *rm; /* set: the keys live in RADOS (radosmeta.c) */
	/* A RADOS store's: a db for each shard used (owned, made once). */
	struct db **kids;
	size_t nkids, capkids;
	pthread_mutex_t kids_lock;
};

/* RocksDB aborts (an assertion in its file writer) on some writes that
 * fail for want of space: no write starts without this much room beyond
 * what it writes. */
#define DB_MIN_FREE (512u << 10)

static int db_room(struct db *d, uint64_t need, const char *what)
{
	struct statvfs v;
	uint64_t avail;

	if (statvfs(d->path, &v) < 0)
		return 0; /* cannot tell: let the write say */
	avail = (uint64_t)v.f_bavail * v.f_frsize;
	if (avail >= need + DB_MIN_FREE)
		return 0;
	store_log(STORE_LOG_ERR, "%s: no space left on the store's disk", what);
	return -ENOSPC;
}

struct db_batch {
	struct db *db;
	rocksdb_writebatch_wi_t *wb;
	struct rbatch *rb; /* a RADOS store's batch */
};

/* Translates and logs a RocksDB error; frees it. */
static int db_err(char *err, const char *what)
{
	int rc = -EIO;

	if (!err)
		return 0;
	if (strstr(err, "No space left") || strstr(err, "NoSpace"))
		rc = -ENOSPC;
	store_log(STORE_LOG_ERR, "%s: %s", what, err);
	rocksdb_free(err);
	return rc;
}

/* The shared block cache, and the budget of all memtables together. */
#define DB_BLOCK_CACHE	  (32u << 20)
#define DB_MEMTABLE_TOTAL (96u << 20)

static rocksdb_options_t *cf_options(enum db_cf cf,
				     rocksdb_block_based_table_options_t *bbto)
{
	rocksdb_options_t *o = rocksdb_options_create();

	rocksdb_options_set_block_based_table_factory(o, bbto);

	if (cf == CF_CHUNKS) {
		/* Payloads are already zstd or incompressible: no second
		 * compression, and big values live in blob files so that
		 * compaction moves only keys. */
		rocksdb_options_set_compression(o, rocksdb_no_compression);
		rocksdb_options_set_enable_blob_files(o, 1);
		rocksdb_options_set_min_blob_size(o, 4096);
		rocksdb_options_set_blob_file_size(o, 256 << 20);
		rocksdb_options_set_blob_compression_type(
		    o, rocksdb_no_compression);
		/* Blob GC rewrites live chunks during every compaction (4x
		 * the disk writes on a 10 GiB ingest): only gc turns it on. */
		rocksdb_options_set_enable_blob_gc(o, 0);
		/* 8 MiB memtables: a flush starts every 8 MiB of new chunks
		 * and runs while the put goes on, instead of one long flush
		 * at its commit, and the memory of a flushed memtable is
		 * reused by the next one (a put of new data touched all of
		 * 3 x 32 MiB: a page fault per 4 KiB).  Measured on a series
		 * of 6 checkpoints: about a fifth fewer page faults, 5-8%
		 * less CPU, and faster when the disk is quiet; each flush
		 * makes a blob file, so a put of 128 MiB of new chunks
		 * leaves about 13 of them (RocksDB keeps at most
		 * db_max_open_files() open). */
		rocksdb_options_set_write_buffer_size(o, 8 << 20);
		rocksdb_options_set_max_write_buffer_number(o, 3);
	} else {
		rocksdb_options_set_write_buffer_size(o, 8 << 20);
	}
	return o;
}

/* RocksDB preallocates each new file (fallocate) to about its write
 * buffer: on a small disk a flush then fails with tens of MiB still free.
 * And it flushes what the WAL does not hold when it closes, where a full
 * disk makes it abort: store_close flushes first, when there is room
 * (what is left unflushed is referenced by nothing).  The C API has no
 * setters for these two options. */
static int no_fallocate(struct db *d)
{
	rocksdb_options_t *o = rocksdb_options_create();
	char *err = NULL;

	rocksdb_get_options_from_string(
	    d->opt,
	    "allow_fallocate=false;avoid_flush_during_shutdown=true;"
	    "avoid_flush_during_recovery=true",
	    o, &err);
	if (err) {
		rocksdb_options_destroy(o);
		return db_err(err, "cannot set the store's options");
	}
	rocksdb_options_destroy(d->opt);
	d->opt = o;
	return 0;
}

static void db_free(struct db *d)
{
	for (int i = 0; i < CF_COUNT; i++) {
		if (d->cf[i])
			rocksdb_column_family_handle_destroy(d->cf[i]);
	}
	if (d->db)
		rocksdb_close(d->db);
	for (int i = 0; i < CF_COUNT; i++) {
		if (d->cf_opt[i])
			rocksdb_options_destroy(d->cf_opt[i]);
	}
	if (d->opt)
		rocksdb_options_destroy(d->opt);
	if (d->bbto)
		rocksdb_block_based_options_destroy(d->bbto);
	if (d->cache)
		rocksdb_cache_destroy(d->cache);
	if (d->wo_sync)
		rocksdb_writeoptions_destroy(d->wo_sync);
	if (d->wo_nowal)
		rocksdb_writeoptions_destroy(d->wo_nowal);
	if (d->wo_plain)
		rocksdb_writeoptions_destroy(d->wo_plain);
	if (d->ro)
		rocksdb_readoptions_destroy(d->ro);
	if (d->ro_chunk)
		rocksdb_readoptions_destroy(d->ro_chunk);
	if (d->fo)
		rocksdb_flushoptions_destroy(d->fo);
	free(d->path);
	free(d);
}

/* Files RocksDB keeps open: its default keeps every table and blob file
 * open for good, and a store gets one of each per command that wrote
 * (a put of a file of 4 KiB or more): a few hundred commands later a
 * process with the usual limit of 1024 descriptors could not open the
 * store ("Too many open files").  Half the process's limit, the rest
 * for the mount's handles and clients; files past it are closed and
 * opened again as needed. */
static int db_max_open_files(void)
{
	struct rlimit l;
	rlim_t n;

	if (getrlimit(RLIMIT_NOFILE, &l) < 0 || l.rlim_cur == RLIM_INFINITY)
		return 4096;
	n = l.rlim_cur / 2;
	return n < 32 ? 32 : n > 65536 ? 65536 : (int)n;
}

int db_open(const char *path, bool create, bool read_only, struct db **out)
{
	const rocksdb_options_t *cfo[CF_COUNT];
	char *err = NULL;
	struct db *d;
	int rc = rockslib_load();

	if (rc)
		return rc;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->path = strdup(path);
	d->opt = rocksdb_options_create();
	rocksdb_options_set_create_if_missing(d->opt, create);
	rocksdb_options_set_create_missing_column_families(d->opt, 1);
	rocksdb_options_increase_parallelism(d->opt, 2);
	rocksdb_options_set_max_background_jobs(d->opt, 2);
	rocksdb_options_set_keep_log_file_num(d->opt, 3);
	/* Opening table files at open: RocksDB's default starts 16 threads
	 * per column family, about 130 for a command that runs 50 ms. */
	rocksdb_options_set_max_file_opening_threads(d->opt, 1);
	rocksdb_options_set_max_open_files(d->opt, db_max_open_files());
	/* RocksDB's own log (db/LOG) takes only its header and fatal errors:
	 * a line it cannot write for want of space makes it abort on the
	 * next (at close), and errors reach us as statuses anyway. */
	rocksdb_options_set_info_log_level(d->opt, 4 /* FATAL_LEVEL */);
	/* A file's chunks lie in order in a blob file: let the kernel read
	 * ahead (RocksDB would advise random access). */
	rocksdb_options_set_advise_random_on_open(d->opt, 0);
	/* Preallocation is sized from write buffers: keep it small so that a
	 * store on a small disk fails late (at a real write), not at open. */
	rocksdb_options_set_write_buffer_size(d->opt, 8 << 20);
	rocksdb_options_set_manifest_preallocation_size(d->opt, 64 << 10);
	/* Flushes and compactions write through the page cache, not with
	 * O_DIRECT: a direct write of 1 MiB waits for the disk before the
	 * next, one at a time, and on a disk whose latency swings that made
	 * a flush of 8 MiB take from 10 to over 100 ms.  Written back by the
	 * kernel, many writes are in flight and the flush's fsync waits once
	 * (a put of 1 GiB of new data: 2.9 s against 4.4 to 10.7 s, for 14%
	 * more CPU). */
	rc = no_fallocate(d);
	if (rc) {
		db_free(d);
		return rc;
	}
	rocksdb_options_set_db_write_buffer_size(d->opt, DB_MEMTABLE_TOTAL);
	d->cache = rocksdb_cache_create_lru(DB_BLOCK_CACHE);
	d->bbto = rocksdb_block_based_options_create();
	rocksdb_block_based_options_set_block_cache(d->bbto, d->cache);
	/* Index and filter blocks in the cache too (not outside it, growing
	 * with the data); level 0's stay pinned there. */
	rocksdb_block_based_options_set_cache_index_and_filter_blocks(d->bbto,
								      1);
	rocksdb_block_based_options_set_pin_l0_filter_and_index_blocks_in_cache(
	    d->bbto, 1);
	for (int i = 0; i < CF_COUNT; i++) {
		d->cf_opt[i] = cf_options(i, d->bbto);
		cfo[i] = d->cf_opt[i];
	}
	if (read_only) /* writes nothing, not even a log: read-only media */
		d->db = rocksdb_open_for_read_only_column_families(
		    d->opt, path, CF_COUNT, cf_names, cfo, d->cf, 0, &err);
	else
		d->db = rocksdb_open_column_families(
		    d->opt, path, CF_COUNT, cf_names, cfo, d->cf, &err);
	d->read_only = read_only;
	if (err) {
		rc = db_err(err, "cannot open the store database");
		memset(d->cf, 0, sizeof(d->cf));
		d->db = NULL;
		db_free(d);
		return rc;
	}
	d->wo_sync = rocksdb_writeoptions_create();
	rocksdb_writeoptions_set_sync(d->wo_sync, 1);
	d->wo_nowal = rocksdb_writeoptions_create();
	rocksdb_writeoptions_disable_WAL(d->wo_nowal, 1);
	d->wo_plain = rocksdb_writeoptions_create();
	d->ro = rocksdb_readoptions_create();
	/* Chunk reads are checked by SHA-256 (cas_get): RocksDB's own
	 * checksum of the blob would check the same bytes again. */
	d->ro_chunk = rocksdb_readoptions_create();
	rocksdb_readoptions_set_verify_checksums(d->ro_chunk, 0);
	d->fo = rocksdb_flushoptions_create();
	rocksdb_flushoptions_set_wait(d->fo, 1);
	*out = d;
	return 0;
}

void db_close(struct db *d)
{
	if (d && d->rm) {
		for (size_t i = 0; i < d->nkids; i++)
			free(d->kids[i]); /* their rmeta is d->rm's */
		free(d->kids);
		pthread_mutex_destroy(&d->kids_lock);
		rmeta_close(d->rm);
		free(d);
	} else if (d) {
		db_free(d);
	}
}

int db_open_rados(struct rmeta *m, struct db **out)
{
	struct db *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->rm = m;
	pthread_mutex_init(&d->kids_lock, NULL);
	*out = d;
	return 0;
}

/* The db of shard k of d's store: made at its first use, owned by d. */
static struct db *kid_db(struct db *d, struct rmeta *k)
{
	struct db *kd = NULL;

	pthread_mutex_lock(&d->kids_lock);
	for (size_t i = 0; i < d->nkids && !kd; i++) {
		if (d->kids[i]->rm == k)
			kd = d->kids[i];
	}
	if (!kd && d->nkids == d->capkids) {
		size_t cap = d->capkids ? 2 * d->capkids : 8;
		struct db **n = realloc(d->kids, cap * sizeof(*n));

		if (n)
			d->kids = n, d->capkids = cap;
	}
	if (!kd && d->nkids < d->capkids && (kd = calloc(1, sizeof(*kd)))) {
		kd->rm = k;
		d->kids[d->nkids++] = kd;
	}
	pthread_mutex_unlock(&d->kids_lock);
	return kd;
}

int db_shard(struct db *d, const char *pipeline, bool create, struct db **out)
{
	struct rmeta *k;
	int rc;

	*out = d;
	if (!d->rm)
		return 0;
	rc = rmeta_shard(d->rm, pipeline, create, &k);
	if (rc == -ENOTSUP) /* a store made before shards: all in one */
		return 0;
	if (rc)
		return rc;
	*out = kid_db(d, k);
	return *out ? 0 : -ENOMEM;
}

const uint8_t *db_lane(const struct db *d)
{
	return d->rm ? rmeta_shard_lane(d->rm) : NULL;
}

int db_lane_pipeline(struct db *d, const uint8_t *lane, char *out)
{
	return d->rm ? rmeta_lane_pipeline(d->rm, lane, out) : -ENOENT;
}

const uint8_t *db_batch_lane(const struct db_batch *b)
{
	return db_lane(b->db);
}

struct shards_each {
	struct db *d;
	int (*fn)(void *arg, const char *pipeline, struct db *shard);
	void *arg;
};

static int shard_one(void *arg, struct rmeta *k)
{
	struct shards_each *x = arg;
	struct db *kd = kid_db(x->d, k);

	return kd ? x->fn(x->arg, rmeta_shard_name(k), kd) : -ENOMEM;
}

int db_shards_each(struct db *d,
		   int (*fn)(void *arg, const char *pipeline, struct db *shard),
		   void *arg)
{
	struct shards_each x = {d, fn, arg};

	return d->rm ? rmeta_shards_each(d->rm, shard_one, &x) : 0;
}

struct rmeta *db_rados(struct db *d)
{
	return d ? d->rm : NULL;
}

int db_get(struct db *d, enum db_cf cf, const void *key, size_t klen,
	   void **val, size_t *len)
{
	if (d->rm)
		return rmeta_get(d->rm, cf, key, klen, val, len);
	char *err = NULL;
	char *v = rocksdb_get_cf(d->db, d->ro, d->cf[cf], key, klen, len, &err);

	if (err)
		return db_err(err, "read failed");
	if (!v)
		return -ENOENT;
	*val = v;
	return 0;
}

int db_chunk_read(struct db *d, const uint8_t id[STORE_DIGEST_LEN],
		  int (*fn)(void *arg, const void *val, size_t len), void *arg)
{
	char *err = NULL;
	rocksdb_pinnableslice_t *ps =
	    rocksdb_get_pinned_cf(d->db, d->ro_chunk, d->cf[CF_CHUNKS],
				  (const char *)id, STORE_DIGEST_LEN, &err);
	const char *v;
	size_t len;
	int rc;

	if (err)
		return db_err(err, "read failed");
	if (!ps)
		return -ENOENT;
	v = rocksdb_pinnableslice_value(ps, &len);
	rc = v ? fn(arg, v, len) : -ENOENT;
	rocksdb_pinnableslice_destroy(ps);
	return rc;
}

int db_chunk_put(struct db *d, const uint8_t id[STORE_DIGEST_LEN],
		 const void *val, size_t len)
{
	char *err = NULL;
	int rc = db_room(d, len, "cannot store chunk");

	if (rc)
		return rc;
	rocksdb_put_cf(d->db, d->wo_nowal, d->cf[CF_CHUNKS], (const char *)id,
		       STORE_DIGEST_LEN, val, len, &err);
	return db_err(err, "cannot store chunk");
}

int db_chunk_put_wal(struct db *d, const uint8_t id[STORE_DIGEST_LEN],
		     const void *val, size_t len)
{
	char *err = NULL;
	int rc = db_room(d, len, "cannot store chunk");

	if (rc)
		return rc;
	rocksdb_put_cf(d->db, d->wo_plain, d->cf[CF_CHUNKS], (const char *)id,
		       STORE_DIGEST_LEN, val, len, &err);
	return db_err(err, "cannot store chunk");
}

int db_flush_chunks(struct db *d)
{
	if (d->rm)
		return 0;
	char *err = NULL;
	int rc =
	    db_room(d, db_memtable_bytes(d), "cannot flush chunks to disk");

	if (rc)
		return rc;
	rocksdb_flush_cf(d->db, d->fo, d->cf[CF_CHUNKS], &err);
	return db_err(err, "cannot flush chunks to disk");
}

int db_put(struct db *d, enum db_cf cf, const void *key, size_t klen,
	   const void *val, size_t len)
{
	if (d->rm)
		return rmeta_put(d->rm, cf, key, klen, val, len, false);
	char *err = NULL;
	int rc = db_room(d, klen + len, "write failed");

	if (rc)
		return rc;
	rocksdb_put_cf(d->db, d->wo_plain, d->cf[cf], key, klen, val, len,
		       &err);
	return db_err(err, "write failed");
}

int db_delete(struct db *d, enum db_cf cf, const void *key, size_t klen)
{
	if (d->rm)
		return rmeta_put(d->rm, cf, key, klen, NULL, 0, true);
	char *err = NULL;
	int rc = db_room(d, klen, "delete failed");

	if (rc)
		return rc;
	rocksdb_delete_cf(d->db, d->wo_plain, d->cf[cf], key, klen, &err);
	return db_err(err, "delete failed");
}

int db_batch_open(struct db *d, struct db_batch **out)
{
	struct db_batch *b = calloc(1, sizeof(*b));
	int rc = 0;

	if (!b)
		return -ENOMEM;
	b->db = d;
	if (d->rm)
		b->rb = rmeta_batch_new(d->rm, &rc);
	else
		b->wb = rocksdb_writebatch_wi_create(0, 1);
	if (rc) {
		free(b);
		return rc;
	}
	*out = b;
	return 0;
}

int db_batch_open_lane(struct db *d, struct db_batch **out)
{
	struct db_batch *b;
	int rc = 0;

	if (!d->rm)
		return db_batch_open(d, out);
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->db = d;
	b->rb = rmeta_batch_new_lane(d->rm, &rc);
	if (rc) {
		free(b);
		return rc;
	}
	*out = b;
	return 0;
}

struct db_batch *db_batch_new(struct db *d)
{
	struct db_batch *b = NULL;

	return db_batch_open(d, &b) ? NULL : b;
}

void db_batch_free(struct db_batch *b)
{
	if (!b)
		return;
	if (b->rb)
		rmeta_batch_free(b->rb);
	else
		rocksdb_writebatch_wi_destroy(b->wb);
	free(b);
}

void db_batch_put(struct db_batch *b, enum db_cf cf, const void *key,
		  size_t klen, const void *val, size_t len)
{
	if (b->rb) {
		rmeta_batch_put(b->rb, cf, key, klen, val, len);
		return;
	}
	rocksdb_writebatch_wi_put_cf(b->wb, b->db->cf[cf], key, klen, val, len);
}

void db_batch_delete(struct db_batch *b, enum db_cf cf, const void *key,
		     size_t klen)
{
	if (b->rb) {
		rmeta_batch_delete(b->rb, cf, key, klen);
		return;
	}
	rocksdb_writebatch_wi_delete_cf(b->wb, b->db->cf[cf], key, klen);
}

void db_batch_prefetch(struct db_batch *b, enum db_cf cf, const uint8_t *keys,
		       size_t klen, size_t n)
{
	struct db_key *k = b->rb ? malloc(n * sizeof(*k)) : NULL;

	if (!k)
		return; /* a read ahead is optional */
	for (size_t i = 0; i < n; i++)
		k[i] = (struct db_key){cf, keys + i * klen, klen};
	rmeta_batch_prefetch(b->rb, k, n);
	free(k);
}

void db_batch_prefetch_keys(struct db_batch *b, const struct db_key *keys,
			    size_t n)
{
	if (b->rb)
		rmeta_batch_prefetch(b->rb, keys, n);
}

int db_batch_get(struct db_batch *b, enum db_cf cf, const void *key,
		 size_t klen, void **val, size_t *len)
{
	char *err = NULL;
	char *v;

	if (b->rb)
		return rmeta_batch_get(b->rb, cf, key, klen, val, len);
	v = rocksdb_writebatch_wi_get_from_batch_and_db_cf(
	    b->wb, b->db->db, b->db->ro, b->db->cf[cf], key, klen, len, &err);
	if (err)
		return db_err(err, "read failed");
	if (!v)
		return -ENOENT;
	*val = v;
	return 0;
}

static uint64_t batch_size(struct db_batch *b)
{
	size_t n = 0;

	rocksdb_writebatch_wi_data(b->wb, &n);
	return n;
}

/* Writes b with wo (synced or not); a batch in RADOS commits there. */
static int batch_write(struct db_batch *b, rocksdb_writeoptions_t *wo)
{
	char *err = NULL;
	int rc;

	if (b->rb)
		return rmeta_batch_commit(b->rb);
	rc =
	    db_room(b->db, batch_size(b), "commit failed, nothing was changed");
	if (rc)
		return rc;
	rocksdb_write_writebatch_wi(b->db->db, wo, b->wb, &err);
	return db_err(err, "commit failed, nothing was changed");
}

int db_batch_commit(struct db_batch *b)
{
	return batch_write(b, b->db->wo_sync);
}

int db_batch_commit_nosync(struct db_batch *b)
{
	return batch_write(b, b->db->wo_plain);
}

int db_scan(struct db *d, enum db_cf cf, const void *prefix, size_t plen,
	    db_scan_fn fn, void *arg)
{
	return db_scan_from(d, cf, prefix, plen, prefix, plen, fn, arg);
}

int db_scan_from(struct db *d, enum db_cf cf, const void *prefix, size_t plen,
		 const void *from, size_t flen, db_scan_fn fn, void *arg)
{
	if (d->rm)
		return rmeta_scan_from(d->rm, cf, prefix, plen, from, flen, fn,
				       arg);
	rocksdb_iterator_t *it =
	    rocksdb_create_iterator_cf(d->db, d->ro, d->cf[cf]);
	char *err = NULL;
	int rc = 0;

	if (flen)
		rocksdb_iter_seek(it, from, flen);
	else
		rocksdb_iter_seek_to_first(it);
	for (; rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
		size_t klen, vlen;
		const char *k = rocksdb_iter_key(it, &klen);
		const char *v;

		if (klen < plen || (plen && memcmp(k, prefix, plen) != 0))
			break;
		v = rocksdb_iter_value(it, &vlen);
		rc = fn(arg, k, klen, v, vlen);
		if (rc)
			break;
	}
	rocksdb_iter_get_error(it, &err);
	if (err && !rc)
		rc = db_err(err, "scan failed");
	else if (err)
		rocksdb_free(err);
	rocksdb_iter_destroy(it);
	return rc;
}

uint64_t db_disk_size(struct db *d)
{
	if (d->rm)
		return 0; /* in the cluster, not on this disk */
	static const char *const props[] = {"rocksdb.live-sst-files-size",
					    "rocksdb.live-blob-file-size"};
	uint64_t total = 0;

	for (int i = 0; i < CF_COUNT; i++) {
		for (size_t j = 0; j < 2; j++) {
			char *v = rocksdb_property_value_cf(d->db, d->cf[i],
							    props[j]);

			if (v) {
				total += strtoull(v, NULL, 10);
				rocksdb_free(v);
			}
		}
	}
	return total;
}

uint64_t db_memtable_bytes(struct db *d)
{
	if (!d || d->rm)
		return 0;
	uint64_t n = 0;

	if (rocksdb_property_int_cf(d->db, d->cf[CF_CHUNKS],
				    "rocksdb.cur-size-all-mem-tables", &n))
		return 0;
	return n;
}

static int blob_gc(struct db *d, enum db_cf cf, bool on)
{
	const char *keys[] = {"enable_blob_garbage_collection",
			      "blob_garbage_collection_age_cutoff"};
	const char *vals[] = {on ? "true" : "false", on ? "1.0" : "0.25"};
	char *err = NULL;

	rocksdb_set_options_cf(d->db, d->cf[cf], 2, keys, vals, &err);
	return db_err(err, "cannot switch blob garbage collection");
}

int db_compact(struct db *d, enum db_cf cf, bool blobs)
{
	if (d->rm)
		return 0; /* the cluster compacts its own */
	int rc = blobs ? blob_gc(d, cf, true) : 0;

	if (!rc)
		rocksdb_compact_range_cf(d->db, d->cf[cf], NULL, 0, NULL, 0);
	if (blobs)
		blob_gc(d, cf, false);
	return rc;
}

uint64_t db_blob_bytes(struct db *d, enum db_cf cf)
{
	if (d->rm)
		return 0;
	uint64_t n = 0;

	if (rocksdb_property_int_cf(d->db, d->cf[cf],
				    "rocksdb.live-blob-file-size", &n))
		return 0;
	return n;
}

struct copy {
	struct db *to;
	struct db_batch *b;
	enum db_cf cf;
	size_t n;
	int rc;
};

static int copy_one(void *arg, const void *key, size_t klen, const void *val,
		    size_t vlen)
{
	struct copy *c = arg;

	db_batch_put(c->b, c->cf, key, klen, val, vlen);
	if (++c->n % 4096 == 0) {
		int rc = db_batch_commit_nosync(c->b);

		db_batch_free(c->b);
		c->b = rc ? NULL : db_batch_new(c->to);
		if (!c->b)
			return rc ? rc : -ENOMEM;
	}
	return 0;
}

/* A RADOS store's metadata copied key by key into a new RocksDB at dir. */
static int copy_out(struct db *d, const char *dir)
{
	struct copy c = {0};
	int rc = db_open(dir, true, false, &c.to);

	if (rc)
		return rc;
	c.b = db_batch_new(c.to);
	rc = c.b ? 0 : -ENOMEM;
	for (int cf = 0; !rc && cf < CF_COUNT; cf++) {
		c.cf = (enum db_cf)cf;
		rc = db_scan(d, c.cf, NULL, 0, copy_one, &c);
	}
	if (!rc)
		rc = db_batch_commit(c.b);
	db_batch_free(c.b);
	db_close(c.to);
	return rc;
}

int db_checkpoint(struct db *d, const char *dir)
{
	char *err = NULL;
	rocksdb_checkpoint_t *cp;

	if (d->rm)
		return copy_out(d, dir);
	cp = rocksdb_checkpoint_object_create(d->db, &err);
	/* Memtables are flushed first: the copy needs no log. */
	if (!err)
		rocksdb_checkpoint_create(cp, dir, 0, &err);
	if (cp)
		rocksdb_checkpoint_object_destroy(cp);
	return db_err(err, "cannot copy the store");
}
