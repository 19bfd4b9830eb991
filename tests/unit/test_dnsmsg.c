/*
 * tests/unit/test_dnsmsg.c - dns/dnsmsg.c against real-shaped and broken
 * DNS messages.
 *
 * Fixtures are written in a small assembler (as_build below) rather than
 * as raw arrays, so that each field can be read and a pointer names what
 * it points at instead of a hand-counted offset:
 *
 *	0123abcd	bytes, in hex, in order (an even number of digits)
 *	<www.a.com>	a name: labels and the final 0; <> is the root
 *	(www)		labels without the final 0 (a pointer follows)
 *	=63:61		byte 0x61, 63 times
 *	@q		mark this offset as "q"
 *	^q  ^12		a compression pointer to mark q, or to offset 12
 *	[ ... ]		a 16-bit length, then what it counts (RDLENGTH)
 *
 * Marks may be used before they are defined (two passes), so a forward
 * pointer is as easy to write as a backward one.  Every parse gets a heap
 * copy of exactly <len> bytes, so ASan and valgrind see any read past it.
 */
#include "dns/dnsmsg.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "tests/common/refname.h"

#define MSG_CAP		(65536 + 64)
#define ADDR_MAX	16

/* ---- the fixture assembler ------------------------------------------- */

struct as_mark {
	char		 name[16];
	size_t		 off;
};

struct as {
	uint8_t		*out;
	size_t		 len;
	int		 pass;		/* 0 finds marks, 1 emits */
	struct as_mark	 marks[160];
	size_t		 nmarks;
	size_t		 open[8];	/* offsets of pending [ lengths */
	size_t		 depth;
};

static void
as_byte(struct as *a, unsigned v)
{
	ck_assert_uint_lt(a->len, MSG_CAP);
	a->out[a->len++] = (uint8_t)v;
}

static const char *
as_ident(const char *s, char *name)
{
	size_t	n = 0;

	while (isalnum((unsigned char)*s) || *s == '_') {
		ck_assert_uint_lt(n, 15);
		name[n++] = *s++;
	}
	name[n] = '\0';
	ck_assert_uint_gt(n, 0);
	return s;
}

/* Labels of <s>[0..<n>), dot-separated, each length-prefixed. */
static void
as_labels(struct as *a, const char *s, size_t n)
{
	size_t	i = 0, k;

	while (i < n) {
		for (k = i; k < n && s[k] != '.'; k++)
			;
		ck_assert_uint_gt(k - i, 0);
		ck_assert_uint_le(k - i, 63);
		as_byte(a, (unsigned)(k - i));
		for (; i < k; i++)
			as_byte(a, (unsigned char)s[i]);
		if (i < n)
			i++;
	}
}

static void
as_pass(struct as *a, const char *s)
{
	char		 name[16];
	const char	*e;
	size_t		 i, off;
	unsigned long	 n, v;

	a->len = 0;
	a->depth = 0;
	while (*s != '\0') {
		if (isspace((unsigned char)*s)) {
			s++;
		} else if (isxdigit((unsigned char)*s)) {
			for (e = s; isxdigit((unsigned char)*e); e++)
				;
			ck_assert_msg((e - s) % 2 == 0, "odd hex at '%s'", s);
			for (; s < e; s += 2) {
				sscanf(s, "%2lx", &v);
				as_byte(a, (unsigned)v);
			}
		} else if (*s == '<' || *s == '(') {
			e = strchr(s, *s == '<' ? '>' : ')');
			ck_assert_ptr_nonnull(e);
			as_labels(a, s + 1, (size_t)(e - s - 1));
			if (*s == '<')
				as_byte(a, 0);
			s = e + 1;
		} else if (*s == '=') {
			n = strtoul(s + 1, (char **)&e, 10);
			ck_assert(*e == ':');
			v = strtoul(e + 1, (char **)&s, 16);
			while (n-- > 0)
				as_byte(a, (unsigned)v);
		} else if (*s == '@') {
			s = as_ident(s + 1, name);
			if (a->pass == 0) {
				ck_assert_uint_lt(a->nmarks, nitems(a->marks));
				strcpy(a->marks[a->nmarks].name, name);
				a->marks[a->nmarks++].off = a->len;
			}
		} else if (*s == '^') {
			if (isdigit((unsigned char)s[1])) {
				off = strtoul(s + 1, (char **)&s, 10);
			} else {
				s = as_ident(s + 1, name);
				for (i = 0; i < a->nmarks; i++)
					if (strcmp(a->marks[i].name, name) == 0)
						break;
				ck_assert_msg(a->pass == 0 || i < a->nmarks,
				    "no mark %s", name);
				off = i < a->nmarks ? a->marks[i].off : 0;
			}
			ck_assert_uint_lt(off, 0x4000);
			as_byte(a, 0xc0 | (unsigned)(off >> 8));
			as_byte(a, (unsigned)(off & 0xff));
		} else if (*s == '[') {
			ck_assert_uint_lt(a->depth, nitems(a->open));
			a->open[a->depth++] = a->len;
			as_byte(a, 0);
			as_byte(a, 0);
			s++;
		} else if (*s == ']') {
			ck_assert_uint_gt(a->depth, 0);
			off = a->open[--a->depth];
			n = a->len - off - 2;
			a->out[off] = (uint8_t)(n >> 8);
			a->out[off + 1] = (uint8_t)n;
			s++;
		} else
			ck_abort_msg("bad fixture text at '%s'", s);
	}
	ck_assert_uint_eq(a->depth, 0);
}

/* Assembles <src> into a fresh heap buffer of MSG_CAP bytes. */
static uint8_t *
as_build(const char *src, size_t *len)
{
	static struct as a;

	memset(&a, 0, sizeof(a));
	a.out = malloc(MSG_CAP);
	ck_assert_ptr_nonnull(a.out);
	as_pass(&a, src);
	a.pass = 1;
	as_pass(&a, src);
	*len = a.len;
	return a.out;
}

/* An exact-size copy, so that a read past <len> is a heap overflow. */
static uint8_t *
exact(const uint8_t *p, size_t len)
{
	uint8_t	*c = malloc(len > 0 ? len : 1);

	ck_assert_ptr_nonnull(c);
	memcpy(c, p, len);
	return c;
}

static enum dnsmsg_result
query_once(const uint8_t *p, size_t len, struct dnsmsg_query *q)
{
	enum dnsmsg_result r;
	uint8_t		*c = exact(p, len);

	r = dnsmsg_parse_query(c, len, q);
	free(c);
	return r;
}

static enum dnsmsg_result
answers_once(const uint8_t *p, size_t len, const struct dnsmsg_query *q,
    uint16_t id, struct dnsmsg_addr *out, size_t max, size_t *n, int *rcode,
    uint32_t *min_ttl)
{
	enum dnsmsg_result r;
	uint8_t		*c = exact(p, len);

	r = dnsmsg_parse_answers(c, len, q, id, out, max, n, rcode, min_ttl);
	free(c);
	return r;
}

/* A parsed qname: lowercase labels, no trailing dot (or "" for the root). */
static void
qname_valid(const char *s)
{
	ck_assert_msg(ref_qname(s), "not a qname: \"%.*s\"",
	    (int)DNSMSG_NAME_MAX, s);
}

/* ---- queries ---------------------------------------------------------- */

#define OPT_1232	" <> 0029 04d0 00000000 [ ]"
#define COOKIE		" <> 0029 04d0 00000000 [ 000a [ 0123456789abcdef ] ]"

struct qcase {
	const char	*name;
	const char	*msg;
	enum dnsmsg_result want;
	const char	*qname;		/* when not MALFORMED */
	uint16_t	 qtype;
	bool		 edns;
	uint16_t	 edns_size;
};

