/*
 * env_capture.c - what a step runs in, captured by `run exec` before CMD
 * starts: code, packages, container image, system and environment, as
 * the five text files of the step's env/ (envsnap_i.h).
 *
 * Cheap by design (scripts/bench/env_capture.sh measures it): one
 * python3 for every distribution (found where importlib.metadata finds
 * them), started first so that it runs while the rest is read; dpkg's
 * status file read directly; git only inside a git work tree;
 * nvidia-smi only when it is on PATH.  Nothing here fails a run: what cannot be
 * found is written as "none" or "unknown".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "envsnap_i.h"

extern char **environ;

/* ------------------------------------------------------------ helpers */

/* A helper command started by spawn, read by reap. */
struct helper {
	pid_t pid;
	int fd; /* its stdout */
};

/* Starts argv (PATH searched) with stdin from /dev/null and stderr
 * dropped.  0 or -errno. */
static int spawn(char *const argv[], struct helper *h)
{
	int fds[2];

	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	h->pid = fork();
	if (h->pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -errno;
	}
	if (h->pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(null, 2);
		dup2(fds[1], 1);
		fs_nofile_restore();
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	h->fd = fds[0];
	return 0;
}

/* Reads h's stdout (at most max bytes kept) into out and waits for it.
 * Returns its exit status. */
static int reap(struct helper *h, size_t max, struct envsnap_buf *out)
{
	char buf[8192];
	ssize_t n;
	int status;

	while ((n = read(h->fd, buf, sizeof(buf))) > 0 ||
	       (n < 0 && errno == EINTR))
		if (n > 0 && out->len + (size_t)n <= max)
			envsnap_add(out, buf, (size_t)n);
	close(h->fd);
	while (waitpid(h->pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* Runs argv and keeps its stdout in out.  Its exit status, or -errno. */
static int run_capture(char *const argv[], size_t max, struct envsnap_buf *out)
{
	struct helper h;
	int rc = spawn(argv, &h);

	return rc ? rc : reap(&h, max, out);
}

/* Whether an executable named name is on PATH (or name is a path). */
static bool on_path(const char *name)
{
	const char *path = getenv("PATH"), *p;
	char full[PATH_MAX];

	if (strchr(name, '/'))
		return access(name, X_OK) == 0;
	for (p = path; p && *p;) {
		size_t len = strcspn(p, ":");

		snprintf(full, sizeof(full), "%.*s/%s", (int)len, p, name);
		if (len && access(full, X_OK) == 0)
			return true;
		p += len + (p[len] == ':');
	}
	return false;
}

/* The first line of file path starting with key, after key, into out. */
static bool file_value(const char *path, const char *key, char *out,
		       size_t size)
{
	FILE *f = fopen(path, "re");
	char line[1024];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, strlen(key)))
			continue;
		snprintf(out, size, "%s", line + strlen(key));
		out[strcspn(out, "\n")] = '\0';
		found = true;
	}
	fclose(f);
	return found;
}

static void unquote(char *s)
{
	size_t n = strlen(s);

	if (n >= 2 && (s[0] == '"' || s[0] == '\'') && s[n - 1] == s[0]) {
		memmove(s, s + 1, n - 2);
		s[n - 2] = '\0';
	}
}

/* -------------------------------------------------------------- code */

/* SHA-256 of a file's bytes as "sha256:<hex>", or false. */
static bool file_digest(const char *path, char out[STORE_DIGEST_STR_LEN])
{
	struct envsnap_buf b = {0};
	uint8_t dg[STORE_DIGEST_LEN];
	char buf[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool ok;

	if (fd < 0)
		return false;
	while ((n = read(fd, buf, sizeof(buf))) > 0 && !b.oom &&
	       b.len < ENVSNAP_SCRIPT_MAX)
		envsnap_add(&b, buf, (size_t)n);
	close(fd);
	ok = n == 0 && !b.oom &&
	     store_digest_buf(b.p ? b.p : "", b.len, dg) == 0;
	if (ok)
		store_digest_format(dg, out);
	free(b.p);
	return ok;
}

/* The git work tree around dir: commit, and a digest of what differs
 * from it (tracked changes and the names of untracked files). */
static bool code_git(const char *dir, struct envsnap_buf *o)
{
	char *head[] = {"git", "-C", (char *)dir, "rev-parse", "HEAD", NULL};
	char *diff[] = {"git",	"-C",	    (char *)dir, "diff",
			"HEAD", "--binary", NULL};
	char *untracked[] = {"git",	 "-C", (char *)dir,
			     "ls-files", "-o", "--exclude-standard",
			     NULL};
	struct envsnap_buf h = {0}, d = {0};
	char dgs[STORE_DIGEST_STR_LEN];
	uint8_t dg[STORE_DIGEST_LEN];
	bool ok = false;

	if (run_capture(head, 128, &h) == 0 && h.len >= 40) {
		envsnap_printf(o, "git_commit: %.40s\n", h.p);
		run_capture(diff, ENVSNAP_SCRIPT_MAX, &d);
		run_capture(untracked, ENVSNAP_SCRIPT_MAX, &d);
		if (d.len == 0) {
			envsnap_printf(o, "git_dirty: no\n");
		} else if (!store_digest_buf(d.p, d.len, dg)) {
			store_digest_format(dg, dgs);
			envsnap_printf(o, "git_dirty: %s\n", dgs);
		}
		ok = true;
	}
	free(h.p);
	free(d.p);
	return ok;
}

static void capture_code(char **cmd, struct envsnap_buf *o)
{
	char cwd[PATH_MAX], dg[STORE_DIGEST_STR_LEN];
	struct stat st;
	bool git = false;

	envsnap_printf(o, "command:");
	for (size_t i = 0; cmd[i]; i++)
		envsnap_printf(o, " %s", cmd[i]);
	envsnap_printf(o, "\n");
	if (!getcwd(cwd, sizeof(cwd)))
		snprintf(cwd, sizeof(cwd), "unknown");
	envsnap_printf(o, "cwd: %s\n", cwd);
	if (on_path("git"))
		git = code_git(cwd, o);
	if (!git)
		envsnap_printf(o, "git_commit: none\n");
	/* The files the command names (its script, its config), by digest. */
	for (size_t i = 0; cmd[i]; i++) {
		if (cmd[i][0] == '-' || stat(cmd[i], &st) ||
		    !S_ISREG(st.st_mode) || (i == 0 && !strchr(cmd[i], '/')))
			continue;
		if (file_digest(cmd[i], dg))
			envsnap_printf(o, "file %s %s\n", cmd[i], dg);
	}
}

/* ---------------------------------------------------------- packages */

/* What importlib.metadata.distributions() finds, read the way its finder
 * does (a NAME-VERSION.dist-info or .egg-info directory on sys.path, the
 * first of a name winning) but without parsing every METADATA file:
 * that parse was most of the capture's time.  A directory name without
 * a version falls back to the file's Version: line. */
static const char py_script[] =
    "import os, sys\n"
    "print('interpreter python', sys.version.split()[0])\n"
    "seen = set()\n"
    "for p in sys.path:\n"
    "    try:\n"
    "        it = os.scandir(p or '.')\n"
    "    except OSError:\n"
    "        continue\n"
    "    for e in sorted(it, key=lambda e: e.name):\n"
    "        n = e.name\n"
    "        if n.endswith('.dist-info'):\n"
    "            base, meta = n[:-10], 'METADATA'\n"
    "        elif n.endswith('.egg-info'):\n"
    "            base, meta = n[:-9], 'PKG-INFO'\n"
    "        else:\n"
    "            continue\n"
    "        name, _, ver = base.partition('-')\n"
    "        ver = ver.split('-')[0]\n"
    "        if not ver:\n"
    "            try:\n"
    "                with open(os.path.join(e.path, meta)) as f:\n"
    "                    for line in f:\n"
    "                        if line.startswith('Version:'):\n"
    "                            ver = line[8:].strip()\n"
    "                            break\n"
    "            except OSError:\n"
    "                pass\n"
    "        k = name.lower().replace('-', '_').replace('.', '_')\n"
    "        if k not in seen:\n"
    "            seen.add(k)\n"
    "            print('python', name, ver or 'unknown')\n";

/* The interpreter CMD runs when it is a Python, else python3. */
static const char *python_of(char **cmd)
{
	const char *base = strrchr(cmd[0], '/');

	base = base ? base + 1 : cmd[0];
	if (!strncmp(base, "python", 6) && on_path(cmd[0]))
		return cmd[0];
	return on_path("python3") ? "python3" : NULL;
}

/* One "dpkg NAME VERSION" line per installed package of the status
 * file (stanzas with "Status: install ok installed"). */
static void capture_dpkg(const char *status, struct envsnap_buf *o)
{
	FILE *f = fopen(status, "re");
	char line[4096], name[256] = "", ver[256] = "";
	bool installed = false;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!strncmp(line, "Package: ", 9))
			snprintf(name, sizeof(name), "%.*s",
				 (int)sizeof(name) - 1, line + 9);
		else if (!strncmp(line, "Version: ", 9))
			snprintf(ver, sizeof(ver), "%.*s", (int)sizeof(ver) - 1,
				 line + 9);
		else if (!strncmp(line, "Status: ", 8))
			installed = strstr(line, " installed") != NULL &&
				    strstr(line, "not-installed") == NULL;
		else if (line[0] == '\0') {
			if (installed && name[0])
				envsnap_printf(o, "dpkg %s %s\n", name, ver);
			name[0] = ver[0] = '\0';
			installed = false;
		}
	}
	if (installed && name[0])
		envsnap_printf(o, "dpkg %s %s\n", name, ver);
	fclose(f);
}

