#!/usr/bin/env bash
# HTTPS interception: egressd (tls_intercept) against mitmproxy and Squid
# ssl-bump, and direct TLS as the baseline, in one run (bench/README.md,
# docs/performance.md "HTTPS interception").
#
#   sudo bench/bench_intercept.sh [build-rel/egressd] [RUNS]
#   # peers: apt-get install nginx-light gcc libssl-dev mitmproxy squid-openssl
#
# Topology: the e2e one (tests/e2e/lib.sh).  nginx serves the fake internet
# on :8443 with a certificate from the test server CA (/small: "ok", /big:
# BULK_MB MiB of random bytes).  Every proxy runs transparently in the
# sandbox behind the same kind of nat REDIRECT, terminates the client's TLS
# with a leaf certificate minted from one interception CA (ECDSA P-256, the
# same for all three), opens its own TLS connection to nginx, verifies it
# against the server CA and relays HTTP/1.1.  The client trusts both CAs.
#   egressd    uid EGRESS_UID, CAP_NET_ADMIN for its mark, workers: 1,
#              intercept_tls + an endpoints rule on the host;
#   mitmproxy  mitmdump --mode transparent as nobody, http2 off;
#   squid      squid-openssl, https_port intercept ssl-bump, peek step1 /
#              bump all, no cache, access_log none, one process (-N) plus
#              its certificate helper, as user proxy.
# CPU: the proxy (and its children) on core PROXY_CPU, the client and nginx
# on core CLIENT_CPU, for every peer and direct; all of them at nice NICE.
# Each run, for each of PEERS in turn on a fresh process:
#   1. conn: new connections for CHURN s, CONC at a time, each a full TLS
#      handshake + one GET + Connection: close (bench_intercept_load.c):
#      answers/s, p99, proxy CPU per connection, the client's, nginx's and
#      each core's CPU (which side was the limit);
#   2. bulk: BULK_N downloads of BULK_MB MiB (curl), each a sample: MB/s,
#      proxy CPU per GB and % of its core;
#   3. idle: IDLE TLS connections that each did one request, held with
#      keep-alive (bench_intercept_idle.py): proxy RSS growth (VmRSS of
#      its process tree) per connection.
# Printed: a markdown table, median (min-max) of RUNS, and the ratios.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
EGRESSD=$(realpath "${1:-$ROOT/build-rel/egressd}")
RUNS=${2:-3}
CHURN=${CHURN:-10}
CONC=${CONC:-50}
BULK_MB=${BULK_MB:-256}
BULK_N=${BULK_N:-3}
IDLE=${IDLE:-1000}
NOFILE=${NOFILE:-20000}
EGRESS_UID=${EGRESS_UID:-4242}
PROXY_CPU=${PROXY_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PEERS=${PEERS:-direct egressd mitmproxy squid}
NICE=${NICE:--10}
HOST=allowed.example.com
URL=https://$HOST:8443
. "$ROOT/tests/e2e/lib.sh"
. "$ROOT/bench/procs.sh"
e2e_preflight || exit 1
# Everything started from here inherits it: on a machine shared with other
# work, the proxies, the client and nginx get most of their cores (CFS
# weight 9548 against 1024 at nice 0) instead of a share that depends on
# where the scheduler puts someone else's busy process.
renice -n "$NICE" -p $$ >/dev/null
for t in nginx cc setpriv taskset prlimit bc; do
  command -v $t >/dev/null || { echo "bench: $t is needed (apt-get install nginx-light gcc util-linux bc)" >&2; exit 1; }
done

# ------------------------------------------------------------ which peers
peer_missing() { # peer_missing NAME: prints why NAME cannot run here
  case $1 in
  egressd)
    [ -x "$EGRESSD" ] || { echo "$EGRESSD is not an executable"; return; }
    local d
    d=$(mktemp -d)
    printf 'listen: ["127.0.0.1:15001"]\ntls_intercept: { ca_cert: /dev/null, ca_key: /dev/null }\npolicies: { p: { mode: block-all } }\nsandboxes: [{ id: s, policies: [p] }]\n' >"$d/c.yaml"
    if "$EGRESSD" -c "$d/c.yaml" --check 2>&1 | grep -qi "unknown key.*tls_intercept\|tls_intercept.*unknown"; then
      echo "this egressd has no HTTPS interception (no tls_intercept key): build it from a tree that has it"
    fi
    rm -rf "$d" ;;
  mitmproxy) command -v mitmdump >/dev/null || echo "mitmdump not found: apt-get install mitmproxy" ;;
  squid)
    if ! command -v squid >/dev/null; then echo "squid not found: apt-get install squid-openssl"
    elif ! squid -v | grep -q -- '--with-openssl'; then echo "this squid has no ssl-bump: apt-get install squid-openssl"
    elif [ ! -x /usr/lib/squid/security_file_certgen ]; then echo "no /usr/lib/squid/security_file_certgen: apt-get install squid-openssl"
    fi ;;
  esac
}
run_peers=""
for p in $PEERS; do
  why=$(peer_missing "$p")
  if [ -n "$why" ]; then echo "bench: skipping $p: $why" >&2; else run_peers+=" $p"; fi
