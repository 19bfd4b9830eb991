/*
 * proxy/pipe_pool.h - empty pipes kept by one worker for the next
 * connection: creating and closing two pipes is a tenth of the system
 * calls of a short connection.
 */
#ifndef EGRESS_PIPE_POOL_H
#define EGRESS_PIPE_POOL_H

#include <stdbool.h>
#include <stddef.h>

struct pipe_pool {
	int		(*pp_fds)[2];	/* owns: pipes, empty and default-sized */
	size_t		 pp_count;
	size_t		 pp_cap;
};

void	pipe_pool_init(struct pipe_pool *pp, size_t cap);
void	pipe_pool_free(struct pipe_pool *pp);
/* A pipe from the pool (<pp> may be NULL), else a new one: 0 or -1. */
int	pipe_pool_get(struct pipe_pool *pp, int fds[2]);
/* Keeps <fds> when <reusable> (empty, default size) and there is room,
 * else closes them; <fds> are -1 afterwards. */
void	pipe_pool_put(struct pipe_pool *pp, int fds[2], bool reusable);

#endif /* EGRESS_PIPE_POOL_H */
