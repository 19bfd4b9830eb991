#!/usr/bin/env bash
# egressd in two minutes (needs root: it builds network namespaces).
#
#   sudo scripts/demo.sh [CONFIG]        (default CONFIG: conf/egressd.yaml)
#
# Installs the dependencies and builds first (EGRESSD_NO_BUILD=1 skips it).
#
# Builds a throw-away sandbox namespace wired to a fake internet namespace
# (the same topology as tests/e2e), starts build/egressd inside the sandbox
# with a copy of CONFIG whose audit file is moved to a temp dir, redirects the
# sandbox's TCP to it, and walks through what operators of sandbox
# platforms do with it: egressctl table, allow, enable, an allowed request,
# a refused one, the events as a table, why the refused one was
# refused (egressctl explain), and the self-test that proves the redirect
# rules (egressctl doctor). Everything is removed on exit.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
EGRESSD=${EGRESSD:-$ROOT/build/egressd}
CONF=${1:-$ROOT/conf/egressd.yaml}

# The README's first command: dependencies and the build come first.
if [ -z "${EGRESSD_NO_BUILD:-}" ]; then
  echo "== installing what egressd needs and building (log: /tmp/egressd-demo-build.log)"
  { "$ROOT/scripts/install-deps.sh" && "$ROOT/scripts/build.sh"; } \
      >/tmp/egressd-demo-build.log 2>&1 ||
      { tail -n 20 /tmp/egressd-demo-build.log; exit 1; }
fi
if [ ! -x "$EGRESSD" ]; then
  echo "demo: $EGRESSD not found; build first: cmake -S . -B build && cmake --build build" >&2
  exit 1
fi
[ -r "$CONF" ] || { echo "demo: cannot read $CONF" >&2; exit 1; }

# shellcheck source=../tests/e2e/lib.sh
. "$ROOT/tests/e2e/lib.sh"

e2e_preflight || exit 1
e2e_init
trap 'e2e_cleanup' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bold() { if [ -t 1 ]; then printf '\033[1m%s\033[0m\n' "$*"; else printf '%s\n' "$*"; fi; }

bold "== building the demo sandbox ($E2E_SBX) and a fake internet ($E2E_NET)"
# The names the walkthrough reaches, served by the fake internet.
E2E_HOSTS+=("api.openai.com=$IP_A" "files.pythonhosted.org=$IP_A")
e2e_setup "$EGRESSD" >/dev/null || exit 1

# The config: CONFIG as is, except audit.file (-> the temp dir), listen
# (-> where the redirect rules point) and dns.servers (-> the fake internet's
# resolver, which egressd asks to verify that pypi.org really is there). upstream.mark is read so the redirect
# rules exempt egressd's own sockets with the same mark.
CFG=$E2E_TMP/egressd.yaml
if ! "$E2E_PY" - "$CONF" "$CFG" "$E2E_AUDIT" "$E2E_PROXY_PORT" "$NET_IP" >"$E2E_TMP/mark" <<'PYEOF'
import os, sys
src, dst, audit, port, resolver = sys.argv[1:6]
try:
    import yaml
except ImportError:
    yaml = None
text = open(src).read()
if yaml is not None:
    cfg = yaml.safe_load(text) or {}
    cfg.setdefault("audit", {})
    if not isinstance(cfg["audit"], dict):
        cfg["audit"] = {}
    cfg["audit"]["file"] = audit
    cfg["listen"] = ["127.0.0.1:%s" % port, "[::1]:%s" % port]
    if not isinstance(cfg.get("dns"), dict):
        cfg["dns"] = {}
    cfg["dns"]["servers"] = [resolver]
    tmp = os.path.dirname(audit)
    if isinstance(cfg.get("admin"), dict):
        cfg["admin"] = {"socket": os.path.join(tmp, "admin.sock")}
    cfg["state_dir"] = os.path.join(tmp, "state")
    mark = (cfg.get("upstream") or {}).get("mark", 0x1E9D)
    out = "# demo copy of %s (audit.file, listen and dns.servers adjusted)\n" % src + yaml.safe_dump(cfg, sort_keys=False)
    # yaml dumps 0x1e9d as 7837: same value
