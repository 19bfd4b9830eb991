/*
 * proxy/httpflow.h - the client->server side of an HTTP/1.x connection,
 * request by request.
 *
 * The flow sits between the bytes read from the client (<in>) and the
 * bytes approved for the server (<out>), both evbuffers.  It finds each
 * request head, stops there until the caller has judged it, frames its
 * body (Content-Length or chunked) so that the next head is found
 * exactly, and follows an Upgrade to a plain tunnel once the server said
 * 101.  It knows nothing of sockets, policies or audit: the connection
 * (proxy/conn.c) asks it what comes next and decides.
 *
 *   HEAD --head parsed--> JUDGING --httpflow_pass()--> BODY --done--> HEAD
 *                           (DNS look-ups wait here)      |
 *                                        Upgrade request: v
 *                    HEAD <--other status-- UPGRADE_WAIT --101--> TUNNEL
 */
#ifndef EGRESS_HTTPFLOW_H
#define EGRESS_HTTPFLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sniff/http.h"

struct evbuffer;

enum httpflow_phase {
	HTTPFLOW_IN_HEAD,		/* the next bytes are a request head */
	HTTPFLOW_IN_JUDGING,	/* a head waits at the start of <in> */
	HTTPFLOW_IN_BODY,		/* inside a request body */
	HTTPFLOW_IN_UPGRADE_WAIT,	/* Upgrade sent: held until the status */
	HTTPFLOW_IN_TUNNEL	/* after 101: opaque bytes */
};

enum httpflow_result {
	HTTPFLOW_MORE,		/* all that may pass went to <out>; read on */
	HTTPFLOW_REQUEST,	/* judge hf_req, then httpflow_pass() */
	HTTPFLOW_WAIT,		/* nothing moves until the caller resumes */
	HTTPFLOW_TUNNEL,	/* opaque from here: <in> went to <out> */
	HTTPFLOW_BAD,		/* malformed: deny with hf_bad */
	HTTPFLOW_TOO_LARGE,	/* a head longer than the limit */
	HTTPFLOW_NOMEM		/* an evbuffer operation failed */
};

struct http_flow {
	enum httpflow_phase	 hf_phase;
	struct http_sniff	 hf_sniff;
	struct http_request	 hf_req;	/* the head being judged */
	const uint8_t		*hf_head;	/* hf_req's bytes while JUDGING */
	struct http_body	 hf_body;
	size_t			 hf_max;	/* longest head taken */
	unsigned		 hf_nreq;	/* requests passed */
	unsigned		 hf_prejudged;	/* heads already judged at peek */
	bool			 hf_upgrade;	/* the request passed asked it */
};

/*
 * <prejudged>: the first head was judged before the flow started (from
 * the bytes peeked at accept), so it passes without HTTPFLOW_REQUEST.
 */
void	httpflow_init(struct http_flow *hf, size_t max_head, bool prejudged);

/*
 * Moves what may pass from <in> to <out>, stopping at the next head to
 * judge.  HTTPFLOW_REQUEST leaves the head at the start of <in>, parsed
 * into hf_req (its path via httpflow_path()), until httpflow_pass() or
 * httpflow_rejudge().
 */
enum httpflow_result httpflow_up(struct http_flow *hf, struct evbuffer *in,
	    struct evbuffer *out);
/* The head being judged was allowed: it goes to <out>. */
enum httpflow_result httpflow_pass(struct http_flow *hf, struct evbuffer *in,
	    struct evbuffer *out);
/* The head being judged will be parsed and offered again (its bytes may
 * have moved while the caller waited for an answer). */
void	httpflow_rejudge(struct http_flow *hf);
/* The path of the head being judged (query and fragment excluded). */
const char *httpflow_path(const struct http_flow *hf, size_t *len);

/*
 * The server's side while an Upgrade waits for its status line (<in> is
 * what the server sent, not yet passed on): HTTPFLOW_WAIT until the status
 * is in; HTTPFLOW_TUNNEL after 101; HTTPFLOW_MORE when requests go on.
 * Only ever called in phase UPGRADE_WAIT.
 */
enum httpflow_result httpflow_down(struct http_flow *hf, struct evbuffer *in);

const char *httpflow_phase_str(enum httpflow_phase p);

#endif /* EGRESS_HTTPFLOW_H */
