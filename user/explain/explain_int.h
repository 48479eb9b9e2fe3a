/* Shared by the explain stages (explain.c, validity.c, rank.c, findings.c, output.c). */
#ifndef IOGAP_EXPLAIN_INT_H
#define IOGAP_EXPLAIN_INT_H

#include "explain/explain.h"

/* What the stages read while they build a result. */
struct explain_ctx {
	const struct model *m[2];
	const struct target *t[2];
	struct sql_stmt *st[2];       /* statements by template (target_stmts_by_template) */
	size_t nst[2];
	struct file_stat *fs[2];      /* SQLite's fsyncs by path */
	size_t nfs[2];
	struct hist lat[2];           /* served requests' latency, all routes */
	struct explain_result *r;
};

/* A formatted string, NULL (and r->oom set, if r) on allocation failure. */
char *explain_strf(struct explain_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Appends a formatted sentence to *list (r->oom on failure). */
void explain_addf(struct explain_result *r, char ***list, size_t *n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* report_fmt_ns of a non-negative double, rounded. */
void explain_fmt_ns(char *buf, size_t len, double ns);
/* "+1.2ms" / "-340us" / "0ns". */
void explain_fmt_delta(char *buf, size_t len, double ns);
/* "per request" or "per second". */
const char *explain_per(const struct explain_result *r);
/* Ratio x / y, 0 when y is 0. */
double explain_div(double x, double y);
/* sql, cut to its first shown characters and "..." if longer. */
void explain_stmt_short(char *buf, size_t len, const char *sql, int shown);
/* The schema read SQLite runs on a new connection (SELECT*FROM"main".sqlite_master ...). */
bool explain_stmt_is_schema(const char *sql);
/* A PRAGMA run about once per SQLite connection opened: the application's connection set-up
 * (on a new connection, the first statement also reads the schema). */
bool explain_stmt_is_setup(const char *sql, uint64_t count, uint64_t opens);
/* An INSERT, UPDATE, DELETE, REPLACE or COMMIT (END) statement. */
bool explain_stmt_is_write(const char *sql);
/* commit false: INSERT, UPDATE, DELETE or REPLACE; true: COMMIT or END. */
bool explain_stmt_is_write_verb(const char *sql, bool commit);
/* A statement's mean latency (whole statement, else step). */
double explain_stmt_mean(const struct sql_stmt *s);

void explain_validity(struct explain_ctx *c);
void explain_rank(struct explain_ctx *c);
void explain_findings(struct explain_ctx *c);

#endif
