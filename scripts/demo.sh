#!/usr/bin/env bash
# The README's demo command: installs what is missing, builds, and runs
# `peoplesync demo` (the whole flow against the bundled sandbox).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh"
build=${PEOPLESYNC_BUILD_DIR:-$root/build}
exec "$build/daemon/peoplesync" demo "$@"