done
PEERS=${run_peers# }

# not /tmp/egressd-e2e.*, which other sessions' e2e clean-ups may sweep mid-run
mktemp() { command mktemp -d /tmp/bench-intercept.XXXXXX; }
e2e_init
unset -f mktemp
chmod 755 "$E2E_TMP"
# the connection-phase client (bench_intercept_load.c says why not wrk)
LOAD=$E2E_TMP/bench_intercept_load
cc -std=c11 -O2 -Wall -Wextra -o "$LOAD" "$ROOT/bench/bench_intercept_load.c" -lssl -lcrypto ||
  { echo "bench: cannot build bench/bench_intercept_load.c (apt-get install gcc libssl-dev)" >&2; rm -rf "$E2E_TMP"; exit 1; }
HOSTS_DIR=/etc/netns/$E2E_SBX
PROXY_PID=
cleanup() {
  [ -n "${PROXY_PID:-}" ] && [ "$PROXY_PID" != 0 ] && kill_pid "$PROXY_PID" 30
  [ -n "${NG_PID:-}" ] && kill_pid "$NG_PID" 5
  rm -rf "$HOSTS_DIR"
  e2e_cleanup
}
trap cleanup EXIT
e2e_setup "$EGRESSD" >/dev/null || exit 1
# the clients take the TLS name from the URL: the sandbox's /etc/hosts.
mkdir -p "$HOSTS_DIR"
printf '127.0.0.1 localhost\n%s %s\n' "$IP_A" "$HOST" >"$HOSTS_DIR/hosts"
sbx sysctl -qw net.ipv4.ip_local_port_range="1024 65000"
sbx sysctl -qw net.ipv4.tcp_tw_reuse=1
netx sysctl -qw net.core.somaxconn=4096
sbx sysctl -qw net.core.somaxconn=4096

# ------------------------------------------------------------ PKI
# The server CA (e2e: $E2E_CA) signs nginx's certificate; the interception CA
# signs the proxies' leaves; the client trusts both (direct needs the first).
P=$E2E_TMP/icpt
mkdir -p "$P"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$P/ca.key" \
  -out "$P/ca.crt" -days 2 -subj "/CN=bench interception CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  >"$P/openssl.log" 2>&1 || { cat "$P/openssl.log" >&2; exit 1; }
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout "$E2E_TMP/pki/untrusted.key" -out "$E2E_TMP/pki/untrusted.pem" -days 2 -subj "/CN=$HOST" \
  -addext "subjectAltName=DNS:$HOST" >>"$P/openssl.log" 2>&1 || { cat "$P/openssl.log" >&2; exit 1; }
cat "$P/ca.crt" "$E2E_CA" >"$P/bundle.pem"
chmod 644 "$P/bundle.pem" "$P/ca.crt" "$E2E_CA"
BUNDLE=$P/bundle.pem

# ------------------------------------------------------------ the server
W=$E2E_TMP/www
mkdir -p "$W"
head -c "$((BULK_MB << 20))" /dev/urandom >"$W/big"
cat >"$E2E_TMP/nginx.conf" <<EOF
worker_processes 1;
worker_rlimit_nofile 20000;
user root;
daemon off;
pid $E2E_TMP/nginx.pid;
error_log $E2E_TMP/nginx.err;
events { worker_connections 10000; }
http {
  access_log off;
  keepalive_timeout 300s;
  keepalive_requests 100000;
  server {
    listen 8443 ssl reuseport backlog=4096;
    ssl_certificate $E2E_TMP/pki/server.pem;
    ssl_certificate_key $E2E_TMP/pki/server.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    root $W;
    location = /small { return 200 "ok"; }
  }
  server {
    # a certificate no proxy may accept (self-signed, outside the server CA)
    listen 8444 ssl;
    ssl_certificate $E2E_TMP/pki/untrusted.pem;
    ssl_certificate_key $E2E_TMP/pki/untrusted.key;
    location = /small { return 200 "ok"; }
  }
}
EOF
netx taskset -c "$CLIENT_CPU" nginx -c "$E2E_TMP/nginx.conf" >/dev/null 2>&1 &
NG_PID=$!
register_pid "$NG_PID"

# ------------------------------------------------------------ the proxies
# egressd: the e2e config with interception of the one host, an endpoints
# rule for it (every request is judged), allowed events not written.
mkdir -p "$E2E_TMP/estate"
cp "$P/ca.key" "$P/e-ca.key"
chown "$EGRESS_UID" "$E2E_TMP/estate" "$P/e-ca.key"
chmod 600 "$P/e-ca.key"
cfg_write "$E2E_TMP/e.yaml"
sed -i "s|^audit: .*|audit: { file: $E2E_TMP/estate/audit.jsonl, log_allowed: false }|
s|^limits: .*|limits: { peek_timeout_ms: 1000, drain_s: 1, max_connections: 200000, max_connections_per_sandbox: 200000 }\nstate_dir: $E2E_TMP/estate\nworkers: 1\ntls_intercept: { ca_cert: $P/ca.crt, ca_key: $P/e-ca.key, upstream_ca: $E2E_CA }|
s|^    mode: block-all|&\n    intercept_tls: [\"$HOST\"]\n    endpoints: [{ host: \"$HOST\", methods: [GET], paths: [\"/small\", \"/big\"] }]|" "$E2E_TMP/e.yaml"

# mitmproxy: its CA file is the key and the certificate in one file.
M=$E2E_TMP/mitm
mkdir -p "$M"
cat "$P/ca.key" "$P/ca.crt" >"$M/mitmproxy-ca.pem"
cp "$P/ca.crt" "$M/mitmproxy-ca-cert.pem"
chown -R nobody:nogroup "$M"
chmod 600 "$M/mitmproxy-ca.pem"

# squid: one process (-N), ssl-bump with certificates minted by its helper.
S=$E2E_TMP/squid
mkdir -p "$S"
cp "$P/ca.crt" "$S/ca.crt"
cp "$P/ca.key" "$S/ca.key"
/usr/lib/squid/security_file_certgen -c -s "$S/ssl_db" -M 16MB >/dev/null 2>&1
chown -R proxy:proxy "$S"
chmod 600 "$S/ca.key"
cat >"$S/squid.conf" <<EOF
http_port 127.0.0.1:15006
https_port 127.0.0.1:15007 intercept ssl-bump tls-cert=$S/ca.crt tls-key=$S/ca.key generate-host-certificates=on dynamic_cert_mem_cache_size=16MB
sslcrtd_program /usr/lib/squid/security_file_certgen -s $S/ssl_db -M 16MB
sslcrtd_children 4 startup=1 idle=1
acl step1 at_step SslBump1
ssl_bump peek step1
ssl_bump bump all
tls_outgoing_options cafile=$E2E_CA
http_access allow all
workers 1
cache deny all
cache_mem 0 MB
memory_cache_shared off
access_log none
cache_store_log none
cache_log $S/cache.log
pid_filename $S/squid.pid
coredump_dir $S
cache_effective_user proxy
max_filedescriptors $NOFILE
client_idle_pconn_timeout 5 minutes
pconn_timeout 5 minutes
shutdown_lifetime 1 second
dns_nameservers $NET_IP
hosts_file /etc/hosts
EOF
PROXY_UID_squid=$(id -u proxy)
PROXY_UID_mitmproxy=$(id -u nobody)

redirect() { # redirect direct|mark|uid UID PORT
  redirect_remove >/dev/null 2>&1
  case $1 in
  mark) sbx "$ROOT/scripts/egress-redirect" install --mark "$E2E_MARK" --dns-port 15053 >/dev/null ;;
  uid) sbx "$ROOT/scripts/egress-redirect" install --uid "$2" --proxy-port "$3" --dns-port 0 >/dev/null ;;
  esac
}
on_proxy_cpu() { prlimit --nofile="$NOFILE:$NOFILE" taskset -c "$PROXY_CPU" "$@"; }

