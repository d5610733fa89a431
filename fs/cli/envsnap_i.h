/*
 * fs/cli/envsnap_i.h - environment snapshots of steps on the command
 * line's side: capturing one (env_capture.c), carrying it to the daemon
 * as one bundle, and reading, comparing and keying stored ones
 * (envsnap.c, envdiff.c).  Never included outside fs/.
 *
 * A snapshot is five text files (FORMAT in README, "Environments"):
 *   code.txt      command:, cwd:, git_commit:, git_dirty:, file NAME DIGEST
 *   packages.txt  "interpreter python V", "python NAME V", "dpkg NAME V"
 *   image.txt     image:, digest:, runtime: (or "none")
 *   system.txt    os:, kernel:, arch:, cpu:, cpus:, gpu:
 *   environ.txt   NAME=VALUE, sorted; credentials removed
 * Every file is UTF-8 text of at most ENVSNAP_FILE_MAX bytes.
 *
 * Errors: 0 or -errno.  Threads: any; nothing shared.
 */
#ifndef ARTIFACTFS_FS_ENVSNAP_I_H
#define ARTIFACTFS_FS_ENVSNAP_I_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli_i.h"

#define ENVSNAP_FILE_MAX    (120u << 10)
#define ENVSNAP_SCRIPT_MAX  (64u << 20) /* bytes of a file to digest */
#define ENVSNAP_DPKG_STATUS "/var/lib/dpkg/status"

enum envsnap_file {
	ENVSNAP_CODE,
	ENVSNAP_PACKAGES,
	ENVSNAP_IMAGE,
	ENVSNAP_SYSTEM,
	ENVSNAP_ENVIRON,
	ENVSNAP_N,
};

/* The file names, in enum order. */
extern const char *const envsnap_names[ENVSNAP_N];

/* A growing text buffer; oom set once a growth failed. */
struct envsnap_buf {
	char *p;
	size_t len, cap;
	bool oom;
};

void envsnap_add(struct envsnap_buf *b, const void *p, size_t n);
void envsnap_printf(struct envsnap_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/** Makes b valid UTF-8 text without NUL (other bytes become '?') of at
 * most ENVSNAP_FILE_MAX bytes (cut at a line, "[cut]" added). */
void envsnap_clean(struct envsnap_buf *b);

struct envsnap {
	struct envsnap_buf f[ENVSNAP_N];
};

/**
 * Captures the environment CMD (cmd, NULL-terminated) is about to run in,
 * from this process: its environment without the variables named in drop
 * (NULL-terminated, may be NULL) and with credentials' values removed.
 * Returns 0 or -ENOMEM; anything not found is written as "none".
 */
int fs_envsnap_capture(char **cmd, const char *const *drop,
		       struct envsnap *out);

void fs_envsnap_release(struct envsnap *e);

/** The bundle the daemon gets ("NAME LEN\n" then LEN bytes, per file):
 * malloc'd, NUL-ended, into *out.  0 or -ENOMEM. */
int fs_envsnap_encode(const struct envsnap *e, char **out);

/** Splits a bundle into its files (pointing into bundle, lengths in
 * len[]); each name one of envsnap_names, at most once.  0 or -EINVAL. */
int fs_envsnap_decode(const char *bundle, size_t blen,
		      const char *data[ENVSNAP_N], size_t len[ENVSNAP_N]);

/* ------------------------------------------------ stored snapshots */

/** Reads the stored snapshot of step p/r/s into e (a missing file is
 * empty).  -ENOENT when the step has none. */
int fs_envsnap_load(struct store *s, const char *p, const char *r,
		    const char *step, struct envsnap *e);

/** The artifactfs_environment facet's fields for step p/r/s (a new
 * reference into *out): digest, code, image, system, python, dpkgPackages
 * and, from the run's notes, cacheKey and cachedFrom.  -ENOENT when the
 * step has no snapshot (no facet then). */
typedef struct json_t json_t;
int fs_envsnap_facet(struct store *s, const char *p, const char *r,
		     const char *step, json_t **out);

#endif
