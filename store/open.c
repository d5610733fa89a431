/*
 * open.c - creating, opening and closing a store; options; names.
 *
 * A store directory holds a marker file, a lock file and the database.
 * The lock is an flock() on DIR/lock held for as long as the store is open,
 * with the holder's pid written in it so that a refusal can name it.
 */
#include "store_i.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/rand.h>

#define MARKER	    "ARTIFACTFS"
#define MARKER_TEXT "artifactfs store\nformat 1\n"

void store_options_init(struct store_options *o)
{
	memset(o, 0, sizeof(*o)); /* every flag off */
	o->chunk_min = 64 << 10;
	o->chunk_avg = 256 << 10;
	o->chunk_max = 1 << 20;
	o->zstd_level = 3;
	o->threads = 0;
	o->min_saving_pct = 5;
	o->gc_grace_s = 3600;
}

int store_options_check(const struct store_options *o)
{
	const char *bad = NULL;

	if (o->chunk_avg == 0 || (o->chunk_avg & (o->chunk_avg - 1)))
		bad = "chunk avg must be a power of two";
	else if (o->chunk_min < 4096 || o->chunk_min > o->chunk_avg)
		bad = "chunk min must be at least 4096 and at most avg";
	else if (o->chunk_max < o->chunk_avg || o->chunk_max > (16 << 20))
		bad = "chunk max must be at least avg and at most 16 MiB";
	else if (o->zstd_level < 0 || o->zstd_level > 19)
		bad = "zstd level must be between 0 (off) and 19";
	else if (o->threads > 64)
		bad = "threads must be at most 64";
	else if (o->min_saving_pct > 90)
		bad = "min_saving_pct must be at most 90";
	if (bad) {
		store_log(STORE_LOG_ERR, "invalid store options: %s", bad);
		return -EINVAL;
	}
	return 0;
}

static char *path_join(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		return NULL;
	return p;
}

bool store_exists(const char *dir)
{
	char *m = path_join(dir, MARKER);
	bool ok = m && access(m, F_OK) == 0;

	free(m);
	return ok;
}

bool store_is_export(const char *dir)
{
	char *m = path_join(dir, MARKER), buf[128];
	ssize_t n = -1;
	int fd = m ? open(m, O_RDONLY | O_CLOEXEC) : -1;

	free(m);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	}
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return strstr(buf, "\n" STORE_EXPORT_MARK "\n") != NULL;
}

static bool dir_is_empty(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool empty = true;

	if (!d)
		return false;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			empty = false;
			break;
		}
	}
	closedir(d);
	return empty;
}

static int write_marker(const char *dir)
{
	char *m = path_join(dir, MARKER);
	FILE *f;
	int rc = 0;

	if (!m)
		return -ENOMEM;
	f = fopen(m, "wx");
	if (!f) {
		rc = errno == EEXIST ? 0 : -errno;
		if (rc)
			store_log(STORE_LOG_ERR, "cannot create %s: %s", m,
				  strerror(errno));
		free(m);
		return rc;
	}
	if (fputs(MARKER_TEXT, f) < 0 || fflush(f) || fsync(fileno(f)))
		rc = -errno;
	if (fclose(f) && !rc)
		rc = -errno;
	if (rc)
		store_log(STORE_LOG_ERR, "cannot write %s: %s", m,
			  strerror(-rc));
	free(m);
	return rc;
}

pid_t store_lock_holder(const char *dir)
{
	char *l = path_join(dir, "lock");
	char buf[32] = "";
	ssize_t n;
	pid_t pid = 0;
	int fd;

	if (!l)
		return -ENOMEM;
	fd = open(l, O_RDONLY | O_CLOEXEC);
	free(l);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		close(fd);
		return 0;
	}
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n > 0)
		pid = (pid_t)strtol(buf, NULL, 10);
	close(fd);
	return pid > 0 ? pid : -EBUSY;
}

bool store_lock_serving(const char *dir)
{
	char *l = path_join(dir, "lock");
	char buf[32] = "";
	bool serving = false;
	int fd = l ? open(l, O_RDONLY | O_CLOEXEC) : -1;

	free(l);
	if (fd < 0)
		return false;
	if (flock(fd, LOCK_SH | LOCK_NB) < 0 &&
	    pread(fd, buf, sizeof(buf) - 1, 0) > 0)
		serving = strstr(buf, " serving") != NULL;
	close(fd);
	return serving;
}

