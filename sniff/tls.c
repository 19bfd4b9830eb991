/*
 * sniff/tls.c - TLS ClientHello sniffer: SNI and ECH presence.
 *
 * Two passes over untrusted bytes, both bounded:
 *
 * 1. The record walk (tls_sniff) runs each time the buffer grows.  It
 *    checks every record header once, copies the 4-byte handshake header
 *    into the state as its bytes arrive (it may itself be split across
 *    records), and stops as soon as the verdict is known: wrong first
 *    bytes, a bad record, a first message that is not a ClientHello, or a
 *    length that cannot fit in <max>.
 *
 * 2. Once the records hold the whole ClientHello, hello_parse() reads it
 *    once through a cursor that steps over the record headers in place, so
 *    nothing is reassembled and the state stays a few words.
 *
 * Both passes read only through checked helpers; every length is compared
 * with its container before anything is read under it.
 */
#include "sniff/tls.h"

#include <string.h>

#define TLS_REC_HDR		5	/* type, version (2), length (2) */
#define TLS_REC_MAX		16384	/* 2^14, RFC 8446 section 5.1 */
#define TLS_HS_HDR		4	/* msg_type, length (3) */
#define TLS_CT_HANDSHAKE	22
#define TLS_HS_CLIENT_HELLO	1
#define TLS_RANDOM_LEN		32
#define TLS_SESSION_ID_MAX	32
#define TLS_EXT_SERVER_NAME	0x0000
#define TLS_EXT_ECH		0xfe0d
#define TLS_SNI_HOST_NAME	0
#define TLS_HOST_MAX		253	/* longest DNS name in text form */
#define TLS_LABEL_MAX		63	/* longest DNS label */

/*
 * Cursor over a handshake message laid out in consecutive records.  <left>
 * bounds the container being read (the message, the extension block, one
 * extension); <rec_left> is what remains of the current record's payload,
 * and when it runs out the next record header is stepped over.  Only
 * records already validated by the walk are ever entered.
 */
struct cur {
	const uint8_t	*buf;
	size_t		 end;		/* bytes of buf the walk validated */
	size_t		 off;		/* next byte to read in buf */
	size_t		 rec_left;	/* payload left in current record */
	size_t		 left;		/* bytes left in this container */
};

static int	cur_next_rec(struct cur *);
static int	cur_bytes(struct cur *, uint8_t *, size_t);
static int	cur_skip(struct cur *, size_t);
static int	cur_sub(struct cur *, size_t, struct cur *);
static int	cur_u8(struct cur *, uint8_t *);
static int	cur_u16(struct cur *, uint16_t *);
static int	cur_u24(struct cur *, uint32_t *);
static int	host_name_ok(const uint8_t *, size_t);
static enum tls_result sni_parse(struct cur *, struct tls_hello *);
static enum tls_result ext_parse(struct cur *, struct tls_hello *);
static enum tls_result hello_parse(const uint8_t *, size_t, size_t,
		    struct tls_hello *);

static int
cur_next_rec(struct cur *c)
{
	size_t	rlen;

	/* The walk vetted these headers; recheck anyway, it is cheap. */
	if (c->end - c->off < TLS_REC_HDR)
		return -1;
	rlen = (size_t)c->buf[c->off + 3] << 8 | c->buf[c->off + 4];
	if (rlen == 0 || c->end - c->off - TLS_REC_HDR < rlen)
		return -1;
	c->off += TLS_REC_HDR;
	c->rec_left = rlen;
	return 0;
}

/* Copies <n> bytes to <dst>, or just steps over them when <dst> is NULL. */
static int
cur_bytes(struct cur *c, uint8_t *dst, size_t n)
{
	size_t	k;

	if (n > c->left)
		return -1;
	while (n > 0) {
		if (c->rec_left == 0 && cur_next_rec(c) == -1)
			return -1;
		k = n < c->rec_left ? n : c->rec_left;
		if (dst != NULL) {
			memcpy(dst, c->buf + c->off, k);
			dst += k;
		}
		c->off += k;
		c->rec_left -= k;
		c->left -= k;
		n -= k;
	}
	return 0;
}

