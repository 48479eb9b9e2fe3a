#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "collect/filter.h"
#include "collect/collector.h"
#include "collect/elf.h"
#include "collect/sqlite_find.h"
#include "collect/sqlite_probes.h"
#include "collect/percpu.h"
#include "model/sql.h"
#include "sqlite.skel.h"
#include "syscalls.skel.h"

/* An attached probe: a uprobe_multi link's fd, or libbpf's perf-event link (l). */
struct sq_link {
	struct bpf_link *l;
	int fd;
};

struct sq_proc {
	pid_t pid;
	__u32 slot;
	uint64_t dev, ino;        /* the library (or executable) attached to; 0: none found */
	int nlinks;
	int nprobes;              /* functions x entry/return: a link may hold several */
	struct sq_link links[2 * SQ_NFUNCS];
};

/*
 * How the probes attach. A uprobe attached to one process through a perf event (libbpf's
 * bpf_program__attach_uprobe_opts with a PID) is a perf event of that task: the kernel then
 * switches perf contexts at every context switch of the task, ~0.75 us each here (measured
 * with pingpong and a probe that never fires: 4.8 -> 6.4 us per round trip), which cost a
 * threaded server more than all the probes' hits. A uprobe_multi link (Linux 6.6) with a PID
 * filter has no perf event: its breakpoints are put in that process only, and a switch costs
 * nothing more. libbpf 1.1 has no call for it, so BPF_LINK_CREATE is made here. Before Linux
 * 6.10 its PID filter let only the process's main thread through (fixed by "bpf: fix
 * multi-uprobe PID filtering logic"), so older kernels, or IOGAP_PERF_UPROBES=1, keep the perf
 * events.
 */
#define IOGAP_TRACE_UPROBE_MULTI 48          /* enum bpf_attach_type's BPF_TRACE_UPROBE_MULTI */
#define IOGAP_F_UPROBE_MULTI_RETURN 1U

/* union bpf_attr's link_create, as far as its uprobe_multi member */
struct uprobe_multi_attr {
	__u32 prog_fd;
	__u32 target_fd;
	__u32 attach_type;
	__u32 flags;
	__u64 path;
	__u64 offsets;
	__u64 ref_ctr_offsets;
	__u64 cookies;
	__u32 cnt;
	__u32 multi_flags;
	__u32 pid;
};

static bool uprobe_multi_usable(void)
{
	struct utsname u;
	int major = 0, minor = 0;

	if (collector_env_flag("IOGAP_PERF_UPROBES"))
		return false;
	if (uname(&u) || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return false;
	return major > 6 || (major == 6 && minor >= 10);
}

/* One link of prog at the n offsets off (file offsets in path) of process pid. */
static int uprobe_multi_attach(struct bpf_program *prog, pid_t pid, const char *path,
			       const __u64 *off, int n, bool ret)
{
	struct uprobe_multi_attr a;
	int fd;

	memset(&a, 0, sizeof(a));
	a.prog_fd = bpf_program__fd(prog);
	a.attach_type = IOGAP_TRACE_UPROBE_MULTI;
	a.path = (uintptr_t)path;
	a.offsets = (uintptr_t)off;
	a.cnt = n;
	a.multi_flags = ret ? IOGAP_F_UPROBE_MULTI_RETURN : 0;
	a.pid = pid;
	fd = syscall(__NR_bpf, BPF_LINK_CREATE, &a, sizeof(a));
	return fd < 0 ? -errno : fd;
}

static void link_destroy(struct sq_link *k)
{
	if (k->l)
		bpf_link__destroy(k->l);
	else if (k->fd >= 0)
		close(k->fd);
	k->l = NULL;
	k->fd = -1;
}

/* One link of prog at the n offsets off of path in process pid: a uprobe_multi link, or
 * libbpf's perf-event one (n must be 1 then). 0 or -errno. */
static int link_attach(const struct sqlite_probes *p, struct bpf_program *prog, pid_t pid,
		       const char *path, const __u64 *off, int n, bool ret, struct sq_link *k)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = ret);

	k->l = NULL;
	k->fd = -1;
	if (p->multi) {
		k->fd = uprobe_multi_attach(prog, pid, path, off, n, ret);
		return k->fd < 0 ? k->fd : 0;
	}
	k->l = bpf_program__attach_uprobe_opts(prog, pid, path, off[0], &uo);
	return k->l ? 0 : -errno;
}

struct sq_text {
	uint64_t hash;
	char *sql;
};

static uint64_t text_key(const void *e) { return ((const struct sq_text *)e)->hash; }
static const struct hindex_kind text_ix = { sizeof(struct sq_text), text_key, NULL };

static int grow(void **arr, size_t *cap, size_t n, size_t size)
{
	size_t ncap;
	void *q;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	q = realloc(*arr, ncap * size);
	if (!q)
		return -ENOMEM;
	*arr = q;
	*cap = ncap;
	return 0;
}

/* Keeps a link for detach_parallel at close (a detach waits for the kernel; the links of
 * processes gone cost nobody anything meanwhile), or destroys it now if out of memory. */
static void bury_link(struct sqlite_probes *p, struct sq_link *k)
{
	if (grow((void **)&p->dead, &p->cap_dead, p->ndead, sizeof(*p->dead)))
		link_destroy(k);
	else
		p->dead[p->ndead++] = *k;
}

static const char *const host_libs[] = {
	"/lib/x86_64-linux-gnu/libsqlite3.so.0", "/usr/lib/x86_64-linux-gnu/libsqlite3.so.0",
	"/usr/lib64/libsqlite3.so.0", "/usr/lib/libsqlite3.so.0", "/usr/local/lib/libsqlite3.so.0",
};

