/* The time budget module: where each target thread's time goes, from the scheduler. */
#ifndef IOGAP_COLLECT_BUDGET_PROBES_H
#define IOGAP_COLLECT_BUDGET_PROBES_H

#include "model/model.h"

struct syscalls_bpf;
struct budget_bpf;

struct budget_probes {
	struct budget_bpf *skel;
};

/* Opens, loads and attaches the module, sharing the syscall module's target and thread maps. */
int budget_probes_open(struct budget_probes *p, struct syscalls_bpf *sys, const char *btf_path);
/* Reads the per-thread budgets, and samples each target's memory and allowed CPUs. */
void budget_probes_snapshot(struct budget_probes *p, struct model *m);
void budget_probes_close(struct budget_probes *p);

#endif
