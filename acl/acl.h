/*
 * acl/acl.h - governance: who is asking.
 *
 * Purpose
 *   The principals of artifactfs are Unix users and groups.  This folder
 *   is where roles, their bindings, the POSIX ACL view of them, the
 *   audit journal's keys and the secrets' encryption live: it names
 *   principals (principal.c), decides what a role allows (rbac.c), keeps
 *   the keys that live outside the store (journal.c) and seals secret
 *   values before the store sees them (secret.c).
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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
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

/* A stored principal, "u:<uid>" or "g:<gid>", with its NUL. */
#define ACL_PRINCIPAL_MAX 13

/**
 * Turns a principal as a person writes it into its stored form: a user
 * name or a uid ("alice", "1001") gives "u:<uid>", '@' and a group name
 * or gid ("@ml-team", "@1002") gives "g:<gid>".  A number is taken as an
 * id whether or not the system knows it; a name must exist
 * (getpwnam_r/getgrnam_r).  Returns 0, -EINVAL (empty, too long, or the
 * id 4294967295), -ENOENT (no such user or group), -ENOMEM, -EIO (the
 * lookup failed).  Nothing is logged: the caller says what was asked.
 */
int acl_principal_parse(const char *spec, char out[ACL_PRINCIPAL_MAX]);

/**
 * The name of a stored principal for listings: "alice" for "u:1001",
 * "@ml-team" for "g:1002", the number ("1234", "@1234") for an id the
 * system does not know.  Returns 0, -EINVAL (not a stored principal),
 * -ENOMEM.
 */
int acl_principal_name(const char *principal, char out[ACL_NAME_MAX + 1]);

/* ------------------------------------------------------------ journal.c
 * The audit journal's key lives outside the store directory:
 * $ARTIFACTFS_KEY_DIR, else STORE_DIR.keys, as <store id>.journal.key.
 */

/** Creates the journal key of s (init does); 0 if it exists. */
int acl_journal_create(struct store *s);

/** Turns s's journal on with its key; a store without a key keeps it off
 * (0), and so do an export (no key travels with it) and a read-only
 * store whose key is missing: neither records anything.  -ENOKEY (a
 * journal whose key is missing), -EACCES (a user who cannot read the
 * key: logged), -EINVAL. */
int acl_journal_open(struct store *s);

/* Longest key path. */
#define ACL_PATH_MAX 4200

/**
 * Checks the mode of every key file of s that exists (journal, secrets,
 * signing): group or other bits are refused, each such file logged with
 * what to do.  Returns 0 or -EPERM.  (Every read of a key checks its own
 * file too; this is for a daemon that should not start at all.)
 */
int acl_keys_check(struct store *s);

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

/**
 * Journals a refusal of op on path to caller c (err: EACCES, EPERM,
 * EROFS), at most 20 a second per user after a burst of 100; those
 * beyond are counted and the count journaled ("denied.suppressed",
 * bytes = the count) before the user's next journaled refusal.
 * Returns 0 or store_audit_record's errors.  Thread-safe.
 */
int acl_journal_denial(struct store *s, const struct store_caller *c,
		       const char *op, const char *path, int err);

/**
 * Makes the caller value of a request: uid, gid, pid, n supplementary
 * groups (may be NULL when n is 0) and the user's name from the password
 * database (the uid in decimal when it has none).  Names are cached, so
 * this costs no NSS lookup per request.  Thread-safe.
 */
void acl_caller_make(uid_t uid, gid_t gid, pid_t pid, const gid_t *groups,
		     size_t n, struct store_caller *out);

/* ------------------------------------------------------------- signed.c
 * What proves the journal to someone without its key: checkpoints of
 * its head and exports of its records, signed with the store's Ed25519
 * key pair (acl_sign_key).  Files are the caller's business: these work
 * on bytes.  Every failure is logged where it is found.
 */

/** A public key the caller supplies (PEM text, borrowed); a NULL
 * struct acl_pubkey * means the store's own key pair. */
