#!/bin/bash
# deploy/k8s/egressd-pod.yaml under `podman kube play`, as written but for
# two things: the pod's name gets this run's suffix, and the ConfigMap is
# tests/k8s/test-config.yaml (the test topology's resolver and names).
# The pod's network is a namespace this test makes (tests/e2e/lib.sh
# topology): podman 4.3 will not put a pod into a namespace path, so
# `kube play --network host` runs from inside that namespace (nsenter
# --net), after checking it is in it. Then the workload container's
# allowed request must succeed and its denied ones fail.
#
#   tests/k8s/run.sh            (after tests/image/build.sh; root)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../image/common.sh
. "$HERE/../image/common.sh"
E2E_ID=k8s$$
# shellcheck source=../e2e/lib.sh
. "$HERE/../e2e/lib.sh"

img_preflight
for img in "$EGRESSD_IMAGE" debian:12-slim; do
	podman image exists "$img" && continue
	echo "k8s: image $img not found: run tests/image/build.sh first" >&2
	echo "0 passed, 1 failed"; exit 1
done
e2e_init
POD=egressd-sidecar-$E2E_ID
cleanup() {
	podman pod rm -f -i -t 0 "$POD" >/dev/null 2>&1
	e2e_cleanup
	podman_teardown
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

t0=$SECONDS
topo_up && pki_make && fakenet_start || { bad setup "test topology"; finish; }
netns=/run/netns/$E2E_SBX

# Every config deploy/k8s ships (the ConfigMaps' egressd.yaml) passes
# the image's own `egressd --check`.
for f in "$E2E_ROOT"/deploy/k8s/*.yaml; do
	awk '/^  egressd.yaml: \|$/ {on = 1; next}
	    on && /^    / {print substr($0, 5); next}
	    on && !/^ *$/ {on = 0}' "$f" >"$E2E_TMP/cm.yaml"
	[ -s "$E2E_TMP/cm.yaml" ] || continue
	chmod 0644 "$E2E_TMP/cm.yaml"
	if out=$(podman_q run --rm --network none --cap-add NET_ADMIN \
	    -v "$E2E_TMP/cm.yaml:/etc/egressd/egressd.yaml:ro,Z" "$EGRESSD_IMAGE" \
	    egressd -c /etc/egressd/egressd.yaml --check 2>&1); then
		ok "config in deploy/k8s/${f##*/}: egressd --check OK"
	else
		bad "config-${f##*/}" "$out"
	fi
done

manifest=$E2E_TMP/egressd-pod.yaml
sed "s/^  name: egressd-sidecar\$/  name: $POD/" "$E2E_ROOT/deploy/k8s/egressd-pod.yaml" >"$manifest"
if [ "$(diff "$E2E_ROOT/deploy/k8s/egressd-pod.yaml" "$manifest" | grep -c '^>')" != 1 ]; then
	bad manifest "renaming the pod did not change exactly one line"; finish
fi

