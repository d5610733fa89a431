/*
 * ctl_wire_call.c - encoding and decoding of the typed calls ('c') and
 * their results ('a') on the command socket.
 *
 * A call names one run operation and carries its operands as typed JSON
 * members, so neither side builds or parses a command line.  Like every
 * decoder of ctl_wire.c, ctl_call_decode takes untrusted bytes: each
 * call admits exactly its own members, each of its own type, every name
 * passes store_name_check, and sizes are capped; anything else is
 * refused with a reason and nothing kept.
 */
#include "ctl_wire_i.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The members a call may carry. */
enum member {
	M_PIPELINE = 1 << 0,
	M_RUN = 1 << 1,
	M_STEP = 1 << 2,
	M_STEPS = 1 << 3,
	M_SPEC = 1 << 4,
	M_KEY = 1 << 5,
	M_VALUE = 1 << 6,
	M_SID = 1 << 7,
	M_SEAL = 1 << 8,
};

static const char *const member_names[] = {
    "pipeline", "run", "step", "steps", "spec", "key", "value", "sid", "seal",
};
#define N_MEMBERS (sizeof(member_names) / sizeof(member_names[0]))

static const struct {
	const char *name;
	unsigned members; /* all of them required, no other admitted */
} calls[CTL_CALL_N] = {
    [CTL_CALL_RUN_STATUS] = {"run.status", M_PIPELINE | M_RUN},
    [CTL_CALL_RUN_OPEN] = {"run.open", M_PIPELINE | M_RUN | M_STEPS},
    [CTL_CALL_RUN_STEP] = {"run.step", M_PIPELINE | M_RUN | M_STEP},
    [CTL_CALL_RUN_INPUT] = {"run.input", M_PIPELINE | M_RUN | M_STEP | M_SPEC},
    [CTL_CALL_RUN_NOTE] = {"run.note", M_PIPELINE | M_RUN | M_KEY | M_VALUE},
    [CTL_CALL_RUN_BIND] = {"run.bind", M_PIPELINE | M_RUN | M_STEP | M_SID},
    [CTL_CALL_RUN_UNBIND] = {"run.unbind", M_SID},
    [CTL_CALL_RUN_END] = {"run.end", M_PIPELINE | M_RUN | M_SEAL},
    [CTL_CALL_RUN_ENV] = {"run.env", M_PIPELINE | M_RUN | M_STEP | M_VALUE},
    [CTL_CALL_RUN_CACHE] = {"run.cache", M_PIPELINE | M_RUN | M_STEP | M_SEAL},
    [CTL_CALL_RUN_SECRET] = {"run.secret", M_PIPELINE | M_RUN | M_STEP | M_KEY},
};

static const char *const status_names[] = {
    [STORE_RUN_OPEN] = "open",
    [STORE_RUN_SEALED] = "sealed",
    [STORE_RUN_FAILED] = "failed",
};

const char *ctl_call_name(enum ctl_call_op op)
{
	return (unsigned)op < CTL_CALL_N ? calls[op].name : NULL;
}

static bool name_ok(const char *s)
{
	return s && store_name_check(s, strlen(s)) == 0;
}

/* "ARTIFACT" or "ARTIFACT@REF", both valid names (no path). */
static bool spec_ok(const char *s)
{
	size_t alen;

	if (!s)
		return false;
	alen = strcspn(s, "@");
	return store_name_check(s, alen) == 0 &&
	       (!s[alen] || name_ok(s + alen + 1));
}

/* Whether the members that op carries are valid. */
static bool call_ok(const struct ctl_call *c)
{
	unsigned m;

	if ((unsigned)c->op >= CTL_CALL_N)
		return false;
	m = calls[c->op].members;
	if ((m & M_PIPELINE && !name_ok(c->pipeline)) ||
	    (m & M_RUN && !name_ok(c->run)) ||
	    (m & M_STEP && !name_ok(c->step)) ||
	    (m & M_SPEC && !spec_ok(c->spec)) ||
	    (m & M_KEY && !name_ok(c->key)) ||
	    (m & M_VALUE &&
	     (!c->value ||
	      strlen(c->value) >
		  (c->op == CTL_CALL_RUN_ENV ? CTL_ENV_MAX : CTL_NOTE_MAX))) ||
	    (m & M_SID && c->sid <= 0) || c->nsteps > CTL_CALL_STEPS_MAX)
		return false;
	for (size_t i = 0; m & M_STEPS && i < c->nsteps; i++)
		if (!name_ok(c->steps[i]))
			return false;
	return true;
}

