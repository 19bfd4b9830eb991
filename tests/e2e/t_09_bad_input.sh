#!/usr/bin/env bash
# Malformed TLS / HTTP and silent clients are denied with the right reason; the daemon keeps serving.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_case_env

# send_raw IP PORT HEXBYTES [half-close 0|1] [wait_s]: prints "<outcome> <nbytes> <seconds>"
send_raw() {
  sbx_py "$@" <<PYEOF
$PY_PRELUDE
ip, port, payload = sys.argv[1], int(sys.argv[2]), bytes.fromhex(sys.argv[3])
half = len(sys.argv) > 4 and sys.argv[4] == "1"
wait = float(sys.argv[5]) if len(sys.argv) > 5 else 5
s = connect(ip, port)
t0 = time.time()
if payload:
    s.sendall(payload)
if half:
    s.shutdown(socket.SHUT_WR)
how, data = outcome(s, timeout=wait)
print(how, len(data), "%.2f" % (time.time() - t0))
PYEOF
}

# A ClientHello record whose body is internally truncated (the handshake says
# 4 bytes: a version and 2 bytes of a 32-byte random).
case_begin bad_tls_truncated_hello
res=$(send_raw "$IP_A" 443 160301000801000004030300ff)
expect_match "^reset 0 " "$res" "outcome (how bytes seconds)"
if expect_event "e['action']=='deny' and e.get('dst')=='203.0.113.10:443' and e.get('reason')=='bad-tls'" "deny bad-tls"; then
  expect_json "$EV" "e.get('host') is None" "host null"
fi
case_end

# 16 03 01 00 05 01 00 00 ff ff: a handshake record claiming a 255-byte
# ClientHello, then the client closes its side: the hello can never complete.
case_begin bad_tls_garbage_record
res=$(send_raw "$IP_A" 443 1603010005010000ffff 1)
expect_match "^reset 0 " "$res" "outcome (how bytes seconds)"
expect_event "e['action']=='deny' and e.get('dst')=='203.0.113.10:443' and e.get('reason')=='bad-tls'" "deny bad-tls"
case_end

case_begin bad_http_duplicate_host
req=$(printf 'GET /duphost HTTP/1.1\r\nHost: allowed.example.com\r\nHost: allowed.example.com\r\n\r\n' | od -An -tx1 | tr -d ' \n')
res=$(send_raw "$IP_A" 80 "$req")
expect_match "^reset 0 " "$res" "outcome (how bytes seconds)"
if expect_event "e['action']=='deny' and e.get('dst')=='203.0.113.10:80' and e.get('reason')=='bad-http'" "deny bad-http"; then
  expect_json "$EV" "e.get('proto')=='http'" "proto"
fi
case_end

case_begin bad_http_missing_host
req=$(printf 'GET /nohost HTTP/1.1\r\nUser-Agent: t\r\n\r\n' | od -An -tx1 | tr -d ' \n')
res=$(send_raw "$IP_A" 80 "$req")
expect_match "^reset 0 " "$res" "outcome (how bytes seconds)"
expect_event "e['action']=='deny' and e.get('dst')=='203.0.113.10:80' and e.get('reason')=='bad-http'" "deny bad-http"
case_end

case_begin bad_http_cl_and_chunked
req=$(printf 'POST /amb HTTP/1.1\r\nHost: allowed.example.com\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' | od -An -tx1 | tr -d ' \n')
res=$(send_raw "$IP_A" 80 "$req")
expect_match "^reset 0 " "$res" "outcome (how bytes seconds)"
expect_event "e['action']=='deny' and e.get('dst')=='203.0.113.10:80' and e.get('reason')=='bad-http'" "deny bad-http"
case_end

# Silent client to a destination no cidr allows: after peek_timeout_ms (1 s) it
# is `other` and denied; well before 2x the timeout.
case_begin silent_client_denied
res=$(send_raw "$IP_A" 443 "" 0 5)
expect_match "^reset 0 " "$res" "outcome (how bytes seconds)"
secs=${res##* }
if [ -n "$secs" ] && ! awk -v s="$secs" 'BEGIN { exit !(s >= 0.8 && s <= 2.5) }'; then
  ck_fail "reset after ${secs}s; expected about peek_timeout_ms (1 s), at most 2x + margin"
fi
if expect_event "e['action']=='deny' and e.get('dst')=='203.0.113.10:443'" "deny event"; then
  expect_json "$EV" "e.get('reason')=='peek-timeout' or (e.get('reason')=='no-matching-allow' and e.get('proto')=='other')" "reason peek-timeout, or no-matching-allow with proto other"
  expect_json "$EV" "e.get('host') is None" "host null"
fi
case_end

# A sandbox process that dials egressd's own listener (loopback is not
# redirected) from its sandbox address: egressd must refuse to dial
# itself, or one connection would become an endless chain of its own.
case_begin own_listener_refused_as_loop
res=$(sbx_py "$SBX_IP" 2>&1 <<PYEOF
$PY_PRELUDE
s = socket.socket()
s.bind((sys.argv[1], 0))
s.settimeout(5)
try:
    s.connect(("127.0.0.1", 15001))
    s.sendall(b"GET / HTTP/1.1\r\nHost: allowed.example.com\r\n\r\n")
except ConnectionResetError:
    print("reset 0")    # refused at accept, before the request went
    sys.exit(0)
how, data = outcome(s, timeout=5)
print(how, len(data))
PYEOF
)
expect_match "^reset 0" "$res" "the connection is reset ($res)"
expect_event "e['action']=='deny' and e.get('reason')=='loop' and e.get('dst')=='127.0.0.1:15001'" "deny loop" >/dev/null
case_end

case_begin still_serving_after_bad_input
out=$(sbx_curl https://allowed.example.com/ 2>&1); rc=$?
expect_eq 0 "$rc" "curl exit code"
expect_eq "hello from allowed.example.com" "$out" "body"
egressd_alive || ck_fail "egressd is no longer running"
case_end
