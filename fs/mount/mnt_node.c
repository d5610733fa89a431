/*
 * mnt_node.c - the mount's node table: nodes by inode number and by path,
 * counted by the kernel's lookups (lookup/forget, as in libfuse's
 * passthrough_ll.c).
 */
#include "mnt_i.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TABLE_START 4096

/* FNV-1a 64: inode numbers must be stable, not secret. */
static uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 0x100000001b3ULL;
	return h;
}

uint64_t mnt_ino_of(const char *parent_path, const char *name)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	const char *parts[3] = {parent_path, "/", name};

	if (!strcmp(parent_path, "/"))
		parts[1] = "";
	for (int i = 0; i < 3; i++) {
		for (const char *p = parts[i]; *p; p++)
			h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
	}
	/* 0 is invalid and 1 is the root. */
	return h > 1 ? h : h + 2;
}

static size_t slot(const struct mnt *m, uint64_t h)
{
	return (size_t)(h ^ (h >> 29)) & (m->cap - 1);
}

static void insert(struct mnt *m, struct mnt_node *n)
{
	size_t i = slot(m, n->ino), j = slot(m, hash_str(n->path));

	n->next_ino = m->by_ino[i];
	m->by_ino[i] = n;
	n->next_path = m->by_path[j];
	m->by_path[j] = n;
	m->n++;
}

static void unlink_node(struct mnt *m, struct mnt_node *n)
{
	struct mnt_node **pp = &m->by_ino[slot(m, n->ino)];

	while (*pp && *pp != n)
		pp = &(*pp)->next_ino;
	if (*pp)
		*pp = n->next_ino;
	pp = &m->by_path[slot(m, hash_str(n->path))];
	while (*pp && *pp != n)
		pp = &(*pp)->next_path;
	if (*pp)
		*pp = n->next_path;
	m->n--;
}

static int grow(struct mnt *m)
{
	struct mnt old = *m;

	m->cap *= 2;
	m->by_ino = calloc(m->cap, sizeof(*m->by_ino));
	m->by_path = calloc(m->cap, sizeof(*m->by_path));
	if (!m->by_ino || !m->by_path) {
		free(m->by_ino);
		free(m->by_path);
		*m = old;
		return -ENOMEM;
	}
	m->n = 0;
	for (size_t i = 0; i < old.cap; i++) {
		for (struct mnt_node *n = old.by_ino[i], *nx; n; n = nx) {
			nx = n->next_ino;
			insert(m, n);
		}
	}
	free(old.by_ino);
	free(old.by_path);
	return 0;
}

/* Splits the path into components; the rest below outputs/ or vN/ is
 * the tail. */
static int node_split(struct mnt_node *n)
{
	char *p;
	int i = 0, depth;

	free(n->parts);
	n->parts = strdup(n->path[0] == '/' ? n->path + 1 : n->path);
	if (!n->parts)
		return -ENOMEM;
	memset(n->c, 0, sizeof(n->c));
	depth = !strncmp(n->path, "/artifacts/", 11) ? 3 : 7;
	n->tail = "";
	for (p = n->parts; *p && i < MNT_MAX_COMPS; i++) {
		n->c[i] = p;
		if (i == depth - 1) {
			size_t off = (size_t)(p - n->parts) + 1;

			p += strcspn(p, "/");
			if (*p) {
				*p = '\0';
				n->tail = n->path + off + strlen(n->c[i]) + 1;
			}
			break;
		}
		p += strcspn(p, "/");
		if (*p)
			*p++ = '\0';
	}
	return 0;
}

static void node_free(struct mnt_node *n)
{
	if (!n)
		return;
	free(n->path);
	free(n->parts);
	free(n);
}

int mnt_nodes_init(struct mnt *m)
{
	pthread_condattr_t ca;

	pthread_mutex_init(&m->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->pages_cv, &ca);
	pthread_condattr_destroy(&ca);
	m->cap = TABLE_START;
	m->by_ino = calloc(m->cap, sizeof(*m->by_ino));
	m->by_path = calloc(m->cap, sizeof(*m->by_path));
	m->root = calloc(1, sizeof(*m->root));
	if (!m->by_ino || !m->by_path || !m->root)
		return -ENOMEM;
	m->root->ino = FUSE_ROOT_ID;
	m->root->kind = MK_ROOT;
	/* Namespace directories belong to whoever runs the daemon (root, or
	 * the user of a single-user mount, who can then setfacl there). */
	m->root->uid = (uint32_t)geteuid();
	m->root->nlookup = 1;
	m->root->path = strdup("/");
	if (!m->root->path || node_split(m->root))
		return -ENOMEM;
	m->root->e.kind = STORE_KIND_DIR;
	m->root->e.mode = 0755;
	insert(m, m->root);
	return 0;
}

