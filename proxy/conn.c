#include "proxy/conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6/ip6_tables.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "audit/audit.h"
#include "common/secret.h"
#include "common/log.h"
#include "common/ipaddr.h"
#include "common/netaddr.h"
#include "common/strhash.h"
#include "dns/resolver.h"
#include "policy/hostname.h"
#include "policy/policy.h"
#include "proxy/certs.h"
#include "proxy/destcheck.h"
#include "proxy/httpflow.h"
#include "proxy/mitm.h"
#include "proxy/phantom.h"
#include "proxy/half.h"
#include "proxy/shared.h"
#include "proxy/worker.h"
#include "sniff/http.h"
#include "sniff/tls.h"

enum conn_state {
	CONN_PEEKING,		/* reading the client's first bytes */
	CONN_RESOLVING,		/* allowed by host; checking where it points */
	CONN_CONNECTING,	/* allowed; upstream connect in progress */
	CONN_RELAYING,		/* both halves moving bytes */
	CONN_CLOSED		/* audited and closed; freed when unreferenced */
};

enum close_kind {
	CLOSE_END,		/* an allowed connection finished */
	CLOSE_DENY,		/* refused by policy or bad input */
	CLOSE_ERROR		/* egressd could not carry it (upstream) */
};

struct conn {
	struct worker_slot	 c_slot;	/* in c_w's list */
	struct worker		*c_w;		/* borrowed */
	struct shared		*c_sh;		/* borrowed: c_w's */
	uint64_t		 c_id;
	enum conn_state		 c_state;
	unsigned		 c_refs;	/* callbacks on the stack */
	int			 c_cfd;		/* owns */
	int			 c_ufd;		/* owns; -1 until dialled */
	struct sockaddr_storage	 c_src;
	struct sockaddr_storage	 c_dst;		/* original destination */
	socklen_t		 c_dstlen;
	struct ipaddr		 c_dst_ip;
	uint16_t		 c_dst_port;
	struct policy		*c_policy;	/* owns one ref */
	const struct sandbox	*c_sb;		/* borrowed from c_policy */
	enum policy_proto	 c_proto;
	char			 c_host[HOSTNAME_MAX];
	bool			 c_has_host;
	bool			 c_ech;
	bool			 c_peek_timed_out;
	bool			 c_counted;	/* in c_sb's sb_active */
	bool			 c_audit_pending; /* early allow not yet written */
	bool			 c_host_claimed; /* c_host never judged: decided
						    at accept, read afterwards */
	struct policy_decision	 c_dec;		/* strings borrow c_policy */
	struct destcheck	 c_dc;		/* the host's look-up */

	uint8_t			*c_peek;	/* owns; freed once relaying */
	size_t			 c_peek_len;
	size_t			 c_peek_cap;
	struct tls_sniff	 c_tls;
	struct http_sniff	 c_hs;
	bool			 c_not_tls;
	bool			 c_not_http;

	/*
	 * HTTPS interception (docs/interception.md): the client's TLS ends
	 * here and requests are judged like HTTP (c_proto HTTPS).
	 */
	bool			 c_intercept;	/* decided: terminate TLS */
	/*
	 * A spliced TLS connection judged by its SNI: the server's first
	 * record is read to see whether it is a HelloRetryRequest, after
	 * which the client sends a second ClientHello that must name the
	 * same host (a switch there would be domain fronting).
	 */
	bool			 c_tls_watch;
	bool			 c_tls_hrr;	/* ... and it was one */
	size_t			 c_hello_len;	/* the ClientHello's records */
	struct conn_mitm	*c_mitm;	/* owns, once relaying */

	struct http_request	 c_req;		/* the head peeked at accept */
	bool			 c_req_ok;	/* c_req parsed from c_peek */
	struct http_flow	*c_flow;	/* owns: HTTP once relaying */
	bool			 c_deny_pending; /* once c_up.h_out is out */
	enum policy_reason	 c_deny_reason;

	struct half		 c_up;		/* client -> upstream */
	struct half		 c_down;	/* upstream -> client */
	struct event		 c_timer;	/* peek and connect deadline */
	struct timespec		 c_start;	/* CLOCK_MONOTONIC */
	time_t			 c_active;	/* last I/O, monotonic s */
};

/* An intercepted connection's two sessions and what is owed the client. */
struct conn_mitm {
	struct mitm_tls		 cm_down;	/* egressd as the server */
	struct mitm_tls		 cm_up;		/* egressd as the client */
	/* Held while the sessions live: their contexts call back into it. */
	struct certs		*cm_certs;	/* owns a ref */
	char			 cm_sni[HOSTNAME_MAX];
	enum policy_reason	 cm_fail;	/* upstream failed: answer it */
	bool			 cm_rd_client;	/* read events armed */
	bool			 cm_rd_server;
	/*
	 * "Run again soon", never added: libevent does not register an
	 * event_add() on an event that sits activated, so the read events
	 * the sessions toggle must never be activated by hand.
	 */
	struct event		 cm_kick;
};

/* Plaintext a direction may hold before it stops reading. */
#define MITM_HIGH	(256 * 1024)

static void	conn_io_cb(evutil_socket_t, short, void *);
static void	conn_timer_cb(evutil_socket_t, short, void *);
static void	conn_close(struct conn *, enum close_kind, enum policy_reason,
		    bool);
static void	conn_decide(struct conn *);
static void	conn_proceed(struct conn *);
static void	conn_connect(struct conn *);
static void	conn_relay_start(struct conn *);
static void	conn_relay_step(struct conn *, struct half *);
static int	conn_http_filter(struct half *);
static int	conn_resp_filter(struct half *);
static int	conn_tls_down_filter(struct half *);
static int	conn_tls_up_filter(struct half *);
static void	conn_mitm_start(struct conn *);
static void	conn_mitm_step(struct conn *);
static void	conn_mitm_answer(struct conn *, int, enum policy_reason);
static void	conn_mitm_kick_cb(evutil_socket_t, short, void *);

/*
 * Every entry point (event callback, resolver answer, worker call) holds
 * the connection while it runs: conn_close() can then run anywhere below
 * and the memory goes only when the outermost caller lets go.
 */
static void
conn_hold(struct conn *c)
{
	c->c_refs++;
}

static void	conn_free(struct conn *);

static void
conn_release(struct conn *c)
{
	if (--c->c_refs == 0 && c->c_state == CONN_CLOSED)
		conn_free(c);
}

static const char *
conn_state_str(enum conn_state s)
{
	switch (s) {
	case CONN_PEEKING:
		return "peeking";
	case CONN_RESOLVING:
		return "resolving";
	case CONN_CONNECTING:
		return "connecting";
	case CONN_RELAYING:
		return "relaying";
	case CONN_CLOSED:
		return "closed";
	}
	return "invalid";
}

static void
conn_set_state(struct conn *c, enum conn_state s)
{
	log_debug("conn %llu: %s -> %s", (unsigned long long)c->c_id,
	    conn_state_str(c->c_state), conn_state_str(s));
	c->c_state = s;
}

time_t
conn_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ts.tv_sec;
}

static const struct proxy_conf *
conn_cf(const struct conn *c)
{
	return shared_conf(c->c_sh);
}

/* The connection a worker's list entry belongs to. */
static struct conn *
conn_of(struct worker_slot *s)
{
	return (struct conn *)((char *)s - offsetof(struct conn, c_slot));
}

/* Fills the fields every event of this connection shares. */
static void
conn_event(const struct conn *c, struct audit_event *ev, const char *action,
    enum policy_reason reason)
{
	memset(ev, 0, sizeof(*ev));
	clock_gettime(CLOCK_REALTIME, &ev->ae_ts);
	ev->ae_sandbox = c->c_sb != NULL ? sandbox_id(c->c_sb) : NULL;
	ev->ae_action = action;
	ev->ae_reason = policy_reason_str(reason);
	if (reason == REASON_LEARN)
		ev->ae_would = policy_reason_str(c->c_dec.pd_would);
	ev->ae_policy = c->c_dec.pd_policy;
	ev->ae_rule = c->c_dec.pd_rule;
	ev->ae_proto = policy_proto_str(c->c_proto);
	ev->ae_host = c->c_has_host ? c->c_host : NULL;
	ev->ae_host_claimed = c->c_host_claimed;
	ev->ae_ech = c->c_ech;
	ev->ae_src = (const struct sockaddr *)&c->c_src;
	ev->ae_dst = c->c_dstlen > 0 ? (const struct sockaddr *)&c->c_dst :
	    NULL;
	ev->ae_conn = c->c_id;
}

/*
 * The HTTP request being judged, with its path: the flow's once relaying,
 * the head peeked at accept before that; NULL when there is none.
 */
static const struct http_request *
conn_request(const struct conn *c, const char **path, size_t *plen)
{
	if (c->c_proto != POLICY_PROTO_HTTP && c->c_proto != POLICY_PROTO_HTTPS)
		return NULL;
	if (c->c_flow != NULL) {
		if (c->c_flow->hf_phase != HTTPFLOW_IN_JUDGING)
			return NULL;
		*path = httpflow_path(c->c_flow, plen);
		return &c->c_flow->hf_req;
	}
	if (!c->c_req_ok)
		return NULL;
	if (c->c_req.path_len == 0) {
		*path = "/";
		*plen = 1;
	} else {
		*path = (const char *)c->c_peek + c->c_req.path_off;
		*plen = c->c_req.path_len;
	}
	return &c->c_req;
}

