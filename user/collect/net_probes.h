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
	bool tcp_iter;                /* the kernel has what the end-of-run sweep needs */
	uint64_t unswept;             /* connections left open by the sweep, in a namespace it did
				       * not enter (no process is in it any more) */
};

/* Opens, loads and attaches the module, sharing the syscall module's maps; kasan: the kernel
 * is built with KASAN (its task stacks are 32 KiB, not 16); tcp_iter: it has the TCP iterator,
 * bpf_for_each_map_elem and raw_tp test runs (else net_probes_end_open does nothing). */
int net_probes_open(struct net_probes *p, struct syscalls_bpf *sys, const char *btf_path, bool kasan,
		    bool tcp_iter);
/* An EV_HTTP event: a request line read (or written), or a status line written (or read). */
void net_probes_http(struct net_probes *p, struct model *m, const void *event, size_t size);
/* Reads the TCP counters and histograms (from the syscall module's shared maps). */
void net_probes_snapshot(struct syscalls_bpf *sys, struct model *m);
/* The state changes and resets the module's programs missed, nested in themselves on a CPU
 * (net.bpf.c: those of iogap_tcp_state that its nested twin handled are not missed). */
uint64_t net_probes_misses(struct net_probes *p);
/* At the end of a run: counts as closed (unseen) each target connection whose socket is no
 * longer in its namespace's TCP hash tables though no program ran for its close (net.bpf.c,
 * the end-of-run sweep). Once, before the last snapshot; 0 or a negative errno. */
int net_probes_end_open(struct net_probes *p, struct syscalls_bpf *sys, const struct model *m);
void net_probes_close(struct net_probes *p);

#endif
