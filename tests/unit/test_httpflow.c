/*
 * tests/unit/test_httpflow.c - the per-request HTTP flow on evbuffers:
 * what reaches the server, and when the connection must judge, wait or
 * refuse.
 */
#include "proxy/httpflow.h"

#include <event2/buffer.h>
#include <string.h>

#include "check_main.h"

#define MAXHEAD	8192

struct fx {
	struct http_flow	 hf;
	struct evbuffer		*in, *out, *down;
};

static void
fx_init(struct fx *f, bool prejudged)
{
	httpflow_init(&f->hf, MAXHEAD, prejudged);
	f->in = evbuffer_new();
	f->out = evbuffer_new();
	f->down = evbuffer_new();
	ck_assert_ptr_nonnull(f->in);
	ck_assert_ptr_nonnull(f->out);
	ck_assert_ptr_nonnull(f->down);
}

static void
fx_free(struct fx *f)
{
	evbuffer_free(f->in);
	evbuffer_free(f->out);
	evbuffer_free(f->down);
}

static void
feed(struct evbuffer *b, const char *s)
{
	ck_assert_int_eq(evbuffer_add(b, s, strlen(s)), 0);
}

/* What went to the server so far, as a string (and drained). */
static char *
taken(struct fx *f)
{
	size_t	 n = evbuffer_get_length(f->out);
	char	*s = calloc(1, n + 1);

	ck_assert_ptr_nonnull(s);
	evbuffer_remove(f->out, s, n);
	return s;
}

static void
ck_taken(struct fx *f, const char *want)
{
	char	*got = taken(f);

	ck_assert_str_eq(got, want);
	free(got);
}

#define GET1	"GET /a HTTP/1.1\r\nHost: x.example\r\n\r\n"
#define GET2	"GET /b?q=1 HTTP/1.1\r\nHost: y.example\r\n\r\n"
#define POST	"POST /p HTTP/1.1\r\nHost: x.example\r\nContent-Length: 5\r\n\r\n"
#define CHUNK	"POST /c HTTP/1.1\r\nHost: x.example\r\n" \
		"Transfer-Encoding: chunked\r\n\r\n"
#define UPG	"GET /ws HTTP/1.1\r\nHost: x.example\r\nConnection: Upgrade\r\n" \
		"Upgrade: websocket\r\n\r\n"

START_TEST(test_one_request_is_judged_before_it_moves)
{
	struct fx	 f;
	const char	*path;
	size_t		 plen;

	fx_init(&f, false);
	feed(f.in, GET1);
	ck_assert_int_eq(httpflow_up(&f.hf, f.in, f.out), HTTPFLOW_REQUEST);
	ck_assert_uint_eq(evbuffer_get_length(f.out), 0);
	ck_assert_str_eq(f.hf.hf_req.host, "x.example");
	path = httpflow_path(&f.hf, &plen);
	ck_assert_uint_eq(plen, 2);
	ck_assert_int_eq(memcmp(path, "/a", 2), 0);
	ck_assert_int_eq(httpflow_pass(&f.hf, f.in, f.out), HTTPFLOW_MORE);
	ck_taken(&f, GET1);
	ck_assert_uint_eq(f.hf.hf_nreq, 1);
	ck_assert_int_eq(httpflow_up(&f.hf, f.in, f.out), HTTPFLOW_MORE);
	fx_free(&f);
}
END_TEST

START_TEST(test_prejudged_head_passes_then_next_is_judged)
{
	struct fx	f;

	fx_init(&f, true);
	feed(f.in, GET1 GET2);
	ck_assert_int_eq(httpflow_up(&f.hf, f.in, f.out), HTTPFLOW_REQUEST);
	ck_taken(&f, GET1);
	ck_assert_str_eq(f.hf.hf_req.host, "y.example");
	ck_assert_int_eq(httpflow_pass(&f.hf, f.in, f.out), HTTPFLOW_MORE);
	ck_taken(&f, GET2);
	fx_free(&f);
}
END_TEST