# In the namespace? Compare the inode of the shell's network namespace
# with the named one's before podman is run there.
out=$(nsenter --net="$netns" bash -c '
	[ "$(stat -L -c %i /proc/self/ns/net)" = "$(stat -L -c %i "$1")" ] ||
	    { echo "not in $1"; exit 99; }
	shift
	podman kube play --network host --configmap "$@" 2>&1' _ "$netns" \
    "$HERE/test-config.yaml" "$manifest")
rc=$?
out=$(grep -v 'systemd connection\|/run/systemd/private' <<<"$out")
if [ $rc = 0 ]; then
	ok "podman kube play (in $E2E_SBX, --network host)"
else
	bad kube-play "rc $rc: $out"; finish
fi

ctr() { echo "$POD-$1"; }
# The pod's containers have network mode "host": podman records no
# namespace for them, so `podman exec` would run in the caller's network
# namespace, not the pod's. Every exec runs from inside the test's
# namespace, like kube play did.
pexec() { nsenter --net="$netns" podman exec "$@"; }
healthy=0
for ((i = 0; i < 150; i++)); do
	if pexec "$(ctr egressd)" egressctl health >/dev/null 2>&1; then healthy=1; break; fi
	sleep 0.1
done
if [ $healthy = 1 ]; then
	ok "egressd sidecar answers egressctl health (its probes' command)"
else
	bad sidecar "no health within 15 s: $(podman logs "$(ctr egressd)" 2>&1 | tail -5)"
	podman pod ps; podman ps -a --pod | tail -5
	finish
fi

# The init container ran (podman removes a run-once init container when
# it is done): the rules are in the pod's, that is the test's, namespace.
if sbx iptables -w -t nat -S EGRESSD | grep -q -- '--to-ports 15001' &&
    sbx iptables -w -t filter -S OUTPUT | grep -q -- '-j EGRESSD_F'; then
	ok "init container installed the redirect rules in $E2E_SBX"
else
	bad init "no EGRESSD rules in $E2E_SBX"
fi

pid=$(podman inspect -f '{{.State.Pid}}' "$(ctr egressd)")
uids=$(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$pid/status")
if [ "$(cat "/proc/$pid/comm")" = egressd ] && [ "$uids" = "15001 15001 15001 15001" ] &&
    [ "$(netns_of "$pid")" = "$(stat -L -c %i "$netns")" ]; then
	ok "egressd runs as uid 15001 in $E2E_SBX"
else
	bad sidecar-user "uids $uids, netns $(netns_of "$pid")"
fi

# Before any request: an exec'd process must be in the test's namespace.
want="net:[$(stat -L -c %i "$netns")]"
for c in workload egressd; do
	got=$(pexec "$(ctr "$c")" readlink /proc/self/ns/net 2>&1)
	if [ "$got" != "$want" ]; then
		bad "exec-netns-$c" "podman exec runs in $got, not the test's $want"
		finish
	fi
done
ok "podman exec into the pod runs in $E2E_SBX ($want)"

# The workload: plain bash, /dev/tcp, names resolved through its
# resolv.conf's server (the rules send port 53 to egressd's DNS filter).
get() { # get HOST [ADDRESS]: an HTTP GET from the workload container
	pexec "$(ctr workload)" timeout 10 bash -c '
		exec 3<>"/dev/tcp/${2:-$1}/80" || exit 7
		printf "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" "$1" >&3
		tail -n 1 <&3' _ "$@" 2>&1
}
wuid=$(pexec "$(ctr workload)" id -u)
body=$(get allowed.example.com); rc=$?
if [ $rc = 0 ] && [ "$body" = "hello from allowed.example.com" ]; then
	ok "workload (uid $wuid): GET http://allowed.example.com/ -> '$body'"
else
	bad workload-allowed "rc $rc: '$body'"
fi
body=$(get denied.example.com); rc=$?
if [ $rc != 0 ] && [[ $body != *hello* ]]; then
	ok "workload: GET http://denied.example.com/ fails (rc $rc: $(head -1 <<<"$body"))"
else
	bad workload-denied-name "rc $rc: '$body'"
fi
body=$(get denied.example.com "$IP_D"); rc=$?
if [[ $body != *hello* ]]; then
	ok "workload: GET http://$IP_D/ with Host denied.example.com gets nothing (rc $rc)"
else
	bad workload-denied-ip "rc $rc: '$body'"
fi

sleep 1.5
logs=$(podman logs "$(ctr egressd)" 2>/dev/null)
ev_allow=$(grep -m1 '"action":"allow".*"proto":"http","host":"allowed.example.com"' <<<"$logs")
ev_dns=$(grep -m1 '"action":"deny".*"proto":"dns","host":"denied.example.com"' <<<"$logs")
ev_deny=$(grep -m1 '"action":"deny".*"proto":"http","host":"denied.example.com"' <<<"$logs")
if [ -n "$ev_allow" ] && [ -n "$ev_dns" ] && [ -n "$ev_deny" ]; then
	ok "audit on the sidecar's stdout (podman logs): the allow and both denials"
	printf '    | %s\n' "$ev_allow" "$ev_dns" "$ev_deny"
else
	bad audit "$(tail -5 <<<"$logs")"
fi

echo "# kube play test: $((SECONDS - t0)) s"
finish
