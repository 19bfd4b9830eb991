#!/usr/bin/env bash
# Gateway shape with TPROXY (docs/deploy.md): egressd on a router
# namespace with a TPROXY listener ({addr, tproxy: true}), the rules from
# `egress-redirect install --mode gateway --tproxy` (mangle PREROUTING and
# policy routing); two sandboxes told apart by source address, each with
# its own policy, the original destination read from the local address; a
# sandbox dialling the router's proxy port itself is a loop; `remove`
# takes the policy routing away again.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_case_env

# shellcheck disable=SC2034  # read by gateway.sh
GW_TAG=t GW_TPROXY=1
# shellcheck source=gateway.sh
. "$(dirname "${BASH_SOURCE[0]}")/gateway.sh"

case_begin tproxy_setup
gw_setup || ck_fail "gateway topology or egressd did not come up: $(tail -5 "$GW_LOG" 2>/dev/null)"
case_end

case_begin tproxy_sandbox_a_own_policy
out=$(gcurl "$GA" https://allowed.example.com/ 2>&1); rc=$?
expect_eq 0 "$rc" "team-a to allowed.example.com (out: $out)"
expect_contains "hello from allowed.example.com" "$out" "body"
gw_event "e['action']=='allow' and e['sandbox']=='team-a' and e['host']=='allowed.example.com' and e['src'].startswith('198.18.2.2:') and e['dst']=='$IP_A:443'" >/dev/null ||
  ck_fail "no allow event for team-a"
out=$(gcurl "$GA" https://a.wild.example.org/ 2>&1); rc=$?
expect_rc_in "35 56" "$rc" "team-a to a.wild.example.org is denied"
gw_event "e['action']=='deny' and e['sandbox']=='team-a' and e['host']=='a.wild.example.org'" >/dev/null ||
  ck_fail "no deny event for team-a"
case_end

case_begin tproxy_sandbox_b_own_policy
out=$(gcurl "$GB" https://a.wild.example.org/ 2>&1); rc=$?
expect_eq 0 "$rc" "team-b to a.wild.example.org (out: $out)"
out=$(gcurl "$GB" https://allowed.example.com/ 2>&1); rc=$?
expect_rc_in "35 56" "$rc" "team-b to allowed.example.com is denied"
gw_event "e['action']=='deny' and e['sandbox']=='team-b' and e['host']=='allowed.example.com' and e['reason']=='no-matching-allow'" >/dev/null ||
  ck_fail "no deny event for team-b"
case_end

case_begin tproxy_unlisted_source_denied
out=$(gcurl "$GC" https://allowed.example.com/ 2>&1); rc=$?
expect_rc_in "7 35 56" "$rc" "unlisted source is denied (reset at accept)"
gw_event "e['action']=='deny' and e['reason']=='unknown-sandbox' and e['src'].startswith('198.18.4.2:') and e['sandbox'] is None" >/dev/null ||
  ck_fail "no unknown-sandbox event"
case_end

case_begin tproxy_loop_and_remove
# the router's own proxy port, dialled from a sandbox: a loop, refused
out=$(ip netns exec "$GA" timeout 5 "$E2E_PY" -c "
import socket
s = socket.create_connection(('198.18.2.1', 15001), timeout=3)
s.settimeout(3)
try:
    print('data' if s.recv(1) else 'eof')
except OSError as x:
    print('reset', type(x).__name__)
" 2>&1)
gw_event "e['action']=='deny' and e['reason']=='loop'" >/dev/null ||
  ck_fail "dialling the proxy port itself was not refused as a loop ($out)"
ip netns exec "$RTR" "$E2E_ROOT/scripts/egress-redirect" remove >/dev/null || ck_fail "remove failed"
ip netns exec "$RTR" ip rule | grep -q "lookup 15001" && ck_fail "the policy routing survived remove"
ip netns exec "$RTR" iptables -w -t mangle -S | grep -q EGRESSD_TP && ck_fail "the mangle chain survived remove"
case_end
