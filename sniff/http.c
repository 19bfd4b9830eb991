/*
 * sniff/http.c - strict HTTP/1.x request head parser and body framer.
 *
 * http_parse_request() decides in three steps, each bounded, and each
 * decision depends only on bytes at or before the position where it is
 * made, so a request trickled in byte by byte gets the same verdict as
 * the same bytes delivered at once:
 *
 * 1. The method (at most 32 bytes, rechecked on every call): a non-token
 *    first byte is not HTTP, so TLS, SSH and binary protocols are told
 *    apart at once.
 *
 * 2. The search for CRLFCRLF resumes where the last call stopped
 *    (hs_scanned).  On the way it rejects bare CR, bare LF and control
 *    characters, so the field parser below can assume every line ends in
 *    CRLF and holds no controls but HTAB.
 *
 * 3. Once the whole head is there it is parsed once, line by line, through
 *    spans that never leave the head.
 *
 * Everything two implementations could read differently is rejected
 * rather than interpreted: egressd only sees a request if it delimits the
 * request exactly as the upstream server will.
 */
#include "sniff/http.h"

#include <string.h>

#define CR		'\r'
#define LF		'\n'
#define SP		' '
#define HTAB		'\t'

#define HTTP_FIELDS_MAX	100	/* header or trailer field lines */
#define HTTP_LINE_MAX	8192	/* chunk-size line or trailer line */
#define HTTP_CHUNK_HEX	16	/* chunk-size hex digits: 64 bits */
#define HTTP_VERSION_LEN 8	/* "HTTP/1.x" */
#define HTTP_STATUS_MIN	13	/* "HTTP/1.x NNN" and one more byte */
#define HTTP_NAME_MAX	253	/* longest DNS name in text form */
#define HTTP_LABEL_MAX	63	/* longest DNS label */

/* A run of bytes inside the head; never extends past it. */
struct span {
	const uint8_t	*s_p;
	size_t		 s_len;
};

/* What the field lines said, before it is checked as a whole. */
struct fields {
	unsigned	 f_host_count;
	struct span	 f_host;
	bool		 f_has_cl;
	uint64_t	 f_cl;
	bool		 f_has_te;
	bool		 f_te_chunked_last; /* last coding so far: chunked */
	bool		 f_conn_close;
	bool		 f_conn_keep_alive;
	bool		 f_conn_upgrade;
	bool		 f_has_upgrade;
	bool		 f_upgrade_h2c;	/* h2c among the Upgrade protocols */
};

static bool	is_tchar(uint8_t);
static bool	is_digit(uint8_t);
static bool	is_hex(uint8_t);
static unsigned	hex_value(uint8_t);
static bool	is_ctl(uint8_t);
static bool	is_regname(uint8_t);
static bool	regname_labels_ok(const uint8_t *, size_t);
static bool	name_is_dashed(struct span, const char *);
static int	target_check(struct span);
static uint8_t	lower(uint8_t);
static bool	span_eq_ci(struct span, const char *);
static bool	span_is_token(struct span);
static struct span span_trim_ows(struct span);
static bool	span_next_elem(struct span *, struct span *);
static int	ipv4_ok(const uint8_t *, size_t);
static int	ipv6_ok(const uint8_t *, size_t);
static int	authority_parse(struct span, char *, uint16_t *);
static bool	authority_same(const char *, uint16_t, uint16_t,
		    const char *, uint16_t, uint16_t);
static int	field_content_length(struct span, struct fields *);
static int	field_transfer_encoding(struct span, struct fields *);
static int	field_connection(struct span, struct fields *);
static int	field_parse(struct span, struct fields *);
static enum http_result method_check(const uint8_t *, size_t, size_t,
		    size_t *);
static enum http_result head_parse(const uint8_t *, size_t, size_t,
		    struct http_request *);
static bool	chunk_line_grow(struct http_body *);
static size_t	line_end(const uint8_t *, size_t, size_t);
static bool	head_next_field(const uint8_t *, size_t, size_t *,
		    struct span *, struct span *, struct span *);
static bool	field_is(struct span, const char *);
static bool	out_put(uint8_t *, size_t, size_t *, const void *, size_t);

/* RFC 9110 section 5.6.2. */
static bool
is_tchar(uint8_t c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool
is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static bool
is_hex(uint8_t c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static unsigned
hex_value(uint8_t c)
{
	if (is_digit(c))
		return c - '0';
	return (unsigned)(lower(c) - 'a') + 10;
}

/* Controls other than HTAB, and DEL: never valid in a head or a trailer. */
static bool
is_ctl(uint8_t c)
{
	return (c < 0x20 && c != HTAB) || c == 0x7f;
}

/*
 * The reg-name characters a host name can hold: RFC 3986 unreserved
 * without '~' (no DNS name has one), %-encoding banned.  '_' is kept
 * because real hosts use it.
 */
static bool
is_regname(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    is_digit(c) || c == '-' || c == '.' || c == '_';
}

/*
 * A reg-name <p>[0..<n>) of is_regname() bytes is a DNS name: labels of 1
 * to 63 bytes, 253 bytes at most, and only one trailing dot (the root,
 * which the policy removes).  An empty label ("a..b", ".a", "a.b..")
 * is a name a server, a resolver and egressd could each shorten or split
 * in their own way.
 */
static bool
regname_labels_ok(const uint8_t *p, size_t n)
{
	size_t	i, label = 0;

	if (n == 0 || n > HTTP_NAME_MAX)
		return false;
	for (i = 0; i < n; i++) {
		if (p[i] != '.') {
			if (++label > HTTP_LABEL_MAX)
				return false;
		} else if (label == 0)
			return false;
		else
			label = 0;
	}
	return true;
}

static uint8_t
lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c - 'A' + 'a') : c;
}