void mnt_nodes_release(struct mnt *m)
{
	for (size_t i = 0; m->by_ino && i < m->cap; i++) {
		for (struct mnt_node *n = m->by_ino[i], *nx; n; n = nx) {
			nx = n->next_ino;
			node_free(n);
		}
	}
	free(m->by_ino);
	free(m->by_path);
	pthread_cond_destroy(&m->pages_cv);
	pthread_mutex_destroy(&m->lock);
}

static struct mnt_node *find_ino(struct mnt *m, uint64_t ino)
{
	struct mnt_node *n = m->by_ino[slot(m, ino)];

	while (n && n->ino != ino)
		n = n->next_ino;
	return n;
}

static struct mnt_node *find_path(struct mnt *m, const char *path)
{
	struct mnt_node *n = m->by_path[slot(m, hash_str(path))];

	while (n && strcmp(n->path, path))
		n = n->next_path;
	return n;
}

/* Table lock held.  The kind is the path's, set at creation only. */
static void copy_facts(struct mnt_node *n, const struct mnt_node *t)
{
	n->e = t->e;
	n->version = t->version;
	n->uid = t->uid;
	n->mtime = t->mtime;
	n->atime = t->atime;
	n->link = t->link;
	n->nlink = t->nlink;
	n->sealed = t->sealed;
	n->elsewhere = t->elsewhere;
}

int mnt_node_ref(struct mnt *m, const struct mnt_node *parent, const char *name,
		 const struct mnt_node *tmpl, struct mnt_node **out)
{
	struct mnt_node *n;
	char *path;
	int rc = 0;

	if (asprintf(&path, "%s%s%s", parent->path,
		     strcmp(parent->path, "/") ? "/" : "", name) < 0)
		return -ENOMEM;
	pthread_mutex_lock(&m->lock);
	n = find_path(m, path);
	if (n) {
		free(path);
		goto out_found;
	}
	if (m->n * 2 >= m->cap && grow(m))
		rc = -ENOMEM;
	n = rc ? NULL : calloc(1, sizeof(*n));
	if (!n) {
		free(path);
		rc = -ENOMEM;
		goto out_unlock;
	}
	n->path = path;
	n->ino = mnt_ino_of(parent->path, name);
	/* A hash collision (vanishingly rare) moves the newcomer along. */
	while (find_ino(m, n->ino) || n->ino <= FUSE_ROOT_ID)
		n->ino++;
	if (node_split(n)) {
		node_free(n);
		rc = -ENOMEM;
		goto out_unlock;
	}
	n->kind = tmpl->kind;
	insert(m, n);
out_found:
	copy_facts(n, tmpl);
	n->nlookup++;
	*out = n;
out_unlock:
	pthread_mutex_unlock(&m->lock);
	return rc;
}

/* Copies n into out (table lock held); the split is the caller's. */
static void snap_locked(const struct mnt_node *n, struct mnt_node *out)
{
	memset(out, 0, sizeof(*out));
	out->path = strdup(n->path);
	out->ino = n->ino;
	out->kind = n->kind;
	copy_facts(out, n);
}

static int snap_split(struct mnt_node *out)
{
	if (!out->path || node_split(out)) {
		mnt_node_parse_release(out);
		return -ENOMEM;
	}
	return 0;
}

int mnt_node_snap(struct mnt *m, const struct mnt_node *n, struct mnt_node *out)
{
	pthread_mutex_lock(&m->lock);
	snap_locked(n, out);
	pthread_mutex_unlock(&m->lock);
	return snap_split(out);
}

char *mnt_node_path(struct mnt *m, const struct mnt_node *n)
{
	char *path;

	pthread_mutex_lock(&m->lock);
	path = strdup(n->path);
	pthread_mutex_unlock(&m->lock);
	return path;
}

int mnt_node_take(struct mnt *m, fuse_ino_t ino, struct mnt_node **node,
		  struct mnt_node *snap)
{
	struct mnt_node *n;

