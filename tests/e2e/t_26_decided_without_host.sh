#!/usr/bin/env bash
# Connections decided without their host (issue 8, docs/security.md):
#  - a cidr allow never skips `endpoints` (no accept-time decision where a
#    request rule could matter);
#  - a host the client only claimed on an accept-time decision is audited
#    as such (host_verified: false) and never keeps the flow alive through
#    a reload that removed the cidr that let it in;
#  - egressd's own look-ups never follow resolv.conf `search`.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_case_env

dns_line() {
  echo "dns: { listen: [\"127.0.0.1:15053\", \"[::1]:15053\"], servers: [\"${1:-$NET_IP}\"] }"
}

# ------------------------------------------------------------ cidr + endpoints
cfg=$E2E_TMP/cidr-endpoints.yaml
cat >"$cfg" <<EOF
listen: ["127.0.0.1:$E2E_PROXY_PORT", "[::1]:$E2E_PROXY_PORT"]
upstream: { mark: $E2E_MARK, connect_timeout_ms: 2000 }
$(dns_line)
audit: { file: $E2E_AUDIT }
limits: { peek_timeout_ms: 1000 }
policies:
  agent:
    allow: { cidrs: ["203.0.113.0/24"] }
    endpoints:
      - host: allowed.example.com
        methods: [GET]
        paths: ["/v1/*"]
sandboxes:
  - id: sbx-1
    policies: [agent]
EOF

