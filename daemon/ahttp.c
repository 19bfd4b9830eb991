/*
 * daemon/ahttp.c - the small HTTP/1.1 server under the admin API.
 *
 * libevent 2.1's evhttp accepts without limit, cannot tell its user when a
 * connection ends, and answers malformed requests with HTML pages of its
 * own; this replaces it for the admin listeners.  One connection is one
 * bufferevent and one timer, nothing more.  A connection over a cap is
 * closed as soon as it is accepted; accept() failing (EMFILE, ENFILE...)
 * pauses the listener for a moment instead of letting the loop spin on a
 * readable listening socket.
 */
#include "daemon/ahttp.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/ipaddr.h"

#define AHTTP_MAX_HEADERS	64
#define AHTTP_METHOD_MAX	16
#define AHTTP_LINGER_S		2		/* after an error reply */
#define AHTTP_LINGER_MAX	(8u << 20)	/* bytes drained, at most */
#define AHTTP_PAUSE_MS		250		/* accept() failed */

enum conn_state {
	CS_HEAD,	/* reading the request line and the headers */
	CS_BODY,	/* reading Content-Length bytes */
	CS_REPLY,	/* writing the reply, reading nothing */
	CS_LINGER	/* error sent, write side shut: draining the rest */
};

struct ahttp_conn;

struct ahttp_req {
	struct ahttp_conn	*r_conn;
	char			*r_method;	/* owns */
	char			*r_path;	/* owns */
	char			*r_query;	/* owns, or NULL */
	int			 r_minor;	/* HTTP/1.<minor> */
	struct evkeyvalq	 r_in;
	struct evkeyvalq	 r_out;
	struct evbuffer		*r_body;
	uint64_t		 r_clen;
	size_t			 r_headlen;	/* head bytes consumed */
	unsigned		 r_nheaders;
	bool			 r_started;	/* some of it arrived */
	bool			 r_replied;
	bool			 r_close;	/* close once the reply is out */
};

struct ahttp_conn {
	TAILQ_ENTRY(ahttp_conn)	 c_link;
	struct ahttp		*c_srv;
	struct bufferevent	*c_bev;
	struct event		*c_timer;
	struct ipaddr		 c_ip;
	bool			 c_has_ip;
	enum conn_state		 c_state;
	size_t			 c_lingered;
	struct ahttp_req	 c_req;
};

struct ahttp {
	struct event_base	*s_base;
	struct evconnlistener	*s_lev;
	struct event		*s_resume;
	struct ahttp_limits	 s_lim;
	ahttp_handler		 s_cb;
	void			*s_arg;
	char			 s_name[64];
	TAILQ_HEAD(, ahttp_conn) s_conns;
	struct ahttp_stats	 s_st;
	time_t			 s_lastlog;
};

static void	conn_process(struct ahttp_conn *);

/* ------------------------------------------------------------ helpers */

static const char *
status_text(int code)
{
	switch (code) {
	case 100: return "Continue";
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 417: return "Expectation Failed";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	default: return code < 300 ? "OK" : code < 500 ? "Bad Request" :
	    "Internal Server Error";
	}
}

static bool
is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' &&
	    strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool
is_token(const char *s, size_t n)
{
	size_t	i;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++)
		if (!is_tchar((unsigned char)s[i]))
			return false;
	return true;
}

/* Whether the comma-separated header <name> lists <tok> (any case). */
static bool
header_has_token(const struct evkeyvalq *h, const char *name, const char *tok)
{
	const struct evkeyval	*kv;
	size_t			 n = strlen(tok);
	const char		*p;

	TAILQ_FOREACH(kv, h, next) {
		if (strcasecmp(kv->key, name) != 0)
			continue;
		for (p = kv->value; *p != '\0';) {
			p += strspn(p, " \t,");
			if (strncasecmp(p, tok, n) == 0 && (p[n] == '\0' ||
			    p[n] == ',' || p[n] == ' ' || p[n] == '\t'))
				return true;
			p += strcspn(p, ",");
		}
	}
	return false;
}

