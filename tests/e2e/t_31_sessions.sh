#!/usr/bin/env bash
# Sessions (docs/admin.md): one more policy on top of a sandbox's, the
# more restrictive winning; it narrows live flows at once, expires after
# ttl_s, is cleared on DELETE, never reaches state_dir and dies with a
# restart.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_case_env

CTL=$(dirname "$E2E_EGRESSD")/egressctl
e2e_admin_cfg sess
ctl() { sbx "$CTL" -s "$ASOCK" "$@"; }
api() { e2e_api "$@"; }
ok_to() { sbx_curl "https://$1/" >/dev/null 2>&1; }
egressd_restart "$cfg" 2>"$E2E_TMP/start.err" || fail sess_setup "egressd did not start: $(cat "$E2E_TMP/start.err")"

case_begin session_narrows_and_revokes_live_flows
ok_to a.wild.example.org || ck_fail "a.wild.example.org is not allowed to begin with"
# a download through a host the session will not allow, live while it is set
(CURL_MAX_TIME=30 sbx_curl --limit-rate 2M -o /dev/null https://a.wild.example.org/blob; echo $? >"$E2E_TMP/sess-dl.rc") &
dpid=$!
sleep 1.5
out=$(api PUT /api/v1/sandboxes/sbx-1/session '{"egress": {"allowed_domains": ["allowed.example.com"]}, "ttl_s": 4}')
expect_match "200$" "$out" "PUT session ($out)"
wait "$dpid"
expect_rc_in "18 56" "$(cat "$E2E_TMP/sess-dl.rc")" "the live download the session does not allow was cut"
expect_event "e['action']=='end' and e.get('reason')=='revoked' and e.get('host')=='a.wild.example.org'" "end event, revoked" >/dev/null
ok_to a.wild.example.org && ck_fail "the session did not narrow the sandbox"
ok_to allowed.example.com || ck_fail "a host both allow is refused"
out=$(ctl session show sbx-1 2>&1)
expect_match '"expires_in_s": [0-4]' "$out" "show has expires_in_s"
grep -rq "allowed_domains\|session" "$STATE" 2>/dev/null && ck_fail "the session reached state_dir"
case_end

case_begin session_expires
for ((i = 0; i < 60; i++)); do ok_to a.wild.example.org && break; sleep 0.2; done
ok_to a.wild.example.org || ck_fail "a.wild.example.org still refused after the session's ttl_s"
out=$(api GET /api/v1/sandboxes/sbx-1/session)
expect_match "404$" "$out" "no session after expiry"
case_end

case_begin session_cleared_and_gone_after_restart
out=$(ctl session set sbx-1 600 allowed.example.com 2>&1); rc=$?
expect_eq 0 "$rc" "egressctl session set ($out)"
ok_to a.wild.example.org && ck_fail "the session set by egressctl did not narrow"
out=$(ctl session clear sbx-1 2>&1); rc=$?
expect_eq 0 "$rc" "egressctl session clear ($out)"
ok_to a.wild.example.org || ck_fail "still narrowed after clear"
out=$(api PUT /api/v1/sandboxes/sbx-1/session '{"egress": {"allowed_domains": ["allowed.example.com"]}, "ttl_s": 600}')
expect_match "200$" "$out" "PUT session again"
egressd_restart "$cfg" 2>"$E2E_TMP/start.err" || ck_fail "egressd did not restart"
out=$(api GET /api/v1/sandboxes/sbx-1/session)
expect_match "404$" "$out" "no session after a restart"
ok_to a.wild.example.org || ck_fail "a session survived the restart"
case_end

case_begin session_errors
out=$(api PUT /api/v1/sandboxes/nosuch/session '{"ttl_s": 5}')
expect_match "404$" "$out" "unknown sandbox"
out=$(api PUT /api/v1/sandboxes/sbx-1/session '{"egress": {}}')
expect_match "400$" "$out" "ttl_s is required"
out=$(api PUT /api/v1/sandboxes/sbx-1/session '{"ttl_s": 5, "sources": ["1.2.3.4"]}')
expect_match "400$" "$out" "a session has no sources"
out=$(api PUT /api/v1/sandboxes/sbx-1/session '{"ttl_s": 5, "egress": {"allowed_domains": ["https://x"]}}')
expect_match "400$" "$out" "an invalid host is refused"
out=$(api GET /api/v1/sandboxes/sbx-1/session)
expect_match "404$" "$out" "a refused session is not set"
out=$(api DELETE /api/v1/sandboxes/sbx-1/session)
expect_match "404$" "$out" "clearing no session"
case_end
