/*
 * tests/fuzz/fuzz_audit_json.c - libFuzzer target for audit/audit_json.c.
 *
 * The input is cut into an audit event: a few control bytes (flags, which
 * strings are NULL, addresses, counters), then each string field as a
 * 2-byte length and that many bytes.  The string fields are what the wire
 * puts there (host, method, path) or could (sandbox ids, rule texts), so
 * any bytes at all.  The target checks that the line:
 *
 *  - is one object and a newline, no other newline, <= AUDIT_LINE_MAX;
 *  - parses with jansson (strict, NUL allowed only as \u0000);
 *  - gives back every string field as a reference escaper would: valid
 *    UTF-8 kept, each byte of an invalid sequence as U+FFFD, NUL-terminated
 *    fields up to their NUL, the path by its length; a field may be cut
 *    short only when the line is near its limit, and then only to a prefix;
 *  - has null for NULL fields, the flags and counters as given.
 */
#include "audit/audit.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"

#define NSTR		9
#define FIELD_MAX	8192	/* bytes of one string field */
/* A string is only cut once fewer than this many bytes of line are left. */
#define CUT_SLACK	440

static const char *const keys[NSTR] = {
	"sandbox", "action", "reason", "policy", "rule", "proto", "host",
	"method", "path"
};

struct in {
	const uint8_t	*p;
	size_t		 n;
};

static uint64_t
take(struct in *in, size_t k)
{
	uint64_t	v = 0;

	while (k-- > 0 && in->n > 0) {
		v = v << 8 | *in->p++;
		in->n--;
	}
	return v;
}

/*
 * Strict UTF-8 (no overlongs, no surrogates, <= U+10FFFF), written from
 * RFC 3629 and not from the code under test: the length of the sequence
 * at <s>, or 0.
 */
