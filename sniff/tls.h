/*
 * sniff/tls.h - TLS ClientHello sniffer: SNI and ECH presence.
 *
 * Pure code: no I/O, no allocation, no logging.  The caller accumulates the
 * client's first bytes in one buffer and calls tls_sniff() again with the
 * whole (grown) buffer each time more arrive; <st> remembers how far the
 * record layer was already walked, so a ClientHello trickled one byte per
 * segment costs O(total) and not O(n^2).
 */
#ifndef EGRESS_TLS_H
#define EGRESS_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tls_result {
	TLS_NEED_MORE,		/* a prefix of a plausible ClientHello so far */
	TLS_OK,			/* complete ClientHello parsed; <out> is filled */
	TLS_NOT_TLS,		/* first bytes are not a TLS handshake record */
	TLS_MALFORMED,		/* TLS, but not a well-formed ClientHello */
	TLS_TOO_LARGE		/* ClientHello would exceed the caller's limit */
};

/* Longest DNS name (253) plus NUL, rounded. */
#define TLS_SNI_MAX	256

struct tls_hello {
	bool	has_sni;		/* a host_name entry was present */
	char	sni[TLS_SNI_MAX];	/* as sent (case kept), NUL-terminated */
	bool	ech;			/* encrypted_client_hello ext present */
	size_t	consumed;		/* bytes of the records that held it */
};

/* Resumable state; opaque to callers, zeroed by tls_sniff_init(). */
struct tls_sniff {
	size_t		ts_rec_off;	/* offset of next unwalked record */
	size_t		ts_hs_have;	/* handshake bytes seen in records */
	size_t		ts_hs_need;	/* 4 + handshake length, 0 = unknown */
	uint8_t		ts_hs_hdr[4];	/* handshake header as it arrives */
};

void		 tls_sniff_init(struct tls_sniff *st);

/*
 * Sniffs <buf>[0..<len>), the client's bytes from the start of the
 * connection.  <max> caps the ClientHello's total size on the wire: larger
 * gives TLS_TOO_LARGE as soon as the length fields say so, and on TLS_OK
 * out->consumed <= <max>.  <out> is written only on TLS_OK.
 *
 * <st> keeps offsets, not pointers, so the buffer may move between calls,
 * but <len> must never shrink (that gives TLS_MALFORMED).  Every result
 * but TLS_NEED_MORE is final: calling again gives the same one.  The
 * verdict does not depend on how the bytes were split into calls.  The
 * ClientHello must end where its record ends; bytes after that record
 * (early data, say) are not looked at.
 */
enum tls_result	 tls_sniff(struct tls_sniff *st, const uint8_t *buf, size_t len,
		    size_t max, struct tls_hello *out);

const char	*tls_result_str(enum tls_result r);

#endif /* EGRESS_TLS_H */
