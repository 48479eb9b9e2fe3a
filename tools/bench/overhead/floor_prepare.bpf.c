// SPDX-License-Identifier: GPL-2.0
/* Empty programs on a prepare's entry and return, where FLOOR_UPROBE (floor.c) puts them: the
 * host library's prepares' common callee, where iogap probes them when its check of it passes
 * (user/collect/sqlite_probes.c, learn_sites), or sqlite3_prepare_v2, where it probes them
 * otherwise. Part of the apps' floor; sqlite_run's prepare table has both. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#ifndef FLOOR_PREPARE_INCLUDED
char LICENSE[] SEC("license") = "GPL";
#endif

SEC("uprobe")
int floor_prep(void *ctx) { return 0; }
SEC("uretprobe")
int floor_prep_r(void *ctx) { return 0; }
