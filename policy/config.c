#include "policy/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/netaddr.h"
#include "policy/policy_int.h"
#include "policy/yamltree.h"

/* Default limits (SPEC 3). */
#define DEF_CONNECT_TIMEOUT_MS	5000
#define DEF_PEEK_TIMEOUT_MS	5000
#define DEF_PEEK_MAX_BYTES	16384
#define DEF_IDLE_TIMEOUT_S	3600
#define DEF_DRAIN_S		30
#define DEF_MAX_CONNECTIONS	20000
#define DEF_MAX_PER_SANDBOX	2000
#define DEF_MEMORY_EVENTS	1000
#define DEF_MARK		0x1e9d

/* Where we are and what went wrong: every check adds to cx_el and goes on. */
struct cfctx {
	const char	*cx_file;
	struct errlist	*cx_el;
	struct config	*cx_cf;
	struct policy	*cx_pol;
	size_t		 cx_errors_at_start;
};

static void cx_err(struct cfctx *, const struct ynode *, const char *, ...)
	__attribute__((format(printf, 3, 4)));

static void
cx_err(struct cfctx *cx, const struct ynode *n, const char *fmt, ...)
{
	char	msg[768];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	errlist_add(cx->cx_el, n != NULL && n->yn_file != NULL ? n->yn_file :
	    cx->cx_file, n ? n->yn_line : 0,
	    n ? n->yn_col : 0, "%s", msg);
}

static bool
want(struct cfctx *cx, const struct ynode *n, enum ynode_type t,
    const char *what)
{
	if (n->yn_type == t)
		return true;
	cx_err(cx, n, "%s must be %s, not %s", what, ynode_type_str(t),
	    ynode_type_str(n->yn_type));
	return false;
}

/* A plain "null"/"~"/empty scalar: YAML's way to say "nothing here". */
static bool
is_null(const struct ynode *n)
{
	return n->yn_type == YN_SCALAR && !n->yn_quoted &&
	    (n->yn_str[0] == '\0' || strcmp(n->yn_str, "~") == 0 ||
	    strcmp(n->yn_str, "null") == 0);
}

/*
 * Checks a mapping's keys against <keys> (NULL-terminated), reporting
 * unknown and duplicate keys.  Returns false when <n> is not a mapping.
 */
static bool
check_keys(struct cfctx *cx, const struct ynode *n, const char *what,
    const char *const *keys)
{
	char	 list[512];
	size_t	 i, j, k, off;

	if (!want(cx, n, YN_MAP, what))
		return false;
	for (i = 0; i < n->yn_count; i++) {
		const struct ynode *key = n->yn_pairs[i].yp_key;

		for (k = 0; keys[k] != NULL; k++)
			if (strcmp(keys[k], key->yn_str) == 0)
				break;
		if (keys[k] == NULL) {
			off = 0;
			list[0] = '\0';
			for (k = 0; keys[k] != NULL && off < sizeof(list); k++)
				off += (size_t)snprintf(list + off,
				    sizeof(list) - off, "%s%s", k ? ", " : "",
				    keys[k]);
			cx_err(cx, key, "unknown key \"%s\" in %s (expected "
			    "one of: %s)", key->yn_str, what, list);
		}
		for (j = 0; j < i; j++)
			if (strcmp(n->yn_pairs[j].yp_key->yn_str,
			    key->yn_str) == 0)
				cx_err(cx, key, "duplicate key \"%s\" in %s "
				    "(first at line %u)", key->yn_str, what,
				    n->yn_pairs[j].yp_key->yn_line);
	}
	return true;
}

static const struct ynode *
map_get(const struct ynode *n, const char *key)
{
	size_t	i;

	if (n == NULL || n->yn_type != YN_MAP)
		return NULL;
	for (i = 0; i < n->yn_count; i++)
		if (strcmp(n->yn_pairs[i].yp_key->yn_str, key) == 0)
			return n->yn_pairs[i].yp_val;
	return NULL;
}

