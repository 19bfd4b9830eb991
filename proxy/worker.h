/*
 * proxy/worker.h - one event-loop thread of the data plane.
 *
 * A worker owns its event loop, its listening sockets (SO_REUSEPORT: the
 * kernel spreads connections over workers), its resolver and pipe pool,
 * and every connection accepted on them.  It shares nothing with other
 * workers but proxy/shared.h.  It keeps the books of its connections:
 * ids, the list, the counts.
 */
#ifndef EGRESS_WORKER_H
#define EGRESS_WORKER_H

/* Before sys/queue.h: libevent's event_struct.h plays with TAILQ_*. */
#include "proxy/half.h"
#include "proxy/pipe_pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "common/netaddr.h"

struct event;
struct event_base;
struct resolver;
struct shared;

/* A connection's place in its worker's list (embedded in struct conn). */
struct worker_slot {
	TAILQ_ENTRY(worker_slot) ws_entry;
};
TAILQ_HEAD(worker_slots, worker_slot);

struct worker {
	unsigned		 w_index;
	struct shared		*w_sh;		/* borrowed */
	struct event_base	*w_base;	/* owns */
	int			*w_lfds;	/* owns: listening sockets */
	struct listen_addr	*w_laddrs;	/* owns: what each one is */
	struct event		**w_lev;	/* owns: their accept events */
	size_t			 w_nlisten;
	struct event		*w_ctl;		/* owns: wake-up from main */
	struct event		*w_tick;	/* owns: idle sweep, drain */
	struct event		*w_accept_pause; /* owns: EMFILE back-off */
	struct resolver		*w_resolver;	/* owns: this loop's c-ares */
	struct pipe_pool	 w_pipes;	/* owns: its pipes, the spare ones */
	void			*w_ext;		/* owns: sh_worker_init's */
	struct worker_slots	 w_conns;
	unsigned		 w_nconns;
	uint64_t		 w_next_id;	/* conn ids: stride workers+1 */
	bool			 w_draining;
	/* The install generation this worker has moved to: from then on it
	 * never reads an older proxy_conf (proxy_generation_seen()). */
	atomic_uint		 w_generation;
	pthread_t		 w_thread;
};

/* Binds the listeners, starts the thread; -1 (logged) on failure. */
int		 worker_start(struct worker *w, struct shared *sh,
		    unsigned index);
/* Tells the worker (any thread) to look at sh_generation and stopping. */
void		 worker_wake(struct worker *w);
/* After the thread ended (or never started). */
void		 worker_free(struct worker *w);

/* A new connection: listed, counted; returns its id. */
uint64_t	 worker_conn_add(struct worker *w, struct worker_slot *s);
/* A closed connection leaves the list and the counts. */
void		 worker_conn_del(struct worker *w, struct worker_slot *s);

#endif /* EGRESS_WORKER_H */
