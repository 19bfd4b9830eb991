/*
 * common/ipaddr.h - an IP address reduced to family and bytes, for
 * matching.  Pure code.  IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are
 * folded to IPv4 before any comparison, so a dual-stack socket cannot
 * dodge an IPv4 rule by presenting the mapped form.
 */
#ifndef EGRESS_IPADDR_H
#define EGRESS_IPADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct ipaddr {
	uint8_t	ia_family;	/* 4 or 6 */
	uint8_t	ia_bytes[16];	/* network order; 4 used for IPv4 */
};

/* Folds mapped IPv6 to IPv4; 0, or -1 for a family that is not IP. */
int	ipaddr_from_sockaddr(const struct sockaddr *sa, struct ipaddr *ia);
/* A bare IPv4 or IPv6 literal (no brackets, no port); 0 or -1. */
int	ipaddr_parse(const char *s, struct ipaddr *ia);
bool	ipaddr_equal(const struct ipaddr *a, const struct ipaddr *b);
/* The address, without brackets or port. */
void	ipaddr_format(const struct ipaddr *ia, char *buf, size_t len);

#endif /* EGRESS_IPADDR_H */
