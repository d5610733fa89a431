/*
 * name.c - what a name in the store may be (store_name_check).
 *
 * On its own, with nothing but libc, so that decoders of outside input
 * (the daemon's request codec, its fuzzer) can check names without the
 * rest of the store.
 */
#include "store.h"

#include <errno.h>

int store_name_check(const char *name, size_t len)
{
	if (len == 0)
		return -EINVAL;
	if (len > STORE_NAME_MAX)
		return -ENAMETOOLONG;
	if ((len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '/' || c < 0x20 || c == 0x7f)
			return -EINVAL;
	}
	return 0;
}