static int line_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts the lines of b (each ending in '\n'). */
static void sort_lines(struct envsnap_buf *b)
{
	struct envsnap_buf out = {0};
	size_t n = 0, k = 0;
	char **lines, *p;

	for (size_t i = 0; i < b->len; i++)
		n += b->p[i] == '\n';
	if (n < 2 || b->oom)
		return;
	lines = calloc(n, sizeof(*lines));
	if (!lines)
		return;
	for (p = b->p; k < n; k++) {
		lines[k] = p;
		p = strchr(p, '\n');
		*p++ = '\0';
	}
	qsort(lines, n, sizeof(*lines), line_cmp);
	for (k = 0; k < n; k++)
		envsnap_printf(&out, "%s\n", lines[k]);
	free(lines);
	free(b->p);
	*b = out;
}

/* Starts the Python of CMD listing its distributions (h->pid 0: none). */
static void start_python(char **cmd, struct helper *h)
{
	const char *py = python_of(cmd);
	/* The interpreter as CMD will start it: same PYTHONPATH, same user
	 * site; -B writes no bytecode. */
	char *argv[] = {(char *)py, "-B", "-c", (char *)py_script, NULL};

	h->pid = 0;
	if (py && spawn(argv, h))
		h->pid = 0;
}

/* Python's list (from h, started first so that it runs while the rest is
 * read) and dpkg's, sorted. */