start_peer() { # start_peer NAME: sets PROXY_PID (0 for direct); rc 1 when it did not come up
  local i port=
  PROXY_PID=0
  case $1 in
  direct) redirect direct ;;
  egressd)
    redirect mark
    port=15001
    ip netns exec "$E2E_SBX" prlimit --nofile="$NOFILE:$NOFILE" taskset -c "$PROXY_CPU" \
      setpriv --reuid="$EGRESS_UID" --regid="$EGRESS_UID" --clear-groups --inh-caps=+net_admin \
      --ambient-caps=+net_admin "$EGRESSD" -c "$E2E_TMP/e.yaml" >>"$E2E_ELOG" 2>&1 &
    PROXY_PID=$! ;;
  mitmproxy)
    port=15005
    redirect uid "$PROXY_UID_mitmproxy" $port
    ip netns exec "$E2E_SBX" prlimit --nofile="$NOFILE:$NOFILE" taskset -c "$PROXY_CPU" \
      setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME="$M" \
      mitmdump -q --mode transparent --listen-host 127.0.0.1 --listen-port $port \
      --set confdir="$M" --set ssl_verify_upstream_trusted_ca="$E2E_CA" --set http2=false \
      --set flow_detail=0 --set stream_large_bodies=1 --set termlog_verbosity=error \
      >"$M/mitmdump.log" 2>&1 &
    PROXY_PID=$! ;;
  squid)
    port=15007
    redirect uid "$PROXY_UID_squid" $port
    ip netns exec "$E2E_SBX" prlimit --nofile="$NOFILE:$NOFILE" taskset -c "$PROXY_CPU" \
      squid -N -f "$S/squid.conf" >"$S/squid.out" 2>&1 &
    PROXY_PID=$! ;;
  esac
  [ "$PROXY_PID" = 0 ] && return 0
  register_pid "$PROXY_PID"
  for ((i = 0; i < 150; i++)); do
    sbx ss -ltnH "( sport = :$port )" | grep -q . && break
    pid_alive "$PROXY_PID" || break
    sleep 0.1
  done
  sleep 0.3
  # warm: the first connection mints the leaf (and egressd resolves the name)
  if ! sbx curl -sf -o /dev/null --max-time 10 --cacert "$BUNDLE" "$URL/small"; then
    echo "bench: $1 does not answer through interception; its log ends with:" >&2
    case $1 in
    egressd) tail -n 5 "$E2E_ELOG" ;;
    mitmproxy) tail -n 5 "$M/mitmdump.log" ;;
    squid) tail -n 5 "$S/cache.log" ;;
    esac | sed 's/^/    | /' >&2
    return 1
  fi
  # the client must see a leaf from the interception CA, not nginx's certificate
  sbx openssl s_client -connect "$HOST:8443" -servername "$HOST" </dev/null 2>/dev/null |
    openssl x509 -noout -issuer -startdate -enddate -text >"$E2E_TMP/leaf.txt" 2>/dev/null
  if ! grep -q "^issuer=.*bench interception CA" "$E2E_TMP/leaf.txt"; then
    echo "bench: $1 did not present a leaf from the interception CA" >&2
    return 1
  fi
  # and must not get an answer from a server whose certificate fails verification
  local code
  code=$(sbx curl -s -o "$E2E_TMP/untrusted.$1.out" -w '%{http_code}' --max-time 10 --cacert "$BUNDLE" "https://$HOST:8444/small")
  if [ "$code" = 200 ]; then
    echo "bench: $1 relayed a server whose certificate it cannot verify" >&2
    return 1
  fi
  if [ "$run" = 1 ]; then
    awk -v p="$1" -v c="$code" -F'=' '/^notBefore/ {b=$2} /^notAfter/ {a=$2}
      /Public Key Algorithm/ {sub(/.*: /, ""); k=$0} /NIST CURVE/ {sub(/.*: /, ""); k=k " " $0}
      END {printf "# %s: leaf %s, %s to %s; untrusted upstream: HTTP %s\n", p, k, b, a, c}' "$E2E_TMP/leaf.txt" >&2
  fi
}
stop_peer() {
  [ "$PROXY_PID" != 0 ] && kill_pid "$PROXY_PID" 80   # squid takes 2-4 s to exit
  PROXY_PID=
}

