/*
 * mnt_xacl.c - the wire format of system.posix_acl_access
 * (linux/posix_acl_xattr.h): a little-endian u32 version (2), then
 * entries of u16 tag, u16 perm, u32 id, sorted by tag and then id.
 *
 * mnt_acl.c writes it for getfacl and reads what setfacl sends; the
 * decoder is alone here (libc only) so that tests/fuzz can feed it.
 */
#include "mnt_i.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

void mnt_xacl_put(char *p, unsigned tag, unsigned perm, uint32_t id)
{
	uint16_t t = htole16((uint16_t)tag), pm = htole16((uint16_t)perm);
	uint32_t i = htole32(id);

	memcpy(p, &t, 2);
	memcpy(p + 2, &pm, 2);
	memcpy(p + 4, &i, 4);
}

int mnt_xacl_parse(const char *value, size_t size, struct mnt_xacl_named **out,
		   size_t *n)
{
	uint32_t ver;
	size_t cnt;

	*out = NULL;
	*n = 0;
	if (size < MNT_XACL_HDR || (size - MNT_XACL_HDR) % MNT_XACL_ENTRY)
		return -EINVAL;
	memcpy(&ver, value, 4);
	if (le32toh(ver) != MNT_XACL_VERSION)
		return -EINVAL;
	cnt = (size - MNT_XACL_HDR) / MNT_XACL_ENTRY;
	*out = calloc(cnt ? cnt : 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < cnt; i++) {
		const char *p = value + MNT_XACL_HDR + i * MNT_XACL_ENTRY;
		uint16_t tag, perm;
		uint32_t id;

		memcpy(&tag, p, 2);
		memcpy(&perm, p + 2, 2);
		memcpy(&id, p + 4, 4);
		tag = le16toh(tag);
		if (tag != MNT_XACL_USER && tag != MNT_XACL_GROUP)
			continue; /* the base entries follow the bindings */
		(*out)[(*n)++] = (struct mnt_xacl_named){
		    .tag = tag == MNT_XACL_USER ? 'u' : 'g',
		    .id = le32toh(id),
		    .bits = le16toh(perm) & 7,
		};
	}
	return 0;
}

int mnt_xacl_base(const char *value, size_t size, struct mnt_xacl_base *out)
{
	uint32_t ver;

	*out = (struct mnt_xacl_base){0};
	if (size < MNT_XACL_HDR || (size - MNT_XACL_HDR) % MNT_XACL_ENTRY)
		return -EINVAL;
	memcpy(&ver, value, 4);
	if (le32toh(ver) != MNT_XACL_VERSION)
		return -EINVAL;
	for (size_t off = MNT_XACL_HDR; off < size; off += MNT_XACL_ENTRY) {
		uint16_t tag, perm;

		memcpy(&tag, value + off, 2);
		memcpy(&perm, value + off + 2, 2);
		tag = le16toh(tag);
		perm = le16toh(perm) & 7;
		if (tag == MNT_XACL_USER_OBJ)
			out->user = perm;
		else if (tag == MNT_XACL_GROUP_OBJ)
			out->group = perm;
		else if (tag == MNT_XACL_OTHER)
			out->other = perm;
		else if (tag == MNT_XACL_MASK)
			out->mask = perm, out->has_mask = true;
		else if (tag == MNT_XACL_USER || tag == MNT_XACL_GROUP)
			out->named++;
	}
	return 0;
}

uint32_t mnt_xacl_mode(const struct mnt_xacl_base *b)
{
	/* As chmod(2) sees an ACL: the group bits are the mask's. */
	int group = b->has_mask ? b->mask : b->group;

	return (uint32_t)(b->user << 6 | group << 3 | b->other);
}
