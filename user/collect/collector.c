#define _GNU_SOURCE
#include <dirent.h>
#include <inttypes.h>
#include <sched.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "collect/cgroup.h"
#include "collect/collector.h"
#include "collect/percpu.h"
#include "budget.skel.h"
#include "sqlite.skel.h"
#include "syscalls.skel.h"

#define TRACEFS "/sys/kernel/tracing"
#define IO_KEYS_PER_TARGET 128    /* (operation, fd kind) pairs; a busy service shows ~40 */
#define TRACEFS_MAGIC 0x74726163

static bool verbose;

/* set while iogap asks libbpf something whose failure it reports in its own words */
static bool libbpf_quiet;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (libbpf_quiet && !verbose)
		return 0;
	if (level == LIBBPF_DEBUG && !verbose)
		return 0;
	if (level == LIBBPF_INFO && !verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

uint64_t collector_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* x86_64 syscall numbers of the operations iogap times. */
static void fill_op_table(volatile __u8 *op_of_nr)
{
	static const struct { int nr; __u8 op; } map[] = {
		{ SYS_read, IOP_READ }, { SYS_write, IOP_WRITE },
		{ SYS_pread64, IOP_PREAD }, { SYS_pwrite64, IOP_PWRITE },
		{ SYS_readv, IOP_READV }, { SYS_writev, IOP_WRITEV },
		{ SYS_preadv, IOP_PREADV }, { SYS_pwritev, IOP_PWRITEV },
		{ SYS_preadv2, IOP_PREADV }, { SYS_pwritev2, IOP_PWRITEV },
		{ SYS_fsync, IOP_FSYNC }, { SYS_fdatasync, IOP_FDATASYNC },
		{ SYS_sync_file_range, IOP_SYNC_FILE_RANGE },
		{ SYS_open, IOP_OPEN }, { SYS_creat, IOP_OPEN },
		{ SYS_openat, IOP_OPENAT }, { SYS_openat2, IOP_OPENAT },
		{ SYS_close, IOP_CLOSE },
		{ SYS_stat, IOP_STAT }, { SYS_lstat, IOP_STAT }, { SYS_newfstatat, IOP_STAT },
		{ SYS_statx, IOP_STAT }, { SYS_access, IOP_STAT }, { SYS_faccessat, IOP_STAT },
		{ SYS_faccessat2, IOP_STAT }, { SYS_readlink, IOP_STAT }, { SYS_readlinkat, IOP_STAT },
		{ SYS_fstat, IOP_FSTAT },
		{ SYS_unlink, IOP_UNLINK }, { SYS_unlinkat, IOP_UNLINK }, { SYS_rmdir, IOP_UNLINK },
		{ SYS_rename, IOP_RENAME }, { SYS_renameat, IOP_RENAME }, { SYS_renameat2, IOP_RENAME },
		{ SYS_mkdir, IOP_MKDIR }, { SYS_mkdirat, IOP_MKDIR },
		{ SYS_getdents, IOP_GETDENTS }, { SYS_getdents64, IOP_GETDENTS },
		{ SYS_fcntl, IOP_FCNTL }, { SYS_flock, IOP_FLOCK },
		{ SYS_ftruncate, IOP_FTRUNCATE }, { SYS_lseek, IOP_LSEEK },
		{ SYS_sendfile, IOP_SENDFILE },
		{ SYS_accept, IOP_ACCEPT }, { SYS_accept4, IOP_ACCEPT }, { SYS_connect, IOP_CONNECT },
		{ SYS_sendto, IOP_SEND }, { SYS_sendmsg, IOP_SEND }, { SYS_sendmmsg, IOP_SEND },
		{ SYS_recvfrom, IOP_RECV }, { SYS_recvmsg, IOP_RECV }, { SYS_recvmmsg, IOP_RECV },
		{ SYS_shutdown, IOP_SHUTDOWN },
		{ SYS_poll, IOP_POLL }, { SYS_ppoll, IOP_POLL }, { SYS_select, IOP_POLL },
		{ SYS_pselect6, IOP_POLL },
		{ SYS_epoll_wait, IOP_EPOLL_WAIT }, { SYS_epoll_pwait, IOP_EPOLL_WAIT },
		{ SYS_epoll_pwait2, IOP_EPOLL_WAIT },
		{ SYS_nanosleep, IOP_SLEEP }, { SYS_clock_nanosleep, IOP_SLEEP },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].nr >= 0 && map[i].nr < IOGAP_NR_SYSCALLS)
			op_of_nr[map[i].nr] = map[i].op;
}

#define PROC_PID_INIT_INO 0xEFFFFFFCU   /* the initial PID namespace's inode (include/linux/proc_ns.h) */

