/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Types and limits shared by every BPF module and user space. */
#ifndef IOGAP_H
#define IOGAP_H

#define IOGAP_MAX_SLOTS 64        /* targets per session */
#define IOGAP_NR_SYSCALLS 512     /* x86_64 syscall numbers are below this */
#define IOGAP_MAX_CGROUPS 4096    /* target cgroups incl. descendants */
#define IOGAP_MAX_TGIDS 8192      /* target processes */
#define IOGAP_RINGBUF_BYTES (1 << 20)
#define IOGAP_NO_SLOT 0xffffffffu /* event_hdr.slot of an event that belongs to no target yet */
#define IOGAP_CG_PATH 256         /* cgroup path bytes carried by EV_CGROUP_MKDIR */

/* Indices of the per-CPU "counters" array: every loss in the kernel is counted here (the
 * programs write all but CNT_PROG_MISSES). */
enum iogap_counter {
	CNT_RB_DROPS = 0,         /* ring buffer reservation failed */
	CNT_IO_MAP_FULL,          /* io_stats had no room for a new key */
	CNT_FILE_MAP_FULL,        /* file_stats had no room for a new file */
	CNT_TGID_MAP_FULL,        /* a forked child could not be made a target */
	CNT_CGROUP_MAP_FULL,      /* a new descendant cgroup could not be made a target */
	CNT_TASK_STORAGE_FAIL,    /* no per-thread state could be made: one syscall not timed */
	CNT_SQ_MAP_FULL,          /* a SQLite statement, histogram bucket or fsync-by-file entry
	                           * found its map full */
	CNT_PROG_MISSES,          /* a hook the kernel ran no iogap program for, because that
	                           * program was already running on the CPU (an interrupt of it):
	                           * filled by user space from the programs' recursion misses */
	CNT_MAX,
};

enum iogap_event_type {
	EV_FILE_OPEN = 1,         /* a target opened a file: its path */
	EV_PROC_EXIT = 2,         /* a target process (all its threads) exited */
	EV_PROC_FORK = 3,         /* a --pid target forked a child that is now a target */
	EV_CGROUP_MKDIR = 4,      /* a cgroup was created under a target cgroup, or anywhere when
	                             watching for new containers (slot IOGAP_NO_SLOT) */
	EV_PROC_EXEC = 5,         /* a target process exec'd: attach its uprobes */
	EV_SQL_TEXT = 6,          /* a SQL text seen for the first time */
	EV_PROC_STOPPED = 7,      /* a launched process's forked child, stopped before it runs */
	EV_HTTP = 8,              /* the start of an HTTP/1.x request or status line on a TCP socket */
};

struct event_hdr {
	__u32 type;
	__u32 slot;
	__u32 pid;                /* tgid */
	__u32 tid;
	__u64 ts_ns;              /* CLOCK_MONOTONIC */
};
_Static_assert(sizeof(struct event_hdr) == 24, "event_hdr layout");

struct task_event {
	struct event_hdr hdr;
	__u32 child_pid;          /* EV_PROC_FORK only */
	__u32 stopped;            /* EV_PROC_EXEC: the process was stopped: attach, then SIGCONT */
	__u64 cgroup_id;
};
_Static_assert(sizeof(struct task_event) == 40, "task_event layout");

struct cgroup_event {
	struct event_hdr hdr;
	__u64 cgroup_id;
	char path[IOGAP_CG_PATH]; /* below the cgroup2 root, "/a/b" */
};
_Static_assert(sizeof(struct cgroup_event) == 288, "cgroup_event layout");

#endif
