#ifndef IOGAP_COMMANDS_H
#define IOGAP_COMMANDS_H

#include "options.h"

int cmd_trace(const struct iogap_opts *o);
int cmd_top(const struct iogap_opts *o);

#endif
