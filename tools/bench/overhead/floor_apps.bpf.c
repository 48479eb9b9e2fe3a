// SPDX-License-Identifier: GPL-2.0
/* The floor of the apps benchmark: empty programs on every hook iogap's modules hit while an
 * app serves (syscall entry and exit, context switch, wakeup, and the SQLite probes of the
 * library SQLITE_LIB the apps use): the kernel's cost of the attach points alone, the least a
 * tracer that watches the same events can cost. sqlite_run's floor (its SQLite probes and the
 * syscall entry and exit), and the hooks the apps hit besides (not sqlite3_finalize, which iogap
 * leaves unprobed, as sqlite3_reset, in a process using the host's library). */
#include "floor_sqlite.bpf.c"

SEC("tp_btf/sched_switch")
int floor_switch(void *ctx) { return 0; }
SEC("tp_btf/sched_wakeup")
int floor_wakeup(void *ctx) { return 0; }

/* the prepare, where iogap probes it (FLOOR_UPROBE) */
#define FLOOR_PREPARE_INCLUDED
#include "floor_prepare.bpf.c"
