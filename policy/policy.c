#include "policy/policy.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cidr.h"
#include "common/secret.h"
#include "common/strhash.h"
#include "policy/hostname.h"
#include "policy/policy_int.h"

const char *
policy_reason_str(enum policy_reason r)
{
	switch (r) {
	case REASON_NONE:
		return NULL;
	case REASON_RULE:
		return "rule";
	case REASON_INTERCEPT_OFF:
		return "intercept-off";
	case REASON_NO_MATCHING_ALLOW:
		return "no-matching-allow";
	case REASON_DENIED_BY_RULE:
		return "denied-by-rule";
	case REASON_PORT_NOT_ALLOWED:
		return "port-not-allowed";
	case REASON_PROTOCOL_NOT_ALLOWED:
		return "protocol-not-allowed";
	case REASON_DESTINATION_MISMATCH:
		return "destination-mismatch";
	case REASON_PRIVATE_DESTINATION:
		return "private-destination";
	case REASON_UNKNOWN_SANDBOX:
		return "unknown-sandbox";
	case REASON_BAD_TLS:
		return "bad-tls";
	case REASON_BAD_HTTP:
		return "bad-http";
	case REASON_TOO_LARGE:
		return "too-large";
	case REASON_PEEK_TIMEOUT:
		return "peek-timeout";
	case REASON_LIMIT:
		return "limit";
	case REASON_CONNECT_FAILED:
		return "connect-failed";
	case REASON_DNS_FAILED:
		return "dns-failed";
	case REASON_REVOKED:
		return "revoked";
	case REASON_LOOP:
		return "loop";
	case REASON_LEARN:
		return "learn";
	case REASON_IDLE:
		return "idle-timeout";
	case REASON_UPSTREAM_CERT:
		return "upstream-cert";
	case REASON_CREDENTIAL_MISSING:
		return "credential-missing";
	}
	return "invalid";
}

const char *
policy_proto_str(enum policy_proto p)
{
	switch (p) {
	case POLICY_PROTO_TLS:
		return "tls";
	case POLICY_PROTO_HTTP:
		return "http";
	case POLICY_PROTO_OTHER:
		return "other";
	case POLICY_PROTO_HTTPS:
		return "https";
	case POLICY_PROTO_DNS:
		return "dns";
	}
	return "invalid";
}

const char *
policy_action_str(enum policy_action a)
{
	switch (a) {
	case POLICY_ALLOW:
		return "allow";
	case POLICY_DENY:
		return "deny";
	}
	return "invalid";
}

const char *
policy_dest_str(enum policy_dest d)
{
	switch (d) {
	case DEST_DEFAULT:
		return "default";
	case DEST_VERIFY:
		return "verify";
	case DEST_REDIAL:
		return "redial";
	case DEST_TRUST:
		return "trust";
	}
	return "invalid";
}

struct policy *
policy_new(void)
{
	struct policy	*p;

	if ((p = calloc(1, sizeof(*p))) != NULL)
		atomic_init(&p->p_refs, 1);
	return p;
}

struct pol *
pol_new(const char *name)
{
	struct pol	*po;

	if ((po = calloc(1, sizeof(*po))) == NULL)
		return NULL;
	po->po_name = strdup(name);
	po->po_mode = MODE_BLOCK_ALL;
	po->po_protocols = POLICY_PROTO_ALL;
	po->po_allow.rs_hosts = hostset_new();
	po->po_deny.rs_hosts = hostset_new();
	po->po_allow.rs_cidrs = cidrset_new();
	po->po_deny.rs_cidrs = cidrset_new();
	if (po->po_name == NULL || po->po_allow.rs_hosts == NULL ||
	    po->po_deny.rs_hosts == NULL || po->po_allow.rs_cidrs == NULL ||
	    po->po_deny.rs_cidrs == NULL) {
		pol_free(po);
		return NULL;
	}
	return po;
}

static void
rule_set_free(struct rule_set *rs)
{
	size_t	i;

	hostset_free(rs->rs_hosts);
	cidrset_free(rs->rs_cidrs);
	for (i = 0; i < rs->rs_nports; i++)
		free(rs->rs_ports[i].pr_text);
	free(rs->rs_ports);
}

void
pol_free(struct pol *po)
{
	size_t	i, j;

	if (po == NULL)
		return;
	for (i = 0; i < po->po_nendpoints; i++) {
		struct endpoint *ep = &po->po_endpoints[i];

		hostset_free(ep->ep_hosts);
		for (j = 0; j < ep->ep_nmethods; j++)
			free(ep->ep_methods[j]);
		for (j = 0; j < ep->ep_npaths; j++)
			free(ep->ep_paths[j]);
		free(ep->ep_methods);
		free(ep->ep_paths);
		free(ep->ep_text);
	}
	free(po->po_endpoints);
	hostset_free(po->po_intercept);
	for (i = 0; i < po->po_ncreds; i++) {
		struct credential *cr = &po->po_creds[i];

		hostset_free(cr->cr_hosts);
		free(cr->cr_header);
		free(cr->cr_path);
		free(cr->cr_file);
		free(cr->cr_text);
		secret_free(cr->cr_secret);
	}
	free(po->po_creds);
	free(po->po_name);
	free(po->po_profiles);
	rule_set_free(&po->po_allow);
	rule_set_free(&po->po_deny);
	free(po);
}

void
profile_free(struct profile *pf)
{
	if (pf == NULL)
		return;
	free(pf->pf_name);
	hostset_free(pf->pf_hosts);
	cidrset_free(pf->pf_cidrs);
	free(pf);
}

void
sandbox_free(struct sandbox *sb)
{
	if (sb == NULL)
		return;
	free(sb->sb_id);
	free(sb->sb_sources);
	free(sb->sb_pols);
	pol_free(sb->sb_inline);
	free(sb->sb_inline_name);
	pol_free(sb->sb_session);
	free(sb);
}

