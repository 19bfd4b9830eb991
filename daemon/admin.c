/*
 * daemon/admin.c - the admin API (docs/admin.md): HTTP/1.1 + JSON on a unix
 * socket (trusted by its file mode) and an optional TCP listener that
 * wants a bearer token.  It runs on the main thread's loop, so it never
 * competes with the data path, and every change goes through the same
 * validation and snapshot swap as a config reload.
 */
#include "daemon/admin.h"
#include "daemon/ahttp.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "audit/audit.h"
#include "common/errlist.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/ipaddr.h"
#include "common/netaddr.h"
#include "daemon/config.h"
#include "daemon/daemon.h"
#include "daemon/metrics.h"
#include "daemon/selftest.h"
#include "daemon/state.h"
#include "daemon/suggest.h"
#include "policy/hostname.h"
#include "policy/policy.h"
#include "proxy/phantom.h"
#include "proxy/proxy.h"

/* Limits of the admin listeners (docs/admin.md). */
#define ADMIN_BODY_MAX		(1u << 20)	/* request body: else 413 */
#define ADMIN_HEAD_MAX		(32u << 10)	/* request line + headers */
#define ADMIN_MAX_CONNS		64	/* open connections, per listener */
#define ADMIN_MAX_PER_SOURCE	8	/* TCP: per address (IPv6: /64) */
#define ADMIN_TIMEOUT_S		10	/* to send a request, take a reply */
#define ADMIN_EVENTS_DEFAULT	100

struct admin_ep {
	struct admin		*ae_admin;
	struct ahttp		*ae_http;	/* owns */
	bool			 ae_token;	/* TCP: bearer token required */
};

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

/* What a route's pattern captured, and what its table entry adds. */
struct route_ctx {
	const char	*rc_id;		/* the sandbox id in the path */
	const char	*rc_verb;	/* POST .../egress/VERB */
};

struct admin {
	struct daemon		*ad_d;		/* borrowed */
	struct admin_ep		 ad_unix;
	struct admin_ep		*ad_tcp;	/* owns: one per admin.listen */
	size_t			 ad_ntcp;
	char			*ad_sock_path;	/* owns: unlinked at exit */
	char			*ad_token;	/* owns */
};

/* ------------------------------------------------------------ replies */

static void
reply_json(struct ahttp_req *req, int code, json_t *j)
{
	struct evbuffer	*b = evbuffer_new();
	char		*s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

	if (b != NULL && s != NULL) {
		evbuffer_add(b, s, strlen(s));
		evbuffer_add(b, "\n", 1);
	}
	ahttp_reply(req, code, "application/json", b);
	free(s);
	if (b != NULL)
		evbuffer_free(b);
	json_decref(j);
}

/* A 200 with <len> bytes of <text>, not JSON. */
static void
reply_text(struct ahttp_req *req, const char *ctype, const char *text,
    size_t len)
{
	struct evbuffer	*b = evbuffer_new();

	if (b != NULL)
		evbuffer_add(b, text, len);
	ahttp_reply(req, 200, ctype, b);
	if (b != NULL)
		evbuffer_free(b);
}

static void reply_error(struct ahttp_req *, int, const char *, ...)
	__attribute__((format(printf, 3, 4)));

static void
reply_error(struct ahttp_req *req, int code, const char *fmt, ...)
{
	char	 msg[1024];
	va_list	 ap;
	json_t	*j;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if ((j = json_pack("{s:s}", "error", msg)) == NULL)	/* not UTF-8 */
		j = json_pack("{s:s}", "error", "bad request (the message "
		    "would not be valid UTF-8)");
	reply_json(req, code, j);
}

/* Validation errors read "FILE:L:C: msg": an API client wants the msg. */
static const char *
strip_location(const char *m)
{
	const char	*p = strstr(m, ": ");

	return p != NULL && strchr(m, ' ') > p ? p + 2 : m;
}

static void
reply_errlist(struct ahttp_req *req, int code, const char *what,
    const struct errlist *el)
{
	json_t	*arr = json_array();
	size_t	 i;

	for (i = 0; i < el->el_count; i++)
		json_array_append_new(arr, json_string(el->el_msgs[i]));
	reply_json(req, code, json_pack("{s:s,s:o}", "error", el->el_count > 0 ?
	    strip_location(el->el_msgs[0]) : what, "errors", arr));
}

/* ------------------------------------------------------------ views */

struct rules_acc {
	json_t	*ra_rules;
	json_t	*ra_lists[6];	/* in egress_keys order */
};

static const char *const egress_kinds[6] = { "allow.hosts", "deny.hosts",
    "allow.cidrs", "deny.cidrs", "allow.ports", "deny.ports" };
static const char *const egress_keys[6] = { "allowed_domains",
    "denied_domains", "allowed_cidrs", "denied_cidrs", "allowed_ports",
    "denied_ports" };

static bool
json_array_has(json_t *a, json_t *v)
{
	size_t	 i;
	json_t	*x;

	json_array_foreach(a, i, x)
		if (json_equal(x, v))
			return true;
	return false;
}

/* "443" as a number, "8000-8100" as a string, like the config takes. */
static json_t *
port_json(const char *p)
{
	char		*ep;
	unsigned long	 v = strtoul(p, &ep, 10);

	return *ep == '\0' ? json_integer((json_int_t)v) : json_string(p);
}

static void
rules_cb(void *arg, const char *kind, const char *pattern, const char *from)
{
	struct rules_acc	*ra = arg;
	struct ipaddr		 ia;
	json_t			*v;
	size_t			 k;

	json_array_append_new(ra->ra_rules, json_pack("{s:s,s:s,s:s}", "kind",
	    kind, "pattern", pattern, "from", from));
	for (k = 0; k < 6; k++)
		if (strcmp(kind, egress_kinds[k]) == 0)
			break;
	if (k == 6)
		return;
	/* An IP literal written under hosts is a CIDR rule. */
	if (k < 2 && ipaddr_parse(pattern, &ia) == 0)
		k += 2;
	v = k >= 4 ? port_json(pattern) : json_string(pattern);
	if (!json_array_has(ra->ra_lists[k], v))
		json_array_append(ra->ra_lists[k], v);
	json_decref(v);
}

static json_t *
sources_json(const struct sandbox *sb)
{
	json_t	*a = json_array();
	char	 buf[64];
	size_t	 i;

	for (i = 0; i < sandbox_nsources(sb); i++) {
		sandbox_source(sb, i, buf, sizeof(buf));
		json_array_append_new(a, json_string(buf));
	}
	return a;
}

static json_t *
policies_json(const struct sandbox *sb)
{
	json_t	*a = json_array();
	size_t	 i;

	for (i = 0; i < sandbox_npolicies(sb); i++)
		json_array_append_new(a, json_string(sandbox_policy_name(sb,
		    i)));
	return a;
}

