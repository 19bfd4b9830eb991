#!/usr/bin/env bash
# Cost of keeping names honest (issue 4), measured in one run on this
# machine, in the e2e topology (sandbox and fake-internet namespaces, real
# dnsmasq upstream):
#   - added latency of a TLS connection through egressd: destination
#     "trust" (no check) vs "verify" with a warm cache vs "verify" with a
#     cold cache (every connection a new name, so every one waits for a
#     look-up), as medians and ratios to "trust";
#   - DNS filter throughput vs dnsmasq answering directly (queries/s):
#     names the policy allows (forwarded to that dnsmasq) and names it
#     does not (the filter answers NXDOMAIN itself).
#
#   sudo bench/bench_dns.sh [build/egressd] [ROUNDS]
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
EGRESSD=${1:-$ROOT/build/egressd}
ROUNDS=${2:-5}
N_TLS=${N_TLS:-200}
N_DNS=${N_DNS:-20000}
NSOCK=${NSOCK:-8}   # client sockets (source ports) the DNS queries spread over
. "$ROOT/tests/e2e/lib.sh"
e2e_preflight || exit 1
e2e_init
trap 'e2e_cleanup' EXIT
e2e_setup "$EGRESSD" >/dev/null || exit 1
command -v dnsmasq >/dev/null || { echo "bench: dnsmasq is needed" >&2; exit 1; }

netx dnsmasq --keep-in-foreground --conf-file=/dev/null --user=root \
  --listen-address="$NET_IP" --bind-interfaces --port=5353 --no-resolv --no-hosts \
  --cache-size=10000 --address=/wild.example.org/"$IP_A" >/dev/null 2>&1 &
register_pid $!
sleep 0.5

conf() { # conf DESTINATION
  cfg_write "$E2E_TMP/b.yaml"
  sed -i "s|servers: \\[\"$NET_IP\"\\], destination: verify|servers: [\"$NET_IP:5353\"], destination: $1|" "$E2E_TMP/b.yaml"
  sed -i "s|^audit: .*|audit: { file: $E2E_TMP/b-audit.jsonl, log_allowed: false }|" "$E2E_TMP/b.yaml"
  egressd_restart "$E2E_TMP/b.yaml" >/dev/null || exit 1
}
b() { sbx "$E2E_PY" "$ROOT/bench/dnsbench.py" "$@"; }
# DNS load: dnsperf (C, one thread per core would starve the servers on
# two cores: one thread, NSOCK sockets, 64 in flight) for DNS_S seconds
# over N_DNS names, when installed; else the python client.
DNS_S=${DNS_S:-5}
d() { # d SERVER PORT NAMEFMT
  if command -v dnsperf >/dev/null; then
    awk -v f="$3" -v n="$N_DNS" 'BEGIN {for (i = 0; i < n; i++) printf f " A\n", i}' >"$E2E_TMP/names"
    sbx dnsperf -s "$1" -p "$2" -d "$E2E_TMP/names" -l "$DNS_S" -c "$NSOCK" -q 64 -T 1 2>/dev/null |
      awk '/Queries per second/ {printf "%.0f\n", $4}'
  else
    b dns "$1" "$2" "$3" "$N_DNS" 32 "$NSOCK"
  fi
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# The sandbox may not send UDP elsewhere than the filter; for the baseline
# it may reach dnsmasq directly.
sbx iptables -w -I EGRESSD_F 1 -p udp --dport 5353 -j RETURN

declare -A R
for ((r = 1; r <= ROUNDS; r++)); do
  conf trust
  R[trust]+="$(b tls a.wild.example.org "$N_TLS" "$IP_A" "$E2E_CA" | cut -d' ' -f1) "
  conf verify
  b tls a.wild.example.org 5 "$IP_A" "$E2E_CA" >/dev/null       # warm the cache
  R[warm]+="$(b tls a.wild.example.org "$N_TLS" "$IP_A" "$E2E_CA" | cut -d' ' -f1) "
  R[cold]+="$(b tls "r$r-n%d.wild.example.org" "$N_TLS" "$IP_A" "$E2E_CA" | cut -d' ' -f1) "
  R[dnsmasq]+="$(d "$NET_IP" 5353 "q%d.wild.example.org") "
  R[filter]+="$(d "$NET_IP" 53 "f$r-%d.wild.example.org") "
  # names no policy allows: the filter answers NXDOMAIN (and audits each)
  # itself, as dnsmasq answers its --address names itself
  R[refused]+="$(d "$NET_IP" 53 "n$r-%d.not-allowed.example") "
done
m() { tr ' ' '\n' <<<"${R[$1]}" | grep . | median; }
t=$(m trust) w=$(m warm) c=$(m cold) d=$(m dnsmasq) f=$(m filter) n=$(m refused)
printf 'TLS connection through egressd, median of %d rounds x %d connections\n' "$ROUNDS" "$N_TLS"
printf '  %-28s %8s ms  ratio %s\n' "trust (no check)" "$t" 1.00
printf '  %-28s %8s ms  ratio %.2f\n' "verify, warm cache" "$w" "$(echo "$w / $t" | bc -l)"
printf '  %-28s %8s ms  ratio %.2f\n' "verify, cold (new name)" "$c" "$(echo "$c / $t" | bc -l)"
if command -v dnsperf >/dev/null; then
  printf 'DNS, dnsperf %d s over %d names, %d sockets, 64 in flight, median of %d rounds\n' "$DNS_S" "$N_DNS" "$NSOCK" "$ROUNDS"
else
  printf 'DNS, %d A queries (python client), 32 in flight, median of %d rounds\n' "$N_DNS" "$ROUNDS"
fi
printf '  %-28s %8s q/s\n' "dnsmasq directly" "$d"
printf '  %-28s %8s q/s  ratio %.2f\n' "through the DNS filter" "$f" "$(echo "$f / $d" | bc -l)"
printf '  %-28s %8s q/s  ratio %.2f\n' "refused by the filter" "$n" "$(echo "$n / $d" | bc -l)"
