/*
 * radosmeta.c - the store's metadata in a RADOS pool: what db.c keeps in
 * RocksDB's column families (namespace, manifests, lineage, refcounts,
 * journal, secrets, counters), as omap key/values of one object, so that
 * every node of a cluster mounting the store sees one state; the outputs
 * trees of open runs, where most commits are, in an object per pipeline
 * (see "shards" below: each is an rmeta of its own, and what follows
 * holds for each object).
 *
 * Layout.  The object "meta" in the namespace "<store id>.meta" of the
 * pool; each key is the column family's byte and the key, in hex (omap
 * keys sort bytewise, and hex keeps that order while staying clear of the
 * NULs the C API cannot pass in a prefix).  Its xattr "gen" counts the
 * commits, as 20 decimal digits.
 *
 * Commits.  A batch takes the RADOS lock "commit" on the object (a lease
 * of LEASE_S seconds, renewed while the process holds it), reads "gen", and
 * commits as one write op: compare "gen" with what it read, set it one higher,
 * set and remove the batch's keys.  Either all of it lands or none: a writer
 * whose lease ran out and was taken over gets -ECANCELED and changes nothing.
 * The lock makes read-modify-write commits (version numbers, the journal's
 * head, refcounts) see a stable state across nodes, as the commit mutex does in
 * a process: two nodes sealing one artifact get v1 and v2.  A node that commits
 * again within HOLD_IDLE_NS keeps the lock, and with it the count, for
 * its next commit (at most HOLD_MAX_NS, and not once another node asked
 * for it): see "the lock kept between commits" below.
 *
 * Coherence.  Each node watches the object; a commit that changed the
 * namespace, a binding or a secret notifies the others (asynchronously:
 * a dead watcher never slows a commit), whose hook invalidates what they
 * cached.  A node also compares "gen" when it takes the lock, and when
 * another node committed since its own last commit, calls its hook for
 * what the log entries it caught up with changed (below; for everything
 * when it could not catch up), lest a notify was lost.  The
 * notify goes once the lock is let go, and a watching node waiting for
 * the lock tries again when it hears one, instead of sleeping out its
 * backoff.
 *
 * Reads inside a commit (under the lock) go to the cluster once: what
 * commits read and wrote is kept (the "view", at most VIEW_MAX keys)
 * with the count it holds for.  Every counted write op also logs what it
 * changed of such keys (omap key LOG_PREFIX + its count, the last
 * LOG_KEEP kept), and a node reads "gen" with the log entries after its
 * view's count in one op: a commit that finds "gen" moved applies them
 * in order and goes on with the view, and only drops it when one is
 * missing (trimmed, written by an older version) or too big to log.
 * Kept are only the keys that change by commits alone: not manifests
 * and their put times (put outside commits, by any node), nor the
 * nodes' lanes; of the journal only its head (records are written once
 * and not read).
 *
 * Reads outside a commit go to the cluster, except the namespace's in a
 * node that watches (the mount daemon): those the view answers too, and
 * keeps what it read, while the view is trusted.  Every commit that
 * changes the namespace notifies, and a notify from another node makes
 * the next such read bring the view up to date from the log first, so
 * such a read is as fresh as the kernel's caches the same notify
 * invalidates.  Lest a lost notify leave it stale, the view is trusted
 * for VIEW_TRUST_NS after its count was last seen in the cluster (by a
 * commit, or by reading "gen" again), and not at all without the watch.
 * A value read outside a commit joins the view only when nothing changed
 * the view meanwhile (vseq); one newer than the view's count (a commit
 * of another node not yet notified) is set again by that commit's log
 * entry when the view catches up, to the same value or a later one.
 */
#include "store_i.h"

#include <errno.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <signal.h>
#include "rados_i.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define META_OID "meta"
/* A shard's object, and the key (CF_META) registering it: + pipeline. */
#define SHARD_PREFIX "shard."
#define SHARD_REG    "shard/"
/* CF_META key of a store whose open runs' outputs live in shards: set
 * when its object is made; a store made before keeps them in "meta". */
#define SHARDED_KEY "sharded"
#define LOCK_NAME   "commit"
#define LEASE_S	    10
/* A process holding the lock renews its lease this often (a commit of
 * many thousands of keys, gc), so that only one that stalls or died
 * loses it, and other nodes wait at most LEASE_S for one that did. */
#define RENEW_NS 2000000000LL
/* How long a commit waits for another node's lock before it fails. */
#define LOCK_WAIT_S 120
/* Keys a scan asks for at once. */
#define SCAN_PAGE 512
/* Keys one write op carries; a bigger batch goes in parts (see "commits
 * of many parts").  ARTIFACTFS_RADOS_OP_KEYS lowers the count (tests). */
#define OP_KEYS	 20000
#define OP_BYTES (32u << 20)
/* A commit of many parts: the omap key naming it until all are applied,
 * and the prefix of the objects (same namespace) holding its parts. */
#define INTENT_KEY    "~i"
#define INTENT_PREFIX "intent."

/* A key of the view: its value, or absent. */
struct vent {
	char *hex;
	void *val; /* NULL: absent */
	size_t len;
};

/* Keys and bytes the view keeps at most, and the largest value. */
#define VIEW_MAX     65536
#define VIEW_BYTES   (32u << 20)
#define VIEW_VAL_MAX (64u << 10)
/* How long the view answers reads outside commits after its count was
 * last seen in the cluster. */
#define VIEW_TRUST_NS 1000000000LL
/* For how long after a read outside commits timed out (the count's or a
 * key's) the reads outside commits that would go to the cluster fail at
 * once: a stall of the cluster fails a request (a lookup, then the next)
 * after one deadline, not one per read. */
#define STALL_FAST_NS 5000000000LL
/* How often a node that lost its watch tries to watch again. */
#define REWATCH_NS 2000000000LL
/* A watching node keeps the commit lock after a commit for its next one
 * while it commits again within HOLD_IDLE_NS, for at most HOLD_MAX_NS,
 * and lets go at once when another node asks for it. */
#define HOLD_IDLE_NS 5000000LL
#define HOLD_MAX_NS  50000000LL
/* Nor for HOLD_CONTENDED_NS after another node last asked: where nodes
 * contend, each hand-over would cost two notifies more. */
#define HOLD_CONTENDED_NS 1000000000LL
/* The view's log: omap keys LOG_PREFIX + the commit count (20 digits),
 * one per counted write op, each what that op changed of the keys views
 * keep; the last LOG_KEEP are kept.  An op changing more than
 * LOG_ENTRY_MAX bytes of them logs that it did, and a view catching up
 * across it starts again. */
#define LOG_PREFIX    "~l"
#define LOG_KEY_LEN   (2 + 20)
#define LOG_KEEP      128
#define LOG_ENTRY_MAX (64u << 10)

/* A shard: the object of one pipeline's open runs (see "shards"). */
struct rkid {
	char *name;
	struct rmeta *m;
};

struct rmeta {
	rados_t cluster;
	rados_ioctx_t io;
	char oid[64];	      /* META_OID, or SHARD_PREFIX + hex(lane id) */
	struct rmeta *parent; /* a shard's: the store's (owns the connection) */
	char *name;	      /* a shard's pipeline */
	uint8_t lane[16];     /* a shard's lane id (its journal chain) */
	/* The shards opened (the store's object only; under kids_lock). */
	struct rkid *kids;
	size_t nkids, capkids;
	pthread_mutex_t kids_lock;
	int sharded; /* the store's: SHARDED_KEY read (0, 1), or -1 */
	char pool[128], conf[1024];
	char cookie[128]; /* "HOST PID RANDOM": breaking a dead one's lock */
	uint64_t watch;	  /* 0: none (a failed watch leaves none) */
	bool watching;
	bool rewatching;    /* a thread is watching again (lock) */
	int64_t rewatch_at; /* when one last tried (lock) */
	uint64_t self;	    /* our instance id: our own notifies are skipped */
	uint64_t last_gen;
	pthread_mutex_t lock; /* last_gen, hook, notifies */
	void (*hook)(void *arg, unsigned what);
	void *hook_arg;
	rados_completion_t *notes; /* notifies and unlocks in flight */
	size_t nnotes, capnotes;
	/* Notifies of other nodes seen: a wait for the commit lock wakes
	 * at the next (its holder notifies once it let go). */
	uint64_t heard;
	pthread_cond_t heard_cv;
	/* The view (under lock): keys as of commit count view_gen. */
	struct vent *view;
	size_t vn, vcap, vbytes;
	uint64_t view_gen;
	/* This node's lane head as its last lane commit wrote it (under
	 * lock): only the process holding the store directory extends the
	 * lane, so no other writer can move it. */
	char *lane_hex;
	void *lane_val;
	size_t lane_len;
	uint64_t vseq; /* bumped by every change of the view */
	/* What other nodes' commits changed since the last batch looked
	 * (RMETA_*, from the log entries the view caught up with), or
	 * anything (the view was dropped meanwhile). */
	unsigned changed;
	bool changed_any;
	int64_t view_seen; /* when view_gen was last the cluster's count */
	bool view_ok;
	/* The commit lock kept between commits (under lock): held_gen is
	 * the count as this node's last commit left it (no other node can
	 * commit while it is held); the keeper thread lets it go. */
	bool keeping; /* the keeper thread runs */
	bool closing;
	bool held;
	bool wanted;	   /* another node asked for the lock */
	int64_t wanted_at; /* when one last did */
	uint64_t held_gen;
	int64_t held_since, held_idle;
	pthread_cond_t keep_cv;
	pthread_t keeper;
	/* The lease renewed while this process holds the lock (under
	 * lock): from its taking to its release, in a batch or kept. */
	bool owning;
	int64_t renewed;
	bool renewing;	 /* the renewer thread runs */
	size_t op_keys;	 /* keys one write op carries at most */
	int64_t stalled; /* when a read outside commits timed out (lock) */
	pthread_cond_t renew_cv;
	pthread_t renewer;
};

/* ----------------------------------------------------------- errors */

static int fail(const struct rmeta *m, const char *what, int rc)
{
	return rados_fail(m->pool, m->conf, what, rc);
}

/* ------------------------------------------------------------- keys */

/* hex(cf, key) into a malloc'd string. */
static char *key_hex(enum db_cf cf, const void *key, size_t klen)
{
	uint8_t c = (uint8_t)cf;
	char *h = malloc(2 * klen + 3);

	if (!h)
		return NULL;
	store_hex_encode(&c, 1, h);
	store_hex_encode(key, klen, h + 2);
	return h;
}

/* The value of a hex digit, or -1 (key_unhex decodes by length: a
 * listed key need not end in a NUL). */
static int nib(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
				      : -1;
}

/* Decodes hex h (after the cf's two digits) into out (cap bytes); the
 * length, or -1 when h is not ours. */
static long key_unhex(const char *h, size_t hlen, uint8_t *out, size_t cap)
{
	size_t n;

	if (hlen < 2 || hlen % 2)
		return -1;
	n = hlen / 2 - 1;
	if (n > cap)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int a = nib(h[2 + 2 * i]), b = nib(h[3 + 2 * i]);

		if (a < 0 || b < 0)
			return -1;
		out[i] = (uint8_t)(a << 4 | b);
	}
	return (long)n;
}

/* A manifest put outside a batch (a file's, before the commit that
 * references it) has a companion key in CF_DEFAULT, TIME_TAG + its key,
 * holding when it was put: gc leaves younger ones alone, as another node
 * may be about to commit a reference (gc.c). */
#define TIME_TAG 'T'

/* hex of the companion key of a CF_MANIFESTS key; NULL for other cfs. */
static char *time_key(enum db_cf cf, const void *key, size_t klen)
{
	uint8_t k[1 + KEY_DIGEST_LEN + 8];

	if (cf != CF_MANIFESTS || klen > sizeof(k) - 1)
		return NULL;
	k[0] = TIME_TAG;
	memcpy(k + 1, key, klen);
	return key_hex(CF_DEFAULT, k, klen + 1);
}

/* --------------------------------------------------------- open/close */

/* -------------------------------------------------------------- view */

static int64_t now_mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* Whether hex h starts with the hex of raw[0..len) (decoding h, so that
 * no constant is encoded at every call). */
static bool hex_starts(const char *h, const void *raw, size_t len)
{
	const uint8_t *r = raw;

	for (size_t i = 0; i < len; i++) {
		int a = nib(h[2 * i]), b = a < 0 ? -1 : nib(h[2 * i + 1]);

		if (b < 0 || (uint8_t)(a << 4 | b) != r[i])
			return false;
	}
	return true;
}

/* What a change of key h (hex, cf first) tells watchers of: RMETA_*
 * bits (a binding is in the namespace too). */
static unsigned key_what(const char *h)
{
	const uint8_t secrets = CF_SECRETS, ns = CF_NAMESPACE,
		      binding = KEY_NS_BINDING;

	if (hex_starts(h, &secrets, 1))
		return RMETA_SECRETS;
	if (!hex_starts(h, &ns, 1))
		return 0;
	return hex_starts(h + 2, &binding, 1) ? RMETA_NAMESPACE | RMETA_BINDINGS
					      : RMETA_NAMESPACE;
}

