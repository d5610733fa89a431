/*
 * fuzz_acl.c - libFuzzer target for what acl/ reads from outside or from
 * disk, on the throwaway store.  The first byte picks the decoder:
 *   'c' a signed checkpoint document (acl_checkpoint_check)
 *   'e' an export signature document, a NUL, then the export's records
 *       (acl_export_verify)
 *   's' a stored secret: the secrets value (format byte, then the
 *       envelope: format, nonce, ciphertext, tag) put raw under secret
 *       "k" and opened (acl_secret_read)
 * any other byte feeds the rest to all three.  Signatures are checked
 * with the public key in fuzz_key.h, whose seeds (corpus/acl) verify, so
 * that the fuzzer gets past the signature to the journal checks.
 * Nothing may crash, leak or read out of bounds.
 */
#include "acl.h"
#include "fuzz_key.h"
#include "store_i.h"
#include "throwaway.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct acl_pubkey key = {FUZZ_SIGN_PUB, sizeof(FUZZ_SIGN_PUB) - 1,
				      "fuzz_key.h"};

static void checkpoint(struct store *s, const uint8_t *p, size_t n)
{
	uint64_t checked, seq;

	acl_checkpoint_check(s, (const char *)p, n, "checkpoint", &key,
			     &checked, &seq);
	acl_checkpoint_check(s, (const char *)p, n, "checkpoint", &key, NULL,
			     NULL);
}

static void export(struct store *s, const uint8_t *p, size_t n)
{
	const uint8_t *nul = memchr(p, 0, n);
	size_t sl = nul ? (size_t)(nul - p) : n;
	uint64_t records;

	acl_export_verify(s, (const char *)p, sl, "export.sig",
			  nul ? nul + 1 : p + n, nul ? n - sl - 1 : 0,
			  "export.jsonl", &key, &records);
}

static void secret(struct store *s, const uint8_t *p, size_t n)
{
	static const uint8_t k[] = {KEY_SECRET, 'k'};
	uint8_t *val;
	size_t len;
	void *old;
	size_t olen;

	if (db_get(s->db, CF_SECRETS, k, sizeof(k), &old, &olen))
		abort(); /* the throwaway store has secret "k" */
	db_put(s->db, CF_SECRETS, k, sizeof(k), p, n);
	if (acl_secret_read(s, "k", 0, &val, &len, NULL) == 0) {
		if (val[len] != '\0')
			abort();
		free(val);
	}
	db_put(s->db, CF_SECRETS, k, sizeof(k), old, olen);
	free(old);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct store *s = fuzz_store();
	const uint8_t *p = data + 1;
	size_t n = size ? size - 1 : 0;

	if (!size)
		return 0;
	switch (data[0]) {
	case 'c':
		checkpoint(s, p, n);
		break;
	case 'e':
		export(s, p, n);
		break;
	case 's':
		secret(s, p, n);
		break;
	default:
		checkpoint(s, p, n);
		export(s, p, n);
		secret(s, p, n);
	}
	return 0;
}