/* Why the lock cannot be opened, in one line. */
static void lock_fail(const char *dir, const char *l, int err)
{
	struct stat st;

	if (err == EACCES && stat(dir, &st) == 0 && st.st_uid != geteuid())
		store_log(STORE_LOG_ERR,
			  "store %s belongs to uid %u and is not mounted: "
			  "other users' commands go through its mount daemon "
			  "('artifactfs mount'), or ask its owner",
			  dir, (unsigned)st.st_uid);
	else
		store_log(STORE_LOG_ERR, "cannot open %s: %s", l,
			  strerror(err));
}

/* The lock file's record: the holder's pid, " serving" for a mount
 * daemon, a newline, NULs to this size (all NULs once let go). */
#define LOCK_REC 32

/* Takes the store's lock: exclusive, or on read-only media (*ro set)
 * shared, since nothing can change the store there.  The lock file then
 * holds the pid, and " serving" for a mount daemon (store_lock_serving). */
static int lock_take(const char *dir, int *out_fd, bool *ro, bool serving)
{
	char *l = path_join(dir, "lock");
	char buf[LOCK_REC];
	int fd;

	if (!l)
		return -ENOMEM;
	fd = open(l, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 && errno == EROFS && ro) {
		fd = open(l, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			free(l);
			*ro = true;
			flock(fd, LOCK_SH | LOCK_NB);
			*out_fd = fd;
			return 0;
		}
	}
	if (fd < 0) {
		int rc = -errno;

		lock_fail(dir, l, errno);
		free(l);
		return rc;
	}
	free(l);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		pid_t pid = store_lock_holder(dir);

		close(fd);
		if (pid > 0)
			store_log(STORE_LOG_ERR, "store %s is in use by pid %d",
				  dir, (int)pid);
		else
			store_log(STORE_LOG_ERR,
				  "store %s is in use by another process", dir);
		return -EBUSY;
	}
	/* Always LOCK_REC bytes, NUL-padded, never truncated: rewriting the
	 * block the file has takes no room, so a daemon started on a full
	 * disk still says it serves (a store in RADOS works there). */
	memset(buf, 0, sizeof(buf));
	snprintf(buf, sizeof(buf), "%d%s\n", (int)getpid(),
		 serving ? " serving" : "");
	if (pwrite(fd, buf, LOCK_REC, 0) != LOCK_REC) {
		/* The lock holds without the pid: only the message suffers. */
		store_log(STORE_LOG_WARNING, "cannot record pid in lock file");
	}
	*out_fd = fd;
	return 0;
}

static void lock_drop(int fd)
{
	static const char none[LOCK_REC];

	if (fd < 0)
		return;
	if (pwrite(fd, none, LOCK_REC, 0) != LOCK_REC) {
		/* Nothing to do: the flock goes with the fd. */
	}
	close(fd);
}

/* Writes format, id and zero counters into a new database, and where
 * its chunks live (place NULL: in it). */
static int new_id(char id[33])
{
	uint8_t raw[16];

	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		store_log(STORE_LOG_ERR, "no random bytes for the store id");
		return -EIO;
	}
	for (int i = 0; i < 16; i++)
		snprintf(id + 2 * i, 3, "%02x", raw[i]);
	return 0;
}

/* CF_META "meta" = "rados": the metadata is in the pool (radosmeta.c),
 * this directory keeps the config, the lock and the socket only. */
#define META_IN_KEY "meta"
/* CF_META "node": this directory's node id (32 hex digits), which marks
 * the runs it opens (store_run_here). */
#define NODE_KEY "node"

/* Writes format, id and zero counters into a new database, and where
 * its chunks and metadata live (place NULL: in it). */
static int meta_create(struct db *db, const struct chunk_place *place,
		       const char *id)
{
	uint8_t fmt[4] = {0, 0, 0, STORE_FORMAT_VERSION};
	struct db_batch *b;
	struct store_stats zero = {0};
	int rc = db_batch_open(db, &b);

	if (rc)
		return rc;
	db_batch_put(b, CF_META, "format", 6, fmt, 4);
	db_batch_put(b, CF_META, "id", 2, id, 32);
	stats_save(b, &zero);
	if (place) {
		char node[33];

		rc = new_id(node);
		if (rc) {
			db_batch_free(b);
			return rc;
		}
		chunks_place_put(b, place);
		db_batch_put(b, CF_META, META_IN_KEY, strlen(META_IN_KEY),
			     "rados", 5);
		db_batch_put(b, CF_META, NODE_KEY, strlen(NODE_KEY), node, 32);
	}
	rc = db_batch_commit(b);
	db_batch_free(b);
	return rc;
}

