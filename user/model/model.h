/*
 * The model: what was measured, per target. collect/ fills it (live or from a snapshot of the
 * BPF maps), report/ and explain/ read it. Counters are cumulative since attach; an interval
 * view is model_delta() of two snapshots.
 */
#ifndef IOGAP_MODEL_H
#define IOGAP_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "model/hindex.h"
#include "model/hist.h"
#include "syscalls.h"
#include "sqlite.h"
#include "net.h"
#include "budget.h"

#define IOGAP_VERSION "0.1.0"
#define IOGAP_FORMAT 1

enum target_kind { TARGET_PID, TARGET_CGROUP, TARGET_CONTAINER, TARGET_COMMAND };

struct op_stats {
	uint16_t op;
	uint8_t fd_kind;
	uint64_t count, errors, bytes, sum_ns, max_ns;
	struct hist hist;
};

struct file_stat {
	char *path;               /* as the target opened it; NULL until seen */
	uint64_t ino;
	uint32_t dev;             /* kernel encoding */
	uint32_t gen;             /* inode generation: a reused inode number is another file */
	uint64_t count, total_ns, bytes;
};

/* One SQL text (by its hash) of a target; reports merge texts by template. */
struct sql_stmt {
	uint64_t hash;            /* 0: statements prepared before tracing began */
	char *sql;                /* normalized template; NULL while its text has not arrived */
	struct stmt_stats s;
	struct hist step_hist;
	struct hist stmt_hist;
};

struct sq_fsync_stat {
	uint64_t ino;
	uint32_t dev, gen;
	uint64_t count, total_ns;
};

struct sqlite_info {
	char *library;            /* as the process sees it; NULL: no SQLite found */
	const char *where;        /* "mapped", "static", "candidate" */
	uint64_t processes;       /* processes whose SQLite iogap attached to */
	uint64_t opens, closes, open_ns;
	/* prepares whose busy handler slept (outside a step: a new connection's schema read
	 * waits for the lock too), the time slept, and prepares that returned BUSY */
	uint64_t prep_sleeps, prep_sleep_ns, prep_busy;
	struct sql_stmt *stmts;
	size_t nstmts, cap_stmts;
	struct hindex stmts_ix;   /* stmts by hash (target_stmt) */
	struct sq_fsync_stat *fsyncs;
	size_t nfsyncs, cap_fsyncs;
};

#define HTTP_MAX_CODES 16

/* Requests of one (side, method, route), built from the HTTP events. */
struct http_route {
	uint8_t side;             /* 0: served (accepted connections), 1: made (client side) */
	char method[16];
	char *route;
	uint64_t count;
	uint64_t status[4];       /* 2xx, 3xx, 4xx, 5xx */
	uint64_t other;           /* a status outside 200..599 */
	struct { int code; uint64_t count; } codes[HTTP_MAX_CODES];
	int ncodes;
	struct hist lat;          /* request line read -> status line written (served) */
	uint64_t lat_sum_ns;      /* the exact sum of the latencies in lat */
};

struct net_info {
	struct tcp_stats tcp;
	struct hist connect_lat, accept_queue, duration;
	struct http_route *routes;
	size_t nroutes, cap_routes;
	uint64_t requests;        /* responses the target sent */
	/* the target's network namespace's TcpExt ListenOverflows/ListenDrops since tracing began */
	uint64_t listen_overflows, listen_drops;
	uint64_t listen_base[2];  /* (collector) the counters when tracing began; 0: not read yet */
	bool listen_known;
};

struct thread_stat {
	uint32_t tid, tgid;
	char comm[16];
	uint64_t ns[BUD_MAX];
	uint64_t req_ns[BUD_MAX]; /* ns weighted by the HTTP requests it had open (bpf/budget.h) */
	uint64_t first_ns, last_ns;
	bool exited;
};

struct budget_info {
	struct thread_stat *threads;
	size_t nthreads, cap_threads;
	int ncpus;                /* CPUs the target may run on */
	uint64_t mem_bytes, mem_peak_bytes;
};

/* What a container runtime says of a target; every field NULL when it is not a container. */
struct container_meta {
	char *runtime;            /* docker, containerd, crio, podman, lxc, nspawn, systemd, cgroup */
	char *id;                 /* the runtime's id (full), or the name where the runtime has none */
	char *image;
	char *pod, *pod_namespace, *k8s_container, *pod_uid, *qos;
};

struct target {
	char *name;
	enum target_kind kind;
	char *cgroup;             /* path below the cgroup2 mount, "" if none */
	uint64_t cgroup_id;
	pid_t *pids;
	pid_t *nspids;            /* parallel to pids: the pid inside its own PID namespace, 0 unknown */
	size_t npids, cap_pids;
	struct container_meta ctr;
	uint64_t added_ns;        /* since the model's start: 0, or when it appeared later */
	uint64_t stopped_ns;      /* since the model's start: when its cgroup went away; 0 running */
	uint64_t syscalls;        /* all syscalls entered */
	uint64_t sys_count[IOGAP_NR_SYSCALLS];
	uint64_t sys_errors[IOGAP_NR_SYSCALLS];
	struct op_stats *ops;
	size_t nops, cap_ops;
	struct file_stat *files;
	size_t nfiles, cap_files;
	struct hindex files_ix;   /* files by {dev, inode, generation} (target_file) */
	uint64_t exits;           /* target processes that exited */
	struct sqlite_info sq;
	struct net_info net;
	struct budget_info bud;
};

