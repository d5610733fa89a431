/*
 * name.c - what a name in the store may be: the one validator of names
 * (store_name_valid) and of version refs (store_ref_number).
 *
 * On its own, with nothing but libc, so that decoders of outside input
 * (the daemon's request codec, its fuzzer) can check names without the
 * rest of the store.
 */
#include "store.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* "v" followed by decimal digits only: the form of a version ref. */
static bool version_form(const char *name, size_t len)
{
	if (len < 2 || name[0] != 'v')
		return false;
	for (size_t i = 1; i < len; i++) {
		if (name[i] < '0' || name[i] > '9')
			return false;
	}
	return true;
}

static int refuse(const char **why, const char *reason, int rc)
{
	if (why)
		*why = reason;
	return rc;
}

/* The rules every path component obeys. */
static int component_check(const char *name, size_t len, const char **why)
{
	if (len == 0)
		return refuse(why, "it is empty", -EINVAL);
	if (len > STORE_NAME_MAX)
		return refuse(why, "it is longer than 255 bytes",
			      -ENAMETOOLONG);
	if ((len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return refuse(why, "'.' and '..' name directories", -EINVAL);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '/')
			return refuse(why, "it holds '/'", -EINVAL);
		if (c == '\n')
			return refuse(why, "it holds a newline", -EINVAL);
		if (c == 0)
			return refuse(why, "it holds a NUL byte", -EINVAL);
		if (c < 0x20 || c == 0x7f)
			return refuse(why, "it holds a control character",
				      -EINVAL);
	}
	return 0;
}

int store_name_valid(enum store_name_kind kind, const char *name, size_t len,
		     const char **why)
{
	int rc = component_check(name, len, why);

	if (rc || kind == STORE_NAME_FILE)
		return rc;
	if (memchr(name, '@', len))
		return refuse(why,
			      "it holds '@', which separates a name from its "
			      "version (NAME@REF)",
			      -EINVAL);
	if (version_form(name, len))
		return refuse(why, "names of the form vN are version refs",
			      -EINVAL);
	if (len == 6 && !memcmp(name, "latest", 6))
		return refuse(why, "'latest' is the ref of the newest version",
			      -EINVAL);
	return 0;
}

int store_name_check(const char *name, size_t len)
{
	return store_name_valid(STORE_NAME_FILE, name, len, NULL);
}

int store_ref_number(const char *ref, uint32_t *number)
{
	size_t len = strlen(ref);
	uint64_t n = 0;

	if (!version_form(ref, len))
		return 0;
	if (ref[1] == '0' || len > 11)
		return -EINVAL; /* v0, v01: no version has that name */
	for (size_t i = 1; i < len; i++)
		n = n * 10 + (uint64_t)(ref[i] - '0');
	if (n > UINT32_MAX)
		return -EINVAL;
	*number = (uint32_t)n;
	return 1;
}

int store_step_names_check(const char *pipeline, const char *run,
			   const char *step)
{
	const char *v[3] = {pipeline, run, step};

	for (int i = 0; i < 3; i++) {
		int rc = store_name_check(v[i], strlen(v[i]));

		if (rc)
			return rc;
	}
	return 0;
}
