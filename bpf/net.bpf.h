/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* Maps the network module shares with the syscall module (one instance: user space hands the
 * syscall module's maps to net.bpf.c before load). */
#ifndef IOGAP_NET_BPF_H
#define IOGAP_NET_BPF_H

#include "net.h"

/* Sockets of targets, by struct sock address: connects and accepted connections. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct sock_info);
} sock_slots SEC(".maps");

/* When a passive connection became ESTABLISHED (in softirq, owner unknown yet), until accept. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u64);
} est_times SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, IOGAP_MAX_SLOTS);
	__type(key, __u32);
	__type(value, struct tcp_stats);
} tcp_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct net_hist_key);
	__type(value, __u64);
} net_hist SEC(".maps");

/*
 * Marks si closed; true for the one caller that did. Three ways close a socket's entry, on any
 * CPU at once: its change to CLOSE, its memory beginning a new socket (new_life) and the
 * end-of-run sweep; each counts the close only when it is the one that marked it.
 */
static __always_inline bool sock_claim_close(struct sock_info *si)
{
	for (int i = 0; i < 4; i++) {
		__u64 old = si->word;
		struct sock_info w;

		w.word = old;
		if (w.closed)
			return false;
		w.closed = 1;
		if (__sync_val_compare_and_swap(&si->word, old, w.word) == old)
			return true;
	}
	return false;
}

/* The network namespace of sk, by the inode number /proc/PID/ns/net has. */
static __always_inline __u32 sock_netns(const struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
}

static __always_inline struct tcp_stats *tcp_stats_of(__u32 slot)
{
	return bpf_map_lookup_elem(&tcp_stats, &slot);
}

static __always_inline void net_hist_add(__u32 slot, __u8 which, __u64 v)
{
	struct net_hist_key k = { .slot = slot, .which = which, .bucket = hist_bucket(v) };
	__u64 *c, one = 1;

	c = bpf_map_lookup_elem(&net_hist, &k);
	if (c) {
		__sync_fetch_and_add(c, 1);
		return;
	}
	if (bpf_map_update_elem(&net_hist, &k, &one, BPF_NOEXIST)) {
		c = bpf_map_lookup_elem(&net_hist, &k);
		if (c)
			__sync_fetch_and_add(c, 1);
	}
}

/* A target's connection, established at est_ns, ended (its socket is in CLOSE): its count,
 * bytes and duration. bytes_received counts a received FIN as a byte (SOCK_DONE tells it
 * came); bytes_sent is data only. */
static __always_inline void tcp_count_close(const struct sock *sk, struct tcp_stats *st, __u32 slot,
					    __u64 est_ns, __u64 now)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;
	__u64 in = BPF_CORE_READ(tp, bytes_received);
	__u64 done = (BPF_CORE_READ(sk, __sk_common.skc_flags) >> SOCK_DONE) & 1;

	__sync_fetch_and_add(&st->closed, 1);
	__sync_fetch_and_add(&st->bytes_in, in > done ? in - done : 0);
	__sync_fetch_and_add(&st->bytes_out, BPF_CORE_READ(tp, bytes_sent));
	net_hist_add(slot, NH_DURATION, now - est_ns);
}

#endif
