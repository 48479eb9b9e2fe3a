/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Network module: TCP connections of targets (connect latency, accept-queue wait, duration,
 * bytes, resets, retransmits, refusals) and the first bytes of reads and writes on their TCP
 * sockets that start an HTTP/1.x request or status line (parsed in user space).
 */
#ifndef IOGAP_NET_H
#define IOGAP_NET_H

#include "iogap.h"

struct tcp_stats {
	__u64 accepted;
	__u64 connected;
	__u64 refused;
	__u64 resets_sent;
	__u64 resets_received;
	__u64 retransmits;
	__u64 closed;
	__u64 bytes_in;
	__u64 bytes_out;
	__u64 closes_unseen;      /* of closed: no program ran for the change to CLOSE; found when the
				   * socket's memory began anew, or by the end-of-run sweep */
};

/* A target's TCP socket (sock_slots, net.bpf.h) */
struct sock_info {
	__u64 start_ns;           /* SYN_SENT (active) or ESTABLISHED (passive) */
	__u64 est_ns;
	union {
		struct {
			__u32 slot;
			__u16 active;
			__u16 closed;     /* kept after CLOSE: a reset is often sent just after it */
		};
		__u64 word;       /* the three, for sock_claim_close's compare-and-swap */
	};
	__u8 req_open;            /* a request read on it is not answered yet (thread_state.req_open) */
	__u8 pad;
	__u16 alive_pass;         /* the end-of-run sweep's pass that found it hashed (net.bpf.c) */
	__u32 netns;              /* its network namespace's inode number */
};

/* Per CPU: the changes nested in iogap_tcp_state (net.bpf.c) */
struct tcp_nest {
	struct {
		__u64 sk;
		__u32 states;     /* old << 8 | new */
		__u32 pad;
	} last[2];                /* by context level: the change iogap_tcp_state handled last */
	__u64 handled;            /* changes iogap_tcp_state_nested handled */
};

enum net_hist { NH_CONNECT = 0, NH_ACCEPT_QUEUE, NH_DURATION, NH_MAX };

struct net_hist_key {
	__u32 slot;
	__u16 bucket;
	__u8 which;
	__u8 pad;
};

#define HTTP_CAPTURE 128

struct http_event {
	struct event_hdr hdr;
	__u64 sk;                 /* the socket, to pair a request with its response */
	__u32 fd;
	__u8 write;               /* 1: the target wrote these bytes, 0: it read them */
	__u8 len;                 /* bytes in data */
	__u8 pad[2];
	char data[HTTP_CAPTURE];
};
_Static_assert(sizeof(struct http_event) == 24 + 16 + HTTP_CAPTURE, "http_event layout");

#endif
