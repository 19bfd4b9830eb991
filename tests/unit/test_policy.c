/*
 * Policy evaluation as a table: (config, sandbox, connection) ->
 * (action, reason, rule), over every step of docs/config.md, Decisions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errlist.h"
#include "common/cidr.h"
#include "policy/cidrset.h"
#include "daemon/config.h"
#include "policy/hostname.h"
#include "policy/hostset.h"
#include "policy/parse.h"
#include "policy/policy.h"
#include "policy/policy_int.h"
#include "policy/yamltree.h"
#include "policy/yread.h"

#include "check_main.h"

static const char conf[] =
    "profiles:\n"
    "  internal:\n"
    "    hosts: [registry.corp.example]\n"
    "policies:\n"
    "  agent:\n"
    "    mode: block-all\n"
    "    protocols: [tls, http]\n"
    "    profiles: [package-managers, internal]\n"
    "    allow:\n"
    "      hosts: [\"api.openai.com\", \"*.pythonhosted.org\", "
    "\"~^cdn[0-9]+\\\\.example\\\\.net$\", \"203.0.113.7\", "
    "\"Straße.example\"]\n"
    "      cidrs: [\"198.51.100.0/24\", \"2001:db8:100::/48\"]\n"
    "      ports: [80, 443, \"8000-8100\"]\n"
    "    deny:\n"
    "      hosts: [\"*.evil.example\", \"bad.pythonhosted.org\"]\n"
    "      cidrs: [\"198.51.100.66/32\"]\n"
    "      ports: [25]\n"
    "  open:\n"
    "    mode: allow-all\n"
    "    deny: { hosts: [\"blocked.example\"] }\n"
    "  raw:\n"
    "    allow: { cidrs: [\"203.0.113.0/24\"] }\n"
    "  priv:\n"
    "    allow_private: true\n"
    "    allow: { hosts: [\"internal.example\"] }\n"
    "sandboxes:\n"
    "  - id: a1\n"
    "    sources: [\"198.18.0.2/32\"]\n"
    "    policies: [agent]\n"
    "  - id: both\n"
    "    sources: [\"198.18.1.0/24\"]\n"
    "    policies: [agent, open]\n"
    "  - id: off\n"
    "    sources: [\"198.18.2.0/24\"]\n"
    "    policies: [agent]\n"
    "    intercept: false\n"
    "  - id: raw\n"
    "    sources: [\"198.18.3.0/24\"]\n"
    "    policies: [raw]\n"
    "  - id: inl\n"
    "    sources: [\"198.18.4.0/24\"]\n"
    "    allow: { hosts: [\"only.example\"] }\n"
    "  - id: merged\n"
    "    sources: [\"198.18.5.0/24\"]\n"
    "    policies: [agent]\n"
    "    allow: { hosts: [\"extra.example\"] }\n"
    "    deny: { hosts: [\"api.openai.com\"] }\n"
    "  - id: priv\n"
    "    sources: [\"198.18.6.0/24\"]\n"
    "    policies: [priv]\n"
    "  - id: nopriv\n"
    "    sources: [\"198.18.7.0/24\"]\n"
    "    allow: { hosts: [\"internal.example\"] }\n";

struct eval_case {
	const char	*sandbox;
	int		 proto;
	const char	*host;		/* NULL = no host */
	const char	*dst;
	unsigned	 port;
	const char	*action;
	const char	*reason;
	const char	*rule;		/* NULL = don't care */
};

