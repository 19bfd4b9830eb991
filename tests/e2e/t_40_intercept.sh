#!/usr/bin/env bash
# HTTPS interception (tls_intercept, a policy's intercept_tls): for a listed
# host that the host rules allow, egressd terminates TLS with a leaf
# certificate from its own CA (made by `egressd --gen-ca`), judges each
# request inside like plain HTTP (endpoints, audit proto "https" with method
# and path; a denied request gets 403 and the connection ends) and talks TLS
# to the real server, verifying it against upstream_ca (else 502,
# upstream-cert); an Upgrade inside becomes a tunnel after the 101.  A
# host not listed is spliced as before; a listed host the
# rules deny is refused before any certificate is made.  Config errors,
# --gen-ca, GET /api/v1/ca.pem, egressctl ca, and a reload that takes the
# host away from an open connection.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_case_env

CTL=$(dirname "$E2E_EGRESSD")/egressctl
MITM_CA=$E2E_TMP/mitm-ca
ca_gen "$MITM_CA"; ca_rc=$?
if [ "$ca_rc" = 1 ]; then
  fail intercept_setup "no interception CA: neither egressd --gen-ca nor openssl made one" "$CA_GEN_ERR"
  exit 1
fi

mitm_cfg mitm "$MITM_CA"
cat >>"$cfg" <<EOF
policies:
  agent:
    mode: block-all
    allow: { hosts: ["allowed.example.com", "api.example.com", "a.intercept.example", "untrusted.intercept.example"] }
    intercept_tls: ["api.example.com", "*.intercept.example"]
    endpoints:
      - host: api.example.com
        methods: [GET]
        paths: ["/ok*"]
      - host: api.example.com
        methods: [POST]
        paths: ["/v1/chat/completions"]
sandboxes:
  - id: sbx-1
    policies: [agent]
EOF
started=1
egressd_restart "$cfg" 2>"$E2E_TMP/start.err" || started=0

# body_and_code URL ARGS...: mitm_curl printing the body, then the status
# code on a line of its own (000 when there was no answer); rc is curl's.
body_and_code() { local u=$1; shift; mitm_curl -s -w '\n%{http_code}' "$@" "$u" 2>&1; }
code_of() { printf '%s\n' "$1" | tail -n 1; }
body_of() { printf '%s\n' "$1" | sed '$d'; }

case_begin intercept_setup
[ "$ca_rc" = 0 ] || ck_fail "egressd --gen-ca $MITM_CA failed (openssl made the CA instead): $CA_GEN_ERR"
[ "$started" = 1 ] || ck_fail "egressd did not start with tls_intercept: $(cat "$E2E_TMP/start.err")"
case_end
if [ "$started" = 0 ]; then
  exit 1
fi