/* With n < 0: the 4-byte-aligned offsets below end (at most 8) where stmt holds want, into cand;
 * else those of the n offsets in cand where it does. Returns how many. */
static int u32_places(const void *stmt, uint32_t end, uint32_t want, uint32_t *cand, int n)
{
	uint32_t v;
	int k = 0;

	if (n < 0) {
		for (uint32_t off = 0; off + 4 <= end && k < 8; off += 4) {
			memcpy(&v, (const char *)stmt + off, sizeof(v));
			if (v == want)
				cand[k++] = off;
		}
		return k;
	}
	for (int i = 0; i < n; i++) {
		memcpy(&v, (const char *)stmt + cand[i], sizeof(v));
		if (v == want)
			cand[k++] = cand[i];
	}
	return k;
}

/* Does the argument check's hit i (iogap_sq_argcheck) hold these (ANY: not compared; NONZERO:
 * any but 0)? */
#define ANY UINT64_MAX
#define NONZERO (UINT64_MAX - 1)
static bool hit_is(const struct sqlite_bpf *s, __u32 i, void *db, uint64_t sql, int nbyte,
		   uint64_t pold, uint64_t ppstmt, uint64_t pztail)
{
	const __u64 *a = s->bss->argcheck[i];

	return i < SQ_ARGCHECK_MAX && a[0] == (uintptr_t)db && (sql == ANY || a[1] == sql) &&
	       (int)a[2] == nbyte && a[4] == pold && (ppstmt == ANY || a[5] == ppstmt) &&
	       (pztail == ANY || (pztail == NONZERO ? a[6] != 0 : a[6] == pztail));
}

/* Are the hits since from exactly one, whose first argument is db (a close's)? */
static bool one_close(const struct sqlite_bpf *s, __u32 from, void *db)
{
	return s->bss->argcheck_n == from + 1 && from < SQ_ARGCHECK_MAX &&
	       s->bss->argcheck[from][0] == (uintptr_t)db;
}

/*
 * Probe sites in the host's library where the kernel emulates the instruction at the
 * breakpoint instead of stepping it out of line (a trap and a single-step: ~10 us more per
 * hit on this class of VM, measured on Linux 6.18, which emulates a push; a kernel that does
 * not would step the callee's push too, and gain nothing there), checked in iogap's own process; p->prep_in and
 * p->close_at get those that pass (0: the public functions' entries are probed).
 * - The prepares. Every public one (sqlite3_prepare, _v2, _v3, and through sqlite3Prepare16
 *   the UTF-16 ones) calls one inner function, sqlite3LockAndPrepare(db, sql, nbyte, flags,
 *   pold, ppstmt, pztail), which the re-prepare inside sqlite3_step calls too, with the
 *   statement as pold. In Debian's library the public functions begin with a sub or a mov, the
 *   inner one with a push: empty programs on sqlite3_prepare_v2's entry and return took a
 *   prepare from 6.7 to 16.7 us, on the inner function's from 6.7 to 7.7. It is found as the
 *   first target of a call or jmp rel32 that sqlite3_prepare, _v2 and _v3 share in their first
 *   bytes, in their segment, beginning with a push (elf_common_callee), and checked: a probe on
 *   it must see each of a set of prepares once, with the arguments given where the signature
 *   says, and a re-prepare with pold set.
 * - sqlite3_close and sqlite3_close_v2 (whose probe reads no argument): at the jmp after their
 *   first instruction (elf_emulated_site); checked: one hit per close, db still in its register.
 * The check's uprobe_multi links are kept until close (a detach waits for the kernel); perf-event
 * ones are destroyed at once (a task's perf event costs it at every context switch).
 */
