#include "dns/dns_shared.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dns/dnscache.h"

/* How long "does not exist" is believed: short, names get created. */
#define NEGATIVE_TTL_S	10
/* Floor for answers with TTL 0: one connection attempt must fit. */
#define MIN_TTL_S	5

struct dns_shared {
	pthread_mutex_t	 ds_mtx;
	struct dnscache	*ds_cache;	/* egressd's own look-ups */
	struct dnscache	*ds_answered;	/* "sandbox\037name": filter answers */
};

static uint64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct dns_shared *
dns_shared_new(size_t max_names)
{
	struct dns_shared	*ds;

	if ((ds = calloc(1, sizeof(*ds))) == NULL)
		return NULL;
	ds->ds_cache = dnscache_new(max_names);
	ds->ds_answered = dnscache_new(max_names);
	if (ds->ds_cache == NULL || ds->ds_answered == NULL) {
		dns_shared_free(ds);
		return NULL;
	}
	pthread_mutex_init(&ds->ds_mtx, NULL);
	return ds;
}

void
dns_shared_free(struct dns_shared *ds)
{
	if (ds == NULL)
		return;
	dnscache_free(ds->ds_cache);
	dnscache_free(ds->ds_answered);
	pthread_mutex_destroy(&ds->ds_mtx);
	free(ds);
}

size_t
dns_shared_get(struct dns_shared *ds, const char *name, struct ipaddr *out,
    size_t max)
{
	size_t	n;

	pthread_mutex_lock(&ds->ds_mtx);
	dnscache_get(ds->ds_cache, name, out, max, &n, now_ms());
	pthread_mutex_unlock(&ds->ds_mtx);
	return n;
}

/* "sandbox\037name"; built by hand: it runs for every connection. */
static int
answered_key(char *key, size_t len, const char *sandbox, const char *name)
{
	size_t	ls = strlen(sandbox), ln = strlen(name);

	if (ls + 1 + ln >= len)
		return -1;
	memcpy(key, sandbox, ls);
	key[ls] = '\037';
	memcpy(key + ls + 1, name, ln + 1);
	return 0;
}

void
dns_shared_remember(struct dns_shared *ds, const char *sandbox,
    const char *name, const struct ipaddr *addrs, size_t n, uint32_t ttl)
{
	char	key[384];

	if (answered_key(key, sizeof(key), sandbox, name) == -1)
		return;
	if (ttl < MIN_TTL_S)
		ttl = MIN_TTL_S;
	pthread_mutex_lock(&ds->ds_mtx);
	dnscache_put(ds->ds_answered, key, addrs, n, ttl, now_ms());
	/* Also what egressd knows: the filter resolved it on its behalf. */
	dnscache_put(ds->ds_cache, name, addrs, n, ttl, now_ms());
	pthread_mutex_unlock(&ds->ds_mtx);
}

bool
dns_shared_vouches(struct dns_shared *ds, const char *sandbox,
    const char *name, const struct ipaddr *ip)
{
	char		key[384];
	uint64_t	now = now_ms();
	bool		hit;

	pthread_mutex_lock(&ds->ds_mtx);
	hit = (answered_key(key, sizeof(key), sandbox, name) == 0 &&
	    dnscache_has(ds->ds_answered, key, ip, now)) ||
	    dnscache_has(ds->ds_cache, name, ip, now);
	pthread_mutex_unlock(&ds->ds_mtx);
	return hit;
}

void
dns_shared_learn(struct dns_shared *ds, const char *name,
    const struct ipaddr *addrs, size_t n, uint32_t ttl)
{
	pthread_mutex_lock(&ds->ds_mtx);
	if (n > 0)
		dnscache_put(ds->ds_cache, name, addrs, n, ttl < MIN_TTL_S ?
		    MIN_TTL_S : ttl, now_ms());
	else
		dnscache_put_negative(ds->ds_cache, name, NEGATIVE_TTL_S,
		    now_ms());
	pthread_mutex_unlock(&ds->ds_mtx);
}
