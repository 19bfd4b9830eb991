/*
 * dns/dnscache.h - names to addresses, each address kept for its own TTL.
 *
 * Pure code with an injected clock (milliseconds).  Answers accumulate:
 * a CDN that rotates its addresses leaves every address it handed out
 * valid until that record's TTL runs out, so a client that connects to
 * an address it was given a minute ago is not falsely denied.  Bounded:
 * at most <max> names (least recently used go first) and
 * DNSCACHE_ADDRS_MAX addresses per name (soonest to expire go first).
 * Not thread-safe: the resolver wraps it in a lock.
 */
#ifndef EGRESS_DNSCACHE_H
#define EGRESS_DNSCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ipaddr.h"

#define DNSCACHE_ADDRS_MAX	32

enum dnscache_state {
	DNSCACHE_MISS,		/* nothing known (or all expired) */
	DNSCACHE_NEGATIVE,	/* the name is known not to resolve */
	DNSCACHE_HIT		/* at least one unexpired address */
};

struct dnscache;

struct dnscache	*dnscache_new(size_t max_names);
void		 dnscache_free(struct dnscache *dc);
/* Adds (or refreshes) <n> addresses for <name>, each valid <ttl> s. */
int		 dnscache_put(struct dnscache *dc, const char *name,
		    const struct ipaddr *addrs, size_t n, uint32_t ttl,
		    uint64_t now_ms);
/* Records that <name> does not resolve, for <ttl> s. */
int		 dnscache_put_negative(struct dnscache *dc, const char *name,
		    uint32_t ttl, uint64_t now_ms);
/* Unexpired addresses of <name> (up to <max>) into <out>, in *<n>. */
enum dnscache_state dnscache_get(struct dnscache *dc, const char *name,
		    struct ipaddr *out, size_t max, size_t *n, uint64_t now_ms);
/* Whether <ip> is an unexpired address of <name>. */
bool		 dnscache_has(struct dnscache *dc, const char *name,
		    const struct ipaddr *ip, uint64_t now_ms);
size_t		 dnscache_count(const struct dnscache *dc);

#endif /* EGRESS_DNSCACHE_H */
