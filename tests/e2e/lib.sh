# shellcheck shell=bash disable=SC2034
# Shared library of the egressd end-to-end tests. Sourced by run.sh, by every
# tests/e2e/t_*.sh case and by scripts/demo.sh.
#
# Topology (one pair of network namespaces per run, suffix = E2E_ID = run.sh's $$):
#   egs-sbx-ID  the sandbox: egressd runs here (sidecar shape), clients run here;
#               nat OUTPUT redirects its TCP to 127.0.0.1/[::1]:15001.
#   egs-net-ID  the fake internet: tests/e2e/servers/fakenet.py on the test
#               addresses (on its lo), DNS on 198.18.0.1:53.
#   veth between only these two: 198.18.0.1/30 + 2001:db8:ffff::1/64 (net side),
#   198.18.0.2/30 + 2001:db8:ffff::2/64 (sandbox side). Nothing in the root
#   namespace is touched and nothing is routed outward.

E2E_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E_ROOT=$(cd "$E2E_LIB_DIR/../.." && pwd)

: "${E2E_ID:=$$}"
: "${E2E_SBX:=egs-sbx-$E2E_ID}"
: "${E2E_NET:=egs-net-$E2E_ID}"
: "${E2E_PROXY_PORT:=15001}"
: "${E2E_MARK:=0x1e9d}"

NET_IP=198.18.0.1
SBX_IP=198.18.0.2
NET_IP6=2001:db8:ffff::1
SBX_IP6=2001:db8:ffff::2
IP_A=203.0.113.10        # allowed.example.com and the other "allowed" names
IP_D=203.0.113.20        # denied.example.com
IP_C=203.0.113.30        # allowed by an IP-literal host rule (= /32 cidr)
IP_P=10.99.0.1           # private.example.com: a private address (docs/config.md)
IP6_A=2001:db8::10
IP6_D=2001:db8::20
BLOB_SIZE=$((20 * 1024 * 1024))

# name=addresses: the fake DNS map, the certificate's SANs and the default
# curl --resolve entries all come from this one list.
E2E_HOSTS=(
  "allowed.example.com=$IP_A,$IP6_A"
  "denied.example.com=$IP_D,$IP6_D"
  "wild.example.org=$IP_A"
  "a.wild.example.org=$IP_A"
  "x.y.wild.example.org=$IP_A"
  "blocked.wild.example.org=$IP_A"
  "pypi.org=$IP_A,$IP6_A"
  "evil.example.com=$IP_D,$IP6_D"
  "private.example.com=$IP_P"
  "elsewhere.wild.example.org=$IP_D"
  # docs/cookbook.md's names (t_30_cookbook.sh), and some it leaves out
  "files.pythonhosted.org=$IP_A"
  "upload.pypi.org=$IP_A"
  "registry.npmjs.org=$IP_A"
  "github.com=$IP_A"
  "codeload.github.com=$IP_A"
  "objects.githubusercontent.com=$IP_A"
  "raw.githubusercontent.com=$IP_A"
  "gist.github.com=$IP_A"
  "huggingface.co=$IP_A"
  "cdn-lfs.huggingface.co=$IP_A"
  "cas-bridge.xethub.hf.co=$IP_A"
  "api.openai.com=$IP_A"
  "api.anthropic.com=$IP_A"
  "deb.debian.org=$IP_A"
  "security.debian.org=$IP_A"
  "ftp.debian.org=$IP_A"
  # HTTPS interception (t_40, t_41): names egressd terminates TLS for
  "api.example.com=$IP_A"
  "a.intercept.example=$IP_A"
  "denied.intercept.example=$IP_A"
  "untrusted.intercept.example=$IP_A"
  "phantom.intercept.example=$IP_A"
)

# ---------------------------------------------------------------- basics

e2e_log() { printf '# %s\n' "$*" >&2; }
e2e_die() { printf 'e2e: %s\n' "$*" >&2; exit 1; }

# python3 used everywhere: the real interpreter (not a pyenv shim: faster, and
# the same one in every namespace).
if [ -z "${E2E_PY:-}" ]; then
  E2E_PY=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) || E2E_PY=python3
