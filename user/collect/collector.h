/*
 * The collector: preflight, load and attach the BPF modules, register targets, drain the ring
 * buffer and read the maps into the model.
 */
#ifndef IOGAP_COLLECT_COLLECTOR_H
#define IOGAP_COLLECT_COLLECTOR_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>
#include "collect/command.h"
#include "collect/sqlite_probes.h"
#include "collect/net_probes.h"
#include "collect/budget_probes.h"
#include "collect/containers.h"
#include "collect/files.h"
#include "model/model.h"

/* The modules of collector_opts.modules; the syscall module (file I/O) is always loaded. */
enum collector_module {
	COLLECT_FILE = 1 << 0,
	COLLECT_SQLITE = 1 << 1,
	COLLECT_NET = 1 << 2,
	COLLECT_BUDGET = 1 << 3,
};

struct collector_opts {
	const pid_t *pids;
	int npids;
	char *const *cgroups;
	int ncgroups;
	char *const *containers;  /* --container NAME|ID|ID-PREFIX */
	int ncontainers;
	bool all_containers;      /* every container a target, and those that start later */
	bool host;                /* processes outside containers, as the target "host" */
	struct container_roots roots;
	char **cmd_argv;          /* NULL: no command */
	const char *btf_path;     /* NULL: the running kernel's */
	bool verbose;
	unsigned modules;         /* COLLECT_* bits to load; 0: all */
};

struct collector {
	struct syscalls_bpf *skel;
	struct ring_buffer *rb;
	struct model model;       /* cumulative since attach */
	int ncpus;
	char cg_mount[PATH_MAX];
	char (*cg_paths)[PATH_MAX];   /* absolute cgroup path per slot, "" for pid targets */
	bool watch;               /* new containers become targets */
	int host_slot;            /* -1: no host target */
	struct container_roots roots;
	bool warned_full;
	bool has_cmd;
	uint64_t gone_told;       /* -p targets said to have ended (bit per slot) */
	struct command cmd;
	void *buf;                /* per-CPU value buffer (io_stats, sys_counts) */
	__u32 *batch_keys;        /* the keys a batch lookup of one index's CPUs returns */
	struct sys_counts_slot *sys_sum;   /* a target's syscall counts, summed over CPUs */
	struct sqlite_probes sq;
	struct net_probes net;
	struct budget_probes bud;
	struct file_table files;  /* the inodes in use, their paths */
	uint64_t last_rescan_ns;
};

/* Exit codes: 0 ok, 1 runtime failure, 127/126 command not found / not executable. */
int collector_open(struct collector *c, const struct collector_opts *o);
/* Waits up to timeout_ms for an urgent ring-buffer event, then handles every event there. */
int collector_poll(struct collector *c, int timeout_ms);
/* Reads the BPF maps into c->model (cumulative figures, durations). */
int collector_snapshot(struct collector *c);
/* The last snapshot, when tracing has ended: collector_snapshot, and what only the end tells
 * (SQLite executions still open, ended at their last step). */
int collector_final_snapshot(struct collector *c);
/* False once every process of every target is gone (pid targets, the command). */
bool collector_alive(struct collector *c);
void collector_close(struct collector *c);
uint64_t collector_now_ns(void);
/* Is the environment variable name set, non-empty and not "0"? (IOGAP_* switches that take
 * a slower or older way on any kernel, so that tests cover it.) */
bool collector_env_flag(const char *name);

#endif