static int preflight(const struct collector_opts *o)
{
	const char *btf = o->btf_path ? o->btf_path : "/sys/kernel/btf/vmlinux";
	struct statfs sfs;
	struct stat st;

	if (geteuid() != 0) {
		fprintf(stderr, "iogap: cannot trace: must run as root (loading BPF programs needs "
			"CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN; try: sudo iogap ...)\n");
		return 1;
	}
	/* the BPF programs see the initial PID namespace's pids; a PID iogap got in another
	 * (unshare -p) is not one of them: a launched command would stay held forever */
	if (!stat("/proc/self/ns/pid", &st) && st.st_ino != PROC_PID_INIT_INO) {
		fprintf(stderr, "iogap: cannot trace from inside a PID namespace (the BPF programs see "
			"the host's PIDs): run iogap in the host's\n");
		return 1;
	}
	if (access(btf, R_OK)) {
		fprintf(stderr, "iogap: cannot load BPF programs: kernel BTF not found at %s: %s "
			"(iogap needs a kernel built with CONFIG_DEBUG_INFO_BTF=y%s)\n", btf,
			strerror(errno), o->btf_path ? ", or a valid --btf FILE" : "");
		return 1;
	}
	/* a --btf file libbpf cannot parse would fail the load with its error code alone */
	if (o->btf_path) {
		struct btf *b;

		libbpf_quiet = true;
		b = btf__parse(btf, NULL);
		libbpf_quiet = false;
		if (!b) {
			fprintf(stderr, "iogap: cannot load BPF programs: %s is not a BTF file (iogap "
				"needs a kernel built with CONFIG_DEBUG_INFO_BTF=y, or a valid --btf FILE)\n",
				btf);
			return 1;
		}
		btf__free(b);
	}
	if (statfs(TRACEFS, &sfs) || sfs.f_type != TRACEFS_MAGIC) {
		if (mount("nodev", TRACEFS, "tracefs", 0, NULL)) {
			fprintf(stderr, "iogap: cannot use tracepoints: tracefs is not mounted and "
				"mounting it failed: %s (run: mount -t tracefs nodev %s)\n",
				strerror(errno), TRACEFS);
			return 1;
		}
		fprintf(stderr, "iogap: tracefs was not mounted; mounted it at %s\n", TRACEFS);
	}
	return 0;
}

/* Every uprobe holds two descriptors until the session ends (32 per SQLite process): with the
 * usual soft limit of 1024, SQLite in the 28th process could not be attached. */
static void raise_nofile_limit(void)
{
	struct rlimit r;

	if (!getrlimit(RLIMIT_NOFILE, &r) && r.rlim_cur < r.rlim_max) {
		r.rlim_cur = r.rlim_max;
		setrlimit(RLIMIT_NOFILE, &r);
	}
}

bool collector_env_flag(const char *name)
{
	const char *v = getenv(name);

	return v && *v && strcmp(v, "0");
}

/* What the running kernel's functions tell, from its BTF: *rdonly_cast, whether it has the
 * bpf_rdonly_cast kfunc (Linux 6.2+: the syscall programs read the fd's file, inode and socket
 * with plain loads, else with CO-RE probe reads, the *_core programs; IOGAP_CORE_READS=1 takes
 * the latter anyway, tests run both); *kasan, whether it is built with KASAN (whose task
 * stacks are twice the size: net.bpf.c's ctx_level); *tcp_iter, whether it has the TCP
 * iterator, bpf_for_each_map_elem and test runs of raw tracepoint programs (Linux 5.13+:
 * net.bpf.c's end-of-run sweep). All false without BTF. */
static void kernel_features(bool *rdonly_cast, bool *kasan, bool *tcp_iter)
{
	struct btf *btf = btf__load_vmlinux_btf();

	*rdonly_cast = *kasan = *tcp_iter = false;
	if (!btf)
		return;
	*tcp_iter = btf__find_by_name_kind(btf, "bpf_iter_tcp", BTF_KIND_FUNC) > 0 &&
		    btf__find_by_name_kind(btf, "bpf_for_each_map_elem", BTF_KIND_FUNC) > 0 &&
		    btf__find_by_name_kind(btf, "bpf_prog_test_run_raw_tp", BTF_KIND_FUNC) > 0;
	*rdonly_cast = !collector_env_flag("IOGAP_CORE_READS") &&
		       btf__find_by_name_kind(btf, "bpf_rdonly_cast", BTF_KIND_FUNC) > 0;
	*kasan = btf__find_by_name_kind(btf, "kasan_report", BTF_KIND_FUNC) > 0;
	btf__free(btf);
}

static struct target *slot_target(struct collector *c, __u32 slot)
{
	return slot < c->model.ntargets ? &c->model.targets[slot] : NULL;
}

/* The inode generation the kernel keys files by; 0 when the file system has none to give. */
static uint32_t inode_generation(const char *path)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY), gen = 0;

	if (fd < 0)
		return 0;
	if (ioctl(fd, FS_IOC_GETVERSION, &gen))
		gen = 0;
	close(fd);
	return (uint32_t)gen;
}

/* Files already open when tracing starts have no open event: take their paths from /proc. */
static void scan_open_files(struct file_table *ft, uint32_t slot, pid_t pid)
{
	char dir[64], p[PATH_MAX], link[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d;
	ssize_t n;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", pid);
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		n = readlink(p, link, sizeof(link) - 1);
		if (n <= 0 || link[0] != '/' || stat(p, &st) || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)))
			continue;
		link[n] = 0;
		files_set_path(ft, slot, (major(st.st_dev) << 20) | minor(st.st_dev), st.st_ino,
			       inode_generation(p), link);
	}
	closedir(d);
}

static void resolve_path(const struct file_open_event *e, char *out, size_t len)
{
	char p[64], buf[PATH_MAX];
	ssize_t n;

	if (e->path[0] == '/') {
		snprintf(out, len, "%s", e->path);
		return;
	}
	snprintf(p, sizeof(p), "/proc/%u/fd/%d", e->hdr.pid, e->fd);
	n = readlink(p, buf, sizeof(buf) - 1);
	if (n > 0 && buf[0] == '/') {
		struct stat st;

		buf[n] = 0;
		if (!stat(p, &st) && st.st_ino == e->ino) {
			snprintf(out, len, "%s", buf);
			return;
		}
	}
	snprintf(p, sizeof(p), "/proc/%u/cwd", e->hdr.pid);
	n = readlink(p, buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = 0;
		snprintf(out, len, "%.3800s/%s", strcmp(buf, "/") ? buf : "", e->path);
		return;
	}
	snprintf(out, len, "%s", e->path);
}

