#!/usr/bin/env bash
# egressd end-to-end tests.
#
#   sudo tests/e2e/run.sh build/egressd [FILTER...]
#
# Builds two network namespaces (sandbox + fake internet), runs egressd inside
# the sandbox behind nat OUTPUT REDIRECT rules, and runs every tests/e2e/t_*.sh
# (or those whose file name contains one of the FILTERs). Prints `ok NAME` /
# `FAIL NAME: why` per case and finally `N passed, N failed`; exit 0 iff none
# failed. Needs root and `ip netns`; refuses (exit 1) otherwise.
#
# Environment: E2E_KEEP=1 keeps the temp dir (logs, audit, configs);
# E2E_DNS=off drops the dns: block from the test config; E2E_CASE_TIMEOUT
# (default 120 s) bounds each case file; E2E_VERBOSE=1 makes fakenet log.
set -u

if [ $# -lt 1 ]; then
  echo "usage: $0 EGRESSD_BINARY [FILTER...]" >&2
  exit 2
fi
EGRESSD=$1
shift
case $EGRESSD in /*) ;; *) EGRESSD=$PWD/$EGRESSD ;; esac
if [ ! -x "$EGRESSD" ]; then
  echo "e2e: $EGRESSD is not an executable file" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

E2E_ID=$$
export E2E_ID
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

e2e_preflight || { echo "0 passed, 1 failed"; exit 1; }
e2e_init
trap 'e2e_cleanup' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cases=()
for f in "$HERE"/t_*.sh; do
  [ -e "$f" ] || continue
  if [ $# -gt 0 ]; then
    keep=0
    for flt in "$@"; do [[ $(basename "$f") == *"$flt"* ]] && keep=1; done
    [ $keep = 1 ] || continue
  fi
  cases+=("$f")
done

T0=$SECONDS
if ! e2e_setup "$EGRESSD"; then
  echo "FAIL setup: the test topology could not be built (see above)"
  echo "0 passed, 1 failed"
  exit 1
fi

E2E_CFG_DEFAULT=$E2E_TMP/egressd.yaml
export E2E_CFG_DEFAULT
cfg_write "$E2E_CFG_DEFAULT" default
# A daemon that does not take the dns: block yet still gets its other cases
# run (t_12 reports the rejection of the default config as a failure).
if [ "${E2E_DNS:-on}" != off ] && ! "$EGRESSD" -c "$E2E_CFG_DEFAULT" --check >/dev/null 2>&1; then
  E2E_DNS=off cfg_write "$E2E_TMP/egressd-nodns.yaml" default
  if "$EGRESSD" -c "$E2E_TMP/egressd-nodns.yaml" --check >/dev/null 2>&1; then
    e2e_log "note: egressd --check rejects the dns: block of the test config; running without it (E2E_DNS=off)"
    E2E_DNS=off
    export E2E_DNS
    cfg_write "$E2E_CFG_DEFAULT" default
  fi
fi

# (Re)start egressd with the default config when it is not running with it.
ensure_default() {
  if egressd_alive && [ "$(egressd_cfg)" = "$E2E_CFG_DEFAULT" ]; then
    return 0
  fi
  egressd_stop
  egressd_start "$E2E_CFG_DEFAULT" 2>"$E2E_TMP/start.err"
}

if ! ensure_default; then
  fail "egressd_start" "egressd did not start with the default config" \
    "$(cat "$E2E_TMP/start.err")" "config:" "$(cat "$E2E_CFG_DEFAULT")"
fi

for f in "${cases[@]}"; do
  name=$(basename "$f" .sh)
  ensure_default 2>/dev/null
  before=$(wc -l <"$E2E_RESULTS")
  # in the background + wait, so that INT/TERM reach run.sh's traps at once
  timeout -k 5 "${E2E_CASE_TIMEOUT:-120}" bash "$f" &
  case_pid=$!
  register_pid "$case_pid"
  wait "$case_pid"
  rc=$?
  after=$(wc -l <"$E2E_RESULTS")
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    fail "$name" "case file timed out after ${E2E_CASE_TIMEOUT:-120}s"
  elif [ "$after" = "$before" ]; then
    fail "$name" "case file reported nothing (exit code $rc)"
  elif [ "$rc" != 0 ] && ! grep -q '^FAIL ' <(tail -n "$((after - before))" "$E2E_RESULTS"); then
    fail "$name" "case file exited with code $rc"
  fi
  # a crash during the case is a failure of its own
  if [ "$(egressd_cfg)" = "$E2E_CFG_DEFAULT" ] && [ -n "$(egressd_pid)" ] && ! egressd_alive; then
    fail "$name/egressd-alive" "egressd (pid $(egressd_pid)) died during $name"
  fi
done

# Sanitizer builds: every egressd this run started must have stayed quiet,
# including LeakSanitizer's report at exit (so stop the last one first).
egressd_stop
san=$(grep -hE "ERROR: (Address|Leak|Thread)Sanitizer|runtime error:" \
  "$E2E_ELOG" "$E2E_TMP"/*.log 2>/dev/null | head -5)
if [ -n "$san" ]; then
  fail sanitizers_clean "sanitizer reports in egressd's stderr" "$san"
else
  pass sanitizers_clean
fi

passed=$(grep -c '^ok ' "$E2E_RESULTS")
failed=$(grep -c '^FAIL ' "$E2E_RESULTS")
e2e_log "$(basename "$EGRESSD") e2e: $((SECONDS - T0)) s"
if [ "$failed" != 0 ]; then
  export E2E_KEEP=1   # keep logs, audit and configs for the post-mortem
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
