/*
 * nofile.c - the process's limit of open files: raised at start for the
 * store and the mount, put back for the programs it runs.
 */
#include "cli.h"

#include <sys/resource.h>

static rlim_t soft_at_start = RLIM_INFINITY;
static int raised;

void fs_nofile_raise(void)
{
	struct rlimit l;

	if (getrlimit(RLIMIT_NOFILE, &l) < 0 || l.rlim_cur >= l.rlim_max)
		return;
	soft_at_start = l.rlim_cur;
	l.rlim_cur = l.rlim_max > (1 << 20) ? (1 << 20) : l.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &l) == 0)
		raised = 1;
}

void fs_nofile_restore(void)
{
	struct rlimit l;

	if (!raised || getrlimit(RLIMIT_NOFILE, &l) < 0)
		return;
	l.rlim_cur = soft_at_start;
	setrlimit(RLIMIT_NOFILE, &l);
}
