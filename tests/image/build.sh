#!/bin/bash
# Builds the container image from the project's Dockerfile, as CI does:
# the debian:12-slim base is made locally when no registry has it
# (tests/image/base.sh, cached), then `podman build`. Tags the result
# localhost/egressd:0.1.0 (the tag deploy/k8s names) and localhost/egressd:ci.
#
#   tests/image/build.sh
set -euo pipefail
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
podman_setup
trap podman_teardown EXIT
cd "$IMAGE_ROOT"
"$IMAGE_TEST_DIR/base.sh" debian:12-slim
# --network host: the build's apt-get reaches the mirror without a bridge
# or NAT rules in the machine's namespace. --format docker: OCI image
# configs have no HEALTHCHECK.
t0=$SECONDS
podman build --network host --format docker --pull=never \
    -t "$EGRESSD_IMAGE" -t localhost/egressd:ci . >/tmp/egressd-image-build.$$.log 2>&1 || {
	tail -40 /tmp/egressd-image-build.$$.log
	rm -f /tmp/egressd-image-build.$$.log
	exit 1
}
rm -f /tmp/egressd-image-build.$$.log
# The build stage's image (sources, compilers) is of no further use.
podman image prune -f --filter label=egressd.stage=build >/dev/null
echo "image: built $EGRESSD_IMAGE in $((SECONDS - t0)) s ($(podman image inspect --format '{{.Size}}' "$EGRESSD_IMAGE") bytes)"
