#include "dns/resolver.h"

#include <ares.h>
#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>



struct rsock {
	struct rsock	*rs_next;
	ares_socket_t	 rs_fd;
	struct event	*rs_ev;
};

struct rlookup;

struct resolver_req {
	struct resolver_req	*rq_next;
	resolver_cb		*rq_cb;		/* NULL once cancelled */
	resolver_raw_cb		*rq_raw;	/* resolver_send(); NULL too */
	void			*rq_arg;
	struct resolver		*rq_r;
};

struct rlookup {
	struct rlookup		*lk_next;
	struct resolver		*lk_r;
	struct resolver_req	*lk_waiters;
	enum resolver_status	 lk_status;
	struct ipaddr		 lk_addrs[RESOLVER_ADDRS_MAX];
	size_t			 lk_n;
	char			 lk_name[256];
};

struct resolver {
	struct event_base	*r_base;	/* borrowed */
	struct dns_shared	*r_ds;		/* borrowed */
	ares_channel		 r_ch;
	struct event		*r_timer;
	struct rsock		*r_socks;
	struct rlookup		*r_pending;	/* look-ups under way */
	uint32_t		 r_mark;
	bool			 r_in_call;	/* inside ares_getaddrinfo() */
	bool			 r_dying;
};


int
resolver_library_init(void)
{
	return ares_library_init(ARES_LIB_INIT_ALL) == ARES_SUCCESS ? 0 : -1;
}

static void
resolver_reschedule(struct resolver *r)
{
	struct timeval	tv, *tvp;

	if (r->r_dying)
		return;
	if ((tvp = ares_timeout(r->r_ch, NULL, &tv)) != NULL)
		evtimer_add(r->r_timer, tvp);
	else
		evtimer_del(r->r_timer);
}

