#!/usr/bin/env bash
# docs/deploy.md, "Gateway recipe: many taps", as written there: a router
# namespace with two tap-named interfaces (veth pairs here, each leading
# to a sandbox namespace), IPv4 and IPv6 forwarding, `egress-redirect
# install --mode gateway --in-iface tap0 --in-iface tap1`, the DNS filter
# listening where the sandboxes reach it, `sources` per tap.  Also:
# gateway mode refuses to install without --in-iface, a second install
# keeps every interface, and the uplink is not captured.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_case_env

RTR=egs-trtr-$E2E_ID
TA=egs-ta-$E2E_ID
TB=egs-tb-$E2E_ID
RED=$E2E_ROOT/scripts/egress-redirect
GT_PID=
SRV_PID=
tg_cleanup() {
  local p ns
  [ -n "$GT_PID" ] && kill_pid "$GT_PID" 10
  [ -n "$SRV_PID" ] && kill_pid "$SRV_PID" 10
  ip -n "$E2E_NET" link del net-gt 2>/dev/null  # now, not when the kernel frees the netns
  for ns in "$TA" "$TB" "$RTR"; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  return 0
}
trap tg_cleanup EXIT
rtr() { ip netns exec "$RTR" "$@"; }

tg_setup() {
  local i ns
  ip netns add "$RTR" || return 1
  ip -n "$RTR" link set lo up
  # the recipe's first step: forwarding, both families
  rtr sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 || return 1
  # uplink: router <-> fake internet
  ip -n "$RTR" link add uplink0 type veth peer name net-gt netns "$E2E_NET" || return 1
  ip -n "$RTR" addr add 198.19.1.2/30 dev uplink0
  ip -n "$E2E_NET" addr add 198.19.1.1/30 dev net-gt
  ip -n "$RTR" addr add 2001:db8:ff01::2/64 dev uplink0 nodad
  ip -n "$E2E_NET" addr add 2001:db8:ff01::1/64 dev net-gt nodad
  ip -n "$RTR" link set uplink0 up
  ip -n "$E2E_NET" link set net-gt up
  ip -n "$RTR" route add default via 198.19.1.1 || return 1
  ip -n "$RTR" -6 route add default via 2001:db8:ff01::1 dev uplink0 || return 1
  # one tap per sandbox (a VM's tap device in real life)
  i=0
  for ns in "$TA" "$TB"; do
    ip netns add "$ns" || return 1
    ip -n "$ns" link set lo up
    ip -n "$RTR" link add "tap$i" type veth peer name eth0 netns "$ns" || return 1
    ip -n "$RTR" addr add "198.19.1$i.1/24" dev "tap$i"
    ip -n "$ns" addr add "198.19.1$i.2/24" dev eth0
    ip -n "$RTR" addr add "2001:db8:ff1$i::1/64" dev "tap$i" nodad
    ip -n "$ns" addr add "2001:db8:ff1$i::2/64" dev eth0 nodad
    ip -n "$RTR" link set "tap$i" up
    ip -n "$ns" link set eth0 up
    ip -n "$ns" route add default via "198.19.1$i.1" || return 1
    ip -n "$ns" -6 route add default via "2001:db8:ff1$i::1" dev eth0 || return 1
    i=$((i + 1))
  done
  cat >"$E2E_TMP/taps.yaml" <<YAML
listen: ["0.0.0.0:15001", "[::]:15001"]
upstream: { mark: 0x1e9d, connect_timeout_ms: 2000 }
dns:
  listen: ["0.0.0.0:15053", "[::]:15053"]
  servers: ["198.19.1.1"]
audit: { file: $E2E_TMP/taps-audit.jsonl }
limits: { peek_timeout_ms: 1000 }
policies:
  web:
    allow: { hosts: ["allowed.example.com"] }
  wild:
    allow: { hosts: ["*.wild.example.org"] }
sandboxes:
  - id: vm-a
    sources: ["198.19.10.0/24", "2001:db8:ff10::/64"]
    policies: [web]
  - id: vm-b
    sources: ["198.19.11.0/24", "2001:db8:ff11::/64"]
    policies: [wild]
YAML
  rtr "$E2E_EGRESSD" -c "$E2E_TMP/taps.yaml" >>"$E2E_TMP/taps.log" 2>&1 &
  GT_PID=$!
  register_pid "$GT_PID"
  for ((i = 0; i < 50; i++)); do
    rtr ss -ltnH "( sport = :15001 )" | grep -q . && return 0
    sleep 0.1
  done
  return 1
}

tcurl() { # tcurl NS URL...: curl from a tap sandbox, test names resolved
  local ns=$1; shift
  ip netns exec "$ns" curl -sS --max-time 8 --cacert "$E2E_CA" \
    --resolve "allowed.example.com:443:$IP_A" --resolve "a.wild.example.org:443:$IP_A" "$@"
}
tg_event() { # tg_event PYEXPR
  local i
  for ((i = 0; i < 30; i++)); do
    "$E2E_PY" - "$E2E_TMP/taps-audit.jsonl" "$1" <<'PY' && return 0
import json, os, sys
for line in open(sys.argv[1]) if os.path.exists(sys.argv[1]) else []:
    e = json.loads(line)
    if eval(sys.argv[2]):
        print(line.strip()); sys.exit(0)
sys.exit(1)
PY
    sleep 0.1
  done
  return 1
}

case_begin gateway_taps_setup
tg_setup || ck_fail "topology or egressd did not come up: $(tail -5 "$E2E_TMP/taps.log" 2>/dev/null)"
case_end

