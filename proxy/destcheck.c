#include "proxy/destcheck.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "common/netaddr.h"
#include "common/strhash.h"

/*
 * A 64-bit hash stands in for the name a look-up was for: idle connections
 * should not carry a second 254-byte copy of their host.  Never 0.
 */
static uint64_t
host_hash(const char *s)
{
	return strhash(STRHASH_INIT, s) | 1;
}

/* Whether a fresh look-up of <host> already answered. */
static bool
looked_up(const struct destcheck *dc, const char *host)
{
	return dc->dc_hash == host_hash(host);
}

static enum destcheck_verdict
lookup(struct destcheck *dc, const struct destcheck_env *env,
    const char *host)
{
	dc->dc_rq = resolver_lookup(env->de_resolver, host, env->de_cb,
	    env->de_arg);
	return dc->dc_rq != NULL ? DESTCHECK_WAIT : DESTCHECK_FAILED;
}

static void
set_dst(const struct destcheck_dst *dst, const struct ipaddr *ip)
{
	uint16_t	port = netaddr_port((struct sockaddr *)dst->dd_sa);

	memset(dst->dd_sa, 0, sizeof(*dst->dd_sa));
	if (ip->ia_family == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)dst->dd_sa;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, ip->ia_bytes, 4);
		*dst->dd_salen = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)dst->dd_sa;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, ip->ia_bytes, 16);
		*dst->dd_salen = sizeof(*sin6);
	}
	*dst->dd_ip = *ip;
}

/* redial: dial what egressd resolved, the client's pick if among it. */
static enum destcheck_verdict
redial(struct destcheck *dc, const struct destcheck_env *env,
    const char *host, const struct destcheck_dst *dst)
{
	struct ipaddr		 addrs[RESOLVER_ADDRS_MAX];
	const struct ipaddr	*pick = NULL;
	size_t			 n, i;

	n = dns_shared_get(env->de_shared, host, addrs, RESOLVER_ADDRS_MAX);
	if (n == 0)
		return looked_up(dc, host) ? DESTCHECK_FAILED :
		    lookup(dc, env, host);
	for (i = 0; i < n; i++)
		if (ipaddr_equal(&addrs[i], dst->dd_ip))
			return DESTCHECK_OK;
	/* Same family first: the client's stack chose it. */
	for (i = 0; i < n && pick == NULL; i++)
		if (addrs[i].ia_family == dst->dd_ip->ia_family)
			pick = &addrs[i];
	set_dst(dst, pick != NULL ? pick : &addrs[0]);
	return DESTCHECK_OK;
}

enum destcheck_verdict
destcheck_run(struct destcheck *dc, const struct destcheck_env *env,
    const char *sandbox, const char *host, enum policy_dest mode,
    bool mid_stream, const struct destcheck_dst *dst)
{
	if (mode == DEST_TRUST)
		return DESTCHECK_OK;
	if (mode == DEST_REDIAL && !mid_stream)
		return redial(dc, env, host, dst);
	if (dns_shared_vouches(env->de_shared, sandbox, host, dst->dd_ip))
		return DESTCHECK_OK;
	if (!looked_up(dc, host))
		return lookup(dc, env, host);
	return dc->dc_st == RESOLVER_OK ? DESTCHECK_MISMATCH :
	    DESTCHECK_FAILED;
}

void
destcheck_answered(struct destcheck *dc, const char *host,
    enum resolver_status st)
{
	dc->dc_rq = NULL;
	dc->dc_st = st;
	dc->dc_hash = host_hash(host);
}

void
destcheck_cancel(struct destcheck *dc)
{
	if (dc->dc_rq != NULL) {
		resolver_cancel(dc->dc_rq);
		dc->dc_rq = NULL;
	}
}
