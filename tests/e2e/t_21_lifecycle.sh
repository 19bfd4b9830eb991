#!/usr/bin/env bash
# Life cycle (docs/deploy.md): SIGTERM stops accepting and lets live connections
# drain; limits.idle_timeout_s ends idle flows; --explain names the rule.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_case_env

cfg=$E2E_TMP/life.yaml
cfg_write "$cfg" nodeny
sed -i "s|^limits: .*|limits: { peek_timeout_ms: 1000, idle_timeout_s: 2, drain_s: 20 }|" "$cfg"
egressd_restart "$cfg" || fail life_setup "egressd did not start"

case_begin explain_cli
out=$("$E2E_EGRESSD" -c "$cfg" --explain sbx-1 x.wild.example.org 443 2>&1); rc=$?
expect_eq 0 "$rc" "exit"
expect_contains "-> allow" "$out" "decision"
expect_contains "allow.hosts *.wild.example.org" "$out" "rule"
out=$("$E2E_EGRESSD" -c "$cfg" --explain sbx-1 wild.example.org 2>&1)
expect_contains "no-matching-allow" "$out" "apex"
case_end

case_begin idle_timeout_ends_flow
# The banner server speaks, then both sides stay silent.
out=$(sbx_py <<PY 2>&1
import socket, time
s = socket.create_connection(("$IP_C", 2222), timeout=10)
s.recv(100)
t0 = time.time()
try:
    r = s.recv(100)
    print("closed after %.1f s" % (time.time() - t0), "eof" if r == b"" else "data")
except ConnectionResetError:
    print("closed after %.1f s reset" % (time.time() - t0))
PY
)
expect_match "closed after [1-4]\.[0-9] s" "$out" "egressd closed the idle flow"
expect_event "e['action']=='end' and e.get('reason')=='idle-timeout' and e.get('dst')=='$IP_C:2222'" "end event, reason idle-timeout"
case_end

case_begin sigterm_drains_live_connections
f=$E2E_TMP/drain.bin
(CURL_MAX_TIME=40 sbx_curl --limit-rate 4M -o "$f" https://allowed.example.com/blob; echo $? >"$E2E_TMP/drain.rc") &
cpid=$!
# Live: bytes have arrived (not a fixed sleep that stands in for it).
retry_until 10 test -s "$f" || ck_fail "the download did not start"
pid=$(egressd_pid)
kill -TERM "$pid"
# Draining: the listener is closed.
for ((i = 0; i < 50; i++)); do egressd_listening || break; sleep 0.1; done
out=$(sbx_curl https://a.wild.example.org/ 2>&1); rc=$?
[ "$rc" != 0 ] || ck_fail "a new connection was accepted while draining"
wait "$cpid"
expect_eq 0 "$(cat "$E2E_TMP/drain.rc")" "the live download finished during the drain"
expect_eq "$(blob_sha256)" "$(sha256sum "$f" | cut -d' ' -f1)" "sha256"
for ((i = 0; i < 50; i++)); do pid_alive "$pid" || break; sleep 0.1; done
pid_alive "$pid" && ck_fail "egressd still running after its last connection ended"
grep -q "draining" "$E2E_ELOG" || ck_fail "no drain message in the log"
case_end