fi

# e2e_preflight: prints why and returns 1 when the tests cannot run here.
e2e_preflight() {
  local t
  if [ "$(id -u)" -ne 0 ]; then
    echo "e2e: must run as root (network namespaces, iptables); uid is $(id -u)" >&2; return 1
  fi
  for t in ip iptables ip6tables curl openssl ss timeout sha256sum; do
    command -v "$t" >/dev/null 2>&1 || { echo "e2e: required tool '$t' not found" >&2; return 1; }
  done
  "$E2E_PY" -c 'import ssl, http.server' 2>/dev/null || { echo "e2e: python3 with ssl is required" >&2; return 1; }
  if ! ip netns list >/dev/null 2>&1; then
    echo "e2e: 'ip netns' is not available here" >&2; return 1
  fi
  local probe="egs-probe-$$"
  if ! ip netns add "$probe" 2>/dev/null; then
    echo "e2e: cannot create a network namespace (ip netns add failed: no CAP_SYS_ADMIN?)" >&2; return 1
  fi
  if ! ip netns exec "$probe" iptables -t nat -S OUTPUT >/dev/null 2>&1; then
    ip netns del "$probe"
    echo "e2e: iptables nat table unusable inside a namespace (nf_tables / nat modules missing?)" >&2; return 1
  fi
  ip netns del "$probe"
}

# e2e_init: temp dir + exported environment for the case scripts.
e2e_init() {
  E2E_TMP=$(mktemp -d /tmp/egressd-e2e.XXXXXX) || e2e_die "mktemp failed"
  E2E_AUDIT=$E2E_TMP/audit.jsonl
  E2E_CA=$E2E_TMP/pki/ca.pem
  E2E_RESULTS=$E2E_TMP/results
  E2E_ELOG=$E2E_TMP/egressd.log
  : >"$E2E_RESULTS"
  : >"$E2E_ELOG"
  : >"$E2E_TMP/pids"
  export E2E_ID E2E_SBX E2E_NET E2E_TMP E2E_AUDIT E2E_CA E2E_RESULTS E2E_ELOG E2E_PY E2E_PROXY_PORT E2E_MARK
}

# In a case script: the environment must come from run.sh.
e2e_case_env() {
  if [ -z "${E2E_TMP:-}" ] || [ ! -d "$E2E_TMP" ]; then e2e_die "run the cases through tests/e2e/run.sh"; fi
}

pid_alive() { # pid_alive PID: running and not a zombie
  local st
  [ -n "${1:-}" ] && [ -r "/proc/$1/stat" ] || return 1
  st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# kill_pid PID [GRACE_TENTHS]: TERM, wait (bounded), then KILL. Only by PID.
kill_pid() {
  local pid=$1 grace=${2:-30} i
  pid_alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < grace; i++)); do pid_alive "$pid" || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null
  for ((i = 0; i < 20; i++)); do pid_alive "$pid" || return 0; sleep 0.1; done
}

register_pid() { echo "$1" >>"$E2E_TMP/pids"; }

sbx() { ip netns exec "$E2E_SBX" "$@"; }   # run in the sandbox namespace
netx() { ip netns exec "$E2E_NET" "$@"; }  # run in the fake-internet namespace
sbx_py() { ip netns exec "$E2E_SBX" "$E2E_PY" - "$@"; }  # python script on stdin

# ---------------------------------------------------------------- topology

