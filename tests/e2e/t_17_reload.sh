#!/usr/bin/env bash
# SIGHUP reload (docs/config.md, Reload): a 20 MiB download whose host stays
# allowed completes intact; one whose host the new file removes is cut with
# an end event, reason revoked; new connections see the new rules; a bad
# file is rejected and the running policy stays.  SIGUSR1 reopens the
# audit file.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_case_env

cfg=$E2E_TMP/reload.yaml
cfg_write "$cfg"
egressd_restart "$cfg" || fail reload_setup "egressd did not start"
want=$(blob_sha256)

# without HOST in the allow list (and with it, as given)
rewrite() { sed -i "s|\"$1\", ||" "$cfg"; }

case_begin reload_keeps_allowed_download
f=$E2E_TMP/keep.bin
(CURL_MAX_TIME=40 sbx_curl --limit-rate 3M -o "$f" https://allowed.example.com/blob; echo $? >"$E2E_TMP/keep.rc") &
cpid=$!
sleep 1.5
sed -i 's|"private.example.com", ||' "$cfg"     # an unrelated change
kill -HUP "$(egressd_pid)"
wait "$cpid"
expect_eq 0 "$(cat "$E2E_TMP/keep.rc")" "curl exit"
expect_eq "$want" "$(sha256sum "$f" | cut -d' ' -f1)" "sha256 of the 20 MiB body"
grep -q "reload: .* applied" "$E2E_ELOG" || ck_fail "no 'reload applied' in egressd's log"
case_end

case_begin reload_revokes_removed_host
f=$E2E_TMP/cut.bin
(CURL_MAX_TIME=40 sbx_curl --limit-rate 3M -o "$f" https://allowed.example.com/blob; echo $? >"$E2E_TMP/cut.rc") &
cpid=$!
sleep 1.5
rewrite allowed.example.com
kill -HUP "$(egressd_pid)"
wait "$cpid"
expect_rc_in "18 56" "$(cat "$E2E_TMP/cut.rc")" "the download was cut"
if expect_event "e['action']=='end' and e.get('reason')=='revoked' and h(e)=='allowed.example.com'" "end event"; then
  expect_json "$EV" "e.get('bytes_down',0) > 0 and e.get('bytes_down',0) < $BLOB_SIZE" "bytes_down is partial"
fi
out=$(sbx_curl https://allowed.example.com/ 2>&1); rc=$?
expect_rc_in "35 56" "$rc" "a new connection sees the new rules"
out=$(sbx_curl https://a.wild.example.org/ 2>&1); rc=$?
expect_eq 0 "$rc" "a host still allowed still works (out: $out)"
case_end

case_begin reload_bad_file_keeps_policy
echo "policies: [this is not a mapping" >>"$cfg"
kill -HUP "$(egressd_pid)"
sleep 0.5
grep -q "rejected, the running policy stays" "$E2E_ELOG" || ck_fail "no rejection logged"
grep -Eq "reload: .*reload.yaml:[0-9]+:[0-9]+: " "$E2E_ELOG" || ck_fail "the error does not name file:line:col"
out=$(sbx_curl https://a.wild.example.org/ 2>&1); rc=$?
expect_eq 0 "$rc" "old policy still in force (out: $out)"
egressd_alive || ck_fail "egressd died on a bad reload"
case_end

case_begin sigusr1_reopens_audit_file
mv "$E2E_AUDIT" "$E2E_AUDIT.1"
kill -USR1 "$(egressd_pid)"
sleep 0.5
sbx_curl https://a.wild.example.org/ >/dev/null 2>&1
for ((i = 0; i < 30; i++)); do [ -s "$E2E_AUDIT" ] && break; sleep 0.1; done
[ -s "$E2E_AUDIT" ] || ck_fail "no new audit file after SIGUSR1"
grep -q "a.wild.example.org" "$E2E_AUDIT" 2>/dev/null || ck_fail "new events did not go to the reopened file"
case_end
