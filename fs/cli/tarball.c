/*
 * tarball.c - an export as one file: a plain POSIX ustar archive of its
 * directory (regular files and directories only), written and read here
 * with no library.
 *
 * Reading trusts nothing in the file: every header's checksum is
 * checked, a name must be relative with no ".." component and fit the
 * header (no GNU or pax extensions), sizes are octal and capped, and
 * only regular files and directories are made, inside the destination,
 * never following a link (O_NOFOLLOW, O_EXCL).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_i.h"

#define BLOCK	 512
#define NAME_LEN 100
#define PFX_LEN	 155
/* Largest member read back: a RocksDB blob file holds up to some GiB. */
#define MEMBER_MAX (64ULL << 30)

struct hdr {
	char name[100], mode[8], uid[8], gid[8], size[12], mtime[12];
	char chksum[8], typeflag, linkname[100], magic[6], version[2];
	char uname[32], gname[32], devmajor[8], devminor[8], prefix[155];
	char pad[12];
};

_Static_assert(sizeof(struct hdr) == BLOCK, "a ustar header is one block");

static unsigned sum_of(const struct hdr *h)
{
	const unsigned char *p = (const unsigned char *)h;
	unsigned sum = 0;

	for (size_t i = 0; i < BLOCK; i++)
		sum += (i >= 148 && i < 156) ? ' ' : p[i];
	return sum;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ------------------------------------------------------------ writing */

struct tw {
	int fd;
	size_t skip; /* the length of the directory's path and its '/' */
	struct fs_progress *prog;
	int rc;
};

static struct tw *tw_cur; /* nftw passes no argument; one writer a time */

static int put_header(struct tw *w, const char *name, const struct stat *st,
		      char type)
{
	struct hdr h;
	size_t len = strlen(name);
	const char *cut = name;

	memset(&h, 0, sizeof(h));
	if (len > NAME_LEN) { /* split at a '/' into prefix and name */
		cut = strchr(name + len - NAME_LEN - 1, '/');
		if (!cut || (size_t)(cut - name) > PFX_LEN)
			return -ENAMETOOLONG;
		memcpy(h.prefix, name, (size_t)(cut - name));
		cut++;
	}
	memcpy(h.name, cut, strlen(cut));
	snprintf(h.mode, sizeof(h.mode), "%07o", type == '5' ? 0755 : 0644);
	snprintf(h.uid, sizeof(h.uid), "%07o", 0);
	snprintf(h.gid, sizeof(h.gid), "%07o", 0);
	snprintf(h.size, sizeof(h.size), "%011llo",
		 type == '5' ? 0ULL : (unsigned long long)st->st_size);
	snprintf(h.mtime, sizeof(h.mtime), "%011llo",
		 (unsigned long long)st->st_mtime);
	h.typeflag = type;
	memcpy(h.magic, "ustar", 6);
	memcpy(h.version, "00", 2);
	snprintf(h.chksum, sizeof(h.chksum), "%06o", sum_of(&h));
	h.chksum[7] = ' ';
	return write_all(w->fd, &h, sizeof(h));
}

static int put_file(struct tw *w, const char *path, const struct stat *st)
{
	static const char zero[BLOCK];
	char buf[1 << 16];
	off_t left = st->st_size;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), rc = 0;

	if (fd < 0)
		return -errno;
	while (left > 0 && !rc) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO; /* it shrank */
			break;
		}
		if (n > left)
			n = (ssize_t)left; /* it grew: the header holds */
		rc = write_all(w->fd, buf, (size_t)n);
		left -= n;
		fs_progress_add(w->prog, (uint64_t)n);
	}
	close(fd);
	if (!rc && st->st_size % BLOCK)
		rc = write_all(w->fd, zero,
			       BLOCK - (size_t)(st->st_size % BLOCK));
	return rc;
}

static int tw_one(const char *path, const struct stat *st, int flag,
		  struct FTW *f)
{
	struct tw *w = tw_cur;
	const char *name = path + w->skip;

	(void)f;
	if (strlen(path) < w->skip)
		return 0; /* the directory itself */
	if (flag == FTW_D)
		w->rc = put_header(w, name, st, '5');
	else if (flag == FTW_F && S_ISREG(st->st_mode)) {
		w->rc = put_header(w, name, st, '0');
		if (!w->rc)
			w->rc = put_file(w, path, st);
	} else
		w->rc = -EINVAL; /* no links, devices, unreadable dirs */
	if (w->rc)
		store_log(STORE_LOG_ERR, "cannot add %s to the tar file: %s",
			  path, strerror(-w->rc));
	return w->rc ? 1 : 0;
}

static int du_one(const char *path, const struct stat *st, int flag,
		  struct FTW *f)
{
	(void)path, (void)f;
	if (flag == FTW_F)
		tw_cur->prog->total += (uint64_t)st->st_size;
	return 0;
}

int fs_tar_write(const char *dir, const char *file, struct fs_progress *prog)
{
	static const char end[2 * BLOCK];
	char tmp[4096];
	struct tw w = {.skip = strlen(dir) + 1, .prog = prog};
	int rc;

	snprintf(tmp, sizeof(tmp), "%s.part", file);
	w.fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (w.fd < 0) {
		rc = -errno;
		store_log(STORE_LOG_ERR, "cannot create %s: %s", tmp,
			  strerror(errno));
		return rc;
	}
	tw_cur = &w;
	nftw(dir, du_one, 16, FTW_PHYS);
	rc = nftw(dir, tw_one, 16, FTW_PHYS) ? (w.rc ? w.rc : -errno) : 0;
	tw_cur = NULL;
	if (!rc)
		rc = write_all(w.fd, end, sizeof(end));
	if (!rc && fsync(w.fd) < 0)
		rc = -errno;
	if (close(w.fd) < 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, file) < 0)
		rc = -errno;
	if (rc) {
		store_log(STORE_LOG_ERR, "cannot write %s: %s", file,
			  strerror(-rc));
		unlink(tmp);
	}
	return rc;
}

