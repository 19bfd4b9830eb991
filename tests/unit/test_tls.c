/*
 * tests/unit/test_tls.c - sniff/tls.c against real and synthetic hellos.
 *
 * Run from tests/ (fixtures are data/tls/<name>.bin; see the README there).
 * Every call to tls_sniff() gets a heap copy of exactly <len> bytes, so
 * ASan and valgrind catch a read past the end of what was "received"; the
 * copy also moves between calls, which the state must not mind.
 */
#include "sniff/tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"

#define BIG_MAX		((size_t)1 << 20)
#define HS_CAP		((size_t)1 << 16)
#define WIRE_CAP	((size_t)1 << 19)
#define FIXTURE_CAP	8192

/* ---- helpers ---------------------------------------------------------- */

struct fixture {
	const char	*name;
	const char	*sni;		/* NULL: no server_name */
	bool		 ech;
};

static const struct fixture fixtures[] = {
	{ "curl_openssl",	 "example.org",	     false },
	{ "curl_tls12",		 "example.org",	     false },
	{ "java_jsse",		 "example.org",	     false },
	{ "node_tls",		 "example.org",	     false },
	{ "openssl_case_dot",	 "WWW.Example.ORG.", false },
	{ "openssl_multirecord", "example.org",	     false },
	{ "openssl_nosni",	 NULL,		     false },
	{ "openssl_s_client",	 "example.org",	     false },
	{ "python_ssl",		 "example.org",	     false },
	{ "wget_gnutls",	 "localhost",	     false },
	{ "synth_ech_grease",	 "example.org",	     true },
	{ "synth_frag7",	 "example.org",	     false },
};