/* GET .../network: the effective policy, plus where each rule lives. */
static json_t *
network_json(const struct sandbox *sb)
{
	struct rules_acc	 ra;
	json_t			*egress;
	size_t			 k;

	ra.ra_rules = json_array();
	for (k = 0; k < 6; k++)
		ra.ra_lists[k] = json_array();
	policy_sandbox_rules(sb, rules_cb, &ra);
	egress = json_object();
	for (k = 0; k < 6; k++)
		json_object_set_new(egress, egress_keys[k], ra.ra_lists[k]);
	return json_pack("{s:s,s:s,s:b,s:o,s:o,s:o,s:s,s:o}",
	    "id", sandbox_id(sb),
	    "mode", sandbox_mode(sb),
	    "intercept", sandbox_intercept(sb),
	    "egress", egress,
	    "sources", sources_json(sb),
	    "policies", policies_json(sb),
	    "source", sandbox_from_api(sb) ? "api" : "config",
	    "rules", ra.ra_rules);
}

/* ------------------------------------------------------------ state */

static json_t *
state_load(struct admin *ad)
{
	const char	*text;
	size_t		 len;

	text = daemon_state(ad->ad_d, &len);
	return state_json_parse(text, len);
}

/* Seeds an entry's allow/deny from the sandbox's own inline rules. */
struct seed_acc {
	json_t		*sa_entry;
	const char	*sa_from;
};

static void
seed_cb(void *arg, const char *kind, const char *pattern, const char *from)
{
	struct seed_acc	*sa = arg;
	char		 side[8];
	const char	*dot = strchr(kind, '.');
	json_t		*s, *l;

	if (strncmp(from, sa->sa_from, strlen(sa->sa_from)) != 0 ||
	    dot == NULL || (size_t)(dot - kind) >= sizeof(side))
		return;
	memcpy(side, kind, (size_t)(dot - kind));
	side[dot - kind] = '\0';
	if ((s = json_object_get(sa->sa_entry, side)) == NULL) {
		s = json_object();
		json_object_set_new(sa->sa_entry, side, s);
	}
	if ((l = json_object_get(s, dot + 1)) == NULL) {
		l = json_array();
		json_object_set_new(s, dot + 1, l);
	}
	json_array_append_new(l, strcmp(dot + 1, "ports") == 0 ?
	    port_json(pattern) : json_string(pattern));
}

static json_t *
state_entry_seeded(json_t *st, const struct sandbox *sb)
{
	json_t		*e = state_json_entry(st, sandbox_id(sb), false);
	struct seed_acc	 sa;
	char		 from[128];

	if (e != NULL)
		return e;
	e = state_json_entry(st, sandbox_id(sb), true);
	snprintf(from, sizeof(from), "sandbox %s", sandbox_id(sb));
	sa.sa_entry = e;
	sa.sa_from = from;
	policy_sandbox_rules(sb, seed_cb, &sa);
	return e;
}

