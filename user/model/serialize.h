/*
 * The model as JSON, every field of it, for recordings (report/json.c is the user-facing view;
 * this one is for reading a model back exactly).
 *
 * uint64 values below 10^15 are JSON numbers, larger ones decimal strings (a JSON number is a
 * double, and cJSON prints 15 digits); the reader takes either (numbers up to 2^53).
 * Histograms and the per-syscall arrays are sparse runs, [[start, count, count, ...], ...]
 * (a run of one is [index, count]; a run goes on over up to 2 zero buckets); the budget,
 * result-code and split arrays are objects by class name, non-zero entries only; ops, fd
 * kinds and target kinds are written by name.
 * Compatibility: a key this build does not know is ignored, a missing number is 0, and what a
 * newer build may add (an op, fd kind or class name this build does not know, counters past
 * CNT_MAX) is skipped, so a newer minor format still reads.
 */
#ifndef IOGAP_MODEL_SERIALIZE_H
#define IOGAP_MODEL_SERIALIZE_H

#include <cjson/cJSON.h>
#include "model/model.h"

/* NULL when out of memory; the caller deletes the result. */
cJSON *model_serialize(const struct model *m);
/* Fills out (zeroed first) from j: 0, -EINVAL on malformed input or -ENOMEM, with out freed
 * and zeroed on error. */
int model_deserialize(const cJSON *j, struct model *out);
/* The same, for untrusted input: a few bytes of JSON can stand for kilobytes of model (each
 * histogram is dense in memory), so the entries it makes may take at most *budget bytes, which
 * is decreased by what they take; -E2BIG (out freed) beyond. */
int model_deserialize_bounded(const cJSON *j, struct model *out, size_t *budget);
/* A target's identity: name, kind, cgroup, cgroup_id, pids ([[pid, nspid], ...]), container. */
cJSON *serialize_target_identity(const struct target *t);
/* Adds v under key: false, with v deleted, when v is NULL or memory runs out. */
bool serialize_add(cJSON *o, const char *key, cJSON *v);
/* One uint64 the way the model's are written (a number below 10^15, else a decimal string),
 * and read back: 0 or -EINVAL. */
cJSON *serialize_u64(uint64_t v);
int deserialize_u64(const cJSON *j, uint64_t *v);

#endif