core_ticks() { # core_ticks N: "busy total" jiffies of core N (/proc/stat)
  awk -v c="cpu$1" '$1 == c {t=0; for (i=2; i<=NF; i++) t+=$i; print t - $5 - $6, t}' /proc/stat
}
proxy_ticks() { if [ "$PROXY_PID" = 0 ]; then echo 0; else cpu_ticks "$PROXY_PID"; fi; }
hz=$(getconf CLK_TCK)
res() { echo "$PEER $1 $2" >>"$E2E_TMP/res"; }
calc() { echo "$1" | bc -l; }

conn() { # new connections: handshake + GET /small + close
  local p0 n0 p1 n1 t cu cs ok err p99 pb0 pt0 pb1 pt1 cb0 ct0 cb1 ct1
  p0=$(proxy_ticks)
  n0=$(cpu_ticks "$NG_PID")
  read -r pb0 pt0 < <(core_ticks "$PROXY_CPU")
  read -r cb0 ct0 < <(core_ticks "$CLIENT_CPU")
  TIMEFORMAT='%R %U %S'
  { time sbx taskset -c "$CLIENT_CPU" "$LOAD" "$HOST" 8443 /small "$CONC" "$CHURN" "$BUNDLE" \
    >"$E2E_TMP/load.out" 2>"$E2E_TMP/load.err"; } 2>"$E2E_TMP/load.time"
  p1=$(proxy_ticks)
  n1=$(cpu_ticks "$NG_PID")
  read -r pb1 pt1 < <(core_ticks "$PROXY_CPU")
  read -r cb1 ct1 < <(core_ticks "$CLIENT_CPU")
  res conn.proxy_core_pct "$(calc "($pb1 - $pb0) * 100 / ($pt1 - $pt0)")"
  res conn.client_core_pct "$(calc "($cb1 - $cb0) * 100 / ($ct1 - $ct0)")"
  read -r _ ok _ err _ t _ _ _ p99 <"$E2E_TMP/load.out"
  read -r _ cu cs <"$E2E_TMP/load.time"
  [ -s "$E2E_TMP/load.err" ] && sed "s/^/bench: $PEER: /" "$E2E_TMP/load.err" >&2
  res conn.cps "$(calc "$ok / $t")"
  res conn.errors "$err"
  res conn.p99_ms "$p99"
  res conn.client_pct "$(calc "($cu + $cs) * 100 / $t")"
  res conn.server_pct "$(calc "($n1 - $n0) * 100 / $hz / $t")"
  if [ "$PROXY_PID" != 0 ] && [ "$ok" -gt 0 ]; then
    res conn.cpu_us "$(calc "($p1 - $p0) * 1000000 / $hz / $ok")"
    [ "$p1" -gt "$p0" ] && res conn.per_core "$(calc "$ok * $hz / ($p1 - $p0)")"
    res conn.proxy_pct "$(calc "($p1 - $p0) * 100 / $hz / $t")"
  fi
}
bulk() { # BULK_N downloads of the big file, each on a new connection and a sample of its own
  local c0 c1 size secs i cb0 ct0 cb1 ct1
  for ((i = 0; i < BULK_N; i++)); do
    c0=$(proxy_ticks)
    read -r cb0 ct0 < <(core_ticks "$CLIENT_CPU")
    read -r size secs < <(sbx taskset -c "$CLIENT_CPU" curl -s --max-time 120 --cacert "$BUNDLE" \
      -o /dev/null -w '%{size_download} %{time_total}\n' "$URL/big")
    c1=$(proxy_ticks)
    read -r cb1 ct1 < <(core_ticks "$CLIENT_CPU")
    if [ "${size:-0}" -ne "$((BULK_MB << 20))" ]; then
      echo "bench: $PEER: bulk download got ${size:-0} bytes of $((BULK_MB << 20))" >&2
      continue
    fi
    res bulk.MBps "$(calc "$size / $secs / 1000000")"
    res bulk.client_core_pct "$(calc "($cb1 - $cb0) * 100 / ($ct1 - $ct0)")"
    [ "$PROXY_PID" = 0 ] && continue
    res bulk.cpu_s_per_GB "$(calc "($c1 - $c0) / $hz / ($size / 1000000000)")"
    res bulk.proxy_pct "$(calc "($c1 - $c0) * 100 / $hz / $secs")"
  done
}
idle() { # IDLE connections that did one request each, held
  local rss0 i open failed took held ipid
  [ "$PROXY_PID" != 0 ] && rss0=$(rss_kb "$PROXY_PID")
  rm -f "$E2E_TMP/idle.ready"
  sbx prlimit --nofile=$((IDLE + 1000)) taskset -c "$CLIENT_CPU" "$E2E_PY" \
    "$ROOT/bench/bench_intercept_idle.py" "$IDLE" "$HOST" 8443 "$BUNDLE" "$E2E_TMP/idle.ready" 3 \
    >"$E2E_TMP/idle.out" 2>&1 &
  ipid=$!
  for ((i = 0; i < 1200; i++)); do [ -s "$E2E_TMP/idle.ready" ] && break; pid_alive "$ipid" || break; sleep 0.1; done
  sleep 1
  read -r _ open failed took <"$E2E_TMP/idle.ready"
  if [ "$PROXY_PID" != 0 ] && [ "${open:-0}" -gt 0 ]; then
    res idle.KiB_per_conn "$(calc "($(rss_kb "$PROXY_PID") - $rss0) / $open")"
  fi
  wait "$ipid"
  held=$(awk '/^held/ {print $2}' "$E2E_TMP/idle.out")
  res idle.held "${held:-0}"
  res idle.open_s "${took:-0}"
  [ "${failed:-0}" -gt 0 ] && echo "bench: $PEER: $failed of $IDLE idle connections failed" >&2
}

