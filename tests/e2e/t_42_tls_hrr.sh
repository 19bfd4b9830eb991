#!/usr/bin/env bash
# Domain fronting through a HelloRetryRequest: a spliced TLS 1.3
# connection is judged by its first ClientHello, but a server that answers
# with a HelloRetryRequest gets a second one, and a client that names
# another host there would reach it on the allowed host's address.  egressd
# reads the server's first record; after a HelloRetryRequest the second
# ClientHello (after any ChangeCipherSpec) must name the same host, or the
# connection is reset (deny, bad-tls) before it reaches the server.
# The server here is a stand-in that answers any ClientHello with a
# HelloRetryRequest and logs what comes next; the client writes raw
# records (python3 only).
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_case_env

PORT=4443
LOG=$E2E_TMP/hrr-server.log
: >"$LOG"
netx "$E2E_PY" - "$PORT" "$LOG" >"$E2E_TMP/hrr-server.out" 2>&1 <<'PY' &
import socket, sys, threading, time
port, log = int(sys.argv[1]), sys.argv[2]
HRR_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")
def record(s):
    hdr = b""
    while len(hdr) < 5:
        d = s.recv(5 - len(hdr))
        if not d: return None
        hdr += d
    n = hdr[3] << 8 | hdr[4]
    body = b""
    while len(body) < n:
        d = s.recv(n - len(body))
        if not d: return None
        body += d
    return hdr + body
def serve(c):
    c.settimeout(3)
    try:
        if record(c) is None: return
        # ServerHello with the HelloRetryRequest random: version, random,
        # empty session id, TLS_AES_128_GCM_SHA256, no compression,
        # supported_versions 1.3 and key_share asking for secp256r1.
        body = (b"\x03\x03" + HRR_RANDOM + b"\x00" + b"\x13\x01" + b"\x00" +
                b"\x00\x0c" + b"\x00\x2b\x00\x02\x03\x04" + b"\x00\x33\x00\x02\x00\x17")
        hs = b"\x02" + len(body).to_bytes(3, "big") + body
        # a moment to think: a client that does not wait for the answer
        # has its next bytes arrive while egressd holds them back
        time.sleep(0.4)
        c.sendall(b"\x16\x03\x03" + len(hs).to_bytes(2, "big") + hs)
        got = b""
        try:
            while True:
                d = c.recv(65536)
                if not d: break
                got += d
        except OSError:
            pass
        with open(log, "a") as f:
            f.write("second %d %s\n" % (len(got), "evil" if b"evil.example.com" in got else
                    ("same" if b"allowed.example.com" in got else "none")))
    finally:
        c.close()
ls = socket.socket(socket.AF_INET6)
ls.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("::", port)); ls.listen(16)
print("ready", flush=True)
while True:
    c, _ = ls.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
register_pid $!
for _ in $(seq 1 50); do grep -q ready "$E2E_TMP/hrr-server.out" 2>/dev/null && break; sleep 0.1; done

