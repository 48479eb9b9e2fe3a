// SPDX-License-Identifier: GPL-2.0
/* The floor of sqlite_run: empty programs on the hooks iogap hits in a step + reset of the
 * benchmark: the probes (sqlite3_step's entry and return; not sqlite3_reset nor
 * sqlite3_finalize, which iogap leaves unprobed in a process using the host's library, see
 * user/collect/sqlite_probes.c) of the library
 * SQLITE_LIB, and sys_enter/sys_exit, which the return passes through (the kernel returns from
 * a uretprobe with a syscall, Linux 6.11+), as every step's other syscalls do. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("uprobe/" SQLITE_LIB ":sqlite3_step")
int floor_step(void *ctx) { return 0; }

SEC("uretprobe/" SQLITE_LIB ":sqlite3_step")
int floor_step_r(void *ctx) { return 0; }

SEC("tp_btf/sys_enter")
int floor_enter(void *ctx) { return 0; }

SEC("tp_btf/sys_exit")
int floor_exit(void *ctx) { return 0; }
