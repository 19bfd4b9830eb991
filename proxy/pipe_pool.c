#include "proxy/pipe_pool.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

void
pipe_pool_init(struct pipe_pool *pp, size_t cap)
{
	pp->pp_count = 0;
	pp->pp_fds = calloc(cap, sizeof(*pp->pp_fds));
	pp->pp_cap = pp->pp_fds != NULL ? cap : 0;
}

void
pipe_pool_free(struct pipe_pool *pp)
{
	while (pp->pp_count > 0) {
		pp->pp_count--;
		close(pp->pp_fds[pp->pp_count][0]);
		close(pp->pp_fds[pp->pp_count][1]);
	}
	free(pp->pp_fds);
	pp->pp_fds = NULL;
	pp->pp_cap = 0;
}

int
pipe_pool_get(struct pipe_pool *pp, int fds[2])
{
	if (pp != NULL && pp->pp_count > 0) {
		pp->pp_count--;
		fds[0] = pp->pp_fds[pp->pp_count][0];
		fds[1] = pp->pp_fds[pp->pp_count][1];
		return 0;
	}
	return pipe2(fds, O_NONBLOCK | O_CLOEXEC);
}

void
pipe_pool_put(struct pipe_pool *pp, int fds[2], bool reusable)
{
	if (pp != NULL && reusable && pp->pp_count < pp->pp_cap) {
		pp->pp_fds[pp->pp_count][0] = fds[0];
		pp->pp_fds[pp->pp_count][1] = fds[1];
		pp->pp_count++;
	} else {
		close(fds[0]);
		close(fds[1]);
	}
	fds[0] = fds[1] = -1;
}
