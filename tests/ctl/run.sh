#!/usr/bin/env bash
# tests/ctl/run.sh BUILD_DIR - egressctl against a real egressd, and
# against a mock admin API for what a real one cannot produce.
#
# Starts BUILD_DIR/egressd without root on loopback: its admin API on a
# unix socket in a temporary directory and on 127.0.0.1:PORT (bearer
# token), its listener and DNS filter on free high ports, no SO_MARK, its
# state and audit log in the temporary directory.  Events come from real
# traffic: DNS queries to its filter (from 127.0.0.1, sandbox agent-1, and
# 127.0.0.2, sandbox ci-runner) and a direct connection to its listener
# (denied "loop").  tests/ctl/mock_admin.py serves only the cases a real
# egressd does not produce: HTTP events with a method and path and "end"
# events (those need an intercepted connection, i.e. NAT and root), odd
# framing (chunked, close-delimited), non-JSON and HTML error answers,
# and an answer that never comes.  A second egressd, with tls_intercept
# and a CA from egressd --gen-ca, serves the CA and keeps phantom tokens
# across a restart.
#
# Runs BUILD_DIR/egressctl for every command and exit code, prints
# "ok NAME" / "FAIL NAME: why", then "N passed, N failed".  Exits 0 iff
# nothing failed.  Every wait is bounded; runs in ~15 s.
# "cond && pass NAME || fail NAME why" is safe here: pass always succeeds.
# shellcheck disable=SC2015
set -u

