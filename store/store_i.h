/*
 * store/store_i.h - internals shared by the files of store/ (never
 * included outside this folder, except by store/'s own unit tests).
 *
 * The persistence sits behind the db_* functions below (db.c): metadata
 * get/scan/commit in RocksDB, always local.  Chunk bytes sit behind
 * struct chunk_backend (chunks.c): the same RocksDB, or a RADOS pool
 * (rados.c).  Everything else in store/ talks to db_* and s->chunks,
 * never to RocksDB or librados.  The key layout is in store/FORMAT.md.
 */
#ifndef ARTIFACTFS_STORE_I_H
#define ARTIFACTFS_STORE_I_H

#include "store.h"

#include <pthread.h>

/* Column families, one job each (FORMAT.md). */
enum db_cf {
	CF_DEFAULT = 0,
	CF_CHUNKS,
	CF_MANIFESTS,
	CF_NAMESPACE,
	CF_LINEAGE,
	CF_REFCOUNTS,
	CF_AUDIT,
	CF_SECRETS,
	CF_META,
	CF_COUNT
};

/* Chunk value codecs (first byte of a value in CF_CHUNKS). */
enum chunk_codec {
	CODEC_RAW = 0,
	CODEC_ZSTD = 1,
};

struct db;
struct db_batch;
struct pool;
struct chunk_set;
struct chunk_cache;
struct dir_cache;
struct mf_hints;

/* ------------------------------------------------------------ gate.c
 * Ingest shared, gc exclusive: a writer or put holds a share from its
 * start to its finish or abort (across calls and threads); gc and fsck
 * close the gate, waiting for every share to end.  Shares are granted
 * while gc only waits, so they nest.  The mutex is held only to count:
 * nothing stays locked between calls.
 */
struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned shared;
	bool exclusive;
};

void gate_init(struct gate *g);
void gate_release(struct gate *g);
/** Takes a share; waits while the gate is closed. */
void gate_share(struct gate *g);
/** Drops a share (any thread may drop it). */
void gate_unshare(struct gate *g);
/** Closes the gate: waits until no share is held, then holds it alone. */
void gate_close(struct gate *g);
/** Opens the gate closed by gate_close. */
void gate_open(struct gate *g);

/* A node's id (a store shared by nodes), as bytes: in the keys of its
 * lane of the journal (audit.c). */
#define AUDIT_NODE_LEN 16

struct store {
	char *dir;
	char id[33];
	char node[33]; /* this node of a store in RADOS; "" otherwise */
	uint8_t node_id[AUDIT_NODE_LEN]; /* the same, as bytes */
	pthread_mutex_t lane_lock;	 /* serializes this node's lane */
	struct store_options opt;
	int lock_fd;
	struct db *db;
	struct pool *pool;	      /* CPU work: hashing, zstd */
	struct pool *io_pool;	      /* blocking reads: prefetch */
	struct chunk_cache *cache;    /* decoded chunks shared by readers */
	struct dir_cache *dcache;     /* decoded directory listings */
	struct mf_hints *hints;	      /* manifests just recorded (RADOS) */
	struct chunk_set *pending;    /* chunks stored, not yet referenced */
	struct chunk_backend *chunks; /* where chunk bytes live */
	uint8_t *audit_key; /* journal on: every change carries a record */
	size_t audit_klen;
	pthread_mutex_t commit_lock; /* serializes read-modify-write commits */
	struct gate gc_gate;	     /* ingest shared, gc exclusive */
	uint64_t binding_gen; /* bumped by each binding change (atomic) */
	uint64_t secret_gen;  /* bumped by each secret change (atomic) */
	uint64_t chunk_loads; /* chunks fetched, decoded, verified (atomic) */
	uint64_t chunk_load_bytes; /* their plain bytes (atomic) */
	/* Edits each journal record's path before it is staged (set
	 * before the store is shared: read without a lock). */
	store_log_filter_fn audit_filter;
	void *audit_filter_arg;
	bool read_only; /* on read-only media: every change -EROFS */
	bool exported;	/* an export (store_is_export): read-only too */
	/* Told of other nodes' commits (store_on_remote_change; set before
	 * the store is shared). */
	void (*remote_fn)(void *arg);
	void *remote_arg;
};

/* ------------------------------------------------------------- db.c */

/** Logs why the read-only store s cannot change; returns -EROFS. */
int store_ro_refuse(const struct store *s);

/** Opens (create: creating) the RocksDB under path; read_only: for
 * reading only, writing nothing there (read-only media).  -EIO with a
 * logged message on failure. */
int db_open(const char *path, bool create, bool read_only, struct db **out);
void db_close(struct db *db);

/** Gets key from cf.  Returns 0 and a malloc'd *val (caller frees) with
 * *len, -ENOENT, or -EIO. */
int db_get(struct db *db, enum db_cf cf, const void *key, size_t klen,
	   void **val, size_t *len);

/** Calls fn with chunk id's stored value, read in place (no copy); the
 * value lives only during fn.  Returns fn's result, -ENOENT, -EIO. */
int db_chunk_read(struct db *db, const uint8_t id[STORE_DIGEST_LEN],
		  int (*fn)(void *arg, const void *val, size_t len), void *arg);

/** Puts a chunk payload without the WAL (made durable by db_flush_chunks
 * before anything references it). */
int db_chunk_put(struct db *db, const uint8_t id[STORE_DIGEST_LEN],
		 const void *val, size_t len);

/** Puts a small chunk payload through the WAL: durable with the next
 * synced commit, no flush needed (used for chunks under SMALL_CHUNK). */
int db_chunk_put_wal(struct db *db, const uint8_t id[STORE_DIGEST_LEN],
		     const void *val, size_t len);
#define SMALL_CHUNK (64 << 10)

/** Flushes the chunks column family to disk and waits (db_close does
 * not: chunks put without the WAL and not flushed are dropped). */
int db_flush_chunks(struct db *db);

/** Put of one key through the WAL, not synced by itself: the next
 * db_batch_commit syncs the log and with it this write. */
int db_put(struct db *db, enum db_cf cf, const void *key, size_t klen,
	   const void *val, size_t len);

/** An indexed write batch: reads see its own pending writes. */
struct db_batch *db_batch_new(struct db *db);
/** As db_batch_new, saying why it failed: a RADOS store's batch takes
 * the cluster's commit lock (-EBUSY, -ETIMEDOUT, -EIO). */
int db_batch_open(struct db *db, struct db_batch **out);
/** A batch of a store in RADOS that takes no cluster lock and is not
 * counted: for keys only this node writes (its lane of the journal). */
