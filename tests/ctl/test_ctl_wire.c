/*
 * test_ctl_wire.c - the command socket's codec (fs/daemon/ctl_wire.c): valid
 * requests and calls decode, every malformed one is refused with its
 * errno, and frames, file operations, replies, progress, calls and
 * results survive a round trip.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "ctl_wire_i.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int decode(const char *s, size_t len, struct ctl_request *r)
{
	const char *why = NULL;
	int rc = ctl_request_decode(s, len, r, &why);

	if (rc)
		assert_non_null(why);
	return rc;
}

static int decode_str(const char *s)
{
	struct ctl_request r;
	int rc = decode(s, strlen(s), &r);

	ctl_request_release(&r);
	return rc;
}

static void test_ctl_request_decode_valid(void **state)
{
	struct ctl_request r;
	const char *s = "{\"argv\":[\"artifactfs\",\"ls\",\"caf\\u00e9\"],"
			"\"tty\":true}";

	(void)state;
	assert_int_equal(decode(s, strlen(s), &r), 0);
	assert_int_equal(r.argc, 3);
	assert_string_equal(r.argv[1], "ls");
	assert_string_equal(r.argv[2], "caf\xc3\xa9");
	assert_null(r.argv[3]);
	assert_true(r.tty);
	ctl_request_release(&r);
	assert_int_equal(decode_str("{\"argv\":[\"a\"]}"), 0);
}

static void test_ctl_request_decode_refuses_malformed(void **state)
{
	(void)state;
	/* the request that crashed the old daemon */
	assert_int_equal(decode_str("{\"argv\":[\"artifactfs\",1],"
				    "\"cwd\":\"/tmp\"}"),
			 -EINVAL);
	assert_int_equal(decode_str("{\"argv\":[\"artifactfs\",1]}"), -EINVAL);
	assert_int_equal(decode_str("{\"argv\":[\"a\",null]}"), -EINVAL);
	assert_int_equal(decode_str("{\"argv\":[[\"a\"]]}"), -EINVAL);
	assert_int_equal(decode_str("{\"argv\":\"a\"}"), -EINVAL);
	assert_int_equal(decode_str("{\"argv\":[]}"), -EINVAL);
	assert_int_equal(decode_str("{}"), -EINVAL);
	assert_int_equal(decode_str("{\"tty\":true}"), -EINVAL);
	assert_int_equal(decode_str("{\"argv\":[\"a\"],\"tty\":1}"), -EINVAL);
	assert_int_equal(decode_str("{\"argv\":[\"a\"],\"x\":1}"), -EINVAL);
	assert_int_equal(decode_str("{\"argv\":[\"a\"],\"argv\":[\"b\"]}"),
			 -EINVAL);
	assert_int_equal(decode_str("[\"a\"]"), -EINVAL);
	assert_int_equal(decode_str("{\"argv\":[\"a\"]"), -EINVAL);
	assert_int_equal(decode_str(""), -EINVAL);
	assert_int_equal(decode_str("{\"argv\":[\"a\\u0000b\"]}"), -EINVAL);
}

static void test_ctl_request_decode_refuses_nul_and_utf8(void **state)
{
	struct ctl_request r;
	const char nul[] = "{\"argv\":[\"a\0b\"]}";
	const char bad[] = "{\"argv\":[\"\xff\xfe\"]}";

	(void)state;
	assert_int_equal(decode(nul, sizeof(nul) - 1, &r), -EINVAL);
	assert_int_equal(decode(bad, sizeof(bad) - 1, &r), -EILSEQ);
	assert_null(r.argv);
}

