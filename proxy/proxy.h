/*
 * proxy/proxy.h - the daemon's process-wide object and its workers.
 *
 * Each worker owns an event loop, its own listening sockets
 * (SO_REUSEPORT) and every connection accepted on them: nothing on the
 * data path is shared between workers except the read-only policy
 * snapshot, the audit sink's bounded queue and a few atomic counters.
 */
#ifndef EGRESS_PROXY_H
#define EGRESS_PROXY_H

/* First: libevent's event_struct.h plays with TAILQ_* macros. */
#include "proxy/relay.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <time.h>

struct event;
struct event_base;
struct config;
struct policy;
struct audit_sink;
struct conn;
struct dns_shared;
struct resolver;
struct errlist;

TAILQ_HEAD(conn_list, conn);

/* The texts the running config was built from (main thread only). */
struct proxy_text {
	char	*pt_cf;		/* owns: the config file as last read */
	size_t	 pt_cflen;
	char	*pt_state;	/* owns: the API's state (JSON), or NULL */
	size_t	 pt_statelen;
};

struct proxy_retired {
	struct config	*pr_cf;		/* owns */
	unsigned	 pr_gen;	/* workers past this may not see it */
};

/* Decision latency histogram bounds, in nanoseconds (+Inf last). */
#define PROXY_LAT_BUCKETS	8
extern const unsigned long long proxy_lat_bounds_ns[PROXY_LAT_BUCKETS];

struct worker {
	unsigned		 w_index;
	struct proxy		*w_proxy;	/* borrowed */
	struct event_base	*w_base;	/* owns */
	int			*w_lfds;	/* owns: listening sockets */
	struct event		**w_lev;	/* owns: their accept events */
	size_t			 w_nlisten;
	struct event		*w_ctl;		/* owns: wake-up from main */
	struct event		*w_tick;	/* owns: idle sweep, drain */
	struct event		*w_accept_pause; /* owns: EMFILE back-off */
	struct resolver		*w_resolver;	/* owns: this loop's c-ares */
	struct pipe_pool	 w_pipes;	/* owns: spare empty pipes */
	struct conn_list	 w_conns;
	unsigned		 w_nconns;
	uint64_t		 w_next_id;	/* conn ids: stride nworkers */
	bool			 w_draining;
	atomic_uint		 w_generation;	/* policy generation seen */
	pthread_t		 w_thread;
};

struct proxy {
	struct event_base	*p_base;	/* main thread: signals */
	/*
	 * The current config.  Workers read its limits without a lock, so
	 * a reload retires the old one (without its policy) until every
	 * worker has seen the generation that replaced it: a worker loads
	 * p_cf afresh in each callback and keeps no pointer across them.
	 */
	struct config *_Atomic	 p_cf;		/* owns */
	struct proxy_retired	*p_retired;	/* owns; main thread only */
	size_t			 p_nretired;
	pthread_mutex_t		 p_pmtx;	/* p_policy swap vs. ref */
	struct policy		*p_policy;	/* owns one ref */
	atomic_uint		 p_generation;	/* bumped by each reload */
	struct proxy_text	 p_text;
	atomic_uint		 p_reloads_ok;
	atomic_uint		 p_reloads_failed;
	time_t			 p_started;	/* wall clock */
	atomic_uint_fast64_t	 p_lat[PROXY_LAT_BUCKETS + 1];
	atomic_uint_fast64_t	 p_lat_sum_ns;
	struct audit_sink	*p_audit;	/* owns */
	struct dns_shared	*p_dns;		/* owns: shared DNS knowledge */
	struct worker		*p_workers;	/* owns */
	unsigned		 p_nworkers;
	atomic_uint		 p_active;	/* connections, all workers */
	/*
	 * limits.max_connections, or fewer when RLIMIT_NOFILE cannot hold
	 * that many: past it connections are refused (reason limit) before
	 * accept() could fail for everyone.
	 */
	atomic_uint		 p_conn_cap;
	unsigned long		 p_nofile;	/* RLIMIT_NOFILE at start */
	atomic_bool		 p_stopping;
	atomic_uint		 p_running;	/* worker threads not yet done */
	time_t			 p_drain_deadline; /* monotonic seconds */
};

/*
 * Reads the config file at <path> and the state the admin API left in its
 * state_dir, and builds the config from both.  <txt> keeps the texts.
 */
struct config	*proxy_load(const char *path, struct proxy_text *txt,
		    struct errlist *el);
void		 proxy_text_free(struct proxy_text *txt);
/* Swaps <cf> in (takes it): new connections and live ones (revocation). */
void		 proxy_install(struct proxy *px, struct config *cf);
/* SIGHUP and POST /api/v1/reload: 0, or -1 with the errors. */
int		 proxy_reload(struct proxy *px, struct errlist *el);
/* Validates the config with new API state, persists it, swaps it in. */
int		 proxy_apply_state(struct proxy *px, const char *state,
		    size_t len, struct errlist *el);
/*
 * Descriptors kept out of the data path's reach: the DNS filter's and the
 * admin API's capped TCP clients, listeners, resolvers, audit and logs.
 */
#define PROXY_FD_RESERVE	512
/* Spare pipes per worker (two descriptors each), at most. */
#define WORKER_PIPE_POOL	256
/* Spare pipes a worker keeps, given the descriptor limit. */
size_t		 proxy_pipe_pool_size(const struct proxy *px);
/* Sets p_conn_cap from <cf> and the descriptor limit; logs a shortfall. */
void		 proxy_conn_budget(struct proxy *px, const struct config *cf);
/* Frees the retired configs no worker can still be reading (main). */
void		 proxy_reclaim(struct proxy *px, bool all);
/* Adds one policy evaluation to the latency histogram. */
void		 proxy_count_decision(struct proxy *px, uint64_t ns);

/* A new reference to the current policy snapshot (any thread). */
struct policy	*proxy_policy(struct proxy *px);

/* Accept callback and worker plumbing (worker.c). */
int	worker_start(struct proxy *px, struct worker *w, unsigned index);
void	worker_wake(struct worker *w);
void	worker_free(struct worker *w);

#endif /* EGRESS_PROXY_H */