int db_batch_open_lane(struct db *db, struct db_batch **out);
void db_batch_free(struct db_batch *b);
void db_batch_put(struct db_batch *b, enum db_cf cf, const void *key,
		  size_t klen, const void *val, size_t len);
void db_batch_delete(struct db_batch *b, enum db_cf cf, const void *key,
		     size_t klen);
/** Reads n keys of klen bytes each (packed in keys) ahead, in one
 * request where the keys are remote (RADOS), so that the db_batch_get
 * of each that follows costs nothing; a no-op for RocksDB. */
void db_batch_prefetch(struct db_batch *b, enum db_cf cf, const uint8_t *keys,
		       size_t klen, size_t n);
/* A key of a column family (db_batch_prefetch_keys). */
struct db_key {
	enum db_cf cf;
	const uint8_t *key;
	size_t klen;
};
/** As db_batch_prefetch, for n keys of any column families. */
void db_batch_prefetch_keys(struct db_batch *b, const struct db_key *keys,
			    size_t n);
/** Like db_get, seeing the batch's pending writes first. */
int db_batch_get(struct db_batch *b, enum db_cf cf, const void *key,
		 size_t klen, void **val, size_t *len);
/** Commits the batch atomically with the WAL synced.  -EIO, -ENOSPC. */
int db_batch_commit(struct db_batch *b);
/** Commits atomically without waiting for the disk: after a crash the
 * batch is there whole or not at all, as are all later ones. */
int db_batch_commit_nosync(struct db_batch *b);

/** Iterates keys of cf starting with prefix (plen may be 0), in order.
 * fn returns non-zero to stop (returned).  val is only valid during fn. */
typedef int (*db_scan_fn)(void *arg, const void *key, size_t klen,
			  const void *val, size_t vlen);
int db_scan(struct db *db, enum db_cf cf, const void *prefix, size_t plen,
	    db_scan_fn fn, void *arg);
/** As db_scan, from the first key at or after from (which starts with
 * prefix): a listing that goes on where an earlier one stopped. */
int db_scan_from(struct db *db, enum db_cf cf, const void *prefix, size_t plen,
		 const void *from, size_t flen, db_scan_fn fn, void *arg);

/** Deletes a key, no WAL sync needed (used by gc, then flushed). */
int db_delete(struct db *db, enum db_cf cf, const void *key, size_t klen);

/** Approximate on-disk size of the whole database in bytes. */
uint64_t db_disk_size(struct db *db);

/** Bytes of chunks held in memory, not yet written to disk. */
uint64_t db_memtable_bytes(struct db *db);

/* --------------------------------------------------------- space.c
 * The margins that keep a store on a full disk usable (space.c). */

/** -ENOSPC when writing need more bytes (plus what memory still holds)
 * would leave less than the headroom free; 0 otherwise. */
int space_check(struct store *s, uint64_t need);
/** Whether need bytes fit on dir's disk besides the headroom. */
bool space_room(const char *dir, uint64_t need);
/** Whether less than the headroom is free on dir's disk. */
bool space_low(const char *dir);
/** Whether dir holds its reserve file. */
bool space_reserve_held(const char *dir);
/** Makes dir's reserve file when there is room and it is missing. */
void space_reserve_make(const char *dir);
/** Like space_reserve_make, waiting up to 3 s for the room that files
 * being deleted give back (after gc). */
void space_reserve_make_wait(const char *dir);
/** Gives the reserve's space back (logged with why).  Whether it did. */
bool space_reserve_release(const char *dir, const char *why);

/* ------------------------------------------------------- chunker.c */

struct chunker {
	uint32_t min, avg, max;
	uint64_t mask_s, mask_l; /* normalized chunking masks */
	uint64_t hash;
	uint32_t pos; /* bytes since the chunk start */
};

void chunker_init(struct chunker *c, uint32_t min, uint32_t avg, uint32_t max);

/**
 * Feeds len bytes of the current chunk.  Returns the number of bytes
 * consumed; when that is <= len and *cut is set, a chunk ends after them
 * (the chunker is reset for the next).  Never consumes past a cut.
 */
size_t chunker_feed(struct chunker *c, const uint8_t *buf, size_t len,
		    bool *cut);

/* ------------------------------------------------- chunks.c, rados.c
 * Where chunk payloads live, behind one small interface: the store's own
 * RocksDB (CF_CHUNKS, the default) or a RADOS pool (rados.c), one object
 * per chunk named by its SHA-256 in hex, in a namespace named by the
 * store's id.  A store in RADOS keeps its metadata there too
 * (radosmeta.c); one made before that keeps it in the local RocksDB.
 *
 * Values are what cas.c stores: a codec byte, then the payload.
 */
typedef int (*chunk_read_fn)(void *arg, const void *val, size_t len);

struct chunk_backend;

struct chunk_ops {
	const char *name; /* "rocksdb", "rados" */
	/* In the store's own database: on its disk (space.c counts it),
	 * made durable by db_flush_chunks, deleted inside gc's batch. */
	bool local;
	/** Stores val as chunk id unless it is there already (0 either
	 * way: a dedup hit, never a read-modify-write).  small: rides the
	 * WAL (RocksDB); a remote put is durable when it returns. */
	int (*put)(struct chunk_backend *b, const uint8_t id[STORE_DIGEST_LEN],
		   const void *val, size_t len, bool small);
	/** Calls fn with chunk id's stored value (at most cap bytes are
	 * expected: a longer value is passed cut, and fails its decode).
	 * Returns fn's result, -ENOENT, -EIO or another -errno. */
	int (*get)(struct chunk_backend *b, const uint8_t id[STORE_DIGEST_LEN],
		   size_t cap, chunk_read_fn fn, void *arg);
	/** Deletes chunk id (absent: 0). */
	int (*remove)(struct chunk_backend *b,
		      const uint8_t id[STORE_DIGEST_LEN]);
	/** Stamps chunk id as put now (0), or -ENOENT when it is not
	 * there.  NULL for a local backend. */
	int (*touch)(struct chunk_backend *b,
		     const uint8_t id[STORE_DIGEST_LEN]);
	/** Deletes chunk id unless it was put after cutoff (ns since the
	 * epoch), even while this runs: 0 removed or absent, 1 kept.  NULL
	 * for a local backend (its gc holds every writer off). */
	int (*remove_before)(struct chunk_backend *b,
			     const uint8_t id[STORE_DIGEST_LEN],
			     int64_t cutoff);
	/** Calls fn(key, klen, val, vlen) for every stored chunk; the key is
	 * the 32-byte id (another length: a malformed entry).  values
	 * false: val is NULL, vlen the stored size. */
	int (*each)(struct chunk_backend *b, bool values, db_scan_fn fn,
		    void *arg);
	void (*close)(struct chunk_backend *b);
};

