#!/usr/bin/env bash
# The data path against a direct connection and against its peers (HAProxy,
# nginx stream, sniproxy), the same phases for each, in one run
# (bench/README.md, docs/performance.md).
#
#   sudo bench/bench_proxy.sh [build/egressd] [ROUNDS]
#
# Topology: the e2e one (tests/e2e/lib.sh); nginx serves the fake internet
# on :8080 (http) and :8443 (https).  Every proxy runs in the sandbox as an
# unprivileged uid with NOFILE descriptors, as a sidecar would: egressd as
# uid EGRESS_UID with CAP_NET_ADMIN for its mark, the peers dropping to
# nobody (REDIRECT with a uid exemption).  Each round, for each of PEERS in
# turn (rounds interleave the peers), on one fresh process:
#   1. rate: new TLS connections for CHURN s (wrk, 50 at a time,
#      Connection: close), new HTTP connections for DUR s, denied TLS
#      connections for DUR s, each phase without the TIME_WAIT sockets
#      and conntrack entries of the one before; connections/s, proxy CPU
#      (user + system of the process tree, /proc) per connection and the
#      sandbox's SYN retransmissions; descriptors the proxy holds
#      afterwards;
#   2. bulk: BULK_N x BULK_MB MiB over HTTP on one keep-alive connection
#      (curl), then the same over HTTPS: MB/s and the worst time to first
#      byte;
#   3. idle: up to IDLE TLS connections opened and held; how many stay
#      open, how long opening took, user-space bytes (RSS growth) and
#      descriptors per held connection.
# Printed: the median of ROUNDS and the spread (min-max) per cell.
#
# IDLE_ONLY=1 PEERS=egressd-root IDLE=100000 NOFILE=250000 runs only the idle
# phase, with egressd as root; BULK_ONLY=1 only the bulk phase.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
EGRESSD=$(realpath "${1:-$ROOT/build/egressd}")
ROUNDS=${2:-3}
DUR=${DUR:-5}
CHURN=${CHURN:-10}
BULK_N=${BULK_N:-8}
BULK_MB=${BULK_MB:-64}
IDLE=${IDLE:-9000}
NOFILE=${NOFILE:-20000}
EGRESS_UID=${EGRESS_UID:-4242}
PEERS=${PEERS:-direct egressd haproxy nginx sniproxy}
IDLE_ONLY=${IDLE_ONLY:-0}
BULK_ONLY=${BULK_ONLY:-0}
. "$ROOT/tests/e2e/lib.sh"
e2e_preflight || exit 1
for t in nginx haproxy wrk setpriv conntrack; do
  command -v $t >/dev/null || { echo "bench: $t is needed (apt-get install nginx-light libnginx-mod-stream haproxy wrk sniproxy conntrack)" >&2; exit 1; }
done
NGX_STREAM=/usr/lib/nginx/modules/ngx_stream_module.so
e2e_init
chmod 755 "$E2E_TMP"
HOSTS_DIR=/etc/netns/$E2E_SBX
PROXY_PID=
cleanup() {
  [ -n "${PROXY_PID:-}" ] && kill_pid "$PROXY_PID" 30
  [ -n "${NG_PID:-}" ] && kill_pid "$NG_PID" 5
  rm -rf "$HOSTS_DIR"
  e2e_cleanup
}
trap cleanup EXIT
e2e_setup "$EGRESSD" >/dev/null || exit 1
egressd_stop
# wrk takes the TLS SNI from the URL: give the sandbox an /etc/hosts.
mkdir -p "$HOSTS_DIR"
printf '127.0.0.1 localhost\n%s allowed.example.com\n%s denied.example.com\n' "$IP_A" "$IP_D" >"$HOSTS_DIR/hosts"
# Many connections from one address: every port of the sandbox is usable.
sbx sysctl -qw net.ipv4.ip_local_port_range="1024 65000"
# Each rate phase leaves ~10^5 connections in TIME_WAIT to the same
# upstream address and port, from the client and the proxy alike: reuse
# them, or the next peer runs out of ports.
sbx sysctl -qw net.ipv4.tcp_tw_reuse=1
netx sysctl -qw net.core.somaxconn=4096

