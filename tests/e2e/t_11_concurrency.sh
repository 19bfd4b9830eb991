#!/usr/bin/env bash
# 50 parallel TLS clients all get through, in bounded time.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_case_env

case_begin concurrency_50_tls
d=$E2E_TMP/par
rm -rf "$d"; mkdir -p "$d"
t0=$SECONDS
for i in $(seq 1 50); do
  (CURL_MAX_TIME=20 sbx_curl "https://allowed.example.com/par$i" >"$d/$i.out" 2>"$d/$i.err"; echo $? >"$d/$i.rc") &
done
wait
ok=0; bad=()
for i in $(seq 1 50); do
  if [ "$(cat "$d/$i.rc" 2>/dev/null)" = 0 ] && [ "$(cat "$d/$i.out")" = "hello from allowed.example.com" ]; then
    ok=$((ok + 1))
  else
    bad+=("#$i rc=$(cat "$d/$i.rc" 2>/dev/null) $(head -c 200 "$d/$i.err")")
  fi
done
expect_eq 50 "$ok" "successful transfers (first failures: ${bad[*]:0:3})"
[ $((SECONDS - t0)) -le 30 ] || ck_fail "50 parallel requests took $((SECONDS - t0)) s (> 30 s)"
count_allows() {
  "$E2E_PY" -c '
import json, sys
f = open(sys.argv[1], "rb"); f.seek(int(sys.argv[2])); n = 0
for l in f.read().split(b"\n"):
    try: e = json.loads(l)
    except ValueError: continue
    n += e.get("action") == "allow" and (e.get("host") or "").lower() == "allowed.example.com"
print(n)' "$E2E_AUDIT" "$AUDIT_FROM"
}
for _ in $(seq 1 30); do n=$(count_allows); [ "${n:-0}" -ge 50 ] && break; sleep 0.1; done
expect_eq 50 "$n" "allow events for allowed.example.com"
egressd_alive || ck_fail "egressd is no longer running"
rm -rf "$d"
case_end