static void test_ctl_request_decode_refuses_over_caps(void **state)
{
	size_t cap = 16 + 5 * (CTL_ARGV_MAX + 1);
	char *s = malloc(CTL_REQ_MAX + 64);
	size_t n;

	(void)state;
	assert_non_null(s);
	n = (size_t)sprintf(s, "{\"argv\":[");
	for (int i = 0; i <= CTL_ARGV_MAX; i++)
		n += (size_t)sprintf(s + n, "%s\"a\"", i ? "," : "");
	n += (size_t)sprintf(s + n, "]}");
	assert_true(n < cap);
	assert_int_equal(decode_str(s), -E2BIG);
	/* exactly the cap is fine */
	n = (size_t)sprintf(s, "{\"argv\":[");
	for (int i = 0; i < CTL_ARGV_MAX; i++)
		n += (size_t)sprintf(s + n, "%s\"a\"", i ? "," : "");
	sprintf(s + n, "]}");
	assert_int_equal(decode_str(s), 0);
	/* over 1 MiB, refused before parsing */
	memset(s, ' ', CTL_REQ_MAX + 1);
	memcpy(s, "{\"argv\":[\"a\"]}", 14);
	{
		struct ctl_request r;

		assert_int_equal(decode(s, CTL_REQ_MAX + 1, &r), -EMSGSIZE);
	}
	free(s);
}

static void test_ctl_request_encode_round_trip(void **state)
{
	char *argv[] = {"artifactfs", "put", "x", "-", "sp ace\t\"q\""};
	struct ctl_request r;
	char *buf;
	size_t len;

	(void)state;
	assert_int_equal(ctl_request_encode(5, argv, false, &buf, &len), 0);
	assert_int_equal(decode(buf, len, &r), 0);
	assert_int_equal(r.argc, 5);
	for (int i = 0; i < 5; i++)
		assert_string_equal(r.argv[i], argv[i]);
	assert_false(r.tty);
	ctl_request_release(&r);
	free(buf);
	argv[2] = "\xff";
	assert_int_equal(ctl_request_encode(5, argv, false, &buf, &len),
			 -EINVAL);
}

static void test_ctl_frame_round_trip(void **state)
{
	uint8_t h[CTL_FRAME_HDR];
	enum ctl_frame t;
	uint32_t len;

	(void)state;
	ctl_frame_encode(h, CTL_F_FILEOP, 0x01020304);
	assert_int_equal(h[0], 'f');
	assert_int_equal(h[1], 1);
	assert_int_equal(h[4], 4);
	assert_int_equal(ctl_frame_decode(h, &t, &len), 0);
	assert_int_equal(t, CTL_F_FILEOP);
	assert_int_equal(len, 0x01020304);
	h[0] = '{';
	assert_int_equal(ctl_frame_decode(h, &t, &len), -EPROTO);
	h[0] = 0;
	assert_int_equal(ctl_frame_decode(h, &t, &len), -EPROTO);
}

static void test_ctl_fileop_round_trip(void **state)
{
	struct ctl_fileop in = {.op = CTL_OP_OPEN,
				.path = "dir/file",
				.flags = O_WRONLY | O_CREAT | O_EXCL,
				.mode = 0640},
			  out;
	char *buf;
	size_t len;

	(void)state;
	assert_int_equal(ctl_fileop_encode(&in, &buf, &len), 0);
	assert_int_equal(ctl_fileop_decode(buf, len, &out), 0);
	assert_int_equal(out.op, CTL_OP_OPEN);
	assert_string_equal(out.path, "dir/file");
	assert_null(out.path2);
	assert_int_equal(out.flags, O_WRONLY | O_CREAT | O_EXCL);
	assert_int_equal(out.mode, 0640);
	ctl_fileop_release(&out);
	free(buf);

	in = (struct ctl_fileop){
	    .op = CTL_OP_RENAME, .path = "new", .path2 = "old"};
	assert_int_equal(ctl_fileop_encode(&in, &buf, &len), 0);
	assert_int_equal(ctl_fileop_decode(buf, len, &out), 0);
	assert_int_equal(out.op, CTL_OP_RENAME);
	assert_string_equal(out.path2, "old");
	ctl_fileop_release(&out);
	free(buf);
}

static int fileop_str(const char *s)
{
	struct ctl_fileop op;
	int rc = ctl_fileop_decode(s, strlen(s), &op);

	ctl_fileop_release(&op);
	return rc;
}