static const struct eval_case cases[] = {
	{ "a1", POLICY_PROTO_TLS, "api.openai.com", "203.0.113.1", 443,
	    "allow", "rule", "allow.hosts api.openai.com" },
	{ "a1", POLICY_PROTO_TLS, "API.OpenAI.com", "203.0.113.1", 443,
	    "allow", "rule", NULL },
	{ "a1", POLICY_PROTO_TLS, "files.pythonhosted.org", "203.0.113.1", 443,
	    "allow", "rule", NULL },
	{ "a1", POLICY_PROTO_TLS, "a.b.pythonhosted.org", "203.0.113.1", 443,
	    "allow", "rule", "allow.hosts *.pythonhosted.org" },
	/* A wildcard never matches its apex. */
	{ "a1", POLICY_PROTO_TLS, "pythonhosted.org", "203.0.113.1", 443,
	    "deny", "no-matching-allow", NULL },
	{ "a1", POLICY_PROTO_TLS, "bad.pythonhosted.org", "203.0.113.1", 443,
	    "deny", "denied-by-rule", "deny.hosts bad.pythonhosted.org" },
	{ "a1", POLICY_PROTO_TLS, "x.evil.example", "203.0.113.1", 443,
	    "deny", "denied-by-rule", "deny.hosts *.evil.example" },
	{ "a1", POLICY_PROTO_TLS, "evil.example", "203.0.113.1", 443,
	    "deny", "no-matching-allow", NULL },
	{ "a1", POLICY_PROTO_TLS, "cdn42.example.net", "203.0.113.1", 443,
	    "allow", "rule", NULL },
	{ "a1", POLICY_PROTO_TLS, "cdn.example.net", "203.0.113.1", 443,
	    "deny", "no-matching-allow", NULL },
	{ "a1", POLICY_PROTO_TLS, "xcdn1.example.net", "203.0.113.1", 443,
	    "deny", "no-matching-allow", NULL },
	{ "a1", POLICY_PROTO_TLS, "pypi.org", "203.0.113.1", 443,
	    "allow", "rule", "profiles.package-managers pypi.org" },
	{ "a1", POLICY_PROTO_TLS, "registry.corp.example", "203.0.113.1", 443,
	    "allow", "rule", "profiles.internal registry.corp.example" },
	{ "a1", POLICY_PROTO_TLS, "xn--strae-oqa.example", "203.0.113.1", 443,
	    "allow", "rule", NULL },
	{ "a1", POLICY_PROTO_OTHER, NULL, "198.51.100.9", 443,
	    "deny", "protocol-not-allowed", "protocols" },
	{ "a1", POLICY_PROTO_TLS, NULL, "198.51.100.9", 443,
	    "allow", "rule", "allow.cidrs 198.51.100.0/24" },
	{ "a1", POLICY_PROTO_TLS, NULL, "198.51.100.66", 443,
	    "deny", "denied-by-rule", "deny.cidrs 198.51.100.66/32" },
	{ "a1", POLICY_PROTO_TLS, NULL, "2001:db8:100::5", 443,
	    "allow", "rule", NULL },
	{ "a1", POLICY_PROTO_TLS, NULL, "::ffff:198.51.100.9", 443,
	    "allow", "rule", NULL },
	{ "a1", POLICY_PROTO_TLS, "api.openai.com", "203.0.113.1", 25,
	    "deny", "denied-by-rule", "deny.ports 25" },
	{ "a1", POLICY_PROTO_TLS, "api.openai.com", "203.0.113.1", 22,
	    "deny", "port-not-allowed", "allow.ports" },
	{ "a1", POLICY_PROTO_HTTP, "api.openai.com", "203.0.113.1", 8050,
	    "allow", "rule", NULL },
	/* IP-literal SNI: cidrs only, and it must be the destination. */
	{ "a1", POLICY_PROTO_TLS, "203.0.113.7", "203.0.113.7", 443,
	    "allow", "rule", "allow.hosts 203.0.113.7" },
	{ "a1", POLICY_PROTO_TLS, "203.0.113.7", "203.0.113.8", 443,
	    "deny", "destination-mismatch", NULL },
	/* Host rules never reach private space without an opt-in. */
	{ "a1", POLICY_PROTO_TLS, "api.openai.com", "169.254.169.254", 443,
	    "deny", "private-destination", NULL },
	{ "a1", POLICY_PROTO_TLS, "api.openai.com", "::ffff:127.0.0.1", 443,
	    "deny", "private-destination", NULL },
	{ "a1", POLICY_PROTO_TLS, "api.openai.com", "fd00::1", 443,
	    "deny", "private-destination", NULL },
	{ "priv", POLICY_PROTO_TLS, "internal.example", "10.1.2.3", 443,
	    "allow", "rule", NULL },
	{ "nopriv", POLICY_PROTO_TLS, "internal.example", "10.1.2.3", 443,
	    "deny", "private-destination", NULL },
	/* Several policies: every one must allow. */
	{ "both", POLICY_PROTO_TLS, "pypi.org", "203.0.113.1", 443,
	    "allow", "rule", NULL },
	{ "both", POLICY_PROTO_TLS, "example.org", "203.0.113.1", 443,
	    "deny", "no-matching-allow", NULL },
	{ "off", POLICY_PROTO_OTHER, NULL, "203.0.113.1", 25,
	    "allow", "intercept-off", NULL },
	{ "raw", POLICY_PROTO_OTHER, NULL, "203.0.113.9", 22,
	    "allow", "rule", "allow.cidrs 203.0.113.0/24" },
	{ "raw", POLICY_PROTO_OTHER, NULL, "198.51.100.1", 22,
	    "deny", "no-matching-allow", NULL },
	{ "inl", POLICY_PROTO_TLS, "only.example", "203.0.113.1", 443,
	    "allow", "rule", "allow.hosts only.example" },
	{ "inl", POLICY_PROTO_TLS, "pypi.org", "203.0.113.1", 443,
	    "deny", "no-matching-allow", NULL },
	{ "merged", POLICY_PROTO_TLS, "extra.example", "203.0.113.1", 443,
	    "allow", "rule", "allow.hosts extra.example" },
	{ "merged", POLICY_PROTO_TLS, "api.openai.com", "203.0.113.1", 443,
	    "deny", "denied-by-rule", "deny.hosts api.openai.com" },
	{ "merged", POLICY_PROTO_TLS, "pypi.org", "203.0.113.1", 443,
	    "allow", "rule", NULL },
};

static struct config *
load(void)
{
	struct errlist	 el;
	struct config	*cf;
	size_t		 i;

	errlist_init(&el);
	cf = config_parse(conf, strlen(conf), "t.yaml", &el);
	for (i = 0; i < el.el_count; i++)
		fprintf(stderr, "%s\n", el.el_msgs[i]);
	errlist_free(&el);
	return cf;
}

START_TEST(test_eval_table)
{
	const struct eval_case	*tc = &cases[_i];
	struct config		*cf = load();
	const struct sandbox	*sb;
	struct policy_query	 q;
	struct policy_decision	 d;

	ck_assert_ptr_nonnull(cf);
	sb = policy_sandbox_by_id(cf->cf_policy, tc->sandbox);
	ck_assert_ptr_nonnull(sb);
	memset(&q, 0, sizeof(q));
	q.pq_proto = tc->proto;
	q.pq_host = NULL;
	if (tc->host != NULL) {
		static char	host[256];
		const char	*why;
		struct ipaddr	ia;

		if (ipaddr_parse(tc->host, &ia) == 0)
			snprintf(host, sizeof(host), "%s", tc->host);
		else
			ck_assert_int_eq(hostname_normalize(tc->host, host,
			    sizeof(host), &why), 0);
		q.pq_host = host;
	}
	ck_assert_int_eq(ipaddr_parse(tc->dst, &q.pq_dst), 0);
	q.pq_port = (uint16_t)tc->port;
	policy_eval(sb, &q, &d);
	ck_assert_msg(strcmp(policy_action_str(d.pd_action), tc->action) == 0
	    && strcmp(policy_reason_str(d.pd_reason), tc->reason) == 0,
	    "case %d (%s %s %s:%u): got %s/%s rule %s", _i, tc->sandbox,
	    tc->host ? tc->host : "-", tc->dst, tc->port,
	    policy_action_str(d.pd_action), policy_reason_str(d.pd_reason),
	    d.pd_rule ? d.pd_rule : "-");
	if (tc->rule != NULL)
		ck_assert_str_eq(d.pd_rule ? d.pd_rule : "-", tc->rule);
	config_free(cf);
}
END_TEST

START_TEST(test_sandbox_lookup)
{
	struct config		*cf = load();
	struct ipaddr		 ia;

	ck_assert_ptr_nonnull(cf);
	ipaddr_parse("198.18.1.77", &ia);
	ck_assert_str_eq(sandbox_id(policy_sandbox_find(cf->cf_policy, &ia)),
	    "both");
	ipaddr_parse("198.18.0.2", &ia);
	ck_assert_str_eq(sandbox_id(policy_sandbox_find(cf->cf_policy, &ia)),
	    "a1");
	ipaddr_parse("192.0.2.1", &ia);
	ck_assert_ptr_null(policy_sandbox_find(cf->cf_policy, &ia));
	config_free(cf);
}
END_TEST

