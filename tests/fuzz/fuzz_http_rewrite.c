/*
 * tests/fuzz/fuzz_http_rewrite.c - libFuzzer target for the header field
 * functions of sniff/http.c that credential injection uses.
 *
 * The input is a request head and whatever follows it.  When
 * http_parse_request accepts the head, the bytes after it give a value for
 * "Authorization" (mostly with the controls a head may not hold dropped,
 * sometimes raw), and the target checks, against a reference that splits
 * the head into lines on its own:
 *
 *  - http_head_field counts the "Authorization:" lines (any case) and
 *    gives the first one's value, OWS trimmed;
 *  - http_head_set_field gives exactly the request line, the other field
 *    lines in order, and "Authorization: <value>" last; that re-parses to
 *    HTTP_OK as the same request (method, host, port, path, version,
 *    framing, connection) with exactly one Authorization field; doing it
 *    again changes nothing;
 *  - it gives 0, and writes nothing past <cap>, when the value holds a
 *    control other than HTAB, when the result does not fit in <cap>
 *    (the buffer is exactly <cap> bytes, so ASan sees any write past it),
 *    or when the result would hold more than 100 fields;
 *  - http_auth_credential gives a suffix of the trimmed value, cut after
 *    a run of SP only.
 *
 * The value's mode and the capacity come from a PRNG seeded by the input,
 * so every run of one input is the same.
 */
#include "sniff/http.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz_util.h"

#define HEAD_MAX	16384
#define VALUE_MAX	1024
#define FIELDS_MAX	100	/* http_parse_request's limit */
#define NAME		"Authorization"
#define NAME_LEN	(sizeof(NAME) - 1)

struct line {
	const uint8_t	*l_p;
	size_t		 l_len;		/* CRLF included */
};

