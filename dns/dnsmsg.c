/*
 * dns/dnsmsg.c - DNS message parsing and building for the DNS filter.
 *
 * Both parsers first walk the whole message once (msg_walk): header, every
 * question, every counted RR, and nothing after the last one.  Only when
 * that walk succeeds do they look at what the message means, so a decision
 * is never made on a message that a stub resolver or the upstream would
 * read differently.  The walk is strict where RFC 1035 leaves room:
 *
 *  - a compression pointer must point backwards, to an earlier byte than
 *    itself, and past the header; with at most 64 pointers per name this
 *    also ends every loop (a chain of backward pointers cannot cycle, the
 *    cap bounds the work a chain of pointers-to-pointers can cause);
 *  - label types 0x40 and 0x80 (RFC 6891 section 5, RFC 2673) are refused;
 *  - a name is at most 255 bytes uncompressed, final 0 included;
 *  - class IN A is exactly 4 bytes, AAAA 16, a CNAME's name fills its
 *    RDATA exactly, an OPT lies in additional with the root as owner, at
 *    most once, its options exactly filling RDATA.
 *
 * Names are compared in uncompressed wire form with ASCII letters
 * lowercased: unlike presentation form, this is unambiguous whatever
 * bytes a label holds.  Every read goes through a cursor that checks the
 * remaining length first.
 */
#include "dns/dnsmsg.h"

#include <string.h>

#define DNS_HDR_LEN	12
#define DNS_MSG_MAX	65535
#define DNS_WIRE_MAX	255	/* uncompressed name, final 0 included */
#define DNS_LABEL_MAX	63
#define DNS_PTR_HOPS	64	/* pointers followed in one name, at most */
#define DNS_CNAME_HOPS	16	/* CNAMEs followed from the qname */
#define DNS_CNAME_SCAN	64	/* CNAMEs of an answer looked at */
#define DNS_QUESTION_FIXED 4	/* type, class */
#define DNS_RR_FIXED	10	/* type, class, ttl, rdlength */
#define DNS_OPT_LEN	(1 + DNS_RR_FIXED) /* root owner, no options */
#define DNS_TTL_MAX	0x7fffffffu	/* RFC 2181 section 8 */

#define F_OPCODE_MASK	0x7800
#define F_RA		0x0080
#define F_CD		0x0010
#define F_RCODE_MASK	0x000f

enum section {
	SEC_ANSWER,
	SEC_AUTHORITY,
	SEC_ADDITIONAL
};

/*
 * Cursor over a message.  Names may point anywhere before themselves in
 * <buf>, so the cursor keeps the whole message; <end> bounds the container
 * being read (the message, or one RR's RDATA).
 */
struct cur {
	const uint8_t	*buf;
	size_t		 off;		/* next byte to read */
	size_t		 end;		/* end of this container */
};

/* A name as read: uncompressed wire form, ASCII lowercased. */
struct name {
	uint8_t		 wire[DNS_WIRE_MAX];
	size_t		 len;
};

struct rr {
	struct name	 owner;
	uint16_t	 type;
	uint16_t	 class;
	uint32_t	 ttl;		/* as sent */
	size_t		 rdoff;		/* RDATA offset in the message */
	size_t		 rdlen;
};

/* A class IN CNAME of the answer section, by offsets in the message. */
struct cname {
	size_t		 owner;		/* its owner name */
	size_t		 rdoff;		/* its RDATA: the target name */
	size_t		 rdend;
	uint32_t	 ttl;		/* as sent */
};

/* What the walk of a whole message learnt. */
struct msg {
	uint16_t	 id;
	uint16_t	 flags;
	uint16_t	 qdcount, ancount, nscount, arcount;
	struct name	 qname;		/* first question, if any */
	uint16_t	 qtype, qclass;
	size_t		 question_end;	/* past the first question, or 12 */
	size_t		 an_off;	/* where the answer section starts */
	bool		 opt;		/* an OPT RR was in additional */
	uint16_t	 opt_class;	/* its payload size */
	uint32_t	 opt_ttl;	/* its extended rcode, version, flags */
	bool		 ar_other;	/* some other RR was in additional */
};

