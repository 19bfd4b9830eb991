#!/usr/bin/env bash
# *.wild.example.org allows any deeper name, never the apex; a deny rule beats the wildcard.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_case_env

for n in a.wild.example.org x.y.wild.example.org; do
  case_begin "wildcard_allows_$n"
  out=$(sbx_curl "https://$n/" 2>&1); rc=$?
  expect_eq 0 "$rc" "curl exit code (out: $out)"
  expect_eq "hello from $n" "$out" "body"
  if expect_event "e['action']=='allow' and h(e)=='$n'" "allow event"; then
    expect_json "$EV" "e.get('proto')=='tls' and e.get('policy')=='agent'" "proto/policy"
    expect_json "$EV" "'*.wild.example.org' in (e.get('rule') or '')" "rule names the wildcard"
  fi
  case_end
done

case_begin wildcard_denies_apex
out=$(sbx_curl https://wild.example.org/ 2>&1); rc=$?
expect_rc_in "35 56" "$rc" "curl exit code (out: $out)"
if expect_event "e['action']=='deny' and h(e)=='wild.example.org'" "deny event"; then
  expect_json "$EV" "e.get('reason')=='no-matching-allow'" "reason"
fi
case_end

case_begin deny_rule_beats_wildcard
out=$(sbx_curl https://blocked.wild.example.org/ 2>&1); rc=$?
expect_rc_in "35 56" "$rc" "curl exit code (out: $out)"
if expect_event "e['action']=='deny' and h(e)=='blocked.wild.example.org'" "deny event"; then
  expect_json "$EV" "e.get('reason')=='denied-by-rule'" "reason"
  expect_json "$EV" "'deny.hosts' in (e.get('rule') or '')" "rule mentions deny.hosts"
  expect_json "$EV" "e.get('policy')=='agent'" "policy"
fi
case_end

case_begin wildcard_http_deny_rule
out=$(sbx_curl http://blocked.wild.example.org/ 2>&1); rc=$?
expect_rc_in "52 56" "$rc" "curl exit code (out: $out)"
if expect_event "e['action']=='deny' and h(e)=='blocked.wild.example.org' and e.get('proto')=='http'" "deny event"; then
  expect_json "$EV" "e.get('reason')=='denied-by-rule'" "reason"
fi
case_end
