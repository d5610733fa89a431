/*
 * sign.c - Ed25519 signatures (OpenSSL) and the journal's head, for
 * checkpoints and exports that are checked outside the store.
 *
 * The HMAC of the journal proves nothing to someone without its key, and
 * a chain alone cannot tell a short journal from a cut one.  A signature
 * over the head (a checkpoint) or over an export's bytes, made with a
 * private key that stays with the store's owner, can be checked by anyone
 * holding only the public key.  Keys are PEM files (PKCS#8 private key,
 * SubjectPublicKeyInfo public key) so that the openssl tool reads them too.
 *
 * The record and head keys of CF_AUDIT are read here as FORMAT.md
 * ("Audit journal") lays them out; audit.c writes them.
 */
#include "store_i.h"

#include <errno.h>
#include <limits.h>
#include <inttypes.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEAD_LEN (8 + AUDIT_HASH_LEN)

/* ---------------------------------------------------------------- keys */

/* Writes k (PEM) to a temporary file beside path, then links it into
 * place, so that path never exists half written and an existing path is
 * never replaced (-EEXIST). */
static int pem_write(const char *path, mode_t mode, EVP_PKEY *k, bool priv)
{
	char tmp[4200];
	FILE *f;
	int fd, ok, rc = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkstemp(tmp);
	if (fd < 0 || fchmod(fd, mode) < 0 || !(f = fdopen(fd, "w"))) {
		rc = -errno;
		store_log(STORE_LOG_ERR, "cannot create %s: %s", path,
			  strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		return rc;
	}
	ok = priv ? PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL)
		  : PEM_write_PUBKEY(f, k);
	if (!ok || fflush(f) == EOF || fsync(fd) < 0)
		rc = -EIO;
	if (fclose(f) == EOF && !rc)
		rc = -EIO;
	if (!rc && link(tmp, path) < 0)
		rc = -errno;
	unlink(tmp);
	if (rc && rc != -EEXIST)
		store_log(STORE_LOG_ERR, "cannot write key %s: %s", path,
			  strerror(-rc));
	ERR_clear_error();
	return rc;
}

int store_sign_keygen(const char *priv_path, const char *pub_path)
{
	EVP_PKEY *k = NULL;
	int rc;

	if (access(priv_path, F_OK) == 0 || access(pub_path, F_OK) == 0)
		return -EEXIST;
	k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!k) {
		store_log(STORE_LOG_ERR, "Ed25519 key generation failed "
					 "(OpenSSL)");
		ERR_clear_error();
		return -EIO;
	}
	/* The private key first: whoever finds it may sign at once. */
	rc = pem_write(priv_path, 0600, k, true);
	if (!rc) {
		rc = pem_write(pub_path, 0644, k, false);
		if (rc)
			unlink(priv_path);
	}
	EVP_PKEY_free(k);
	return rc;
}

/* Reads an Ed25519 key (private or public) from a PEM file.  -errno when
 * it cannot be read, -EINVAL when it holds no Ed25519 key; both logged. */
static int pem_read(const char *path, bool priv, EVP_PKEY **out)
{
	FILE *f = fopen(path, "re");
	EVP_PKEY *k = NULL;
	int rc;

	if (!f) {
		rc = -errno;
		store_log(STORE_LOG_ERR, "cannot read key %s: %s", path,
			  strerror(errno));
		return rc;
	}
	k = priv ? PEM_read_PrivateKey(f, NULL, NULL, NULL)
		 : PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	ERR_clear_error();
	if (!k || !EVP_PKEY_is_a(k, "ED25519")) {
		EVP_PKEY_free(k);
		store_log(STORE_LOG_ERR, "%s is not an Ed25519 %s key (PEM)",
			  path, priv ? "private" : "public");
		return -EINVAL;
	}
	*out = k;
	return 0;
}

/* ----------------------------------------------------------- signatures */

int store_sign(const char *priv_path, const void *msg, size_t len,
	       uint8_t sig[STORE_SIG_LEN])
{
	EVP_MD_CTX *ctx;
	EVP_PKEY *k = NULL;
	size_t n = STORE_SIG_LEN;
	int rc = pem_read(priv_path, true, &k);

	if (rc)
		return rc;
	ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestSignInit(ctx, NULL, NULL, NULL, k) != 1 ||
	    EVP_DigestSign(ctx, sig, &n, msg, len) != 1 || n != STORE_SIG_LEN) {
		store_log(STORE_LOG_ERR, "Ed25519 signing failed (OpenSSL)");
		ERR_clear_error();
		rc = -EIO;
	}
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(k);
	return rc;
}

