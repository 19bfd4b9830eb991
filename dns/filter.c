#include "dns/filter.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "common/log.h"
#include "common/ipaddr.h"
#include "common/netaddr.h"
#include "dns/dnsmsg.h"
#include "dns/resolver.h"
#include "policy/policy.h"

/* Datagrams read per readable event before yielding to other work. */
#define UDP_BURST		64
/* Queries waiting for upstream, all clients together. */
#define MAX_PENDING		4096
/* TCP: queries in flight per connection, and idle time before closing. */
#define TCP_MAX_PENDING		64
#define TCP_IDLE_S		10
/*
 * TCP connections held at once, in all and from one source address: the
 * filter must never hold the descriptors the data path needs
 * (docs/security.md).  The rest are refused at accept.
 */
#define TCP_MAX_CONNS		256
#define TCP_MAX_PER_SOURCE	32
/* Back-off when out of descriptors, instead of spinning on EMFILE. */
#define ACCEPT_PAUSE_MS		100
/* A UDP answer larger than the client can take is sent truncated. */
#define UDP_PLAIN_MAX		512

struct dtcp;

/*
 * The address a UDP query was sent to, so the answer leaves from it. A
 * socket bound to 0.0.0.0 or [::] would otherwise answer from whatever
 * source routing picks (for a REDIRECTed query inside the sandbox: the
 * sandbox's own address, not the 127.0.0.1 that conntrack expects to
 * turn back into the resolver's address), and the client drops it.
 */
struct udp_local {
	sa_family_t		 ul_family;	/* 0: not known */
	union {
		struct in_pktinfo	v4;
		struct in6_pktinfo	v6;
	}			 ul;
};

/* One query forwarded upstream, waiting for its answer. */
struct dq {
	struct dq		*dq_next;
	struct dq		*dq_prev;
	struct dnsfilter	*dq_f;
	struct dtcp		*dq_tcp;	/* NULL: UDP, or TCP gone */
	bool			 dq_udp;
	int			 dq_ufd;	/* UDP socket to answer from */
	struct sockaddr_storage	 dq_src;
	socklen_t		 dq_srclen;
	struct udp_local	 dq_local;
	struct dnsmsg_query	 dq_q;
	uint8_t			*dq_req;	/* owns: the query as sent */
	size_t			 dq_reqlen;
	char			 dq_sandbox[72];
	struct resolver_req	*dq_rq;
};

struct dtcp {
	struct dtcp		*dt_next;
	struct dtcp		**dt_pprev;
	struct dnsfilter	*dt_f;
	struct bufferevent	*dt_bev;
	struct sockaddr_storage	 dt_src;
	socklen_t		 dt_srclen;
	unsigned		 dt_pending;
};

struct dnsfilter {
	struct dnsfilter_env	 f_env;
	int			*f_ufds;
	struct event		**f_uev;
	size_t			 f_nu;
	struct evconnlistener	**f_tl;
	size_t			 f_nt;
	struct dq		*f_pending;
	unsigned		 f_npending;
	struct dtcp		*f_tcps;
	unsigned		 f_ntcps;
	struct event		*f_pause;	/* owns: EMFILE back-off */
	struct udp_local	 f_local;	/* of the datagram answered now */
	uint64_t		 f_next_id;
	uint8_t			 f_buf[65536];	/* one datagram at a time */
};

static uint64_t
filter_id(struct dnsfilter *f)
{
	uint64_t	id;

	if (f->f_env.fe_seq != NULL)
		return f->f_env.fe_id_first + f->f_env.fe_id_stride *
		    atomic_fetch_add(f->f_env.fe_seq, 1);
	id = f->f_next_id;
	f->f_next_id += f->f_env.fe_id_stride;
	return id;
}

static void
filter_audit(struct dnsfilter *f, const struct sockaddr *src,
    const char *sandbox, const char *action, const struct policy_decision *d,
    enum policy_reason reason, const char *host)
{
	struct audit_event	 ev;

