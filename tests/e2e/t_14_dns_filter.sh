#!/usr/bin/env bash
# docs/config.md: the DNS filter, with dnsmasq as the real upstream (its query log
# proves what left the box), reached through egress-redirect's DNS rules.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_case_env

DNSQ_LOG=$E2E_TMP/dnsmasq.log
if ! command -v dnsmasq >/dev/null; then
  fail dns_filter_setup "dnsmasq is not installed (scripts/install-deps.sh installs dnsmasq-base)"
  exit 0
fi
: >"$DNSQ_LOG"
netx dnsmasq --keep-in-foreground --conf-file=/dev/null --user=root \
  --listen-address="$NET_IP" --bind-interfaces --port=5353 --no-resolv \
  --no-hosts --log-queries --log-facility="$DNSQ_LOG" \
  --address=/allowed.example.com/"$IP_A" --address=/allowed.example.com/"$IP6_A" \
  --address=/a.wild.example.org/"$IP_A" --address=/dns-only.wild.example.org/"$IP_D" \
  --address=/evil.example.com/"$IP_D" >/dev/null 2>&1 &
DNSQ_PID=$!
register_pid "$DNSQ_PID"
for ((i = 0; i < 50; i++)); do
  netx ss -lunH "( sport = :5353 )" | grep -q . && break
  sleep 0.1
done

cfg=$E2E_TMP/dnsfilter.yaml
cfg_write "$cfg"
sed -i "s|servers: \\[\"$NET_IP\"\\]|servers: [\"$NET_IP:5353\"]|" "$cfg"
grep -q "$NET_IP:5353" "$cfg" || fail dns_filter_setup "could not point dns.servers at dnsmasq"
egressd_restart "$cfg" || fail dns_filter_setup "egressd did not start"

# The sandbox asks "the internet's" resolver; egress-redirect sends port 53
# to the filter, so these go through egressd whatever server is named.
sdig() { sbx timeout 10 dig @"$NET_IP" +time=3 +tries=1 "$@" 2>&1; }

case_begin dns_allowed_answered
out=$(sdig allowed.example.com A)
expect_contains "status: NOERROR" "$out" "status"
expect_contains "$IP_A" "$out" "A record"
out=$(sdig +tcp allowed.example.com AAAA)
expect_contains "status: NOERROR" "$out" "status over TCP"
expect_contains "$IP6_A" "$out" "AAAA record over TCP"
expect_event "e['action']=='allow' and e.get('proto')=='dns' and h(e)=='allowed.example.com'" "allow event"
out=$(sbx timeout 10 dig @"$NET_IP6" +time=3 +tries=1 evil.example.com A 2>&1)
expect_contains "status: NXDOMAIN" "$out" "a query over IPv6 reaches the filter too"
case_end

case_begin dns_denied_nxdomain_never_leaves
out=$(sdig evil.example.com A)
expect_contains "status: NXDOMAIN" "$out" "status"
out=$(sdig evil.example.com TXT)
expect_contains "status: NXDOMAIN" "$out" "TXT status"
out=$(sdig +tcp evil.example.com ANY)
expect_contains "status: NXDOMAIN" "$out" "ANY over TCP status"
if expect_event "e['action']=='deny' and e.get('proto')=='dns' and h(e)=='evil.example.com'" "deny event"; then
  expect_json "$EV" "e.get('reason')=='no-matching-allow' and e.get('sandbox')=='sbx-1'" "reason"
fi
sleep 0.3
if grep -q "evil.example.com" "$DNSQ_LOG"; then
  ck_fail "dnsmasq saw a query for a denied name: $(grep evil "$DNSQ_LOG" | head -3)"
fi
case_end

case_begin dns_https_stripped_other_types_refused
out=$(sdig allowed.example.com HTTPS)
expect_contains "status: NOERROR" "$out" "HTTPS status"
expect_contains "ANSWER: 0" "$out" "HTTPS answer count"
out=$(sdig allowed.example.com TXT)
expect_contains "status: REFUSED" "$out" "TXT status"
sleep 0.3
if grep -E "query\[(HTTPS|type=65|TXT)\] allowed" "$DNSQ_LOG" >/dev/null; then
  ck_fail "dnsmasq saw an HTTPS or TXT query: $(grep -E 'HTTPS|TXT|type=65' "$DNSQ_LOG" | head -3)"