static void cgroup_created(struct collector *c, const struct cgroup_event *e);

static int handle_event(void *ctx, void *data, size_t size)
{
	struct collector *c = ctx;
	const struct event_hdr *h = data;
	struct target *t;

	if (size >= sizeof(struct cgroup_event) && h->type == EV_CGROUP_MKDIR) {
		cgroup_created(c, data);
		return 0;
	}
	if (size < sizeof(*h) || !(t = slot_target(c, h->slot)))
		return 0;
	switch (h->type) {
	case EV_FILE_OPEN: {
		const struct file_open_event *e = data;
		char path[PATH_MAX];

		if (size < sizeof(*e))
			return 0;
		resolve_path(e, path, sizeof(path));
		files_set_path(&c->files, h->slot, e->dev, e->ino, e->gen, path);
		/* a process loading SQLite (ld.so or dlopen): attach now; a launched one waits for it */
		if (e->stopped || sqlite_probes_is_lib(e->path))
			sqlite_probes_attach_file(&c->sq, &c->model, h->slot, h->pid, e->path);
		if (e->stopped)
			kill(h->pid, SIGCONT);
		break;
	}
	case EV_PROC_FORK: {
		const struct task_event *e = data;

		if (size < sizeof(*e))
			break;
		target_pid_add(t, e->child_pid);
		/* a forked child does not keep its parent's uprobes */
		sqlite_probes_attach(&c->sq, &c->model, h->slot, e->child_pid, false);
		break;
	}
	case EV_PROC_EXEC:
	case EV_PROC_STOPPED: {
		const struct task_event *e = data;

		target_pid_add(t, h->pid);
		sqlite_probes_attach(&c->sq, &c->model, h->slot, h->pid, false);
		if (size >= sizeof(*e) && e->stopped)
			kill(h->pid, SIGCONT);
		break;
	}
	case EV_SQL_TEXT:
		sqlite_probes_text(&c->sq, data, size);
		break;
	case EV_HTTP:
		net_probes_http(&c->net, &c->model, data, size);
		break;
	case EV_PROC_EXIT:
		t->exits++;
		break;
	}
	return 0;
}

struct cg_reg {
	int fd;
	__u32 slot;
	int n;
};

static int register_cgroup(const char *path, uint64_t id, void *ctx)
{
	struct cg_reg *r = ctx;

	if (bpf_map_update_elem(r->fd, &id, &r->slot, BPF_ANY))
		return -errno;
	r->n++;
	return 0;
}

/* The target traced by the cgroup at path (below the mount), or NULL. */
static struct target *cgroup_target(struct collector *c, const char *path)
{
	for (size_t i = 0; i < c->model.ntargets; i++)
		if (!strcmp(c->model.targets[i].cgroup, path))
			return &c->model.targets[i];
	return NULL;
}

/* A cgroup target in the next slot, with the container identity given, or else the one its
 * path has (read from the runtime's metadata). */
static struct target *add_cgroup_target(struct collector *c, const char *path,
					enum target_kind kind, const char *name,
					const struct container_ident *known)
{
	struct container_ident ci;
	char abs[PATH_MAX];
	const char *rel;
	struct target *t;
	uint64_t id;
	int err;

	err = cgroup_resolve(c->cg_mount, path, abs, sizeof(abs));
	if (!err)
		err = cgroup_id(abs, &id);
	if (err) {
		fprintf(stderr, "iogap: cannot trace cgroup %s: %s (give a directory below %s)\n",
			path, strerror(-err), c->cg_mount);
		return NULL;
	}
	if (c->model.ntargets >= IOGAP_MAX_SLOTS) {
		fprintf(stderr, "iogap: cannot trace cgroup %s: already %d targets\n", path,
			IOGAP_MAX_SLOTS);
		return NULL;
	}
	rel = abs + strlen(c->cg_mount);
	rel = rel[0] ? rel : "/";
	if (!name)
		name = strrchr(abs, '/') ? strrchr(abs, '/') + 1 : abs;
	t = model_target_add(&c->model, name[0] ? name : "/", kind);
	if (!t)
		return NULL;
	free(t->cgroup);
	t->cgroup = strdup(rel);
	t->cgroup_id = id;
	if (known) {
		container_ident_to_meta(known, &t->ctr);
	} else if (kind != TARGET_COMMAND && container_identify(rel, &ci) == 1) {
		container_read_metadata(&c->roots, &ci);
		container_ident_to_meta(&ci, &t->ctr);
	}
	snprintf(c->cg_paths[c->model.ntargets - 1], PATH_MAX, "%s", abs);
	return t;
}

static int add_pid_target(struct collector *c, pid_t pid)
{
	char p[64], comm[64] = "", name[96];
	struct target *t;
	FILE *f;

	snprintf(p, sizeof(p), "/proc/%d/comm", pid);
	f = fopen(p, "re");
	if (pid <= 0 || !f || kill(pid, 0)) {
		fprintf(stderr, "iogap: cannot trace pid %d: no such process\n", pid);
		if (f)
			fclose(f);
		return 1;
	}
	if (fgets(comm, sizeof(comm), f))
		comm[strcspn(comm, "\n")] = 0;
	fclose(f);
	snprintf(name, sizeof(name), "%s[%d]", comm, pid);
	t = model_target_add(&c->model, name, TARGET_PID);
	if (!t || target_pid_add(t, pid))
		return 1;
	c->cg_paths[c->model.ntargets - 1][0] = 0;
	return 0;
}

