#ifndef IOGAP_COMMANDS_H
#define IOGAP_COMMANDS_H

#include <stdbool.h>
#include <stdio.h>
#include "options.h"

struct container_roots;

int cmd_trace(const struct iogap_opts *o);
int cmd_top(const struct iogap_opts *o);
int cmd_ps(const struct iogap_opts *o);
int cmd_record(const struct iogap_opts *o);
int cmd_report(const struct iogap_opts *o);
int cmd_explain(const struct iogap_opts *o);

struct model;
struct recording;
/* The summary of a model as text or (--json) JSON: 0, or 1 when it cannot be written. */
int cli_print_model(const struct iogap_opts *o, FILE *out, struct model *m, bool interval);
/*
 * Output rendered into memory, then written at once (cli_out_write: 0 or the errno of the write
 * that failed). A stdio stream keeps only an error flag: once a write failed midway and its
 * buffer was dropped, the final fflush succeeds and errno is whatever came after, so a full
 * disk was told as "Success".
 */
struct cli_out {
	FILE *mem;
	char *buf;
	size_t len;
};
/* The stream to render into, or NULL when out of memory. */
FILE *cli_out_open(struct cli_out *w);
/* Writes what was rendered to out (NULL: drops it) and flushes it; frees the memory. */
int cli_out_write(struct cli_out *w, FILE *out);
/* Reads a recording and tells the user what was lost: 0, or 1 with the message printed. */
int cli_recording_read(const char *path, struct recording *r);
/* --prometheus ADDR:PORT: a listening socket, or -1 (runtime error) / -2 (usage), told. */
int serve_open(const char *addr);
/* Answers the scrapes waiting on the socket with the model's metrics. */
void serve_poll(int fd, const struct model *m);
/* The runtimes' metadata roots: the defaults, or the --docker-root, ... options. */
void options_container_roots(const struct iogap_opts *o, struct container_roots *r);

#endif
