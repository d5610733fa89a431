/*
 * principal.c - Unix users and groups as principals.
 */
#include "acl.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Buffer for getpwuid_r/getgrgid_r: sysconf's hint, grown on ERANGE. */
static long buf_hint(int name)
{
	long n = sysconf(name);

	return n > 0 ? n : 4096;
}

static int user_of(uid_t uid, char *name, gid_t *gid)
{
	long size = buf_hint(_SC_GETPW_R_SIZE_MAX);
	struct passwd pw, *res = NULL;
	int rc;

	for (;;) {
		char *buf = malloc((size_t)size);

		if (!buf)
			return -ENOMEM;
		rc = getpwuid_r(uid, &pw, buf, (size_t)size, &res);
		if (rc == 0 && res) {
			snprintf(name, ACL_NAME_MAX, "%s", pw.pw_name);
			if (*gid == (gid_t)-1)
				*gid = pw.pw_gid;
		}
		free(buf);
		if (rc != ERANGE || size > (1 << 20))
			break;
		size *= 2;
	}
	if (!res)
		snprintf(name, ACL_NAME_MAX, "%u", (unsigned)uid);
	return 0;
}

static int group_of(gid_t gid, char *name)
{
	long size = buf_hint(_SC_GETGR_R_SIZE_MAX);
	struct group gr, *res = NULL;
	int rc;

	for (;;) {
		char *buf = malloc((size_t)size);

		if (!buf)
			return -ENOMEM;
		rc = getgrgid_r(gid, &gr, buf, (size_t)size, &res);
		if (rc == 0 && res)
			snprintf(name, ACL_NAME_MAX, "%s", gr.gr_name);
		free(buf);
		if (rc != ERANGE || size > (1 << 20))
			break;
		size *= 2;
	}
	if (!res)
		snprintf(name, ACL_NAME_MAX, "%u", (unsigned)gid);
	return 0;
}

int acl_principal_get(uid_t uid, gid_t gid, struct acl_principal *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	out->uid = uid;
	rc = user_of(uid, out->user, &gid);
	out->gid = gid == (gid_t)-1 ? (gid_t)uid : gid;
	return rc ? rc : group_of(out->gid, out->group);
}
