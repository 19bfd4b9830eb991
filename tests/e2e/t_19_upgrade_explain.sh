#!/usr/bin/env bash
# Upgrade (101 then plain splicing) and deny_response (docs/config.md):
# explain (HTTP 403 naming host and reason, TLS access_denied alert).
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_case_env

case_begin http_upgrade_then_tunnel
out=$(sbx_py <<PY 2>&1
import socket
s = socket.create_connection(("$IP_A", 80), timeout=5)
s.sendall(b"GET /ws HTTP/1.1\r\nHost: allowed.example.com\r\nUpgrade: websocket\r\n"
          b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
          b"Sec-WebSocket-Version: 13\r\n\r\n")
r = b""
while b"\r\n\r\n" not in r:
    r += s.recv(4096)
print("status:", r.split(b"\r\n")[0].decode())
# Frames that are not HTTP at all must now pass untouched, both ways.
msg = bytes(range(256)) * 64 + b"GET / HTTP/1.1\r\nHost: denied.example.com\r\n\r\n"
s.sendall(msg)
got = b""
while len(got) < len(msg):
    d = s.recv(65536)
    if not d:
        break
    got += d
print("echo:", "intact" if got == msg else "broken %d/%d" % (len(got), len(msg)))
PY
)
expect_contains "status: HTTP/1.1 101" "$out" "101 answer"
expect_contains "echo: intact" "$out" "opaque bytes after 101 are spliced both ways"
expect_event "e['action']=='allow' and e.get('path')=='/ws' and h(e)=='allowed.example.com'" "allow event for the upgrade request"
if audit_find "e['action']=='deny' and h(e)=='denied.example.com' and e.get('proto')=='http'" 1 >/dev/null; then
  ck_fail "bytes after 101 were parsed as HTTP"
fi
case_end

cfg=$E2E_TMP/explain.yaml
cfg_write "$cfg"
sed -i 's/^deny_response: reset/deny_response: explain/' "$cfg"
egressd_restart "$cfg" || fail explain_setup "egressd did not start"

case_begin explain_http_403
out=$(sbx_curl -s -D - http://denied.example.com/ 2>&1); rc=$?
expect_eq 0 "$rc" "curl exit (out: $out)"
expect_contains "403 Forbidden" "$out" "status"
expect_contains "denied.example.com denied (no-matching-allow)" "$out" "body names host and reason"
case_end

case_begin explain_tls_alert
out=$(sbx_curl https://denied.example.com/ 2>&1); rc=$?
expect_eq 35 "$rc" "curl exit (out: $out)"
expect_match "access denied|alert" "$out" "TLS alert"
case_end