static const struct qcase qcases[] = {
	/* dig +noedns www.example.com: RD. */
	{ "a_noedns",
	  "b1c2 0100 0001 0000 0000 0000"
	  " <www.example.com> 0001 0001",
	  DNSMSG_OK, "www.example.com", 1, false, 0 },
	/* dig 9.18 AAAA: RD AD, OPT 1232 with a client cookie. */
	{ "aaaa_cookie",
	  "3f21 0120 0001 0000 0000 0001"
	  " <example.org> 001c 0001" COOKIE,
	  DNSMSG_OK, "example.org", 28, true, 1232 },
	/* A browser's HTTPS query: OPT 512 with padding (option 12). */
	{ "https_padding",
	  "0000 0100 0001 0000 0000 0001"
	  " <www.google.com> 0041 0001"
	  " <> 0029 0200 00000000 [ 000c [ =20:00 ] ]",
	  DNSMSG_OK, "www.google.com", 65, true, 512 },
	/* Upper case comes out lower; '_' is a host name byte here. */
	{ "txt_case",
	  "0001 0100 0001 0000 0000 0000"
	  " <_dmarc.Example.COM> 0010 0001",
	  DNSMSG_OK, "_dmarc.example.com", 16, false, 0 },
	{ "any",
	  "0002 0100 0001 0000 0000 0001"
	  " <xn--bcher-kva.example.net> 00ff 0001" OPT_1232,
	  DNSMSG_OK, "xn--bcher-kva.example.net", 255, true, 1232 },
	{ "root_ns",
	  "0003 0000 0001 0000 0000 0000 <> 0002 0001",
	  DNSMSG_OK, "", 2, false, 0 },
	/* DO bit and a small payload size: both as sent. */
	{ "do_bit",
	  "0004 0100 0001 0000 0000 0001"
	  " <a.b> 0001 0001 <> 0029 0100 00008000 [ ]",
	  DNSMSG_OK, "a.b", 1, true, 256 },
	/* The longest name: 63+63+63+61 label bytes, 255 on the wire. */
	{ "name_255",
	  "0005 0100 0001 0000 0000 0000"
	  " 3f =63:61 3f =63:62 3f =63:63 3d =61:64 00 0001 0001",
	  DNSMSG_OK, NULL, 1, false, 0 },

	/* Well-formed, but not a plain query. */
	{ "qr_set",
	  "0006 8180 0001 0000 0000 0000 <a.example> 0001 0001",
	  DNSMSG_UNSUPPORTED, "a.example", 1, false, 0 },
	{ "notify",
	  "0007 2400 0001 0000 0000 0000 <example.com> 0006 0001",
	  DNSMSG_UNSUPPORTED, "example.com", 6, false, 0 },
	{ "status_noq",
	  "0008 1000 0000 0000 0000 0000",
	  DNSMSG_UNSUPPORTED, "", 0, false, 0 },
	{ "qd0",
	  "0009 0100 0000 0000 0000 0001" OPT_1232,
	  DNSMSG_UNSUPPORTED, "", 0, true, 1232 },
	/* The second question may point at the first. */
	{ "qd2",
	  "000a 0100 0002 0000 0000 0000"
	  " @q <a.example> 0001 0001 ^q 001c 0001",
	  DNSMSG_UNSUPPORTED, "", 0, false, 0 },
	{ "an1",
	  "000b 0100 0001 0001 0000 0000"
	  " @q <a.example> 0001 0001 ^q 0001 0001 0000003c [ c0000201 ]",
	  DNSMSG_UNSUPPORTED, "a.example", 1, false, 0 },
	{ "ns1",
	  "000c 0100 0001 0000 0001 0000"
	  " @q <a.example> 0001 0001 ^q 0002 0001 0000003c [ <ns.a.example> ]",
	  DNSMSG_UNSUPPORTED, "a.example", 1, false, 0 },
	/* A TSIG-shaped RR in additional. */
	{ "ar_tsig",
	  "000d 0100 0001 0000 0000 0001"
	  " @q <a.example> 0001 0001 <key> 00fa 00ff 00000000 [ 0102 ]",
	  DNSMSG_UNSUPPORTED, "a.example", 1, false, 0 },
	{ "ar_opt_and_other",
	  "000e 0100 0001 0000 0000 0002"
	  " @q <a.example> 0001 0001" OPT_1232
	  " ^q 0010 0001 00000000 [ 03616263 ]",
	  DNSMSG_UNSUPPORTED, "a.example", 1, true, 1232 },
	{ "chaos",
	  "000f 0000 0001 0000 0000 0000 <version.bind> 0010 0003",
	  DNSMSG_UNSUPPORTED, "version.bind", 16, false, 0 },
	{ "edns_v1",
	  "0010 0100 0001 0000 0000 0001"
	  " <a.example> 0001 0001 <> 0029 04d0 00010000 [ ]",
	  DNSMSG_UNSUPPORTED, "a.example", 1, true, 1232 },

	/* Broken. */
	{ "short_header",	"0011 0100 0001 0000 0000 00",
	  DNSMSG_MALFORMED, NULL, 0, false, 0 },
	{ "q_ptr_self",
	  "0012 0100 0001 0000 0000 0000 ^12 0001 0001",
	  DNSMSG_MALFORMED, NULL, 0, false, 0 },
	{ "q_ptr_header",
	  "0013 0100 0001 0000 0000 0000 ^4 0001 0001",
	  DNSMSG_MALFORMED, NULL, 0, false, 0 },
	{ "q_ptr_forward",
	  "0014 0100 0001 0000 0000 0000 ^f 0001 0001 @f <a.b>",
	  DNSMSG_MALFORMED, NULL, 0, false, 0 },
	/* Backwards, but into the name itself: it would never end. */
	{ "q_ptr_loop",
	  "0015 0100 0001 0000 0000 0000 (www) ^12 0001 0001",
	  DNSMSG_MALFORMED, NULL, 0, false, 0 },
	{ "label_64",
	  "0016 0100 0001 0000 0000 0000 40 =64:61 00 0001 0001",
	  DNSMSG_MALFORMED, NULL, 0, false, 0 },
	{ "label_0x80",
	  "0017 0100 0001 0000 0000 0000 81 61 00 0001 0001",
	  DNSMSG_MALFORMED, NULL, 0, false, 0 },
	/* One byte more than name_255. */
	{ "name_256",
	  "0018 0100 0001 0000 0000 0000"
	  " 3f =63:61 3f =63:62 3f =63:63 3e =62:64 00 0001 0001",
	  DNSMSG_MALFORMED, NULL, 0, false, 0 },
	{ "space",
	  "0019 0100 0001 0000 0000 0000 03 612062 00 0001 0001",
	  DNSMSG_MALFORMED, NULL, 0, false, 0 },
	{ "dot_in_label",
	  "001a 0100 0001 0000 0000 0000 03 612e62 <com> 0001 0001",
	  DNSMSG_MALFORMED, NULL, 0, false, 0 },
	{ "nul_in_label",
	  "001b 0100 0001 0000 0000 0000 03 610062 00 0001 0001",
	  DNSMSG_MALFORMED, NULL, 0, false, 0 },
	{ "non_ascii",
	  "001c 0100 0001 0000 0000 0000 05 62c3bc6368 <de> 0001 0001",
	  DNSMSG_MALFORMED, NULL, 0, false, 0 },
	{ "trailing_byte",
	  "001d 0100 0001 0000 0000 0000 <a.b> 0001 0001 00",
	  DNSMSG_MALFORMED, NULL, 0, false, 0 },
	{ "qd_overclaims",
	  "001e 0100 0002 0000 0000 0000 <a.b> 0001 0001",
	  DNSMSG_MALFORMED, NULL, 0, false, 0 },
	{ "ar_overclaims",
	  "001f 0100 0001 0000 0000 0001 <a.b> 0001 0001",
	  DNSMSG_MALFORMED, NULL, 0, false, 0 },
	{ "counts_ffff",
	  "0020 0100 ffff ffff ffff ffff <a.b> 0001 0001",
	  DNSMSG_MALFORMED, NULL, 0, false, 0 },
	{ "opt_owner",
	  "0021 0100 0001 0000 0000 0001 <a.b> 0001 0001"
	  " <x> 0029 04d0 00000000 [ ]",
	  DNSMSG_MALFORMED, NULL, 0, false, 0 },
	{ "opt_twice",
	  "0022 0100 0001 0000 0000 0002 <a.b> 0001 0001" OPT_1232 OPT_1232,
	  DNSMSG_MALFORMED, NULL, 0, false, 0 },
	{ "opt_option_overrun",
	  "0023 0100 0001 0000 0000 0001 <a.b> 0001 0001"
	  " <> 0029 04d0 00000000 [ 000a 0008 01020304 ]",
	  DNSMSG_MALFORMED, NULL, 0, false, 0 },
	{ "opt_option_partial",
	  "0024 0100 0001 0000 0000 0001 <a.b> 0001 0001"
	  " <> 0029 04d0 00000000 [ 000a ]",
	  DNSMSG_MALFORMED, NULL, 0, false, 0 },
	{ "opt_in_answer",
	  "0025 0100 0001 0001 0000 0000 <a.b> 0001 0001" OPT_1232,
	  DNSMSG_MALFORMED, NULL, 0, false, 0 },
	{ "an_a_len5",
	  "0026 0100 0001 0001 0000 0000"
	  " @q <a.b> 0001 0001 ^q 0001 0001 00000000 [ c000020100 ]",
	  DNSMSG_MALFORMED, NULL, 0, false, 0 },
	{ "rdlen_overrun",
	  "0027 0100 0001 0000 0000 0001 <a.b> 0001 0001"
	  " <> 0029 04d0 00000000 0004 000a",
	  DNSMSG_MALFORMED, NULL, 0, false, 0 },
	{ "name_unterminated",
	  "0028 0100 0001 0000 0000 0000 (a.b)",
	  DNSMSG_MALFORMED, NULL, 0, false, 0 },
	{ "header_only_qd1",
	  "0029 0100 0001 0000 0000 0000",
	  DNSMSG_MALFORMED, NULL, 0, false, 0 },
};