struct policy *
policy_ref(struct policy *p)
{
	atomic_fetch_add(&p->p_refs, 1);
	return p;
}

void
policy_unref(struct policy *p)
{
	size_t	i;

	if (p == NULL || atomic_fetch_sub(&p->p_refs, 1) != 1)
		return;
	for (i = 0; i < p->p_nsandboxes; i++)
		sandbox_free(p->p_sandboxes[i]);
	for (i = 0; i < p->p_npols; i++)
		pol_free(p->p_pols[i]);
	for (i = 0; i < p->p_nprofiles; i++)
		profile_free(p->p_profiles[i]);
	free(p->p_sandboxes);
	free(p->p_pols);
	free(p->p_profiles);
	free(p->p_byid);
	cidrset_free(p->p_bysource);
	free(p);
}

static size_t
id_slot(const struct policy *p, const char *id)
{
	size_t	i = (size_t)strhash(STRHASH_INIT, id) & (p->p_byid_cap - 1);

	while (p->p_byid[i] != NULL && strcmp(p->p_byid[i]->sb_id, id) != 0)
		i = (i + 1) & (p->p_byid_cap - 1);
	return i;
}

/* Keeps the id table at most half full. */
static int
id_grow(struct policy *p)
{
	struct sandbox	**old = p->p_byid;
	size_t		  ocap = p->p_byid_cap, i;

	if ((p->p_nsandboxes + 1) * 2 <= p->p_byid_cap)
		return 0;
	p->p_byid_cap = ocap ? ocap * 2 : 64;
	if ((p->p_byid = calloc(p->p_byid_cap, sizeof(*p->p_byid))) == NULL) {
		p->p_byid = old;
		p->p_byid_cap = ocap;
		return -1;
	}
	for (i = 0; i < ocap; i++)
		if (old[i] != NULL)
			p->p_byid[id_slot(p, old[i]->sb_id)] = old[i];
	free(old);
	return 0;
}

int
policy_index_sandbox(struct policy *p, struct sandbox *sb,
    const struct sandbox **clash, const struct cidr **src)
{
	const char	*t;
	char		 idx[24];
	size_t		 i, slot;

	*clash = NULL;
	*src = NULL;
	if (id_grow(p) == -1 || (p->p_bysource == NULL &&
	    (p->p_bysource = cidrset_new()) == NULL))
		return -1;
	if (p->p_byid[slot = id_slot(p, sb->sb_id)] != NULL) {
		*clash = p->p_byid[slot];
		return -1;
	}
	if (sb->sb_sources == NULL && p->p_anysource != NULL) {
		*clash = p->p_anysource;
		return -1;
	}
	/* All checked before any is added: its own sources may overlap. */
	for (i = 0; i < sb->sb_nsources; i++)
		if ((t = cidrset_overlap(p->p_bysource,
		    &sb->sb_sources[i])) != NULL) {
			*clash = p->p_sandboxes[strtoul(t, NULL, 10)];
			*src = &sb->sb_sources[i];
			return -1;
		}
	snprintf(idx, sizeof(idx), "%zu", p->p_nsandboxes - 1);
	for (i = 0; i < sb->sb_nsources; i++)
		if (cidrset_add(p->p_bysource, &sb->sb_sources[i], idx) == -1)
			return -1;
	if (sb->sb_sources == NULL)
		p->p_anysource = sb;
	p->p_byid[slot] = sb;
	return 0;
}

const struct sandbox *
policy_sandbox_find(const struct policy *p, const struct ipaddr *src)
{
	const char	*t;

	/* Sources never overlap, so the longest prefix is the only one. */
	if (p->p_bysource != NULL && (t = cidrset_match(p->p_bysource, src)) !=
	    NULL)
		return p->p_sandboxes[strtoul(t, NULL, 10)];
	return p->p_anysource;
}

const struct sandbox *
policy_sandbox_by_id(const struct policy *p, const char *id)
{
	if (p->p_byid_cap == 0)
		return NULL;
	return p->p_byid[id_slot(p, id)];
}

const char *
sandbox_id(const struct sandbox *sb)
{
	return sb->sb_id;
}

unsigned
sandbox_conn_add(const struct sandbox *sb)
{
	return atomic_fetch_add(&((struct sandbox *)sb)->sb_active, 1) + 1;
}

void
sandbox_conn_del(const struct sandbox *sb)
{
	atomic_fetch_sub(&((struct sandbox *)sb)->sb_active, 1);
}

static const char *
ports_match(const struct rule_set *rs, uint16_t port)
{
	size_t	i;

	for (i = 0; i < rs->rs_nports; i++)
		if (port >= rs->rs_ports[i].pr_lo &&
		    port <= rs->rs_ports[i].pr_hi)
			return rs->rs_ports[i].pr_text;
	return NULL;
}

/* A deny rule of <rs> that matches, or NULL. */
static const char *
deny_match(const struct rule_set *rs, const struct policy_query *q,
    const struct ipaddr *host_ip)
{
	const char	*r;

	/* A deny regex that cannot finish denies: deny rules fail closed. */
	if (q->pq_host != NULL && host_ip == NULL &&
	    (r = hostset_match_deny(rs->rs_hosts, q->pq_host)) != NULL)
		return r;
	if ((r = cidrset_match(rs->rs_cidrs, &q->pq_dst)) != NULL)
		return r;
	if (host_ip != NULL && (r = cidrset_match(rs->rs_cidrs, host_ip)) !=
	    NULL)
		return r;
	return ports_match(rs, q->pq_port);
}

static const char *
allow_host_match(const struct pol *po, const char *host)
{
	const char	*r;
	size_t		 i;

	if ((r = hostset_match(po->po_allow.rs_hosts, host)) != NULL)
		return r;
	for (i = 0; i < po->po_nprofiles; i++)
		if ((r = hostset_match(po->po_profiles[i]->pf_hosts, host)) !=
		    NULL)
			return r;
	return NULL;
}