struct acl_pubkey {
	const void *pem;
	size_t len;
	const char *name; /* for messages: the key's file name */
};

/** Walks s's whole journal (store_audit_verify).  Returns 0, -EBADMSG
 * (broken: the first bad record is named), -ENOKEY (no journal), -EIO.
 * *checked: records verified. */
int acl_journal_verify(struct store *s, uint64_t *checked);

/* What acl_journal_verify_default found. */
struct acl_journal_verdict {
	uint64_t checked;		/* records verified */
	uint64_t anchor_seq;		/* the checkpoint's record; 0: none */
	char anchor[ACL_PATH_MAX + 32]; /* the checkpoint file, "" if none */
	/* One line for whoever asked, no newline: "journal intact: 8
	 * records verified, extending checkpoint F (record 8)", "journal
	 * intact: 8 records verified; no checkpoint found in D: ...", or on
	 * a failure the problem ("journal cut off: ..."), as logged. */
	char summary[ACL_PATH_MAX + 512];
};

/**
 * Verifies s's journal with no anchor given: walks the whole chain
 * (acl_journal_verify) and checks that the journal still extends the
 * newest signed checkpoint in dir (NULL: the mount daemon's default,
 * <keydir>/<store id>.checkpoints): DIR/latest.checkpoint, else the
 * highest DIR/<seq>.checkpoint.  So a tail cut off with the head
 * rewritten, or a journal deleted, is caught with no flag.  With no such
 * directory (never mounted) or no checkpoint in it, only the chain is
 * checked and the summary says so.  The checkpoint is read with this
 * process's rights and checked with the store's own public key.
 * Returns 0 (out->summary says what was checked), -EBADMSG (the journal
 * or the checkpoint was tampered with: out->summary names the problem),
 * -ENOKEY (no journal), -EINVAL (not a checkpoint of this store),
 * -errno (unreadable), -EIO; every problem logged.  Thread-safe.
 */
int acl_journal_verify_default(struct store *s, const char *dir,
			       struct acl_journal_verdict *out);

/**
 * Signs the head seq/hash of s's journal, as store_audit_head read it,
 * once record seq is checked to still have that hash, and renders the
 * checkpoint document into *out (malloc'd, NUL-terminated, *len bytes;
 * the caller frees).  Makes the signing key pair on first use; pub (may
 * be NULL) gets the public key's path (ACL_PATH_MAX bytes).  Returns 0,
 * -ENODATA (empty journal), -EBADMSG (the head names no record), -ENOMEM,
 * or the key's and the signature's errors.  Thread-safe.
 */
int acl_checkpoint_sign(struct store *s, uint64_t seq,
			const uint8_t hash[STORE_DIGEST_LEN], char *pub,
			char **out, size_t *len);

/**
 * Checks the checkpoint document text[0..len) (name: its file, for
 * messages) against s: made for s, signed by key (NULL: s's own pair),
 * and the journal still holds its record with the signed hash.  With
 * checked not NULL the whole chain is walked too.  *seq (may be NULL)
 * gets the checkpoint's record.  Returns 0, -EBADMSG (a signature that
 * does not match; a journal cut off before the record, rewritten or
 * broken), -EINVAL (not a checkpoint of s), -errno.
 */
int acl_checkpoint_check(struct store *s, const char *text, size_t len,
			 const char *name, const struct acl_pubkey *key,
			 uint64_t *checked, uint64_t *seq);

/* The records an export holds. */
struct acl_export_range {
	uint64_t records, first, last; /* count, first and last seq */
};

/**
 * Signs the export data[0..len) (JSON Lines, one record a line) and
 * renders its signature document into *out (malloc'd, *out_len bytes).
 * pub gets the public key's path.  Returns 0, -ENOMEM, or the key's and
 * the signature's errors.
 */
int acl_export_sign(struct store *s, const void *data, size_t len,
		    const struct acl_export_range *r, char pub[ACL_PATH_MAX],
		    char **out, size_t *out_len);