	memset(snap, 0, sizeof(*snap));
	pthread_mutex_lock(&m->lock);
	n = ino == FUSE_ROOT_ID ? m->root : find_ino(m, ino);
	if (n)
		snap_locked(n, snap);
	pthread_mutex_unlock(&m->lock);
	*node = n;
	return n ? snap_split(snap) : -ESTALE;
}

/* Whether w is among the callers allowed to reach n (table lock held). */
static bool warm_allowed(const struct mnt_node *n, const struct mnt_warm_who *w)
{
	for (unsigned i = 0; i < MNT_WARM_WHO; i++) {
		const struct mnt_warm_who *k = &n->warm_ok[i];

		if (k->gen == w->gen && k->uid == w->uid && k->gid == w->gid)
			return true;
	}
	return false;
}

/* Whether sealed node n answers w from memory (table lock held). */
static bool warm_for(const struct mnt_node *n, const struct mnt_warm_who *w)
{
	return n && n->kind == MK_SEALED && n->warm_mode_gen == w->gen &&
	       warm_allowed(n, w);
}

/* Copies what a warm answer needs of n into out (table lock held). */
static void warm_copy(const struct mnt_node *n, struct mnt_node *out)
{
	memset(out, 0, sizeof(*out));
	out->ino = n->ino;
	out->kind = n->kind;
	copy_facts(out, n);
	out->warm_mode = n->warm_mode;
}

bool mnt_node_warm_child(struct mnt *m, fuse_ino_t parent, const char *name,
			 const struct mnt_warm_who *w, struct mnt_node *out)
{
	struct mnt_node *p, *n = NULL;
	char path[4096 + STORE_NAME_MAX + 2];
	int len;

	pthread_mutex_lock(&m->lock);
	p = find_ino(m, parent);
	if (p && (p->kind == MK_SEALED || p->kind == MK_ARTIFACT)) {
		len = snprintf(path, sizeof(path), "%s/%s", p->path, name);
		if (len > 0 && (size_t)len < sizeof(path))
			n = find_path(m, path);
	}
	if (warm_for(n, w)) {
		n->nlookup++;
		warm_copy(n, out);
	} else {
		n = NULL;
	}
	pthread_mutex_unlock(&m->lock);
	return n != NULL;
}

bool mnt_node_warm_self(struct mnt *m, fuse_ino_t ino,
			const struct mnt_warm_who *w, struct mnt_node *out)
{
	struct mnt_node *n;
	bool warm;

	pthread_mutex_lock(&m->lock);
	n = find_ino(m, ino);
	warm = warm_for(n, w);
	if (warm)
		warm_copy(n, out);
	pthread_mutex_unlock(&m->lock);
	return warm;
}

void mnt_node_warm_allow(struct mnt *m, struct mnt_node *n,
			 const struct mnt_warm_who *w)
{
	pthread_mutex_lock(&m->lock);
	if (n->kind == MK_SEALED && !warm_allowed(n, w)) {
		n->warm_ok[n->warm_next] = *w;
		n->warm_next = (n->warm_next + 1) % MNT_WARM_WHO;
	}
	pthread_mutex_unlock(&m->lock);
}

void mnt_node_warm_mode(struct mnt *m, struct mnt_node *n, uint32_t mode,
			uint64_t gen)
{
	pthread_mutex_lock(&m->lock);
	if (n->kind == MK_SEALED) {
		n->warm_mode = mode;
		n->warm_mode_gen = gen;
	}
	pthread_mutex_unlock(&m->lock);
}

void mnt_node_forget(struct mnt *m, fuse_ino_t ino, uint64_t nl)
{
	struct mnt_node *n;

	if (ino == FUSE_ROOT_ID)
		return;
	pthread_mutex_lock(&m->lock);
	n = find_ino(m, ino);
	if (n) {
		n->nlookup = n->nlookup > nl ? n->nlookup - nl : 0;
		if (n->nlookup == 0) {
			unlink_node(m, n);
			node_free(n);
		}
	}
	pthread_mutex_unlock(&m->lock);
}

void mnt_node_pin(struct mnt *m, struct mnt_node *n)
{
	pthread_mutex_lock(&m->lock);
	n->nlookup++;
	pthread_mutex_unlock(&m->lock);
}

void mnt_node_unpin(struct mnt *m, struct mnt_node *n)
{
	pthread_mutex_lock(&m->lock);
	if (n->nlookup && --n->nlookup == 0) {
		unlink_node(m, n);
		node_free(n);
	}
	pthread_mutex_unlock(&m->lock);
}