	memset(&ev, 0, sizeof(ev));
	clock_gettime(CLOCK_REALTIME, &ev.ae_ts);
	ev.ae_sandbox = sandbox;
	ev.ae_action = action;
	ev.ae_reason = policy_reason_str(reason);
	if (reason == REASON_LEARN && d != NULL)
		ev.ae_would = policy_reason_str(d->pd_would);
	ev.ae_policy = d != NULL ? d->pd_policy : NULL;
	ev.ae_rule = d != NULL ? d->pd_rule : NULL;
	ev.ae_proto = policy_proto_str(POLICY_PROTO_DNS);
	ev.ae_host = host != NULL && host[0] != '\0' ? host : NULL;
	ev.ae_src = src;
	ev.ae_conn = filter_id(f);
	audit_emit(f->f_env.fe_audit, &ev);
}

static void
filter_sendto(int ufd, const struct udp_local *l, const struct sockaddr *to,
    socklen_t tolen, const uint8_t *msg, size_t len)
{
	union {
		struct cmsghdr	align;
		uint8_t		buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	}		 cbuf;
	struct iovec	 iov = { .iov_base = (void *)msg, .iov_len = len };
	struct msghdr	 mh = { .msg_name = (void *)to, .msg_namelen = tolen,
			    .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr	*cm;

	memset(&cbuf, 0, sizeof(cbuf));
	if (l->ul_family == AF_INET || l->ul_family == AF_INET6) {
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = l->ul_family == AF_INET ?
		    CMSG_SPACE(sizeof(struct in_pktinfo)) :
		    CMSG_SPACE(sizeof(struct in6_pktinfo));
		cm = CMSG_FIRSTHDR(&mh);
		if (l->ul_family == AF_INET) {
			struct in_pktinfo pi = { .ipi_spec_dst =
			    l->ul.v4.ipi_addr };

			cm->cmsg_level = IPPROTO_IP;
			cm->cmsg_type = IP_PKTINFO;
			cm->cmsg_len = CMSG_LEN(sizeof(pi));
			memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
		} else {
			cm->cmsg_level = IPPROTO_IPV6;
			cm->cmsg_type = IPV6_PKTINFO;
			cm->cmsg_len = CMSG_LEN(sizeof(l->ul.v6));
			memcpy(CMSG_DATA(cm), &l->ul.v6, sizeof(l->ul.v6));
		}
	}
	(void)sendmsg(ufd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* Sends <len> bytes of answer to a UDP client or down a TCP stream. */
static void
filter_send(struct dnsfilter *f, bool udp, int ufd, struct dtcp *t,
    const struct sockaddr *to, socklen_t tolen, const uint8_t *msg,
    size_t len)
{
	uint16_t	n16;

	if (udp) {
		filter_sendto(ufd, &f->f_local, to, tolen, msg, len);
		return;
	}
	if (t == NULL || len > 65535)
		return;
	n16 = htons((uint16_t)len);
	bufferevent_write(t->dt_bev, &n16, 2);
	bufferevent_write(t->dt_bev, msg, len);
}

static void
filter_reply(struct dnsfilter *f, bool udp, int ufd, struct dtcp *t,
    const struct sockaddr *to, socklen_t tolen, const struct dnsmsg_query *q,
    const uint8_t *req, size_t reqlen, int rcode)
{
	uint8_t	out[1024];
	size_t	n;

	if ((n = dnsmsg_build_reply(q, req, reqlen, rcode, out,
	    sizeof(out))) > 0)
		filter_send(f, udp, ufd, t, to, tolen, out, n);
}

static void
dq_free(struct dq *dq)
{
	struct dnsfilter	*f = dq->dq_f;

	if (dq->dq_prev != NULL)
		dq->dq_prev->dq_next = dq->dq_next;
	else
		f->f_pending = dq->dq_next;
	if (dq->dq_next != NULL)
		dq->dq_next->dq_prev = dq->dq_prev;
	f->f_npending--;
	if (dq->dq_tcp != NULL)
		dq->dq_tcp->dt_pending--;
	free(dq->dq_req);
	free(dq);
}

static void
dq_answer_cb(void *arg, const uint8_t *abuf, size_t alen)
{
	struct dq		*dq = arg;
	struct dnsfilter	*f = dq->dq_f;
	struct dnsmsg_addr	 a[RESOLVER_ADDRS_MAX];
	struct ipaddr		 ips[RESOLVER_ADDRS_MAX];
	uint8_t			*out;
	uint32_t		 ttl;
	size_t			 n, i, limit;
	int			 rcode;

	dq->dq_rq = NULL;
	f->f_local = dq->dq_local;
	if (alen < 12 || (out = malloc(alen)) == NULL) {
		filter_reply(f, dq->dq_udp, dq->dq_ufd, dq->dq_tcp,
		    (struct sockaddr *)&dq->dq_src, dq->dq_srclen, &dq->dq_q,
		    dq->dq_req, dq->dq_reqlen, DNSMSG_RCODE_SERVFAIL);
		dq_free(dq);
		memset(&f->f_local, 0, sizeof(f->f_local));
		return;
	}
	memcpy(out, abuf, alen);
	if (dnsmsg_parse_answers(out, alen, &dq->dq_q,
	    (uint16_t)(out[0] << 8 | out[1]), a, RESOLVER_ADDRS_MAX, &n, &rcode,
	    &ttl) == DNSMSG_OK) {
		for (i = 0; i < n; i++) {
			memset(&ips[i], 0, sizeof(ips[i]));
			ips[i].ia_family = a[i].family;
			memcpy(ips[i].ia_bytes, a[i].addr, a[i].family == 4 ?
			    4 : 16);
		}
		/* What this sandbox was told is what it may dial. */
		if (n > 0)
			dns_shared_remember(f->f_env.fe_ds, dq->dq_sandbox,
			    dq->dq_q.qname, ips, n, ttl);
	}
	dnsmsg_set_id(out, alen, dq->dq_q.id);
	limit = dq->dq_q.edns && dq->dq_q.edns_size > UDP_PLAIN_MAX ?
	    dq->dq_q.edns_size : UDP_PLAIN_MAX;
	if (dq->dq_udp && alen > limit) {
		/* Too big for the client's UDP: TC makes it ask over TCP. */
		uint8_t	tc[1024];
		size_t	tn = dnsmsg_build_reply(&dq->dq_q, dq->dq_req,
		    dq->dq_reqlen, DNSMSG_RCODE_NOERROR, tc, sizeof(tc));

		if (tn > 3) {
			tc[2] |= DNSMSG_F_TC >> 8;
			filter_send(f, true, dq->dq_ufd, NULL,
			    (struct sockaddr *)&dq->dq_src, dq->dq_srclen, tc,
			    tn);
		}
	} else
		filter_send(f, dq->dq_udp, dq->dq_ufd, dq->dq_tcp,
		    (struct sockaddr *)&dq->dq_src, dq->dq_srclen, out, alen);
	free(out);
	dq_free(dq);
	memset(&f->f_local, 0, sizeof(f->f_local));
}

/* One query from a client, over UDP (<t> NULL) or TCP. */
static void
filter_query(struct dnsfilter *f, int ufd, struct dtcp *t,
    const struct sockaddr *src, socklen_t srclen, const uint8_t *buf,
    size_t len)
{
	bool			 udp = t == NULL;
	struct dnsmsg_query	 q;
	enum dnsmsg_result	 r;
	struct ipaddr		 sip;
	struct policy		*p;
	const struct sandbox	*sb;
	struct policy_decision	 d;
	struct dq		*dq;

	r = dnsmsg_parse_query(buf, len, &q);
	if (r == DNSMSG_MALFORMED || (q.flags & DNSMSG_F_QR))
		return;		/* no answer to garbage or to answers */
	if (r == DNSMSG_UNSUPPORTED) {
		filter_reply(f, udp, ufd, t, src, srclen, &q, buf, len,
		    DNSMSG_F_OPCODE(q.flags) != 0 ? DNSMSG_RCODE_NOTIMP :
		    DNSMSG_RCODE_REFUSED);
		return;
	}
	if (ipaddr_from_sockaddr(src, &sip) == -1)
		return;
	p = f->f_env.fe_policy(f->f_env.fe_arg);
	if ((sb = policy_sandbox_find(p, &sip)) == NULL) {
		filter_reply(f, udp, ufd, t, src, srclen, &q, buf, len,
		    DNSMSG_RCODE_REFUSED);
		filter_audit(f, src, NULL, "deny", NULL,
		    REASON_UNKNOWN_SANDBOX, q.qname);
		policy_unref(p);
		return;
	}
	if (q.qname[0] == '\0' || !policy_name_check(sb, q.qname, &d)) {
		/* The zone is a lie, not a leak: nothing goes upstream. */
		filter_reply(f, udp, ufd, t, src, srclen, &q, buf, len,
		    DNSMSG_RCODE_NXDOMAIN);
		filter_audit(f, src, sandbox_id(sb), "deny", &d,
		    q.qname[0] == '\0' ? REASON_NO_MATCHING_ALLOW :
		    d.pd_reason, q.qname);
		policy_unref(p);
		return;
	}
	switch (q.qtype) {
	case DNSMSG_TYPE_A:
	case DNSMSG_TYPE_AAAA:
	case DNSMSG_TYPE_CNAME:
		break;
	case DNSMSG_TYPE_HTTPS:
	case DNSMSG_TYPE_SVCB:
		if (f->f_env.fe_strip_https(f->f_env.fe_arg)) {
			/* No ECH keys reach the client: SNI stays readable. */
			filter_reply(f, udp, ufd, t, src, srclen, &q, buf, len,
			    DNSMSG_RCODE_NOERROR);
			policy_unref(p);
			return;
		}
		break;
	default:
		filter_reply(f, udp, ufd, t, src, srclen, &q, buf, len,
		    DNSMSG_RCODE_REFUSED);
		policy_unref(p);
		return;
	}
	if (f->f_npending >= MAX_PENDING || (t != NULL &&
	    t->dt_pending >= TCP_MAX_PENDING) ||
	    (dq = calloc(1, sizeof(*dq))) == NULL) {
		filter_reply(f, udp, ufd, t, src, srclen, &q, buf, len,
		    DNSMSG_RCODE_SERVFAIL);
		policy_unref(p);
		return;
	}
	dq->dq_f = f;
	dq->dq_tcp = t;
	dq->dq_udp = udp;
	dq->dq_ufd = ufd;
	dq->dq_local = f->f_local;
	memcpy(&dq->dq_src, src, srclen);
	dq->dq_srclen = srclen;
	dq->dq_q = q;
	snprintf(dq->dq_sandbox, sizeof(dq->dq_sandbox), "%s", sandbox_id(sb));
	filter_audit(f, src, sandbox_id(sb), "allow", &d, d.pd_reason,
	    q.qname);
	policy_unref(p);
	if ((dq->dq_req = malloc(len)) == NULL) {
		free(dq);
		return;
	}
	memcpy(dq->dq_req, buf, len);
	dq->dq_reqlen = len;
	dq->dq_next = f->f_pending;
	if (f->f_pending != NULL)
		f->f_pending->dq_prev = dq;
	f->f_pending = dq;
	f->f_npending++;
	if (t != NULL)
		t->dt_pending++;
	dq->dq_rq = resolver_send(f->f_env.fe_resolver, buf, len, dq_answer_cb,
	    dq);
	if (dq->dq_rq == NULL) {
		filter_reply(f, udp, ufd, t, src, srclen, &q, buf, len,
		    DNSMSG_RCODE_SERVFAIL);
		dq_free(dq);
	}
}

/* One datagram into f_buf, its destination address into f_local. */
static ssize_t
filter_recv(struct dnsfilter *f, int fd, struct sockaddr_storage *src,
    socklen_t *slen)
{
	union {
		struct cmsghdr	align;
		uint8_t		buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) +
				    CMSG_SPACE(sizeof(struct in_pktinfo))];
	}		 cbuf;
	struct iovec	 iov = { .iov_base = f->f_buf,
			    .iov_len = sizeof(f->f_buf) };
	struct msghdr	 mh = { .msg_name = src, .msg_namelen = sizeof(*src),
			    .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = cbuf.buf,
			    .msg_controllen = sizeof(cbuf.buf) };
	struct cmsghdr	*cm;
	ssize_t		 n;

	memset(&f->f_local, 0, sizeof(f->f_local));
	if ((n = recvmsg(fd, &mh, MSG_DONTWAIT)) < 0)
		return n;
	*slen = mh.msg_namelen;
	for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level == IPPROTO_IP &&
		    cm->cmsg_type == IP_PKTINFO &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
			memcpy(&f->f_local.ul.v4, CMSG_DATA(cm),
			    sizeof(struct in_pktinfo));
			f->f_local.ul_family = AF_INET;
		} else if (cm->cmsg_level == IPPROTO_IPV6 &&
		    cm->cmsg_type == IPV6_PKTINFO &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
			memcpy(&f->f_local.ul.v6, CMSG_DATA(cm),
			    sizeof(struct in6_pktinfo));
			f->f_local.ul_family = AF_INET6;
		}
	}
	/* The interface is routing's choice again; only the address stays. */
	if (f->f_local.ul_family == AF_INET)
		f->f_local.ul.v4.ipi_ifindex = 0;
	else if (f->f_local.ul_family == AF_INET6)
		f->f_local.ul.v6.ipi6_ifindex = 0;
	return n;
}