W=$E2E_TMP/www
mkdir -p "$W"
head -c 100 /dev/zero | tr '\0' x >"$W/small"
truncate -s "${BULK_MB}M" "$W/big"
IDLE_PORTS=${IDLE_PORTS:-8443}
listen_tls=""
for p in ${IDLE_PORTS//,/ }; do listen_tls+="    listen $p ssl reuseport backlog=4096;"$'\n'; done
grep -q 'listen 8443 ' <<<"$listen_tls" || listen_tls+="    listen 8443 ssl reuseport backlog=4096;"$'\n'
cat >"$E2E_TMP/nginx.conf" <<EOF
worker_processes 1;
worker_rlimit_nofile 300000;
user root;
daemon off;
pid $E2E_TMP/nginx.pid;
error_log $E2E_TMP/nginx.err;
events { worker_connections 250000; }
http {
  access_log off;
  sendfile on;
  keepalive_timeout 300s;
  keepalive_requests 100000;
  server {
    listen 8080 reuseport backlog=4096;
$listen_tls
    ssl_certificate $E2E_TMP/pki/server.pem;
    ssl_certificate_key $E2E_TMP/pki/server.key;
    root $W;
  }
}
EOF
netx nginx -c "$E2E_TMP/nginx.conf" >/dev/null 2>&1 &
NG_PID=$!
register_pid "$NG_PID"

# ------------------------------------------------------------ the proxies
cat >"$E2E_TMP/haproxy.cfg" <<EOF
global
  ulimit-n $NOFILE
  user nobody
  group nogroup
defaults
  mode tcp
  timeout connect 5s
  timeout client 300s
  timeout server 300s
frontend egress
  bind 127.0.0.1:15002
  tcp-request inspect-delay 5s
  tcp-request content accept if { req.ssl_hello_type 1 }
  tcp-request content accept if HTTP
  use_backend original_dst if { req.ssl_sni -i allowed.example.com }
  use_backend original_dst if HTTP { req.hdr(host),field(1,:) -i allowed.example.com }
  tcp-request content reject
backend original_dst
  server dst 0.0.0.0:0
EOF
# nginx stream cannot find the original destination nor read a Host:
# TLS goes where the SNI map says, HTTP (port 8080, redirected to its own
# listener) to the one upstream without a host check.
cat >"$E2E_TMP/nginx-stream.conf" <<EOF
load_module $NGX_STREAM;
worker_processes auto;
worker_rlimit_nofile $((NOFILE / 2));
user nobody nogroup;
daemon off;
pid $E2E_TMP/nginx-stream.pid;
error_log $E2E_TMP/nginx-stream.err;
events { worker_connections $((NOFILE / 2)); }
stream {
  map \$ssl_preread_server_name \$tls_up {
    allowed.example.com $IP_A:8443;
    default 127.0.0.1:9;
  }
  server { listen 127.0.0.1:15003 reuseport backlog=4096; ssl_preread on; proxy_pass \$tls_up; proxy_timeout 300s; }
  server { listen 127.0.0.1:15004 reuseport backlog=4096; proxy_pass $IP_A:8080; proxy_timeout 300s; }
}
EOF
cat >"$E2E_TMP/sniproxy.conf" <<EOF
user nobody
group nogroup
pidfile $E2E_TMP/sniproxy.pid
error_log {
  filename $E2E_TMP/sniproxy.err
  priority notice
}
listener 127.0.0.1:15003 {
  protocol tls
  table tlst
}
listener 127.0.0.1:15004 {
  protocol http
  table httpt
}
table tlst {
  ^allowed\.example\.com$ $IP_A:8443
}
table httpt {
  ^allowed\.example\.com$ $IP_A:8080
}
EOF
mkdir -p "$E2E_TMP/bstate"
chown "$EGRESS_UID" "$E2E_TMP/bstate"
cfg_write "$E2E_TMP/b.yaml"
sed -i "s|^audit: .*|audit: { file: $E2E_TMP/bstate/audit.jsonl, log_allowed: false }|" "$E2E_TMP/b.yaml"
sed -i "s|^limits: .*|limits: { peek_timeout_ms: 1000, drain_s: 1, max_connections: 200000, max_connections_per_sandbox: 200000 }\nstate_dir: $E2E_TMP/bstate\nworkers: auto|" "$E2E_TMP/b.yaml"
# egressd-api: the same, with its admin API taking CHURN_RATE sandbox
# changes a second throughout (bench/churn_api.py): decisions while
# changes land (docs/performance.md).
mkdir -p "$E2E_TMP/bstate-api"
chown "$EGRESS_UID" "$E2E_TMP/bstate-api"
grep -v '^admin:' "$E2E_TMP/b.yaml" | sed "s|^state_dir: .*|state_dir: $E2E_TMP/bstate-api|" >"$E2E_TMP/b-api.yaml"
printf 'admin: { socket: %s/bstate-api/admin.sock }\n' "$E2E_TMP" >>"$E2E_TMP/b-api.yaml"
CHURN_RATE=${CHURN_RATE:-200}
CHURN_PID=

redirect() { # redirect direct|mark|uid [HTTP_PORT]
  redirect_remove >/dev/null 2>&1
  case $1 in
  mark) sbx "$ROOT/scripts/egress-redirect" install --mark "$E2E_MARK" --dns-port 15053 >/dev/null ;;
  uid)
    sbx "$ROOT/scripts/egress-redirect" install --uid 65534 --proxy-port "$2" --dns-port 0 >/dev/null
    if [ -n "${3:-}" ]; then
      # after the uid exemption (rule 1): plain HTTP to its own listener
      sbx iptables -w -t nat -I EGRESSD 2 -p tcp --dport 8080 -j REDIRECT --to-ports "$3"
    fi ;;
  esac
}