/**
 * Checks an export: the signature document sig_text (sig_name), signed by
 * key (NULL: s's own pair; s may be NULL only with a key), over the
 * SHA-256 of data[0..len) (name), holding as many lines as it counts.
 * *records gets the count.  Needs no journal key.  Returns 0, -EBADMSG
 * (changed, or signed by another key), -EINVAL (not an export
 * signature), -errno.
 */
int acl_export_verify(struct store *s, const char *sig_text, size_t sig_len,
		      const char *sig_name, const void *data, size_t len,
		      const char *name, const struct acl_pubkey *key,
		      uint64_t *records);

/* --------------------------------------------------------------- rbac.c
 * Role-based access: what a caller may do on a path of the mount, from
 * the role bindings the store keeps (store_binding_*), and on an export
 * its read rule (acl_export_readers).
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
 * Cost: the bindings are read once into memory and again only after they
 * change (store_binding_gen); a decision walks them.  Denials are not
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

/* Who is asking is a struct store_caller (store.h): uid, gid, pid and
 * the supplementary groups (the primary gid need not be among them). */

/**
 * Decides whether who may do act on path (rules above).  Returns 0
 * (allowed), -EACCES (denied), -EROFS (a change, ACL_WRITE, _ALIAS or
 * _SEAL_OTHERS, on a store open for reading only: an export, whoever
 * asks), -EINVAL (a malformed path or action), or store_binding_each's
 * errors (-EIO, -ENOMEM).  Anything but 0 is a denial.
 */
int acl_decide(struct store *s, const struct store_caller *who,
	       enum acl_action act, const char *path);

/**
 * The rule for changing a run, for FUSE operations and commands alike:
 * path is the run (or a path inside it) and owner the uid that opened
 * it.  A writer there changes its own runs; someone else's run needs a
 * promoter to end it (end: seal or fail) and an admin for anything else.
 * Returns what acl_decide returns (-EROFS on a read-only store).
 */
int acl_decide_run(struct store *s, const struct store_caller *who, uid_t owner,
		   bool end, const char *path);

/* Permission bits of acl_role_bits, as in a mode's "other" triplet. */
#define ACL_BIT_R 4 /* ACL_LIST and ACL_READ */
#define ACL_BIT_W 2 /* ACL_WRITE */
#define ACL_BIT_X 1 /* ACL_TRAVERSE */

/**
 * The rwx bits who has on path, for the POSIX ACL and mode view: r when
 * LIST is allowed (below /secrets/: READ, the secret's value), w when
 * WRITE is, x when TRAVERSE is.  A role that
 * applies shows as: reader r-x, writer rwx, promoter rwx, auditor r-x,
 * admin rwx; a path above a scope shows --x.  Returns the bits (0-7) or
 * acl_decide's errors other than -EACCES.
 */
int acl_role_bits(struct store *s, const struct store_caller *who,
		  const char *path);

/**
 * The read rule of an export (store_exported): besides the bindings it
 * carries, everyone holds the auditor role on "/" there (lists and reads
 * everything, /audit included; an export holds no secret), or with
 * group set ("auditors" or "@auditors") only that group's members.  Set
 * once by the mount daemon of an export (`mount --ro --readers GROUP`);
 * without a call, everyone.  Returns 0, or acl_principal_parse's errors
 * for group (-ENOENT: no such group).
 */
int acl_export_readers(struct store *s, const char *group);

/** Whether role is one of reader, writer, promoter, auditor, admin. */
bool acl_role_valid(const char *role);

/** 1 when some binding names a group (so a caller's supplementary groups
 * matter), 0 when none does, or a negative errno. */
int acl_needs_groups(struct store *s);

/* ------------------------------------------------------ POSIX ACL view
 *
 * The bindings that apply at a path, shown as a POSIX access ACL:
 *   user::    the bits the owner's own bindings give (u:<owner>)
 *   user:X:   each other user with a binding that applies there
 *   group::   the bits of the owning group's bindings (g:<group>)
 *   group:X:  each other group with a binding that applies there
 *   mask::    group:: and every named entry together
 *   other::   nothing: no binding, no access
 * Bits per principal as acl_role_bits gives them for that principal
 * alone.  The mode shown by stat is user::, mask:: and other::, so ls -l
 * and getfacl agree.  Back from an ACL (setfacl): acl_bits_role.
 */

