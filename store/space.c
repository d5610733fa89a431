/*
 * space.c - a store on a disk that fills up.
 *
 * A full disk must stay recoverable with the product's own commands, so
 * the store keeps two margins:
 *   - writes of content stop while less than SPACE_HEADROOM would stay
 *     free (counting chunks still in memory, which a flush will write),
 *     so the store itself never fills its disk to the last byte, and
 *     in a daemon, near a full disk, chunks still in memory are
 *     flushed early, so the flush gc needs always fits in the reserve;
 *   - a reserve file (DIR/reserve, SPACE_RESERVE bytes, less on a small
 *     disk) is given back when the disk is full anyway (filled by someone
 *     else, or a store made before the reserve): at open, so that the
 *     database can open and the journal can take records, and when gc
 *     needs room.  It is made again once there is room for it.
 * RocksDB aborts on some writes that fail for want of space (an assertion
 * in its file writer): the margins keep it from meeting them.
 */
#include "store_i.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#define SPACE_RESERVE  (8ull << 20)
#define SPACE_HEADROOM (2ull << 20)
#define RESERVE_NAME   "reserve"

static int space_free(const char *dir, uint64_t *avail, uint64_t *total)
{
	struct statvfs v;

	if (statvfs(dir, &v) < 0)
		return -errno;
	*avail = (uint64_t)v.f_bavail * v.f_frsize;
	if (total)
		*total = (uint64_t)v.f_blocks * v.f_frsize;
	return 0;
}

/* The reserve's size: 8 MiB, or a sixteenth of a smaller disk. */
static uint64_t reserve_size(uint64_t total)
{
	return total / 16 < SPACE_RESERVE ? total / 16 : SPACE_RESERVE;
}

static char *reserve_path(const char *dir)
{
	char *p;

	return asprintf(&p, "%s/%s", dir, RESERVE_NAME) < 0 ? NULL : p;
}

bool space_reserve_held(const char *dir)
{
	char *p = reserve_path(dir);
	bool held = p && access(p, F_OK) == 0;

	free(p);
	return held;
}

static int reserve_fill(int fd, uint64_t size)
{
	static const uint8_t zero[64 << 10];
	uint64_t done = 0;

	while (done < size) {
		size_t n =
		    size - done < sizeof(zero) ? size - done : sizeof(zero);
		ssize_t w = write(fd, zero, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -ENOSPC;
		done += (uint64_t)w;
	}
	return fsync(fd) < 0 ? -errno : 0;
}

void space_reserve_make_wait(const char *dir)
{
	uint64_t avail = 0, total = 0;
	struct timespec ts = {0, 100 * 1000 * 1000};

	/* RocksDB deletes the files a compaction made obsolete a moment
	 * later, in its own threads. */
	for (int i = 0; i < 30 && !space_free(dir, &avail, &total) &&
			avail < reserve_size(total) + 2 * SPACE_HEADROOM;
	     i++)
		nanosleep(&ts, NULL);
	space_reserve_make(dir);
}

void space_reserve_make(const char *dir)
{
	uint64_t avail = 0, total = 0, size;
	char *p;
	int fd, rc;

	if (space_free(dir, &avail, &total) || space_reserve_held(dir))
		return;
	size = reserve_size(total);
	if (avail < size + 2 * SPACE_HEADROOM)
		return;
	p = reserve_path(dir);
	if (!p)
		return;
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		free(p);
		return;
	}
	rc = reserve_fill(fd, size);
	close(fd);
	if (rc) {
		unlink(p);
		store_log(STORE_LOG_DEBUG, "cannot make %s: %s", p,
			  strerror(-rc));
	}
	free(p);
}

bool space_reserve_release(const char *dir, const char *why)
{
	char *p = reserve_path(dir);
	bool done = p && unlink(p) == 0;

	if (done)
		store_log(STORE_LOG_WARNING,
			  "the disk of store %s is full: its reserve was "
			  "released %s",
			  dir, why);
	free(p);
	return done;
}

bool space_room(const char *dir, uint64_t need)
{
	uint64_t avail = 0;

	return space_free(dir, &avail, NULL) == 0 &&
	       avail >= need + SPACE_HEADROOM;
}

bool space_low(const char *dir)
{
	uint64_t avail = 0;

	return space_free(dir, &avail, NULL) == 0 && avail < SPACE_HEADROOM;
}

int space_check(struct store *s, uint64_t need)
{
	uint64_t avail = 0, total = 0, pending = db_memtable_bytes(s->db);
	int rc = space_free(s->dir, &avail, &total);

	if (rc)
		return 0; /* cannot tell: let the write itself say */
	/* Near a full disk, chunks waiting in memory go to disk early (past
	 * a quarter of the reserve), so that the reserve, once given back,
	 * always holds the flush that gc needs before it can free anything.
	 * Someone else may fill the disk at any moment. */
	if (s->opt.serving && pending > reserve_size(total) / 4 &&
	    avail < need + pending + SPACE_HEADROOM + 4 * reserve_size(total) &&
	    db_flush_chunks(s->db) == 0)
		pending = db_memtable_bytes(s->db);
	/* A released reserve is not room for content: it comes back first. */
	if (!space_reserve_held(s->dir))
		need += reserve_size(total);
	if (avail >= need + pending + SPACE_HEADROOM)
		return 0;
	store_log(STORE_LOG_DEBUG,
		  "refusing a write of %llu bytes: %llu free, %llu to flush",
		  (unsigned long long)need, (unsigned long long)avail,
		  (unsigned long long)pending);
	return -ENOSPC;
}
