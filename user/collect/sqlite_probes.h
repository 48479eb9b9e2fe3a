/* Attaching the SQLite uprobes to target processes, and reading what they measured. */
#ifndef IOGAP_COLLECT_SQLITE_PROBES_H
#define IOGAP_COLLECT_SQLITE_PROBES_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "model/model.h"

struct syscalls_bpf;
struct sqlite_bpf;
struct sq_proc;
struct sq_link;

struct sqlite_probes {
	struct sqlite_bpf *skel;
	struct sq_proc *procs;    /* processes attached (or known to have no SQLite) */
	size_t nprocs, cap;
	struct sq_text *texts;    /* hash -> template, from the SQL text events */
	size_t ntexts, cap_texts;
	struct hindex texts_ix;   /* texts by hash */
	bool verbose;
	bool multi;               /* probes attach as uprobe_multi links, not perf events */
	/* where a statement of the host's libsqlite3 keeps its SQL and its count of executions
	 * (0: unknown), see sqlite_probes.c; processes using that file get them, and no probe on
	 * sqlite3_reset when the count's place is known */
	struct sq_offs offs;
	uint64_t host_dev, host_ino;
	/* the host's library: probe sites where the kernel emulates the instruction at the
	 * breakpoint (learn_sites in sqlite_probes.c); 0: the public functions' entries */
	uint64_t prep_in;         /* the prepares' common callee, probed in their place */
	uint64_t close_at[2];     /* in sqlite3_close and sqlite3_close_v2 */
	/* links of processes gone: destroyed at close, all at once (each uprobe detach waits for
	 * the kernel ~0.1 s; meanwhile a dead process's uprobes cost nobody anything) */
	struct sq_link *dead;
	size_t ndead, cap_dead;
	int ncpus;                /* sq_stats and sq_hist are per CPU */
	void *buf;                /* ncpus values of sq_stats */
};

/* Opens and loads the SQLite module, sharing the target, thread and event maps of sys. */
int sqlite_probes_open(struct sqlite_probes *p, struct syscalls_bpf *sys, const char *btf_path,
		       bool verbose);
/* Attaches to pid (slot's target) if it has SQLite; allow_candidate: a process that just
 * started, which may load the library later. 1 attached, 0 nothing to attach, -errno. */
int sqlite_probes_attach(struct sqlite_probes *p, struct model *m, __u32 slot, pid_t pid,
			 bool allow_candidate);
/* Is the basename of path "libsqlite3..."? */
bool sqlite_probes_is_lib(const char *path);
/* Attaches to the library at path (as process pid sees it), which pid has just opened. */
int sqlite_probes_attach_file(struct sqlite_probes *p, struct model *m, __u32 slot, pid_t pid,
			      const char *path);
/* Attaches, before it execs, to a command iogap launched if its executable links SQLite
 * statically (a dynamic one is attached when it opens libsqlite3). */
int sqlite_probes_attach_command(struct sqlite_probes *p, struct model *m, __u32 slot, pid_t pid,
				 const char *file);
/* A SQL text event: remembers its template. */
void sqlite_probes_text(struct sqlite_probes *p, const void *event, size_t size);
/* Reads the SQLite maps into the model (cumulative). */
void sqlite_probes_snapshot(struct sqlite_probes *p, struct model *m);
/* When tracing has ended, after the last snapshot (begun at since_ns, CLOCK_MONOTONIC): the
 * executions still open that began before it, ended at their last step. */
void sqlite_probes_end_open(struct sqlite_probes *p, struct model *m, uint64_t since_ns);
/* Drops processes that are gone (their uprobes went with them). */
void sqlite_probes_reap(struct sqlite_probes *p);
bool sqlite_probes_known(struct sqlite_probes *p, pid_t pid);
void sqlite_probes_close(struct sqlite_probes *p);

#endif
