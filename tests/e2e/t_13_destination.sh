#!/usr/bin/env bash
# docs/config.md: a SNI is only a claim.  verify denies a name sent to an address
# it does not resolve to; redial dials the name's real address instead; a
# host rule never reaches a private address without allow_private.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_case_env

case_begin verify_sni_spoof_denied
# allowed.example.com resolves to $IP_A; the client dials $IP_D with its name.
out=$(sbx_curl --resolve "allowed.example.com:443:$IP_D" https://allowed.example.com/ 2>&1); rc=$?
expect_rc_in "35 56" "$rc" "curl exit code (out: $out)"
if expect_event "e['action']=='deny' and h(e)=='allowed.example.com'" "deny event"; then
  expect_json "$EV" "e.get('reason')=='destination-mismatch'" "reason"
  expect_json "$EV" "e.get('dst')=='$IP_D:443'" "dst"
fi
case_end

case_begin verify_http_host_spoof_denied
out=$(sbx_curl --resolve "allowed.example.com:80:$IP_D" http://allowed.example.com/ 2>&1); rc=$?
expect_rc_in "52 56" "$rc" "curl exit code (out: $out)"
expect_event "e['action']=='deny' and h(e)=='allowed.example.com' and e.get('reason')=='destination-mismatch' and e.get('proto')=='http'" "deny event"
case_end

case_begin verify_keepalive_second_host_spoof
# Request 1 is honest; request 2 on the same connection names an allowed
# host that lives at another address: judged (and verified) on its own.
out=$(sbx_py <<PY 2>&1
import socket
s = socket.create_connection(("$IP_A", 80), timeout=5)
s.sendall(b"GET /a HTTP/1.1\r\nHost: allowed.example.com\r\n\r\n")
r = b""
while b"\r\n\r\n" not in r:
    r += s.recv(65536)
head, body = r.split(b"\r\n\r\n", 1)
cl = [int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0]
while len(body) < cl:
    body += s.recv(65536)
print("first:", r[:12])
try:    # the reset may land on the send as well as on the read
    s.sendall(b"GET /b HTTP/1.1\r\nHost: elsewhere.wild.example.org\r\n\r\n")
    r2 = s.recv(65536)
    print("second:", r2[:12] if r2 else "eof")
except socket.timeout:
    print("second: timeout")
except OSError:
    print("second: reset")
PY
)
expect_contains "first: b'HTTP/1" "$out" "first response"
expect_match "second: (reset|eof)" "$out" "second request refused"
expect_event "e['action']=='deny' and h(e)=='elsewhere.wild.example.org' and e.get('reason')=='destination-mismatch' and e.get('path')=='/b'" "deny event for request 2"
case_end

case_begin verify_ok_after_fresh_lookup
out=$(sbx_curl https://a.wild.example.org/ 2>&1); rc=$?
expect_eq 0 "$rc" "curl exit code (out: $out)"
expect_contains "hello from a.wild.example.org" "$out" "body"
case_end

case_begin private_destination_denied
out=$(sbx_curl --resolve "private.example.com:80:$IP_P" http://private.example.com/ 2>&1); rc=$?
expect_rc_in "52 56" "$rc" "curl exit code (out: $out)"
expect_event "e['action']=='deny' and h(e)=='private.example.com' and e.get('reason')=='private-destination'" "deny event"
case_end

cfg=$E2E_TMP/private.yaml
cfg_write "$cfg" private
egressd_restart "$cfg" || fail private_destination_allowed "restart failed"

case_begin private_destination_allowed
out=$(sbx_curl --resolve "private.example.com:80:$IP_P" http://private.example.com/ 2>&1); rc=$?
expect_eq 0 "$rc" "curl exit code (out: $out)"
expect_contains "hello from private.example.com" "$out" "body"
case_end

cfg=$E2E_TMP/redial.yaml
cfg_write "$cfg" redial
egressd_restart "$cfg" || fail redial_goes_to_real_address "restart failed"

case_begin redial_goes_to_real_address
out=$(sbx_curl --resolve "allowed.example.com:443:$IP_D" https://allowed.example.com/ 2>&1); rc=$?
expect_eq 0 "$rc" "curl exit code (out: $out)"
expect_contains "hello from allowed.example.com" "$out" "body"
if expect_event "e['action']=='allow' and h(e)=='allowed.example.com'" "allow event"; then
  expect_json "$EV" "e.get('dst')=='$IP_A:443'" "dst is the real address"
fi
case_end