/* Renames one node's path (table lock held). */
static void move_one(struct mnt *m, struct mnt_node *n, const char *to,
		     size_t from_len)
{
	char *path;

	if (asprintf(&path, "%s%s", to, n->path + from_len) < 0)
		return;
	unlink_node(m, n);
	free(n->path);
	n->path = path;
	node_split(n);
	insert(m, n);
}

/* Collects the nodes at path and below (table lock held). */
static size_t collect(struct mnt *m, const char *path, struct mnt_node **list)
{
	size_t fl = strlen(path), count = 0;

	for (size_t i = 0; list && i < m->cap; i++) {
		for (struct mnt_node *n = m->by_ino[i]; n; n = n->next_ino) {
			if (!strncmp(n->path, path, fl) &&
			    (n->path[fl] == '\0' || n->path[fl] == '/'))
				list[count++] = n;
		}
	}
	return count;
}

/* Takes nodes off a path that no longer exists: they keep their inode
 * for the kernel but a new file at the path gets a new node. */
static void gone_locked(struct mnt *m, const char *path)
{
	struct mnt_node **list = calloc(m->n ? m->n : 1, sizeof(*list));
	size_t count = collect(m, path, list);
	char gone[64];

	for (size_t i = 0; i < count; i++) {
		snprintf(gone, sizeof(gone), "//gone/%llu",
			 (unsigned long long)list[i]->ino);
		move_one(m, list[i], gone, strlen(list[i]->path));
	}
	free(list);
}

void mnt_node_gone(struct mnt *m, const char *path)
{
	pthread_mutex_lock(&m->lock);
	gone_locked(m, path);
	pthread_mutex_unlock(&m->lock);
}

void mnt_node_moved(struct mnt *m, const char *from, const char *to)
{
	size_t fl = strlen(from), count;
	struct mnt_node **list;

	pthread_mutex_lock(&m->lock);
	gone_locked(m, to);
	list = calloc(m->n ? m->n : 1, sizeof(*list));
	count = collect(m, from, list);
	for (size_t i = 0; i < count; i++)
		move_one(m, list[i], to, fl);
	free(list);
	pthread_mutex_unlock(&m->lock);
}

static enum mnt_kind kind_at(const char *name, const char *const *names,
			     const enum mnt_kind *kinds, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(name, names[i]))
			return kinds[i];
	}
	return 0;
}

/* The kind a parsed path names (0 if none). */
static enum mnt_kind kind_of(const struct mnt_node *n)
{
	static const char *const run_n[] = {"run.json", "control", "env",
					    "steps"};
	static const enum mnt_kind run_k[] = {MK_RUN_JSON, MK_CONTROL,
					      MK_RUN_ENV, MK_STEPS};
	static const char *const step_n[] = {"inputs", "outputs", "env",
					     "trace.jsonl"};
	static const enum mnt_kind step_k[] = {MK_INPUTS, MK_OUT, MK_STEP_ENV,
					       MK_TRACE};
	static const enum mnt_kind pipe_k[] = {MK_PIPELINES, MK_PIPELINE,
					       MK_RUNS, MK_RUN};
	int depth = 0;

	while (depth < MNT_MAX_COMPS && n->c[depth])
		depth++;
	if (depth == 0)
		return MK_ROOT;
	if (!strcmp(n->c[0], "artifacts")) {
		if (depth < 3)
			return depth == 1 ? MK_ARTIFACTS : MK_ARTIFACT;
		return store_ref_number(n->c[2], &(uint32_t){0}) == 1
			   ? MK_SEALED
			   : MK_ALIAS;
	}
	if (!strcmp(n->c[0], "audit"))
		return depth == 1 ? MK_AUDIT : MK_AUDIT_DAY;
	if (!strcmp(n->c[0], "secrets"))
		return depth == 1 ? MK_SECRETS : MK_SECRET;
	if (strcmp(n->c[0], "pipelines"))
		return 0;
	if (depth <= 4)
		return pipe_k[depth - 1];
	if (depth == 5)
		return kind_at(n->c[4], run_n, run_k, 4);
	if (depth == 6)
		return MK_STEP;
	if (depth == 7)
		return kind_at(n->c[6], step_n, step_k, 4);
	if (!strcmp(n->c[6], "env"))
		return MK_ENV_FILE;
	return !strcmp(n->c[6], "inputs") ? MK_INPUT : MK_OUT;
}