static void
timer_arm(struct ahttp_conn *c, unsigned s)
{
	struct timeval	tv = { (time_t)s, 0 };

	evtimer_add(c->c_timer, &tv);
}

/* ------------------------------------------------------------ requests */

static void
req_reset(struct ahttp_req *r)
{
	free(r->r_method);
	free(r->r_path);
	free(r->r_query);
	evhttp_clear_headers(&r->r_in);
	evhttp_clear_headers(&r->r_out);
	if (r->r_body != NULL)
		evbuffer_drain(r->r_body, evbuffer_get_length(r->r_body));
	r->r_method = r->r_path = r->r_query = NULL;
	r->r_minor = 1;
	r->r_clen = 0;
	r->r_headlen = 0;
	r->r_nheaders = 0;
	r->r_started = r->r_replied = r->r_close = false;
}

const char *
ahttp_req_method(const struct ahttp_req *r)
{
	return r->r_method != NULL ? r->r_method : "";
}

const char *
ahttp_req_path(const struct ahttp_req *r)
{
	return r->r_path != NULL ? r->r_path : "/";
}

const char *
ahttp_req_query(const struct ahttp_req *r)
{
	return r->r_query;
}

const char *
ahttp_req_header(const struct ahttp_req *r, const char *name)
{
	return evhttp_find_header(&r->r_in, name);
}

struct evbuffer *
ahttp_req_body(struct ahttp_req *r)
{
	return r->r_body;
}

void
ahttp_add_header(struct ahttp_req *r, const char *name, const char *value)
{
	evhttp_add_header(&r->r_out, name, value);
}

void
ahttp_reply(struct ahttp_req *r, int code, const char *ctype,
    struct evbuffer *body)
{
	struct ahttp_conn	*c = r->r_conn;
	struct evbuffer		*out = bufferevent_get_output(c->c_bev);
	const struct evkeyval	*kv;
	size_t			 n = body != NULL ? evbuffer_get_length(body) : 0;

	if (r->r_replied)
		return;
	r->r_replied = true;
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n", code, status_text(code));
	if (ctype != NULL)
		evbuffer_add_printf(out, "Content-Type: %s\r\n", ctype);
	TAILQ_FOREACH(kv, &r->r_out, next)
		evbuffer_add_printf(out, "%s: %s\r\n", kv->key, kv->value);
	evbuffer_add_printf(out, "Content-Length: %zu\r\n%s\r\n", n,
	    r->r_close ? "Connection: close\r\n" : r->r_minor == 0 ?
	    "Connection: keep-alive\r\n" : "");
	if (body != NULL) {
		if (r->r_method != NULL && strcmp(r->r_method, "HEAD") == 0)
			evbuffer_drain(body, n);
		else
			evbuffer_add_buffer(out, body);
	}
	/* Nothing more is read until the reply is out. */
	c->c_state = CS_REPLY;
	bufferevent_disable(c->c_bev, EV_READ);
	bufferevent_enable(c->c_bev, EV_WRITE);
	timer_arm(c, c->c_srv->s_lim.al_timeout_s);
}

/* An error of the server's own: JSON like every other, then close. */
static void
reply_own_error(struct ahttp_conn *c, int code, const char *msg)
{
	struct evbuffer	*b = evbuffer_new();

	c->c_req.r_close = true;
	evhttp_clear_headers(&c->c_req.r_out);
	if (b != NULL)
		evbuffer_add_printf(b, "{\"error\":\"%s\"}\n", msg);
	ahttp_reply(&c->c_req, code, "application/json", b);
	if (b != NULL)
		evbuffer_free(b);
}

/* ------------------------------------------------------------ connections */

