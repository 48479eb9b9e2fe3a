/* Views of a model: text, JSON (the contract in DESIGN.md), HTML and Prometheus. */
#ifndef IOGAP_REPORT_H
#define IOGAP_REPORT_H

#include <stdbool.h>
#include <stdio.h>
#include "model/model.h"

struct report_opts {
	int top_files;            /* files listed per target */
	bool interval;            /* figures are one interval of a live run */
};

void report_text(FILE *out, struct model *m, const struct report_opts *o);
/* The JSON document; the caller frees it. NULL on allocation failure. */
char *report_json(struct model *m);
/* "12.3us", "4.0ms": at most 8 characters. */
void report_fmt_ns(char *buf, size_t len, uint64_t ns);
void report_fmt_bytes(char *buf, size_t len, uint64_t bytes);

/* Computations the views share (text.c). A budget class that waits for work (poll/epoll). */
bool report_budget_idle(unsigned cls);
/* CPU time as a percentage of the CPUs the target may use over secs; ns from target_budget(). */
double report_cpu_pct(const struct target *t, const uint64_t ns[BUD_MAX], double secs);
/* A statement's step time outside any syscall. */
uint64_t report_stmt_cpu_ns(const struct stmt_stats *s);
/* A statement's whole-statement latency, or its step latency when no statement ended. */
const struct hist *report_stmt_lat(const struct sql_stmt *s);

struct report_html_input {
	const char *title;
	const struct model *total;            /* cumulative figures of the run */
	size_t nintervals;
	const struct model *const *intervals; /* per-interval deltas of the same targets */
	const uint64_t *t_ns;                 /* end of each interval since start */
	const char *explain_html;             /* an already-escaped HTML section, NULL if none */
	const char *meta_json;                /* a JSON object about the run (host, kernel, start), or NULL */
};

/* One self-contained HTML page (inline CSS and SVG charts, nothing fetched): 0, or -errno. */
int report_html(FILE *out, const struct report_html_input *in);
/* s with &, <, >, " and ' as HTML character references. */
void report_html_escape(FILE *out, const char *s);
/* The Prometheus text exposition format 0.0.4 of m's cumulative figures. */
void report_prometheus(FILE *out, const struct model *m);

#endif
