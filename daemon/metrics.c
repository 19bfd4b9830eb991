/*
 * daemon/metrics.c - the numbers the admin API shows: GET /api/v1/stats
 * as JSON and GET /metrics as Prometheus text (docs/admin.md, Metrics).
 */
#include "daemon/metrics.h"

#include <event2/buffer.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "audit/audit.h"
#include "daemon/daemon.h"
#include "proxy/proxy.h"

struct stats_acc {
	json_t		*sa_conn;
	json_t		*sa_dns;
	uint64_t	 sa_up, sa_down;
};

static void
stats_cb(void *arg, const char *sandbox, const char *action,
    const char *reason, const char *proto, uint64_t events, uint64_t up,
    uint64_t down)
{
	struct stats_acc	*sa = arg;
	json_t			*o = strcmp(proto, "dns") == 0 ? sa->sa_dns :
	    sa->sa_conn;
	json_t			*v = json_object_get(o, action);

	json_object_set_new(o, action, json_integer((json_int_t)(events +
	    (v != NULL ? (uint64_t)json_integer_value(v) : 0))));
	sa->sa_up += up;
	sa->sa_down += down;
}

json_t *
metrics_stats(struct daemon *d)
{
	struct audit_sink	*as = daemon_audit(d);
	struct proxy_stats	 ps;
	struct daemon_stats	 ds;
	struct stats_acc	 sa = { json_pack("{s:i,s:i,s:i,s:i}", "allow", 0,
	    "deny", 0, "end", 0, "error", 0), json_pack("{s:i,s:i}", "allow",
	    0, "deny", 0), 0, 0 };

	proxy_stats(daemon_proxy(d), &ps);
	daemon_stats(d, &ds);
	audit_counts(as, stats_cb, &sa);
	return json_pack("{s:I,s:i,s:i,s:o,s:I,s:I,s:o,"
	    "s:{s:I,s:I},s:{s:i,s:i}}",
	    "uptime_s", (json_int_t)(time(NULL) - ds.ds_started),
	    "generation", (int)ps.ps_generation,
	    "active_connections", (int)ps.ps_active,
	    "connections", sa.sa_conn,
	    "bytes_up", (json_int_t)sa.sa_up,
	    "bytes_down", (json_int_t)sa.sa_down,
	    "dns_queries", sa.sa_dns,
	    "audit_events", "written", (json_int_t)audit_written(as),
	    "dropped", (json_int_t)audit_dropped(as),
	    "reloads", "ok", (int)ds.ds_reloads_ok,
	    "failed", (int)ds.ds_reloads_failed);
}

struct metrics_acc {
	struct evbuffer	*ma_b;
	int		 ma_pass;	/* 0 connections, 1 dns, 2 bytes */
};

static void
metrics_cb(void *arg, const char *sandbox, const char *action,
    const char *reason, const char *proto, uint64_t events, uint64_t up,
    uint64_t down)
{
	struct metrics_acc	*ma = arg;
	bool			 dns = strcmp(proto, "dns") == 0;

	/* Label values are ids and fixed words: nothing needs escaping. */
	if (ma->ma_pass == 0 && !dns)
		evbuffer_add_printf(ma->ma_b, "egressd_connections_total{"
		    "sandbox=\"%s\",action=\"%s\",reason=\"%s\",proto=\"%s\"} "
		    "%llu\n", sandbox, action, reason, proto,
		    (unsigned long long)events);
	else if (ma->ma_pass == 1 && dns)
		evbuffer_add_printf(ma->ma_b, "egressd_dns_queries_total{"
		    "sandbox=\"%s\",action=\"%s\",reason=\"%s\"} %llu\n",
		    sandbox, action, reason, (unsigned long long)events);
	else if (ma->ma_pass == 2 && (up > 0 || down > 0))
		evbuffer_add_printf(ma->ma_b, "egressd_bytes_total{sandbox="
		    "\"%s\",direction=\"up\",proto=\"%s\"} %llu\n"
		    "egressd_bytes_total{sandbox=\"%s\",direction=\"down\","
		    "proto=\"%s\"} %llu\n", sandbox, proto,
		    (unsigned long long)up, sandbox, proto,
		    (unsigned long long)down);
}

