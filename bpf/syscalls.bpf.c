// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Syscall I/O: one sys_enter/sys_exit pair serves file and socket I/O alike (one pair costs
 * less than one per class). Per target x operation x fd kind: count, errors, bytes and a
 * log-linear latency histogram; per target x file: count and time; per target x syscall
 * number: count and errors, so totals compare with strace -c.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "syscalls.h"
#include "filter.bpf.h"
#include "thread.bpf.h"
#include "files.bpf.h"
#include "net.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define S_IFMT   00170000
#define S_IFSOCK 0140000
#define S_IFLNK  0120000
#define S_IFREG  0100000
#define S_IFBLK  0060000
#define S_IFDIR  0040000
#define S_IFIFO  0010000
#define AF_UNIX  1
#define AF_INET  2
#define AF_INET6 10
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
/* The kernel's own trampolines return from a uretprobe (and enter an optimized uprobe) through
 * these (Linux 6.11, 6.18): iogap's probes, not the target's syscalls */
#define NR_URETPROBE 335
#define NR_UPROBE 336
#define F_GETLK 5
#define F_SETLK 6
#define F_SETLKW 7
#define F_OFD_GETLK 36
#define F_OFD_SETLK 37
#define F_OFD_SETLKW 38

/*
 * Slots (bit per slot) whose processes iogap launched itself: when one execs, or opens a file
 * named libsqlite3*, it is stopped until user space has attached its SQLite uprobes (it sends
 * SIGCONT), so not one statement runs unobserved. Only after the event is reserved: an event
 * that cannot be sent stops nothing.
 */
const volatile __u64 stop_slots = 0;
#define SIGSTOP 19

/* A new child of a launched process returns from fork (its first sys_exit, before any of its
 * own code runs; iogap_fork marked it fork_stop in its state): stop it until its uprobes are
 * there. */
static __always_inline void stop_new_child(struct thread_state *ts)
{
	__u32 slot = ts->slot;
	struct task_event *e;

	ts->fork_stop = 0;
	e = event_reserve(sizeof(*e));
	if (!e)
		return;
	event_fill_hdr(&e->hdr, EV_PROC_STOPPED, slot);
	e->child_pid = 0;
	e->cgroup_id = 0;
	e->stopped = 1;
	bpf_send_signal(SIGSTOP);
	event_submit(e, true);
}

/* Bumped by user space whenever it changes a cgroup's slot (a container's cgroup first gets
 * its parent's slot at mkdir, then its own): a thread's cached slot is only good for the epoch
 * it was found in. */
__u64 slot_epoch = 0;

/*
 * Bumped by every thread's exit (iogap_exit): a task struct freed and reused for a new thread
 * must not pass for the one sys_enter last found no target (bystander below).
 */
__u64 exit_epoch = 0;

/*
 * Per CPU, the last thread sys_enter found to be no target, with its cgroup and the epochs it
 * was found in: a thread that is no target and makes syscalls in a row on a CPU (every process
 * of the machine that is not traced) is told by a few loads and compares instead of a helper
 * call and one or two hash lookups on each syscall. The answer can only change by a map
 * change, which user space makes before it bumps slot_epoch (cgroup targets, pids) or the
 * programs make for a new cgroup (a thread reaches it by moving: its cgroup differs) or a new
 * child (a new task: its struct is no cached thread's, or that one exited, bumping exit_epoch).
 */
struct bystander {
	__u64 task;
	__u64 cgrp;
	__u32 slot_epoch;
	__u32 exit_epoch;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bystander);
} bystanders SEC(".maps");

/* Filled by user space before load: syscall number -> operation (x86_64 numbers). */
const volatile __u8 op_of_nr[IOGAP_NR_SYSCALLS] = {};

#define IOGAP_OP_FLAGS(e, name, flags) [e] = (flags),
static const __u8 op_flags[IOP_MAX] = { IOGAP_OPS(IOGAP_OP_FLAGS) };


/*
 * Per (slot, operation, fd kind): its io_stats entry, 0 for none yet. Taken from io_next on a
 * pair's first syscall (compare-and-swap: a racing CPU's number is left unused). Two array
 * lookups the verifier inlines, instead of a hash lookup, on every timed syscall. In .bss, so
 * that user space reads it from its memory map.
 */
__u64 io_index[IO_INDEX_LEN] = {};    /* 64-bit: clang 14 emits 32-bit atomics only with -mcpu=v3 */
__u64 io_next = 0;
/* io_stats' entries (numbers from io_index), set by user space with its size */
const volatile __u32 io_max = 1;

