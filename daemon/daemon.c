/*
 * daemon/daemon.c - the process: start-up in an order that never serves
 * half a config (validated before any socket opens, listeners bound
 * before "started"), reload and API changes swapped in whole, SIGTERM
 * drained with the DNS filter and admin API answering to the end.
 */
#include "daemon/daemon.h"

#include <errno.h>
#include <event2/event.h>
#include <jansson.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit.h"
#include "common/errlist.h"
#include "common/fileio.h"
#include "common/log.h"
#include "daemon/admin.h"
#include "daemon/config.h"
#include "daemon/intercept.h"
#include "daemon/selftest.h"
#include "daemon/state.h"
#include "daemon/watch.h"
#include "dns/filter.h"
#include "dns/resolver.h"
#include "policy/policy.h"
#include "proxy/certs.h"
#include "policy/yamltree.h"
#include "policy/yread.h"
#include "proxy/certs.h"
#include "proxy/phantom.h"
#include "proxy/proxy.h"

/* Names the shared DNS cache keeps (least recently used go first). */
#define DNS_CACHE_NAMES		65536
/* Audit lines waiting for the writer thread before events are dropped. */
#define AUDIT_QUEUE_BYTES	(4u << 20)
/* The DNS filter's own look-ups: per try (c-ares tries twice). */
#define FILTER_DNS_TIMEOUT_MS	2000
/* The sandboxes' phantom tokens, in state_dir (docs/interception.md). */
#define PHANTOM_FILE		"phantoms.json"

/* A config replaced while workers may still read its settings. */
struct retired {
	struct config	*r_cf;		/* owns */
	unsigned	 r_gen;		/* free once every worker saw it */
};

struct daemon {
	struct event_base	*d_base;	/* owns: the main loop */
	struct event		*d_sigs[4];	/* owns */
	struct config		*d_cf;		/* owns: in force */
	struct daemon_text	 d_text;
	struct retired		*d_retired;	/* owns */
	size_t			 d_nretired;
	unsigned		 d_reloads_ok;
	unsigned		 d_reloads_failed;
	time_t			 d_started;
	struct audit_sink	*d_audit;	/* owns */
	struct dns_shared	*d_dns;		/* owns */
	struct proxy		*d_px;		/* owns: the data plane */
	struct resolver		*d_fres;	/* owns: the filter's */
	struct dnsfilter	*d_filter;	/* owns: TCP, and UDP once drained */
	int			*d_dns_ufds;	/* owns: UDP, one per dns.listen */
	size_t			 d_dns_nufds;
	/* The workers' filters (UDP) read these from their threads. */
	atomic_bool		 d_strip_https;
	atomic_uint_fast64_t	 d_dns_seq;	/* the filters' audit ids */
	struct admin		*d_admin;	/* owns */
	/* The settings egressd started with, without a policy: what the
	   start-only keys of a reloaded config are compared with. */
	struct config		*d_boot;	/* owns, or NULL */
	bool			 d_stopping;
	/*
	 * Sessions (docs/admin.md): memory only, never in state_dir.
	 * {"ID": {"policy": {config schema}, "view": {as PUT},
	 * "expires": monotonic seconds}}
	 */
	json_t			*d_sessions;	/* owns */
	struct watch		*d_watch;	/* owns: config_watch */
	struct event		*d_session_tick; /* owns: expiry */
	/* Phantom tokens: the workers check d_phantoms; d_phantom_hex
	   ({"ID": "HEX"}) is what GET shows and PHANTOM_FILE holds. */
	struct phantoms		*d_phantoms;	/* owns */
	json_t			*d_phantom_hex;	/* owns */
};

static struct config *
daemon_load_text(const char *path, struct daemon_text *txt, struct errlist *el)
{
	struct config	*cf, *merged;
	char		*sp;

	memset(txt, 0, sizeof(*txt));
	if ((txt->dt_cf = file_read(path, &txt->dt_cflen)) == NULL) {
		errlist_add(el, path, 0, 0, "cannot read: %s", strerror(errno));
		return NULL;
	}
	if ((cf = config_parse(txt->dt_cf, txt->dt_cflen, path, el)) == NULL)
		return NULL;
	/* state_dir comes from the config: read what the API left there. */
	if ((sp = state_path(cf)) == NULL)
		return cf;
	txt->dt_state = file_read(sp, &txt->dt_statelen);
	if (txt->dt_state == NULL) {
		if (errno != ENOENT) {
			errlist_add(el, sp, 0, 0, "cannot read: %s",
			    strerror(errno));
			config_free(cf);
			cf = NULL;
		}
		free(sp);
		return cf;
	}
	merged = config_parse_overlay(txt->dt_cf, txt->dt_cflen, path,
	    txt->dt_state, txt->dt_statelen, sp, el);
	free(sp);
	config_free(cf);
	return merged;
}

/* The config and the files it names (docs/interception.md). */
struct config *
daemon_load(const char *path, struct daemon_text *txt, struct errlist *el)
{
	struct config	*cf;

	if ((cf = daemon_load_text(path, txt, el)) != NULL &&
	    intercept_load(cf, NULL, false, el) == -1) {
		config_free(cf);
		cf = NULL;
	}
	return cf;
}

