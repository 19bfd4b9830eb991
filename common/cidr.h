/*
 * common/cidr.h - address ranges: parsed, matched, formatted.  Pure code.
 */
#ifndef EGRESS_CIDR_H
#define EGRESS_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ipaddr.h"

struct cidr {
	struct ipaddr	ci_addr;	/* host bits cleared */
	uint8_t		ci_prefix;	/* 0..32 or 0..128 */
};

/* "addr", "addr/len"; host bits are cleared.  0 or -1 with <why> set. */
int	cidr_parse(const char *s, struct cidr *c, const char **why);
bool	cidr_contains(const struct cidr *c, const struct ipaddr *ia);
bool	cidr_overlap(const struct cidr *a, const struct cidr *b);
void	cidr_format(const struct cidr *c, char *buf, size_t len);
/* In the non-public ranges of docs/config.md (loopback, RFC 1918, ...). */
bool	cidr_is_private(const struct ipaddr *ia);

#endif /* EGRESS_CIDR_H */