/* The pid inside the process's own PID namespace (the last NSpid field), 0 if unknown. */
static pid_t read_nspid(pid_t pid)
{
	char p[64], line[256];
	pid_t ns = 0;
	FILE *f;

	snprintf(p, sizeof(p), "/proc/%d/status", pid);
	f = fopen(p, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *tok, *save;

		if (strncmp(line, "NSpid:", 6))
			continue;
		for (tok = strtok_r(line + 6, " \t\n", &save); tok; tok = strtok_r(NULL, " \t\n", &save))
			ns = atoi(tok);
		break;
	}
	fclose(f);
	return ns;
}

/* Adds a process to a target, with its in-namespace pid the first time it is seen. */
static void target_pid_note(struct target *t, pid_t pid)
{
	size_t before = t->npids;

	if (target_pid_add(t, pid) || t->npids == before)
		return;
	if (t->ctr.runtime)
		target_pid_set_ns(t, pid, read_nspid(pid));
}

static struct target *add_container(struct collector *c, const struct container_entry *e)
{
	struct target *t = add_cgroup_target(c, e->cgroup, TARGET_CONTAINER, e->id.name, &e->id);

	if (!t)
		return NULL;
	for (size_t j = 0; j < e->npids; j++)
		target_pid_note(t, e->pids[j]);
	return t;
}

/* --container, --all-containers, --host: the containers this host has now. */
static int add_container_targets(struct collector *c, const struct collector_opts *o)
{
	struct container_entry *list = NULL;
	size_t n = 0, idx;
	char err[512];
	int rc = 1, e;

	if (!o->ncontainers && !o->all_containers && !o->host)
		return 0;
	e = containers_list(c->cg_mount, &c->roots, &list, &n);
	if (e) {
		fprintf(stderr, "iogap: cannot list containers below %s: %s\n", c->cg_mount, strerror(-e));
		return 1;
	}
	for (int i = 0; i < o->ncontainers; i++) {
		if (containers_match(list, n, o->containers[i], &idx, err, sizeof(err))) {
			fprintf(stderr, "iogap: cannot trace container %s: %s\n", o->containers[i], err);
			goto out;
		}
		if (!cgroup_target(c, list[idx].cgroup) && !add_container(c, &list[idx]))
			goto out;
	}
	for (size_t i = 0; o->all_containers && i < n; i++)
		if (!cgroup_target(c, list[i].cgroup) && !add_container(c, &list[i]))
			goto out;
	if (o->host) {
		struct target *t;

		if (c->model.ntargets >= IOGAP_MAX_SLOTS) {
			fprintf(stderr, "iogap: cannot trace the host: already %d targets\n", IOGAP_MAX_SLOTS);
			goto out;
		}
		t = model_target_add(&c->model, "host", TARGET_CGROUP);
		if (!t)
			goto out;
		free(t->cgroup);
		t->cgroup = strdup("/");
		c->host_slot = c->model.ntargets - 1;
		snprintf(c->cg_paths[c->host_slot], PATH_MAX, "%s", c->cg_mount);
	}
	rc = 0;
out:
	containers_free(list, n);
	return rc;
}

static void announce(struct collector *c, const char *what, const struct target *t)
{
	fprintf(stderr, "iogap: +%.1fs container %s %s (runtime %s, cgroup %s)\n",
		(collector_now_ns() - c->model.start_ns) / 1e9, t->name, what,
		t->ctr.runtime ? t->ctr.runtime : "cgroup", t->cgroup);
}

/* A cgroup directory was made: a new container becomes a target at once, before its first
 * process enters it. A plain directory made as a container's parent hands its slot down. */
static void cgroup_created(struct collector *c, const struct cgroup_event *e)
{
	int fd = bpf_map__fd(c->skel->maps.cgroup_slots);
	struct target *parent = slot_target(c, e->hdr.slot), *t = NULL;
	struct container_ident ci;
	char abs[PATH_MAX];
	__u32 slot;

	if (!c->watch) {
		if (verbose && parent)
			fprintf(stderr, "iogap: new cgroup %s under target %s\n", e->path, parent->name);
		return;
	}
	if (parent && (int)e->hdr.slot != c->host_slot &&
	    !(parent->kind == TARGET_CONTAINER && parent->ctr.runtime &&
	      !strcmp(parent->ctr.runtime, "cgroup") && !parent->npids && !parent->syscalls))
		return;            /* a container's own sub-cgroup: it stays the container's */
	if (!container_should_follow(e->path) || container_identify(e->path, &ci) != 1)
		return;
	container_read_metadata(&c->roots, &ci);
	if (cgroup_resolve(c->cg_mount, e->path, abs, sizeof(abs)))
		return;
	t = cgroup_target(c, e->path);
	if (t && !t->stopped_ns)
		t = NULL;
	/* else a stopped container started again: its target goes on */
	if (!t && parent && (int)e->hdr.slot != c->host_slot) {
		/* the parent was only a directory for containers: its slot is the child's now */
		uint64_t pid_ = parent->cgroup_id;

		bpf_map_delete_elem(fd, &pid_);
		t = parent;
		free(t->name);
		t->name = strdup(ci.name);
	}
	if (!t) {
		if (c->model.ntargets >= IOGAP_MAX_SLOTS) {
			if (!c->warned_full)
				fprintf(stderr, "iogap: cannot follow container %s: already %d targets\n",
					ci.name, IOGAP_MAX_SLOTS);
			c->warned_full = true;
			return;
		}
		t = model_target_add(&c->model, ci.name, TARGET_CONTAINER);
		if (!t)
			return;
		t->added_ns = collector_now_ns() - c->model.start_ns;
	}
	slot = t - c->model.targets;
	free(t->cgroup);
	t->cgroup = strdup(e->path);
	t->cgroup_id = e->cgroup_id;
	t->stopped_ns = 0;
	container_meta_free(&t->ctr);
	container_ident_to_meta(&ci, &t->ctr);
	snprintf(c->cg_paths[slot], PATH_MAX, "%s", abs);
	if (bpf_map_update_elem(fd, &e->cgroup_id, &slot, BPF_ANY))
		fprintf(stderr, "iogap: cannot follow container %s: %s\n", ci.name, strerror(errno));
	else
		announce(c, "started", t);
	/* threads that cached the slot the cgroup had until now look it up again */
	__atomic_add_fetch(&c->skel->bss->slot_epoch, 1, __ATOMIC_SEQ_CST);
}