struct acl_entry {
	char tag; /* 'u' or 'g' */
	uint32_t id;
	int bits; /* ACL_BIT_* */
};

/* Which rule decides w at a node: the roles alone, or inside a run the
 * rule for changing it (acl_decide_run; _END: seal or fail it). */
enum acl_view_rule {
	ACL_VIEW_PLAIN,
	ACL_VIEW_RUN,
	ACL_VIEW_RUN_END,
};

struct acl_view {
	int user_bits, group_bits, mask;
	size_t n;		 /* named entries, users then groups */
	struct acl_entry *named; /* by id; malloc'd (acl_view_release) */
};

/**
 * The view at path for a node owned by owner:group; with named false
 * only the bits are computed (no allocation: for every stat).  rule:
 * inside a run (owner: the run's), each principal's w is what
 * acl_decide_run would decide for it, so that getfacl, ls -l and
 * access(2) say what writing will do.  Returns 0, -EINVAL (a malformed
 * path), -ENOMEM, -EIO.
 */
int acl_view_get(struct store *s, const char *path, uid_t owner, gid_t group,
		 enum acl_view_rule rule, bool named, struct acl_view *out);
void acl_view_release(struct acl_view *v);

/** The role a setfacl entry's bits ask for: "writer" with w, "reader"
 * with r, NULL otherwise (nothing grantable). */
const char *acl_bits_role(int bits);

/**
 * The scope of the nearest (longest) binding of principal tag:id ('u' or
 * 'g') that applies to path, into scope (size bytes).  0, -ENOENT (none
 * applies), -ENAMETOOLONG, -ENOMEM, -EIO.
 */
int acl_binding_nearest(struct store *s, char tag, uint32_t id,
			const char *path, char *scope, size_t size);

/* ------------------------------------------------------------ secret.c
 * Secrets encrypted at rest.  A value is sealed with AES-256-GCM under
 * the store's secrets key before the store sees it: a random 12-byte
 * nonce per value, the secret's name as associated data (a value copied
 * under another name does not open).  The key lives beside the journal
 * key, as <store id>.secret.key (32 random bytes, 0600), and is made by
 * the first acl_secret_write; it is read and made with the process's own
 * file identity, also in a daemon thread that serves a client.  Who may
 * read or change a secret is the caller's to decide first (acl_decide:
 * ACL_SECRET, ACL_ADMIN on /secrets/<name>).  Removing a secret is
 * store_secret_delete: the value need not be opened for that.
 *
 * Values never reach the journal, the logs or any error message.
 * Threads: safe from any thread (the key is read per call).
 */

/* Longest value, in bytes. */
#define ACL_SECRET_MAX 65536

/**
 * Seals val[0..len) and stores it as the next version of secret name (1
 * for a new one; journaled "secret.set"); earlier versions stay readable
 * by number.  *out_version (may be NULL) gets the new number.  Makes the
 * secrets key first if the store has none.  Returns 0, -EFBIG (over
 * ACL_SECRET_MAX), -EINVAL or -ENAMETOOLONG (a bad name), -EPERM (the
 * key file's mode lets others in), -EIO, -ENOSPC, -ENOMEM, or the key
 * file's -errno; all logged.
 */
int acl_secret_write(struct store *s, const struct store_caller *c,
		     const char *name, const void *val, size_t len,
		     uint32_t *out_version);

/**
 * Opens version (0: the current one) of secret name into *val (malloc'd,
 * *len bytes and one NUL after them; the caller frees it, best after
 * wiping it); *out_version (may be NULL) gets its number.  Returns 0,
 * -ENOENT (no such secret or version: quietly), -EIO (the stored value
 * fails authentication or is damaged: logged, nothing returned),
 * -ENOKEY (the secrets key is missing: logged), -EPERM (the key file's
 * mode lets others in: logged), -EINVAL or -ENAMETOOLONG (a bad name),
 * -ENOMEM.  Journals nothing: a read is journaled by the caller, who
 * knows who asked and why (store_audit_record "secret.read").
 */