topo_up() {
  local n=$E2E_NET s=$E2E_SBX
  ip netns add "$n" || return 1
  ip netns add "$s" || return 1
  # The veth pair is created inside the net namespace, its peer moved straight
  # into the sandbox: the root namespace never sees either end.
  ip -n "$n" link add veth-net type veth peer name veth-sbx netns "$s" || return 1
  ip -n "$n" link set lo up
  ip -n "$s" link set lo up
  ip -n "$n" addr add "$NET_IP/30" dev veth-net
  ip -n "$s" addr add "$SBX_IP/30" dev veth-sbx
  ip -n "$n" addr add "$NET_IP6/64" dev veth-net nodad
  ip -n "$s" addr add "$SBX_IP6/64" dev veth-sbx nodad
  ip -n "$n" link set veth-net up
  ip -n "$s" link set veth-sbx up
  local a
  for a in "$IP_A" "$IP_D" "$IP_C" "$IP_P"; do ip -n "$n" addr add "$a/32" dev lo || return 1; done
  for a in "$IP6_A" "$IP6_D"; do ip -n "$n" addr add "$a/128" dev lo nodad || return 1; done
  ip -n "$s" route add default via "$NET_IP" || return 1
  ip -n "$s" -6 route add default via "$NET_IP6" dev veth-sbx || return 1
  # wait (bounded) until the link answers both ways (when ping is installed)
  command -v ping >/dev/null 2>&1 || return 0
  local i
  for ((i = 0; i < 50; i++)); do
    if sbx ping -c1 -W1 "$IP_A" >/dev/null 2>&1 && sbx ping -6 -c1 -W1 "$IP6_A" >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  echo "e2e: sandbox cannot reach $IP_A / $IP6_A" >&2
  return 1
}

topo_down() {
  local ns p
  # the pair, plus any extra namespace a case made with this run's suffix
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E -- "^egs-[a-z0-9]+-$E2E_ID\$" | sort -r) \
    "$E2E_SBX" "$E2E_NET"; do
    ip netns list 2>/dev/null | grep -qw -- "$ns" || continue
    # every process still inside our own, uniquely named namespace is one we started
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
}

# The sandbox's redirect rules: the product's own `egress-redirect install`
# (sidecar: TCP to the proxy, DNS to the filter on 15053, other UDP dropped).
# E2E_REDIRECT_TOOL=none uses three plain TCP-only rules instead.
: "${E2E_REDIRECT_TOOL:=$E2E_ROOT/scripts/egress-redirect}"
redirect_install() {
  if [ "$E2E_REDIRECT_TOOL" != none ]; then
    sbx "$E2E_REDIRECT_TOOL" install --mode sidecar --proxy-port "$E2E_PROXY_PORT" \
      --dns-port 15053 --mark "$E2E_MARK" >/dev/null
    return
  fi
  local ipt
  for ipt in iptables ip6tables; do
    sbx "$ipt" -t nat -A OUTPUT -o lo -j RETURN || return 1
    sbx "$ipt" -t nat -A OUTPUT -m mark --mark "$E2E_MARK" -j RETURN || return 1
    sbx "$ipt" -t nat -A OUTPUT -p tcp -j REDIRECT --to-ports "$E2E_PROXY_PORT" || return 1
  done
}

redirect_remove() {
  if [ "$E2E_REDIRECT_TOOL" != none ]; then sbx "$E2E_REDIRECT_TOOL" remove >/dev/null; return; fi
  sbx iptables -t nat -F OUTPUT
  sbx ip6tables -t nat -F OUTPUT
}

# ---------------------------------------------------------------- PKI

pki_make() {
  local d=$E2E_TMP/pki h sans
  mkdir -p "$d"
  local args=()
  for h in "${E2E_HOSTS[@]}"; do args+=(--host "$h"); done
  sans=$("$E2E_PY" "$E2E_LIB_DIR/servers/fakenet.py" sans "${args[@]}") || return 1
  sans="$sans,IP:$IP_C"
  {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout "$d/ca.key" -out "$d/ca.pem" -days 2 -subj "/CN=egressd e2e test CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" &&
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout "$d/server.key" -out "$d/server.csr" -subj "/CN=allowed.example.com" &&
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=%s\n' \
      "$sans" >"$d/server.ext" &&
    openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
      -days 2 -extfile "$d/server.ext" -out "$d/server.pem"
  } >"$d/openssl.log" 2>&1 || { cat "$d/openssl.log" >&2; return 1; }
}

# ---------------------------------------------------------------- fake internet

