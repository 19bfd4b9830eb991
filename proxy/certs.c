#include "proxy/certs.h"

#include <sys/queue.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "common/fileio.h"
#include "common/strhash.h"

#define DAY			(24 * 60 * 60)
/* Certificates start an hour back: clocks of clients run slow too. */
#define BACKDATE		(60 * 60)
/* A leaf is minted again when less than this is left of it. */
#define LEAF_MARGIN		DAY
#define CA_DAYS			(5 * 365 + 1)
#define HOST_MAX		253
#define CN_MAX			64	/* ub-common-name (RFC 5280) */
#define BUCKETS_MIN		64

/* A name's entry: a leaf (X509) or an upstream session (SSL_SESSION). */
struct centry {
	struct centry		*ce_hnext;
	TAILQ_ENTRY(centry)	 ce_lru;	/* most recently used first */
	uint64_t		 ce_hash;
	time_t			 ce_stale;	/* used before then only */
	void			*ce_val;	/* owns */
	char			 ce_name[];
};

/* Names to entries, bounded, least recently used out; under c_mtx. */
struct ccache {
	struct centry		**cc_buckets;
	size_t			  cc_nbuckets;	/* a power of two, or 0 */
	size_t			  cc_count;
	size_t			  cc_max;
	TAILQ_HEAD(centry_list, centry) cc_lru;
	void			(*cc_free)(void *);
};

/* The extensions every leaf carries (one key: the same SKI too). */
static const struct extspec {
	int		 es_nid;
	const char	*es_val;
} leaf_exts[] = {
	{ NID_basic_constraints,	"critical,CA:FALSE" },
	{ NID_key_usage,		"critical,digitalSignature" },
	{ NID_ext_key_usage,		"serverAuth" },
	{ NID_subject_key_identifier,	"hash" },
	/* The CA's SKI; its name and serial if it has none. */
	{ NID_authority_key_identifier,	"keyid,issuer" },
}, ca_exts[] = {
	{ NID_basic_constraints,	"critical,CA:TRUE,pathlen:0" },
	{ NID_key_usage,		"critical,keyCertSign,cRLSign" },
	{ NID_subject_key_identifier,	"hash" },
	{ NID_authority_key_identifier,	"keyid:always" },
};
#define NLEAF_EXTS	(sizeof(leaf_exts) / sizeof(leaf_exts[0]))
#define NCA_EXTS	(sizeof(ca_exts) / sizeof(ca_exts[0]))

struct certs {
	atomic_int		 c_refs;
	X509			*c_ca;
	EVP_PKEY		*c_ca_key;
	const EVP_MD		*c_md;		/* NULL for EdDSA keys */
	STACK_OF(X509)		*c_chain;	/* the CA */
	char			*c_ca_pem;
	size_t			 c_ca_pem_len;
	EVP_PKEY		*c_leaf_key;
	X509_EXTENSION		*c_exts[NLEAF_EXTS];
	SSL_CTX			*c_server;
	SSL_CTX			*c_client;
	pthread_mutex_t		 c_mtx;
	struct ccache		 c_leaves;	/* X509 */
	struct ccache		 c_sess;	/* SSL_SESSION */
	atomic_uint_fast64_t	 c_minted;
};

static const unsigned char alpn_http11[] = "\x08http/1.1";

/* ---- errors ----------------------------------------------------------- */

static int __attribute__((format(printf, 3, 4)))
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	ERR_clear_error();
	return -1;
}

/* For calls on a connection: its thread's queue must stay clean. */
static int
ossl_fail(void)
{
	ERR_clear_error();
	return -1;
}

/* OpenSSL's last reason (a static string: fail() may clear the queue). */
static const char *
ossl_reason(void)
{
	const char	*s = ERR_reason_error_string(ERR_peek_last_error());

	return s != NULL ? s : "unknown error";
}

/* ---- the caches ------------------------------------------------------- */

static void
ccache_init(struct ccache *cc, size_t max, void (*freefn)(void *))
{
	cc->cc_buckets = NULL;
	cc->cc_nbuckets = cc->cc_count = 0;
	cc->cc_max = max;
	TAILQ_INIT(&cc->cc_lru);
	cc->cc_free = freefn;
}

static void
ccache_del(struct ccache *cc, struct centry *e)
{
	struct centry	**pp;

	pp = &cc->cc_buckets[e->ce_hash & (cc->cc_nbuckets - 1)];
	while (*pp != e)
		pp = &(*pp)->ce_hnext;
	*pp = e->ce_hnext;
	TAILQ_REMOVE(&cc->cc_lru, e, ce_lru);
	cc->cc_count--;
	if (e->ce_val != NULL)
		cc->cc_free(e->ce_val);
	free(e);
}

