/*
 * egressd - transparent egress filtering proxy for sandboxes.
 *
 * The command line: run (daemon/daemon.c), --check, --explain, --gen-ca.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/errlist.h"
#include "common/log.h"
#include "daemon/admin.h"
#include "daemon/config.h"
#include "daemon/daemon.h"
#include "daemon/selftest.h"
#include "policy/policy.h"
#include "proxy/certs.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: egressd -c FILE [-d]         run the proxy (foreground)\n"
	    "       egressd -c FILE --check      validate FILE and exit\n"
	    "       egressd -c FILE --self-test  prove the redirect rules in "
	    "this network namespace\n"
	    "       egressd -c FILE --explain SANDBOX HOST|URL [PORT]\n"
	    "                     [--method M] [--dst ADDRESS]\n"
	    "                                    show the decision (URL: "
	    "http[s]://HOST[:PORT]/PATH)\n"
	    "       egressd --gen-ca DIR         write a CA for tls_intercept: "
	    "DIR/ca.crt, DIR/ca.key\n"
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
explain(const struct config *cf, int argc, char **argv, const char *method,
    const char *dst)
{
	const struct sandbox		*sb;
	struct policy_explanation	 pe;
	struct policy_explain_in	 in;
	const char			*why;
	unsigned long			 port = 0;
	char				*ep;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "egressd: --explain SANDBOX HOST|URL [PORT] "
		    "[--method M] [--dst ADDRESS]\n");
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
	in.pi_target = argv[1];
	in.pi_port = (unsigned)port;
	in.pi_method = method;
	in.pi_dst = dst;
	in.pi_dns_dest = cf->cf_px.pc_dns_destination;
	if (policy_explain(sb, &in, &pe, &why) == -1) {
		fprintf(stderr, "egressd: \"%s\": %s\n", argv[1], why);
		return 2;
	}
	printf("%s %s:%u -> %s\n", sandbox_id(sb), pe.pe_host,
	    (unsigned)pe.pe_port, policy_action_str(pe.pe_d.pd_action));
	printf("  proto:  %s\n", policy_proto_str(pe.pe_proto));
	if (pe.pe_method[0] != '\0')
		printf("  method: %s\n  path:   %s\n", pe.pe_method,
		    pe.pe_path);
	if (pe.pe_dst[0] != '\0')
		printf("  dst:    %s\n", pe.pe_dst);
	printf("  reason: %s\n", policy_reason_str(pe.pe_d.pd_reason));
	printf("  policy: %s\n", pe.pe_d.pd_policy ? pe.pe_d.pd_policy : "-");
	printf("  rule:   %s\n", pe.pe_d.pd_rule ? pe.pe_d.pd_rule : "-");
	if (pe.pe_note != NULL)
		printf("  note:   %s\n", pe.pe_note);
	return 0;
}

/*
 * --check: what start-up would refuse that the config's parse cannot see
 * (it does no I/O): the admin token file must be readable and long enough.
 */
static int
check_files(const struct config *cf)
{
	char	*tok, *err = NULL;

	if (cf->cf_admin_nlisten == 0 || cf->cf_admin_token_file == NULL)
		return 0;
	if ((tok = admin_read_token(cf->cf_admin_token_file, &err)) == NULL) {
		fprintf(stderr, "%s: %s\n", cf->cf_file, err ? err :
		    "admin.token_file: cannot read");
		free(err);
		return -1;
	}
	explicit_bzero(tok, strlen(tok));
	free(tok);
	return 0;
}

/*
 * --gen-ca DIR: the CA interception mints its leaves from
 * (docs/interception.md), and the lines that make the config use it.
 */
static int
gen_ca(const char *dir)
{
	char	err[512], *abs;

	if (certs_gen_ca(dir, err, sizeof(err)) == -1) {
		fprintf(stderr, "egressd: --gen-ca: %s\n", err);
		return 1;
	}
	/* The config may be read from another directory: the full path. */
	if ((abs = realpath(dir, NULL)) == NULL)
		abs = strdup(dir);
	printf("%s/ca.crt\n%s/ca.key\n", abs ? abs : dir, abs ? abs : dir);
	printf("add to the config: tls_intercept: { ca_cert: %s/ca.crt, "
	    "ca_key: %s/ca.key, upstream_ca: system }; ca.crt goes into the "
	    "sandboxes' trust stores\n", abs ? abs : dir, abs ? abs : dir);
	free(abs);
	return 0;
}

/* --self-test: one line per probe, exit 0 only when all are covered. */
static int
run_selftest(void)
{
	struct selftest_result	r[SELFTEST_PROBES];
	int			failed, i;

	failed = selftest_run(r, NULL);
	for (i = 0; i < SELFTEST_PROBES; i++)
		if (r[i].sr_ok)
			printf("%s: ok\n", r[i].sr_name);
		else
			printf("%s: FAIL (%s)\n", r[i].sr_name, r[i].sr_why);
	return failed == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'n' },
		{ "self-test", no_argument, NULL, 'T' },
		{ "explain", no_argument, NULL, 'e' },
		{ "method", required_argument, NULL, 'm' },
		{ "dst", required_argument, NULL, 'D' },
		{ "debug", no_argument, NULL, 'd' },
		{ "gen-ca", required_argument, NULL, 'G' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*file = NULL, *method = NULL, *dst = NULL;
	const char	*ca_dir = NULL;
	bool		 check = false, expl = false, debug = false;
	bool		 selftest = false;
	struct errlist	 el;
	struct config	*cf;
	struct daemon_text txt;
	int		 ch, rc;

	while ((ch = getopt_long(argc, argv, "c:dhnV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			file = optarg;
			break;
		case 'n':
			check = true;
			break;
		case 'T':
			selftest = true;
			break;
		case 'e':
			expl = true;
			break;
		case 'm':
			method = optarg;
			break;
		case 'D':
			dst = optarg;
			break;
		case 'd':
			debug = true;
			break;
		case 'G':
			ca_dir = optarg;
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
	if (ca_dir != NULL) {
		/* Needs no config: the config names what it writes. */
		if (file != NULL || check || expl || selftest ||
		    optind != argc) {
			fprintf(stderr, "egressd: --gen-ca DIR goes alone\n");
			return 2;
		}
		return gen_ca(ca_dir);
	}
	if (file == NULL) {
		usage(stderr);
		return 2;
	}
	if (!expl && (method != NULL || dst != NULL)) {
		fprintf(stderr, "egressd: --method and --dst go with "
		    "--explain\n");
		return 2;
	}
	if (!expl && optind != argc) {
		fprintf(stderr, "egressd: unexpected argument \"%s\"\n",
		    argv[optind]);
		return 2;
	}
	log_init(debug ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	errlist_init(&el);
	if ((cf = daemon_load(file, &txt, &el)) == NULL) {
		daemon_text_free(&txt);
		print_errors(&el);
		if (el.el_count == 0)
			fprintf(stderr, "%s: invalid configuration\n", file);
		errlist_free(&el);
		return 1;
	}
	errlist_free(&el);
	if (selftest) {
		/* Needs no running egressd: the probes prove the rules. */
		rc = run_selftest();
		daemon_text_free(&txt);
		config_free(cf);
		return rc;
	}
	if (check || expl) {
		if (check && check_files(cf) == -1)
			rc = 1;
		else if (check) {
			printf("%s: configuration OK\n", file);
			rc = 0;
		} else
			rc = explain(cf, argc - optind, argv + optind, method,
			    dst);
		daemon_text_free(&txt);
		config_free(cf);
		return rc;
	}
	return daemon_run(cf, &txt);
}