/* Checks sig over msg with public key k (freed). */
static int verify_with(EVP_PKEY *k, const void *msg, size_t len,
		       const uint8_t sig[STORE_SIG_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int rc;

	if (!ctx || EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k) != 1) {
		store_log(STORE_LOG_ERR, "Ed25519 verification failed "
					 "(OpenSSL)");
		rc = -EIO;
	} else {
		/* 0 is a wrong signature, not a failure of ours. */
		rc = EVP_DigestVerify(ctx, sig, STORE_SIG_LEN, msg, len) == 1
			 ? 0
			 : -EBADMSG;
	}
	ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(k);
	return rc;
}

int store_sign_verify(const char *pub_path, const void *msg, size_t len,
		      const uint8_t sig[STORE_SIG_LEN])
{
	EVP_PKEY *k = NULL;
	int rc = pem_read(pub_path, false, &k);

	return rc ? rc : verify_with(k, msg, len, sig);
}

int store_sign_verify_pem(const void *pem, size_t pem_len, const char *name,
			  const void *msg, size_t len,
			  const uint8_t sig[STORE_SIG_LEN])
{
	BIO *b = pem_len <= INT_MAX ? BIO_new_mem_buf(pem, (int)pem_len) : NULL;
	EVP_PKEY *k = b ? PEM_read_bio_PUBKEY(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	ERR_clear_error();
	if (!k || !EVP_PKEY_is_a(k, "ED25519")) {
		EVP_PKEY_free(k);
		store_log(STORE_LOG_ERR,
			  "%s is not an Ed25519 public key (PEM)", name);
		return -EINVAL;
	}
	return verify_with(k, msg, len, sig);
}

/* ------------------------------------------------------ the journal head */

int store_audit_head(struct store *s, uint64_t *seq,
		     uint8_t hash[STORE_DIGEST_LEN])
{
	void *v;
	size_t len;
	int rc = db_get(s->db, CF_AUDIT, KEY_AUDIT_HEAD, KEY_AUDIT_HEAD_LEN, &v,
			&len);

	*seq = 0;
	memset(hash, 0, STORE_DIGEST_LEN);
	if (rc == -ENOENT)
		return 0; /* an empty journal */
	if (rc)
		return rc;
	if (len != HEAD_LEN) {
		free(v);
		store_log(STORE_LOG_ERR, "audit journal: the head is "
					 "malformed");
		return -EIO;
	}
	*seq = be64_get(v);
	memcpy(hash, (uint8_t *)v + 8, STORE_DIGEST_LEN);
	free(v);
	return 0;
}

int store_audit_record_hash(struct store *s, uint64_t seq,
			    uint8_t hash[STORE_DIGEST_LEN])
{
	uint8_t k[KEY_AUDIT_REC_LEN];
	void *v;
	size_t len;
	int rc;

	rc = db_get(s->db, CF_AUDIT, k, key_audit_rec(k, seq), &v, &len);
	if (rc)
		return rc;
	rc = store_digest_buf(v, len, hash);
	free(v);
	return rc;
}

/* ------------------------------------------------------ the nodes' lanes */

struct lanes {
	store_lane_fn fn;
	void *arg;
};

static int lane_head(void *arg, const void *key, size_t klen, const void *val,
		     size_t vlen)
{
	struct lanes *l = arg;
	char node[2 * AUDIT_NODE_LEN + 1];

	if (klen != KEY_AUDIT_LANE_HEAD_LEN || vlen != HEAD_LEN) {
		store_log(STORE_LOG_ERR, "audit journal: a node's lane head "
					 "is malformed");
		return -EIO;
	}
	store_hex_encode((const uint8_t *)key + 1, AUDIT_NODE_LEN, node);
	return l->fn(l->arg, node, be64_get(val), (const uint8_t *)val + 8);
}

int store_audit_lane_heads(struct store *s, store_lane_fn fn, void *arg)
{
	struct lanes l = {fn, arg};
	uint8_t tag = KEY_AUDIT_LANE_HEAD;

	return db_scan(s->db, CF_AUDIT, &tag, 1, lane_head, &l);
}

int store_audit_lane_record_hash(struct store *s, const char *node,
				 uint64_t seq, uint8_t hash[STORE_DIGEST_LEN])
{
	uint8_t k[KEY_AUDIT_LANE_LEN];
	void *v;
	size_t len;
	int rc;

	k[0] = KEY_AUDIT_LANE;
	if (store_hex_decode(node, k + 1, AUDIT_NODE_LEN))
		return -EINVAL;
	be64_put(k + 1 + AUDIT_NODE_LEN, seq);
	rc = db_get(s->db, CF_AUDIT, k, sizeof(k), &v, &len);
	if (rc)
		return rc;
	rc = store_digest_buf(v, len, hash);
	free(v);
	return rc;
}
