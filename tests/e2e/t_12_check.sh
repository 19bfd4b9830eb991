#!/usr/bin/env bash
# egressd -c FILE --check: every error as FILE:LINE:COLUMN: message and exit 1; a good config exits 0.
# Runs in the root namespace: no network involved.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_case_env

bad=$E2E_TMP/check-bad.yaml
# line 3: unknown key; line 4: bad port (99999)
cat >"$bad" <<'YAML'
listen: ["127.0.0.1:15001"]
upstream: { mark: 0x1e9d, connect_timeout_ms: 2000 }
no_such_key: true
audit: { file: "/tmp/egressd-check-audit.jsonl" }
policies:
  agent:
    mode: block-all
    allow: { hosts: ["allowed.example.com"], ports: [99999] }
sandboxes:
  - id: sbx-1
    policies: [agent]
YAML
# (the bad port is on line 8)

case_begin check_reports_errors
out=$(timeout 10 "$E2E_EGRESSD" -c "$bad" --check 2>&1); rc=$?
expect_eq 1 "$rc" "exit code"
lines=$(printf '%s\n' "$out" | grep -E "^$(printf %s "$bad" | sed 's/[.[\*^$/]/\\&/g'):[0-9]+:[0-9]+: .+" || true)
n=$(printf '%s' "$lines" | grep -c . || true)
[ "$n" -ge 2 ] || ck_fail "expected >= 2 'FILE:LINE:COLUMN: message' lines (both errors), got $n; output: $(printf %s "$out" | head -c 600)"
printf '%s\n' "$lines" | grep -qE "^[^:]+:3:[0-9]+: " || ck_fail "no error on line 3 (unknown key no_such_key); output: $(printf %s "$out" | head -c 600)"
printf '%s\n' "$lines" | grep -qE "^[^:]+:8:[0-9]+: " || ck_fail "no error on line 8 (port 99999); output: $(printf %s "$out" | head -c 600)"
printf '%s\n' "$lines" | grep -qi "no_such_key" || ck_fail "the unknown-key message does not name no_such_key"
case_end

case_begin check_url_as_host
url=$E2E_TMP/check-url.yaml
sed 's|hosts: \["allowed.example.com"\], ports: \[99999\]|hosts: ["https://allowed.example.com"]|; /no_such_key/d' "$bad" >"$url"
out=$(timeout 10 "$E2E_EGRESSD" -c "$url" --check 2>&1); rc=$?
expect_eq 1 "$rc" "exit code"
expect_match ":7:[0-9]+: .*[Hh]ost" "$out" "error at line 7 saying hosts are hostnames"
case_end

for variant in default nodeny; do
  case_begin "check_good_config_$variant"
  good=$E2E_TMP/check-good-$variant.yaml
  cfg_write "$good" "$variant"
  out=$(timeout 10 "$E2E_EGRESSD" -c "$good" --check 2>&1); rc=$?
  expect_eq 0 "$rc" "exit code (output: $(printf %s "$out" | head -c 400))"
  case_end
done

case_begin check_test_config_with_dns_block
good=$E2E_TMP/check-good-dns.yaml
E2E_DNS=on cfg_write "$good" default
out=$(timeout 10 "$E2E_EGRESSD" -c "$good" --check 2>&1); rc=$?
expect_eq 0 "$rc" "exit code for the config with a dns: block (output: $(printf %s "$out" | head -c 400))"
case_end

case_begin version_and_help
out=$(timeout 10 "$E2E_EGRESSD" --version 2>&1); rc=$?
expect_eq 0 "$rc" "--version exit code"
[ -n "$out" ] || ck_fail "--version printed nothing"
out=$(timeout 10 "$E2E_EGRESSD" --help 2>&1); rc=$?
expect_eq 0 "$rc" "--help exit code"
expect_contains "--check" "$out" "--help text"
case_end