START_TEST(test_query)
{
	const struct qcase *c = &qcases[_i];
	struct dnsmsg_query q, ref;
	uint8_t		*buf;
	size_t		 len;

	buf = as_build(c->msg, &len);
	memset(&q, 0x5a, sizeof(q));
	memcpy(&ref, &q, sizeof(q));
	ck_assert_msg(query_once(buf, len, &q) == c->want, "%s: %s", c->name,
	    dnsmsg_result_str(query_once(buf, len, &q)));
	if (c->want == DNSMSG_MALFORMED) {
		/* Written only when the message was well-formed. */
		ck_assert_mem_eq(&q, &ref, sizeof(q));
		free(buf);
		return;
	}
	ck_assert_uint_eq(q.id, (unsigned)(buf[0] << 8 | buf[1]));
	ck_assert_uint_eq(q.flags, (unsigned)(buf[2] << 8 | buf[3]));
	if (c->qname != NULL)
		ck_assert_str_eq(q.qname, c->qname);
	qname_valid(q.qname);
	ck_assert_uint_eq(q.qtype, c->qtype);
	ck_assert_int_eq(q.edns, c->edns);
	if (c->edns)
		ck_assert_uint_eq(q.edns_size, c->edns_size);
	ck_assert_uint_le(q.question_end, len);
	if (buf[4] == 0 && buf[5] == 1) {
		ck_assert_uint_eq(q.question_end,
		    12 + strlen(q.qname) + (q.qname[0] != '\0') + 1 + 4);
	} else {
		ck_assert_uint_eq(q.question_end, 12);
		ck_assert_uint_eq(q.qtype, 0);
		ck_assert_uint_eq(q.qclass, 0);
	}
	free(buf);
}
END_TEST

/* The longest name comes out whole: 253 characters. */
START_TEST(test_query_name_255)
{
	struct dnsmsg_query q;
	uint8_t		*buf;
	size_t		 len;
	char		 want[254];

	buf = as_build(qcases[7].msg, &len);
	ck_assert_str_eq(qcases[7].name, "name_255");
	ck_assert_int_eq(query_once(buf, len, &q), DNSMSG_OK);
	memset(want, 'a', 63);
	want[63] = '.';
	memset(want + 64, 'b', 63);
	want[127] = '.';
	memset(want + 128, 'c', 63);
	want[191] = '.';
	memset(want + 192, 'd', 61);
	want[253] = '\0';
	ck_assert_str_eq(q.qname, want);
	free(buf);
}
END_TEST

START_TEST(test_query_too_long)
{
	struct dnsmsg_query q;
	uint8_t		*buf;
	size_t		 len;

	/* A valid query padded by an OPT option to just over 65535. */
	buf = as_build("0001 0100 0001 0000 0000 0001 <a.b> 0001 0001"
	    " <> 0029 04d0 00000000 [ 000c [ =65500:00 ] ]", &len);
	ck_assert_uint_eq(len, 65536);
	ck_assert_int_eq(query_once(buf, len, &q), DNSMSG_MALFORMED);
	/* One padding byte less fits. */
	free(buf);
	buf = as_build("0001 0100 0001 0000 0000 0001 <a.b> 0001 0001"
	    " <> 0029 04d0 00000000 [ 000c [ =65499:00 ] ]", &len);
	ck_assert_uint_eq(len, 65535);
	ck_assert_int_eq(query_once(buf, len, &q), DNSMSG_OK);
	free(buf);
}
END_TEST

/* ---- responses -------------------------------------------------------- */

/* The question "a.example.com" A IN at offset 12, with marks q and e. */
#define Q_A	" @q (a) @e <example.com> 0001 0001"

struct acase {
	const char	*name;
	const char	*msg;
	const char	*qname;
	uint16_t	 qtype;
	uint16_t	 id;
	enum dnsmsg_result want;
	int		 rcode;
	size_t		 max;
	const char	*addrs;		/* "addr/ttl ..." in order */
	uint32_t	 min_ttl;
};

