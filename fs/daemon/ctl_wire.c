/*
 * ctl_wire.c - encoding and decoding of the command socket's messages.
 *
 * Everything a client or a daemon sends is untrusted input here: the
 * decoders take a byte buffer and a length, check every type, count and
 * size, and either fill a struct the caller owns or return an errno with
 * nothing allocated.  They never touch a socket or a descriptor.
 */
#include "ctl_wire_i.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define OPEN_ACCMODE_OK(f) (((f)&O_ACCMODE) != O_ACCMODE)
#define OPEN_EXTRA                                                             \
	(O_CREAT | O_EXCL | O_TRUNC | O_APPEND | O_NOFOLLOW | O_DIRECTORY |    \
	 O_PATH)

static const char *const op_names[] = {
    [CTL_OP_OPEN] = "open",	    [CTL_OP_STAT] = "stat",
    [CTL_OP_MKDIR] = "mkdir",	    [CTL_OP_SYMLINK] = "symlink",
    [CTL_OP_READLINK] = "readlink", [CTL_OP_RENAME] = "rename",
    [CTL_OP_UNLINK] = "unlink",	    [CTL_OP_LINK] = "link",
    [CTL_OP_LUTIMES] = "lutimes",
};
#define N_OPS (sizeof(op_names) / sizeof(op_names[0]))

void ctl_frame_encode(uint8_t h[CTL_FRAME_HDR], enum ctl_frame type,
		      uint32_t len)
{
	h[0] = (uint8_t)type;
	h[1] = (uint8_t)(len >> 24);
	h[2] = (uint8_t)(len >> 16);
	h[3] = (uint8_t)(len >> 8);
	h[4] = (uint8_t)len;
}

int ctl_frame_decode(const uint8_t h[CTL_FRAME_HDR], enum ctl_frame *type,
		     uint32_t *len)
{
	switch (h[0]) {
	case CTL_F_REQUEST:
	case CTL_F_REPLY:
	case CTL_F_STDOUT:
	case CTL_F_STDERR:
	case CTL_F_EXIT:
	case CTL_F_FILEOP:
	case CTL_F_PROGRESS:
	case CTL_F_ERROR:
	case CTL_F_CALL:
	case CTL_F_RESULT:
		break;
	default:
		return -EPROTO;
	}
	*type = (enum ctl_frame)h[0];
	*len = (uint32_t)h[1] << 24 | (uint32_t)h[2] << 16 |
	       (uint32_t)h[3] << 8 | h[4];
	return 0;
}

int ctl_json_dump(json_t *root, size_t max, char **out, size_t *out_len)
{
	char *s = root ? json_dumps(root, JSON_COMPACT) : NULL;

	json_decref(root);
	if (!s)
		return -ENOMEM;
	*out_len = strlen(s);
	if (*out_len > max) {
		free(s);
		return -EINVAL;
	}
	*out = s;
	return 0;
}

int ctl_json_load(const void *buf, size_t len, size_t max, json_t **root,
		  const char **why)
{
	json_error_t jerr;

	*root = NULL;
	if (len > max) {
		*why = "request too large";
		return -EMSGSIZE;
	}
	if (memchr(buf, '\0', len)) {
		*why = "NUL byte in the request";
		return -EINVAL;
	}
	*root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!*root) {
		bool utf8 = json_error_code(&jerr) == json_error_invalid_utf8;

		*why = utf8 ? "request is not UTF-8" : "request is not JSON";
		return utf8 ? -EILSEQ : -EINVAL;
	}
	if (!json_is_object(*root)) {
		json_decref(*root);
		*root = NULL;
		*why = "request is not a JSON object";
		return -EINVAL;
	}
	return 0;
}

int ctl_request_encode(int argc, char *const *argv, bool tty, char **out,
		       size_t *out_len)
{
	json_t *av = json_array();

	if (!av)
		return -ENOMEM;
	if (argc < 1 || argc > CTL_ARGV_MAX) {
		json_decref(av);
		return -EINVAL;
	}
	for (int i = 0; i < argc; i++) {
		json_t *s = json_string(argv[i]);

		if (!s || json_array_append_new(av, s)) {
			json_decref(av);
			return -EINVAL; /* not UTF-8 */
		}
	}
	return ctl_json_dump(json_pack("{s:o, s:b}", "argv", av, "tty", tty),
			     CTL_REQ_MAX, out, out_len);
}

