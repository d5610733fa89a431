/*
 * acl/acl.h - governance: who is asking.
 *
 * Purpose
 *   The principals of artifactfs are Unix users and groups.  This folder
 *   is where roles, their bindings, the POSIX ACL view of them and the
 *   audit journal live; today it names principals, for the records and
 *   listings that show who owns a run, and decides what a role allows
 *   (rbac.c: a library the mount does not enforce yet).
 *
 * Layering
 *   Calls store/ (store.h) and the C library; knows nothing of FUSE.
 *
 * Errors
 *   Functions return 0 or a negative errno.
 *
 * Threads
 *   Everything here is thread-safe (reentrant passwd and group lookups).
 */
#ifndef ARTIFACTFS_ACL_H
#define ARTIFACTFS_ACL_H

#include <stddef.h>
#include <sys/types.h>

#include "store.h"

/* Longest user or group name shown; longer names are cut. */
#define ACL_NAME_MAX 64

struct acl_principal {
	uid_t uid;
	gid_t gid;
	char user[ACL_NAME_MAX];  /* from the password database, or the uid */
	char group[ACL_NAME_MAX]; /* primary group name, or the gid */
};

/**
 * Describes uid (and its primary group; gid (gid_t)-1 takes the one the
 * password database gives).  A uid unknown to the password database is
 * named by its number, so this only fails with -ENOMEM.
 */
int acl_principal_get(uid_t uid, gid_t gid, struct acl_principal *out);

/* ------------------------------------------------------------ journal.c
 * The audit journal's key lives outside the store directory:
 * $ARTIFACTFS_KEY_DIR, else STORE_DIR.keys, as <store id>.journal.key.
 */

/** Creates the journal key of s (init does); 0 if it exists. */
int acl_journal_create(struct store *s);

/** Turns s's journal on with its key; a store without a key keeps it off
 * (0).  -EACCES (a user who cannot read the key: logged), -EINVAL. */
int acl_journal_open(struct store *s);

/* Longest key path. */
#define ACL_PATH_MAX 4200

/**
 * The paths of s's signing key pair (Ed25519, PEM), beside the journal
 * key: <keydir>/<store id>.sign.key (private) and .sign.pub (public).
 * With create, makes the pair when the private key is missing (and the
 * key directory with it).  Returns 0, 1 when it created the pair,
 * -ENAMETOOLONG, or store_sign_keygen's errors.
 */
int acl_sign_key(struct store *s, bool create, char priv[ACL_PATH_MAX],
		 char pub[ACL_PATH_MAX]);

/**
 * The path of something of s's kept beside its keys: <keydir>/<store
 * id><suffix> (the mount daemon's checkpoints: suffix ".checkpoints").
 * With create, makes the key directory (0700) when missing.  Returns 0,
 * -ENAMETOOLONG, or mkdir's -errno (logged).
 */
int acl_key_file(struct store *s, const char *suffix, bool create,
		 char out[ACL_PATH_MAX]);

/** The calling thread acts for uid/pid (its name from the password
 * database) in the journal. */
void acl_journal_actor(uid_t uid, pid_t pid);

/* --------------------------------------------------------------- rbac.c
 * Role-based access: what a caller may do on a path of the mount, from
 * the role bindings the store keeps (store_binding_*).
 *
 * Rules
 *   - A caller's bindings are those of "u:<uid>" and of "g:<gid>" for its
 *     primary and each supplementary group.
 *   - A binding applies to path when its scope equals path or is a
 *     component-wise prefix of it: "/pipelines/train" applies to
 *     "/pipelines/train/runs/r1", not to "/pipelines/training".
 *   - Actions per role, on the paths a binding applies to:
 *       reader    LIST READ TRAVERSE
 *       writer    reader + WRITE
 *       promoter  writer + ALIAS SEAL_OTHERS
 *       auditor   LIST READ TRAVERSE AUDIT
 *       admin     everything
 *   - Any binding also lets its holder traverse (not list) the
 *     directories above its scope: ACL_TRAVERSE on path is allowed when
 *     path is a component-wise prefix of one of the caller's scopes.
 *   - ACL_SECRET: an admin binding that applies, or any binding whose
 *     scope lies under /secrets/ and applies (a role on that secret).
 *   - Two trees are guarded whatever action is asked: LIST and READ under
 *     /audit are decided as ACL_AUDIT, and READ under /secrets as
 *     ACL_SECRET, so a reader on "/" sees neither.
 *   - No applicable binding: denied.
 *
 * Paths are absolute in the mount's terms, in the form scopes have
 * (store_binding_scope_check: no "//", ".", "..", no trailing '/').
 *
 * Cost: each decision reads every binding (they are few, set by admins);
 * the enforcement may cache them behind this interface.  Denials are not
 * journalled here: the caller that enforces records them.
 *
 * Threads: safe from any thread (the store is).
 */

enum acl_action {
	ACL_LIST,	 /* list a directory */
	ACL_READ,	 /* read a file, stat */
	ACL_TRAVERSE,	 /* look a name up in a directory */
	ACL_WRITE,	 /* create runs, write in open runs */
	ACL_SEAL_OTHERS, /* seal or fail a run someone else owns */
	ACL_ALIAS,	 /* move aliases */
	ACL_AUDIT,	 /* read /audit; audit query, verify, export */
	ACL_SECRET,	 /* read a secret's value */
	ACL_ADMIN,	 /* bindings, gc, delete */
};

/* Who is asking.  groups (borrowed for the call) are the supplementary
 * groups; the primary gid need not be among them. */
struct acl_who {
	uid_t uid;
	gid_t gid;
	const gid_t *groups;
	size_t ngroups;
};

/**
 * Decides whether who may do act on path (rules above).  Returns 0
 * (allowed), -EACCES (denied), -EINVAL (a malformed path or action), or
 * store_binding_each's errors (-EIO, -ENOMEM).  Anything but 0 is a
 * denial.
 */
int acl_decide(struct store *s, const struct acl_who *who, enum acl_action act,
	       const char *path);

/* Permission bits of acl_role_bits, as in a mode's "other" triplet. */
#define ACL_BIT_R 4 /* ACL_LIST and ACL_READ */
#define ACL_BIT_W 2 /* ACL_WRITE */
#define ACL_BIT_X 1 /* ACL_TRAVERSE */

/**
 * The rwx bits who has on path, for the POSIX ACL and mode view: r when
 * LIST is allowed, w when WRITE is, x when TRAVERSE is.  A role that
 * applies shows as: reader r-x, writer rwx, promoter rwx, auditor r-x,
 * admin rwx; a path above a scope shows --x.  Returns the bits (0-7) or
 * acl_decide's errors other than -EACCES.
 */
int acl_role_bits(struct store *s, const struct acl_who *who, const char *path);

#endif
