/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Time budget module: each target thread's wall time split into on-CPU, run-queue wait and
 * blocked time by the reason it slept (the class of the syscall in progress).
 */
#ifndef IOGAP_BUDGET_H
#define IOGAP_BUDGET_H

#include "iogap.h"

enum budget_class {
	BUD_CPU = 0,
	BUD_RUNQ,
	BUD_FILE_READ,
	BUD_FILE_WRITE,
	BUD_FSYNC,
	BUD_LOCK,                 /* fcntl/flock file locks */
	BUD_FUTEX,                /* lock hand-offs, Python's GIL */
	BUD_NET_RECV,
	BUD_NET_SEND,
	BUD_ACCEPT,
	BUD_POLL_IDLE,            /* poll/select/epoll: waiting for work */
	BUD_SLEEP,
	BUD_BUSY_SLEEP,           /* a sleep inside SQLite: its busy handler waiting for a lock */
	BUD_OTHER,                /* another syscall, or off CPU outside any (page fault, ...) */
	BUD_IDLE_WAIT,            /* a thread that serves HTTP requests, blocked with none open
	                             (futex, recv, accept, sleep): a pool worker waiting for work */
	BUD_MAX,
};

struct thread_key {
	__u32 slot;
	__u32 tid;
};

/* Threads whose figures are in the array (budget.bpf.c); the others', in the hash */
#define BUD_ARRAY_LEN 16384

struct thread_budget {
	char comm[16];
	__u32 tgid;
	__u32 tid;
	__u32 slot;
	__u32 pad;
	__u64 first_ns;           /* first accounted moment */
	__u64 last_ns;            /* last accounted moment */
	__u64 exited;
	__u64 comm_ns;            /* when comm was read */
	__u64 ns[BUD_MAX];
	/* the same time weighted by the HTTP requests the thread had open (read, not yet answered):
	 * summed over a target's threads, the sum of its requests' latencies, by where it went */
	__u64 req_ns[BUD_MAX];
};

#endif