static int
cur_skip(struct cur *c, size_t n)
{
	return cur_bytes(c, NULL, n);
}

/* Splits the next <n> bytes off as their own container <sub>. */
static int
cur_sub(struct cur *c, size_t n, struct cur *sub)
{
	if (n > c->left)
		return -1;
	*sub = *c;
	sub->left = n;
	return cur_skip(c, n);
}

static int
cur_u8(struct cur *c, uint8_t *v)
{
	return cur_bytes(c, v, 1);
}

static int
cur_u16(struct cur *c, uint16_t *v)
{
	uint8_t	b[2];

	if (cur_bytes(c, b, sizeof(b)) == -1)
		return -1;
	*v = (uint16_t)(b[0] << 8 | b[1]);
	return 0;
}

static int
cur_u24(struct cur *c, uint32_t *v)
{
	uint8_t	b[3];

	if (cur_bytes(c, b, sizeof(b)) == -1)
		return -1;
	*v = (uint32_t)b[0] << 16 | (uint32_t)b[1] << 8 | b[2];
	return 0;
}

/*
 * Only what a DNS name or an IP literal can hold.  The name goes on to
 * policy matching and into audit lines; refusing NUL, '/', '%', spaces and
 * bytes >= 0x80 here means no later stage can be fooled by them.  '_' is
 * let through because real hosts use it.  Labels are 1 to 63 bytes: an
 * empty one ("a..b", ".a", "a.b..", ".") is a name that egressd and a
 * server could shorten or split differently, so only one trailing dot,
 * the root, is allowed (the policy removes it).
 */
