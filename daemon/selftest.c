/*
 * The probes go to documentation addresses (RFC 5737, RFC 3849), which no
 * network routes: an answer can only come from this host, that is from
 * the redirect rules sending the probe to egressd (or to the port egressd
 * listens on, refused when it is not running).  A probe that must be
 * dropped counts only when the kernel refuses to send it (EPERM from the
 * filter chain).  Nothing here trusts a remote answer.
 */
#include "daemon/selftest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* How long a probe waits for the local answer a redirect gives at once. */
#define PROBE_WAIT_MS	1500

static void
result(struct selftest_result *r, const char *name, bool ok, const char *why,
    int err)
{
	r->sr_name = name;
	r->sr_ok = ok;
	if (err != 0)
		snprintf(r->sr_why, sizeof(r->sr_why), "%s (%s)", why,
		    strerror(err));
	else
		snprintf(r->sr_why, sizeof(r->sr_why), "%s", why);
}

static socklen_t
doc_addr(int family, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		inet_pton(AF_INET, "192.0.2.1", &sin->sin_addr);
		return sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		inet_pton(AF_INET6, "2001:db8::1", &sin6->sin6_addr);
		return sizeof(*sin6);
	}
}

/* Waits for <fd> to become ready for <ev>; the poll result. */
static int
wait_fd(int fd, short ev)
{
	struct pollfd	pfd = { fd, ev, 0 };
	int		rc;

	while ((rc = poll(&pfd, 1, PROBE_WAIT_MS)) == -1 && errno == EINTR)
		;
	return rc;
}

/*
 * TCP to a documentation address: connected, or refused at once, means a
 * local listener's port answered, i.e. the SYN was redirected.
 */
static void
probe_tcp(struct selftest_result *r, int family, const char *name)
{
	struct sockaddr_storage	ss;
	socklen_t		len = doc_addr(family, 9, &ss), elen;
	int			fd, err = 0;

	if ((fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		result(r, name, false, "no socket", errno);
		return;
	}
	if (connect(fd, (struct sockaddr *)&ss, len) == -1) {
		err = errno;
		if (err == EINPROGRESS) {
			err = ETIMEDOUT;
			elen = sizeof(err);
			if (wait_fd(fd, POLLOUT) > 0)
				getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen);
		}
	}
	close(fd);
	if (err == 0)
		result(r, name, true, "redirected to egressd's listener", 0);
	else if (err == ECONNREFUSED)
		result(r, name, true, "redirected to this host (nothing "
		    "listens on the proxy port yet)", 0);
	else
		result(r, name, false, "not redirected: it would leave", err);
}

/* A query for a name that cannot exist, id 0x5e1f. */
static size_t
dns_query(uint8_t *q)
{
	static const uint8_t head[] = { SELFTEST_DNS_ID >> 8,
	    SELFTEST_DNS_ID & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0 };
	static const char name[] = "\x10" "egressd-selftest" "\x07" "invalid";
	size_t	n = 0;

	memcpy(q, head, sizeof(head));
	n += sizeof(head);
	memcpy(q + n, name, sizeof(name));	/* with the root label */
	n += sizeof(name);
	q[n++] = 0;
	q[n++] = 1;		/* A */
	q[n++] = 0;
	q[n++] = 1;		/* IN */
	return n;
}

/* DNS to an arbitrary server: an answer (or a refusal) from this host. */
static void
probe_dns(struct selftest_result *r, const struct selftest_env *env)
{
	struct sockaddr_storage	ss;
	socklen_t		len = doc_addr(AF_INET, 53, &ss);
	uint8_t			q[64], a[512];
	size_t			qn = dns_query(q);
	ssize_t			n = -1;
	int			fd, err = 0;

	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		result(r, "dns", false, "no socket", errno);
		return;
	}
	if (connect(fd, (struct sockaddr *)&ss, len) == -1 ||
	    send(fd, q, qn, 0) == -1)
		err = errno;
	else if (env != NULL && env->se_queued != NULL && wait_fd(fd,
	    POLLIN) <= 0 && env->se_queued(env->se_arg, SELFTEST_DNS_ID)) {
		close(fd);
		result(r, "dns", true, "reached egressd's DNS filter", 0);
		return;
	} else if (wait_fd(fd, POLLIN) <= 0)
		err = ETIMEDOUT;
	else if ((n = recv(fd, a, sizeof(a), 0)) == -1)
		err = errno;
	close(fd);
	if (n >= 2 && a[0] == q[0] && a[1] == q[1])
		result(r, "dns", true, "answered by egressd's DNS filter", 0);
	else if (err == ECONNREFUSED)
		result(r, "dns", true, "redirected to this host (the DNS filter "
		    "is not listening yet)", 0);
	else if (err == EPERM)
		result(r, "dns", true, "dropped before it left (the DNS filter "
		    "is off)", 0);
	else
		result(r, "dns", false, "not redirected: it would leave", err);
}

/*
 * A datagram that must be dropped: only the kernel refusing to send it
 * (EPERM from the filter chain) proves that.
 */
static void
probe_dropped(struct selftest_result *r, const char *name, int type,
    int proto, uint16_t port)
{
	struct sockaddr_storage	ss;
	socklen_t		len = doc_addr(AF_INET, port, &ss);
	uint8_t			msg[8] = { ICMP_ECHO, 0, 0xf7, 0xff, 0, 0, 0, 0 };
	int			fd, err = 0;

	if ((fd = socket(AF_INET, type | SOCK_CLOEXEC, proto)) == -1) {
		result(r, name, false, "cannot open a socket to probe with",
		    errno);
		return;
	}
	if (sendto(fd, msg, sizeof(msg), 0, (struct sockaddr *)&ss, len) == -1)
		err = errno;
	close(fd);
	if (err == EPERM)
		result(r, name, true, "dropped: the kernel refused to send it", 0);
	else if (err == 0)
		result(r, name, false, "it was sent: nothing dropped it", 0);
	else
		result(r, name, false, "could not tell", err);
}

int
selftest_run(struct selftest_result *r, const struct selftest_env *env)
{
	int	failed = 0, i;

	probe_tcp(&r[0], AF_INET, "tcp4");
	probe_tcp(&r[1], AF_INET6, "tcp6");
	probe_dns(&r[2], env);
	probe_dropped(&r[3], "udp443", SOCK_DGRAM, 0, 443);
	/* A ping socket needs no privilege where ping_group_range allows it. */
	probe_dropped(&r[4], "icmp", SOCK_DGRAM, IPPROTO_ICMP, 0);
	if (!r[4].sr_ok && strstr(r[4].sr_why, "cannot open") != NULL)
		probe_dropped(&r[4], "icmp", SOCK_RAW, IPPROTO_ICMP, 0);
	for (i = 0; i < SELFTEST_PROBES; i++)
		failed += !r[i].sr_ok;
	return failed;
}
