/*
 * tests/unit/test_pipe_pool.c - how a worker sizes and bounds its pipes
 * (the plan, from the per-user pipe limit), and the pool's books in bytes
 * with real pipes.
 */
#include "proxy/pipe_pool.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "check_main.h"

#define KiB	1024UL
#define MiB	(1024UL * 1024UL)

START_TEST(test_plan_default_limit)
{
	struct pipe_plan	pl;

	/* 16384 pages of 4 KiB: half for the process, two workers. */
	pipe_pool_plan(&pl, 16384, 1 * MiB, 4096, 2);
	ck_assert_uint_eq(pl.pl_min, 64 * KiB);
	ck_assert_uint_eq(pl.pl_live_max, 16 * MiB);
	ck_assert_uint_eq(pl.pl_bulk, 1 * MiB);
	ck_assert_uint_eq(pl.pl_spare_max, 2 * MiB);
	ck_assert_uint_eq(pl.pl_pipes_max, 256);
}
END_TEST

START_TEST(test_plan_small_limit_and_max_size)
{
	struct pipe_plan	pl;

	/* A tight limit: bulk pipes shrink with it, never below the min. */
	pipe_pool_plan(&pl, 1024, 1 * MiB, 4096, 4);
	ck_assert_uint_eq(pl.pl_live_max, 512 * KiB);
	ck_assert_uint_eq(pl.pl_bulk, 64 * KiB);
	ck_assert_uint_eq(pl.pl_spare_max, 128 * KiB);
	ck_assert_uint_eq(pl.pl_pipes_max, 8);
	/* fs.pipe-max-size caps the bulk size. */
	pipe_pool_plan(&pl, 0, 256 * KiB, 4096, 1);
	ck_assert_uint_eq(pl.pl_bulk, 256 * KiB);
	ck_assert_uint_eq(pl.pl_live_max, 64 * MiB);
	/* Even a limit smaller than one pipe leaves one. */
	pipe_pool_plan(&pl, 8, 1 * MiB, 4096, 8);
	ck_assert_uint_eq(pl.pl_live_max, 64 * KiB);
	ck_assert_uint_eq(pl.pl_pipes_max, 1);
}
END_TEST

START_TEST(test_pool_books_and_bounds)
{
	struct pipe_plan	pl;
	struct pipe_pool	pp;
	struct pipe_slot	a, b, c;

	pipe_pool_plan(&pl, 16384, 1 * MiB, 4096, 2);
	pl.pl_spare_max = 64 * KiB;	/* room for one spare pipe */
	pl.pl_pipes_max = 2;
	pipe_pool_init(&pp, &pl);
	ck_assert_int_eq(pipe_pool_get(&pp, &a, false), 0);
	ck_assert_uint_ge(a.ps_size, 64 * KiB);
	ck_assert_int_eq(pipe_pool_get(&pp, &b, false), 0);
	ck_assert_uint_eq(pp.pp_npipes, 2);
	/* The worker holds all it may: the caller copies instead. */
	ck_assert_int_eq(pipe_pool_get(&pp, &c, false), -1);
	ck_assert_int_eq(errno, ENOBUFS);
	pipe_pool_put(&pp, &a);
	ck_assert_int_eq(a.ps_fd[0], -1);
	ck_assert_uint_eq(pp.pp_spare, 64 * KiB);
	/* No room for a second spare: closed, off the books. */
	pipe_pool_put(&pp, &b);
	ck_assert_uint_eq(pp.pp_npipes, 1);
	ck_assert_uint_eq(pp.pp_live, 64 * KiB);
	/* The spare one comes back. */
	ck_assert_int_eq(pipe_pool_get(&pp, &c, false), 0);
	ck_assert_uint_eq(pp.pp_spare, 0);
	pipe_pool_drop(&pp, &c);
	ck_assert_uint_eq(pp.pp_npipes, 0);
	ck_assert_uint_eq(pp.pp_live, 0);
	pipe_pool_free(&pp);
}
END_TEST

START_TEST(test_pool_grows_within_budget)
{
	struct pipe_plan	pl;
	struct pipe_pool	pp;
	struct pipe_slot	a, b;

	pipe_pool_plan(&pl, 0, 1 * MiB, 4096, 1);
	pl.pl_bulk = 256 * KiB;
	pl.pl_live_max = 320 * KiB;	/* one bulk pipe and one plain */
	pipe_pool_init(&pp, &pl);
	ck_assert_int_eq(pipe_pool_get(&pp, &a, true), 0);
	ck_assert_int_eq(pipe_pool_get(&pp, &b, false), 0);
	if (!pipe_pool_grow(&pp, &a)) {
		/* fs.pipe-max-size or the per-user limit said no. */
		pipe_pool_free(&pp);
		return;
	}
	ck_assert_uint_eq(a.ps_size, 256 * KiB);
	ck_assert_uint_eq(pp.pp_live, 320 * KiB);
	/* Over the budget: stays as it is. */
	ck_assert(!pipe_pool_grow(&pp, &b));
	ck_assert_uint_eq(b.ps_size, 64 * KiB);
	ck_assert_int_eq(fcntl(a.ps_fd[0], F_GETPIPE_SZ), 256 * 1024);
	/* A bulk pipe goes back to its own shelf and is asked for first. */
	pipe_pool_put(&pp, &b);
	pipe_pool_put(&pp, &a);
	ck_assert_uint_eq(pp.pp_nbig, 1);
	ck_assert_int_eq(pipe_pool_get(&pp, &a, true), 0);
	ck_assert_uint_eq(a.ps_size, 256 * KiB);
	pipe_pool_put(&pp, &a);
	pipe_pool_free(&pp);
	ck_assert_uint_eq(pp.pp_live, 0);
}
END_TEST

static Suite *
pipe_pool_suite(void)
{
	Suite	*s = suite_create("pipe_pool");
	TCase	*tc = tcase_create("pool");

	tcase_add_test(tc, test_plan_default_limit);
	tcase_add_test(tc, test_plan_small_limit_and_max_size);
	tcase_add_test(tc, test_pool_books_and_bounds);
	tcase_add_test(tc, test_pool_grows_within_budget);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(pipe_pool_suite)