static void test_ctl_fileop_decode_refuses_bad_ops_and_flags(void **state)
{
	char s[512];
	const char *tail = "\"mode\":0,\"follow\":false,\"dir\":false,"
			   "\"len\":0}";

	(void)state;
	snprintf(s, sizeof(s),
		 "{\"op\":\"open\",\"path\":\"f\",\"flags\":%d,%s", O_RDONLY,
		 tail);
	assert_int_equal(fileop_str(s), 0);
	snprintf(s, sizeof(s), "{\"op\":\"exec\",\"path\":\"f\",\"flags\":0,%s",
		 tail);
	assert_int_equal(fileop_str(s), -EINVAL);
	snprintf(s, sizeof(s),
		 "{\"op\":\"chmod\",\"path\":\"f\",\"flags\":0,%s", tail);
	assert_int_equal(fileop_str(s), -EINVAL);
	snprintf(s, sizeof(s),
		 "{\"op\":\"open\",\"path\":\"f\",\"flags\":%d,%s",
		 O_RDONLY | O_NONBLOCK, tail);
	assert_int_equal(fileop_str(s), -EINVAL);
	snprintf(s, sizeof(s),
		 "{\"op\":\"open\",\"path\":\"f\",\"flags\":%d,%s", O_ACCMODE,
		 tail);
	assert_int_equal(fileop_str(s), -EINVAL);
	snprintf(s, sizeof(s), "{\"op\":\"open\",\"path\":\"\",\"flags\":0,%s",
		 tail);
	assert_int_equal(fileop_str(s), -EINVAL);
	snprintf(s, sizeof(s), "{\"op\":\"open\",\"path\":1,\"flags\":0,%s",
		 tail);
	assert_int_equal(fileop_str(s), -EINVAL);
	/* rename without its second path */
	snprintf(s, sizeof(s),
		 "{\"op\":\"rename\",\"path\":\"f\",\"flags\":0,%s", tail);
	assert_int_equal(fileop_str(s), -EINVAL);
	assert_int_equal(fileop_str("{\"op\":\"open\"}"), -EINVAL);
	assert_false(ctl_open_flags_ok(O_RDONLY | O_SYNC));
	assert_true(ctl_open_flags_ok(O_RDWR | O_CREAT | O_TRUNC | O_APPEND |
				      O_NOFOLLOW));
	assert_true(ctl_open_flags_ok(O_PATH | O_DIRECTORY));
}

static void test_ctl_reply_round_trip(void **state)
{
	struct ctl_reply in = {.rc = 0}, out;
	char *buf;
	size_t len;

	(void)state;
	in.st.st_mode = 0100644;
	in.st.st_size = 1234567890123;
	in.st.st_uid = 1000;
	in.st.st_mtim.tv_sec = 1700000000;
	in.st.st_mtim.tv_nsec = 5;
	assert_int_equal(ctl_reply_encode(CTL_OP_STAT, &in, &buf, &len), 0);
	assert_int_equal(ctl_reply_decode(buf, len, CTL_OP_STAT, 0, &out), 0);
	assert_true(out.has_st);
	assert_int_equal(out.st.st_mode, 0100644);
	assert_int_equal(out.st.st_size, 1234567890123);
	assert_int_equal(out.st.st_uid, 1000);
	assert_int_equal(out.st.st_mtim.tv_nsec, 5);
	/* a stat reply is not a mkdir reply */
	assert_int_equal(ctl_reply_decode(buf, len, CTL_OP_MKDIR, 0, &out),
			 -EINVAL);
	free(buf);

	in = (struct ctl_reply){.rc = 3};
	memcpy(in.data, "a\xff\n", 3);
	assert_int_equal(ctl_reply_encode(CTL_OP_READLINK, &in, &buf, &len), 0);
	assert_int_equal(ctl_reply_decode(buf, len, CTL_OP_READLINK, 16, &out),
			 0);
	assert_int_equal(out.rc, 3);
	assert_memory_equal(out.data, "a\xff\n", 3);
	/* more bytes than the daemon asked for */
	assert_int_equal(ctl_reply_decode(buf, len, CTL_OP_READLINK, 2, &out),
			 -EINVAL);
	free(buf);
}

static int reply_str(const char *s, enum ctl_op op)
{
	struct ctl_reply r;

	return ctl_reply_decode(s, strlen(s), op, 16, &r);
}