static const struct acase acases[] = {
	/* Two A records, owners compressed to the question. */
	{ "a_two",
	  "b1c2 8180 0001 0002 0000 0000"
	  " @q <www.example.com> 0001 0001"
	  " ^q 0001 0001 0000012c [ c0000201 ]"
	  " ^q 0001 0001 00000e10 [ c0000202 ]",
	  "www.example.com", 1, 0xb1c2, DNSMSG_OK, 0, ADDR_MAX,
	  "192.0.2.1/300 192.0.2.2/3600", 300 },
	/* dig 9.18 shape: RD RA AD, OPT echoed with a server cookie. */
	{ "aaaa_opt",
	  "3f21 81a0 0001 0001 0000 0001"
	  " @q <example.org> 001c 0001"
	  " ^q 001c 0001 00000e10 [ 20010db8000000000000000000000001 ]"
	  " <> 0029 04d0 00000000 [ 000a [ 0123456789abcdef"
	  "   0100000065f0a1b2c3d4e5f6a7b8c9d0 ] ]",
	  "example.org", 28, 0x3f21, DNSMSG_OK, 0, ADDR_MAX,
	  "2001:db8::1/3600", 3600 },
	/* a -> b -> c, A for c; x.example.com must not be collected. */
	{ "cname_chain",
	  "0a0a 8180 0001 0004 0000 0000" Q_A
	  " ^q 0005 0001 0000012c [ @b (b) ^e ]"
	  " ^b 0005 0001 00000078 [ @c (c) ^e ]"
	  " ^c 0001 0001 00000258 [ c0000201 ]"
	  " (x) ^e 0001 0001 0000003c [ c6336401 ]",
	  "a.example.com", 1, 0x0a0a, DNSMSG_OK, 0, ADDR_MAX,
	  "192.0.2.1/600", 120 },
	/* The same chain, records in reverse order; uncompressed names. */
	{ "cname_chain_reversed",
	  "0a0b 8180 0001 0004 0000 0000" Q_A
	  " (x) ^e 0001 0001 0000003c [ c6336401 ]"
	  " <c.example.com> 0001 0001 00000258 [ c0000201 ]"
	  " <b.example.com> 0005 0001 00000078 [ <c.example.com> ]"
	  " <A.Example.COM> 0005 0001 0000012c [ <B.EXAMPLE.com> ]",
	  "a.example.com", 1, 0x0a0b, DNSMSG_OK, 0, ADDR_MAX,
	  "192.0.2.1/600", 120 },
	/* A and AAAA both end up on the chain: both are collected. */
	{ "cname_mixed_families",
	  "0a0c 8180 0001 0003 0000 0000" Q_A
	  " ^q 0005 0001 0000012c [ @c <cdn.example.net> ]"
	  " ^c 001c 0001 0000001e [ 20010db8000000000000000000000002 ]"
	  " ^c 0001 0001 00000014 [ c0000203 ]",
	  "a.example.com", 1, 0x0a0c, DNSMSG_OK, 0, ADDR_MAX,
	  "2001:db8::2/30 192.0.2.3/20", 20 },
	/* Two CNAMEs for one owner: the first counts. */
	{ "cname_duplicate",
	  "0a0d 8180 0001 0004 0000 0000" Q_A
	  " ^q 0005 0001 0000012c [ @b (b) ^e ]"
	  " ^q 0005 0001 0000012c [ @x (x) ^e ]"
	  " ^x 0001 0001 0000003c [ c6336401 ]"
	  " ^b 0001 0001 0000003c [ c0000201 ]",
	  "a.example.com", 1, 0x0a0d, DNSMSG_OK, 0, ADDR_MAX,
	  "192.0.2.1/60", 60 },
	/* a -> b -> a: ends, and b's address is on the chain. */
	{ "cname_loop",
	  "0a0e 8180 0001 0003 0000 0000" Q_A
	  " ^q 0005 0001 0000012c [ @b (b) ^e ]"
	  " ^b 0005 0001 0000000a [ ^q ]"
	  " ^b 0001 0001 0000003c [ c0000201 ]",
	  "a.example.com", 1, 0x0a0e, DNSMSG_OK, 0, ADDR_MAX,
	  "192.0.2.1/60", 60 },
	{ "cname_self",
	  "0a0f 8180 0001 0001 0000 0000" Q_A
	  " ^q 0005 0001 0000012c [ ^q ]",
	  "a.example.com", 1, 0x0a0f, DNSMSG_OK, 0, ADDR_MAX, "", 0 },
	{ "nxdomain_soa",
	  "0b01 8183 0001 0000 0001 0000" Q_A
	  " ^e 0006 0001 00000384 [ (ns) ^e (hostmaster) ^e"
	  "   78a1b2c3 00001c20 00000e10 00093a80 00000384 ]",
	  "a.example.com", 1, 0x0b01, DNSMSG_OK, 3, ADDR_MAX, "", 0 },
	/* Addresses in a failed answer are not collected. */
	{ "nxdomain_with_a",
	  "0b02 8183 0001 0001 0000 0000" Q_A
	  " ^q 0001 0001 0000003c [ c0000201 ]",
	  "a.example.com", 1, 0x0b02, DNSMSG_OK, 3, ADDR_MAX, "", 0 },
	{ "servfail",
	  "0b03 8182 0001 0000 0000 0000" Q_A,
	  "a.example.com", 1, 0x0b03, DNSMSG_OK, 2, ADDR_MAX, "", 0 },
	/* BADVERS: extended rcode 1 in the OPT, 4-bit rcode 0. */
	{ "badvers",
	  "0b04 8180 0001 0000 0000 0001" Q_A
	  " <> 0029 04d0 01000000 [ ]",
	  "a.example.com", 1, 0x0b04, DNSMSG_OK, 16, ADDR_MAX, "", 0 },
	/* HTTPS: priority 1, target ".", alpn h2 h3, ipv4hint. */
	{ "https_svcb",
	  "0c01 8180 0001 0001 0000 0000"
	  " @q <www.example.com> 0041 0001"
	  " ^q 0041 0001 0000012c [ 0001 00 0001 [ 026832 026833 ]"
	  "   0004 [ c0000201 ] ]",
	  "www.example.com", 65, 0x0c01, DNSMSG_OK, 0, ADDR_MAX, "", 0 },
	/* DNS 0x20: the echo keeps the case the resolver sent. */
	{ "case_echo",
	  "0c02 8180 0001 0001 0000 0000"
	  " @q <wWw.ExAmPlE.cOm> 0001 0001"
	  " ^q 0001 0001 0000012c [ c0000201 ]",
	  "www.example.com", 1, 0x0c02, DNSMSG_OK, 0, ADDR_MAX,
	  "192.0.2.1/300", 300 },
	{ "max_1",
	  "0c03 8180 0001 0002 0000 0000" Q_A
	  " ^q 0001 0001 0000012c [ c0000201 ]"
	  " ^q 0001 0001 0000000a [ c0000202 ]",
	  "a.example.com", 1, 0x0c03, DNSMSG_OK, 0, 1,
	  "192.0.2.1/300", 300 },
	{ "max_0",
	  "0c04 8180 0001 0001 0000 0000" Q_A
	  " ^q 0001 0001 0000012c [ c0000201 ]",
	  "a.example.com", 1, 0x0c04, DNSMSG_OK, 0, 0, "", 0 },
	/* RFC 2181 section 8: a TTL with the top bit set is 0. */
	{ "ttl_top_bit",
	  "0c05 8180 0001 0002 0000 0000" Q_A
	  " ^q 0001 0001 80000000 [ c0000201 ]"
	  " ^q 0001 0001 7fffffff [ c0000202 ]",
	  "a.example.com", 1, 0x0c05, DNSMSG_OK, 0, ADDR_MAX,
	  "192.0.2.1/0 192.0.2.2/2147483647", 0 },
	/* Class CH A is opaque (and not collected); so is a NULL RR. */
	{ "other_class_and_null",
	  "0c06 8180 0001 0002 0000 0001" Q_A
	  " ^q 0001 0003 0000003c [ 0102030405 ]"
	  " ^q 0001 0001 0000003c [ c0000201 ]"
	  " ^q 000a 0001 00000000 [ ]",
	  "a.example.com", 1, 0x0c06, DNSMSG_OK, 0, ADDR_MAX,
	  "192.0.2.1/60", 60 },
	/* A response with an authority and additional glue. */
	{ "referral_glue",
	  "0c07 8180 0001 0001 0001 0001" Q_A
	  " ^q 0001 0001 0000003c [ c0000201 ]"
	  " ^e 0002 0001 0002a300 [ @n (ns1) ^e ]"
	  " ^n 0001 0001 0002a300 [ c0000235 ]",
	  "a.example.com", 1, 0x0c07, DNSMSG_OK, 0, ADDR_MAX,
	  "192.0.2.1/60", 60 },

	/* Not a response to this query. */
	{ "id_mismatch",
	  "0d01 8180 0001 0001 0000 0000" Q_A
	  " ^q 0001 0001 0000003c [ c0000201 ]",
	  "a.example.com", 1, 0x0d02, DNSMSG_MALFORMED, 0, ADDR_MAX, "", 0 },
	{ "qname_mismatch",
	  "0d02 8180 0001 0001 0000 0000"
	  " @q <b.example.com> 0001 0001 ^q 0001 0001 0000003c [ c0000201 ]",
	  "a.example.com", 1, 0x0d02, DNSMSG_MALFORMED, 0, ADDR_MAX, "", 0 },
	{ "qname_suffix",
	  "0d03 8180 0001 0000 0000 0000 <example.com> 0001 0001",
	  "a.example.com", 1, 0x0d03, DNSMSG_MALFORMED, 0, ADDR_MAX, "", 0 },
	{ "qtype_mismatch",
	  "0d04 8180 0001 0000 0000 0000 @q (a) @e <example.com> 001c 0001",
	  "a.example.com", 1, 0x0d04, DNSMSG_MALFORMED, 0, ADDR_MAX, "", 0 },
	{ "qclass_mismatch",
	  "0d05 8180 0001 0000 0000 0000 @q (a) @e <example.com> 0001 0003",
	  "a.example.com", 1, 0x0d05, DNSMSG_MALFORMED, 0, ADDR_MAX, "", 0 },
	{ "qr_clear",
	  "0d06 0180 0001 0000 0000 0000" Q_A,
	  "a.example.com", 1, 0x0d06, DNSMSG_MALFORMED, 0, ADDR_MAX, "", 0 },
	{ "opcode_notify",
	  "0d07 a180 0001 0000 0000 0000" Q_A,
	  "a.example.com", 1, 0x0d07, DNSMSG_MALFORMED, 0, ADDR_MAX, "", 0 },
	{ "no_question",
	  "0d08 8185 0000 0000 0000 0000",
	  "a.example.com", 1, 0x0d08, DNSMSG_MALFORMED, 0, ADDR_MAX, "", 0 },
	{ "two_questions",
	  "0d09 8180 0002 0000 0000 0000" Q_A " ^q 0001 0001",
	  "a.example.com", 1, 0x0d09, DNSMSG_MALFORMED, 0, ADDR_MAX, "", 0 },

	/* Broken. */
	{ "a_rdlen_5",
	  "0e01 8180 0001 0001 0000 0000" Q_A
	  " ^q 0001 0001 0000003c [ c000020100 ]",
	  "a.example.com", 1, 0x0e01, DNSMSG_MALFORMED, 0, ADDR_MAX, "", 0 },
	{ "aaaa_rdlen_4",
	  "0e02 8180 0001 0001 0000 0000" Q_A
	  " ^q 001c 0001 0000003c [ c0000201 ]",
	  "a.example.com", 1, 0x0e02, DNSMSG_MALFORMED, 0, ADDR_MAX, "", 0 },
	{ "rdlen_past_end",
	  "0e03 8180 0001 0001 0000 0000" Q_A
	  " ^q 0001 0001 0000003c 0004 c000",
	  "a.example.com", 1, 0x0e03, DNSMSG_MALFORMED, 0, ADDR_MAX, "", 0 },
	{ "an_overclaims",
	  "0e04 8180 0001 0003 0000 0000" Q_A
	  " ^q 0001 0001 0000003c [ c0000201 ]"
	  " ^q 0001 0001 0000003c [ c0000202 ]",
	  "a.example.com", 1, 0x0e04, DNSMSG_MALFORMED, 0, ADDR_MAX, "", 0 },
	{ "trailing_byte",
	  "0e05 8180 0001 0001 0000 0000" Q_A
	  " ^q 0001 0001 0000003c [ c0000201 ] 00",
	  "a.example.com", 1, 0x0e05, DNSMSG_MALFORMED, 0, ADDR_MAX, "", 0 },
	{ "ptr_self",
	  "0e06 8180 0001 0001 0000 0000" Q_A
	  " @p ^p 0001 0001 0000003c [ c0000201 ]",
	  "a.example.com", 1, 0x0e06, DNSMSG_MALFORMED, 0, ADDR_MAX, "", 0 },
	/* n points back at m, which points forward at n. */
	{ "ptr_mutual",
	  "0e07 8180 0001 0002 0000 0000" Q_A
	  " ^q 000a 0001 00000000 [ @n ^m ]"
	  " @m ^n 0001 0001 0000003c [ c0000201 ]",
	  "a.example.com", 1, 0x0e07, DNSMSG_MALFORMED, 0, ADDR_MAX, "", 0 },
	{ "ptr_forward",
	  "0e08 8180 0001 0002 0000 0000" Q_A
	  " ^f 0001 0001 0000003c [ c0000201 ]"
	  " @f ^q 0001 0001 0000003c [ c0000202 ]",
	  "a.example.com", 1, 0x0e08, DNSMSG_MALFORMED, 0, ADDR_MAX, "", 0 },
	{ "ptr_header",
	  "0e09 8180 0001 0001 0000 0000" Q_A
	  " ^2 0001 0001 0000003c [ c0000201 ]",
	  "a.example.com", 1, 0x0e09, DNSMSG_MALFORMED, 0, ADDR_MAX, "", 0 },
	{ "label_0x40",
	  "0e0a 8180 0001 0001 0000 0000" Q_A
	  " 41 00 ^q 0001 0001 0000003c [ c0000201 ]",
	  "a.example.com", 1, 0x0e0a, DNSMSG_MALFORMED, 0, ADDR_MAX, "", 0 },
	/* 3 * 64 + 61 label bytes before the 15 of the question: > 255. */
	{ "name_long_via_ptr",
	  "0e0b 8180 0001 0001 0000 0000" Q_A
	  " 3f =63:61 3f =63:62 3f =63:63 3c =60:64 ^q"
	  " 0001 0001 0000003c [ c0000201 ]",
	  "a.example.com", 1, 0x0e0b, DNSMSG_MALFORMED, 0, ADDR_MAX, "", 0 },
	{ "cname_rdata_trailing",
	  "0e0c 8180 0001 0001 0000 0000" Q_A
	  " ^q 0005 0001 0000003c [ (b) ^e 00 ]",
	  "a.example.com", 1, 0x0e0c, DNSMSG_MALFORMED, 0, ADDR_MAX, "", 0 },
	{ "cname_rdata_short",
	  "0e0d 8180 0001 0002 0000 0000" Q_A
	  " ^q 0005 0001 0000003c 0003 (b) ^e"
	  " ^q 0001 0001 0000003c [ c0000201 ]",
	  "a.example.com", 1, 0x0e0d, DNSMSG_MALFORMED, 0, ADDR_MAX, "", 0 },
	{ "opt_in_authority",
	  "0e0e 8180 0001 0000 0001 0000" Q_A OPT_1232,
	  "a.example.com", 1, 0x0e0e, DNSMSG_MALFORMED, 0, ADDR_MAX, "", 0 },
};

