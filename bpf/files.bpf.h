/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Per-file figures (file_stats, by inode), shared by the syscall programs, which count, and the
 * scheduler's switch program, which flushes. A thread adds its file syscalls to the one file it
 * keeps in its state (fp_*) and moves them to file_stats when it turns to another file, after
 * FILE_PENDING_NS, and when it leaves its CPU (switch, exit): one hash lookup per run of
 * syscalls on one file instead of one per syscall. What a thread holds is at most
 * FILE_PENDING_NS old, or as old as its current run on CPU: user space's snapshots see it then.
 * Without the switch program (budget module off) every syscall goes to file_stats at once.
 */
#ifndef IOGAP_FILES_BPF_H
#define IOGAP_FILES_BPF_H

#include "syscalls.h"
#include "thread.bpf.h"

#define FILE_PENDING_NS 20000000ULL   /* 20 ms */

/* Per CPU (plain adds, no cache line shared between CPUs) and preallocated: a first touch must
 * never fail for want of memory. User space retires idle files (user/collect/files.c). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct file_key);
	__type(value, struct file_stats);
} file_stats SEC(".maps");

static __always_inline void file_add(__u32 slot, __u64 ino, __u32 dev, __u32 gen, __u64 count,
				     __u64 ns, __u64 bytes)
{
	struct file_key fk = { .ino = ino, .dev = dev, .gen = gen, .slot = slot };
	struct file_stats *fs, zero = {};

	fs = bpf_map_lookup_elem(&file_stats, &fk);
	if (!fs) {
		bpf_map_update_elem(&file_stats, &fk, &zero, BPF_NOEXIST);
		fs = bpf_map_lookup_elem(&file_stats, &fk);
		if (!fs) {
			counter_add(CNT_FILE_MAP_FULL, count);   /* each syscall lost is counted */
			return;
		}
	}
	fs->count += count;
	fs->total_ns += ns;
	fs->bytes += bytes;
}

/* The thread's pending file syscalls to file_stats. */
static __always_inline void file_flush(struct thread_state *ts)
{
	if (!ts->fp_count)
		return;
	file_add(ts->fp_slot, ts->fp_ino, ts->fp_dev, ts->fp_gen, ts->fp_count, ts->fp_ns, ts->fp_bytes);
	ts->fp_count = 0;
	ts->fp_ns = 0;
	ts->fp_bytes = 0;
}

#endif
