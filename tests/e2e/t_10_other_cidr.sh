#!/usr/bin/env bash
# Server-speaks-first protocol to a destination allowed by an IP-literal host
# rule (= /32 cidr): decided at accept time, so the banner arrives without the
# client sending anything (docs/config.md).
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_case_env

# banner IP PORT WAIT_S: prints "<outcome> <first line> <seconds to first byte>"
banner() {
  sbx_py "$@" <<PYEOF
$PY_PRELUDE
s = connect(sys.argv[1], int(sys.argv[2]))
t0 = time.time()
s.settimeout(float(sys.argv[3]))
try:
    d = s.recv(100)
    how = "data" if d else "eof"
except socket.timeout:
    how, d = "timeout", b""
except OSError:     # a reset, whatever errno it surfaces as
    how, d = "reset", b""
dt = time.time() - t0
if how == "data":   # the relay works both ways too
    s.sendall(b"ping\n")
    s.settimeout(3)
    try:
        echo = s.recv(100)
    except OSError as x:
        echo = repr(x).encode()
    how = "data+echo" if echo == b"ping\n" else "data+noecho(%r)" % echo
print(how, d.decode("latin-1").strip() or "-", "%.2f" % dt)
PYEOF
}

# With deny host rules in the policy the decision needs the (absent) host, so
# the test runs with the same policy minus its deny rules.
cfg=$E2E_TMP/egressd-nodeny.yaml
cfg_write "$cfg" nodeny
case_begin other_cidr_server_speaks_first
if egressd_restart "$cfg" 2>"$E2E_TMP/start.err"; then
  res=$(banner "$IP_C" 2222 1)
  expect_match "^data\+echo SSH-2\.0-fake " "$res" "banner within 1 s without sending (outcome first-line seconds)"
  if expect_event "e['action']=='allow' and e.get('dst')=='203.0.113.30:2222'" "allow event"; then
    expect_json "$EV" "e.get('proto')=='other' and e.get('host') is None" "proto other, host null"
    expect_json "$EV" "e.get('policy')=='agent' and '203.0.113.30' in (e.get('rule') or '')" "policy/rule"
  fi
else
  ck_fail "egressd did not start with the no-deny config: $(cat "$E2E_TMP/start.err")"
fi
case_end

case_begin other_not_allowed_denied
res=$(banner "$IP_A" 2222 4)
expect_match "^reset - " "$res" "outcome to a destination no cidr allows"
if expect_event "e['action']=='deny' and e.get('dst')=='203.0.113.10:2222'" "deny event"; then
  expect_json "$EV" "e.get('reason') in ('no-matching-allow','peek-timeout') and e.get('host') is None" "reason/host"
fi
case_end

# With the default config (it has a deny host rule) the decision waits for
# the peek timeout (1 s), then the silent client is `other` and the cidr
# allows it: the banner still arrives, late.
case_begin other_cidr_after_peek_timeout
if egressd_restart "$E2E_CFG_DEFAULT" 2>"$E2E_TMP/start.err"; then
  res=$(banner "$IP_C" 2222 4)
  expect_match "^data\+echo SSH-2\.0-fake " "$res" "banner after the peek timeout (outcome first-line seconds)"
  expect_event "e['action']=='allow' and e.get('dst')=='203.0.113.30:2222' and e.get('proto')=='other'" "allow event"
else
  ck_fail "egressd did not restart with the default config: $(cat "$E2E_TMP/start.err")"
fi
case_end
