/*
 * An index of an array's elements by a 64-bit key, for the model's arrays that are looked up
 * once per kernel entry at every snapshot (statements, files) or per ring-buffer event (SQL
 * texts): a linear scan made those quadratic, and a snapshot of 8,000 statement texts stalled
 * the ring buffer's reader until it dropped events. Open addressing over positions + 1 (0:
 * empty), at most half full. The array stays the owner's and in its order; the index covers
 * its first n elements and is rebuilt whenever the owner's count differs from that (an append
 * the owner did not report through hindex_added, a prune), so it can never point past the
 * array. An owner that moves elements (a sort, a prune) calls hindex_free, so that a reorder
 * that keeps the count cannot leave it pointing at moved elements either. Where memory for it
 * runs out, lookups scan the array.
 */
#ifndef IOGAP_MODEL_HINDEX_H
#define IOGAP_MODEL_HINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hindex {
	uint32_t *slot;
	size_t cap;               /* a power of two, or 0 */
	size_t n;                 /* the array's elements it covers */
};

/* How an array's elements are keyed: key(e) hashes e's identity, same(e, want) compares it with
 * the one looked for (NULL when the key is the identity itself). */
struct hindex_kind {
	size_t size;              /* of an element */
	uint64_t (*key)(const void *e);
	bool (*same)(const void *e, const void *want);
};

/* The position in arr[0..n) of the element whose key is key (and that is the same as want, if
 * the kind compares), or -1. */
long hindex_find(struct hindex *x, const struct hindex_kind *k, const void *arr, size_t n,
		 uint64_t key, const void *want);
/* arr[n - 1] was just appended. */
void hindex_added(struct hindex *x, const struct hindex_kind *k, const void *arr, size_t n);
void hindex_free(struct hindex *x);

#endif