start_peer() { # start_peer NAME: sets PROXY_PID (0 for direct)
  local i
  PROXY_PID=0
  case $1 in
  direct) redirect direct ;;
  egressd|egressd-root|egressd-api)
    redirect mark
    if [ "$1" != egressd-root ]; then
      local bcfg=$E2E_TMP/b.yaml
      [ "$1" = egressd-api ] && bcfg=$E2E_TMP/b-api.yaml
      ip netns exec "$E2E_SBX" prlimit --nofile="$NOFILE:$NOFILE" setpriv --reuid="$EGRESS_UID" \
        --regid="$EGRESS_UID" --clear-groups --inh-caps=+net_admin --ambient-caps=+net_admin \
        "$EGRESSD" -c "$bcfg" >>"$E2E_ELOG" 2>&1 &
    else
      ip netns exec "$E2E_SBX" prlimit --nofile="$NOFILE:$NOFILE" \
        "$EGRESSD" -c "$E2E_TMP/b.yaml" >>"$E2E_ELOG" 2>&1 &
    fi
    PROXY_PID=$!
    echo "$PROXY_PID" >"$E2E_TMP/egressd.pid" ;;
  haproxy)
    redirect uid 15002
    ip netns exec "$E2E_SBX" haproxy -f "$E2E_TMP/haproxy.cfg" -db >"$E2E_TMP/haproxy.log" 2>&1 &
    PROXY_PID=$! ;;
  nginx)
    redirect uid 15003 15004
    ip netns exec "$E2E_SBX" nginx -c "$E2E_TMP/nginx-stream.conf" >/dev/null 2>&1 &
    PROXY_PID=$! ;;
  sniproxy)
    redirect uid 15003 15004
    ip netns exec "$E2E_SBX" prlimit --nofile="$NOFILE:$NOFILE" sniproxy -f -c "$E2E_TMP/sniproxy.conf" >/dev/null 2>&1 &
    PROXY_PID=$! ;;
  esac
  [ "$PROXY_PID" = 0 ] && return 0
  register_pid "$PROXY_PID"
  for ((i = 0; i < 50; i++)); do
    sbx ss -ltnH | grep -qE ':(15001|15002|15003) ' && break
    sleep 0.1
  done
  sleep 0.3
  # warm: the first connection resolves the name (egressd's DNS check)
  sbx curl -s -o /dev/null --max-time 5 --cacert "$E2E_CA" https://allowed.example.com:8443/small
  if [ "$1" = egressd-api ]; then
    "$E2E_PY" "$ROOT/bench/churn_api.py" "$E2E_TMP/bstate-api/admin.sock" "$CHURN_RATE" "$E2E_TMP/churn.out" &
    CHURN_PID=$!
    register_pid "$CHURN_PID"
  fi
}
stop_peer() {
  local n t
  if [ -n "$CHURN_PID" ]; then
    kill "$CHURN_PID" 2>/dev/null; wait "$CHURN_PID" 2>/dev/null
    CHURN_PID=
    read -r n t <"$E2E_TMP/churn.out" && res api.changes_per_s "$(echo "$n / $t" | bc -l)"
  fi
  [ "$PROXY_PID" != 0 ] && kill_pid "$PROXY_PID" 30
  PROXY_PID=
  rm -f "$E2E_TMP/egressd.pid"
}

