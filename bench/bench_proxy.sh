#!/usr/bin/env bash
# The data path against a direct connection and against HAProxy with an
# equivalent SNI/Host ACL (bench/README.md has the bars), in one run, on this machine.
#
#   sudo bench/bench_proxy.sh [build/egressd] [ROUNDS]
#
# Topology: the e2e one (tests/e2e/lib.sh); nginx serves the fake internet
# on :8080 (http) and :8443 (https).  Each round measures, for direct, for
# egressd (sidecar, egress-redirect with the mark) and for HAProxy (mode
# tcp, same allow list, REDIRECT with a uid exemption):
#   - new HTTP connections/s (wrk, Connection: close), and proxy CPU time
#     per connection from /proc (user + system);
#   - new TLS connections/s and CPU per connection, the same way;
#   - bulk throughput of one 1 GiB HTTP download (curl);
#   - user-space memory per idle established TLS connection (RSS growth
#     with 1,000 open connections).
# Medians over ROUNDS; ratios against direct (or HAProxy) from the same run.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
EGRESSD=${1:-$ROOT/build/egressd}
ROUNDS=${2:-3}
DUR=${DUR:-5}
IDLE=${IDLE:-1000}
. "$ROOT/tests/e2e/lib.sh"
e2e_preflight || exit 1
for t in nginx haproxy wrk; do
  command -v $t >/dev/null || { echo "bench: $t is needed (apt-get install nginx-light haproxy wrk)" >&2; exit 1; }
done
e2e_init
HOSTS_DIR=/etc/netns/$E2E_SBX
cleanup() {
  [ -n "${HA_PID:-}" ] && kill_pid "$HA_PID" 5
  [ -n "${NG_PID:-}" ] && kill_pid "$NG_PID" 5
  rm -rf "$HOSTS_DIR"
  e2e_cleanup
}
trap cleanup EXIT
e2e_setup "$EGRESSD" >/dev/null || exit 1
# wrk takes the TLS SNI from the URL: give the sandbox an /etc/hosts.
mkdir -p "$HOSTS_DIR"
printf '127.0.0.1 localhost\n%s allowed.example.com\n' "$IP_A" >"$HOSTS_DIR/hosts"

W=$E2E_TMP/www
mkdir -p "$W"
head -c 100 /dev/zero | tr '\0' x >"$W/small"
truncate -s 1G "$W/big"
cat >"$E2E_TMP/nginx.conf" <<EOF
worker_processes 1;
user root;
daemon off;
pid $E2E_TMP/nginx.pid;
error_log $E2E_TMP/nginx.err;
events { worker_connections 8192; }
http {
  access_log off;
  sendfile on;
  keepalive_timeout 120s;
  server {
    listen 8080 reuseport;
    listen 8443 ssl reuseport;
    ssl_certificate $E2E_TMP/pki/server.pem;
    ssl_certificate_key $E2E_TMP/pki/server.key;
    root $W;
  }
}
EOF
netx nginx -c "$E2E_TMP/nginx.conf" >/dev/null 2>&1 &
NG_PID=$!
register_pid "$NG_PID"

cat >"$E2E_TMP/haproxy.cfg" <<EOF
global
  maxconn 9000
  user nobody
  group nogroup
defaults
  mode tcp
  timeout connect 5s
  timeout client 120s
  timeout server 120s
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

cfg_write "$E2E_TMP/b.yaml"
sed -i "s|^audit: .*|audit: { file: $E2E_TMP/b-audit.jsonl, log_allowed: false }|" "$E2E_TMP/b.yaml"
sed -i "s|^limits: .*|limits: { peek_timeout_ms: 1000, drain_s: 1 }|" "$E2E_TMP/b.yaml"

mode() { # mode direct|egressd|haproxy
  redirect_remove >/dev/null 2>&1
  case $1 in
  egressd)
    sbx "$ROOT/scripts/egress-redirect" install --mark "$E2E_MARK" --dns-port 15053 >/dev/null ;;
  haproxy)
    sbx "$ROOT/scripts/egress-redirect" install --uid 65534 --proxy-port 15002 --dns-port 0 >/dev/null ;;
  esac
}
cpu_ticks() { # utime+stime of PID and its threads
  awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0
}
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
hz=$(getconf CLK_TCK)

wrk_run() { # wrk_run URL: prints "requests/s total_requests"
  sbx wrk -t1 -c32 -d"${DUR}s" -H "Connection: close" "$1" 2>/dev/null |
    awk '/Requests\/sec/ {rps=$2} /requests in/ {n=$1} END {print rps, n}'
}

