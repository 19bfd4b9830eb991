#!/usr/bin/env bash
# Start-up as an operator meets it (docs/deploy.md, docs/config.md):
# upstream.mark without CAP_NET_ADMIN is a clear error and exit 1, mark 0
# warns and runs; the audit file's directory is made (0750) when missing;
# a second egressd on a port in use refuses to start;
# conf/logrotate.egressd leaves a file the (non-root) egressd user can
# open after rotation.  Runs egressd in a namespace of its own (no
# traffic), as uid 65534 where CAP_NET_ADMIN must be missing.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_case_env

NS=egs-start-$E2E_ID
ip netns add "$NS" || { fail startup_setup "ip netns add $NS failed"; exit 0; }
ip -n "$NS" link set lo up
# uid 65534 must reach the configs: not under E2E_TMP (mode 0700).
D=$(mktemp -d /tmp/egs-start-XXXXXX) || { fail startup_setup "mktemp failed"; exit 0; }
chmod 0755 "$D"
trap 'rm -rf "$D"; ip netns del "$NS" 2>/dev/null' EXIT

startup_cfg() { # startup_cfg FILE MARK AUDIT
  cat >"$1" <<YAML
listen: ["127.0.0.1:25901"]
workers: 1
upstream: { mark: $2 }
audit: { file: "$3" }
state_dir: "$D/state"
sandboxes: [{ id: s, allow: { hosts: [a.example] } }]
YAML
}

# run_as_nobody SECONDS CMD...: in the namespace, as uid/gid 65534 with no
# capabilities, bounded; stdout+stderr in $D/out.
run_as_nobody() {
  local t=$1
  shift
  timeout "$t" ip netns exec "$NS" setpriv --reuid=65534 --regid=65534 \
    --clear-groups --inh-caps=-all "$@" >"$D/out" 2>&1
}

case_begin startup_mark_without_cap_net_admin
startup_cfg "$D/mark.yaml" 0x1e9d -
run_as_nobody 10 "$E2E_EGRESSD" -c "$D/mark.yaml"; rc=$?
expect_eq 1 "$rc" "exit code ($(head -c 400 "$D/out"))"
expect_contains "upstream.mark 0x1e9d cannot be set (SO_MARK needs CAP_NET_ADMIN)" "$(cat "$D/out")" "names the cause"
expect_contains "set upstream.mark: 0" "$(cat "$D/out")" "names the fix"
if grep -q " started: " "$D/out"; then ck_fail "egressd said started"; fi
case_end

case_begin startup_mark_zero_warns_and_runs
startup_cfg "$D/zero.yaml" 0 -
run_as_nobody 2 "$E2E_EGRESSD" -c "$D/zero.yaml"; rc=$?
# timeout ends it (124): it was running, not refused
expect_eq 124 "$rc" "still running after 2 s ($(head -c 400 "$D/out"))"
expect_contains "upstream.mark is 0" "$(cat "$D/out")" "warning"
expect_contains " started: " "$(cat "$D/out")" "started"
case_end

# SO_REUSEPORT would let a second egressd (same user) join the port and
# silently take half of the first one's connections: it must refuse.
case_begin startup_port_taken_refuses
startup_cfg "$D/one.yaml" 0 -
timeout 6 ip netns exec "$NS" setpriv --reuid=65534 --regid=65534 \
  --clear-groups --inh-caps=-all "$E2E_EGRESSD" -c "$D/one.yaml" >"$D/one.out" 2>&1 &
first=$!
for _ in $(seq 1 40); do grep -q " started: " "$D/one.out" && break; sleep 0.1; done
sed -e "s|$D/state|$D/state2|" "$D/one.yaml" >"$D/two.yaml"
run_as_nobody 4 "$E2E_EGRESSD" -c "$D/two.yaml"; rc=$?
expect_eq 1 "$rc" "the second egressd exits 1 ($(head -c 400 "$D/out"))"
expect_contains "is another egressd running?" "$(cat "$D/out")" "says why"
kill "$first" 2>/dev/null; wait "$first" 2>/dev/null
case_end

case_begin startup_makes_audit_dir
rm -rf "$D/log"
startup_cfg "$D/audit.yaml" 0 "$D/log/audit.jsonl"
timeout 2 ip netns exec "$NS" "$E2E_EGRESSD" -c "$D/audit.yaml" >"$D/out" 2>&1; rc=$?
expect_eq 124 "$rc" "ran until stopped ($(head -c 400 "$D/out"))"
[ -d "$D/log" ] || ck_fail "$D/log was not made"
expect_eq 750 "$(stat -c %a "$D/log" 2>/dev/null)" "directory mode"
[ -f "$D/log/audit.jsonl" ] || ck_fail "no audit file in $D/log"
case_end

case_begin startup_logrotate_keeps_nonroot_writer
if ! command -v logrotate >/dev/null 2>&1; then
  case_note "logrotate not installed: skipped"
else
  mkdir -p "$D/rot"
  chown 65534:65534 "$D/rot"
  chmod 0750 "$D/rot"
  echo '{"x":1}' >"$D/rot/audit.jsonl"
  chown 65534:65534 "$D/rot/audit.jsonl"
  # The shipped snippet, pointed at the test's file and at uid 65534 in
  # place of the egressd user; no signal is sent (nothing to reopen).
  sed -e "s|/var/log/egressd/audit.jsonl|$D/rot/audit.jsonl|" \
      -e 's|create 0640 egressd [a-z]*|create 0640 nobody nogroup|' \
      -e 's|pkill -USR1 -x egressd.*|true|' \
      "$E2E_ROOT/conf/logrotate.egressd" >"$D/rot.conf"
  grep -q "create 0640 nobody nogroup" "$D/rot.conf" || ck_fail "the snippet has no 'create 0640 egressd GROUP' line"
  logrotate -f -s "$D/rot.state" "$D/rot.conf" >"$D/out" 2>&1 || ck_fail "logrotate failed: $(head -c 400 "$D/out")"
  expect_eq "65534:65534 640" "$(stat -c '%u:%g %a' "$D/rot/audit.jsonl" 2>/dev/null)" "new file owner and mode"
  setpriv --reuid=65534 --regid=65534 --clear-groups sh -c "echo '{}' >>'$D/rot/audit.jsonl'" ||
    ck_fail "uid 65534 cannot append to the rotated file"
fi
case_end

