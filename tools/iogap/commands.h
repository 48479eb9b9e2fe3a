#ifndef IOGAP_COMMANDS_H
#define IOGAP_COMMANDS_H

#include "options.h"

struct container_roots;

int cmd_trace(const struct iogap_opts *o);
int cmd_top(const struct iogap_opts *o);
int cmd_ps(const struct iogap_opts *o);
/* The runtimes' metadata roots: the defaults, or the --docker-root, ... options. */
void options_container_roots(const struct iogap_opts *o, struct container_roots *r);

#endif