measure() { # measure NAME PID: appends to results
  local name=$1 pid=$2 r c0 c1 n rps
  for proto in http tls; do
    if [ "$proto" = http ]; then url=http://allowed.example.com:8080/small; else url=https://allowed.example.com:8443/small; fi
    c0=$(cpu_ticks "$pid")
    r=$(wrk_run "$url")
    c1=$(cpu_ticks "$pid")
    rps=${r% *}; n=${r#* }
    echo "$name $proto.cps $rps" >>"$E2E_TMP/res"
    if [ "$pid" != 0 ] && [ "${n:-0}" -gt 0 ]; then
      echo "$name $proto.cpu_us $(echo "($c1 - $c0) * 1000000 / $hz / $n" | bc -l)" >>"$E2E_TMP/res"
    fi
  done
  r=$(sbx curl -s -o /dev/null --max-time 60 -w '%{speed_download}' http://allowed.example.com:8080/big)
  echo "$name bulk.MBps $(echo "$r / 1048576" | bc -l)" >>"$E2E_TMP/res"
  if [ "$pid" != 0 ]; then
    local before after
    before=$(rss_kb "$pid")
    sbx bash -c "ulimit -n 10000; exec '$E2E_PY' - '$IDLE' '$E2E_CA'" >"$E2E_TMP/idle.out" 2>&1 <<'PY' &
import socket, ssl, sys, time
n, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
keep = []
for i in range(n):
    s = socket.create_connection(("allowed.example.com", 8443), timeout=10)
    keep.append(ctx.wrap_socket(s, server_hostname="allowed.example.com"))
print("open", len(keep), flush=True)
time.sleep(8)
PY
    local ipid=$! i
    for ((i = 0; i < 200; i++)); do grep -q "^open" "$E2E_TMP/idle.out" 2>/dev/null && break; sleep 0.1; done
    sleep 1
    after=$(rss_kb "$pid")
    echo "$name idle.kB_per_conn $(echo "($after - $before) / $IDLE" | bc -l)" >>"$E2E_TMP/res"
    kill "$ipid" 2>/dev/null; wait "$ipid" 2>/dev/null
  fi
}

: >"$E2E_TMP/res"
for ((round = 1; round <= ROUNDS; round++)); do
  mode direct
  measure direct 0
  mode egressd
  egressd_restart "$E2E_TMP/b.yaml" >/dev/null || exit 1
  sbx curl -s -o /dev/null --cacert "$E2E_CA" https://allowed.example.com:8443/small   # warm DNS
  measure egressd "$(egressd_pid)"
  egressd_stop
  mode haproxy
  # not through sbx(): $! must be haproxy's own pid (ip netns exec execs)
  ip netns exec "$E2E_SBX" haproxy -f "$E2E_TMP/haproxy.cfg" -db >"$E2E_TMP/haproxy.log" 2>&1 &
  HA_PID=$!
  register_pid "$HA_PID"
  sleep 0.5
  measure haproxy "$HA_PID"
  kill_pid "$HA_PID" 5
  HA_PID=
done

med() { awk -v n="$1" -v k="$2" '$1==n && $2==k {print $3}' "$E2E_TMP/res" | sort -g |
  awk '{a[NR]=$1} END {if (NR) printf "%.2f", a[int((NR+1)/2)]; else printf "-"}'; }
ratio() {
  if [ "$1" = - ] || [ "$2" = - ] || [ "$(echo "$2 == 0" | bc)" = 1 ]; then echo -
  else echo "$1 / $2" | bc -l | xargs printf '%.2f'; fi
}
printf 'medians of %d rounds (wrk %ss, 32 connections; bulk: one 1 GiB download; idle: %d TLS connections)\n\n' "$ROUNDS" "$DUR" "$IDLE"
printf '| metric | direct | egressd | HAProxy | egressd/direct | egressd/HAProxy |\n|---|---:|---:|---:|---:|---:|\n'
for k in http.cps tls.cps http.cpu_us tls.cpu_us bulk.MBps idle.kB_per_conn; do
  d=$(med direct $k) e=$(med egressd $k) h=$(med haproxy $k)
  printf '| %s | %s | %s | %s | %s | %s |\n' "$k" "$d" "$e" "$h" "$(ratio "$e" "$d")" "$(ratio "$e" "$h")"
done
