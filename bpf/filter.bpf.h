/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Target filter: the first thing every program does. A task belongs to a target slot if its
 * cgroup v2 id is registered (user space registers a target cgroup and its descendants; new
 * descendants are added on cgroup_mkdir) or its tgid is (--pid targets and their children).
 */
#ifndef IOGAP_FILTER_BPF_H
#define IOGAP_FILTER_BPF_H

#include "iogap.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, IOGAP_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, __u32);
} cgroup_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, IOGAP_MAX_TGIDS);
	__type(key, __u32);
	__type(value, __u32);
} tgid_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, IOGAP_RINGBUF_BYTES);
} events SEC(".maps");

/* Set by user space before load; skip a lookup that can never hit. */
const volatile bool have_cgroup_targets = false;
const volatile bool have_pid_targets = false;
/* iogap's own process, when a target cgroup may hold it (the "host" target) */
const volatile __u32 exclude_tgid = 0;

static __always_inline void counter_add(__u32 idx, __u64 n)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &idx);

	if (c)
		*c += n;
}

static __always_inline void counter_inc(__u32 idx)
{
	counter_add(idx, 1);
}

/* The slot of the current task, whose cgroup id is cgid (read when have_cgroup_targets), or -1
 * if it is not a target. */
static __always_inline int target_slot_of(__u64 cgid)
{
	__u32 *slot;

	if (have_cgroup_targets) {
		slot = bpf_map_lookup_elem(&cgroup_slots, &cgid);
		if (slot) {
			if (exclude_tgid && (bpf_get_current_pid_tgid() >> 32) == exclude_tgid)
				return -1;
			return *slot;
		}
	}
	if (have_pid_targets) {
		__u32 tgid = bpf_get_current_pid_tgid() >> 32;

		slot = bpf_map_lookup_elem(&tgid_slots, &tgid);
		if (slot)
			return *slot;
	}
	return -1;
}

/* Returns the slot of the current task, or -1 if it is not a target. */
static __always_inline int target_slot(void)
{
	return target_slot_of(have_cgroup_targets ? bpf_get_current_cgroup_id() : 0);
}

static __always_inline void *event_reserve(__u64 size)
{
	void *e = bpf_ringbuf_reserve(&events, size, 0);

	if (!e)
		counter_inc(CNT_RB_DROPS);
	return e;
}

/*
 * Submits an event. Rich ones (HTTP, SQL text, file paths: many per request) wake user space
 * only once the ring buffer is a quarter full, since it reads the buffer at least every 100 ms
 * anyway: a wakeup per event would put iogap's reader on the CPU thousands of times a second,
 * often the traced service's. Events user space must act on at once (a process stopped until
 * its uprobes are attached, a fork, an exec, an exit, a new cgroup, a SQLite library being
 * loaded) wake it now.
 */
static __always_inline void event_submit(void *e, bool urgent)
{
	bool wake = urgent || bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) > IOGAP_RINGBUF_BYTES / 4;

	bpf_ringbuf_submit(e, wake ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
}

static __always_inline void event_fill_hdr(struct event_hdr *h, __u32 type, __u32 slot)
{
	__u64 id = bpf_get_current_pid_tgid();

	h->type = type;
	h->slot = slot;
	h->pid = id >> 32;
	h->tid = (__u32)id;
	h->ts_ns = bpf_ktime_get_ns();
}

#endif