/* ------------------------------------------------------------ reading */

static int octal(const char *p, size_t len, unsigned long long *out)
{
	unsigned long long v = 0;
	size_t i = 0;

	while (i < len && p[i] == ' ')
		i++;
	for (; i < len && p[i] >= '0' && p[i] <= '7'; i++)
		v = v * 8 + (unsigned)(p[i] - '0');
	if (i < len && p[i] != '\0' && p[i] != ' ')
		return -EINVAL;
	*out = v;
	return 0;
}

/* The member's relative path into out: no "..", no leading '/'. */
static int member_name(const struct hdr *h, char *out, size_t size)
{
	char copy[NAME_LEN + PFX_LEN + 2], *save = NULL;

	if ((size_t)snprintf(out, size, "%.*s%s%.*s", PFX_LEN, h->prefix,
			     h->prefix[0] ? "/" : "", NAME_LEN,
			     h->name) >= size ||
	    !out[0] || out[0] == '/')
		return -EINVAL;
	snprintf(copy, sizeof(copy), "%s", out);
	for (char *c = strtok_r(copy, "/", &save); c;
	     c = strtok_r(NULL, "/", &save))
		if (!strcmp(c, "..") || !strcmp(c, "."))
			return -EINVAL;
	return 0;
}

static int read_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -ENODATA;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Copies size bytes of the archive (and its padding) into a new file. */
static int get_file(int in, int dirfd, const char *name,
		    unsigned long long size)
{
	char buf[1 << 16];
	unsigned long long left = (size + BLOCK - 1) / BLOCK * BLOCK;
	int fd =
	    openat(dirfd, name,
		   O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	int rc = fd < 0 ? -errno : 0;

	while (!rc && left) {
		size_t n = left < sizeof(buf) ? (size_t)left : sizeof(buf);

		rc = read_full(in, buf, n);
		if (!rc && size)
			rc = write_all(fd, buf, n < size ? n : (size_t)size);
		size -= n < size ? n : size;
		left -= n;
	}
	if (fd >= 0 && close(fd) < 0 && !rc)
		rc = -errno;
	return rc;
}

/* One member; 1 at the end of the archive. */
static int get_member(int in, int dirfd, const char *file)
{
	static const struct hdr zero;
	struct hdr h;
	unsigned long long size, sum;
	char name[NAME_LEN + PFX_LEN + 2];
	int rc = read_full(in, &h, sizeof(h));

	if (rc)
		return rc == -ENODATA ? 1 : rc; /* no end blocks: still ok */
	if (!memcmp(&h, &zero, sizeof(h)))
		return 1;
	if (octal(h.chksum, sizeof(h.chksum), &sum) || sum != sum_of(&h) ||
	    memcmp(h.magic, "ustar", 5) ||
	    octal(h.size, sizeof(h.size), &size) || size > MEMBER_MAX ||
	    member_name(&h, name, sizeof(name))) {
		store_log(STORE_LOG_ERR,
			  "%s: not an export's tar file (a bad member "
			  "header)",
			  file);
		return -EINVAL;
	}
	if (h.typeflag == '5')
		rc = mkdirat(dirfd, name, 0755) < 0 && errno != EEXIST ? -errno
								       : 0;
	else if (h.typeflag == '0' || h.typeflag == '\0')
		rc = get_file(in, dirfd, name, size);
	else
		rc = -EINVAL;
	if (rc)
		store_log(STORE_LOG_ERR, "%s: cannot unpack %s: %s", file, name,
			  strerror(-rc));
	return rc;
}

int fs_tar_extract(const char *file, const char *dir)
{
	int in = open(file, O_RDONLY | O_CLOEXEC);
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (in < 0 || dirfd < 0) {
		rc = -errno;
		store_log(STORE_LOG_ERR, "cannot open %s: %s",
			  in < 0 ? file : dir, strerror(errno));
	}
	while (!rc)
		rc = get_member(in, dirfd, file);
	if (in >= 0)
		close(in);
	if (dirfd >= 0)
		close(dirfd);
	return rc > 0 ? 0 : rc;
}

bool fs_tar_is(const char *path)
{
	struct stat st;
	size_t n = strlen(path);

	if (stat(path, &st) == 0)
		return S_ISREG(st.st_mode);
	return n > 4 && !strcmp(path + n - 4, ".tar");
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *f)
{
	(void)st, (void)f;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 ? -1 : 0;
}

int fs_tar_unpack_tmp(const char *file, char **out)
{
	const char *tmp = getenv("TMPDIR");
	char *dir = NULL;
	int rc;

	if (asprintf(&dir, "%s/artifactfs-export.XXXXXX",
		     tmp && *tmp ? tmp : "/tmp") < 0)
		return -ENOMEM;
	if (!mkdtemp(dir)) {
		rc = -errno;
		store_log(STORE_LOG_ERR, "cannot make a directory in %s: %s",
			  tmp && *tmp ? tmp : "/tmp", strerror(errno));
		free(dir);
		return rc;
	}
	rc = fs_tar_extract(file, dir);
	if (rc) {
		fs_tree_remove(dir);
		free(dir);
		return rc;
	}
	*out = dir;
	return 0;
}

void fs_tree_remove(const char *dir)
{
	if (dir && nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0)
		store_log(STORE_LOG_WARNING, "cannot remove %s: %s", dir,
			  strerror(errno));
}