static void
ccache_trim(struct ccache *cc)
{
	while (cc->cc_count > cc->cc_max)
		ccache_del(cc, TAILQ_LAST(&cc->cc_lru, centry_list));
}

static void
ccache_clear(struct ccache *cc)
{
	cc->cc_max = 0;
	ccache_trim(cc);
	free(cc->cc_buckets);
	cc->cc_buckets = NULL;
	cc->cc_nbuckets = 0;
}

static struct centry *
ccache_lookup(struct ccache *cc, const char *name)
{
	struct centry	*e;
	uint64_t	 h = strhash(STRHASH_INIT, name);

	if (cc->cc_nbuckets == 0)
		return NULL;
	for (e = cc->cc_buckets[h & (cc->cc_nbuckets - 1)]; e != NULL;
	    e = e->ce_hnext)
		if (e->ce_hash == h && strcmp(e->ce_name, name) == 0)
			return e;
	return NULL;
}

/* <name>'s entry, made the most recent; one gone stale is dropped. */
static struct centry *
ccache_find(struct ccache *cc, const char *name, time_t now)
{
	struct centry	*e;

	if ((e = ccache_lookup(cc, name)) == NULL)
		return NULL;
	if (now >= e->ce_stale) {
		ccache_del(cc, e);
		return NULL;
	}
	TAILQ_REMOVE(&cc->cc_lru, e, ce_lru);
	TAILQ_INSERT_HEAD(&cc->cc_lru, e, ce_lru);
	return e;
}

static int
ccache_grow(struct ccache *cc)
{
	struct centry	**nb, *e;
	size_t		  n = cc->cc_nbuckets ? cc->cc_nbuckets * 2 : BUCKETS_MIN;

	if ((nb = calloc(n, sizeof(*nb))) == NULL)
		return -1;
	TAILQ_FOREACH(e, &cc->cc_lru, ce_lru) {
		e->ce_hnext = nb[e->ce_hash & (n - 1)];
		nb[e->ce_hash & (n - 1)] = e;
	}
	free(cc->cc_buckets);
	cc->cc_buckets = nb;
	cc->cc_nbuckets = n;
	return 0;
}

/*
 * Files <val> under <name> (replacing an entry of that name) as the most
 * recent.  0: the cache owns <val> (and may have freed it already, when
 * it holds nothing); -1: out of memory, the caller still owns it.
 */
static int
ccache_put(struct ccache *cc, const char *name, void *val, time_t stale)
{
	struct centry	*e;
	size_t		 len = strlen(name);

	if ((e = ccache_lookup(cc, name)) != NULL)
		ccache_del(cc, e);
	if (cc->cc_max == 0) {
		cc->cc_free(val);
		return 0;
	}
	if (cc->cc_count >= cc->cc_nbuckets && ccache_grow(cc) == -1 &&
	    cc->cc_nbuckets == 0)
		return -1;
	if ((e = malloc(sizeof(*e) + len + 1)) == NULL)
		return -1;
	memcpy(e->ce_name, name, len + 1);
	e->ce_hash = strhash(STRHASH_INIT, name);
	e->ce_stale = stale;
	e->ce_val = val;
	e->ce_hnext = cc->cc_buckets[e->ce_hash & (cc->cc_nbuckets - 1)];
	cc->cc_buckets[e->ce_hash & (cc->cc_nbuckets - 1)] = e;
	TAILQ_INSERT_HEAD(&cc->cc_lru, e, ce_lru);
	cc->cc_count++;
	ccache_trim(cc);
	return 0;
}

static void
leaf_free(void *p)
{
	X509_free(p);
}

static void
sess_free(void *p)
{
	SSL_SESSION_free(p);
}

/* ---- building certificates -------------------------------------------- */

/* Version 3, a random positive 128-bit serial, validity, the key. */
static X509 *
cert_new(EVP_PKEY *pub, time_t notbefore, long days)
{
	unsigned char	 sn[16];
	BIGNUM		*bn = NULL;
	X509		*x;

	if ((x = X509_new()) == NULL)
		return NULL;
	if (RAND_bytes(sn, sizeof(sn)) != 1)
		goto bad;
	/* Positive, and 16 bytes long in DER (no pad, no short one). */
	sn[0] = (sn[0] & 0x7f) | 0x40;
	if ((bn = BN_bin2bn(sn, sizeof(sn), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
	    X509_set_version(x, X509_VERSION_3) != 1 ||
	    ASN1_TIME_set(X509_getm_notBefore(x), notbefore) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), notbefore + days * DAY) ==
	    NULL || X509_set_pubkey(x, pub) != 1)
		goto bad;
	BN_free(bn);
	return x;
bad:
	BN_free(bn);
	X509_free(x);
	return NULL;
}