static int
host_name_ok(const uint8_t *p, size_t n)
{
	size_t	i, label = 0;

	if (n == 0 || n > TLS_HOST_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		if (p[i] == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (++label > TLS_LABEL_MAX)
			return 0;
		if ((p[i] >= 'a' && p[i] <= 'z') ||
		    (p[i] >= 'A' && p[i] <= 'Z') ||
		    (p[i] >= '0' && p[i] <= '9') ||
		    p[i] == '-' || p[i] == '_')
			continue;
		return 0;
	}
	return 1;
}

/* RFC 6066 section 3; <c> spans the extension_data. */
static enum tls_result
sni_parse(struct cur *c, struct tls_hello *h)
{
	struct cur	 list, name;
	uint16_t	 list_len, name_len;
	uint8_t		 type;
	uint8_t		 host[TLS_HOST_MAX];

	if (cur_u16(c, &list_len) == -1 || list_len == 0 ||
	    list_len != c->left || cur_sub(c, list_len, &list) == -1)
		return TLS_MALFORMED;
	while (list.left > 0) {
		if (cur_u8(&list, &type) == -1 ||
		    cur_u16(&list, &name_len) == -1 ||
		    cur_sub(&list, name_len, &name) == -1)
			return TLS_MALFORMED;
		/*
		 * Other name types were never defined, and OpenSSL and
		 * BoringSSL refuse them; a server that took one for a name
		 * would see a host egressd did not judge.  Two host_names
		 * would let egressd and the server pick different ones.
		 */
		if (type != TLS_SNI_HOST_NAME || h->has_sni)
			return TLS_MALFORMED;
		if (name_len > sizeof(host) ||
		    cur_bytes(&name, host, name_len) == -1 ||
		    !host_name_ok(host, name_len))
			return TLS_MALFORMED;
		memcpy(h->sni, host, name_len);
		h->sni[name_len] = '\0';
		h->has_sni = true;
	}
	return TLS_OK;
}

/* <c> spans the extensions block, whose length was already checked. */
static enum tls_result
ext_parse(struct cur *c, struct tls_hello *h)
{
	/*
	 * One bit per extension type: 8 KB of stack per ClientHello parse,
	 * so duplicates cost O(n) however many extensions are sent.
	 */
	uint8_t		seen[65536 / 8];
	struct cur	ext;
	uint16_t	type, len;
	enum tls_result	r;

	memset(seen, 0, sizeof(seen));
	while (c->left > 0) {
		if (cur_u16(c, &type) == -1 || cur_u16(c, &len) == -1 ||
		    cur_sub(c, len, &ext) == -1)
			return TLS_MALFORMED;
		/* RFC 8446 section 4.2: one of each type at most. */
		if (seen[type >> 3] & (1u << (type & 7)))
			return TLS_MALFORMED;
		seen[type >> 3] |= (uint8_t)(1u << (type & 7));
		switch (type) {
		case TLS_EXT_SERVER_NAME:
			if ((r = sni_parse(&ext, h)) != TLS_OK)
				return r;
			break;
		case TLS_EXT_ECH:
			/* The outer SNI is the public name: the host. */
			h->ech = true;
			break;
		default:
			break;
		}
	}
	return TLS_OK;
}

/*
 * Parses the ClientHello held by the records in <buf>[0..<end>); <hs_len>
 * is the handshake message length including its 4-byte header.
 */
static enum tls_result
hello_parse(const uint8_t *buf, size_t end, size_t hs_len,
    struct tls_hello *out)
{
	struct tls_hello h;
	struct cur	 c, exts;
	uint32_t	 n24;
	uint16_t	 version, n16;
	uint8_t		 n8;
	enum tls_result	 r;

	memset(&h, 0, sizeof(h));
	c.buf = buf;
	c.end = end;
	c.off = 0;
	c.rec_left = 0;
	c.left = hs_len;
	/* The walk checked this header; reread it so this stands alone. */
	if (cur_u8(&c, &n8) == -1 || n8 != TLS_HS_CLIENT_HELLO ||
	    cur_u24(&c, &n24) == -1 || n24 != c.left)
		return TLS_MALFORMED;

	/* legacy_version: 0x0300 (SSL 3) to 0x0303; TLS 1.3 freezes it. */
	if (cur_u16(&c, &version) == -1 || version >> 8 != 3)
		return TLS_MALFORMED;
	if (cur_skip(&c, TLS_RANDOM_LEN) == -1)
		return TLS_MALFORMED;
	if (cur_u8(&c, &n8) == -1 || n8 > TLS_SESSION_ID_MAX ||
	    cur_skip(&c, n8) == -1)
		return TLS_MALFORMED;
	if (cur_u16(&c, &n16) == -1 || n16 < 2 || n16 % 2 != 0 ||
	    cur_skip(&c, n16) == -1)
		return TLS_MALFORMED;
	if (cur_u8(&c, &n8) == -1 || n8 < 1 || cur_skip(&c, n8) == -1)
		return TLS_MALFORMED;

	/*
	 * Only pre-TLS-1.0-era clients omit the extensions entirely; they
	 * have no SNI.  When present, the block must end the message exactly:
	 * bytes after it are something a server might read differently.
	 */
	if (c.left > 0) {
		if (cur_u16(&c, &n16) == -1 || n16 != c.left ||
		    cur_sub(&c, n16, &exts) == -1)
			return TLS_MALFORMED;
		if ((r = ext_parse(&exts, &h)) != TLS_OK)
			return r;
	}
	h.consumed = end;
	*out = h;
	return TLS_OK;
}

void
tls_sniff_init(struct tls_sniff *st)
{
	memset(st, 0, sizeof(*st));
}

/*
 * The walk resumes at the first record not yet fully seen.  A record is
 * committed to the state (ts_rec_off, ts_hs_have advanced) only once all
 * of it is in the buffer, so everything before that point is never looked
 * at again, and a call that returns an error leaves the state where a
 * repeated call reaches the same verdict.  Checks run in wire order, so
 * the verdict does not depend on how the bytes were split into calls.
 */
enum tls_result
tls_sniff(struct tls_sniff *st, const uint8_t *buf, size_t len, size_t max,
    struct tls_hello *out)
{
	const uint8_t	*rec;
	size_t		 off, avail, rlen, body, have, i, rest, wire;
	bool		 first;

	for (;;) {
		off = st->ts_rec_off;
		/* The buffer may only grow; a shorter one is a caller bug. */
		if (len < off)
			return TLS_MALFORMED;
		if (st->ts_hs_need != 0 && st->ts_hs_have == st->ts_hs_need)
			return hello_parse(buf, off, st->ts_hs_need, out);
		avail = len - off;
		rec = buf + off;
		first = off == 0;

		/*
		 * Judge header bytes one at a time so that non-TLS traffic is
		 * recognised from its first byte and handed to the HTTP
		 * sniffer.  Later records are already known to be TLS, so a
		 * bad header there is a malformed hello, not another protocol.
		 * Record versions 3.0 to 3.4 are accepted: clients put 3.1 or
		 * 3.0 there for compatibility.
		 */
		if (avail >= 1 && rec[0] != TLS_CT_HANDSHAKE)
			return first ? TLS_NOT_TLS : TLS_MALFORMED;
		if (avail >= 2 && rec[1] != 3)
			return first ? TLS_NOT_TLS : TLS_MALFORMED;
		if (avail >= 3 && rec[2] > 4)
			return first ? TLS_NOT_TLS : TLS_MALFORMED;
		if (avail < TLS_REC_HDR)
			return TLS_NEED_MORE;

		rlen = (size_t)rec[3] << 8 | rec[4];
		if (rlen == 0 || rlen > TLS_REC_MAX)
			return TLS_MALFORMED;
		if (off + TLS_REC_HDR + rlen > max)
			return TLS_TOO_LARGE;

		/* Handshake header bytes carried by this record, so far. */
		body = avail - TLS_REC_HDR;
		if (body > rlen)
			body = rlen;
		have = st->ts_hs_have;
		for (i = have; i < TLS_HS_HDR && i < have + body; i++)
			st->ts_hs_hdr[i] = rec[TLS_REC_HDR + i - have];
		if (have + body >= 1 &&
		    st->ts_hs_hdr[0] != TLS_HS_CLIENT_HELLO)
			return TLS_MALFORMED;
		if (have + body >= TLS_HS_HDR)
			st->ts_hs_need = TLS_HS_HDR +
			    ((size_t)st->ts_hs_hdr[1] << 16 |
			    (size_t)st->ts_hs_hdr[2] << 8 | st->ts_hs_hdr[3]);

		if (st->ts_hs_need != 0) {
			/*
			 * The ClientHello must end with its record: anything
			 * after it would be a second handshake message before
			 * the server spoke, or bytes egressd did not judge.
			 */
			if (have + rlen > st->ts_hs_need)
				return TLS_MALFORMED;
			/*
			 * Fewest wire bytes that can still hold the rest: the
			 * remainder in full-size records after this one.
			 */
			rest = st->ts_hs_need - have - rlen;
			wire = off + TLS_REC_HDR + rlen + rest +
			    (rest + TLS_REC_MAX - 1) / TLS_REC_MAX *
			    TLS_REC_HDR;
			if (wire > max)
				return TLS_TOO_LARGE;
		}

		if (body < rlen)
			return TLS_NEED_MORE;
		st->ts_hs_have += rlen;
		st->ts_rec_off = off + TLS_REC_HDR + rlen;
	}
}

const char *
tls_result_str(enum tls_result r)
{
	switch (r) {
	case TLS_NEED_MORE:
		return "need-more";
	case TLS_OK:
		return "ok";
	case TLS_NOT_TLS:
		return "not-tls";
	case TLS_MALFORMED:
		return "malformed";
	case TLS_TOO_LARGE:
		return "too-large";
	}
	return "invalid";
}