static bool
span_eq_ci(struct span s, const char *lit)
{
	size_t	i, n;

	n = strlen(lit);
	if (s.s_len != n)
		return false;
	for (i = 0; i < n; i++)
		if (lower(s.s_p[i]) != lower((uint8_t)lit[i]))
			return false;
	return true;
}

static bool
span_is_token(struct span s)
{
	size_t	i;

	if (s.s_len == 0)
		return false;
	for (i = 0; i < s.s_len; i++)
		if (!is_tchar(s.s_p[i]))
			return false;
	return true;
}

static struct span
span_trim_ows(struct span s)
{
	while (s.s_len > 0 && (s.s_p[0] == SP || s.s_p[0] == HTAB)) {
		s.s_p++;
		s.s_len--;
	}
	while (s.s_len > 0 &&
	    (s.s_p[s.s_len - 1] == SP || s.s_p[s.s_len - 1] == HTAB))
		s.s_len--;
	return s;
}

/*
 * Splits the next comma-separated element off <list> into <elem>, OWS
 * trimmed; false once <list> is used up.  Empty elements are returned
 * as such: each caller decides whether to ignore or reject them.
 */
static bool
span_next_elem(struct span *list, struct span *elem)
{
	size_t	i;

	if (list->s_p == NULL)
		return false;
	for (i = 0; i < list->s_len && list->s_p[i] != ','; i++)
		;
	elem->s_p = list->s_p;
	elem->s_len = i;
	*elem = span_trim_ows(*elem);
	if (i == list->s_len) {
		list->s_p = NULL;	/* the last element has been taken */
		list->s_len = 0;
	} else {
		list->s_p += i + 1;
		list->s_len -= i + 1;
	}
	return true;
}

/* Dotted quad, no leading zeros (RFC 3986 dec-octet). */
static int
ipv4_ok(const uint8_t *p, size_t n)
{
	size_t		i = 0, start;
	unsigned	octets, v;

	for (octets = 0; octets < 4; octets++) {
		if (octets > 0) {
			if (i >= n || p[i] != '.')
				return -1;
			i++;
		}
		start = i;
		v = 0;
		while (i < n && is_digit(p[i]) && i - start < 3)
			v = v * 10 + (unsigned)(p[i++] - '0');
		if (i == start || v > 255 || (p[start] == '0' && i - start > 1))
			return -1;
	}
	return i == n ? 0 : -1;
}

/* RFC 3986 IPv6address; zone ids and IPvFuture are not accepted. */
static int
ipv6_ok(const uint8_t *p, size_t n)
{
	size_t		i = 0, start;
	unsigned	groups = 0;
	bool		dcolon = false;

	if (n < 2)
		return -1;
	if (p[0] == ':') {
		if (p[1] != ':')
			return -1;
		dcolon = true;
		i = 2;
		if (i == n)
			return 0;
	}
	for (;;) {
		start = i;
		while (i < n && is_hex(p[i]) && i - start < 5)
			i++;
		if (i < n && p[i] == '.') {
			/* An embedded IPv4 address ends the address. */
			if (ipv4_ok(p + start, n - start) == -1)
				return -1;
			groups += 2;
			break;
		}
		if (i == start || i - start > 4)
			return -1;
		groups++;
		if (i == n)
			break;
		if (p[i] != ':' || ++i == n)
			return -1;
		if (p[i] == ':') {
			if (dcolon)
				return -1;
			dcolon = true;
			if (++i == n)
				break;
		}
	}
	if (dcolon ? groups > 7 : groups != 8)
		return -1;
	return 0;
}

/*
 * Parses host [":" port] into <host> (HTTP_HOST_MAX bytes, brackets
 * removed) and <port> (0 when absent).  %-encoding is refused: a host
 * that the policy would see in one spelling and a server or resolver
 * would decode to another is exactly the ambiguity we are avoiding.
 */