/*
 * The per-CPU figures, as plain arrays with an entry per (index, CPU) at index * nr_cpus + cpu,
 * not per-CPU arrays: the verifier inlines a plain array's lookup as arithmetic on the map's
 * address, where a per-CPU array's loads the element's pointer from the map first, a line of
 * its own that every syscall paid for. user space sets max_entries and nr_cpus (possible CPUs),
 * and reads an index's nr_cpus entries as a per-CPU map's value.
 */
const volatile __u32 nr_cpus = 1;

/* Per io_index number and CPU: the timed syscalls' figures */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct io_stats);
} io_stats SEC(".maps");

/* Per slot and CPU: the slot's syscall counts */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, IOGAP_MAX_SLOTS);
	__type(key, __u32);
	__type(value, struct sys_counts_slot);
} sys_counts SEC(".maps");

static __always_inline __u32 cpu_entry(__u32 index)
{
	return index * nr_cpus + bpf_get_smp_processor_id();
}

static __always_inline struct sys_counts_slot *sys_counts_of(__u32 slot)
{
	__u32 idx = cpu_entry(slot);

	return bpf_map_lookup_elem(&sys_counts, &idx);
}

static __always_inline struct io_stats *io_stats_of(__u32 index)
{
	__u32 idx = cpu_entry(index);

	return bpf_map_lookup_elem(&io_stats, &idx);
}

struct fd_info {
	__u64 sk;
	__u64 ino;
	__u32 dev;
	__u32 gen;
	__u8 kind;
};

/* A pointer the verifier does not know (read from the fd array, or a void *) as a read-only
 * typed one: its fields are then plain loads the kernel guards against faults (the verifier
 * turns the call into a move), instead of a probe-read helper call per field. Linux 6.2+:
 * weak, so that the object loads where it is missing; user space then loads the *_core
 * programs, which read each field with a CO-RE probe read (RD with fast false). */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;
#define AS(type, p) ((type *)bpf_rdonly_cast((p), bpf_core_type_id_kernel(type)))
#define RD(fast, type, p, field) ((fast) ? AS(type, (p))->field : BPF_CORE_READ((type *)(p), field))

/*
 * What fd refers to, from the current task's (task's) fd table. Pointers reached from the
 * trusted task are plain loads, the fields behind the fd array's slot RD.
 */
static __always_inline void fd_classify(struct task_struct *task, long fd, struct fd_info *fi,
					const bool fast)
{
	struct files_struct *files = task->files;
	struct fdtable *fdt;
	struct file **fds, *file = NULL;
	struct inode *inode;
	__u16 mode;

	fi->kind = FDK_NONE;
	fi->ino = 0;
	fi->dev = 0;
	fi->gen = 0;
	fi->sk = 0;
	if (!files || fd < 0)
		return;
	fdt = files->fdt;
	if (!fdt || fd >= fdt->max_fds)
		return;
	fds = fast ? fdt->fd : BPF_CORE_READ(fdt, fd);
	/* the slot as a plain load too: read through a type whose first field is a struct file
	 * pointer (struct kiocb's ki_filp), since the verifier has no type for an array of them */
	if (fast && bpf_core_field_offset(struct kiocb, ki_filp) == 0)
		file = AS(struct kiocb, &fds[fd])->ki_filp;
	else
		bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]);
	if (!file)
		return;
	inode = RD(fast, struct file, file, f_inode);
	if (!inode)
		return;
	mode = RD(fast, struct inode, inode, i_mode);
	switch (mode & S_IFMT) {
	case S_IFREG:
	case S_IFDIR:
	case S_IFLNK:
	case S_IFBLK: {
		struct super_block *sb = RD(fast, struct inode, inode, i_sb);

		fi->kind = FDK_FILE;
		fi->ino = RD(fast, struct inode, inode, i_ino);
		fi->dev = sb ? RD(fast, struct super_block, sb, s_dev) : 0;
		fi->gen = RD(fast, struct inode, inode, i_generation);
		return;
	}
	case S_IFIFO:
		fi->kind = FDK_PIPE;
		return;
	case S_IFSOCK: {
		struct socket *sock = RD(fast, struct file, file, private_data);
		struct sock *sk = sock ? RD(fast, struct socket, sock, sk) : NULL;
		__u16 family;
		short type;

		if (!sk) {
			fi->kind = FDK_OTHER;
			return;
		}
		type = RD(fast, struct socket, sock, type);
		family = RD(fast, struct sock, sk, __sk_common.skc_family);
		fi->sk = (__u64)sk;
		if (family == AF_UNIX)
			fi->kind = FDK_UNIX;
		else if ((family == AF_INET || family == AF_INET6) && type == SOCK_STREAM)
			fi->kind = FDK_TCP;
		else if ((family == AF_INET || family == AF_INET6) && type == SOCK_DGRAM)
			fi->kind = FDK_UDP;
		else
			fi->kind = FDK_OTHER;
		return;
	}
	default:
		fi->kind = FDK_OTHER;
	}
}

