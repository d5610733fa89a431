/*
 * acl/acl_i.h - internals shared by the files of acl/ (never included
 * outside this folder): where the keys kept outside the store live and
 * how they are made and read.
 *
 * Every key is a file of KEY_LEN random bytes, mode 0600, in the key
 * directory: $ARTIFACTFS_KEY_DIR if set, else STORE_DIR.keys (0700),
 * named <store id><suffix> (".journal.key", ".secret.key", ...).
 */
#ifndef ARTIFACTFS_ACL_I_H
#define ARTIFACTFS_ACL_I_H

#include "acl.h"

#define KEY_LEN 32

/** <keydir>/<id><suffix> into out (size bytes); with mkdirs, creates the
 * key directory (0700) when missing.  0, -ENAMETOOLONG, or mkdir's
 * -errno (logged). */
int key_path(const char *store_dir, const char *id, const char *suffix,
	     char *out, size_t size, bool mkdirs);

/** Creates the key file path with KEY_LEN random bytes, whole or not at
 * all (written beside it, then linked into place); 0 also when it exists
 * already (never replaced).  what names it in messages ("journal key").
 * -EIO, -errno; logged. */
int key_create(const char *path, const char *what);

/** Reads the key file path into key.  0, -ENOENT (quietly), -EACCES and
 * other -errno (quietly: the caller says what it means), -EINVAL (not
 * KEY_LEN bytes: logged), -EPERM (group or other bits in its mode:
 * logged, with what to do). */
int key_read(const char *path, uint8_t key[KEY_LEN], const char *what);

/* Longest problem a verification reports (a path and a sentence). */
#define ACL_WHY_MAX (ACL_PATH_MAX + 256)

/** acl_journal_verify, with the problem found (the line logged) also
 * written into why (size bytes; may be NULL) when why is still empty.
 * (signed.c) */
int journal_verify(struct store *s, uint64_t *checked, char *why, size_t size);

/** acl_checkpoint_check, with the problem found written into why as
 * journal_verify does.  (signed.c) */
int checkpoint_check(struct store *s, const char *text, size_t len,
		     const char *name, const struct acl_pubkey *key,
		     uint64_t *checked, uint64_t *seq, char *why, size_t size);

/** After a secret changed: makes the log filter's set again when the
 * filter is installed (acl_redact_log).  (redact.c) */
void redact_changed(struct store *s);

#endif
