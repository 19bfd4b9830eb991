/*
 * common/netaddr.h - socket addresses with ports, parsed and formatted
 * (mapped IPv6 addresses shown as IPv4).  Pure code.
 */
#ifndef EGRESS_NETADDR_H
#define EGRESS_NETADDR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* "255.255.255.255:65535" / "[ffff:...:ffff]:65535" plus NUL. */
#define NETADDR_STRLEN	64

/* A listening address as configured: parsed, and as written. */
struct listen_addr {
	struct sockaddr_storage	la_addr;
	socklen_t		la_len;
	char			la_text[64];
	bool			la_tproxy;	/* IP_TRANSPARENT (TPROXY) */
};

/* "a.b.c.d:port" or "[v6]:port"; 0 or -1. */
int	netaddr_parse_hostport(const char *s, struct sockaddr_storage *ss,
	    socklen_t *sslen);
/* "a.b.c.d:port" or "[v6]:port" (mapped addresses shown as IPv4). */
void	netaddr_format(const struct sockaddr *sa, char *buf, size_t len);
uint16_t netaddr_port(const struct sockaddr *sa);

#endif /* EGRESS_NETADDR_H */
