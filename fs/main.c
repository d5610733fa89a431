/*
 * fs/main.c - the `artifactfs` program: the command line (fs/cli) run for
 * this process.
 */
#include "cli.h"

int main(int argc, char **argv)
{
	return fs_main(argc, argv, NULL);
}
