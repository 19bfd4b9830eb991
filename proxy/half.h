/*
 * proxy/half.h - one direction of an allowed connection.
 *
 * A half moves bytes from one socket to the other.  In splice mode they
 * go socket -> pipe -> socket inside the kernel and are never copied to
 * user space; in copy mode they are read into h_in so the connection can
 * look at them (each HTTP request head is checked) and approved bytes are
 * moved to h_out.  Bytes already in h_out (the peeked ClientHello, an
 * approved head) always leave before anything read later.
 */
#ifndef EGRESS_HALF_H
#define EGRESS_HALF_H

#include <event2/event_struct.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proxy/pipe_pool.h"

struct conn;
struct evbuffer;

enum half_status {
	HALF_WAITING,		/* armed for the next readable/writable */
	HALF_HELD,		/* waiting for the connection to release it */
	HALF_DONE,		/* EOF passed on: the write side is shut */
	HALF_FAILED		/* read or write error: h_err says which */
};

struct half {
	struct conn	*h_conn;	/* borrowed: owner */
	/* The other direction: when it is shut already, this half's EOF
	 * ends the connection and the close that follows sends the FIN. */
	const struct half *h_peer;
	struct pipe_pool *h_pool;	/* borrowed: the worker's */
	int		 h_from;	/* borrowed fds, owned by the conn */
	int		 h_to;
	bool		 h_copy;	/* copy mode (see above) */
	bool		 h_hold;	/* stop reading until released */
	/*
	 * HALF_HELD was returned with h_rd left armed: most holds end
	 * before the peer speaks again, and a del and add would be two
	 * epoll_ctl.  If h_rd fires while still held, it is taken off.
	 */
	bool		 h_held;
	bool		 h_eof;		/* h_from said EOF */
	bool		 h_shut;	/* shutdown(h_to, SHUT_WR) done */
	/*
	 * Splice mode: a pipe from h_pool only while h_inpipe > 0 (fds -1
	 * otherwise), so an idle half holds no descriptor.
	 */
	struct pipe_slot h_pipe;
	bool		 h_bulk;	/* it filled a pipe: ask for big ones */
	bool		 h_nogrow;	/* growing one failed: stop trying */
	/* h_from was just drained: wait for readiness before reading. */
	bool		 h_quiet;
	/* No useful pipe could be had (the per-user limit, descriptors):
	 * splice mode moves bytes through h_out instead, unjudged. */
	bool		 h_nopipe;
	size_t		 h_inpipe;	/* bytes sitting in the pipe */
	struct evbuffer	*h_in;		/* copy mode: read, not yet judged */
	struct evbuffer	*h_out;		/* approved, not yet written */
	uint64_t	 h_bytes;	/* written to h_to */
	int		 h_err;	/* on HALF_FAILED */
	struct event	 h_rd;		/* h_from readable; EV_PERSIST */
	struct event	 h_wr;		/* h_to writable */
};

/*
 * Called in copy mode after bytes were added to h_in: moves what may pass
 * to h_out.  Returns 0 to go on, -1 when the connection was closed.
 */
typedef int half_filter_fn(struct half *h);

void		 half_init(struct half *h, struct conn *c, struct pipe_pool *pp);
/* Moves as much as the sockets take now; arms events for the rest. */
enum half_status half_pump(struct half *h, half_filter_fn *filter);
void		 half_disarm(struct half *h);
/*
 * Frees buffers; a pipe still holding bytes is closed (an empty one is
 * never held).  The sockets are the connection's to close.
 */
void		 half_release(struct half *h);

#endif /* EGRESS_HALF_H */
