/*
 * egressd - transparent egress filtering proxy for sandboxes.
 *
 * Start-up order matters: the config is validated completely before any
 * socket is opened, listeners are bound before the audit says "started",
 * and SIGTERM drains instead of cutting flows.
 */
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "audit/audit.h"
#include "common/errlist.h"
#include "common/log.h"
#include "common/netaddr.h"
#include "dns/filter.h"
#include "dns/resolver.h"
#include "daemon/config.h"
#include "policy/hostname.h"
#include "policy/policy.h"
#include "proxy/admin.h"
#include "proxy/conn.h"
#include "proxy/proxy.h"

/* Names the shared DNS cache keeps (least recently used go first). */
#define DNS_CACHE_NAMES		65536
/* Audit lines waiting for the writer thread before events are dropped. */
#define AUDIT_QUEUE_BYTES	(4u << 20)

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: egressd -c FILE [-d]         run the proxy (foreground)\n"
	    "       egressd -c FILE --check      validate FILE and exit\n"
	    "       egressd -c FILE --explain SANDBOX HOST [PORT]\n"
	    "                                    show the decision for HOST\n"
	    "       egressd --version | --help\n"
	    "\n"
	    "  -c, --config FILE  configuration (YAML, see docs/config.md)\n"
	    "  -d, --debug        log each connection's state changes\n"
	    "\n"
	    "signals: HUP reload, USR1 reopen the audit file, TERM/INT drain "
	    "and exit\n");
}

static void
print_errors(const struct errlist *el)
{
	size_t	i;

	for (i = 0; i < el->el_count; i++)
		fprintf(stderr, "%s\n", el->el_msgs[i]);
}

static int
explain(const struct config *cf, int argc, char **argv)
{
	const struct sandbox	*sb;
	struct policy_query	 q;
	struct policy_decision	 d;
	char			 host[HOSTNAME_MAX];
	const char		*why;
	unsigned long		 port = 443;
	char			*ep;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "egressd: --explain SANDBOX HOST [PORT]\n");
		return 2;
	}
	if ((sb = policy_sandbox_by_id(cf->cf_policy, argv[0])) == NULL) {
		fprintf(stderr, "egressd: no sandbox \"%s\"\n", argv[0]);
		return 1;
	}
	if (argc == 3) {
		port = strtoul(argv[2], &ep, 10);
		if (*ep != '\0' || port < 1 || port > 65535) {
			fprintf(stderr, "egressd: bad port \"%s\"\n", argv[2]);
			return 2;
		}
	}
	memset(&q, 0, sizeof(q));
	q.pq_proto = port == 80 ? POLICY_PROTO_HTTP : POLICY_PROTO_TLS;
	q.pq_port = (uint16_t)port;
	if (ipaddr_parse(argv[1], &q.pq_dst) == 0) {
		/* An address is judged as the destination it names. */
		netaddr_format_ip(&q.pq_dst, host, sizeof(host));
	} else if (hostname_normalize(argv[1], host, sizeof(host), &why) ==
	    -1) {
		fprintf(stderr, "egressd: \"%s\": %s\n", argv[1], why);
		return 2;
	}
	q.pq_host = host;
	policy_eval(sb, &q, &d);
	printf("%s %s:%lu -> %s\n", sandbox_id(sb), host, port,
	    policy_action_str(d.pd_action));
	printf("  reason: %s\n", policy_reason_str(d.pd_reason));
	printf("  policy: %s\n", d.pd_policy ? d.pd_policy : "-");
	printf("  rule:   %s\n", d.pd_rule ? d.pd_rule : "-");
	if (d.pd_by_host)
		printf("  note:   allowed by a host rule: at run time the "
		    "destination address must also be public\n");
	return 0;
}

/* The soft descriptor limit raised to the hard one; returns it. */
static unsigned long
raise_nofile(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return 1024;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 1UL << 30 ?
	    1UL << 30 : (unsigned long)rl.rlim_cur;
}

/* Fails early and clearly when the mark cannot be set at all. */
static int
check_mark(uint32_t mark)
{
	int	fd, rc;

	if (mark == 0)
		return 0;
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	rc = setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark));
	close(fd);
	if (rc == -1)
		log_warn("upstream.mark 0x%x needs CAP_NET_ADMIN; grant it, or "
		    "set mark: 0 and exclude egressd's uid from the redirect",
		    mark);
	return rc;
}