/* Copies the validated strings of av into r. */
static int copy_argv(json_t *av, struct ctl_request *r, const char **why)
{
	size_t n = json_array_size(av);

	r->argv = calloc(n + 1, sizeof(char *));
	if (!r->argv)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_array_get(av, i);

		if (!json_is_string(s)) {
			*why = "an argv item is not a string";
			return -EINVAL;
		}
		if (json_string_length(s) != strlen(json_string_value(s))) {
			*why = "NUL byte in an argv item";
			return -EINVAL;
		}
		r->argv[i] = strdup(json_string_value(s));
		if (!r->argv[i])
			return -ENOMEM;
		r->argc = (int)i + 1;
	}
	return 0;
}

int ctl_request_decode(const void *buf, size_t len, struct ctl_request *out,
		       const char **why)
{
	json_t *root, *av = NULL;
	json_error_t jerr;
	int tty = 0, rc;

	memset(out, 0, sizeof(*out));
	*why = "malformed request";
	rc = ctl_json_load(buf, len, CTL_REQ_MAX, &root, why);
	if (rc)
		return rc;
	if (json_unpack_ex(root, &jerr, JSON_STRICT, "{s:o, s?b}", "argv", &av,
			   "tty", &tty) ||
	    !json_is_array(av)) {
		*why = "request needs \"argv\" (an array) and at most \"tty\" "
		       "(a boolean)";
		rc = -EINVAL;
		goto out_free;
	}
	if (json_array_size(av) == 0 || json_array_size(av) > CTL_ARGV_MAX) {
		*why = json_array_size(av) ? "more than 4096 argv items"
					   : "empty argv";
		rc = json_array_size(av) ? -E2BIG : -EINVAL;
		goto out_free;
	}
	out->tty = tty;
	rc = copy_argv(av, out, why);
	if (rc == -ENOMEM)
		*why = "out of memory";
out_free:
	json_decref(root);
	if (rc)
		ctl_request_release(out);
	return rc;
}

void ctl_request_release(struct ctl_request *r)
{
	if (r->argv)
		for (int i = 0; i < r->argc; i++)
			free(r->argv[i]);
	free(r->argv);
	memset(r, 0, sizeof(*r));
}

bool ctl_open_flags_ok(int flags)
{
	return OPEN_ACCMODE_OK(flags) && !(flags & ~(O_ACCMODE | OPEN_EXTRA));
}

/* Which of path2, flags/mode, follow, dir and len an op carries. */
static bool has_path2(enum ctl_op op)
{
	return op == CTL_OP_SYMLINK || op == CTL_OP_RENAME || op == CTL_OP_LINK;
}

int ctl_fileop_encode(const struct ctl_fileop *op, char **out, size_t *len)
{
	json_t *o;

	if ((unsigned)op->op >= N_OPS || !op->path ||
	    (has_path2(op->op) && !op->path2) ||
	    (op->op == CTL_OP_OPEN && !ctl_open_flags_ok(op->flags)))
		return -EINVAL;
	o = json_pack("{s:s, s:s, s:i, s:i, s:b, s:b, s:I, s:I, s:I}", "op",
		      op_names[op->op], "path", op->path, "flags", op->flags,
		      "mode", (int)(op->mode & 07777), "follow", op->follow,
		      "dir", op->dir, "len", (json_int_t)op->len, "sec",
		      (json_int_t)op->mtime.tv_sec, "nsec",
		      (json_int_t)op->mtime.tv_nsec);
	if (!o)
		return -EINVAL; /* not UTF-8 (or ENOMEM) */
	if (has_path2(op->op) &&
	    json_object_set_new(o, "path2", json_string(op->path2))) {
		json_decref(o);
		return -EINVAL;
	}
	return ctl_json_dump(o, CTL_REPLY_MAX, out, len);
}

/* A path of 1 to CTL_PATH_MAX bytes without NUL, copied. */
static int take_path(json_t *s, char **out)
{
	size_t n = json_string_length(s);

	if (!json_is_string(s) || n == 0 || n >= CTL_PATH_MAX ||
	    n != strlen(json_string_value(s)))
		return -EINVAL;
	*out = strdup(json_string_value(s));
	return *out ? 0 : -ENOMEM;
}