/* Method and path of the request being judged, for HTTP events. */
static void
conn_event_http(const struct conn *c, struct audit_event *ev)
{
	const struct http_request	*r;

	if ((r = conn_request(c, &ev->ae_path, &ev->ae_path_len)) != NULL)
		ev->ae_method = r->method;
	else
		ev->ae_path = NULL;
}

static void
conn_audit_allow(struct conn *c)
{
	struct audit_event	ev;

	conn_event(c, &ev, "allow", c->c_dec.pd_reason);
	conn_event_http(c, &ev);
	audit_emit(c->c_sh->sh_audit, &ev);
}

static void
conn_free(struct conn *c)
{
	if (c->c_mitm != NULL) {
		mitm_free(&c->c_mitm->cm_down);
		mitm_free(&c->c_mitm->cm_up);
		certs_unref(c->c_mitm->cm_certs);
		free(c->c_mitm);
	}
	free(c->c_peek);
	free(c->c_flow);
	free(c);
}

static void
conn_reset_fd(int fd)
{
	struct linger	l = { 1, 0 };

	/* SO_LINGER 0: close() sends RST instead of FIN. */
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
}

/*
 * The one way out: writes the final event, closes both sockets (with RST
 * to the client when <rst>), and frees the connection unless a callback
 * further up the stack still uses it.
 */
static void
conn_close(struct conn *c, enum close_kind kind, enum policy_reason reason,
    bool rst)
{
	struct audit_event	 ev;
	struct timespec		 now;
	const char		*action;

	if (c->c_state == CONN_CLOSED)
		return;
	if (c->c_audit_pending) {
		c->c_audit_pending = false;
		conn_audit_allow(c);
	}
	switch (kind) {
	case CLOSE_END:
		action = "end";
		break;
	case CLOSE_DENY:
		action = "deny";
		break;
	case CLOSE_ERROR:
		action = "error";
		break;
	default:
		fatalx("%s: bad close kind", __func__);
	}
	/* Always emitted: the sink counts what log_allowed keeps out. */
	{
		conn_event(c, &ev, action, reason);
		if (kind == CLOSE_DENY)
			conn_event_http(c, &ev);
		if (kind == CLOSE_END) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			ev.ae_has_bytes = true;
			ev.ae_bytes_up = c->c_up.h_bytes;
			ev.ae_bytes_down = c->c_down.h_bytes;
			ev.ae_duration_ms = (uint64_t)((now.tv_sec -
			    c->c_start.tv_sec) * 1000 + (now.tv_nsec -
			    c->c_start.tv_nsec) / 1000000);
		}
		audit_emit(c->c_sh->sh_audit, &ev);
	}
	conn_set_state(c, CONN_CLOSED);
	destcheck_cancel(&c->c_dc);
	if (c->c_mitm != NULL)
		event_del(&c->c_mitm->cm_kick);
	half_release(&c->c_up);
	half_release(&c->c_down);
	if (event_initialized(&c->c_timer))
		event_del(&c->c_timer);
	if (rst)
		conn_reset_fd(c->c_cfd);
	close(c->c_cfd);
	c->c_cfd = -1;
	if (c->c_ufd != -1) {
		if (rst)
			conn_reset_fd(c->c_ufd);
		close(c->c_ufd);
		c->c_ufd = -1;
	}
	if (c->c_counted)
		sandbox_conn_del(c->c_sb);
	c->c_counted = false;
	policy_unref(c->c_policy);
	c->c_policy = NULL;
	c->c_sb = NULL;
	worker_conn_del(c->c_w, &c->c_slot);
	if (c->c_refs == 0)
		conn_free(c);
}

/* deny_response: explain, for the protocols that can carry a reason. */
static void
conn_explain(struct conn *c, enum policy_reason reason)
{
	/* TLS fatal alert, access_denied(49), in a TLS 1.2 record. */
	static const uint8_t	alert[] = { 0x15, 0x03, 0x03, 0x00, 0x02,
				    0x02, 0x31 };
	char			body[512], msg[768];
	int			n;

	if (c->c_proto == POLICY_PROTO_TLS) {
		(void)send(c->c_cfd, alert, sizeof(alert),
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		return;
	}
	if (c->c_proto != POLICY_PROTO_HTTP)
		return;
	snprintf(body, sizeof(body), "egressd: %s denied (%s)\n",
	    c->c_has_host ? c->c_host : "request",
	    policy_reason_str(reason));
	n = snprintf(msg, sizeof(msg), "HTTP/1.1 403 Forbidden\r\n"
	    "Content-Type: text/plain\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\nX-Egressd-Reason: %s\r\n\r\n%s",
	    strlen(body), policy_reason_str(reason), body);
	if (n > 0)
		(void)send(c->c_cfd, msg, (size_t)n, MSG_NOSIGNAL |
		    MSG_DONTWAIT);
}

static void
conn_deny(struct conn *c, enum policy_reason reason)
{
	bool	idle_down;

	if (c->c_mitm != NULL) {
		/* Inside intercepted TLS egressd speaks HTTP itself. */
		conn_mitm_answer(c, 403, reason);
		return;
	}
	/*
	 * A 403 can only follow a complete response: mid-stream, with
	 * response bytes in flight, the client gets a reset instead.
	 */
	idle_down = c->c_state != CONN_RELAYING || (c->c_down.h_inpipe == 0 &&
	    (c->c_down.h_out == NULL ||
	    evbuffer_get_length(c->c_down.h_out) == 0));
	if (conn_cf(c)->pc_deny_response == DENY_EXPLAIN && idle_down) {
		conn_explain(c, reason);
		conn_close(c, CLOSE_DENY, reason, false);
		return;
	}
	conn_close(c, CLOSE_DENY, reason, true);
}

/* A deny decided by the policy keeps its policy and rule for the event. */
static void
conn_deny_decision(struct conn *c, const struct policy_decision *d)
{
	c->c_dec = *d;
	conn_deny(c, d->pd_reason);
}

/*
 * Under TPROXY the accepted socket's local address is where the client
 * was going; it loops back into egressd only when it is the listener's
 * own port on the listener's address (or on any, for a wildcard one).
 */
static bool
conn_tproxy_loop(const struct conn *c, const struct listen_addr *la)
{
	struct ipaddr	lip;
	static const uint8_t zero[16];

	if (c->c_dst_port != netaddr_port((const struct sockaddr *)
	    &la->la_addr) || ipaddr_from_sockaddr((const struct sockaddr *)
	    &la->la_addr, &lip) == -1)
		return false;
	return memcmp(lip.ia_bytes, zero, lip.ia_family == 4 ? 4 : 16) == 0 ||
	    ipaddr_equal(&lip, &c->c_dst_ip);
}

/*
 * The local address of a socket accepted on <la> when the listener is
 * bound to one address (127.0.0.1:15001, the sidecar's): that address,
 * without a getsockname() per connection.  False for a wildcard.
 */
static bool
conn_bound_local(const struct listen_addr *la, struct sockaddr_storage *local,
    socklen_t *llen)
{
	struct ipaddr	lip;
	static const uint8_t zero[16];

	if (ipaddr_from_sockaddr((const struct sockaddr *)&la->la_addr,
	    &lip) == -1 || memcmp(lip.ia_bytes, zero, lip.ia_family == 4 ? 4 :
	    16) == 0 || la->la_len > sizeof(*local))
		return false;
	memcpy(local, &la->la_addr, la->la_len);
	*llen = la->la_len;
	return true;
}

static int
conn_original_dst(struct conn *c, int fd, const struct listen_addr *la)
{
	struct sockaddr_storage	local;
	socklen_t		len = sizeof(c->c_dst), llen = sizeof(local);
	int			rc = -1;

	if (la->la_tproxy)
		;	/* no NAT entry: the local address is the destination */
	else if (c->c_src.ss_family == AF_INET6 && !IN6_IS_ADDR_V4MAPPED(
	    &((struct sockaddr_in6 *)&c->c_src)->sin6_addr))
		rc = getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &c->c_dst,
		    &len);
	else
		rc = getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &c->c_dst, &len);
	if ((rc == -1 || !conn_bound_local(la, &local, &llen)) &&
	    getsockname(fd, (struct sockaddr *)&local, &llen) == -1)
		return -1;
	if (rc == -1) {
		/* No NAT entry: TPROXY, or a direct connection to us. */
		memcpy(&c->c_dst, &local, llen);
		len = llen;
	}
	c->c_dstlen = len;
	if (ipaddr_from_sockaddr((struct sockaddr *)&c->c_dst,
	    &c->c_dst_ip) == -1)
		return -1;
	c->c_dst_port = netaddr_port((struct sockaddr *)&c->c_dst);
	if (la->la_tproxy)
		return conn_tproxy_loop(c, la) ? 1 : 0;
	/* Dialling our own listener would loop back into egressd. */
	{
		struct ipaddr	lip;

		if (ipaddr_from_sockaddr((struct sockaddr *)&local, &lip) == 0 &&
		    ipaddr_equal(&lip, &c->c_dst_ip) && c->c_dst_port ==
		    netaddr_port((struct sockaddr *)&local))
			return 1;
	}
	return 0;
}