static void
resolver_sock_cb(evutil_socket_t fd, short what, void *arg)
{
	struct resolver	*r = arg;

	ares_process_fd(r->r_ch, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
	    (what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	resolver_reschedule(r);
}

static void
resolver_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct resolver	*r = arg;

	ares_process_fd(r->r_ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	resolver_reschedule(r);
}

/* c-ares says which of its sockets to watch, and for what. */
static void
resolver_sock_state_cb(void *data, ares_socket_t fd, int readable,
    int writable)
{
	struct resolver	*r = data;
	struct rsock	*rs, **pp;

	for (pp = &r->r_socks; (rs = *pp) != NULL; pp = &rs->rs_next)
		if (rs->rs_fd == fd)
			break;
	if (rs != NULL) {
		event_free(rs->rs_ev);
		rs->rs_ev = NULL;
	}
	if (!readable && !writable) {
		if (rs != NULL) {
			*pp = rs->rs_next;
			free(rs);
		}
		return;
	}
	if (rs == NULL) {
		if ((rs = calloc(1, sizeof(*rs))) == NULL)
			return;
		rs->rs_fd = fd;
		rs->rs_next = r->r_socks;
		r->r_socks = rs;
	}
	rs->rs_ev = event_new(r->r_base, fd, EV_PERSIST |
	    (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0),
	    resolver_sock_cb, r);
	if (rs->rs_ev != NULL)
		event_add(rs->rs_ev, NULL);
}

/* Our own queries must not be redirected into our own DNS filter. */
static int
resolver_socket_cb(ares_socket_t fd, int type, void *data)
{
	struct resolver	*r = data;

	if (r->r_mark != 0 && setsockopt(fd, SOL_SOCKET, SO_MARK, &r->r_mark,
	    sizeof(r->r_mark)) == -1)
		return -1;
	return 0;
}

static void
lookup_deliver(struct rlookup *lk)
{
	struct resolver		*r = lk->lk_r;
	struct resolver_req	*rq, *next;
	struct rlookup		**pp;

	for (pp = &r->r_pending; *pp != NULL; pp = &(*pp)->lk_next)
		if (*pp == lk) {
			*pp = lk->lk_next;
			break;
		}
	for (rq = lk->lk_waiters; rq != NULL; rq = next) {
		next = rq->rq_next;
		if (rq->rq_cb != NULL && !r->r_dying)
			rq->rq_cb(rq->rq_arg, lk->lk_status, lk->lk_addrs,
			    lk->lk_n);
		free(rq);
	}
	free(lk);
}

static void
lookup_deliver_cb(evutil_socket_t fd, short what, void *arg)
{
	lookup_deliver(arg);
}

static void
resolver_addrinfo_cb(void *arg, int status, int timeouts,
    struct ares_addrinfo *res)
{
	struct rlookup			*lk = arg;
	struct resolver			*r = lk->lk_r;
	struct ares_addrinfo_node	*nd;
	struct timeval			 zero = { 0, 0 };
	uint32_t			 ttl = UINT32_MAX;

	lk->lk_status = RESOLVER_FAILED;
	if (status == ARES_SUCCESS && res != NULL) {
		for (nd = res->nodes; nd != NULL &&
		    lk->lk_n < RESOLVER_ADDRS_MAX; nd = nd->ai_next) {
			if (ipaddr_from_sockaddr(nd->ai_addr,
			    &lk->lk_addrs[lk->lk_n]) == -1)
				continue;
			lk->lk_n++;
			if (nd->ai_ttl >= 0 && (uint32_t)nd->ai_ttl < ttl)
				ttl = (uint32_t)nd->ai_ttl;
		}
		lk->lk_status = lk->lk_n > 0 ? RESOLVER_OK : RESOLVER_NXDOMAIN;
	} else if (status == ARES_ENOTFOUND || status == ARES_ENODATA)
		lk->lk_status = RESOLVER_NXDOMAIN;
	if (res != NULL)
		ares_freeaddrinfo(res);
	if (!r->r_dying) {
		if (lk->lk_status == RESOLVER_OK)
			dns_shared_learn(r->r_ds, lk->lk_name, lk->lk_addrs,
			    lk->lk_n, ttl);
		else if (lk->lk_status == RESOLVER_NXDOMAIN)
			dns_shared_learn(r->r_ds, lk->lk_name, NULL, 0, 0);
	}
	/* Callers are promised an asynchronous callback. */
	if (r->r_in_call && !r->r_dying &&
	    event_base_once(r->r_base, -1, EV_TIMEOUT, lookup_deliver_cb, lk,
	    &zero) == 0)
		return;
	lookup_deliver(lk);
}

struct resolver *
resolver_new(struct event_base *base, struct dns_shared *ds,
    char *const *servers, size_t nservers, uint32_t mark,
    unsigned timeout_ms, char **err)
{
	struct resolver		*r;
	struct ares_options	 opts;
	char			 csv[1024];
	size_t			 i, off = 0;
	int			 rc;

	*err = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->r_base = base;
	r->r_ds = ds;
	r->r_mark = mark;
	memset(&opts, 0, sizeof(opts));
	opts.sock_state_cb = resolver_sock_state_cb;
	opts.sock_state_cb_data = r;
	opts.timeout = (int)timeout_ms;
	opts.tries = 2;
	/*
	 * Names are always absolute: a resolv.conf `search` list (Kubernetes'
	 * ndots:5) would have "pypi.org" asked as "pypi.org.<ns>.svc..." first,
	 * and a wildcard record there would vouch for any address.
	 */
	opts.flags = ARES_FLAG_NOSEARCH;
	opts.ndomains = 0;
	opts.domains = NULL;
	opts.ndots = 1;
	rc = ares_init_options(&r->r_ch, &opts, ARES_OPT_SOCK_STATE_CB |
	    ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS |
	    ARES_OPT_DOMAINS | ARES_OPT_NDOTS);
	if (rc != ARES_SUCCESS) {
		if (asprintf(err, "c-ares: %s", ares_strerror(rc)) < 0)
			*err = NULL;
		free(r);
		return NULL;
	}
	ares_set_socket_callback(r->r_ch, resolver_socket_cb, r);
	for (i = 0; i < nservers && off < sizeof(csv); i++)
		off += (size_t)snprintf(csv + off, sizeof(csv) - off, "%s%s",
		    i ? "," : "", servers[i]);
	if (nservers > 0 && (rc = ares_set_servers_ports_csv(r->r_ch, csv)) !=
	    ARES_SUCCESS) {
		if (asprintf(err, "dns.servers: %s", ares_strerror(rc)) < 0)
			*err = NULL;
		ares_destroy(r->r_ch);
		free(r);
		return NULL;
	}
	if ((r->r_timer = evtimer_new(base, resolver_timer_cb, r)) == NULL) {
		ares_destroy(r->r_ch);
		free(r);
		return NULL;
	}
	return r;
}

void
resolver_free(struct resolver *r)
{
	struct rsock	*rs, *next;

	if (r == NULL)
		return;
	r->r_dying = true;
	/* Pending look-ups end here with their waiters not called. */
	ares_destroy(r->r_ch);
	for (rs = r->r_socks; rs != NULL; rs = next) {
		next = rs->rs_next;
		if (rs->rs_ev != NULL)
			event_free(rs->rs_ev);
		free(rs);
	}
	event_free(r->r_timer);
	free(r);
}

struct resolver_req *
resolver_lookup(struct resolver *r, const char *name, resolver_cb *cb,
    void *arg)
{
	char				 absname[258];
	struct ares_addrinfo_hints	 hints;
	struct resolver_req		*rq;
	struct rlookup			*lk;

	if ((rq = calloc(1, sizeof(*rq))) == NULL)
		return NULL;
	rq->rq_cb = cb;
	rq->rq_arg = arg;
	for (lk = r->r_pending; lk != NULL; lk = lk->lk_next)
		if (strcmp(lk->lk_name, name) == 0) {
			/* Joined: one query answers every waiter. */
			rq->rq_next = lk->lk_waiters;
			lk->lk_waiters = rq;
			return rq;
		}
	if ((lk = calloc(1, sizeof(*lk))) == NULL ||
	    strlen(name) >= sizeof(lk->lk_name)) {
		free(lk);
		free(rq);
		return NULL;
	}
	lk->lk_r = r;
	strcpy(lk->lk_name, name);
	lk->lk_waiters = rq;
	lk->lk_next = r->r_pending;
	r->r_pending = lk;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_flags = ARES_AI_NOSORT;
	/* The trailing dot makes the name absolute whatever c-ares's
	 * options say. */
	snprintf(absname, sizeof(absname), "%s.", name);
	r->r_in_call = true;
	ares_getaddrinfo(r->r_ch, absname, NULL, &hints, resolver_addrinfo_cb,
	    lk);
	r->r_in_call = false;
	resolver_reschedule(r);
	return rq;
}

void
resolver_cancel(struct resolver_req *req)
{
	if (req != NULL) {
		req->rq_cb = NULL;
		req->rq_raw = NULL;
	}
}

static void
resolver_send_deliver(struct resolver_req *rq, const uint8_t *abuf,
    size_t alen)
{
	if (rq->rq_raw != NULL && !rq->rq_r->r_dying)
		rq->rq_raw(rq->rq_arg, abuf, alen);
	free(rq);
}

static void
resolver_send_deferred_cb(evutil_socket_t fd, short what, void *arg)
{
	resolver_send_deliver(arg, NULL, 0);
}

static void
resolver_send_cb(void *arg, int status, int timeouts, unsigned char *abuf,
    int alen)
{
	struct resolver_req	*rq = arg;
	struct timeval		 zero = { 0, 0 };

	if (status != ARES_SUCCESS || abuf == NULL || alen <= 0) {
		/* Failures can come from inside ares_send(): defer them. */
		if (rq->rq_r->r_in_call && !rq->rq_r->r_dying &&
		    event_base_once(rq->rq_r->r_base, -1, EV_TIMEOUT,
		    resolver_send_deferred_cb, rq, &zero) == 0)
			return;
		resolver_send_deliver(rq, NULL, 0);
		return;
	}
	resolver_send_deliver(rq, abuf, (size_t)alen);
}

struct resolver_req *
resolver_send(struct resolver *r, const uint8_t *q, size_t qlen,
    resolver_raw_cb *cb, void *arg)
{
	struct resolver_req	*rq;

	if (qlen > 65535 || (rq = calloc(1, sizeof(*rq))) == NULL)
		return NULL;
	rq->rq_raw = cb;
	rq->rq_arg = arg;
	rq->rq_r = r;
	r->r_in_call = true;
	ares_send(r->r_ch, q, (int)qlen, resolver_send_cb, rq);
	r->r_in_call = false;
	resolver_reschedule(r);
	return rq;
}
