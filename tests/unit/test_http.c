/*
 * tests/unit/test_http.c - check suite for sniff/http.c.
 *
 * The accepted requests are what curl 7.88, Python urllib 3.11, Node and
 * wget 1.21 really sent to a loopback listener (only the port changed),
 * plus hand-written absolute-form, IPv6 and HTTP/1.0 heads.  Every
 * rejected request names the rule it breaks; most are known request
 * smuggling or Host-spoofing shapes.
 */
#include "sniff/http.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"

#define RAW(s)		(const uint8_t *)(s), sizeof(s) - 1
#define MAX		8192
#define NONE		HTTP_BODY_NONE
#define LENGTH		HTTP_BODY_LENGTH
#define CHUNKED		HTTP_BODY_CHUNKED
#define DONE		HTTP_BS_DONE
#define ERROR		HTTP_BS_ERROR
#define MORE		((enum http_body_state)0xff)	/* neither */

struct ok_case {
	const char	*name;
	const uint8_t	*raw;
	size_t		 len;
	const char	*method;
	const char	*host;
	uint16_t	 port;
	const char	*path;
	int		 minor;
	enum http_framing framing;
	uint64_t	 cl;
	bool		 upgrade;
	bool		 keep_alive;
};

#define NAME60	"abcdefghij-abcdefghij-abcdefghij-abcdefghij-abcdefghij-abcde"
#define NAME61	NAME60 "f"
#define NAME63	NAME61 "gh"