void
daemon_text_free(struct daemon_text *txt)
{
	free(txt->dt_cf);
	free(txt->dt_state);
	memset(txt, 0, sizeof(*txt));
}

static time_t
mono_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/*
 * The API state <state> with the sessions laid into it (each one a
 * "session" key on its sandbox's entry), as the text to parse: sessions
 * are judged like everything else but never written to state_dir.
 */
static char *
with_sessions(const struct daemon *d, const char *state, size_t len)
{
	json_t		*st, *e, *s;
	const char	*id;
	char		*text;

	if (d->d_sessions == NULL || json_object_size(d->d_sessions) == 0)
		return NULL;
	st = state_json_parse(state, len);
	json_object_foreach(d->d_sessions, id, s) {
		e = state_json_entry(st, id, true);
		json_object_set(e, "session", json_object_get(s, "policy"));
	}
	text = json_dumps(st, JSON_COMPACT);
	json_decref(st);
	return text;
}

/* The config from the file's text, <state> and the sessions, or NULL. */
static struct config *
daemon_parse(struct daemon *d, const char *state, size_t len,
    struct errlist *el)
{
	struct config	*cf;
	char		*sp, *both = with_sessions(d, state, len);

	sp = state_path(d->d_cf);
	if (both != NULL)
		cf = config_parse_overlay(d->d_text.dt_cf, d->d_text.dt_cflen,
		    d->d_cf->cf_file, both, strlen(both), sp != NULL ? sp :
		    "state", el);
	else if (state != NULL)
		cf = config_parse_overlay(d->d_text.dt_cf, d->d_text.dt_cflen,
		    d->d_cf->cf_file, state, len, sp != NULL ? sp : "state",
		    el);
	else
		cf = config_parse(d->d_text.dt_cf, d->d_text.dt_cflen,
		    d->d_cf->cf_file, el);
	free(sp);
	free(both);
	/* An API change keeps the CA (and its leaf cache) it found. */
	if (cf != NULL && intercept_load(cf, d->d_cf, true, el) == -1) {
		config_free(cf);
		cf = NULL;
	}
	return cf;
}

static bool
str_differs(const char *a, const char *b)
{
	return (a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0);
}

static bool
addrs_differ(const struct listen_addr *a, size_t na,
    const struct listen_addr *b, size_t nb)
{
	size_t	i;

	if (na != nb)
		return true;
	for (i = 0; i < na; i++)
		if (strcmp(a[i].la_text, b[i].la_text) != 0)
			return true;
	return false;
}

static bool
servers_differ(const struct config *o, const struct config *n)
{
	size_t	i;

	if (o->cf_dns_nservers != n->cf_dns_nservers)
		return true;
	for (i = 0; i < o->cf_dns_nservers; i++)
		if (strcmp(o->cf_dns_servers[i], n->cf_dns_servers[i]) != 0)
			return true;
	return false;
}

/*
 * The start-only keys (docs/config.md, Reload) that differ between <o>
 * and <n>: they belong to sockets, threads and resolvers made at start-up,
 * so a reload applies the rest and names these.  Returns how many went
 * into <keys> (at most DAEMON_RESTART_KEYS_MAX).
 */
static size_t
restart_keys(const struct config *o, const struct config *n,
    const char **keys)
{
	size_t	k = 0;

	if (addrs_differ(o->cf_listen, o->cf_nlisten, n->cf_listen,
	    n->cf_nlisten))
		keys[k++] = "listen";
	if (o->cf_px.pc_workers != n->cf_px.pc_workers)
		keys[k++] = "workers";
	/* The data path reads the mark per connection; resolvers keep it. */
	if (o->cf_px.pc_mark != n->cf_px.pc_mark)
		keys[k++] = "upstream.mark (for egressd's own DNS look-ups)";
	if (o->cf_dns != n->cf_dns || addrs_differ(o->cf_dns_listen,
	    o->cf_dns_nlisten, n->cf_dns_listen, n->cf_dns_nlisten))
		keys[k++] = "dns.listen";
	if (servers_differ(o, n))
		keys[k++] = "dns.servers";
	if (str_differs(o->cf_admin_socket, n->cf_admin_socket))
		keys[k++] = "admin.socket";
	if (addrs_differ(o->cf_admin_listen, o->cf_admin_nlisten,
	    n->cf_admin_listen, n->cf_admin_nlisten))
		keys[k++] = "admin.listen";
	if (str_differs(o->cf_admin_token_file, n->cf_admin_token_file))
		keys[k++] = "admin.token_file";
	if (str_differs(o->cf_audit_file, n->cf_audit_file))
		keys[k++] = "audit.file";
	return k;
}

static size_t
warn_restart_needed(const struct config *o, const struct config *n,
    const char **keys)
{
	size_t	i, k = restart_keys(o, n, keys);

	for (i = 0; i < k; i++)
		log_warnx("reload: %s changed; it applies after a restart "
		    "(the rest of the config is in force)", keys[i]);
	return k;
}

