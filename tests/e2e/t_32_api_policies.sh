#!/usr/bin/env bash
# Named policies over the admin API (docs/admin.md): list, show, create or
# replace (every sandbox using it is judged again at once, live flows
# included), delete (409 while in use, 409 for the config file's),
# persisted across restarts; egressctl policies / policy get|put|delete.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_case_env

CTL=$(dirname "$E2E_EGRESSD")/egressctl
e2e_admin_cfg pol
ctl() { sbx "$CTL" -s "$ASOCK" "$@"; }
api() { e2e_api "$@"; }
body() { sed '$d' <<<"$1"; }
ok_to() { sbx_curl "https://$1/" >/dev/null 2>&1; }
egressd_restart "$cfg" 2>"$E2E_TMP/start.err" || fail pol_setup "egressd did not start: $(cat "$E2E_TMP/start.err")"

case_begin policies_list_and_show
out=$(api GET /api/v1/policies)
expect_match "200$" "$out" "GET policies"
expect_json "$(body "$out")" "any(p['name']=='agent' and p['source']=='config' and p['sandboxes']==['sbx-1'] for p in e)" "agent, from the config, used by sbx-1"
out=$(ctl policy get agent 2>&1); rc=$?
expect_eq 0 "$rc" "egressctl policy get ($out)"
expect_json "$out" "'allowed.example.com' in e['allow']['hosts'] and e['mode']=='block-all'" "the file's policy as JSON"
case_end

case_begin policy_put_judges_sandboxes_at_once
printf '{"mode": "block-all", "allow": {"hosts": ["allowed.example.com"]}}\n' >"$E2E_TMP/narrow.json"
out=$(ctl policy put narrow "$E2E_TMP/narrow.json" 2>&1); rc=$?
expect_eq 0 "$rc" "egressctl policy put ($out)"
out=$(api PUT /api/v1/sandboxes/sbx-1/network '{"policies": ["narrow"]}')
expect_match "200$" "$out" "sbx-1 now judged by narrow"
ok_to a.wild.example.org && ck_fail "narrow did not narrow"
ok_to allowed.example.com || ck_fail "narrow refuses what it allows"
# a live download to allowed.example.com; narrow is replaced under it
(CURL_MAX_TIME=30 sbx_curl --limit-rate 2M -o /dev/null https://allowed.example.com/blob; echo $? >"$E2E_TMP/pol-dl.rc") &
dpid=$!
sleep 1.5
out=$(api PUT /api/v1/policies/narrow '{"mode": "block-all", "allow": {"hosts": ["*.wild.example.org"]}}')
expect_match "200$" "$out" "PUT replaces narrow"
wait "$dpid"
expect_rc_in "18 56" "$(cat "$E2E_TMP/pol-dl.rc")" "the live download the new policy refuses was cut"
expect_event "e['action']=='end' and e.get('reason')=='revoked' and e.get('host')=='allowed.example.com'" "end event, revoked" >/dev/null
ok_to a.wild.example.org || ck_fail "the replaced policy's host is refused"
case_end

case_begin policy_delete_rules
out=$(api DELETE /api/v1/policies/narrow)
expect_match "409$" "$out" "a policy in use cannot be deleted"
expect_contains "sbx-1" "$out" "the 409 names the sandbox"
out=$(api DELETE /api/v1/policies/agent)
expect_match "409$" "$out" "the config file's policy cannot be deleted"
out=$(api PUT /api/v1/policies/broken '{"allow": {"hosts": ["https://x.example"]}}')
expect_match "400$" "$out" "an invalid policy is refused"
out=$(api GET /api/v1/policies/broken)
expect_match "404$" "$out" "and not created"
out=$(api PUT /api/v1/sandboxes/sbx-1/network '{"policies": ["agent"]}')
expect_match "200$" "$out" "sbx-1 back on agent"
out=$(ctl policy delete narrow 2>&1); rc=$?
expect_eq 0 "$rc" "egressctl policy delete of an unused API policy ($out)"
out=$(api GET /api/v1/policies/narrow)
expect_match "404$" "$out" "it is gone"
case_end

case_begin policies_survive_restart
out=$(api PUT /api/v1/policies/kept '{"mode": "allow-all"}')
expect_match "200$" "$out" "PUT kept"
egressd_restart "$cfg" 2>"$E2E_TMP/start.err" || ck_fail "egressd did not restart"
out=$(ctl policies 2>&1); rc=$?
expect_eq 0 "$rc" "egressctl policies ($out)"
expect_match "kept +api" "$out" "kept, from the API, after a restart"
case_end
