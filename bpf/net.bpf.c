// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * TCP lifecycle from tracepoints. These fire in softirq as often as in the owning task, so a
 * socket is attributed to its target through sock_slots (filled when a target connects or
 * accepts), never to whoever happens to run.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "histogram.h"
#include "filter.bpf.h"
#include "net.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define TCP_ESTABLISHED 1
#define TCP_SYN_SENT 2
#define TCP_SYN_RECV 3
#define TCP_CLOSE 7

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(iogap_tcp_state, const struct sock *sk, const int oldstate, const int newstate)
{
	__u64 key = (__u64)sk, now = bpf_ktime_get_ns();
	struct sock_info *si, fresh = {};
	struct tcp_stats *st;
	int slot;

	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	if (newstate == TCP_SYN_SENT) {
		/* connect(): in the connecting task */
		slot = target_slot();
		if (slot < 0)
			return 0;
		fresh.slot = slot;
		fresh.active = 1;
		fresh.start_ns = now;
		bpf_map_update_elem(&sock_slots, &key, &fresh, BPF_ANY);
		return 0;
	}
	if (newstate == TCP_ESTABLISHED && oldstate == TCP_SYN_RECV) {
		bpf_map_update_elem(&est_times, &key, &now, BPF_ANY);
		return 0;
	}
	si = bpf_map_lookup_elem(&sock_slots, &key);
	if (!si || si->closed || !(st = tcp_stats_of(si->slot)))
		return 0;
	if (newstate == TCP_ESTABLISHED && oldstate == TCP_SYN_SENT) {
		si->est_ns = now;
		__sync_fetch_and_add(&st->connected, 1);
		net_hist_add(si->slot, NH_CONNECT, now - si->start_ns);
		return 0;
	}
	if (newstate != TCP_CLOSE)
		return 0;
	if (si->est_ns) {
		const struct tcp_sock *tp = (const struct tcp_sock *)sk;

		__sync_fetch_and_add(&st->closed, 1);
		/* bytes_received counts a received FIN as a byte (SOCK_DONE tells it came);
		 * bytes_sent is data only */
		__u64 in = BPF_CORE_READ(tp, bytes_received);
		__u64 done = (BPF_CORE_READ(sk, __sk_common.skc_flags) >> SOCK_DONE) & 1;

		__sync_fetch_and_add(&st->bytes_in, in > done ? in - done : 0);
		__sync_fetch_and_add(&st->bytes_out, BPF_CORE_READ(tp, bytes_sent));
		net_hist_add(si->slot, NH_DURATION, now - si->est_ns);
	}
	/* the entry stays (LRU) so that a reset sent while closing is still the target's */
	si->closed = 1;
	return 0;
}

static __always_inline struct tcp_stats *owner_stats(const struct sock *sk)
{
	__u64 key = (__u64)sk;
	struct sock_info *si = sk ? bpf_map_lookup_elem(&sock_slots, &key) : NULL;

	return si ? tcp_stats_of(si->slot) : NULL;
}

SEC("tp_btf/tcp_send_reset")
int BPF_PROG(iogap_tcp_rst_tx, const struct sock *sk)
{
	struct tcp_stats *st = owner_stats(sk);

	if (st)
		__sync_fetch_and_add(&st->resets_sent, 1);
	return 0;
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(iogap_tcp_rst_rx, struct sock *sk)
{
	struct tcp_stats *st = owner_stats(sk);

	if (!st)
		return 0;
	__sync_fetch_and_add(&st->resets_received, 1);
	/* a reset answering our SYN: the connection was refused */
	if (BPF_CORE_READ(sk, __sk_common.skc_state) == TCP_SYN_SENT)
		__sync_fetch_and_add(&st->refused, 1);
	return 0;
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(iogap_tcp_retx, const struct sock *sk)
{
	struct tcp_stats *st = owner_stats(sk);

	if (st)
		__sync_fetch_and_add(&st->retransmits, 1);
	return 0;
}