int mnt_node_parse(const char *path, bool parent, struct mnt_node *out)
{
	memset(out, 0, sizeof(*out));
	out->path = strdup(path);
	if (!out->path)
		return -ENOMEM;
	if (parent) {
		char *slash = strrchr(out->path, '/');

		if (slash == out->path)
			slash[1] = '\0';
		else if (slash)
			*slash = '\0';
	}
	if (node_split(out))
		return -ENOMEM;
	out->kind = kind_of(out);
	return 0;
}

void mnt_node_parse_release(struct mnt_node *n)
{
	free(n->path);
	free(n->parts);
	n->path = n->parts = NULL;
}

void mnt_aliases_changed(struct mnt *m)
{
	mnt_invalidate(m, MK_ALIAS);
}

/* The node of x's parent directory, or NULL (table lock held). */
static struct mnt_node *parent_of(struct mnt *m, const struct mnt_node *x)
{
	const char *slash = strrchr(x->path, '/');
	char *pp;
	struct mnt_node *p;

	if (!slash)
		return NULL;
	pp = strndup(x->path, slash == x->path ? 1 : (size_t)(slash - x->path));
	p = pp ? find_path(m, pp) : NULL;
	free(pp);
	return p;
}

/* A node mnt_invalidate tells the kernel of: its inode, and whether its
 * cached pages go too. */
struct inval {
	uint64_t ino;
	bool pages;
};

void mnt_invalidate(struct mnt *m, enum mnt_kind kind)
{
	struct inval *v = NULL;
	size_t n = 0, cap = 0;

	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->cap; i++) {
		for (struct mnt_node *x = m->by_ino[i]; x; x = x->next_ino) {
			if (kind && x->kind != kind)
				continue;
			if (n == cap) {
				struct inval *p = realloc(
				    v, (cap = cap ? 2 * cap : 16) * sizeof(*p));

				if (!p)
					break;
				v = p;
			}
			/* A sealed file's content stays what it was: only
			 * its attributes (its mode) go. */
			v[n].pages =
			    x->kind != MK_SEALED || x->e.kind == STORE_KIND_DIR;
			v[n++].ino = x->ino;
		}
	}
	pthread_mutex_unlock(&m->lock);
	/* Outside the table lock: the kernel may call back into us. */
	for (size_t i = 0; i < n && m->se; i++)
		fuse_lowlevel_notify_inval_inode(m->se, v[i].ino,
						 v[i].pages ? 0 : -1, 0);
	free(v);
}

/* A version directory in the table: /artifacts/<a>/vN. */
struct version_node {
	char *path; /* malloc'd */
	char artifact[STORE_NAME_MAX + 1];
	uint64_t parent; /* /artifacts/<a>'s inode */
	uint32_t number;
};

/* Appends version directory x (of parent p) to *v; false: ENOMEM. */
static bool version_add(struct version_node **v, size_t *n, size_t *cap,
			const struct mnt_node *x, const struct mnt_node *p)
{
	struct version_node *e;

	if (*n == *cap) {
		size_t c = *cap ? 2 * *cap : 16;
		struct version_node *nv = realloc(*v, c * sizeof(*nv));

		if (!nv)
			return false;
		*v = nv;
		*cap = c;
	}
	e = &(*v)[*n];
	e->path = strdup(x->path);
	if (!e->path)
		return false;
	snprintf(e->artifact, sizeof(e->artifact), "%s", x->c[C_ARTIFACT]);
	e->parent = p->ino;
	e->number = x->version;
	(*n)++;
	return true;
}

/* The version directories the table holds, into *out (table lock
 * held); how many. */
static size_t versions_locked(struct mnt *m, struct version_node **out)
{
	size_t n = 0, cap = 0;

	*out = NULL;
	for (size_t i = 0; i < m->cap; i++) {
		for (struct mnt_node *x = m->by_ino[i]; x; x = x->next_ino) {
			struct mnt_node *p;

			if (x->kind != MK_SEALED || x->tail[0] ||
			    !x->c[C_VERSION] || !strncmp(x->path, "//", 2))
				continue;
			p = parent_of(m, x);
			if (p && !version_add(out, &n, &cap, x, p))
				return n;
		}
	}
	return n;
}

