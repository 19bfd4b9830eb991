#include "proxy/phantom.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/strhash.h"

/* Buckets to start with; doubled when there are more entries than buckets. */
#define PHANTOM_BUCKETS	64

struct phantom {
	struct phantom	*ph_next;
	char		*ph_id;		/* owns */
	uint8_t		 ph_tok[PHANTOM_LEN];
};

struct phantoms {
	/* Workers check on every credential; the daemon writes seldom. */
	pthread_rwlock_t	 pt_lock;
	struct phantom		**pt_buckets;	/* owns, and the chains */
	size_t			 pt_nbuckets;	/* a power of two */
	size_t			 pt_count;
};

struct phantoms *
phantoms_new(void)
{
	struct phantoms	*pt;

	if ((pt = calloc(1, sizeof(*pt))) == NULL)
		return NULL;
	if ((pt->pt_buckets = calloc(PHANTOM_BUCKETS,
	    sizeof(*pt->pt_buckets))) == NULL ||
	    pthread_rwlock_init(&pt->pt_lock, NULL) != 0) {
		free(pt->pt_buckets);
		free(pt);
		return NULL;
	}
	pt->pt_nbuckets = PHANTOM_BUCKETS;
	return pt;
}

static void
phantom_free(struct phantom *ph)
{
	OPENSSL_cleanse(ph->ph_tok, sizeof(ph->ph_tok));
	free(ph->ph_id);
	free(ph);
}

void
phantoms_free(struct phantoms *pt)
{
	struct phantom	*ph, *next;
	size_t		 i;

	if (pt == NULL)
		return;
	for (i = 0; i < pt->pt_nbuckets; i++)
		for (ph = pt->pt_buckets[i]; ph != NULL; ph = next) {
			next = ph->ph_next;
			phantom_free(ph);
		}
	pthread_rwlock_destroy(&pt->pt_lock);
	free(pt->pt_buckets);
	free(pt);
}

/*
 * A hex digit's value, or -1; without branches on the digit, so that
 * decoding a credential takes the same time whatever it holds.
 */
static int
hexval(uint8_t c)
{
	int	d = (int)c - '0', l = ((int)c | 0x20) - 'a';
	int	isd = ((d | (9 - d)) >> 8) + 1;		/* 1 when 0..9 */
	int	isl = ((l | (5 - l)) >> 8) + 1;		/* 1 when a..f */

	return (isd * (d + 1) | isl * (l + 11)) - 1;
}

/* <hex>'s PHANTOM_HEX digits (either case) into <tok>: 0, or -1. */
static int
unhex(const uint8_t *hex, uint8_t tok[PHANTOM_LEN])
{
	int	bad = 0, hi, lo;
	size_t	i;

	for (i = 0; i < PHANTOM_LEN; i++) {
		hi = hexval(hex[2 * i]);
		lo = hexval(hex[2 * i + 1]);
		bad |= hi | lo;
		tok[i] = (uint8_t)((hi & 0xf) << 4 | (lo & 0xf));
	}
	return bad < 0 ? -1 : 0;
}

static struct phantom **
slot(struct phantoms *pt, const char *id)
{
	struct phantom	**pp;

	pp = &pt->pt_buckets[strhash(STRHASH_INIT, id) &
	    (pt->pt_nbuckets - 1)];
	while (*pp != NULL && strcmp((*pp)->ph_id, id) != 0)
		pp = &(*pp)->ph_next;
	return pp;
}

/* Twice the buckets; failing leaves longer chains, not a failure. */
static void
grow(struct phantoms *pt)
{
	struct phantom	**nb, *ph, *next;
	size_t		  i, n = pt->pt_nbuckets * 2, h;

	if ((nb = calloc(n, sizeof(*nb))) == NULL)
		return;
	for (i = 0; i < pt->pt_nbuckets; i++)
		for (ph = pt->pt_buckets[i]; ph != NULL; ph = next) {
			next = ph->ph_next;
			h = strhash(STRHASH_INIT, ph->ph_id) & (n - 1);
			ph->ph_next = nb[h];
			nb[h] = ph;
		}
	free(pt->pt_buckets);
	pt->pt_buckets = nb;
	pt->pt_nbuckets = n;
}

int
phantoms_set(struct phantoms *pt, const char *id, const char *hex)
{
	struct phantom	**pp, *ph = NULL;
	uint8_t		  tok[PHANTOM_LEN];

	if (hex != NULL) {
		if (strlen(hex) != PHANTOM_HEX ||
		    unhex((const uint8_t *)hex, tok) == -1)
			return -1;
		/* Made before the lock, which the workers wait for. */
		if ((ph = calloc(1, sizeof(*ph))) == NULL ||
		    (ph->ph_id = strdup(id)) == NULL) {
			free(ph);
			OPENSSL_cleanse(tok, sizeof(tok));
			return -1;
		}
		memcpy(ph->ph_tok, tok, sizeof(tok));
		OPENSSL_cleanse(tok, sizeof(tok));
	}
	pthread_rwlock_wrlock(&pt->pt_lock);
	pp = slot(pt, id);
	if (*pp != NULL) {
		/* Replaced or removed: the old token stops working now. */
		struct phantom	*old = *pp;

		*pp = old->ph_next;
		pt->pt_count--;
		phantom_free(old);
	}
	if (ph != NULL) {
		if (pt->pt_count >= pt->pt_nbuckets)
			grow(pt);
		pp = slot(pt, id);
		*pp = ph;
		pt->pt_count++;
	}
	pthread_rwlock_unlock(&pt->pt_lock);
	return 0;
}

int
phantoms_check(struct phantoms *pt, const char *id, const uint8_t *cred,
    size_t len)
{
	struct phantom	*ph;
	uint8_t		 got[PHANTOM_LEN], want[PHANTOM_LEN];
	bool		 have = false;
	int		 ok;

	if (pt == NULL || id == NULL || cred == NULL || len != PHANTOM_HEX)
		return 0;
	ok = unhex(cred, got) == 0;
	pthread_rwlock_rdlock(&pt->pt_lock);
	if ((ph = *slot(pt, id)) != NULL) {
		memcpy(want, ph->ph_tok, sizeof(want));
		have = true;
	}
	pthread_rwlock_unlock(&pt->pt_lock);
	/* Compared whatever the digits were: no early answer to time. */
	ok = CRYPTO_memcmp(got, have ? want : got, sizeof(got)) == 0 &&
	    ok && have;
	OPENSSL_cleanse(got, sizeof(got));
	OPENSSL_cleanse(want, sizeof(want));
	return ok;
}
