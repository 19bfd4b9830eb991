#!/usr/bin/env bash
# DNS sent to a loopback resolver still reaches egressd's DNS filter
# (docs/deploy.md, "What the redirect rules contain"). Docker's embedded DNS
# is the model: its socket lives in the container's namespace on
# 127.0.0.11:PORT (nat OUTPUT DNATs 127.0.0.11:53 there through a
# DOCKER_OUTPUT chain) while the forwarding is done by dockerd elsewhere,
# out of reach of the container's own rules. Here a python forwarder binds
# its listeners in the sandbox (127.0.0.11:5353 behind the Docker-style
# DNAT, a stub on 127.0.0.53:53, one on [::1]:53) and forwards from the
# fake internet's namespace to the fake internet's DNS, which answers every
# test name. A name no policy allows must get NXDOMAIN from the filter
# (with a deny event) and never reach the forwarder, whether the Docker
# DNAT was there before egress-redirect ran or came after it; an allowed
# name still resolves; and the filter's own upstream may be that loopback
# resolver (its marked queries are exempt, so they are not looped).
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_case_env

# the rules under test: the product's (or E2E_REDIRECT_TOOL's) egress-redirect
REDIRECT=$E2E_REDIRECT_TOOL
[ "$REDIRECT" = none ] && REDIRECT=$E2E_ROOT/scripts/egress-redirect
FWD_LOG=$E2E_TMP/t23-forwarder.log
FWD_READY=$E2E_TMP/t23-forwarder.ready
FWD_PID=

docker_dnat() { # docker_dnat add|del: Docker's embedded-DNS rules, emulated
  local ipt="sbx iptables -w -t nat" p
  if [ "$1" = add ]; then
    $ipt -N DOCKER_OUTPUT || return 1
    for p in udp tcp; do
      $ipt -A DOCKER_OUTPUT -d 127.0.0.11 -p $p --dport 53 -j DNAT --to-destination 127.0.0.11:5353 || return 1
    done
    $ipt -A OUTPUT -d 127.0.0.11 -j DOCKER_OUTPUT
  else
    $ipt -D OUTPUT -d 127.0.0.11 -j DOCKER_OUTPUT 2>/dev/null
    $ipt -F DOCKER_OUTPUT 2>/dev/null
    $ipt -X DOCKER_OUTPUT 2>/dev/null
  fi
  return 0
}

t23_cleanup() {
  [ -n "$FWD_PID" ] && kill_pid "$FWD_PID" 10
  docker_dnat del
  redirect_install >/dev/null 2>&1   # the suite's standard rules
  return 0
}
trap t23_cleanup EXIT

# The forwarder: started in the fake internet's namespace (its upstream
# socket stays there), then it enters the sandbox's namespace to open its
# listeners. Every name it is asked goes to FWD_LOG. Lives <= 100 s.
fwd_start() {
  : >"$FWD_LOG"
  rm -f "$FWD_READY"
  netx "$E2E_PY" - "/run/netns/$E2E_SBX" "$NET_IP" "$FWD_LOG" "$FWD_READY" <<'PY' >>"$E2E_TMP/t23-forwarder.err" 2>&1 &
import ctypes, os, select, socket, struct, sys, time
nspath, upstream, logf, ready = sys.argv[1:5]
up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)   # in the "host" namespace
up.settimeout(3)
libc = ctypes.CDLL(None, use_errno=True)
fd = os.open(nspath, os.O_RDONLY)
if libc.setns(fd, 0x40000000) != 0:                      # CLONE_NEWNET
    sys.exit("setns: errno %d" % ctypes.get_errno())