START_TEST(test_body_moves_exactly_then_next_head)
{
	struct fx	f;

	fx_init(&f, false);
	feed(f.in, POST "hel");
	ck_assert_int_eq(httpflow_up(&f.hf, f.in, f.out), HTTPFLOW_REQUEST);
	ck_assert_int_eq(httpflow_pass(&f.hf, f.in, f.out), HTTPFLOW_MORE);
	ck_assert_int_eq(httpflow_up(&f.hf, f.in, f.out), HTTPFLOW_MORE);
	ck_taken(&f, POST "hel");
	/* the body's last bytes and, glued to them, a second request */
	feed(f.in, "lo" GET2);
	ck_assert_int_eq(httpflow_up(&f.hf, f.in, f.out), HTTPFLOW_REQUEST);
	ck_taken(&f, "lo");
	ck_assert_str_eq(f.hf.hf_req.host, "y.example");
	fx_free(&f);
}
END_TEST

START_TEST(test_chunked_body_trickled)
{
	static const char body[] = "4\r\nwiki\r\n0\r\n\r\n";
	struct fx	f;
	size_t		i;
	char		b[2] = { 0, 0 };

	fx_init(&f, true);
	feed(f.in, CHUNK);
	ck_assert_int_eq(httpflow_up(&f.hf, f.in, f.out), HTTPFLOW_MORE);
	ck_taken(&f, CHUNK);
	for (i = 0; i < sizeof(body) - 1; i++) {
		b[0] = body[i];
		feed(f.in, b);
		ck_assert_int_eq(httpflow_up(&f.hf, f.in, f.out),
		    HTTPFLOW_MORE);
	}
	ck_taken(&f, body);
	ck_assert_int_eq(f.hf.hf_phase, HTTPFLOW_IN_HEAD);
	fx_free(&f);
}
END_TEST

START_TEST(test_head_trickled_byte_by_byte)
{
	struct fx	f;
	size_t		i;
	char		b[2] = { 0, 0 };
	const char	*s = GET1;

	fx_init(&f, false);
	for (i = 0; i + 1 < strlen(s); i++) {
		b[0] = s[i];
		feed(f.in, b);
		ck_assert_int_eq(httpflow_up(&f.hf, f.in, f.out),
		    HTTPFLOW_MORE);
	}
	b[0] = s[i];
	feed(f.in, b);
	ck_assert_int_eq(httpflow_up(&f.hf, f.in, f.out), HTTPFLOW_REQUEST);
	ck_assert_uint_eq(evbuffer_get_length(f.out), 0);
	fx_free(&f);
}
END_TEST

START_TEST(test_nothing_moves_while_judging)
{
	struct fx	f;

	fx_init(&f, false);
	feed(f.in, GET1);
	ck_assert_int_eq(httpflow_up(&f.hf, f.in, f.out), HTTPFLOW_REQUEST);
	feed(f.in, GET2);
	ck_assert_int_eq(httpflow_up(&f.hf, f.in, f.out), HTTPFLOW_WAIT);
	ck_assert_uint_eq(evbuffer_get_length(f.out), 0);
	/* a look-up answered: the same head is offered again */
	httpflow_rejudge(&f.hf);
	ck_assert_int_eq(httpflow_up(&f.hf, f.in, f.out), HTTPFLOW_REQUEST);
	ck_assert_str_eq(f.hf.hf_req.host, "x.example");
	fx_free(&f);
}
END_TEST

