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
	 * Filters sharing the listen addresses (one per worker and the main
	 * loop's, reading the same UDP sockets) share this count of ids;
	 * NULL: the filter's own.
	 */
	atomic_uint_fast64_t	*fe_seq;
	bool			 fe_udp_only;	/* TCP (capped) is elsewhere */
	/*
	 * The UDP sockets of the addresses, one each, from
	 * dnsfilter_udp_open(): every filter reads the same ones from its
	 * own loop (a copy of the descriptor each), so a query waits for
	 * whichever loop is free and no other socket, nor another process,
	 * can share the port. NULL: the filter binds its own.
	 */
	const int		*fe_udp_fds;
};

struct dnsfilter;

/*
 * Binds <naddrs> UDP sockets, one per address, into <fds>; -1 with <err>
 * naming the address when one cannot be bound (nothing is left open).
 */
int		 dnsfilter_udp_open(const struct listen_addr *addrs,
		    size_t naddrs, int *fds, char **err);
/*
 * Answers UDP on <addrs> (fe_udp_fds, or sockets of its own) and, unless
 * fe_udp_only, TCP; runs on fe_base, whose thread is the only one that may
 * free it.  fe_policy and fe_strip_https are then called from that thread.
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
