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

# The client speaks again while egressd is still connecting upstream (its
# first SYN is dropped, so the connect takes a retransmission): the early
# bytes wait, unread, without egressd spinning on them, and are judged
# once the relay starts (proxy/conn.c conn_io_cb).
case_begin http_client_speaks_while_connecting
netx iptables -w -I INPUT -p tcp --dport 80 --syn -j DROP
t0=$(awk '{print $14 + $15}' "/proc/$(egressd_pid)/stat")
sbx_py "$IP_A" >"$E2E_TMP/early.out" 2>&1 <<PYEOF &
$PY_PRELUDE
import time
s = connect(sys.argv[1], 80)
s.sendall(b"GET /kearly1 HTTP/1.1\r\nHost: allowed.example.com\r\n\r\n")
time.sleep(0.3)
s.sendall(b"GET /kearly2 HTTP/1.1\r\nHost: allowed.example.com\r\n\r\n")
# both answers may come in one read: count them in what arrives
s.settimeout(5)
got = b""
try:
    while got.count(b"hello from allowed.example.com") < 2:
        d = s.recv(65536)
        if not d:
            break
        got += d
except OSError as x:
    print("failed:", repr(x))
print("answers:", got.count(b"HTTP/1.1 200 OK"), got.count(b"hello from allowed.example.com"))
PYEOF
pypid=$!
sleep 0.6
netx iptables -w -D INPUT -p tcp --dport 80 --syn -j DROP
wait "$pypid"
t1=$(awk '{print $14 + $15}' "/proc/$(egressd_pid)/stat")
res=$(cat "$E2E_TMP/early.out")
expect_contains "answers: 2 2" "$res" "both requests answered after the slow connect, the one sent during it too"
expect_event "e['action']=='allow' and e.get('path')=='/kearly2'" "it was judged: its own allow event" >/dev/null
# A spin on the unread bytes would take a core for the ~1 s the connect
# waits; egressd idles instead (clock ticks of CPU, all threads).
if [ $((t1 - t0)) -gt 50 ]; then
  ck_fail "egressd used $((t1 - t0)) ticks of CPU while the connect waited"
fi
case_end

# The same while egressd is still looking the name up (destination
# verify, the first answer dropped): nothing reads the early bytes and
# nothing spins on them until the answer comes.
case_begin http_client_speaks_while_resolving
netx iptables -w -I INPUT -p udp --dport 53 -j DROP
t0=$(awk '{print $14 + $15}' "/proc/$(egressd_pid)/stat")
sbx_py "$IP_A" >"$E2E_TMP/early.out" 2>&1 <<PYEOF &
$PY_PRELUDE
import time
s = connect(sys.argv[1], 80)
s.sendall(b"GET /kres1 HTTP/1.1\r\nHost: a.wild.example.org\r\n\r\n")
time.sleep(0.3)
s.sendall(b"GET /kres2 HTTP/1.1\r\nHost: a.wild.example.org\r\n\r\n")
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
netx iptables -w -D INPUT -p udp --dport 53 -j DROP
wait "$pypid"
t1=$(awk '{print $14 + $15}' "/proc/$(egressd_pid)/stat")
res=$(cat "$E2E_TMP/early.out")
expect_contains "answers: 2" "$res" "both requests answered once the name resolved"
expect_event "e['action']=='allow' and e.get('path')=='/kres2'" "the early request was judged: its own allow event" >/dev/null
if [ $((t1 - t0)) -gt 50 ]; then
  ck_fail "egressd used $((t1 - t0)) ticks of CPU while the look-up waited"
fi
case_end