# tree, cpu_ticks, rss_kb
# shellcheck source=procs.sh
. "$ROOT/bench/procs.sh"
nfds() { # nfds PID [pipe]: descriptors of the tree
  local s=0 p
  for p in $(tree "$1"); do
    if [ -n "${2:-}" ]; then s=$((s + $(ls -l "/proc/$p/fd" 2>/dev/null | grep -c 'pipe:')))
    else s=$((s + $(ls "/proc/$p/fd" 2>/dev/null | wc -l))); fi
  done
  echo $s
}
hz=$(getconf CLK_TCK)
res() { echo "$PEER $1 $2" >>"$E2E_TMP/res"; }

wrk_run() { # wrk_run SECONDS URL: prints "attempts/s ok_requests attempts p99"
  sbx wrk -t1 -c50 -d"${1}s" --latency -H "Connection: close" "$2" 2>/dev/null >"$E2E_TMP/wrk.out"
  awk -v d="$1" '/requests in/ {n=$1} /Socket errors/ {gsub(",", ""); e=$4+$6+$8}
    $1 == "99%" {p=$2; if (p ~ /us$/) p=p/1000; else if (p ~ /ms$/) p=p+0; else if (p ~ /s$/) p=p*1000}
    END {printf "%.0f %d %d %s\n", (n+e)/d, n, n+e, p == "" ? "-" : p}' "$E2E_TMP/wrk.out"
}
# SYNs the sandbox had to send again (a lost or refused SYN costs the
# client a second): the kernel's counters over one phase.
syn_retrans() { sbx nstat -az TcpExtTCPSynRetrans 2>/dev/null | awk '$1 == "TcpExtTCPSynRetrans" {print $2}'; }
rate() { # rate NAME SECONDS URL
  local c0 c1 r s0 s1
  # Each phase starts without the TIME_WAIT sockets and conntrack entries
  # of the phases before (docs/performance.md, "New-connection rate"):
  # REDIRECT maps every original destination onto the proxy's listening
  # port, so a new connection from a source port that earlier went to
  # another destination is given another port by NAT, which can land on
  # a TIME_WAIT with unrelated timestamps; the SYN is refused (PAWS) and
  # retried a second later.  Which phase pays for it depends on how many
  # listening ports a proxy has, not on the proxy.  KEEP_CT=1 keeps them.
  if [ "${KEEP_CT:-0}" != 1 ]; then
    sbx ss -K state time-wait >/dev/null 2>&1
    netx ss -K state time-wait >/dev/null 2>&1
    sbx conntrack -F >/dev/null 2>&1
    netx conntrack -F >/dev/null 2>&1
  fi
  s0=$(syn_retrans)
  c0=$(cpu_ticks "$PROXY_PID")
  r=$(wrk_run "$2" "$3")
  c1=$(cpu_ticks "$PROXY_PID")
  s1=$(syn_retrans)
  res "$1.syn_retrans" "$((${s1:-0} - ${s0:-0}))"
  set -- "$1" $r
  res "$1.cps" "$2"
  [ "${5:--}" != - ] && res "$1.p99_ms" "$5"
  if [ "$PROXY_PID" != 0 ] && [ "${4:-0}" -gt 0 ]; then
    res "$1.cpu_us" "$(echo "($c1 - $c0) * 1000000 / $hz / $4" | bc -l)"
  fi
}
bulk() { # bulk NAME URL
  local args=() i c0 c1
  for ((i = 0; i < BULK_N; i++)); do args+=(-o /dev/null "$2"); done
  c0=$(cpu_ticks "$PROXY_PID")
  sbx curl -s --max-time 300 --cacert "$E2E_CA" -w '%{size_download} %{time_total} %{time_starttransfer}\n' "${args[@]}" >"$E2E_TMP/bulk.out"
  c1=$(cpu_ticks "$PROXY_PID")
  [ "$PROXY_PID" != 0 ] && res "$1.cpu_s_per_GB" "$(echo "($c1 - $c0) / $hz / ($BULK_N * $BULK_MB * 1.048576 / 1000)" | bc -l)"
  res "$1.MBps" "$(awk '{b+=$1; t+=$2} END {if (t > 0) printf "%.1f", b / t / 1e6; else print 0}' "$E2E_TMP/bulk.out")"
  res "$1.ttfb_s" "$(awk 'BEGIN {m=0} {if ($3 > m) m=$3} END {printf "%.3f", m}' "$E2E_TMP/bulk.out")"
}
idle() {
  local rss0 fd0 i held open took
  rss0=$(rss_kb "$PROXY_PID")
  fd0=$(nfds "$PROXY_PID")
  rm -f "$E2E_TMP/idle.ready"
  sbx prlimit --nofile=$((IDLE + 1000)) "$E2E_PY" "$ROOT/bench/idleconns.py" "$IDLE" allowed.example.com \
    "$IDLE_PORTS" "$E2E_CA" "$E2E_TMP/idle.ready" 3 >"$E2E_TMP/idle.out" 2>&1 &
  local ipid=$!
  for ((i = 0; i < 6000; i++)); do [ -s "$E2E_TMP/idle.ready" ] && break; sleep 0.1; done
  sleep 1
  read -r _ open _ took <"$E2E_TMP/idle.ready"
  if [ "$PROXY_PID" != 0 ] && [ "${open:-0}" -gt 0 ]; then
    res idle.user_B_per_conn "$(echo "($(rss_kb "$PROXY_PID") - $rss0) * 1024 / $open" | bc -l)"
    res idle.fds_per_conn "$(echo "($(nfds "$PROXY_PID") - $fd0) / $open" | bc -l)"
  fi
  wait "$ipid"
  held=$(awk '/^held/ {print $2}' "$E2E_TMP/idle.out")
  res idle.held "${held:-0}"
  res idle.open_s "$took"
}

