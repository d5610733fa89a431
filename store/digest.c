/*
 * digest.c - SHA-256 digests (OpenSSL EVP) and their text form.
 */
#include "store.h"

#include <errno.h>
#include <openssl/evp.h>
#include <string.h>

void store_digest_format(const uint8_t digest[STORE_DIGEST_LEN], char *out)
{
	static const char hex[] = "0123456789abcdef";

	memcpy(out, "sha256:", 7);
	for (size_t i = 0; i < STORE_DIGEST_LEN; i++) {
		out[7 + 2 * i] = hex[digest[i] >> 4];
		out[8 + 2 * i] = hex[digest[i] & 15];
	}
	out[7 + 2 * STORE_DIGEST_LEN] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int store_digest_parse(const char *s, uint8_t out[STORE_DIGEST_LEN])
{
	if (strncmp(s, "sha256:", 7) == 0)
		s += 7;
	if (strlen(s) != 2 * STORE_DIGEST_LEN)
		return -EINVAL;
	for (size_t i = 0; i < STORE_DIGEST_LEN; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int store_digest_buf(const void *buf, size_t len, uint8_t out[STORE_DIGEST_LEN])
{
	unsigned int n = 0;

	if (!EVP_Digest(buf, len, out, &n, EVP_sha256(), NULL) ||
	    n != STORE_DIGEST_LEN) {
		store_log(STORE_LOG_ERR, "SHA-256 failed (OpenSSL)");
		return -EIO;
	}
	return 0;
}