static __always_inline int sys_enter(struct pt_regs *regs, long id, const bool fast)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct thread_state *ts;
	struct sys_counts_slot *sc;
	struct fd_info fi;
	__u32 op, flags;
	__u64 cgrp = 0;
	__u32 epoch;
	int slot;

	if (id < 0 || id >= IOGAP_NR_SYSCALLS || id == NR_URETPROBE || id == NR_UPROBE)
		return 0;
	/*
	 * A target's thread keeps its slot in its state, valid while it stays in the same cgroup
	 * and no cgroup's slot has changed (slot_epoch): one task-storage lookup instead of a hash
	 * lookup and another for the state. The cgroup is told by its struct's address, two loads
	 * the scheduler keeps cached, not by its id (two more, from the kernfs node, and a helper
	 * call): a cgroup freed and another made at its address would look the same, so every
	 * cgroup_rmdir bumps slot_epoch (only an empty cgroup is removed). Others take the
	 * filter's way.
	 */
	if (have_cgroup_targets)
		cgrp = fast ? (__u64)task->cgroups->dfl_cgrp : (__u64)BPF_CORE_READ(task, cgroups, dfl_cgrp);
	epoch = (__u32)slot_epoch;
	ts = thread_state_of(task);
	if (ts && ts->slot_known && ts->slot_cgrp == cgrp && ts->slot_epoch == epoch &&
	    ts->slot < IOGAP_MAX_SLOTS) {
		slot = ts->slot;
	} else {
		__u32 zero = 0, exits = (__u32)exit_epoch;
		struct bystander *by = bpf_map_lookup_elem(&bystanders, &zero);

		if (by && by->task == (__u64)task && by->cgrp == cgrp && by->slot_epoch == epoch &&
		    by->exit_epoch == exits)
			return 0;
		slot = target_slot_of(have_cgroup_targets ? bpf_get_current_cgroup_id() : 0);
		if (slot < 0 || slot >= IOGAP_MAX_SLOTS) {
			if (by) {
				by->task = (__u64)task;
				by->cgrp = cgrp;
				by->slot_epoch = epoch;
				by->exit_epoch = exits;
			}
			return 0;
		}
		/* every target syscall gets state, so sys_exit needs no target lookup of its own */
		if (!ts)
			ts = bpf_task_storage_get(&thread_states, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (!ts) {
			counter_inc(CNT_TASK_STORAGE_FAIL);
			return 0;
		}
		ts->slot = slot;
		ts->slot_cgrp = cgrp;
		ts->slot_epoch = epoch;
		ts->slot_known = 1;   /* slot is the target's (the SQLite probes take it from here) */
	}
	sc = sys_counts_of(slot);
	if (sc)
		sc->nr[id & (IOGAP_NR_SYSCALLS - 1)].count++;

	op = op_of_nr[id];
	if (op >= IOP_MAX)
		return 0;
	ts->nr = id;
	ts->slot = slot;
	ts->op = op;
	ts->active = 1;
	if (op == IOP_OTHER) {
		if (ts->sq_depth)
			ts->ts = bpf_ktime_get_ns();   /* inside SQLite every syscall's time counts */
		return 0;
	}
	flags = op_flags[op];
	if (op == IOP_FCNTL) {
		long cmd = regs->si;

		if (cmd == F_GETLK || cmd == F_SETLK || cmd == F_SETLKW || cmd == F_OFD_GETLK ||
		    cmd == F_OFD_SETLK || cmd == F_OFD_SETLKW)
			op = IOP_FCNTL_LOCK;
	}

	ts->op = op;
	/* path operations (stat, unlink, a failed open) are file system work */
	ts->fd_kind = (op == IOP_POLL || op == IOP_EPOLL_WAIT || op == IOP_SLEEP) ? FDK_OTHER : FDK_FILE;
	ts->ino = 0;
	ts->dev = 0;
	ts->gen = 0;
	if (flags & OPF_FD) {
		fd_classify(task, (int)regs->di, &fi, fast);
		ts->fd_kind = fi.kind == FDK_NONE ? FDK_OTHER : fi.kind;
		ts->ino = fi.ino;
		ts->dev = fi.dev;
		ts->gen = fi.gen;
	}
	if (flags & OPF_OPEN)
		ts->arg = (flags & OPF_PATH1) ? regs->si : regs->di;
	if (ts->fd_kind == FDK_TCP) {
		ts->sk = fi.sk;
		ts->buf = regs->si;       /* buf, iovec or msghdr: resolved at exit by nr */
	}
	ts->ts = bpf_ktime_get_ns();
	return 0;
}

