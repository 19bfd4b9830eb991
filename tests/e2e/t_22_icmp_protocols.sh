#!/usr/bin/env bash
# egress-redirect lets out TCP (to the proxy) and DNS (to the filter) only:
# every other IP protocol is dropped, ICMP and ICMPv6 included, except the
# errors that belong to a tracked connection (conntrack RELATED) and, for
# IPv6, neighbour discovery (docs/deploy.md, "What the redirect rules
# contain"). No ping, timestamp, information, address-mask or
# node-information tunnel, no GRE / SCTP / UDP-lite / raw protocol 253, no
# TCP segment that conntrack cannot place (a crafted RST with a payload).
#
# Raw probes go from a sandbox to the fake internet (198.18.0.1 and
# 2001:db8:ffff::1); counters in the fake internet's filter INPUT chain say
# what arrived. Positive control first: without the rules every probe
# arrives (so a pass is not a deaf detector); with them none does. Both the
# sidecar shape (filter OUTPUT, the suite's sandbox) and the gateway shape
# (filter FORWARD, a router namespace of this case's own) are checked.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_case_env

# the rules under test: the product's (or E2E_REDIRECT_TOOL's) egress-redirect
REDIRECT=$E2E_REDIRECT_TOOL
[ "$REDIRECT" = none ] && REDIRECT=$E2E_ROOT/scripts/egress-redirect
GWR=egs-gwr-$E2E_ID   # router (gateway shape)
GWS=egs-gws-$E2E_ID   # a sandbox behind it
GW_SBX_IP=198.18.6.2
GW_SBX_IP6=2001:db8:fff6::2
T22_PIDS=()

t22_cleanup() {
  local p ns
  for p in "${T22_PIDS[@]}"; do kill_pid "$p" 10; done
  ip -n "$E2E_NET" link del net-gwr 2>/dev/null  # now, not when the kernel frees the netns
  for ns in "$GWS" "$GWR"; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  local ipt
  for ipt in iptables ip6tables; do
    netx "$ipt" -w -D INPUT -j EGS_PROBE 2>/dev/null
    netx "$ipt" -w -F EGS_PROBE 2>/dev/null
    netx "$ipt" -w -X EGS_PROBE 2>/dev/null
  done
  # the suite's standard state for the cases that follow
  redirect_install >/dev/null 2>&1
  return 0
}
trap t22_cleanup EXIT

# ---------------------------------------------------------------- detector

# One counting rule per probe in chain EGS_PROBE of the fake internet's
# filter INPUT (IPv4 and IPv6); the comment names the probe.
det_install() {
  local r4=(netx iptables -w) r6=(netx ip6tables -w)
  "${r4[@]}" -N EGS_PROBE || return 1
  "${r6[@]}" -N EGS_PROBE || return 1
  "${r4[@]}" -I INPUT 1 -j EGS_PROBE || return 1
  "${r6[@]}" -I INPUT 1 -j EGS_PROBE || return 1
  "${r4[@]}" -A EGS_PROBE -p icmp --icmp-type 8 -m comment --comment icmp-echo
  "${r4[@]}" -A EGS_PROBE -p icmp --icmp-type 13 -m comment --comment icmp-timestamp
  "${r4[@]}" -A EGS_PROBE -p icmp --icmp-type 15 -m comment --comment icmp-information
  "${r4[@]}" -A EGS_PROBE -p icmp --icmp-type 17 -m comment --comment icmp-address-mask
  "${r4[@]}" -A EGS_PROBE -p icmp --icmp-type 3/3 -m comment --comment icmp-port-unreachable
  "${r4[@]}" -A EGS_PROBE -p 253 -m comment --comment proto-253
  "${r4[@]}" -A EGS_PROBE -p 47 -m comment --comment proto-gre
  "${r4[@]}" -A EGS_PROBE -p 132 -m comment --comment proto-sctp
  "${r4[@]}" -A EGS_PROBE -p 136 -m comment --comment proto-udplite
  "${r4[@]}" -A EGS_PROBE -p tcp --sport 40999 --dport 40998 -m comment --comment tcp-invalid-rst
  "${r6[@]}" -A EGS_PROBE -p ipv6-icmp --icmpv6-type 128 -m comment --comment icmp6-echo
  "${r6[@]}" -A EGS_PROBE -p ipv6-icmp --icmpv6-type 139 -m comment --comment icmp6-node-information
  "${r6[@]}" -A EGS_PROBE -p ipv6-icmp --icmpv6-type 1/4 -m comment --comment icmp6-port-unreachable
  "${r6[@]}" -A EGS_PROBE -p 253 -m comment --comment proto6-253
  "${r6[@]}" -A EGS_PROBE -p 47 -m comment --comment proto6-gre
  "${r6[@]}" -A EGS_PROBE -p 132 -m comment --comment proto6-sctp
  "${r6[@]}" -A EGS_PROBE -p tcp --sport 40999 --dport 40998 -m comment --comment tcp6-invalid-rst
}

