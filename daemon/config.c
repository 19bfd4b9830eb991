#include "daemon/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/state.h"
#include "policy/parse.h"
#include "policy/yamltree.h"
#include "policy/yread.h"
#include "proxy/certs.h"

/* Defaults (docs/config.md). */
#define DEF_CONNECT_TIMEOUT_MS	5000
#define DEF_PEEK_TIMEOUT_MS	5000
#define DEF_PEEK_MAX_BYTES	16384
#define DEF_IDLE_TIMEOUT_S	3600
#define DEF_DRAIN_S		30
#define DEF_MAX_CONNECTIONS	20000
#define DEF_MAX_PER_SANDBOX	2000
#define DEF_MEMORY_EVENTS	1000
#define DEF_MARK		0x1e9d
#define DEF_STATE_DIR		"/var/lib/egressd"

static void
set_addrs(struct yread *yr, const struct ynode *map, const char *key,
    const char *what, struct listen_addr **dst, size_t *ndst)
{
	const struct ynode	*n = yread_get(map, key), *it;
	struct listen_addr	*v;
	size_t			 i;

	if (n == NULL || !yread_want_list(yr, n, what))
		return;
	if ((v = calloc(yread_len(n) + 1, sizeof(*v))) == NULL)
		return;
	free(*dst);
	*dst = v;
	*ndst = 0;
	for (i = 0; i < yread_len(n); i++) {
		it = yread_at(n, i);
		if (!yread_want(yr, it, YN_SCALAR, what))
			continue;
		if (netaddr_parse_hostport(it->yn_str, &v[*ndst].la_addr,
		    &v[*ndst].la_len) == -1) {
			yread_err(yr, it, "%s: \"%s\" is not an address:port "
			    "(e.g. 127.0.0.1:15001 or [::1]:15001)", what,
			    it->yn_str);
			continue;
		}
		snprintf(v[*ndst].la_text, sizeof(v[*ndst].la_text), "%s",
		    it->yn_str);
		(*ndst)++;
	}
}

/* A section that is absent or null is left at its defaults. */
static bool
section(struct yread *yr, const struct ynode *root, const char *name,
    const char *const *keys, const struct ynode **out)
{
	const struct ynode	*n = yread_get(root, name);

	*out = n;
	return n != NULL && !yread_null(n) && yread_keys(yr, n, name, keys);
}

/*
 * One `listen` entry: "addr:port", or {addr: "addr:port", tproxy: true}
 * for a TPROXY listener (docs/deploy.md): the original destination is
 * the accepted socket's local address.
 */
static bool
parse_listen_one(struct yread *yr, const struct ynode *it,
    struct listen_addr *la)
{
	static const char *const keys[] = { "addr", "tproxy", NULL };
	const struct ynode	*a = it;

	if (it->yn_type == YN_MAP) {
		if (!yread_keys(yr, it, "a listen entry", keys))
			return false;
		if ((a = yread_get(it, "addr")) == NULL) {
			yread_err(yr, it, "a listen entry needs addr");
			return false;
		}
		yread_set_bool(yr, it, "tproxy", "listen.tproxy",
		    &la->la_tproxy);
	}
	if (!yread_want(yr, a, YN_SCALAR, "listen"))
		return false;
	if (netaddr_parse_hostport(a->yn_str, &la->la_addr, &la->la_len) ==
	    -1) {
		yread_err(yr, a, "listen: \"%s\" is not an address:port (e.g. "
		    "127.0.0.1:15001 or [::1]:15001)", a->yn_str);
		return false;
	}
	snprintf(la->la_text, sizeof(la->la_text), "%s%s", a->yn_str,
	    la->la_tproxy ? " (tproxy)" : "");
	return true;
}

static void
parse_listen_list(struct yread *yr, const struct ynode *n, struct config *cf)
{
	size_t	i;

	if (!yread_want_list(yr, n, "listen") ||
	    (cf->cf_listen = calloc(yread_len(n) + 1,
	    sizeof(*cf->cf_listen))) == NULL)
		return;
	for (i = 0; i < yread_len(n); i++) {
		memset(&cf->cf_listen[cf->cf_nlisten], 0,
		    sizeof(cf->cf_listen[0]));
		if (parse_listen_one(yr, yread_at(n, i),
		    &cf->cf_listen[cf->cf_nlisten]))
			cf->cf_nlisten++;
	}
}

