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

gw_policy_cases tproxy


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