static void capture_packages(struct helper *py, struct envsnap_buf *o)
{
	struct envsnap_buf b = {0};

	if (py->pid > 0)
		reap(py, ENVSNAP_FILE_MAX, &b);
	capture_dpkg(ENVSNAP_DPKG_STATUS, &b);
	sort_lines(&b);
	if (b.len)
		envsnap_add(o, b.p, b.len);
	else
		envsnap_printf(o, "none\n");
	free(b.p);
}

/* ------------------------------------------------------------- image */

static void capture_image(struct envsnap_buf *o)
{
	char v[512];
	const char *e = getenv("ARTIFACTFS_IMAGE");
	bool any = false;

	if (e && *e) {
		envsnap_printf(o, "image: %s\n", e);
		any = true;
	}
	if ((e = getenv("ARTIFACTFS_IMAGE_DIGEST")) && *e) {
		envsnap_printf(o, "digest: %s\n", e);
		any = true;
	}
	/* podman writes what it ran into /run/.containerenv. */
	if (file_value("/run/.containerenv", "image=", v, sizeof(v))) {
		unquote(v);
		envsnap_printf(o, "runtime: podman\nimage: %s\n", v);
		if (file_value("/run/.containerenv", "imageid=", v,
			       sizeof(v))) {
			unquote(v);
			envsnap_printf(o, "digest: sha256:%s\n", v);
		}
		any = true;
	} else if (access("/.dockerenv", F_OK) == 0) {
		envsnap_printf(o, "runtime: docker\n");
		any = true;
	} else if ((e = getenv("container")) && *e) {
		envsnap_printf(o, "runtime: %s\n", e);
		any = true;
	}
	if (!any)
		envsnap_printf(o, "none\n");
}