/* Frees the retired configs no worker can still be reading. */
static void
daemon_reclaim(struct daemon *d, bool all)
{
	unsigned	seen = all ? 0 : proxy_generation_seen(d->d_px);
	size_t		i, keep = 0;

	for (i = 0; i < d->d_nretired; i++) {
		if (all || d->d_retired[i].r_gen <= seen)
			config_free(d->d_retired[i].r_cf);
		else
			d->d_retired[keep++] = d->d_retired[i];
	}
	d->d_nretired = keep;
}

/*
 * Swaps <cf> in (takes it): new connections and live ones (revocation).
 * The start-only keys that changed go to <keys> (NULL: only logged).
 */
static size_t
daemon_install_keys(struct daemon *d, struct config *cf, const char **keys)
{
	const char	*mine[DAEMON_RESTART_KEYS_MAX];
	struct config	*old = d->d_cf;
	struct retired	*v;
	unsigned	 gen;
	size_t		 nkeys;

	/*
	 * Against what runs: the sockets, threads and resolvers made at
	 * start, not the last reload's (which may have changed them in
	 * vain already).
	 */
	nkeys = warn_restart_needed(d->d_boot != NULL ? d->d_boot : old, cf,
	    keys != NULL ? keys : mine);
	d->d_cf = cf;
	atomic_store(&d->d_strip_https, cf->cf_dns_strip_https);
	gen = proxy_install(d->d_px, &cf->cf_px, cf->cf_policy);
	audit_set_options(d->d_audit, cf->cf_audit_log_allowed,
	    cf->cf_audit_memory_events, cf->cf_audit_syslog);
	/* The retired shell keeps no policy: connections hold their own. */
	policy_unref(old->cf_policy);
	old->cf_policy = NULL;
	daemon_reclaim(d, false);
	if ((v = realloc(d->d_retired, (d->d_nretired + 1) * sizeof(*v))) ==
	    NULL) {
		log_warnx("reload: out of memory: the old config leaks");
		return nkeys;
	}
	d->d_retired = v;
	v[d->d_nretired].r_cf = old;
	v[d->d_nretired++].r_gen = gen;
	return nkeys;
}

static void
daemon_install(struct daemon *d, struct config *cf)
{
	(void)daemon_install_keys(d, cf, NULL);
}

int
daemon_reload(struct daemon *d, struct errlist *el, const char **keys,
    size_t *nkeys)
{
	struct daemon_text	 txt;
	struct config		*cf;
	size_t			 n;

	if (nkeys != NULL)
		*nkeys = 0;
	if ((cf = daemon_load(d->d_cf->cf_file, &txt, el)) == NULL) {
		daemon_text_free(&txt);
		d->d_reloads_failed++;
		return -1;
	}
	daemon_text_free(&d->d_text);
	d->d_text = txt;
	if (d->d_sessions != NULL && json_object_size(d->d_sessions) > 0) {
		/* Sessions go on: judged again under the new file. */
		config_free(cf);
		if ((cf = daemon_parse(d, d->d_text.dt_state,
		    d->d_text.dt_statelen, el)) == NULL) {
			d->d_reloads_failed++;
			return -1;
		}
	}
	n = daemon_install_keys(d, cf, keys);
	if (nkeys != NULL)
		*nkeys = n;
	d->d_reloads_ok++;
	return 0;
}

int
daemon_apply_state(struct daemon *d, const char *state, size_t len,
    struct errlist *el)
{
	struct config	*cf;
	char		*copy;

	if ((cf = daemon_parse(d, state, len, el)) == NULL)
		return -1;
	/* On disk first: a change that is not kept is not made. */
	if (state_save(cf, state, len, el) == -1 ||
	    (copy = malloc(len + 1)) == NULL) {
		config_free(cf);
		return -1;
	}
	memcpy(copy, state, len);
	copy[len] = '\0';
	free(d->d_text.dt_state);
	d->d_text.dt_state = copy;
	d->d_text.dt_statelen = len;
	daemon_install(d, cf);
	return 0;
}

/* The config rebuilt with the sessions as they are now, swapped in. */
static int
daemon_rebuild(struct daemon *d, struct errlist *el)
{
	struct config	*cf;

	if ((cf = daemon_parse(d, d->d_text.dt_state, d->d_text.dt_statelen,
	    el)) == NULL)
		return -1;
	daemon_install(d, cf);
	return 0;
}

int
daemon_session_set(struct daemon *d, const char *id, json_t *policy,
    json_t *view, unsigned ttl_s, struct errlist *el)
{
	json_t	*old, *s;

	if (d->d_sessions == NULL && (d->d_sessions = json_object()) == NULL)
		return -1;
	old = json_incref(json_object_get(d->d_sessions, id));
	s = json_pack("{s:O,s:O,s:I}", "policy", policy, "view", view,
	    "expires", (json_int_t)(mono_now() + (time_t)ttl_s));
	if (s == NULL || json_object_set_new(d->d_sessions, id, s) == -1 ||
	    daemon_rebuild(d, el) == -1) {
		/* Refused: the session in force (if any) stays. */
		if (old != NULL)
			json_object_set(d->d_sessions, id, old);
		else
			json_object_del(d->d_sessions, id);
		json_decref(old);
		return -1;
	}
	json_decref(old);
	return 0;
}