/* Containers whose cgroup is gone have stopped; their figures stay. */
static void note_stopped(struct collector *c)
{
	for (size_t i = 0; i < c->model.ntargets; i++) {
		struct target *t = &c->model.targets[i];

		if (t->kind != TARGET_CONTAINER || t->stopped_ns || !c->cg_paths[i][0] ||
		    !access(c->cg_paths[i], F_OK))
			continue;
		t->stopped_ns = collector_now_ns() - c->model.start_ns;
		announce(c, "stopped", t);
	}
}

static int register_targets(struct collector *c)
{
	int cg_fd = bpf_map__fd(c->skel->maps.cgroup_slots);
	int pid_fd = bpf_map__fd(c->skel->maps.tgid_slots);

	/* the host target first: it takes every cgroup, then each container takes its own back */
	for (int k = c->host_slot >= 0 ? -1 : 0; k < (int)c->model.ntargets; k++) {
		__u32 slot = k < 0 ? (__u32)c->host_slot : (__u32)k;
		struct target *t = &c->model.targets[slot];
		int err;

		if (k >= 0 && (int)slot == c->host_slot)
			continue;
		if (c->cg_paths[slot][0]) {
			struct cg_reg r = { .fd = cg_fd, .slot = slot };

			err = cgroup_walk(c->cg_paths[slot], register_cgroup, &r);
			if (err) {
				fprintf(stderr, "iogap: cannot register cgroup %s: %s\n",
					c->cg_paths[slot], strerror(-err));
				return 1;
			}
			continue;
		}
		for (size_t j = 0; j < t->npids; j++) {
			__u32 pid = t->pids[j];

			if (bpf_map_update_elem(pid_fd, &pid, &slot, BPF_ANY)) {
				fprintf(stderr, "iogap: cannot register pid %u: %s\n", pid, strerror(errno));
				return 1;
			}
		}
	}
	return 0;
}

static void scan_target_files(struct collector *c)
{
	pid_t pids[4096];

	for (size_t i = 0; i < c->model.ntargets; i++) {
		struct target *t = &c->model.targets[i];

		if ((int)i == c->host_slot)
			continue;      /* every process outside containers: learnt as they exec */
		if (c->cg_paths[i][0]) {
			int n = cgroup_procs_tree(c->cg_paths[i], pids, 4096);

			for (int j = 0; j < n; j++) {
				target_pid_note(t, pids[j]);
				scan_open_files(&c->files, i, pids[j]);
			}
		} else {
			for (size_t j = 0; j < t->npids; j++)
				scan_open_files(&c->files, i, t->pids[j]);
		}
	}
}

/* Processes of the targets that iogap has not looked at yet: attach SQLite if they have it. */
static void attach_sqlite_existing(struct collector *c)
{
	for (size_t i = 0; i < c->model.ntargets; i++) {
		struct target *t = &c->model.targets[i];

		for (size_t j = 0; j < t->npids; j++) {
			if (c->has_cmd && t->pids[j] == c->cmd.pid && i == c->model.ntargets - 1 &&
			    !c->cmd.exited && c->cmd.go_fd >= 0)
				continue;      /* the held command: attached by file, before it execs */
			if (!sqlite_probes_known(&c->sq, t->pids[j]))
				sqlite_probes_attach(&c->sq, &c->model, i, t->pids[j], false);
		}
	}
}

static bool module_on(const struct collector_opts *o, unsigned m)
{
	return !o->modules || (o->modules & m);
}

