/*
 * tests/fuzz/fuzz_dnsmsg.c - libFuzzer target for dns/dnsmsg.c.
 *
 * The input is read as a query, as a response to its own question, and
 * (as a C string) as a name to build a query for.  Each run checks what
 * must hold whatever the bytes:
 *
 *  - parsing twice gives the same result and output, and an output is
 *    left alone on DNSMSG_MALFORMED;
 *  - a parsed qname is lowercase [a-z0-9_-] labels joined by dots, at
 *    most 253 characters, and question_end lies within the message;
 *  - round trips: a reply built for a parsed query parses as a response
 *    to it (same id, question, rcode, no addresses) and as a message with
 *    the same id/qname/qtype; a query built from the parsed fields parses
 *    back to them;
 *  - parse_answers never stores more than <max>, a smaller <max> gives a
 *    prefix of what a larger one gives, every address stored is an A or
 *    AAAA record present in the message with the TTL it carries there
 *    (0 when its top bit is set), min_ttl is the smallest stored TTL at
 *    most, and a different expected id is refused;
 *  - build_query accepts a name only if its query parses back to the
 *    same name, lowercased, without a trailing dot.
 *
 * clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -D_GNU_SOURCE \
 *     dns/dnsmsg.c tests/fuzz/fuzz_dnsmsg.c -o fuzz_dnsmsg
 */
#include "dns/dnsmsg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "tests/common/refname.h"

#define ADDR_MAX	64
#define REPLY_MAX	(12 + 255 + 4 + 11)

/*
 * Is <a> the RDATA of an A/AAAA class IN record somewhere in <buf>, right
 * after a TTL that reads as a->ttl?  A plain byte search: it knows
 * nothing of names, so it cannot share a bug with the parser.
 */
static int
addr_in_msg(const uint8_t *buf, size_t len, const struct dnsmsg_addr *a)
{
	size_t		 i, alen = a->family == 4 ? 4 : 16;
	uint32_t	 ttl;
	const uint8_t	*p;

	for (i = 0; i + 10 + alen <= len; i++) {
		p = buf + i;
		if (p[0] != 0 || p[1] != (a->family == 4 ? 1 : 28) ||
		    p[2] != 0 || p[3] != 1 || p[8] != 0 || p[9] != alen ||
		    memcmp(p + 10, a->addr, alen) != 0)
			continue;
		ttl = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 |
		    (uint32_t)p[6] << 8 | p[7];
		if (ttl == a->ttl || (ttl >= 0x80000000u && a->ttl == 0))
			return 1;
	}
	return 0;
}

static void
check_answers(const uint8_t *buf, size_t len, const struct dnsmsg_query *q)
{
	static const size_t maxes[] = { ADDR_MAX, 5, 1, 0 };
	struct dnsmsg_addr out[ADDR_MAX], first[ADDR_MAX];
	enum dnsmsg_result r, r0 = DNSMSG_OK;
	size_t		 i, k, n, n0 = 0;
	uint32_t	 min_ttl, min0 = 0;
	int		 rcode, rcode0 = 0;
	uint8_t		*copy;

	for (k = 0; k < sizeof(maxes) / sizeof(maxes[0]); k++) {
		memset(out, 0xa5, sizeof(out));
		r = dnsmsg_parse_answers(buf, len, q, q->id, out, maxes[k],
		    &n, &rcode, &min_ttl);
		CHECK(r == DNSMSG_OK || r == DNSMSG_MALFORMED);
		for (i = maxes[k]; i < ADDR_MAX; i++)
			CHECK(out[i].family == 0xa5);
		if (k == 0) {
			r0 = r;
			if (r != DNSMSG_OK)
				return;
			memcpy(first, out, sizeof(out));
			n0 = n;
			rcode0 = rcode;
			min0 = min_ttl;
		}
		CHECK(r == r0);
		CHECK(rcode == rcode0 && rcode >= 0 && rcode <= 0xfff);
		CHECK(n <= maxes[k]);
		/* A smaller <max> cuts the same list short. */
		CHECK(n == (n0 < maxes[k] ? n0 : maxes[k]));
		CHECK(memcmp(out, first, n * sizeof(out[0])) == 0);
		/* Fewer RRs used: the minimum can only grow ("none" is 0). */
		if (n == n0)
			CHECK(min_ttl == min0);
		else
			CHECK(min_ttl >= min0 || (n == 0 && min_ttl == 0));
		if (rcode != DNSMSG_RCODE_NOERROR)
			CHECK(n == 0 && min_ttl == 0);
		for (i = 0; i < n; i++) {
			CHECK(out[i].family == 4 || out[i].family == 6);
			CHECK(out[i].ttl <= 0x7fffffffu);
			CHECK(out[i].ttl >= min_ttl);
			CHECK(addr_in_msg(buf, len, &out[i]));
		}
	}

	/* The id is part of the match; set_id moves it. */
	CHECK(dnsmsg_parse_answers(buf, len, q, (uint16_t)(q->id + 1), out,
	    ADDR_MAX, &n, &rcode, &min_ttl) == DNSMSG_MALFORMED);
	copy = malloc(len);
	CHECK(copy != NULL);
	memcpy(copy, buf, len);
	dnsmsg_set_id(copy, len, (uint16_t)(q->id + 1));
	CHECK(dnsmsg_parse_answers(copy, len, q, (uint16_t)(q->id + 1), out,
	    ADDR_MAX, &n, &rcode, &min_ttl) == DNSMSG_OK);
	CHECK(n == n0 && memcmp(out, first, n * sizeof(out[0])) == 0);
	free(copy);
}

