/*
 * The client of bench/bench_intercept.sh's connection phase: new TLS
 * connections, each a full handshake (no resumption), the chain verified
 * against CAFILE and the name against HOST, one `GET PATH` with
 * `Connection: close`, the whole answer read, then closed.  CONCURRENCY
 * such connections at a time on one thread (epoll), for SECONDS.
 *
 *   bench_intercept_load HOST PORT PATH CONCURRENCY SECONDS CAFILE [ADDRESS]
 *
 * (ADDRESS: connect there instead of to HOST's address.)
 * Prints "ok N errors E seconds S p50_ms X p99_ms Y": N answers `200`
 * read in full, E connections that failed (the first reason goes to
 * stderr), and the time from connect() to the last byte of the answer.
 *
 * wrk spins on a socket that is always writable while its TLS handshake
 * waits for the server, so its CPU time says nothing about whether the
 * client is the limit; this one sleeps in epoll_wait.
 */
#define _GNU_SOURCE
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define MAX_SAMPLES	(4 << 20)
#define CONN_TIMEOUT_S	10.0

enum slot_state { S_IDLE, S_CONNECTING, S_HANDSHAKE, S_WRITING, S_READING };

struct slot {
	enum slot_state	 s_state;
	int		 s_fd;
	SSL		*s_ssl;
	double		 s_start;
	size_t		 s_sent;
	size_t		 s_got;		/* bytes of the answer so far */
	long		 s_want;	/* head + Content-Length, -1 unknown */
	char		 s_head[1024];	/* the answer's first bytes */
};

static SSL_CTX		*ctx;
static struct addrinfo	*addr;
static int		 ep;
static const char	*host;
static char		 request[512];
static size_t		 reqlen;
static long		 n_ok, n_err;
static double		*samples;
static long		 n_samples;
static int		 told;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
slot_close(struct slot *sl)
{
	if (sl->s_ssl != NULL)
		SSL_free(sl->s_ssl);
	if (sl->s_fd >= 0)
		close(sl->s_fd);
	sl->s_ssl = NULL;
	sl->s_fd = -1;
	sl->s_state = S_IDLE;
}

static void
slot_fail(struct slot *sl, const char *why)
{
	char buf[256];

	if (!told) {
		/* the first failure only: one bad setup fails them all */
		ERR_error_string_n(ERR_peek_last_error(), buf, sizeof(buf));
		fprintf(stderr, "bench_intercept_load: %s (%s; errno %s)\n", why,
		    ERR_peek_last_error() ? buf : "no TLS error",
		    strerror(errno));
		told = 1;
	}
	ERR_clear_error();
	n_err++;
	slot_close(sl);
}

static void
slot_watch(struct slot *sl, int op, unsigned events)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = sl;
	if (epoll_ctl(ep, op, sl->s_fd, &ev) == -1) {
		perror("epoll_ctl");
		exit(1);
	}
}

