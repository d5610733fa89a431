/*
 * signed.c - what proves the journal to someone without its key: signed
 * checkpoints of its head and signed exports of its records.
 *
 * A chain cannot show that its tail was cut off (with the head rewritten
 * to name the new last record), and its HMAC proves nothing to whoever
 * lacks the key.  So a checkpoint signs the head (Ed25519, the key pair
 * beside the journal key, made on first use); kept outside the store, it
 * later proves that the journal still extends it.  An export signs the
 * SHA-256 of its JSON Lines, so that it can be checked with nothing but
 * the public key.
 *
 * Signed strings (one line, no newline; hex is lowercase):
 *   checkpoint  "artifactfs-checkpoint v1 <store id> <seq> <hex hash>"
 *               or, for a store shared by nodes, v2: the same and, for
 *               each node's lane of the journal, " <node>:<seq>:<hex hash>"
 *               (its head then), so that a lane cut off is found too
 *   export      "artifactfs-export v1 <hex SHA-256 of the records>"
 *
 * Files are the caller's business (fs/ reads and writes them with the
 * rights of whoever asked): everything here works on bytes.
 */
#include "acl_i.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SIG_HEX_LEN  (2 * STORE_SIG_LEN)
#define MSG_MAX	     256
#define NODE_HEX_LEN 32 /* a node's id in a lane */

/* j rendered with two-space indents and a final newline into *out. */
static int render(json_t *j, char **out, size_t *len)
{
	char *text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
	int n = text ? asprintf(out, "%s\n", text) : -1;

	json_decref(j);
	free(text);
	if (n < 0) {
		*out = NULL; /* asprintf leaves it undefined */
		return -ENOMEM;
	}
	*len = (size_t)n;
	return 0;
}

/* Parses text as one JSON object; -EINVAL (logged, naming name). */
static int parse(const char *text, size_t len, const char *name, json_t **out)
{
	json_error_t err;

	*out = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
	if (json_is_object(*out))
		return 0;
	json_decref(*out);
	*out = NULL;
	store_log(STORE_LOG_ERR, "%s: not a JSON object", name);
	return -EINVAL;
}

/* Logs a problem found and, when why is not NULL and still empty, keeps
 * its text there too (what a verification tells its caller). */