START_TEST(test_bad_and_too_large)
{
	struct fx	f;
	char		*big;

	fx_init(&f, false);
	feed(f.in, "GET /a HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n");
	ck_assert_int_eq(httpflow_up(&f.hf, f.in, f.out), HTTPFLOW_BAD);
	fx_free(&f);

	fx_init(&f, false);
	big = malloc(MAXHEAD + 10);
	ck_assert_ptr_nonnull(big);
	memcpy(big, "GET /", 5);
	memset(big + 5, 'a', MAXHEAD + 4);
	big[MAXHEAD + 9] = '\0';
	feed(f.in, big);
	ck_assert_int_eq(httpflow_up(&f.hf, f.in, f.out),
	    HTTPFLOW_TOO_LARGE);
	free(big);
	fx_free(&f);

	/* a body that breaks the chunked grammar */
	fx_init(&f, true);
	feed(f.in, CHUNK "zz\r\n");
	ck_assert_int_eq(httpflow_up(&f.hf, f.in, f.out), HTTPFLOW_BAD);
	fx_free(&f);
}
END_TEST

START_TEST(test_upgrade_101_becomes_tunnel)
{
	struct fx	f;

	fx_init(&f, true);
	feed(f.in, UPG "\x81\x05hello");
	ck_assert_int_eq(httpflow_up(&f.hf, f.in, f.out), HTTPFLOW_WAIT);
	ck_taken(&f, UPG);
	ck_assert_int_eq(httpflow_down(&f.hf, f.down), HTTPFLOW_WAIT);
	feed(f.down, "HTTP/1.1 10");
	ck_assert_int_eq(httpflow_down(&f.hf, f.down), HTTPFLOW_WAIT);
	feed(f.down, "1 Switching Protocols\r\n\r\n");
	ck_assert_int_eq(httpflow_down(&f.hf, f.down), HTTPFLOW_TUNNEL);
	ck_assert_int_eq(httpflow_up(&f.hf, f.in, f.out), HTTPFLOW_TUNNEL);
	ck_taken(&f, "\x81\x05hello");
	fx_free(&f);
}
END_TEST

START_TEST(test_upgrade_refused_goes_on_as_http)
{
	struct fx	f;

	fx_init(&f, true);
	feed(f.in, UPG GET2);
	ck_assert_int_eq(httpflow_up(&f.hf, f.in, f.out), HTTPFLOW_WAIT);
	ck_taken(&f, UPG);
	feed(f.down, "HTTP/1.1 426 Upgrade Required\r\n\r\n");
	ck_assert_int_eq(httpflow_down(&f.hf, f.down), HTTPFLOW_MORE);
	ck_assert_int_eq(httpflow_up(&f.hf, f.in, f.out), HTTPFLOW_REQUEST);
	ck_assert_str_eq(f.hf.hf_req.host, "y.example");
	fx_free(&f);
}
END_TEST

START_TEST(test_upgrade_only_on_the_first_request)
{
	struct fx	f;

	/* a later Upgrade passes as a plain request: its response cannot
	 * be told from earlier ones without framing responses */
	fx_init(&f, true);
	feed(f.in, GET1 UPG);
	ck_assert_int_eq(httpflow_up(&f.hf, f.in, f.out), HTTPFLOW_REQUEST);
	ck_assert_int_eq(httpflow_pass(&f.hf, f.in, f.out), HTTPFLOW_MORE);
	ck_assert_int_eq(f.hf.hf_phase, HTTPFLOW_IN_HEAD);
	fx_free(&f);
}
END_TEST

static Suite *
httpflow_suite(void)
{
	Suite	*s = suite_create("httpflow");
	TCase	*tc = tcase_create("flow");

	tcase_add_test(tc, test_one_request_is_judged_before_it_moves);
	tcase_add_test(tc, test_prejudged_head_passes_then_next_is_judged);
	tcase_add_test(tc, test_body_moves_exactly_then_next_head);
	tcase_add_test(tc, test_chunked_body_trickled);
	tcase_add_test(tc, test_head_trickled_byte_by_byte);
	tcase_add_test(tc, test_nothing_moves_while_judging);
	tcase_add_test(tc, test_bad_and_too_large);
	tcase_add_test(tc, test_upgrade_101_becomes_tunnel);
	tcase_add_test(tc, test_upgrade_refused_goes_on_as_http);
	tcase_add_test(tc, test_upgrade_only_on_the_first_request);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(httpflow_suite)