static void
conn_free(struct ahttp_conn *c)
{
	struct ahttp	*srv = c->c_srv;

	TAILQ_REMOVE(&srv->s_conns, c, c_link);
	srv->s_st.as_open--;
	bufferevent_free(c->c_bev);
	event_free(c->c_timer);
	req_reset(&c->c_req);
	if (c->c_req.r_body != NULL)
		evbuffer_free(c->c_req.r_body);
	free(c);
}

/* "METHOD SP request-target SP HTTP/1.x"; 0, or -1 with a reply sent. */
static int
parse_request_line(struct ahttp_conn *c, const char *line)
{
	struct ahttp_req	*r = &c->c_req;
	const char		*sp1 = strchr(line, ' '), *sp2, *t, *q;
	size_t			 i, tlen;

	sp2 = sp1 != NULL ? strchr(sp1 + 1, ' ') : NULL;
	if (sp1 == NULL || sp2 == NULL || strchr(sp2 + 1, ' ') != NULL ||
	    !is_token(line, (size_t)(sp1 - line)) || sp2 == sp1 + 1) {
		reply_own_error(c, 400, "malformed request line");
		return -1;
	}
	if (strncmp(sp2 + 1, "HTTP/1.", 7) != 0 || (sp2[8] != '0' &&
	    sp2[8] != '1') || sp2[9] != '\0') {
		reply_own_error(c, 400, "only HTTP/1.0 and HTTP/1.1 are "
		    "spoken here");
		return -1;
	}
	if (sp1 - line > AHTTP_METHOD_MAX) {
		reply_own_error(c, 400, "unknown method");
		return -1;
	}
	r->r_minor = sp2[8] - '0';
	t = sp1 + 1;
	tlen = (size_t)(sp2 - t);
	for (i = 0; i < tlen; i++)
		if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f) {
			reply_own_error(c, 400, "malformed request target");
			return -1;
		}
	/* Absolute form: keep the path of "http://authority/path". */
	if (tlen > 7 && strncasecmp(t, "http://", 7) == 0) {
		const char *p = memchr(t + 7, '/', tlen - 7);

		tlen = p != NULL ? tlen - (size_t)(p - t) : 0;
		t = p != NULL ? p : "/";
		if (tlen == 0)
			tlen = 1;
	} else if (t[0] != '/') {
		reply_own_error(c, 400, "the request target must be a path");
		return -1;
	}
	for (i = 0; i < tlen && t[i] != '?' && t[i] != '#'; i++)
		;
	r->r_method = strndup(line, (size_t)(sp1 - line));
	r->r_path = strndup(t, i);
	r->r_query = NULL;
	if (i < tlen && t[i] == '?') {
		q = t + i + 1;
		for (i = 0; q + i < t + tlen && q[i] != '#'; i++)
			;
		r->r_query = strndup(q, i);
	}
	if (r->r_method == NULL || r->r_path == NULL) {
		reply_own_error(c, 400, "out of memory");
		return -1;
	}
	return 0;
}

/* "name: value"; 0, or -1 with a reply sent. */
static int
parse_header(struct ahttp_conn *c, char *line)
{
	struct ahttp_req	*r = &c->c_req;
	char			*colon = strchr(line, ':'), *v, *e;

	if (line[0] == ' ' || line[0] == '\t') {
		reply_own_error(c, 400, "folded header lines are not accepted");
		return -1;
	}
	if (colon == NULL || !is_token(line, (size_t)(colon - line))) {
		reply_own_error(c, 400, "malformed header line");
		return -1;
	}
	if (++r->r_nheaders > AHTTP_MAX_HEADERS) {
		reply_own_error(c, 431, "too many header lines");
		return -1;
	}
	*colon = '\0';
	v = colon + 1;
	v += strspn(v, " \t");
	for (e = v + strlen(v); e > v && (e[-1] == ' ' || e[-1] == '\t'); e--)
		;
	*e = '\0';
	for (e = v; *e != '\0'; e++)
		if (((unsigned char)*e < 0x20 && *e != '\t') || *e == 0x7f) {
			reply_own_error(c, 400, "control character in a header "
			    "value");
			return -1;
		}
	if (evhttp_add_header(&r->r_in, line, v) == -1) {
		reply_own_error(c, 400, "malformed header line");
		return -1;
	}
	return 0;
}