static const char *
allow_cidr_match(const struct pol *po, const struct ipaddr *ia)
{
	const char	*r;
	size_t		 i;

	if ((r = cidrset_match(po->po_allow.rs_cidrs, ia)) != NULL)
		return r;
	for (i = 0; i < po->po_nprofiles; i++)
		if ((r = cidrset_match(po->po_profiles[i]->pf_cidrs, ia)) !=
		    NULL)
			return r;
	return NULL;
}

/*
 * A path a prefix rule could be fooled by: dot segments, encoded dots or
 * slashes, backslashes.  Servers resolve those after we judged the path.
 */
static bool
path_ambiguous(const char *p, size_t n)
{
	size_t	i, seg, len;
	char	a, b;

	for (i = 0; i < n; i++) {
		if (p[i] == '\\')
			return true;
		if (p[i] == '%' && i + 2 < n) {
			a = p[i + 1];
			b = (char)(p[i + 2] | 0x20);
			/* ".", "/", "\\", a second decoding ("%252e"), NUL */
			if ((a == '2' && (b == 'e' || b == 'f' || b == '5')) ||
			    (a == '5' && b == 'c') || (a == '0' && b == '0'))
				return true;
		}
	}
	for (i = 0, seg = 0; i <= n; i++) {
		if (i < n && p[i] != '/')
			continue;
		len = i - seg;
		if ((len == 1 && p[seg] == '.') ||
		    (len == 2 && p[seg] == '.' && p[seg + 1] == '.') ||
		    (len == 0 && seg > 0 && i < n))
			return true;
		seg = i + 1;
	}
	return false;
}

/* The endpoint entry text that refuses this request, or NULL. */
static const char *
endpoints_refuse(const struct pol *po, const struct policy_query *q)
{
	const struct endpoint	*ep, *governs = NULL;
	char			 path[2048];
	size_t			 i, j;
	bool			 mok, pok;

	if (q->pq_method == NULL || q->pq_host == NULL)
		return NULL;
	for (i = 0; i < po->po_nendpoints; i++) {
		ep = &po->po_endpoints[i];
		/* An entry restricts: a regex that cannot finish governs. */
		if (hostset_match_deny(ep->ep_hosts, q->pq_host) == NULL)
			continue;
		governs = ep;
		if (q->pq_path_len >= sizeof(path) ||
		    path_ambiguous(q->pq_path, q->pq_path_len))
			return ep->ep_text;
		memcpy(path, q->pq_path, q->pq_path_len);
		path[q->pq_path_len] = '\0';
		if (path[0] == '\0')
			strcpy(path, "/");
		for (mok = ep->ep_nmethods == 0, j = 0; !mok &&
		    j < ep->ep_nmethods; j++)
			mok = strcmp(ep->ep_methods[j], q->pq_method) == 0;
		for (pok = ep->ep_npaths == 0, j = 0; !pok &&
		    j < ep->ep_npaths; j++)
			pok = fnmatch(ep->ep_paths[j], path, 0) == 0;
		if (mok && pok)
			return NULL;
	}
	return governs != NULL ? governs->ep_text : NULL;
}

/* The protocols bit a query needs: a request inside intercepted TLS came
 * in as TLS. */
static unsigned
proto_bit(enum policy_proto p)
{
	return p == POLICY_PROTO_HTTPS ? POLICY_PROTO_TLS : (unsigned)p;
}

static void
decide(struct policy_decision *d, enum policy_action a, enum policy_reason r,
    const char *pname, const char *rule)
{
	d->pd_action = a;
	d->pd_reason = r;
	d->pd_policy = pname;
	d->pd_rule = rule;
}

/*
 * Steps 2-5 of docs/config.md "Decisions" for one policy <po>, with the
 * sandbox's inline rules <inl> (may be NULL or <po> itself) merged in.
 */
static void
pol_judge(const struct pol *po, const struct pol *inl,
    const struct policy_query *q, struct policy_decision *d, bool protocols)
{
	const struct pol	*pv[2] = { po, inl != po ? inl : NULL };
	struct ipaddr		 hip;
	const struct ipaddr	*host_ip = NULL;
	const char		*r = NULL, *by_host = NULL;
	bool			 ports_listed = false, port_ok = false;
	size_t			 i;

	memset(d, 0, sizeof(*d));
	if (protocols && (po->po_protocols & proto_bit(q->pq_proto)) == 0) {
		decide(d, POLICY_DENY, REASON_PROTOCOL_NOT_ALLOWED,
		    po->po_name, "protocols");
		return;
	}
	if (q->pq_host != NULL && ipaddr_parse(q->pq_host, &hip) == 0)
		host_ip = &hip;
	for (i = 0; i < 2; i++) {
		if (pv[i] != NULL &&
		    (r = deny_match(&pv[i]->po_deny, q, host_ip)) != NULL) {
			decide(d, POLICY_DENY, REASON_DENIED_BY_RULE,
			    pv[i]->po_name, r);
			return;
		}
	}
	/*
	 * An IP literal as SNI/Host is only a claim about the destination:
	 * one that names another address than the one dialled is a lie.
	 */
	if (host_ip != NULL && !ipaddr_equal(host_ip, &q->pq_dst)) {
		decide(d, POLICY_DENY, REASON_DESTINATION_MISMATCH,
		    po->po_name, NULL);
		return;
	}
	/* endpoints narrow what an allowed host may be asked over HTTP. */
	for (i = 0; i < 2; i++) {
		if (pv[i] != NULL && (r = endpoints_refuse(pv[i], q)) != NULL) {
			decide(d, POLICY_DENY, REASON_NO_MATCHING_ALLOW,
			    pv[i]->po_name, r);
			return;
		}
	}
	if (po->po_mode == MODE_ALLOW_ALL) {
		decide(d, POLICY_ALLOW, REASON_RULE, po->po_name,
		    "mode allow-all");
		return;
	}
	for (i = 0; i < 2 && r == NULL; i++) {
		if (pv[i] == NULL)
			continue;
		if (q->pq_host != NULL && host_ip == NULL &&
		    (r = allow_host_match(pv[i], q->pq_host)) != NULL)
			by_host = r;
		else
			r = allow_cidr_match(pv[i], &q->pq_dst);
		if (r != NULL)
			d->pd_policy = pv[i]->po_name;
	}
	if (r == NULL) {
		decide(d, POLICY_DENY, REASON_NO_MATCHING_ALLOW, po->po_name,
		    NULL);
		return;
	}
	for (i = 0; i < 2; i++) {
		if (pv[i] == NULL || pv[i]->po_allow.rs_nports == 0)
			continue;
		ports_listed = true;
		if (ports_match(&pv[i]->po_allow, q->pq_port) != NULL)
			port_ok = true;
	}
	if (ports_listed && !port_ok) {
		decide(d, POLICY_DENY, REASON_PORT_NOT_ALLOWED, po->po_name,
		    "allow.ports");
		return;
	}
	/*
	 * A host rule vouches for a name, not for where it points: a name
	 * resolving to loopback or the metadata service is DNS rebinding
	 * unless the operator opted in.
	 */
	if (by_host != NULL && cidr_is_private(&q->pq_dst) &&
	    !po->po_allow_private && (pv[1] == NULL ||
	    !pv[1]->po_allow_private) &&
	    allow_cidr_match(po, &q->pq_dst) == NULL &&
	    (pv[1] == NULL || allow_cidr_match(pv[1], &q->pq_dst) == NULL)) {
		decide(d, POLICY_DENY, REASON_PRIVATE_DESTINATION, po->po_name,
		    by_host);
		return;
	}
	decide(d, POLICY_ALLOW, REASON_RULE, d->pd_policy, r);
	d->pd_by_host = by_host != NULL;
	d->pd_dest = po->po_destination;
}

