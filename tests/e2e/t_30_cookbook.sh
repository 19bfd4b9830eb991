#!/usr/bin/env bash
# docs/cookbook.md, tested: each policy block is read from the doc itself,
# egressd runs with it (sandbox sbx-1 judged by that policy alone), and
# the stack's client -- pip's own HTTP (python urllib, as pip's index
# requests are), npm, git, curl, python -- fetches from the fakenet under
# the cookbook's names through egressd, resolving through the DNS filter
# where the client resolves itself; a name the block leaves out is denied.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
e2e_case_env

DOC=$E2E_ROOT/docs/cookbook.md
CB=$E2E_TMP/cookbook
mkdir -p "$CB"
# The test's own daemon settings (listen, dns filter, audit): everything
# cfg_write writes before its policies.
cfg_write "$CB/base.yaml"
sed '/^policies:/,$d' "$CB/base.yaml" >"$CB/head.yaml"

# cookbook_cfg NAME: the config for the doc's policy NAME; rc 1 if absent.
cookbook_cfg() {
  "$E2E_PY" - "$DOC" "$1" >"$CB/$1.block" <<'PY' || return 1
import re, sys
text = open(sys.argv[1]).read()
m = re.search(r"<!-- fragment: policies %s -->\n```yaml\n(.*?)```" % re.escape(sys.argv[2]), text, re.S)
if not m:
    sys.exit(1)
print(m.group(1), end="")
PY
  { cat "$CB/head.yaml" "$CB/$1.block"
    printf 'sandboxes:\n  - id: sbx-1\n    policies: [%s]\n' "$1"; } >"$CB/$1.yaml"
}

# stack_begin NAME: case + egressd on the doc's policy
stack_begin() {
  case_begin "cookbook_$1"
  if ! cookbook_cfg "$1"; then ck_fail "no '<!-- fragment: policies $1 -->' block in docs/cookbook.md"; return 1; fi
  egressd_restart "$CB/$1.yaml" || { ck_fail "egressd did not start with the $1 policy"; return 1; }
}

# https_ok URL...: curl gets the fakenet's answer for each (names resolved by --resolve)
https_ok() {
  local u out rc
  for u in "$@"; do
    out=$(sbx_curl "$u" 2>&1); rc=$?
    expect_eq 0 "$rc" "curl $u ($out)"
    expect_contains "hello from" "$out" "$u answered by the fake server"
  done
}
# denied URL: refused by egressd (reset / no TLS)
denied() {
  local out rc
  out=$(sbx_curl "$1" 2>&1); rc=$?
  expect_rc_in "35 56 52" "$rc" "$1 denied ($out)"
}
# py_get URL [METHOD]: python urllib in the sandbox, DNS through the filter
py_get() {
  sbx "$E2E_PY" - "$E2E_CA" "$1" "${2:-GET}" <<'PY'
import ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[1])
req = urllib.request.Request(sys.argv[2], method=sys.argv[3],
                             data=b"{}" if sys.argv[3] == "POST" else None,
                             headers={"Content-Type": "application/json"})
with urllib.request.urlopen(req, context=ctx, timeout=8) as r:
    print(r.status, r.read().decode().strip())
PY
}

if stack_begin pip; then
  out=$(py_get https://pypi.org/simple/requests/ 2>&1)
  expect_eq "200 hello from pypi.org" "$out" "index page through the DNS filter"
  out=$(py_get https://files.pythonhosted.org/packages/ab/cd/requests-2.32.3-py3-none-any.whl 2>&1)
  expect_eq "200 hello from files.pythonhosted.org" "$out" "a wheel"
  denied https://upload.pypi.org/legacy/
  expect_event "e['action']=='allow' and h(e)=='files.pythonhosted.org'" "allow event"
fi
case_end

if stack_begin npm; then
  if command -v npm >/dev/null 2>&1; then
    # npm itself: the fake registry answers text, so npm's JSON parse
    # fails, after egressd let the request through
    out=$(cd "$CB" && sbx timeout 30 env NODE_EXTRA_CA_CERTS="$E2E_CA" npm_config_cache="$CB/npm-cache" \
      npm view left-pad version --registry https://registry.npmjs.org/ --fetch-retries 0 2>&1)
    expect_event "e['action']=='allow' and h(e)=='registry.npmjs.org'" "npm's request allowed" 8
    [[ $out == *ECONNRESET* || $out == *ECONNREFUSED* ]] && ck_fail "npm could not connect: $out"
  fi
  https_ok https://registry.npmjs.org/left-pad https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz
  denied https://github.com/
fi
case_end

if stack_begin github; then
  # git's smart HTTP request reaches the fake server (which is no git
  # server: git then fails on the answer, not on the connection)
  out=$(sbx timeout 20 env GIT_SSL_CAINFO="$E2E_CA" GIT_TERMINAL_PROMPT=0 \
    git ls-remote https://github.com/octocat/Hello-World 2>&1)
  expect_event "e['action']=='allow' and h(e)=='github.com'" "git's request allowed" 8
  [[ $out == *"Connection reset"* || $out == *"Couldn't connect"* || $out == *"SSL"* ]] &&
    ck_fail "git could not talk to github.com through egressd: $out"
  https_ok https://codeload.github.com/octocat/Hello-World/tar.gz/refs/heads/master \
    https://objects.githubusercontent.com/github-production-release-asset/1 \
    https://raw.githubusercontent.com/octocat/Hello-World/master/README
  denied https://gist.github.com/
fi
case_end

if stack_begin huggingface; then
  https_ok https://huggingface.co/api/models/gpt2 https://cdn-lfs.huggingface.co/repos/ab/cd/x \
    https://cas-bridge.xethub.hf.co/xet-bridge-us/x
  denied https://api.openai.com/v1/models
fi
case_end

if stack_begin openai; then
  out=$(py_get https://api.openai.com/v1/chat/completions POST 2>&1)
  expect_eq "200 hello from api.openai.com" "$out" "an SDK-style POST"
  denied https://api.anthropic.com/v1/messages
fi
case_end

if stack_begin anthropic; then
  out=$(py_get https://api.anthropic.com/v1/messages POST 2>&1)
  expect_eq "200 hello from api.anthropic.com" "$out" "an SDK-style POST"
  denied https://api.openai.com/v1/models
fi
case_end

if stack_begin apt; then
  # apt's default: plain HTTP on port 80, each request judged
  out=$(sbx_curl http://deb.debian.org/debian/dists/bookworm/InRelease 2>&1); rc=$?
  expect_eq 0 "$rc" "apt index over HTTP ($out)"
  expect_contains "hello from deb.debian.org" "$out" "answer"
  out=$(py_get http://security.debian.org/debian-security/dists/bookworm-security/InRelease 2>&1)
  expect_eq "200 hello from security.debian.org" "$out" "security over HTTP, DNS through the filter"
  https_ok https://deb.debian.org/debian/
  out=$(sbx_curl http://ftp.debian.org/debian/ 2>&1); rc=$?
  expect_rc_in "52 56" "$rc" "ftp.debian.org denied ($out)"
fi
case_end

egressd_restart "$E2E_CFG_DEFAULT" >/dev/null 2>&1 || true