: >"$E2E_TMP/res"
start=$SECONDS
for ((run = 1; run <= RUNS; run++)); do
  for PEER in $PEERS; do
    echo "# run $run: $PEER ($(uptime | sed 's/.*load/load/'))" >&2
    if start_peer "$PEER"; then
      conn
      bulk
      idle
    fi
    stop_peer
  done
done
cp "$E2E_TMP/res" "${RES_OUT:-/tmp/bench_intercept.res}"

# ------------------------------------------------------------ the table
vals() { awk -v n="$1" -v k="$2" '$1==n && $2==k {print $3}' "$E2E_TMP/res" | sort -g; }
cell() { vals "$1" "$2" | awk '{a[NR]=$1} END {if (!NR) {printf "-"; exit}
    m=a[int((NR+1)/2)]; f=(m >= 100 || m == int(m)) ? "%.0f" : (m >= 10 ? "%.1f" : "%.2f")
    printf f, m; if (NR > 1 && a[1] != a[NR]) printf " (" f "-" f ")", a[1], a[NR]}'; }
med() { vals "$1" "$2" | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]}'; }
ratio() { # ratio METRIC A B: median A / median B
  local a b
  a=$(med "$2" "$1") b=$(med "$3" "$1")
  if [ -n "$a" ] && [ -n "$b" ] && [ "$(calc "$b != 0")" = 1 ]; then printf '%.2f' "$(calc "$a / $b")"; else printf -- '-'; fi
}
# the rows: key|label|how egressd compares (more: higher is better, less: lower is)
ROWS="conn.cps|new intercepted HTTPS connections/s (handshake + GET + close)|more
conn.errors|failed connections in the conn phase|
conn.p99_ms|p99 connect to last byte of the answer (ms)|less
conn.cpu_us|proxy CPU per connection (µs)|less
conn.per_core|connections/s one core of proxy CPU carries (1 s / CPU per connection)|more
conn.proxy_pct|proxy CPU during the conn phase (% of its core)|
conn.client_pct|client CPU during the conn phase (% of a core)|
conn.server_pct|server (nginx) CPU during the conn phase (% of a core)|
conn.proxy_core_pct|the proxy's core busy (anything on it, % of the conn phase)|
conn.client_core_pct|the client's and nginx's core busy (anything on it, %)|
bulk.MBps|bulk: a $BULK_MB MiB download (MB/s; $BULK_N a run)|more
bulk.cpu_s_per_GB|proxy CPU per GB relayed (s)|less
bulk.proxy_pct|proxy CPU during a download (% of its core)|
bulk.client_core_pct|the client's and nginx's core busy during a download (%)|
idle.held|idle connections held (of $IDLE)|
idle.open_s|seconds to open them (16 at a time)|
idle.KiB_per_conn|proxy memory per idle intercepted connection (KiB RSS)|less"
printf '\nmedian (min-max) of %d runs, %s; proxy on core %s, client and nginx on core %s, nice %s; took %d s\n\n' \
  "$RUNS" "$(date -u +%Y-%m-%d)" "$PROXY_CPU" "$CLIENT_CPU" "$NICE" "$((SECONDS - start))"