static void
filter_udp_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dnsfilter	*f = arg;
	struct sockaddr_storage	 src;
	socklen_t		 slen = 0;
	ssize_t			 n;
	int			 i;

	for (i = 0; i < UDP_BURST; i++) {
		if ((n = filter_recv(f, fd, &src, &slen)) < 0)
			return;
		filter_query(f, fd, NULL, (struct sockaddr *)&src, slen,
		    f->f_buf, (size_t)n);
		memset(&f->f_local, 0, sizeof(f->f_local));
	}
}

static void
dtcp_free(struct dtcp *t)
{
	struct dq	*dq;

	/* Answers still on their way go nowhere. */
	for (dq = t->dt_f->f_pending; dq != NULL; dq = dq->dq_next)
		if (dq->dq_tcp == t)
			dq->dq_tcp = NULL;
	*t->dt_pprev = t->dt_next;
	if (t->dt_next != NULL)
		t->dt_next->dt_pprev = t->dt_pprev;
	t->dt_f->f_ntcps--;
	bufferevent_free(t->dt_bev);
	free(t);
}

static void
dtcp_read_cb(struct bufferevent *bev, void *arg)
{
	struct dtcp	*t = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	uint8_t		 hdr[2], *msg;
	size_t		 len;

	while (evbuffer_get_length(in) >= 2) {
		evbuffer_copyout(in, hdr, 2);
		len = (size_t)hdr[0] << 8 | hdr[1];
		if (evbuffer_get_length(in) < 2 + len)
			return;
		evbuffer_drain(in, 2);
		if ((msg = evbuffer_pullup(in, (ssize_t)len)) == NULL) {
			dtcp_free(t);
			return;
		}
		filter_query(t->dt_f, -1, t, (struct sockaddr *)&t->dt_src,
		    t->dt_srclen, msg, len);
		evbuffer_drain(in, len);
	}
}

