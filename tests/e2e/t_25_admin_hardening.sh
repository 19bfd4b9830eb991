#!/usr/bin/env bash
# The admin API under abuse (docs/admin.md "Limits"): a descriptor flood on
# the TCP listener is capped (per source and in total) and closed at once
# while the data path and other admin clients keep working; every error,
# including malformed requests and bodies over 1 MiB, is JSON with a 4xx;
# unknown keys and a foreign "id" in a body are 400; the unix socket is
# never visible with a mode other than 0660.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_case_env

D=$E2E_TMP/adm25
ASOCK=$D/admin.sock
TOKEN=$E2E_TMP/token25
APORT=15010
mkdir -p "$D"
rm -f "$ASOCK"
head -c 24 /dev/urandom | base64 >"$TOKEN"
cfg=$E2E_TMP/admin25.yaml
cfg_write "$cfg"
printf 'admin: { socket: %s, listen: "127.0.0.1:%s", token_file: %s }\nstate_dir: %s\n' \
  "$ASOCK" "$APORT" "$TOKEN" "$E2E_TMP/state25" >>"$cfg"
rm -rf "$E2E_TMP/state25"

# egressd with few descriptors, soft and hard (it raises soft to hard); the
# flood below opens more connections than that.
NOFILE=1024
WRAP=$E2E_TMP/egressd-nofile
printf '#!/bin/sh\nexec prlimit --nofile=%s:%s %s "$@"\n' "$NOFILE" "$NOFILE" "$E2E_EGRESSD" >"$WRAP"
chmod +x "$WRAP"

# Watches the socket's directory from before egressd starts: every inotify
# event on admin.sock, with the file's mode at that moment.
cat >"$E2E_TMP/sockwatch.py" <<'PYEOF'
import ctypes, os, struct, sys, time
d, name, out, ready, secs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
libc = ctypes.CDLL(None, use_errno=True)
IN_ATTRIB, IN_CREATE, IN_MOVED_TO, IN_NONBLOCK = 0x4, 0x100, 0x80, 0o4000
fd = libc.inotify_init1(IN_NONBLOCK)
if fd < 0 or libc.inotify_add_watch(fd, d.encode(), IN_ATTRIB | IN_CREATE | IN_MOVED_TO) < 0:
    sys.exit("inotify failed")
names = {IN_ATTRIB: "attrib", IN_CREATE: "create", IN_MOVED_TO: "moved_to"}
open(ready, "w").write("ready\n")
end = time.time() + secs
with open(out, "w") as f:
    while time.time() < end:
        try:
            buf = os.read(fd, 65536)
        except BlockingIOError:
            time.sleep(0.005)
            continue
        i = 0
        while i < len(buf):
            wd, mask, cookie, ln = struct.unpack_from("iIII", buf, i)
            n = buf[i + 16:i + 16 + ln].rstrip(b"\0").decode()
            i += 16 + ln
            if n != name:
                continue
            try:
                mode = "%o" % (os.lstat(os.path.join(d, n)).st_mode & 0o7777)
            except OSError:
                mode = "gone"
            for bit, what in names.items():
                if mask & bit:
                    f.write("%s %s\n" % (what, mode))
            f.flush()
PYEOF
rm -f "$E2E_TMP/sockwatch.ready" "$E2E_TMP/sockwatch.out"
"$E2E_PY" "$E2E_TMP/sockwatch.py" "$D" admin.sock "$E2E_TMP/sockwatch.out" "$E2E_TMP/sockwatch.ready" 8 &
wpid=$!
register_pid "$wpid"
for _ in $(seq 50); do [ -s "$E2E_TMP/sockwatch.ready" ] && break; sleep 0.1; done

E2E_EGRESSD=$WRAP egressd_restart "$cfg" || fail admin25_setup "egressd did not start with the admin config (nofile $NOFILE)"
for _ in $(seq 30); do [ -S "$ASOCK" ] && break; sleep 0.1; done
sleep 0.3
kill "$wpid" 2>/dev/null; wait "$wpid" 2>/dev/null
EPID=$(egressd_pid)

