/*
 * seal.c - sealing an open run: every top-level entry outputs/<name> of
 * every step becomes the next version of artifact <name>, with the
 * run's end, in one WriteBatch.  The times of the entries ride along
 * beside the versions (FORMAT.md, "Times"), outside their digests.
 */
#include "store_i.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OUT_PATH_MAX 4095

struct seal {
	struct store *s;
	const struct store_caller *caller;
	size_t skip; /* KEY_NS_OUTPUT pipeline NUL run NUL */
	struct store_put **puts;
	char (*names)[STORE_NAME_MAX + 1];
	char last_step[STORE_NAME_MAX + 1]; /* step of the newest put */
	size_t n, cap, n_step; /* puts; the first of the current step */
};

/* The put for outputs/<name> of step: entries come in step order, so a
 * name that two steps write becomes two versions, in step order.  NULL
 * with *rc set on failure (a name no artifact may have: logged). */
static struct store_put *seal_put_for(struct seal *z, const char *step,
				      const char *name, int *rc)
{
	if (strcmp(z->last_step, step)) {
		snprintf(z->last_step, sizeof(z->last_step), "%s", step);
		z->n_step = z->n; /* puts of earlier steps are complete */
	}
	for (size_t i = z->n_step; i < z->n; i++) {
		if (!strcmp(z->names[i], name))
			return z->puts[i];
	}
	*rc = -ENOMEM;
	if (z->n == z->cap) {
		size_t cap = z->cap ? 2 * z->cap : 8;
		void *p = realloc(z->puts, cap * sizeof(*z->puts));

		if (!p)
			return NULL;
		z->puts = p;
		p = realloc(z->names, cap * sizeof(*z->names));
		if (!p)
			return NULL;
		z->names = p;
		z->cap = cap;
	}
	*rc = store_name_require(STORE_NAME_ENTITY, "artifact", name);
	if (*rc) {
		store_log(
		    STORE_LOG_ERR,
		    "cannot seal: output '%.64s' of step %s cannot become "
		    "an artifact; rename it",
		    name, step);
		return NULL;
	}
	*rc =
	    store_put_begin(z->s, z->caller, name, NULL, NULL, &z->puts[z->n]);
	if (*rc)
		return NULL;
	put_set_step(z->puts[z->n], step);
	strcpy(z->names[z->n], name);
	return z->puts[z->n++];
}

static int seal_entry(void *arg, const void *key, size_t klen, const void *val,
		      size_t vlen)
{
	struct seal *z = arg;
	const char *k = (const char *)key + z->skip;
	size_t rest = klen - z->skip, slen = strnlen(k, rest);
	char path[OUT_PATH_MAX + 1], name[STORE_NAME_MAX + 1];
	struct store_output o;
	struct store_file f = {0};
	struct store_put *p;
	const char *sub;
	size_t nlen;
	int rc = 0;

	if (slen + 1 >= rest || rest - slen - 1 > OUT_PATH_MAX)
		return -EIO;
	memcpy(path, k + slen + 1, rest - slen - 1);
	path[rest - slen - 1] = '\0';
	nlen = strcspn(path, "/");
	if (nlen > STORE_NAME_MAX || output_entry_decode(val, vlen, path, &o))
		return -EIO;
	memcpy(name, path, nlen);
	name[nlen] = '\0';
	sub = path[nlen] ? path + nlen + 1 : NULL;
	p = seal_put_for(z, k, name, &rc);
	if (!p)
		return rc;
	if (!sub && o.e.kind == STORE_KIND_DIR) {
		/* outputs/<name>/ is the version's root */
		put_set_root_mtime(p, o.mtime);
		return 0;
	}
	memcpy(f.digest, o.e.digest, STORE_DIGEST_LEN);
	f.size = o.e.size;
	return put_add(p, sub ? sub : name, o.e.kind, o.e.mode,
		       o.e.kind == STORE_KIND_DIR ? NULL : &f, o.mtime);
}

int store_run_seal(struct store *s, const struct store_caller *c,
		   const char *pipeline, const char *run)
{
	uint8_t k[KEY_MAX];
	struct seal z = {.s = s, .caller = c};
	struct commit t;
	int rc = store_name_check(pipeline, strlen(pipeline));

	if (!rc)
		rc = store_name_check(run, strlen(run));
	if (rc)
		return rc;
	/* The puts below share the gc gate with the commit lock held; gc
	 * closes the gate, then takes the commit lock.  Sharing the gate
	 * first here keeps one order (gate, then commit lock): otherwise a
	 * gc beside a seal deadlocks.  The puts' own shares nest in this
	 * one (shares are granted while gc only waits). */
	gate_share(&s->gc_gate);
	rc = commit_begin(s, c, &t);
	if (rc) {
		gate_unshare(&s->gc_gate);
		return rc;
	}
	z.skip = key_names(k, KEY_NS_OUTPUT, pipeline, run, "");
	rc = db_scan(s->db, CF_NAMESPACE, k, z.skip, seal_entry, &z);
	if (rc) {
		for (size_t i = 0; i < z.n; i++)
			store_put_abort(z.puts[i]);
		rc = commit_end(&t, rc);
	} else {
		rc = run_end_locked(&t, pipeline, run, STORE_RUN_SEALED, z.puts,
				    z.n);
	}
	free(z.puts);
	free(z.names);
	gate_unshare(&s->gc_gate);
	return rc;
}