static void test_ctl_reply_decode_refuses_bad(void **state)
{
	(void)state;
	assert_int_equal(reply_str("{\"rc\":0}", CTL_OP_OPEN), 0);
	assert_int_equal(reply_str("{\"rc\":-2}", CTL_OP_OPEN), 0);
	assert_int_equal(reply_str("{\"rc\":5}", CTL_OP_OPEN), -EINVAL);
	assert_int_equal(reply_str("{\"rc\":-99999}", CTL_OP_OPEN), -EINVAL);
	assert_int_equal(reply_str("{\"rc\":\"0\"}", CTL_OP_OPEN), -EINVAL);
	assert_int_equal(reply_str("{}", CTL_OP_OPEN), -EINVAL);
	assert_int_equal(reply_str("{\"rc\":0,\"x\":1}", CTL_OP_OPEN), -EINVAL);
	assert_int_equal(reply_str("{\"rc\":0}", CTL_OP_STAT), -EINVAL);
	assert_int_equal(
	    reply_str("{\"rc\":2,\"data\":\"zz\"}", CTL_OP_READLINK), -EINVAL);
	assert_int_equal(
	    reply_str("{\"rc\":2,\"data\":\"6162\"}", CTL_OP_READLINK), 0);
}

static void test_ctl_progress_round_trip(void **state)
{
	char label[64], *buf;
	uint64_t done, total;
	size_t len;

	(void)state;
	assert_int_equal(ctl_progress_encode("put", 10, 100, &buf, &len), 0);
	assert_int_equal(ctl_progress_decode(buf, len, label, &done, &total),
			 0);
	assert_string_equal(label, "put");
	assert_int_equal(done, 10);
	assert_int_equal(total, 100);
	free(buf);
	assert_int_equal(ctl_progress_encode(NULL, 0, 0, &buf, &len), 0);
	assert_int_equal(ctl_progress_decode(buf, len, label, &done, &total),
			 0);
	assert_string_equal(label, "");
	free(buf);
}

static int call_decode_str(const char *s, struct ctl_call *c)
{
	const char *why = NULL;
	int rc = ctl_call_decode(s, strlen(s), c, &why);

	if (rc)
		assert_non_null(why);
	return rc;
}

/* 0 when s decodes as a call; the call is released. */
static int call_rc(const char *s)
{
	struct ctl_call c;
	int rc = call_decode_str(s, &c);

	ctl_call_release(&c);
	return rc;
}

static void test_ctl_call_decode_valid(void **state)
{
	struct ctl_call c;

	(void)state;
	assert_int_equal(
	    call_decode_str("{\"call\":\"run.open\",\"args\":{\"pipeline\":"
			    "\"p\",\"run\":\"r1\",\"steps\":[\"a\",\"b\"]}}",
			    &c),
	    0);
	assert_int_equal(c.op, CTL_CALL_RUN_OPEN);
	assert_string_equal(c.pipeline, "p");
	assert_string_equal(c.run, "r1");
	assert_int_equal(c.nsteps, 2);
	assert_string_equal(c.steps[1], "b");
	ctl_call_release(&c);
	assert_null(c.root);
	assert_int_equal(
	    call_decode_str("{\"args\":{\"sid\":4242},\"call\":\"run.unbind\"}",
			    &c),
	    0);
	assert_int_equal(c.op, CTL_CALL_RUN_UNBIND);
	assert_int_equal(c.sid, 4242);
	assert_null(c.pipeline);
	ctl_call_release(&c);
	assert_int_equal(
	    call_decode_str("{\"call\":\"run.input\",\"args\":{\"pipeline\":"
			    "\"p\",\"run\":\"r\",\"step\":\"s\",\"spec\":"
			    "\"a@v1\"}}",
			    &c),
	    0);
	assert_string_equal(c.spec, "a@v1");
	ctl_call_release(&c);
	assert_int_equal(call_rc("{\"call\":\"run.end\",\"args\":{\"pipeline\":"
				 "\"p\",\"run\":\"r\",\"seal\":false}}"),
			 0);
	assert_int_equal(
	    call_rc("{\"call\":\"run.note\",\"args\":{\"pipeline\":"
		    "\"p\",\"run\":\"r\",\"key\":\"param.lr\","
		    "\"value\":\"-0.5\"}}"),
	    0);
}