int ctl_fileop_decode(const void *buf, size_t len, struct ctl_fileop *out)
{
	json_t *root, *path = NULL, *path2 = NULL;
	const char *name, *why;
	json_error_t jerr;
	json_int_t flags, mode, rlen, sec = 0, nsec = 0;
	int follow, dir, rc;
	size_t i;

	memset(out, 0, sizeof(*out));
	rc = ctl_json_load(buf, len, CTL_REPLY_MAX, &root, &why);
	if (rc)
		return rc;
	rc = -EINVAL;
	if (json_unpack_ex(root, &jerr, JSON_STRICT,
			   "{s:s, s:o, s?o, s:I, s:I, s:b, s:b, s:I, s?I, s?I}",
			   "op", &name, "path", &path, "path2", &path2, "flags",
			   &flags, "mode", &mode, "follow", &follow, "dir",
			   &dir, "len", &rlen, "sec", &sec, "nsec", &nsec))
		goto out_free;
	for (i = 0; i < N_OPS && strcmp(name, op_names[i]); i++)
		;
	if (i == N_OPS || flags < INT32_MIN || flags > INT32_MAX || mode < 0 ||
	    mode > 07777 || rlen < 0 || rlen > CTL_PATH_MAX || nsec < 0 ||
	    nsec > 999999999)
		goto out_free;
	out->op = (enum ctl_op)i;
	out->flags = (int)flags;
	out->mode = (mode_t)mode;
	out->follow = follow;
	out->dir = dir;
	out->len = (size_t)rlen;
	out->mtime.tv_sec = (time_t)sec;
	out->mtime.tv_nsec = (long)nsec;
	if ((out->op == CTL_OP_OPEN && !ctl_open_flags_ok(out->flags)) ||
	    (out->op == CTL_OP_READLINK && out->len == 0) ||
	    has_path2(out->op) != (path2 != NULL))
		goto out_free;
	rc = take_path(path, &out->path);
	if (!rc && path2)
		rc = take_path(path2, &out->path2);
out_free:
	json_decref(root);
	if (rc)
		ctl_fileop_release(out);
	return rc;
}

void ctl_fileop_release(struct ctl_fileop *op)
{
	free(op->path);
	free(op->path2);
	op->path = op->path2 = NULL;
}

