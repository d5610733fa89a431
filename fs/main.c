/*
 * fs/main.c - the `artifactfs` program: the command line (fs/cli) run for
 * this process.
 */
#include "cli.h"

#include <locale.h>
#include <malloc.h>

int main(int argc, char **argv)
{
	/* The character set only (names' display width in tables); numbers
	 * and messages stay as they are. */
	setlocale(LC_CTYPE, "");
	/* Every chunk read allocates buffers of a chunk's size (RocksDB's
	 * blob reads, decompression): served from the heap and kept there,
	 * not mapped and unmapped each time, which cost a page fault per
	 * 4 KiB, a tenth of a cold read's CPU (scripts/bench/cold_read.sh). */
	mallopt(M_MMAP_THRESHOLD, 4 << 20);
	mallopt(M_TRIM_THRESHOLD, 32 << 20);
	fs_nofile_raise();
	return fs_main(argc, argv, NULL);
}
