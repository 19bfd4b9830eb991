# shellcheck shell=bash
# Shared by tests/image/*.sh and tests/k8s/run.sh: podman as these tests
# run it. Source it, then call `podman_setup`.
#
# Machines without systemd as PID 1, and hosts whose cgroup layout crun
# rejects, need a few settings that the tests keep to themselves through
# CONTAINERS_CONF (a file of their own; the machine's containers.conf is
# left alone): the runc runtime, and descriptor and process limits no
# higher than this process may hand on (podman's defaults exceed them
# where CAP_SYS_RESOURCE is missing).

IMAGE_TEST_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IMAGE_ROOT=$(cd "$IMAGE_TEST_DIR/../.." && pwd)
# The tag deploy/k8s/egressd-pod.yaml names; build.sh sets both.
: "${EGRESSD_IMAGE:=localhost/egressd:0.1.0}"

podman_setup() {
	local nofile runtime
	command -v podman >/dev/null || { echo "podman is not installed" >&2; return 1; }
	if [ -z "${CONTAINERS_CONF:-}" ]; then
		PODMAN_CONF_DIR=$(mktemp -d /tmp/egressd-podman.XXXXXX)
		nofile=$(ulimit -Hn)
		[ "$nofile" = unlimited ] && nofile=1048576
		[ "$nofile" -gt 1048576 ] && nofile=1048576
		runtime=${PODMAN_RUNTIME:-runc}
		cat >"$PODMAN_CONF_DIR/containers.conf" <<-CONF
		[containers]
		default_ulimits = ["nofile=$nofile:$nofile", "nproc=4096:4096"]
		[engine]
		runtime = "$runtime"
		CONF
		export CONTAINERS_CONF=$PODMAN_CONF_DIR/containers.conf
	fi
}

podman_teardown() {
	[ -n "${PODMAN_CONF_DIR:-}" ] && rm -rf "$PODMAN_CONF_DIR"
	return 0
}

# Podman logs "unable to get systemd connection" for every health check
# timer it cannot make without systemd; the checks themselves run on
# demand (`podman healthcheck run`). Keep that noise out of the output.
podman_q() {
	podman "$@" 2> >(grep -v 'systemd connection\|/run/systemd/private' >&2)
}

# netns_of PID: the inode of a process's network namespace.
netns_of() { stat -L -c %i "/proc/$1/ns/net" 2>/dev/null; }

# The checks' tally, shared by tests/image/run.sh and tests/k8s/run.sh:
# ok NAME / bad NAME WHY print a line each; finish prints the count and
# exits 0 only if nothing failed.
passed=0 failed=0
ok() { echo "ok $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1: $2"; failed=$((failed + 1)); }
finish() { echo "$passed passed, $failed failed"; [ "$failed" = 0 ]; exit $?; }

# img_preflight: what both need before a namespace is made (after lib.sh).
img_preflight() {
	e2e_preflight && podman_setup && return 0
	echo "0 passed, 1 failed"; exit 1
}
