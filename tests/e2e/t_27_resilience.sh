#!/usr/bin/env bash
# egressd keeps serving everyone else (issue 8, docs/security.md):
#  - a TCP flood on the DNS filter cannot take the data path's descriptors;
#  - connections past what RLIMIT_NOFILE can hold are refused (reason
#    limit) instead of failing accept() for everyone, and start-up says so;
#  - a full audit disk drops (and counts) events, never glues lines, and
#    writing resumes when there is room;
#  - while draining after SIGTERM the DNS filter and admin API still answer,
#    and egressd exits 0.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_case_env

REAL_EGRESSD=$E2E_EGRESSD
# with_nofile N: egressd_start runs egressd under a descriptor limit of N.
with_nofile() {
  local w=$E2E_TMP/egressd-nofile-$1
  printf '#!/bin/sh\nexec prlimit --nofile=%s:%s -- %s "$@"\n' "$1" "$1" "$REAL_EGRESSD" >"$w"
  chmod +x "$w"
  E2E_EGRESSD=$w
}
fd_count() { ls "/proc/$(egressd_pid)/fd" 2>/dev/null | wc -l; }
sdig() { sbx timeout 10 dig @"$NET_IP" +time=3 +tries=1 "$@" 2>&1; }

# ------------------------------------------------------------ DNS TCP flood
case_begin dns_tcp_flood_leaves_the_data_path_alone
cfg=$E2E_TMP/flood.yaml
cfg_write "$cfg"
with_nofile 1024
if egressd_restart "$cfg" 2>"$E2E_TMP/start.err"; then
  # 1500 TCP connections to "a resolver" (redirected to the DNS filter),
  # held for 8 s; a bounded loop, closed by the client at the end.
  sbx_py "$NET_IP" 53 1500 8 "$E2E_TMP/flood.ready" >"$E2E_TMP/flood.out" 2>&1 <<'PYEOF' &
import socket, sys, time
ip, port, n, hold, ready = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
socks, refused = [], 0
t0 = time.time()
for i in range(n):
    if time.time() - t0 > 10:
        break
    try:
        s = socket.create_connection((ip, port), timeout=1)
        socks.append(s)
    except OSError:
        refused += 1
time.sleep(0.5)
alive = 0
for s in socks:        # which ones did the filter keep?
    s.setblocking(False)
    try:
        d = s.recv(1)
        alive += 0 if d == b"" else 1
    except BlockingIOError:
        alive += 1
    except OSError:
        pass