/* Validates, persists and applies <st>; replies on failure. */
static int
state_apply(struct admin *ad, struct ahttp_req *req, json_t *st)
{
	struct errlist	 el;
	char		*text;
	int		 rc;

	if ((text = json_dumps(st, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) ==
	    NULL) {
		reply_error(req, 500, "out of memory");
		return -1;
	}
	errlist_init(&el);
	rc = daemon_apply_state(ad->ad_d, text, strlen(text), &el);
	if (rc == -1)
		reply_errlist(req, 400, "invalid change", &el);
	errlist_free(&el);
	free(text);
	return rc;
}

/* ------------------------------------------------------------ routes */

static json_t *
body_json(struct ahttp_req *req)
{
	struct evbuffer	*b = ahttp_req_body(req);
	size_t		 n = evbuffer_get_length(b);
	json_error_t	 err;
	json_t		*j;

	j = json_loadb((const char *)evbuffer_pullup(b, (ssize_t)n), n,
	    JSON_REJECT_DUPLICATES, &err);
	if (j == NULL)
		reply_error(req, 400, "bad JSON: %s (line %d, column %d)",
		    err.text, err.line, err.column);
	else if (!json_is_object(j)) {
		reply_error(req, 400, "the body must be a JSON object");
		json_decref(j);
		j = NULL;
	}
	return j;
}

/* Checks that <o> has only <keys>; replies 400 naming the first other. */
static bool
only_keys(struct ahttp_req *req, json_t *o, const char *const *keys,
    const char *what)
{
	const char	*k;
	json_t		*v;
	size_t		 i;

	json_object_foreach(o, k, v) {
		for (i = 0; keys[i] != NULL; i++)
			if (strcmp(keys[i], k) == 0)
				break;
		if (keys[i] == NULL) {
			reply_error(req, 400, "unknown field \"%s\" in %s", k,
			    what);
			return false;
		}
	}
	return true;
}

/* Routes that take no body accept none, or an empty object; 400 else. */
static bool
no_body(struct ahttp_req *req)
{
	static const char *const none[] = { NULL };
	json_t	*b;
	bool	 ok;

	if (evbuffer_get_length(ahttp_req_body(req)) == 0)
		return true;
	if ((b = body_json(req)) == NULL)
		return false;
	ok = only_keys(req, b, none, "the body (this route takes none)");
	json_decref(b);
	return ok;
}

static bool
string_list(struct ahttp_req *req, json_t *l, const char *what,
    bool ports)
{
	size_t	 i;
	json_t	*v;

	if (!json_is_array(l)) {
		reply_error(req, 400, "%s must be a list", what);
		return false;
	}
	json_array_foreach(l, i, v)
		if (!json_is_string(v) && !(ports && json_is_integer(v))) {
			reply_error(req, 400, "%s[%zu] must be a %s", what, i,
			    ports ? "port number or \"LOW-HIGH\" string" :
			    "string");
			return false;
		}
	return true;
}

static void
route_sandboxes(struct admin *ad, struct ahttp_req *req,
    const struct route_ctx *rc)
{
	struct policy	*p = daemon_policy(ad->ad_d);
	json_t		*a = json_array();
	size_t		 i;

	for (i = 0; i < policy_nsandboxes(p); i++) {
		const struct sandbox *sb = policy_sandbox_at(p, i);

		json_array_append_new(a, json_pack("{s:s,s:o,s:o,s:b,s:s}",
		    "id", sandbox_id(sb), "sources", sources_json(sb),
		    "policies", policies_json(sb), "intercept",
		    sandbox_intercept(sb), "source", sandbox_from_api(sb) ?
		    "api" : "config"));
	}
	policy_unref(p);
	reply_json(req, 200, a);
}

static void
reply_network(struct admin *ad, struct ahttp_req *req, const char *id)
{
	struct policy		*p = daemon_policy(ad->ad_d);
	const struct sandbox	*sb = policy_sandbox_by_id(p, id);

	if (sb == NULL)
		reply_error(req, 404, "no sandbox \"%s\"", id);
	else
		reply_json(req, 200, network_json(sb));
	policy_unref(p);
}

/* PUT .../network: the body replaces the sandbox's inline policy. */
/*
 * PUT .../network: the body must not change what the API cannot (its id,
 * the policies a config sandbox names): false (answered) when it tries.
 */
static bool
network_body_ok(struct admin *ad, struct ahttp_req *req, json_t *b,
    const char *id)
{
	static const char *const keys[] = { "id", "mode", "intercept",
	    "egress", "sources", "policies", "source", "rules", NULL };
	/* What GET shows but PUT cannot change: sent back unchanged only. */
	static const char *const readonly[] = { "source", "rules", NULL };
	json_t	*v, *cur = NULL;
	size_t	 k;
	bool	 ok = true;

	if (!only_keys(req, b, keys, "the network object"))
		return false;
	if ((v = json_object_get(b, "id")) != NULL && (!json_is_string(v) ||
	    strcmp(json_string_value(v), id) != 0)) {
		reply_error(req, 400, "\"id\" in the body must be the path's "
		    "\"%s\"", id);
		return false;
	}
	for (k = 0; ok && readonly[k] != NULL; k++) {
		if ((v = json_object_get(b, readonly[k])) == NULL)
			continue;
		if (cur == NULL) {
			struct policy		*p = daemon_policy(ad->ad_d);
			const struct sandbox	*sb = policy_sandbox_by_id(p,
			    id);

			cur = sb != NULL ? network_json(sb) : json_object();
			policy_unref(p);
		}
		if (!json_equal(v, json_object_get(cur, readonly[k]))) {
			reply_error(req, 400, "\"%s\" cannot be changed "
			    "through the API: leave it out (or send it "
			    "unchanged)", readonly[k]);
			ok = false;
		}
	}
	json_decref(cur);
	return ok;
}

/* The body's egress lists into state entry <e>: false (answered) if bad. */
static bool
network_egress(struct ahttp_req *req, json_t *eg, json_t *e)
{
	static const char *const ekeys[] = { "allowed_domains",
	    "denied_domains", "allowed_cidrs", "denied_cidrs",
	    "allowed_ports", "denied_ports", NULL };
	json_t	*v, *side;
	size_t	 k;

	if (!json_is_object(eg)) {
		reply_error(req, 400, "egress must be an object");
		return false;
	}
	if (!only_keys(req, eg, ekeys, "egress"))
		return false;
	for (k = 0; k < 6; k++) {
		if ((v = json_object_get(eg, egress_keys[k])) == NULL)
			continue;
		if (!string_list(req, v, egress_keys[k], k >= 4))
			return false;
		side = state_json_list(e, k % 2 == 0 ? "allow" : "deny",
		    k < 2 ? "hosts" : k < 4 ? "cidrs" : "ports");
		json_array_extend(side, v);
	}
	return true;
}

/* The body's mode, intercept and sources into <e>: false if bad. */
static bool
network_scalars(struct ahttp_req *req, json_t *b, json_t *e)
{
	json_t	*v;

	if ((v = json_object_get(b, "mode")) != NULL) {
		if (!json_is_string(v)) {
			reply_error(req, 400, "mode must be a string");
			return false;
		}
		json_object_set(e, "mode", v);
	}
	if ((v = json_object_get(b, "intercept")) != NULL) {
		if (!json_is_boolean(v)) {
			reply_error(req, 400, "intercept must be true or false");
			return false;
		}
		json_object_set(e, "intercept", v);
	}
	if ((v = json_object_get(b, "sources")) != NULL) {
		if (!string_list(req, v, "sources", false))
			return false;
		json_object_set(e, "sources", v);
	}
	/* The named policies it is judged by; [] = its own rules alone. */
	if ((v = json_object_get(b, "policies")) != NULL) {
		if (!string_list(req, v, "policies", false))
			return false;
		json_object_set(e, "policies", v);
	}
	return true;
}

/* ------------------------------------------------------------ policies */

/* The sandboxes of <p> judged by policy <name>, as a JSON list. */
static json_t *
policy_users(const struct policy *p, const char *name)
{
	json_t			*a = json_array();
	const struct sandbox	*sb;
	size_t			 i;

	for (i = 0; (sb = policy_sandbox_at(p, i)) != NULL; i++)
		if (sandbox_uses_policy(sb, name))
			json_array_append_new(a, json_string(sandbox_id(sb)));
	return a;
}

/* GET /api/v1/policies */
static void
route_policies(struct admin *ad, struct ahttp_req *req,
    const struct route_ctx *rc)
{
	struct policy	*p = daemon_policy(ad->ad_d);
	json_t		*a = json_array();
	const char	*name;
	bool		 api;
	size_t		 i;

	for (i = 0; (name = policy_name_at(p, i, &api)) != NULL; i++)
		json_array_append_new(a, json_pack("{s:s,s:s,s:o}", "name",
		    name, "source", api ? "api" : "config", "sandboxes",
		    policy_users(p, name)));
	policy_unref(p);
	reply_json(req, 200, a);
}

/* Whether the snapshot in force has policy <name>, and from where. */
static bool
policy_known(struct admin *ad, const char *name, bool *api)
{
	struct policy	*p = daemon_policy(ad->ad_d);
	const char	*n;
	size_t		 i;
	bool		 found = false;

	for (i = 0; !found && (n = policy_name_at(p, i, api)) != NULL; i++)
		found = strcmp(n, name) == 0;
	policy_unref(p);
	return found;
}

/* GET /api/v1/policies/{name}: the body a PUT would take. */
static void
route_get_policy(struct admin *ad, struct ahttp_req *req,
    const struct route_ctx *rc)
{
	json_t	*st, *j;
	bool	 api;

	if (!policy_known(ad, rc->rc_id, &api)) {
		reply_error(req, 404, "no policy \"%s\"", rc->rc_id);
		return;
	}
	if (api) {
		st = state_load(ad);
		j = json_incref(json_object_get(json_object_get(st,
		    "policies"), rc->rc_id));
		json_decref(st);
	} else
		j = daemon_file_policy(ad->ad_d, rc->rc_id);
	if (j == NULL) {
		reply_error(req, 500, "policy \"%s\" not found", rc->rc_id);
		return;
	}
	reply_json(req, 200, json_pack("{s:s,s:s,s:o}", "name", rc->rc_id,
	    "source", api ? "api" : "config", "policy", j));
}

/*
 * PUT /api/v1/policies/{name}: the policy schema as JSON; creates or
 * replaces (a config file's of that name is replaced while the API's
 * stands); every sandbox using it is judged again at once.
 */
static void
route_put_policy(struct admin *ad, struct ahttp_req *req,
    const struct route_ctx *rc)
{
	json_t	*b, *st, *pols;

	if ((b = body_json(req)) == NULL)
		return;
	if (!json_is_object(b)) {
		reply_error(req, 400, "a policy is an object");
		json_decref(b);
		return;
	}
	st = state_load(ad);
	if (!json_is_object(pols = json_object_get(st, "policies"))) {
		pols = json_object();
		json_object_set_new(st, "policies", pols);
	}
	json_object_set(pols, rc->rc_id, b);
	if (state_apply(ad, req, st) == 0)
		route_get_policy(ad, req, rc);
	json_decref(st);
	json_decref(b);
}

/*
 * DELETE /api/v1/policies/{name}: an API policy goes (the file's of that
 * name, if any, is back in force); one still named by a sandbox, or one
 * only the config file defines, is 409.
 */
static void
route_delete_policy(struct admin *ad, struct ahttp_req *req,
    const struct route_ctx *rc)
{
	struct policy	*p;
	json_t		*st, *users, *file;
	bool		 api, had_file;

	if (!policy_known(ad, rc->rc_id, &api)) {
		reply_error(req, 404, "no policy \"%s\"", rc->rc_id);
		return;
	}
	file = daemon_file_policy(ad->ad_d, rc->rc_id);
	had_file = file != NULL;
	json_decref(file);
	if (!api) {
		reply_error(req, 409, "policy \"%s\" is the config file's: "
		    "only policies set through the API can be deleted",
		    rc->rc_id);
		return;
	}
	p = daemon_policy(ad->ad_d);
	users = policy_users(p, rc->rc_id);
	policy_unref(p);
	if (!had_file && json_array_size(users) > 0) {
		reply_json(req, 409, json_pack("{s:s,s:o}", "error",
		    "the policy is still in use", "sandboxes", users));
		return;
	}
	json_decref(users);
	st = state_load(ad);
	json_object_del(json_object_get(st, "policies"), rc->rc_id);
	if (state_apply(ad, req, st) == 0)
		reply_json(req, 200, json_pack("{s:s,s:b}", "deleted",
		    rc->rc_id, "config_policy_back", had_file));
	json_decref(st);
}

/* Longest session: thirty days. */
#define SESSION_TTL_MAX	(30u * 24 * 3600)

/* The sandbox exists in the policy in force: else answered 404. */
static bool
sandbox_known(struct admin *ad, struct ahttp_req *req, const char *id)
{
	struct policy	*p = daemon_policy(ad->ad_d);
	bool		 known = policy_sandbox_by_id(p, id) != NULL;

	policy_unref(p);
	if (!known)
		reply_error(req, 404, "no sandbox \"%s\"", id);
	return known;
}

static void
route_get_session(struct admin *ad, struct ahttp_req *req,
    const struct route_ctx *rc)
{
	json_t	*s;

	if (!sandbox_known(ad, req, rc->rc_id))
		return;
	if ((s = daemon_session_get(ad->ad_d, rc->rc_id)) == NULL)
		reply_error(req, 404, "sandbox \"%s\" has no session",
		    rc->rc_id);
	else
		reply_json(req, 200, s);
}

/*
 * PUT .../session: the network shape (mode, egress) and ttl_s; one more
 * policy judging the sandbox until it expires (docs/admin.md).
 */
static void
route_put_session(struct admin *ad, struct ahttp_req *req,
    const struct route_ctx *rc)
{
	static const char *const keys[] = { "mode", "egress", "ttl_s", NULL };
	json_t		*b, *pol, *eg, *ttl;
	struct errlist	 el;

	if (!sandbox_known(ad, req, rc->rc_id) ||
	    (b = body_json(req)) == NULL)
		return;
	pol = json_object();
	ttl = json_object_get(b, "ttl_s");
	if (!only_keys(req, b, keys, "the session"))
		goto out;
	if (!json_is_integer(ttl) || json_integer_value(ttl) < 1 ||
	    json_integer_value(ttl) > SESSION_TTL_MAX) {
		reply_error(req, 400, "ttl_s must be a number of seconds, 1 "
		    "to %u", SESSION_TTL_MAX);
		goto out;
	}
	if (!network_scalars(req, b, pol) || ((eg = json_object_get(b,
	    "egress")) != NULL && !network_egress(req, eg, pol)))
		goto out;
	errlist_init(&el);
	if (daemon_session_set(ad->ad_d, rc->rc_id, pol, b,
	    (unsigned)json_integer_value(ttl), &el) == -1)
		reply_errlist(req, 400, "invalid session", &el);
	else
		reply_json(req, 200, daemon_session_get(ad->ad_d, rc->rc_id));
	errlist_free(&el);
out:
	json_decref(pol);
	json_decref(b);
}

static void
route_delete_session(struct admin *ad, struct ahttp_req *req,
    const struct route_ctx *rc)
{
	struct errlist	 el;
	json_t		*s;

	if (!sandbox_known(ad, req, rc->rc_id))
		return;
	errlist_init(&el);
	if ((s = daemon_session_get(ad->ad_d, rc->rc_id)) == NULL)
		reply_error(req, 404, "sandbox \"%s\" has no session",
		    rc->rc_id);
	else if (daemon_session_clear(ad->ad_d, rc->rc_id, &el) == -1)
		reply_errlist(req, 400, "cannot clear the session", &el);
	else
		reply_json(req, 200, json_pack("{s:s,s:s}", "id", rc->rc_id,
		    "session", "cleared"));
	json_decref(s);
	errlist_free(&el);
}

/*
 * DELETE /api/v1/sandboxes/{id}: a sandbox made through the API goes
 * (its live connections end revoked); a config file's loses what the API
 * laid over it.
 */
static void
route_delete_sandbox(struct admin *ad, struct ahttp_req *req,
    const struct route_ctx *rc)
{
	struct policy		*p;
	bool			 gone;
	json_t			*st;

	if (!sandbox_known(ad, req, rc->rc_id))
		return;
	st = state_load(ad);
	state_json_remove(st, rc->rc_id);
	if (state_apply(ad, req, st) == 0) {
		p = daemon_policy(ad->ad_d);
		gone = policy_sandbox_by_id(p, rc->rc_id) == NULL;
		policy_unref(p);
		/* A sandbox the config file still has keeps its token. */
		if (gone)
			daemon_phantom_drop(ad->ad_d, rc->rc_id);
		reply_json(req, 200, json_pack("{s:s,s:s}", "id", rc->rc_id,
		    "deleted", gone ? "sandbox" : "api-changes"));
	}
	json_decref(st);
}

static void
route_put_network(struct admin *ad, struct ahttp_req *req,
    const struct route_ctx *rc)
{
	const char	*id = rc->rc_id;
	json_t		*b, *st, *e, *eg;

	if ((b = body_json(req)) == NULL)
		return;
	if (!network_body_ok(ad, req, b, id)) {
		json_decref(b);
		return;
	}
	st = state_load(ad);
	e = state_json_entry(st, id, true);
	json_object_del(e, "allow");
	json_object_del(e, "deny");
	if (network_scalars(req, b, e) &&
	    ((eg = json_object_get(b, "egress")) == NULL ||
	    network_egress(req, eg, e)) && state_apply(ad, req, st) == 0)
		reply_network(ad, req, id);
	json_decref(st);
	json_decref(b);
}

/* POST .../egress/{allow,deny,unallow,undeny,enable,disable} */
static void
route_egress(struct admin *ad, struct ahttp_req *req,
    const struct route_ctx *rc)
{
	static const char *const keys[] = { "hosts", NULL };
	const char		*id = rc->rc_id, *verb = rc->rc_verb;
	struct policy		*p = daemon_policy(ad->ad_d);
	const struct sandbox	*sb = policy_sandbox_by_id(p, id);
	json_t			*b = NULL, *st = NULL, *e, *hosts, *h;
	struct hostpat		 hp;
	const char		*why;
	size_t			 i;
	bool			 on;

	if (sb == NULL) {
		reply_error(req, 404, "no sandbox \"%s\"", id);
		goto out;
	}
	st = state_load(ad);
	if ((on = strcmp(verb, "enable") == 0) || strcmp(verb, "disable") == 0) {
		if (!no_body(req))
			goto out;
		e = state_json_entry(st, id, true);
		json_object_set_new(e, "intercept", json_boolean(on));
		if (state_apply(ad, req, st) == 0)
			reply_network(ad, req, id);
		goto out;
	}
	if ((b = body_json(req)) == NULL)
		goto out;
	if (!only_keys(req, b, keys, "the body"))
		goto out;
	hosts = json_object_get(b, "hosts");
	if (hosts == NULL || !string_list(req, hosts, "hosts", false) ||
	    json_array_size(hosts) == 0) {
		if (hosts == NULL || json_is_array(hosts))
			reply_error(req, 400, "hosts: a non-empty list of host "
			    "names is required");
		goto out;
	}
	/* Same words as the config file's validation. */
	json_array_foreach(hosts, i, h)
		if (hostpat_parse(json_string_value(h), &hp, &why) == -1) {
			reply_error(req, 400, "hosts: \"%s\": %s",
			    json_string_value(h), why);
			goto out;
		}
	e = state_entry_seeded(st, sb);
	json_array_foreach(hosts, i, h) {
		if (strcmp(verb, "allow") == 0) {
			state_json_list_remove(state_json_list(e, "deny", "hosts"), h);
			state_json_list_remove(state_json_list(e, "allow", "hosts"), h);
			json_array_append(state_json_list(e, "allow", "hosts"), h);
		} else if (strcmp(verb, "deny") == 0) {
			state_json_list_remove(state_json_list(e, "allow", "hosts"), h);
			state_json_list_remove(state_json_list(e, "deny", "hosts"), h);
			json_array_append(state_json_list(e, "deny", "hosts"), h);
		} else if (strcmp(verb, "undeny") == 0)
			state_json_list_remove(state_json_list(e, "deny", "hosts"), h);
		else
			state_json_list_remove(state_json_list(e, "allow", "hosts"), h);
	}
	if (state_apply(ad, req, st) == 0)
		reply_network(ad, req, id);
out:
	json_decref(b);
	json_decref(st);
	policy_unref(p);
}

struct events_acc {
	struct evbuffer	*ea_b;
	size_t		 ea_n;
};

static void
events_cb(void *arg, const char *line, size_t len)
{
	struct events_acc	*ea = arg;

	if (ea->ea_n++ > 0)
		evbuffer_add(ea->ea_b, ",", 1);
	evbuffer_add(ea->ea_b, "\n", 1);
	evbuffer_add(ea->ea_b, line, len);
}

static void
route_events(struct admin *ad, struct ahttp_req *req,
    const struct route_ctx *rc)
{
	const char		*id = rc->rc_id;
	struct evkeyvalq	 q;
	const char		*ls, *action;
	struct events_acc	 ea;
	struct policy		*p;
	unsigned long		 limit = ADMIN_EVENTS_DEFAULT;
	char			*ep;

	TAILQ_INIT(&q);
	evhttp_parse_query_str(ahttp_req_query(req) ?: "", &q);
	ls = evhttp_find_header(&q, "limit");
	action = evhttp_find_header(&q, "action");
	if (ls != NULL && (ls[0] < '0' || ls[0] > '9' ||
	    (limit = strtoul(ls, &ep, 10)) == 0 || *ep != '\0' ||
	    limit > 1000000)) {
		reply_error(req, 400, "limit must be a number from 1 to "
		    "1000000");
		goto out;
	}
	if (action != NULL && strcmp(action, "allow") != 0 &&
	    strcmp(action, "deny") != 0 && strcmp(action, "end") != 0 &&
	    strcmp(action, "error") != 0) {
		reply_error(req, 400, "action must be allow, deny, end or "
		    "error");
		goto out;
	}
	if (id != NULL) {
		p = daemon_policy(ad->ad_d);
		if (policy_sandbox_by_id(p, id) == NULL) {
			policy_unref(p);
			reply_error(req, 404, "no sandbox \"%s\"", id);
			goto out;
		}
		policy_unref(p);
	}
	ea.ea_b = evbuffer_new();
	ea.ea_n = 0;
	evbuffer_add(ea.ea_b, "[", 1);
	audit_recent(daemon_audit(ad->ad_d), id, action, limit, events_cb, &ea);
	evbuffer_add(ea.ea_b, "\n]\n", 3);
	ahttp_reply(req, 200, "application/json", ea.ea_b);
	evbuffer_free(ea.ea_b);
out:
	evhttp_clear_headers(&q);
}

/* GET /api/v1/explain: the same judgement as egressd --explain. */
static void
route_explain(struct admin *ad, struct ahttp_req *req,
    const struct route_ctx *rc)
{
	struct evkeyvalq		 q;
	const char			*sid, *host, *url, *ps, *why;
	struct policy			*p = daemon_policy(ad->ad_d);
	const struct sandbox		*sb;
	struct policy_explanation	 pe;
	struct policy_explain_in	 in;
	char				*ep;
	unsigned long			 port = 0;

	TAILQ_INIT(&q);
	evhttp_parse_query_str(ahttp_req_query(req) ?: "", &q);
	sid = evhttp_find_header(&q, "sandbox");
	host = evhttp_find_header(&q, "host");
	url = evhttp_find_header(&q, "url");
	ps = evhttp_find_header(&q, "port");
	if (sid == NULL || (host == NULL) == (url == NULL)) {
		reply_error(req, 400, "sandbox and one of host or url are "
		    "required");
		goto out;
	}
	if ((sb = policy_sandbox_by_id(p, sid)) == NULL) {
		reply_error(req, 404, "no sandbox \"%s\"", sid);
		goto out;
	}
	if (ps != NULL && ((port = strtoul(ps, &ep, 10)) < 1 || port > 65535 ||
	    *ep != '\0')) {
		reply_error(req, 400, "port must be 1-65535");
		goto out;
	}
	in.pi_target = host != NULL ? host : url;
	in.pi_port = (unsigned)port;
	in.pi_method = evhttp_find_header(&q, "method");
	in.pi_dst = evhttp_find_header(&q, "dst");
	in.pi_dns_dest = daemon_config(ad->ad_d)->cf_px.pc_dns_destination;
	if (policy_explain(sb, &in, &pe, &why) == -1) {
		reply_error(req, 400, "%s \"%s\": %s", host != NULL ? "host" :
		    "url", in.pi_target, why);
		goto out;
	}
	reply_json(req, 200, json_pack("{s:s,s:s,s:i,s:s,s:s?,s:s?,s:s?,"
	    "s:s,s:s,s:s?,s:s?,s:s?}",
	    "sandbox", sid, "host", pe.pe_host, "port", (int)pe.pe_port,
	    "proto", policy_proto_str(pe.pe_proto),
	    "method", pe.pe_method[0] != '\0' ? pe.pe_method : NULL,
	    "path", pe.pe_path[0] != '\0' ? pe.pe_path : NULL,
	    "dst", pe.pe_dst[0] != '\0' ? pe.pe_dst : NULL,
	    "action", policy_action_str(pe.pe_d.pd_action), "reason",
	    policy_reason_str(pe.pe_d.pd_reason), "policy", pe.pe_d.pd_policy,
	    "rule", pe.pe_d.pd_rule, "note", pe.pe_note));
out:
	evhttp_clear_headers(&q);
	policy_unref(p);
}

static void
route_stats(struct admin *ad, struct ahttp_req *req,
    const struct route_ctx *rc)
{
	reply_json(req, 200, metrics_stats(ad->ad_d));
}

static void
route_reload(struct admin *ad, struct ahttp_req *req,
    const struct route_ctx *rc)
{
	struct errlist		el;
	struct proxy_stats	ps;
	const char		*keys[DAEMON_RESTART_KEYS_MAX];
	size_t			 i, nkeys;
	json_t			*w;

	if (!no_body(req))
		return;
	errlist_init(&el);
	if (daemon_reload(ad->ad_d, &el, keys, &nkeys) == -1)
		reply_errlist(req, 400, "config rejected", &el);
	else {
		/* The policy is in force; these wait for a restart. */
		w = json_array();
		for (i = 0; i < nkeys; i++)
			json_array_append_new(w, json_pack("{s:s,s:s}", "key",
			    keys[i], "message", "changed; it applies after a "
			    "restart"));
		proxy_stats(daemon_proxy(ad->ad_d), &ps);
		reply_json(req, 200, json_pack("{s:b,s:i,s:o}", "reloaded", 1,
		    "generation", (int)ps.ps_generation, "warnings", w));
	}
	errlist_free(&el);
}

/*
 * The admin listeners' own counters (docs/admin.md, "Limits"): label
 * "tcp" sums every admin.listen address.
 */
static void
metrics_admin(struct admin *ad, struct evbuffer *b)
{
	static const char *const names[2] = { "unix", "tcp" };
	struct ahttp_stats	 st[2], one;
	bool			 have[2] = { false, false };
	size_t			 k;
	unsigned		 i;

	memset(st, 0, sizeof(st));
	if (ad->ad_unix.ae_http != NULL) {
		ahttp_get_stats(ad->ad_unix.ae_http, &st[0]);
		have[0] = true;
	}
	for (k = 0; k < ad->ad_ntcp; k++) {
		if (ad->ad_tcp[k].ae_http == NULL)
			continue;
		ahttp_get_stats(ad->ad_tcp[k].ae_http, &one);
		st[1].as_open += one.as_open;
		st[1].as_refused_limit += one.as_refused_limit;
		st[1].as_refused_source += one.as_refused_source;
		st[1].as_accept_pauses += one.as_accept_pauses;
		have[1] = true;
	}
	evbuffer_add_printf(b,
	    "# HELP egressd_admin_connections Admin API connections open "
	    "now, by listener.\n"
	    "# TYPE egressd_admin_connections gauge\n");
	for (i = 0; i < 2; i++)
		if (have[i])
			evbuffer_add_printf(b, "egressd_admin_connections{"
			    "listener=\"%s\"} %u\n", names[i], st[i].as_open);
	evbuffer_add_printf(b,
	    "# HELP egressd_admin_connections_refused_total Admin API "
	    "connections closed as soon as accepted, by listener and the cap "
	    "they were over.\n"
	    "# TYPE egressd_admin_connections_refused_total counter\n");
	for (i = 0; i < 2; i++)
		if (have[i])
			evbuffer_add_printf(b, "egressd_admin_connections_refused"
			    "_total{listener=\"%s\",reason=\"limit\"} %llu\n"
			    "egressd_admin_connections_refused_total{listener="
			    "\"%s\",reason=\"per-source\"} %llu\n", names[i],
			    (unsigned long long)st[i].as_refused_limit,
			    names[i],
			    (unsigned long long)st[i].as_refused_source);
	evbuffer_add_printf(b,
	    "# HELP egressd_admin_accept_pauses_total Times an admin "
	    "listener paused accepting because accept() failed (out of "
	    "descriptors).\n"
	    "# TYPE egressd_admin_accept_pauses_total counter\n");
	for (i = 0; i < 2; i++)
		if (have[i])
			evbuffer_add_printf(b, "egressd_admin_accept_pauses_total{"
			    "listener=\"%s\"} %llu\n", names[i],
			    (unsigned long long)st[i].as_accept_pauses);
}

static void
route_metrics(struct admin *ad, struct ahttp_req *req,
    const struct route_ctx *rc)
{
	struct evbuffer	*b = evbuffer_new();

	if (b == NULL) {
		reply_error(req, 503, "out of memory");
		return;
	}
	metrics_prometheus(ad->ad_d, b);
	metrics_admin(ad, b);
	ahttp_reply(req, 200, "text/plain; version=0.0.4; charset=utf-8", b);
	evbuffer_free(b);
}

/* ------------------------------------------------------------ dispatch */

static bool
token_ok(struct admin *ad, struct ahttp_req *req)
{
	const char	*h = ahttp_req_header(req, "Authorization");
	size_t		 n;

	if (ad->ad_token == NULL || h == NULL || strncmp(h, "Bearer ", 7) != 0)
		return false;
	h += 7;
	n = strlen(ad->ad_token);
	/* Constant time in the token's content, whatever was sent. */
	return strlen(h) == n && CRYPTO_memcmp(h, ad->ad_token, n) == 0;
}

/* Splits "/a/b/c" into at most <max> segments (in place, in <buf>). */
static size_t
split_path(char *buf, char **seg, size_t max)
{
	size_t	 n = 0;
	char	*p, *save = NULL;

	for (p = strtok_r(buf, "/", &save); p != NULL && n < max;
	    p = strtok_r(NULL, "/", &save))
		seg[n++] = p;
	return p != NULL ? max + 1 : n;
}

static void
route_healthz(struct admin *ad, struct ahttp_req *req,
    const struct route_ctx *rc)
{
	reply_text(req, "text/plain", "ok\n", 3);
}

static void
route_get_network(struct admin *ad, struct ahttp_req *req,
    const struct route_ctx *rc)
{
	reply_network(ad, req, rc->rc_id);
}

/* GET /api/v1/self-test: the probes of egressd --self-test, from here. */
static void
route_selftest(struct admin *ad, struct ahttp_req *req,
    const struct route_ctx *rc)
{
	struct selftest_result	 r[SELFTEST_PROBES];
	json_t			*probes = json_array();
	int			 failed, i;

	failed = daemon_selftest(ad->ad_d, r);
	for (i = 0; i < SELFTEST_PROBES; i++)
		json_array_append_new(probes, json_pack("{s:s,s:b,s:s}", "name",
		    r[i].sr_name, "ok", r[i].sr_ok, "detail", r[i].sr_why));
	reply_json(req, 200, json_pack("{s:b,s:o}", "ok", failed == 0,
	    "probes", probes));
}

/* The allow rules learn mode would have needed (docs/admin.md). */
static void
route_suggest(struct admin *ad, struct ahttp_req *req,
    const struct route_ctx *rc)
{
	if (sandbox_known(ad, req, rc->rc_id))
		reply_json(req, 200, suggest_build(daemon_audit(ad->ad_d),
		    rc->rc_id));
}

/*
 * GET .../phantom, POST .../phantom/rotate (docs/interception.md): the
 * sandbox's phantom token, made on first use.  Never logged.
 */
static void
route_phantom(struct admin *ad, struct ahttp_req *req,
    const struct route_ctx *rc)
{
	struct errlist	el;
	char		hex[PHANTOM_HEX + 1];

	if (!sandbox_known(ad, req, rc->rc_id) ||
	    (rc->rc_verb != NULL && !no_body(req)))
		return;
	errlist_init(&el);
	if (daemon_phantom(ad->ad_d, rc->rc_id, rc->rc_verb != NULL, hex,
	    &el) == -1)
		reply_errlist(req, 500, "cannot make a token", &el);
	else {
		ahttp_add_header(req, "Cache-Control", "no-store");
		reply_json(req, 200, json_pack("{s:s}", "token", hex));
	}
	OPENSSL_cleanse(hex, sizeof(hex));
	errlist_free(&el);
}

/* GET /api/v1/ca.pem: what the sandboxes' trust stores must hold. */
static void
route_ca_pem(struct admin *ad, struct ahttp_req *req,
    const struct route_ctx *rc)
{
	const char	*pem;
	size_t		 len;

	if ((pem = daemon_ca_pem(ad->ad_d, &len)) == NULL)
		reply_error(req, 404, "no CA: tls_intercept is not configured");
	else
		reply_text(req, "application/x-pem-file", pem, len);
}

typedef void route_fn(struct admin *, struct ahttp_req *,
    const struct route_ctx *);

/*
 * Every route (docs/admin.md): method, path pattern ("*" is one segment,
 * the sandbox id), handler, and the verb it serves.  A path that matches
 * with another method is 405, one that matches nothing 404.
 */
static const struct route {
	const char	*r_method;
	const char	*r_path;
	route_fn	*r_fn;
	const char	*r_verb;
} routes[] = {
	{ "GET", "/healthz", route_healthz, NULL },
	{ "GET", "/metrics", route_metrics, NULL },
	{ "GET", "/api/v1/sandboxes", route_sandboxes, NULL },
	{ "GET", "/api/v1/events", route_events, NULL },
	{ "GET", "/api/v1/explain", route_explain, NULL },
	{ "GET", "/api/v1/stats", route_stats, NULL },
	{ "GET", "/api/v1/self-test", route_selftest, NULL },
	{ "GET", "/api/v1/ca.pem", route_ca_pem, NULL },
	{ "POST", "/api/v1/reload", route_reload, NULL },
	{ "GET", "/api/v1/policies", route_policies, NULL },
	{ "GET", "/api/v1/policies/*", route_get_policy, NULL },
	{ "PUT", "/api/v1/policies/*", route_put_policy, NULL },
	{ "DELETE", "/api/v1/policies/*", route_delete_policy, NULL },
	{ "DELETE", "/api/v1/sandboxes/*", route_delete_sandbox, NULL },
	{ "GET", "/api/v1/sandboxes/*/session", route_get_session, NULL },
	{ "PUT", "/api/v1/sandboxes/*/session", route_put_session, NULL },
	{ "DELETE", "/api/v1/sandboxes/*/session", route_delete_session,
	    NULL },
	{ "GET", "/api/v1/sandboxes/*/network", route_get_network, NULL },
	{ "PUT", "/api/v1/sandboxes/*/network", route_put_network, NULL },
	{ "GET", "/api/v1/sandboxes/*/egress/events", route_events, NULL },
	{ "GET", "/api/v1/sandboxes/*/suggest", route_suggest, NULL },
	{ "GET", "/api/v1/sandboxes/*/phantom", route_phantom, NULL },
	{ "POST", "/api/v1/sandboxes/*/phantom/rotate", route_phantom,
	    "rotate" },
	{ "POST", "/api/v1/sandboxes/*/egress/allow", route_egress, "allow" },
	{ "POST", "/api/v1/sandboxes/*/egress/deny", route_egress, "deny" },
	{ "POST", "/api/v1/sandboxes/*/egress/unallow", route_egress,
	    "unallow" },
	{ "POST", "/api/v1/sandboxes/*/egress/undeny", route_egress,
	    "undeny" },
	{ "POST", "/api/v1/sandboxes/*/egress/enable", route_egress,
	    "enable" },
	{ "POST", "/api/v1/sandboxes/*/egress/disable", route_egress,
	    "disable" },
};

/* Whether the <n> segments fit <pattern>; the "*" segment goes to <id>. */
static bool
route_match(const char *pattern, char *const *seg, size_t n, const char **id)
{
	const char	*p = pattern, *e;
	size_t		 i, len;

	*id = NULL;
	for (i = 0; *p == '/'; i++) {
		p++;
		e = strchrnul(p, '/');
		len = (size_t)(e - p);
		if (i >= n)
			return false;
		if (len == 1 && *p == '*')
			*id = seg[i];
		else if (strlen(seg[i]) != len || strncmp(seg[i], p, len) != 0)
			return false;
		p = e;
	}
	return i == n;
}

/* Routes the decoded path's segments; answers 404 or 405 itself. */
static void
admin_route(struct admin *ad, struct ahttp_req *req, char *const *seg,
    size_t n)
{
	const char		*m = ahttp_req_method(req);
	struct route_ctx	 rc;
	bool			 other_method = false;
	size_t			 i;

	for (i = 0; i < nitems(routes); i++) {
		if (!route_match(routes[i].r_path, seg, n, &rc.rc_id))
			continue;
		if (strcmp(routes[i].r_method, m) != 0) {
			other_method = true;
			continue;
		}
		rc.rc_verb = routes[i].r_verb;
		routes[i].r_fn(ad, req, &rc);
		return;
	}
	if (other_method)
		reply_error(req, 405, "method not allowed on %s",
		    ahttp_req_path(req));
	else
		reply_error(req, 404, "no such route: %s",
		    ahttp_req_path(req));
}

static void
admin_request_cb(struct ahttp_req *req, void *arg)
{
	struct admin_ep		*ep = arg;
	struct admin		*ad = ep->ae_admin;
	char			*raw, *seg[8], *dec[8];
	size_t			 n, i, ok = 0;

	if (ep->ae_token && !token_ok(ad, req)) {
		ahttp_add_header(req, "WWW-Authenticate", "Bearer");
		reply_error(req, 401, "missing or invalid token");
		return;
	}
	/*
	 * Split first, then decode each segment: an encoded "/" in an id
	 * (agent-1%2Fsession) must not become another route.
	 */
	if ((raw = strdup(ahttp_req_path(req))) == NULL) {
		reply_error(req, 503, "out of memory");
		return;
	}
	if ((n = split_path(raw, seg, nitems(seg))) > nitems(seg)) {
		reply_error(req, 404, "no such route: %s", ahttp_req_path(req));
		free(raw);
		return;
	}
	for (i = 0; i < n; i++, ok++)
		if ((dec[i] = evhttp_uridecode(seg[i], 0, NULL)) == NULL)
			break;
	if (ok < n)
		reply_error(req, 400, "bad path");
	else
		admin_route(ad, req, dec, n);
	for (i = 0; i < ok; i++)
		free(dec[i]);
	free(raw);
}

/* ------------------------------------------------------------ set-up */

static int
set_err(char **err, const char *what, const char *arg)
{
	if (asprintf(err, "%s %s: %s", what, arg, strerror(errno)) < 0)
		*err = NULL;
	return -1;
}

/*
 * Binds <sun> in a fresh private (0700) directory next to <path>, gives
 * the socket mode 0660 there and renames it into place: at <path> the
 * socket never exists with another mode, whatever the umask, and without
 * touching the process-wide umask while other threads create files.  A
 * stale socket at <path> is replaced by the rename.  Returns the
 * listening socket or -1 (errno set).
 */
static int
unix_bind_private(const char *path, struct sockaddr_un *sun)
{
	char	 dir[sizeof(sun->sun_path)], *slash;
	int	 fd, e;

	slash = strrchr(path, '/');
	if ((size_t)snprintf(dir, sizeof(dir), "%.*s/.egressd-XXXXXX",
	    slash == NULL ? 1 : slash == path ? 0 : (int)(slash - path),
	    slash == NULL ? "." : path) >= sizeof(dir) - 2 ||
	    strlen(dir) + 2 >= sizeof(sun->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (mkdtemp(dir) == NULL)
		return -1;
	/* Fits: checked above. */
	memcpy(sun->sun_path, dir, strlen(dir));
	memcpy(sun->sun_path + strlen(dir), "/s", 3);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1 || bind(fd, (struct sockaddr *)sun, sizeof(*sun)) == -1 ||
	    chmod(sun->sun_path, 0660) == -1 || listen(fd, 64) == -1 ||
	    rename(sun->sun_path, path) == -1) {
		e = errno;
		if (fd != -1)
			close(fd);
		unlink(sun->sun_path);
		rmdir(dir);
		errno = e;
		return -1;
	}
	rmdir(dir);
	return fd;
}

/* A socket file left by a dead egressd is replaced; a live one is not. */
static int
unix_listen(const char *path, char **err)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	int			 fd, probe;
	char			*dir, *slash;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		if (asprintf(err, "admin.socket %s: path too long", path) < 0)
			*err = NULL;
		return -1;
	}
	strcpy(sun.sun_path, path);
	if ((dir = strdup(path)) != NULL && (slash = strrchr(dir, '/')) !=
	    NULL && slash != dir) {
		*slash = '\0';
		(void)mkdir(dir, 0755);
	}
	free(dir);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			if (asprintf(err, "admin.socket %s exists and is not a "
			    "socket", path) < 0)
				*err = NULL;
			return -1;
		}
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe != -1 && connect(probe, (struct sockaddr *)&sun,
		    sizeof(sun)) == 0) {
			close(probe);
			if (asprintf(err, "admin.socket %s: another egressd is "
			    "listening there", path) < 0)
				*err = NULL;
			return -1;
		}
		if (probe != -1)
			close(probe);
	}
	if ((fd = unix_bind_private(path, &sun)) != -1)
		return fd;
	if (errno != ENAMETOOLONG)
		return set_err(err, "admin.socket", path);
	/*
	 * No room for the private directory's name in sun_path: bind in
	 * place.  A socket's own mode, set before bind, is the most the file
	 * gets (less what the umask takes), so it is never wider than 0660;
	 * chmod then adds back what the umask took.
	 */
	unlink(path);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1 || fchmod(fd, 0660) == -1 || bind(fd,
	    (struct sockaddr *)&sun, sizeof(sun)) == -1 || chmod(path, 0660) ==
	    -1 || listen(fd, 64) == -1) {
		set_err(err, "admin.socket", path);
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

static int
tcp_listen(const struct listen_addr *la, char **err)
{
	int	fd, on = 1;

	if ((fd = socket(la->la_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1 || setsockopt(fd, SOL_SOCKET,
	    SO_REUSEADDR, &on, sizeof(on)) == -1 || bind(fd,
	    (const struct sockaddr *)&la->la_addr, la->la_len) == -1 ||
	    listen(fd, 128) == -1) {
		set_err(err, "admin.listen", la->la_text);
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

char *
admin_read_token(const char *path, char **err)
{
	char	*buf;
	size_t	 n;

	if ((buf = file_read(path, &n)) == NULL) {
		if (asprintf(err, "admin.token_file %s: %s", path,
		    strerror(errno)) < 0)
			*err = NULL;
		return NULL;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
	    buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		buf[--n] = '\0';
	if (n < 16) {
		if (asprintf(err, "admin.token_file %s: the token must be at "
		    "least 16 characters", path) < 0)
			*err = NULL;
		OPENSSL_cleanse(buf, n);
		free(buf);
		return NULL;
	}
	return buf;
}

struct admin *
admin_new(struct daemon *d, struct event_base *base, char **err)
{
	const struct config	*cf = daemon_config(d);
	struct admin		*ad;
	struct ahttp_limits	 lim;
	size_t			 i;
	int			 fd;

	*err = NULL;
	if ((ad = calloc(1, sizeof(*ad))) == NULL)
		return NULL;
	ad->ad_d = d;
	lim.al_max_conns = ADMIN_MAX_CONNS;
	lim.al_max_per_source = 0;
	lim.al_timeout_s = ADMIN_TIMEOUT_S;
	lim.al_head_max = ADMIN_HEAD_MAX;
	lim.al_body_max = ADMIN_BODY_MAX;
	if (cf->cf_admin_socket != NULL) {
		ad->ad_unix.ae_admin = ad;
		ad->ad_unix.ae_token = false;
		if ((fd = unix_listen(cf->cf_admin_socket, err)) == -1)
			goto fail;
		ad->ad_sock_path = strdup(cf->cf_admin_socket);
		if ((ad->ad_unix.ae_http = ahttp_new(base, fd, &lim,
		    admin_request_cb, &ad->ad_unix, "admin.socket")) == NULL)
			goto fail;
	}
	if (cf->cf_admin_nlisten > 0) {
		lim.al_max_per_source = ADMIN_MAX_PER_SOURCE;
		if ((ad->ad_token = admin_read_token(cf->cf_admin_token_file,
		    err)) == NULL || (ad->ad_tcp = calloc(cf->cf_admin_nlisten,
		    sizeof(*ad->ad_tcp))) == NULL)
			goto fail;
	}
	/* Every address listed is served, each with its own caps. */
	for (i = 0; i < cf->cf_admin_nlisten; i++) {
		ad->ad_tcp[i].ae_admin = ad;
		ad->ad_tcp[i].ae_token = true;
		if ((fd = tcp_listen(&cf->cf_admin_listen[i], err)) == -1)
			goto fail;
		ad->ad_ntcp++;
		if ((ad->ad_tcp[i].ae_http = ahttp_new(base, fd, &lim,
		    admin_request_cb, &ad->ad_tcp[i], "admin.listen")) == NULL)
			goto fail;
	}
	return ad;
fail:
	admin_free(ad);
	return NULL;
}

void
admin_free(struct admin *ad)
{
	size_t	i;

	if (ad == NULL)
		return;
	ahttp_free(ad->ad_unix.ae_http);
	for (i = 0; i < ad->ad_ntcp; i++)
		ahttp_free(ad->ad_tcp[i].ae_http);
	free(ad->ad_tcp);
	if (ad->ad_sock_path != NULL)
		unlink(ad->ad_sock_path);
	free(ad->ad_sock_path);
	if (ad->ad_token != NULL)
		OPENSSL_cleanse(ad->ad_token, strlen(ad->ad_token));
	free(ad->ad_token);
	free(ad);
}
