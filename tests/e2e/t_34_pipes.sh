#!/usr/bin/env bash
# Pipes only while bytes are in flight (issue 10, docs/performance.md):
#  - an idle relayed connection holds its two sockets and nothing else;
#  - egressd as an unprivileged user whose pipe quota
#    (fs.pipe-user-pages-soft) is already spent by another process of the
#    same uid still relays bulk HTTPS intact after connection churn (new
#    pipes would be a page or two: the flow copies instead of crawling),
#    and gives its pipes back afterwards.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_case_env
want=$(blob_sha256)
fd_total() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
fd_pipes() { ls -l "/proc/$1/fd" 2>/dev/null | grep -c 'pipe:'; }

# idle.py N HOLD_S READY: N TLS connections through egressd, one request
# each, then held idle.
IDLE_PY='
import socket, ssl, sys, time
n, hold, ready, ca = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(cafile=ca)
keep = []
for i in range(n):
    s = socket.create_connection(("203.0.113.10", 443), timeout=5)
    t = ctx.wrap_socket(s, server_hostname="allowed.example.com")
    t.sendall(b"GET / HTTP/1.1\r\nHost: allowed.example.com\r\n\r\n")
    t.recv(65536)
    keep.append(t)
open(ready, "w").write("up\n")
time.sleep(hold)
'

case_begin idle_connection_holds_two_descriptors
cfg=$E2E_TMP/pipes.yaml
cfg_write "$cfg"
if egressd_restart "$cfg"; then
  pid=$(egressd_pid)
  # warm: the name's look-up and the pool's first pipes
  sbx_curl -o /dev/null https://allowed.example.com/ 2>/dev/null
  sbx_curl -o /dev/null https://allowed.example.com/ 2>/dev/null
  before=$(fd_total "$pid")
  rm -f "$E2E_TMP/idle.ready"
  sbx "$E2E_PY" -c "$IDLE_PY" 20 6 "$E2E_TMP/idle.ready" "$E2E_CA" >"$E2E_TMP/idle.out" 2>&1 &
  ipid=$!
  for ((i = 0; i < 100; i++)); do [ -s "$E2E_TMP/idle.ready" ] && break; sleep 0.1; done
  sleep 0.5
  during=$(fd_total "$pid")
  wait "$ipid"
  [ -s "$E2E_TMP/idle.ready" ] || ck_fail "the client did not open its connections: $(cat "$E2E_TMP/idle.out")"
  per=$(( (during - before) * 100 / 20 ))
  # two sockets each; the spare pipes may have changed by one or two
  [ "$per" -ge 180 ] && [ "$per" -le 220 ] ||
    ck_fail "20 idle connections took $((during - before)) descriptors ($before -> $during), not 40"
else
  ck_fail "egressd did not start"
fi
case_end

case_begin bulk_https_after_churn_past_the_pipe_quota
uid=4243
soft=$(cat /proc/sys/fs/pipe-user-pages-soft)
d=$E2E_TMP/pipes-u
mkdir -p "$d"
chown "$uid" "$d"
chmod 755 "$E2E_TMP"
cfg_write "$d/c.yaml"
sed -i "s|^audit: .*|audit: { file: $d/audit.jsonl }|" "$d/c.yaml"
echo "state_dir: $d" >>"$d/c.yaml"
if [ "$soft" = 0 ]; then
  case_note "fs.pipe-user-pages-soft is 0 (no per-user limit): quota part not exercised"
fi
# Another process of the same uid spends the quota: pipes until a new one
# comes back smaller than the default (bounded: 20,000 pipes).
setpriv --reuid=$uid --regid=$uid --clear-groups "$E2E_PY" -c '
import fcntl, os, sys, time
F_GETPIPE_SZ = 1032
keep = []
for i in range(20000):
    try:
        r, w = os.pipe()
    except OSError:
        break
    keep.append((r, w))
    if fcntl.fcntl(r, F_GETPIPE_SZ) < 65536:
        break
open(sys.argv[1], "w").write("%d\n" % len(keep))
time.sleep(float(sys.argv[2]))
' "$d/hog.ready" 60 >/dev/null 2>&1 &
hog=$!
register_pid "$hog"
for ((i = 0; i < 100; i++)); do [ -s "$d/hog.ready" ] && break; sleep 0.1; done
egressd_stop
ip netns exec "$E2E_SBX" prlimit --nofile=20000:20000 setpriv --reuid=$uid --regid=$uid --clear-groups \
  --inh-caps=+net_admin --ambient-caps=+net_admin "$E2E_EGRESSD" -c "$d/c.yaml" >>"$E2E_ELOG" 2>&1 &
pid=$!
echo "$pid" >"$E2E_TMP/egressd.pid"
register_pid "$pid"
if retry_until 5 egressd_listening; then
  # churn: 200 short TLS connections, 8 at a time
  for ((i = 0; i < 25; i++)); do
    cps=()
    for ((j = 0; j < 8; j++)); do sbx_curl -o /dev/null https://allowed.example.com/ 2>/dev/null & cps+=($!); done
    wait "${cps[@]}"
  done
  for scheme in http https; do
    f=$d/blob.$scheme
    t0=$(date +%s%N)
    err=$(CURL_MAX_TIME=30 sbx_curl -o "$f" "$scheme://allowed.example.com/blob" 2>&1); rc=$?
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    expect_eq 0 "$rc" "$scheme curl exit code ($err)"
    expect_eq "$want" "$(sha256sum "$f" 2>/dev/null | cut -d' ' -f1)" "$scheme sha256 of 20 MiB"
    case_note "$scheme 20 MiB in $ms ms"
    rm -f "$f"
  done
  [ "$ms" -lt 10000 ] || ck_fail "20 MiB over HTTPS took $ms ms: crawling"
  sleep 0.5
  p=$(fd_pipes "$pid")
  # idle now: only the pool's spare pipes (a bounded few) remain
  [ "$p" -le 160 ] || ck_fail "egressd holds $p pipe descriptors when idle"
  egressd_alive || ck_fail "egressd died"
else
  ck_fail "egressd (uid $uid) did not start: $(egressd_log_tail 5)"
fi
egressd_stop
kill_pid "$hog" 5
case_end
