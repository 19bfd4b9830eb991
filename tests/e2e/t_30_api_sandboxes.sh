#!/usr/bin/env bash
# Sandboxes over the admin API (docs/admin.md): PUT .../network sets
# sources and the named policies; DELETE /api/v1/sandboxes/{id} removes an
# API-made sandbox (its live connections end revoked) or drops the API's
# changes to a config file's.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_case_env

CTL=$(dirname "$E2E_EGRESSD")/egressctl
ASOCK=$E2E_TMP/api-sb.sock
cfg=$E2E_TMP/api-sb.yaml
cat >"$cfg" <<EOF
listen: ["127.0.0.1:$E2E_PROXY_PORT", "[::1]:$E2E_PROXY_PORT"]
upstream: { mark: $E2E_MARK, connect_timeout_ms: 2000 }
dns: { listen: ["127.0.0.1:15053", "[::1]:15053"], servers: ["$NET_IP"] }
audit: { file: $E2E_AUDIT }
admin: { socket: $ASOCK }
state_dir: $E2E_TMP/api-sb-state
limits: { peek_timeout_ms: 1000 }
policies:
  agent:
    allow: { hosts: ["allowed.example.com", "$IP_C"] }
sandboxes:
  - id: elsewhere
    sources: ["198.18.9.0/24"]
    policies: [agent]
EOF
rm -rf "$E2E_TMP/api-sb-state"
api() { e2e_api "$@"; }
egressd_restart "$cfg" 2>"$E2E_TMP/start.err" || fail api_sb_setup "egressd did not start: $(cat "$E2E_TMP/start.err")"

case_begin put_network_sets_sources_and_policies
out=$(sbx_curl https://allowed.example.com/ 2>&1); rc=$?
[ "$rc" = 0 ] && ck_fail "an unknown source got through before the API made its sandbox"
out=$(api PUT /api/v1/sandboxes/api-sb/network '{"sources": ["198.18.0.2/32"], "policies": ["agent"]}')
expect_match "200$" "$out" "PUT with sources and policies"
out=$(sbx_curl https://allowed.example.com/ 2>&1); rc=$?
expect_eq 0 "$rc" "the API sandbox's policy allows (out: $out)"
expect_event "e['action']=='allow' and e.get('sandbox')=='api-sb' and e.get('policy')=='agent'" "judged by agent" >/dev/null
out=$(api PUT /api/v1/sandboxes/api-sb/network '{"policies": ["ghost"]}')
expect_match "^4..$" "$(tail -1 <<<"$out")" "an undefined policy is refused"
expect_contains "ghost" "$out" "the error names it"
case_end

case_begin delete_api_sandbox_revokes
# a connection held open through the API sandbox
sbx_py "$IP_C" "$E2E_TMP/del.go" >"$E2E_TMP/del.out" 2>&1 <<PYEOF &
$PY_PRELUDE
import os
s = connect(sys.argv[1], 2222)
s.settimeout(5)
s.recv(100)
for _ in range(100):
    if os.path.exists(sys.argv[2]):
        break
    time.sleep(0.1)
time.sleep(1)
try:
    s.sendall(b"ping\n")
    s.settimeout(3)
    print("alive" if s.recv(100) else "eof")
except OSError as x:
    print("cut", type(x).__name__)
PYEOF
hpid=$!
sleep 2   # peek timeout, then relayed
out=$("$CTL" -s "$ASOCK" sandbox delete api-sb 2>&1); rc=$?
expect_eq 0 "$rc" "egressctl sandbox delete ($out)"
expect_contains "deleted" "$out" "it says the sandbox went"
touch "$E2E_TMP/del.go"
wait "$hpid"
expect_match "^cut|^eof" "$(cat "$E2E_TMP/del.out")" "the live connection ended"
expect_event "e['action']=='end' and e.get('reason')=='revoked' and e.get('sandbox')=='api-sb'" "end event, revoked" >/dev/null
out=$(sbx_curl https://allowed.example.com/ 2>&1); rc=$?
[ "$rc" = 0 ] && ck_fail "the deleted sandbox's source still gets through"
expect_event "e['action']=='deny' and e.get('reason')=='unknown-sandbox'" "unknown-sandbox after delete" >/dev/null
out=$(api DELETE /api/v1/sandboxes/api-sb)
expect_match "404$" "$out" "deleting it again is 404"
case_end

case_begin delete_config_sandbox_drops_api_changes
out=$(api POST /api/v1/sandboxes/elsewhere/egress/allow '{"hosts": ["pypi.org"]}')
expect_match "200$" "$out" "an API change to the config sandbox"
out=$(api GET /api/v1/sandboxes/elsewhere/network)
expect_contains "pypi.org" "$out" "the change is there"
out=$(api DELETE /api/v1/sandboxes/elsewhere)
expect_match "200$" "$out" "DELETE of a config sandbox"
expect_contains "api-changes" "$out" "it says only the API changes went"
out=$(api GET /api/v1/sandboxes/elsewhere/network)
expect_match "200$" "$out" "the config sandbox remains"
[[ "$out" == *pypi.org* ]] && ck_fail "the API change survived the delete"
case_end
