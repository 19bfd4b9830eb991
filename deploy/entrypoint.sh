#!/bin/sh
# Container entrypoint: `init` installs the redirect rules (IPv4 and IPv6)
# and exits, like an init container; `run` (default) starts egressd.
set -eu
case ${1:-run} in
init)
	shift
	exec egress-redirect install --mode sidecar "$@"
	;;
run)
	shift 2>/dev/null || true
	exec egressd -c "${EGRESSD_CONFIG:-/etc/egressd/egressd.yaml}" "$@"
	;;
*)
	exec "$@"
	;;
esac