/* A connection for the freshly accepted <fd>, listed on <w>. */
static struct conn *
conn_new(struct worker *w, int fd, const struct sockaddr *peer,
    socklen_t peerlen)
{
	struct conn	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("%s: calloc", __func__);
		conn_reset_fd(fd);
		close(fd);
		return NULL;
	}
	c->c_w = w;
	c->c_sh = w->w_sh;
	c->c_id = worker_conn_add(w, &c->c_slot);
	c->c_cfd = fd;
	c->c_ufd = -1;
	c->c_proto = POLICY_PROTO_OTHER;
	memcpy(&c->c_src, peer, peerlen);
	clock_gettime(CLOCK_MONOTONIC, &c->c_start);
	c->c_active = c->c_start.tv_sec;
	half_init(&c->c_up, c, &w->w_pipes);
	half_init(&c->c_down, c, &w->w_pipes);
	c->c_up.h_peer = &c->c_down;
	c->c_down.h_peer = &c->c_up;
	c->c_up.h_from = c->c_down.h_to = fd;
	c->c_policy = shared_policy(c->c_sh);
	c->c_state = CONN_PEEKING;
	/* TCP_NODELAY comes from the listener (worker_listen()). */
	return c;
}

/*
 * Whose is it, where was it going, and is there room: false when the
 * connection was refused (and closed).
 */
static bool
conn_admit(struct conn *c, const struct sockaddr *peer,
    const struct listen_addr *la)
{
	const struct proxy_conf	*cf = conn_cf(c);
	struct ipaddr		 src;
	int			 loop = 0;

	if (ipaddr_from_sockaddr(peer, &src) == -1 ||
	    (loop = conn_original_dst(c, c->c_cfd, la)) == -1) {
		conn_close(c, CLOSE_ERROR, REASON_CONNECT_FAILED, true);
		return false;
	}
	c->c_sb = policy_sandbox_find(c->c_policy, &src);
	if (c->c_sb == NULL) {
		conn_deny(c, REASON_UNKNOWN_SANDBOX);
		return false;
	}
	if (loop) {
		conn_deny(c, REASON_LOOP);
		return false;
	}
	if (atomic_load(&c->c_sh->sh_active) >
	    atomic_load(&c->c_sh->sh_conn_cap)) {
		conn_deny(c, REASON_LIMIT);
		return false;
	}
	/* Counted only once added: conn_close takes away what was added. */
	c->c_counted = true;
	if (sandbox_conn_add(c->c_sb) > cf->pc_max_conn_per_sandbox) {
		conn_deny(c, REASON_LIMIT);
		return false;
	}
	return true;
}

/* Decides at once where no host can matter, else starts peeking. */
static void
conn_start(struct conn *c)
{
	const struct proxy_conf	*cf = conn_cf(c);
	struct event_base	*base = c->c_w->w_base;
	struct policy_decision	 d;
	struct timeval		 tv;

	/* Persistent: re-arming after every read would be an epoll_ctl. */
	event_assign(&c->c_up.h_rd, base, c->c_cfd, EV_READ | EV_PERSIST,
	    conn_io_cb, &c->c_up);
	event_assign(&c->c_down.h_wr, base, c->c_cfd, EV_WRITE, conn_io_cb,
	    &c->c_down);
	evtimer_assign(&c->c_timer, base, conn_timer_cb, c);
	if (policy_eval_early(c->c_sb, &c->c_dst_ip, c->c_dst_port, &d)) {
		/*
		 * Server-speaks-first protocols must not wait for a peek.  The
		 * allow event waits for the first bytes instead, so that it
		 * can still name the host when the client speaks first.
		 */
		c->c_dec = d;
		c->c_audit_pending = true;
		conn_connect(c);
		return;
	}
	tls_sniff_init(&c->c_tls);
	http_sniff_init(&c->c_hs);
	tv.tv_sec = cf->pc_peek_timeout_ms / 1000;
	tv.tv_usec = (cf->pc_peek_timeout_ms % 1000) * 1000;
	evtimer_add(&c->c_timer, &tv);
	event_add(&c->c_up.h_rd, NULL);
}

void
conn_accept(struct worker *w, int fd, const struct sockaddr *peer,
    socklen_t peerlen, const struct listen_addr *la)
{
	struct conn	*c;

	if ((c = conn_new(w, fd, peer, peerlen)) == NULL)
		return;
	conn_hold(c);
	if (conn_admit(c, peer, la))
		conn_start(c);
	conn_release(c);
}

/* policy_eval(), timed for the decision latency histogram. */
static void
conn_eval(struct conn *c, const struct sandbox *sb,
    const struct policy_query *q, struct policy_decision *d)
{
	struct timespec	t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	policy_eval(sb, q, d);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	shared_count_decision(c->c_sh, (uint64_t)((t1.tv_sec - t0.tv_sec) *
	    1000000000LL + (t1.tv_nsec - t0.tv_nsec)));
}

/* Sets c_host from a SNI or Host; 0, or -1 when it is not a name. */
static int
conn_set_host(struct conn *c, const char *raw)
{
	struct ipaddr	 ia;
	const char	*why;

	if (ipaddr_parse(raw, &ia) == 0) {
		/* IP literals keep one canonical spelling. */
		ipaddr_format(&ia, c->c_host, sizeof(c->c_host));
		c->c_has_host = true;
		return 0;
	}
	if (hostname_normalize(raw, c->c_host, sizeof(c->c_host), &why) == -1) {
		/* Kept (cut to fit) for the deny event's host field. */
		size_t	n = strnlen(raw, sizeof(c->c_host) - 1);

		memcpy(c->c_host, raw, n);
		c->c_host[n] = '\0';
		c->c_has_host = true;
		return -1;
	}
	c->c_has_host = true;
	return 0;
}

static void
conn_query(const struct conn *c, struct policy_query *q)
{
	const struct http_request	*r;

	memset(q, 0, sizeof(*q));
	q->pq_proto = c->c_proto;
	q->pq_host = c->c_has_host ? c->c_host : NULL;
	q->pq_dst = c->c_dst_ip;
	q->pq_port = c->c_dst_port;
	if ((r = conn_request(c, &q->pq_path, &q->pq_path_len)) != NULL)
		q->pq_method = r->method;
	else
		q->pq_path = NULL;
}

/* The policy's verdict on what was peeked; allow dials upstream. */
static void
conn_decide(struct conn *c)
{
	struct policy_query	q;
	struct policy_decision	d;

	evtimer_del(&c->c_timer);
	/*
	 * The client's read event stays armed while we resolve and connect:
	 * the relay arms it again at once, and a del and add would be two
	 * epoll_ctl.  If the client speaks meanwhile, conn_io_cb() takes it
	 * off then.
	 */
	conn_query(c, &q);
	conn_eval(c, c->c_sb, &q, &d);
	if (d.pd_action == POLICY_DENY) {
		/* Nothing arrived and nothing allows "other": say so. */
		if (c->c_peek_timed_out && c->c_peek_len == 0 &&
		    d.pd_reason == REASON_NO_MATCHING_ALLOW)
			d.pd_reason = REASON_PEEK_TIMEOUT;
		conn_deny_decision(c, &d);
		return;
	}
	c->c_dec = d;
	conn_proceed(c);
}

static enum policy_dest
conn_dest_mode(const struct conn *c)
{
	if (c->c_dec.pd_dest != DEST_DEFAULT)
		return c->c_dec.pd_dest;
	return conn_cf(c)->pc_dns_destination;
}

static void	conn_http_resume(struct conn *);

/* The look-up a destination check started has answered. */
static void
conn_resolved_cb(void *arg, enum resolver_status st, const struct ipaddr *addrs,
    size_t n)
{
	struct conn	*c = arg;

	conn_hold(c);
	destcheck_answered(&c->c_dc, c->c_host, st);
	if (c->c_state == CONN_RESOLVING)
		conn_proceed(c);
	else if (c->c_state == CONN_RELAYING)
		conn_http_resume(c);
	conn_release(c);
}

/*
 * A host rule vouches for a name, so the name must really lead to the
 * destination (docs/config.md, "Keeping names honest").
 */
static enum destcheck_verdict
conn_dest_check(struct conn *c, bool mid_stream)
{
	struct destcheck_env	env = {
		.de_resolver = c->c_w->w_resolver,
		.de_shared = c->c_sh->sh_dns,
		.de_cb = conn_resolved_cb,
		.de_arg = c
	};
	struct destcheck_dst	dst = { &c->c_dst_ip, &c->c_dst, &c->c_dstlen };

	if (!c->c_dec.pd_by_host || !c->c_has_host)
		return DESTCHECK_OK;
	return destcheck_run(&c->c_dc, &env, sandbox_id(c->c_sb), c->c_host,
	    conn_dest_mode(c), mid_stream, &dst);
}

/* What a failed destination check denies with. */
static enum policy_reason
conn_dest_reason(enum destcheck_verdict v)
{
	return v == DESTCHECK_MISMATCH ? REASON_DESTINATION_MISMATCH :
	    REASON_DNS_FAILED;
}

/* After an allow decision: check the name, then dial. */
static void
conn_proceed(struct conn *c)
{
	struct ipaddr		 orig = c->c_dst_ip;
	struct policy_query	 q;
	struct policy_decision	 d;
	enum destcheck_verdict	 v;

	switch ((v = conn_dest_check(c, false))) {
	case DESTCHECK_OK:
		break;
	case DESTCHECK_WAIT:
		conn_set_state(c, CONN_RESOLVING);
		return;
	case DESTCHECK_MISMATCH:
	case DESTCHECK_FAILED:
		conn_deny(c, conn_dest_reason(v));
		return;
	}
	if (!ipaddr_equal(&orig, &c->c_dst_ip)) {
		/* Redialled: the new address is judged too (rebinding). */
		conn_query(c, &q);
		conn_eval(c, c->c_sb, &q, &d);
		if (d.pd_action == POLICY_DENY) {
			conn_deny_decision(c, &d);
			return;
		}
	}
	/*
	 * Decided as any TLS connection; only now may interception start,
	 * and only for a name the operator listed (docs/interception.md).
	 * Its requests are audited one by one instead.
	 */
	c->c_intercept = c->c_proto == POLICY_PROTO_TLS && c->c_has_host &&
	    !c->c_host_claimed && conn_cf(c)->pc_certs != NULL &&
	    policy_intercepts(c->c_sb, c->c_host);
	if (!c->c_intercept)
		conn_audit_allow(c);
	conn_connect(c);
}

