/*
 * fuzz_names.c - libFuzzer target for refs, paths and principals as they
 * come from users (command lines, socket calls) and from stored role
 * bindings: store_spec_parse, store_name_check, store_binding_scope_check,
 * store_digest_parse, store_hex_decode, acl_principal_parse,
 * acl_principal_name and acl_role_valid.  The input is one NUL-terminated
 * string (bytes after a first NUL are cut).  Nothing may crash or read
 * out of bounds, and what is accepted must be well formed.
 */
#include "acl.h"
#include "store.h"
#include "throwaway.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void spec(const char *s)
{
	char artifact[STORE_NAME_MAX + 1], ref[STORE_NAME_MAX + 1];
	const char *path;

	if (store_spec_parse(s, artifact, ref, &path) != 0)
		return;
	if (store_name_check(artifact, strlen(artifact)) ||
	    store_name_check(ref, strlen(ref)) || path < s ||
	    path > s + strlen(s) || *path == '/')
		abort();
}

static void hex(const char *s)
{
	uint8_t d[STORE_DIGEST_LEN], sig[STORE_SIG_LEN];
	char back[STORE_DIGEST_STR_LEN];

	if (store_digest_parse(s, d) == 0) {
		store_digest_format(d, back);
		if (strncmp(back, "sha256:", 7) != 0)
			abort();
	}
	store_hex_decode(s, sig, sizeof(sig));
	store_hex_decode(s, d, 1);
}

static void principal(const char *s)
{
	char p[ACL_PRINCIPAL_MAX], name[ACL_NAME_MAX + 1];

	if (acl_principal_parse(s, p) == 0 && p[0] != 'u' && p[0] != 'g')
		abort();
	acl_principal_name(s, name);
	acl_role_valid(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	fuzz_quiet();
	store_name_check(s, size);
	store_name_check(s, strlen(s));
	store_binding_scope_check(s);
	spec(s);
	hex(s);
	principal(s);
	free(s);
	return 0;
}
