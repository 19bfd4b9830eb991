#!/bin/bash
# The container image, run the way docs/deploy.md tells operators to:
# `init` (root, NET_ADMIN) installs the redirect rules in a sandbox's
# network namespace, then the sidecar (the image's default command, as its
# non-root user) serves it. A client in that namespace must get through to
# an allowed name and be refused for a denied one.
#
#   tests/image/run.sh            (after tests/image/build.sh; root)
#
# Topology (tests/e2e/lib.sh): a sandbox namespace and a fake-internet
# namespace joined by a veth pair (198.18.0.0/30), fake servers on
# 203.0.113.0/24 and fake DNS at 198.18.0.1. The containers join the
# sandbox namespace with --network ns:/run/netns/NAME. Prints ok/FAIL per
# check and `N passed, N failed`.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=common.sh
. "$HERE/common.sh"
E2E_ID=img$$
# shellcheck source=../e2e/lib.sh
. "$HERE/../e2e/lib.sh"

img_preflight
if ! podman image exists "$EGRESSD_IMAGE"; then
	echo "image: $EGRESSD_IMAGE not found: run tests/image/build.sh first" >&2
	echo "0 passed, 1 failed"; exit 1
fi
e2e_init
INIT=egs-init-$E2E_ID SIDE=egs-side-$E2E_ID
cleanup() {
	podman rm -f -i -t 0 "$INIT" "$SIDE" >/dev/null 2>&1
	e2e_cleanup
	podman_teardown
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

t0=$SECONDS
topo_up && pki_make && fakenet_start || { bad setup "test topology"; finish; }
netns=/run/netns/$E2E_SBX

# 1. init: the rules, installed by the image as root with NET_ADMIN.
out=$(podman_q run --name "$INIT" --network "ns:$netns" --cap-add NET_ADMIN \
    --user 0 "$EGRESSD_IMAGE" init 2>&1)
rc=$?
podman rm -f "$INIT" >/dev/null 2>&1
if [ $rc = 0 ] && sbx iptables -w -t nat -S EGRESSD | grep -q -- '--to-ports 15001' &&
    sbx ip6tables -w -t nat -S EGRESSD | grep -q -- '--to-ports 15001'; then
	ok "init installs the redirect rules ($out)"
else
	bad init "rc $rc: $out"
fi

# 2. the sidecar, with a config for the fake internet.
cfg=$E2E_TMP/egressd.yaml
cat >"$cfg" <<CFG
listen: ["127.0.0.1:15001", "[::1]:15001"]
upstream: { mark: 0x1e9d, connect_timeout_ms: 2000 }
dns:
  listen: ["127.0.0.1:15053", "[::1]:15053"]
  servers: ["$NET_IP"]
admin: { socket: /run/egressd/admin.sock }
audit: { file: "-" }
policies:
  agent:
    mode: block-all
    allow: { hosts: ["allowed.example.com"] }
sandboxes:
  - id: sbx-image
    policies: [agent]
CFG
chmod 0644 "$cfg"
# --health-interval disable: no systemd timer (none here); the check is
# run on demand below, as a probe would.
if ! podman_q run -d --name "$SIDE" --network "ns:$netns" --cap-add NET_ADMIN \
    --health-interval disable -v "$cfg:/etc/egressd/egressd.yaml:ro,Z" \
    "$EGRESSD_IMAGE" >/dev/null; then
	bad sidecar-start "podman run failed"; finish
fi
healthy=0
for ((i = 0; i < 100; i++)); do
	if podman_q healthcheck run "$SIDE" >/dev/null 2>&1; then healthy=1; break; fi
	[ "$(podman inspect -f '{{.State.Running}}' "$SIDE" 2>/dev/null)" = true ] || break
	sleep 0.1
done
if [ $healthy = 1 ]; then
	ok "sidecar healthy after $((i / 10)).$((i % 10)) s (podman healthcheck run)"
else
	bad sidecar-healthy "not healthy within 10 s; logs: $(podman logs "$SIDE" 2>&1 | tail -5)"
	finish
fi

# 3. the HEALTHCHECK is egressctl health, i.e. GET /healthz on the admin socket
hc=$(podman image inspect -f '{{json .Config.Healthcheck.Test}}' "$EGRESSD_IMAGE" 2>/dev/null)
pid=$(podman inspect -f '{{.State.Pid}}' "$SIDE")
hz=$(curl -sS --max-time 5 --unix-socket "/proc/$pid/root/run/egressd/admin.sock" \
    http://localhost/healthz 2>&1)
if [ "$hc" = '["CMD","egressctl","health"]' ] && [ "$hz" = ok ]; then
	ok "HEALTHCHECK $hc; GET /healthz on the sidecar's admin socket: $hz"
else
	bad healthcheck "image has $hc; /healthz answered '$hz'"
fi

# 4. the sidecar's process: in the sandbox's namespace, not root, only
# CAP_NET_ADMIN effective.
uids=$(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$pid/status")
capeff=$(awk '/^CapEff:/ {print $2}' "/proc/$pid/status")
comm=$(cat "/proc/$pid/comm")
if [ "$comm" = egressd ] && [ "$uids" = "15001 15001 15001 15001" ] &&
    [ "$capeff" = 0000000000001000 ] && [ "$(netns_of "$pid")" = "$(stat -L -c %i "$netns")" ]; then
	ok "sidecar process $comm runs as uid $uids (not 0), CapEff $capeff (NET_ADMIN), in $E2E_SBX"
else
	bad sidecar-user "comm $comm, uids $uids, CapEff $capeff, netns $(netns_of "$pid") vs $(stat -L -c %i "$netns")"
fi

# 5. clients in the sandbox namespace.
body=$(sbx_curl https://allowed.example.com/ 2>&1)
if [ "$body" = "hello from allowed.example.com" ]; then
	ok "allowed: curl https://allowed.example.com/ -> '$body'"
else
	bad allowed "curl https://allowed.example.com/ -> '$body'"
fi
body=$(sbx_curl http://allowed.example.com/ 2>&1)
[ "$body" = "hello from allowed.example.com" ] &&
	ok "allowed: curl http://allowed.example.com/ -> '$body'" ||
	bad allowed-http "-> '$body'"
body=$(sbx_curl https://denied.example.com/ 2>&1); rc=$?
if [ $rc != 0 ] && [[ $body != *hello* ]]; then
	ok "denied: curl https://denied.example.com/ -> rc $rc ($body)"
else
	bad denied "rc $rc: '$body'"
fi
# DNS to any server goes to the DNS filter: the allowed name resolves,
# the denied one gets NXDOMAIN.
a=$(sbx dig +time=2 +tries=1 +short @192.0.2.53 allowed.example.com A 2>&1)
d=$(sbx dig +time=2 +tries=1 @192.0.2.53 denied.example.com A 2>&1 | grep -o 'status: [A-Z]*')
if [ "$a" = "$IP_A" ] && [ "$d" = "status: NXDOMAIN" ]; then
	ok "DNS filter: allowed.example.com -> $a, denied.example.com -> ${d#status: }"
else
	bad dns "allowed.example.com -> '$a', denied.example.com -> '$d'"
fi
# UDP other than DNS is dropped (QUIC).
if sbx "$E2E_PY" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1)
try:
    s.sendto(b"x", ("203.0.113.10", 443)); s.recv(10); sys.exit(1)
except (socket.timeout, PermissionError, OSError):
    sys.exit(0)'; then
	ok "UDP 443 from the sandbox is dropped"
else
	bad udp "a UDP 443 datagram got an answer"
fi

# 6. the audit events on the sidecar's stdout (audit.file "-").
sleep 1.5
logs=$(podman logs "$SIDE" 2>/dev/null)
ev_allow=$(grep -m1 '"action":"allow".*"host":"allowed.example.com"' <<<"$logs")
ev_deny=$(grep -m1 '"action":"deny".*"host":"denied.example.com"' <<<"$logs")
if [ -n "$ev_allow" ] && [ -n "$ev_deny" ]; then
	ok "audit on stdout: $(grep -c '^{' <<<"$logs") events"
	printf '    | %s\n' "$ev_allow" "$ev_deny"
else
	bad audit "no allow/deny events in podman logs: $(tail -5 <<<"$logs")"
fi

# 7. SIGTERM drains and exits 0.
podman stop -t 40 "$SIDE" >/dev/null 2>&1
code=$(podman inspect -f '{{.State.ExitCode}}' "$SIDE" 2>/dev/null)
[ "$code" = 0 ] && ok "podman stop: egressd exits 0" || bad stop "exit code $code"

echo "# image test: $((SECONDS - t0)) s"
finish
