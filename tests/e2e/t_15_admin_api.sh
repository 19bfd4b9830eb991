#!/usr/bin/env bash
# docs/admin.md: the admin API over the unix socket (and TCP with a token), changes
# that apply at once and survive restarts, events and Prometheus metrics.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_case_env

ASOCK=$E2E_TMP/admin.sock
STATE=$E2E_TMP/state
TOKEN=$E2E_TMP/token
head -c 24 /dev/urandom | base64 >"$TOKEN"
cfg=$E2E_TMP/admin.yaml
cfg_write "$cfg"
printf 'admin: { socket: %s, listen: "127.0.0.1:15000", token_file: %s }\nstate_dir: %s\n' \
  "$ASOCK" "$TOKEN" "$STATE" >>"$cfg"
sed -i "s|^audit: { file: \(.*\) }|audit: { file: \1, memory_events: 100 }|" "$cfg"
rm -rf "$STATE"
egressd_restart "$cfg" || fail admin_setup "egressd did not start with the admin config"

# api METHOD PATH [BODY]: prints the body, then the status code on a line.
api() {
  local m=$1 p=$2 b=${3:-}
  if [ -n "$b" ]; then
    sbx curl -s --max-time 5 --unix-socket "$ASOCK" -X "$m" -d "$b" -w '\n%{http_code}' "http://egressd$p"
  else
    sbx curl -s --max-time 5 --unix-socket "$ASOCK" -X "$m" -w '\n%{http_code}' "http://egressd$p"
  fi
}
code() { tail -n 1 <<<"$1"; }
body() { sed '$d' <<<"$1"; }
jq_py() { "$E2E_PY" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

case_begin admin_read_routes
r=$(api GET /healthz); expect_eq 200 "$(code "$r")" "healthz status"; expect_contains ok "$(body "$r")" "healthz body"
r=$(api GET /api/v1/sandboxes); expect_eq 200 "$(code "$r")" "sandboxes status"
expect_eq "sbx-1" "$(body "$r" | jq_py "d[0]['id']")" "sandbox id"
r=$(api GET /api/v1/sandboxes/sbx-1/network); expect_eq 200 "$(code "$r")" "network status"
expect_eq "block-all True" "$(body "$r" | jq_py "d['mode'], d['intercept']" | tr -d "(),'")" "mode/intercept"
expect_contains allowed.example.com "$(body "$r" | jq_py "d['egress']['allowed_domains']")" "allowed_domains"
r=$(api GET /api/v1/sandboxes/nope/network); expect_eq 404 "$(code "$r")" "unknown sandbox"
expect_contains '"error"' "$(body "$r")" "error body"
r=$(api GET /api/v1/nothing); expect_eq 404 "$(code "$r")" "unknown route"
case_end

case_begin admin_errors
r=$(api POST /api/v1/sandboxes/sbx-1/egress/allow '{"hosts":["https://x.example"]}')
expect_eq 400 "$(code "$r")" "URL as host"; expect_contains "hostnames" "$(body "$r")" "message"
r=$(api POST /api/v1/sandboxes/sbx-1/egress/allow '{"hosts":["*.com"]}')
expect_eq 400 "$(code "$r")" "public-suffix wildcard"
r=$(api POST /api/v1/sandboxes/sbx-1/egress/allow '{"hosts":')
expect_eq 400 "$(code "$r")" "bad JSON"; expect_contains "bad JSON" "$(body "$r")" "message"
r=$(api POST /api/v1/sandboxes/sbx-1/egress/allow '{"hosts":["a.example"],"colour":1}')
expect_eq 400 "$(code "$r")" "unknown field"; expect_contains colour "$(body "$r")" "message"
r=$(api PUT /api/v1/sandboxes/sbx-1/network '{"egress":{"allowed_cidrs":["10.0.0.0/33"]}}')
expect_eq 400 "$(code "$r")" "bad CIDR"
r=$(api GET "/api/v1/sandboxes/sbx-1/egress/events?limit=abc"); expect_eq 400 "$(code "$r")" "bad limit"
r=$(api POST /api/v1/sandboxes/nope/egress/allow '{"hosts":["a.example"]}'); expect_eq 404 "$(code "$r")" "allow on unknown sandbox"
r=$(sbx curl -s --max-time 5 -w '\n%{http_code}' http://127.0.0.1:15000/healthz); expect_eq 401 "$(code "$r")" "TCP without token"
r=$(sbx curl -s --max-time 5 -H "Authorization: Bearer wrong-token-wrong-token" -w '\n%{http_code}' http://127.0.0.1:15000/api/v1/sandboxes)
expect_eq 401 "$(code "$r")" "TCP with a wrong token"
r=$(sbx curl -s --max-time 5 -H "Authorization: Bearer $(cat "$TOKEN")" -w '\n%{http_code}' http://127.0.0.1:15000/api/v1/sandboxes)
expect_eq 200 "$(code "$r")" "TCP with the token"
expect_eq 660 "$(stat -c %a "$ASOCK")" "socket mode"
case_end

case_begin admin_allow_applies_at_once
out=$(sbx_curl https://denied.example.com/ 2>&1); rc=$?
expect_rc_in "35 56" "$rc" "before: denied (out: $out)"
r=$(api POST /api/v1/sandboxes/sbx-1/egress/allow '{"hosts":["denied.example.com"]}')
expect_eq 200 "$(code "$r")" "allow status"
expect_eq api "$(body "$r" | jq_py "d['source']")" "source is api"
out=$(sbx_curl https://denied.example.com/ 2>&1); rc=$?
expect_eq 0 "$rc" "after allow: curl exit (out: $out)"
expect_contains "hello from denied.example.com" "$out" "body"
case_end

case_begin admin_deny_revokes_live_connection
(CURL_MAX_TIME=30 sbx_curl --limit-rate 2M -o /dev/null https://denied.example.com/blob 2>/dev/null; echo $? >"$E2E_TMP/rev.rc") &
cpid=$!
sleep 1
r=$(api POST /api/v1/sandboxes/sbx-1/egress/deny '{"hosts":["denied.example.com"]}')
expect_eq 200 "$(code "$r")" "deny status"
wait "$cpid"
expect_rc_in "18 56" "$(cat "$E2E_TMP/rev.rc")" "the running download was cut"
expect_event "e['action']=='end' and e.get('reason')=='revoked' and h(e)=='denied.example.com'" "end event, reason revoked"
out=$(sbx_curl https://denied.example.com/ 2>&1); rc=$?
expect_rc_in "35 56" "$rc" "new connection denied"
expect_event "e['action']=='deny' and e.get('reason')=='denied-by-rule' and h(e)=='denied.example.com'" "deny event"
case_end

case_begin admin_disable_enable
r=$(api POST /api/v1/sandboxes/sbx-1/egress/disable); expect_eq 200 "$(code "$r")" "disable"
out=$(sbx_curl https://evil.example.com/ 2>&1); rc=$?
expect_eq 0 "$rc" "intercept off: anything passes (out: $out)"
expect_event "e['action']=='allow' and e.get('reason')=='intercept-off' and h(e)=='evil.example.com'" "allow intercept-off"
r=$(api POST /api/v1/sandboxes/sbx-1/egress/enable); expect_eq 200 "$(code "$r")" "enable"
out=$(sbx_curl https://evil.example.com/ 2>&1); rc=$?
expect_rc_in "35 56" "$rc" "intercept on again"
case_end

case_begin admin_events_newest_first
sleep 0.3
r=$(api GET "/api/v1/sandboxes/sbx-1/egress/events?limit=3&action=deny")
expect_eq 200 "$(code "$r")" "events status"
expect_eq 3 "$(body "$r" | jq_py "len(d)")" "three events"
expect_eq "deny deny deny" "$(body "$r" | jq_py "' '.join(e['action'] for e in d)")" "only denies"
expect_eq True "$(body "$r" | jq_py "all(d[i]['ts'] >= d[i+1]['ts'] for i in range(len(d)-1))")" "newest first"
case_end

case_begin admin_metrics_parse
r=$(api GET /metrics); expect_eq 200 "$(code "$r")" "metrics status"
out=$(body "$r" | /usr/bin/python3 -c '
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(sys.stdin.read())}
conn = sum(s.value for s in fams["egressd_connections"].samples if s.labels.get("action") == "deny")
print("families", len(fams), "denies", int(conn), "hist" if "egressd_decision_duration_seconds" in fams else "nohist")
' 2>&1)
expect_match "^families [0-9]+ denies [1-9][0-9]* hist$" "$out" "parsed by prometheus_client"
case_end

case_begin admin_put_creates_sandbox_and_persists
r=$(api PUT /api/v1/sandboxes/new-1/network '{"mode":"block-all","sources":["198.51.100.0/24"],"egress":{"allowed_domains":["x.example"],"allowed_ports":[443,"8000-8100"]}}')
expect_eq 200 "$(code "$r")" "PUT status"
expect_eq "[443, '8000-8100']" "$(body "$r" | jq_py "d['egress']['allowed_ports']")" "ports"
egressd_restart "$cfg" || ck_fail "restart failed"
r=$(api GET /api/v1/sandboxes/new-1/network); expect_eq 200 "$(code "$r")" "new-1 after restart"
expect_eq api "$(body "$r" | jq_py "d['source']")" "source after restart"
r=$(api GET /api/v1/sandboxes/sbx-1/network)
expect_contains denied.example.com "$(body "$r" | jq_py "d['egress']['denied_domains']")" "sbx-1 deny kept"
case_end

case_begin admin_kill9_during_changes_leaves_loadable_state
( for i in $(seq 1 60); do
    api POST /api/v1/sandboxes/sbx-1/egress/allow "{\"hosts\":[\"h$i.example\"]}" >/dev/null 2>&1
  done ) &
bpid=$!
sleep 0.4
kill -KILL "$(egressd_pid)"
wait "$bpid" 2>/dev/null
"$E2E_EGRESSD" -c "$cfg" --check >"$E2E_TMP/check.out" 2>&1; rc=$?
expect_eq 0 "$rc" "--check after kill -9 ($(head -3 "$E2E_TMP/check.out"))"
"$E2E_PY" -c "import json; json.load(open('$STATE/state.json'))" 2>/dev/null || ck_fail "state.json is not valid JSON"
egressd_restart "$cfg" || ck_fail "egressd does not start from the state left by kill -9"
case_end

case_begin admin_reload_route
r=$(api POST /api/v1/reload); expect_eq 200 "$(code "$r")" "reload"
expect_eq True "$(body "$r" | jq_py "d['reloaded']")" "reloaded"
cp "$cfg" "$cfg.bak"; echo "bogus_key: 1" >>"$cfg"
r=$(api POST /api/v1/reload); expect_eq 400 "$(code "$r")" "reload of a bad file"
expect_contains "bogus_key" "$(body "$r")" "errors name the key"
cp "$cfg.bak" "$cfg"
r=$(api POST /api/v1/reload)
expect_eq "[]" "$(body "$r" | jq_py "json.dumps(d['warnings'])")" "no start-only key changed: no warnings"
case_end

# A reload that changes start-only keys applies the policy and names them.
case_begin admin_reload_start_only_keys
cp "$cfg" "$cfg.bak"
printf 'workers: 3\n' >>"$cfg"
sed -i "s|\"127.0.0.1:15053\", \"\[::1\]:15053\"|\"127.0.0.1:15053\"|" "$cfg"
r=$(api POST /api/v1/reload); expect_eq 200 "$(code "$r")" "reload ($(body "$r"))"
expect_eq "workers dns.listen" "$(body "$r" | jq_py "' '.join(w['key'] for w in d['warnings'])")" "warnings name the keys"
retry_until 3 grep -q "reload: workers changed; it applies after a restart" "$E2E_ELOG" ||
  ck_fail "no log line for workers"
cp "$cfg.bak" "$cfg"
r=$(api POST /api/v1/reload); expect_eq 200 "$(code "$r")" "reload back"
case_end

# GET /api/v1/explain judges a URL (method, path) and a destination.
case_begin admin_explain_url_dst
r=$(api GET "/api/v1/explain?sandbox=sbx-1&url=http://allowed.example.com/x&method=POST")
expect_eq 200 "$(code "$r")" "explain url ($(body "$r"))"
expect_eq "http POST /x allow" "$(body "$r" | jq_py "d['proto'], d['method'], d['path'], d['action']" | tr -d "(),'")" "url judged as HTTP"
r=$(api GET "/api/v1/explain?sandbox=sbx-1&host=allowed.example.com&dst=10.0.0.1")
expect_eq "deny private-destination 10.0.0.1" "$(body "$r" | jq_py "d['action'], d['reason'], d['dst']" | tr -d "(),'")" "dst judged"
r=$(api GET "/api/v1/explain?sandbox=sbx-1&host=a&url=http://b/")
expect_eq 400 "$(code "$r")" "host and url together"
case_end
