#!/usr/bin/env bash
# egressctl (docs/egressctl.md) against a running egressd: every command, its human
# and JSON output, and its exit codes.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_case_env

CTL=$(dirname "$E2E_EGRESSD")/egressctl
ASOCK=$E2E_TMP/ctl-admin.sock
cfg=$E2E_TMP/ctl.yaml
cfg_write "$cfg"
printf 'admin: { socket: %s }\nstate_dir: %s\n' "$ASOCK" "$E2E_TMP/ctl-state" >>"$cfg"
rm -rf "$E2E_TMP/ctl-state"
if [ ! -x "$CTL" ]; then
  fail egressctl_present "no egressctl next to $E2E_EGRESSD"
  exit 0
fi
egressd_restart "$cfg" || fail egressctl_setup "egressd did not start"
ctl() { sbx "$CTL" -s "$ASOCK" "$@"; }

case_begin egressctl_sandboxes_and_table
out=$(ctl sandboxes 2>&1); rc=$?
expect_eq 0 "$rc" "sandboxes exit ($out)"
expect_match "^ID +SOURCES" "$(head -1 <<<"$out")" "header"
expect_contains "sbx-1" "$out" "row"
out=$(ctl table sbx-1 2>&1); rc=$?
expect_eq 0 "$rc" "table exit ($out)"
expect_contains "allow.hosts" "$out" "kind column"
expect_contains "*.wild.example.org" "$out" "pattern"
expect_contains "policy agent" "$out" "from column"
out=$(ctl --json sandboxes 2>&1)
expect_eq sbx-1 "$("$E2E_PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])' <<<"$out")" "--json"
case_end

case_begin egressctl_allow_deny_unallow
out=$(ctl allow sbx-1 evil.example.com 2>&1); rc=$?
expect_eq 0 "$rc" "allow exit ($out)"
out=$(sbx_curl https://evil.example.com/ 2>&1); rc=$?
expect_eq 0 "$rc" "allowed at once (out: $out)"
out=$(ctl deny sbx-1 evil.example.com 2>&1); rc=$?
expect_eq 0 "$rc" "deny exit ($out)"
out=$(sbx_curl https://evil.example.com/ 2>&1); rc=$?
expect_rc_in "35 56" "$rc" "denied at once"
out=$(ctl unallow sbx-1 evil.example.com 2>&1); rc=$?
expect_eq 0 "$rc" "unallow exit ($out)"
out=$(ctl table sbx-1 2>&1)
expect_contains "sandbox sbx-1 (api)" "$out" "inline rules shown with their source"
case_end

# undeny takes the host off the deny list: traffic the policy allows
# flows again (unallow would not have: it leaves the deny list alone).
case_begin egressctl_undeny_allows_again
out=$(ctl deny sbx-1 allowed.example.com 2>&1); rc=$?
expect_eq 0 "$rc" "deny exit ($out)"
out=$(sbx_curl https://allowed.example.com/ 2>&1); rc=$?
expect_rc_in "35 56" "$rc" "denied after deny"
out=$(ctl unallow sbx-1 allowed.example.com 2>&1); rc=$?
expect_eq 0 "$rc" "unallow exit ($out)"
out=$(sbx_curl https://allowed.example.com/ 2>&1); rc=$?
expect_rc_in "35 56" "$rc" "still denied after unallow"
out=$(ctl undeny sbx-1 allowed.example.com 2>&1); rc=$?
expect_eq 0 "$rc" "undeny exit ($out)"
expect_eq "sbx-1: undenied allowed.example.com" "$out" "undeny output"
out=$(sbx_curl https://allowed.example.com/ 2>&1); rc=$?
expect_eq 0 "$rc" "allowed again after undeny (out: $out)"
expect_event 'e["action"] == "allow" and h(e) == "allowed.example.com"' "allow event after undeny"
case_end

# explain with a URL and a destination, against the running egressd
case_begin egressctl_explain_url_dst
out=$(ctl explain sbx-1 http://a.wild.example.org/some/path --method PUT 2>&1); rc=$?
expect_eq 0 "$rc" "explain url exit ($out)"
expect_contains "sbx-1 a.wild.example.org:80 -> allow" "$out" "first line"
expect_contains "method: PUT" "$out" "method line"
out=$(ctl explain sbx-1 a.wild.example.org --dst 10.99.0.1 2>&1)
expect_contains "reason: private-destination" "$out" "private dst"
out=$(ctl explain sbx-1 $IP_C 2>&1)
expect_contains "-> allow" "$out" "IP literal host rule"
out=$(ctl explain sbx-1 $IP_C --dst $IP_A 2>&1)
expect_contains "reason: destination-mismatch" "$out" "IP literal naming another address"
case_end

case_begin egressctl_enable_disable_explain
out=$(ctl disable sbx-1 2>&1); rc=$?; expect_eq 0 "$rc" "disable ($out)"
out=$(ctl explain sbx-1 anything.example 2>&1)
expect_contains "allow" "$out" "intercept off allows"
out=$(ctl enable sbx-1 2>&1); rc=$?; expect_eq 0 "$rc" "enable ($out)"
out=$(ctl explain sbx-1 a.b.wild.example.org 443 2>&1); rc=$?
expect_eq 0 "$rc" "explain exit"
expect_contains "allow.hosts *.wild.example.org" "$out" "deciding rule"
out=$(ctl explain sbx-1 wild.example.org 2>&1)
expect_contains "no-matching-allow" "$out" "apex denied"
case_end

case_begin egressctl_events_stats_reload
sleep 0.5
out=$(ctl events --sandbox sbx-1 --limit 5 2>&1); rc=$?
expect_eq 0 "$rc" "events exit ($out)"
n=$(grep -c "sbx-1" <<<"$out"); [ "$n" -ge 1 ] && [ "$n" -le 5 ] || ck_fail "events --limit 5 printed $n rows: $out"
out=$(ctl events --action deny --limit 3 --json 2>&1)
expect_eq "deny" "$("$E2E_PY" -c 'import json,sys; print(" ".join(sorted(set(e["action"] for e in json.load(sys.stdin)))))' <<<"$out")" "--action deny --json"
out=$(ctl stats 2>&1); rc=$?
expect_eq 0 "$rc" "stats exit"
expect_match "connections.allow +[0-9]+" "$out" "stats lines"
out=$(ctl reload 2>&1); rc=$?
expect_eq 0 "$rc" "reload exit ($out)"
case_end

case_begin egressctl_exit_codes
ctl table no-such-sandbox >/dev/null 2>&1; expect_eq 1 "$?" "unknown sandbox: 1"
ctl allow sbx-1 "https://x.example/" >/dev/null 2>&1; expect_eq 1 "$?" "bad host: 1"
ctl allow sbx-1 >/dev/null 2>&1; expect_eq 2 "$?" "missing host: 2"
ctl frobnicate >/dev/null 2>&1; expect_eq 2 "$?" "unknown command: 2"
sbx "$CTL" -s "$E2E_TMP/nothing.sock" sandboxes >/dev/null 2>&1; expect_eq 3 "$?" "no socket: 3"
out=$(ctl table no-such-sandbox 2>&1)
expect_match "^egressctl: .*no sandbox" "$out" "one-line reason"
case_end
