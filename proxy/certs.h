/*
 * proxy/certs.h - interception's certificates (docs/interception.md): the
 * operator's CA, leaf certificates minted from it and cached per name, and
 * the two TLS contexts.  No I/O but reading the PEM files at load (and
 * writing them in certs_gen_ca()); thread-safe: workers share one struct
 * certs.
 *
 * A reload builds a new struct certs and drops the old one; connections
 * keep a reference for as long as an SSL made from its contexts lives
 * (the contexts' callbacks point back at it).
 *
 * Decisions:
 * - Leaves: one ECDSA P-256 key per struct certs (generated at load, so a
 *   reload changes it), as mitmproxy does; minting is then one signature.
 * - Downstream: no resumption (no session cache, no tickets): a full
 *   handshake with a cached leaf costs little, and no ticket key has to be
 *   kept and rotated.
 * - Upstream: sessions are cached per host inside (SSL_CTX_sess_set_new_cb,
 *   keyed by the SNI that certs_client_prepare() set), at most
 *   CERTS_SESS_MAX hosts, least recently used out; a TLS 1.3 session is
 *   used once (RFC 8446 C.4), a TLS 1.2 one until it expires.  OpenSSL
 *   spoils the session of an SSL freed without SSL_shutdown() (it was
 *   perhaps cut by an attacker): end a good connection with SSL_shutdown()
 *   for its session to be used again.
 * - The CA file holds exactly one certificate: the one that signs (no
 *   intermediates); the key may sit in the same file (mitmproxy's
 *   mitmproxy-ca.pem).
 */
#ifndef EGRESS_CERTS_H
#define EGRESS_CERTS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#define CERTS_CACHE_MAX		10000	/* leaves cached, by default */
#define CERTS_SESS_MAX		1000	/* upstream hosts with a session */
#define CERTS_LEAF_DAYS		7	/* a leaf's validity */

struct certs;

/*
 * Loads the CA (cert + key must match; the cert must be a CA:
 * basicConstraints CA:TRUE, keyUsage, if present, allowing keyCertSign,
 * valid now) and the upstream trust ("system" or NULL = OpenSSL's default
 * paths, else a PEM bundle path).  NULL with a one-line reason in <err>
 * (naming the file) on failure.  Starts with one reference.
 */
struct certs	*certs_load(const char *ca_cert, const char *ca_key,
		    const char *upstream_ca, char *err, size_t errlen);
struct certs	*certs_ref(struct certs *c);
/* Frees at zero (private keys are cleansed by OpenSSL); NULL is fine. */
void		 certs_unref(struct certs *c);

/*
 * Downstream context: server side, TLS 1.2 and 1.3, ALPN "http/1.1" when
 * the client offers it and no ALPN otherwise (never h2), partial writes
 * and moving write buffers, no renegotiation, no resumption.  It holds no
 * certificate: certs_use_leaf() puts one on each SSL.  Borrowed.
 */
SSL_CTX		*certs_server_ctx(struct certs *c);
/*
 * Upstream context: client side, TLS 1.2+, peer verified against
 * upstream_ca, ALPN offering only "http/1.1", the same modes, the session
 * cache above.  Borrowed.
 */
SSL_CTX		*certs_client_ctx(struct certs *c);
/*
 * Prepares <ssl> (from certs_client_ctx()) for <host>: SNI, the name the
 * certificate must carry (no partial wildcards), and a cached session for
 * that host if there is one.  0 or -1.
 */
int		 certs_client_prepare(struct certs *c, SSL *ssl,
		    const char *host);

/*
 * Installs on <ssl> the leaf for <host> (a normalized DNS name: letters,
 * digits, '-', '_', '.', at most 253), its key and the CA as chain.  The
 * leaf: SAN DNS:<host>, CN <host> (its first 64 bytes), valid from an hour
 * ago for exactly CERTS_LEAF_DAYS, random positive 128-bit serial,
 * basicConstraints CA:FALSE, keyUsage digitalSignature (both critical),
 * extendedKeyUsage serverAuth, SKI, AKI; signed with SHA-256 (acceptable
 * to OpenSSL's X509_V_FLAG_X509_STRICT, Python 3.13's default).  Cached
 * per name, least recently used out past the cache's bound, minted again
 * when less than a day of it is left.  0 or -1 (a bad name, or OpenSSL
 * failed).
 */
int		 certs_use_leaf(struct certs *c, SSL *ssl, const char *host);
/* Bounds the leaf cache (0 = no caching); evicts at once if needed. */
void		 certs_set_cache_max(struct certs *c, size_t max);
size_t		 certs_cache_count(struct certs *c);	/* leaves cached */
uint64_t	 certs_minted(struct certs *c);		/* leaves minted */
size_t		 certs_session_count(struct certs *c);	/* hosts, upstream */

/* The CA certificate as PEM (borrowed, NUL-terminated). */
const char	*certs_ca_pem(const struct certs *c, size_t *len);

/*
 * egressd --gen-ca DIR: creates DIR if missing (0755) and writes
 * DIR/ca.key (0600 from its creation) and DIR/ca.crt (0644): ECDSA P-256,
 * CN "egressd interception CA <host> <date> <random>", valid 5 years from
 * an hour ago, basicConstraints critical CA:TRUE,pathlen:0, keyUsage
 * critical keyCertSign,cRLSign, SKI and AKI.  Refuses (-1, reason in
 * <err>) if either file exists; leaves neither behind on failure.
 */
int		 certs_gen_ca(const char *dir, char *err, size_t errlen);

/*
 * -1 with a reason in <err> when the key file is readable or writable by
 * group or others (mode & 077), or cannot be examined; else 0.  The daemon
 * should refuse to start on -1, as ssh does with its keys.
 */
int		 certs_check_key_file_mode(const char *ca_key, char *err,
		    size_t errlen);

#endif /* EGRESS_CERTS_H */
