/* Audit lines: docs/audit.md's fields, escaping, and valid JSON for any bytes. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"

#include "check_main.h"

static void
addr4(struct sockaddr_in *sin, const char *ip, unsigned port)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, ip, &sin->sin_addr);
}

START_TEST(test_fields)
{
	struct audit_event	ev;
	struct sockaddr_in	src, dst;
	char			buf[AUDIT_LINE_MAX];
	size_t			n;

	addr4(&src, "198.18.0.2", 40000);
	addr4(&dst, "203.0.113.10", 443);
	memset(&ev, 0, sizeof(ev));
	ev.ae_ts.tv_sec = 1700000000;
	ev.ae_ts.tv_nsec = 123456789;
	ev.ae_sandbox = "agent-1";
	ev.ae_action = "end";
	ev.ae_proto = "tls";
	ev.ae_host = "pypi.org";
	ev.ae_src = (struct sockaddr *)&src;
	ev.ae_dst = (struct sockaddr *)&dst;
	ev.ae_conn = 7;
	ev.ae_has_bytes = true;
	ev.ae_bytes_up = 10;
	ev.ae_bytes_down = 20;
	ev.ae_duration_ms = 30;
	n = audit_json(&ev, buf, sizeof(buf));
	buf[n] = '\0';
	ck_assert_str_eq(buf, "{\"ts\":\"2023-11-14T22:13:20.123Z\","
	    "\"sandbox\":\"agent-1\",\"action\":\"end\",\"reason\":null,"
	    "\"policy\":null,\"rule\":null,\"proto\":\"tls\","
	    "\"host\":\"pypi.org\",\"method\":null,\"path\":null,"
	    "\"ech\":false,\"src\":\"198.18.0.2:40000\","
	    "\"dst\":\"203.0.113.10:443\",\"conn\":7,\"bytes_up\":10,"
	    "\"bytes_down\":20,\"duration_ms\":30}\n");
}
END_TEST

START_TEST(test_escaping)
{
	static const char path[] = "/a\"b\\c\x01\xff\xc3\xa9";
	struct audit_event	ev;
	char			buf[AUDIT_LINE_MAX];
	size_t			n;

	memset(&ev, 0, sizeof(ev));
	ev.ae_action = "deny";
	ev.ae_path = path;
	ev.ae_path_len = sizeof(path) - 1;
	n = audit_json(&ev, buf, sizeof(buf));
	buf[n] = '\0';
	ck_assert_ptr_nonnull(strstr(buf,
	    "\"path\":\"/a\\\"b\\\\c\\u0001\\ufffd\xc3\xa9\""));
}
END_TEST

START_TEST(test_long_path_stays_valid)
{
	static char		path[20000];
	struct audit_event	ev;
	char			buf[AUDIT_LINE_MAX];
	size_t			n;

	memset(path, '"', sizeof(path));
	memset(&ev, 0, sizeof(ev));
	ev.ae_action = "allow";
	ev.ae_path = path;
	ev.ae_path_len = sizeof(path);
	ev.ae_host = "h";
	n = audit_json(&ev, buf, sizeof(buf));
	ck_assert_uint_le(n, sizeof(buf));
	buf[n] = '\0';
	ck_assert_ptr_nonnull(strstr(buf, "\"conn\":0}\n"));
}
END_TEST

static Suite *
audit_suite(void)
{
	Suite	*s = suite_create("audit");
	TCase	*tc = tcase_create("json");

	tcase_add_test(tc, test_fields);
	tcase_add_test(tc, test_escaping);
	tcase_add_test(tc, test_long_path_stays_valid);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(audit_suite)