static void
on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct proxy	*px = arg;
	unsigned	 i;

	if (atomic_exchange(&px->p_stopping, true))
		return;
	log_info("signal %d: no new connections; draining for up to %u s",
	    (int)sig, atomic_load(&px->p_cf)->cf_drain_s);
	px->p_drain_deadline = conn_now() +
	    (time_t)atomic_load(&px->p_cf)->cf_drain_s;
	for (i = 0; i < px->p_nworkers; i++)
		worker_wake(&px->p_workers[i]);
	/*
	 * The main loop (DNS filter, admin API) keeps answering while the
	 * workers drain; the last worker to finish ends it.
	 */
}

static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	struct proxy	*px = arg;
	const char	*file = atomic_load(&px->p_cf)->cf_file;
	struct errlist	 el;
	size_t		 i;

	errlist_init(&el);
	if (proxy_reload(px, &el) == -1) {
		log_warnx("reload: %s rejected, the running policy stays in "
		    "force", file);
		for (i = 0; i < el.el_count; i++)
			log_warnx("reload: %s", el.el_msgs[i]);
	} else
		log_info("reload: %s applied (generation %u)", file,
		    atomic_load(&px->p_generation));
	errlist_free(&el);
}

static void
on_usr1(evutil_socket_t sig, short what, void *arg)
{
	struct proxy	*px = arg;

	log_info("reopening the audit file");
	audit_reopen(px->p_audit);
}

static struct policy *
env_policy(void *arg)
{
	return proxy_policy(arg);
}

static bool
env_strip_https(void *arg)
{
	struct proxy	*px = arg;

	return atomic_load(&px->p_cf)->cf_dns_strip_https;
}

/* Start-up failed half-way: the workers already running stop at once. */
static void
stop_started(struct proxy *px, unsigned started)
{
	unsigned	i;

	atomic_store(&px->p_stopping, true);
	px->p_drain_deadline = 0;
	for (i = 0; i < started; i++)
		worker_wake(&px->p_workers[i]);
}

static unsigned
worker_count(const struct config *cf)
{
	long	n;

	if (cf->cf_workers > 0)
		return cf->cf_workers;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 64 ? 64 : (unsigned)n;
}

