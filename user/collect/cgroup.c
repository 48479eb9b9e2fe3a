#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "collect/cgroup.h"

int cgroup_mount(char *buf, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		/* id parent maj:min root mountpoint opts [optional...] - fstype source superopts */
		char *sep = strstr(line, " - "), mnt[PATH_MAX], fstype[64];

		if (!sep || sscanf(sep + 3, "%63s", fstype) != 1 || strcmp(fstype, "cgroup2"))
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
			continue;
		if ((size_t)snprintf(buf, len, "%s", mnt) >= len) {
			err = -ENAMETOOLONG;
			break;
		}
		err = 0;
		break;
	}
	fclose(f);
	return err;
}

int cgroup_resolve(const char *mount, const char *path, char *out, size_t len)
{
	size_t ml = strlen(mount);
	int n;

	if (!strncmp(path, mount, ml) && (path[ml] == '/' || !path[ml]))
		n = snprintf(out, len, "%s", path);
	else
		n = snprintf(out, len, "%s%s%s", mount, path[0] == '/' ? "" : "/", path);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	/* drop a trailing slash so names and ids come from the directory itself */
	while (n > 1 && out[n - 1] == '/')
		out[--n] = 0;
	return 0;
}

int cgroup_id(const char *abs_path, uint64_t *id)
{
	struct {
		struct file_handle fh;
		uint64_t cgid;
	} h = { .fh.handle_bytes = sizeof(uint64_t) };
	int mount_id;
	struct stat st;

	if (name_to_handle_at(AT_FDCWD, abs_path, &h.fh, &mount_id, 0) == 0 &&
	    h.fh.handle_bytes == sizeof(uint64_t)) {
		memcpy(id, h.fh.f_handle, sizeof(*id));
		return 0;
	}
	if (stat(abs_path, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	*id = st.st_ino;
	return 0;
}

int cgroup_walk(const char *abs_path, int (*fn)(const char *, uint64_t, void *), void *ctx)
{
	uint64_t id;
	DIR *d;
	struct dirent *de;
	int err = cgroup_id(abs_path, &id);

	if (err)
		return err;
	err = fn(abs_path, id, ctx);
	if (err)
		return err;
	d = opendir(abs_path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char sub[PATH_MAX];

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", abs_path, de->d_name) >= sizeof(sub))
			continue;
		err = cgroup_walk(sub, fn, ctx);
		if (err && err != -ENOENT)  /* a directory removed meanwhile is fine */
			break;
		err = 0;
	}
	closedir(d);
	return err;
}

int cgroup_procs(const char *abs_path, pid_t *pids, int max)
{
	char p[PATH_MAX];
	FILE *f;
	int n = 0, pid;

	snprintf(p, sizeof(p), "%s/cgroup.procs", abs_path);
	f = fopen(p, "re");
	if (!f)
		return -errno;
	while (fscanf(f, "%d", &pid) == 1)
		if (n < max)
			pids[n++] = pid;
	fclose(f);
	return n;
}

struct procs_acc {
	pid_t *pids;
	int max, n;
};

static int procs_add(const char *path, uint64_t id, void *ctx)
{
	struct procs_acc *a = ctx;
	int n = cgroup_procs(path, a->pids + a->n, a->max - a->n);

	if (n > 0)
		a->n += n;
	return 0;
}

int cgroup_procs_tree(const char *abs_path, pid_t *pids, int max)
{
	struct procs_acc a = { .pids = pids, .max = max };
	int err = cgroup_walk(abs_path, procs_add, &a);

	return err && !a.n ? err : a.n;
}

/* Writes text into the cgroup's control file name: -errno on failure. */
static int cgroup_write(const char *abs_path, const char *name, const char *text)
{
	char p[PATH_MAX];
	int fd, err = 0;

	snprintf(p, sizeof(p), "%s/%s", abs_path, name);
	fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, text, strlen(text)) < 0)
		err = -errno;
	close(fd);
	return err;
}

int cgroup_move(const char *abs_path, pid_t pid)
{
	char pid_s[24];

	snprintf(pid_s, sizeof(pid_s), "%d\n", pid);
	return cgroup_write(abs_path, "cgroup.procs", pid_s);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

int cgroup_kill(const char *abs_path)
{
	return cgroup_write(abs_path, "cgroup.kill", "1");
}

int cgroup_end(const char *abs_path, int term_ms, int wait_ms)
{
	pid_t pids[1024];
	int n;

	for (int t = 0; t < wait_ms; t += 50) {
		if (!rmdir(abs_path) || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -errno;
		/* SIGTERM once, then SIGKILL to all of the cgroup at once, again while it gains
		 * processes (cgroup.kill, Linux 5.14), else to the processes it lists */
		if (t == 0 && term_ms > 0) {
			n = cgroup_procs(abs_path, pids, 1024);
			for (int i = 0; i < n; i++)
				kill(pids[i], SIGTERM);
		} else if (t >= term_ms && cgroup_kill(abs_path)) {
			n = cgroup_procs(abs_path, pids, 1024);
			for (int i = 0; i < n; i++)
				kill(pids[i], SIGKILL);
		}
		sleep_ms(50);
	}
	return -EBUSY;
}

int cgroup_destroy(const char *abs_path)
{
	return cgroup_end(abs_path, 1000, 3000);
}

int cgroup_reap_stale(const char *mount)
{
	DIR *d = opendir(mount);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char p[PATH_MAX], *end;
		long pid;

		if (strncmp(de->d_name, "iogap-", 6))
			continue;
		pid = strtol(de->d_name + 6, &end, 10);
		if (*end || pid <= 0 || pid == getpid() || kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(p, sizeof(p), "%s/%s", mount, de->d_name);
		if (!rmdir(p))
			n++;
	}
	closedir(d);
	return n;
}

int cgroup_of_pid(pid_t pid, char *out, size_t len)
{
	char p[64], line[PATH_MAX + 16];
	FILE *f;
	int err = -ENOENT;

	snprintf(p, sizeof(p), "/proc/%d/cgroup", pid);
	f = fopen(p, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3))
			continue;
		line[strcspn(line, "\n")] = 0;
		snprintf(out, len, "%s", line + 3);
		err = 0;
		break;
	}
	fclose(f);
	return err;
}
