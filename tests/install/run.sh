#!/bin/bash
# What `cmake --install` ships, checked: every file in place, the man
# pages clean under `groff -man -ww -z`, the systemd unit clean under
# `systemd-analyze verify`, the binaries hardened (PIE, full RELRO,
# stack protector, FORTIFY_SOURCE).
#
#   tests/install/run.sh BUILD_DIR      (an optimised build: Release)
#
# The tree is installed under a temporary prefix (not DESTDIR): the unit
# then names programs that exist, which `systemd-analyze verify` checks.
set -uo pipefail
build=${1:?usage: tests/install/run.sh BUILD_DIR}
root=$(cd "$(dirname "$0")/../.." && pwd)
prefix=$(mktemp -d /tmp/egressd-install.XXXXXX)
trap 'rm -rf "$prefix"' EXIT
passed=0 failed=0
ok() { echo "ok $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1: $2"; failed=$((failed + 1)); }

cmake -S "$root" -B "$build" -DCMAKE_INSTALL_PREFIX="$prefix" \
    -DEGRESS_SYSTEMD_UNITDIR="$prefix/lib/systemd/system" \
    -DEGRESS_SYSUSERSDIR="$prefix/lib/sysusers.d" \
    -DEGRESS_LOGROTATEDIR="$prefix/etc/logrotate.d" >/dev/null &&
    cmake --install "$build" >/dev/null || { bad install "cmake --install failed"; echo "$passed passed, $failed failed"; exit 1; }

missing=
for f in bin/egressd bin/egressctl bin/egress-redirect etc/egressd/egressd.yaml \
    etc/logrotate.d/egressd lib/sysusers.d/egressd.conf \
    lib/systemd/system/egressd.service share/man/man8/egressd.8 \
    share/man/man8/egressctl.8 share/man/man8/egress-redirect.8 \
    share/man/man5/egressd.yaml.5; do
	[ -s "$prefix/$f" ] || missing="$missing $f"
done
if [ -z "$missing" ]; then ok files; else bad files "not installed:$missing"; fi

out=$(for m in "$prefix"/share/man/man*/*; do groff -man -ww -z "$m" 2>&1; done)
if [ -z "$out" ]; then ok man-groff; else bad man-groff "$out"; fi

# --help and the man pages in step: every option and command the programs
# print in their usage is in their page.
help_words() { # help_words PROGRAM: long options and egressctl commands
	"$@" --help 2>&1 | grep -oE -- '--[a-z][a-z-]+' | sort -u
	[ "$(basename "$1")" = egressctl ] &&
		"$@" --help 2>&1 | sed -n '/^commands:/,/^options:/p' |
		grep -oE '^  [a-z][a-z-]+' | sed 's/^  //' | sort -u
}
missing=
for prog in egressd egressctl egress-redirect; do
	page=$(ls "$prefix"/share/man/man8/"$prog".8)
	text=$(groff -man -Tascii -P-cbou "$page" 2>/dev/null)
	for w in $(help_words "$prefix/bin/$prog"); do
		grep -qF -- "$w" <<<"$text" || missing="$missing $prog:$w"
	done
done
if [ -z "$missing" ]; then ok man-help; else bad man-help "in --help, not in the page:$missing"; fi

unit=$prefix/lib/systemd/system/egressd.service
if grep -q "^ExecStart=$prefix/bin/egressd -c $prefix/etc/egressd/egressd.yaml\$" "$unit"; then
	ok unit-paths
else
	bad unit-paths "$(grep ^ExecStart= "$unit")"
fi
# MANPATH: verify also checks that the Documentation= pages exist.
out=$(MANPATH=$prefix/share/man: systemd-analyze verify "$unit" 2>&1)
rc=$?
if [ $rc = 0 ] && [ -z "$out" ]; then ok systemd-verify; else bad systemd-verify "rc $rc: $out"; fi

if command -v systemd-sysusers >/dev/null; then
	# --root: creates the user in a scratch /etc, never the machine's.
	mkdir -p "$prefix/sysroot/etc"
	out=$(systemd-sysusers --root="$prefix/sysroot" "$prefix/lib/sysusers.d/egressd.conf" 2>&1)
	if grep -q '^egressd:' "$prefix/sysroot/etc/passwd" 2>/dev/null; then
		ok sysusers
	else
		bad sysusers "no egressd user: $out"
	fi
fi

# logrotate's syntax. The snippet's `create` names the sysusers.d user;
# where this machine has no such user, the check reads a copy that names
# root instead (logrotate refuses unknown users).
lr=$prefix/etc/logrotate.d/egressd
if ! grep -q '^[[:space:]]*create 0640 egressd ' "$lr"; then
	bad logrotate-user "the new audit file must belong to egressd: $(grep create "$lr")"
elif command -v logrotate >/dev/null; then
	lrc=$lr
	if ! getent passwd egressd >/dev/null; then
		lrc=$prefix/logrotate.check
		sed 's/create 0640 egressd /create 0640 root /' "$lr" >"$lrc"
	fi
	if out=$(logrotate -d -s "$prefix/logrotate.state" "$lrc" 2>&1); then
		ok logrotate
	else
		bad logrotate "$(grep -i error <<<"$out")"
	fi
fi

# Hardening of the installed programs.
for b in egressd egressctl; do
	f=$prefix/bin/$b why=
	# whole outputs first: `nm | grep -q` fails under pipefail (SIGPIPE)
	syms=$(nm -D "$f") elf=$(readelf -hlWd "$f")
	grep -q 'Type:.*DYN' <<<"$elf" || why="$why not-PIE"
	grep -q GNU_RELRO <<<"$elf" || why="$why no-RELRO"
	grep -q 'FLAGS.*NOW' <<<"$elf" || why="$why no-BIND_NOW"
	grep GNU_STACK <<<"$elf" | grep -q RWE && why="$why exec-stack"
	grep -q __stack_chk_fail <<<"$syms" || why="$why no-stack-protector"
	grep -q '_chk@' <<<"$syms" || why="$why no-FORTIFY"
	if [ -z "$why" ]; then ok "hardening-$b"; else bad "hardening-$b" "$why"; fi
done

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
