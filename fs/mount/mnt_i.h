/*
 * fs/mount/mnt_i.h - internals of the FUSE mount (mnt_*.c), private to
 * fs/mount.
 *
 * The tree (DESIGN.md):
 *   /pipelines/<p>/runs/<r>/{run.json,control,env/,steps/<s>/{inputs/,
 *       outputs/...,env/,trace.jsonl}}
 *   /artifacts/<a>/{v1/...,latest,<alias>}
 *   /audit/<yyyy-mm-dd>.jsonl, /secrets/<name>
 *
 * Nodes are named by their path in the mount; an inode number is a hash of
 * that path, so it is the same at every mount.  A node lives from the
 * first lookup that returns it until the kernel forgets it (nlookup 0).
 * What a node shows is re-read from the store at every lookup, so
 * commands that change the store through the daemon show up at once;
 * but a sealed node (MK_SEALED) cannot change while its version lives,
 * so a lookup of one the table holds is answered from it, with the mode
 * and the caller's allowance remembered for the bindings of the time
 * (struct mnt_node, mnt_lookup_warm).  gc's deletions move such nodes
 * off their paths (mnt_versions_changed).
 *
 * Threads: the session runs multithreaded.  The node table has one lock
 * (m->lock).  A node's ino and kind are written once, at creation; its
 * path (renames), facts (lookups, refreshes, commits) and nlookup are
 * written and read under the table lock only.  So a request takes its
 * node with a copy (mnt_node_take) and reads the copy, never the node;
 * mnt_refresh brings both up to date.  An open file
 * handle is used under its own lock, a shared open file (mnt_write.c)
 * under its own.
 *
 * Lock order, outermost first; a thread holding one takes only those
 * after it:
 *   handle lock (mnt_fh) -> file lock (mnt_file) -> m->wlock -> m->lock
 * The store's locks come after the file lock and are never taken with
 * m->wlock or m->lock held; nothing stays locked between requests.
 */
#ifndef ARTIFACTFS_MNT_I_H
#define ARTIFACTFS_MNT_I_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "acl.h"
#include "base.h"
#include "mount.h"
#include "store.h"

enum mnt_kind {
	MK_ROOT = 1,
	MK_PIPELINES, /* /pipelines */
	MK_PIPELINE,  /* /pipelines/<p> */
	MK_RUNS,      /* .../runs */
	MK_RUN,	      /* .../runs/<r> */
	MK_RUN_JSON,  /* .../runs/<r>/run.json */
	MK_CONTROL,   /* .../runs/<r>/control: write "seal" or "fail" */
	MK_RUN_ENV,   /* .../runs/<r>/env */
	MK_STEPS,     /* .../runs/<r>/steps */
	MK_STEP,      /* .../steps/<s> */
	MK_INPUTS,    /* .../steps/<s>/inputs */
	MK_STEP_ENV,  /* .../steps/<s>/env */
	MK_TRACE,     /* .../steps/<s>/trace.jsonl */
	MK_OUT,	      /* .../steps/<s>/outputs[/path] */
	MK_ARTIFACTS, /* /artifacts */
	MK_ARTIFACT,  /* /artifacts/<a> */
	MK_ALIAS,     /* /artifacts/<a>/<alias>: symlink to vN */
	MK_SEALED,    /* /artifacts/<a>/vN[/path] */
	MK_INPUT,     /* .../steps/<s>/inputs/<a>@vN: symlink to the version */
	MK_AUDIT,     /* /audit: the journal by day (auditors, admins) */
	MK_AUDIT_DAY, /* /audit/<yyyy-mm-dd>.jsonl */
	MK_SECRETS,   /* /secrets */
	MK_SECRET,    /* /secrets/<name>: its value, to those bound to it */
	MK_ENV_FILE,  /* .../steps/<s>/env/<file>: the step's snapshot */
};

/* Path components of a node: pipelines/<p>/runs/<r>/steps/<s>/outputs
 * or artifacts/<a>/vN, then the rest as one string. */
enum { C_PIPELINE = 1, C_RUN = 3, C_STEP = 5, C_ARTIFACT = 1, C_VERSION = 2 };
#define MNT_MAX_COMPS 8

/* Who a warm answer (mnt_lookup_warm) is for: the caller's uid and gid,
 * under the bindings of generation gen (store_binding_gen). */
struct mnt_warm_who {
	uint32_t uid, gid;
	uint64_t gen;
};
#define MNT_WARM_WHO 4 /* callers remembered per node */

