#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "collect/filter.h"
#include "collect/budget_probes.h"
#include "budget.skel.h"
#include "syscalls.skel.h"

int budget_probes_open(struct budget_probes *p, struct syscalls_bpf *sys, const char *btf_path)
{
	struct budget_bpf *s;
	int err, len;

	memset(p, 0, sizeof(*p));
	s = budget_bpf__open_opts(&(struct bpf_object_open_opts){
		.sz = sizeof(struct bpf_object_open_opts), .btf_custom_path = btf_path });
	if (!s)
		return -errno;
	FILTER_COPY_RODATA(s, sys);
	/* IOGAP_BUDGET_ARRAY=N (tests): only N threads' figures in the array, the rest in the hash */
	len = getenv("IOGAP_BUDGET_ARRAY") ? atoi(getenv("IOGAP_BUDGET_ARRAY")) : 0;
	if (len > 0 && len < BUD_ARRAY_LEN) {
		s->rodata->bud_array_len = len;
		bpf_map__set_max_entries(s->maps.bud_array, len);
	}
	if ((err = bpf_map__reuse_fd(s->maps.cgroup_slots, bpf_map__fd(sys->maps.cgroup_slots))) ||
	    (err = bpf_map__reuse_fd(s->maps.tgid_slots, bpf_map__fd(sys->maps.tgid_slots))) ||
	    (err = bpf_map__reuse_fd(s->maps.counters, bpf_map__fd(sys->maps.counters))) ||
	    (err = bpf_map__reuse_fd(s->maps.events, bpf_map__fd(sys->maps.events))) ||
	    (err = bpf_map__reuse_fd(s->maps.thread_states, bpf_map__fd(sys->maps.thread_states))) ||
	    (err = bpf_map__reuse_fd(s->maps.file_stats, bpf_map__fd(sys->maps.file_stats))) ||
	    (err = budget_bpf__load(s)) || (err = budget_bpf__attach(s))) {
		budget_bpf__destroy(s);
		return err;
	}
	p->skel = s;
	return 0;
}

static uint64_t rss_bytes(pid_t pid)
{
	char path[64];
	unsigned long size, rss;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/statm", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &rss) != 2)
		rss = 0;
	fclose(f);
	return (uint64_t)rss * sysconf(_SC_PAGESIZE);
}

/* One thread's figures (cumulative) into its target's thread. */
static void thread_merge(struct model *m, const struct thread_budget *b)
{
	struct thread_stat *th;

	if (b->slot >= m->ntargets || !(th = target_thread(&m->targets[b->slot], b->tid)))
		return;
	th->tgid = b->tgid;
	memcpy(th->comm, b->comm, sizeof(th->comm));
	th->comm[sizeof(th->comm) - 1] = 0;
	memcpy(th->ns, b->ns, sizeof(th->ns));
	memcpy(th->req_ns, b->req_ns, sizeof(th->req_ns));
	th->first_ns = b->first_ns;
	th->last_ns = b->last_ns;
	th->exited = b->exited;
}

void budget_probes_snapshot(struct budget_probes *p, struct model *m)
{
	struct thread_key k, next, *prev = NULL;
	struct thread_budget b;
	__u64 used;
	int fd;

	if (!p->skel)
		return;
	/* the array's entries handed out so far (a thread's, once it has one), then the hash's */
	used = p->skel->bss->bud_next;
	fd = bpf_map__fd(p->skel->maps.bud_array);
	for (__u32 i = 0; i < used && i < p->skel->rodata->bud_array_len; i++)
		if (!bpf_map_lookup_elem(fd, &i, &b) && b.tid)
			thread_merge(m, &b);
	fd = bpf_map__fd(p->skel->maps.budgets);
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		prev = &k;
		if (!bpf_map_lookup_elem(fd, &k, &b))
			thread_merge(m, &b);
	}
	/* resources: RSS of the target's live processes, and the CPUs it may use */
	for (size_t i = 0; i < m->ntargets; i++) {
		struct target *t = &m->targets[i];
		uint64_t mem = 0;
		bool any = false;

		for (size_t j = 0; j < t->npids; j++) {
			uint64_t r = rss_bytes(t->pids[j]);
			cpu_set_t set;

			if (!r)
				continue;
			mem += r;
			if (!any && !sched_getaffinity(t->pids[j], sizeof(set), &set))
				t->bud.ncpus = CPU_COUNT(&set);
			any = true;
		}
		if (any) {
			t->bud.mem_bytes = mem;
			if (mem > t->bud.mem_peak_bytes)
				t->bud.mem_peak_bytes = mem;
		}
	}
}

void budget_probes_close(struct budget_probes *p)
{
	budget_bpf__destroy(p->skel);
	p->skel = NULL;
}