/* What a sniffer's verdict means for the connection. */
enum sniff_step {
	SNIFF_MORE,		/* more bytes needed */
	SNIFF_DONE,		/* decided (or closed) */
	SNIFF_NOT_IT		/* not this protocol: try the next */
};

/* More bytes of a protocol that is already recognised: wait or refuse. */
static enum sniff_step
conn_sniff_short(struct conn *c, bool final, enum policy_reason bad)
{
	if (c->c_peek_len >= conn_cf(c)->pc_peek_max_bytes) {
		conn_deny(c, REASON_TOO_LARGE);
		return SNIFF_DONE;
	}
	if (!final)
		return SNIFF_MORE;
	conn_deny(c, c->c_peek_timed_out ? REASON_PEEK_TIMEOUT : bad);
	return SNIFF_DONE;
}

static enum sniff_step
conn_sniff_tls(struct conn *c, bool final)
{
	struct tls_hello	th;

	c->c_proto = POLICY_PROTO_TLS;
	switch (tls_sniff(&c->c_tls, c->c_peek, c->c_peek_len,
	    conn_cf(c)->pc_peek_max_bytes, &th)) {
	case TLS_NEED_MORE:
		return conn_sniff_short(c, final, REASON_BAD_TLS);
	case TLS_OK:
		c->c_ech = th.ech;
		c->c_hello_len = th.consumed;
		if (th.has_sni && conn_set_host(c, th.sni) == -1) {
			conn_deny(c, REASON_BAD_TLS);
			return SNIFF_DONE;
		}
		conn_decide(c);
		return SNIFF_DONE;
	case TLS_MALFORMED:
		conn_deny(c, REASON_BAD_TLS);
		return SNIFF_DONE;
	case TLS_TOO_LARGE:
		conn_deny(c, REASON_TOO_LARGE);
		return SNIFF_DONE;
	case TLS_NOT_TLS:
		break;
	}
	c->c_not_tls = true;
	c->c_proto = POLICY_PROTO_OTHER;
	return SNIFF_NOT_IT;
}

static enum sniff_step
conn_sniff_http(struct conn *c, bool final)
{
	c->c_proto = POLICY_PROTO_HTTP;
	switch (http_parse_request(&c->c_hs, c->c_peek, c->c_peek_len,
	    conn_cf(c)->pc_peek_max_bytes, &c->c_req)) {
	case HTTP_NEED_MORE:
		return conn_sniff_short(c, final, REASON_BAD_HTTP);
	case HTTP_OK:
		c->c_req_ok = true;
		if (conn_set_host(c, c->c_req.host) == -1) {
			conn_deny(c, REASON_BAD_HTTP);
			return SNIFF_DONE;
		}
		if (c->c_req.upgrade_h2c) {
			/* HTTP/2 after the 101 would carry requests unjudged. */
			conn_deny(c, REASON_PROTOCOL_NOT_ALLOWED);
			return SNIFF_DONE;
		}
		conn_decide(c);
		return SNIFF_DONE;
	case HTTP_MALFORMED:
		conn_deny(c, REASON_BAD_HTTP);
		return SNIFF_DONE;
	case HTTP_TOO_LARGE:
		conn_deny(c, REASON_TOO_LARGE);
		return SNIFF_DONE;
	case HTTP_NOT_HTTP:
		break;
	}
	c->c_not_http = true;
	c->c_proto = POLICY_PROTO_OTHER;
	return SNIFF_NOT_IT;
}

/*
 * Runs the sniffers over what was peeked: TLS, then HTTP, else "other".
 * Returns true when the connection was decided (or closed), false when
 * more bytes are needed.
 */
static bool
conn_sniff(struct conn *c, bool final)
{
	enum sniff_step	st;

	if (c->c_peek_len == 0) {
		/* Silence (or an immediate EOF) is "other", with no host. */
		if (!final)
			return false;
		c->c_proto = POLICY_PROTO_OTHER;
		conn_decide(c);
		return true;
	}
	if (!c->c_not_tls && (st = conn_sniff_tls(c, final)) != SNIFF_NOT_IT)
		return st == SNIFF_DONE;
	if (!c->c_not_http && (st = conn_sniff_http(c, final)) !=
	    SNIFF_NOT_IT)
		return st == SNIFF_DONE;
	conn_decide(c);
	return true;
}

/* PEEKING: the client sent something (or closed). */
static void
conn_peek_step(struct conn *c)
{
	size_t	max = conn_cf(c)->pc_peek_max_bytes;
	ssize_t	n;

	if (c->c_peek_len == c->c_peek_cap) {
		size_t	 cap = c->c_peek_cap ? c->c_peek_cap * 2 : 2048;
		uint8_t	*nb;

		if (cap > max)
			cap = max;
		if ((nb = realloc(c->c_peek, cap)) == NULL) {
			conn_close(c, CLOSE_ERROR, REASON_LIMIT, true);
			return;
		}
		c->c_peek = nb;
		c->c_peek_cap = cap;
	}
	n = recv(c->c_cfd, c->c_peek + c->c_peek_len, c->c_peek_cap -
	    c->c_peek_len, 0);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
			event_add(&c->c_up.h_rd, NULL);
			return;
		}
		/* The client reset before saying anything we could judge. */
		conn_sniff(c, true);
		return;
	}
	c->c_peek_len += (size_t)n;
	if (!conn_sniff(c, n == 0))
		event_add(&c->c_up.h_rd, NULL);
}