static void
dtcp_event_cb(struct bufferevent *bev, short what, void *arg)
{
	dtcp_free(arg);
}

/* Whether one more TCP client from <sa> fits under the caps. */
static bool
filter_tcp_room(const struct dnsfilter *f, const struct sockaddr *sa)
{
	const struct dtcp	*t;
	struct ipaddr		 a, b;
	unsigned		 same = 0;

	if (f->f_ntcps >= TCP_MAX_CONNS)
		return false;
	if (ipaddr_from_sockaddr(sa, &a) == -1)
		return false;
	for (t = f->f_tcps; t != NULL; t = t->dt_next)
		if (ipaddr_from_sockaddr((const struct sockaddr *)&t->dt_src,
		    &b) == 0 && ipaddr_equal(&a, &b) &&
		    ++same >= TCP_MAX_PER_SOURCE)
			return false;
	return true;
}

static void
filter_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dnsfilter	*f = arg;
	size_t			 i;

	for (i = 0; i < f->f_nt; i++)
		evconnlistener_enable(f->f_tl[i]);
}

static void
filter_accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct dnsfilter	*f = arg;
	struct timeval		 tv = { 0, ACCEPT_PAUSE_MS * 1000 };
	size_t			 i;
	int			 e = EVUTIL_SOCKET_ERROR();

	if (e != EMFILE && e != ENFILE && e != ENOBUFS && e != ENOMEM)
		return;
	log_warnx("dns filter: accept: %s; pausing TCP for %d ms",
	    strerror(e), ACCEPT_PAUSE_MS);
	for (i = 0; i < f->f_nt; i++)
		evconnlistener_disable(f->f_tl[i]);
	evtimer_add(f->f_pause, &tv);
}

