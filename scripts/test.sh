#!/bin/bash
# The whole test suite, as CI runs it (root, Debian 12):
#   1. dependencies, 2. gcc build + unit and end-to-end tests,
#   3. clang build (warnings are errors) + unit tests,
#   4. ASan+UBSan build + unit and end-to-end tests,
#   5. valgrind over the unit tests, 6. bounded libFuzzer runs,
#   7. Release build (warnings are errors there too) and what `cmake
#      --install` ships (man pages, systemd unit, hardening flags),
#   8. the container image: built with podman from the Dockerfile, run as
#      init + sidecar in a test namespace, and deploy/k8s's Pod under
#      `podman kube play`.
# FUZZ_SECONDS (default 30) bounds each fuzzer; SKIP_E2E=1 skips the
# namespace tests (they need root), the image ones included; SKIP_IMAGE=1
# skips only the image stages.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
fuzz_s=${FUZZ_SECONDS:-30}
passed=0 failed=0 failures=()

stage() {
	local name=$1; shift
	echo "=== $name"
	local t0=$SECONDS
	if "$@"; then
		passed=$((passed + 1))
		echo "=== $name: ok ($((SECONDS - t0)) s)"
	else
		failed=$((failed + 1))
		failures+=("$name")
		echo "=== $name: FAILED ($((SECONDS - t0)) s)"
	fi
}

ctest_in() {
	local dir=$1; shift
	local args=(--output-on-failure)
	[ "${SKIP_E2E:-0}" = 1 ] && args+=(-E e2e)
	(cd "$dir" && ctest "${args[@]}" "$@")
}

build() {
	local dir=$1; shift
	BUILD_DIR=$dir scripts/build.sh "$@"
}

valgrind_units() {
	local t rc=0
	for t in build/test_*; do
		(cd tests && CK_FORK=no valgrind -q --error-exitcode=1 \
		    --leak-check=full --errors-for-leak-kinds=definite \
		    "$root/$t" >/dev/null) || { echo "valgrind: $t"; rc=1; }
	done
	return $rc
}

fuzz_all() {
	local f t corpus max rc=0 n=0 dir=${FUZZ_DIR:-build-fuzz}
	for f in "$dir"/fuzz_*; do
		[ -x "$f" ] || continue
		n=$((n + 1))
		t=${f##*/fuzz_}
		# libFuzzer's default 4096 never reaches multi-record hellos or
		# long heads: give each target the largest input it can meet.
		case $t in
		tls|http|http_rewrite) max=16384 ;; # peek_max_bytes: hello, head
		dnsmsg) max=65535 ;;	# a DNS message over TCP
		audit_json) max=65536 ;; # nine string fields of up to 8 KB
		*) max=16384 ;;
		esac
		corpus=$(mktemp -d)
		cp -r "tests/fuzz/corpus/$t/." "$corpus/" 2>/dev/null
		echo "fuzzing ${f##*/} for ${fuzz_s}s (max_len $max)"
		if ! "$f" -max_total_time="$fuzz_s" -timeout=10 -max_len="$max" \
		    -artifact_prefix="$dir/" -print_final_stats=1 \
		    "$corpus" 2>"$dir/${f##*/}.log"; then
			tail -40 "$dir/${f##*/}.log"
			rc=1
		else
			grep -E "stat::number_of_executed_units|Done" \
			    "$dir/${f##*/}.log" | tail -2
		fi
		rm -rf "$corpus"
	done
	[ "$n" -gt 0 ] || { echo "no fuzz targets were built"; return 1; }
	return $rc
}

stage deps scripts/install-deps.sh
stage build-gcc build build -DCMAKE_C_COMPILER=gcc
stage tests-gcc ctest_in build
stage build-clang build build-clang -DCMAKE_C_COMPILER=clang
stage units-clang ctest_in build-clang -E e2e
stage build-asan build build-asan -DCMAKE_C_COMPILER=gcc \
    -DEGRESS_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
stage tests-asan ctest_in build-asan
stage valgrind valgrind_units
stage build-fuzz build build-fuzz -DCMAKE_C_COMPILER=clang \
    -DEGRESS_FUZZ=ON -DEGRESS_TESTS=OFF
stage fuzz fuzz_all
stage build-release build build-release -DCMAKE_C_COMPILER=gcc \
    -DCMAKE_BUILD_TYPE=Release
stage units-release ctest_in build-release -E 'e2e|egressctl'
stage install tests/install/run.sh build-release
if [ "${SKIP_E2E:-0}" != 1 ] && [ "${SKIP_IMAGE:-0}" != 1 ]; then
	stage image-build tests/image/build.sh
	stage image-test tests/image/run.sh
	stage kube-play tests/k8s/run.sh
fi

echo
for f in "${failures[@]}"; do echo "failed stage: $f"; done
echo "stages: $passed passed, $failed failed"
[ "$failed" = 0 ]
