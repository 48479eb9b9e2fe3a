#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/openat2.h>
#include "collect/sqlite_find.h"

#define SQLITE_FUNC_NAME(id, name) [id] = name,
const char *const sqlite_func_names[SQ_NFUNCS] = { SQLITE_FUNCS(SQLITE_FUNC_NAME)
						     SQLITE_INNER_FUNCS(SQLITE_FUNC_NAME) };
#undef SQLITE_FUNC_NAME

struct proc {
	char dir[32];    /* /proc/PID */
	char root[48];   /* /proc/PID/root, or "" for the calling process */
};

struct mapping {
	uint64_t start, end, dev, ino;
	char *path;
};

static bool proc_gone(const struct proc *p)
{
	char buf[512], *paren;
	FILE *f;
	size_t n;

	snprintf(buf, sizeof(buf), "%s/stat", p->dir);
	f = fopen(buf, "re");
	if (!f)
		return errno == ENOENT || errno == ESRCH;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	paren = strrchr(buf, ')');
	return !paren || paren[1] != ' ' || paren[2] == 'Z' || paren[2] == 'X';
}

static int fill(struct sqlite_lib *lib, const char *path, const char *shown, enum sqlite_where where)
{
	uint64_t offs[SQ_NFUNCS] = { 0 };
	struct stat st;
	int n;

	n = elf_func_offsets(path, sqlite_func_names, SQ_NPUBLIC, offs);
	if (n < 0)
		return n;
	if (!offs[SQ_STEP] || (!offs[SQ_PREPARE_V2] && !offs[SQ_PREPARE_V3]))
		return -ENOENT;
	if (stat(path, &st))
		return -errno;
	if ((size_t)snprintf(lib->path, sizeof(lib->path), "%s", path) >= sizeof(lib->path) ||
	    (size_t)snprintf(lib->shown, sizeof(lib->shown), "%s", shown) >= sizeof(lib->shown))
		return -ENAMETOOLONG;
	lib->dev = st.st_dev;
	lib->ino = st.st_ino;
	lib->where = where;
	memcpy(lib->offs, offs, sizeof(offs));
	return 0;
}

/* The file the process itself reaches as "shown": resolved with the process's root as "/", so
 * that an absolute symlink (or "..") inside it stays inside it. 0 and its stat, or -errno. */
static int stat_in_root(const struct proc *p, const char *shown, struct stat *st)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	int root = open(p->root, O_PATH | O_DIRECTORY | O_CLOEXEC), fd, err = 0;

	if (root < 0)
		return -errno;
	fd = syscall(SYS_openat2, root, shown, &how, sizeof(how));
	if (fd < 0 || fstat(fd, st))
		err = -errno;
	if (fd >= 0)
		close(fd);
	close(root);
	return err;
}

/*
 * The host path of a file the process sees as "shown", with device and inode dev/ino. In order:
 * root+shown if it is that file; shown itself if it is (a chroot in our mount namespace: maps
 * shows paths from our root); root+shown if it exists (overlayfs reports the lower layer's
 * device in maps); the magic link "fallback" (/proc/PID/map_files/..., /proc/PID/exe).
 */
static int host_path(const struct proc *p, const char *shown, uint64_t dev, uint64_t ino,
		     const char *fallback, char *out, size_t len)
{
	char in_root[PATH_MAX];
	bool root_ok;
	struct stat st, in;

	if ((size_t)snprintf(in_root, sizeof(in_root), "%s%s", p->root, shown) >= sizeof(in_root))
		return -ENAMETOOLONG;
	root_ok = !stat(in_root, &st);
	/* stat() resolves an absolute symlink met below /proc/PID/root from our root, out of the
	 * process's: root+shown counts only where it is the file the process itself would reach */
	if (root_ok && *p->root && (stat_in_root(p, shown, &in) || in.st_dev != st.st_dev ||
				    in.st_ino != st.st_ino))
		root_ok = false;
	if (root_ok && st.st_dev == dev && st.st_ino == ino)
		return snprintf(out, len, "%s", in_root) >= (int)len ? -ENAMETOOLONG : 0;
	if (*p->root && !stat(shown, &st) && st.st_dev == dev && st.st_ino == ino)
		return snprintf(out, len, "%s", shown) >= (int)len ? -ENAMETOOLONG : 0;
	if (root_ok)
		return snprintf(out, len, "%s", in_root) >= (int)len ? -ENAMETOOLONG : 0;
	if (fallback && !stat(fallback, &st))
		return snprintf(out, len, "%s", fallback) >= (int)len ? -ENAMETOOLONG : 0;
	return -ENOENT;
}