static json_int_t ns_of(struct timespec t)
{
	return (json_int_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static struct timespec ts_of(json_int_t ns)
{
	struct timespec t = {ns / 1000000000, ns % 1000000000};

	if (t.tv_nsec < 0) {
		t.tv_sec--;
		t.tv_nsec += 1000000000;
	}
	return t;
}

static json_t *st_pack(const struct stat *st)
{
	return json_pack(
	    "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
	    "s:I, s:I, s:I}",
	    "mode", (json_int_t)st->st_mode, "ino", (json_int_t)st->st_ino,
	    "dev", (json_int_t)st->st_dev, "nlink", (json_int_t)st->st_nlink,
	    "uid", (json_int_t)st->st_uid, "gid", (json_int_t)st->st_gid,
	    "rdev", (json_int_t)st->st_rdev, "size", (json_int_t)st->st_size,
	    "blocks", (json_int_t)st->st_blocks, "blksize",
	    (json_int_t)st->st_blksize, "atime", ns_of(st->st_atim), "mtime",
	    ns_of(st->st_mtim), "ctime", ns_of(st->st_ctim));
}

static int st_unpack(json_t *o, struct stat *st)
{
	json_int_t v[13];
	json_error_t jerr;

	if (json_unpack_ex(o, &jerr, JSON_STRICT,
			   "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
			   "s:I, s:I, s:I}",
			   "mode", &v[0], "ino", &v[1], "dev", &v[2], "nlink",
			   &v[3], "uid", &v[4], "gid", &v[5], "rdev", &v[6],
			   "size", &v[7], "blocks", &v[8], "blksize", &v[9],
			   "atime", &v[10], "mtime", &v[11], "ctime", &v[12]))
		return -EINVAL;
	for (int i = 0; i < 10; i++)
		if (v[i] < 0 || (i != 1 && i != 2 && i != 6 && i < 7 &&
				 v[i] > (json_int_t)UINT32_MAX))
			return -EINVAL;
	memset(st, 0, sizeof(*st));
	st->st_mode = (mode_t)v[0];
	st->st_ino = (ino_t)v[1];
	st->st_dev = (dev_t)v[2];
	st->st_nlink = (nlink_t)v[3];
	st->st_uid = (uid_t)v[4];
	st->st_gid = (gid_t)v[5];
	st->st_rdev = (dev_t)v[6];
	st->st_size = (off_t)v[7];
	st->st_blocks = (blkcnt_t)v[8];
	st->st_blksize = (blksize_t)v[9];
	st->st_atim = ts_of(v[10]);
	st->st_mtim = ts_of(v[11]);
	st->st_ctim = ts_of(v[12]);
	return 0;
}

static const char hex_digits[] = "0123456789abcdef";

void ctl_hex_encode(const uint8_t *in, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex_digits[in[i] >> 4];
		out[2 * i + 1] = hex_digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/* readlink's bytes travel as hex: a link target need not be UTF-8. */
static json_t *hex_pack(const char *data, size_t n)
{
	char hex[2 * CTL_PATH_MAX + 1];

	ctl_hex_encode((const uint8_t *)data, n, hex);
	return json_string(hex);
}

/* The value of a lowercase hex digit, or -1. */
static int hex_nib(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
				      : -1;
}

int ctl_hex_decode(const char *hex, size_t n, uint8_t *out)
{
	for (size_t i = 0; i < n; i++) {
		int hi = hex_nib(hex[2 * i]), lo = hex_nib(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int hex_unpack(json_t *s, char *data, size_t n)
{
	const char *hex = json_string_value(s);

	if (!hex || json_string_length(s) != 2 * n)
		return -EINVAL;
	return ctl_hex_decode(hex, n, (uint8_t *)data);
}

int ctl_reply_encode(enum ctl_op op, const struct ctl_reply *r, char **out,
		     size_t *len)
{
	json_t *o = json_pack("{s:I}", "rc", (json_int_t)r->rc);

	if (o && op == CTL_OP_STAT && r->rc == 0)
		json_object_set_new(o, "st", st_pack(&r->st));
	if (o && op == CTL_OP_READLINK && r->rc > 0) {
		if (r->rc > CTL_PATH_MAX) {
			json_decref(o);
			return -EINVAL;
		}
		json_object_set_new(o, "data",
				    hex_pack(r->data, (size_t)r->rc));
	}
	return ctl_json_dump(o, CTL_REPLY_MAX, out, len);
}

int ctl_reply_decode(const void *buf, size_t len, enum ctl_op op, size_t want,
		     struct ctl_reply *out)
{
	json_t *root, *st = NULL, *data = NULL;
	json_error_t jerr;
	json_int_t rc;
	const char *why;
	int err;

	memset(out, 0, sizeof(*out));
	err = ctl_json_load(buf, len, CTL_REPLY_MAX, &root, &why);
	if (err)
		return err;
	err = -EINVAL;
	if (json_unpack_ex(root, &jerr, JSON_STRICT, "{s:I, s?o, s?o}", "rc",
			   &rc, "st", &st, "data", &data))
		goto out_free;
	if (rc < -4095 || (rc > 0 && op != CTL_OP_READLINK) ||
	    (op == CTL_OP_READLINK && rc > (json_int_t)want) ||
	    (st != NULL) != (op == CTL_OP_STAT && rc == 0) ||
	    (data != NULL) != (op == CTL_OP_READLINK && rc > 0))
		goto out_free;
	out->rc = rc;
	if (st && st_unpack(st, &out->st))
		goto out_free;
	out->has_st = st != NULL;
	if (data && hex_unpack(data, out->data, (size_t)rc))
		goto out_free;
	err = 0;
out_free:
	json_decref(root);
	return err;
}

int ctl_progress_encode(const char *label, uint64_t done, uint64_t total,
			char **out, size_t *len)
{
	return ctl_json_dump(json_pack("{s:s, s:I, s:I}", "label",
				       label ? label : "", "done",
				       (json_int_t)(done & INT64_MAX), "total",
				       (json_int_t)(total & INT64_MAX)),
			     CTL_REPLY_MAX, out, len);
}

int ctl_progress_decode(const void *buf, size_t len, char label[64],
			uint64_t *done, uint64_t *total)
{
	json_t *root;
	json_error_t jerr;
	json_int_t d, t;
	const char *l, *why;
	int rc = ctl_json_load(buf, len, CTL_REPLY_MAX, &root, &why);

	if (rc)
		return rc;
	rc = -EINVAL;
	if (!json_unpack_ex(root, &jerr, JSON_STRICT, "{s:s, s:I, s:I}",
			    "label", &l, "done", &d, "total", &t) &&
	    strlen(l) < 64 && d >= 0 && t >= 0) {
		strcpy(label, l);
		*done = (uint64_t)d;
		*total = (uint64_t)t;
		rc = 0;
	}
	json_decref(root);
	return rc;
}
