#!/usr/bin/env bash
# Credentials injected into intercepted HTTPS (a policy's credentials): the
# upstream gets `header: value` read from value_file, whatever the client
# sent under that name; the value never shows in anything egressd writes or
# answers; SIGHUP re-reads it.  Phantom credentials: the secret goes in only
# for a request that presents the sandbox's phantom token (admin API and
# egressctl phantom; rotation; kept in state_dir across a restart), else 403
# credential-missing.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_case_env

CTL=$(dirname "$E2E_EGRESSD")/egressctl
MITM_CA=$E2E_TMP/mitm-ca
if [ ! -s "$MITM_CA/ca.crt" ]; then
  ca_gen "$MITM_CA"
  [ $? = 1 ] && { fail cred_setup "no interception CA: $CA_GEN_ERR"; exit 1; }
fi
SEC=$E2E_TMP/secrets
mkdir -p "$SEC"
SECRET="sk-test-SECRET123" PSECRET="sk-test-PHANTOM456" RSECRET="sk-test-ROTATED789"
printf 'Bearer %s\n' "$SECRET" >"$SEC/api"
printf 'Bearer %s\n' "$PSECRET" >"$SEC/phantom"
chmod 600 "$SEC/api" "$SEC/phantom"

mitm_cfg cred "$MITM_CA"
cat >>"$cfg" <<EOF
policies:
  agent:
    mode: block-all
    allow: { hosts: ["api.example.com", "a.intercept.example", "phantom.intercept.example"] }
    intercept_tls: ["api.example.com", "*.intercept.example"]
    credentials:
      - host: api.example.com
        header: Authorization
        value_file: $SEC/api
      - host: phantom.intercept.example
        header: Authorization
        value_file: $SEC/phantom
        phantom: true
sandboxes:
  - id: sbx-1
    policies: [agent]
EOF
if ! egressd_restart "$cfg" 2>"$E2E_TMP/start.err"; then
  fail cred_setup "egressd did not start with credentials: $(cat "$E2E_TMP/start.err")"
  exit 1
fi

# auth_of JSON: the Authorization values fakenet's /headers saw, one a line
# ("<no answer: ...>" when the answer is not /headers' JSON).
auth_of() {
  "$E2E_PY" -c '
import json, sys
try:
    d = json.loads(sys.argv[1].strip().splitlines()[0])
except Exception:
    print("<no answer: %s>" % sys.argv[1][:200]); sys.exit(0)
for k, v in d["headers"]:
    if k.lower() == "authorization":
        print(v)' "$1"
}
# seen URL CURL_ARGS...: the Authorization values upstream got for a curl request
seen() { local u=$1; shift; auth_of "$(mitm_curl -s "$@" "$u" 2>&1)"; }
code() { mitm_curl -s -o /dev/null -w '%{http_code}' "$@" 2>&1; }

case_begin credential_injected
upstream_mark
expect_eq "Bearer $SECRET" "$(seen https://api.example.com/headers)" "no Authorization from the client: upstream gets the secret (newline dropped)"
expect_eq "Bearer $SECRET" "$(seen https://api.example.com/headers -H 'Authorization: Bearer mine')" "the client's own Authorization is replaced"
# two of them, in two spellings, and an unrelated header that must pass
out=$(sbx_py "$IP_A" "$MITM_CA/ca.crt" 2>&1 <<PY
$PY_PRELUDE
$PY_TLS
s = tls_connect(sys.argv[1], "api.example.com", sys.argv[2])
st, body = exchange(s, b"GET /headers HTTP/1.1\r\nHost: api.example.com\r\nAuthorization: Bearer one\r\n"
                       b"X-Keep: yes\r\nauthorization: Bearer two\r\n\r\n")
print(body.decode() if st.startswith("HTTP/1.1 200") else "%s %r" % (st, body))
PY
)
expect_eq "Bearer $SECRET" "$(auth_of "$out")" "two client Authorization headers: upstream gets the secret once"
expect_contains '["X-Keep", "yes"]' "$out" "other headers pass unchanged"
expect_event "e['action']=='allow' and e.get('proto')=='https' and h(e)=='api.example.com' and e.get('path')=='/headers'" "allow event" >/dev/null
# a host with no credential: the client's header goes through as sent
expect_eq "Bearer mine" "$(seen https://a.intercept.example/headers -H 'Authorization: Bearer mine')" "no credential for a.intercept.example: the client's header untouched"
case_end

