/*
 * fuzz_xattr.c - libFuzzer target for the POSIX ACL xattr decoder of the
 * mount (fs/mount/mnt_xacl.c, mnt_xacl_parse): the value setfacl writes
 * to system.posix_acl_access (u32 version 2, then 8-byte entries of u16
 * tag, u16 perm, u32 id).
 *
 * The input is the value.  The outcome is 0 or -EINVAL (-ENOMEM aside);
 * on success the named entries are user or group entries of the input,
 * in order, with bits 0..7; on error nothing is returned.  Whatever
 * decodes, re-encoded with mnt_xacl_put, decodes the same.  Nothing may
 * crash, leak or read out of bounds.
 */
#include "mnt_i.h"

#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Encodes e[0..n) as a value of its own and checks it decodes the same. */
static void round_trip(const struct mnt_xacl_named *e, size_t n)
{
	size_t len = MNT_XACL_HDR + n * MNT_XACL_ENTRY;
	struct mnt_xacl_named *again;
	uint32_t ver = htole32(MNT_XACL_VERSION);
	char *buf = malloc(len);
	size_t m;

	if (!buf)
		return;
	memcpy(buf, &ver, 4);
	for (size_t i = 0; i < n; i++)
		mnt_xacl_put(buf + MNT_XACL_HDR + i * MNT_XACL_ENTRY,
			     e[i].tag == 'u' ? MNT_XACL_USER : MNT_XACL_GROUP,
			     (unsigned)e[i].bits, e[i].id);
	if (mnt_xacl_parse(buf, len, &again, &m) == 0) {
		if (m != n)
			abort();
		for (size_t i = 0; i < n; i++)
			if (again[i].tag != e[i].tag ||
			    again[i].id != e[i].id ||
			    again[i].bits != e[i].bits)
				abort();
		free(again);
	}
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mnt_xacl_named *e;
	size_t n;
	int rc;

	/* An exact copy, so that ASan sees a read past its end. */
	char *value = malloc(size ? size : 1);

	if (!value)
		return 0;
	memcpy(value, data, size);
	rc = mnt_xacl_parse(value, size, &e, &n);
	if (rc == -ENOMEM) {
		free(value);
		return 0;
	}
	if (rc != 0 && rc != -EINVAL)
		abort();
	if (rc) {
		if (e || n)
			abort();
	} else {
		if (n > (size - MNT_XACL_HDR) / MNT_XACL_ENTRY)
			abort();
		for (size_t i = 0; i < n; i++)
			if ((e[i].tag != 'u' && e[i].tag != 'g') ||
			    e[i].bits < 0 || e[i].bits > 7)
				abort();
		round_trip(e, n);
		free(e);
	}
	free(value);
	return 0;
}