static const struct ok_case ok_cases[] = {
	{ "curl get", RAW("GET /x?y=1 HTTP/1.1\r\n"
	    "Host: 127.0.0.1:18777\r\n"
	    "User-Agent: curl/7.88.1\r\n"
	    "Accept: */*\r\n"
	    "\r\n"),
	    "GET", "127.0.0.1", 18777, "/x", 1, NONE, 0, false, true },
	{ "curl post form", RAW("POST /form HTTP/1.1\r\n"
	    "Host: 127.0.0.1:18777\r\n"
	    "User-Agent: curl/7.88.1\r\n"
	    "Accept: */*\r\n"
	    "Content-Length: 7\r\n"
	    "Content-Type: application/x-www-form-urlencoded\r\n"
	    "\r\n"
	    "a=1&b=2"),
	    "POST", "127.0.0.1", 18777, "/form", 1, LENGTH, 7, false,
	    true },
	{ "curl post chunked", RAW("POST /up HTTP/1.1\r\n"
	    "Host: 127.0.0.1:18777\r\n"
	    "User-Agent: curl/7.88.1\r\n"
	    "Accept: */*\r\n"
	    "Transfer-Encoding: chunked\r\n"
	    "Content-Type: application/x-www-form-urlencoded\r\n"
	    "\r\n"
	    "b\r\nhello world\r\n0\r\n\r\n"),
	    "POST", "127.0.0.1", 18777, "/up", 1, CHUNKED, 0, false,
	    true },
	{ "curl websocket", RAW("GET /ws HTTP/1.1\r\n"
	    "Host: 127.0.0.1:18777\r\n"
	    "User-Agent: curl/7.88.1\r\n"
	    "Accept: */*\r\n"
	    "Connection: Upgrade\r\n"
	    "Upgrade: websocket\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "\r\n"),
	    "GET", "127.0.0.1", 18777, "/ws", 1, NONE, 0, true, true },
	{ "curl via proxy: absolute-form",
	    RAW("GET http://example.com/abs HTTP/1.1\r\n"
	    "Host: example.com\r\n"
	    "User-Agent: curl/7.88.1\r\n"
	    "Accept: */*\r\n"
	    "Proxy-Connection: Keep-Alive\r\n"
	    "\r\n"),
	    "GET", "example.com", 0, "/abs", 1, NONE, 0, false,
	    true },
	{ "python urllib get", RAW("GET /py?q=1 HTTP/1.1\r\n"
	    "Accept-Encoding: identity\r\n"
	    "Host: 127.0.0.1:18777\r\n"
	    "User-Agent: Python-urllib/3.11\r\n"
	    "Connection: close\r\n"
	    "\r\n"),
	    "GET", "127.0.0.1", 18777, "/py", 1, NONE, 0, false,
	    false },
	{ "python urllib post", RAW("POST /pypost HTTP/1.1\r\n"
	    "Accept-Encoding: identity\r\n"
	    "Content-Length: 7\r\n"
	    "Host: 127.0.0.1:18777\r\n"
	    "User-Agent: Python-urllib/3.11\r\n"
	    "Content-Type: application/json\r\n"
	    "Connection: close\r\n"
	    "\r\n"
	    "{\"k\":1}"),
	    "POST", "127.0.0.1", 18777, "/pypost", 1, LENGTH, 7,
	    false, false },
	{ "python requests get", RAW("GET /get HTTP/1.1\r\n"
	    "Host: httpbin.org\r\n"
	    "User-Agent: python-requests/2.31.0\r\n"
	    "Accept-Encoding: gzip, deflate\r\n"
	    "Accept: */*\r\n"
	    "Connection: keep-alive\r\n"
	    "\r\n"),
	    "GET", "httpbin.org", 0, "/get", 1, NONE, 0, false, true },
	{ "node get", RAW("GET /node?a=b HTTP/1.1\r\n"
	    "Host: 127.0.0.1:18777\r\n"
	    "Connection: keep-alive\r\n"
	    "\r\n"),
	    "GET", "127.0.0.1", 18777, "/node", 1, NONE, 0, false,
	    true },
	{ "node post chunked", RAW("POST /nodepost HTTP/1.1\r\n"
	    "Host: 127.0.0.1:18777\r\n"
	    "Connection: keep-alive\r\n"
	    "Transfer-Encoding: chunked\r\n"
	    "\r\n"
	    "3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n"),
	    "POST", "127.0.0.1", 18777, "/nodepost", 1, CHUNKED, 0,
	    false, true },
	{ "wget get", RAW("GET /wget HTTP/1.1\r\n"
	    "Host: 127.0.0.1:18777\r\n"
	    "User-Agent: Wget/1.21.3\r\n"
	    "Accept: */*\r\n"
	    "Accept-Encoding: identity\r\n"
	    "Connection: Keep-Alive\r\n"
	    "\r\n"),
	    "GET", "127.0.0.1", 18777, "/wget", 1, NONE, 0, false,
	    true },
	{ "http/1.0 closes by default", RAW("GET / HTTP/1.0\r\n"
	    "Host: example.com\r\n\r\n"),
	    "GET", "example.com", 0, "/", 0, NONE, 0, false, false },
	{ "http/1.0 keep-alive", RAW("GET /old HTTP/1.0\r\n"
	    "Host: 10.0.0.1\r\nConnection: keep-alive\r\n"
	    "Content-Length: 0\r\n\r\n"),
	    "GET", "10.0.0.1", 0, "/old", 0, LENGTH, 0, false, true },
	{ "http/1.0 upgrade is ignored", RAW("GET / HTTP/1.0\r\n"
	    "Host: a\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"),
	    "GET", "a", 0, "/", 0, NONE, 0, false, false },
	{ "upgrade without connection token", RAW("GET / HTTP/1.1\r\n"
	    "Host: a\r\nUpgrade: websocket\r\n\r\n"),
	    "GET", "a", 0, "/", 1, NONE, 0, false, true },
	{ "connection list, two fields", RAW("GET /chat HTTP/1.1\r\n"
	    "Host: a\r\nConnection: keep-alive, ,\r\n"
	    "connection: UPGRADE\r\nupgrade: websocket\r\n\r\n"),
	    "GET", "a", 0, "/chat", 1, NONE, 0, true, true },
	{ "close wins over keep-alive", RAW("GET / HTTP/1.0\r\n"
	    "Host: a\r\nConnection: keep-alive, close\r\n\r\n"),
	    "GET", "a", 0, "/", 0, NONE, 0, false, false },
	{ "ipv6 host with port", RAW("GET /v6 HTTP/1.1\r\n"
	    "Host: [2001:db8::1]:8080\r\n\r\n"),
	    "GET", "2001:db8::1", 8080, "/v6", 1, NONE, 0, false,
	    true },
	{ "ipv6 with embedded ipv4", RAW("GET / HTTP/1.1\r\n"
	    "Host: [::ffff:192.0.2.1]\r\n\r\n"),
	    "GET", "::ffff:192.0.2.1", 0, "/", 1, NONE, 0, false,
	    true },
	{ "ipv6 full form", RAW("GET / HTTP/1.1\r\n"
	    "Host: [2001:DB8:0:0:0:0:0:1]\r\n\r\n"),
	    "GET", "2001:DB8:0:0:0:0:0:1", 0, "/", 1, NONE, 0, false,
	    true },
	{ "absolute-form ipv6",
	    RAW("GET http://[2001:db8::1]:8080/p HTTP/1.1\r\n"
	    "Host: [2001:DB8::1]:8080\r\n\r\n"),
	    "GET", "2001:db8::1", 8080, "/p", 1, NONE, 0, false,
	    true },
	{ "absolute-form, default port in Host",
	    RAW("GET http://a.example/x HTTP/1.1\r\n"
	    "Host: A.Example:80\r\n\r\n"),
	    "GET", "a.example", 0, "/x", 1, NONE, 0, false, true },
	{ "absolute-form, default port in URI",
	    RAW("GET HTTP://a.example:80/x HTTP/1.1\r\n"
	    "Host: a.example\r\n\r\n"),
	    "GET", "a.example", 80, "/x", 1, NONE, 0, false, true },
	{ "absolute-form https",
	    RAW("GET https://Example.COM:443/p?q HTTP/1.1\r\n"
	    "Host: example.com\r\n\r\n"),
	    "GET", "Example.COM", 443, "/p", 1, NONE, 0, false, true },
	{ "absolute-form without Host",
	    RAW("GET http://b.example:8000/z HTTP/1.1\r\n\r\n"),
	    "GET", "b.example", 8000, "/z", 1, NONE, 0, false, true },
	{ "absolute-form, empty path", RAW("GET http://b.example HTTP/1.1\r\n"
	    "Host: b.example\r\n\r\n"),
	    "GET", "b.example", 0, "", 1, NONE, 0, false, true },
	{ "absolute-form, query only",
	    RAW("GET http://b.example?x=1 HTTP/1.1\r\n"
	    "Host: b.example\r\n\r\n"),
	    "GET", "b.example", 0, "", 1, NONE, 0, false, true },
	{ "OPTIONS *", RAW("OPTIONS * HTTP/1.1\r\n"
	    "Host: example.org:8443\r\n\r\n"),
	    "OPTIONS", "example.org", 8443, "*", 1, NONE, 0, false,
	    true },
	{ "params on a plain segment, dot-params in the query",
	    RAW("GET /a;v=1/b?next=/..;/x HTTP/1.1\r\n"
	    "Host: a\r\n\r\n"),
	    "GET", "a", 0, "/a;v=1/b", 1, NONE, 0, false, true },
	{ "253 bytes with the trailing dot, and a port",
	    RAW("GET / HTTP/1.1\r\nHost: "
	    NAME63 "." NAME63 "." NAME63 "." NAME60 ".:8080\r\n\r\n"),
	    "GET", NAME63 "." NAME63 "." NAME63 "." NAME60 ".", 8080, "/", 1,
	    NONE, 0, false, true },
	{ "content-length with leading zeros", RAW("PUT /f HTTP/1.1\r\n"
	    "Host: a\r\nContent-Length: 007\r\n\r\n"),
	    "PUT", "a", 0, "/f", 1, LENGTH, 7, false, true },
	{ "identical content-lengths", RAW("PUT /f HTTP/1.1\r\n"
	    "Host: a\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\n"),
	    "PUT", "a", 0, "/f", 1, LENGTH, 5, false, true },
	{ "big content-length", RAW("PUT /f HTTP/1.1\r\n"
	    "Host: a\r\nContent-Length: 18446744073709551615\r\n\r\n"),
	    "PUT", "a", 0, "/f", 1, LENGTH, UINT64_MAX, false, true },
	{ "gzip then chunked", RAW("POST / HTTP/1.1\r\n"
	    "Host: a\r\nTransfer-Encoding: gzip\r\n"
	    "transfer-encoding: Chunked\r\n\r\n"),
	    "POST", "a", 0, "/", 1, CHUNKED, 0, false, true },
	{ "OWS around values, HTAB and obs-text in values",
	    RAW("GET / HTTP/1.1\r\n"
	    "Host: \t a.example.  \t\r\nX-Note: caf\xc3\xa9\tau lait\r\n"
	    "X-Empty:\r\n\r\n"),
	    "GET", "a.example.", 0, "/", 1, NONE, 0, false, true },
	{ "unusual method token", RAW("M-SEARCH /upnp HTTP/1.1\r\n"
	    "Host: 239.255.255.250:1900\r\n\r\n"),
	    "M-SEARCH", "239.255.255.250", 1900, "/upnp", 1, NONE, 0,
	    false, true },
	{ "31-byte method", RAW("ABCDEFGHIJKLMNOPQRSTUVWXYZ01234 / HTTP/1.1\r\n"
	    "Host: a\r\n\r\n"),
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ01234", "a", 0, "/", 1, NONE,
	    0, false, true },
	{ "port 65535 and underscore", RAW("GET / HTTP/1.1\r\n"
	    "Host: my_host-1:65535\r\n\r\n"),
	    "GET", "my_host-1", 65535, "/", 1, NONE, 0, false, true },
	{ "target with odd but visible chars",
	    RAW("GET /a|b{c}?x=\"y\" HTTP/1.1\r\n"
	    "Host: a\r\n\r\n"),
	    "GET", "a", 0, "/a|b{c}", 1, NONE, 0, false, true },
};

struct bad_case {
	const char	*name;
	const uint8_t	*raw;
	size_t		 len;
	enum http_result want;
};

static const struct bad_case bad_cases[] = {
	/* Line ends. */
	{ "bare LF ends a field", RAW("GET / HTTP/1.1\r\nHost: a\n\r\n"),
	    HTTP_MALFORMED },
	{ "bare LF ends the request line",
	    RAW("GET / HTTP/1.1\nHost: a\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "LF LF ends the head", RAW("GET / HTTP/1.1\r\nHost: a\n\n"),
	    HTTP_MALFORMED },
	{ "bare CR inside a value", RAW("GET / HTTP/1.1\r\nHost: a\r\n"
	    "X: a\rb\r\n\r\n"), HTTP_MALFORMED },
	{ "CR CR LF", RAW("GET / HTTP/1.1\r\nHost: a\r\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "leading empty line", RAW("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "leading LF", RAW("\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
	    HTTP_MALFORMED },
	/* Characters. */
	{ "NUL in a value", RAW("GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "SOH in a value", RAW("GET / HTTP/1.1\r\nHost: a\r\nX: \x01\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "DEL in a value", RAW("GET / HTTP/1.1\r\nHost: a\r\nX: \x7f\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "ESC in the target", RAW("GET /\x1b HTTP/1.1\r\nHost: a\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "HTAB in the target", RAW("GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "non-ASCII in the target", RAW("GET /caf\xc3\xa9 HTTP/1.1\r\n"
	    "Host: a\r\n\r\n"), HTTP_MALFORMED },
	/* Request line. */
	{ "two SPs after method", RAW("GET  / HTTP/1.1\r\nHost: a\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "two SPs before version", RAW("GET /  HTTP/1.1\r\nHost: a\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "SP after version", RAW("GET / HTTP/1.1 \r\nHost: a\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "HTAB after method", RAW("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "HTTP/1.2",
	    RAW("GET / HTTP/1.2\r\nHost: a\r\n\r\n"), HTTP_MALFORMED },
	{ "HTTP/2.0 with GET", RAW("GET / HTTP/2.0\r\nHost: a\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "lowercase version", RAW("GET / http/1.1\r\nHost: a\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "HTTP/0.9 simple request", RAW("GET /\r\n\r\n"), HTTP_MALFORMED },
	{ "version missing", RAW("GET / \r\nHost: a\r\n\r\n"), HTTP_MALFORMED },
	{ "CONNECT", RAW("CONNECT a.example:443 HTTP/1.1\r\n"
	    "Host: a.example:443\r\n\r\n"), HTTP_MALFORMED },
	{ "connect in lowercase", RAW("connect a.example:443 HTTP/1.1\r\n"
	    "Host: a.example:443\r\n\r\n"), HTTP_MALFORMED },
	{ "authority-form with GET", RAW("GET a.example:80 HTTP/1.1\r\n"
	    "Host: a.example\r\n\r\n"), HTTP_MALFORMED },
	{ "asterisk-form with GET", RAW("GET * HTTP/1.1\r\nHost: a\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "OPTIONS *x", RAW("OPTIONS *x HTTP/1.1\r\nHost: a\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "relative target", RAW("GET index.html HTTP/1.1\r\nHost: a\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "ftp scheme", RAW("GET ftp://a/x HTTP/1.1\r\nHost: a\r\n\r\n"),
	    HTTP_MALFORMED },
	/* Field lines. */
	{ "obs-fold", RAW("GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "obs-fold with HTAB", RAW("GET / HTTP/1.1\r\nX: 1\r\n\tHost: b\r\n"
	    "Host: a\r\n\r\n"), HTTP_MALFORMED },
	{ "SP before colon", RAW("GET / HTTP/1.1\r\nHost : a\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "HTAB before colon", RAW("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "empty field name", RAW("GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "no colon", RAW("GET / HTTP/1.1\r\nHost: a\r\nX-Foo\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "non-token field name", RAW("GET / HTTP/1.1\r\nHost: a\r\n"
	    "X[1]: y\r\n\r\n"), HTTP_MALFORMED },
	{ "non-ASCII field name", RAW("GET / HTTP/1.1\r\nHost: a\r\n"
	    "X\xc3\xa9: y\r\n\r\n"), HTTP_MALFORMED },
	/* Host. */
	{ "no Host", RAW("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "no Host in HTTP/1.0 either", RAW("GET / HTTP/1.0\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "two Hosts", RAW("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "two identical Hosts",
	    RAW("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "Host list", RAW("GET / HTTP/1.1\r\nHost: a, b\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "empty Host",
	    RAW("GET / HTTP/1.1\r\nHost:\r\n\r\n"), HTTP_MALFORMED },
	{ "blank Host", RAW("GET / HTTP/1.1\r\nHost:   \r\n\r\n"),
	    HTTP_MALFORMED },
	{ "%-encoded Host", RAW("GET / HTTP/1.1\r\nHost: a%2eexample\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "Host with path", RAW("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "Host with userinfo", RAW("GET / HTTP/1.1\r\nHost: u@a\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "Host with inner SP", RAW("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "Host port 0", RAW("GET / HTTP/1.1\r\nHost: a:0\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "Host port 65536", RAW("GET / HTTP/1.1\r\nHost: a:65536\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "Host port 6 digits", RAW("GET / HTTP/1.1\r\nHost: a:000080\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "Host empty port", RAW("GET / HTTP/1.1\r\nHost: a:\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "Host port with sign", RAW("GET / HTTP/1.1\r\nHost: a:+80\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "Host two ports", RAW("GET / HTTP/1.1\r\nHost: a:80:81\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "Host bare IPv6", RAW("GET / HTTP/1.1\r\nHost: 2001:db8::1\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "Host bad IPv6", RAW("GET / HTTP/1.1\r\nHost: [::g]\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "Host IPv6 unclosed",
	    RAW("GET / HTTP/1.1\r\nHost: [2001:db8::1\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "Host IPv6 two ::", RAW("GET / HTTP/1.1\r\nHost: [1::2::3]\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "Host IPv6 nine groups", RAW("GET / HTTP/1.1\r\n"
	    "Host: [1:2:3:4:5:6:7:8:9]\r\n\r\n"), HTTP_MALFORMED },
	{ "Host IPv6 seven groups", RAW("GET / HTTP/1.1\r\n"
	    "Host: [1:2:3:4:5:6:7]\r\n\r\n"), HTTP_MALFORMED },
	{ "Host IPv6 zone id", RAW("GET / HTTP/1.1\r\n"
	    "Host: [fe80::1%25eth0]\r\n\r\n"), HTTP_MALFORMED },
	{ "Host IPv6 bad embedded IPv4", RAW("GET / HTTP/1.1\r\n"
	    "Host: [::ffff:1.2.3.256]\r\n\r\n"), HTTP_MALFORMED },
	{ "Host IPv6 empty", RAW("GET / HTTP/1.1\r\nHost: []\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "Host IPv6 junk after ]",
	    RAW("GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n"),
	    HTTP_MALFORMED },
	/*
	 * Names a server could read differently from egressd: an empty
	 * label (one trailing dot is the root and is allowed), labels and
	 * names over the DNS limits, characters no host name holds.
	 */
	{ "Host two trailing dots",
	    RAW("GET / HTTP/1.1\r\nHost: evil.example..\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "Host two trailing dots and a port",
	    RAW("GET / HTTP/1.1\r\nHost: evil.example..:80\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "Host inner empty label",
	    RAW("GET / HTTP/1.1\r\nHost: a..b\r\n\r\n"), HTTP_MALFORMED },
	{ "Host leading dot",
	    RAW("GET / HTTP/1.1\r\nHost: .a.example\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "Host lone dot", RAW("GET / HTTP/1.1\r\nHost: .\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "Host lone dot and port",
	    RAW("GET / HTTP/1.1\r\nHost: .:80\r\n\r\n"), HTTP_MALFORMED },
	{ "absolute-form two trailing dots",
	    RAW("GET http://evil.example../ HTTP/1.1\r\n"
	    "Host: evil.example..\r\n\r\n"), HTTP_MALFORMED },
	{ "absolute-form without Host, empty label",
	    RAW("GET http://a..b/ HTTP/1.1\r\n\r\n"), HTTP_MALFORMED },
	{ "Host 64-byte label", RAW("GET / HTTP/1.1\r\nHost: "
	    NAME63 "x.example\r\n\r\n"), HTTP_MALFORMED },
	{ "Host 254 bytes", RAW("GET / HTTP/1.1\r\nHost: "
	    NAME63 "." NAME63 "." NAME63 "." NAME61 "x\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "Host 253 bytes and a dot", RAW("GET / HTTP/1.1\r\nHost: "
	    NAME63 "." NAME63 "." NAME63 "." NAME61 ".\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "Host tilde", RAW("GET / HTTP/1.1\r\nHost: a~1.example\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "Host backslash",
	    RAW("GET / HTTP/1.1\r\nHost: a\\b.example\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "Host non-ASCII (U-label)",
	    RAW("GET / HTTP/1.1\r\nHost: b\xc3\xbc" "cher.example\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "Host NUL", RAW("GET / HTTP/1.1\r\nHost: a\0" ".example\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "Host userinfo and port",
	    RAW("GET / HTTP/1.1\r\nHost: a.example:80@b.example\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "Host port not digits",
	    RAW("GET / HTTP/1.1\r\nHost: a:8o\r\n\r\n"), HTTP_MALFORMED },
	{ "Host SP before port",
	    RAW("GET / HTTP/1.1\r\nHost: a: 80\r\n\r\n"), HTTP_MALFORMED },
	{ "Host IPv6 empty port",
	    RAW("GET / HTTP/1.1\r\nHost: [::1]:\r\n\r\n"), HTTP_MALFORMED },
	{ "Host folded", RAW("GET / HTTP/1.1\r\nHost:\r\n a.example\r\n"
	    "\r\n"), HTTP_MALFORMED },
	/* Targets a server could resolve to another path. */
	{ "fragment in the target",
	    RAW("GET /v1/x#/../../admin HTTP/1.1\r\nHost: a\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "fragment after a query",
	    RAW("GET /v1/x?a=1#b HTTP/1.1\r\nHost: a\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "fragment in absolute-form",
	    RAW("GET http://a/x#y HTTP/1.1\r\nHost: a\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "fragment right after the authority",
	    RAW("GET http://a#@b/ HTTP/1.1\r\nHost: a\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "dot-dot segment with params",
	    RAW("GET /v1/..;/admin HTTP/1.1\r\nHost: a\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "dot segment with params",
	    RAW("GET /v1/.;x=1/admin HTTP/1.1\r\nHost: a\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "dot-dot-params last",
	    RAW("GET /v1/..; HTTP/1.1\r\nHost: a\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "absolute-form dot-dot-params",
	    RAW("GET http://a/v1/..;/admin HTTP/1.1\r\nHost: a\r\n\r\n"),
	    HTTP_MALFORMED },
	/* Framing fields spelt with '_': one name to CGI-style gateways. */
	{ "Transfer_Encoding", RAW("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 5\r\nTransfer_Encoding: chunked\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "Content_Length", RAW("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Content_Length: 5\r\n\r\n"), HTTP_MALFORMED },
	{ "content_length lowercase", RAW("POST / HTTP/1.1\r\nHost: a\r\n"
	    "content_length: 5\r\n\r\n"), HTTP_MALFORMED },
	{ "Host 256 bytes", RAW("GET / HTTP/1.1\r\nHost: "
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "\r\n\r\n"), HTTP_MALFORMED },
	/* Absolute-form against Host. */
	{ "absolute host differs",
	    RAW("GET http://allowed.example/ HTTP/1.1\r\n"
	    "Host: denied.example\r\n\r\n"), HTTP_MALFORMED },
	{ "absolute port differs", RAW("GET http://a:8080/ HTTP/1.1\r\n"
	    "Host: a\r\n\r\n"), HTTP_MALFORMED },
	{ "https default vs Host :80", RAW("GET https://a/ HTTP/1.1\r\n"
	    "Host: a:80\r\n\r\n"), HTTP_MALFORMED },
	{ "absolute userinfo",
	    RAW("GET http://allowed.example@denied.example/ HTTP/1.1\r\n"
	    "Host: denied.example\r\n\r\n"), HTTP_MALFORMED },
	{ "absolute empty authority", RAW("GET http:///x HTTP/1.1\r\n"
	    "Host: a\r\n\r\n"), HTTP_MALFORMED },
	{ "absolute scheme only",
	    RAW("GET http:// HTTP/1.1\r\nHost: a\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "absolute %-host",
	    RAW("GET http://a%2e/ HTTP/1.1\r\nHost: a\r\n\r\n"),
	    HTTP_MALFORMED },
	/* Framing: the request smuggling shapes. */
	{ "CL and TE", RAW("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"), HTTP_MALFORMED },
	{ "TE and CL", RAW("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "two different CLs", RAW("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 5\r\nContent-Length: 6\r\n\r\n"), HTTP_MALFORMED },
	{ "CL list differs", RAW("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 5, 6\r\n\r\n"), HTTP_MALFORMED },
	{ "CL empty element", RAW("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 5,,5\r\n\r\n"), HTTP_MALFORMED },
	{ "CL empty",
	    RAW("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "CL with sign", RAW("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: +5\r\n\r\n"), HTTP_MALFORMED },
	{ "CL negative", RAW("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: -1\r\n\r\n"), HTTP_MALFORMED },
	{ "CL hex", RAW("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 0x5\r\n\r\n"), HTTP_MALFORMED },
	{ "CL trailing junk", RAW("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 5a\r\n\r\n"), HTTP_MALFORMED },
	{ "CL inner SP", RAW("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 1 0\r\n\r\n"), HTTP_MALFORMED },
	{ "CL overflows", RAW("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 18446744073709551616\r\n\r\n"), HTTP_MALFORMED },
	{ "TE chunked, identity", RAW("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: chunked, identity\r\n\r\n"), HTTP_MALFORMED },
	{ "TE identity", RAW("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: identity\r\n\r\n"), HTTP_MALFORMED },
	{ "TE gzip only", RAW("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: gzip\r\n\r\n"), HTTP_MALFORMED },
	{ "TE chunked twice", RAW("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: chunked, chunked\r\n\r\n"), HTTP_MALFORMED },
	{ "TE chunked in two fields", RAW("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "TE chunked then gzip field", RAW("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n"),
	    HTTP_MALFORMED },
	{ "TE trailing comma", RAW("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: chunked,\r\n\r\n"), HTTP_MALFORMED },
	{ "TE with parameter", RAW("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: chunked;q=1\r\n\r\n"), HTTP_MALFORMED },
	{ "TE empty", RAW("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding:\r\n\r\n"), HTTP_MALFORMED },
	{ "TE misspelt", RAW("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: xchunked\r\n\r\n"), HTTP_MALFORMED },
	{ "TE with SP before colon", RAW("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding : chunked\r\n\r\n"), HTTP_MALFORMED },
	{ "TE in HTTP/1.0", RAW("POST / HTTP/1.0\r\nHost: a\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"), HTTP_MALFORMED },
	{ "Connection non-token", RAW("GET / HTTP/1.1\r\nHost: a\r\n"
	    "Connection: close x\r\n\r\n"), HTTP_MALFORMED },
	/* Not HTTP at all: becomes protocol "other". */
	{ "TLS ClientHello",
	    RAW("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"),
	    HTTP_NOT_HTTP },
	{ "SSH banner", RAW("SSH-2.0-OpenSSH_9.2\r\n"), HTTP_NOT_HTTP },
	{ "HTTP/2 preface", RAW("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
	    HTTP_NOT_HTTP },
	{ "SP first", RAW(" GET / HTTP/1.1\r\n"), HTTP_NOT_HTTP },
	{ "32-byte method",
	    RAW("ABCDEFGHIJKLMNOPQRSTUVWXYZ012345 / HTTP/1.1\r\n"
	    "Host: a\r\n\r\n"), HTTP_NOT_HTTP },
	{ "redis inline PING", RAW("PING\r\n"), HTTP_NOT_HTTP },
	{ "NUL after a token", RAW("AB\0CD"), HTTP_NOT_HTTP },
	{ "binary", RAW("\x00\x01\x02\x03"), HTTP_NOT_HTTP },
};

/* Header count: 100 fields are fine, 101 are not. */
static size_t
build_fields(char *buf, size_t bufsz, unsigned n)
{
	size_t		off;
	unsigned	i;
	int		w;

	off = (size_t)snprintf(buf, bufsz, "GET / HTTP/1.1\r\nHost: a\r\n");
	for (i = 1; i < n; i++) {
		w = snprintf(buf + off, bufsz - off, "X-%u: v\r\n", i);
		off += (size_t)w;
	}
	off += (size_t)snprintf(buf + off, bufsz - off, "\r\n");
	return off;
}

static size_t
head_end(const uint8_t *buf, size_t len)
{
	const uint8_t	*p;

	p = memmem(buf, len, "\r\n\r\n", 4);
	ck_assert_ptr_nonnull(p);
	return (size_t)(p - buf) + 4;
}

static void
check_ok(const struct ok_case *c, const struct http_request *r)
{
	ck_assert_str_eq(r->method, c->method);
	ck_assert_str_eq(r->host, c->host);
	ck_assert_uint_eq(r->port, c->port);
	ck_assert_uint_le(r->path_off + r->path_len, r->head_len);
	ck_assert_uint_eq(r->path_len, strlen(c->path));
	ck_assert(memcmp(c->raw + r->path_off, c->path, r->path_len) == 0);
	ck_assert_int_eq(r->version_minor, c->minor);
	ck_assert_int_eq(r->framing, c->framing);
	if (c->framing == HTTP_BODY_LENGTH)
		ck_assert_uint_eq(r->content_length, c->cl);
	ck_assert_int_eq(r->upgrade, c->upgrade);
	ck_assert_int_eq(r->keep_alive, c->keep_alive);
	ck_assert_uint_eq(r->head_len, head_end(c->raw, c->len));
}

START_TEST(test_ok_table)
{
	const struct ok_case	*c = &ok_cases[_i];
	struct http_sniff	 st;
	struct http_request	 r;
	enum http_result	 res;

	http_sniff_init(&st);
	memset(&r, 0xa5, sizeof(r));
	res = http_parse_request(&st, c->raw, c->len, MAX, &r);
	ck_assert_msg(res == HTTP_OK, "%s: %s", c->name, http_result_str(res));
	check_ok(c, &r);
	/* Asking again with the same bytes gives the same answer. */
	ck_assert_int_eq(http_parse_request(&st, c->raw, c->len, MAX, &r),
	    HTTP_OK);
	check_ok(c, &r);
}
END_TEST

/* Trickled one byte per call: NEED_MORE until the head is whole. */
START_TEST(test_ok_bytewise)
{
	const struct ok_case	*c = &ok_cases[_i];
	struct http_sniff	 st;
	struct http_request	 r;
	enum http_result	 res;
	size_t			 n, hlen;

	hlen = head_end(c->raw, c->len);
	http_sniff_init(&st);
	for (n = 0; n < hlen; n++) {
		res = http_parse_request(&st, c->raw, n, MAX, &r);
		ck_assert_msg(res == HTTP_NEED_MORE, "%s: %zu bytes: %s",
		    c->name, n, http_result_str(res));
	}
	ck_assert_int_eq(http_parse_request(&st, c->raw, hlen, MAX, &r),
	    HTTP_OK);
	check_ok(c, &r);
	/* The scan never went back over what it had seen. */
	ck_assert_uint_eq(st.hs_scanned, hlen - 1);
}
END_TEST

START_TEST(test_bad_table)
{
	const struct bad_case	*c = &bad_cases[_i];
	struct http_sniff	 st;
	struct http_request	 r;
	enum http_result	 res;
	size_t			 n;

	http_sniff_init(&st);
	memset(&r, 0x5a, sizeof(r));
	res = http_parse_request(&st, c->raw, c->len, MAX, &r);
	ck_assert_msg(res == c->want, "%s: got %s, want %s", c->name,
	    http_result_str(res), http_result_str(c->want));
	ck_assert_uint_eq(r.port, 0x5a5a);	/* <out> untouched */

	/* Fed bytewise, the first verdict is the same one. */
	http_sniff_init(&st);
	for (n = 0; n <= c->len; n++) {
		res = http_parse_request(&st, c->raw, n, MAX, &r);
		if (res != HTTP_NEED_MORE)
			break;
	}
	ck_assert_msg(res == c->want, "%s bytewise: got %s at %zu", c->name,
	    http_result_str(res), n);
}
END_TEST

/* The verdict comes from the first bytes, before any line end. */
START_TEST(test_not_http_early)
{
	struct http_sniff	st;
	struct http_request	r;

	http_sniff_init(&st);
	ck_assert_int_eq(http_parse_request(&st, RAW("\x16"), MAX, &r),
	    HTTP_NOT_HTTP);
	http_sniff_init(&st);
	ck_assert_int_eq(http_parse_request(&st, RAW("SSH-2.0-OpenSSH_9.2"),
	    MAX, &r), HTTP_NEED_MORE);
	ck_assert_int_eq(http_parse_request(&st, RAW("SSH-2.0-OpenSSH_9.2\r"),
	    MAX, &r), HTTP_NOT_HTTP);
	http_sniff_init(&st);
	ck_assert_int_eq(http_parse_request(&st,
	    RAW("0123456789012345678901234567890"), MAX, &r), HTTP_NEED_MORE);
	ck_assert_int_eq(http_parse_request(&st,
	    RAW("01234567890123456789012345678901"), MAX, &r), HTTP_NOT_HTTP);
	/* Once a method and SP are in, it claims to be HTTP. */
	http_sniff_init(&st);
	ck_assert_int_eq(http_parse_request(&st, RAW("GET "), MAX, &r),
	    HTTP_NEED_MORE);
	ck_assert_int_eq(http_parse_request(&st, RAW("GET / HTTP/1.1\r\n\x01"),
	    MAX, &r), HTTP_MALFORMED);
	http_sniff_init(&st);
	ck_assert_int_eq(http_parse_request(&st, RAW(""), MAX, &r),
	    HTTP_NEED_MORE);
}
END_TEST

/* Random binary is never HTTP_OK and never crashes. */
START_TEST(test_random_binary)
{
	struct http_sniff	st;
	struct http_request	r;
	uint8_t			buf[512];
	uint32_t		x = 0x12345678;
	enum http_result	res;
	size_t			i, round;

	for (round = 0; round < 2000; round++) {
		for (i = 0; i < sizeof(buf); i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			buf[i] = (uint8_t)x;
		}
		http_sniff_init(&st);
		res = http_parse_request(&st, buf, sizeof(buf), MAX, &r);
		ck_assert(res == HTTP_NOT_HTTP || res == HTTP_MALFORMED);
	}
}
END_TEST

START_TEST(test_too_large)
{
	static const uint8_t	 head[] =
	    "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
	struct http_sniff	 st;
	struct http_request	 r;
	uint8_t			 buf[300];
	size_t			 hlen = sizeof(head) - 1;

	/* Exactly <max> bytes is fine; one less is too large. */
	http_sniff_init(&st);
	ck_assert_int_eq(http_parse_request(&st, head, hlen, hlen, &r),
	    HTTP_OK);
	http_sniff_init(&st);
	ck_assert_int_eq(http_parse_request(&st, head, hlen, hlen - 1, &r),
	    HTTP_TOO_LARGE);
	/* Too large as soon as <max> bytes are in without an end. */
	http_sniff_init(&st);
	ck_assert_int_eq(http_parse_request(&st, head, hlen - 2, hlen - 1,
	    &r), HTTP_NEED_MORE);
	ck_assert_int_eq(http_parse_request(&st, head, hlen - 1, hlen - 1,
	    &r), HTTP_TOO_LARGE);

	memset(buf, 'a', sizeof(buf));
	memcpy(buf, "GET /", 5);
	http_sniff_init(&st);
	ck_assert_int_eq(http_parse_request(&st, buf, sizeof(buf), 100, &r),
	    HTTP_TOO_LARGE);
	/* A <max> shorter than any method still ends the wait. */
	http_sniff_init(&st);
	ck_assert_int_eq(http_parse_request(&st, buf, 3, 4, &r),
	    HTTP_NEED_MORE);
	ck_assert_int_eq(http_parse_request(&st, buf, 4, 4, &r),
	    HTTP_TOO_LARGE);
	/* An error inside the limit wins over the limit. */
	http_sniff_init(&st);
	ck_assert_int_eq(http_parse_request(&st,
	    RAW("GET / HTTP/1.1\nHost: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), 20,
	    &r), HTTP_MALFORMED);
}
END_TEST

START_TEST(test_field_count)
{
	struct http_sniff	st;
	struct http_request	r;
	char			buf[4096];
	size_t			n;

	n = build_fields(buf, sizeof(buf), 100);
	http_sniff_init(&st);
	ck_assert_int_eq(http_parse_request(&st, (uint8_t *)buf, n, MAX, &r),
	    HTTP_OK);
	n = build_fields(buf, sizeof(buf), 101);
	http_sniff_init(&st);
	ck_assert_int_eq(http_parse_request(&st, (uint8_t *)buf, n, MAX, &r),
	    HTTP_MALFORMED);
}
END_TEST

START_TEST(test_result_str)
{
	ck_assert_str_eq(http_result_str(HTTP_NEED_MORE), "need-more");
	ck_assert_str_eq(http_result_str(HTTP_OK), "ok");
	ck_assert_str_eq(http_result_str(HTTP_NOT_HTTP), "not-http");
	ck_assert_str_eq(http_result_str(HTTP_MALFORMED), "malformed");
	ck_assert_str_eq(http_result_str(HTTP_TOO_LARGE), "too-large");
	ck_assert_str_eq(http_result_str((enum http_result)77), "invalid");
}
END_TEST

/* Body framer. */

struct body_case {
	const char	*name;
	enum http_framing framing;
	uint64_t	 cl;
	const uint8_t	*raw;
	size_t		 len;
	size_t		 want_used;	/* bytes the body takes */
	enum http_body_state want;	/* DONE, ERROR or MORE */
};


#define NEXT	"GET /next HTTP/1.1\r\nHost: a\r\n\r\n"

static const struct body_case body_cases[] = {
	{ "no body", NONE, 0, RAW(NEXT), 0, DONE },
	{ "CL 0", LENGTH, 0, RAW(NEXT), 0, DONE },
	{ "CL 7 then next", LENGTH, 7, RAW("a=1&b=2" NEXT), 7, DONE },
	{ "CL larger than data", LENGTH, 100, RAW("abc"), 3, MORE },
	{ "curl chunked", CHUNKED, 0,
	    RAW("b\r\nhello world\r\n0\r\n\r\n" NEXT), 21, DONE },
	{ "node chunked", CHUNKED, 0,
	    RAW("3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n" NEXT), 21, DONE },
	{ "empty chunked", CHUNKED, 0, RAW("0\r\n\r\n" NEXT), 5, DONE },
	{ "upper and lower hex", CHUNKED, 0,
	    RAW("A\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n"), 35, DONE },
	{ "16 hex digits", CHUNKED, 0,
	    RAW("0000000000000001\r\nx\r\n0\r\n\r\n"), 26, DONE },
	{ "huge chunk pending", CHUNKED, 0,
	    RAW("FFFFFFFFFFFFFFFF\r\nabc"), 21, MORE },
	{ "extensions", CHUNKED, 0,
	    RAW("5;a=b;c;d=\"x y\\\"z\";e=\"\"\r\nhello\r\n"
	    "0;last\r\n\r\n" NEXT),
	    42, DONE },
	{ "trailers", CHUNKED, 0,
	    RAW("5\r\nhello\r\n0\r\nX-Sum: 12\tab\r\nX-Empty:\r\n\r\n" NEXT),
	    39, DONE },
	{ "data holding CRLF and 0", CHUNKED, 0,
	    RAW("7\r\n0\r\n\r\nGE\r\n0\r\n\r\n"), 17, DONE },
	/* Errors: <want_used> is where the offending byte sits. */
	{ "SP before size", CHUNKED, 0, RAW(" 5\r\nhello\r\n"), 0, ERROR },
	{ "SP after size", CHUNKED, 0, RAW("5 \r\nhello\r\n"), 1, ERROR },
	{ "HTAB after size", CHUNKED, 0, RAW("5\t\r\nhello\r\n"), 1, ERROR },
	{ "0x prefix", CHUNKED, 0, RAW("0x5\r\nhello\r\n"), 1, ERROR },
	{ "negative", CHUNKED, 0, RAW("-5\r\nhello\r\n"), 0, ERROR },
	{ "plus sign", CHUNKED, 0, RAW("+5\r\nhello\r\n"), 0, ERROR },
	{ "empty size", CHUNKED, 0, RAW("\r\nhello\r\n"), 0, ERROR },
	{ "17 hex digits", CHUNKED, 0,
	    RAW("00000000000000001\r\nx\r\n"), 16, ERROR },
	{ "bare LF after size", CHUNKED, 0, RAW("5\nhello\r\n"), 1, ERROR },
	{ "CR CR after size", CHUNKED, 0, RAW("5\r\rhello\r\n"), 2, ERROR },
	{ "bare LF after data", CHUNKED, 0, RAW("5\r\nhello\n0\r\n"),
	    8, ERROR },
	{ "data longer than size", CHUNKED, 0,
	    RAW("5\r\nhelloX\r\n0\r\n\r\n"), 8, ERROR },
	{ "size then ext without name", CHUNKED, 0,
	    RAW("5;\r\nhello\r\n"), 2, ERROR },
	{ "ext only", CHUNKED, 0, RAW(";a\r\n"), 0, ERROR },
	{ "SP before ext", CHUNKED, 0, RAW("5 ;a\r\n"), 1, ERROR },
	{ "SP after ;", CHUNKED, 0, RAW("5; a=b\r\n"), 2, ERROR },
	{ "SP before =", CHUNKED, 0, RAW("5;a =b\r\n"), 3, ERROR },
	{ "SP after =", CHUNKED, 0, RAW("5;a= b\r\n"), 4, ERROR },
	{ "empty ext value", CHUNKED, 0, RAW("5;a=\r\n"), 4, ERROR },
	{ "ext =value", CHUNKED, 0, RAW("5;=b\r\n"), 2, ERROR },
	{ "junk after quoted", CHUNKED, 0, RAW("5;a=\"b\"c\r\n"), 7, ERROR },
	{ "CR in quoted", CHUNKED, 0, RAW("5;a=\"b\r\nhello"), 6, ERROR },
	{ "bare LF in ext", CHUNKED, 0, RAW("5;a=b\nhello"), 5, ERROR },
	{ "bare LF on the last line", CHUNKED, 0,
	    RAW("0\r\n\n"), 3, ERROR },
	{ "bare LF ends a trailer", CHUNKED, 0,
	    RAW("0\r\nX: y\n\r\n"), 7, ERROR },
	{ "trailer SP before colon", CHUNKED, 0,
	    RAW("0\r\nX : y\r\n\r\n"), 4, ERROR },
	{ "trailer obs-fold", CHUNKED, 0,
	    RAW("0\r\nX: y\r\n z\r\n\r\n"), 9, ERROR },
	{ "trailer without colon", CHUNKED, 0,
	    RAW("0\r\nXy\r\n\r\n"), 5, ERROR },
	{ "trailer empty name", CHUNKED, 0,
	    RAW("0\r\n: y\r\n\r\n"), 3, ERROR },
	{ "NUL in trailer", CHUNKED, 0,
	    RAW("0\r\nX: \0\r\n\r\n"), 6, ERROR },
};

static void
body_check(const struct body_case *c, const struct http_body *b,
    size_t used, const char *how)
{
	ck_assert_msg(used == c->want_used, "%s (%s): used %zu, want %zu",
	    c->name, how, used, c->want_used);
	if (c->want == MORE)
		ck_assert_msg(b->hb_state != HTTP_BS_ERROR &&
		    b->hb_state != HTTP_BS_DONE, "%s (%s): state %d", c->name,
		    how, b->hb_state);
	else
		ck_assert_msg(b->hb_state == c->want, "%s (%s): state %d",
		    c->name, how, b->hb_state);
}

static void
body_init(const struct body_case *c, struct http_body *b)
{
	struct http_request	r;

	memset(&r, 0, sizeof(r));
	r.framing = c->framing;
	r.content_length = c->cl;
	http_body_init(b, &r);
}

/* Feeds c->raw in pieces split at <cuts> (ascending, within len). */
static size_t
body_feed_split(const struct body_case *c, struct http_body *b,
    const size_t *cuts, size_t ncuts)
{
	size_t	used = 0, from = 0, to, k, i;

	for (i = 0; i <= ncuts; i++) {
		to = i < ncuts ? cuts[i] : c->len;
		k = http_body_feed(b, c->raw + from, to - from);
		ck_assert_uint_le(k, to - from);
		used += k;
		if (k < to - from)
			break;
		from = to;
	}
	return used;
}

START_TEST(test_body_table)
{
	const struct body_case	*c = &body_cases[_i];
	struct http_body	 b;
	size_t			 used, cut, i;

	body_init(c, &b);
	used = http_body_feed(&b, c->raw, c->len);
	body_check(c, &b, used, "whole");
	/* Feeding more after the end takes nothing. */
	if (b.hb_state == HTTP_BS_DONE || b.hb_state == HTTP_BS_ERROR)
		ck_assert_uint_eq(http_body_feed(&b, c->raw + used,
		    c->len - used), 0);

	/* Split in two at every boundary. */
	for (cut = 0; cut <= c->len; cut++) {
		body_init(c, &b);
		used = body_feed_split(c, &b, &cut, 1);
		body_check(c, &b, used, "two pieces");
	}

	/* One byte at a time. */
	body_init(c, &b);
	for (used = 0, i = 0; i < c->len; i++) {
		if (http_body_feed(&b, c->raw + i, 1) == 0)
			break;
		used++;
	}
	body_check(c, &b, used, "bytewise");
}
END_TEST

/* The framer hands back exactly the pipelined request that follows. */
START_TEST(test_pipelined)
{
	static const uint8_t	 in[] = "POST /a HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"
	    "4;x=1\r\nGET \r\n0\r\nT: 1\r\n\r\n"
	    "POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nxyz"
	    "GET /c HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n";
	static const char	*paths[] = { "/a", "/b", "/c" };
	struct http_sniff	 st;
	struct http_request	 r;
	struct http_body	 b;
	size_t			 off = 0, len = sizeof(in) - 1, used;
	unsigned		 n;

	for (n = 0; n < 3; n++) {
		http_sniff_init(&st);
		ck_assert_int_eq(http_parse_request(&st, in + off, len - off,
		    MAX, &r), HTTP_OK);
		ck_assert_uint_eq(r.path_len, strlen(paths[n]));
		ck_assert(memcmp(in + off + r.path_off, paths[n],
		    r.path_len) == 0);
		off += r.head_len;
		http_body_init(&b, &r);
		used = http_body_feed(&b, in + off, len - off);
		ck_assert_int_eq(b.hb_state, HTTP_BS_DONE);
		off += used;
	}
	ck_assert_str_eq(r.host, "b");
	ck_assert(!r.keep_alive);
	ck_assert_uint_eq(off, len);
}
END_TEST

START_TEST(test_trailer_limits)
{
	struct http_body	b;
	struct http_request	r;
	static uint8_t		buf[16384];
	size_t			n, i;

	memset(&r, 0, sizeof(r));
	r.framing = HTTP_BODY_CHUNKED;

	/* 100 trailer lines are fine, 101 are not. */
	n = (size_t)snprintf((char *)buf, sizeof(buf), "0\r\n");
	for (i = 0; i < 100; i++)
		n += (size_t)snprintf((char *)buf + n, sizeof(buf) - n,
		    "T%zu: v\r\n", i);
	memcpy(buf + n, "\r\n", 2);
	http_body_init(&b, &r);
	ck_assert_uint_eq(http_body_feed(&b, buf, n + 2), n + 2);
	ck_assert_int_eq(b.hb_state, HTTP_BS_DONE);
	memcpy(buf + n, "T: v\r\n\r\n", 8);
	http_body_init(&b, &r);
	ck_assert_uint_eq(http_body_feed(&b, buf, n + 8), n);
	ck_assert_int_eq(b.hb_state, HTTP_BS_ERROR);

	/* An 8192-byte trailer line is fine, 8193 is not. */
	memcpy(buf, "0\r\nT: ", 6);
	memset(buf + 6, 'v', 8192 - 3);
	memcpy(buf + 3 + 8192, "\r\n\r\n", 4);
	http_body_init(&b, &r);
	ck_assert_uint_eq(http_body_feed(&b, buf, 3 + 8192 + 4),
	    3 + 8192 + 4);
	ck_assert_int_eq(b.hb_state, HTTP_BS_DONE);
	memset(buf + 6, 'v', 8192 - 2);
	memcpy(buf + 3 + 8193, "\r\n\r\n", 4);
	http_body_init(&b, &r);
	ck_assert_uint_eq(http_body_feed(&b, buf, 3 + 8193 + 4), 3 + 8192);
	ck_assert_int_eq(b.hb_state, HTTP_BS_ERROR);

	/* Same cap on a chunk-size line with extensions. */
	memcpy(buf, "1;e=", 4);
	memset(buf + 4, 'x', 8192);
	http_body_init(&b, &r);
	ck_assert_uint_eq(http_body_feed(&b, buf, 4 + 8192), 8192);
	ck_assert_int_eq(b.hb_state, HTTP_BS_ERROR);
}
END_TEST

/* Smuggling end to end: heads the parser refuses never reach the framer,
 * and a chunked body hiding a request is consumed whole. */
START_TEST(test_smuggle_hidden_request)
{
	static const uint8_t	 in[] = "POST / HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"
	    "25\r\nGET /admin HTTP/1.1\r\nHost: denied\r\n\r\n\r\n0\r\n\r\n";
	struct http_sniff	 st;
	struct http_request	 r;
	struct http_body	 b;
	size_t			 len = sizeof(in) - 1;

	http_sniff_init(&st);
	ck_assert_int_eq(http_parse_request(&st, in, len, MAX, &r), HTTP_OK);
	http_body_init(&b, &r);
	ck_assert_uint_eq(http_body_feed(&b, in + r.head_len,
	    len - r.head_len), len - r.head_len);
	ck_assert_int_eq(b.hb_state, HTTP_BS_DONE);
}
END_TEST

struct status_case {
	const uint8_t	*raw;
	size_t		 len;
	int		 want;
};

static const struct status_case status_cases[] = {
	{ RAW("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"),
	    101 },
	{ RAW("HTTP/1.1 200 OK\r\n"), 200 },
	{ RAW("HTTP/1.0 404 "), 404 },
	{ RAW("HTTP/1.1 204\r\n"), 204 },
	{ RAW("HTTP/1.1 999 x"), 999 },
	{ RAW("HTTP/1.1 101"), 0 },
	{ RAW("HTTP/1.1 1"), 0 },
	{ RAW("HTTP/1."), 0 },
	{ RAW("H"), 0 },
	{ RAW(""), 0 },
	{ RAW("HTTP/1.2 200 OK\r\n"), -1 },
	{ RAW("HTTP/2 200\r\n"), -1 },
	{ RAW("HTTP/1.1 099 x"), -1 },
	{ RAW("HTTP/1.1 20 OK"), -1 },
	{ RAW("HTTP/1.1 2000 "), -1 },
	{ RAW("HTTP/1.1  200 "), -1 },
	{ RAW("HTTP/1.1 200\t"), -1 },
	{ RAW("http/1.1 200 OK"), -1 },
	{ RAW("\x15\x03\x03"), -1 },
	{ RAW("SSH-2.0-x\r\n"), -1 },
};

START_TEST(test_status_table)
{
	const struct status_case	*c = &status_cases[_i];
	size_t				 n;
	int				 got;

	ck_assert_int_eq(http_response_status(c->raw, c->len), c->want);
	/* Every prefix says "more" or the same thing. */
	for (n = 0; n < c->len; n++) {
		got = http_response_status(c->raw, n);
		ck_assert(got == 0 || got == c->want);
	}
}
END_TEST

/* Upgrade to h2c is flagged (egressd refuses it); WebSocket is not. */
START_TEST(test_upgrade_h2c)
{
	static const struct {
		const char	*raw;
		bool		 upgrade, h2c;
	} c[] = {
		{ "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, "
		  "HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMA\r\n"
		  "\r\n", true, true },
		{ "GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n"
		  "Upgrade: websocket, H2C/1\r\n\r\n", true, true },
		{ "GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n"
		  "Upgrade: websocket\r\n\r\n", true, false },
		/* no Connection: upgrade: the server ignores it */
		{ "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\n\r\n",
		  false, false },
		{ "GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n"
		  "Upgrade: h2cx\r\n\r\n", true, false },
	};
	struct http_sniff	st;
	struct http_request	r;
	size_t			i;

	for (i = 0; i < nitems(c); i++) {
		http_sniff_init(&st);
		ck_assert_int_eq(http_parse_request(&st, (const uint8_t *)
		    c[i].raw, strlen(c[i].raw), MAX, &r), HTTP_OK);
		ck_assert_msg(r.upgrade == c[i].upgrade, "case %zu", i);
		ck_assert_msg(r.upgrade_h2c == c[i].h2c, "case %zu", i);
	}
}
END_TEST

/* Header fields and their rewriting for credential injection. */

#define AUTH	"Authorization"

/* Parses <raw> (a whole head), which must be HTTP_OK. */
static void
parse_ok(const uint8_t *raw, size_t len, struct http_request *r)
{
	struct http_sniff	st;
	enum http_result	res;

	http_sniff_init(&st);
	res = http_parse_request(&st, raw, len, 65536, r);
	ck_assert_msg(res == HTTP_OK, "%.*s: %s", (int)len, (const char *)raw,
	    http_result_str(res));
	ck_assert_uint_eq(r->head_len, len);
}

/* What a rewrite must keep: everything the proxy judges and frames by. */
static void
same_request(const struct http_request *a, const uint8_t *abuf,
    const struct http_request *b, const uint8_t *bbuf)
{
	ck_assert_str_eq(a->method, b->method);
	ck_assert_str_eq(a->host, b->host);
	ck_assert_uint_eq(a->port, b->port);
	ck_assert_uint_eq(a->path_len, b->path_len);
	ck_assert(memcmp(abuf + a->path_off, bbuf + b->path_off,
	    a->path_len) == 0);
	ck_assert_int_eq(a->version_minor, b->version_minor);
	ck_assert_int_eq(a->framing, b->framing);
	ck_assert_uint_eq(a->content_length, b->content_length);
	ck_assert_int_eq(a->upgrade, b->upgrade);
	ck_assert_int_eq(a->keep_alive, b->keep_alive);
}

static const struct field_case {
	const char	*head;
	const char	*name;
	unsigned	 count;
	const char	*value;		/* the first one's, trimmed */
} field_cases[] = {
	{ "GET / HTTP/1.1\r\nHost: a\r\n\r\n", AUTH, 0, NULL },
	{ "GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer x\r\n\r\n",
	    AUTH, 1, "Bearer x" },
	/* case-insensitive, both ways */
	{ "GET / HTTP/1.1\r\nhost: a\r\nAUTHORIZATION: Bearer x\r\n\r\n",
	    "authorization", 1, "Bearer x" },
	{ "GET / HTTP/1.1\r\nHOST: a\r\n\r\n", "hOsT", 1, "a" },
	/* several: counted, the first one's value */
	{ "GET / HTTP/1.1\r\nauthorization: one\r\nHost: a\r\n"
	  "Authorization:two\r\nAuthorization: three\r\n\r\n",
	    AUTH, 3, "one" },
	/* a prefix or a suffix of another name is not that name */
	{ "GET / HTTP/1.1\r\nHost: a\r\nAuthorization-Extra: no\r\n"
	  "X-Authorization: no\r\nAuthorizatio: no\r\n\r\n", AUTH, 0, NULL },
	{ "GET / HTTP/1.1\r\nHost: a\r\nAuthorization-Extra: no\r\n"
	  "Authorization: yes\r\n\r\n", AUTH, 1, "yes" },
	/* no value; OWS only; OWS around a value with inner HTAB and SP */
	{ "GET / HTTP/1.1\r\nHost: a\r\nAuthorization:\r\n\r\n",
	    AUTH, 1, "" },
	{ "GET / HTTP/1.1\r\nHost: a\r\nAuthorization: \t \r\n\r\n",
	    AUTH, 1, "" },
	{ "GET / HTTP/1.1\r\nHost: a\r\nAuthorization:\t Basic  a\tb \t\r\n"
	  "\r\n", AUTH, 1, "Basic  a\tb" },
	/* the request line is never a field, even when it looks like one */
	{ "Authorization /:x HTTP/1.1\r\nHost: a\r\n\r\n", AUTH, 0, NULL },
	{ "GET /?Authorization:x HTTP/1.1\r\nHost: a\r\n\r\n", AUTH, 0,
	    NULL },
	{ "GET http://a/ HTTP/1.1\r\n\r\n", "Host", 0, NULL },
	/* not a token: no field can have that name */
	{ "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "", 0, NULL },
	{ "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "Host:", 0, NULL },
};

START_TEST(test_head_field)
{
	const struct field_case	*c = &field_cases[_i];
	struct http_request	 r;
	const uint8_t		*raw = (const uint8_t *)c->head, *val;
	size_t			 len = strlen(c->head), vlen;
	uint8_t			 canary;

	parse_ok(raw, len, &r);
	val = &canary;
	vlen = 12345;
	ck_assert_uint_eq(http_head_field(raw, len, c->name, &val, &vlen),
	    c->count);
	if (c->value == NULL) {
		ck_assert_ptr_eq(val, &canary);
		ck_assert_uint_eq(vlen, 12345);
		return;
	}
	ck_assert_ptr_ne(val, &canary);
	ck_assert(val >= raw && val + vlen <= raw + len);
	ck_assert_uint_eq(vlen, strlen(c->value));
	ck_assert(memcmp(val, c->value, vlen) == 0);
}
END_TEST

static const struct set_case {
	const char	*head;
	const char	*value;
	const char	*want;
} set_cases[] = {
	/* none: added last */
	{ "POST /v1/responses HTTP/1.1\r\nHost: api.example\r\n"
	  "Content-Length: 2\r\n\r\n", "Bearer sk-1",
	  "POST /v1/responses HTTP/1.1\r\nHost: api.example\r\n"
	  "Content-Length: 2\r\nAuthorization: Bearer sk-1\r\n\r\n" },
	/* one, first: replaced, moved last */
	{ "GET / HTTP/1.1\r\nAuthorization: Bearer phantom\r\nHost: a\r\n"
	  "Accept: */*\r\n\r\n", "Bearer sk-2",
	  "GET / HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n"
	  "Authorization: Bearer sk-2\r\n\r\n" },
	/* several, any case, first, middle and last: all go */
	{ "GET / HTTP/1.1\r\nauthorization: a\r\nHost: a\r\n"
	  "AUTHORIZATION: b\r\nX-Keep: 1\r\nAuthorization:\r\n\r\n", "s",
	  "GET / HTTP/1.1\r\nHost: a\r\nX-Keep: 1\r\nAuthorization: s\r\n"
	  "\r\n" },
	/* look-alike names and the request line stay byte for byte */
	{ "GET /Authorization:x HTTP/1.1\r\nAuthorization-Extra:  e \r\n"
	  "Host: a\r\nX-Authorization: x\r\nAuthorization: old\r\n\r\n",
	  "new",
	  "GET /Authorization:x HTTP/1.1\r\nAuthorization-Extra:  e \r\n"
	  "Host: a\r\nX-Authorization: x\r\nAuthorization: new\r\n\r\n" },
	/* empty value; HTAB and obs-text are field content */
	{ "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "",
	  "GET / HTTP/1.1\r\nHost: a\r\nAuthorization: \r\n\r\n" },
	{ "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "a\tb\xc3\xa9",
	  "GET / HTTP/1.1\r\nHost: a\r\nAuthorization: a\tb\xc3\xa9\r\n\r\n" },
	/* framing kept: chunked, HTTP/1.0 absolute-form without Host */
	{ "POST /up HTTP/1.1\r\nHost: a:8443\r\nTransfer-Encoding: chunked\r\n"
	  "Authorization: x\r\nConnection: close\r\n\r\n", "y",
	  "POST /up HTTP/1.1\r\nHost: a:8443\r\nTransfer-Encoding: chunked\r\n"
	  "Connection: close\r\nAuthorization: y\r\n\r\n" },
	{ "GET http://a.example/p?q HTTP/1.0\r\nConnection: keep-alive\r\n"
	  "\r\n", "t",
	  "GET http://a.example/p?q HTTP/1.0\r\nConnection: keep-alive\r\n"
	  "Authorization: t\r\n\r\n" },
};

/* Checks <out>[0..<n>) as a rewrite of the parsed <raw> with <value>. */
static void
check_rewrite(const uint8_t *raw, size_t len, const uint8_t *out, size_t n,
    const char *value)
{
	struct http_request	 a, b;
	const uint8_t		*val;
	size_t			 vlen;
	char			 line[256];
	uint8_t			 again[1024];

	parse_ok(raw, len, &a);
	parse_ok(out, n, &b);
	same_request(&a, raw, &b, out);
	ck_assert_uint_eq(http_head_field(out, n, AUTH, &val, &vlen), 1);
	/* the last field, spelt exactly so */
	snprintf(line, sizeof(line), "\r\n" AUTH ": %s\r\n\r\n", value);
	ck_assert_uint_ge(n, strlen(line));
	ck_assert(memcmp(out + n - strlen(line), line, strlen(line)) == 0);
	/* Setting it again changes nothing. */
	ck_assert_uint_eq(http_head_set_field(out, n, AUTH,
	    (const uint8_t *)value, strlen(value), again, sizeof(again)), n);
	ck_assert(memcmp(again, out, n) == 0);
}

START_TEST(test_set_field)
{
	const struct set_case	*c = &set_cases[_i];
	const uint8_t		*raw = (const uint8_t *)c->head;
	size_t			 len = strlen(c->head), n;
	uint8_t			 out[1024];

	memset(out, 0xee, sizeof(out));
	n = http_head_set_field(raw, len, AUTH, (const uint8_t *)c->value,
	    strlen(c->value), out, sizeof(out));
	ck_assert_uint_eq(n, strlen(c->want));
	ck_assert(memcmp(out, c->want, n) == 0);
	ck_assert_uint_eq(out[n], 0xee);
	check_rewrite(raw, len, out, n, c->value);
}
END_TEST

/* Every real client head of the parser tests takes a credential. */
START_TEST(test_set_field_clients)
{
	const struct ok_case	*c = &ok_cases[_i];
	static const char	 value[] = "Bearer sk-proj-0123456789abcdef";
	uint8_t			 out[1024];
	size_t			 hlen, n;

	hlen = head_end(c->raw, c->len);
	ck_assert_uint_lt(hlen + sizeof(value) + 20, sizeof(out));
	n = http_head_set_field(c->raw, hlen, "authorization",
	    (const uint8_t *)value, strlen(value), out, sizeof(out));
	/* the name as the caller spelt it */
	ck_assert_uint_eq(n, hlen + strlen("authorization: ") +
	    strlen(value) + 2);
	ck_assert(memcmp(out, c->raw, hlen - 2) == 0);
	ck_assert(memcmp(out + hlen - 2, "authorization: ", 15) == 0);
	n = http_head_set_field(c->raw, hlen, AUTH, (const uint8_t *)value,
	    strlen(value), out, sizeof(out));
	check_rewrite(c->raw, hlen, out, n, value);
}
END_TEST

/* Too small a <cap> gives 0 and writes nothing past <cap>. */
START_TEST(test_set_field_cap)
{
	static const char	 head[] = "GET / HTTP/1.1\r\nHost: a\r\n"
	    "Authorization: phantom\r\nAccept: */*\r\n\r\n";
	static const char	 want[] = "GET / HTTP/1.1\r\nHost: a\r\n"
	    "Accept: */*\r\nAuthorization: Bearer secret\r\n\r\n";
	uint8_t			*out;
	size_t			 cap, wlen = sizeof(want) - 1;

	for (cap = 0; cap <= wlen + 1; cap++) {
		/* exactly <cap> bytes, so ASan sees a write past them */
		out = malloc(cap + 1);
		ck_assert_ptr_nonnull(out);
		out[cap] = 0xee;
		ck_assert_uint_eq(http_head_set_field(RAW(head), AUTH,
		    RAW("Bearer secret"), out, cap), cap >= wlen ? wlen : 0);
		ck_assert_uint_eq(out[cap], 0xee);
		if (cap >= wlen)
			ck_assert(memcmp(out, want, wlen) == 0);
		free(out);
	}
}
END_TEST

/* A value or a name that could split or smuggle a field gives 0. */
START_TEST(test_set_field_refused)
{
	static const char	 head[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
	static const struct {
		const uint8_t	*v;
		size_t		 len;
	} bad_values[] = {
		{ RAW("Bearer x\r\nX-Injected: 1") },
		{ RAW("Bearer x\rX") },
		{ RAW("Bearer x\nX") },
		{ RAW("x\r\n") },
		{ RAW("\n") },
		{ RAW("Bearer \0x") },
		{ RAW("x\x01") },
		{ RAW("x\x1f") },
		{ RAW("x\x7f") },
	};
	static const char *const bad_names[] = { "", "Bad Name",
	    "X:Y", "Auth\r\nX-Injected", "Auth\t", "Auth(x)", "Auth\xc3\xa9" };
	uint8_t	out[256];
	size_t	i;

	for (i = 0; i < nitems(bad_values); i++)
		ck_assert_msg(http_head_set_field(RAW(head), AUTH,
		    bad_values[i].v, bad_values[i].len, out, sizeof(out)) == 0,
		    "value %zu", i);
	for (i = 0; i < nitems(bad_names); i++)
		ck_assert_msg(http_head_set_field(RAW(head), bad_names[i],
		    RAW("x"), out, sizeof(out)) == 0, "name %zu", i);
	/* the odd but valid token characters */
	ck_assert_uint_gt(http_head_set_field(RAW(head), "X-A!#$%&'*+.^_`|~1",
	    RAW("x"), out, sizeof(out)), 0);
}
END_TEST

/* The result never holds more fields than the parser accepts. */
START_TEST(test_set_field_count)
{
	char			 buf[4096];
	uint8_t			 out[4096];
	struct http_request	 r;
	const uint8_t		*val;
	size_t			 n, m, vlen;

	/* 99 fields: room for one more */
	n = build_fields(buf, sizeof(buf), 99);
	m = http_head_set_field((uint8_t *)buf, n, AUTH, RAW("x"), out,
	    sizeof(out));
	ck_assert_uint_gt(m, 0);
	parse_ok(out, m, &r);
	/* 100 fields and none of that name: no room */
	n = build_fields(buf, sizeof(buf), 100);
	ck_assert_uint_eq(http_head_set_field((uint8_t *)buf, n, AUTH,
	    RAW("x"), out, sizeof(out)), 0);
	/* 100 fields, one of that name: it is replaced */
	n = build_fields(buf, sizeof(buf), 99);
	n += (size_t)snprintf(buf + n - 2, sizeof(buf) - n + 2,
	    AUTH ": o\r\n\r\n") - 2;
	parse_ok((uint8_t *)buf, n, &r);
	ck_assert_uint_eq(http_head_field((uint8_t *)buf, n, AUTH, &val,
	    &vlen), 1);
	m = http_head_set_field((uint8_t *)buf, n, AUTH, RAW("x"), out,
	    sizeof(out));
	ck_assert_uint_gt(m, 0);
	parse_ok(out, m, &r);
}
END_TEST

START_TEST(test_auth_credential)
{
	static const struct {
		const char	*val, *cred;
	} c[] = {
		{ "Bearer sk-abc", "sk-abc" },
		{ "Bearer    sk-abc", "sk-abc" },
		{ " \tBearer sk-abc \t", "sk-abc" },
		{ "bearer eyJhbGciOi.J9.x-_=", "eyJhbGciOi.J9.x-_=" },
		{ "Basic dXNlcjpwYXNz", "dXNlcjpwYXNz" },
		{ "token ghp_0123", "ghp_0123" },
		{ "sk-no-scheme", "sk-no-scheme" },
		{ "Bearer", "Bearer" },
		{ "Bearer ", "Bearer" },
		{ "", "" },
		{ "Bearer\tsk-abc", "Bearer\tsk-abc" },	/* only SP splits */
		{ "a=b c", "a=b c" },		/* no token before the SP */
		{ "Bearer a b", "a b" },
	};
	const uint8_t	*cred;
	size_t		 i, clen;

	for (i = 0; i < nitems(c); i++) {
		http_auth_credential((const uint8_t *)c[i].val,
		    strlen(c[i].val), &cred, &clen);
		ck_assert_msg(clen == strlen(c[i].cred) &&
		    memcmp(cred, c[i].cred, clen) == 0, "case %zu: %.*s", i,
		    (int)clen, (const char *)cred);
		ck_assert(cred >= (const uint8_t *)c[i].val &&
		    cred + clen <= (const uint8_t *)c[i].val + strlen(c[i].val));
	}
	http_auth_credential(NULL, 0, &cred, &clen);
	ck_assert_uint_eq(clen, 0);
}
END_TEST

static Suite *
http_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("http");

	tc = tcase_create("request");
	tcase_add_loop_test(tc, test_ok_table, 0, nitems(ok_cases));
	tcase_add_loop_test(tc, test_ok_bytewise, 0, nitems(ok_cases));
	tcase_add_loop_test(tc, test_bad_table, 0, nitems(bad_cases));
	tcase_add_test(tc, test_not_http_early);
	tcase_add_test(tc, test_random_binary);
	tcase_add_test(tc, test_too_large);
	tcase_add_test(tc, test_field_count);
	tcase_add_test(tc, test_result_str);
	suite_add_tcase(s, tc);

	tc = tcase_create("body");
	tcase_add_loop_test(tc, test_body_table, 0, nitems(body_cases));
	tcase_add_test(tc, test_pipelined);
	tcase_add_test(tc, test_trailer_limits);
	tcase_add_test(tc, test_smuggle_hidden_request);
	tcase_add_test(tc, test_upgrade_h2c);
	suite_add_tcase(s, tc);

	tc = tcase_create("rewrite");
	tcase_add_loop_test(tc, test_head_field, 0, nitems(field_cases));
	tcase_add_loop_test(tc, test_set_field, 0, nitems(set_cases));
	tcase_add_loop_test(tc, test_set_field_clients, 0, nitems(ok_cases));
	tcase_add_test(tc, test_set_field_cap);
	tcase_add_test(tc, test_set_field_refused);
	tcase_add_test(tc, test_set_field_count);
	tcase_add_test(tc, test_auth_credential);
	suite_add_tcase(s, tc);

	tc = tcase_create("status");
	tcase_add_loop_test(tc, test_status_table, 0, nitems(status_cases));
	suite_add_tcase(s, tc);

	return s;
}

CHECK_MAIN(http_suite)
