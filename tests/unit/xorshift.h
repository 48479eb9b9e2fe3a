/* A fixed-seed xorshift64 generator, so that a unit test's "random" inputs are the same in every
 * run. */
#ifndef IOGAP_TESTS_XORSHIFT_H
#define IOGAP_TESTS_XORSHIFT_H

#include <stdint.h>

static inline uint64_t xorshift64(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

#endif