api() { # api METHOD PATH [BODY]: the body, then the status code on a line
  local m=$1 p=$2 b=${3:-}
  if [ -n "$b" ]; then
    sbx curl -s --max-time 5 --unix-socket "$ASOCK" -X "$m" -d "$b" -w '\n%{http_code}' "http://egressd$p"
  else
    sbx curl -s --max-time 5 --unix-socket "$ASOCK" -X "$m" -w '\n%{http_code}' "http://egressd$p"
  fi
}
code() { tail -n 1 <<<"$1"; }
nfds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
body() { sed '$d' <<<"$1"; }
is_json_error() { # is_json_error TEXT: a JSON object with a string "error"
  "$E2E_PY" -c 'import json,sys; d=json.loads(sys.argv[1]); sys.exit(0 if isinstance(d.get("error"), str) else 1)' "$1" 2>/dev/null
}

case_begin admin_socket_mode_from_the_start
expect_eq 660 "$(stat -c %a "$ASOCK" 2>/dev/null)" "socket mode"
w=$(cat "$E2E_TMP/sockwatch.out" 2>/dev/null)
case_note "inotify on admin.sock: $(tr '\n' ';' <<<"$w")"
[ -n "$w" ] || ck_fail "the watcher saw admin.sock appear (no events)"
grep -q '^attrib' <<<"$w" && ck_fail "admin.sock changed mode after it appeared: $(tr '\n' ';' <<<"$w")"
bad=$(grep -Ev ' (660|gone)$' <<<"$w")
[ -z "$bad" ] || ck_fail "admin.sock seen with another mode: $(tr '\n' ';' <<<"$bad")"
case_end

# ------------------------------------------------------------ flood
cat >"$E2E_TMP/flood.py" <<'PYEOF'
import os, resource, select, socket, sys, time
resource.setrlimit(resource.RLIMIT_NOFILE, (8192, 8192))
host, port, n, ready, stop, hold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], float(sys.argv[6])
socks = {}
p = select.poll()
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    try:
        s.connect((host, port))
    except BlockingIOError:
        pass
    socks[s.fileno()] = s
    p.register(s, select.POLLIN)
closed = set()
def pump(ms):
    for fd, ev in p.poll(ms):
        if fd in closed:
            continue
        try:
            d = socks[fd].recv(1)
        except BlockingIOError:
            continue
        except OSError:
            d = b""
        if d == b"":
            closed.add(fd)
            p.unregister(fd)
t0 = time.time()
last, t_last = -1, t0
while time.time() < t0 + 8 and len(closed) < n - 8 and time.time() < t_last + 1:
    pump(100)
    if len(closed) != last:
        last, t_last = len(closed), time.time()
# A SYN flood makes the kernel answer with SYN cookies: connections this side
# thinks are up may exist nowhere else.  One byte on each tells them apart
# (a reset, or a connection made now and closed by egressd).
for fd, s in socks.items():
    if fd not in closed:
        try:
            s.send(b"x")
        except OSError:
            closed.add(fd)
            p.unregister(fd)
t1 = time.time()
while time.time() < t1 + 5 and len(closed) < n - 8:
    pump(100)
pump(300)   # anything closed just after
with open(ready, "w") as f:
    f.write("%d %d %.1f\n" % (len(closed), n - len(closed), time.time() - t0))
# hold what is left until egressd's request deadline closes it
t1 = time.time()
while time.time() < t1 + hold and len(closed) < n and not os.path.exists(stop):
    pump(100)
print("%d %d %.1f" % (len(closed), n - len(closed), time.time() - t1))
PYEOF

case_begin admin_tcp_flood_is_capped
N=$((NOFILE + 300))
fds0=$(nfds "$EPID")
rm -f "$E2E_TMP/flood.ready" "$E2E_TMP/flood.stop"
sbx "$E2E_PY" "$E2E_TMP/flood.py" 127.0.0.1 "$APORT" "$N" "$E2E_TMP/flood.ready" "$E2E_TMP/flood.stop" 20 \
  >"$E2E_TMP/flood.out" 2>&1 &