/* Sets member i of args from c; 0 or -EINVAL / -ENOMEM. */
static int put_member(json_t *args, unsigned i, const struct ctl_call *c)
{
	const char *str[] = {c->pipeline, c->run, c->step, NULL,
			     c->spec,	  c->key, c->value};
	json_t *v;

	if (1u << i == M_STEPS) {
		v = json_array();
		for (size_t k = 0; v && k < c->nsteps; k++) {
			if (json_array_append_new(v,
						  json_string(c->steps[k]))) {
				json_decref(v);
				return -EINVAL;
			}
		}
	} else if (1u << i == M_SID) {
		v = json_integer(c->sid);
	} else if (1u << i == M_SEAL) {
		v = json_boolean(c->seal);
	} else {
		v = json_string(str[i]); /* NULL when not UTF-8 */
	}
	return v && !json_object_set_new(args, member_names[i], v) ? 0
								   : -EINVAL;
}

int ctl_call_encode(const struct ctl_call *call, char **out, size_t *out_len)
{
	json_t *args;
	int rc = 0;

	if (!call_ok(call))
		return -EINVAL;
	args = json_object();
	if (!args)
		return -ENOMEM;
	for (unsigned i = 0; !rc && i < N_MEMBERS; i++)
		if (calls[call->op].members & 1u << i)
			rc = put_member(args, i, call);
	if (rc) {
		json_decref(args);
		return rc;
	}
	return ctl_json_dump(
	    json_pack("{s:s, s:o}", "call", calls[call->op].name, "args", args),
	    CTL_CALL_MAX, out, out_len);
}

/* A string member without NUL bytes, or NULL. */
static const char *str_of(json_t *v)
{
	if (!json_is_string(v) ||
	    json_string_length(v) != strlen(json_string_value(v)))
		return NULL;
	return json_string_value(v);
}

/* Takes member i (value v) into out; false when its type is wrong. */
static bool take_member(unsigned i, json_t *v, struct ctl_call *out)
{
	const char **str[] = {&out->pipeline, &out->run, &out->step, NULL,
			      &out->spec,     &out->key, &out->value};
	json_int_t sid;
	size_t k;
	json_t *s;

	switch (1u << i) {
	case M_STEPS:
		if (!json_is_array(v) ||
		    json_array_size(v) > CTL_CALL_STEPS_MAX)
			return false;
		for (k = 0; k < json_array_size(v); k++) {
			s = json_array_get(v, k);
			out->steps[k] = str_of(s);
			if (!out->steps[k])
				return false;
		}
		out->nsteps = json_array_size(v);
		return true;
	case M_SID:
		sid = json_integer_value(v);
		out->sid = (int32_t)sid;
		return json_is_integer(v) && sid > 0 && sid <= INT32_MAX;
	case M_SEAL:
		out->seal = json_is_true(v);
		return json_is_boolean(v);
	default:
		return (*str[i] = str_of(v)) != NULL;
	}
}

/* Fills out from the members of args, as out->op admits them. */
static int take_args(json_t *args, struct ctl_call *out, const char **why)
{
	unsigned want = calls[out->op].members, seen = 0, i;
	const char *key;
	json_t *v;

	json_object_foreach(args, key, v)
	{
		for (i = 0; i < N_MEMBERS && strcmp(key, member_names[i]); i++)
			;
		if (i == N_MEMBERS || !(want & 1u << i)) {
			*why = "a member that the call does not take";
			return -EINVAL;
		}
		if (!take_member(i, v, out)) {
			*why = "a member of the wrong type";
			return -EINVAL;
		}
		seen |= 1u << i;
	}
	if (seen != want) {
		*why = "a member of the call is missing";
		return -EINVAL;
	}
	if (!call_ok(out)) {
		*why = "an invalid name, spec, value or session id";
		return -EINVAL;
	}
	return 0;
}

