#!/usr/bin/env bash
# 20 MiB through the proxy, over TLS and over HTTP: every byte arrives intact and is counted.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_case_env
want=$(blob_sha256)

for scheme in https http; do
  case_begin "bulk_20MiB_$scheme"
  f=$E2E_TMP/blob.$scheme
  rm -f "$f"
  err=$(CURL_MAX_TIME=60 sbx_curl -o "$f" "$scheme://allowed.example.com/blob" 2>&1); rc=$?
  expect_eq 0 "$rc" "curl exit code ($err)"
  got=$(sha256sum "$f" 2>/dev/null | cut -d' ' -f1)
  expect_eq "$want" "$got" "sha256 of the body ($(stat -c %s "$f" 2>/dev/null || echo 0) bytes received)"
  proto=tls; [ $scheme = http ] && proto=http
  if expect_event "e['action']=='allow' and e.get('proto')=='$proto' and h(e)=='allowed.example.com'" "allow event"; then
    conn=$(jf "$EV" conn)
    if expect_event "e['action']=='end' and e.get('conn')==$conn" "end event"; then
      expect_json "$EV" "isinstance(e.get('bytes_down'),int) and e['bytes_down']>=$BLOB_SIZE" "bytes_down >= 20 MiB"
      expect_json "$EV" "isinstance(e.get('bytes_up'),int) and 0<e['bytes_up']<65536" "bytes_up (request only)"
    fi
  fi
  rm -f "$f"
  case_end
done