os.close(fd)
lis = []
for fam, addr in ((socket.AF_INET, ("127.0.0.11", 5353)), (socket.AF_INET, ("127.0.0.53", 53)),
                  (socket.AF_INET6, ("::1", 53))):
    u = socket.socket(fam, socket.SOCK_DGRAM)
    u.bind(addr)
    t = socket.socket(fam, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    t.bind(addr)
    t.listen(8)
    lis += [u, t]

def qname(q):
    i, labels = 12, []
    while i < len(q) and q[i]:
        labels.append(q[i + 1:i + 1 + q[i]].decode("ascii", "replace"))
        i += 1 + q[i]
    return ".".join(labels)

def forward(q, via):
    with open(logf, "a") as f:
        f.write("%s %s\n" % (via, qname(q)))
    up.sendto(q, (upstream, 53))
    try:
        return up.recv(4096)
    except socket.timeout:
        return None

open(ready, "w").write("%d\n" % os.getpid())
end = time.time() + 100
while time.time() < end:
    r, _, _ = select.select(lis, [], [], 1)
    for s in r:
        try:
            if s.type == socket.SOCK_DGRAM:
                q, peer = s.recvfrom(4096)
                a = forward(q, "udp:%s" % s.getsockname()[0])
                if a:
                    s.sendto(a, peer)
            else:
                c, _ = s.accept()
                c.settimeout(3)
                n = struct.unpack("!H", c.recv(2))[0]
                q = b""
                while len(q) < n:
                    d = c.recv(n - len(q))
                    if not d:
                        break
                    q += d
                a = forward(q, "tcp:%s" % s.getsockname()[0])
                if a:
                    c.sendall(struct.pack("!H", len(a)) + a)
                c.close()
        except Exception as e:
            print("forwarder:", e, file=sys.stderr)
PY
  FWD_PID=$!
  register_pid "$FWD_PID"
  local i
  for ((i = 0; i < 50; i++)); do
    [ -s "$FWD_READY" ] && return 0
    pid_alive "$FWD_PID" || break
    sleep 0.1
  done
  return 1
}

ldig() { sbx timeout 10 dig +time=3 +tries=1 "$@" 2>&1; }

# The queries every variant must pass: a denied name through each loopback
# resolver gets the filter's NXDOMAIN and never reaches the forwarder; an
# allowed name resolves.
check_loopback_dns() {
  local when=$1 out srv
  : >"$FWD_LOG"
  for srv in 127.0.0.11 127.0.0.53 ::1; do
    out=$(ldig @"$srv" evil.example.com A)
    expect_contains "status: NXDOMAIN" "$out" "$when: denied name via loopback resolver $srv"
  done
  out=$(ldig @127.0.0.11 +tcp evil.example.com A)
  expect_contains "status: NXDOMAIN" "$out" "$when: denied name via 127.0.0.11 over TCP"
  out=$(ldig @127.0.0.53 +tcp evil.example.com A)
  expect_contains "status: NXDOMAIN" "$out" "$when: denied name via 127.0.0.53 over TCP"
  if expect_event "e['action']=='deny' and e.get('proto')=='dns' and h(e)=='evil.example.com'" "$when: dns deny event"; then
    expect_json "$EV" "e.get('sandbox')=='sbx-1'" "$when: deny event's sandbox"
  fi
  out=$(ldig @127.0.0.11 allowed.example.com A)
  expect_contains "status: NOERROR" "$out" "$when: allowed name via 127.0.0.11"
  expect_contains "$IP_A" "$out" "$when: allowed name's address"
  expect_event "e['action']=='allow' and e.get('proto')=='dns' and h(e)=='allowed.example.com'" "$when: dns allow event" >/dev/null
  sleep 0.2
  if grep -q evil "$FWD_LOG"; then
    ck_fail "$when: the loopback forwarder was asked for the denied name: $(grep evil "$FWD_LOG" | head -3 | tr '\n' ' ')"
  fi
}

case_begin dns_loopback_setup
command -v dig >/dev/null || ck_fail "dig is not installed (scripts/install-deps.sh installs bind9-dnsutils)"
fwd_start || ck_fail "the loopback forwarder did not start: $(tail -3 "$E2E_TMP/t23-forwarder.err" 2>/dev/null)"
# sanity of the emulation itself, without egressd's rules: the forwarder
# answers the denied name (this is the leak the rules must close)
redirect_remove
docker_dnat add || ck_fail "could not add the Docker-style DNAT rules"
out=$(ldig @127.0.0.11 evil.example.com A)
expect_contains "$IP_D" "$out" "without egressd's rules, 127.0.0.11 answers from the fake internet"
case_end

