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
# N+1 connections at once, then count: exactly N stay open and one is
# refused, whichever it is (with several workers accepting, the one over
# the limit is the last one judged, not necessarily the last one dialled),
# and wherever its reset lands (connect, send or recv).  The held ones send
# nothing, so they sit in their 4 s peek while the counting runs (<= 2 s).
out=$(sbx_py <<PY 2>&1
import select, socket, time
N = 2
socks, refused = [], 0
for _ in range(N + 1):
    try:
        socks.append(socket.create_connection(("$IP_A", 443), timeout=5))
    except OSError:
        refused += 1
deadline = time.time() + 2
live = list(socks)
while live and time.time() < deadline:
    r, _, _ = select.select(live, [], [], max(0, deadline - time.time()))
    for s in r:
        try:
            data = s.recv(1)
        except OSError:
            data = b""
        if data == b"":
            refused += 1
            live.remove(s)
print("open=%d refused=%d" % (len(live), refused))
PY
)
expect_eq "open=2 refused=1" "$out" "of three concurrent connections of the sandbox, one is refused"
expect_event "e['action']=='deny' and e.get('reason')=='limit' and e.get('sandbox')=='sbx-1'" "deny event, reason limit"
# The held connections closed with the script: the sandbox is below its
# limit again once egressd has seen that (bounded by their 4 s peek).
if ! retry_until 8 sbx_curl -o /dev/null https://a.wild.example.org/; then
  out=$(sbx_curl https://a.wild.example.org/ 2>&1); rc=$?
  expect_eq 0 "$rc" "below the limit again, connections work (out: $out)"
fi
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
