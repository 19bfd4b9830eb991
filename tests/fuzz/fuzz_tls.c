/*
 * tests/fuzz/fuzz_tls.c - libFuzzer target for sniff/tls.c.
 *
 * The input is the client's first bytes.  Each run sniffs it whole under
 * several limits and incrementally (byte by byte and in random pieces),
 * and checks what must hold whatever the bytes:
 *
 *  - the verdict does not depend on how the bytes were split into calls,
 *    and an incremental run stops exactly where the verdict became known;
 *  - TLS_OK: consumed <= len and <= max, the hello is the same when only
 *    <consumed> bytes are given, one byte less is TLS_NEED_MORE, and the
 *    SNI is 1..253 bytes of [A-Za-z0-9._-], NUL-terminated, a DNS name:
 *    labels of 1..63 bytes, at most one trailing dot (so no "a..b",
 *    "x.example..", ".a" or "."), as a reference check written from
 *    docs/config.md sees it;
 *  - TLS_NOT_TLS only when one of the first three bytes says so;
 *  - <max> only ever turns a verdict into TLS_TOO_LARGE, and for an OK
 *    hello exactly when max < consumed;
 *  - <out> is not written unless the result is TLS_OK.
 *
 * Under ASan the bytes past each prefix are poisoned, so a read beyond
 * the <len> a call was given is caught even though the memory exists.
 *
 * clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -D_GNU_SOURCE \
 *     sniff/tls.c tests/fuzz/fuzz_tls.c -o fuzz_tls
 */
#include "sniff/tls.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "tests/common/refname.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#define POISON(p, n)	ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n)	ASAN_UNPOISON_MEMORY_REGION((p), (n))
#endif
#endif
#ifndef POISON
#define POISON(p, n)	((void)(p), (void)(n))
#define UNPOISON(p, n)	((void)(p), (void)(n))
#endif

#define BYTEWISE_MAX	4096	/* longer inputs go in pieces only */

static void
hello_valid(const struct tls_hello *h, size_t len, size_t max)
{
	CHECK(h->consumed <= len);
	CHECK(h->consumed <= max);
	CHECK(h->consumed >= 5 + 4 + 2 + 32 + 1 + 2 + 2 + 1 + 1);
	if (!h->has_sni)
		return;
	CHECK(ref_dns_name(h->sni, strnlen(h->sni, sizeof(h->sni)),
	    REFNAME_TRAILING_DOT));
}

static int
hello_eq(const struct tls_hello *a, const struct tls_hello *b)
{
	return a->has_sni == b->has_sni && a->ech == b->ech &&
	    a->consumed == b->consumed &&
	    (!a->has_sni || strcmp(a->sni, b->sni) == 0);
}

static enum tls_result
sniff_whole(const uint8_t *buf, size_t len, size_t max, struct tls_hello *out)
{
	struct tls_sniff st;

	tls_sniff_init(&st);
	return tls_sniff(&st, buf, len, max, out);
}

/*
 * Grows the prefix by 1 byte (<seed> 0) or by pseudo-random pieces until
 * a verdict; <buf> must be a private copy, as its tail gets poisoned.
 */
static enum tls_result
sniff_fed(uint8_t *buf, size_t len, size_t max, uint64_t seed,
    struct tls_hello *out, size_t *at)
{
	struct tls_sniff st;
	struct tls_hello sentinel;
	enum tls_result	 r = TLS_NEED_MORE;
	size_t		 have = 0, step;

	tls_sniff_init(&st);
	memset(&sentinel, 0xa5, sizeof(sentinel));
	memcpy(out, &sentinel, sizeof(*out));
	POISON(buf, len);
	while (have < len) {
		if (seed == 0)
			step = 1;
		else {
			fuzz_rng(&seed);
			step = seed % 4 == 0 ? 1 + seed % 600 : 1 + seed % 8;
		}
		if (step > len - have)
			step = len - have;
		UNPOISON(buf + have, step);
		have += step;
		r = tls_sniff(&st, buf, have, max, out);
		if (r != TLS_OK)
			CHECK(memcmp(out, &sentinel, sizeof(*out)) == 0);
		if (r != TLS_NEED_MORE)
			break;
	}
	UNPOISON(buf, len);
	*at = have;
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct tls_hello inf, h, h2;
	enum tls_result	 r_inf, r, r2;
	uint8_t		*buf;
	uint64_t	 seed;
	size_t		 maxes[5], i, at, at2;

	if ((buf = fuzz_copy(data, len)) == NULL)
		return 0;
	seed = fuzz_seed(data, len < 64 ? len : 64);

	/* Unlimited: the reference verdict. */
	r_inf = sniff_whole(buf, len, SIZE_MAX, &inf);
	CHECK(r_inf != TLS_TOO_LARGE);
	if (r_inf == TLS_NOT_TLS)
		CHECK(buf[0] != 0x16 || (len > 1 && buf[1] != 0x03) ||
		    (len > 2 && buf[2] > 0x04));
	if (r_inf == TLS_OK) {
		hello_valid(&inf, len, SIZE_MAX);
		/* Only the records that held it matter. */
		r = sniff_whole(buf, inf.consumed, SIZE_MAX, &h);
		CHECK(r == TLS_OK && hello_eq(&inf, &h));
		r = sniff_whole(buf, inf.consumed - 1, SIZE_MAX, &h);
		CHECK(r == TLS_NEED_MORE);
	}

	/* Byte by byte and in pieces: same verdict, found at one point. */
	if (len <= BYTEWISE_MAX) {
		r = sniff_fed(buf, len, SIZE_MAX, 0, &h, &at);
		CHECK(r == r_inf);
		if (r == TLS_OK)
			CHECK(hello_eq(&inf, &h) && at == inf.consumed);
		if (r == TLS_NEED_MORE)
			CHECK(at == len);
		/* The verdict needed all <at> bytes, not one fewer. */
		if (r != TLS_NEED_MORE && at > 0)
			CHECK(sniff_whole(buf, at - 1, SIZE_MAX, &h2) ==
			    TLS_NEED_MORE);
	} else
		at = SIZE_MAX;
	r2 = sniff_fed(buf, len, SIZE_MAX, seed, &h2, &at2);
	CHECK(r2 == r_inf);
	if (r2 == TLS_OK)
		CHECK(hello_eq(&inf, &h2));
	if (at != SIZE_MAX && r2 != TLS_NEED_MORE)
		CHECK(at2 >= at);

	/* Limits only ever turn a verdict into TLS_TOO_LARGE. */
	maxes[0] = len;
	maxes[1] = len / 2;
	maxes[2] = r_inf == TLS_OK ? inf.consumed - 1 : 16389;
	maxes[3] = 5 + (seed >> 8) % 2048;
	maxes[4] = len > 0 ? data[len - 1] : 0;
	for (i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++) {
		r = sniff_whole(buf, len, maxes[i], &h);
		if (r_inf == TLS_OK) {
			if (maxes[i] >= inf.consumed)
				CHECK(r == TLS_OK && hello_eq(&inf, &h));
			else
				CHECK(r == TLS_TOO_LARGE);
		} else
			CHECK(r == r_inf || r == TLS_TOO_LARGE);
		if (r == TLS_OK)
			hello_valid(&h, len, maxes[i]);
		r2 = sniff_fed(buf, len, maxes[i], seed + i, &h2,
		    &at2);
		CHECK(r2 == r);
		if (r2 == TLS_OK)
			CHECK(hello_eq(&h, &h2));
	}

	free(buf);
	return 0;
}
