#!/usr/bin/env bash
# IPv6 goes through the same path ([::1]:15001 listener, IP6T_SO_ORIGINAL_DST).
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_case_env

case_begin ipv6_tls_allowed
out=$(sbx_curl -6 --resolve "allowed.example.com:443:[$IP6_A]" https://allowed.example.com/ 2>&1); rc=$?
expect_eq 0 "$rc" "curl exit code"
expect_eq "hello from allowed.example.com" "$out" "body"
if expect_event "e['action']=='allow' and e.get('proto')=='tls' and h(e)=='allowed.example.com'" "allow event"; then
  expect_json "$EV" "e.get('dst')=='[2001:db8::10]:443'" "dst"
  expect_json "$EV" "re.match(r'^\[2001:db8:ffff::2\]:\d+$', e.get('src',''))" "src is [sandbox v6]:port"
  conn=$(jf "$EV" conn)
  if expect_event "e['action']=='end' and e.get('conn')==$conn" "end event"; then
    expect_json "$EV" "e.get('dst')=='[2001:db8::10]:443' and e.get('bytes_down',0)>0" "end dst/bytes"
  fi
fi
case_end

case_begin ipv6_http_allowed
out=$(sbx_curl -6 --resolve "allowed.example.com:80:[$IP6_A]" http://allowed.example.com/echo 2>&1); rc=$?
expect_eq 0 "$rc" "curl exit code"
expect_eq $'method=GET\nhost=allowed.example.com\npath=/echo' "$out" "echo body"
if expect_event "e['action']=='allow' and e.get('proto')=='http' and e.get('path')=='/echo'" "allow event"; then
  expect_json "$EV" "e.get('dst')=='[2001:db8::10]:80'" "dst"
fi
case_end

case_begin ipv6_tls_denied
out=$(sbx_curl -6 --resolve "denied.example.com:443:[$IP6_D]" https://denied.example.com/ 2>&1); rc=$?
expect_rc_in "35 56" "$rc" "curl exit code (out: $out)"
if expect_event "e['action']=='deny' and h(e)=='denied.example.com'" "deny event"; then
  expect_json "$EV" "e.get('dst')=='[2001:db8::20]:443' and e.get('reason')=='no-matching-allow'" "dst/reason"
fi
case_end
