/* dnscache: per-address TTLs, accumulation, negative entries, bounds. */
#include <stdio.h>
#include <stdlib.h>

#include "dns/dnscache.h"

#include "check_main.h"

static struct ipaddr
ip(const char *s)
{
	struct ipaddr	ia;

	ck_assert_int_eq(ipaddr_parse(s, &ia), 0);
	return ia;
}

START_TEST(test_ttl_and_accumulation)
{
	struct dnscache	*dc = dnscache_new(16);
	struct ipaddr	 a[2] = { ip("203.0.113.1"), ip("2001:db8::1") };
	struct ipaddr	 b = ip("203.0.113.2"), out[8];
	size_t		 n;

	ck_assert_int_eq(dnscache_put(dc, "cdn.example", a, 2, 60, 1000), 0);
	/* A rotated answer adds to the set; it does not replace it. */
	ck_assert_int_eq(dnscache_put(dc, "cdn.example", &b, 1, 300, 31000), 0);
	ck_assert(dnscache_has(dc, "cdn.example", &a[0], 60999));
	ck_assert(dnscache_has(dc, "cdn.example", &b, 60999));
	ck_assert_int_eq(dnscache_get(dc, "cdn.example", out, 8, &n, 60999),
	    DNSCACHE_HIT);
	ck_assert_uint_eq(n, 3);
	/* Each address lives exactly its own TTL. */
	ck_assert(!dnscache_has(dc, "cdn.example", &a[0], 61000));
	ck_assert(dnscache_has(dc, "cdn.example", &b, 61000));
	ck_assert(!dnscache_has(dc, "cdn.example", &b, 331000));
	ck_assert_int_eq(dnscache_get(dc, "cdn.example", out, 8, &n, 331000),
	    DNSCACHE_MISS);
	ck_assert(!dnscache_has(dc, "other.example", &b, 0));
	dnscache_free(dc);
}
END_TEST

START_TEST(test_negative)
{
	struct dnscache	*dc = dnscache_new(16);
	struct ipaddr	 a = ip("203.0.113.1"), out[2];
	size_t		 n;

	dnscache_put_negative(dc, "nx.example", 30, 0);
	ck_assert_int_eq(dnscache_get(dc, "nx.example", out, 2, &n, 29999),
	    DNSCACHE_NEGATIVE);
	ck_assert_int_eq(dnscache_get(dc, "nx.example", out, 2, &n, 30000),
	    DNSCACHE_MISS);
	/* A positive answer overrides a negative one. */
	dnscache_put_negative(dc, "nx.example", 30, 40000);
	dnscache_put(dc, "nx.example", &a, 1, 30, 41000);
	ck_assert_int_eq(dnscache_get(dc, "nx.example", out, 2, &n, 42000),
	    DNSCACHE_HIT);
	dnscache_free(dc);
}
END_TEST

START_TEST(test_bounds)
{
	struct dnscache	*dc = dnscache_new(4);
	struct ipaddr	 a = ip("203.0.113.1"), many[40], out[64];
	char		 name[32];
	size_t		 i, n;

	for (i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "n%zu.example", i);
		dnscache_put(dc, name, &a, 1, 60, 0);
	}
	ck_assert_uint_eq(dnscache_count(dc), 4);
	ck_assert(!dnscache_has(dc, "n0.example", &a, 1));
	ck_assert(dnscache_has(dc, "n9.example", &a, 1));
	for (i = 0; i < 40; i++) {
		many[i].ia_family = 4;
		many[i].ia_bytes[0] = 198;
		many[i].ia_bytes[1] = 51;
		many[i].ia_bytes[2] = 100;
		many[i].ia_bytes[3] = (uint8_t)i;
		dnscache_put(dc, "big.example", &many[i], 1, 10 + (uint32_t)i,
		    0);
	}
	dnscache_get(dc, "big.example", out, 64, &n, 1);
	ck_assert_uint_eq(n, DNSCACHE_ADDRS_MAX);
	/* The ones closest to expiry were dropped, the newest kept. */
	ck_assert(dnscache_has(dc, "big.example", &many[39], 1));
	ck_assert(!dnscache_has(dc, "big.example", &many[0], 1));
	dnscache_free(dc);
}
END_TEST

static Suite *
dnscache_suite(void)
{
	Suite	*s = suite_create("dnscache");
	TCase	*tc = tcase_create("cache");

	tcase_add_test(tc, test_ttl_and_accumulation);
	tcase_add_test(tc, test_negative);
	tcase_add_test(tc, test_bounds);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(dnscache_suite)
