/*
 * dns/dnsmsg.h - DNS message parsing and building for the DNS filter.
 *
 * Pure code: no I/O, no allocation, no logging, no globals.  A message is
 * a UDP payload or a TCP message without its 2-byte length prefix.  Every
 * parser checks the whole message (all counted sections, every name and
 * RDLENGTH, no trailing bytes) before it writes any output, so an output
 * is never half-filled from bytes that later turn out to be garbage.
 */
#ifndef EGRESS_DNSMSG_H
#define EGRESS_DNSMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Presentation form: 253 characters at most, plus NUL, rounded. */
#define DNSMSG_NAME_MAX		256

#define DNSMSG_TYPE_A		1
#define DNSMSG_TYPE_NS		2
#define DNSMSG_TYPE_CNAME	5
#define DNSMSG_TYPE_SOA		6
#define DNSMSG_TYPE_NULL	10
#define DNSMSG_TYPE_PTR		12
#define DNSMSG_TYPE_MX		15
#define DNSMSG_TYPE_TXT		16
#define DNSMSG_TYPE_AAAA	28
#define DNSMSG_TYPE_SRV		33
#define DNSMSG_TYPE_OPT		41
#define DNSMSG_TYPE_SVCB	64
#define DNSMSG_TYPE_HTTPS	65
#define DNSMSG_TYPE_ANY		255

#define DNSMSG_CLASS_IN		1

#define DNSMSG_RCODE_NOERROR	0
#define DNSMSG_RCODE_FORMERR	1
#define DNSMSG_RCODE_SERVFAIL	2
#define DNSMSG_RCODE_NXDOMAIN	3
#define DNSMSG_RCODE_NOTIMP	4
#define DNSMSG_RCODE_REFUSED	5

/* The header flags word. */
#define DNSMSG_F_QR		0x8000
#define DNSMSG_F_OPCODE(f)	(((f) >> 11) & 0xf)
#define DNSMSG_F_TC		0x0200
#define DNSMSG_F_RD		0x0100

/* Payload size egressd announces in the OPT of its own replies. */
#define DNSMSG_EDNS_SIZE	1232

enum dnsmsg_result {
	DNSMSG_OK,		/* well-formed and what was asked for */
	DNSMSG_MALFORMED,	/* not a well-formed message (or, for a
				 * response, not one to this query): drop */
	DNSMSG_UNSUPPORTED	/* well-formed, but not a plain query */
};

struct dnsmsg_query {
	uint16_t id;
	uint16_t flags;			/* header flags word as received */
	char	 qname[DNSMSG_NAME_MAX];/* lowercased, no trailing dot;
					 * "" for the root */
	uint16_t qtype, qclass;
	bool	 edns;			/* an OPT RR was in additional */
	uint16_t edns_size;		/* its UDP payload size, as sent
					 * (RFC 6891: below 512 means 512) */
	size_t	 question_end;		/* offset just past the question;
					 * 12 when there is none to echo */
};

/*
 * Parses a query from a client.  DNSMSG_OK means: QR=0, opcode QUERY,
 * QDCOUNT 1, ANCOUNT 0, NSCOUNT 0, ARCOUNT 0 or one OPT (EDNS version 0),
 * class IN.  A well-formed message that is anything else gives
 * DNSMSG_UNSUPPORTED, and <q> is still filled (id, flags, edns; the
 * question when QDCOUNT is 1, else qname "", qtype and qclass 0 and
 * question_end 12) so that the caller can answer NOTIMP (opcode != 0) or
 * REFUSED.  The caller must not answer when the QR bit is set in
 * q->flags: replying to a response lets two servers ping-pong forever, and
 * dnsmsg_build_reply() refuses to.
 *
 * DNSMSG_MALFORMED: drop it.  Besides broken framing (see dnsmsg.c), a
 * question name with a byte outside [A-Za-z0-9_-] in a label is
 * malformed: only host names are filtered, and "a.b" inside one label
 * would read like two labels once in presentation form.  A compression
 * pointer in the question is malformed too, as there is nothing before
 * it to point at.  <q> is written only on DNSMSG_OK and DNSMSG_UNSUPPORTED.
 */
