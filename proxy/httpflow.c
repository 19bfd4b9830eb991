#include "proxy/httpflow.h"

#include <event2/buffer.h>
#include <string.h>

/* Response bytes enough to hold any status line egressd has to read. */
#define STATUS_PEEK	1024

void
httpflow_init(struct http_flow *hf, size_t max_head, bool prejudged)
{
	memset(hf, 0, sizeof(*hf));
	hf->hf_phase = HTTPFLOW_IN_HEAD;
	hf->hf_max = max_head;
	hf->hf_prejudged = prejudged ? 1 : 0;
	http_sniff_init(&hf->hf_sniff);
}

const char *
httpflow_phase_str(enum httpflow_phase p)
{
	switch (p) {
	case HTTPFLOW_IN_HEAD:
		return "head";
	case HTTPFLOW_IN_JUDGING:
		return "judging";
	case HTTPFLOW_IN_BODY:
		return "body";
	case HTTPFLOW_IN_UPGRADE_WAIT:
		return "upgrade-wait";
	case HTTPFLOW_IN_TUNNEL:
		return "tunnel";
	}
	return "invalid";
}

const char *
httpflow_path(const struct http_flow *hf, size_t *len)
{
	if (hf->hf_phase != HTTPFLOW_IN_JUDGING || hf->hf_head == NULL ||
	    hf->hf_req.path_len == 0) {
		*len = 1;
		return "/";
	}
	*len = hf->hf_req.path_len;
	return (const char *)hf->hf_head + hf->hf_req.path_off;
}

/*
 * A request went out whole.  After the first request's Upgrade the next
 * bytes wait until the status line says whether they are still HTTP: the
 * first response is the only one whose start egressd knows without
 * framing responses.
 */
static enum httpflow_result
httpflow_request_done(struct http_flow *hf)
{
	if (hf->hf_upgrade && hf->hf_nreq == 1) {
		hf->hf_phase = HTTPFLOW_IN_UPGRADE_WAIT;
		return HTTPFLOW_WAIT;
	}
	hf->hf_phase = HTTPFLOW_IN_HEAD;
	return HTTPFLOW_MORE;
}

/* HEAD: parses the head at the start of <in>. */
static enum httpflow_result
httpflow_head(struct http_flow *hf, struct evbuffer *in, struct evbuffer *out)
{
	size_t		 len = evbuffer_get_length(in);
	size_t		 n = len < hf->hf_max ? len : hf->hf_max;
	const uint8_t	*p;

	if ((p = evbuffer_pullup(in, (ssize_t)n)) == NULL)
		return HTTPFLOW_NOMEM;
	switch (http_parse_request(&hf->hf_sniff, p, n, hf->hf_max,
	    &hf->hf_req)) {
	case HTTP_NEED_MORE:
		return len >= hf->hf_max ? HTTPFLOW_TOO_LARGE : HTTPFLOW_MORE;
	case HTTP_OK:
		break;
	case HTTP_TOO_LARGE:
		return HTTPFLOW_TOO_LARGE;
	case HTTP_MALFORMED:
	case HTTP_NOT_HTTP:
		return HTTPFLOW_BAD;
	}
	hf->hf_head = p;
	hf->hf_phase = HTTPFLOW_IN_JUDGING;
	if (hf->hf_prejudged > 0) {
		hf->hf_prejudged--;
		return httpflow_pass(hf, in, out);
	}
	return HTTPFLOW_REQUEST;
}

enum httpflow_result
httpflow_pass(struct http_flow *hf, struct evbuffer *in, struct evbuffer *out)
{
	size_t	n = hf->hf_req.head_len;

	if (hf->hf_phase != HTTPFLOW_IN_JUDGING)
		return HTTPFLOW_BAD;
	if (evbuffer_remove_buffer(in, out, n) != (int)n)
		return HTTPFLOW_NOMEM;
	hf->hf_head = NULL;
	hf->hf_nreq++;
	hf->hf_upgrade = hf->hf_req.upgrade;
	http_sniff_init(&hf->hf_sniff);
	http_body_init(&hf->hf_body, &hf->hf_req);
	hf->hf_phase = HTTPFLOW_IN_BODY;
	/* No body: done now, not when the client next sends something. */
	if (hf->hf_body.hb_state == HTTP_BS_DONE)
		return httpflow_request_done(hf);
	return HTTPFLOW_MORE;
}

