/*
 * Decision cost and config load time against the number of host rules.
 *
 *   build/bench_policy [ROUNDS]
 *
 * For 10, 1,000 and 100,000 host rules (exact names, "*." wildcards, and
 * five regexes at every size: regexes are tried in order, so their cost
 * grows with their count, not with the others'), it loads a generated
 * config and times decisions for a mix of exact hits, wildcard hits at
 * several depths, and misses.  Every figure is the median of ROUNDS runs
 * (default 7); the last column is the ratio to the 10-rule row.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/errlist.h"
#include "common/ipaddr.h"
#include "daemon/config.h"
#include "policy/hostname.h"
#include "policy/policy.h"

#define QUERIES	200000

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/* N host rules: 5 regexes, then 90% exact and 10% wildcards. */
static char *
gen_config(unsigned n, size_t *lenp)
{
	size_t	 cap = 128 + (size_t)n * 48, len = 0;
	char	*buf = malloc(cap);
	unsigned i, nre = 5;

	len += (size_t)snprintf(buf + len, cap - len, "policies:\n  p:\n"
	    "    allow:\n      hosts:\n");
	for (i = 0; i < n; i++) {
		if (i < nre)
			len += (size_t)snprintf(buf + len, cap - len,
			    "        - \"~^cdn%u-[0-9]+\\\\.re\\\\.example$\"\n", i);
		else if (i % 10 == 5)
			len += (size_t)snprintf(buf + len, cap - len,
			    "        - \"*.w%u.example.com\"\n", i);
		else
			len += (size_t)snprintf(buf + len, cap - len,
			    "        - \"h%u.example.net\"\n", i);
	}
	len += (size_t)snprintf(buf + len, cap - len,
	    "sandboxes:\n  - id: s\n    policies: [p]\n");
	*lenp = len;
	return buf;
}

int
main(int argc, char **argv)
{
	static const unsigned	 sizes[] = { 10, 1000, 100000 };
	int			 rounds = argc > 1 ? atoi(argv[1]) : 7;
	double			 load[32], dec[32], base = 0;
	char			 hosts[4][64];
	size_t			 s;
	int			 r;

	if (rounds < 1 || rounds > 32)
		rounds = 7;
	printf("%8s %14s %16s %12s %8s\n", "rules", "load_ms", "decisions/s",
	    "ns/decision", "ratio");
	for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		unsigned	 n = sizes[s];
		size_t		 len;
		char		*yaml = gen_config(n, &len);
		unsigned	 allowed = 0;

		/* Hits and misses that exist at every size. */
		snprintf(hosts[0], sizeof(hosts[0]), "h%u.example.net", n - 1);
		snprintf(hosts[1], sizeof(hosts[1]), "a.b.w5.example.com");
		snprintf(hosts[2], sizeof(hosts[2]), "nothing.example.org");
		snprintf(hosts[3], sizeof(hosts[3]), "x.y.z.miss.example.com");
		for (r = 0; r < rounds; r++) {
			struct errlist		 el;
			struct config		*cf;
			const struct sandbox	*sb;
			struct policy_query	 q;
			struct policy_decision	 d;
			double			 t0;
			int			 i;

			errlist_init(&el);
			t0 = now_s();
			cf = config_parse(yaml, len, "bench.yaml", &el);
			load[r] = (now_s() - t0) * 1e3;
			if (cf == NULL) {
				fprintf(stderr, "%s\n", el.el_count ?
				    el.el_msgs[0] : "config failed");
				return 1;
			}
			errlist_free(&el);
			sb = policy_sandbox_by_id(cf->cf_policy, "s");
			memset(&q, 0, sizeof(q));
			q.pq_proto = POLICY_PROTO_TLS;
			q.pq_port = 443;
			ipaddr_parse("203.0.113.10", &q.pq_dst);
			t0 = now_s();
			for (i = 0; i < QUERIES; i++) {
				q.pq_host = hosts[i & 3];
				policy_eval(sb, &q, &d);
				allowed += d.pd_action == POLICY_ALLOW;
			}
			dec[r] = (now_s() - t0) * 1e9 / QUERIES;
			config_free(cf);
		}
		if (allowed == 0)
			fprintf(stderr, "warning: nothing allowed at %u\n", n);
		double lm = median(load, rounds), dm = median(dec, rounds);
		if (s == 0)
			base = dm;
		printf("%8u %14.2f %16.0f %12.1f %8.2f\n", n, lm, 1e9 / dm, dm,
		    dm / base);
		free(yaml);
	}
	return 0;
}
