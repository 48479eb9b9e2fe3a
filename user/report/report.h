/* Views of a model: text and JSON (the contract in DESIGN.md). */
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

#endif
