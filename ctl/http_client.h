/*
 * ctl/http_client.h - a small blocking HTTP/1.1 client for egressctl.
 *
 * One request per connection (Connection: close), over a unix socket or
 * TCP, with one deadline for the whole exchange.  No libevent: egressctl
 * asks one question and exits, so blocking I/O under poll() is enough.
 */
#ifndef EGRESS_CTL_HTTP_CLIENT_H
#define EGRESS_CTL_HTTP_CLIENT_H

#include <stddef.h>

/* Where the admin API lives; exactly one of ct_socket / ct_host is set. */
struct ctl_target {
	const char	*ct_socket;	/* unix socket path */
	const char	*ct_host;	/* TCP host name or address literal */
	const char	*ct_port;	/* TCP port (service) */
	const char	*ct_prefix;	/* path prefix from the URL or "" */
	const char	*ct_name;	/* how to name the target in messages */
	const char	*ct_token;	/* bearer token or NULL */
	int		 ct_timeout_ms;	/* for the whole request */
};

enum ctl_http_result {
	CTL_HTTP_OK,		/* a complete response was read */
	CTL_HTTP_UNREACHABLE,	/* connect, send, timeout: ask again later */
	CTL_HTTP_BAD_RESPONSE,	/* the peer did not speak HTTP/1.x */
	CTL_HTTP_INTERRUPTED	/* a signal arrived and ctl_http_stop was set */
};

struct ctl_response {
	int	 cr_status;	/* e.g. 200 */
	char	*cr_body;	/* owns; NUL-terminated, framing removed */
	size_t	 cr_len;	/* body bytes, without the NUL */
};

/*
 * Set from a signal handler: a blocking wait returns
 * CTL_HTTP_INTERRUPTED instead of retrying after EINTR.
 */
extern volatile int	ctl_http_stop;

/*
 * Sends <method> <path> (path is already percent-encoded, starting with
 * "/") with an optional JSON <body>, and fills <resp>.  On failure <err>
 * holds one line naming the target and the cause.
 */
enum ctl_http_result	ctl_http_request(const struct ctl_target *,
			    const char *method, const char *path,
			    const char *body, struct ctl_response *resp,
			    char *err, size_t errsz);
void			ctl_response_free(struct ctl_response *);

/*
 * Appends <s> percent-encoded (everything but RFC 3986 unreserved
 * characters) to <out>; returns -1 if <outsz> is too small.
 */
int			ctl_url_escape(const char *s, char *out, size_t outsz);

#endif /* EGRESS_CTL_HTTP_CLIENT_H */