case_begin gateway_refuses_without_in_iface
out=$(rtr "$RED" install --mode gateway --proxy-port 15001 --dns-port 15053 2>&1); rc=$?
expect_eq 1 "$rc" "exit code ($out)"
expect_contains "--mode gateway needs --in-iface IF" "$out" "clear error"
expect_contains "uplink" "$out" "says why"
n=$(rtr iptables -t nat -S PREROUTING | grep -c -- '-j EGRESSD' || true)
expect_eq 0 "$n" "nothing installed"
case_end

case_begin gateway_in_iface_repeatable
out=$(rtr "$RED" install --mode gateway --in-iface tap0 --in-iface tap1 \
  --proxy-port 15001 --dns-port 15053 2>&1); rc=$?
expect_eq 0 "$rc" "install ($out)"
# installed twice: still one jump per interface and family, none lost
rtr "$RED" install --mode gateway --in-iface tap0 --in-iface tap1 \
  --proxy-port 15001 --dns-port 15053 >/dev/null 2>&1 || ck_fail "second install failed"
for ipt in iptables ip6tables; do
  for ifc in tap0 tap1; do
    n=$(rtr "$ipt" -t nat -S PREROUTING | grep -c -- "-i $ifc -j EGRESSD\$" || true)
    expect_eq 1 "$n" "$ipt nat PREROUTING jumps for $ifc"
    n=$(rtr "$ipt" -t filter -S FORWARD | grep -c -- "-i $ifc -j EGRESSD_F\$" || true)
    expect_eq 1 "$n" "$ipt filter FORWARD jumps for $ifc"
  done
  n=$(rtr "$ipt" -t nat -S PREROUTING | grep -c -- "-i uplink0" || true)
  expect_eq 0 "$n" "$ipt: the uplink has no jump"
done
case_end

case_begin gateway_taps_each_sandbox_own_policy
out=$(tcurl "$TA" https://allowed.example.com/ 2>&1); rc=$?
expect_eq 0 "$rc" "vm-a (tap0) to allowed.example.com (out: $out)"
out=$(tcurl "$TB" https://a.wild.example.org/ 2>&1); rc=$?
expect_eq 0 "$rc" "vm-b (tap1) to a.wild.example.org (out: $out)"
out=$(tcurl "$TB" https://allowed.example.com/ 2>&1); rc=$?
expect_rc_in "35 56" "$rc" "vm-b to allowed.example.com is denied"
tg_event "e['action']=='allow' and e['sandbox']=='vm-a' and e['src'].startswith('198.19.10.2:')" >/dev/null ||
  ck_fail "no allow event for vm-a"
tg_event "e['action']=='deny' and e['sandbox']=='vm-b' and e['host']=='allowed.example.com'" >/dev/null ||
  ck_fail "no deny event for vm-b"
case_end

case_begin gateway_taps_ipv6
out=$(ip netns exec "$TA" curl -sS --max-time 8 --cacert "$E2E_CA" \
  --resolve "allowed.example.com:443:[$IP6_A]" https://allowed.example.com/ 2>&1); rc=$?
expect_eq 0 "$rc" "vm-a over IPv6 (out: $out)"
tg_event "e['action']=='allow' and e['sandbox']=='vm-a' and e['src'].startswith('[2001:db8:ff10::2]')" >/dev/null ||
  ck_fail "no IPv6 allow event for vm-a"
case_end

case_begin gateway_taps_dns_filter
# whatever resolver the sandbox names, port 53 reaches the filter
out=$(ip netns exec "$TA" dig +time=2 +tries=1 @198.19.1.1 allowed.example.com A 2>&1)
expect_contains "status: NOERROR" "$out" "allowed name answered"
expect_contains "$IP_A" "$out" "with its address"
out=$(ip netns exec "$TA" dig +time=2 +tries=1 @198.19.1.1 a.wild.example.org A 2>&1)
expect_contains "status: NXDOMAIN" "$out" "a name vm-a may not reach"
tg_event "e['action']=='deny' and e['proto']=='dns' and e['sandbox']=='vm-a' and e['host']=='a.wild.example.org'" >/dev/null ||
  ck_fail "no dns deny event"
# over IPv6 from the other tap, UDP and TCP: dns.listen is "[::]:15053",
# and the answer must come back from the address the query went to
for tr in +notcp +tcp; do
  out=$(ip netns exec "$TB" dig +time=2 +tries=1 "$tr" @2001:db8:ff11::1 allowed.example.com A 2>&1)
  expect_contains "status: NXDOMAIN" "$out" "vm-b, IPv6 $tr: a name only vm-a may reach"
done
case_end

case_begin gateway_uplink_not_captured
# a service on the router, reached from the uplink side: not redirected
rtr "$E2E_PY" -c '
import http.server, socketserver
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        b = b"router service\n"
        self.send_response(200); self.send_header("Content-Length", str(len(b))); self.end_headers(); self.wfile.write(b)
    def log_message(self, *a): pass
socketserver.TCPServer.allow_reuse_address = True
socketserver.TCPServer(("198.19.1.2", 8080), H).serve_forever()' >"$E2E_TMP/rsrv.log" 2>&1 &
SRV_PID=$!
register_pid "$SRV_PID"
listening_8080() { rtr ss -ltnH "( sport = :8080 )" | grep -q .; }
retry_until 5 listening_8080 || ck_fail "router service did not start"
out=$(netx curl -sS --max-time 5 http://198.19.1.2:8080/ 2>&1); rc=$?
expect_eq 0 "$rc" "uplink client reaches the router's own service ($out; server: $(head -c 300 "$E2E_TMP/rsrv.log"))"
expect_contains "router service" "$out" "answered by the service, not egressd"
case_end

rtr "$RED" remove >/dev/null 2>&1
