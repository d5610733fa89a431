/*
 * caller.c - the caller value (store.h): who asks, made once per request.
 */
#include "store_i.h"

#include <stdio.h>
#include <string.h>

void store_caller_set(struct store_caller *c, uid_t uid, gid_t gid, pid_t pid,
		      const gid_t *groups, size_t n, const char *user)
{
	memset(c, 0, sizeof(*c));
	c->uid = uid;
	c->gid = gid;
	c->pid = pid;
	if (n > STORE_CALLER_GROUPS_MAX)
		n = STORE_CALLER_GROUPS_MAX;
	if (groups && n)
		memcpy(c->groups, groups, n * sizeof(*groups));
	c->ngroups = groups ? n : 0;
	if (user && *user)
		snprintf(c->user, sizeof(c->user), "%s", user);
	else
		snprintf(c->user, sizeof(c->user), "%u", (unsigned)uid);
}
