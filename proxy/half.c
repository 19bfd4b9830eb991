#include "proxy/half.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <sys/socket.h>
#include <unistd.h>

/* Reads per pump before yielding, so one fast flow cannot starve others. */
#define HALF_BURST		8
#define HALF_COPY_READ		16384
/* Splice mode without a pipe: a pipe's worth per read. */
#define HALF_NOPIPE_READ	65536

void
half_init(struct half *h, struct conn *c, struct pipe_pool *pp)
{
	h->h_conn = c;
	h->h_pool = pp;
	h->h_from = h->h_to = -1;
	h->h_pipe.ps_fd[0] = h->h_pipe.ps_fd[1] = -1;
}

static enum half_status
half_fail(struct half *h)
{
	h->h_err = errno;
	return HALF_FAILED;
}

static enum half_status
half_wait(struct event *ev)
{
	/* h_rd is persistent: adding it again costs nothing. */
	event_add(ev, NULL);
	return HALF_WAITING;
}

/* Blocked on h_to: stop reading until it drains. */
static enum half_status
half_wait_wr(struct half *h)
{
	event_del(&h->h_rd);
	event_add(&h->h_wr, NULL);
	return HALF_WAITING;
}

static bool
would_block(void)
{
	return errno == EAGAIN || errno == EWOULDBLOCK;
}

/* A drained pipe goes back at once: idle halves hold none. */
static void
half_pipe_done(struct half *h)
{
	if (h->h_pipe.ps_fd[0] != -1 && h->h_inpipe == 0)
		pipe_pool_put(h->h_pool, &h->h_pipe);
}

/*
 * A pipe for the next splice: 0, or -1 when this read moves its bytes
 * through h_out instead, slower per byte but never crawling: for good
 * when only a short pipe can be had (past the per-user limit), for this
 * read when the worker holds its share of pipes or is out of descriptors.
 */
/* A bulk flow's pipe grows, until growing fails once. */
static void
half_pipe_grow(struct half *h)
{
	if (h->h_bulk && !h->h_nogrow &&
	    !pipe_pool_grow(h->h_pool, &h->h_pipe))
		h->h_nogrow = true;
}

static int
half_pipe_take(struct half *h)
{
	if (pipe_pool_get(h->h_pool, &h->h_pipe, h->h_bulk) == 0) {
		half_pipe_grow(h);
		return 0;
	}
	if (errno == EMSGSIZE)
		h->h_nopipe = true;
	return -1;
}

/*
 * Up to <max> bytes from <fd> appended to <buf>: evbuffer_read() without
 * its FIONREAD ioctl, one system call per read instead of two.
 */
static ssize_t
half_evread(struct evbuffer *buf, int fd, size_t max)
{
	struct evbuffer_iovec	v[2];
	struct iovec		iov[2];
	int			nv, i;
	ssize_t			n;
	size_t			left;

	if ((nv = evbuffer_reserve_space(buf, (ev_ssize_t)max, v, 2)) < 1) {
		errno = ENOMEM;
		return -1;
	}
	for (i = 0; i < nv; i++) {
		iov[i].iov_base = v[i].iov_base;
		iov[i].iov_len = v[i].iov_len;
	}
	if ((n = readv(fd, iov, nv)) <= 0) {
		evbuffer_commit_space(buf, v, 0);
		return n;
	}
	for (i = 0, left = (size_t)n; i < nv; i++) {
		if (v[i].iov_len > left)
			v[i].iov_len = left;
		left -= v[i].iov_len;
	}
	evbuffer_commit_space(buf, v, nv);
	return n;
}