json_t *
daemon_session_get(struct daemon *d, const char *id)
{
	json_t		*s, *out;
	json_int_t	 left;

	if (d->d_sessions == NULL ||
	    (s = json_object_get(d->d_sessions, id)) == NULL)
		return NULL;
	left = json_integer_value(json_object_get(s, "expires")) -
	    (json_int_t)mono_now();
	out = json_deep_copy(json_object_get(s, "view"));
	json_object_set_new(out, "expires_in_s", json_integer(left > 0 ?
	    left : 0));
	return out;
}

int
daemon_session_clear(struct daemon *d, const char *id, struct errlist *el)
{
	if (d->d_sessions == NULL ||
	    json_object_get(d->d_sessions, id) == NULL)
		return -1;
	json_object_del(d->d_sessions, id);
	return daemon_rebuild(d, el);
}

/* Each second: sessions past their ttl_s end (and live flows re-judged). */
static void
on_session_tick(evutil_socket_t fd, short what, void *arg)
{
	struct daemon	*d = arg;
	struct errlist	 el;
	const char	*id;
	json_t		*s, *tmp;
	time_t		 now = mono_now();
	bool		 gone = false;

	if (d->d_sessions == NULL)
		return;
	json_object_foreach_safe(d->d_sessions, tmp, id, s)
		if (json_integer_value(json_object_get(s, "expires")) <= now) {
			log_info("session of sandbox %s expired", id);
			json_object_del(d->d_sessions, id);
			gone = true;
		}
	if (!gone)
		return;
	errlist_init(&el);
	if (daemon_rebuild(d, &el) == -1)
		log_warnx("sessions: rebuild after expiry failed: %s",
		    el.el_count > 0 ? el.el_msgs[0] : "?");
	errlist_free(&el);
}

json_t *
daemon_file_policy(struct daemon *d, const char *name)
{
	struct errlist	 el;
	struct ynode	*root;
	const struct ynode *n;
	json_t		*j = NULL;

	errlist_init(&el);
	root = yamltree_parse(d->d_text.dt_cf, d->d_text.dt_cflen,
	    d->d_cf->cf_file, &el);
	errlist_free(&el);
	if (root == NULL)
		return NULL;
	if ((n = yread_get(yread_get(root, "policies"), name)) != NULL)
		j = state_yaml_json(n);
	yamltree_free(root);
	return j;
}

static bool
selftest_queued(void *arg, uint16_t id)
{
	struct daemon	*d = arg;

	return dnsfilter_queued(d->d_filter, id);
}

int
daemon_selftest(struct daemon *d, struct selftest_result *r)
{
	struct selftest_env	env = { selftest_queued, d };

	return selftest_run(r, &env);
}

/* ------------------------------------------------------------ phantoms */

