#include "common/netaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ipaddr.h"

int
netaddr_parse_hostport(const char *s, struct sockaddr_storage *ss,
    socklen_t *sslen)
{
	char		 host[INET6_ADDRSTRLEN + 1];
	const char	*colon, *end;
	char		*ep;
	unsigned long	 port;
	size_t		 hl;

	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL || end[1] != ':')
			return -1;
		hl = (size_t)(end - s - 1);
		s++;
		colon = end + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return -1;
		hl = (size_t)(colon - s);
	}
	if (hl == 0 || hl >= sizeof(host))
		return -1;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (colon[1] < '0' || colon[1] > '9')
		return -1;
	port = strtoul(colon + 1, &ep, 10);
	if (*ep != '\0' || port > 65535)
		return -1;
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		*sslen = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		*sslen = sizeof(*sin6);
		return 0;
	}
	return -1;
}

uint16_t
netaddr_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return 0;
}

void
netaddr_format(const struct sockaddr *sa, char *buf, size_t len)
{
	struct ipaddr	ia;
	char		ip[INET6_ADDRSTRLEN];

	if (ipaddr_from_sockaddr(sa, &ia) == -1) {
		snprintf(buf, len, "?");
		return;
	}
	ipaddr_format(&ia, ip, sizeof(ip));
	snprintf(buf, len, ia.ia_family == 4 ? "%s:%u" : "[%s]:%u", ip,
	    netaddr_port(sa));
}