struct mnt_node {
	uint64_t ino;
	uint64_t nlookup; /* under the table lock */
	enum mnt_kind kind;
	char *path;  /* "/pipelines/p/..." */
	char *parts; /* path split at '/' */
	const char *c[MNT_MAX_COMPS];
	const char *tail; /* MK_OUT, MK_SEALED: path below outputs/ or vN/ */
	/* Filled by resolution (store facts; see mnt_resolve). */
	struct store_dirent e; /* kind, mode, size, digest */
	uint32_t version;      /* MK_SEALED: vN */
	uint32_t uid;	       /* owner shown */
	int64_t mtime;	       /* ns */
	int64_t atime;	       /* ns; 0: the mtime */
	uint64_t link;	       /* MK_OUT: the link id of a file of many names */
	uint32_t nlink;	       /* its names (0: one) */
	/* Page invalidations told after a write's reply and not yet done
	 * (under the table lock): a getattr waits for them (mnt_pages_*). */
	unsigned pages_pending;
	bool sealed; /* nothing below can change */
	/* An open run another node of a shared store opened, and what is in
	 * it: read-only here (EROFS), yet it changes (not cached as sealed). */
	bool elsewhere;
	/* MK_SEALED, what a lookup or getattr answers from memory (under
	 * the table lock, never copied): the mode the bindings of
	 * generation mode_gen give (0: none yet), and the last callers
	 * allowed to reach the node, each under the bindings of its gen.
	 * An allowance is remembered only when it holds without the
	 * caller's supplementary groups (then it holds for any process of
	 * that uid and gid). */
	uint32_t warm_mode;
	uint64_t warm_mode_gen;
	struct mnt_warm_who warm_ok[MNT_WARM_WHO];
	unsigned warm_next;
	struct mnt_node *next_ino, *next_path; /* hash chains */
};

/* Nothing at n can be changed through this mount: a sealed version, what
 * a seal froze, or an open run of another node (EROFS to a writer). */
static inline bool mnt_node_frozen(const struct mnt_node *n)
{
	return n->kind == MK_SEALED || n->sealed || n->elsewhere;
}

struct mnt {
	struct store *s;
	struct fuse_session *se;
	pthread_mutex_t lock;	 /* node table */
	pthread_cond_t pages_cv; /* a node's pages_pending fell */
	struct mnt_node **by_ino, **by_path;
	size_t cap, n;
	size_t spare_at; /* where mnt_nodes_spare goes on */
	struct mnt_node *root;
	bool ro;
	/* Other users reach the mount (allow_other): the kernel may cache
	 * nothing one user could reach on the strength of another's lookup.
	 * Only directories' names are cached (a stat or listing of one
	 * still asks), and sealed files' attributes (their names are looked
	 * up, and decided, at every use): mnt_attr.c. */
	bool shared;
	uint64_t binding_gen; /* the bindings modes were last shown for */
	/* What runs a client's command (the command line's handler). */
	fs_mount_handler serve;
	void *serve_arg;
	int64_t started; /* ns: the time shown by namespace directories */
	double sealed_timeout, open_timeout;
	char *spool_dir;       /* for files written out of order */
	const char *point;     /* the mountpoint */
	pthread_mutex_t wlock; /* the list of files being written */
	struct mnt_file *writing;
};

/* ------------------------------------------------------------ mnt_node.c */

int mnt_nodes_init(struct mnt *m);
void mnt_nodes_release(struct mnt *m);

/** Finds or makes the node for parent/name (parent a copy, mnt_node_take)
 * with the facts in tmpl (kind, e, version, uid, mtime, sealed) and
 * counts one lookup.  -ENOMEM. */
int mnt_node_ref(struct mnt *m, const struct mnt_node *parent, const char *name,
		 const struct mnt_node *tmpl, struct mnt_node **out);

/** Copies n (its path, components and facts) under the table lock into
 * out, a stand-alone node that no rename or refresh changes: what a
 * request reads of a node it reads from such a copy.  Release it with
 * mnt_node_parse_release.  -ENOMEM. */
int mnt_node_snap(struct mnt *m, const struct mnt_node *n,
		  struct mnt_node *out);

/** Counts one more lookup on n, held by something of the daemon's (an
 * open-file object that other names' handles share); mnt_node_unpin
 * drops it (and frees the node at zero). */