# client SNI2 [early]: first ClientHello for allowed.example.com, the
# server's answer, then a ChangeCipherSpec and a second ClientHello for
# SNI2; prints "answer N" and how the connection ended ("then ...").
# With "early" all three go in one write before the answer, with "split"
# the second write follows the first 0.1 s later, still before the
# answer; both print how the connection ended ("end ...").
client() {
  sbx "$E2E_PY" - "$IP_A" "$PORT" "$1" "${2:-}" 2>&1 <<'PY'
import os, socket, sys, time
ip, port, sni2, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
def hello(name):
    n = name.encode()
    ext = b""
    sn = b"\x00" + len(n).to_bytes(2, "big") + n
    sn = len(sn).to_bytes(2, "big") + sn
    ext += b"\x00\x00" + len(sn).to_bytes(2, "big") + sn
    ext += b"\x00\x2b\x00\x03\x02\x03\x04"                      # supported_versions 1.3
    ext += b"\x00\x0a\x00\x04\x00\x02\x00\x1d"                  # supported_groups x25519
    ext += b"\x00\x0d\x00\x04\x00\x02\x08\x04"                  # signature_algorithms
    ks = b"\x00\x1d\x00\x20" + os.urandom(32)
    ext += b"\x00\x33" + (len(ks) + 2).to_bytes(2, "big") + len(ks).to_bytes(2, "big") + ks
    body = (b"\x03\x03" + os.urandom(32) + b"\x20" + os.urandom(32) +
            b"\x00\x02\x13\x01" + b"\x01\x00" + len(ext).to_bytes(2, "big") + ext)
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + len(hs).to_bytes(2, "big") + hs
s = socket.create_connection((ip, port), timeout=5)
if mode in ("early", "split"):
    second = b"\x14\x03\x03\x00\x01\x01" + hello(sni2)
    if mode == "early":
        s.sendall(hello("allowed.example.com") + second)
    else:
        s.sendall(hello("allowed.example.com"))
        time.sleep(0.1)
        s.sendall(second)
    s.settimeout(3)
    got = b""
    try:
        while True:
            d = s.recv(4096)
            if not d: break
            got += d
        print("end eof", len(got))
    except ConnectionResetError:
        print("end reset", len(got))
    except OSError as e:
        print("end", e.__class__.__name__, len(got))
    sys.exit(0)
s.sendall(hello("allowed.example.com"))
ans = b""
try:
    while len(ans) < 5 or len(ans) < 5 + (ans[3] << 8 | ans[4]):
        d = s.recv(4096)
        if not d: break
        ans += d
except OSError as e:
    print("answer error", e.__class__.__name__); sys.exit(0)
print("answer", len(ans), "hrr" if ans[11:43].hex().startswith("cf21ad74") else "other")
try:
    s.sendall(b"\x14\x03\x03\x00\x01\x01" + hello(sni2))
    s.settimeout(3)
    d = s.recv(4096)
    print("then", "eof" if not d else "data")
except ConnectionResetError:
    print("then reset")
except OSError as e:
    print("then", e.__class__.__name__)
PY
}

# second_seen WHAT MSG: waits for the stand-in server's note on what
# followed its HelloRetryRequest; WHAT is same, evil or none.
second_seen() {
  for _ in $(seq 1 40); do grep -q second "$LOG" && break; sleep 0.1; done
  expect_eq "$1" "$(awk '/^second/ {print $3}' "$LOG" | tail -n 1)" "$2 ($(cat "$LOG"))"
}

case_begin tls_hrr_same_name_passes
audit_mark
out=$(client allowed.example.com)
expect_contains "answer" "$out" "the server's HelloRetryRequest reached the client ($out)"
expect_contains "hrr" "$out" "it is one"
second_seen same "the server got the second ClientHello, same name"
expect_event "e['action']=='allow' and e.get('proto')=='tls' and e.get('dst')=='$IP_A:$PORT'" "allow event" >/dev/null
case_end

case_begin tls_hrr_switched_name_refused
: >"$LOG"
audit_mark
out=$(client evil.example.com)
expect_contains "hrr" "$out" "the HelloRetryRequest reached the client ($out)"
expect_contains "then reset" "$out" "the second ClientHello gets a reset"
second_seen none "the server never saw the second ClientHello"
if expect_event "e['action']=='deny' and e.get('reason')=='bad-tls' and e.get('dst')=='$IP_A:$PORT'" "deny event"; then
  expect_json "$EV" "e.get('host')=='allowed.example.com'" "names the host the connection was allowed for"
fi
case_end

# The same switch written ahead of the server's answer: in one go with
# the first ClientHello ("early": the bytes often arrive in the peek's own
# read), or in a write of its own while egressd holds the client back
# ("split").  They must wait for the server's first record like the rest
# of the client's side, then be judged as the answer to it.
hrr_written_ahead() { # MODE
  case_begin "tls_hrr_switch_${1}_refused"
  : >"$LOG"
  audit_mark
  out=$(client evil.example.com "$1")
  expect_contains "end reset" "$out" "the connection is reset ($out)"
  second_seen none "the server never saw the second ClientHello"
  expect_event "e['action']=='deny' and e.get('reason')=='bad-tls' and e.get('dst')=='$IP_A:$PORT'" "deny event" >/dev/null
  case_end

  case_begin "tls_hrr_same_name_${1}_passes"
  : >"$LOG"
  out=$(client allowed.example.com "$1")
  second_seen same "the server got the second ClientHello after its answer, client: $out"
  case_end
}
hrr_written_ahead early
hrr_written_ahead split