void mnt_versions_changed(struct mnt *m)
{
	struct version_node *v;
	struct store_version sv;
	size_t n;

	pthread_mutex_lock(&m->lock);
	n = versions_locked(m, &v);
	pthread_mutex_unlock(&m->lock);
	for (size_t i = 0; i < n; i++) {
		const char *name = strrchr(v[i].path, '/') + 1;

		if (store_version_get(m->s, v[i].artifact, v[i].number, &sv) !=
		    -ENOENT)
			continue;
		/* Deleted (gc): its nodes leave their paths, and the kernel
		 * forgets the name, which it cached as a directory's. */
		mnt_node_gone(m, v[i].path);
		if (m->se)
			fuse_lowlevel_notify_inval_entry(m->se, v[i].parent,
							 name, strlen(name));
	}
	for (size_t i = 0; i < n; i++)
		free(v[i].path);
	free(v);
}

void mnt_link_changed(struct mnt *m, const struct mnt_node *n)
{
	uint64_t *inos = NULL, link;
	size_t k = 0, cap = 0;

	pthread_mutex_lock(&m->lock);
	link = n->link;
	for (size_t i = 0; link && i < m->cap; i++) {
		for (struct mnt_node *x = m->by_ino[i]; x; x = x->next_ino) {
			if (x == n || x->link != link)
				continue;
			if (k == cap) {
				uint64_t *p =
				    realloc(inos, (cap = cap ? 2 * cap : 8) *
						      sizeof(*p));

				if (!p)
					break;
				inos = p;
			}
			inos[k++] = x->ino;
		}
	}
	pthread_mutex_unlock(&m->lock);
	/* Outside the table lock: the kernel may call back into us. */
	for (size_t i = 0; i < k && m->se; i++)
		fuse_lowlevel_notify_inval_inode(m->se, inos[i], 0, 0);
	free(inos);
}

void mnt_pages_begin(struct mnt *m, struct mnt_node *n)
{
	pthread_mutex_lock(&m->lock);
	n->pages_pending++;
	pthread_mutex_unlock(&m->lock);
}

void mnt_pages_end(struct mnt *m, fuse_ino_t ino)
{
	struct mnt_node *n;

	pthread_mutex_lock(&m->lock);
	n = find_ino(m, ino);
	if (n && n->pages_pending)
		n->pages_pending--;
	pthread_cond_broadcast(&m->pages_cv);
	pthread_mutex_unlock(&m->lock);
}

void mnt_pages_wait(struct mnt *m, struct mnt_node *n)
{
	struct timespec until;

	pthread_mutex_lock(&m->lock);
	if (!n->pages_pending) { /* nearly always */
		pthread_mutex_unlock(&m->lock);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_nsec += 200 * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	/* Bounded: the invalidation may wait for pages a read holds, and
	 * that read for a thread of ours. */
	while (n->pages_pending &&
	       pthread_cond_timedwait(&m->pages_cv, &m->lock, &until) == 0)
		;
	pthread_mutex_unlock(&m->lock);
}

uint64_t mnt_link_of(struct mnt *m, const struct mnt_node *n)
{
	uint64_t link;

	pthread_mutex_lock(&m->lock);
	link = n->link;
	pthread_mutex_unlock(&m->lock);
	return link;
}

size_t mnt_nodes_count(struct mnt *m)
{
	size_t n;

	pthread_mutex_lock(&m->lock);
	n = m->n;
	pthread_mutex_unlock(&m->lock);
	return n;
}

size_t mnt_nodes_spare(struct mnt *m, struct mnt_spare *out, size_t want)
{
	size_t n = 0, k;

	pthread_mutex_lock(&m->lock);
	for (k = 0; k < m->cap && n < want; k++) {
		size_t i = (m->spare_at + k) & (m->cap - 1);

		for (struct mnt_node *x = m->by_ino[i]; x && n < want;
		     x = x->next_ino) {
			struct mnt_node *p;

			/* The root stays; "//gone/" has no name left. */
			if (x == m->root || !strncmp(x->path, "//", 2))
				continue;
			p = parent_of(m, x);
			out[n].name =
			    p ? strdup(strrchr(x->path, '/') + 1) : NULL;
			if (out[n].name)
				out[n++].parent = p->ino;
		}
	}
	m->spare_at = (m->spare_at + k) & (m->cap - 1);
	pthread_mutex_unlock(&m->lock);
	return n;
}