START_TEST(test_early)
{
	struct config		*cf = load();
	struct policy_decision	 d;
	struct ipaddr		 ia;

	ck_assert_ptr_nonnull(cf);
	ipaddr_parse("203.0.113.9", &ia);
	/* raw allows by cidr and names no deny host: decided at accept. */
	ck_assert(policy_eval_early(policy_sandbox_by_id(cf->cf_policy,
	    "raw"), &ia, 22, &d));
	ck_assert_str_eq(d.pd_rule, "allow.cidrs 203.0.113.0/24");
	/* agent has deny hosts and a protocol list: must peek. */
	ipaddr_parse("198.51.100.9", &ia);
	ck_assert(!policy_eval_early(policy_sandbox_by_id(cf->cf_policy,
	    "a1"), &ia, 443, &d));
	config_free(cf);
}
END_TEST

START_TEST(test_cidrset)
{
	static const struct {
		const char *cidr, *text;
	} rules[] = {
		{ "10.0.0.0/8", "a" }, { "10.1.0.0/16", "b" },
		{ "10.1.2.3", "c" }, { "0.0.0.0/0", "any4" },
		{ "2001:db8::/32", "d" }, { "2001:db8:1::/48", "e" },
		{ "10.0.0.0/8", "dup" },
	};
	static const struct {
		const char *ip, *want;
	} probes[] = {
		{ "10.9.9.9", "a" }, { "10.1.9.9", "b" }, { "10.1.2.3", "c" },
		{ "192.0.2.1", "any4" }, { "::ffff:10.1.2.3", "c" },
		{ "2001:db8:1::9", "e" }, { "2001:db8:2::9", "d" },
		{ "2001:db9::1", NULL },
	};
	struct cidrset	*cs = cidrset_new();
	struct cidr	 c;
	struct ipaddr	 ia;
	const char	*why, *got;
	size_t		 i;

	for (i = 0; i < nitems(rules); i++) {
		ck_assert_int_eq(cidr_parse(rules[i].cidr, &c, &why), 0);
		ck_assert_int_eq(cidrset_add(cs, &c, rules[i].text), 0);
	}
	ck_assert_uint_eq(cidrset_count(cs), 6);
	for (i = 0; i < nitems(probes); i++) {
		ck_assert_int_eq(ipaddr_parse(probes[i].ip, &ia), 0);
		got = cidrset_match(cs, &ia);
		if (probes[i].want == NULL)
			ck_assert_ptr_null(got);
		else
			ck_assert_str_eq(got ? got : "-", probes[i].want);
	}
	cidrset_free(cs);
}
END_TEST

START_TEST(test_endpoints)
{
	static const char yaml[] =
	    "policies:\n"
	    "  p:\n"
	    "    allow: { hosts: [api.example.com, other.example.com] }\n"
	    "    endpoints:\n"
	    "      - host: api.example.com\n"
	    "        methods: [GET, HEAD]\n"
	    "        paths: [\"/v1/models*\"]\n"
	    "sandboxes:\n"
	    "  - id: s\n"
	    "    policies: [p]\n";
	static const struct {
		const char *host, *method, *path, *reason;
	} ep_cases[] = {
		{ "api.example.com", "GET", "/v1/models", "rule" },
		{ "api.example.com", "HEAD", "/v1/models/gpt", "rule" },
		{ "api.example.com", "POST", "/v1/models", "no-matching-allow" },
		{ "api.example.com", "GET", "/v1/files", "no-matching-allow" },
		{ "api.example.com", "GET", "/v1/models/../admin",
		    "no-matching-allow" },
		{ "api.example.com", "GET", "/v1/models/%2e%2e/admin",
		    "no-matching-allow" },
		{ "api.example.com", "GET", "/v1/models//x", "no-matching-allow" },
		{ "api.example.com", "GET", "/v1/models/%252e%252e/admin",
		    "no-matching-allow" },
		{ "api.example.com", "GET", "/v1/models/x%00", "no-matching-allow" },
		{ "api.example.com", NULL, NULL, "rule" },	/* TLS: no path */
		{ "other.example.com", "POST", "/anything", "rule" },
	};
	struct errlist		 el;
	struct config		*cf;
	const struct sandbox	*sb;
	struct policy_query	 q;
	struct policy_decision	 d;
	size_t			 i;

	errlist_init(&el);
	cf = config_parse(yaml, strlen(yaml), "t.yaml", &el);
	ck_assert_ptr_nonnull(cf);
	sb = policy_sandbox_by_id(cf->cf_policy, "s");
	for (i = 0; i < nitems(ep_cases); i++) {
		memset(&q, 0, sizeof(q));
		q.pq_proto = ep_cases[i].method ? POLICY_PROTO_HTTP :
		    POLICY_PROTO_TLS;
		q.pq_host = ep_cases[i].host;
		q.pq_method = ep_cases[i].method;
		q.pq_path = ep_cases[i].path;
		q.pq_path_len = ep_cases[i].path ? strlen(ep_cases[i].path) : 0;
		q.pq_port = 80;
		ipaddr_parse("203.0.113.1", &q.pq_dst);
		policy_eval(sb, &q, &d);
		ck_assert_msg(strcmp(policy_reason_str(d.pd_reason),
		    ep_cases[i].reason) == 0, "case %zu: %s %s %s -> %s", i,
		    ep_cases[i].host, ep_cases[i].method ? ep_cases[i].method : "-",
		    ep_cases[i].path ? ep_cases[i].path : "-",
		    policy_reason_str(d.pd_reason));
	}
	config_free(cf);
	errlist_free(&el);
}
END_TEST

