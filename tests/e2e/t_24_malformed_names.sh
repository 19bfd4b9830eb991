#!/usr/bin/env bash
# Names and targets a server reads differently from egressd are malformed
# (SNI and Host with an empty label, a fragment in the request target), and a
# deny regex that cannot finish denies: under allow-all, where only a deny rule
# stands between the sandbox and evil.example.com.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_case_env

cfg=$E2E_TMP/malformed.yaml
cfg_write "$cfg"
# allow-all with deny rules only; endpoints on allowed.example.com (GET /v1/*).
sed -i 's|^    mode: block-all$|    mode: allow-all\n    endpoints:\n      - host: allowed.example.com\n        methods: [GET]\n        paths: ["/v1/*"]|' "$cfg"
sed -i 's|^    deny:  { hosts: \["blocked.wild.example.org"\] }$|    deny:  { hosts: ["evil.example.com", '"'"'~(a+)+\\.slow\\.example\\.com'"'"'] }|' "$cfg"
grep -q 'evil.example.com' "$cfg" || fail malformed_setup "deny rule not in the config" "$(cat "$cfg")"
egressd_restart "$cfg" || fail malformed_setup "egressd did not start ($(tail -3 "$E2E_ELOG"))"

# send_raw IP PORT HEXBYTES: prints "<outcome> <nbytes>"
send_raw() {
  sbx_py "$@" <<PYEOF
$PY_PRELUDE
ip, port, payload = sys.argv[1], int(sys.argv[2]), bytes.fromhex(sys.argv[3])
s = connect(ip, port)
s.sendall(payload)
how, data = outcome(s, timeout=5)
print(how, len(data))
PYEOF
}

# hello_hex SNI: a TLS 1.3 ClientHello carrying SNI as given, byte for byte
# (openssl s_client and curl refuse to send "x..").
hello_hex() {
  "$E2E_PY" - "$1" <<'PYEOF'
import struct, sys
u16 = lambda n: struct.pack(">H", n)
name = sys.argv[1].encode()
lst = b"\x00" + u16(len(name)) + name
sni = u16(0) + u16(len(lst) + 2) + u16(len(lst)) + lst
ext = sni + u16(0x2b) + u16(3) + b"\x02\x03\x04" + u16(0x0a) + u16(4) + u16(2) + u16(0x1d) \
    + u16(0x0d) + u16(4) + u16(2) + u16(0x0804) \
    + u16(0x33) + u16(38) + u16(36) + u16(0x1d) + u16(32) + b"\x99" * 32
body = b"\x03\x03" + b"\x5a" * 32 + b"\x20" + b"\x11" * 32 + u16(2) + b"\x13\x01" + b"\x01\x00" \
    + u16(len(ext)) + ext
hs = b"\x01" + len(body).to_bytes(3, "big") + body
print((b"\x16\x03\x01" + u16(len(hs)) + hs).hex())
PYEOF
}

http_hex() { printf "$1" | od -An -tx1 | tr -d ' \n'; }

case_begin sni_empty_label_bad_tls
res=$(send_raw "$IP_D" 443 "$(hello_hex evil.example.com..)")
expect_match "^reset 0" "$res" "outcome (how bytes)"
if expect_event "e['action']=='deny' and e.get('dst')=='$IP_D:443' and e.get('proto')=='tls'" "deny event"; then
  expect_json "$EV" "e.get('reason')=='bad-tls'" "reason bad-tls"
fi
# The same name with one trailing dot is the name: the deny rule decides.
res=$(send_raw "$IP_D" 443 "$(hello_hex evil.example.com.)")
expect_match "^reset 0" "$res" "one trailing dot: outcome"
expect_event "e['action']=='deny' and e.get('reason')=='denied-by-rule' and e.get('rule')=='deny.hosts evil.example.com'" "one trailing dot: denied by the rule"
case_end

case_begin host_empty_label_bad_http
res=$(send_raw "$IP_D" 80 "$(http_hex 'GET / HTTP/1.1\r\nHost: evil.example.com..\r\n\r\n')")
expect_match "^reset 0" "$res" "outcome (how bytes)"
if expect_event "e['action']=='deny' and e.get('dst')=='$IP_D:80'" "deny event"; then
  expect_json "$EV" "e.get('reason')=='bad-http'" "reason bad-http"
fi
res=$(send_raw "$IP_D" 80 "$(http_hex 'GET / HTTP/1.1\r\nHost: a..evil.example.com\r\n\r\n')")
expect_match "^reset 0" "$res" "inner empty label: outcome"
expect_event "e['action']=='deny' and e.get('dst')=='$IP_D:80' and e.get('reason')=='bad-http'" "inner empty label: bad-http"
out=$(sbx_curl -s -o /dev/null -w '%{http_code}' -H 'Host: evil.example.com.' http://evil.example.com/ 2>&1); rc=$?
expect_rc_in "52 56" "$rc" "curl, Host with one trailing dot, refused (out: $out)"
expect_event "e['action']=='deny' and e.get('reason')=='denied-by-rule' and e.get('proto')=='http'" "one trailing dot: denied by the rule"
case_end

case_begin target_fragment_bad_http
out=$(sbx_curl -s -o /dev/null -w '%{http_code}' http://allowed.example.com/v1/x 2>&1); rc=$?
expect_eq 0 "$rc" "GET /v1/x allowed by the endpoint rule (out: $out)"
res=$(send_raw "$IP_A" 80 "$(http_hex 'GET /v1/x#/../../admin HTTP/1.1\r\nHost: allowed.example.com\r\n\r\n')")
expect_match "^reset 0" "$res" "outcome (how bytes)"
if expect_event "e['action']=='deny' and e.get('dst')=='$IP_A:80'" "deny event"; then
  expect_json "$EV" "e.get('reason')=='bad-http'" "reason bad-http"
fi
case_end

# ~(a+)+\.slow\.example\.com backtracks exponentially on this near miss: PCRE2
# gives up at its match limit, and the deny rule must count that as a match.
case_begin deny_regex_fails_closed
slow=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.slowx.example.com
res=$(send_raw "$IP_A" 443 "$(hello_hex $slow)")
expect_match "^reset 0" "$res" "outcome (how bytes)"
expect_event "e['action']=='deny' and e.get('host')=='$slow' and e.get('reason')=='denied-by-rule' and e.get('rule','').startswith('deny.hosts ~')" "denied by the regex that could not finish"
case_end

case_begin still_serving
out=$(sbx_curl https://allowed.example.com/ 2>&1); rc=$?
expect_eq 0 "$rc" "curl exit code"
expect_eq "hello from allowed.example.com" "$out" "body"
egressd_alive || ck_fail "egressd is no longer running"
case_end