static size_t
ref_utf8(const uint8_t *s, size_t left)
{
	uint32_t	cp, min;
	size_t		n, i;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		n = 2, cp = s[0] & 0x1f, min = 0x80;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, cp = s[0] & 0x0f, min = 0x800;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, cp = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	if (n > left)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* What a JSON reader must get back for bytes <s>[0..<n>). */
static size_t
ref_decode(const uint8_t *s, size_t n, char *out)
{
	size_t	i = 0, o = 0, u;

	while (i < n) {
		if ((u = ref_utf8(s + i, n - i)) == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		} else {
			memcpy(out + o, s + i, u);
			o += u;
			i += u;
		}
	}
	return o;
}

static void
check_string(json_t *obj, const char *key, const uint8_t *s, size_t n,
    int is_null, size_t line_len)
{
	static char	 want[FIELD_MAX * 3];
	json_t		*v = json_object_get(obj, key);
	size_t		 wlen, glen;
	const char	*got;

	CHECK(v != NULL);
	if (is_null) {
		CHECK(json_is_null(v));
		return;
	}
	CHECK(json_is_string(v));
	got = json_string_value(v);
	glen = json_string_length(v);
	wlen = ref_decode(s, n, want);
	CHECK(glen <= wlen);
	CHECK(memcmp(got, want, glen) == 0);
	if (glen < wlen)
		CHECK(line_len + CUT_SLACK >= AUDIT_LINE_MAX);
}

/*
 * Addresses are strings like any other, so a line already at its limit
 * (a long path) cuts them too, down to "".
 */
static void
check_addr(json_t *obj, const char *key, const struct sockaddr *sa)
{
	json_t	*v = json_object_get(obj, key);

	CHECK(v != NULL);
	if (sa == NULL)
		CHECK(json_is_null(v));
	else
		/* Addresses are never cut, however long the path. */
		CHECK(json_is_string(v) && json_string_length(v) > 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char		 line[AUDIT_LINE_MAX];
	static char		 strs[NSTR][FIELD_MAX + 1];
	struct in		 in = { data, size };
	struct audit_event	 ev;
	struct sockaddr_in	 s4;
	struct sockaddr_in6	 s6;
	const uint8_t		*fp[NSTR];
	size_t			 fn[NSTR], len, i, k;
	unsigned		 flags, nulls;
	json_t			*obj, *v;
	json_error_t		 err;

	memset(&ev, 0, sizeof(ev));
	flags = (unsigned)take(&in, 1);
	nulls = (unsigned)take(&in, 2);
	/* Any time a clock can give; gmtime_r() fails past year 2^31. */
	ev.ae_ts.tv_sec = (time_t)(take(&in, 5) % 253402300800ULL);
	ev.ae_ts.tv_nsec = (long)(take(&in, 4) % 1000000000);
	/*
	 * Counters below 2^63: jansson, like most readers, refuses bigger
	 * integers, and no counter gets there.
	 */
	ev.ae_conn = take(&in, 8) & INT64_MAX;
	ev.ae_ech = flags & 1;
	ev.ae_host_claimed = (flags & 2) != 0;
	ev.ae_has_bytes = (flags & 4) != 0;
	if (ev.ae_has_bytes) {
		ev.ae_bytes_up = take(&in, 8) & INT64_MAX;
		ev.ae_bytes_down = take(&in, 8) & INT64_MAX;
		ev.ae_duration_ms = take(&in, 8) & INT64_MAX;
	}
	/* Source IPv4 or IPv6 (the widest text), destination likewise. */
	if (flags & 8) {
		memset(&s6, 0, sizeof(s6));
		s6.sin6_family = AF_INET6;
		s6.sin6_port = htons((uint16_t)take(&in, 2));
		for (i = 0; i < 16; i++)
			s6.sin6_addr.s6_addr[i] = (uint8_t)take(&in, 1);
		ev.ae_src = (const struct sockaddr *)&s6;
	}
	if (flags & 16) {
		memset(&s4, 0, sizeof(s4));
		s4.sin_family = AF_INET;
		s4.sin_port = htons((uint16_t)take(&in, 2));
		s4.sin_addr.s_addr = (uint32_t)take(&in, 4);
		ev.ae_dst = (const struct sockaddr *)&s4;
	}
	for (i = 0; i < NSTR; i++) {
		k = (size_t)take(&in, 2) % (FIELD_MAX + 1);
		if (k > in.n)
			k = in.n;
		fp[i] = in.p;
		fn[i] = k;
		in.p += k;
		in.n -= k;
		/* All but the path are C strings: they end at a NUL. */
		if (i != NSTR - 1) {
			memcpy(strs[i], fp[i], k);
			strs[i][k] = '\0';
			fn[i] = strlen(strs[i]);
		}
	}
	ev.ae_sandbox = nulls & 1 ? NULL : strs[0];
	ev.ae_action = nulls & 2 ? NULL : strs[1];
	ev.ae_reason = nulls & 4 ? NULL : strs[2];
	ev.ae_policy = nulls & 8 ? NULL : strs[3];
	ev.ae_rule = nulls & 16 ? NULL : strs[4];
	ev.ae_proto = nulls & 32 ? NULL : strs[5];
	ev.ae_host = nulls & 64 ? NULL : strs[6];
	ev.ae_method = nulls & 128 ? NULL : strs[7];
	ev.ae_path = nulls & 256 ? NULL : (const char *)fp[8];
	ev.ae_path_len = fn[8];

	len = audit_json(&ev, line, sizeof(line));
	CHECK(len >= 3 && len <= sizeof(line));
	CHECK(line[0] == '{' && line[len - 2] == '}' && line[len - 1] == '\n');
	CHECK(memchr(line, '\n', len - 1) == NULL);
	CHECK(memchr(line, '\0', len) == NULL);

	obj = json_loadb(line, len, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES,
	    &err);
	CHECK_MSG(obj != NULL, "not JSON: %s at %d: %.*s", err.text,
	    err.position, (int)len, line);
	CHECK(json_is_object(obj));
	for (i = 0; i < NSTR; i++)
		check_string(obj, keys[i], fp[i], fn[i],
		    (nulls >> i) & 1, len);
	v = json_object_get(obj, "ts");
	CHECK(json_is_string(v) && json_string_length(v) >= 24);
	CHECK(json_is_boolean(json_object_get(obj, "ech")) &&
	    json_is_true(json_object_get(obj, "ech")) == ev.ae_ech);
	v = json_object_get(obj, "host_verified");
	CHECK((v != NULL) == (ev.ae_host_claimed && ev.ae_host != NULL));
	if (v != NULL)
		CHECK(json_is_false(v));
	check_addr(obj, "src", ev.ae_src);
	check_addr(obj, "dst", ev.ae_dst);
	/* jansson reads integers as signed 64-bit. */
	v = json_object_get(obj, "conn");
	CHECK(v != NULL);
	CHECK(json_is_integer(v) &&
	    (uint64_t)json_integer_value(v) == ev.ae_conn);
	v = json_object_get(obj, "bytes_up");
	CHECK((v != NULL) == ev.ae_has_bytes);
	if (v != NULL)
		CHECK(json_is_integer(v) &&
		    (uint64_t)json_integer_value(v) == ev.ae_bytes_up);
	json_decref(obj);
	return 0;
}