/* Whether <po> (with <inl>) lets a host rule lead to a private address. */
static bool
pol_private_ok(const struct pol *po, const struct pol *inl,
    const struct ipaddr *dst)
{
	return po->po_allow_private || (inl != NULL && inl != po &&
	    inl->po_allow_private) || allow_cidr_match(po, dst) != NULL ||
	    (inl != NULL && inl != po && allow_cidr_match(inl, dst) != NULL);
}

/*
 * mode learn: what block-all refuses for want of an allow (no matching
 * rule, the port, the protocol) passes with reason learn and <pd_would>
 * set; deny rules, endpoint rules and a lying IP literal still refuse.
 * What passes is checked like a host-rule allow (destination check,
 * private ranges), so a suggestion never rests on a claimed name.
 */
static void
pol_learn(const struct pol *po, const struct pol *inl,
    const struct policy_query *q, struct policy_decision *d)
{
	struct policy_decision	bd;
	struct ipaddr		hip;
	enum policy_reason	would;
	bool			proto_ok = (po->po_protocols &
				    proto_bit(q->pq_proto)) != 0;

	pol_judge(po, inl, q, &bd, false);
	if (bd.pd_action == POLICY_ALLOW && proto_ok) {
		*d = bd;
		return;
	}
	if (bd.pd_action == POLICY_ALLOW)
		would = REASON_PROTOCOL_NOT_ALLOWED;
	else if ((bd.pd_reason == REASON_NO_MATCHING_ALLOW &&
	    bd.pd_rule == NULL) || bd.pd_reason == REASON_PORT_NOT_ALLOWED)
		would = proto_ok ? bd.pd_reason : REASON_PROTOCOL_NOT_ALLOWED;
	else {
		*d = bd;	/* a rule refused: learning never overrides it */
		return;
	}
	memset(d, 0, sizeof(*d));
	if (cidr_is_private(&q->pq_dst) && !pol_private_ok(po, inl,
	    &q->pq_dst)) {
		decide(d, POLICY_DENY, REASON_PRIVATE_DESTINATION, po->po_name,
		    "mode learn");
		return;
	}
	decide(d, POLICY_ALLOW, REASON_LEARN, po->po_name, "mode learn");
	d->pd_would = would;
	d->pd_by_host = q->pq_host != NULL && ipaddr_parse(q->pq_host,
	    &hip) == -1;
	d->pd_dest = po->po_destination;
}

static void
pol_eval(const struct pol *po, const struct pol *inl,
    const struct policy_query *q, struct policy_decision *d)
{
	if (po->po_mode == MODE_LEARN)
		pol_learn(po, inl, q, d);
	else
		pol_judge(po, inl, q, d, true);
}

/*
 * Several policies allowed by host: trust only if every one trusts,
 * otherwise the most careful check any of them asks for.
 */
static enum policy_dest
dest_merge(enum policy_dest a, enum policy_dest b, bool first)
{
	if (first)
		return b;
	if (a == DEST_REDIAL || b == DEST_REDIAL)
		return DEST_REDIAL;
	if (a == DEST_VERIFY || b == DEST_VERIFY)
		return DEST_VERIFY;
	if (a == DEST_DEFAULT || b == DEST_DEFAULT)
		return DEST_DEFAULT;
	return DEST_TRUST;
}

/*
 * The policies a sandbox is judged by: each named one with the sandbox's
 * inline rules merged in, or, when it names none, its inline rules alone.
 * Every one of them must allow.
 */
static size_t
judges_base(const struct sandbox *sb)
{
	if (sb->sb_npols > 0)
		return sb->sb_npols;
	return sb->sb_inline != NULL ? 1 : 0;
}

/*
 * A session is one more judge, alone (the sandbox's inline rules are not
 * merged into it, so it can only narrow); a sandbox with nothing to judge
 * it by still refuses everything, session or not.
 */
static size_t
judges_count(const struct sandbox *sb)
{
	size_t	n = judges_base(sb);

	return n > 0 && sb->sb_session != NULL ? n + 1 : n;
}

