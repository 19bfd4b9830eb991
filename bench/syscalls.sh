#!/usr/bin/env bash
# System calls egressd makes per relayed connection (docs/performance.md):
# egressd runs under `strace -c -f` in the e2e topology while N TLS
# connections (one request each, through curl's keep-alive off) and then N
# HTTP ones pass; prints strace's table divided by N, per kind.
#
#   sudo bench/syscalls.sh [build/egressd] [N]
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
EGRESSD=$(realpath "${1:-$ROOT/build/egressd}")
N=${2:-200}
. "$ROOT/tests/e2e/lib.sh"
e2e_preflight || exit 1
command -v strace >/dev/null || { echo "bench: strace is needed" >&2; exit 1; }
e2e_init
trap 'e2e_cleanup' EXIT
e2e_setup "$EGRESSD" >/dev/null || exit 1
cfg_write "$E2E_TMP/s.yaml"
sed -i "s|^audit: .*|audit: { file: $E2E_TMP/s-audit.jsonl, log_allowed: false }|" "$E2E_TMP/s.yaml"
urls() { local i; for ((i = 0; i < N; i++)); do echo "url = \"$1\""; echo "output = /dev/null"; done; }
for kind in tls http; do
  egressd_stop
  ip netns exec "$E2E_SBX" strace -qq $( [ -n "${TRACE:-}" ] || echo -c ) -f -o "$E2E_TMP/strace.$kind" \
    "$EGRESSD" -c "$E2E_TMP/s.yaml" >>"$E2E_ELOG" 2>&1 &
  sp=$!
  register_pid "$sp"
  retry_until 10 egressd_listening || { echo "egressd did not start" >&2; exit 1; }
  scheme=https; [ $kind = http ] && scheme=http
  # warm: the name is resolved once, outside the count
  sbx_curl -o /dev/null "$scheme://allowed.example.com/" 2>/dev/null
  sleep 0.5
  # strace -c counts from the start: subtract an idle baseline of equal length
  urls "$scheme://allowed.example.com/" >"$E2E_TMP/curl.cfg"
  sbx_curl --no-keepalive -H 'Connection: close' -K "$E2E_TMP/curl.cfg" 2>/dev/null
  sleep 0.5
  kill -INT "$(pgrep -P "$sp" -x egressd || echo "$sp")" 2>/dev/null
  for ((i = 0; i < 50; i++)); do pid_alive "$sp" || break; sleep 0.1; done
  [ -n "${TRACE:-}" ] && cp "$E2E_TMP/strace.$kind" "/tmp/strace.$kind"
  echo "== $kind: system calls per connection (N=$N, start-up and shutdown included)"
  awk -v n="$N" '$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" {name=$NF; calls=$4; if ($5 ~ /^[0-9]+$/) {} ; printf "%-16s %8.2f\n", name, calls / n; tot += calls}
    END {printf "%-16s %8.2f\n", "total", tot / n}' "$E2E_TMP/strace.$kind" | sort -k2 -nr | head -30
done
