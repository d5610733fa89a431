/*
 * journal.c - the audit journal's key: where it lives and turning the
 * journal on.
 *
 * The key must not sit in the store directory (a copy of the store must
 * not carry what forges its journal).  It lives in a directory of its own:
 * $ARTIFACTFS_KEY_DIR if set, else STORE.keys next to the store, as
 * <store id>.journal.key, 32 random bytes, mode 0600 in a 0700 directory.
 * The Ed25519 pair that signs checkpoints and exports sits beside it:
 * <store id>.sign.key (private, 0600) and <store id>.sign.pub (given to
 * auditors), made on first use; the secrets key (secret.c) too.  The
 * mount daemon's automatic checkpoints go by default in
 * <store id>.checkpoints/ there too.  The key helpers here are shared
 * with the rest of acl/ (acl_i.h).
 */
#include "acl_i.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

int key_path(const char *store_dir, const char *id, const char *suffix,
	     char *out, size_t size, bool mkdirs)
{
	const char *env = getenv("ARTIFACTFS_KEY_DIR");
	char dir[4096];
	int n;

	if (env && *env)
		n = snprintf(dir, sizeof(dir), "%s", env);
	else
		n = snprintf(dir, sizeof(dir), "%s.keys", store_dir);
	if (n < 0 || (size_t)n >= sizeof(dir))
		return -ENAMETOOLONG;
	if (mkdirs && mkdir(dir, 0700) < 0 && errno != EEXIST) {
		int rc = -errno;

		store_log(STORE_LOG_ERR, "cannot create key directory %s: %s",
			  dir, strerror(errno));
		return rc;
	}
	n = snprintf(out, size, "%s/%s%s", dir, id, suffix);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int key_create(const char *path, const char *what)
{
	uint8_t key[KEY_LEN];
	char tmp[ACL_PATH_MAX + 8];
	int fd, rc = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	if (getrandom(key, sizeof(key), 0) != (ssize_t)sizeof(key))
		return -EIO;
	fd = mkstemp(tmp); /* mode 0600 */
	if (fd < 0) {
		rc = -errno;
		store_log(STORE_LOG_ERR, "cannot create the %s %s: %s", what,
			  path, strerror(errno));
		goto out_wipe;
	}
	if (write(fd, key, sizeof(key)) != (ssize_t)sizeof(key) || fsync(fd))
		rc = -EIO;
	if (close(fd) && !rc)
		rc = -EIO;
	/* link() never replaces: a key made meanwhile wins, and path never
	 * exists half written. */
	if (!rc && link(tmp, path) < 0 && errno != EEXIST)
		rc = -errno;
	unlink(tmp);
	if (rc)
		store_log(STORE_LOG_ERR, "cannot write the %s %s: %s", what,
			  path, strerror(-rc));
out_wipe:
	explicit_bzero(key, sizeof(key));
	return rc;
}

int key_read(const char *path, uint8_t key[KEY_LEN], const char *what)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	ssize_t n;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -EIO;
	}
	/* A key anyone else may read or change is no secret any more:
	 * refused, whoever owns it, before a byte of it is used. */
	if (st.st_mode & 077) {
		close(fd);
		store_log(STORE_LOG_ERR,
			  "the %s %s has mode %04o: a key must be readable "
			  "and writable by its owner only (chmod 600 it); "
			  "not used",
			  what, path, (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	n = read(fd, key, KEY_LEN);
	close(fd);
	if (n != KEY_LEN) {
		store_log(STORE_LOG_ERR, "%s %s is damaged", what, path);
		return -EINVAL;
	}
	return 0;
}

int acl_journal_create(struct store *s)
{
	char path[ACL_PATH_MAX];
	int rc = key_path(store_dir(s), store_id(s), ".journal.key", path,
			  sizeof(path), true);

	if (!rc)
		rc = key_create(path, "journal key");
	return rc ? rc : store_audit_mark(s);
}

int acl_journal_open(struct store *s)
{
	uint8_t key[KEY_LEN];
	char path[ACL_PATH_MAX];
	int rc;

	/* No key travels with an export: its chain is checked against its
	 * signed MANIFEST instead, and it records nothing. */
	if (store_exported(s))
		return 0;
	rc = key_path(store_dir(s), store_id(s), ".journal.key", path,
		      sizeof(path), false);
	if (!rc)
		rc = key_read(path, key, "journal key");
	if (rc == -ENOENT && !store_audit_required(s))
		return 0; /* a store made before the journal: it stays off */
	/* A store open for reading only records nothing: it needs no key. */
	if (rc == -ENOENT && store_read_only(s))
		return 0;
	if (rc == -ENOENT) {
		store_log(STORE_LOG_ERR,
			  "the journal key %s is missing: this store keeps an "
			  "audit journal and is not opened without it",
			  path);
		return -ENOKEY;
	}
	if (rc == -EACCES) {
		store_log(STORE_LOG_ERR,
			  "cannot read the journal key %s: only its owner "
			  "changes this store",
			  path);
		return rc;
	}
	if (!rc)
		rc = store_audit_enable(s, key, sizeof(key));
	memset(key, 0, sizeof(key));
	return rc;
}

int acl_keys_check(struct store *s)
{
	static const char *const suffixes[] = {".journal.key", ".secret.key",
					       ".secret.key.next", ".sign.key"};
	char path[ACL_PATH_MAX];
	struct stat st;
	int rc = 0;

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(*suffixes); i++) {
		if (key_path(store_dir(s), store_id(s), suffixes[i], path,
			     sizeof(path), false) ||
		    stat(path, &st) < 0 || !(st.st_mode & 077))
			continue;
		store_log(STORE_LOG_ERR,
			  "the key %s has mode %04o: a key must be readable "
			  "and writable by its owner only (chmod 600 it)",
			  path, (unsigned)(st.st_mode & 07777));
		rc = -EPERM;
	}
	return rc;
}

int acl_key_file(struct store *s, const char *suffix, bool create,
		 char out[ACL_PATH_MAX])
{
	return key_path(store_dir(s), store_id(s), suffix, out, ACL_PATH_MAX,
			create);
}

int acl_sign_key(struct store *s, bool create, char priv[ACL_PATH_MAX],
		 char pub[ACL_PATH_MAX])
{
	const char *dir = store_dir(s), *id = store_id(s);
	int rc = key_path(dir, id, ".sign.key", priv, ACL_PATH_MAX, create);

	if (!rc)
		rc = key_path(dir, id, ".sign.pub", pub, ACL_PATH_MAX, false);
	if (rc || !create || access(priv, F_OK) == 0)
		return rc;
	rc = store_sign_keygen(priv, pub);
	if (rc == -EEXIST) /* made meanwhile, or a public key alone */
		return 0;
	if (!rc)
		store_log(STORE_LOG_INFO, "created signing key %s", priv);
	return rc ? rc : 1;
}
