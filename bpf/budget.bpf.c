// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Time budget from the scheduler: at each switch, wakeup and exit of a target thread, the time
 * since its last transition goes to the state it was in — on CPU, runnable (waiting in the run
 * queue after a wakeup or a preemption), or blocked, by the class of the syscall in progress
 * when it went to sleep (read from the thread state the syscall module keeps).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "syscalls.h"
#include "budget.h"
#include "filter.bpf.h"
#include "thread.bpf.h"
#include "files.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define NR_FUTEX 202
#define NR_WAIT4 61
#define NR_WAITID 247
#define NR_PAUSE 34
#define NR_RT_SIGSUSPEND 130
#define NR_RT_SIGTIMEDWAIT 128
#define TASK_RUNNING 0

/*
 * Each thread's figures: in an entry of this array that the thread takes at its first
 * transition (from bud_next) and keeps in its state (bud_idx), so that a switch or a wakeup
 * finds them by an array lookup the verifier inlines, not a hash lookup on {slot, tid}. Once
 * every entry is taken (a server that starts a thread per request), in the LRU hash.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BUD_ARRAY_LEN);
	__type(key, __u32);
	__type(value, struct thread_budget);
} bud_array SEC(".maps");
__u64 bud_next = 0;       /* the array's entries handed out (user space reads the first ones) */
/* its entries: set by user space with its size (fewer only to test the hash's part) */
const volatile __u32 bud_array_len = BUD_ARRAY_LEN;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct thread_key);
	__type(value, struct thread_budget);
} budgets SEC(".maps");

static struct thread_budget zero_budget;

/* A thread's new figures, from its first accounted moment. */
static __always_inline struct thread_budget *budget_start(struct thread_budget *b, struct task_struct *t,
							 const struct thread_state *ts)
{
	b->slot = ts->slot;
	b->tid = t->pid;
	b->tgid = t->tgid;
	b->first_ns = ts->bud_ts;
	return b;
}

/* t's figures (ts its state), made on first use; NULL if neither map has room. */
static __always_inline struct thread_budget *budget_of(struct task_struct *t, struct thread_state *ts)
{
	struct thread_key k = { .slot = ts->slot, .tid = t->pid };
	struct thread_budget *b;
	__u32 i = ts->bud_idx;

	if (i) {
		i--;
		b = bpf_map_lookup_elem(&bud_array, &i);
		if (b && b->slot == ts->slot)
			return b;
		/* it moved to another target since: figures of its own there */
	}
	if (bud_next < bud_array_len) {
		__u64 n = __sync_fetch_and_add(&bud_next, 1);

		i = n;
		if (n < bud_array_len && (b = bpf_map_lookup_elem(&bud_array, &i))) {
			ts->bud_idx = i + 1;
			return budget_start(b, t, ts);
		}
	}
	b = bpf_map_lookup_elem(&budgets, &k);
	if (b)
		return b;
	bpf_map_update_elem(&budgets, &k, &zero_budget, BPF_NOEXIST);
	b = bpf_map_lookup_elem(&budgets, &k);
	return b ? budget_start(b, t, ts) : NULL;
}

/* Why a thread that goes to sleep now sleeps. */
static __always_inline __u8 sleep_reason(const struct thread_state *ts)
{
	bool net = ts->fd_kind == FDK_TCP || ts->fd_kind == FDK_UDP || ts->fd_kind == FDK_UNIX;

	if (!ts->active)
		return BUD_OTHER;
	switch (ts->op) {
	case IOP_READ: case IOP_PREAD: case IOP_READV: case IOP_PREADV: case IOP_GETDENTS:
		return net ? BUD_NET_RECV : BUD_FILE_READ;
	case IOP_RECV:
		return BUD_NET_RECV;
	case IOP_WRITE: case IOP_PWRITE: case IOP_WRITEV: case IOP_PWRITEV: case IOP_SENDFILE:
		return net ? BUD_NET_SEND : BUD_FILE_WRITE;
	case IOP_SEND: case IOP_CONNECT:
		return BUD_NET_SEND;
	case IOP_FSYNC: case IOP_FDATASYNC: case IOP_SYNC_FILE_RANGE:
		return BUD_FSYNC;
	case IOP_FCNTL_LOCK: case IOP_FLOCK:
		return BUD_LOCK;
	case IOP_ACCEPT:
		return BUD_ACCEPT;
	case IOP_POLL: case IOP_EPOLL_WAIT:
		return BUD_POLL_IDLE;
	case IOP_SLEEP:
		return ts->sq_depth || ts->sq_prep_depth ? BUD_BUSY_SLEEP : BUD_SLEEP;   /* prepare waits too */
	case IOP_OTHER:
		switch (ts->nr) {
		case NR_FUTEX:
			return BUD_FUTEX;
		/* waiting for children or signals: their work is accounted where it is done */
		case NR_WAIT4: case NR_WAITID: case NR_PAUSE: case NR_RT_SIGSUSPEND: case NR_RT_SIGTIMEDWAIT:
			return BUD_POLL_IDLE;
		}
		return BUD_OTHER;
	}
	return BUD_OTHER;
}