void mnt_node_pin(struct mnt *m, struct mnt_node *n);
void mnt_node_unpin(struct mnt *m, struct mnt_node *n);

/** A copy of n's path now (renames move it), malloc'd; NULL: ENOMEM. */
char *mnt_node_path(struct mnt *m, const struct mnt_node *n);

/** What a request works on: the node of ino into *node, and a copy of it
 * (mnt_node_snap) into snap, both under one hold of the table lock.
 * Read the copy; the node itself is for mnt_refresh, open files and
 * handles, and only its ino and kind may be read unlocked.  Release snap
 * with mnt_node_parse_release (also after an error).  -ESTALE (no such
 * node), -ENOMEM. */
int mnt_node_take(struct mnt *m, fuse_ino_t ino, struct mnt_node **node,
		  struct mnt_node *snap);

/** The facts of sealed node parent/name (parent a sealed directory or
 * an artifact's) when the table holds it with its mode and an allowance
 * for w (see struct mnt_node): counts a lookup on it and copies its ino,
 * kind, facts and warm_mode into out (no path).  false: resolve and
 * decide. */
bool mnt_node_warm_child(struct mnt *m, fuse_ino_t parent, const char *name,
			 const struct mnt_warm_who *w, struct mnt_node *out);

/** As mnt_node_warm_child for the node of ino itself (getattr); counts
 * no lookup. */
bool mnt_node_warm_self(struct mnt *m, fuse_ino_t ino,
			const struct mnt_warm_who *w, struct mnt_node *out);

/** Remembers that w was allowed to reach n (MK_SEALED; others are left
 * alone). */
void mnt_node_warm_allow(struct mnt *m, struct mnt_node *n,
			 const struct mnt_warm_who *w);

/** Remembers n's mode (MK_SEALED) as the bindings of generation gen
 * give it. */
void mnt_node_warm_mode(struct mnt *m, struct mnt_node *n, uint32_t mode,
			uint64_t gen);

/** Nodes the kernel may hold before it is asked to forget some
 * (mnt_trim.c).  A node is about 700 bytes with its path: 64 Ki of them
 * about 45 MiB.  A name forgotten costs its next lookup a read of the
 * store where a remembered sealed one is answered from memory, so the
 * bound holds a tree of tens of thousands of files. */
#define MNT_NODES_MAX 65536

/** How many nodes the table holds. */
size_t mnt_nodes_count(struct mnt *m);

/** A name the kernel may forget: its directory's inode, the name
 * (malloc'd, the caller's). */
struct mnt_spare {
	uint64_t parent;
	char *name;
};

/** Fills out with up to want names of nodes (never the root), going on
 * each time where the last call stopped; returns how many. */
size_t mnt_nodes_spare(struct mnt *m, struct mnt_spare *out, size_t want);

/** Drops n lookups of ino; frees the node at zero. */
void mnt_node_forget(struct mnt *m, fuse_ino_t ino, uint64_t n);

/** Splits path (or, with parent, its parent's path) into a stand-alone
 * node's path fields, for resolving without the table. */
int mnt_node_parse(const char *path, bool parent, struct mnt_node *out);
void mnt_node_parse_release(struct mnt_node *n);

/** Tells the kernel to forget what it cached of every alias symlink
 * (their targets are cached): after anything that may move an alias. */
void mnt_aliases_changed(struct mnt *m);

/** Tells the kernel to forget the attributes (and ACLs) it cached of
 * every node of kind, or of every node (kind 0): after a role binding
 * changed, which changes modes.  The pages of sealed files stay. */
void mnt_invalidate(struct mnt *m, enum mnt_kind kind);

/** After anything that may have deleted versions (a command run through
 * the daemon: gc): the nodes of each version gone leave their paths, and
 * the kernel forgets its name. */
void mnt_versions_changed(struct mnt *m);

/** A write through n moved the bytes from where the kernel put them in
 * its pages, which can go only after the reply (the write holds them):
 * mnt_pages_begin before the reply, the invalidation, mnt_pages_end
 * (by ino: after the reply the handle, and with it n, may go).
 * mnt_pages_wait, in a request that holds no pages (getattr, which a
 * stat and a read past the kernel's end make), waits until no such
 * invalidation of n is under way (at most 200 ms), so that the writer's
 * next stat or read finds them gone. */
void mnt_pages_begin(struct mnt *m, struct mnt_node *n);
void mnt_pages_end(struct mnt *m, fuse_ino_t ino);
void mnt_pages_wait(struct mnt *m, struct mnt_node *n);