static X509_EXTENSION *
ext_make(X509V3_CTX *ctx, const struct extspec *es)
{
	return X509V3_EXT_conf_nid(NULL, ctx, es->es_nid, es->es_val);
}

static int
name_add(X509_NAME *n, int nid, const char *s, size_t len)
{
	return X509_NAME_add_entry_by_NID(n, nid, MBSTRING_UTF8,
	    (const unsigned char *)s, (int)len, -1, 0) == 1 ? 0 : -1;
}

/* The SAN, the CN; the rest is the same for every leaf. */
static X509 *
leaf_mint(struct certs *c, const char *host, time_t now)
{
	GENERAL_NAMES	*gens = NULL;
	GENERAL_NAME	*gn = NULL;
	ASN1_IA5STRING	*ia5 = NULL;
	X509		*x;
	size_t		 i, len = strlen(host);

	if ((x = cert_new(c->c_leaf_key, now - BACKDATE, CERTS_LEAF_DAYS)) ==
	    NULL)
		return NULL;
	if (X509_set_issuer_name(x, X509_get_subject_name(c->c_ca)) != 1 ||
	    name_add(X509_get_subject_name(x), NID_commonName, host,
	    len > CN_MAX ? CN_MAX : len) == -1)
		goto bad;
	for (i = 0; i < NLEAF_EXTS; i++)
		if (X509_add_ext(x, c->c_exts[i], -1) != 1)
			goto bad;
	if ((gens = GENERAL_NAMES_new()) == NULL ||
	    (gn = GENERAL_NAME_new()) == NULL ||
	    (ia5 = ASN1_IA5STRING_new()) == NULL ||
	    ASN1_STRING_set(ia5, host, (int)len) != 1)
		goto bad;
	GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
	ia5 = NULL;
	if (sk_GENERAL_NAME_push(gens, gn) == 0)
		goto bad;
	gn = NULL;
	if (X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0,
	    X509V3_ADD_DEFAULT) != 1 ||
	    X509_sign(x, c->c_ca_key, c->c_md) == 0)
		goto bad;
	GENERAL_NAMES_free(gens);
	return x;
bad:
	ASN1_IA5STRING_free(ia5);
	GENERAL_NAME_free(gn);
	GENERAL_NAMES_free(gens);
	X509_free(x);
	return NULL;
}

/* Letters, digits, '-', '_' and dots: nothing a SAN could misread. */
static bool
host_ok(const char *host)
{
	size_t	i;

	for (i = 0; host[i] != '\0'; i++) {
		if (i >= HOST_MAX)
			return false;
		if (!((host[i] >= 'a' && host[i] <= 'z') ||
		    (host[i] >= 'A' && host[i] <= 'Z') ||
		    (host[i] >= '0' && host[i] <= '9') ||
		    host[i] == '-' || host[i] == '_' || host[i] == '.'))
			return false;
	}
	return i > 0;
}

/* ---- the TLS contexts ------------------------------------------------- */

/* "http/1.1" when the client offers it; else no ALPN, never h2. */
static int
alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	unsigned int	i, n;

	for (i = 0; i < inlen; i += 1 + n) {
		n = in[i];
		if (n > inlen - i - 1)
			break;
		if (n == alpn_http11[0] &&
		    memcmp(in + i + 1, alpn_http11 + 1, n) == 0) {
			*out = in + i + 1;
			*outlen = (unsigned char)n;
			return SSL_TLSEXT_ERR_OK;
		}
	}
	return SSL_TLSEXT_ERR_NOACK;
}

/* A new upstream session: cached under the SNI certs_client_prepare() set. */
static int
sess_new(SSL *ssl, SSL_SESSION *sess)
{
	struct certs	*c = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	const char	*host;
	time_t		 stale;
	int		 r;

	host = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	if (c == NULL || host == NULL || !SSL_SESSION_is_resumable(sess))
		return 0;
	stale = (time_t)SSL_SESSION_get_time(sess) +
	    (time_t)SSL_SESSION_get_timeout(sess);
	pthread_mutex_lock(&c->c_mtx);
	r = ccache_put(&c->c_sess, host, sess, stale);
	pthread_mutex_unlock(&c->c_mtx);
	return r == 0;		/* 1: the reference is the cache's */
}