/* Decimal or 0x-hex, whole string, within [lo, hi]. */
static int
get_uint(struct cfctx *cx, const struct ynode *n, const char *what,
    unsigned long long lo, unsigned long long hi, unsigned long long *out)
{
	const char		*s;
	char			*ep;
	unsigned long long	 v;

	if (!want(cx, n, YN_SCALAR, what))
		return -1;
	s = n->yn_str;
	if (!isdigit((unsigned char)s[0])) {
		cx_err(cx, n, "%s must be a number, not \"%s\"", what, s);
		return -1;
	}
	errno = 0;
	v = strtoull(s, &ep, (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ?
	    16 : 10);
	if (errno != 0 || *ep != '\0' || ep == s) {
		cx_err(cx, n, "%s must be a number, not \"%s\"", what, s);
		return -1;
	}
	if (v < lo || v > hi) {
		cx_err(cx, n, "%s must be between %llu and %llu, not %s", what,
		    lo, hi, s);
		return -1;
	}
	*out = v;
	return 0;
}

static void
set_uint(struct cfctx *cx, const struct ynode *map, const char *key,
    const char *what, unsigned long long lo, unsigned long long hi,
    unsigned *dst)
{
	const struct ynode	*n = map_get(map, key);
	unsigned long long	 v;

	if (n != NULL && get_uint(cx, n, what, lo, hi, &v) == 0)
		*dst = (unsigned)v;
}

static void
set_bool(struct cfctx *cx, const struct ynode *map, const char *key,
    const char *what, bool *dst)
{
	const struct ynode	*n = map_get(map, key);

	if (n == NULL || !want(cx, n, YN_SCALAR, what))
		return;
	if (!n->yn_quoted && strcmp(n->yn_str, "true") == 0)
		*dst = true;
	else if (!n->yn_quoted && strcmp(n->yn_str, "false") == 0)
		*dst = false;
	else
		cx_err(cx, n, "%s must be true or false, not \"%s\"", what,
		    n->yn_str);
}

/* A string; null leaves <dst> alone (absent), "" is kept as given. */
static void
set_str(struct cfctx *cx, const struct ynode *map, const char *key,
    const char *what, char **dst)
{
	const struct ynode	*n = map_get(map, key);

	if (n == NULL || is_null(n) || !want(cx, n, YN_SCALAR, what))
		return;
	free(*dst);
	*dst = strdup(n->yn_str);
}

/* A list, or a lone scalar taken as a list of one. */
static bool
want_list(struct cfctx *cx, const struct ynode *n, const char *what)
{
	return n->yn_type == YN_SCALAR || want(cx, n, YN_SEQ, what);
}

static size_t
list_len(const struct ynode *n)
{
	return n->yn_type == YN_SCALAR ? 1 : n->yn_count;
}

static const struct ynode *
list_at(const struct ynode *n, size_t i)
{
	return n->yn_type == YN_SCALAR ? n : n->yn_items[i];
}

static void
set_addrs(struct cfctx *cx, const struct ynode *map, const char *key,
    const char *what, struct listen_addr **dst, size_t *ndst)
{
	const struct ynode	*n = map_get(map, key), *it;
	struct listen_addr	*v;
	size_t			 i;

	if (n == NULL || !want_list(cx, n, what))
		return;
	if ((v = calloc(list_len(n) + 1, sizeof(*v))) == NULL)
		return;
	free(*dst);
	*dst = v;
	*ndst = 0;
	for (i = 0; i < list_len(n); i++) {
		it = list_at(n, i);
		if (!want(cx, it, YN_SCALAR, what))
			continue;
		if (netaddr_parse_hostport(it->yn_str, &v[*ndst].la_addr,
		    &v[*ndst].la_len) == -1) {
			cx_err(cx, it, "%s: \"%s\" is not an address:port "
			    "(e.g. 127.0.0.1:15001 or [::1]:15001)", what,
			    it->yn_str);
			continue;
		}
		snprintf(v[*ndst].la_text, sizeof(v[*ndst].la_text), "%s",
		    it->yn_str);
		(*ndst)++;
	}
}

static char *
xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
xasprintf(const char *fmt, ...)
{
	char	*s;
	va_list	 ap;
	int	 rc;

	va_start(ap, fmt);
	rc = vasprintf(&s, fmt, ap);
	va_end(ap);
	return rc < 0 ? NULL : s;
}

/* Takes <text>. */
static int
cidr_rule_push(struct cidrset *cs, const struct cidr *c, char *text)
{
	int	rc;

	rc = text == NULL ? -1 : cidrset_add(cs, c, text);
	free(text);
	return rc;
}

/* Host entries into a hostset, IP literals into a cidr list. */
static void
parse_hosts(struct cfctx *cx, const struct ynode *n, const char *what,
    const char *textpfx, struct hostset *hs, struct cidrset *cidrs)
{
	const struct ynode	*it;
	struct hostpat		 hp;
	struct cidr		 c;
	const char		*why;
	char			 whybuf[320], *text;
	size_t			 i;

	if (!want_list(cx, n, what))
		return;
	for (i = 0; i < list_len(n); i++) {
		it = list_at(n, i);
		if (!want(cx, it, YN_SCALAR, what))
			continue;
		if (hostpat_parse(it->yn_str, &hp, &why) == -1) {
			cx_err(cx, it, "%s: \"%s\": %s", what, it->yn_str, why);
			continue;
		}
		text = xasprintf("%s %s", textpfx, it->yn_str);
		if (hp.hp_kind == HOSTPAT_IP) {
			c.ci_addr = hp.hp_ip;
			c.ci_prefix = hp.hp_ip.ia_family == 4 ? 32 : 128;
			if (cidr_rule_push(cidrs, &c, text) == -1)
				cx_err(cx, it, "out of memory");
			continue;
		}
		if (text == NULL || hostset_add(hs, &hp, text, whybuf,
		    sizeof(whybuf)) == -1)
			cx_err(cx, it, "%s: \"%s\": %s", what, it->yn_str,
			    text ? whybuf : "out of memory");
		free(text);
	}
}

static void
parse_cidrs(struct cfctx *cx, const struct ynode *n, const char *what,
    const char *textpfx, struct cidrset *cidrs)
{
	const struct ynode	*it;
	struct cidr		 c;
	const char		*why;
	size_t			 i;

	if (!want_list(cx, n, what))
		return;
	for (i = 0; i < list_len(n); i++) {
		it = list_at(n, i);
		if (!want(cx, it, YN_SCALAR, what))
			continue;
		if (cidr_parse(it->yn_str, &c, &why) == -1) {
			cx_err(cx, it, "%s: \"%s\" is not a CIDR: %s", what,
			    it->yn_str, why);
			continue;
		}
		if (cidr_rule_push(cidrs, &c, xasprintf("%s %s",
		    textpfx, it->yn_str)) == -1)
			cx_err(cx, it, "out of memory");
	}
}

/* "443", 443 or "8000-8100". */
static void
parse_ports(struct cfctx *cx, const struct ynode *n, const char *what,
    const char *textpfx, struct rule_set *rs)
{
	const struct ynode	*it;
	struct port_range	*v, pr;
	unsigned long		 lo, hi;
	char			*ep, *dash;
	size_t			 i;

	if (!want_list(cx, n, what))
		return;
	for (i = 0; i < list_len(n); i++) {
		it = list_at(n, i);
		if (!want(cx, it, YN_SCALAR, what))
			continue;
		if (!isdigit((unsigned char)it->yn_str[0]))
			goto bad;
		lo = strtoul(it->yn_str, &ep, 10);
		hi = lo;
		if (*ep == '-') {
			dash = ep + 1;
			if (!isdigit((unsigned char)*dash))
				goto bad;
			hi = strtoul(dash, &ep, 10);
		}
		if (*ep != '\0')
			goto bad;
		if (lo < 1 || hi > 65535 || lo > hi) {
			cx_err(cx, it, "%s: \"%s\": ports are 1-65535 and a "
			    "range is LOW-HIGH", what, it->yn_str);
			continue;
		}
		pr.pr_lo = (uint16_t)lo;
		pr.pr_hi = (uint16_t)hi;
		pr.pr_text = xasprintf("%s %s", textpfx, it->yn_str);
		if (pr.pr_text == NULL || (v = realloc(rs->rs_ports,
		    (rs->rs_nports + 1) * sizeof(*v))) == NULL) {
			free(pr.pr_text);
			cx_err(cx, it, "out of memory");
			continue;
		}
		rs->rs_ports = v;
		v[rs->rs_nports++] = pr;
		continue;
bad:
		cx_err(cx, it, "%s: \"%s\" is not a port or a port range "
		    "(e.g. 443 or \"8000-8100\")", what, it->yn_str);
	}
}

static void
parse_rule_set(struct cfctx *cx, const struct ynode *n, const char *side,
    const char *owner, struct rule_set *rs)
{
	static const char *const keys[] = { "hosts", "cidrs", "ports", NULL };
	const struct ynode	*v;
	char			 what[224], pfx[32];

	snprintf(what, sizeof(what), "%s %s", owner, side);
	if (is_null(n) || !check_keys(cx, n, what, keys))
		return;
	if ((v = map_get(n, "hosts")) != NULL) {
		snprintf(what, sizeof(what), "%s %s.hosts", owner, side);
		snprintf(pfx, sizeof(pfx), "%s.hosts", side);
		parse_hosts(cx, v, what, pfx, rs->rs_hosts, rs->rs_cidrs);
	}
	if ((v = map_get(n, "cidrs")) != NULL) {
		snprintf(what, sizeof(what), "%s %s.cidrs", owner, side);
		snprintf(pfx, sizeof(pfx), "%s.cidrs", side);
		parse_cidrs(cx, v, what, pfx, rs->rs_cidrs);
	}
	if ((v = map_get(n, "ports")) != NULL) {
		snprintf(what, sizeof(what), "%s %s.ports", owner, side);
		snprintf(pfx, sizeof(pfx), "%s.ports", side);
		parse_ports(cx, v, what, pfx, rs);
	}
}

static struct profile *
find_profile(struct policy *p, const char *name)
{
	size_t	i;

	for (i = 0; i < p->p_nprofiles; i++)
		if (strcmp(p->p_profiles[i]->pf_name, name) == 0)
			return p->p_profiles[i];
	return NULL;
}

static struct profile *
profile_new(const char *name)
{
	struct profile	*pf;

	if ((pf = calloc(1, sizeof(*pf))) == NULL)
		return NULL;
	pf->pf_name = strdup(name);
	pf->pf_hosts = hostset_new();
	pf->pf_cidrs = cidrset_new();
	if (pf->pf_name == NULL || pf->pf_hosts == NULL ||
	    pf->pf_cidrs == NULL) {
		profile_free(pf);
		return NULL;
	}
	return pf;
}

static int
policy_push(void ***v, size_t *n, void *item)
{
	void	**nv;

	if ((nv = realloc(*v, (*n + 1) * sizeof(*nv))) == NULL)
		return -1;
	*v = nv;
	nv[(*n)++] = item;
	return 0;
}

/* Built-in profiles are instantiated on first use only. */
static struct profile *
profile_lookup(struct cfctx *cx, const struct ynode *ref)
{
	struct profile		*pf;
	const char *const	*hosts;
	struct hostpat		 hp;
	const char		*why;
	char			 text[300], whybuf[64];
	size_t			 i;

	if ((pf = find_profile(cx->cx_pol, ref->yn_str)) != NULL)
		return pf;
	if ((hosts = profile_builtin(ref->yn_str)) == NULL)
		return NULL;
	if ((pf = profile_new(ref->yn_str)) == NULL)
		return NULL;
	for (i = 0; hosts[i] != NULL; i++) {
		snprintf(text, sizeof(text), "profiles.%s %s", ref->yn_str,
		    hosts[i]);
		if (hostpat_parse(hosts[i], &hp, &why) == -1 ||
		    hostset_add(pf->pf_hosts, &hp, text, whybuf,
		    sizeof(whybuf)) == -1) {
			profile_free(pf);
			return NULL;
		}
	}
	if (policy_push((void ***)&cx->cx_pol->p_profiles,
	    &cx->cx_pol->p_nprofiles, pf) == -1) {
		profile_free(pf);
		return NULL;
	}
	return pf;
}

static void
parse_profiles(struct cfctx *cx, const struct ynode *n)
{
	static const char *const keys[] = { "hosts", NULL };
	const struct ynode	*name, *def, *hosts;
	struct profile		*pf;
	char			 what[160], pfx[160];
	size_t			 i;

	if (is_null(n) || !want(cx, n, YN_MAP, "profiles"))
		return;
	for (i = 0; i < n->yn_count; i++) {
		name = n->yn_pairs[i].yp_key;
		def = n->yn_pairs[i].yp_val;
		snprintf(what, sizeof(what), "profile \"%s\"", name->yn_str);
		if (find_profile(cx->cx_pol, name->yn_str) != NULL) {
			cx_err(cx, name, "%s is defined twice", what);
			continue;
		}
		if (!check_keys(cx, def, what, keys))
			continue;
		if ((pf = profile_new(name->yn_str)) == NULL ||
		    policy_push((void ***)&cx->cx_pol->p_profiles,
		    &cx->cx_pol->p_nprofiles, pf) == -1) {
			profile_free(pf);
			cx_err(cx, name, "out of memory");
			continue;
		}
		if ((hosts = map_get(def, "hosts")) != NULL) {
			snprintf(pfx, sizeof(pfx), "profiles.%s",
			    name->yn_str);
			snprintf(what, sizeof(what), "profile \"%s\" hosts",
			    name->yn_str);
			parse_hosts(cx, hosts, what, pfx, pf->pf_hosts,
			    pf->pf_cidrs);
		}
	}
}

static void
parse_protocols(struct cfctx *cx, const struct ynode *n, const char *what,
    unsigned *dst)
{
	const struct ynode	*it;
	size_t			 i;

	if (!want_list(cx, n, what))
		return;
	*dst = 0;
	for (i = 0; i < list_len(n); i++) {
		it = list_at(n, i);
		if (!want(cx, it, YN_SCALAR, what))
			continue;
		if (strcmp(it->yn_str, "tls") == 0)
			*dst |= POLICY_PROTO_TLS;
		else if (strcmp(it->yn_str, "http") == 0)
			*dst |= POLICY_PROTO_HTTP;
		else if (strcmp(it->yn_str, "other") == 0)
			*dst |= POLICY_PROTO_OTHER;
		else
			cx_err(cx, it, "%s: unknown protocol \"%s\" (tls, "
			    "http, other)", what, it->yn_str);
	}
}

static int
str_list_into(struct cfctx *cx, const struct ynode *n, const char *what,
    char ***out, size_t *nout)
{
	const struct ynode	*it;
	size_t			 i;

	if (!want_list(cx, n, what))
		return -1;
	if ((*out = calloc(list_len(n) + 1, sizeof(**out))) == NULL)
		return -1;
	for (i = 0; i < list_len(n); i++) {
		it = list_at(n, i);
		if (!want(cx, it, YN_SCALAR, what))
			continue;
		(*out)[(*nout)++] = strdup(it->yn_str);
	}
	return 0;
}

static void
parse_endpoints(struct cfctx *cx, const struct ynode *n, const char *owner,
    struct pol *po)
{
	static const char *const keys[] = { "host", "methods", "paths", NULL };
	const struct ynode	*it, *h, *v;
	struct hostpat		 hp;
	struct endpoint		*ep;
	const char		*why;
	char			 what[192], whybuf[320];
	size_t			 i, j;

	snprintf(what, sizeof(what), "%s endpoints", owner);
	if (is_null(n) || !want(cx, n, YN_SEQ, what))
		return;
	if ((po->po_endpoints = calloc(n->yn_count + 1,
	    sizeof(*po->po_endpoints))) == NULL)
		return;
	for (i = 0; i < n->yn_count; i++) {
		it = n->yn_items[i];
		if (!check_keys(cx, it, what, keys))
			continue;
		if ((h = map_get(it, "host")) == NULL) {
			cx_err(cx, it, "%s: an entry needs a host", what);
			continue;
		}
		if (!want(cx, h, YN_SCALAR, what))
			continue;
		if (hostpat_parse(h->yn_str, &hp, &why) == -1 ||
		    hp.hp_kind == HOSTPAT_IP) {
			cx_err(cx, h, "%s: \"%s\": %s", what, h->yn_str,
			    hp.hp_kind == HOSTPAT_IP ? "endpoints take host "
			    "names, not addresses" : why);
			continue;
		}
		ep = &po->po_endpoints[po->po_nendpoints++];
		ep->ep_hosts = hostset_new();
		ep->ep_text = xasprintf("endpoints %s", h->yn_str);
		if (ep->ep_hosts == NULL || ep->ep_text == NULL ||
		    hostset_add(ep->ep_hosts, &hp, ep->ep_text, whybuf,
		    sizeof(whybuf)) == -1) {
			cx_err(cx, h, "%s: \"%s\": %s", what, h->yn_str,
			    whybuf);
			continue;
		}
		if ((v = map_get(it, "methods")) != NULL)
			str_list_into(cx, v, "endpoints methods",
			    &ep->ep_methods, &ep->ep_nmethods);
		for (j = 0; j < ep->ep_nmethods; j++) {
			const char *m = ep->ep_methods[j];

			if (m == NULL || strspn(m, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") !=
			    strlen(m) || m[0] == '\0')
				cx_err(cx, v, "%s: method \"%s\" must be an "
				    "upper-case HTTP method", what, m ? m : "");
		}
		if ((v = map_get(it, "paths")) != NULL)
			str_list_into(cx, v, "endpoints paths", &ep->ep_paths,
			    &ep->ep_npaths);
		for (j = 0; j < ep->ep_npaths; j++)
			if (ep->ep_paths[j] == NULL ||
			    ep->ep_paths[j][0] != '/')
				cx_err(cx, v, "%s: path \"%s\" must start with "
				    "/", what, ep->ep_paths[j] ?
				    ep->ep_paths[j] : "");
	}
}

static const char *
parse_mode(struct cfctx *cx, const struct ynode *n, const char *what,
    enum policy_mode *mode)
{
	if (!want(cx, n, YN_SCALAR, what))
		return NULL;
	if (strcmp(n->yn_str, "block-all") == 0)
		*mode = MODE_BLOCK_ALL;
	else if (strcmp(n->yn_str, "allow-all") == 0)
		*mode = MODE_ALLOW_ALL;
	else
		cx_err(cx, n, "%s must be block-all or allow-all, not \"%s\"",
		    what, n->yn_str);
	return n->yn_str;
}

static void
parse_destination(struct cfctx *cx, const struct ynode *n, const char *what,
    enum policy_dest *dst)
{
	if (!want(cx, n, YN_SCALAR, what))
		return;
	if (strcmp(n->yn_str, "verify") == 0)
		*dst = DEST_VERIFY;
	else if (strcmp(n->yn_str, "redial") == 0)
		*dst = DEST_REDIAL;
	else if (strcmp(n->yn_str, "trust") == 0)
		*dst = DEST_TRUST;
	else
		cx_err(cx, n, "%s must be verify, redial or trust, not \"%s\"",
		    what, n->yn_str);
}

static void
parse_policies(struct cfctx *cx, const struct ynode *n)
{
	static const char *const keys[] = { "mode", "protocols", "profiles",
	    "allow", "deny", "endpoints", "allow_private", "destination",
	    NULL };
	const struct ynode	*name, *def, *v, *it;
	struct pol		*po;
	struct profile		*pf;
	char			 what[160];
	size_t			 i, j;

	if (is_null(n) || !want(cx, n, YN_MAP, "policies"))
		return;
	for (i = 0; i < n->yn_count; i++) {
		name = n->yn_pairs[i].yp_key;
		def = n->yn_pairs[i].yp_val;
		snprintf(what, sizeof(what), "policy \"%s\"", name->yn_str);
		for (j = 0; j < cx->cx_pol->p_npols; j++)
			if (strcmp(cx->cx_pol->p_pols[j]->po_name,
			    name->yn_str) == 0)
				break;
		if (j < cx->cx_pol->p_npols) {
			cx_err(cx, name, "%s is defined twice", what);
			continue;
		}
		if (!is_null(def) && !check_keys(cx, def, what, keys))
			continue;
		if ((po = pol_new(name->yn_str)) == NULL ||
		    policy_push((void ***)&cx->cx_pol->p_pols,
		    &cx->cx_pol->p_npols, po) == -1) {
			pol_free(po);
			cx_err(cx, name, "out of memory");
			continue;
		}
		if (is_null(def))
			continue;
		if ((v = map_get(def, "mode")) != NULL)
			parse_mode(cx, v, "mode", &po->po_mode);
		if ((v = map_get(def, "protocols")) != NULL)
			parse_protocols(cx, v, "protocols", &po->po_protocols);
		if ((v = map_get(def, "profiles")) != NULL &&
		    want_list(cx, v, "profiles")) {
			for (j = 0; j < list_len(v); j++) {
				it = list_at(v, j);
				if (!want(cx, it, YN_SCALAR, "profiles"))
					continue;
				if ((pf = profile_lookup(cx, it)) == NULL) {
					cx_err(cx, it, "%s: undefined profile "
					    "\"%s\"", what, it->yn_str);
					continue;
				}
				if (policy_push((void ***)&po->po_profiles,
				    &po->po_nprofiles, pf) == -1)
					cx_err(cx, it, "out of memory");
			}
		}
		if ((v = map_get(def, "allow")) != NULL)
			parse_rule_set(cx, v, "allow", what, &po->po_allow);
		if ((v = map_get(def, "deny")) != NULL)
			parse_rule_set(cx, v, "deny", what, &po->po_deny);
		if ((v = map_get(def, "endpoints")) != NULL)
			parse_endpoints(cx, v, what, po);
		if ((v = map_get(def, "destination")) != NULL)
			parse_destination(cx, v, "destination",
			    &po->po_destination);
		set_bool(cx, def, "allow_private", "allow_private",
		    &po->po_allow_private);
	}
}

static bool
valid_sandbox_id(const char *s)
{
	size_t	n = strlen(s), i;

	if (n < 1 || n > 64)
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' &&
		    s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

static void
parse_sources(struct cfctx *cx, const struct ynode *v, struct sandbox *sb)
{
	const struct ynode	*it;
	const char		*why;
	size_t			 j;

	if (!want_list(cx, v, "sources"))
		return;
	/* One spare element: an empty list still means "no source". */
	if ((sb->sb_sources = calloc(list_len(v) + 1,
	    sizeof(*sb->sb_sources))) == NULL)
		return;
	for (j = 0; j < list_len(v); j++) {
		it = list_at(v, j);
		if (!want(cx, it, YN_SCALAR, "sources"))
			continue;
		if (cidr_parse(it->yn_str, &sb->sb_sources[sb->sb_nsources],
		    &why) == -1)
			cx_err(cx, it, "sandbox \"%s\" sources: \"%s\" is not "
			    "a CIDR: %s", sb->sb_id, it->yn_str, why);
		else
			sb->sb_nsources++;
	}
}

/* Two sandboxes may not claim the same client address. */
static void
check_overlap(struct cfctx *cx, const struct ynode *at, const struct sandbox *sb)
{
	const struct sandbox	*o;
	char			 a[64], b[64];
	size_t			 i, j, k;

	for (i = 0; i < cx->cx_pol->p_nsandboxes; i++) {
		o = cx->cx_pol->p_sandboxes[i];
		if (o == sb)
			continue;
		if ((o->sb_sources == NULL) != (sb->sb_sources == NULL))
			continue;
		if (sb->sb_sources == NULL) {
			cx_err(cx, at, "sandbox \"%s\" has no sources, like "
			    "sandbox \"%s\": only one sandbox may match any "
			    "source", sb->sb_id, o->sb_id);
			return;
		}
		for (j = 0; j < sb->sb_nsources; j++)
			for (k = 0; k < o->sb_nsources; k++) {
				if (!cidr_overlap(&sb->sb_sources[j],
				    &o->sb_sources[k]))
					continue;
				cidr_format(&sb->sb_sources[j], a, sizeof(a));
				cidr_format(&o->sb_sources[k], b, sizeof(b));
				cx_err(cx, at, "sandbox \"%s\" source %s "
				    "overlaps source %s of sandbox \"%s\"",
				    sb->sb_id, a, b, o->sb_id);
				return;
			}
	}
}

static void
parse_sandbox(struct cfctx *cx, const struct ynode *def)
{
	static const char *const keys[] = { "id", "sources", "policies",
	    "intercept", "mode", "allow", "deny", NULL };
	const struct ynode	*idn, *v, *it;
	struct sandbox		*sb;
	char			 what[160];
	size_t			 j, k;

	if (!check_keys(cx, def, "sandbox", keys))
		return;
	if ((idn = map_get(def, "id")) == NULL) {
		cx_err(cx, def, "sandbox needs an id");
		return;
	}
	if (!want(cx, idn, YN_SCALAR, "sandbox id"))
		return;
	if (!valid_sandbox_id(idn->yn_str)) {
		cx_err(cx, idn, "sandbox id \"%s\" must be 1-64 characters of "
		    "A-Z a-z 0-9 . _ -", idn->yn_str);
		return;
	}
	if (policy_sandbox_by_id(cx->cx_pol, idn->yn_str) != NULL) {
		cx_err(cx, idn, "duplicate sandbox id \"%s\"", idn->yn_str);
		return;
	}
	if ((sb = calloc(1, sizeof(*sb))) == NULL ||
	    (sb->sb_id = strdup(idn->yn_str)) == NULL ||
	    policy_push((void ***)&cx->cx_pol->p_sandboxes,
	    &cx->cx_pol->p_nsandboxes, sb) == -1) {
		sandbox_free(sb);
		cx_err(cx, idn, "out of memory");
		return;
	}
	sb->sb_intercept = true;
	snprintf(what, sizeof(what), "sandbox \"%s\"", sb->sb_id);
	if ((v = map_get(def, "sources")) != NULL)
		parse_sources(cx, v, sb);
	check_overlap(cx, idn, sb);
	if ((v = map_get(def, "policies")) != NULL &&
	    want_list(cx, v, "policies")) {
		for (j = 0; j < list_len(v); j++) {
			it = list_at(v, j);
			if (!want(cx, it, YN_SCALAR, "policies"))
				continue;
			for (k = 0; k < cx->cx_pol->p_npols; k++)
				if (strcmp(cx->cx_pol->p_pols[k]->po_name,
				    it->yn_str) == 0)
					break;
			if (k == cx->cx_pol->p_npols)
				cx_err(cx, it, "%s: undefined policy \"%s\"",
				    what, it->yn_str);
			else if (policy_push((void ***)&sb->sb_pols,
			    &sb->sb_npols, cx->cx_pol->p_pols[k]) == -1)
				cx_err(cx, it, "out of memory");
		}
	}
	set_bool(cx, def, "intercept", "intercept", &sb->sb_intercept);
	if (map_get(def, "allow") != NULL || map_get(def, "deny") != NULL ||
	    map_get(def, "mode") != NULL) {
		sb->sb_inline_name = xasprintf("sandbox:%s", sb->sb_id);
		if (sb->sb_inline_name == NULL ||
		    (sb->sb_inline = pol_new(sb->sb_inline_name)) == NULL) {
			cx_err(cx, def, "out of memory");
			return;
		}
		if ((v = map_get(def, "mode")) != NULL)
			parse_mode(cx, v, "mode", &sb->sb_inline->po_mode);
		if ((v = map_get(def, "allow")) != NULL)
			parse_rule_set(cx, v, "allow", what,
			    &sb->sb_inline->po_allow);
		if ((v = map_get(def, "deny")) != NULL)
			parse_rule_set(cx, v, "deny", what,
			    &sb->sb_inline->po_deny);
	}
}

static void
parse_sandboxes(struct cfctx *cx, const struct ynode *n)
{
	size_t	i;

	if (is_null(n) || !want(cx, n, YN_SEQ, "sandboxes"))
		return;
	for (i = 0; i < n->yn_count; i++)
		parse_sandbox(cx, n->yn_items[i]);
}

static void
parse_daemon(struct cfctx *cx, const struct ynode *root)
{
	static const char *const up_keys[] = { "mark", "connect_timeout_ms",
	    NULL };
	static const char *const dns_keys[] = { "listen", "servers",
	    "destination", "strip_https_records", NULL };
	static const char *const admin_keys[] = { "socket", "listen",
	    "token_file", NULL };
	static const char *const audit_keys[] = { "file", "syslog",
	    "log_allowed", "memory_events", NULL };
	static const char *const lim_keys[] = { "peek_timeout_ms",
	    "peek_max_bytes", "idle_timeout_s", "drain_s", "max_connections",
	    "max_connections_per_sandbox", NULL };
	struct config		*cf = cx->cx_cf;
	const struct ynode	*n, *v, *it;
	unsigned long long	 u;
	size_t			 i, nl = 0;

	if ((n = map_get(root, "listen")) == NULL) {
		/* SPEC 3's default: the REDIRECT target on both families. */
		static const char *const defs[] = { "127.0.0.1:15001",
		    "[::1]:15001" };
		size_t	d;

		if ((cf->cf_listen = calloc(2, sizeof(*cf->cf_listen))) != NULL)
			for (d = 0; d < 2; d++, cf->cf_nlisten++) {
				netaddr_parse_hostport(defs[d],
				    &cf->cf_listen[d].la_addr,
				    &cf->cf_listen[d].la_len);
				snprintf(cf->cf_listen[d].la_text,
				    sizeof(cf->cf_listen[d].la_text), "%s",
				    defs[d]);
			}
	} else {
		nl = cx->cx_el->el_count;
		set_addrs(cx, root, "listen", "listen", &cf->cf_listen,
		    &cf->cf_nlisten);
		if (cf->cf_nlisten == 0 && cx->cx_el->el_count == nl)
			cx_err(cx, n, "listen needs at least one address:port");
		nl = 0;
	}
	if ((n = map_get(root, "workers")) != NULL &&
	    want(cx, n, YN_SCALAR, "workers") &&
	    strcmp(n->yn_str, "auto") != 0 &&
	    get_uint(cx, n, "workers (a number or auto)", 1, 256, &u) == 0)
		cf->cf_workers = (unsigned)u;
	if ((n = map_get(root, "upstream")) != NULL && !is_null(n) &&
	    check_keys(cx, n, "upstream", up_keys)) {
		if ((v = map_get(n, "mark")) != NULL &&
		    get_uint(cx, v, "upstream.mark", 0, UINT32_MAX, &u) == 0)
			cf->cf_mark = (uint32_t)u;
		set_uint(cx, n, "connect_timeout_ms", "connect_timeout_ms", 1,
		    600000, &cf->cf_connect_timeout_ms);
	}
	if ((n = map_get(root, "dns")) != NULL && !is_null(n) &&
	    check_keys(cx, n, "dns", dns_keys)) {
		cf->cf_dns = true;
		set_addrs(cx, n, "listen", "dns.listen", &cf->cf_dns_listen,
		    &cf->cf_dns_nlisten);
		if ((v = map_get(n, "servers")) != NULL &&
		    want_list(cx, v, "dns.servers") &&
		    (cf->cf_dns_servers = calloc(list_len(v) + 1,
		    sizeof(char *))) != NULL) {
			for (i = 0; i < list_len(v); i++) {
				struct ipaddr		ia;
				struct sockaddr_storage	ss;
				socklen_t		sl;

				it = list_at(v, i);
				if (!want(cx, it, YN_SCALAR, "dns.servers"))
					continue;
				if (ipaddr_parse(it->yn_str, &ia) == -1 &&
				    netaddr_parse_hostport(it->yn_str, &ss,
				    &sl) == -1) {
					cx_err(cx, it, "dns.servers: \"%s\" is "
					    "not an IP address (or ip:port, "
					    "[ip6]:port)", it->yn_str);
					continue;
				}
				cf->cf_dns_servers[nl++] = strdup(it->yn_str);
			}
			cf->cf_dns_nservers = nl;
		}
		if ((v = map_get(n, "destination")) != NULL)
			parse_destination(cx, v, "dns.destination",
			    &cf->cf_dns_destination);
		set_bool(cx, n, "strip_https_records",
		    "dns.strip_https_records", &cf->cf_dns_strip_https);
	}
	if ((n = map_get(root, "admin")) != NULL && !is_null(n) &&
	    check_keys(cx, n, "admin", admin_keys)) {
		set_str(cx, n, "socket", "admin.socket", &cf->cf_admin_socket);
		set_str(cx, n, "token_file", "admin.token_file",
		    &cf->cf_admin_token_file);
		if ((v = map_get(n, "listen")) != NULL && !is_null(v)) {
			set_addrs(cx, n, "listen", "admin.listen",
			    &cf->cf_admin_listen, &nl);
			if (cf->cf_admin_token_file == NULL)
				cx_err(cx, v, "admin.listen requires "
				    "admin.token_file (the TCP listener is "
				    "never open without a token)");
		}
	}
	if ((n = map_get(root, "audit")) != NULL && !is_null(n) &&
	    check_keys(cx, n, "audit", audit_keys)) {
		set_str(cx, n, "file", "audit.file", &cf->cf_audit_file);
		set_bool(cx, n, "syslog", "audit.syslog", &cf->cf_audit_syslog);
		set_bool(cx, n, "log_allowed", "audit.log_allowed",
		    &cf->cf_audit_log_allowed);
		set_uint(cx, n, "memory_events", "audit.memory_events", 0,
		    1000000, &cf->cf_audit_memory_events);
	}
	set_str(cx, root, "state_dir", "state_dir", &cf->cf_state_dir);
	if ((n = map_get(root, "limits")) != NULL && !is_null(n) &&
	    check_keys(cx, n, "limits", lim_keys)) {
		set_uint(cx, n, "peek_timeout_ms", "limits.peek_timeout_ms", 1,
		    600000, &cf->cf_peek_timeout_ms);
		set_uint(cx, n, "peek_max_bytes", "limits.peek_max_bytes", 512,
		    1048576, &cf->cf_peek_max_bytes);
		set_uint(cx, n, "idle_timeout_s", "limits.idle_timeout_s", 1,
		    604800, &cf->cf_idle_timeout_s);
		set_uint(cx, n, "drain_s", "limits.drain_s", 0, 86400,
		    &cf->cf_drain_s);
		set_uint(cx, n, "max_connections", "limits.max_connections", 1,
		    10000000, &cf->cf_max_connections);
		set_uint(cx, n, "max_connections_per_sandbox",
		    "limits.max_connections_per_sandbox", 1, 10000000,
		    &cf->cf_max_conn_per_sandbox);
	}
	if ((n = map_get(root, "deny_response")) != NULL &&
	    want(cx, n, YN_SCALAR, "deny_response")) {
		if (strcmp(n->yn_str, "reset") == 0)
			cf->cf_deny_response = DENY_RESET;
		else if (strcmp(n->yn_str, "explain") == 0)
			cf->cf_deny_response = DENY_EXPLAIN;
		else
			cx_err(cx, n, "deny_response must be reset or explain, "
			    "not \"%s\"", n->yn_str);
	}
}

static struct config *
config_defaults(const char *file)
{
	struct config	*cf;

	if ((cf = calloc(1, sizeof(*cf))) == NULL)
		return NULL;
	cf->cf_file = strdup(file);
	cf->cf_mark = DEF_MARK;
	cf->cf_connect_timeout_ms = DEF_CONNECT_TIMEOUT_MS;
	cf->cf_dns_destination = DEST_VERIFY;
	cf->cf_dns_strip_https = true;
	cf->cf_audit_log_allowed = true;
	cf->cf_audit_memory_events = DEF_MEMORY_EVENTS;
	cf->cf_state_dir = strdup("/var/lib/egressd");
	cf->cf_peek_timeout_ms = DEF_PEEK_TIMEOUT_MS;
	cf->cf_peek_max_bytes = DEF_PEEK_MAX_BYTES;
	cf->cf_idle_timeout_s = DEF_IDLE_TIMEOUT_S;
	cf->cf_drain_s = DEF_DRAIN_S;
	cf->cf_max_connections = DEF_MAX_CONNECTIONS;
	cf->cf_max_conn_per_sandbox = DEF_MAX_PER_SANDBOX;
	cf->cf_deny_response = DENY_RESET;
	if (cf->cf_file == NULL || cf->cf_state_dir == NULL) {
		config_free(cf);
		return NULL;
	}
	return cf;
}

static void
config_ids_free(char **ids)
{
	size_t	i;

	for (i = 0; ids != NULL && ids[i] != NULL; i++)
		free(ids[i]);
	free(ids);
}

/* Moves <val> (and <key>) into map <m>, replacing a pair with that key. */
static int
ymap_put(struct ynode *m, struct ynode *key, struct ynode *val)
{
	struct ypair	*v;
	size_t		 i;

	for (i = 0; i < m->yn_count; i++)
		if (strcmp(m->yn_pairs[i].yp_key->yn_str, key->yn_str) == 0) {
			yamltree_free(m->yn_pairs[i].yp_key);
			yamltree_free(m->yn_pairs[i].yp_val);
			m->yn_pairs[i].yp_key = key;
			m->yn_pairs[i].yp_val = val;
			return 0;
		}
	if ((v = realloc(m->yn_pairs, (m->yn_count + 1) * sizeof(*v))) == NULL)
		return -1;
	m->yn_pairs = v;
	v[m->yn_count].yp_key = key;
	v[m->yn_count++].yp_val = val;
	return 0;
}

static const char *
ysandbox_id(const struct ynode *sb)
{
	const struct ynode	*id = map_get(sb, "id");

	return id != NULL && id->yn_type == YN_SCALAR ? id->yn_str : NULL;
}

/*
 * Lays the state file's sandboxes over the config's: keys an overlay entry
 * names replace the config sandbox's; an unknown id adds a sandbox.  The
 * overlay's nodes move into <root>; what is left of <ov> is freed by the
 * caller.  Returns the ids taken from the overlay, NULL-terminated.
 */
static char **
overlay_merge(struct cfctx *cx, struct ynode *root, struct ynode *ov)
{
	static const char *const okeys[] = { "sandboxes", NULL };
	struct ynode	*osbs, *sbs = NULL, *o, *c, *key;
	char		**ids;
	size_t		 i, j, k, nids = 0;

	if (!check_keys(cx, ov, "the state file", okeys))
		return NULL;
	if ((osbs = (struct ynode *)map_get(ov, "sandboxes")) == NULL ||
	    is_null(osbs))
		return calloc(1, sizeof(char *));
	if (!want(cx, osbs, YN_SEQ, "sandboxes"))
		return NULL;
	if ((ids = calloc(osbs->yn_count + 1, sizeof(*ids))) == NULL)
		return NULL;
	for (i = 0; i < root->yn_count; i++)
		if (strcmp(root->yn_pairs[i].yp_key->yn_str, "sandboxes") == 0)
			sbs = root->yn_pairs[i].yp_val;
	if (sbs == NULL || is_null(sbs)) {
		/* The config has none: the overlay's list becomes the list. */
		if ((key = calloc(1, sizeof(*key))) == NULL ||
		    (key->yn_str = strdup("sandboxes")) == NULL) {
			free(key);
			return ids;
		}
		key->yn_type = YN_SCALAR;
		if ((sbs = calloc(1, sizeof(*sbs))) == NULL ||
		    ymap_put(root, key, sbs) == -1) {
			yamltree_free(key);
			free(sbs);
			return ids;
		}
		sbs->yn_type = YN_SEQ;
		sbs->yn_file = osbs->yn_file;
		sbs->yn_line = osbs->yn_line;
		sbs->yn_col = osbs->yn_col;
	}
	if (sbs->yn_type != YN_SEQ)
		return ids;		/* the config's own error reports it */
	for (i = 0; i < osbs->yn_count; i++) {
		o = osbs->yn_items[i];
		if (o->yn_type != YN_MAP || ysandbox_id(o) == NULL) {
			cx_err(cx, o, "state file: each sandbox needs an id");
			continue;
		}
		ids[nids++] = strdup(ysandbox_id(o));
		for (j = 0; j < sbs->yn_count; j++)
			if (ysandbox_id(sbs->yn_items[j]) != NULL &&
			    strcmp(ysandbox_id(sbs->yn_items[j]),
			    ysandbox_id(o)) == 0)
				break;
		if (j == sbs->yn_count) {
			struct ynode **v = realloc(sbs->yn_items,
			    (sbs->yn_count + 1) * sizeof(*v));

			if (v == NULL)
				continue;
			sbs->yn_items = v;
			v[sbs->yn_count++] = o;
			osbs->yn_items[i] = NULL;
			continue;
		}
		c = sbs->yn_items[j];
		if (c->yn_type != YN_MAP)
			continue;
		for (k = 0; k < o->yn_count; k++) {
			if (strcmp(o->yn_pairs[k].yp_key->yn_str, "id") == 0)
				continue;
			if (ymap_put(c, o->yn_pairs[k].yp_key,
			    o->yn_pairs[k].yp_val) == 0) {
				o->yn_pairs[k].yp_key = NULL;
				o->yn_pairs[k].yp_val = NULL;
			}
		}
	}
	return ids;
}

struct config *
config_parse(const char *buf, size_t len, const char *file,
    struct errlist *el)
{
	return config_parse_overlay(buf, len, file, NULL, 0, NULL, el);
}

struct config *
config_parse_overlay(const char *buf, size_t len, const char *file,
    const char *obuf, size_t olen, const char *ofile, struct errlist *el)
{
	static const char *const keys[] = { "listen", "workers", "upstream",
	    "dns", "admin", "audit", "state_dir", "limits", "deny_response",
	    "profiles", "policies", "sandboxes", NULL };
	struct cfctx		 cx;
	struct ynode		*root, *ov = NULL;
	const struct ynode	*n;
	char			**ids = NULL;
	size_t			 errs0 = el->el_count, i;
	struct sandbox		*sb;

	if ((root = yamltree_parse(buf, len, file, el)) == NULL)
		return NULL;
	memset(&cx, 0, sizeof(cx));
	cx.cx_file = file;
	cx.cx_el = el;
	if (obuf != NULL) {
		if ((ov = yamltree_parse(obuf, olen, ofile, el)) == NULL) {
			yamltree_free(root);
			return NULL;
		}
		ids = overlay_merge(&cx, root, ov);
		yamltree_free(ov);
		if (ids == NULL || el->el_count != errs0) {
			yamltree_free(root);
			config_ids_free(ids);
			return NULL;
		}
	}
	if ((cx.cx_cf = config_defaults(file)) == NULL ||
	    (cx.cx_pol = policy_new()) == NULL) {
		errlist_add(el, file, 0, 0, "out of memory");
		goto fail;
	}
	cx.cx_cf->cf_policy = cx.cx_pol;
	if (!check_keys(&cx, root, "the top level", keys))
		goto fail;
	parse_daemon(&cx, root);
	/* References point backwards: profiles, then policies, sandboxes. */
	if ((n = map_get(root, "profiles")) != NULL)
		parse_profiles(&cx, n);
	if ((n = map_get(root, "policies")) != NULL)
		parse_policies(&cx, n);
	if ((n = map_get(root, "sandboxes")) != NULL)
		parse_sandboxes(&cx, n);
	if (el->el_count != errs0)
		goto fail;
	for (i = 0; ids != NULL && ids[i] != NULL; i++)
		if ((sb = (struct sandbox *)policy_sandbox_by_id(cx.cx_pol,
		    ids[i])) != NULL)
			sb->sb_from_api = true;
	config_ids_free(ids);
	yamltree_free(root);
	return cx.cx_cf;
fail:
	config_ids_free(ids);
	yamltree_free(root);
	config_free(cx.cx_cf);
	if (cx.cx_cf == NULL)
		policy_unref(cx.cx_pol);
	return NULL;
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
	policy_unref(cf->cf_policy);
	free(cf);
}