/* The head is complete: framing, Expect, persistence; 0 or -1. */
static int
head_done(struct ahttp_conn *c)
{
	struct ahttp_req	*r = &c->c_req;
	const struct evkeyval	*kv;
	const char		*ex;
	bool			 have_len = false;
	uint64_t		 len = 0, v;
	const char		*p;

	if (evhttp_find_header(&r->r_in, "Transfer-Encoding") != NULL) {
		reply_own_error(c, 411, "send the body with a Content-Length "
		    "(chunked request bodies are not accepted)");
		return -1;
	}
	TAILQ_FOREACH(kv, &r->r_in, next) {
		if (strcasecmp(kv->key, "Content-Length") != 0)
			continue;
		v = 0;
		for (p = kv->value; *p >= '0' && *p <= '9'; p++) {
			if (v > (UINT64_MAX - 9) / 10) {
				v = UINT64_MAX;
				break;
			}
			v = v * 10 + (uint64_t)(*p - '0');
		}
		if (p == kv->value || (*p != '\0' && v != UINT64_MAX) ||
		    (have_len && v != len)) {
			reply_own_error(c, 400, "malformed Content-Length");
			return -1;
		}
		have_len = true;
		len = v;
	}
	if (len > c->c_srv->s_lim.al_body_max) {
		char	msg[96];

		snprintf(msg, sizeof(msg), "the request body is over the "
		    "limit of %zu bytes", c->c_srv->s_lim.al_body_max);
		reply_own_error(c, 413, msg);
		return -1;
	}
	r->r_clen = len;
	if ((ex = evhttp_find_header(&r->r_in, "Expect")) != NULL) {
		if (strcasecmp(ex, "100-continue") != 0) {
			reply_own_error(c, 417, "only \\\"Expect: "
			    "100-continue\\\" is understood");
			return -1;
		}
		if (r->r_minor == 1 && len > 0 && evbuffer_get_length(
		    bufferevent_get_input(c->c_bev)) == 0)
			bufferevent_write(c->c_bev, "HTTP/1.1 100 Continue\r\n"
			    "\r\n", 25);
	}
	r->r_close = r->r_minor == 0 ? !header_has_token(&r->r_in,
	    "Connection", "keep-alive") : header_has_token(&r->r_in,
	    "Connection", "close");
	return 0;
}

/* Reads head lines while complete ones are buffered; 1 when the head is
 * done, 0 when more is needed, -1 after an error reply. */
static int
read_head(struct ahttp_conn *c)
{
	struct ahttp		*srv = c->c_srv;
	struct ahttp_req	*r = &c->c_req;
	struct evbuffer		*in = bufferevent_get_input(c->c_bev);
	struct evbuffer_ptr	 eol;
	size_t			 eol_len, n;
	char			*line;
	int			 rc;

	for (;;) {
		eol = evbuffer_search_eol(in, NULL, &eol_len,
		    EVBUFFER_EOL_CRLF);
		n = eol.pos == -1 ? evbuffer_get_length(in) :
		    (size_t)eol.pos + eol_len;
		if (n > 0)
			r->r_started = true;
		if (r->r_headlen + n > srv->s_lim.al_head_max) {
			reply_own_error(c, r->r_method == NULL ? 414 : 431,
			    r->r_method == NULL ? "the request line is too long" :
			    "the request head is too large");
			return -1;
		}
		if (eol.pos == -1)
			return 0;
		line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF);
		if (line == NULL) {
			reply_own_error(c, 400, "out of memory");
			return -1;
		}
		r->r_headlen += n + eol_len;
		if (strlen(line) != n) {
			free(line);
			reply_own_error(c, 400, "NUL byte in the request head");
			return -1;
		}
		if (r->r_method == NULL) {
			/* An empty line before a request is tolerated. */
			rc = n == 0 ? 0 : parse_request_line(c, line);
		} else if (n == 0) {
			free(line);
			return head_done(c) == 0 ? 1 : -1;
		} else
			rc = parse_header(c, line);
		free(line);
		if (rc == -1)
			return -1;
	}
}