else:
    import re
    mark = 0x1E9D
    m = re.search(r"^\s+mark:\s*(\S+)", text, re.M)
    if m:
        mark = int(m.group(1), 0)
    out, n = re.subn(r"^(\s+file:\s*).*$", r"\g<1>" + audit, text, count=1, flags=re.M)
    if n == 0:
        out += "\naudit: { file: %s }\n" % audit
    out = re.sub(r"^listen:.*$", 'listen: ["127.0.0.1:%s", "[::1]:%s"]' % (port, port), out, count=1, flags=re.M)
    if not re.search(r"^dns:", out, re.M):
        out += '\ndns: { servers: ["%s"] }\n' % resolver
    else:
        out = re.sub(r"^dns:.*$", 'dns:\n  servers: ["%s"]' % resolver, out, count=1, flags=re.M)
    tmp = os.path.dirname(audit)
    out = re.sub(r"^(\s+socket:\s*).*$", r"\g<1>" + os.path.join(tmp, "admin.sock"), out, count=1, flags=re.M)
    out = re.sub(r"^state_dir:.*$", "state_dir: " + os.path.join(tmp, "state"), out, count=1, flags=re.M)
open(dst, "w").write(out)
print(hex(int(mark)) if not isinstance(mark, str) else hex(int(mark, 0)))
PYEOF
then
  echo "demo: could not write the demo config from $CONF" >&2
  exit 1
fi
mark=$(cat "$E2E_TMP/mark")
if [ "$mark" != "$E2E_MARK" ] && [ "$mark" != 0x0 ]; then
  E2E_MARK=$mark
  redirect_remove
  redirect_install || exit 1
fi

bold "== starting egressd in the sandbox: $(basename "$EGRESSD") -c (a copy of) $CONF, audit -> $E2E_AUDIT"
if ! egressd_start "$CFG"; then
  echo "demo: egressd did not start" >&2
  exit 1
fi

CTL=$(dirname "$EGRESSD")/egressctl
ASOCK=$E2E_TMP/admin.sock
status=0
# run_ctl ARGS...: shows the command, then its output, indented
run_ctl() {
  echo
  bold "\$ egressctl $*"
  "$CTL" -s "$ASOCK" "$@" 2>&1 | sed 's/^/   /'
  [ "${PIPESTATUS[0]}" = 0 ] || status=1
}
# run_curl URL WANT: WANT is allowed or refused
run_curl() {
  local out rc
  echo
  bold "\$ curl $1"
  out=$(sbx_curl "$1" 2>&1); rc=$?
  printf '%s\n' "$out" | sed 's/^/   /'
  if [ "$2" = allowed ] && [ $rc = 0 ]; then
    echo "   -> allowed"
  elif [ "$2" = refused ] && { [ $rc = 35 ] || [ $rc = 56 ]; }; then
    echo "   -> reset by egressd (curl exit $rc)"
  else
    echo "   -> UNEXPECTED: curl exit $rc"; status=1
  fi
}

run_ctl table sandbox
run_ctl allow sandbox pypi.org "*.pythonhosted.org" api.openai.com
run_ctl enable sandbox
run_curl https://api.openai.com/ allowed
run_curl https://evil.example.com/ refused
# the audit is flushed at least once a second
for _ in $(seq 1 30); do
  n=$(grep -c . "$E2E_AUDIT" 2>/dev/null)
  [ "${n:-0}" -ge 3 ] && break
  sleep 0.1
done
run_ctl events --limit 20
run_ctl explain sandbox evil.example.com
run_ctl doctor
echo
bold "\$ tail -n 1 audit.jsonl        (the audit file: one JSON line per event)"
tail -n 1 "$E2E_AUDIT" | sed 's/^/   /'

echo
if [ $status = 0 ]; then
  bold "== done: allowed through the API, refused and audited, explained, enforcement proven"
else
  bold "== something did not go as expected; egressd's log:"
  tail -n 20 "$E2E_ELOG" | sed 's/^/   /'
fi
exit $status
