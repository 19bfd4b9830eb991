/*
 * tests/fuzz/fuzz_http.c - libFuzzer target for sniff/http.c.
 *
 * The input is what a client sends on one connection.  For each request
 * on it (up to a few pipelined ones) the target checks that:
 *
 *  - the head verdict does not depend on how the bytes were split: the
 *    first non-NEED_MORE answer on a growing prefix equals the answer on
 *    that prefix alone and on the whole input, with the same <out>;
 *  - an accepted head obeys its invariants (offsets inside the head, a
 *    NUL-terminated host of host characters only);
 *  - an accepted head holds nothing a server could read differently, as
 *    a reference check written from docs/config.md sees it: a host that
 *    is an IPv6 literal or a DNS name (labels of 1-63 bytes, at most one
 *    trailing dot, 253 bytes), a target without '#' and without "." or
 *    ".." segments carrying ";" parameters, no framing field spelt with
 *    '_';
 *  - the body framer takes the same bytes and ends in the same state
 *    whether fed at once or in random pieces, and never takes more than
 *    it was given;
 *  - http_response_status answers the same on every prefix once decided.
 *
 * Piece sizes and the head limit come from a PRNG seeded by the input, so
 * every run of one input is the same.
 */
#include "sniff/http.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "tests/common/refname.h"

#define FUZZ_REQUESTS	4

static int
host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == ':';
}

/* Reference: the request target, as the bytes after the method's SP. */
static void
ref_target(const uint8_t *buf, size_t len, size_t mlen)
{
	const uint8_t	*t = buf + mlen + 1, *e, *q, *seg, *p;

	e = memchr(t, ' ', len - mlen - 1);
	CHECK(e != NULL);
	CHECK(memchr(t, '#', (size_t)(e - t)) == NULL);
	q = memchr(t, '?', (size_t)(e - t));
	if (q == NULL)
		q = e;
	for (seg = t; seg < q; seg = p + 1) {
		p = memchr(seg, '/', (size_t)(q - seg));
		if (p == NULL)
			p = q;
		CHECK(!(p - seg >= 2 && seg[0] == '.' && seg[1] == ';'));
		CHECK(!(p - seg >= 3 && seg[0] == '.' && seg[1] == '.' &&
		    seg[2] == ';'));
	}
}

/* Reference: no "content_length" or "transfer_encoding" field line. */
static void
ref_fields(const uint8_t *buf, size_t hlen)
{
	static const char *const bad[] = { "\ncontent-length:",
	    "\ntransfer-encoding:" };
	char	name[24];
	size_t	i, j, k, n;

	for (i = 0; i + 1 < hlen; i++) {
		if (buf[i] != '\n')
			continue;
		for (n = 0; n < sizeof(name) - 1 && i + n < hlen; n++) {
			name[n] = (char)buf[i + n];
			if (name[n] >= 'A' && name[n] <= 'Z')
				name[n] = (char)(name[n] - 'A' + 'a');
			if (name[n] == ':') {
				n++;
				break;
			}
		}
		name[n] = '\0';
		for (k = 0; k < 2; k++) {
			/* The dashed name with some '-' spelt '_'. */
			if (strlen(name) != strlen(bad[k]))
				continue;
			for (j = 0; name[j] != '\0'; j++)
				if (name[j] != bad[k][j] &&
				    !(name[j] == '_' && bad[k][j] == '-'))
					break;
			CHECK(name[j] != '\0' || strcmp(name, bad[k]) == 0);
		}
	}
}

static int
req_same(const struct http_request *a, const struct http_request *b)
{
	return strcmp(a->method, b->method) == 0 &&
	    strcmp(a->host, b->host) == 0 && a->port == b->port &&
	    a->path_off == b->path_off && a->path_len == b->path_len &&
	    a->version_minor == b->version_minor &&
	    a->framing == b->framing &&
	    a->content_length == b->content_length &&
	    a->upgrade == b->upgrade && a->keep_alive == b->keep_alive &&
	    a->head_len == b->head_len;
}

