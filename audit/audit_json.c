#include "audit/audit.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/netaddr.h"

struct jbuf {
	char	*jb_p;
	size_t	 jb_len;
	size_t	 jb_cap;	/* keeps room for the closing "}\n" */
};

static void
jb_raw(struct jbuf *jb, const char *s, size_t n)
{
	if (jb->jb_len + n > jb->jb_cap)
		n = jb->jb_cap - jb->jb_len;
	memcpy(jb->jb_p + jb->jb_len, s, n);
	jb->jb_len += n;
}

static void
jb_str(struct jbuf *jb, const char *s)
{
	jb_raw(jb, s, strlen(s));
}

/* Length of a valid UTF-8 sequence at <s>, or 0. */
static size_t
utf8_len(const unsigned char *s, size_t left)
{
	size_t		n, i;
	unsigned	cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n > left)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

/*
 * A JSON string; whatever the bytes, the output stays valid JSON.  It is
 * cut short so that <reserve> bytes stay free for the fields after it.
 */
static void
jb_quote(struct jbuf *jb, const char *s, size_t n, size_t reserve)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char	*p = (const unsigned char *)s;
	char			 esc[8];
	size_t			 i = 0, u;

	jb_raw(jb, "\"", 1);
	while (i < n && jb->jb_len + 8 + reserve < jb->jb_cap) {
		unsigned char c = p[i];

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			jb_raw(jb, esc, 2);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			jb_raw(jb, esc, 6);
			i++;
		} else if ((u = utf8_len(p + i, n - i)) == 0) {
			jb_str(jb, "\\ufffd");
			i++;
		} else {
			jb_raw(jb, s + i, u);
			i += u;
		}
	}
	jb_raw(jb, "\"", 1);
}

static void
jb_key(struct jbuf *jb, const char *key)
{
	if (jb->jb_len > 1)
		jb_raw(jb, ",", 1);
	jb_raw(jb, "\"", 1);
	jb_str(jb, key);
	jb_raw(jb, "\":", 2);
}

static void
jb_kstr(struct jbuf *jb, const char *key, const char *val)
{
	jb_key(jb, key);
	if (val == NULL)
		jb_str(jb, "null");
	else
		jb_quote(jb, val, strlen(val), 400);
}

static void
jb_kuint(struct jbuf *jb, const char *key, uint64_t v)
{
	char	num[24];
	int	n;

	jb_key(jb, key);
	n = snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
	jb_raw(jb, num, (size_t)n);
}

static void
jb_kaddr(struct jbuf *jb, const char *key, const struct sockaddr *sa)
{
	char	addr[NETADDR_STRLEN];

	if (sa == NULL) {
		jb_kstr(jb, key, NULL);
		return;
	}
	/*
	 * Written whole: an address needs no escaping and is short, and the
	 * room every earlier string leaves (400 bytes) holds it and every
	 * field after it, so a long path never empties the addresses.
	 */
	netaddr_format(sa, addr, sizeof(addr));
	jb_key(jb, key);
	jb_raw(jb, "\"", 1);
	jb_str(jb, addr);
	jb_raw(jb, "\"", 1);
}

size_t
audit_json(const struct audit_event *ev, char *buf, size_t len)
{
	struct jbuf	jb = { buf, 0, len - 2 };
	struct tm	tm;
	char		ts[96];

	gmtime_r(&ev->ae_ts.tv_sec, &tm);
	snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ev->ae_ts.tv_nsec / 1000000);
	jb_raw(&jb, "{", 1);
	jb_kstr(&jb, "ts", ts);
	jb_kstr(&jb, "sandbox", ev->ae_sandbox);
	jb_kstr(&jb, "action", ev->ae_action);
	jb_kstr(&jb, "reason", ev->ae_reason);
	if (ev->ae_would != NULL)
		jb_kstr(&jb, "would", ev->ae_would);
	jb_kstr(&jb, "policy", ev->ae_policy);
	jb_kstr(&jb, "rule", ev->ae_rule);
	jb_kstr(&jb, "proto", ev->ae_proto);
	jb_kstr(&jb, "host", ev->ae_host);
	jb_kstr(&jb, "method", ev->ae_method);
	jb_key(&jb, "path");
	if (ev->ae_path == NULL)
		jb_str(&jb, "null");
	else
		jb_quote(&jb, ev->ae_path, ev->ae_path_len, 400);
	jb_key(&jb, "ech");
	jb_str(&jb, ev->ae_ech ? "true" : "false");
	if (ev->ae_host_claimed && ev->ae_host != NULL) {
		/* Only what the client said: the decision never read it. */
		jb_key(&jb, "host_verified");
		jb_str(&jb, "false");
	}
	jb_kaddr(&jb, "src", ev->ae_src);
	jb_kaddr(&jb, "dst", ev->ae_dst);
	jb_kuint(&jb, "conn", ev->ae_conn);
	if (ev->ae_has_bytes) {
		jb_kuint(&jb, "bytes_up", ev->ae_bytes_up);
		jb_kuint(&jb, "bytes_down", ev->ae_bytes_down);
		jb_kuint(&jb, "duration_ms", ev->ae_duration_ms);
	}
	/* jb_cap kept two bytes back for these. */
	buf[jb.jb_len++] = '}';
	buf[jb.jb_len++] = '\n';
	return jb.jb_len;
}
