#!/usr/bin/env bash
# TLS to a name no rule allows is reset during the handshake and audited as a deny.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_case_env

case_begin tls_denied
out=$(sbx_curl https://denied.example.com/ 2>&1); rc=$?
expect_rc_in "35 56" "$rc" "curl exit code (out: $out)"
if expect_event "e['action']=='deny' and h(e)=='denied.example.com'" "deny event"; then
  expect_json "$EV" "e.get('reason')=='no-matching-allow'" "reason"
  expect_json "$EV" "e.get('proto')=='tls'" "proto"
  expect_json "$EV" "e.get('sandbox')=='sbx-1' and e.get('dst')=='203.0.113.20:443'" "sandbox/dst"
  expect_json "$EV" "re.match(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$', e.get('ts',''))" "ts format"
fi
# a denied connection never gets an end event (it was never allowed)
if [ -n "$EV" ]; then
  conn=$(jf "$EV" conn)
  if audit_find "e['action']=='end' and e.get('conn')==$conn" 1.5 >/dev/null; then
    ck_fail "a denied connection (conn $conn) got an end event"
  fi
fi
case_end

case_begin tls_denied_openssl
out=$(timeout 10 ip netns exec "$E2E_SBX" openssl s_client -connect "$IP_D:443" -servername denied.example.com \
  -CAfile "$E2E_CA" </dev/null 2>&1); rc=$?
[ "$rc" != 0 ] || ck_fail "openssl s_client to $IP_D with SNI denied.example.com succeeded (exit 0); output: $(printf %s "$out" | tail -n 5 | tr '\n' ' ')"
# (s_client prints "Verify return code: 0" even when there was no handshake:
# look at what the server sent instead: nothing at all, no cipher.)
printf %s "$out" | grep -q "SSL handshake has read 0 bytes" ||
  ck_fail "openssl s_client read bytes from the server for SNI denied.example.com: $(printf %s "$out" | grep -E 'handshake has read|Cipher is' | tr '\n' ' ')"
printf %s "$out" | grep -q "Cipher is (NONE)" ||
  ck_fail "openssl s_client negotiated a cipher for SNI denied.example.com"
expect_event "e['action']=='deny' and h(e)=='denied.example.com' and e.get('proto')=='tls'" "deny event"
case_end

case_begin tls_allowed_openssl
out=$(timeout 10 ip netns exec "$E2E_SBX" openssl s_client -connect "$IP_A:443" -servername allowed.example.com \
  -CAfile "$E2E_CA" </dev/null 2>&1); rc=$?
expect_eq 0 "$rc" "openssl s_client exit code"
printf %s "$out" | grep -q "Verify return code: 0 (ok)" ||
  ck_fail "openssl s_client: no 'Verify return code: 0 (ok)'; output ends: $(printf %s "$out" | tail -n 6 | tr '\n' ' ')"
expect_event "e['action']=='allow' and h(e)=='allowed.example.com' and e.get('proto')=='tls'" "allow event"
case_end