START_TEST(test_name_check_and_destination)
{
	static const char yaml[] =
	    "policies:\n"
	    "  v:\n"
	    "    allow: { hosts: [\"*.example.com\"] }\n"
	    "    deny: { hosts: [bad.example.com] }\n"
	    "  r:\n"
	    "    destination: redial\n"
	    "    allow: { hosts: [\"*.example.com\"] }\n"
	    "  t:\n"
	    "    destination: trust\n"
	    "    allow: { hosts: [\"*.example.com\"] }\n"
	    "  c:\n"
	    "    allow: { cidrs: [\"203.0.113.0/24\"] }\n"
	    "sandboxes:\n"
	    "  - id: vr\n"
	    "    sources: [198.18.0.0/24]\n"
	    "    policies: [v, r]\n"
	    "  - id: tt\n"
	    "    sources: [198.18.1.0/24]\n"
	    "    policies: [t]\n"
	    "  - id: cidr\n"
	    "    sources: [198.18.2.0/24]\n"
	    "    policies: [c]\n";
	struct errlist		 el;
	struct config		*cf;
	struct policy_decision	 d;
	struct policy_query	 q;

	errlist_init(&el);
	cf = config_parse(yaml, strlen(yaml), "t.yaml", &el);
	ck_assert_ptr_nonnull(cf);
	/* The DNS filter answers names a host rule could allow, only. */
	ck_assert(policy_name_check(policy_sandbox_by_id(cf->cf_policy, "vr"),
	    "a.example.com", &d));
	ck_assert(!policy_name_check(policy_sandbox_by_id(cf->cf_policy, "vr"),
	    "bad.example.com", &d));
	ck_assert_str_eq(policy_reason_str(d.pd_reason), "denied-by-rule");
	ck_assert(!policy_name_check(policy_sandbox_by_id(cf->cf_policy, "vr"),
	    "example.com", &d));
	ck_assert(!policy_name_check(policy_sandbox_by_id(cf->cf_policy,
	    "cidr"), "a.example.com", &d));
	/* The most careful destination check any allowing policy asks for. */
	memset(&q, 0, sizeof(q));
	q.pq_proto = POLICY_PROTO_TLS;
	q.pq_host = "a.example.com";
	q.pq_port = 443;
	ipaddr_parse("203.0.113.5", &q.pq_dst);
	policy_eval(policy_sandbox_by_id(cf->cf_policy, "vr"), &q, &d);
	ck_assert(d.pd_by_host);
	ck_assert_int_eq(d.pd_dest, DEST_REDIAL);
	policy_eval(policy_sandbox_by_id(cf->cf_policy, "tt"), &q, &d);
	ck_assert_int_eq(d.pd_dest, DEST_TRUST);
	policy_eval(policy_sandbox_by_id(cf->cf_policy, "cidr"), &q, &d);
	ck_assert(!d.pd_by_host);
	config_free(cf);
	errlist_free(&el);
}
END_TEST

/*
 * Names from the wire or a config: one canonical spelling or refused.
 * A name a server, a resolver or a URL parser could read as another name
 * (an empty label, an IPv4 address in disguise) is refused.
 */
START_TEST(test_hostname_normalize)
{
	static const struct {
		const char *in, *out;	/* out NULL: refused */
	} nc[] = {
		{ "example.com", "example.com" },
		{ "ExAmPlE.CoM", "example.com" },
		{ "evil.example.", "evil.example" },
		{ "localhost.", "localhost" },
		{ "_dmarc.my_host.example", "_dmarc.my_host.example" },
		{ "b\xc3\xbc" "cher.example", "xn--bcher-kva.example" },
		{ "XN--BCHER-KVA.example", "xn--bcher-kva.example" },
		{ "a.b1", "a.b1" },
		{ "a.0xg", "a.0xg" },
		{ "1a.example", "1a.example" },
		/* Empty labels: only one trailing dot is the root. */
		{ "evil.example..", NULL },
		{ "evil.example...", NULL },
		{ "a..b", NULL },
		{ ".a", NULL },
		{ ".", NULL },
		{ "..", NULL },
		{ "", NULL },
		/* Limits. */
		{ "abcdefghij-abcdefghij-abcdefghij-abcdefghij-abcdefghij-"
		    "abcdefghi.example", NULL },	/* 64-byte label */
		/* Characters no host name holds. */
		{ "a b.example", NULL },
		{ "a\tb.example", NULL },
		{ "a%2e.example", NULL },
		{ "a\\b.example", NULL },
		{ "a~b.example", NULL },
		{ "user@a.example", NULL },
		{ "a.example:443", NULL },
		/* IPv4 in other spellings: inet_aton and URL parsers agree. */
		{ "1.2.3.4.", NULL },
		{ "01.02.03.04", NULL },
		{ "0x7f.1", NULL },
		{ "2130706433", NULL },
		{ "a.example.123", NULL },
		{ "a.0x", NULL },
		{ "a.0XFF", NULL },
	};
	char		out[HOSTNAME_MAX];
	const char	*why;
	size_t		i;
	int		rc;

	for (i = 0; i < nitems(nc); i++) {
		why = NULL;
		rc = hostname_normalize(nc[i].in, out, sizeof(out), &why);
		if (nc[i].out == NULL) {
			ck_assert_msg(rc == -1, "\"%s\" accepted as \"%s\"",
			    nc[i].in, out);
			ck_assert_ptr_nonnull(why);
		} else {
			ck_assert_msg(rc == 0, "\"%s\": %s", nc[i].in, why);
			ck_assert_str_eq(out, nc[i].out);
		}
	}
	/* 253 bytes pass, 254 do not; one trailing dot is not counted. */
	memset(out, 'a', sizeof(out));
	for (i = 63; i < 253; i += 64)
		out[i] = '.';
	out[253] = '\0';
	{
		char	n2[HOSTNAME_MAX + 1], o2[HOSTNAME_MAX];

		ck_assert_int_eq(hostname_normalize(out, o2, sizeof(o2), &why),
		    0);
		snprintf(n2, sizeof(n2), "%s.", out);
		ck_assert_int_eq(hostname_normalize(n2, o2, sizeof(o2), &why),
		    0);
		snprintf(n2, sizeof(n2), "%sa", out);
		ck_assert_int_eq(hostname_normalize(n2, o2, sizeof(o2), &why),
		    -1);
	}
}
END_TEST

/* A pattern that backtracks exponentially on a name that almost fits. */
#define EVIL_RE		"~(a+)+\\.example"
#define EVIL_NAME	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.examplf"

static struct hostset *
one_regex(const char *re)
{
	struct hostset	*hs = hostset_new();
	struct hostpat	 hp;
	const char	*why;
	char		 whybuf[256];

	ck_assert_ptr_nonnull(hs);
	ck_assert_int_eq(hostpat_parse(re, &hp, &why), 0);
	ck_assert_int_eq(hostset_add(hs, &hp, re, whybuf, sizeof(whybuf)), 0);
	return hs;
}

