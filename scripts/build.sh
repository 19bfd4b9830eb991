#!/bin/sh
# Configures and builds egressd into ${BUILD_DIR:-build}; extra arguments
# go to cmake (e.g. -DEGRESS_SANITIZE=ON).
set -eu
cd "$(dirname "$0")/.."
dir=${BUILD_DIR:-build}
cmake -S . -B "$dir" "$@" >/dev/null
cmake --build "$dir" -j "$(nproc)"