int collector_open(struct collector *c, const struct collector_opts *o)
{
	int ntargets = o->npids + o->ncgroups + (o->cmd_argv ? 1 : 0) + o->ncontainers + (o->host ? 1 : 0);
	int err, rc = 1;
	bool have_cg = o->ncgroups > 0 || o->cmd_argv || o->ncontainers || o->all_containers || o->host;
	bool fast, kasan, tcp_iter;

	memset(c, 0, sizeof(*c));
	verbose = o->verbose;
	libbpf_set_print(libbpf_print);
	c->cmd.pid = -1;
	c->cmd.go_fd = c->cmd.err_fd = -1;
	c->host_slot = -1;
	c->watch = o->all_containers;
	c->roots = o->roots;
	if (!c->roots.docker)
		container_roots_default(&c->roots);
	if (ntargets == 0 && !o->all_containers && !o->host) {
		fprintf(stderr, "iogap: nothing to trace (give -p PID, --cgroup PATH, --container NAME, "
			"--all-containers or -- CMD)\n");
		return 2;
	}
	if (ntargets > IOGAP_MAX_SLOTS) {
		fprintf(stderr, "iogap: too many targets (%d, at most %d)\n", ntargets, IOGAP_MAX_SLOTS);
		return 2;
	}
	if (o->cmd_argv && (rc = command_check(o->cmd_argv[0])))
		return rc;
	rc = preflight(o);
	if (rc)
		return rc;
	rc = 1;
	c->ncpus = libbpf_num_possible_cpus();
	c->cg_paths = calloc(IOGAP_MAX_SLOTS, PATH_MAX);
	c->buf = calloc(c->ncpus, sizeof(struct io_stats) > sizeof(struct sys_counts_slot) ?
				  sizeof(struct io_stats) : sizeof(struct sys_counts_slot));
	c->sys_sum = malloc(sizeof(*c->sys_sum));
	c->batch_keys = calloc(c->ncpus, sizeof(*c->batch_keys));
	if (files_init(&c->files, c->ncpus)) {
		free(c->buf);
		c->buf = NULL;
	}
	if (c->ncpus <= 0 || !c->cg_paths || !c->buf || !c->sys_sum || !c->batch_keys)
		goto fail;
	if (have_cg) {
		err = cgroup_mount(c->cg_mount, sizeof(c->cg_mount));
		if (err) {
			fprintf(stderr, "iogap: cannot find the cgroup v2 mount in /proc/self/mountinfo: %s "
				"(a cgroup-v1-only host: --cgroup, --container and -- CMD need cgroup v2; "
				"use -p PID, which follows a process and its children in any PID namespace)\n",
				strerror(-err));
			goto fail;
		}
		cgroup_reap_stale(c->cg_mount);
	}
	for (int i = 0; i < o->npids; i++)
		if (add_pid_target(c, o->pids[i]))
			goto fail;
	for (int i = 0; i < o->ncgroups; i++)
		if (!add_cgroup_target(c, o->cgroups[i], TARGET_CGROUP, NULL, NULL))
			goto fail;
	if (add_container_targets(c, o))
		goto fail;
	if (o->cmd_argv) {
		err = command_start(&c->cmd, c->cg_mount, o->cmd_argv);
		if (err) {
			fprintf(stderr, "iogap: cannot start %s in a new cgroup below %s: %s\n",
				o->cmd_argv[0], c->cg_mount, strerror(-err));
			goto fail;
		}
		c->has_cmd = true;
		if (!add_cgroup_target(c, c->cmd.cgroup, TARGET_COMMAND, strrchr(o->cmd_argv[0], '/') ?
				       strrchr(o->cmd_argv[0], '/') + 1 : o->cmd_argv[0], NULL))
			goto fail;
		target_pid_add(&c->model.targets[c->model.ntargets - 1], c->cmd.pid);
	}

	raise_nofile_limit();     /* after the command's fork: it keeps the limit it was given */
	c->skel = syscalls_bpf__open_opts(&(struct bpf_object_open_opts){
		.sz = sizeof(struct bpf_object_open_opts), .btf_custom_path = o->btf_path });
	if (!c->skel) {
		fprintf(stderr, "iogap: cannot open BPF object: %s\n", strerror(errno));
		goto fail;
	}
	fill_op_table(c->skel->rodata->op_of_nr);
	kernel_features(&fast, &kasan, &tcp_iter);
	bpf_program__set_autoload(c->skel->progs.iogap_sys_enter, fast);
	bpf_program__set_autoload(c->skel->progs.iogap_sys_exit, fast);
	bpf_program__set_autoload(c->skel->progs.iogap_sys_enter_core, !fast);
	bpf_program__set_autoload(c->skel->progs.iogap_sys_exit_core, !fast);
	if (verbose)
		fprintf(stderr, "iogap: syscall programs read fds with %s\n",
			fast ? "plain loads (bpf_rdonly_cast)" : "CO-RE probe reads");
	c->skel->rodata->have_cgroup_targets = have_cg;
	c->skel->rodata->watch_cgroups = c->watch;
	c->skel->rodata->exclude_tgid = getpid();
	c->skel->rodata->have_pid_targets = o->npids > 0;
	if (c->has_cmd)
		c->skel->rodata->stop_slots = 1ULL << (c->model.ntargets - 1);
	/* preallocated: an entry made in the kernel must never fail for want of memory */
	ntargets = c->watch ? IOGAP_MAX_SLOTS : (int)c->model.ntargets;
	c->skel->rodata->io_max = ntargets * IO_KEYS_PER_TARGET + 64;
	bpf_map__set_max_entries(c->skel->maps.io_stats, c->skel->rodata->io_max * c->ncpus);
	c->skel->rodata->nr_cpus = c->ncpus;
	bpf_map__set_max_entries(c->skel->maps.sys_counts, IOGAP_MAX_SLOTS * c->ncpus);
	bpf_program__set_autoattach(c->skel->progs.iogap_files_switch, false);   /* see below */
	err = syscalls_bpf__load(c->skel);
	if (err) {
		char why[128];

		libbpf_strerror(err, why, sizeof(why));   /* libbpf's own codes too (-4000 and below) */
		fprintf(stderr, "iogap: cannot load BPF programs: %s (run with -v for the verifier log)\n",
			why);
		goto fail;
	}
	if (register_targets(c))
		goto fail;
	scan_target_files(c);
	err = syscalls_bpf__attach(c->skel);
	if (err) {
		fprintf(stderr, "iogap: cannot attach BPF programs: %s\n", strerror(-err));
		goto fail;
	}
	c->rb = ring_buffer__new(bpf_map__fd(c->skel->maps.events), handle_event, c, NULL);
	if (!c->rb) {
		fprintf(stderr, "iogap: cannot open the ring buffer: %s\n", strerror(errno));
		goto fail;
	}
	c->model.start_ns = collector_now_ns();
	{
		/* until a process of the target is sampled: the CPUs iogap (and what it launches) may use */
		cpu_set_t set;

		if (!sched_getaffinity(0, sizeof(set), &set))
			for (size_t i = 0; i < c->model.ntargets; i++)
				c->model.targets[i].bud.ncpus = CPU_COUNT(&set);
	}
	/* a module not asked for stays unopened (zeroed): its snapshot, attach and close do nothing */
	err = module_on(o, COLLECT_BUDGET) ? budget_probes_open(&c->bud, c->skel, o->btf_path) : 0;
	if (err)
		fprintf(stderr, "iogap: the time budget will not be measured: cannot load the scheduler "
			"module: %s\n", strerror(-err));
	/* a switch program flushes what threads hold of their file syscalls (bpf/files.bpf.h): the
	 * budget's, or else the syscall module's own; with neither, nothing is held */
	if (!c->bud.skel)
		c->skel->links.iogap_files_switch = bpf_program__attach(c->skel->progs.iogap_files_switch);
	c->skel->bss->defer_files = c->bud.skel || c->skel->links.iogap_files_switch;
	err = module_on(o, COLLECT_NET) ? net_probes_open(&c->net, c->skel, o->btf_path, kasan, tcp_iter) : 0;
	if (err)
		fprintf(stderr, "iogap: TCP connections will not be measured: cannot load the network "
			"module: %s\n", strerror(-err));
	err = module_on(o, COLLECT_SQLITE) ?
		sqlite_probes_open(&c->sq, c->skel, o->btf_path, o->verbose) : 0;
	if (err)
		fprintf(stderr, "iogap: SQLite statements will not be measured: cannot load the SQLite "
			"module: %s\n", strerror(-err));
	attach_sqlite_existing(c);
	net_probes_snapshot(c->skel, &c->model);     /* the namespace counters' starting point */
	if (c->has_cmd)
		sqlite_probes_attach_command(&c->sq, &c->model, c->model.ntargets - 1, c->cmd.pid,
					     o->cmd_argv[0]);
	if (c->has_cmd) {
		err = command_release(&c->cmd);
		if (err) {
			fprintf(stderr, "iogap: cannot run %s: %s\n", o->cmd_argv[0], strerror(-err));
			rc = err == -ENOENT ? 127 : 126;
			goto fail;
		}
	}
	return 0;
fail:
	collector_close(c);
	model_free(&c->model);    /* the caller gets no collector: nothing of it to report */
	return rc;
}