/* The rule: a deny regex that cannot finish denies. */
START_TEST(test_regex_fail_closed)
{
	struct hostset	*hs;

	/* The default limit stops it, quickly. */
	hs = one_regex(EVIL_RE);
	ck_assert_ptr_null(hostset_match(hs, EVIL_NAME));
	ck_assert_str_eq(hostset_match_deny(hs, EVIL_NAME), EVIL_RE);
	/* Names it can decide are decided the same both ways. */
	ck_assert_str_eq(hostset_match(hs, "aaa.example"), EVIL_RE);
	ck_assert_str_eq(hostset_match_deny(hs, "aaa.example"), EVIL_RE);
	ck_assert_ptr_null(hostset_match(hs, "b.example"));
	ck_assert_ptr_null(hostset_match_deny(hs, "b.example"));
	/* A low limit: even a short near miss cannot finish. */
	hostset_set_match_limit(hs, 20);
	ck_assert_ptr_null(hostset_match(hs, "aaaaaaaaaaaa.examplf"));
	ck_assert_str_eq(hostset_match_deny(hs, "aaaaaaaaaaaa.examplf"),
	    EVIL_RE);
	/* Back to the default: the short near miss is a plain no match. */
	hostset_set_match_limit(hs, 0);
	ck_assert_ptr_null(hostset_match_deny(hs, "aaaaaaaaaaaa.examplf"));
	hostset_free(hs);
}
END_TEST

/* The same through policy_eval, the DNS name check and endpoints. */
START_TEST(test_regex_fail_closed_policy)
{
	static const char yaml[] =
	    "policies:\n"
	    "  open:\n"
	    "    mode: allow-all\n"
	    "    deny: { hosts: ['" EVIL_RE "'] }\n"
	    "  closed:\n"
	    "    allow: { hosts: ['" EVIL_RE "'] }\n"
	    "  ep:\n"
	    "    mode: allow-all\n"
	    "    endpoints:\n"
	    "      - host: '" EVIL_RE "'\n"
	    "        paths: [\"/ok\"]\n"
	    "sandboxes:\n"
	    "  - id: open\n"
	    "    sources: [198.18.0.0/24]\n"
	    "    policies: [open]\n"
	    "  - id: closed\n"
	    "    sources: [198.18.1.0/24]\n"
	    "    policies: [closed]\n"
	    "  - id: ep\n"
	    "    sources: [198.18.2.0/24]\n"
	    "    policies: [ep]\n";
	struct errlist		 el;
	struct config		*cf;
	struct policy_query	 q;
	struct policy_decision	 d;
	size_t			 i;

	errlist_init(&el);
	cf = config_parse(yaml, strlen(yaml), "t.yaml", &el);
	for (i = 0; i < el.el_count; i++)
		fprintf(stderr, "%s\n", el.el_msgs[i]);
	ck_assert_ptr_nonnull(cf);
	memset(&q, 0, sizeof(q));
	q.pq_proto = POLICY_PROTO_TLS;
	q.pq_host = EVIL_NAME;
	q.pq_port = 443;
	ipaddr_parse("203.0.113.5", &q.pq_dst);
	policy_eval(policy_sandbox_by_id(cf->cf_policy, "open"), &q, &d);
	ck_assert_str_eq(policy_reason_str(d.pd_reason), "denied-by-rule");
	ck_assert_str_eq(d.pd_rule, "deny.hosts " EVIL_RE);
	policy_eval(policy_sandbox_by_id(cf->cf_policy, "closed"), &q, &d);
	ck_assert_str_eq(policy_action_str(d.pd_action), "deny");
	ck_assert_str_eq(policy_reason_str(d.pd_reason), "no-matching-allow");
	ck_assert(!policy_name_check(policy_sandbox_by_id(cf->cf_policy,
	    "open"), EVIL_NAME, &d));
	ck_assert_str_eq(policy_reason_str(d.pd_reason), "denied-by-rule");
	/* An endpoint entry whose host regex cannot finish still governs. */
	q.pq_proto = POLICY_PROTO_HTTP;
	q.pq_port = 80;
	q.pq_method = "GET";
	q.pq_path = "/admin";
	q.pq_path_len = 6;
	policy_eval(policy_sandbox_by_id(cf->cf_policy, "ep"), &q, &d);
	ck_assert_str_eq(policy_action_str(d.pd_action), "deny");
	config_free(cf);
	errlist_free(&el);
}
END_TEST

/* Learn mode: each refusal for want of an allow passes, rules do not. */
START_TEST(test_learn)
{
	static const char yaml[] =
	    "policies:\n"
	    "  l:\n"
	    "    mode: learn\n"
	    "    protocols: [tls]\n"
	    "    allow: { hosts: [ok.example], ports: [443] }\n"
	    "    deny: { hosts: [bad.example] }\n"
	    "  b:\n"
	    "    mode: allow-all\n"
	    "sandboxes:\n"
	    "  - id: l\n"
	    "    sources: [198.18.0.0/24]\n"
	    "    policies: [l]\n"
	    "  - id: lb\n"
	    "    sources: [198.18.1.0/24]\n"
	    "    policies: [b, l]\n";
	static const struct {
		const char		*host, *dst;
		uint16_t		 port;
		enum policy_proto	 proto;
		const char		*reason, *would;
	} c[] = {
		{ "ok.example", "203.0.113.5", 443, POLICY_PROTO_TLS, "rule",
		    NULL },
		{ "new.example", "203.0.113.5", 443, POLICY_PROTO_TLS, "learn",
		    "no-matching-allow" },
		{ "ok.example", "203.0.113.5", 8443, POLICY_PROTO_TLS, "learn",
		    "port-not-allowed" },
		{ "ok.example", "203.0.113.5", 443, POLICY_PROTO_HTTP, "learn",
		    "protocol-not-allowed" },
		{ "bad.example", "203.0.113.5", 443, POLICY_PROTO_TLS,
		    "denied-by-rule", NULL },
		{ "new.example", "10.0.0.1", 443, POLICY_PROTO_TLS,
		    "private-destination", NULL },
		{ NULL, "203.0.113.9", 22, POLICY_PROTO_OTHER, "learn",
		    "protocol-not-allowed" },
	};
	struct errlist		 el;
	struct config		*cf;
	struct policy_query	 q;
	struct policy_decision	 d;
	size_t			 i;

	errlist_init(&el);
	cf = config_parse(yaml, strlen(yaml), "t.yaml", &el);
	for (i = 0; i < el.el_count; i++)
		fprintf(stderr, "%s\n", el.el_msgs[i]);
	ck_assert_ptr_nonnull(cf);
	for (i = 0; i < nitems(c); i++) {
		memset(&q, 0, sizeof(q));
		q.pq_proto = c[i].proto;
		q.pq_host = c[i].host;
		q.pq_port = c[i].port;
		ipaddr_parse(c[i].dst, &q.pq_dst);
		policy_eval(policy_sandbox_by_id(cf->cf_policy, "l"), &q, &d);
		ck_assert_msg(strcmp(policy_reason_str(d.pd_reason),
		    c[i].reason) == 0, "case %zu: %s", i,
		    policy_reason_str(d.pd_reason));
		if (c[i].would != NULL)
			ck_assert_str_eq(policy_reason_str(d.pd_would),
			    c[i].would);
		/* learning decides by host: the destination is checked */
		if (d.pd_reason == REASON_LEARN)
			ck_assert(d.pd_by_host == (c[i].host != NULL));
	}
	/* With an allow-all policy first, the event still says learn. */
	memset(&q, 0, sizeof(q));
	q.pq_proto = POLICY_PROTO_TLS;
	q.pq_host = "new.example";
	q.pq_port = 443;
	ipaddr_parse("203.0.113.5", &q.pq_dst);
	policy_eval(policy_sandbox_by_id(cf->cf_policy, "lb"), &q, &d);
	ck_assert_str_eq(policy_reason_str(d.pd_reason), "learn");
	/* The DNS filter answers in learn mode, not for denied names. */
	ck_assert(policy_name_check(policy_sandbox_by_id(cf->cf_policy, "l"),
	    "new.example", &d));
	ck_assert_str_eq(policy_reason_str(d.pd_reason), "learn");
	ck_assert(!policy_name_check(policy_sandbox_by_id(cf->cf_policy, "l"),
	    "bad.example", &d));
	ck_assert_str_eq(sandbox_mode(policy_sandbox_by_id(cf->cf_policy,
	    "lb")), "learn");
	config_free(cf);
	errlist_free(&el);
}
END_TEST