hdr="| metric |" sep="|---|"
for p in $PEERS; do hdr+=" $p |"; sep+="---:|"; done
has_e=0
[[ " $PEERS " == *" egressd "* ]] && has_e=1
if [ $has_e = 1 ]; then
  for p in mitmproxy squid direct; do [[ " $PEERS " == *" $p "* ]] && { hdr+=" egressd/$p |"; sep+="---:|"; }; done
fi
echo "$hdr"; echo "$sep"
while IFS='|' read -r k text better; do
  row="| $text |" any=0
  for p in $PEERS; do v=$(cell "$p" "$k"); [ "$v" != - ] && any=1; row+=" $v |"; done
  if [ $has_e = 1 ]; then
    for p in mitmproxy squid direct; do
      [[ " $PEERS " == *" $p "* ]] || continue
      if [ -n "$better" ]; then row+=" $(ratio "$k" egressd $p) |"; else row+=" |"; fi
    done
  fi
  [ $any = 1 ] && echo "$row"
done <<<"$ROWS"

# ------------------------------------------------------------ the goals
goal() { # goal TEXT OK
  if [ "$2" = 1 ]; then echo "- met: $1"; else echo "- MISSED: $1"; fi
}
if [ $has_e = 1 ]; then
  echo
  for k in conn.cps conn.per_core; do
    r=$(ratio $k egressd mitmproxy)
    [ "$r" != - ] && goal "$(awk -F'|' -v k=$k '$1 == k {print $2}' <<<"$ROWS"): >= 5x mitmproxy's (${r}x)" "$(calc "$r >= 5")"
  done
  if [[ " $PEERS " == *" squid "* ]]; then
    while IFS='|' read -r k text better; do
      [ -n "$better" ] || continue
      r=$(ratio "$k" egressd squid)
      [ "$r" = - ] && continue
      if [ "$better" = more ]; then goal "$text: ahead of Squid (${r}x)" "$(calc "$r > 1")"
      else goal "$text: below Squid's (${r}x)" "$(calc "$r < 1")"; fi
    done <<<"$ROWS"
  fi
  r=$(ratio bulk.MBps egressd direct)
  [ "$r" != - ] && goal "bulk through interception >= 0.5x direct TLS (${r}x)" "$(calc "$r >= 0.5")"
fi
