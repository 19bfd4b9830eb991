#include "proxy/mitm.h"

#include <errno.h>
#include <event2/buffer.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <string.h>
#include <sys/socket.h>

#include "proxy/certs.h"

/* One TLS record's plaintext: what SSL_read can hand over at once. */
#define MITM_CHUNK	16384

static int
mitm_common(struct mitm_tls *t, SSL_CTX *ctx, int fd)
{
	memset(t, 0, sizeof(*t));
	t->mt_fd = fd;
	if ((t->mt_ssl = SSL_new(ctx)) == NULL)
		return -1;
	/*
	 * Many servers (and clients) close without close_notify; the HTTP
	 * framing egressd checks already says where a message ends.
	 */
	SSL_set_options(t->mt_ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_set_mode(t->mt_ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	return 0;
}

int
mitm_server(struct mitm_tls *t, struct certs *cs, int fd, const char *host,
    const uint8_t *peek, size_t len)
{
	BIO	*rb = NULL, *wb = NULL;

	if (mitm_common(t, certs_server_ctx(cs), fd) == -1)
		goto fail;
	if (certs_use_leaf(cs, t->mt_ssl, host) == -1)
		goto fail;
	if ((rb = BIO_new(BIO_s_mem())) == NULL ||
	    (wb = BIO_new_socket(fd, BIO_NOCLOSE)) == NULL)
		goto fail;
	/* Empty means "more later", not EOF: the socket follows. */
	BIO_set_mem_eof_return(rb, -1);
	if (len > 0 && BIO_write(rb, peek, (int)len) != (int)len)
		goto fail;
	SSL_set_bio(t->mt_ssl, rb, wb);
	t->mt_prefix = rb;
	SSL_set_accept_state(t->mt_ssl);
	return 0;
fail:
	BIO_free(rb);
	BIO_free(wb);
	SSL_free(t->mt_ssl);
	t->mt_ssl = NULL;
	ERR_clear_error();
	return -1;
}

int
mitm_client(struct mitm_tls *t, struct certs *cs, int fd, const char *host)
{
	if (mitm_common(t, certs_client_ctx(cs), fd) == -1 ||
	    certs_client_prepare(cs, t->mt_ssl, host) == -1 ||
	    SSL_set_fd(t->mt_ssl, fd) != 1) {
		SSL_free(t->mt_ssl);
		t->mt_ssl = NULL;
		ERR_clear_error();
		return -1;
	}
	SSL_set_connect_state(t->mt_ssl);
	return 0;
}

/*
 * What an SSL call's result <rc> means.  1: call again (the prefix was
 * used up and the socket takes over); 0: wait; -1: EOF; -2: broken.
 */
static int
mitm_outcome(struct mitm_tls *t, int rc, bool *wants_wr)
{
	switch (SSL_get_error(t->mt_ssl, rc)) {
	case SSL_ERROR_WANT_READ:
		if (t->mt_prefix != NULL &&
		    BIO_ctrl_pending(t->mt_prefix) == 0) {
			BIO	*sb = BIO_new_socket(t->mt_fd, BIO_NOCLOSE);

			if (sb == NULL)
				return -2;
			SSL_set0_rbio(t->mt_ssl, sb);	/* frees the prefix */
			t->mt_prefix = NULL;
			return 1;
		}
		return 0;
	case SSL_ERROR_WANT_WRITE:
		*wants_wr = true;
		return 0;
	case SSL_ERROR_ZERO_RETURN:
		return -1;
	case SSL_ERROR_SYSCALL:
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		/* FALLTHROUGH */
	default:
		return -2;
	}
}

enum mitm_io
mitm_handshake(struct mitm_tls *t)
{
	int	rc, o;

	t->mt_wr_wants_wr = false;
	while (!t->mt_done) {
		ERR_clear_error();
		if ((rc = SSL_do_handshake(t->mt_ssl)) == 1) {
			t->mt_done = true;
			break;
		}
		if ((o = mitm_outcome(t, rc, &t->mt_wr_wants_wr)) == 1)
			continue;
		if (o == 0)
			return MITM_OK;
		return MITM_FAIL;
	}
	return MITM_OK;
}

const char *
mitm_verify_error(const struct mitm_tls *t)
{
	long	v;

	if (t->mt_ssl == NULL || (v = SSL_get_verify_result(t->mt_ssl)) ==
	    X509_V_OK)
		return NULL;
	return X509_verify_cert_error_string(v);
}

enum mitm_io
mitm_read(struct mitm_tls *t, struct evbuffer *dst, size_t max)
{
	struct evbuffer_iovec	v;
	size_t			got;
	int			rc, o;

	t->mt_rd_wants_wr = false;
	while (!t->mt_eof && evbuffer_get_length(dst) < max) {
		if (evbuffer_reserve_space(dst, MITM_CHUNK, &v, 1) < 1)
			return MITM_FAIL;
		ERR_clear_error();
		rc = SSL_read_ex(t->mt_ssl, v.iov_base, v.iov_len, &got);
		if (rc == 1) {
			v.iov_len = got;
			evbuffer_commit_space(dst, &v, 1);
			continue;
		}
		if ((o = mitm_outcome(t, 0, &t->mt_rd_wants_wr)) == 1)
			continue;
		if (o == 0)
			return MITM_OK;
		if (o == -1) {
			t->mt_eof = true;
			return MITM_EOF;
		}
		return MITM_FAIL;
	}
	return t->mt_eof ? MITM_EOF : MITM_OK;
}

enum mitm_io
mitm_write(struct mitm_tls *t, struct evbuffer *src, size_t *n)
{
	struct evbuffer_iovec	v;
	size_t			put;
	int			o;

	*n = 0;
	t->mt_wr_wants_wr = false;
	while (evbuffer_peek(src, -1, NULL, &v, 1) > 0 && v.iov_len > 0) {
		ERR_clear_error();
		if (SSL_write_ex(t->mt_ssl, v.iov_base, v.iov_len, &put) ==
		    1) {
			evbuffer_drain(src, put);
			*n += put;
			continue;
		}
		if ((o = mitm_outcome(t, 0, &t->mt_wr_wants_wr)) == 0)
			return MITM_OK;
		return o == -1 ? MITM_EOF : MITM_FAIL;
	}
	return MITM_OK;
}

void
mitm_shutdown(struct mitm_tls *t)
{
	if (t->mt_shut || t->mt_ssl == NULL)
		return;
	t->mt_shut = true;
	ERR_clear_error();
	/* Best effort: the FIN that follows says the same. */
	if (t->mt_done)
		(void)SSL_shutdown(t->mt_ssl);
	ERR_clear_error();
	(void)shutdown(t->mt_fd, SHUT_WR);
}

void
mitm_free(struct mitm_tls *t)
{
	SSL_free(t->mt_ssl);
	t->mt_ssl = NULL;
	t->mt_prefix = NULL;
}