/* IPv4-mapped CIDRs fold to IPv4, the prefix less 96 (docs/config.md). */
START_TEST(test_cidr_mapped)
{
	static const struct {
		const char *in, *out;	/* out NULL: refused */
	} cs[] = {
		{ "::ffff:10.0.0.0/104", "10.0.0.0/8" },
		{ "::ffff:10.1.2.3/128", "10.1.2.3/32" },
		{ "::ffff:10.1.2.3", "10.1.2.3/32" },
		{ "::ffff:0.0.0.0/96", "0.0.0.0/0" },
		{ "::ffff:10.0.0.0/95", NULL },
		{ "::ffff:10.0.0.0/129", NULL },
		{ "10.0.0.0/33", NULL },
		{ "2001:db8::/32", "2001:db8::/32" },
	};
	struct cidr	 c;
	struct ipaddr	 ia;
	const char	*why;
	char		 buf[64];
	size_t		 i;

	for (i = 0; i < nitems(cs); i++) {
		if (cs[i].out == NULL) {
			ck_assert_int_eq(cidr_parse(cs[i].in, &c, &why), -1);
			continue;
		}
		ck_assert_msg(cidr_parse(cs[i].in, &c, &why) == 0, "%s: %s",
		    cs[i].in, why);
		cidr_format(&c, buf, sizeof(buf));
		ck_assert_str_eq(buf, cs[i].out);
	}
	/* and it matches both spellings of an address inside it */
	ck_assert_int_eq(cidr_parse("::ffff:10.0.0.0/104", &c, &why), 0);
	ipaddr_parse("10.9.8.7", &ia);
	ck_assert(cidr_contains(&c, &ia));
	ipaddr_parse("::ffff:10.9.8.7", &ia);
	ck_assert(cidr_contains(&c, &ia));
	ipaddr_parse("11.0.0.1", &ia);
	ck_assert(!cidr_contains(&c, &ia));
}
END_TEST

