// SPDX-License-Identifier: GPL-2.0
/* The floor: empty programs on the same sys_enter/sys_exit hooks iogap uses. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tp_btf/sys_enter")
int floor_enter(void *ctx) { return 0; }

SEC("tp_btf/sys_exit")
int floor_exit(void *ctx) { return 0; }