static void
parse_listen(struct yread *yr, const struct ynode *root, struct config *cf)
{
	/* The REDIRECT target on both families. */
	static const char *const defs[] = { "127.0.0.1:15001", "[::1]:15001" };
	const struct ynode	*n;
	size_t			 d, errs = yr->yr_el->el_count;

	if ((n = yread_get(root, "listen")) != NULL) {
		parse_listen_list(yr, n, cf);
		if (cf->cf_nlisten == 0 && yr->yr_el->el_count == errs)
			yread_err(yr, n, "listen needs at least one "
			    "address:port");
		return;
	}
	if ((cf->cf_listen = calloc(2, sizeof(*cf->cf_listen))) == NULL)
		return;
	for (d = 0; d < 2; d++, cf->cf_nlisten++) {
		netaddr_parse_hostport(defs[d], &cf->cf_listen[d].la_addr,
		    &cf->cf_listen[d].la_len);
		snprintf(cf->cf_listen[d].la_text,
		    sizeof(cf->cf_listen[d].la_text), "%s", defs[d]);
	}
}

static void
parse_workers(struct yread *yr, const struct ynode *root, struct config *cf)
{
	const struct ynode	*n;
	unsigned long long	 u;

	if ((n = yread_get(root, "workers")) != NULL &&
	    yread_want(yr, n, YN_SCALAR, "workers") &&
	    strcmp(n->yn_str, "auto") != 0 &&
	    yread_uint(yr, n, "workers (a number or auto)", 1, 256, &u) == 0)
		cf->cf_px.pc_workers = (unsigned)u;
}

static void
parse_upstream(struct yread *yr, const struct ynode *root, struct config *cf)
{
	static const char *const keys[] = { "mark", "connect_timeout_ms",
	    NULL };
	const struct ynode	*n, *v;
	unsigned long long	 u;

	if (!section(yr, root, "upstream", keys, &n))
		return;
	if ((v = yread_get(n, "mark")) != NULL &&
	    yread_uint(yr, v, "upstream.mark", 0, UINT32_MAX, &u) == 0)
		cf->cf_px.pc_mark = (uint32_t)u;
	yread_set_uint(yr, n, "connect_timeout_ms", "connect_timeout_ms", 1,
	    600000, &cf->cf_px.pc_connect_timeout_ms);
}

static void
parse_dns_servers(struct yread *yr, const struct ynode *v, struct config *cf)
{
	const struct ynode	*it;
	struct ipaddr		 ia;
	struct sockaddr_storage	 ss;
	socklen_t		 sl;
	size_t			 i;

	if (!yread_want_list(yr, v, "dns.servers") ||
	    (cf->cf_dns_servers = calloc(yread_len(v) + 1,
	    sizeof(char *))) == NULL)
		return;
	for (i = 0; i < yread_len(v); i++) {
		it = yread_at(v, i);
		if (!yread_want(yr, it, YN_SCALAR, "dns.servers"))
			continue;
		if (ipaddr_parse(it->yn_str, &ia) == -1 &&
		    netaddr_parse_hostport(it->yn_str, &ss, &sl) == -1) {
			yread_err(yr, it, "dns.servers: \"%s\" is not an IP "
			    "address (or ip:port, [ip6]:port)", it->yn_str);
			continue;
		}
		cf->cf_dns_servers[cf->cf_dns_nservers++] =
		    strdup(it->yn_str);
	}
}

