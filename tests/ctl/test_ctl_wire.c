/*
 * test_ctl_wire.c - the command socket's codec (fs/ctl_wire.c): valid
 * requests decode, every malformed one is refused with its errno, and
 * frames, file operations, replies and progress survive a round trip.
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

int main(void)
{
	const struct CMUnitTest tests[] = {
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