fakenet_start() {
  local h args=() i
  for h in "${E2E_HOSTS[@]}"; do args+=(--host "$h"); done
  rm -f "$E2E_TMP/fakenet.ready"
  mkdir -p "$E2E_TMP/sni-certs"
  netx "$E2E_PY" "$E2E_LIB_DIR/servers/fakenet.py" serve \
    --cert "$E2E_TMP/pki/server.pem" --key "$E2E_TMP/pki/server.key" \
    --request-log "$E2E_TMP/fakenet-requests.log" --sni-certs "$E2E_TMP/sni-certs" \
    --ready "$E2E_TMP/fakenet.ready" "${args[@]}" ${E2E_VERBOSE:+-v} \
    >>"$E2E_TMP/fakenet.log" 2>&1 &
  E2E_FAKENET_PID=$!
  echo "$E2E_FAKENET_PID" >"$E2E_TMP/fakenet.pid"
  register_pid "$E2E_FAKENET_PID"
  for ((i = 0; i < 150; i++)); do
    [ -s "$E2E_TMP/fakenet.ready" ] && return 0
    pid_alive "$E2E_FAKENET_PID" || break
    sleep 0.1
  done
  echo "e2e: fakenet did not start:" >&2
  tail -n 20 "$E2E_TMP/fakenet.log" >&2
  return 1
}

blob_sha256() {
  if [ ! -s "$E2E_TMP/blob.sha256" ]; then
    "$E2E_PY" "$E2E_LIB_DIR/servers/fakenet.py" blob-sha256 >"$E2E_TMP/blob.sha256"
  fi
  cat "$E2E_TMP/blob.sha256"
}

# ---------------------------------------------------------------- egressd

# cfg_write FILE [VARIANT]: the tests' config (docs/config.md subset).
#   default  the suite's main config
#   nodeny   same without deny host rules (lets egressd decide at accept time
#            for cidr-allowed destinations, docs/config.md)
#   redial   dns.destination: redial
#   private  private.example.com allowed, and allow_private: true
# E2E_DNS=off drops the `dns:` block. With it on (default), egressd has a
# resolver (the fake DNS at 198.18.0.1) so that `dns.destination: verify`
# (the default, docs/config.md) can confirm that the test names resolve to the
# addresses the clients connect to.
cfg_write() {
  local f=$1 variant=${2:-default} deny dns=""
  deny='    deny:  { hosts: ["blocked.wild.example.org"] }'
  local hosts='"allowed.example.com", "*.wild.example.org", "private.example.com", "'$IP_C'"'
  local extra=""
  [ "$variant" = nodeny ] && deny=""
  [ "$variant" = private ] && extra="    allow_private: true"
  local dest=verify
  [ "$variant" = redial ] && dest=redial
  if [ "${E2E_DNS:-on}" != off ]; then
    dns="dns: { listen: [\"127.0.0.1:15053\", \"[::1]:15053\"], servers: [\"$NET_IP\"], destination: $dest }"
  fi
  cat >"$f" <<EOF
listen: ["127.0.0.1:$E2E_PROXY_PORT", "[::1]:$E2E_PROXY_PORT"]
upstream: { mark: $E2E_MARK, connect_timeout_ms: 2000 }
$dns
audit: { file: $E2E_AUDIT }
limits: { peek_timeout_ms: 1000 }
deny_response: reset
policies:
  agent:
    mode: block-all
    allow: { hosts: [$hosts] }
$deny
$extra
sandboxes:
  - id: sbx-1
    policies: [agent]
EOF
}

egressd_pid() { cat "$E2E_TMP/egressd.pid" 2>/dev/null; }
egressd_cfg() { cat "$E2E_TMP/egressd.cfg" 2>/dev/null; }
egressd_alive() { pid_alive "$(egressd_pid)"; }

egressd_listening() {
  sbx ss -ltnH "( sport = :$E2E_PROXY_PORT )" 2>/dev/null | grep -q .
}