int collector_poll(struct collector *c, int timeout_ms)
{
	int n = ring_buffer__poll(c->rb, timeout_ms), m;

	/* rich events do not wake us (event_submit in bpf/filter.bpf.h): read what is there */
	m = ring_buffer__consume(c->rb);
	if (n == -EINTR)
		n = 0;
	return n < 0 ? n : m < 0 ? m : n + m;
}

/* Index i's entries in a map of syscalls.bpf.c with one per (index, CPU), into c->buf as a
 * per-CPU map's value reads: 0, or -1 if they could not be read. One batch lookup (it begins
 * after the key it is given: none for key 0), as a per-CPU map's lookup reads every CPU's
 * value in one syscall; arrays have batches since Linux 5.6, before task storage (5.11). */
static int read_cpu_entries(struct collector *c, int fd, __u32 i)
{
	__u32 first = i * c->ncpus, before = first - 1, next, count = c->ncpus;

	if (bpf_map_lookup_batch(fd, first ? &before : NULL, &next, c->batch_keys, c->buf, &count,
				 NULL) || count != (__u32)c->ncpus || c->batch_keys[0] != first)
		return -1;
	return 0;
}

static void snapshot_ops(struct collector *c)
{
	int fd = bpf_map__fd(c->skel->maps.io_stats);
	const volatile __u64 *index = c->skel->bss->io_index;
	struct io_stats sum;

	for (__u32 k = 0; k < IO_INDEX_LEN; k++) {
		__u32 i = (__u32)index[k];
		struct target *t;
		struct op_stats *o;

		if (!i || read_cpu_entries(c, fd, i))
			continue;
		percpu_sum(c->buf, c->ncpus, sizeof(struct io_stats), (uint64_t *)&sum,
			   sizeof(sum) / 8, offsetof(struct io_stats, max_ns) / 8);
		t = slot_target(c, k / IO_KEYS_PER_SLOT);
		o = t ? target_op(t, k % IO_KEYS_PER_SLOT / FDK_KIND_MAX, k % FDK_KIND_MAX) : NULL;
		if (!o)
			continue;
		o->count = sum.count;
		o->errors = sum.errors;
		o->bytes = sum.bytes;
		o->sum_ns = sum.sum_ns;
		o->max_ns = sum.max_ns;
		memcpy(o->hist.b, sum.hist, sizeof(o->hist.b));
	}
}

static void snapshot_syscalls(struct collector *c)
{
	int fd = bpf_map__fd(c->skel->maps.sys_counts);
	struct sys_counts_slot *sum = c->sys_sum;

	for (__u32 s = 0; s < c->model.ntargets && s < IOGAP_MAX_SLOTS; s++) {
		struct target *t = &c->model.targets[s];

		if (read_cpu_entries(c, fd, s))
			continue;
		percpu_sum(c->buf, c->ncpus, sizeof(*sum), (uint64_t *)sum, sizeof(*sum) / 8, SIZE_MAX);
		t->syscalls = 0;
		for (__u32 nr = 0; nr < IOGAP_NR_SYSCALLS; nr++) {
			t->sys_count[nr] = sum->nr[nr].count;
			t->sys_errors[nr] = sum->nr[nr].errors;
			t->syscalls += sum->nr[nr].count;
		}
	}
}