static void
parse_dns(struct yread *yr, const struct ynode *root, struct config *cf)
{
	static const char *const keys[] = { "listen", "servers",
	    "destination", "strip_https_records", NULL };
	const struct ynode	*n, *v;

	if (!section(yr, root, "dns", keys, &n))
		return;
	cf->cf_dns = true;
	set_addrs(yr, n, "listen", "dns.listen", &cf->cf_dns_listen,
	    &cf->cf_dns_nlisten);
	if ((v = yread_get(n, "servers")) != NULL)
		parse_dns_servers(yr, v, cf);
	if ((v = yread_get(n, "destination")) != NULL)
		policy_parse_dest(yr, v, "dns.destination",
		    &cf->cf_px.pc_dns_destination);
	yread_set_bool(yr, n, "strip_https_records",
	    "dns.strip_https_records", &cf->cf_dns_strip_https);
}

static void
parse_admin(struct yread *yr, const struct ynode *root, struct config *cf)
{
	static const char *const keys[] = { "socket", "listen", "token_file",
	    NULL };
	const struct ynode	*n, *v;

	if (!section(yr, root, "admin", keys, &n))
		return;
	yread_set_str(yr, n, "socket", "admin.socket", &cf->cf_admin_socket);
	yread_set_str(yr, n, "token_file", "admin.token_file",
	    &cf->cf_admin_token_file);
	if ((v = yread_get(n, "listen")) == NULL || yread_null(v))
		return;
	set_addrs(yr, n, "listen", "admin.listen", &cf->cf_admin_listen,
	    &cf->cf_admin_nlisten);
	if (cf->cf_admin_token_file == NULL)
		yread_err(yr, v, "admin.listen requires admin.token_file (the "
		    "TCP listener is never open without a token)");
}

static void
parse_audit(struct yread *yr, const struct ynode *root, struct config *cf)
{
	static const char *const keys[] = { "file", "syslog", "log_allowed",
	    "memory_events", NULL };
	const struct ynode	*n;

	if (!section(yr, root, "audit", keys, &n))
		return;
	yread_set_str(yr, n, "file", "audit.file", &cf->cf_audit_file);
	yread_set_bool(yr, n, "syslog", "audit.syslog", &cf->cf_audit_syslog);
	yread_set_bool(yr, n, "log_allowed", "audit.log_allowed",
	    &cf->cf_audit_log_allowed);
	yread_set_uint(yr, n, "memory_events", "audit.memory_events", 0,
	    1000000, &cf->cf_audit_memory_events);
}

static void
parse_limits(struct yread *yr, const struct ynode *root, struct config *cf)
{
	static const char *const keys[] = { "peek_timeout_ms",
	    "peek_max_bytes", "idle_timeout_s", "drain_s", "max_connections",
	    "max_connections_per_sandbox", "require_enforcement", NULL };
	const struct ynode	*n;

	if (!section(yr, root, "limits", keys, &n))
		return;
	yread_set_uint(yr, n, "peek_timeout_ms", "limits.peek_timeout_ms", 1,
	    600000, &cf->cf_px.pc_peek_timeout_ms);
	yread_set_uint(yr, n, "peek_max_bytes", "limits.peek_max_bytes", 512,
	    1048576, &cf->cf_px.pc_peek_max_bytes);
	yread_set_uint(yr, n, "idle_timeout_s", "limits.idle_timeout_s", 1,
	    604800, &cf->cf_px.pc_idle_timeout_s);
	yread_set_uint(yr, n, "drain_s", "limits.drain_s", 0, 86400,
	    &cf->cf_px.pc_drain_s);
	yread_set_uint(yr, n, "max_connections", "limits.max_connections", 1,
	    10000000, &cf->cf_px.pc_max_connections);
	yread_set_uint(yr, n, "max_connections_per_sandbox",
	    "limits.max_connections_per_sandbox", 1, 10000000,
	    &cf->cf_px.pc_max_conn_per_sandbox);
	yread_set_bool(yr, n, "require_enforcement",
	    "limits.require_enforcement", &cf->cf_require_enforcement);
}

static void
parse_deny_response(struct yread *yr, const struct ynode *root,
    struct config *cf)
{
	const struct ynode	*n;

