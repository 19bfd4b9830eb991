#include "proxy/pipe_pool.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* A pipe's default capacity in pages; fewer make a splice crawl. */
#define PIPE_DEF_PAGES		16
/* What a bulk flow's pipe grows to at most: fewer splices per byte. */
#define PIPE_BULK_MAX		(1024 * 1024)
/* Spare capacity a worker keeps at most. */
#define PIPE_SPARE_MAX		(2 * 1024 * 1024)
/* A worker's pipes with no per-user limit (root, or the limit off). */
#define PIPE_LIVE_NOLIMIT	(64 * 1024 * 1024)

void
pipe_pool_plan(struct pipe_plan *pl, unsigned long soft_pages,
    size_t max_size, size_t page, unsigned nworkers)
{
	size_t	live;

	if (nworkers == 0)
		nworkers = 1;
	pl->pl_min = PIPE_DEF_PAGES * page;
	/*
	 * Half the per-user limit for the process, the rest for the user's
	 * other processes (and a second egressd during a restart).
	 */
	live = soft_pages == 0 ? PIPE_LIVE_NOLIMIT :
	    soft_pages * page / 2 / nworkers;
	if (live < pl->pl_min)
		live = pl->pl_min;
	pl->pl_live_max = live;
	pl->pl_bulk = live / 16;
	if (pl->pl_bulk > PIPE_BULK_MAX)
		pl->pl_bulk = PIPE_BULK_MAX;
	if (max_size > 0 && pl->pl_bulk > max_size)
		pl->pl_bulk = max_size;
	if (pl->pl_bulk < pl->pl_min)
		pl->pl_bulk = pl->pl_min;
	pl->pl_spare_max = live / 4 < PIPE_SPARE_MAX ? live / 4 :
	    PIPE_SPARE_MAX;
	if (pl->pl_spare_max < pl->pl_min)
		pl->pl_spare_max = pl->pl_min;
	pl->pl_pipes_max = live / pl->pl_min;
}

static unsigned long
read_ulong(const char *path, unsigned long dflt)
{
	FILE		*f;
	unsigned long	 v;

	if ((f = fopen(path, "re")) == NULL)
		return dflt;
	if (fscanf(f, "%lu", &v) != 1)
		v = dflt;
	fclose(f);
	return v;
}

void
pipe_pool_plan_system(struct pipe_plan *pl, unsigned nworkers)
{
	long	page = sysconf(_SC_PAGESIZE);

	if (page <= 0)
		page = 4096;
	/* The kernel's defaults: 16384 pages, 1 MiB. */
	pipe_pool_plan(pl, read_ulong("/proc/sys/fs/pipe-user-pages-soft",
	    16384), read_ulong("/proc/sys/fs/pipe-max-size", 1048576),
	    (size_t)page, nworkers);
}

void
pipe_pool_init(struct pipe_pool *pp, const struct pipe_plan *pl)
{
	size_t	cap = pl->pl_spare_max / pl->pl_min;

	pp->pp_plan = *pl;
	pp->pp_nsmall = pp->pp_nbig = 0;
	pp->pp_spare = pp->pp_live = pp->pp_npipes = 0;
	pp->pp_small = calloc(cap, sizeof(*pp->pp_small));
	pp->pp_big = calloc(cap, sizeof(*pp->pp_big));
	pp->pp_cap = pp->pp_small != NULL && pp->pp_big != NULL ? cap : 0;
}

static void
pipe_close(struct pipe_pool *pp, struct pipe_slot *ps)
{
	close(ps->ps_fd[0]);
	close(ps->ps_fd[1]);
	pp->pp_live -= ps->ps_size;
	pp->pp_npipes--;
	ps->ps_fd[0] = ps->ps_fd[1] = -1;
	ps->ps_size = 0;
}

