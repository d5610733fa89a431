/*
 * store/store.h - the content-addressed, versioned artifact store.
 *
 * Purpose
 *   Keeps file content once, as SHA-256-addressed chunks (FastCDC
 *   boundaries, zstd or raw), in RocksDB, and the versioned model on top of
 *   it: artifacts with immutable versions v1, v2, ... and aliases, plus
 *   pipelines, runs and steps.  The on-disk layout is written down in
 *   store/FORMAT.md; nothing else describes it.
 *
 * Invariants
 *   - A chunk id is the SHA-256 of the chunk's plain bytes, and every chunk
 *     read re-hashes what it returns: a mismatch is -EIO, never wrong bytes.
 *   - A file digest is the SHA-256 of the file's bytes; a directory digest is
 *     the SHA-256 of its canonical listing (names, kinds, modes, sizes and
 *     child digests).  Neither depends on the chunking settings.  A version's
 *     digest is the digest of its root directory.
 *   - Versions are immutable.  Every logical change (a version, an alias
 *     move, a run record) is one synced RocksDB WriteBatch together with its
 *     refcounts: after a crash the store holds the old state or the new one.
 *   - Chunk payloads are written without the WAL and flushed before the
 *     batch that references them commits, so content hits the disk about
 *     once and no committed reference can point at a missing chunk.
 *
 * Layering
 *   Calls only libraries (RocksDB, zstd, OpenSSL, pthreads).  Knows nothing
 *   of users, roles or FUSE.  No RocksDB, zstd or OpenSSL type leaves this
 *   folder.
 *
 * Errors
 *   Actions return 0 or a negative errno and log the detail through
 *   store_log (see below) where the failure is first seen:
 *     -ENOENT  no such artifact, version, alias, path or store
 *     -EEXIST  already exists (a name, an alias target clash)
 *     -EINVAL  a malformed name or ref, a foreign or unsupported store
 *     -ENAMETOOLONG  a name over STORE_NAME_MAX bytes
 *     -EBUSY   the store is held by another process (the message names it)
 *     -EIO     a library failure, a corrupt record or a chunk hash mismatch
 *     -ENOSPC  the disk is full (nothing committed is harmed)
 *     -ENOMEM  out of memory
 *
 * Callers
 *   Every function that changes the store takes the caller (struct
 *   store_caller, below; borrowed for the call) right after the store:
 *   the change's journal record is that caller's.
 *
 * Threads
 *   A struct store may be used from any number of threads at once; commits
 *   are serialized inside.  A struct store_writer, store_reader or
 *   store_put belongs to one thread at a time.
 */
#ifndef ARTIFACTFS_STORE_H
#define ARTIFACTFS_STORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#define STORE_DIGEST_LEN 32
/* "sha256:" + 64 hex digits + NUL */
#define STORE_DIGEST_STR_LEN 72
#define STORE_NAME_MAX	     255
/* The store format this build writes and the newest it can read. */
#define STORE_FORMAT_VERSION 1

struct store;

/* ---------------------------------------------------------------- logging */

enum store_log_level {
	STORE_LOG_ERR = 3, /* same numbers as syslog */
	STORE_LOG_WARNING = 4,
	STORE_LOG_INFO = 6,
	STORE_LOG_DEBUG = 7,
};

/** Receives every log line of the store (and of the layers above, which
 * log through it).  msg has no trailing newline.  Must be thread-safe. */
typedef void (*store_log_fn)(void *arg, enum store_log_level level,
			     const char *msg);

/** Sets the process-wide log sink; NULL restores the default (stderr,
 * errors and warnings only). */
void store_log_set_sink(store_log_fn fn, void *arg);

/** Edits a log line in place before any sink sees it (msg holds size
 * bytes, NUL-terminated; the result must stay so).  Must be thread-safe
 * and must not log. */
typedef void (*store_log_filter_fn)(void *arg, char *msg, size_t size);

/** Sets the process-wide log filter (acl/ removes secret values with
 * it); NULL removes it. */
void store_log_set_filter(store_log_filter_fn fn, void *arg);