static int
authority_parse(struct span a, char *host, uint16_t *port)
{
	const uint8_t	*h;
	size_t		 hlen, i, rest;
	uint32_t	 v;

	if (a.s_len == 0)
		return -1;
	if (a.s_p[0] == '[') {
		for (i = 1; i < a.s_len && a.s_p[i] != ']'; i++)
			;
		if (i == a.s_len)
			return -1;
		h = a.s_p + 1;
		hlen = i - 1;
		if (ipv6_ok(h, hlen) == -1)
			return -1;
		i++;
	} else {
		for (i = 0; i < a.s_len && is_regname(a.s_p[i]); i++)
			;
		h = a.s_p;
		hlen = i;
		if (!regname_labels_ok(h, hlen))
			return -1;
	}
	if (hlen >= HTTP_HOST_MAX)
		return -1;
	*port = 0;
	if (i < a.s_len) {
		if (a.s_p[i] != ':')
			return -1;
		i++;
		rest = a.s_len - i;
		if (rest == 0 || rest > 5)
			return -1;
		for (v = 0; i < a.s_len; i++) {
			if (!is_digit(a.s_p[i]))
				return -1;
			v = v * 10 + (uint32_t)(a.s_p[i] - '0');
		}
		if (v == 0 || v > 65535)
			return -1;
		*port = (uint16_t)v;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	return 0;
}

/* Ports of 0 mean "absent" and take the scheme's default. */
static bool
authority_same(const char *h1, uint16_t p1, uint16_t def1, const char *h2,
    uint16_t p2, uint16_t def2)
{
	size_t	i;

	for (i = 0; h1[i] != '\0' || h2[i] != '\0'; i++)
		if (lower((uint8_t)h1[i]) != lower((uint8_t)h2[i]))
			return false;
	return (p1 != 0 ? p1 : def1) == (p2 != 0 ? p2 : def2);
}

/*
 * Content-Length may repeat (as fields or as a list) only with one
 * value: with two, a server picking the first and egressd the last would
 * disagree on where the body ends, and the rest would be a hidden request.
 */
static int
field_content_length(struct span v, struct fields *f)
{
	struct span	e;
	uint64_t	n, d;
	size_t		i;

	while (span_next_elem(&v, &e)) {
		if (e.s_len == 0)
			return -1;
		n = 0;
		for (i = 0; i < e.s_len; i++) {
			if (!is_digit(e.s_p[i]))
				return -1;
			d = (uint64_t)(e.s_p[i] - '0');
			if (n > (UINT64_MAX - d) / 10)
				return -1;
			n = n * 10 + d;
		}
		if (f->f_has_cl && f->f_cl != n)
			return -1;
		f->f_has_cl = true;
		f->f_cl = n;
	}
	return 0;
}

/*
 * Transfer-Encoding: chunked must be the final coding and appear once
 * (RFC 9112 section 6.1); anything else leaves the body length to the
 * server's imagination.  Empty elements and parameters are refused even
 * though RFC 9110 lets a recipient skip them: no client needs them, and
 * parsers differ on them.
 */
static int
field_transfer_encoding(struct span v, struct fields *f)
{
	struct span	e;

	if (f->f_has_te && f->f_te_chunked_last)
		return -1;	/* chunked already seen: twice, or not last */
	f->f_has_te = true;
	while (span_next_elem(&v, &e)) {
		if (!span_is_token(e))
			return -1;
		if (f->f_te_chunked_last)
			return -1;
		f->f_te_chunked_last = span_eq_ci(e, "chunked");
	}
	return 0;
}

/* Upgrade: protocol["/"version] list; only whether h2c is in it matters. */
static void
field_upgrade(struct span v, struct fields *f)
{
	struct span	e;
	size_t		i;

	while (span_next_elem(&v, &e)) {
		for (i = 0; i < e.s_len && e.s_p[i] != '/'; i++)
			;
		e.s_len = i;
		if (span_eq_ci(e, "h2c"))
			f->f_upgrade_h2c = true;
	}
}

static int
field_connection(struct span v, struct fields *f)
{
	struct span	e;

	while (span_next_elem(&v, &e)) {
		if (e.s_len == 0)
			continue;	/* RFC 9110 5.6.1: ignore empties */
		if (!span_is_token(e))
			return -1;
		if (span_eq_ci(e, "close"))
			f->f_conn_close = true;
		else if (span_eq_ci(e, "keep-alive"))
			f->f_conn_keep_alive = true;
		else if (span_eq_ci(e, "upgrade"))
			f->f_conn_upgrade = true;
	}
	return 0;
}

/*
 * One field line, CRLF excluded.  The scan already refused controls other
 * than HTAB, so values need no further character checks.
 */
/*
 * True when <name> is <lit> (lowercase, with '-') spelt with at least one
 * '_' in place of a '-'.  CGI-style gateways and some frameworks map both
 * to the same variable (CONTENT_LENGTH), so "Transfer_Encoding" can frame
 * a body there while egressd and other servers ignore it.
 */
static bool
name_is_dashed(struct span name, const char *lit)
{
	size_t	i;
	bool	under = false;

	if (name.s_len != strlen(lit))
		return false;
	for (i = 0; i < name.s_len; i++) {
		if (name.s_p[i] == '_' && lit[i] == '-')
			under = true;
		else if (lower(name.s_p[i]) != (uint8_t)lit[i])
			return false;
	}
	return under;
}

static int
field_parse(struct span line, struct fields *f)
{
	struct span	name, value;
	size_t		i;

	/*
	 * obs-fold: some servers join the line to the previous field, some
	 * start a new one, so the same bytes carry different fields.
	 */
	if (line.s_p[0] == SP || line.s_p[0] == HTAB)
		return -1;
	for (i = 0; i < line.s_len && is_tchar(line.s_p[i]); i++)
		;
	/*
	 * "Transfer-Encoding : chunked" is read as Transfer-Encoding by
	 * lenient servers and as an unknown field by others: refuse.
	 */
	if (i == 0 || i == line.s_len || line.s_p[i] != ':')
		return -1;
	name.s_p = line.s_p;
	name.s_len = i;
	value.s_p = line.s_p + i + 1;
	value.s_len = line.s_len - i - 1;
	value = span_trim_ows(value);

	if (name_is_dashed(name, "content-length") ||
	    name_is_dashed(name, "transfer-encoding"))
		return -1;
	if (span_eq_ci(name, "host")) {
		f->f_host_count++;
		f->f_host = value;
	} else if (span_eq_ci(name, "content-length")) {
		return field_content_length(value, f);
	} else if (span_eq_ci(name, "transfer-encoding")) {
		return field_transfer_encoding(value, f);
	} else if (span_eq_ci(name, "connection")) {
		return field_connection(value, f);
	} else if (span_eq_ci(name, "upgrade")) {
		if (value.s_len > 0)
			f->f_has_upgrade = true;
		field_upgrade(value, f);
	}
	return 0;
}

/*
 * What in a request target (already known to be visible ASCII) a server
 * could read differently from egressd:
 *
 *  - '#': a fragment is never sent (RFC 9112 3.2); servers either cut the
 *    target there or keep it in the path, so "/v1/x#/../../admin" is one
 *    path to egressd and another to the server;
 *  - a "." or ".." segment with parameters ("/..;/", "/.;x/"): Tomcat,
 *    Jetty and Spring drop the parameter and then resolve the dot segment,
 *    so a prefix rule would judge a path the server never serves.
 */
static int
target_check(struct span t)
{
	size_t	i, seg = 0, len;

	if (memchr(t.s_p, '#', t.s_len) != NULL)
		return -1;
	for (i = 0; i <= t.s_len; i++) {
		if (i < t.s_len && t.s_p[i] != '/' && t.s_p[i] != '?')
			continue;
		len = i - seg;
		if (len >= 2 && t.s_p[seg] == '.' && (t.s_p[seg + 1] == ';' ||
		    (len >= 3 && t.s_p[seg + 1] == '.' &&
		    t.s_p[seg + 2] == ';')))
			return -1;
		if (i < t.s_len && t.s_p[i] == '?')
			break;		/* the query is not a path */
		seg = i + 1;
	}
	return 0;
}

/*
 * Checks the method in the first min(<len>, <max>, 32) bytes; on HTTP_OK
 * <mlen> is its length (the SP follows it).
 */
static enum http_result
method_check(const uint8_t *buf, size_t len, size_t max, size_t *mlen)
{
	size_t	i, n;

	n = len < max ? len : max;
	if (n > HTTP_METHOD_MAX)
		n = HTTP_METHOD_MAX;
	for (i = 0; i < n; i++) {
		if (is_tchar(buf[i]))
			continue;
		if (buf[i] == SP && i > 0) {
			*mlen = i;
			return HTTP_OK;
		}
		/*
		 * Servers skip empty lines before a request (RFC 9112 2.2) and
		 * may split the request line on any whitespace (RFC 9112 3):
		 * calling either "not HTTP" would let a request pass as opaque
		 * bytes, so both are refused as HTTP.
		 */
		if (i == 0 && (buf[i] == CR || buf[i] == LF))
			return HTTP_MALFORMED;
		if (i > 0 && (buf[i] == HTAB || buf[i] == '\v' ||
		    buf[i] == '\f'))
			return HTTP_MALFORMED;
		return HTTP_NOT_HTTP;
	}
	if (n == HTTP_METHOD_MAX)
		return HTTP_NOT_HTTP;	/* no method is 32 bytes long */
	return n == max ? HTTP_TOO_LARGE : HTTP_NEED_MORE;
}

void
http_sniff_init(struct http_sniff *st)
{
	memset(st, 0, sizeof(*st));
}

enum http_result
http_parse_request(struct http_sniff *st, const uint8_t *buf, size_t len,
    size_t max, struct http_request *out)
{
	enum http_result	 r;
	size_t			 mlen, i, end;
	uint8_t			 c;

	if ((r = method_check(buf, len, max, &mlen)) != HTTP_OK)
		return r;

	end = len < max ? len : max;
	i = st->hs_scanned;
	if (i > end)
		i = 0;		/* a different buffer: start over */
	for (; i < end; i++) {
		c = buf[i];
		/*
		 * Bare CR and bare LF end a line for some parsers and not for
		 * others; each is a classic way to smuggle a field or a
		 * request.
		 */
		if (i > 0 && buf[i - 1] == CR && c != LF)
			return HTTP_MALFORMED;
		if (c == LF) {
			if (i == 0 || buf[i - 1] != CR)
				return HTTP_MALFORMED;
			if (i >= 3 && buf[i - 2] == LF && buf[i - 3] == CR) {
				st->hs_scanned = i;
				return head_parse(buf, i + 1, mlen, out);
			}
		} else if (c != CR && is_ctl(c))
			return HTTP_MALFORMED;
	}
	st->hs_scanned = i;
	return end == max ? HTTP_TOO_LARGE : HTTP_NEED_MORE;
}

/*
 * Parses the complete head buf[0..<hlen>), which ends in CRLFCRLF, holds
 * only CRLF line ends and no controls but HTAB; the method is buf[0..mlen)
 * and a SP follows it.
 */
static enum http_result
head_parse(const uint8_t *buf, size_t hlen, size_t mlen,
    struct http_request *out)
{
	struct http_request	 r;
	struct fields		 f;
	struct span		 target, line, auth;
	size_t			 i, pos, nfields;
	uint16_t		 def_port = 0;
	bool			 absolute = false;

	memset(&r, 0, sizeof(r));
	memset(&f, 0, sizeof(f));
	memcpy(r.method, buf, mlen);
	r.method[mlen] = '\0';

	/* request-line = method SP request-target SP HTTP-version CRLF */
	for (i = mlen + 1; buf[i] > SP && buf[i] < 0x7f; i++)
		;
	target.s_p = buf + mlen + 1;
	target.s_len = i - mlen - 1;
	if (target.s_len == 0 || buf[i] != SP ||
	    hlen - i - 1 < HTTP_VERSION_LEN + 2 ||
	    buf[i + 1 + HTTP_VERSION_LEN] != CR)
		return HTTP_MALFORMED;
	if (memcmp(buf + i + 1, "HTTP/1.", 7) != 0 ||
	    (buf[i + 8] != '0' && buf[i + 8] != '1')) {
		/*
		 * The HTTP/2 prior-knowledge preface is not HTTP/1.x: let it be
		 * "other".  Any other line that got this far claimed to be a
		 * request and is refused as one.
		 */
		if (mlen == 3 && memcmp(buf, "PRI", 3) == 0 &&
		    target.s_len == 1 && target.s_p[0] == '*' &&
		    memcmp(buf + i + 1, "HTTP/2.0", HTTP_VERSION_LEN) == 0)
			return HTTP_NOT_HTTP;
		return HTTP_MALFORMED;
	}
	r.version_minor = buf[i + 8] - '0';
	pos = i + 1 + HTTP_VERSION_LEN + 2;

	/*
	 * A transparent proxy never needs CONNECT; a tunnel would carry
	 * whatever it likes past the Host check.
	 */
	if (span_eq_ci((struct span){ buf, mlen }, "connect"))
		return HTTP_MALFORMED;
	if (target_check(target) == -1)
		return HTTP_MALFORMED;

	if (target.s_p[0] == '/') {
		r.path_off = mlen + 1;
		for (i = 0; i < target.s_len && target.s_p[i] != '?' &&
		    target.s_p[i] != '#'; i++)
			;
		r.path_len = i;
	} else if (target.s_len == 1 && target.s_p[0] == '*') {
		if (mlen != 7 || memcmp(buf, "OPTIONS", 7) != 0)
			return HTTP_MALFORMED;
		r.path_off = mlen + 1;
		r.path_len = 1;
	} else {
		if (target.s_len > 7 &&
		    span_eq_ci((struct span){ target.s_p, 7 }, "http://")) {
			i = 7;
			def_port = 80;
		} else if (target.s_len > 8 &&
		    span_eq_ci((struct span){ target.s_p, 8 }, "https://")) {
			i = 8;
			def_port = 443;
		} else
			return HTTP_MALFORMED;	/* authority-form, other URIs */
		auth.s_p = target.s_p + i;
		for (; i < target.s_len && target.s_p[i] != '/' &&
		    target.s_p[i] != '?' && target.s_p[i] != '#'; i++)
			;
		auth.s_len = (size_t)(target.s_p + i - auth.s_p);
		/* Userinfo has fooled URL parsers into the wrong host. */
		if (memchr(auth.s_p, '@', auth.s_len) != NULL ||
		    authority_parse(auth, r.host, &r.port) == -1)
			return HTTP_MALFORMED;
		r.path_off = (size_t)(target.s_p - buf) + i;
		for (; i < target.s_len && target.s_p[i] != '?' &&
		    target.s_p[i] != '#'; i++)
			;
		r.path_len = (size_t)(target.s_p - buf) + i - r.path_off;
		absolute = true;
	}

	for (nfields = 0;; nfields++) {
		for (i = pos; buf[i] != CR; i++)
			;
		if (i == pos)
			break;		/* the empty line ends the head */
		if (nfields == HTTP_FIELDS_MAX)
			return HTTP_MALFORMED;
		line.s_p = buf + pos;
		line.s_len = i - pos;
		if (field_parse(line, &f) == -1)
			return HTTP_MALFORMED;
		pos = i + 2;
	}

	/*
	 * Host decides the policy, so exactly one must name the server, and
	 * with an absolute-form target (which the server obeys, RFC 9112
	 * 3.2.2) both must name the same one.
	 */
	if (f.f_host_count > 1)
		return HTTP_MALFORMED;
	if (f.f_host_count == 1) {
		char		h[HTTP_HOST_MAX];
		uint16_t	p;

		if (authority_parse(f.f_host, h, &p) == -1)
			return HTTP_MALFORMED;
		if (absolute) {
			if (!authority_same(r.host, r.port, def_port, h, p,
			    def_port))
				return HTTP_MALFORMED;
		} else {
			memcpy(r.host, h, sizeof(h));
			r.port = p;
		}
	} else if (!absolute)
		return HTTP_MALFORMED;

	/*
	 * Content-Length with Transfer-Encoding is the textbook smuggling
	 * request (RFC 9112 6.1 lets a server go either way); HTTP/1.0 never
	 * had chunked, so a 1.0 server would read the chunks as a new request.
	 */
	if (f.f_has_te) {
		if (f.f_has_cl || r.version_minor == 0 || !f.f_te_chunked_last)
			return HTTP_MALFORMED;
		r.framing = HTTP_BODY_CHUNKED;
	} else if (f.f_has_cl) {
		r.framing = HTTP_BODY_LENGTH;
		r.content_length = f.f_cl;
	} else
		r.framing = HTTP_BODY_NONE;

	/* A server ignores Upgrade in an HTTP/1.0 request (RFC 9110 7.8). */
	r.upgrade = r.version_minor == 1 && f.f_has_upgrade &&
	    f.f_conn_upgrade;
	r.upgrade_h2c = r.upgrade && f.f_upgrade_h2c;
	if (r.version_minor == 1)
		r.keep_alive = !f.f_conn_close;
	else
		r.keep_alive = f.f_conn_keep_alive && !f.f_conn_close;
	r.head_len = hlen;
	*out = r;
	return HTTP_OK;
}

void
http_body_init(struct http_body *b, const struct http_request *req)
{
	memset(b, 0, sizeof(*b));
	switch (req->framing) {
	case HTTP_BODY_NONE:
		b->hb_state = HTTP_BS_DONE;
		break;
	case HTTP_BODY_LENGTH:
		b->hb_remaining = req->content_length;
		b->hb_state = req->content_length == 0 ? HTTP_BS_DONE :
		    HTTP_BS_LENGTH;
		break;
	case HTTP_BODY_CHUNKED:
		b->hb_state = HTTP_BS_CHUNK_SIZE;
		break;
	}
}

/*
 * Counts one byte of a chunk-size or trailer line (CRLF excluded) against
 * its cap: the proxy holds nothing, but an endless chunk extension or
 * trailer is no body anyone sends, and some servers buffer it.
 */
static bool
chunk_line_grow(struct http_body *b)
{
	switch (b->hb_state) {
	case HTTP_BS_CHUNK_SIZE:
	case HTTP_BS_EXT_NAME0:
	case HTTP_BS_EXT_NAME:
	case HTTP_BS_EXT_VALUE0:
	case HTTP_BS_EXT_TOKEN:
	case HTTP_BS_EXT_QUOTED:
	case HTTP_BS_EXT_QPAIR:
	case HTTP_BS_EXT_QEND:
	case HTTP_BS_TRAILER:
	case HTTP_BS_TRAILER_NAME:
	case HTTP_BS_TRAILER_VALUE:
		return ++b->hb_line <= HTTP_LINE_MAX;
	case HTTP_BS_DONE:
	case HTTP_BS_ERROR:
	case HTTP_BS_LENGTH:
	case HTTP_BS_CHUNK_SIZE_LF:
	case HTTP_BS_CHUNK_DATA:
	case HTTP_BS_CHUNK_DATA_CR:
	case HTTP_BS_CHUNK_DATA_LF:
	case HTTP_BS_TRAILER_LF:
	case HTTP_BS_TRAILER_END_LF:
		break;
	}
	return true;
}

/*
 * The chunked grammar of RFC 9112 section 7.1, with no leniency: no
 * whitespace around chunk-size or extensions, no "0x", no bare LF, CRLF
 * exactly after the data.  Each of those has been read differently by
 * some pair of servers and proxies, which is all smuggling needs.
 */
size_t
http_body_feed(struct http_body *b, const uint8_t *buf, size_t len)
{
	size_t		i = 0, k;
	uint8_t		c;

	while (i < len) {
		switch (b->hb_state) {
		case HTTP_BS_DONE:
		case HTTP_BS_ERROR:
			return i;
		case HTTP_BS_LENGTH:
		case HTTP_BS_CHUNK_DATA:
			k = len - i;
			if (k > b->hb_remaining)
				k = (size_t)b->hb_remaining;
			i += k;
			b->hb_remaining -= k;
			if (b->hb_remaining == 0)
				b->hb_state = b->hb_state == HTTP_BS_LENGTH ?
				    HTTP_BS_DONE : HTTP_BS_CHUNK_DATA_CR;
			continue;
		default:
			break;
		}

		c = buf[i];
		if (c != CR && !chunk_line_grow(b))
			goto err;
		switch (b->hb_state) {
		case HTTP_BS_CHUNK_SIZE:
			if (is_hex(c)) {
				if (b->hb_digits == HTTP_CHUNK_HEX)
					goto err;
				b->hb_remaining = b->hb_remaining << 4 |
				    hex_value(c);
				b->hb_digits++;
			} else if (b->hb_digits > 0 && c == ';')
				b->hb_state = HTTP_BS_EXT_NAME0;
			else if (b->hb_digits > 0 && c == CR)
				b->hb_state = HTTP_BS_CHUNK_SIZE_LF;
			else
				goto err;
			break;
		case HTTP_BS_EXT_NAME0:
			if (!is_tchar(c))
				goto err;
			b->hb_state = HTTP_BS_EXT_NAME;
			break;
		case HTTP_BS_EXT_NAME:
		case HTTP_BS_EXT_TOKEN:
		case HTTP_BS_EXT_QEND:
			if (c == ';')
				b->hb_state = HTTP_BS_EXT_NAME0;
			else if (c == CR)
				b->hb_state = HTTP_BS_CHUNK_SIZE_LF;
			else if (b->hb_state == HTTP_BS_EXT_NAME && c == '=')
				b->hb_state = HTTP_BS_EXT_VALUE0;
			else if (b->hb_state == HTTP_BS_EXT_QEND ||
			    !is_tchar(c))
				goto err;
			break;
		case HTTP_BS_EXT_VALUE0:
			if (c == '"')
				b->hb_state = HTTP_BS_EXT_QUOTED;
			else if (is_tchar(c))
				b->hb_state = HTTP_BS_EXT_TOKEN;
			else
				goto err;
			break;
		case HTTP_BS_EXT_QUOTED:
			/* qdtext, RFC 9110 5.6.4 */
			if (c == '"')
				b->hb_state = HTTP_BS_EXT_QEND;
			else if (c == '\\')
				b->hb_state = HTTP_BS_EXT_QPAIR;
			else if (is_ctl(c))
				goto err;
			break;
		case HTTP_BS_EXT_QPAIR:
			if (is_ctl(c))
				goto err;
			b->hb_state = HTTP_BS_EXT_QUOTED;
			break;
		case HTTP_BS_CHUNK_SIZE_LF:
			if (c != LF)
				goto err;
			b->hb_line = 0;
			b->hb_digits = 0;
			b->hb_state = b->hb_remaining == 0 ? HTTP_BS_TRAILER :
			    HTTP_BS_CHUNK_DATA;
			break;
		case HTTP_BS_CHUNK_DATA_CR:
			if (c != CR)
				goto err;
			b->hb_state = HTTP_BS_CHUNK_DATA_LF;
			break;
		case HTTP_BS_CHUNK_DATA_LF:
			if (c != LF)
				goto err;
			b->hb_state = HTTP_BS_CHUNK_SIZE;
			break;
		case HTTP_BS_TRAILER:
			if (c == CR) {
				b->hb_state = HTTP_BS_TRAILER_END_LF;
				break;
			}
			/* As in the head: no obs-fold, no "x :". */
			if (!is_tchar(c) || b->hb_lines == HTTP_FIELDS_MAX)
				goto err;
			b->hb_lines++;
			b->hb_state = HTTP_BS_TRAILER_NAME;
			break;
		case HTTP_BS_TRAILER_NAME:
			if (c == ':')
				b->hb_state = HTTP_BS_TRAILER_VALUE;
			else if (!is_tchar(c))
				goto err;
			break;
		case HTTP_BS_TRAILER_VALUE:
			if (c == CR)
				b->hb_state = HTTP_BS_TRAILER_LF;
			else if (is_ctl(c))
				goto err;
			break;
		case HTTP_BS_TRAILER_LF:
			if (c != LF)
				goto err;
			b->hb_line = 0;
			b->hb_state = HTTP_BS_TRAILER;
			break;
		case HTTP_BS_TRAILER_END_LF:
			if (c != LF)
				goto err;
			b->hb_state = HTTP_BS_DONE;
			break;
		case HTTP_BS_DONE:
		case HTTP_BS_ERROR:
		case HTTP_BS_LENGTH:
		case HTTP_BS_CHUNK_DATA:
			/* handled above */
			break;
		}
		i++;
	}
	return i;
err:
	b->hb_state = HTTP_BS_ERROR;
	return i;
}

/*
 * Decides as soon as "HTTP/1.x NNN" and the byte after it (SP, or the CR
 * of a status line without a reason phrase) are in: the caller only needs
 * to know whether the server switched protocols, not the reason phrase.
 */
int
http_response_status(const uint8_t *buf, size_t len)
{
	static const char	 prefix[] = "HTTP/1.";
	size_t			 i;

	for (i = 0; i < len && i < HTTP_STATUS_MIN; i++) {
		if (i < 7 && buf[i] != (uint8_t)prefix[i])
			return -1;
		if (i == 7 && buf[i] != '0' && buf[i] != '1')
			return -1;
		if (i == 8 && buf[i] != SP)
			return -1;
		if (i == 9 && (buf[i] < '1' || buf[i] > '9'))
			return -1;
		if ((i == 10 || i == 11) && !is_digit(buf[i]))
			return -1;
		if (i == 12 && buf[i] != SP && buf[i] != CR)
			return -1;
	}
	if (i < HTTP_STATUS_MIN)
		return 0;
	return (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
}

/*
 * Where the CRLF that ends the line at <from> starts: the index of its CR,
 * or <len> when there is none.
 */
static size_t
line_end(const uint8_t *head, size_t len, size_t from)
{
	size_t	i;

	for (i = from; i + 1 < len; i++)
		if (head[i] == CR && head[i + 1] == LF)
			return i;
	return len;
}

/*
 * The next field line of an accepted head, from *<pos> (0 at the start:
 * the request line is skipped then, so it is never read as a field).
 * <line> takes the line with its CRLF, <name> the name (empty when the
 * line is not "token:", which http_parse_request never accepts), <value>
 * the value, OWS trimmed.  False at the empty line that ends the head, or
 * at the end of <len> for bytes that are not a whole head.
 */
static bool
head_next_field(const uint8_t *head, size_t len, size_t *pos,
    struct span *line, struct span *name, struct span *value)
{
	size_t	start, end, i;

	if (*pos == 0) {
		if ((end = line_end(head, len, 0)) == len)
			return false;
		*pos = end + 2;
	}
	start = *pos;
	end = line_end(head, len, start);
	if (end == len || end == start)
		return false;
	*pos = end + 2;
	line->s_p = head + start;
	line->s_len = end + 2 - start;
	for (i = start; i < end && is_tchar(head[i]); i++)
		;
	name->s_p = head + start;
	name->s_len = i < end && head[i] == ':' ? i - start : 0;
	value->s_p = head + i + 1;
	value->s_len = name->s_len > 0 ? end - i - 1 : 0;
	*value = span_trim_ows(*value);
	return true;
}

static bool
field_is(struct span name, const char *want)
{
	return name.s_len > 0 && span_eq_ci(name, want);
}

/* Appends <n> bytes to <out> at *<o>; false (nothing written) past <cap>. */
static bool
out_put(uint8_t *out, size_t cap, size_t *o, const void *p, size_t n)
{
	if (n > cap - *o)
		return false;
	if (n > 0)
		memcpy(out + *o, p, n);
	*o += n;
	return true;
}

unsigned
http_head_field(const uint8_t *head, size_t len, const char *name,
    const uint8_t **val, size_t *vlen)
{
	struct span	line, fname, fval;
	size_t		pos = 0;
	unsigned	n = 0;

	while (head_next_field(head, len, &pos, &line, &fname, &fval)) {
		if (!field_is(fname, name))
			continue;
		if (n++ == 0) {
			*val = fval.s_p;
			*vlen = fval.s_len;
		}
	}
	return n;
}

/*
 * Builds the new head in one pass over the old one: every field that is
 * kept is copied whole, so nothing but the named field can change, and a
 * value that could end a line is refused before anything is written.
 */
size_t
http_head_set_field(const uint8_t *head, size_t len, const char *name,
    const uint8_t *value, size_t vlen, uint8_t *out, size_t cap)
{
	struct span	line, fname, fval;
	size_t		pos = 0, o = 0, i, nlen;
	unsigned	kept = 0;

	nlen = strlen(name);
	if (!span_is_token((struct span){ (const uint8_t *)name, nlen }))
		return 0;
	for (i = 0; i < vlen; i++)
		if (is_ctl(value[i]))
			return 0;
	if ((i = line_end(head, len, 0)) == len ||
	    !out_put(out, cap, &o, head, i + 2))
		return 0;
	while (head_next_field(head, len, &pos, &line, &fname, &fval)) {
		if (field_is(fname, name))
			continue;
		/* Room must stay for the one added. */
		if (++kept == HTTP_FIELDS_MAX ||
		    !out_put(out, cap, &o, line.s_p, line.s_len))
			return 0;
	}
	if (!out_put(out, cap, &o, name, nlen) ||
	    !out_put(out, cap, &o, ": ", 2) ||
	    !out_put(out, cap, &o, value, vlen) ||
	    !out_put(out, cap, &o, "\r\n\r\n", 4))
		return 0;
	return o;
}

void
http_auth_credential(const uint8_t *val, size_t vlen, const uint8_t **cred,
    size_t *clen)
{
	struct span	v;
	size_t		i;

	v = span_trim_ows((struct span){ val, vlen });
	for (i = 0; i < v.s_len && is_tchar(v.s_p[i]); i++)
		;
	if (i > 0 && i < v.s_len && v.s_p[i] == SP) {
		/* Trimmed, so a byte other than SP follows the run. */
		while (v.s_p[i] == SP)
			i++;
		v.s_p += i;
		v.s_len -= i;
	}
	*cred = v.s_p;
	*clen = v.s_len;
}

const char *
http_result_str(enum http_result r)
{
	switch (r) {
	case HTTP_NEED_MORE:
		return "need-more";
	case HTTP_OK:
		return "ok";
	case HTTP_NOT_HTTP:
		return "not-http";
	case HTTP_MALFORMED:
		return "malformed";
	case HTTP_TOO_LARGE:
		return "too-large";
	}
	/* NOTREACHED */
	return "invalid";
}