static uint32_t
rnd(uint32_t *s)
{
	/* xorshift32: deterministic, so a failure reproduces. */
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static uint8_t *
fixture_load(size_t i, size_t *len)
{
	char	 path[256];
	uint8_t	*buf;
	FILE	*f;

	snprintf(path, sizeof(path), "data/tls/%s.bin", fixtures[i].name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s (run from tests/)", path);
	buf = malloc(FIXTURE_CAP);
	ck_assert_ptr_nonnull(buf);
	*len = fread(buf, 1, FIXTURE_CAP, f);
	ck_assert_msg(ferror(f) == 0 && feof(f), "%s: read error or too big",
	    path);
	fclose(f);
	ck_assert_uint_gt(*len, 0);
	return buf;
}

/* One call on a fresh state, with an exact-size copy of the bytes. */
static enum tls_result
sniff_once(const uint8_t *wire, size_t len, size_t max, struct tls_hello *out)
{
	struct tls_sniff st;
	enum tls_result	 r;
	uint8_t		*copy;

	copy = malloc(len > 0 ? len : 1);
	ck_assert_ptr_nonnull(copy);
	memcpy(copy, wire, len);
	tls_sniff_init(&st);
	r = tls_sniff(&st, copy, len, max, out);
	free(copy);
	return r;
}

/*
 * Feeds <wire> growing by pieces of 1..<piece> bytes (exactly 1 when
 * <seed> is 0) until a verdict; <at> gets the length that gave it.
 */
static enum tls_result
sniff_fed(const uint8_t *wire, size_t len, size_t max, uint32_t seed,
    size_t piece, struct tls_hello *out, size_t *at)
{
	struct tls_sniff st;
	enum tls_result	 r = TLS_NEED_MORE;
	uint8_t		*copy;
	size_t		 have = 0, step;

	tls_sniff_init(&st);
	while (have < len) {
		step = seed == 0 ? 1 : 1 + rnd(&seed) % piece;
		have += step < len - have ? step : len - have;
		copy = malloc(have);
		ck_assert_ptr_nonnull(copy);
		memcpy(copy, wire, have);
		r = tls_sniff(&st, copy, have, max, out);
		free(copy);
		if (r != TLS_NEED_MORE)
			break;
	}
	if (at != NULL)
		*at = have;
	return r;
}

static void
hello_check(const struct tls_hello *h, const char *sni, bool ech,
    size_t consumed)
{
	if (sni == NULL)
		ck_assert(!h->has_sni);
	else {
		ck_assert(h->has_sni);
		ck_assert_str_eq(h->sni, sni);
	}
	ck_assert_int_eq(h->ech, ech);
	ck_assert_uint_eq(h->consumed, consumed);
}

/* Concatenates the record payloads of a fixture: its handshake message. */
static size_t
unframe(const uint8_t *wire, size_t len, uint8_t *hs)
{
	size_t	off = 0, n = 0, rlen;

	while (off + 5 <= len) {
		rlen = (size_t)wire[off + 3] << 8 | wire[off + 4];
		ck_assert_uint_le(off + 5 + rlen, len);
		memcpy(hs + n, wire + off + 5, rlen);
		n += rlen;
		off += 5 + rlen;
	}
	ck_assert_uint_eq(off, len);
	return n;
}

struct frame {
	size_t		frag;		/* payload per record; 0 = one record */
	uint32_t	seed;		/* != 0: random 1..7 payload sizes */
	unsigned	rec_ver;	/* 0 = 0x0301 */
	unsigned	rec2_type;	/* 0 = handshake */
	unsigned	rec2_ver;	/* 0 = like the others */
	int		zero_at;	/* empty record before record n (1..) */
};

static size_t
frame(const uint8_t *p, size_t n, const struct frame *fr, uint8_t *wire)
{
	size_t		 w = 0, k;
	uint32_t	 seed = fr->seed;
	unsigned	 type, ver;
	int		 rec = 1, zero_at = fr->zero_at;

	while (n > 0 || rec == zero_at) {
		if (rec == zero_at) {
			k = 0;
			zero_at = 0;
		} else if (fr->seed != 0)
			k = 1 + rnd(&seed) % 7;
		else if (fr->frag != 0)
			k = fr->frag;
		else
			k = n;
		if (k > n)
			k = n;
		type = rec == 2 && fr->rec2_type != 0 ? fr->rec2_type : 22;
		ver = fr->rec_ver != 0 ? fr->rec_ver : 0x0301;
		if (rec == 2 && fr->rec2_ver != 0)
			ver = fr->rec2_ver;
		ck_assert_uint_le(w + 5 + k, WIRE_CAP);
		wire[w++] = (uint8_t)type;
		wire[w++] = (uint8_t)(ver >> 8);
		wire[w++] = (uint8_t)ver;
		wire[w++] = (uint8_t)(k >> 8);
		wire[w++] = (uint8_t)k;
		memcpy(wire + w, p, k);
		w += k;
		p += k;
		n -= k;
		rec++;
	}
	return w;
}

/* Offset of the last but one record header in well-formed <wire>. */
static size_t
penultimate_record(const uint8_t *wire, size_t len)
{
	size_t	off = 0, prev = 0, next;

	for (;;) {
		next = off + 5 + ((size_t)wire[off + 3] << 8 | wire[off + 4]);
		if (next >= len)
			return prev;
		prev = off;
		off = next;
	}
}

/* ---- synthetic ClientHellos ------------------------------------------- */

struct bld {
	uint8_t	*p;
	size_t	 len;
	size_t	 cap;
};

static void
b_u8(struct bld *b, unsigned v)
{
	ck_assert_uint_lt(b->len, b->cap);
	b->p[b->len++] = (uint8_t)v;
}

static void
b_u16(struct bld *b, unsigned v)
{
	b_u8(b, v >> 8);
	b_u8(b, v);
}

static void
b_mem(struct bld *b, const void *p, size_t n)
{
	ck_assert_uint_le(b->len + n, b->cap);
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void
b_fill(struct bld *b, unsigned v, size_t n)
{
	ck_assert_uint_le(b->len + n, b->cap);
	memset(b->p + b->len, (int)v, n);
	b->len += n;
}

/* Reserves a <width>-byte length; b_close() writes what followed it. */
static size_t
b_open(struct bld *b, int width)
{
	size_t	pos = b->len;

	b_fill(b, 0, (size_t)width);
	return pos;
}

static void
b_close(struct bld *b, size_t pos, int width, int adj)
{
	size_t	n = b->len - pos - (size_t)width + (size_t)(long)adj;
	int	i;

	for (i = width - 1; i >= 0; i--) {
		b->p[pos + (size_t)i] = (uint8_t)n;
		n >>= 8;
	}
}

struct ch {
	unsigned	 hs_type;	/* 0 = ClientHello */
	unsigned	 version;	/* 0 = 0x0303 */
	int		 sid_len;	/* 0 = 32, -1 = none */
	int		 cs_len;	/* 0 = 6, -1 = none */
	int		 comp_len;	/* 0 = 1, -1 = none */
	bool		 no_ext;	/* omit the extensions block */
	const char	*sni;		/* NULL = no server_name extension */
	size_t		 sni_len;	/* 0 = strlen(sni) */
	const char	*sni2;		/* a second host_name entry */
	bool		 sni_other;	/* a name_type 1 entry first */
	bool		 sni_other_last; /* a name_type 1 entry last */
	bool		 sni_empty;	/* server_name_list of length 0 */
	int		 sni_list_adj;	/* skew server_name_list length */
	int		 sni_ext_adj;	/* skew server_name ext length */
	size_t		 list_tail;	/* stray bytes ending the name list */
	size_t		 sni_tail;	/* stray bytes after the name list */
	bool		 dup_sni;	/* server_name extension twice */
	bool		 dup_ext;	/* supported_groups twice */
	bool		 ech;		/* encrypted_client_hello */
	bool		 grease;	/* GREASE suites, groups, extensions */
	size_t		 pad;		/* padding extension of this size */
	int		 ext_adj;	/* skew extensions block length */
	size_t		 ext_tail;	/* stray bytes ending the ext block */
	size_t		 trailing;	/* garbage after the extensions */
};

static void
ch_sni(struct bld *b, const struct ch *o)
{
	size_t	ext, list, name, n;

	b_u16(b, 0x0000);
	ext = b_open(b, 2);
	list = b_open(b, 2);
	if (!o->sni_empty) {
		if (o->sni_other) {
			b_u8(b, 1);
			name = b_open(b, 2);
			b_mem(b, "other", 5);
			b_close(b, name, 2, 0);
		}
		n = o->sni_len != 0 ? o->sni_len : strlen(o->sni);
		b_u8(b, 0);
		name = b_open(b, 2);
		b_mem(b, o->sni, n);
		b_close(b, name, 2, 0);
		if (o->sni2 != NULL) {
			b_u8(b, 0);
			name = b_open(b, 2);
			b_mem(b, o->sni2, strlen(o->sni2));
			b_close(b, name, 2, 0);
		}
		if (o->sni_other_last) {
			b_u8(b, 1);
			name = b_open(b, 2);
			b_mem(b, "other", 5);
			b_close(b, name, 2, 0);
		}
	}
	b_fill(b, 0x41, o->list_tail);
	b_close(b, list, 2, o->sni_list_adj);
	b_fill(b, 0x41, o->sni_tail);
	b_close(b, ext, 2, o->sni_ext_adj);
}

/* Builds the handshake message (header included) into <hs>. */
static size_t
ch_build(const struct ch *o, uint8_t *hs)
{
	struct bld	b = { hs, 0, HS_CAP };
	size_t		msg, exts, ext;
	int		i, n;

	b_u8(&b, o->hs_type != 0 ? o->hs_type : 1);
	msg = b_open(&b, 3);
	b_u16(&b, o->version != 0 ? o->version : 0x0303);
	b_fill(&b, 0x5a, 32);
	n = o->sid_len == 0 ? 32 : o->sid_len < 0 ? 0 : o->sid_len;
	b_u8(&b, (unsigned)n);
	b_fill(&b, 0x11, (size_t)n);
	n = o->cs_len == 0 ? 6 : o->cs_len < 0 ? 0 : o->cs_len;
	b_u16(&b, (unsigned)n + (o->grease ? 2 : 0));
	if (o->grease)
		b_u16(&b, 0x7a7a);
	for (i = 0; i < n; i++)
		b_u8(&b, i % 2 == 0 ? 0x13 : (unsigned)(1 + i / 2));
	n = o->comp_len == 0 ? 1 : o->comp_len < 0 ? 0 : o->comp_len;
	b_u8(&b, (unsigned)n);
	b_fill(&b, 0, (size_t)n);
	if (o->no_ext)
		goto done;

	exts = b_open(&b, 2);
	if (o->grease) {
		b_u16(&b, 0x0a0a);		/* Chrome: first, empty */
		b_u16(&b, 0);
	}
	if (o->sni != NULL || o->sni_empty)
		ch_sni(&b, o);
	b_u16(&b, 0x000a);			/* supported_groups */
	ext = b_open(&b, 2);
	b_u16(&b, o->grease ? 6 : 4);
	if (o->grease)
		b_u16(&b, 0x2a2a);
	b_u16(&b, 0x001d);
	b_u16(&b, 0x0017);
	b_close(&b, ext, 2, 0);
	if (o->dup_ext) {
		b_u16(&b, 0x000a);
		b_u16(&b, 4);
		b_u16(&b, 2);
		b_u16(&b, 0x001d);
	}
	b_u16(&b, 0x002b);			/* supported_versions */
	ext = b_open(&b, 2);
	b_u8(&b, o->grease ? 6 : 4);
	if (o->grease)
		b_u16(&b, 0xdada);
	b_u16(&b, 0x0304);
	b_u16(&b, 0x0303);
	b_close(&b, ext, 2, 0);
	b_u16(&b, 0x0033);			/* key_share, x25519 */
	ext = b_open(&b, 2);
	b_u16(&b, 36);
	b_u16(&b, 0x001d);
	b_u16(&b, 32);
	b_fill(&b, 0x99, 32);
	b_close(&b, ext, 2, 0);
	if (o->dup_sni)
		ch_sni(&b, o);
	if (o->ech) {
		b_u16(&b, 0xfe0d);
		ext = b_open(&b, 2);
		b_u8(&b, 0);			/* outer */
		b_fill(&b, 0xec, 90);
		b_close(&b, ext, 2, 0);
	}
	if (o->pad != 0) {
		b_u16(&b, 0x0015);
		ext = b_open(&b, 2);
		b_fill(&b, 0, o->pad);
		b_close(&b, ext, 2, 0);
	}
	if (o->grease) {
		b_u16(&b, 0xfafa);		/* Chrome: last, one byte */
		b_u16(&b, 1);
		b_u8(&b, 0);
	}
	b_fill(&b, 0, o->ext_tail);
	b_close(&b, exts, 2, o->ext_adj);
done:
	b_fill(&b, 0xee, o->trailing);
	b_close(&b, msg, 3, 0);
	return b.len;
}

static size_t
ch_wire(const struct ch *o, const struct frame *fr, uint8_t *wire)
{
	static uint8_t	hs[HS_CAP];
	static const struct frame whole;

	return frame(hs, ch_build(o, hs), fr != NULL ? fr : &whole, wire);
}

static uint8_t	wire_buf[WIRE_CAP];

/* ---- real clients ----------------------------------------------------- */

START_TEST(test_fixture)
{
	struct tls_hello h;
	uint8_t		*w;
	size_t		 len;

	w = fixture_load((size_t)_i, &len);
	ck_assert_int_eq(sniff_once(w, len, len, &h), TLS_OK);
	hello_check(&h, fixtures[_i].sni, fixtures[_i].ech, len);
	ck_assert_int_eq(sniff_once(w, len, BIG_MAX, &h), TLS_OK);
	hello_check(&h, fixtures[_i].sni, fixtures[_i].ech, len);
	free(w);
}
END_TEST

START_TEST(test_fixture_bytewise)
{
	struct tls_hello h;
	uint8_t		*w;
	size_t		 len, at;

	w = fixture_load((size_t)_i, &len);
	ck_assert_int_eq(sniff_fed(w, len, BIG_MAX, 0, 1, &h, &at), TLS_OK);
	ck_assert_uint_eq(at, len);
	hello_check(&h, fixtures[_i].sni, fixtures[_i].ech, len);
	free(w);
}
END_TEST

/* Every strict prefix is a plausible start of a hello: NEED_MORE. */
START_TEST(test_fixture_truncated)
{
	struct tls_hello h;
	uint8_t		*w;
	size_t		 len, k;

	w = fixture_load((size_t)_i, &len);
	for (k = 0; k < len; k++)
		ck_assert_msg(sniff_once(w, k, BIG_MAX, &h) == TLS_NEED_MORE,
		    "%s: prefix %zu", fixtures[_i].name, k);
	free(w);
}
END_TEST

/* Same handshake message cut into other record sizes, fed unevenly. */
static const struct frame reframes[] = {
	{ .seed = 1 }, { .seed = 77 }, { .seed = 0xdeadbeef },
	{ .frag = 1 }, { .frag = 100 }, { .frag = 16384 },
	{ .frag = 3, .rec_ver = 0x0303 }, { .frag = 200, .rec_ver = 0x0300 },
};

START_TEST(test_fixture_reframed)
{
	struct tls_hello h;
	uint8_t		*w, hs[FIXTURE_CAP];
	size_t		 len, n, wlen, at, f = (size_t)_i % nitems(fixtures);
	const struct frame *fr = &reframes[(size_t)_i / nitems(fixtures)];

	w = fixture_load(f, &len);
	n = unframe(w, len, hs);
	wlen = frame(hs, n, fr, wire_buf);
	ck_assert_int_eq(sniff_once(wire_buf, wlen, BIG_MAX, &h), TLS_OK);
	hello_check(&h, fixtures[f].sni, fixtures[f].ech, wlen);
	ck_assert_int_eq(sniff_fed(wire_buf, wlen, BIG_MAX, (uint32_t)_i + 1,
	    64, &h, &at), TLS_OK);
	ck_assert_uint_eq(at, wlen);
	hello_check(&h, fixtures[f].sni, fixtures[f].ech, wlen);
	/* Records past the hello (early data, say) are not its business. */
	memcpy(wire_buf + wlen, "\x17\x03\x03\x00\x01X", 6);
	ck_assert_int_eq(sniff_once(wire_buf, wlen + 6, BIG_MAX, &h), TLS_OK);
	hello_check(&h, fixtures[f].sni, fixtures[f].ech, wlen);
	free(w);
}
END_TEST

/* Wire offsets of the length fields of a (trusted) fixture. */
static size_t
length_fields(const uint8_t *w, size_t len, size_t *pos, size_t cap)
{
	uint8_t	 hs[FIXTURE_CAP];
	size_t	 hsoff[FIXTURE_CAP] = { 0 };
	size_t	 off = 0, n = 0, np = 0, rlen, p, e, end, t, l, k;

#define ADD(wirepos)	do { ck_assert_uint_lt(np, cap);		\
			     pos[np++] = (wirepos); } while (0)
	while (off + 5 <= len) {
		rlen = (size_t)w[off + 3] << 8 | w[off + 4];
		ADD(off + 3);
		ADD(off + 4);
		for (k = 0; k < rlen; k++) {
			hs[n] = w[off + 5 + k];
			hsoff[n++] = off + 5 + k;
		}
		off += 5 + rlen;
	}
	ADD(hsoff[1]);
	ADD(hsoff[2]);
	ADD(hsoff[3]);
	p = 4 + 2 + 32;
	ADD(hsoff[p]);
	p += 1 + hs[p];
	ADD(hsoff[p]);
	ADD(hsoff[p + 1]);
	p += 2 + ((size_t)hs[p] << 8 | hs[p + 1]);
	ADD(hsoff[p]);
	p += 1 + hs[p];
	ADD(hsoff[p]);
	ADD(hsoff[p + 1]);
	end = p + 2 + ((size_t)hs[p] << 8 | hs[p + 1]);
	for (e = p + 2; e < end; e += 4 + l) {
		t = (size_t)hs[e] << 8 | hs[e + 1];
		l = (size_t)hs[e + 2] << 8 | hs[e + 3];
		ADD(hsoff[e + 2]);
		ADD(hsoff[e + 3]);
		if (t == 0) {
			/* list length, then the one entry's name length */
			ADD(hsoff[e + 4]);
			ADD(hsoff[e + 5]);
			ADD(hsoff[e + 7]);
			ADD(hsoff[e + 8]);
		}
	}
#undef ADD
	return np;
}

/* Any length byte off by one: never OK, never a read out of bounds. */
START_TEST(test_fixture_lenmut)
{
	struct tls_hello h;
	enum tls_result	 r, r2;
	uint8_t		*w, *m;
	size_t		 len, pos[512], np, k;
	int		 d;

	w = fixture_load((size_t)_i, &len);
	np = length_fields(w, len, pos, nitems(pos));
	ck_assert_uint_gt(np, 10);
	m = malloc(len);
	ck_assert_ptr_nonnull(m);
	for (k = 0; k < np; k++) {
		for (d = -1; d <= 1; d += 2) {
			memcpy(m, w, len);
			m[pos[k]] = (uint8_t)(m[pos[k]] + d);
			r = sniff_once(m, len, BIG_MAX, &h);
			/* 0x00 -> 0xff in the handshake length: 16 MB */
			ck_assert_msg(r == TLS_MALFORMED ||
			    r == TLS_NEED_MORE || r == TLS_TOO_LARGE,
			    "%s: byte %zu %+d: %s", fixtures[_i].name, pos[k],
			    d, tls_result_str(r));
			r2 = sniff_fed(m, len, BIG_MAX, (uint32_t)(k + 1), 16,
			    &h, NULL);
			ck_assert_int_eq(r2, r);
		}
	}
	free(m);
	free(w);
}
END_TEST

/* ---- synthetic: accepted ---------------------------------------------- */

#define NAME61	"abcdefghij-abcdefghij-abcdefghij-abcdefghij-abcdefghij-abcdef"
#define NAME63	NAME61 "gh"
#define NAME253	NAME63 "." NAME63 "." NAME63 "." NAME61

struct ok_case {
	const char	*what;
	struct ch	 ch;
	struct frame	 fr;
	const char	*want_sni;	/* NULL: no SNI */
	bool		 want_ech;
};

static const struct ok_case ok_cases[] = {
	{ "plain", { .sni = "example.org" }, { 0 }, "example.org", false },
	{ "no server_name", { 0 }, { 0 }, NULL, false },
	{ "no extensions", { .no_ext = true }, { 0 }, NULL, false },
	{ "no ext, no sid", { .no_ext = true, .sid_len = -1 }, { 0 },
	    NULL, false },
	{ "ech", { .sni = "public.example", .ech = true }, { 0 },
	    "public.example", true },
	{ "ech, no sni", { .ech = true }, { 0 }, NULL, true },
	{ "grease", { .sni = "example.org", .grease = true }, { 0 },
	    "example.org", false },
	{ "grease ech 1-byte records", { .sni = "x.example", .grease = true,
	    .ech = true }, { .frag = 1 }, "x.example", true },
	{ "ipv4 literal", { .sni = "192.0.2.1" }, { 0 }, "192.0.2.1", false },
	{ "trailing dot", { .sni = "example.org." }, { 0 }, "example.org.",
	    false },
	{ "underscore", { .sni = "_dmarc.my_host.example" }, { 0 },
	    "_dmarc.my_host.example", false },
	{ "case kept", { .sni = "ExAmPlE.OrG" }, { 0 }, "ExAmPlE.OrG", false },
	{ "one char", { .sni = "a" }, { 0 }, "a", false },
	{ "253 chars", { .sni = NAME253 }, { 0 }, NAME253, false },
	{ "63-byte label", { .sni = NAME63 ".example" }, { 0 },
	    NAME63 ".example", false },
	{ "single label, trailing dot", { .sni = "localhost." }, { 0 },
	    "localhost.", false },
	{ "ssl3 legacy_version", { .sni = "example.org", .version = 0x0300 },
	    { .rec_ver = 0x0300 }, "example.org", false },
	{ "record version 3.4", { .sni = "example.org" },
	    { .rec_ver = 0x0304 }, "example.org", false },
	{ "min fields", { .sni = "e.x", .sid_len = -1, .cs_len = 2 },
	    { 0 }, "e.x", false },
	{ "random records", { .sni = "example.org", .pad = 300 },
	    { .seed = 42 }, "example.org", false },
};

START_TEST(test_ok)
{
	const struct ok_case *c = &ok_cases[_i];
	struct tls_hello h;
	size_t		 wlen, at;

	wlen = ch_wire(&c->ch, &c->fr, wire_buf);
	ck_assert_msg(sniff_once(wire_buf, wlen, BIG_MAX, &h) == TLS_OK,
	    "%s", c->what);
	hello_check(&h, c->want_sni, c->want_ech, wlen);
	ck_assert_int_eq(sniff_fed(wire_buf, wlen, BIG_MAX, 0, 1, &h, &at),
	    TLS_OK);
	ck_assert_uint_eq(at, wlen);
	hello_check(&h, c->want_sni, c->want_ech, wlen);
}
END_TEST

/* Post-quantum-sized hellos: 2-16 KB over several records and segments. */
struct large_case {
	size_t		pad;
	size_t		frag;
	size_t		min_records;
};

static const struct large_case large_cases[] = {
	{ 2000, 0, 1 },
	{ 2000, 1000, 3 },
	{ 10000, 1400, 8 },
	{ 10000, 16384, 1 },
	{ 16300, 16384, 2 },	/* just over one full record */
	{ 16400, 4096, 5 },
	{ 16000, 7, 2000 },
};

START_TEST(test_large)
{
	const struct large_case *c = &large_cases[_i];
	struct ch	 o = { .sni = "pq.example.org", .pad = c->pad,
			    .grease = true };
	struct frame	 fr = { .frag = c->frag };
	struct tls_hello h;
	size_t		 wlen, at, hslen;

	wlen = ch_wire(&o, &fr, wire_buf);
	hslen = (size_t)wire_buf[6] << 16 | (size_t)wire_buf[7] << 8 |
	    wire_buf[8];
	ck_assert_uint_gt(hslen, c->pad);
	ck_assert_uint_ge((wlen - hslen - 4) / 5, c->min_records);
	ck_assert_int_eq(sniff_once(wire_buf, wlen, BIG_MAX, &h), TLS_OK);
	hello_check(&h, "pq.example.org", false, wlen);
	ck_assert_int_eq(sniff_once(wire_buf, wlen, wlen, &h), TLS_OK);
	ck_assert_int_eq(sniff_fed(wire_buf, wlen, BIG_MAX, (uint32_t)_i + 9,
	    1500, &h, &at), TLS_OK);
	ck_assert_uint_eq(at, wlen);
	hello_check(&h, "pq.example.org", false, wlen);
	ck_assert_int_eq(sniff_once(wire_buf, wlen - 1, BIG_MAX, &h),
	    TLS_NEED_MORE);
	ck_assert_int_eq(sniff_once(wire_buf, wlen, wlen - 1, &h),
	    TLS_TOO_LARGE);
}
END_TEST

/* ---- limits ----------------------------------------------------------- */

struct max_case {
	const char	*what;
	size_t		 pad;
	size_t		 frag;
	size_t		 max;		/* 0 = wire length - 1 */
	size_t		 decided_by;	/* bytes after which it must be known,
					   0 = the last but one header */
};

static const struct max_case max_cases[] = {
	/* record header alone says 10 KB */
	{ "one record", 10000, 0, 4096, 5 },
	/* handshake header says 10 KB though the record is 1 KB */
	{ "handshake length", 10000, 1000, 4096, 9 },
	/* handshake header split over 1-byte records */
	{ "header in 1-byte records", 10000, 1, 4096, 24 },
	{ "max below a header", 100, 0, 3, 5 },
	/*
	 * The bound assumes the rest comes in full-size records, so it is
	 * exact only once a single record remains.
	 */
	{ "one byte short, records", 3000, 512, 0, 0 },
	{ "one byte short, 1 record", 3000, 0, 0, 5 },
};

START_TEST(test_max)
{
	const struct max_case *c = &max_cases[_i];
	struct ch	 o = { .sni = "example.org", .pad = c->pad };
	struct frame	 fr = { .frag = c->frag };
	struct tls_hello h;
	size_t		 wlen, max, at, by;

	wlen = ch_wire(&o, &fr, wire_buf);
	max = c->max != 0 ? c->max : wlen - 1;
	by = c->decided_by != 0 ? c->decided_by :
	    penultimate_record(wire_buf, wlen) + 5;
	ck_assert_msg(sniff_once(wire_buf, by, max, &h) == TLS_TOO_LARGE,
	    "%s", c->what);
	ck_assert_int_eq(sniff_once(wire_buf, by - 1, max, &h),
	    TLS_NEED_MORE);
	ck_assert_int_eq(sniff_fed(wire_buf, wlen, max, 0, 1, &h, &at),
	    TLS_TOO_LARGE);
	ck_assert_uint_eq(at, by);
	ck_assert_int_eq(sniff_once(wire_buf, wlen, wlen, &h), TLS_OK);
}
END_TEST

START_TEST(test_fixture_max)
{
	struct tls_hello h;
	uint8_t		*w;
	size_t		 len;

	w = fixture_load((size_t)_i, &len);
	ck_assert_int_eq(sniff_once(w, len, len - 1, &h), TLS_TOO_LARGE);
	ck_assert_int_eq(sniff_once(w, len, len, &h), TLS_OK);
	ck_assert_int_eq(sniff_once(w, 5, 4, &h), TLS_TOO_LARGE);
	free(w);
}
END_TEST

/* ---- synthetic: rejected ---------------------------------------------- */

struct bad_case {
	const char	*what;
	struct ch	 ch;
	struct frame	 fr;
	enum tls_result	 want;
};

static const struct bad_case bad_cases[] = {
	{ "handshake type 2", { .hs_type = 2, .sni = "a.b" }, { 0 },
	    TLS_MALFORMED },
	{ "handshake type 2, 1-byte records", { .hs_type = 2 },
	    { .frag = 1 }, TLS_MALFORMED },
	{ "second record not handshake", { .sni = "a.b" },
	    { .frag = 50, .rec2_type = 23 }, TLS_MALFORMED },
	{ "second record alert", { .sni = "a.b" },
	    { .frag = 50, .rec2_type = 21 }, TLS_MALFORMED },
	{ "second record version 3.5", { .sni = "a.b" },
	    { .frag = 50, .rec2_ver = 0x0305 }, TLS_MALFORMED },
	{ "second record version 2.3", { .sni = "a.b" },
	    { .frag = 50, .rec2_ver = 0x0203 }, TLS_MALFORMED },
	{ "zero-length first record", { .sni = "a.b" }, { .zero_at = 1 },
	    TLS_MALFORMED },
	{ "zero-length middle record", { .sni = "a.b" },
	    { .frag = 30, .zero_at = 3 }, TLS_MALFORMED },
	{ "record of 16385", { .sni = "a.b", .pad = 17000 },
	    { .frag = 16385 }, TLS_MALFORMED },
	{ "legacy_version 2.3", { .sni = "a.b", .version = 0x0203 }, { 0 },
	    TLS_MALFORMED },
	{ "session_id 33", { .sni = "a.b", .sid_len = 33 }, { 0 },
	    TLS_MALFORMED },
	{ "cipher_suites odd", { .sni = "a.b", .cs_len = 3 }, { 0 },
	    TLS_MALFORMED },
	{ "cipher_suites empty", { .sni = "a.b", .cs_len = -1 }, { 0 },
	    TLS_MALFORMED },
	{ "compression empty", { .sni = "a.b", .comp_len = -1 }, { 0 },
	    TLS_MALFORMED },
	{ "extensions short", { .sni = "a.b", .ext_adj = -1 }, { 0 },
	    TLS_MALFORMED },
	{ "extensions long", { .sni = "a.b", .ext_adj = 1 }, { 0 },
	    TLS_MALFORMED },
	/* A cursor must not read a field across its container's end. */
	{ "1 stray byte ending extensions", { .sni = "a.b", .ext_tail = 1 },
	    { 0 }, TLS_MALFORMED },
	{ "3 stray bytes ending extensions", { .sni = "a.b", .ext_tail = 3 },
	    { 0 }, TLS_MALFORMED },
	{ "1 stray byte ending name list", { .sni = "a.b", .list_tail = 1 },
	    { 0 }, TLS_MALFORMED },
	{ "2 stray bytes ending name list", { .sni = "a.b", .list_tail = 2 },
	    { 0 }, TLS_MALFORMED },
	{ "bytes after server_name_list", { .sni = "a.b", .sni_tail = 1 },
	    { 0 }, TLS_MALFORMED },
	{ "trailing garbage", { .sni = "a.b", .trailing = 3 }, { 0 },
	    TLS_MALFORMED },
	{ "trailing garbage, records", { .sni = "a.b", .trailing = 1 },
	    { .frag = 9 }, TLS_MALFORMED },
	{ "only one byte of ext length", { .no_ext = true, .trailing = 1 },
	    { 0 }, TLS_MALFORMED },
	{ "duplicate extension", { .sni = "a.b", .dup_ext = true }, { 0 },
	    TLS_MALFORMED },
	{ "duplicate server_name", { .sni = "a.b", .dup_sni = true }, { 0 },
	    TLS_MALFORMED },
	{ "two host_names", { .sni = "a.b", .sni2 = "c.d" }, { 0 },
	    TLS_MALFORMED },
	{ "two equal host_names", { .sni = "a.b", .sni2 = "a.b" }, { 0 },
	    TLS_MALFORMED },
	{ "empty server_name_list", { .sni_empty = true }, { 0 },
	    TLS_MALFORMED },
	{ "server_name_list short", { .sni = "a.b", .sni_list_adj = -1 },
	    { 0 }, TLS_MALFORMED },
	{ "server_name_list long", { .sni = "a.b", .sni_list_adj = 1 },
	    { 0 }, TLS_MALFORMED },
	{ "server_name ext short", { .sni = "a.b", .sni_ext_adj = -1 },
	    { 0 }, TLS_MALFORMED },
	{ "empty host_name", { .sni = "" }, { 0 }, TLS_MALFORMED },
	{ "NUL in host_name", { .sni = "a\0b.example", .sni_len = 11 },
	    { 0 }, TLS_MALFORMED },
	{ "NUL at end", { .sni = "a.example\0", .sni_len = 10 }, { 0 },
	    TLS_MALFORMED },
	{ "space", { .sni = "a b.example" }, { 0 }, TLS_MALFORMED },
	{ "slash", { .sni = "a.example/x" }, { 0 }, TLS_MALFORMED },
	{ "percent", { .sni = "a%2e.example" }, { 0 }, TLS_MALFORMED },
	{ "colon", { .sni = "a.example:443" }, { 0 }, TLS_MALFORMED },
	{ "at", { .sni = "user@a.example" }, { 0 }, TLS_MALFORMED },
	{ "newline", { .sni = "a.example\n" }, { 0 }, TLS_MALFORMED },
	{ "non-ASCII", { .sni = "caf\xc3\xa9.example" }, { 0 },
	    TLS_MALFORMED },
	{ "high byte", { .sni = "\xff" }, { 0 }, TLS_MALFORMED },
	{ "ipv6 literal", { .sni = "[2001:db8::1]" }, { 0 }, TLS_MALFORMED },
	{ "254 chars", { .sni = NAME253 "x" }, { 0 }, TLS_MALFORMED },
	/* The cap is on the bytes as sent, before the policy strips dots. */
	{ "253 chars and a dot", { .sni = NAME253 "." }, { 0 },
	    TLS_MALFORMED },
	{ "255 chars", { .sni = NAME253 "xy" }, { 0 }, TLS_MALFORMED },
	{ "256 chars", { .sni = NAME253 "xyz" }, { 0 }, TLS_MALFORMED },
	{ "bad name after other type", { .sni = "a b", .sni_other = true },
	    { 0 }, TLS_MALFORMED },
	/*
	 * Only host_name exists; OpenSSL and BoringSSL refuse other types,
	 * and a server that read one as a name would see an unjudged host.
	 */
	{ "other name_type first", { .sni = "example.org", .sni_other = true },
	    { 0 }, TLS_MALFORMED },
	{ "other name_type last", { .sni = "example.org",
	    .sni_other_last = true }, { 0 }, TLS_MALFORMED },
	/* Empty labels: names a server could shorten or split otherwise. */
	{ "two trailing dots", { .sni = "evil.example.." }, { 0 },
	    TLS_MALFORMED },
	{ "three trailing dots", { .sni = "evil.example..." }, { 0 },
	    TLS_MALFORMED },
	{ "inner empty label", { .sni = "a..b" }, { 0 }, TLS_MALFORMED },
	{ "leading dot", { .sni = ".a.example" }, { 0 }, TLS_MALFORMED },
	{ "lone dot", { .sni = "." }, { 0 }, TLS_MALFORMED },
	{ "two dots", { .sni = ".." }, { 0 }, TLS_MALFORMED },
	{ "64-byte label", { .sni = NAME63 "x.example" }, { 0 },
	    TLS_MALFORMED },
	{ "64-byte last label", { .sni = "a." NAME63 "x" }, { 0 },
	    TLS_MALFORMED },
	{ "tab", { .sni = "a\t.example" }, { 0 }, TLS_MALFORMED },
	{ "DEL", { .sni = "a\x7f" ".example" }, { 0 }, TLS_MALFORMED },
	{ "backslash", { .sni = "a\\b.example" }, { 0 }, TLS_MALFORMED },
	{ "tilde", { .sni = "a~b.example" }, { 0 }, TLS_MALFORMED },
	{ "U-label", { .sni = "b\xc3\xbc" "cher.example" }, { 0 },
	    TLS_MALFORMED },
};

START_TEST(test_bad)
{
	const struct bad_case *c = &bad_cases[_i];
	struct tls_hello h;
	enum tls_result	 r;
	size_t		 wlen;

	wlen = ch_wire(&c->ch, &c->fr, wire_buf);
	r = sniff_once(wire_buf, wlen, BIG_MAX, &h);
	ck_assert_msg(r == c->want, "%s: got %s", c->what, tls_result_str(r));
	ck_assert_int_eq(sniff_fed(wire_buf, wlen, BIG_MAX, 0, 1, &h, NULL),
	    c->want);
	ck_assert_int_eq(sniff_fed(wire_buf, wlen, BIG_MAX, (uint32_t)_i + 3,
	    40, &h, NULL), c->want);
}
END_TEST

/* The hello must end with its record: a byte after it in the same one. */
START_TEST(test_bytes_after_hello_in_record)
{
	struct tls_hello h;
	uint8_t		 hs[HS_CAP];
	size_t		 n, wlen;
	struct frame	 fr = { 0 };

	n = ch_build(&(struct ch){ .sni = "a.b" }, hs);
	hs[n++] = 0x17;
	wlen = frame(hs, n, &fr, wire_buf);
	ck_assert_int_eq(sniff_once(wire_buf, wlen, BIG_MAX, &h),
	    TLS_MALFORMED);
	ck_assert_int_eq(sniff_fed(wire_buf, wlen, BIG_MAX, 0, 1, &h, NULL),
	    TLS_MALFORMED);
	/* ... and a hello whose length says less than its record. */
	wlen = ch_wire(&(struct ch){ .sni = "a.b" }, NULL, wire_buf);
	wire_buf[8]--;
	ck_assert_int_eq(sniff_once(wire_buf, wlen, BIG_MAX, &h),
	    TLS_MALFORMED);
	/* Within 1-byte records it is caught by the length alone. */
	fr.frag = 1;
	n = ch_build(&(struct ch){ .sni = "a.b" }, hs);
	hs[3]--;
	wlen = frame(hs, n, &fr, wire_buf);
	ck_assert_int_eq(sniff_once(wire_buf, wlen, BIG_MAX, &h),
	    TLS_MALFORMED);
}
END_TEST

/* ---- not TLS ---------------------------------------------------------- */

struct first_case {
	const char	*bytes;
	size_t		 len;
	enum tls_result	 want;
	size_t		 decided_by;	/* bytes needed for the verdict */
};

#define S(s)	s, sizeof(s) - 1

static const struct first_case first_cases[] = {
	{ S("GET / HTTP/1.1\r\n"), TLS_NOT_TLS, 1 },
	{ S("CONNECT a.b:443 HTTP/1.1\r\n"), TLS_NOT_TLS, 1 },
	{ S("SSH-2.0-OpenSSH_9.6\r\n"), TLS_NOT_TLS, 1 },
	{ S("\x16\x02\x01\x00\x10"), TLS_NOT_TLS, 2 },
	{ S("\x16\x04"), TLS_NOT_TLS, 2 },
	{ S("\x16\x03\x05\x00\x10"), TLS_NOT_TLS, 3 },
	{ S("\x16\x03\xff"), TLS_NOT_TLS, 3 },
	{ S("\x80\x2e\x01\x03\x01"), TLS_NOT_TLS, 1 },	/* SSLv2 hello */
	{ S("\x17\x03\x03\x00\x10"), TLS_NOT_TLS, 1 },
	{ S("\x00"), TLS_NOT_TLS, 1 },
	{ S("\x16\x03\x01\x00\x00"), TLS_MALFORMED, 5 },
	{ S("\x16\x03\x03\x40\x01"), TLS_MALFORMED, 5 },
	{ S("\x16\x03\x01\xff\xff"), TLS_MALFORMED, 5 },
	{ S("\x16\x03\x01\x00\x10\x02"), TLS_MALFORMED, 6 },
	{ S("\x16\x03\x01\x00\x10\x00"), TLS_MALFORMED, 6 },
	{ S("\x16\x03\x01\x00\x10\x01\x00\x00"), TLS_NEED_MORE, 0 },
	{ S("\x16\x03\x00"), TLS_NEED_MORE, 0 },
	{ S(""), TLS_NEED_MORE, 0 },
};

START_TEST(test_first_bytes)
{
	const struct first_case *c = &first_cases[_i];
	struct tls_hello h;
	size_t		 at;

	ck_assert_int_eq(sniff_once((const uint8_t *)c->bytes, c->len,
	    BIG_MAX, &h), c->want);
	if (c->want == TLS_NEED_MORE)
		return;
	ck_assert_int_eq(sniff_fed((const uint8_t *)c->bytes, c->len, BIG_MAX,
	    0, 1, &h, &at), c->want);
	ck_assert_uint_eq(at, c->decided_by);
	ck_assert_int_eq(sniff_once((const uint8_t *)c->bytes, c->decided_by,
	    BIG_MAX, &h), c->want);
}
END_TEST

/* ---- state and strings ------------------------------------------------ */

/* A verdict is sticky: asking again, with more bytes, gives it again. */
START_TEST(test_repeat)
{
	struct tls_sniff st;
	struct tls_hello h, h2;
	size_t		 wlen;

	wlen = ch_wire(&(struct ch){ .sni = "again.example" },
	    &(struct frame){ .frag = 64 }, wire_buf);
	tls_sniff_init(&st);
	ck_assert_int_eq(tls_sniff(&st, wire_buf, 70, BIG_MAX, &h),
	    TLS_NEED_MORE);
	ck_assert_int_eq(tls_sniff(&st, wire_buf, wlen, BIG_MAX, &h), TLS_OK);
	hello_check(&h, "again.example", false, wlen);
	memset(&h2, 0xa5, sizeof(h2));
	wire_buf[wlen] = 0x17;
	ck_assert_int_eq(tls_sniff(&st, wire_buf, wlen + 1, BIG_MAX, &h2),
	    TLS_OK);
	hello_check(&h2, "again.example", false, wlen);
	/* Shrinking after the verdict must not make it read past <len>. */
	ck_assert_int_eq(tls_sniff(&st, wire_buf, 10, BIG_MAX, &h2),
	    TLS_MALFORMED);

	wlen = ch_wire(&(struct ch){ .sni = "a b" }, NULL, wire_buf);
	tls_sniff_init(&st);
	ck_assert_int_eq(tls_sniff(&st, wire_buf, wlen, BIG_MAX, &h),
	    TLS_MALFORMED);
	ck_assert_int_eq(tls_sniff(&st, wire_buf, wlen, BIG_MAX, &h),
	    TLS_MALFORMED);

	/* A buffer that shrank is a caller bug; refuse, do not read. */
	wlen = ch_wire(&(struct ch){ .sni = "a.b" },
	    &(struct frame){ .frag = 10 }, wire_buf);
	tls_sniff_init(&st);
	ck_assert_int_eq(tls_sniff(&st, wire_buf, 40, BIG_MAX, &h),
	    TLS_NEED_MORE);
	ck_assert_int_eq(tls_sniff(&st, wire_buf, 20, BIG_MAX, &h),
	    TLS_MALFORMED);
}
END_TEST

/* <out> is left alone unless the result is TLS_OK. */
START_TEST(test_out_untouched)
{
	struct tls_hello h, ref;
	size_t		 wlen;

	memset(&h, 0x5c, sizeof(h));
	memcpy(&ref, &h, sizeof(h));
	wlen = ch_wire(&(struct ch){ .sni = "a b" }, NULL, wire_buf);
	ck_assert_int_eq(sniff_once(wire_buf, wlen, BIG_MAX, &h),
	    TLS_MALFORMED);
	ck_assert_int_eq(sniff_once(wire_buf, wlen - 1, BIG_MAX, &h),
	    TLS_NEED_MORE);
	ck_assert_int_eq(sniff_once(wire_buf, wlen, 10, &h), TLS_TOO_LARGE);
	ck_assert_mem_eq(&h, &ref, sizeof(h));
}
END_TEST

START_TEST(test_result_str)
{
	ck_assert_str_eq(tls_result_str(TLS_NEED_MORE), "need-more");
	ck_assert_str_eq(tls_result_str(TLS_OK), "ok");
	ck_assert_str_eq(tls_result_str(TLS_NOT_TLS), "not-tls");
	ck_assert_str_eq(tls_result_str(TLS_MALFORMED), "malformed");
	ck_assert_str_eq(tls_result_str(TLS_TOO_LARGE), "too-large");
	ck_assert_str_eq(tls_result_str((enum tls_result)99), "invalid");
}
END_TEST

static Suite *
tls_suite(void)
{
	Suite	*s = suite_create("tls");
	TCase	*tc;
	int	 nf = (int)nitems(fixtures);

	tc = tcase_create("fixtures");
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, test_fixture, 0, nf);
	tcase_add_loop_test(tc, test_fixture_bytewise, 0, nf);
	tcase_add_loop_test(tc, test_fixture_truncated, 0, nf);
	tcase_add_loop_test(tc, test_fixture_reframed, 0,
	    nf * (int)nitems(reframes));
	tcase_add_loop_test(tc, test_fixture_lenmut, 0, nf);
	tcase_add_loop_test(tc, test_fixture_max, 0, nf);
	suite_add_tcase(s, tc);

	tc = tcase_create("synthetic");
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, test_ok, 0, (int)nitems(ok_cases));
	tcase_add_loop_test(tc, test_large, 0, (int)nitems(large_cases));
	tcase_add_loop_test(tc, test_max, 0, (int)nitems(max_cases));
	tcase_add_loop_test(tc, test_bad, 0, (int)nitems(bad_cases));
	tcase_add_test(tc, test_bytes_after_hello_in_record);
	suite_add_tcase(s, tc);

	tc = tcase_create("api");
	tcase_add_loop_test(tc, test_first_bytes, 0, (int)nitems(first_cases));
	tcase_add_test(tc, test_repeat);
	tcase_add_test(tc, test_out_untouched);
	tcase_add_test(tc, test_result_str);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(tls_suite)