/* <tokens> ({"ID": "HEX"}) into state_dir: 0, or -1 with <el>. */
static int
phantoms_save(struct daemon *d, json_t *tokens, struct errlist *el)
{
	json_t	*file = json_pack("{s:O}", "phantoms", tokens);
	char	*text;
	int	 rc;

	text = json_dumps(file, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(file);
	if (text == NULL) {
		errlist_add(el, PHANTOM_FILE, 0, 0, "out of memory");
		return -1;
	}
	rc = state_write(d->d_cf->cf_state_dir, PHANTOM_FILE, text,
	    strlen(text), el);
	OPENSSL_cleanse(text, strlen(text));
	free(text);
	return rc;
}

/*
 * At start: the table the workers check, filled from state_dir.  A file
 * that cannot be read refuses the start, like the API's state: starting
 * without it would take every sandbox's credentials away.
 */
static int
phantoms_load(struct daemon *d)
{
	const struct config	*cf = d->d_cf;
	json_t			*j = NULL, *tok;
	json_error_t		 je;
	const char		*id;
	char			*path, *text = NULL;
	size_t			 len;
	int			 rc = -1;

	if ((d->d_phantoms = phantoms_new()) == NULL ||
	    (d->d_phantom_hex = json_object()) == NULL ||
	    asprintf(&path, "%s/%s", cf->cf_state_dir, PHANTOM_FILE) < 0) {
		log_warnx("phantom tokens: out of memory");
		return -1;
	}
	if ((text = file_read(path, &len)) == NULL) {
		if (errno == ENOENT)
			rc = 0;
		else
			log_warn("cannot start: %s", path);
		goto out;
	}
	if ((j = json_loadb(text, len, 0, &je)) == NULL ||
	    !json_is_object(json_object_get(j, "phantoms"))) {
		log_warnx("cannot start: %s: not a phantom token file (%s); "
		    "move it away to start, every sandbox then gets a new "
		    "token", path,
		    j == NULL ? je.text : "no \"phantoms\" object");
		goto out;
	}
	json_object_foreach(json_object_get(j, "phantoms"), id, tok)
		if (!json_is_string(tok) || phantoms_set(d->d_phantoms, id,
		    json_string_value(tok)) == -1)
			log_warnx("%s: sandbox %s: not a token, left out", path,
			    id);
		else
			json_object_set(d->d_phantom_hex, id, tok);
	rc = 0;
out:
	if (text != NULL) {
		OPENSSL_cleanse(text, len);
		free(text);
	}
	json_decref(j);
	free(path);
	return rc;
}

int
daemon_phantom(struct daemon *d, const char *id, bool rotate, char *hex,
    struct errlist *el)
{
	const char	*cur;
	json_t		*next;
	uint8_t		 raw[PHANTOM_LEN];
	size_t		 i;
	int		 rc = -1;

	cur = json_string_value(json_object_get(d->d_phantom_hex, id));
	if (cur != NULL && !rotate) {
		memcpy(hex, cur, PHANTOM_HEX + 1);
		return 0;
	}
	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		errlist_add(el, "phantom", 0, 0, "no randomness for a token");
		return -1;
	}
	for (i = 0; i < PHANTOM_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	OPENSSL_cleanse(raw, sizeof(raw));
	/* On disk first: a token that is not kept is not handed out. */
	if ((next = json_copy(d->d_phantom_hex)) == NULL ||
	    json_object_set_new(next, id, json_string(hex)) == -1 ||
	    phantoms_save(d, next, el) == -1)
		goto out;
	json_decref(d->d_phantom_hex);
	d->d_phantom_hex = json_incref(next);
	if (phantoms_set(d->d_phantoms, id, hex) == -1) {
		/* Neither the old token nor the new one, then. */
		(void)phantoms_set(d->d_phantoms, id, NULL);
		errlist_add(el, "phantom", 0, 0, "out of memory");
		goto out;
	}
	log_info("sandbox %s: phantom token %s", id, cur != NULL ? "rotated" :
	    "made");
	rc = 0;
out:
	json_decref(next);
	if (rc == -1)
		OPENSSL_cleanse(hex, PHANTOM_HEX + 1);
	return rc;
}

void
daemon_phantom_drop(struct daemon *d, const char *id)
{
	struct errlist	 el;
	json_t		*next;

	if (json_object_get(d->d_phantom_hex, id) == NULL)
		return;
	(void)phantoms_set(d->d_phantoms, id, NULL);
	errlist_init(&el);
	if ((next = json_copy(d->d_phantom_hex)) == NULL ||
	    json_object_del(next, id) == -1 ||
	    phantoms_save(d, next, &el) == -1)
		log_warnx("sandbox %s: its phantom token stays in %s: %s", id,
		    PHANTOM_FILE, el.el_count > 0 ? el.el_msgs[0] :
		    "out of memory");
	else {
		json_decref(d->d_phantom_hex);
		d->d_phantom_hex = json_incref(next);
	}
	json_decref(next);
	errlist_free(&el);
}

const char *
daemon_ca_pem(const struct daemon *d, size_t *len)
{
	if (d->d_cf->cf_certs == NULL)
		return NULL;
	return certs_ca_pem(d->d_cf->cf_certs, len);
}

const struct config *
daemon_config(const struct daemon *d)
{
	return d->d_cf;
}

struct policy *
daemon_policy(struct daemon *d)
{
	return proxy_policy(d->d_px);
}

struct proxy *
daemon_proxy(struct daemon *d)
{
	return d->d_px;
}

struct audit_sink *
daemon_audit(struct daemon *d)
{
	return d->d_audit;
}

const char *
daemon_state(const struct daemon *d, size_t *len)
{
	*len = d->d_text.dt_statelen;
	return d->d_text.dt_state;
}

void
daemon_stats(const struct daemon *d, struct daemon_stats *st)
{
	st->ds_reloads_ok = d->d_reloads_ok;
	st->ds_reloads_failed = d->d_reloads_failed;
	st->ds_started = d->d_started;
	st->ds_tls = d->d_cf->cf_certs != NULL;
	st->ds_leaf_minted = st->ds_tls ? certs_minted(d->d_cf->cf_certs) : 0;
	st->ds_leaf_cached = st->ds_tls ? certs_cache_count(d->d_cf->cf_certs) :
	    0;
}

static void
on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct daemon	*d = arg;

	if (d->d_stopping)
		return;
	d->d_stopping = true;
	log_info("signal %d: no new connections; draining for up to %u s",
	    (int)sig, d->d_cf->cf_px.pc_drain_s);
	/*
	 * The main loop (DNS filter, admin API) keeps answering while the
	 * workers drain; the last worker to finish ends it (on_drained).
	 */
	proxy_stop(d->d_px, d->d_cf->cf_px.pc_drain_s);
}

/* From the last worker thread to finish. */
static void
on_drained(void *arg)
{
	struct daemon	*d = arg;

	event_base_loopexit(d->d_base, NULL);
}

