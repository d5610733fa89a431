/*
 * fs/main.c - the `artifactfs` program: the command line (fs/cli) run for
 * this process.
 */
#include "cli.h"

#include <locale.h>

int main(int argc, char **argv)
{
	/* The character set only (names' display width in tables); numbers
	 * and messages stay as they are. */
	setlocale(LC_CTYPE, "");
	return fs_main(argc, argv, NULL);
}