struct chunk_backend {
	const struct chunk_ops *ops;
};

/** The RocksDB backend on db (not owned: closed with the store). */
int chunks_db_open(struct db *db, struct chunk_backend **out);

/** Where a store's chunks live (CF_META "chunks"; absent: local). */
struct chunk_place {
	char pool[128], conf[1024], id[128]; /* id "" : client.admin */
};

/** Reads the store's chunk place: 1 for RADOS (filled), 0 for local. */
int chunks_place_get(struct db *db, struct chunk_place *p);
/** Records p in a new store's batch. */
void chunks_place_put(struct db_batch *b, const struct chunk_place *p);
/** Forgets the place (a copy whose chunks were brought in). */
int chunks_place_drop(struct db *db);

/** Connects to the place's cluster and opens its pool, objects in the
 * namespace ns (the store's id; NULL: checks the pool only and closes).
 * -ENOTSUP when built without librados; a clear logged message naming
 * the conf and the pool on every failure. */
int chunks_rados_open(const struct chunk_place *p, const char *ns,
		      struct chunk_backend **out);

/** Connects to the place's cluster and opens its pool (rados.c): *cluster
 * and *io are a rados_t and a rados_ioctx_t.  A clear logged message
 * naming the conf and the pool on failure (the handles are then closed). */
int rados_place_connect(const struct chunk_place *p, void **cluster, void **io);

/** The store id recorded in the place's pool (object "artifactfs.store"),
 * claiming it with id when the pool holds none: fills have and returns 1
 * when another store was there already (a join), 0 when id was claimed. */
int rados_store_claim(const struct chunk_place *p, const char *id,
		      char have[33]);

/* --------------------------------------------------------- radosmeta.c
 * The metadata of a store that lives in a RADOS pool (radosmeta.c): the
 * db_* calls of such a store land here (db.c dispatches). */
struct rmeta;
struct rbatch;

/* What a commit of another node changed (the hook's what). */
#define RMETA_NAMESPACE 1u
#define RMETA_BINDINGS	2u
#define RMETA_SECRETS	4u

int rmeta_open(const struct chunk_place *p, const char *store_id,
	       struct rmeta **out);
void rmeta_close(struct rmeta *m);
/** Makes the metadata object of a new store (there already: 0). */
int rmeta_create(struct rmeta *m);
/** Watches for other nodes' commits: fn(arg, RMETA_*) on each. */
int rmeta_watch(struct rmeta *m, void (*fn)(void *arg, unsigned what),
		void *arg);
/** Returns once no hook call is running. */
void rmeta_barrier(struct rmeta *m);
int rmeta_get(struct rmeta *m, enum db_cf cf, const void *key, size_t klen,
	      void **val, size_t *len);
int rmeta_put(struct rmeta *m, enum db_cf cf, const void *key, size_t klen,
	      const void *val, size_t len, bool del);
/** When a manifest key was put outside a batch (ns since the epoch);
 * -ENOENT when no time is kept for it. */
int rmeta_put_time(struct rmeta *m, enum db_cf cf, const void *key, size_t klen,
		   int64_t *ns);
int rmeta_scan_from(struct rmeta *m, enum db_cf cf, const void *prefix,
		    size_t plen, const void *from, size_t flen, db_scan_fn fn,
		    void *arg);
/** Takes the cluster-wide commit lock (waiting for another node's) and
 * reads the commit count; NULL with *err on failure. */
struct rbatch *rmeta_batch_new(struct rmeta *m, int *err);
/** A batch without the lock, committed without the count (keys that
 * only this node writes). */
struct rbatch *rmeta_batch_new_lane(struct rmeta *m, int *err);
/** Drops the batch and the lock. */
void rmeta_batch_free(struct rbatch *b);
void rmeta_batch_put(struct rbatch *b, enum db_cf cf, const void *key,
		     size_t klen, const void *val, size_t len);
void rmeta_batch_delete(struct rbatch *b, enum db_cf cf, const void *key,
			size_t klen);
int rmeta_batch_get(struct rbatch *b, enum db_cf cf, const void *key,
		    size_t klen, void **val, size_t *len);
void rmeta_batch_prefetch(struct rbatch *b, const struct db_key *keys,
			  size_t n);
/** Completes a commit of many parts its process left unfinished (died
 * part way), if the store names one: 0, or -errno (logged). */
int rmeta_settle(struct rmeta *m);
/** Commits as one write op guarded by the commit count (-EAGAIN: another
 * node took over a lapsed lock; nothing changed). */
int rmeta_batch_commit(struct rbatch *b);

/** The shard of pipeline's open runs (radosmeta.c, "shards"): opened at
 * its first use in this process, named in the store first when create
 * (else -ENOENT for a pipeline none was made for).  Owned by m. */
int rmeta_shard(struct rmeta *m, const char *pipeline, bool create,
		struct rmeta **out);
/** A shard's pipeline, or NULL for the store's object. */
const char *rmeta_shard_name(const struct rmeta *m);
/** A shard's lane id (AUDIT_NODE_LEN bytes), or NULL. */
const uint8_t *rmeta_shard_lane(const struct rmeta *m);
/** The pipeline (STORE_NAME_MAX + 1 bytes) whose shard has lane id lane
 * (AUDIT_NODE_LEN bytes): 0, or -ENOENT (a node's lane). */
int rmeta_lane_pipeline(struct rmeta *m, const uint8_t *lane, char *out);
/** fn for every shard the store names, in pipeline order; stops at and
 * returns fn's non-zero. */
int rmeta_shards_each(struct rmeta *m, int (*fn)(void *arg, struct rmeta *s),
		      void *arg);

/** The db of pipeline's shard (a RADOS store: the outputs trees of its
 * open runs, their references, counters and journal lane; see
 * radosmeta.c), owned by db; db itself for any other store.  A batch of
 * it reads other keys from db and may not change them (-EXDEV at the
 * commit).  -ENOENT when none was made and !create. */
