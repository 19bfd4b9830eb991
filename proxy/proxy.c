/*
 * proxy/proxy.c - the data plane's life: workers started over the shared
 * state, new settings and policies installed (revocation reaches live
 * connections), the drain, the descriptor budget.
 */
#include "proxy/proxy.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "policy/policy.h"
#include "proxy/conn.h"
#include "proxy/worker.h"

struct proxy {
	struct shared	 p_sh;
	struct worker	*p_workers;	/* owns */
	unsigned	 p_nworkers;
	unsigned	 p_started;	/* threads running or joinable */
	unsigned long	 p_nofile;
};

static unsigned
worker_count(const struct proxy_conf *pc)
{
	long	n;

	if (pc->pc_workers > 0)
		return pc->pc_workers;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 64 ? 64 : (unsigned)n;
}

/*
 * Pipes take at most a sixteenth of the descriptors: under a small limit
 * the connections come first, and a flow that finds no pipe copies.
 */
static void
pipe_budget(struct pipe_plan *pl, unsigned long nofile, unsigned nworkers)
{
	size_t	n = nofile / 16 / (nworkers ? nworkers : 1) / 2;

	if (n < 1)
		n = 1;
	if (pl->pl_pipes_max > n)
		pl->pl_pipes_max = n;
	if (pl->pl_spare_max > n * pl->pl_min)
		pl->pl_spare_max = n * pl->pl_min;
}

/*
 * How many relayed connections the descriptor limit holds, after the
 * reserve and the pipes the workers may hold at once (bytes in flight,
 * spare ones): the cap is the smaller of that and max_connections, and a
 * shortfall is said once, with the fix.
 */
static void
proxy_budget(struct proxy *px, const struct proxy_conf *pc)
{
	unsigned long	spare, held, pipes;

	pipes = (unsigned long)px->p_sh.sh_pipes.pl_pipes_max * 2 *
	    px->p_nworkers;
	spare = px->p_nofile > PROXY_FD_RESERVE + pipes ?
	    px->p_nofile - PROXY_FD_RESERVE - pipes : 0;
	held = spare / CONN_FDS;
	if (held >= pc->pc_max_connections) {
		atomic_store(&px->p_sh.sh_conn_cap, pc->pc_max_connections);
		return;
	}
	atomic_store(&px->p_sh.sh_conn_cap, (unsigned)held);
	log_warnx("limits.max_connections is %u, but the descriptor limit "
	    "(RLIMIT_NOFILE %lu) holds only %lu relayed connections (%d "
	    "descriptors each, %d kept for the DNS filter and admin API, "
	    "%lu for pipes in flight): more are refused with reason limit; "
	    "raise the limit (ulimit -n, LimitNOFILE=) to %lu or lower "
	    "max_connections",
	    pc->pc_max_connections, px->p_nofile, held, CONN_FDS,
	    PROXY_FD_RESERVE, pipes, (unsigned long)pc->pc_max_connections *
	    CONN_FDS + PROXY_FD_RESERVE + pipes);
}

static struct proxy *
proxy_new(const struct proxy_env *env, const struct proxy_conf *pc,
    struct policy *p)
{
	struct proxy	*px;
	struct shared	*sh;

	if ((px = calloc(1, sizeof(*px))) == NULL)
		return NULL;
	px->p_nworkers = worker_count(pc);
	px->p_nofile = env->pe_nofile;
	if ((px->p_workers = calloc(px->p_nworkers,
	    sizeof(*px->p_workers))) == NULL) {
		free(px);
		return NULL;
	}
	sh = &px->p_sh;
	atomic_init(&sh->sh_conf, pc);
	pthread_mutex_init(&sh->sh_pmtx, NULL);
	sh->sh_policy = policy_ref(p);
	sh->sh_audit = env->pe_audit;
	sh->sh_phantoms = env->pe_phantoms;
	sh->sh_dns = env->pe_dns;
	sh->sh_nworkers = px->p_nworkers;
	pipe_pool_plan_system(&sh->sh_pipes, px->p_nworkers);
	pipe_budget(&sh->sh_pipes, px->p_nofile, px->p_nworkers);
	sh->sh_drained = env->pe_drained;
	sh->sh_drained_arg = env->pe_arg;
	sh->sh_worker_init = env->pe_worker_init;
	sh->sh_worker_fini = env->pe_worker_fini;
	proxy_budget(px, pc);
	return px;
}