case_begin cidr_allow_still_applies_endpoints
if egressd_restart "$cfg" 2>"$E2E_TMP/start.err"; then
  out=$(sbx_curl -X POST -d x http://allowed.example.com/admin 2>&1); rc=$?
  [ "$rc" = 0 ] && ck_fail "POST /admin passed a GET /v1/* endpoint rule (out: $out)"
  expect_event "e['action']=='deny' and e.get('method')=='POST' and e.get('path')=='/admin'" \
    "deny event for POST /admin" >/dev/null
  out=$(sbx_curl http://allowed.example.com/v1/models 2>&1); rc=$?
  expect_eq 0 "$rc" "GET /v1/models is allowed (out: $out)"
  expect_event "e['action']=='allow' and e.get('method')=='GET' and e.get('path')=='/v1/models'" \
    "allow event for GET /v1/models" >/dev/null
else
  ck_fail "egressd did not start: $(cat "$E2E_TMP/start.err")"
fi
case_end

# ------------------------------------------- a claimed host on a cidr decision
cfg=$E2E_TMP/claimed.yaml
write_claimed() {  # $1: the cidr rule line (or nothing)
  cat >"$cfg" <<EOF
listen: ["127.0.0.1:$E2E_PROXY_PORT", "[::1]:$E2E_PROXY_PORT"]
upstream: { mark: $E2E_MARK, connect_timeout_ms: 2000 }
$(dns_line)
audit: { file: $E2E_AUDIT }
limits: { peek_timeout_ms: 1000 }
policies:
  agent:
    allow:
      hosts: ["allowed.example.com"]
$1
sandboxes:
  - id: sbx-1
    policies: [agent]
EOF
}

case_begin claimed_host_is_not_verified_and_never_widens_a_reload
write_claimed '      cidrs: ["203.0.113.30/32"]'
if egressd_restart "$cfg" 2>"$E2E_TMP/start.err"; then
  # TLS to 203.0.113.30 (allowed by cidr only) claiming allowed.example.com;
  # the connection is held open while the cidr is taken away.
  sbx_py "$IP_C" "$E2E_TMP/claimed.ready" "$E2E_TMP/claimed.go" >"$E2E_TMP/claimed.out" 2>&1 <<PYEOF &
$PY_PRELUDE
import os, ssl
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = ctx.wrap_socket(connect(sys.argv[1], 443), server_hostname="allowed.example.com")
s.sendall(b"GET / HTTP/1.1\r\nHost: allowed.example.com\r\n\r\n")
s.settimeout(5)
first = s.recv(65536)
open(sys.argv[2], "w").write("up\n")
for _ in range(100):               # at most 10 s for the reload
    if os.path.exists(sys.argv[3]):
        break
    time.sleep(0.1)
time.sleep(1.0)
try:
    s.sendall(b"GET / HTTP/1.1\r\nHost: allowed.example.com\r\n\r\n")
    s.settimeout(3)
    d = s.recv(65536)
    print("alive" if d else "eof")
except (ConnectionResetError, ssl.SSLError, OSError) as x:
    print("cut", type(x).__name__)
PYEOF
  cpid=$!
  for ((i = 0; i < 50; i++)); do [ -s "$E2E_TMP/claimed.ready" ] && break; sleep 0.1; done
  [ -s "$E2E_TMP/claimed.ready" ] || ck_fail "the held TLS connection did not come up: $(cat "$E2E_TMP/claimed.out")"
  if expect_event "e['action']=='allow' and e.get('dst')=='203.0.113.30:443'" "allow event"; then
    expect_json "$EV" "e.get('host')=='allowed.example.com' and e.get('host_verified') is False" \
      "the claimed host is audited with host_verified false"
  fi
  write_claimed ""
  kill -HUP "$(egressd_pid)"
  sleep 0.5
  touch "$E2E_TMP/claimed.go"
  wait "$cpid"
  expect_match "^cut|^eof" "$(cat "$E2E_TMP/claimed.out")" "the flow is cut once its cidr is gone"
  if expect_event "e['action']=='end' and e.get('dst')=='203.0.113.30:443'" "end event"; then
    expect_json "$EV" "e.get('reason')=='revoked' and e.get('host_verified') is False" \
      "end event: revoked, host_verified false"
  fi
else
  ck_fail "egressd did not start: $(cat "$E2E_TMP/start.err")"
fi
case_end

# --------------------------------------------- resolv.conf search and ndots:5
# ip netns exec lays /etc/netns/NAME/resolv.conf over /etc/resolv.conf. A
# resolver in the fake internet answers every name under search.test with
# the "denied" address: a wildcard record in a search domain.
case_begin own_lookups_ignore_resolv_conf_search
nsdir=/etc/netns/$E2E_SBX
mkdir -p "$nsdir"
printf 'search search.test\noptions ndots:5\nnameserver %s\n' "$NET_IP" >"$nsdir/resolv.conf"
netx "$E2E_PY" - "$NET_IP" 5300 "$IP_A" "$IP_D" >"$E2E_TMP/wilddns.log" 2>&1 <<'PYEOF' &
import socket, struct, sys, time
ip, port, good, evil = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((ip, port))
s.settimeout(1)
end = time.time() + 60
while time.time() < end:
    try:
        q, peer = s.recvfrom(512)
    except socket.timeout:
        continue
    qid, flags = struct.unpack("!HH", q[:4])
    i, labels = 12, []
    while q[i]:
        labels.append(q[i + 1:i + 1 + q[i]].decode().lower()); i += 1 + q[i]
    qtype = struct.unpack("!H", q[i + 1:i + 3])[0]
    question = q[12:i + 5]
    name = ".".join(labels)
    print("query", name, qtype, flush=True)
    addr = evil if name.endswith(".search.test") else good if name == "allowed.example.com" else None
    if addr is None:
        s.sendto(struct.pack("!HHHHHH", qid, 0x8183, 1, 0, 0, 0) + question, peer)
    elif qtype != 1:
        s.sendto(struct.pack("!HHHHHH", qid, 0x8180, 1, 0, 0, 0) + question, peer)
    else:
        ans = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton(addr)
        s.sendto(struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0) + question + ans, peer)
PYEOF
dpid=$!
register_pid "$dpid"
cfg=$E2E_TMP/search.yaml
cfg_write "$cfg"
sed -i "s|servers: \[\"$NET_IP\"\]|servers: [\"$NET_IP:5300\"]|" "$cfg"
if egressd_restart "$cfg" 2>"$E2E_TMP/start.err"; then
  # The client never asked the DNS filter, so egressd looks the name up
  # itself: it must ask for allowed.example.com, not allowed.example.com.search.test.
  out=$(sbx_curl --resolve "allowed.example.com:443:$IP_D" https://allowed.example.com/ 2>&1); rc=$?
  [ "$rc" = 0 ] && ck_fail "a search-domain wildcard vouched for $IP_D (out: $out)"
  expect_event "e['action']=='deny' and e.get('reason')=='destination-mismatch' and e.get('dst')=='$IP_D:443'" \
    "destination-mismatch" >/dev/null
  out=$(sbx_curl https://allowed.example.com/ 2>&1); rc=$?
  expect_eq 0 "$rc" "the real address still verifies (out: $out)"
  grep -q "search.test" "$E2E_TMP/wilddns.log" && ck_fail "egressd asked a search-domain name: $(grep search.test "$E2E_TMP/wilddns.log" | head -2)"
else
  ck_fail "egressd did not start: $(cat "$E2E_TMP/start.err")"
fi
egressd_stop
kill_pid "$dpid" 5
rm -rf "$nsdir"
case_end


# ------------------------------------------------------- no h2c after a 101
# HTTP/2 over an upgraded connection would carry requests egressd never
# judges; an Upgrade to h2c is refused whatever else the request says.
case_begin upgrade_to_h2c_is_refused
egressd_restart "$E2E_CFG_DEFAULT" 2>"$E2E_TMP/start.err" || ck_fail "egressd did not start: $(cat "$E2E_TMP/start.err")"
out=$(sbx_curl --http2 http://allowed.example.com/ 2>&1); rc=$?
[ "$rc" = 0 ] && ck_fail "curl --http2 (Upgrade: h2c) got through (out: $out)"
expect_event "e['action']=='deny' and e.get('reason')=='protocol-not-allowed' and e.get('host')=='allowed.example.com'" \
  "deny event, reason protocol-not-allowed" >/dev/null
out=$(sbx_curl http://allowed.example.com/ 2>&1); rc=$?
expect_eq 0 "$rc" "plain HTTP/1.1 to the same host still works (out: $out)"
case_end
