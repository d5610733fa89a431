/*
 * verify.c - verifying the journal with no anchor in hand.
 *
 * The chain alone cannot show a tail cut off with the head rewritten to
 * name the new last record, nor a journal deleted from a store whose mark
 * went with it.  The mount daemon signs checkpoints of the head by itself
 * (DIR/<seq>.checkpoint, never replaced, and DIR/latest.checkpoint), so
 * a default verification checks the newest of them as well: the journal
 * must still hold the record it names, with its hash.  latest.checkpoint
 * is the newest; when it is gone, the highest <seq>.checkpoint is.  A
 * directory that does not exist (the store was never mounted) or holds
 * no checkpoint leaves the chain alone, and the summary says so.
 */
#include "acl_i.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CP_SUFFIX   ".checkpoint"
#define CP_FILE_MAX (64 << 10) /* a checkpoint is ~300 bytes */

/* The seq of a file named "<seq>.checkpoint" (decimal, no leading zero,
 * seq >= 1); false for any other name. */
static bool cp_seq(const char *name, uint64_t *seq)
{
	char *end;

	if (name[0] < '1' || name[0] > '9')
		return false;
	errno = 0;
	*seq = strtoull(name, &end, 10);
	return !errno && !strcmp(end, CP_SUFFIX);
}

/* The highest DIR/<seq>.checkpoint into path.  0, -ENOENT (no such
 * directory, or no checkpoint in it: quietly), -errno (logged). */
static int highest(const char *dir, char *path, size_t size)
{
	uint64_t best = 0, seq;
	struct dirent *e;
	DIR *d = opendir(dir);
	int rc;

	if (!d && (errno == ENOENT || errno == ENOTDIR))
		return -ENOENT;
	if (!d) {
		rc = -errno;
		store_log(STORE_LOG_ERR,
			  "cannot read the checkpoints in %s: %s", dir,
			  strerror(errno));
		return rc;
	}
	while ((e = readdir(d)))
		if (cp_seq(e->d_name, &seq) && seq > best)
			best = seq;
	closedir(d);
	if (!best)
		return -ENOENT;
	rc = snprintf(path, size, "%s/%llu" CP_SUFFIX, dir,
		      (unsigned long long)best);
	return rc < 0 || (size_t)rc >= size ? -ENAMETOOLONG : 0;
}

/* The newest checkpoint of dir into path: latest.checkpoint, else the
 * highest <seq>.checkpoint.  Same returns as highest. */
static int newest(const char *dir, char *path, size_t size)
{
	int n = snprintf(path, size, "%s/latest" CP_SUFFIX, dir);
	int rc;

	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	if (access(path, F_OK) == 0)
		return 0;
	if (errno != ENOENT && errno != ENOTDIR) {
		rc = -errno;
		store_log(STORE_LOG_ERR, "cannot read %s: %s", path,
			  strerror(errno));
		return rc;
	}
	return highest(dir, path, size);
}

/* Reads the regular file path whole into *out (malloc'd, the caller
 * frees) and *len.  -EFBIG past CP_FILE_MAX, -EINVAL (not a regular
 * file), -errno, -ENOMEM; logged. */
static int read_small(const char *path, char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	size_t got = 0;
	ssize_t n = 0;
	int rc = 0;

	*out = NULL;
	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = -errno;
		goto out_close;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > CP_FILE_MAX) {
		rc = S_ISREG(st.st_mode) ? -EFBIG : -EINVAL;
		goto out_close;
	}
	*out = malloc((size_t)st.st_size + 1);
	if (!*out) {
		rc = -ENOMEM;
		goto out_close;
	}
	while (got < (size_t)st.st_size &&
	       (n = read(fd, *out + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)n;
	if (n < 0)
		rc = -errno;
	(*out)[got] = '\0';
	*len = got;
out_close:
	if (fd >= 0)
		close(fd);
	if (rc) {
		store_log(STORE_LOG_ERR, "cannot read the checkpoint %s: %s",
			  path, strerror(-rc));
		free(*out);
		*out = NULL;
	}
	return rc;
}

/* Only the chain: no checkpoint was found in dir. */
static int chain_only(struct store *s, const char *dir,
		      struct acl_journal_verdict *out)
{
	int rc = journal_verify(s, &out->checked, out->summary,
				sizeof(out->summary));

	if (rc)
		return rc;
	store_log(STORE_LOG_INFO,
		  "no signed checkpoint found in %s: only the chain was "
		  "checked",
		  dir);
	snprintf(out->summary, sizeof(out->summary),
		 "journal intact: %llu records verified; no checkpoint found "
		 "in %s: only the chain was checked (a cut-off tail would not "
		 "show)",
		 (unsigned long long)out->checked, dir);
	return 0;
}

/* The chain, and the checkpoint out->anchor. */
static int anchored(struct store *s, struct acl_journal_verdict *out)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	store_log(STORE_LOG_INFO, "checking the journal against %s",
		  out->anchor);
	rc = read_small(out->anchor, &text, &len);
	if (!rc)
		rc = checkpoint_check(s, text, len, out->anchor, NULL,
				      &out->checked, &out->anchor_seq,
				      out->summary, sizeof(out->summary));
	free(text);
	if (!rc)
		snprintf(out->summary, sizeof(out->summary),
			 "journal intact: %llu records verified, extending "
			 "checkpoint %s (record %llu)",
			 (unsigned long long)out->checked, out->anchor,
			 (unsigned long long)out->anchor_seq);
	return rc;
}

int acl_journal_verify_default(struct store *s, const char *dir,
			       struct acl_journal_verdict *out)
{
	char def[ACL_PATH_MAX];
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (!dir) {
		rc = acl_key_file(s, ".checkpoints", false, def);
		dir = def;
	}
	if (!rc)
		rc = newest(dir, out->anchor, sizeof(out->anchor));
	if (rc == -ENOENT) {
		out->anchor[0] = '\0';
		rc = chain_only(s, dir, out);
	} else if (!rc) {
		rc = anchored(s, out);
	}
	if (rc && !out->summary[0])
		snprintf(out->summary, sizeof(out->summary),
			 "cannot verify the journal%s%s: %s",
			 out->anchor[0] ? " against " : "", out->anchor,
			 strerror(-rc));
	return rc;
}