int db_shard(struct db *db, const char *pipeline, bool create, struct db **out);
/** The journal lane of a shard's db (AUDIT_NODE_LEN bytes), or NULL. */
const uint8_t *db_lane(const struct db *db);
/** rmeta_lane_pipeline of db's store; -ENOENT for a RocksDB store. */
int db_lane_pipeline(struct db *db, const uint8_t *lane, char *out);
/** db_lane of the db of b. */
const uint8_t *db_batch_lane(const struct db_batch *b);
/** fn for each shard of db's store, in pipeline order (none for a
 * RocksDB store); stops at and returns fn's non-zero. */
int db_shards_each(struct db *db,
		   int (*fn)(void *arg, const char *pipeline, struct db *shard),
		   void *arg);

/** A db whose keys live in m (owned: closed with it). */
int db_open_rados(struct rmeta *m, struct db **out);
/** The RADOS metadata behind db, or NULL for a RocksDB one. */
struct rmeta *db_rados(struct db *db);

/* ------------------------------------------------------------ cas.c */

/** Compresses (when it pays) and stores buf as a chunk whose id is given;
 * reports the stored size.  try_zstd false skips compression.  *unflushed
 * tells whether the chunk needs a flush before a commit references it. */
int cas_put(struct store *s, const uint8_t id[STORE_DIGEST_LEN],
	    const void *buf, size_t len, bool try_zstd, uint32_t *stored,
	    bool *unflushed);

/** Reads chunk id into buf (exactly plain_len bytes), verifying its
 * hash.  -EIO (logged with the chunk id) on a mismatch or a bad value,
 * -ENOENT if absent. */
int cas_get(struct store *s, const uint8_t id[STORE_DIGEST_LEN], void *buf,
	    uint32_t plain_len);

/** Whether chunk id is known (referenced or pending) and its stored size;
 * a pending chunk may still need a flush (*unflushed). */
bool cas_known(struct store *s, const uint8_t id[STORE_DIGEST_LEN],
	       uint32_t *stored, bool *unflushed);

/* In-memory set of chunk ids stored but not yet referenced by a commit. */
struct chunk_set *chunk_set_new(void);
void chunk_set_free(struct chunk_set *cs);
void chunk_set_add(struct chunk_set *cs, const uint8_t id[STORE_DIGEST_LEN],
		   uint32_t stored);
bool chunk_set_get(struct chunk_set *cs, const uint8_t id[STORE_DIGEST_LEN],
		   uint32_t *stored);
void chunk_set_clear(struct chunk_set *cs);

/* ---------------------------------------------------------------- pool.c */

/** A queued job; embed it first in a bigger struct. */
struct pool_job {
	void (*run)(struct pool_job *j);
	struct pool_job *next;
};

int pool_new(unsigned threads, struct pool **out);
/** Runs what is queued, then stops and joins the threads; accepts NULL. */
void pool_free(struct pool *p);
void pool_push(struct pool *p, struct pool_job *j);
/** A buffer of size bytes from the free list (or malloc); NULL on ENOMEM.
 * Every buffer given back must have the same size. */
uint8_t *pool_buf_take(struct pool *p, size_t size);
void pool_buf_give(struct pool *p, uint8_t *b);

/* ------------------------------------------------------------ lru (pool.c)
 * An intrusive list of unused cache entries, newest at the head: each
 * entry embeds a struct lru_link (caches find the entry with
 * LRU_ENTRY). */
struct lru_link {
	struct lru_link *prev, *next;
};
struct lru_list {
	struct lru_link *head, *tail;
};
#define LRU_ENTRY(link, type, member)                                          \
	((type *)((char *)(link)-offsetof(type, member)))
void lru_remove(struct lru_list *l, struct lru_link *e);
void lru_push(struct lru_list *l, struct lru_link *e);

/* ----------------------------------------------------------- dtab (pool.c)
 * An intrusive hash table of cache entries keyed by a digest: each entry
 * embeds a struct dtab_link whose key points at the entry's own copy of
 * its digest (find the entry with LRU_ENTRY).  No lock: the cache's.
 */
struct dtab_link {
	struct dtab_link *next;
	const uint8_t *key; /* STORE_DIGEST_LEN bytes */
};
struct dtab {
	struct dtab_link **tab;
	size_t cap; /* a power of two */
};
/** Makes an empty table of cap buckets.  -ENOMEM. */
int dtab_init(struct dtab *t, size_t cap);
/** Where key's entry is (*slot non-NULL) or would be linked. */
struct dtab_link **dtab_slot(struct dtab *t, const uint8_t *key);
/** Calls fn on every entry (which may free it), then frees the table. */
void dtab_release(struct dtab *t, void (*fn)(struct dtab_link *l, void *arg),
		  void *arg);

/* ---------------------------------------------------- bufpool.c
 * Chunk-sized buffers from a region of huge pages, recycled by size
 * class (see bufpool.c).  Not thread-safe: the cache calls it under its
 * lock. */
struct bufpool;
/* A pool whose region holds bytes (0: every buffer a malloc). */
int bufpool_new(size_t bytes, struct bufpool **out);
void bufpool_free(struct bufpool *p);
/* A buffer of at least n bytes, its size in *cap; *reused when it was
 * returned before (its pages already touched).  NULL on ENOMEM. */
uint8_t *bufpool_get(struct bufpool *p, size_t n, uint32_t *cap, bool *reused);
/* Takes back b, cap bytes from bufpool_get (NULL: nothing). */
void bufpool_put(struct bufpool *p, uint8_t *b, uint32_t cap);
/* The bytes of its region: as asked, rounded up to 2 MiB, or 0 when it
 * could not be mapped or the build checks memory (AddressSanitizer). */
size_t bufpool_region_bytes(const struct bufpool *p);

/* --------------------------------------------------------------- cache.c */

/** A decoded, verified chunk shared by readers (pinned while used). */
struct centry {
	uint8_t id[STORE_DIGEST_LEN];
	uint32_t plain;
	int state; /* 0 loading, 1 ready, or -errno */
	unsigned pins;
	uint8_t *buf;
	uint32_t cap; /* bytes buf holds (a pool's buffer: >= plain) */
	struct dtab_link hash;
	struct lru_link lru;
};

int cache_new(size_t max_bytes, struct chunk_cache **out);
void cache_free(struct chunk_cache *c);
/** Pins chunk id, loading (and verifying) it in this thread if no one
 * else is; waits for a loader.  Returns 0 and *out, or the load's
 * error (-EIO). */
int cache_get(struct store *s, const uint8_t id[STORE_DIGEST_LEN],
	      uint32_t plain, struct centry **out);
void cache_unpin(struct store *s, struct centry *e);
/** Takes one more pin on e, which the caller already holds pinned. */
void cache_repin(struct store *s, struct centry *e);
/** Starts loading chunk id on the I/O pool unless cached or loading. */
void cache_prefetch(struct store *s, const uint8_t id[STORE_DIGEST_LEN],
		    uint32_t plain);