case_begin dns_loopback_resolver_docker_dnat_first
# Docker's DNAT was in nat OUTPUT before egress-redirect ran
redirect_install || ck_fail "egress-redirect install failed"
check_loopback_dns "Docker DNAT installed first"
case_end

case_begin dns_loopback_resolver_docker_dnat_after
# Docker's DNAT appended after egress-redirect's rules
docker_dnat del
redirect_remove
redirect_install || ck_fail "egress-redirect install failed"
docker_dnat add || ck_fail "could not add the Docker-style DNAT rules"
check_loopback_dns "Docker DNAT added after"
case_end

case_begin dns_filter_upstream_is_loopback_resolver
# egressd's own upstream is the Docker-style resolver: its queries carry the
# mark, pass egress-redirect's chain untouched and reach 127.0.0.11:5353
cfg=$E2E_TMP/t23-upstream-lo.yaml
cfg_write "$cfg"
sed -i "s|servers: \\[\"$NET_IP\"\\]|servers: [\"127.0.0.11\"]|" "$cfg"
if ! grep -q '"127.0.0.11"' "$cfg"; then
  ck_fail "could not point dns.servers at 127.0.0.11"
elif ! egressd_restart "$cfg" 2>"$E2E_TMP/t23-start.err"; then
  ck_fail "egressd did not start: $(tail -3 "$E2E_TMP/t23-start.err")"
else
  : >"$FWD_LOG"
  out=$(ldig @"$NET_IP" a.wild.example.org A)
  expect_contains "status: NOERROR" "$out" "allowed name through the loopback upstream"
  expect_contains "$IP_A" "$out" "allowed name's address"
  out=$(ldig @127.0.0.11 evil.example.com A)
  expect_contains "status: NXDOMAIN" "$out" "denied name"
  sleep 0.2
  grep -q "a.wild.example.org" "$FWD_LOG" ||
    ck_fail "the filter's upstream query did not reach the loopback resolver (log: $(head -3 "$FWD_LOG" | tr '\n' ' '))"
  grep -q evil "$FWD_LOG" && ck_fail "the loopback resolver was asked for the denied name"
fi
egressd_restart "$E2E_CFG_DEFAULT" 2>/dev/null || ck_fail "egressd did not restart with the default config"
case_end

case_begin dns_off_loopback_dns_dropped
# --dns-port 0 (DNS filter off): DNS is dropped, not leaked, loopback
# resolvers included (the Docker DNAT has already run when filter sees the
# packet), and TCP port 53 does not go to the proxy either
sbx "$REDIRECT" install --mode sidecar --proxy-port "$E2E_PROXY_PORT" \
  --dns-port 0 --mark "$E2E_MARK" >/dev/null || ck_fail "egress-redirect install --dns-port 0 failed"
: >"$FWD_LOG"
for q in "@127.0.0.11" "@127.0.0.53" "@127.0.0.11 +tcp" "@::1" "@$NET_IP +tcp" "@$NET_IP"; do
  # shellcheck disable=SC2086
  out=$(sbx timeout 10 dig +time=2 +tries=1 $q evil.example.com A 2>&1)
  if [[ $out == *"status:"* ]]; then
    ck_fail "DNS filter off: dig $q got an answer: $(grep -m1 'status:' <<<"$out")"
  fi
done
sleep 0.2
[ -s "$FWD_LOG" ] && ck_fail "DNS filter off: the loopback forwarder was asked: $(head -3 "$FWD_LOG" | tr '\n' ' ')"
if audit_find "e.get('dst') is not None and str(e.get('dst')).endswith(':53')" 1 >/dev/null; then
  ck_fail "DNS filter off: a port-53 connection reached the proxy"
fi
redirect_install || ck_fail "restoring the standard rules failed"
case_end
