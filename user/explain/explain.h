/*
 * Explain: why one side was faster. Compares two targets (of one model, or the same target of
 * two models) and answers in this order: is the comparison valid (errors, resets, unequal
 * load, lost events, layers measured on one side only), the headline figures, the per-request
 * time budget class by class ranked by its share of the gap, and findings in plain sentences
 * with the numbers behind them. Reads only the model.
 *
 * Orientation: the "slower" side is the one with the higher mean server-side request latency
 * (B when they are equal); when a side served no HTTP requests, both are compared per second of
 * the run and the "slower" side is the one whose threads worked more per second. Every delta is
 * slower minus faster, per unit, so the causes are the classes where the slower side spends more.
 *
 * Noise floor: a class is listed as a cause only when its delta is at least EXPLAIN_NOISE of
 * the slower side's mean request latency (per second: of the slower side's work time per
 * second); smaller differences are measurement noise at these sample sizes.
 *
 * Cause classes: the budget classes (model_budget_name: cpu, runqueue, file_read, file_write,
 * fsync, lock, futex, net_recv, net_send, accept, sleep, busy_sleep, other; poll_idle is idle,
 * listed apart, never a cause), "sqlite_open" (carved out of the budget classes, never added to
 * them: rank.c says how) and "accept_queue" (outside the threads' time). SQLite's split inside
 * its statements is evidence, never a cause of its own: it is time the budget already holds.
 */
#ifndef IOGAP_EXPLAIN_H
#define IOGAP_EXPLAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "model/model.h"

#define EXPLAIN_NOISE 0.01            /* of the slower side's mean latency */
#define EXPLAIN_MAX_ERROR_RATE 0.01   /* HTTP errors, resets per connection: above, not valid */
#define EXPLAIN_MIN_REQUESTS 1000     /* fewer: the p99 is a handful of requests */
#define EXPLAIN_MIX_POINTS 0.10       /* a route's share of the requests may differ this much */
#define EXPLAIN_ACCEPT_RATIO 2.0      /* connections accepted per second may differ this much */
/* Successful requests per second differing by more than this decide which side is slower (a
 * benchmark's closed-loop load: the same clients get fewer answers from the slower server),
 * whatever the servers' own latencies, which miss the time a request waits inside the server
 * before its first read (a worker pool's queue, the socket buffer). */
#define EXPLAIN_THROUGHPUT_RATIO 1.10
#define EXPLAIN_RATIO 2.0             /* statements and routes differing more are findings */
#define EXPLAIN_CPU_SATURATED 90.0    /* cpu_pct from which a side's CPUs count as saturated */

/* The rows of the decomposition besides the budget classes (enum budget_class). */
enum explain_row_id {
	EXR_SQLITE_OPEN = BUD_MAX,    /* a SQLite connection opened per request (named cause) */
	EXR_ACCEPT_QUEUE,             /* connections waiting in the kernel's accept queue */
	EXR_MAX,
};

struct explain_side {
	char *label;                  /* how the side is named in every sentence */
	char *target;                 /* the target's name */
	double secs;                  /* the target's time in its model */
	bool http;                    /* it served HTTP requests */
	bool sqlite;                  /* SQLite statements or connection opens were measured */
	bool budget;                  /* thread time was measured */
	uint64_t requests;            /* responses it sent (served side), all statuses */
	uint64_t status[4], other;    /* 2xx..5xx, and statuses outside 200..599 */
	double rps, ok_rps;           /* all responses and 2xx per second */
	double error_rate;            /* (4xx + 5xx + other) / responses */
	uint64_t conns;               /* TCP connections accepted and connected */
	uint64_t conn_errors;         /* resets sent and received, refused connects */
	double conn_error_rate;       /* conn_errors / conns */
	uint64_t mean_ns, p50_ns, p95_ns, p99_ns;  /* server-side request latency, all routes */
	double units;                 /* what "per request" divides by: requests, or seconds */
	uint64_t budget_ns[BUD_MAX];  /* thread time of the run, all threads */
	double per_unit[EXR_MAX];     /* budget classes, sqlite_open and accept-queue, per unit */
	double sq_split[SPLIT_MAX + 1]; /* time inside sqlite3_step per unit: model_split_name
	                                 * classes, [SPLIT_MAX] the CPU (step time outside syscalls) */
	uint64_t sq_opens, sq_open_ns;
	uint64_t sq_schema_ns;        /* step time of the schema reads new connections run */
	double sq_prep_sleep;         /* busy-handler sleeps in prepares, outside any step, per unit */
	uint64_t sq_busy;             /* steps (and execs) that returned BUSY */
	uint64_t sq_busy_at_once;     /* ... of them with no busy-handler sleep in that step */
	double cpu_pct;               /* of the CPUs the target may use */
	double runnable;              /* threads on a CPU or waiting for one, on average */
	int ncpus;
	size_t nthreads;
};