/* ------------------------------------------------------------- tree.c */

/* A file manifest, decoded. */
struct manifest_chunk {
	uint8_t id[STORE_DIGEST_LEN];
	uint32_t plain, stored;
	uint64_t offset; /* computed on decode */
};
struct manifest {
	uint64_t size;
	size_t n;
	struct manifest_chunk *chunks;
};

int manifest_encode(const struct manifest *m, void **out, size_t *len);
int manifest_decode(const void *buf, size_t len, struct manifest *out);
void manifest_release(struct manifest *m);
/** Loads the manifest of file digest (batch may be NULL). */
int manifest_load(struct store *s, struct db_batch *b,
		  const uint8_t digest[STORE_DIGEST_LEN], struct manifest *out);

/* A directory listing, decoded. */
struct dirlist {
	size_t n;
	struct store_dirent *e;
};
int dir_encode(const struct dirlist *d, void **out, size_t *len);
int dir_decode(const void *buf, size_t len, struct dirlist *out);
void dir_release(struct dirlist *d);
/** Encodes d and stages its listing object in b unless b already holds
 * it (same bytes, same digest); its digest into out.  -ENOMEM, -EIO. */
int dir_stage(struct db_batch *b, const struct dirlist *d,
	      uint8_t out[STORE_DIGEST_LEN]);
int dir_load(struct store *s, struct db_batch *b,
	     const uint8_t digest[STORE_DIGEST_LEN], struct dirlist *out);
/** Each entry of a listing, in name order, as it is decoded: fn gets
 * the entry count n, the index and the entry (its storage only during
 * the call); a non-zero return stops and is returned.  Nothing is kept:
 * the caller keeps what it wants in its own form (dircache.c). */
typedef int (*dir_entry_fn)(void *arg, size_t n, size_t i,
			    const struct store_dirent *e);
int dir_decode_each(const void *buf, size_t len, dir_entry_fn fn, void *arg);
/** As dir_load, entry by entry (dir_decode_each). */
int dir_load_each(struct store *s, struct db_batch *b,
		  const uint8_t digest[STORE_DIGEST_LEN], dir_entry_fn fn,
		  void *arg);

/* ----------------------------------------------------------- dircache.c
 * The cache of decoded listings, and the public tree reads over it
 * (store_tree_lookup, store_tree_each).  It calls tree.c, never back. */

int dcache_new(size_t max_bytes, struct dir_cache **out);
void dcache_free(struct dir_cache *c);
/** The decoded listing of dir digest (dircache.c's own form), shared
 * and read-only until dcache_put.  -ENOENT, -EIO (corrupt: logged),
 * -ENOMEM. */
struct dc_entry;
int dcache_get(struct store *s, const uint8_t digest[STORE_DIGEST_LEN],
	       const struct dc_entry **out);
void dcache_put(struct store *s, const struct dc_entry *d);

/* ------------------------------------------------------------ hints.c
 * The file manifests this process recorded last (a store in RADOS): what
 * a commit that references one will read, so that it reads it all in one
 * request.  Only a hint: the commit still reads what it uses. */

#define HINTS_MAX      64
#define HINT_BYTES_MAX 4096

int hints_new(struct mf_hints **out);
void hints_free(struct mf_hints *h);
/** Keeps the encoded manifest of file digest (one over HINT_BYTES_MAX,
 * or one that cannot be copied, is not kept), replacing the oldest. */
void hints_add(struct mf_hints *h, const uint8_t digest[STORE_DIGEST_LEN],
	       const void *val, size_t len);
/** The kept manifest of file digest, decoded: 0, -ENOENT, -EIO,
 * -ENOMEM. */
int hints_get(struct mf_hints *h, const uint8_t digest[STORE_DIGEST_LEN],
	      struct manifest *out);

/* ------------------------------------------------------------- dlib.c */

/* A function of a library loaded at run time, and where it goes. */
struct dlib_sym {
	const char *name;
	void **slot;
};

/** Opens the first of names that loads (RTLD_NOW, RTLD_LOCAL) and fills
 * every slot of syms with its symbol: 0, or -ENOTSUP with a logged
 * message (what could not be loaded and the Debian package to install,
 * or the function missing).  The handle is never closed. */
int dlib_load(const char *const *names, size_t nnames, const char *what,
	      const char *package, const struct dlib_sym *syms, size_t nsyms);

/* ------------------------------------------------------------ codec.c */

struct buf {
	uint8_t *p;
	size_t len, cap;
	bool oom;
};
void buf_u8(struct buf *b, uint8_t v);
void buf_be32(struct buf *b, uint32_t v);
void buf_varint(struct buf *b, uint64_t v);
void buf_bytes(struct buf *b, const void *p, size_t n);
void buf_str(struct buf *b, const char *s); /* varint length + bytes */

struct cursor {
	const uint8_t *p, *end;
	bool bad;
};
uint8_t cur_u8(struct cursor *c);
uint32_t cur_be32(struct cursor *c);
uint64_t cur_varint(struct cursor *c);
const uint8_t *cur_bytes(struct cursor *c, size_t n);
/** Copies a varint-prefixed string into out (cap bytes incl. NUL). */
void cur_str(struct cursor *c, char *out, size_t cap);

/* ============================================================= keys.c
 * The key layout of FORMAT.md, built in one place.  Every key but a
 * chunk's (its bare id) and the fixed names below starts with a tag byte;
 * a tag means something only within its column family, so some share a
 * byte.  The encoders write into a buffer the caller sized (KEY_MAX,
 * KEY_DIGEST_LEN...) and return the key's new length; names are cut at
 * STORE_NAME_MAX bytes (callers check them first).
 */

