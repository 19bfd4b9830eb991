#include "proxy/worker.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "dns/resolver.h"
#include "policy/policy.h"
#include "proxy/conn.h"
#include "proxy/shared.h"

/* Accepts per readable event: bounded so one listener cannot starve. */
#define ACCEPT_BURST	64
/* Per try; c-ares tries each server twice. */
#define WORKER_DNS_TIMEOUT_MS	2000
/* Back-off when out of descriptors, instead of spinning on EMFILE. */
#define ACCEPT_PAUSE_MS	100

static void
worker_pause_accept(struct worker *w)
{
	struct timeval	tv = { 0, ACCEPT_PAUSE_MS * 1000 };
	size_t		i;

	for (i = 0; i < w->w_nlisten; i++)
		event_del(w->w_lev[i]);
	evtimer_add(w->w_accept_pause, &tv);
}

static void
worker_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;
	size_t		 i;

	if (w->w_draining)
		return;
	for (i = 0; i < w->w_nlisten; i++)
		event_add(w->w_lev[i], NULL);
}

static void
worker_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct worker		*w = arg;
	struct sockaddr_storage	 peer;
	const struct listen_addr *la = NULL;
	socklen_t		 len;
	int			 fd, i;
	size_t			 k;

	for (k = 0; k < w->w_nlisten && la == NULL; k++)
		if (w->w_lfds[k] == lfd)
			la = &w->w_laddrs[k];
	for (i = 0; la != NULL && i < ACCEPT_BURST; i++) {
		len = sizeof(peer);
		fd = accept4(lfd, (struct sockaddr *)&peer, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				log_warn("accept: pausing %d ms",
				    ACCEPT_PAUSE_MS);
				worker_pause_accept(w);
			} else if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				log_warn("accept");
			return;
		}
		conn_accept(w, fd, (struct sockaddr *)&peer, len, la);
	}
}

static void
worker_stop_listening(struct worker *w)
{
	size_t	i;

	for (i = 0; i < w->w_nlisten; i++) {
		if (w->w_lev[i] != NULL) {
			event_free(w->w_lev[i]);
			w->w_lev[i] = NULL;
		}
		if (w->w_lfds[i] != -1) {
			close(w->w_lfds[i]);
			w->w_lfds[i] = -1;
		}
	}
}

/* Runs in the worker's thread when main asks it to stop. */
static void
worker_ctl_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;
	unsigned	 gen = atomic_load(&w->w_sh->sh_generation);

	if (gen != atomic_load(&w->w_generation)) {
		conn_revalidate_all(w);
		/* After: from here on this worker never reads an older config. */
		atomic_store(&w->w_generation, gen);
	}
	if (!atomic_load(&w->w_sh->sh_stopping) || w->w_draining)
		return;
	w->w_draining = true;
	worker_stop_listening(w);
	if (w->w_nconns == 0)
		event_base_loopexit(w->w_base, NULL);
}

static void
worker_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;
	struct shared	*sh = w->w_sh;
	time_t		 now = conn_now();

	conn_sweep(w, now - (time_t)shared_conf(sh)->pc_idle_timeout_s);
	if (!w->w_draining)
		return;
	if (w->w_nconns > 0 && now >= atomic_load(&sh->sh_drain_deadline)) {
		log_info("worker %u: drain time over, closing %u connections",
		    w->w_index, w->w_nconns);
		conn_close_all(w);
	}
	if (w->w_nconns == 0)
		event_base_loopexit(w->w_base, NULL);
}

/*
 * The kernel caps a listen backlog at net.core.somaxconn: ask for all of
 * it, so bursts of new connections wait in the queue instead of being
 * dropped (and retried a second later).
 */
static int
worker_backlog(void)
{
	FILE	*f;
	int	 n = 4096;

	if ((f = fopen("/proc/sys/net/core/somaxconn", "re")) != NULL) {
		if (fscanf(f, "%d", &n) != 1 || n < 128)
			n = 4096;
		fclose(f);
	}
	return n;
}