static SSL_CTX *
ctx_new(const SSL_METHOD *meth)
{
	SSL_CTX	*ctx;

	if ((ctx = SSL_CTX_new(meth)) == NULL)
		return NULL;
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	return ctx;
}

static int
server_ctx_make(struct certs *c, char *err, size_t errlen)
{
	if ((c->c_server = ctx_new(TLS_server_method())) == NULL)
		return fail(err, errlen, "TLS server context: %s",
		    ossl_reason());
	SSL_CTX_set_options(c->c_server, SSL_OP_NO_TICKET |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_session_cache_mode(c->c_server, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(c->c_server, 0);
	SSL_CTX_set_alpn_select_cb(c->c_server, alpn_select, NULL);
	return 0;
}

/* "system": OpenSSL's default file and directory (or SSL_CERT_*). */
static int
trust_system(SSL_CTX *ctx, char *err, size_t errlen)
{
	const char	*file, *dir;
	struct stat	 st;

	if ((file = getenv(X509_get_default_cert_file_env())) == NULL)
		file = X509_get_default_cert_file();
	if ((dir = getenv(X509_get_default_cert_dir_env())) == NULL)
		dir = X509_get_default_cert_dir();
	/* Without either every upstream would fail, each with a riddle. */
	if (stat(file, &st) == -1 && stat(dir, &st) == -1)
		return fail(err, errlen, "upstream_ca system: neither %s nor "
		    "%s exists (install ca-certificates or name a PEM bundle)",
		    file, dir);
	if (SSL_CTX_set_default_verify_paths(ctx) != 1)
		return fail(err, errlen, "upstream_ca system: %s",
		    ossl_reason());
	return 0;
}

static int
trust_load(SSL_CTX *ctx, const char *path, char *err, size_t errlen)
{
	X509_STORE	*st = SSL_CTX_get_cert_store(ctx);
	X509		*x;
	BIO		*b;
	char		*buf;
	size_t		 len, n = 0;
	unsigned long	 e;

	if (path == NULL || strcmp(path, "system") == 0)
		return trust_system(ctx, err, errlen);
	if ((buf = file_read(path, &len)) == NULL)
		return fail(err, errlen, "upstream_ca %s: %s", path,
		    strerror(errno));
	if ((b = BIO_new_mem_buf(buf, (int)len)) == NULL) {
		free(buf);
		return fail(err, errlen, "upstream_ca %s: %s", path,
		    ossl_reason());
	}
	while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		/* Fails on nothing but memory; a duplicate is no error. */
		X509_STORE_add_cert(st, x);
		X509_free(x);
		n++;
	}
	BIO_free(b);
	free(buf);
	e = ERR_peek_last_error();
	if (n == 0)
		return fail(err, errlen, "upstream_ca %s: no PEM certificate "
		    "in it", path);
	if (ERR_GET_LIB(e) != ERR_LIB_PEM ||
	    ERR_GET_REASON(e) != PEM_R_NO_START_LINE)
		return fail(err, errlen, "upstream_ca %s: certificate %zu: %s",
		    path, n + 1, ossl_reason());
	ERR_clear_error();
	return 0;
}

static int
client_ctx_make(struct certs *c, const char *upstream_ca, char *err,
    size_t errlen)
{
	SSL_CTX	*ctx;

	if ((ctx = c->c_client = ctx_new(TLS_client_method())) == NULL)
		return fail(err, errlen, "TLS client context: %s",
		    ossl_reason());
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	/* 0 is success here. */
	if (SSL_CTX_set_alpn_protos(ctx, alpn_http11,
	    sizeof(alpn_http11) - 1) != 0)
		return fail(err, errlen, "TLS client context: ALPN: %s",
		    ossl_reason());
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT |
	    SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_set_app_data(ctx, c);
	SSL_CTX_sess_set_new_cb(ctx, sess_new);
	return trust_load(ctx, upstream_ca, err, errlen);
}

/* ---- loading the CA --------------------------------------------------- */

static int
no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	*(bool *)arg = true;
	return -1;
}

/* <t> as "2026-01-31 12:00:00 UTC" into <buf>. */
static const char *
time_str(const ASN1_TIME *t, char *buf, size_t len)
{
	struct tm	tm;

	if (ASN1_TIME_to_tm(t, &tm) != 1 ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, len, "?");
	return buf;
}

