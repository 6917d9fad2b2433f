#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, and runs the
# whole suite through ctest. CI (.ci/run) calls exactly this.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh" all
# Tests on, also in a build directory scripts/demo.sh configured without them.
"$root/scripts/build.sh" -DPEOPLESYNC_BUILD_TESTS=ON
build=${PEOPLESYNC_BUILD_DIR:-$root/build}
ctest --test-dir "$build" --output-on-failure -j 2 "$@"