/* Whether key hex h of cf changes by counted commits of m alone. */
static bool view_keeps(const struct rmeta *m, enum db_cf cf, const char *h)
{
	const uint8_t lane_head = KEY_AUDIT_LANE_HEAD;

	switch (cf) {
	case CF_NAMESPACE:
	case CF_LINEAGE:
	case CF_REFCOUNTS:
	case CF_SECRETS:
	case CF_META:
		return true;
	case CF_AUDIT: /* its head: records are written once, not read */
		if (m->parent) /* a shard's lane moves under its lock */
			return hex_starts(h + 2, &lane_head, 1) &&
			       strlen(h + 2) == 2 * KEY_AUDIT_LANE_HEAD_LEN;
		return hex_starts(h + 2, KEY_AUDIT_HEAD, KEY_AUDIT_HEAD_LEN) &&
		       !h[2 + 2 * KEY_AUDIT_HEAD_LEN];
	default:
		return false;
	}
}

static void view_drop(struct rmeta *m)
{
	for (size_t i = 0; i < m->vcap; i++) {
		free(m->view[i].hex);
		free(m->view[i].val);
	}
	free(m->view);
	m->view = NULL;
	m->vn = m->vcap = m->vbytes = 0;
	m->view_ok = false;
	m->changed_any = true;
	m->vseq++;
}

/* The cluster's count was g at time now (lock held): the view holds for
 * it, kept if it held for g already, else a new empty one. */
static void view_seen_at(struct rmeta *m, uint64_t g, int64_t now)
{
	if (!m->view_ok || m->view_gen != g) {
		view_drop(m);
		m->view_ok = true;
		m->view_gen = g;
	}
	m->view_seen = now;
}

static uint64_t hash_of(const char *h);

/* The slot of h in the view (its entry or a free one); vcap > 0. */
static struct vent *view_slot(struct vent *v, size_t cap, const char *h)
{
	for (size_t i = hash_of(h) & (cap - 1);; i = (i + 1) & (cap - 1))
		if (!v[i].hex || !strcmp(v[i].hex, h))
			return &v[i];
}

/* Keeps h = val (NULL: absent) in the view (lock held).  Out of memory
 * or past VIEW_MAX, the view is dropped: it only saves reads. */
static void view_set(struct rmeta *m, const char *h, const void *val,
		     size_t len)
{
	struct vent *e;
	void *copy = NULL;

	if (!val)
		len = 0;
	if (!m->view_ok)
		return;
	if (len > VIEW_VAL_MAX) { /* not kept: nor may its old value be */
		if (m->vcap && view_slot(m->view, m->vcap, h)->hex)
			view_drop(m);
		return;
	}
	if ((m->vn + 1) * 4 > m->vcap * 3) {
		size_t cap = m->vcap ? 2 * m->vcap : 256;
		struct vent *nv;

		if (m->vn >= VIEW_MAX || !(nv = calloc(cap, sizeof(*nv)))) {
			view_drop(m);
			return;
		}
		for (size_t i = 0; i < m->vcap; i++)
			if (m->view[i].hex)
				*view_slot(nv, cap, m->view[i].hex) =
				    m->view[i];
		free(m->view);
		m->view = nv, m->vcap = cap;
	}
	if (val && !(copy = malloc(len ? len : 1))) {
		view_drop(m);
		return;
	}
	if (val)
		memcpy(copy, val, len);
	e = view_slot(m->view, m->vcap, h);
	if (!e->hex) {
		e->hex = strdup(h);
		if (!e->hex) {
			free(copy);
			view_drop(m);
			return;
		}
		m->vn++;
		m->vbytes += strlen(h);
	}
	m->vbytes += len - (e->val ? e->len : 0);
	free(e->val);
	e->val = copy, e->len = len;
	if (m->vbytes > VIEW_BYTES)
		view_drop(m);
}

/* Looks h up in the view (lock held): 1 and a copy in *val (NULL:
 * absent), 0 when the view does not have it, or -ENOMEM. */
static int view_get(struct rmeta *m, const char *h, void **val, size_t *len)
{
	struct vent *e;

	if (!m->view_ok || !m->vcap)
		return 0;
	e = view_slot(m->view, m->vcap, h);
	if (!e->hex)
		return 0;
	*val = NULL;
	if (e->val) {
		*val = malloc(e->len ? e->len : 1);
		if (!*val)
			return -ENOMEM;
		memcpy(*val, e->val, e->len);
		*len = e->len;
	}
	return 1;
}

/* A new handle, its locks made, nothing connected. */
static struct rmeta *rmeta_alloc(void)
{
	struct rmeta *m = calloc(1, sizeof(*m));
	pthread_condattr_t ca;

	if (!m)
		return NULL;
	pthread_mutex_init(&m->lock, NULL);
	pthread_mutex_init(&m->kids_lock, NULL);
	m->sharded = -1;
	snprintf(m->oid, sizeof(m->oid), "%s", META_OID);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->heard_cv, &ca);
	pthread_cond_init(&m->keep_cv, &ca);
	pthread_cond_init(&m->renew_cv, &ca);
	pthread_condattr_destroy(&ca);
	return m;
}

int rmeta_open(const struct chunk_place *p, const char *store_id,
	       struct rmeta **out)
{
	struct rmeta *m = rmeta_alloc();
	const char *e;
	char ns[64], host[64];
	uint8_t r[8];
	int rc;

	if (!m)
		return -ENOMEM;
	snprintf(m->pool, sizeof(m->pool), "%s", p->pool);
	snprintf(m->conf, sizeof(m->conf), "%s", p->conf);
	rc = rados_place_connect(p, &m->cluster, &m->io);
	if (rc) {
		m->cluster = NULL, m->io = NULL;
		rmeta_close(m);
		return rc;
	}
	snprintf(ns, sizeof(ns), "%s.meta", store_id);
	rados_ioctx_set_namespace(m->io, ns);
	/* The watch is a write to RADOS: on a full pool it would wait out
	 * its deadline; this way it fails at once (and is tried again). */
	rados_set_pool_full_try(m->io);
	m->self = rados_get_instance_id(m->cluster);
	if (RAND_bytes(r, sizeof(r)) != 1)
		memset(r, 0, sizeof(r));
	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "?");
	host[sizeof(host) - 1] = '\0';
	snprintf(m->cookie, sizeof(m->cookie), "%s %d %02x%02x%02x%02x%02x%02x",
		 host, (int)getpid(), r[0], r[1], r[2], r[3], r[4], r[5]);
	m->op_keys = OP_KEYS;
	if ((e = getenv("ARTIFACTFS_RADOS_OP_KEYS")) && *e) {
		char *end;
		unsigned long v = strtoul(e, &end, 10);

		if (!*end && v >= 1 && v < OP_KEYS)
			m->op_keys = v;
	}
	*out = m;
	return 0;
}

static void reap_notes(struct rmeta *m, bool wait)
{
	size_t k = 0;

	for (size_t i = 0; i < m->nnotes; i++) {
		if (wait)
			rados_aio_wait_for_complete(m->notes[i]);
		if (rados_aio_is_complete(m->notes[i]))
			rados_aio_release(m->notes[i]);
		else
			m->notes[k++] = m->notes[i];
	}
	m->nnotes = k;
}

static void keep_start(struct rmeta *m);
static void keep_stop(struct rmeta *m);
static void renew_stop(struct rmeta *m);

void rmeta_close(struct rmeta *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nkids; i++) {
		rmeta_close(m->kids[i].m);
		free(m->kids[i].name);
	}
	free(m->kids);
	keep_stop(m);
	renew_stop(m);
	if (m->watch)
		rados_unwatch2(m->io, m->watch);
	pthread_mutex_lock(&m->lock);
	reap_notes(m, true);
	pthread_mutex_unlock(&m->lock);
	free(m->notes);
	view_drop(m);
	free(m->lane_hex), free(m->lane_val);
	if (!m->parent && m->cluster && m->watching)
		rados_watch_flush(m->cluster);
	if (!m->parent && m->io)
		rados_ioctx_destroy(m->io);
	if (!m->parent && m->cluster)
		rados_shutdown(m->cluster);
	free(m->name);
	pthread_mutex_destroy(&m->kids_lock);
	pthread_mutex_destroy(&m->lock);
	pthread_cond_destroy(&m->heard_cv);
	pthread_cond_destroy(&m->keep_cv);
	pthread_cond_destroy(&m->renew_cv);
	free(m);
}

/* Makes the object if it is not there (a new store). */
int rmeta_create(struct rmeta *m)
{
	rados_write_op_t op = rados_create_write_op();
	char *fk = key_hex(CF_META, SHARDED_KEY, strlen(SHARDED_KEY));
	const char *keys[1] = {fk}, *vals[1] = {"1"};
	size_t kl[1] = {fk ? strlen(fk) : 0}, vl[1] = {1};
	char g[21];
	int rc;

	if (!op || !fk) {
		if (op)
			rados_release_write_op(op);
		free(fk);
		return -ENOMEM;
	}
	snprintf(g, sizeof(g), "%020llu", 0ULL);
	rados_write_op_create(op, LIBRADOS_CREATE_EXCLUSIVE, NULL);
	rados_write_op_setxattr(op, "gen", g, 20);
	/* A new store shards its open runs' outputs (see "shards"). */
	if (!m->parent)
		rados_write_op_omap_set2(op, keys, vals, kl, vl, 1);
	rc = rados_write_op_operate(op, m->io, m->oid, NULL,
				    RADOS_META_OP_FLAGS);
	rados_release_write_op(op);
	free(fk);
	if (rc == -EEXIST)
		return 0;
	return rc ? fail(m, "cannot create the metadata object", rc) : 0;
}

/* ------------------------------------------------------ watch/notify */

/* Taken by a watch's start and by its callbacks before they touch the
 * handle: a shard is made after librados's threads started, and this is
 * the order between its making and their first use of it that a race
 * detector can see (it cannot see through librados). */
static pthread_mutex_t handover = PTHREAD_MUTEX_INITIALIZER;

static void handover_pass(void)
{
	pthread_mutex_lock(&handover);
	pthread_mutex_unlock(&handover);
}

static void on_notify(void *arg, uint64_t notify_id, uint64_t handle,
		      uint64_t notifier, void *data, size_t len)
{
	struct rmeta *m = arg;
	unsigned what = 0;
	rados_ioctx_t io;
	uint64_t self;

	handover_pass();

	for (size_t i = 0; i < len; i++) {
		char c = ((const char *)data)[i];

		what |= c == 'n'   ? RMETA_NAMESPACE
			: c == 'b' ? RMETA_BINDINGS
			: c == 's' ? RMETA_SECRETS
				   : 0;
	}
	/* Set before the watch began, read under the lock that its start
	 * took: an order a race detector can see through librados too. */
	pthread_mutex_lock(&m->lock);
	io = m->io, self = m->self;
	pthread_mutex_unlock(&m->lock);
	rados_notify_ack(io, m->oid, notify_id, handle, NULL, 0);
	if (notifier == self)
		return;
	pthread_mutex_lock(&m->lock);
	if (memchr(data, 'w', len)) { /* another node waits for the lock */
		m->wanted = true;
		m->wanted_at = now_mono_ns();
		pthread_cond_broadcast(&m->keep_cv);
		/* Not news to this node's own waiters: they would ask in
		 * turn, and the asking would never end. */
		pthread_mutex_unlock(&m->lock);
		return;
	}
	m->heard++;
	pthread_cond_broadcast(&m->heard_cv);
	if (!what) {
		pthread_mutex_unlock(&m->lock);
		return;
	}
	/* The next read brings the view up to date from the log. */
	m->view_seen = INT64_MIN / 2;
	if (m->hook)
		m->hook(m->hook_arg, what);
	pthread_mutex_unlock(&m->lock);
}

static void on_watch_error(void *arg, uint64_t handle, int err)
{
	struct rmeta *m = arg;

	(void)handle;
	handover_pass();
	store_log(STORE_LOG_WARNING,
		  "RADOS pool %s: lost the watch on the store's metadata "
		  "(%s): changes from other nodes show at the next commit "
		  "until it is watched again",
		  m->pool, strerror(-err));
	__atomic_store_n(&m->watching, false, __ATOMIC_RELEASE);
}

int rmeta_watch(struct rmeta *m, void (*fn)(void *arg, unsigned what),
		void *arg)
{
	int rc;

	pthread_mutex_lock(&m->lock);
	m->hook = fn;
	m->hook_arg = arg;
	pthread_mutex_unlock(&m->lock);
	handover_pass();
	rc = rados_watch3(m->io, m->oid, &m->watch, on_notify, on_watch_error,
			  30, m);
	if (rc) {
		m->watch = 0; /* librados freed what the handle names */
		return fail(m, "cannot watch the store's metadata", rc);
	}
	m->watching = true;
	keep_start(m);
	/* The shards opened before (a daemon's first reads). */
	pthread_mutex_lock(&m->kids_lock);
	for (size_t i = 0; i < m->nkids && !rc; i++)
		rc = rmeta_watch(m->kids[i].m, fn, arg);
	pthread_mutex_unlock(&m->kids_lock);
	return rc;
}

/* Watches again after the watch was lost (a stalled cluster, a dropped
 * connection): tried from a read or a commit, never from librados'
 * callback, at most every REWATCH_NS.  Notifies may have been missed
 * meanwhile, so the view goes and the hook hears that everything may
 * have changed. */