/* A PEM file into a memory BIO, or NULL with errno's reason in <err>. */
static BIO *
pem_open(const char *what, const char *path, char **bufp, size_t *lenp,
    char *err, size_t errlen)
{
	BIO	*b;

	if ((*bufp = file_read(path, lenp)) == NULL) {
		fail(err, errlen, "%s %s: %s", what, path, strerror(errno));
		return NULL;
	}
	if ((b = BIO_new_mem_buf(*bufp, (int)*lenp)) == NULL) {
		fail(err, errlen, "%s %s: %s", what, path, ossl_reason());
		OPENSSL_clear_free(*bufp, *lenp);
	}
	return b;
}

/* The file may hold the key as well (mitmproxy-ca.pem): cleansed. */
static int
ca_cert_read(struct certs *c, const char *path, char *err, size_t errlen)
{
	X509	*extra = NULL;
	BIO	*b;
	char	*buf;
	size_t	 len;

	if ((b = pem_open("ca_cert", path, &buf, &len, err, errlen)) == NULL)
		return -1;
	if ((c->c_ca = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
		extra = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	OPENSSL_clear_free(buf, len);
	if (c->c_ca == NULL)
		return fail(err, errlen, "ca_cert %s: no PEM certificate "
		    "could be read (%s)", path, ossl_reason());
	if (extra != NULL) {
		X509_free(extra);
		return fail(err, errlen, "ca_cert %s: more than one "
		    "certificate; it must hold only the CA that signs", path);
	}
	ERR_clear_error();
	return 0;
}

static int
ca_key_read(struct certs *c, const char *path, char *err, size_t errlen)
{
	BIO	*b;
	char	*buf;
	size_t	 len;
	bool	 encrypted = false;

	if ((b = pem_open("ca_key", path, &buf, &len, err, errlen)) == NULL)
		return -1;
	c->c_ca_key = PEM_read_bio_PrivateKey(b, NULL, no_passphrase,
	    &encrypted);
	BIO_free(b);
	OPENSSL_clear_free(buf, len);
	if (c->c_ca_key == NULL && encrypted)
		return fail(err, errlen, "ca_key %s: encrypted; egressd needs "
		    "it without a passphrase (and mode 0600)", path);
	if (c->c_ca_key == NULL)
		return fail(err, errlen, "ca_key %s: no PEM private key could "
		    "be read (%s)", path, ossl_reason());
	ERR_clear_error();
	return 0;
}

/* Could it sign our leaves, now? */
static int
ca_check(struct certs *c, const char *cpath, const char *kpath, char *err,
    size_t errlen)
{
	uint32_t	flags = X509_get_extension_flags(c->c_ca);
	char		tbuf[64];

	if (X509_check_private_key(c->c_ca, c->c_ca_key) != 1)
		return fail(err, errlen, "ca_key %s does not match ca_cert %s",
		    kpath, cpath);
	if (flags & EXFLAG_INVALID)
		return fail(err, errlen, "ca_cert %s: malformed extensions",
		    cpath);
	if (!(flags & EXFLAG_BCONS) || !(flags & EXFLAG_CA))
		return fail(err, errlen, "ca_cert %s is not a CA certificate "
		    "(no basicConstraints CA:TRUE)", cpath);
	if ((flags & EXFLAG_KUSAGE) &&
	    !(X509_get_key_usage(c->c_ca) & KU_KEY_CERT_SIGN))
		return fail(err, errlen, "ca_cert %s: its keyUsage does not "
		    "allow keyCertSign", cpath);
	if (X509_cmp_current_time(X509_get0_notAfter(c->c_ca)) <= 0)
		return fail(err, errlen, "ca_cert %s expired on %s", cpath,
		    time_str(X509_get0_notAfter(c->c_ca), tbuf, sizeof(tbuf)));
	if (X509_cmp_current_time(X509_get0_notBefore(c->c_ca)) >= 0)
		return fail(err, errlen, "ca_cert %s is not valid before %s",
		    cpath, time_str(X509_get0_notBefore(c->c_ca), tbuf,
		    sizeof(tbuf)));
	/* EdDSA signs the message itself, without a separate digest. */
	c->c_md = EVP_PKEY_is_a(c->c_ca_key, "ED25519") ||
	    EVP_PKEY_is_a(c->c_ca_key, "ED448") ? NULL : EVP_sha256();
	return 0;
}

/* The CA as chain, as PEM; the leaf key and the leaves' extensions. */
static int
leaf_setup(struct certs *c, char *err, size_t errlen)
{
	X509V3_CTX	 ctx;
	X509		*tmpl = NULL;
	BIO		*b = NULL;
	char		*p;
	long		 n;
	size_t		 i;

	if ((c->c_chain = sk_X509_new_null()) == NULL ||
	    sk_X509_push(c->c_chain, c->c_ca) == 0)
		return fail(err, errlen, "CA chain: %s", ossl_reason());
	X509_up_ref(c->c_ca);
	if ((b = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_X509(b, c->c_ca) != 1 ||
	    (n = BIO_get_mem_data(b, &p)) <= 0 ||
	    (c->c_ca_pem = malloc((size_t)n + 1)) == NULL)
		goto bad;
	memcpy(c->c_ca_pem, p, (size_t)n);
	c->c_ca_pem[n] = '\0';
	c->c_ca_pem_len = (size_t)n;
	if ((c->c_leaf_key = EVP_EC_gen("P-256")) == NULL ||
	    (tmpl = X509_new()) == NULL ||
	    X509_set_pubkey(tmpl, c->c_leaf_key) != 1)
		goto bad;
	X509V3_set_ctx(&ctx, c->c_ca, tmpl, NULL, NULL, 0);
	for (i = 0; i < NLEAF_EXTS; i++)
		if ((c->c_exts[i] = ext_make(&ctx, &leaf_exts[i])) == NULL)
			goto bad;
	X509_free(tmpl);
	BIO_free(b);
	return 0;
bad:
	X509_free(tmpl);
	BIO_free(b);
	return fail(err, errlen, "leaf template: %s", ossl_reason());
}

static void
certs_free(struct certs *c)
{
	size_t	i;

	ccache_clear(&c->c_leaves);
	ccache_clear(&c->c_sess);
	if (c->c_client != NULL) {
		/* An SSL may outlive us (a bug): let it not call back. */
		SSL_CTX_sess_set_new_cb(c->c_client, NULL);
		SSL_CTX_set_app_data(c->c_client, NULL);
		SSL_CTX_free(c->c_client);
	}
	SSL_CTX_free(c->c_server);
	for (i = 0; i < NLEAF_EXTS; i++)
		X509_EXTENSION_free(c->c_exts[i]);
	sk_X509_pop_free(c->c_chain, X509_free);
	X509_free(c->c_ca);
	EVP_PKEY_free(c->c_ca_key);	/* clears the private key */
	EVP_PKEY_free(c->c_leaf_key);
	free(c->c_ca_pem);
	pthread_mutex_destroy(&c->c_mtx);
	free(c);
}

struct certs *
certs_load(const char *ca_cert, const char *ca_key, const char *upstream_ca,
    char *err, size_t errlen)
{
	struct certs	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		fail(err, errlen, "%s", strerror(errno));
		return NULL;
	}
	atomic_init(&c->c_refs, 1);
	atomic_init(&c->c_minted, 0);
	pthread_mutex_init(&c->c_mtx, NULL);
	ccache_init(&c->c_leaves, CERTS_CACHE_MAX, leaf_free);
	ccache_init(&c->c_sess, CERTS_SESS_MAX, sess_free);
	if (ca_cert_read(c, ca_cert, err, errlen) == -1 ||
	    ca_key_read(c, ca_key, err, errlen) == -1 ||
	    ca_check(c, ca_cert, ca_key, err, errlen) == -1 ||
	    leaf_setup(c, err, errlen) == -1 ||
	    server_ctx_make(c, err, errlen) == -1 ||
	    client_ctx_make(c, upstream_ca, err, errlen) == -1) {
		certs_free(c);
		return NULL;
	}
	return c;
}

struct certs *
certs_ref(struct certs *c)
{
	atomic_fetch_add(&c->c_refs, 1);
	return c;
}

void
certs_unref(struct certs *c)
{
	if (c == NULL || atomic_fetch_sub(&c->c_refs, 1) != 1)
		return;
	certs_free(c);
}

SSL_CTX *
certs_server_ctx(struct certs *c)
{
	return c->c_server;
}

SSL_CTX *
certs_client_ctx(struct certs *c)
{
	return c->c_client;
}

const char *
certs_ca_pem(const struct certs *c, size_t *len)
{
	if (len != NULL)
		*len = c->c_ca_pem_len;
	return c->c_ca_pem;
}

/* ---- per connection --------------------------------------------------- */

int
certs_client_prepare(struct certs *c, SSL *ssl, const char *host)
{
	SSL_SESSION	*sess = NULL;
	struct centry	*e;
	int		 r = 0;

	if (SSL_set_tlsext_host_name(ssl, host) != 1 ||
	    SSL_set1_host(ssl, host) != 1)
		return ossl_fail();
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	pthread_mutex_lock(&c->c_mtx);
	if ((e = ccache_find(&c->c_sess, host, time(NULL))) != NULL) {
		/* Its connection was freed without SSL_shutdown(): dead. */
		if (SSL_SESSION_is_resumable(e->ce_val)) {
			sess = e->ce_val;
			SSL_SESSION_up_ref(sess);
		}
		/* A TLS 1.3 ticket is for one use; its successor comes. */
		if (sess == NULL ||
		    SSL_SESSION_get_protocol_version(sess) >= TLS1_3_VERSION)
			ccache_del(&c->c_sess, e);
	}
	pthread_mutex_unlock(&c->c_mtx);
	if (sess != NULL) {
		r = SSL_set_session(ssl, sess) == 1 ? 0 : ossl_fail();
		SSL_SESSION_free(sess);
	}
	return r;
}

int
certs_use_leaf(struct certs *c, SSL *ssl, const char *host)
{
	struct centry	*e;
	X509		*x = NULL;
	time_t		 now = time(NULL);
	int		 r;

	if (!host_ok(host))
		return -1;
	pthread_mutex_lock(&c->c_mtx);
	if ((e = ccache_find(&c->c_leaves, host, now)) != NULL) {
		x = e->ce_val;
		X509_up_ref(x);
	}
	pthread_mutex_unlock(&c->c_mtx);
	if (x == NULL) {
		/* Outside the lock: other names are served meanwhile. */
		if ((x = leaf_mint(c, host, now)) == NULL)
			return ossl_fail();
		X509_up_ref(x);
		atomic_fetch_add(&c->c_minted, 1);
		pthread_mutex_lock(&c->c_mtx);
		if (ccache_put(&c->c_leaves, host, x, now - BACKDATE +
		    CERTS_LEAF_DAYS * DAY - LEAF_MARGIN) == -1)
			X509_free(x);
		pthread_mutex_unlock(&c->c_mtx);
	}
	r = SSL_use_cert_and_key(ssl, x, c->c_leaf_key, c->c_chain, 1) == 1 ?
	    0 : ossl_fail();
	X509_free(x);
	return r;
}

void
certs_set_cache_max(struct certs *c, size_t max)
{
	pthread_mutex_lock(&c->c_mtx);
	c->c_leaves.cc_max = max;
	ccache_trim(&c->c_leaves);
	pthread_mutex_unlock(&c->c_mtx);
}

static size_t
ccache_count(struct certs *c, struct ccache *cc)
{
	size_t	n;

	pthread_mutex_lock(&c->c_mtx);
	n = cc->cc_count;
	pthread_mutex_unlock(&c->c_mtx);
	return n;
}

size_t
certs_cache_count(struct certs *c)
{
	return ccache_count(c, &c->c_leaves);
}

size_t
certs_session_count(struct certs *c)
{
	return ccache_count(c, &c->c_sess);
}

uint64_t
certs_minted(struct certs *c)
{
	return atomic_load(&c->c_minted);
}

/* ---- key files -------------------------------------------------------- */

int
certs_check_key_file_mode(const char *ca_key, char *err, size_t errlen)
{
	struct stat	st;

	if (stat(ca_key, &st) == -1)
		return fail(err, errlen, "ca_key %s: %s", ca_key,
		    strerror(errno));
	if (st.st_mode & 077)
		return fail(err, errlen, "ca_key %s is open to group or "
		    "others (mode %04o); chmod 600 it", ca_key,
		    (unsigned)(st.st_mode & 07777));
	return 0;
}

/* A new file of <mode> (never wider, whatever existed) holding <p>. */
static int
file_create(const char *path, mode_t mode, const char *p, size_t len,
    char *err, size_t errlen)
{
	ssize_t	n;
	int	fd, e;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, mode)) == -1)
		return fail(err, errlen, "%s: %s", path, strerror(errno));
	for (; len > 0; p += n, len -= (size_t)n)
		if ((n = write(fd, p, len)) <= 0) {
			if (n == -1 && errno == EINTR)
				n = 0;
			else
				goto bad;
		}
	if (fsync(fd) == -1)
		goto bad;
	if (close(fd) == 0)
		return 0;
	fd = -1;