enum key_tag {
	/* namespace */
	KEY_NS_ARTIFACT = 'a', /* artifact */
	KEY_NS_VERSION = 'v',  /* artifact NUL be32 number */
	KEY_NS_ALIAS = 'l',    /* artifact NUL alias */
	KEY_NS_PIPELINE = 'p', /* pipeline */
	KEY_NS_RUN = 'r',      /* pipeline NUL run */
	KEY_NS_STEP = 's',     /* pipeline NUL run NUL step */
	KEY_NS_OUTPUT = 'o',   /* pipeline NUL run NUL step NUL path */
	KEY_NS_NOTE = 'n',     /* pipeline NUL run NUL key */
	KEY_NS_BINDING = 'B',  /* scope NUL principal */
	KEY_NS_MTIME = 'm',    /* artifact NUL be32 number path */
	KEY_NS_ENV = 'e',      /* pipeline NUL run NUL step */
	KEY_NS_CACHE = 'k',    /* cache key digest */
	/* manifests */
	KEY_MF_FILE = 'F', /* file digest */
	KEY_MF_DIR = 'D',  /* dir digest */
	/* refcounts */
	KEY_REF_CHUNK = 'C', /* chunk id */
	KEY_REF_FILE = 'F',  /* file digest */
	KEY_REF_DIR = 'D',   /* dir digest */
	/* lineage */
	KEY_LN_INPUT = 'i',  /* pipeline NUL run NUL step NUL artifact be32 */
	KEY_LN_USER = 'u',   /* artifact NUL be32 pipeline NUL run NUL step */
	KEY_LN_OUTPUT = 'o', /* like KEY_LN_INPUT */
	KEY_LN_TRACE = 't',  /* pipeline NUL run NUL step NUL be64 seq */
	KEY_LN_TRACE_HEAD = 'T', /* pipeline NUL run NUL step */
	/* audit */
	KEY_AUDIT_REC = 'r',	   /* be64 seq */
	KEY_AUDIT_LANE = 'L',	   /* node id (16) be64 seq: a node's record */
	KEY_AUDIT_LANE_HEAD = 'N', /* node id (16): that node's head */
	/* secrets */
	KEY_SECRET = 's',     /* name: the current version */
	KEY_SECRET_OLD = 'S', /* name NUL be32 version: an earlier one */
};

/* Keys that are fixed names, not tag + parts. */
#define KEY_AUDIT_HEAD	   "head" /* audit */
#define KEY_AUDIT_HEAD_LEN 4

/* Longest namespace key: tag, three names, separators, a be32. */
#define KEY_MAX (8 + 3 * (STORE_NAME_MAX + 1))
/* A lineage key: four names and a be32 (or a be64 after three). */
#define KEY_LN_MAX (KEY_MAX + STORE_NAME_MAX + 8)
/* tag + a digest (manifests, refcounts). */
#define KEY_DIGEST_LEN (1 + STORE_DIGEST_LEN)
/* tag + be64 seq (an audit record). */
#define KEY_AUDIT_REC_LEN	9
#define KEY_AUDIT_LANE_LEN	(1 + AUDIT_NODE_LEN + 8)
#define KEY_AUDIT_LANE_HEAD_LEN (1 + AUDIT_NODE_LEN)

/** Writes tag t at k[0].  Returns 1, the length so far. */
size_t key_tag(uint8_t *k, enum key_tag t);

/** Appends len bytes of p to a key of n bytes.  Returns n + len. */
size_t key_add_bytes(uint8_t *k, size_t n, const void *p, size_t len);

/** Appends name (cut at STORE_NAME_MAX bytes, no NUL).  Returns the new
 * length. */
size_t key_add_name(uint8_t *k, size_t n, const char *name);

/** Appends the NUL that separates names.  Returns n + 1. */
size_t key_add_nul(uint8_t *k, size_t n);

/** Appends v big-endian (4 or 8 bytes).  Returns the new length. */
size_t key_add_be32(uint8_t *k, size_t n, uint32_t v);
size_t key_add_be64(uint8_t *k, size_t n, uint64_t v);

/** Builds tag t + a [+ NUL + b [+ NUL + c]]: the first NULL name ends
 * the key (all NULL: the tag alone, a scan prefix).  k holds KEY_MAX
 * bytes.  Returns the length. */
size_t key_names(uint8_t *k, enum key_tag t, const char *a, const char *b,
		 const char *c);

/** Builds tag t + digest (KEY_DIGEST_LEN bytes). */
size_t key_digest(uint8_t *k, enum key_tag t,
		  const uint8_t digest[STORE_DIGEST_LEN]);

/** The refcount tag of an object of kind (a symlink counts as a file). */
enum key_tag key_ref_tag(enum store_kind kind);

/** Builds a lineage edge (KEY_LN_INPUT or KEY_LN_OUTPUT): t + pipeline
 * NUL run NUL step NUL artifact be32 number; artifact NULL stops after
 * step's NUL (the prefix of the step's edges).  k holds KEY_LN_MAX. */
size_t key_edge(uint8_t *k, enum key_tag t, const char *pipeline,
		const char *run, const char *step, const char *artifact,
		uint32_t number);

/** Builds the reverse edge: KEY_LN_USER + artifact NUL be32 number
 * pipeline NUL run NUL step; pipeline NULL stops after the number (the
 * prefix of the version's readers).  k holds KEY_LN_MAX. */
size_t key_reader(uint8_t *k, const char *artifact, uint32_t number,
		  const char *pipeline, const char *run, const char *step);

/** Builds KEY_AUDIT_REC + be64 seq (KEY_AUDIT_REC_LEN bytes). */
size_t key_audit_rec(uint8_t *k, uint64_t seq);
/** The seq of an audit record's key (KEY_AUDIT_REC_LEN bytes). */
uint64_t key_audit_seq(const uint8_t *k);

/** Big-endian numbers at p, in keys and in values. */
void be32_put(uint8_t *p, uint32_t v);
void be64_put(uint8_t *p, uint64_t v);
uint32_t be32_get(const uint8_t *p);
uint64_t be64_get(const uint8_t *p);

/* ------------------------------------------------------- model.c / put.c */

/** Adds one reference to file/dir/symlink digest in batch b, recursing into
 * children when it is the first; counts new files and chunks in st. */
/** Whether refcount key (KEY_DIGEST_LEN bytes) is held, in the store or
 * (RADOS) in any pipeline's shard: 1, 0, or -errno. */
int ref_held(struct store *s, const uint8_t *key);
int ref_entry(struct store *s, struct db_batch *b, struct store_stats *st,
	      enum store_kind kind, const uint8_t digest[STORE_DIGEST_LEN]);

/** Drops one reference (the inverse of ref_entry); at zero the children
 * are released and the object is left to gc. */
int unref_entry(struct store *s, struct db_batch *b, struct store_stats *st,
		enum store_kind kind, const uint8_t digest[STORE_DIGEST_LEN]);

/** Numbers v (the next version of v->artifact), stages its record, the
 * artifact record and "latest", and counts it in st. */
int version_stage(struct store *s, struct db_batch *b, struct store_stats *st,
		  struct store_version *v);

/** Builds the tree of p, adds the version record, refcounts, counters and
 * the latest alias to b.  Frees nothing. */
