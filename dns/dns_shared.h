/*
 * dns/dns_shared.h - what egressd knows about names, shared by every
 * thread: its own look-ups (cached for their TTL) and what the DNS filter
 * answered each sandbox.  Destination checks (docs/config.md, "Names
 * that cannot lie") ask it first.  Thread-safe: one mutex.
 */
#ifndef EGRESS_DNS_SHARED_H
#define EGRESS_DNS_SHARED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ipaddr.h"

struct dns_shared;

struct dns_shared *dns_shared_new(size_t max_names);
void		 dns_shared_free(struct dns_shared *ds);
/* Unexpired addresses of <name>; 0 when unknown. */
size_t		 dns_shared_get(struct dns_shared *ds, const char *name,
		    struct ipaddr *out, size_t max);
/* The DNS filter answered <sandbox> with these addresses for <name>. */
void		 dns_shared_remember(struct dns_shared *ds, const char *sandbox,
		    const char *name, const struct ipaddr *addrs, size_t n,
		    uint32_t ttl);
/*
 * Whether <ip> is vouched for as an address of <name>: answered to
 * <sandbox> by the DNS filter, or resolved by egressd (one lock).
 */
bool		 dns_shared_vouches(struct dns_shared *ds, const char *sandbox,
		    const char *name, const struct ipaddr *ip);

/*
 * egressd resolved <name> itself: <n> addresses for <ttl> seconds, or,
 * with <n> 0, "does not exist" (kept briefly: names get created).
 */
void		 dns_shared_learn(struct dns_shared *ds, const char *name,
		    const struct ipaddr *addrs, size_t n, uint32_t ttl);

#endif /* EGRESS_DNS_SHARED_H */