static void learn_sites(struct sqlite_probes *p, void *h, const char *path, void *db)
{
#if defined(__x86_64__)
	typedef int (*open_fn)(const char *, void **, int, const char *);
	typedef int (*prep_fn)(void *, const char *, int, void **, const char **);
	typedef int (*prep3_fn)(void *, const char *, int, unsigned int, void **, const char **);
	typedef int (*prep16_fn)(void *, const void *, int, void **, const void **);
	typedef int (*prep16_3_fn)(void *, const void *, int, unsigned int, void **, const void **);
	typedef int (*exec_fn)(void *, const char *, void *, void *, char **);
	typedef int (*stmt_fn)(void *);
	static const char sql[] = "SELECT x FROM iogap_check /* iogap */";
	static const char *const names[5] = { "sqlite3_prepare", "sqlite3_prepare_v2", "sqlite3_prepare_v3",
					       "sqlite3_close", "sqlite3_close_v2" };
	open_fn op = (open_fn)dlsym(h, "sqlite3_open_v2");
	prep_fn v1 = (prep_fn)dlsym(h, names[0]), v2 = (prep_fn)dlsym(h, names[1]);
	prep3_fn v3 = (prep3_fn)dlsym(h, names[2]);
	prep16_fn u1 = (prep16_fn)dlsym(h, "sqlite3_prepare16"), u2 = (prep16_fn)dlsym(h, "sqlite3_prepare16_v2");
	prep16_3_fn u3 = (prep16_3_fn)dlsym(h, "sqlite3_prepare16_v3");
	exec_fn ex = (exec_fn)dlsym(h, "sqlite3_exec");
	stmt_fn step = (stmt_fn)dlsym(h, "sqlite3_step"), fin = (stmt_fn)dlsym(h, "sqlite3_finalize");
	stmt_fn cl[2] = { (stmt_fn)dlsym(h, names[3]), (stmt_fn)dlsym(h, names[4]) };
	struct sqlite_bpf *s = p->skel;
	uint64_t fo[5], lo, hi;
	__u64 at[3] = { 0 };
	uint16_t sql16[sizeof(sql)];
	const int part = (int)(strstr(sql, " /*") - sql);   /* the statement without its comment */
	void *st = NULL, *old = NULL;
	const char *tail = NULL, *why = NULL;
	const void *tail16 = NULL;
	struct sq_link k[3];
	int nat = 0, fd;
	bool ok;

	if (collector_env_flag("IOGAP_SQLITE_PUBLIC"))
		why = "IOGAP_SQLITE_PUBLIC is set";
	else if (!op || !v1 || !v2 || !v3 || !u1 || !u2 || !u3 || !ex || !step || !fin || !cl[0] || !cl[1] || !s->bss ||
		 elf_func_offsets(path, names, 5, fo) != 5 || elf_exec_range(path, fo[1], &lo, &hi) ||
		 (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		why = "a function or the library's code not found";
	if (why) {
		if (p->verbose)
			fprintf(stderr, "iogap: SQLite: the public functions' entries probed (%s)\n", why);
		return;
	}
	at[0] = elf_common_callee(fd, fo, 3, lo, hi);
	at[1] = elf_emulated_site(fd, fo[3]);
	at[2] = elf_emulated_site(fd, fo[4]);
	close(fd);
	for (size_t i = 0; i < sizeof(sql); i++)
		sql16[i] = (unsigned char)sql[i];
	/* the table, and the schema loaded (which prepares a statement of its own) */
	if (ex(db, "CREATE TABLE iogap_check(x)", NULL, NULL, NULL))
		at[0] = 0;
	s->bss->argcheck_n = 0;
	s->bss->argcheck_on = 1;
	for (int i = 0; i < 3; i++)
		if (at[i] && !link_attach(p, s->progs.iogap_sq_argcheck, getpid(), path, &at[i], 1, false, &k[nat]))
			nat++;
		else
			at[i] = 0;
	/* each prepare: one hit, with its arguments */
	ok = at[0] != 0;
#define ONE(call, ...) do { \
		__u32 i = s->bss->argcheck_n; \
		ok = ok && !(call) && st && s->bss->argcheck_n == i + 1 && hit_is(s, i, db, __VA_ARGS__); \
		if (st) \
			fin(st); \
		st = NULL; \
	} while (0)
	ONE(v2(db, sql, part, &st, &tail), (uintptr_t)sql, part, 0, (uintptr_t)&st, (uintptr_t)&tail);
	ONE(v3(db, sql, -1, 0, &st, NULL), (uintptr_t)sql, -1, 0, (uintptr_t)&st, 0);
	ONE(v1(db, sql, -1, &st, &tail), (uintptr_t)sql, -1, 0, (uintptr_t)&st, (uintptr_t)&tail);
	/* the UTF-8 copy, and a tail into it (on prepare16's stack) */
	ONE(u1(db, sql16, -1, &st, &tail16), ANY, -1, 0, (uintptr_t)&st, NONZERO);
	ONE(u2(db, sql16, -1, &st, &tail16), ANY, -1, 0, (uintptr_t)&st, NONZERO);
	ONE(u3(db, sql16, -1, 0, &st, &tail16), ANY, -1, 0, (uintptr_t)&st, NONZERO);
#undef ONE
	/* a schema change, then a step of a statement prepared before it: re-prepared, pold set */
	if (ok && !v2(db, sql, -1, &old, NULL) && old) {
		__u32 i, j;

		ok = !ex(db, "CREATE TABLE iogap_check2(x)", NULL, NULL, NULL);
		i = s->bss->argcheck_n;
		step(old);
		for (j = i; ok && j < s->bss->argcheck_n && j < SQ_ARGCHECK_MAX; j++)
			if (hit_is(s, j, db, ANY, -1, (uintptr_t)old, ANY, ANY))
				break;
		ok = ok && j < s->bss->argcheck_n && j < SQ_ARGCHECK_MAX;
		fin(old);
	} else {
		ok = false;
	}
	p->prep_in = ok ? at[0] : 0;
	/* each close: one hit, its db in the first argument's register */
	s->bss->argcheck_n = 0;
	for (int c = 0; c < 2; c++) {
		void *d = NULL;
		__u32 i;

		if (!at[1 + c])
			continue;
		if (op(":memory:", &d, 0x2 /* READWRITE */, NULL) || !d) {
			if (d)
				cl[c](d);    /* a failed open leaves a handle to close */
			continue;
		}
		i = s->bss->argcheck_n;
		if (!cl[c](d) && one_close(s, i, d))
			p->close_at[c] = at[1 + c];
	}
	s->bss->argcheck_on = 0;
	for (int i = 0; i < nat; i++)
		if (p->multi)
			bury_link(p, &k[i]);
		else
			link_destroy(&k[i]);
	if (p->verbose) {
		fprintf(stderr, "iogap: SQLite: the prepares' common callee at +0x%" PRIx64 " of %s: %s\n",
			(uint64_t)at[0], path, p->prep_in ? "checked, probed in their place" :
			"not found or failed the check");
		for (int c = 0; c < 2; c++)
			fprintf(stderr, "iogap: SQLite: %s at +0x%" PRIx64 " (its entry +0x%" PRIx64 "): %s\n",
				names[3 + c], (uint64_t)at[1 + c], fo[3 + c], p->close_at[c] ? "checked" : "not used");
	}
#else
	(void)p, (void)h, (void)path, (void)db;
#endif
}
#undef NONZERO
#undef ANY

/*
 * Where a statement of the host's libsqlite3 keeps two things, which depends on the build:
 * - its SQL (what sqlite3_sql() returns): statements prepared before iogap attached have no
 *   prepare to read it from;
 * - its count of executions (what sqlite3_stmt_status(SQLITE_STMTSTATUS_RUN) returns, which
 *   SQLite counts at each execution's first instruction): a step that moves it begins an
 *   execution, so no probe on sqlite3_reset is needed to tell when one was abandoned after a
 *   row, a trap saved per reset, nor one on sqlite3_finalize (a new statement prepared at the
 *   same address, or the end of tracing, ends an execution it left open), a trap saved per
 *   finalize.
 * Learnt from the host's own library, loaded here: prepare a statement, find the word that
 * points to its SQL; run it 3 and then 7 times, find the one u32 that reads 3 and then 7, as
 * sqlite3_stmt_status does, looking no further than the SQL's pointer (SQLite's Vdbe keeps
 * its counters just before it, and the statement may be smaller than any fixed bound). Only
 * the host's library file is ever loaded into iogap (never a container's: that would run its
 * code as root); processes using that same file get the offsets (sqlite_probes_attach), the
 * others are probed on sqlite3_reset and sqlite3_finalize instead.
 */
static void learn_offsets(struct sqlite_probes *p)
{
	typedef int (*open_fn)(const char *, void **, int, const char *);
	typedef int (*prepare_fn)(void *, const char *, int, void **, const char **);
	typedef const char *(*sql_fn)(void *);
	typedef int (*stmt_fn)(void *);
	typedef int (*status_fn)(void *, int, int);
	enum { RUN = 6 /* SQLITE_STMTSTATUS_RUN */, ROW = 100, DONE = 101 };
	char real[PATH_MAX];
	struct stat st;
	void *h = NULL, *db = NULL, *stmt = NULL;

	for (size_t i = 0; i < sizeof(host_libs) / sizeof(host_libs[0]) && !h; i++)
		if (realpath(host_libs[i], real) && !stat(real, &st))
			h = dlopen(real, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return;
	open_fn op = (open_fn)dlsym(h, "sqlite3_open_v2");
	prepare_fn pr = (prepare_fn)dlsym(h, "sqlite3_prepare_v2");
	sql_fn sq = (sql_fn)dlsym(h, "sqlite3_sql");
	stmt_fn fin = (stmt_fn)dlsym(h, "sqlite3_finalize"), cl = (stmt_fn)dlsym(h, "sqlite3_close");
	stmt_fn step = (stmt_fn)dlsym(h, "sqlite3_step"), reset = (stmt_fn)dlsym(h, "sqlite3_reset");
	status_fn status = (status_fn)dlsym(h, "sqlite3_stmt_status");

	if (op && pr && sq && fin && cl && !op(":memory:", &db, 0x2 /* READWRITE */, NULL) &&
	    !pr(db, "SELECT 1 /* iogap */", -1, &stmt, NULL) && stmt) {
		const char *text = sq(stmt);
		uint32_t cand[8];
		int n = -1, runs = 0;

		for (uint32_t off = 0; text && off < 1024; off += sizeof(void *)) {
			const char *w;

			memcpy(&w, (char *)stmt + off, sizeof(w));
			if (w == text) {
				p->offs.zsql = off;
				break;
			}
		}
		for (int want = 3; p->offs.zsql && step && reset && status && want <= 7; want += 4) {
			while (runs < want && step(stmt) == ROW && step(stmt) == DONE && !reset(stmt))
				runs++;
			if (runs != want || status(stmt, RUN, 0) != want ||
			    (n = u32_places(stmt, p->offs.zsql, want, cand, n)) == 0)
				break;
		}
		if (runs == 7 && n == 1)
			p->offs.run = cand[0];
		if (p->offs.zsql) {       /* and the count's, if found */
			p->host_dev = st.st_dev;
			p->host_ino = st.st_ino;
			learn_sites(p, h, real, db);
		}
	}
	if (stmt)
		fin(stmt);
	if (db)
		cl(db);
	dlclose(h);
}

int sqlite_probes_open(struct sqlite_probes *p, struct syscalls_bpf *sys, const char *btf_path,
		       bool verbose)
{
	struct sqlite_bpf *s;
	int err;

	memset(p, 0, sizeof(*p));
	p->verbose = verbose;
	p->ncpus = libbpf_num_possible_cpus();
	if (p->ncpus <= 0 || !(p->buf = calloc(p->ncpus, sizeof(struct stmt_stats))))
		return -ENOMEM;
	s = sqlite_bpf__open_opts(&(struct bpf_object_open_opts){
		.sz = sizeof(struct bpf_object_open_opts), .btf_custom_path = btf_path });
	if (!s)
		return -errno;
	FILTER_COPY_RODATA(s, sys);
	p->multi = uprobe_multi_usable();
	if (p->multi) {
		struct bpf_program *prog;

		bpf_object__for_each_program(prog, s->obj)
			bpf_program__set_expected_attach_type(prog,
				(enum bpf_attach_type)IOGAP_TRACE_UPROBE_MULTI);
	}
	/* one set of targets, one thread state, one ring buffer for all modules */
	if ((err = bpf_map__reuse_fd(s->maps.cgroup_slots, bpf_map__fd(sys->maps.cgroup_slots))) ||
	    (err = bpf_map__reuse_fd(s->maps.tgid_slots, bpf_map__fd(sys->maps.tgid_slots))) ||
	    (err = bpf_map__reuse_fd(s->maps.counters, bpf_map__fd(sys->maps.counters))) ||
	    (err = bpf_map__reuse_fd(s->maps.events, bpf_map__fd(sys->maps.events))) ||
	    (err = bpf_map__reuse_fd(s->maps.thread_states, bpf_map__fd(sys->maps.thread_states))) ||
	    (err = sqlite_bpf__load(s))) {
		sqlite_bpf__destroy(s);
		return err;
	}
	p->skel = s;
	learn_offsets(p);
	return 0;
}

static struct sq_proc *proc_find(struct sqlite_probes *p, pid_t pid, uint64_t dev, uint64_t ino)
{
	for (size_t i = 0; i < p->nprocs; i++)
		if (p->procs[i].pid == pid && p->procs[i].dev == dev && p->procs[i].ino == ino)
			return &p->procs[i];
	return NULL;
}

bool sqlite_probes_known(struct sqlite_probes *p, pid_t pid)
{
	for (size_t i = 0; i < p->nprocs; i++)
		if (p->procs[i].pid == pid)
			return true;
	return false;
}

static void proc_detach(struct sq_proc *pr)
{
	for (int i = 0; i < pr->nlinks; i++)
		link_destroy(&pr->links[i]);
	pr->nlinks = 0;
}

/* Entry and return programs per function (NULL: none). */
static void progs_of(struct sqlite_bpf *s, int f, struct bpf_program **entry, struct bpf_program **ret)
{
	*entry = *ret = NULL;
	switch (f) {
	case SQ_PREPARE_V2: case SQ_PREPARE: /* the same arguments */
		*entry = s->progs.iogap_sq_prep2; *ret = s->progs.iogap_sq_prep_r; break;
	case SQ_PREPARE_V3: *entry = s->progs.iogap_sq_prep3; *ret = s->progs.iogap_sq_prep_r; break;
	case SQ_PREPARE16: case SQ_PREPARE16_V2:
		*entry = s->progs.iogap_sq_prep16; *ret = s->progs.iogap_sq_prep_r; break;
	case SQ_PREPARE16_V3: *entry = s->progs.iogap_sq_prep16_3; *ret = s->progs.iogap_sq_prep_r; break;
	case SQ_STEP: *entry = s->progs.iogap_sq_step; *ret = s->progs.iogap_sq_step_r; break;
	case SQ_EXEC: *entry = s->progs.iogap_sq_exec; *ret = s->progs.iogap_sq_exec_r; break;
	case SQ_FINALIZE: *entry = s->progs.iogap_sq_final; break;
	case SQ_RESET: *entry = s->progs.iogap_sq_reset; break;
	case SQ_OPEN_V2: case SQ_OPEN: *entry = s->progs.iogap_sq_open; *ret = s->progs.iogap_sq_open_r; break;
	case SQ_PREPARE_IN: *entry = s->progs.iogap_sq_prep_in; *ret = s->progs.iogap_sq_prep_r; break;
	case SQ_CLOSE: case SQ_CLOSE_V2: *entry = s->progs.iogap_sq_close; break;
	}
}

static int attach_lib(struct sqlite_probes *p, struct model *m, __u32 slot, pid_t pid,
		      const struct sqlite_lib *lib)
{
	static const char *const where_names[] = { [SQW_MAPPED] = "mapped", [SQW_STATIC] = "static",
						   [SQW_CANDIDATE] = "candidate" };
	struct target *t = slot < m->ntargets ? &m->targets[slot] : NULL;
	struct sq_proc *pr;
	__u32 tgid = pid;
	bool host;
	int err = 0;

	if (!t)
		return 0;
	if (proc_find(p, pid, lib->dev, lib->ino)) {
		/* the library attached to in advance is the one the process really loaded */
		if (lib->where != SQW_CANDIDATE && t->sq.where && !strcmp(t->sq.where, "candidate")) {
			free(t->sq.library);
			t->sq.library = strdup(lib->shown);
			t->sq.where = where_names[lib->where];
			fprintf(stderr, "iogap: +%.2fs SQLite in pid %d of %s: %s (loaded; attached in "
				"advance)\n", (collector_now_ns() - m->start_ns) / 1e9, pid, t->name, lib->shown);
		}
		return 0;
	}
	if (grow((void **)&p->procs, &p->cap, p->nprocs, sizeof(*pr)))
		return -ENOMEM;
	pr = &p->procs[p->nprocs];
	memset(pr, 0, sizeof(*pr));
	pr->pid = pid;
	pr->slot = slot;
	pr->dev = lib->dev;
	pr->ino = lib->ino;
	/* the host's library: where its statements keep their SQL and their count of executions,
	 * in place before a probe can make a statement's state; with the count, neither
	 * sqlite3_reset nor sqlite3_finalize needs a probe (sqlite.bpf.c, iogap_sq_step_r and
	 * iogap_sq_prep_r; the executions still open at the end: sqlite_probes_end_open) */
	host = p->offs.zsql && lib->dev == p->host_dev && lib->ino == p->host_ino;
	if (host)
		bpf_map_update_elem(bpf_map__fd(p->skel->maps.sq_offs), &tgid, &p->offs, BPF_ANY);
	/* the functions to probe, grouped by program: one uprobe_multi link per program and
	 * direction holds all its functions' offsets, not one per function
	 * (the attach takes as long: the kernel registers each uprobe on its own, about 25 ms
	 * each on a VM where a breakpoint trap costs 6 us) */
	struct { struct bpf_program *prog; bool ret; int n, f[SQ_NFUNCS]; __u64 off[SQ_NFUNCS]; }
		g[2 * SQ_NFUNCS];
	uint64_t offs[SQ_NFUNCS];
	int ng = 0;

	memcpy(offs, lib->offs, sizeof(offs));
	if (host && p->prep_in) {
		/* one probe for the six prepares, at their common callee (learn_sites) */
		for (int f = SQ_PREPARE_V2; f <= SQ_PREPARE16_V3; f++)
			offs[f] = 0;
		offs[SQ_PREPARE_IN] = p->prep_in;
	}
	_Static_assert(SQ_CLOSE_V2 == SQ_CLOSE + 1, "close_at[c] is the site of SQ_CLOSE + c");
	for (int c = 0; c < 2; c++)
		if (host && p->close_at[c] && offs[SQ_CLOSE + c])
			offs[SQ_CLOSE + c] = p->close_at[c];
	for (int f = 0; f < SQ_NFUNCS; f++) {
		struct bpf_program *progs[2];

		if (!offs[f] || ((f == SQ_RESET || f == SQ_FINALIZE) && host && p->offs.run))
			continue;
		progs_of(p->skel, f, &progs[0], &progs[1]);
		for (int r = 0; r < 2 && progs[r]; r++) {
			int i = 0;

			while (i < ng && !(g[i].prog == progs[r] && g[i].ret == (r == 1)))
				i++;
			if (i == ng) {
				g[ng].prog = progs[r];
				g[ng].ret = r == 1;
				g[ng++].n = 0;
			}
			g[i].f[g[i].n] = f;
			g[i].off[g[i].n++] = offs[f];
		}
	}
	for (int i = 0; i < ng && !err; i++) {
		/* perf-event uprobes: one per function */
		for (int j = 0; j < (p->multi ? 1 : g[i].n) && !err; j++) {
			struct sq_link k;

			err = link_attach(p, g[i].prog, pid, lib->path, &g[i].off[j], p->multi ? g[i].n : 1,
					  g[i].ret, &k);
			if (err) {
				fprintf(stderr, "iogap: cannot attach to %s in pid %d (%s): %s\n",
					sqlite_func_names[g[i].f[j]], pid, lib->shown, strerror(-err));
				break;
			}
			pr->links[pr->nlinks++] = k;
		}
		pr->nprobes += g[i].n;
	}
	if (err) {
		proc_detach(pr);
		if (host)
			bpf_map_delete_elem(bpf_map__fd(p->skel->maps.sq_offs), &tgid);
		return err;
	}
	p->nprocs++;
	t->sq.processes++;
	if (!t->sq.library || lib->where != SQW_CANDIDATE) {
		free(t->sq.library);
		t->sq.library = strdup(lib->shown);
		t->sq.where = where_names[lib->where];
	}
	if (lib->where != SQW_CANDIDATE)
		fprintf(stderr, "iogap: +%.2fs SQLite in pid %d of %s: %s (%s, %d probes%s%s)\n",
		(collector_now_ns() - m->start_ns) / 1e9 * (m->start_ns != 0), pid, t->name, lib->shown,
		where_names[lib->where], pr->nprobes,
		host && p->offs.run ? "; executions from SQLite's own count, sqlite3_reset and "
		"sqlite3_finalize unprobed" : "", host && p->prep_in ? "; prepares at their common callee" : "");
	return 1;
}

int sqlite_probes_attach(struct sqlite_probes *p, struct model *m, __u32 slot, pid_t pid,
			 bool allow_candidate)
{
	struct sqlite_lib lib;
	int err;

	if (!p->skel)
		return 0;
	err = sqlite_find(pid, allow_candidate, &lib);
	if (err == -ENOENT || err == -ESRCH)
		return 0;
	if (err)
		return err;
	return attach_lib(p, m, slot, pid, &lib);
}

bool sqlite_probes_is_lib(const char *path)
{
	const char *base = strrchr(path, '/');

	return !strncmp(base ? base + 1 : path, "libsqlite3", 10);
}

int sqlite_probes_attach_file(struct sqlite_probes *p, struct model *m, __u32 slot, pid_t pid,
			      const char *path)
{
	struct sqlite_lib lib;
	struct stat st;

	if (!p->skel)
		return 0;
	memset(&lib, 0, sizeof(lib));
	char real[PATH_MAX], root[64], rootdir[PATH_MAX];
	size_t rl;
	ssize_t n;

	snprintf(lib.path, sizeof(lib.path), "/proc/%d/%s%s", pid, path[0] == '/' ? "root" : "cwd/", path);
	snprintf(lib.shown, sizeof(lib.shown), "%s", path);
	/* name it as /proc/PID/maps will: symlinks (libsqlite3.so.0 -> .so.0.8.6) resolved, and
	 * relative to the process's root (its root as the host sees it is stripped) */
	snprintf(root, sizeof(root), "/proc/%d/root", pid);
	n = readlink(root, rootdir, sizeof(rootdir) - 1);
	if (n > 0 && realpath(lib.path, real)) {
		rootdir[n] = 0;
		rl = strcmp(rootdir, "/") ? (size_t)n : 0;
		if (!rl || (!strncmp(real, rootdir, rl) && real[rl] == '/'))
			snprintf(lib.shown, sizeof(lib.shown), "%s", real + rl);
	}
	if (stat(lib.path, &st))
		return -errno;
	if (elf_func_offsets(lib.path, sqlite_func_names, SQ_NPUBLIC, lib.offs) <= 0 || !lib.offs[SQ_STEP])
		return 0;
	lib.dev = st.st_dev;
	lib.ino = st.st_ino;
	lib.where = SQW_MAPPED;
	return attach_lib(p, m, slot, pid, &lib);
}

/* The command has not exec'd yet, so its /proc entries still show iogap: look at the file. */
int sqlite_probes_attach_command(struct sqlite_probes *p, struct model *m, __u32 slot, pid_t pid,
				 const char *file)
{
	struct sqlite_lib lib;
	char exe[PATH_MAX];
	const char *path = getenv("PATH");
	struct stat st;
	int n, rc = 0;

	if (!p->skel)
		return 0;
	exe[0] = 0;
	if (strchr(file, '/')) {
		if (!realpath(file, exe))
			exe[0] = 0;
	} else {
		for (const char *d = path ? path : "/usr/bin:/bin"; *d;) {
			size_t k = strcspn(d, ":");
			char cand[PATH_MAX];

			snprintf(cand, sizeof(cand), "%.*s/%s", (int)k, k ? d : ".", file);
			if (!access(cand, X_OK) && realpath(cand, exe))
				break;
			exe[0] = 0;
			d += k + (d[k] == ':');
		}
	}
	/* statically linked: the executable has the functions itself */
	if (exe[0]) {
		memset(&lib, 0, sizeof(lib));
		n = elf_func_offsets(exe, sqlite_func_names, SQ_NPUBLIC, lib.offs);
		if (n > 0 && lib.offs[SQ_STEP] && !stat(exe, &st)) {
			snprintf(lib.path, sizeof(lib.path), "%s", exe);
			snprintf(lib.shown, sizeof(lib.shown), "%s", exe);
			lib.dev = st.st_dev;
			lib.ino = st.st_ino;
			lib.where = SQW_STATIC;
			return attach_lib(p, m, slot, pid, &lib);
		}
	}
	return rc;
}

void sqlite_probes_text(struct sqlite_probes *p, const void *event, size_t size)
{
	const struct sql_text_event *e = event;
	char buf[SQL_TEXT_MAX * 2], utf8[SQL_TEXT_MAX * 2];   /* UTF-16: 252 units, 3 bytes each at most */
	const char *text = e->text;
	struct sq_text *t;
	size_t len;

	if (size < sizeof(*e))
		return;
	if (hindex_find(&p->texts_ix, &text_ix, p->texts, p->ntexts, e->hash, NULL) >= 0)
		return;
	if (grow((void **)&p->texts, &p->cap_texts, p->ntexts, sizeof(*t)))
		return;
	len = e->len < SQL_TEXT_MAX ? e->len : SQL_TEXT_MAX - 1;
	if (e->utf16) {
		len = sql_utf16_to_utf8(e->text, len, utf8, sizeof(utf8));
		text = utf8;
	}
	sql_normalize(text, len, buf, sizeof(buf));
	if (e->truncated && strlen(buf) + 4 < sizeof(buf))
		strcat(buf, " ...");
	t = &p->texts[p->ntexts];
	t->hash = e->hash;
	t->sql = strdup(buf);
	if (t->sql)
		hindex_added(&p->texts_ix, &text_ix, p->texts, ++p->ntexts);
}

static const char *text_of(struct sqlite_probes *p, uint64_t hash)
{
	long i = hindex_find(&p->texts_ix, &text_ix, p->texts, p->ntexts, hash, NULL);

	return i >= 0 ? p->texts[i].sql : NULL;
}

/* The two histograms of the pair numbered idx in sq_stats, from their rows. */
static void hist_rows_read(struct sqlite_probes *p, __u32 idx, struct sql_stmt *s)
{
	int fd = bpf_map__fd(p->skel->maps.sq_hist_rows);
	struct sq_hist_row row;
	__u32 k;

	_Static_assert(sizeof(row.b) == sizeof(s->step_hist.b), "sq_hist_row: a model histogram");
	k = idx * 2 + SQ_HIST_STEP;
	if (!bpf_map_lookup_elem(fd, &k, &row))
		memcpy(s->step_hist.b, row.b, sizeof(row.b));
	k = idx * 2 + SQ_HIST_STMT;
	if (!bpf_map_lookup_elem(fd, &k, &row))
		memcpy(s->stmt_hist.b, row.b, sizeof(row.b));
}

void sqlite_probes_snapshot(struct sqlite_probes *p, struct model *m)
{
	struct sq_key k, next, *prev = NULL;
	struct sq_hist_key hk, hnext, *hprev = NULL;
	struct stmt_stats st;
	int fd, sfd;
	__u32 idx;

	if (!p->skel)
		return;
	/* sq_index: {target, text hash} -> its entry in the per-CPU array sq_stats, + 1 */
	fd = bpf_map__fd(p->skel->maps.sq_index);
	sfd = bpf_map__fd(p->skel->maps.sq_stats);
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		prev = &k;
		if (k.slot >= m->ntargets || bpf_map_lookup_elem(fd, &k, &idx) || !idx || idx > SQ_STATS_MAX)
			continue;
		idx--;
		if (bpf_map_lookup_elem(sfd, &idx, p->buf))
			continue;
		percpu_sum(p->buf, p->ncpus, sizeof(st), (uint64_t *)&st, sizeof(st) / 8, SIZE_MAX);
		struct sql_stmt *s = target_stmt(&m->targets[k.slot], k.hash);

		if (!s)
			continue;
		s->s = st;
		if (!s->sql) {
			const char *sql = text_of(p, k.hash);

			if (sql)
				s->sql = strdup(sql);
		}
		memset(&s->step_hist, 0, sizeof(s->step_hist));
		memset(&s->stmt_hist, 0, sizeof(s->stmt_hist));
		if (idx < SQ_HIST_ARRAY)   /* its histograms are rows of sq_hist_rows, not in sq_hist */
			hist_rows_read(p, idx, s);
	}
	fd = bpf_map__fd(p->skel->maps.sq_hist);
	while (!bpf_map_get_next_key(fd, hprev, &hnext)) {
		uint64_t c;

		hk = hnext;
		hprev = &hk;
		if (hk.slot >= m->ntargets || hk.bucket >= HIST_BUCKETS || bpf_map_lookup_elem(fd, &hk, p->buf))
			continue;
		percpu_sum(p->buf, p->ncpus, sizeof(c), &c, 1, SIZE_MAX);
		struct sql_stmt *s = target_stmt(&m->targets[hk.slot], hk.hash);

		if (s)
			(hk.which == SQ_HIST_STEP ? &s->step_hist : &s->stmt_hist)->b[hk.bucket] = c;
	}
	fd = bpf_map__fd(p->skel->maps.sq_slots);
	for (__u32 i = 0; i < m->ntargets && i < IOGAP_MAX_SLOTS; i++) {
		struct sq_slot_stats ss;

		if (bpf_map_lookup_elem(fd, &i, &ss))
			continue;
		m->targets[i].sq.opens = ss.opens;
		m->targets[i].sq.closes = ss.closes;
		m->targets[i].sq.open_ns = ss.open_ns;
		m->targets[i].sq.prep_sleeps = ss.prep_sleeps;
		m->targets[i].sq.prep_sleep_ns = ss.prep_sleep_ns;
		m->targets[i].sq.prep_busy = ss.prep_busy;
	}
}

struct open_stmt {
	struct stmt_key k;
	struct stmt_state ss;
};

static int open_stmt_cmp(const void *a, const void *b)
{
	return memcmp(&((const struct open_stmt *)a)->k, &((const struct open_stmt *)b)->k,
		      sizeof(struct stmt_key));
}

/*
 * When tracing ends: every execution still open (abandoned after a row and never reset, no new
 * execution or statement come at its address, or still running) ended at its last step, as the
 * probes would have ended it. Where sqlite3_finalize is unprobed this is how an execution left
 * open by a finalize gets its time. Only executions begun before since_ns, when the last
 * snapshot began (the model has their count); each statement once, though the traced processes
 * may still run: a hash map's walk starts over when the key it stands on is removed, so the
 * entries are gathered first and their duplicates dropped. Added to the model only, after its
 * last snapshot.
 */
void sqlite_probes_end_open(struct sqlite_probes *p, struct model *m, uint64_t since_ns)
{
	struct stmt_key k, next, *prev = NULL;
	struct open_stmt *all = NULL;
	size_t n = 0, cap = 0;
	int fd;

	if (!p->skel)
		return;
	fd = bpf_map__fd(p->skel->maps.stmts);
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		struct stmt_state ss;

		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(fd, &k, &ss) || !ss.first_ts || ss.first_ts >= since_ns ||
		    ss.last_ts <= ss.first_ts || !ss.idx || ss.slot >= m->ntargets)
			continue;
		if (grow((void **)&all, &cap, n, sizeof(*all)))
			break;
		all[n].k = k;
		all[n++].ss = ss;
	}
	if (n)
		qsort(all, n, sizeof(*all), open_stmt_cmp);
	for (size_t i = 0; i < n; i++) {
		const struct stmt_state *ss = &all[i].ss;
		struct sql_stmt *s;
		uint64_t d = ss->last_ts - ss->first_ts;

		if ((i && !open_stmt_cmp(&all[i - 1], &all[i])) ||
		    !(s = target_stmt(&m->targets[ss->slot], ss->hash)))
			continue;
		s->s.stmt_ns += d;
		s->s.stmt_ended++;
		s->stmt_hist.b[hist_bucket(d)]++;
	}
	free(all);
}