/* ------------------------------------------------------------ system */

static void capture_gpu(struct envsnap_buf *o)
{
	char *argv[] = {"nvidia-smi", "--query-gpu=name,driver_version",
			"--format=csv,noheader", NULL};
	struct envsnap_buf b = {0};

	if (!on_path("nvidia-smi") || run_capture(argv, 4096, &b) || !b.len) {
		envsnap_printf(o, "gpu: none\n");
	} else {
		for (char *l = strtok(b.p, "\n"); l; l = strtok(NULL, "\n"))
			envsnap_printf(o, "gpu: %s\n", l);
	}
	free(b.p);
}

static void capture_system(struct envsnap_buf *o)
{
	struct utsname u;
	char v[512];

	if (!file_value("/etc/os-release", "PRETTY_NAME=", v, sizeof(v)))
		snprintf(v, sizeof(v), "unknown");
	unquote(v);
	envsnap_printf(o, "os: %s\n", v);
	if (uname(&u) == 0)
		envsnap_printf(o, "kernel: %s %s\narch: %s\n", u.sysname,
			       u.release, u.machine);
	if (!file_value("/proc/cpuinfo", "model name\t: ", v, sizeof(v)))
		snprintf(v, sizeof(v), "unknown");
	envsnap_printf(o, "cpu: %s\ncpus: %ld\n", v,
		       sysconf(_SC_NPROCESSORS_ONLN));
	capture_gpu(o);
}

/* ----------------------------------------------------------- environ */

/* Whether a variable's name says it holds a credential. */
static bool secret_name(const char *var, size_t len)
{
	static const char *const words[] = {
	    "SECRET",  "TOKEN",	      "PASSWORD",   "PASSWD", "CREDENTIAL",
	    "API_KEY", "PRIVATE_KEY", "ACCESS_KEY", "AUTH"};
	char up[256];

	if (len >= sizeof(up))
		len = sizeof(up) - 1;
	for (size_t i = 0; i < len; i++)
		up[i] = (var[i] >= 'a' && var[i] <= 'z') ? var[i] - 32 : var[i];
	up[len] = '\0';
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(up, words[i]))
			return true;
	return false;
}

static void capture_environ(const char *const *drop, struct envsnap_buf *o)
{
	struct envsnap_buf b = {0};

	for (char **e = environ; *e; e++) {
		const char *eq = strchr(*e, '=');
		size_t len = eq ? (size_t)(eq - *e) : strlen(*e);
		bool skip = false;

		for (size_t i = 0; drop && drop[i]; i++)
			skip |= strlen(drop[i]) == len &&
				!strncmp(drop[i], *e, len);
		if (skip || !eq)
			continue;
		if (secret_name(*e, len))
			envsnap_printf(&b, "%.*s=[removed]\n", (int)len, *e);
		else
			envsnap_printf(&b, "%s\n", *e);
	}
	sort_lines(&b);
	if (b.len)
		envsnap_add(o, b.p, b.len);
	free(b.p);
}

/* ------------------------------------------------------------ capture */

int fs_envsnap_capture(char **cmd, const char *const *drop, struct envsnap *out)
{
	struct helper py;

	memset(out, 0, sizeof(*out));
	start_python(cmd, &py);
	capture_code(cmd, &out->f[ENVSNAP_CODE]);
	capture_image(&out->f[ENVSNAP_IMAGE]);
	capture_system(&out->f[ENVSNAP_SYSTEM]);
	capture_environ(drop, &out->f[ENVSNAP_ENVIRON]);
	capture_packages(&py, &out->f[ENVSNAP_PACKAGES]);
	for (int i = 0; i < ENVSNAP_N; i++) {
		envsnap_clean(&out->f[i]);
		if (out->f[i].oom) {
			fs_envsnap_release(out);
			return -ENOMEM;
		}
	}
	return 0;
}