/* Reads and checks the format; fills id. -ENOENT if absent. */
static int meta_check(struct db *db, const char *dir, char id[33])
{
	void *v;
	size_t len;
	uint32_t fmt;
	int rc = db_get(db, CF_META, "format", 6, &v, &len);

	if (rc)
		return rc;
	fmt = len == 4 ? be32_get(v) : 0;
	free(v);
	if (fmt == 0 || fmt > STORE_FORMAT_VERSION) {
		store_log(STORE_LOG_ERR,
			  "store %s has format %u, newer than this artifactfs "
			  "supports (%d): upgrade artifactfs",
			  dir, fmt, STORE_FORMAT_VERSION);
		return -EINVAL;
	}
	rc = db_get(db, CF_META, "id", 2, &v, &len);
	if (rc)
		return rc == -ENOENT ? -EIO : rc;
	snprintf(id, 33, "%.*s", (int)(len < 32 ? len : 32), (char *)v);
	free(v);
	return 0;
}

/* The RADOS place o asks for into p (NULL when none): the conf made
 * absolute, the pool checked to exist. */
static int place_of(const struct store_options *o, struct chunk_place *p,
		    bool check, const struct chunk_place **out)
{
	char *conf;

	*out = NULL;
	if (!o || !o->rados_pool)
		return 0;
	memset(p, 0, sizeof(*p));
	if (!o->ceph_conf || !o->rados_pool[0]) {
		store_log(STORE_LOG_ERR, "a RADOS store needs a pool and a "
					 "ceph.conf (--ceph-conf FILE)");
		return -EINVAL;
	}
	conf = realpath(o->ceph_conf, NULL);
	if (!conf) {
		int rc = -errno;

		store_log(STORE_LOG_ERR, "cannot read ceph conf %s: %s",
			  o->ceph_conf, strerror(errno));
		return rc;
	}
	if (strlen(o->rados_pool) >= sizeof(p->pool) ||
	    strlen(conf) >= sizeof(p->conf) ||
	    (o->ceph_id && strlen(o->ceph_id) >= sizeof(p->id)) ||
	    strchr(o->rados_pool, '\n') || strchr(conf, '\n') ||
	    (o->ceph_id && strchr(o->ceph_id, '\n'))) {
		free(conf);
		store_log(STORE_LOG_ERR, "RADOS pool, conf or id too long");
		return -EINVAL;
	}
	snprintf(p->pool, sizeof(p->pool), "%s", o->rados_pool);
	snprintf(p->conf, sizeof(p->conf), "%s", conf);
	snprintf(p->id, sizeof(p->id), "%s", o->ceph_id ? o->ceph_id : "");
	free(conf);
	*out = p;
	return check ? chunks_rados_open(p, NULL, NULL) : 0;
}

/* An existing store keeps where its chunks are: a different ask fails. */
static int place_same(struct db *db, const char *dir,
		      const struct chunk_place *want)
{
	struct chunk_place have;
	int rc = want ? chunks_place_get(db, &have) : 0;

	if (rc < 0 || !want)
		return rc;
	if (rc == 1 && !strcmp(have.pool, want->pool))
		return 0;
	if (rc == 1)
		store_log(STORE_LOG_ERR,
			  "store %s keeps its chunks in RADOS pool %s, not %s",
			  dir, have.pool, want->pool);
	else
		store_log(STORE_LOG_ERR,
			  "store %s keeps its chunks in its own directory: "
			  "--rados applies to a new store only",
			  dir);
	return -EEXIST;
}

/* A new store's metadata in the pool: claims the pool for id, or joins
 * the store there already (id then becomes its id), and makes the
 * metadata object with its format record. */
static int cluster_init(const struct chunk_place *p, char id[33])
{
	char have[33], got[33];
	struct rmeta *m;
	struct db *d;
	int rc = rados_store_claim(p, id, have);

	if (rc < 0)
		return rc;
	if (rc == 1) {
		memcpy(id, have, 33);
		store_log(STORE_LOG_WARNING,
			  "RADOS pool %s holds store %s already: this "
			  "directory joins it",
			  p->pool, id);
	}
	rc = rmeta_open(p, id, &m);
	if (rc)
		return rc;
	rc = rmeta_create(m);
	if (!rc)
		rc = db_open_rados(m, &d);
	if (rc) {
		rmeta_close(m);
		return rc;
	}
	rc = meta_check(d, p->pool, got);
	if (rc == -ENOENT)
		rc = meta_create(d, NULL, id);
	else if (!rc && strcmp(got, id))
		rc = -EIO;
	db_close(d);
	return rc;
}

