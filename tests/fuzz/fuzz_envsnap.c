/*
 * fuzz_envsnap.c - libFuzzer target for the bundle that carries a step's
 * environment snapshot from a command to the mount daemon through its
 * socket (fs_envsnap_decode, fs/cli/envsnap.c): any local user can send
 * one.  What decodes must point inside the input and re-encode
 * (fs_envsnap_encode) to a bundle that decodes to the same files;
 * nothing may crash, leak or read out of bounds.
 */
#include "envsnap_i.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_files(const char *a[ENVSNAP_N], const size_t alen[ENVSNAP_N],
		       const char *b[ENVSNAP_N], const size_t blen[ENVSNAP_N])
{
	for (int i = 0; i < ENVSNAP_N; i++)
		if (alen[i] != blen[i] || memcmp(a[i], b[i], alen[i]) != 0)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *f[ENVSNAP_N], *g[ENVSNAP_N];
	size_t len[ENVSNAP_N], glen[ENVSNAP_N], total = 0;
	struct envsnap e;
	char *out;

	if (fs_envsnap_decode((const char *)data, size, f, len) != 0)
		return 0;
	memset(&e, 0, sizeof(e));
	for (int i = 0; i < ENVSNAP_N; i++) {
		const uint8_t *p = (const uint8_t *)f[i];

		if (len[i] && (p < data || p + len[i] > data + size))
			abort(); /* a file outside the bundle */
		envsnap_add(&e.f[i], f[i], len[i]);
		total += (size_t)snprintf(NULL, 0, "%s %zu\n", envsnap_names[i],
					  len[i]) +
			 len[i];
	}
	if (fs_envsnap_encode(&e, &out) != 0)
		abort();
	if (fs_envsnap_decode(out, total, g, glen) != 0)
		abort();
	same_files(f, len, g, glen);
	free(out);
	fs_envsnap_release(&e);
	return 0;
}