/** n's link id (read under the table lock), 0 for a file of one name. */
uint64_t mnt_link_of(struct mnt *m, const struct mnt_node *n);

/** After the content or attributes of n changed: the kernel forgets
 * what it cached (pages, attributes) of n's other names, which are
 * other inodes to it. */
void mnt_link_changed(struct mnt *m, const struct mnt_node *n);

/** Inode number a child path would get (for readdir). */
uint64_t mnt_ino_of(const char *parent_path, const char *name);

/** Detaches the nodes at path and below after an unlink or rmdir. */
void mnt_node_gone(struct mnt *m, const char *path);

/** Moves a node (and the nodes below it) to a new path after a rename. */
void mnt_node_moved(struct mnt *m, const char *from, const char *to);

/* --------------------------------------------------------- mnt_resolve.c */

/** Resolves parent/name from the store into out (kind and facts; the
 * path fields unset).  -ENOENT, -ENAMETOOLONG, -EIO. */
int mnt_resolve(struct mnt *m, const struct mnt_node *parent, const char *name,
		struct mnt_node *out);

/** Calls fn for each child of dir n with its name, kind (DT_*) and the
 * inode it will have. */
typedef int (*mnt_dir_fn)(void *arg, const char *name, unsigned dtype);
int mnt_list(struct mnt *m, const struct mnt_node *n, mnt_dir_fn fn, void *arg);

/** The DT_* type of an entry of kind k. */
unsigned mnt_dtype_of(enum store_kind k);

/** Builds run.json of n's run (malloc'd text). */
int mnt_run_json(struct mnt *m, const struct mnt_node *n, char **out,
		 size_t *len);

/** The target of input link name ("a@vN") into buf; -EINVAL if the name
 * is not of that form. */
int mnt_input_target(const char *name, char *buf, size_t size);

/** Appends {artifact, version, digest} of artifact@v<number> to l->arr
 * (a store_step_*_each callback; json_t is jansson's). */
struct mnt_version_list {
	struct mnt *m;
	struct json_t *arr;
};
int mnt_version_json(void *arg, const char *artifact, uint32_t number);

/* -------------------------------------------------------- mnt_guarded.c
 * /secrets and /audit, for mnt_resolve.c, mnt_list and the open of a day.
 */

/** The node of secret name under /secrets into out (kind, owner; its
 * size is not known before the open).  -ENOENT, or the store's errors. */
int mnt_resolve_secret(struct mnt *m, const char *name, struct mnt_node *out);

/** Calls fn for each secret's name (DT_REG). */
int mnt_list_secrets(struct mnt *m, mnt_dir_fn fn, void *arg);

/** The node of name ("<yyyy-mm-dd>.jsonl", a day with records) under
 * /audit into out.  -ENOENT, -ENOMEM, or the store's errors. */
int mnt_resolve_audit_day(struct mnt *m, const char *name,
			  struct mnt_node *out);

/** Calls fn for each day of the journal ("<yyyy-mm-dd>.jsonl", DT_REG),
 * oldest first.  -ENOMEM, the store's errors, or fn's. */
int mnt_list_audit(struct mnt *m, mnt_dir_fn fn, void *arg);

/** The journal records of day ("2026-11-26") as JSON Lines (malloc'd
 * into *out, the caller's).  -ENOMEM, or the store's errors. */
int mnt_audit_text(struct mnt *m, const char *day, char **out, size_t *len);

/* ----------------------------------------------------------- mnt_attr.c */

/** Resolves parent/name (parent a copy, mnt_node_take) and counts a
 * lookup on the node. */
int mnt_lookup_child(struct mnt *m, const struct mnt_node *parent,
		     const char *name, struct mnt_node **out);
/** Replies with n's entry (after mnt_lookup_child); a sealed node's mode
 * is remembered (mnt_node_warm_mode). */
void mnt_reply_entry(fuse_req_t req, struct mnt *m, struct mnt_node *n);

/** Re-reads the facts of n from the store (for getattr).  snap (may be
 * NULL) is the request's copy of n: its facts are brought up to date
 * too. */
int mnt_refresh(struct mnt *m, struct mnt_node *n, struct mnt_node *snap);

/** Fills st for n (read under the table lock).  -ENOMEM. */
int mnt_attr(struct mnt *m, const struct mnt_node *n, struct stat *st);