static struct dnsmsg_query
query_for(const char *qname, uint16_t qtype)
{
	struct dnsmsg_query q;

	memset(&q, 0, sizeof(q));
	ck_assert_uint_lt(strlen(qname), sizeof(q.qname));
	strcpy(q.qname, qname);
	q.qtype = qtype;
	q.qclass = DNSMSG_CLASS_IN;
	return q;
}

/* Checks <got>[0..<n>) against "addr/ttl addr/ttl ...". */
static void
addrs_check(const char *name, const struct dnsmsg_addr *got, size_t n,
    const char *want)
{
	char		 copy[512], *tok, *save, *slash;
	uint8_t		 a[16];
	size_t		 i = 0;

	ck_assert_uint_lt(strlen(want), sizeof(copy));
	strcpy(copy, want);
	for (tok = strtok_r(copy, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save), i++) {
		slash = strchr(tok, '/');
		ck_assert_ptr_nonnull(slash);
		*slash = '\0';
		ck_assert_msg(i < n, "%s: only %zu addresses", name, n);
		if (strchr(tok, ':') != NULL) {
			ck_assert_int_eq(inet_pton(AF_INET6, tok, a), 1);
			ck_assert_uint_eq(got[i].family, 6);
			ck_assert_mem_eq(got[i].addr, a, 16);
		} else {
			ck_assert_int_eq(inet_pton(AF_INET, tok, a), 1);
			ck_assert_uint_eq(got[i].family, 4);
			ck_assert_mem_eq(got[i].addr, a, 4);
		}
		ck_assert_uint_eq(got[i].ttl, strtoul(slash + 1, NULL, 10));
	}
	ck_assert_msg(i == n, "%s: %zu addresses, want %zu", name, n, i);
}