/* policy_explain judges like the data path: protocol, request, address. */
START_TEST(test_explain)
{
	static const char yaml[] =
	    "policies:\n"
	    "  p:\n"
	    "    allow:\n"
	    "      hosts: [api.example.com, other.example.com]\n"
	    "      cidrs: [\"203.0.113.0/24\"]\n"
	    "      ports: [80, 443, 8443]\n"
	    "    deny: { cidrs: [\"203.0.113.66/32\"] }\n"
	    "    endpoints:\n"
	    "      - host: api.example.com\n"
	    "        methods: [GET]\n"
	    "        paths: [\"/v1/*\"]\n"
	    "  tlsonly:\n"
	    "    protocols: [tls]\n"
	    "    allow: { hosts: [api.example.com] }\n"
	    "sandboxes:\n"
	    "  - id: s\n"
	    "    sources: [\"198.18.0.0/24\"]\n"
	    "    policies: [p]\n"
	    "  - id: t\n"
	    "    sources: [\"198.18.1.0/24\"]\n"
	    "    policies: [tlsonly]\n";
	static const struct {
		const char *sb, *target;
		unsigned port;
		const char *method, *dst;
		const char *action, *reason, *proto, *rule;
		unsigned want_port;
	} ec[] = {
		/* the old forms: HOST [PORT] */
		{ "s", "api.example.com", 0, NULL, NULL, "allow", "rule",
		    "tls", "allow.hosts api.example.com", 443 },
		{ "s", "api.example.com", 22, NULL, NULL, "deny",
		    "port-not-allowed", "tls", "allow.ports", 22 },
		/* port 80 is HTTP, judged as GET /: the endpoint refuses / */
		{ "s", "api.example.com", 80, NULL, NULL, "deny",
		    "no-matching-allow", "http", "endpoints api.example.com",
		    80 },
		/* URLs: the scheme sets the protocol, endpoints apply */
		{ "s", "http://api.example.com/v1/models", 0, NULL, NULL,
		    "allow", "rule", "http", "allow.hosts api.example.com", 80 },
		{ "s", "http://api.example.com/v1/models", 0, "POST", NULL,
		    "deny", "no-matching-allow", "http",
		    "endpoints api.example.com", 80 },
		{ "s", "http://api.example.com/v1/../admin", 0, NULL, NULL,
		    "deny", "no-matching-allow", "http",
		    "endpoints api.example.com", 80 },
		{ "s", "http://api.example.com:8443/v1/x?q=1", 0, NULL, NULL,
		    "allow", "rule", "http", "allow.hosts api.example.com",
		    8443 },
		{ "s", "https://api.example.com:8443/anything", 0, NULL, NULL,
		    "allow", "rule", "tls", "allow.hosts api.example.com",
		    8443 },
		{ "t", "http://api.example.com/v1/x", 0, NULL, NULL, "deny",
		    "protocol-not-allowed", "http", "protocols", 80 },
		/* a destination: cidr rules, private ranges, IP literals */
		{ "s", "nothing.example", 0, NULL, "203.0.113.7", "allow",
		    "rule", "tls", "allow.cidrs 203.0.113.0/24", 443 },
		{ "s", "nothing.example", 0, NULL, NULL, "deny",
		    "no-matching-allow", "tls", NULL, 443 },
		{ "s", "other.example.com", 0, NULL, "203.0.113.66", "deny",
		    "denied-by-rule", "tls", "deny.cidrs 203.0.113.66/32",
		    443 },
		{ "s", "other.example.com", 0, NULL, "10.0.0.1", "deny",
		    "private-destination", "tls", "allow.hosts "
		    "other.example.com", 443 },
		{ "s", "other.example.com", 0, NULL, "::ffff:127.0.0.1",
		    "deny", "private-destination", "tls", "allow.hosts "
		    "other.example.com", 443 },
		{ "s", "203.0.113.7", 0, NULL, "203.0.113.8", "deny",
		    "destination-mismatch", "tls", NULL, 443 },
		{ "s", "203.0.113.7", 0, NULL, NULL, "allow", "rule", "tls",
		    "allow.cidrs 203.0.113.0/24", 443 },
	};
	static const struct {
		const char *target, *method, *dst;
		unsigned port;
	} bad[] = {
		{ "ftp://api.example.com/", NULL, NULL, 0 },
		{ "http://user@api.example.com/", NULL, NULL, 0 },
		{ "http://api.example.com:99999/", NULL, NULL, 0 },
		{ "http://api.example.com:80/", NULL, NULL, 81 },
		{ "api.example.com", "GET", NULL, 0 },	/* TLS: no method */
		{ "http://api.example.com/", "G ET", NULL, 0 },
		{ "api.example.com", NULL, "not-an-address", 0 },
		{ "a..b", NULL, NULL, 0 },
		{ "http://api.example.com/#x", NULL, NULL, 0 },
	};
	struct errlist			 el;
	struct config			*cf;
	struct policy_explanation	 pe;
	struct policy_explain_in	 in;
	const char			*why;
	size_t				 i;

	errlist_init(&el);
	cf = config_parse(yaml, strlen(yaml), "t.yaml", &el);
	ck_assert_ptr_nonnull(cf);
	for (i = 0; i < nitems(ec); i++) {
		memset(&in, 0, sizeof(in));
		in.pi_target = ec[i].target;
		in.pi_port = ec[i].port;
		in.pi_method = ec[i].method;
		in.pi_dst = ec[i].dst;
		ck_assert_msg(policy_explain(policy_sandbox_by_id(cf->cf_policy,
		    ec[i].sb), &in, &pe, &why) == 0, "%s: %s", ec[i].target,
		    why);
		ck_assert_msg(strcmp(policy_action_str(pe.pe_d.pd_action),
		    ec[i].action) == 0 && strcmp(policy_reason_str(
		    pe.pe_d.pd_reason), ec[i].reason) == 0, "case %zu %s: %s "
		    "%s", i, ec[i].target, policy_action_str(pe.pe_d.pd_action),
		    policy_reason_str(pe.pe_d.pd_reason));
		ck_assert_str_eq(policy_proto_str(pe.pe_proto), ec[i].proto);
		ck_assert_uint_eq(pe.pe_port, ec[i].want_port);
		if (ec[i].rule == NULL)
			ck_assert_ptr_null(pe.pe_d.pd_rule);
		else
			ck_assert_str_eq(pe.pe_d.pd_rule ? pe.pe_d.pd_rule :
			    "-", ec[i].rule);
	}
	/* what an HTTP explanation says it judged */
	memset(&in, 0, sizeof(in));
	in.pi_target = "http://API.example.com/v1/x?secret=1";
	in.pi_method = "HEAD";
	ck_assert_int_eq(policy_explain(policy_sandbox_by_id(cf->cf_policy,
	    "s"), &in, &pe, &why), 0);
	ck_assert_str_eq(pe.pe_host, "api.example.com");
	ck_assert_str_eq(pe.pe_method, "HEAD");
	ck_assert_str_eq(pe.pe_path, "/v1/x");
	ck_assert_str_eq(pe.pe_dst, "");
	for (i = 0; i < nitems(bad); i++) {
		memset(&in, 0, sizeof(in));
		in.pi_target = bad[i].target;
		in.pi_method = bad[i].method;
		in.pi_dst = bad[i].dst;
		in.pi_port = bad[i].port;
		ck_assert_msg(policy_explain(policy_sandbox_by_id(cf->cf_policy,
		    "s"), &in, &pe, &why) == -1, "bad %zu accepted", i);
	}
	config_free(cf);
	errlist_free(&el);
}
END_TEST

/* A sandbox's change derives a snapshot that shares the rest. */
static int
derive_put(struct policy *p, const char *def, struct errlist *el)
{
	struct yread	 yr = { "t.yaml", el };
	struct ynode	*n;
	int		 rc;

	if ((n = yamltree_parse(def, strlen(def), "state", el)) == NULL)
		return -1;
	rc = policy_parse_sandbox(&yr, p, n, true);
	yamltree_free(n);
	return rc;
}

static const struct sandbox *
find_src(const struct policy *p, const char *addr)
{
	struct ipaddr	ia;

	ck_assert_int_eq(ipaddr_parse(addr, &ia), 0);
	return policy_sandbox_find(p, &ia);
}