bad:
	e = errno != 0 ? errno : EIO;
	if (fd != -1)
		close(fd);
	unlink(path);
	return fail(err, errlen, "%s: %s", path, strerror(e));
}

/* <key>, else <x>, as PEM into a new file; keys in a secure-heap BIO. */
static int
pem_create(const char *path, mode_t mode, X509 *x, EVP_PKEY *key, char *err,
    size_t errlen)
{
	BIO	*b;
	char	*p;
	long	 n;
	int	 r = -1;

	if ((b = BIO_new(key != NULL ? BIO_s_secmem() : BIO_s_mem())) == NULL)
		return fail(err, errlen, "%s: %s", path, ossl_reason());
	if ((key != NULL ? PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0,
	    NULL, NULL) : PEM_write_bio_X509(b, x)) != 1 ||
	    (n = BIO_get_mem_data(b, &p)) <= 0)
		fail(err, errlen, "%s: %s", path, ossl_reason());
	else
		r = file_create(path, mode, p, (size_t)n, err, errlen);
	BIO_free(b);		/* a secmem BIO clears its buffer */
	return r;
}

/* Self-signed, distinct per host and run (same-named CAs confuse). */
static X509 *
ca_make(EVP_PKEY *key)
{
	X509V3_CTX	 ctx;
	X509_EXTENSION	*ext;
	X509_NAME	*name;
	X509		*x;
	char		 host[HOST_MAX + 2], day[16], cn[CN_MAX + 1];
	unsigned char	 rnd[4];
	time_t		 now = time(NULL);
	struct tm	 tm;
	size_t		 i;

	if (gethostname(host, sizeof(host)) == -1)
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';
	host[strcspn(host, ".")] = '\0';
	gmtime_r(&now, &tm);
	strftime(day, sizeof(day), "%Y-%m-%d", &tm);
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return NULL;
	/* 24 + 20 + 1 + 10 + 1 + 8: within CN_MAX. */
	snprintf(cn, sizeof(cn), "egressd interception CA %.20s %.10s "
	    "%02x%02x%02x%02x", host, day, rnd[0], rnd[1], rnd[2], rnd[3]);
	if ((x = cert_new(key, now - BACKDATE, CA_DAYS)) == NULL)
		return NULL;
	name = X509_get_subject_name(x);
	if (name_add(name, NID_organizationName, "egressd", 7) == -1 ||
	    name_add(name, NID_commonName, cn, strlen(cn)) == -1 ||
	    X509_set_issuer_name(x, name) != 1)
		goto bad;
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	for (i = 0; i < NCA_EXTS; i++) {
		if ((ext = ext_make(&ctx, &ca_exts[i])) == NULL)
			goto bad;
		if (X509_add_ext(x, ext, -1) != 1) {
			X509_EXTENSION_free(ext);
			goto bad;
		}
		X509_EXTENSION_free(ext);
	}
	if (X509_sign(x, key, EVP_sha256()) == 0)
		goto bad;
	return x;
bad:
	X509_free(x);
	return NULL;
}