static void
conn_dispatch(struct ahttp_conn *c)
{
	struct ahttp_req	*r = &c->c_req;

	evtimer_del(c->c_timer);
	c->c_srv->s_cb(r, c->c_srv->s_arg);
	if (!r->r_replied)
		reply_own_error(c, 500, "no reply");
}

/* Runs the state machine over what is buffered. */
static void
conn_process(struct ahttp_conn *c)
{
	struct evbuffer	*in = bufferevent_get_input(c->c_bev);
	int		 rc;

	if (c->c_state == CS_HEAD) {
		if ((rc = read_head(c)) <= 0)
			return;
		c->c_state = CS_BODY;
	}
	if (c->c_state == CS_BODY &&
	    evbuffer_get_length(in) >= c->c_req.r_clen) {
		evbuffer_remove_buffer(in, c->c_req.r_body,
		    (size_t)c->c_req.r_clen);
		conn_dispatch(c);
	}
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct ahttp_conn	*c = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);

	if (c->c_state == CS_LINGER) {
		c->c_lingered += evbuffer_get_length(in);
		evbuffer_drain(in, evbuffer_get_length(in));
		if (c->c_lingered > AHTTP_LINGER_MAX)
			conn_free(c);
		return;
	}
	conn_process(c);
}

/* The reply is out: next request, or close (after a linger on errors). */
static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct ahttp_conn	*c = arg;
	struct ahttp_req	*r = &c->c_req;

	if (c->c_state != CS_REPLY)
		return;		/* "100 Continue" went out */
	if (r->r_close) {
		/* Unread input would turn close() into a reset that can
		 * destroy the reply before the client reads it. */
		if (shutdown(bufferevent_getfd(bev), SHUT_WR) == -1) {
			conn_free(c);
			return;
		}
		c->c_state = CS_LINGER;
		c->c_lingered = 0;
		bufferevent_enable(bev, EV_READ);
		timer_arm(c, AHTTP_LINGER_S);
		return;
	}
	req_reset(r);
	c->c_state = CS_HEAD;
	bufferevent_enable(bev, EV_READ);
	timer_arm(c, c->c_srv->s_lim.al_timeout_s);
	conn_process(c);	/* a pipelined request may be buffered */
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	conn_free(arg);		/* EOF or error: nothing more to do */
}

static void
conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ahttp_conn	*c = arg;

	(void)fd;
	(void)what;
	if ((c->c_state == CS_HEAD || c->c_state == CS_BODY) &&
	    c->c_req.r_started)
		reply_own_error(c, 408, "the request did not arrive in time");
	else
		conn_free(c);
}

/* ------------------------------------------------------------ listener */

/* IPv6 sources count per /64: one host usually holds the whole prefix. */
static bool
same_source(const struct ipaddr *a, const struct ipaddr *b)
{
	if (a->ia_family != b->ia_family)
		return false;
	return memcmp(a->ia_bytes, b->ia_bytes, a->ia_family == 4 ? 4 : 8) == 0;
}

