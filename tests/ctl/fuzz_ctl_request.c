/*
 * fuzz_ctl_request.c - libFuzzer target for the command socket's codec:
 * the request decoder (what a hostile local user sends first) and, keyed
 * by the first byte, the file-operation, reply and progress decoders.
 * Nothing may crash, leak or read out of bounds.
 */
#include "ctl_wire_i.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_request r;
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
	if (size < 1)
		return 0;
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
