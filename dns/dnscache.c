#include "dns/dnscache.h"

#include <stdlib.h>
#include <string.h>

#include "common/strhash.h"

struct dentry {
	struct dentry	*de_hnext;	/* hash chain */
	struct dentry	*de_prev;	/* LRU list, most recent first */
	struct dentry	*de_next;
	uint64_t	 de_neg_until;	/* negative entry until (ms) */
	size_t		 de_naddr;
	struct ipaddr	 de_addr[DNSCACHE_ADDRS_MAX];
	uint64_t	 de_until[DNSCACHE_ADDRS_MAX];
	char		 de_name[];	/* NUL-terminated */
};

struct dnscache {
	struct dentry	**dc_buckets;
	size_t		  dc_nbuckets;	/* power of two */
	size_t		  dc_count;
	size_t		  dc_max;
	struct dentry	 *dc_head;	/* most recently used */
	struct dentry	 *dc_tail;
};

struct dnscache *
dnscache_new(size_t max_names)
{
	struct dnscache	*dc;
	size_t		 nb = 64;

	if ((dc = calloc(1, sizeof(*dc))) == NULL)
		return NULL;
	while (nb < max_names && nb < ((size_t)1 << 24))
		nb <<= 1;
	if ((dc->dc_buckets = calloc(nb, sizeof(*dc->dc_buckets))) == NULL) {
		free(dc);
		return NULL;
	}
	dc->dc_nbuckets = nb;
	dc->dc_max = max_names ? max_names : 1;
	return dc;
}

void
dnscache_free(struct dnscache *dc)
{
	struct dentry	*e, *next;

	if (dc == NULL)
		return;
	for (e = dc->dc_head; e != NULL; e = next) {
		next = e->de_next;
		free(e);
	}
	free(dc->dc_buckets);
	free(dc);
}

static void
lru_unlink(struct dnscache *dc, struct dentry *e)
{
	if (e->de_prev != NULL)
		e->de_prev->de_next = e->de_next;
	else
		dc->dc_head = e->de_next;
	if (e->de_next != NULL)
		e->de_next->de_prev = e->de_prev;
	else
		dc->dc_tail = e->de_prev;
	e->de_prev = e->de_next = NULL;
}

static void
lru_push(struct dnscache *dc, struct dentry *e)
{
	e->de_prev = NULL;
	e->de_next = dc->dc_head;
	if (dc->dc_head != NULL)
		dc->dc_head->de_prev = e;
	dc->dc_head = e;
	if (dc->dc_tail == NULL)
		dc->dc_tail = e;
}

static struct dentry **
bucket_of(struct dnscache *dc, const char *name)
{
	return &dc->dc_buckets[strhash(STRHASH_INIT, name) & (dc->dc_nbuckets - 1)];
}

static struct dentry *
lookup(struct dnscache *dc, const char *name)
{
	struct dentry	*e;

	for (e = *bucket_of(dc, name); e != NULL; e = e->de_hnext)
		if (strcmp(e->de_name, name) == 0) {
			lru_unlink(dc, e);
			lru_push(dc, e);
			return e;
		}
	return NULL;
}

static void
evict(struct dnscache *dc, struct dentry *e)
{
	struct dentry	**pp;

	for (pp = bucket_of(dc, e->de_name); *pp != e; pp = &(*pp)->de_hnext)
		;
	*pp = e->de_hnext;
	lru_unlink(dc, e);
	dc->dc_count--;
	free(e);
}

static struct dentry *
lookup_or_add(struct dnscache *dc, const char *name)
{
	struct dentry	*e, **b;
	size_t		 len = strlen(name);

	if ((e = lookup(dc, name)) != NULL)
		return e;
	if (dc->dc_count >= dc->dc_max && dc->dc_tail != NULL)
		evict(dc, dc->dc_tail);
	if ((e = calloc(1, sizeof(*e) + len + 1)) == NULL)
		return NULL;
	memcpy(e->de_name, name, len + 1);
	b = bucket_of(dc, name);
	e->de_hnext = *b;
	*b = e;
	lru_push(dc, e);
	dc->dc_count++;
	return e;
}

/* Drops expired addresses, keeping the order of the others. */
static void
prune(struct dentry *e, uint64_t now)
{
	size_t	i, j = 0;

	for (i = 0; i < e->de_naddr; i++) {
		if (e->de_until[i] <= now)
			continue;
		e->de_addr[j] = e->de_addr[i];
		e->de_until[j++] = e->de_until[i];
	}
	e->de_naddr = j;
}

int
dnscache_put(struct dnscache *dc, const char *name, const struct ipaddr *addrs,
    size_t n, uint32_t ttl, uint64_t now_ms)
{
	struct dentry	*e;
	uint64_t	 until = now_ms + (uint64_t)ttl * 1000;
	size_t		 i, j, victim;

	if ((e = lookup_or_add(dc, name)) == NULL)
		return -1;
	prune(e, now_ms);
	e->de_neg_until = 0;
	for (i = 0; i < n; i++) {
		for (j = 0; j < e->de_naddr; j++)
			if (ipaddr_equal(&e->de_addr[j], &addrs[i]))
				break;
		if (j == e->de_naddr) {
			if (e->de_naddr == DNSCACHE_ADDRS_MAX) {
				/* Full: the address closest to expiry goes. */
				for (victim = 0, j = 1; j < e->de_naddr; j++)
					if (e->de_until[j] <
					    e->de_until[victim])
						victim = j;
				j = victim;
			} else
				e->de_naddr++;
			e->de_addr[j] = addrs[i];
			e->de_until[j] = 0;
		}
		if (e->de_until[j] < until)
			e->de_until[j] = until;
	}
	return 0;
}

int
dnscache_put_negative(struct dnscache *dc, const char *name, uint32_t ttl,
    uint64_t now_ms)
{
	struct dentry	*e;

	if ((e = lookup_or_add(dc, name)) == NULL)
		return -1;
	prune(e, now_ms);
	if (e->de_naddr == 0)
		e->de_neg_until = now_ms + (uint64_t)ttl * 1000;
	return 0;
}

enum dnscache_state
dnscache_get(struct dnscache *dc, const char *name, struct ipaddr *out,
    size_t max, size_t *n, uint64_t now_ms)
{
	struct dentry	*e;
	size_t		 i;

	*n = 0;
	if ((e = lookup(dc, name)) == NULL)
		return DNSCACHE_MISS;
	prune(e, now_ms);
	for (i = 0; i < e->de_naddr && i < max; i++)
		out[i] = e->de_addr[i];
	*n = i;
	if (e->de_naddr > 0)
		return DNSCACHE_HIT;
	return e->de_neg_until > now_ms ? DNSCACHE_NEGATIVE : DNSCACHE_MISS;
}

bool
dnscache_has(struct dnscache *dc, const char *name, const struct ipaddr *ip,
    uint64_t now_ms)
{
	struct dentry	*e;
	size_t		 i;

	if ((e = lookup(dc, name)) == NULL)
		return false;
	for (i = 0; i < e->de_naddr; i++)
		if (e->de_until[i] > now_ms && ipaddr_equal(&e->de_addr[i], ip))
			return true;
	return false;
}

size_t
dnscache_count(const struct dnscache *dc)
{
	return dc->dc_count;
}
