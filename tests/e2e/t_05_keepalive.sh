#!/usr/bin/env bash
# Every request of a kept-alive HTTP connection is checked and audited (docs/config.md).
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_case_env

case_begin http_keepalive_two_allowed
out=$(sbx_curl -w '[%{num_connects}]\n' http://allowed.example.com/ka1 http://allowed.example.com/ka2 2>&1); rc=$?
expect_eq 0 "$rc" "curl exit code"
expect_eq $'hello from allowed.example.com\n[1]\nhello from allowed.example.com\n[0]' "$out" "bodies and connection reuse (second transfer: 0 new connects)"
if expect_event "e['action']=='allow' and e.get('proto')=='http' and e.get('path')=='/ka1'" "allow event /ka1"; then
  e1=$EV
  if expect_event "e['action']=='allow' and e.get('proto')=='http' and e.get('path')=='/ka2'" "allow event /ka2"; then
    c1=$(jf "$e1" conn); c2=$(jf "$EV" conn)
    expect_eq "$c1" "$c2" "conn id of the two requests"
    expect_json "$EV" "e.get('method')=='GET' and (e.get('host') or '').lower()=='allowed.example.com'" "second request fields"
  fi
fi
case_end

case_begin http_keepalive_second_denied
res=$(sbx_py "$IP_A" <<PYEOF
$PY_PRELUDE
s = connect(sys.argv[1], 80)
s.sendall(b"GET /kfirst HTTP/1.1\r\nHost: allowed.example.com\r\n\r\n")
try:
    status, body = read_response(s)
    print("first:", status, body.decode().strip())
except Exception as x:
    print("first: failed:", repr(x))
    sys.exit(0)
s.sendall(b"GET /ksecond HTTP/1.1\r\nHost: denied.example.com\r\n\r\n")
how, data = outcome(s, timeout=5)
print("second:", how, len(data))
PYEOF
)
expect_contains "first: HTTP/1.1 200 OK hello from allowed.example.com" "$res" "first request answered"
expect_contains "second: reset 0" "$res" "second request (Host denied.example.com) reset with no data"
if expect_event "e['action']=='allow' and e.get('path')=='/kfirst'" "allow event for the first request"; then
  c1=$(jf "$EV" conn)
  if expect_event "e['action']=='deny' and e.get('path')=='/ksecond'" "deny event for the second request"; then
    expect_json "$EV" "e.get('method')=='GET' and (e.get('host') or '').lower()=='denied.example.com' and e.get('proto')=='http'" "deny method/host/proto"
    expect_json "$EV" "e.get('reason')=='no-matching-allow'" "deny reason"
    expect_eq "$c1" "$(jf "$EV" conn)" "conn id of the deny (same connection)"
  fi
fi
case_end
