/*
 * dns/filter.h - the DNS filter (docs/config.md): answers sandboxes' queries
 * over UDP and TCP.
 *
 * A name that no policy of the asking sandbox could allow gets NXDOMAIN
 * and never leaves the box; an allowed A/AAAA/CNAME query is forwarded
 * with c-ares and its answer relayed with the client's id, the addresses
 * remembered for the sandbox (destination verification trusts them);
 * HTTPS/SVCB get an empty answer while strip_https_records is on (no ECH
 * keys, so SNI stays readable); every other type gets REFUSED.
 */
#ifndef EGRESS_DNSFILTER_H
#define EGRESS_DNSFILTER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/netaddr.h"
#include <stdint.h>

struct event_base;
struct audit_sink;
struct dns_shared;
struct resolver;
struct policy;

struct dnsfilter_env {
	struct event_base	*fe_base;	/* the loop it runs on */
	struct audit_sink	*fe_audit;
	struct dns_shared	*fe_ds;
	struct resolver		*fe_resolver;	/* on fe_base */
	/* A new reference to the policy in force (reloads swap it). */
	struct policy		*(*fe_policy)(void *arg);
	/* dns.strip_https_records in force (reloads change it). */
	bool			 (*fe_strip_https)(void *arg);
	void			*fe_arg;
	uint64_t		 fe_id_first;	/* audit "conn" ids: first, */
	uint64_t		 fe_id_stride;	/* ... then every stride */
	/*
	 * Filters sharing the listen addresses (one per worker, each its
	 * own SO_REUSEPORT UDP socket, the kernel spreading the queries)
	 * share this count of ids; NULL: the filter's own.
	 */
	atomic_uint_fast64_t	*fe_seq;
	bool			 fe_udp_only;	/* TCP (capped) is elsewhere */
};

struct dnsfilter;

/*
 * Binds UDP (SO_REUSEPORT: more filters may share the addresses) and,
 * unless fe_udp_only, TCP on <addrs>; runs on fe_base, whose thread is the
 * only one that may free it.  fe_policy and fe_strip_https are then called
 * from that thread.
 */
struct dnsfilter *dnsfilter_new(const struct dnsfilter_env *env,
		    const struct listen_addr *addrs, size_t naddrs, char **err);
void		 dnsfilter_free(struct dnsfilter *f);
/*
 * Whether a query with id <id> waits, unread, on one of the filter's UDP
 * sockets: the self-test's proof that a probe reached the filter while
 * the loop that would answer it is the one asking.
 */
bool		 dnsfilter_queued(struct dnsfilter *f, uint16_t id);

#endif /* EGRESS_DNSFILTER_H */