static void
conn_connect(struct conn *c)
{
	const struct proxy_conf	*cf = conn_cf(c);
	struct timeval		 tv;
	int			 fd, one = 1;

	fd = socket(c->c_dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1) {
		log_warn("conn %llu: socket", (unsigned long long)c->c_id);
		conn_close(c, CLOSE_ERROR, REASON_CONNECT_FAILED, true);
		return;
	}
	c->c_ufd = fd;
	/* The mark keeps our own upstream traffic out of the REDIRECT. */
	if (cf->pc_mark != 0 && setsockopt(fd, SOL_SOCKET, SO_MARK,
	    &cf->pc_mark, sizeof(cf->pc_mark)) == -1) {
		log_warn("conn %llu: SO_MARK", (unsigned long long)c->c_id);
		conn_close(c, CLOSE_ERROR, REASON_CONNECT_FAILED, true);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->c_up.h_to = c->c_down.h_from = fd;
	event_assign(&c->c_up.h_wr, c->c_w->w_base, fd, EV_WRITE, conn_io_cb,
	    &c->c_up);
	event_assign(&c->c_down.h_rd, c->c_w->w_base, fd, EV_READ |
	    EV_PERSIST, conn_io_cb, &c->c_down);
	conn_set_state(c, CONN_CONNECTING);
	if (connect(fd, (struct sockaddr *)&c->c_dst, c->c_dstlen) == 0) {
		conn_relay_start(c);
		return;
	}
	if (errno != EINPROGRESS) {
		conn_close(c, CLOSE_ERROR, REASON_CONNECT_FAILED, true);
		return;
	}
	tv.tv_sec = cf->pc_connect_timeout_ms / 1000;
	tv.tv_usec = (cf->pc_connect_timeout_ms % 1000) * 1000;
	evtimer_add(&c->c_timer, &tv);
	event_add(&c->c_up.h_wr, NULL);
}

/* CONNECTING: the upstream socket became writable. */
static void
conn_connect_step(struct conn *c)
{
	int		err = 0;
	socklen_t	len = sizeof(err);

	if (getsockopt(c->c_ufd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 ||
	    err != 0) {
		log_debug("conn %llu: connect: %s", (unsigned long long)c->c_id,
		    strerror(err ? err : errno));
		conn_close(c, CLOSE_ERROR, REASON_CONNECT_FAILED, true);
		return;
	}
	evtimer_del(&c->c_timer);
	conn_relay_start(c);
}

static void
conn_relay_start(struct conn *c)
{
	bool	http = c->c_proto == POLICY_PROTO_HTTP;

	conn_set_state(c, CONN_RELAYING);
	if (c->c_intercept) {
		/* The sessions arm the client's reads themselves. */
		event_del(&c->c_up.h_rd);
		conn_mitm_start(c);
		return;
	}
	if (http) {
		/* Every request is judged: the client side goes through us. */
		c->c_up.h_copy = true;
		if ((c->c_flow = malloc(sizeof(*c->c_flow))) == NULL ||
		    (c->c_up.h_out = evbuffer_new()) == NULL ||
		    (c->c_up.h_in = evbuffer_new()) == NULL ||
		    evbuffer_add(c->c_up.h_in, c->c_peek, c->c_peek_len) ==
		    -1) {
			conn_close(c, CLOSE_ERROR, REASON_CONNECT_FAILED, true);
			return;
		}
		/* The peeked head was judged already; it passes as it is. */
		httpflow_init(c->c_flow, conn_cf(c)->pc_peek_max_bytes,
		    c->c_req_ok);
		c->c_req_ok = false;
	} else if (c->c_peek_len > 0) {
		size_t	len = c->c_peek_len;

		if (c->c_proto == POLICY_PROTO_TLS && c->c_has_host &&
		    !c->c_host_claimed) {
			/* The client waits for the server's answer anyway. */
			c->c_tls_watch = true;
			c->c_down.h_copy = true;
			c->c_up.h_hold = true;
			/*
			 * Only the ClientHello goes now.  What the client sent
			 * after it in the same breath (a ChangeCipherSpec and
			 * a second ClientHello written before the server's
			 * HelloRetryRequest, say) waits, unjudged, in h_in
			 * with the rest of the held side: conn_tls_down_filter.
			 */
			if (c->c_hello_len > 0 && c->c_hello_len < len) {
				len = c->c_hello_len;
				if ((c->c_up.h_in = evbuffer_new()) == NULL ||
				    evbuffer_add(c->c_up.h_in, c->c_peek + len,
				    c->c_peek_len - len) == -1) {
					conn_close(c, CLOSE_ERROR,
					    REASON_CONNECT_FAILED, true);
					return;
				}
			}
		}
		/*
		 * The peeked bytes (a ClientHello) usually fit the fresh
		 * socket at once: sent from the peek buffer, no evbuffer; a
		 * rest goes through h_out.  A failed write ends it as the
		 * pump's would (conn_relay_step()).
		 */
		ssize_t	n = send(c->c_ufd, c->c_peek, len,
			    MSG_DONTWAIT | MSG_NOSIGNAL);
		size_t	off = n > 0 ? (size_t)n : 0;

		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR) {
			conn_close(c, CLOSE_END, REASON_NONE, errno != EPIPE);
			return;
		}
		c->c_up.h_bytes += off;
		if (off < len &&
		    ((c->c_up.h_out = evbuffer_new()) == NULL ||
		    evbuffer_add(c->c_up.h_out, c->c_peek + off,
		    len - off) == -1)) {
			conn_close(c, CLOSE_ERROR, REASON_CONNECT_FAILED, true);
			return;
		}
	}
	/* The peek's last read came short: nothing waits, so the first
	 * read waits for readiness instead of returning EAGAIN. */
	c->c_up.h_quiet = c->c_peek_len > 0 && c->c_peek_len < c->c_peek_cap;
	/* The server has had no time to answer what is only now sent. */
	c->c_down.h_quiet = c->c_peek_len > 0;
	free(c->c_peek);
	c->c_peek = NULL;
	c->c_peek_len = c->c_peek_cap = 0;
	if (http && conn_http_filter(&c->c_up) == -1)
		return;
	conn_relay_step(c, &c->c_up);
	if (c->c_state == CONN_RELAYING)
		conn_relay_step(c, &c->c_down);
}

/*
 * Names what the client sent first on a connection decided at accept
 * time: <buf> is peeked, not read, so it still goes through the splice.
 * Fills <ev>'s method and path for a request head (they point into <buf>
 * and <req>).  The name never decided anything: it is "claimed".
 */
static void
conn_name_claimed(struct conn *c, const uint8_t *buf, size_t n,
    struct http_request *req, struct audit_event *ev)
{
	struct tls_sniff	 ts;
	struct tls_hello	 th;
	struct http_sniff	 hs;

	tls_sniff_init(&ts);
	http_sniff_init(&hs);
	switch (tls_sniff(&ts, buf, n, n, &th)) {
	case TLS_OK:
		c->c_ech = th.ech;
		if (th.has_sni)
			(void)conn_set_host(c, th.sni);
		/* FALLTHROUGH */
	case TLS_NEED_MORE:
	case TLS_TOO_LARGE:
		c->c_proto = POLICY_PROTO_TLS;
		break;
	case TLS_MALFORMED:
	case TLS_NOT_TLS:
		if (http_parse_request(&hs, buf, n, n, req) != HTTP_OK)
			break;
		c->c_proto = POLICY_PROTO_HTTP;
		(void)conn_set_host(c, req->host);
		ev->ae_method = req->method;
		ev->ae_path = req->path_len ? (const char *)buf +
		    req->path_off : "/";
		ev->ae_path_len = req->path_len ? req->path_len : 1;
		break;
	}
	c->c_host_claimed = c->c_has_host;
}

/*
 * The allow event of a connection decided at accept time: written when
 * the first bytes move, so that it can name the host when the client
 * speaks first; a server that speaks first gets an event without host.
 */
static void
conn_audit_late(struct conn *c, bool client_side)
{
	uint8_t			 buf[4096];
	struct http_request	 req;
	struct audit_event	 ev;
	const char		*method = NULL, *path = NULL;
	size_t			 plen = 0;
	ssize_t			 n;

	n = recv(client_side ? c->c_cfd : c->c_ufd, buf, client_side ?
	    sizeof(buf) : 1, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	memset(&ev, 0, sizeof(ev));
	if (client_side && n > 0) {
		conn_name_claimed(c, buf, (size_t)n, &req, &ev);
		method = ev.ae_method;
		path = ev.ae_path;
		plen = ev.ae_path_len;
	}
	c->c_audit_pending = false;
	conn_event(c, &ev, "allow", c->c_dec.pd_reason);
	ev.ae_method = method;
	ev.ae_path = path;
	ev.ae_path_len = plen;
	audit_emit(c->c_sh->sh_audit, &ev);
}

/* RELAYING: pump one half and see whether the connection is done. */
static void
conn_relay_step(struct conn *c, struct half *h)
{
	enum half_status	 st;
	half_filter_fn		*f;

	if (c->c_mitm != NULL) {
		conn_mitm_step(c);
		return;
	}
	if (c->c_audit_pending)
		conn_audit_late(c, h == &c->c_up);

	if (c->c_tls_watch)
		f = h == &c->c_up ? conn_tls_up_filter : conn_tls_down_filter;
	else
		f = h == &c->c_up ? conn_http_filter : conn_resp_filter;
	st = half_pump(h, f);
	c->c_active = conn_now();
	if (c->c_state != CONN_RELAYING)
		return;
	if (st == HALF_FAILED) {
		/*
		 * A reset on one side is passed on as a reset to the other,
		 * so neither peer mistakes a broken transfer for a complete
		 * one.  A peer that closed early while we wrote (EPIPE) is
		 * an ordinary end.
		 */
		if (c->c_deny_pending)
			conn_close(c, CLOSE_DENY, c->c_deny_reason, true);
		else
			conn_close(c, CLOSE_END, REASON_NONE,
			    h->h_err != EPIPE);
		return;
	}
	/* What was allowed before a refused request has left: refuse. */
	if (c->c_deny_pending && evbuffer_get_length(c->c_up.h_out) == 0) {
		conn_deny(c, c->c_deny_reason);
		return;
	}
	if (c->c_up.h_shut && c->c_down.h_shut)
		conn_close(c, CLOSE_END, REASON_NONE, false);
}

/*
 * Refuses the request at hand.  Requests allowed before it in the same
 * read may still sit in c_up.h_out: they leave first (their allow events
 * say they did), and the refusal follows once they are out, so the audit
 * says exactly what left.  <d>: the deciding rule, when a rule decided.
 */
static void
conn_http_deny(struct conn *c, enum policy_reason reason,
    const struct policy_decision *d)
{
	if (d != NULL)
		c->c_dec = *d;
	if (c->c_up.h_out != NULL && evbuffer_get_length(c->c_up.h_out) > 0) {
		c->c_deny_pending = true;
		c->c_deny_reason = reason;
		c->c_up.h_hold = true;
		return;
	}
	conn_deny(c, reason);
}

/* Whether the field value <val> carries the sandbox's phantom token. */
static bool
conn_phantom_ok(const struct conn *c, const uint8_t *val, size_t vlen)
{
	const uint8_t	*tok;
	size_t		 tlen;

	http_auth_credential(val, vlen, &tok, &tlen);
	return phantoms_check(c->c_sh->sh_phantoms, sandbox_id(c->c_sb), tok,
	    tlen) == 1;
}

/*
 * credentials (docs/interception.md): the allowed head at the start of
 * c_up.h_in loses every field of the credential's name and gets the
 * secret instead; a phantom credential first needs the sandbox's token
 * in that field.  0, or -1 when the request was refused.
 */
static int
conn_http_credential(struct conn *c)
{
	const struct credential	*cr;
	const struct secret	*sec;
	struct http_flow	*hf = c->c_flow;
	const uint8_t		*head, *val, *sv;
	const char		*name;
	uint8_t			*nb;
	size_t			 hl = hf->hf_req.head_len, vlen, slen, cap, nl;

	if ((cr = policy_credential(c->c_sb, c->c_host)) == NULL)
		return 0;
	name = credential_header(cr);
	if ((sec = credential_secret(cr)) == NULL ||
	    (head = evbuffer_pullup(c->c_up.h_in, (ssize_t)hl)) == NULL) {
		conn_close(c, CLOSE_ERROR, REASON_LIMIT, true);
		return -1;
	}
	/* A phantom secret only goes to traffic that presents the token. */
	if (credential_phantom(cr) && (c->c_sh->sh_phantoms == NULL ||
	    http_head_field(head, hl, name, &val, &vlen) != 1 ||
	    !conn_phantom_ok(c, val, vlen))) {
		c->c_dec.pd_rule = credential_rule(cr);
		conn_http_deny(c, REASON_CREDENTIAL_MISSING, NULL);
		return -1;
	}
	sv = secret_bytes(sec, &slen);
	cap = hl + strlen(name) + slen + 4;
	if ((nb = malloc(cap)) == NULL) {
		conn_close(c, CLOSE_ERROR, REASON_LIMIT, true);
		return -1;
	}
	nl = http_head_set_field(head, hl, name, sv, slen, nb, cap);
	if (nl == 0 || evbuffer_drain(c->c_up.h_in, hl) == -1 ||
	    evbuffer_prepend(c->c_up.h_in, nb, nl) == -1) {
		OPENSSL_cleanse(nb, cap);
		free(nb);
		conn_close(c, CLOSE_ERROR, REASON_LIMIT, true);
		return -1;
	}
	OPENSSL_cleanse(nb, cap);
	free(nb);
	/* The request line is unchanged: its path offsets still hold. */
	hf->hf_req.head_len = nl;
	hf->hf_head = evbuffer_pullup(c->c_up.h_in, (ssize_t)nl);
	return 0;
}

/*
 * Judges the request head the flow stopped at.  Returns HTTPFLOW_MORE
 * when it may pass, HTTPFLOW_WAIT while a look-up answers, HTTPFLOW_BAD
 * when it was refused.
 */
static enum httpflow_result
conn_http_judge(struct conn *c)
{
	struct policy_query	 q;
	struct policy_decision	 d;
	enum destcheck_verdict	 v;

	c->c_has_host = false;
	if (conn_set_host(c, c->c_flow->hf_req.host) == -1 ||
	    (c->c_mitm != NULL && strcmp(c->c_host, c->c_mitm->cm_sni) != 0)) {
		/* Inside TLS the Host must be the name the TLS was for. */
		conn_http_deny(c, REASON_BAD_HTTP, NULL);
		return HTTPFLOW_BAD;
	}
	if (c->c_flow->hf_req.upgrade_h2c) {
		/* HTTP/2 after the 101 would carry requests unjudged. */
		conn_http_deny(c, REASON_PROTOCOL_NOT_ALLOWED, NULL);
		return HTTPFLOW_BAD;
	}
	conn_query(c, &q);
	conn_eval(c, c->c_sb, &q, &d);
	if (d.pd_action == POLICY_DENY) {
		conn_http_deny(c, d.pd_reason, &d);
		return HTTPFLOW_BAD;
	}
	c->c_dec = d;
	switch ((v = conn_dest_check(c, true))) {
	case DESTCHECK_OK:
		break;
	case DESTCHECK_WAIT:
		return HTTPFLOW_WAIT;
	case DESTCHECK_MISMATCH:
	case DESTCHECK_FAILED:
		conn_http_deny(c, conn_dest_reason(v), NULL);
		return HTTPFLOW_BAD;
	}
	if (c->c_mitm != NULL && conn_http_credential(c) == -1)
		return HTTPFLOW_BAD;
	conn_audit_allow(c);
	return HTTPFLOW_MORE;
}

/* What the flow said it could not take: deny with the reason. */
static void
conn_http_refuse(struct conn *c, enum httpflow_result r)
{
	if (c->c_state == CONN_CLOSED)
		return;
	switch (r) {
	case HTTPFLOW_TOO_LARGE:
		conn_http_deny(c, REASON_TOO_LARGE, NULL);
		break;
	case HTTPFLOW_NOMEM:
		conn_close(c, CLOSE_ERROR, REASON_LIMIT, true);
		break;
	default:
		conn_http_deny(c, REASON_BAD_HTTP, NULL);
		break;
	}
}

/*
 * half_filter_fn for client -> upstream in an HTTP connection: every
 * request head is judged before its bytes move (proxy/httpflow.h).
 */
static int
conn_http_filter(struct half *h)
{
	struct conn		*c = h->h_conn;
	enum httpflow_result	 r;

	if (c->c_deny_pending)
		return 0;	/* refused: only what was allowed goes on */
	for (;;) {
		r = httpflow_up(c->c_flow, h->h_in, h->h_out);
		if (r == HTTPFLOW_REQUEST) {
			if ((r = conn_http_judge(c)) == HTTPFLOW_BAD)
				return c->c_state == CONN_CLOSED ? -1 : 0;
			if (r == HTTPFLOW_MORE)
				r = httpflow_pass(c->c_flow, h->h_in,
				    h->h_out);
			if (r == HTTPFLOW_MORE)
				continue;
		}
		break;
	}
	switch (r) {
	case HTTPFLOW_MORE:
		return 0;
	case HTTPFLOW_WAIT:
		/* Nothing more is read until the answer (look-up, status). */
		h->h_hold = true;
		if (c->c_flow->hf_phase == HTTPFLOW_IN_UPGRADE_WAIT)
			c->c_down.h_copy = true;
		return 0;
	case HTTPFLOW_TUNNEL:
		h->h_copy = false;
		return 0;
	default:
		conn_http_refuse(c, r);
		return c->c_state == CONN_CLOSED ? -1 : 0;
	}
}

/* A look-up answered while a request head waited for it. */
static void
conn_http_resume(struct conn *c)
{
	if (c->c_flow == NULL || c->c_flow->hf_phase != HTTPFLOW_IN_JUDGING)
		return;
	c->c_up.h_hold = false;
	httpflow_rejudge(c->c_flow);
	if (conn_http_filter(&c->c_up) == 0 && c->c_state == CONN_RELAYING)
		conn_relay_step(c, &c->c_up);
}

/*
 * half_filter_fn for upstream -> client, used only while an Upgrade
 * request waits for its status line: 101 turns both halves into a plain
 * tunnel, anything else lets request parsing go on.
 */
static int
conn_resp_filter(struct half *h)
{
	struct conn		*c = h->h_conn;
	enum httpflow_result	 r;

	r = httpflow_down(c->c_flow, h->h_in);
	if (r == HTTPFLOW_WAIT)
		return 0;
	if (r == HTTPFLOW_NOMEM) {
		conn_http_refuse(c, r);
		return -1;
	}
	evbuffer_add_buffer(h->h_out, h->h_in);
	h->h_copy = false;
	c->c_up.h_hold = false;
	if (r == HTTPFLOW_TUNNEL && evbuffer_get_length(c->c_up.h_in) == 0)
		c->c_up.h_copy = false;
	if (c->c_mitm != NULL)
		event_active(&c->c_mitm->cm_kick, EV_TIMEOUT, 0);
	else
		event_active(&c->c_up.h_rd, EV_READ, 0);
	return 0;
}

/* ServerHello.random of a HelloRetryRequest (RFC 8446, 4.1.3). */
static const uint8_t tls_hrr_random[32] = {
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02,
	0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e,
	0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c
};
/* Record header, handshake header, legacy_version, then the random. */
#define TLS_HRR_AT	11

/*
 * What <h> read passes on as it is, and the half is spliced again: no
 * buffer kept for the idle flow.  0, or -1 when the connection closed.
 */
static int
conn_tls_pass(struct conn *c, struct half *h)
{
	if ((h->h_out == NULL && (h->h_out = evbuffer_new()) == NULL) ||
	    evbuffer_add_buffer(h->h_out, h->h_in) == -1) {
		conn_close(c, CLOSE_ERROR, REASON_LIMIT, true);
		return -1;
	}
	evbuffer_free(h->h_in);
	h->h_in = NULL;
	h->h_copy = false;
	return 0;
}

/*
 * half_filter_fn for server -> client while c_tls_watch: its first
 * record says whether the server asked for a second ClientHello; then
 * both sides are spliced again (the client's after that ClientHello).
 */
static int
conn_tls_down_filter(struct half *h)
{
	struct conn	*c = h->h_conn;
	size_t		 len = evbuffer_get_length(h->h_in);
	const uint8_t	*p;

	size_t		 need = TLS_HRR_AT + sizeof(tls_hrr_random);

	if ((p = evbuffer_pullup(h->h_in, (ssize_t)(len < need ? len :
	    need))) == NULL) {
		conn_close(c, CLOSE_ERROR, REASON_LIMIT, true);
		return -1;
	}
	/* Not a handshake record, or not a ServerHello: no need to wait. */
	if (len < need && (len < 1 || p[0] == 0x16) &&
	    (len < 6 || p[5] == 0x02))
		return 0;	/* more (EOF drops what was unjudged) */
	c->c_tls_hrr = len >= need && p[0] == 0x16 && p[5] == 0x02 &&
	    memcmp(p + TLS_HRR_AT, tls_hrr_random, sizeof(tls_hrr_random)) ==
	    0;
	if (conn_tls_pass(c, h) == -1)
		return -1;
	c->c_up.h_copy = c->c_tls_hrr;
	if (!c->c_tls_hrr)
		c->c_tls_watch = false;
	c->c_up.h_hold = false;
	/* What the client sent after its ClientHello, held since the peek. */
	if (c->c_up.h_in != NULL && (c->c_tls_hrr ?
	    conn_tls_up_filter(&c->c_up) : conn_tls_pass(c, &c->c_up)) == -1)
		return -1;
	/* The held client side reads again (h_rd may have been taken off:
	 * half_pump()). */
	event_active(&c->c_up.h_rd, EV_READ, 0);
	return 0;
}

/*
 * half_filter_fn for client -> server after a HelloRetryRequest: the
 * second ClientHello (after any ChangeCipherSpec) must name the host the
 * first one did, or the connection is refused.
 */
static int
conn_tls_up_filter(struct half *h)
{
	struct conn		*c = h->h_conn;
	size_t			 len = evbuffer_get_length(h->h_in), off = 0;
	size_t			 max = conn_cf(c)->pc_peek_max_bytes, rl;
	const uint8_t		*p;
	struct tls_sniff	 ts;
	struct tls_hello	 th;
	char			 host[HOSTNAME_MAX];
	const char		*why;
	enum policy_reason	 bad = REASON_BAD_TLS;

	if ((p = evbuffer_pullup(h->h_in, (ssize_t)len)) == NULL) {
		conn_close(c, CLOSE_ERROR, REASON_LIMIT, true);
		return -1;
	}
	/* Middlebox compatibility: ChangeCipherSpec records come first. */
	while (len - off >= 5 && p[off] == 0x14) {
		rl = (size_t)p[off + 3] << 8 | p[off + 4];
		if (len - off < 5 + rl)
			return 0;
		off += 5 + rl;
	}
	tls_sniff_init(&ts);
	switch (tls_sniff(&ts, p + off, len - off, max, &th)) {
	case TLS_NEED_MORE:
		if (len < max)
			return 0;
		bad = REASON_TOO_LARGE;
		break;
	case TLS_OK:
		if (th.has_sni && hostname_normalize(th.sni, host,
		    sizeof(host), &why) == 0 && strcmp(host, c->c_host) == 0) {
			c->c_tls_watch = false;
			return conn_tls_pass(c, h);
		}
		log_info("conn %llu: second ClientHello names \"%.*s\", not %s",
		    (unsigned long long)c->c_id, th.has_sni ? 64 : 0, th.sni,
		    c->c_host);
		break;
	default:
		break;
	}
	conn_close(c, CLOSE_DENY, bad, true);
	return -1;
}

/*
 * HTTPS interception: both handshakes start at once; requests pass once
 * both are done.  From then on the client's plaintext goes through the
 * same HTTP filter as plain HTTP (c_up.h_in -> c_up.h_out) and the
 * server's straight back (c_down.h_in -> c_down.h_out).
 */
static void
conn_mitm_start(struct conn *c)
{
	struct certs	*cs = conn_cf(c)->pc_certs;
	struct conn_mitm *m;
	struct timeval	 tv;
	unsigned	 ms = conn_cf(c)->pc_connect_timeout_ms;

	c->c_proto = POLICY_PROTO_HTTPS;
	if ((m = calloc(1, sizeof(*m))) == NULL ||
	    (c->c_flow = malloc(sizeof(*c->c_flow))) == NULL ||
	    (c->c_up.h_in = evbuffer_new()) == NULL ||
	    (c->c_up.h_out = evbuffer_new()) == NULL ||
	    (c->c_down.h_in = evbuffer_new()) == NULL ||
	    (c->c_down.h_out = evbuffer_new()) == NULL) {
		free(m);
		conn_close(c, CLOSE_ERROR, REASON_LIMIT, true);
		return;
	}
	snprintf(m->cm_sni, sizeof(m->cm_sni), "%s", c->c_host);
	if (mitm_server(&m->cm_down, cs, c->c_cfd, m->cm_sni, c->c_peek,
	    c->c_peek_len) == -1) {
		free(m);
		log_warnx("conn %llu: cannot set up TLS for %s",
		    (unsigned long long)c->c_id, c->c_host);
		conn_close(c, CLOSE_ERROR, REASON_LIMIT, true);
		return;
	}
	if (mitm_client(&m->cm_up, cs, c->c_ufd, m->cm_sni) == -1) {
		mitm_free(&m->cm_down);
		free(m);
		conn_close(c, CLOSE_ERROR, REASON_LIMIT, true);
		return;
	}
	m->cm_certs = certs_ref(cs);
	event_assign(&m->cm_kick, c->c_w->w_base, -1, 0, conn_mitm_kick_cb, c);
	c->c_mitm = m;
	httpflow_init(c->c_flow, conn_cf(c)->pc_peek_max_bytes, false);
	c->c_up.h_copy = true;
	free(c->c_peek);
	c->c_peek = NULL;
	c->c_peek_len = c->c_peek_cap = 0;
	/* The handshakes share the connect deadline. */
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(&c->c_timer, &tv);
	conn_mitm_step(c);
}

static void
conn_mitm_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	conn_hold(c);
	if (c->c_state == CONN_RELAYING && c->c_mitm != NULL)
		conn_mitm_step(c);
	conn_release(c);
}

/*
 * Answers the client inside its TLS (403 for a refused request, 502 when
 * the server could not be verified) and closes: what the server sent
 * before goes first.
 */
static void
conn_mitm_answer(struct conn *c, int status, enum policy_reason reason)
{
	struct conn_mitm	*m = c->c_mitm;
	char			 body[512], msg[1024];
	size_t			 n;
	int			 len;

	if (!m->cm_down.mt_done) {
		conn_close(c, CLOSE_DENY, reason, true);
		return;
	}
	snprintf(body, sizeof(body), "egressd: %s %s (%s)\n", c->c_has_host ?
	    c->c_host : "request", status == 502 ? "could not be verified" :
	    "denied", policy_reason_str(reason));
	len = snprintf(msg, sizeof(msg), "HTTP/1.1 %d %s\r\n"
	    "Content-Type: text/plain\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\nX-Egressd-Reason: %s\r\n\r\n%s", status,
	    status == 502 ? "Bad Gateway" : "Forbidden", strlen(body),
	    policy_reason_str(reason), body);
	if (len > 0 && evbuffer_add(c->c_down.h_out, msg, (size_t)len) == 0)
		(void)mitm_write(&m->cm_down, c->c_down.h_out, &n);
	mitm_shutdown(&m->cm_down);
	/* A server that would not talk TLS at all is an error, as a refused
	 * connect is; one that could not prove its name is refused. */
	conn_close(c, reason == REASON_CONNECT_FAILED ? CLOSE_ERROR :
	    CLOSE_DENY, reason, false);
}

/* Arms or disarms a read event whose state <*armed> tracks. */
static void
conn_mitm_read(struct event *ev, bool want, bool *armed)
{
	if (want == *armed)
		return;
	if (want)
		event_add(ev, NULL);
	else
		event_del(ev);
	*armed = want;
}

/* Arms what the sessions wait for; reads stop while a side is full. */
static void
conn_mitm_arm(struct conn *c)
{
	struct conn_mitm	*m = c->c_mitm;
	bool			 both = m->cm_down.mt_done && m->cm_up.mt_done;
	bool			 rc, rs;

	rc = !m->cm_down.mt_eof && (!m->cm_down.mt_done || (both &&
	    !c->c_up.h_hold && !c->c_deny_pending &&
	    evbuffer_get_length(c->c_up.h_in) +
	    evbuffer_get_length(c->c_up.h_out) < MITM_HIGH));
	rs = !m->cm_up.mt_eof && (!m->cm_up.mt_done || (both &&
	    evbuffer_get_length(c->c_down.h_out) < MITM_HIGH));
	conn_mitm_read(&c->c_up.h_rd, rc, &m->cm_rd_client);
	conn_mitm_read(&c->c_down.h_rd, rs, &m->cm_rd_server);
	/*
	 * Records OpenSSL already took off a socket wake no poll: come back
	 * for them at once.
	 */
	if ((rs && SSL_has_pending(m->cm_up.mt_ssl)) ||
	    (rc && m->cm_down.mt_done && SSL_has_pending(m->cm_down.mt_ssl))) {
		event_active(&m->cm_kick, EV_TIMEOUT, 0);
	}
	if (mitm_wants_write(&m->cm_down))
		event_add(&c->c_down.h_wr, NULL);
	if (mitm_wants_write(&m->cm_up))
		event_add(&c->c_up.h_wr, NULL);
}

/* The handshakes; false when the connection cannot relay yet (or closed). */
static bool
conn_mitm_handshakes(struct conn *c)
{
	struct conn_mitm	*m = c->c_mitm;
	const char		*why;

	if (!m->cm_down.mt_done) {
		if (mitm_handshake(&m->cm_down) == MITM_FAIL) {
			/* Most often a client that does not trust the CA. */
			log_debug("conn %llu: client TLS handshake for %s "
			    "failed", (unsigned long long)c->c_id, m->cm_sni);
			conn_close(c, CLOSE_ERROR, REASON_BAD_TLS, true);
			return false;
		}
		/*
		 * The client's Finished came last: ACK it now.  A client with
		 * Nagle on holds its request until then, and a delayed ACK
		 * costs it 40 ms (egressd sends no ticket that would carry
		 * the ACK).
		 */
		if (m->cm_down.mt_done) {
			int	one = 1;

			(void)setsockopt(c->c_cfd, IPPROTO_TCP, TCP_QUICKACK,
			    &one, sizeof(one));
		}
	}
	if (!m->cm_up.mt_done && m->cm_fail == REASON_NONE &&
	    mitm_handshake(&m->cm_up) == MITM_FAIL) {
		why = mitm_verify_error(&m->cm_up);
		log_info("conn %llu: upstream TLS for %s failed: %s",
		    (unsigned long long)c->c_id, m->cm_sni, why != NULL ? why :
		    "handshake");
		m->cm_fail = why != NULL ? REASON_UPSTREAM_CERT :
		    REASON_CONNECT_FAILED;
	}
	if (m->cm_fail != REASON_NONE && m->cm_down.mt_done) {
		conn_mitm_answer(c, 502, m->cm_fail);
		return false;
	}
	if (!m->cm_down.mt_done || !m->cm_up.mt_done)
		return false;
	evtimer_del(&c->c_timer);
	return true;
}

/* Client -> server: read, judge (conn_http_filter), write.  -1: closed. */
static int
conn_mitm_up(struct conn *c, bool *moved)
{
	struct conn_mitm	*m = c->c_mitm;
	struct half		*h = &c->c_up;
	size_t			 before = evbuffer_get_length(h->h_in), n;

	if (!h->h_hold && !c->c_deny_pending && !m->cm_down.mt_eof &&
	    before + evbuffer_get_length(h->h_out) < MITM_HIGH) {
		if (mitm_read(&m->cm_down, h->h_in, MITM_HIGH) == MITM_FAIL) {
			conn_close(c, CLOSE_END, REASON_NONE, true);
			return -1;
		}
		if (evbuffer_get_length(h->h_in) != before || m->cm_down.mt_eof)
			*moved = true;
	}
	if (evbuffer_get_length(h->h_in) > 0 && !h->h_hold &&
	    (conn_http_filter(h) == -1 || c->c_state != CONN_RELAYING))
		return -1;
	if (evbuffer_get_length(h->h_out) > 0) {
		if (mitm_write(&m->cm_up, h->h_out, &n) != MITM_OK) {
			conn_close(c, CLOSE_END, REASON_NONE, true);
			return -1;
		}
		h->h_bytes += n;
		*moved = *moved || n > 0;
	}
	if (c->c_deny_pending && evbuffer_get_length(h->h_out) == 0) {
		conn_deny(c, c->c_deny_reason);
		return -1;
	}
	if (m->cm_down.mt_eof && evbuffer_get_length(h->h_out) == 0 &&
	    !m->cm_up.mt_shut)
		mitm_shutdown(&m->cm_up);
	return 0;
}

/* Server -> client.  -1: closed. */
static int
conn_mitm_down(struct conn *c, bool *moved)
{
	struct conn_mitm	*m = c->c_mitm;
	struct half		*h = &c->c_down;
	size_t			 before = evbuffer_get_length(h->h_in), n;

	if (!m->cm_up.mt_eof && evbuffer_get_length(h->h_out) < MITM_HIGH) {
		if (mitm_read(&m->cm_up, h->h_in, MITM_HIGH) == MITM_FAIL) {
			conn_close(c, CLOSE_END, REASON_NONE, true);
			return -1;
		}
		if (evbuffer_get_length(h->h_in) != before || m->cm_up.mt_eof)
			*moved = true;
	}
	if (evbuffer_get_length(h->h_in) > 0) {
		/* An Upgrade waits for its status line (conn_resp_filter). */
		if (h->h_copy) {
			if (conn_resp_filter(h) == -1 ||
			    c->c_state != CONN_RELAYING)
				return -1;
		} else
			evbuffer_add_buffer(h->h_out, h->h_in);
	}
	if (evbuffer_get_length(h->h_out) > 0) {
		if (mitm_write(&m->cm_down, h->h_out, &n) != MITM_OK) {
			conn_close(c, CLOSE_END, REASON_NONE, true);
			return -1;
		}
		h->h_bytes += n;
		*moved = *moved || n > 0;
	}
	if (m->cm_up.mt_eof && evbuffer_get_length(h->h_out) == 0 &&
	    !m->cm_down.mt_shut)
		mitm_shutdown(&m->cm_down);
	return 0;
}

/* RELAYING, intercepted: every event runs both directions to a halt. */
static void
conn_mitm_step(struct conn *c)
{
	struct conn_mitm	*m = c->c_mitm;
	bool			 moved = true;
	int			 rounds;

	c->c_active = conn_now();
	if (!conn_mitm_handshakes(c)) {
		if (c->c_state == CONN_RELAYING)
			conn_mitm_arm(c);
		return;
	}
	/* Bounded: a fast peer must not keep the loop from others. */
	for (rounds = 0; moved && rounds < 8; rounds++) {
		moved = false;
		if (conn_mitm_up(c, &moved) == -1 ||
		    conn_mitm_down(c, &moved) == -1)
			return;
	}
	if (m->cm_up.mt_shut && m->cm_down.mt_shut) {
		conn_close(c, CLOSE_END, REASON_NONE, false);
		return;
	}
	if (moved)	/* more to do: come back after the others' turn */
		event_active(&m->cm_kick, EV_TIMEOUT, 0);
	conn_mitm_arm(c);
}

static void
conn_io_cb(evutil_socket_t fd, short what, void *arg)
{
	struct half	*h = arg;
	struct conn	*c = h->h_conn;

	conn_hold(c);
	if ((c->c_state == CONN_CONNECTING || c->c_state == CONN_RESOLVING) &&
	    h == &c->c_up && fd == c->c_cfd) {
		/* The client spoke before the relay: it waits (conn_decide()). */
		event_del(&c->c_up.h_rd);
		conn_release(c);
		return;
	}
	switch (c->c_state) {
	case CONN_PEEKING:
		conn_peek_step(c);
		break;
	case CONN_CONNECTING:
		conn_connect_step(c);
		break;
	case CONN_RELAYING:
		conn_relay_step(c, h);
		break;
	case CONN_RESOLVING:
	case CONN_CLOSED:
		break;
	}
	conn_release(c);
}

static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	conn_hold(c);
	switch (c->c_state) {
	case CONN_PEEKING:
		c->c_peek_timed_out = true;
		event_del(&c->c_up.h_rd);
		conn_sniff(c, true);
		break;
	case CONN_CONNECTING:
		conn_close(c, CLOSE_ERROR, REASON_CONNECT_FAILED, true);
		break;
	case CONN_RELAYING:
		/* Only an intercepted connection's handshakes are timed. */
		if (c->c_mitm != NULL)
			conn_close(c, CLOSE_ERROR, c->c_mitm->cm_up.mt_done ?
			    REASON_BAD_TLS : REASON_CONNECT_FAILED, true);
		break;
	case CONN_RESOLVING:
	case CONN_CLOSED:
		break;
	}
	conn_release(c);
}

