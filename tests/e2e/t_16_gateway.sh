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

case_begin gateway_sandbox_a_own_policy
out=$(gcurl "$GA" https://allowed.example.com/ 2>&1); rc=$?
expect_eq 0 "$rc" "team-a to allowed.example.com (out: $out)"
expect_contains "hello from allowed.example.com" "$out" "body"
gw_event "e['action']=='allow' and e['sandbox']=='team-a' and e['host']=='allowed.example.com' and e['src'].startswith('198.18.2.2:')" >/dev/null ||
  ck_fail "no allow event for team-a"
out=$(gcurl "$GA" https://a.wild.example.org/ 2>&1); rc=$?
expect_rc_in "35 56" "$rc" "team-a to a.wild.example.org is denied"
gw_event "e['action']=='deny' and e['sandbox']=='team-a' and e['host']=='a.wild.example.org'" >/dev/null ||
  ck_fail "no deny event for team-a"
case_end

case_begin gateway_sandbox_b_own_policy
out=$(gcurl "$GB" https://a.wild.example.org/ 2>&1); rc=$?
expect_eq 0 "$rc" "team-b to a.wild.example.org (out: $out)"
out=$(gcurl "$GB" https://allowed.example.com/ 2>&1); rc=$?
expect_rc_in "35 56" "$rc" "team-b to allowed.example.com is denied"
gw_event "e['action']=='deny' and e['sandbox']=='team-b' and e['host']=='allowed.example.com' and e['reason']=='no-matching-allow'" >/dev/null ||
  ck_fail "no deny event for team-b"
case_end

case_begin gateway_unlisted_source_denied
out=$(gcurl "$GC" https://allowed.example.com/ 2>&1); rc=$?
expect_rc_in "7 35 56" "$rc" "unlisted source is denied (reset at accept)"
gw_event "e['action']=='deny' and e['reason']=='unknown-sandbox' and e['src'].startswith('198.18.4.2:') and e['sandbox'] is None" >/dev/null ||
  ck_fail "no unknown-sandbox event"
case_end
