/* Values of per-CPU BPF maps, as user space reads them: one per possible CPU, 8-byte aligned. */
#ifndef IOGAP_COLLECT_PERCPU_H
#define IOGAP_COLLECT_PERCPU_H

#include <stddef.h>
#include <stdint.h>

/* Adds up ncpus values of size bytes made of 64-bit words into out (nwords of them); the word
 * at max_idx is a maximum instead (SIZE_MAX: none). */
void percpu_sum(const void *vals, int ncpus, size_t size, uint64_t *out, size_t nwords, size_t max_idx);

#endif