enum dnsmsg_result dnsmsg_parse_query(const uint8_t *buf, size_t len,
		    struct dnsmsg_query *q);

/*
 * Writes to <out> a reply to the query <q> parsed from <req>[0..<reqlen>):
 * the same id, QR=1, opcode, RD and CD copied, RA=1, AA=0, <rcode> (0..15;
 * NOERROR here means an empty answer), the question bytes of <req> echoed
 * exactly (case included: DNS 0x20 clients check it), and an OPT RR with
 * payload DNSMSG_EDNS_SIZE and no options iff the query had one.  Returns
 * the length, or 0 when <outsz> is too small, <rcode> is out of range, <q>
 * does not fit <req>, or <q> is itself a response.
 */
size_t		 dnsmsg_build_reply(const struct dnsmsg_query *q,
		    const uint8_t *req, size_t reqlen, int rcode, uint8_t *out,
		    size_t outsz);

struct dnsmsg_addr {
	uint8_t	 family;		/* 4 or 6 */
	uint8_t	 addr[16];		/* network order; 4 bytes used for 4 */
	uint32_t ttl;			/* seconds; >= 2^31 is read as 0 */
};

/*
 * Parses the upstream response in <buf>[0..<len>) to the query <q>: QR=1,
 * opcode QUERY, id <expect_id>, exactly one question equal (names compared
 * case-insensitively) to q->qname, q->qtype, q->qclass.  Anything else is
 * DNSMSG_MALFORMED: it is not the answer to this query.
 *
 * When the rcode is NOERROR, follows the CNAME chain from q->qname through
 * the answer section (at most 16 hops; a loop ends it; of an owner's
 * several CNAMEs the first counts; only the answer's first 64 CNAMEs are
 * looked at, which bounds the work) and collects the class IN A and AAAA
 * records owned by a name on the chain, in message order: up to <max> go
 * to <out>, and *<n> gets how many did.  *<min_ttl> is the smallest TTL
 * over the CNAMEs followed and the addresses stored, 0 if none.  With any
 * other rcode nothing is collected (the client will not use addresses
 * from a failed answer either).  *<rcode> gets the rcode, extended by the
 * OPT RR's upper bits when there is one.  Outputs are written only on
 * DNSMSG_OK.  TC=1 is not looked at: the caller retries over TCP.
 */
enum dnsmsg_result dnsmsg_parse_answers(const uint8_t *buf, size_t len,
		    const struct dnsmsg_query *q, uint16_t expect_id,
		    struct dnsmsg_addr *out, size_t max, size_t *n, int *rcode,
		    uint32_t *min_ttl);

/* Rewrites the id of the message in <buf> in place; no-op when len < 2. */
void		 dnsmsg_set_id(uint8_t *buf, size_t len, uint16_t id);

/*
 * Writes a standard query (RD=1) for <qname>/<qtype>, class IN, with an
 * OPT RR announcing <edns_size> when <edns>.  <qname> is a host name in
 * presentation form, labels of [A-Za-z0-9_-], one trailing dot allowed,
 * "" or "." for the root; it is written as given (case kept).  Returns
 * the length, or 0 when the name is not acceptable or <outsz> too small.
 */
size_t		 dnsmsg_build_query(uint16_t id, const char *qname,
		    uint16_t qtype, bool edns, uint16_t edns_size, uint8_t *out,
		    size_t outsz);

const char	*dnsmsg_result_str(enum dnsmsg_result r);

/* Mnemonic of an RR type ("A", "HTTPS", ...), or NULL when unknown. */
const char	*dnsmsg_type_str(uint16_t qtype);

#endif /* EGRESS_DNSMSG_H */