int
certs_gen_ca(const char *dir, char *err, size_t errlen)
{
	char		 kpath[PATH_MAX], cpath[PATH_MAX];
	const char	*paths[] = { kpath, cpath };
	struct stat	 st;
	EVP_PKEY	*key = NULL;
	X509		*x = NULL;
	size_t		 i;
	int		 r = -1;

	if ((size_t)snprintf(kpath, sizeof(kpath), "%s/ca.key", dir) >=
	    sizeof(kpath) ||
	    (size_t)snprintf(cpath, sizeof(cpath), "%s/ca.crt", dir) >=
	    sizeof(cpath))
		return fail(err, errlen, "%s: name too long", dir);
	if (mkdir(dir, 0755) == -1 && errno != EEXIST)
		return fail(err, errlen, "%s: %s", dir, strerror(errno));
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode))
		return fail(err, errlen, "%s: not a directory", dir);
	for (i = 0; i < 2; i++) {
		if (lstat(paths[i], &st) == 0)
			return fail(err, errlen, "%s exists; not overwriting "
			    "it", paths[i]);
		if (errno != ENOENT)
			return fail(err, errlen, "%s: %s", paths[i],
			    strerror(errno));
	}
	if ((key = EVP_EC_gen("P-256")) == NULL || (x = ca_make(key)) == NULL)
		fail(err, errlen, "making the CA: %s", ossl_reason());
	else if (pem_create(kpath, 0600, NULL, key, err, errlen) == 0) {
		if (pem_create(cpath, 0644, x, NULL, err, errlen) == 0)
			r = 0;
		else
			unlink(kpath);
	}
	X509_free(x);
	EVP_PKEY_free(key);
	return r;
}