void
pipe_pool_free(struct pipe_pool *pp)
{
	while (pp->pp_nsmall > 0)
		pipe_close(pp, &pp->pp_small[--pp->pp_nsmall]);
	while (pp->pp_nbig > 0)
		pipe_close(pp, &pp->pp_big[--pp->pp_nbig]);
	free(pp->pp_small);
	free(pp->pp_big);
	pp->pp_small = pp->pp_big = NULL;
	pp->pp_cap = 0;
	pp->pp_spare = 0;
}

static void
pipe_take(struct pipe_pool *pp, struct pipe_slot *from, struct pipe_slot *ps)
{
	*ps = *from;
	pp->pp_spare -= ps->ps_size;
}

int
pipe_pool_get(struct pipe_pool *pp, struct pipe_slot *ps, bool bulk)
{
	int	sz;

	if (bulk && pp->pp_nbig > 0) {
		pipe_take(pp, &pp->pp_big[--pp->pp_nbig], ps);
		return 0;
	}
	if (pp->pp_nsmall > 0) {
		pipe_take(pp, &pp->pp_small[--pp->pp_nsmall], ps);
		return 0;
	}
	if (pp->pp_nbig > 0) {
		pipe_take(pp, &pp->pp_big[--pp->pp_nbig], ps);
		return 0;
	}
	if (pp->pp_npipes >= pp->pp_plan.pl_pipes_max ||
	    pp->pp_live + pp->pp_plan.pl_min > pp->pp_plan.pl_live_max) {
		errno = ENOBUFS;
		return -1;
	}
	if (pipe2(ps->ps_fd, O_NONBLOCK | O_CLOEXEC) == -1)
		return -1;
	/*
	 * Past fs.pipe-user-pages-soft an unprivileged user's new pipe gets
	 * a page or two, and cannot be grown: not worth splicing through.
	 */
	if ((sz = fcntl(ps->ps_fd[0], F_GETPIPE_SZ)) < 0 ||
	    (size_t)sz < pp->pp_plan.pl_min) {
		close(ps->ps_fd[0]);
		close(ps->ps_fd[1]);
		ps->ps_fd[0] = ps->ps_fd[1] = -1;
		ps->ps_size = 0;
		errno = EMSGSIZE;
		return -1;
	}
	ps->ps_size = (size_t)sz;
	pp->pp_live += ps->ps_size;
	pp->pp_npipes++;
	return 0;
}

bool
pipe_pool_grow(struct pipe_pool *pp, struct pipe_slot *ps)
{
	size_t	want = pp->pp_plan.pl_bulk;
	int	sz;

	if (ps->ps_size >= want)
		return true;
	if (pp->pp_live + (want - ps->ps_size) > pp->pp_plan.pl_live_max)
		return false;
	/* Best effort: the per-user limit may refuse it (EPERM). */
	if ((sz = fcntl(ps->ps_fd[1], F_SETPIPE_SZ, (int)want)) < 0)
		return false;
	pp->pp_live = pp->pp_live - ps->ps_size + (size_t)sz;
	ps->ps_size = (size_t)sz;
	return ps->ps_size >= want;
}

void
pipe_pool_put(struct pipe_pool *pp, struct pipe_slot *ps)
{
	bool	big = ps->ps_size >= pp->pp_plan.pl_bulk;

	if (pp->pp_spare + ps->ps_size <= pp->pp_plan.pl_spare_max &&
	    (big ? pp->pp_nbig : pp->pp_nsmall) < pp->pp_cap) {
		if (big)
			pp->pp_big[pp->pp_nbig++] = *ps;
		else
			pp->pp_small[pp->pp_nsmall++] = *ps;
		pp->pp_spare += ps->ps_size;
		ps->ps_fd[0] = ps->ps_fd[1] = -1;
		ps->ps_size = 0;
		return;
	}
	pipe_close(pp, ps);
}

void
pipe_pool_drop(struct pipe_pool *pp, struct pipe_slot *ps)
{
	pipe_close(pp, ps);
}