static void
req_invariants(const struct http_request *r, const uint8_t *buf, size_t len)
{
	size_t	i, hl;

	CHECK(r->path_off + r->path_len <= r->head_len);
	CHECK(r->head_len <= len);
	CHECK(r->head_len >= 4);
	CHECK(memchr(r->method, '\0', sizeof(r->method)) != NULL);
	CHECK(r->method[0] != '\0');
	hl = strnlen(r->host, sizeof(r->host));
	CHECK(hl > 0 && hl < sizeof(r->host));
	for (i = 0; i < hl; i++)
		CHECK(host_char(r->host[i]));
	CHECK(memchr(r->host, ':', hl) != NULL ||
	    ref_dns_name(r->host, hl, REFNAME_TRAILING_DOT));
	ref_target(buf, r->head_len, strlen(r->method));
	ref_fields(buf, r->head_len);
	CHECK(r->version_minor == 0 || r->version_minor == 1);
	CHECK(r->framing == HTTP_BODY_NONE || r->framing == HTTP_BODY_LENGTH ||
	    r->framing == HTTP_BODY_CHUNKED);
	CHECK(!(r->upgrade && r->version_minor == 0));
}

/* Returns the verdict on <buf>, checked against a trickled feed. */
static enum http_result
head_check(const uint8_t *buf, size_t len, size_t max, uint64_t *rng,
    struct http_request *out)
{
	struct http_sniff	st;
	struct http_request	r1, r2;
	enum http_result	whole, part, again;
	size_t			n, step;

	http_sniff_init(&st);
	whole = http_parse_request(&st, buf, len, max, &r1);

	http_sniff_init(&st);
	part = HTTP_NEED_MORE;
	for (n = 0;;) {
		part = http_parse_request(&st, buf, n, max, &r2);
		if (part != HTTP_NEED_MORE || n == len)
			break;
		/* Mostly single bytes, sometimes a run. */
		step = fuzz_rng(rng) % 4 == 0 ? 1 + fuzz_rng(rng) % 64 : 1;
		n = len - n < step ? len : n + step;
	}
	CHECK(part == whole);
	if (whole == HTTP_OK) {
		CHECK(req_same(&r1, &r2));
		req_invariants(&r1, buf, len);
		/* The prefix up to the head alone gives the same. */
		http_sniff_init(&st);
		again = http_parse_request(&st, buf, r1.head_len, max, &r2);
		CHECK(again == HTTP_OK && req_same(&r1, &r2));
		*out = r1;
	} else if (whole != HTTP_NEED_MORE) {
		/* A decision made on <n> bytes stands on those bytes alone. */
		http_sniff_init(&st);
		CHECK(http_parse_request(&st, buf, n, max, &r2) == whole);
	}
	return whole;
}

/* Returns how many bytes the body takes, checked against a split feed. */
static size_t
body_check(const struct http_request *req, const uint8_t *buf, size_t len,
    uint64_t *rng, enum http_body_state *state)
{
	struct http_body	b1, b2;
	size_t			used1, used2, k, piece;

	http_body_init(&b1, req);
	used1 = http_body_feed(&b1, buf, len);
	CHECK(used1 <= len);
	if (b1.hb_state != HTTP_BS_DONE && b1.hb_state != HTTP_BS_ERROR)
		CHECK(used1 == len);
	CHECK(http_body_feed(&b1, buf + used1, len - used1) == 0 ||
	    (b1.hb_state != HTTP_BS_DONE && b1.hb_state != HTTP_BS_ERROR));

	http_body_init(&b2, req);
	for (used2 = 0; used2 < len;) {
		piece = 1 + fuzz_rng(rng) % 16;
		if (piece > len - used2)
			piece = len - used2;
		k = http_body_feed(&b2, buf + used2, piece);
		CHECK(k <= piece);
		used2 += k;
		if (k < piece)
			break;
	}
	CHECK(used1 == used2);
	CHECK(b1.hb_state == b2.hb_state);
	*state = b1.hb_state;
	return used1;
}

static void
status_check(const uint8_t *buf, size_t len)
{
	int	whole, part;
	size_t	n;

	whole = http_response_status(buf, len);
	CHECK(whole == -1 || whole == 0 || (whole >= 100 && whole <= 999));
	for (n = 0; n < len && n < 16; n++) {
		part = http_response_status(buf, n);
		CHECK(part == 0 || part == whole);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request	r;
	enum http_body_state	bs;
	uint64_t		rng;
	size_t			off = 0, max;
	unsigned		i;

	rng = fuzz_seed(data, size);
	/* Usually roomy, sometimes tight enough to hit HTTP_TOO_LARGE. */
	max = fuzz_rng(&rng) % 4 == 0 ? 1 + fuzz_rng(&rng) % 256 : 65536;

	status_check(data, size);
	for (i = 0; i < FUZZ_REQUESTS && off <= size; i++) {
		if (head_check(data + off, size - off, max, &rng, &r) !=
		    HTTP_OK)
			break;
		off += r.head_len;
		off += body_check(&r, data + off, size - off, &rng, &bs);
		if (bs != HTTP_BS_DONE)
			break;
	}
	return 0;
}
