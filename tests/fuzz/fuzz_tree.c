/*
 * fuzz_tree.c - libFuzzer target for the manifests column family: a file
 * manifest (manifest_decode) and a directory listing (dir_decode), both
 * tried on every input.  What decodes must re-encode to the same bytes
 * (compared decoded: a varint has more than one spelling), a listing's
 * names must be names (store_name_check: no "", ".", "..", '/' or control
 * bytes reach a directory read) in strictly ascending order (lookups
 * bisect); nothing may crash, leak or read out of bounds.
 */
#include "store_i.h"
#include "throwaway.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same(const void *a, size_t alen, const void *b, size_t blen)
{
	if (alen != blen || memcmp(a, b, alen) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest m;
	struct dirlist d;
	void *out;
	size_t len;

	fuzz_quiet();
	if (manifest_decode(data, size, &m) == 0) {
		struct manifest again;

		if (manifest_encode(&m, &out, &len) != 0)
			abort();
		if (manifest_decode(out, len, &again) != 0 || again.n != m.n ||
		    again.size != m.size)
			abort();
		for (size_t i = 0; i < m.n; i++)
			same(&again.chunks[i], sizeof(again.chunks[i]),
			     &m.chunks[i], sizeof(m.chunks[i]));
		manifest_release(&again);
		free(out);
		manifest_release(&m);
	}
	if (dir_decode(data, size, &d) == 0) {
		struct dirlist again;

		for (size_t i = 0; i < d.n; i++)
			if (store_name_check(d.e[i].name,
					     strlen(d.e[i].name)) ||
			    (i && strcmp(d.e[i - 1].name, d.e[i].name) >= 0))
				abort();

		if (dir_encode(&d, &out, &len) != 0)
			abort();
		if (dir_decode(out, len, &again) != 0 || again.n != d.n)
			abort();
		for (size_t i = 0; i < d.n; i++)
			if (strcmp(again.e[i].name, d.e[i].name) ||
			    again.e[i].kind != d.e[i].kind ||
			    again.e[i].mode != d.e[i].mode ||
			    again.e[i].size != d.e[i].size ||
			    memcmp(again.e[i].digest, d.e[i].digest,
				   STORE_DIGEST_LEN))
				abort();
		dir_release(&again);
		free(out);
		dir_release(&d);
	}
	return 0;
}