static void test_ctl_call_decode_refuses_malformed(void **state)
{
	static const char *const bad[] = {
	    "{\"call\":\"run.open\"}",
	    "{\"call\":\"run.exec\",\"args\":{}}",
	    "{\"call\":1,\"args\":{}}",
	    "{\"call\":\"run.status\",\"args\":[]}",
	    "{\"call\":\"run.status\",\"args\":{\"pipeline\":\"p\",\"run\":"
	    "\"r\"},\"argv\":[\"x\"]}",
	    /* missing, foreign and unknown members */
	    "{\"call\":\"run.status\",\"args\":{\"pipeline\":\"p\"}}",
	    "{\"call\":\"run.status\",\"args\":{\"pipeline\":\"p\",\"run\":"
	    "\"r\",\"step\":\"s\"}}",
	    "{\"call\":\"run.unbind\",\"args\":{\"sid\":1,\"uid\":0}}",
	    /* types */
	    "{\"call\":\"run.status\",\"args\":{\"pipeline\":1,\"run\":\"r\"}}",
	    "{\"call\":\"run.unbind\",\"args\":{\"sid\":\"1\"}}",
	    "{\"call\":\"run.unbind\",\"args\":{\"sid\":1.5}}",
	    "{\"call\":\"run.end\",\"args\":{\"pipeline\":\"p\",\"run\":\"r\","
	    "\"seal\":1}}",
	    "{\"call\":\"run.open\",\"args\":{\"pipeline\":\"p\",\"run\":\"r\","
	    "\"steps\":\"s\"}}",
	    "{\"call\":\"run.open\",\"args\":{\"pipeline\":\"p\",\"run\":\"r\","
	    "\"steps\":[1]}}",
	    /* names, specs and session ids */
	    "{\"call\":\"run.status\",\"args\":{\"pipeline\":\"..\",\"run\":"
	    "\"r\"}}",
	    "{\"call\":\"run.status\",\"args\":{\"pipeline\":\"a/b\",\"run\":"
	    "\"r\"}}",
	    "{\"call\":\"run.status\",\"args\":{\"pipeline\":\"\",\"run\":"
	    "\"r\"}}",
	    "{\"call\":\"run.status\",\"args\":{\"pipeline\":\"p\\u0000x\","
	    "\"run\":\"r\"}}",
	    "{\"call\":\"run.status\",\"args\":{\"pipeline\":\"p\\n\",\"run\":"
	    "\"r\"}}",
	    "{\"call\":\"run.input\",\"args\":{\"pipeline\":\"p\",\"run\":"
	    "\"r\","
	    "\"step\":\"s\",\"spec\":\"a@v1/etc\"}}",
	    "{\"call\":\"run.input\",\"args\":{\"pipeline\":\"p\",\"run\":"
	    "\"r\","
	    "\"step\":\"s\",\"spec\":\"@v1\"}}",
	    "{\"call\":\"run.unbind\",\"args\":{\"sid\":0}}",
	    "{\"call\":\"run.unbind\",\"args\":{\"sid\":-1}}",
	    "{\"call\":\"run.unbind\",\"args\":{\"sid\":2147483648}}",
	};
	char big[600];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(call_rc(bad[i]), -EINVAL);
	memset(big, 'n', sizeof(big));
	snprintf(big, sizeof(big),
		 "{\"call\":\"run.status\",\"args\":{\"pipeline\":\"%0300d\","
		 "\"run\":\"r\"}}",
		 0);
	assert_int_equal(call_rc(big), -EINVAL); /* a name over 255 bytes */
	assert_int_equal(call_rc("{\"call\":\"run.unbind\",\"args\":{\"sid\":"
				 "\"\xff\"}}"),
			 -EILSEQ);
}

static void test_ctl_call_decode_refuses_over_caps(void **state)
{
	size_t n = 8192;
	char *s = malloc(n), *p;
	int i;

	(void)state;
	assert_non_null(s);
	p = s + sprintf(s, "{\"call\":\"run.open\",\"args\":{\"pipeline\":"
			   "\"p\",\"run\":\"r\",\"steps\":[");
	for (i = 0; i <= CTL_CALL_STEPS_MAX; i++)
		p += sprintf(p, "%s\"s%d\"", i ? "," : "", i);
	strcpy(p, "]}}");
	assert_int_equal(call_rc(s), -EINVAL); /* 65 steps */
	p = s + sprintf(s, "{\"call\":\"run.note\",\"args\":{\"pipeline\":"
			   "\"p\",\"run\":\"r\",\"key\":\"k\",\"value\":\"");
	memset(p, 'v', CTL_NOTE_MAX + 1);
	strcpy(p + CTL_NOTE_MAX + 1, "\"}}");
	assert_int_equal(call_rc(s), -EINVAL); /* a note over 4096 bytes */
	free(s);
	s = calloc(1, CTL_CALL_MAX + 2);
	assert_non_null(s);
	memset(s, ' ', CTL_CALL_MAX + 1);
	assert_int_equal(call_rc(s), -EMSGSIZE);
	free(s);
}