/* Reloads the config and says what came of it (SIGHUP, config_watch). */
static void
daemon_reload_logged(struct daemon *d)
{
	struct errlist	 el;
	size_t		 i;

	errlist_init(&el);
	if (daemon_reload(d, &el, NULL, NULL) == -1) {
		log_warnx("reload: %s rejected, the running policy stays in "
		    "force", d->d_cf->cf_file);
		for (i = 0; i < el.el_count; i++)
			log_warnx("reload: %s", el.el_msgs[i]);
	} else {
		struct proxy_stats	st;

		proxy_stats(d->d_px, &st);
		log_info("reload: %s applied (generation %u)",
		    d->d_cf->cf_file, st.ps_generation);
	}
	errlist_free(&el);
}

static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	daemon_reload_logged(arg);
}

/*
 * config_watch: the file (or the ConfigMap link under it) changed.  An
 * unchanged text is no reason to re-judge every connection.
 */
static void
on_config_changed(void *arg)
{
	struct daemon	*d = arg;
	char		*text;
	size_t		 len;

	if ((text = file_read(d->d_cf->cf_file, &len)) != NULL &&
	    len == d->d_text.dt_cflen && memcmp(text, d->d_text.dt_cf,
	    len) == 0) {
		free(text);
		return;
	}
	free(text);
	log_info("config_watch: %s changed", d->d_cf->cf_file);
	daemon_reload_logged(d);
}

static void
on_usr1(evutil_socket_t sig, short what, void *arg)
{
	struct daemon	*d = arg;

	log_info("reopening the audit file");
	audit_reopen(d->d_audit);
}

static struct policy *
env_policy(void *arg)
{
	return daemon_policy(arg);
}

static bool
env_strip_https(void *arg)
{
	struct daemon	*d = arg;

	return atomic_load(&d->d_strip_https);
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

/*
 * Fails early and clearly when the mark cannot be set at all: the redirect
 * rules exempt egressd's own sockets by it, so without it egressd's
 * upstream connections would be redirected back into egressd.
 */
static int
check_mark(uint32_t mark)
{
	int	fd, rc;

	if (mark == 0) {
		log_warnx("upstream.mark is 0: egressd's own connections are "
		    "not marked; in a sidecar the redirect rules must exempt "
		    "them by uid (egress-redirect --uid N), a gateway needs "
		    "no exemption (docs/deploy.md)");
		return 0;
	}
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	rc = setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark));
	close(fd);
	if (rc == -1)
		log_warn("cannot start: upstream.mark 0x%x cannot be set "
		    "(SO_MARK needs CAP_NET_ADMIN), and without it egressd's "
		    "own connections would be redirected back into it; grant "
		    "CAP_NET_ADMIN, or set upstream.mark: 0 and exempt "
		    "egressd's uid (egress-redirect --uid N)", mark);
	return rc;
}

/*
 * The audit file's directory (/var/log/egressd in the shipped config) is
 * made if it is missing, one level only and mode 0750: the audit names
 * every host a sandbox asked for.  A missing parent is left to the
 * operator (audit_open then says which path failed).
 */
static void
audit_dir_make(const char *file)
{
	char	*dir, *slash;

	if (file == NULL || strcmp(file, "-") == 0 ||
	    (dir = strdup(file)) == NULL)
		return;
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0750) == 0)
			log_info("audit: made directory %s (mode 0750)", dir);
		else if (errno != EEXIST)
			log_warn("audit: cannot make directory %s", dir);
	}
	free(dir);
}

/*
 * limits.require_enforcement: the self-test's probes run before anything
 * listens (a probe refused by this host proves the redirect as well as
 * one egressd answers), and a failing one stops the start.
 */
static int
daemon_enforced(const struct config *cf)
{
	struct selftest_result	r[SELFTEST_PROBES];
	int			i;

	if (!cf->cf_require_enforcement)
		return 0;
	if (selftest_run(r, NULL) == 0) {
		log_info("require_enforcement: every self-test probe covered");
		return 0;
	}
	for (i = 0; i < SELFTEST_PROBES; i++)
		if (!r[i].sr_ok)
			log_warnx("require_enforcement: %s: FAIL (%s)",
			    r[i].sr_name, r[i].sr_why);
	log_warnx("require_enforcement: the redirect rules do not cover "
	    "everything; not starting (egress-redirect install, then again)");
	return -1;
}

