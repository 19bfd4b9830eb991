/*
 * tests/fuzz/fuzz_util.h - what every libFuzzer target here uses: the
 * entry point's prototype, CHECK (an invariant: abort with where and
 * what), an exact-size copy of the input, and a PRNG seeded by the input
 * so that every run of one input is the same.
 */
#ifndef EGRESS_FUZZ_UTIL_H
#define EGRESS_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: invariant failed: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

/* CHECK, saying more: printf-style arguments after the condition. */
#define CHECK_MSG(cond, ...) do {					\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: invariant failed: %s: ",	\
		    __FILE__, __LINE__, #cond);				\
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
		abort();						\
	}								\
} while (0)

/*
 * A heap copy of exactly <len> bytes (one byte when <len> is 0), so that
 * ASan sees a read one byte past the end; NULL when out of memory.
 */
static inline uint8_t *
fuzz_copy(const uint8_t *data, size_t len)
{
	uint8_t	*p = malloc(len > 0 ? len : 1);

	if (p != NULL && len > 0)
		memcpy(p, data, len);
	return p;
}

/* A nonzero seed from <buf>[0..<len>) (FNV-1a). */
static inline uint64_t
fuzz_seed(const uint8_t *buf, size_t len)
{
	uint64_t	h = 0xcbf29ce484222325ULL;
	size_t		i;

	for (i = 0; i < len; i++)
		h = (h ^ buf[i]) * 0x100000001b3ULL;
	return h | 1;
}

/* xorshift64: the next number from a nonzero state. */
static inline uint64_t
fuzz_rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

#endif /* EGRESS_FUZZ_UTIL_H */
