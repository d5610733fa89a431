/*
 * caller.c - the caller value of a request, with its user's name.
 *
 * The name comes from the password database; a lookup can cost a round
 * trip to a directory service, so the last few names are kept (a shared
 * mount sees few distinct users at a time).  A user renamed meanwhile
 * keeps the old name for the life of the process, which is what the
 * journal should say anyway: who it was when it acted.
 */
#include "acl_i.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define NAME_SLOTS 64

struct name_slot {
	uid_t uid;
	bool used;
	char name[STORE_CALLER_NAME_MAX];
};

static struct name_slot names[NAME_SLOTS];
static unsigned next_slot;
/* Read for every request, written once per new user. */
static pthread_rwlock_t names_lock = PTHREAD_RWLOCK_INITIALIZER;

/* Copies uid's name into out; true when it was known. */
static bool cached(uid_t uid, char out[STORE_CALLER_NAME_MAX])
{
	bool hit = false;

	pthread_rwlock_rdlock(&names_lock);
	for (unsigned i = 0; i < NAME_SLOTS && !hit; i++) {
		if (names[i].used && names[i].uid == uid) {
			memcpy(out, names[i].name, STORE_CALLER_NAME_MAX);
			hit = true;
		}
	}
	pthread_rwlock_unlock(&names_lock);
	return hit;
}

static void remember(uid_t uid, const char *name)
{
	struct name_slot *sl;

	pthread_rwlock_wrlock(&names_lock);
	sl = &names[next_slot++ % NAME_SLOTS];
	sl->uid = uid;
	sl->used = true;
	snprintf(sl->name, sizeof(sl->name), "%s", name);
	pthread_rwlock_unlock(&names_lock);
}

void acl_caller_make(uid_t uid, gid_t gid, pid_t pid, const gid_t *groups,
		     size_t n, struct store_caller *out)
{
	char name[STORE_CALLER_NAME_MAX];
	struct acl_principal who;

	if (!cached(uid, name)) {
		if (acl_principal_get(uid, (gid_t)-1, &who) == 0)
			snprintf(name, sizeof(name), "%s", who.user);
		else
			snprintf(name, sizeof(name), "%u", (unsigned)uid);
		remember(uid, name);
	}
	store_caller_set(out, uid, gid, pid, groups, n, name);
}