: >"$E2E_TMP/res"
for ((round = 1; round <= ROUNDS; round++)); do
  for PEER in $PEERS; do
    echo "# round $round: $PEER ($(uptime | sed 's/.*load/load/'))" >&2
    start_peer "$PEER"
    if [ "$IDLE_ONLY" != 1 ]; then
      if [ "$BULK_ONLY" != 1 ]; then
        rate tls $CHURN https://allowed.example.com:8443/small
        rate http "$DUR" http://allowed.example.com:8080/small
        rate denied "$DUR" https://denied.example.com:8443/small
        [ "$PROXY_PID" != 0 ] && res churn.pipe_fds "$(nfds "$PROXY_PID" pipe)"
      fi
      bulk bulk_http http://allowed.example.com:8080/big
      bulk bulk_https https://allowed.example.com:8443/big
      [ "$PROXY_PID" != 0 ] && res bulk.pipe_fds "$(nfds "$PROXY_PID" pipe)"
    fi
    [ "$BULK_ONLY" != 1 ] && idle
    stop_peer
  done
done
cp "$E2E_TMP/res" "${RES_OUT:-/tmp/bench_proxy.res}"

# median and spread of one cell
cell() { awk -v n="$1" -v k="$2" '$1==n && $2==k {print $3}' "$E2E_TMP/res" | sort -g |
  awk '{a[NR]=$1} END {if (!NR) {printf "-"; exit}
    m=a[int((NR+1)/2)]; f=(m >= 100 || m == int(m)) ? "%.0f" : "%.2f"
    printf f, m; if (NR > 1) printf " (" f "-" f ")", a[1], a[NR]}'; }