/* One row of the decomposition (every class, listed as a cause or not). */
struct explain_row {
	const char *cls;              /* model_budget_name(), "sqlite_open" or "accept_queue" */
	double a, b;                  /* ns per unit on each side, as measured */
	double delta;                 /* slower - faster after the sqlite_open carve-out */
	double share;                 /* delta / sum of positive deltas (0 when not positive) */
	bool idle;                    /* waiting for work: listed, never in the gap */
};

struct explain_cause {
	const char *cls;
	double a, b, delta, share;    /* as in explain_row */
	char *evidence;               /* a sentence with the numbers behind the class */
};

struct explain_result {
	struct explain_side side[2];  /* [0] A, [1] B */
	char *source;                 /* "recording run.iogap", for the title; NULL: none */
	bool valid;                   /* false: a side's figures cannot be compared as they are */
	char **warnings;
	size_t nwarnings;
	char *valid_note;             /* when there is no warning: what was checked */
	bool per_request;             /* false: both sides compared per second */
	int slower;                   /* 0 or 1: the side the deltas are measured from */
	bool by_throughput;           /* slower: the side with fewer 2xx per second (per request) */
	struct explain_row rows[EXR_MAX];
	struct explain_cause *causes; /* positive deltas above the noise floor, by share */
	size_t ncauses;
	double gap_ns;                /* per request: the mean latency gap (plus the accept-queue
	                               * wait per request); by throughput or per second: the sum of
	                               * positive deltas */
	double positive_ns;           /* sum of the positive deltas */
	double listed_ns;             /* sum of the listed causes' deltas */
	double noise_ns;              /* the noise floor, ns per unit */
	double covered;               /* listed_ns / gap_ns, in 0..1 */
	double covered_raw;           /* the same, unclamped (thread time may exceed latency) */
	char **findings;
	size_t nfindings;
	bool oom;                     /* (while building) an allocation failed */
};

struct explain_opts {
	const char *label_a, *label_b; /* NULL: the targets' names */
	const char *source;            /* shown in the title, e.g. "recording run.iogap" */
};

/* Compares a (of ma) with b (of mb): 0, or -ENOMEM (r is freed). The durations come from each
 * model. r is owned by the caller: explain_free. */
int explain_compare(const struct model *ma, const struct target *a, const struct model *mb,
		    const struct target *b, struct explain_result *r);
int explain_compare_opts(const struct model *ma, const struct target *a, const struct model *mb,
			 const struct target *b, const struct explain_opts *o,
			 struct explain_result *r);
void explain_free(struct explain_result *r);

/* The JSON document (contract in DESIGN.md, fields added freely); the caller frees it. */
char *explain_json(const struct explain_result *r);
void explain_text(FILE *out, const struct explain_result *r);
/* An escaped HTML fragment without a heading, for report_html_input.explain_html; the caller
 * frees it. NULL on allocation failure. */
char *explain_html(const struct explain_result *r);
/* For report --html: when exactly two targets of m served HTTP requests, the explain_html of
 * the first against the second; else (or on allocation failure) NULL. */
char *explain_model_html(const struct model *m);

#endif
