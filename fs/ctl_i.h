/*
 * fs/ctl_i.h - the mount daemon's command socket (ctl.c), private to fs/.
 */
#ifndef ARTIFACTFS_CTL_I_H
#define ARTIFACTFS_CTL_I_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

#include "store.h"

struct fs_ctl;
struct fs_ctl_conn;

struct fs_ctl_req {
	struct store_caller caller;
	int argc;
	char **argv;
	int in;
	bool tty;
	struct fs_ctl_conn *conn;
};

typedef int (*fs_ctl_handler)(void *arg, struct fs_ctl_req *req, FILE *out,
			      FILE *err);

int fs_ctl_start(const char *store_dir, fs_ctl_handler fn, void *arg,
		 struct fs_ctl **out);
void fs_ctl_stop(struct fs_ctl *ctl);
int fs_ctl_forward(const char *store_dir, int argc, char **argv, int *status);

int fs_ctl_open(struct fs_ctl_conn *c, const char *path, int flags,
		mode_t mode);
int fs_ctl_stat(struct fs_ctl_conn *c, const char *path, bool follow,
		struct stat *st);
int fs_ctl_mkdir(struct fs_ctl_conn *c, const char *path, mode_t mode);
int fs_ctl_symlink(struct fs_ctl_conn *c, const char *target, const char *path);
ssize_t fs_ctl_readlink(struct fs_ctl_conn *c, const char *path, char *buf,
			size_t len);
int fs_ctl_rename(struct fs_ctl_conn *c, const char *from, const char *to);
int fs_ctl_unlink(struct fs_ctl_conn *c, const char *path, bool dir);
int fs_ctl_link(struct fs_ctl_conn *c, const char *from, const char *to);
int fs_ctl_progress(struct fs_ctl_conn *c, const char *label, uint64_t done,
		    uint64_t total);
bool fs_ctl_cancelled(struct fs_ctl_conn *c);

#endif