static void rewatch(struct rmeta *m)
{
	int64_t now;
	uint64_t w;
	int rc;

	if (__atomic_load_n(&m->watching, __ATOMIC_ACQUIRE))
		return;
	now = now_mono_ns();
	pthread_mutex_lock(&m->lock);
	if (!m->hook || m->rewatching || now - m->rewatch_at < REWATCH_NS) {
		pthread_mutex_unlock(&m->lock);
		return;
	}
	m->rewatching = true;
	m->rewatch_at = now;
	w = m->watch;
	pthread_mutex_unlock(&m->lock);
	if (w)
		rados_unwatch2(m->io, w); /* the lost one */
	rc = rados_watch3(m->io, m->oid, &w, on_notify, on_watch_error, 30, m);
	pthread_mutex_lock(&m->lock);
	m->rewatching = false;
	m->watch = rc ? 0 : w; /* a failed watch leaves no handle */
	if (!rc) {
		view_drop(m);
		m->hook(m->hook_arg,
			RMETA_NAMESPACE | RMETA_BINDINGS | RMETA_SECRETS);
		__atomic_store_n(&m->watching, true, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&m->lock);
	if (!rc)
		store_log(STORE_LOG_WARNING,
			  "RADOS pool %s: watching the store's metadata again",
			  m->pool);
}

void rmeta_barrier(struct rmeta *m)
{
	pthread_mutex_lock(&m->lock);
	pthread_mutex_unlock(&m->lock);
	/* The shards call the same hook. */
	pthread_mutex_lock(&m->kids_lock);
	for (size_t i = 0; i < m->nkids; i++)
		rmeta_barrier(m->kids[i].m);
	pthread_mutex_unlock(&m->kids_lock);
}

/* A completion for an op not waited for, kept in notes until it is
 * (lock held); NULL out of memory. */
static rados_completion_t note_new(struct rmeta *m)
{
	rados_completion_t c;

	reap_notes(m, false);
	if (m->nnotes == m->capnotes) {
		size_t cap = m->capnotes ? 2 * m->capnotes : 8;
		rados_completion_t *n = realloc(m->notes, cap * sizeof(*n));

		if (!n)
			return NULL;
		m->notes = n, m->capnotes = cap;
	}
	if (rados_aio_create_completion2(NULL, NULL, &c))
		return NULL;
	m->notes[m->nnotes++] = c;
	return c;
}

/* Tells the other nodes what a commit changed, or ("w") that this one
 * waits for the commit lock, or ("u") that it let the lock go; no wait
 * for them (lock held). */
static void notify_locked(struct rmeta *m, const char *what)
{
	rados_completion_t c;

	if (!what[0])
		return;
	c = note_new(m);
	if (c && rados_aio_notify(m->io, m->oid, c, what, (int)strlen(what),
				  5000, NULL, NULL))
		m->nnotes--, rados_aio_release(c);
}

static void notify(struct rmeta *m, const char *what)
{
	pthread_mutex_lock(&m->lock);
	notify_locked(m, what);
	pthread_mutex_unlock(&m->lock);
}

/* Starts releasing the commit lock without waiting (lock held): RADOS
 * applies one client's ops on an object in order, so this node's next
 * lock comes after it, and another node's waits for it as before.
 * false: it could not start; the caller releases it, waiting. */
static bool unlock_start(struct rmeta *m)
{
	rados_completion_t c = note_new(m);

	if (c && rlock_unlock(m->io, m->oid, LOCK_NAME, m->cookie, c))
		m->nnotes--, rados_aio_release(c), c = NULL;
	return c != NULL;
}

static void unlock_commit(struct rmeta *m)
{
	bool started;

	pthread_mutex_lock(&m->lock);
	m->owning = false;
	started = unlock_start(m);
	pthread_mutex_unlock(&m->lock);
	if (!started)
		rlock_unlock(m->io, m->oid, LOCK_NAME, m->cookie, NULL);
}

/* --------------------------------------------- the lock kept between commits
 *
 * A commit takes the lock (a round trip) and reads "gen" (another); a
 * node that commits again soon after keeps both: while it holds the
 * lock no other node commits, so "gen" stays as its last commit left
 * it.  Only a watching node keeps it (it hears another node ask, "w"),
 * and only while it commits again within HOLD_IDLE_NS, for at most
 * HOLD_MAX_NS from taking it, far inside the lease.  The keeper thread
 * lets it go then, or at once when asked, and says so ("u") to wake
 * the waiting nodes. */

/* Lets the kept lock go (lock held). */
static void keep_release(struct rmeta *m)
{
	m->held = false;
	m->wanted = false;
	m->owning = false;
	if (!unlock_start(m)) {
		pthread_mutex_unlock(&m->lock);
		rlock_unlock(m->io, m->oid, LOCK_NAME, m->cookie, NULL);
		pthread_mutex_lock(&m->lock);
	}
	notify_locked(m, "u");
}

static void *keeper(void *arg)
{
	struct rmeta *m = arg;

	pthread_mutex_lock(&m->lock);
	while (!m->closing) {
		int64_t due = m->held_idle + HOLD_IDLE_NS;
		struct timespec until;

		if (!m->held) {
			pthread_cond_wait(&m->keep_cv, &m->lock);
			continue;
		}
		if (due > m->held_since + HOLD_MAX_NS)
			due = m->held_since + HOLD_MAX_NS;
		if (m->wanted || now_mono_ns() >= due) {
			keep_release(m);
			continue;
		}
		until.tv_sec = (time_t)(due / 1000000000LL);
		until.tv_nsec = (long)(due % 1000000000LL);
		pthread_cond_timedwait(&m->keep_cv, &m->lock, &until);
	}
	if (m->held)
		keep_release(m);
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

/* Starts the keeper (a watching node's); without it no lock is kept. */
static void keep_start(struct rmeta *m)
{
	pthread_mutex_lock(&m->lock);
	m->keeping =
	    !m->keeping && !pthread_create(&m->keeper, NULL, keeper, m);
	pthread_mutex_unlock(&m->lock);
}

/* Stops the keeper, which lets a kept lock go first. */
static void keep_stop(struct rmeta *m)
{
	if (!m->keeping)
		return;
	pthread_mutex_lock(&m->lock);
	m->closing = true;
	pthread_cond_broadcast(&m->keep_cv);
	pthread_mutex_unlock(&m->lock);
	pthread_join(m->keeper, NULL);
	m->keeping = false;
}

/* ------------------------------------------------- the lease renewed */

static void *renewer(void *arg)
{
	struct rmeta *m = arg;

	pthread_mutex_lock(&m->lock);
	while (!m->closing) {
		int64_t due = m->renewed + RENEW_NS;
		struct timespec until;
		int rc;

		if (!m->owning) {
			pthread_cond_wait(&m->renew_cv, &m->lock);
			continue;
		}
		if (now_mono_ns() < due) {
			until.tv_sec = (time_t)(due / 1000000000LL);
			until.tv_nsec = (long)(due % 1000000000LL);
			pthread_cond_timedwait(&m->renew_cv, &m->lock, &until);
			continue;
		}
		m->renewed = now_mono_ns();
		pthread_mutex_unlock(&m->lock);
		rc = rlock_lock(m->io, m->oid, LOCK_NAME, m->cookie,
				"artifactfs commit", LEASE_S,
				LIBRADOS_LOCK_FLAG_MUST_RENEW);
		pthread_mutex_lock(&m->lock);
		if (rc && m->owning)
			store_log(
			    STORE_LOG_WARNING,
			    "RADOS pool %s: cannot renew the lease of the "
			    "store's commit lock (%s): a commit that "
			    "outlasts it changes nothing",
			    m->pool, strerror(-rc));
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

/* This process took the lock: its lease is renewed until it lets go. */
static void owning_start(struct rmeta *m)
{
	pthread_mutex_lock(&m->lock);
	m->owning = true;
	m->renewed = now_mono_ns();
	if (!m->renewing)
		m->renewing = !pthread_create(&m->renewer, NULL, renewer, m);
	pthread_cond_broadcast(&m->renew_cv);
	pthread_mutex_unlock(&m->lock);
}

static void renew_stop(struct rmeta *m)
{
	bool on;

	pthread_mutex_lock(&m->lock);
	on = m->renewing;
	m->closing = true;
	pthread_cond_broadcast(&m->renew_cv);
	pthread_mutex_unlock(&m->lock);
	if (on)
		pthread_join(m->renewer, NULL);
	m->renewing = false;
}

/* ------------------------------------------------------------- reads */

/* Reads key hex h from the cluster. */
static int cluster_get(struct rmeta *m, const char *h, void **val, size_t *len)
{
	const char *keys[1];
	rados_read_op_t op;
	rados_omap_iter_t it = NULL;
	int prval = 0, rc;
	char *k, *v;
	size_t vl;

	op = rados_create_read_op();
	if (!op)
		return -ENOMEM;
	keys[0] = h;
	rados_read_op_omap_get_vals_by_keys(op, keys, 1, &it, &prval);
	rc = rados_read_op_operate(op, m->io, m->oid, 0);
	if (!rc)
		rc = prval;
	if (!rc) {
		rc = rados_omap_get_next(it, &k, &v, &vl);
		if (!rc && !k)
			rc = -ENOENT;
		else if (!rc) {
			*val = malloc(vl ? vl : 1);
			if (*val) {
				memcpy(*val, v, vl);
				*len = vl;
			} else {
				rc = -ENOMEM;
			}
		}
	}
	if (it)
		rados_omap_get_end(it);
	rados_release_read_op(op);
	if (rc == -ENOENT || rc == -ENOMEM)
		return rc;
	return rc ? fail(m, "cannot read the store's metadata", rc) : 0;
}

static int gen_sync(struct rmeta *m, uint64_t *g, char **intent);
static int roll_forward(struct rmeta *m, uint64_t g, const char *iv);

/* Whether a read outside commits timed out in the last STALL_FAST_NS
 * (m->lock held). */
static bool stall_recent(const struct rmeta *m, int64_t now)
{
	return m->stalled && now - m->stalled < STALL_FAST_NS;
}

/* Notes how a read outside commits went (m->lock held): a timeout
 * starts the window, an answer ends it. */
static void stall_note(struct rmeta *m, int rc)
{
	if (rc == -ETIMEDOUT)
		m->stalled = now_mono_ns();
	else if (!rc || rc == -ENOENT)
		m->stalled = 0;
}

/* As stall_note, m->lock not held. */
static void stall_seen(struct rmeta *m, int rc)
{
	pthread_mutex_lock(&m->lock);
	stall_note(m, rc);
	pthread_mutex_unlock(&m->lock);
}

/* -ETIMEDOUT when a read outside commits timed out a moment ago, else 0
 * (m->lock not held). */
static int stall_check(struct rmeta *m)
{
	bool recent;

	pthread_mutex_lock(&m->lock);
	recent = stall_recent(m, now_mono_ns());
	pthread_mutex_unlock(&m->lock);
	return recent ? -ETIMEDOUT : 0;
}

/* Whether the view may answer a read outside a commit now (lock held):
 * a watching node's, its count seen in the cluster within
 * VIEW_TRUST_NS; past that, "gen" is read again (the lock dropped
 * meanwhile), and *err is that read's failure (or 0). */
static bool view_trusted(struct rmeta *m, int *err)
{
	int64_t now = now_mono_ns();
	bool pending;
	char *iv;
	uint64_t g;
	int rc;

	if (!__atomic_load_n(&m->watching, __ATOMIC_ACQUIRE))
		return false;
	if (m->view_ok && now - m->view_seen < VIEW_TRUST_NS)
		return true;
	/* A read timed out a moment ago: the cluster stalls. */
	if (stall_recent(m, now)) {
		*err = -ETIMEDOUT;
		return false;
	}
	pthread_mutex_unlock(&m->lock);
	rc = gen_sync(m, &g, &iv);
	pending = iv != NULL;
	free(iv);
	pthread_mutex_lock(&m->lock);
	stall_note(m, rc);
	*err = rc;
	if (rc || pending) /* a commit of many parts half applied */
		return false;
	if (m->view_ok && m->view_gen > g) /* a commit of ours meanwhile */
		m->view_seen = now;
	else
		view_seen_at(m, g, now);
	return true;
}

static int obj_get(struct rmeta *m, enum db_cf cf, const void *key, size_t klen,
		   void **val, size_t *len)
{
	char *h = key_hex(cf, key, klen);
	bool keep = cf == CF_NAMESPACE;
	uint64_t seq = 0;
	int rc = 0, err = 0;

	if (!h)
		return -ENOMEM;
	rewatch(m);
	if (keep) {
		pthread_mutex_lock(&m->lock);
		keep = view_trusted(m, &err);
		rc = keep ? view_get(m, h, val, len) : 0;
		seq = m->vseq;
		pthread_mutex_unlock(&m->lock);
	}
	/* The cluster did not answer for the count within its deadline:
	 * the read would wait out another (a stall of the cluster fails a
	 * read after one). */
	if (err == -ETIMEDOUT) {
		free(h);
		return err;
	}
	if (rc == 1) {
		free(h);
		return *val ? 0 : -ENOENT;
	}
	if (rc == 0) {
		rc = stall_check(m);
		if (!rc) {
			rc = cluster_get(m, h, val, len);
			stall_seen(m, rc);
		}
	} else {
		keep = false;
	}
	if (keep && (rc == 0 || rc == -ENOENT)) {
		pthread_mutex_lock(&m->lock);
		if (seq == m->vseq)
			view_set(m, h, rc ? NULL : *val, rc ? 0 : *len);
		pthread_mutex_unlock(&m->lock);
	}
	free(h);
	return rc;
}

/* The largest hex string below h that no key of ours falls between:
 * omap's start_after is exclusive, and a scan from h must include h. */
static void before(char *h)
{
	size_t n = strlen(h);
	char c = h[n - 1];

	if (c == '0') {
		h[n - 1] = '\0';
		return;
	}
	h[n - 1] = c == 'a' ? '9' : (char)(c - 1);
	/* then 'g', above every hex digit: all keys with the lower digit
	 * sort below, h itself above. */
	h[n] = 'g';
	h[n + 1] = '\0';
}

static int obj_scan_from(struct rmeta *m, enum db_cf cf, const void *prefix,
			 size_t plen, const void *from, size_t flen,
			 db_scan_fn fn, void *arg)
{
	char *ph = key_hex(cf, prefix, plen);
	char *after = key_hex(cf, flen ? from : prefix, flen ? flen : plen);
	size_t cap = 4096;
	uint8_t *kb = malloc(cap);
	int rc = 0;

	if (!ph || !after || !kb ||
	    !(after = realloc(after, strlen(after) + 2))) {
		free(ph), free(after), free(kb);
		return -ENOMEM;
	}
	rc = stall_check(m);
	if (rc) {
		free(ph), free(after), free(kb);
		return rc;
	}
	before(after);
	for (;;) {
		rados_read_op_t op = rados_create_read_op();
		rados_omap_iter_t it = NULL;
		unsigned char more = 0;
		int prval = 0;
		size_t got = 0;

		if (!op) {
			rc = -ENOMEM;
			break;
		}
		rados_read_op_omap_get_vals2(op, after, ph, SCAN_PAGE, &it,
					     &more, &prval);
		rc = rados_read_op_operate(op, m->io, m->oid, 0);
		if (!rc)
			rc = prval;
		if (rc) {
			if (it)
				rados_omap_get_end(it);
			rados_release_read_op(op);
			rc = fail(m, "cannot list the store's metadata", rc);
			stall_seen(m, rc);
			break;
		}
		for (;;) {
			char *k, *v;
			size_t kl, vl;
			long n;

			if (rados_omap_get_next2(it, &k, &v, &kl, &vl) || !k)
				break;
			got++;
			if (kl / 2 > cap) {
				uint8_t *nk = realloc(kb, kl / 2 + 1);

				if (!nk) {
					rc = -ENOMEM;
					break;
				}
				kb = nk, cap = kl / 2 + 1;
			}
			n = key_unhex(k, kl, kb, cap);
			if (kl + 1 > strlen(after) + 1) {
				char *na = realloc(after, kl + 2);

				if (!na) {
					rc = -ENOMEM;
					break;
				}
				after = na;
			}
			memcpy(after, k, kl);
			after[kl] = '\0';
			if (n < 0)
				continue; /* not a key of ours */
			rc = fn(arg, kb, (size_t)n, v, vl);
			if (rc)
				break;
		}
		rados_omap_get_end(it);
		rados_release_read_op(op);
		if (rc || !more || !got)
			break;
	}
	free(ph), free(after), free(kb);
	return rc;
}

/* ------------------------------------------------------------ shards
 *
 * The outputs trees of open runs change with every file a run writes:
 * most commits are theirs.  Each pipeline's live in an object of its
 * own, the pipeline's shard (SHARD_PREFIX + hex of its lane id, the
 * first 16 bytes of SHA-256 of SHARD_TAG NUL pipeline), with what only
 * they touch: the references their files hold (CF_REFCOUNTS), their
 * counters (CF_META "stats") and the journal records of their changes,
 * in a lane of the shard's own (CF_AUDIT, keyed by the lane id).  A
 * shard is an rmeta of its own (lock, count, view, log, watch) sharing
 * the store's connection, so nodes writing runs of different pipelines
 * never wait for one another.  A batch in a shard reads every other key
 * from the store's object (outside its lock) and may change none.
 *
 * The store's object names each shard (CF_META SHARD_REG + pipeline ->
 * lane id), committed under its lock before the shard's first commit:
 * gc and fsck, holding that lock, know every shard that may hold a
 * reference.  Reads of an outputs key, or scans within one pipeline's,
 * go to its shard; scans of the journal's lanes cover every shard. */

#define SHARD_TAG "artifactfs shard"

static void shard_lane(const char *name, uint8_t lane[16])
{
	char buf[sizeof(SHARD_TAG) + STORE_NAME_MAX + 1];
	size_t nl = strnlen(name, STORE_NAME_MAX);
	uint8_t d[STORE_DIGEST_LEN];

	memcpy(buf, SHARD_TAG, sizeof(SHARD_TAG)); /* with its NUL */
	memcpy(buf + sizeof(SHARD_TAG), name, nl);
	store_digest_buf(buf, sizeof(SHARD_TAG) + nl, d);
	memcpy(lane, d, 16);
}

/* The pipeline of an outputs-tree key (KEY_NS_OUTPUT pipeline NUL ...,
 * the NUL included): its length, *name pointing at it; else 0. */
static size_t out_pipeline(enum db_cf cf, const void *key, size_t klen,
			   const char **name)
{
	const char *k = key, *nul;

	if (cf != CF_NAMESPACE || klen < 3 || k[0] != KEY_NS_OUTPUT)
		return 0;
	nul = memchr(k + 1, '\0', klen - 1);
	if (!nul || nul == k + 1)
		return 0;
	*name = k + 1;
	return (size_t)(nul - (k + 1));
}

/* Whether shard m keeps key: its pipeline's outputs, the references,
 * the counters and the journal (its lane). */
static bool shard_keeps(const struct rmeta *m, enum db_cf cf, const void *key,
			size_t klen)
{
	const char *n;
	size_t nl = out_pipeline(cf, key, klen, &n);

	if (nl)
		return nl == strlen(m->name) && !memcmp(n, m->name, nl);
	return cf == CF_REFCOUNTS || cf == CF_AUDIT ||
	       (cf == CF_META && klen == 5 && !memcmp(key, "stats", 5));
}

/* Whether a key of a journal lane ('L', 'N', 'P' + lane id ...), or a
 * prefix that may hold some (scans). */
static bool lane_key(enum db_cf cf, const void *key, size_t klen)
{
	const uint8_t *k = key;

	return cf == CF_AUDIT && (!klen || k[0] == KEY_AUDIT_LANE ||
				  k[0] == KEY_AUDIT_LANE_HEAD || k[0] == 'P');
}

static size_t reg_key(uint8_t *k, const char *name)
{
	size_t nl = strlen(name);

	memcpy(k, SHARD_REG, strlen(SHARD_REG));
	memcpy(k + strlen(SHARD_REG), name, nl);
	return strlen(SHARD_REG) + nl;
}

/* Whether store object p shards its open runs' outputs: 1, 0 (a store
 * made before shards were), or -errno (read once, then kept). */
static int sharded(struct rmeta *p)
{
	int v = __atomic_load_n(&p->sharded, __ATOMIC_ACQUIRE);
	void *val;
	size_t len;
	int rc;

	if (v >= 0)
		return v;
	rc = obj_get(p, CF_META, SHARDED_KEY, strlen(SHARDED_KEY), &val, &len);
	if (rc && rc != -ENOENT)
		return rc;
	if (!rc)
		free(val);
	v = rc == 0;
	__atomic_store_n(&p->sharded, v, __ATOMIC_RELEASE);
	return v;
}

/* Names shard name in store object p, unless it is (create), under p's
 * lock: 0, -ENOENT (not named, !create), or -errno. */
static int shard_register(struct rmeta *p, const char *name, bool create)
{
	uint8_t k[sizeof(SHARD_REG) + STORE_NAME_MAX], lane[16];
	size_t kl = reg_key(k, name), len;
	struct rbatch *b;
	void *v;
	int rc = obj_get(p, CF_META, k, kl, &v, &len);

	if (!rc)
		free(v);
	if (rc != -ENOENT || !create)
		return rc;
	b = rmeta_batch_new(p, &rc);
	if (!b)
		return rc;
	rc = rmeta_batch_get(b, CF_META, k, kl, &v, &len);
	if (!rc) {
		free(v);
	} else if (rc == -ENOENT) {
		shard_lane(name, lane);
		rmeta_batch_put(b, CF_META, k, kl, lane, sizeof(lane));
		rc = rmeta_batch_commit(b);
	}
	rmeta_batch_free(b);
	return rc;
}

/* Opens shard name of store object p (its object made if need be). */
static int kid_open(struct rmeta *p, const char *name, struct rmeta **out)
{
	struct rmeta *k = rmeta_alloc();
	void (*hook)(void *arg, unsigned what);
	void *hook_arg;
	char hex[33];
	int rc;

	if (!k || !(k->name = strdup(name))) {
		rmeta_close(k);
		return -ENOMEM;
	}
	k->parent = p;
	k->cluster = p->cluster;
	k->io = p->io;
	memcpy(k->pool, p->pool, sizeof(k->pool));
	memcpy(k->conf, p->conf, sizeof(k->conf));
	memcpy(k->cookie, p->cookie, sizeof(k->cookie));
	k->self = p->self;
	k->op_keys = p->op_keys;
	shard_lane(name, k->lane);
	store_hex_encode(k->lane, sizeof(k->lane), hex);
	snprintf(k->oid, sizeof(k->oid), SHARD_PREFIX "%s", hex);
	pthread_mutex_lock(&p->lock);
	hook = p->hook, hook_arg = p->hook_arg;
	pthread_mutex_unlock(&p->lock);
	rc = rmeta_create(k);
	if (!rc && hook)
		rc = rmeta_watch(k, hook, hook_arg);
	if (rc) {
		rmeta_close(k);
		return rc;
	}
	*out = k;
	return 0;
}

/* Shard name[0..nl) of store object p, opened at its first use; one not
 * named yet is named first when create, else -ENOENT. */
static int kid_find(struct rmeta *p, const char *name, size_t nl, bool create,
		    struct rmeta **out)
{
	char nm[STORE_NAME_MAX + 1];
	struct rmeta *k = NULL;
	bool fresh = false;
	int rc = 0;

	if (nl > STORE_NAME_MAX || memchr(name, '\0', nl))
		return -EINVAL;
	memcpy(nm, name, nl);
	nm[nl] = '\0';
	/* Held while opening: a shard opens once per process. */
	pthread_mutex_lock(&p->kids_lock);
	for (size_t i = 0; i < p->nkids && !k; i++) {
		if (!strcmp(p->kids[i].name, nm))
			k = p->kids[i].m;
	}
	if (!k && p->nkids == p->capkids) {
		size_t cap = p->capkids ? 2 * p->capkids : 8;
		struct rkid *n = realloc(p->kids, cap * sizeof(*n));

		if (n)
			p->kids = n, p->capkids = cap;
		else
			rc = -ENOMEM;
	}
	if (!k && !rc)
		rc = shard_register(p, nm, create);
	if (!k && !rc)
		fresh = (rc = kid_open(p, nm, &k)) == 0;
	if (fresh) {
		p->kids[p->nkids].name = strdup(nm);
		if (!p->kids[p->nkids].name) {
			rmeta_close(k);
			k = NULL;
			rc = -ENOMEM;
		} else {
			p->kids[p->nkids++].m = k;
		}
	}
	pthread_mutex_unlock(&p->kids_lock);
	*out = k;
	return rc;
}

int rmeta_shard(struct rmeta *m, const char *pipeline, bool create,
		struct rmeta **out)
{
	int rc;

	if (m->parent)
		m = m->parent;
	rc = sharded(m);
	if (rc <= 0)
		return rc ? rc : -ENOTSUP;
	return kid_find(m, pipeline, strlen(pipeline), create, out);
}

const char *rmeta_shard_name(const struct rmeta *m)
{
	return m->name;
}

const uint8_t *rmeta_shard_lane(const struct rmeta *m)
{
	return m->parent ? m->lane : NULL;
}

struct lane_name {
	const uint8_t *lane;
	char *out;
};

static int lane_is(void *arg, struct rmeta *k)
{
	struct lane_name *x = arg;

	if (memcmp(k->lane, x->lane, sizeof(k->lane)))
		return 0;
	snprintf(x->out, STORE_NAME_MAX + 1, "%s", k->name);
	return 1;
}

int rmeta_lane_pipeline(struct rmeta *m, const uint8_t *lane, char *out)
{
	struct lane_name x = {lane, out};
	int rc = rmeta_shards_each(m, lane_is, &x);

	return rc == 1 ? 0 : rc ? rc : -ENOENT;
}

struct names {
	char **v;
	size_t n, cap;
};

static int reg_one(void *arg, const void *key, size_t klen, const void *val,
		   size_t vlen)
{
	struct names *x = arg;
	size_t pl = strlen(SHARD_REG);

	(void)val, (void)vlen;
	if (klen <= pl || klen - pl > STORE_NAME_MAX)
		return 0;
	if (x->n == x->cap) {
		size_t cap = x->cap ? 2 * x->cap : 8;
		char **n = realloc(x->v, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		x->v = n, x->cap = cap;
	}
	x->v[x->n] = strndup((const char *)key + pl, klen - pl);
	return x->v[x->n++] ? 0 : -ENOMEM;
}

int rmeta_shards_each(struct rmeta *m, int (*fn)(void *arg, struct rmeta *s),
		      void *arg)
{
	struct names x = {0};
	int rc;

	if (m->parent)
		m = m->parent;
	rc = obj_scan_from(m, CF_META, SHARD_REG, strlen(SHARD_REG), NULL, 0,
			   reg_one, &x);
	for (size_t i = 0; !rc && i < x.n; i++) {
		struct rmeta *k;

		rc = kid_find(m, x.v[i], strlen(x.v[i]), false, &k);
		if (!rc)
			rc = fn(arg, k);
	}
	for (size_t i = 0; i < x.n; i++)
		free(x.v[i]);
	free(x.v);
	return rc;
}

/* Where key lives: *to is m, a shard (an outputs key of the store's
 * object; a key a shard does not keep goes to the store's object), or
 * -ENOENT for the outputs of a pipeline with no shard. */
static int route(struct rmeta *m, enum db_cf cf, const void *key, size_t klen,
		 struct rmeta **to)
{
	const char *n;
	size_t nl;
	int rc;

	*to = m;
	if (m->parent && shard_keeps(m, cf, key, klen))
		return 0;
	if (m->parent)
		m = *to = m->parent;
	nl = out_pipeline(cf, key, klen, &n);
	if (!nl || (rc = sharded(m)) == 0)
		return 0;
	return rc < 0 ? rc : kid_find(m, n, nl, false, to);
}

struct lane_find {
	enum db_cf cf;
	const void *key;
	size_t klen;
	void **val;
	size_t *len;
	int rc;
};

static int lane_get_in(void *arg, struct rmeta *k)
{
	struct lane_find *f = arg;

	if (f->klen < 17 || memcmp((const uint8_t *)f->key + 1, k->lane, 16))
		return 0;
	f->rc = obj_get(k, f->cf, f->key, f->klen, f->val, f->len);
	return 1;
}

int rmeta_get(struct rmeta *m, enum db_cf cf, const void *key, size_t klen,
	      void **val, size_t *len)
{
	struct lane_find f = {cf, key, klen, val, len, -ENOENT};
	struct rmeta *to;
	int rc = route(m, cf, key, klen, &to);

	if (rc)
		return rc;
	rc = obj_get(to, cf, key, klen, val, len);
	/* A lane not of a node: a shard's. */
	if (rc == -ENOENT && !to->parent && klen && lane_key(cf, key, klen)) {
		rc = rmeta_shards_each(to, lane_get_in, &f);
		rc = rc < 0 ? rc : f.rc;
	}
	return rc;
}

struct scan_all {
	enum db_cf cf;
	const void *prefix, *from;
	size_t plen, flen;
	db_scan_fn fn;
	void *arg;
};

static int scan_in(void *arg, struct rmeta *k)
{
	struct scan_all *a = arg;

	return obj_scan_from(k, a->cf, a->prefix, a->plen, a->from, a->flen,
			     a->fn, a->arg);
}

int rmeta_scan_from(struct rmeta *m, enum db_cf cf, const void *prefix,
		    size_t plen, const void *from, size_t flen, db_scan_fn fn,
		    void *arg)
{
	struct scan_all a = {cf, prefix, from, plen, flen, fn, arg};
	const char *n;
	size_t nl = out_pipeline(cf, prefix, plen, &n);
	int rc;

	if (m->parent) {
		/* A shard's own keys, or the store's. */
		if ((nl && shard_keeps(m, cf, prefix, plen)) ||
		    cf == CF_REFCOUNTS || cf == CF_AUDIT || cf == CF_META)
			return obj_scan_from(m, cf, prefix, plen, from, flen,
					     fn, arg);
		m = m->parent;
	}
	if (nl && (rc = sharded(m)) != 0) {
		struct rmeta *k;

		if (rc < 0)
			return rc;
		rc = kid_find(m, n, nl, false, &k);
		if (rc == -ENOENT)
			return 0; /* no shard: nothing written */
		return rc ? rc
			  : obj_scan_from(k, cf, prefix, plen, from, flen, fn,
					  arg);
	}
	rc = obj_scan_from(m, cf, prefix, plen, from, flen, fn, arg);
	if (!rc && lane_key(cf, prefix, plen))
		rc = rmeta_shards_each(m, scan_in, &a);
	return rc;
}

/* ------------------------------------------------ single-key writes */

/* One put or remove of a key, outside any batch (content-named keys
 * and markers, which no read-modify-write depends on). */
int rmeta_put(struct rmeta *m, enum db_cf cf, const void *key, size_t klen,
	      const void *val, size_t len, bool del)
{
	char *h = key_hex(cf, key, klen);
	char *th = time_key(cf, key, klen);
	const char *keys[2];
	size_t kl[2], vl[2];
	const char *vals[2];
	uint8_t now[8];
	size_t n = 1;
	rados_write_op_t op;
	int rc;

	if (!h || (cf == CF_MANIFESTS && !th)) {
		free(h), free(th);
		return -ENOMEM;
	}
	op = rados_create_write_op();
	if (!op) {
		free(h), free(th);
		return -ENOMEM;
	}
	keys[0] = h, kl[0] = strlen(h);
	vals[0] = val, vl[0] = len;
	if (th) {
		be64_put(now, (uint64_t)now_ns());
		keys[1] = th, kl[1] = strlen(th);
		vals[1] = (const char *)now, vl[1] = sizeof(now);
		n = 2;
	}
	rados_write_op_assert_exists(op);
	if (del)
		rados_write_op_omap_rm_keys2(op, keys, kl, n);
	else
		rados_write_op_omap_set2(op, keys, vals, kl, vl, n);
	rc = rados_write_op_operate(op, m->io, m->oid, NULL,
				    RADOS_META_OP_FLAGS);
	rados_release_write_op(op);
	if (view_keeps(m, cf, h)) { /* uncounted: the view cannot follow */
		pthread_mutex_lock(&m->lock);
		view_drop(m);
		pthread_mutex_unlock(&m->lock);
	}
	free(h), free(th);
	return rc ? fail(m, "cannot write the store's metadata", rc) : 0;
}

int rmeta_put_time(struct rmeta *m, enum db_cf cf, const void *key, size_t klen,
		   int64_t *ns)
{
	uint8_t k[1 + KEY_DIGEST_LEN + 8];
	void *v;
	size_t len;
	int rc;

	if (cf != CF_MANIFESTS || klen > sizeof(k) - 1)
		return -ENOENT;
	k[0] = TIME_TAG;
	memcpy(k + 1, key, klen);
	rc = rmeta_get(m, CF_DEFAULT, k, klen + 1, &v, &len);
	if (rc)
		return rc;
	*ns = len == 8 ? (int64_t)be64_get(v) : 0;
	free(v);
	return 0;
}

/* ----------------------------------------------------------- batches */

struct bent {
	char *hex; /* the key, as stored */
	void *val; /* NULL: a delete (clean: absent) */
	size_t len;
	enum db_cf cf;
	/* A read kept for the batch, not a write: under the commit lock
	 * no other node changes the key, so it is read once. */
	bool clean;
};

struct rbatch {
	struct rmeta *m;
	struct bent *e;
	size_t n, cap;
	size_t *tab; /* open addressing: index + 1 into e; 0 free */
	size_t tcap;
	uint64_t gen;  /* UINT64_MAX: broken (out of memory staging) */
	uint64_t gen0; /* as the batch began */
	bool locked;
	bool failed;	/* a commit failed: gen is not known to hold */
	bool unapplied; /* committed, parts left to the next commit */
	int64_t since;	/* when this node took the lock it holds */
	bool lane;	/* no lock, no count: keys only this node writes */
	bool foreign;	/* changed a key of another object: refused */
	char what[4];	/* what it changed, notified once the lock is let go */
};

static uint64_t hash_of(const char *h)
{
	uint64_t x = 1469598103934665603ULL;

	for (; *h; h++)
		x = (x ^ (uint8_t)*h) * 1099511628211ULL;
	return x;
}

/* The commit lock held by a process of this host that is gone (killed
 * in a commit): broken at once rather than waiting out its lease. */
static void break_dead(struct rmeta *m)
{
	char tag[64], clients[256], cookies[256], addrs[256], host[64];
	size_t tl = sizeof(tag), cl = sizeof(clients), kl = sizeof(cookies),
	       al = sizeof(addrs);
	int excl = 0, pid = 0, n = 0;
	char who[64];

	if (rados_list_lockers(m->io, m->oid, LOCK_NAME, &excl, tag, &tl,
			       clients, &cl, cookies, &kl, addrs, &al) != 1)
		return;
	if (gethostname(host, sizeof(host)) < 0)
		return;
	host[sizeof(host) - 1] = '\0';
	if (sscanf(cookies, "%63s %d %n", who, &pid, &n) < 2 || !n ||
	    strcmp(who, host) || pid <= 0 || pid == (int)getpid())
		return;
	if (kill(pid, 0) == 0 || errno != ESRCH)
		return;
	if (rlock_break(m->io, m->oid, LOCK_NAME, clients, cookies) == 0)
		store_log(STORE_LOG_WARNING,
			  "RADOS pool %s: broke the commit lock of process %d "
			  "of this host, gone without releasing it",
			  m->pool, pid);
}

/* Waits up to us, or until another node's notify after the count heard
 * (a watching node's; the holder notifies once it let go). */
static void lock_wait(struct rmeta *m, uint64_t heard, unsigned us)
{
	struct timespec until;

	if (!__atomic_load_n(&m->watching, __ATOMIC_ACQUIRE)) {
		usleep(us);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_nsec += (long)us * 1000;
	until.tv_sec += until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&m->lock);
	while (m->heard == heard &&
	       pthread_cond_timedwait(&m->heard_cv, &m->lock, &until) == 0)
		;
	pthread_mutex_unlock(&m->lock);
}

static int lock_take(struct rbatch *b)
{
	struct rmeta *m = b->m;
	time_t start = time(NULL);
	unsigned wait_us = 500;
	bool said = false;

	for (;;) {
		uint64_t heard;
		int rc;

		pthread_mutex_lock(&m->lock);
		heard = m->heard;
		pthread_mutex_unlock(&m->lock);
		rc = rlock_lock(m->io, m->oid, LOCK_NAME, m->cookie,
				"artifactfs commit", LEASE_S, 0);

		if (rc == 0 || rc == -EEXIST) {
			owning_start(m);
			return 0;
		}
		if (rc != -EBUSY)
			return fail(m, "cannot take the store's commit lock",
				    rc);
		if (wait_us == 500)
			break_dead(m);
		/* Held past one commit's time: a node keeping the lock
		 * lets it go at its next commit or at once when asked, and
		 * keeps none for a while.  Asked again at each longest
		 * wait, lest it took it back first. */
		if (wait_us == 1000 || wait_us >= 20000)
			notify(m, "w");
		if (time(NULL) - start > LOCK_WAIT_S) {
			store_log(STORE_LOG_ERR,
				  "RADOS pool %s: another node has held the "
				  "store's commit lock for %d s: nothing was "
				  "changed",
				  m->pool, LOCK_WAIT_S);
			return -EBUSY;
		}
		if (!said && time(NULL) - start >= 5) {
			store_log(STORE_LOG_WARNING,
				  "RADOS pool %s: waiting for another node's "
				  "commit lock",
				  m->pool);
			said = true;
		}
		lock_wait(m, heard, wait_us);
		if (wait_us < 20000)
			wait_us *= 2;
	}
}

/* ------------------------------------------------------ the view's log */

static void log_key(char out[LOG_KEY_LEN + 1], uint64_t g)
{
	snprintf(out, LOG_KEY_LEN + 1, LOG_PREFIX "%020llu",
		 (unsigned long long)g);
}

/* Entries [from, to) of b that it sets or removes, encoded: 1, then for
 * each (all, or only keys views keep) u8 1 (set) or 0, str key (hex),
 * and for a set varint length and the value. */
static void entries_encode(const struct rbatch *b, size_t from, size_t to,
			   bool all, size_t cap, struct buf *x)
{
	buf_u8(x, 1);
	for (size_t i = from; i < to && x->len <= cap; i++) {
		const struct bent *e = &b->e[i];

		if (e->clean || (!all && !view_keeps(b->m, e->cf, e->hex)))
			continue;
		buf_u8(x, e->val ? 1 : 0);
		buf_str(x, e->hex);
		if (e->val) {
			buf_varint(x, e->len);
			buf_bytes(x, e->val, e->len);
		}
	}
}

/* The log entry of the write op of entries [from, to) of b: what it
 * sets or removes of the keys views keep (entries_encode).  Just 0 when
 * that is more than LOG_ENTRY_MAX (or memory ran out): a view across it
 * drops. */
static void log_entry(const struct rbatch *b, size_t from, size_t to,
		      struct buf *x)
{
	entries_encode(b, from, to, false, LOG_ENTRY_MAX, x);
	if (x->oom || x->len > LOG_ENTRY_MAX) {
		x->len = 0, x->oom = false;
		buf_u8(x, 0);
	}
}

/* Applies one log entry to the view (lock held); false when it cannot
 * (a drop entry, a corrupt one): the view is then to be dropped. */
static bool log_apply(struct rmeta *m, const uint8_t *v, size_t len)
{
	struct cursor c = {v, v + len, false};
	char h[4096];

	if (cur_u8(&c) != 1 || c.bad)
		return false;
	while (c.p < c.end && m->view_ok) {
		uint8_t set = cur_u8(&c);
		uint64_t hl = cur_varint(&c), vl = 0;
		const uint8_t *hp = hl < sizeof(h) ? cur_bytes(&c, hl) : NULL;
		const uint8_t *val = NULL;

		if (!hp || c.bad)
			return false;
		memcpy(h, hp, hl);
		h[hl] = '\0';
		if (set) {
			vl = cur_varint(&c);
			val = vl <= (uint64_t)(c.end - c.p) ? cur_bytes(&c, vl)
							    : NULL;
			if (!val)
				return false;
		}
		if (c.bad || set > 1)
			return false;
		m->changed |= key_what(h);
		view_set(m, h, val, (size_t)vl);
	}
	return m->view_ok;
}

/* Brings the view from count from to g (lock held) with the log entries
 * after from, in the iterator it of the op that read g; drops the view
 * when they do not hold every op in between, in order.  A view that
 * moved meanwhile is dropped unless it is at g already. */
static void view_catch_up(struct rmeta *m, uint64_t from, uint64_t g,
			  rados_omap_iter_t it)
{
	if (!m->view_ok || m->view_gen == g)
		return;
	if (m->view_gen != from || g < from || g - from > LOG_KEEP) {
		view_drop(m);
		return;
	}
	for (uint64_t want = from + 1; want <= g; want++) {
		char *k, *v;
		size_t kl, vl;

		if (rados_omap_get_next2(it, &k, &v, &kl, &vl) || !k ||
		    kl != LOG_KEY_LEN || strtoull(k + 2, NULL, 10) != want ||
		    !log_apply(m, (const uint8_t *)v, vl)) {
			view_drop(m);
			return;
		}
	}
	m->view_gen = g;
	m->vseq++;
}

/* Reads the cluster's commit count into *g and, in the same op, the log
 * entries after the view's count, with which it brings the view to *g,
 * and INTENT_KEY: when intent is not NULL, its value (malloc'd) or NULL.
 * A pending commit of many parts drops the view (it may be partly
 * applied). */
static int gen_sync(struct rmeta *m, uint64_t *g, char **intent)
{
	const char *ik = INTENT_KEY;
	rados_omap_iter_t iit = NULL;
	int iprval = 0;
	bool pending = false;
	rados_read_op_t op = rados_create_read_op();
	rados_xattrs_iter_t xit = NULL;
	rados_omap_iter_t it = NULL;
	int xprval = 0, prval = 0, rc;
	unsigned char more = 0;
	char after[LOG_KEY_LEN + 1];
	bool have = false;
	uint64_t from;

	if (!op)
		return -ENOMEM;
	pthread_mutex_lock(&m->lock);
	from = m->view_ok ? m->view_gen : UINT64_MAX;
	pthread_mutex_unlock(&m->lock);
	if (intent)
		*intent = NULL;
	rados_read_op_getxattrs(op, &xit, &xprval);
	rados_read_op_omap_get_vals_by_keys(op, &ik, 1, &iit, &iprval);
	if (from != UINT64_MAX) {
		log_key(after, from);
		rados_read_op_omap_get_vals2(op, after, LOG_PREFIX, LOG_KEEP,
					     &it, &more, &prval);
	}
	rc = rados_read_op_operate(op, m->io, m->oid, 0);
	if (!rc)
		rc = xprval ? xprval : prval;
	for (;;) { /* the count */
		const char *name, *val;
		size_t vl;
		char buf[32];

		if (rc || rados_getxattrs_next(xit, &name, &val, &vl) || !name)
			break;
		if (strcmp(name, "gen") || vl >= sizeof(buf))
			continue;
		memcpy(buf, val, vl);
		buf[vl] = '\0';
		*g = strtoull(buf, NULL, 10);
		have = true;
	}
	if (!rc && !have)
		rc = -ENODATA;
	if (!rc && !iprval) { /* a commit of many parts not finished */
		char *k, *v;
		size_t vl;

		if (!rados_omap_get_next(iit, &k, &v, &vl) && k) {
			pending = true;
			if (intent && !(*intent = strndup(v, vl)))
				rc = -ENOMEM;
		}
	}
	if (!rc && (it || pending)) {
		pthread_mutex_lock(&m->lock);
		if (pending)
			view_drop(m);
		else
			view_catch_up(m, from, *g, it);
		pthread_mutex_unlock(&m->lock);
	}
	if (iit)
		rados_omap_get_end(iit);
	if (it)
		rados_omap_get_end(it);
	if (xit)
		rados_getxattrs_end(xit);
	rados_release_read_op(op);
	return rc ? fail(m, "cannot read the store's commit count", rc) : 0;
}

struct rbatch *rmeta_batch_new(struct rmeta *m, int *err)
{
	struct rbatch *b = calloc(1, sizeof(*b));
	uint64_t seen;
	unsigned what;
	int rc;

	*err = -ENOMEM;
	if (!b)
		return NULL;
	b->m = m;
	rewatch(m);
	pthread_mutex_lock(&m->lock);
	if (m->held && !m->wanted &&
	    now_mono_ns() - m->held_since < HOLD_MAX_NS) {
		m->held = false; /* this batch's now */
		b->locked = true;
		b->gen = m->held_gen;
		b->since = m->held_since;
	} else if (m->held) {
		keep_release(m);
	}
	pthread_mutex_unlock(&m->lock);
	rc = 0;
	if (!b->locked) {
		b->since = now_mono_ns();
		rc = lock_take(b);
		if (!rc) {
			char *iv = NULL;

			b->locked = true;
			rc = gen_sync(m, &b->gen, &iv);
			if (!rc && iv)
				rc = roll_forward(m, b->gen, iv);
			free(iv);
		}
	}
	if (rc) {
		*err = rc;
		b->failed = true; /* no count read: the lock is not kept */
		rmeta_batch_free(b);
		return NULL;
	}
	pthread_mutex_lock(&m->lock);
	b->gen0 = b->gen;
	view_seen_at(m, b->gen, now_mono_ns());
	seen = m->last_gen;
	m->last_gen = b->gen;
	/* Another node committed since we last looked: what we cached of
	 * what it changed may be stale (a notify may have been lost).  The
	 * log entries the view caught up with say what that was; without
	 * them (the view was dropped), it may be anything. */
	what = m->changed_any ? RMETA_NAMESPACE | RMETA_BINDINGS | RMETA_SECRETS
			      : m->changed;
	m->changed = 0;
	m->changed_any = false;
	if (seen && seen != b->gen && what && m->hook)
		m->hook(m->hook_arg, what);
	pthread_mutex_unlock(&m->lock);
	*err = 0;
	return b;
}

struct rbatch *rmeta_batch_new_lane(struct rmeta *m, int *err)
{
	struct rbatch *b = calloc(1, sizeof(*b));

	*err = b ? 0 : -ENOMEM;
	if (b) {
		b->m = m;
		b->lane = true;
	}
	return b;
}

/* Whether the keeper keeps b's lock for this node's next commit. */
static bool keep(struct rbatch *b)
{
	struct rmeta *m = b->m;
	int64_t now = now_mono_ns();
	bool kept;

	pthread_mutex_lock(&m->lock);
	kept = m->keeping && !m->closing && !m->wanted && !b->failed &&
	       !b->unapplied && b->gen != UINT64_MAX &&
	       now - b->since < HOLD_MAX_NS &&
	       (!m->wanted_at || now - m->wanted_at > HOLD_CONTENDED_NS);
	if (kept) {
		m->held = true;
		m->held_gen = b->gen;
		m->held_since = b->since;
		m->held_idle = now;
		pthread_cond_broadcast(&m->keep_cv);
	}
	m->wanted = false; /* if asked, the lock goes now */
	pthread_mutex_unlock(&m->lock);
	return kept;
}

void rmeta_batch_free(struct rbatch *b)
{
	if (!b)
		return;
	if (b->locked && !keep(b))
		unlock_commit(b->m);
	notify(b->m, b->what); /* after the unlock: a waiter wakes to it */
	for (size_t i = 0; i < b->n; i++) {
		free(b->e[i].hex);
		free(b->e[i].val);
	}
	free(b->e);
	free(b->tab);
	free(b);
}

/* The slot of key hex h in the table (its entry or a free one). */
static size_t *slot_of(struct rbatch *b, const char *h)
{
	size_t i = hash_of(h) & (b->tcap - 1);

	for (;; i = (i + 1) & (b->tcap - 1)) {
		size_t *s = &b->tab[i];

		if (!*s || !strcmp(b->e[*s - 1].hex, h))
			return s;
	}
}

static bool grow_tab(struct rbatch *b)
{
	size_t ncap = b->tcap ? 2 * b->tcap : 1024;
	size_t *old = b->tab, ocap = b->tcap;

	b->tab = calloc(ncap, sizeof(*b->tab));
	if (!b->tab) {
		b->tab = old;
		return false;
	}
	b->tcap = ncap;
	for (size_t i = 0; i < ocap; i++)
		if (old[i])
			*slot_of(b, b->e[old[i] - 1].hex) = old[i];
	free(old);
	return true;
}

/* Stages a put (val non-NULL), a delete, or (clean) what a read found:
 * takes h.  Out of memory, the batch is marked broken and its commit
 * fails. */
static void stage_hex(struct rbatch *b, char *h, enum db_cf cf, const void *val,
		      size_t len, bool del, bool clean)
{
	void *v = del ? NULL : malloc(len ? len : 1);
	size_t *s;

	if (!h || (!del && !v) || ((b->n + 1) * 2 > b->tcap && !grow_tab(b))) {
		free(h), free(v);
		b->gen = UINT64_MAX; /* broken: its commit fails */
		return;
	}
	if (v)
		memcpy(v, val, len);
	s = slot_of(b, h);
	if (*s) {
		struct bent *e = &b->e[*s - 1];

		free(h);
		free(e->val);
		e->val = v, e->len = len, e->clean = clean;
		return;
	}
	if (b->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 64;
		struct bent *n = realloc(b->e, cap * sizeof(*n));

		if (!n) {
			free(h), free(v);
			b->gen = UINT64_MAX;
			return;
		}
		b->e = n, b->cap = cap;
	}
	b->e[b->n] = (struct bent){h, v, len, cf, clean};
	*s = ++b->n;
}

static void stage(struct rbatch *b, enum db_cf cf, const void *key, size_t klen,
		  const void *val, size_t len, bool del)
{
	stage_hex(b, key_hex(cf, key, klen), cf, val, len, del, false);
}

/* Whether key lives in another object than b's: a shard's batch reads
 * the store's keys, the store's reads the shards' outputs; neither may
 * change them. */
static bool elsewhere(const struct rbatch *b, enum db_cf cf, const void *key,
		      size_t klen)
{
	const char *n;

	if (b->m->parent)
		return !shard_keeps(b->m, cf, key, klen);
	/* Unknown (a failed read): rmeta_get says why. */
	return out_pipeline(cf, key, klen, &n) > 0 && sharded(b->m) != 0;
}

void rmeta_batch_put(struct rbatch *b, enum db_cf cf, const void *key,
		     size_t klen, const void *val, size_t len)
{
	if (elsewhere(b, cf, key, klen))
		b->foreign = true;
	else
		stage(b, cf, key, klen, val, len, false);
}

void rmeta_batch_delete(struct rbatch *b, enum db_cf cf, const void *key,
			size_t klen)
{
	uint8_t k[1 + KEY_DIGEST_LEN + 8];

	if (elsewhere(b, cf, key, klen)) {
		b->foreign = true;
		return;
	}
	stage(b, cf, key, klen, NULL, 0, true);
	if (cf == CF_MANIFESTS && klen < sizeof(k)) {
		k[0] = TIME_TAG;
		memcpy(k + 1, key, klen);
		stage(b, CF_DEFAULT, k, klen + 1, NULL, 0, true);
	}
}

/* This node's lane head if h is its key and a lane commit of ours wrote
 * it (lock held): 1 and a copy, 0, or -ENOMEM. */
static int lane_get(struct rmeta *m, const char *h, void **val, size_t *len)
{
	if (!m->lane_hex || strcmp(m->lane_hex, h))
		return 0;
	*val = malloc(m->lane_len ? m->lane_len : 1);
	if (!*val)
		return -ENOMEM;
	memcpy(*val, m->lane_val, m->lane_len);
	*len = m->lane_len;
	return 1;
}

/* After a lane commit (rc its result): keeps the lane head it wrote, or
 * forgets it (a failed commit may or may not have landed). */
static void lane_note(struct rbatch *b, int rc)
{
	struct rmeta *m = b->m;
	uint8_t tag = KEY_AUDIT_LANE_HEAD;
	char th[3];

	store_hex_encode(&tag, 1, th);
	pthread_mutex_lock(&m->lock);
	free(m->lane_hex), free(m->lane_val);
	m->lane_hex = NULL, m->lane_val = NULL;
	for (size_t i = 0; !rc && i < b->n; i++) {
		const struct bent *e = &b->e[i];

		if (e->clean || !e->val || e->cf != CF_AUDIT ||
		    strncmp(e->hex + 2, th, 2))
			continue;
		m->lane_hex = strdup(e->hex);
		m->lane_val = malloc(e->len ? e->len : 1);
		if (!m->lane_hex || !m->lane_val) {
			free(m->lane_hex), free(m->lane_val);
			m->lane_hex = NULL, m->lane_val = NULL;
			break;
		}
		memcpy(m->lane_val, e->val, e->len);
		m->lane_len = e->len;
	}
	pthread_mutex_unlock(&m->lock);
}

int rmeta_batch_get(struct rbatch *b, enum db_cf cf, const void *key,
		    size_t klen, void **val, size_t *len)
{
	char *h;
	size_t *s;
	bool keep;
	int rc;

	if (elsewhere(b, cf, key, klen)) /* read where it lives, unlocked */
		return rmeta_get(b->m, cf, key, klen, val, len);
	h = key_hex(cf, key, klen);
	s = h && b->tcap ? slot_of(b, h) : NULL;
	if (!h)
		return -ENOMEM;
	if (s && *s) { /* read or written in this batch */
		struct bent *e = &b->e[*s - 1];

		free(h);
		if (!e->val)
			return -ENOENT;
		*val = malloc(e->len ? e->len : 1);
		if (!*val)
			return -ENOMEM;
		memcpy(*val, e->val, e->len);
		*len = e->len;
		return 0;
	}
	keep = !b->lane && view_keeps(b->m, cf, h);
	pthread_mutex_lock(&b->m->lock);
	rc = keep      ? view_get(b->m, h, val, len)
	     : b->lane ? lane_get(b->m, h, val, len)
		       : 0;
	pthread_mutex_unlock(&b->m->lock);
	if (rc == 1)
		rc = *val ? 0 : -ENOENT;
	else if (rc == 0)
		rc = cluster_get(b->m, h, val, len);
	else {
		free(h);
		return rc;
	}
	if (keep && (rc == 0 || rc == -ENOENT)) {
		pthread_mutex_lock(&b->m->lock);
		view_set(b->m, h, rc ? NULL : *val, rc ? 0 : *len);
		pthread_mutex_unlock(&b->m->lock);
	}
	if (rc == 0)
		stage_hex(b, h, cf, *val, *len, false, true);
	else if (rc == -ENOENT)
		stage_hex(b, h, cf, NULL, 0, true, true);
	else
		free(h);
	return rc;
}

/* Keys a prefetch asks for in one op. */
#define PREFETCH_KEYS 1024

/* Whether the view holds key h of cf for batch b (rmeta_batch_get then
 * answers from it). */
static bool view_has(struct rbatch *b, enum db_cf cf, const char *h)
{
	struct rmeta *m = b->m;
	bool has;

	if (b->lane || !view_keeps(b->m, cf, h))
		return false;
	pthread_mutex_lock(&m->lock);
	has = m->view_ok && m->vcap && view_slot(m->view, m->vcap, h)->hex;
	pthread_mutex_unlock(&m->lock);
	return has;
}

void rmeta_batch_prefetch(struct rbatch *b, const struct db_key *keys, size_t n)
{
	for (size_t at = 0; at < n && b->gen != UINT64_MAX;) {
		const char *want[PREFETCH_KEYS];
		enum db_cf wcf[PREFETCH_KEYS];
		size_t nw = 0, first = at;
		rados_read_op_t op;
		rados_omap_iter_t it = NULL;
		int prval = 0, rc;

		if (!b->tcap && !grow_tab(b))
			return;
		for (; at < n && nw < PREFETCH_KEYS; at++) {
			enum db_cf cf = keys[at].cf;
			char *h = key_hex(cf, keys[at].key, keys[at].klen);

			if (!h)
				break;
			if (elsewhere(b, cf, keys[at].key, keys[at].klen) ||
			    *slot_of(b, h) || view_has(b, cf, h)) {
				free(h); /* read or written, or in the view */
				continue;
			}
			wcf[nw] = cf;
			want[nw++] = h;
		}
		if (!nw) {
			if (at == first)
				return;
			continue;
		}
		op = rados_create_read_op();
		rc = op ? 0 : -ENOMEM;
		if (!rc) {
			rados_read_op_omap_get_vals_by_keys(op, want, nw, &it,
							    &prval);
			rc = rados_read_op_operate(op, b->m->io, b->m->oid, 0);
			if (!rc)
				rc = prval;
		}
		/* Each key found is kept with its value; a key not found is
		 * kept as absent.  On failure nothing is kept: the reads go
		 * one by one. */
		for (char *k, *v; !rc;) {
			size_t vl;

			if (rados_omap_get_next(it, &k, &v, &vl) || !k)
				break;
			/* The key's first byte (two hex digits) is its column
			 * family: key_hex made it. */
			stage_hex(b, strdup(k),
				  (enum db_cf)(nib(k[0]) << 4 | nib(k[1])), v,
				  vl, false, true);
		}
		if (it)
			rados_omap_get_end(it);
		if (op)
			rados_release_read_op(op);
		for (size_t i = 0; i < nw; i++) {
			if (!rc && b->tcap && !*slot_of(b, want[i]))
				stage_hex(b, (char *)want[i], wcf[i], NULL, 0,
					  true, true);
			else
				free((char *)want[i]);
		}
		if (rc)
			return;
	}
}

/* What the batch changed, for the notify: "n" namespace, "b" bindings,
 * "s" secrets. */
static void what_of(const struct rbatch *b, char out[4])
{
	unsigned what = 0;

	for (size_t i = 0; i < b->n; i++)
		if (!b->e[i].clean)
			what |= key_what(b->e[i].hex);
	snprintf(out, 4, "%s%s%s", what & RMETA_NAMESPACE ? "n" : "",
		 what & RMETA_BINDINGS ? "b" : "",
		 what & RMETA_SECRETS ? "s" : "");
}

/* What a counted write op refers to until it is operated. */
struct count_bufs {
	char g0[21], g1[21], old[LOG_KEY_LEN + 1];
};

/* Makes op land only while "gen" is g (g0 holds the compared value
 * until op is operated). */
static void op_expect(rados_write_op_t op, uint64_t g, char g0[21])
{
	snprintf(g0, 21, "%020llu", (unsigned long long)g);
	rados_write_op_cmpxattr(op, "gen", LIBRADOS_CMPXATTR_OP_EQ, g0, 20);
}

/* Makes op a counted one: it lands only while "gen" is g, raises it to
 * g + 1, and removes the log's entries LOG_KEEP counts older or more
 * (every older one: a node of an earlier version wrote none at its
 * counts, so none may be left to a later one). */
static void op_count(rados_write_op_t op, uint64_t g, struct count_bufs *cb)
{
	op_expect(op, g, cb->g0);
	snprintf(cb->g1, sizeof(cb->g1), "%020llu", (unsigned long long)g + 1);
	rados_write_op_setxattr(op, "gen", cb->g1, 20);
	if (g + 1 >= LOG_KEEP) {
		log_key(cb->old, g + 2 - LOG_KEEP);
		rados_write_op_omap_rm_range2(
		    op, LOG_PREFIX, strlen(LOG_PREFIX), cb->old, LOG_KEY_LEN);
	}
}

/* A counted write op's result as a commit reports it: -EAGAIN when
 * another node committed meanwhile (its lock had lapsed). */
static int op_result(struct rmeta *m, int rc)
{
	if (rc == -ECANCELED) {
		store_log(STORE_LOG_ERR,
			  "RADOS pool %s: another node committed while this "
			  "commit's lock had lapsed: nothing was changed",
			  m->pool);
		return -EAGAIN;
	}
	return rc ? fail(m, "commit failed, nothing was changed", rc) : 0;
}

/* One write op of entries [from, to): compare gen with *gen and set it one
 * higher, then the keys. */
static int commit_part(struct rbatch *b, size_t from, size_t to)
{
	struct rmeta *m = b->m;
	size_t np = 0, nd = 0, cnt = to - from + 1; /* + the log's */
	const char **pk = calloc(cnt, sizeof(*pk));
	const char **pv = calloc(cnt, sizeof(*pv));
	const char **dk = calloc(cnt, sizeof(*dk));
	size_t *pkl = calloc(cnt, sizeof(*pkl));
	size_t *pvl = calloc(cnt, sizeof(*pvl));
	size_t *dkl = calloc(cnt, sizeof(*dkl));
	rados_write_op_t op = rados_create_write_op();
	char lk[LOG_KEY_LEN + 1];
	struct count_bufs cb;
	struct buf lx = {0};
	int rc = -ENOMEM;

	if (!pk || !pv || !dk || !pkl || !pvl || !dkl || !op)
		goto out;
	for (size_t i = from; i < to; i++) {
		const struct bent *e = &b->e[i];

		if (e->clean)
			continue;
		if (e->val) {
			pk[np] = e->hex, pkl[np] = strlen(e->hex);
			pv[np] = e->val, pvl[np++] = e->len;
		} else {
			dk[nd] = e->hex, dkl[nd++] = strlen(e->hex);
		}
	}
	if (!b->lane) {
		/* The log: this op's entry. */
		op_count(op, b->gen, &cb);
		log_entry(b, from, to, &lx);
		if (lx.oom) {
			rc = -ENOMEM;
			goto out;
		}
		log_key(lk, b->gen + 1);
		pk[np] = lk, pkl[np] = LOG_KEY_LEN;
		pv[np] = (const char *)lx.p, pvl[np++] = lx.len;
	} else {
		rados_write_op_assert_exists(op);
	}
	if (nd)
		rados_write_op_omap_rm_keys2(op, dk, dkl, nd);
	if (np)
		rados_write_op_omap_set2(op, pk, pv, pkl, pvl, np);
	rc = op_result(m, rados_write_op_operate(op, m->io, m->oid, NULL,
						 RADOS_META_OP_FLAGS));
	if (!rc && !b->lane)
		b->gen++;
out:
	if (op)
		rados_release_write_op(op);
	free(pk), free(pv), free(dk), free(pkl), free(pvl), free(dkl);
	free(lx.p);
	return rc;
}

/* ------------------------------------------------ commits of many parts
 *
 * A batch bigger than one write op (the seal of a run of many thousands of
 * files, gc of as many) must still land whole or not at all, with its
 * journal record.  Its parts (entries_encode, every key it sets or
 * removes) first go into objects of their own, INTENT_PREFIX + count +
 * "." + a random id + "." + part, which nothing reads.  Then one counted
 * write op is the commit: it names them in the omap key INTENT_KEY
 * ("count id parts").  Only then are the parts applied to "meta", each
 * by a write op that compares the count; the last also removes
 * INTENT_KEY, and the part objects go.  A process that dies (or fails)
 * before the commit leaves objects nothing names; one that dies after it
 * leaves INTENT_KEY, and whichever node takes the lock next applies the
 * parts again (setting and removing fixed values: applying one twice
 * changes nothing) before its own commit.  Until then readers outside
 * commits may see part of it. */

static void intent_name(const struct rmeta *m, char *out, size_t cap,
			uint64_t g, const char *id, size_t part)
{
	snprintf(out, cap, INTENT_PREFIX "%s.%020llu.%s.%zu", m->oid,
		 (unsigned long long)g, id, part);
}

/* The keys a part sets and removes, pointing into its bytes. */
struct part_keys {
	size_t np, nd;
	const char **pk, **pv, **dk;
	size_t *pkl, *pvl, *dkl;
};

/* Reads a part (entries_encode's form, after its format byte) into k:
 * with k's arrays NULL it only counts the sets and removals.  0, or -EIO
 * when the part is corrupt. */
static int part_parse(const uint8_t *v, const uint8_t *end, struct part_keys *k)
{
	struct cursor c = {v, end, false};

	k->np = k->nd = 0;
	while (c.p < c.end) {
		uint8_t set = cur_u8(&c);
		uint64_t kl = cur_varint(&c), vl = 0;
		const uint8_t *key =
		    kl <= (uint64_t)(c.end - c.p) ? cur_bytes(&c, kl) : NULL;
		const uint8_t *val = NULL;

		if (!key || c.bad || set > 1)
			return -EIO;
		if (!set) {
			if (k->dk)
				k->dk[k->nd] = (const char *)key,
				k->dkl[k->nd] = kl;
			k->nd++;
			continue;
		}
		vl = cur_varint(&c);
		val = vl <= (uint64_t)(c.end - c.p) ? cur_bytes(&c, vl) : NULL;
		if (!val || c.bad)
			return -EIO;
		if (k->pk) {
			k->pk[k->np] = (const char *)key, k->pkl[k->np] = kl;
			k->pv[k->np] = (const char *)val, k->pvl[k->np] = vl;
		}
		k->np++;
	}
	return 0;
}

/* Applies one part (entries_encode's form) at count g: -ECANCELED when
 * the count moved, -EIO when the part is corrupt. */
static int part_apply(struct rmeta *m, uint64_t g, const uint8_t *v, size_t len,
		      bool last)
{
	struct part_keys k = {0};
	rados_write_op_t op = NULL;
	char g0[21];
	int rc;

	if (!len || v[0] != 1)
		return -EIO;
	/* Counted first, so that the arrays hold just what the part has. */
	rc = part_parse(v + 1, v + len, &k);
	if (rc)
		return rc;
	rc = -ENOMEM;
	k.pk = calloc(k.np + 1, sizeof(*k.pk));
	k.pv = calloc(k.np + 1, sizeof(*k.pv));
	k.pkl = calloc(k.np + 1, sizeof(*k.pkl));
	k.pvl = calloc(k.np + 1, sizeof(*k.pvl));
	k.dk = calloc(k.nd + 1, sizeof(*k.dk));
	k.dkl = calloc(k.nd + 1, sizeof(*k.dkl));
	if (!k.pk || !k.pv || !k.pkl || !k.pvl || !k.dk || !k.dkl)
		goto out;
	op = rados_create_write_op();
	if (!op)
		goto out;
	rc = part_parse(v + 1, v + len, &k);
	if (rc)
		goto out;
	op_expect(op, g, g0);
	if (k.nd)
		rados_write_op_omap_rm_keys2(op, k.dk, k.dkl, k.nd);
	if (k.np)
		rados_write_op_omap_set2(op, k.pk, k.pv, k.pkl, k.pvl, k.np);
	if (last) {
		const char *ik = INTENT_KEY;
		size_t il = strlen(INTENT_KEY);

		rados_write_op_omap_rm_keys2(op, &ik, &il, 1);
	}
	rc = rados_write_op_operate(op, m->io, m->oid, NULL,
				    RADOS_META_OP_FLAGS);
out:
	if (op)
		rados_release_write_op(op);
	free(k.pk), free(k.pv), free(k.pkl), free(k.pvl), free(k.dk),
	    free(k.dkl);
	return rc;
}

/* Removes every part object (lock held, no commit of many parts
 * pending: none can be committed any more). */
static void intents_sweep(struct rmeta *m)
{
	rados_list_ctx_t ls;
	const char *oid;
	char **names = NULL, mine[96];
	size_t n = 0, cap = 0;

	/* Only this object's: another's may be in flight. */
	snprintf(mine, sizeof(mine), INTENT_PREFIX "%s.", m->oid);
	if (rados_nobjects_list_open(m->io, &ls))
		return;
	while (!rados_nobjects_list_next(ls, &oid, NULL, NULL)) {
		if (strncmp(oid, mine, strlen(mine)))
			continue;
		if (n == cap) {
			size_t nc = cap ? 2 * cap : 16;
			char **nn = realloc(names, nc * sizeof(*nn));

			if (!nn)
				break;
			names = nn, cap = nc;
		}
		if (!(names[n] = strdup(oid)))
			break;
		n++;
	}
	rados_nobjects_list_close(ls);
	for (size_t i = 0; i < n; i++) {
		robj_remove(m->io, names[i]);
		free(names[i]);
	}
	free(names);
}

/* Reads part object oid whole: 0 and a buffer, or -errno. */
static int part_read(struct rmeta *m, const char *oid, uint8_t **v, size_t *len)
{
	uint64_t size;
	time_t mt;
	size_t got = 0;
	int rc = rados_stat(m->io, oid, &size, &mt);

	if (rc)
		return rc;
	*v = malloc(size ? size : 1);
	if (!*v)
		return -ENOMEM;
	while (got < size) {
		size_t want =
		    size - got > (16u << 20) ? (16u << 20) : size - got;
		int r = rados_read(m->io, oid, (char *)*v + got, want, got);

		if (r <= 0) {
			free(*v);
			return r < 0 ? r : -EIO;
		}
		got += (size_t)r;
	}
	*len = size;
	return 0;
}

/* Applies the parts of a commit that INTENT_KEY (value iv) names and
 * that its process did not finish, at count g (lock held). */
static int roll_forward(struct rmeta *m, uint64_t g, const char *iv)
{
	unsigned long long ig = 0;
	char id[33];
	size_t parts = 0;
	int rc = 0;

	if (sscanf(iv, "%llu %32s %zu", &ig, id, &parts) != 3 || ig != g ||
	    !parts) {
		/* Unreadable, or of an older count: a node of an earlier
		 * version (which knows nothing of it) committed since.  Its
		 * parts can no longer be applied safely; dropped, so that
		 * commits go on. */
		rados_write_op_t op = rados_create_write_op();
		const char *ik = INTENT_KEY;
		size_t il = strlen(INTENT_KEY);
		char g0[21];

		store_log(STORE_LOG_ERR,
			  "RADOS pool %s: the store names a commit of many "
			  "parts left half applied that can no longer be "
			  "completed (%.40s, at count %llu): it is dropped; "
			  "run 'artifactfs fsck'",
			  m->pool, iv, (unsigned long long)g);
		if (!op)
			return -ENOMEM;
		op_expect(op, g, g0);
		rados_write_op_omap_rm_keys2(op, &ik, &il, 1);
		rc =
		    op_result(m, rados_write_op_operate(op, m->io, m->oid, NULL,
							RADOS_META_OP_FLAGS));
		rados_release_write_op(op);
		return rc;
	}
	store_log(STORE_LOG_WARNING,
		  "RADOS pool %s: completing commit %llu of %zu parts, left "
		  "unfinished by its process",
		  m->pool, ig, parts);
	for (size_t i = 0; i < parts && !rc; i++) {
		char oid[192];
		uint8_t *v;
		size_t len;

		intent_name(m, oid, sizeof(oid), g, id, i);
		rc = part_read(m, oid, &v, &len);
		if (!rc) {
			rc = part_apply(m, g, v, len, i + 1 == parts);
			free(v);
		}
		if (rc == -ENOENT || rc == -EIO)
			store_log(STORE_LOG_ERR,
				  "RADOS pool %s: part %zu of commit %llu is "
				  "%s: the commit cannot be completed; run "
				  "'artifactfs fsck'",
				  m->pool, i, ig,
				  rc == -ENOENT ? "missing" : "corrupt");
	}
	if (rc)
		return rc == -ENOENT || rc == -EIO
			   ? -EIO
			   : fail(m, "cannot complete an unfinished commit",
				  rc);
	intents_sweep(m);
	return 0;
}

/* Commits entries of b split at cuts (nparts parts: [cuts[i],
 * cuts[i+1])) as described above. */
static int commit_parts(struct rbatch *b, const size_t *cuts, size_t nparts)
{
	struct rmeta *m = b->m;
	struct buf *px = calloc(nparts, sizeof(*px));
	uint64_t g = b->gen;
	uint8_t r[8];
	char id[17], iv[64], oid[192], lk[LOG_KEY_LEN + 1];
	struct count_bufs cb;
	rados_write_op_t op = NULL;
	int rc = px ? 0 : -ENOMEM;

	if (RAND_bytes(r, sizeof(r)) != 1)
		rc = -EIO;
	store_hex_encode(r, sizeof(r), id);
	/* The parts, where nothing reads them. */
	for (size_t i = 0; i < nparts && !rc; i++) {
		entries_encode(b, cuts[i], cuts[i + 1], true, SIZE_MAX, &px[i]);
		if (px[i].oom) {
			rc = -ENOMEM;
			break;
		}
		op = rados_create_write_op();
		if (!op) {
			rc = -ENOMEM;
			break;
		}
		rados_write_op_write_full(op, (const char *)px[i].p, px[i].len);
		intent_name(m, oid, sizeof(oid), g + 1, id, i);
		rc = rados_write_op_operate(op, m->io, oid, NULL,
					    RADOS_META_OP_FLAGS);
		rados_release_write_op(op);
		op = NULL;
		if (rc)
			rc = fail(m, "commit failed, nothing was changed", rc);
	}
	/* The commit: the count, the log's entry (too big: views drop), and
	 * the parts named. */
	if (!rc && !(op = rados_create_write_op()))
		rc = -ENOMEM;
	if (!rc) {
		const char *k[2], *v[2];
		size_t kl[2], vl[2];
		uint8_t drop = 0;

		snprintf(iv, sizeof(iv), "%llu %s %zu",
			 (unsigned long long)g + 1, id, nparts);
		op_count(op, g, &cb);
		log_key(lk, g + 1);
		k[0] = lk, kl[0] = LOG_KEY_LEN, v[0] = (const char *)&drop,
		vl[0] = 1;
		k[1] = INTENT_KEY, kl[1] = strlen(INTENT_KEY), v[1] = iv,
		vl[1] = strlen(iv);
		rados_write_op_omap_set2(op, k, v, kl, vl, 2);
		rc =
		    op_result(m, rados_write_op_operate(op, m->io, m->oid, NULL,
							RADOS_META_OP_FLAGS));
	}
	if (op)
		rados_release_write_op(op);
	if (rc) {
		for (size_t i = 0; i < nparts; i++) {
			intent_name(m, oid, sizeof(oid), g + 1, id, i);
			robj_remove(m->io, oid);
		}
		goto out;
	}
	/* Committed: from here on, the change stands. */
	b->gen = g + 1;
	for (size_t i = 0; i < nparts && !rc; i++)
		rc = part_apply(m, g + 1, px[i].p, px[i].len, i + 1 == nparts);
	if (rc) {
		store_log(STORE_LOG_WARNING,
			  "RADOS pool %s: commit %llu is made, but applying "
			  "its parts failed (%s): the next commit of any node "
			  "completes it",
			  m->pool, (unsigned long long)g + 1, strerror(-rc));
		b->unapplied = true;
		rc = 0;
	} else {
		intents_sweep(m);
	}
out:
	for (size_t i = 0; px && i < nparts; i++)
		free(px[i].p);
	free(px);
	return rc;
}

int rmeta_settle(struct rmeta *m)
{
	struct rbatch *b;
	char *iv = NULL;
	uint64_t g;
	int rc = gen_sync(m, &g, &iv);

	if (rc || !iv)
		return rc;
	free(iv);
	b = rmeta_batch_new(m, &rc); /* under the lock: completes it */
	rmeta_batch_free(b);
	return rc;
}

/* A batch is one write op when it fits one (every commit of the store's
 * daily work does); a bigger one (a seal of a run of many thousands of
 * files) is a commit of many parts (above): whole or not at all. */
int rmeta_batch_commit(struct rbatch *b)
{
	struct rmeta *m = b->m;
	size_t from = 0, dirty = 0, *cuts = NULL, ncuts = 0, ccap = 0;
	int rc = 0;

	if (b->foreign) {
		store_log(STORE_LOG_ERR,
			  "RADOS pool %s: a commit in %s changed keys kept in "
			  "another object: nothing was changed",
			  m->pool, m->oid);
		return -EXDEV;
	}
	if (b->gen == UINT64_MAX) {
		store_log(STORE_LOG_ERR,
			  "RADOS pool %s: out of memory while staging a commit "
			  "of %zu keys: nothing was changed",
			  m->pool, b->n);
		return -ENOMEM;
	}
	for (size_t i = 0; i < b->n; i++)
		dirty += !b->e[i].clean;
	if (!dirty)
		return 0;
	/* Where the parts end: up to an op's limits in written keys; the
	 * last part takes whatever reads are left. */
	for (size_t left = dirty; left;) {
		size_t to = from, keys = 0, bytes = 0;

		while (to < b->n && keys < m->op_keys && bytes < OP_BYTES) {
			if (!b->e[to].clean) {
				keys++;
				bytes += strlen(b->e[to].hex) + b->e[to].len;
			}
			to++;
		}
		if (left == keys)
			to = b->n;
		if (ncuts + 1 >= ccap) {
			size_t nc = ccap ? 2 * ccap : 8;
			size_t *n2 = realloc(cuts, nc * sizeof(*n2));

			if (!n2) {
				free(cuts);
				return -ENOMEM;
			}
			cuts = n2, ccap = nc;
		}
		if (!ncuts)
			cuts[ncuts++] = 0;
		cuts[ncuts++] = to;
		left -= keys;
		from = to;
	}
	if (ncuts == 2 || b->lane) /* one part (a lane is never more) */
		rc = commit_part(b, 0, b->n);
	else
		rc = commit_parts(b, cuts, ncuts - 1);
	free(cuts);
	if (b->lane) { /* a lane changes nothing others cache */
		lane_note(b, rc);
		return rc;
	}
	b->failed = rc != 0;
	pthread_mutex_lock(&m->lock);
	if (rc || !m->view_ok || m->view_gen != b->gen0 || ncuts > 2) {
		view_drop(m); /* (of many parts: its log entry drops them) */
	} else {
		for (size_t i = 0; i < b->n && m->view_ok; i++)
			if (!b->e[i].clean &&
			    view_keeps(b->m, b->e[i].cf, b->e[i].hex))
				view_set(m, b->e[i].hex, b->e[i].val,
					 b->e[i].len);
		m->view_gen = b->gen;
		m->view_seen = now_mono_ns();
		m->vseq++;
	}
	if (!rc)
		m->last_gen = b->gen;
	pthread_mutex_unlock(&m->lock);
	if (rc)
		return rc;
	what_of(b, b->what);
	return 0;
}