/* Set by user space once a switch program that flushes what threads hold of their file syscalls
 * is attached: the budget's, or iogap_files_switch (files.bpf.h) */
bool defer_files = false;

static __always_inline void file_account(struct thread_state *ts, __u32 slot, __u64 ino, __u32 dev,
					 __u32 gen, __u64 lat, __u64 bytes, __u64 now)
{
	if (!defer_files) {
		file_add(slot, ino, dev, gen, 1, lat, bytes);
		return;
	}
	if (ts->fp_count && (ts->fp_ino != ino || ts->fp_dev != dev || ts->fp_gen != gen ||
			     ts->fp_slot != slot))
		file_flush(ts);
	if (!ts->fp_count) {
		ts->fp_ino = ino;
		ts->fp_dev = dev;
		ts->fp_gen = gen;
		ts->fp_slot = slot;
		ts->fp_start = now;
	}
	ts->fp_count++;
	ts->fp_ns += lat;
	ts->fp_bytes += bytes;
	if (now - ts->fp_start >= FILE_PENDING_NS)
		file_flush(ts);
}

/* Is the basename of path (n bytes before its NUL) "libsqlite3..."? The last '/' is found
 * scanning backwards, so the verifier follows one index, not every possible basename. */
static __always_inline bool is_sqlite_lib(const char *path, long n)
{
	static const char want[] = "libsqlite3";
	__u32 base = 0;

	if (n <= 0 || n > IOGAP_PATH_MAX)
		return false;
	for (__u32 i = 0; i < IOGAP_PATH_MAX; i++) {
		__u32 k = n - 1 - i;

		if (i >= n)
			break;
		if (path[k & (IOGAP_PATH_MAX - 1)] == '/') {
			base = k + 1;
			break;
		}
	}
	if (base + sizeof(want) - 1 > n)
		return false;
	for (__u32 i = 0; i < sizeof(want) - 1; i++)
		if (path[(base + i) & (IOGAP_PATH_MAX - 1)] != want[i])
			return false;
	return true;
}

static __always_inline void open_event(__u32 slot, long fd, __u64 path, struct fd_info *fi)
{
	struct file_open_event *e = event_reserve(sizeof(*e));
	bool lib;
	long n;

	if (!e)
		return;
	event_fill_hdr(&e->hdr, EV_FILE_OPEN, slot);
	e->ino = fi->ino;
	e->dev = fi->dev;
	e->gen = fi->gen;
	e->fd = fd;
	e->fd_kind = fi->kind;
	n = bpf_probe_read_user_str(e->path, sizeof(e->path), (const void *)path);
	if (n < 0)
		e->path[0] = 0;
	lib = is_sqlite_lib(e->path, n - 1);
	e->stopped = 0;
	if ((stop_slots >> (slot & 63)) & 1 && lib) {
		e->stopped = 1;
		bpf_send_signal(SIGSTOP);
	}
	event_submit(e, lib);     /* user space attaches SQLite's uprobes at once */
}

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct sq_file_key);
	__type(value, struct sq_file_stats);
} sq_fsync SEC(".maps");

