/*
 * tests/unit/test_certs.c - proxy/certs.c: the CA files, the leaves, the
 * cache, and real TLS handshakes over in-memory BIO pairs (no sockets).
 *
 * Three CAs are made once into a temporary directory: "mitm" (what
 * egressd mints from), "up" (the upstream servers' CA, trusted through
 * upstream_ca) and "other" (trusted by nobody).
 */
#include "proxy/certs.h"

#include <sys/stat.h>

#include <ftw.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "check_main.h"

#define HOST		"api.example.com"
#define PLEN		256	/* a path under tmp */

static char	tmp[64];
static char	mitm_crt[PLEN], mitm_key[PLEN];
static char	up_crt[PLEN], up_key[PLEN];
static char	other_crt[PLEN], other_key[PLEN];

/* ---- helpers ---------------------------------------------------------- */

static void
gen_into(const char *name, char *crt, char *key)
{
	char	err[256];

	snprintf(crt, PLEN, "%s/%s", tmp, name);
	ck_assert_msg(certs_gen_ca(crt, err, sizeof(err)) == 0, "%s", err);
	snprintf(key, PLEN, "%s/%s/ca.key", tmp, name);
	snprintf(crt, PLEN, "%s/%s/ca.crt", tmp, name);
}

static void
setup(void)
{
	strcpy(tmp, "/tmp/test_certs.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	gen_into("mitm", mitm_crt, mitm_key);
	gen_into("up", up_crt, up_key);
	gen_into("other", other_crt, other_key);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void
teardown(void)
{
	nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static struct certs *
load(const char *crt, const char *key, const char *upstream)
{
	struct certs	*c;
	char		 err[256];

	c = certs_load(crt, key, upstream, err, sizeof(err));
	ck_assert_msg(c != NULL, "%s", err);
	return c;
}

/* Expects certs_load() to fail saying <what> (and naming the file). */
static void
load_fails(const char *crt, const char *key, const char *upstream,
    const char *what, const char *file)
{
	char	err[256] = "";

	ck_assert_ptr_null(certs_load(crt, key, upstream, err, sizeof(err)));
	ck_assert_msg(strstr(err, what) != NULL, "\"%s\" lacks \"%s\"", err,
	    what);
	ck_assert_msg(strstr(err, file) != NULL, "\"%s\" lacks \"%s\"", err,
	    file);
	ck_assert_ptr_null(strchr(err, '\n'));
	ck_assert_uint_eq(ERR_peek_error(), 0);
}

static void
write_file(const char *path, const char *s)
{
	FILE	*f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(s, f);
	ck_assert_int_eq(fclose(f), 0);
}

static char *
read_file(const char *path)
{
	static char	 buf[16384];
	FILE		*f = fopen(path, "r");
	size_t		 n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void
pem_write(const char *path, X509 *x, EVP_PKEY *key, const EVP_CIPHER *enc)
{
	FILE	*f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	if (x != NULL)
		ck_assert_int_eq(PEM_write_X509(f, x), 1);
	if (key != NULL)
		ck_assert_int_eq(PEM_write_PrivateKey(f, key, enc,
		    (unsigned char *)"secret", enc ? 6 : 0, NULL, NULL), 1);
	ck_assert_int_eq(fclose(f), 0);
}

/* A self-signed certificate with <bc> and <ku> (NULL: none), valid from
 * <from> to <to> days from now, and its key: tmp/NAME.crt, tmp/NAME.key. */
static void
custom_ca(const char *name, const char *bc, const char *ku, long from,
    long to, char *crt, char *key)
{
	X509V3_CTX	 ctx;
	X509_EXTENSION	*ext;
	EVP_PKEY	*pk = EVP_EC_gen("P-256");
	X509		*x = X509_new();
	const char	*vals[2] = { bc, ku };
	const int	 nids[2] = { NID_basic_constraints, NID_key_usage };
	int		 i;

	ck_assert_ptr_nonnull(pk);
	ck_assert_ptr_nonnull(x);
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_time_adj_ex(X509_getm_notBefore(x), (int)from, 0, NULL);
	X509_time_adj_ex(X509_getm_notAfter(x), (int)to, 0, NULL);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	    MBSTRING_ASC, (const unsigned char *)name, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_set_pubkey(x, pk);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	for (i = 0; i < 2; i++) {
		if (vals[i] == NULL)
			continue;
		ext = X509V3_EXT_conf_nid(NULL, &ctx, nids[i], vals[i]);
		ck_assert_ptr_nonnull(ext);
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	ck_assert_int_ne(X509_sign(x, pk, EVP_sha256()), 0);
	snprintf(crt, PLEN, "%s/%s.crt", tmp, name);
	snprintf(key, PLEN, "%s/%s.key", tmp, name);
	pem_write(crt, x, NULL, NULL);
	pem_write(key, NULL, pk, NULL);
	X509_free(x);
	EVP_PKEY_free(pk);
}

static X509 *
pem_cert(const char *path)
{
	FILE	*f = fopen(path, "r");
	X509	*x;

	ck_assert_ptr_nonnull(f);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	ck_assert_ptr_nonnull(x);
	return x;
}

/* <x> against <ca> the way Python 3.13 does: X509_V_FLAG_X509_STRICT. */
static int
verify_strict(X509 *x, X509 *ca, const char *host)
{
	X509_STORE	*st = X509_STORE_new();
	X509_STORE_CTX	*ctx = X509_STORE_CTX_new();
	X509_VERIFY_PARAM *vp;
	int		 r;

	X509_STORE_add_cert(st, ca);
	X509_STORE_CTX_init(ctx, st, x, NULL);
	vp = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_flags(vp, X509_V_FLAG_X509_STRICT);
	if (host != NULL) {
		X509_VERIFY_PARAM_set_purpose(vp, X509_PURPOSE_SSL_SERVER);
		X509_VERIFY_PARAM_set1_host(vp, host, 0);
	}
	r = X509_verify_cert(ctx) == 1 ? X509_V_OK :
	    X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	return r;
}

/* The leaf certs_use_leaf() put on a fresh SSL (a new reference). */
static X509 *
leaf_of(struct certs *c, const char *host, EVP_PKEY **keyp)
{
	SSL	*ssl = SSL_new(certs_server_ctx(c));
	X509	*x;

	ck_assert_ptr_nonnull(ssl);
	ck_assert_int_eq(certs_use_leaf(c, ssl, host), 0);
	x = SSL_get_certificate(ssl);
	ck_assert_ptr_nonnull(x);
	X509_up_ref(x);
	if (keyp != NULL) {
		*keyp = SSL_get_privatekey(ssl);
		EVP_PKEY_up_ref(*keyp);
	}
	SSL_free(ssl);
	return x;
}

/*
 * Runs a handshake between <cl> and <sv> over a BIO pair, then a byte
 * from the server (the client takes TLS 1.3 tickets on the way).  0 when
 * both ends finished.  Frees neither.
 */
static int
handshake(SSL *cl, SSL *sv)
{
	BIO	*b1, *b2;
	char	 ch;
	int	 i, r, done[2] = { 0, 0 };
	SSL	*ends[2] = { cl, sv };

	ck_assert_int_eq(BIO_new_bio_pair(&b1, 0, &b2, 0), 1);
	SSL_set_bio(cl, b1, b1);
	SSL_set_bio(sv, b2, b2);
	SSL_set_connect_state(cl);
	SSL_set_accept_state(sv);
	for (i = 0; i < 64 && !(done[0] && done[1]); i++) {
		for (int k = 0; k < 2; k++) {
			if (done[k])
				continue;
			if ((r = SSL_do_handshake(ends[k])) == 1)
				done[k] = 1;
			else if (SSL_get_error(ends[k], r) !=
			    SSL_ERROR_WANT_READ) {
				ERR_clear_error();
				return -1;
			}
		}
	}
	if (!(done[0] && done[1]))
		return -1;
	ck_assert_int_eq(SSL_write(sv, "x", 1), 1);
	ck_assert_int_eq(SSL_read(cl, &ch, 1), 1);
	ck_assert_int_eq(ch, 'x');
	return 0;
}

/* A client that trusts <ca_crt> and checks <host>, as a sandbox would. */
static SSL *
sandbox_client(SSL_CTX **ctxp, const char *ca_crt, const char *host,
    const unsigned char *alpn, unsigned alpnlen, int maxver)
{
	SSL_CTX	*ctx = SSL_CTX_new(TLS_client_method());
	SSL	*ssl;

	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(SSL_CTX_load_verify_file(ctx, ca_crt), 1);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx),
	    X509_V_FLAG_X509_STRICT);
	if (maxver != 0)
		SSL_CTX_set_max_proto_version(ctx, maxver);
	ssl = SSL_new(ctx);
	ck_assert_ptr_nonnull(ssl);
	SSL_set_tlsext_host_name(ssl, host);
	SSL_set1_host(ssl, host);
	if (alpn != NULL)
		ck_assert_int_eq(SSL_set_alpn_protos(ssl, alpn, alpnlen), 0);
	*ctxp = ctx;
	return ssl;
}

/* ---- gen-ca ----------------------------------------------------------- */

START_TEST(test_gen_ca_files)
{
	struct stat	 st;
	char		 dir[128], crt[PLEN], key[PLEN], err[256], before[16384];
	mode_t		 old = umask(0);	/* the key must not care */

	snprintf(dir, sizeof(dir), "%s/new", tmp);
	ck_assert_msg(certs_gen_ca(dir, err, sizeof(err)) == 0, "%s", err);
	umask(old);
	snprintf(crt, sizeof(crt), "%s/ca.crt", dir);
	snprintf(key, sizeof(key), "%s/ca.key", dir);
	ck_assert_int_eq(stat(dir, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0755);
	ck_assert_int_eq(stat(key, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(stat(crt, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0644);
	ck_assert_int_eq(certs_check_key_file_mode(key, err, sizeof(err)), 0);

	/* Never overwritten, not even one of the two. */
	strcpy(before, read_file(crt));
	ck_assert_int_eq(certs_gen_ca(dir, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "exists") != NULL, "%s", err);
	ck_assert_str_eq(read_file(crt), before);
	ck_assert_int_eq(unlink(key), 0);
	ck_assert_int_eq(certs_gen_ca(dir, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "ca.crt exists") != NULL, "%s", err);
	ck_assert_int_eq(access(key, F_OK), -1);
	ck_assert_str_eq(read_file(crt), before);

	/* A file where the directory should be. */
	ck_assert_int_eq(certs_gen_ca(crt, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "not a directory") != NULL, "%s", err);
}
END_TEST

START_TEST(test_gen_ca_contents)
{
	X509		*ca = pem_cert(mitm_crt);
	EVP_PKEY	*pk = X509_get0_pubkey(ca);
	BASIC_CONSTRAINTS *bc;
	ASN1_BIT_STRING	*ku;
	const ASN1_OCTET_STRING *ski;
	AUTHORITY_KEYID	*aki;
	X509_NAME_ENTRY	*cn;
	char		 group[32];
	int		 crit, days, secs;

	bc = X509_get_ext_d2i(ca, NID_basic_constraints, &crit, NULL);
	ck_assert_ptr_nonnull(bc);
	ck_assert_int_eq(crit, 1);
	ck_assert(bc->ca);
	ck_assert_int_eq(ASN1_INTEGER_get(bc->pathlen), 0);
	BASIC_CONSTRAINTS_free(bc);
	ku = X509_get_ext_d2i(ca, NID_key_usage, &crit, NULL);
	ck_assert_ptr_nonnull(ku);
	ck_assert_int_eq(crit, 1);
	ASN1_BIT_STRING_free(ku);
	ck_assert_uint_eq(X509_get_key_usage(ca), KU_KEY_CERT_SIGN |
	    KU_CRL_SIGN);
	ski = X509_get0_subject_key_id(ca);
	ck_assert_ptr_nonnull(ski);
	aki = X509_get_ext_d2i(ca, NID_authority_key_identifier, NULL, NULL);
	ck_assert_ptr_nonnull(aki);
	ck_assert_int_eq(ASN1_OCTET_STRING_cmp(aki->keyid, ski), 0);
	AUTHORITY_KEYID_free(aki);
	ck_assert(EVP_PKEY_is_a(pk, "EC"));
	ck_assert_int_eq(EVP_PKEY_get_group_name(pk, group, sizeof(group),
	    NULL), 1);
	ck_assert_str_eq(group, "prime256v1");
	ck_assert_int_eq(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(ca),
	    X509_get0_notAfter(ca)), 1);
	ck_assert_int_eq(days, 5 * 365 + 1);
	ck_assert_int_le(X509_cmp_current_time(X509_get0_notBefore(ca)), 0);
	cn = X509_NAME_get_entry(X509_get_subject_name(ca),
	    X509_NAME_get_index_by_NID(X509_get_subject_name(ca),
	    NID_commonName, -1));
	ck_assert_ptr_nonnull(cn);
	ck_assert(strncmp((const char *)ASN1_STRING_get0_data(
	    X509_NAME_ENTRY_get_data(cn)), "egressd interception CA ", 24) ==
	    0);
	ck_assert_int_le(ASN1_STRING_length(X509_NAME_ENTRY_get_data(cn)), 64);
	/* Self-signed, and a trust anchor strict mode accepts. */
	ck_assert_int_eq(verify_strict(ca, ca, NULL), X509_V_OK);
	X509_free(ca);
}
END_TEST

START_TEST(test_key_file_mode)
{
	char	err[256];

	ck_assert_int_eq(certs_check_key_file_mode(mitm_key, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(chmod(mitm_key, 0640), 0);
	ck_assert_int_eq(certs_check_key_file_mode(mitm_key, err,
	    sizeof(err)), -1);
	ck_assert_msg(strstr(err, "mode 0640") != NULL, "%s", err);
	ck_assert_int_eq(chmod(mitm_key, 0600), 0);
	ck_assert_int_eq(certs_check_key_file_mode("/nonexistent/ca.key", err,
	    sizeof(err)), -1);
	ck_assert_msg(strstr(err, "No such file") != NULL, "%s", err);
}
END_TEST

/* ---- loading ---------------------------------------------------------- */

START_TEST(test_load_ok)
{
	struct certs	*c = load(mitm_crt, mitm_key, up_crt);
	size_t		 len;
	const char	*pem = certs_ca_pem(c, &len);

	ck_assert_str_eq(pem, read_file(mitm_crt));
	ck_assert_uint_eq(len, strlen(pem));
	ck_assert_ptr_nonnull(certs_server_ctx(c));
	ck_assert_ptr_nonnull(certs_client_ctx(c));
	ck_assert_ptr_eq(certs_ref(c), c);
	certs_unref(c);
	certs_unref(c);
	certs_unref(NULL);

	/* The system's trust, and cert and key in one file (mitmproxy's). */
	char both[PLEN];
	snprintf(both, sizeof(both), "%s/both.pem", tmp);
	write_file(both, read_file(mitm_key));
	FILE *f = fopen(both, "a");
	fputs(read_file(mitm_crt), f);
	fclose(f);
	if (access("/etc/ssl/certs", F_OK) == 0 ||
	    access(X509_get_default_cert_file(), F_OK) == 0)
		certs_unref(load(both, both, "system"));
	certs_unref(load(both, both, NULL));
}
END_TEST

START_TEST(test_load_errors)
{
	char	 bad[PLEN], crt[PLEN], key[PLEN], two[PLEN], enc[PLEN];
	X509	*leaf;
	EVP_PKEY *lkey;
	struct certs *c;

	load_fails("/nonexistent/ca.crt", mitm_key, up_crt,
	    "No such file", "ca_cert /nonexistent/ca.crt");
	load_fails(mitm_crt, "/nonexistent/ca.key", up_crt,
	    "No such file", "ca_key /nonexistent/ca.key");
	load_fails(mitm_crt, up_key, up_crt, "does not match", up_key);

	snprintf(bad, sizeof(bad), "%s/garbage.pem", tmp);
	write_file(bad, "hello, world\n");
	load_fails(bad, mitm_key, up_crt, "no PEM certificate", bad);
	load_fails(mitm_crt, bad, up_crt, "no PEM private key", bad);
	write_file(bad, "-----BEGIN CERTIFICATE-----\nnot base64!\n"
	    "-----END CERTIFICATE-----\n");
	load_fails(bad, mitm_key, up_crt, "no PEM certificate", bad);
	write_file(bad, "");
	load_fails(mitm_crt, mitm_key, bad, "no PEM certificate",
	    "upstream_ca");
	load_fails(mitm_crt, mitm_key, "/nonexistent/bundle.pem",
	    "No such file", "upstream_ca /nonexistent/bundle.pem");

	/* Not CAs: a leaf with its key; basicConstraints missing or false. */
	c = load(mitm_crt, mitm_key, up_crt);
	leaf = leaf_of(c, HOST, &lkey);
	certs_unref(c);
	snprintf(crt, sizeof(crt), "%s/leaf.crt", tmp);
	snprintf(key, sizeof(key), "%s/leaf.key", tmp);
	pem_write(crt, leaf, NULL, NULL);
	pem_write(key, NULL, lkey, NULL);
	load_fails(crt, key, up_crt, "not a CA", crt);
	custom_ca("nobc", NULL, NULL, -1, 30, crt, key);
	load_fails(crt, key, up_crt, "not a CA", crt);
	custom_ca("bcfalse", "critical,CA:FALSE", NULL, -1, 30, crt, key);
	load_fails(crt, key, up_crt, "not a CA", crt);
	custom_ca("noku", "critical,CA:TRUE", "critical,digitalSignature", -1,
	    30, crt, key);
	load_fails(crt, key, up_crt, "keyCertSign", crt);
	custom_ca("expired", "critical,CA:TRUE", NULL, -30, -1, crt, key);
	load_fails(crt, key, up_crt, "expired on", crt);
	custom_ca("future", "critical,CA:TRUE", NULL, 2, 30, crt, key);
	load_fails(crt, key, up_crt, "not valid before", crt);
	/* Without keyUsage a CA may sign anything. */
	custom_ca("kuless", "critical,CA:TRUE", NULL, -1, 30, crt, key);
	certs_unref(load(crt, key, up_crt));

	/* Two certificates in the CA file. */
	snprintf(two, sizeof(two), "%s/two.pem", tmp);
	pem_write(two, leaf, NULL, NULL);
	FILE *f = fopen(two, "a");
	fputs(read_file(mitm_crt), f);
	fclose(f);
	load_fails(two, key, up_crt, "more than one", two);

	/* An encrypted key. */
	snprintf(enc, sizeof(enc), "%s/enc.key", tmp);
	pem_write(enc, NULL, lkey, EVP_aes_128_cbc());
	load_fails(crt, enc, up_crt, "encrypted", enc);

	/* The system's trust, absent. */
	setenv(X509_get_default_cert_file_env(), "/nonexistent/f", 1);
	setenv(X509_get_default_cert_dir_env(), "/nonexistent/d", 1);
	load_fails(mitm_crt, mitm_key, "system", "neither", "/nonexistent/f");
	unsetenv(X509_get_default_cert_file_env());
	unsetenv(X509_get_default_cert_dir_env());

	X509_free(leaf);
	EVP_PKEY_free(lkey);
}
END_TEST

/* ---- leaves ----------------------------------------------------------- */

START_TEST(test_leaf_contents)
{
	struct certs	*c = load(mitm_crt, mitm_key, up_crt);
	X509		*ca = pem_cert(mitm_crt);
	EVP_PKEY	*key;
	X509		*x = leaf_of(c, HOST, &key);
	GENERAL_NAMES	*san;
	GENERAL_NAME	*gn;
	BASIC_CONSTRAINTS *bc;
	AUTHORITY_KEYID	*aki;
	ASN1_BIT_STRING	*ku;
	EXTENDED_KEY_USAGE *eku;
	const ASN1_INTEGER *sn;
	BIGNUM		*bn;
	char		 group[32], cn[300];
	int		 crit, days, secs, type;

	ck_assert_int_eq(verify_strict(x, ca, HOST), X509_V_OK);
	ck_assert_int_eq(verify_strict(x, ca, "other.example.com"),
	    X509_V_ERR_HOSTNAME_MISMATCH);
	ck_assert_int_eq(X509_check_host(x, HOST, 0, 0, NULL), 1);
	ck_assert_int_ne(X509_check_host(x, "other.example.com", 0, 0, NULL),
	    1);
	ck_assert_int_ne(X509_check_host(x, "example.com", 0, 0, NULL), 1);

	san = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	ck_assert_ptr_nonnull(san);
	ck_assert_int_eq(crit, 0);
	ck_assert_int_eq(sk_GENERAL_NAME_num(san), 1);
	gn = sk_GENERAL_NAME_value(san, 0);
	ck_assert_str_eq((const char *)ASN1_STRING_get0_data(
	    GENERAL_NAME_get0_value(gn, &type)), HOST);
	ck_assert_int_eq(type, GEN_DNS);
	GENERAL_NAMES_free(san);
	ck_assert_int_gt(X509_NAME_get_text_by_NID(X509_get_subject_name(x),
	    NID_commonName, cn, sizeof(cn)), 0);
	ck_assert_str_eq(cn, HOST);
	ck_assert_int_eq(X509_NAME_cmp(X509_get_issuer_name(x),
	    X509_get_subject_name(ca)), 0);

	bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
	ck_assert_ptr_nonnull(bc);
	ck_assert_int_eq(crit, 1);
	ck_assert(!bc->ca);
	BASIC_CONSTRAINTS_free(bc);
	ku = X509_get_ext_d2i(x, NID_key_usage, &crit, NULL);
	ck_assert_ptr_nonnull(ku);
	ck_assert_int_eq(crit, 1);
	ASN1_BIT_STRING_free(ku);
	ck_assert_uint_eq(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE);
	eku = X509_get_ext_d2i(x, NID_ext_key_usage, &crit, NULL);
	ck_assert_ptr_nonnull(eku);
	ck_assert_int_eq(sk_ASN1_OBJECT_num(eku), 1);
	ck_assert_int_eq(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)),
	    NID_server_auth);
	EXTENDED_KEY_USAGE_free(eku);
	ck_assert_ptr_nonnull(X509_get0_subject_key_id(x));
	aki = X509_get_ext_d2i(x, NID_authority_key_identifier, NULL, NULL);
	ck_assert_ptr_nonnull(aki);
	ck_assert_int_eq(ASN1_OCTET_STRING_cmp(aki->keyid,
	    X509_get0_subject_key_id(ca)), 0);
	AUTHORITY_KEYID_free(aki);

	/* At most 7 days: exactly, from an hour ago. */
	ck_assert_int_eq(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x),
	    X509_get0_notAfter(x)), 1);
	ck_assert_int_eq(days, 7);
	ck_assert_int_eq(secs, 0);
	ck_assert_int_lt(X509_cmp_time(X509_get0_notBefore(x),
	    &(time_t){ time(NULL) - 3500 }), 0);
	ck_assert_int_gt(X509_cmp_time(X509_get0_notBefore(x),
	    &(time_t){ time(NULL) - 3700 }), 0);

	sn = X509_get0_serialNumber(x);
	bn = ASN1_INTEGER_to_BN(sn, NULL);
	ck_assert(!BN_is_negative(bn) && !BN_is_zero(bn));
	ck_assert_int_eq(BN_num_bytes(bn), 16);
	BN_free(bn);

	ck_assert(EVP_PKEY_is_a(key, "EC"));
	ck_assert_int_eq(EVP_PKEY_get_group_name(key, group, sizeof(group),
	    NULL), 1);
	ck_assert_str_eq(group, "prime256v1");
	ck_assert_int_eq(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
	ck_assert_int_eq(X509_verify(x, X509_get0_pubkey(ca)), 1);

	EVP_PKEY_free(key);
	X509_free(x);
	X509_free(ca);
	certs_unref(c);
}
END_TEST

START_TEST(test_leaf_names)
{
	struct certs	*c = load(mitm_crt, mitm_key, up_crt);
	SSL		*ssl = SSL_new(certs_server_ctx(c));
	X509		*x, *ca = pem_cert(mitm_crt);
	char		 host[300], cn[300];
	size_t		 i;
	const char	*bad[] = { "", "a b.example", "a/b", "a\nb", "é.example",
	    "*.example.com", "a,DNS:evil.example" };

	/* 253 characters: the CN takes the first 64, the SAN all. */
	for (i = 0; i < 253; i++)
		host[i] = (i % 50 == 49) ? '.' : 'a' + (char)(i % 26);
	host[253] = '\0';
	x = leaf_of(c, host, NULL);
	ck_assert_int_eq(X509_NAME_get_text_by_NID(X509_get_subject_name(x),
	    NID_commonName, cn, sizeof(cn)), 64);
	ck_assert(strncmp(cn, host, 64) == 0);
	ck_assert_int_eq(X509_check_host(x, host, 0, 0, NULL), 1);
	ck_assert_int_eq(verify_strict(x, ca, host), X509_V_OK);
	X509_free(x);

	host[253] = 'a';
	host[254] = '\0';
	ck_assert_int_eq(certs_use_leaf(c, ssl, host), -1);
	for (i = 0; i < nitems(bad); i++)
		ck_assert_msg(certs_use_leaf(c, ssl, bad[i]) == -1, "%s",
		    bad[i]);
	ck_assert_uint_eq(certs_minted(c), 1);
	ck_assert_uint_eq(ERR_peek_error(), 0);
	SSL_free(ssl);
	X509_free(ca);
	certs_unref(c);
}
END_TEST

START_TEST(test_cache)
{
	struct certs	*c = load(mitm_crt, mitm_key, up_crt);
	X509		*a1, *a2, *b;

	a1 = leaf_of(c, "a.example", NULL);
	a2 = leaf_of(c, "a.example", NULL);
	ck_assert_ptr_eq(a1, a2);
	ck_assert_uint_eq(certs_minted(c), 1);
	b = leaf_of(c, "b.example", NULL);
	ck_assert_ptr_ne(a1, b);
	ck_assert_int_ne(ASN1_INTEGER_cmp(X509_get0_serialNumber(a1),
	    X509_get0_serialNumber(b)), 0);
	ck_assert_uint_eq(certs_minted(c), 2);
	ck_assert_uint_eq(certs_cache_count(c), 2);
	X509_free(a1);
	X509_free(a2);
	X509_free(b);

	/* Bounded at 2: a is used again, so c pushes out b. */
	certs_set_cache_max(c, 2);
	X509_free(leaf_of(c, "a.example", NULL));
	X509_free(leaf_of(c, "c.example", NULL));
	ck_assert_uint_eq(certs_minted(c), 3);
	ck_assert_uint_eq(certs_cache_count(c), 2);
	X509_free(leaf_of(c, "a.example", NULL));
	ck_assert_uint_eq(certs_minted(c), 3);
	X509_free(leaf_of(c, "b.example", NULL));
	ck_assert_uint_eq(certs_minted(c), 4);
	ck_assert_uint_eq(certs_cache_count(c), 2);

	/* Shrinking evicts at once; 0 caches nothing. */
	certs_set_cache_max(c, 1);
	ck_assert_uint_eq(certs_cache_count(c), 1);
	certs_set_cache_max(c, 0);
	ck_assert_uint_eq(certs_cache_count(c), 0);
	X509_free(leaf_of(c, "a.example", NULL));
	X509_free(leaf_of(c, "a.example", NULL));
	ck_assert_uint_eq(certs_minted(c), 6);
	ck_assert_uint_eq(certs_cache_count(c), 0);

	/* Many names: the table grows and every one is found again. */
	certs_set_cache_max(c, 1000);
	char name[32];
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "h%d.example", i % 150);
		X509_free(leaf_of(c, name, NULL));
	}
	ck_assert_uint_eq(certs_minted(c), 6 + 150);
	ck_assert_uint_eq(certs_cache_count(c), 150);
	certs_unref(c);
}
END_TEST

struct worker_arg {
	struct certs	*wa_c;
	int		 wa_seed;
};

static void *
leaf_worker(void *p)
{
	struct worker_arg *wa = p;
	char		 name[32];
	SSL		*ssl = SSL_new(certs_server_ctx(wa->wa_c));
	int		 i, bad = 0;

	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "n%d.example",
		    (i * 7 + wa->wa_seed) % 40);
		bad += certs_use_leaf(wa->wa_c, ssl, name) != 0;
	}
	SSL_free(ssl);
	return (void *)(intptr_t)bad;
}

START_TEST(test_cache_threads)
{
	struct certs	 *c = load(mitm_crt, mitm_key, up_crt);
	pthread_t	  t[4];
	struct worker_arg wa[4];
	void		 *r;
	int		  i;

	certs_set_cache_max(c, 16);
	for (i = 0; i < 4; i++) {
		wa[i].wa_c = c;
		wa[i].wa_seed = i;
		ck_assert_int_eq(pthread_create(&t[i], NULL, leaf_worker,
		    &wa[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], &r);
		ck_assert_ptr_null(r);
	}
	ck_assert_uint_le(certs_cache_count(c), 16);
	ck_assert_uint_ge(certs_minted(c), 40);
	certs_unref(c);
}
END_TEST

/* ---- handshakes: the sandbox's side ----------------------------------- */

/* <maxver> for the client (0: any); the ALPN it gets in <alpn>. */
static int
downstream(struct certs *c, int maxver, const unsigned char *offer,
    unsigned offerlen, char *alpn, int *version)
{
	SSL_CTX			*cctx;
	SSL			*cl, *sv;
	const unsigned char	*sel;
	unsigned		 sellen;
	int			 r;

	cl = sandbox_client(&cctx, mitm_crt, HOST, offer, offerlen, maxver);
	sv = SSL_new(certs_server_ctx(c));
	ck_assert_int_eq(certs_use_leaf(c, sv, HOST), 0);
	if ((r = handshake(cl, sv)) == 0) {
		ck_assert_int_eq(SSL_get_verify_result(cl), X509_V_OK);
		SSL_get0_alpn_selected(cl, &sel, &sellen);
		snprintf(alpn, 16, "%.*s", (int)sellen, sel);
		*version = SSL_version(cl);
		/* No resumption offered downstream. */
		ck_assert(!SSL_SESSION_is_resumable(SSL_get0_session(cl)));
	}
	SSL_free(cl);
	SSL_free(sv);
	SSL_CTX_free(cctx);
	return r;
}

START_TEST(test_downstream)
{
	struct certs	*c = load(mitm_crt, mitm_key, up_crt);
	char		 alpn[16];
	int		 ver;

	ck_assert_int_eq(downstream(c, 0, (const unsigned char *)
	    "\x02h2\x08http/1.1", 12, alpn, &ver), 0);
	ck_assert_int_eq(ver, TLS1_3_VERSION);
	ck_assert_str_eq(alpn, "http/1.1");
	ck_assert_int_eq(downstream(c, TLS1_2_VERSION, (const unsigned char *)
	    "\x02h2\x08http/1.1", 12, alpn, &ver), 0);
	ck_assert_int_eq(ver, TLS1_2_VERSION);
	ck_assert_str_eq(alpn, "http/1.1");
	/* h2 only: no ALPN, the handshake goes on. */
	ck_assert_int_eq(downstream(c, 0, (const unsigned char *)"\x02h2", 3,
	    alpn, &ver), 0);
	ck_assert_str_eq(alpn, "");
	ck_assert_int_eq(downstream(c, 0, NULL, 0, alpn, &ver), 0);
	ck_assert_str_eq(alpn, "");
	ck_assert_int_eq(downstream(c, TLS1_1_VERSION, NULL, 0, alpn, &ver),
	    -1);
	ck_assert_uint_eq(certs_minted(c), 1);
	certs_unref(c);
}
END_TEST

/* ---- handshakes: the upstream side ------------------------------------ */

/*
 * egressd (client side of <c>) to a server whose leaf <srv> mints for
 * <name>; the client asks for <host>.  The verify result in *<vr>.
 */
static int
upstream(struct certs *c, SSL_CTX *svctx, struct certs *srv,
    const char *name, const char *host, int maxver, bool shutdown, long *vr,
    int *reused)
{
	SSL	*cl = SSL_new(certs_client_ctx(c));
	SSL	*sv = SSL_new(svctx);
	const unsigned char *sel;
	unsigned sellen;
	int	 r;

	ck_assert_ptr_nonnull(cl);
	ck_assert_int_eq(certs_use_leaf(srv, sv, name), 0);
	ck_assert_int_eq(certs_client_prepare(c, cl, host), 0);
	if (maxver != 0)
		SSL_set_max_proto_version(cl, maxver);
	r = handshake(cl, sv);
	*vr = SSL_get_verify_result(cl);
	*reused = SSL_session_reused(cl);
	if (r == 0) {
		SSL_get0_alpn_selected(sv, &sel, &sellen);
		ck_assert_uint_eq(sellen, 0);	/* svctx has no ALPN cb */
		/* Else OpenSSL spoils the session (see certs.h). */
		if (shutdown)
			SSL_shutdown(cl);
	}
	SSL_free(cl);
	SSL_free(sv);
	return r;
}

START_TEST(test_upstream_verify)
{
	struct certs	*c = load(mitm_crt, mitm_key, up_crt);
	struct certs	*up = load(up_crt, up_key, up_crt);
	struct certs	*other = load(other_crt, other_key, up_crt);
	SSL_CTX		*svctx = SSL_CTX_new(TLS_server_method());
	long		 vr;
	int		 reused;

	/* One server for all: no resumption (that skips verification). */
	SSL_CTX_set_num_tickets(svctx, 0);
	SSL_CTX_set_options(svctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(svctx, SSL_SESS_CACHE_OFF);
	ck_assert_int_eq(upstream(c, svctx, up, "up.example", "up.example", 0,
	    true, &vr, &reused), 0);
	ck_assert_int_eq(vr, X509_V_OK);
	/* Another CA; another name. */
	ck_assert_int_eq(upstream(c, svctx, other, "up.example", "up.example",
	    0, true, &vr, &reused), -1);
	/* (The server sends the root too, so it is seen "in the chain".) */
	ck_assert(vr == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN ||
	    vr == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
	ck_assert_int_eq(upstream(c, svctx, up, "other.example", "up.example",
	    0, true, &vr, &reused), -1);
	ck_assert_int_eq(vr, X509_V_ERR_HOSTNAME_MISMATCH);
	/* A leaf for "up.example" is no leaf for a subdomain, nor v.v. */
	ck_assert_int_eq(upstream(c, svctx, up, "up.example", "x.up.example",
	    0, true, &vr, &reused), -1);
	ck_assert_int_eq(vr, X509_V_ERR_HOSTNAME_MISMATCH);
	ck_assert_uint_eq(ERR_peek_error(), 0);
	SSL_CTX_free(svctx);
	certs_unref(other);
	certs_unref(up);
	certs_unref(c);
}
END_TEST

START_TEST(test_upstream_resume)
{
	struct certs	*c = load(mitm_crt, mitm_key, up_crt);
	struct certs	*up = load(up_crt, up_key, up_crt);
	SSL_CTX		*svctx = SSL_CTX_new(TLS_server_method());
	long		 vr;
	int		 reused, i;

	/* TLS 1.3: each connection spends a ticket and gets new ones. */
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(upstream(c, svctx, up, "up.example",
		    "up.example", 0, true, &vr, &reused), 0);
		ck_assert_int_eq(reused, i > 0);
		ck_assert_uint_eq(certs_session_count(c), 1);
	}
	/* Another host does not get up.example's session. */
	ck_assert_int_eq(upstream(c, svctx, up, "b.example", "b.example", 0,
	    true, &vr, &reused), 0);
	ck_assert_int_eq(reused, 0);
	ck_assert_uint_eq(certs_session_count(c), 2);
	/* TLS 1.2: the session stays for the next one. */
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(upstream(c, svctx, up, "c.example",
		    "c.example", TLS1_2_VERSION, true, &vr, &reused), 0);
		ck_assert_int_eq(reused, i > 0);
	}
	ck_assert_uint_eq(certs_session_count(c), 3);
	/* Freed without SSL_shutdown(): that session is not offered again. */
	ck_assert_int_eq(upstream(c, svctx, up, "c.example", "c.example",
	    TLS1_2_VERSION, false, &vr, &reused), 0);
	ck_assert_int_eq(reused, 1);
	ck_assert_int_eq(upstream(c, svctx, up, "c.example", "c.example",
	    TLS1_2_VERSION, true, &vr, &reused), 0);
	ck_assert_int_eq(reused, 0);
	ck_assert_uint_eq(certs_session_count(c), 3);
	SSL_CTX_free(svctx);
	certs_unref(up);
	certs_unref(c);
}
END_TEST

static Suite *
certs_suite(void)
{
	Suite	*s = suite_create("certs");
	TCase	*tc = tcase_create("certs");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_gen_ca_files);
	tcase_add_test(tc, test_gen_ca_contents);
	tcase_add_test(tc, test_key_file_mode);
	tcase_add_test(tc, test_load_ok);
	tcase_add_test(tc, test_load_errors);
	tcase_add_test(tc, test_leaf_contents);
	tcase_add_test(tc, test_leaf_names);
	tcase_add_test(tc, test_cache);
	tcase_add_test(tc, test_cache_threads);
	tcase_add_test(tc, test_downstream);
	tcase_add_test(tc, test_upstream_verify);
	tcase_add_test(tc, test_upstream_resume);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(certs_suite)