case_begin credential_sighup_rotates
n0=$(reloads_applied)
printf 'Bearer %s\n' "$RSECRET" >"$SEC/api"
kill -HUP "$(egressd_pid)"
retry_until 5 reloaded_since "$n0" || ck_fail "no 'reload applied' in egressd's log"
expect_eq "Bearer $RSECRET" "$(seen https://api.example.com/headers)" "after SIGHUP the new value"
case_end

# ------------------------------------------------------------ phantom tokens
# token_of ANSWER: the token of a {"token": "..."} answer (e2e_api output)
token_of() {
  "$E2E_PY" -c '
import json, sys
lines = sys.argv[1].rstrip("\n").split("\n")
try:
    print(json.loads("\n".join(lines[:-1]))["token"] if lines[-1] == "200" else "")
except Exception:
    print("")' "$1"
}
is_token() { [[ $1 =~ ^[0-9a-f]{64}$ ]]; }
P=https://phantom.intercept.example

case_begin phantom_token
out=$(e2e_api GET /api/v1/sandboxes/sbx-1/phantom)
tok=$(token_of "$out")
is_token "$tok" || ck_fail "GET .../phantom: expected {\"token\": 64 hex digits}, got: $out"
expect_eq "Bearer $PSECRET" "$(seen "$P/headers/with" -H "Authorization: Bearer $tok")" "with the token, upstream gets the secret"
upstream_mark
audit_mark
expect_eq 403 "$(code "$P/headers/none")" "without the token"
if expect_event "e['action']=='deny' and h(e)=='phantom.intercept.example' and e.get('path')=='/headers/none'" "deny event"; then
  expect_json "$EV" "e.get('reason')=='credential-missing' and e.get('proto')=='https'" "reason credential-missing"
fi
wrong=$(printf '%064x' 12345)
expect_eq 403 "$(code "$P/headers/wrong" -H "Authorization: Bearer $wrong")" "with a wrong token"
expect_event "e['action']=='deny' and e.get('path')=='/headers/wrong' and e.get('reason')=='credential-missing'" "deny event, wrong token" >/dev/null
expect_eq 403 "$(code "$P/headers/secret" -H "Authorization: Bearer $PSECRET")" "with the secret itself (not the token)"
expect_unseen /headers/none "the request without the token"
expect_unseen /headers/wrong "the request with a wrong token"
expect_unseen /headers/secret "the request with the secret instead of the token"
if [ -x "$CTL" ]; then
  out=$(timeout 10 "$CTL" -s "$ASOCK" phantom sbx-1 2>&1); rc=$?
  expect_eq 0 "$rc" "egressctl phantom sbx-1 ($out)"
  expect_contains "$tok" "$out" "egressctl phantom prints the token"
else
  ck_fail "no egressctl next to egressd ($CTL)"
fi
case_end

case_begin phantom_rotate
out=$(e2e_api POST /api/v1/sandboxes/sbx-1/phantom/rotate)
tok2=$(token_of "$out")
is_token "$tok2" || ck_fail "POST .../phantom/rotate: expected {\"token\": 64 hex digits}, got: $out"
[ -n "$tok2" ] && [ "$tok2" = "$tok" ] && ck_fail "rotate answered the old token"
expect_eq "$tok2" "$(token_of "$(e2e_api GET /api/v1/sandboxes/sbx-1/phantom)")" "GET answers the rotated token"
expect_eq 403 "$(code "$P/headers/old" -H "Authorization: Bearer $tok")" "the old token is refused"
expect_eq "Bearer $PSECRET" "$(seen "$P/headers/new" -H "Authorization: Bearer $tok2")" "the new token works"
tok3=""
if [ -x "$CTL" ]; then
  out=$(timeout 10 "$CTL" -s "$ASOCK" phantom sbx-1 --rotate 2>&1); rc=$?
  expect_eq 0 "$rc" "egressctl phantom sbx-1 --rotate ($out)"
  tok3=$(grep -oE '[0-9a-f]{64}' <<<"$out" | head -n 1)
  if ! is_token "$tok3" || [ "$tok3" = "$tok2" ]; then ck_fail "egressctl phantom --rotate did not print a new token: $out"; fi
  expect_eq "$tok3" "$(token_of "$(e2e_api GET /api/v1/sandboxes/sbx-1/phantom)")" "GET answers egressctl's new token"
