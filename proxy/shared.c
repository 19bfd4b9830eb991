#include "proxy/shared.h"

const unsigned long long shared_lat_bounds_ns[SHARED_LAT_BUCKETS] = {
	1000, 2500, 5000, 10000, 25000, 100000, 1000000, 10000000
};

struct policy *
shared_policy(struct shared *sh)
{
	struct policy	*p;

	pthread_mutex_lock(&sh->sh_pmtx);
	p = policy_ref(sh->sh_policy);
	pthread_mutex_unlock(&sh->sh_pmtx);
	return p;
}

const struct proxy_conf *
shared_conf(struct shared *sh)
{
	return atomic_load(&sh->sh_conf);
}

void
shared_count_decision(struct shared *sh, uint64_t ns)
{
	size_t	i;

	for (i = 0; i < SHARED_LAT_BUCKETS && ns > shared_lat_bounds_ns[i];
	    i++)
		;
	atomic_fetch_add(&sh->sh_lat[i], 1);
	atomic_fetch_add(&sh->sh_lat_sum_ns, ns);
}
