/*
 * fs/base/format.c - the human forms of sizes, times, modes and digests
 * that the command line prints and the progress line draws.
 *
 * Each writes into a caller's fixed-size buffer (the FS_*_STR_LEN sizes
 * of base.h) and cannot fail: what does not fit is cut, what cannot be
 * shown is "?".
 */
#include <stdio.h>
#include <time.h>

#include "base.h"

void fs_size_human(uint64_t n, char out[FS_SIZE_STR_LEN])
{
	static const char *const units[] = {"KiB", "MiB", "GiB",
					    "TiB", "PiB", "EiB"};
	double v = (double)n;
	size_t u = 0;

	if (n < 1024) {
		snprintf(out, FS_SIZE_STR_LEN, "%llu B", (unsigned long long)n);
		return;
	}
	v /= 1024.0;
	while (v >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024.0;
		u++;
	}
	snprintf(out, FS_SIZE_STR_LEN, v < 10.0 ? "%.2f %s" : "%.1f %s", v,
		 units[u]);
}

void fs_time_iso(int64_t ns, char out[FS_TIME_STR_LEN])
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;

	if (!gmtime_r(&t, &tm) ||
	    !strftime(out, FS_TIME_STR_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, FS_TIME_STR_LEN, "?");
}

void fs_mode_string(enum store_kind kind, uint32_t mode,
		    char out[FS_MODE_STR_LEN])
{
	static const char rwx[] = "rwxrwxrwx";
	int i;

	out[0] = kind == STORE_KIND_DIR	      ? 'd'
		 : kind == STORE_KIND_SYMLINK ? 'l'
					      : '-';
	for (i = 0; i < 9; i++)
		out[1 + i] = mode & (0400u >> i) ? rwx[i] : '-';
	if (mode & 04000)
		out[3] = mode & 0100 ? 's' : 'S';
	if (mode & 02000)
		out[6] = mode & 0010 ? 's' : 'S';
	if (mode & 01000)
		out[9] = mode & 0001 ? 't' : 'T';
	out[10] = '\0';
}

void fs_digest_short(const uint8_t digest[STORE_DIGEST_LEN],
		     char out[FS_DIGEST_SHORT_LEN])
{
	char full[STORE_DIGEST_STR_LEN];

	store_digest_format(digest, full);
	snprintf(out, FS_DIGEST_SHORT_LEN, "%.19s", full);
}