/* The audit sink, the shared DNS knowledge, the loop and its signals. */
static int
daemon_open(struct daemon *d)
{
	static const int	 signo[4] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1 };
	void			(*cb[4])(evutil_socket_t, short, void *) = {
				    on_stop, on_stop, on_hup, on_usr1 };
	const struct config	*cf = d->d_cf;
	struct timeval		 second = { 1, 0 };
	char			*err = NULL;
	size_t			 i;

	if (resolver_library_init() == -1 ||
	    (d->d_dns = dns_shared_new(DNS_CACHE_NAMES)) == NULL) {
		log_warnx("cannot initialise c-ares");
		return -1;
	}
	audit_dir_make(cf->cf_audit_file);
	if ((d->d_audit = audit_open(cf->cf_audit_file, AUDIT_QUEUE_BYTES,
	    &err)) == NULL) {
		log_warnx("audit: %s", err ? err : "cannot start");
		free(err);
		return -1;
	}
	audit_set_options(d->d_audit, cf->cf_audit_log_allowed,
	    cf->cf_audit_memory_events, cf->cf_audit_syslog);
	if ((d->d_base = event_base_new()) == NULL)
		fatalx("event_base_new");
	for (i = 0; i < 4; i++)
		if ((d->d_sigs[i] = evsignal_new(d->d_base, signo[i], cb[i],
		    d)) == NULL || event_add(d->d_sigs[i], NULL) == -1)
			fatalx("cannot install signal handlers");
	if ((d->d_session_tick = event_new(d->d_base, -1, EV_PERSIST,
	    on_session_tick, d)) == NULL ||
	    event_add(d->d_session_tick, &second) == -1)
		fatalx("cannot start the session timer");
	return 0;
}

static void
filter_env(struct daemon *d, struct dnsfilter_env *fenv,
    struct event_base *base, struct resolver *res, unsigned nworkers,
    bool udp_only)
{
	memset(fenv, 0, sizeof(*fenv));
	fenv->fe_base = base;
	fenv->fe_audit = d->d_audit;
	fenv->fe_ds = d->d_dns;
	fenv->fe_resolver = res;
	fenv->fe_policy = env_policy;
	fenv->fe_strip_https = env_strip_https;
	fenv->fe_arg = d;
	/* Its audit ids take the slot after the workers', one count for
	 * every filter. */
	fenv->fe_id_first = nworkers + 1;
	fenv->fe_id_stride = nworkers + 1;
	fenv->fe_seq = &d->d_dns_seq;
	fenv->fe_udp_only = udp_only;
	fenv->fe_udp_fds = d->d_dns_ufds;
}

/*
 * Each worker answers UDP queries on its own loop, reading the shared
 * sockets of the dns.listen addresses: the filter scales with the
 * workers.  Called before the worker's loop runs.
 */
static int
filter_worker_init(void *arg, unsigned index, unsigned nworkers,
    struct event_base *base, struct resolver *res, void **obj)
{
	struct daemon		*d = arg;
	const struct config	*cf = d->d_cf;
	struct dnsfilter_env	 fenv;
	char			*err = NULL;

	*obj = NULL;
	if (!cf->cf_dns || cf->cf_dns_nlisten == 0)
		return 0;
	filter_env(d, &fenv, base, res, nworkers, true);
	if ((*obj = dnsfilter_new(&fenv, cf->cf_dns_listen,
	    cf->cf_dns_nlisten, &err)) == NULL) {
		log_warnx("dns filter (worker %u): %s", index,
		    err ? err : "cannot start");
		free(err);
		return -1;
	}
	return 0;
}

/* In the worker's thread, its loop ended. */
static void
filter_worker_fini(void *arg, void *obj)
{
	dnsfilter_free(obj);
}

/*
 * The main loop's filter: TCP (capped, off the data path) and one more
 * UDP socket, which answers alone once the workers have drained.
 */
static int
daemon_start_filter(struct daemon *d)
{
	const struct config	*cf = d->d_cf;
	struct dnsfilter_env	 fenv;
	char			*err = NULL;
	size_t			 i;

	if (!cf->cf_dns || cf->cf_dns_nlisten == 0)
		return 0;
	d->d_fres = resolver_new(d->d_base, d->d_dns, cf->cf_dns_servers,
	    cf->cf_dns_nservers, cf->cf_px.pc_mark, FILTER_DNS_TIMEOUT_MS,
	    &err);
	filter_env(d, &fenv, d->d_base, d->d_fres, proxy_nworkers(d->d_px),
	    false);
	if (d->d_fres == NULL || (d->d_filter = dnsfilter_new(&fenv,
	    cf->cf_dns_listen, cf->cf_dns_nlisten, &err)) == NULL) {
		log_warnx("dns filter: %s", err ? err : "cannot start");
		free(err);
		return -1;
	}
	for (i = 0; i < cf->cf_dns_nlisten; i++)
		log_info("dns filter on %s (udp on every worker, tcp)",
		    cf->cf_dns_listen[i].la_text);
	return 0;
}

static int
daemon_start_admin(struct daemon *d)
{
	const struct config	*cf = d->d_cf;
	char			*err = NULL;
	size_t			 i;

	if (cf->cf_admin_socket == NULL && cf->cf_admin_nlisten == 0)
		return 0;
	if ((d->d_admin = admin_new(d, d->d_base, &err)) == NULL) {
		log_warnx("admin: %s", err ? err : "cannot start");
		free(err);
		return -1;
	}
	if (cf->cf_admin_socket != NULL)
		log_info("admin API on %s", cf->cf_admin_socket);
	for (i = 0; i < cf->cf_admin_nlisten; i++)
		log_info("admin API on %s (token)",
		    cf->cf_admin_listen[i].la_text);
	return 0;
}

