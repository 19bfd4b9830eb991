# shellcheck shell=bash
# tests/e2e/gateway.sh: the gateway topology t_16 (REDIRECT) and t_35
# (TPROXY) share, sourced after lib.sh and e2e_case_env. Before sourcing,
# set GW_TAG (a short name for namespaces and files) and GW_TPROXY (0 or
# 1). A router namespace RTR with a link to the fake internet and three
# sandboxes behind it (GA 198.18.2.2, GB 198.18.3.2, GC 198.18.4.2, on
# router interfaces gw-2..gw-4), egress-redirect in gateway mode on gw-+,
# and egressd on the router with policies web (team-a, 198.18.2.0/24) and
# wild (team-b, 198.18.3.2/32); GC is in no sandbox.

RTR=egs-${GW_TAG}r-$E2E_ID
GA=egs-${GW_TAG}a-$E2E_ID
GB=egs-${GW_TAG}b-$E2E_ID
GC=egs-${GW_TAG}c-$E2E_ID
GW_CFG=$E2E_TMP/$GW_TAG.yaml
GW_AUDIT=$E2E_TMP/$GW_TAG-audit.jsonl
GW_LOG=$E2E_TMP/$GW_TAG.log
gw_cleanup() {
  local p ns
  [ -n "${GW_PID:-}" ] && kill_pid "$GW_PID" 10
  # at once: a veth goes with its namespace only when the kernel gets to it
  ip -n "$E2E_NET" link del "net-${GW_TAG}rt" 2>/dev/null
  for ns in "$GA" "$GB" "$GC" "$RTR"; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  return 0
}
trap gw_cleanup EXIT

gw_setup() {
  local i ns
  ip netns add "$RTR" || return 1
  ip -n "$RTR" link set lo up
  ip netns exec "$RTR" sysctl -qw net.ipv4.ip_forward=1 || return 1
  # router <-> fake internet
  ip -n "$RTR" link add rt-net type veth peer name "net-${GW_TAG}rt" netns "$E2E_NET" || return 1
  ip -n "$RTR" addr add 198.18.1.2/30 dev rt-net
  ip -n "$E2E_NET" addr add 198.18.1.1/30 dev "net-${GW_TAG}rt"
  ip -n "$RTR" link set rt-net up
  ip -n "$E2E_NET" link set "net-${GW_TAG}rt" up
  ip -n "$RTR" route add default via 198.18.1.1 || return 1
  i=2
  for ns in "$GA" "$GB" "$GC"; do
    ip netns add "$ns" || return 1
    ip -n "$ns" link set lo up
    ip -n "$RTR" link add "gw-$i" type veth peer name eth0 netns "$ns" || return 1
    ip -n "$RTR" addr add "198.18.$i.1/24" dev "gw-$i"
    ip -n "$ns" addr add "198.18.$i.2/24" dev eth0
    ip -n "$RTR" link set "gw-$i" up
    ip -n "$ns" link set eth0 up
    ip -n "$ns" route add default via "198.18.$i.1" || return 1
    i=$((i + 1))
  done
  local tproxy=() listen='"0.0.0.0:15001"'
  if [ "$GW_TPROXY" = 1 ]; then
    tproxy=(--tproxy)
    listen='{ addr: "0.0.0.0:15001", tproxy: true }'
  fi
  ip netns exec "$RTR" "$E2E_ROOT/scripts/egress-redirect" install --mode gateway \
    --in-iface "gw-+" --proxy-port 15001 --dns-port 0 "${tproxy[@]}" >/dev/null || return 1
  cat >"$GW_CFG" <<EOF
listen: [$listen]
upstream: { mark: 0x1e9d, connect_timeout_ms: 2000 }
dns: { servers: ["198.18.1.1"] }
audit: { file: $GW_AUDIT }
limits: { peek_timeout_ms: 1000 }
policies:
  web:
    allow: { hosts: ["allowed.example.com"] }
  wild:
    allow: { hosts: ["*.wild.example.org"] }
sandboxes:
  - id: team-a
    sources: ["198.18.2.0/24"]
    policies: [web]
  - id: team-b
    sources: ["198.18.3.2/32"]
    policies: [wild]
EOF
  ip netns exec "$RTR" "$E2E_EGRESSD" -c "$GW_CFG" >>"$GW_LOG" 2>&1 &
  GW_PID=$!
  register_pid "$GW_PID"
  for ((i = 0; i < 50; i++)); do
    ip netns exec "$RTR" ss -ltnH "( sport = :15001 )" | grep -q . && return 0
    sleep 0.1
  done
  return 1
}