/** Fills st for node from n, the request's copy of it. */
void mnt_attr_of(struct mnt *m, const struct mnt_node *node,
		 const struct mnt_node *n, struct stat *st);

/** Who the caller of req is for warm answers, and the bindings'
 * generation now (read before any decision it is to cover). */
void mnt_warm_who(fuse_req_t req, struct mnt *m, struct mnt_warm_who *out);

/** Replies to the lookup of parent/name from memory when the node is
 * sealed and warm for the caller (mnt_node_warm_child): true when it
 * replied. */
bool mnt_lookup_warm(fuse_req_t req, struct mnt *m, fuse_ino_t parent,
		     const char *name, const struct mnt_warm_who *w);

/** The same for the getattr of ino. */
bool mnt_getattr_warm(fuse_req_t req, struct mnt *m, fuse_ino_t ino,
		      const struct mnt_warm_who *w);

/** Entry and attribute cache timeout for n, seconds. */
double mnt_timeout(const struct mnt *m, const struct mnt_node *n);

/** Entry (name) cache timeout for n, seconds: with other users on the
 * mount (shared), only directories' names are cached. */
double mnt_entry_timeout(const struct mnt *m, const struct mnt_node *n);

/* ----------------------------------------------------------- mnt_ops.c */

/** The low-level operations table. */
extern const struct fuse_lowlevel_ops mnt_ops;

/* ------------------------------------------------------- mnt_handle.c
 * Operations on open files, and what mnt_change.c's create shares.
 */

enum mnt_fh_kind { FH_READ = 1, FH_TEXT, FH_WRITE, FH_CONTROL, FH_TRACE };

/** An open file handle (fi->fh, owned by it until release); its counters
 * are used under its lock. */
struct mnt_fh {
	enum mnt_fh_kind kind;
	pthread_mutex_t lock;
	struct mnt_node *n;
	struct store_reader *r; /* FH_READ */
	char *text;		/* FH_TEXT */
	size_t len;
	struct mnt_file *wf; /* FH_WRITE */
	/* Opened with O_APPEND: every write goes at the end of the file
	 * as the daemon knows it (another name's inode may have moved it,
	 * which the kernel's size of this one does not know). */
	bool append;
	/* For the journal's record at release (under lock). */
	uint64_t nreads, nwrites, rbytes, wbytes;
	/* Who opened it: what it writes, and its close, are theirs. */
	struct store_caller caller;
	/* The totals a close record already carried (it rode with the
	 * commit of the last flush); release adds none unless they moved. */
	bool closed;
	uint64_t c_reads, c_writes, c_bytes;
	/* Every live handle, for mnt_fh_free_all. */
	struct mnt_fh *prev, *next;
};

/** May the caller of req change things in n (an open run's node)?  0,
 * -EROFS (sealed), -EACCES, or mnt_refresh's errors.  snap (may be NULL)
 * is the request's copy of n, refreshed with it. */
int mnt_writable(struct mnt *m, struct mnt_node *n, struct mnt_node *snap,
		 fuse_req_t req);

/** A new handle of kind on n, or NULL (ENOMEM). */
struct mnt_fh *mnt_fh_new(enum mnt_fh_kind kind, struct mnt_node *n);

/** Frees the handles whose release never came: the kernel drops the
 * releases still queued when the file system is unmounted (what a
 * handle wrote was committed at its close's flush).  Once the session
 * loop has ended. */
void mnt_fh_free_all(void);

/** Frees h and what it holds (NULL is fine). */
void mnt_fh_free(struct mnt_fh *h);

/** Opens what n is for reading or writing (open flags) into *out, with
 * the caller's roles; sets fi's caching.  -EISDIR, -EACCES, -EROFS,
 * -EPERM, -ENOMEM, or the store's errors. */
int mnt_open_node(fuse_req_t req, struct mnt *m, struct mnt_node *n, int flags,
		  struct fuse_file_info *fi, struct mnt_fh **out);

/* mnt_dir.c: listings, read a reply at a time (no copy per handle). */
void mnt_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void mnt_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi);
void mnt_op_releasedir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi);

void mnt_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void mnt_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		 struct fuse_file_info *fi);
void mnt_op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
		  off_t off, struct fuse_file_info *fi);
void mnt_op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void mnt_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		  struct fuse_file_info *fi);
void mnt_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);

/* ------------------------------------------------------- mnt_change.c
 * Operations that change the tree.
 */
