/*
 * fuzz_ctl_request.c - libFuzzer target for the command socket's codec:
 * the request decoder (what a hostile local user sends first) and, keyed
 * by the first byte, the file-operation, reply and progress decoders, and
 * the typed call and result decoders ('c' and 'a' frames).
 * Nothing may crash, leak or read out of bounds.
 */
#include "ctl_wire_i.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_request r;
	struct ctl_call call;
	struct ctl_result res;
	struct ctl_fileop op;
	struct ctl_reply *rep;
	const char *why;
	char label[64];
	uint64_t done, total;
	char *buf;
	size_t len;

	if (ctl_request_decode(data, size, &r, &why) == 0) {
		/* what decodes re-encodes */
		if (ctl_request_encode(r.argc, r.argv, r.tty, &buf, &len) != 0)
			abort();
		free(buf);
		ctl_request_release(&r);
	}
	if (ctl_call_decode(data, size, &call, &why) == 0) {
		if (ctl_call_encode(&call, &buf, &len) != 0)
			abort();
		free(buf);
		ctl_call_release(&call);
	}
	if (size < 1)
		return 0;
	if (ctl_result_decode(data + 1, size - 1,
			      (enum ctl_call_op)(data[0] % (CTL_CALL_N + 1)),
			      &res) == 0) {
		if (ctl_result_encode(
			(enum ctl_call_op)(data[0] % (CTL_CALL_N + 1)), &res,
			&buf, &len) != 0)
			abort();
		free(buf);
		ctl_result_release(&res);
	}
	if (ctl_fileop_decode(data + 1, size - 1, &op) == 0) {
		if (ctl_fileop_encode(&op, &buf, &len) != 0)
			abort();
		free(buf);
		ctl_fileop_release(&op);
	}
	rep = malloc(sizeof(*rep));
	if (rep) {
		ctl_reply_decode(data + 1, size - 1, (enum ctl_op)(data[0] % 8),
				 (size_t)data[0] * 16, rep);
		free(rep);
	}
	ctl_progress_decode(data + 1, size - 1, label, &done, &total);
	return 0;
}