/* A syscall made inside sqlite3_step/exec: its time goes to SQLite's split of that step. */
static __always_inline void sqlite_account(struct thread_state *ts, __u32 slot, __u32 op, __u64 lat)
{
	__u32 cls;

	switch (op) {
	case IOP_READ: case IOP_PREAD: case IOP_READV: case IOP_PREADV:
		cls = ts->fd_kind == FDK_FILE ? SPLIT_READ : SPLIT_OTHER;
		break;
	case IOP_WRITE: case IOP_PWRITE: case IOP_WRITEV: case IOP_PWRITEV:
		cls = ts->fd_kind == FDK_FILE ? SPLIT_WRITE : SPLIT_OTHER;
		break;
	case IOP_FSYNC: case IOP_FDATASYNC: case IOP_SYNC_FILE_RANGE: {
		struct sq_file_key k = { .ino = ts->ino, .dev = ts->dev, .gen = ts->gen, .slot = slot };
		struct sq_file_stats *f, zero = {};

		cls = SPLIT_FSYNC;
		f = bpf_map_lookup_elem(&sq_fsync, &k);
		if (!f) {
			bpf_map_update_elem(&sq_fsync, &k, &zero, BPF_NOEXIST);
			f = bpf_map_lookup_elem(&sq_fsync, &k);
		}
		if (f) {
			__sync_fetch_and_add(&f->count, 1);
			__sync_fetch_and_add(&f->total_ns, lat);
		} else {
			counter_inc(CNT_SQ_MAP_FULL);   /* sq_fsync is full: this fsync has no file */
		}
		break;
	}
	case IOP_FCNTL_LOCK: case IOP_FLOCK:
		cls = SPLIT_LOCK;
		break;
	case IOP_SLEEP:
		cls = SPLIT_BUSY_SLEEP;
		break;
	default:
		cls = SPLIT_OTHER;
	}
	if (cls < SPLIT_MAX)
		ts->sq_split[cls] += lat;
}

#define NR_READ 0
#define NR_WRITE 1
#define NR_READV 19
#define NR_WRITEV 20
#define NR_SENDTO 44
#define NR_RECVFROM 45
#define NR_SENDMSG 46
#define NR_RECVMSG 47

/* The thread runs (this is its sys_exit): the budget weights its whole current run on CPU by
 * req_open when it ends, so what ran before this change is corrected at the old weight. */
static __always_inline void req_open_set(struct thread_state *ts, __u8 v)
{
	if (ts->bud_state == BS_RUNNING && ts->bud_ts)
		ts->req_adj += (__s64)(bpf_ktime_get_ns() - ts->bud_ts) * ((__s64)ts->req_open - (__s64)v);
	ts->req_open = v;
}

/*
 * The thread's open requests: with none, its waits are idle, and its time is weighted by them
 * (budget.bpf.c). A request is open on its socket (sock_slots) from the read of its request
 * line to the write of a final status line (not 1xx) or the socket's close, so that a request
 * read twice (MSG_PEEK, pipelining) counts once and one never answered does not stay open.
 */
static __always_inline void request_read(struct thread_state *ts, __u32 slot)
{
	struct sock_info *si = bpf_map_lookup_elem(&sock_slots, &ts->sk), fresh = { .slot = slot };

	if (!si) {
		/* accepted before tracing began */
		bpf_map_update_elem(&sock_slots, &ts->sk, &fresh, BPF_NOEXIST);
		si = bpf_map_lookup_elem(&sock_slots, &ts->sk);
	}
	if (si && !si->req_open && ts->req_open < 255) {
		/* the request it opened last was answered by another thread (a hand-off pool) */
		if (ts->req_open && ts->req_sk != ts->sk) {
			struct sock_info *old = bpf_map_lookup_elem(&sock_slots, &ts->req_sk);

			if (!old || !old->req_open)
				req_open_set(ts, ts->req_open - 1);
		}
		si->req_open = 1;
		ts->req_sk = ts->sk;
		req_open_set(ts, ts->req_open + 1);
	}
}

static __always_inline void request_closed(struct thread_state *ts)
{
	struct sock_info *si = bpf_map_lookup_elem(&sock_slots, &ts->sk);

	if (si && si->req_open) {
		si->req_open = 0;
		if (ts->req_open)
			req_open_set(ts, ts->req_open - 1);
	}
}

static __always_inline void response_written(struct thread_state *ts, __u64 p, long ret)
{
	char digit = 0;

	/* "HTTP/1.1 1xx": an interim response, the request goes on */
	if (ret > 9 && !bpf_probe_read_user(&digit, 1, (void *)(p + 9)) && digit == '1')
		return;
	ts->served = 1;
	request_closed(ts);
}

