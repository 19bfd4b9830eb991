/*
 * proxy/shared.h - what the workers of one data plane share: the settings
 * and the policy snapshot in force, the audit sink and the DNS knowledge
 * (borrowed from the daemon), and a few counters.  Everything here is
 * read without locks (atomics) except the policy pointer, whose swap and
 * reference are one short mutex.
 */
#ifndef EGRESS_SHARED_H
#define EGRESS_SHARED_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/netaddr.h"
#include "policy/policy.h"
#include "proxy/pipe_pool.h"

struct audit_sink;
struct phantoms;
struct certs;
struct dns_shared;
struct event_base;
struct resolver;

enum deny_response { DENY_RESET, DENY_EXPLAIN };

/*
 * The settings the data path reads (docs/config.md): part of the daemon's
 * config, swapped whole on reload.  Pointers borrow from that config.
 */
struct proxy_conf {
	const struct listen_addr *pc_listen;
	size_t			 pc_nlisten;
	unsigned		 pc_workers;	/* 0 = one per core */
	uint32_t		 pc_mark;	/* SO_MARK upstream, 0 = none */
	unsigned		 pc_connect_timeout_ms;
	char *const		*pc_dns_servers;
	size_t			 pc_dns_nservers;
	enum policy_dest	 pc_dns_destination; /* never DEFAULT */
	unsigned		 pc_peek_timeout_ms;
	unsigned		 pc_peek_max_bytes;
	unsigned		 pc_idle_timeout_s;
	unsigned		 pc_drain_s;
	unsigned		 pc_max_connections;
	unsigned		 pc_max_conn_per_sandbox;
	enum deny_response	 pc_deny_response;
	struct certs		*pc_certs;	/* tls_intercept, or NULL */
};

/* Decision latency histogram bounds, in nanoseconds (+Inf last). */
#define SHARED_LAT_BUCKETS	8
extern const unsigned long long shared_lat_bounds_ns[SHARED_LAT_BUCKETS];

struct shared {
	const struct proxy_conf *_Atomic sh_conf;
	pthread_mutex_t		 sh_pmtx;	/* sh_policy swap vs. ref */
	struct policy		*sh_policy;	/* owns one ref */
	atomic_uint		 sh_generation;	/* bumped by each install */
	struct audit_sink	*sh_audit;	/* borrowed */
	struct dns_shared	*sh_dns;	/* borrowed */
	struct phantoms		*sh_phantoms;	/* borrowed, or NULL */
	unsigned		 sh_nworkers;	/* connection id stride */
	struct pipe_plan	 sh_pipes;	/* each worker's pipes */
	atomic_uint		 sh_active;	/* connections, all workers */
	/*
	 * max_connections, or fewer when RLIMIT_NOFILE cannot hold that
	 * many: past it connections are refused (reason limit) before
	 * accept() could fail for everyone.
	 */
	atomic_uint		 sh_conn_cap;
	atomic_bool		 sh_stopping;
	_Atomic time_t		 sh_drain_deadline; /* monotonic seconds */
	atomic_uint		 sh_running;	/* worker threads not yet done */
	void			(*sh_drained)(void *); /* last worker out */
	void			*sh_drained_arg;
	/* proxy_env's pe_worker_init and pe_worker_fini, with sh_drained_arg */
	int			(*sh_worker_init)(void *, unsigned, unsigned,
				    struct event_base *, struct resolver *,
				    void **);
	void			(*sh_worker_fini)(void *, void *);
	atomic_uint_fast64_t	 sh_lat[SHARED_LAT_BUCKETS + 1];
	atomic_uint_fast64_t	 sh_lat_sum_ns;
};

/* A new reference to the policy in force (any thread). */
struct policy	*shared_policy(struct shared *sh);
/* The settings in force: valid until the caller's callback returns. */
const struct proxy_conf *shared_conf(struct shared *sh);
/* Adds one policy evaluation to the latency histogram. */
void		 shared_count_decision(struct shared *sh, uint64_t ns);

#endif /* EGRESS_SHARED_H */