static void snapshot_counters(struct collector *c)
{
	int fd = bpf_map__fd(c->skel->maps.counters);
	__u64 v;

	for (__u32 i = 0; i < CNT_MAX; i++)
		if (!bpf_map_lookup_elem(fd, &i, c->buf)) {
			percpu_sum(c->buf, c->ncpus, sizeof(v), (uint64_t *)&v, 1, SIZE_MAX);
			c->model.counters[i] = v;
		}
	c->model.counters[CNT_PROG_MISSES] = prog_misses(c->skel->obj) +
		prog_misses(c->bud.skel ? c->bud.skel->obj : NULL) +
		prog_misses(c->sq.skel ? c->sq.skel->obj : NULL) + net_probes_misses(&c->net);
}

static void snapshot_pids(struct collector *c)
{
	pid_t pids[4096];

	for (size_t i = 0; i < c->model.ntargets; i++) {
		if (!c->cg_paths[i][0] || (int)i == c->host_slot || c->model.targets[i].stopped_ns)
			continue;
		int n = cgroup_procs_tree(c->cg_paths[i], pids, 4096);

		for (int j = 0; j < n; j++)
			target_pid_note(&c->model.targets[i], pids[j]);
	}
}

int collector_snapshot(struct collector *c)
{
	uint64_t now = collector_now_ns();

	collector_poll(c, 0);
	note_stopped(c);
	snapshot_pids(c);
	/* a process may load SQLite at any time (dlopen): look again once a second */
	if (now - c->last_rescan_ns >= 1000000000ULL) {
		c->last_rescan_ns = now;
		sqlite_probes_reap(&c->sq);
		attach_sqlite_existing(c);
	}
	sqlite_probes_snapshot(&c->sq, &c->model);
	if (c->skel)
		net_probes_snapshot(c->skel, &c->model);
	budget_probes_snapshot(&c->bud, &c->model);
	snapshot_ops(c);
	files_snapshot(&c->files, bpf_map__fd(c->skel->maps.file_stats),
		       bpf_map__fd(c->skel->maps.sq_fsync), &c->model);
	snapshot_syscalls(c);
	snapshot_counters(c);
	c->model.duration_ns = collector_now_ns() - c->model.start_ns;
	return 0;
}

int collector_final_snapshot(struct collector *c)
{
	uint64_t since = collector_now_ns();   /* bpf_ktime_get_ns's clock */
	int err;

	if (c->skel && (err = net_probes_end_open(&c->net, c->skel, &c->model)))
		fprintf(stderr, "iogap: the sweep for TCP closes no program saw failed (%s): such closes "
			"are not counted\n", strerror(-err));
	if (c->net.unswept)
		fprintf(stderr, "iogap: %" PRIu64 " connection%s still open in a network namespace no process "
			"is in any more: if one closed and the kernel ran no program for it, it is not "
			"counted\n", c->net.unswept, c->net.unswept == 1 ? "" : "s");
	err = collector_snapshot(c);

	sqlite_probes_end_open(&c->sq, &c->model, since);
	return err;
}

/* A zombie is gone for tracing purposes: it makes no more syscalls. */
static bool pid_alive(pid_t pid)
{
	char p[64], buf[512], *rp;
	FILE *f;
	bool alive = false;

	snprintf(p, sizeof(p), "/proc/%d/stat", pid);
	f = fopen(p, "re");
	if (!f)
		return false;
	if (fgets(buf, sizeof(buf), f) && (rp = strrchr(buf, ')')) && rp[1] == ' ')
		alive = rp[2] != 'Z' && rp[2] != 'X';
	fclose(f);
	return alive;
}

/* Says once, on stderr, that a -p target has ended: its process and every child it forked
 * have exited (the others go on; the summary counts its exits). */
static void told_gone(struct collector *c, size_t i, size_t left)
{
	const struct target *t = &c->model.targets[i];

	if (c->gone_told & (1ULL << i))
		return;
	c->gone_told |= 1ULL << i;
	fprintf(stderr, "iogap: +%.1fs target %s ended: its %zu process%s exited (%zu of %zu "
		"targets left)\n", (collector_now_ns() - c->model.start_ns) / 1e9, t->name, t->npids,
		t->npids == 1 ? "" : "es", left, c->model.ntargets);
}

bool collector_alive(struct collector *c)
{
	size_t up = 0, gone[IOGAP_MAX_SLOTS], ngone = 0;

	/* the forks not read yet: a parent that forked and exited since the last poll has a child */
	ring_buffer__consume(c->rb);
	for (size_t i = 0; i < c->model.ntargets; i++) {
		const struct target *t = &c->model.targets[i];
		bool alive = c->cg_paths[i][0];   /* a cgroup may gain processes at any time */

		if (c->gone_told & (1ULL << i)) {
			gone[ngone++] = i;        /* ended for good: no process joins a -p target */
			continue;
		}
		for (size_t j = 0; j < t->npids && !alive; j++)
			alive = pid_alive(t->pids[j]);
		if (alive)
			up++;
		else
			gone[ngone++] = i;
	}
	for (size_t k = 0; k < ngone; k++)
		told_gone(c, gone[k], up);
	if (c->has_cmd)
		return !command_poll(&c->cmd);
	if (c->watch || c->host_slot >= 0)
		return true;       /* containers may start at any time */
	return up > 0;
}

void collector_close(struct collector *c)
{
	ring_buffer__free(c->rb);
	c->rb = NULL;
	sqlite_probes_close(&c->sq);
	net_probes_close(&c->net);
	budget_probes_close(&c->bud);
	syscalls_bpf__destroy(c->skel);
	c->skel = NULL;
	if (c->has_cmd || c->cmd.cgroup[0])
		command_cleanup(&c->cmd, false);
	free(c->cg_paths);
	c->cg_paths = NULL;
	free(c->buf);
	c->buf = NULL;
	free(c->sys_sum);
	c->sys_sum = NULL;
	free(c->batch_keys);
	c->batch_keys = NULL;
	files_free(&c->files);
}