# egressd_start CFG: start in the sandbox, wait (<= 5 s) for the listener.
egressd_start() {
  local cfg=$1 pid i
  printf '=== %s egressd -c %s\n' "$(date -u +%H:%M:%S)" "$cfg" >>"$E2E_ELOG"
  ip netns exec "$E2E_SBX" "$E2E_EGRESSD" -c "$cfg" >>"$E2E_ELOG" 2>&1 &
  pid=$!
  echo "$pid" >"$E2E_TMP/egressd.pid"
  echo "$cfg" >"$E2E_TMP/egressd.cfg"
  register_pid "$pid"
  for ((i = 0; i < 50; i++)); do
    if ! pid_alive "$pid"; then
      echo "egressd exited during start-up; its stderr ends with:" >&2
      tail -n 15 "$E2E_ELOG" | sed 's/^/    | /' >&2
      return 1
    fi
    egressd_listening && return 0
    sleep 0.1
  done
  echo "egressd is not listening on :$E2E_PROXY_PORT after 5 s; its stderr ends with:" >&2
  tail -n 15 "$E2E_ELOG" | sed 's/^/    | /' >&2
  return 1
}

egressd_stop() {
  local pid i
  pid=$(egressd_pid)
  [ -n "$pid" ] && kill_pid "$pid" 30
  rm -f "$E2E_TMP/egressd.pid"
  # the listener must be gone before a restart binds again
  for ((i = 0; i < 30; i++)); do egressd_listening || return 0; sleep 0.1; done
}

egressd_restart() { egressd_stop; egressd_start "$1"; }

# e2e_api METHOD PATH [BODY]: the admin API on $ASOCK, from the sandbox;
# prints the body, then the status code on a line of its own.
e2e_api() {
  sbx curl -s --max-time 5 --unix-socket "$ASOCK" -X "$1" ${3:+-d "$3"} \
    -w '\n%{http_code}' "http://egressd$2"
}

# e2e_admin_cfg NAME: $cfg, the test config plus an admin socket ($ASOCK)
# and an empty state_dir ($STATE), all named after NAME in $E2E_TMP.
e2e_admin_cfg() {
  ASOCK=$E2E_TMP/$1.sock STATE=$E2E_TMP/$1-state cfg=$E2E_TMP/$1.yaml
  cfg_write "$cfg"
  printf 'admin: { socket: %s }\nstate_dir: %s\n' "$ASOCK" "$STATE" >>"$cfg"
  rm -rf "$STATE"
}

egressd_log_tail() { tail -n "${1:-8}" "$E2E_ELOG" 2>/dev/null; }

# ---------------------------------------------------------------- clients