START_TEST(test_answers)
{
	const struct acase *c = &acases[_i];
	struct dnsmsg_query q = query_for(c->qname, c->qtype);
	struct dnsmsg_addr out[ADDR_MAX + 1], ref[ADDR_MAX + 1];
	enum dnsmsg_result r;
	uint8_t		*buf;
	size_t		 len, n = 77;
	uint32_t	 min_ttl = 77;
	int		 rcode = 77;

	buf = as_build(c->msg, &len);
	memset(out, 0xa5, sizeof(out));
	memcpy(ref, out, sizeof(out));
	r = answers_once(buf, len, &q, c->id, out, c->max, &n, &rcode,
	    &min_ttl);
	ck_assert_msg(r == c->want, "%s: %s", c->name, dnsmsg_result_str(r));
	/* Nothing past <max> is touched, ever. */
	ck_assert_mem_eq(&out[c->max], &ref[c->max],
	    sizeof(out) - c->max * sizeof(out[0]));
	if (r != DNSMSG_OK) {
		ck_assert_mem_eq(out, ref, sizeof(out));
		ck_assert_uint_eq(n, 77);
		ck_assert_int_eq(rcode, 77);
		ck_assert_uint_eq(min_ttl, 77);
		free(buf);
		return;
	}
	ck_assert_int_eq(rcode, c->rcode);
	addrs_check(c->name, out, n, c->addrs);
	ck_assert_uint_eq(min_ttl, c->min_ttl);
	free(buf);
}
END_TEST

/* The question name from the fixture table, uppercased: same answer. */
START_TEST(test_answers_query_case)
{
	struct dnsmsg_query q = query_for("A.EXAMPLE.com", 1);
	struct dnsmsg_addr out[4];
	uint8_t		*buf;
	size_t		 len, n;
	uint32_t	 min_ttl;
	int		 rcode;

	buf = as_build(acases[2].msg, &len);
	ck_assert_int_eq(answers_once(buf, len, &q, 0x0a0a, out, 4, &n,
	    &rcode, &min_ttl), DNSMSG_OK);
	addrs_check("query_case", out, n, "192.0.2.1/600");
	/* A q that cannot be a question matches nothing. */
	strcpy(q.qname, "a..example.com");
	ck_assert_int_eq(answers_once(buf, len, &q, 0x0a0a, out, 4, &n,
	    &rcode, &min_ttl), DNSMSG_MALFORMED);
	free(buf);
}
END_TEST

/*
 * A chain of pointers to pointers, kept in a NULL RR's RDATA, ending at
 * the question: <hops> pointers are followed for the last RR's owner.
 */
static uint8_t *
hops_msg(int hops, size_t *len)
{
	char	 src[4096];
	size_t	 o;
	int	 k, last = hops - 2;

	o = (size_t)snprintf(src, sizeof(src),
	    "0f01 8180 0001 0002 0000 0000" Q_A " ^q 000a 0001 00000000 [");
	for (k = 0; k <= last; k++)
		o += (size_t)snprintf(src + o, sizeof(src) - o,
		    k == 0 ? " @p%d ^q" : " @p%d ^p%d", k, k - 1);
	snprintf(src + o, sizeof(src) - o,
	    " ] ^p%d 0001 0001 0000003c [ c0000201 ]", last);
	return as_build(src, len);
}

START_TEST(test_ptr_hops)
{
	struct dnsmsg_query q = query_for("a.example.com", 1);
	struct dnsmsg_addr out[4];
	uint8_t		*buf;
	size_t		 len, n;
	uint32_t	 min_ttl;
	int		 rcode;

	buf = hops_msg(64, &len);
	ck_assert_int_eq(answers_once(buf, len, &q, 0x0f01, out, 4, &n,
	    &rcode, &min_ttl), DNSMSG_OK);
	addrs_check("hops_64", out, n, "192.0.2.1/60");
	free(buf);
	buf = hops_msg(65, &len);
	ck_assert_int_eq(answers_once(buf, len, &q, 0x0f01, out, 4, &n,
	    &rcode, &min_ttl), DNSMSG_MALFORMED);
	free(buf);
}
END_TEST

/* q -> h1 -> ... -> h<hops>, then an A record for h<hops>. */
static uint8_t *
cname_hops_msg(int hops, size_t *len)
{
	char	 src[8192];
	size_t	 o;
	int	 k;

	o = (size_t)snprintf(src, sizeof(src),
	    "0f02 8180 0001 %04x 0000 0000" Q_A, hops + 1);
	for (k = 1; k <= hops; k++) {
		if (k == 1)
			o += (size_t)snprintf(src + o, sizeof(src) - o, " ^q");
		else
			o += (size_t)snprintf(src + o, sizeof(src) - o,
			    " ^h%d", k - 1);
		o += (size_t)snprintf(src + o, sizeof(src) - o,
		    " 0005 0001 %08x [ @h%d (h%d) ^e ]",
		    k == 1 ? 1000 : 1000 + k, k, k);
	}
	snprintf(src + o, sizeof(src) - o,
	    " ^h%d 0001 0001 00000005 [ c0000201 ]", hops);
	return as_build(src, len);
}

START_TEST(test_cname_hops)
{
	struct dnsmsg_query q = query_for("a.example.com", 1);
	struct dnsmsg_addr out[4];
	uint8_t		*buf;
	size_t		 len, n;
	uint32_t	 min_ttl;
	int		 rcode;

	buf = cname_hops_msg(16, &len);
	ck_assert_int_eq(answers_once(buf, len, &q, 0x0f02, out, 4, &n,
	    &rcode, &min_ttl), DNSMSG_OK);
	addrs_check("cname_16", out, n, "192.0.2.1/5");
	ck_assert_uint_eq(min_ttl, 5);
	free(buf);
	/* One hop too many: the chain stops short of the address. */
	buf = cname_hops_msg(17, &len);
	ck_assert_int_eq(answers_once(buf, len, &q, 0x0f02, out, 4, &n,
	    &rcode, &min_ttl), DNSMSG_OK);
	ck_assert_uint_eq(n, 0);
	/* The 16 CNAMEs followed: TTLs 1000, 1002 .. 1016. */
	ck_assert_uint_eq(min_ttl, 1000);
	free(buf);
}
END_TEST

/* <junk> unrelated CNAMEs, then a -> b and an A record for b. */
static uint8_t *
cname_scan_msg(int junk, size_t *len)
{
	char	 src[8192];
	size_t	 o;
	int	 k;

	o = (size_t)snprintf(src, sizeof(src),
	    "0f03 8180 0001 %04x 0000 0000" Q_A, junk + 2);
	for (k = 0; k < junk; k++)
		o += (size_t)snprintf(src + o, sizeof(src) - o,
		    " (u%d) ^e 0005 0001 0000003c [ ^e ]", k);
	snprintf(src + o, sizeof(src) - o,
	    " ^q 0005 0001 0000012c [ @b (b) ^e ]"
	    " ^b 0001 0001 0000003c [ c0000201 ]");
	return as_build(src, len);
}

/* Only the first 64 CNAMEs of an answer are looked at. */
START_TEST(test_cname_scan_limit)
{
	struct dnsmsg_query q = query_for("a.example.com", 1);
	struct dnsmsg_addr out[4];
	uint8_t		*buf;
	size_t		 len, n;
	uint32_t	 min_ttl;
	int		 rcode;

	buf = cname_scan_msg(63, &len);
	ck_assert_int_eq(answers_once(buf, len, &q, 0x0f03, out, 4, &n,
	    &rcode, &min_ttl), DNSMSG_OK);
	addrs_check("scan_63", out, n, "192.0.2.1/60");
	free(buf);
	buf = cname_scan_msg(64, &len);
	ck_assert_int_eq(answers_once(buf, len, &q, 0x0f03, out, 4, &n,
	    &rcode, &min_ttl), DNSMSG_OK);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(min_ttl, 0);
	free(buf);
}
END_TEST

/* ---- every prefix, every bit ----------------------------------------- */

/* Fixtures that are well-formed: queries first, then responses. */
static size_t
good_count(void)
{
	size_t	i, n = 0;

	for (i = 0; i < nitems(qcases); i++)
		n += qcases[i].want != DNSMSG_MALFORMED;
	for (i = 0; i < nitems(acases); i++)
		n += acases[i].want == DNSMSG_OK;
	return n;
}