static void
filter_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct dnsfilter	*f = arg;
	struct dtcp		*t;
	struct timeval		 idle = { TCP_IDLE_S, 0 };
	struct linger		 rst = { 1, 0 };

	if (!filter_tcp_room(f, sa)) {
		/* Refused at once, with RST: nothing lingers in TIME_WAIT. */
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst));
		close(fd);
		return;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->dt_bev = bufferevent_socket_new(f->f_env.fe_base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		free(t);
		close(fd);
		return;
	}
	t->dt_f = f;
	memcpy(&t->dt_src, sa, (size_t)salen);
	t->dt_srclen = (socklen_t)salen;
	t->dt_next = f->f_tcps;
	if (f->f_tcps != NULL)
		f->f_tcps->dt_pprev = &t->dt_next;
	t->dt_pprev = &f->f_tcps;
	f->f_tcps = t;
	f->f_ntcps++;
	bufferevent_setcb(t->dt_bev, dtcp_read_cb, NULL, dtcp_event_cb, t);
	bufferevent_set_timeouts(t->dt_bev, &idle, &idle);
	bufferevent_setwatermark(t->dt_bev, EV_READ, 0, 2 + 65535);
	bufferevent_enable(t->dt_bev, EV_READ | EV_WRITE);
}

/*
 * A bound socket for one dns.listen address. IPv6 sockets are V6ONLY so
 * that "0.0.0.0:53" and "[::]:53" can both be listed (a dual-stack [::]
 * would take the IPv4 port too and the second bind would fail). No
 * SO_REUSEPORT: the workers share one UDP socket per address instead, so a
 * second egressd (or anything else of the same uid) fails to bind rather
 * than silently taking a share of the queries.
 */