static void
slot_start(struct slot *sl)
{
	int one = 1;

	sl->s_fd = socket(addr->ai_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (sl->s_fd == -1) {
		slot_fail(sl, "socket");
		return;
	}
	/*
	 * As curl, wrk, browsers and most HTTP libraries do.  Without it the
	 * request, written right after the handshake's last flight, waits
	 * under Nagle for that flight's ACK, which a server that sends no
	 * session ticket delays (40 ms on Linux).
	 */
	(void)setsockopt(sl->s_fd, IPPROTO_TCP, TCP_NODELAY, &one,
	    sizeof(one));
	sl->s_start = now();
	sl->s_sent = sl->s_got = 0;
	sl->s_want = -1;
	if (connect(sl->s_fd, addr->ai_addr, addr->ai_addrlen) == -1 &&
	    errno != EINPROGRESS) {
		slot_fail(sl, "connect");
		return;
	}
	sl->s_state = S_CONNECTING;
	slot_watch(sl, EPOLL_CTL_ADD, EPOLLOUT);
}

/* After a TLS call that wants to wait: watch the direction it names. */
static int
slot_wait(struct slot *sl, int r, const char *what)
{
	switch (SSL_get_error(sl->s_ssl, r)) {
	case SSL_ERROR_WANT_READ:
		slot_watch(sl, EPOLL_CTL_MOD, EPOLLIN);
		return 1;
	case SSL_ERROR_WANT_WRITE:
		slot_watch(sl, EPOLL_CTL_MOD, EPOLLOUT);
		return 1;
	default:
		slot_fail(sl, what);
		return 0;
	}
}

/* Once the head is in: where the answer ends. */
static void
slot_parse_head(struct slot *sl)
{
	char *end, *cl;

	end = strstr(sl->s_head, "\r\n\r\n");
	if (end == NULL)
		return;
	cl = strcasestr(sl->s_head, "\r\ncontent-length:");
	if (cl == NULL || cl > end) {
		sl->s_want = 0;		/* to EOF */
		return;
	}
	sl->s_want = (end + 4 - sl->s_head) + strtol(cl + 17, NULL, 10);
}

static void
slot_done(struct slot *sl)
{
	if (strncmp(sl->s_head, "HTTP/1.1 200", 12) != 0) {
		errno = 0;
		slot_fail(sl, "the answer is not 200");
		return;
	}
	n_ok++;
	if (n_samples < MAX_SAMPLES)
		samples[n_samples++] = now() - sl->s_start;
	slot_close(sl);
}

static void
slot_step(struct slot *sl)
{
	char buf[16384];
	int r, err;
	socklen_t len;

	switch (sl->s_state) {
	case S_CONNECTING:
		len = sizeof(err);
		if (getsockopt(sl->s_fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 ||
		    err != 0) {
			errno = err;
			slot_fail(sl, "connect");
			return;
		}
		if ((sl->s_ssl = SSL_new(ctx)) == NULL) {
			slot_fail(sl, "SSL_new");
			return;
		}
		SSL_set_fd(sl->s_ssl, sl->s_fd);
		SSL_set_tlsext_host_name(sl->s_ssl, host);
		SSL_set1_host(sl->s_ssl, host);
		sl->s_state = S_HANDSHAKE;
		/* FALLTHROUGH */
	case S_HANDSHAKE:
		if ((r = SSL_connect(sl->s_ssl)) != 1) {
			slot_wait(sl, r, "handshake");
			return;
		}
		sl->s_state = S_WRITING;
		/* FALLTHROUGH */
	case S_WRITING:
		while (sl->s_sent < reqlen) {
			r = SSL_write(sl->s_ssl, request + sl->s_sent,
			    reqlen - sl->s_sent);
			if (r <= 0) {
				slot_wait(sl, r, "write");
				return;
			}
			sl->s_sent += r;
		}
		sl->s_state = S_READING;
		slot_watch(sl, EPOLL_CTL_MOD, EPOLLIN);
		/* FALLTHROUGH */
	case S_READING:
		for (;;) {
			r = SSL_read(sl->s_ssl, buf, sizeof(buf));
			if (r <= 0) {
				err = SSL_get_error(sl->s_ssl, r);
				if (err == SSL_ERROR_ZERO_RETURN ||
				    (err == SSL_ERROR_SSL && sl->s_want == 0)) {
					slot_done(sl);	/* to EOF */
					return;
				}
				slot_wait(sl, r, "read");
				return;
			}
			if (sl->s_got < sizeof(sl->s_head) - 1) {
				size_t n = sizeof(sl->s_head) - 1 - sl->s_got;

				if (n > (size_t)r)
					n = r;
				memcpy(sl->s_head + sl->s_got, buf, n);
				sl->s_head[sl->s_got + n] = '\0';
			}
			sl->s_got += r;
			if (sl->s_want < 0)
				slot_parse_head(sl);
			if (sl->s_want > 0 && (long)sl->s_got >= sl->s_want) {
				slot_done(sl);
				return;
			}
		}
	case S_IDLE:
		break;
	}
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	struct addrinfo hints;
	struct epoll_event evs[256];
	struct slot *slots;
	double t0, deadline, t, p50 = 0, p99 = 0;
	int conc, i, n, r;

	if (argc != 7 && argc != 8) {
		fprintf(stderr, "usage: bench_intercept_load HOST PORT PATH "
		    "CONCURRENCY SECONDS CAFILE [ADDRESS]\n");
		return 2;
	}
	host = argv[1];
	conc = atoi(argv[4]);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((r = getaddrinfo(argc == 8 ? argv[7] : host, argv[2], &hints,
	    &addr)) != 0) {
		fprintf(stderr, "bench_intercept_load: %s: %s\n", host,
		    gai_strerror(r));
		return 1;
	}
	reqlen = snprintf(request, sizeof(request), "GET %s HTTP/1.1\r\n"
	    "Host: %s:%s\r\nConnection: close\r\n\r\n", argv[3], host, argv[2]);
	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL || SSL_CTX_load_verify_locations(ctx, argv[6],
	    NULL) != 1) {
		fprintf(stderr, "bench_intercept_load: cannot load %s\n",
		    argv[6]);
		return 1;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	if ((samples = calloc(MAX_SAMPLES, sizeof(*samples))) == NULL ||
	    (slots = calloc(conc, sizeof(*slots))) == NULL ||
	    (ep = epoll_create1(0)) == -1) {
		perror("bench_intercept_load");
		return 1;
	}
	t0 = now();
	deadline = t0 + atof(argv[5]);
	for (i = 0; i < conc; i++) {
		slots[i].s_fd = -1;
		slot_start(&slots[i]);
	}
	while ((t = now()) < deadline) {
		n = epoll_wait(ep, evs, 256, 100);
		for (i = 0; i < n; i++)
			slot_step(evs[i].data.ptr);
		for (i = 0; i < conc; i++) {
			if (slots[i].s_state != S_IDLE &&
			    t - slots[i].s_start > CONN_TIMEOUT_S) {
				errno = ETIMEDOUT;
				slot_fail(&slots[i], "no answer in time");
			}
			if (slots[i].s_state == S_IDLE && now() < deadline)
				slot_start(&slots[i]);
		}
	}
	t = now() - t0;
	if (n_samples > 0) {
		qsort(samples, n_samples, sizeof(*samples), cmp_double);
		p50 = samples[(n_samples - 1) / 2];
		p99 = samples[(n_samples - 1) * 99 / 100];
	}
	printf("ok %ld errors %ld seconds %.2f p50_ms %.2f p99_ms %.2f\n",
	    n_ok, n_err, t, p50 * 1000, p99 * 1000);
	return 0;
}