det_zero() { netx iptables -w -Z EGS_PROBE; netx ip6tables -w -Z EGS_PROBE; }

# det_count NAME: packets counted by the probe's rule since det_zero.
det_count() {
  { netx iptables -w -v -S EGS_PROBE; netx ip6tables -w -v -S EGS_PROBE; } 2>/dev/null |
    sed -n "s/.*--comment \"\\{0,1\\}$1\"\\{0,1\\} -c \\([0-9]*\\) .*/\\1/p" | head -1
}

PROBES4=(icmp-echo icmp-timestamp icmp-information icmp-address-mask proto-253 proto-gre proto-sctp proto-udplite tcp-invalid-rst)
PROBES6=(icmp6-echo icmp6-node-information proto6-253 proto6-gre proto6-sctp tcp6-invalid-rst)

# ---------------------------------------------------------------- probes

# probe_send NS SRC4 SRC6: every probe once, from namespace NS, to the fake
# internet; raw sockets, so what any root with CAP_NET_RAW could send.
probe_send() {
  ip netns exec "$1" timeout 10 "$E2E_PY" - "$NET_IP" "$NET_IP6" "$2" "$3" <<'PY'
import socket, struct, sys
dst4, dst6, src4, src6 = sys.argv[1:5]
PAY = b"egressd-e2e-tunnel-probe"

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF

def icmp4(t, body):
    h = struct.pack("!BBHHH", t, 0, 0, 0x4567, 1) + body
    return h[:2] + struct.pack("!H", csum(h)) + h[4:]

def tcp_rst(src, dst, fam):
    # a RST (no connection behind it: conntrack calls it INVALID) with data
    h = struct.pack("!HHIIBBHHH", 40999, 40998, 1, 0, 5 << 4, 0x04, 1024, 0, 0) + PAY
    if fam == socket.AF_INET:
        ph = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(h))
        h = h[:16] + struct.pack("!H", csum(ph + h)) + h[18:]
    return h

def send(fam, proto, data, dst):
    try:
        s = socket.socket(fam, socket.SOCK_RAW, proto)
        if fam == socket.AF_INET6 and proto == 6:
            s.setsockopt(socket.IPPROTO_IPV6, 7, 16)  # IPV6_CHECKSUM: the kernel fills TCP's
        s.sendto(data, (dst, 0))
        s.close()
    except OSError as e:
        print("send proto %d to %s: %s" % (proto, dst, e), file=sys.stderr)

I4 = socket.AF_INET
send(I4, socket.IPPROTO_ICMP, icmp4(8, PAY), dst4)
send(I4, socket.IPPROTO_ICMP, icmp4(13, struct.pack("!III", 1, 0, 0)), dst4)
send(I4, socket.IPPROTO_ICMP, icmp4(15, PAY), dst4)
send(I4, socket.IPPROTO_ICMP, icmp4(17, b"\0\0\0\0"), dst4)
for p in (253, 47, 132, 136):
    send(I4, p, PAY * 4, dst4)
send(I4, 6, tcp_rst(src4, dst4, I4), dst4)

I6 = socket.AF_INET6
send(I6, socket.IPPROTO_ICMPV6, struct.pack("!BBHHH", 128, 0, 0, 0x4567, 1) + PAY, dst6)
# node information query (RFC 4620): qtype 2 (node name), nonce, subject = dst
ni = struct.pack("!BBHHH", 139, 0, 0, 2, 0) + b"noncenon" + socket.inet_pton(I6, dst6)
send(I6, socket.IPPROTO_ICMPV6, ni + PAY, dst6)
for p in (253, 47, 132):
    send(I6, p, PAY * 4, dst6)