static int
worker_listen(const struct listen_addr *la)
{
	int	fd, one = 1, v6 = la->la_addr.ss_family == AF_INET6;

	fd = socket(la->la_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	/* TPROXY: connections to any address are delivered to this socket. */
	if (la->la_tproxy && setsockopt(fd, v6 ? SOL_IPV6 : SOL_IP,
	    v6 ? IPV6_TRANSPARENT : IP_TRANSPARENT, &one, sizeof(one)) == -1) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	/* One socket per worker on the same port; the kernel balances. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == -1 ||
	    /* Accepted sockets inherit it: one call per listener, not per
	     * connection. */
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == -1 ||
	    (la->la_addr.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &one, sizeof(one)) == -1) ||
	    bind(fd, (const struct sockaddr *)&la->la_addr, la->la_len) == -1 ||
	    listen(fd, worker_backlog()) == -1) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static void
worker_ext_fini(struct worker *w)
{
	if (w->w_ext != NULL && w->w_sh->sh_worker_fini != NULL)
		w->w_sh->sh_worker_fini(w->w_sh->sh_drained_arg, w->w_ext);
	w->w_ext = NULL;
}

static void *
worker_main(void *arg)
{
	struct worker	*w = arg;
	struct shared	*sh = w->w_sh;

	event_base_dispatch(w->w_base);
	/* Its share of DNS goes to the other sockets from here on. */
	worker_ext_fini(w);
	policy_thread_exit();
	/* Drained: the last worker out tells the daemon. */
	if (atomic_fetch_sub(&sh->sh_running, 1) == 1 &&
	    sh->sh_drained != NULL)
		sh->sh_drained(sh->sh_drained_arg);
	return NULL;
}

/*
 * Whether <la> is free for us: SO_REUSEPORT lets any process of the same
 * user join a port, so a second egressd started by mistake would
 * silently take half of the first one's connections.  A bind without it
 * fails while anyone listens there.  0, or -1 with errno.
 */
static int
worker_probe(const struct listen_addr *la)
{
	int	fd, one = 1, e, v6 = la->la_addr.ss_family == AF_INET6;

	if ((fd = socket(la->la_addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC,
	    0)) == -1)
		return -1;
	if ((la->la_tproxy && setsockopt(fd, v6 ? SOL_IPV6 : SOL_IP,
	    v6 ? IPV6_TRANSPARENT : IP_TRANSPARENT, &one, sizeof(one)) ==
	    -1) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    (v6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
	    sizeof(one)) == -1) ||
	    bind(fd, (const struct sockaddr *)&la->la_addr, la->la_len) == -1) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	close(fd);
	return 0;
}

/* One listening socket per configured address, each with its event. */
static int
worker_listen_all(struct worker *w, const struct proxy_conf *pc)
{
	size_t	i;

	w->w_nlisten = pc->pc_nlisten;
	w->w_lfds = calloc(w->w_nlisten, sizeof(*w->w_lfds));
	w->w_lev = calloc(w->w_nlisten, sizeof(*w->w_lev));
	w->w_laddrs = calloc(w->w_nlisten, sizeof(*w->w_laddrs));
	if (w->w_lfds == NULL || w->w_lev == NULL || w->w_laddrs == NULL)
		return -1;
	/* A copy: a reload may replace the config, never these sockets. */
	memcpy(w->w_laddrs, pc->pc_listen, w->w_nlisten *
	    sizeof(*w->w_laddrs));
	for (i = 0; i < w->w_nlisten; i++)
		w->w_lfds[i] = -1;
	for (i = 0; i < w->w_nlisten; i++) {
		/* The first worker makes sure the ports are nobody else's. */
		if (w->w_index == 0 && worker_probe(&pc->pc_listen[i]) == -1) {
			log_warn("listen %s%s", pc->pc_listen[i].la_text,
			    errno == EADDRINUSE ? " (is another egressd "
			    "running?)" : "");
			return -1;
		}
		if ((w->w_lfds[i] = worker_listen(&pc->pc_listen[i])) == -1) {
			log_warn("listen %s", pc->pc_listen[i].la_text);
			return -1;
		}
		w->w_lev[i] = event_new(w->w_base, w->w_lfds[i],
		    EV_READ | EV_PERSIST, worker_accept_cb, w);
		if (w->w_lev[i] == NULL || event_add(w->w_lev[i], NULL) == -1)
			return -1;
	}
	return 0;
}