/* The kernel escapes '\n' in /proc/PID/maps paths as "\012". */
static void unescape_newlines(char *s)
{
	char *w = s;

	for (char *r = s; *r; ) {
		if (!strncmp(r, "\\012", 4)) {
			*w++ = '\n';
			r += 4;
		} else {
			*w++ = *r++;
		}
	}
	*w = 0;
}

/* The file-backed mappings whose basename mentions sqlite, one per file, in maps order. */
static int read_maps(const struct proc *p, struct mapping **out, int *count)
{
	struct mapping *v = NULL;
	char path[64], *line = NULL;
	size_t cap = 0;
	int n = 0, err = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/maps", p->dir);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT || errno == ESRCH ? -ESRCH : -errno;
	while (getline(&line, &cap, f) > 0) {
		uint64_t start, end, ino;
		unsigned int maj, min;
		const char *base;
		char *file;
		size_t l;
		int pos = 0;
		bool dup = false;

		/* start-end perms offset maj:min inode   path (the path may hold spaces) */
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %*s %*s %x:%x %" SCNu64 " %n",
			   &start, &end, &maj, &min, &ino, &pos) < 5 || !pos || line[pos] != '/')
			continue;
		file = line + pos;
		l = strlen(file);
		if (l && file[l - 1] == '\n')
			file[--l] = 0;
		if (l > 10 && !strcmp(file + l - 10, " (deleted)"))
			continue;
		base = strrchr(file, '/') + 1;
		if (strncmp(base, "_sqlite3", 8) && !strstr(base, "sqlite"))
			continue;
		for (int i = 0; i < n && !dup; i++)
			dup = v[i].ino == ino && v[i].dev == makedev(maj, min);
		if (dup)
			continue;
		if (n % 8 == 0) {
			struct mapping *nv = realloc(v, (n + 8) * sizeof(*v));

			if (!nv) {
				err = -ENOMEM;
				break;
			}
			v = nv;
		}
		unescape_newlines(file);
		v[n] = (struct mapping){ start, end, makedev(maj, min), ino, strdup(file) };
		if (!v[n].path) {
			err = -ENOMEM;
			break;
		}
		n++;
	}
	free(line);
	fclose(f);
	if (err) {
		for (int i = 0; i < n; i++)
			free(v[i].path);
		free(v);
		return err;
	}
	*out = v;
	*count = n;
	return 0;
}

static int find_mapped(const struct proc *p, const struct stat *exe, struct sqlite_lib *lib)
{
	struct mapping *m = NULL;
	int n = 0, err;

	err = read_maps(p, &m, &n);
	if (err)
		return err;
	err = -ENOENT;
	/* pass 0: libsqlite3*; pass 1: other files that bundle SQLite (not the executable) */
	for (int pass = 0; pass < 2 && err; pass++) {
		for (int i = 0; i < n && err; i++) {
			const char *base = strrchr(m[i].path, '/') + 1;
			bool lib_named = !strncmp(base, "libsqlite3", 10);
			char fallback[96], path[PATH_MAX];

			if (lib_named != (pass == 0))
				continue;
			if (pass == 1 && exe && m[i].dev == exe->st_dev && m[i].ino == exe->st_ino)
				continue;
			snprintf(fallback, sizeof(fallback), "%s/map_files/%" PRIx64 "-%" PRIx64, p->dir,
				 m[i].start, m[i].end);
			if (host_path(p, m[i].path, m[i].dev, m[i].ino, fallback, path, sizeof(path)))
				continue;
			err = fill(lib, path, m[i].path, SQW_MAPPED);
			if (err)
				err = -ENOENT;
		}
	}
	for (int i = 0; i < n; i++)
		free(m[i].path);
	free(m);
	return err;
}

static int find_static(const struct proc *p, const struct stat *exe, struct sqlite_lib *lib)
{
	char link[64], shown[PATH_MAX], path[PATH_MAX];
	ssize_t l;

	snprintf(link, sizeof(link), "%s/exe", p->dir);
	l = readlink(link, shown, sizeof(shown) - 1);
	if (l < 0)
		return -ENOENT;
	shown[l] = 0;
	if (l > 10 && !strcmp(shown + l - 10, " (deleted)"))
		shown[l - 10] = 0;
	if (host_path(p, shown, exe->st_dev, exe->st_ino, link, path, sizeof(path)))
		return -ENOENT;
	return fill(lib, path, shown, SQW_STATIC) ? -ENOENT : 0;
}