if [ $# -ne 1 ]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
BUILD=$(cd "$1" 2>/dev/null && pwd)
CTL=$BUILD/egressctl
EGRESSD=$BUILD/egressd
HERE=$(cd "$(dirname "$0")" && pwd)
MOCK="$HERE/mock_admin.py"
HELPER="$HERE/helper.py"
for b in "$CTL" "$EGRESSD"; do
	if [ ! -x "$b" ]; then
		echo "$0: no $b (build the egressctl and egressd targets" \
		    "first)" >&2
		exit 2
	fi
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/egressctl-test.XXXXXX")
MOCK_PID=
D_PID=
D2_PID=
BG_PID=
cleanup() {
	[ -n "$BG_PID" ] && kill "$BG_PID" 2>/dev/null
	local p
	for p in $MOCK_PID $D_PID $D2_PID; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

SOCK="$TMP/admin.sock"		# the real egressd's
MSOCK="$TMP/mock.sock"		# the mock's
printf 'sekrit-token-0123456789\n\n' >"$TMP/token"
chmod 600 "$TMP/token"
echo "wrong-token-0123456789" >"$TMP/badtoken"

# The variables egressctl reads must come from the tests, not the caller.
unset EGRESSCTL_SOCKET EGRESSCTL_URL EGRESSCTL_TOKEN_FILE EGRESSCTL_TIMEOUT

# ---- the real egressd ------------------------------------------------
CFG="$TMP/egressd.yaml"
write_cfg() {
	cat >"$CFG" <<EOF
listen: ["127.0.0.1:$LPORT"]
workers: 1
upstream: { mark: 0, connect_timeout_ms: 1000 }
# Allowed names go to a port nobody answers: SERVFAIL, at once.
dns: { listen: ["127.0.0.1:$DPORT"], servers: ["127.0.0.1:1"] }
admin: { socket: "$SOCK", listen: "127.0.0.1:$APORT", token_file: "$TMP/token" }
audit: { file: "$TMP/audit.jsonl", memory_events: 100 }
state_dir: "$TMP/state"
limits: { peek_timeout_ms: 500, max_connections: 100 }
policies:
  agent:
    mode: block-all
    profiles: [package-managers]
    allow: { hosts: [pypi.org, "*.allowed.example"], ports: [443, "8000-8100"] }
  ci:
    allow: { hosts: ["*.github.com"], ports: [443] }
sandboxes:
  - id: agent-1
    sources: ["127.0.0.1/32"]
    policies: [agent]
    deny: { cidrs: ["169.254.169.254/32"] }
  - id: ci-runner
    sources: ["127.0.0.2/32", "127.0.0.3/32"]
    policies: [ci]
    intercept: false
EOF
}

# Free ports can be taken between the look and the bind: a few tries.
start_egressd() {
	local _
	for _ in 1 2 3; do
		LPORT=$(python3 "$HELPER" free-port)
		DPORT=$(python3 "$HELPER" free-port)
		APORT=$(python3 "$HELPER" free-port)
		write_cfg
		"$EGRESSD" -c "$CFG" >"$TMP/egressd.log" 2>&1 &
		D_PID=$!
		for _ in $(seq 100); do
			kill -0 "$D_PID" 2>/dev/null || break
			grep -qs ' started: ' "$TMP/egressd.log" && return 0
			sleep 0.05
		done
		kill "$D_PID" 2>/dev/null
		wait "$D_PID" 2>/dev/null
		D_PID=
	done
	return 1
}
if ! start_egressd; then
	echo "FAIL setup: egressd did not start within 5 s:" >&2
	cat "$TMP/egressd.log" >&2
	exit 1
fi
URL="http://127.0.0.1:$APORT"

# ---- the mock --------------------------------------------------------
python3 "$MOCK" serve --socket "$MSOCK" --token-file "$TMP/token" \
    --port-file "$TMP/port" --verbose 2>"$TMP/mock.log" &
MOCK_PID=$!
for _ in $(seq 100); do
	[ -f "$TMP/port" ] && break
	sleep 0.05
done
if [ ! -f "$TMP/port" ]; then
	echo "FAIL setup: mock did not start within 5 s:" >&2
	cat "$TMP/mock.log" >&2
	exit 1
fi
MURL="http://127.0.0.1:$(cat "$TMP/port")"

PASS=0
FAILS=0
pass() { echo "ok $1"; PASS=$((PASS + 1)); }
fail() { echo "FAIL $1: $2"; FAILS=$((FAILS + 1)); }
snip() { head -c 400 "$1" | tr '\n' '|'; }

# Runs the command with output in $TMP/out and $TMP/err; sets RC.
run() {
	"$@" >"$TMP/out" 2>"$TMP/err" </dev/null
	RC=$?
}

# tc NAME WANT_RC STDOUT_ERE STDERR_ERE CMD... ("" skips a check)
tc() {
	local name=$1 want=$2 o=$3 e=$4
	shift 4
	run "$@"
	if [ "$RC" != "$want" ]; then
		fail "$name" "exit $RC, want $want; stdout: $(snip "$TMP/out");" \
		    "stderr: $(snip "$TMP/err")"
		return 1
	fi
	if [ -n "$o" ] && ! grep -Eq -- "$o" "$TMP/out"; then
		fail "$name" "stdout lacks /$o/: $(snip "$TMP/out")"
		return 1
	fi
	if [ -n "$e" ] && ! grep -Eq -- "$e" "$TMP/err"; then
		fail "$name" "stderr lacks /$e/: $(snip "$TMP/err")"
		return 1
	fi
	pass "$name"
}

# tj NAME PY_EXPR CMD...: exit 0, stdout is JSON with 2-space indents,
# and PY_EXPR (over the parsed value j) is true.
tj() {
	local name=$1 expr=$2
	shift 2
	run "$@"
	if [ "$RC" != 0 ]; then
		fail "$name" "exit $RC; stderr: $(snip "$TMP/err")"
		return 1
	fi
	if ! python3 -c '
import json, sys
text = open(sys.argv[1]).read()
j = json.loads(text)
if not eval("(" + sys.argv[2] + ")"):
    sys.exit("condition false: " + sys.argv[2])
if isinstance(j, (dict, list)) and len(j) and "\n  \"" not in text \
        and "\n  {" not in text:
    sys.exit("not indented by 2 spaces")
' "$TMP/out" "$expr" 2>"$TMP/why"; then
		fail "$name" "$(snip "$TMP/why") stdout: $(snip "$TMP/out")"
		return 1
	fi
	pass "$name"
}

# Lines of stdout matching ERE; used after run/tc.
count() { grep -Ec -- "$1" "$TMP/out"; }

dns() { python3 "$HELPER" dns "$DPORT" "$@" >/dev/null; }

# wait_for FILE ERE SECONDS: until a line of FILE matches (bounded).
wait_for() {
	local n=$(($3 * 20))
	while [ "$n" -gt 0 ]; do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
		n=$((n - 1))
	done
	return 1
}

# wait_events N: until the real egressd holds N events (5 s at most).
wait_events() {
	local n
	for _ in $(seq 100); do
		n=$("${C[@]}" --json events 2>/dev/null | python3 -c \
		    'import json, sys; print(len(json.load(sys.stdin)))' \
		    2>/dev/null)
		[ "${n:-0}" -ge "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

C=("$CTL" -s "$SOCK")
M=("$CTL" -s "$MSOCK")

# ---- help, version, usage errors (exit 2) ----------------------------
tc version 0 '^egressctl [0-9]+\.[0-9]+' '' "$CTL" --version
tc help 0 '^commands:' '' "$CTL" help
tc help-flag 0 'exit codes: 0 ok, 1 refused' '' "$CTL" --help
tc help-allow 0 '^usage: egressctl \[options\] allow SANDBOX HOST\.\.\.' '' \
    "$CTL" help allow
tc allow--help 0 '^usage: egressctl \[options\] allow SANDBOX HOST\.\.\.' \
    '' "$CTL" allow --help
tc events--help 0 'events \[--sandbox S\]' '' "${C[@]}" events --help
tc help-unknown 2 '' 'unknown command "bogus"' "$CTL" help bogus
tc no-command 2 '' '^usage: egressctl' "$CTL"
tc unknown-command 2 '' 'egressctl: unknown command "frobnicate"' \
    "${C[@]}" frobnicate
tc unknown-option 2 '' 'unknown option "--frob"' "$CTL" --frob sandboxes
tc option-needs-value 2 '' 'needs a value' "$CTL" -s
tc socket-and-url 2 '' 'exclude each other' "$CTL" -s "$SOCK" -u "$URL" \
    sandboxes
tc bad-url-scheme 2 '' 'only http://' "$CTL" -u https://x:1 sandboxes
tc bad-url-port 2 '' 'bad port' "$CTL" -u http://127.0.0.1:99999 sandboxes
tc table-missing-arg 2 '' 'missing SANDBOX' "${C[@]}" table
tc table-too-many 2 '' 'too many arguments' "${C[@]}" table a b
tc allow-missing-host 2 '' 'usage: egressctl \[options\] allow' \
    "${C[@]}" allow agent-1
tc deny-missing-all 2 '' 'missing SANDBOX and HOST' "${C[@]}" deny
tc enable-missing 2 '' 'missing SANDBOX' "${C[@]}" enable
tc sandboxes-extra-arg 2 '' 'takes no arguments' "${C[@]}" sandboxes x
tc explain-missing-host 2 '' 'missing SANDBOX or HOST' "${C[@]}" explain a
tc explain-bad-port 2 '' 'bad PORT "http"' "${C[@]}" explain agent-1 x.org \
    http
tc explain-port-range 2 '' 'bad PORT "70000"' "${C[@]}" explain agent-1 \
    x.org 70000
tc events-bad-limit 2 '' '--limit "abc"' "${C[@]}" events --limit abc
tc events-zero-limit 2 '' '--limit "0"' "${C[@]}" events --limit 0
tc events-neg-limit 2 '' '--limit "-5"' "${C[@]}" events --limit=-5
tc events-limit-novalue 2 '' '--limit needs a value' "${C[@]}" events \
    --limit
tc events-bad-action 2 '' '--action "permit"' "${C[@]}" events --action \
    permit
tc events-unknown-arg 2 '' 'unknown argument "--since"' "${C[@]}" events \
    --since 1h
tc bad-timeout-env 2 '' 'EGRESSCTL_TIMEOUT' env EGRESSCTL_TIMEOUT=abc \
    "${C[@]}" sandboxes
tc missing-token-file 2 '' "token file $TMP/nope" "$CTL" -u "$URL" \
    -t "$TMP/nope" sandboxes
: >"$TMP/emptytoken"
tc empty-token-file 2 '' 'empty' "$CTL" -u "$URL" -t "$TMP/emptytoken" \
    sandboxes

# ---- sandboxes -------------------------------------------------------
if tc sandboxes 0 '^ID +SOURCES +POLICIES +INTERCEPT +SOURCE$' '' \
    "${C[@]}" sandboxes; then
	grep -Eq '^agent-1 +127\.0\.0\.1/32 +agent +on +config$' "$TMP/out" &&
	    grep -Eq '^ci-runner +127\.0\.0\.2/32,127\.0\.0\.3/32 +ci +off +config$' \
	    "$TMP/out" && pass sandboxes-rows ||
	    fail sandboxes-rows "$(snip "$TMP/out")"
	# Columns line up: the second column starts at the same offset.
	awk 'NR == 1 { p = index($0, "SOURCES") }
	    NR > 1 && substr($0, p - 2, 2) != "  " { bad = 1 }
	    NR > 1 && substr($0, p, 1) == " " { bad = 1 }
	    END { exit bad }' "$TMP/out" && pass sandboxes-aligned ||
	    fail sandboxes-aligned "$(snip "$TMP/out")"
fi
tj sandboxes-json 'j[0]["id"] == "agent-1" and j[0]["intercept"] is True' \
    "${C[@]}" --json sandboxes
tj sandboxes-json-after 'j[1]["id"] == "ci-runner"' "${C[@]}" sandboxes \
    --json
tc sandboxes-env-socket 0 '^agent-1 ' '' env EGRESSCTL_SOCKET="$SOCK" \
    "$CTL" sandboxes
tc socket-flag-beats-env 0 '^agent-1 ' '' env \
    EGRESSCTL_URL="http://127.0.0.1:1" "$CTL" --socket="$SOCK" sandboxes

# ---- table -----------------------------------------------------------
if tc table 0 '^sandbox agent-1: block-all, intercept on, policies: agent$' \
    '' "${C[@]}" table agent-1; then
	sed -n 2p "$TMP/out" | grep -Eq '^KIND +PATTERN +FROM$' &&
	    grep -Eq '^allow\.hosts +files\.pythonhosted\.org +profile package-managers$' \
	    "$TMP/out" &&
	    grep -Eq '^allow\.ports +8000-8100 +policy agent$' "$TMP/out" &&
	    grep -Eq '^deny\.cidrs +169\.254\.169\.254/32 +sandbox agent-1' \
	    "$TMP/out" && pass table-rows || fail table-rows "$(snip "$TMP/out")"
fi
tj table-json 'j["mode"] == "block-all" and "rules" in j and
    "8000-8100" in j["egress"]["allowed_ports"]' \
    "${C[@]}" table agent-1 --json
tc table-unknown 1 '' '^egressctl: no sandbox "nope"$' "${C[@]}" table nope
[ "$(wc -l <"$TMP/err")" = 1 ] && pass table-unknown-one-line ||
    fail table-unknown-one-line "$(snip "$TMP/err")"
# The id goes in the path percent-encoded, and comes back decoded.
tc table-escaped-id 1 '' '^egressctl: no sandbox "a b&c\?d=#"$' "${C[@]}" \
    table 'a b&c?d=#'
# A '/' too: egressd splits the path before it decodes each segment, so
# the id stays one segment and is looked up as it was typed.
tc table-escaped-slash 1 '' '^egressctl: no sandbox "a b/c"$' "${C[@]}" table 'a b/c'
tc table-empty-id 2 '' 'must not be empty' "${C[@]}" table ''

# ---- allow, deny, unallow --------------------------------------------
tc allow 0 '^agent-1: allowed example\.com, \*\.example\.org$' '' \
    "${C[@]}" allow agent-1 example.com '*.example.org'
tc allow-visible 0 '^allow\.hosts +\*\.example\.org +sandbox agent-1' '' \
    "${C[@]}" table agent-1
tc allow-decides 0 '^agent-1 a\.example\.org:443 -> allow$' '' \
    "${C[@]}" explain agent-1 a.example.org
tj allow-json '"new.example" in j["egress"]["allowed_domains"]' \
    "${C[@]}" --json allow agent-1 new.example
tc allow-url 1 '' '^egressctl: hosts: "https://x": hosts are hostnames, not URLs \(drop the scheme and path\)$' \
    "${C[@]}" allow agent-1 https://x
tc allow-unknown-sandbox 1 '' 'no sandbox "ghost"' "${C[@]}" allow ghost \
    a.example
tc deny 0 '^agent-1: denied evil\.example$' '' "${C[@]}" deny agent-1 \
    evil.example
tc deny-visible 0 '^deny\.hosts +evil\.example ' '' "${C[@]}" table agent-1
tj deny-json '"x.example" in j["egress"]["denied_domains"]' \
    "${C[@]}" deny agent-1 x.example --json
# (Whether unallow also takes a host off the deny list: docs/egressctl.md
# says "its own lists", docs/admin.md and egressd the allow list only.)
tc unallow 0 '^agent-1: unallowed example\.com, new\.example$' '' \
    "${C[@]}" unallow agent-1 example.com new.example
run "${C[@]}" table agent-1
if grep -Eq '^allow\.hosts +(example\.com|new\.example) ' "$TMP/out"; then
	fail unallow-visible "$(snip "$TMP/out")"
else
	pass unallow-visible
fi
tj unallow-json '"*.example.org" not in j["egress"]["allowed_domains"]' \
    "${C[@]}" --json unallow agent-1 '*.example.org'
tc api-change-source 0 '^agent-1 +127\.0\.0\.1/32 +agent +on +api$' '' \
    "${C[@]}" sandboxes

# ---- enable, disable -------------------------------------------------
tc disable 0 '^agent-1: intercept off$' '' "${C[@]}" disable agent-1
tc disable-visible 0 '^sandbox agent-1: block-all, intercept off' '' \
    "${C[@]}" table agent-1
tc disable-decides 0 '^agent-1 x\.example:443 -> allow$' '' \
    "${C[@]}" explain agent-1 x.example
grep -Eq '^  reason: intercept-off$' "$TMP/out" &&
    grep -Eq '^  policy: -$' "$TMP/out" && pass explain-null-dash ||
    fail explain-null-dash "$(snip "$TMP/out")"
tj enable-json 'j["intercept"] is True' "${C[@]}" --json enable agent-1
tc enable 0 '^agent-1: intercept on$' '' "${C[@]}" enable agent-1
tc enable-unknown 1 '' 'no sandbox "nope"' "${C[@]}" enable nope

# ---- explain ---------------------------------------------------------
if tc explain 0 '^agent-1 pypi\.org:443 -> allow$' '' "${C[@]}" explain \
    agent-1 pypi.org; then
	grep -Eq '^  reason: rule$' "$TMP/out" &&
	    grep -Eq '^  policy: agent$' "$TMP/out" &&
	    grep -Eq '^  rule: +allow\.hosts pypi\.org$' "$TMP/out" &&
	    pass explain-lines || fail explain-lines "$(snip "$TMP/out")"
fi
tc explain-deny-port 0 '^agent-1 pypi\.org:22 -> deny$' '' "${C[@]}" \
    explain agent-1 pypi.org 22
grep -Eq '^  reason: port-not-allowed$' "$TMP/out" &&
    pass explain-deny-port-reason ||
    fail explain-deny-port-reason "$(snip "$TMP/out")"
tj explain-json 'j["action"] == "deny" and j["reason"] == "no-matching-allow"
    and j["port"] == 8080 and j["rule"] is None' \
    "${C[@]}" explain agent-1 nope.example 8080 --json
tc explain-unknown 1 '' 'no sandbox "nope"' "${C[@]}" explain nope pypi.org
tc explain-bad-host 1 '' 'host "x/y": ' "${C[@]}" explain agent-1 x/y
tc explain-bad-url 1 '' 'url "ftp://x/y": a URL must start with http' \
    "${C[@]}" explain agent-1 ftp://x/y
# A URL is judged as the data path would: its scheme, port, method, path.
if tc explain-url 0 '^agent-1 pypi\.org:8080 -> allow$' '' "${C[@]}" \
    explain agent-1 'http://pypi.org:8080/simple/x?q=1' --method HEAD; then
	grep -Eq '^  proto: +http$' "$TMP/out" &&
	    grep -Eq '^  method: +HEAD$' "$TMP/out" &&
	    grep -Eq '^  path: +/simple/x$' "$TMP/out" &&
	    pass explain-url-lines || fail explain-url-lines "$(snip "$TMP/out")"
fi
tc explain-url-port 0 '^agent-1 pypi\.org:80 -> deny$' '' "${C[@]}" \
    explain agent-1 http://pypi.org/
grep -Eq '^  reason: port-not-allowed$' "$TMP/out" &&
    pass explain-url-port-reason || fail explain-url-port-reason \
    "$(snip "$TMP/out")"
tj explain-dst-private 'j["reason"] == "private-destination" and
    j["dst"] == "10.1.2.3" and j["proto"] == "tls" and j["method"] is None' \
    "${C[@]}" --json explain agent-1 pypi.org --dst 10.1.2.3
tj explain-dst-denied 'j["reason"] == "denied-by-rule" and
    j["rule"] == "deny.cidrs 169.254.169.254/32"' \
    "${C[@]}" --json explain agent-1 pypi.org --dst=169.254.169.254
tj explain-dst-public 'j["action"] == "allow" and j["dst"] == "203.0.113.7"
    and "resolve to this destination" in j["note"]' \
    "${C[@]}" --json explain agent-1 pypi.org --dst 203.0.113.7
tc explain-method-tls 1 '' 'a method only applies to plain HTTP' \
    "${C[@]}" explain agent-1 pypi.org --method POST
tc explain-bad-dst 1 '' 'the destination must be an IP address' \
    "${C[@]}" explain agent-1 pypi.org --dst pypi.org
tc explain-dst-novalue 2 '' '--dst needs a value' "${C[@]}" explain \
    agent-1 pypi.org --dst
tc explain-unknown-opt 2 '' 'unknown argument "--via"' "${C[@]}" explain \
    agent-1 pypi.org --via x
# '&' and ' ' must reach the server inside the host value, not split it.
tc explain-escaped 1 '' '^egressctl: host "a b&port=1": ' \
    "${C[@]}" explain agent-1 'a b&port=1'

# ---- events ----------------------------------------------------------
# Real events, oldest first: two DNS answers for agent-1 (allowed,
# denied: the deny rule added above), one for ci-runner (intercept off), a direct connection to the
# listener (denied "loop": no host, no method), one more DNS denial.
dns pypi.org
dns evil.example
dns api.github.com 127.0.0.2
python3 "$HELPER" connect "$LPORT"
wait_events 4
dns tracker.example
wait_events 5 || fail events-setup "egressd did not log 5 events"
HDR='^TS +SANDBOX +ACTION +REASON +PROTO +HOST +METHOD PATH +SRC -> DST$'
ROW='^20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]T'
if tc events 0 "$HDR" '' "${C[@]}" events; then
	# Oldest first; null shows as "-".
	sed -n 2p "$TMP/out" | grep -q ' pypi\.org ' &&
	    grep -Eq ' deny +denied-by-rule +dns +evil\.example +- +127\.0\.0\.1:[0-9]+ -> -$' \
	    "$TMP/out" &&
	    grep -Eq "^[^ ]+ +agent-1 +deny +loop +other +- +- +127\.0\.0\.1:[0-9]+ -> 127\.0\.0\.1:$LPORT\$" \
	    "$TMP/out" &&
	    [ "$(count "$ROW")" = 5 ] && pass events-rows ||
	    fail events-rows "$(snip "$TMP/out")"
fi
tc events-limit 0 "$HDR" '' "${C[@]}" events --limit 2
[ "$(count "$ROW")" = 2 ] && sed -n 3p "$TMP/out" | grep -q tracker &&
    pass events-limit-newest || fail events-limit-newest "$(snip "$TMP/out")"
tc events-action 0 "$HDR" '' "${C[@]}" events --action deny
[ "$(count "$ROW")" = 3 ] && [ "$(count ' allow ')" = 0 ] &&
    pass events-action-filter || fail events-action-filter "$(snip "$TMP/out")"
tc events-sandbox 0 "$HDR" '' "${C[@]}" events --sandbox=ci-runner
[ "$(count "$ROW")" = 1 ] &&
    grep -Eq ' ci-runner +allow +intercept-off +dns +api\.github\.com ' \
    "$TMP/out" && pass events-sandbox-filter || fail events-sandbox-filter \
    "$(snip "$TMP/out")"
tc events-sandbox-unknown 1 '' 'no sandbox "nope"' "${C[@]}" events \
    --sandbox nope
tj events-json 'len(j) == 2 and j[0]["ts"] >= j[1]["ts"] and
    j[0]["host"] == "tracker.example" and j[0]["action"] == "deny" and
    j[1]["reason"] == "loop" and j[1]["host"] is None' \
    "${C[@]}" --json events --limit 2 --action deny
tj events-json-sandbox 'all(e["sandbox"] == "agent-1" for e in j) and
    len(j) == 4' "${C[@]}" events --sandbox agent-1 --json

# What only an intercepted connection logs (the mock's canned events): an
# HTTP request's method and path share a column, an "end" has no reason.
if tc events-mock 0 "$HDR" '' "${M[@]}" events; then
	grep -Eq ' deny +no-matching-allow +http +evil\.example +GET /x +198\.18\.0\.2:40002 -> 93\.184\.216\.34:80$' \
	    "$TMP/out" &&
	    grep -Eq ' end +- +tls +pypi\.org +- +198' "$TMP/out" &&
	    pass events-method-path-end || fail events-method-path-end \
	    "$(snip "$TMP/out")"
fi

# --follow: the backlog, then events egressd logs between polls, each
# once, oldest first; SIGINT ends it with exit 0.  The test sends SIGINT
# (through timeout, which relays it) as soon as it has seen enough;
# timeout's own SIGINT is the backstop.
# A sanitizer build's LeakSanitizer sometimes spins at exit after SIGINT
# (its tracer attaches and the process never resumes): the two follows
# run without the exit-time leak scan; every other command keeps it.
export ASAN_OPTIONS_FOLLOW="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
ASAN_OPTIONS=$ASAN_OPTIONS_FOLLOW timeout --preserve-status -k 5 -s INT 8 "${C[@]}" events --follow \
    >"$TMP/follow.out" 2>"$TMP/follow.err" &
BG_PID=$!
wait_for "$TMP/follow.out" 'tracker\.example' 3
dns first-new.example
wait_for "$TMP/follow.out" 'first-new\.example' 3
dns second.allowed.example
dns third-new.example
wait_for "$TMP/follow.out" 'third-new\.example' 3
# One more poll, to catch any repeat.
sleep 1.1
kill -INT "$BG_PID" 2>/dev/null
wait "$BG_PID"
RC=$?
BG_PID=
cp "$TMP/follow.out" "$TMP/out"
if [ "$RC" != 0 ]; then
	fail events-follow "exit $RC; stderr: $(snip "$TMP/follow.err")"
elif [ "$(count "$HDR")" != 1 ] ||
    [ "$(count 'first-new\.example')" != 1 ] ||
    [ "$(count 'second\.allowed\.example')" != 1 ] ||
    [ "$(count 'third-new\.example')" != 1 ] ||
    [ "$(count 'tracker\.example')" != 1 ] ||
    [ "$(count 'evil\.example')" != 1 ]; then
	fail events-follow "want each host once: $(snip "$TMP/out")"
elif ! awk '/first-new/ { f = NR } /second\.allowed/ { s = NR }
    /third-new/ { t = NR } END { exit !(f < s && s < t) }' "$TMP/out"; then
	fail events-follow "not oldest first: $(snip "$TMP/out")"
else
	pass events-follow
fi

# --json --follow: JSON Lines, filtered; ended by timeout's SIGINT once
# the new events are in (or by its own deadline).
ASAN_OPTIONS=$ASAN_OPTIONS_FOLLOW timeout --preserve-status -k 5 -s INT 6 "${C[@]}" --json events --follow \
    --action allow --limit 1 >"$TMP/follow.out" 2>"$TMP/follow.err" &
BG_PID=$!
wait_for "$TMP/follow.out" 'second\.allowed' 3
dns json.allowed.example
dns denied-new.example
dns last.allowed.example
wait_for "$TMP/follow.out" 'last\.allowed' 3
kill -INT "$BG_PID" 2>/dev/null
wait "$BG_PID"
RC=$?
BG_PID=
if [ "$RC" != 0 ]; then
	fail events-follow-json "exit $RC; stderr: $(snip "$TMP/follow.err")"
elif ! python3 -c '
import json, sys
lines = open(sys.argv[1]).read().splitlines()
evs = [json.loads(l) for l in lines]
assert [e["host"] for e in evs] == ["second.allowed.example",
                                    "json.allowed.example",
                                    "last.allowed.example"], evs
assert all(e["action"] == "allow" for e in evs)
' "$TMP/follow.out" 2>"$TMP/why"; then
	fail events-follow-json "$(snip "$TMP/why") $(snip "$TMP/follow.out")"
else
	pass events-follow-json
fi

# ---- undeny ----------------------------------------------------------
# unallow takes a host off the allow list only, undeny off the deny list.
tc deny-again 0 '^agent-1: denied both\.example$' '' "${C[@]}" deny agent-1 \
    both.example
tc unallow-leaves-deny 0 '^agent-1: unallowed both\.example$' '' "${C[@]}" \
    unallow agent-1 both.example
tc unallow-leaves-deny-visible 0 '^deny\.hosts +both\.example ' '' "${C[@]}" \
    table agent-1
tc undeny 0 '^agent-1: undenied evil\.example, both\.example$' '' \
    "${C[@]}" undeny agent-1 evil.example both.example
run "${C[@]}" table agent-1
if grep -Eq '^deny\.hosts +(evil|both)\.example ' "$TMP/out"; then
	fail undeny-visible "$(snip "$TMP/out")"
else
	pass undeny-visible
fi
tc undeny-decides 0 '^agent-1 evil\.example:443 -> deny$' '' "${C[@]}" \
    explain agent-1 evil.example
grep -Eq '^  reason: no-matching-allow$' "$TMP/out" &&
    pass undeny-decides-reason || fail undeny-decides-reason \
    "$(snip "$TMP/out")"
tj undeny-json '"x.example" not in j["egress"]["denied_domains"]' \
    "${C[@]}" --json undeny agent-1 x.example
tc undeny-help 0 '^usage: egressctl \[options\] undeny SANDBOX HOST\.\.\.' \
    '' "$CTL" help undeny
tc undeny-missing-host 2 '' 'missing HOST' "${C[@]}" undeny agent-1
tc undeny-unknown-sandbox 1 '' 'no sandbox "ghost"' "${C[@]}" undeny ghost \
    a.example
tc undeny-mock 0 '^agent-1: undenied ' '' "${M[@]}" undeny agent-1 x.example

# ---- reload ----------------------------------------------------------
# Every API change makes a generation, so the number is read, not known.
if tc reload 0 '^reloaded, generation [0-9]+$' '' "${C[@]}" reload; then
	GEN=$(sed -n 's/^reloaded, generation //p' "$TMP/out")
	tj reload-json "j['reloaded'] is True and j['generation'] == $GEN + 1" \
	    "${C[@]}" --json reload
fi
cp "$CFG" "$TMP/good.yaml"
printf 'lisen: ["127.0.0.1:1"]\n' >>"$CFG"
tc reload-rejected 1 '' '^egressctl: unknown key "lisen"' "${C[@]}" reload
grep -Eq "^$CFG:$(($(wc -l <"$TMP/good.yaml") + 1)):1: unknown key \"lisen\"" \
    "$TMP/err" &&
    pass reload-rejected-errors || fail reload-rejected-errors \
    "$(snip "$TMP/err")"
cp "$TMP/good.yaml" "$CFG"
tc reload-again 0 '^reloaded, generation [0-9]+$' '' "${C[@]}" reload

# ---- stats, health ---------------------------------------------------
if tc stats 0 '^connections\.deny +1$' '' "${C[@]}" stats; then
	grep -Eq '^uptime_s +[0-9]+$' "$TMP/out" &&
	    grep -Eq '^audit_events\.dropped +0$' "$TMP/out" &&
	    grep -Eq '^reloads\.ok +3$' "$TMP/out" &&
	    grep -Eq '^reloads\.failed +1$' "$TMP/out" &&
	    pass stats-flattened || fail stats-flattened "$(snip "$TMP/out")"
fi
tj stats-json 'j["connections"]["deny"] == 1 and
    j["dns_queries"]["deny"] == 5 and j["dns_queries"]["allow"] == 5' \
    "${C[@]}" stats --json
tc health 0 '^ok$' '' "${C[@]}" health
# The mock's /healthz has no Content-Length: the body ends at close.
tc health-close-delimited 0 '^ok$' '' "${M[@]}" health

# ---- reload with start-only keys changed -----------------------------
# The policy is applied; the keys that wait for a restart are named.
sed 's|servers: \["127.0.0.1:1"\]|servers: ["127.0.0.1:2"]|' \
    "$TMP/good.yaml" >"$CFG"
tc reload-start-only 0 '^reloaded, generation [0-9]+$' \
    '^egressctl: warning: dns\.servers changed; it applies after a restart$' \
    "${C[@]}" reload
wait_for "$TMP/egressd.log" 'reload: dns\.servers changed; it applies after a restart' 2 &&
    pass reload-start-only-logged ||
    fail reload-start-only-logged "$(tail -3 "$TMP/egressd.log")"
# Compared with what runs (the start), not with the last reload.
tj reload-start-only-json '[w["key"] for w in j["warnings"]] == ["dns.servers"]' \
    "${C[@]}" --json reload
cp "$TMP/good.yaml" "$CFG"
tj reload-no-warnings 'j["warnings"] == []' "${C[@]}" --json reload

# ---- TCP and tokens --------------------------------------------------
tc tcp-token 0 '^agent-1 ' '' "$CTL" -u "$URL" -t "$TMP/token" sandboxes
tc tcp-token-env 0 '^agent-1 ' '' env EGRESSCTL_URL="$URL" \
    EGRESSCTL_TOKEN_FILE="$TMP/token" "$CTL" sandboxes
tc tcp-url-beats-socket-env 0 '^connections\.deny ' '' env EGRESSCTL_URL="$URL/" \
    EGRESSCTL_SOCKET="$TMP/nope.sock" EGRESSCTL_TOKEN_FILE="$TMP/token" \
    "$CTL" stats
tc tcp-wrong-token 1 '' '^egressctl: missing or invalid token$' "$CTL" \
    -u "$URL" -t "$TMP/badtoken" sandboxes
tc tcp-no-token 1 '' 'missing or invalid token' "$CTL" -u "$URL" sandboxes
tc tcp-mutation 0 '^agent-1: allowed tcp\.example$' '' "$CTL" -u "$URL" \
    -t "$TMP/token" allow agent-1 tcp.example
tc tcp-events 0 'last\.allowed\.example' '' "$CTL" -u "$URL" \
    -t "$TMP/token" events --limit 3
# The mock answers events chunked (with an extension and a trailer).
tc tcp-events-chunked 0 'tracker\.example' '' "$CTL" -u "$MURL" \
    -t "$TMP/token" events --limit 3

# ---- admin.listen serves every address; --check reads token_file ----
A1=$(python3 "$HELPER" free-port)
A2=$(python3 "$HELPER" free-port)
L2=$(python3 "$HELPER" free-port)
cat >"$TMP/two.yaml" <<EOF
listen: ["127.0.0.1:$L2"]
workers: 1
upstream: { mark: 0 }
admin: { listen: ["127.0.0.1:$A1", "127.0.0.1:$A2"], token_file: "$TMP/token" }
state_dir: "$TMP/state2"
sandboxes: [{ id: s, allow: { hosts: [a.example] } }]
EOF
"$EGRESSD" -c "$TMP/two.yaml" >"$TMP/two.log" 2>&1 &
D2_PID=$!
wait_for "$TMP/two.log" ' started: ' 5
tc admin-listen-first 0 '^ok$' '' "$CTL" -u "http://127.0.0.1:$A1" \
    -t "$TMP/token" health
tc admin-listen-second 0 '^ok$' '' "$CTL" -u "http://127.0.0.1:$A2" \
    -t "$TMP/token" health
kill "$D2_PID" 2>/dev/null
wait "$D2_PID" 2>/dev/null
D2_PID=
printf 'short\n' >"$TMP/shorttoken"
sed "s|$TMP/token|$TMP/shorttoken|" "$TMP/two.yaml" >"$TMP/short.yaml"
tc check-short-token 1 '' 'admin\.token_file .*: the token must be at least 16 characters' \
    "$EGRESSD" -c "$TMP/short.yaml" --check
sed "s|$TMP/token|$TMP/missing-token|" "$TMP/two.yaml" >"$TMP/missing.yaml"
tc check-missing-token 1 '' 'admin\.token_file .*missing-token: No such file' \
    "$EGRESSD" -c "$TMP/missing.yaml" --check
tc check-good-token 0 'configuration OK' '' "$EGRESSD" -c "$TMP/two.yaml" \
    --check

# ---- ca, phantom (HTTPS interception) --------------------------------
# The first egressd has no tls_intercept: no CA, but phantom tokens all
# the same (a token is the sandbox's, whatever its credentials).
tc ca-not-configured 1 '' '^egressctl: no CA: tls_intercept is not configured$' \
    "${C[@]}" ca
tc ca-args 2 '' 'ca takes no arguments' "${C[@]}" ca x
HEX='^[0-9a-f]{64}$'
if tc phantom 0 "$HEX" '' "${C[@]}" phantom agent-1; then
	T1=$(cat "$TMP/out")
	tc phantom-same 0 "^$T1\$" '' "${C[@]}" phantom agent-1
	tc phantom-rotate 0 "$HEX" '' "${C[@]}" phantom agent-1 --rotate
	T2=$(cat "$TMP/out")
	[ "$T1" != "$T2" ] && pass phantom-rotate-new ||
	    fail phantom-rotate-new "the same token after --rotate"
	tc phantom-after-rotate 0 "^$T2\$" '' "${C[@]}" phantom agent-1
	tj phantom-json "j == {'token': '$T2'}" "${C[@]}" --json phantom agent-1
	tc phantom-tcp 0 "^$T2\$" '' "$CTL" -u "$URL" -t "$TMP/token" \
	    phantom agent-1
	# In state_dir (0600), never in the log or the audit.
	[ "$(stat -c %a "$TMP/state/phantoms.json")" = 600 ] &&
	    grep -q "\"agent-1\": \"$T2\"" "$TMP/state/phantoms.json" &&
	    ! grep -q "$T1" "$TMP/state/phantoms.json" &&
	    pass phantom-file || fail phantom-file \
	    "$(ls -l "$TMP/state") $(snip "$TMP/state/phantoms.json")"
	grep -q 'sandbox agent-1: phantom token rotated' "$TMP/egressd.log" &&
	    ! grep -qs -e "$T1" -e "$T2" "$TMP/egressd.log" \
	    "$TMP/audit.jsonl" && pass phantom-not-logged ||
	    fail phantom-not-logged "$(tail -3 "$TMP/egressd.log")"
fi
tc phantom-unknown 1 '' '^egressctl: no sandbox "ghost"$' "${C[@]}" phantom \
    ghost
tc phantom-unknown-rotate 1 '' '^egressctl: no sandbox "ghost"$' "${C[@]}" \
    phantom ghost --rotate
tc phantom-missing 2 '' 'missing SANDBOX' "${C[@]}" phantom
tc phantom-too-many 2 '' 'too many arguments' "${C[@]}" phantom a b
tc phantom-bad-option 2 '' 'unknown argument "--rotat"' "${C[@]}" phantom \
    agent-1 --rotat
tc phantom-help 0 '^usage: egressctl \[options\] phantom SANDBOX \[--rotate\]' \
    '' "$CTL" help phantom
# What a real egressd never answers.
tc ca-not-pem 4 '' 'not a PEM certificate' "${M[@]}" ca
tc phantom-bad-token 4 '' 'no token of 64 hex digits' "${M[@]}" phantom \
    agent-1

# ---- egressd --gen-ca; an intercepting egressd; a restart ------------
tc gen-ca 0 "^$TMP/ca/ca\.crt\$" '' "$EGRESSD" --gen-ca "$TMP/ca"
grep -q "^add to the config: tls_intercept: { ca_cert: $TMP/ca/ca\.crt, ca_key: $TMP/ca/ca\.key" \
    "$TMP/out" && [ "$(stat -c %a "$TMP/ca/ca.key")" = 600 ] &&
    pass gen-ca-hint-mode || fail gen-ca-hint-mode "$(snip "$TMP/out")" \
    "$(ls -l "$TMP/ca")"
tc gen-ca-exists 1 '' '^egressd: --gen-ca: ' "$EGRESSD" --gen-ca "$TMP/ca"
tc gen-ca-alone 2 '' 'goes alone' "$EGRESSD" --gen-ca "$TMP/ca2" -c "$CFG"
L3=$(python3 "$HELPER" free-port)
cat >"$TMP/ti.yaml" <<EOF
listen: ["127.0.0.1:$L3"]
workers: 1
upstream: { mark: 0 }
admin: { socket: "$TMP/ti.sock" }
state_dir: "$TMP/state3"
audit: { file: "$TMP/ti-audit.jsonl" }
tls_intercept: { ca_cert: "$TMP/ca/ca.crt", ca_key: "$TMP/ca/ca.key", upstream_ca: system }
sandboxes: [{ id: s, sources: ["127.0.0.1/32"], allow: { hosts: [a.example] } }]
EOF
start_ti() {
	"$EGRESSD" -c "$TMP/ti.yaml" >"$TMP/ti.log" 2>&1 &
	D2_PID=$!
	wait_for "$TMP/ti.log" ' started: ' 5
}
stop_ti() {
	kill "$D2_PID" 2>/dev/null
	wait "$D2_PID" 2>/dev/null
	D2_PID=
}
T=("$CTL" -s "$TMP/ti.sock")
api_ti() { python3 "$MOCK" client --socket "$TMP/ti.sock" "$@" >/dev/null; }
start_ti || fail ti-start "$(tail -3 "$TMP/ti.log")"
if tc ca 0 '^-----BEGIN CERTIFICATE-----$' '' "${T[@]}" ca; then
	cmp -s "$TMP/out" "$TMP/ca/ca.crt" && pass ca-is-the-file ||
	    fail ca-is-the-file "$(snip "$TMP/out")"
fi
tj ca-json "j['pem'] == open('$TMP/ca/ca.crt').read()" "${T[@]}" --json ca
tc ti-phantom 0 "$HEX" '' "${T[@]}" phantom s
TS=$(cat "$TMP/out")
# A sandbox deleted through the API loses its token.
api_ti PUT /api/v1/sandboxes/api-sb/network \
    '{"mode": "block-all", "sources": ["127.0.0.2/32"]}'
tc ti-phantom-api 0 "$HEX" '' "${T[@]}" phantom api-sb
TA=$(cat "$TMP/out")
tc ti-sandbox-delete 0 '^api-sb: deleted$' '' "${T[@]}" sandbox delete api-sb
tc ti-phantom-deleted 1 '' 'no sandbox "api-sb"' "${T[@]}" phantom api-sb
grep -q api-sb "$TMP/state3/phantoms.json" &&
    fail ti-phantom-dropped "$(snip "$TMP/state3/phantoms.json")" ||
    pass ti-phantom-dropped
api_ti PUT /api/v1/sandboxes/api-sb/network \
    '{"mode": "block-all", "sources": ["127.0.0.2/32"]}'
tc ti-phantom-new 0 "$HEX" '' "${T[@]}" phantom api-sb
[ "$(cat "$TMP/out")" != "$TA" ] && pass ti-phantom-new-differs ||
    fail ti-phantom-new-differs "the deleted sandbox's token came back"
TA=$(cat "$TMP/out")
# Both tokens survive a restart.
stop_ti
start_ti || fail ti-restart "$(tail -3 "$TMP/ti.log")"
tc ti-phantom-restart 0 "^$TS\$" '' "${T[@]}" phantom s
tc ti-phantom-restart-api 0 "^$TA\$" '' "${T[@]}" phantom api-sb
stop_ti
# A token file it cannot read stops the start (no sandbox silently loses
# its credentials); moved away, egressd starts with none.
echo '{"phantoms": [' >"$TMP/state3/phantoms.json"
tc ti-phantom-file-bad 1 '' 'phantoms\.json: not a phantom token file' \
    timeout 10 "$EGRESSD" -c "$TMP/ti.yaml"
mv "$TMP/state3/phantoms.json" "$TMP/state3/phantoms.json.bad"
start_ti || fail ti-restart-empty "$(tail -3 "$TMP/ti.log")"
tc ti-phantom-fresh 0 "$HEX" '' "${T[@]}" phantom s
[ "$(cat "$TMP/out")" != "$TS" ] && pass ti-phantom-fresh-differs ||
    fail ti-phantom-fresh-differs "the old token is back"
stop_ti

# ---- unreachable (exit 3) --------------------------------------------
tc no-socket 3 '' "^egressctl: cannot connect to $TMP/nope\.sock: No such file or directory$" \
    "$CTL" -s "$TMP/nope.sock" sandboxes
: >"$TMP/notasock"
tc not-a-socket 3 '' "cannot connect to $TMP/notasock: Connection refused" \
    "$CTL" -s "$TMP/notasock" sandboxes
FREE=$(python3 "$HELPER" free-port)
tc tcp-refused 3 '' "^egressctl: cannot connect to http://127\.0\.0\.1:$FREE: Connection refused$" \
    "$CTL" -u "http://127.0.0.1:$FREE" -t "$TMP/token" sandboxes
# The mock's sandbox "slow" answers after 3 s.
tc timeout 3 '' "waiting for $MSOCK: timed out" env EGRESSCTL_TIMEOUT=1 \
    "${M[@]}" table slow
if [ -e /run/egressd/admin.sock ]; then
	pass "default-socket # skipped: a real egressd is running"
else
	tc default-socket 3 '' 'cannot connect to /run/egressd/admin\.sock' \
	    "$CTL" sandboxes
fi

# ---- bad responses (the mock) ----------------------------------------
tc not-json 4 '' 'bad response from .*not JSON' "${M[@]}" table not-json
tc not-json-json-mode 4 '' 'not JSON' "${M[@]}" --json table not-json
tc html-error 1 '' 'answered HTTP 502' "${M[@]}" table html-error

echo "$PASS passed, $FAILS failed"
[ "$FAILS" = 0 ]