static void
judge_at(const struct sandbox *sb, size_t i, const struct pol **po,
    const struct pol **inl)
{
	if (i == judges_base(sb)) {
		*po = sb->sb_session;
		*inl = NULL;
	} else if (sb->sb_npols > 0) {
		*po = sb->sb_pols[i];
		*inl = sb->sb_inline;
	} else {
		*po = sb->sb_inline;
		*inl = NULL;
	}
}

void
policy_eval(const struct sandbox *sb, const struct policy_query *q,
    struct policy_decision *d)
{
	struct policy_decision	 one, first;
	enum policy_dest	 dest = DEST_DEFAULT;
	const struct pol	*po, *inl;
	size_t			 i, n = judges_count(sb);
	bool			 by_host = false;

	memset(d, 0, sizeof(*d));
	if (!sb->sb_intercept) {
		decide(d, POLICY_ALLOW, REASON_INTERCEPT_OFF, NULL, NULL);
		return;
	}
	if (n == 0) {
		decide(d, POLICY_DENY, REASON_NO_MATCHING_ALLOW, NULL, NULL);
		return;
	}
	/* Every policy must allow; the first one that denies decides. */
	for (i = 0; i < n; i++) {
		judge_at(sb, i, &po, &inl);
		pol_eval(po, inl, q, &one);
		if (one.pd_action == POLICY_DENY) {
			*d = one;
			return;
		}
		if (one.pd_by_host) {
			dest = dest_merge(dest, one.pd_dest, !by_host);
			by_host = true;
		}
		/* Learning is what the event must say, whoever else allowed. */
		if (i == 0 || (one.pd_reason == REASON_LEARN &&
		    first.pd_reason != REASON_LEARN))
			first = one;
	}
	*d = first;
	d->pd_by_host = by_host;
	d->pd_dest = dest;
}

static bool
pol_name_check(const struct pol *po, const struct pol *inl, const char *name,
    struct policy_decision *d)
{
	const struct pol	*pv[2] = { po, inl != po ? inl : NULL };
	const char		*r;
	size_t			 i;

	for (i = 0; i < 2; i++)
		if (pv[i] != NULL && (r = hostset_match_deny(
		    pv[i]->po_deny.rs_hosts, name)) != NULL) {
			decide(d, POLICY_DENY, REASON_DENIED_BY_RULE,
			    pv[i]->po_name, r);
			return false;
		}
	if (po->po_mode == MODE_ALLOW_ALL) {
		decide(d, POLICY_ALLOW, REASON_RULE, po->po_name,
		    "mode allow-all");
		return true;
	}
	for (i = 0; i < 2; i++)
		if (pv[i] != NULL && (r = allow_host_match(pv[i], name)) !=
		    NULL) {
			decide(d, POLICY_ALLOW, REASON_RULE, pv[i]->po_name, r);
			return true;
		}
	if (po->po_mode == MODE_LEARN) {
		decide(d, POLICY_ALLOW, REASON_LEARN, po->po_name,
		    "mode learn");
		d->pd_would = REASON_NO_MATCHING_ALLOW;
		return true;
	}
	decide(d, POLICY_DENY, REASON_NO_MATCHING_ALLOW, po->po_name, NULL);
	return false;
}

bool
policy_name_check(const struct sandbox *sb, const char *name,
    struct policy_decision *d)
{
	struct policy_decision	 one;
	const struct pol	*po, *inl;
	size_t			 i, n = judges_count(sb);

	memset(d, 0, sizeof(*d));
	if (!sb->sb_intercept) {
		decide(d, POLICY_ALLOW, REASON_INTERCEPT_OFF, NULL, NULL);
		return true;
	}
	if (n == 0) {
		decide(d, POLICY_DENY, REASON_NO_MATCHING_ALLOW, NULL, NULL);
		return false;
	}
	for (i = 0; i < n; i++) {
		judge_at(sb, i, &po, &inl);
		if (!pol_name_check(po, inl, name, &one)) {
			*d = one;
			return false;
		}
		if (i == 0 || (one.pd_reason == REASON_LEARN &&
		    d->pd_reason != REASON_LEARN))
			*d = one;
	}
	return true;
}

/* Whether <po> (with <inl>) allows <dst> by cidr whatever the host is. */
static bool
pol_allows_early(const struct pol *po, const struct pol *inl,
    const struct ipaddr *dst, uint16_t port, const char **rule)
{
	const struct pol	*pv[2] = { po, inl != po ? inl : NULL };
	struct policy_query	 q;
	bool			 ports_listed = false, port_ok = false;
	size_t			 i;

	if (po->po_protocols != POLICY_PROTO_ALL || po->po_mode != MODE_BLOCK_ALL)
		return false;
	memset(&q, 0, sizeof(q));
	q.pq_dst = *dst;
	q.pq_port = port;
	*rule = NULL;
	for (i = 0; i < 2; i++) {
		if (pv[i] == NULL)
			continue;
		/*
		 * A deny host rule or an endpoint rule judges what the client
		 * says, so the decision has to wait until it has spoken.
		 */
		if (hostset_count(pv[i]->po_deny.rs_hosts) > 0 ||
		    pv[i]->po_nendpoints > 0 || pv[i]->po_intercept != NULL ||
		    deny_match(&pv[i]->po_deny, &q, NULL) != NULL)
			return false;
		if (*rule == NULL)
			*rule = allow_cidr_match(pv[i], dst);
		if (pv[i]->po_allow.rs_nports > 0) {
			ports_listed = true;
			if (ports_match(&pv[i]->po_allow, port) != NULL)
				port_ok = true;
		}
	}
	return *rule != NULL && (!ports_listed || port_ok);
}