void mnt_op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		   mode_t mode, struct fuse_file_info *fi);
void mnt_op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		  mode_t mode);
void mnt_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void mnt_op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);
void mnt_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		   fuse_ino_t newparent, const char *newname,
		   unsigned int flags);
/** mknod: a regular file is an empty file (as creat); a FIFO, socket or
 * device cannot be versioned: EPERM (EROFS once sealed). */
void mnt_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		  mode_t mode, dev_t rdev);
void mnt_op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		    const char *name);
/** chmod of n to the permission bits mode (its other bits kept) by the
 * caller of req, as setattr decides it; a mode n already shows is 0
 * whatever n is.  0, -EPERM, -EROFS, -EACCES, -EIO. */
int mnt_chmod(fuse_req_t req, struct mnt *m, struct mnt_node *n, uint32_t mode);

void mnt_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		    int to_set, struct fuse_file_info *fi);
void mnt_op_access(fuse_req_t req, fuse_ino_t ino, int mask);

/* --------------------------------------------------------- mnt_link.c */

/** link(2) in one step's outputs of an open run: EXDEV across steps or
 * trees, EPERM for a directory, EROFS into anything sealed. */
void mnt_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		 const char *newname);

/** Whether p/name and np/newname are two names of one file (hard links
 * of each other), which a rename leaves as they are. */
bool mnt_link_same_file(struct mnt *m, const struct mnt_node *p,
			const char *name, const struct mnt_node *np,
			const char *newname);

/* ------------------------------------------------- mnt_write.c, mnt_files.c */

/** A file open in an open run's outputs, one object shared by all its
 * handles (readers too): the truth while any handle is open.  Sequential
 * writes stream through a store writer; the first seek, read of what
 * streamed or write into existing content moves it to a spool file.
 * Committed on flush, fsync and release of a writing handle; once
 * unlinked or renamed over, kept for its handles, never stored. */
struct mnt_file {
	struct mnt *m;
	struct mnt_node *n; /* pinned (mnt_node_pin) while it lives */
	pthread_mutex_t lock;
	struct store_writer *w; /* streaming */
	uint64_t woff;		/* next in-order offset while streaming */
	int spool;		/* fd, or -1 */
	/* Neither streaming nor spooled: the committed content (n->e), read
	 * through r, opened on the digest rd. */
	struct store_reader *r;
	uint8_t rd[STORE_DIGEST_LEN];
	uint64_t size;
	bool dirty;
	unsigned refs; /* handles sharing it (under m->wlock) */
	int err;       /* a failed commit lost the data: sticky */
	bool fresh;    /* created and never committed yet (under m->wlock) */
	/* The outputs directory of its step, set at open: the names of a
	 * file of many names (n->link) are all there. */
	char stepdir[3 * STORE_NAME_MAX + 40];
	struct mnt_file *next; /* m->writing */
};

/** The open-file object of n, with one more handle on it (drop it with
 * mnt_file_close), or NULL. */
struct mnt_file *mnt_file_find(struct mnt *m, const struct mnt_node *n);

/** Opens n (an MK_OUT file of an open run) for its handle, sharing the
 * object of handles already open on it; trunc drops its content.
 * -ENOMEM, or mnt_file_truncate's errors. */
int mnt_file_open(struct mnt *m, struct mnt_node *n, bool trunc,
		  struct mnt_file **out);
/** Writes at off, or at the end when off is negative (O_APPEND); *at
 * (may be NULL) is set to the offset written at. */
ssize_t mnt_file_write(struct mnt_file *f, const char *buf, size_t len,
		       off_t off, off_t *at);
ssize_t mnt_file_read(struct mnt_file *f, char *buf, size_t len, off_t off);
int mnt_file_truncate(struct mnt_file *f, uint64_t size);
/** Commits what was written since the last commit (sync: wait for the
 * disk) as caller c.  also (may be NULL) is a record that rides with the
 * commit; *rode (may be NULL) is set true when it did (there was
 * something to commit).  -EIO, -ENOSPC, -EROFS (the run was sealed
 * meanwhile). */
int mnt_file_commit(struct mnt_file *f, const struct store_caller *c, bool sync,
		    const struct store_audit_note *also, bool *rode);
/** Whether files open in the run pipeline/run hold writes that are not
 * committed (neither closed nor fsync'd): -EBUSY, with one line naming
 * them logged, or 0 (or -ENOMEM).  A seal must not publish them. */