	if ((n = yread_get(root, "deny_response")) == NULL ||
	    !yread_want(yr, n, YN_SCALAR, "deny_response"))
		return;
	if (strcmp(n->yn_str, "reset") == 0)
		cf->cf_px.pc_deny_response = DENY_RESET;
	else if (strcmp(n->yn_str, "explain") == 0)
		cf->cf_px.pc_deny_response = DENY_EXPLAIN;
	else
		yread_err(yr, n, "deny_response must be reset or explain, not "
		    "\"%s\"", n->yn_str);
}

static struct config *
config_defaults(const char *file)
{
	struct config	*cf;

	if ((cf = calloc(1, sizeof(*cf))) == NULL)
		return NULL;
	cf->cf_file = strdup(file);
	cf->cf_px.pc_mark = DEF_MARK;
	cf->cf_px.pc_connect_timeout_ms = DEF_CONNECT_TIMEOUT_MS;
	cf->cf_px.pc_dns_destination = DEST_VERIFY;
	cf->cf_dns_strip_https = true;
	cf->cf_audit_log_allowed = true;
	cf->cf_audit_memory_events = DEF_MEMORY_EVENTS;
	cf->cf_state_dir = strdup(DEF_STATE_DIR);
	cf->cf_config_watch = true;
	cf->cf_px.pc_peek_timeout_ms = DEF_PEEK_TIMEOUT_MS;
	cf->cf_px.pc_peek_max_bytes = DEF_PEEK_MAX_BYTES;
	cf->cf_px.pc_idle_timeout_s = DEF_IDLE_TIMEOUT_S;
	cf->cf_px.pc_drain_s = DEF_DRAIN_S;
	cf->cf_px.pc_max_connections = DEF_MAX_CONNECTIONS;
	cf->cf_px.pc_max_conn_per_sandbox = DEF_MAX_PER_SANDBOX;
	cf->cf_px.pc_deny_response = DENY_RESET;
	if (cf->cf_file == NULL || cf->cf_state_dir == NULL) {
		config_free(cf);
		return NULL;
	}
	return cf;
}

static void
path_from(const struct ynode *n, const char *file, struct config_path *cp)
{
	free(cp->cp_path);
	cp->cp_path = strdup(n->yn_str);
	cp->cp_file = file;
	cp->cp_line = n->yn_line;
	cp->cp_col = n->yn_col;
}

/* tls_intercept: the paths only; the daemon reads the files. */
static void
parse_tls_intercept(struct yread *yr, const struct ynode *root,
    struct config *cf)
{
	static const char *const keys[] = { "ca_cert", "ca_key",
	    "upstream_ca", NULL };
	static const char *const req[] = { "ca_cert", "ca_key" };
	struct config_path	*dst[] = { &cf->cf_ti_ca_cert,
				    &cf->cf_ti_ca_key, &cf->cf_ti_upstream_ca };
	const struct ynode	*n, *v;
	size_t			 i;

	if (!section(yr, root, "tls_intercept", keys, &n))
		return;
	cf->cf_ti = true;
	for (i = 0; i < 2; i++)
		if (yread_get(n, req[i]) == NULL)
			yread_err(yr, n, "tls_intercept needs %s", req[i]);
	for (i = 0; i < 3; i++) {
		if ((v = yread_get(n, keys[i])) == NULL ||
		    !yread_want(yr, v, YN_SCALAR, keys[i]))
			continue;
		if (v->yn_str[0] == '\0') {
			yread_err(yr, v, "tls_intercept.%s is empty", keys[i]);
			continue;
		}
		path_from(v, cf->cf_file, dst[i]);
	}
	if (cf->cf_ti_upstream_ca.cp_path == NULL) {
		cf->cf_ti_upstream_ca.cp_path = strdup("system");
		cf->cf_ti_upstream_ca.cp_file = cf->cf_file;
		cf->cf_ti_upstream_ca.cp_line = n->yn_line;
		cf->cf_ti_upstream_ca.cp_col = n->yn_col;
	}
}