int ctl_call_decode(const void *buf, size_t len, struct ctl_call *out,
		    const char **why)
{
	json_t *root, *args = NULL;
	json_error_t jerr;
	const char *name = NULL;
	unsigned op;
	int rc;

	memset(out, 0, sizeof(*out));
	*why = "malformed call";
	rc = ctl_json_load(buf, len, CTL_CALL_MAX, &root, why);
	if (rc)
		return rc;
	rc = -EINVAL;
	if (json_unpack_ex(root, &jerr, JSON_STRICT, "{s:s, s:o}", "call",
			   &name, "args", &args) ||
	    !json_is_object(args)) {
		*why = "a call needs \"call\" (a string) and \"args\" (an "
		       "object), nothing else";
		goto out_free;
	}
	for (op = 0; op < CTL_CALL_N && strcmp(name, calls[op].name); op++)
		;
	if (op == CTL_CALL_N) {
		*why = "unknown call";
		goto out_free;
	}
	out->op = (enum ctl_call_op)op;
	rc = take_args(args, out, why);
out_free:
	if (rc) {
		json_decref(root);
		memset(out, 0, sizeof(*out));
		return rc;
	}
	out->root = root;
	return 0;
}

void ctl_call_release(struct ctl_call *call)
{
	json_decref(call->root);
	memset(call, 0, sizeof(*call));
}

void ctl_result_release(struct ctl_result *r)
{
	if (r->secret) {
		explicit_bzero(r->secret, r->secret_len);
		free(r->secret);
	}
	r->secret = NULL;
	r->secret_len = 0;
}

/* run.secret's result: the value in hex (wiped before it is freed). */
static json_t *secret_result(const struct ctl_result *r)
{
	size_t n = r->secret_len;
	char *h;
	json_t *o;

	if (n > CTL_SECRET_MAX || (n && !r->secret))
		return NULL;
	h = malloc(2 * n + 1);
	if (!h)
		return NULL;
	ctl_hex_encode(r->secret, n, h);
	o = json_pack("{s:i, s:s, s:I}", "rc", 0, "value", h, "version",
		      (json_int_t)r->version);
	explicit_bzero(h, 2 * n);
	free(h);
	return o;
}

/* Takes run.secret's value and version into out. */
static int take_secret(json_t *root, struct ctl_result *out)
{
	json_error_t jerr;
	const char *h = NULL;
	json_int_t rc, n;
	size_t len;

	if (json_unpack_ex(root, &jerr, JSON_STRICT, "{s:I, s:s, s:I}", "rc",
			   &rc, "value", &h, "version", &n) ||
	    n < 1 || n > UINT32_MAX)
		return -EINVAL;
	len = strlen(h);
	if (len % 2 || len / 2 > CTL_SECRET_MAX)
		return -EINVAL;
	out->secret = malloc(len / 2 + 1);
	if (!out->secret)
		return -ENOMEM;
	if (ctl_hex_decode(h, len / 2, out->secret)) {
		ctl_result_release(out);
		return -EINVAL;
	}
	out->secret_len = len / 2;
	out->secret[len / 2] = 0;
	out->version = (uint32_t)n;
	return 0;
}

int ctl_result_encode(enum ctl_call_op op, const struct ctl_result *r,
		      char **out, size_t *out_len)
{
	json_t *o;

	if ((unsigned)op >= CTL_CALL_N || r->rc > 0 || r->rc < -4095)
		return -EINVAL;
	if (r->rc)
		o = json_pack("{s:i}", "rc", r->rc);
	else if (op == CTL_CALL_RUN_STATUS)
		o = r->status >= STORE_RUN_OPEN && r->status <= STORE_RUN_FAILED
			? json_pack("{s:i, s:s, s:I}", "rc", 0, "status",
				    status_names[r->status], "owner",
				    (json_int_t)r->owner)
			: NULL;
	else if (op == CTL_CALL_RUN_INPUT)
		o = name_ok(r->artifact)
			? json_pack("{s:i, s:s, s:I}", "rc", 0, "artifact",
				    r->artifact, "version",
				    (json_int_t)r->version)
			: NULL;
	else if (op == CTL_CALL_RUN_ENV)
		o = json_pack("{s:i, s:s}", "rc", 0, "text", r->text);
	else if (op == CTL_CALL_RUN_CACHE)
		o = json_pack("{s:i, s:b, s:s}", "rc", 0, "hit", r->hit, "text",
			      r->text);
	else if (op == CTL_CALL_RUN_SECRET)
		o = secret_result(r);
	else
		o = json_pack("{s:i}", "rc", 0);
	if (!o)
		return -EINVAL;
	return ctl_json_dump(o, CTL_CALL_MAX, out, out_len);
}