struct proxy *
proxy_start(const struct proxy_env *env, const struct proxy_conf *pc,
    struct policy *p)
{
	struct proxy	*px;

	if ((px = proxy_new(env, pc, p)) == NULL)
		return NULL;
	for (; px->p_started < px->p_nworkers; px->p_started++)
		if (worker_start(&px->p_workers[px->p_started], &px->p_sh,
		    px->p_started) == -1)
			break;
	if (px->p_started < px->p_nworkers) {
		log_warnx("cannot start worker %u", px->p_started);
		/* The ones running stop at once, quietly. */
		px->p_sh.sh_drained = NULL;
		proxy_stop(px, 0);
		proxy_free(px);
		return NULL;
	}
	return px;
}

unsigned
proxy_install(struct proxy *px, const struct proxy_conf *pc,
    struct policy *p)
{
	const struct proxy_conf	*old = atomic_load(&px->p_sh.sh_conf);
	struct policy		*op;
	unsigned		 gen, i;

	pthread_mutex_lock(&px->p_sh.sh_pmtx);
	op = px->p_sh.sh_policy;
	px->p_sh.sh_policy = policy_ref(p);
	pthread_mutex_unlock(&px->p_sh.sh_pmtx);
	policy_unref(op);
	atomic_store(&px->p_sh.sh_conf, pc);
	if (pc->pc_max_connections != old->pc_max_connections)
		proxy_budget(px, pc);
	/* After the store: a worker that sees gen reads only the new one. */
	gen = atomic_fetch_add(&px->p_sh.sh_generation, 1) + 1;
	for (i = 0; i < px->p_started; i++)
		worker_wake(&px->p_workers[i]);
	return gen;
}

unsigned
proxy_generation_seen(struct proxy *px)
{
	unsigned	seen = UINT_MAX, g, i;

	for (i = 0; i < px->p_started; i++) {
		g = atomic_load(&px->p_workers[i].w_generation);
		if (g < seen)
			seen = g;
	}
	return seen;
}

void
proxy_stop(struct proxy *px, unsigned drain_s)
{
	unsigned	i;

	if (atomic_exchange(&px->p_sh.sh_stopping, true))
		return;
	atomic_store(&px->p_sh.sh_drain_deadline, conn_now() +
	    (time_t)drain_s);
	for (i = 0; i < px->p_started; i++)
		worker_wake(&px->p_workers[i]);
}

void
proxy_free(struct proxy *px)
{
	unsigned	i;

	if (px == NULL)
		return;
	proxy_stop(px, 0);
	for (i = 0; i < px->p_started; i++)
		pthread_join(px->p_workers[i].w_thread, NULL);
	for (i = 0; i < px->p_nworkers; i++)
		worker_free(&px->p_workers[i]);
	free(px->p_workers);
	policy_unref(px->p_sh.sh_policy);
	pthread_mutex_destroy(&px->p_sh.sh_pmtx);
	free(px);
}

struct policy *
proxy_policy(struct proxy *px)
{
	return shared_policy(&px->p_sh);
}

unsigned
proxy_nworkers(const struct proxy *px)
{
	return px->p_nworkers;
}

void
proxy_stats(struct proxy *px, struct proxy_stats *st)
{
	size_t	i;

	memset(st, 0, sizeof(*st));
	st->ps_active = atomic_load(&px->p_sh.sh_active);
	st->ps_generation = atomic_load(&px->p_sh.sh_generation);
	for (i = 0; i <= SHARED_LAT_BUCKETS; i++)
		st->ps_lat[i] = atomic_load(&px->p_sh.sh_lat[i]);
	st->ps_lat_sum_ns = atomic_load(&px->p_sh.sh_lat_sum_ns);
}
