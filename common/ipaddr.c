#include "common/ipaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
ipaddr_from_sockaddr(const struct sockaddr *sa, struct ipaddr *ia)
{
	memset(ia, 0, sizeof(*ia));
	if (sa->sa_family == AF_INET) {
		ia->ia_family = 4;
		memcpy(ia->ia_bytes,
		    &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a =
		    &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a)) {
			ia->ia_family = 4;
			memcpy(ia->ia_bytes, &a->s6_addr[12], 4);
		} else {
			ia->ia_family = 6;
			memcpy(ia->ia_bytes, a->s6_addr, 16);
		}
		return 0;
	}
	return -1;
}

int
ipaddr_parse(const char *s, struct ipaddr *ia)
{
	struct in6_addr	a6;

	memset(ia, 0, sizeof(*ia));
	if (inet_pton(AF_INET, s, ia->ia_bytes) == 1) {
		ia->ia_family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &a6) == 1) {
		if (IN6_IS_ADDR_V4MAPPED(&a6)) {
			ia->ia_family = 4;
			memcpy(ia->ia_bytes, &a6.s6_addr[12], 4);
		} else {
			ia->ia_family = 6;
			memcpy(ia->ia_bytes, a6.s6_addr, 16);
		}
		return 0;
	}
	return -1;
}

bool
ipaddr_equal(const struct ipaddr *a, const struct ipaddr *b)
{
	return a->ia_family == b->ia_family &&
	    memcmp(a->ia_bytes, b->ia_bytes, a->ia_family == 4 ? 4 : 16) == 0;
}

void
ipaddr_format(const struct ipaddr *ia, char *buf, size_t len)
{
	if (inet_ntop(ia->ia_family == 4 ? AF_INET : AF_INET6, ia->ia_bytes,
	    buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "?");
}