void
conn_sweep(struct worker *w, time_t idle_before)
{
	struct worker_slot	*s, *next;
	struct conn		*c;

	for (s = TAILQ_FIRST(&w->w_conns); s != NULL; s = next) {
		next = TAILQ_NEXT(s, ws_entry);
		c = conn_of(s);
		if (c->c_state != CONN_RELAYING || c->c_active >= idle_before)
			continue;
		conn_hold(c);
		conn_close(c, CLOSE_END, REASON_IDLE, true);
		conn_release(c);
	}
}

/* Moves <c> (and its place in the per-sandbox count) to snapshot <np>. */
static void
conn_move(struct conn *c, struct policy *np, const struct sandbox *sb)
{
	if (c->c_counted)
		sandbox_conn_del(c->c_sb);
	c->c_counted = sb != NULL;
	if (sb != NULL)
		sandbox_conn_add(sb);
	policy_unref(c->c_policy);
	c->c_policy = policy_ref(np);
	c->c_sb = sb;
}

/* Re-judges <c> under the current snapshot <np> (a borrowed reference). */
static void
conn_revalidate(struct conn *c, struct policy *np)
{
	const struct sandbox	*sb;
	struct ipaddr		 src;
	struct policy_query	 q;
	struct policy_decision	 d;

	if (c->c_policy == np || c->c_state == CONN_CLOSED)
		return;
	if (ipaddr_from_sockaddr((struct sockaddr *)&c->c_src, &src) == -1)
		sb = NULL;
	else
		sb = policy_sandbox_find(np, &src);
	if (c->c_state == CONN_PEEKING) {
		/* Not judged yet: it will be, under the new rules. */
		conn_move(c, np, sb);
		if (sb == NULL)
			conn_deny(c, REASON_UNKNOWN_SANDBOX);
		return;
	}
	if (sb == NULL || strcmp(sandbox_id(sb), sandbox_id(c->c_sb)) != 0) {
		conn_close(c, CLOSE_END, REASON_REVOKED, true);
		return;
	}
	if (sb == c->c_sb) {
		/*
		 * The very same sandbox: an API change to another one shares
		 * it, rules and all, so the verdict cannot have changed.
		 */
		policy_unref(c->c_policy);
		c->c_policy = policy_ref(np);
		return;
	}
	conn_query(c, &q);
	conn_eval(c, sb, &q, &d);
	if (d.pd_action == POLICY_ALLOW && c->c_host_claimed) {
		/*
		 * A name the client only claimed may narrow what the flow
		 * keeps, never widen it: it must also pass without the name.
		 */
		q.pq_host = NULL;
		conn_eval(c, sb, &q, &d);
	}
	if (d.pd_action == POLICY_DENY) {
		/* A revoked rule must not live on in a long-lived flow. */
		conn_close(c, CLOSE_END, REASON_REVOKED, true);
		return;
	}
	conn_move(c, np, sb);
	c->c_dec = d;
}

void
conn_revalidate_all(struct worker *w)
{
	struct policy		*np = shared_policy(w->w_sh);
	struct worker_slot	*s, *next;
	struct conn		*c;

	for (s = TAILQ_FIRST(&w->w_conns); s != NULL; s = next) {
		next = TAILQ_NEXT(s, ws_entry);
		c = conn_of(s);
		conn_hold(c);
		conn_revalidate(c, np);
		conn_release(c);
	}
	policy_unref(np);
}

void
conn_close_all(struct worker *w)
{
	struct conn	*c;

	while (!TAILQ_EMPTY(&w->w_conns)) {
		c = conn_of(TAILQ_FIRST(&w->w_conns));
		conn_hold(c);
		conn_close(c, CLOSE_END, REASON_NONE, true);
		conn_release(c);
	}
}