static void
check_round_trips(const uint8_t *buf, size_t len, const struct dnsmsg_query *q)
{
	static const int rcodes[] = { 0, 3, 4, 5 };
	struct dnsmsg_query rq;
	struct dnsmsg_addr out[4];
	uint8_t		 rep[REPLY_MAX];
	size_t		 i, rlen, n;
	uint32_t	 min_ttl;
	int		 rcode;

	for (i = 0; i < sizeof(rcodes) / sizeof(rcodes[0]); i++) {
		rlen = dnsmsg_build_reply(q, buf, len, rcodes[i], rep,
		    sizeof(rep));
		if (q->flags & DNSMSG_F_QR) {
			CHECK(rlen == 0);
			continue;
		}
		CHECK(rlen == q->question_end + (q->edns ? 11 : 0));
		CHECK(dnsmsg_build_reply(q, buf, len, rcodes[i], rep,
		    rlen - 1) == 0);
		CHECK(dnsmsg_parse_query(rep, rlen, &rq) ==
		    DNSMSG_UNSUPPORTED);
		CHECK(rq.id == q->id && rq.qtype == q->qtype &&
		    rq.qclass == q->qclass && rq.edns == q->edns &&
		    rq.question_end == q->question_end &&
		    strcmp(rq.qname, q->qname) == 0);
		CHECK((rq.flags & 0x7800) == (q->flags & 0x7800));
		CHECK((rq.flags & 0x000f) == rcodes[i]);
		if (q->question_end == 12 || DNSMSG_F_OPCODE(q->flags) != 0)
			continue;
		CHECK(dnsmsg_parse_answers(rep, rlen, q, q->id, out, 4, &n,
		    &rcode, &min_ttl) == DNSMSG_OK);
		CHECK(rcode == rcodes[i] && n == 0 && min_ttl == 0);
	}

	if (q->question_end == 12)
		return;
	rlen = dnsmsg_build_query(q->id, q->qname, q->qtype, q->edns,
	    q->edns_size, rep, sizeof(rep));
	CHECK(rlen > 0);
	CHECK(dnsmsg_parse_query(rep, rlen, &rq) == DNSMSG_OK);
	CHECK(rq.id == q->id && rq.qtype == q->qtype &&
	    rq.qclass == DNSMSG_CLASS_IN && rq.edns == q->edns &&
	    strcmp(rq.qname, q->qname) == 0);
	if (q->edns)
		CHECK(rq.edns_size == q->edns_size);
}

/* The input as a name: accepted only if it comes back the same. */
static void
check_build_query(const uint8_t *data, size_t len)
{
	struct dnsmsg_query q;
	char		 name[300], want[300];
	uint8_t		 msg[REPLY_MAX];
	size_t		 i, n, qlen;

	n = len < sizeof(name) - 1 ? len : sizeof(name) - 1;
	memcpy(name, data, n);
	name[n] = '\0';
	qlen = dnsmsg_build_query(7, name, DNSMSG_TYPE_A, false, 0, msg,
	    sizeof(msg));
	if (qlen == 0)
		return;
	CHECK(dnsmsg_parse_query(msg, qlen, &q) == DNSMSG_OK);
	n = strlen(name);
	for (i = 0; i < n; i++)
		want[i] = name[i] >= 'A' && name[i] <= 'Z' ?
		    (char)(name[i] - 'A' + 'a') : name[i];
	if (n > 0 && want[n - 1] == '.')
		n--;
	want[n] = '\0';
	CHECK(strcmp(q.qname, want) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct dnsmsg_query q, q2, sentinel;
	enum dnsmsg_result r;
	uint8_t		*buf;

	/* An exact-size copy: one byte past <len> is a heap overflow. */
	if ((buf = fuzz_copy(data, len)) == NULL)
		return 0;

	memset(&sentinel, 0x5a, sizeof(sentinel));
	q = sentinel;
	r = dnsmsg_parse_query(buf, len, &q);
	q2 = sentinel;
	CHECK(dnsmsg_parse_query(buf, len, &q2) == r);
	CHECK(memcmp(&q, &q2, sizeof(q)) == 0);
	CHECK(memcmp(buf, data, len) == 0);
	if (r == DNSMSG_MALFORMED) {
		CHECK(memcmp(&q, &sentinel, sizeof(q)) == 0);
	} else {
		CHECK(r == DNSMSG_OK || r == DNSMSG_UNSUPPORTED);
		CHECK(len >= 12 && len <= 65535);
		CHECK(ref_qname(q.qname));
		CHECK(q.question_end >= 12 && q.question_end <= len);
		CHECK(q.id == (buf[0] << 8 | buf[1]));
		if (r == DNSMSG_OK)
			CHECK(q.question_end > 12 &&
			    q.qclass == DNSMSG_CLASS_IN &&
			    (q.flags & DNSMSG_F_QR) == 0);
		check_round_trips(buf, len, &q);
		/* Its own question makes it a candidate response. */
		if (q.question_end > 12)
			check_answers(buf, len, &q);
	}
	check_build_query(data, len);
	free(buf);
	return 0;
}
