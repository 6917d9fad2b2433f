#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, and runs the
# whole suite through ctest. CI (.ci/run) calls exactly this.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
build=${PEOPLESYNC_BUILD_DIR:-$root/build}
ctest --test-dir "$build" --output-on-failure -j 2 "$@"