static void test_ctl_call_encode_round_trip(void **state)
{
	struct ctl_call in[] = {
	    {.op = CTL_CALL_RUN_STATUS, .pipeline = "p", .run = "r"},
	    {.op = CTL_CALL_RUN_OPEN,
	     .pipeline = "p",
	     .run = "r",
	     .steps = {"s"},
	     .nsteps = 1},
	    {.op = CTL_CALL_RUN_STEP, .pipeline = "p", .run = "r", .step = "t"},
	    {.op = CTL_CALL_RUN_INPUT,
	     .pipeline = "p",
	     .run = "r",
	     .step = "s",
	     .spec = "caf\xc3\xa9"},
	    {.op = CTL_CALL_RUN_NOTE,
	     .pipeline = "p",
	     .run = "r",
	     .key = "exit_status",
	     .value = ""},
	    {.op = CTL_CALL_RUN_BIND,
	     .pipeline = "p",
	     .run = "r",
	     .step = "s",
	     .sid = 77},
	    {.op = CTL_CALL_RUN_UNBIND, .sid = 77},
	    {.op = CTL_CALL_RUN_END, .pipeline = "p", .run = "r", .seal = true},
	};
	struct ctl_call out, bad = {.op = CTL_CALL_RUN_STEP, .pipeline = "p"};
	const char *why;
	char *buf;
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		assert_int_equal(ctl_call_encode(&in[i], &buf, &len), 0);
		assert_int_equal(ctl_call_decode(buf, len, &out, &why), 0);
		free(buf);
		assert_int_equal(out.op, in[i].op);
		assert_int_equal(out.sid, in[i].sid);
		assert_int_equal(out.seal, in[i].seal);
		assert_int_equal(out.nsteps, in[i].nsteps);
		if (in[i].pipeline)
			assert_string_equal(out.pipeline, in[i].pipeline);
		if (in[i].spec)
			assert_string_equal(out.spec, in[i].spec);
		if (in[i].value)
			assert_string_equal(out.value, in[i].value);
		ctl_call_release(&out);
	}
	assert_int_equal(ctl_call_encode(&bad, &buf, &len), -EINVAL);
	bad = (struct ctl_call){.op = CTL_CALL_N};
	assert_int_equal(ctl_call_encode(&bad, &buf, &len), -EINVAL);
	assert_null(ctl_call_name(CTL_CALL_N));
	assert_string_equal(ctl_call_name(CTL_CALL_RUN_END), "run.end");
}

static void test_ctl_result_round_trip(void **state)
{
	struct ctl_result st = {.status = STORE_RUN_SEALED, .owner = 1000};
	struct ctl_result in = {.artifact = "a", .version = 3}, out;
	struct ctl_result fail = {.rc = -EACCES};
	char *buf;
	size_t len;

	(void)state;
	assert_int_equal(
	    ctl_result_encode(CTL_CALL_RUN_STATUS, &st, &buf, &len), 0);
	assert_int_equal(ctl_result_decode(buf, len, CTL_CALL_RUN_STATUS, &out),
			 0);
	free(buf);
	assert_int_equal(out.status, STORE_RUN_SEALED);
	assert_int_equal(out.owner, 1000);
	assert_int_equal(ctl_result_encode(CTL_CALL_RUN_INPUT, &in, &buf, &len),
			 0);
	assert_int_equal(ctl_result_decode(buf, len, CTL_CALL_RUN_INPUT, &out),
			 0);
	free(buf);
	assert_string_equal(out.artifact, "a");
	assert_int_equal(out.version, 3);
	assert_int_equal(
	    ctl_result_encode(CTL_CALL_RUN_INPUT, &fail, &buf, &len), 0);
	assert_int_equal(ctl_result_decode(buf, len, CTL_CALL_RUN_INPUT, &out),
			 0);
	free(buf);
	assert_int_equal(out.rc, -EACCES);
	assert_string_equal(out.artifact, "");
	fail.rc = 5;
	assert_int_equal(ctl_result_encode(CTL_CALL_RUN_END, &fail, &buf, &len),
			 -EINVAL);
}