static int	cur_u16(struct cur *, uint16_t *);
static int	cur_u32(struct cur *, uint32_t *);
static int	cur_skip(struct cur *, size_t);
static int	cur_name(struct cur *, struct name *);
static int	name_eq(const struct name *, const struct name *);
static int	name_text(const struct name *, char *, size_t);
static int	name_from_text(const char *, bool, struct name *);
static int	opt_options_ok(const uint8_t *, size_t, size_t);
static int	rr_read(struct cur *, enum section, struct rr *);
static enum dnsmsg_result msg_walk(const uint8_t *, size_t, struct msg *);
static size_t	cname_scan(const uint8_t *, size_t, const struct msg *,
		    struct cname *);
static int	cname_next(const uint8_t *, const struct cname *, size_t,
		    const struct name *, struct name *, uint32_t *);
static uint32_t	ttl_norm(uint32_t);
static void	put16(uint8_t *, uint16_t);
static size_t	put_opt(uint8_t *, uint16_t);

static int
cur_u16(struct cur *c, uint16_t *v)
{
	if (c->end - c->off < 2)
		return -1;
	*v = (uint16_t)(c->buf[c->off] << 8 | c->buf[c->off + 1]);
	c->off += 2;
	return 0;
}

static int
cur_u32(struct cur *c, uint32_t *v)
{
	const uint8_t	*p;

	if (c->end - c->off < 4)
		return -1;
	p = c->buf + c->off;
	*v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
	c->off += 4;
	return 0;
}

static int
cur_skip(struct cur *c, size_t n)
{
	if (c->end - c->off < n)
		return -1;
	c->off += n;
	return 0;
}

/*
 * Reads the name at the cursor into <nm>, following compression pointers,
 * and leaves the cursor just past the name as it lies there (its first
 * pointer ends it).  Every byte read, jumped to or not, lies below
 * c->end: a pointer points below itself, and labels run forward from
 * there, within the same container.
 */
static int
cur_name(struct cur *c, struct name *nm)
{
	size_t		 pos = c->off, after = 0, hops = 0, to;
	uint8_t		 b, k, ch;

	nm->len = 0;
	for (;;) {
		if (pos >= c->end)
			return -1;
		b = c->buf[pos];
		switch (b & 0xc0) {
		case 0x00:
			if (b == 0) {
				/* Room for it was kept by the label check. */
				nm->wire[nm->len++] = 0;
				c->off = hops == 0 ? pos + 1 : after;
				return 0;
			}
			/* Keep a byte for the final 0. */
			if (c->end - pos - 1 < b ||
			    nm->len + 1 + b + 1 > DNS_WIRE_MAX)
				return -1;
			nm->wire[nm->len++] = b;
			for (k = 0; k < b; k++) {
				ch = c->buf[pos + 1 + k];
				if (ch >= 'A' && ch <= 'Z')
					ch += 'a' - 'A';
				nm->wire[nm->len++] = ch;
			}
			pos += 1 + (size_t)b;
			break;
		case 0xc0:
			if (c->end - pos < 2)
				return -1;
			to = (size_t)(b & 0x3f) << 8 | c->buf[pos + 1];
			/* Backwards only; no name starts in the header. */
			if (to >= pos || to < DNS_HDR_LEN ||
			    ++hops > DNS_PTR_HOPS)
				return -1;
			if (hops == 1)
				after = pos + 2;
			pos = to;
			break;
		default:
			/* 0x40 extended (RFC 6891), 0x80 reserved. */
			return -1;
		}
	}
}

static int
name_eq(const struct name *a, const struct name *b)
{
	return a->len == b->len && memcmp(a->wire, b->wire, a->len) == 0;
}

/*
 * Presentation form of a question name, or -1 when a label holds anything
 * but [a-z0-9_-] (the name is already lowercased).  The longest name, 255
 * bytes on the wire, is 253 characters: it always fits DNSMSG_NAME_MAX.
 */