fi
case_end

case_begin dns_answer_vouches_for_destination
# dnsmasq (and only dnsmasq) says dns-only.wild.example.org is at $IP_D:
# the client resolves through the filter and connects there: allowed.
out=$(sdig dns-only.wild.example.org A)
expect_contains "$IP_D" "$out" "A record"
out=$(sbx_curl --resolve "dns-only.wild.example.org:80:$IP_D" http://dns-only.wild.example.org/ 2>&1); rc=$?
expect_eq 0 "$rc" "curl exit code (out: $out)"
expect_event "e['action']=='allow' and e.get('proto')=='http' and h(e)=='dns-only.wild.example.org'" "allow event"
case_end

case_begin udp_other_than_dns_dropped
# QUIC-style UDP straight to the internet must not get out: a listener in
# the fake net on udp/443 hears nothing (IPv4 and IPv6).
rm -f "$E2E_TMP/udp-heard"
netx "$E2E_PY" - "$E2E_TMP/udp-heard" <<'PY' &
import socket, sys, select
s4 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s4.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s4.bind(("::", 443))
r, _, _ = select.select([s4], [], [], 2.0)
open(sys.argv[1], "w").write("heard" if r else "silence")
PY
lpid=$!
sleep 0.3
sbx_py <<PY >/dev/null 2>&1
import socket
for fam, addr in ((socket.AF_INET, "$IP_A"), (socket.AF_INET6, "$IP6_A")):
    try:
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.sendto(b"x" * 32, (addr, 443))
    except OSError:
        pass
PY
wait "$lpid" 2>/dev/null
expect_eq silence "$(cat "$E2E_TMP/udp-heard" 2>/dev/null)" "udp/443 listener in the fake net"
case_end

case_begin dns_upstream_down_does_not_stall
kill_pid "$DNSQ_PID" 5
t0=$(date +%s%N)
( sdig never-cached.wild.example.org A >"$E2E_TMP/dig-down.out" ) &
dig_pid=$!
sleep 0.2
out=$(sbx_curl https://allowed.example.com/ 2>&1); rc=$?
t1=$(date +%s%N)
expect_eq 0 "$rc" "curl while the resolver times out (out: $out)"
ms=$(( (t1 - t0) / 1000000 ))
[ "$ms" -lt 2500 ] || ck_fail "curl took $ms ms while a DNS query was timing out"
wait "$dig_pid" 2>/dev/null
expect_match "SERVFAIL|timed out|no servers" "$(cat "$E2E_TMP/dig-down.out")" "dig answer with upstream down"
case_end

case_begin dns_listen_any_v4_and_v6
# "0.0.0.0:15053" and "[::]:15053" together: the IPv6 sockets are
# V6ONLY, so both bind (a dual-stack [::] TCP listener used to take the
# IPv4 port and egressd refused to start). Denied names need no upstream.
cfg_any=$E2E_TMP/dnsany.yaml
sed 's|listen: \["127.0.0.1:15053", "\[::1\]:15053"\]|listen: ["0.0.0.0:15053", "[::]:15053"]|' "$cfg" >"$cfg_any"
if ! grep -q '"\[::\]:15053"' "$cfg_any"; then
  ck_fail "could not rewrite dns.listen"
elif ! egressd_restart "$cfg_any"; then
  ck_fail "egressd did not start with dns.listen on 0.0.0.0 and [::]"
else
  for srv in "$NET_IP" "$NET_IP6"; do
    for tr in +notcp +tcp; do
      out=$(sbx timeout 10 dig @"$srv" +time=3 +tries=1 "$tr" evil.example.com A 2>&1)
      expect_match "status: NXDOMAIN" "$out" "dig @$srv $tr"
    done
  done
  # a second egressd on the same addresses fails to start: it must not
  # take a share of the first one's queries (no SO_REUSEPORT on DNS)
  timeout 10 ip netns exec "$E2E_SBX" "$E2E_EGRESSD" -c "$cfg_any" >"$E2E_TMP/second.out" 2>&1; rc=$?
  expect_eq 1 "$rc" "a second egressd on the same dns.listen"
  expect_match "dns.listen 0.0.0.0:15053 \\(udp\\): Address already in use" "$(cat "$E2E_TMP/second.out")" "the reason"
fi
case_end