void
metrics_prometheus(struct daemon *d, struct evbuffer *b)
{
	struct audit_sink	*as = daemon_audit(d);
	struct proxy_stats	 ps;
	struct daemon_stats	 ds;
	struct metrics_acc	 ma;
	uint64_t		 cum = 0;
	unsigned		 i;

	proxy_stats(daemon_proxy(d), &ps);
	daemon_stats(d, &ds);
	ma.ma_b = b;
	evbuffer_add_printf(ma.ma_b,
	    "# HELP egressd_build_info egressd version.\n"
	    "# TYPE egressd_build_info gauge\n"
	    "egressd_build_info{version=\"%s\"} 1\n"
	    "# HELP egressd_start_time_seconds Start time, Unix seconds.\n"
	    "# TYPE egressd_start_time_seconds gauge\n"
	    "egressd_start_time_seconds %lld\n"
	    "# HELP egressd_active_connections Client connections open now.\n"
	    "# TYPE egressd_active_connections gauge\n"
	    "egressd_active_connections %u\n"
	    "# HELP egressd_connections_total Connection and request "
	    "decisions and ends, by sandbox, action, reason and protocol.\n"
	    "# TYPE egressd_connections_total counter\n",
	    EGRESS_VERSION, (long long)ds.ds_started, ps.ps_active);
	ma.ma_pass = 0;
	audit_counts(as, metrics_cb, &ma);
	evbuffer_add_printf(ma.ma_b,
	    "# HELP egressd_dns_queries_total DNS filter queries, by "
	    "sandbox, action and reason.\n"
	    "# TYPE egressd_dns_queries_total counter\n");
	ma.ma_pass = 1;
	audit_counts(as, metrics_cb, &ma);
	evbuffer_add_printf(ma.ma_b,
	    "# HELP egressd_bytes_total Bytes relayed by ended connections.\n"
	    "# TYPE egressd_bytes_total counter\n");
	ma.ma_pass = 2;
	audit_counts(as, metrics_cb, &ma);
	evbuffer_add_printf(ma.ma_b,
	    "# HELP egressd_audit_events_total Audit events queued for the "
	    "audit file.\n"
	    "# TYPE egressd_audit_events_total counter\n"
	    "egressd_audit_events_total %llu\n"
	    "# HELP egressd_audit_events_dropped_total Audit events dropped "
	    "because the writer fell behind.\n"
	    "# TYPE egressd_audit_events_dropped_total counter\n"
	    "egressd_audit_events_dropped_total %llu\n"
	    "# HELP egressd_reloads_total Configuration reloads, by result.\n"
	    "# TYPE egressd_reloads_total counter\n"
	    "egressd_reloads_total{result=\"ok\"} %u\n"
	    "egressd_reloads_total{result=\"failed\"} %u\n"
	    "# HELP egressd_decision_duration_seconds Time the policy engine "
	    "takes per decision.\n"
	    "# TYPE egressd_decision_duration_seconds histogram\n",
	    (unsigned long long)audit_written(as),
	    (unsigned long long)audit_dropped(as),
	    ds.ds_reloads_ok, ds.ds_reloads_failed);
	for (i = 0; i < SHARED_LAT_BUCKETS; i++) {
		cum += ps.ps_lat[i];
		evbuffer_add_printf(ma.ma_b, "egressd_decision_duration_seconds"
		    "_bucket{le=\"%g\"} %llu\n", (double)shared_lat_bounds_ns[i] /
		    1e9, (unsigned long long)cum);
	}
	cum += ps.ps_lat[SHARED_LAT_BUCKETS];
	evbuffer_add_printf(ma.ma_b,
	    "egressd_decision_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
	    "egressd_decision_duration_seconds_sum %.9f\n"
	    "egressd_decision_duration_seconds_count %llu\n",
	    (unsigned long long)cum,
	    (double)ps.ps_lat_sum_ns / 1e9,
	    (unsigned long long)cum);
	if (!ds.ds_tls)
		return;
	evbuffer_add_printf(ma.ma_b,
	    "# HELP egressd_tls_leaf_minted_total Leaf certificates minted "
	    "for intercepted hosts by the CA in force.\n"
	    "# TYPE egressd_tls_leaf_minted_total counter\n"
	    "egressd_tls_leaf_minted_total %llu\n"
	    "# HELP egressd_tls_leaf_cached Leaf certificates in the cache.\n"
	    "# TYPE egressd_tls_leaf_cached gauge\n"
	    "egressd_tls_leaf_cached %zu\n",
	    (unsigned long long)ds.ds_leaf_minted, ds.ds_leaf_cached);
}
