/* What the kernel keeps per CPU for BPF, as user space reads it: per-CPU map values (one per
 * possible CPU, 8-byte aligned), and the hooks it skipped for a program already running on a
 * CPU. */
#ifndef IOGAP_COLLECT_PERCPU_H
#define IOGAP_COLLECT_PERCPU_H

#include <stddef.h>
#include <stdint.h>

struct bpf_object;
struct bpf_program;

/* Adds up ncpus values of size bytes made of 64-bit words into out (nwords of them); the word
 * at max_idx is a maximum instead (SIZE_MAX: none). */
void percpu_sum(const void *vals, int ncpus, size_t size, uint64_t *out, size_t nwords, size_t max_idx);
/* The recursion misses (bpf_prog_info; 0 before Linux 5.12) of a loaded program, and of all of
 * obj's: the times a hook fired while that program was running on the same CPU, which the
 * kernel counts and skips. 0 for a program not loaded or a NULL obj. */
uint64_t prog_misses_one(const struct bpf_program *p);
uint64_t prog_misses(const struct bpf_object *obj);

#endif