/* The text (and hit) of run.env and run.cache. */
static int take_text(json_t *root, enum ctl_call_op op, struct ctl_result *out)
{
	json_error_t jerr;
	const char *s = NULL;
	json_int_t rc;
	int hit = 0;

	if (op == CTL_CALL_RUN_ENV
		? json_unpack_ex(root, &jerr, JSON_STRICT, "{s:I, s:s}", "rc",
				 &rc, "text", &s)
		: json_unpack_ex(root, &jerr, JSON_STRICT, "{s:I, s:b, s:s}",
				 "rc", &rc, "hit", &hit, "text", &s))
		return -EINVAL;
	if (strlen(s) >= sizeof(out->text))
		return -EINVAL;
	strcpy(out->text, s);
	out->hit = hit;
	return 0;
}

/* The members of a successful result of op. */
static int take_result(json_t *root, enum ctl_call_op op,
		       struct ctl_result *out)
{
	json_error_t jerr;
	const char *s = NULL;
	json_int_t rc, n;
	unsigned i;

	if (op == CTL_CALL_RUN_STATUS) {
		if (json_unpack_ex(root, &jerr, JSON_STRICT, "{s:I, s:s, s:I}",
				   "rc", &rc, "status", &s, "owner", &n))
			return -EINVAL;
		for (i = STORE_RUN_OPEN;
		     i <= STORE_RUN_FAILED && strcmp(s, status_names[i]); i++)
			;
		if (i > STORE_RUN_FAILED || n < 0 || n > UINT32_MAX)
			return -EINVAL;
		out->status = (enum store_run_status)i;
		out->owner = (uint32_t)n;
		return 0;
	}
	if (op == CTL_CALL_RUN_INPUT) {
		if (json_unpack_ex(root, &jerr, JSON_STRICT, "{s:I, s:s, s:I}",
				   "rc", &rc, "artifact", &s, "version", &n) ||
		    !name_ok(s) || n < 0 || n > UINT32_MAX)
			return -EINVAL;
		strcpy(out->artifact, s);
		out->version = (uint32_t)n;
		return 0;
	}
	if (op == CTL_CALL_RUN_ENV || op == CTL_CALL_RUN_CACHE)
		return take_text(root, op, out);
	if (op == CTL_CALL_RUN_SECRET)
		return take_secret(root, out);
	return json_unpack_ex(root, &jerr, JSON_STRICT, "{s:I}", "rc", &rc)
		   ? -EINVAL
		   : 0;
}

int ctl_result_decode(const void *buf, size_t len, enum ctl_call_op op,
		      struct ctl_result *out)
{
	json_t *root;
	json_error_t jerr;
	json_int_t rc;
	const char *why;
	int err;

	memset(out, 0, sizeof(*out));
	if ((unsigned)op >= CTL_CALL_N)
		return -EINVAL;
	err = ctl_json_load(buf, len, CTL_CALL_MAX, &root, &why);
	if (err)
		return err;
	err = -EINVAL;
	if (json_unpack_ex(root, &jerr, 0, "{s:I}", "rc", &rc) || rc > 0 ||
	    rc < -4095)
		goto out_free;
	if (rc) {
		if (json_object_size(root) == 1) {
			out->rc = (int)rc;
			err = 0;
		}
		goto out_free;
	}
	err = take_result(root, op, out);
out_free:
	json_decref(root);
	if (err)
		memset(out, 0, sizeof(*out));
	return err;
}