fpid=$!
for _ in $(seq 120); do [ -s "$E2E_TMP/flood.ready" ] && break; sleep 0.1; done
read -r fclosed fopen fsecs <"$E2E_TMP/flood.ready"
case_note "flood: $fclosed closed at once, $fopen left open (${fsecs}s); egressd fds before: $fds0"
[ "${fopen:-999}" -le 8 ] || ck_fail "the flood kept ${fopen:-?} of $N connections (per-source cap 8)"
r=$(sbx curl -s --max-time 5 -w '\n%{http_code}' "http://127.0.0.1:$APORT/healthz")
expect_eq 000 "$(code "$r")" "a 9th connection from the flooding address is closed at once"
est=$(sbx ss -tnH state established "( sport = :$APORT )" | wc -l)
case_note "established on the admin port during the flood: $est"
[ "$est" -le 8 ] || ck_fail "egressd has $est connections from the flood established (per-source cap 8)"
fds1=$(nfds "$EPID")
case_note "egressd fds during the flood: $fds1"
[ "$fds1" -le $((fds0 + 12)) ] || ck_fail "egressd holds $fds1 descriptors during the flood (before: $fds0)"
out=$(sbx_curl https://allowed.example.com/ 2>&1); rc=$?
expect_eq 0 "$rc" "proxied HTTPS during the flood (out: $(head -c 200 <<<"$out"))"
expect_contains "hello from allowed.example.com" "$out" "proxied body"
r=$(sbx curl -s --max-time 5 --interface 127.0.0.2 -H "Authorization: Bearer $(cat "$TOKEN")" \
  -w '\n%{http_code}' "http://127.0.0.1:$APORT/api/v1/sandboxes")
expect_eq 200 "$(code "$r")" "token request from another address during the flood"
r=$(api GET /healthz); expect_eq 200 "$(code "$r")" "unix socket during the flood"
r=$(api GET /metrics)
m=$(body "$r" | grep '^egressd_admin_connections_refused_total{listener="tcp",reason="per-source"}' | awk '{print $2}')
# (SYN cookies: some flood connections are reset by the kernel, never accepted)
[ "${m:-0}" -ge 100 ] 2>/dev/null || ck_fail "refused per-source metric: '${m:-none}', want >= 100"
# what the flood still holds ends at the request deadline (10 s)
wait "$fpid"
read -r eclosed eopen esecs <"$E2E_TMP/flood.out"
case_note "flood end: $eclosed closed, $eopen open after ${esecs}s more"
expect_eq 0 "${eopen:-?}" "connections left open by an idle client after the deadline"
egressd_alive || ck_fail "egressd died"
out=$(sbx_curl https://allowed.example.com/ 2>&1); rc=$?
expect_eq 0 "$rc" "proxied HTTPS after the flood"
case_end

# ------------------------------------------------------------ JSON errors
case_begin admin_errors_are_json
head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' 'a' >"$E2E_TMP/big25"
# curl sends "Expect: 100-continue" for such a body: refused before it is sent
r=$(sbx curl -s --max-time 10 --unix-socket "$ASOCK" -X POST --data-binary @"$E2E_TMP/big25" \
  -w '\n%{http_code} %{content_type}' http://egressd/api/v1/sandboxes/sbx-1/egress/allow)
expect_eq "413 application/json" "$(code "$r")" "2 MiB body (Expect)"
is_json_error "$(body "$r")" || ck_fail "413 body is not a JSON error: $(body "$r" | head -c 200)"
r=$(sbx curl -s --max-time 10 --unix-socket "$ASOCK" -X POST -H 'Expect:' --data-binary @"$E2E_TMP/big25" \
  -w '\n%{http_code} %{content_type}' http://egressd/api/v1/sandboxes/sbx-1/egress/allow)
expect_eq "413 application/json" "$(code "$r")" "2 MiB body (no Expect)"
is_json_error "$(body "$r")" || ck_fail "413 body (no Expect) is not a JSON error: $(body "$r" | head -c 200)"
out=$(sbx_py "$ASOCK" "$APORT" <<PYEOF 2>&1
$PY_PRELUDE
import json
sock_path, port = sys.argv[1], int(sys.argv[2])
def ask(raw, tcp=False):
    if tcp:
        s = connect("127.0.0.1", port)
    else:
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(5)
        s.connect(sock_path)
    s.sendall(raw)
    try:
        st, body = read_response(s)
    except Exception as x:
        return "noreply(%s)" % x
    finally:
        s.close()
    try:
        ok = isinstance(json.loads(body).get("error"), str)
    except Exception:
        ok = False
    return "%s %s" % (st.split(" ")[1], "json" if ok else "NOTJSON:" + body[:60].decode("latin-1"))
big = b"a" * (2 * 1024 * 1024)
cases = [
    ("garbage", b"GARBAGE\r\n\r\n"),
    ("three-words-bad-version", b"GET / HTTP/9.9\r\n\r\n"),
    ("bad-header", b"GET /healthz HTTP/1.1\r\nno colon here\r\n\r\n"),
    ("bad-length", b"POST /api/v1/reload HTTP/1.1\r\nContent-Length: x\r\n\r\n"),
    ("unknown-method", b"BREW /healthz HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("huge-header", b"GET /healthz HTTP/1.1\r\nX-A: " + b"b" * 70000 + b"\r\n\r\n"),
    ("chunked", b"POST /api/v1/reload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    ("raw-2MiB", b"POST /api/v1/reload HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(big) + big),
]
for name, raw in cases:
    print(name, ask(raw))
print("tcp-garbage", ask(b"\x16\x03\x01garbage\r\n\r\n", tcp=True))
print("tcp-no-token", ask(b"GET /healthz HTTP/1.1\r\n\r\n", tcp=True))
PYEOF
)
case_note "raw: $(tr '\n' ';' <<<"$out")"
for want in "garbage 400 json" "three-words-bad-version 400 json" "bad-header 400 json" \
  "bad-length 400 json" "huge-header 431 json" "chunked 411 json" "raw-2MiB 413 json" \
  "tcp-garbage 400 json" "tcp-no-token 401 json"; do
  grep -qxF "$want" <<<"$out" || ck_fail "want '$want', got: $(grep "^${want%% *} " <<<"$out")"
done
grep -qE '^unknown-method 40[45] json$' <<<"$out" || ck_fail "unknown method: $(grep '^unknown-method' <<<"$out")"
r=$(api GET /healthz); expect_eq 200 "$(code "$r")" "still serving afterwards"
case_end

# ------------------------------------------------------------ bodies
case_begin admin_body_keys_checked
r=$(api PUT /api/v1/sandboxes/t25/network '{"mode":"block-all","sources":["198.51.100.25/32"],"egress":{"allowed_domains":["x.example"]}}')
expect_eq 200 "$(code "$r")" "PUT creates t25"
r=$(api PUT /api/v1/sandboxes/t25/network '{"mode":"block-all","colour":"red"}')
expect_eq 400 "$(code "$r")" "unknown key"; expect_contains colour "$(body "$r")" "names the key"
r=$(api PUT /api/v1/sandboxes/t25/network '{"egress":{"allowed_hosts":["x.example"]}}')
expect_eq 400 "$(code "$r")" "unknown egress key"; expect_contains allowed_hosts "$(body "$r")" "names the egress key"
r=$(api PUT /api/v1/sandboxes/t25/network '{"id":"other","mode":"block-all"}')
expect_eq 400 "$(code "$r")" "id differs from the path"; expect_contains '\"id\"' "$(body "$r")" "names id"
r=$(api PUT /api/v1/sandboxes/t25/network '{"id":"t25","mode":"block-all","policies":["ghost"]}')
expect_eq 400 "$(code "$r")" "an undefined policy in PUT"; expect_contains ghost "$(body "$r")" "names the policy"
r=$(api PUT /api/v1/sandboxes/t25/network '{"id":"t25","mode":"block-all","source":"config"}')
expect_eq 400 "$(code "$r")" "source cannot be set by PUT"; expect_contains source "$(body "$r")" "names source"
r=$(api PUT /api/v1/sandboxes/t25/network '{"mode":"block-all","mode":"allow-all"}')
expect_eq 400 "$(code "$r")" "duplicate key"
g=$(body "$(api GET /api/v1/sandboxes/t25/network)")
r=$(api PUT /api/v1/sandboxes/t25/network "$g")
expect_eq 200 "$(code "$r")" "GET's body PUT back unchanged (out: $(body "$r" | head -c 200))"
r=$(api POST /api/v1/sandboxes/t25/egress/allow '{"hosts":["a.example"],"extra":1}')
expect_eq 400 "$(code "$r")" "allow with an unknown key"; expect_contains extra "$(body "$r")" "names it"
r=$(api POST /api/v1/sandboxes/t25/egress/disable '{"intercept":false}')
expect_eq 400 "$(code "$r")" "disable takes no body"; expect_contains intercept "$(body "$r")" "names it"
r=$(api POST /api/v1/sandboxes/t25/egress/disable); expect_eq 200 "$(code "$r")" "disable without a body"
r=$(api POST /api/v1/reload '{"force":true}')
expect_eq 400 "$(code "$r")" "reload takes no body"; expect_contains force "$(body "$r")" "names it"
case_end

# ------------------------------------------------------------ EMFILE
# With almost no descriptors left, connections from many addresses (each
# under the per-source cap) run egressd out of them: accept() fails with
# EMFILE while connections wait in the backlog.  egressd must pause the
# listener (little CPU), not spin on it, and serve again afterwards.
case_begin admin_emfile_pauses_accepting
E2E_EGRESSD=$WRAP egressd_stop
printf '#!/bin/sh\nexec prlimit --nofile=%s:%s %s "$@"\n' 72 72 "$E2E_EGRESSD" >"$WRAP"
E2E_EGRESSD=$WRAP egressd_restart "$cfg" || ck_fail "egressd did not start with 72 descriptors"
EPID=$(egressd_pid)
cat >"$E2E_TMP/emfile.py" <<'PYEOF'
import os, socket, sys, time
port, ready, stop = int(sys.argv[1]), sys.argv[2], sys.argv[3]
socks = []
for a in range(2, 12):          # 10 addresses x 7 connections
    for i in range(7):
        s = socket.socket()
        s.setblocking(False)
        s.bind(("127.0.0.%d" % a, 0))
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        socks.append(s)
open(ready, "w").write("%d\n" % len(socks))
end = time.time() + 20
while time.time() < end and not os.path.exists(stop):
    time.sleep(0.05)
PYEOF
rm -f "$E2E_TMP/emfile.ready" "$E2E_TMP/emfile.stop"
sbx "$E2E_PY" "$E2E_TMP/emfile.py" "$APORT" "$E2E_TMP/emfile.ready" "$E2E_TMP/emfile.stop" &
epy=$!
for _ in $(seq 50); do [ -s "$E2E_TMP/emfile.ready" ] && break; sleep 0.1; done
sleep 1
cpu() { awk '{print $14 + $15}' "/proc/$EPID/stat"; }
c0=$(cpu); sleep 2; c1=$(cpu)
nfd=$(nfds "$EPID")
case_note "egressd fds: $nfd of 72; CPU over 2 s at EMFILE: $((c1 - c0)) ticks"
[ "$nfd" -ge 70 ] || case_note "(egressd did not reach its descriptor limit: the check below proves less)"
[ $((c1 - c0)) -le 40 ] || ck_fail "egressd used $((c1 - c0)) ticks of CPU in 2 s out of descriptors (spinning on accept?)"
touch "$E2E_TMP/emfile.stop"; wait "$epy"
sleep 0.5
r=$(sbx curl -s --max-time 5 --interface 127.0.0.20 -H "Authorization: Bearer $(cat "$TOKEN")" \
  -w '\n%{http_code}' "http://127.0.0.1:$APORT/metrics")
expect_eq 200 "$(code "$r")" "served again once descriptors are free"
m=$(body "$r" | grep '^egressd_admin_accept_pauses_total{listener="tcp"}' | awk '{print $2}')
[ "${m:-0}" -ge 1 ] 2>/dev/null || ck_fail "accept pauses metric: '${m:-none}', want >= 1"
grep -q "admin.listen: accept: .*pausing" "$E2E_ELOG" || ck_fail "no 'pausing' warning in egressd's log"
egressd_alive || ck_fail "egressd died"
case_end

E2E_EGRESSD=$WRAP egressd_stop