bool
policy_eval_early(const struct sandbox *sb, const struct ipaddr *dst,
    uint16_t port, struct policy_decision *d)
{
	const struct pol	*po, *inl;
	const char		*rule;
	size_t			 i, n = judges_count(sb);

	memset(d, 0, sizeof(*d));
	if (!sb->sb_intercept) {
		decide(d, POLICY_ALLOW, REASON_INTERCEPT_OFF, NULL, NULL);
		return true;
	}
	if (n == 0)
		return false;
	for (i = 0; i < n; i++) {
		judge_at(sb, i, &po, &inl);
		if (!pol_allows_early(po, inl, dst, port, &rule))
			return false;
		if (i == 0)
			decide(d, POLICY_ALLOW, REASON_RULE, po->po_name, rule);
	}
	return true;
}

size_t
policy_nsandboxes(const struct policy *p)
{
	return p->p_nsandboxes;
}

const struct sandbox *
policy_sandbox_at(const struct policy *p, size_t i)
{
	return i < p->p_nsandboxes ? p->p_sandboxes[i] : NULL;
}

bool
sandbox_intercept(const struct sandbox *sb)
{
	return sb->sb_intercept;
}

bool
sandbox_from_api(const struct sandbox *sb)
{
	return sb->sb_from_api;
}

const char *
sandbox_mode(const struct sandbox *sb)
{
	/* The most restrictive mode among the policies judging it. */
	bool	learn = false;
	size_t	i;

	if (sb->sb_npols == 0) {
		if (sb->sb_inline == NULL ||
		    sb->sb_inline->po_mode == MODE_BLOCK_ALL)
			return "block-all";
		return sb->sb_inline->po_mode == MODE_LEARN ? "learn" :
		    "allow-all";
	}
	for (i = 0; i < sb->sb_npols; i++) {
		if (sb->sb_pols[i]->po_mode == MODE_BLOCK_ALL)
			return "block-all";
		learn |= sb->sb_pols[i]->po_mode == MODE_LEARN;
	}
	return learn ? "learn" : "allow-all";
}


size_t
sandbox_npolicies(const struct sandbox *sb)
{
	return sb->sb_npols;
}

const char *
sandbox_policy_name(const struct sandbox *sb, size_t i)
{
	return i < sb->sb_npols ? sb->sb_pols[i]->po_name : NULL;
}

size_t
sandbox_nsources(const struct sandbox *sb)
{
	return sb->sb_sources != NULL ? sb->sb_nsources : 0;
}

void
sandbox_source(const struct sandbox *sb, size_t i, char *buf, size_t len)
{
	if (i < sandbox_nsources(sb))
		cidr_format(&sb->sb_sources[i], buf, len);
	else if (len > 0)
		buf[0] = '\0';
}

struct rule_walk {
	policy_rule_fn	*rw_fn;
	void		*rw_arg;
	const char	*rw_from;
	const char	*rw_kind;	/* overrides the text's own, or NULL */
};

/* Rule texts read "KIND PATTERN" ("allow.hosts pypi.org"). */
static void
rule_walk_text(void *arg, const char *text)
{
	struct rule_walk	*rw = arg;
	const char		*sp = strchr(text, ' ');
	char			 kind[64];
	size_t			 n;

	if (sp == NULL)
		return;
	n = (size_t)(sp - text) < sizeof(kind) - 1 ? (size_t)(sp - text) :
	    sizeof(kind) - 1;
	memcpy(kind, text, n);
	kind[n] = '\0';
	rw->rw_fn(rw->rw_arg, rw->rw_kind != NULL ? rw->rw_kind : kind,
	    sp + 1, rw->rw_from);
}

static void
rule_set_walk(const struct rule_set *rs, struct rule_walk *rw)
{
	size_t	i;

	hostset_foreach(rs->rs_hosts, rule_walk_text, rw);
	cidrset_foreach(rs->rs_cidrs, rule_walk_text, rw);
	for (i = 0; i < rs->rs_nports; i++)
		rule_walk_text(rw, rs->rs_ports[i].pr_text);
}

static void
pol_walk(const struct pol *po, const char *from, policy_rule_fn *fn, void *arg)
{
	struct rule_walk	rw = { fn, arg, from, NULL };
	char			pfrom[160];
	size_t			i;

	rule_set_walk(&po->po_allow, &rw);
	rule_set_walk(&po->po_deny, &rw);
	for (i = 0; i < po->po_nprofiles; i++) {
		snprintf(pfrom, sizeof(pfrom), "profile %s",
		    po->po_profiles[i]->pf_name);
		rw.rw_from = pfrom;
		rw.rw_kind = "allow.hosts";
		hostset_foreach(po->po_profiles[i]->pf_hosts, rule_walk_text,
		    &rw);
		cidrset_foreach(po->po_profiles[i]->pf_cidrs, rule_walk_text,
		    &rw);
	}
}

void
policy_sandbox_rules(const struct sandbox *sb, policy_rule_fn *fn, void *arg)
{
	char	from[160];
	size_t	i;

	for (i = 0; i < sb->sb_npols; i++) {
		snprintf(from, sizeof(from), "policy %s",
		    sb->sb_pols[i]->po_name);
		pol_walk(sb->sb_pols[i], from, fn, arg);
	}
	if (sb->sb_inline != NULL) {
		snprintf(from, sizeof(from), "sandbox %s%s", sb->sb_id,
		    sb->sb_from_api ? " (api)" : "");
		pol_walk(sb->sb_inline, from, fn, arg);
	}
}

/* An HTTP method as the wire carries it: a token of letters, <= 32. */
static bool
method_ok(const char *m)
{
	size_t	i;

	for (i = 0; m[i] != '\0'; i++)
		if (i >= 32 || !((m[i] >= 'A' && m[i] <= 'Z') ||
		    (m[i] >= 'a' && m[i] <= 'z') || m[i] == '-' ||
		    m[i] == '_'))
			return false;
	return i > 0;
}

/*
 * Splits "http[s]://HOST[:PORT][/PATH][?Q]" into its host (<host>, a
 * bracketed IPv6 literal unwrapped), port (0 when absent) and path
 * (without the query; "/" when absent).  -1 with <*why> if malformed.
 */