void
httpflow_rejudge(struct http_flow *hf)
{
	if (hf->hf_phase != HTTPFLOW_IN_JUDGING)
		return;
	hf->hf_head = NULL;
	http_sniff_init(&hf->hf_sniff);
	hf->hf_phase = HTTPFLOW_IN_HEAD;
}

/* BODY: moves the body's bytes to <out>, no further. */
static enum httpflow_result
httpflow_body(struct http_flow *hf, struct evbuffer *in, struct evbuffer *out)
{
	struct evbuffer_iovec	 v[8];
	size_t			 used = 0, took;
	int			 nv, i;

	nv = evbuffer_peek(in, -1, NULL, v, 8);
	if (nv > 8)
		nv = 8;
	for (i = 0; i < nv && hf->hf_body.hb_state != HTTP_BS_DONE &&
	    hf->hf_body.hb_state != HTTP_BS_ERROR; i++) {
		took = http_body_feed(&hf->hf_body, v[i].iov_base,
		    v[i].iov_len);
		used += took;
		if (took < v[i].iov_len)
			break;
	}
	if (hf->hf_body.hb_state == HTTP_BS_ERROR)
		return HTTPFLOW_BAD;
	if (used > 0 && evbuffer_remove_buffer(in, out, used) != (int)used)
		return HTTPFLOW_NOMEM;
	if (hf->hf_body.hb_state != HTTP_BS_DONE)
		return HTTPFLOW_MORE;
	return httpflow_request_done(hf);
}

enum httpflow_result
httpflow_up(struct http_flow *hf, struct evbuffer *in, struct evbuffer *out)
{
	enum httpflow_result	r = HTTPFLOW_MORE;
	enum httpflow_phase	ph;
	size_t			before;

	while ((before = evbuffer_get_length(in)) > 0) {
		ph = hf->hf_phase;
		switch (ph) {
		case HTTPFLOW_IN_HEAD:
			r = httpflow_head(hf, in, out);
			break;
		case HTTPFLOW_IN_BODY:
			r = httpflow_body(hf, in, out);
			break;
		case HTTPFLOW_IN_JUDGING:
		case HTTPFLOW_IN_UPGRADE_WAIT:
			return HTTPFLOW_WAIT;
		case HTTPFLOW_IN_TUNNEL:
			if (evbuffer_add_buffer(out, in) == -1)
				return HTTPFLOW_NOMEM;
			return HTTPFLOW_TUNNEL;
		}
		if (r != HTTPFLOW_MORE)
			return r;
		/* No progress: the rest needs bytes the client has not sent. */
		if (evbuffer_get_length(in) == before && hf->hf_phase == ph)
			return HTTPFLOW_MORE;
	}
	switch (hf->hf_phase) {
	case HTTPFLOW_IN_TUNNEL:
		return HTTPFLOW_TUNNEL;
	case HTTPFLOW_IN_UPGRADE_WAIT:
	case HTTPFLOW_IN_JUDGING:
		return HTTPFLOW_WAIT;
	default:
		return HTTPFLOW_MORE;
	}
}

enum httpflow_result
httpflow_down(struct http_flow *hf, struct evbuffer *in)
{
	size_t		 len = evbuffer_get_length(in);
	size_t		 n = len < STATUS_PEEK ? len : STATUS_PEEK;
	const uint8_t	*p;
	int		 status;

	if (hf->hf_phase != HTTPFLOW_IN_UPGRADE_WAIT)
		return HTTPFLOW_MORE;
	if (n == 0)
		return HTTPFLOW_WAIT;
	if ((p = evbuffer_pullup(in, (ssize_t)n)) == NULL)
		return HTTPFLOW_NOMEM;
	status = http_response_status(p, n);
	if (status == 0 && len < STATUS_PEEK)
		return HTTPFLOW_WAIT;
	if (status == 101) {
		hf->hf_phase = HTTPFLOW_IN_TUNNEL;
		return HTTPFLOW_TUNNEL;
	}
	/* Refused (or not HTTP at all): the client's next bytes are a head. */
	hf->hf_phase = HTTPFLOW_IN_HEAD;
	return HTTPFLOW_MORE;
}