/* The first bytes of a TCP read or write that start an HTTP/1.x request or status line. */
static __always_inline void http_capture(struct thread_state *ts, __u32 slot, long ret, bool write)
{
	__u64 p = ts->buf, iov = 0;
	struct http_event *e;
	__u32 head = 0, n;

	switch (ts->nr) {
	case NR_READ: case NR_WRITE: case NR_SENDTO: case NR_RECVFROM:
		break;
	case NR_SENDMSG: case NR_RECVMSG:
		if (bpf_probe_read_user(&iov, sizeof(iov), (void *)(p + offsetof(struct user_msghdr, msg_iov))))
			return;
		p = iov;
		/* fall through: p is now an iovec */
	case NR_READV: case NR_WRITEV:
		if (bpf_probe_read_user(&p, sizeof(p), (void *)p))
			return;
		break;
	default:
		return;
	}
	if (!p || bpf_probe_read_user(&head, sizeof(head), (void *)p))
		return;
	/* "GET ", "POST", "PUT ", "HEAD", "DELE", "PATC", "OPTI", "CONN", "TRAC"; "HTTP" */
	switch (head) {
	case 0x20544547: case 0x54534f50: case 0x20545550: case 0x44414548: case 0x454c4544:
	case 0x43544150: case 0x4954504f: case 0x4e4e4f43: case 0x43415254: case 0x50545448:
		break;
	default:
		return;
	}
	if (!write && head != 0x50545448)
		request_read(ts, slot);
	else if (write && head == 0x50545448)
		response_written(ts, p, ret);
	e = event_reserve(sizeof(*e));
	if (!e)
		return;
	event_fill_hdr(&e->hdr, EV_HTTP, slot);
	e->sk = ts->sk;
	e->fd = 0;
	e->write = write;
	n = ret < HTTP_CAPTURE ? ret : HTTP_CAPTURE;
	if (n > HTTP_CAPTURE)
		n = HTTP_CAPTURE;
	if (bpf_probe_read_user(e->data, n, (void *)p))
		n = 0;
	e->len = n;
	event_submit(e, false);
}

/* An accepted TCP connection: count it, its accept-queue wait, and make it the target's. */
static __always_inline void tcp_accepted(struct task_struct *task, __u32 slot, long fd, __u64 now,
					 const bool fast)
{
	struct sock_info si = { .slot = slot };
	const struct sock *sk;
	struct tcp_stats *st;
	struct fd_info fi;
	__u64 *est;

	fd_classify(task, fd, &fi, fast);
	if (fi.kind != FDK_TCP || !(st = tcp_stats_of(slot)))
		return;
	__sync_fetch_and_add(&st->accepted, 1);
	est = bpf_map_lookup_elem(&est_times, &fi.sk);
	si.est_ns = si.start_ns = now;
	if (est) {
		if (now > *est)
			net_hist_add(slot, NH_ACCEPT_QUEUE, now - *est);
		si.est_ns = si.start_ns = *est;
		bpf_map_delete_elem(&est_times, &fi.sk);
	}
	/* reset before it was accepted: its change to CLOSE came when it was nobody's */
	sk = (const struct sock *)fi.sk;
	si.netns = sock_netns(sk);
	if (BPF_CORE_READ(sk, __sk_common.skc_state) == TCP_CLOSE) {
		tcp_count_close(sk, st, slot, si.est_ns, now);
		si.closed = 1;
	}
	bpf_map_update_elem(&sock_slots, &fi.sk, &si, BPF_ANY);
}