int mnt_run_busy(struct mnt *m, const char *pipeline, const char *run);
/* The mount whose files fs_mount_run_busy checks (NULL: none). */
void mnt_files_serving(struct mnt *m);
/** Commits what a handle wrote to n and has not committed yet, if any
 * (before a change of times that a later commit must not undo). */
int mnt_file_commit_node(struct mnt *m, const struct store_caller *c,
			 const struct mnt_node *n);
/** Drops one handle; the last one frees (after its final commit). */
void mnt_file_close(struct mnt_file *f);
/** Opens the new file n (no entry in the store yet: the first commit
 * makes it). */
int mnt_file_create(struct mnt *m, struct mnt_node *n, struct mnt_file **out);
/** Whether a created, never committed file is at path; its facts into
 * out (may be NULL). */
bool mnt_file_fresh(struct mnt *m, const char *path, struct mnt_node *out);
/** Commits the fresh file at path, if there is one (before a rename or a
 * chmod, which need its entry). */
int mnt_file_commit_fresh(struct mnt *m, const struct store_caller *c,
			  const char *path);
/** Calls fn for each fresh file directly in directory dir (a path). */

int mnt_file_fresh_each(struct mnt *m, const char *dir, mnt_dir_fn fn,
			void *arg);
/** Size of n while a handle has uncommitted data, or -1. */
int64_t mnt_write_size(struct mnt *m, const struct mnt_node *n);

/* --------------------------------------------------------- mnt_caller.c */

/** The caller of a FUSE request: uid, gid and pid from the request, the
 * supplementary groups when some binding names a group (they cost a
 * read of /proc by libfuse), the user's name.  Every decision and every
 * change the request makes is this caller's. */
void mnt_caller(fuse_req_t req, struct mnt *m, struct store_caller *out);

/* ------------------------------------------------------------ mnt_acl.c
 * Roles enforced on every operation (acl_decide for the caller of the
 * request), and the POSIX ACL view of the bindings.
 */

/** Whether the caller of req may do act on path: 0 or -EACCES (or
 * acl_decide's errors); nothing journaled. */
int mnt_allowed(fuse_req_t req, struct mnt *m, enum acl_action act,
		const char *path);

/** mnt_allowed, journaling a refusal as op on path. */
int mnt_check(fuse_req_t req, struct mnt *m, enum acl_action act,
	      const char *path, const char *op);

/** mnt_check on parent/name. */
int mnt_check_child(fuse_req_t req, struct mnt *m, enum acl_action act,
		    const struct mnt_node *parent, const char *name,
		    const char *op);

/** The permission bits of mode (from the node's kind) as the bindings at
 * n's path give them: user (the owner's), group (the ACL mask), no
 * other. */
uint32_t mnt_acl_mode(struct mnt *m, const struct mnt_node *n, uint32_t mode);

/** The rule for w at n: inside a run, the rule for changing it (as
 * mnt_writable decides), elsewhere the roles alone. */
enum acl_view_rule mnt_view_rule(const struct mnt_node *n);

/** The mode n's kind and state allow (before roles: mnt_acl_mode). */
uint32_t mnt_base_mode(const struct mnt_node *n);

/** getxattr of system.posix_acl_access: the value into buf (size bytes,
 * 0 to ask the length); its length, -ENODATA (no named entry), -ERANGE.
 */
int mnt_acl_get(struct mnt *m, const struct mnt_node *n, char *buf,
		size_t size);

/**
 * setxattr (value) or removexattr (NULL) of system.posix_acl_access by
 * the caller of req.  What tools write when they copy a mode (a minimal
 * ACL without mask::, or the named entries getfacl shows there) is a
 * chmod: 1 and *chmod_out (the permission bits) for the caller to apply,
 * always on an output below outputs/, elsewhere for a non-admin.  Else
 * an admin's ACL maps to bindings: each named entry added or changed
 * grants its role on n's path, each removed one revokes the nearest
 * binding (0).  A non-admin's ACL is -EOPNOTSUPP (not journaled), a
 * non-admin's removexattr -EPERM (journaled).  Also -EINVAL, -EIO,
 * -ENOSPC.
 */
int mnt_acl_set(fuse_req_t req, struct mnt *m, const struct mnt_node *n,
		const char *value, size_t size, uint32_t *chmod_out);

