/*
 * policy/parse.c - profiles, policies and sandboxes from the YAML tree
 * (docs/config.md), validated with every error reported as
 * FILE:LINE:COLUMN.  Pure: no I/O, nothing built unless all is valid.
 */
#include "policy/parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cidr.h"
#include "policy/policy_int.h"

/* Where we are: every check adds to the error list and goes on. */
struct cfctx {
	struct yread	 cx_yr;
	struct policy	*cx_pol;
	bool		 cx_ca;		/* a tls_intercept section is there */
};

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

	if (!yread_want_list(&cx->cx_yr, n, what))
		return;
	for (i = 0; i < yread_len(n); i++) {
		it = yread_at(n, i);
		if (!yread_want(&cx->cx_yr, it, YN_SCALAR, what))
			continue;
		if (hostpat_parse(it->yn_str, &hp, &why) == -1) {
			yread_err(&cx->cx_yr, it, "%s: \"%s\": %s", what, it->yn_str, why);
			continue;
		}
		text = xasprintf("%s %s", textpfx, it->yn_str);
		if (hp.hp_kind == HOSTPAT_IP) {
			c.ci_addr = hp.hp_ip;
			c.ci_prefix = hp.hp_ip.ia_family == 4 ? 32 : 128;
			if (cidr_rule_push(cidrs, &c, text) == -1)
				yread_err(&cx->cx_yr, it, "out of memory");
			continue;
		}
		if (text == NULL || hostset_add(hs, &hp, text, whybuf,
		    sizeof(whybuf)) == -1)
			yread_err(&cx->cx_yr, it, "%s: \"%s\": %s", what, it->yn_str,
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

	if (!yread_want_list(&cx->cx_yr, n, what))
		return;
	for (i = 0; i < yread_len(n); i++) {
		it = yread_at(n, i);
		if (!yread_want(&cx->cx_yr, it, YN_SCALAR, what))
			continue;
		if (cidr_parse(it->yn_str, &c, &why) == -1) {
			yread_err(&cx->cx_yr, it, "%s: \"%s\" is not a CIDR: %s", what,
			    it->yn_str, why);
			continue;
		}
		if (cidr_rule_push(cidrs, &c, xasprintf("%s %s",
		    textpfx, it->yn_str)) == -1)
			yread_err(&cx->cx_yr, it, "out of memory");
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

	if (!yread_want_list(&cx->cx_yr, n, what))
		return;
	for (i = 0; i < yread_len(n); i++) {
		it = yread_at(n, i);
		if (!yread_want(&cx->cx_yr, it, YN_SCALAR, what))
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
			yread_err(&cx->cx_yr, it, "%s: \"%s\": ports are 1-65535 and a "
			    "range is LOW-HIGH", what, it->yn_str);
			continue;
		}
		pr.pr_lo = (uint16_t)lo;
		pr.pr_hi = (uint16_t)hi;
		pr.pr_text = xasprintf("%s %s", textpfx, it->yn_str);
		if (pr.pr_text == NULL || (v = realloc(rs->rs_ports,
		    (rs->rs_nports + 1) * sizeof(*v))) == NULL) {
			free(pr.pr_text);
			yread_err(&cx->cx_yr, it, "out of memory");
			continue;
		}
		rs->rs_ports = v;
		v[rs->rs_nports++] = pr;
		continue;
bad:
		yread_err(&cx->cx_yr, it, "%s: \"%s\" is not a port or a port range "
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
	if (yread_null(n) || !yread_keys(&cx->cx_yr, n, what, keys))
		return;
	if ((v = yread_get(n, "hosts")) != NULL) {
		snprintf(what, sizeof(what), "%s %s.hosts", owner, side);
		snprintf(pfx, sizeof(pfx), "%s.hosts", side);
		parse_hosts(cx, v, what, pfx, rs->rs_hosts, rs->rs_cidrs);
	}
	if ((v = yread_get(n, "cidrs")) != NULL) {
		snprintf(what, sizeof(what), "%s %s.cidrs", owner, side);
		snprintf(pfx, sizeof(pfx), "%s.cidrs", side);
		parse_cidrs(cx, v, what, pfx, rs->rs_cidrs);
	}
	if ((v = yread_get(n, "ports")) != NULL) {
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

	if (yread_null(n) || !yread_want(&cx->cx_yr, n, YN_MAP, "profiles"))
		return;
	for (i = 0; i < n->yn_count; i++) {
		name = n->yn_pairs[i].yp_key;
		def = n->yn_pairs[i].yp_val;
		snprintf(what, sizeof(what), "profile \"%s\"", name->yn_str);
		if (find_profile(cx->cx_pol, name->yn_str) != NULL) {
			yread_err(&cx->cx_yr, name, "%s is defined twice", what);
			continue;
		}
		if (!yread_keys(&cx->cx_yr, def, what, keys))
			continue;
		if ((pf = profile_new(name->yn_str)) == NULL ||
		    policy_push((void ***)&cx->cx_pol->p_profiles,
		    &cx->cx_pol->p_nprofiles, pf) == -1) {
			profile_free(pf);
			yread_err(&cx->cx_yr, name, "out of memory");
			continue;
		}
		if ((hosts = yread_get(def, "hosts")) != NULL) {
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

	if (!yread_want_list(&cx->cx_yr, n, what))
		return;
	*dst = 0;
	for (i = 0; i < yread_len(n); i++) {
		it = yread_at(n, i);
		if (!yread_want(&cx->cx_yr, it, YN_SCALAR, what))
			continue;
		if (strcmp(it->yn_str, "tls") == 0)
			*dst |= POLICY_PROTO_TLS;
		else if (strcmp(it->yn_str, "http") == 0)
			*dst |= POLICY_PROTO_HTTP;
		else if (strcmp(it->yn_str, "other") == 0)
			*dst |= POLICY_PROTO_OTHER;
		else
			yread_err(&cx->cx_yr, it, "%s: unknown protocol \"%s\" (tls, "
			    "http, other)", what, it->yn_str);
	}
}

static int
str_list_into(struct cfctx *cx, const struct ynode *n, const char *what,
    char ***out, size_t *nout)
{
	const struct ynode	*it;
	size_t			 i;

	if (!yread_want_list(&cx->cx_yr, n, what))
		return -1;
	if ((*out = calloc(yread_len(n) + 1, sizeof(**out))) == NULL)
		return -1;
	for (i = 0; i < yread_len(n); i++) {
		it = yread_at(n, i);
		if (!yread_want(&cx->cx_yr, it, YN_SCALAR, what))
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
	if (yread_null(n) || !yread_want(&cx->cx_yr, n, YN_SEQ, what))
		return;
	if ((po->po_endpoints = calloc(n->yn_count + 1,
	    sizeof(*po->po_endpoints))) == NULL)
		return;
	for (i = 0; i < n->yn_count; i++) {
		it = n->yn_items[i];
		if (!yread_keys(&cx->cx_yr, it, what, keys))
			continue;
		if ((h = yread_get(it, "host")) == NULL) {
			yread_err(&cx->cx_yr, it, "%s: an entry needs a host", what);
			continue;
		}
		if (!yread_want(&cx->cx_yr, h, YN_SCALAR, what))
			continue;
		if (hostpat_parse(h->yn_str, &hp, &why) == -1 ||
		    hp.hp_kind == HOSTPAT_IP) {
			yread_err(&cx->cx_yr, h, "%s: \"%s\": %s", what, h->yn_str,
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
			yread_err(&cx->cx_yr, h, "%s: \"%s\": %s", what, h->yn_str,
			    whybuf);
			continue;
		}
		if ((v = yread_get(it, "methods")) != NULL)
			str_list_into(cx, v, "endpoints methods",
			    &ep->ep_methods, &ep->ep_nmethods);
		for (j = 0; j < ep->ep_nmethods; j++) {
			const char *m = ep->ep_methods[j];

			if (m == NULL || strspn(m, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") !=
			    strlen(m) || m[0] == '\0')
				yread_err(&cx->cx_yr, v, "%s: method \"%s\" must be an "
				    "upper-case HTTP method", what, m ? m : "");
		}
		if ((v = yread_get(it, "paths")) != NULL)
			str_list_into(cx, v, "endpoints paths", &ep->ep_paths,
			    &ep->ep_npaths);
		for (j = 0; j < ep->ep_npaths; j++)
			if (ep->ep_paths[j] == NULL ||
			    ep->ep_paths[j][0] != '/')
				yread_err(&cx->cx_yr, v, "%s: path \"%s\" must start with "
				    "/", what, ep->ep_paths[j] ?
				    ep->ep_paths[j] : "");
	}
}

/* A host pattern (not an IP) of <what> into <hs>; false after an error. */
static bool
host_pattern_into(struct cfctx *cx, const struct ynode *it, const char *what,
    struct hostset *hs, const char *text)
{
	struct hostpat	 hp;
	const char	*why;
	char		 whybuf[320];

	if (!yread_want(&cx->cx_yr, it, YN_SCALAR, what))
		return false;
	if (hostpat_parse(it->yn_str, &hp, &why) == -1 ||
	    hp.hp_kind == HOSTPAT_IP) {
		yread_err(&cx->cx_yr, it, "%s: \"%s\": %s", what, it->yn_str,
		    hp.hp_kind == HOSTPAT_IP ? "interception needs host "
		    "names, not addresses" : why);
		return false;
	}
	if (hostset_add(hs, &hp, text, whybuf, sizeof(whybuf)) == -1) {
		yread_err(&cx->cx_yr, it, "%s: \"%s\": %s", what, it->yn_str,
		    whybuf);
		return false;
	}
	return true;
}

/* Needs the CA of tls_intercept: intercepting mints certificates. */
static bool
want_ca(struct cfctx *cx, const struct ynode *n, const char *what)
{
	if (cx->cx_ca)
		return true;
	yread_err(&cx->cx_yr, n, "%s needs a tls_intercept section (the CA "
	    "that signs intercepted hosts' certificates)", what);
	return false;
}

static void
parse_intercept(struct cfctx *cx, const struct ynode *n, const char *owner,
    struct pol *po)
{
	const struct ynode	*it;
	char			 what[192];
	size_t			 i;

	snprintf(what, sizeof(what), "%s intercept_tls", owner);
	if (!want_ca(cx, n, what) || !yread_want_list(&cx->cx_yr, n, what))
		return;
	if ((po->po_intercept = hostset_new()) == NULL) {
		yread_err(&cx->cx_yr, n, "out of memory");
		return;
	}
	for (i = 0; i < yread_len(n); i++) {
		it = yread_at(n, i);
		if (it->yn_type == YN_SCALAR) {
			char	*text = xasprintf("intercept_tls %s", it->yn_str);

			(void)host_pattern_into(cx, it, what, po->po_intercept,
			    text != NULL ? text : "intercept_tls");
			free(text);
		} else
			(void)yread_want(&cx->cx_yr, it, YN_SCALAR, what);
	}
}

/*
 * Whether intercept_tls of <po> covers every name credential pattern
 * <pat> can match: an exact name it matches, a wildcard under one of its
 * wildcards, a regex it lists as such.
 */
static bool
intercept_covers(const struct ynode *icpt, const char *pat)
{
	const struct ynode	*it;
	struct hostpat		 cp, ip;
	const char		*why;
	size_t			 i, n, m;

	if (hostpat_parse(pat, &cp, &why) == -1)
		return false;
	for (i = 0; icpt != NULL && i < yread_len(icpt); i++) {
		it = yread_at(icpt, i);
		if (it->yn_type != YN_SCALAR ||
		    hostpat_parse(it->yn_str, &ip, &why) == -1)
			continue;
		switch (cp.hp_kind) {
		case HOSTPAT_REGEX:
			if (ip.hp_kind == HOSTPAT_REGEX &&
			    strcmp(cp.hp_regex, ip.hp_regex) == 0)
				return true;
			break;
		case HOSTPAT_EXACT:
		case HOSTPAT_WILDCARD:
			if (ip.hp_kind == HOSTPAT_EXACT &&
			    cp.hp_kind == HOSTPAT_EXACT &&
			    strcmp(cp.hp_name, ip.hp_name) == 0)
				return true;
			if (ip.hp_kind != HOSTPAT_WILDCARD)
				break;
			/* Under *.S: S itself when a wildcard, below S. */
			n = strlen(cp.hp_name);
			m = strlen(ip.hp_name);
			if (cp.hp_kind == HOSTPAT_WILDCARD && n == m &&
			    strcmp(cp.hp_name, ip.hp_name) == 0)
				return true;
			if (n > m + 1 && cp.hp_name[n - m - 1] == '.' &&
			    strcmp(cp.hp_name + n - m, ip.hp_name) == 0)
				return true;
			break;
		case HOSTPAT_IP:
			break;
		}
	}
	return false;
}

/*
 * Fields that say where a request goes, where it ends or what the
 * connection becomes: rewriting one would change what was judged (and
 * "_" spellings are refused by egressd's own parser).
 */
static bool
framing_field(const char *name)
{
	static const char *const f[] = { "host", "content-length",
	    "transfer-encoding", "connection", "upgrade", "te", "trailer",
	    "keep-alive", "proxy-connection", "expect", NULL };
	size_t	i;

	if (strchr(name, '_') != NULL)
		return true;
	for (i = 0; f[i] != NULL; i++)
		if (strcasecmp(name, f[i]) == 0)
			return true;
	return false;
}

static void
parse_credentials(struct cfctx *cx, const struct ynode *n, const char *owner,
    const struct ynode *icpt, struct pol *po)
{
	static const char *const keys[] = { "host", "header", "value_file",
	    "phantom", NULL };
	static const char tchar[] = "!#$%&'*+-.^_`|~0123456789"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	const struct ynode	*it, *h, *hd, *vf;
	struct credential	*cr;
	char			 what[192];
	size_t			 i;

	snprintf(what, sizeof(what), "%s credentials", owner);
	/*
	 * A value_file is read by egressd and sent to a server: only the
	 * operator's file may name one, never the admin API's state.
	 */
	if (n->yn_file != NULL && cx->cx_yr.yr_file != NULL &&
	    strcmp(n->yn_file, cx->cx_yr.yr_file) != 0) {
		yread_err(&cx->cx_yr, n, "%s are set in the config file, not "
		    "through the admin API", what);
		return;
	}
	if (!want_ca(cx, n, what) || yread_null(n) ||
	    !yread_want(&cx->cx_yr, n, YN_SEQ, what))
		return;
	if ((po->po_creds = calloc(n->yn_count + 1, sizeof(*po->po_creds))) ==
	    NULL)
		return;
	for (i = 0; i < n->yn_count; i++) {
		it = n->yn_items[i];
		if (!yread_keys(&cx->cx_yr, it, what, keys))
			continue;
		h = yread_get(it, "host");
		hd = yread_get(it, "header");
		vf = yread_get(it, "value_file");
		if (h == NULL || hd == NULL || vf == NULL) {
			yread_err(&cx->cx_yr, it, "%s: an entry needs host, "
			    "header and value_file", what);
			continue;
		}
		if (!yread_want(&cx->cx_yr, hd, YN_SCALAR, what) ||
		    !yread_want(&cx->cx_yr, vf, YN_SCALAR, what) ||
		    !yread_want(&cx->cx_yr, h, YN_SCALAR, what))
			continue;
		if (hd->yn_str[0] == '\0' ||
		    strspn(hd->yn_str, tchar) != strlen(hd->yn_str)) {
			yread_err(&cx->cx_yr, hd, "%s: header \"%s\" is not an "
			    "HTTP field name", what, hd->yn_str);
			continue;
		}
		if (framing_field(hd->yn_str)) {
			yread_err(&cx->cx_yr, hd, "%s: header \"%s\" decides how "
			    "a request is framed or routed; a credential cannot "
			    "replace it", what, hd->yn_str);
			continue;
		}
		if (vf->yn_str[0] == '\0') {
			yread_err(&cx->cx_yr, vf, "%s: value_file is empty",
			    what);
			continue;
		}
		cr = &po->po_creds[po->po_ncreds++];
		cr->cr_text = xasprintf("credentials %s", h->yn_str);
		cr->cr_hosts = hostset_new();
		cr->cr_header = strdup(hd->yn_str);
		cr->cr_path = strdup(vf->yn_str);
		cr->cr_file = strdup(vf->yn_file != NULL ? vf->yn_file : "");
		cr->cr_line = vf->yn_line;
		cr->cr_col = vf->yn_col;
		if (cr->cr_text == NULL || cr->cr_hosts == NULL ||
		    cr->cr_header == NULL || cr->cr_path == NULL ||
		    cr->cr_file == NULL) {
			yread_err(&cx->cx_yr, it, "out of memory");
			continue;
		}
		if (!host_pattern_into(cx, h, what, cr->cr_hosts, cr->cr_text))
			continue;
		/* A secret only ever goes inside TLS that egressd opened. */
		if (!intercept_covers(icpt, h->yn_str))
			yread_err(&cx->cx_yr, h, "%s: host \"%s\" is not covered "
			    "by this policy's intercept_tls, so the credential "
			    "could never be added", what, h->yn_str);
		yread_set_bool(&cx->cx_yr, it, "phantom", "phantom",
		    &cr->cr_phantom);
	}
}

static const char *
parse_mode(struct cfctx *cx, const struct ynode *n, const char *what,
    enum policy_mode *mode)
{
	if (!yread_want(&cx->cx_yr, n, YN_SCALAR, what))
		return NULL;
	if (strcmp(n->yn_str, "block-all") == 0)
		*mode = MODE_BLOCK_ALL;
	else if (strcmp(n->yn_str, "allow-all") == 0)
		*mode = MODE_ALLOW_ALL;
	else if (strcmp(n->yn_str, "learn") == 0)
		*mode = MODE_LEARN;
	else
		yread_err(&cx->cx_yr, n, "%s must be block-all, allow-all or "
		    "learn, not \"%s\"", what, n->yn_str);
	return n->yn_str;
}

void
policy_parse_dest(struct yread *yr, const struct ynode *n, const char *what,
    enum policy_dest *dst)
{
	if (!yread_want(yr, n, YN_SCALAR, what))
		return;
	if (strcmp(n->yn_str, "verify") == 0)
		*dst = DEST_VERIFY;
	else if (strcmp(n->yn_str, "redial") == 0)
		*dst = DEST_REDIAL;
	else if (strcmp(n->yn_str, "trust") == 0)
		*dst = DEST_TRUST;
	else
		yread_err(yr, n, "%s must be verify, redial or trust, not "
		    "\"%s\"", what, n->yn_str);
}

static void
parse_policies(struct cfctx *cx, const struct ynode *n)
{
	static const char *const keys[] = { "mode", "protocols", "profiles",
	    "allow", "deny", "endpoints", "allow_private", "destination",
	    "intercept_tls", "credentials", NULL };
	const struct ynode	*name, *def, *v, *it;
	struct pol		*po;
	struct profile		*pf;
	char			 what[160];
	size_t			 i, j;

	if (yread_null(n) || !yread_want(&cx->cx_yr, n, YN_MAP, "policies"))
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
			yread_err(&cx->cx_yr, name, "%s is defined twice", what);
			continue;
		}
		if (!yread_null(def) && !yread_keys(&cx->cx_yr, def, what, keys))
			continue;
		if ((po = pol_new(name->yn_str)) == NULL ||
		    policy_push((void ***)&cx->cx_pol->p_pols,
		    &cx->cx_pol->p_npols, po) == -1) {
			pol_free(po);
			yread_err(&cx->cx_yr, name, "out of memory");
			continue;
		}
		if (yread_null(def))
			continue;
		if ((v = yread_get(def, "mode")) != NULL)
			parse_mode(cx, v, "mode", &po->po_mode);
		if ((v = yread_get(def, "protocols")) != NULL)
			parse_protocols(cx, v, "protocols", &po->po_protocols);
		if ((v = yread_get(def, "profiles")) != NULL &&
		    yread_want_list(&cx->cx_yr, v, "profiles")) {
			for (j = 0; j < yread_len(v); j++) {
				it = yread_at(v, j);
				if (!yread_want(&cx->cx_yr, it, YN_SCALAR, "profiles"))
					continue;
				if ((pf = profile_lookup(cx, it)) == NULL) {
					yread_err(&cx->cx_yr, it, "%s: undefined profile "
					    "\"%s\"", what, it->yn_str);
					continue;
				}
				if (policy_push((void ***)&po->po_profiles,
				    &po->po_nprofiles, pf) == -1)
					yread_err(&cx->cx_yr, it, "out of memory");
			}
		}
		if ((v = yread_get(def, "allow")) != NULL)
			parse_rule_set(cx, v, "allow", what, &po->po_allow);
		if ((v = yread_get(def, "deny")) != NULL)
			parse_rule_set(cx, v, "deny", what, &po->po_deny);
		if ((v = yread_get(def, "endpoints")) != NULL)
			parse_endpoints(cx, v, what, po);
		if ((v = yread_get(def, "intercept_tls")) != NULL)
			parse_intercept(cx, v, what, po);
		if ((v = yread_get(def, "credentials")) != NULL)
			parse_credentials(cx, v, what,
			    yread_get(def, "intercept_tls"), po);
		if ((v = yread_get(def, "destination")) != NULL)
			policy_parse_dest(&cx->cx_yr, v, "destination",
			    &po->po_destination);
		yread_set_bool(&cx->cx_yr, def, "allow_private", "allow_private",
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

	if (!yread_want_list(&cx->cx_yr, v, "sources"))
		return;
	/* One spare element: an empty list still means "no source". */
	if ((sb->sb_sources = calloc(yread_len(v) + 1,
	    sizeof(*sb->sb_sources))) == NULL)
		return;
	for (j = 0; j < yread_len(v); j++) {
		it = yread_at(v, j);
		if (!yread_want(&cx->cx_yr, it, YN_SCALAR, "sources"))
			continue;
		if (cidr_parse(it->yn_str, &sb->sb_sources[sb->sb_nsources],
		    &why) == -1)
			yread_err(&cx->cx_yr, it, "sandbox \"%s\" sources: \"%s\" is not "
			    "a CIDR: %s", sb->sb_id, it->yn_str, why);
		else
			sb->sb_nsources++;
	}
}

/* Two sandboxes may not claim the same client address. */
/*
 * Indexes <sb>: sandboxes are told apart by source, so no two may share
 * one (or both match any source).
 */
static void
check_overlap(struct cfctx *cx, const struct ynode *at, struct sandbox *sb)
{
	const struct sandbox	*o;
	const struct cidr	*mine;
	char			 a[64], b[64];
	size_t			 k;

	if (policy_index_sandbox(cx->cx_pol, sb, &o, &mine) == 0)
		return;
	if (o == NULL) {
		yread_err(&cx->cx_yr, at, "out of memory");
		return;
	}
	if (mine == NULL) {
		yread_err(&cx->cx_yr, at, "sandbox \"%s\" has no sources, like "
		    "sandbox \"%s\": only one sandbox may match any source",
		    sb->sb_id, o->sb_id);
		return;
	}
	cidr_format(mine, a, sizeof(a));
	snprintf(b, sizeof(b), "?");
	for (k = 0; k < o->sb_nsources; k++)
		if (cidr_overlap(mine, &o->sb_sources[k]))
			cidr_format(&o->sb_sources[k], b, sizeof(b));
	yread_err(&cx->cx_yr, at, "sandbox \"%s\" source %s overlaps source %s "
	    "of sandbox \"%s\"", sb->sb_id, a, b, o->sb_id);
}

/* mode, allow and deny of a sandbox (or of its session) into <po>. */
static void
parse_own_rules(struct cfctx *cx, const struct ynode *def, const char *what,
    struct pol *po)
{
	const struct ynode	*v;

	if ((v = yread_get(def, "mode")) != NULL)
		parse_mode(cx, v, "mode", &po->po_mode);
	if ((v = yread_get(def, "allow")) != NULL)
		parse_rule_set(cx, v, "allow", what, &po->po_allow);
	if ((v = yread_get(def, "deny")) != NULL)
		parse_rule_set(cx, v, "deny", what, &po->po_deny);
}

/*
 * A session (docs/admin.md): one more policy judging the sandbox, laid
 * on by the admin API and kept in memory only, so never from a file.
 */
static void
parse_session(struct cfctx *cx, const struct ynode *n, struct sandbox *sb)
{
	static const char *const keys[] = { "mode", "allow", "deny", NULL };
	char	what[160], *name;

	if (n->yn_file != NULL && cx->cx_yr.yr_file != NULL &&
	    strcmp(n->yn_file, cx->cx_yr.yr_file) == 0) {
		yread_err(&cx->cx_yr, n, "a sandbox's session is set through "
		    "the admin API, not in the config file");
		return;
	}
	if (!yread_keys(&cx->cx_yr, n, "session", keys))
		return;
	snprintf(what, sizeof(what), "session of sandbox \"%s\"", sb->sb_id);
	if ((name = xasprintf("session:%s", sb->sb_id)) == NULL ||
	    (sb->sb_session = pol_new(name)) == NULL) {
		free(name);
		yread_err(&cx->cx_yr, n, "out of memory");
		return;
	}
	free(name);
	parse_own_rules(cx, n, what, sb->sb_session);
}

static void
parse_sandbox(struct cfctx *cx, const struct ynode *def)
{
	static const char *const keys[] = { "id", "sources", "policies",
	    "intercept", "mode", "allow", "deny", "session", NULL };
	const struct ynode	*idn, *v, *it;
	struct sandbox		*sb;
	char			 what[160];
	size_t			 j, k;

	if (!yread_keys(&cx->cx_yr, def, "sandbox", keys))
		return;
	if ((idn = yread_get(def, "id")) == NULL) {
		yread_err(&cx->cx_yr, def, "sandbox needs an id");
		return;
	}
	if (!yread_want(&cx->cx_yr, idn, YN_SCALAR, "sandbox id"))
		return;
	if (!valid_sandbox_id(idn->yn_str)) {
		yread_err(&cx->cx_yr, idn, "sandbox id \"%s\" must be 1-64 characters of "
		    "A-Z a-z 0-9 . _ -", idn->yn_str);
		return;
	}
	if (policy_sandbox_by_id(cx->cx_pol, idn->yn_str) != NULL) {
		yread_err(&cx->cx_yr, idn, "duplicate sandbox id \"%s\"", idn->yn_str);
		return;
	}
	if ((sb = calloc(1, sizeof(*sb))) == NULL ||
	    (sb->sb_id = strdup(idn->yn_str)) == NULL ||
	    policy_push((void ***)&cx->cx_pol->p_sandboxes,
	    &cx->cx_pol->p_nsandboxes, sb) == -1) {
		sandbox_free(sb);
		yread_err(&cx->cx_yr, idn, "out of memory");
		return;
	}
	sb->sb_intercept = true;
	snprintf(what, sizeof(what), "sandbox \"%s\"", sb->sb_id);
	if ((v = yread_get(def, "sources")) != NULL)
		parse_sources(cx, v, sb);
	check_overlap(cx, idn, sb);
	if ((v = yread_get(def, "policies")) != NULL &&
	    yread_want_list(&cx->cx_yr, v, "policies")) {
		for (j = 0; j < yread_len(v); j++) {
			it = yread_at(v, j);
			if (!yread_want(&cx->cx_yr, it, YN_SCALAR, "policies"))
				continue;
			for (k = 0; k < cx->cx_pol->p_npols; k++)
				if (strcmp(cx->cx_pol->p_pols[k]->po_name,
				    it->yn_str) == 0)
					break;
			if (k == cx->cx_pol->p_npols)
				yread_err(&cx->cx_yr, it, "%s: undefined policy \"%s\"",
				    what, it->yn_str);
			else if (policy_push((void ***)&sb->sb_pols,
			    &sb->sb_npols, cx->cx_pol->p_pols[k]) == -1)
				yread_err(&cx->cx_yr, it, "out of memory");
		}
	}
	yread_set_bool(&cx->cx_yr, def, "intercept", "intercept", &sb->sb_intercept);
	if (yread_get(def, "allow") != NULL || yread_get(def, "deny") != NULL ||
	    yread_get(def, "mode") != NULL) {
		sb->sb_inline_name = xasprintf("sandbox:%s", sb->sb_id);
		if (sb->sb_inline_name == NULL ||
		    (sb->sb_inline = pol_new(sb->sb_inline_name)) == NULL) {
			yread_err(&cx->cx_yr, def, "out of memory");
			return;
		}
		parse_own_rules(cx, def, what, sb->sb_inline);
	}
	if ((v = yread_get(def, "session")) != NULL)
		parse_session(cx, v, sb);
}

static void
parse_sandboxes(struct cfctx *cx, const struct ynode *n)
{
	size_t	i;

	if (yread_null(n) || !yread_want(&cx->cx_yr, n, YN_SEQ, "sandboxes"))
		return;
	for (i = 0; i < n->yn_count; i++)
		parse_sandbox(cx, n->yn_items[i]);
}

struct policy *
policy_parse(struct yread *yr, const struct ynode *root,
    char *const *api_ids, char *const *api_pols)
{
	struct cfctx		 cx;
	const struct ynode	*n;
	struct sandbox		*sb;
	size_t			 errs0 = yr->yr_el->el_count, i, j;

	memset(&cx, 0, sizeof(cx));
	cx.cx_yr = *yr;
	cx.cx_ca = (n = yread_get(root, "tls_intercept")) != NULL &&
	    !yread_null(n);
	if ((cx.cx_pol = policy_new()) == NULL) {
		yread_err(yr, NULL, "out of memory");
		return NULL;
	}
	/* References point backwards: profiles, then policies, sandboxes. */
	if ((n = yread_get(root, "profiles")) != NULL)
		parse_profiles(&cx, n);
	if ((n = yread_get(root, "policies")) != NULL)
		parse_policies(&cx, n);
	if ((n = yread_get(root, "sandboxes")) != NULL)
		parse_sandboxes(&cx, n);
	if (yr->yr_el->el_count != errs0) {
		policy_unref(cx.cx_pol);
		return NULL;
	}
	for (i = 0; api_ids != NULL && api_ids[i] != NULL; i++)
		if ((sb = (struct sandbox *)policy_sandbox_by_id(cx.cx_pol,
		    api_ids[i])) != NULL)
			sb->sb_from_api = true;
	for (i = 0; api_pols != NULL && api_pols[i] != NULL; i++)
		for (j = 0; j < cx.cx_pol->p_npols; j++)
			if (strcmp(cx.cx_pol->p_pols[j]->po_name,
			    api_pols[i]) == 0)
				cx.cx_pol->p_pols[j]->po_from_api = true;
	return cx.cx_pol;
}
