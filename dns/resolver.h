/*
 * dns/resolver.h - egressd's own name resolution, never blocking a loop.
 *
 * One resolver per event loop: a c-ares channel whose sockets and timeout
 * are libevent events of that loop.  What any resolver learns goes into a
 * cache shared by all of them (struct dns_shared), next to what the DNS
 * filter answered each sandbox, so destination checks can ask "did this
 * name point there?" without a look-up most of the time.
 */
#ifndef EGRESS_RESOLVER_H
#define EGRESS_RESOLVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ipaddr.h"
#include "dns/dns_shared.h"

struct event_base;

#define RESOLVER_ADDRS_MAX	32

struct dns_shared;

enum resolver_status {
	RESOLVER_OK,		/* addresses follow */
	RESOLVER_NXDOMAIN,	/* the name (or its A/AAAA) does not exist */
	RESOLVER_FAILED		/* timeout, server failure, ... */
};

/*
 * Called once per look-up, from the resolver's loop, never from inside
 * resolver_lookup().  <addrs> is valid during the call only.
 */
typedef void resolver_cb(void *arg, enum resolver_status st,
    const struct ipaddr *addrs, size_t n);

struct resolver;
struct resolver_req;

/*
 * <servers>: "ip" or "ip:port" strings (NULL or empty = /etc/resolv.conf).
 * <mark>: SO_MARK for the resolver's sockets (0 = none), so that the
 * redirect rules let egressd's own queries out.
 */
struct resolver	*resolver_new(struct event_base *base, struct dns_shared *ds,
		    char *const *servers, size_t nservers, uint32_t mark,
		    unsigned timeout_ms, char **err);
void		 resolver_free(struct resolver *r);
/*
 * Looks up A and AAAA records of <name>; the answer also goes to the
 * shared cache.  Look-ups of one name already under way are joined.
 * Returns a handle for resolver_cancel(), or NULL if it could not start.
 */
struct resolver_req *resolver_lookup(struct resolver *r, const char *name,
		    resolver_cb *cb, void *arg);
/*
 * Sends the raw DNS query <q> (its id is replaced) and calls <cb> with the
 * raw answer, or with <alen> 0 on failure (timeout, servers down).  Used by
 * the DNS filter to forward what a sandbox asked.
 */
typedef void resolver_raw_cb(void *arg, const uint8_t *abuf, size_t alen);
struct resolver_req *resolver_send(struct resolver *r, const uint8_t *q,
		    size_t qlen, resolver_raw_cb *cb, void *arg);
/* The callback of <req> will not be called. */
void		 resolver_cancel(struct resolver_req *req);

/* Process-wide c-ares set-up, once, before any thread starts. */
int		 resolver_library_init(void);

#endif /* EGRESS_RESOLVER_H */
