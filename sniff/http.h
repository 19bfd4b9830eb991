/*
 * sniff/http.h - strict HTTP/1.x request head parser and body framer.
 *
 * Pure code: no I/O, no allocation, no logging.  Strictness is the point:
 * anything two HTTP implementations could read differently (bare CR, bare
 * LF, obs-fold, Content-Length with Transfer-Encoding, conflicting lengths,
 * missing or duplicated Host, Host disagreeing with an absolute-form target,
 * a host name with an empty label, a fragment in the target) is
 * HTTP_MALFORMED, because egressd and the upstream server must agree on
 * where each request starts, or a second request could hide in a body.
 */
#ifndef EGRESS_HTTP_H
#define EGRESS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum http_result {
	HTTP_NEED_MORE,		/* a prefix of a plausible request head */
	HTTP_OK,		/* complete head parsed; <out> is filled */
	HTTP_NOT_HTTP,		/* first bytes are not an HTTP/1.x request */
	HTTP_MALFORMED,		/* HTTP, but not acceptable (see above) */
	HTTP_TOO_LARGE		/* head longer than the caller's limit */
};

enum http_framing {
	HTTP_BODY_NONE,		/* no body follows the head */
	HTTP_BODY_LENGTH,	/* Content-Length bytes follow */
	HTTP_BODY_CHUNKED	/* chunked transfer coding follows */
};

#define HTTP_HOST_MAX	256
#define HTTP_METHOD_MAX	32

struct http_request {
	char		method[HTTP_METHOD_MAX];/* token as sent, NUL-terminated */
	char		host[HTTP_HOST_MAX];	/* from Host or absolute URI, port
						   and IPv6 brackets removed, case
						   kept, NUL-terminated */
	uint16_t	port;		/* port given with the host, 0 = none */
	size_t		path_off;	/* path in the caller's buffer, ... */
	size_t		path_len;	/* ... query and fragment excluded */
	int		version_minor;	/* HTTP/1.<n>: 0 or 1 */
	enum http_framing framing;
	uint64_t	content_length;	/* when framing == HTTP_BODY_LENGTH */
	bool		upgrade;	/* Upgrade header with Connection: upgrade */
	bool		upgrade_h2c;	/* ... and h2c is among its protocols */
	bool		keep_alive;	/* connection persists after this one */
	size_t		head_len;	/* bytes up to and including CRLFCRLF */
};

/* Resumable state for finding the end of the head; zero it to start. */
struct http_sniff {
	size_t		hs_scanned;	/* bytes already known not to end it */
};

void		 http_sniff_init(struct http_sniff *st);

/*
 * Parses the request head at the start of <buf>[0..<len>).  Called again
 * with a grown buffer after HTTP_NEED_MORE; <st> makes the rescan resume,
 * so trickled input costs O(total), and the verdict never depends on how
 * the bytes were split.  A first byte that is not a token character, or a
 * method longer than 31 bytes, is HTTP_NOT_HTTP at once, as is the HTTP/2
 * prior-knowledge preface; a leading empty line or a method followed by
 * whitespace other than SP is HTTP_MALFORMED, because servers accept
 * those as requests.  A head longer than <max> bytes gives HTTP_TOO_LARGE.
 * <out> is written only on HTTP_OK; its path offsets point into <buf>, and
 * path_len 0 (absolute-form "http://h") means "/".  The path is raw: no
 * %-decoding, no dot-segment removal.
 */
enum http_result http_parse_request(struct http_sniff *st, const uint8_t *buf,
		    size_t len, size_t max, struct http_request *out);

/*
 * Request body framer: tells how many of the bytes that follow a head
 * belong to its body, so the next request head can be found and checked.
 * Only HTTP_BS_DONE and HTTP_BS_ERROR mean anything outside http.c; the
 * other states are the chunked-coding grammar, one byte at a time.
 */