/* Every daemon section, in the order the docs list them. */
static void
parse_daemon(struct yread *yr, const struct ynode *root, struct config *cf)
{
	parse_listen(yr, root, cf);
	parse_workers(yr, root, cf);
	parse_upstream(yr, root, cf);
	parse_dns(yr, root, cf);
	parse_admin(yr, root, cf);
	parse_audit(yr, root, cf);
	yread_set_str(yr, root, "state_dir", "state_dir", &cf->cf_state_dir);
	yread_set_bool(yr, root, "config_watch", "config_watch",
	    &cf->cf_config_watch);
	parse_limits(yr, root, cf);
	parse_deny_response(yr, root, cf);
	parse_tls_intercept(yr, root, cf);
}

struct config *
config_parse(const char *buf, size_t len, const char *file,
    struct errlist *el)
{
	return config_parse_overlay(buf, len, file, NULL, 0, NULL, el);
}

/* The config file's tree with the API state laid over it, or NULL. */
static struct ynode *
config_tree(struct yread *yr, const char *buf, size_t len, const char *obuf,
    size_t olen, const char *ofile, struct state_ids *ids)
{
	struct ynode	*root, *ov;
	size_t		 errs0 = yr->yr_el->el_count;
	int		 rc;

	memset(ids, 0, sizeof(*ids));
	if ((root = yamltree_parse(buf, len, yr->yr_file, yr->yr_el)) == NULL)
		return NULL;
	if (obuf == NULL)
		return root;
	if ((ov = yamltree_parse(obuf, olen, ofile, yr->yr_el)) == NULL) {
		yamltree_free(root);
		return NULL;
	}
	rc = state_overlay(yr, root, ov, ids);
	yamltree_free(ov);
	if (rc == -1 || yr->yr_el->el_count != errs0) {
		yamltree_free(root);
		state_ids_free(ids);
		return NULL;
	}
	return root;
}

struct config *
config_parse_overlay(const char *buf, size_t len, const char *file,
    const char *obuf, size_t olen, const char *ofile, struct errlist *el)
{
	static const char *const keys[] = { "listen", "workers", "upstream",
	    "dns", "admin", "audit", "state_dir", "config_watch", "limits",
	    "deny_response", "tls_intercept",
	    "profiles", "policies", "sandboxes", NULL };
	struct yread	 yr = { file, el };
	struct ynode	*root;
	struct config	*cf = NULL;
	struct state_ids ids;
	size_t		 errs0 = el->el_count;

	if ((root = config_tree(&yr, buf, len, obuf, olen, ofile, &ids)) ==
	    NULL)
		return NULL;
	if ((cf = config_defaults(file)) == NULL) {
		errlist_add(el, file, 0, 0, "out of memory");
		goto out;
	}
	if (!yread_keys(&yr, root, "the top level", keys))
		goto out;
	parse_daemon(&yr, root, cf);
	cf->cf_policy = policy_parse(&yr, root, ids.si_sandboxes,
	    ids.si_policies);
	/* The data path's view borrows the arrays the config owns. */
	cf->cf_px.pc_listen = cf->cf_listen;
	cf->cf_px.pc_nlisten = cf->cf_nlisten;
	cf->cf_px.pc_dns_servers = cf->cf_dns_servers;
	cf->cf_px.pc_dns_nservers = cf->cf_dns_nservers;
out:
	if (cf != NULL && (cf->cf_policy == NULL || el->el_count != errs0)) {
		config_free(cf);
		cf = NULL;
	}
	state_ids_free(&ids);
	yamltree_free(root);
	return cf;
}

void
config_free(struct config *cf)
{
	size_t	i;

	if (cf == NULL)
		return;
	free(cf->cf_file);
	free(cf->cf_listen);
	free(cf->cf_dns_listen);
	for (i = 0; i < cf->cf_dns_nservers; i++)
		free(cf->cf_dns_servers[i]);
	free(cf->cf_dns_servers);
	free(cf->cf_admin_socket);
	free(cf->cf_admin_listen);
	free(cf->cf_admin_token_file);
	free(cf->cf_audit_file);
	free(cf->cf_state_dir);
	free(cf->cf_ti_ca_cert.cp_path);
	free(cf->cf_ti_ca_key.cp_path);
	free(cf->cf_ti_upstream_ca.cp_path);
	certs_unref(cf->cf_certs);
	policy_unref(cf->cf_policy);
	free(cf);
}