static uint8_t *
good_msg(size_t k, size_t *len, struct dnsmsg_query *q, uint16_t *id)
{
	size_t	i;

	for (i = 0; i < nitems(qcases); i++) {
		if (qcases[i].want == DNSMSG_MALFORMED || k-- > 0)
			continue;
		*q = query_for("a.example.com", 1);
		*id = 0;
		return as_build(qcases[i].msg, len);
	}
	for (i = 0; i < nitems(acases); i++) {
		if (acases[i].want != DNSMSG_OK || k-- > 0)
			continue;
		*q = query_for(acases[i].qname, acases[i].qtype);
		*id = acases[i].id;
		return as_build(acases[i].msg, len);
	}
	ck_abort_msg("no good fixture %zu", k);
	return NULL;
}

START_TEST(test_truncated)
{
	struct dnsmsg_query q, pq;
	struct dnsmsg_addr out[ADDR_MAX];
	uint8_t		*buf;
	size_t		 len, l, n;
	uint32_t	 min_ttl;
	uint16_t	 id;
	int		 rcode;

	buf = good_msg((size_t)_i, &len, &q, &id);
	for (l = 0; l < len; l++) {
		ck_assert_msg(query_once(buf, l, &pq) == DNSMSG_MALFORMED,
		    "fixture %d, prefix %zu of %zu", _i, l, len);
		ck_assert_msg(answers_once(buf, l, &q, id, out, ADDR_MAX, &n,
		    &rcode, &min_ttl) == DNSMSG_MALFORMED,
		    "fixture %d, prefix %zu of %zu", _i, l, len);
	}
	free(buf);
}
END_TEST