# ------------------------------------------------------------ allowed, 3 clients
case_begin intercept_allowed_curl
upstream_mark
out=$(body_and_code https://api.example.com/ok/curl); rc=$?
expect_eq 0 "$rc" "curl trusting egressd's CA (out: $out)"
expect_eq 200 "$(code_of "$out")" "status"
expect_eq "hello from api.example.com" "$(body_of "$out")" "body from the real server"
if expect_event "e['action']=='allow' and e.get('proto')=='https' and h(e)=='api.example.com' and e.get('path')=='/ok/curl'" "allow event"; then
  expect_json "$EV" "e.get('method')=='GET'" "method"
  expect_json "$EV" "e.get('sandbox')=='sbx-1' and e.get('policy')=='agent'" "sandbox and policy"
  expect_json "$EV" "e.get('dst')=='$IP_A:443'" "dst"
fi
expect_contains "https GET /ok/curl host=api.example.com" "$(upstream_since)" "the real server got the request"
out=$(body_and_code https://api.example.com/v1/chat/completions -X POST -H 'Content-Type: application/json' -d '{}'); rc=$?
expect_eq 200 "$(code_of "$out")" "POST /v1/chat/completions (rc $rc, out: $out)"
expect_event "e['action']=='allow' and e.get('proto')=='https' and e.get('method')=='POST' and e.get('path')=='/v1/chat/completions'" "POST allow event" >/dev/null
# trusting only the real server's CA, the client sees egressd's certificate
out=$(sbx_curl https://api.example.com/ok/curl 2>&1); rc=$?
expect_eq 60 "$rc" "curl trusting only the e2e test CA refuses egressd's certificate (out: $out)"
case_end

case_begin intercept_allowed_python
out=$(sbx "$E2E_PY" - "$MITM_CA/ca.crt" https://api.example.com/ok/python 2>&1 <<'PY'
import ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[1])
with urllib.request.urlopen(sys.argv[2], context=ctx, timeout=8) as r:
    print(r.status, r.read().decode().strip())
PY
)
expect_eq "200 hello from api.example.com" "$out" "python urllib, cafile= egressd's CA, DNS through the filter"
expect_event "e['action']=='allow' and e.get('proto')=='https' and e.get('method')=='GET' and e.get('path')=='/ok/python'" "allow event" >/dev/null
case_end

case_begin intercept_allowed_node
if command -v node >/dev/null 2>&1; then
  out=$(sbx env CA="$MITM_CA/ca.crt" timeout 15 node -e '
const https = require("https"), fs = require("fs");
https.get({ host: "api.example.com", path: "/ok/node", ca: fs.readFileSync(process.env.CA), timeout: 8000 }, (r) => {
  let b = "";
  r.on("data", (d) => { b += d; });
  r.on("end", () => console.log(r.statusCode + " " + b.trim()));
}).on("error", (e) => { console.log("error " + e.code + " " + e.message); process.exitCode = 1; });
' 2>&1)
  expect_eq "200 hello from api.example.com" "$out" "node https.get with ca: egressd's CA"
  expect_event "e['action']=='allow' and e.get('proto')=='https' and e.get('path')=='/ok/node'" "allow event" >/dev/null
else
  ck_fail "node is not installed (scripts/install-deps.sh installs nodejs)"
fi
case_end

# ------------------------------------------------------------ denied requests
case_begin intercept_denied_method_and_path
upstream_mark
out=$(body_and_code https://api.example.com/ok/del -X DELETE)
expect_eq 403 "$(code_of "$out")" "DELETE /ok/del (method not in the endpoints)"
body=$(body_of "$out")
expect_eq 1 "$(printf '%s\n' "$body" | grep -c .)" "the 403 body is one line ('$body')"
expect_contains "no-matching-allow" "$body" "the 403 body names the reason"
if expect_event "e['action']=='deny' and e.get('proto')=='https' and e.get('method')=='DELETE' and e.get('path')=='/ok/del'" "deny event"; then
  expect_json "$EV" "e.get('reason')=='no-matching-allow' and e.get('rule')=='endpoints api.example.com'" "reason and rule"
fi
out=$(body_and_code https://api.example.com/admin)
expect_eq 403 "$(code_of "$out")" "GET /admin (path not in the endpoints)"
expect_event "e['action']=='deny' and e.get('proto')=='https' and e.get('method')=='GET' and e.get('path')=='/admin' and e.get('reason')=='no-matching-allow'" "deny event" >/dev/null
out=$(body_and_code https://api.example.com/ok/../admin --path-as-is)
expect_eq 403 "$(code_of "$out")" "dot segments never match (/ok/../admin)"
expect_unseen /ok/del "DELETE /ok/del"
expect_unseen /admin "GET /admin"
expect_unseen /ok/../admin "GET /ok/../admin"
case_end

case_begin intercept_keepalive_allow_then_deny
# two allowed requests on one connection (curl reuses it), one conn in the audit
out=$(mitm_curl -sv -o /dev/null -o /dev/null https://api.example.com/ok/ka1 https://api.example.com/ok/ka2 2>&1); rc=$?
expect_eq 0 "$rc" "curl, two URLs"
expect_match "Re-using existing connection|Reusing existing connection" "$out" "curl kept the connection"
if expect_event "e['action']=='allow' and e.get('path')=='/ok/ka1'" "first allow"; then
  c1=$(jf "$EV" conn)
  expect_event "e['action']=='allow' and e.get('path')=='/ok/ka2' and e.get('conn')==$c1" "second allow on the same conn" >/dev/null
fi
# allowed, then denied: 200, 403, and the connection is closed
upstream_mark
out=$(sbx_py "$IP_A" "$MITM_CA/ca.crt" 2>&1 <<PY
$PY_PRELUDE
$PY_TLS
s = tls_connect(sys.argv[1], "api.example.com", sys.argv[2])
st, _ = exchange(s, b"GET /ok/ka3 HTTP/1.1\r\nHost: api.example.com\r\n\r\n")
print(st)
st, _ = exchange(s, b"GET /admin/ka4 HTTP/1.1\r\nHost: api.example.com\r\n\r\n")
print(st)
print(ended(s))
PY
)
expect_eq "HTTP/1.1 200 OK
HTTP/1.1 403 Forbidden
eof" "${out//$'\r'/}" "200, then 403, then the connection ends"
expect_unseen /admin/ka4 "the denied request on the kept connection"
case_end

# ------------------------------------------------------------ the certificate
# leaf SNI [CAFILE]: openssl s_client through egressd (ALPN h2,http/1.1);
# the whole output in $SCL, the server's first certificate in $LEAF.
leaf() {
  SCL=$(sbx timeout 10 openssl s_client -connect "$IP_A:443" -servername "$1" \
    -CAfile "${2:-$MITM_CA/ca.crt}" -alpn h2,http/1.1 </dev/null 2>&1)
  LEAF=$(printf '%s\n' "$SCL" | sed -n '/BEGIN CERTIFICATE/,/END CERTIFICATE/p;/END CERTIFICATE/q')
}
x509() { printf '%s\n' "$LEAF" | openssl x509 -noout "$@" 2>&1; }
subject_of() { openssl x509 -in "$1" -noout -subject -nameopt RFC2253 | sed 's/^subject=//'; }

case_begin intercept_certificate_is_egressd_s
leaf api.example.com
if [ -z "$LEAF" ]; then
  ck_fail "no certificate from openssl s_client: $(printf %s "$SCL" | tail -n 5)"
else
  expect_eq "$(subject_of "$MITM_CA/ca.crt")" "$(x509 -issuer -nameopt RFC2253 | sed 's/^issuer=//')" "issuer = egressd's CA"
  expect_contains "Verify return code: 0 (ok)" "$SCL" "the chain verifies against egressd's CA"
  san=$(x509 -ext subjectAltName | sed -n '2,$p' | tr -d ' ')
  expect_eq "DNS:api.example.com" "$san" "SAN = the SNI"
  text=$(x509 -text)
  expect_contains "id-ecPublicKey" "$text" "an ECDSA key"
  expect_match "prime256v1|P-256" "$text" "on P-256"
  [[ $text == *"CA:TRUE"* ]] && ck_fail "the leaf is marked CA:TRUE"
  nb=$(date -d "$(x509 -startdate | cut -d= -f2)" +%s)
  na=$(date -d "$(x509 -enddate | cut -d= -f2)" +%s)
  if [ -z "$nb" ] || [ -z "$na" ] || [ $((na - nb)) -gt $((7 * 86400)) ]; then
    ck_fail "leaf valid for more than 7 days: $(x509 -startdate -enddate | tr '\n' ' ')"
  fi
  if [ -z "$na" ] || [ "$na" -le "$(date +%s)" ]; then ck_fail "leaf not valid now: $(x509 -enddate)"; fi
  expect_contains "ALPN protocol: http/1.1" "$SCL" "ALPN: http/1.1 chosen when h2 is offered first"
  first=$LEAF
  leaf api.example.com
  expect_eq "$first" "$LEAF" "the same leaf for the same name (cached)"
fi
out=$(sbx timeout 10 openssl s_client -connect "$IP_A:443" -servername api.example.com -alpn h2 </dev/null 2>&1)
[[ $out == *"ALPN protocol: h2"* ]] && ck_fail "h2 negotiated when the client offers only h2"
out=$(mitm_curl -s -o /dev/null --http2 -w '%{http_version}' https://api.example.com/ok/h2 2>&1)
expect_eq "1.1" "$out" "curl --http2 negotiates HTTP/1.1"
# egressd_tls_leaf_minted_total (when exported): +1 for a name not seen
# before, +0 for it again (cached); a.intercept.example is new here.
m0=$(metric_sum egressd_tls_leaf_minted_total)
leaf a.intercept.example
san=$(x509 -ext subjectAltName | sed -n '2,$p' | tr -d ' ')
expect_eq "DNS:a.intercept.example" "$san" "SAN of a name under *.intercept.example = that name"
m1=$(metric_sum egressd_tls_leaf_minted_total)
leaf a.intercept.example
m2=$(metric_sum egressd_tls_leaf_minted_total)
if [ -z "$m0" ]; then
  echo "# note: egressd_tls_leaf_minted_total is not in /metrics: its checks are skipped" >&2
else
  expect_eq "$((m0 + 1)) $((m0 + 1))" "$m1 $m2" "egressd_tls_leaf_minted_total after a new name, then the same name again"
fi
case_end

case_begin not_listed_is_spliced
out=$(sbx_curl https://allowed.example.com/ 2>&1); rc=$?
expect_eq 0 "$rc" "curl trusting only the e2e test CA (out: $out)"
expect_eq "hello from allowed.example.com" "$out" "body"
expect_event "e['action']=='allow' and e.get('proto')=='tls' and h(e)=='allowed.example.com'" "allow event, proto tls" >/dev/null
leaf allowed.example.com "$E2E_CA"
expect_eq "$(subject_of "$E2E_CA")" "$(x509 -issuer -nameopt RFC2253 | sed 's/^issuer=//')" "issuer = the e2e test CA (the server's own certificate)"
expect_eq "$(openssl x509 -in "$E2E_TMP/pki/server.pem" -noout -fingerprint -sha256)" "$(x509 -fingerprint -sha256)" "byte-identical to fakenet's certificate"
out=$(mitm_curl https://allowed.example.com/ 2>&1); rc=$?
expect_eq 60 "$rc" "egressd's CA alone does not verify it (out: $out)"
case_end

case_begin denied_listed_host_gets_no_certificate
m0=$(metric_sum egressd_tls_leaf_minted_total)
leaf denied.intercept.example
[ -n "$LEAF" ] && ck_fail "a certificate was presented for denied.intercept.example: $(x509 -subject -issuer | tr '\n' ' ')"
out=$(mitm_curl https://denied.intercept.example/ 2>&1); rc=$?
expect_rc_in "35 56" "$rc" "curl: handshake refused (out: $out)"
if expect_event "e['action']=='deny' and h(e)=='denied.intercept.example'" "deny event"; then
  expect_json "$EV" "e.get('proto')=='tls' and e.get('reason')=='no-matching-allow'" "judged at the TLS stage"
fi
if [ -n "$m0" ]; then
  expect_eq "$m0" "$(metric_sum egressd_tls_leaf_minted_total)" "egressd_tls_leaf_minted_total: no leaf minted for the denied host"
fi
case_end

# ------------------------------------------------------------ upstream verification
case_begin upstream_untrusted_certificate
d=$E2E_TMP/sni-certs n=untrusted.intercept.example
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -keyout "$d/$n.key" -out "$d/$n.pem.tmp" -subj "/CN=$n self-signed" \
  -addext "subjectAltName=DNS:$n" >/dev/null 2>&1 && mv "$d/$n.pem.tmp" "$d/$n.pem"
fixture=$(netx timeout 5 openssl s_client -connect 127.0.0.1:443 -servername "$n" </dev/null 2>/dev/null |
  openssl x509 -noout -issuer 2>&1)
expect_contains "self-signed" "$fixture" "(fixture) fakenet serves the self-signed certificate for $n"
upstream_mark
out=$(body_and_code https://$n/self-signed); rc=$?
expect_eq 502 "$(code_of "$out")" "an upstream no upstream_ca vouches for -> 502 (rc $rc)"
if expect_event "e['action']=='deny' and h(e)=='$n' and e.get('reason')=='upstream-cert'" "deny event, upstream-cert"; then
  expect_json "$EV" "e.get('sandbox')=='sbx-1'" "sandbox"
fi
# signed by the trusted CA, but for another name: the name is verified too
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$d/$n.key2" \
  -out "$d/$n.csr" -subj "/CN=other.example.net" >/dev/null 2>&1 &&
  openssl x509 -req -in "$d/$n.csr" -CA "$E2E_CA" -CAkey "$E2E_TMP/pki/ca.key" -CAcreateserial -days 2 \
    -extfile <(printf 'subjectAltName=DNS:other.example.net\nextendedKeyUsage=serverAuth\n') \
    -out "$d/$n.pem.tmp" >/dev/null 2>&1 && mv "$d/$n.key2" "$d/$n.key" && mv "$d/$n.pem.tmp" "$d/$n.pem"
audit_mark
out=$(body_and_code https://$n/wrong-name); rc=$?
expect_eq 502 "$(code_of "$out")" "an upstream certificate for another name -> 502 (rc $rc)"
expect_event "e['action']=='deny' and h(e)=='$n' and e.get('reason')=='upstream-cert'" "deny event, upstream-cert (name)" >/dev/null
expect_unseen /self-signed "the request to the untrusted upstream"
expect_unseen /wrong-name "the request to the wrongly named upstream"
rm -f "$d/$n.pem" "$d/$n.key"
case_end

case_begin host_differs_from_sni
upstream_mark
out=$(body_and_code https://api.example.com/ok/host -H "Host: other.example"); rc=$?
code=$(code_of "$out")
if [ "$code" != 403 ]; then
  expect_rc_in "52 56" "$rc" "Host other than the SNI: 403 or a closed connection (code $code, out: $out)"
fi
expect_event "e['action']=='deny' and e.get('reason')=='bad-http'" "deny event, bad-http" >/dev/null
expect_unseen /ok/host "the request with the other Host"
case_end

# An Upgrade inside intercepted TLS: judged like any request, then, after
# the server's 101, both ways a tunnel (fakenet's /ws echoes every byte).
case_begin intercept_websocket
out=$(sbx "$E2E_PY" - "$MITM_CA/ca.crt" 2>&1 <<'PY'
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[1])
s = ctx.wrap_socket(socket.create_connection(("a.intercept.example", 443), timeout=8),
                    server_hostname="a.intercept.example")
s.sendall(b"GET /ws HTTP/1.1\r\nHost: a.intercept.example\r\nUpgrade: websocket\r\n"
          b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
          b"Sec-WebSocket-Version: 13\r\n\r\n")
buf = b""
while b"\r\n\r\n" not in buf:
    d = s.recv(4096)
    if not d:
        break
    buf += d
print(buf.split(b"\r\n")[0].decode())
s.sendall(b"GET /not-judged HTTP/1.1 through the tunnel")
print(s.recv(4096).decode())
PY
)
expect_eq "HTTP/1.1 101 Switching Protocols
GET /not-judged HTTP/1.1 through the tunnel" "$out" "101, then the bytes come back unjudged"
expect_event "e['action']=='allow' and e.get('proto')=='https' and e.get('path')=='/ws'" "the upgrade request's allow event" >/dev/null
case_end

case_begin intercept_blob_20MiB
f=$E2E_TMP/mitm-blob.bin
out=$(CURL_MAX_TIME=40 mitm_curl -o "$f" https://a.intercept.example/blob 2>&1); rc=$?
expect_eq 0 "$rc" "curl (out: $out)"
expect_eq "$(blob_sha256)" "$(sha256sum "$f" 2>/dev/null | cut -d' ' -f1)" "sha256 of the 20 MiB body"
if expect_event "e['action']=='allow' and e.get('proto')=='https' and h(e)=='a.intercept.example' and e.get('path')=='/blob'" "allow event"; then
  conn=$(jf "$EV" conn)
  expect_event "e['action']=='end' and e.get('conn')==$conn and e.get('bytes_down',0)>=$BLOB_SIZE" "end event, bytes_down >= 20 MiB" 5 >/dev/null
fi
rm -f "$f"
case_end

# ------------------------------------------------------------ config errors
# check_err NAME LINES PATTERN: `egressd --check` on $E2E_TMP/NAME.yaml exits 1
# with FILE:LINE:COL: on one of LINES (space-separated) and PATTERN (ERE) in that message.
check_err() {
  local f=$E2E_TMP/$1.yaml out rc l hit=""
  out=$(timeout 10 "$E2E_EGRESSD" -c "$f" --check 2>&1); rc=$?
  expect_eq 1 "$rc" "$1: exit code"
  for l in $2; do
    hit=$(printf '%s\n' "$out" | grep -F "$f:$l:" | grep -E "^[^:]+:$l:[0-9]+: " | grep -Ei -- "$3" | head -n 1)
    [ -n "$hit" ] && break
  done
  [ -n "$hit" ] || ck_fail "$1: no 'FILE:LINE:COL: ...$3...' with LINE in {$2}; output: $(printf %s "$out" | head -c 500)"
}
# line_of FILE ERE: the number of the first line matching
line_of() { grep -nE -- "$2" "$1" | head -n 1 | cut -d: -f1; }

case_begin config_errors
sec=$E2E_TMP/check-secret
printf 'Bearer sk-check\n' >"$sec"
chmod 600 "$sec"
good=$E2E_TMP/check-mitm-good.yaml
cat >"$good" <<EOF
listen: ["127.0.0.1:$E2E_PROXY_PORT"]
audit: { file: $E2E_TMP/check-mitm-audit.jsonl }
tls_intercept:
  ca_cert: $MITM_CA/ca.crt
  ca_key: $MITM_CA/ca.key
  upstream_ca: $E2E_CA
policies:
  agent:
    allow: { hosts: ["api.example.com"] }
    intercept_tls: ["api.example.com"]
    credentials:
      - host: api.example.com
        header: Authorization
        value_file: $sec
sandboxes:
  - id: sbx-1
    policies: [agent]
EOF
out=$(timeout 10 "$E2E_EGRESSD" -c "$good" --check 2>&1); rc=$?
expect_eq 0 "$rc" "(control) the good config passes --check: $out"
# intercept_tls without tls_intercept
sed '/^tls_intercept:/,/upstream_ca:/d; /credentials:/,/value_file:/d' "$good" >"$E2E_TMP/check-m1.yaml"
check_err check-m1 "$(line_of "$E2E_TMP/check-m1.yaml" intercept_tls)" "tls_intercept"
# credentials without tls_intercept
sed '/^tls_intercept:/,/upstream_ca:/d; /intercept_tls:/d' "$good" >"$E2E_TMP/check-m2.yaml"
l=$(line_of "$E2E_TMP/check-m2.yaml" credentials:)
check_err check-m2 "$l $((l + 1)) $((l + 2)) $((l + 3))" "tls_intercept"
# a credential host no intercept_tls pattern covers
sed 's|- host: api.example.com|- host: other.example.com|' "$good" >"$E2E_TMP/check-m3.yaml"
check_err check-m3 "$(line_of "$E2E_TMP/check-m3.yaml" 'host: other')" "intercept_tls|other\.example\.com"
# an unreadable value_file
sed "s|value_file: .*|value_file: $E2E_TMP/no-such-secret|" "$good" >"$E2E_TMP/check-m4.yaml"
check_err check-m4 "$(line_of "$E2E_TMP/check-m4.yaml" value_file)" "no-such-secret|value_file"
# an unreadable ca_key
sed "s|ca_key: .*|ca_key: $E2E_TMP/no-such-ca.key|" "$good" >"$E2E_TMP/check-m5.yaml"
check_err check-m5 "$(line_of "$E2E_TMP/check-m5.yaml" ca_key)" "no-such-ca|ca_key"
case_end

case_begin gen_ca
g=$E2E_TMP/gen-ca-test
mkdir -p "$g"
out=$(timeout 20 "$E2E_EGRESSD" --gen-ca "$g" 2>&1); rc=$?
expect_eq 0 "$rc" "egressd --gen-ca (out: $out)"
if [ -s "$g/ca.crt" ] && [ -s "$g/ca.key" ]; then
  expect_eq 600 "$(stat -c %a "$g/ca.key")" "ca.key mode"
  expect_contains "CA:TRUE" "$(openssl x509 -in "$g/ca.crt" -noout -text 2>&1)" "ca.crt is a CA"
  expect_eq "$(openssl x509 -in "$g/ca.crt" -noout -pubkey 2>&1)" "$(openssl pkey -in "$g/ca.key" -pubout 2>&1)" "ca.key is ca.crt's key"
  before=$(sha256sum "$g/ca.crt" "$g/ca.key")
  out=$(timeout 20 "$E2E_EGRESSD" --gen-ca "$g" 2>&1); rc=$?
  [ "$rc" = 0 ] && ck_fail "a second --gen-ca into the same directory succeeded (out: $out)"
  expect_eq "$before" "$(sha256sum "$g/ca.crt" "$g/ca.key")" "the existing CA is left alone"
  [ -n "$out" ] || ck_fail "the refusal says nothing"
else
  ck_fail "ca.crt / ca.key missing after --gen-ca: $(ls -l "$g" 2>&1)"
fi
case_end

case_begin api_ca_pem
out=$(e2e_api GET /api/v1/ca.pem)
expect_eq 200 "$(code_of "$out")" "GET /api/v1/ca.pem"
expect_eq "$(cat "$MITM_CA/ca.crt")" "$(body_of "$out")" "the body is ca.crt"
if [ -x "$CTL" ]; then
  out=$(timeout 10 "$CTL" -s "$ASOCK" ca 2>&1); rc=$?
  expect_eq 0 "$rc" "egressctl ca"
  expect_eq "$(cat "$MITM_CA/ca.crt")" "$out" "egressctl ca prints ca.crt"
else
  ck_fail "no egressctl next to egressd ($CTL)"
fi
case_end

# ------------------------------------------------------------ reload
case_begin reload_revokes_open_intercepted_connection
rm -f "$E2E_TMP/mitm-rl.ready" "$E2E_TMP/mitm-rl.go"
upstream_mark
sbx_py "$IP_A" "$MITM_CA/ca.crt" "$E2E_TMP/mitm-rl.ready" "$E2E_TMP/mitm-rl.go" >"$E2E_TMP/mitm-rl.out" 2>&1 <<PY &
$PY_PRELUDE
$PY_TLS
import os
s = tls_connect(sys.argv[1], "api.example.com", sys.argv[2])
st, _ = exchange(s, b"GET /ok/rl1 HTTP/1.1\r\nHost: api.example.com\r\n\r\n")
print(st.strip(), flush=True)
open(sys.argv[3], "w").write("up\n")
for _ in range(150):
    if os.path.exists(sys.argv[4]):
        break
    time.sleep(0.1)
st, why = exchange(s, b"GET /ok/rl2 HTTP/1.1\r\nHost: api.example.com\r\n\r\n")
print(st.strip() if st != "closed" else "closed " + why, flush=True)
PY
ppid=$!
retry_until 10 test -s "$E2E_TMP/mitm-rl.ready" || ck_fail "the first request did not complete: $(cat "$E2E_TMP/mitm-rl.out")"
n0=$(reloads_applied)
sed -i 's|"api.example.com", ||' "$cfg"
kill -HUP "$(egressd_pid)"
retry_until 5 reloaded_since "$n0" || ck_fail "no 'reload applied' in egressd's log"
touch "$E2E_TMP/mitm-rl.go"
wait "$ppid"
out=$(sed 's/\r$//' "$E2E_TMP/mitm-rl.out")
expect_match "^HTTP/1.1 200 OK
(closed [A-Za-z]+|HTTP/1.1 403 Forbidden)$" "$out" "after the reload the next request is refused or the connection is gone"
expect_unseen /ok/rl2 "the request after the reload"
expect_event "(e['action']=='end' and e.get('reason')=='revoked') or (e['action']=='deny' and e.get('path')=='/ok/rl2')" "revoked end or deny event" >/dev/null
out=$(mitm_curl https://api.example.com/ok/after 2>&1); rc=$?
expect_rc_in "35 56" "$rc" "a new connection to the host is refused (out: $out)"
case_end