static int
filter_socket(const struct listen_addr *la, int type)
{
	int	fd, one = 1;

	fd = socket(la->la_addr.ss_family, type | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if ((type == SOCK_STREAM && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR,
	    &one, sizeof(one)) == -1) ||
	    (la->la_addr.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &one, sizeof(one)) == -1) ||
	    (type == SOCK_DGRAM && (la->la_addr.ss_family == AF_INET6 ?
	    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one,
	    sizeof(one)) : setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one,
	    sizeof(one))) == -1) ||
	    bind(fd, (const struct sockaddr *)&la->la_addr, la->la_len) == -1 ||
	    (type == SOCK_STREAM && listen(fd, 128) == -1)) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int
dnsfilter_udp_open(const struct listen_addr *addrs, size_t naddrs, int *fds,
    char **err)
{
	size_t	i;

	*err = NULL;
	for (i = 0; i < naddrs; i++)
		if ((fds[i] = filter_socket(&addrs[i], SOCK_DGRAM)) == -1) {
			if (asprintf(err, "dns.listen %s (udp): %s",
			    addrs[i].la_text, strerror(errno)) < 0)
				*err = NULL;
			while (i > 0)
				close(fds[--i]);
			return -1;
		}
	return 0;
}

struct dnsfilter *
dnsfilter_new(const struct dnsfilter_env *env, const struct listen_addr *addrs,
    size_t naddrs, char **err)
{
	struct dnsfilter	*f;
	size_t			 i;
	int			 fd;

	*err = NULL;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	f->f_env = *env;
	f->f_next_id = env->fe_id_first;
	if ((f->f_pause = evtimer_new(env->fe_base, filter_resume_cb, f)) ==
	    NULL) {
		free(f);
		return NULL;
	}
	f->f_ufds = calloc(naddrs, sizeof(*f->f_ufds));
	f->f_uev = calloc(naddrs, sizeof(*f->f_uev));
	f->f_tl = calloc(naddrs, sizeof(*f->f_tl));
	if (f->f_ufds == NULL || f->f_uev == NULL || f->f_tl == NULL)
		goto fail;
	for (i = 0; i < naddrs; i++) {
		f->f_ufds[i] = env->fe_udp_fds != NULL ?
		    fcntl(env->fe_udp_fds[i], F_DUPFD_CLOEXEC, 0) :
		    filter_socket(&addrs[i], SOCK_DGRAM);
		if (f->f_ufds[i] == -1) {
			if (asprintf(err, "dns.listen %s (udp): %s",
			    addrs[i].la_text, strerror(errno)) < 0)
				*err = NULL;
			goto fail;
		}
		f->f_nu++;
		f->f_uev[i] = event_new(env->fe_base, f->f_ufds[i],
		    EV_READ | EV_PERSIST, filter_udp_cb, f);
		if (f->f_uev[i] == NULL || event_add(f->f_uev[i], NULL) == -1)
			goto fail;
		if (env->fe_udp_only)
			continue;
		if ((fd = filter_socket(&addrs[i], SOCK_STREAM)) == -1 ||
		    (f->f_tl[i] = evconnlistener_new(env->fe_base,
		    filter_accept_cb, f, LEV_OPT_CLOSE_ON_FREE, 0, fd)) == NULL) {
			int e = errno;

			if (fd != -1)
				close(fd);
			errno = e;
			if (asprintf(err, "dns.listen %s (tcp): %s",
			    addrs[i].la_text, strerror(errno)) < 0)
				*err = NULL;
			goto fail;
		}
		f->f_nt++;
		evconnlistener_set_error_cb(f->f_tl[i], filter_accept_error_cb);
	}
	return f;
fail:
	dnsfilter_free(f);
	return NULL;
}

void
dnsfilter_free(struct dnsfilter *f)
{
	size_t	i;

	if (f == NULL)
		return;
	while (f->f_tcps != NULL)
		dtcp_free(f->f_tcps);
	while (f->f_pending != NULL) {
		resolver_cancel(f->f_pending->dq_rq);
		dq_free(f->f_pending);
	}
	for (i = 0; i < f->f_nu; i++) {
		if (f->f_uev[i] != NULL)
			event_free(f->f_uev[i]);
		close(f->f_ufds[i]);
	}
	for (i = 0; i < f->f_nt; i++)
		evconnlistener_free(f->f_tl[i]);
	free(f->f_ufds);
	free(f->f_uev);
	free(f->f_tl);
	if (f->f_pause != NULL)
		event_free(f->f_pause);
	free(f);
}

bool
dnsfilter_queued(struct dnsfilter *f, uint16_t id)
{
	uint8_t	hdr[2];
	size_t	i;

	for (i = 0; f != NULL && i < f->f_nu; i++)
		if (recv(f->f_ufds[i], hdr, sizeof(hdr), MSG_PEEK |
		    MSG_DONTWAIT) == 2 && (hdr[0] << 8 | hdr[1]) == id)
			return true;
	return false;
}