/* Runs until stopped; <*cfp> is replaced by the config in force at exit. */
static int
run(struct config **cfp, struct proxy_text *txt)
{
	struct config		*cf = *cfp;
	struct proxy		 px;
	struct event_base	*base;
	struct event		*sigs[4];
	struct resolver		*fres = NULL;
	struct dnsfilter	*filter = NULL;
	struct dnsfilter_env	 fenv;
	struct admin		*admin = NULL;
	char			*err;
	unsigned		 i, started = 0;
	int			 rc = 1;

	memset(&px, 0, sizeof(px));
	atomic_init(&px.p_cf, cf);
	px.p_text = *txt;
	memset(txt, 0, sizeof(*txt));
	px.p_started = time(NULL);
	px.p_policy = policy_ref(cf->cf_policy);
	pthread_mutex_init(&px.p_pmtx, NULL);
	signal(SIGPIPE, SIG_IGN);
	px.p_nofile = raise_nofile();
	if (evthread_use_pthreads() == -1)
		fatalx("libevent without pthreads support");
	if (check_mark(cf->cf_mark) == -1)
		return 1;
	if (resolver_library_init() == -1 ||
	    (px.p_dns = dns_shared_new(DNS_CACHE_NAMES)) == NULL) {
		log_warnx("cannot initialise c-ares");
		return 1;
	}
	px.p_audit = audit_open(cf->cf_audit_file, AUDIT_QUEUE_BYTES, &err);
	if (px.p_audit == NULL) {
		log_warnx("audit: %s", err ? err : "cannot start");
		free(err);
		return 1;
	}
	audit_set_options(px.p_audit, cf->cf_audit_log_allowed,
	    cf->cf_audit_memory_events, cf->cf_audit_syslog);
	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new");
	px.p_base = base;
	sigs[0] = evsignal_new(base, SIGTERM, on_stop, &px);
	sigs[1] = evsignal_new(base, SIGINT, on_stop, &px);
	sigs[2] = evsignal_new(base, SIGHUP, on_hup, &px);
	sigs[3] = evsignal_new(base, SIGUSR1, on_usr1, &px);
	for (i = 0; i < 4; i++)
		if (sigs[i] == NULL || event_add(sigs[i], NULL) == -1)
			fatalx("cannot install signal handlers");

	px.p_nworkers = worker_count(cf);
	proxy_conn_budget(&px, cf);
	if ((px.p_workers = calloc(px.p_nworkers, sizeof(*px.p_workers))) ==
	    NULL)
		fatalx("calloc");
	for (i = 0; i < px.p_nworkers; i++, started++)
		if (worker_start(&px, &px.p_workers[i], i) == -1)
			break;
	if (started < px.p_nworkers) {
		log_warnx("cannot start worker %u", started);
		stop_started(&px, started);
		goto join;
	}
	if (cf->cf_dns && cf->cf_dns_nlisten > 0) {
		/* The filter runs on the main loop, off the data path. */
		fres = resolver_new(base, px.p_dns, cf->cf_dns_servers,
		    cf->cf_dns_nservers, cf->cf_mark, 2000, &err);
		memset(&fenv, 0, sizeof(fenv));
		fenv.fe_base = base;
		fenv.fe_audit = px.p_audit;
		fenv.fe_ds = px.p_dns;
		fenv.fe_resolver = fres;
		fenv.fe_policy = env_policy;
		fenv.fe_strip_https = env_strip_https;
		fenv.fe_arg = &px;
		/* Its audit ids take the slot after the workers'. */
		fenv.fe_id_first = px.p_nworkers + 1;
		fenv.fe_id_stride = px.p_nworkers + 1;
		if (fres == NULL || (filter = dnsfilter_new(&fenv,
		    cf->cf_dns_listen, cf->cf_dns_nlisten, &err)) == NULL) {
			log_warnx("dns filter: %s", err ? err : "cannot start");
			free(err);
			stop_started(&px, started);
			goto join;
		}
		for (i = 0; i < cf->cf_dns_nlisten; i++)
			log_info("dns filter on %s (udp, tcp)",
			    cf->cf_dns_listen[i].la_text);
	}
	if ((cf->cf_admin_socket != NULL || cf->cf_admin_listen != NULL) &&
	    (admin = admin_new(&px, base, &err)) == NULL) {
		log_warnx("admin: %s", err ? err : "cannot start");
		free(err);
		stop_started(&px, started);
		goto join;
	}
	if (cf->cf_admin_socket != NULL)
		log_info("admin API on %s", cf->cf_admin_socket);
	if (cf->cf_admin_listen != NULL)
		log_info("admin API on %s (token)",
		    cf->cf_admin_listen[0].la_text);
	for (i = 0; i < cf->cf_nlisten; i++)
		log_info("listening on %s", cf->cf_listen[i].la_text);
	log_info("egressd %s started: %u workers, %zu listeners",
	    EGRESS_VERSION, px.p_nworkers, cf->cf_nlisten);
	event_base_dispatch(base);
	rc = 0;
join:
	/* The base stops once a stop signal arrived and the workers ended. */
	for (i = 0; i < started; i++)
		pthread_join(px.p_workers[i].w_thread, NULL);
	for (i = 0; i < px.p_nworkers; i++)
		worker_free(&px.p_workers[i]);
	admin_free(admin);
	dnsfilter_free(filter);
	resolver_free(fres);
	free(px.p_workers);
	for (i = 0; i < 4; i++)
		if (sigs[i] != NULL)
			event_free(sigs[i]);
	event_base_free(base);
	audit_close(px.p_audit);
	dns_shared_free(px.p_dns);
	policy_unref(px.p_policy);
	pthread_mutex_destroy(&px.p_pmtx);
	proxy_reclaim(&px, true);
	proxy_text_free(&px.p_text);
	free(px.p_retired);
	*cfp = atomic_load(&px.p_cf);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'n' },
		{ "explain", no_argument, NULL, 'e' },
		{ "debug", no_argument, NULL, 'd' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*file = NULL;
	bool		 check = false, expl = false, debug = false;
	struct errlist	 el;
	struct config	*cf;
	struct proxy_text txt;
	int		 ch, rc;

	while ((ch = getopt_long(argc, argv, "c:dhnV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			file = optarg;
			break;
		case 'n':
			check = true;
			break;
		case 'e':
			expl = true;
			break;
		case 'd':
			debug = true;
			break;
		case 'V':
			printf("egressd %s\n", EGRESS_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (file == NULL) {
		usage(stderr);
		return 2;
	}
	if (!expl && optind != argc) {
		fprintf(stderr, "egressd: unexpected argument \"%s\"\n",
		    argv[optind]);
		return 2;
	}
	log_init(debug ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	errlist_init(&el);
	if ((cf = proxy_load(file, &txt, &el)) == NULL) {
		proxy_text_free(&txt);
		print_errors(&el);
		if (el.el_count == 0)
			fprintf(stderr, "%s: invalid configuration\n", file);
		errlist_free(&el);
		return 1;
	}
	errlist_free(&el);
	if (check || expl) {
		if (check)
			printf("%s: configuration OK\n", file);
		rc = check ? 0 : explain(cf, argc - optind, argv + optind);
		proxy_text_free(&txt);
		config_free(cf);
		return rc;
	}
	rc = run(&cf, &txt);
	config_free(cf);
	return rc;
}
