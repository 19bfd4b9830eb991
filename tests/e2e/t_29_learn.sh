#!/usr/bin/env bash
# Learn mode (docs/config.md) and suggested policies (docs/admin.md):
# what block-all would refuse for want of an allow passes with reason
# learn and `would`; deny rules, destination checks and private ranges
# still refuse; the DNS filter answers too; `egressctl suggest` prints the
# allow block that would have let it through, ready to paste.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_case_env

CTL=$(dirname "$E2E_EGRESSD")/egressctl
ASOCK=$E2E_TMP/learn-admin.sock
cfg=$E2E_TMP/learn.yaml
cat >"$cfg" <<EOF
listen: ["127.0.0.1:$E2E_PROXY_PORT", "[::1]:$E2E_PROXY_PORT"]
upstream: { mark: $E2E_MARK, connect_timeout_ms: 2000 }
dns: { listen: ["127.0.0.1:15053", "[::1]:15053"], servers: ["$NET_IP"] }
audit: { file: $E2E_AUDIT }
admin: { socket: $ASOCK }
state_dir: $E2E_TMP/learn-state
limits: { peek_timeout_ms: 1000 }
policies:
  agent:
    mode: learn
    allow: { hosts: ["allowed.example.com"] }
    deny: { hosts: ["evil.example.com"] }
sandboxes:
  - id: sbx-1
    policies: [agent]
EOF
ctl() { sbx "$CTL" -s "$ASOCK" "$@"; }
# Two tries, as a stub resolver makes: one CI run lost the first UDP query
# of learn_dns_answers with no trace in egressd (no audit event, no
# answer), not understood yet; these cases are about learn mode, not loss.
sdig() { sbx timeout 15 dig @"$NET_IP" +time=3 +tries=2 "$@" 2>&1; }

egressd_restart "$cfg" 2>"$E2E_TMP/start.err" || fail learn_setup "egressd did not start: $(cat "$E2E_TMP/start.err")"

case_begin learn_lets_unlisted_hosts_through
out=$(sbx_curl https://a.wild.example.org/ 2>&1); rc=$?
expect_eq 0 "$rc" "a host no rule allows passes in learn mode (out: $out)"
if expect_event "e['action']=='allow' and e.get('host')=='a.wild.example.org'" "allow event"; then
  expect_json "$EV" "e.get('reason')=='learn' and e.get('would')=='no-matching-allow'" "reason learn, would no-matching-allow"
fi
out=$(sbx_curl https://allowed.example.com/ 2>&1); rc=$?
expect_eq 0 "$rc" "a listed host passes (out: $out)"
if expect_event "e['action']=='allow' and e.get('host')=='allowed.example.com'" "allow event for the listed host"; then
  expect_json "$EV" "e.get('reason')=='rule' and 'would' not in e" "a rule allowed it: no would"
fi
case_end

case_begin learn_still_refuses
out=$(sbx_curl https://evil.example.com/ 2>&1); rc=$?
[ "$rc" = 0 ] && ck_fail "a deny rule was overridden by learn mode"
expect_event "e['action']=='deny' and e.get('host')=='evil.example.com' and e.get('reason')=='denied-by-rule'" "denied-by-rule" >/dev/null
out=$(sbx_curl --resolve "x.y.wild.example.org:443:$IP_D" https://x.y.wild.example.org/ 2>&1); rc=$?
[ "$rc" = 0 ] && ck_fail "a claimed name on another address got through in learn mode"
expect_event "e['action']=='deny' and e.get('host')=='x.y.wild.example.org' and e.get('reason')=='destination-mismatch'" "destination-mismatch" >/dev/null
out=$(sbx_curl https://private.example.com/ 2>&1); rc=$?
[ "$rc" = 0 ] && ck_fail "a private destination got through in learn mode"
expect_event "e['action']=='deny' and e.get('host')=='private.example.com' and e.get('reason')=='private-destination'" "private-destination" >/dev/null
case_end

case_begin learn_dns_answers
out=$(sdig blocked.wild.example.org A)
expect_contains "NOERROR" "$out" "the DNS filter answers a name no rule allows"
if expect_event "e.get('proto')=='dns' and e.get('host')=='blocked.wild.example.org'" "dns event"; then
  expect_json "$EV" "e['action']=='allow' and e.get('reason')=='learn' and e.get('would')=='no-matching-allow'" "dns: allow, learn"
fi
out=$(sdig evil.example.com A)
expect_contains "NXDOMAIN" "$out" "a denied name is still NXDOMAIN"
case_end

case_begin suggest_collapses_and_pastes
for h in x.y.wild.example.org pypi.org pypi.org; do sbx_curl "https://$h/" >/dev/null 2>&1; done
out=$(ctl --json suggest sbx-1 2>&1); rc=$?
expect_eq 0 "$rc" "suggest --json exit ($out)"
expect_json "$out" "any(h['host']=='*.example.org' and h['count']>=3 for h in e['hosts'])" "three names under example.org fold into *.example.org"
expect_json "$out" "any(h['host']=='pypi.org' and h['count']>=2 for h in e['hosts'])" "pypi.org with its count"
expect_json "$out" "not any(h['host'] in ('allowed.example.com','evil.example.com','private.example.com') for h in e['hosts'])" "nothing that a rule decided"
yaml=$(ctl suggest sbx-1 2>&1); rc=$?
expect_eq 0 "$rc" "suggest exit ($yaml)"
expect_contains '"*.example.org"' "$yaml" "the YAML names the wildcard"
# pasted into a block-all policy, it passes --check
{
  sed -n '/^policies:/q;p' "$cfg"
  printf 'policies:\n  agent:\n    mode: block-all\n'
  sed 's/^/    /' <<<"$yaml"
  printf 'sandboxes:\n  - id: sbx-1\n    policies: [agent]\n'
} >"$E2E_TMP/pasted.yaml"
out=$("$E2E_EGRESSD" -c "$E2E_TMP/pasted.yaml" --check 2>&1); rc=$?
expect_eq 0 "$rc" "the pasted suggestion is a valid config ($out)"
out=$(ctl suggest nosuch 2>&1); rc=$?
[ "$rc" = 0 ] && ck_fail "suggest for an unknown sandbox succeeded ($out)"
case_end