gcurl() { # gcurl NS URL: curl from a gateway sandbox, test names resolved
  local ns=$1; shift
  ip netns exec "$ns" curl -sS --max-time 8 --cacert "$E2E_CA" \
    --resolve "allowed.example.com:443:$IP_A" --resolve "a.wild.example.org:443:$IP_A" "$@"
}
gw_event() { # gw_event PYEXPR: the first gateway audit event matching
  local i
  for ((i = 0; i < 30; i++)); do
    "$E2E_PY" - "$GW_AUDIT" "$1" <<'PY' && return 0
import json, sys
for line in open(sys.argv[1]) if __import__("os").path.exists(sys.argv[1]) else []:
    e = json.loads(line)
    if eval(sys.argv[2]):
        print(line.strip()); sys.exit(0)
sys.exit(1)
PY
    sleep 0.1
  done
  return 1
}

# gw_policy_cases PREFIX: the cases every gateway shape must pass, named
# PREFIX_...: two sandboxes told apart by source, each judged by its own
# policy with the original destination kept; an unlisted source refused.
gw_policy_cases() {
  local p=$1 out rc
  case_begin "${p}_sandbox_a_own_policy"
  out=$(gcurl "$GA" https://allowed.example.com/ 2>&1); rc=$?
  expect_eq 0 "$rc" "team-a to allowed.example.com (out: $out)"
  expect_contains "hello from allowed.example.com" "$out" "body"
  gw_event "e['action']=='allow' and e['sandbox']=='team-a' and e['host']=='allowed.example.com' and e['src'].startswith('198.18.2.2:') and e['dst']=='$IP_A:443'" >/dev/null ||
    ck_fail "no allow event for team-a"
  out=$(gcurl "$GA" https://a.wild.example.org/ 2>&1); rc=$?
  expect_rc_in "35 56" "$rc" "team-a to a.wild.example.org is denied"
  gw_event "e['action']=='deny' and e['sandbox']=='team-a' and e['host']=='a.wild.example.org'" >/dev/null ||
    ck_fail "no deny event for team-a"
  case_end

  case_begin "${p}_sandbox_b_own_policy"
  out=$(gcurl "$GB" https://a.wild.example.org/ 2>&1); rc=$?
  expect_eq 0 "$rc" "team-b to a.wild.example.org (out: $out)"
  out=$(gcurl "$GB" https://allowed.example.com/ 2>&1); rc=$?
  expect_rc_in "35 56" "$rc" "team-b to allowed.example.com is denied"
  gw_event "e['action']=='deny' and e['sandbox']=='team-b' and e['host']=='allowed.example.com' and e['reason']=='no-matching-allow'" >/dev/null ||
    ck_fail "no deny event for team-b"
  case_end

  case_begin "${p}_unlisted_source_denied"
  out=$(gcurl "$GC" https://allowed.example.com/ 2>&1); rc=$?
  expect_rc_in "7 35 56" "$rc" "unlisted source is denied (reset at accept)"
  gw_event "e['action']=='deny' and e['reason']=='unknown-sandbox' and e['src'].startswith('198.18.4.2:') and e['sandbox'] is None" >/dev/null ||
    ck_fail "no unknown-sandbox event"
  case_end
}
