/*
 * checkpoint.c - a signed checkpoint of the audit journal read from a
 * file and checked against the store: for `audit verify --anchor` (fs/cli)
 * and the mount daemon's automatic checkpoints (fs/mount).  The check
 * itself is acl/'s (acl_checkpoint_check); this file reads the files.
 */
#include <stdlib.h>

#include "acl.h"
#include "base.h"

int fs_pubkey_read(struct fs_ctx *ctx, const char *path, struct acl_pubkey *key)
{
	char *pem = NULL;
	size_t len = 0;
	int rc =
	    path ? fs_file_read_logged(ctx, path, FS_SMALL_FILE_MAX, &pem, &len)
		 : 0;

	*key = (struct acl_pubkey){pem, len, path};
	return rc;
}

int fs_checkpoint_check(struct fs_ctx *ctx, struct store *s, const char *path,
			const char *pubkey, uint64_t *checked, uint64_t *seq)
{
	struct acl_pubkey key;
	char *text = NULL;
	size_t len = 0;
	int rc = fs_file_read_logged(ctx, path, FS_SMALL_FILE_MAX, &text, &len);

	if (!rc)
		rc = fs_pubkey_read(ctx, pubkey, &key);
	if (!rc) {
		rc = acl_checkpoint_check(s, text, len, path,
					  pubkey ? &key : NULL, checked, seq);
		free((void *)key.pem);
	}
	free(text);
	return rc;
}
