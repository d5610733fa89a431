/*
 * acl/acl.h - governance: who is asking.
 *
 * Purpose
 *   The principals of artifactfs are Unix users and groups.  This folder
 *   is where roles, their bindings, the POSIX ACL view of them and the
 *   audit journal live; today it names principals, for the records and
 *   listings that show who owns a run.
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

/** The calling thread acts for uid/pid (its name from the password
 * database) in the journal. */
void acl_journal_actor(uid_t uid, pid_t pid);

#endif