int acl_secret_read(struct store *s, const char *name, uint32_t version,
		    uint8_t **val, size_t *len, uint32_t *out_version);

/** Opens the stored envelope env[0..total) of secret name (as
 * store_secret_get or store_secret_stored_each gave it): what
 * acl_secret_read does after reading the store. */
int acl_secret_open(struct store *s, const char *name, const void *env,
		    size_t total, uint8_t **val, size_t *len);

/** The length of secret name's value, read from its stored envelope
 * without opening it.  Returns 0, -ENOENT (quietly), -EIO (a damaged
 * envelope), -EINVAL or -ENAMETOOLONG, -ENOMEM. */
int acl_secret_size(struct store *s, const char *name, uint64_t *out);

/** Calls fn with each secret's name (byte order; the name lives only
 * during fn).  fn returns non-zero to stop (returned).  No value is
 * opened.  -EIO on a malformed record. */
int acl_secret_each(struct store *s, int (*fn)(void *arg, const char *name),
		    void *arg);

/**
 * Seals every stored value (each version of each secret) again under a
 * new secrets key, in one commit journaled "secret.rotate-key" (path
 * "/secrets"), then puts the new key in place of the old one (FORMAT.md,
 * secrets cf, says how a rotation cut short is finished).  *out_count
 * (may be NULL) gets the number of values sealed again.  Returns 0,
 * -EIO (a value that does not open: nothing changed), -EPERM (a key
 * file's mode), -ENOKEY, -ENOSPC, -ENOMEM, -errno; all logged.
 */
int acl_secret_rotate_key(struct store *s, const struct store_caller *c,
			  uint64_t *out_count);

/* ------------------------------------------------------------ redact.c
 * Secret values taken out of what is stored or logged.  Every version of
 * every secret is searched for, as its raw bytes and as it appears
 * escaped inside a JSON string; each occurrence becomes the marker
 * "[secret NAME]" (a '"' or '\\' of the name shown as '_', so that the
 * marker inside a JSON string keeps it valid).  Values shorter than
 * ACL_REDACT_MIN bytes are left alone (a two-letter value would blank out half
 * of any text).  The opened values are cached in the process and made again
 * after any change of the secrets (store_secret_gen).
 *
 * What is redacted before it is stored: run notes (params, anything a
 * step notes), trace lines (written through the mount or `trace`),
 * environment snapshots (the caller of acl_redact: each "K=V" of an
 * environ is one call); the daemon's log lines through acl_redact_log.
 * Threads: safe from any thread.
 */

/* Values shorter than this are not searched for (they would match
 * everywhere and say nothing). */
#define ACL_REDACT_MIN 4

/**
 * Copies in[0..len) into *out (malloc'd, NUL after *out_len bytes; the
 * caller frees it) with every secret value in it replaced by its
 * marker; *hits (may be NULL) counts the replacements.  Journals
 * nothing.  Returns 0, -ENOMEM, or an error opening a stored value
 * (-EIO, -ENOKEY, -EPERM: logged).  On an error nothing comes back: the
 * caller must then not store in (fail closed).
 */
int acl_redact(struct store *s, const char *in, size_t len, char **out,
	       size_t *out_len, unsigned *hits);

/**
 * With s: filters every log line of the process (store_log_set_filter)
 * and the path of every journal record of s (store_audit_set_filter: a
 * path a user typed may hold a value) through the values of s's secrets,
 * kept current as secrets are written through acl_secret_write; returns
 * 0 or acl_redact's errors (no filter then).  Call it before s is shared
 * between threads.  With NULL: removes the log filter and drops the
 * cached values (the store's filter goes with the store).
 */
int acl_redact_log(struct store *s);

#endif