send(I6, 6, tcp_rst(src6, dst6, I6), dst6)
PY
}

# udp_poke NS DST4 DST6: from NS, a UDP datagram to port 9 (closed) of each
# address: the receiver answers port-unreachable, an ICMP error that belongs
# to the (tracked) datagram.
udp_poke() {
  ip netns exec "$1" timeout 5 "$E2E_PY" - "$2" "$3" <<'PY'
import socket, sys
for fam, dst in ((socket.AF_INET, sys.argv[1]), (socket.AF_INET6, sys.argv[2])):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.sendto(b"poke", (dst, 9))
    s.close()
PY
}

# expect_arrived WHEN PROBES...: each probe counted at least once.
expect_arrived() {
  local when=$1 p n
  shift
  for p in "$@"; do
    n=$(det_count "$p")
    [ "${n:-0}" -ge 1 ] || ck_fail "$when: probe $p did not arrive (count '${n}')"
  done
}
# expect_blocked WHEN PROBES...: none counted.
expect_blocked() {
  local when=$1 p n
  shift
  for p in "$@"; do
    n=$(det_count "$p")
    [ "${n:-x}" = 0 ] || ck_fail "$when: probe $p got out (count '${n}')"
  done
}

# ---------------------------------------------------------------- sidecar

case_begin icmp_protocols_detector_setup
det_install || ck_fail "could not install the counting rules in the fake internet"
case_end

case_begin sidecar_probes_arrive_without_rules
# positive control: the suite's sandbox without egress-redirect's rules
redirect_remove
det_zero
probe_send "$E2E_SBX" "$SBX_IP" "$SBX_IP6"
sleep 0.5
expect_arrived "without rules" "${PROBES4[@]}" "${PROBES6[@]}"
case_end

case_begin sidecar_icmp_and_other_protocols_dropped
redirect_install || ck_fail "egress-redirect install failed"
det_zero
probe_send "$E2E_SBX" "$SBX_IP" "$SBX_IP6"
sleep 0.5
expect_blocked "with the sidecar rules" "${PROBES4[@]}" "${PROBES6[@]}"
case_end

case_begin sidecar_tracked_icmp_errors_pass
# the fake internet sends UDP to a closed port of the sandbox: the sandbox's
# port-unreachable is RELATED to that datagram and goes back out
det_zero
udp_poke "$E2E_NET" "$SBX_IP" "$SBX_IP6"
sleep 0.5
expect_arrived "with the sidecar rules" icmp-port-unreachable icmp6-port-unreachable
case_end

case_begin sidecar_neighbour_discovery_passes
# IPv6 neighbours forgotten on both sides: the next IPv6 connection needs
# neighbour solicitations and advertisements through the rules
sbx ip -6 neigh flush dev veth-sbx
netx ip -6 neigh flush dev veth-net
out=$(sbx_curl -6 --resolve "allowed.example.com:443:[$IP6_A]" https://allowed.example.com/ 2>&1); rc=$?
expect_eq 0 "$rc" "IPv6 curl through egressd after a neighbour flush (out: $out)"
expect_eq "hello from allowed.example.com" "$out" "body"
case_end

case_begin sidecar_inbound_tcp_replies_pass
# a server in the sandbox still answers a connection opened from outside
sbx "$E2E_PY" - <<'PY' &
import socket, select
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 40997))
s.listen(1)
if select.select([s], [], [], 5)[0]:
    c, _ = s.accept()
    c.sendall(b"hello from the sandbox\n")
    c.close()