static void
accept_cb(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct ahttp		*srv = arg;
	struct ahttp_conn	*c, *o;
	unsigned		 same = 0;

	(void)lev;
	(void)salen;
	if (srv->s_st.as_open >= srv->s_lim.al_max_conns) {
		srv->s_st.as_refused_limit++;
		evutil_closesocket(fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		evutil_closesocket(fd);
		return;
	}
	c->c_has_ip = ipaddr_from_sockaddr(sa, &c->c_ip) == 0;
	if (c->c_has_ip && srv->s_lim.al_max_per_source > 0) {
		TAILQ_FOREACH(o, &srv->s_conns, c_link)
			if (o->c_has_ip && same_source(&o->c_ip, &c->c_ip))
				same++;
		if (same >= srv->s_lim.al_max_per_source) {
			srv->s_st.as_refused_source++;
			evutil_closesocket(fd);
			free(c);
			return;
		}
	}
	c->c_srv = srv;
	TAILQ_INIT(&c->c_req.r_in);
	TAILQ_INIT(&c->c_req.r_out);
	c->c_req.r_conn = c;
	c->c_req.r_minor = 1;
	if ((c->c_req.r_body = evbuffer_new()) == NULL ||
	    (c->c_timer = evtimer_new(srv->s_base, conn_timer_cb, c)) ==
	    NULL || (c->c_bev = bufferevent_socket_new(srv->s_base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		if (c->c_timer != NULL)
			event_free(c->c_timer);
		if (c->c_req.r_body != NULL)
			evbuffer_free(c->c_req.r_body);
		evutil_closesocket(fd);
		free(c);
		return;
	}
	TAILQ_INSERT_TAIL(&srv->s_conns, c, c_link);
	srv->s_st.as_open++;
	c->c_state = CS_HEAD;
	bufferevent_setcb(c->c_bev, conn_read_cb, conn_write_cb, conn_event_cb,
	    c);
	bufferevent_enable(c->c_bev, EV_READ);
	timer_arm(c, srv->s_lim.al_timeout_s);
}

static void
resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ahttp	*srv = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(srv->s_lev);
}

/*
 * accept() failed with something other than "try again": typically
 * EMFILE/ENFILE, and the pending connection stays in the backlog, so the
 * listening socket stays readable.  Pause instead of spinning on it.
 */
static void
accept_error_cb(struct evconnlistener *lev, void *arg)
{
	struct ahttp	*srv = arg;
	struct timeval	 tv = { 0, AHTTP_PAUSE_MS * 1000 };
	int		 e = EVUTIL_SOCKET_ERROR();
	time_t		 now = time(NULL);

	evconnlistener_disable(lev);
	evtimer_add(srv->s_resume, &tv);
	srv->s_st.as_accept_pauses++;
	if (now - srv->s_lastlog >= 10) {
		srv->s_lastlog = now;
		log_warnx("%s: accept: %s; pausing for %d ms", srv->s_name,
		    evutil_socket_error_to_string(e), AHTTP_PAUSE_MS);
	}
}

struct ahttp *
ahttp_new(struct event_base *base, int fd, const struct ahttp_limits *lim,
    ahttp_handler cb, void *arg, const char *name)
{
	struct ahttp	*srv;

	if ((srv = calloc(1, sizeof(*srv))) == NULL) {
		close(fd);
		return NULL;
	}
	srv->s_base = base;
	srv->s_lim = *lim;
	srv->s_cb = cb;
	srv->s_arg = arg;
	snprintf(srv->s_name, sizeof(srv->s_name), "%s", name);
	TAILQ_INIT(&srv->s_conns);
	if (evutil_make_socket_nonblocking(fd) == -1 ||
	    (srv->s_resume = evtimer_new(base, resume_cb, srv)) == NULL ||
	    (srv->s_lev = evconnlistener_new(base, accept_cb, srv,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd)) == NULL) {
		if (srv->s_resume != NULL)
			event_free(srv->s_resume);
		close(fd);
		free(srv);
		return NULL;
	}
	evconnlistener_set_error_cb(srv->s_lev, accept_error_cb);
	return srv;
}

void
ahttp_free(struct ahttp *srv)
{
	struct ahttp_conn	*c;

	if (srv == NULL)
		return;
	evconnlistener_free(srv->s_lev);
	event_free(srv->s_resume);
	while ((c = TAILQ_FIRST(&srv->s_conns)) != NULL)
		conn_free(c);
	free(srv);
}

void
ahttp_get_stats(const struct ahttp *srv, struct ahttp_stats *st)
{
	*st = srv->s_st;
}
