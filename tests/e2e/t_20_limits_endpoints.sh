#!/usr/bin/env bash
# limits.max_connections_per_sandbox (deny, reason limit) and a policy's
# HTTP endpoints rules, through real clients.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_case_env

cfg=$E2E_TMP/limits.yaml
cfg_write "$cfg"
sed -i "s|^limits: .*|limits: { peek_timeout_ms: 4000, max_connections_per_sandbox: 2 }|" "$cfg"
# endpoints on allowed.example.com: only GET under /v1/models
sed -i 's|^    mode: block-all$|    mode: block-all\n    endpoints:\n      - host: allowed.example.com\n        methods: [GET]\n        paths: ["/v1/models*"]|' "$cfg"
egressd_restart "$cfg" || fail limits_setup "egressd did not start ($(tail -3 "$E2E_ELOG"))"

case_begin per_sandbox_connection_limit
out=$(sbx_py <<PY 2>&1
import socket, time
held = [socket.create_connection(("$IP_A", 443), timeout=5) for _ in range(2)]
time.sleep(0.3)
s = socket.create_connection(("$IP_A", 443), timeout=5)
s.settimeout(3)
try:
    r = s.recv(1)
    print("third:", "eof" if r == b"" else "data")
except ConnectionResetError:
    print("third: reset")
except socket.timeout:
    print("third: open")
PY
)
expect_match "third: (reset|eof)" "$out" "a third concurrent connection of the sandbox is refused"
expect_event "e['action']=='deny' and e.get('reason')=='limit' and e.get('sandbox')=='sbx-1'" "deny event, reason limit"
sleep 4.5   # the held connections time out of their peek
out=$(sbx_curl https://a.wild.example.org/ 2>&1); rc=$?
expect_eq 0 "$rc" "below the limit again, connections work (out: $out)"
case_end

case_begin http_endpoints_rules
out=$(sbx_curl -s -o /dev/null -w '%{http_code}' http://allowed.example.com/v1/models/x 2>&1); rc=$?
expect_eq 0 "$rc" "GET /v1/models/x allowed (out: $out)"
expect_eq 200 "$out" "status"
out=$(sbx_curl -s -X POST -d x http://allowed.example.com/v1/models/x 2>&1); rc=$?
expect_rc_in "52 56" "$rc" "POST refused"
expect_event "e['action']=='deny' and e.get('method')=='POST' and e.get('rule')=='endpoints allowed.example.com'" "deny event names the endpoints rule"
out=$(sbx_curl -s --path-as-is http://allowed.example.com/v1/models/../admin 2>&1); rc=$?
expect_rc_in "52 56" "$rc" "dot segments never match"
out=$(sbx_curl https://allowed.example.com/ 2>&1); rc=$?
expect_eq 0 "$rc" "TLS to the host is judged by host rules alone (out: $out)"
case_end
