/*
 * Config validation: one broken file per error kind, each asserting the
 * exact line and column, plus a file with many errors reported at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errlist.h"
#include "common/fileio.h"
#include "daemon/config.h"

#include "check_main.h"

struct bad_case {
	const char	*yaml;
	const char	*want;	/* expected start of the first error */
	const char	*has;	/* substring of the same message */
};

/* A tls_intercept section and the start of policy p. */
#define TI "tls_intercept: { ca_cert: c.pem, ca_key: k.pem }\n" \
	"policies:\n  p:\n"

static const struct bad_case bad[] = {
	{ "listen: [\"127.0.0.1:15001\"]\nbogus: 1\n", "t.yaml:2:1: ",
	    "unknown key \"bogus\"" },
	{ "limits:\n  peek_timeout_ms: soon\n", "t.yaml:2:20: ",
	    "must be a number" },
	{ "upstream:\n  mark: 0x1e9d\n  connect_timeout_ms: -5\n",
	    "t.yaml:3:23: ", "must be a number" },
	{ "policies:\n  p:\n    allow:\n      hosts: [\"https://pypi.org\"]\n",
	    "t.yaml:4:15: ", "hosts are hostnames" },
	{ "policies:\n  p:\n    allow:\n      hosts: [\"pypi.org/simple\"]\n",
	    "t.yaml:4:15: ", "hosts are hostnames" },
	{ "policies:\n  p:\n    allow:\n      hosts: [\"pypi.org:443\"]\n",
	    "t.yaml:4:15: ", "hosts are hostnames" },
	{ "policies:\n  p:\n    allow:\n      hosts: [\"*.com\"]\n",
	    "t.yaml:4:15: ", "public suffix" },
	{ "policies:\n  p:\n    allow:\n      hosts: [\"*.co.uk\"]\n",
	    "t.yaml:4:15: ", "public suffix" },
	{ "policies:\n  p:\n    allow:\n      hosts: [\"bad_host!.example\"]\n",
	    "t.yaml:4:15: ", "invalid character" },
	{ "policies:\n  p:\n    allow:\n      cidrs: [\"10.0.0.0/33\"]\n",
	    "t.yaml:4:15: ", "not a CIDR" },
	{ "policies:\n  p:\n    allow:\n      cidrs: [\"10.0.0.300\"]\n",
	    "t.yaml:4:15: ", "not a CIDR" },
	{ "policies:\n  p:\n    allow:\n      ports: [70000]\n",
	    "t.yaml:4:15: ", "ports are 1-65535" },
	{ "policies:\n  p:\n    allow:\n      ports: [\"90-80\"]\n",
	    "t.yaml:4:15: ", "LOW-HIGH" },
	{ "policies:\n  p:\n    allow:\n      ports: [\"http\"]\n",
	    "t.yaml:4:15: ", "not a port" },
	{ "policies:\n  p:\n    allow:\n      hosts: [\"~^(unclosed$\"]\n",
	    "t.yaml:4:15: ", "regex does not compile" },
	{ "policies:\n  p:\n    mode: block-some\n", "t.yaml:3:11: ",
	    "block-all, allow-all or learn" },
	{ "policies:\n  p:\n    profiles: [nope]\n", "t.yaml:3:16: ",
	    "undefined profile \"nope\"" },
	{ "sandboxes:\n  - id: a\n    policies: [ghost]\n", "t.yaml:3:16: ",
	    "undefined policy \"ghost\"" },
	{ "sandboxes:\n  - id: a\n  - id: a\n", "t.yaml:3:9: ",
	    "duplicate sandbox id" },
	{ "sandboxes:\n  - id: a\n    sources: [\"10.0.0.0/8\"]\n  - id: b\n"
	    "    sources: [\"10.1.0.0/16\"]\n", "t.yaml:4:9: ", "overlaps" },
	{ "sandboxes:\n  - id: \"bad id\"\n", "t.yaml:2:9: ",
	    "must be 1-64 characters" },
	{ "sandboxes:\n  - id: a\n    intercept: maybe\n", "t.yaml:3:16: ",
	    "true or false" },
	{ "listen: [\"localhost:15001\"]\n", "t.yaml:1:10: ",
	    "not an address:port" },
	{ "deny_response: shrug\n", "t.yaml:1:16: ", "reset or explain" },
	{ "policies: [1, 2]\n", "t.yaml:1:11: ", "must be a mapping" },
	{ "listen: [\"a\"\n", "t.yaml:", "YAML" },
	{ "a: &x 1\nb: *x\n", "t.yaml:2:4: ", "aliases" },
	{ "admin:\n  listen: \"127.0.0.1:15000\"\n", "t.yaml:2:11: ",
	    "requires admin.token_file" },
	{ "listen: []\n", "t.yaml:1:9: ", "at least one address" },
	/* HTTPS interception (docs/interception.md) */
	{ "policies:\n  p:\n    intercept_tls: [a.example]\n", "t.yaml:3:20: ",
	    "needs a tls_intercept section" },
	{ "policies:\n  p:\n    credentials: []\n", "t.yaml:3:18: ",
	    "needs a tls_intercept section" },
	{ "tls_intercept: { ca_cert: c.pem }\n", "t.yaml:1:16: ",
	    "needs ca_key" },
	{ "tls_intercept: { ca_cert: c, ca_key: k, upstream: x }\n",
	    "t.yaml:1:41: ", "unknown key" },
	{ TI "    intercept_tls: [\"10.0.0.1\"]\n", "t.yaml:4:21: ",
	    "host names, not addresses" },
	{ TI "    intercept_tls: [a.example]\n    credentials:\n"
	    "      - { host: b.example, header: Authorization, value_file: f }\n",
	    "t.yaml:6:17: ", "not covered by this policy's intercept_tls" },
	{ TI "    intercept_tls: [\"*.example.org\"]\n    credentials:\n"
	    "      - { host: \"*.org\", header: X-Key, value_file: f }\n",
	    "t.yaml:6:17: ", "public suffix" },
	{ TI "    intercept_tls: [\"*.b.example.org\"]\n    credentials:\n"
	    "      - { host: \"*.example.org\", header: X-Key, value_file: f }\n",
	    "t.yaml:6:17: ", "not covered" },
	{ TI "    intercept_tls: [a.example]\n    credentials:\n"
	    "      - { host: a.example, header: \"Bad Header\", value_file: f }\n",
	    "t.yaml:6:36: ", "not an HTTP field name" },
	{ TI "    intercept_tls: [a.example]\n    credentials:\n"
	    "      - { host: a.example, header: Host, value_file: f }\n",
	    "t.yaml:6:36: ", "framed or routed" },
	{ TI "    intercept_tls: [a.example]\n    credentials:\n"
	    "      - { host: a.example, header: X_Key, value_file: f }\n",
	    "t.yaml:6:36: ", "framed or routed" },
	{ TI "    intercept_tls: [a.example]\n    credentials:\n"
	    "      - { host: a.example, header: X-Key }\n",
	    "t.yaml:6:9: ", "needs host, header and value_file" },
	{ TI "    intercept_tls: [a.example]\n    credentials:\n"
	    "      - { host: a.example, header: X-Key, value_file: f, "
	    "phantom: yes }\n", "t.yaml:6:67: ", "true or false" },
};

