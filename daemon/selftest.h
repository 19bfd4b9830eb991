/*
 * daemon/selftest.h - proves the redirect rules instead of trusting them
 * (docs/deploy.md, "Self-test"): from an unmarked socket, in the network
 * namespace egressd runs in, probes to documentation addresses that only
 * a local redirect can answer.
 */
#ifndef EGRESS_SELFTEST_H
#define EGRESS_SELFTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SELFTEST_PROBES	5

struct selftest_result {
	const char	*sr_name;	/* tcp4, tcp6, dns, udp443, icmp */
	bool		 sr_ok;
	char		 sr_why[160];	/* what was observed */
};

/* The DNS query id the probe uses. */
#define SELFTEST_DNS_ID	0x5e1f

/*
 * Run inside egressd, the loop that would answer the DNS probe may be the
 * one running it: <queued> (may be NULL) says whether the probe's query
 * is waiting at the DNS filter.
 */
struct selftest_env {
	bool	(*se_queued)(void *arg, uint16_t id);
	void	*se_arg;
};

/*
 * Runs every probe (a few seconds at most); returns how many failed.
 * <r> gets SELFTEST_PROBES results.  <env> may be NULL.
 */
int	selftest_run(struct selftest_result *r, const struct selftest_env *env);

#endif /* EGRESS_SELFTEST_H */
