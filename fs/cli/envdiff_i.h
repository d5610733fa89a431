/*
 * fs/cli/envdiff_i.h - comparing two steps (envdiff.c): their code,
 * params, packages, image and system (from the environment snapshots),
 * and the versions they read and produced.  Never included outside fs/.
 *
 * Errors: 0 or -errno (-ENOMEM, the store's).  Threads: any.
 */
#ifndef ARTIFACTFS_FS_ENVDIFF_I_H
#define ARTIFACTFS_FS_ENVDIFF_I_H

#include "envsnap_i.h"

enum envdiff_section {
	ED_STEPS,
	ED_CODE,
	ED_PARAMS,
	ED_PACKAGES,
	ED_IMAGE,
	ED_SYSTEM,
	ED_INPUTS,
	ED_OUTPUTS,
	ED_SECRETS, /* the names (and versions) of the secrets a run used */
	ED_N,
};

/* "steps", "code", "param", ... in enum order. */
extern const char *const envdiff_sections[ED_N];

/* One difference: old NULL when added, new NULL when removed. */
struct envdiff_item {
	enum envdiff_section section;
	char *name, *old, *new;
};

struct envdiff {
	struct envdiff_item *v;
	size_t n, cap;
};

/* One side of a comparison: a step of a run. */
struct envdiff_side {
	const char *pipeline, *run, *step;
};

/** Adds what differs between texts a and b (either may be NULL: empty)
 * of section sec, line by line ("key: value"; packages "eco name V"). */
int envdiff_text(struct envdiff *d, enum envdiff_section sec, const char *a,
		 const char *b);

/** Adds everything that differs between steps a and b. */
int envdiff_steps(struct store *s, const struct envdiff_side *a,
		  const struct envdiff_side *b, struct envdiff *d);

/** The params of run p/r as "name: value" lines into out. */
int envdiff_params_text(struct store *s, const char *p, const char *r,
			struct envsnap_buf *out);

/** A step's inputs (or outputs) as "artifact: vN sha256:..." lines. */
int envdiff_edges_text(struct store *s, bool inputs, const char *p,
		       const char *r, const char *step,
		       struct envsnap_buf *out);

/** One item as "packages pydantic: 2.5.3 -> 2.6.0", "inputs +data: ...". */
void envdiff_item_text(const struct envdiff_item *it, char *buf, size_t size);

/** At most most items of the sections in the mask (1 << section), joined
 * by "; " ("; and N more" after them), into buf. */
void envdiff_summary(const struct envdiff *d, unsigned sections, size_t most,
		     char *buf, size_t size);

void envdiff_release(struct envdiff *d);

#endif
