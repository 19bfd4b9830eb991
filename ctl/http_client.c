#include "ctl/http_client.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* A reply bigger than this is not an admin API answer. */
#define RESP_MAX	(64u << 20)
#define READ_CHUNK	16384

volatile int	ctl_http_stop;

enum wait_result { WAIT_READY, WAIT_TIMEOUT, WAIT_STOP, WAIT_ERROR };

/* What the status line and headers said. */
struct head {
	int		h_status;
	size_t		h_body_off;	/* where the body starts in the buf */
	long long	h_clen;		/* Content-Length, -1 when absent */
	bool		h_chunked;
};

static long long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static enum wait_result
wait_fd(int fd, short events, long long deadline)
{
	struct pollfd	pfd;
	long long	left;
	int		n;

	for (;;) {
		if (ctl_http_stop)
			return WAIT_STOP;
		if ((left = deadline - now_ms()) <= 0)
			return WAIT_TIMEOUT;
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (n > 0)
			return WAIT_READY;
		if (n == -1 && errno != EINTR)
			return WAIT_ERROR;
		/* EINTR: loop, so that ctl_http_stop is looked at. */
	}
}

/* Non-blocking connect bounded by <deadline>; returns 0 or an errno. */
static int
connect_fd(int fd, const struct sockaddr *sa, socklen_t salen,
    long long deadline, enum ctl_http_result *why)
{
	int		soerr = 0;
	socklen_t	len = sizeof(soerr);

	if (connect(fd, sa, salen) == 0)
		return 0;
	/* A unix socket with a full backlog says EAGAIN, TCP EINPROGRESS. */
	if (errno != EINPROGRESS && errno != EAGAIN && errno != EINTR)
		return errno;
	switch (wait_fd(fd, POLLOUT, deadline)) {
	case WAIT_READY:
		break;
	case WAIT_TIMEOUT:
		return ETIMEDOUT;
	case WAIT_STOP:
		*why = CTL_HTTP_INTERRUPTED;
		return EINTR;
	case WAIT_ERROR:
		return errno;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1)
		return errno;
	return soerr;
}

static int
open_unix(const struct ctl_target *t, long long deadline,
    enum ctl_http_result *why, char *err, size_t errsz)
{
	struct sockaddr_un	sun;
	int			fd, e;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(t->ct_socket) >= sizeof(sun.sun_path)) {
		snprintf(err, errsz, "cannot connect to %s: %s", t->ct_name,
		    strerror(ENAMETOOLONG));
		return -1;
	}
	strcpy(sun.sun_path, t->ct_socket);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(err, errsz, "socket: %s", strerror(errno));
		return -1;
	}
	if ((e = connect_fd(fd, (struct sockaddr *)&sun, sizeof(sun), deadline,
	    why)) != 0) {
		close(fd);
		snprintf(err, errsz, "cannot connect to %s: %s", t->ct_name,
		    e == ETIMEDOUT ? "timed out" : strerror(e));
		return -1;
	}
	return fd;
}

static int
open_tcp(const struct ctl_target *t, long long deadline,
    enum ctl_http_result *why, char *err, size_t errsz)
{
	struct addrinfo	 hints, *res, *ai;
	int		 fd = -1, e = ECONNREFUSED, gai;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((gai = getaddrinfo(t->ct_host, t->ct_port, &hints, &res)) != 0) {
		snprintf(err, errsz, "cannot connect to %s: %s", t->ct_name,
		    gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
		return -1;
	}
	/* Each address in turn, like a browser without the racing. */
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd == -1) {
			e = errno;
			continue;
		}
		if ((e = connect_fd(fd, ai->ai_addr, ai->ai_addrlen, deadline,
		    why)) == 0)
			break;
		close(fd);
		fd = -1;
		if (e == ETIMEDOUT || e == EINTR)
			break;
	}
	freeaddrinfo(res);
	if (fd == -1)
		snprintf(err, errsz, "cannot connect to %s: %s", t->ct_name,
		    e == ETIMEDOUT ? "timed out" : strerror(e));
	return fd;
}