/* Adds the time since the last transition to the class of the state the thread was in. */
static __always_inline void account(struct task_struct *t, struct thread_state *ts, __u64 now,
				    bool exited)
{
	struct thread_budget *b;
	__u64 d = now - ts->bud_ts;
	__u8 cls;

	if (ts->bud_state == BS_NONE || ts->bud_state == BS_DEAD || !ts->bud_ts || now < ts->bud_ts)
		return;
	cls = ts->bud_state == BS_RUNNING ? BUD_CPU : ts->bud_state == BS_RUNNABLE ? BUD_RUNQ : ts->bud_reason;
	b = budget_of(t, ts);
	if (!b)
		return;
	/* the name as it is now (threads name themselves, and exec renames), at most every 100 ms */
	if (exited || now - b->comm_ns >= 100000000ULL) {
		bpf_probe_read_kernel_str(b->comm, sizeof(b->comm), t->comm);
		b->comm_ns = now;
	}
	/* plain adds: a thread's transitions do not race (its switches and wakeups hold its run
	 * queue's lock, and a wakeup waits for it to be off its last CPU), and user space reads
	 * aligned 64-bit words */
	if (cls < BUD_MAX) {
		__s64 w = (__s64)d * ts->req_open;

		b->ns[cls] += d;
		if (cls == BUD_CPU) {
			w += ts->req_adj;     /* the run's part before a change of req_open */
			ts->req_adj = 0;
		}
		if (w > 0)
			b->req_ns[cls] += w;
	}
	b->last_ns = now;
	if (exited)
		b->exited = 1;
}

static __always_inline struct thread_state *state_of(struct task_struct *t)
{
	struct thread_state *ts = thread_state_of(t);

	return ts && ts->slot < IOGAP_MAX_SLOTS ? ts : NULL;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(iogap_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	struct thread_state *ts, *nts;
	__u64 now;

	/* most of the machine's switches are no target's: no clock read for them */
	ts = state_of(prev);
	nts = state_of(next);
	if (!ts && !nts)
		return 0;
	now = bpf_ktime_get_ns();
	if (ts) {
		file_flush(ts);   /* what it holds leaves the CPU with it (files.bpf.h) */
		/* a thread in a syscall since before tracing began has no state yet: from now on */
		if (ts->bud_state == BS_NONE)
			ts->bud_state = BS_RUNNING, ts->bud_ts = now, ts->req_adj = 0;
		account(prev, ts, now, false);
		if (prev_state == TASK_RUNNING) {
			ts->bud_state = BS_RUNNABLE;
		} else {
			__u8 r = sleep_reason(ts);

			/* a serving thread with no request open waits for work, whatever it waits in */
			if (ts->served && !ts->req_open &&
			    (r == BUD_FUTEX || r == BUD_NET_RECV || r == BUD_ACCEPT || r == BUD_SLEEP))
				r = BUD_IDLE_WAIT;
			ts->bud_state = BS_BLOCKED;
			ts->bud_reason = r;
		}
		ts->bud_ts = now;
	}
	if (nts) {
		account(next, nts, now, false);
		nts->bud_state = BS_RUNNING;
		nts->bud_ts = now;
	}
	return 0;
}

static __always_inline void woken(struct task_struct *p)
{
	struct thread_state *ts = state_of(p);
	__u64 now;

	if (!ts || ts->bud_state != BS_BLOCKED)
		return;
	now = bpf_ktime_get_ns();
	account(p, ts, now, false);
	ts->bud_state = BS_RUNNABLE;
	ts->bud_ts = now;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(iogap_wakeup, struct task_struct *p)
{
	woken(p);
	return 0;
}

/* A target's new thread or process: its state starts now, runnable. */
SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(iogap_wakeup_new, struct task_struct *p)
{
	struct thread_state *ts;
	int slot = target_slot();   /* runs in the parent */

	if (slot < 0)
		return 0;
	ts = bpf_task_storage_get(&thread_states, p, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!ts) {
		counter_inc(CNT_TASK_STORAGE_FAIL);
		return 0;
	}
	ts->slot = slot;
	ts->bud_state = BS_RUNNABLE;
	ts->bud_ts = bpf_ktime_get_ns();
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(iogap_bud_exit, struct task_struct *p)
{
	struct thread_state *ts = state_of(p);

	if (!ts)
		return 0;
	account(p, ts, bpf_ktime_get_ns(), true);
	file_flush(ts);
	ts->bud_state = BS_DEAD;
	return 0;
}