static int
name_text(const struct name *nm, char *out, size_t outsz)
{
	size_t		 i = 0, o = 0, k, n;
	uint8_t		 ch;

	while (i < nm->len && nm->wire[i] != 0) {
		n = nm->wire[i++];
		if (o > 0)
			out[o++] = '.';
		for (k = 0; k < n; k++) {
			ch = nm->wire[i + k];
			if (!((ch >= 'a' && ch <= 'z') ||
			    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
				return -1;
			if (o + 1 >= outsz)
				return -1;
			out[o++] = (char)ch;
		}
		i += n;
	}
	out[o] = '\0';
	return 0;
}

/*
 * Wire form of host name <s> (see dnsmsg_build_query for what is
 * accepted), lowercased when <lower>.
 */
static int
name_from_text(const char *s, bool lower, struct name *nm)
{
	size_t		 n, k;
	uint8_t		 ch;

	nm->len = 0;
	if (s[0] == '.' && s[1] == '\0')
		s++;
	while (*s != '\0') {
		for (n = 0; s[n] != '\0' && s[n] != '.'; n++) {
			ch = (uint8_t)s[n];
			if (n >= DNS_LABEL_MAX ||
			    !((ch >= 'a' && ch <= 'z') ||
			    (ch >= 'A' && ch <= 'Z') ||
			    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
				return -1;
		}
		/* No empty label; a full label and the final 0 must fit. */
		if (n == 0 || nm->len + 1 + n + 1 > DNS_WIRE_MAX)
			return -1;
		nm->wire[nm->len++] = (uint8_t)n;
		for (k = 0; k < n; k++) {
			ch = (uint8_t)s[k];
			if (lower && ch >= 'A' && ch <= 'Z')
				ch += 'a' - 'A';
			nm->wire[nm->len++] = ch;
		}
		s += n;
		if (*s == '.')
			s++;
	}
	nm->wire[nm->len++] = 0;
	return 0;
}

/* RFC 6891 section 6.1.2: {code, length, data} until RDATA ends exactly. */
static int
opt_options_ok(const uint8_t *buf, size_t off, size_t end)
{
	struct cur	 c = { buf, off, end };
	uint16_t	 code, olen;

	while (c.off < c.end) {
		if (cur_u16(&c, &code) == -1 || cur_u16(&c, &olen) == -1 ||
		    cur_skip(&c, olen) == -1)
			return -1;
	}
	return 0;
}

/*
 * Reads one RR and checks the RDATA of the types egressd reads or that
 * RFCs pin down; other RDATA is opaque and only needs to fit.
 */
static int
rr_read(struct cur *c, enum section sec, struct rr *rr)
{
	struct cur	 rd;
	struct name	 target;
	uint16_t	 rdlen;

	if (cur_name(c, &rr->owner) == -1 || cur_u16(c, &rr->type) == -1 ||
	    cur_u16(c, &rr->class) == -1 || cur_u32(c, &rr->ttl) == -1 ||
	    cur_u16(c, &rdlen) == -1)
		return -1;
	rr->rdoff = c->off;
	rr->rdlen = rdlen;
	if (cur_skip(c, rdlen) == -1)
		return -1;
	switch (rr->type) {
	case DNSMSG_TYPE_A:
		if (rr->class == DNSMSG_CLASS_IN && rdlen != 4)
			return -1;
		break;
	case DNSMSG_TYPE_AAAA:
		if (rr->class == DNSMSG_CLASS_IN && rdlen != 16)
			return -1;
		break;
	case DNSMSG_TYPE_CNAME:
		rd.buf = c->buf;
		rd.off = rr->rdoff;
		rd.end = rr->rdoff + rdlen;
		if (cur_name(&rd, &target) == -1 || rd.off != rd.end)
			return -1;
		break;
	case DNSMSG_TYPE_OPT:
		/* RFC 6891 section 6.1.1: additional only, owned by root. */
		if (sec != SEC_ADDITIONAL || rr->owner.len != 1 ||
		    opt_options_ok(c->buf, rr->rdoff, rr->rdoff + rdlen) == -1)
			return -1;
		break;
	default:
		break;
	}
	return 0;
}

/*
 * Walks the whole message and fills <m>.  DNSMSG_OK means well-formed
 * only; what it is (query, response, ...) is for the caller to judge.
 */
static enum dnsmsg_result
msg_walk(const uint8_t *buf, size_t len, struct msg *m)
{
	struct cur	 c = { buf, 0, len };
	struct rr	 rr;
	struct name	 nm;
	uint16_t	 type, class;
	size_t		 i;
	unsigned	 s, count[3];

	if (len < DNS_HDR_LEN || len > DNS_MSG_MAX)
		return DNSMSG_MALFORMED;
	memset(m, 0, sizeof(*m));
	if (cur_u16(&c, &m->id) == -1 || cur_u16(&c, &m->flags) == -1 ||
	    cur_u16(&c, &m->qdcount) == -1 || cur_u16(&c, &m->ancount) == -1 ||
	    cur_u16(&c, &m->nscount) == -1 || cur_u16(&c, &m->arcount) == -1)
		return DNSMSG_MALFORMED;
	m->question_end = DNS_HDR_LEN;

	for (i = 0; i < m->qdcount; i++) {
		if (cur_name(&c, &nm) == -1 || cur_u16(&c, &type) == -1 ||
		    cur_u16(&c, &class) == -1)
			return DNSMSG_MALFORMED;
		if (i == 0) {
			m->qname = nm;
			m->qtype = type;
			m->qclass = class;
			m->question_end = c.off;
		}
	}

	m->an_off = c.off;
	count[SEC_ANSWER] = m->ancount;
	count[SEC_AUTHORITY] = m->nscount;
	count[SEC_ADDITIONAL] = m->arcount;
	for (s = SEC_ANSWER; s <= SEC_ADDITIONAL; s++) {
		for (i = 0; i < count[s]; i++) {
			if (rr_read(&c, (enum section)s, &rr) == -1)
				return DNSMSG_MALFORMED;
			if (s != SEC_ADDITIONAL)
				continue;
			if (rr.type != DNSMSG_TYPE_OPT) {
				m->ar_other = true;
				continue;
			}
			/* RFC 6891 section 6.1.1: two OPTs is FORMERR. */
			if (m->opt)
				return DNSMSG_MALFORMED;
			m->opt = true;
			m->opt_class = rr.class;
			m->opt_ttl = rr.ttl;
		}
	}
	/* Bytes no count accounts for are bytes a peer may read otherwise. */
	if (c.off != len)
		return DNSMSG_MALFORMED;
	return DNSMSG_OK;
}

enum dnsmsg_result
dnsmsg_parse_query(const uint8_t *buf, size_t len, struct dnsmsg_query *q)
{
	struct dnsmsg_query out;
	struct msg	 m;
	bool		 plain;

	if (msg_walk(buf, len, &m) != DNSMSG_OK)
		return DNSMSG_MALFORMED;
	memset(&out, 0, sizeof(out));
	out.id = m.id;
	out.flags = m.flags;
	out.edns = m.opt;
	out.edns_size = m.opt_class;
	out.question_end = DNS_HDR_LEN;
	if (m.qdcount == 1) {
		if (name_text(&m.qname, out.qname, sizeof(out.qname)) == -1)
			return DNSMSG_MALFORMED;
		out.qtype = m.qtype;
		out.qclass = m.qclass;
		out.question_end = m.question_end;
	}

	/* The EDNS version is the second byte of the OPT's TTL. */
	plain = (m.flags & DNSMSG_F_QR) == 0 &&
	    DNSMSG_F_OPCODE(m.flags) == 0 && m.qdcount == 1 &&
	    m.ancount == 0 && m.nscount == 0 && m.arcount <= 1 &&
	    !m.ar_other && m.qclass == DNSMSG_CLASS_IN &&
	    (!m.opt || (m.opt_ttl >> 16 & 0xff) == 0);
	*q = out;
	return plain ? DNSMSG_OK : DNSMSG_UNSUPPORTED;
}

/*
 * Notes the first DNS_CNAME_SCAN class IN CNAMEs of the answer section, in
 * message order, so that following the chain costs one pass over the
 * message and not one per hop.  Over TCP a response may hold thousands of
 * RRs, each owner up to 64 pointers deep: 17 passes over that would let a
 * hostile upstream stall the event loop for a tenth of a second.  No real
 * resolver puts more CNAMEs than that in one answer.
 */
static size_t
cname_scan(const uint8_t *buf, size_t len, const struct msg *m,
    struct cname *cn)
{
	struct cur	 c = { buf, m->an_off, len };
	struct rr	 rr;
	size_t		 i, k = 0, start;

	for (i = 0; i < m->ancount && k < DNS_CNAME_SCAN; i++) {
		start = c.off;
		if (rr_read(&c, SEC_ANSWER, &rr) == -1)
			break;		/* the walk vetted it: cannot be */
		if (rr.type != DNSMSG_TYPE_CNAME ||
		    rr.class != DNSMSG_CLASS_IN)
			continue;
		cn[k].owner = start;
		cn[k].rdoff = rr.rdoff;
		cn[k].rdend = rr.rdoff + rr.rdlen;
		cn[k].ttl = rr.ttl;
		k++;
	}
	return k;
}

/*
 * The first noted CNAME owned by <from>: its target goes to <to> and its
 * TTL to *<ttl>.  Returns 0 if there is one.
 */
static int
cname_next(const uint8_t *buf, const struct cname *cn, size_t ncn,
    const struct name *from, struct name *to, uint32_t *ttl)
{
	struct name	 owner;
	struct cur	 c;
	size_t		 k;

	for (k = 0; k < ncn; k++) {
		/* The owner lies before the RDATA, which bounds it. */
		c.buf = buf;
		c.off = cn[k].owner;
		c.end = cn[k].rdoff;
		if (cur_name(&c, &owner) == -1)
			return -1;
		if (!name_eq(&owner, from))
			continue;
		c.off = cn[k].rdoff;
		c.end = cn[k].rdend;
		if (cur_name(&c, to) == -1)
			return -1;
		*ttl = cn[k].ttl;
		return 0;
	}
	return -1;
}

static uint32_t
ttl_norm(uint32_t ttl)
{
	/* RFC 2181 section 8: a set top bit means zero. */
	return ttl > DNS_TTL_MAX ? 0 : ttl;
}

enum dnsmsg_result
dnsmsg_parse_answers(const uint8_t *buf, size_t len,
    const struct dnsmsg_query *q, uint16_t expect_id, struct dnsmsg_addr *out,
    size_t max, size_t *n, int *rcode, uint32_t *min_ttl)
{
	struct name	 chain[DNS_CNAME_HOPS + 1];
	struct cname	 cn[DNS_CNAME_SCAN];
	struct msg	 m;
	struct cur	 c;
	struct rr	 rr;
	size_t		 ncn, nchain, i, j, got = 0;
	uint32_t	 ttl, lo = 0;
	bool		 used = false;
	int		 rc;

	if (msg_walk(buf, len, &m) != DNSMSG_OK)
		return DNSMSG_MALFORMED;
	if ((m.flags & DNSMSG_F_QR) == 0 || DNSMSG_F_OPCODE(m.flags) != 0 ||
	    m.id != expect_id || m.qdcount != 1)
		return DNSMSG_MALFORMED;
	/* Resolvers may echo the case they were sent (DNS 0x20). */
	if (name_from_text(q->qname, true, &chain[0]) == -1 ||
	    !name_eq(&chain[0], &m.qname) || m.qtype != q->qtype ||
	    m.qclass != q->qclass)
		return DNSMSG_MALFORMED;
	rc = m.flags & F_RCODE_MASK;
	if (m.opt)
		rc |= (int)(m.opt_ttl >> 24) << 4;	/* RFC 6891 6.1.3 */

	if (rc == DNSMSG_RCODE_NOERROR) {
		ncn = cname_scan(buf, len, &m, cn);
		nchain = 1;
		while (nchain <= DNS_CNAME_HOPS &&
		    cname_next(buf, cn, ncn, &chain[nchain - 1],
		    &chain[nchain], &ttl) == 0) {
			for (j = 0; j < nchain; j++)
				if (name_eq(&chain[j], &chain[nchain]))
					break;
			/* A loop: every name on it is on the chain already. */
			if (j < nchain)
				break;
			ttl = ttl_norm(ttl);
			lo = used && lo < ttl ? lo : ttl;
			used = true;
			nchain++;
		}

		c.buf = buf;
		c.off = m.an_off;
		c.end = len;
		for (i = 0; i < m.ancount && got < max; i++) {
			/* The walk vetted it: cannot fail. */
			if (rr_read(&c, SEC_ANSWER, &rr) == -1)
				return DNSMSG_MALFORMED;
			if (rr.class != DNSMSG_CLASS_IN ||
			    (rr.type != DNSMSG_TYPE_A &&
			    rr.type != DNSMSG_TYPE_AAAA))
				continue;
			for (j = 0; j < nchain; j++)
				if (name_eq(&chain[j], &rr.owner))
					break;
			if (j == nchain)
				continue;
			memset(&out[got], 0, sizeof(out[got]));
			out[got].family = rr.type == DNSMSG_TYPE_A ? 4 : 6;
			memcpy(out[got].addr, buf + rr.rdoff, rr.rdlen);
			ttl = ttl_norm(rr.ttl);
			out[got].ttl = ttl;
			lo = used && lo < ttl ? lo : ttl;
			used = true;
			got++;
		}
	}
	*n = got;
	*rcode = rc;
	*min_ttl = lo;
	return DNSMSG_OK;
}

void
dnsmsg_set_id(uint8_t *buf, size_t len, uint16_t id)
{
	if (len >= 2)
		put16(buf, id);
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* An OPT RR with no options: EDNS version 0, no DO, extended rcode 0. */
static size_t
put_opt(uint8_t *p, uint16_t size)
{
	p[0] = 0;				/* owner: the root */
	put16(p + 1, DNSMSG_TYPE_OPT);
	put16(p + 3, size);			/* class: payload size */
	memset(p + 5, 0, 4);			/* ttl */
	put16(p + 9, 0);			/* rdlength */
	return DNS_OPT_LEN;
}

size_t
dnsmsg_build_reply(const struct dnsmsg_query *q, const uint8_t *req,
    size_t reqlen, int rcode, uint8_t *out, size_t outsz)
{
	size_t		 qlen, need;
	uint16_t	 flags;

	/* Never answer a response: two servers would ping-pong forever. */
	if (rcode < 0 || rcode > F_RCODE_MASK || (q->flags & DNSMSG_F_QR) ||
	    q->question_end < DNS_HDR_LEN || q->question_end > reqlen)
		return 0;
	qlen = q->question_end - DNS_HDR_LEN;
	need = DNS_HDR_LEN + qlen + (q->edns ? DNS_OPT_LEN : 0);
	if (need > outsz)
		return 0;
	/* RFC 4035 section 3.1.6 wants CD copied; AA, TC and AD stay 0. */
	flags = (uint16_t)(DNSMSG_F_QR |
	    (q->flags & (F_OPCODE_MASK | DNSMSG_F_RD | F_CD)) | F_RA | rcode);
	/* The question first: <out> may be <req> itself. */
	memmove(out + DNS_HDR_LEN, req + DNS_HDR_LEN, qlen);
	put16(out, q->id);
	put16(out + 2, flags);
	put16(out + 4, qlen > 0 ? 1 : 0);
	put16(out + 6, 0);
	put16(out + 8, 0);
	put16(out + 10, q->edns ? 1 : 0);
	if (q->edns)
		put_opt(out + DNS_HDR_LEN + qlen, DNSMSG_EDNS_SIZE);
	return need;
}

size_t
dnsmsg_build_query(uint16_t id, const char *qname, uint16_t qtype, bool edns,
    uint16_t edns_size, uint8_t *out, size_t outsz)
{
	struct name	 nm;
	size_t		 need, off;

	if (name_from_text(qname, false, &nm) == -1)
		return 0;
	need = DNS_HDR_LEN + nm.len + DNS_QUESTION_FIXED +
	    (edns ? DNS_OPT_LEN : 0);
	if (need > outsz)
		return 0;
	put16(out, id);
	put16(out + 2, DNSMSG_F_RD);
	put16(out + 4, 1);
	put16(out + 6, 0);
	put16(out + 8, 0);
	put16(out + 10, edns ? 1 : 0);
	off = DNS_HDR_LEN;
	memcpy(out + off, nm.wire, nm.len);
	off += nm.len;
	put16(out + off, qtype);
	put16(out + off + 2, DNSMSG_CLASS_IN);
	off += DNS_QUESTION_FIXED;
	if (edns)
		off += put_opt(out + off, edns_size);
	return off;
}

const char *
dnsmsg_result_str(enum dnsmsg_result r)
{
	switch (r) {
	case DNSMSG_OK:
		return "ok";
	case DNSMSG_MALFORMED:
		return "malformed";
	case DNSMSG_UNSUPPORTED:
		return "unsupported";
	}
	return "invalid";
}

const char *
dnsmsg_type_str(uint16_t qtype)
{
	/* A table, not a switch: the type space is open-ended. */
	static const struct {
		uint16_t	 type;
		const char	*name;
	} types[] = {
		{ 1, "A" },       { 2, "NS" },      { 5, "CNAME" },
		{ 6, "SOA" },     { 10, "NULL" },   { 12, "PTR" },
		{ 13, "HINFO" },  { 15, "MX" },     { 16, "TXT" },
		{ 28, "AAAA" },   { 33, "SRV" },    { 35, "NAPTR" },
		{ 39, "DNAME" },  { 41, "OPT" },    { 43, "DS" },
		{ 46, "RRSIG" },  { 47, "NSEC" },   { 48, "DNSKEY" },
		{ 50, "NSEC3" },  { 52, "TLSA" },   { 64, "SVCB" },
		{ 65, "HTTPS" },  { 99, "SPF" },    { 251, "IXFR" },
		{ 252, "AXFR" },  { 255, "ANY" },   { 257, "CAA" },
	};
	size_t		 i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].type == qtype)
			return types[i].name;
	return NULL;
}