static __always_inline int sys_exit(struct pt_regs *regs, long ret, const bool fast)
{
	struct thread_state *ts;
	struct io_stats *st;
	struct fd_info fi;
	__u64 now, lat, bytes = 0, ino;
	__u32 b, dev, gen, flags, op, k, i;
	__u8 kind;
	long nr;
	__u32 slot;
	struct task_struct *task = bpf_get_current_task_btf();

	nr = regs->orig_ax;
	if (nr == NR_URETPROBE)
		return 0;          /* a uretprobe's return (each SQLite step's): sys_enter skipped it */
	ts = thread_state_of(task);
	if (!ts)
		return 0;          /* not a target */
	if (stop_slots && ts->fork_stop)
		stop_new_child(ts);
	if (!ts->active)
		return 0;          /* a syscall entered before tracing began, or fork's return in a child */
	ts->active = 0;
	slot = ts->slot;
	op = ts->op;
	if (ts->nr != nr || slot >= IOGAP_MAX_SLOTS || op >= IOP_MAX)
		return 0;
	if (ret < 0 && nr >= 0 && nr < IOGAP_NR_SYSCALLS) {
		struct sys_counts_slot *sc;

		sc = sys_counts_of(slot);
		if (sc)
			sc->nr[nr & (IOGAP_NR_SYSCALLS - 1)].errors++;
	}
	/* a syscall only counted (futex, getpid, ...: half of a Python server's) takes no time */
	if (op == IOP_OTHER && !ts->sq_depth)
		return 0;
	now = bpf_ktime_get_ns();
	lat = now - ts->ts;
	if (ts->sq_depth)
		sqlite_account(ts, slot, op, lat);
	else if (op == IOP_SLEEP && ts->sq_prep_depth)
		ts->sq_prep_sleep += lat;   /* a prepare's busy handler (sqlite.bpf.c counts it) */
	if (op == IOP_OTHER)
		return 0;
	flags = op_flags[op];
	ino = ts->ino;
	dev = ts->dev;
	gen = ts->gen;
	kind = ts->fd_kind;

	if ((flags & OPF_OPEN) && ret >= 0) {
		fd_classify(task, ret, &fi, fast);
		kind = fi.kind;
		ino = fi.ino;
		dev = fi.dev;
		gen = fi.gen;
		if (fi.kind == FDK_FILE)
			open_event(slot, ret, ts->arg, &fi);
	}
	if ((flags & OPF_BYTES) && ret > 0)
		bytes = ret;
	if (op == IOP_ACCEPT && ret >= 0)
		tcp_accepted(task, slot, ret, now, fast);
	else if (op == IOP_CLOSE && kind == FDK_TCP)
		request_closed(ts);
	else if (kind == FDK_TCP && ret > 0 && (op == IOP_READ || op == IOP_READV ||
		 op == IOP_RECV || op == IOP_WRITE || op == IOP_WRITEV || op == IOP_SEND))
		http_capture(ts, slot, ret, op == IOP_WRITE || op == IOP_WRITEV || op == IOP_SEND);

	if (kind >= FDK_KIND_MAX)
		return 0;
	k = slot * IO_KEYS_PER_SLOT + op * FDK_KIND_MAX + kind;
	if (k >= IO_INDEX_LEN)
		return 0;
	i = io_index[k];
	if (!i) {
		__u64 n = __sync_fetch_and_add(&io_next, 1) + 1, old;

		if (n >= io_max) {
			counter_inc(CNT_IO_MAP_FULL);
			return 0;
		}
		old = __sync_val_compare_and_swap(&io_index[k], 0, n);
		i = old ? (__u32)old : (__u32)n;
	}
	st = io_stats_of(i);
	if (!st)
		return 0;
	st->count++;
	if (ret < 0)
		st->errors++;
	st->bytes += bytes;
	st->sum_ns += lat;
	if (lat > st->max_ns)
		st->max_ns = lat;
	b = hist_bucket(lat);
	if (b < HIST_BUCKETS)
		st->hist[b]++;

	if (kind == FDK_FILE && ino)
		file_account(ts, slot, ino, dev, gen, lat, bytes, now);
	return 0;
}

/* The programs, with plain loads (Linux 6.2+) and with CO-RE probe reads (user space loads one
 * pair, collector.c). */
SEC("tp_btf/sys_enter")
int BPF_PROG(iogap_sys_enter, struct pt_regs *regs, long id) { return sys_enter(regs, id, true); }
SEC("tp_btf/sys_enter")
int BPF_PROG(iogap_sys_enter_core, struct pt_regs *regs, long id) { return sys_enter(regs, id, false); }
SEC("tp_btf/sys_exit")
int BPF_PROG(iogap_sys_exit, struct pt_regs *regs, long ret) { return sys_exit(regs, ret, true); }
SEC("tp_btf/sys_exit")
int BPF_PROG(iogap_sys_exit_core, struct pt_regs *regs, long ret) { return sys_exit(regs, ret, false); }

/* Without the budget module (its switch program flushes too): a thread's held file syscalls
 * leave its CPU with it. Attached by user space only then. */
SEC("tp_btf/sched_switch")
int BPF_PROG(iogap_files_switch, bool preempt, struct task_struct *prev)
{
	struct thread_state *ts = thread_state_of(prev);

	if (ts)
		file_flush(ts);
	return 0;
}

