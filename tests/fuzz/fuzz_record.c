/*
 * fuzz_record.c - libFuzzer target for the record values of the
 * namespace, meta and audit column families (FORMAT.md).  The first byte
 * picks the decoder, the rest is the stored value:
 *   'v' a version record        (version_decode)
 *   'r' a run record            (run_decode)
 *   'o' an outputs-tree entry   (output_entry_decode)
 *   's' the store counters      (stats_decode)
 *   'a' an audit journal record (audit_rec_decode)
 * any other byte feeds the value to all of them.  Nothing may crash,
 * leak or read out of bounds, and what decodes must be in range.
 */
#include "store_i.h"
#include "throwaway.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void version(const uint8_t *p, size_t n)
{
	struct store_version v;

	if (version_decode("a", 1, p, n, &v) == 0 &&
	    strnlen(v.run, sizeof(v.run)) == sizeof(v.run))
		abort();
}

static void run(const uint8_t *p, size_t n)
{
	struct store_run r;

	memset(&r, 0, sizeof(r));
	if (run_decode(p, n, &r) == 0 &&
	    (r.status < STORE_RUN_OPEN || r.status > STORE_RUN_FAILED))
		abort();
}

static void output(const uint8_t *p, size_t n)
{
	struct store_output o;

	if (output_entry_decode(p, n, "dir/name", &o) == 0 &&
	    (o.e.kind < STORE_KIND_FILE || o.e.kind > STORE_KIND_SYMLINK ||
	     strcmp(o.e.name, "name") != 0))
		abort();
}

static void stats(const uint8_t *p, size_t n)
{
	struct store_stats st;

	stats_decode(p, n, &st);
}

static void audit(const uint8_t *p, size_t n)
{
	struct audit_rec *r = malloc(sizeof(*r));

	if (!r)
		return;
	if (audit_rec_decode(p, n, r) == 0 &&
	    (strnlen(r->user, sizeof(r->user)) == sizeof(r->user) ||
	     strnlen(r->op, sizeof(r->op)) == sizeof(r->op) ||
	     strnlen(r->path, sizeof(r->path)) == sizeof(r->path) ||
	     strnlen(r->digest, sizeof(r->digest)) == sizeof(r->digest)))
		abort();
	free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data + 1;
	size_t n = size ? size - 1 : 0;

	fuzz_quiet();
	if (!size)
		return 0;
	switch (data[0]) {
	case 'v':
		version(p, n);
		break;
	case 'r':
		run(p, n);
		break;
	case 'o':
		output(p, n);
		break;
	case 's':
		stats(p, n);
		break;
	case 'a':
		audit(p, n);
		break;
	default:
		version(p, n);
		run(p, n);
		output(p, n);
		stats(p, n);
		audit(p, n);
	}
	return 0;
}