PY
lpid=$!
T22_PIDS+=("$lpid")
for ((i = 0; i < 30; i++)); do sbx ss -ltnH "( sport = :40997 )" | grep -q . && break; sleep 0.1; done
out=$(netx timeout 5 "$E2E_PY" -c '
import socket
s = socket.create_connection(("'"$SBX_IP"'", 40997), timeout=3)
print(s.recv(100).decode().strip())' 2>&1)
expect_eq "hello from the sandbox" "$out" "reply of a server in the sandbox"
wait "$lpid" 2>/dev/null
case_end

# ---------------------------------------------------------------- gateway

gw_up() {
  ip netns add "$GWR" || return 1
  ip netns add "$GWS" || return 1
  ip -n "$GWR" link set lo up
  ip -n "$GWS" link set lo up
  ip netns exec "$GWR" sysctl -qw net.ipv4.ip_forward=1 || return 1
  ip netns exec "$GWR" sysctl -qw net.ipv6.conf.all.forwarding=1 || return 1
  ip -n "$GWR" link add gwr-net type veth peer name net-gwr netns "$E2E_NET" || return 1
  ip -n "$GWR" addr add 198.18.5.2/30 dev gwr-net
  ip -n "$GWR" addr add 2001:db8:fff5::2/64 dev gwr-net nodad
  ip -n "$E2E_NET" addr add 198.18.5.1/30 dev net-gwr
  ip -n "$E2E_NET" addr add 2001:db8:fff5::1/64 dev net-gwr nodad
  ip -n "$GWR" link set gwr-net up
  ip -n "$E2E_NET" link set net-gwr up
  ip -n "$GWR" route add default via 198.18.5.1 || return 1
  ip -n "$GWR" -6 route add default via 2001:db8:fff5::1 || return 1
  ip -n "$E2E_NET" route add 198.18.6.0/24 via 198.18.5.2 || return 1
  ip -n "$E2E_NET" -6 route add 2001:db8:fff6::/64 via 2001:db8:fff5::2 || return 1
  ip -n "$GWR" link add gws0 type veth peer name eth0 netns "$GWS" || return 1
  ip -n "$GWR" addr add 198.18.6.1/24 dev gws0
  ip -n "$GWR" addr add 2001:db8:fff6::1/64 dev gws0 nodad
  ip -n "$GWS" addr add "$GW_SBX_IP/24" dev eth0
  ip -n "$GWS" addr add "$GW_SBX_IP6/64" dev eth0 nodad
  ip -n "$GWR" link set gws0 up
  ip -n "$GWS" link set eth0 up
  ip -n "$GWS" route add default via 198.18.6.1 || return 1
  ip -n "$GWS" -6 route add default via 2001:db8:fff6::1 || return 1
  # bounded wait (<= 6 s) until both families work end to end: a TCP
  # connection to the fake internet's web server, no rules installed yet
  ip netns exec "$GWS" timeout 10 "$E2E_PY" - "$NET_IP" "$NET_IP6" <<'PY'
import socket, sys, time
end = time.time() + 6
for dst in sys.argv[1:3]:
    while True:
        try:
            socket.create_connection((dst, 80), timeout=0.5).close()
            break
        except OSError as e:
            if time.time() > end:
                sys.exit("no TCP to %s: %s" % (dst, e))
            time.sleep(0.1)
PY
}

case_begin gateway_probes_arrive_without_rules
if gw_up 2>"$E2E_TMP/t22-gw.err"; then
  det_zero
  probe_send "$GWS" "$GW_SBX_IP" "$GW_SBX_IP6"
  sleep 0.5
  expect_arrived "gateway without rules" "${PROBES4[@]}" "${PROBES6[@]}"
else
  ck_fail "gateway topology did not come up: $(tail -3 "$E2E_TMP/t22-gw.err")"
fi
case_end

case_begin gateway_icmp_and_other_protocols_dropped
ip netns exec "$GWR" "$REDIRECT" install --mode gateway --in-iface gws0 \
  --proxy-port 15001 --dns-port 15053 >/dev/null || ck_fail "egress-redirect install --mode gateway failed"
det_zero
probe_send "$GWS" "$GW_SBX_IP" "$GW_SBX_IP6"
sleep 0.5
expect_blocked "with the gateway rules" "${PROBES4[@]}" "${PROBES6[@]}"
case_end

case_begin gateway_tracked_icmp_errors_pass
det_zero
udp_poke "$E2E_NET" "$GW_SBX_IP" "$GW_SBX_IP6"
sleep 0.5
expect_arrived "with the gateway rules" icmp-port-unreachable icmp6-port-unreachable
case_end
