/*
 * daemon/ahttp.h - the small HTTP/1.1 server under the admin API.
 *
 * It owns its listener, so it can count and cap connections (in total and
 * per source address), give each request a deadline, pause accepting when
 * the process runs out of descriptors, and answer every error itself as
 * JSON: nothing it sends is an HTML error page.  Request bodies need a
 * Content-Length (no chunked uploads); handlers run on the loop's thread
 * and answer before they return.
 */
#ifndef EGRESS_AHTTP_H
#define EGRESS_AHTTP_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct evbuffer;
struct ahttp;
struct ahttp_req;

struct ahttp_limits {
	unsigned	al_max_conns;	/* open connections, all sources */
	unsigned	al_max_per_source; /* per IP address; 0: no such cap */
	unsigned	al_timeout_s;	/* to send a request / take a reply */
	size_t		al_head_max;	/* request line + headers, bytes */
	size_t		al_body_max;	/* request body, bytes (else 413) */
};

struct ahttp_stats {
	unsigned	as_open;		/* connections open now */
	uint64_t	as_refused_limit;	/* closed at accept: total cap */
	uint64_t	as_refused_source;	/* closed at accept: per source */
	uint64_t	as_accept_pauses;	/* accept() failed, paused */
};

typedef void	(*ahttp_handler)(struct ahttp_req *req, void *arg);

/*
 * Serves the listening socket <fd> (taken over: closed by ahttp_free, and
 * here on failure).  <name> names the listener in log messages.
 */
struct ahttp	*ahttp_new(struct event_base *base, int fd,
		    const struct ahttp_limits *lim, ahttp_handler cb, void *arg,
		    const char *name);
void		 ahttp_free(struct ahttp *srv);
void		 ahttp_get_stats(const struct ahttp *srv, struct ahttp_stats *st);

/* The request: method and target as sent; path and query are raw. */
const char	*ahttp_req_method(const struct ahttp_req *req);
const char	*ahttp_req_path(const struct ahttp_req *req);
const char	*ahttp_req_query(const struct ahttp_req *req);	/* or NULL */
const char	*ahttp_req_header(const struct ahttp_req *req, const char *name);
struct evbuffer	*ahttp_req_body(struct ahttp_req *req);

/* Adds a response header (before ahttp_reply). */
void		 ahttp_add_header(struct ahttp_req *req, const char *name,
		    const char *value);
/*
 * Sends the response, once per request; <body> (may be NULL) is drained
 * into it.  A handler that returns without replying gets a 500.
 */
void		 ahttp_reply(struct ahttp_req *req, int code, const char *ctype,
		    struct evbuffer *body);

#endif /* EGRESS_AHTTP_H */
