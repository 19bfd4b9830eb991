/*
 * proxy/proxy.h - the data plane: the worker threads and what they share
 * (proxy/shared.h).  The daemon (daemon/) builds it once, installs each
 * new config's settings and policy into it, and stops it.
 *
 * Each worker owns an event loop, its own listening sockets
 * (SO_REUSEPORT) and every connection accepted on them: nothing on the
 * data path is shared between workers except the read-only policy
 * snapshot, the audit sink's bounded queue and a few atomic counters.
 */
#ifndef EGRESS_PROXY_H
#define EGRESS_PROXY_H

#include <stdbool.h>
#include <stdint.h>

#include "proxy/shared.h"

struct audit_sink;
struct dns_shared;
struct event_base;
struct policy;
struct resolver;

/*
 * Descriptors kept out of the data path's reach: the DNS filter's and the
 * admin API's capped TCP clients, listeners, resolvers, audit and logs.
 */
#define PROXY_FD_RESERVE	512

struct proxy_env {
	struct audit_sink	*pe_audit;	/* borrowed */
	struct dns_shared	*pe_dns;	/* borrowed */
	struct phantoms		*pe_phantoms;	/* borrowed; NULL = none */
	unsigned long		 pe_nofile;	/* RLIMIT_NOFILE */
	void			(*pe_drained)(void *arg); /* any thread */
	/*
	 * What else runs on each worker's loop (the daemon's DNS filter):
	 * init is called for each worker before its loop runs, with the
	 * loop and its resolver, and returns 0 or -1; fini is called in the
	 * worker's thread once its loop has ended (drained).  May be NULL.
	 */
	int			(*pe_worker_init)(void *arg, unsigned index,
				    unsigned nworkers, struct event_base *base,
				    struct resolver *res, void **obj);
	void			(*pe_worker_fini)(void *arg, void *obj);
	void			*pe_arg;
};

struct proxy;

/* Workers listening, or NULL (logged).  <pc> and <p> as for install. */
struct proxy	*proxy_start(const struct proxy_env *env,
		    const struct proxy_conf *pc, struct policy *p);
/*
 * Swaps in new settings (borrowed: the caller keeps them alive until
 * proxy_generation_seen() passes the returned generation) and a policy
 * (a reference is taken); live connections are judged again.
 */
unsigned	 proxy_install(struct proxy *px, const struct proxy_conf *pc,
		    struct policy *p);
/* Every worker has moved to this generation or a later one. */
unsigned	 proxy_generation_seen(struct proxy *px);
/* Stops accepting; connections drain for <drain_s>, then are closed.
 * env->pe_drained is called when the last worker is done. */
void		 proxy_stop(struct proxy *px, unsigned drain_s);
/* Joins the workers and frees everything. */
void		 proxy_free(struct proxy *px);

/* A new reference to the policy in force. */
struct policy	*proxy_policy(struct proxy *px);
unsigned	 proxy_nworkers(const struct proxy *px);

struct proxy_stats {
	unsigned	ps_active;
	unsigned	ps_generation;
	uint64_t	ps_lat[SHARED_LAT_BUCKETS + 1];
	uint64_t	ps_lat_sum_ns;
};
void		 proxy_stats(struct proxy *px, struct proxy_stats *st);

#endif /* EGRESS_PROXY_H */
