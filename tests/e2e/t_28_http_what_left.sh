#!/usr/bin/env bash
# The audit says what left (docs/audit.md): requests allowed before a
# refused one in the same write still go out, and their allow events are
# true; the refusal follows once they have left.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_case_env

# A server in the fake internet that writes down every request line.
netx "$E2E_PY" - "$IP_C" 8080 "$E2E_TMP/seen.log" >"$E2E_TMP/seen.err" 2>&1 <<'PYEOF' &
import socket, sys, threading, time
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((sys.argv[1], int(sys.argv[2]))); ls.listen(64); ls.settimeout(1)
log = open(sys.argv[3], "a", buffering=1)
def serve(c):
    c.settimeout(5)
    buf = b""
    try:
        while True:
            d = c.recv(65536)
            if not d:
                break
            buf += d
            while b"\r\n\r\n" in buf:
                head, buf = buf.split(b"\r\n\r\n", 1)
                log.write(head.split(b"\r\n")[0].decode("latin-1") + "\n")
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
    except OSError:
        pass
    c.close()
end = time.time() + 60
while time.time() < end:
    try:
        c, _ = ls.accept()
    except socket.timeout:
        continue
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PYEOF
spid=$!
register_pid "$spid"
sleep 0.5

# one write, two requests: the first allowed, the second refused
two_in_one() {  # $1: the second request's head
  sbx_py "$IP_C" 8080 "$1" <<PYEOF
$PY_PRELUDE
s = connect(sys.argv[1], int(sys.argv[2]))
s.sendall(b"GET /first HTTP/1.1\r\nHost: $IP_C\r\n\r\n" + sys.argv[3].encode().replace(b"\\\\r\\\\n", b"\r\n"))
how, buf = outcome(s, 3)
print(how)
PYEOF
}

case_begin allowed_then_malformed_in_one_write
: >"$E2E_TMP/seen.log"
two_in_one 'GET /x HTTP/1.1\r\nHost: a..b\r\n\r\n' >/dev/null
for ((i = 0; i < 30; i++)); do grep -q "GET /first" "$E2E_TMP/seen.log" && break; sleep 0.1; done
grep -q "GET /first" "$E2E_TMP/seen.log" || ck_fail "the allowed first request never reached the server"
grep -q "GET /x" "$E2E_TMP/seen.log" && ck_fail "the malformed request reached the server"
expect_event "e['action']=='allow' and e.get('path')=='/first' and e.get('dst')=='$IP_C:8080'" "allow event for /first" >/dev/null
expect_event "e['action']=='deny' and e.get('reason')=='bad-http' and e.get('dst')=='$IP_C:8080'" "deny event, bad-http" >/dev/null
case_end

case_begin allowed_then_denied_by_rule_in_one_write
: >"$E2E_TMP/seen.log"
two_in_one 'GET /y HTTP/1.1\r\nHost: blocked.wild.example.org\r\n\r\n' >/dev/null
for ((i = 0; i < 30; i++)); do grep -q "GET /first" "$E2E_TMP/seen.log" && break; sleep 0.1; done
grep -q "GET /first" "$E2E_TMP/seen.log" || ck_fail "the allowed first request never reached the server"
grep -q "GET /y" "$E2E_TMP/seen.log" && ck_fail "the denied request reached the server"
expect_event "e['action']=='deny' and e.get('reason')=='denied-by-rule' and e.get('path')=='/y'" "deny event names the refused request" >/dev/null
case_end

kill_pid "$spid" 5