static int
explain_url(const char *url, bool *tls, char *host, size_t hostsz,
    unsigned *port, char *path, size_t pathsz, const char **why)
{
	const char	*a, *end, *hp, *pp, *hend;
	size_t		 n;
	unsigned long	 v;

	if (strncmp(url, "https://", 8) == 0) {
		*tls = true;
		a = url + 8;
	} else if (strncmp(url, "http://", 7) == 0) {
		*tls = false;
		a = url + 7;
	} else {
		*why = "a URL must start with http:// or https://";
		return -1;
	}
	end = a + strcspn(a, "/?#");
	if (memchr(a, '@', (size_t)(end - a)) != NULL) {
		*why = "a URL with user information (user@host) is not judged";
		return -1;
	}
	if (strchr(url, '#') != NULL) {
		*why = "a URL with a fragment (#) is not sent as such";
		return -1;
	}
	if (*a == '[') {
		if ((hend = memchr(a, ']', (size_t)(end - a))) == NULL) {
			*why = "unclosed [ in the URL's host";
			return -1;
		}
		hp = a + 1;
		pp = hend + 1;
	} else {
		hp = a;
		hend = memchr(a, ':', (size_t)(end - a));
		if (hend == NULL)
			hend = end;
		pp = hend;
	}
	n = (size_t)(hend - hp);
	if (n == 0 || n >= hostsz) {
		*why = "the URL has no host (or one too long)";
		return -1;
	}
	memcpy(host, hp, n);
	host[n] = '\0';
	*port = 0;
	if (pp < end) {
		char	num[8];

		if (*pp != ':' || end - pp - 1 < 1 || end - pp - 1 > 5) {
			*why = "the URL's port must be 1-65535";
			return -1;
		}
		memcpy(num, pp + 1, (size_t)(end - pp - 1));
		num[end - pp - 1] = '\0';
		v = strtoul(num, NULL, 10);
		if (strspn(num, "0123456789") != strlen(num) || v < 1 ||
		    v > 65535) {
			*why = "the URL's port must be 1-65535";
			return -1;
		}
		*port = (unsigned)v;
	}
	n = strcspn(end, "?#");
	if (n == 0)
		snprintf(path, pathsz, "/");
	else if (n >= pathsz) {
		*why = "the URL's path is too long";
		return -1;
	} else {
		memcpy(path, end, n);
		path[n] = '\0';
	}
	return 0;
}

static void
note_add(struct policy_explanation *pe, const char *s)
{
	size_t	n = strlen(pe->pe_notebuf);

	snprintf(pe->pe_notebuf + n, sizeof(pe->pe_notebuf) - n, "%s%s",
	    n > 0 ? "; " : "", s);
	pe->pe_note = pe->pe_notebuf;
}

int
policy_explain(const struct sandbox *sb, const struct policy_explain_in *in,
    struct policy_explanation *pe, const char **why)
{
	struct policy_query	q;
	struct ipaddr		hip;
	char			host[256];
	unsigned		port = 0;
	bool			tls = true, url, host_is_ip, icpt;
	const struct credential	*cr;
	char			cbuf[256];