/* Keeps a process's links for detach_parallel at close (bury_link). */
static void bury_links(struct sqlite_probes *p, struct sq_proc *pr)
{
	for (int i = 0; i < pr->nlinks; i++)
		bury_link(p, &pr->links[i]);
	pr->nlinks = 0;
}

void sqlite_probes_reap(struct sqlite_probes *p)
{
	size_t k = 0;

	for (size_t i = 0; i < p->nprocs; i++) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/%d", p->procs[i].pid);
		if (access(path, F_OK)) {
			__u32 tgid = p->procs[i].pid;
			struct sq_proc *pr = &p->procs[i];

			bury_links(p, pr);
			if (p->skel)
				bpf_map_delete_elem(bpf_map__fd(p->skel->maps.sq_offs), &tgid);
			continue;
		}
		p->procs[k++] = p->procs[i];
	}
	p->nprocs = k;
}

struct detach_job {
	struct sq_link *links;
	size_t n;
};

static void *detach_links(void *arg)
{
	struct detach_job *j = arg;

	for (size_t i = 0; i < j->n; i++)
		link_destroy(&j->links[i]);
	return NULL;
}

/* Destroys links from several threads: each waits for the kernel, and the waits overlap. */
static void detach_parallel(struct sq_link *links, size_t n)
{
	enum { THREADS = 16 };
	struct detach_job jobs[THREADS];
	pthread_t th[THREADS];
	bool started[THREADS] = { false };
	size_t per = (n + THREADS - 1) / THREADS;

	for (int i = 0; i < THREADS && per; i++) {
		size_t from = i * per;

		jobs[i].links = links + from;
		jobs[i].n = from >= n ? 0 : (n - from < per ? n - from : per);
		if (jobs[i].n)
			started[i] = !pthread_create(&th[i], NULL, detach_links, &jobs[i]);
		if (jobs[i].n && !started[i])
			detach_links(&jobs[i]);
	}
	for (int i = 0; i < THREADS; i++)
		if (started[i])
			pthread_join(th[i], NULL);
}

void sqlite_probes_close(struct sqlite_probes *p)
{
	for (size_t i = 0; i < p->nprocs; i++) {
		struct sq_proc *pr = &p->procs[i];

		bury_links(p, pr);
	}
	detach_parallel(p->dead, p->ndead);
	free(p->dead);
	free(p->buf);
	p->buf = NULL;
	free(p->procs);
	for (size_t i = 0; i < p->ntexts; i++)
		free(p->texts[i].sql);
	free(p->texts);
	hindex_free(&p->texts_ix);
	sqlite_bpf__destroy(p->skel);
	memset(p, 0, sizeof(*p));
}