/* Splice mode without a pipe: read into h_out, written at the loop top. */
static ssize_t
half_read_nopipe(struct half *h)
{
	if (h->h_out == NULL && (h->h_out = evbuffer_new()) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	return half_evread(h->h_out, h->h_from, HALF_NOPIPE_READ);
}

static enum half_status
half_pump_(struct half *h, half_filter_fn *filter)
{
	ssize_t	n;
	int	reads = 0;
	bool	drained = false;	/* a short read emptied h_from */

	for (;;) {
		/* Approved bytes leave first and in order. */
		if (h->h_out != NULL && !h->h_copy &&
		    evbuffer_get_length(h->h_out) == 0) {
			/* Spliced from now on: an idle flow keeps no buffer. */
			evbuffer_free(h->h_out);
			h->h_out = NULL;
		}
		if (h->h_out != NULL && evbuffer_get_length(h->h_out) > 0) {
			n = evbuffer_write(h->h_out, h->h_to);
			if (n < 0 && would_block())
				return half_wait_wr(h);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return half_fail(h);
			h->h_bytes += (uint64_t)n;
			continue;
		}
		if (h->h_inpipe > 0) {
			n = splice(h->h_pipe.ps_fd[0], NULL, h->h_to, NULL,
			    h->h_inpipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n < 0 && would_block())
				return half_wait_wr(h);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return half_fail(h);
			h->h_inpipe -= (size_t)n;
			h->h_bytes += (uint64_t)n;
			half_pipe_done(h);
			continue;
		}
		if (h->h_eof) {
			if (!h->h_shut) {
				/* Half-close: the peer may still answer. */
				if (h->h_peer == NULL || !h->h_peer->h_shut)
					shutdown(h->h_to, SHUT_WR);
				h->h_shut = true;
			}
			return HALF_DONE;
		}
		if (h->h_hold)
			return HALF_HELD;
		if (drained || h->h_quiet) {
			h->h_quiet = false;
			/*
			 * Level-triggered: if more came meanwhile the event
			 * fires at once; the read that would only say EAGAIN
			 * is saved.
			 */
			return half_wait(&h->h_rd);
		}
		if (++reads > HALF_BURST) {
			/* Level-triggered: fires again at once if data waits. */
			return half_wait(&h->h_rd);
		}
		if (h->h_copy) {
			if (h->h_in == NULL && (h->h_in = evbuffer_new()) == NULL)
				return half_fail(h);
			if (h->h_out == NULL &&
			    (h->h_out = evbuffer_new()) == NULL)
				return half_fail(h);
			n = half_evread(h->h_in, h->h_from, HALF_COPY_READ);
			if (n < 0 && would_block())
				return half_wait(&h->h_rd);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return half_fail(h);
			if (n == 0) {
				/* Unjudged bytes never pass, not even at EOF. */
				h->h_eof = true;
				evbuffer_drain(h->h_in,
				    evbuffer_get_length(h->h_in));
				continue;
			}
			if ((size_t)n < HALF_COPY_READ)
				drained = true;
			if (filter(h) == -1)
				return HALF_FAILED;
			continue;
		}
		if (h->h_nopipe || (h->h_pipe.ps_fd[0] == -1 &&
		    half_pipe_take(h) == -1)) {
			n = half_read_nopipe(h);
			if (n < 0 && would_block())
				return half_wait(&h->h_rd);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return half_fail(h);
			if (n == 0)
				h->h_eof = true;
			continue;
		}
		n = splice(h->h_from, NULL, h->h_pipe.ps_fd[1], NULL,
		    h->h_pipe.ps_size, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0 && (size_t)n == h->h_pipe.ps_size && !h->h_bulk) {
			/* It fills pipes: fewer splices per byte from now on. */
			h->h_bulk = true;
			half_pipe_grow(h);
		}
		if (n <= 0 && h->h_inpipe == 0) {
			int e = errno;

			half_pipe_done(h);
			errno = e;
		}
		if (n < 0 && would_block())
			return half_wait(&h->h_rd);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return half_fail(h);
		if (n == 0)
			h->h_eof = true;
		else if ((size_t)n < h->h_pipe.ps_size)
			drained = true;
		h->h_inpipe += (size_t)n;
	}
}

enum half_status
half_pump(struct half *h, half_filter_fn *filter)
{
	enum half_status	st = half_pump_(h, filter);

	if (st == HALF_HELD && !h->h_held) {
		h->h_held = true;
		return st;
	}
	h->h_held = st == HALF_HELD;
	/* Done, held again or failed: a persistent h_rd must not fire
	 * again. */
	if (st != HALF_WAITING && event_initialized(&h->h_rd))
		event_del(&h->h_rd);
	return st;
}

void
half_disarm(struct half *h)
{
	if (event_initialized(&h->h_rd))
		event_del(&h->h_rd);
	if (event_initialized(&h->h_wr))
		event_del(&h->h_wr);
}

void
half_release(struct half *h)
{
	char	junk[4096];

	half_disarm(h);
	if (h->h_pipe.ps_fd[0] != -1) {
		/*
		 * Bytes the peer will never take (it closed first, a TLS
		 * close_notify typically): a read empties a pipe for the next
		 * flow in one call, where closing and making a new one
		 * takes four.
		 */
		if (h->h_inpipe > 0 && h->h_inpipe <= sizeof(junk) &&
		    read(h->h_pipe.ps_fd[0], junk, sizeof(junk)) ==
		    (ssize_t)h->h_inpipe)
			h->h_inpipe = 0;
		if (h->h_inpipe == 0)
			pipe_pool_put(h->h_pool, &h->h_pipe);
		else
			pipe_pool_drop(h->h_pool, &h->h_pipe);
	}
	if (h->h_in != NULL) {
		evbuffer_free(h->h_in);
		h->h_in = NULL;
	}
	if (h->h_out != NULL) {
		evbuffer_free(h->h_out);
		h->h_out = NULL;
	}
	h->h_inpipe = 0;
}
