/* The target filter every BPF module shares (bpf/filter.bpf.h): each module's copy of the
 * filter's settings is the syscalls module's. */
#ifndef IOGAP_COLLECT_FILTER_H
#define IOGAP_COLLECT_FILTER_H

#define FILTER_COPY_RODATA(skel, sys) do {                                          \
		(skel)->rodata->have_cgroup_targets = (sys)->rodata->have_cgroup_targets; \
		(skel)->rodata->have_pid_targets = (sys)->rodata->have_pid_targets;       \
		(skel)->rodata->exclude_tgid = (sys)->rodata->exclude_tgid;               \
	} while (0)

#endif
