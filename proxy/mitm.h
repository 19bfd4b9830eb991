/*
 * proxy/mitm.h - one TLS session of an intercepted connection
 * (docs/interception.md): egressd as the server to the client, with a
 * certificate minted for the SNI, or as the client to the real server,
 * whose certificate it verifies.
 *
 * Non-blocking, on the connection's own socket; the connection
 * (proxy/conn.c) owns the socket, drives both sessions from its events
 * and judges the plaintext in between.  mitm_wants_write() says whether
 * the session waits for the socket to become writable; reading is the
 * connection's persistent read event.
 */
#ifndef EGRESS_MITM_H
#define EGRESS_MITM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

struct certs;
struct evbuffer;

enum mitm_io {
	MITM_OK,		/* progress or nothing to do: wait for events */
	MITM_EOF,		/* the peer closed (its close_notify or FIN) */
	MITM_FAIL		/* the session is broken: close */
};

struct mitm_tls {
	SSL		*mt_ssl;	/* owns */
	/*
	 * Server side: the peeked ClientHello, read from the socket before
	 * egressd knew it would terminate TLS.  The session reads it from
	 * this memory BIO first, then from the socket.
	 */
	BIO		*mt_prefix;	/* borrowed from mt_ssl; NULL once used */
	int		 mt_fd;		/* borrowed */
	bool		 mt_done;	/* handshake finished */
	/* The last read, or the last write or handshake, waits for POLLOUT
	 * (kept apart: a read must not forget a blocked write). */
	bool		 mt_rd_wants_wr;
	bool		 mt_wr_wants_wr;
	bool		 mt_eof;	/* the peer closed */
	bool		 mt_shut;	/* our close_notify and FIN are out */
};

/*
 * Server side on <fd> for <host>, with the leaf minted (or taken from
 * the cache) and the <len> bytes at <peek> that the client already sent.
 * 0, or -1 (nothing to free).
 */
int		mitm_server(struct mitm_tls *t, struct certs *cs, int fd,
		    const char *host, const uint8_t *peek, size_t len);
/* Client side on <fd>: SNI and verified name <host>.  0 or -1. */
int		mitm_client(struct mitm_tls *t, struct certs *cs, int fd,
		    const char *host);
/* Moves the handshake on: MITM_OK (mt_done says whether it finished). */
enum mitm_io	mitm_handshake(struct mitm_tls *t);
/* Why a client-side handshake failed on the server's certificate, or
 * NULL when the failure was something else. */
const char     *mitm_verify_error(const struct mitm_tls *t);
/* Appends plaintext to <dst> until about <max> bytes are there. */
enum mitm_io	mitm_read(struct mitm_tls *t, struct evbuffer *dst, size_t max);
/* Writes (and drains) what <src> holds, as far as the socket takes it;
 * <n> gets the bytes written. */
enum mitm_io	mitm_write(struct mitm_tls *t, struct evbuffer *src, size_t *n);
/* Sends close_notify and shuts the socket's write side. */
void		mitm_shutdown(struct mitm_tls *t);
void		mitm_free(struct mitm_tls *t);

static inline bool
mitm_wants_write(const struct mitm_tls *t)
{
	return t->mt_rd_wants_wr || t->mt_wr_wants_wr;
}

#endif /* EGRESS_MITM_H */