static void test_ctl_result_decode_refuses_bad(void **state)
{
	static const struct {
		enum ctl_call_op op;
		const char *s;
	} bad[] = {
	    {CTL_CALL_RUN_END, "{\"rc\":1}"},
	    {CTL_CALL_RUN_END, "{\"rc\":-5000}"},
	    {CTL_CALL_RUN_END, "{\"rc\":\"0\"}"},
	    {CTL_CALL_RUN_END, "{\"rc\":0,\"status\":\"open\"}"},
	    {CTL_CALL_RUN_END, "{\"rc\":-2,\"why\":\"x\"}"},
	    {CTL_CALL_RUN_STATUS, "{\"rc\":0}"},
	    {CTL_CALL_RUN_STATUS, "{\"rc\":0,\"status\":\"gone\",\"owner\":0}"},
	    {CTL_CALL_RUN_STATUS,
	     "{\"rc\":0,\"status\":\"open\",\"owner\":-1}"},
	    {CTL_CALL_RUN_INPUT,
	     "{\"rc\":0,\"artifact\":\"a/b\",\"version\":1}"},
	    {CTL_CALL_RUN_INPUT,
	     "{\"rc\":0,\"artifact\":\"a\",\"version\":4294967296}"},
	    {CTL_CALL_N, "{\"rc\":0}"},
	};
	struct ctl_result out;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(ctl_result_decode(bad[i].s, strlen(bad[i].s),
						   bad[i].op, &out),
				 -EINVAL);
}

/* run.env carries an environment bundle far over a note's cap (up to
 * CTL_ENV_MAX); run.cache a flag; both results carry text. */
static void test_ctl_env_cache_calls_round_trip(void **state)
{
	struct ctl_call in = {.op = CTL_CALL_RUN_ENV,
			      .pipeline = "p",
			      .run = "r",
			      .step = "s"},
			out;
	struct ctl_result env = {.text = "sha256:00"},
			  hit = {.hit = true, .text = "step s: cache hit"}, res;
	char *big = malloc(CTL_ENV_MAX + 2), *buf;
	const char *why;
	size_t len;

	(void)state;
	assert_non_null(big);
	memset(big, 'e', CTL_ENV_MAX);
	big[CTL_ENV_MAX] = '\0';
	in.value = big;
	assert_int_equal(ctl_call_encode(&in, &buf, &len), 0);
	assert_int_equal(ctl_call_decode(buf, len, &out, &why), 0);
	free(buf);
	assert_int_equal(strlen(out.value), CTL_ENV_MAX);
	ctl_call_release(&out);
	strcpy(big + CTL_ENV_MAX, "e");
	assert_int_equal(ctl_call_encode(&in, &buf, &len), -EINVAL);
	in.op = CTL_CALL_RUN_NOTE; /* a note keeps its own cap */
	in.step = NULL;
	in.key = "k";
	big[CTL_NOTE_MAX + 1] = '\0';
	assert_int_equal(ctl_call_encode(&in, &buf, &len), -EINVAL);
	free(big);

	in = (struct ctl_call){.op = CTL_CALL_RUN_CACHE,
			       .pipeline = "p",
			       .run = "r",
			       .step = "s",
			       .seal = false};
	assert_int_equal(ctl_call_encode(&in, &buf, &len), 0);
	assert_int_equal(ctl_call_decode(buf, len, &out, &why), 0);
	free(buf);
	assert_false(out.seal);
	assert_string_equal(ctl_call_name(out.op), "run.cache");
	ctl_call_release(&out);

	assert_int_equal(ctl_result_encode(CTL_CALL_RUN_ENV, &env, &buf, &len),
			 0);
	assert_int_equal(ctl_result_decode(buf, len, CTL_CALL_RUN_ENV, &res),
			 0);
	free(buf);
	assert_string_equal(res.text, "sha256:00");
	assert_int_equal(
	    ctl_result_encode(CTL_CALL_RUN_CACHE, &hit, &buf, &len), 0);
	assert_int_equal(ctl_result_decode(buf, len, CTL_CALL_RUN_CACHE, &res),
			 0);
	free(buf);
	assert_true(res.hit);
	assert_string_equal(res.text, "step s: cache hit");
	assert_int_equal(
	    ctl_result_decode("{\"rc\":0}", 8, CTL_CALL_RUN_CACHE, &res),
	    -EINVAL);
}