START_TEST(test_derive)
{
	static const char yaml[] =
	    "policies:\n  p: { allow: { hosts: [a.example] } }\n"
	    "sandboxes:\n"
	    "  - { id: s1, sources: [\"10.0.0.1/32\"], policies: [p] }\n"
	    "  - { id: s2, sources: [\"10.0.0.2/32\", \"10.1.0.0/16\"],"
	    " policies: [p] }\n"
	    "  - { id: s3, sources: [\"10.0.0.3/32\"], policies: [p] }\n";
	struct errlist		 el;
	struct config		*cf;
	struct policy		*old, *p, *q;
	const struct sandbox	*s1;
	size_t			 i;

	errlist_init(&el);
	cf = config_parse(yaml, strlen(yaml), "t.yaml", &el);
	ck_assert_ptr_nonnull(cf);
	old = policy_ref(cf->cf_policy);
	s1 = policy_sandbox_by_id(old, "s1");

	/* Replace s2 (moves s3 into its slot), add s4. */
	p = policy_derive(old);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(policy_remove_sandbox(p, "s2"), 0);
	ck_assert_ptr_null(policy_sandbox_by_id(p, "s2"));
	ck_assert_ptr_null(find_src(p, "10.1.2.3"));
	ck_assert_str_eq(sandbox_id(find_src(p, "10.0.0.3")), "s3");
	ck_assert_int_eq(derive_put(p, "{id: s2, sources: [\"10.0.0.22/32\"],"
	    " policies: [p], allow: { hosts: [b.example] }}", &el), 0);
	ck_assert_int_eq(derive_put(p, "{id: s4, sources: [\"10.0.0.4/32\"],"
	    " policies: [p]}", &el), 0);
	ck_assert_uint_eq(policy_nsandboxes(p), 4);
	ck_assert_str_eq(sandbox_id(find_src(p, "10.0.0.22")), "s2");
	ck_assert_str_eq(sandbox_id(find_src(p, "10.0.0.4")), "s4");
	ck_assert_str_eq(sandbox_id(find_src(p, "10.0.0.3")), "s3");
	/* Shared, not copied; and the old snapshot is untouched. */
	ck_assert_ptr_eq(policy_sandbox_by_id(p, "s1"), s1);
	ck_assert_ptr_eq(find_src(p, "10.0.0.1"), s1);
	ck_assert_str_eq(sandbox_id(find_src(old, "10.1.2.3")), "s2");
	ck_assert_ptr_null(find_src(old, "10.0.0.4"));
	ck_assert_uint_eq(policy_nsandboxes(old), 3);
	for (i = 0; i < policy_nsandboxes(p); i++)
		ck_assert_ptr_eq(policy_sandbox_by_id(p,
		    sandbox_id(policy_sandbox_at(p, i))),
		    policy_sandbox_at(p, i));

	/* Validated against the rest: overlap, unknown policy, bad id. */
	q = policy_derive(p);
	ck_assert_int_eq(derive_put(q, "{id: s5, sources: [\"10.0.0.0/24\"]}",
	    &el), -1);
	ck_assert(strstr(el.el_msgs[el.el_count - 1], "overlaps") != NULL);
	policy_unref(q);
	q = policy_derive(p);
	ck_assert_int_eq(derive_put(q, "{id: s5, policies: [nope]}", &el), -1);
	ck_assert(strstr(el.el_msgs[el.el_count - 1], "undefined policy") !=
	    NULL);
	policy_unref(q);
	/* Removing all, in an order that moves the last into each hole. */
	q = policy_derive(p);
	ck_assert_int_eq(policy_remove_sandbox(q, "s1"), 0);
	ck_assert_int_eq(policy_remove_sandbox(q, "s3"), 0);
	ck_assert_int_eq(policy_remove_sandbox(q, "nope"), 0);
	ck_assert_str_eq(sandbox_id(find_src(q, "10.0.0.4")), "s4");
	ck_assert_int_eq(policy_remove_sandbox(q, "s4"), 0);
	ck_assert_int_eq(policy_remove_sandbox(q, "s2"), 0);
	ck_assert_uint_eq(policy_nsandboxes(q), 0);
	ck_assert_ptr_null(find_src(q, "10.0.0.22"));
	ck_assert_str_eq(sandbox_id(find_src(p, "10.0.0.22")), "s2");
	policy_unref(q);
	/* The parent goes first: the child keeps what they shared. */
	config_free(cf);
	policy_unref(old);
	ck_assert_str_eq(sandbox_id(find_src(p, "10.0.0.1")), "s1");
	policy_unref(p);
	errlist_free(&el);
}
END_TEST

/* Many ids: the id table's deletion keeps every other id findable. */
START_TEST(test_derive_many)
{
	struct errlist	 el;
	struct config	*cf;
	struct policy	*p, *q;
	char		 def[128], id[16];
	size_t		 i;

	errlist_init(&el);
	cf = config_parse("sandboxes: []\n", 14, "t.yaml", &el);
	ck_assert_ptr_nonnull(cf);
	p = policy_ref(cf->cf_policy);
	for (i = 0; i < 300; i++) {
		q = policy_derive(p);
		snprintf(def, sizeof(def), "{id: x%zu, sources: [\"10.2.%zu.%zu/32\"]}",
		    i, i / 256, i % 256);
		ck_assert_int_eq(derive_put(q, def, &el), 0);
		policy_unref(p);
		p = q;
	}
	for (i = 0; i < 300; i += 3) {
		snprintf(id, sizeof(id), "x%zu", i);
		ck_assert_int_eq(policy_remove_sandbox(p, id), 0);
	}
	for (i = 0; i < 300; i++) {
		snprintf(id, sizeof(id), "x%zu", i);
		snprintf(def, sizeof(def), "10.2.%zu.%zu", i / 256, i % 256);
		if (i % 3 == 0) {
			ck_assert_ptr_null(policy_sandbox_by_id(p, id));
			ck_assert_ptr_null(find_src(p, def));
		} else {
			ck_assert_str_eq(sandbox_id(policy_sandbox_by_id(p, id)),
			    id);
			ck_assert_str_eq(sandbox_id(find_src(p, def)), id);
		}
	}
	for (i = 0; i < policy_nsandboxes(p); i++)
		ck_assert_ptr_nonnull(policy_sandbox_at(p, i));
	ck_assert_ptr_null(policy_sandbox_at(p, policy_nsandboxes(p)));
	ck_assert_uint_eq(policy_nsandboxes(p), 200);
	policy_unref(p);
	config_free(cf);
	errlist_free(&el);
}
END_TEST

static Suite *
policy_suite(void)
{
	Suite	*s = suite_create("policy");
	TCase	*tc = tcase_create("eval");

	tcase_add_loop_test(tc, test_eval_table, 0, (int)nitems(cases));
	tcase_add_test(tc, test_sandbox_lookup);
	tcase_add_test(tc, test_early);
	tcase_add_test(tc, test_cidrset);
	tcase_add_test(tc, test_endpoints);
	tcase_add_test(tc, test_name_check_and_destination);
	tcase_add_test(tc, test_hostname_normalize);
	tcase_add_test(tc, test_regex_fail_closed);
	tcase_add_test(tc, test_regex_fail_closed_policy);
	tcase_add_test(tc, test_learn);
	tcase_add_test(tc, test_cidr_mapped);
	tcase_add_test(tc, test_explain);
	tcase_add_test(tc, test_derive);
	tcase_add_test(tc, test_derive_many);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(policy_suite)