/* A target's new process: a --pid target's child becomes a target; user space attaches the
 * child's uprobes (a forked child loses its parent's). */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(iogap_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid, ctgid, cpid, *pslot;
	struct task_event *e;
	int slot;

	ptgid = parent->tgid;
	ctgid = child->tgid;
	cpid = child->pid;
	if (ctgid == ptgid || ctgid != cpid)
		return 0;          /* a new thread, already covered by its tgid */
	slot = target_slot();   /* runs in the parent */
	if (slot < 0)
		return 0;
	if (have_pid_targets && (pslot = bpf_map_lookup_elem(&tgid_slots, &ptgid)) &&
	    bpf_map_update_elem(&tgid_slots, &ctgid, pslot, BPF_ANY)) {
		counter_inc(CNT_TGID_MAP_FULL);
		return 0;
	}
	if ((stop_slots >> (slot & 63)) & 1) {
		struct thread_state *cts = bpf_task_storage_get(&thread_states, child, 0,
								 BPF_LOCAL_STORAGE_GET_F_CREATE);

		if (cts) {
			cts->slot = slot;
			cts->fork_stop = 1;
		} else {
			counter_inc(CNT_TASK_STORAGE_FAIL);   /* it runs on unstopped: counted */
		}
	}
	e = event_reserve(sizeof(*e));
	if (!e)
		return 0;
	event_fill_hdr(&e->hdr, EV_PROC_FORK, slot);
	e->stopped = 0;
	e->child_pid = ctgid;
	e->cgroup_id = 0;
	event_submit(e, true);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(iogap_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct task_event *e;
	int slot = target_slot();

	if (slot < 0)
		return 0;
	e = event_reserve(sizeof(*e));
	if (!e)
		return 0;
	event_fill_hdr(&e->hdr, EV_PROC_EXEC, slot);
	e->child_pid = 0;
	e->cgroup_id = 0;
	e->stopped = (stop_slots >> (slot & 63)) & 1;
	if (e->stopped)
		bpf_send_signal(SIGSTOP);
	event_submit(e, true);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(iogap_exit, struct task_struct *p)
{
	struct task_event *e;
	__u32 tgid;
	int slot;

	__sync_fetch_and_add(&exit_epoch, 1);   /* sys_enter's bystander: its task may be reused */
	if (BPF_CORE_READ(p, signal, live.counter) != 0)
		return 0;          /* other threads of the process live on */
	slot = target_slot();
	if (slot < 0)
		return 0;
	tgid = BPF_CORE_READ(p, tgid);
	if (have_pid_targets)
		bpf_map_delete_elem(&tgid_slots, &tgid);
	e = event_reserve(sizeof(*e));
	if (!e)
		return 0;
	event_fill_hdr(&e->hdr, EV_PROC_EXIT, slot);
	e->stopped = 0;
	e->child_pid = 0;
	e->cgroup_id = 0;
	event_submit(e, true);
	return 0;
}

/* A cgroup removed: threads' cached slots are checked again (sys_enter: a cgroup made later at
 * the same address must not pass for this one). */
SEC("tp_btf/cgroup_rmdir")
int BPF_PROG(iogap_cg_rmdir, struct cgroup *cgrp, const char *path)
{
	__sync_fetch_and_add(&slot_epoch, 1);
	return 0;
}

/* Set by user space: report every new cgroup v2 directory, so new containers become targets. */
const volatile bool watch_cgroups = false;

SEC("tp_btf/cgroup_mkdir")
int BPF_PROG(iogap_cg_mkdir, struct cgroup *cgrp, const char *path)
{
	struct cgroup *parent;
	struct cgroup_event *e;
	__u64 id, pid_;
	__u32 *slot;

	if ((!have_cgroup_targets && !watch_cgroups) || BPF_CORE_READ(cgrp, root, hierarchy_id) != 0)
		return 0;          /* only the cgroup v2 hierarchy */
	parent = (struct cgroup *)BPF_CORE_READ(cgrp, self.parent);
	if (!parent)
		return 0;
	pid_ = BPF_CORE_READ(parent, kn, id);
	slot = bpf_map_lookup_elem(&cgroup_slots, &pid_);
	if (!slot && !watch_cgroups)
		return 0;
	id = BPF_CORE_READ(cgrp, kn, id);
	/* a descendant of a target is the target's at once, before any task can enter it */
	if (slot && bpf_map_update_elem(&cgroup_slots, &id, slot, BPF_ANY)) {
		counter_inc(CNT_CGROUP_MAP_FULL);
		return 0;
	}
	e = event_reserve(sizeof(*e));
	if (!e)
		return 0;
	event_fill_hdr(&e->hdr, EV_CGROUP_MKDIR, slot ? *slot : IOGAP_NO_SLOT);
	e->cgroup_id = id;
	if (bpf_probe_read_kernel_str(e->path, sizeof(e->path), path) < 0)
		e->path[0] = 0;
	event_submit(e, true);
	return 0;
}
