/*
 * principal.c - Unix users and groups as principals.
 */
#include "acl.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
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

/* getpwnam_r/getgrnam_r of name: 0 and *id, -ENOENT, -ENOMEM, -EIO. */
static int id_of_name(bool group, const char *name, uint32_t *id)
{
	long size =
	    buf_hint(group ? _SC_GETGR_R_SIZE_MAX : _SC_GETPW_R_SIZE_MAX);
	bool found = false;
	int rc;

	for (;;) {
		char *buf = malloc((size_t)size);
		struct passwd pw, *pres = NULL;
		struct group gr, *gres = NULL;

		if (!buf)
			return -ENOMEM;
		if (group)
			rc = getgrnam_r(name, &gr, buf, (size_t)size, &gres);
		else
			rc = getpwnam_r(name, &pw, buf, (size_t)size, &pres);
		if (rc == 0 && (pres || gres)) {
			*id = group ? (uint32_t)gr.gr_gid : (uint32_t)pw.pw_uid;
			found = true;
		}
		free(buf);
		if (rc != ERANGE || size > (1 << 20))
			break;
		size *= 2;
	}
	if (found)
		return 0;
	/* What getpwnam_r(3) lists as meaning "no such name". */
	if (rc == 0 || rc == ENOENT || rc == ESRCH || rc == EBADF ||
	    rc == EPERM)
		return -ENOENT;
	return rc == ENOMEM ? -ENOMEM : -EIO;
}

int acl_principal_parse(const char *spec, char out[ACL_PRINCIPAL_MAX])
{
	bool group = spec[0] == '@';
	const char *name = spec + group;
	size_t digits = strspn(name, "0123456789");
	uint32_t id;
	int rc;

	if (!name[0] || strlen(name) >= ACL_NAME_MAX)
		return -EINVAL;
	if (!name[digits]) {
		/* A number is an id, known to the system or not. */
		unsigned long long v =
		    digits > 10 ? ULLONG_MAX : strtoull(name, NULL, 10);

		if (v >= UINT32_MAX) /* (uid_t)-1 is nobody's */
			return -EINVAL;
		id = (uint32_t)v;
	} else {
		rc = id_of_name(group, name, &id);
		if (rc)
			return rc;
	}
	snprintf(out, ACL_PRINCIPAL_MAX, "%c:%u", group ? 'g' : 'u',
		 (unsigned)id);
	return 0;
}

int acl_principal_name(const char *principal, char out[ACL_NAME_MAX + 1])
{
	char name[ACL_NAME_MAX], *end;
	unsigned long v;
	gid_t gid = 0;
	int rc;

	if ((principal[0] != 'u' && principal[0] != 'g') ||
	    principal[1] != ':' || principal[2] < '0' || principal[2] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(principal + 2, &end, 10);
	if (*end || errno || v >= UINT32_MAX)
		return -EINVAL;
	if (principal[0] == 'u')
		rc = user_of((uid_t)v, name, &gid);
	else
		rc = group_of((gid_t)v, name);
	if (rc)
		return rc;
	snprintf(out, ACL_NAME_MAX + 1, "%s%s", principal[0] == 'g' ? "@" : "",
		 name);
	return 0;
}