/* Another node's commit (a librados thread): caches of bindings and
 * secrets go stale, and the mount is told. */
static void remote_changed(void *arg, unsigned what)
{
	struct store *s = arg;
	void (*fn)(void *) = __atomic_load_n(&s->remote_fn, __ATOMIC_ACQUIRE);

	/* 0: the next store_binding_gen / store_secret_gen hands out a
	 * new generation, unique in the process. */
	if (what & RMETA_BINDINGS)
		__atomic_store_n(&s->binding_gen, 0, __ATOMIC_RELEASE);
	if (what & RMETA_SECRETS)
		__atomic_store_n(&s->secret_gen, 0, __ATOMIC_RELEASE);
	if (fn)
		fn(__atomic_load_n(&s->remote_arg, __ATOMIC_RELAXED));
}

/* The 32 lowercase hex digits of a node id as bytes; false if malformed. */
static bool node_bytes(const char *hex, uint8_t out[AUDIT_NODE_LEN])
{
	return !strpbrk(hex, "ABCDEF") &&
	       store_hex_decode(hex, out, AUDIT_NODE_LEN) == 0;
}

/* Where db says the store's metadata lives: 0 in it, 1 in RADOS, 2 a
 * record it cannot read, or a negative errno. */
static int meta_place(struct db *db)
{
	void *v;
	size_t len;
	int rc =
	    db_get(db, CF_META, META_IN_KEY, strlen(META_IN_KEY), &v, &len);

	if (rc)
		return rc == -ENOENT ? 0 : rc;
	rc = len == 5 && !memcmp(v, "rados", 5) ? 1 : 2;
	free(v);
	return rc;
}

/* A store whose metadata is in RADOS: s->db becomes the pool's. */
static int cluster_open(struct store *s)
{
	struct chunk_place p;
	struct rmeta *m;
	struct db *d;
	char got[33];
	void *v;
	size_t len;
	int rc = meta_place(s->db);

	if (rc <= 0)
		return rc;
	rc = rc == 1 ? chunks_place_get(s->db, &p) : -EIO;
	if (rc != 1) {
		store_log(STORE_LOG_ERR,
			  "store %s: its record of where its "
			  "metadata lives is malformed",
			  s->dir);
		return rc < 0 ? rc : -EIO;
	}
	rc = db_get(s->db, CF_META, NODE_KEY, strlen(NODE_KEY), &v, &len);
	if (rc == 0) {
		snprintf(s->node, sizeof(s->node), "%.*s",
			 (int)(len < 32 ? len : 32), (char *)v);
		free(v);
		if (!node_bytes(s->node, s->node_id)) {
			store_log(STORE_LOG_ERR,
				  "store %s: its node id is "
				  "malformed",
				  s->dir);
			return -EIO;
		}
	} else if (rc != -ENOENT) {
		return rc;
	}
	rc = rmeta_open(&p, s->id, &m);
	if (rc)
		return rc;
	rc = db_open_rados(m, &d);
	if (rc) {
		rmeta_close(m);
		return rc;
	}
	rc = meta_check(d, s->dir, got);
	if (!rc && strcmp(got, s->id)) {
		store_log(STORE_LOG_ERR,
			  "store %s is %s, but RADOS pool %s holds store %s",
			  s->dir, s->id, p.pool, got);
		rc = -EIO;
	}
	if (rc) {
		db_close(d);
		return rc == -ENOENT ? -EIO : rc;
	}
	/* Without the watch, other nodes' changes show at our next
	 * commit: logged, not fatal. */
	rmeta_watch(m, remote_changed, s);
	/* A daemon starting after a crash completes the commit it left
	 * half applied before it serves anything (else the next commit of
	 * any node would). */
	if (s->opt.serving && !s->read_only)
		rmeta_settle(m);
	db_close(s->db);
	s->db = d;
	return 0;
}

