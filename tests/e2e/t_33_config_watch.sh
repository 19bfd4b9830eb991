#!/usr/bin/env bash
# config_watch (docs/config.md): egressd notices its config file replaced
# (renamed over, or swapped under a ConfigMap's ..data symlink) and
# reloads as on SIGHUP; a bad new file keeps the old policy.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_case_env

ok_to() { sbx_curl "https://$1/" >/dev/null 2>&1; }
# wait_refused HOST: up to 5 s for the new policy to refuse HOST
wait_refused() {
  local i
  for ((i = 0; i < 50; i++)); do ok_to "$1" || return 0; sleep 0.1; done
  return 1
}

case_begin config_renamed_over_is_reloaded
dir=$E2E_TMP/watch-a
mkdir -p "$dir"
cfg_write "$dir/egressd.yaml"
if egressd_restart "$dir/egressd.yaml" 2>"$E2E_TMP/start.err"; then
  ok_to allowed.example.com || ck_fail "allowed.example.com refused to begin with"
  sed 's|"allowed.example.com", ||' "$dir/egressd.yaml" >"$dir/.new"
  mv "$dir/.new" "$dir/egressd.yaml"
  wait_refused allowed.example.com || ck_fail "the renamed-over config was not applied"
  grep -q "config_watch: .* changed" "$E2E_ELOG" || ck_fail "no config_watch line in the log"
  # a bad file: rejected, the running policy stays
  printf 'policies: [not a mapping\n' >"$dir/.bad"
  mv "$dir/.bad" "$dir/egressd.yaml"
  sleep 1
  grep -q "rejected, the running policy stays" "$E2E_ELOG" || ck_fail "the bad file was not reported"
  ok_to a.wild.example.org || ck_fail "the old policy is gone after a bad file"
  egressd_alive || ck_fail "egressd died on a bad watched file"
else
  ck_fail "egressd did not start: $(cat "$E2E_TMP/start.err")"
fi
case_end

case_begin configmap_symlink_swap_is_reloaded
# Kubernetes' layout: egressd.yaml -> ..data/egressd.yaml, ..data -> ..v1
dir=$E2E_TMP/watch-cm
mkdir -p "$dir/..v1" "$dir/..v2"
cfg_write "$dir/..v1/egressd.yaml"
sed 's|"allowed.example.com", ||' "$dir/..v1/egressd.yaml" >"$dir/..v2/egressd.yaml"
ln -sfn ..v1 "$dir/..data"
ln -sfn ..data/egressd.yaml "$dir/egressd.yaml"
if egressd_restart "$dir/egressd.yaml" 2>"$E2E_TMP/start.err"; then
  ok_to allowed.example.com || ck_fail "allowed.example.com refused to begin with"
  ln -sfn ..v2 "$dir/..data_tmp"
  mv -T "$dir/..data_tmp" "$dir/..data"
  wait_refused allowed.example.com || ck_fail "the ConfigMap swap was not applied"
else
  ck_fail "egressd did not start: $(cat "$E2E_TMP/start.err")"
fi
case_end

case_begin config_watch_off
dir=$E2E_TMP/watch-off
mkdir -p "$dir"
cfg_write "$dir/egressd.yaml"
echo "config_watch: false" >>"$dir/egressd.yaml"
if egressd_restart "$dir/egressd.yaml" 2>"$E2E_TMP/start.err"; then
  sed 's|"allowed.example.com", ||' "$dir/egressd.yaml" >"$dir/.new"
  mv "$dir/.new" "$dir/egressd.yaml"
  sleep 1
  ok_to allowed.example.com || ck_fail "config_watch: false still reloaded"
else
  ck_fail "egressd did not start: $(cat "$E2E_TMP/start.err")"
fi
case_end