/*
 * The worker's loop.  With the changelist, an event deleted and added
 * again within one callback (every non-persistent read or write a half
 * re-arms) costs no epoll_ctl: changes reach the kernel once, before the
 * next epoll_wait.  Nothing here dup()s a descriptor, the one thing the
 * changelist gets wrong.
 */
static struct event_base *
worker_base(void)
{
	struct event_config	*ec;
	struct event_base	*b;

	if ((ec = event_config_new()) == NULL)
		return NULL;
	event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	b = event_base_new_with_config(ec);
	event_config_free(ec);
	return b;
}

int
worker_start(struct worker *w, struct shared *sh, unsigned index)
{
	const struct proxy_conf	*pc = shared_conf(sh);
	struct timeval		 tick = { 1, 0 };
	char			*err = NULL;

	memset(w, 0, sizeof(*w));
	w->w_index = index;
	w->w_sh = sh;
	w->w_next_id = index + 1;
	atomic_init(&w->w_generation, atomic_load(&sh->sh_generation));
	pipe_pool_init(&w->w_pipes, &sh->sh_pipes);
	TAILQ_INIT(&w->w_conns);
	if ((w->w_base = worker_base()) == NULL ||
	    worker_listen_all(w, pc) == -1)
		return -1;
	w->w_resolver = resolver_new(w->w_base, sh->sh_dns,
	    pc->pc_dns_servers, pc->pc_dns_nservers, pc->pc_mark,
	    WORKER_DNS_TIMEOUT_MS, &err);
	if (w->w_resolver == NULL) {
		log_warnx("worker %u: resolver: %s", index, err ? err :
		    "cannot start");
		free(err);
		return -1;
	}
	if (sh->sh_worker_init != NULL && sh->sh_worker_init(
	    sh->sh_drained_arg, index, sh->sh_nworkers, w->w_base,
	    w->w_resolver,
	    &w->w_ext) == -1)
		return -1;
	w->w_ctl = event_new(w->w_base, -1, 0, worker_ctl_cb, w);
	w->w_tick = event_new(w->w_base, -1, EV_PERSIST, worker_tick_cb, w);
	w->w_accept_pause = evtimer_new(w->w_base, worker_resume_cb, w);
	if (w->w_ctl == NULL || w->w_tick == NULL ||
	    w->w_accept_pause == NULL || event_add(w->w_tick, &tick) == -1)
		return -1;
	atomic_fetch_add(&sh->sh_running, 1);
	if (pthread_create(&w->w_thread, NULL, worker_main, w) != 0) {
		atomic_fetch_sub(&sh->sh_running, 1);
		return -1;
	}
	return 0;
}

uint64_t
worker_conn_add(struct worker *w, struct worker_slot *s)
{
	uint64_t	id = w->w_next_id;

	/* Ids interleave: worker i owns i+1 mod (workers + 1); the DNS
	 * filter owns the last slot. */
	w->w_next_id += w->w_sh->sh_nworkers + 1;
	TAILQ_INSERT_TAIL(&w->w_conns, s, ws_entry);
	w->w_nconns++;
	atomic_fetch_add(&w->w_sh->sh_active, 1);
	return id;
}

void
worker_conn_del(struct worker *w, struct worker_slot *s)
{
	TAILQ_REMOVE(&w->w_conns, s, ws_entry);
	w->w_nconns--;
	atomic_fetch_sub(&w->w_sh->sh_active, 1);
}

void
worker_wake(struct worker *w)
{
	/* Safe across threads: evthread_use_pthreads() was called. */
	event_active(w->w_ctl, EV_READ, 0);
}

void
worker_free(struct worker *w)
{
	/* A worker whose thread never ran. */
	worker_ext_fini(w);
	worker_stop_listening(w);
	free(w->w_lfds);
	free(w->w_lev);
	free(w->w_laddrs);
	if (w->w_ctl != NULL)
		event_free(w->w_ctl);
	if (w->w_tick != NULL)
		event_free(w->w_tick);
	if (w->w_accept_pause != NULL)
		event_free(w->w_accept_pause);
	resolver_free(w->w_resolver);
	pipe_pool_free(&w->w_pipes);
	if (w->w_base != NULL)
		event_base_free(w->w_base);
}