void store_on_remote_change(struct store *s, void (*fn)(void *arg), void *arg)
{
	struct rmeta *m = db_rados(s->db);

	if (!m)
		return;
	/* The hook runs under rmeta's lock: once the barrier is passed, no
	 * call of the old fn is left to read the old arg. */
	if (fn)
		__atomic_store_n(&s->remote_arg, arg, __ATOMIC_RELAXED);
	__atomic_store_n(&s->remote_fn, fn, __ATOMIC_RELEASE);
	rmeta_barrier(m);
	if (!fn)
		__atomic_store_n(&s->remote_arg, arg, __ATOMIC_RELAXED);
}

bool store_clustered(const struct store *s)
{
	return db_rados(s->db) != NULL;
}

int store_init(const char *dir, const struct store_options *o)
{
	const struct chunk_place *place;
	struct chunk_place pbuf;
	struct db *db;
	char *dbp, id[33];
	int fd = -1, rc;

	/* Others may reach the daemon's socket in it, never list it; the
	 * database below is the owner's alone (roles are enforced by the
	 * daemon, so nobody else may read the store's files directly). */
	if (mkdir(dir, 0711) < 0 && errno != EEXIST) {
		rc = -errno;
		store_log(STORE_LOG_ERR, "cannot create %s: %s", dir,
			  strerror(errno));
		return rc;
	}
	if (!store_exists(dir) && !dir_is_empty(dir)) {
		store_log(STORE_LOG_ERR,
			  "%s is not empty and is not an artifactfs store",
			  dir);
		return -EEXIST;
	}
	/* Held by a running daemon: it is a store already. */
	if (store_exists(dir) && store_lock_holder(dir) > 0)
		return 0;
	/* A pool that is not there fails before anything is written. */
	rc = place_of(o, &pbuf, !store_exists(dir), &place);
	if (rc)
		return rc;
	rc = write_marker(dir);
	if (rc)
		return rc;
	rc = lock_take(dir, &fd, NULL, false);
	if (rc)
		return rc;
	dbp = path_join(dir, "db");
	if (dbp && mkdir(dbp, 0700) < 0 && errno != EEXIST)
		store_log(STORE_LOG_WARNING, "cannot create %s: %s", dbp,
			  strerror(errno));
	rc = dbp ? db_open(dbp, true, false, &db) : -ENOMEM;
	free(dbp);
	if (!rc) {
		rc = meta_check(db, dir, id);
		if (rc == -ENOENT) {
			rc = new_id(id);
			/* The pool first: a stop before the local record
			 * leaves nothing here, and init runs again. */
			if (!rc && place)
				rc = cluster_init(place, id);
			if (!rc)
				rc = meta_create(db, place, id);
		} else if (!rc)
			rc = place_same(db, dir, place);
		db_close(db);
	}
	if (!rc)
		space_reserve_make(dir);
	lock_drop(fd);
	return rc;
}

/* Decoded chunks kept for readers, and threads that prefetch them. */
#define CACHE_BYTES (64u << 20)
#define IO_THREADS  8
/* Decoded directory listings kept (some 900,000 entries of short names,
 * dircache.c). */
#define DCACHE_BYTES (64u << 20)

static int store_setup(struct store *s, const struct store_options *o)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int rc;

	if (o)
		s->opt = *o;
	else
		store_options_init(&s->opt);
	if (store_options_check(&s->opt))
		return -EINVAL;
	if (s->opt.threads == 0)
		s->opt.threads = ncpu > 0 ? (unsigned)ncpu : 2;
	pthread_mutex_init(&s->commit_lock, NULL);
	pthread_mutex_init(&s->lane_lock, NULL);
	gate_init(&s->gc_gate);
	s->pending = chunk_set_new();
	if (!s->pending)
		return -ENOMEM;
	rc = cache_new(CACHE_BYTES, &s->cache);
	if (!rc)
		rc = dcache_new(DCACHE_BYTES, &s->dcache);
	if (!rc)
		rc = hints_new(&s->hints);
	if (!rc)
		rc = pool_new(IO_THREADS, &s->io_pool);
	return rc ? rc : pool_new(s->opt.threads, &s->pool);
}

/* Opening the database writes a little (its log, a new manifest), and
 * RocksDB aborts when that fails for want of space: on a full disk the
 * reserve goes first, and without one the store opens for reading. */