__attribute__((format(printf, 3, 4))) static void
problem(char *why, size_t size, const char *fmt, ...)
{
	char line[ACL_WHY_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	store_log(STORE_LOG_ERR, "%s", line);
	if (why && size && !*why)
		snprintf(why, size, "%s", line);
}

/* Checks sig over msg with key, or with s's own public key; a mismatch
 * goes to why (may be NULL). */
static int verify(struct store *s, const struct acl_pubkey *key,
		  const char *name, const char *msg,
		  const uint8_t sig[STORE_SIG_LEN], char *why, size_t size)
{
	char priv[ACL_PATH_MAX], pub[ACL_PATH_MAX];
	int rc;

	if (key)
		rc = store_sign_verify_pem(key->pem, key->len, key->name, msg,
					   strlen(msg), sig);
	else if (!s)
		rc = -EINVAL;
	else if (!(rc = acl_sign_key(s, false, priv, pub)))
		rc = store_sign_verify(pub, msg, strlen(msg), sig);
	if (rc == -EBADMSG)
		problem(why, size, "%s: signature does not match %s", name,
			key ? key->name : pub);
	return rc;
}

int journal_verify(struct store *s, uint64_t *checked, char *why, size_t size)
{
	uint64_t bad = 0;
	char what[128] = "";
	int rc = store_audit_verify(s, checked, &bad, what);

	if (rc == -ENOKEY)
		problem(why, size, "this store keeps no audit journal");
	else if (rc == -EBADMSG)
		problem(why, size, "journal broken: %s", what);
	return rc;
}

int acl_journal_verify(struct store *s, uint64_t *checked)
{
	return journal_verify(s, checked, NULL, 0);
}

/* ------------------------------------------------------- checkpoints */

struct checkpoint {
	const char *store; /* borrowed from the parsed document */
	uint64_t seq;
	uint8_t hash[STORE_DIGEST_LEN];
	uint8_t sig[STORE_SIG_LEN];
	json_t *lanes; /* borrowed; NULL or [] in a v1 checkpoint */
};

/* The signed string: v1 names the main chain's head; v2, of a store
 * shared by nodes, adds each node's lane head as " node:seq:hash" in
 * lanes' order (json [{node, seq, head}], already checked).  malloc'd,
 * NULL for want of memory (or past any length a store makes). */
static char *checkpoint_msg(const char *id, uint64_t seq,
			    const uint8_t hash[STORE_DIGEST_LEN], json_t *lanes)
{
	size_t n = json_array_size(lanes), cap = 256 + n * 128, at;
	char d[STORE_DIGEST_STR_LEN], *msg = malloc(cap);
	json_t *l;
	size_t i;

	if (!msg)
		return NULL;
	store_digest_format(hash, d);
	at = (size_t)snprintf(msg, cap, "artifactfs-checkpoint v%d %s %llu %s",
			      n ? 2 : 1, id, (unsigned long long)seq,
			      d + strlen("sha256:"));
	json_array_foreach(lanes, i, l)
	{
		const char *head =
		    json_string_value(json_object_get(l, "head"));

		if (at >= cap)
			break;
		at += (size_t)snprintf(
		    msg + at, cap - at, " %s:%lld:%s",
		    json_string_value(json_object_get(l, "node")),
		    (long long)json_integer_value(json_object_get(l, "seq")),
		    head + strlen("sha256:"));
	}
	/* Longer than any store id and lanes make it: not ours to sign. */
	if (at >= cap) {
		free(msg);
		return NULL;
	}
	return msg;
}

/* Record seq of the journal must still have hash (the head read before
 * a verification names the verified record); an empty journal has
 * nothing to sign. */
static int head_check(struct store *s, uint64_t seq,
		      const uint8_t hash[STORE_DIGEST_LEN])
{
	uint8_t h[STORE_DIGEST_LEN];
	int rc;

	if (!seq) {
		store_log(STORE_LOG_ERR, "the journal is empty: nothing to "
					 "checkpoint");
		return -ENODATA;
	}
	rc = store_audit_record_hash(s, seq, h);
	if (!rc && memcmp(h, hash, sizeof(h)) != 0)
		rc = -ENOENT;
	if (rc == -ENOENT) {
		store_log(STORE_LOG_ERR,
			  "journal broken at the head: record %llu differs",
			  (unsigned long long)seq);
		rc = -EBADMSG;
	}
	return rc;
}

/* "2026-11-26T20:30:00Z" now. */
static void now_iso(char out[32])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Adds one lane head to the json array arg. */
static int lane_add(void *arg, const char *node, uint64_t seq,
		    const uint8_t hash[STORE_DIGEST_LEN])
{
	char d[STORE_DIGEST_STR_LEN];

	store_digest_format(hash, d);
	return json_array_append_new(arg, json_pack("{s:s, s:I, s:s}", "node",
						    node, "seq",
						    (json_int_t)seq, "head", d))
		   ? -ENOMEM
		   : 0;
}

int acl_checkpoint_sign(struct store *s, uint64_t seq,
			const uint8_t hash[STORE_DIGEST_LEN], char *pub,
			char **out, size_t *len)
{
	char priv[ACL_PATH_MAX], pubpath[ACL_PATH_MAX], *msg = NULL;
	char d[STORE_DIGEST_STR_LEN], when[32], hex[SIG_HEX_LEN + 1];
	uint8_t sig[STORE_SIG_LEN];
	json_t *lanes = json_array(), *doc;
	int rc = lanes ? head_check(s, seq, hash) : -ENOMEM;

	*out = NULL;
	if (!rc)
		rc = acl_sign_key(s, true, priv, pub ? pub : pubpath);
	/* The lanes as they are now: their records were verified with the
	 * main chain, or were added since and a later verification checks
	 * them against this checkpoint. */
	if (rc >= 0)
		rc = store_audit_lane_heads(s, lane_add, lanes);
	if (!rc && !(msg = checkpoint_msg(store_id(s), seq, hash, lanes)))
		rc = -ENOMEM;
	if (!rc)
		rc = store_sign(priv, msg, strlen(msg), sig);
	free(msg);
	if (rc < 0) {
		json_decref(lanes);
		return rc;
	}
	now_iso(when);
	store_digest_format(hash, d);
	store_hex_encode(sig, STORE_SIG_LEN, hex);
	doc = json_pack("{s:s, s:I, s:s, s:s, s:s}", "store", store_id(s),
			"seq", (json_int_t)seq, "head", d, "time", when,
			"signature", hex);
	if (doc && json_array_size(lanes))
		json_object_set(doc, "lanes", lanes);
	json_decref(lanes);
	return render(doc, out, len);
}

/* A lane of a checkpoint: {node (32 lowercase hex), seq >= 1, head}. */
static bool lane_ok(json_t *l)
{
	const char *node = NULL, *head = NULL;
	uint8_t b[STORE_DIGEST_LEN];
	json_int_t seq = 0;

	return !json_unpack(l, "{s:s, s:I, s:s}", "node", &node, "seq", &seq,
			    "head", &head) &&
	       seq > 0 && strlen(node) == NODE_HEX_LEN &&
	       !strpbrk(node, "ABCDEF") &&
	       !store_hex_decode(node, b, NODE_HEX_LEN / 2) &&
	       !strncmp(head, "sha256:", 7) && !store_digest_parse(head, b);
}

static int checkpoint_parse(json_t *root, const char *name,
			    struct checkpoint *c)
{
	const char *head = NULL, *sig = NULL;
	json_int_t seq = 0;
	size_t i;
	bool ok;

	c->lanes = NULL;
	ok = !json_unpack(root, "{s:s, s:I, s:s, s:s, s?o}", "store", &c->store,
			  "seq", &seq, "head", &head, "signature", &sig,
			  "lanes", &c->lanes) &&
	     seq > 0 && !store_digest_parse(head, c->hash) &&
	     !store_hex_decode(sig, c->sig, STORE_SIG_LEN) &&
	     (!c->lanes || json_is_array(c->lanes));
	for (i = 0; ok && i < json_array_size(c->lanes); i++)
		ok = lane_ok(json_array_get(c->lanes, i));
	if (!ok) {
		store_log(STORE_LOG_ERR, "%s is not an artifactfs checkpoint",
			  name);
		return -EINVAL;
	}
	c->seq = (uint64_t)seq;
	return 0;
}

/* The journal must still hold the checkpoint's record with its hash: a
 * journal cut off before it, or rewritten, does not. */
static int anchor_check(struct store *s, const char *name,
			const struct checkpoint *c, char *why, size_t size)
{
	uint8_t h[STORE_DIGEST_LEN];
	uint64_t last = 0;
	int rc = store_audit_record_hash(s, c->seq, h);

	if (rc == -ENOENT) {
		rc = store_audit_head(s, &last, h);
		if (!rc)
			problem(why, size,
				"journal cut off: %s names record %llu, the "
				"journal ends at record %llu",
				name, (unsigned long long)c->seq,
				(unsigned long long)last);
		return rc ? rc : -EBADMSG;
	}
	if (!rc && memcmp(h, c->hash, sizeof(h)) != 0) {
		problem(why, size,
			"journal rewritten: record %llu differs from %s",
			(unsigned long long)c->seq, name);
		rc = -EBADMSG;
	}
	return rc;
}

/* As anchor_check, for each node's lane the checkpoint names. */
static int lanes_check(struct store *s, const char *name,
		       const struct checkpoint *c, char *why, size_t size)
{
	uint8_t h[STORE_DIGEST_LEN], want[STORE_DIGEST_LEN];
	json_t *l;
	size_t i;
	int rc = 0;

	json_array_foreach(c->lanes, i, l)
	{
		const char *node =
		    json_string_value(json_object_get(l, "node"));
		uint64_t seq =
		    (uint64_t)json_integer_value(json_object_get(l, "seq"));

		store_digest_parse(
		    json_string_value(json_object_get(l, "head")), want);
		rc = store_audit_lane_record_hash(s, node, seq, h);
		if (rc == -ENOENT) {
			problem(why, size,
				"journal cut off: %s names record %llu of node "
				"%s's lane, which the lane lacks",
				name, (unsigned long long)seq, node);
			return -EBADMSG;
		}
		if (!rc && memcmp(h, want, sizeof(h)) != 0) {
			problem(why, size,
				"journal rewritten: record %llu of node %s's "
				"lane differs from %s",
				(unsigned long long)seq, node, name);
			return -EBADMSG;
		}
		if (rc)
			return rc;
	}
	return 0;
}

int checkpoint_check(struct store *s, const char *text, size_t len,
		     const char *name, const struct acl_pubkey *key,
		     uint64_t *checked, uint64_t *seq, char *why, size_t size)
{
	struct checkpoint c;
	char *msg = NULL;
	json_t *root;
	int rc = parse(text, len, name, &root);

	if (!rc)
		rc = checkpoint_parse(root, name, &c);
	if (!rc && strcmp(c.store, store_id(s)) != 0) {
		problem(why, size,
			"%s is a checkpoint of store %s, not of this one (%s)",
			name, c.store, store_id(s));
		rc = -EINVAL;
	}
	if (!rc && !(msg = checkpoint_msg(c.store, c.seq, c.hash, c.lanes)))
		rc = -ENOMEM;
	if (!rc)
		rc = verify(s, key, name, msg, c.sig, why, size);
	free(msg);
	if (!rc && checked)
		rc = journal_verify(s, checked, why, size);
	if (!rc)
		rc = anchor_check(s, name, &c, why, size);
	if (!rc)
		rc = lanes_check(s, name, &c, why, size);
	if (!rc && seq)
		*seq = c.seq;
	json_decref(root);
	return rc;
}

int acl_checkpoint_check(struct store *s, const char *text, size_t len,
			 const char *name, const struct acl_pubkey *key,
			 uint64_t *checked, uint64_t *seq)
{
	return checkpoint_check(s, text, len, name, key, checked, seq, NULL, 0);
}

/* ------------------------------------------------------------ exports */

int acl_export_sign(struct store *s, const void *data, size_t len,
		    const struct acl_export_range *r, char pub[ACL_PATH_MAX],
		    char **out, size_t *out_len)
{
	char priv[ACL_PATH_MAX], msg[MSG_MAX], hex[2 * STORE_DIGEST_LEN + 1];
	char sighex[SIG_HEX_LEN + 1];
	uint8_t d[STORE_DIGEST_LEN], sig[STORE_SIG_LEN];
	int rc = acl_sign_key(s, true, priv, pub);

	if (rc < 0)
		return rc;
	rc = store_digest_buf(len ? data : "", len, d);
	if (rc)
		return rc;
	store_hex_encode(d, sizeof(d), hex);
	snprintf(msg, sizeof(msg), "artifactfs-export v1 %s", hex);
	rc = store_sign(priv, msg, strlen(msg), sig);
	if (rc)
		return rc;
	store_hex_encode(sig, sizeof(sig), sighex);
	return render(json_pack("{s:s, s:I, s:I, s:I, s:s, s:s}", "store",
				store_id(s), "records", (json_int_t)r->records,
				"first_seq", (json_int_t)r->first, "last_seq",
				(json_int_t)r->last, "sha256", hex, "signature",
				sighex),
		      out, out_len);
}

/* The records' digest must be the signed one, and their count right. */
static int export_content(const char *sha, json_int_t records, const void *data,
			  size_t len, const char *name, uint64_t *lines)
{
	char hex[2 * STORE_DIGEST_LEN + 1];
	uint8_t d[STORE_DIGEST_LEN];
	const char *p = data;
	int rc = store_digest_buf(len ? data : "", len, d);

	if (rc)
		return rc;
	store_hex_encode(d, sizeof(d), hex);
	if (strcmp(hex, sha) != 0) {
		store_log(STORE_LOG_ERR, "%s was changed after signing", name);
		return -EBADMSG;
	}
	*lines = 0;
	for (size_t i = 0; i < len; i++)
		*lines += p[i] == '\n';
	if (records < 0 || (uint64_t)records != *lines) {
		store_log(STORE_LOG_ERR,
			  "the signature counts %lld records, %s holds %llu",
			  (long long)records, name, (unsigned long long)*lines);
		return -EBADMSG;
	}
	return 0;
}

int acl_export_verify(struct store *s, const char *sig_text, size_t sig_len,
		      const char *sig_name, const void *data, size_t len,
		      const char *name, const struct acl_pubkey *key,
		      uint64_t *records)
{
	const char *sighex = NULL, *sha = NULL;
	uint8_t sig[STORE_SIG_LEN];
	char msg[MSG_MAX];
	json_int_t n = 0;
	json_t *root;
	int rc = parse(sig_text, sig_len, sig_name, &root);

	if (rc)
		return rc;
	if (json_unpack(root, "{s:I, s:s, s:s}", "records", &n, "sha256", &sha,
			"signature", &sighex) ||
	    strlen(sha) != 2 * STORE_DIGEST_LEN ||
	    store_hex_decode(sighex, sig, STORE_SIG_LEN)) {
		store_log(STORE_LOG_ERR,
			  "%s is not an artifactfs export signature", sig_name);
		rc = -EINVAL;
	}
	if (!rc) {
		snprintf(msg, sizeof(msg), "artifactfs-export v1 %s", sha);
		rc = verify(s, key, sig_name, msg, sig, NULL, 0);
	}
	if (!rc)
		rc = export_content(sha, n, data, len, name, records);
	json_decref(root);
	return rc;
}
