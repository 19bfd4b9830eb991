#include "common/cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
cidr_mask(struct cidr *c)
{
	unsigned	bits = c->ci_addr.ia_family == 4 ? 32 : 128;
	unsigned	i;

	for (i = c->ci_prefix; i < bits; i++)
		c->ci_addr.ia_bytes[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
}

int
cidr_parse(const char *s, struct cidr *c, const char **why)
{
	char		 buf[INET6_ADDRSTRLEN + 8];
	char		*slash, *ep;
	unsigned long	 len;
	unsigned	 max;
	bool		 mapped;

	memset(c, 0, sizeof(*c));
	if (strlen(s) >= sizeof(buf)) {
		*why = "too long for an address";
		return -1;
	}
	strcpy(buf, s);
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	if (ipaddr_parse(buf, &c->ci_addr) == -1) {
		*why = "not an IPv4 or IPv6 address";
		return -1;
	}
	/*
	 * An IPv4-mapped IPv6 address was folded to IPv4: its prefix length
	 * counts IPv6 bits (::ffff:10.0.0.0/104 is 10.0.0.0/8).
	 */
	mapped = c->ci_addr.ia_family == 4 && strchr(buf, ':') != NULL;
	max = c->ci_addr.ia_family == 4 && !mapped ? 32 : 128;
	if (slash == NULL) {
		c->ci_prefix = c->ci_addr.ia_family == 4 ? 32 : 128;
		return 0;
	}
	if (*slash < '0' || *slash > '9') {
		*why = "prefix length is not a number";
		return -1;
	}
	len = strtoul(slash, &ep, 10);
	if (*ep != '\0' || len > max) {
		*why = "prefix length out of range";
		return -1;
	}
	if (mapped) {
		if (len < 96) {
			*why = "IPv4-mapped prefix shorter than /96";
			return -1;
		}
		len -= 96;
	}
	c->ci_prefix = (uint8_t)len;
	cidr_mask(c);
	return 0;
}

static bool
prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned	full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[full] ^ b[full]) & (uint8_t)(0xff00u >> rest)) == 0;
}

bool
cidr_contains(const struct cidr *c, const struct ipaddr *ia)
{
	if (c->ci_addr.ia_family != ia->ia_family)
		return false;
	return prefix_equal(c->ci_addr.ia_bytes, ia->ia_bytes, c->ci_prefix);
}

bool
cidr_overlap(const struct cidr *a, const struct cidr *b)
{
	unsigned	bits;

	if (a->ci_addr.ia_family != b->ci_addr.ia_family)
		return false;
	bits = a->ci_prefix < b->ci_prefix ? a->ci_prefix : b->ci_prefix;
	return prefix_equal(a->ci_addr.ia_bytes, b->ci_addr.ia_bytes, bits);
}

void
cidr_format(const struct cidr *c, char *buf, size_t len)
{
	char	ip[INET6_ADDRSTRLEN];

	ipaddr_format(&c->ci_addr, ip, sizeof(ip));
	snprintf(buf, len, "%s/%u", ip, c->ci_prefix);
}

bool
cidr_is_private(const struct ipaddr *ia)
{
	/* docs/config.md; mapped forms were already folded to IPv4. */
	static const struct cidr ranges[] = {
		{ { 4, { 0 } }, 8 },			/* 0.0.0.0/8 */
		{ { 4, { 10 } }, 8 },			/* 10/8 */
		{ { 4, { 100, 64 } }, 10 },		/* 100.64/10 */
		{ { 4, { 127 } }, 8 },			/* 127/8 */
		{ { 4, { 169, 254 } }, 16 },		/* 169.254/16 */
		{ { 4, { 172, 16 } }, 12 },		/* 172.16/12 */
		{ { 4, { 192, 168 } }, 16 },		/* 192.168/16 */
		{ { 4, { 224 } }, 4 },			/* 224/4 */
		{ { 4, { 240 } }, 4 },			/* 240/4 */
		{ { 6, { 0 } }, 128 },			/* ::/128 */
		{ { 6, { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 } },
		    128 },				/* ::1/128 */
		{ { 6, { 0xfc } }, 7 },			/* fc00::/7 */
		{ { 6, { 0xfe, 0x80 } }, 10 },		/* fe80::/10 */
		{ { 6, { 0xff } }, 8 },			/* ff00::/8 */
	};
	size_t	i;

	for (i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		if (cidr_contains(&ranges[i], ia))
			return true;
	return false;
}
