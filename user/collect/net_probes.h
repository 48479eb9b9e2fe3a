/* The network module: TCP lifecycle from tracepoints, and HTTP requests from socket bytes. */
#ifndef IOGAP_COLLECT_NET_PROBES_H
#define IOGAP_COLLECT_NET_PROBES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "model/model.h"

struct syscalls_bpf;
struct net_bpf;
struct http_conn;

struct net_probes {
	struct net_bpf *skel;
	struct http_conn **buckets;   /* connections with requests awaiting their response */
	size_t nconns;
	uint64_t misses;              /* the most net_probes_misses has said (it never goes down) */
};

/* Opens, loads and attaches the module, sharing the syscall module's maps; kasan: the kernel
 * is built with KASAN (its task stacks are 32 KiB, not 16). */
int net_probes_open(struct net_probes *p, struct syscalls_bpf *sys, const char *btf_path, bool kasan);
/* An EV_HTTP event: a request line read (or written), or a status line written (or read). */
void net_probes_http(struct net_probes *p, struct model *m, const void *event, size_t size);
/* Reads the TCP counters and histograms (from the syscall module's shared maps). */
void net_probes_snapshot(struct syscalls_bpf *sys, struct model *m);
/* The state changes and resets the module's programs missed, nested in themselves on a CPU
 * (net.bpf.c: those of iogap_tcp_state that its nested twin handled are not missed). */
uint64_t net_probes_misses(struct net_probes *p);
void net_probes_close(struct net_probes *p);

#endif
