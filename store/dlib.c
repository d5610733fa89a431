/*
 * dlib.c - a shared library loaded at run time into a table of its
 * functions (rockslib.c, radoslib.c).
 */
#include "store_i.h"

#include <dlfcn.h>
#include <errno.h>

int dlib_load(const char *const *names, size_t nnames, const char *what,
	      const char *package, const struct dlib_sym *syms, size_t nsyms)
{
	void *h = NULL;

	for (size_t i = 0; !h && i < nnames; i++)
		h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		store_log(STORE_LOG_ERR, "cannot load %s: %s (install %s)",
			  what, dlerror(), package);
		return -ENOTSUP;
	}
	for (size_t i = 0; i < nsyms; i++) {
		if (!(*syms[i].slot = dlsym(h, syms[i].name))) {
			store_log(STORE_LOG_ERR, "%s lacks %s: %s", names[0],
				  syms[i].name, dlerror());
			return -ENOTSUP;
		}
	}
	return 0;
}
