#!/usr/bin/env bash
# TLS to an allowed name is spliced through; the audit has allow + end with every docs/audit.md field.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_case_env

case_begin tls_allowed
out=$(sbx_curl https://allowed.example.com/ 2>&1); rc=$?
expect_eq 0 "$rc" "curl exit code"
expect_eq "hello from allowed.example.com" "$out" "body"
if expect_event "e['action']=='allow' and e.get('proto')=='tls' and h(e)=='allowed.example.com'" "allow event"; then
  allow=$EV
  expect_json "$allow" "isinstance(e.get('ts'),str) and re.match(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$', e['ts'])" "ts is RFC 3339 UTC with ms"
  expect_json "$allow" "e.get('sandbox')=='sbx-1'" "sandbox"
  expect_json "$allow" "e.get('host')=='allowed.example.com'" "host"
  expect_json "$allow" "isinstance(e.get('src'),str) and re.match(r'^198\.18\.0\.2:\d+$', e['src'])" "src is the sandbox's address:port"
  expect_json "$allow" "e.get('dst')=='203.0.113.10:443'" "dst"
  expect_json "$allow" "type(e.get('conn')) is int" "conn is an integer"
  expect_json "$allow" "'method' in e and e['method'] is None and 'path' in e and e['path'] is None" "method/path null for TLS"
  expect_json "$allow" "e.get('ech') is False" "ech false"
  expect_json "$allow" "e.get('policy')=='agent'" "policy"
  expect_json "$allow" "isinstance(e.get('rule'),str) and 'allowed.example.com' in e['rule']" "rule names the pattern"
  conn=$(jf "$allow" conn)
  if expect_event "e['action']=='end' and e.get('conn')==$conn" "end event for conn $conn"; then
    end=$EV
    expect_json "$end" "isinstance(e.get('bytes_up'),int) and e['bytes_up']>0" "end bytes_up > 0"
    expect_json "$end" "isinstance(e.get('bytes_down'),int) and e['bytes_down']>0" "end bytes_down > 0"
    expect_json "$end" "isinstance(e.get('duration_ms'),(int,float)) and not isinstance(e['duration_ms'],bool) and e['duration_ms']>=0" "end duration_ms >= 0"
    expect_json "$end" "e.get('sandbox')=='sbx-1' and e.get('dst')=='203.0.113.10:443'" "end sandbox/dst"
    expect_json "$end" "re.match(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$', e.get('ts',''))" "end ts format"
    la=$(grep -nF -- "$allow" "$E2E_AUDIT" | head -n1 | cut -d: -f1)
    le=$(grep -nF -- "$end" "$E2E_AUDIT" | head -n1 | cut -d: -f1)
    if [ -z "$la" ] || [ -z "$le" ] || [ "$la" -ge "$le" ]; then
      ck_fail "the allow line (line $la) must come before the end line (line $le)"
    fi
  fi
fi
case_end

# Names are compared case-insensitively, trailing dot removed (docs/config.md).
case_begin tls_allowed_mixed_case
out=$(sbx_curl --resolve ALLOWED.Example.COM:443:203.0.113.10 https://ALLOWED.Example.COM/ 2>&1); rc=$?
expect_eq 0 "$rc" "curl exit code (out: $out)"
expect_match "^hello from allowed\.example\.com$" "$(printf %s "$out" | tr '[:upper:]' '[:lower:]')" "body"
expect_event "e['action']=='allow' and e.get('proto')=='tls' and h(e)=='allowed.example.com'" "allow event"
case_end

case_begin tls_allowed_trailing_dot
out=$(sbx_curl --resolve allowed.example.com.:443:203.0.113.10 https://allowed.example.com./ 2>&1); rc=$?
expect_eq 0 "$rc" "curl exit code (out: $out)"
expect_match "^hello from allowed\.example\.com\.?$" "$out" "body"
expect_event "e['action']=='allow' and e.get('proto')=='tls' and h(e)=='allowed.example.com'" "allow event"
case_end

case_begin http_allowed_trailing_dot
out=$(sbx_curl --resolve allowed.example.com.:80:203.0.113.10 http://allowed.example.com./ 2>&1); rc=$?
expect_eq 0 "$rc" "curl exit code (out: $out)"
expect_match "^hello from allowed\.example\.com\.?$" "$out" "body"
expect_event "e['action']=='allow' and e.get('proto')=='http' and h(e)=='allowed.example.com'" "allow event"
case_end