# sbx_curl ARGS...: curl in the sandbox, bounded, CA trusted, every test name
# resolved (v4) for ports 80 and 443 (an explicit --resolve given in ARGS wins).
sbx_curl() {
  local h name ip4 resolve=()
  for h in "${E2E_HOSTS[@]}"; do
    name=${h%%=*}; ip4=${h#*=}; ip4=${ip4%%,*}
    resolve+=(--resolve "$name:443:$ip4" --resolve "$name:80:$ip4")
  done
  # curl: for the same host:port the last --resolve wins, so the caller's come last
  ip netns exec "$E2E_SBX" curl -sS --max-time "${CURL_MAX_TIME:-10}" --cacert "$E2E_CA" \
    "${resolve[@]}" "$@"
}

# retry_until SECONDS CMD...: run CMD (quietly) every 0.2 s until it succeeds;
# rc 1 when it has not within SECONDS.  For a condition that egressd reaches
# in its own time, instead of a fixed sleep.
retry_until() {
  local end=$((SECONDS + $1))
  shift
  while :; do
    "$@" >/dev/null 2>&1 && return 0
    [ "$SECONDS" -ge "$end" ] && return 1
    sleep 0.2
  done
}

# ---------------------------------------------------------------- audit

# audit_mark: remember the audit file's size; audit_find/audit_events only look
# at what was written after the mark.
audit_mark() { AUDIT_FROM=$(stat -c %s "$E2E_AUDIT" 2>/dev/null || echo 0); }

# audit_find 'PY_EXPR over e' [WAIT_S]: wait (default 3 s, the audit is flushed
# at least once a second) for the first event after the mark for which the
# python expression is true; print its line. rc 1 when none.
# In the expression: e (the event, a dict), re, h(e) = host lower-cased without
# trailing dot (or None).
audit_find() {
  "$E2E_PY" - "$E2E_AUDIT" "${AUDIT_FROM:-0}" "$1" "${2:-3}" <<'PYEOF'
import json, re, sys, time
path, start, expr, wait = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
code = compile(expr, "<audit_find>", "eval")
def h(e):
    v = e.get("host")
    return v.lower().rstrip(".") if isinstance(v, str) else v
deadline = time.time() + wait
while True:
    try:
        with open(path, "rb") as f:
            f.seek(start)
            data = f.read()
    except FileNotFoundError:
        data = b""
    for ln in data.split(b"\n"):
        try:
            e = json.loads(ln)
        except ValueError:
            continue
        try:
            if isinstance(e, dict) and eval(code, {"re": re, "h": h}, {"e": e}):
                print(ln.decode("utf-8", "replace"))
                sys.exit(0)
        except Exception:
            pass
    if time.time() >= deadline:
        sys.exit(1)
    time.sleep(0.1)
PYEOF
}

# audit_since: every line written after the mark (for failure reports).
audit_since() {
  tail -c +"$((${AUDIT_FROM:-0} + 1))" "$E2E_AUDIT" 2>/dev/null | tail -n "${1:-12}"
}

# ---------------------------------------------------------------- results

# Per case:   case_begin NAME; expect_* ...; case_end
# case_end prints `ok NAME` or `FAIL NAME: first reason`, then (on failure)
# every reason, the notes, the audit lines since the case began and the tail
# of egressd's stderr, indented with "    | ".
case_begin() {
  CASE_NAME=$1
  CASE_ERRS=()
  CASE_NOTES=()
  audit_mark
}

ck_fail() { CASE_ERRS+=("$*"); }
case_note() { CASE_NOTES+=("$*"); }

expect_eq() { # expect_eq EXPECTED GOT WHAT
  [ "$1" == "$2" ] || ck_fail "$3: expected '$1', got '$2'"
}
expect_match() { # expect_match ERE GOT WHAT
  [[ $2 =~ $1 ]] || ck_fail "$3: expected to match /$1/, got '$2'"
}
expect_contains() { # expect_contains NEEDLE HAYSTACK WHAT
  [[ $2 == *"$1"* ]] || ck_fail "$3: expected to contain '$1', got '$(printf %s "$2" | head -c 300)'"
}
expect_rc_in() { # expect_rc_in "35 56" RC WHAT
  local c
  for c in $1; do [ "$c" = "$2" ] && return 0; done
  ck_fail "$3: expected exit code in {$1}, got $2"
}

# expect_event 'PY_EXPR' WHAT [WAIT]: an audit event must match; its line is
# stored in EV (empty when not found) and noted for failure reports.
expect_event() {
  EV=$(audit_find "$1" "${3:-3}")
  if [ -z "$EV" ]; then
    ck_fail "$2: no audit event matching [$1] within ${3:-3}s"
    return 1
  fi
  case_note "event ($2): $EV"
}

# expect_json LINE 'PY_EXPR over e' WHAT: a check on one event's fields.
expect_json() {
  local out
  if [ -z "$1" ]; then ck_fail "$3: (no event to check)"; return 1; fi
  out=$("$E2E_PY" -c '
import json, re, sys
e = json.loads(sys.argv[1])
try:
    ok = eval(sys.argv[2], {"re": re}, {"e": e})
except Exception as x:
    print("error evaluating: %r" % x); sys.exit(1)
sys.exit(0 if ok else 1)' "$1" "$2" 2>&1) || {
    ck_fail "$3: [$2] is false ${out:+($out)} for $1"
    return 1
  }
}

# jf LINE FIELD: one field of an event (strings bare, null/true/false/numbers as JSON)
jf() {
  "$E2E_PY" -c '
import json, sys
v = json.loads(sys.argv[1]).get(sys.argv[2])
print(v if isinstance(v, str) else json.dumps(v))' "$1" "$2" 2>/dev/null
}

_result() { # _result ok|FAIL NAME [WHY]
  if [ "$1" = ok ]; then
    echo "ok $2"
  else
    echo "FAIL $2: $3"
  fi
  echo "$1 $2" >>"$E2E_RESULTS"
}

pass() { _result ok "$1"; }
fail() { # fail NAME WHY [DETAIL...]
  local n=$1 w=$2
  shift 2
  _result FAIL "$n" "$w"
  {
    local d
    for d in "$@"; do printf '%s\n' "$d"; done
    if [ -n "$(egressd_pid)" ] && ! egressd_alive; then
      echo "NOTE: egressd (pid $(egressd_pid)) is not running"
    fi
    echo "egressd stderr (tail):"
    egressd_log_tail 8 | sed 's/^/  /'
  } | sed 's/^/    | /'
}

case_end() {
  if [ "${#CASE_ERRS[@]}" -eq 0 ]; then
    pass "$CASE_NAME"
    return 0
  fi
  local details=() e
  for e in "${CASE_ERRS[@]:1}"; do details+=("also: $e"); done
  for e in "${CASE_NOTES[@]}"; do details+=("$e"); done
  details+=("audit since case start:")
  while IFS= read -r e; do details+=("  $e"); done < <(audit_since 10)
  fail "$CASE_NAME" "${CASE_ERRS[0]}" "${details[@]}"
  return 1
}

# ---------------------------------------------------------------- raw sockets

# A python prelude for sbx_py scripts: connect(host, port) and outcome(sock)
# which reads until EOF and returns ("reset"|"eof"|"timeout", bytes).
PY_PRELUDE='
import socket, sys, time
def connect(ip, port, timeout=5):
    fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect((ip, port))
    return s
def outcome(s, timeout=5, limit=1 << 26):
    s.settimeout(timeout)
    buf = b""
    try:
        while len(buf) < limit:
            d = s.recv(65536)
            if not d:
                return "eof", buf
            buf += d
        return "limit", buf
    except ConnectionResetError:
        return "reset", buf
    except socket.timeout:
        return "timeout", buf
def read_response(s, timeout=5):
    """one HTTP/1.1 response with Content-Length; returns (status line, body) or raises"""
    s.settimeout(timeout)
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            raise EOFError("eof before response head: %r" % buf)
        buf += d
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    n = 0
    for l in lines[1:]:
        k, _, v = l.partition(":")
        if k.strip().lower() == "content-length":
            n = int(v)
    while len(body) < n:
        d = s.recv(65536)
        if not d:
            raise EOFError("eof in body")
        body += d
    return lines[0], body[:n]
'

# ---------------------------------------------------------------- HTTPS interception

# ca_gen DIR: egressd's interception CA, DIR/ca.crt and DIR/ca.key, made by
# `egressd --gen-ca DIR`.  When that fails openssl makes an equivalent one, so
# that the other cases still run: rc 2 then, with egressd's words in
# $CA_GEN_ERR for the caller to report; rc 1 when neither could.
ca_gen() {
  local d=$1
  mkdir -p "$d"
  if CA_GEN_ERR=$(timeout 20 "$E2E_EGRESSD" --gen-ca "$d" 2>&1) && [ -s "$d/ca.crt" ] && [ -s "$d/ca.key" ]; then
    return 0
  fi
  rm -f "$d/ca.crt" "$d/ca.key"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$d/ca.key" -out "$d/ca.crt" -days 30 -subj "/CN=egressd e2e interception CA (openssl)" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    >"$d/openssl.log" 2>&1 || return 1
  chmod 600 "$d/ca.key"
  return 2
}

# mitm_cfg NAME CADIR: $cfg ($E2E_TMP/NAME.yaml) holds the test config's
# daemon part (cfg_write's, up to its policies), an admin socket ($ASOCK), an
# empty state_dir ($STATE) and tls_intercept with CADIR's CA, upstreams
# verified against the e2e test CA; the caller appends policies: and sandboxes:.
mitm_cfg() {
  ASOCK=$E2E_TMP/$1.sock STATE=$E2E_TMP/$1-state cfg=$E2E_TMP/$1.yaml
  cfg_write "$cfg.base"
  { sed '/^policies:/,$d' "$cfg.base"
    printf 'admin: { socket: %s }\nstate_dir: %s\n' "$ASOCK" "$STATE"
    printf 'tls_intercept:\n  ca_cert: %s/ca.crt\n  ca_key: %s/ca.key\n  upstream_ca: %s\n' "$2" "$2" "$E2E_CA"
  } >"$cfg"
  rm -f "$cfg.base"
  rm -rf "$STATE"
}

# mitm_curl ARGS...: sbx_curl trusting egressd's CA ($MITM_CA/ca.crt) instead
# of the e2e test CA (the later --cacert wins).
mitm_curl() { sbx_curl --cacert "$MITM_CA/ca.crt" "$@"; }

# upstream_mark, then upstream_since: the request lines fakenet served since
# ("SCHEME METHOD TARGET host=HOST", tests/e2e/servers/fakenet.py --request-log).
# fakenet writes a line before it answers, so once a client has its answer
# (or its refusal) the log is complete for it.
E2E_REQLOG_NAME=fakenet-requests.log
upstream_mark() { UPSTREAM_FROM=$(stat -c %s "$E2E_TMP/$E2E_REQLOG_NAME" 2>/dev/null || echo 0); }
upstream_since() { tail -c +"$((${UPSTREAM_FROM:-0} + 1))" "$E2E_TMP/$E2E_REQLOG_NAME" 2>/dev/null; }
# expect_unseen TARGET WHAT: no request for exactly TARGET reached fakenet since the mark
expect_unseen() {
  local hit
  hit=$(upstream_since | awk -v t="$1" '$3 == t' | head -n 3)
  [ -z "$hit" ] || ck_fail "$2: fakenet served it: $hit"
}

# reloads_applied, then reloaded_since N: true once egressd has logged more
# than N applied reloads (kill -HUP is asynchronous).
reloads_applied() { grep -c "reload: .* applied" "$E2E_ELOG"; }
reloaded_since() { [ "$(reloads_applied)" -gt "$1" ]; }

# metric_sum NAME: the sum of the samples of NAME in the admin API's /metrics
# ($ASOCK); empty when egressd does not expose it.
metric_sum() {
  e2e_api GET /metrics | awk -v m="$1" '
    index($0, m) == 1 && (substr($0, length(m) + 1, 1) == "{" || substr($0, length(m) + 1, 1) == " ") {
      s += $NF; n++ }
    END { if (n) printf "%d\n", s }'
}

# A python prelude (after PY_PRELUDE) for requests on one TLS connection:
# tls_connect(ip, name, cafile); exchange(s, raw) -> (status line, body), or
# ("closed", why) when the connection ends before an answer; ended(s): after
# reading what is left (a body without a length), "eof" | "reset" | "open".
PY_TLS='
import ssl
def tls_connect(ip, name, cafile, port=443, timeout=5):
    ctx = ssl.create_default_context(cafile=cafile)
    return ctx.wrap_socket(connect(ip, port, timeout), server_hostname=name)
def exchange(s, req, timeout=5):
    try:
        s.sendall(req)
        return read_response(s, timeout)
    except (EOFError, OSError) as x:
        return "closed", type(x).__name__
def ended(s, timeout=3, limit=1 << 20):
    s.settimeout(timeout)
    n = 0
    try:
        while n < limit:
            d = s.recv(65536)
            if not d:
                return "eof"
            n += len(d)
        return "open"
    except socket.timeout:
        return "open"
    except OSError:
        return "reset"
'

# ---------------------------------------------------------------- whole setup

# e2e_setup EGRESSD: preflight is the caller's; builds everything but egressd.
e2e_setup() {
  E2E_EGRESSD=$1
  export E2E_EGRESSD
  topo_up || { echo "e2e: topology setup failed" >&2; return 1; }
  redirect_install || { echo "e2e: installing the redirect rules failed" >&2; return 1; }
  pki_make || { echo "e2e: creating the test CA / certificate failed" >&2; return 1; }
  fakenet_start || return 1
  blob_sha256 >/dev/null
}

e2e_cleanup() {
  local p
  [ -n "${E2E_TMP:-}" ] || return 0
  while read -r p; do [ -n "$p" ] && kill_pid "$p" 20; done <"$E2E_TMP/pids" 2>/dev/null
  topo_down
  if [ "${E2E_KEEP:-0}" = 1 ]; then
    echo "# artifacts kept in $E2E_TMP" >&2
  else
    rm -rf "$E2E_TMP"
  fi
}