START_TEST(test_bad)
{
	const struct bad_case	*tc = &bad[_i];
	struct errlist		 el;
	struct config		*cf;

	errlist_init(&el);
	cf = config_parse(tc->yaml, strlen(tc->yaml), "t.yaml", &el);
	ck_assert_ptr_null(cf);
	ck_assert_uint_ge(el.el_count, 1);
	ck_assert_msg(strncmp(el.el_msgs[0], tc->want, strlen(tc->want)) == 0
	    && strstr(el.el_msgs[0], tc->has) != NULL,
	    "case %d: got \"%s\", want \"%s...%s\"", _i, el.el_msgs[0],
	    tc->want, tc->has);
	errlist_free(&el);
}
END_TEST

START_TEST(test_all_errors_at_once)
{
	static const char yaml[] =
	    "listen: [\"nowhere\"]\n"
	    "limits: { peek_timeout_ms: x }\n"
	    "policies:\n"
	    "  p:\n"
	    "    allow: { hosts: [\"*.com\"], ports: [0] }\n"
	    "sandboxes:\n"
	    "  - id: a\n"
	    "    policies: [q]\n"
	    "    colour: blue\n";
	struct errlist	el;

	errlist_init(&el);
	ck_assert_ptr_null(config_parse(yaml, strlen(yaml), "t.yaml", &el));
	ck_assert_uint_eq(el.el_count, 6);
	errlist_free(&el);
}
END_TEST

START_TEST(test_good)
{
	static const char yaml[] =
	    "listen: [\"127.0.0.1:15001\", \"[::1]:15001\"]\n"
	    "workers: auto\n"
	    "upstream: { mark: 0x1e9d, connect_timeout_ms: 2000 }\n"
	    "audit: { file: \"-\", log_allowed: false }\n"
	    "deny_response: explain\n"
	    "policies:\n"
	    "  agent:\n"
	    "    protocols: [tls, http]\n"
	    "    allow: { hosts: [pypi.org, \"*.example.org\"], ports: [443, "
	    "\"8000-8100\"] }\n"
	    "sandboxes:\n"
	    "  - id: agent-1\n"
	    "    policies: [agent]\n";
	struct errlist	 el;
	struct config	*cf;

	errlist_init(&el);
	cf = config_parse(yaml, strlen(yaml), "t.yaml", &el);
	ck_assert_uint_eq(el.el_count, 0);
	ck_assert_ptr_nonnull(cf);
	ck_assert_uint_eq(cf->cf_nlisten, 2);
	ck_assert_uint_eq(cf->cf_px.pc_mark, 0x1e9d);
	ck_assert_uint_eq(cf->cf_px.pc_connect_timeout_ms, 2000);
	ck_assert_uint_eq(cf->cf_px.pc_peek_timeout_ms, 5000);
	ck_assert(!cf->cf_audit_log_allowed);
	ck_assert_int_eq(cf->cf_px.pc_deny_response, DENY_EXPLAIN);
	config_free(cf);
	errlist_free(&el);
}
END_TEST

