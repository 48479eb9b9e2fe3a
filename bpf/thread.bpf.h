/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Per-thread state in task-local storage, shared by every module through one map (user space
 * hands the syscall module's map to the others before load): the syscall in progress, and
 * whether the thread is inside SQLite, so syscalls made there are added to SQLite's split.
 */
#ifndef IOGAP_THREAD_BPF_H
#define IOGAP_THREAD_BPF_H

#include "sqlite.h"

#define SQ_PREPARE_NEST 4

enum { BS_NONE = 0, BS_RUNNING, BS_RUNNABLE, BS_BLOCKED, BS_DEAD };

/*
 * Laid out by use: a syscall's programs read and write the first 128 bytes only (its entry,
 * its fd's file, the slot cache, the held file syscalls: two or three cache lines, as the
 * storage's data is not line-aligned), so that a thread switched back in, whose state is no
 * longer cached, costs them fewer misses than the fields spread over ~400 bytes did.
 */
struct thread_state {
	/* bytes 0-63: every traced syscall */
	__u64 ts;                 /* syscall entry time */
	__u64 ino;
	__u32 dev;
	__u32 gen;
	__u32 nr;
	__u32 slot;
	__u16 op;
	__u8 fd_kind;
	__u8 active;
	__u8 slot_known;          /* slot is the target of the cgroup at slot_cgrp (sys_enter's cache) */
	__u8 fork_stop;           /* a launched process's new child: stop it at fork's return */
	__u8 req_open;            /* HTTP requests it read and has not answered yet (status line) */
	__u8 served;              /* it has answered a request: a serving thread */
	__u32 slot_epoch;         /* the slot_epoch slot_known was found in */
	__u64 slot_cgrp;          /* the address of its cgroup's struct cgroup */
	__u32 sq_depth;           /* SQLite: nesting of sqlite3_step/exec; > 0 while inside */
	__u32 fp_count;           /* its file syscalls not yet in file_stats, all on one file */
	/* bytes 64-127: file syscalls held (files.bpf.h), an open's path, a socket's buffer */
	__u64 fp_ino;
	__u32 fp_dev;
	__u32 fp_gen;
	__u32 fp_slot;
	__u32 fp_pad;
	__u64 fp_ns;
	__u64 fp_bytes;
	__u64 fp_start;
	__u64 arg;                /* the path pointer of an open */
	__u64 buf;                /* a socket read/write: its buffer (or iovec, or msghdr) */
	/* then: sockets, the time budget (budget.bpf.c), SQLite */
	__u64 sk;                 /* ... and its struct sock */
	__u64 req_sk;             /* the socket of the request it opened last */
	__s64 req_adj;            /* weighted CPU ns owed by req_open changes inside the current run */
	__u64 bud_ts;             /* when the thread entered bud_state */
	__u8 bud_state;           /* BS_* */
	__u8 bud_reason;          /* enum budget_class, while blocked */
	__u8 bud_pad[2];
	__u32 sq_prep_depth;
	__u32 sq_slot;            /* the slot it entered SQLite (step, exec, prepare) in: the return's */
	__u32 bud_idx;            /* its entry in the budget's array, + 1; 0: none yet */
	__u64 sq_start;
	__u64 sq_split[SPLIT_MAX];
	/* prepare's arguments, a small stack: preparing can read the schema, which prepares */
	__u64 sq_args[SQ_PREPARE_NEST][4];     /* sql, nbyte, ppstmt, pztail */
	__u64 sq_stmt;            /* the statement of the sqlite3_step in progress */
	__u64 sq_exec_sql;        /* the SQL of the sqlite3_exec in progress */
	__u64 sq_open_ts;
	__u64 sq_prep_sleep;      /* busy-handler sleeps in the prepare in progress, outside a step */
	__u8 sq_utf16[SQ_PREPARE_NEST];        /* that prepare's text is UTF-16 (sqlite3_prepare16*) */
};
_Static_assert(__builtin_offsetof(struct thread_state, fp_ino) == 64, "thread_state: the hot first 64 bytes");
_Static_assert(__builtin_offsetof(struct thread_state, sk) == 128, "thread_state: the next 64");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct thread_state);
} thread_states SEC(".maps");

/* t's state, or NULL. A task with no local storage at all (most of them: not targets) is known
 * without the storage lookup, which the hot programs (every syscall, every context switch of
 * the machine) would otherwise pay for every task. */
static __always_inline struct thread_state *thread_state_of(struct task_struct *t)
{
	return t->bpf_storage ? bpf_task_storage_get(&thread_states, t, 0, 0) : NULL;
}

#endif
