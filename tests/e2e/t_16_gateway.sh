#!/usr/bin/env bash
# Gateway shape (docs/deploy.md): egressd on a router namespace, two sandboxes
# behind it told apart by source address, each with its own policy, via
# `egress-redirect install --mode gateway` (nat PREROUTING); a third,
# unlisted source is denied unknown-sandbox.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_case_env

# shellcheck disable=SC2034  # read by gateway.sh
GW_TAG=g GW_TPROXY=0
# shellcheck source=gateway.sh
. "$(dirname "${BASH_SOURCE[0]}")/gateway.sh"

case_begin gateway_setup
gw_setup || ck_fail "gateway topology or egressd did not come up: $(tail -5 "$GW_LOG" 2>/dev/null)"
case_end

gw_policy_cases gateway