open(ready, "w").write("up\n")
print("opened", len(socks), "refused", refused, "kept", alive, flush=True)
time.sleep(hold)
PYEOF
  fpid=$!
  for ((i = 0; i < 150; i++)); do [ -s "$E2E_TMP/flood.ready" ] && break; sleep 0.1; done
  out=$(sbx_curl https://allowed.example.com/ 2>&1); rc=$?
  expect_eq 0 "$rc" "allowed HTTPS during the flood (out: $out)"
  out=$(sdig allowed.example.com A)
  expect_contains "NOERROR" "$out" "UDP DNS during the flood"
  n=$(fd_count)
  [ "$n" -lt 400 ] || ck_fail "egressd holds $n descriptors during the flood"
  egressd_alive || ck_fail "egressd died"
  wait "$fpid"
  kept=$(sed -n 's/.* kept \([0-9]*\).*/\1/p' "$E2E_TMP/flood.out")
  [ -n "$kept" ] && [ "$kept" -le 32 ] || ck_fail "the filter kept ${kept:-?} connections from one source: $(cat "$E2E_TMP/flood.out")"
else
  ck_fail "egressd did not start: $(cat "$E2E_TMP/start.err")"
fi
E2E_EGRESSD=$REAL_EGRESSD
case_end

# ------------------------------------- more connections than descriptors
case_begin descriptor_budget_refuses_with_limit
cfg=$E2E_TMP/budget.yaml
cfg_write "$cfg" nodeny   # cidr-allowed banner flows are relayed at once
with_nofile 1024
if egressd_restart "$cfg" 2>"$E2E_TMP/start.err"; then
  grep -q "holds only [0-9]* relayed connections" "$E2E_ELOG" ||
    ck_fail "start-up did not say how many connections the descriptor limit holds"
  # a sink with a deep accept queue (fakenet's is 5 deep): bursts of
  # upstream connects must not be lost on the far side
  netx "$E2E_PY" - "$IP_C" 2323 >"$E2E_TMP/sink.log" 2>&1 <<'PYEOF' &
import selectors, socket, sys, time
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((sys.argv[1], int(sys.argv[2]))); ls.listen(1024); ls.setblocking(False)
sel = selectors.DefaultSelector(); sel.register(ls, selectors.EVENT_READ)
end = time.time() + 40
while time.time() < end:
    for k, _ in sel.select(0.5):
        if k.fileobj is ls:
            try:
                c, _ = ls.accept()
            except OSError:
                continue
            c.sendall(b"SSH-2.0-sink\r\n"); c.setblocking(False)
            sel.register(c, selectors.EVENT_READ)
        else:
            try:
                d = k.fileobj.recv(4096)
            except OSError:
                d = b""
            if not d:
                sel.unregister(k.fileobj); k.fileobj.close()
PYEOF
  spid=$!
  register_pid "$spid"
  sleep 0.5
  sbx_py "$IP_C" 2323 400 >"$E2E_TMP/budget.out" 2>&1 <<'PYEOF'
import socket, sys, time
ip, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
socks, t0 = [], time.time()
for i in range(n):
    if time.time() - t0 > 15:
        break
    try:
        socks.append(socket.create_connection((ip, port), timeout=2))
    except OSError:
        pass
time.sleep(1)
served = 0
for s in socks:
    s.settimeout(0.2)
    try:
        served += 1 if s.recv(100).startswith(b"SSH-") else 0
    except OSError:
        pass
print("opened", len(socks), "served", served)
PYEOF
  expect_match "opened [0-9]+ served [0-9]+" "$(cat "$E2E_TMP/budget.out")" "flood client ran"
  expect_event "e['action']=='deny' and e.get('reason')=='limit' and e.get('dst')=='$IP_C:2323'" "connections past the budget are refused with reason limit" 5 >/dev/null
  grep -q "accept: pausing" "$E2E_ELOG" && ck_fail "accept() ran out of descriptors: $(grep -c 'accept: pausing' "$E2E_ELOG") pauses"
  # the flood's flows end as fakenet closes them; then there is room again
  for ((i = 0; i < 20; i++)); do
    out=$(sbx_curl https://allowed.example.com/ 2>&1); rc=$?
    [ "$rc" = 0 ] && break
    sleep 0.5
  done
  expect_eq 0 "$rc" "allowed HTTPS once the flood is gone (out: $out)"
  kill_pid "$spid" 5
else
  ck_fail "egressd did not start: $(cat "$E2E_TMP/start.err")"
fi
E2E_EGRESSD=$REAL_EGRESSD
case_end

# ------------------------------------------------------------ a full disk
case_begin full_audit_disk_drops_counts_and_recovers
mnt=$E2E_TMP/auditfs
mkdir -p "$mnt"
if mount -t tmpfs -o size=256k tmpfs "$mnt"; then
  cfg=$E2E_TMP/fulldisk.yaml
  cfg_write "$cfg"
  sed -i "s|^audit: .*|audit: { file: $mnt/audit.jsonl }|" "$cfg"
  if egressd_restart "$cfg" 2>"$E2E_TMP/start.err"; then
    sbx_curl https://allowed.example.com/ >/dev/null 2>&1
    sleep 0.5
    # fill what is left (dd stops at ENOSPC)
    dd if=/dev/zero of="$mnt/filler" bs=4k 2>/dev/null
    for ((i = 0; i < 20; i++)); do sbx_curl https://allowed.example.com/ >/dev/null 2>&1 || break; done
    expect_eq 20 "$i" "requests kept succeeding with a full audit disk"
    sleep 1
    n=$(grep -c "audit: cannot write to" "$E2E_ELOG")
    expect_eq 1 "$n" "the write failure is logged once"
    rm -f "$mnt/filler"
    sbx_curl https://a.wild.example.org/ >/dev/null 2>&1
    for ((i = 0; i < 30; i++)); do grep -q a.wild.example.org "$mnt/audit.jsonl" && break; sleep 0.1; done
    grep -q a.wild.example.org "$mnt/audit.jsonl" || ck_fail "no events written after the disk had room again"
    grep -q "audit: writing to .* again" "$E2E_ELOG" || ck_fail "recovery not logged"
    bad=$("$E2E_PY" -c '
import json, sys
bad = 0
for line in open(sys.argv[1], "rb"):
    try: json.loads(line)
    except Exception: bad += 1
print(bad)' "$mnt/audit.jsonl")
    expect_eq 0 "$bad" "lines of the audit file that are not JSON"
    egressd_stop
    line=$(grep "audit: .* events written, .* dropped" "$E2E_ELOG" | tail -1)
    expect_match "written, [1-9][0-9]* dropped" "$line" "the lost events are counted as dropped"
  else
    ck_fail "egressd did not start: $(cat "$E2E_TMP/start.err")"
  fi
  umount "$mnt"
else
  ck_fail "cannot mount a tmpfs for the audit file"
fi
case_end

# ------------------------------------------- DNS and admin while draining
case_begin dns_and_admin_answer_while_draining
ASOCK=$E2E_TMP/drain-admin.sock
cfg=$E2E_TMP/drain.yaml
cfg_write "$cfg"
sed -i "s|^limits: .*|limits: { peek_timeout_ms: 1000, drain_s: 20 }|" "$cfg"
printf 'admin: { socket: %s }\n' "$ASOCK" >>"$cfg"
if egressd_restart "$cfg" 2>"$E2E_TMP/start.err"; then
  pid=$(egressd_pid)
  sbx_py "$IP_C" "$E2E_TMP/drain.go" >"$E2E_TMP/drain-hold.out" 2>&1 <<PYEOF &
$PY_PRELUDE
import os
s = connect(sys.argv[1], 2222)
s.settimeout(5)
s.recv(100)
for _ in range(150):        # held until the test says so (<= 15 s)
    if os.path.exists(sys.argv[2]):
        break
    time.sleep(0.1)
s.close()
PYEOF
  hpid=$!
  sleep 1.5            # peek timeout, then relayed
  kill -TERM "$pid"
  sleep 0.5
  pid_alive "$pid" || ck_fail "egressd exited with a connection still draining"
  out=$(sdig allowed.example.com A)
  expect_contains "NOERROR" "$out" "DNS filter answers while draining"
  out=$(sbx curl -s --max-time 5 --unix-socket "$ASOCK" http://egressd/healthz 2>&1)
  expect_contains "ok" "$out" "admin API answers while draining"
  touch "$E2E_TMP/drain.go"
  wait "$hpid"
  rc=
  for ((i = 0; i < 50; i++)); do pid_alive "$pid" || break; sleep 0.1; done
  if pid_alive "$pid"; then
    ck_fail "egressd still running after its last connection ended"
  else
    wait "$pid" 2>/dev/null; rc=$?
    expect_eq 0 "$rc" "exit code after the drain"
  fi
else
  ck_fail "egressd did not start: $(cat "$E2E_TMP/start.err")"
fi
case_end
