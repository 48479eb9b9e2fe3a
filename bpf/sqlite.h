/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * SQLite module: uprobes on libsqlite3 (per process). Per target x statement text: executions,
 * steps, rows, result codes, time in sqlite3_step and per whole statement, and that time split
 * by what the thread did inside SQLite (measured by the syscall module on the same thread).
 */
#ifndef IOGAP_SQLITE_H
#define IOGAP_SQLITE_H

#include "iogap.h"
#include "histogram.h"

/* How time inside sqlite3_step/exec is split: syscall classes, and the rest is CPU. */
enum sq_split {
	SPLIT_READ = 0,
	SPLIT_WRITE,
	SPLIT_FSYNC,
	SPLIT_LOCK,
	SPLIT_BUSY_SLEEP,         /* nanosleep inside SQLite: the busy handler waiting for a lock */
	SPLIT_OTHER,              /* any other syscall */
	SPLIT_MAX,
};

/* Result codes kept apart (primary codes; extended codes are masked to their primary). */
enum sq_rc {
	RC_ROW = 0, RC_DONE, RC_BUSY, RC_LOCKED, RC_CONSTRAINT, RC_MISUSE, RC_ERROR_OTHER, RC_MAX,
};

#define SQL_TEXT_MAX 512
#define SQ_STATS_MAX 8192          /* {target, statement text} pairs with figures */
#define SQ_HIST_ARRAY 256          /* the first pairs' histograms are in an array (sq_hist_rows) */
#define SQ_HIST_STEP 0            /* sq_hist.which: sqlite3_step latency */
#define SQ_HIST_STMT 1            /* sq_hist.which: an execution (first step entry, last return) */

struct sq_key {
	__u64 hash;               /* of the statement's SQL text as prepared; 0: prepared before tracing */
	__u32 slot;
	__u32 pad;
};
_Static_assert(sizeof(struct sq_key) == 16, "sq_key layout");

struct stmt_stats {
	__u64 count;              /* executions (SQLite's own count where known: struct sq_offs) */
	__u64 steps;
	__u64 rows;
	__u64 rc[RC_MAX];
	__u64 step_ns;
	__u64 stmt_ns;            /* executions that ended (DONE, an error, a new execution, reset or
				   * finalize): their first step's entry to their last step's return */
	__u64 stmt_ended;
	__u64 split_ns[SPLIT_MAX];
	__u64 busy_at_once;       /* BUSY results of steps in which the busy handler never slept:
				   * SQLite does not wait to turn a read transaction into a write one
				   * (it could deadlock), nor where no busy handler is set */
};

/* One histogram of one {target, text} pair with an entry in sq_stats below SQ_HIST_ARRAY:
 * sq_hist_rows[(entry) * 2 + which]. */
struct sq_hist_row {
	__u64 b[HIST_BUCKETS];
};

#define SQ_ARGCHECK_MAX 16      /* calls user space checks a probe site with (learn_sites) */

/*
 * Where SQLite's statement object (its Vdbe) keeps, in the library a process uses: its SQL text
 * (a pointer: what sqlite3_sql() returns) and its count of executions (a u32: what
 * sqlite3_stmt_status(SQLITE_STMTSTATUS_RUN) returns, counted at each execution's first VM
 * instruction). 0: not measured for that library. User space measures them on the host's
 * library (sqlite_probes.c).
 */
struct sq_offs {
	__u32 zsql;
	__u32 run;
};

/* A statement of a process: its entry in the BPF map stmts (sqlite.bpf.c), which user space
 * reads when tracing ends, for the executions still open then (sqlite_probes.c). */
struct stmt_key {
	__u64 stmt;
	__u32 tgid;
	__u32 pad;
};

struct stmt_state {
	__u64 hash;
	__u64 first_ts;           /* first step's entry of the open execution; 0: none open */
	__u64 last_ts;            /* the return of its last step */
	__u32 slot;               /* the target it last ran in */
	__u32 idx;                /* the entry of (slot, hash) in sq_stats, + 1; 0: not found yet */
	__u32 run_off;            /* where SQLite counts the statement's executions, 0: unknown */
	__u32 run;                /* that count at its last step */
};

struct sq_hist_key {
	__u64 hash;
	__u32 slot;
	__u16 bucket;
	__u8 which;
	__u8 pad;
};
_Static_assert(sizeof(struct sq_hist_key) == 16, "sq_hist_key layout");

struct sq_slot_stats {
	__u64 opens;
	__u64 closes;
	__u64 open_ns;
	/* the busy handler inside a prepare, outside any step: a new connection's first prepare
	 * reads the schema, which waits for the database's lock as a statement does */
	__u64 prep_sleeps;        /* prepares in which it slept */
	__u64 prep_sleep_ns;      /* the time it slept in them */
	__u64 prep_busy;          /* prepares that returned BUSY */
};

struct sq_file_key {
	__u64 ino;
	__u32 dev;
	__u32 gen;
	__u32 slot;
	__u32 pad;
};

struct sq_file_stats {
	__u64 count;
	__u64 total_ns;
};

struct sql_text_event {
	struct event_hdr hdr;
	__u64 hash;
	__u32 len;                /* bytes in text (truncated to SQL_TEXT_MAX - 1) */
	__u32 truncated;
	__u32 utf16;              /* text is UTF-16 in the CPU's order (sqlite3_prepare16*) */
	__u32 pad;
	char text[SQL_TEXT_MAX];
};

#endif