START_TEST(test_bitflips)
{
	struct dnsmsg_query q, pq;
	struct dnsmsg_addr out[ADDR_MAX];
	enum dnsmsg_result r;
	uint8_t		*buf, *c;
	size_t		 len, bit, n, i;
	uint32_t	 min_ttl;
	uint16_t	 id;
	int		 rcode;

	buf = good_msg((size_t)_i, &len, &q, &id);
	c = exact(buf, len);
	for (bit = 0; bit < len * 8; bit++) {
		memcpy(c, buf, len);
		c[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		r = dnsmsg_parse_query(c, len, &pq);
		if (r != DNSMSG_MALFORMED) {
			qname_valid(pq.qname);
			ck_assert_uint_le(pq.question_end, len);
		}
		r = dnsmsg_parse_answers(c, len, &q, id, out, ADDR_MAX, &n,
		    &rcode, &min_ttl);
		if (r == DNSMSG_OK) {
			ck_assert_uint_le(n, ADDR_MAX);
			ck_assert_int_le(rcode, 0xfff);
			for (i = 0; i < n; i++) {
				ck_assert(out[i].family == 4 ||
				    out[i].family == 6);
				ck_assert_uint_ge(out[i].ttl, min_ttl);
			}
		}
	}
	free(c);
	free(buf);
}
END_TEST

/* ---- building --------------------------------------------------------- */

static const int rcodes[] = { 0, 3, 4, 5 };

/* Plain queries from the table, by index among the OK ones. */
static uint8_t *
ok_query(size_t k, size_t *len)
{
	size_t	i;

	for (i = 0; i < nitems(qcases); i++)
		if (qcases[i].want == DNSMSG_OK && k-- == 0)
			return as_build(qcases[i].msg, len);
	ck_abort_msg("no OK query %zu", k);
	return NULL;
}

static size_t
ok_query_count(void)
{
	size_t	i, n = 0;

	for (i = 0; i < nitems(qcases); i++)
		n += qcases[i].want == DNSMSG_OK;
	return n;
}

START_TEST(test_build_reply)
{
	struct dnsmsg_query q, rq;
	struct dnsmsg_addr out[4];
	uint8_t		*req, rep[600], small[600];
	size_t		 reqlen, len, l, n;
	uint32_t	 min_ttl;
	uint16_t	 flags;
	int		 rcode, want = rcodes[_i % (int)nitems(rcodes)];

	req = ok_query((size_t)_i / nitems(rcodes), &reqlen);
	ck_assert_int_eq(query_once(req, reqlen, &q), DNSMSG_OK);
	len = dnsmsg_build_reply(&q, req, reqlen, want, rep, sizeof(rep));
	ck_assert_uint_eq(len, q.question_end + (q.edns ? 11 : 0));

	/* The header: id, QR, opcode and RD copied, RA, AA 0, rcode. */
	ck_assert_uint_eq(rep[0] << 8 | rep[1], q.id);
	flags = (uint16_t)(rep[2] << 8 | rep[3]);
	ck_assert_uint_eq(flags & 0x8000, 0x8000);
	ck_assert_uint_eq(flags & 0x7800, q.flags & 0x7800);
	ck_assert_uint_eq(flags & 0x0400, 0);
	ck_assert_uint_eq(flags & 0x0200, 0);
	ck_assert_uint_eq(flags & 0x0100, q.flags & 0x0100);
	ck_assert_uint_eq(flags & 0x0080, 0x0080);
	ck_assert_uint_eq(flags & 0x000f, (unsigned)want);
	ck_assert_mem_eq(rep + 4, "\0\1\0\0\0\0", 6);
	ck_assert_uint_eq(rep[10] << 8 | rep[11], q.edns ? 1 : 0);
	ck_assert_mem_eq(rep + 12, req + 12, q.question_end - 12);
	if (q.edns)
		ck_assert_mem_eq(rep + q.question_end,
		    "\0\0\x29\x04\xd0\0\0\0\0\0\0", 11);

	/* It parses back as the answer to <q>, with nothing in it. */
	ck_assert_int_eq(answers_once(rep, len, &q, q.id, out, 4, &n, &rcode,
	    &min_ttl), DNSMSG_OK);
	ck_assert_int_eq(rcode, want);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(min_ttl, 0);
	ck_assert_int_eq(query_once(rep, len, &rq), DNSMSG_UNSUPPORTED);
	ck_assert_uint_eq(rq.id, q.id);
	ck_assert_str_eq(rq.qname, q.qname);
	ck_assert_uint_eq(rq.qtype, q.qtype);

	/* Never a partial reply: too small is 0. */
	for (l = 0; l < len; l++)
		ck_assert_uint_eq(dnsmsg_build_reply(&q, req, reqlen, want,
		    small, l), 0);
	/* Built in place over the request. */
	memcpy(small, req, reqlen);
	ck_assert_uint_eq(dnsmsg_build_reply(&q, small, reqlen, want, small,
	    sizeof(small)), len);
	ck_assert_mem_eq(small, rep, len);
	free(req);
}
END_TEST

START_TEST(test_build_reply_refuses)
{
	struct dnsmsg_query q;
	uint8_t		*req, rep[600];
	size_t		 reqlen;

	/* A response is never answered. */
	req = as_build(qcases[8].msg, &reqlen);
	ck_assert_str_eq(qcases[8].name, "qr_set");
	ck_assert_int_eq(query_once(req, reqlen, &q), DNSMSG_UNSUPPORTED);
	ck_assert_uint_eq(dnsmsg_build_reply(&q, req, reqlen, 5, rep,
	    sizeof(rep)), 0);
	free(req);

	req = as_build(qcases[0].msg, &reqlen);
	ck_assert_int_eq(query_once(req, reqlen, &q), DNSMSG_OK);
	ck_assert_uint_eq(dnsmsg_build_reply(&q, req, reqlen, 16, rep,
	    sizeof(rep)), 0);
	ck_assert_uint_eq(dnsmsg_build_reply(&q, req, reqlen, -1, rep,
	    sizeof(rep)), 0);
	/* A <q> that does not fit <req>. */
	ck_assert_uint_eq(dnsmsg_build_reply(&q, req, q.question_end - 1, 5,
	    rep, sizeof(rep)), 0);
	q.question_end = 11;
	ck_assert_uint_eq(dnsmsg_build_reply(&q, req, reqlen, 5, rep,
	    sizeof(rep)), 0);
	free(req);
}
END_TEST

/* No question (opcode STATUS): NOTIMP with an empty question section. */
START_TEST(test_build_reply_noq)
{
	struct dnsmsg_query q;
	uint8_t		*req, rep[64];
	size_t		 reqlen, len;

	req = as_build(qcases[10].msg, &reqlen);
	ck_assert_str_eq(qcases[10].name, "status_noq");
	ck_assert_int_eq(query_once(req, reqlen, &q), DNSMSG_UNSUPPORTED);
	len = dnsmsg_build_reply(&q, req, reqlen, DNSMSG_RCODE_NOTIMP, rep,
	    sizeof(rep));
	ck_assert_uint_eq(len, 12);
	ck_assert_mem_eq(rep, "\0\x08\x90\x84\0\0\0\0\0\0\0\0", 12);
	free(req);
}
END_TEST

struct bqcase {
	const char	*in;
	bool		 ok;
	const char	*qname;		/* as parse_query gives it back */
};

static char name_253[254], name_253_dot[255], name_254[255], label_63[64],
	    label_64[65];

static const struct bqcase bqcases[] = {
	{ "www.example.com",	true,	"www.example.com" },
	{ "Example.ORG.",	true,	"example.org" },
	{ "",			true,	"" },
	{ ".",			true,	"" },
	{ "_443._tcp.x-y.z",	true,	"_443._tcp.x-y.z" },
	{ name_253,		true,	name_253 },
	{ name_253_dot,		true,	name_253 },
	{ label_63,		true,	label_63 },
	{ label_64,		false,	NULL },
	{ name_254,		false,	NULL },
	{ "a..b",		false,	NULL },
	{ ".a",			false,	NULL },
	{ "..",			false,	NULL },
	{ "a.b..",		false,	NULL },
	{ "a b",		false,	NULL },
	{ "a/b",		false,	NULL },
	{ "b\xc3\xbc" "cher.de", false,	NULL },
};

static void
names_init(void)
{
	/* 63.63.63.61: 253 characters, 255 bytes on the wire. */
	memset(name_253, 'x', 253);
	name_253[63] = name_253[127] = name_253[191] = '.';
	strcpy(name_253_dot, name_253);
	strcat(name_253_dot, ".");
	strcpy(name_254, name_253);
	name_254[252] = '.';
	name_254[253] = 'y';
	memset(label_63, 'l', 63);
	memset(label_64, 'l', 64);
}

START_TEST(test_build_query)
{
	const struct bqcase *c = &bqcases[_i / 2];
	struct dnsmsg_query q;
	uint8_t		 buf[600];
	size_t		 len, l;
	bool		 edns = _i % 2 == 1;

	len = dnsmsg_build_query(0x4242, c->in, DNSMSG_TYPE_AAAA, edns, 4096,
	    buf, sizeof(buf));
	if (!c->ok) {
		ck_assert_uint_eq(len, 0);
		return;
	}
	ck_assert_uint_gt(len, 0);
	ck_assert_int_eq(query_once(buf, len, &q), DNSMSG_OK);
	ck_assert_uint_eq(q.id, 0x4242);
	ck_assert_uint_eq(q.flags, 0x0100);
	ck_assert_str_eq(q.qname, c->qname);
	ck_assert_uint_eq(q.qtype, DNSMSG_TYPE_AAAA);
	ck_assert_uint_eq(q.qclass, DNSMSG_CLASS_IN);
	ck_assert_int_eq(q.edns, edns);
	if (edns)
		ck_assert_uint_eq(q.edns_size, 4096);
	ck_assert_uint_eq(len, q.question_end + (edns ? 11 : 0));
	for (l = 0; l < len; l++)
		ck_assert_uint_eq(dnsmsg_build_query(0x4242, c->in,
		    DNSMSG_TYPE_AAAA, edns, 4096, buf, l), 0);
}
END_TEST

/* Case is kept on the wire (the caller may want DNS 0x20). */
START_TEST(test_build_query_case)
{
	uint8_t		 buf[64];
	size_t		 len;

	len = dnsmsg_build_query(1, "Ab.C", 1, false, 0, buf, sizeof(buf));
	ck_assert_uint_eq(len, 12 + 6 + 4);
	ck_assert_mem_eq(buf, "\0\1\1\0\0\1\0\0\0\0\0\0\2Ab\1C\0\0\1\0\1",
	    len);
}
END_TEST

/* ---- small things ----------------------------------------------------- */

START_TEST(test_set_id)
{
	uint8_t	b[12] = { 0x12, 0x34, 0x81, 0x80 };

	dnsmsg_set_id(b, sizeof(b), 0xbeef);
	ck_assert_uint_eq(b[0], 0xbe);
	ck_assert_uint_eq(b[1], 0xef);
	ck_assert_uint_eq(b[2], 0x81);
	dnsmsg_set_id(b, 1, 0);
	ck_assert_uint_eq(b[0], 0xbe);
}
END_TEST

START_TEST(test_strings)
{
	ck_assert_str_eq(dnsmsg_result_str(DNSMSG_OK), "ok");
	ck_assert_str_eq(dnsmsg_result_str(DNSMSG_MALFORMED), "malformed");
	ck_assert_str_eq(dnsmsg_result_str(DNSMSG_UNSUPPORTED),
	    "unsupported");
	ck_assert_str_eq(dnsmsg_result_str((enum dnsmsg_result)99),
	    "invalid");
	ck_assert_str_eq(dnsmsg_type_str(DNSMSG_TYPE_A), "A");
	ck_assert_str_eq(dnsmsg_type_str(DNSMSG_TYPE_AAAA), "AAAA");
	ck_assert_str_eq(dnsmsg_type_str(DNSMSG_TYPE_CNAME), "CNAME");
	ck_assert_str_eq(dnsmsg_type_str(DNSMSG_TYPE_HTTPS), "HTTPS");
	ck_assert_str_eq(dnsmsg_type_str(DNSMSG_TYPE_SVCB), "SVCB");
	ck_assert_str_eq(dnsmsg_type_str(DNSMSG_TYPE_TXT), "TXT");
	ck_assert_str_eq(dnsmsg_type_str(DNSMSG_TYPE_NULL), "NULL");
	ck_assert_str_eq(dnsmsg_type_str(DNSMSG_TYPE_ANY), "ANY");
	ck_assert_str_eq(dnsmsg_type_str(DNSMSG_TYPE_MX), "MX");
	ck_assert_str_eq(dnsmsg_type_str(DNSMSG_TYPE_OPT), "OPT");
	ck_assert_ptr_null(dnsmsg_type_str(0));
	ck_assert_ptr_null(dnsmsg_type_str(65280));
}
END_TEST

static Suite *
dnsmsg_suite(void)
{
	Suite	*s = suite_create("dnsmsg");
	TCase	*tc;
	int	 ngood = (int)good_count();

	names_init();
	tc = tcase_create("query");
	tcase_add_loop_test(tc, test_query, 0, (int)nitems(qcases));
	tcase_add_test(tc, test_query_name_255);
	tcase_add_test(tc, test_query_too_long);
	suite_add_tcase(s, tc);

	tc = tcase_create("answers");
	tcase_add_loop_test(tc, test_answers, 0, (int)nitems(acases));
	tcase_add_test(tc, test_answers_query_case);
	tcase_add_test(tc, test_ptr_hops);
	tcase_add_test(tc, test_cname_hops);
	tcase_add_test(tc, test_cname_scan_limit);
	suite_add_tcase(s, tc);

	tc = tcase_create("damage");
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, test_truncated, 0, ngood);
	tcase_add_loop_test(tc, test_bitflips, 0, ngood);
	suite_add_tcase(s, tc);

	tc = tcase_create("build");
	tcase_add_loop_test(tc, test_build_reply, 0,
	    (int)(ok_query_count() * nitems(rcodes)));
	tcase_add_test(tc, test_build_reply_refuses);
	tcase_add_test(tc, test_build_reply_noq);
	tcase_add_loop_test(tc, test_build_query, 0,
	    (int)nitems(bqcases) * 2);
	tcase_add_test(tc, test_build_query_case);
	suite_add_tcase(s, tc);

	tc = tcase_create("api");
	tcase_add_test(tc, test_set_id);
	tcase_add_test(tc, test_strings);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(dnsmsg_suite)
