/*
 * tests/common/refname.h - a reference check of DNS names in text form,
 * shared by the unit tests and the fuzz targets.
 *
 * Written from RFC 1035 and docs/config.md, not from the code under test,
 * so that it cannot share a bug with it: a name is labels of 1-63 bytes
 * of [A-Za-z0-9_-] joined by dots, 253 bytes at most.
 */
#ifndef EGRESS_TESTS_REFNAME_H
#define EGRESS_TESTS_REFNAME_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#define REFNAME_TRAILING_DOT	0x1	/* one trailing dot allowed */
#define REFNAME_LOWER		0x2	/* no uppercase letter */
#define REFNAME_ROOT		0x4	/* "" (the root) allowed */

/*
 * Is <s>[0..<n>) a DNS name?  No empty label: no leading or double dot,
 * and a trailing one only with REFNAME_TRAILING_DOT ("." alone is not a
 * name; the root is "" and needs REFNAME_ROOT).  The 253 bytes count the
 * trailing dot.
 */
static inline bool
ref_dns_name(const char *s, size_t n, unsigned flags)
{
	size_t	i, label = 0;
	char	c;

	if (n > 253)
		return false;
	if (n == 0)
		return (flags & REFNAME_ROOT) != 0;
	if (s[n - 1] == '.' && (flags & REFNAME_TRAILING_DOT))
		n--;
	for (i = 0; i < n; i++) {
		c = s[i];
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' ||
		    (!(flags & REFNAME_LOWER) && c >= 'A' && c <= 'Z')))
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0;
}

/*
 * A qname as dns/dnsmsg.c hands it out (struct dnsmsg_query): a
 * NUL-terminated name, lowercased, without a trailing dot, "" for the
 * root.
 */
static inline bool
ref_qname(const char *s)
{
	return ref_dns_name(s, strnlen(s, 254), REFNAME_LOWER | REFNAME_ROOT);
}

#endif /* EGRESS_TESTS_REFNAME_H */
