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

# early_bytes PROTO PORT HOST P1 P2 WHAT: drops PROTO to PORT in the fake
# internet for 0.6 s while a client sends GET P1 for HOST and, 0.3 s
# later, GET P2 on the same connection, before egressd could relay
# either (WHAT: what it was waiting for).  Both must be answered, P2 judged
# on its own, and egressd must not spin on the unread bytes meanwhile: a
# spin would take a core for the second or more the wait lasts.
early_bytes() {
  local rule=(INPUT -p "$1" --dport "$2") t0 t1 pypid res
  [ "$1" = tcp ] && rule+=(--syn)
  netx iptables -w -I "${rule[@]}" -j DROP
  t0=$(awk '{print $14 + $15}' "/proc/$(egressd_pid)/stat")
  sbx_py "$IP_A" "$3" "$4" "$5" >"$E2E_TMP/early.out" 2>&1 <<PYEOF &
$PY_PRELUDE
import time
s = connect(sys.argv[1], 80)
head = "GET %s HTTP/1.1\r\nHost: " + sys.argv[2] + "\r\n\r\n"
s.sendall((head % sys.argv[3]).encode())
time.sleep(0.3)
s.sendall((head % sys.argv[4]).encode())
# both answers may come in one read: count them in what arrives
s.settimeout(8)
got = b""
try:
    while got.count(b"HTTP/1.1 200 OK") < 2:
        d = s.recv(65536)
        if not d:
            break
        got += d
except OSError as x:
    print("failed:", repr(x))
print("answers:", got.count(b"HTTP/1.1 200 OK"))
PYEOF
  pypid=$!
  sleep 0.6
  netx iptables -w -D "${rule[@]}" -j DROP
  wait "$pypid"
  t1=$(awk '{print $14 + $15}' "/proc/$(egressd_pid)/stat")
  res=$(cat "$E2E_TMP/early.out")
  expect_contains "answers: 2" "$res" "both requests answered once the $6 was done"
  expect_event "e['action']=='allow' and e.get('path')=='$5'" "the early request was judged: its own allow event" >/dev/null
  if [ $((t1 - t0)) -gt 50 ]; then
    ck_fail "egressd used $((t1 - t0)) ticks of CPU while the $6 waited"
  fi
}

# The client speaks again while egressd is still connecting upstream (the
# first SYN dropped, the connect waits for its retransmission), and while
# it is still looking the name up (destination verify, the first answer
# dropped): the early bytes wait, unread, and are judged once the relay
# starts (proxy/conn.c conn_io_cb).
case_begin http_client_speaks_while_connecting
early_bytes tcp 80 allowed.example.com /kearly1 /kearly2 connect
case_end

case_begin http_client_speaks_while_resolving
early_bytes udp 53 a.wild.example.org /kres1 /kres2 look-up
case_end