static void full_disk(struct store *s)
{
	if (!space_low(s->dir))
		return;
	space_reserve_release(s->dir,
			      "to open it: make room with 'artifactfs gc'");
	if (!space_low(s->dir))
		return;
	store_log(STORE_LOG_WARNING,
		  "the disk of store %s is full and it holds no reserve: "
		  "opened for reading only; free some space on that disk",
		  s->dir);
	s->read_only = true;
}

/* Whether the database at dbp says the store's metadata is in RADOS
 * (read without writing: asked when the disk is full). */
static bool meta_in_cluster(const char *dbp)
{
	struct db *db;
	bool in;

	if (db_open(dbp, false, true, &db))
		return false;
	in = meta_place(db) == 1;
	db_close(db);
	return in;
}

/* The backend of the store's chunks: its own database, or RADOS. */
static int chunks_open(struct store *s)
{
	struct chunk_place p;
	int rc = chunks_place_get(s->db, &p);

	if (rc < 0)
		return rc;
	if (rc == 0)
		return chunks_db_open(s->db, &s->chunks);
	return chunks_rados_open(&p, s->id, &s->chunks);
}

int store_open(const char *dir, const struct store_options *o,
	       struct store **out)
{
	struct store *s;
	struct stat st;
	bool local_ro;
	char *dbp;
	int rc;

	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		store_log(STORE_LOG_ERR,
			  "no store at %s (run 'artifactfs init' first)", dir);
		return -ENOENT;
	}
	if (!store_exists(dir)) {
		store_log(STORE_LOG_ERR, "%s is not an artifactfs store", dir);
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->lock_fd = -1;
	s->dir = strdup(dir);
	rc = s->dir ? store_setup(s, o) : -ENOMEM;
	/* An export is never changed, nor locked: it may sit on read-only
	 * media, and readers share it. */
	s->exported = store_is_export(dir);
	s->read_only = (o && o->read_only) || s->exported;
	if (!rc && !s->read_only)
		rc = lock_take(dir, &s->lock_fd, &s->read_only, s->opt.serving);
	if (rc)
		goto out_close;
	dbp = path_join(dir, "db");
	if (!dbp) {
		rc = -ENOMEM;
		goto out_close;
	}
	/* A store whose metadata is in RADOS keeps nothing here that
	 * changes: a full local disk is no reason to refuse its writes. */
	local_ro = !s->read_only && space_low(dir) && meta_in_cluster(dbp);
	if (!s->read_only && !local_ro)
		full_disk(s);
	rc = db_open(dbp, false, s->read_only || local_ro, &s->db);
	free(dbp);
	if (!rc)
		rc = meta_check(s->db, dir, s->id);
	if (!rc)
		rc = chunks_open(s);
	if (!rc)
		rc = cluster_open(s);
	if (!rc && !s->read_only && !local_ro)
		space_reserve_make(dir);
	if (rc == -ENOENT) {
		store_log(STORE_LOG_ERR, "store %s has no format record", dir);
		rc = -EINVAL;
	}
	if (rc)
		goto out_close;
	*out = s;
	return 0;
out_close:
	store_close(s);
	return rc;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	pool_free(s->pool);
	pool_free(s->io_pool);
	/* Committed content is flushed or in the WAL already: what a flush
	 * here writes is garbage of failed writes, written only if it fits
	 * (a flush that fails for want of space makes RocksDB abort). */
	if (s->db && !s->read_only &&
	    space_room(s->dir, db_memtable_bytes(s->db)))
		db_flush_chunks(s->db);
	if (s->chunks)
		s->chunks->ops->close(s->chunks);
	db_close(s->db);
	cache_free(s->cache);
	free(s->audit_key);
	dcache_free(s->dcache);
	hints_free(s->hints);
	chunk_set_free(s->pending);
	lock_drop(s->lock_fd);
	if (s->pending) {
		pthread_mutex_destroy(&s->commit_lock);
		pthread_mutex_destroy(&s->lane_lock);
		gate_release(&s->gc_gate);
	}
	free(s->dir);
	free(s);
}

const char *store_id(const struct store *s)
{
	return s->id;
}

const char *store_dir(const struct store *s)
{
	return s->dir;
}

bool store_read_only(const struct store *s)
{
	return s->read_only;
}

bool store_exported(const struct store *s)
{
	return s->exported;
}

int store_ro_refuse(const struct store *s)
{
	store_log(STORE_LOG_ERR,
		  s->exported ? "store %s is an export, read-only: nothing "
				"can change"
			      : "store %s is on read-only media: nothing can "
				"change",
		  s->dir);
	return -EROFS;
}
