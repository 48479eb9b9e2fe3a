/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <stdlib.h>
#include "model/hindex.h"

static size_t home(uint64_t key, size_t cap)
{
	key ^= key >> 33;               /* keys may be small or sequential (inode numbers) */
	key *= 0xff51afd7ed558ccdULL;
	key ^= key >> 33;
	return (size_t)key & (cap - 1);
}

static const void *elem(const struct hindex_kind *k, const void *arr, size_t i)
{
	return (const char *)arr + i * k->size;
}

static void put(struct hindex *x, const struct hindex_kind *k, const void *arr, size_t i)
{
	size_t h = home(k->key(elem(k, arr, i)), x->cap);

	while (x->slot[h])
		h = (h + 1) & (x->cap - 1);
	x->slot[h] = (uint32_t)(i + 1);
}

/* Covers arr[0..n) with room for one more; false when it cannot (no memory, or too many). */
static bool cover(struct hindex *x, const struct hindex_kind *k, const void *arr, size_t n)
{
	size_t cap = 16;
	uint32_t *slot;

	if (n >= UINT32_MAX / 4)
		return false;
	while (cap < 2 * (n + 1))
		cap *= 2;
	if (x->slot && x->n == n && x->cap >= cap)
		return true;
	slot = calloc(cap, sizeof(*slot));
	if (!slot) {
		hindex_free(x);
		return false;
	}
	free(x->slot);
	x->slot = slot;
	x->cap = cap;
	for (size_t i = 0; i < n; i++)
		put(x, k, arr, i);
	x->n = n;
	return true;
}

static bool matches(const struct hindex_kind *k, const void *e, uint64_t key, const void *want)
{
	return k->key(e) == key && (!k->same || k->same(e, want));
}

long hindex_find(struct hindex *x, const struct hindex_kind *k, const void *arr, size_t n,
		 uint64_t key, const void *want)
{
	if (!cover(x, k, arr, n)) {
		for (size_t i = 0; i < n; i++)
			if (matches(k, elem(k, arr, i), key, want))
				return (long)i;
		return -1;
	}
	for (size_t h = home(key, x->cap), e; (e = x->slot[h]); h = (h + 1) & (x->cap - 1))
		if (matches(k, elem(k, arr, e - 1), key, want))
			return (long)(e - 1);
	return -1;
}

void hindex_added(struct hindex *x, const struct hindex_kind *k, const void *arr, size_t n)
{
	if (x->slot && x->n + 1 == n && 2 * (n + 1) <= x->cap) {
		put(x, k, arr, n - 1);
		x->n = n;
	}
	/* else the next hindex_find rebuilds it */
}

void hindex_free(struct hindex *x)
{
	free(x->slot);
	x->slot = NULL;
	x->cap = 0;
	x->n = 0;
}