/** After the caller of req was allowed to reach n (ACL_TRAVERSE on its
 * path) by a decision made after w was read (mnt_warm_who): remembers it
 * for w (mnt_node_warm_allow), when it holds without the caller's
 * supplementary groups.  Nodes other than MK_SEALED are left alone. */
void mnt_warm_allowed(fuse_req_t req, struct mnt *m, struct mnt_node *n,
		      const struct mnt_warm_who *w);

/** After a binding changed (through the mount or a command): drops what
 * the kernel cached of modes and ACLs. */
void mnt_bindings_changed(struct mnt *m);

/* ------------------------------------------------------------ mnt_xacl.c
 * The wire format of system.posix_acl_access: a little-endian u32
 * version, then entries of u16 tag, u16 perm, u32 id.
 */
#define MNT_XACL_VERSION   2
#define MNT_XACL_USER_OBJ  0x01
#define MNT_XACL_USER	   0x02
#define MNT_XACL_GROUP_OBJ 0x04
#define MNT_XACL_GROUP	   0x08
#define MNT_XACL_MASK	   0x10
#define MNT_XACL_OTHER	   0x20
#define MNT_XACL_NO_ID	   0xffffffffu /* the id of the base entries */
#define MNT_XACL_HDR	   4
#define MNT_XACL_ENTRY	   8

/* One named entry (user or group) of an ACL being set. */
struct mnt_xacl_named {
	char tag; /* 'u' or 'g' */
	uint32_t id;
	int bits; /* rwx, 0..7 */
};

/** Writes one entry (MNT_XACL_ENTRY bytes) at p. */
void mnt_xacl_put(char *p, unsigned tag, unsigned perm, uint32_t id);

/**
 * Decodes the named entries of an ACL xattr value[0..size) into *out
 * (malloc'd, the caller's to free; also on error, then NULL) and their
 * count into *n, in the order they come; base entries (user::, group::,
 * mask::, other::) and unknown tags are skipped.  Returns 0, -EINVAL (a
 * size that is not a header and whole entries, a version other than 2)
 * or -ENOMEM.
 */
int mnt_xacl_parse(const char *value, size_t size, struct mnt_xacl_named **out,
		   size_t *n);

/* The base entries of an ACL being set, and how many named ones. */
struct mnt_xacl_base {
	int user, group, mask, other; /* rwx, 0..7 */
	bool has_mask;
	size_t named; /* user: and group: entries */
};

/** Decodes the base entries of an ACL xattr value[0..size) into *out.
 * Returns 0 or -EINVAL (as mnt_xacl_parse). */
int mnt_xacl_base(const char *value, size_t size, struct mnt_xacl_base *out);

/** The permission bits chmod(2) would give for b (group: the mask's when
 * there is one). */
uint32_t mnt_xacl_mode(const struct mnt_xacl_base *b);

/* ------------------------------------------------------------ mnt_trim.c
 * Bounded memory: names the kernel is asked to forget past MNT_NODES_MAX
 * nodes, freed heap given back (malloc_trim), by a thread of the daemon.
 */
struct mnt_trim;

/** Starts the thread for m (borrowed until mnt_trim_stop).  0, -ENOMEM,
 * or pthread_create's error (logged; the mount serves without it). */
int mnt_trim_start(struct mnt *m, struct mnt_trim **out);

/** Stops the thread and frees t (NULL is fine). */
void mnt_trim_stop(struct mnt_trim *t);
/** Tells the thread (arg) that another node changed the store: it
 * invalidates the kernel's caches (store_on_remote_change's fn). */
void mnt_trim_kick(void *arg);

/* ------------------------------------------------------ mnt_checkpoint.c
 * Signed checkpoints of the audit journal, written by a thread of the
 * daemon (config: audit.checkpoint_records, _seconds, _dir).
 */
struct mnt_checkpoints;

/**
 * Starts the checkpoint thread for s (borrowed until
 * mnt_checkpoints_stop) with ctx's settings; *out is NULL, and nothing
 * runs, when both settings are 0 or the store keeps no journal.  Returns
 * 0, -ENOMEM, -ENAMETOOLONG or pthread_create's error (logged).
 */
int mnt_checkpoints_start(struct store *s, const struct fs_ctx *ctx,
			  struct mnt_checkpoints **out);

/** Stops the thread, after a last checkpoint when the journal's head
 * moved since the one before; frees c (NULL is fine).  Call it once
 * nothing else writes to the store. */
void mnt_checkpoints_stop(struct mnt_checkpoints *c);

#endif