/* Controls other than HTAB: never valid in a head. */
static int
bad_byte(uint8_t c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

static int
ows(uint8_t c)
{
	return c == ' ' || c == '\t';
}

/*
 * Reference: splits the head into its request line and field lines, each
 * with its CRLF; returns the number of field lines.
 */
static size_t
ref_lines(const uint8_t *head, size_t len, struct line *rl,
    struct line *fl)
{
	size_t	i, start = 0, n = 0;
	int	first = 1;

	for (i = 0; i + 1 < len; i++) {
		if (head[i] != '\r')
			continue;
		CHECK(head[i + 1] == '\n');
		if (first) {
			rl->l_p = head;
			rl->l_len = i + 2;
			first = 0;
		} else if (i == start) {
			CHECK(i + 2 == len);	/* the empty line ends it */
			return n;
		} else {
			CHECK(n < FIELDS_MAX);
			fl[n].l_p = head + start;
			fl[n].l_len = i + 2 - start;
			n++;
		}
		start = i + 2;
		i++;
	}
	CHECK(!"no empty line");
	return 0;
}

static int
ref_is_name(const struct line *l)
{
	return l->l_len > NAME_LEN &&
	    strncasecmp((const char *)l->l_p, NAME ":", NAME_LEN + 1) == 0;
}

/* Reference: the value of a field line, OWS trimmed. */
static void
ref_value(const struct line *l, const uint8_t **v, size_t *vlen)
{
	const uint8_t	*p = l->l_p + NAME_LEN + 1, *e = l->l_p + l->l_len - 2;

	while (p < e && ows(*p))
		p++;
	while (e > p && ows(e[-1]))
		e--;
	*v = p;
	*vlen = (size_t)(e - p);
}

static void
same_request(const struct http_request *a, const uint8_t *abuf,
    const struct http_request *b, const uint8_t *bbuf)
{
	CHECK(strcmp(a->method, b->method) == 0);
	CHECK(strcmp(a->host, b->host) == 0);
	CHECK(a->port == b->port);
	CHECK(a->path_len == b->path_len);
	CHECK(memcmp(abuf + a->path_off, bbuf + b->path_off, a->path_len) ==
	    0);
	CHECK(a->version_minor == b->version_minor);
	CHECK(a->framing == b->framing);
	CHECK(a->content_length == b->content_length);
	CHECK(a->upgrade == b->upgrade && a->upgrade_h2c == b->upgrade_h2c);
	CHECK(a->keep_alive == b->keep_alive);
}

/* The credential is a suffix of the trimmed value, after SPs only. */
static void
credential_check(const uint8_t *val, size_t vlen)
{
	const uint8_t	*cred;
	size_t		 clen, i;

	while (vlen > 0 && ows(val[0])) {
		val++;
		vlen--;
	}
	while (vlen > 0 && ows(val[vlen - 1]))
		vlen--;
	http_auth_credential(val, vlen, &cred, &clen);
	CHECK(cred >= val && cred + clen == val + vlen);
	CHECK((clen == 0) == (vlen == 0));
	if (clen == vlen)
		return;
	CHECK(cred[0] != ' ');
	for (i = (size_t)(cred - val); i > 0 && val[i - 1] == ' '; i--)
		;
	CHECK(i > 0 && i < (size_t)(cred - val));
	CHECK(memchr(val, ' ', i) == NULL && memchr(val, '\t', i) == NULL);
}

/* The value from the bytes after the head; *<ok>: no bad byte in it. */
static size_t
make_value(const uint8_t *tail, size_t tlen, int raw, uint8_t *v, int *ok)
{
	size_t	i, n = 0;

	*ok = 1;
	for (i = 0; i < tlen && n < VALUE_MAX; i++) {
		if (bad_byte(tail[i])) {
			if (!raw)
				continue;
			*ok = 0;
		}
		v[n++] = tail[i];
	}
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct line	 fl[FIELDS_MAX];
	static uint8_t		 want[HEAD_MAX + VALUE_MAX + 64];
	struct http_sniff	 st;
	struct http_request	 r, r2;
	struct line		 rl;
	const uint8_t		*val, *rv = NULL;
	uint8_t			 value[VALUE_MAX], *head, *out, *again;
	size_t			 nf, i, hl, vlen, rvlen = 0, wlen, kept, n, cap;
	size_t			 olen;
	unsigned		 count = 0;
	uint64_t		 rng;
	int			 ok;

	http_sniff_init(&st);
	if (http_parse_request(&st, data, size, HEAD_MAX, &r) != HTTP_OK)
		return 0;
	rng = fuzz_seed(data, size);
	hl = r.head_len;
	if ((head = fuzz_copy(data, hl)) == NULL)
		return 0;

	/* http_head_field against the reference. */
	nf = ref_lines(head, hl, &rl, fl);
	for (i = 0; i < nf; i++) {
		if (!ref_is_name(&fl[i]))
			continue;
		if (count++ == 0)
			ref_value(&fl[i], &rv, &rvlen);
	}
	val = NULL;
	vlen = 0;
	CHECK(http_head_field(head, hl, NAME, &val, &vlen) == count);
	CHECK(http_head_field(head, hl, "aUTHORIZATIOn", &val, &vlen) ==
	    count);
	if (count > 0) {
		CHECK(val == rv && vlen == rvlen);
		credential_check(val, vlen);
	} else
		CHECK(val == NULL && vlen == 0);

	/* The expected rewrite, built from the reference lines. */
	vlen = make_value(data + hl, size - hl, fuzz_rng(&rng) % 4 == 0, value,
	    &ok);
	memcpy(want, rl.l_p, rl.l_len);
	wlen = rl.l_len;
	for (i = kept = 0; i < nf; i++) {
		if (ref_is_name(&fl[i]))
			continue;
		memcpy(want + wlen, fl[i].l_p, fl[i].l_len);
		wlen += fl[i].l_len;
		kept++;
	}
	memcpy(want + wlen, NAME ": ", NAME_LEN + 2);
	wlen += NAME_LEN + 2;
	memcpy(want + wlen, value, vlen);
	wlen += vlen;
	memcpy(want + wlen, "\r\n\r\n", 4);
	wlen += 4;
	if (!ok || kept == FIELDS_MAX)
		wlen = 0;

	/* Mostly roomy, sometimes at most what it needs. */
	cap = fuzz_rng(&rng) % 4 == 0 ? fuzz_rng(&rng) % (wlen + 1) :
	    sizeof(want);
	/* Exactly <cap> bytes, so ASan sees a write past them. */
	if ((out = malloc(cap > 0 ? cap : 1)) == NULL) {
		free(head);
		return 0;
	}
	olen = http_head_set_field(head, hl, NAME, value, vlen, out, cap);
	CHECK_MSG(olen == (wlen <= cap ? wlen : 0), "got %zu, want %zu, cap %zu",
	    olen, wlen, cap);
	if (olen > 0) {
		CHECK(memcmp(out, want, olen) == 0);
		http_sniff_init(&st);
		CHECK(http_parse_request(&st, out, olen, sizeof(want), &r2) ==
		    HTTP_OK);
		CHECK(r2.head_len == olen);
		same_request(&r, head, &r2, out);
		CHECK(http_head_field(out, olen, NAME, &val, &n) == 1);
		rl.l_p = out + olen - 2 - (NAME_LEN + 2 + vlen + 2);
		rl.l_len = NAME_LEN + 2 + vlen + 2;
		ref_value(&rl, &rv, &rvlen);
		CHECK(val == rv && n == rvlen);
		credential_check(val, n);
		/* Setting the same value again is the identity. */
		if ((again = fuzz_copy(out, olen)) != NULL) {
			CHECK(http_head_set_field(out, olen, NAME, value, vlen,
			    again, olen) == olen);
			CHECK(memcmp(again, out, olen) == 0);
			free(again);
		}
	}
	free(out);
	free(head);
	return 0;
}
