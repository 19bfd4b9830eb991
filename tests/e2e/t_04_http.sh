#!/usr/bin/env bash
# Plain HTTP: decided on the Host header; method and path (no query) are audited.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_case_env

case_begin http_allowed
out=$(sbx_curl http://allowed.example.com/echo 2>&1); rc=$?
expect_eq 0 "$rc" "curl exit code"
expect_eq $'method=GET\nhost=allowed.example.com\npath=/echo' "$out" "echo body"
if expect_event "e['action']=='allow' and e.get('proto')=='http' and h(e)=='allowed.example.com'" "allow event"; then
  expect_json "$EV" "e.get('method')=='GET' and e.get('path')=='/echo'" "method/path"
  expect_json "$EV" "e.get('dst')=='203.0.113.10:80' and re.match(r'^198\.18\.0\.2:\d+$', e.get('src',''))" "src/dst"
  expect_json "$EV" "e.get('ech') is False and e.get('sandbox')=='sbx-1' and e.get('policy')=='agent'" "ech/sandbox/policy"
  conn=$(jf "$EV" conn)
  if expect_event "e['action']=='end' and e.get('conn')==$conn" "end event"; then
    expect_json "$EV" "e.get('bytes_up',0)>0 and e.get('bytes_down',0)>0" "end byte counts"
  fi
fi
case_end

case_begin http_allowed_post
out=$(sbx_curl -X POST --data 'k=v' 'http://allowed.example.com/echo?x=1' 2>&1); rc=$?
expect_eq 0 "$rc" "curl exit code"
expect_eq $'method=POST\nhost=allowed.example.com\npath=/echo?x=1' "$out" "echo body"
if expect_event "e['action']=='allow' and e.get('proto')=='http' and e.get('method')=='POST'" "allow event"; then
  expect_json "$EV" "e.get('path')=='/echo'" "path without query string"
fi
case_end

case_begin http_denied
out=$(sbx_curl 'http://denied.example.com/?q=1' 2>&1); rc=$?
expect_rc_in "52 56" "$rc" "curl exit code (out: $out)"
if expect_event "e['action']=='deny' and h(e)=='denied.example.com'" "deny event"; then
  expect_json "$EV" "e.get('proto')=='http'" "proto"
  expect_json "$EV" "e.get('method')=='GET'" "method"
  expect_json "$EV" "e.get('path')=='/'" "path without query string"
  expect_json "$EV" "e.get('reason')=='no-matching-allow'" "reason"
  expect_json "$EV" "e.get('dst')=='203.0.113.20:80'" "dst"
fi
case_end

# The decision follows the Host header, not the address: Host denied.example.com
# sent to the allowed server's address is still denied.
case_begin http_host_header_decides
out=$(sbx_curl -H 'Host: denied.example.com' "http://$IP_A/" 2>&1); rc=$?
expect_rc_in "52 56" "$rc" "curl exit code (out: $out)"
expect_event "e['action']=='deny' and h(e)=='denied.example.com' and e.get('proto')=='http'" "deny event"
case_end
