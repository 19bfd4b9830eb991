#!/bin/bash
# Makes the `debian:12-slim` base image locally when no registry is
# reachable (CI): debootstrap --variant=minbase bookworm, imported into
# podman. The root file system tarball is cached (EGRESSD_CI_CACHE,
# default /var/cache/egressd-ci) and reused when present; the import is
# skipped when podman already has the image.
#
#   tests/image/base.sh [IMAGE]      (default debian:12-slim)
set -euo pipefail
image=${1:-debian:12-slim}
cache=${EGRESSD_CI_CACHE:-/var/cache/egressd-ci}
tarball=$cache/debian-12-minbase.tar
podman=(podman ${PODMAN_RUNTIME:+--runtime "$PODMAN_RUNTIME"})

if "${podman[@]}" image exists "$image" &&
    "${podman[@]}" image inspect -f '{{.Config.Env}}' "$image" | grep -q PATH=; then
	echo "base: $image already present"
	exit 0
fi
mkdir -p "$cache"
if [ ! -s "$tarball" ]; then
	command -v debootstrap >/dev/null || { echo "base: debootstrap is missing" >&2; exit 1; }
	# The mirror apt already uses (sources.list or deb822 .sources).
	mirror=$(sed -n 's/^deb \(\[[^]]*\] \)\{0,1\}\(http[^ ]*\) bookworm .*/\2/p' \
	    /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -1 || true)
	if [ -z "$mirror" ]; then
		mirror=$(awk '/^URIs:/ {print $2}' /etc/apt/sources.list.d/*.sources 2>/dev/null |
		    grep -E '/debian/?$' | head -1 || true)
	fi
	mirror=${mirror:-http://deb.debian.org/debian}
	dir=$(mktemp -d /tmp/egressd-base.XXXXXX)
	trap 'rm -rf "$dir"' EXIT
	echo "base: debootstrap --variant=minbase bookworm from $mirror"
	debootstrap --variant=minbase bookworm "$dir" "$mirror" >"$dir.log" 2>&1 ||
	    { tail -20 "$dir.log" >&2; rm -f "$dir.log"; exit 1; }
	rm -f "$dir.log"
	# Like the real slim image: no apt lists or caches inside.
	rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin
	tar -C "$dir" --numeric-owner -cf "$tarball.tmp" .
	mv "$tarball.tmp" "$tarball"
fi
echo "base: importing $tarball as $image"
# The real image's settings: PATH (an imported image has no environment)
# and bash as the command.
"${podman[@]}" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' "$tarball" "$image" >/dev/null 2>&1