static char *
build_request(const struct ctl_target *t, const char *method,
    const char *path, const char *body, size_t *lenp)
{
	char		*req = NULL, hostport[300];
	size_t		 len = 0;
	FILE		*f;

	if ((f = open_memstream(&req, &len)) == NULL)
		return NULL;
	if (t->ct_socket != NULL)
		snprintf(hostport, sizeof(hostport), "localhost");
	else if (strchr(t->ct_host, ':') != NULL)
		snprintf(hostport, sizeof(hostport), "[%s]:%s", t->ct_host,
		    t->ct_port);
	else
		snprintf(hostport, sizeof(hostport), "%s:%s", t->ct_host,
		    t->ct_port);
	fprintf(f, "%s %s%s HTTP/1.1\r\n"
	    "Host: %s\r\n"
	    "User-Agent: egressctl/" EGRESS_VERSION "\r\n"
	    "Accept: application/json\r\n"
	    "Connection: close\r\n", method, t->ct_prefix, path, hostport);
	if (t->ct_token != NULL)
		fprintf(f, "Authorization: Bearer %s\r\n", t->ct_token);
	if (body != NULL)
		fprintf(f, "Content-Type: application/json\r\n"
		    "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
	else if (strcmp(method, "GET") != 0)
		/* Some servers want a length on every POST, even empty. */
		fprintf(f, "Content-Length: 0\r\n\r\n");
	else
		fprintf(f, "\r\n");
	if (fclose(f) != 0) {
		free(req);
		return NULL;
	}
	*lenp = len;
	return req;
}

/* Finds the end of the line starting at <p>; returns its length or -1. */
static long
line_len(const char *buf, size_t len, size_t p, size_t *next)
{
	const char	*nl;

	if ((nl = memchr(buf + p, '\n', len - p)) == NULL)
		return -1;
	*next = (size_t)(nl - buf) + 1;
	/* Bare LF is tolerated; CR before it is not part of the line. */
	if (nl > buf + p && nl[-1] == '\r')
		nl--;
	return (long)(nl - (buf + p));
}

static bool
header_is(const char *line, size_t n, const char *name, const char **val,
    size_t *vlen)
{
	size_t	k = strlen(name);

	if (n <= k || line[k] != ':' || strncasecmp(line, name, k) != 0)
		return false;
	line += k + 1;
	n -= k + 1;
	while (n > 0 && (*line == ' ' || *line == '\t')) {
		line++;
		n--;
	}
	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
		n--;
	*val = line;
	*vlen = n;
	return true;
}

/*
 * Parses the status line and headers, skipping interim 1xx responses.
 * Returns 1 when the head is complete, 0 when more bytes are needed,
 * -1 when this is not HTTP/1.x.
 */
static int
parse_head(const char *buf, size_t len, struct head *h)
{
	size_t		 p = 0, next;
	long		 n;
	const char	*v;
	size_t		 vlen, i;
	long long	 cl;

again:
	memset(h, 0, sizeof(*h));
	h->h_clen = -1;
	if ((n = line_len(buf, len, p, &next)) == -1)
		return len - p > 8192 ? -1 : 0;
	if (n < 12 || memcmp(buf + p, "HTTP/1.", 7) != 0 ||
	    buf[p + 8] != ' ' || buf[p + 9] < '1' || buf[p + 9] > '5' ||
	    buf[p + 10] < '0' || buf[p + 10] > '9' ||
	    buf[p + 11] < '0' || buf[p + 11] > '9' ||
	    (n > 12 && buf[p + 12] != ' '))
		return -1;
	h->h_status = (buf[p + 9] - '0') * 100 + (buf[p + 10] - '0') * 10 +
	    (buf[p + 11] - '0');
	for (p = next;;) {
		if ((n = line_len(buf, len, p, &next)) == -1)
			return len - p > 65536 ? -1 : 0;
		if (n == 0)
			break;
		if (header_is(buf + p, (size_t)n, "Content-Length", &v,
		    &vlen)) {
			if (vlen == 0 || vlen > 15)
				return -1;
			for (cl = 0, i = 0; i < vlen; i++) {
				if (v[i] < '0' || v[i] > '9')
					return -1;
				cl = cl * 10 + (v[i] - '0');
			}
			if (h->h_clen != -1 && h->h_clen != cl)
				return -1;
			h->h_clen = cl;
		} else if (header_is(buf + p, (size_t)n, "Transfer-Encoding",
		    &v, &vlen)) {
			/* chunked must be the last coding. */
			if (vlen < 7 || strncasecmp(v + vlen - 7, "chunked",
			    7) != 0)
				return -1;
			h->h_chunked = true;
		}
		p = next;
	}
	p = next;
	if (h->h_status >= 100 && h->h_status < 200) {
		if (h->h_status == 101)
			return -1;
		goto again;
	}
	h->h_body_off = p;
	return 1;
}

/*
 * Walks a chunked body.  With <out> set, copies the data there (it needs
 * as many bytes as the input).  Returns 1 when the last chunk and the
 * trailers are complete, 0 when more bytes are needed, -1 on bad framing.
 */
static int
parse_chunked(const char *buf, size_t len, char *out, size_t *outlen)
{
	size_t		p = 0, next, o = 0, i;
	long		n;
	uint64_t	sz;
	int		d;

	for (;;) {
		if ((n = line_len(buf, len, p, &next)) == -1)
			return len - p > 4096 ? -1 : 0;
		for (sz = 0, i = 0; i < (size_t)n; i++) {
			char	c = buf[p + i];

			if (c >= '0' && c <= '9')
				d = c - '0';
			else if (c >= 'a' && c <= 'f')
				d = c - 'a' + 10;
			else if (c >= 'A' && c <= 'F')
				d = c - 'A' + 10;
			else
				break;
			if (sz > RESP_MAX)
				return -1;
			sz = sz * 16 + (uint64_t)d;
		}
		/* At least one digit, then nothing or chunk extensions. */
		if (i == 0 || (i < (size_t)n && buf[p + i] != ';' &&
		    buf[p + i] != ' ' && buf[p + i] != '\t'))
			return -1;
		p = next;
		if (sz == 0)
			break;
		if (sz > RESP_MAX)
			return -1;
		if (len - p < sz + 1)
			return 0;
		if (out != NULL)
			memcpy(out + o, buf + p, (size_t)sz);
		o += (size_t)sz;
		p += (size_t)sz;
		if (buf[p] == '\r')
			p++;
		if (p >= len)
			return 0;
		if (buf[p] != '\n')
			return -1;
		p++;
	}
	/* Trailers, if any, end with an empty line; we ignore them. */
	for (;;) {
		if ((n = line_len(buf, len, p, &next)) == -1)
			return len - p > 65536 ? -1 : 0;
		p = next;
		if (n == 0)
			break;
	}
	if (outlen != NULL)
		*outlen = o;
	return 1;
}

/* 1: the whole response is in <buf>; 0: read on; -1: not HTTP. */
static int
response_complete(const char *buf, size_t len, bool eof, struct head *h)
{
	int	r;

	if ((r = parse_head(buf, len, h)) != 1)
		return eof && r == 0 ? -1 : r;
	if (h->h_status == 204 || h->h_status == 304)
		return 1;
	if (h->h_chunked) {
		r = parse_chunked(buf + h->h_body_off, len - h->h_body_off,
		    NULL, NULL);
		return eof && r == 0 ? -1 : r;
	}
	if (h->h_clen >= 0) {
		if ((long long)(len - h->h_body_off) >= h->h_clen)
			return 1;
		return eof ? -1 : 0;
	}
	/* Neither length nor chunks: the body runs to the close. */
	return eof ? 1 : 0;
}

static int
fill_response(const char *buf, size_t len, const struct head *h,
    struct ctl_response *resp)
{
	size_t	blen = len - h->h_body_off;

	if ((resp->cr_body = malloc(blen + 1)) == NULL)
		return -1;
	if (h->h_status == 204 || h->h_status == 304)
		blen = 0;
	else if (h->h_chunked)
		(void)parse_chunked(buf + h->h_body_off, blen, resp->cr_body,
		    &blen);
	else {
		if (h->h_clen >= 0 && (long long)blen > h->h_clen)
			blen = (size_t)h->h_clen;
		memcpy(resp->cr_body, buf + h->h_body_off, blen);
	}
	resp->cr_body[blen] = '\0';
	resp->cr_len = blen;
	resp->cr_status = h->h_status;
	return 0;
}

static enum ctl_http_result
wait_fail(enum wait_result w, const struct ctl_target *t, const char *doing,
    char *err, size_t errsz)
{
	if (w == WAIT_STOP)
		return CTL_HTTP_INTERRUPTED;
	snprintf(err, errsz, "%s %s: %s", doing, t->ct_name,
	    w == WAIT_TIMEOUT ? "timed out" : strerror(errno));
	return CTL_HTTP_UNREACHABLE;
}

enum ctl_http_result
ctl_http_request(const struct ctl_target *t, const char *method,
    const char *path, const char *body, struct ctl_response *resp,
    char *err, size_t errsz)
{
	enum ctl_http_result	 rc = CTL_HTTP_UNREACHABLE;
	enum wait_result	 w;
	struct head		 h;
	long long		 deadline;
	char			*req = NULL, *buf = NULL, *nb;
	size_t			 reqlen, off, len = 0, cap = 0;
	ssize_t			 n;
	int			 fd, done = 0;

	memset(resp, 0, sizeof(*resp));
	err[0] = '\0';
	deadline = now_ms() + t->ct_timeout_ms;
	fd = t->ct_socket != NULL ? open_unix(t, deadline, &rc, err, errsz) :
	    open_tcp(t, deadline, &rc, err, errsz);
	if (fd == -1)
		return rc;
	if ((req = build_request(t, method, path, body, &reqlen)) == NULL) {
		snprintf(err, errsz, "out of memory");
		goto out;
	}
	for (off = 0; off < reqlen; off += (size_t)n) {
		if ((w = wait_fd(fd, POLLOUT, deadline)) != WAIT_READY) {
			rc = wait_fail(w, t, "sending to", err, errsz);
			goto out;
		}
		n = send(fd, req + off, reqlen - off, MSG_NOSIGNAL);
		if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
			n = 0;
			continue;
		}
		/*
		 * A server that answers early (401) may close before reading
		 * it all; its answer is still worth reading.
		 */
		if (n == -1 && (errno == EPIPE || errno == ECONNRESET))
			break;
		if (n == -1) {
			snprintf(err, errsz, "sending to %s: %s", t->ct_name,
			    strerror(errno));
			goto out;
		}
	}
	while (done == 0) {
		if (cap - len < READ_CHUNK) {
			if (cap >= RESP_MAX) {
				snprintf(err, errsz, "%s: response larger than "
				    "%u bytes", t->ct_name, RESP_MAX);
				rc = CTL_HTTP_BAD_RESPONSE;
				goto out;
			}
			cap = cap == 0 ? 2 * READ_CHUNK : cap * 2;
			if ((nb = realloc(buf, cap)) == NULL) {
				snprintf(err, errsz, "out of memory");
				goto out;
			}
			buf = nb;
		}
		if ((w = wait_fd(fd, POLLIN, deadline)) != WAIT_READY) {
			rc = wait_fail(w, t, "waiting for", err, errsz);
			goto out;
		}
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n == -1 && !(errno == ECONNRESET && len > 0)) {
			snprintf(err, errsz, "reading from %s: %s", t->ct_name,
			    strerror(errno));
			goto out;
		}
		if (n > 0)
			len += (size_t)n;
		done = response_complete(buf, len, n <= 0, &h);
		if (done == -1) {
			snprintf(err, errsz, len == 0 ?
			    "%s closed the connection without answering" :
			    "%s: malformed or truncated HTTP response",
			    t->ct_name);
			rc = len == 0 ? CTL_HTTP_UNREACHABLE :
			    CTL_HTTP_BAD_RESPONSE;
			goto out;
		}
	}
	if (fill_response(buf, len, &h, resp) == -1) {
		snprintf(err, errsz, "out of memory");
		goto out;
	}
	rc = CTL_HTTP_OK;
out:
	close(fd);
	free(req);
	free(buf);
	return rc;
}

void
ctl_response_free(struct ctl_response *resp)
{
	free(resp->cr_body);
	resp->cr_body = NULL;
	resp->cr_len = 0;
}

int
ctl_url_escape(const char *s, char *out, size_t outsz)
{
	static const char	 hex[] = "0123456789ABCDEF";
	size_t			 o = strlen(out);
	unsigned char		 c;

	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			if (o + 1 >= outsz)
				return -1;
			out[o++] = (char)c;
		} else {
			if (o + 3 >= outsz)
				return -1;
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return 0;
}
