#!/usr/bin/env bash
# The README's demo command: installs what building needs and is missing (no
# test tools), builds the two binaries the demo runs (peoplesync and the
# peoplesync-sandbox it starts), and runs `peoplesync demo`.
# A build directory configured here for the first time leaves the tests out
# (they need GoogleTest); scripts/test.sh turns them on again.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${PEOPLESYNC_BUILD_DIR:-$root/build}
"$root/scripts/install-deps.sh" build
configure=()
[[ -f "$build/CMakeCache.txt" ]] || configure+=(-DPEOPLESYNC_BUILD_TESTS=OFF)
PEOPLESYNC_BUILD_DIR=$build PEOPLESYNC_TARGETS="peoplesync peoplesync-sandbox" \
  "$root/scripts/build.sh" "${configure[@]}"
exec "$build/daemon/peoplesync" demo "$@"