	memset(pe, 0, sizeof(*pe));
	memset(&q, 0, sizeof(q));
	url = strstr(in->pi_target, "://") != NULL;
	if (url) {
		if (explain_url(in->pi_target, &tls, host, sizeof(host), &port,
		    pe->pe_path, sizeof(pe->pe_path), why) == -1)
			return -1;
	} else if (snprintf(host, sizeof(host), "%s", in->pi_target) >=
	    (int)sizeof(host)) {
		*why = "too long";
		return -1;
	}
	if (in->pi_port != 0) {
		if (in->pi_port > 65535) {
			*why = "the port must be 1-65535";
			return -1;
		}
		if (port != 0 && port != in->pi_port) {
			*why = "the port given differs from the URL's";
			return -1;
		}
		port = in->pi_port;
	}
	if (port == 0)
		port = url && !tls ? 80 : 443;
	if (!url)
		tls = port != 80;
	host_is_ip = ipaddr_parse(host, &hip) == 0;
	if (host_is_ip)
		ipaddr_format(&hip, pe->pe_host, sizeof(pe->pe_host));
	else if (hostname_normalize(host, pe->pe_host, sizeof(pe->pe_host),
	    why) == -1)
		return -1;
	if (in->pi_dst != NULL) {
		if (ipaddr_parse(in->pi_dst, &q.pq_dst) == -1) {
			*why = "the destination must be an IP address";
			return -1;
		}
	} else if (host_is_ip)
		/* An address is judged as the destination it names. */
		q.pq_dst = hip;
	if (q.pq_dst.ia_family != 0)
		ipaddr_format(&q.pq_dst, pe->pe_dst, sizeof(pe->pe_dst));
	pe->pe_port = (uint16_t)port;
	/* Intercepted TLS shows its requests (docs/interception.md). */
	icpt = tls && !host_is_ip && policy_intercepts(sb, pe->pe_host);
	pe->pe_proto = icpt ? POLICY_PROTO_HTTPS : tls ? POLICY_PROTO_TLS :
	    POLICY_PROTO_HTTP;
	if (in->pi_method != NULL && tls && !icpt) {
		*why = "a method only applies to plain HTTP (an http:// URL "
		    "or port 80) or to a host in intercept_tls: TLS hides it";
		return -1;
	}
	if (!tls || icpt) {
		if (in->pi_method != NULL && !method_ok(in->pi_method)) {
			*why = "the method must be a word of letters (GET, "
			    "POST, ...)";
			return -1;
		}
		snprintf(pe->pe_method, sizeof(pe->pe_method), "%s",
		    in->pi_method != NULL ? in->pi_method : "GET");
		if (pe->pe_path[0] == '\0')
			snprintf(pe->pe_path, sizeof(pe->pe_path), "/");
		q.pq_method = pe->pe_method;
		q.pq_path = pe->pe_path;
		q.pq_path_len = strlen(pe->pe_path);
	}
	q.pq_proto = pe->pe_proto;
	q.pq_host = pe->pe_host;
	q.pq_port = pe->pe_port;
	if (icpt) {
		/* The connection is judged first, as any TLS. */
		struct policy_query	qc = q;

		qc.pq_proto = POLICY_PROTO_TLS;
		qc.pq_method = NULL;
		qc.pq_path = NULL;
		qc.pq_path_len = 0;
		policy_eval(sb, &qc, &pe->pe_d);
		if (pe->pe_d.pd_action == POLICY_DENY) {
			pe->pe_proto = POLICY_PROTO_TLS;
			note_add(pe, "the connection is refused before any "
			    "interception (no certificate is made)");
			return 0;
		}
		note_add(pe, "intercepted (intercept_tls): each request inside "
		    "the TLS is judged with its method and path");
		if ((cr = policy_credential(sb, pe->pe_host)) != NULL) {
			snprintf(cbuf, sizeof(cbuf),
			    "%s gets the configured secret (%s)%s",
			    cr->cr_header, cr->cr_text, cr->cr_phantom ?
			    ", only for a request carrying the sandbox's "
			    "phantom token, else credential-missing" : "");
			note_add(pe, cbuf);
		}
	}
	policy_eval(sb, &q, &pe->pe_d);
	if (pe->pe_d.pd_action == POLICY_ALLOW && pe->pe_d.pd_by_host) {
		enum policy_dest dest = pe->pe_d.pd_dest != DEST_DEFAULT ?
		    pe->pe_d.pd_dest : in->pi_dns_dest;

		if (dest == DEST_TRUST)
			note_add(pe, "allowed by a host rule; destination: "
			    "trust, so the name is believed wherever it points");
		else if (dest == DEST_REDIAL)
			note_add(pe, "allowed by a host rule; destination: "
			    "redial, so egressd dials its own resolution of "
			    "the name and judges that address again");
		else if (q.pq_dst.ia_family != 0)
			note_add(pe, "allowed by a host rule; at run time the "
			    "name must also resolve to this destination "
			    "(dns.destination: verify), else "
			    "destination-mismatch; explain resolves no names");
		else
			note_add(pe, "allowed by a host rule; at run time the "
			    "name must also resolve to the address dialled "
			    "(dns.destination: verify), which must be public "
			    "unless allowed; --dst ADDRESS judges an address "
			    "(explain resolves no names)");
	} else if (pe->pe_d.pd_action == POLICY_DENY &&
	    q.pq_dst.ia_family == 0 && !host_is_ip &&
	    pe->pe_d.pd_reason == REASON_NO_MATCHING_ALLOW &&
	    pe->pe_d.pd_rule == NULL)
		note_add(pe, "no host rule allows it; allow.cidrs were not "
		    "checked (no destination given: --dst ADDRESS)");
	if (tls && !url && in->pi_port == 0 && port == 443)
		; /* the common case needs no word on the protocol */
	else if (tls && !url && port != 443)
		note_add(pe, "judged as TLS (any port but 80 is; give an "
		    "http:// URL for plain HTTP on another port)");
	return 0;
}

void
policy_thread_exit(void)
{
	hostset_thread_exit();
}

size_t
policy_npolicies(const struct policy *p)
{
	return p->p_npols;
}

const char *
policy_name_at(const struct policy *p, size_t i, bool *from_api)
{
	if (i >= p->p_npols)
		return NULL;
	*from_api = p->p_pols[i]->po_from_api;
	return p->p_pols[i]->po_name;
}

bool
sandbox_uses_policy(const struct sandbox *sb, const char *name)
{
	size_t	i;

	for (i = 0; i < sb->sb_npols; i++)
		if (strcmp(sb->sb_pols[i]->po_name, name) == 0)
			return true;
	return false;
}

bool
policy_intercepts(const struct sandbox *sb, const char *host)
{
	size_t	i;

	if (!sb->sb_intercept || host == NULL)
		return false;
	for (i = 0; i < sb->sb_npols; i++)
		if (sb->sb_pols[i]->po_intercept != NULL &&
		    hostset_match(sb->sb_pols[i]->po_intercept, host) != NULL)
			return true;
	return false;
}

const struct credential *
policy_credential(const struct sandbox *sb, const char *host)
{
	const struct pol	*po;
	size_t			 i, j;

	for (i = 0; i < sb->sb_npols; i++) {
		po = sb->sb_pols[i];
		for (j = 0; j < po->po_ncreds; j++)
			if (hostset_match(po->po_creds[j].cr_hosts, host) !=
			    NULL)
				return &po->po_creds[j];
	}
	return NULL;
}

const char *
credential_header(const struct credential *cr)
{
	return cr->cr_header;
}

const struct secret *
credential_secret(const struct credential *cr)
{
	return cr->cr_secret;
}

bool
credential_phantom(const struct credential *cr)
{
	return cr->cr_phantom;
}

const char *
credential_rule(const struct credential *cr)
{
	return cr->cr_text;
}

size_t
policy_load_secrets(struct policy *p, policy_secret_fn *fn, void *arg)
{
	struct credential	*cr;
	size_t			 i, j, failed = 0;

	for (i = 0; i < p->p_npols; i++)
		for (j = 0; j < p->p_pols[i]->po_ncreds; j++) {
			cr = &p->p_pols[i]->po_creds[j];
			if (cr->cr_secret != NULL)
				continue;
			if ((cr->cr_secret = fn(arg, cr->cr_path, cr->cr_file,
			    cr->cr_line, cr->cr_col)) == NULL)
				failed++;
		}
	return failed;
}

bool
policy_has_intercept(const struct policy *p)
{
	size_t	i;

	for (i = 0; i < p->p_npols; i++)
		if (p->p_pols[i]->po_intercept != NULL)
			return true;
	return false;
}
