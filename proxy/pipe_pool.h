/*
 * proxy/pipe_pool.h - the pipes of one worker.
 *
 * A half (proxy/half.h) holds a pipe only while bytes sit in it: it takes
 * one when a splice has data to move and gives it back once drained, so
 * an idle connection holds its two sockets and nothing else.  The pool
 * keeps the spare ones (creating and closing pipes would be a tenth of the
 * system calls of a short connection) and keeps the books of every pipe
 * the worker holds, in bytes of capacity: the kernel charges pipe pages
 * to the user (fs.pipe-user-pages-soft), and past that limit an
 * unprivileged user's new pipes get a page or two, through which a splice
 * crawls.  So the pool grows pipes for bulk flows only within its share
 * of that limit, never holds more spare capacity than pp_spare_max, and
 * says when a pipe came back smaller than a useful one (the flow then
 * copies instead).
 */
#ifndef EGRESS_PIPE_POOL_H
#define EGRESS_PIPE_POOL_H

#include <stdbool.h>
#include <stddef.h>

/* A pipe and its capacity in bytes; fds are -1 when there is none. */
struct pipe_slot {
	int		ps_fd[2];
	size_t		ps_size;
};

/* How a worker sizes and bounds its pipes (pipe_pool_plan()). */
struct pipe_plan {
	size_t		pl_min;		/* smaller pipes are not used */
	size_t		pl_bulk;	/* what a flow that fills one gets */
	size_t		pl_spare_max;	/* bytes of spare pipes kept */
	size_t		pl_live_max;	/* bytes of all pipes held */
	size_t		pl_pipes_max;	/* pipes held (descriptors / 2) */
};

struct pipe_pool {
	struct pipe_plan  pp_plan;
	struct pipe_slot *pp_small;	/* owns: spare pipes below pl_bulk */
	size_t		  pp_nsmall;
	struct pipe_slot *pp_big;	/* owns: spare pipes of pl_bulk */
	size_t		  pp_nbig;
	size_t		  pp_cap;	/* of each array */
	size_t		  pp_spare;	/* bytes in pp_small + pp_big */
	size_t		  pp_live;	/* bytes of every pipe held */
	size_t		  pp_npipes;	/* pipes held, spare or in use */
};

/*
 * The plan for one of <nworkers> workers, from fs.pipe-user-pages-soft
 * (<soft_pages>, 0 = no limit), fs.pipe-max-size and the page size.  Pure.
 */
void	pipe_pool_plan(struct pipe_plan *pl, unsigned long soft_pages,
	    size_t max_size, size_t page, unsigned nworkers);
/* The plan from /proc/sys/fs (defaults where it cannot be read). */
void	pipe_pool_plan_system(struct pipe_plan *pl, unsigned nworkers);

void	pipe_pool_init(struct pipe_pool *pp, const struct pipe_plan *pl);
void	pipe_pool_free(struct pipe_pool *pp);
/*
 * An empty pipe into <ps>: a spare one (of pl_bulk when <bulk> and there
 * is one), else a new one.  0, or -1 when the worker holds all it may or
 * the kernel refused (errno); a new pipe smaller than pl_min is closed
 * and fails with EMSGSIZE: the caller copies instead.
 */
int	pipe_pool_get(struct pipe_pool *pp, struct pipe_slot *ps, bool bulk);
/* Tries to grow <ps> to pl_bulk within the budget; true when it is. */
bool	pipe_pool_grow(struct pipe_pool *pp, struct pipe_slot *ps);
/* Gives back an empty pipe: kept when there is room, else closed. */
void	pipe_pool_put(struct pipe_pool *pp, struct pipe_slot *ps);
/* Closes a pipe that may hold bytes. */
void	pipe_pool_drop(struct pipe_pool *pp, struct pipe_slot *ps);

#endif /* EGRESS_PIPE_POOL_H */