fi
[ -n "$tok3" ] || tok3=$tok2
case_end

case_begin phantom_token_survives_restart
if [ -z "$tok3" ]; then
  ck_fail "no phantom token to compare (the API gave none)"
elif egressd_restart "$cfg" 2>"$E2E_TMP/start.err"; then
  expect_eq "$tok3" "$(token_of "$(e2e_api GET /api/v1/sandboxes/sbx-1/phantom)")" "the token after a restart (state_dir)"
  expect_eq "Bearer $PSECRET" "$(seen "$P/headers/restart" -H "Authorization: Bearer $tok3")" "and it still works"
else
  ck_fail "egressd did not restart: $(cat "$E2E_TMP/start.err")"
fi
case_end

# ------------------------------------------------------------ never shown
# Everything egressd writes or answers, except the phantom endpoints (which
# answer the token by design) and the fakenet /headers echoes above.
# A value_file is read by egressd and sent out: only the operator's config
# file may name one, never a policy put through the admin API.
case_begin credentials_not_through_the_api
out=$(e2e_api PUT /api/v1/policies/exfil '{"allow": {"hosts": ["api.example.com"]}, "intercept_tls": ["api.example.com"], "credentials": [{"host": "api.example.com", "header": "X-Leak", "value_file": "/etc/hostname"}]}')
expect_eq 400 "$(printf '%s\n' "$out" | tail -n 1)" "PUT policy with credentials (out: $out)"
expect_contains "set in the config file" "$out" "says why"
out=$(e2e_api GET /api/v1/policies/exfil)
expect_eq 404 "$(printf '%s\n' "$out" | tail -n 1)" "nothing was made"
case_end

case_begin secrets_never_shown
api() { e2e_api GET "$1" >"$E2E_TMP/leak-$2.txt" 2>&1; }
api /metrics metrics
api /api/v1/sandboxes sandboxes
api /api/v1/sandboxes/sbx-1/network network
api /api/v1/policies policies
api /api/v1/policies/agent policy
api "/api/v1/events?limit=200" events
api "/api/v1/sandboxes/sbx-1/egress/events?limit=200" sbx-events
api /api/v1/stats stats
api "/api/v1/explain?sandbox=sbx-1&url=https://api.example.com/headers" explain-url
api "/api/v1/explain?sandbox=sbx-1&host=phantom.intercept.example" explain-host
timeout 10 "$E2E_EGRESSD" -c "$cfg" --explain sbx-1 https://api.example.com/headers >"$E2E_TMP/leak-egressd-explain.txt" 2>&1
if [ -x "$CTL" ]; then
  for c in "explain sbx-1 https://api.example.com/headers" "policy get agent" "table sbx-1" \
    "events --limit 200" "stats" "sandboxes"; do
    # shellcheck disable=SC2086
    timeout 10 "$CTL" -s "$ASOCK" $c >"$E2E_TMP/leak-ctl-${c%% *}.txt" 2>&1
  done
fi
where=("$E2E_AUDIT" "$E2E_ELOG" "$E2E_TMP"/leak-*.txt)
for s in "$SECRET" "$PSECRET" "$RSECRET" "$tok" "$tok2" "$tok3"; do
  [ -n "$s" ] || continue
  hits=$(grep -lF -- "$s" "${where[@]}" 2>/dev/null | sed "s|$E2E_TMP/||")
  [ -n "$hits" ] && ck_fail "'$s' appears in: $(tr '\n' ' ' <<<"$hits")"
done
# the secrets are not in state_dir either (the tokens are, by design)
for s in "$SECRET" "$PSECRET" "$RSECRET"; do
  hits=$(grep -rlF -- "$s" "$STATE" 2>/dev/null)
  [ -n "$hits" ] && ck_fail "'$s' is written in state_dir: $hits"
done
expect_contains "egressd_" "$(cat "$E2E_TMP/leak-metrics.txt")" "(control) /metrics answered"
expect_contains "sbx-1" "$(cat "$E2E_TMP/leak-sandboxes.txt")" "(control) /api/v1/sandboxes answered"
case_end