/*
 * The DNS filter's UDP sockets, before the workers start: every filter
 * (each worker's and the main loop's) reads the same ones.
 */
static int
daemon_open_dns(struct daemon *d)
{
	const struct config	*cf = d->d_cf;
	char			*err = NULL;

	if (!cf->cf_dns || cf->cf_dns_nlisten == 0)
		return 0;
	if ((d->d_dns_ufds = calloc(cf->cf_dns_nlisten,
	    sizeof(*d->d_dns_ufds))) == NULL)
		return -1;
	if (dnsfilter_udp_open(cf->cf_dns_listen, cf->cf_dns_nlisten,
	    d->d_dns_ufds, &err) == -1) {
		log_warnx("dns filter: %s", err ? err : "cannot start");
		free(err);
		free(d->d_dns_ufds);
		d->d_dns_ufds = NULL;
		return -1;
	}
	d->d_dns_nufds = cf->cf_dns_nlisten;
	return 0;
}

static int
daemon_start(struct daemon *d, unsigned long nofile)
{
	const struct config	*cf = d->d_cf;
	struct proxy_env	 env = {
		.pe_nofile = nofile,
		.pe_drained = on_drained,
		.pe_worker_init = filter_worker_init,
		.pe_worker_fini = filter_worker_fini,
		.pe_arg = d
	};
	size_t			 i;

	if (check_mark(cf->cf_px.pc_mark) == -1 || daemon_enforced(cf) == -1 ||
	    daemon_open(d) == -1 || phantoms_load(d) == -1)
		return -1;
	atomic_store(&d->d_strip_https, cf->cf_dns_strip_https);
	env.pe_audit = d->d_audit;
	env.pe_dns = d->d_dns;
	env.pe_phantoms = d->d_phantoms;
	if (daemon_open_dns(d) == -1 ||
	    (d->d_px = proxy_start(&env, &cf->cf_px, cf->cf_policy)) == NULL)
		return -1;
	if (daemon_start_filter(d) == -1 || daemon_start_admin(d) == -1)
		return -1;
	if (cf->cf_config_watch && (d->d_watch = watch_new(d->d_base,
	    cf->cf_file, on_config_changed, d)) == NULL)
		log_warn("config_watch: cannot watch %s; SIGHUP still reloads",
		    cf->cf_file);
	for (i = 0; i < cf->cf_nlisten; i++)
		log_info("listening on %s", cf->cf_listen[i].la_text);
	log_info("egressd %s started: %u workers, %zu listeners",
	    EGRESS_VERSION, proxy_nworkers(d->d_px), cf->cf_nlisten);
	return 0;
}

/* Everything, in the reverse order of start-up; the workers first. */
static void
daemon_close(struct daemon *d)
{
	size_t	i;

	proxy_free(d->d_px);
	watch_free(d->d_watch);
	admin_free(d->d_admin);
	dnsfilter_free(d->d_filter);
	resolver_free(d->d_fres);
	for (i = 0; i < d->d_dns_nufds; i++)
		close(d->d_dns_ufds[i]);
	free(d->d_dns_ufds);
	for (i = 0; i < 4; i++)
		if (d->d_sigs[i] != NULL)
			event_free(d->d_sigs[i]);
	if (d->d_session_tick != NULL)
		event_free(d->d_session_tick);
	json_decref(d->d_sessions);
	if (d->d_base != NULL)
		event_base_free(d->d_base);
	audit_close(d->d_audit);
	dns_shared_free(d->d_dns);
	phantoms_free(d->d_phantoms);
	json_decref(d->d_phantom_hex);
	policy_thread_exit();
	daemon_reclaim(d, true);
	free(d->d_retired);
	daemon_text_free(&d->d_text);
	config_free(d->d_cf);
	config_free(d->d_boot);
}

int
daemon_run(struct config *cf, struct daemon_text *txt)
{
	struct daemon	d;
	unsigned long	nofile;
	int		rc = 1;

	memset(&d, 0, sizeof(d));
	d.d_cf = cf;
	d.d_text = *txt;
	{
		struct errlist	el;

		errlist_init(&el);
		/* Parsed once more: the start-only settings, no policy kept. */
		if ((d.d_boot = config_parse(d.d_text.dt_cf, d.d_text.dt_cflen,
		    cf->cf_file, &el)) != NULL) {
			policy_unref(d.d_boot->cf_policy);
			d.d_boot->cf_policy = NULL;
		}
		errlist_free(&el);
	}
	memset(txt, 0, sizeof(*txt));
	d.d_started = time(NULL);
	signal(SIGPIPE, SIG_IGN);
	nofile = raise_nofile();
	if (evthread_use_pthreads() == -1)
		fatalx("libevent without pthreads support");
	if (daemon_start(&d, nofile) == 0) {
		event_base_dispatch(d.d_base);
		rc = 0;
	}
	daemon_close(&d);
	return rc;
}
