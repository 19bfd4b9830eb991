/*
 * proxy/destcheck.h - does the name that a host rule allowed really lead
 * to the address the client dialled?  (docs/config.md, "Keeping names
 * honest".)  Cheap answers first: what the DNS filter told this sandbox,
 * what egressd has cached; then one fresh look-up, so that a CDN that
 * rotated its addresses is not mistaken for a lie.
 */
#ifndef EGRESS_DESTCHECK_H
#define EGRESS_DESTCHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/ipaddr.h"
#include "dns/resolver.h"
#include "policy/policy.h"

enum destcheck_verdict {
	DESTCHECK_OK,		/* the name may be believed */
	DESTCHECK_WAIT,		/* a look-up was started: the callback follows */
	DESTCHECK_MISMATCH,	/* the name does not point there */
	DESTCHECK_FAILED	/* the name could not be resolved */
};

/* One connection's look-up state. */
struct destcheck {
	struct resolver_req	*dc_rq;		/* under way, or NULL */
	enum resolver_status	 dc_st;		/* of the last look-up ... */
	uint64_t		 dc_hash;	/* ... of the name with this
						   hash (0 = none yet) */
};

/* Where the connection goes; redial may change it. */
struct destcheck_dst {
	struct ipaddr		*dd_ip;
	struct sockaddr_storage	*dd_sa;
	socklen_t		*dd_salen;
};

struct destcheck_env {
	struct resolver		*de_resolver;	/* the worker's */
	struct dns_shared	*de_shared;
	resolver_cb		*de_cb;		/* told when DESTCHECK_WAIT */
	void			*de_arg;
};

/*
 * Checks <host> for <sandbox> under <mode>.  Mid-stream (a later request
 * on a kept-alive connection) the upstream is fixed, so redial can only
 * verify.
 */
enum destcheck_verdict destcheck_run(struct destcheck *dc,
	    const struct destcheck_env *env, const char *sandbox,
	    const char *host, enum policy_dest mode, bool mid_stream,
	    const struct destcheck_dst *dst);
/* From the look-up's callback: remembers what it said about <host>. */
void	destcheck_answered(struct destcheck *dc, const char *host,
	    enum resolver_status st);
void	destcheck_cancel(struct destcheck *dc);

#endif /* EGRESS_DESTCHECK_H */
