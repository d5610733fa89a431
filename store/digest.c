/*
 * digest.c - SHA-256 digests (OpenSSL EVP) and their text form.
 */
#include "store.h"

#include <errno.h>
#include <openssl/evp.h>
#include <string.h>

void store_hex_encode(const uint8_t *p, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 15];
	}
	out[2 * n] = '\0';
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

int store_hex_decode(const char *s, uint8_t *out, size_t n)
{
	if (!s || strlen(s) != 2 * n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

void store_digest_format(const uint8_t digest[STORE_DIGEST_LEN], char *out)
{
	memcpy(out, "sha256:", 7);
	store_hex_encode(digest, STORE_DIGEST_LEN, out + 7);
}

int store_digest_parse(const char *s, uint8_t out[STORE_DIGEST_LEN])
{
	if (strncmp(s, "sha256:", 7) == 0)
		s += 7;
	return store_hex_decode(s, out, STORE_DIGEST_LEN);
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