int put_stage(struct store_put *p, struct db_batch *b, struct store_stats *st,
	      const struct store_version_meta *m, struct store_version *out);

/** Builds the key of artifact's version number (KEY_MAX bytes). */
size_t version_key(uint8_t *k, const char *artifact, uint32_t number);

/** Deletes (dry_run: only lists) the versions that retention rules r let
 * go and nothing pins (retain.c), calling fn for each and for each
 * version a pin keeps; counts them in out->versions. */
int retain_apply(struct store *s, const struct store_caller *c,
		 const struct store_retain *r, bool dry_run,
		 store_gc_item_fn fn, void *arg, struct store_gc_result *out);

/** Deletes the versions sel does not select, nor their closure. */
int retain_select(struct store *s, const struct store_export_sel *sel);

/** On a copy trimmed by retain_select: deletes the runs that made no
 * version it holds, with their steps, outputs entries, environments,
 * traces, lineage edges and cache entries, the pipelines left with no
 * run, the artifacts left with no version, the aliases naming a
 * deleted version and the role bindings on a scope gone (closure.c). */
int export_runs_trim(struct store *d);

/** Reads a run record through b (may be NULL). */
int run_read(struct store *s, struct db_batch *b, const char *pipeline,
	     const char *run, struct store_run *out);

struct commit;
/** With the commit begun (commit_begin): stages puts as versions and
 * the run's end, ends the commit, frees the puts. */
int run_end_locked(struct commit *t, const char *pipeline, const char *run,
		   enum store_run_status status, struct store_put **puts,
		   size_t n);

/** The step whose outputs a put publishes (set by sealing). */
void put_set_step(struct store_put *p, const char *step);
const char *put_step(const struct store_put *p);

/* --------------------------------------- outentry.c, output.c, links.c */

#define OUT_PATH_MAX 4095
#define OUT_KEY_MAX  (KEY_MAX + OUT_PATH_MAX + 2)

/** The key of an entry of a step's outputs tree. */
struct out_key {
	uint8_t k[OUT_KEY_MAX];
	size_t base; /* length of the step prefix, NUL included */
	size_t len;
};

/** Builds the key of path in step's tree (names checked first). */
void out_key_init(struct out_key *o, const char *pipeline, const char *run,
		  const char *step, const char *path);
/** Checks the three names and path ("" allowed when root_ok). */
int out_args_check(const char *pipeline, const char *run, const char *step,
		   const char *path, bool root_ok);
/** The run must be open and the step present (through b). */
int out_step_writable(struct store *s, struct db_batch *b, const char *pipeline,
		      const char *run, const char *step);
/** Reads the entry at o (through b when given); "" is the root. */
int out_entry_read(struct store *s, struct db_batch *b, const struct out_key *o,
		   struct store_output *out);
/** Stages e at o, references unchanged. */
int out_entry_put(struct db_batch *b, const struct out_key *o,
		  const struct store_output *e);
/** Replaces old (may be NULL) at o by e (NULL: delete), moving content
 * references and counters. */
int out_entry_swap(struct store *s, struct db_batch *b, const struct out_key *o,
		   const struct store_output *old,
		   const struct store_output *e);
/** The parent of o's path must be a directory: 0, -ENOENT, -ENOTDIR. */
int out_parent_check(struct store *s, struct db_batch *b,
		     const struct out_key *o);

/** Gives every other name of e's file (entries of o's step with e's
 * link id) e's content, mode and times (links.c).  0 when e has one. */
int out_links_update(struct store *s, struct db_batch *b,
		     const struct out_key *o, const struct store_output *e);
/** The number of names of the file with link id link in o's step. */
int out_links_count(struct store *s, const struct out_key *o, uint64_t link,
		    uint32_t *out);

/** Decodes an outputs-tree entry (output.c) named by its path. */
struct store_output;
int output_entry_decode(const void *val, size_t len, const char *path,
			struct store_output *o);

/** Adds an entry of any kind to a version being assembled (f NULL for a
 * directory); mtime in ns, 0 when not known (none is recorded). */
int put_add(struct store_put *p, const char *dest, enum store_kind kind,
	    uint32_t mode, const struct store_file *f, int64_t mtime);

/** The mtime of the version's root directory (ns, 0: none). */
void put_set_root_mtime(struct store_put *p, int64_t mtime);

/* ------------------------------------------------------------ times.c */

/** Stages the mtime (ns) of path ("" the root) in artifact's version
 * number into b (FORMAT.md, "Times").  -ENAMETOOLONG, -ENOMEM. */
int times_stage(struct db_batch *b, const char *artifact, uint32_t number,
		const char *path, int64_t mtime);

/** Decodes a version record (namespace value) of artifact's version
 * number into v.  -EIO (not logged) when it is malformed. */
int version_decode(const char *artifact, uint32_t number, const void *val,
		   size_t len, struct store_version *v);

/** Decodes a run record's value into r (its names are the caller's to
 * fill).  -EIO (not logged) when it is malformed. */
int run_decode(const void *val, size_t len, struct store_run *r);

/** Store counters (meta "stats") read/written inside a batch. */
int stats_decode(const void *val, size_t len, struct store_stats *out);
int stats_load(struct db_batch *b, struct store_stats *out);
void stats_save(struct db_batch *b, const struct store_stats *st);

/* Record format byte at the start of every value (FORMAT.md). */
#define RECORD_FORMAT 1
/** Verifies a stored chunk value against id without knowing its size
 * (fsck); reports the plain size.  -EIO on any mismatch. */
int cas_verify(const uint8_t id[STORE_DIGEST_LEN], const void *val, size_t len,
	       uint64_t *plain);

/** Compacts a column family so deleted keys leave the disk, and with
 * blobs their values too (live values in the same blob files are
 * rewritten: that needs room for them).  Blob files holding nothing live
 * go either way. */
int db_compact(struct db *db, enum db_cf cf, bool blobs);
/** A consistent copy of the database in dir (which must not exist). */
int db_checkpoint(struct db *db, const char *dir);
/** Bytes in cf's live blob files. */
uint64_t db_blob_bytes(struct db *db, enum db_cf cf);