struct model {
	uint64_t start_ns;        /* CLOCK_MONOTONIC at attach */
	uint64_t duration_ns;
	uint64_t counters[CNT_MAX];
	struct target *targets;
	size_t ntargets;
};

const char *model_op_name(unsigned op);
const char *model_fd_kind_name(unsigned kind);
const char *model_target_kind_name(enum target_kind kind);
const char *model_syscall_name(unsigned nr);
bool model_op_is_net(unsigned op);
bool model_op_takes_fd(unsigned op);

struct target *model_target_add(struct model *m, const char *name, enum target_kind kind);
int target_pid_add(struct target *t, pid_t pid);
/* Records pid's number inside its PID namespace (adds pid if it is new). */
int target_pid_set_ns(struct target *t, pid_t pid, pid_t nspid);
/* The pid inside its namespace, 0 when unknown or the same as pid. */
pid_t target_nspid(const struct target *t, pid_t pid);
void container_meta_copy(struct container_meta *dst, const struct container_meta *src);
void container_meta_free(struct container_meta *c);
struct op_stats *target_op(struct target *t, unsigned op, unsigned fd_kind);
struct file_stat *target_file(struct target *t, uint32_t dev, uint64_t ino, uint32_t gen);
/* A path's own entry, which every inode of the path adds to: device 0, which no file has, and
 * model_hash_str(path) for its inode number (SQLite's fsyncs of the path take the same key). */
struct file_stat *target_file_by_path(struct target *t, const char *path);
/* FNV-1a 64 of a string: a stable name across runs. */
uint64_t model_hash_str(const char *s);
int target_file_set_path(struct target *t, uint32_t dev, uint64_t ino, uint32_t gen, const char *path);
/* The path of a file; a file seen only in /proc when tracing began has generation 0. */
const char *target_file_path(const struct target *t, uint32_t dev, uint64_t ino, uint32_t gen);
/* Everything lost (every counter); and of it, the updates that found a kernel map full (neither
 * ring-buffer drops nor hooks the kernel skipped, CNT_PROG_MISSES). */
uint64_t model_drops(const struct model *m);
uint64_t model_map_losses(const struct model *m);
/* Files merged by path (inodes of one path add up), by total time, largest first; the caller
 * frees the array (its paths belong to t). */
struct file_stat *target_files_by_path(const struct target *t, size_t *n);
/* SQLite's fsyncs (inside sqlite3_step/exec) by file path, the same way. */
struct file_stat *target_sq_fsyncs_by_path(const struct target *t, size_t *n);
void target_sort_ops(struct target *t);

struct sql_stmt *target_stmt(struct target *t, uint64_t hash);
struct sq_fsync_stat *target_sq_fsync(struct target *t, uint32_t dev, uint64_t ino, uint32_t gen);
/* Statements merged by template (texts differing only in literals add up), by step time,
 * largest first; the caller frees the array (its strings and histograms are copies it owns:
 * free with model_stmts_free). */
struct sql_stmt *target_stmts_by_template(const struct target *t, size_t *n);
void model_stmts_free(struct sql_stmt *s, size_t n);
const char *model_split_name(unsigned i);
const char *model_rc_name(unsigned i);

struct http_route *target_route(struct target *t, int side, const char *method, const char *route);
void http_route_status(struct http_route *r, int status);

struct thread_stat *target_thread(struct target *t, uint32_t tid);
const char *model_budget_name(unsigned cls);
/* The target's budget summed over its threads (ns per class). */
void target_budget(const struct target *t, uint64_t out[BUD_MAX]);
/* Its requests' latencies by where their serving threads' time went: each thread's time weighted
 * by the requests it had open, summed (ns per class; divided by the requests, it decomposes the
 * mean server-side latency). */
void target_request_budget(const struct target *t, uint64_t out[BUD_MAX]);
/* Served requests and the exact sum of their latencies (read of the request line to the write
 * of the status line). */
uint64_t target_served(const struct target *t, uint64_t *lat_sum_ns);

/* Copies the structure of src into dst (deep), for later deltas. */
int model_copy(struct model *dst, const struct model *src);
/* dst = cur - prev, target by target (same order), op by op, file by file. */
int model_delta(struct model *dst, const struct model *cur, const struct model *prev);
/* dst += delta, the inverse of model_delta: an interval's figures added to a cumulative model.
 * Targets match by name and cgroup (new ones are appended); what model_delta keeps as the
 * current value (max, first/last times, memory, metadata) is taken from delta. */
int model_add(struct model *dst, const struct model *delta);
/* Zeroes the measured figures of every target, keeping names, paths and pids. */
void model_clear_figures(struct model *m);
/* Drops the entries of an interval's delta in which nothing happened (files, statements,
 * routes, threads, operations with zero figures), so a recording's chunks stay small. */
void model_prune_idle(struct model *m);
/* Keeps each target's n files with the most time (a service that makes a file per request
 * would otherwise repeat thousands of paths in every interval). */
void model_keep_top_files(struct model *m, size_t n);
void model_free(struct model *m);

#endif