med() { awk -v n="$1" -v k="$2" '$1==n && $2==k {print $3}' "$E2E_TMP/res" | sort -g |
  awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]}'; }
printf '\nmedian (min-max) of %d rounds; rate phases wrk -c50: TLS %ss, HTTP %ss, denied %ss; bulk %d x %d MiB on one connection; idle: up to %d TLS connections, %d descriptors\n\n' \
  "$ROUNDS" "$CHURN" "$DUR" "$DUR" "$BULK_N" "$BULK_MB" "$IDLE" "$NOFILE"
hdr="| metric |" sep="|---|"
for p in $PEERS; do hdr+=" $p |"; sep+="---:|"; done
echo "$hdr"; echo "$sep"
for k in tls.cps tls.p99_ms tls.cpu_us tls.syn_retrans http.cps http.p99_ms http.cpu_us http.syn_retrans denied.cps denied.cpu_us denied.syn_retrans churn.pipe_fds bulk_http.MBps bulk_http.cpu_s_per_GB bulk_https.MBps bulk_https.cpu_s_per_GB \
  bulk_https.ttfb_s bulk.pipe_fds api.changes_per_s idle.held idle.open_s idle.user_B_per_conn idle.fds_per_conn; do
  row="| $k |" any=0
  for p in $PEERS; do v=$(cell "$p" "$k"); [ "$v" != - ] && any=1; row+=" $v |"; done
  [ $any = 1 ] && echo "$row"
done
if [[ " $PEERS " == *" direct "* && " $PEERS " == *" egressd "* ]]; then
  echo
  for k in tls.cps http.cps denied.cps bulk_http.MBps bulk_https.MBps; do
    d=$(med direct $k) e=$(med egressd $k)
    [ -n "$d" ] && [ -n "$e" ] && printf '%s egressd/direct %.2f\n' "$k" "$(echo "$e / $d" | bc -l)"
  done
  # the same repetition's direct run is egressd's baseline
  for k in bulk_https.MBps bulk_http.MBps; do
    awk -v k=$k '$2 == k && $1 == "direct" {d[++nd]=$3} $2 == k && $1 == "egressd" {e[++ne]=$3}
      END {if (!nd || !ne) exit; printf "%s egressd/direct per round:", k
        for (i = 1; i <= nd && i <= ne; i++) printf " %.2f", e[i] / d[i]; printf "\n"}' "$E2E_TMP/res"
  done
  for k in tls.cpu_us http.cpu_us; do
    e=$(med egressd $k) best=
    for p in haproxy nginx sniproxy; do
      v=$(med $p $k); [ -z "$v" ] && continue
      if [ -z "$best" ] || [ "$(echo "$v < $best" | bc)" = 1 ]; then best=$v; bp=$p; fi
    done
    [ -n "$best" ] && [ -n "$e" ] && printf '%s egressd/best peer (%s) %.2f\n' "$k" "$bp" "$(echo "$e / $best" | bc -l)"
  done
fi