/* Which credential patterns intercept_tls covers, and what it yields. */
START_TEST(test_intercept_good)
{
	static const char yaml[] =
	    "tls_intercept: { ca_cert: c.pem, ca_key: k.pem }\n"
	    "policies:\n"
	    "  p:\n"
	    "    allow: { hosts: [\"*.example.org\", a.example] }\n"
	    "    intercept_tls: [a.example, \"*.example.org\", \"~^x[0-9]\\\\.io$\"]\n"
	    "    credentials:\n"
	    "      - { host: a.example, header: Authorization, value_file: f }\n"
	    "      - { host: api.example.org, header: X-Key, value_file: g }\n"
	    "      - { host: \"*.eu.example.org\", header: X-Key, value_file: h,"
	    " phantom: true }\n"
	    "      - { host: \"*.example.org\", header: X-Key, value_file: i }\n"
	    "      - { host: \"~^x[0-9]\\\\.io$\", header: X-Key, value_file: j }\n"
	    "sandboxes:\n"
	    "  - { id: s, policies: [p] }\n"
	    "  - { id: off, sources: [\"10.9.0.0/16\"], policies: [p],"
	    " intercept: false }\n";
	struct errlist		 el;
	struct config		*cf;
	const struct sandbox	*sb;
	const struct credential	*cr;
	struct ipaddr		 dst;
	struct policy_decision	 d;

	errlist_init(&el);
	cf = config_parse(yaml, strlen(yaml), "t.yaml", &el);
	ck_assert_msg(cf != NULL, "%s", el.el_count ? el.el_msgs[0] : "");
	ck_assert(cf->cf_ti);
	ck_assert_str_eq(cf->cf_ti_upstream_ca.cp_path, "system");
	ck_assert_uint_eq(cf->cf_ti_ca_key.cp_line, 1);
	ck_assert(policy_has_intercept(cf->cf_policy));
	sb = policy_sandbox_by_id(cf->cf_policy, "s");
	ck_assert(policy_intercepts(sb, "a.example"));
	ck_assert(policy_intercepts(sb, "b.example.org"));
	ck_assert(!policy_intercepts(sb, "example.org"));	/* apex */
	ck_assert(!policy_intercepts(sb, "b.example"));
	ck_assert(!policy_intercepts(policy_sandbox_by_id(cf->cf_policy,
	    "off"), "a.example"));
	cr = policy_credential(sb, "a.example");
	ck_assert_ptr_nonnull(cr);
	ck_assert_str_eq(credential_header(cr), "Authorization");
	ck_assert(!credential_phantom(cr));
	ck_assert_ptr_null(credential_secret(cr));	/* the daemon loads it */
	ck_assert(credential_phantom(policy_credential(sb, "x.eu.example.org")));
	ck_assert_str_eq(credential_rule(policy_credential(sb,
	    "api.example.org")), "credentials api.example.org");
	ck_assert_ptr_null(policy_credential(sb, "example.org"));
	/* Never decided on the destination alone: requests must be seen. */
	ipaddr_parse("203.0.113.7", &dst);
	ck_assert(!policy_eval_early(sb, &dst, 443, &d));
	config_free(cf);
	errlist_free(&el);
}
END_TEST

START_TEST(test_shipped_config)
{
	struct errlist	 el;
	struct config	*cf;
	char		*buf;
	size_t		 i, len;

	errlist_init(&el);
	buf = file_read("../conf/egressd.yaml", &len);
	ck_assert_ptr_nonnull(buf);
	cf = config_parse(buf, len, "../conf/egressd.yaml", &el);
	free(buf);
	for (i = 0; i < el.el_count; i++)
		fprintf(stderr, "%s\n", el.el_msgs[i]);
	ck_assert_ptr_nonnull(cf);
	config_free(cf);
	errlist_free(&el);
}
END_TEST

static Suite *
config_suite(void)
{
	Suite	*s = suite_create("config");
	TCase	*tc = tcase_create("validate");

	tcase_add_loop_test(tc, test_bad, 0, (int)nitems(bad));
	tcase_add_test(tc, test_all_errors_at_once);
	tcase_add_test(tc, test_good);
	tcase_add_test(tc, test_intercept_good);
	tcase_add_test(tc, test_shipped_config);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(config_suite)
