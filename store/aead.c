/*
 * aead.c - AES-256-GCM (OpenSSL EVP), the authenticated encryption that
 * acl/ seals secret values with before they reach the store.
 *
 * Only the primitive lives here, because OpenSSL stays in store/: which
 * key, which nonce, what is bound as associated data and how the pieces
 * are laid out is the caller's business (acl/secret.c).  Nothing here
 * keeps, logs or stores a plaintext or a key.
 */
#include "store_i.h"

#include <errno.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

/* One direction of GCM over in[0..len): out gets len bytes.  enc: tag is
 * written; else tag is checked, and a mismatch is -EBADMSG. */
static int gcm(bool enc, const uint8_t key[STORE_AEAD_KEY_LEN],
	       const uint8_t iv[STORE_AEAD_IV_LEN], const void *aad,
	       size_t aadlen, const void *in, size_t len, void *out,
	       uint8_t tag[STORE_AEAD_TAG_LEN])
{
	EVP_CIPHER_CTX *c;
	uint8_t fin[16];
	int n, ok, rc = -EIO;

	if (len > INT_MAX || aadlen > INT_MAX)
		return -EFBIG;
	c = EVP_CIPHER_CTX_new();
	if (!c)
		return -ENOMEM;
	ok = EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) ==
		 1 &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, STORE_AEAD_IV_LEN,
				 NULL) == 1 &&
	     EVP_CipherInit_ex(c, NULL, NULL, key, iv, enc) == 1 &&
	     (aadlen == 0 ||
	      EVP_CipherUpdate(c, NULL, &n, aad, (int)aadlen) == 1) &&
	     (len == 0 || EVP_CipherUpdate(c, out, &n, in, (int)len) == 1) &&
	     (enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG,
					 STORE_AEAD_TAG_LEN, tag) == 1);
	if (!ok) {
		store_log(STORE_LOG_ERR, "AES-256-GCM: OpenSSL failed");
		goto out_free;
	}
	/* GCM has no padding: Final adds no bytes, and for a decryption it
	 * is where the tag is checked. */
	if (EVP_CipherFinal_ex(c, fin, &n) != 1) {
		rc = enc ? -EIO : -EBADMSG;
		if (enc)
			store_log(STORE_LOG_ERR, "AES-256-GCM: OpenSSL failed");
		goto out_free;
	}
	rc = 0;
	if (enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG,
				       STORE_AEAD_TAG_LEN, tag) != 1) {
		store_log(STORE_LOG_ERR, "AES-256-GCM: cannot read the tag");
		rc = -EIO;
	}
out_free:
	/* Bytes that failed authentication are not handed out. */
	if (rc && len)
		OPENSSL_cleanse(out, len);
	EVP_CIPHER_CTX_free(c);
	ERR_clear_error();
	return rc;
}

int store_aead_encrypt(const uint8_t key[STORE_AEAD_KEY_LEN],
		       const uint8_t iv[STORE_AEAD_IV_LEN], const void *aad,
		       size_t aadlen, const void *in, size_t len, void *out,
		       uint8_t tag[STORE_AEAD_TAG_LEN])
{
	return gcm(true, key, iv, aad, aadlen, in, len, out, tag);
}

int store_aead_decrypt(const uint8_t key[STORE_AEAD_KEY_LEN],
		       const uint8_t iv[STORE_AEAD_IV_LEN], const void *aad,
		       size_t aadlen, const void *in, size_t len, void *out,
		       const uint8_t tag[STORE_AEAD_TAG_LEN])
{
	uint8_t t[STORE_AEAD_TAG_LEN];

	memcpy(t, tag, sizeof(t));
	return gcm(false, key, iv, aad, aadlen, in, len, out, t);
}
