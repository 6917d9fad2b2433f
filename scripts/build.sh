#!/usr/bin/env bash
# Configures and builds peoplesync into ./build (Ninja; ccache when present).
# Extra arguments go to the CMake configure step.
# Environment: PEOPLESYNC_BUILD_DIR (default ./build), PEOPLESYNC_JOBS (build
# jobs, default 2), PEOPLESYNC_TARGETS (space-separated targets to build;
# default: all of them).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${PEOPLESYNC_BUILD_DIR:-$root/build}
werror=OFF
[[ "${CI:-}" == "true" ]] && werror=ON
cmake -S "$root" -B "$build" -G Ninja -DPEOPLESYNC_WERROR="$werror" "$@" >/dev/null
targets=()
# shellcheck disable=SC2206
[[ -n "${PEOPLESYNC_TARGETS:-}" ]] && targets=(--target ${PEOPLESYNC_TARGETS})
# Two parallel jobs fit the 2-core, ~1.2 GB-per-heavy-TU budget.
cmake --build "$build" -j "${PEOPLESYNC_JOBS:-2}" "${targets[@]}"