/** Logs one line through the sink, printf-style. */
void store_log(enum store_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---------------------------------------------------------------- digests */

/** p[0..n) as 2n lowercase hex digits and a NUL into out. */
void store_hex_encode(const uint8_t *p, size_t n, char *out);

/** Exactly 2n hex digits (either case) into out[0..n).  0 or -EINVAL. */
int store_hex_decode(const char *s, uint8_t *out, size_t n);

/** Formats a digest as "sha256:<64 hex>" into out (STORE_DIGEST_STR_LEN). */
void store_digest_format(const uint8_t digest[STORE_DIGEST_LEN], char *out);

/** Parses "sha256:<hex>" or bare hex.  Returns 0 or -EINVAL. */
int store_digest_parse(const char *s, uint8_t out[STORE_DIGEST_LEN]);

/** SHA-256 of a buffer (OpenSSL).  Returns 0 or -EIO. */
int store_digest_buf(const void *buf, size_t len,
		     uint8_t out[STORE_DIGEST_LEN]);

/* ------------------------------------------------------- options, open */

typedef void (*store_progress_fn)(void *arg, uint64_t done, uint64_t total);

struct store_options {
	/* FastCDC sizes in bytes: min <= avg <= max, avg a power of two,
	 * 4 KiB <= min, max <= 16 MiB.  Defaults 64 KiB / 256 KiB / 1 MiB. */
	uint32_t chunk_min, chunk_avg, chunk_max;
	/* zstd level 1..19, or 0 to always store raw.  Default 3. */
	int zstd_level;
	/* Ingest worker threads; 0 = number of online CPUs.  Default 0. */
	unsigned threads;
	/* A chunk is stored compressed only when it shrinks by at least this
	 * many percent.  Default 5. */
	unsigned min_saving_pct;
	/* Open for reading only, writing nothing in the store's directory
	 * (an export, read-only media); every change is -EROFS. */
	bool read_only;
	/* Opened by a daemon that serves writers for a long time: near a
	 * full disk, chunks held in memory go to disk early, so that gc's
	 * flush always fits in the reserve (space.c).  A short-lived
	 * command leaves them in memory instead: those of a write that
	 * fails go with the process and take no room. */
	bool serving;
	/* store_init only, for a new store: keep chunk bytes in this RADOS
	 * pool (it must exist), reaching the cluster through ceph_conf
	 * (required with it) as client ceph_id (NULL: client.admin).  The
	 * store records them; every later open uses them.  Metadata stays
	 * in the store's directory. */
	const char *rados_pool, *ceph_conf, *ceph_id;
	/* A store in RADOS: gc leaves a chunk or file manifest put less
	 * than this many seconds ago, referenced or not (another node may
	 * be about to commit a reference to it).  Default 3600; the
	 * environment's ARTIFACTFS_GC_GRACE (seconds, 0 allowed) overrides
	 * it. */
	uint32_t gc_grace_s;
};

/** Fills o with the defaults above. */
void store_options_init(struct store_options *o);

/** Checks o.  Returns 0 or -EINVAL (logging which field is wrong). */
int store_options_check(const struct store_options *o);

/**
 * Creates a store in dir (created if missing).  Idempotent: an existing
 * store is left as it is and 0 returned.  A non-empty directory that is not
 * a store is refused with -EEXIST; a store of a newer format with -EINVAL.
 */
int store_init(const char *dir, const struct store_options *o);

/** True when dir holds a store (its marker file exists). */
bool store_exists(const char *dir);

/* The line of an export's marker file that makes it one. */
#define STORE_EXPORT_MARK "export"

/**
 * True when dir holds an export (store_export_mark): a store that every
 * store_open opens for reading only, taking no lock and writing nothing
 * in dir, whatever the options say.
 */
bool store_is_export(const char *dir);

/**
 * Opens the store in dir for this process, taking its lock.  A store on
 * read-only media opens for reading only: every change is then -EROFS
 * (logged), and nothing is written there, not even journal records.
 * o may be NULL for the defaults.
 * Returns 0 and *out, or -ENOENT (no such directory), -EINVAL (not a store,
 * or written by a newer format), -EBUSY (held by another process: the
 * message says which pid), -EACCES (another user's store: the message
 * says to go through its mount), -EIO.
 */
int store_open(const char *dir, const struct store_options *o,
	       struct store **out);

/** Flushes and closes; accepts NULL. */
void store_close(struct store *s);

/** The pid that holds dir's lock, 0 if none, or a negative errno. */
pid_t store_lock_holder(const char *dir);

/** Whether dir's lock is held by a mount daemon (store_options.serving):
 * one that will answer on its socket once it has checked its journal. */
bool store_lock_serving(const char *dir);

/** The store's random id (32 hex digits, NUL-terminated), borrowed. */
const char *store_id(const struct store *s);

/** The directory the store was opened from, borrowed. */
const char *store_dir(const struct store *s);

/** True when s was opened for reading only (asked, an export, or
 * read-only media): every change is -EROFS and nothing is written. */
bool store_read_only(const struct store *s);

/** True when s is an export (store_is_export). */
bool store_exported(const struct store *s);

/* ----------------------------------------------------------------- caller
 *
 * Who asks: one value made once per request (from the FUSE request, from
 * SO_PEERCRED and SO_PEERGROUPS on the daemon's socket, or from getuid()
 * for a command without a mount) and passed down explicitly to every
 * decision and every change.  The journal record of a change takes its
 * actor from it.  Nothing in the store keeps a "current" caller.
 */

#define STORE_CALLER_GROUPS_MAX 256
#define STORE_CALLER_NAME_MAX	64

struct store_audit_note;

struct store_caller {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	size_t ngroups; /* supplementary groups in groups[] */
	gid_t groups[STORE_CALLER_GROUPS_MAX];
	char user[STORE_CALLER_NAME_MAX]; /* user name, or the uid in decimal */
};

/**
 * Fills c: uid, gid, pid, n supplementary groups (at most
 * STORE_CALLER_GROUPS_MAX are kept; groups may be NULL when n is 0) and
 * the user name (NULL or "": the uid in decimal).
 */
void store_caller_set(struct store_caller *c, uid_t uid, gid_t gid, pid_t pid,
		      const gid_t *groups, size_t n, const char *user);

/* ------------------------------------------------------------------ names */

/** What a name names: the rules differ (store_name_valid). */
enum store_name_kind {
	STORE_NAME_FILE,   /* a file or directory in a tree, a secret, a key */
	STORE_NAME_ENTITY, /* an artifact, alias, pipeline, run or step */
};

/**
 * The one validator of names, used by the store, the command line and the
 * mount alike.  Every name: non-empty, at most STORE_NAME_MAX bytes, not
 * "." or "..", no '/', no NUL, newline or other control byte.  An entity
 * name besides: no '@' (it separates NAME@REF), not of the form v<digits>
 * and not "latest" (both are refs).  len is the byte length given (so an
 * embedded NUL is caught).  On a refusal *why (may be NULL) gets a static
 * phrase saying what is wrong ("it holds '@', ...").
 * Returns 0, -EINVAL or -ENAMETOOLONG.
 */
int store_name_valid(enum store_name_kind kind, const char *name, size_t len,
		     const char **why);

/** store_name_valid, and on a refusal one logged line: "invalid <what>
 * name '<name>': <why>".  Same returns. */
int store_name_require(enum store_name_kind kind, const char *what,
		       const char *name);

/** store_name_valid(STORE_NAME_FILE, ...): one path component. */
int store_name_check(const char *name, size_t len);

/** store_name_check of a pipeline, a run and a step name (NUL-ended):
 * 0 or the first refusal's -EINVAL / -ENAMETOOLONG. */
int store_step_names_check(const char *pipeline, const char *run,
			   const char *step);

/**
 * Parses a version ref "v<N>", N in 1..UINT32_MAX written without leading
 * zeros.  Returns 1 and *number for a version, 0 for a name that is not
 * of the form v<digits> (an alias, "latest"), -EINVAL for v<digits> that
 * names no version ("v0", "v01", too large).
 */
int store_ref_number(const char *ref, uint32_t *number);

/* ----------------------------------------------------- writing a file */

/** What a file became once stored. */
struct store_file {
	uint8_t digest[STORE_DIGEST_LEN]; /* SHA-256 of the bytes */
	uint64_t size;
	uint64_t new_chunks; /* chunks this write stored that were absent */
	uint64_t new_bytes;  /* bytes stored for them (after zstd) */
	bool unflushed;	     /* a chunk still needs a flush before a commit
				may reference it (commits do it) */
};

struct store_writer;

/** Starts a sequential file writer.  The writer chunks, hashes and
 * compresses on the store's worker threads and keeps memory bounded
 * (a few MiB whatever the file size).  Returns 0, -ENOMEM. */
int store_writer_new(struct store *s, struct store_writer **out);

/** Appends len bytes.  Returns 0, -EIO, -ENOSPC, -ENOMEM. */
int store_writer_write(struct store_writer *w, const void *buf, size_t len);

/**
 * Appending without a copy, for a reader that fills memory itself (read(2)
 * of a file): store_writer_room returns where the next bytes go, inside
 * the writer's current chunk buffer, and *len, how many fit there (at
 * least 1; about 64 KiB, so that little is moved when a chunk is cut
 * inside it).  The pointer is valid until the next call on w.  After n
 * <= *len bytes were put there, store_writer_wrote appends them: the
 * same result as store_writer_write of those bytes, with the same
 * returns.
 */
uint8_t *store_writer_room(struct store_writer *w, size_t *len);
int store_writer_wrote(struct store_writer *w, size_t n);

/**
 * Ends the file: waits for its chunks, flushes them to disk and records the
 * file's manifest (but takes no reference on it: a file that no version
 * references is garbage for store_gc).  Frees w whatever the result.
 * Returns 0 and *out, or -EIO, -ENOSPC.
 */
int store_writer_finish(struct store_writer *w, struct store_file *out);

/** Drops a writer without recording anything; accepts NULL. */
void store_writer_abort(struct store_writer *w);

/* --------------------------------------------------- making a version */

enum store_kind {
	STORE_KIND_FILE = 1,
	STORE_KIND_DIR = 2,
	STORE_KIND_SYMLINK = 3,
};

struct store_put;

/** Extra facts recorded with a new version. */
struct store_version_meta {
	const char *run; /* "pipeline/run/step" that produced it, or NULL */
	int64_t created; /* ns since the epoch; 0 = now */
};

/**
 * Starts assembling the next version of artifact (created on commit if it
 * is new).  progress (may be NULL) is called with bytes ingested so far.
 * Returns 0 and *out, -EINVAL/-ENAMETOOLONG for a bad name, -ENOMEM.
 */
int store_put_begin(struct store *s, const struct store_caller *c,
		    const char *artifact, store_progress_fn progress,
		    void *progress_arg, struct store_put **out);

struct stat;

/**
 * How store_put_path reaches the files it adds.  The default (no source
 * set) is this process's own open(2), lstat(2) and readlink(2); the mount
 * daemon sets one whose calls its client carries out, so that what a put
 * reads is what the caller may read.  Each returns a new fd, 0 or a
 * length, or -errno.  cancelled (may be NULL) is asked between blocks: a
 * true answer stops the put with -ECANCELED.
 */
struct store_source {
	int (*open)(void *arg, const char *path, int flags);
	int (*lstat)(void *arg, const char *path, struct stat *st);
	ssize_t (*readlink)(void *arg, const char *path, char *buf, size_t len);
	bool (*cancelled)(void *arg);
	void *arg;
};

/** Makes p read through src (copied; its arg borrowed until p ends). */
void store_put_set_source(struct store_put *p, const struct store_source *src);

/**
 * Adds the file, symlink or directory tree at src (through the put's
 * source, by default the local file system).  dest is its path inside the
 * version ("a/b.bin"); for a directory, "" puts its contents at the version's
 * root.  Modes (permission bits only) and mtimes are kept; owners are
 * not.
 * Special files are refused with -EINVAL.  An unreadable source is -EACCES (or
 * its errno) with a message naming it; the version is then not created.
 */
int store_put_path(struct store_put *p, const char *src, const char *dest);

/** Adds an already stored file (from store_writer_finish) at dest. */
int store_put_file(struct store_put *p, const char *dest,
		   const struct store_file *f, uint32_t mode);

/**
 * Commits the version: tree objects, refcounts, the version record and the
 * move of "latest", in one synced WriteBatch.  Unchanged content still
 * makes a new version.  Frees p whatever the result.
 * Returns 0 and *out (may be NULL), or -EIO, -ENOSPC.
 */
struct store_version;
int store_put_commit(struct store_put *p, const struct store_version_meta *m,
		     struct store_version *out);

/** Drops p without creating a version; accepts NULL. */
void store_put_abort(struct store_put *p);

/** Bytes added so far (for progress totals). */
uint64_t store_put_bytes(const struct store_put *p);

/* ----------------------------------------------------------- the model */

struct store_version {
	char artifact[STORE_NAME_MAX + 1];
	uint32_t number;		    /* v<number> */
	uint8_t digest[STORE_DIGEST_LEN];   /* root directory digest */
	int64_t created;		    /* ns since the epoch */
	uint64_t size;			    /* sum of file sizes */
	uint64_t files;			    /* number of files */
	char run[3 * (STORE_NAME_MAX + 1)]; /* producing run or "" */
};

/** 0 if artifact exists, else -ENOENT (quietly: for lookups). */
int store_artifact_get(struct store *s, const char *artifact);

/** Reads the version number alias points at, quietly.  -ENOENT. */
int store_alias_get(struct store *s, const char *artifact, const char *alias,
		    uint32_t *number);

/** 0 if pipeline exists, else -ENOENT (quietly). */
int store_pipeline_get(struct store *s, const char *pipeline);

/** 0 if the step exists in the run, else -ENOENT (quietly). */
int store_step_get(struct store *s, const char *pipeline, const char *run,
		   const char *step);

/** Calls fn for each artifact name in order; a non-zero return from fn
 * stops and is returned. */
int store_artifact_each(struct store *s, int (*fn)(void *arg, const char *name),
			void *arg);

/** As store_artifact_each, for the names that sort (strcmp) after after
 * (NULL: all), reading only those.  -EINVAL if after is too long. */
int store_artifact_each_after(struct store *s, const char *after,
			      int (*fn)(void *arg, const char *name),
			      void *arg);

/** Calls fn for each version of artifact, oldest first.  -ENOENT if the
 * artifact does not exist. */
int store_version_each(struct store *s, const char *artifact,
		       int (*fn)(void *arg, const struct store_version *v),
		       void *arg);

/**
 * The mtime (ns) recorded for path ("" the root, '/'-separated) in
 * artifact's version number: the source's mtime for a put, the entry's
 * in the run's outputs for a sealed run.  Times are kept beside the
 * version, not in its digest.  -ENOENT (quietly) when none is recorded
 * (versions made before times were kept, files added by digest), -EIO.
 */
int store_version_mtime(struct store *s, const char *artifact, uint32_t number,
			const char *path, int64_t *out);

/** Reads version number of artifact.  -ENOENT if absent. */
int store_version_get(struct store *s, const char *artifact, uint32_t number,
		      struct store_version *out);

/**
 * Resolves ref ("v3", "latest" or an alias name) of artifact.
 * Returns 0, -ENOENT (unknown artifact or ref, with a message), -EINVAL.
 */
int store_ref_resolve(struct store *s, const char *artifact, const char *ref,
		      struct store_version *out);

/**
 * Parses "ARTIFACT@REF[/path]" (REF defaults to latest) into its parts.
 * artifact and ref are STORE_NAME_MAX+1 buffers; *path points into spec
 * (after the '/', "" if none).  Returns 0, -EINVAL, -ENAMETOOLONG.
 */
int store_spec_parse(const char *spec, char *artifact, char *ref,
		     const char **path);

/**
 * Points alias at version number of artifact (moves it if it exists).
 * "latest" and names of the form v<digits> are reserved (-EINVAL).
 * -ENOENT if the version does not exist.
 */
int store_alias_set(struct store *s, const struct store_caller *c,
		    const char *artifact, const char *alias, uint32_t number);

/** Removes an alias.  -ENOENT if absent; "latest" is -EINVAL. */
int store_alias_delete(struct store *s, const struct store_caller *c,
		       const char *artifact, const char *alias);

/** Calls fn for each alias of artifact (including latest), by name. */
int store_alias_each(struct store *s, const char *artifact,
		     int (*fn)(void *arg, const char *alias, uint32_t number),
		     void *arg);

enum store_run_status {
	STORE_RUN_OPEN = 1,
	STORE_RUN_SEALED = 2,
	STORE_RUN_FAILED = 3,
};

struct store_run {
	char pipeline[STORE_NAME_MAX + 1];
	char run[STORE_NAME_MAX + 1];
	enum store_run_status status;
	uint32_t owner;	 /* uid that opened it */
	int64_t created; /* ns */
	int64_t ended;	 /* ns, 0 while open */
	/* The node that opened it, in a store shared by nodes (RADOS): an
	 * open run is written and sealed from there only.  "" elsewhere. */
	char node[33];
};

/** Whether run r may change from this node: it is not an open run that
 * another node of a shared store opened (there, -EROFS). */
bool store_run_here(const struct store *s, const struct store_run *r);

/** Creates pipeline if absent (0 either way). */
int store_pipeline_create(struct store *s, const struct store_caller *c,
			  const char *pipeline);

/** Calls fn for each pipeline name. */
int store_pipeline_each(struct store *s, int (*fn)(void *arg, const char *name),
			void *arg);

/** Opens run of pipeline (creating the pipeline if needed), owned by
 * owner.  -EEXIST if the run exists. */
int store_run_create(struct store *s, const struct store_caller *c,
		     const char *pipeline, const char *run, uint32_t owner);

/** Reads a run record.  -ENOENT if absent. */
int store_run_get(struct store *s, const char *pipeline, const char *run,
		  struct store_run *out);

/** Calls fn for each run of pipeline, in name order (strcmp); a
 * non-zero return from fn stops and is returned. */
int store_run_each(struct store *s, const char *pipeline,
		   int (*fn)(void *arg, const struct store_run *r), void *arg);

/** As store_run_each, for the runs whose name sorts after after (NULL:
 * all), reading only those.  -EINVAL if after is too long. */
int store_run_each_after(struct store *s, const char *pipeline,
			 const char *after,
			 int (*fn)(void *arg, const struct store_run *r),
			 void *arg);

/** Adds step to an open run (0 if it exists).  -EROFS if the run is not
 * open, -ENOENT if there is no such run. */
int store_step_create(struct store *s, const struct store_caller *c,
		      const char *pipeline, const char *run, const char *step);

/** Calls fn for each step name of a run. */
int store_step_each(struct store *s, const char *pipeline, const char *run,
		    int (*fn)(void *arg, const char *name), void *arg);

/**
 * Ends an open run: each put in puts[] (n of them, may be 0) becomes the
 * next version of its artifact and the run's status becomes status
 * (SEALED or FAILED; a FAILED run publishes nothing and puts must be 0),
 * all in one WriteBatch.  Frees every put whatever the result.
 * -EROFS if the run is not open.
 */
int store_run_end(struct store *s, const struct store_caller *c,
		  const char *pipeline, const char *run,
		  enum store_run_status status, struct store_put **puts,
		  size_t n);

/* ------------------------------------------------------- reading content */

/** One entry of a directory in a version. */
struct store_dirent {
	char name[STORE_NAME_MAX + 1];
	enum store_kind kind;
	uint32_t mode;			  /* permission bits */
	uint64_t size;			  /* file: bytes; dir: entries;
					     symlink: target length */
	uint8_t digest[STORE_DIGEST_LEN]; /* file: content; dir: listing;
					     symlink: target bytes */
};

/**
 * Looks up path (relative, '/'-separated, "" for the root) under the
 * directory root.  Returns 0, -ENOENT, -ENOTDIR, -EIO.
 */
int store_tree_lookup(struct store *s, const uint8_t root[STORE_DIGEST_LEN],
		      const char *path, struct store_dirent *out);

/** Calls fn for each entry of directory dir, in name order (strcmp);
 * a non-zero return of fn stops the walk and is returned. */
int store_tree_each(struct store *s, const uint8_t dir[STORE_DIGEST_LEN],
		    int (*fn)(void *arg, const struct store_dirent *e),
		    void *arg);

/** As store_tree_each, from the first entry whose name sorts after
 * after (NULL: from the first): a listing read a piece at a time, each
 * piece going on after the last name of the one before. */
int store_tree_each_after(struct store *s, const uint8_t dir[STORE_DIGEST_LEN],
			  const char *after,
			  int (*fn)(void *arg, const struct store_dirent *e),
			  void *arg);

/** Reads a symlink's target into buf (NUL-terminated).  -ERANGE if it does
 * not fit. */
int store_symlink_read(struct store *s, const uint8_t digest[STORE_DIGEST_LEN],
		       char *buf, size_t size);

struct store_reader;

/** Opens file content by digest.  -ENOENT if no manifest has it. */
int store_reader_open(struct store *s, const uint8_t digest[STORE_DIGEST_LEN],
		      struct store_reader **out);

/** The file's size. */
uint64_t store_reader_size(const struct store_reader *r);

/**
 * Reads up to len bytes at off.  Returns the byte count (short only at end
 * of file), or -EIO (a chunk is missing or fails its hash: logged with the
 * chunk id).
 */
ssize_t store_reader_pread(struct store_reader *r, void *buf, size_t len,
			   uint64_t off);

/** Most chunks one store_reader_view call maps. */
#define STORE_READER_VIEW_MAX 64

/** The chunks a store_reader_view pinned; the caller's storage.  Not
 * tied to the reader: it may be released after the reader is closed. */
struct store_view {
	struct store *s;
	int n;
	void *pins[STORE_READER_VIEW_MAX];
};

/**
 * Like store_reader_pread, but copies nothing: points iov[0..*out_n) at
 * decoded, verified chunks, which cover up to len bytes at off.  The
 * memory is the shared chunk cache's, read-only, and stays pinned in
 * *view until store_view_release(view), which any thread may call, and
 * which the caller must call after every successful return (after an
 * error nothing is pinned).  iov has room for max_iov entries.  Returns
 * the byte count (short only at end of file), -E2BIG if the range spans
 * more than max_iov (or STORE_READER_VIEW_MAX) chunks, or -EIO as
 * store_reader_pread.
 */
ssize_t store_reader_view(struct store_reader *r, size_t len, uint64_t off,
			  struct iovec *iov, int max_iov, int *out_n,
			  struct store_view *view);

/** Unpins what a store_reader_view pinned; view->n becomes 0. */
void store_view_release(struct store_view *view);

/** Closes; accepts NULL. */
void store_reader_close(struct store_reader *r);

/** Work done by the store's read path since it was opened: chunks fetched,
 * decompressed and verified (each once however many readers want it while
 * it is cached), and their plain bytes. */
struct store_read_counters {
	uint64_t chunk_loads;
	uint64_t chunk_load_bytes;
	/* Loads that decoded into the buffer of a chunk the cache dropped
	 * rather than into fresh memory. */
	uint64_t chunk_bufs_reused;
};

/** Fills out; any thread. */
void store_read_counters(struct store *s, struct store_read_counters *out);

/* ------------------------------------------------- outputs of open runs
 *
 * While a run is open, each step has an outputs tree that ordinary writes
 * fill: entries keyed by a path under outputs/ ("model/weights.bin"),
 * each referencing stored file content (so gc keeps it).  Sealing turns
 * every top-level name into the next version of the artifact of that
 * name.  All of these are -EROFS once the run is not open and -ENOENT
 * when the run or step does not exist.
 */

/** One entry of an outputs tree; times in ns. */
struct store_output {
	struct store_dirent e; /* e.name: the last path component */
	int64_t mtime;
	int64_t atime;	/* the mtime unless set apart (utimens) */
	uint64_t link;	/* a file of several names (hard links): an id
			   they share, unique in the store; 0 for one */
	uint32_t nlink; /* its names (store_output_get; else 1) */
};

/** Reads the entry at path ("" is the outputs directory itself). */
int store_output_get(struct store *s, const char *pipeline, const char *run,
		     const char *step, const char *path,
		     struct store_output *out);

/** Calls fn for each direct child of directory path, in name order
 * (strcmp); a non-zero return of fn stops the walk and is returned. */
int store_output_each(struct store *s, const char *pipeline, const char *run,
		      const char *step, const char *path,
		      int (*fn)(void *arg, const struct store_output *o),
		      void *arg);

/** As store_output_each, for the children whose name sorts after after
 * (NULL: all), reading only those: each piece of a listing read a piece
 * at a time costs its own entries.  -EINVAL if after is not a name. */
int store_output_each_after(struct store *s, const char *pipeline,
			    const char *run, const char *step, const char *path,
			    const char *after,
			    int (*fn)(void *arg, const struct store_output *o),
			    void *arg);

enum store_output_flags {
	STORE_OUTPUT_SYNC = 1 << 0, /* wait until it is on disk (fsync) */
};

/**
 * Creates or replaces the entry at path: a directory (f NULL), or a file
 * or symlink with stored content f (from store_writer_finish).  The parent
 * must be a directory in the tree (-ENOENT, -ENOTDIR); a directory is not
 * replaced by a file or the reverse (-EISDIR, -EEXIST).  The commit is
 * atomic and ordered after every earlier one; with STORE_OUTPUT_SYNC it is
 * on disk when this returns (what an fsync promises).  also (may be NULL)
 * is a record committed with the change (a handle's close).
 */
int store_output_set(struct store *s, const struct store_caller *c,
		     const char *pipeline, const char *run, const char *step,
		     const char *path, enum store_kind kind, uint32_t mode,
		     const struct store_file *f, enum store_output_flags flags,
		     const struct store_audit_note *also);

/** Changes the permission bits of an entry. */
int store_output_chmod(struct store *s, const struct store_caller *c,
		       const char *pipeline, const char *run, const char *step,
		       const char *path, uint32_t mode);

/** Sets the times (ns) of an entry; STORE_TIME_KEEP leaves one as it is.
 * Content written later moves the mtime to the time of that commit. */
#define STORE_TIME_KEEP INT64_MIN
int store_output_utimens(struct store *s, const struct store_caller *c,
			 const char *pipeline, const char *run,
			 const char *step, const char *path, int64_t atime,
			 int64_t mtime);

/**
 * Makes to another name of the file or symlink at from (a hard link, in
 * one step's tree): both names then share content, mode and times, and a
 * write, chmod or utimens through either changes both; each is an entry
 * of the sealed version (same digest).  -EEXIST (to exists), -EPERM
 * (from is a directory), -ENOENT, -ENOTDIR, -EROFS.
 */
int store_output_link(struct store *s, const struct store_caller *c,
		      const char *pipeline, const char *run, const char *step,
		      const char *from, const char *to);

/** Calls fn with the path and link id of each entry of a step's tree that
 * has other names (a link id); a non-zero return from fn stops and is
 * returned. */
int store_output_links_each(
    struct store *s, const char *pipeline, const char *run, const char *step,
    int (*fn)(void *arg, const char *path, uint64_t link), void *arg);

/** Removes a file, symlink or empty directory (-ENOTEMPTY otherwise). */
int store_output_delete(struct store *s, const struct store_caller *c,
			const char *pipeline, const char *run, const char *step,
			const char *path);

/** Renames from to to within one step's tree, replacing a file (or an
 * empty directory) at to; a directory moves with everything under it. */
int store_output_rename(struct store *s, const struct store_caller *c,
			const char *pipeline, const char *run, const char *step,
			const char *from, const char *to);

/**
 * Seals an open run: every top-level entry outputs/<name> of every step
 * becomes the next version of artifact <name> (steps in name order), and
 * the run becomes SEALED, in one WriteBatch.  A run with no outputs seals
 * too.  Returns 0, -EROFS (not open), -ENOENT.
 */
int store_run_seal(struct store *s, const struct store_caller *c,
		   const char *pipeline, const char *run);

/** Adds an (empty) directory at dest to a version being assembled. */
int store_put_dir(struct store_put *p, const char *dest, uint32_t mode);

/* ------------------------------------------------------------- lineage
 *
 * Which versions a step read (its inputs, captured by the mount or
 * declared) and which it produced (its outputs, recorded when the run is
 * sealed; a version's run field then reads "pipeline/run/step").  Edges
 * live in the lineage column family (FORMAT.md), both ways, so upstream
 * and downstream walks are key scans.
 */

/** Records that step read artifact@v<number> (0 if already recorded).
 * -EROFS if the run is not open, -ENOENT if the step or the version does
 * not exist. */
int store_step_input_add(struct store *s, const struct store_caller *c,
			 const char *pipeline, const char *run,
			 const char *step, const char *artifact,
			 uint32_t number);

/** Calls fn for each version a step read (by artifact, then number). */
int store_step_input_each(
    struct store *s, const char *pipeline, const char *run, const char *step,
    int (*fn)(void *arg, const char *artifact, uint32_t number), void *arg);

/** Calls fn for each version a step produced (after its run sealed). */
int store_step_output_each(
    struct store *s, const char *pipeline, const char *run, const char *step,
    int (*fn)(void *arg, const char *artifact, uint32_t number), void *arg);

/** Calls fn for each step that read artifact@v<number>. */
int store_version_reader_each(struct store *s, const char *artifact,
			      uint32_t number,
			      int (*fn)(void *arg, const char *pipeline,
					const char *run, const char *step),
			      void *arg);

/**
 * Sets a note on a run (a parameter, the exit status, ...): key is a
 * name (store_name_check), value any text up to 4096 bytes; a second set
 * of the same key replaces it.  Allowed whatever the run's status.
 */
int store_run_note_set(struct store *s, const struct store_caller *c,
		       const char *pipeline, const char *run, const char *key,
		       const char *value);

/** Calls fn for each note of a run, by key. */
int store_run_note_each(struct store *s, const char *pipeline, const char *run,
			int (*fn)(void *arg, const char *key,
				  const char *value),
			void *arg);

/* --------------------------------------------------------------- traces
 *
 * A step's execution trace (agent turns, LLM and tool calls) is an
 * append-only list of JSON lines, numbered from 1.  The store keeps the
 * lines as given; checking that each is one JSON object is the caller's.
 */

#define STORE_TRACE_LINE_MAX (1 << 20)

/** Appends one line (no newline inside; at most STORE_TRACE_LINE_MAX
 * bytes) to a step's trace; *seq (may be NULL) gets its number.
 * -EROFS once the run has ended, -ENOENT without such a step, -EFBIG,
 * -EINVAL for a newline inside. */
int store_trace_append(struct store *s, const struct store_caller *c,
		       const char *pipeline, const char *run, const char *step,
		       const char *line, size_t len, uint64_t *seq);

/** Calls fn for each line of a step's trace, in order. */
int store_trace_each(struct store *s, const char *pipeline, const char *run,
		     const char *step,
		     int (*fn)(void *arg, uint64_t seq, const char *line,
			       size_t len),
		     void *arg);

/** Total bytes of a step's trace as a file (each line plus its
 * newline). */
int store_trace_size(struct store *s, const char *pipeline, const char *run,
		     const char *step, uint64_t *out);

/* ----------------------------------------------- environment snapshots
 *
 * What a step ran in: a few small text files (packages.txt, code.txt,
 * image.txt, system.txt, environ.txt; what goes in them is the caller's)
 * stored as content, like a version's tree: a listing of files whose
 * digest is the environment's digest.  Identical environments share
 * every object.  The step's record holds a reference, so gc keeps it.
 */

/* Largest file of a snapshot that store_env_read returns. */
#define STORE_ENV_FILE_MAX (16u << 20)

/** One file of a snapshot: name (store_name_check) and bytes, borrowed. */
struct store_env_file {
	const char *name;
	const void *data;
	size_t len;
};

/**
 * Stores files[0..n) as the environment of step (of an open run),
 * replacing an earlier one, in one commit journaled "env.set" with the
 * snapshot's digest; *out (may be NULL) gets that digest.  -ENOENT (no
 * such step), -EROFS (the run has ended), -EINVAL (a bad or repeated
 * name), -EIO, -ENOSPC, -ENOMEM.
 */
int store_env_set(struct store *s, const struct store_caller *c,
		  const char *pipeline, const char *run, const char *step,
		  const struct store_env_file *files, size_t n,
		  uint8_t out[STORE_DIGEST_LEN]);

/** The digest of step's environment (a directory: store_tree_each lists
 * it).  -ENOENT (none recorded: quietly), -EIO. */
int store_env_get(struct store *s, const char *pipeline, const char *run,
		  const char *step, uint8_t out[STORE_DIGEST_LEN]);

/** Reads file name of the environment env into a malloc'd, NUL-ended
 * *out (the caller frees it) of *len bytes.  -ENOENT, -EFBIG (over
 * STORE_ENV_FILE_MAX), -EIO, -ENOMEM. */
int store_env_read(struct store *s, const uint8_t env[STORE_DIGEST_LEN],
		   const char *name, char **out, size_t *len);

/* ------------------------------------------------------------ step cache
 *
 * An entry maps a cache key (a digest the caller computes from what
 * decides a step's outputs) to the step that produced them.  Entries hold
 * no reference; the versions they lead to are that step's outputs.
 */

struct store_cache {
	uint8_t key[STORE_DIGEST_LEN];
	char pipeline[STORE_NAME_MAX + 1];
	char run[STORE_NAME_MAX + 1];
	char step[STORE_NAME_MAX + 1];
	int64_t created; /* ns */
};

/** Records (or replaces) the entry of key: step of run produced its
 * outputs.  Journaled "cache.set".  -EINVAL, -EIO, -ENOSPC. */
int store_cache_set(struct store *s, const struct store_caller *c,
		    const uint8_t key[STORE_DIGEST_LEN], const char *pipeline,
		    const char *run, const char *step);

/** Reads the entry of key.  -ENOENT (quietly), -EIO. */
int store_cache_get(struct store *s, const uint8_t key[STORE_DIGEST_LEN],
		    struct store_cache *out);

/** Calls fn for each entry (by key); a non-zero return stops and is
 * returned.  -EIO on a malformed entry. */
int store_cache_each(struct store *s,
		     int (*fn)(void *arg, const struct store_cache *e),
		     void *arg);

/** Whether a cache entry leads to artifact@v<number> (an output of the
 * step it names): gc must keep such a version. */
bool store_cache_refers(struct store *s, const char *artifact, uint32_t number);

/**
 * Copies the outputs tree of step src_step of run src_p/src_r (kept after
 * its run sealed) into step of open run pipeline/run, entry by entry,
 * sharing all content, in one commit journaled "output.copy".  The
 * step's tree must be empty (-EEXIST).  -ENOENT, -EROFS, -EIO, -ENOSPC.
 */
int store_output_copy(struct store *s, const struct store_caller *c,
		      const char *pipeline, const char *run, const char *step,
		      const char *src_p, const char *src_r,
		      const char *src_step);

/* -------------------------------------------------------- audit journal
 *
 * With the journal on, every change (a version, an alias move, a run, a
 * file written in a run, ...) carries a record in the same WriteBatch:
 * sequence number, time, uid, user, pid, op, path, digest, bytes, result,
 * chained by SHA-256 and authenticated by HMAC-SHA256 under a key kept
 * outside the store (FORMAT.md, "Audit journal").  A record that cannot be
 * written fails its change.
 */

/** A record that rides with a change, in its commit (a file handle's
 * close with the commit of its last flush): strings borrowed for the
 * call. */
struct store_audit_note {
	const char *op;
	const char *path;
	uint64_t bytes;
};

/** Turns the journal on with key (16 bytes or more, copied; never written
 * to the store).  -EINVAL for a short key. */
int store_audit_enable(struct store *s, const uint8_t *key, size_t klen);

/** Sets the filter that edits the path of every journal record of s
 * before it is staged (acl/ takes secret values out of paths with it);
 * NULL removes it.  Set it before s is shared between threads. */
void store_audit_set_filter(struct store *s, store_log_filter_fn fn, void *arg);

/** Records in the store that it keeps a journal, so that opening it
 * without the key can be refused (store_audit_required). */
int store_audit_mark(struct store *s);

/** Whether the store was marked as keeping a journal. */
bool store_audit_required(struct store *s);

/** Whether the journal is on. */
bool store_audit_enabled(const struct store *s);

/** Journals something that is not a change (a denial, a file handle's
 * totals): result is an errno (0 success).  0 when the journal is off. */
int store_audit_record(struct store *s, const struct store_caller *c,
		       const char *op, const char *path, const char *digest,
		       uint64_t bytes, int result);

/** A journal record as read back. */
struct store_audit_entry {
	uint64_t seq;
	int64_t time; /* ns */
	uint32_t uid, pid;
	char user[64];
	char op[64];
	char path[4096];
	char digest[STORE_DIGEST_STR_LEN];
	uint64_t bytes;
	int result; /* errno, 0 = success */
};

/** Calls fn for each record from seq from (0: all), in order. */
int store_audit_each(struct store *s, uint64_t from,
		     int (*fn)(void *arg, const struct store_audit_entry *e),
		     void *arg);

/**
 * Walks the whole chain with the enabled key.  Returns 0 when intact,
 * -EBADMSG with *bad_seq and why ("record 7: hmac mismatch (changed)")
 * naming the first bad record, a key of the journal's cf that is neither
 * a record nor the head ("stray key ... in the journal"), or a journal
 * with no record at all on a store marked as keeping one
 * (store_audit_required: "the journal is missing"); -ENOKEY when the
 * journal is off, -EIO.  A tail cut off with the head rewritten does not
 * show here: check a signed checkpoint too (acl_journal_verify_default).
 */
int store_audit_verify(struct store *s, uint64_t *checked, uint64_t *bad_seq,
		       char why[128]);

/* --------------------------------------------- stats, fsck, gc */

struct store_stats {
	uint64_t artifacts, versions;
	uint64_t logical_bytes; /* sum of every version's size */
	uint64_t files;		/* distinct file contents */
	uint64_t chunks;	/* distinct chunks referenced */
	uint64_t chunk_bytes;	/* their plain size */
	uint64_t stored_bytes;	/* their size as stored (zstd or raw) */
};

/** Reads the counters kept with every commit. */
int store_stats_get(struct store *s, struct store_stats *out);

struct store_check {
	uint64_t chunks, bytes; /* chunks and plain bytes verified */
	uint64_t problems;	/* corrupt, missing or miscounted things */
	uint64_t unreferenced;	/* chunks no version uses (gc fodder) */
};

/**
 * Re-reads and re-hashes every chunk, checks every manifest, directory,
 * version, alias, refcount and counter.  Each problem is logged at
 * STORE_LOG_ERR naming the object.  progress may be NULL.
 * Returns 0 when clean, -EUCLEAN when problems were found, or -EIO.
 */
int store_fsck(struct store *s, store_progress_fn progress, void *arg,
	       struct store_check *out);

struct store_gc_result {
	uint64_t chunks, bytes; /* chunks (and stored bytes) removed */
	uint64_t files;		/* unreferenced manifests removed */
	uint64_t versions;	/* versions retention deleted */
};

/** Removes chunks and manifests that no version references (with dry_run,
 * only counts them).  Takes the store exclusively while it runs. */
int store_gc(struct store *s, const struct store_caller *c, bool dry_run,
	     struct store_gc_result *out);

/*
 * Retention.  A rule covers versions by scope: "/" or "/artifacts" (all),
 * "/artifacts/NAME" (one artifact), "/pipelines/NAME" (what that
 * pipeline's runs produced).  It keeps the newest keep_last versions of
 * each artifact in its scope and those younger than keep_younger; a
 * covered version no rule keeps goes, unless an alias (latest included),
 * an open run that read it, a cache entry or the lineage of a version
 * that stays (upstream, any depth) pins it.  Versions no rule covers stay.
 */
#define STORE_RETAIN_SCOPE_MAX 511
struct store_retain_rule {
	char scope[STORE_RETAIN_SCOPE_MAX + 1];
	uint32_t keep_last;   /* 0: none kept by count */
	int64_t keep_younger; /* ns; 0: none kept by age */
};
struct store_retain {
	const struct store_retain_rule *rules;
	size_t n;
	int64_t now; /* ns since the epoch */
};

/* One version retention deletes (removed) or keeps against a rule. */
struct store_gc_item {
	const char *artifact;
	uint32_t number;
	bool removed;
	const char *why; /* the rule it fell out of, or what pins it */
	uint64_t size;
};
typedef int (*store_gc_item_fn)(void *arg, const struct store_gc_item *it);

/**
 * gc with retention: deletes the versions r lets go (each in its own
 * commit with a "version.delete" tombstone record), calling fn for each
 * and for each a pin keeps, then removes what nothing references, like
 * store_gc.  r may be NULL (store_gc).  With dry_run nothing changes.
 * progress (may be NULL) gets the stored bytes of the chunks scanned so
 * far and about how many there are.
 */
int store_gc_retain(struct store *s, const struct store_caller *c,
		    const struct store_retain *r, bool dry_run,
		    store_gc_item_fn fn, void *arg, store_progress_fn progress,
		    void *parg, struct store_gc_result *out);

/* ---------------------------------------------------------------- export
 * A point-in-time copy for auditors (export.c): a store of its own that
 * opens read-only, without secrets. */

/* What an export holds: the versions named (ARTIFACT@REF), those a scope
 * covers (as a retention rule's), those made since a time, each with its
 * upstream closure; everything when nothing is named. */
struct store_export_sel {
	const char *const *closure;
	size_t nclosure;
	const char *const *scope;
	size_t nscope;
	int64_t since; /* ns; 0: none */
};

/** Copies s into the new store dest (a consistent checkpoint).
 * -EEXIST, -EIO, -ENOSPC. */
int store_export_copy(struct store *s, const char *dest);

/** Marks the finished copy dest as an export (store_is_export): from
 * then on it opens for reading only.  0 or -errno (logged). */
int store_export_mark(const char *dest);

/** On the copy d (open): deletes every secret, with trim the versions
 * keep does not select, the runs that made none of the versions left
 * (with their steps, outputs, environments, traces, lineage edges and
 * cache entries), and the journal records about none of what stays
 * (each replaced by a stub the chain needs: store_export_omitted), then
 * what nothing references (progress, may be NULL: the chunks scanned, as
 * store_gc_retain's), and compacts. */
int store_export_trim(struct store *d, const struct store_export_sel *keep,
		      bool trim, store_progress_fn progress, void *parg);

/**
 * The journal records a trimmed export left out (stubs: each one's seq,
 * prev and hash, for the chain): how many, and the SHA-256 of them all
 * in seq order (be64 seq || prev || hash each), then those of the nodes'
 * lanes in node and seq order (node id || be64 seq || prev || hash).
 * 0, -EBADMSG (a malformed stub), -EIO, -ENOMEM.
 */
int store_export_omitted(struct store *d, uint64_t *count,
			 uint8_t digest[STORE_DIGEST_LEN]);

/** Checks the journal's chain without its key: seqs from 1 to the head
 * with no gap (a record or, in an export, its stub), nothing beyond,
 * each record's prev the hash of the one before, the last one's hash the
 * head's; then each node's lane the same way.  0 with *checked records
 * of the main chain, -EBADMSG with why (the first problem), or -errno. */
int store_audit_chain_check(struct store *s, uint64_t *checked, char *why,
			    size_t cap);

/* ------------------------------------------------------------- signatures
 *
 * Ed25519 (OpenSSL) for what is checked outside the store: a signed
 * checkpoint of the journal's head shows later that the journal still
 * extends it (a chain alone cannot tell a short journal from one whose
 * tail was cut off), and a signed export can be checked offline by whoever
 * holds only the public key.  Keys are PEM files: the private key PKCS#8
 * (mode 0600), the public key SubjectPublicKeyInfo, as `openssl pkey`
 * reads them.  Where they live is the caller's business (acl/).
 */

#define STORE_SIG_LEN 64

/** Creates an Ed25519 key pair in priv_path (0600) and pub_path (0644).
 * Never replaces a file: -EEXIST when either exists.  Each file appears
 * whole or not at all.  -EIO (OpenSSL), -errno (logged). */
int store_sign_keygen(const char *priv_path, const char *pub_path);

/** Signs msg[0..len) with the private key in priv_path into sig.
 * -errno (unreadable), -EINVAL (not an Ed25519 private key), -EIO;
 * all logged. */
int store_sign(const char *priv_path, const void *msg, size_t len,
	       uint8_t sig[STORE_SIG_LEN]);

/** Checks sig over msg[0..len) with the public key in pub_path.
 * 0 when it verifies, -EBADMSG when it does not (not logged: that is the
 * answer); -errno (unreadable), -EINVAL (not an Ed25519 public key),
 * -EIO, logged. */
int store_sign_verify(const char *pub_path, const void *msg, size_t len,
		      const uint8_t sig[STORE_SIG_LEN]);

/** store_sign_verify with the public key's PEM text in memory (a key the
 * caller read); name says which key in messages.  Same returns. */
int store_sign_verify_pem(const void *pem, size_t pem_len, const char *name,
			  const void *msg, size_t len,
			  const uint8_t sig[STORE_SIG_LEN]);

/** The journal's head: the last record's seq (0 and a zero hash for an
 * empty journal) and its hash (SHA-256 of the record as stored).  Not
 * verified: see store_audit_verify.  -EIO (malformed head: logged). */
int store_audit_head(struct store *s, uint64_t *seq,
		     uint8_t hash[STORE_DIGEST_LEN]);

/** The hash of journal record seq as stored (what the next record's prev
 * and the head hold).  -ENOENT when there is no record seq, -EIO. */
int store_audit_record_hash(struct store *s, uint64_t seq,
			    uint8_t hash[STORE_DIGEST_LEN]);

/** Called with one node's lane head: node as 32 lowercase hex digits
 * (borrowed for the call), its last record's seq and hash.  Nonzero
 * stops the listing and is returned. */
typedef int (*store_lane_fn)(void *arg, const char *node, uint64_t seq,
			     const uint8_t hash[STORE_DIGEST_LEN]);

/** The heads of the nodes' lanes of the journal (the records that are no
 * change, in a store shared by nodes; none in a single-node store), in
 * node order.  Not verified.  0, fn's return, -EIO (a malformed head:
 * logged). */
int store_audit_lane_heads(struct store *s, store_lane_fn fn, void *arg);

/** As store_audit_record_hash, for record seq of node's lane (node as
 * above).  -ENOENT when the lane has no record seq, -EINVAL (node). */
int store_audit_lane_record_hash(struct store *s, const char *node,
				 uint64_t seq, uint8_t hash[STORE_DIGEST_LEN]);

/* ---------------------------------------------------------- role bindings
 *
 * A binding gives a role to a principal on a scope.  The store keeps them
 * as data and checks their form; what a role allows is acl/'s business
 * (acl_decide), and nothing enforces them until acl/ is asked.
 *   scope      an absolute path prefix in the mount's terms: "/",
 *              "/pipelines/train", "/artifacts/model".  No "//", no
 *              trailing '/' (except "/" itself), each component a name
 *              (store_name_check), at most STORE_SCOPE_MAX bytes.
 *   principal  "u:<uid>" or "g:<gid>", decimal, no leading zero.
 *   role       reader, writer, promoter, auditor or admin.
 * Each change is one commit carrying its journal record ("role.grant",
 * "role.revoke"; path "<scope> <principal> <role>").
 */

#define STORE_SCOPE_MAX 4095

/** Checks a scope's form (above).  0, -EINVAL, -ENAMETOOLONG; not
 * logged (acl/ checks every path it decides on with it). */
int store_binding_scope_check(const char *scope);

/** Gives role to principal on scope, replacing the role it had there.
 * Returns 0, -EINVAL or -ENAMETOOLONG (malformed: logged), -EIO,
 * -ENOSPC, -ENOMEM. */
int store_binding_set(struct store *s, const struct store_caller *c,
		      const char *scope, const char *principal,
		      const char *role);

/** Removes principal's binding on scope.  Returns 0, -ENOENT (none),
 * -EINVAL or -ENAMETOOLONG (malformed: logged), -EIO, -ENOSPC. */
int store_binding_delete(struct store *s, const struct store_caller *c,
			 const char *scope, const char *principal);

/* Longest role name, with its NUL. */
#define STORE_ROLE_MAX 16

/** Reads the role principal holds on exactly scope into role.  Returns
 * 0, -ENOENT (no such binding: quietly), -EINVAL or -ENAMETOOLONG
 * (malformed: logged), -EIO. */
int store_binding_get(struct store *s, const char *scope, const char *principal,
		      char role[STORE_ROLE_MAX]);

/** A number that changes with every binding change made through s, or
 * by another node of a store in RADOS (for caches of the bindings). */
uint64_t store_binding_gen(struct store *s);

/** For a store in RADOS: fn(arg) runs (on a librados thread) each time
 * another node commits a change of the namespace, a binding or a secret,
 * after the binding and secret generations moved; the mount daemon
 * invalidates the kernel's caches there.  Set before the store is
 * shared; a store of one machine never calls it. */
void store_on_remote_change(struct store *s, void (*fn)(void *arg), void *arg);

/** Whether s keeps its metadata in a RADOS pool, shared with other
 * nodes. */
bool store_clustered(const struct store *s);

/** Calls fn for each binding in key order (scope, then principal); the
 * strings live only during fn.  fn returns non-zero to stop (returned).
 * -EIO on a malformed record (logged). */
int store_binding_each(struct store *s,
		       int (*fn)(void *arg, const char *scope,
				 const char *principal, const char *role),
		       void *arg);

/* ---------------------------------------------------------------- secrets
 *
 * Named values in their own column family (FORMAT.md, secrets cf), kept
 * as opaque bytes: acl/ seals a value (store_aead_encrypt) before it comes
 * here, so the store only ever holds, journals and returns ciphertext.
 *   name     one path component (store_name_check); the secret shows in
 *            the mount as /secrets/<name>.
 *   value    at most STORE_SECRET_MAX bytes as stored.
 *   version  every set makes the next version (1, 2, ...); the earlier
 *            ones stay readable by number until the secret is removed.
 * Each change is one commit carrying its journal record ("secret.set",
 * "secret.rm", "secret.rotate-key"; path "/secrets/<name>" or "/secrets";
 * never the value).
 */

/* Longest stored value: 64 KiB of plaintext and acl/'s envelope. */
#define STORE_SECRET_MAX (65536 + 64)

/** Stores val[0..len) as the next version of secret name (1 for a new
 * one); the version it replaces stays readable by number.  *out_version
 * (may be NULL) gets the new number.  Returns 0, -EINVAL or
 * -ENAMETOOLONG (a bad name: logged), -EFBIG (over STORE_SECRET_MAX:
 * logged), -EOVERFLOW (no version number left), -EIO, -ENOSPC, -ENOMEM. */
int store_secret_set(struct store *s, const struct store_caller *c,
		     const char *name, const void *val, size_t len,
		     uint32_t *out_version);

/** Reads version (0: the current one) of secret name into a malloc'd
 * *val (the caller frees it) and *len; *out_version (may be NULL) gets
 * its number.  Returns 0, -ENOENT (no such secret or version: quietly),
 * -EINVAL or -ENAMETOOLONG (a bad name: logged), -EIO (a malformed
 * record: logged), -ENOMEM. */
int store_secret_get(struct store *s, const char *name, uint32_t version,
		     void **val, size_t *len, uint32_t *out_version);

/** Removes secret name with every version.  Returns 0, -ENOENT (none,
 * nothing journaled), -EINVAL or -ENAMETOOLONG (logged), -EIO, -ENOSPC. */
int store_secret_delete(struct store *s, const struct store_caller *c,
			const char *name);

/** Calls fn for each secret's name in byte order; the name lives only
 * during fn.  fn returns non-zero to stop (returned).  -EIO on a
 * malformed record (logged). */
int store_secret_each(struct store *s, int (*fn)(void *arg, const char *name),
		      void *arg);

/** Called with each stored value: every version of every secret; the
 * bytes live only during the call.  Non-zero stops (returned). */
typedef int (*store_secret_stored_fn)(void *arg, const char *name,
				      uint32_t version, const void *val,
				      size_t len);

/** Calls fn for every version of every secret (current and earlier
 * ones), in key order.  -EIO on a malformed record (logged). */
int store_secret_stored_each(struct store *s, store_secret_stored_fn fn,
			     void *arg);

/** Gives each stored value in[0..inlen) and takes its replacement in a
 * malloc'd *out (*outlen bytes, at most STORE_SECRET_MAX; freed here).
 * Non-zero stops and is returned. */
typedef int (*store_secret_rewrite_fn)(void *arg, const char *name,
				       uint32_t version, const void *in,
				       size_t inlen, void **out,
				       size_t *outlen);

/**
 * Replaces every stored value (each version of each secret) by what fn
 * makes of it, in one commit journaled "secret.rotate-key" (path "/secrets"):
 * all of them or none.  Versions keep their numbers.  *out_count (may be
 * NULL) gets the number of values rewritten.  Returns 0, fn's error
 * (nothing changed), -EFBIG, -EIO, -ENOSPC, -ENOMEM.
 */
int store_secret_rewrite(struct store *s, const struct store_caller *c,
			 store_secret_rewrite_fn fn, void *arg,
			 uint64_t *out_count);

/** A number that changes with every change of the secrets made through
 * this process (a set, a removal, a rewrite); unique in the process
 * across stores, so a cache keyed by it never mixes two stores. */
uint64_t store_secret_gen(struct store *s);

/* ------------------------------------------- authenticated encryption
 *
 * AES-256-GCM (OpenSSL), for acl/ to seal what the store must only see
 * encrypted.  The primitive only: keys, nonces, associated data and how
 * they are laid out are the caller's.  A nonce must never repeat under
 * one key (use a random one per value).  Nothing is kept or logged but
 * OpenSSL failures.
 */

#define STORE_AEAD_KEY_LEN 32
#define STORE_AEAD_IV_LEN  12
#define STORE_AEAD_TAG_LEN 16

/** Encrypts in[0..len) into out (len bytes; may be in) under key and iv,
 * authenticating aad[0..aadlen) too, and writes the tag.  Returns 0,
 * -EFBIG (over 2 GiB), -ENOMEM, -EIO (OpenSSL: logged). */
int store_aead_encrypt(const uint8_t key[STORE_AEAD_KEY_LEN],
		       const uint8_t iv[STORE_AEAD_IV_LEN], const void *aad,
		       size_t aadlen, const void *in, size_t len, void *out,
		       uint8_t tag[STORE_AEAD_TAG_LEN]);

/** Decrypts in[0..len) into out (len bytes) and checks tag over the
 * ciphertext and aad.  Returns 0, -EBADMSG when authentication fails
 * (a wrong key, nonce or aad, or changed bytes: out is zeroed, nothing
 * logged, that is the answer), -EFBIG, -ENOMEM, -EIO (OpenSSL: logged). */
int store_aead_decrypt(const uint8_t key[STORE_AEAD_KEY_LEN],
		       const uint8_t iv[STORE_AEAD_IV_LEN], const void *aad,
		       size_t aadlen, const void *in, size_t len, void *out,
		       const uint8_t tag[STORE_AEAD_TAG_LEN]);

#endif
