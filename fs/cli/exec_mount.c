/*
 * exec_mount.c - where the store is mounted, for `run exec`: the lines
 * of /proc/self/mountinfo of type fuse.artifactfs whose source (the
 * fsname the daemon mounted with: its store directory) names the store.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec_i.h"
#include "cli_i.h"

/* Undoes mountinfo's octal escapes (\040 for a space) in place. */
static void unescape(char *s)
{
	char *d = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] &&
		    s[3]) {
			*d++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 |
				      (s[3] - '0'));
			s += 3;
		} else {
			*d++ = *s;
		}
	}
	*d = '\0';
}

/* Whether source (a mount's fsname: the store directory it was mounted
 * with) names the store at want (resolved). */
static bool same_store(const char *source, const char *given, const char *want)
{
	char real[PATH_MAX];

	if (!strcmp(source, given) || !strcmp(source, want))
		return true;
	return realpath(source, real) && !strcmp(real, want);
}

/* Parses one mountinfo line: its mount point and source, if its type is
 * fuse.artifactfs. */
static bool afs_mount_line(char *line, char **point, char **source)
{
	char *save = NULL, *tok, *sep = strstr(line, " - ");
	int i = 0;

	if (!sep)
		return false;
	*sep = '\0';
	for (tok = strtok_r(line, " ", &save); tok && i < 4; i++)
		tok = strtok_r(NULL, " ", &save);
	*point = tok;
	tok = strtok_r(sep + 3, " ", &save);
	if (!*point || !tok || strcmp(tok, "fuse.artifactfs"))
		return false;
	*source = strtok_r(NULL, " ", &save);
	if (!*source)
		return false;
	unescape(*point);
	unescape(*source);
	return true;
}

int fs_exec_find_mount(const char *store_dir, const char *mount_arg, char *out,
		       size_t size)
{
	char want[PATH_MAX], asked[PATH_MAX] = "", line[8192];
	char *point, *source;
	FILE *f = fopen("/proc/self/mountinfo", "r");
	int rc = -ENOTCONN;

	if (!realpath(store_dir, want))
		snprintf(want, sizeof(want), "%s", store_dir);
	if (mount_arg && !realpath(mount_arg, asked)) {
		rc = -errno;
		store_log(STORE_LOG_ERR, "--mount %s: %s", mount_arg,
			  strerror(-rc));
		goto out;
	}
	while (f && rc && fgets(line, sizeof(line), f)) {
		if (!afs_mount_line(line, &point, &source))
			continue;
		if (asked[0] ? !strcmp(point, asked)
			     : same_store(source, store_dir, want)) {
			snprintf(out, size, "%s", point);
			rc = 0;
		}
	}
	if (rc && asked[0])
		store_log(STORE_LOG_ERR, "%s is not an artifactfs mount",
			  mount_arg);
	else if (rc)
		store_log(STORE_LOG_ERR,
			  "run exec needs the store mounted: "
			  "%s mount MNT",
			  FS_PROG);
out:
	if (f)
		fclose(f);
	return rc;
}
