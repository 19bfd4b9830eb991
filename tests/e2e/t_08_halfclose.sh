#!/usr/bin/env bash
# The client's FIN (shutdown SHUT_WR) after its request must not cut the reply (docs/config.md).
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_case_env
want=$(blob_sha256)

case_begin half_close_http10_blob
res=$(sbx_py "$IP_A" <<PYEOF
$PY_PRELUDE
import hashlib
s = connect(sys.argv[1], 80)
s.sendall(b"GET /blob HTTP/1.0\r\nHost: allowed.example.com\r\nConnection: close\r\n\r\n")
s.shutdown(socket.SHUT_WR)
how, data = outcome(s, timeout=20, limit=1 << 30)
head, _, body = data.partition(b"\r\n\r\n")
print("how=%s status=%s len=%d sha=%s" % (how, head.split(b"\r\n")[0].decode("latin-1"), len(body), hashlib.sha256(body).hexdigest()))
PYEOF
)
expect_match "^how=eof status=HTTP/1\.[01] 200 OK len=$BLOB_SIZE sha=$want\$" "$res" "whole /blob reply after half-close (want len=$BLOB_SIZE sha=$want)"
expect_event "e['action']=='allow' and e.get('proto')=='http' and e.get('path')=='/blob'" "allow event"
case_end

case_begin half_close_tls
# TLS client that half-closes (TCP FIN, no close_notify) after its request.
res=$(sbx_py "$IP_A" "$E2E_CA" <<PYEOF
$PY_PRELUDE
import ssl
ctx = ssl.create_default_context(cafile=sys.argv[2])
s = ctx.wrap_socket(connect(sys.argv[1], 443), server_hostname="allowed.example.com")
s.sendall(b"GET / HTTP/1.0\r\nHost: allowed.example.com\r\nConnection: close\r\n\r\n")
socket.socket.shutdown(s, socket.SHUT_WR)  # TCP half-close under the TLS session
data = b""
try:
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
except (ssl.SSLError, OSError) as x:
    data += b" [%r]" % x
print(data.split(b"\r\n")[0].decode(), "|", data.split(b"\r\n\r\n", 1)[-1].decode(errors="replace").strip())
PYEOF
)
expect_match "^HTTP/1\.[01] 200 OK \| hello from allowed\.example\.com$" "$res" "TLS reply"
expect_event "e['action']=='allow' and e.get('proto')=='tls' and (e.get('host') or '').lower()=='allowed.example.com'" "allow event"
case_end