/* ============================================================ audit.c
 * The audit journal (FORMAT.md, "Audit journal").  Records in CF_AUDIT,
 * chained by SHA-256 and authenticated by HMAC-SHA256 under a key the
 * store does not hold (the caller passes it; it is never stored or
 * logged).  A record is written in the same batch as the change it
 * describes, so both are on disk or neither is.
 *
 * What verification proves: a record changed, removed, inserted or moved
 * without the key breaks the chain or its hmac.  What it cannot prove: a
 * tail cut off together with a head rewritten to name the new last record
 * (the head is not authenticated, and a chain alone cannot tell a short
 * journal from a truncated one); signed checkpoints, kept outside the
 * store, close that gap later.
 *
 * Threads: audit_stage needs the commit lock (commit_begin) held, so the
 * head is read and moved by one writer at a time; audit_append takes it.
 * audit_verify and audit_each read without the lock and may run beside
 * writers.
 */

/* Longest user, op and path strings (incl. NUL); longer ones are cut. */
#define AUDIT_USER_MAX 64
#define AUDIT_OP_MAX   64
#define AUDIT_PATH_MAX 4096
#define AUDIT_HASH_LEN 32

/* One journal record, decoded.  Strings are NUL-terminated. */
struct audit_rec {
	uint64_t seq;	   /* from 1; set by audit_stage */
	int64_t time;	   /* ns since the epoch, set by the caller */
	uint32_t uid, pid; /* who asked */
	char user[AUDIT_USER_MAX];
	char op[AUDIT_OP_MAX];
	char path[AUDIT_PATH_MAX];
	char digest[STORE_DIGEST_STR_LEN]; /* "" when none */
	uint64_t bytes;
	uint32_t result;	      /* errno (positive), 0 = success */
	uint8_t prev[AUDIT_HASH_LEN]; /* set by audit_stage */
	uint8_t hmac[AUDIT_HASH_LEN]; /* set by audit_stage */
};

/**
 * With the commit lock held (commit_begin): numbers r after the head as
 * seen through b (so several records staged in one batch chain), fills
 * r->seq, r->prev and r->hmac (HMAC-SHA256 under key[0..klen)), and puts
 * the record and the new head into b.  Strings longer than their field
 * are cut.  Returns 0, -EINVAL (klen 0), -ENOMEM, -EIO (a read failure,
 * a malformed head, OpenSSL: logged).  Fail closed: on any error the
 * caller must not commit b.
 */
/** As audit_stage, into the lane of node (AUDIT_NODE_LEN bytes): a chain
 * of its own, with its own seqs and head, that only that node extends. */
int audit_stage_lane(struct store *s, struct db_batch *b, const uint8_t *key,
		     size_t klen, const uint8_t *node, struct audit_rec *r);
int audit_stage(struct store *s, struct db_batch *b, const uint8_t *key,
		size_t klen, struct audit_rec *r);

/** Decodes a journal record value into r (not verified: audit_verify
 * does that).  -EIO (not logged) when it is malformed. */
int audit_rec_decode(const void *val, size_t len, struct audit_rec *r);

/* The outcome of audit_verify. */
struct audit_verdict {
	uint64_t checked; /* records verified */
	uint64_t bad_seq; /* the first bad record (0: none, or the head) */
	char why[128];	  /* "record 7: hmac mismatch (changed)", or "" */
};

/**
 * Verifies the journal from record from (0 or 1: all of it; records
 * before from are trusted, record from - 1 anchors the chain): the
 * records' seqs run 1, 2, 3... in key order with no gap, each key's seq
 * is its record's, each prev is the SHA-256 of the record before, each
 * hmac verifies under key, and the head names a record of the journal
 * with its hash, and no record lies beyond it; the cf holds no key but
 * the records and the head (another is "stray key ... in the journal").
 * Returns 0 when intact, -EBADMSG with out->bad_seq and out->why naming
 * the first bad record, -EINVAL (klen 0), -ENOMEM, -EIO (read or OpenSSL
 * failure: logged).
 * A from past the head checks nothing and returns 0.
 */
int audit_verify(struct store *s, const uint8_t *key, size_t klen,
		 uint64_t from, struct audit_verdict *out);

/** Calls fn with each record from seq from on, in order, decoded (not
 * verified: see audit_verify).  r lives only during fn; fn returns
 * non-zero to stop (returned).  -EIO on a malformed record (logged),
 * -ENOMEM. */
int audit_each(struct store *s, uint64_t from,
	       int (*fn)(void *arg, const struct audit_rec *r), void *arg);

/* ======================================================== end of audit.c */

/* =========================================================== commit.c
 * The one commit point: every change of the store is a commit that
 * begins with a caller, stages the change and its journal record in one
 * batch, and ends (commits the batch, or drops it on an error).  The
 * commit lock is held from begin to end.  struct commit lives on the
 * stack of the function that changes the store; nothing is kept per
 * thread.
 */

struct commit {
	struct store *s;
	const struct store_caller *caller; /* the journal's actor */
	struct db_batch *b;
	/* A record that rides with this commit (a handle's close with the
	 * commit of its last flush), or NULL. */
	const struct store_audit_note *also;
	/* What the change is, for its record (commit_note). */
	char op[AUDIT_OP_MAX];
	char path[AUDIT_PATH_MAX];
	char digest[STORE_DIGEST_STR_LEN];
};

/** Takes the commit lock and a new batch for caller c (borrowed until
 * the end).  Returns 0 or -ENOMEM (no lock held then). */
int commit_begin(struct store *s, const struct store_caller *c,
		 struct commit *t);

/** As commit_begin, for a change of the outputs trees of pipeline's
 * runs: in a RADOS store the batch is the pipeline's shard's (db_shard),
 * and its record joins the shard's lane of the journal. */
int commit_begin_out(struct store *s, const struct store_caller *c,
		     const char *pipeline, struct commit *t);

/** Notes what the change is (op such as "version.create", a path made
 * with printf's rules, an optional digest) for its record. */
void commit_note(struct commit *t, const char *op, const uint8_t *digest,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/** Stages the noted record now (for a batch holding several changes,
 * each with its record) and clears the note.  0 with the journal off. */
int commit_stage_note(struct commit *t);

/** When rc is 0: stages the noted record (or "change") and the riding
 * one, then commits the batch synced.  Frees the batch and unlocks
 * whatever happens.  Returns rc, or the staging's or commit's error. */
int commit_end(struct commit *t, int rc);

/** Like commit_end, without waiting for the disk. */
int commit_end_nosync(struct commit *t, int rc);

/** A record on its own (a denial, a handle's totals), as its own
 * commit.  result is an errno (0 success).  0 with the journal off. */
int commit_record(struct store *s, const struct store_caller *c, const char *op,
		  const char *path, const char *digest, uint64_t bytes,
		  int result);

/** The time stamped on a change and its record: ns since the epoch
 * (CLOCK_REALTIME). */
int64_t now_ns(void);

#endif