enum http_body_state {
	HTTP_BS_DONE,		/* body complete; next bytes are a new head */
	HTTP_BS_ERROR,		/* malformed chunked coding */
	HTTP_BS_LENGTH,		/* inside a Content-Length body */
	HTTP_BS_CHUNK_SIZE,	/* reading chunk-size hex digits */
	HTTP_BS_EXT_NAME0,	/* after ';': first char of an ext name */
	HTTP_BS_EXT_NAME,	/* inside a chunk-ext name */
	HTTP_BS_EXT_VALUE0,	/* after '=': token or opening quote */
	HTTP_BS_EXT_TOKEN,	/* inside a token chunk-ext value */
	HTTP_BS_EXT_QUOTED,	/* inside a quoted-string value */
	HTTP_BS_EXT_QPAIR,	/* after a backslash in a quoted-string */
	HTTP_BS_EXT_QEND,	/* after the closing quote: ';' or CR */
	HTTP_BS_CHUNK_SIZE_LF,	/* CR seen after size/ext, expect LF */
	HTTP_BS_CHUNK_DATA,	/* inside chunk data */
	HTTP_BS_CHUNK_DATA_CR,	/* expect CR after chunk data */
	HTTP_BS_CHUNK_DATA_LF,	/* expect LF after chunk data */
	HTTP_BS_TRAILER,	/* at the start of a trailer line */
	HTTP_BS_TRAILER_NAME,	/* inside a trailer field name */
	HTTP_BS_TRAILER_VALUE,	/* inside a trailer field value */
	HTTP_BS_TRAILER_LF,	/* CR seen ending a trailer line */
	HTTP_BS_TRAILER_END_LF	/* CR seen on the empty last line */
};

struct http_body {
	enum http_body_state hb_state;
	uint64_t	hb_remaining;	/* bytes left in length body / chunk */
	unsigned	hb_digits;	/* hex digits read of this chunk-size */
	unsigned	hb_lines;	/* trailer lines read so far */
	size_t		hb_line;	/* bytes of the current size/trailer line */
};

/* Sets <b> up for the body that follows <req>'s head. */
void		 http_body_init(struct http_body *b, const struct http_request *req);

/*
 * Feeds <len> bytes that follow the head (or earlier body bytes).  Returns
 * how many belong to the body; fewer than <len> only once the body is
 * complete (state HTTP_BS_DONE) or on HTTP_BS_ERROR.
 */
size_t		 http_body_feed(struct http_body *b, const uint8_t *buf, size_t len);

/*
 * Peeks at a response's status line: returns the status code (100-999)
 * once "HTTP/1.x NNN" and the SP (or CR) after it are in, 0 while more
 * bytes are needed, -1 when the bytes are not an HTTP/1.x status line.
 * The reason phrase is not read.  Used only to see whether an Upgrade
 * request was answered with 101.
 */
int		 http_response_status(const uint8_t *buf, size_t len);

/*
 * Header fields of a request head that http_parse_request() accepted:
 * <head>[0..<len>), <len> being its head_len, so the head ends in CRLFCRLF
 * and every field is one "name:value" line (no obs-fold).  The request
 * line is never taken as a field.  Names compare case-insensitively
 * (ASCII) and whole: "Authorization" is not "Authorization-Extra".
 */

/*
 * How many fields are named <name>; the first one's value, leading and
 * trailing SP/HTAB trimmed, in *<val> and *<vlen> (untouched when 0).
 */
unsigned	 http_head_field(const uint8_t *head, size_t len,
		    const char *name, const uint8_t **val, size_t *vlen);

/*
 * Writes into <out> (capacity <cap>, not overlapping <head>) the head
 * with every field named <name> removed and "<name>: <value>\r\n" added as
 * the last field, before the final CRLF.  The request line and all other
 * fields are copied byte for byte, in order.  Returns the new length, or
 * 0 when it does not fit in <cap>, when <name> is not a token, when
 * <value> holds CR, LF, NUL or any other control but HTAB (a head must
 * never carry a split or smuggled field, and the strict parser refuses
 * the others), or when the result would hold more fields than
 * http_parse_request() accepts (100).
 */
size_t		 http_head_set_field(const uint8_t *head, size_t len,
		    const char *name, const uint8_t *value, size_t vlen,
		    uint8_t *out, size_t cap);

/*
 * The credential in an Authorization-style value, OWS trimmed:
 * "<scheme> <token>" (scheme any token, e.g. Bearer, Basic, token; one or
 * more SP between) gives <token>; any other value (no SP, or no token
 * before it) gives itself.  For the phantom-token check; comparing in
 * constant time is the caller's job.  *<cred> points into <val>.
 */
void		 http_auth_credential(const uint8_t *val, size_t vlen,
		    const uint8_t **cred, size_t *clen);

const char	*http_result_str(enum http_result r);

#endif /* EGRESS_HTTP_H */