/* dir (relative to the process's root) exists and no component of it is a symlink: an absolute
 * link would resolve against our root, not the process's. */
static bool plain_dir(const struct proc *p, const char *dir)
{
	char path[PATH_MAX];
	struct stat st;
	int l = snprintf(path, sizeof(path), "%s/", p->root);

	for (const char *c = dir; ; c++) {
		if (*c == '/' || !*c) {
			if (lstat(path, &st) || !S_ISDIR(st.st_mode))
				return false;
			if (!*c)
				return true;
		}
		if (l >= (int)sizeof(path) - 1)
			return false;
		path[l++] = *c;
		path[l] = 0;
	}
}

/* A regular file named libsqlite3.so* in dir: the one libsqlite3.so.0 links to within the
 * directory, else the highest version. */
static bool lib_in_dir(const char *dir, char *name, size_t len)
{
	char path[PATH_MAX], target[256];
	struct dirent *d;
	struct stat st;
	ssize_t l;
	DIR *dh;

	snprintf(path, sizeof(path), "%s/libsqlite3.so.0", dir);
	if (!lstat(path, &st)) {
		if (S_ISREG(st.st_mode))
			return snprintf(name, len, "libsqlite3.so.0") < (int)len;
		l = S_ISLNK(st.st_mode) ? readlink(path, target, sizeof(target) - 1) : -1;
		if (l > 0) {
			target[l] = 0;
			snprintf(path, sizeof(path), "%s/%s", dir, target);
			if (!strchr(target, '/') && !lstat(path, &st) && S_ISREG(st.st_mode))
				return snprintf(name, len, "%s", target) < (int)len;
		}
	}
	dh = opendir(dir);
	if (!dh)
		return false;
	*name = 0;
	while ((d = readdir(dh))) {
		if (strncmp(d->d_name, "libsqlite3.so", 13) || strlen(d->d_name) >= len ||
		    (*name && strverscmp(d->d_name, name) <= 0))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		if (!lstat(path, &st) && S_ISREG(st.st_mode))
			snprintf(name, len, "%s", d->d_name);
	}
	closedir(dh);
	return *name;
}

static int find_candidate(const struct proc *p, struct sqlite_lib *lib)
{
	/* roughly the dynamic loader's order on Debian (ld.so.conf, then the default dirs) */
	static const char *const dirs[] = {
		"usr/local/lib/x86_64-linux-gnu", "usr/local/lib", "lib/x86_64-linux-gnu",
		"usr/lib/x86_64-linux-gnu", "lib64", "lib64/x86_64-linux-gnu", "usr/lib64",
		"usr/lib64/x86_64-linux-gnu", "lib", "usr/lib",
	};

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		char dir[160], name[256], path[PATH_MAX], shown[PATH_MAX];

		if (!plain_dir(p, dirs[i]))
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", p->root, dirs[i]);
		if (!lib_in_dir(dir, name, sizeof(name)))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		snprintf(shown, sizeof(shown), "/%s/%s", dirs[i], name);
		if (!fill(lib, path, shown, SQW_CANDIDATE))
			return 0;
	}
	return -ENOENT;
}

int sqlite_find(pid_t pid, bool allow_candidate, struct sqlite_lib *lib)
{
	struct proc p;
	struct stat exe;
	bool have_exe;
	char link[64];
	int err;

	if (pid < 0)
		return -EINVAL;
	memset(lib, 0, sizeof(*lib));
	if (pid == 0 || pid == getpid()) {
		snprintf(p.dir, sizeof(p.dir), "/proc/self");
		p.root[0] = 0;
	} else {
		snprintf(p.dir, sizeof(p.dir), "/proc/%d", (int)pid);
		snprintf(p.root, sizeof(p.root), "/proc/%d/root", (int)pid);
	}
	snprintf(link, sizeof(link), "%s/exe", p.dir);
	have_exe = !stat(link, &exe);
	err = find_mapped(&p, have_exe ? &exe : NULL, lib);
	if (err == -ENOENT && have_exe)
		err = find_static(&p, &exe, lib);
	if (err == -ENOENT && allow_candidate && have_exe && !proc_gone(&p))
		err = find_candidate(&p, lib);
	if (err == -ENOENT && proc_gone(&p))
		err = -ESRCH;
	if (err)
		memset(lib, 0, sizeof(*lib));
	return err;
}