/* run.secret: a secret spec as key; the value comes back in hex, any
 * byte, and a result that is not hex or has no version is refused. */
static void test_ctl_secret_call_round_trip(void **state)
{
	struct ctl_call in = {.op = CTL_CALL_RUN_SECRET,
			      .pipeline = "p",
			      .run = "r",
			      .step = "s",
			      .key = "db@v2"},
			out;
	uint8_t val[] = {0xff, 'a', 0x80, '\n'};
	struct ctl_result r = {.version = 2}, res;
	const char *why;
	char *buf;
	size_t len;

	(void)state;
	assert_int_equal(ctl_call_encode(&in, &buf, &len), 0);
	assert_int_equal(ctl_call_decode(buf, len, &out, &why), 0);
	free(buf);
	assert_string_equal(ctl_call_name(out.op), "run.secret");
	assert_string_equal(out.key, "db@v2");
	ctl_call_release(&out);
	r.secret = val;
	r.secret_len = sizeof(val);
	assert_int_equal(ctl_result_encode(CTL_CALL_RUN_SECRET, &r, &buf, &len),
			 0);
	assert_non_null(memmem(buf, len, "\"ff61800a\"", 10));
	assert_int_equal(ctl_result_decode(buf, len, CTL_CALL_RUN_SECRET, &res),
			 0);
	free(buf);
	assert_int_equal(res.secret_len, sizeof(val));
	assert_memory_equal(res.secret, val, sizeof(val));
	assert_int_equal(res.version, 2);
	ctl_result_release(&res);
	assert_null(res.secret);
	static const char *const bad[] = {
	    "{\"rc\":0,\"value\":\"f\",\"version\":1}",
	    "{\"rc\":0,\"value\":\"zz\",\"version\":1}",
	    "{\"rc\":0,\"value\":\"FF\",\"version\":1}",
	    "{\"rc\":0,\"value\":\"ff\",\"version\":0}",
	    "{\"rc\":0,\"value\":\"ff\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		assert_int_equal(ctl_result_decode(bad[i], strlen(bad[i]),
						   CTL_CALL_RUN_SECRET, &res),
				 -EINVAL);
		assert_null(res.secret);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ctl_secret_call_round_trip),
	    cmocka_unit_test(test_ctl_request_decode_valid),
	    cmocka_unit_test(test_ctl_request_decode_refuses_malformed),
	    cmocka_unit_test(test_ctl_request_decode_refuses_nul_and_utf8),
	    cmocka_unit_test(test_ctl_request_decode_refuses_over_caps),
	    cmocka_unit_test(test_ctl_request_encode_round_trip),
	    cmocka_unit_test(test_ctl_frame_round_trip),
	    cmocka_unit_test(test_ctl_fileop_round_trip),
	    cmocka_unit_test(test_ctl_fileop_decode_refuses_bad_ops_and_flags),
	    cmocka_unit_test(test_ctl_reply_round_trip),
	    cmocka_unit_test(test_ctl_reply_decode_refuses_bad),
	    cmocka_unit_test(test_ctl_progress_round_trip),
	    cmocka_unit_test(test_ctl_call_decode_valid),
	    cmocka_unit_test(test_ctl_call_decode_refuses_malformed),
	    cmocka_unit_test(test_ctl_call_decode_refuses_over_caps),
	    cmocka_unit_test(test_ctl_call_encode_round_trip),
	    cmocka_unit_test(test_ctl_result_round_trip),
	    cmocka_unit_test(test_ctl_result_decode_refuses_bad),
	    cmocka_unit_test(test_ctl_env_cache_calls_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
