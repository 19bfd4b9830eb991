#!/usr/bin/env bash
# The enforcement self-test (docs/deploy.md): egressd --self-test proves
# the redirect rules in its namespace, fails by name without them or with
# a partial set; limits.require_enforcement refuses to start then;
# egressctl doctor asks a running egressd for the same report.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_case_env

CTL=$(dirname "$E2E_EGRESSD")/egressctl
ASOCK=$E2E_TMP/st.sock
cfg=$E2E_TMP/st.yaml
cfg_write "$cfg"
printf 'admin: { socket: %s }\n' "$ASOCK" >>"$cfg"
selftest() { timeout 30 ip netns exec "$E2E_SBX" "$E2E_EGRESSD" -c "$cfg" --self-test 2>&1; }

case_begin self_test_passes_with_the_rules
out=$(selftest); rc=$?
expect_eq 0 "$rc" "exit with the rules ($out)"
for p in tcp4 tcp6 dns udp443 icmp; do
  grep -q "^$p: ok\$" <<<"$out" || ck_fail "$p not covered"
done
case_end

case_begin self_test_fails_by_name_without_rules
redirect_remove
out=$(selftest); rc=$?
expect_eq 1 "$rc" "exit without rules"
for p in tcp4 tcp6 dns udp443 icmp; do
  expect_match "$p: FAIL \(" "$out" "$p fails by name"
done
# a partial set: IPv4 only
redirect_install >/dev/null 2>&1
ip netns exec "$E2E_SBX" ip6tables -w -t nat -D OUTPUT -j EGRESSD 2>/dev/null
out=$(selftest); rc=$?
expect_eq 1 "$rc" "exit with IPv6 uncovered"
expect_match "tcp4: ok" "$out" "tcp4 still covered"
expect_match "tcp6: FAIL \(" "$out" "tcp6 named"
redirect_remove
redirect_install >/dev/null 2>&1 || ck_fail "could not put the rules back"
case_end

case_begin require_enforcement_refuses_to_start
bad=$E2E_TMP/st-require.yaml
cfg_write "$bad"
sed -i "s|^limits: .*|limits: { peek_timeout_ms: 1000, require_enforcement: true }|" "$bad"
egressd_stop
redirect_remove
timeout 30 ip netns exec "$E2E_SBX" "$E2E_EGRESSD" -c "$bad" >"$E2E_TMP/require.out" 2>&1; rc=$?
expect_eq 1 "$rc" "egressd exits 1 without the rules"
grep -q "require_enforcement: tcp4: FAIL" "$E2E_TMP/require.out" || ck_fail "the failing probe is not named: $(tail -3 "$E2E_TMP/require.out")"
redirect_install >/dev/null 2>&1 || ck_fail "could not put the rules back"
if egressd_restart "$bad" 2>"$E2E_TMP/start.err"; then
  grep -q "require_enforcement: every self-test probe covered" "$E2E_ELOG" || ck_fail "no log line for the passed probes"
  out=$(sbx_curl https://allowed.example.com/ 2>&1); rc=$?
  expect_eq 0 "$rc" "egressd serves once it started ($out)"
else
  ck_fail "egressd did not start with the rules in place: $(cat "$E2E_TMP/start.err")"
fi
case_end

case_begin egressctl_doctor
if egressd_restart "$cfg" 2>"$E2E_TMP/start.err"; then
  out=$(ip netns exec "$E2E_SBX" "$CTL" -s "$ASOCK" doctor 2>&1); rc=$?
  expect_eq 0 "$rc" "doctor exit ($out)"
  expect_match "icmp: ok" "$out" "doctor lists the probes"
  out=$(ip netns exec "$E2E_SBX" "$CTL" -s "$ASOCK" --json doctor 2>&1)
  expect_json "$out" "e['ok'] is True and len(e['probes'])==5" "the API's JSON"
else
  ck_fail "egressd did not start: $(cat "$E2E_TMP/start.err")"
fi
case_end
