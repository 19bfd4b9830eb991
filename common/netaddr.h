/*
 * common/netaddr.h - socket addresses and CIDRs, parsed and formatted.
 *
 * Pure code.  IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are folded to
 * IPv4 before any comparison, so a dual-stack socket cannot dodge an IPv4
 * rule by presenting the mapped form.
 */
#ifndef EGRESS_NETADDR_H
#define EGRESS_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* "255.255.255.255:65535" / "[ffff:...:ffff]:65535" plus NUL. */
#define NETADDR_STRLEN	64

/* An address reduced to family and bytes, for matching. */
/* A listening address as configured: parsed, and as written. */
struct listen_addr {
	struct sockaddr_storage	la_addr;
	socklen_t		la_len;
	char			la_text[64];
};

struct ipaddr {
	uint8_t	ia_family;	/* 4 or 6 */
	uint8_t	ia_bytes[16];	/* network order; 4 used for IPv4 */
};

struct cidr {
	struct ipaddr	ci_addr;	/* host bits cleared */
	uint8_t		ci_prefix;	/* 0..32 or 0..128 */
};

/* "a.b.c.d:port" or "[v6]:port"; 0 or -1. */
int	netaddr_parse_hostport(const char *s, struct sockaddr_storage *ss,
	    socklen_t *sslen);
/* "a.b.c.d:port" or "[v6]:port" (mapped addresses shown as IPv4). */
void	netaddr_format(const struct sockaddr *sa, char *buf, size_t len);
/* The address of <sa> without the port. */
void	netaddr_format_ip(const struct ipaddr *ia, char *buf, size_t len);
uint16_t netaddr_port(const struct sockaddr *sa);
/* Folds mapped IPv6 to IPv4; 0, or -1 for a family that is not IP. */
int	ipaddr_from_sockaddr(const struct sockaddr *sa, struct ipaddr *ia);
/* A bare IPv4 or IPv6 literal (no brackets, no port); 0 or -1. */
int	ipaddr_parse(const char *s, struct ipaddr *ia);
bool	ipaddr_equal(const struct ipaddr *a, const struct ipaddr *b);

/* "addr", "addr/len"; host bits are cleared.  0 or -1 with <why> set. */
int	cidr_parse(const char *s, struct cidr *c, const char **why);
bool	cidr_contains(const struct cidr *c, const struct ipaddr *ia);
bool	cidr_overlap(const struct cidr *a, const struct cidr *b);
void	cidr_format(const struct cidr *c, char *buf, size_t len);

/* The non-public ranges of docs/config.md (loopback, RFC 1918, ...). */
bool	ipaddr_is_private(const struct ipaddr *ia);

#endif /* EGRESS_NETADDR_H */
