/*
 * throwaway.c - the fuzz targets' silenced log and throwaway store.
 */
#include "throwaway.h"

#include "acl.h"
#include "store_i.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct store *shared;
static char *tmp;
static const struct store_caller caller = {.uid = 0, .user = "fuzz"};

static void drop(void *arg, enum store_log_level level, const char *msg)
{
	(void)arg;
	(void)level;
	(void)msg;
}

void fuzz_quiet(void)
{
	static int done;

	if (done++)
		return;
	if (!getenv("ARTIFACTFS_FUZZ_LOG"))
		store_log_set_sink(drop, NULL);
}

const struct store_caller *fuzz_caller(void)
{
	return &caller;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/* At exit the store stays open: RocksDB's own statics may be gone by
 * then, so closing it there crashes. */
static void cleanup(void)
{
	if (tmp)
		nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(tmp);
	tmp = NULL;
}

void fuzz_store_done(void)
{
	store_close(shared);
	shared = NULL;
	cleanup();
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "fuzz: throwaway store: %s: %s\n", what, strerror(-rc));
	exit(1);
}

/* Artifact "a" v1 (one file "f"), the run, its step and an output. */
static void populate(struct store *s)
{
	struct store_writer *w;
	struct store_file f;
	struct store_put *p;
	struct store_version v;
	struct store_version_meta m = {0};
	int rc = store_writer_new(s, &w);

	if (!rc && !(rc = store_writer_write(w, "fuzz\n", 5)))
		rc = store_writer_finish(w, &f);
	if (!rc && !(rc = store_put_begin(s, &caller, "a", NULL, NULL, &p))) {
		rc = store_put_file(p, "f", &f, 0644);
		rc = rc ? rc : store_put_commit(p, &m, &v);
	}
	if (!rc)
		rc = store_pipeline_create(s, &caller, "p");
	if (!rc)
		rc = store_run_create(s, &caller, "p", "r", 0);
	if (!rc)
		rc = store_step_create(s, &caller, "p", "r", "s");
	if (!rc)
		rc = store_output_set(s, &caller, "p", "r", "s", "x",
				      STORE_KIND_FILE, 0644, &f, 0, NULL);
	if (rc)
		die("populate", rc);
}

struct store *fuzz_store(void)
{
	struct store_options o;
	char *dir = NULL, *keys = NULL;
	char priv[ACL_PATH_MAX], pub[ACL_PATH_MAX];
	const char *base = getenv("TMPDIR");
	int rc;

	if (shared)
		return shared;
	fuzz_quiet();
	if (asprintf(&tmp, "%s/afs-fuzz-XXXXXX",
		     base && *base ? base : "/tmp") < 0 ||
	    !mkdtemp(tmp))
		die("mkdtemp", -1);
	atexit(cleanup);
	if (asprintf(&dir, "%s/store", tmp) < 0 ||
	    asprintf(&keys, "%s/keys", tmp) < 0)
		die("asprintf", -ENOMEM);
	setenv("ARTIFACTFS_KEY_DIR", keys, 1);
	store_options_init(&o);
	o.threads = 1;
	rc = store_init(dir, &o);
	if (!rc)
		rc = store_open(dir, &o, &shared);
	if (rc)
		die("open", rc);
	/* The id the seeds name (and the key files go by). */
	memcpy(shared->id, FUZZ_STORE_ID, sizeof(shared->id));
	rc = acl_journal_create(shared);
	rc = rc ? rc : acl_journal_open(shared);
	rc = rc ? rc : acl_sign_key(shared, true, priv, pub);
	if (rc < 0)
		die("keys", rc);
	populate(shared);
	rc = acl_secret_write(shared, &caller, "k", "fuzz", 4, NULL);
	if (rc)
		die("secret", rc);
	free(dir);
	free(keys);
	return shared;
}
