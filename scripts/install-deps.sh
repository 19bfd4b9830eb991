#!/bin/sh
# Installs what egressd needs to build, run and test on Debian 12 (root).
set -eu
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: run as root (apt-get)" >&2
	exit 1
fi
pkgs="build-essential cmake pkg-config clang libclang-rt-14-dev
 libevent-dev libssl-dev libc-ares-dev libyaml-dev libpcre2-dev
 libjansson-dev libpsl-dev publicsuffix libidn2-dev check valgrind
 iproute2 iptables curl openssl python3 procps dnsmasq-base bind9-dnsutils
 python3-prometheus-client nodejs
 groff-base systemd logrotate podman runc catatonit debootstrap"
# Skip apt entirely when everything is there: quicker, and works offline.
missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
	    missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "install-deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
echo "install-deps: all dependencies present"
